//! The one place where a decision joins its session: sequence, chain link, seal, and the
//! summary's incremental update. Every backend calls [`link`] (or [`link_presealed`], the same
//! step with the hashing begun ahead) inside its own atomic step, so all three keep summaries
//! and chains the same way.

use cavra_core::{DecisionRecord, Outcome, integrity};

use crate::error::StoreError;
use crate::model::{SessionSummary, SessionUpdate};
use crate::seal::Presealed;

/// Refuses identifiers no backend can store alike: a NUL character (PostgreSQL text cannot hold
/// one). Checked by every backend before an append, so all three answer the same.
pub fn check(record: &DecisionRecord) -> Result<(), StoreError> {
    for (field, value) in [
        ("decision_id", &record.decision_id),
        ("session_id", &record.session_id),
        ("agent_id", &record.agent_id),
        ("actor", &record.actor),
        ("repository", &record.repository),
        ("policy_pack", &record.policy_pack),
    ] {
        check_text(field, value)?;
    }
    Ok(())
}

/// Refuses a NUL character in an identifier.
pub fn check_text(field: &str, value: &str) -> Result<(), StoreError> {
    if value.contains('\0') {
        return Err(StoreError::Invalid(format!(
            "`{field}` contains a NUL character, which cannot be stored"
        )));
    }
    Ok(())
}

/// Gives `record` its `sequence`, links it after the session's head and seals it, then folds it
/// into `summary` — O(1), never a rescan. Returns the sealed record.
pub fn link(summary: &mut SessionSummary, mut record: DecisionRecord, sequence: u64) -> DecisionRecord {
    record.sequence = Some(sequence);
    integrity::seal(&mut record, summary.head_hash.clone());
    apply(summary, &record);
    record
}

/// [`link`] for a record whose hashing began on the caller's thread: the same sequence, link,
/// seal and summary update; with the text to store (its sealed form).
pub fn link_presealed(summary: &mut SessionSummary, record: Presealed, sequence: u64) -> (DecisionRecord, String) {
    let (record, stored) = record.seal_stored(summary.head_hash.clone(), sequence);
    apply(summary, &record);
    (record, stored)
}

/// Folds an already sealed record into its session's summary. `started_at` is kept: it is when
/// the session was first seen, by its first decision or by an earlier `put_session`.
pub fn apply(summary: &mut SessionSummary, record: &DecisionRecord) {
    summary.agent_id = record.agent_id.clone();
    summary.actor = record.actor.clone();
    summary.repository = record.repository.clone();
    summary.policy_pack = record.policy_pack.clone();
    summary.updated_at = record.timestamp.clone();
    summary.decision_count += 1;
    *summary.outcome_counts.entry(record.decision).or_insert(0) += 1;
    match record.decision {
        Outcome::Block => summary.blocked_count += 1,
        Outcome::RequireApproval => summary.approval_required_count += 1,
        _ => {}
    }
    summary.max_severity = Some(summary.max_severity.map_or(record.severity, |s| s.max(record.severity)));
    summary.last_decision_id = Some(record.decision_id.clone());
    summary.head_hash = record.record_hash.clone();
    summary.evidence_refs.extend(record.evidence_refs.iter().cloned());
}

/// A session created by a client (`put_session`) at `at`, with the fields it gave.
pub fn new_session(update: &SessionUpdate, at: &str) -> SessionSummary {
    let mut s = SessionSummary::new(&update.session_id, at);
    if let Some(v) = &update.agent_id {
        s.agent_id = v.clone();
    }
    if let Some(v) = &update.actor {
        s.actor = v.clone();
    }
    if let Some(v) = &update.repository {
        s.repository = v.clone();
    }
    if let Some(v) = &update.policy_pack {
        s.policy_pack = v.clone();
    }
    s
}

/// Applies a client's change to a session at `at`: its state, never its counts.
pub fn update_session(summary: &mut SessionSummary, update: &SessionUpdate, at: &str) {
    if let Some(state) = update.state {
        summary.state = state;
    }
    summary.updated_at = at.to_owned();
}
