//! Evaluation speed over the acceptance corpora: time per action for the packs they name,
//! pack loading excluded (packs compile once, before measuring); and the cost of redacting the
//! records built from them (SPEC §6), which every stored record pays.
//!
//! Run: `cargo bench -p cavra-core --bench evaluate`. Results are recorded in docs/PERFORMANCE.md.
#![allow(missing_docs)]
#![expect(clippy::expect_used, reason = "a benchmark with a broken corpus should stop loudly")]

use std::hint::black_box;

use cavra_core::redact::{redact_record, redact_text};
use cavra_core::{Action, DecisionRecord, PackSet, RecordStamp, evaluate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Every action of the corpus files, with the pack each names.
fn corpus() -> Vec<Action> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let mut actions = Vec::new();
    for file in ["parity.jsonl", "cavra.jsonl"] {
        let Ok(text) = std::fs::read_to_string(format!("{dir}/{file}")) else {
            continue;
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let case: serde_json::Value = serde_json::from_str(line).expect("corpus line is JSON");
            let mut action = Action::from_value(case["action"].clone()).expect("corpus action is valid");
            if let Some(pack) = case["pack"].as_str() {
                action.policy_pack = Some(pack.to_owned());
            }
            actions.push(action);
        }
    }
    actions
}

fn bench(c: &mut Criterion) {
    let packs = PackSet::builtin().expect("built-in packs load");
    let actions = corpus();
    let resolved: Vec<_> = actions
        .iter()
        .map(|a| (a, packs.get(a.policy_pack()).expect("corpus packs exist")))
        .collect();

    per_action_distribution(&resolved);

    let mut group = c.benchmark_group("corpus");
    group.throughput(Throughput::Elements(resolved.len() as u64));
    group.bench_function("evaluate_all", |b| {
        b.iter(|| {
            for (action, pack) in &resolved {
                black_box(evaluate(black_box(action), pack));
            }
        })
    });
    group.finish();

    let baseline = packs.get("cavra-ai-agent-baseline").expect("baseline exists");
    let mut single = c.benchmark_group("single");
    for (name, action_type, target) in [
        ("read_file_env", cavra_core::ActionType::ReadFile, "/home/dev/repo/.env"),
        (
            "simple_command",
            cavra_core::ActionType::ExecuteCommand,
            "cargo test --workspace",
        ),
        (
            "compound_terraform",
            cavra_core::ActionType::ExecuteCommand,
            "terraform plan && terraform apply -auto-approve",
        ),
        (
            "nested_sh_c",
            cavra_core::ActionType::ExecuteCommand,
            "sudo env X=1 bash -c \"cd / && rm -rf $(echo *)\"",
        ),
        (
            "git_push",
            cavra_core::ActionType::ExecuteCommand,
            "git push origin HEAD:refs/heads/main",
        ),
        (
            "mcp_call",
            cavra_core::ActionType::McpToolCall,
            "unknown-filesystem:read_file",
        ),
    ] {
        let mut action = Action::new(action_type, target);
        action.cwd = Some("/home/dev/repo".to_owned());
        single.bench_function(name, |b| b.iter(|| black_box(evaluate(black_box(&action), &baseline))));
    }
    single.finish();

    redaction(c, &resolved);
}

/// `redact_record` over every corpus record (what a typical, secret-free record pays), and
/// `redact_text` on single lines: clean, clean but mentioning tokens, and holding secrets.
fn redaction(c: &mut Criterion, resolved: &[(&Action, std::sync::Arc<cavra_core::CompiledPack>)]) {
    let mut records: Vec<DecisionRecord> = resolved
        .iter()
        .map(|(action, pack)| {
            let stamp = RecordStamp {
                decision_id: "dec_01".to_owned(),
                timestamp: "2026-01-01T00:00:00.000000Z".to_owned(),
                generated_correlation_id: "corr_01".to_owned(),
            };
            DecisionRecord::new(action, evaluate(action, pack), pack.version(), stamp)
        })
        .collect();
    let mut group = c.benchmark_group("redact");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("redact_record_corpus", |b| {
        b.iter(|| {
            for record in &mut records {
                redact_record(black_box(record));
            }
        })
    });
    group.finish();

    let mut single = c.benchmark_group("redact_text");
    for (name, line) in [
        ("clean", "cargo test --workspace -- --nocapture"),
        (
            "clean_with_hints",
            "curl -s https://api.github.com/repos/acme/app | jq -r .token_url > /tmp/keys.txt",
        ),
        (
            "bearer_token",
            "curl -H 'Authorization: Bearer ghp_0123456789abcdefghijABCDEFGHIJ012345' https://api.github.com/user",
        ),
        (
            "url_and_env",
            "PGPASSWORD=hunter2 psql postgres://app:s3cret@db:5432/app -c 'select 1'",
        ),
    ] {
        single.bench_function(name, |b| b.iter(|| black_box(redact_text(black_box(line)))));
    }
    single.finish();
}

/// The distribution over the corpus of each action's own mean evaluation time: prints the
/// median and the 90th and 99th percentiles (criterion reports the corpus as a whole).
fn per_action_distribution(resolved: &[(&Action, std::sync::Arc<cavra_core::CompiledPack>)]) {
    const ROUNDS: u32 = 200;
    let mut times: Vec<f64> = resolved
        .iter()
        .map(|(action, pack)| {
            let start = std::time::Instant::now();
            for _ in 0..ROUNDS {
                black_box(evaluate(black_box(action), pack));
            }
            start.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS)
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "per-action evaluation time over {} corpus actions: median {:.2} µs, p90 {:.2} µs, p99 {:.2} µs, max {:.2} µs",
        times.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
