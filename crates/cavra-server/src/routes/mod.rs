//! The router: one module per resource, the JSON fallbacks, body limit and the request layer.

pub mod decisions;
pub mod evaluate;
pub mod outcomes;
pub mod policy_packs;
pub mod sessions;
pub mod system;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::routing::{get, post};
use cavra_store::StoreError;

use crate::error::ApiError;
use crate::input::MAX_BODY_BYTES;
use crate::metrics;
use crate::state::AppState;

/// Every endpoint of SPEC §6, the console's pages included.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::console::router())
        .route("/decisions", post(decisions::create).get(decisions::list))
        .route("/decisions/{id}", get(decisions::get))
        .route("/decisions/{id}/outcome", get(outcomes::get))
        .route("/outcomes", post(outcomes::record))
        .route("/evaluate", post(evaluate::evaluate))
        .route("/sessions", get(sessions::list).post(sessions::put))
        .route("/sessions/{id}", get(sessions::get))
        .route("/policy-packs", get(policy_packs::list))
        .route("/policy-packs/{id}", get(policy_packs::get))
        .route("/health", get(system::health))
        .route("/version", get(system::version))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(system::openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no endpoint `{}` (see /openapi.json)", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("`{method}` is not allowed on `{}` (see /openapi.json)", uri.path()),
    )
}

/// Runs a blocking store call off the async workers and maps its error.
pub async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(ApiError::from_store),
        Err(e) => Err(ApiError::internal(&e)),
    }
}
