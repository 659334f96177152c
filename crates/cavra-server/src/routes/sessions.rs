//! `/sessions`: list summaries with filters, one session with its whole timeline, and create a
//! session or change its state.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use cavra_core::DecisionRecord;
use cavra_core::integrity::{ChainStatus, ExpectedHead, check_chain};
use cavra_store::model::{Page, SessionQuery, SessionState, SessionSummary, SessionUpdate, clamp_limit};
use cavra_store::{ActivityStore, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ErrorBody};
use crate::input::{IdPath, JsonBody, QueryParams};
use crate::routes::blocking;
use crate::state::AppState;

/// The filters and paging parameters of `GET /sessions`.
pub const FILTERS: &[&str] = &["agent_id", "repository", "policy_pack", "state", "limit", "offset"];

/// A session's summary with every decision, oldest first: the auditor's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDetail {
    /// The live summary.
    #[serde(flatten)]
    pub summary: SessionSummary,
    /// Every decision of the session, oldest first.
    pub decisions: Vec<DecisionRecord>,
    /// The integrity of the session's chain (SPEC §7), recomputed from these decisions: every
    /// hash, every `prev_hash` link, and the summary's head and count.
    pub chain: ChainStatus,
}

/// Builds the store query from `GET /sessions` parameters.
pub fn query(raw: Option<&str>) -> Result<SessionQuery, ApiError> {
    let q = QueryParams::parse(raw, FILTERS)?;
    Ok(SessionQuery {
        agent_id: q.text("agent_id")?,
        repository: q.text("repository")?,
        policy_pack: q.text("policy_pack")?,
        state: q.parsed::<SessionState>("state")?,
        limit: clamp_limit(q.number("limit")?),
        offset: crate::routes::decisions::offset(&q)?,
    })
}

/// Lists session summaries, most recently active first.
#[utoipa::path(
    get, path = "/sessions", operation_id = "list_sessions", tag = "sessions",
    params(
        ("agent_id" = Option<String>, Query, description = "Exact agent"),
        ("repository" = Option<String>, Query, description = "Exact repository"),
        ("policy_pack" = Option<String>, Query, description = "Exact pack"),
        ("state" = Option<SessionState>, Query, description = "Exact state"),
        ("limit" = Option<u32>, Query, description = "Page size 1..500 (larger is clamped), default 50"),
        ("offset" = Option<u64>, Query, description = "Rows to skip"),
    ),
    responses(
        (status = 200, description = "One page", body = Page<SessionSummary>),
        (status = 400, description = "Unknown parameter or a value of the wrong kind", body = ErrorBody),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "The token's role may not read", body = ErrorBody),
        (status = 503, description = "Store busy or unavailable; retry later", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<SessionSummary>>, ApiError> {
    caller.allow(Permission::Read)?;
    let query = query(raw.as_deref())?;
    let store = state.store().clone();
    Ok(Json(blocking(move || store.list_sessions(&query)).await?))
}

/// One session: its summary and its whole timeline, oldest first.
#[utoipa::path(
    get, path = "/sessions/{id}", operation_id = "get_session", tag = "sessions",
    params(("id" = String, Path, description = "The `session_id`")),
    responses(
        (status = 200, description = "The summary, every decision oldest first, and the chain's integrity", body = SessionDetail),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "The token's role may not read", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 503, description = "Store busy or unavailable; retry later", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Principal,
    IdPath(id): IdPath,
) -> Result<Json<SessionDetail>, ApiError> {
    caller.allow(Permission::Read)?;
    let store = state.store().clone();
    let key = id.clone();
    let found = blocking(move || {
        let Some(summary) = store.get_session(&key)? else {
            return Ok(None);
        };
        let decisions = store.session_decisions(&key)?;
        let chain = check_chain(
            &key,
            &decisions,
            Some(ExpectedHead {
                head_hash: summary.head_hash.as_deref(),
                decision_count: summary.decision_count,
            }),
        );
        Ok(Some(SessionDetail {
            summary,
            decisions,
            chain,
        }))
    })
    .await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no session `{id}`")))
}

/// The session `update` names as stored, and whether it already was: a new one is created from
/// `update`'s fields but not its state (`put_session`, which every store does atomically; an
/// existing session keeps its agent). An agent token claims a session this way before adding to
/// it or changing it, so that when two agents race to open one session, the loser gets the
/// winner's summary back and is refused — checking, then writing, would let both through.
pub(crate) fn claim(store: &dyn ActivityStore, update: &SessionUpdate) -> Result<(bool, SessionSummary), StoreError> {
    if let Some(found) = store.get_session(&update.session_id)? {
        return Ok((true, found));
    }
    let created = store.put_session(&SessionUpdate {
        state: None,
        ..update.clone()
    })?;
    Ok((false, created))
}

/// Refuses `session` unless it belongs to `agent` (never to an empty agent id).
pub(crate) fn owned_by(session: &SessionSummary, agent: &str) -> Result<(), ApiError> {
    if agent.trim().is_empty() {
        // Such a token (refused by `cavra token create` now) would own every session without one.
        return Err(ApiError::forbidden(
            "this agent token is bound to an empty agent id; create one with `--agent-id NAME`",
        ));
    }
    if session.agent_id == agent {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "session `{}` belongs to agent `{}`, not `{agent}`",
        session.session_id, session.agent_id
    )))
}

/// Creates a session, or changes its state. Counts are never taken from the client.
#[utoipa::path(
    post, path = "/sessions", operation_id = "put_session", tag = "sessions",
    request_body(content = SessionUpdate, description = "The session and what to set"),
    responses(
        (status = 201, description = "Created", body = SessionSummary),
        (status = 200, description = "Changed", body = SessionSummary),
        (status = 400, description = "Malformed body; the message names the field", body = ErrorBody),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "Not this agent token's session", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 408, description = "Body not received within the body deadline (30 s by default)", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 503, description = "Store busy or unavailable; retry later", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    caller: Principal,
    body: JsonBody,
) -> Result<(StatusCode, Json<SessionSummary>), ApiError> {
    caller.allow(Permission::ChangeSessions)?;
    let mut update: SessionUpdate = body.parse()?;
    if update.session_id.is_empty() {
        return Err(ApiError::invalid_body("field `session_id`: must not be empty"));
    }
    let fields = [
        ("session_id", Some(&update.session_id)),
        ("agent_id", update.agent_id.as_ref()),
        ("actor", update.actor.as_ref()),
        ("repository", update.repository.as_ref()),
        ("policy_pack", update.policy_pack.as_ref()),
    ];
    for (name, value) in fields {
        if value.is_some_and(|v| v.contains('\0')) {
            return Err(ApiError::invalid_body(format!(
                "field `{name}`: contains a NUL character"
            )));
        }
    }
    let bound = caller.bound_agent().map(str::to_owned);
    if let Some(agent) = &bound {
        match update.agent_id.as_deref() {
            None => update.agent_id = Some(agent.clone()),
            Some(given) if given == agent => {}
            Some(given) => {
                return Err(ApiError::forbidden(format!(
                    "this token acts for agent `{agent}`, not `{given}`"
                )));
            }
        }
    }
    let store = state.store().clone();
    let (existed, summary) = blocking(move || {
        let Some(agent) = &bound else {
            let existed = store.get_session(&update.session_id)?.is_some();
            return Ok(Ok((existed, store.put_session(&update)?)));
        };
        let (existed, owned) = claim(store.as_ref(), &update)?;
        if let Err(refused) = owned_by(&owned, agent) {
            return Ok(Err(refused));
        }
        if !existed && update.state.is_none() {
            return Ok(Ok((false, owned)));
        }
        Ok(Ok((existed, store.put_session(&update)?)))
    })
    .await??;
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(summary)))
}
