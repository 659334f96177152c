//! Append throughput: SQLite with 1, 8 and 32 concurrent appenders, JSON with 1 and 16. Group
//! commit should make many appenders much faster than many times one (one fsync per group, not
//! per decision). Each iteration appends `PER_THREAD` decisions per thread (at least
//! `MIN_BATCH`), spread over `SESSIONS` sessions so that concurrent appends rarely share one,
//! as concurrent requests from different agents do; criterion reports decisions per second.
//!
//! Run: `cargo bench -p cavra-store --bench append` (`-- sqlite` for SQLite only). Results are
//! recorded in docs/PERFORMANCE.md.
#![allow(missing_docs)]
#![expect(clippy::expect_used, reason = "a benchmark with a broken setup should stop loudly")]

use std::sync::Arc;
use std::time::Duration;

use cavra_core::{Action, ActionType, DecisionRecord, PackSet, evaluate};
use cavra_store::{ActivityStore, Stamper};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// Decisions each appender makes per iteration.
const PER_THREAD: usize = 64;
/// Fewest decisions per iteration.
const MIN_BATCH: usize = 256;
/// Sessions the decisions are spread over.
const SESSIONS: usize = 1024;

/// `n` evaluated records cycling through a few actions, agents and repositories; record `i`
/// goes to session `i * 389 % SESSIONS`, so neighbours (appended at the same moment by
/// different threads) land in different sessions.
fn records(n: usize) -> Vec<DecisionRecord> {
    let packs = PackSet::builtin().expect("built-in packs load");
    let pack = packs.get("cavra-ai-agent-baseline").expect("baseline exists");
    let mut stamper = Stamper::new();
    let targets = [
        "cargo test",
        "rm -rf /",
        "cat .env",
        "git push origin main",
        "terraform plan",
    ];
    (0..n)
        .map(|i| {
            let mut a = Action::new(ActionType::ExecuteCommand, targets[i % targets.len()]);
            let session = i * 389 % SESSIONS;
            a.session_id = Some(format!("sess-{session:04}"));
            a.agent_id = Some(format!("agent-{}", session % 16));
            a.repository = Some(format!("acme/repo-{}", session % 8));
            DecisionRecord::new(&a, evaluate(&a, &pack), pack.version(), stamper.stamp())
        })
        .collect()
}

fn append_all(store: &Arc<dyn ActivityStore>, batch: &[DecisionRecord], threads: usize) {
    std::thread::scope(|scope| {
        // Thread t takes records t, t + threads, ...: at any moment the threads append
        // neighbouring records, which belong to different sessions.
        for t in 0..threads {
            let store = Arc::clone(store);
            scope.spawn(move || {
                for r in batch.iter().skip(t).step_by(threads) {
                    store.append(r.clone()).expect("append");
                }
            });
        }
    });
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("append");
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    for (backend, threads) in [("sqlite", 1), ("sqlite", 8), ("sqlite", 32), ("json", 1), ("json", 16)] {
        let size = (PER_THREAD * threads).max(MIN_BATCH);
        let batch = records(size);
        group.throughput(Throughput::Elements(size as u64));
        let path = dir.path().join(format!("{backend}-{threads}"));
        let store: Arc<dyn ActivityStore> = match backend {
            "sqlite" => Arc::new(cavra_store::sqlite::SqliteStore::open(&path.with_extension("db")).expect("open")),
            _ => Arc::new(cavra_store::json::JsonStore::open(&path.with_extension("json")).expect("open")),
        };
        let mut stamper = Stamper::new();
        group.bench_function(format!("{backend}/{threads}_threads"), |b| {
            b.iter_batched(
                // Every iteration appends new decisions: freshly stamped, same content.
                || {
                    batch
                        .iter()
                        .map(|r| {
                            let mut r = r.clone();
                            let stamp = stamper.stamp();
                            r.decision_id = stamp.decision_id;
                            r.timestamp = stamp.timestamp;
                            r
                        })
                        .collect::<Vec<_>>()
                },
                |fresh| append_all(&store, &fresh, threads),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
