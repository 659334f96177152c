//! cavra-evidence: proving that recorded decisions were not altered, removed or inserted
//! afterwards (SPEC §7).
//!
//! # Layout
//! - [`verify`]: verification of a whole store (any backend): hashes, chains, the global sequence,
//!   summaries, SQL columns, the chain of signed checkpoints and the latest against the chains; a
//!   [`verify::Report`] naming every problem by record and session.
//! - [`canonical`]: `record_hash` computed straight from a record's stored JSON text: the sealed
//!   form hashed as it is, other forms through a borrowed tree (the fast paths, byte-identical to
//!   `cavra_core::integrity::record_hash`).
//! - [`checkpoint`]: signed checkpoints of every session's head and the log's high-water mark,
//!   each naming the one before it.
//! - [`keys`]: Ed25519 key files, key ids, signing and verifying.
//! - [`bundle`]: one session exported to a directory with a signed manifest, and its offline
//!   verification.
//! - [`error`]: [`EvidenceError`], why an operation could not run at all.
//!
//! Depends on core and store, never on the server.

#![deny(missing_docs)]

pub mod bundle;
pub mod canonical;
pub mod checkpoint;
pub mod error;
pub mod keys;
pub mod verify;

pub use error::EvidenceError;
pub use verify::{Finding, FindingKind, Report, Status};
