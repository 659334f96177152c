//! Verification (SPEC §7): every record's hash recomputed, every session's chain walked, the
//! global `sequence` checked for gaps and repeats, every summary compared with what its records
//! imply, the SQL columns compared with the record they file, and the latest signed checkpoint
//! checked against the chains — each problem reported by record id and session, classified as
//! altered, removed, inserted or reordered.
//!
//! The scan streams: one thread reads the store in sequence order, worker threads hash batches
//! (the fast path of [`crate::canonical`], the typed path when it declines or disagrees), and one
//! walker thread takes the batches back in order and walks the chains with
//! [`cavra_core::integrity::ChainWalk`]. Memory grows with the number of sessions, not records
//! (plus an 8-byte fingerprint per record, to tell an inserted record from a removed one).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use cavra_core::integrity::{ChainFault, ChainWalk, Link};
use cavra_core::{DecisionRecord, Outcome, Severity};
use cavra_store::{ActivityStore, CheckpointRow, SessionSummary, StoreError, StoredDecision};
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::canonical;
use crate::checkpoint::{self, CheckpointPayload, SignedHead};
use crate::error::EvidenceError;
use crate::keys;

/// Records handed to a worker at once.
const BATCH: usize = 2048;

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything was checked and nothing is wrong.
    Intact,
    /// Something was altered, removed, inserted or reordered (see the findings).
    Tampered,
    /// Nothing wrong was found, but something that had to be checked could not be (a signed
    /// checkpoint without a public key, or a public key and no checkpoint).
    Unverified,
}

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A record's content (or the columns filed beside it) changed after it was sealed.
    Altered,
    /// A record, a run of records or a whole session is gone.
    Removed,
    /// A record was added that the chain does not account for.
    Inserted,
    /// A record sits at another place than the one it was sealed at.
    Reordered,
    /// A session summary disagrees with the records it summarises.
    Summary,
    /// A stored record cannot be read as a decision record.
    Unreadable,
    /// A checkpoint is forged, signed by another key, or contradicted.
    Checkpoint,
    /// A bundle's manifest is forged, or its files are missing, extra, changed or outside it.
    Bundle,
}

/// One problem, naming the record (when there is one) and its session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of problem.
    pub kind: FindingKind,
    /// The session concerned.
    pub session_id: Option<String>,
    /// The record concerned.
    pub decision_id: Option<String>,
    /// Its sequence (or the first missing one).
    pub sequence: Option<u64>,
    /// What is wrong, in one sentence.
    pub message: String,
}

/// What happened to the checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointState {
    /// Its signature verified with the key given and the chains were checked against it.
    Verified,
    /// There is one, but no public key was given: its signature was NOT checked. Its heads were
    /// compared with the chains all the same, which proves nothing against a forger.
    SignatureNotChecked,
    /// None is stored.
    Absent,
    /// Checking was turned off (`--no-checkpoint`).
    Skipped,
    /// It failed: forged, signed by another key, or malformed (see the findings).
    Invalid,
}

/// The checkpoint verification used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointReport {
    /// What happened to it.
    pub state: CheckpointState,
    /// Its id.
    pub checkpoint_id: Option<String>,
    /// When it was made.
    pub created_at: Option<String>,
    /// The key it names.
    pub key_id: Option<String>,
    /// The high-water sequence it signed.
    pub sequence: Option<u64>,
    /// Sessions it covers.
    pub sessions: Option<u64>,
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The verdict.
    pub status: Status,
    /// True only for [`Status::Intact`].
    pub intact: bool,
    /// What was verified (`sqlite:/path`, `bundle:/dir`, ...).
    pub source: String,
    /// Records verified.
    pub records: u64,
    /// Sessions seen (in records or summaries).
    pub sessions: u64,
    /// The highest sequence seen.
    pub high_water_sequence: u64,
    /// The key given, by id.
    pub public_key_id: Option<String>,
    /// The checkpoint.
    pub checkpoint: CheckpointReport,
    /// What was checked.
    pub checked: Vec<String>,
    /// What was not, and why.
    pub not_checked: Vec<String>,
    /// Every problem, in log order.
    pub findings: Vec<Finding>,
}

/// How to verify.
#[derive(Default)]
pub struct Options<'a> {
    /// The public key checkpoints (and bundle manifests) must be signed with.
    pub public_key: Option<VerifyingKey>,
    /// Leave checkpoints out entirely (said in the report).
    pub skip_checkpoint: bool,
    /// Hashing threads; 0 means one per core.
    pub threads: usize,
    /// Called with the number of records verified so far, now and then.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
}

// ---------------------------------------------------------------------------------------------
// One record, checked on a worker thread.

/// The fields of a record the walk needs, owned so they cross threads.
#[derive(Debug, Default)]
struct Fields {
    decision_id: String,
    session_id: String,
    sequence: Option<u64>,
    prev_hash: Option<String>,
    record_hash: Option<String>,
    decision: Option<Outcome>,
    severity: Option<Severity>,
}

/// A record after hashing.
struct Checked {
    /// Where the store files it.
    filed: u64,
    fields: Fields,
    /// The hash its content gives, when it is not the one it carries (`None`: it matches).
    mismatch: Option<String>,
    /// Why it cannot be read as a record.
    unreadable: Option<String>,
    /// The columns that disagree with the record.
    columns: Vec<&'static str>,
}

/// Borrowed views of the fields a column check compares.
struct View<'a> {
    decision_id: Option<&'a str>,
    session_id: Option<&'a str>,
    agent_id: Option<&'a str>,
    repository: Option<&'a str>,
    policy_pack: Option<&'a str>,
    decision: Option<&'a str>,
    severity: Option<&'a str>,
    action_type: Option<&'a str>,
    timestamp: Option<&'a str>,
    sequence: Option<u64>,
    prev_hash: Option<&'a str>,
    record_hash: Option<&'a str>,
}

impl<'a> View<'a> {
    /// The fields of a parsed record; `sorted` when its keys were sorted (binary search).
    fn of_node(node: &'a canonical::Node<'a>, sorted: bool) -> View<'a> {
        let get = |k: &str| if sorted { node.get_sorted(k) } else { node.get(k) };
        let s = |k: &str| get(k).and_then(canonical::Node::as_str);
        View {
            decision_id: s("decision_id"),
            session_id: s("session_id"),
            agent_id: s("agent_id"),
            repository: s("repository"),
            policy_pack: s("policy_pack"),
            decision: s("decision"),
            severity: s("severity"),
            action_type: s("action_type"),
            timestamp: s("timestamp"),
            sequence: get("sequence").and_then(canonical::Node::as_u64),
            prev_hash: s("prev_hash"),
            record_hash: s("record_hash"),
        }
    }

    fn of_record(r: &'a DecisionRecord) -> View<'a> {
        View {
            decision_id: Some(&r.decision_id),
            session_id: Some(&r.session_id),
            agent_id: Some(&r.agent_id),
            repository: Some(&r.repository),
            policy_pack: Some(&r.policy_pack),
            decision: Some(r.decision.as_str()),
            severity: Some(r.severity.as_str()),
            action_type: Some(r.action_type.as_str()),
            timestamp: Some(&r.timestamp),
            sequence: r.sequence,
            prev_hash: r.prev_hash.as_deref(),
            record_hash: r.record_hash.as_deref(),
        }
    }

    fn fields(&self) -> Fields {
        Fields {
            decision_id: self.decision_id.unwrap_or_default().to_owned(),
            session_id: self.session_id.unwrap_or_default().to_owned(),
            sequence: self.sequence,
            prev_hash: self.prev_hash.map(str::to_owned),
            record_hash: self.record_hash.map(str::to_owned),
            decision: self.decision.and_then(|d| d.parse().ok()),
            severity: self.severity.and_then(|s| s.parse().ok()),
        }
    }

    /// The columns filed beside the record that disagree with it.
    fn column_mismatches(&self, stored: &StoredDecision) -> Vec<&'static str> {
        let Some(c) = &stored.columns else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if self.sequence != Some(stored.sequence) {
            out.push("sequence");
        }
        for (name, column, field) in [
            ("decision_id", &c.decision_id, self.decision_id),
            ("session_id", &c.session_id, self.session_id),
            ("agent_id", &c.agent_id, self.agent_id),
            ("repository", &c.repository, self.repository),
            ("policy_pack", &c.policy_pack, self.policy_pack),
            ("decision", &c.decision, self.decision),
            ("severity", &c.severity, self.severity),
            ("action_type", &c.action_type, self.action_type),
        ] {
            if Some(column.as_str()) != field {
                out.push(name);
            }
        }
        let ts = self.timestamp.and_then(|t| cavra_store::model::parse_timestamp(t).ok());
        if ts != Some(c.ts_us) {
            out.push("ts_us");
        }
        out
    }
}

/// Hashes one stored record: the fast path first, the typed path when it declines or disagrees.
fn check_one(stored: &StoredDecision, buf: &mut Vec<u8>) -> Checked {
    let node = canonical::parse(&stored.record);
    if let Some(mut node) = node
        && canonical::canonical_bytes(&mut node, buf).is_some()
    {
        {
            let computed = cavra_core::integrity::hex(&Sha256::digest(&buf[..]));
            let view = View::of_node(&node, true);
            if view.record_hash == Some(computed.as_str()) {
                return Checked {
                    filed: stored.sequence,
                    fields: view.fields(),
                    mismatch: None,
                    unreadable: None,
                    columns: view.column_mismatches(stored),
                };
            }
        }
    }
    match serde_json::from_str::<DecisionRecord>(&stored.record) {
        Ok(record) => {
            let computed = cavra_core::integrity::record_hash(&record);
            let view = View::of_record(&record);
            let mismatch = (view.record_hash != Some(computed.as_str())).then_some(computed);
            Checked {
                filed: stored.sequence,
                fields: view.fields(),
                mismatch,
                unreadable: None,
                columns: view.column_mismatches(stored),
            }
        }
        Err(e) => {
            // Name it as well as the text (or the columns) allow.
            let node = canonical::parse(&stored.record);
            let mut fields = node
                .as_ref()
                .map(|n| View::of_node(n, false).fields())
                .unwrap_or_default();
            if let Some(c) = &stored.columns {
                if fields.decision_id.is_empty() {
                    fields.decision_id = c.decision_id.clone();
                }
                if fields.session_id.is_empty() {
                    fields.session_id = c.session_id.clone();
                }
            }
            Checked {
                filed: stored.sequence,
                fields,
                mismatch: Some("unreadable".to_owned()),
                unreadable: Some(e.to_string()),
                columns: Vec::new(),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The walk, in sequence order.

/// What the walk keeps per session.
struct Track {
    walk: ChainWalk,
    /// Records, head and last id as of the summaries' snapshot.
    snap_records: u64,
    snap_head: Option<String>,
    snap_last_id: Option<String>,
    outcomes: BTreeMap<Outcome, u64>,
    max_severity: Option<Severity>,
    /// A fingerprint of each record hash seen, to tell a fork (inserted) from a gap (removed).
    seen: HashSet<u64, BuildHasherDefault<Fingerprints>>,
}

/// What a checkpoint says about one session, and whether the walk got there.
struct Target {
    head: SignedHead,
    reached: bool,
}

/// Whether the walk covers a whole store or one session (a bundle).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Store,
    Session,
}

struct Walker {
    scope: Scope,
    /// Records with a sequence above this arrived after the summaries were read.
    snapshot: u64,
    expected_next: u64,
    high_water: u64,
    records: u64,
    tracks: HashMap<String, Track>,
    targets: HashMap<String, Target>,
    checkpoint_id: String,
    findings: Vec<Finding>,
}

/// Hashes fingerprints, which are already uniform bits, by taking them as they are.
#[derive(Default)]
struct Fingerprints(u64);

impl Hasher for Fingerprints {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The first 64 bits of a hex hash (a hash not in hex is folded byte by byte instead).
fn fingerprint(hash: &str) -> u64 {
    hash.get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| {
            hash.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            })
        })
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

impl Walker {
    fn new(scope: Scope, snapshot: u64) -> Walker {
        Walker {
            scope,
            snapshot,
            expected_next: 1,
            high_water: 0,
            records: 0,
            tracks: HashMap::new(),
            targets: HashMap::new(),
            checkpoint_id: String::new(),
            findings: Vec::new(),
        }
    }

    fn find(&mut self, kind: FindingKind, f: &Fields, message: String) {
        self.findings.push(Finding {
            kind,
            session_id: Some(f.session_id.clone()),
            decision_id: Some(f.decision_id.clone()),
            sequence: f.sequence,
            message,
        });
    }

    fn push(&mut self, c: Checked) {
        self.records += 1;
        self.high_water = self.high_water.max(c.filed);
        let f = &c.fields;
        if self.scope == Scope::Store {
            if c.filed > self.expected_next {
                let (from, to) = (self.expected_next, c.filed - 1);
                let range = if from == to {
                    format!("sequence {from} is")
                } else {
                    format!("sequences {from}..={to} are")
                };
                self.findings.push(Finding {
                    kind: FindingKind::Removed,
                    session_id: None,
                    decision_id: None,
                    sequence: Some(from),
                    message: format!("{range} missing from the log (before `{}`)", f.decision_id),
                });
            } else if c.filed < self.expected_next {
                self.find(
                    FindingKind::Inserted,
                    f,
                    format!("sequence {} appears again in the log", c.filed),
                );
            }
            self.expected_next = self.expected_next.max(c.filed.saturating_add(1));
        }
        if let Some(why) = &c.unreadable {
            self.find(
                FindingKind::Unreadable,
                f,
                format!("the stored record cannot be read: {why}"),
            );
        }
        if !c.columns.is_empty() {
            if c.columns.contains(&"sequence") {
                self.find(
                    FindingKind::Reordered,
                    f,
                    format!(
                        "the record is filed at sequence {} but was sealed at sequence {}",
                        c.filed,
                        f.sequence.map_or("(none)".to_owned(), |s| s.to_string())
                    ),
                );
            }
            let others: Vec<&str> = c.columns.iter().copied().filter(|n| *n != "sequence").collect();
            if !others.is_empty() {
                self.find(
                    FindingKind::Altered,
                    f,
                    format!(
                        "the indexed column(s) {} disagree with the sealed record, so lists and filters show it wrongly",
                        others.join(", ")
                    ),
                );
            }
        }
        if !self.tracks.contains_key(&f.session_id) {
            self.tracks.insert(
                f.session_id.clone(),
                Track {
                    walk: ChainWalk::new(&f.session_id),
                    snap_records: 0,
                    snap_head: None,
                    snap_last_id: None,
                    outcomes: BTreeMap::new(),
                    max_severity: None,
                    seen: HashSet::default(),
                },
            );
        }
        let Some(track) = self.tracks.get_mut(&f.session_id) else {
            return;
        };
        let computed = c
            .mismatch
            .clone()
            .unwrap_or_else(|| f.record_hash.clone().unwrap_or_default());
        let problems: Vec<ChainFault> = track
            .walk
            .push(&Link {
                decision_id: &f.decision_id,
                session_id: &f.session_id,
                sequence: f.sequence,
                prev_hash: f.prev_hash.as_deref(),
                record_hash: f.record_hash.as_deref(),
                computed_hash: &computed,
            })
            .iter()
            .map(|p| p.fault.clone())
            .collect();
        let first = track.walk.records() == 1;
        let mut found = Vec::new();
        for fault in problems {
            match fault {
                ChainFault::HashMismatch { .. } if c.unreadable.is_none() => found.push((
                    FindingKind::Altered,
                    "the record's content no longer hashes to its record_hash: a field was changed".to_owned(),
                )),
                ChainFault::HashMismatch { .. } => {}
                ChainFault::OutOfOrder { previous } => found.push((
                    FindingKind::Reordered,
                    format!(
                        "the record's sequence does not follow the one before it in the session ({})",
                        previous.map_or("none".to_owned(), |p| p.to_string())
                    ),
                )),
                ChainFault::BrokenLink { found: claimed, .. } => {
                    let (kind, message) = match claimed {
                        None if !first => (
                            FindingKind::Inserted,
                            "the record claims to start the session, but records come before it".to_owned(),
                        ),
                        None => (FindingKind::Removed, "the record before it is missing".to_owned()),
                        Some(h) if track.seen.contains(&fingerprint(&h)) => (
                            FindingKind::Inserted,
                            format!(
                                "the record links to an earlier record ({}…) instead of the one before it: it was inserted",
                                short(&h)
                            ),
                        ),
                        Some(h) if first => (
                            FindingKind::Removed,
                            format!(
                                "the session's records before this one are missing (it links to {}…)",
                                short(&h)
                            ),
                        ),
                        Some(h) => (
                            FindingKind::Removed,
                            format!(
                                "the record before it in the session is missing or moved (it links to {}…)",
                                short(&h)
                            ),
                        ),
                    };
                    found.push((kind, message));
                }
                ChainFault::WrongSession { found: other } => found.push((
                    FindingKind::Reordered,
                    format!("the record belongs to session `{other}`"),
                )),
                ChainFault::HeadMismatch { .. } | ChainFault::CountMismatch { .. } => {}
            }
        }
        if let Some(h) = &f.record_hash {
            track.seen.insert(fingerprint(h));
        }
        if c.filed <= self.snapshot || self.scope == Scope::Session {
            track.snap_records += 1;
            track.snap_head = f.record_hash.clone();
            track.snap_last_id = Some(f.decision_id.clone());
            if let Some(d) = f.decision {
                *track.outcomes.entry(d).or_insert(0) += 1;
            }
            if let Some(s) = f.severity {
                track.max_severity = Some(track.max_severity.map_or(s, |m| m.max(s)));
            }
        }
        let position = track.walk.records();
        for (kind, message) in found {
            self.find(kind, f, message);
        }
        if let Some(target) = self.targets.get_mut(&f.session_id)
            && target.head.decision_count == position
        {
            target.reached = true;
            if f.record_hash != target.head.head_hash {
                let message = format!(
                    "checkpoint `{}` signed `{}` as decision {} of the session; the chain holds `{}` there",
                    self.checkpoint_id,
                    target.head.head_decision_id.as_deref().unwrap_or("?"),
                    position,
                    f.decision_id
                );
                self.find(FindingKind::Altered, f, message);
            }
        }
    }

    /// Compares each summary with what its records gave, and the checkpoint's heads with the
    /// chains.
    fn finish(&mut self, summaries: &[SessionSummary], checkpoint: Option<&CheckpointPayload>) -> u64 {
        let mut sessions: HashSet<&str> = HashSet::new();
        let mut findings = Vec::new();
        let summarised: HashSet<&str> = summaries.iter().map(|s| s.session_id.as_str()).collect();
        for s in summaries {
            sessions.insert(&s.session_id);
            let track = self.tracks.get(&s.session_id);
            let (records, head, last_id) = track.map_or((0, None, None), |t| {
                (t.snap_records, t.snap_head.as_deref(), t.snap_last_id.as_deref())
            });
            let at = |kind, decision_id: Option<&str>, message: String| Finding {
                kind,
                session_id: Some(s.session_id.clone()),
                decision_id: decision_id.map(str::to_owned),
                sequence: None,
                message,
            };
            if s.decision_count > records {
                findings.push(at(
                    FindingKind::Removed,
                    s.last_decision_id.as_deref(),
                    format!(
                        "the summary counts {} decisions ending at `{}`, the chain holds {records}: records were removed",
                        s.decision_count,
                        s.last_decision_id.as_deref().unwrap_or("?")
                    ),
                ));
                continue;
            }
            if s.decision_count < records {
                findings.push(at(
                    FindingKind::Inserted,
                    last_id,
                    format!(
                        "the chain holds {records} decisions, the summary counts {}: records were inserted",
                        s.decision_count
                    ),
                ));
                continue;
            }
            if s.head_hash.as_deref() != head {
                findings.push(at(
                    FindingKind::Summary,
                    last_id,
                    format!(
                        "the summary's head_hash {}… is not the chain's last record_hash {}…",
                        short(s.head_hash.as_deref().unwrap_or("none")),
                        short(head.unwrap_or("none"))
                    ),
                ));
            }
            let Some(t) = track else { continue };
            let mut wrong = Vec::new();
            if s.last_decision_id.as_deref() != last_id {
                wrong.push("last_decision_id");
            }
            let count = |o: Outcome| t.outcomes.get(&o).copied().unwrap_or(0);
            if s.blocked_count != count(Outcome::Block) {
                wrong.push("blocked_count");
            }
            if s.approval_required_count != count(Outcome::RequireApproval) {
                wrong.push("approval_required_count");
            }
            if Outcome::ALL
                .iter()
                .any(|o| s.outcome_counts.get(o).copied().unwrap_or(0) != count(*o))
            {
                wrong.push("outcome_counts");
            }
            if s.max_severity != t.max_severity {
                wrong.push("max_severity");
            }
            if !wrong.is_empty() {
                findings.push(at(
                    FindingKind::Summary,
                    None,
                    format!("the summary's {} disagree with the session's records", wrong.join(", ")),
                ));
            }
        }
        if self.scope == Scope::Store {
            let mut orphans: Vec<(&String, &Track)> = self
                .tracks
                .iter()
                .filter(|(id, _)| !summarised.contains(id.as_str()))
                .collect();
            orphans.sort_by(|a, b| a.0.cmp(b.0));
            for (id, t) in orphans {
                findings.push(Finding {
                    kind: FindingKind::Summary,
                    session_id: Some(id.clone()),
                    decision_id: t.snap_last_id.clone(),
                    sequence: None,
                    message: format!("the session has {} decisions but no summary", t.walk.records()),
                });
            }
        }
        for id in self.tracks.keys() {
            sessions.insert(id);
        }
        if let Some(payload) = checkpoint {
            let mut targets: Vec<&Target> = self.targets.values().collect();
            targets.sort_by(|a, b| a.head.session_id.cmp(&b.head.session_id));
            for target in targets {
                let head = &target.head;
                if target.reached || head.decision_count == 0 && summarised.contains(head.session_id.as_str()) {
                    continue;
                }
                let held = self.tracks.get(&head.session_id).map_or(0, |t| t.walk.records());
                let message = if held == 0 && !summarised.contains(head.session_id.as_str()) {
                    format!(
                        "the session is gone: checkpoint `{}` signed it with {} decisions ending at `{}`",
                        payload.checkpoint_id,
                        head.decision_count,
                        head.head_decision_id.as_deref().unwrap_or("-")
                    )
                } else {
                    format!(
                        "the chain was cut: checkpoint `{}` signed {} decisions ending at `{}`, the chain holds {held}",
                        payload.checkpoint_id,
                        head.decision_count,
                        head.head_decision_id.as_deref().unwrap_or("-")
                    )
                };
                findings.push(Finding {
                    kind: FindingKind::Removed,
                    session_id: Some(head.session_id.clone()),
                    decision_id: head.head_decision_id.clone(),
                    sequence: None,
                    message,
                });
            }
            if self.scope == Scope::Store && self.high_water < payload.sequence {
                findings.push(Finding {
                    kind: FindingKind::Removed,
                    session_id: None,
                    decision_id: None,
                    sequence: Some(self.high_water + 1),
                    message: format!(
                        "the log ends at sequence {}, but checkpoint `{}` signed it up to {}: the newest records were removed",
                        self.high_water, payload.checkpoint_id, payload.sequence
                    ),
                });
            }
        }
        self.findings.extend(findings);
        sessions.len() as u64
    }
}

// ---------------------------------------------------------------------------------------------
// The pipeline.

/// Streams `scan`'s records through hashing workers into `walker`, in order.
fn run_pipeline(
    scan: impl FnOnce(&mut dyn FnMut(StoredDecision) -> Result<(), StoreError>) -> Result<(), StoreError>,
    walker: &mut Walker,
    threads: usize,
    progress: Option<&(dyn Fn(u64) + Sync)>,
) -> Result<(), EvidenceError> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        threads
    };
    let (work_tx, work_rx) = mpsc::sync_channel::<(usize, Vec<StoredDecision>)>(threads * 2);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = mpsc::sync_channel::<(usize, Vec<Checked>)>(threads * 2);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let rx = Arc::clone(&work_rx);
            let tx = done_tx.clone();
            scope.spawn(move || {
                let mut buf = Vec::with_capacity(4096);
                loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((index, batch)) = job else { return };
                    let checked = batch.iter().map(|s| check_one(s, &mut buf)).collect();
                    if tx.send((index, checked)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let walking = scope.spawn(move || {
            let mut pending: BTreeMap<usize, Vec<Checked>> = BTreeMap::new();
            let mut next = 0usize;
            for (index, batch) in done_rx {
                pending.insert(index, batch);
                while let Some(batch) = pending.remove(&next) {
                    for c in batch {
                        walker.push(c);
                    }
                    next += 1;
                    if let Some(p) = progress {
                        p(walker.records);
                    }
                }
            }
        });
        let mut batch = Vec::with_capacity(BATCH);
        let mut index = 0usize;
        let stopped = || StoreError::Unavailable("verification stopped".into());
        let scanned = scan(&mut |stored| {
            batch.push(stored);
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                work_tx.send((index, full)).map_err(|_| stopped())?;
                index += 1;
            }
            Ok(())
        });
        if scanned.is_ok() && !batch.is_empty() {
            let _ = work_tx.send((index, std::mem::take(&mut batch)));
        }
        drop(work_tx);
        let _ = walking.join();
        scanned.map_err(EvidenceError::from)
    })
}

// ---------------------------------------------------------------------------------------------
// Entry points.

/// The checkpoint to check against, and how it went.
struct CheckpointUse {
    payload: Option<CheckpointPayload>,
    report: CheckpointReport,
    findings: Vec<Finding>,
    not_checked: Vec<String>,
    unverified: bool,
}

/// Decides what a stored checkpoint row is worth given the options.
fn use_checkpoint(row: Option<&CheckpointRow>, options: &Options<'_>, scope_session: Option<&str>) -> CheckpointUse {
    let mut out = CheckpointUse {
        payload: None,
        report: CheckpointReport {
            state: CheckpointState::Absent,
            checkpoint_id: row.map(|r| r.checkpoint_id.clone()),
            created_at: row.map(|r| r.created_at.clone()),
            key_id: row.map(|r| r.key_id.clone()),
            sequence: None,
            sessions: row.map(|r| r.session_count),
        },
        findings: Vec::new(),
        not_checked: Vec::new(),
        unverified: false,
    };
    if options.skip_checkpoint {
        out.report.state = CheckpointState::Skipped;
        out.not_checked.push(
            "checkpoints (--no-checkpoint): a removed whole session or truncated newest records would go unnoticed"
                .into(),
        );
        return out;
    }
    let Some(row) = row else {
        if let Some(key) = &options.public_key {
            out.unverified = true;
            out.not_checked.push(format!(
                "no checkpoint is stored, so nothing signed by `{}` could be checked (were checkpoints deleted, or never made?)",
                keys::key_id(key)
            ));
        } else {
            out.not_checked.push(
                "no checkpoint is stored: a removed whole session or truncated newest records cannot be detected"
                    .into(),
            );
        }
        return out;
    };
    let checkpoint_finding = |message: String| Finding {
        kind: FindingKind::Checkpoint,
        session_id: scope_session.map(str::to_owned),
        decision_id: None,
        sequence: None,
        message,
    };
    match &options.public_key {
        Some(key) => match checkpoint::verify_row(row, key) {
            Ok(payload) => {
                out.report.state = CheckpointState::Verified;
                out.report.sequence = Some(payload.sequence);
                out.payload = Some(payload);
            }
            Err(problem) => {
                out.report.state = CheckpointState::Invalid;
                out.findings.push(checkpoint_finding(format!(
                    "checkpoint `{}`: {problem}",
                    row.checkpoint_id
                )));
            }
        },
        None => {
            out.unverified = true;
            out.report.state = CheckpointState::SignatureNotChecked;
            out.not_checked.push(format!(
                "the signature of checkpoint `{}` (key `{}`): no public key was given (--public-key); its heads were \
                 compared with the chains, which proves nothing against someone able to forge it",
                row.checkpoint_id, row.key_id
            ));
            match checkpoint::parse_payload(row) {
                Ok(payload) => {
                    out.report.sequence = Some(payload.sequence);
                    out.payload = Some(payload);
                }
                Err(problem) => out.findings.push(checkpoint_finding(format!(
                    "checkpoint `{}`: {problem}",
                    row.checkpoint_id
                ))),
            }
        }
    }
    out
}

fn report(
    source: String,
    walker: Walker,
    sessions: u64,
    checkpoint: CheckpointUse,
    mut checked: Vec<String>,
    options: &Options<'_>,
) -> Report {
    let mut findings = checkpoint.findings;
    findings.extend(walker.findings);
    if checkpoint.report.state == CheckpointState::Verified {
        checked.push("every session's head and count against the signed checkpoint".into());
    }
    let status = if !findings.is_empty() {
        Status::Tampered
    } else if checkpoint.unverified {
        Status::Unverified
    } else {
        Status::Intact
    };
    Report {
        status,
        intact: status == Status::Intact,
        source,
        records: walker.records,
        sessions,
        high_water_sequence: walker.high_water,
        public_key_id: options.public_key.as_ref().map(keys::key_id),
        checkpoint: checkpoint.report,
        checked,
        not_checked: checkpoint.not_checked,
        findings,
    }
}

/// Verifies a whole store.
pub fn verify_store(store: &dyn ActivityStore, source: String, options: &Options<'_>) -> Result<Report, EvidenceError> {
    let row = if options.skip_checkpoint {
        None
    } else {
        store.latest_checkpoint()?
    };
    // The summaries and the high-water mark in one snapshot; records appended while the scan runs
    // are verified for their hashes and links but not counted against these summaries.
    let heads = store.log_heads()?;
    let mut walker = Walker::new(Scope::Store, heads.sequence);
    let checkpoint = use_checkpoint(row.as_ref(), options, None);
    if let Some(payload) = &checkpoint.payload {
        walker.checkpoint_id = payload.checkpoint_id.clone();
        for head in &payload.sessions {
            walker.targets.insert(
                head.session_id.clone(),
                Target {
                    head: head.clone(),
                    reached: false,
                },
            );
        }
    }
    run_pipeline(
        |visit| store.scan_decisions(visit),
        &mut walker,
        options.threads,
        options.progress,
    )?;
    let sessions = walker.finish(&heads.sessions, checkpoint.payload.as_ref());
    let checked = vec![
        "every record's hash, recomputed from its stored content".into(),
        "every session's chain of prev_hash links".into(),
        "the global sequence: no gap, no repeat".into(),
        "every session summary (head, counts, outcomes, severity) against its records".into(),
        format!("the indexed columns beside each record ({})", store.backend()),
    ];
    Ok(report(source, walker, sessions, checkpoint, checked, options))
}

/// Verifies one session's records as given (a bundle): hashes, chain, summary, and the covering
/// checkpoint's head for this session.
pub(crate) fn verify_session(
    source: String,
    records: Vec<StoredDecision>,
    summary: &SessionSummary,
    checkpoint_row: Option<&CheckpointRow>,
    options: &Options<'_>,
    mut checked: Vec<String>,
    extra_findings: Vec<Finding>,
) -> Result<Report, EvidenceError> {
    let mut walker = Walker::new(Scope::Session, u64::MAX);
    let checkpoint = use_checkpoint(checkpoint_row, options, Some(&summary.session_id));
    if let Some(payload) = &checkpoint.payload {
        walker.checkpoint_id = payload.checkpoint_id.clone();
        match payload.sessions.iter().find(|h| h.session_id == summary.session_id) {
            Some(head) => {
                walker.targets.insert(
                    head.session_id.clone(),
                    Target {
                        head: head.clone(),
                        reached: false,
                    },
                );
            }
            None => walker.findings.push(Finding {
                kind: FindingKind::Checkpoint,
                session_id: Some(summary.session_id.clone()),
                decision_id: None,
                sequence: None,
                message: format!("checkpoint `{}` does not cover this session", payload.checkpoint_id),
            }),
        }
    }
    walker.findings.extend(extra_findings);
    run_pipeline(
        |visit| {
            for r in records {
                visit(r)?;
            }
            Ok(())
        },
        &mut walker,
        options.threads.max(1),
        options.progress,
    )?;
    let sessions = walker.finish(std::slice::from_ref(summary), checkpoint.payload.as_ref());
    checked.push("every record's hash, recomputed from its content".into());
    checked.push("the session's chain of prev_hash links".into());
    checked.push("the session summary (head, counts, outcomes, severity) against its records".into());
    Ok(report(source, walker, sessions, checkpoint, checked, options))
}
