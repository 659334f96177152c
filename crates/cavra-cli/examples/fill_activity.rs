//! Fills an activity store with synthetic history, fast: the evaluation corpus's actions spread
//! over sessions, agents and repositories, with timestamps spread evenly over the past `--days`
//! days (which `POST /decisions` cannot do: the server stamps the time). Used to measure the
//! console at a million decisions (docs/PERFORMANCE.md):
//!
//! ```text
//! cargo run --release -p cavra-cli --example fill_activity -- --db /tmp/1m.db --decisions 1000000
//! ```
//!
//! Records are evaluated by the real engine and appended through the store's group commit, so
//! chains, summaries and counts are exactly what a server would have written.

use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Instant;

use cavra_core::{Action, DecisionRecord, PackSet, evaluate};
use cavra_store::{Stamper, StoreConfig};
use clap::Parser;
use serde_json::{Map, Value};

const CORPUS: [&str; 2] = [
    include_str!("../../cavra-core/tests/corpus/cavra.jsonl"),
    include_str!("../../cavra-core/tests/corpus/parity.jsonl"),
];

/// Fill a store with synthetic decisions spread over time.
#[derive(Debug, Parser)]
struct Args {
    /// SQLite file or PostgreSQL URL (as `--activity-db`).
    #[arg(long)]
    db: String,
    /// Decisions to append.
    #[arg(long, default_value_t = 100_000)]
    decisions: u64,
    /// Days of history the timestamps spread over, ending now.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Sessions; each is a contiguous run of decisions in time.
    #[arg(long, default_value_t = 2000)]
    sessions: u64,
    /// Agents (`agent-<n>`).
    #[arg(long, default_value_t = 12)]
    agents: u64,
    /// Repositories (`acme/service-<n>`).
    #[arg(long, default_value_t = 40)]
    repositories: u64,
    /// Appends in flight at once (group commit batches them).
    #[arg(long, default_value_t = 512)]
    window: usize,
}

fn actions() -> Vec<Map<String, Value>> {
    let mut out = Vec::new();
    for text in CORPUS {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(mut entry) = serde_json::from_str::<Map<String, Value>>(line) else {
                continue;
            };
            let Some(Value::Object(mut action)) = entry.remove("action") else {
                continue;
            };
            if let Some(pack) = entry.remove("pack") {
                action.entry("policy_pack").or_insert(pack);
            }
            out.push(action);
        }
    }
    out
}

fn main() -> ExitCode {
    let a = Args::parse();
    match fill(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fill_activity: {e}");
            ExitCode::FAILURE
        }
    }
}

fn fill(a: &Args) -> Result<(), String> {
    let config = if a.db.starts_with("postgres://") || a.db.starts_with("postgresql://") {
        StoreConfig::Postgres(a.db.clone())
    } else {
        StoreConfig::Sqlite(a.db.clone().into())
    };
    let store = cavra_store::open(&config).map_err(|e| e.to_string())?;
    let packs = PackSet::builtin().map_err(|e| e.to_string())?;
    let actions = actions();
    if actions.is_empty() {
        return Err("the corpus has no actions".into());
    }
    let mut stamper = Stamper::new();
    let now = chrono::Utc::now().timestamp_micros();
    let span = i64::from(a.days) * 86_400_000_000;
    let per_session = a.decisions.div_ceil(a.sessions.max(1)).max(1);
    let (tx, rx) = mpsc::channel::<Result<(), String>>();
    let started = Instant::now();
    let mut in_flight = 0usize;
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..a.decisions {
        // xorshift: a fixed, cheap choice of action per decision.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let session = i / per_session;
        let mut action = actions[usize::try_from(state % actions.len() as u64).unwrap_or(0)].clone();
        action.insert("session_id".into(), Value::from(format!("sess-{session:06}")));
        action.insert(
            "agent_id".into(),
            Value::from(format!("agent-{}", session % a.agents.max(1))),
        );
        action.insert(
            "repository".into(),
            Value::from(format!("acme/service-{}", session % a.repositories.max(1))),
        );
        let text = serde_json::to_string(&action).map_err(|e| e.to_string())?;
        let action = Action::from_json(&text).map_err(|e| e.to_string())?;
        let Some(pack) = packs.get(action.policy_pack()) else {
            continue;
        };
        let mut stamp = stamper.stamp();
        let offset = i64::try_from(i).unwrap_or(0) * span / i64::try_from(a.decisions.max(1)).unwrap_or(1);
        let at = chrono::DateTime::from_timestamp_micros(now - span + offset).unwrap_or_default();
        stamp.timestamp = at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        let record = DecisionRecord::new(&action, evaluate(&action, &pack), pack.version(), stamp);
        let tx = tx.clone();
        store.append_then(
            record,
            Box::new(move |r| {
                let _ = tx.send(r.map(|_| ()).map_err(|e| e.to_string()));
            }),
        );
        in_flight += 1;
        while in_flight >= a.window {
            rx.recv().map_err(|e| e.to_string())??;
            in_flight -= 1;
        }
        if (i + 1) % 100_000 == 0 {
            eprintln!(
                "{} decisions, {:.0}/s",
                i + 1,
                (i + 1) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    while in_flight > 0 {
        rx.recv().map_err(|e| e.to_string())??;
        in_flight -= 1;
    }
    drop(store);
    eprintln!(
        "filled {} decisions in {:.1} s",
        a.decisions,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
