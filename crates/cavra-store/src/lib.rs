//! cavra-store: durable decisions and live session summaries (SPEC §5).
//!
//! One [`ActivityStore`] trait, three backends that behave the same (one conformance suite runs
//! against all of them):
//! - SQLite, the embedded default (`.cavra/activity.db`): WAL, `synchronous=FULL`, one writer
//!   thread that commits concurrent appends together, readers on their own connections.
//! - JSON (`CAVRA_ACTIVITY_STORE`): one file, loaded once and indexed in memory, rewritten
//!   atomically under an exclusive lock.
//! - PostgreSQL (`CAVRA_ACTIVITY_DB=postgres://...`): the scale-out store, safe for several
//!   processes at once.
//!
//! # Layout
//! - [`store`]: the trait.
//! - [`model`]: summaries, queries, pages, cursors.
//! - [`outcome`]: what happened when an allowed tool ran, beside its decision (migration 006).
//! - [`summary`]: how a decision joins its session (sequence, chain, incremental summary).
//! - [`seal`]: sealing in two steps, most of the hashing done before the record's place is known.
//! - [`migrations`]: embedded, checksummed, numbered migrations.
//! - `counts` (private): which kept count answers a list's `total`, and how writes move them.
//! - [`stamp`]: decision ids and timestamps.
//! - [`evidence`]: what verification and signed checkpoints read and write (stored records, heads, checkpoint rows).
//! - [`sqlite`], [`json`], [`postgres`]: the backends.
//! - [`config`]: choosing the backend from the environment.

#![deny(missing_docs)]

pub mod config;
mod counts;
pub mod error;
pub mod evidence;
pub mod json;
pub mod migrations;
pub mod model;
pub mod outcome;
pub mod postgres;
pub mod seal;
pub mod sqlite;
pub mod stamp;
pub mod store;
pub mod summary;

pub use config::{StoreConfig, open, open_one_shot};
pub use error::StoreError;
pub use evidence::{CheckpointRow, DecisionColumns, LogHeads, StoredDecision};
pub use model::{DecisionQuery, Page, SessionQuery, SessionState, SessionSummary, SessionUpdate};
pub use outcome::{OutcomeReport, ToolOutcome, ToolStatus};
pub use stamp::Stamper;
pub use store::{ActivityStore, AppendDone, ImportReport, StoreObserver};
