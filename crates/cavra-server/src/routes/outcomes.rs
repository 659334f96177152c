//! `/outcomes`: how an allowed tool call ended (Claude Code's PostToolUse), recorded beside the
//! decision that let it run; `GET /decisions/{id}/outcome` reads it back.
//!
//! The decision is found by session and tool-use id, as the agent knows them; records stay
//! untouched (they are hash-chained), the outcome is a row of its own and the first one stays.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cavra_store::{OutcomeReport, ToolOutcome};

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ErrorBody};
use crate::input::{IdPath, JsonBody};
use crate::routes::{blocking, decisions};
use crate::state::AppState;

/// Records how a tool call ended, against the session's latest decision with its tool-use id.
#[utoipa::path(
    post, path = "/outcomes", operation_id = "record_outcome", tag = "decisions",
    request_body(content = OutcomeReport, description = "Which tool call (session and tool-use id) and how it ended"),
    responses(
        (status = 201, description = "Recorded", body = ToolOutcome),
        (status = 200, description = "Already recorded; the first outcome stays", body = ToolOutcome),
        (status = 400, description = "Malformed body; the message names the field", body = ErrorBody),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "The token's role may not post, or the session is another agent's", body = ErrorBody),
        (status = 404, description = "No decision with this tool-use id in this session", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 408, description = "Body not received within the body deadline (30 s by default)", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn record(
    State(state): State<AppState>,
    caller: Principal,
    body: JsonBody,
) -> Result<(StatusCode, Json<ToolOutcome>), ApiError> {
    caller.allow(Permission::Decide)?;
    let report: OutcomeReport = body.parse()?;
    for (name, value) in [("session_id", &report.session_id), ("tool_use_id", &report.tool_use_id)] {
        if value.is_empty() {
            return Err(ApiError::invalid_body(format!("field `{name}`: must not be empty")));
        }
        cavra_store::summary::check_text(name, value).map_err(ApiError::from_store)?;
    }
    if let Some(agent) = caller.bound_agent() {
        decisions::check_session_owner(&state, agent, &report.session_id).await?;
    }
    let at = state.stamp().timestamp;
    let store = state.store().clone();
    let (session_id, tool_use_id) = (report.session_id.clone(), report.tool_use_id.clone());
    let stored = blocking(move || store.record_outcome(&report, &at).map(|o| (o, at))).await?;
    match stored {
        (Some(outcome), at) => {
            let status = if outcome.recorded_at == at {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(outcome)))
        }
        (None, _) => Err(ApiError::not_found(format!(
            "no decision with tool_use_id `{tool_use_id}` in session `{session_id}`"
        ))),
    }
}

/// The outcome recorded for a decision.
#[utoipa::path(
    get, path = "/decisions/{id}/outcome", operation_id = "get_outcome", tag = "decisions",
    params(("id" = String, Path, description = "The `decision_id`, `dec_...`")),
    responses(
        (status = 200, description = "The outcome", body = ToolOutcome),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "The token's role may not read", body = ErrorBody),
        (status = 404, description = "No outcome recorded for this decision", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Principal,
    IdPath(id): IdPath,
) -> Result<Json<ToolOutcome>, ApiError> {
    caller.allow(Permission::Read)?;
    let store = state.store().clone();
    let key = id.clone();
    blocking(move || store.get_outcome(&key))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no outcome recorded for decision `{id}`")))
}
