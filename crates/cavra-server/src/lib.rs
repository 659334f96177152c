//! cavra-server: the HTTP API of `cavra serve` and its console (SPEC §6).
//!
//! [`serve`] runs the [`router`] over a listener until a shutdown signal, then lets in-flight
//! requests finish: an append that started is completed and answered, so nothing acknowledged
//! is lost on SIGTERM.
//!
//! # Layout
//! - [`state`]: [`AppState`] — store, compiled packs, the server's mode, stamper, tokens, metrics.
//! - [`error`]: [`ApiError`], the one error type, and its JSON envelope.
//! - [`auth`]: tokens, roles, the [`Principal`](auth::Principal) extractor.
//! - [`input`]: JSON bodies (64 KiB, media type, field-naming errors) and typed query strings.
//! - [`deadline`]: the deadline for reading a request's body (trickled bodies get 408).
//! - [`routes`]: one module per resource — decisions, outcomes (how allowed tool calls ended), evaluate,
//!   sessions, policy packs, system.
//! - [`metrics`]: Prometheus registry and the request layer (latency, errors, logs).
//! - [`openapi`]: the generated OpenAPI 3.1 document.
//! - [`console`]: the Activity Explorer, server-rendered HTML under `/console`.

pub mod auth;
pub mod console;
pub mod deadline;
pub mod error;
pub mod input;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod state;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;

pub use error::ApiError;
pub use routes::router;
pub use state::AppState;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The metrics registry refused a definition.
    #[error("metrics: {0}")]
    Metrics(String),
    /// The configured mode cannot be a server's.
    #[error("{0}")]
    PolicyMode(String),
}

/// Limits that keep slow, idle or numerous clients from holding the server's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a connection may take to send a request's headers, and how long a kept-alive
    /// connection may sit idle between requests, before it is closed. Default 30 s.
    pub header_read_timeout: Duration,
    /// How long a request's whole body may take to arrive after its headers; a body still
    /// incomplete then is answered 408 and its connection closed. Default 30 s.
    pub body_read_timeout: Duration,
    /// Connections served at once. When all are busy, new connections wait in the listen
    /// backlog until one closes, instead of exhausting file descriptors. Default 1024.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// Serves the API on `listener` until `shutdown` completes, then drains in-flight requests,
/// with the default [`ConnectionLimits`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_limits(listener, state, shutdown, ConnectionLimits::default()).await
}

/// Serves the API on `listener` until `shutdown` completes, then drains in-flight requests.
///
/// Each connection is HTTP/1.1 with keep-alive under `limits`. On shutdown the listener closes,
/// idle connections close, and requests already being answered finish.
pub async fn serve_with_limits(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    let body_limit = limits.body_read_timeout;
    let app = router(state).layer(axum::middleware::map_request(
        move |request: axum::extract::Request| async move { deadline::bound_body(request, body_limit) },
    ));
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Per-connection failures (reset before accept) and resource limits
                    // (EMFILE) are both passing: log, pause briefly so a full fd table is not a
                    // busy loop, and keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small JSON answers: send them now rather than waiting for Nagle.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "set_nodelay failed");
        }
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
