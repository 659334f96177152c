//! Verification (SPEC §7): every record's hash recomputed, every session's chain walked, the
//! global `sequence` checked for gaps and repeats, every summary compared with what its records
//! imply, the SQL columns compared with the record they file, every signed checkpoint checked
//! against the one it names and the latest against the chains — each problem reported by record
//! id and session, classified as altered, removed, inserted or reordered.
//!
//! The scan streams, on every core: the range of sequences the summaries' snapshot holds is cut
//! into chunks; one thread per core reads every n-th chunk on a connection of its own and hashes
//! each record where it reads it (the sealed form of [`crate::canonical`] hashed as it is, the
//! parsed tree or the typed path when it declines or disagrees), and the calling thread walks the
//! chunks in order with [`cavra_core::integrity::ChainWalk`]. Memory grows with the number of
//! sessions, not records (plus an 8-byte fingerprint per record, to tell an inserted record from
//! a removed one), and a few batches per thread in flight.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::mpsc;

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

/// Records a scanning thread hands the walk at once.
const BATCH: usize = 1024;

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

impl Status {
    /// Tampered with any finding; else unverified when something that had to be checked was not.
    pub(crate) fn of(has_findings: bool, unverified: bool) -> Status {
        if has_findings {
            Status::Tampered
        } else if unverified {
            Status::Unverified
        } else {
            Status::Intact
        }
    }
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
    /// A bundle's checkpoint verified, but was made before the bundled session began: it says
    /// nothing about the session.
    DoesNotCover,
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
    /// Scanning threads (each reads and hashes a share of the log on its own connection); 0 means
    /// one per core.
    pub threads: usize,
    /// Called with the number of records verified so far, now and then.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
}

// ---------------------------------------------------------------------------------------------
// One record, checked on a scanning thread.

/// Where a string lies in a [`Batch`]'s text.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: usize,
    end: usize,
}

/// Checked records on their way to the walk. The strings the walk needs (ids and hashes) are
/// copied into one text per batch, not one allocation per string.
#[derive(Default)]
struct Batch {
    text: String,
    items: Vec<Checked>,
}

/// A record after hashing: the fields the walk needs, as spans of its batch's text.
struct Checked {
    /// Where the store files it.
    filed: u64,
    sequence: Option<u64>,
    decision: Option<Outcome>,
    severity: Option<Severity>,
    decision_id: Span,
    session_id: Span,
    prev_hash: Option<Span>,
    record_hash: Option<Span>,
    /// What is wrong with it, if anything (rare, so boxed).
    trouble: Option<Box<Trouble>>,
}

/// What hashing found wrong with one record.
#[derive(Default)]
struct Trouble {
    /// The hash its content gives, when it is not the one it carries.
    mismatch: Option<String>,
    /// Why it cannot be read as a record.
    unreadable: Option<String>,
    /// The columns that disagree with the record.
    columns: Vec<&'static str>,
}

impl Trouble {
    fn of(mismatch: Option<String>, unreadable: Option<String>, columns: Vec<&'static str>) -> Option<Box<Trouble>> {
        (mismatch.is_some() || unreadable.is_some() || !columns.is_empty()).then(|| {
            Box::new(Trouble {
                mismatch,
                unreadable,
                columns,
            })
        })
    }
}

impl Batch {
    fn with_capacity(records: usize) -> Batch {
        Batch {
            text: String::with_capacity(records * 200),
            items: Vec::with_capacity(records),
        }
    }

    fn span(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        Span {
            start,
            end: self.text.len(),
        }
    }

    fn get(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or_default()
    }

    fn push(&mut self, filed: u64, view: &View<'_>, trouble: Option<Box<Trouble>>) {
        let decision_id = self.span(view.decision_id.unwrap_or_default());
        let session_id = self.span(view.session_id.unwrap_or_default());
        let prev_hash = view.prev_hash.map(|h| self.span(h));
        let record_hash = view.record_hash.map(|h| self.span(h));
        self.items.push(Checked {
            filed,
            sequence: view.sequence,
            decision: view.decision.and_then(|d| d.parse().ok()),
            severity: view.severity.and_then(|s| s.parse().ok()),
            decision_id,
            session_id,
            prev_hash,
            record_hash,
            trouble,
        });
    }
}

/// Borrowed views of the fields the walk and a column check read.
#[derive(Default)]
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
    /// The fields of a record in sealed form.
    fn of_sealed(f: &canonical::SealedFields<'a>) -> View<'a> {
        View {
            decision_id: f.decision_id,
            session_id: f.session_id,
            agent_id: f.agent_id,
            repository: f.repository,
            policy_pack: f.policy_pack,
            decision: f.decision,
            severity: f.severity,
            action_type: f.action_type,
            timestamp: f.timestamp,
            sequence: f.sequence,
            prev_hash: f.prev_hash,
            record_hash: f.record_hash,
        }
    }

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

    /// The columns filed beside the record that disagree with it.
    fn column_mismatches(&self, stored: &StoredDecision<'_>) -> Vec<&'static str> {
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
            if Some(column.as_ref()) != field {
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

/// Hashes one stored record into `out`: the sealed form first (the text hashed as it is), then
/// the parsed tree, then the typed path, which decides whenever the others decline or disagree.
fn check_one(stored: &StoredDecision<'_>, buf: &mut Vec<u8>, out: &mut Batch) {
    let text: &str = &stored.record;
    if let Some(sealed) = canonical::sealed(text)
        && sealed.intact()
    {
        let view = View::of_sealed(&sealed.fields);
        let columns = view.column_mismatches(stored);
        out.push(stored.sequence, &view, Trouble::of(None, None, columns));
        return;
    }
    if let Some(mut node) = canonical::parse(text)
        && canonical::canonical_bytes(&mut node, buf).is_some()
    {
        let computed = cavra_core::integrity::hex(&Sha256::digest(&buf[..]));
        let view = View::of_node(&node, true);
        if view.record_hash == Some(computed.as_str()) {
            let columns = view.column_mismatches(stored);
            out.push(stored.sequence, &view, Trouble::of(None, None, columns));
            return;
        }
    }
    match serde_json::from_str::<DecisionRecord>(text) {
        Ok(record) => {
            let computed = cavra_core::integrity::record_hash(&record);
            let view = View::of_record(&record);
            let mismatch = (view.record_hash != Some(computed.as_str())).then_some(computed);
            let columns = view.column_mismatches(stored);
            out.push(stored.sequence, &view, Trouble::of(mismatch, None, columns));
        }
        Err(e) => {
            // Name it as well as the text (or the columns) allow.
            let node = canonical::parse(text);
            let mut view = node.as_ref().map(|n| View::of_node(n, false)).unwrap_or_default();
            if let Some(c) = &stored.columns {
                if view.decision_id.is_none_or(str::is_empty) {
                    view.decision_id = Some(&c.decision_id);
                }
                if view.session_id.is_none_or(str::is_empty) {
                    view.session_id = Some(&c.session_id);
                }
            }
            let trouble = Trouble::of(Some("unreadable".to_owned()), Some(e.to_string()), Vec::new());
            out.push(stored.sequence, &view, trouble);
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
    /// Searched only when a link is broken, so a list: appending costs less than hashing.
    seen: Vec<u64>,
}

/// What a checkpoint says about one session, and whether the walk got there.
struct Target {
    head: SignedHead,
    reached: bool,
}

/// Whether the walk covers a whole store or one session (a bundle).
#[derive(Clone, PartialEq, Eq)]
enum Scope {
    Store,
    /// A bundle of this session: every record is walked as part of its chain, so a record of
    /// another session is named as foreign instead of starting a chain of its own.
    Session(String),
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

/// Sets `slot` to `value`, reusing its buffer (the walk sets a head per record).
fn set(slot: &mut Option<String>, value: Option<&str>) {
    match (value, slot.as_mut()) {
        (Some(v), Some(held)) => {
            held.clear();
            held.push_str(v);
        }
        (v, _) => *slot = v.map(str::to_owned),
    }
}

/// Who a finding is about.
struct Named<'a> {
    decision_id: &'a str,
    session_id: &'a str,
    sequence: Option<u64>,
}

impl Named<'_> {
    fn finding(&self, kind: FindingKind, message: String) -> Finding {
        Finding {
            kind,
            session_id: Some(self.session_id.to_owned()),
            decision_id: Some(self.decision_id.to_owned()),
            sequence: self.sequence,
            message,
        }
    }
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

    fn push(&mut self, batch: &Batch, c: &Checked) {
        self.records += 1;
        self.high_water = self.high_water.max(c.filed);
        let f = Named {
            decision_id: batch.get(c.decision_id),
            session_id: batch.get(c.session_id),
            sequence: c.sequence,
        };
        let prev_hash = c.prev_hash.map(|s| batch.get(s));
        let record_hash = c.record_hash.map(|s| batch.get(s));
        let trouble = c.trouble.as_deref();
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
                self.findings.push(f.finding(
                    FindingKind::Inserted,
                    format!("sequence {} appears again in the log", c.filed),
                ));
            }
            self.expected_next = self.expected_next.max(c.filed.saturating_add(1));
        }
        let unreadable = trouble.and_then(|t| t.unreadable.as_deref());
        if let Some(why) = unreadable {
            self.findings.push(f.finding(
                FindingKind::Unreadable,
                format!("the stored record cannot be read: {why}"),
            ));
        }
        let columns = trouble.map_or(&[][..], |t| &t.columns[..]);
        if !columns.is_empty() {
            if columns.contains(&"sequence") {
                self.findings.push(f.finding(
                    FindingKind::Reordered,
                    format!(
                        "the record is filed at sequence {} but was sealed at sequence {}",
                        c.filed,
                        f.sequence.map_or("(none)".to_owned(), |s| s.to_string())
                    ),
                ));
            }
            let others: Vec<&str> = columns.iter().copied().filter(|n| *n != "sequence").collect();
            if !others.is_empty() {
                self.findings.push(f.finding(FindingKind::Altered, format!(
                        "the indexed column(s) {} disagree with the sealed record, so lists and filters show it wrongly",
                        others.join(", ")
                    ),
                ));
            }
        }
        // The chain the record is walked in: its own, or in a bundle the bundled session's.
        let chain = match &self.scope {
            Scope::Store => f.session_id,
            Scope::Session(id) => id.as_str(),
        };
        if !self.tracks.contains_key(chain) {
            self.tracks.insert(
                chain.to_owned(),
                Track {
                    walk: ChainWalk::new(chain),
                    snap_records: 0,
                    snap_head: None,
                    snap_last_id: None,
                    outcomes: BTreeMap::new(),
                    max_severity: None,
                    seen: Vec::new(),
                },
            );
        }
        let Some(track) = self.tracks.get_mut(chain) else {
            return;
        };
        let computed = match trouble.and_then(|t| t.mismatch.as_deref()) {
            Some(computed) => computed,
            None => record_hash.unwrap_or_default(),
        };
        let problems: Vec<ChainFault> = track
            .walk
            .push(&Link {
                decision_id: f.decision_id,
                session_id: f.session_id,
                sequence: f.sequence,
                prev_hash,
                record_hash,
                computed_hash: computed,
            })
            .iter()
            .map(|p| p.fault.clone())
            .collect();
        let first = track.walk.records() == 1;
        let mut found = Vec::new();
        for fault in problems {
            match fault {
                ChainFault::HashMismatch { .. } if unreadable.is_none() => found.push((
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
                ChainFault::WrongSession { found: other } if matches!(self.scope, Scope::Session(_)) => found.push((
                    FindingKind::Inserted,
                    format!("the record belongs to session `{other}`, not to the bundled session `{chain}`"),
                )),
                ChainFault::WrongSession { found: other } => found.push((
                    FindingKind::Reordered,
                    format!("the record belongs to session `{other}`"),
                )),
                ChainFault::HeadMismatch { .. } | ChainFault::CountMismatch { .. } => {}
            }
        }
        if let Some(h) = record_hash {
            track.seen.push(fingerprint(h));
        }
        if c.filed <= self.snapshot || matches!(self.scope, Scope::Session(_)) {
            track.snap_records += 1;
            set(&mut track.snap_head, record_hash);
            set(&mut track.snap_last_id, Some(f.decision_id));
            if let Some(d) = c.decision {
                *track.outcomes.entry(d).or_insert(0) += 1;
            }
            if let Some(s) = c.severity {
                track.max_severity = Some(track.max_severity.map_or(s, |m| m.max(s)));
            }
        }
        let position = track.walk.records();
        for (kind, message) in found {
            self.findings.push(f.finding(kind, message));
        }
        if let Some(target) = self.targets.get_mut(chain)
            && target.head.decision_count == position
        {
            target.reached = true;
            if record_hash != target.head.head_hash.as_deref() {
                let message = format!(
                    "checkpoint `{}` signed `{}` as decision {} of the session; the chain holds `{}` there",
                    self.checkpoint_id,
                    target.head.head_decision_id.as_deref().unwrap_or("?"),
                    position,
                    f.decision_id
                );
                self.findings.push(f.finding(FindingKind::Altered, message));
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
                // A session first seen after the snapshot has no summary in it, rightly.
                .filter(|(id, t)| t.snap_records > 0 && !summarised.contains(id.as_str()))
                .collect();
            orphans.sort_by(|a, b| a.0.cmp(b.0));
            for (id, t) in orphans {
                findings.push(Finding {
                    kind: FindingKind::Summary,
                    session_id: Some(id.clone()),
                    decision_id: t.snap_last_id.clone(),
                    sequence: None,
                    message: format!("the session has {} decisions but no summary", t.snap_records),
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

/// Sequences one scanning thread reads in one go (its own read transaction), before it moves on
/// to the range `threads` chunks further.
const CHUNK: u64 = 16_384;

/// What a scanning thread hands the walk.
enum Scanned {
    Batch(Batch),
    /// The chunk is done (or failed).
    End(Result<(), StoreError>),
}

/// Verifies sequences `1..=upto` of `store` into `walker`: the range is cut into chunks of
/// [`CHUNK`]; `threads` scanning threads each read every `threads`-th chunk on a connection of
/// their own and hash its records where they read them (borrowed from the row, nothing copied but
/// the ids and hashes the walk needs); this thread walks the chunks in order, taking each from
/// its thread's channel. Memory stays bounded: each channel holds a few batches.
fn scan_store(
    store: &dyn ActivityStore,
    upto: u64,
    walker: &mut Walker,
    threads: usize,
    progress: Option<&(dyn Fn(u64) + Sync)>,
) -> Result<(), EvidenceError> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        threads
    };
    let chunks = upto.div_ceil(CHUNK);
    let threads = usize::try_from(chunks).map_or(threads, |c| threads.min(c.max(1)));
    let stride = threads as u64;
    std::thread::scope(|scope| {
        let mut channels = Vec::with_capacity(threads);
        for first in 0..stride {
            let (tx, rx) = mpsc::sync_channel::<Scanned>(4);
            channels.push(rx);
            scope.spawn(move || {
                let mut buf = Vec::with_capacity(4096);
                let mut chunk = first;
                while chunk < chunks {
                    let from = chunk * CHUNK + 1;
                    let to = (from + CHUNK - 1).min(upto);
                    let mut batch = Batch::with_capacity(BATCH);
                    let scanned = store.scan_decisions(from..=to, &mut |stored| {
                        check_one(stored, &mut buf, &mut batch);
                        if batch.items.len() == BATCH {
                            let full = std::mem::replace(&mut batch, Batch::with_capacity(BATCH));
                            tx.send(Scanned::Batch(full)).map_err(|_| stopped())?;
                        }
                        Ok(())
                    });
                    let last = if batch.items.is_empty() {
                        Ok(())
                    } else {
                        tx.send(Scanned::Batch(batch))
                    };
                    let failed = scanned.is_err();
                    if last.is_err() || tx.send(Scanned::End(scanned)).is_err() || failed {
                        return;
                    }
                    chunk += stride;
                }
            });
        }
        // Walk the chunks in order; returning early drops the channels, which stops the threads.
        for chunk in 0..chunks {
            let Some(rx) = usize::try_from(chunk % stride).ok().and_then(|i| channels.get(i)) else {
                return Err(EvidenceError::from(stopped()));
            };
            loop {
                match rx.recv() {
                    Ok(Scanned::Batch(batch)) => {
                        for c in &batch.items {
                            walker.push(&batch, c);
                        }
                        if let Some(p) = progress {
                            p(walker.records);
                        }
                    }
                    Ok(Scanned::End(Ok(()))) => break,
                    Ok(Scanned::End(Err(e))) => return Err(e.into()),
                    Err(_) => return Err(stopped().into()),
                }
            }
        }
        Ok(())
    })
}

/// Verifies every record filed at sequences `0..=upto` into `walker` in one ordered pass on this
/// thread: for a log that is not numbered `1..=count`, whose sequence ranges cannot be cut into
/// chunks of known size.
fn scan_in_order(
    store: &dyn ActivityStore,
    upto: u64,
    walker: &mut Walker,
    progress: Option<&(dyn Fn(u64) + Sync)>,
) -> Result<(), EvidenceError> {
    let mut buf = Vec::with_capacity(4096);
    let mut batch = Batch::with_capacity(BATCH);
    let walk = |batch: &Batch, walker: &mut Walker| {
        for c in &batch.items {
            walker.push(batch, c);
        }
        if let Some(p) = progress {
            p(walker.records);
        }
    };
    store.scan_decisions(0..=upto, &mut |stored| {
        check_one(stored, &mut buf, &mut batch);
        if batch.items.len() == BATCH {
            walk(&batch, walker);
            batch = Batch::with_capacity(BATCH);
        }
        Ok(())
    })?;
    walk(&batch, walker);
    Ok(())
}

fn stopped() -> StoreError {
    StoreError::Unavailable("verification stopped".into())
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
        if scope_session.is_some() {
            // A bundle: its manifest's signature authenticates it; a checkpoint only adds a
            // second, independent statement of the session's head, when one was made since.
            out.not_checked.push(
                "the session's head against a signed checkpoint: the bundle carries none (none was stored when it \
                 was written, or the latest was made before the session began)"
                    .into(),
            );
            return out;
        }
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

/// What the stored checkpoints say about each other.
#[derive(Default)]
struct CheckpointChain {
    /// The newest, which the chains are checked against.
    latest: Option<CheckpointRow>,
    /// Checkpoints stored.
    count: u64,
    /// Checkpoints that name the one before them (schema v2).
    linked: u64,
    findings: Vec<Finding>,
    not_checked: Vec<String>,
}

/// What one checkpoint of the chain is remembered by, for the ones after it.
struct Signed {
    payload_sha256: String,
    sequence: u64,
    decision_count: u64,
}

/// Reads every stored checkpoint, oldest first, and checks each against the one it names: that
/// one must be stored, unchanged (its payload's hash), and sign no more of the log than the later
/// one — no higher sequence, no session missing or shorter, no head changed at the same count.
/// A later checkpoint's signature covers the hash it names, so a chain ending in a checkpoint
/// verified with the key proves every checkpoint it links back to, whoever signed them. Holds
/// one payload (the previous) at a time.
fn checkpoint_chain(store: &dyn ActivityStore, options: &Options<'_>) -> Result<CheckpointChain, EvidenceError> {
    let given = options.public_key.as_ref().map(keys::key_id);
    let mut out = CheckpointChain::default();
    let mut known: HashMap<String, Signed> = HashMap::new();
    let mut before: Option<CheckpointPayload> = None;
    let mut other_keys = 0u64;
    let mut unlinked = 0u64;
    let mut latest_signature: Option<Finding> = None;
    let finding = |kind, session_id: Option<String>, message: String| Finding {
        kind,
        session_id,
        decision_id: None,
        sequence: None,
        message,
    };
    store.scan_checkpoints(&mut |row| {
        out.count += 1;
        // A bad signature of the newest is reported by the checkpoint check itself.
        if let Some(f) = latest_signature.take() {
            out.findings.push(f);
        }
        let id = row.checkpoint_id.clone();
        let payload = match (&options.public_key, &given) {
            (Some(key), Some(given)) if row.key_id == *given => checkpoint::verify_row(&row, key),
            (Some(_), _) => {
                other_keys += 1;
                checkpoint::parse_payload(&row)
            }
            _ => checkpoint::parse_payload(&row),
        };
        let payload = match payload {
            Ok(p) => Some(p),
            Err(problem) => {
                latest_signature = Some(finding(
                    FindingKind::Checkpoint,
                    None,
                    format!("checkpoint `{id}`: {problem}"),
                ));
                None
            }
        };
        if let Some(p) = &payload {
            match (&p.previous, known.is_empty()) {
                (Some(prev), _) => {
                    out.linked += 1;
                    match known.get(&prev.checkpoint_id) {
                        None => out.findings.push(finding(
                            FindingKind::Checkpoint,
                            None,
                            format!(
                                "checkpoint `{id}` was signed after checkpoint `{}`, which is no longer stored: \
                                 checkpoints were deleted",
                                prev.checkpoint_id
                            ),
                        )),
                        Some(link) if link.payload_sha256 != prev.payload_sha256 => out.findings.push(finding(
                            FindingKind::Checkpoint,
                            None,
                            format!(
                                "checkpoint `{}` is not the one checkpoint `{id}` was signed after: it was replaced",
                                prev.checkpoint_id
                            ),
                        )),
                        Some(link) if p.sequence < link.sequence || p.decision_count < link.decision_count => {
                            out.findings.push(finding(
                                FindingKind::Removed,
                                None,
                                format!(
                                    "checkpoint `{id}` signs {} decisions up to sequence {}, fewer than checkpoint \
                                     `{}` before it ({} up to {}): the log was cut between them",
                                    p.decision_count,
                                    p.sequence,
                                    prev.checkpoint_id,
                                    link.decision_count,
                                    link.sequence
                                ),
                            ));
                        }
                        Some(_) => {}
                    }
                    if let Some(b) = before.as_ref().filter(|b| b.checkpoint_id == prev.checkpoint_id) {
                        out.findings.extend(heads_regressed(b, p));
                    }
                }
                (None, false) if p.schema == checkpoint::CHECKPOINT_SCHEMA => out.not_checked.push(format!(
                    "checkpoint `{id}` names no checkpoint before it although earlier ones are stored (signed \
                     concurrently with another?): its place in the chain is not proven"
                )),
                (None, _) => unlinked += u64::from(p.schema != checkpoint::CHECKPOINT_SCHEMA),
            }
            known.insert(
                id,
                Signed {
                    payload_sha256: checkpoint::payload_sha256(&row),
                    sequence: p.sequence,
                    decision_count: p.decision_count,
                },
            );
        }
        before = payload;
        out.latest = Some(row);
        Ok(())
    })?;
    if other_keys > 0 {
        out.not_checked.push(format!(
            "the signatures of {other_keys} checkpoint(s) signed by other keys (those a later checkpoint names are \
             covered by its signature through the hash it names)"
        ));
    }
    if unlinked > 1 {
        out.not_checked.push(format!(
            "the order of {unlinked} checkpoints made before checkpoints were chained (schema v1): one deleted \
             among them would not show"
        ));
    }
    if out.count > 0 {
        out.not_checked.push(
            "whether newer checkpoints than the latest stored were deleted: the chain cannot show its own end; \
             compare the latest checkpoint's id with one kept outside the store"
                .into(),
        );
    }
    Ok(out)
}

/// What `later` says that `earlier` (the checkpoint it names) contradicts: a session gone, shorter,
/// or with another head at the same count. Both are signed statements of one log that only
/// grows, so each is a change made to the log between the two.
fn heads_regressed(earlier: &CheckpointPayload, later: &CheckpointPayload) -> Vec<Finding> {
    let now: HashMap<&str, &SignedHead> = later.sessions.iter().map(|h| (h.session_id.as_str(), h)).collect();
    let mut out = Vec::new();
    for head in &earlier.sessions {
        let (kind, message) = match now.get(head.session_id.as_str()) {
            None if head.decision_count > 0 => (
                FindingKind::Removed,
                format!(
                    "checkpoint `{}` signed the session with {} decisions; the later checkpoint `{}` does not have \
                     it: it was removed between them",
                    earlier.checkpoint_id, head.decision_count, later.checkpoint_id
                ),
            ),
            Some(h) if h.decision_count < head.decision_count => (
                FindingKind::Removed,
                format!(
                    "checkpoint `{}` signed the session with {} decisions; the later checkpoint `{}` with {}: \
                     records were removed between them",
                    earlier.checkpoint_id, head.decision_count, later.checkpoint_id, h.decision_count
                ),
            ),
            Some(h) if h.decision_count == head.decision_count && h.head_hash != head.head_hash => (
                FindingKind::Altered,
                format!(
                    "checkpoints `{}` and `{}` sign different heads for the session at {} decisions: it was \
                     rewritten between them",
                    earlier.checkpoint_id, later.checkpoint_id, head.decision_count
                ),
            ),
            _ => continue,
        };
        out.push(Finding {
            kind,
            session_id: Some(head.session_id.clone()),
            decision_id: head.head_decision_id.clone(),
            sequence: None,
            message,
        });
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
    let status = Status::of(!findings.is_empty(), checkpoint.unverified);
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
    let chain = if options.skip_checkpoint {
        CheckpointChain::default()
    } else {
        checkpoint_chain(store, options)?
    };
    let row = chain.latest;
    // The summaries and the high-water mark in one snapshot. The log only grows, so every record
    // up to that mark reads the same from any later snapshot: the scan's chunks may each take
    // their own.
    let heads = store.log_heads()?;
    let mut walker = Walker::new(Scope::Store, heads.sequence);
    let mut checkpoint = use_checkpoint(row.as_ref(), options, None);
    checkpoint.findings.extend(chain.findings);
    checkpoint.not_checked.extend(chain.not_checked);
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
    // Only what the snapshot holds: records appended since belong to the next verification.
    // An intact log numbers its records 1..=count; only then can it be cut into sequence ranges
    // for parallel scanning. Anything else (a forged row at sequence 0, one moved far past the
    // end) is read in one ordered pass, where the walk names what is out of place.
    if heads.decision_count == heads.sequence {
        scan_store(store, heads.sequence, &mut walker, options.threads, options.progress)?;
    } else {
        scan_in_order(store, heads.sequence, &mut walker, options.progress)?;
    }
    if walker.records != heads.decision_count {
        walker.findings.push(Finding {
            kind: FindingKind::Inserted,
            session_id: None,
            decision_id: None,
            sequence: None,
            message: format!(
                "the log holds {} record(s) but {} are filed at sequences 0..={}: the others are filed at \
                 impossible (negative) sequences",
                heads.decision_count, walker.records, heads.sequence
            ),
        });
    }
    let sessions = walker.finish(&heads.sessions, checkpoint.payload.as_ref());
    let mut checked = vec![
        "every record's hash, recomputed from its stored content".into(),
        "every session's chain of prev_hash links".into(),
        "the global sequence: no gap, no repeat".into(),
        "every session summary (head, counts, outcomes, severity) against its records".into(),
        format!("the indexed columns beside each record ({})", store.backend()),
    ];
    if chain.linked > 0 {
        checked.push(format!(
            "the chain of {} checkpoint(s): each names the one before it, which is stored, unchanged, and signs no \
             more than it",
            chain.count
        ));
    }
    Ok(report(source, walker, sessions, checkpoint, checked, options))
}

/// Verifies one session's records as given (a bundle): hashes, chain, summary, and the covering
/// checkpoint's head for this session.
pub(crate) fn verify_session(
    source: String,
    records: Vec<StoredDecision<'_>>,
    summary: &SessionSummary,
    checkpoint_row: Option<&CheckpointRow>,
    options: &Options<'_>,
    mut checked: Vec<String>,
    extra_findings: Vec<Finding>,
) -> Result<Report, EvidenceError> {
    let mut walker = Walker::new(Scope::Session(summary.session_id.clone()), u64::MAX);
    let mut checkpoint = use_checkpoint(checkpoint_row, options, Some(&summary.session_id));
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
            // Made before the session began: honest, and nothing to check it against.
            None => {
                checkpoint.report.state = CheckpointState::DoesNotCover;
                checkpoint.not_checked.push(format!(
                    "the session's head against checkpoint `{}`: it was made before the session began and does not \
                     cover it",
                    payload.checkpoint_id
                ));
            }
        }
        if let Some(head) = payload.sessions.iter().find(|h| h.session_id == summary.session_id)
            && (head.decision_count as usize) < records.len()
        {
            checkpoint.not_checked.push(format!(
                "decisions {}..={} against a signed checkpoint: checkpoint `{}` was made when the session held {}",
                head.decision_count + 1,
                records.len(),
                payload.checkpoint_id,
                head.decision_count
            ));
        }
    }
    walker.findings.extend(extra_findings);
    let mut batch = Batch::with_capacity(records.len());
    let mut buf = Vec::new();
    for r in &records {
        check_one(r, &mut buf, &mut batch);
    }
    for c in &batch.items {
        walker.push(&batch, c);
    }
    if let Some(p) = options.progress {
        p(walker.records);
    }
    let sessions = walker.finish(std::slice::from_ref(summary), checkpoint.payload.as_ref());
    checked.push("every record's hash, recomputed from its content".into());
    checked.push("the session's chain of prev_hash links".into());
    checked.push("the session summary (head, counts, outcomes, severity) against its records".into());
    Ok(report(source, walker, sessions, checkpoint, checked, options))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use cavra_core::{Action, ActionType, PackSet, evaluate, integrity};
    use cavra_store::Stamper;
    use cavra_store::sqlite::SqliteStore;

    use super::*;

    fn record(session: &str, stamper: &mut Stamper) -> DecisionRecord {
        static PACKS: std::sync::OnceLock<PackSet> = std::sync::OnceLock::new();
        let pack = PACKS
            .get_or_init(|| PackSet::builtin().unwrap())
            .get("cavra-ai-agent-baseline")
            .unwrap();
        let mut action = Action::new(ActionType::ExecuteCommand, "cargo test");
        action.session_id = Some(session.to_owned());
        DecisionRecord::new(&action, evaluate(&action, &pack), pack.version(), stamper.stamp())
    }

    /// Review finding 4: a session whose records arrive after the summaries' snapshot (created
    /// while a live store is being verified) is not reported as a session without a summary.
    #[test]
    fn session_created_after_the_snapshot_is_not_an_orphan() {
        let mut r = record("s-new", &mut Stamper::new());
        r.sequence = Some(1);
        integrity::seal(&mut r, None);
        let stored = StoredDecision {
            sequence: 1,
            record: Cow::Owned(integrity::sealed_json(&r)),
            columns: None,
        };
        let mut batch = Batch::default();
        check_one(&stored, &mut Vec::new(), &mut batch);
        // The summaries' snapshot ends before sequence 1.
        let mut walker = Walker::new(Scope::Store, 0);
        walker.push(&batch, &batch.items[0]);
        walker.finish(&[], None);
        assert_eq!(walker.findings, Vec::new());
    }

    /// A store being written while it is verified (new sessions and old ones growing, on another
    /// thread) verifies intact every time: what the snapshot holds is checked, what comes later
    /// is left to the next verification.
    #[test]
    fn live_store_verifies_intact_while_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("live.db")).unwrap();
        let mut stamper = Stamper::new();
        for i in 0..600 {
            store.append(record(&format!("s-{}", i % 7), &mut stamper)).unwrap();
        }
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut stamper = Stamper::new();
                let mut i = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    store.append(record(&format!("late-{}", i / 3), &mut stamper)).unwrap();
                    store.append(record("s-1", &mut stamper)).unwrap();
                    i += 1;
                }
            });
            for _ in 0..5 {
                let options = Options {
                    threads: 2,
                    ..Options::default()
                };
                let report = verify_store(&store, "live".into(), &options).unwrap();
                assert_eq!(report.findings, Vec::new());
                assert_eq!(report.status, Status::Intact);
            }
            done.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }
}
