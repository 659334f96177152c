//! The API's one error type, [`ApiError`], and its wire shape
//! `{"error": {"code": "...", "message": "..."}}` (SPEC §6).
//!
//! Every failure a client can cause is a 4xx whose message names what is wrong. Failures inside
//! cavra are logged with their detail and answered with a generic 500/503: internals are never
//! returned.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cavra_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code, e.g. `invalid_body`.
    pub code: &'static str,
    /// One human sentence naming what is wrong and where.
    pub message: String,
}

/// The error envelope on the wire.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: `invalid_body`, `invalid_query`, `invalid_request`, `unauthorized`, `forbidden`,
    /// `forbidden_field`, `not_found`, `unknown_policy_pack`, `method_not_allowed`, `conflict`,
    /// `payload_too_large`, `unsupported_media_type`, `unavailable`, `internal`.
    #[schema(example = "invalid_body")]
    pub code: String,
    /// What is wrong and where.
    #[schema(example = "field `target`: missing field `target`")]
    pub message: String,
}

/// The code of an error response, left on the response for the metrics layer to count.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `invalid_body`: the request body is malformed.
    pub fn invalid_body(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", message)
    }

    /// 400 `invalid_query`: a query parameter is unknown or of the wrong kind.
    pub fn invalid_query(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
    }

    /// 401 `unauthorized`: no token, or one that is not known.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`: a known token whose role may not do this.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 403 `forbidden_field`: the body carries a field this caller may not set (an agent's
    /// `policy_mode` or `justification`, SPEC §3); the message names it.
    pub fn forbidden_field(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden_field", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500 `internal`: the detail is logged here, never sent.
    pub fn internal(detail: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the server log has the details",
        )
    }

    /// Maps a store failure: the caller's mistakes are 4xx, the store's own troubles 5xx.
    pub fn from_store(e: StoreError) -> ApiError {
        match e {
            StoreError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", m),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            busy if busy.is_transient() => {
                tracing::warn!(error = %busy, "store unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the activity store is busy or not available; retry later",
                )
            }
            other => ApiError::internal(&other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"cavra\""),
            );
        }
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}
