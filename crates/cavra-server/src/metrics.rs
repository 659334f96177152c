//! Prometheus metrics (`GET /metrics`) and the request layer that feeds them and the log.
//!
//! Exported: decisions by outcome, request latency by route, store append latency, group-commit
//! batch sizes and durations (from the store's [`StoreObserver`]), errors by code, and the
//! process's own resident memory, CPU and file descriptors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use cavra_core::Outcome;
use cavra_store::StoreObserver;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::error::ErrorCode;
use crate::state::AppState;

/// Latency buckets in seconds, 100 µs to 5 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Group-commit batch size buckets.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    decisions: IntCounterVec,
    requests: HistogramVec,
    errors: IntCounterVec,
    append: Histogram,
    commit: Arc<CommitMetrics>,
}

/// The part the store's writer thread updates.
struct CommitMetrics {
    batch_size: Histogram,
    duration: Histogram,
}

impl StoreObserver for CommitMetrics {
    fn group_committed(&self, batch_size: usize, elapsed: Duration) {
        #[expect(clippy::cast_precision_loss, reason = "batch sizes are small")]
        self.batch_size.observe(batch_size as f64);
        self.duration.observe(elapsed.as_secs_f64());
    }
}

fn register<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: M) -> prometheus::Result<M> {
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn histogram(name: &str, help: &str, buckets: &[f64]) -> prometheus::Result<Histogram> {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntCounterVec> {
    IntCounterVec::new(Opts::new(name, help), labels)
}

impl Metrics {
    /// A registry for a server over the `backend` store.
    pub fn new(backend: &str) -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        #[cfg(target_os = "linux")]
        registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))?;
        let info = register(
            &registry,
            IntGauge::with_opts(
                Opts::new("cavra_build_info", "cavra version and store backend")
                    .const_label("version", env!("CARGO_PKG_VERSION"))
                    .const_label("store", backend),
            )?,
        )?;
        info.set(1);
        let decisions = register(
            &registry,
            counter_vec("cavra_decisions_total", "Decisions recorded, by outcome", &["decision"])?,
        )?;
        for outcome in Outcome::ALL {
            decisions.with_label_values(&[outcome.as_str()]).reset();
        }
        let requests = register(
            &registry,
            HistogramVec::new(
                HistogramOpts::new("cavra_http_request_duration_seconds", "HTTP request latency, by route")
                    .buckets(LATENCY_BUCKETS.to_vec()),
                &["method", "route", "status"],
            )?,
        )?;
        let errors = register(
            &registry,
            counter_vec("cavra_http_errors_total", "Error responses, by error code", &["code"])?,
        )?;
        let append = register(
            &registry,
            histogram(
                "cavra_store_append_duration_seconds",
                "Time from handing a decision to the store until it is durable",
                LATENCY_BUCKETS,
            )?,
        )?;
        let commit = Arc::new(CommitMetrics {
            batch_size: register(
                &registry,
                histogram(
                    "cavra_store_group_commit_size",
                    "Decisions made durable per group commit",
                    BATCH_BUCKETS,
                )?,
            )?,
            duration: register(
                &registry,
                histogram(
                    "cavra_store_group_commit_duration_seconds",
                    "Duration of one group commit, fsync included",
                    LATENCY_BUCKETS,
                )?,
            )?,
        });
        Ok(Metrics {
            registry,
            decisions,
            requests,
            errors,
            append,
            commit,
        })
    }

    /// The observer to install on the store.
    pub fn store_observer(&self) -> Arc<dyn StoreObserver> {
        self.commit.clone()
    }

    /// Counts one recorded decision.
    pub fn decision(&self, outcome: Outcome) {
        self.decisions.with_label_values(&[outcome.as_str()]).inc();
    }

    /// Records how long one append took.
    pub fn append_took(&self, elapsed: Duration) {
        self.append.observe(elapsed.as_secs_f64());
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// The request layer: times every request, counts error codes, logs one line per request, and
/// closes connections whose error answer may have left a request body unread
/// (`debug` for successes, `info` for client errors, `warn` for server errors).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // Extension methods are unbounded; only the standard ones get their own series.
    let method_label = match method.as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "OTHER",
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let path = request.uri().path().to_owned();
    let has_body = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() != b"0")
        || request.headers().contains_key(axum::http::header::TRANSFER_ENCODING);
    let mut response = next.run(request).await;
    // An error may be answered before the body was read (a missing token, an unknown route);
    // the unread rest would be taken for the next request, so the connection ends here, and
    // says so.
    if has_body && (response.status().is_client_error() || response.status().is_server_error()) {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    let elapsed = started.elapsed();
    let status = response.status();
    let metrics = state.metrics();
    metrics
        .requests
        .with_label_values(&[method_label, &route, status.as_str()])
        .observe(elapsed.as_secs_f64());
    let code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    if let Some(code) = code {
        metrics.errors.with_label_values(&[code]).inc();
    }
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    if status.is_server_error() {
        tracing::warn!(%method, %path, status = status.as_u16(), code, micros, "request failed");
    } else if status.is_client_error() {
        tracing::info!(%method, %path, status = status.as_u16(), code, micros, "request refused");
    } else {
        tracing::debug!(%method, %path, status = status.as_u16(), micros, "request");
    }
    response
}
