//! `cavra policy explain ACTION_TYPE TARGET`: how the action was parsed, and what fired where.

use std::process::ExitCode;

use cavra_core::explain;

use super::print_json;
use crate::cmd::ActionArgs;
use crate::error::CliError;
use crate::output::say;
use crate::packs;

/// Explain a decision.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  cavra policy explain execute_command \"cd / && sudo sh -c 'rm -rf *'\"")]
pub struct Args {
    #[command(flatten)]
    action: ActionArgs,
    /// Print JSON: `{parts: [{kind, label, detail, rules}], evaluation}`.
    #[arg(long)]
    json: bool,
}

/// Runs `cavra policy explain`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let set = packs::load(args.action.policy_dir.as_deref())?;
    let action = args.action.action()?;
    let pack = packs::get(&set, action.policy_pack())?;
    let x = explain(&action, &pack);
    if args.json {
        print_json(&x)?;
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "{} `{}` under {} {}",
        action.action_type,
        action.target,
        pack.id(),
        pack.version()
    );
    if x.parts.is_empty() {
        say!("  (no parts: nothing to run)");
    }
    for (i, part) in x.parts.iter().enumerate() {
        say!("\npart {} — {}: {}", i + 1, part.kind, part.label);
        for (k, v) in &part.detail {
            say!("    {k:<10} {v}");
        }
        if part.rules.is_empty() {
            let (d, s) = pack.defaults();
            say!("    no rule matched → default {d} ({s})");
        }
        for (n, r) in part.rules.iter().enumerate() {
            let marker = if n == 0 { "decides" } else { "also matches (shadowed)" };
            say!("    {} → {} ({})  {marker}", r.rule_id, r.decision, r.severity);
        }
    }
    let e = &x.evaluation;
    say!(
        "\nverdict: {} ({}) by {} [mode {}]",
        e.decision,
        e.severity,
        e.rule_id,
        e.mode
    );
    say!("  {}", e.reason);
    if let Some(s) = &e.suggestion {
        say!("  suggestion: {s}");
    }
    Ok(ExitCode::SUCCESS)
}
