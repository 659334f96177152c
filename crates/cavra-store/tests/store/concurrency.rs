//! Several processes on one store (SPEC §5: the JSON store's exclusive lock "serialises writers
//! across processes"; SQLite takes the write lock per group; PostgreSQL is shared by several
//! `cavra serve`). Two copies of this test binary (`child` below, idle unless
//! `CAVRA_CONCURRENT_CHILD` is set) append to the same sessions of one store at the same moment;
//! afterwards nothing acknowledged is lost, sequences have no gaps and every chain links.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "the writer and parent helpers of the concurrency tests: a failed assumption is a failed test"
)]

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cavra_core::{Action, ActionType};

use crate::crash::{check_acknowledged, read_acks, spawn_self};
use crate::helpers::{self, Backend, Recorder, open_at, split_child_var};

/// `<backend>:<location>` of the shared store.
const CHILD_VAR: &str = "CAVRA_CONCURRENT_CHILD";
/// Which child this is, for its sessions' agent names.
const TAG_VAR: &str = "CAVRA_CONCURRENT_TAG";
/// When to start appending, in milliseconds since the Unix epoch, so both children overlap.
const START_VAR: &str = "CAVRA_CONCURRENT_START_MS";
/// Threads per child, and appends per thread.
const THREADS: usize = 2;
const APPENDS: usize = 40;

fn now_ms() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// Not a check: a writer of the concurrency tests; idle without `CAVRA_CONCURRENT_CHILD`.
#[test]
fn child() {
    let Ok(var) = std::env::var(CHILD_VAR) else {
        return;
    };
    let (backend, location) = split_child_var(&var);
    let tag = std::env::var(TAG_VAR).unwrap();
    let start: u64 = std::env::var(START_VAR).unwrap().parse().unwrap();
    let store = open_at(backend, location);
    std::thread::sleep(Duration::from_millis(start.saturating_sub(now_ms())));
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (store, tag) = (&*store, tag.as_str());
            scope.spawn(move || {
                let mut recorder = Recorder::new();
                let targets = ["ls", "rm -rf /", "cat .env", "printenv", "rm -rf src"];
                for i in 0..APPENDS {
                    let mut action = Action::new(ActionType::ExecuteCommand, targets[(i + thread) % targets.len()]);
                    // The same sessions in both processes.
                    action.session_id = Some(format!("shared-{}", i % 4));
                    action.agent_id = Some(format!("agent-{tag}-{thread}"));
                    let stored = store.append(recorder.record(&action)).unwrap();
                    println!(
                        "\n{} {} {}",
                        crate::crash::ACK,
                        stored.decision_id,
                        stored.sequence.unwrap()
                    );
                }
            });
        }
    });
}

/// Runs two writer processes on the store at `location` at once and checks the result.
fn two_writers(backend: Backend, location: &str) {
    let dir = tempfile::tempdir().unwrap();
    let start = now_ms() + 1500;
    let mut children = Vec::new();
    for tag in ["a", "b"] {
        let vars = [
            (CHILD_VAR, format!("{}:{location}", backend.name())),
            (TAG_VAR, tag.to_owned()),
            (START_VAR, start.to_string()),
        ];
        let stderr = dir.path().join(format!("{tag}.stderr"));
        let mut child = spawn_self("concurrency::child", &vars, &stderr);
        let acks = read_acks(&mut child);
        children.push((child, acks, stderr));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut acked: HashMap<String, u64> = HashMap::new();
    for (mut child, acks, stderr) in children {
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{}: a writer did not finish in 120 s", backend.name());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let log = std::fs::read_to_string(&stderr).unwrap_or_default();
        assert!(
            status.success(),
            "{}: a writer failed ({status}); its stderr:\n{log}",
            backend.name()
        );
        for (id, sequence) in acks.iter() {
            assert!(
                acked.insert(id.clone(), sequence).is_none(),
                "`{id}` acknowledged twice"
            );
        }
    }
    let expected = 2 * THREADS * APPENDS;
    assert_eq!(acked.len(), expected, "{}: acknowledgements", backend.name());
    let mut sequences: Vec<u64> = acked.values().copied().collect();
    sequences.sort_unstable();
    sequences.dedup();
    assert_eq!(
        sequences.len(),
        expected,
        "{}: two appends were given the same sequence",
        backend.name()
    );
    let context = format!("{} after two writers", backend.name());
    let stored = check_acknowledged(backend, location, &acked, &context);
    assert_eq!(stored, expected, "{context}: decisions stored");
}

/// Two processes appending to one file store.
fn two_writers_on_a_file(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(if backend == Backend::Sqlite {
        "activity.db"
    } else {
        "activity.json"
    });
    let location = path.display().to_string();
    // Created (and migrated) first: the race under test is the appends.
    drop(open_at(backend, &location));
    two_writers(backend, &location);
}

/// Two processes appending to the same SQLite file at once lose nothing and keep chains intact.
#[test]
fn two_processes_share_one_sqlite_file() {
    two_writers_on_a_file(Backend::Sqlite);
}

/// Two processes appending to the same JSON file at once lose nothing and keep chains intact.
#[test]
fn two_processes_share_one_json_file() {
    two_writers_on_a_file(Backend::Json);
}

/// Two processes appending to the same PostgreSQL database at once lose nothing and keep chains intact.
#[test]
fn two_processes_share_one_postgres_database() {
    let Some(db) = helpers::fresh_database("concurrency::two_processes_share_one_postgres_database") else {
        return;
    };
    drop(open_at(Backend::Postgres, &db.url()));
    two_writers(Backend::Postgres, &db.url());
}
