//! Feeds arbitrary UTF-8 to shell analysis and to the evaluation of an `execute_command` action
//! under the baseline pack: both are total (SPEC §3), so a panic escaping them is a bug, and so
//! is an input that runs past libFuzzer's `-timeout`.

#![no_main]

mod escaping;

use std::sync::{Arc, LazyLock};

use cavra_core::{Action, ActionType, CompiledPack, DEFAULT_POLICY_PACK, PackSet, evaluate, shell};
use libfuzzer_sys::fuzz_target;

/// The baseline pack, compiled once per fuzzing process.
static BASELINE: LazyLock<Arc<CompiledPack>> = LazyLock::new(|| {
    PackSet::builtin()
        .expect("the built-in packs load")
        .get(DEFAULT_POLICY_PACK)
        .expect("the baseline pack is built in")
});

fuzz_target!(|line: &str| {
    escaping::run(line, || {
        let _ = shell::analyse(line, None);
        let _ = shell::analyse(line, Some("/home/dev/repo"));
        let _ = evaluate(&Action::new(ActionType::ExecuteCommand, line), &BASELINE);
    });
});
