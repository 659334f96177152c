//! Outcomes, severities, modes and the decision record (SPEC §2).
//!
//! Outcomes and severities are ordered enums: "most restrictive" and "highest" are `Ord::max`,
//! never a comparison of strings. A [`DecisionRecord`] is only ever built by
//! [`DecisionRecord::new`], which redacts secrets (SPEC §6, [`crate::redact`]) before anyone can
//! store or print it; evaluation itself still sees the raw action.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::action::{Action, ActionType};

/// The `schema_version` every decision record carries.
pub const SCHEMA_VERSION: &str = "cavra.decision.v1";

/// A verdict, ordered from least to most restrictive.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action may proceed.
    Allow,
    /// The action may proceed; the verdict is only recorded.
    AuditOnly,
    /// The action may proceed, with a warning to the agent and its user.
    Warn,
    /// The action may proceed, and the actor attests to it.
    AllowWithAttestation,
    /// The action needs a human's approval first.
    RequireApproval,
    /// The action must not happen.
    Block,
}

impl Outcome {
    /// Every outcome, least restrictive first.
    pub const ALL: [Outcome; 6] = [
        Outcome::Allow,
        Outcome::AuditOnly,
        Outcome::Warn,
        Outcome::AllowWithAttestation,
        Outcome::RequireApproval,
        Outcome::Block,
    ];

    /// The wire name, e.g. `require_approval`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::AuditOnly => "audit_only",
            Outcome::Warn => "warn",
            Outcome::AllowWithAttestation => "allow_with_attestation",
            Outcome::RequireApproval => "require_approval",
            Outcome::Block => "block",
        }
    }

    /// Whether the action may go ahead without a human in the loop.
    pub fn permits(self) -> bool {
        self < Outcome::RequireApproval
    }
}

/// How bad the action could be, ordered.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Little or no harm.
    #[default]
    Low,
    /// Harm that is easy to undo.
    Medium,
    /// Harm that is hard to undo: leaked secrets, protected history.
    High,
    /// Destroyed data or infrastructure.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 4] = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    /// The wire name, e.g. `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The pack mode in force for one evaluation (SPEC §3).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Return the verdict.
    #[default]
    Enforce,
    /// Record the verdict, return `audit_only`.
    AuditOnly,
    /// Turn `allow` into `require_approval`.
    Strict,
    /// With an actor and a justification, turn every verdict into `allow_with_attestation`.
    BreakGlass,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 4] = [Mode::Enforce, Mode::AuditOnly, Mode::Strict, Mode::BreakGlass];

    /// The wire name, e.g. `break_glass`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::AuditOnly => "audit_only",
            Mode::Strict => "strict",
            Mode::BreakGlass => "break_glass",
        }
    }
}

macro_rules! wire_enum_text {
    ($ty:ty, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName {
                        what: $what,
                        given: s.to_owned(),
                        expected: <$ty>::ALL
                            .iter()
                            .map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            }
        }
    };
}

wire_enum_text!(Outcome, "outcome");
wire_enum_text!(Severity, "severity");
wire_enum_text!(Mode, "mode");

/// A name that is not one of an enum's wire names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}` (expected one of: {expected})")]
pub struct UnknownName {
    /// What kind of name it should have been.
    pub what: &'static str,
    /// What was given.
    pub given: String,
    /// The accepted names.
    pub expected: String,
}

/// One rule that fired on one part of an action.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedRule {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's verdict.
    pub decision: Outcome,
    /// The rule's severity.
    pub severity: Severity,
    /// The part of the action it fired on, e.g. `terraform apply -auto-approve` or `read .env`.
    pub part: String,
    /// The environment the part reaches (`production`, ...), as the pack names them; absent when
    /// the part names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// What evaluation concluded: the verdict and why. Pure data, no ids or clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The verdict returned to the caller (after the mode was applied).
    pub decision: Outcome,
    /// The deciding rule's severity.
    pub severity: Severity,
    /// The deciding rule, or `<pack>.default`.
    pub rule_id: String,
    /// The pack that defined the deciding rule.
    pub policy_id: String,
    /// One human sentence.
    pub reason: String,
    /// A safer alternative, when there is one.
    pub suggestion: Option<String>,
    /// Who may approve, for `require_approval`.
    pub approver_group: Option<String>,
    /// Every rule that decided a part of the action.
    pub matched: Vec<MatchedRule>,
    /// The mode in force.
    pub mode: Mode,
}

/// The durable decision record, `cavra.decision.v1` (SPEC §2).
///
/// Fields the server computes at append time (`sequence`, hashes) are optional here so that a dry
/// run (`cavra evaluate`, `POST /evaluate`) can print the same shape without them. Unknown fields
/// read from a store are kept in `extra` and written back untouched. The action's `arguments`,
/// `cwd` and `justification`, and `redacted_fields`, are left out of the JSON when absent or
/// empty, so records without them serialise (and hash) exactly as before they existed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: String,
    /// `dec_` + an id that sorts by creation time.
    pub decision_id: String,
    /// Position in the store's log; absent on dry runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// The agent session.
    pub session_id: String,
    /// The agent.
    pub agent_id: String,
    /// Who acts through the agent.
    pub actor: String,
    /// The repository, e.g. `acme/payments`.
    pub repository: String,
    /// What kind of action.
    pub action_type: ActionType,
    /// The action's target as given.
    pub target: String,
    /// The git operation, MCP capability or tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_operation: Option<String>,
    /// The MCP tool arguments, redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub arguments: Option<serde_json::Map<String, serde_json::Value>>,
    /// The working directory the action named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The pack that was asked for.
    pub policy_pack: String,
    /// The pack that defined the deciding rule.
    pub policy_id: String,
    /// The asked-for pack's version.
    pub pack_version: String,
    /// The deciding rule, or `<pack>.default`.
    pub rule_id: String,
    /// The verdict.
    pub decision: Outcome,
    /// The deciding rule's severity.
    pub severity: Severity,
    /// One human sentence.
    pub reason: String,
    /// A safer alternative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// Every rule that decided a part of the action.
    pub matched: Vec<MatchedRule>,
    /// Who may approve, for `require_approval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver_group: Option<String>,
    /// The mode in force.
    pub mode: Mode,
    /// The actor's justification, given for `break_glass`; redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// Evidence references; always includes `evidence://<session_id>/<decision_id>`.
    pub evidence_refs: Vec<String>,
    /// RFC 3339, UTC, `Z`, microseconds.
    pub timestamp: String,
    /// The caller's correlation id, or a generated `corr_...`.
    pub correlation_id: String,
    /// The caller's tool-use id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// The fields whose secrets were replaced by `[REDACTED]`, as paths: `target`,
    /// `matched[2].part`, `arguments.headers.Authorization`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted_fields: Vec<String>,
    /// The previous record's hash in this session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
    /// SHA-256 over the canonical JSON of this record without `record_hash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_hash: Option<String>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The ids and clock reading that make an [`Evaluation`] a record; supplied by the caller so that
/// this crate stays free of clocks and randomness.
#[derive(Debug, Clone)]
pub struct RecordStamp {
    /// `dec_...`.
    pub decision_id: String,
    /// RFC 3339 UTC with microseconds.
    pub timestamp: String,
    /// Used when the action carries no `correlation_id`.
    pub generated_correlation_id: String,
}

impl DecisionRecord {
    /// Builds the record for `action`, decided by `evaluation` under pack version `pack_version`,
    /// with every secret in it redacted and listed in `redacted_fields`.
    pub fn new(action: &Action, evaluation: Evaluation, pack_version: &str, stamp: RecordStamp) -> DecisionRecord {
        let session_id = action.session_id().to_owned();
        let evidence_refs = vec![format!("evidence://{session_id}/{}", stamp.decision_id)];
        let mut record = DecisionRecord {
            schema_version: SCHEMA_VERSION.to_owned(),
            decision_id: stamp.decision_id,
            sequence: None,
            session_id,
            agent_id: action.agent_id().to_owned(),
            actor: action.actor().to_owned(),
            repository: action.repository().to_owned(),
            action_type: action.action_type,
            target: action.target.clone(),
            requested_operation: action.requested_operation(),
            arguments: action.arguments.clone(),
            cwd: action.cwd.clone(),
            policy_pack: action.policy_pack().to_owned(),
            policy_id: evaluation.policy_id,
            pack_version: pack_version.to_owned(),
            rule_id: evaluation.rule_id,
            decision: evaluation.decision,
            severity: evaluation.severity,
            reason: evaluation.reason,
            suggestion: evaluation.suggestion,
            matched: evaluation.matched,
            approver_group: evaluation.approver_group,
            mode: evaluation.mode,
            justification: action.justification.clone(),
            evidence_refs,
            timestamp: stamp.timestamp,
            correlation_id: action.correlation_id.clone().unwrap_or(stamp.generated_correlation_id),
            tool_use_id: action.tool_use_id.clone(),
            redacted_fields: Vec::new(),
            prev_hash: None,
            record_hash: None,
            extra: serde_json::Map::new(),
        };
        crate::redact::redact_record(&mut record);
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outcomes order from allow to block, and parse back from their wire names.
    #[test]
    fn outcomes_are_ordered_and_round_trip() {
        assert!(Outcome::Allow < Outcome::AuditOnly);
        assert!(Outcome::RequireApproval < Outcome::Block);
        for o in Outcome::ALL {
            assert_eq!(o.as_str().parse::<Outcome>(), Ok(o));
            assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{o}\""));
        }
        assert!("deny".parse::<Outcome>().is_err());
    }

    /// Severities compare as an enum: `critical` is above `high` although it sorts first as text.
    #[test]
    fn severities_compare_as_enum() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::High > Severity::Medium);
        assert_eq!("critical".parse::<Severity>(), Ok(Severity::Critical));
    }
}
