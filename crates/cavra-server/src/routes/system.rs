//! `/health`, `/version`, `/metrics` and `/openapi.json`.

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ErrorBody};
use crate::openapi::ApiDoc;
use crate::state::AppState;

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: &'static str,
    /// The store backend: `sqlite`, `json` or `postgres`.
    pub store: &'static str,
}

/// What is running.
#[derive(Debug, Serialize, ToSchema)]
pub struct Version {
    /// `cavra`.
    pub name: &'static str,
    /// The release.
    pub version: &'static str,
    /// The decision record schema, `cavra.decision.v1`.
    pub schema_version: &'static str,
    /// The store backend.
    pub store: &'static str,
}

/// Whether the server is up. Open without a token, for probes.
#[utoipa::path(get, path = "/health", operation_id = "health", tag = "system",
    responses((status = 200, description = "Up", body = Health)))]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        store: state.store().backend(),
    })
}

/// The running version. Open without a token.
#[utoipa::path(get, path = "/version", operation_id = "version", tag = "system",
    responses((status = 200, description = "The version", body = Version)))]
pub async fn version(State(state): State<AppState>) -> Json<Version> {
    Json(Version {
        name: "cavra",
        version: env!("CARGO_PKG_VERSION"),
        schema_version: cavra_core::SCHEMA_VERSION,
        store: state.store().backend(),
    })
}

/// Prometheus metrics, text exposition format.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "system",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "The token's role may not read", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn metrics(State(state): State<AppState>, caller: Principal) -> Result<impl IntoResponse, ApiError> {
    caller.allow(Permission::Read)?;
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics().render(),
    ))
}

/// This API's OpenAPI 3.1 document, generated from the code. Open without a token.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "system",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
