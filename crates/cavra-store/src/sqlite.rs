//! The SQLite backend, cavra's embedded default.
//!
//! One writer thread owns the write connection. `append` hands its record over a channel and
//! waits; the writer takes every append that is waiting, commits them in one transaction (one
//! fsync for the whole group) and answers each — so throughput grows with concurrency instead of
//! collapsing to one fsync per decision. Each append runs under its own savepoint, so one bad
//! record fails alone. Reads use their own connections from a small pool; WAL lets them run
//! while the writer commits. Other processes may write the same file: every group runs under
//! `BEGIN IMMEDIATE` and reads the log head and session rows inside it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use cavra_core::DecisionRecord;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params, params_from_iter};

use crate::error::StoreError;
use crate::migrations::{self, MigrationReport};
use crate::model::{DecisionQuery, Page, SessionQuery, SessionSummary, SessionUpdate, encode_cursor, parse_timestamp};
use crate::store::{ActivityStore, ImportReport};
use crate::summary;

/// Most appends committed in one group.
const MAX_GROUP: usize = 512;
/// How long a connection waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

type Reply<T> = mpsc::SyncSender<Result<T, StoreError>>;

enum Job {
    Append(Box<DecisionRecord>, Reply<DecisionRecord>),
    Session(SessionUpdate, Reply<SessionSummary>),
    Import(Vec<SessionSummary>, Vec<DecisionRecord>, Reply<ImportReport>),
}

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// Applies pending migrations to the database at `path` (creating it), atomically.
pub fn migrate(path: &Path) -> Result<MigrationReport, StoreError> {
    let mut conn = open_connection(path)?;
    apply_migrations(&mut conn)
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(StoreError::io(format!("cannot create `{}`", dir.display())))?;
    }
    let conn = Connection::open(path)?;
    configure(&conn)?;
    Ok(conn)
}

fn apply_migrations(conn: &mut Connection) -> Result<MigrationReport, StoreError> {
    conn.execute_batch(migrations::CREATE_SCHEMA_MIGRATIONS)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: Vec<(i64, String, String)> = {
        let mut stmt = tx.prepare("SELECT version, name, checksum FROM cavra_schema_migrations ORDER BY version")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let (todo, already_applied) = migrations::pending(migrations::SQLITE, &applied)?;
    let mut report = MigrationReport {
        applied: Vec::new(),
        already_applied,
    };
    for m in todo {
        tx.execute_batch(m.sql)
            .map_err(|e| StoreError::Migration(format!("`{}` failed: {e}", m.name)))?;
        tx.execute(
            "INSERT INTO cavra_schema_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)",
            params![m.version, m.name, m.checksum(), now()],
        )?;
        report.applied.push(m.name.to_owned());
    }
    tx.commit()?;
    Ok(report)
}

fn now() -> String {
    crate::stamp::rfc3339_micros(chrono::Utc::now())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, applies migrations and starts the
    /// writer.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut conn = open_connection(path)?;
        apply_migrations(&mut conn)?;
        let (tx, rx) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("cavra-sqlite-writer".to_owned())
            .spawn(move || write_loop(conn, rx))
            .map_err(StoreError::io("cannot start the SQLite writer thread"))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            readers: Mutex::new(Vec::new()),
        })
    }

    fn submit<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        {
            let jobs = self
                .jobs
                .lock()
                .map_err(|_| StoreError::Unavailable("writer lock poisoned".into()))?;
            let sender = jobs
                .as_ref()
                .ok_or_else(|| StoreError::Unavailable("the store is closed".into()))?;
            sender
                .send(job(reply))
                .map_err(|_| StoreError::Unavailable("the SQLite writer stopped".into()))?;
        }
        answer
            .recv()
            .map_err(|_| StoreError::Unavailable("the SQLite writer stopped".into()))?
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let pooled = self.readers.lock().ok().and_then(|mut pool| pool.pop());
        let conn = match pooled {
            Some(c) => c,
            None => {
                let flags =
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
                let c = Connection::open_with_flags(&self.path, flags)?;
                c.busy_timeout(BUSY_TIMEOUT)?;
                c
            }
        };
        let result = f(&conn);
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < 16
        {
            pool.push(conn);
        }
        result
    }

    /// Stops the writer after the appends already submitted are committed. Readers close first,
    /// so the writer's connection is the last and checkpoints the WAL into the database file.
    pub fn close(&self) {
        if let Ok(mut pool) = self.readers.lock() {
            pool.clear();
        }
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Some(handle) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = handle.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

fn write_loop(mut conn: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut appends = Vec::new();
        for job in batch {
            match job {
                Job::Append(record, reply) => appends.push((*record, reply)),
                other => {
                    // Keep order: commit the appends received before this job first.
                    commit_appends(&mut conn, std::mem::take(&mut appends));
                    run_other(&mut conn, other);
                }
            }
        }
        commit_appends(&mut conn, appends);
    }
}

fn run_other(conn: &mut Connection, job: Job) {
    match job {
        Job::Session(update, reply) => {
            let _ = reply.send(put_session(conn, &update));
        }
        Job::Import(sessions, decisions, reply) => {
            let _ = reply.send(import(conn, &sessions, &decisions));
        }
        Job::Append(record, reply) => commit_appends(conn, vec![(*record, reply)]),
    }
}

/// Commits a group of appends in one transaction and answers each. An append that fails alone
/// is answered with its error; if the transaction itself fails, every append of the group is
/// answered with that error.
fn commit_appends(conn: &mut Connection, appends: Vec<(DecisionRecord, Reply<DecisionRecord>)>) {
    if appends.is_empty() {
        return;
    }
    let mut pending: std::collections::VecDeque<_> = appends.into();
    let mut outcomes: Vec<(Reply<DecisionRecord>, Result<DecisionRecord, StoreError>)> =
        Vec::with_capacity(pending.len());
    let committed = commit_group(conn, &mut pending, &mut outcomes);
    match committed {
        Ok(()) => {
            for (reply, result) in outcomes {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            let message = e.to_string();
            let unanswered = pending.into_iter().map(|(_, reply)| reply);
            for reply in outcomes.into_iter().map(|(reply, _)| reply).chain(unanswered) {
                let _ = reply.send(Err(StoreError::Unavailable(format!("commit failed: {message}"))));
            }
        }
    }
}

fn commit_group(
    conn: &mut Connection,
    pending: &mut std::collections::VecDeque<(DecisionRecord, Reply<DecisionRecord>)>,
    outcomes: &mut Vec<(Reply<DecisionRecord>, Result<DecisionRecord, StoreError>)>,
) -> Result<(), StoreError> {
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let head: i64 = tx.query_row("SELECT COALESCE(MAX(sequence), 0) FROM activity_decisions", [], |r| {
        r.get(0)
    })?;
    let mut next = u64::try_from(head).unwrap_or(0);
    let mut sessions: HashMap<String, SessionSummary> = HashMap::new();
    while let Some((record, reply)) = pending.pop_front() {
        let sid = record.session_id.clone();
        let current = match sessions.get(&sid) {
            Some(s) => Ok(s.clone()),
            None => load_summary(&tx, &sid).map(|s| s.unwrap_or_else(|| SessionSummary::new(&sid, &record.timestamp))),
        };
        let mut updated = match current {
            Ok(s) => s,
            Err(e) => {
                pending.push_front((record, reply));
                return Err(e);
            }
        };
        updated.evidence_refs.clear();
        let sp = match tx.savepoint() {
            Ok(sp) => sp,
            Err(e) => {
                pending.push_front((record, reply));
                return Err(e.into());
            }
        };
        let result = summary::link(&mut updated, record, next + 1);
        match insert_decision(&sp, &result, true).and_then(|()| write_summary(&sp, &updated)) {
            Ok(()) => {
                sp.commit()?;
                next += 1;
                updated.evidence_refs.clear();
                sessions.insert(sid, updated);
                outcomes.push((reply, Ok(result)));
            }
            Err(e) => {
                drop(sp);
                outcomes.push((reply, Err(e)));
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// Inserts a decision row and, when `refs` is set, its evidence references for the session.
fn insert_decision(conn: &Connection, record: &DecisionRecord, refs: bool) -> Result<(), StoreError> {
    let json = serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let sequence =
        i64::try_from(record.sequence.unwrap_or(0)).map_err(|_| StoreError::Corrupt("sequence overflow".into()))?;
    let ts = parse_timestamp(&record.timestamp).map_err(StoreError::Invalid)?;
    conn.prepare_cached(
        "INSERT INTO activity_decisions (sequence, decision_id, session_id, agent_id, repository, policy_pack, \
         decision, severity, action_type, ts_us, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        sequence,
        record.decision_id,
        record.session_id,
        record.agent_id,
        record.repository,
        record.policy_pack,
        record.decision.as_str(),
        record.severity.as_str(),
        record.action_type.as_str(),
        ts,
        json
    ])
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(format!(
                "decision `{}` (sequence {sequence}) is already stored",
                record.decision_id
            ))
        }
        other => StoreError::Sqlite(other),
    })?;
    if refs {
        let mut insert =
            conn.prepare_cached("INSERT INTO activity_evidence_refs (session_id, sequence, ref) VALUES (?1, ?2, ?3)")?;
        for r in &record.evidence_refs {
            insert.execute(params![record.session_id, sequence, r])?;
        }
    }
    Ok(())
}

/// Writes the summary row; `evidence_refs` live in their own table and are not part of it.
fn write_summary(conn: &Connection, s: &SessionSummary) -> Result<(), StoreError> {
    let mut row = s.clone();
    row.evidence_refs.clear();
    let json = serde_json::to_string(&row).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let updated = parse_timestamp(&s.updated_at).map_err(StoreError::Invalid)?;
    conn.prepare_cached(
        "INSERT INTO activity_sessions (session_id, agent_id, repository, policy_pack, state, updated_at_us, summary) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (session_id) DO UPDATE SET agent_id = excluded.agent_id, \
         repository = excluded.repository, policy_pack = excluded.policy_pack, state = excluded.state, \
         updated_at_us = excluded.updated_at_us, summary = excluded.summary",
    )?
    .execute(params![
        s.session_id,
        s.agent_id,
        s.repository,
        s.policy_pack,
        s.state.as_str(),
        updated,
        json
    ])?;
    Ok(())
}

fn load_summary(conn: &Connection, session_id: &str) -> Result<Option<SessionSummary>, StoreError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT summary FROM activity_sessions WHERE session_id = ?1")?
        .query_row([session_id], |r| r.get(0))
        .optional()?;
    json.map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(format!("session `{session_id}`: {e}"))))
        .transpose()
}

fn with_refs(conn: &Connection, mut s: SessionSummary) -> Result<SessionSummary, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT ref FROM activity_evidence_refs WHERE session_id = ?1 ORDER BY rowid")?;
    s.evidence_refs = stmt
        .query_map([&s.session_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(s)
}

fn put_session(conn: &mut Connection, update: &SessionUpdate) -> Result<SessionSummary, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let at = now();
    let mut s = load_summary(&tx, &update.session_id)?.unwrap_or_else(|| crate::summary::new_session(update, &at));
    crate::summary::update_session(&mut s, update, &at);
    write_summary(&tx, &s)?;
    let s = with_refs(&tx, s)?;
    tx.commit()?;
    Ok(s)
}

fn import(
    conn: &mut Connection,
    sessions: &[SessionSummary],
    decisions: &[DecisionRecord],
) -> Result<ImportReport, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut report = ImportReport::default();
    for d in decisions {
        let Some(sequence) = d.sequence else {
            return Err(StoreError::Invalid(format!(
                "decision `{}` has no sequence; only stored records can be imported",
                d.decision_id
            )));
        };
        let existing: Option<String> = tx
            .prepare_cached("SELECT record FROM activity_decisions WHERE decision_id = ?1 OR sequence = ?2")?
            .query_row(params![d.decision_id, i64::try_from(sequence).unwrap_or(-1)], |r| {
                r.get(0)
            })
            .optional()?;
        match existing {
            Some(json) => {
                let stored: DecisionRecord =
                    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if stored.decision_id != d.decision_id || stored.record_hash != d.record_hash {
                    return Err(StoreError::Conflict(format!(
                        "decision `{}` (sequence {}) differs from the stored `{}`",
                        d.decision_id,
                        d.sequence.unwrap_or(0),
                        stored.decision_id
                    )));
                }
                report.decisions_skipped += 1;
            }
            None => {
                // The session's references come with its summary, below.
                insert_decision(&tx, d, false)?;
                report.decisions_imported += 1;
            }
        }
    }
    for s in sessions {
        if load_summary(&tx, &s.session_id)?.is_some() {
            report.sessions_skipped += 1;
            continue;
        }
        write_summary(&tx, s)?;
        let mut refs =
            tx.prepare_cached("INSERT INTO activity_evidence_refs (session_id, sequence, ref) VALUES (?1, ?2, ?3)")?;
        for (i, r) in s.evidence_refs.iter().enumerate() {
            refs.execute(params![s.session_id, i64::try_from(i).unwrap_or(i64::MAX), r])?;
        }
        report.sessions_imported += 1;
    }
    tx.commit()?;
    Ok(report)
}

/// `WHERE` clauses for a decision query: only the filters given, each an indexable equality.
fn decision_filters(q: &DecisionQuery) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut clauses = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut eq = |col: &str, v: Option<String>| {
        if let Some(v) = v {
            values.push(Value::Text(v));
            clauses.push(format!("{col} = ?{}", values.len()));
        }
    };
    eq("session_id", q.session_id.clone());
    eq("agent_id", q.agent_id.clone());
    eq("repository", q.repository.clone());
    eq("policy_pack", q.policy_pack.clone());
    eq("decision", q.decision.map(|d| d.as_str().to_owned()));
    eq("severity", q.severity.map(|s| s.as_str().to_owned()));
    eq("action_type", q.action_type.map(|a| a.as_str().to_owned()));
    if let Some(since) = q.since_micros {
        values.push(Value::Integer(since));
        clauses.push(format!("ts_us >= ?{}", values.len()));
    }
    if let Some(until) = q.until_micros {
        values.push(Value::Integer(until));
        clauses.push(format!("ts_us <= ?{}", values.len()));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    (sql, values)
}

/// An offset SQLite can take (it is an `i64` there).
fn sql_offset(offset: u64) -> Result<i64, StoreError> {
    i64::try_from(offset).map_err(|_| StoreError::Invalid(format!("offset {offset} is too large")))
}

fn parse_record(json: &str) -> Result<DecisionRecord, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("decision record: {e}")))
}

impl ActivityStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn append(&self, record: DecisionRecord) -> Result<DecisionRecord, StoreError> {
        crate::summary::check(&record)?;
        self.submit(|reply| Job::Append(Box::new(record), reply))
    }

    fn get_decision(&self, decision_id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        self.read(|c| {
            let json: Option<String> = c
                .prepare_cached("SELECT record FROM activity_decisions WHERE decision_id = ?1")?
                .query_row([decision_id], |r| r.get(0))
                .optional()?;
            json.as_deref().map(parse_record).transpose()
        })
    }

    fn list_decisions(&self, q: &DecisionQuery) -> Result<Page<DecisionRecord>, StoreError> {
        self.read(|c| {
            // One read transaction: the total and the page see the same snapshot.
            let _snapshot = c.unchecked_transaction()?;
            let (filters, mut values) = decision_filters(q);
            let total: i64 = c
                .prepare_cached(&format!("SELECT COUNT(*) FROM activity_decisions{filters}"))?
                .query_row(params_from_iter(values.iter()), |r| r.get(0))?;
            let mut sql = format!("SELECT record FROM activity_decisions{filters}");
            if let Some(before) = q.before_sequence {
                values.push(rusqlite::types::Value::Integer(
                    i64::try_from(before).unwrap_or(i64::MAX),
                ));
                let joiner = if filters.is_empty() { " WHERE" } else { " AND" };
                sql.push_str(&format!("{joiner} sequence < ?{}", values.len()));
            }
            let offset = if q.before_sequence.is_some() {
                0
            } else {
                sql_offset(q.offset)?
            };
            sql.push_str(&format!(
                " ORDER BY sequence DESC LIMIT {} OFFSET {offset}",
                u64::from(q.limit) + 1
            ));
            let mut stmt = c.prepare_cached(&sql)?;
            let rows: Vec<String> = stmt
                .query_map(params_from_iter(values.iter()), |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut items: Vec<DecisionRecord> = rows.iter().map(|j| parse_record(j)).collect::<Result<_, _>>()?;
            let more = items.len() > q.limit as usize;
            items.truncate(q.limit as usize);
            let next_cursor = if more {
                items.last().and_then(|d| d.sequence).map(encode_cursor)
            } else {
                None
            };
            Ok(Page {
                items,
                total: u64::try_from(total).unwrap_or(0),
                limit: q.limit,
                offset: q.offset,
                next_cursor,
            })
        })
    }

    fn get_session(&self, session_id: &str) -> Result<Option<SessionSummary>, StoreError> {
        self.read(|c| {
            // The summary and its refs from one snapshot.
            let _snapshot = c.unchecked_transaction()?;
            load_summary(c, session_id)?.map(|s| with_refs(c, s)).transpose()
        })
    }

    fn list_sessions(&self, q: &SessionQuery) -> Result<Page<SessionSummary>, StoreError> {
        self.read(|c| {
            let _snapshot = c.unchecked_transaction()?;
            let mut clauses = Vec::new();
            let mut values = Vec::new();
            for (col, v) in [
                ("agent_id", q.agent_id.clone()),
                ("repository", q.repository.clone()),
                ("policy_pack", q.policy_pack.clone()),
                ("state", q.state.map(|s| s.as_str().to_owned())),
            ] {
                if let Some(v) = v {
                    values.push(v);
                    clauses.push(format!("{col} = ?{}", values.len()));
                }
            }
            let filters = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
            let total: i64 = c
                .prepare_cached(&format!("SELECT COUNT(*) FROM activity_sessions{filters}"))?
                .query_row(params_from_iter(values.iter()), |r| r.get(0))?;
            let sql = format!(
                "SELECT summary FROM activity_sessions{filters} ORDER BY updated_at_us DESC, session_id DESC LIMIT {} OFFSET {}",
                q.limit,
                sql_offset(q.offset)?
            );
            let rows: Vec<String> = c.prepare_cached(&sql)?.query_map(params_from_iter(values.iter()), |r| r.get(0))?.collect::<Result<_, _>>()?;
            let items = rows
                .iter()
                .map(|j| {
                    let s: SessionSummary = serde_json::from_str(j).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    with_refs(c, s)
                })
                .collect::<Result<_, _>>()?;
            Ok(Page { items, total: u64::try_from(total).unwrap_or(0), limit: q.limit, offset: q.offset, next_cursor: None })
        })
    }

    fn put_session(&self, update: &SessionUpdate) -> Result<SessionSummary, StoreError> {
        crate::summary::check_text("session_id", &update.session_id)?;
        let update = update.clone();
        self.submit(|reply| Job::Session(update, reply))
    }

    fn session_decisions(&self, session_id: &str) -> Result<Vec<DecisionRecord>, StoreError> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT record FROM activity_decisions WHERE session_id = ?1 ORDER BY sequence")?;
            let rows: Vec<String> = stmt.query_map([session_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
            rows.iter().map(|j| parse_record(j)).collect()
        })
    }

    fn all_sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        self.read(|c| {
            let _snapshot = c.unchecked_transaction()?;
            let mut stmt = c.prepare_cached("SELECT summary FROM activity_sessions ORDER BY session_id")?;
            let rows: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            rows.iter()
                .map(|j| {
                    let s: SessionSummary = serde_json::from_str(j).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    with_refs(c, s)
                })
                .collect()
        })
    }

    fn import(&self, sessions: &[SessionSummary], decisions: &[DecisionRecord]) -> Result<ImportReport, StoreError> {
        let (s, d) = (sessions.to_vec(), decisions.to_vec());
        self.submit(|reply| Job::Import(s, d, reply))
    }
}
