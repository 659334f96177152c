//! The [`ActivityStore`] trait: what every backend does, with the same behaviour everywhere.

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use cavra_core::DecisionRecord;

use crate::error::StoreError;
use crate::evidence::{CheckpointRow, LogHeads, StoredDecision};
use crate::model::{ActivityOverview, DecisionQuery, HourRange, Page, SessionQuery, SessionSummary, SessionUpdate};
use crate::outcome::{OutcomeReport, ToolOutcome};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// Sessions written.
    pub sessions_imported: u64,
    /// Sessions already present (same id), left alone.
    pub sessions_skipped: u64,
    /// Decisions written.
    pub decisions_imported: u64,
    /// Decisions already present (same id and hash), left alone.
    pub decisions_skipped: u64,
}

/// Called once with the outcome of an [`ActivityStore::append_then`]: the durable record, or
/// why it was not stored.
pub type AppendDone = Box<dyn FnOnce(Result<DecisionRecord, StoreError>) + Send>;

/// Receives measurements from inside a store, for `/metrics`. Called on the store's own threads,
/// so implementations must be cheap and must not block.
pub trait StoreObserver: Send + Sync {
    /// A group commit made `batch_size` appends durable in `elapsed` (from the start of the
    /// transaction to the end of its commit/fsync).
    fn group_committed(&self, batch_size: usize, elapsed: Duration);
}

/// Durable decisions and live session summaries.
///
/// Methods block; async callers run them on a blocking thread. Implementations are shared
/// between threads.
pub trait ActivityStore: Send + Sync {
    /// `sqlite`, `json` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Installs `observer` to receive this store's group-commit measurements. The first observer
    /// installed stays; later calls are ignored. Backends without group commit ignore it.
    fn observe(&self, observer: Arc<dyn StoreObserver>) {
        let _ = observer;
    }

    /// Appends `record` (evaluated and stamped, without `sequence` or hashes) and updates its
    /// session summary in one atomic step. Returns only once the record is durable, with its
    /// `sequence`, `prev_hash` and `record_hash` set.
    fn append(&self, record: DecisionRecord) -> Result<DecisionRecord, StoreError>;

    /// Whether [`append_then`](Self::append_then) returns without blocking (the writer answers
    /// later, on its own thread). When false, it blocks like `append` and async callers must
    /// call it from a blocking thread.
    fn appends_without_blocking(&self) -> bool {
        false
    }

    /// Appends like [`append`](Self::append), answering through `done` once the record is
    /// durable (or failed). `done` runs on whichever thread finishes the work, so it must be
    /// cheap (e.g. send on a channel). The default runs `append` here and now.
    fn append_then(&self, record: DecisionRecord, done: AppendDone) {
        done(self.append(record));
    }

    /// One decision by id.
    fn get_decision(&self, decision_id: &str) -> Result<Option<DecisionRecord>, StoreError>;

    /// A page of decisions, newest first.
    fn list_decisions(&self, query: &DecisionQuery) -> Result<Page<DecisionRecord>, StoreError>;

    /// One session's summary.
    fn get_session(&self, session_id: &str) -> Result<Option<SessionSummary>, StoreError>;

    /// A page of session summaries, most recently active first, ties by id.
    fn list_sessions(&self, query: &SessionQuery) -> Result<Page<SessionSummary>, StoreError>;

    /// Creates a session, or changes its state. Counts are never taken from the caller.
    fn put_session(&self, update: &SessionUpdate) -> Result<SessionSummary, StoreError>;

    /// Every decision of a session, oldest first: its chain.
    fn session_decisions(&self, session_id: &str) -> Result<Vec<DecisionRecord>, StoreError>;

    /// The console overview for `range`: decisions per hour and outcome, and the ranked counts
    /// (repositories, agents, rules, sessions with blocks), from counts kept per hour by the
    /// appends themselves, so the cost follows the hours and names in the range, not the
    /// decisions.
    fn activity_overview(&self, range: HourRange) -> Result<ActivityOverview, StoreError>;

    /// Every session summary, for export and verification.
    fn all_sessions(&self) -> Result<Vec<SessionSummary>, StoreError>;

    /// Imports records made elsewhere as they are (ids, sequences, hashes kept). Idempotent: a
    /// record already present with the same hash is skipped; one present with a different hash
    /// is a conflict.
    fn import(&self, sessions: &[SessionSummary], decisions: &[DecisionRecord]) -> Result<ImportReport, StoreError>;

    // --- Evidence (SPEC §7): what `cavra evidence verify` and signed checkpoints need. ---

    /// Calls `visit` with every stored decision filed at a sequence in `sequences`, in sequence
    /// order, streaming (one snapshot, never the whole range in memory). Several threads may scan
    /// disjoint ranges at once, each on its own connection. An error from `visit` stops the scan
    /// and is returned.
    fn scan_decisions(
        &self,
        sequences: RangeInclusive<u64>,
        visit: &mut dyn FnMut(&StoredDecision<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Every session's chain head and the log's high-water mark, from one consistent snapshot.
    fn log_heads(&self) -> Result<LogHeads, StoreError>;

    /// Stores a signed checkpoint.
    fn save_checkpoint(&self, checkpoint: &CheckpointRow) -> Result<(), StoreError>;

    /// The newest checkpoint (by `created_at`, then id), if any.
    fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError>;

    /// Calls `visit` with every stored checkpoint, oldest first (by `created_at`, then id), so a
    /// verifier can check each against the one before it without holding them all.
    fn scan_checkpoints(
        &self,
        visit: &mut dyn FnMut(CheckpointRow) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    // --- Tool outcomes (SPEC §9): how an allowed tool call ended, beside its decision. ---

    /// Records how the tool call `report.tool_use_id` ended, against the session's latest
    /// decision with that tool-use id, durably. `None` when the session has no such decision.
    /// The first outcome of a decision stays: reporting again returns it unchanged.
    fn record_outcome(&self, report: &OutcomeReport, recorded_at: &str) -> Result<Option<ToolOutcome>, StoreError>;

    /// The outcome recorded for a decision, if any.
    fn get_outcome(&self, decision_id: &str) -> Result<Option<ToolOutcome>, StoreError>;
}
