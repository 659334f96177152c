//! `cavra policy validate PATH`: check pack files and report every problem with its line.

use std::path::PathBuf;
use std::process::ExitCode;

use cavra_core::pack::builtin_sources;
use cavra_core::{PackError, PackSet};

use super::print_json;
use crate::error::{CliError, EXIT_INVALID};
use crate::output::say;
use crate::packs;

/// Check pack files.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A pack file, or a directory of packs. Packs may inherit from the built-in ones.
    path: PathBuf,
    /// Print JSON: `{valid, packs, problems: [{file, line, column, message}]}`.
    #[arg(long)]
    json: bool,
}

/// Runs `cavra policy validate`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let sources = packs::read_sources(&args.path)?;
    if sources.is_empty() {
        return Err(CliError::Invalid(format!(
            "no pack files (*.yaml) in `{}`",
            args.path.display()
        )));
    }
    let files: Vec<String> = sources.iter().map(|(f, _)| f.clone()).collect();
    let mut all = builtin_sources();
    all.extend(sources);
    let problems = match PackSet::load(&all) {
        Ok(_) => Vec::new(),
        Err(PackError(d)) => d,
    };
    if args.json {
        let list: Vec<_> = problems
            .iter()
            .map(|d| serde_json::json!({"file": d.file, "line": d.line, "column": d.column, "message": d.message}))
            .collect();
        print_json(&serde_json::json!({"valid": problems.is_empty(), "files": files, "problems": list}))?;
    } else if problems.is_empty() {
        say!("ok: {} pack file(s) valid", files.len());
    } else {
        for d in &problems {
            eprintln!("{d}");
        }
        eprintln!("{} problem(s) found", problems.len());
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    })
}
