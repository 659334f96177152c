//! `POST /evaluate`: a dry run for policy authors — the same record `POST /decisions` would
//! store, without `sequence` or hashes, and nothing stored.

use axum::Json;
use axum::extract::State;
use cavra_core::{Action, DecisionRecord, evaluate as decide};

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ErrorBody};
use crate::input::JsonBody;
use crate::routes::decisions::{bind_agent, read_action, settle_mode};
use crate::state::AppState;

/// Evaluates an action without recording it.
#[utoipa::path(
    post, path = "/evaluate", operation_id = "evaluate", tag = "decisions",
    request_body(content = Action, description = "The action to evaluate (SPEC §1)"),
    responses(
        (status = 200, description = "The decision, not stored (no sequence, no hashes)", body = DecisionRecord),
        (status = 400, description = "Malformed action; the message names the field", body = ErrorBody),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "The token's role may not evaluate (`forbidden`), or the body sets `policy_mode` \
            or `justification` without an admin token (`forbidden_field`, naming the field)", body = ErrorBody),
        (status = 404, description = "Unknown policy pack", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 408, description = "Body not received within the body deadline (30 s by default)", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn evaluate(
    State(state): State<AppState>,
    caller: Principal,
    body: JsonBody,
) -> Result<Json<DecisionRecord>, ApiError> {
    caller.allow(Permission::Decide)?;
    let mut action = read_action(&body)?;
    settle_mode(&state, &caller, &mut action)?;
    bind_agent(&caller, &mut action)?;
    let pack = state.pack(action.policy_pack())?;
    Ok(Json(DecisionRecord::new(
        &action,
        decide(&action, &pack),
        pack.version(),
        state.stamp(),
    )))
}
