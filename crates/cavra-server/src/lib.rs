//! cavra-server: the HTTP API of `cavra serve` and its console (SPEC §6).
//!
//! [`serve`] runs the [`router`] over a listener until a shutdown signal, then lets in-flight
//! requests finish: an append that started is completed and answered, so nothing acknowledged
//! is lost on SIGTERM.
//!
//! # Layout
//! - [`state`]: [`AppState`] — store, compiled packs, stamper, tokens, metrics.
//! - [`error`]: [`ApiError`], the one error type, and its JSON envelope.
//! - [`auth`]: tokens, roles, the [`Principal`](auth::Principal) extractor.
//! - [`input`]: JSON bodies (64 KiB, media type, field-naming errors) and typed query strings.
//! - [`routes`]: one module per resource — decisions, evaluate, sessions, policy packs, system.
//! - [`metrics`]: Prometheus registry and the request layer (latency, errors, logs).
//! - [`openapi`]: the generated OpenAPI 3.1 document.
//! - [`console`]: the Activity Explorer, server-rendered HTML under `/console`.

pub mod auth;
pub mod console;
pub mod error;
pub mod input;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod state;

use std::future::Future;

pub use error::ApiError;
pub use routes::router;
pub use state::AppState;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The metrics registry refused a definition.
    #[error("metrics: {0}")]
    Metrics(String),
}

/// Serves the API on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
