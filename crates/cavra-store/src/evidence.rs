//! What evidence verification and signed checkpoints (SPEC §7) read from and write to a store:
//! decisions as stored (the record's JSON text and the columns kept beside it, so a verifier sees
//! exactly what an attacker could have changed), a consistent snapshot of every session's chain
//! head, and checkpoint rows (the `evidence_checkpoints` table of migration 001). The store knows
//! nothing of signatures: payloads and signatures are opaque text here.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// One decision as stored, for verification: the record's JSON text as the store keeps it and,
/// in the SQL backends, the indexed columns filed beside it (which list filters read). Borrowed
/// from the store's row where it can be, so a scan of a million records does not allocate one
/// string per column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDecision<'a> {
    /// The position the store files the record under: the SQL primary key, or the record's own
    /// `sequence` in the JSON store.
    pub sequence: u64,
    /// The record's JSON, as read back by `get_decision` and the lists.
    pub record: Cow<'a, str>,
    /// The columns beside the record (SQL backends); `None` in the JSON store.
    pub columns: Option<DecisionColumns<'a>>,
}

/// The indexed columns an SQL backend files beside a record's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionColumns<'a> {
    /// `decision_id`.
    pub decision_id: Cow<'a, str>,
    /// `session_id`.
    pub session_id: Cow<'a, str>,
    /// `agent_id`.
    pub agent_id: Cow<'a, str>,
    /// `repository`.
    pub repository: Cow<'a, str>,
    /// `policy_pack`.
    pub policy_pack: Cow<'a, str>,
    /// `decision` (the outcome's wire name).
    pub decision: Cow<'a, str>,
    /// `severity`.
    pub severity: Cow<'a, str>,
    /// `action_type`.
    pub action_type: Cow<'a, str>,
    /// `ts_us`: the record's timestamp in microseconds since the Unix epoch.
    pub ts_us: i64,
}

/// Every session's summary and the log's high-water mark, read from one consistent snapshot: what
/// a checkpoint signs and what a verifier compares the chains with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogHeads {
    /// The highest `sequence` stored (0 when empty).
    pub sequence: u64,
    /// Decisions stored.
    pub decision_count: u64,
    /// Every session's summary, ordered by id, without its evidence refs (which only grow and
    /// are not part of a head).
    pub sessions: Vec<crate::model::SessionSummary>,
}

/// A row of `evidence_checkpoints`: a signed statement of every session's head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRow {
    /// `ckpt_` + an id that sorts by creation time.
    pub checkpoint_id: String,
    /// RFC 3339, UTC, microseconds.
    pub created_at: String,
    /// The id of the key that signed it.
    pub key_id: String,
    /// Sessions covered.
    pub session_count: u64,
    /// Decisions covered.
    pub decision_count: u64,
    /// The signed text (JSON), kept byte for byte.
    pub payload: String,
    /// The signature over `payload`.
    pub signature: String,
}
