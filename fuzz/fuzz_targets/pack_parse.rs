//! Feeds arbitrary UTF-8 to the pack parser, then loads what parses beside the built-in packs
//! it could interact with (those it inherits from, directly or not, or whose id it takes), so
//! that inheritance, rule overrides and id clashes are resolved and compiled: a bad pack is a
//! `PackError`, never a panic.

#![no_main]

mod escaping;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use cavra_core::PackSet;
use cavra_core::pack::{PolicyPack, builtin_sources, parse_pack};
use libfuzzer_sys::fuzz_target;

/// Each built-in pack's source and what it inherits from, parsed once per fuzzing process.
static BUILTINS: LazyLock<Vec<((String, String), PolicyPack)>> = LazyLock::new(|| {
    builtin_sources()
        .into_iter()
        .map(|(file, text)| {
            let pack = parse_pack(&file, &text).expect("the built-in packs parse");
            ((file, text), pack)
        })
        .collect()
});

fuzz_target!(|yaml: &str| escaping::run(yaml, || load(yaml)));

fn load(yaml: &str) {
    // A text that does not parse fails to load in the same way whatever sits beside it.
    let Ok(pack) = parse_pack("fuzz.yaml", yaml) else {
        return;
    };
    // Compiling a built-in pack the fuzzed one cannot reach proves nothing new and is slow under
    // the sanitizer, so only the reachable ones are loaded beside it.
    let mut wanted: BTreeSet<&str> = pack.inherits.iter().map(String::as_str).collect();
    wanted.insert(&pack.id);
    loop {
        let before = wanted.len();
        for (_, builtin) in BUILTINS.iter() {
            if wanted.contains(builtin.id.as_str()) {
                wanted.extend(builtin.inherits.iter().map(String::as_str));
            }
        }
        if wanted.len() == before {
            break;
        }
    }
    let mut sources: Vec<(String, String)> = BUILTINS
        .iter()
        .filter(|(_, builtin)| wanted.contains(builtin.id.as_str()))
        .map(|(source, _)| source.clone())
        .collect();
    sources.push(("fuzz.yaml".to_owned(), yaml.to_owned()));
    let _ = PackSet::load(&sources);
}
