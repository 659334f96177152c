//! Verification speed on the SQLite store at 1,000,000 decisions (target ≥ 500,000 records/s):
//! `verify_store` end to end — the streaming scan, hashing on every core, the chain walk, the
//! summaries and a signed checkpoint — timed over several runs, and the hashing alone (fast path
//! vs the typed `record_hash`) per record.
//!
//! The store is built once through `import` (records evaluated from real actions, sealed in
//! 10,000 session chains of 100, summaries folded with `cavra_store::summary::apply`), then
//! checkpointed. Run: `cargo bench -p cavra-evidence --bench verify`. `CAVRA_BENCH_ROWS=N`
//! changes the size; `CAVRA_BENCH_DB=PATH` keeps the database at PATH (and reuses it when it
//! holds N decisions), so `cavra evidence verify` can be timed on it too. Results are recorded
//! in docs/PERFORMANCE.md.
#![allow(missing_docs)]
#![expect(clippy::expect_used, reason = "a benchmark with a broken setup should stop loudly")]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use cavra_core::{Action, ActionType, DecisionRecord, PackSet, evaluate, integrity};
use cavra_evidence::verify::{Options, Status};
use cavra_store::sqlite::SqliteStore;
use cavra_store::{ActivityStore, SessionSummary, Stamper};

const SESSIONS: usize = 10_000;
const RUNS: usize = 5;

fn rows() -> usize {
    std::env::var("CAVRA_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn templates() -> Vec<DecisionRecord> {
    let packs = PackSet::builtin().expect("built-in packs load");
    let mut stamper = Stamper::new();
    let actions: [(ActionType, &str, &str); 8] = [
        (ActionType::ExecuteCommand, "cargo test", "cavra-ai-agent-baseline"),
        (ActionType::ExecuteCommand, "rm -rf /", "cavra-ai-agent-baseline"),
        (
            ActionType::ExecuteCommand,
            "git push origin main",
            "cavra-ai-agent-baseline",
        ),
        (ActionType::ReadFile, ".env", "cavra-ai-agent-baseline"),
        (ActionType::WriteFile, "src/main.rs", "cavra-ai-agent-baseline"),
        (
            ActionType::ExecuteCommand,
            "terraform apply -auto-approve",
            "terraform-prod",
        ),
        (
            ActionType::ExecuteCommand,
            "kubectl delete namespace payments",
            "kubernetes-prod",
        ),
        (
            ActionType::McpToolCall,
            "unknown-fs:read_file",
            "cavra-ai-agent-baseline",
        ),
    ];
    actions
        .iter()
        .map(|(kind, target, pack)| {
            let mut a = Action::new(*kind, *target);
            a.policy_pack = Some((*pack).to_owned());
            a.cwd = Some("/home/dev/acme/payments".to_owned());
            let pack = packs.get(pack).expect("pack exists");
            DecisionRecord::new(&a, evaluate(&a, &pack), pack.version(), stamper.stamp())
        })
        .collect()
}

fn build(store: &SqliteStore, n: usize) {
    let templates = templates();
    let mut stamper = Stamper::new();
    let mut sessions: BTreeMap<usize, SessionSummary> = BTreeMap::new();
    let mut chunk = Vec::with_capacity(20_000);
    let started = Instant::now();
    let mut records = Vec::with_capacity(n);
    for i in 0..n {
        let session = i % SESSIONS;
        let mut r = templates[(i / SESSIONS + session) % templates.len()].clone();
        let stamp = stamper.stamp();
        r.session_id = format!("sess-{session:05}");
        r.agent_id = format!("agent-{:02}", session % 50);
        r.repository = format!("acme/repo-{:02}", session % 20);
        r.evidence_refs = vec![format!("evidence://{}/{}", r.session_id, stamp.decision_id)];
        r.decision_id = stamp.decision_id;
        r.timestamp = stamp.timestamp;
        let summary = sessions
            .entry(session)
            .or_insert_with(|| SessionSummary::new(&format!("sess-{session:05}"), &r.timestamp));
        r.sequence = Some(i as u64 + 1);
        integrity::seal(&mut r, summary.head_hash.clone());
        cavra_store::summary::apply(summary, &r);
        records.push(r);
    }
    let summaries: Vec<SessionSummary> = sessions.into_values().collect();
    store.import(&summaries, &[]).expect("import sessions");
    for r in records {
        chunk.push(r);
        if chunk.len() == 20_000 {
            store.import(&[], &chunk).expect("import");
            chunk.clear();
        }
    }
    store.import(&[], &chunk).expect("import");
    eprintln!("built {n} decisions in {:.1}s", started.elapsed().as_secs_f64());
}

/// User + system CPU time of this process so far, from `/proc/self/stat` (clock ticks of 1/100 s):
/// on a machine shared with other work, CPU time per record says what wall time cannot.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of the whole line are 12 and 13 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test --benches` run does nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = rows();
    let (path, _dir) = match std::env::var_os("CAVRA_BENCH_DB") {
        Some(p) => (PathBuf::from(p), None),
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            (dir.path().join("verify.db"), Some(dir))
        }
    };
    let store = SqliteStore::open(&path).expect("open store");
    let have = store.log_heads().expect("heads").decision_count;
    if have != n as u64 {
        assert_eq!(have, 0, "`{}` holds {have} decisions, not {n}", path.display());
        build(&store, n);
    }
    let key = cavra_evidence::keys::generate().expect("key");
    cavra_evidence::checkpoint::checkpoint(&store, &key).expect("checkpoint");
    let options = Options {
        public_key: Some(key.verifying_key()),
        ..Options::default()
    };
    let mut rates = Vec::new();
    let mut per_cpu = Vec::new();
    for run in 0..RUNS {
        let cpu_before = cpu_seconds();
        let started = Instant::now();
        let report =
            cavra_evidence::verify::verify_store(&store, path.display().to_string(), &options).expect("verify");
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(report.status, Status::Intact, "{:?}", report.findings.first());
        assert_eq!(report.records, n as u64);
        let rate = n as f64 / seconds;
        let cpu = cpu_seconds() - cpu_before;
        eprintln!(
            "run {run}: {n} records verified in {seconds:.2}s = {rate:.0} records/s; {cpu:.2} CPU-s = {:.0} records per CPU-second",
            n as f64 / cpu
        );
        rates.push(rate);
        per_cpu.push(n as f64 / cpu);
    }
    per_cpu.sort_by(f64::total_cmp);
    println!(
        "CPU cost: {:.0}–{:.0} records per CPU-second (median {:.0}); on an idle machine wall-clock throughput is about this times the cores the pipeline keeps busy",
        per_cpu[0],
        per_cpu[RUNS - 1],
        per_cpu[RUNS / 2]
    );
    rates.sort_by(f64::total_cmp);
    println!(
        "verify_store, SQLite, {n} decisions: {:.0}–{:.0} records/s (median {:.0}) over {RUNS} runs",
        rates[0],
        rates[RUNS - 1],
        rates[RUNS / 2]
    );

    // Hashing alone, one thread: the fast path against the typed record_hash.
    let mut texts = Vec::new();
    store
        .scan_decisions(1..=100_000, &mut |d| {
            texts.push(d.record.clone().into_owned());
            Ok(())
        })
        .expect("scan");
    let started = Instant::now();
    for t in &texts {
        let sealed = cavra_evidence::canonical::sealed(t);
        std::hint::black_box(sealed.map(|s| s.intact()));
    }
    let bytes = texts.len() as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for t in &texts {
        std::hint::black_box(cavra_evidence::canonical::fast_record_hash(t));
    }
    let fast = texts.len() as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for t in &texts {
        let r: DecisionRecord = serde_json::from_str(t).expect("record");
        std::hint::black_box(integrity::record_hash(&r));
    }
    let typed = texts.len() as f64 / started.elapsed().as_secs_f64();
    println!(
        "hashing one thread: sealed form {bytes:.0} records/s, parsed tree {fast:.0} records/s, typed path {typed:.0} records/s"
    );
}
