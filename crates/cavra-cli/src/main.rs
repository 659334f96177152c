//! `cavra`: the runtime authority for AI coding agents, on the command line.
//!
//! `main` is glue: parse arguments, run the subcommand, print an error once and map it to the
//! documented exit code (SPEC §8): 0 ok/allowed, 1 error, 2 blocked, 3 invalid input or pack.

mod authority;
mod cmd;
mod error;
mod output;
mod packs;

use std::process::ExitCode;

use clap::Parser;

// Evaluation allocates many small strings; mimalloc keeps that cheap (see docs/ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// cavra evaluates what an AI coding agent wants to do — run a command, write a file, push,
/// call an MCP tool — against policy packs, before it happens.
#[derive(Debug, Parser)]
#[command(name = "cavra", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    cavra_core::shell::quiet_grammar_panics();
    if let Some(result) = cmd::hook::fast_path() {
        return finish(result);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(error::EXIT_INVALID),
            };
        }
    };
    finish(cli.command.run())
}

/// The exit code of a command's result, its error printed once.
fn finish(result: Result<ExitCode, error::CliError>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cavra: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
