//! List latency at scale on the SQLite store: one page of 50 (with its exact `total`) for each
//! single filter of `GET /decisions` and `GET /sessions`, over 1,000,000 stored decisions.
//!
//! The store is built once per run by appending from 32 threads (the rate is printed: appends
//! at scale), 100 decisions per session over 10,000 sessions, 50 agents, 20 repositories and four
//! packs. Each query kind is then timed `QUERIES` times with values drawn from the data, and its
//! p50/p99/max printed; criterion times a few of them as well.
//!
//! Run: `cargo bench -p cavra-store --bench list`. `CAVRA_BENCH_ROWS=N` changes the size;
//! `CAVRA_BENCH_DB=PATH` keeps the database at PATH and reuses it when it already holds N
//! decisions. Results are recorded in docs/PERFORMANCE.md.
#![allow(missing_docs)]
#![expect(clippy::expect_used, reason = "a benchmark with a broken setup should stop loudly")]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cavra_core::{Action, ActionType, DecisionRecord, Outcome, PackSet, Severity, evaluate};
use cavra_store::{ActivityStore, DecisionQuery, SessionQuery, SessionState, Stamper};
use criterion::{Criterion, criterion_group, criterion_main};

const SESSIONS: usize = 10_000;
const AGENTS: usize = 50;
const REPOSITORIES: usize = 20;
const THREADS: usize = 32;
/// Timed queries per kind.
const QUERIES: usize = 300;

fn rows() -> usize {
    std::env::var("CAVRA_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// Evaluated records to clone from: several actions under four packs.
fn templates() -> Vec<DecisionRecord> {
    let packs = PackSet::builtin().expect("built-in packs load");
    let mut stamper = Stamper::new();
    let actions: [(ActionType, &str, &str); 12] = [
        (ActionType::ExecuteCommand, "cargo test", "cavra-ai-agent-baseline"),
        (ActionType::ExecuteCommand, "ls -la", "cavra-ai-agent-baseline"),
        (ActionType::ExecuteCommand, "rm -rf /", "cavra-ai-agent-baseline"),
        (
            ActionType::ExecuteCommand,
            "git push origin main",
            "cavra-ai-agent-baseline",
        ),
        (ActionType::ReadFile, ".env", "cavra-ai-agent-baseline"),
        (ActionType::ReadFile, "README.md", "cavra-ai-agent-baseline"),
        (ActionType::WriteFile, "src/main.rs", "cavra-ai-agent-baseline"),
        (ActionType::ExecuteCommand, "cat README.md", "strict"),
        (ActionType::ExecuteCommand, "terraform plan", "terraform-prod"),
        (
            ActionType::ExecuteCommand,
            "terraform apply -auto-approve",
            "terraform-prod",
        ),
        (ActionType::ExecuteCommand, "kubectl get pods", "kubernetes-prod"),
        (
            ActionType::ExecuteCommand,
            "kubectl delete namespace payments",
            "kubernetes-prod",
        ),
    ];
    actions
        .iter()
        .map(|(kind, target, pack)| {
            let mut a = Action::new(*kind, *target);
            a.policy_pack = Some((*pack).to_owned());
            let pack = packs.get(pack).expect("pack exists");
            DecisionRecord::new(&a, evaluate(&a, &pack), pack.version(), stamper.stamp())
        })
        .collect()
}

fn session_of(i: usize) -> usize {
    i % SESSIONS
}

/// Appends `n` decisions from `THREADS` threads; returns appends per second.
fn build(store: &Arc<dyn ActivityStore>, n: usize) -> f64 {
    let templates = templates();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            let (store, templates, next) = (Arc::clone(store), &templates, &next);
            scope.spawn(move || {
                let mut stamper = Stamper::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let session = session_of(i);
                    let mut r = templates[(i / SESSIONS + session) % templates.len()].clone();
                    let stamp = stamper.stamp();
                    r.session_id = format!("sess-{session:05}");
                    r.agent_id = format!("agent-{:02}", session % AGENTS);
                    r.repository = format!("acme/repo-{:02}", session % REPOSITORIES);
                    r.evidence_refs = vec![format!("evidence://{}/{}", r.session_id, stamp.decision_id)];
                    r.decision_id = stamp.decision_id;
                    r.timestamp = stamp.timestamp;
                    store.append(r).expect("append");
                    if i % 100_000 == 0 && i > 0 {
                        eprintln!("  {i} appended ({:.0}/s)", i as f64 / started.elapsed().as_secs_f64());
                    }
                }
            });
        }
    });
    n as f64 / started.elapsed().as_secs_f64()
}

/// A small deterministic generator for query values.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as usize % n
    }
}

fn decision_query(kind: &str, rng: &mut Rng) -> DecisionQuery {
    let mut q = DecisionQuery::default();
    match kind {
        "session_id" => q.session_id = Some(format!("sess-{:05}", rng.below(SESSIONS))),
        "agent_id" => q.agent_id = Some(format!("agent-{:02}", rng.below(AGENTS))),
        "repository" => q.repository = Some(format!("acme/repo-{:02}", rng.below(REPOSITORIES))),
        "policy_pack" => {
            q.policy_pack = Some(
                ["cavra-ai-agent-baseline", "strict", "terraform-prod", "kubernetes-prod"][rng.below(4)].to_owned(),
            )
        }
        "decision" => q.decision = Some(Outcome::ALL[rng.below(Outcome::ALL.len())]),
        "severity" => q.severity = Some(Severity::ALL[rng.below(Severity::ALL.len())]),
        "action_type" => {
            q.action_type =
                Some([ActionType::ExecuteCommand, ActionType::ReadFile, ActionType::WriteFile][rng.below(3)])
        }
        _ => {}
    }
    q
}

fn session_query(kind: &str, rng: &mut Rng) -> SessionQuery {
    let mut q = SessionQuery::default();
    match kind {
        "agent_id" => q.agent_id = Some(format!("agent-{:02}", rng.below(AGENTS))),
        "repository" => q.repository = Some(format!("acme/repo-{:02}", rng.below(REPOSITORIES))),
        "policy_pack" => {
            q.policy_pack = Some(
                ["cavra-ai-agent-baseline", "strict", "terraform-prod", "kubernetes-prod"][rng.below(4)].to_owned(),
            )
        }
        "state" => q.state = Some(SessionState::ALL[rng.below(2)]),
        _ => {}
    }
    q
}

fn percentiles(mut micros: Vec<u128>) -> String {
    micros.sort_unstable();
    let at = |p: f64| micros[((micros.len() - 1) as f64 * p) as usize];
    format!(
        "p50 {:>7} µs  p99 {:>7} µs  max {:>7} µs",
        at(0.5),
        at(0.99),
        micros.last().copied().unwrap_or(0)
    )
}

fn open() -> (Arc<dyn ActivityStore>, Option<tempfile::TempDir>) {
    let n = rows();
    let (path, dir) = match std::env::var_os("CAVRA_BENCH_DB") {
        Some(p) => (PathBuf::from(p), None),
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            (dir.path().join("activity.db"), Some(dir))
        }
    };
    let store: Arc<dyn ActivityStore> =
        Arc::new(cavra_store::sqlite::SqliteStore::open(&path).expect("open the store"));
    let stored = store.list_decisions(&DecisionQuery::default()).expect("count").total as usize;
    if stored < n {
        eprintln!("building {} decisions at {} ...", n - stored, path.display());
        let rate = build(&store, n - stored);
        eprintln!("built: {rate:.0} appends/s from {THREADS} threads");
    }
    (store, dir)
}

fn bench(c: &mut Criterion) {
    let (store, _dir) = open();
    let mut rng = Rng(0x5eed);
    eprintln!(
        "list latency over {} decisions, limit 50, one filter, total included:",
        rows()
    );
    for kind in [
        "none",
        "session_id",
        "agent_id",
        "repository",
        "policy_pack",
        "decision",
        "severity",
        "action_type",
    ] {
        let times = (0..QUERIES)
            .map(|_| {
                let q = decision_query(kind, &mut rng);
                let started = Instant::now();
                store.list_decisions(&q).expect("list decisions");
                started.elapsed().as_micros()
            })
            .collect();
        eprintln!("  GET /decisions  {kind:<12} {}", percentiles(times));
    }
    for kind in ["none", "agent_id", "repository", "policy_pack", "state"] {
        let times = (0..QUERIES)
            .map(|_| {
                let q = session_query(kind, &mut rng);
                let started = Instant::now();
                store.list_sessions(&q).expect("list sessions");
                started.elapsed().as_micros()
            })
            .collect();
        eprintln!("  GET /sessions   {kind:<12} {}", percentiles(times));
    }

    let mut group = c.benchmark_group("list_1m");
    group.sample_size(20).measurement_time(Duration::from_secs(4));
    group.bench_function("decisions/severity", |b| {
        b.iter(|| {
            store
                .list_decisions(&decision_query("severity", &mut rng))
                .expect("list")
        })
    });
    group.bench_function("decisions/session_id", |b| {
        b.iter(|| {
            store
                .list_decisions(&decision_query("session_id", &mut rng))
                .expect("list")
        })
    });
    group.bench_function("sessions/agent_id", |b| {
        b.iter(|| store.list_sessions(&session_query("agent_id", &mut rng)).expect("list"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
