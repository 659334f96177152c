//! The SQLite backend, cavra's embedded default.
//!
//! One writer thread owns the write connection. `append` prepares its record on the caller's
//! thread (timestamp parsed, JSON rendered, hashing begun: [`Presealed`]) and hands it over a
//! channel; the writer takes every append that is waiting, commits them in one transaction (one
//! fsync for the whole group) and answers each — so throughput grows with concurrency instead of
//! collapsing to one fsync per decision. What a commit costs is mostly the pages it dirties (two
//! `pwrite`s per WAL frame, then the fsync), so a group writes each decision once, and each
//! touched session's row and each changed count once per group, not once per decision; and a
//! session row's filter columns are only set when they change. There are no savepoints: what
//! can fail for one record alone (a bad timestamp, a repeated id) fails before that record
//! writes anything, so nothing needs undoing; any other failure rolls the group back, and the
//! group is retried one append per transaction so that each caller still gets its own answer.
//!
//! Session summaries stay cached in the writer between groups; `PRAGMA data_version` tells when
//! another connection (another process) wrote, and the cache is then dropped. List totals are
//! read from `activity_counts` and `activity_sessions.decision_rows`, which the same
//! transactions keep, so they are exact after crashes, imports and writes from other processes
//! (see `decision_total`).
//!
//! Checkpoints stay off the writer's path: every 4096 frames (16 MiB), a checkpointer
//! thread with its own connection copies the WAL into the database. Restarting the WAL from its
//! beginning needs the last frames copied and the database fsync'd by the writer, a stall of
//! 10-30 ms on a busy disk, so the writer does it when idle, or under load once the WAL reaches
//! 256 MiB and the checkpointer (which keeps copying past that size) has left at most 4 MiB for
//! the writer to copy. The WAL file is not cut back when it restarts: it is written over in
//! place. Reads use their own connections (not memory-mapped) from a small pool; WAL lets them
//! run while the writer commits. Other processes may write the same file: every group
//! runs under `BEGIN IMMEDIATE` and reads the log head and session rows inside it.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::ffi::c_int;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cavra_core::{DecisionRecord, integrity};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params, params_from_iter};

use crate::counts::{self, Counts, DecisionTotal, SessionKeys};
use crate::error::StoreError;
use crate::evidence::{CheckpointRow, DecisionColumns, LogHeads, StoredDecision};
use crate::migrations::{self, MigrationReport};
use crate::model::{
    ActivityOverview, DecisionQuery, HourRange, Page, SessionQuery, SessionSummary, SessionUpdate, encode_cursor,
    parse_timestamp,
};
use crate::outcome::{OutcomeReport, ToolOutcome, ToolStatus};
use crate::seal::Presealed;
use crate::store::{ActivityStore, ImportReport, StoreObserver};
use crate::summary;

/// Most appends committed in one group.
const MAX_GROUP: usize = 512;
/// How long a connection waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// The same for a one-shot process (the agent hook): well inside the agent's hook timeout
/// (Claude Code's is 10 s as `cavra init` installs it), so that a store held by another writer
/// fails closed with a message instead of the agent giving up on the hook.
const ONE_SHOT_BUSY_TIMEOUT: Duration = Duration::from_secs(3);
/// Frames (pages) committed to the WAL since the last copy after which the checkpointer copies
/// them into the database: 16 MiB.
const CHECKPOINT_FRAMES: i64 = 4096;
/// WAL size in frames at which the writer restarts it even under load: 256 MiB. Restarting
/// means copying the last frames and fsyncing the database on the writer's path (10-30 ms on
/// a busy disk), so it waits for an idle moment until then.
const RESTART_FRAMES_MAX: i64 = 65536;
/// Frames the checkpointer may leave uncopied when the writer restarts an overlong WAL under
/// load (4 MiB): the writer copies them itself, on its path.
const RESTART_SLACK: i64 = 1024;
/// How long the writer waits for a job before it counts as idle.
const IDLE: Duration = Duration::from_millis(20);
/// A one-shot store leaves a WAL of fewer frames than this uncheckpointed at close (1 MiB): the
/// next process to open the database reads the whole WAL to rebuild its index, so the WAL a
/// one-shot close leaves must stay small.
const ONE_SHOT_WAL_FRAMES: i64 = 256;
/// Size the WAL file is cut back to when it restarts, in bytes: above what it reaches before
/// the writer restarts it under load ([`RESTART_FRAMES_MAX`] frames, ~256 MiB), so a restarted
/// WAL is written over in place. Frames written over the file's cached blocks cost the writer
/// about 15% less CPU than frames appended to a freshly cut file (no block allocation, no new
/// page-cache pages; docs/PERFORMANCE.md). The limit still cuts back a WAL that grew past it:
/// one a long read held open, or one the writer restarted only at twice the restart size
/// because the checkpointer could not catch up. The file keeps its size while the server runs.
const JOURNAL_SIZE_LIMIT: i64 = 320 << 20;
/// Page cache of the writer, in KiB: index interiors and the pages appends write stay cached
/// (a page missing here is read back from the WAL with a syscall). Much larger is not better:
/// SQLite scans the cache's hash table at the end of each transaction.
const WRITER_CACHE_KIB: i64 = 8192;
/// Statements the writer keeps prepared: its own few, plus up to 16 variants of the session
/// update (one per set of changed filter columns).
const WRITER_STATEMENTS: usize = 48;
/// Page cache of each reader, in KiB.
const READER_CACHE_KIB: i64 = 2048;
/// Bytes of the database file each connection maps into memory: none. A map saves a syscall
/// per page read, but every page it touches counts as the server's resident memory — at 1M
/// decisions that is gigabytes — while `pread` into the bounded page caches keeps the server
/// within its memory budget at a small cost in throughput (docs/PERFORMANCE.md).
const MMAP_BYTES: i64 = 0;
/// Reader connections kept open for reuse.
const READER_POOL: usize = 16;
/// Session summaries the writer keeps between groups; past this the cache starts afresh.
const SESSION_CACHE: usize = 65536;

type Reply<T> = mpsc::SyncSender<Result<T, StoreError>>;

use crate::store::AppendDone;

/// An append as the caller's thread prepared it for the writer.
struct Pending {
    record: Presealed,
    ts_us: i64,
    /// The record's evidence refs as a JSON array, if it has any.
    refs: Option<String>,
    reply: AppendDone,
}

/// The parts of a [`Pending`] that outlive sealing.
struct Prepared {
    ts_us: i64,
    refs: Option<String>,
    reply: AppendDone,
}

impl Pending {
    /// Prepares an append; on failure the error comes back with `reply`, unanswered.
    fn new(record: DecisionRecord, reply: AppendDone) -> Result<Pending, (StoreError, AppendDone)> {
        let prepared = (|| {
            let ts_us = parse_timestamp(&record.timestamp).map_err(StoreError::Invalid)?;
            let refs = if record.evidence_refs.is_empty() {
                None
            } else {
                Some(to_json(&record.evidence_refs)?)
            };
            Ok((Presealed::new(record), ts_us, refs))
        })();
        match prepared {
            Ok((record, ts_us, refs)) => Ok(Pending {
                record,
                ts_us,
                refs,
                reply,
            }),
            Err(e) => Err((e, reply)),
        }
    }

    fn split(self) -> (Presealed, Prepared) {
        let Pending {
            record,
            ts_us,
            refs,
            reply,
        } = self;
        (record, Prepared { ts_us, refs, reply })
    }
}

impl Prepared {
    /// Back to a pending append, unsealed, for another try.
    fn retry(self, sealed: DecisionRecord) -> Pending {
        Pending {
            record: Presealed::new(sealed),
            ts_us: self.ts_us,
            refs: self.refs,
            reply: self.reply,
        }
    }
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

enum Job {
    Append(Box<Pending>),
    Session(SessionUpdate, Reply<SessionSummary>),
    Import(Vec<SessionSummary>, Vec<DecisionRecord>, Reply<ImportReport>),
    Outcome(OutcomeReport, String, Reply<Option<ToolOutcome>>),
}

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    observer: Arc<OnceLock<Arc<dyn StoreObserver>>>,
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
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

/// `(version, name, checksum)` of every migration applied, in order.
fn applied_migrations(conn: &Connection) -> Result<Vec<(i64, String, String)>, StoreError> {
    let mut stmt = conn.prepare("SELECT version, name, checksum FROM cavra_schema_migrations ORDER BY version")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn apply_migrations(conn: &mut Connection) -> Result<MigrationReport, StoreError> {
    conn.execute_batch(migrations::CREATE_SCHEMA_MIGRATIONS)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied = applied_migrations(&tx)?;
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

/// A one-shot process (the agent hook, which its agent gives up on after a few seconds) migrates
/// only a new database — milliseconds; an existing store behind the binary's migrations is an
/// error naming the command that migrates it, since a migration over a large store (a backfill)
/// could outlast the hook's deadline. Nothing is written when nothing is pending.
fn one_shot_migrations(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    conn.execute_batch(migrations::CREATE_SCHEMA_MIGRATIONS)?;
    let applied = applied_migrations(conn)?;
    let (todo, _) = migrations::pending(migrations::SQLITE, &applied)?;
    if todo.is_empty() {
        return Ok(());
    }
    if !applied.is_empty() {
        let names: Vec<&str> = todo.iter().map(|m| m.name).collect();
        return Err(StoreError::Migration(format!(
            "the activity store `{}` needs {} migration(s) this cavra brings ({}); migrate it once with \
             `cavra evidence migrate --sqlite {}` (a hook does not migrate an existing store: it \
             could outlast the agent's hook timeout)",
            path.display(),
            todo.len(),
            names.join(", "),
            path.display()
        )));
    }
    apply_migrations(conn).map(drop)
}

/// A row of `SELECT checkpoint_id, created_at, key_id, session_count, decision_count, payload,
/// signature FROM evidence_checkpoints`.
fn checkpoint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckpointRow> {
    Ok(CheckpointRow {
        checkpoint_id: r.get(0)?,
        created_at: r.get(1)?,
        key_id: r.get(2)?,
        session_count: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
        decision_count: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
        payload: r.get(5)?,
        signature: r.get(6)?,
    })
}

fn now() -> String {
    crate::stamp::rfc3339_micros(chrono::Utc::now())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, applies migrations and starts the
    /// writer and its checkpointer.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, false)
    }

    /// Opens like [`open`](Self::open) for a process that appends a few decisions and exits
    /// (an agent hook): while the WAL is small (under 1 MiB), closing does not checkpoint it into
    /// the database, so the process ends without the two extra fsyncs and the WAL file (with its
    /// directory fsync) is reused by the next one; a larger WAL is checkpointed at close as usual,
    /// which keeps what the next opener must read bounded. Durability is the same: a commit
    /// returns only once the WAL is fsync'd.
    ///
    /// Being short-lived and on an agent's deadline, it also opens one connection (no
    /// checkpointer), waits at most 3 s for another writer's lock, and migrates only a new
    /// database: an existing one with pending migrations is an error naming the command that
    /// migrates it.
    pub fn open_one_shot(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, true)
    }

    fn open_with(path: &Path, one_shot: bool) -> Result<SqliteStore, StoreError> {
        let mut conn = open_connection(path)?;
        if one_shot {
            conn.busy_timeout(ONE_SHOT_BUSY_TIMEOUT)?;
            one_shot_migrations(&mut conn, path)?;
        } else {
            apply_migrations(&mut conn)?;
        }
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
        // Room for every statement the writer prepares, the session update's variants included.
        conn.set_prepared_statement_cache_capacity(WRITER_STATEMENTS);
        let observer = Arc::new(OnceLock::new());
        let checkpoints = Checkpoints::start(path, &mut conn, one_shot)?;
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            conn,
            sessions: HashMap::new(),
            data_version: None,
            observer: Arc::clone(&observer),
            checkpoints,
        };
        let writer = std::thread::Builder::new()
            .name("cavra-sqlite-writer".to_owned())
            .spawn(move || writer.run(&rx))
            .map_err(StoreError::io("cannot start the SQLite writer thread"))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            readers: Mutex::new(Vec::new()),
            observer,
        })
    }

    /// Hands an append to the writer without waiting; when it cannot be queued, it is answered
    /// here with the reason.
    fn enqueue(&self, pending: Pending) {
        let refused = match self.jobs.lock() {
            Err(_) => Some((pending, "writer lock poisoned")),
            Ok(jobs) => match jobs.as_ref() {
                None => Some((pending, "the store is closed")),
                Some(sender) => match sender.send(Job::Append(Box::new(pending))) {
                    Ok(()) => None,
                    Err(mpsc::SendError(Job::Append(p))) => Some((*p, "the SQLite writer stopped")),
                    Err(_) => None,
                },
            },
        };
        if let Some((p, why)) = refused {
            (p.reply)(Err(StoreError::Unavailable(why.into())));
        }
    }

    /// Hands `job` to the writer and waits for its answer on `answer`.
    fn submit<T>(&self, answer: mpsc::Receiver<Result<T, StoreError>>, job: Job) -> Result<T, StoreError> {
        {
            let jobs = self
                .jobs
                .lock()
                .map_err(|_| StoreError::Unavailable("writer lock poisoned".into()))?;
            let sender = jobs
                .as_ref()
                .ok_or_else(|| StoreError::Unavailable("the store is closed".into()))?;
            sender
                .send(job)
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
                c.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
                c.pragma_update(None, "mmap_size", MMAP_BYTES)?;
                c.pragma_update(None, "temp_store", "MEMORY")?;
                c
            }
        };
        let result = f(&conn);
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < READER_POOL
        {
            pool.push(conn);
        }
        result
    }

    /// Stops the writer after the appends already submitted are committed. Readers close first,
    /// then the checkpointer, so the writer's connection is the last and checkpoints the WAL into
    /// the database file.
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

// ---------------------------------------------------------------------------------------------
// Checkpoints, off the writer's path.

/// What the writer's WAL hook, the checkpointer and the writer share.
struct CheckpointState {
    /// Frames in the WAL after the writer's latest commit, as its hook last heard.
    frames: AtomicI64,
    /// Frames of the WAL the checkpointer has copied into the database.
    copied: AtomicI64,
    /// The checkpointer is awake (so the hook does not wake it twice).
    copying: AtomicBool,
    /// The WAL reached [`RESTART_FRAMES_MAX`]: the writer restarts it before its next group.
    overdue: AtomicBool,
}

/// The checkpointer thread and the state it shares with the writer.
struct Checkpoints {
    state: Arc<CheckpointState>,
    thread: Option<JoinHandle<()>>,
    one_shot: bool,
}

impl Checkpoints {
    /// Starts the checkpointer on its own connection and hooks the writer's commits to it (the
    /// hook replaces SQLite's own automatic checkpoint, which would run on the writer).
    /// A one-shot store has no checkpointer (its process appends once and exits); the hook
    /// still counts the WAL's frames, which decide whether closing checkpoints.
    fn start(path: &Path, writer: &mut Connection, one_shot: bool) -> Result<Checkpoints, StoreError> {
        let conn = if one_shot { None } else { Some(open_connection(path)?) };
        let state = Arc::new(CheckpointState {
            frames: AtomicI64::new(0),
            copied: AtomicI64::new(0),
            copying: AtomicBool::new(false),
            overdue: AtomicBool::new(false),
        });
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let hook_state = Arc::clone(&state);
        writer.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames: c_int| {
            let frames = i64::from(frames);
            let s = &hook_state;
            s.frames.store(frames, Ordering::Relaxed);
            if frames < s.copied.load(Ordering::Relaxed) {
                // The WAL restarted.
                s.copied.store(0, Ordering::Relaxed);
            }
            // Past the restart size the checkpointer keeps copying, so that the writer's own
            // copy before it restarts the WAL is short.
            if (frames - s.copied.load(Ordering::Relaxed) >= CHECKPOINT_FRAMES || frames >= RESTART_FRAMES_MAX)
                && !s.copying.swap(true, Ordering::AcqRel)
                && wake.try_send(()).is_err()
            {
                s.copying.store(false, Ordering::Release);
            }
            if frames >= RESTART_FRAMES_MAX {
                s.overdue.store(true, Ordering::Release);
            }
            Ok(())
        }))?;
        let Some(conn) = conn else {
            return Ok(Checkpoints {
                state,
                thread: None,
                one_shot,
            });
        };
        let thread_state = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("cavra-sqlite-checkpointer".to_owned())
            .spawn(move || {
                // Ends when the writer removes its hook, which holds the only sender.
                while woken.recv().is_ok() {
                    if let Some(copied) = checkpoint(&conn) {
                        thread_state.copied.store(copied, Ordering::Relaxed);
                    }
                    thread_state.copying.store(false, Ordering::Release);
                }
            })
            .map_err(StoreError::io("cannot start the SQLite checkpointer thread"))?;
        Ok(Checkpoints {
            state,
            thread: Some(thread),
            one_shot,
        })
    }

    /// Called by the writer before a group: restarts an overlong WAL once the checkpointer has
    /// copied all but [`RESTART_SLACK`] frames of it (the writer copies the rest and fsyncs the
    /// database, a stall that grows with what is left), or at once past twice the restart size,
    /// or without a checkpointer.
    fn before_group(&self, conn: &Connection) {
        let s = &self.state;
        if !s.overdue.load(Ordering::Acquire) {
            return;
        }
        let frames = s.frames.load(Ordering::Relaxed);
        let left = frames - s.copied.load(Ordering::Relaxed);
        if left <= RESTART_SLACK || frames >= 2 * RESTART_FRAMES_MAX || self.thread.is_none() {
            s.overdue.store(false, Ordering::Release);
            self.restart(conn);
        }
    }

    /// Called by the writer when no job came for [`IDLE`]: restarts the WAL if it is worth it.
    fn when_idle(&self, conn: &Connection) {
        if self.state.frames.load(Ordering::Relaxed) >= CHECKPOINT_FRAMES {
            self.restart(conn);
        }
    }

    /// Copies what the checkpointer has not (a few groups' worth), after which the next write
    /// restarts the WAL from its beginning (readers permitting). This fsyncs the database, so
    /// it is kept off the busy path: only when idle, or once the WAL reached its cap.
    fn restart(&self, conn: &Connection) {
        if let Some(copied) = checkpoint(conn) {
            self.state.copied.store(copied, Ordering::Relaxed);
        }
    }

    /// Stops the checkpointer: unhooks the writer (dropping the hook's sender) and waits.
    fn stop(&mut self, writer: &mut Connection) {
        let _ = writer.wal_hook(None::<fn(&mut rusqlite::hooks::Wal, c_int) -> rusqlite::Result<()>>);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // The writer's connection closes last; a one-shot store skips its checkpoint (and the
        // WAL's deletion) while the WAL is small. Failing to set it only costs the checkpoint.
        if self.one_shot && self.state.frames.load(Ordering::Relaxed) < ONE_SHOT_WAL_FRAMES {
            let _ = writer.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true);
        }
    }
}

/// A passive checkpoint: copies what it can without waiting for anyone. Returns how many frames
/// of the WAL are now in the database, if it ran.
fn checkpoint(conn: &Connection) -> Option<i64> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(2))
        .ok()
}

// ---------------------------------------------------------------------------------------------
// The writer.

/// A session as the writer last committed it (or is about to, within a group).
struct CachedSession {
    /// The summary, without `evidence_refs` (they are read from their rows).
    summary: SessionSummary,
    /// The filter columns of its stored row; `None` while it has no row.
    row: Option<SessionKeys>,
}

/// Writes the changed counts to `activity_counts`: one upsert per key.
fn write_counts(conn: &Connection, counts: Counts) -> Result<(), StoreError> {
    let mut upsert = conn.prepare_cached(
        "INSERT INTO activity_counts (kind, value, n) VALUES (?1, ?2, ?3) \
         ON CONFLICT (kind, value) DO UPDATE SET n = n + excluded.n",
    )?;
    for (kind, value, n) in counts.into_rows() {
        upsert.execute(params![kind, value, n])?;
    }
    Ok(())
}

/// An append the group has dealt with: sealed, and stored unless `error` says otherwise.
struct Done {
    sealed: DecisionRecord,
    error: Option<StoreError>,
    prepared: Prepared,
}

struct Writer {
    conn: Connection,
    sessions: HashMap<String, CachedSession>,
    /// `PRAGMA data_version` when `sessions` was last known to match the database.
    data_version: Option<i64>,
    observer: Arc<OnceLock<Arc<dyn StoreObserver>>>,
    checkpoints: Checkpoints,
}

impl Writer {
    fn run(mut self, jobs: &mpsc::Receiver<Job>) {
        loop {
            let first = match jobs.recv_timeout(IDLE) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.checkpoints.when_idle(&self.conn);
                    match jobs.recv() {
                        Ok(job) => job,
                        Err(_) => break,
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            let mut batch = vec![first];
            while batch.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.checkpoints.before_group(&self.conn);
            let mut appends = Vec::new();
            for job in batch {
                match job {
                    Job::Append(pending) => appends.push(*pending),
                    other => {
                        // Keep order: commit the appends received before this job first.
                        self.commit_appends(std::mem::take(&mut appends));
                        self.run_other(other);
                    }
                }
            }
            self.commit_appends(appends);
        }
        self.checkpoints.stop(&mut self.conn);
    }

    fn run_other(&mut self, job: Job) {
        match job {
            Job::Session(update, reply) => {
                let result = self.put_session(&update);
                if result.is_err() {
                    self.forget();
                }
                let _ = reply.send(result);
            }
            Job::Import(sessions, decisions, reply) => {
                // Imported rows change summaries and counts behind the cache.
                self.forget();
                let _ = reply.send(import(&self.conn, &sessions, &decisions));
            }
            Job::Outcome(report, recorded_at, reply) => {
                let _ = reply.send(record_outcome(&self.conn, &report, &recorded_at));
            }
            Job::Append(pending) => self.commit_appends(vec![*pending]),
        }
    }

    /// Drops every cached summary: the next group reads what is stored.
    fn forget(&mut self) {
        self.sessions.clear();
        self.data_version = None;
    }

    /// Commits a group of appends in one transaction and answers each. If the transaction
    /// fails, nothing of it is stored, and each append is tried again in a transaction of its
    /// own, so that each caller gets its own answer.
    fn commit_appends(&mut self, batch: Vec<Pending>) {
        if batch.is_empty() {
            return;
        }
        let started = Instant::now();
        let mut pending: VecDeque<Pending> = batch.into();
        let mut done = Vec::with_capacity(pending.len());
        match self.write_group(&mut pending, &mut done) {
            Ok(()) => {
                // Observed before anyone is answered: once an append returns, its group was seen.
                let stored = done.iter().filter(|d| d.error.is_none()).count();
                if stored > 0
                    && let Some(observer) = self.observer.get()
                {
                    observer.group_committed(stored, started.elapsed());
                }
                for d in done {
                    let result = match d.error {
                        None => Ok(d.sealed),
                        Some(e) => Err(e),
                    };
                    (d.prepared.reply)(result);
                }
            }
            Err(e) => {
                self.forget();
                let mut again: Vec<Pending> = done.into_iter().map(|d| d.prepared.retry(d.sealed)).collect();
                again.extend(pending);
                if let [_] = again.as_slice() {
                    if let Some(p) = again.pop() {
                        (p.reply)(Err(e));
                    }
                } else {
                    for p in again {
                        self.commit_appends(vec![p]);
                    }
                }
            }
        }
    }

    /// Writes the group: each decision as it comes, then each touched session's row and the
    /// changed counts once, then commits.
    fn write_group(&mut self, pending: &mut VecDeque<Pending>, done: &mut Vec<Done>) -> Result<(), StoreError> {
        let Writer {
            conn,
            sessions,
            data_version,
            ..
        } = self;
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        let version: i64 = tx.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))?;
        if *data_version != Some(version) || sessions.len() > SESSION_CACHE {
            // Another connection wrote since: summaries may have moved on.
            sessions.clear();
        }
        *data_version = None;
        let head: i64 = tx
            .prepare_cached("SELECT COALESCE(MAX(sequence), 0) FROM activity_decisions")?
            .query_row([], |r| r.get(0))?;
        let mut next = u64::try_from(head).unwrap_or(0);
        let mut touched: HashMap<String, i64> = HashMap::new();
        let mut counts = Counts::default();
        while let Some(p) = pending.pop_front() {
            let session = match cached_session(&tx, sessions, &p) {
                Ok(s) => s,
                Err(e) => {
                    pending.push_front(p);
                    return Err(e);
                }
            };
            let (record, prepared) = p.split();
            let mut updated = session.summary.clone();
            let (sealed, stored) = summary::link_presealed(&mut updated, record, next + 1);
            updated.evidence_refs.clear();
            let inserted = insert_decision(&tx, &sealed, prepared.ts_us, &stored, prepared.refs.as_deref());
            match inserted {
                Ok(()) => {
                    next += 1;
                    session.summary = updated;
                    counts.decision(&sealed);
                    *touched.entry(sealed.session_id.clone()).or_insert(0) += 1;
                    done.push(Done {
                        sealed,
                        error: None,
                        prepared,
                    });
                }
                // A repeated id is found before the row is written: this append fails alone.
                Err(e @ StoreError::Conflict(_)) => {
                    if session.row.is_none() && session.summary.last_decision_id.is_none() {
                        // Its session is first seen by a later record, at that one's timestamp.
                        sessions.remove(&sealed.session_id);
                    }
                    done.push(Done {
                        sealed,
                        error: Some(e),
                        prepared,
                    });
                }
                Err(e) => {
                    done.push(Done {
                        sealed,
                        error: None,
                        prepared,
                    });
                    return Err(e);
                }
            }
        }
        for (session_id, added) in touched {
            let Some(session) = sessions.get_mut(&session_id) else {
                return Err(StoreError::Corrupt(format!(
                    "session `{session_id}` left the writer's cache"
                )));
            };
            write_session(&tx, &session.summary, session.row.as_ref(), added, &mut counts)?;
            session.row = Some(SessionKeys::of(&session.summary));
        }
        write_counts(&tx, counts)?;
        tx.commit()?;
        *data_version = Some(version);
        Ok(())
    }

    fn put_session(&mut self, update: &SessionUpdate) -> Result<SessionSummary, StoreError> {
        // Its row changes here; the next append reads it back.
        self.sessions.remove(&update.session_id);
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let at = now();
        let stored = load_summary(&tx, &update.session_id)?;
        let row = stored.as_ref().map(SessionKeys::of);
        let mut s = stored.unwrap_or_else(|| summary::new_session(update, &at));
        summary::update_session(&mut s, update, &at);
        let mut counts = Counts::default();
        write_session(&tx, &s, row.as_ref(), 0, &mut counts)?;
        write_counts(&tx, counts)?;
        let s = with_refs(&tx, s)?;
        tx.commit()?;
        Ok(s)
    }
}

/// The session of `p` as the writer knows it: cached, else read inside the transaction, else
/// new (first seen at the record's timestamp).
fn cached_session<'a>(
    tx: &Connection,
    sessions: &'a mut HashMap<String, CachedSession>,
    p: &Pending,
) -> Result<&'a mut CachedSession, StoreError> {
    let record = p.record.record();
    match sessions.entry(record.session_id.clone()) {
        Entry::Occupied(e) => Ok(e.into_mut()),
        Entry::Vacant(e) => {
            let stored = load_summary(tx, &record.session_id)?;
            let row = stored.as_ref().map(SessionKeys::of);
            let summary = stored.unwrap_or_else(|| SessionSummary::new(&record.session_id, &record.timestamp));
            Ok(e.insert(CachedSession { summary, row }))
        }
    }
}

/// Inserts a decision row. `refs` (a JSON array) is set for appended decisions only: imported
/// ones leave their session's refs to the imported summary.
fn insert_decision(
    conn: &Connection,
    record: &DecisionRecord,
    ts_us: i64,
    json: &str,
    refs: Option<&str>,
) -> Result<(), StoreError> {
    let sequence =
        i64::try_from(record.sequence.unwrap_or(0)).map_err(|_| StoreError::Corrupt("sequence overflow".into()))?;
    conn.prepare_cached(
        "INSERT INTO activity_decisions (sequence, decision_id, session_id, agent_id, repository, policy_pack, \
         decision, severity, action_type, ts_us, record, evidence_refs) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
        ts_us,
        json,
        refs
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
    Ok(())
}

/// A summary row's JSON: the summary without `evidence_refs`, which live with the decisions.
fn summary_json(s: &SessionSummary) -> Result<String, StoreError> {
    if s.evidence_refs.is_empty() {
        return to_json(s);
    }
    let mut row = s.clone();
    row.evidence_refs.clear();
    to_json(&row)
}

/// Writes a session's row: an update adding `added` stored decisions when it has one (`row`, its
/// filter columns as stored), else an insert counting the decisions already stored under its
/// id. The session counts in `counts` follow.
fn write_session(
    conn: &Connection,
    s: &SessionSummary,
    row: Option<&SessionKeys>,
    added: i64,
    counts: &mut Counts,
) -> Result<(), StoreError> {
    let json = summary_json(s)?;
    let updated = parse_timestamp(&s.updated_at).map_err(StoreError::Invalid)?;
    let keys = SessionKeys::of(s);
    match row {
        // Only the filter columns that changed are set: SQLite rewrites the index entries of
        // every column an UPDATE sets, changed or not (a session's `policy_pack` follows its
        // latest decision, while its agent and repository stay). The usual case, none changed,
        // is one fixed statement; a change builds the statement for its columns.
        Some(old) if *old == keys => {
            conn.prepare_cached(
                "UPDATE activity_sessions SET updated_at_us = ?2, summary = ?3, decision_rows = decision_rows + ?4 \
                 WHERE session_id = ?1",
            )?
            .execute(params![s.session_id, updated, json, added])?;
        }
        Some(old) => {
            let changed = old.changed(&keys);
            let mut sql = "UPDATE activity_sessions SET updated_at_us = ?2, summary = ?3, \
                           decision_rows = decision_rows + ?4"
                .to_owned();
            let mut values = vec![
                Value::Text(s.session_id.clone()),
                Value::Integer(updated),
                Value::Text(json),
                Value::Integer(added),
            ];
            for (column, value) in &changed {
                values.push(Value::Text((*value).to_owned()));
                sql.push_str(&format!(", {column} = ?{}", values.len()));
            }
            sql.push_str(" WHERE session_id = ?1");
            conn.prepare_cached(&sql)?.execute(params_from_iter(values))?;
            counts.session(Some(old), &keys);
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO activity_sessions \
                 (session_id, agent_id, repository, policy_pack, state, updated_at_us, summary, decision_rows) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, (SELECT COUNT(*) FROM activity_decisions WHERE session_id = ?1))",
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
            counts.session(None, &keys);
        }
    }
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

/// Fills in a session's evidence refs: its rows in `activity_evidence_refs` (from before
/// migration 005, and those of an imported summary), then those of its appended decisions, in
/// sequence order, read from the session index alone.
fn with_refs(conn: &Connection, mut s: SessionSummary) -> Result<SessionSummary, StoreError> {
    s.evidence_refs.clear();
    let mut earlier =
        conn.prepare_cached("SELECT ref FROM activity_evidence_refs WHERE session_id = ?1 ORDER BY rowid")?;
    for r in earlier.query_map([&s.session_id], |r| r.get(0))? {
        s.evidence_refs.push(r?);
    }
    let mut appended = conn.prepare_cached(
        "SELECT evidence_refs FROM activity_decisions WHERE session_id = ?1 AND evidence_refs IS NOT NULL \
         ORDER BY sequence",
    )?;
    let mut rows = appended.query([&s.session_id])?;
    while let Some(row) = rows.next()? {
        let text = row
            .get_ref(0)?
            .as_str()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let refs: Vec<String> = serde_json::from_str(text)
            .map_err(|e| StoreError::Corrupt(format!("evidence refs of session `{}`: {e}", s.session_id)))?;
        s.evidence_refs.extend(refs);
    }
    Ok(s)
}

/// Records an outcome against the session's latest decision with its tool-use id, in one
/// transaction; the first outcome of a decision stays.
fn record_outcome(
    conn: &Connection,
    report: &OutcomeReport,
    recorded_at: &str,
) -> Result<Option<ToolOutcome>, StoreError> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let found: Option<String> = tx
        .prepare_cached(
            "SELECT decision_id FROM activity_decisions \
             WHERE session_id = ?1 AND json_extract(record, '$.tool_use_id') = ?2 ORDER BY sequence DESC LIMIT 1",
        )?
        .query_row(params![report.session_id, report.tool_use_id], |r| r.get(0))
        .optional()?;
    let Some(decision_id) = found else {
        return Ok(None);
    };
    tx.prepare_cached(
        "INSERT INTO activity_tool_outcomes (decision_id, session_id, tool_use_id, status, recorded_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (decision_id) DO NOTHING",
    )?
    .execute(params![
        decision_id,
        report.session_id,
        report.tool_use_id,
        report.status.as_str(),
        recorded_at
    ])?;
    let outcome = outcome_of(&tx, &decision_id)?;
    tx.commit()?;
    Ok(outcome)
}

/// The outcome stored for `decision_id`.
fn outcome_of(conn: &Connection, decision_id: &str) -> Result<Option<ToolOutcome>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT decision_id, session_id, tool_use_id, status, recorded_at FROM activity_tool_outcomes WHERE decision_id = ?1",
        )?
        .query_row([decision_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?))
        })
        .optional()?;
    row.map(|(decision_id, session_id, tool_use_id, status, recorded_at)| {
        Ok(ToolOutcome {
            decision_id,
            session_id,
            tool_use_id,
            status: ToolStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("tool outcome status `{status}`")))?,
            recorded_at,
        })
    })
    .transpose()
}

fn import(
    conn: &Connection,
    sessions: &[SessionSummary],
    decisions: &[DecisionRecord],
) -> Result<ImportReport, StoreError> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let mut report = ImportReport::default();
    let mut counts = Counts::default();
    let mut rows_per_session: HashMap<&str, i64> = HashMap::new();
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
                let ts = parse_timestamp(&d.timestamp).map_err(StoreError::Invalid)?;
                // The session's references come with its summary, below.
                insert_decision(&tx, d, ts, &integrity::sealed_json(d), None)?;
                counts.decision(d);
                *rows_per_session.entry(d.session_id.as_str()).or_insert(0) += 1;
                report.decisions_imported += 1;
            }
        }
    }
    // Sessions that already have a row count their new decisions; a row created below counts
    // every decision stored under its id.
    for (session_id, added) in rows_per_session {
        tx.prepare_cached("UPDATE activity_sessions SET decision_rows = decision_rows + ?2 WHERE session_id = ?1")?
            .execute(params![session_id, added])?;
    }
    for s in sessions {
        if load_summary(&tx, &s.session_id)?.is_some() {
            report.sessions_skipped += 1;
            continue;
        }
        write_session(&tx, s, None, 0, &mut counts)?;
        let mut refs =
            tx.prepare_cached("INSERT INTO activity_evidence_refs (session_id, sequence, ref) VALUES (?1, ?2, ?3)")?;
        for (i, r) in s.evidence_refs.iter().enumerate() {
            refs.execute(params![s.session_id, i64::try_from(i).unwrap_or(i64::MAX), r])?;
        }
        report.sessions_imported += 1;
    }
    write_counts(&tx, counts)?;
    tx.commit()?;
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Reading.

/// `WHERE` clauses for a decision query: only the filters given, each an indexable comparison.
fn decision_filters(q: &DecisionQuery) -> (String, Vec<Value>) {
    let mut clauses = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    for (col, v) in counts::decision_exact(q) {
        values.push(Value::Text(v));
        clauses.push(format!("{col} = ?{}", values.len()));
    }
    if let Some(since) = q.since_micros {
        values.push(Value::Integer(since));
        clauses.push(format!("ts_us >= ?{}", values.len()));
    }
    if let Some(until) = q.until_micros {
        values.push(Value::Integer(until));
        clauses.push(format!("ts_us <= ?{}", values.len()));
    }
    (where_clause(&clauses), values)
}

fn where_clause(clauses: &[String]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    }
}

/// A count kept in `activity_counts`; an absent key counts nothing.
fn kept_count(c: &Connection, kind: &str, value: &str) -> Result<i64, StoreError> {
    Ok(
        c.prepare_cached("SELECT n FROM activity_counts WHERE kind = ?1 AND value = ?2")?
            .query_row([kind, value], |r| r.get(0))
            .optional()?
            .unwrap_or(0),
    )
}

/// The `total` of a decision query. Unfiltered or with one exact-match filter it is read, not
/// counted: from `activity_counts`, or for `session_id` from the session row's `decision_rows`.
/// Several filters, or `since`/`until`, are counted as `plan` says (the cost grows with the rows
/// it reads).
fn decision_total(
    c: &Connection,
    q: &DecisionQuery,
    plan: &DecisionPlan,
    filters: &str,
    values: &[Value],
) -> Result<i64, StoreError> {
    match counts::decision_total(q) {
        DecisionTotal::Kept(kind, value) => return kept_count(c, &kind, &value),
        DecisionTotal::Session(id) => {
            if let Some(rows) = session_rows(c, &id)? {
                return Ok(rows);
            }
            // No row (decisions imported without their summary): counted below.
        }
        DecisionTotal::Count => {}
    }
    let count = |from: &str, filters: &str, values: &[Value]| -> Result<i64, StoreError> {
        Ok(c.prepare_cached(&format!("SELECT COUNT(*) FROM {from}{filters}"))?
            .query_row(params_from_iter(values.iter()), |r| r.get(0))?)
    };
    match &plan.count {
        Count::Rows(from) => count(from, filters, values),
        Count::Outside(kept) => {
            // The filter's kept count minus its rows before and after the window, both read from
            // the window index.
            let (exact, mut values) = decision_filters(&DecisionQuery {
                since_micros: None,
                until_micros: None,
                ..q.clone()
            });
            let index = if exact.is_empty() { TIME_INDEX } else { WINDOW_INDEX };
            let mut outside = 0;
            for (bound, op) in [(q.since_micros, "<"), (q.until_micros, ">")] {
                let Some(bound) = bound else { continue };
                values.push(Value::Integer(bound));
                let joiner = if exact.is_empty() { " WHERE" } else { " AND" };
                let filters = format!("{exact}{joiner} ts_us {op} ?{}", values.len());
                outside += count(index, &filters, &values)?;
                values.pop();
            }
            Ok(kept - outside)
        }
    }
}

/// How many decisions are stored under `session_id`, when its session has a row.
fn session_rows(c: &Connection, session_id: &str) -> Result<Option<i64>, StoreError> {
    Ok(
        c.prepare_cached("SELECT decision_rows FROM activity_sessions WHERE session_id = ?1")?
            .query_row([session_id], |r| r.get(0))
            .optional()?,
    )
}

/// The window index: `ts_us` followed by every exact-match filter column but `session_id`, so a
/// time window with any of those filters is read from the index alone (migration 009).
const WINDOW_INDEX: &str = "activity_decisions INDEXED BY activity_decisions_window";

/// The time index alone: a sixth of the window index's size, for windows without other filters.
const TIME_INDEX: &str = "activity_decisions INDEXED BY activity_decisions_ts";

/// What reading one row's columns from the table costs next to reading one index entry: the
/// record's JSON lives in the row, so a lookup reads about eight times as much (measured at 1M:
/// ~60 ns per window index entry, ~500 ns per row looked up).
const LOOKUP_COST: i64 = 8;

/// How a decision query reads its page and counts its total.
struct DecisionPlan {
    /// How the page's sequences are chosen.
    page: PageSource,
    /// How the total is counted when it is not a kept count.
    count: Count,
}

/// Where a page's sequences come from.
enum PageSource {
    /// Newest first through this `FROM` (pinning an index where that matters).
    From(String),
    /// A window that ends before the newest rows, in two parts: the rows from `first_after` on
    /// that are in the window anyway (stragglers stamped earlier than their sequence; found in
    /// the `window` index without sorting it), and the newest rows before `first_after`, walked
    /// newest first through `rest` — where the window's own newest rows are when sequences
    /// follow time. Together they hold the page whatever `first_after` is.
    Split {
        /// The window index's `FROM`.
        window: String,
        /// The sequence-ordered `FROM`.
        rest: String,
        /// The first sequence after the window, as estimated.
        first_after: i64,
    },
}

/// How a total that is not kept is counted.
enum Count {
    /// Counting the matching rows read through this `FROM`.
    Rows(String),
    /// The one exact filter's kept count (given) minus its rows outside the time window.
    Outside(i64),
}

/// How `q` is answered; `None` when a filter matches nothing at all (the answer is empty without
/// reading).
///
/// With several exact-match filters SQLite can use one index, and without statistics it may pick
/// the least selective one (a `decision = 'block'` scan of 130,000 rows checked one by one,
/// instead of 25,000 for a repository: seconds instead of tens of milliseconds at a million
/// decisions). The kept counts say exactly how many rows each filter matches, so the query is
/// pinned to the index of the smallest.
///
/// A time window (`since`/`until`) is the other way to narrow: [`WINDOW_INDEX`] holds the window's
/// rows in time order with every filter column but `session_id` ([`TIME_INDEX`] when there is no
/// other filter), so it answers from the index alone, but in time order (its page is taken in
/// two parts, [`PageSource::Split`], so that it is not sorted whole); a filter index walks in sequence order and
/// stops at the page, but must look each row up to test its time. How many rows the window holds
/// is estimated from the sequences at its two edges (sequences are gap-free and follow time but
/// for stragglers, and the estimate only chooses a plan), and the cheaper reading is taken — for
/// the page and for the count separately.
fn decision_plan(c: &Connection, q: &DecisionQuery) -> Result<Option<DecisionPlan>, StoreError> {
    let exact = counts::decision_exact(q);
    let mut best: Option<(i64, &str)> = None;
    for (col, value) in &exact {
        let rows = match *col {
            "session_id" => session_rows(c, value)?,
            _ => Some(kept_count(c, &format!("decisions.{col}"), value)?),
        };
        // A session without a row (imported decisions only) is not counted: not a candidate.
        let Some(rows) = rows else { continue };
        if rows == 0 && *col != "session_id" {
            return Ok(None);
        }
        if best.is_none_or(|(n, _)| rows < n) {
            best = Some((rows, col));
        }
    }
    let index = match best.map(|(_, col)| col) {
        Some("session_id") => Some("activity_decisions_session"),
        Some("agent_id") => Some("activity_decisions_agent"),
        Some("repository") => Some("activity_decisions_repository"),
        Some("policy_pack") => Some("activity_decisions_pack"),
        Some("decision") => Some("activity_decisions_decision"),
        Some("severity") => Some("activity_decisions_severity"),
        Some("action_type") => Some("activity_decisions_action_type"),
        _ => None,
    };
    let windowed = q.since_micros.is_some() || q.until_micros.is_some();
    let filtered = match index {
        Some(index) if exact.len() >= 2 || windowed => format!("activity_decisions INDEXED BY {index}"),
        // A window alone, read in sequence order: the log itself, newest first (left to itself,
        // SQLite would take the window's whole range from its index and sort it).
        None if windowed => "activity_decisions NOT INDEXED".to_owned(),
        _ => "activity_decisions".to_owned(),
    };
    if !windowed || exact.iter().any(|(col, _)| *col == "session_id") {
        // A session's rows are few: its index, each row's time checked.
        return Ok(Some(DecisionPlan {
            page: PageSource::From(filtered.clone()),
            count: Count::Rows(filtered),
        }));
    }
    let all = kept_count(c, "decisions", "")?;
    let matching = best.map_or(all, |(n, _)| n);
    let window = if exact.is_empty() { TIME_INDEX } else { WINDOW_INDEX };
    let edge = |op: &str, bound: i64| -> Result<Option<i64>, StoreError> {
        Ok(c.prepare_cached(&format!(
            "SELECT sequence FROM {TIME_INDEX} WHERE ts_us {op} ?1 ORDER BY ts_us LIMIT 1"
        ))?
        .query_row([bound], |r| r.get(0))
        .optional()?)
    };
    let last = c
        .prepare_cached("SELECT COALESCE(MAX(sequence), 0) FROM activity_decisions")?
        .query_row([], |r| r.get::<_, i64>(0))?;
    let first_in = match q.since_micros {
        Some(since) => edge(">=", since)?.unwrap_or(last + 1),
        None => 1,
    };
    let first_after = match q.until_micros {
        Some(until) => edge(">", until)?.unwrap_or(last + 1),
        None => last + 1,
    };
    let in_window = (first_after - first_in).clamp(0, all.max(0));
    let share = |n: i64| n.saturating_mul(matching) / all.max(1);
    // The page through the filter (or the log) in sequence order: the matching rows after the
    // window, then enough of those in it to fill the page. Looked up, unless the log itself.
    let wanted = i64::from(q.limit).saturating_add(sql_offset(q.offset)?) + 1;
    let walked = share((last + 1 - first_after).max(0))
        .saturating_add(wanted.saturating_mul(all) / in_window.max(1))
        .min(matching);
    let per_row = if index.is_some() { LOOKUP_COST } else { 1 };
    let page = if in_window < walked.saturating_mul(per_row) {
        PageSource::Split {
            window: window.to_owned(),
            rest: filtered.clone(),
            first_after,
        }
    } else {
        PageSource::From(filtered.clone())
    };
    // The count: the window's rows from the window index, or (one exact filter or none) the kept
    // count minus the rows outside it, or the filter's rows looked up.
    let outside = all - in_window;
    let count = if exact.len() <= 1 && outside < in_window && outside < matching.saturating_mul(LOOKUP_COST) {
        Count::Outside(matching)
    } else if index.is_some() && matching.saturating_mul(LOOKUP_COST) < in_window {
        Count::Rows(filtered)
    } else {
        Count::Rows(window.to_owned())
    };
    Ok(Some(DecisionPlan { page, count }))
}

/// The `total` of a session query: read from `activity_counts` unfiltered or with one filter,
/// counted over the best index with several.
fn session_total(c: &Connection, q: &SessionQuery, filters: &str, values: &[String]) -> Result<i64, StoreError> {
    match counts::session_total(q) {
        Some((kind, value)) => kept_count(c, &kind, &value),
        None => Ok(c
            .prepare_cached(&format!("SELECT COUNT(*) FROM activity_sessions{filters}"))?
            .query_row(params_from_iter(values.iter()), |r| r.get(0))?),
    }
}

/// How a filtered session list finds its page (` INDEXED BY ...`, or empty for the planner's
/// choice). The filter indexes do not order by activity, so there are two ways: read all
/// `matching` sessions through the filter's index and keep the newest `window` (limit plus
/// offset), or walk `activity_sessions_updated` newest first, testing each session, until
/// `window` matched — about `window * all / matching` sessions. The exact counts say which is
/// shorter; at worst either reads about `sqrt(window * all)` rows.
fn session_plan(
    c: &Connection,
    exact: &[(&'static str, String)],
    matching: i64,
    window: i64,
) -> Result<String, StoreError> {
    if exact.is_empty() {
        return Ok(String::new());
    }
    let all = kept_count(c, "sessions", "")?;
    if window.saturating_mul(all) < matching.saturating_mul(matching) {
        return Ok(" INDEXED BY activity_sessions_updated".to_owned());
    }
    Ok(match exact {
        [("agent_id", _)] => " INDEXED BY activity_sessions_agent",
        [("repository", _)] => " INDEXED BY activity_sessions_repository",
        [("policy_pack", _)] => " INDEXED BY activity_sessions_pack",
        [("state", _)] => " INDEXED BY activity_sessions_state",
        // Several filters: the planner picks one of their indexes.
        _ => "",
    }
    .to_owned())
}

/// An offset SQLite can take (it is an `i64` there).
fn sql_offset(offset: u64) -> Result<i64, StoreError> {
    i64::try_from(offset).map_err(|_| StoreError::Invalid(format!("offset {offset} is too large")))
}

fn parse_record(json: &str) -> Result<DecisionRecord, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("decision record: {e}")))
}

fn parse_summary(json: &str) -> Result<SessionSummary, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("session summary: {e}")))
}

impl ActivityStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn observe(&self, observer: Arc<dyn StoreObserver>) {
        let _ = self.observer.set(observer);
    }

    fn append(&self, record: DecisionRecord) -> Result<DecisionRecord, StoreError> {
        crate::summary::check(&record)?;
        // Everything that can be done before the record's place is known is done here, on the
        // caller's thread, not in the writer's serial section.
        let (reply, answer) = mpsc::sync_channel(1);
        let pending = Pending::new(
            record,
            Box::new(move |result| {
                let _ = reply.send(result);
            }),
        )
        .map_err(|(e, _)| e)?;
        self.submit(answer, Job::Append(Box::new(pending)))
    }

    fn appends_without_blocking(&self) -> bool {
        true
    }

    fn append_then(&self, record: DecisionRecord, done: AppendDone) {
        // Checks and preparation run here (CPU only); the writer answers through `done` once
        // the group is durable. A job that cannot be queued is answered at once.
        if let Err(e) = crate::summary::check(&record) {
            return done(Err(e));
        }
        match Pending::new(record, done) {
            Ok(pending) => self.enqueue(pending),
            Err((e, done)) => done(Err(e)),
        }
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
            let Some(plan) = decision_plan(c, q)? else {
                return Ok(Page {
                    items: Vec::new(),
                    total: 0,
                    limit: q.limit,
                    offset: q.offset,
                    next_cursor: None,
                });
            };
            let (filters, mut values) = decision_filters(q);
            let total = decision_total(c, q, &plan, &filters, &values)?;
            // The page's sequences are chosen first, from the filter's index alone where it
            // covers the query (every filter index ends in `sequence`), and only those 51
            // records are read: sorting a time window by sequence otherwise drags every
            // matching record's JSON through the sorter (180 ms → 7 ms for a day at 1M).
            let mut filters = filters;
            if let Some(before) = q.before_sequence {
                values.push(Value::Integer(i64::try_from(before).unwrap_or(i64::MAX)));
                let joiner = if filters.is_empty() { " WHERE" } else { " AND" };
                filters.push_str(&format!("{joiner} sequence < ?{}", values.len()));
            }
            let offset = if q.before_sequence.is_some() {
                0
            } else {
                sql_offset(q.offset)?
            };
            let rows = u64::from(q.limit) + 1;
            let sql = match &plan.page {
                PageSource::From(from) => {
                    format!("SELECT sequence FROM {from}{filters} ORDER BY sequence DESC LIMIT {rows} OFFSET {offset}")
                }
                PageSource::Split {
                    window,
                    rest,
                    first_after,
                } => {
                    values.push(Value::Integer(*first_after));
                    let (x, joiner) = (values.len(), if filters.is_empty() { " WHERE" } else { " AND" });
                    let wanted = u64::try_from(offset).unwrap_or(0).saturating_add(rows);
                    format!(
                        "SELECT sequence FROM (SELECT sequence FROM {window}{filters}{joiner} sequence >= ?{x} \
                         UNION ALL SELECT sequence FROM (SELECT sequence FROM {rest}{filters}{joiner} sequence < ?{x} \
                         ORDER BY sequence DESC LIMIT {wanted})) ORDER BY sequence DESC LIMIT {rows} OFFSET {offset}"
                    )
                }
            };
            let sql = format!("SELECT record FROM activity_decisions WHERE sequence IN ({sql}) ORDER BY sequence DESC");
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query(params_from_iter(values.iter()))?;
            let mut items = Vec::with_capacity(q.limit as usize + 1);
            while let Some(row) = rows.next()? {
                let json = row
                    .get_ref(0)?
                    .as_str()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                items.push(parse_record(json)?);
            }
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
            let exact = counts::session_exact(q);
            let mut clauses = Vec::new();
            let mut values = Vec::new();
            for (col, v) in &exact {
                values.push(v.clone());
                clauses.push(format!("{col} = ?{}", values.len()));
            }
            let filters = where_clause(&clauses);
            let total = session_total(c, q, &filters, &values)?;
            let offset = sql_offset(q.offset)?;
            let plan = session_plan(c, &exact, total, i64::from(q.limit).saturating_add(offset))?;
            let sql = format!(
                "SELECT summary FROM activity_sessions{plan}{filters} ORDER BY updated_at_us DESC, session_id DESC \
                 LIMIT {} OFFSET {offset}",
                q.limit,
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query(params_from_iter(values.iter()))?;
            let mut items = Vec::with_capacity(q.limit as usize);
            while let Some(row) = rows.next()? {
                let json = row
                    .get_ref(0)?
                    .as_str()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                items.push(with_refs(c, parse_summary(json)?)?);
            }
            Ok(Page {
                items,
                total: u64::try_from(total).unwrap_or(0),
                limit: q.limit,
                offset: q.offset,
                next_cursor: None,
            })
        })
    }

    fn put_session(&self, update: &SessionUpdate) -> Result<SessionSummary, StoreError> {
        crate::summary::check_text("session_id", &update.session_id)?;
        let (reply, answer) = mpsc::sync_channel(1);
        self.submit(answer, Job::Session(update.clone(), reply))
    }

    fn session_decisions(&self, session_id: &str) -> Result<Vec<DecisionRecord>, StoreError> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT record FROM activity_decisions WHERE session_id = ?1 ORDER BY sequence")?;
            let mut rows = stmt.query([session_id])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let json = row
                    .get_ref(0)?
                    .as_str()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                out.push(parse_record(json)?);
            }
            Ok(out)
        })
    }

    fn activity_overview(&self, range: HourRange) -> Result<ActivityOverview, StoreError> {
        let (lo, hi) = counts::hour_bounds(range);
        self.read(|c| {
            let _snapshot = c.unchecked_transaction()?;
            let hours: Vec<(String, i64)> = c
                .prepare_cached("SELECT value, n FROM activity_counts WHERE kind = ?1 AND value >= ?2 AND value < ?3")?
                .query_map(params![counts::HOURLY_DECISIONS, lo, hi], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<Result<_, _>>()?;
            let mut stmt = c.prepare_cached(
                "SELECT substr(value, 12) AS k, SUM(n) FROM activity_counts \
                 WHERE kind = ?1 AND value >= ?2 AND value < ?3 GROUP BY k",
            )?;
            let ranked = counts::ranked(range, |kind, lo, hi| {
                stmt.query_map(params![kind, lo, hi], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()
            })?;
            Ok(counts::overview(hours, ranked))
        })
    }

    fn all_sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        self.read(|c| {
            let _snapshot = c.unchecked_transaction()?;
            let mut stmt = c.prepare_cached("SELECT summary FROM activity_sessions ORDER BY session_id")?;
            let rows: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            rows.iter().map(|j| with_refs(c, parse_summary(j)?)).collect()
        })
    }

    fn record_outcome(&self, report: &OutcomeReport, recorded_at: &str) -> Result<Option<ToolOutcome>, StoreError> {
        crate::summary::check_text("session_id", &report.session_id)?;
        crate::summary::check_text("tool_use_id", &report.tool_use_id)?;
        let (reply, answer) = mpsc::sync_channel(1);
        self.submit(answer, Job::Outcome(report.clone(), recorded_at.to_owned(), reply))
    }

    fn get_outcome(&self, decision_id: &str) -> Result<Option<ToolOutcome>, StoreError> {
        self.read(|c| outcome_of(c, decision_id))
    }

    fn import(&self, sessions: &[SessionSummary], decisions: &[DecisionRecord]) -> Result<ImportReport, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.submit(answer, Job::Import(sessions.to_vec(), decisions.to_vec(), reply))
    }

    fn scan_decisions(
        &self,
        sequences: RangeInclusive<u64>,
        visit: &mut dyn FnMut(&StoredDecision<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let bound = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
        self.read(|c| {
            let _snapshot = c.unchecked_transaction()?;
            let mut stmt = c.prepare_cached(
                "SELECT sequence, decision_id, session_id, agent_id, repository, policy_pack, decision, severity, \
                 action_type, ts_us, record FROM activity_decisions WHERE sequence BETWEEN ?1 AND ?2 ORDER BY sequence",
            )?;
            let mut rows = stmt.query(params![bound(*sequences.start()), bound(*sequences.end())])?;
            while let Some(row) = rows.next()? {
                let sequence = u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0);
                let text = |i: usize| column_str(row.get_ref(i));
                let columns = DecisionColumns {
                    decision_id: text(1)?,
                    session_id: text(2)?,
                    agent_id: text(3)?,
                    repository: text(4)?,
                    policy_pack: text(5)?,
                    decision: text(6)?,
                    severity: text(7)?,
                    action_type: text(8)?,
                    ts_us: row.get_ref(9)?.as_i64().unwrap_or(i64::MIN),
                };
                visit(&StoredDecision {
                    sequence,
                    record: text(10)?,
                    columns: Some(columns),
                })?;
            }
            Ok(())
        })
    }

    fn log_heads(&self) -> Result<LogHeads, StoreError> {
        self.read(|c| {
            let _snapshot = c.unchecked_transaction()?;
            let (sequence, decision_count): (i64, i64) = c
                .prepare_cached("SELECT COALESCE(MAX(sequence), 0), COUNT(*) FROM activity_decisions")?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let mut stmt = c.prepare_cached("SELECT summary FROM activity_sessions ORDER BY session_id")?;
            let mut rows = stmt.query([])?;
            let mut sessions = Vec::new();
            while let Some(row) = rows.next()? {
                sessions.push(parse_summary(&column_text(row.get_ref(0))?)?);
            }
            Ok(LogHeads {
                sequence: u64::try_from(sequence).unwrap_or(0),
                decision_count: u64::try_from(decision_count).unwrap_or(0),
                sessions,
            })
        })
    }

    fn save_checkpoint(&self, checkpoint: &CheckpointRow) -> Result<(), StoreError> {
        let conn = open_connection(&self.path)?;
        conn.execute(
            "INSERT INTO evidence_checkpoints (checkpoint_id, created_at, key_id, session_count, decision_count, \
             payload, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                checkpoint.checkpoint_id,
                checkpoint.created_at,
                checkpoint.key_id,
                i64::try_from(checkpoint.session_count).unwrap_or(i64::MAX),
                i64::try_from(checkpoint.decision_count).unwrap_or(i64::MAX),
                checkpoint.payload,
                checkpoint.signature,
            ],
        )?;
        Ok(())
    }

    fn scan_checkpoints(
        &self,
        visit: &mut dyn FnMut(CheckpointRow) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.read(|c| {
            let _snapshot = c.unchecked_transaction()?;
            let mut stmt = c.prepare_cached(
                "SELECT checkpoint_id, created_at, key_id, session_count, decision_count, payload, signature \
                 FROM evidence_checkpoints ORDER BY created_at, checkpoint_id",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                visit(checkpoint_row(r)?)?;
            }
            Ok(())
        })
    }

    fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT checkpoint_id, created_at, key_id, session_count, decision_count, payload, signature \
                 FROM evidence_checkpoints ORDER BY created_at DESC, checkpoint_id DESC LIMIT 1",
            )?
            .query_row([], checkpoint_row)
            .optional()
            .map_err(StoreError::from)
        })
    }
}

/// [`column_text`] borrowed from the row when it is text already (the usual case).
fn column_str(value: rusqlite::Result<rusqlite::types::ValueRef<'_>>) -> Result<std::borrow::Cow<'_, str>, StoreError> {
    use rusqlite::types::ValueRef;
    match value? {
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(text) => Ok(std::borrow::Cow::Borrowed(text)),
            Err(_) => Ok(std::borrow::Cow::Owned(String::from_utf8_lossy(t).into_owned())),
        },
        other => column_text(Ok(other)).map(std::borrow::Cow::Owned),
    }
}

/// A column read as text whatever its stored type, so a verifier sees a tampered value instead of
/// a type error: integers and reals as their digits, NULL as empty, blobs as lossy UTF-8.
fn column_text(value: rusqlite::Result<rusqlite::types::ValueRef<'_>>) -> Result<String, StoreError> {
    use rusqlite::types::ValueRef;
    Ok(match value? {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) | ValueRef::Blob(t) => match std::str::from_utf8(t) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(t).into_owned(),
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use cavra_core::{Action, ActionType, PackSet, evaluate};

    use super::*;
    use crate::model::SessionState;
    use crate::stamp::Stamper;

    /// A one-shot store leaves its WAL at close (no checkpoint), and what it appended is there for
    /// the next process, whichever way it opens.
    #[test]
    fn one_shot_appends_are_kept_in_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let packs = PackSet::builtin().unwrap();
        let pack = packs.get("cavra-ai-agent-baseline").unwrap();
        let mut stamper = Stamper::new();
        let a = Action::new(ActionType::ExecuteCommand, "ls");
        let mut ids = Vec::new();
        for _ in 0..2 {
            let store = SqliteStore::open_one_shot(&path).unwrap();
            let r = DecisionRecord::new(&a, evaluate(&a, &pack), pack.version(), stamper.stamp());
            ids.push(store.append(r).unwrap().decision_id);
            drop(store);
            let wal = std::fs::metadata(dir.path().join("a.db-wal")).unwrap();
            assert!(wal.len() > 0, "the WAL is kept, not checkpointed away");
        }
        let store = SqliteStore::open(&path).unwrap();
        let chain = store.session_decisions("local").unwrap();
        assert_eq!(chain.iter().map(|r| r.decision_id.clone()).collect::<Vec<_>>(), ids);
        assert_eq!(chain[1].prev_hash, chain[0].record_hash);
    }

    /// `append_then` returns at once and answers through its callback with the durable record,
    /// in the same chain as blocking appends; a bad record is answered with its error.
    #[test]
    fn append_then_answers_through_the_callback() {
        let dir = tempfile::tempdir().unwrap();
        let packs = PackSet::builtin().unwrap();
        let pack = packs.get("cavra-ai-agent-baseline").unwrap();
        let mut stamper = Stamper::new();
        let store = SqliteStore::open(&dir.path().join("a.db")).unwrap();
        assert!(store.appends_without_blocking());
        let a = Action::new(ActionType::ExecuteCommand, "ls");
        let first = store
            .append(DecisionRecord::new(
                &a,
                evaluate(&a, &pack),
                pack.version(),
                stamper.stamp(),
            ))
            .unwrap();
        let (tx, rx) = mpsc::channel();
        for _ in 0..3 {
            let tx = tx.clone();
            let r = DecisionRecord::new(&a, evaluate(&a, &pack), pack.version(), stamper.stamp());
            store.append_then(r, Box::new(move |result| tx.send(result).unwrap()));
        }
        let mut got: Vec<DecisionRecord> = (0..3).map(|_| rx.recv().unwrap().unwrap()).collect();
        got.sort_by_key(|r| r.sequence);
        assert_eq!(got[0].prev_hash, first.record_hash);
        assert_eq!(got.iter().map(|r| r.sequence.unwrap()).collect::<Vec<_>>(), [2, 3, 4]);
        let mut bad = DecisionRecord::new(&a, evaluate(&a, &pack), pack.version(), stamper.stamp());
        bad.timestamp = "yesterday".into();
        store.append_then(bad, Box::new(move |result| tx.send(result).unwrap()));
        assert!(matches!(rx.recv().unwrap(), Err(StoreError::Invalid(_))));
    }

    /// A database of the 004 schema, its rows written as the code of that schema wrote them,
    /// migrates forward: the kept totals match its rows, each session keeps its evidence refs in
    /// order, and appends continue its chains and refs.
    #[test]
    fn a_004_database_migrates_forward() {
        let dir = tempfile::tempdir().unwrap();
        let packs = PackSet::builtin().unwrap();
        let pack = packs.get("cavra-ai-agent-baseline").unwrap();
        let mut stamper = Stamper::new();
        // Five hours apart from a past morning on, so that the overview's days are whole days
        // (read from the daily counts 008 derives) as well as partial ones.
        let mut at = 1_748_736_000_000_000_i64 + 9 * 3_600_000_000;
        let mut record = |session: usize, target: &str| {
            let mut a = Action::new(ActionType::ExecuteCommand, target);
            a.session_id = Some(format!("s{session}"));
            a.agent_id = Some(format!("agent-{}", session % 2));
            let mut r = DecisionRecord::new(&a, evaluate(&a, &pack), pack.version(), stamper.stamp());
            at += 5 * 3_600_000_000;
            r.timestamp = crate::stamp::rfc3339_micros(chrono::DateTime::from_timestamp_micros(at).unwrap());
            r
        };
        // Records sealed and summed up by a current store...
        let source = SqliteStore::open(&dir.path().join("source.db")).unwrap();
        for i in 0..30 {
            source
                .append(record(i % 4, ["ls", "rm -rf /", "cat .env"][i % 3]))
                .unwrap();
        }
        source
            .put_session(&SessionUpdate {
                session_id: "s1".into(),
                state: Some(SessionState::Completed),
                ..SessionUpdate::default()
            })
            .unwrap();
        let sessions = source.all_sessions().unwrap();
        let decisions: Vec<DecisionRecord> = sessions
            .iter()
            .flat_map(|s| source.session_decisions(&s.session_id).unwrap())
            .collect();
        let everything = HourRange {
            from_hour: 0,
            to_hour: i64::from(u32::MAX),
        };
        let overview = source.activity_overview(everything).unwrap();
        assert!(!overview.hours.is_empty() && !overview.ranked.is_empty());
        let first = decisions
            .iter()
            .map(|d| parse_timestamp(&d.timestamp).unwrap())
            .min()
            .unwrap();
        let first_hour = HourRange::hour_of(first);
        let partial_days = HourRange {
            from_hour: first_hour - first_hour.rem_euclid(24) + 13,
            to_hour: first_hour - first_hour.rem_euclid(24) + 24 * 4 + 7,
        };
        let partial_overview = source.activity_overview(partial_days).unwrap();
        assert!(!partial_overview.ranked.is_empty());
        drop(source);

        // ...written into a 004 database the way 004's code did.
        let path = dir.path().join("old.db");
        let conn = open_connection(&path).unwrap();
        conn.execute_batch(migrations::CREATE_SCHEMA_MIGRATIONS).unwrap();
        for m in &migrations::SQLITE[..4] {
            conn.execute_batch(m.sql).unwrap();
            conn.execute(
                "INSERT INTO cavra_schema_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)",
                params![m.version, m.name, m.checksum(), now()],
            )
            .unwrap();
        }
        let mut by_sequence = decisions.clone();
        by_sequence.sort_by_key(|d| d.sequence);
        for d in &by_sequence {
            conn.execute(
                "INSERT INTO activity_decisions (sequence, decision_id, session_id, agent_id, repository, \
                 policy_pack, decision, severity, action_type, ts_us, record) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    d.sequence.unwrap() as i64,
                    d.decision_id,
                    d.session_id,
                    d.agent_id,
                    d.repository,
                    d.policy_pack,
                    d.decision.as_str(),
                    d.severity.as_str(),
                    d.action_type.as_str(),
                    parse_timestamp(&d.timestamp).unwrap(),
                    serde_json::to_string(d).unwrap()
                ],
            )
            .unwrap();
            for r in &d.evidence_refs {
                conn.execute(
                    "INSERT INTO activity_evidence_refs (session_id, sequence, ref) VALUES (?1, ?2, ?3)",
                    params![d.session_id, d.sequence.unwrap() as i64, r],
                )
                .unwrap();
            }
        }
        for s in &sessions {
            let mut row = s.clone();
            row.evidence_refs.clear();
            conn.execute(
                "INSERT INTO activity_sessions (session_id, agent_id, repository, policy_pack, state, updated_at_us, \
                 summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    s.session_id,
                    s.agent_id,
                    s.repository,
                    s.policy_pack,
                    s.state.as_str(),
                    parse_timestamp(&s.updated_at).unwrap(),
                    serde_json::to_string(&row).unwrap()
                ],
            )
            .unwrap();
        }
        drop(conn);

        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.all_sessions().unwrap(), sessions, "summaries and refs survive");
        let total = |q: DecisionQuery| store.list_decisions(&q).unwrap().total;
        assert_eq!(total(DecisionQuery::default()), 30);
        for s in &sessions {
            let q = DecisionQuery {
                session_id: Some(s.session_id.clone()),
                ..DecisionQuery::default()
            };
            assert_eq!(total(q), s.decision_count, "session `{}`", s.session_id);
        }
        for agent in ["agent-0", "agent-1"] {
            let q = DecisionQuery {
                agent_id: Some(agent.into()),
                ..DecisionQuery::default()
            };
            let expected = decisions.iter().filter(|d| d.agent_id == agent).count() as u64;
            assert_eq!(total(q), expected);
        }
        let completed = store
            .list_sessions(&SessionQuery {
                state: Some(SessionState::Completed),
                ..SessionQuery::default()
            })
            .unwrap();
        assert_eq!(completed.total, 1);
        assert_eq!(
            store.activity_overview(everything).unwrap(),
            overview,
            "007 and 008 count the stored decisions per hour and per day"
        );
        assert_eq!(
            store.activity_overview(partial_days).unwrap(),
            partial_overview,
            "whole days and partial ones"
        );

        let before = store.get_session("s1").unwrap().unwrap();
        let next = store.append(record(1, "pwd")).unwrap();
        assert_eq!(next.sequence, Some(31));
        assert_eq!(next.prev_hash, before.head_hash);
        let after = store.get_session("s1").unwrap().unwrap();
        let mut refs = before.evidence_refs.clone();
        refs.extend(next.evidence_refs.iter().cloned());
        assert_eq!(after.evidence_refs, refs, "new refs follow the migrated ones");
        assert_eq!(after.decision_count, before.decision_count + 1);
        assert_eq!(total(DecisionQuery::default()), 31);
    }

    /// Migration 008 counts the daily rows from the hourly ones exactly as appends keep them:
    /// deleted and counted again by its SQL, they come back the same.
    #[test]
    fn the_008_backfill_equals_the_kept_daily_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("days.db");
        let packs = PackSet::builtin().unwrap();
        let pack = packs.get("cavra-ai-agent-baseline").unwrap();
        let mut stamper = Stamper::new();
        let store = SqliteStore::open(&path).unwrap();
        let start = 1_748_736_000_000_000_i64 + 5 * 3_600_000_000;
        for i in 0..60_i64 {
            let mut a = Action::new(
                ActionType::ExecuteCommand,
                ["ls", "rm -rf /", "cat .env", "terraform apply"][i as usize % 4],
            );
            a.session_id = Some(format!("s{}", i % 5));
            a.repository = Some(format!("acme/r{}", i % 3));
            let mut r = DecisionRecord::new(&a, evaluate(&a, &pack), pack.version(), stamper.stamp());
            let at = chrono::DateTime::from_timestamp_micros(start + i * 7 * 3_600_000_000 / 3).unwrap();
            r.timestamp = crate::stamp::rfc3339_micros(at);
            store.append(r).unwrap();
        }
        drop(store);
        let conn = open_connection(&path).unwrap();
        let daily = |conn: &Connection| -> Vec<(String, String, i64)> {
            conn.prepare("SELECT kind, value, n FROM activity_counts WHERE kind LIKE 'daily.%' ORDER BY kind, value")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let kept = daily(&conn);
        let days: HashSet<&str> = kept.iter().map(|(_, v, _)| &v[..10]).collect();
        assert!(days.len() >= 5, "the records span days: {days:?}");
        assert!(kept.iter().any(|(k, _, _)| k == "daily.blocked_session"));
        conn.execute("DELETE FROM activity_counts WHERE kind LIKE 'daily.%'", [])
            .unwrap();
        let backfill = migrations::SQLITE
            .iter()
            .find(|m| m.name.ends_with("_activity_daily_counts.sql"))
            .unwrap();
        conn.execute_batch(backfill.sql).unwrap();
        assert_eq!(daily(&conn), kept);
    }
}
