//! Append throughput of the SQLite and JSON stores with 1 and 16 concurrent appenders: group
//! commit should make 16 appenders much faster than 16 times one (one fsync per group, not per
//! decision). Each iteration appends `BATCH` decisions; criterion reports decisions per second.
//!
//! Run: `cargo bench -p cavra-store --bench append`. Results are recorded in docs/PERFORMANCE.md.
#![allow(missing_docs)]
#![expect(clippy::expect_used, reason = "a benchmark with a broken setup should stop loudly")]

use std::sync::Arc;
use std::time::Duration;

use cavra_core::{Action, ActionType, DecisionRecord, PackSet, evaluate};
use cavra_store::{ActivityStore, Stamper};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const BATCH: usize = 256;

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
            a.session_id = Some(format!("s{}", i % 64));
            DecisionRecord::new(&a, evaluate(&a, &pack), pack.version(), stamper.stamp())
        })
        .collect()
}

fn append_all(store: &Arc<dyn ActivityStore>, batch: &[DecisionRecord], threads: usize) {
    std::thread::scope(|scope| {
        for chunk in batch.chunks(batch.len().div_ceil(threads)) {
            let store = Arc::clone(store);
            scope.spawn(move || {
                for r in chunk {
                    store.append(r.clone()).expect("append");
                }
            });
        }
    });
}

fn bench(c: &mut Criterion) {
    let batch = records(BATCH);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("append");
    group
        .throughput(Throughput::Elements(BATCH as u64))
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for backend in ["sqlite", "json"] {
        for threads in [1, 16] {
            let path = dir.path().join(format!("{backend}-{threads}"));
            let store: Arc<dyn ActivityStore> = match backend {
                "sqlite" => Arc::new(cavra_store::sqlite::SqliteStore::open(&path.with_extension("db")).expect("open")),
                _ => Arc::new(cavra_store::json::JsonStore::open(&path.with_extension("json")).expect("open")),
            };
            let mut stamper = Stamper::new();
            group.bench_function(format!("{backend}/{threads}_threads"), |b| {
                b.iter_batched(
                    // Every iteration appends new decisions: fresh ids, same content.
                    || {
                        batch
                            .iter()
                            .map(|r| {
                                let mut r = r.clone();
                                r.decision_id = stamper.stamp().decision_id;
                                r
                            })
                            .collect::<Vec<_>>()
                    },
                    |fresh| append_all(&store, &fresh, threads),
                    BatchSize::PerIteration,
                )
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
