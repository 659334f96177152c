//! `cavra evidence verify | keygen | checkpoint | bundle` through the real binary, and the tamper
//! suite: each way of tampering with stored records, done directly to the stored data (SQL on
//! the real SQLite file and PostgreSQL database, edits of the JSON store file), detected with the
//! right record named.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failed assumption"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cavra_core::DecisionRecord;
use cavra_core::integrity;
use serde_json::Value;

use crate::store::FreshDatabase;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Json,
    Postgres,
}

/// A store with three demo sessions (`s-a`, `s-b`, `s-c`, six decisions each, sequences 1..=18),
/// a signing key and a checkpoint over all of it.
struct Fixture {
    dir: tempfile::TempDir,
    backend: Backend,
    location: String,
    _db: Option<FreshDatabase>,
}

impl Fixture {
    fn new(backend: Backend, tag: &str) -> Option<Fixture> {
        let dir = tempfile::tempdir().unwrap();
        let (location, db) = match backend {
            Backend::Sqlite => (dir.path().join("activity.db").display().to_string(), None),
            Backend::Json => (dir.path().join("activity.json").display().to_string(), None),
            Backend::Postgres => {
                let db = FreshDatabase::create(&format!("ev_{tag}"))?;
                (db.url(), Some(db))
            }
        };
        let f = Fixture {
            dir,
            backend,
            location,
            _db: db,
        };
        for session in ["s-a", "s-b", "s-c"] {
            f.ok(&["demo", "--session-id", session, "--json"]);
        }
        f.ok(&["evidence", "keygen", "--output", f.key().to_str().unwrap()]);
        f.ok(&["evidence", "checkpoint", "--key", f.key().to_str().unwrap()]);
        Some(f)
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("keys/evidence.key")
    }

    fn public_key(&self) -> PathBuf {
        self.dir.path().join("keys/evidence.key.pub")
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cavra"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("CAVRA_ACTIVITY_DB")
            .env_remove("CAVRA_ACTIVITY_STORE")
            .env_remove("CAVRA_EVIDENCE_KEY")
            .env_remove("CAVRA_EVIDENCE_PUBLIC_KEY");
        match self.backend {
            Backend::Json => cmd.env("CAVRA_ACTIVITY_STORE", &self.location),
            _ => cmd.env("CAVRA_ACTIVITY_DB", &self.location),
        };
        cmd.output().expect("the cavra binary runs")
    }

    fn ok(&self, args: &[&str]) -> Output {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "`cavra {}` exited {:?}: {}",
            args.join(" "),
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        );
        o
    }

    /// `verify --public-key --json`: the exit code and the report.
    fn verify(&self) -> (i32, Value) {
        let o = self.run(&[
            "evidence",
            "verify",
            "--public-key",
            self.public_key().to_str().unwrap(),
            "--json",
        ]);
        let report: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("no JSON report ({e}): {}", String::from_utf8_lossy(&o.stderr)));
        (o.status.code().unwrap(), report)
    }

    fn raw(&self) -> Box<dyn Raw> {
        match self.backend {
            Backend::Sqlite => Box::new(SqliteRaw(rusqlite::Connection::open(&self.location).unwrap())),
            Backend::Postgres => Box::new(PgRaw(
                ::postgres::Client::connect(&self.location, ::postgres::NoTls).unwrap(),
            )),
            Backend::Json => Box::new(JsonRaw(PathBuf::from(&self.location))),
        }
    }
}

/// Direct access to the stored data, as an attacker with write access to the database or file has.
trait Raw {
    /// Every stored record, by sequence.
    fn records(&mut self) -> Vec<DecisionRecord>;
    /// The stored JSON of the record filed at `sequence`, as the store keeps it.
    fn record_json(&mut self, sequence: u64) -> String;
    /// Replaces the stored JSON of the record filed at `sequence` (columns untouched).
    fn set_record_json(&mut self, sequence: u64, json: &str);
    /// Deletes the record filed at `sequence`.
    fn delete(&mut self, sequence: u64);
    /// Inserts `record` with consistent columns.
    fn insert(&mut self, record: &DecisionRecord);
    /// The stored summary JSON of `session`.
    fn summary(&mut self, session: &str) -> Value;
    /// Replaces the stored summary JSON of `session`.
    fn set_summary(&mut self, session: &str, summary: &Value);
    /// Deletes the summary of `session`.
    fn delete_summary(&mut self, session: &str);
    /// The stored checkpoints' ids, oldest first.
    fn checkpoint_ids(&mut self) -> Vec<String>;
    /// Deletes the checkpoint `id`.
    fn delete_checkpoint(&mut self, id: &str);
}

struct SqliteRaw(rusqlite::Connection);

impl Raw for SqliteRaw {
    fn records(&mut self) -> Vec<DecisionRecord> {
        let mut stmt = self
            .0
            .prepare("SELECT record FROM activity_decisions ORDER BY sequence")
            .unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|j| serde_json::from_str(&j.unwrap()).unwrap())
            .collect()
    }
    fn record_json(&mut self, sequence: u64) -> String {
        self.0
            .query_row(
                "SELECT record FROM activity_decisions WHERE sequence = ?1",
                [sequence as i64],
                |r| r.get(0),
            )
            .unwrap()
    }
    fn set_record_json(&mut self, sequence: u64, json: &str) {
        let n = self
            .0
            .execute(
                "UPDATE activity_decisions SET record = ?1 WHERE sequence = ?2",
                rusqlite::params![json, sequence as i64],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    fn delete(&mut self, sequence: u64) {
        self.0
            .execute("DELETE FROM activity_decisions WHERE sequence = ?1", [sequence as i64])
            .unwrap();
    }
    fn insert(&mut self, r: &DecisionRecord) {
        self.0
            .execute(
                "INSERT INTO activity_decisions (sequence, decision_id, session_id, agent_id, repository, policy_pack, \
                 decision, severity, action_type, ts_us, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                rusqlite::params![
                    r.sequence.unwrap() as i64,
                    r.decision_id,
                    r.session_id,
                    r.agent_id,
                    r.repository,
                    r.policy_pack,
                    r.decision.as_str(),
                    r.severity.as_str(),
                    r.action_type.as_str(),
                    cavra_store::model::parse_timestamp(&r.timestamp).unwrap(),
                    serde_json::to_string(r).unwrap()
                ],
            )
            .unwrap();
    }
    fn summary(&mut self, session: &str) -> Value {
        let j: String = self
            .0
            .query_row(
                "SELECT summary FROM activity_sessions WHERE session_id = ?1",
                [session],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str(&j).unwrap()
    }
    fn set_summary(&mut self, session: &str, summary: &Value) {
        self.0
            .execute(
                "UPDATE activity_sessions SET summary = ?1 WHERE session_id = ?2",
                rusqlite::params![summary.to_string(), session],
            )
            .unwrap();
    }
    fn delete_summary(&mut self, session: &str) {
        self.0
            .execute("DELETE FROM activity_sessions WHERE session_id = ?1", [session])
            .unwrap();
    }
    fn checkpoint_ids(&mut self) -> Vec<String> {
        let mut stmt = self
            .0
            .prepare("SELECT checkpoint_id FROM evidence_checkpoints ORDER BY created_at, checkpoint_id")
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }
    fn delete_checkpoint(&mut self, id: &str) {
        let n = self
            .0
            .execute("DELETE FROM evidence_checkpoints WHERE checkpoint_id = ?1", [id])
            .unwrap();
        assert_eq!(n, 1);
    }
}

struct PgRaw(::postgres::Client);

impl Raw for PgRaw {
    fn records(&mut self) -> Vec<DecisionRecord> {
        self.0
            .query("SELECT record FROM activity_decisions ORDER BY sequence", &[])
            .unwrap()
            .iter()
            .map(|r| serde_json::from_str(&r.get::<_, String>(0)).unwrap())
            .collect()
    }
    fn record_json(&mut self, sequence: u64) -> String {
        self.0
            .query_one(
                "SELECT record FROM activity_decisions WHERE sequence = $1",
                &[&(sequence as i64)],
            )
            .unwrap()
            .get(0)
    }
    fn set_record_json(&mut self, sequence: u64, json: &str) {
        let n = self
            .0
            .execute(
                "UPDATE activity_decisions SET record = $1 WHERE sequence = $2",
                &[&json as &(dyn ::postgres::types::ToSql + Sync), &(sequence as i64)],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    fn delete(&mut self, sequence: u64) {
        self.0
            .execute(
                "DELETE FROM activity_decisions WHERE sequence = $1",
                &[&(sequence as i64)],
            )
            .unwrap();
    }
    fn insert(&mut self, r: &DecisionRecord) {
        self.0
            .execute(
                "INSERT INTO activity_decisions (sequence, decision_id, session_id, agent_id, repository, policy_pack, \
                 decision, severity, action_type, ts_us, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &(r.sequence.unwrap() as i64) as &(dyn ::postgres::types::ToSql + Sync),
                    &r.decision_id,
                    &r.session_id,
                    &r.agent_id,
                    &r.repository,
                    &r.policy_pack,
                    &r.decision.as_str(),
                    &r.severity.as_str(),
                    &r.action_type.as_str(),
                    &cavra_store::model::parse_timestamp(&r.timestamp).unwrap(),
                    &serde_json::to_string(r).unwrap(),
                ],
            )
            .unwrap();
    }
    fn summary(&mut self, session: &str) -> Value {
        let row = self
            .0
            .query_one(
                "SELECT summary FROM activity_sessions WHERE session_id = $1",
                &[&session],
            )
            .unwrap();
        serde_json::from_str(&row.get::<_, String>(0)).unwrap()
    }
    fn set_summary(&mut self, session: &str, summary: &Value) {
        self.0
            .execute(
                "UPDATE activity_sessions SET summary = $1 WHERE session_id = $2",
                &[&summary.to_string() as &(dyn ::postgres::types::ToSql + Sync), &session],
            )
            .unwrap();
    }
    fn delete_summary(&mut self, session: &str) {
        self.0
            .execute("DELETE FROM activity_sessions WHERE session_id = $1", &[&session])
            .unwrap();
    }
    fn checkpoint_ids(&mut self) -> Vec<String> {
        self.0
            .query(
                "SELECT checkpoint_id FROM evidence_checkpoints ORDER BY created_at, checkpoint_id",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
    fn delete_checkpoint(&mut self, id: &str) {
        let n = self
            .0
            .execute("DELETE FROM evidence_checkpoints WHERE checkpoint_id = $1", &[&id])
            .unwrap();
        assert_eq!(n, 1);
    }
}

/// The JSON store file, edited as a document.
struct JsonRaw(PathBuf);

impl JsonRaw {
    fn load(&self) -> Value {
        serde_json::from_slice(&std::fs::read(&self.0).unwrap()).unwrap()
    }
    fn save(&self, doc: &Value) {
        std::fs::write(&self.0, serde_json::to_vec(doc).unwrap()).unwrap();
    }
    fn edit(&self, f: impl FnOnce(&mut Value)) {
        let mut doc = self.load();
        f(&mut doc);
        self.save(&doc);
    }
}

impl Raw for JsonRaw {
    fn records(&mut self) -> Vec<DecisionRecord> {
        let doc = self.load();
        let mut out: Vec<DecisionRecord> = serde_json::from_value(doc["decisions"].clone()).unwrap();
        out.sort_by_key(|r| r.sequence);
        out
    }
    fn record_json(&mut self, sequence: u64) -> String {
        let doc = self.load();
        let d = doc["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["sequence"] == sequence)
            .unwrap()
            .clone();
        d.to_string()
    }
    fn set_record_json(&mut self, sequence: u64, json: &str) {
        let replacement: Value = serde_json::from_str(json).unwrap();
        self.edit(|doc| {
            let d = doc["decisions"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|d| d["sequence"] == sequence)
                .unwrap();
            *d = replacement;
        });
    }
    fn delete(&mut self, sequence: u64) {
        self.edit(|doc| {
            doc["decisions"]
                .as_array_mut()
                .unwrap()
                .retain(|d| d["sequence"] != sequence);
        });
    }
    fn insert(&mut self, r: &DecisionRecord) {
        let value = serde_json::to_value(r).unwrap();
        self.edit(|doc| doc["decisions"].as_array_mut().unwrap().push(value));
    }
    fn summary(&mut self, session: &str) -> Value {
        let doc = self.load();
        doc["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["session_id"] == session)
            .unwrap()
            .clone()
    }
    fn set_summary(&mut self, session: &str, summary: &Value) {
        let summary = summary.clone();
        self.edit(|doc| {
            let s = doc["sessions"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|s| s["session_id"] == session)
                .unwrap();
            *s = summary;
        });
    }
    fn delete_summary(&mut self, session: &str) {
        self.edit(|doc| {
            doc["sessions"]
                .as_array_mut()
                .unwrap()
                .retain(|s| s["session_id"] != session);
        });
    }
    fn checkpoint_ids(&mut self) -> Vec<String> {
        let doc = self.load();
        let mut rows: Vec<(String, String)> = doc["evidence_checkpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["created_at"].as_str().unwrap().to_owned(),
                    c["checkpoint_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        rows.sort();
        rows.into_iter().map(|(_, id)| id).collect()
    }
    fn delete_checkpoint(&mut self, id: &str) {
        self.edit(|doc| {
            doc["evidence_checkpoints"]
                .as_array_mut()
                .unwrap()
                .retain(|c| c["checkpoint_id"] != id);
        });
    }
}

/// The records of `session`, oldest first.
fn of_session(records: &[DecisionRecord], session: &str) -> Vec<DecisionRecord> {
    records.iter().filter(|r| r.session_id == session).cloned().collect()
}

/// Asserts a finding of `kind` names `decision_id` (when given) in `session` (when given).
fn assert_finding(report: &Value, kind: &str, decision_id: Option<&str>, session: Option<&str>) {
    let found = report["findings"].as_array().unwrap().iter().any(|f| {
        f["kind"] == kind
            && decision_id.is_none_or(|d| f["decision_id"] == d)
            && session.is_none_or(|s| f["session_id"] == s)
    });
    assert!(
        found,
        "no `{kind}` finding for {decision_id:?} in {session:?}:\n{}",
        serde_json::to_string_pretty(&report["findings"]).unwrap()
    );
}

fn assert_tampered(code: i32, report: &Value) {
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["status"], "tampered");
    assert_eq!(report["intact"], false);
}

// ---------------------------------------------------------------------------------------------
// The cases, written once, run on each backend.

fn untouched_store_verifies(f: &Fixture) {
    let (code, report) = f.verify();
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "intact");
    assert_eq!(report["records"], 18);
    assert_eq!(report["sessions"], 3);
    assert_eq!(report["checkpoint"]["state"], "verified");
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
}

fn changed_field_is_named(f: &Fixture) {
    let mut raw = f.raw();
    let b = of_session(&raw.records(), "s-b");
    let mut edited = serde_json::to_value(&b[3]).unwrap();
    assert_eq!(edited["decision"], "block");
    edited["decision"] = "allow".into();
    raw.set_record_json(b[3].sequence.unwrap(), &edited.to_string());
    drop(raw);
    let (code, report) = f.verify();
    assert_tampered(code, &report);
    assert_finding(&report, "altered", Some(&b[3].decision_id), Some("s-b"));
}

fn deleted_record_is_named(f: &Fixture) {
    let mut raw = f.raw();
    let b = of_session(&raw.records(), "s-b");
    raw.delete(b[2].sequence.unwrap());
    drop(raw);
    let (code, report) = f.verify();
    assert_tampered(code, &report);
    // The gap in the log names its sequence; the chain names the record after it.
    let gap = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["kind"] == "removed" && x["sequence"] == b[2].sequence.unwrap());
    assert!(gap, "{report:#}");
    assert_finding(&report, "removed", Some(&b[3].decision_id), Some("s-b"));
}

fn forged_insert_is_named(f: &Fixture) {
    let mut raw = f.raw();
    let all = raw.records();
    let b = of_session(&all, "s-b");
    // A forged record with a correct hash, linked into the middle of s-b, at the next sequence;
    // the summary is rewritten to end at it.
    let mut forged = b[1].clone();
    forged.decision_id = "dec_forged".into();
    forged.reason = "nothing happened".into();
    forged.sequence = Some(all.len() as u64 + 1);
    forged.evidence_refs = vec!["evidence://s-b/dec_forged".into()];
    integrity::seal(&mut forged, b[1].record_hash.clone());
    raw.insert(&forged);
    let mut summary = raw.summary("s-b");
    summary["head_hash"] = forged.record_hash.clone().into();
    summary["last_decision_id"] = "dec_forged".into();
    summary["decision_count"] = 7.into();
    raw.set_summary("s-b", &summary);
    drop(raw);
    let (code, report) = f.verify();
    assert_tampered(code, &report);
    assert_finding(&report, "inserted", Some("dec_forged"), Some("s-b"));
}

/// A copy of a record filed at sequence 0, below where the log begins: the parallel scan reads
/// sequence ranges from 1, so the log's count gives it away and the ordered pass names it.
fn record_below_the_log_is_named(f: &Fixture) {
    let mut raw = f.raw();
    let b = of_session(&raw.records(), "s-b");
    let mut forged = b[1].clone();
    forged.decision_id = "dec_at_zero".into();
    forged.sequence = Some(0);
    raw.insert(&forged);
    drop(raw);
    let (code, report) = f.verify();
    assert_tampered(code, &report);
    assert_finding(&report, "inserted", Some("dec_at_zero"), Some("s-b"));
}

/// The newest record moved to a sequence far past the end: reported at once as a gap (cutting
/// the range up to it into chunks would take forever).
fn record_moved_past_the_end_is_named(f: &Fixture) {
    let mut raw = f.raw();
    let records = raw.records();
    let last = records.last().unwrap().clone();
    raw.delete(last.sequence.unwrap());
    let mut moved = last.clone();
    moved.sequence = Some(4_000_000_000_000_000_000);
    raw.insert(&moved);
    drop(raw);
    let (code, report) = f.verify();
    assert_tampered(code, &report);
    assert_finding(&report, "removed", None, None);
    assert!(report["findings"].to_string().contains(&last.decision_id), "{report:#}");
}

fn reordered_records_are_named(f: &Fixture) {
    let mut raw = f.raw();
    let b = of_session(&raw.records(), "s-b");
    let (x, y) = (&b[1], &b[3]);
    if f.backend == Backend::Json {
        // The JSON store files a record by its own sequence: swap them.
        let mut x2 = x.clone();
        let mut y2 = y.clone();
        x2.sequence = y.sequence;
        y2.sequence = x.sequence;
        raw.set_record_json(x.sequence.unwrap(), &serde_json::to_string(&y2).unwrap());
        raw.set_record_json(y.sequence.unwrap(), &serde_json::to_string(&x2).unwrap());
    } else {
        raw.set_record_json(x.sequence.unwrap(), &serde_json::to_string(y).unwrap());
        raw.set_record_json(y.sequence.unwrap(), &serde_json::to_string(x).unwrap());
    }
    drop(raw);
    let (code, report) = f.verify();
    assert_tampered(code, &report);
    let kind = if f.backend == Backend::Json {
        "altered"
    } else {
        "reordered"
    };
    assert_finding(&report, kind, Some(&x.decision_id), Some("s-b"));
    assert_finding(&report, kind, Some(&y.decision_id), Some("s-b"));
}

fn deleted_session_is_named(f: &Fixture) {
    let mut raw = f.raw();
    let b = of_session(&raw.records(), "s-b");
    for r in &b {
        raw.delete(r.sequence.unwrap());
    }
    raw.delete_summary("s-b");
    drop(raw);
    let (code, report) = f.verify();
    assert_tampered(code, &report);
    assert_finding(&report, "removed", Some(&b[5].decision_id), Some("s-b"));
}

fn truncated_log_is_named(f: &Fixture) {
    let mut raw = f.raw();
    let c = of_session(&raw.records(), "s-c");
    raw.delete(c[5].sequence.unwrap());
    raw.delete(c[4].sequence.unwrap());
    // The summary is rewritten to end where the log now ends, so only the checkpoint knows.
    let mut summary = raw.summary("s-c");
    summary["head_hash"] = c[3].record_hash.clone().into();
    summary["last_decision_id"] = c[3].decision_id.clone().into();
    summary["decision_count"] = 4.into();
    raw.set_summary("s-c", &summary);
    drop(raw);
    let (code, report) = f.verify();
    assert_tampered(code, &report);
    assert_finding(&report, "removed", Some(&c[5].decision_id), Some("s-c"));
    let cut = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["kind"] == "removed" && x["sequence"] == c[4].sequence.unwrap());
    assert!(
        cut,
        "the log's truncation is not named from sequence {:?}: {report:#}",
        c[4].sequence
    );
}

fn edited_stored_bytes_are_named(f: &Fixture) {
    let mut raw = f.raw();
    let b = of_session(&raw.records(), "s-b");
    let sequence = b[3].sequence.unwrap();
    let stored = raw.record_json(sequence);
    if f.backend != Backend::Json {
        // The SQL stores keep the sealed form, which verification hashes as it is.
        assert_eq!(stored, integrity::sealed_json(&b[3]));
    }
    let edited = stored.replacen("\"decision\":\"block\"", "\"decision\":\"allow\"", 1);
    assert_ne!(edited, stored);
    raw.set_record_json(sequence, &edited);
    drop(raw);
    let (code, report) = f.verify();
    assert_tampered(code, &report);
    assert_finding(&report, "altered", Some(&b[3].decision_id), Some("s-b"));
}

fn old_form_records_verify(f: &Fixture) {
    let mut raw = f.raw();
    for r in raw.records() {
        // As stores wrote records before the sealed form: the struct's field order.
        raw.set_record_json(r.sequence.unwrap(), &serde_json::to_string(&r).unwrap());
    }
    drop(raw);
    untouched_store_verifies(f);
}

fn deleted_checkpoint_is_named(f: &Fixture) {
    let key = f.key();
    for session in ["s-d", "s-e"] {
        f.ok(&["demo", "--session-id", session, "--json"]);
        f.ok(&["evidence", "checkpoint", "--key", key.to_str().unwrap()]);
    }
    let mut raw = f.raw();
    let ids = raw.checkpoint_ids();
    assert_eq!(ids.len(), 3);
    raw.delete_checkpoint(&ids[1]);
    drop(raw);
    let (code, report) = f.verify();
    assert_tampered(code, &report);
    let named = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["kind"] == "checkpoint" && x["message"].as_str().unwrap().contains(&ids[1]));
    assert!(named, "the deleted checkpoint `{}` is not named: {report:#}", ids[1]);
}

fn session_removed_between_checkpoints_is_named(f: &Fixture) {
    let key = f.key();
    f.ok(&["demo", "--session-id", "s-d", "--json"]);
    f.ok(&["evidence", "checkpoint", "--key", key.to_str().unwrap()]);
    // The newest session removed without a trace in the log (no gap: it was the newest), then a
    // checkpoint made over what is left, as `serve` would on its own.
    let mut raw = f.raw();
    let d = of_session(&raw.records(), "s-d");
    for r in &d {
        raw.delete(r.sequence.unwrap());
    }
    raw.delete_summary("s-d");
    drop(raw);
    f.ok(&["evidence", "checkpoint", "--key", key.to_str().unwrap()]);
    let (code, report) = f.verify();
    assert_tampered(code, &report);
    assert_finding(&report, "removed", Some(&d[5].decision_id), Some("s-d"));
}

macro_rules! tamper_suite {
    ($($backend:ident: $variant:expr;)*) => {
        $(
            #[doc = concat!("The tamper suite on the ", stringify!($backend), " backend.")]
            mod $backend {
                use super::*;

                fn on(tag: &str, case: fn(&Fixture)) {
                    if let Some(f) = Fixture::new($variant, &format!("{}_{tag}", stringify!($backend))) {
                        case(&f);
                    }
                }

                /// An untouched store with a signed checkpoint verifies intact, exit 0.
                #[test]
                fn untouched() { on("untouched", untouched_store_verifies) }
                /// One changed field of one record is reported as altered, naming that record.
                #[test]
                fn changed_field() { on("changed", changed_field_is_named) }
                /// A deleted record: its sequence is missing and the record after it is named.
                #[test]
                fn deleted_record() { on("deleted", deleted_record_is_named) }
                /// A forged record with a recomputed hash, and a summary rewritten to it, is named as inserted.
                #[test]
                fn forged_insert() { on("forged", forged_insert_is_named) }
                /// Two records swapped are both named.
                #[test]
                fn reordered() { on("reordered", reordered_records_are_named) }
                /// A record filed at sequence 0, below the log, is named as inserted.
                #[test]
                fn below_the_log() { on("below", record_below_the_log_is_named) }
                /// A record moved far past the end is reported as a gap without scanning the range.
                #[test]
                fn past_the_end() { on("pastend", record_moved_past_the_end_is_named) }
                /// A whole session deleted (records and summary) is named against the checkpoint.
                #[test]
                fn deleted_session() { on("session", deleted_session_is_named) }
                /// The newest records truncated, the summary rewritten to match, is named against the checkpoint.
                #[test]
                fn truncated() { on("truncated", truncated_log_is_named) }
                /// One field edited in place in the stored text (the sealed form in SQL stores) is named as altered.
                #[test]
                fn edited_bytes() { on("bytes", edited_stored_bytes_are_named) }
                /// Records stored in the form written before the sealed form verify intact through the typed path.
                #[test]
                fn old_form() { on("oldform", old_form_records_verify) }
                /// Review finding 5: a checkpoint deleted from the middle of the chain is named by the one after it.
                #[test]
                fn deleted_checkpoint() { on("ckptgone", deleted_checkpoint_is_named) }
                /// Review finding 5: a session removed after a checkpoint signed it, hidden by a newer checkpoint, is named.
                #[test]
                fn removed_between_checkpoints() { on("between", session_removed_between_checkpoints_is_named) }
            }
        )*
    };
}

tamper_suite! {
    sqlite: Backend::Sqlite;
    json: Backend::Json;
    postgres: Backend::Postgres;
}

// ---------------------------------------------------------------------------------------------
// Keys, checkpoints without a key, bundles.

/// A signed checkpoint verified without a public key is "unverified" (exit 2), never intact;
/// `--no-checkpoint` says what it skipped and passes on intact chains.
#[test]
fn signed_checkpoint_without_key_is_not_a_pass() {
    let f = Fixture::new(Backend::Sqlite, "nokey").unwrap();
    let o = f.run(&["evidence", "verify", "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["status"], "unverified");
    assert_eq!(report["checkpoint"]["state"], "signature_not_checked");
    assert!(!report["not_checked"].as_array().unwrap().is_empty());
    let o = f.run(&["evidence", "verify", "--no-checkpoint", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["checkpoint"]["state"], "skipped");
}

/// A checkpoint signed by another key, or with its payload edited, fails verification.
#[test]
fn forged_checkpoint_fails() {
    let f = Fixture::new(Backend::Sqlite, "forgedckpt").unwrap();
    let other = f.dir.path().join("other/other.key");
    f.ok(&["evidence", "keygen", "--output", other.to_str().unwrap()]);
    let o = f.run(&[
        "evidence",
        "verify",
        "--public-key",
        &format!("{}.pub", other.display()),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["checkpoint"]["state"], "invalid");
    assert_finding(&report, "checkpoint", None, None);

    let conn = rusqlite::Connection::open(&f.location).unwrap();
    conn.execute(
        "UPDATE evidence_checkpoints SET payload = replace(payload, '\"decision_count\":6', '\"decision_count\":5')",
        [],
    )
    .unwrap();
    let (code, report) = f.verify();
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["checkpoint"]["state"], "invalid");
}

/// `keygen` refuses to overwrite a key without `--force` (exit 3) and writes the private key 0600.
#[test]
fn keygen_is_safe() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("evidence.key");
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_cavra")).args(args).output().unwrap();
    let o = run(&["evidence", "keygen", "--output", key.to_str().unwrap(), "--json"]);
    assert!(o.status.success());
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(out["key_id"].as_str().unwrap().starts_with("ed25519:"));
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    let o = run(&["evidence", "keygen", "--output", key.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
    let o = run(&["evidence", "keygen", "--output", key.to_str().unwrap(), "--force"]);
    assert!(o.status.success());
}

/// Writes the bundle of `s-b` into `dir` (a fresh one under the fixture).
fn bundle(f: &Fixture, name: &str) -> PathBuf {
    let dir = f.dir.path().join(name);
    f.ok(&[
        "evidence",
        "bundle",
        "--session",
        "s-b",
        "--output",
        dir.to_str().unwrap(),
        "--key",
        f.key().to_str().unwrap(),
        "--json",
    ]);
    dir
}

/// `verify DIR` with the fixture's public key (or none): exit code and report.
fn verify_bundle(f: &Fixture, dir: &Path, key: Option<&Path>) -> (i32, Value) {
    let mut args = vec![
        "evidence".to_owned(),
        "verify".to_owned(),
        dir.display().to_string(),
        "--json".to_owned(),
    ];
    if let Some(k) = key {
        args.push("--public-key".into());
        args.push(k.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = f.run(&args);
    let report: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code().unwrap(), report)
}

/// A bundle round-trips: written from the store, it verifies offline (the store deleted) with the key.
#[test]
fn bundle_round_trip() {
    let f = Fixture::new(Backend::Sqlite, "bundle").unwrap();
    let dir = bundle(&f, "b");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "chain.json",
            "checkpoint.json",
            "decisions.jsonl",
            "manifest.json",
            "manifest.sig",
            "summary.json"
        ]
    );
    std::fs::remove_file(&f.location).unwrap();
    let (code, report) = verify_bundle(&f, &dir, Some(&f.public_key()));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "intact");
    assert_eq!(report["records"], 6);
    assert_eq!(report["checkpoint"]["state"], "verified");
}

/// A signed bundle without a public key is unverified (exit 2), never intact; a wrong key fails.
#[test]
fn bundle_needs_the_right_key() {
    let f = Fixture::new(Backend::Sqlite, "bundlekey").unwrap();
    let dir = bundle(&f, "b");
    let (code, report) = verify_bundle(&f, &dir, None);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["status"], "unverified");
    let other = f.dir.path().join("other.key");
    f.ok(&["evidence", "keygen", "--output", other.to_str().unwrap()]);
    let (code, report) = verify_bundle(&f, &dir, Some(&PathBuf::from(format!("{}.pub", other.display()))));
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["status"], "tampered");
    assert_finding(&report, "bundle", None, None);
}

/// Each way a bundle's files can be wrong fails verification, naming the file.
#[test]
fn bundle_failures() {
    let f = Fixture::new(Backend::Sqlite, "bundlefail").unwrap();
    let key = f.public_key();
    type Break = fn(&Path);
    let cases: [(&str, Break, &str); 7] = [
        (
            "extra file",
            |d| std::fs::write(d.join("notes.txt"), "x").unwrap(),
            "notes.txt",
        ),
        (
            "missing file",
            |d| std::fs::remove_file(d.join("chain.json")).unwrap(),
            "chain.json",
        ),
        (
            "changed file",
            |d| {
                let p = d.join("decisions.jsonl");
                let text = std::fs::read_to_string(&p)
                    .unwrap()
                    .replacen("\"block\"", "\"allow\"", 1);
                std::fs::write(p, text).unwrap();
            },
            "decisions.jsonl",
        ),
        (
            "manifest path with ..",
            |d| edit_manifest(d, |m| m["files"][0]["path"] = "../decisions.jsonl".into()),
            "signature",
        ),
        (
            "absolute manifest path",
            |d| edit_manifest(d, |m| m["files"][0]["path"] = "/etc/passwd".into()),
            "signature",
        ),
        (
            "symlinked file",
            |d| {
                let p = d.join("summary.json");
                let target = d.parent().unwrap().join("summary-copy.json");
                std::fs::rename(&p, &target).unwrap();
                std::os::unix::fs::symlink(&target, &p).unwrap();
            },
            "summary.json",
        ),
        (
            "removed signature",
            |d| std::fs::remove_file(d.join("manifest.sig")).unwrap(),
            "signature",
        ),
    ];
    for (i, (what, breaks, named)) in cases.iter().enumerate() {
        let dir = bundle(&f, &format!("b{i}"));
        breaks(&dir);
        let (code, report) = verify_bundle(&f, &dir, Some(&key));
        assert_eq!(code, 2, "{what}: {report:#}");
        assert_eq!(report["status"], "tampered", "{what}");
        let text = report["findings"].to_string();
        assert!(text.contains(named), "{what}: findings do not name `{named}`: {text}");
    }
}

/// A manifest whose paths escape the directory fails even when re-signed with the right key.
#[test]
fn resigned_escaping_manifest_fails() {
    let f = Fixture::new(Backend::Sqlite, "bundleescape").unwrap();
    let key = signing_key(&f);
    for path in ["../escape.json", "/etc/passwd", "sub/summary.json"] {
        let dir = bundle(&f, &format!("e{}", path.len()));
        edit_manifest(&dir, |m| m["files"][1]["path"] = path.into());
        let bytes = std::fs::read(dir.join("manifest.json")).unwrap();
        use ed25519_dalek::Signer;
        let sig: String = key.sign(&bytes).to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(dir.join("manifest.sig"), sig).unwrap();
        let (code, report) = verify_bundle(&f, &dir, Some(&f.public_key()));
        assert_eq!(code, 2, "{path}: {report:#}");
        assert!(report["findings"].to_string().contains(path), "{path}: {report:#}");
    }
}

/// The fixture's signing key.
fn signing_key(f: &Fixture) -> ed25519_dalek::SigningKey {
    let secret = std::fs::read_to_string(f.key()).unwrap();
    let seed: Vec<u8> = secret
        .lines()
        .find(|l| !l.starts_with('#'))
        .map(|h| {
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect()
        })
        .unwrap();
    ed25519_dalek::SigningKey::from_bytes(&seed.try_into().unwrap())
}

/// Rewrites the manifest to list `files` as they now are (hashes, sizes) and re-signs it with the
/// fixture's key: a bundle as an exporter holding the key would have written it.
fn resign(f: &Fixture, dir: &Path, files: &[&str], decision_count: u64) {
    use ed25519_dalek::Signer;
    use sha2::Digest;
    edit_manifest(dir, |m| {
        m["decision_count"] = decision_count.into();
        m["files"] = files
            .iter()
            .map(|name| {
                let bytes = std::fs::read(dir.join(name)).unwrap();
                serde_json::json!({
                    "path": name,
                    "sha256": integrity::hex(&sha2::Sha256::digest(&bytes)),
                    "bytes": bytes.len(),
                })
            })
            .collect();
    });
    let bytes = std::fs::read(dir.join("manifest.json")).unwrap();
    let sig: String = signing_key(f)
        .sign(&bytes)
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(dir.join("manifest.sig"), sig).unwrap();
}

fn bundle_of(f: &Fixture, session: &str, name: &str) -> PathBuf {
    let dir = f.dir.path().join(name);
    f.ok(&[
        "evidence",
        "bundle",
        "--session",
        session,
        "--output",
        dir.to_str().unwrap(),
        "--key",
        f.key().to_str().unwrap(),
        "--json",
    ]);
    dir
}

/// Review finding 3: a session begun after the latest checkpoint bundles without it and verifies
/// intact, saying what it could not check; a session grown since the checkpoint verifies intact
/// with its covered part checked; an older bundle carrying a checkpoint that does not cover its
/// session is intact too, never tampered.
#[test]
fn bundle_of_a_session_newer_than_the_checkpoint_verifies() {
    let f = Fixture::new(Backend::Sqlite, "bundlenew").unwrap();
    f.ok(&["demo", "--session-id", "s-d", "--json"]);
    f.ok(&["demo", "--session-id", "s-b", "--json"]);
    let dir = bundle_of(&f, "s-d", "new");
    assert!(!dir.join("checkpoint.json").exists());
    let (code, report) = verify_bundle(&f, &dir, Some(&f.public_key()));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "intact");
    assert_eq!(report["checkpoint"]["state"], "absent");
    assert!(report["not_checked"].to_string().contains("checkpoint"), "{report:#}");

    let grown = bundle_of(&f, "s-b", "grown");
    let (code, report) = verify_bundle(&f, &grown, Some(&f.public_key()));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["records"], 12);
    assert_eq!(report["checkpoint"]["state"], "verified");
    assert!(
        report["not_checked"].to_string().contains("decisions 7..=12"),
        "{report:#}"
    );

    // A bundle written before this fix: the store's latest checkpoint, not covering s-d.
    let row: (String, String, String, i64, i64, String, String) = rusqlite::Connection::open(&f.location)
        .unwrap()
        .query_row(
            "SELECT checkpoint_id, created_at, key_id, session_count, decision_count, payload, signature              FROM evidence_checkpoints",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .unwrap();
    let checkpoint = serde_json::json!({
        "checkpoint_id": row.0, "created_at": row.1, "key_id": row.2, "session_count": row.3,
        "decision_count": row.4, "payload": row.5, "signature": row.6,
    });
    std::fs::write(dir.join("checkpoint.json"), checkpoint.to_string()).unwrap();
    resign(
        &f,
        &dir,
        &["decisions.jsonl", "summary.json", "chain.json", "checkpoint.json"],
        6,
    );
    let (code, report) = verify_bundle(&f, &dir, Some(&f.public_key()));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "intact");
    assert_eq!(report["checkpoint"]["state"], "does_not_cover");
}

/// Review finding 9: a bundle holds exactly its session's records. A record the store files
/// under the session but that belongs to another is refused when bundling; a bundle carrying a
/// foreign record (even re-signed with the right key) fails verification naming it.
#[test]
fn bundle_refuses_foreign_records() {
    let f = Fixture::new(Backend::Sqlite, "bundleforeign").unwrap();
    let records = f.raw().records();
    let a = of_session(&records, "s-a");
    let dir = bundle_of(&f, "s-b", "b");
    // The store's session column of one s-a record now says s-b.
    let conn = rusqlite::Connection::open(&f.location).unwrap();
    conn.execute(
        "UPDATE activity_decisions SET session_id = 's-b' WHERE decision_id = ?1",
        [&a[2].decision_id],
    )
    .unwrap();
    let out = f.run(&[
        "evidence",
        "bundle",
        "--session",
        "s-b",
        "--output",
        f.dir.path().join("moved").to_str().unwrap(),
        "--key",
        f.key().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&a[2].decision_id));

    // A foreign record appended to a bundle that is re-signed.
    let path = dir.join("decisions.jsonl");
    let mut lines = std::fs::read_to_string(&path).unwrap();
    lines.push_str(&serde_json::to_string(&a[2]).unwrap());
    lines.push('\n');
    std::fs::write(&path, lines).unwrap();
    resign(
        &f,
        &dir,
        &["decisions.jsonl", "summary.json", "chain.json", "checkpoint.json"],
        7,
    );
    let (code, report) = verify_bundle(&f, &dir, Some(&f.public_key()));
    assert_tampered(code, &report);
    assert_finding(&report, "inserted", Some(&a[2].decision_id), Some("s-b"));
}

fn edit_manifest(dir: &Path, f: impl FnOnce(&mut Value)) {
    let p = dir.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    f(&mut m);
    std::fs::write(p, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

/// `bundle` refuses a non-empty output directory that is not a bundle, even with `--force`.
#[test]
fn bundle_refuses_a_non_empty_directory() {
    let f = Fixture::new(Backend::Sqlite, "bundledir").unwrap();
    let dir = f.dir.path().join("busy");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("keep.txt"), "mine").unwrap();
    for extra in [None, Some("--force")] {
        let mut args = vec![
            "evidence",
            "bundle",
            "--session",
            "s-b",
            "--output",
            dir.to_str().unwrap(),
            "--key",
        ];
        let key = f.key();
        args.push(key.to_str().unwrap());
        args.extend(extra);
        let o = f.run(&args);
        assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(std::fs::read_to_string(dir.join("keep.txt")).unwrap(), "mine");
    // An existing bundle is replaced with --force.
    let b = bundle(&f, "again");
    let o = f.run(&[
        "evidence",
        "bundle",
        "--session",
        "s-a",
        "--output",
        b.to_str().unwrap(),
        "--key",
        f.key().to_str().unwrap(),
        "--force",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A filter column changed beside an untouched record (a `block` listed as `allow`) is named as
/// altered: verify reads the columns lists and filters use, not only the record's JSON.
#[test]
fn changed_column_is_named() {
    let f = Fixture::new(Backend::Sqlite, "column").unwrap();
    let b = of_session(&f.raw().records(), "s-b");
    let conn = rusqlite::Connection::open(&f.location).unwrap();
    let n = conn
        .execute(
            "UPDATE activity_decisions SET decision = 'allow' WHERE decision_id = ?1",
            [&b[3].decision_id],
        )
        .unwrap();
    assert_eq!(n, 1);
    let (code, report) = f.verify();
    assert_tampered(code, &report);
    assert_finding(&report, "altered", Some(&b[3].decision_id), Some("s-b"));
    assert!(
        report["findings"].to_string().contains("indexed column(s) decision"),
        "{report:#}"
    );
}
