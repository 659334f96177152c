//! `cavra token list`.

use std::process::ExitCode;

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use super::FileArgs;
use crate::cmd::print_json;
use crate::error::CliError;
use crate::output::say;

/// List API tokens: ids, roles, agents, bound modes, names, creation times — never secrets or hashes.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    file: FileArgs,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
}

/// Runs `cavra token list`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let file = args.file.load()?;
    if args.json {
        let rows: Vec<_> = file
            .tokens
            .iter()
            .map(|t| {
                serde_json::json!({"id": t.id, "role": t.role, "agent_id": t.agent_id, "policy_mode": t.policy_mode,
                    "name": t.name, "created_at": t.created_at})
            })
            .collect();
        print_json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if file.tokens.is_empty() {
        say!(
            "no tokens in {} — `cavra serve` accepts loopback connections only, without authentication",
            args.file.tokens_file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_header(["id", "role", "agent", "mode", "name", "created"]);
    for t in &file.tokens {
        table.add_row([
            t.id.clone(),
            t.role.to_string(),
            t.agent_id.clone().unwrap_or_default(),
            t.policy_mode.map(|m| m.to_string()).unwrap_or_default(),
            t.name.clone().unwrap_or_default(),
            t.created_at.clone(),
        ]);
    }
    say!("{table}");
    Ok(ExitCode::SUCCESS)
}
