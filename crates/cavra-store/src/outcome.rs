//! What happened when an allowed tool ran (Claude Code's PostToolUse), kept beside the decision
//! that let it run.
//!
//! Decision records are hash-chained and never change, so an outcome is a row of its own, keyed
//! by the decision; the first outcome recorded for a decision stays (a repeated report is
//! answered with it, never overwrites it).

use serde::{Deserialize, Serialize};

/// How the tool's run ended.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    /// The tool ran and reported success.
    Succeeded,
    /// The tool failed or was interrupted.
    Failed,
}

impl ToolStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolStatus::Succeeded => "succeeded",
            ToolStatus::Failed => "failed",
        }
    }

    /// Reads a wire name.
    pub fn parse(text: &str) -> Option<ToolStatus> {
        match text {
            "succeeded" => Some(ToolStatus::Succeeded),
            "failed" => Some(ToolStatus::Failed),
            _ => None,
        }
    }
}

/// An agent's report that a tool call ran: which call, and how it ended.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeReport {
    /// The session the decision was recorded in.
    pub session_id: String,
    /// The caller's tool-use id, as given with the decision.
    pub tool_use_id: String,
    /// How the run ended.
    pub status: ToolStatus,
}

/// A recorded outcome.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolOutcome {
    /// The decision that let the tool run (the session's latest with this tool-use id).
    pub decision_id: String,
    /// Its session.
    pub session_id: String,
    /// The caller's tool-use id.
    pub tool_use_id: String,
    /// How the run ended.
    pub status: ToolStatus,
    /// When the outcome was recorded (RFC 3339, UTC, microseconds).
    pub recorded_at: String,
}
