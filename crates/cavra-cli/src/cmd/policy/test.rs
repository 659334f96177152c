//! `cavra policy test [ID|PATH]`: run packs' inline tests.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cavra_core::pack::builtin_sources;
use cavra_core::{PackSet, evaluate};

use super::print_json;
use crate::error::CliError;
use crate::output::say;
use crate::packs;

/// Run inline pack tests.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A pack id, a pack file or a directory of packs; all loaded packs when omitted.
    target: Option<String>,
    /// Read extra packs from this directory.
    #[arg(long, env = "CAVRA_POLICY_DIR", value_name = "DIR")]
    policy_dir: Option<PathBuf>,
    /// Print JSON: `{passed, failed, results: [...]}`.
    #[arg(long)]
    json: bool,
}

/// Runs `cavra policy test`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let (set, ids): (PackSet, Vec<String>) = match args.target.as_deref() {
        Some(t) if Path::new(t).exists() => {
            let sources = packs::read_sources(Path::new(t))?;
            let ids = sources
                .iter()
                .filter_map(|(f, text)| cavra_core::pack::parse_pack(f, text).ok().map(|p| p.id))
                .collect();
            let mut all = builtin_sources();
            all.extend(sources);
            (PackSet::load(&all)?, ids)
        }
        Some(id) => {
            let set = packs::load(args.policy_dir.as_deref())?;
            packs::get(&set, id)?;
            (set, vec![id.to_owned()])
        }
        None => {
            let set = packs::load(args.policy_dir.as_deref())?;
            let ids = set.ids().map(str::to_owned).collect();
            (set, ids)
        }
    };
    let mut results = Vec::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    for id in &ids {
        let Some(pack) = set.get(id) else { continue };
        for test in &pack.source().tests {
            let got = evaluate(&test.action, &pack);
            let mut problems = Vec::new();
            if got.decision != test.expect.decision {
                problems.push(format!(
                    "decision `{}`, expected `{}`",
                    got.decision, test.expect.decision
                ));
            }
            if let Some(rule) = test.expect.rule_id.as_ref().filter(|r| **r != got.rule_id) {
                problems.push(format!("rule `{}`, expected `{rule}`", got.rule_id));
            }
            if let Some(sev) = test.expect.severity.filter(|s| *s != got.severity) {
                problems.push(format!("severity `{}`, expected `{sev}`", got.severity));
            }
            let name = test
                .name
                .clone()
                .unwrap_or_else(|| format!("{} {}", test.action.action_type, test.action.target));
            if problems.is_empty() {
                passed += 1;
            } else {
                failed += 1;
            }
            if !args.json {
                let status = if problems.is_empty() { "ok  " } else { "FAIL" };
                say!("{status} {id}:{} {name}", test.line);
                for p in &problems {
                    say!("       {p}");
                }
            }
            results.push(serde_json::json!({
                "pack": id, "line": test.line, "name": name, "passed": problems.is_empty(),
                "problems": problems, "decision": got.decision, "rule_id": got.rule_id,
            }));
        }
    }
    if args.json {
        print_json(&serde_json::json!({"passed": passed, "failed": failed, "results": results}))?;
    } else {
        say!("{passed} passed, {failed} failed");
    }
    if failed > 0 {
        return Err(CliError::Failed(format!("{failed} pack test(s) failed")));
    }
    Ok(ExitCode::SUCCESS)
}
