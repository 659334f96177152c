//! `cavra policy show ID`.

use std::path::PathBuf;
use std::process::ExitCode;

use cavra_core::pack::Matcher;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use super::print_json;
use crate::error::CliError;
use crate::output::say;
use crate::packs;

/// Show one pack and its effective rules.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The pack id.
    id: String,
    /// Read extra packs from this directory.
    #[arg(long, env = "CAVRA_POLICY_DIR", value_name = "DIR")]
    policy_dir: Option<PathBuf>,
    /// Print JSON (the effective pack, rules with their matchers).
    #[arg(long)]
    json: bool,
}

/// Runs `cavra policy show`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let set = packs::load(args.policy_dir.as_deref())?;
    let pack = packs::get(&set, &args.id)?;
    let s = pack.source();
    if args.json {
        print_json(s)?;
        return Ok(ExitCode::SUCCESS);
    }
    say!("{} {} — {}", s.id, s.version, s.title);
    if !s.description.is_empty() {
        say!("{}", s.description.trim());
    }
    let (decision, severity) = pack.defaults();
    say!(
        "mode: {}   default: {decision} ({severity})   source: {}",
        s.mode,
        s.file
    );
    if !s.inherits.is_empty() {
        say!("inherits: {}", s.inherits.join(", "));
    }
    if let Some(b) = &s.protected_branches {
        say!("protected branches: {}", b.join(", "));
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_header(["rule", "matches", "decision", "severity", "from"]);
    for rule in pack.rules() {
        let kind = match &rule.rule.matcher {
            Matcher::Command(_) => "command",
            Matcher::File(_) => "file",
            Matcher::Git(_) => "git",
            Matcher::Mcp(_) => "mcp",
            Matcher::Pipeline(_) => "pipeline",
            Matcher::Construct(_) => "construct",
        };
        table.add_row([
            rule.rule.id.clone(),
            kind.to_owned(),
            rule.rule.decision.to_string(),
            rule.rule.severity.to_string(),
            rule.policy_id.clone(),
        ]);
    }
    say!("{table}");
    Ok(ExitCode::SUCCESS)
}
