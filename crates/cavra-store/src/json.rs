//! The JSON file backend: one document `{"sessions": [...], "decisions": [...]}`, read once and
//! indexed in memory, rewritten whole and atomically (temp file, fsync, rename, fsync of the
//! directory) under an exclusive lock on the sidecar `<file>.lock`.
//!
//! The design decision: a plain JSON file can only be rewritten whole, so that price is paid once
//! per *group* of writes, never once per decision. One writer thread owns every change: `append`
//! hands its record over a channel and waits; the writer takes everything that is waiting, stages
//! it over the loaded log, writes the file once, publishes the staged changes to memory and only
//! then answers each caller. Readers never see a change that is not yet durable.
//!
//! Other processes may write the same file. A version of the file is known by its metadata
//! (device, inode, length, mtime, ctime) and by a token every writer leaves in the lock file,
//! because inode numbers are reused and mtimes are coarse, so metadata alone can miss a rewrite.
//! Every read checks the version (one `stat`, one `pread`) and reloads only when it changed; every
//! write checks it again under the lock, so no writer overwrites changes it has not seen.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::ops::{Bound, RangeInclusive};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock, mpsc};
use std::thread::JoinHandle;
use std::time::Instant;

use cavra_core::{ActionType, DecisionRecord, Outcome, Severity};
use serde::Deserialize;

use crate::error::StoreError;
use crate::evidence::{CheckpointRow, LogHeads, StoredDecision};
use crate::model::{
    ActivityOverview, DecisionQuery, HourRange, Page, SessionQuery, SessionSummary, SessionUpdate, encode_cursor,
    parse_timestamp,
};
use crate::outcome::{OutcomeReport, ToolOutcome};
use crate::store::{ActivityStore, ImportReport, StoreObserver};
use crate::summary;

/// The top-level key of the document that holds signed checkpoints (the SQL backends' table
/// `evidence_checkpoints`), oldest first.
pub const CHECKPOINTS_KEY: &str = "evidence_checkpoints";
/// Most jobs written by one rewrite.
const MAX_GROUP: usize = 1024;
/// Buffer between the serialiser and the temp file.
const WRITE_BUFFER: usize = 1 << 20;
/// Longest token read back from the lock file (a ULID is 26 bytes).
const TOKEN_MAX: usize = 64;

type Reply<T> = mpsc::SyncSender<Result<T, StoreError>>;

/// The JSON file store.
pub struct JsonStore {
    shared: Arc<Shared>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl JsonStore {
    /// Opens the store at `path` and loads it; a missing file is an empty store, and nothing is
    /// created on disk until the first write.
    pub fn open(path: &Path) -> Result<JsonStore, StoreError> {
        let shared = Arc::new(Shared::new(path)?);
        let writer_shared = Arc::clone(&shared);
        let (tx, rx) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("cavra-json-writer".to_owned())
            .spawn(move || write_loop(&writer_shared, &rx))
            .map_err(StoreError::io("cannot start the JSON store's writer thread"))?;
        Ok(JsonStore {
            shared,
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Stops the writer after the writes already submitted are durable.
    pub fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Some(handle) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = handle.join();
        }
    }

    fn submit<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, StoreError> {
        let stopped = || StoreError::Unavailable(format!("the writer of `{}` stopped", self.shared.path.display()));
        let (reply, answer) = mpsc::sync_channel(1);
        {
            let jobs = self.jobs.lock().map_err(|_| self.shared.poisoned())?;
            let sender = jobs.as_ref().ok_or_else(|| {
                StoreError::Unavailable(format!("the store `{}` is closed", self.shared.path.display()))
            })?;
            sender.send(job(reply)).map_err(|_| stopped())?;
        }
        answer.recv().map_err(|_| stopped())?
    }

    /// Runs `f` on the loaded log, reloading it first if another process rewrote the file.
    fn read<T>(&self, f: impl FnOnce(&Log) -> T) -> Result<T, StoreError> {
        self.shared.refresh()?;
        let state = self.shared.state.read().map_err(|_| self.shared.poisoned())?;
        Ok(f(&state.log))
    }
}

impl JsonStore {
    /// Every stored checkpoint, oldest first.
    fn checkpoints(&self) -> Result<Vec<CheckpointRow>, StoreError> {
        let list = self.read(|log| log.extra.get(CHECKPOINTS_KEY).cloned())?;
        let Some(list) = list else { return Ok(Vec::new()) };
        let mut rows: Vec<CheckpointRow> = serde_json::from_value(list)
            .map_err(|e| StoreError::Corrupt(format!("`{}`: `{CHECKPOINTS_KEY}`: {e}", self.shared.path.display())))?;
        rows.sort_by(|a, b| (&a.created_at, &a.checkpoint_id).cmp(&(&b.created_at, &b.checkpoint_id)));
        Ok(rows)
    }
}

impl Drop for JsonStore {
    fn drop(&mut self) {
        self.close();
    }
}

impl ActivityStore for JsonStore {
    fn backend(&self) -> &'static str {
        "json"
    }

    fn observe(&self, observer: Arc<dyn StoreObserver>) {
        let _ = self.shared.observer.set(observer);
    }

    fn append(&self, record: DecisionRecord) -> Result<DecisionRecord, StoreError> {
        crate::summary::check(&record)?;
        self.submit(|reply| Job::Append(Box::new(record), reply))
    }

    fn get_decision(&self, decision_id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        self.read(|log| log.decision_by_id(decision_id).map(|e| e.record.clone()))
    }

    fn list_decisions(&self, query: &DecisionQuery) -> Result<Page<DecisionRecord>, StoreError> {
        self.read(|log| log.list_decisions(query))
    }

    fn get_session(&self, session_id: &str) -> Result<Option<SessionSummary>, StoreError> {
        self.read(|log| log.sessions.get(session_id).map(|e| e.summary.clone()))
    }

    fn list_sessions(&self, query: &SessionQuery) -> Result<Page<SessionSummary>, StoreError> {
        self.read(|log| log.list_sessions(query))
    }

    fn put_session(&self, update: &SessionUpdate) -> Result<SessionSummary, StoreError> {
        crate::summary::check_text("session_id", &update.session_id)?;
        let update = update.clone();
        self.submit(|reply| Job::Session(update, reply))
    }

    fn session_decisions(&self, session_id: &str) -> Result<Vec<DecisionRecord>, StoreError> {
        self.read(|log| {
            log.index.session.get(session_id).map_or_else(Vec::new, |sequences| {
                sequences
                    .iter()
                    .filter_map(|s| log.decisions.get(s))
                    .map(|e| e.record.clone())
                    .collect()
            })
        })
    }

    fn activity_overview(&self, range: HourRange) -> Result<ActivityOverview, StoreError> {
        // The file store is for small logs: the overview is computed from the records in memory.
        self.read(|log| crate::counts::overview_of(log.decisions.values().map(|e| &e.record), range))
    }

    fn all_sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        self.read(|log| {
            let mut all: Vec<SessionSummary> = log.sessions.values().map(|e| e.summary.clone()).collect();
            all.sort_by(|a, b| a.session_id.cmp(&b.session_id));
            all
        })
    }

    fn record_outcome(&self, report: &OutcomeReport, recorded_at: &str) -> Result<Option<ToolOutcome>, StoreError> {
        summary::check_text("session_id", &report.session_id)?;
        summary::check_text("tool_use_id", &report.tool_use_id)?;
        let (report, at) = (report.clone(), recorded_at.to_owned());
        self.submit(|reply| Job::Outcome(report, at, reply))
    }

    fn get_outcome(&self, decision_id: &str) -> Result<Option<ToolOutcome>, StoreError> {
        self.read(|log| log.outcomes.get(decision_id).cloned())
    }

    fn import(&self, sessions: &[SessionSummary], decisions: &[DecisionRecord]) -> Result<ImportReport, StoreError> {
        let (s, d) = (sessions.to_vec(), decisions.to_vec());
        self.submit(|reply| Job::Import(s, d, reply))
    }

    fn scan_decisions(
        &self,
        sequences: RangeInclusive<u64>,
        visit: &mut dyn FnMut(&StoredDecision<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // A copy of the range's JSON, so the writer is not held up while the caller verifies.
        let range: Vec<(u64, Box<str>)> = self.read(|log| {
            log.decisions
                .range(sequences)
                .map(|(_, e)| (e.sequence, e.json.clone()))
                .collect()
        })?;
        for (sequence, json) in &range {
            visit(&StoredDecision {
                sequence: *sequence,
                record: std::borrow::Cow::Borrowed(json),
                columns: None,
            })?;
        }
        Ok(())
    }

    fn log_heads(&self) -> Result<LogHeads, StoreError> {
        self.read(|log| {
            let mut sessions: Vec<_> = log.sessions.values().map(|e| without_refs(&e.summary)).collect();
            sessions.sort_by(|a, b| a.session_id.cmp(&b.session_id));
            LogHeads {
                sequence: log.last_sequence(),
                decision_count: log.decisions.len() as u64,
                sessions,
            }
        })
    }

    fn save_checkpoint(&self, checkpoint: &CheckpointRow) -> Result<(), StoreError> {
        let row = Box::new(checkpoint.clone());
        self.submit(|reply| Job::Checkpoint(row, reply))
    }

    fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        Ok(self.checkpoints()?.pop())
    }

    fn scan_checkpoints(
        &self,
        visit: &mut dyn FnMut(CheckpointRow) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.checkpoints()?.into_iter().try_for_each(visit)
    }
}

// ---------------------------------------------------------------------------------------------
// The shared core: paths, the loaded log, and how a version of the file is recognised.

/// What callers and the writer thread share.
struct Shared {
    /// The data file.
    path: PathBuf,
    /// `<file>.lock`: never replaced, so a lock on it holds across rewrites of the data file.
    lock_path: PathBuf,
    /// `<file>.tmp`: only written under the lock, so one name suffices, and a temp file left by a
    /// crash is overwritten by the next write instead of piling up.
    temp_path: PathBuf,
    /// The directory of all three, fsync'd after each rename.
    dir: PathBuf,
    /// The lock file, opened on first need: reads create nothing.
    lock_file: OnceLock<File>,
    /// Held while the loaded version changes hands: by the writer for a whole group, by a reader
    /// that reloads. Without it a reader could load the writer's freshly renamed file and the
    /// writer then publish the same changes again on top of it.
    reload: Mutex<()>,
    /// The loaded log and the version of the file it came from.
    state: RwLock<State>,
    /// Told of every group that stored appends.
    observer: OnceLock<Arc<dyn StoreObserver>>,
    /// Rewrites of the data file, to prove group commit.
    #[cfg(test)]
    rewrites: std::sync::atomic::AtomicU64,
}

struct State {
    version: Version,
    log: Log,
}

/// One version of the data file as seen from outside: if anything here changes, it was rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    /// `None` when the file does not exist.
    file: Option<FileStamp>,
    /// The lock file's content, `None` when there is no lock file yet.
    token: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileStamp {
    fn of(meta: &fs::Metadata) -> FileStamp {
        FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

impl Shared {
    fn new(path: &Path) -> Result<Shared, StoreError> {
        if path.file_name().is_none() {
            return Err(StoreError::Invalid(format!(
                "`{}` is not a file path (the JSON store is one file)",
                path.display()
            )));
        }
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let mut shared = Shared {
            path: path.to_path_buf(),
            lock_path: sidecar(path, ".lock"),
            temp_path: sidecar(path, ".tmp"),
            dir,
            lock_file: OnceLock::new(),
            observer: OnceLock::new(),
            reload: Mutex::new(()),
            state: RwLock::new(State {
                version: Version {
                    file: None,
                    token: None,
                },
                log: Log::default(),
            }),
            #[cfg(test)]
            rewrites: std::sync::atomic::AtomicU64::new(0),
        };
        let (version, log) = shared.load()?;
        shared.state = RwLock::new(State { version, log });
        Ok(shared)
    }

    fn poisoned(&self) -> StoreError {
        StoreError::Unavailable(format!(
            "the JSON store `{}` is unusable: a thread failed while holding its lock",
            self.path.display()
        ))
    }

    /// The lock file, opened once; created (with its directory) only when `create`.
    fn lock_handle(&self, create: bool) -> io::Result<&File> {
        if let Some(file) = self.lock_file.get() {
            return Ok(file);
        }
        if create {
            create_dir(&self.dir)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(&self.lock_path)?;
        Ok(self.lock_file.get_or_init(|| file))
    }

    fn read_token(&self) -> Option<Vec<u8>> {
        let file = self.lock_handle(false).ok()?;
        let mut buf = [0u8; TOKEN_MAX];
        let n = file.read_at(&mut buf, 0).ok()?;
        buf.get(..n).map(<[u8]>::to_vec)
    }

    fn write_token(&self) -> Result<(), StoreError> {
        let file = self
            .lock_handle(true)
            .map_err(StoreError::io(format!("cannot open `{}`", self.lock_path.display())))?;
        file.write_all_at(ulid::Ulid::new().to_string().as_bytes(), 0)
            .map_err(StoreError::io(format!("cannot write `{}`", self.lock_path.display())))
    }

    /// The version on disk now. The token is read first, as in [`Shared::load`].
    fn probe(&self) -> Result<Version, StoreError> {
        let token = self.read_token();
        let file = match fs::metadata(&self.path) {
            Ok(meta) => Some(FileStamp::of(&meta)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(StoreError::Io {
                    context: format!("cannot read the metadata of `{}`", self.path.display()),
                    source: e,
                });
            }
        };
        Ok(Version { file, token })
    }

    /// Reads and indexes the file. The token is read before the file: a writer changes the
    /// token after its rename, so a token seen here is never newer than the data read after it.
    fn load(&self) -> Result<(Version, Log), StoreError> {
        let token = self.read_token();
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok((Version { file: None, token }, Log::default()));
            }
            Err(e) => {
                return Err(StoreError::Io {
                    context: format!("cannot open `{}`", self.path.display()),
                    source: e,
                });
            }
        };
        let cannot_read = || StoreError::io(format!("cannot read `{}`", self.path.display()));
        let meta = file.metadata().map_err(cannot_read())?;
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        file.read_to_end(&mut bytes).map_err(cannot_read())?;
        let log = Log::parse(&bytes, &self.path)?;
        let version = Version {
            file: Some(FileStamp::of(&meta)),
            token,
        };
        Ok((version, log))
    }

    /// Reloads if the file changed since it was loaded; for readers.
    fn refresh(&self) -> Result<(), StoreError> {
        let current = self.probe()?;
        if self.state.read().map_err(|_| self.poisoned())?.version == current {
            return Ok(());
        }
        let _gate = self.reload.lock().map_err(|_| self.poisoned())?;
        self.refresh_held()
    }

    /// Reloads if the file changed since it was loaded; the caller holds `reload`.
    fn refresh_held(&self) -> Result<(), StoreError> {
        let current = self.probe()?;
        if self.state.read().map_err(|_| self.poisoned())?.version == current {
            return Ok(());
        }
        let (version, log) = self.load()?;
        *self.state.write().map_err(|_| self.poisoned())? = State { version, log };
        Ok(())
    }

    fn lock_exclusive(&self) -> Result<Exclusive<'_>, StoreError> {
        let file = self
            .lock_handle(true)
            .map_err(StoreError::io(format!("cannot open `{}`", self.lock_path.display())))?;
        file.lock()
            .map_err(StoreError::io(format!("cannot lock `{}`", self.lock_path.display())))?;
        Ok(Exclusive(file))
    }

    /// Writes one group: under the lock, on the latest version of the file, then publishes it
    /// and answers every job.
    fn commit(&self, jobs: Vec<Job>) {
        let started = Instant::now();
        let lock = match self.lock_exclusive() {
            Ok(lock) => lock,
            Err(e) => return fail_all(jobs, &e),
        };
        let Ok(gate) = self.reload.lock() else {
            return fail_all(jobs, &self.poisoned());
        };
        if let Err(e) = self.refresh_held() {
            return fail_all(jobs, &e);
        }
        let Ok(state) = self.state.read() else {
            return fail_all(jobs, &self.poisoned());
        };
        let mut batch = Batch {
            log: &state.log,
            change: Change::default(),
            path: &self.path,
        };
        let staged: Vec<Staged> = jobs.into_iter().map(|job| job.stage(&mut batch)).collect();
        let change = batch.change;
        let written = if change.is_empty() {
            Ok(None)
        } else {
            change.prepare().and_then(|prepared| {
                self.write(&state.log, &prepared)
                    .map(|version| Some((version, prepared)))
            })
        };
        drop(state);
        let failure = match written {
            Ok(None) => None,
            Ok(Some((version, prepared))) => match self.state.write() {
                Ok(mut state) => {
                    state.log.apply(prepared);
                    state.version = version;
                    None
                }
                Err(_) => Some(self.poisoned()),
            },
            Err(e) => Some(e),
        };
        drop(gate);
        drop(lock);
        // Observed before anyone is answered: once an append returns, its group was seen.
        let stored = staged
            .iter()
            .filter(|s| matches!(s, Staged::Append(_, result) if result.is_ok()))
            .count();
        if failure.is_none()
            && stored > 0
            && let Some(observer) = self.observer.get()
        {
            observer.group_committed(stored, started.elapsed());
        }
        for s in staged {
            s.answer(failure.as_ref());
        }
    }

    fn write(&self, log: &Log, prepared: &Prepared) -> Result<Version, StoreError> {
        let written = self.write_file(log, prepared);
        if written.is_err() {
            // Under the lock the temp file is ours; after a successful rename it is already gone.
            let _ = fs::remove_file(&self.temp_path);
        }
        written
    }

    fn write_file(&self, log: &Log, prepared: &Prepared) -> Result<Version, StoreError> {
        let temp = self.temp_path.display();
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&self.temp_path)
            .map_err(StoreError::io(format!("cannot create `{temp}`")))?;
        if let Ok(meta) = fs::metadata(&self.path) {
            // Keep the original's mode: activity records may be readable by their owner only.
            file.set_permissions(meta.permissions())
                .map_err(StoreError::io(format!("cannot set the permissions of `{temp}`")))?;
        }
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        write_document(&mut out, log, prepared).map_err(StoreError::io(format!("cannot write `{temp}`")))?;
        let file = out.into_inner().map_err(|e| StoreError::Io {
            context: format!("cannot write `{temp}`"),
            source: e.into_error(),
        })?;
        file.sync_all()
            .map_err(StoreError::io(format!("cannot fsync `{temp}`")))?;
        drop(file);
        // A reader that loads the old file from now on carries this token, so the token written
        // after the rename tells it the file changed even if the new inode reuses the old number.
        self.write_token()?;
        fs::rename(&self.temp_path, &self.path).map_err(StoreError::io(format!(
            "cannot replace `{}` with `{temp}`",
            self.path.display()
        )))?;
        sync_dir(&self.dir).map_err(StoreError::io(format!("cannot fsync `{}`", self.dir.display())))?;
        #[cfg(test)]
        self.rewrites.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let meta = fs::metadata(&self.path).map_err(StoreError::io(format!(
            "cannot read the metadata of `{}`",
            self.path.display()
        )))?;
        // The data is durable; a failed token write only costs the other processes a reload.
        let _ = self.write_token();
        Ok(Version {
            file: Some(FileStamp::of(&meta)),
            token: self.read_token(),
        })
    }
}

/// The exclusive lock on the lock file, released on drop (and by the kernel if the process dies).
struct Exclusive<'a>(&'a File);

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and any missing parent, making each new entry durable in its parent.
fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(Path::to_path_buf)
        .collect();
    fs::create_dir_all(dir)?;
    for created in missing.iter().rev() {
        let parent = created
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        sync_dir(parent)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The loaded log and its indexes.

/// The file as written: unknown top-level keys are kept in `extra`.
#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    sessions: Vec<SessionSummary>,
    #[serde(default)]
    decisions: Vec<DecisionRecord>,
    #[serde(default)]
    tool_outcomes: Vec<ToolOutcome>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// The file in memory, indexed. Each entry keeps its serialised JSON, so a rewrite copies the
/// unchanged records instead of serialising them again.
#[derive(Default)]
struct Log {
    /// Top-level keys this version does not know, written back as they were.
    extra: serde_json::Map<String, serde_json::Value>,
    sessions: HashMap<String, SessionEntry>,
    /// Session ids in file order, so a rewrite keeps the file's order.
    session_order: Vec<String>,
    /// `(updated_at in µs, session_id)`: sessions newest first, ties by id, as instants.
    recency: BTreeSet<(i64, String)>,
    decisions: BTreeMap<u64, DecisionEntry>,
    by_id: HashMap<String, u64>,
    index: DecisionIndex,
    /// Tool outcomes by decision id (written as `tool_outcomes`, in decision-id order).
    outcomes: BTreeMap<String, ToolOutcome>,
}

struct SessionEntry {
    summary: SessionSummary,
    updated_us: i64,
    json: Box<str>,
}

impl SessionEntry {
    fn new(summary: SessionSummary, updated_us: i64) -> Result<SessionEntry, StoreError> {
        let json = serde_json::to_string(&summary)
            .map_err(|e| StoreError::Corrupt(format!("cannot serialise session `{}`: {e}", summary.session_id)))?;
        Ok(SessionEntry {
            summary,
            updated_us,
            json: json.into_boxed_str(),
        })
    }
}

struct DecisionEntry {
    sequence: u64,
    ts_us: i64,
    record: DecisionRecord,
    json: Box<str>,
}

impl DecisionEntry {
    fn new(record: DecisionRecord, sequence: u64, ts_us: i64) -> Result<DecisionEntry, StoreError> {
        let json = serde_json::to_string(&record)
            .map_err(|e| StoreError::Corrupt(format!("cannot serialise decision `{}`: {e}", record.decision_id)))?;
        Ok(DecisionEntry {
            sequence,
            ts_us,
            record,
            json: json.into_boxed_str(),
        })
    }

    fn matches(&self, q: &DecisionQuery) -> bool {
        let r = &self.record;
        q.session_id.as_ref().is_none_or(|v| *v == r.session_id)
            && q.agent_id.as_ref().is_none_or(|v| *v == r.agent_id)
            && q.repository.as_ref().is_none_or(|v| *v == r.repository)
            && q.policy_pack.as_ref().is_none_or(|v| *v == r.policy_pack)
            && q.decision.is_none_or(|v| v == r.decision)
            && q.severity.is_none_or(|v| v == r.severity)
            && q.action_type.is_none_or(|v| v == r.action_type)
            && q.since_micros.is_none_or(|t| self.ts_us >= t)
            && q.until_micros.is_none_or(|t| self.ts_us <= t)
    }
}

/// Sequences of the decisions with each value of each filter column.
#[derive(Default)]
struct DecisionIndex {
    session: HashMap<String, BTreeSet<u64>>,
    agent: HashMap<String, BTreeSet<u64>>,
    repository: HashMap<String, BTreeSet<u64>>,
    policy_pack: HashMap<String, BTreeSet<u64>>,
    decision: HashMap<Outcome, BTreeSet<u64>>,
    severity: HashMap<Severity, BTreeSet<u64>>,
    action_type: HashMap<ActionType, BTreeSet<u64>>,
}

/// Where the matches of a decision query can be.
#[derive(Clone, Copy)]
enum Candidates<'a> {
    /// No equality filter: anywhere.
    All,
    /// Some filter's value never occurs.
    Nothing,
    /// Among these sequences: the smallest set of any filter.
    Set(&'a BTreeSet<u64>),
}

impl DecisionIndex {
    fn add(&mut self, r: &DecisionRecord, sequence: u64) {
        self.session.entry(r.session_id.clone()).or_default().insert(sequence);
        self.agent.entry(r.agent_id.clone()).or_default().insert(sequence);
        self.repository
            .entry(r.repository.clone())
            .or_default()
            .insert(sequence);
        self.policy_pack
            .entry(r.policy_pack.clone())
            .or_default()
            .insert(sequence);
        self.decision.entry(r.decision).or_default().insert(sequence);
        self.severity.entry(r.severity).or_default().insert(sequence);
        self.action_type.entry(r.action_type).or_default().insert(sequence);
    }

    fn candidates(&self, q: &DecisionQuery) -> Candidates<'_> {
        let lookups = [
            q.session_id.as_ref().map(|v| self.session.get(v)),
            q.agent_id.as_ref().map(|v| self.agent.get(v)),
            q.repository.as_ref().map(|v| self.repository.get(v)),
            q.policy_pack.as_ref().map(|v| self.policy_pack.get(v)),
            q.decision.map(|v| self.decision.get(&v)),
            q.severity.map(|v| self.severity.get(&v)),
            q.action_type.map(|v| self.action_type.get(&v)),
        ];
        let mut best = Candidates::All;
        for lookup in lookups.into_iter().flatten() {
            let Some(set) = lookup else {
                return Candidates::Nothing;
            };
            if !matches!(best, Candidates::Set(b) if b.len() <= set.len()) {
                best = Candidates::Set(set);
            }
        }
        best
    }
}

impl Log {
    fn parse(bytes: &[u8], path: &Path) -> Result<Log, StoreError> {
        // An empty file (e.g. made with `touch`) is an empty store.
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Log::default());
        }
        let doc: Document = serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Corrupt(format!("`{}` is not a valid activity store: {e}", path.display())))?;
        let corrupt = |message: String| StoreError::Corrupt(format!("`{}`: {message}", path.display()));
        let mut log = Log {
            extra: doc.extra,
            ..Log::default()
        };
        for s in doc.sessions {
            if log.sessions.contains_key(&s.session_id) {
                return Err(corrupt(format!("session `{}` appears twice", s.session_id)));
            }
            let updated_us =
                parse_timestamp(&s.updated_at).map_err(|e| corrupt(format!("session `{}`: {e}", s.session_id)))?;
            log.put_session(SessionEntry::new(s, updated_us)?);
        }
        for d in doc.decisions {
            let Some(sequence) = d.sequence else {
                return Err(corrupt(format!("decision `{}` has no sequence", d.decision_id)));
            };
            if log.decisions.contains_key(&sequence) {
                return Err(corrupt(format!("sequence {sequence} appears twice")));
            }
            if log.by_id.contains_key(&d.decision_id) {
                return Err(corrupt(format!("decision `{}` appears twice", d.decision_id)));
            }
            let ts_us =
                parse_timestamp(&d.timestamp).map_err(|e| corrupt(format!("decision `{}`: {e}", d.decision_id)))?;
            log.put_decision(DecisionEntry::new(d, sequence, ts_us)?);
        }
        for o in doc.tool_outcomes {
            log.outcomes.insert(o.decision_id.clone(), o);
        }
        Ok(log)
    }

    /// Adds a session or replaces it, keeping its place in the file.
    fn put_session(&mut self, entry: SessionEntry) {
        let id = entry.summary.session_id.clone();
        match self.sessions.get(&id) {
            Some(old) => {
                self.recency.remove(&(old.updated_us, id.clone()));
            }
            None => self.session_order.push(id.clone()),
        }
        self.recency.insert((entry.updated_us, id.clone()));
        self.sessions.insert(id, entry);
    }

    fn put_decision(&mut self, entry: DecisionEntry) {
        self.by_id.insert(entry.record.decision_id.clone(), entry.sequence);
        self.index.add(&entry.record, entry.sequence);
        self.decisions.insert(entry.sequence, entry);
    }

    fn decision_by_id(&self, decision_id: &str) -> Option<&DecisionEntry> {
        self.by_id.get(decision_id).and_then(|s| self.decisions.get(s))
    }

    fn last_sequence(&self) -> u64 {
        self.decisions.last_key_value().map_or(0, |(s, _)| *s)
    }

    /// Publishes a written group.
    fn apply(&mut self, prepared: Prepared) {
        let Prepared {
            mut sessions,
            session_order,
            decisions,
            extra,
            outcomes,
        } = prepared;
        if let Some(extra) = extra {
            self.extra = extra;
        }
        self.outcomes.extend(outcomes);
        for id in session_order {
            if let Some(entry) = sessions.remove(&id) {
                self.put_session(entry);
            }
        }
        for entry in decisions.into_values() {
            self.put_decision(entry);
        }
    }

    fn list_decisions(&self, q: &DecisionQuery) -> Page<DecisionRecord> {
        let candidates = self.index.candidates(q);
        // With no filter, or one equality filter, the candidates are exactly the matches: the
        // total is a length and the page a range, O(limit) instead of a scan.
        let filters = [
            q.session_id.is_some(),
            q.agent_id.is_some(),
            q.repository.is_some(),
            q.policy_pack.is_some(),
            q.decision.is_some(),
            q.severity.is_some(),
            q.action_type.is_some(),
            q.since_micros.is_some(),
            q.until_micros.is_some(),
        ]
        .into_iter()
        .filter(|on| *on)
        .count();
        let exact = match candidates {
            Candidates::All => filters == 0,
            Candidates::Set(_) => filters == 1,
            Candidates::Nothing => true,
        };
        let upper = q.before_sequence.map_or(Bound::Unbounded, Bound::Excluded);
        let (total, newest_first): (u64, Box<dyn Iterator<Item = &DecisionEntry> + '_>) = match candidates {
            Candidates::Nothing => (0, Box::new(std::iter::empty())),
            Candidates::Set(set) => (
                u64::try_from(set.len()).unwrap_or(u64::MAX),
                Box::new(
                    set.range((Bound::Unbounded, upper))
                        .rev()
                        .filter_map(|s| self.decisions.get(s)),
                ),
            ),
            Candidates::All => (
                u64::try_from(self.decisions.len()).unwrap_or(u64::MAX),
                Box::new(self.decisions.range((Bound::Unbounded, upper)).rev().map(|(_, e)| e)),
            ),
        };
        let total = if exact {
            total
        } else {
            let all: Box<dyn Iterator<Item = &DecisionEntry>> = match candidates {
                Candidates::Set(set) => Box::new(set.iter().filter_map(|s| self.decisions.get(s))),
                _ => Box::new(self.decisions.values()),
            };
            u64::try_from(all.filter(|e| e.matches(q)).count()).unwrap_or(u64::MAX)
        };
        let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
        // Offset is ignored with a cursor; one row past the page tells whether there is more.
        let skip = if q.before_sequence.is_some() {
            0
        } else {
            usize::try_from(q.offset).unwrap_or(usize::MAX)
        };
        let mut items: Vec<DecisionRecord> = newest_first
            .filter(|e| exact || e.matches(q))
            .skip(skip)
            .take(limit.saturating_add(1))
            .map(|e| e.record.clone())
            .collect();
        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = if more {
            items.last().and_then(|d| d.sequence).map(encode_cursor)
        } else {
            None
        };
        Page {
            items,
            total,
            limit: q.limit,
            offset: q.offset,
            next_cursor,
        }
    }

    fn list_sessions(&self, q: &SessionQuery) -> Page<SessionSummary> {
        let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
        let mut to_skip = q.offset;
        let mut total = 0u64;
        let mut items = Vec::new();
        for (_, id) in self.recency.iter().rev() {
            let Some(entry) = self.sessions.get(id) else {
                continue;
            };
            let s = &entry.summary;
            let matches = q.agent_id.as_ref().is_none_or(|v| *v == s.agent_id)
                && q.repository.as_ref().is_none_or(|v| *v == s.repository)
                && q.policy_pack.as_ref().is_none_or(|v| *v == s.policy_pack)
                && q.state.is_none_or(|v| v == s.state);
            if !matches {
                continue;
            }
            total += 1;
            if to_skip > 0 {
                to_skip -= 1;
                continue;
            }
            if items.len() < limit {
                items.push(s.clone());
            }
        }
        Page {
            items,
            total,
            limit: q.limit,
            offset: q.offset,
            next_cursor: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writing: jobs, the group staged over the log, and the document.

enum Job {
    Append(Box<DecisionRecord>, Reply<DecisionRecord>),
    Session(SessionUpdate, Reply<SessionSummary>),
    Import(Vec<SessionSummary>, Vec<DecisionRecord>, Reply<ImportReport>),
    Checkpoint(Box<CheckpointRow>, Reply<()>),
    Outcome(OutcomeReport, String, Reply<Option<ToolOutcome>>),
}

/// A job staged in the group, with its answer if the group is written.
enum Staged {
    // Records and summaries are boxed: a group holds up to `MAX_GROUP` of these.
    Append(Reply<DecisionRecord>, Box<Result<DecisionRecord, StoreError>>),
    Session(Reply<SessionSummary>, Box<Result<SessionSummary, StoreError>>),
    Import(Reply<ImportReport>, Result<ImportReport, StoreError>),
    Checkpoint(Reply<()>, Result<(), StoreError>),
    Outcome(Reply<Option<ToolOutcome>>, Result<Option<ToolOutcome>, StoreError>),
}

impl Job {
    fn stage(self, batch: &mut Batch<'_>) -> Staged {
        match self {
            Job::Append(record, reply) => Staged::Append(reply, Box::new(batch.append(*record))),
            Job::Session(update, reply) => Staged::Session(reply, Box::new(batch.put_session(&update))),
            Job::Import(sessions, decisions, reply) => Staged::Import(reply, batch.import(&sessions, &decisions)),
            Job::Checkpoint(row, reply) => Staged::Checkpoint(reply, batch.checkpoint(&row)),
            Job::Outcome(report, at, reply) => Staged::Outcome(reply, Ok(batch.record_outcome(&report, &at))),
        }
    }

    fn fail(self, error: &StoreError) {
        match self {
            Job::Append(_, reply) => drop(reply.send(Err(copy_error(error)))),
            Job::Session(_, reply) => drop(reply.send(Err(copy_error(error)))),
            Job::Import(_, _, reply) => drop(reply.send(Err(copy_error(error)))),
            Job::Checkpoint(_, reply) => drop(reply.send(Err(copy_error(error)))),
            Job::Outcome(_, _, reply) => drop(reply.send(Err(copy_error(error)))),
        }
    }
}

impl Staged {
    /// Answers the caller: its own result, unless the group as a whole failed.
    fn answer(self, failure: Option<&StoreError>) {
        fn send<T>(reply: Reply<T>, result: Result<T, StoreError>, failure: Option<&StoreError>) {
            let result = match (result, failure) {
                (Ok(_), Some(e)) => Err(copy_error(e)),
                (result, _) => result,
            };
            let _ = reply.send(result);
        }
        match self {
            Staged::Append(reply, result) => send(reply, *result, failure),
            Staged::Session(reply, result) => send(reply, *result, failure),
            Staged::Import(reply, result) => send(reply, result, failure),
            Staged::Checkpoint(reply, result) => send(reply, result, failure),
            Staged::Outcome(reply, result) => send(reply, result, failure),
        }
    }
}

fn fail_all(jobs: Vec<Job>, error: &StoreError) {
    for job in jobs {
        job.fail(error);
    }
}

/// The same error for another caller of a failed group (`StoreError` is not `Clone`).
fn copy_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Invalid(m) => StoreError::Invalid(m.clone()),
        StoreError::Io { context, source } => StoreError::Io {
            context: context.clone(),
            source: io::Error::new(source.kind(), source.to_string()),
        },
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
        StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        other => StoreError::Unavailable(other.to_string()),
    }
}

fn write_loop(shared: &Shared, jobs: &mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        shared.commit(group);
    }
}

/// A session changed by the group.
struct StagedSession {
    summary: SessionSummary,
    updated_us: i64,
}

/// What a group adds and changes, not yet written.
#[derive(Default)]
struct Change {
    sessions: HashMap<String, StagedSession>,
    /// First-touch order, so new sessions are written in the order they appeared.
    session_order: Vec<String>,
    decisions: BTreeMap<u64, DecisionEntry>,
    by_id: HashMap<String, u64>,
    /// The top-level keys this version does not know, when the group changed them (a checkpoint
    /// added to [`CHECKPOINTS_KEY`]).
    extra: Option<serde_json::Map<String, serde_json::Value>>,
    outcomes: BTreeMap<String, ToolOutcome>,
}

impl Change {
    fn is_empty(&self) -> bool {
        self.sessions.is_empty() && self.decisions.is_empty() && self.extra.is_none() && self.outcomes.is_empty()
    }

    fn put_decision(&mut self, entry: DecisionEntry) {
        self.by_id.insert(entry.record.decision_id.clone(), entry.sequence);
        self.decisions.insert(entry.sequence, entry);
    }

    /// Serialises the changed sessions, the group's last fallible step before the write.
    fn prepare(self) -> Result<Prepared, StoreError> {
        let sessions = self
            .sessions
            .into_iter()
            .map(|(id, s)| Ok((id, SessionEntry::new(s.summary, s.updated_us)?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(Prepared {
            sessions,
            session_order: self.session_order,
            decisions: self.decisions,
            extra: self.extra,
            outcomes: self.outcomes,
        })
    }
}

/// A group ready to be written and published.
struct Prepared {
    sessions: HashMap<String, SessionEntry>,
    session_order: Vec<String>,
    decisions: BTreeMap<u64, DecisionEntry>,
    extra: Option<serde_json::Map<String, serde_json::Value>>,
    outcomes: BTreeMap<String, ToolOutcome>,
}

/// The log as the group sees it: the loaded log overlaid with the group's changes so far.
struct Batch<'a> {
    log: &'a Log,
    change: Change,
    path: &'a Path,
}

impl Batch<'_> {
    /// Stages an outcome against the session's latest decision with its tool-use id (the
    /// group's own appends first, they are the latest); the first outcome of a decision stays.
    fn record_outcome(&mut self, report: &OutcomeReport, recorded_at: &str) -> Option<ToolOutcome> {
        let wanted = |r: &DecisionRecord| {
            r.session_id == report.session_id && r.tool_use_id.as_deref() == Some(report.tool_use_id.as_str())
        };
        let staged = self
            .change
            .decisions
            .values()
            .rev()
            .map(|e| &e.record)
            .find(|r| wanted(r));
        let logged = || {
            self.log.index.session.get(&report.session_id).and_then(|sequences| {
                sequences
                    .iter()
                    .rev()
                    .filter_map(|s| self.log.decisions.get(s))
                    .map(|e| &e.record)
                    .find(|r| wanted(r))
            })
        };
        let decision_id = staged.or_else(logged)?.decision_id.clone();
        if let Some(known) = self
            .change
            .outcomes
            .get(&decision_id)
            .or_else(|| self.log.outcomes.get(&decision_id))
        {
            return Some(known.clone());
        }
        let outcome = ToolOutcome {
            decision_id: decision_id.clone(),
            session_id: report.session_id.clone(),
            tool_use_id: report.tool_use_id.clone(),
            status: report.status,
            recorded_at: recorded_at.to_owned(),
        };
        self.change.outcomes.insert(decision_id, outcome.clone());
        Some(outcome)
    }

    fn session(&self, id: &str) -> Option<&SessionSummary> {
        self.change
            .sessions
            .get(id)
            .map(|s| &s.summary)
            .or_else(|| self.log.sessions.get(id).map(|e| &e.summary))
    }

    fn decision_by_id(&self, id: &str) -> Option<&DecisionRecord> {
        self.change
            .by_id
            .get(id)
            .and_then(|s| self.change.decisions.get(s))
            .or_else(|| self.log.decision_by_id(id))
            .map(|e| &e.record)
    }

    fn decision_at(&self, sequence: u64) -> Option<&DecisionRecord> {
        self.change
            .decisions
            .get(&sequence)
            .or_else(|| self.log.decisions.get(&sequence))
            .map(|e| &e.record)
    }

    /// Highest sequence in the file and the group, plus one: no gaps, failed jobs take none.
    fn next_sequence(&self) -> Result<u64, StoreError> {
        let last = self.change.decisions.last_key_value().map_or(0, |(s, _)| *s);
        last.max(self.log.last_sequence())
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt(format!("`{}`: the sequence is exhausted", self.path.display())))
    }

    /// The group's copy of a session: taken from the log on first touch, `fresh` if it is new.
    fn session_slot(&mut self, id: &str, fresh: impl FnOnce() -> SessionSummary) -> &mut StagedSession {
        match self.change.sessions.entry(id.to_owned()) {
            Entry::Occupied(slot) => slot.into_mut(),
            Entry::Vacant(slot) => {
                self.change.session_order.push(id.to_owned());
                let staged = match self.log.sessions.get(id) {
                    Some(e) => StagedSession {
                        summary: e.summary.clone(),
                        updated_us: e.updated_us,
                    },
                    None => StagedSession {
                        summary: fresh(),
                        updated_us: i64::MIN,
                    },
                };
                slot.insert(staged)
            }
        }
    }

    /// Adds a checkpoint to the document's [`CHECKPOINTS_KEY`] list.
    fn checkpoint(&mut self, row: &CheckpointRow) -> Result<(), StoreError> {
        let value = serde_json::to_value(row).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut extra = self.change.extra.take().unwrap_or_else(|| self.log.extra.clone());
        let list = extra
            .entry(CHECKPOINTS_KEY)
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        let result = match list.as_array_mut() {
            Some(items) => {
                items.push(value);
                Ok(())
            }
            None => Err(StoreError::Corrupt(format!(
                "`{}`: `{CHECKPOINTS_KEY}` is not a list",
                self.path.display()
            ))),
        };
        self.change.extra = Some(extra);
        result
    }

    fn append(&mut self, record: DecisionRecord) -> Result<DecisionRecord, StoreError> {
        let ts_us = parse_timestamp(&record.timestamp)
            .map_err(|e| StoreError::Invalid(format!("decision `{}`: {e}", record.decision_id)))?;
        if self.decision_by_id(&record.decision_id).is_some() {
            return Err(StoreError::Conflict(format!(
                "decision `{}` is already in `{}`",
                record.decision_id,
                self.path.display()
            )));
        }
        let sequence = self.next_sequence()?;
        let session_id = record.session_id.clone();
        // Link against a copy without the evidence refs: O(1), and the group is untouched until
        // every fallible step is done, so a failing append fails alone.
        let mut linked = match self.session(&session_id) {
            Some(s) => without_refs(s),
            None => SessionSummary::new(&session_id, &record.timestamp),
        };
        let sealed = summary::link(&mut linked, record, sequence);
        let updated_us = parse_timestamp(&linked.updated_at).map_err(StoreError::Invalid)?;
        let entry = DecisionEntry::new(sealed.clone(), sequence, ts_us)?;
        let slot = self.session_slot(&session_id, || SessionSummary::new(&session_id, &sealed.timestamp));
        let mut refs = std::mem::take(&mut slot.summary.evidence_refs);
        refs.append(&mut linked.evidence_refs);
        linked.evidence_refs = refs;
        slot.summary = linked;
        slot.updated_us = updated_us;
        self.change.put_decision(entry);
        Ok(sealed)
    }

    fn put_session(&mut self, update: &SessionUpdate) -> Result<SessionSummary, StoreError> {
        let at = crate::stamp::rfc3339_micros(chrono::Utc::now());
        let at_us = parse_timestamp(&at).map_err(StoreError::Invalid)?;
        let slot = self.session_slot(&update.session_id, || crate::summary::new_session(update, &at));
        crate::summary::update_session(&mut slot.summary, update, &at);
        slot.updated_us = at_us;
        Ok(slot.summary.clone())
    }

    /// Validates the whole import first, so a conflict leaves the group untouched.
    fn import(
        &mut self,
        sessions: &[SessionSummary],
        decisions: &[DecisionRecord],
    ) -> Result<ImportReport, StoreError> {
        let mut report = ImportReport::default();
        let mut fresh: BTreeMap<u64, DecisionEntry> = BTreeMap::new();
        let mut fresh_ids: HashMap<&str, u64> = HashMap::new();
        for d in decisions {
            let Some(sequence) = d.sequence else {
                return Err(StoreError::Invalid(format!(
                    "decision `{}` has no sequence (an import keeps sequences as they are)",
                    d.decision_id
                )));
            };
            let stored = self
                .decision_by_id(&d.decision_id)
                .or_else(|| {
                    fresh_ids
                        .get(d.decision_id.as_str())
                        .and_then(|s| fresh.get(s))
                        .map(|e| &e.record)
                })
                .or_else(|| self.decision_at(sequence))
                .or_else(|| fresh.get(&sequence).map(|e| &e.record));
            match stored {
                Some(stored) => {
                    if stored.decision_id != d.decision_id || stored.record_hash != d.record_hash {
                        return Err(StoreError::Conflict(format!(
                            "decision `{}` (sequence {sequence}) differs from the stored `{}` in `{}`",
                            d.decision_id,
                            stored.decision_id,
                            self.path.display()
                        )));
                    }
                    report.decisions_skipped += 1;
                }
                None => {
                    let ts_us = parse_timestamp(&d.timestamp)
                        .map_err(|e| StoreError::Invalid(format!("decision `{}`: {e}", d.decision_id)))?;
                    fresh_ids.insert(&d.decision_id, sequence);
                    fresh.insert(sequence, DecisionEntry::new(d.clone(), sequence, ts_us)?);
                    report.decisions_imported += 1;
                }
            }
        }
        let mut new_sessions: Vec<(&SessionSummary, i64)> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for s in sessions {
            if self.session(&s.session_id).is_some() || !seen.insert(&s.session_id) {
                report.sessions_skipped += 1;
                continue;
            }
            let updated_us = parse_timestamp(&s.updated_at)
                .map_err(|e| StoreError::Invalid(format!("session `{}`: {e}", s.session_id)))?;
            new_sessions.push((s, updated_us));
            report.sessions_imported += 1;
        }
        for entry in fresh.into_values() {
            self.change.put_decision(entry);
        }
        for (s, updated_us) in new_sessions {
            let slot = self.session_slot(&s.session_id, || s.clone());
            slot.updated_us = updated_us;
        }
        Ok(report)
    }
}

/// A copy of `s` without its evidence refs, the one part that grows with the session.
fn without_refs(s: &SessionSummary) -> SessionSummary {
    SessionSummary {
        session_id: s.session_id.clone(),
        agent_id: s.agent_id.clone(),
        actor: s.actor.clone(),
        repository: s.repository.clone(),
        policy_pack: s.policy_pack.clone(),
        state: s.state,
        started_at: s.started_at.clone(),
        updated_at: s.updated_at.clone(),
        decision_count: s.decision_count,
        blocked_count: s.blocked_count,
        approval_required_count: s.approval_required_count,
        outcome_counts: s.outcome_counts.clone(),
        max_severity: s.max_severity,
        last_decision_id: s.last_decision_id.clone(),
        head_hash: s.head_hash.clone(),
        evidence_refs: Vec::new(),
        extra: s.extra.clone(),
    }
}

/// Writes the document: one record per line, sessions in file order, decisions by sequence,
/// then the top-level keys this version does not know.
fn write_document(out: &mut impl Write, log: &Log, prepared: &Prepared) -> io::Result<()> {
    let sessions = log
        .session_order
        .iter()
        .filter_map(|id| prepared.sessions.get(id).or_else(|| log.sessions.get(id)))
        .chain(
            prepared
                .session_order
                .iter()
                .filter(|id| !log.sessions.contains_key(*id))
                .filter_map(|id| prepared.sessions.get(id)),
        )
        .map(|e| &*e.json);
    out.write_all(b"{\"sessions\": ")?;
    write_array(out, sessions)?;
    out.write_all(b",\n\"decisions\": ")?;
    write_array(out, merged(&log.decisions, &prepared.decisions))?;
    if !log.outcomes.is_empty() || !prepared.outcomes.is_empty() {
        let mut outcomes: BTreeMap<&str, &ToolOutcome> = log.outcomes.iter().map(|(id, o)| (id.as_str(), o)).collect();
        outcomes.extend(prepared.outcomes.iter().map(|(id, o)| (id.as_str(), o)));
        out.write_all(b",\n\"tool_outcomes\": ")?;
        let rows = outcomes
            .values()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?;
        write_array(out, rows.iter().map(String::as_str))?;
    }
    for (key, value) in prepared.extra.as_ref().unwrap_or(&log.extra) {
        out.write_all(b",\n")?;
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(b": ")?;
        serde_json::to_writer(&mut *out, value)?;
    }
    out.write_all(b"}\n")
}

fn write_array<'a>(out: &mut impl Write, items: impl Iterator<Item = &'a str>) -> io::Result<()> {
    out.write_all(b"[")?;
    let mut separator: &[u8] = b"\n";
    for item in items {
        out.write_all(separator)?;
        out.write_all(item.as_bytes())?;
        separator = b",\n";
    }
    out.write_all(b"\n]")
}

/// The JSON of two sequence-keyed maps with disjoint keys, in sequence order.
fn merged<'a>(
    a: &'a BTreeMap<u64, DecisionEntry>,
    b: &'a BTreeMap<u64, DecisionEntry>,
) -> impl Iterator<Item = &'a str> {
    let mut a = a.values().peekable();
    let mut b = b.values().peekable();
    std::iter::from_fn(move || {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.sequence < y.sequence,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if take_a { a.next() } else { b.next() }
    })
    .map(|e| &*e.json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SessionState;
    use crate::stamp::Stamper;
    use cavra_core::{Action, Evaluation, Mode, integrity};
    use std::sync::atomic::Ordering;

    fn record(stamper: &mut Stamper, session: &str, decision: Outcome) -> DecisionRecord {
        let mut action = Action::new(ActionType::ExecuteCommand, "ls");
        action.session_id = Some(session.to_owned());
        let evaluation = Evaluation {
            decision,
            severity: if decision == Outcome::Block {
                Severity::High
            } else {
                Severity::Low
            },
            rule_id: "test.default".into(),
            policy_id: "test".into(),
            reason: "a test decision".into(),
            suggestion: None,
            approver_group: None,
            matched: vec![],
            mode: Mode::Enforce,
        };
        DecisionRecord::new(&action, evaluation, "1.0.0", stamper.stamp())
    }

    fn query(limit: u32) -> DecisionQuery {
        DecisionQuery {
            limit,
            ..Default::default()
        }
    }

    fn read_json(path: &Path) -> serde_json::Value {
        serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
    }

    /// Appended decisions come back with sequence, chain and summary, in pages with a cursor.
    #[test]
    fn append_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonStore::open(&dir.path().join("activity.json")).unwrap();
        let mut stamper = Stamper::new();
        let outcomes = [Outcome::Allow, Outcome::Block, Outcome::RequireApproval];
        let mut stored = Vec::new();
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let r = store
                .append(record(&mut stamper, ["s0", "s1", "s0"][i], outcome))
                .unwrap();
            assert_eq!(r.sequence, Some(i as u64 + 1));
            stored.push(r);
        }
        assert_eq!(store.get_decision(&stored[1].decision_id).unwrap().unwrap(), stored[1]);
        assert!(store.get_decision("dec_missing").unwrap().is_none());

        let s0 = store.get_session("s0").unwrap().unwrap();
        assert_eq!(s0.decision_count, 2);
        assert_eq!(s0.approval_required_count, 1);
        assert_eq!(s0.evidence_refs.len(), 2);
        assert_eq!(s0.head_hash, stored[2].record_hash);
        assert_eq!(s0.updated_at, stored[2].timestamp);
        let chain = store.session_decisions("s0").unwrap();
        assert_eq!(chain, vec![stored[0].clone(), stored[2].clone()]);
        assert_eq!(chain[1].prev_hash, chain[0].record_hash);

        let first = store.list_decisions(&query(2)).unwrap();
        assert_eq!(first.total, 3);
        assert_eq!(first.items, vec![stored[2].clone(), stored[1].clone()]);
        let cursor = first.next_cursor.unwrap();
        let before = crate::model::decode_cursor(&cursor).unwrap();
        let second = store
            .list_decisions(&DecisionQuery {
                before_sequence: Some(before),
                offset: 99,
                ..query(2)
            })
            .unwrap();
        assert_eq!(second.items, vec![stored[0].clone()]);
        assert_eq!(second.total, 3);
        assert!(second.next_cursor.is_none());

        let blocked = store
            .list_decisions(&DecisionQuery {
                decision: Some(Outcome::Block),
                ..query(50)
            })
            .unwrap();
        assert_eq!((blocked.total, blocked.items.len()), (1, 1));
        let none = store
            .list_decisions(&DecisionQuery {
                session_id: Some("nobody".into()),
                ..query(50)
            })
            .unwrap();
        assert_eq!((none.total, none.items.len()), (0, 0));
        let skipped = store
            .list_decisions(&DecisionQuery {
                session_id: Some("s0".into()),
                offset: 1,
                ..query(50)
            })
            .unwrap();
        assert_eq!((skipped.total, skipped.items), (2, vec![stored[0].clone()]));
    }

    /// Every list agrees with a plain filter-sort-slice model, across filters, pages and cursors.
    #[test]
    fn lists_agree_with_a_model() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonStore::open(&dir.path().join("activity.json")).unwrap();
        let mut stamper = Stamper::new();
        let base = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let plus_two = chrono::FixedOffset::east_opt(7200).unwrap();
        let outcomes = [Outcome::Allow, Outcome::Block, Outcome::Warn, Outcome::RequireApproval];
        let mut all = Vec::new();
        for i in 0..60i64 {
            let mut r = record(&mut stamper, &format!("s{}", i % 4), outcomes[(i % 4) as usize]);
            r.agent_id = format!("a{}", i % 3);
            r.repository = format!("r{}", i % 2);
            let at = base + chrono::Duration::minutes(i);
            // Half the timestamps in another zone: `since`/`until` compare instants.
            r.timestamp = if i % 2 == 0 {
                at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            } else {
                at.with_timezone(&plus_two)
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
            };
            all.push(store.append(r).unwrap());
        }
        all.reverse();
        let micros = |minutes: i64| (base + chrono::Duration::minutes(minutes)).timestamp_micros();
        for session in [None, Some("s1")] {
            for agent in [None, Some("a2")] {
                for decision in [None, Some(Outcome::Block)] {
                    for (since, until) in [
                        (None, None),
                        (Some(micros(20)), None),
                        (Some(micros(10)), Some(micros(45))),
                    ] {
                        let filter = DecisionQuery {
                            session_id: session.map(str::to_owned),
                            agent_id: agent.map(str::to_owned),
                            decision,
                            since_micros: since,
                            until_micros: until,
                            ..query(0)
                        };
                        let expected: Vec<&DecisionRecord> = all
                            .iter()
                            .filter(|d| session.is_none_or(|s| d.session_id == s))
                            .filter(|d| agent.is_none_or(|a| d.agent_id == a))
                            .filter(|d| decision.is_none_or(|o| d.decision == o))
                            .filter(|d| {
                                let t = parse_timestamp(&d.timestamp).unwrap();
                                since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u)
                            })
                            .collect();
                        for (limit, offset) in [(1, 0), (7, 0), (7, 3), (500, 0)] {
                            let page = store
                                .list_decisions(&DecisionQuery {
                                    limit,
                                    offset,
                                    ..filter.clone()
                                })
                                .unwrap();
                            let want: Vec<DecisionRecord> = expected
                                .iter()
                                .skip(offset as usize)
                                .take(limit as usize)
                                .map(|d| (*d).clone())
                                .collect();
                            assert_eq!(page.total, expected.len() as u64, "{filter:?}");
                            assert_eq!(page.items, want, "{filter:?} limit {limit} offset {offset}");
                            let more = expected.len() > offset as usize + limit as usize;
                            assert_eq!(page.next_cursor.is_some(), more, "{filter:?}");
                        }
                        let mut walked = Vec::new();
                        let mut cursor = None;
                        loop {
                            let page = store
                                .list_decisions(&DecisionQuery {
                                    limit: 4,
                                    before_sequence: cursor,
                                    ..filter.clone()
                                })
                                .unwrap();
                            walked.extend(page.items);
                            match page.next_cursor {
                                Some(c) => cursor = Some(crate::model::decode_cursor(&c).unwrap()),
                                None => break,
                            }
                        }
                        assert_eq!(walked.iter().collect::<Vec<_>>(), expected, "{filter:?}");
                    }
                }
            }
        }
        let sessions = store
            .list_sessions(&SessionQuery {
                repository: Some("r1".into()),
                limit: 1,
                offset: 1,
                ..Default::default()
            })
            .unwrap();
        // Sessions s1 and s3 got the odd decisions (repository r1); s3's is the latest.
        assert_eq!(sessions.total, 2);
        assert_eq!(sessions.items.len(), 1);
        assert_eq!(sessions.items[0].session_id, "s1");
    }

    /// Everything written is there after reopening, and the sequence continues without a gap.
    #[test]
    fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("activity.json");
        let mut stamper = Stamper::new();
        let first = {
            let store = JsonStore::open(&path).unwrap();
            store.append(record(&mut stamper, "s", Outcome::Allow)).unwrap()
        };
        let store = JsonStore::open(&path).unwrap();
        assert_eq!(store.get_decision(&first.decision_id).unwrap(), Some(first.clone()));
        let second = store.append(record(&mut stamper, "s", Outcome::Warn)).unwrap();
        assert_eq!(second.sequence, Some(2));
        assert_eq!(second.prev_hash, first.record_hash);
        assert_eq!(store.get_session("s").unwrap().unwrap().decision_count, 2);
    }

    /// Unknown fields of a record, of a summary and of the file itself survive a rewrite.
    #[test]
    fn unknown_fields_survive_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("activity.json");
        let mut stamper = Stamper::new();
        let first = JsonStore::open(&path)
            .unwrap()
            .append(record(&mut stamper, "s", Outcome::Allow))
            .unwrap();
        let mut doc = read_json(&path);
        doc["decisions"][0]["x_record"] = serde_json::json!("kept");
        doc["sessions"][0]["x_session"] = serde_json::json!({"n": 7});
        doc["x_top"] = serde_json::json!([1, {"a": null}]);
        fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();

        let store = JsonStore::open(&path).unwrap();
        store.append(record(&mut stamper, "s", Outcome::Allow)).unwrap();
        store
            .put_session(&SessionUpdate {
                session_id: "s".into(),
                state: Some(SessionState::Completed),
                ..Default::default()
            })
            .unwrap();
        let doc = read_json(&path);
        assert_eq!(doc["decisions"][0]["x_record"], "kept");
        assert_eq!(doc["decisions"][0]["decision_id"], first.decision_id.as_str());
        assert_eq!(doc["sessions"][0]["x_session"]["n"], 7);
        assert_eq!(doc["sessions"][0]["state"], "completed");
        assert_eq!(doc["x_top"], serde_json::json!([1, {"a": null}]));
        let stored = store.get_decision(&first.decision_id).unwrap().unwrap();
        assert_eq!(stored.extra["x_record"], "kept");
    }

    /// Two stores on one file (two processes) interleaving appends lose nothing and keep the
    /// sequence and every session's chain gap-free.
    #[test]
    fn two_stores_on_one_file_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("activity.json");
        let per_store = 40;
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let store = JsonStore::open(&path).unwrap();
                    let mut stamper = Stamper::new();
                    (0..per_store)
                        .map(|i| {
                            let session = if i % 2 == 0 { "shared-a" } else { "shared-b" };
                            store.append(record(&mut stamper, session, Outcome::Allow)).unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let acknowledged: Vec<DecisionRecord> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();

        let store = JsonStore::open(&path).unwrap();
        let all = store.list_decisions(&query(500)).unwrap();
        assert_eq!(all.total, 2 * per_store);
        let mut sequences: Vec<u64> = all.items.iter().map(|d| d.sequence.unwrap()).collect();
        sequences.sort_unstable();
        assert_eq!(sequences, (1..=2 * per_store).collect::<Vec<_>>());
        for d in &acknowledged {
            assert_eq!(store.get_decision(&d.decision_id).unwrap().as_ref(), Some(d));
        }
        for session in ["shared-a", "shared-b"] {
            let chain = store.session_decisions(session).unwrap();
            assert_eq!(chain.len() as u64, per_store);
            let mut prev = None;
            for d in &chain {
                assert_eq!(d.prev_hash, prev);
                assert_eq!(d.record_hash.as_deref(), Some(integrity::record_hash(d).as_str()));
                prev = d.record_hash.clone();
            }
            let summary = store.get_session(session).unwrap().unwrap();
            assert_eq!(summary.decision_count, per_store);
            assert_eq!(summary.head_hash, prev);
            assert_eq!(summary.evidence_refs.len() as u64, per_store);
        }
    }

    /// A write by another store on the same file is seen by the next read, without reopening.
    #[test]
    fn another_writer_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("activity.json");
        let (a, b) = (JsonStore::open(&path).unwrap(), JsonStore::open(&path).unwrap());
        let mut stamper = Stamper::new();
        let first = a.append(record(&mut stamper, "s", Outcome::Allow)).unwrap();
        assert_eq!(b.get_decision(&first.decision_id).unwrap(), Some(first.clone()));
        let second = b.append(record(&mut stamper, "s", Outcome::Allow)).unwrap();
        assert_eq!(second.prev_hash, first.record_hash);
        assert_eq!(a.get_session("s").unwrap().unwrap().decision_count, 2);
        for state in [SessionState::Failed, SessionState::Archived] {
            b.put_session(&SessionUpdate {
                session_id: "s".into(),
                state: Some(state),
                ..Default::default()
            })
            .unwrap();
            assert_eq!(a.get_session("s").unwrap().unwrap().state, state);
        }
    }

    /// Concurrent appends of one process are written by one rewrite, not one each.
    #[test]
    fn concurrent_appends_share_one_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("activity.json");
        let store = Arc::new(JsonStore::open(&path).unwrap());
        // Another "process" holds the lock while the appends queue up.
        let other = File::create(sidecar(&path, ".lock")).unwrap();
        other.lock().unwrap();
        let appenders: Vec<_> = (0..32)
            .map(|i| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    let mut stamper = Stamper::new();
                    store
                        .append(record(&mut stamper, &format!("s{}", i % 4), Outcome::Allow))
                        .unwrap()
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(300));
        other.unlock().unwrap();
        let mut sequences: Vec<u64> = appenders
            .into_iter()
            .map(|a| a.join().unwrap().sequence.unwrap())
            .collect();
        sequences.sort_unstable();
        assert_eq!(sequences, (1..=32).collect::<Vec<_>>());
        assert!(store.shared.rewrites.load(Ordering::Relaxed) <= 2);
    }

    /// No temp file is left beside the store after writes; only the file and its lock remain.
    #[test]
    fn temp_files_do_not_linger() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/activity.json");
        let store = JsonStore::open(&path).unwrap();
        assert!(!dir.path().join("nested").exists(), "opening creates nothing");
        let mut stamper = Stamper::new();
        for _ in 0..3 {
            store.append(record(&mut stamper, "s", Outcome::Allow)).unwrap();
        }
        let mut names: Vec<String> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["activity.json", "activity.json.lock"]);
    }

    /// A malformed file is refused with its path and the position of the error.
    #[test]
    fn corrupt_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("activity.json");
        fs::write(&path, "{\"sessions\": [\n  {\"session_id\": }]}").unwrap();
        let Err(StoreError::Corrupt(message)) = JsonStore::open(&path) else {
            panic!("expected a corrupt-store error");
        };
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("line 2 column"), "{message}");
    }

    /// Sessions list newest first by instant, not by string: a `+01:00` time can be the older.
    #[test]
    fn sessions_order_by_instant() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonStore::open(&dir.path().join("activity.json")).unwrap();
        let mut stamper = Stamper::new();
        for (session, at) in [
            ("b", "2025-12-31T23:45:00Z"),
            ("a", "2026-01-01T00:30:00+01:00"),
            ("c", "2025-12-31T23:45:00Z"),
        ] {
            let mut r = record(&mut stamper, session, Outcome::Allow);
            r.timestamp = at.into();
            store.append(r).unwrap();
        }
        let page = store
            .list_sessions(&SessionQuery {
                limit: 50,
                ..Default::default()
            })
            .unwrap();
        let order: Vec<&str> = page.items.iter().map(|s| s.session_id.as_str()).collect();
        assert_eq!(order, ["c", "b", "a"]);
        assert_eq!(page.total, 3);
    }

    /// Importing twice skips what is there; a record that differs is a conflict and changes
    /// nothing.
    #[test]
    fn import_is_idempotent_and_detects_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let source = JsonStore::open(&dir.path().join("source.json")).unwrap();
        let mut stamper = Stamper::new();
        for session in ["s0", "s1", "s0"] {
            source.append(record(&mut stamper, session, Outcome::Block)).unwrap();
        }
        let sessions = source.all_sessions().unwrap();
        let decisions = source.list_decisions(&query(500)).unwrap().items;

        let target_path = dir.path().join("target.json");
        let target = JsonStore::open(&target_path).unwrap();
        let report = target.import(&sessions, &decisions).unwrap();
        assert_eq!((report.sessions_imported, report.decisions_imported), (2, 3));
        assert_eq!(target.all_sessions().unwrap(), sessions);
        assert_eq!(
            target.session_decisions("s0").unwrap(),
            source.session_decisions("s0").unwrap()
        );
        let again = target.import(&sessions, &decisions).unwrap();
        assert_eq!((again.sessions_skipped, again.decisions_skipped), (2, 3));
        assert_eq!((again.sessions_imported, again.decisions_imported), (0, 0));

        let before = fs::read(&target_path).unwrap();
        let mut altered = decisions[0].clone();
        altered.reason = "rewritten history".into();
        let prev = altered.prev_hash.clone();
        integrity::seal(&mut altered, prev);
        let mut fresh = decisions[1].clone();
        fresh.decision_id = "dec_new".into();
        fresh.sequence = Some(99);
        assert!(matches!(
            target.import(&[], &[fresh, altered]),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(fs::read(&target_path).unwrap(), before);
        let next = target.append(record(&mut stamper, "s1", Outcome::Allow)).unwrap();
        assert_eq!(next.sequence, Some(4));
        assert_eq!(next.prev_hash, sessions[1].head_hash);
    }

    /// A client creates a session with its fields and moves it to another state; counts stay.
    #[test]
    fn put_session_creates_and_changes_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonStore::open(&dir.path().join("activity.json")).unwrap();
        let created = store
            .put_session(&SessionUpdate {
                session_id: "s".into(),
                agent_id: Some("claude".into()),
                repository: Some("acme/pay".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            (created.agent_id.as_str(), created.state),
            ("claude", SessionState::Active)
        );
        let mut stamper = Stamper::new();
        store.append(record(&mut stamper, "s", Outcome::Allow)).unwrap();
        let done = store
            .put_session(&SessionUpdate {
                session_id: "s".into(),
                state: Some(SessionState::Completed),
                agent_id: Some("ignored".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(done.state, SessionState::Completed);
        assert_eq!(done.decision_count, 1);
        assert_eq!(done.evidence_refs.len(), 1);
        let completed = store
            .list_sessions(&SessionQuery {
                state: Some(SessionState::Completed),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(completed.items, vec![done]);
    }

    /// A bad timestamp or a repeated decision id fails alone and takes no sequence.
    #[test]
    fn a_bad_append_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonStore::open(&dir.path().join("activity.json")).unwrap();
        let mut stamper = Stamper::new();
        let mut bad = record(&mut stamper, "s", Outcome::Allow);
        bad.timestamp = "yesterday".into();
        assert!(matches!(store.append(bad), Err(StoreError::Invalid(_))));
        let good = store.append(record(&mut stamper, "s", Outcome::Allow)).unwrap();
        assert_eq!(good.sequence, Some(1));
        let mut again = record(&mut stamper, "s", Outcome::Allow);
        again.decision_id = good.decision_id.clone();
        assert!(matches!(store.append(again), Err(StoreError::Conflict(_))));
        assert_eq!(store.get_session("s").unwrap().unwrap().decision_count, 1);
    }
}
