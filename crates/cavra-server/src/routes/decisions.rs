//! `/decisions`: evaluate and persist (`POST`), list with filters (`GET`), one record by id.

use std::time::Instant;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cavra_core::{Action, ActionError, ActionType, DecisionRecord, Outcome, Severity, evaluate};
use cavra_store::model::{DecisionQuery, Page, SessionUpdate, clamp_limit, decode_cursor};

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ErrorBody};
use crate::input::{IdPath, JsonBody, QueryParams};
use crate::routes::{blocking, sessions};
use crate::state::AppState;

/// The filters and paging parameters of `GET /decisions`.
pub const FILTERS: &[&str] = &[
    "session_id",
    "agent_id",
    "repository",
    "policy_pack",
    "decision",
    "severity",
    "action_type",
    "since",
    "until",
    "limit",
    "offset",
    "cursor",
];

/// Reads an action from a request body, naming the offending field.
pub fn read_action(body: &JsonBody) -> Result<Action, ApiError> {
    let text =
        std::str::from_utf8(&body.0).map_err(|e| ApiError::invalid_body(format!("the body is not UTF-8: {e}")))?;
    Action::from_json(text).map_err(|e| match e {
        syntax @ ActionError::Syntax(_) => ApiError::invalid_body(syntax.to_string()),
        field @ ActionError::Field { .. } => ApiError::invalid_body(field.to_string()),
    })
}

/// The action fields that choose a mode or invoke break-glass (SPEC §3): a person sets them,
/// never an agent. `actor` is not among them: it says whom the agent acts for (the hook's
/// `CAVRA_ACTOR`) and changes no verdict unless a person grants `break_glass`.
pub const MODE_FIELDS: [&str; 2] = ["policy_mode", "justification"];

/// Settles the mode `action` is decided in (SPEC §3). Only an admin token may name one in the
/// body (or invoke break-glass with a `justification`); from anyone else such a field is a 403
/// `forbidden_field` naming it, so an agent cannot switch enforcement off for its own request.
/// Without one in the body, the mode an admin bound to the caller's token applies, else the
/// server's `--policy-mode`, else the pack's own.
pub fn settle_mode(state: &AppState, caller: &Principal, action: &mut Action) -> Result<(), ApiError> {
    if !caller.may_choose_mode() {
        let given = [action.policy_mode.is_some(), action.justification.is_some()];
        if let Some((field, _)) = MODE_FIELDS.iter().zip(given).find(|(_, set)| *set) {
            let who = match caller {
                Principal::Local => {
                    "this server has no API tokens, so it cannot tell a person from an agent's hook and takes \
                     no mode from a request; set one with `cavra serve --policy-mode`, or create an admin token \
                     to grant one per request"
                }
                Principal::Token { .. } => {
                    "an agent never chooses its own mode: it comes from the pack, the server's `--policy-mode` \
                     or a mode an admin binds to the token, and break-glass is granted by a person with an \
                     admin token"
                }
            };
            return Err(ApiError::forbidden_field(format!(
                "`{field}` may not be set by this caller: {who} (SPEC §3)"
            )));
        }
    }
    if action.policy_mode.is_none() {
        action.policy_mode = caller.bound_mode().or(state.policy_mode());
    }
    Ok(())
}

/// Applies an agent token's binding: the action acts for the token's agent, or is refused.
pub fn bind_agent(caller: &Principal, action: &mut Action) -> Result<(), ApiError> {
    if let Some(bound) = caller.bound_agent() {
        match action.agent_id.as_deref() {
            None => action.agent_id = Some(bound.to_owned()),
            Some(given) if given == bound => {}
            Some(given) => {
                return Err(ApiError::forbidden(format!(
                    "this token acts for agent `{bound}`, not `{given}`"
                )));
            }
        }
    }
    Ok(())
}

/// Evaluates and persists one action; answers once the record is durable.
#[utoipa::path(
    post, path = "/decisions", operation_id = "create_decision", tag = "decisions",
    request_body(content = Action, description = "The action the agent wants to take (SPEC §1)"),
    responses(
        (status = 201, description = "Evaluated and durably recorded", body = DecisionRecord),
        (status = 400, description = "Malformed action; the message names the field", body = ErrorBody),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "The token's role or agent may not post this (`forbidden`), or the body sets \
            `policy_mode` or `justification` without an admin token (`forbidden_field`, naming the field; nothing \
            is stored)", body = ErrorBody),
        (status = 404, description = "Unknown policy pack", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 408, description = "Body not received within the body deadline (30 s by default)", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 503, description = "Store unavailable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(State(state): State<AppState>, caller: Principal, body: JsonBody) -> Result<Response, ApiError> {
    caller.allow(Permission::Decide)?;
    let mut action = read_action(&body)?;
    settle_mode(&state, &caller, &mut action)?;
    bind_agent(&caller, &mut action)?;
    let pack = state.pack(action.policy_pack())?;
    if let Some(agent) = caller.bound_agent() {
        cavra_store::summary::check_text("session_id", action.session_id()).map_err(ApiError::from_store)?;
        claim_session(&state, agent, &action).await?;
    }
    // Stamped after the last await before the append, so ids and times follow the log closely.
    let record = DecisionRecord::new(&action, evaluate(&action, &pack), pack.version(), state.stamp());
    let started = Instant::now();
    let stored = append(&state, record).await?;
    state.metrics().append_took(started.elapsed());
    state.metrics().decision(stored.decision);
    Ok(created(&stored))
}

/// Room for a typical record's JSON (1-2 KiB), so the answer is serialised without regrowing.
const RECORD_JSON_CAPACITY: usize = 2048;

/// `201 Created` with the record as JSON — what `(StatusCode::CREATED, Json(record))` answers,
/// serialised into one buffer sized for a record, where `Json` starts at 128 bytes and regrows
/// (and copies) four times for a typical one.
fn created(record: &DecisionRecord) -> Response {
    let mut body = Vec::with_capacity(RECORD_JSON_CAPACITY);
    match serde_json::to_writer(&mut body, record) {
        Ok(()) => (
            StatusCode::CREATED,
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            body,
        )
            .into_response(),
        // Serialising a record cannot fail (string keys only); should it, a JSON 500 says so.
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// The `offset` parameter: at most `i64::MAX`, the largest any store can skip.
pub fn offset(q: &QueryParams) -> Result<u64, ApiError> {
    let offset = q.number("offset")?.unwrap_or(0);
    if i64::try_from(offset).is_err() {
        return Err(ApiError::invalid_query(format!("`offset` {offset} is too large")));
    }
    Ok(offset)
}

/// An agent token may add to its own sessions only, never to another agent's chain: a session
/// it names for the first time is claimed for it first ([`sessions::claim`]).
async fn claim_session(state: &AppState, agent: &str, action: &Action) -> Result<(), ApiError> {
    // What the append would refuse is refused before the claim writes anything.
    for (field, value) in [("actor", action.actor()), ("repository", action.repository())] {
        cavra_store::summary::check_text(field, value).map_err(ApiError::from_store)?;
    }
    let store = state.store().clone();
    let update = SessionUpdate {
        session_id: action.session_id().to_owned(),
        state: None,
        agent_id: Some(agent.to_owned()),
        actor: Some(action.actor().to_owned()),
        repository: Some(action.repository().to_owned()),
        policy_pack: Some(action.policy_pack().to_owned()),
    };
    let (_, session) = blocking(move || sessions::claim(store.as_ref(), &update)).await?;
    sessions::owned_by(&session, agent)
}

/// An agent token may report on its own sessions only (a session it never opened has nothing to
/// report on, so it is not claimed here).
pub async fn check_session_owner(state: &AppState, agent: &str, session_id: &str) -> Result<(), ApiError> {
    let store = state.store().clone();
    let key = session_id.to_owned();
    let found = blocking(move || store.get_session(&key)).await?;
    found.map_or(Ok(()), |found| sessions::owned_by(&found, agent))
}

/// Appends `record`, answering once it is durable. A store whose writer answers on its own
/// thread is awaited directly; others run on the blocking pool.
async fn append(state: &AppState, record: DecisionRecord) -> Result<DecisionRecord, ApiError> {
    let store = state.store().clone();
    if !store.appends_without_blocking() {
        return blocking(move || store.append(record)).await;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    store.append_then(
        record,
        Box::new(move |result| {
            let _ = tx.send(result);
        }),
    );
    match rx.await {
        Ok(result) => result.map_err(ApiError::from_store),
        Err(_) => Err(ApiError::from_store(cavra_store::StoreError::Unavailable(
            "the store dropped an append unanswered".into(),
        ))),
    }
}

/// Builds the store query from `GET /decisions` parameters.
pub fn query(raw: Option<&str>) -> Result<DecisionQuery, ApiError> {
    let q = QueryParams::parse(raw, FILTERS)?;
    let since_micros = q.timestamp("since")?;
    let until_micros = q.timestamp("until")?;
    if let (Some(s), Some(u)) = (since_micros, until_micros)
        && s > u
    {
        return Err(ApiError::invalid_query("`since` is after `until`"));
    }
    Ok(DecisionQuery {
        session_id: q.text("session_id")?,
        agent_id: q.text("agent_id")?,
        repository: q.text("repository")?,
        policy_pack: q.text("policy_pack")?,
        decision: q.parsed::<Outcome>("decision")?,
        severity: q.parsed::<Severity>("severity")?,
        action_type: q.parsed::<ActionType>("action_type")?,
        since_micros,
        until_micros,
        limit: clamp_limit(q.number("limit")?),
        offset: offset(&q)?,
        before_sequence: q
            .text("cursor")?
            .map(|c| decode_cursor(&c))
            .transpose()
            .map_err(|e| ApiError::invalid_query(format!("`cursor`: {e}")))?,
    })
}

/// Lists decisions, newest first, with exact-match filters and offset or keyset paging.
#[utoipa::path(
    get, path = "/decisions", operation_id = "list_decisions", tag = "decisions",
    params(
        ("session_id" = Option<String>, Query, description = "Exact session"),
        ("agent_id" = Option<String>, Query, description = "Exact agent"),
        ("repository" = Option<String>, Query, description = "Exact repository, e.g. `acme/payments`"),
        ("policy_pack" = Option<String>, Query, description = "Exact pack"),
        ("decision" = Option<Outcome>, Query, description = "Exact outcome"),
        ("severity" = Option<Severity>, Query, description = "Exact severity"),
        ("action_type" = Option<ActionType>, Query, description = "Exact action type"),
        ("since" = Option<String>, Query, description = "Not before this RFC 3339 instant"),
        ("until" = Option<String>, Query, description = "Not after this RFC 3339 instant"),
        ("limit" = Option<u32>, Query, description = "Page size 1..500 (larger is clamped), default 50"),
        ("offset" = Option<u64>, Query, description = "Rows to skip (ignored with a cursor)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page", body = Page<DecisionRecord>),
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
) -> Result<Json<Page<DecisionRecord>>, ApiError> {
    caller.allow(Permission::Read)?;
    let query = query(raw.as_deref())?;
    let store = state.store().clone();
    Ok(Json(blocking(move || store.list_decisions(&query)).await?))
}

/// One decision record.
#[utoipa::path(
    get, path = "/decisions/{id}", operation_id = "get_decision", tag = "decisions",
    params(("id" = String, Path, description = "The `decision_id`, `dec_...`")),
    responses(
        (status = 200, description = "The record", body = DecisionRecord),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "The token's role may not read", body = ErrorBody),
        (status = 404, description = "No such decision", body = ErrorBody),
        (status = 503, description = "Store busy or unavailable; retry later", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Principal,
    IdPath(id): IdPath,
) -> Result<Json<DecisionRecord>, ApiError> {
    caller.allow(Permission::Read)?;
    let store = state.store().clone();
    let key = id.clone();
    blocking(move || store.get_decision(&key))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no decision `{id}`")))
}
