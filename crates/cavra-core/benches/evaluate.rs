//! Evaluation speed over the acceptance corpora: time per action for the packs they name,
//! pack loading excluded (packs compile once, before measuring); the time of hostile inputs near
//! the 64 KiB body limit (issue 14, item 8: none may take more than 5 ms); and the cost of
//! redacting the records built from the corpora (SPEC §6), which every stored record pays.
//!
//! Run: `cargo bench -p cavra-core --bench evaluate`. The short run recorded in
//! docs/PERFORMANCE.md is `cargo bench -p cavra-core --bench evaluate -- --warm-up-time 1
//! --measurement-time 5`; a criterion group alone is `… -- --warm-up-time 1 --measurement-time 5
//! hostile` (the filter picks criterion groups; the text output below is printed whatever it is).
//!
//! Text output besides criterion's:
//! - first, per corpus file (`parity.jsonl`, `cavra.jsonl`, `wave2.jsonl`), for wave 1 (the first
//!   two) and overall: the distribution across actions of each action's own mean evaluation time
//!   (median, p90, p99, max, and which action is the slowest);
//! - last, before the criterion group `hostile` (the last group, so that a stuck evaluation cannot
//!   disturb the others): per hostile input, its slowest built-in pack and that time (best of 3),
//!   and the maximum over the inputs. An engine that is slow on such inputs can take seconds: an evaluation over
//!   [`HOSTILE_NO_REPEAT`] is not repeated nor tried under the remaining packs, and an input whose
//!   sweep takes longer than `CAVRA_BENCH_HOSTILE_TIMEOUT_S` (default 60) seconds is reported as
//!   "> N s" and left behind (its thread runs on until the process exits). Inputs over
//!   [`HOSTILE_NO_REPEAT`] are left out of the criterion group `hostile`, which could not sample
//!   them in a short run; if any input timed out, the whole group is skipped, since its numbers
//!   would share the CPU with the abandoned evaluation.
#![allow(missing_docs)]
#![expect(clippy::expect_used, reason = "a benchmark with a broken corpus should stop loudly")]

use std::hint::black_box;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use cavra_core::redact::{redact_record, redact_text};
use cavra_core::{Action, ActionType, CompiledPack, DecisionRecord, PackSet, RecordStamp, evaluate};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

/// The corpus files read, in order; the first two are the wave-1 corpus.
const CORPUS_FILES: [&str; 3] = ["parity.jsonl", "cavra.jsonl", "wave2.jsonl"];

/// The per-action target of issue 14, item 8.
const BUDGET: Duration = Duration::from_millis(5);

/// A hostile evaluation slower than this is timed once only and kept out of criterion.
const HOSTILE_NO_REPEAT: Duration = Duration::from_secs(1);

/// One corpus action, the file and line it came from and the pack it names.
struct Case {
    file: &'static str,
    line: usize,
    action: Action,
    pack: Arc<CompiledPack>,
}

/// Every action of the corpus files, with the file it came from and the pack each names.
fn corpus(packs: &PackSet) -> Vec<Case> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let mut cases = Vec::new();
    for file in CORPUS_FILES {
        let Ok(text) = std::fs::read_to_string(format!("{dir}/{file}")) else {
            println!("corpus file {file} not found: left out");
            continue;
        };
        for (index, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            // Lines carry more than `pack` and `action` (`expect`; in wave2 also `class`,
            // `note`, `bypass_class`): only those two are read.
            let case: serde_json::Value = serde_json::from_str(line).expect("corpus line is JSON");
            let mut action = Action::from_value(case["action"].clone()).expect("corpus action is valid");
            if let Some(pack) = case["pack"].as_str() {
                action.policy_pack = Some(pack.to_owned());
            }
            let pack = packs.get(action.policy_pack()).expect("corpus packs exist");
            cases.push(Case {
                file,
                line: index + 1,
                action,
                pack,
            });
        }
    }
    cases
}

/// The hostile inputs: 60 KiB-class lines the `evaluate_budget` fuzz target found slow on the
/// engine before issue 14 (name, action type, target).
fn hostile_inputs() -> Vec<(&'static str, ActionType, String)> {
    let slashes = "a/".repeat(30_000);
    let nested_if = format!("{}rm -rf /{}", "if true; then ".repeat(1000), "; fi".repeat(1000));
    vec![
        ("write_slashes", ActionType::WriteFile, slashes.clone()),
        ("write_slashes_class", ActionType::WriteFile, format!("{slashes}[a-z]")),
        ("cat_slashes", ActionType::ExecuteCommand, format!("cat {slashes}")),
        ("semicolons_16000", ActionType::ExecuteCommand, "a;".repeat(16_000)),
        ("nested_if_1000", ActionType::ExecuteCommand, nested_if),
        ("read_brackets", ActionType::ReadFile, "[".repeat(60_000)),
    ]
}

fn bench(c: &mut Criterion) {
    let packs = PackSet::builtin().expect("built-in packs load");
    let cases = corpus(&packs);

    per_action_distribution(&cases);

    let mut group = c.benchmark_group("corpus");
    let wave1: Vec<&Case> = cases.iter().filter(|c| c.file != "wave2.jsonl").collect();
    let wave2: Vec<&Case> = cases.iter().filter(|c| c.file == "wave2.jsonl").collect();
    let all: Vec<&Case> = cases.iter().collect();
    for (name, subset) in [
        ("evaluate_all", &all),
        ("evaluate_wave1", &wave1),
        ("evaluate_wave2", &wave2),
    ] {
        if subset.is_empty() {
            continue;
        }
        group.throughput(Throughput::Elements(subset.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for case in subset {
                    black_box(evaluate(black_box(&case.action), &case.pack));
                }
            })
        });
    }
    group.finish();

    let baseline = packs.get("cavra-ai-agent-baseline").expect("baseline exists");
    let mut single = c.benchmark_group("single");
    for (name, action_type, target) in [
        ("read_file_env", ActionType::ReadFile, "/home/dev/repo/.env"),
        ("simple_command", ActionType::ExecuteCommand, "cargo test --workspace"),
        (
            "compound_terraform",
            ActionType::ExecuteCommand,
            "terraform plan && terraform apply -auto-approve",
        ),
        (
            "nested_sh_c",
            ActionType::ExecuteCommand,
            "sudo env X=1 bash -c \"cd / && rm -rf $(echo *)\"",
        ),
        (
            "git_push",
            ActionType::ExecuteCommand,
            "git push origin HEAD:refs/heads/main",
        ),
        ("mcp_call", ActionType::McpToolCall, "unknown-filesystem:read_file"),
    ] {
        let action = action_in_repo(action_type, target);
        single.bench_function(name, |b| b.iter(|| black_box(evaluate(black_box(&action), &baseline))));
    }
    single.finish();

    redaction(c, &cases);

    hostile(c, &packs, &baseline);
}

/// An action of `action_type` on `target`, run from a repository checkout.
fn action_in_repo(action_type: ActionType, target: &str) -> Action {
    let mut action = Action::new(action_type, target);
    action.cwd = Some("/home/dev/repo".to_owned());
    action
}

/// `redact_record` over every corpus record (what a typical, secret-free record pays), and
/// `redact_text` on single lines: clean, clean but mentioning tokens, and holding secrets.
fn redaction(c: &mut Criterion, cases: &[Case]) {
    let mut records: Vec<DecisionRecord> = cases
        .iter()
        .map(|case| {
            let stamp = RecordStamp {
                decision_id: "dec_01".to_owned(),
                timestamp: "2026-01-01T00:00:00.000000Z".to_owned(),
                generated_correlation_id: "corr_01".to_owned(),
            };
            DecisionRecord::new(
                &case.action,
                evaluate(&case.action, &case.pack),
                case.pack.version(),
                stamp,
            )
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

/// The distribution across actions of each action's own mean evaluation time, per corpus file,
/// for wave 1 (parity + cavra) and overall: median, p90, p99 and max (criterion reports each
/// corpus as a whole). Every action is timed once (mean of 200 evaluations); the subsets are
/// views of the same measurements.
fn per_action_distribution(cases: &[Case]) {
    const ROUNDS: u32 = 200;
    let times: Vec<(&Case, f64)> = cases
        .iter()
        .map(|case| {
            let start = Instant::now();
            for _ in 0..ROUNDS {
                black_box(evaluate(black_box(&case.action), &case.pack));
            }
            (case, start.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS))
        })
        .collect();
    let print = |label: &str, keep: &dyn Fn(&str) -> bool| {
        let mut subset: Vec<(&Case, f64)> = times.iter().filter(|(c, _)| keep(c.file)).copied().collect();
        let Some(&(slowest, _)) = subset.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
            return;
        };
        subset.sort_by(|a, b| a.1.total_cmp(&b.1));
        let at = |q: f64| subset[((subset.len() - 1) as f64 * q).round() as usize].1;
        let target: String = slowest.action.target.chars().take(70).collect();
        println!(
            "per-action evaluation time, {label} ({} actions): median {:.2} µs, p90 {:.2} µs, p99 {:.2} µs, \
             max {:.2} µs ({}:{}, {} `{target}`)",
            subset.len(),
            at(0.5),
            at(0.9),
            at(0.99),
            at(1.0),
            slowest.file,
            slowest.line,
            slowest.action.action_type,
        );
    };
    for file in CORPUS_FILES {
        print(file, &|f| f == file);
    }
    print("wave 1 (parity + cavra)", &|f| f != "wave2.jsonl");
    print("overall", &|_| true);
}

/// What timing one hostile input under the built-in packs found.
enum Sweep {
    /// The slowest pack and its best-of-3 time (or single time, if over [`HOSTILE_NO_REPEAT`]),
    /// whether the remaining packs were skipped, and the baseline pack's time.
    Done {
        pack: String,
        took: Duration,
        partial: bool,
        baseline: Duration,
    },
    /// The sweep had not finished when the timeout came.
    TimedOut(Duration),
}

/// Text output for the hostile inputs (each under every built-in pack), then the criterion
/// group `hostile` (each under the baseline pack), bounded as the module documentation says.
fn hostile(c: &mut Criterion, packs: &PackSet, baseline: &Arc<CompiledPack>) {
    let timeout = Duration::from_secs(
        std::env::var("CAVRA_BENCH_HOSTILE_TIMEOUT_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    // The baseline first: it is always timed, and is the pack of the criterion group.
    let mut all_packs = vec![Arc::clone(baseline)];
    all_packs.extend(
        packs
            .ids()
            .filter(|id| *id != baseline.id())
            .map(|id| packs.get(id).expect("a listed pack is loaded")),
    );
    let inputs: Vec<(&str, Action)> = hostile_inputs()
        .into_iter()
        .map(|(name, action_type, target)| (name, action_in_repo(action_type, &target)))
        .collect();

    let mut worst = Duration::ZERO;
    let mut any_timed_out = false;
    let mut measurable = Vec::new();
    for (name, action) in &inputs {
        let size = action.target.len();
        match sweep(action, &all_packs, timeout) {
            Sweep::Done {
                pack,
                took,
                partial,
                baseline,
            } => {
                worst = worst.max(took);
                let rest = if partial { ", remaining packs not timed" } else { "" };
                let verdict = if took > BUDGET {
                    "OVER the 5 ms budget"
                } else {
                    "within budget"
                };
                println!(
                    "hostile {name} ({size} bytes): slowest {} under {pack}{rest}; baseline {} — {verdict}",
                    human(took),
                    human(baseline)
                );
                if baseline <= HOSTILE_NO_REPEAT {
                    measurable.push((name, action));
                }
            }
            Sweep::TimedOut(after) => {
                any_timed_out = true;
                println!(
                    "hostile {name} ({size} bytes): > {} s (timed out; the evaluation is abandoned) — OVER the 5 ms budget",
                    after.as_secs()
                );
            }
        }
    }
    if any_timed_out {
        println!("hostile: max > {} s (an input timed out)", timeout.as_secs());
        println!("criterion group `hostile` skipped: an abandoned evaluation still holds a core");
        return;
    }
    println!(
        "hostile: max {} over {} inputs — {}",
        human(worst),
        inputs.len(),
        if worst > BUDGET {
            "OVER the 5 ms budget"
        } else {
            "all within the 5 ms budget"
        }
    );

    let mut group = c.benchmark_group("hostile");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    for (name, action) in &inputs {
        if measurable.iter().any(|(n, _)| n == &name) {
            group.bench_function(*name, |b| b.iter(|| black_box(evaluate(black_box(action), baseline))));
        } else {
            println!("hostile/{name}: left out of criterion (over {HOSTILE_NO_REPEAT:?} once)");
        }
    }
    group.finish();
}

/// Times `action` under every pack (the first is the baseline) on a worker thread: best of 3
/// per pack, except that an evaluation over [`HOSTILE_NO_REPEAT`] is not repeated and ends the
/// sweep. Gives up waiting after `timeout`.
fn sweep(action: &Action, packs: &[Arc<CompiledPack>], timeout: Duration) -> Sweep {
    let (send, receive) = mpsc::channel();
    let action = action.clone();
    let packs = packs.to_vec();
    std::thread::spawn(move || {
        let mut slowest = (String::new(), Duration::ZERO);
        let mut baseline = Duration::ZERO;
        let mut partial = false;
        for (i, pack) in packs.iter().enumerate() {
            let mut took = timed(&action, pack);
            if took <= HOSTILE_NO_REPEAT {
                took = took.min(timed(&action, pack)).min(timed(&action, pack));
            }
            if i == 0 {
                baseline = took;
            }
            if took >= slowest.1 {
                slowest = (pack.id().to_owned(), took);
            }
            if took > HOSTILE_NO_REPEAT {
                partial = i + 1 < packs.len();
                break;
            }
        }
        // The receiver may have given up (timeout): nothing to report to then.
        let _ = send.send(Sweep::Done {
            pack: slowest.0,
            took: slowest.1,
            partial,
            baseline,
        });
    });
    receive.recv_timeout(timeout).unwrap_or(Sweep::TimedOut(timeout))
}

/// One evaluation's wall time.
fn timed(action: &Action, pack: &CompiledPack) -> Duration {
    let start = Instant::now();
    black_box(evaluate(black_box(action), pack));
    start.elapsed()
}

/// A duration in the unit that suits it.
fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.1} s")
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
