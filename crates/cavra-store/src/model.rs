//! What the store keeps and how it is asked: session summaries, queries, pages and cursors
//! (SPEC §5).
//!
//! Queries are plain data validated once (`limit` clamped to 1..=500, timestamps parsed), so
//! every backend sees the same, already-checked question.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use cavra_core::{ActionType, Outcome, Severity};
use serde::{Deserialize, Serialize};

/// Page size when none is asked for.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page; larger requests are clamped.
pub const MAX_LIMIT: u32 = 500;

/// The lifecycle state of an agent session.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Receiving decisions.
    #[default]
    Active,
    /// Ended normally.
    Completed,
    /// Ended in failure.
    Failed,
    /// Kept for the record only.
    Archived,
}

impl SessionState {
    /// Every state.
    pub const ALL: [SessionState; 4] = [
        SessionState::Active,
        SessionState::Completed,
        SessionState::Failed,
        SessionState::Archived,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Active => "active",
            SessionState::Completed => "completed",
            SessionState::Failed => "failed",
            SessionState::Archived => "archived",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SessionState::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown state `{s}` (expected one of: active, completed, failed, archived)"))
    }
}

/// A session's live summary, maintained incrementally at every append (SPEC §5).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// The session.
    pub session_id: String,
    /// The agent acting in it.
    pub agent_id: String,
    /// Who acts through the agent.
    pub actor: String,
    /// The repository.
    pub repository: String,
    /// The pack of its decisions.
    pub policy_pack: String,
    /// Lifecycle state.
    pub state: SessionState,
    /// First activity, RFC 3339.
    pub started_at: String,
    /// Latest activity, RFC 3339; advances with every decision.
    pub updated_at: String,
    /// Decisions recorded.
    pub decision_count: u64,
    /// Decisions that were `block`.
    pub blocked_count: u64,
    /// Decisions that were `require_approval`.
    pub approval_required_count: u64,
    /// Count per outcome, all six present.
    pub outcome_counts: BTreeMap<Outcome, u64>,
    /// Highest severity seen, if any decision was recorded.
    pub max_severity: Option<Severity>,
    /// The latest decision.
    pub last_decision_id: Option<String>,
    /// The latest decision's `record_hash`: the head of the session's chain.
    pub head_hash: Option<String>,
    /// Evidence references of the session, growing with each decision.
    pub evidence_refs: Vec<String>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl SessionSummary {
    /// An empty summary for a session first seen at `at`.
    pub fn new(session_id: &str, at: &str) -> SessionSummary {
        SessionSummary {
            session_id: session_id.to_owned(),
            agent_id: "unknown-agent".to_owned(),
            actor: "ai-agent".to_owned(),
            repository: "local".to_owned(),
            policy_pack: cavra_core::DEFAULT_POLICY_PACK.to_owned(),
            state: SessionState::Active,
            started_at: at.to_owned(),
            updated_at: at.to_owned(),
            decision_count: 0,
            blocked_count: 0,
            approval_required_count: 0,
            outcome_counts: Outcome::ALL.into_iter().map(|o| (o, 0)).collect(),
            max_severity: None,
            last_decision_id: None,
            head_hash: None,
            evidence_refs: Vec::new(),
            extra: serde_json::Map::new(),
        }
    }
}

/// A session created or moved to another state by a client (`POST /sessions`). Counts are never
/// taken from the client.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionUpdate {
    /// The session.
    pub session_id: String,
    /// New state, if it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SessionState>,
    /// Agent, for a new session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Actor, for a new session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Repository, for a new session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Pack, for a new session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_pack: Option<String>,
}

/// A filtered, ordered page of decisions. Newest first (by `sequence`). The default asks for
/// the first page of [`DEFAULT_LIMIT`] decisions, unfiltered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionQuery {
    /// Exact session.
    pub session_id: Option<String>,
    /// Exact agent.
    pub agent_id: Option<String>,
    /// Exact repository.
    pub repository: Option<String>,
    /// Exact pack.
    pub policy_pack: Option<String>,
    /// Exact outcome.
    pub decision: Option<Outcome>,
    /// Exact severity.
    pub severity: Option<Severity>,
    /// Exact action type.
    pub action_type: Option<ActionType>,
    /// Not before, in microseconds since the Unix epoch.
    pub since_micros: Option<i64>,
    /// Not after, in microseconds since the Unix epoch.
    pub until_micros: Option<i64>,
    /// Page size, 1..=500.
    pub limit: u32,
    /// Rows to skip (ignored with a cursor).
    pub offset: u64,
    /// Keyset cursor: only decisions with a smaller `sequence`.
    pub before_sequence: Option<u64>,
}

/// A filtered, ordered page of sessions. Newest activity first, ties by id. The default asks
/// for the first page of [`DEFAULT_LIMIT`] sessions, unfiltered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionQuery {
    /// Exact agent.
    pub agent_id: Option<String>,
    /// Exact repository.
    pub repository: Option<String>,
    /// Exact pack.
    pub policy_pack: Option<String>,
    /// Exact state.
    pub state: Option<SessionState>,
    /// Page size, 1..=500.
    pub limit: u32,
    /// Rows to skip.
    pub offset: u64,
}

impl Default for DecisionQuery {
    fn default() -> DecisionQuery {
        DecisionQuery {
            session_id: None,
            agent_id: None,
            repository: None,
            policy_pack: None,
            decision: None,
            severity: None,
            action_type: None,
            since_micros: None,
            until_micros: None,
            limit: DEFAULT_LIMIT,
            offset: 0,
            before_sequence: None,
        }
    }
}

impl Default for SessionQuery {
    fn default() -> SessionQuery {
        SessionQuery {
            agent_id: None,
            repository: None,
            policy_pack: None,
            state: None,
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// One page of a list: the SPEC's envelope.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Rows matching the filters, across all pages.
    pub total: u64,
    /// The page size used.
    pub limit: u32,
    /// Rows skipped.
    pub offset: u64,
    /// Keyset cursor for the next page (decisions only), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Microseconds in an hour: the grain of the activity overview's counts.
pub const HOUR_MICROS: i64 = 3_600_000_000;

/// A span of whole UTC hours, `from_hour` included, `to_hour` excluded, each counted in hours
/// since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourRange {
    /// The first hour included.
    pub from_hour: i64,
    /// The first hour after the range.
    pub to_hour: i64,
}

impl HourRange {
    /// The hour holding the instant `micros` (microseconds since the epoch).
    pub fn hour_of(micros: i64) -> i64 {
        micros.div_euclid(HOUR_MICROS).max(0)
    }
}

/// What is ranked in an [`ActivityOverview`]: decisions other than `allow` per repository,
/// agent and deciding rule, and `block` decisions per session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OverviewDimension {
    /// Non-`allow` decisions per repository.
    Repository,
    /// Non-`allow` decisions per agent.
    Agent,
    /// Non-`allow` decisions per deciding rule (`rule_id`).
    Rule,
    /// `block` decisions per session.
    BlockedSession,
}

impl OverviewDimension {
    /// Every dimension.
    pub const ALL: [OverviewDimension; 4] = [
        OverviewDimension::Repository,
        OverviewDimension::Agent,
        OverviewDimension::Rule,
        OverviewDimension::BlockedSession,
    ];

    /// The kind under which its hourly counts are kept.
    pub fn kind(self) -> &'static str {
        match self {
            OverviewDimension::Repository => "hourly.repository",
            OverviewDimension::Agent => "hourly.agent_id",
            OverviewDimension::Rule => "hourly.rule_id",
            OverviewDimension::BlockedSession => "hourly.blocked_session",
        }
    }

    /// The kind under which its daily counts are kept (whole UTC days, read for the days a
    /// range covers entirely).
    pub fn daily_kind(self) -> &'static str {
        match self {
            OverviewDimension::Repository => "daily.repository",
            OverviewDimension::Agent => "daily.agent_id",
            OverviewDimension::Rule => "daily.rule_id",
            OverviewDimension::BlockedSession => "daily.blocked_session",
        }
    }

    /// The dimension kept under `kind`.
    pub fn from_kind(kind: &str) -> Option<OverviewDimension> {
        OverviewDimension::ALL.into_iter().find(|d| d.kind() == kind)
    }
}

/// Decisions of one outcome in one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCount {
    /// Hours since the Unix epoch.
    pub hour: i64,
    /// The outcome.
    pub outcome: Outcome,
    /// How many.
    pub count: u64,
}

/// Decisions of one outcome for one name (a repository, agent, rule or session) over a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankedCount {
    /// What is counted.
    pub dimension: OverviewDimension,
    /// The repository, agent, rule or session.
    pub name: String,
    /// The outcome.
    pub outcome: Outcome,
    /// How many.
    pub count: u64,
}

/// The console overview's numbers for an [`HourRange`], read from counts kept per hour and
/// per day at every append, never from the decisions themselves. Rows are sorted: `hours` by hour then
/// outcome, `ranked` by dimension, name, outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityOverview {
    /// Decisions per hour and outcome (hours without decisions are absent).
    pub hours: Vec<HourCount>,
    /// Per-name counts of each [`OverviewDimension`] over the whole range.
    pub ranked: Vec<RankedCount>,
}

/// Clamps a requested page size to 1..=500 (default 50).
pub fn clamp_limit(requested: Option<u64>) -> u32 {
    match requested {
        None => DEFAULT_LIMIT,
        Some(0) => 1,
        Some(n) => u32::try_from(n.min(u64::from(MAX_LIMIT))).unwrap_or(MAX_LIMIT),
    }
}

/// The cursor that continues after `sequence`: opaque to clients, `c` + the sequence.
pub fn encode_cursor(sequence: u64) -> String {
    format!("c{sequence}")
}

/// Reads a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Result<u64, String> {
    cursor
        .strip_prefix('c')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("invalid cursor `{cursor}` (use the `next_cursor` of a previous page)"))
}

/// Microseconds since the Unix epoch of an RFC 3339 timestamp.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_micros())
        .map_err(|e| format!("invalid timestamp `{text}` (expected RFC 3339, e.g. 2026-01-31T12:00:00Z): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Page sizes are clamped to 1..=500 with 50 by default.
    #[test]
    fn limits_clamp() {
        assert_eq!(clamp_limit(None), 50);
        assert_eq!(clamp_limit(Some(0)), 1);
        assert_eq!(clamp_limit(Some(10_000)), 500);
        assert_eq!(clamp_limit(Some(7)), 7);
    }

    /// Cursors round-trip and bad ones are named.
    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Ok(42));
        assert!(decode_cursor("x1").unwrap_err().contains("`x1`"));
    }

    /// Timestamps compare as instants, not strings.
    #[test]
    fn timestamps_are_instants() {
        let a = parse_timestamp("2026-01-01T00:00:00+01:00").unwrap();
        let b = parse_timestamp("2025-12-31T23:30:00Z").unwrap();
        assert!(a < b);
    }
}
