//! `/policy-packs`: the loaded packs and their effective rules (inherited ones included).

use axum::Json;
use axum::extract::State;
use cavra_core::pack::{CompiledRule, Matcher};
use cavra_core::{CompiledPack, Mode, Outcome, Severity};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ErrorBody};
use crate::input::IdPath;
use crate::state::AppState;

/// A pack as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackSummary {
    /// The pack id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// A short title.
    pub title: String,
    /// What it is for.
    pub description: String,
    /// The mode in force.
    pub mode: Mode,
    /// Parent packs, in order.
    pub inherits: Vec<String>,
    /// Outcome when no rule matches.
    pub default_decision: Outcome,
    /// Severity when no rule matches.
    pub default_severity: Severity,
    /// Protected branches, when the pack names them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected_branches: Option<Vec<String>>,
    /// Effective rules, inherited ones included.
    pub rule_count: usize,
}

/// A pack with its effective rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackDetail {
    /// The pack.
    #[serde(flatten)]
    pub pack: PackSummary,
    /// Every effective rule, in evaluation order.
    pub rules: Vec<RuleView>,
}

/// One effective rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    /// The rule id.
    pub id: String,
    /// What it matches: `command`, `file`, `git`, `mcp`, `pipeline` or `construct`.
    pub kind: &'static str,
    /// The matcher as written in the pack: its body (e.g. `{"program": "rm", ...}`), or for a
    /// construct the tagged form `{"construct": "fork_bomb"}`.
    #[schema(value_type = Object)]
    pub r#match: serde_json::Value,
    /// The verdict when it fires.
    pub decision: Outcome,
    /// Its severity.
    pub severity: Severity,
    /// The reason given.
    pub reason: String,
    /// A safer alternative.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// Who may approve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver_group: Option<String>,
    /// The pack that defined it.
    pub policy_id: String,
}

fn summary(pack: &CompiledPack) -> PackSummary {
    let s = pack.source();
    let (default_decision, default_severity) = pack.defaults();
    PackSummary {
        id: s.id.clone(),
        version: s.version.clone(),
        title: s.title.clone(),
        description: s.description.trim().to_owned(),
        mode: s.mode,
        inherits: s.inherits.clone(),
        default_decision,
        default_severity,
        protected_branches: s.protected_branches.clone(),
        rule_count: pack.rules().len(),
    }
}

fn rule(r: &CompiledRule) -> RuleView {
    let kind = match &r.rule.matcher {
        Matcher::Command(_) => "command",
        Matcher::File(_) => "file",
        Matcher::Git(_) => "git",
        Matcher::Mcp(_) => "mcp",
        Matcher::Pipeline(_) => "pipeline",
        Matcher::Construct(_) => "construct",
    };
    let matcher = serde_json::to_value(&r.rule.matcher).unwrap_or(serde_json::Value::Null);
    RuleView {
        id: r.rule.id.clone(),
        kind,
        // The matcher's body when it is an object; a bare value (a construct name) keeps its tag.
        r#match: match matcher.get(kind) {
            Some(body @ serde_json::Value::Object(_)) => body.clone(),
            _ => matcher,
        },
        decision: r.rule.decision,
        severity: r.rule.severity,
        reason: r.rule.reason.clone(),
        suggestion: r.rule.suggestion.clone(),
        approver_group: r.rule.approver_group.clone(),
        policy_id: r.policy_id.clone(),
    }
}

/// Every loaded pack.
#[utoipa::path(
    get, path = "/policy-packs", operation_id = "list_policy_packs", tag = "policy packs",
    responses(
        (status = 200, description = "The loaded packs, by id", body = Vec<PackSummary>),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "The token's role may not read", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>, caller: Principal) -> Result<Json<Vec<PackSummary>>, ApiError> {
    caller.allow(Permission::Read)?;
    let mut packs: Vec<PackSummary> = state.packs().iter().map(|p| summary(p)).collect();
    packs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Json(packs))
}

/// One pack with its effective rules.
#[utoipa::path(
    get, path = "/policy-packs/{id}", operation_id = "get_policy_pack", tag = "policy packs",
    params(("id" = String, Path, description = "The pack id")),
    responses(
        (status = 200, description = "The pack and its effective rules", body = PackDetail),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "The token's role may not read", body = ErrorBody),
        (status = 404, description = "Unknown policy pack", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Principal,
    IdPath(id): IdPath,
) -> Result<Json<PackDetail>, ApiError> {
    caller.allow(Permission::Read)?;
    let pack = state.pack(&id)?;
    Ok(Json(PackDetail {
        pack: summary(&pack),
        rules: pack.rules().iter().map(rule).collect(),
    }))
}
