//! Signed checkpoints (SPEC §7): a statement, signed with Ed25519, of every session's chain head
//! and count plus the log's high-water `sequence`, stored in `evidence_checkpoints`. Later, a
//! verifier checks that every signed head is still in its chain at the signed position, so
//! removing a whole session, truncating a chain or rewriting it is detected even when the
//! summaries were rewritten to match.
//!
//! The payload is the signed text itself (JSON), kept byte for byte in the row; the row's other
//! columns are a copy for listing and must agree with it.
//!
//! Checkpoints form a chain: each (schema v2) names the checkpoint that was the latest when it
//! was signed, with the SHA-256 of that one's payload. A verifier checks every stored checkpoint
//! against the one it names — present, unchanged, and signing no fewer records or sessions — so
//! deleting a checkpoint from the middle, or rewriting the log between two checkpoints, shows.
//! What the chain cannot show is its own end: deleting the newest checkpoints (with the records
//! only they covered) leaves an older, consistent chain. Only a checkpoint id kept outside the
//! store can prove that.

use cavra_store::{ActivityStore, CheckpointRow, LogHeads, SessionSummary};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::EvidenceError;
use crate::keys;

/// `schema` of a checkpoint payload: v2 names the checkpoint before it.
pub const CHECKPOINT_SCHEMA: &str = "cavra.checkpoint.v2";
/// `schema` of checkpoints made before they were chained (read, never written).
pub const CHECKPOINT_SCHEMA_V1: &str = "cavra.checkpoint.v1";

/// The checkpoint that was the latest when another was signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousCheckpoint {
    /// Its id.
    pub checkpoint_id: String,
    /// SHA-256 (hex) of its payload text, so it cannot be swapped for another.
    pub payload_sha256: String,
}

/// One session's head as a checkpoint signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedHead {
    /// The session.
    pub session_id: String,
    /// Decisions in its chain.
    pub decision_count: u64,
    /// The latest decision's `record_hash`.
    pub head_hash: Option<String>,
    /// The latest decision's id.
    pub head_decision_id: Option<String>,
}

impl SignedHead {
    /// The head a summary names.
    pub fn of(summary: &SessionSummary) -> SignedHead {
        SignedHead {
            session_id: summary.session_id.clone(),
            decision_count: summary.decision_count,
            head_hash: summary.head_hash.clone(),
            head_decision_id: summary.last_decision_id.clone(),
        }
    }
}

/// What a checkpoint signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointPayload {
    /// Always [`CHECKPOINT_SCHEMA`].
    pub schema: String,
    /// `ckpt_` + an id that sorts by creation time.
    pub checkpoint_id: String,
    /// RFC 3339, UTC, microseconds.
    pub created_at: String,
    /// The signing key's id.
    pub key_id: String,
    /// The log's high-water `sequence`: every sequence from 1 to it was stored.
    pub sequence: u64,
    /// Decisions stored.
    pub decision_count: u64,
    /// Sessions covered.
    pub session_count: u64,
    /// Every session's head, by id.
    pub sessions: Vec<SignedHead>,
    /// The checkpoint that was the latest when this one was signed (`null`: none was stored).
    /// Absent in v1 payloads.
    #[serde(default)]
    pub previous: Option<PreviousCheckpoint>,
}

/// The SHA-256 (hex) of a checkpoint's payload text.
pub fn payload_sha256(row: &CheckpointRow) -> String {
    cavra_core::integrity::hex(&Sha256::digest(row.payload.as_bytes()))
}

/// A checkpoint of `heads`, signed with `key`, as a row to store; `previous` is the latest
/// checkpoint stored before `heads` were read.
pub fn sign_heads(
    heads: &LogHeads,
    key: &SigningKey,
    previous: Option<&CheckpointRow>,
) -> Result<(CheckpointRow, CheckpointPayload), EvidenceError> {
    let created_at = cavra_store::stamp::rfc3339_micros(chrono::Utc::now());
    let payload = CheckpointPayload {
        schema: CHECKPOINT_SCHEMA.to_owned(),
        checkpoint_id: format!("ckpt_{}", ulid::Ulid::new()),
        created_at,
        key_id: keys::key_id(&key.verifying_key()),
        sequence: heads.sequence,
        decision_count: heads.decision_count,
        session_count: heads.sessions.len() as u64,
        sessions: heads.sessions.iter().map(SignedHead::of).collect(),
        previous: previous.map(|row| PreviousCheckpoint {
            checkpoint_id: row.checkpoint_id.clone(),
            payload_sha256: payload_sha256(row),
        }),
    };
    let text = serde_json::to_string(&payload).map_err(|e| EvidenceError::Invalid(e.to_string()))?;
    let row = CheckpointRow {
        checkpoint_id: payload.checkpoint_id.clone(),
        created_at: payload.created_at.clone(),
        key_id: payload.key_id.clone(),
        session_count: payload.session_count,
        decision_count: payload.decision_count,
        signature: keys::sign(key, text.as_bytes()),
        payload: text,
    };
    Ok((row, payload))
}

/// Signs every session's head in `store` and stores the checkpoint.
pub fn checkpoint(store: &dyn ActivityStore, key: &SigningKey) -> Result<CheckpointPayload, EvidenceError> {
    // The previous checkpoint first: the heads read after it are at least as far along.
    let previous = store.latest_checkpoint()?;
    let heads = store.log_heads()?;
    let (row, payload) = sign_heads(&heads, key, previous.as_ref())?;
    store.save_checkpoint(&row)?;
    Ok(payload)
}

/// Why a checkpoint row cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointProblem {
    /// The payload is not a checkpoint payload.
    Malformed(String),
    /// Signed with another key than the one given.
    OtherKey {
        /// The key id the checkpoint names.
        signed_by: String,
        /// The id of the key given.
        given: String,
    },
    /// The signature does not verify over the payload.
    BadSignature,
    /// The row's columns disagree with its signed payload.
    RowMismatch(String),
}

impl std::fmt::Display for CheckpointProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckpointProblem::Malformed(m) => write!(f, "the payload is not a checkpoint: {m}"),
            CheckpointProblem::OtherKey { signed_by, given } => {
                write!(f, "signed by key `{signed_by}`, not by the key given (`{given}`)")
            }
            CheckpointProblem::BadSignature => f.write_str("the signature does not match the payload"),
            CheckpointProblem::RowMismatch(m) => write!(f, "the row disagrees with its signed payload: {m}"),
        }
    }
}

/// Reads a row's payload without checking its signature.
pub fn parse_payload(row: &CheckpointRow) -> Result<CheckpointPayload, CheckpointProblem> {
    let payload: CheckpointPayload =
        serde_json::from_str(&row.payload).map_err(|e| CheckpointProblem::Malformed(e.to_string()))?;
    if payload.schema != CHECKPOINT_SCHEMA && payload.schema != CHECKPOINT_SCHEMA_V1 {
        return Err(CheckpointProblem::Malformed(format!(
            "unknown schema `{}`",
            payload.schema
        )));
    }
    let mut mismatched = Vec::new();
    if payload.checkpoint_id != row.checkpoint_id {
        mismatched.push("checkpoint_id");
    }
    if payload.created_at != row.created_at {
        mismatched.push("created_at");
    }
    if payload.key_id != row.key_id {
        mismatched.push("key_id");
    }
    if payload.session_count != row.session_count || payload.session_count != payload.sessions.len() as u64 {
        mismatched.push("session_count");
    }
    if payload.decision_count != row.decision_count {
        mismatched.push("decision_count");
    }
    if !mismatched.is_empty() {
        return Err(CheckpointProblem::RowMismatch(mismatched.join(", ")));
    }
    Ok(payload)
}

/// Checks a row's signature with `key` and reads its payload.
pub fn verify_row(row: &CheckpointRow, key: &VerifyingKey) -> Result<CheckpointPayload, CheckpointProblem> {
    let given = keys::key_id(key);
    if row.key_id != given {
        return Err(CheckpointProblem::OtherKey {
            signed_by: row.key_id.clone(),
            given,
        });
    }
    if !keys::verify(key, row.payload.as_bytes(), &row.signature) {
        return Err(CheckpointProblem::BadSignature);
    }
    parse_payload(row)
}

/// Checkpoints made every `interval` on a thread of their own (`cavra serve --checkpoint-key`),
/// only when the log moved since the last one, and once more when stopped.
pub struct Periodic {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What a periodic checkpoint did: signed one, or found nothing new, or failed.
pub type PeriodicOutcome = Result<Option<CheckpointPayload>, EvidenceError>;

impl Periodic {
    /// Starts checkpointing `store` with `key` every `interval`; `report` hears each outcome.
    pub fn start(
        store: std::sync::Arc<dyn ActivityStore>,
        key: SigningKey,
        interval: std::time::Duration,
        report: impl Fn(PeriodicOutcome) + Send + 'static,
    ) -> Result<Periodic, EvidenceError> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("cavra-checkpoints".into())
            .spawn(move || {
                let mut last: Option<(u64, u64, usize)> = None;
                let once = |last: &mut Option<(u64, u64, usize)>| {
                    let outcome = (|| {
                        let previous = store.latest_checkpoint()?;
                        let heads = store.log_heads()?;
                        let mark = (heads.sequence, heads.decision_count, heads.sessions.len());
                        if *last == Some(mark) {
                            return Ok(None);
                        }
                        let (row, payload) = sign_heads(&heads, &key, previous.as_ref())?;
                        store.save_checkpoint(&row)?;
                        *last = Some(mark);
                        Ok(Some(payload))
                    })();
                    report(outcome);
                };
                // Seed with the latest stored checkpoint, so a restart does not sign an unchanged log again.
                if let Ok(Some(row)) = store.latest_checkpoint()
                    && let Ok(p) = parse_payload(&row)
                {
                    last = Some((p.sequence, p.decision_count, p.sessions.len()));
                }
                loop {
                    match stopped.recv_timeout(interval) {
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => once(&mut last),
                        _ => {
                            once(&mut last);
                            return;
                        }
                    }
                }
            })
            .map_err(EvidenceError::io("cannot start the checkpoint thread"))?;
        Ok(Periodic {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Makes a last checkpoint (if the log moved) and stops.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        self.stop();
    }
}
