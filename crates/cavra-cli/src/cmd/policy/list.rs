//! `cavra policy list`.

use std::path::PathBuf;
use std::process::ExitCode;

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use super::print_json;
use crate::error::CliError;
use crate::output::say;
use crate::packs;

/// List the loaded packs.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Read extra packs from this directory.
    #[arg(long, env = "CAVRA_POLICY_DIR", value_name = "DIR")]
    policy_dir: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `cavra policy list`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let set = packs::load(args.policy_dir.as_deref())?;
    if args.json {
        let items: Vec<_> = set
            .iter()
            .map(|p| {
                let s = p.source();
                serde_json::json!({
                    "id": s.id, "title": s.title, "version": s.version, "mode": s.mode,
                    "inherits": s.inherits, "rules": s.rules.len(), "tests": s.tests.len(), "source": s.file,
                })
            })
            .collect();
        print_json(&items)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_header(["id", "version", "mode", "rules", "inherits", "title"]);
    for p in set.iter() {
        let s = p.source();
        table.add_row([
            s.id.clone(),
            s.version.clone(),
            s.mode.to_string(),
            s.rules.len().to_string(),
            s.inherits.join(", "),
            s.title.clone(),
        ]);
    }
    say!("{table}");
    Ok(ExitCode::SUCCESS)
}
