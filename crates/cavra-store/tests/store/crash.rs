//! Crash safety (SPEC §5: "a crash at any moment loses no acknowledged decision and leaves no
//! half-written record"). The test binary re-runs itself as a writer process (`child` below, which
//! does nothing unless `CAVRA_CRASH_CHILD` is set), reads the decisions it acknowledges, kills it
//! with SIGKILL at a random moment — during start-up, migrations or appends — and reopens the
//! store: every acknowledged decision must be there with its sequence, and the store must be whole.
//!
//! One store lives through all the rounds of a test, so later crashes hit a store with history.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "the child and parent helpers of the crash tests: a failed assumption is a failed test"
)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cavra_core::{Action, ActionType};

use crate::helpers::{Backend, Recorder, Rng, check_store, open_at, split_child_var};

/// `<backend>:<path>` of the store the child writes to.
const CHILD_VAR: &str = "CAVRA_CRASH_CHILD";
/// Marks an acknowledged decision on the child's stdout: `CAVRA-ACK <decision_id> <sequence>`.
pub const ACK: &str = "CAVRA-ACK";
/// Kill-and-reopen rounds per backend.
const ROUNDS: u64 = 25;
/// Writer threads in the child.
const THREADS: usize = 4;

/// Not a check: the writer the crash tests start and kill; idle without `CAVRA_CRASH_CHILD`.
#[test]
fn child() {
    let Ok(var) = std::env::var(CHILD_VAR) else {
        return;
    };
    let (backend, location) = split_child_var(&var);
    let store = open_at(backend, location);
    // Bounded, in case the parent dies without killing us.
    let deadline = Instant::now() + Duration::from_secs(30);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let store = &*store;
            scope.spawn(move || {
                let mut recorder = Recorder::new();
                let targets = [
                    "ls",
                    "rm -rf /",
                    "cat .env",
                    "printenv",
                    "rm -rf src",
                    "git push --force origin main",
                ];
                let mut i = thread;
                while Instant::now() < deadline {
                    let mut action = Action::new(ActionType::ExecuteCommand, targets[i % targets.len()]);
                    action.session_id = Some(format!("crash-{}", i % 5));
                    i += THREADS + 1;
                    let stored = store.append(recorder.record(&action)).unwrap();
                    // Printed only after `append` returned: from here on the decision is promised.
                    let mut out = std::io::stdout().lock();
                    let line = format!("\n{ACK} {} {}\n", stored.decision_id, stored.sequence.unwrap());
                    if out.write_all(line.as_bytes()).and_then(|()| out.flush()).is_err() {
                        return;
                    }
                }
            });
        }
    });
}

/// Starts this test binary as a child running `test` (with `--exact`, `--nocapture`, one test
/// thread), with `vars` set and stdout piped; stderr goes to `stderr_file`.
pub fn spawn_self(test: &str, vars: &[(&str, String)], stderr_file: &std::path::Path) -> Child {
    // On Linux, the running binary itself: `cargo test` elsewhere in the workspace may replace
    // the file at `current_exe()` while this suite runs, and the child must be this build.
    let proc_exe = std::path::Path::new("/proc/self/exe");
    let exe = if proc_exe.exists() {
        proc_exe.to_path_buf()
    } else {
        std::env::current_exe().unwrap()
    };
    let stderr = std::fs::File::create(stderr_file).unwrap();
    let mut command = Command::new(exe);
    command
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr));
    for (k, v) in vars {
        command.env(k, v);
    }
    command.spawn().unwrap()
}

/// Reads the child's acknowledgements on a thread: each complete `CAVRA-ACK` line is sent as
/// `(decision_id, sequence)`; a line cut off by the kill is not an acknowledgement.
pub fn read_acks(child: &mut Child) -> mpsc::Receiver<(String, u64)> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if line.ends_with('\n')
                && let Some(ack) = parse_ack(&line)
                && tx.send(ack).is_err()
            {
                return;
            }
            line.clear();
        }
    });
    rx
}

fn parse_ack(line: &str) -> Option<(String, u64)> {
    let rest = &line[line.find(ACK)? + ACK.len()..];
    let mut parts = rest.split_whitespace();
    let id = parts.next()?.to_owned();
    let sequence = parts.next()?.parse().ok()?;
    Some((id, sequence))
}

/// Checks that `acked` decisions are all in the store at `location` with their sequences, and
/// that the store is whole; returns how many decisions it holds.
pub fn check_acknowledged(backend: Backend, location: &str, acked: &HashMap<String, u64>, context: &str) -> usize {
    let store = open_at(backend, location);
    let all = check_store(&*store, context);
    let stored: HashMap<&str, u64> = all
        .iter()
        .map(|r| (r.decision_id.as_str(), r.sequence.unwrap()))
        .collect();
    for (id, sequence) in acked {
        match stored.get(id.as_str()) {
            Some(s) => assert_eq!(s, sequence, "{context}: acknowledged `{id}` has another sequence"),
            None => panic!("{context}: acknowledged decision `{id}` (sequence {sequence}) is lost"),
        }
    }
    all.len()
}

/// The file is whole in its own format: the JSON store one JSON document with `sessions` and
/// `decisions` arrays; the SQLite database passes `PRAGMA integrity_check`.
fn check_file(backend: Backend, path: &std::path::Path, decisions: usize, context: &str) {
    match backend {
        Backend::Json => {
            let text = std::fs::read_to_string(path).unwrap();
            let doc: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{context}: the JSON store is not one JSON document: {e}"));
            assert!(doc["sessions"].is_array(), "{context}: no `sessions` array");
            assert_eq!(
                doc["decisions"].as_array().map(Vec::len),
                Some(decisions),
                "{context}: `decisions`"
            );
        }
        Backend::Sqlite => {
            let conn = rusqlite::Connection::open(path).unwrap();
            let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            assert_eq!(verdict, "ok", "{context}: integrity_check");
        }
        Backend::Postgres => {}
    }
}

fn survives_sigkill(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(if backend == Backend::Sqlite {
        "activity.db"
    } else {
        "activity.json"
    });
    let location = path.display().to_string();
    let stderr_file = dir.path().join("child.stderr");
    let mut rng = Rng::new(0xc4a5_0000 + ROUNDS);
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut rounds_with_acks = 0;
    let mut stored = 0;
    for round in 0..ROUNDS {
        let context = format!("{} crash round {round}", backend.name());
        let mut child = spawn_self(
            "crash::child",
            &[(CHILD_VAR, format!("{}:{location}", backend.name()))],
            &stderr_file,
        );
        let acks = read_acks(&mut child);
        let mut this_round = Vec::new();
        // Every third round dies at a random moment after start (maybe while opening or migrating);
        // the others a random moment after their first acknowledged append.
        if round % 3 == 0 {
            std::thread::sleep(Duration::from_millis(u64::try_from(rng.below(250)).unwrap()));
        } else {
            match acks.recv_timeout(Duration::from_secs(30)) {
                Ok(first) => this_round.push(first),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
                    panic!("{context}: the writer acknowledged nothing in 30 s; its stderr:\n{stderr}");
                }
            }
            std::thread::sleep(Duration::from_millis(u64::try_from(rng.below(80)).unwrap()));
        }
        if let Ok(Some(status)) = child.try_wait() {
            let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
            panic!("{context}: the writer stopped by itself ({status}) before the kill; its stderr:\n{stderr}");
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // The reader ends when the pipe closes: every acknowledgement the child made is in.
        this_round.extend(acks.iter());
        if !this_round.is_empty() {
            rounds_with_acks += 1;
        }
        for (id, sequence) in this_round {
            acked.insert(id, sequence);
        }
        stored = check_acknowledged(backend, &location, &acked, &context);
        if path.exists() {
            check_file(backend, &path, stored, &context);
        }
    }
    assert!(
        rounds_with_acks >= ROUNDS / 2,
        "too few rounds got to append before the kill: {rounds_with_acks}"
    );
    eprintln!(
        "{}: {ROUNDS} kills, {} acknowledged decisions, {stored} stored, none lost",
        backend.name(),
        acked.len()
    );
}

/// A SQLite writer killed with SIGKILL at random moments, 25 times, loses no acknowledged decision.
#[test]
fn sqlite_survives_sigkill() {
    survives_sigkill(Backend::Sqlite);
}

/// A JSON-store writer killed with SIGKILL at random moments, 25 times, loses no acknowledged decision.
#[test]
fn json_survives_sigkill() {
    survives_sigkill(Backend::Json);
}
