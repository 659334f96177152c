//! Holds evaluation to its time budget (SPEC §3: evaluation "takes microseconds"): the input
//! becomes an action — the first byte picks the action type, the rest is the target as lossy
//! UTF-8 (and, for an MCP call, the `command` and `path` of its `arguments`) — which is evaluated
//! under every built-in pack, and one evaluation taking more than [`BUDGET`] of wall time is a
//! crash naming the input's length. Inputs over 64 KiB (the HTTP API's body limit) are ignored.
//!
//! Wall time on a busy machine is noisy, so an evaluation over budget is timed twice more and only
//! an input slow all three times is reported: a preempted thread is not a finding, a slow input is.

#![no_main]

mod escaping;

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use cavra_core::{Action, ActionType, CompiledPack, PackSet, evaluate};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// The most one evaluation may take.
const BUDGET: Duration = Duration::from_millis(5);

/// Largest input considered: the HTTP API's body limit.
const MAX_INPUT: usize = 64 * 1024;

/// The action type each first byte picks, in turn.
const TYPES: [ActionType; 5] = [
    ActionType::ExecuteCommand,
    ActionType::ReadFile,
    ActionType::WriteFile,
    ActionType::GitOperation,
    ActionType::McpToolCall,
];

/// Every built-in pack, compiled once per fuzzing process.
static PACKS: LazyLock<Vec<Arc<CompiledPack>>> = LazyLock::new(|| {
    let set = PackSet::builtin().expect("the built-in packs load");
    let ids: Vec<String> = set.ids().map(str::to_owned).collect();
    ids.iter()
        .map(|id| set.get(id).expect("a listed pack is loaded"))
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    if data.len() > MAX_INPUT {
        return;
    }
    let text = String::from_utf8_lossy(rest);
    let action = action(TYPES[usize::from(first) % TYPES.len()], &text);
    for pack in PACKS.iter() {
        let mut took = timed(&text, &action, pack);
        if took > BUDGET {
            took = took.min(timed(&text, &action, pack)).min(timed(&text, &action, pack));
        }
        if took > BUDGET {
            let message = format!(
                "evaluation over its {BUDGET:?} budget: {took:?} (best of 3) for a {}-byte input, \
                 {} under pack `{}`",
                data.len(),
                action.action_type,
                pack.id()
            );
            eprintln!("{message}");
            panic!("{message}");
        }
    }
});

/// The action the input stands for.
fn action(action_type: ActionType, text: &str) -> Action {
    let mut action = Action::new(action_type, text);
    if action_type == ActionType::McpToolCall {
        let mut arguments = Map::new();
        arguments.insert("command".to_owned(), Value::from(text));
        arguments.insert("path".to_owned(), Value::from(text));
        action.arguments = Some(arguments);
    }
    action
}

/// How long one evaluation of `action` under `pack` takes; a panic escaping it is a crash.
fn timed(text: &str, action: &Action, pack: &CompiledPack) -> Duration {
    let mut took = Duration::ZERO;
    escaping::run(text, || {
        let started = Instant::now();
        let decision = evaluate(action, pack);
        took = started.elapsed();
        std::hint::black_box(decision);
    });
    took
}
