//! `cavra hook`: the commands agents run on every tool call, and their self-check.

mod claude_code;
mod doctor;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Args, FromArgMatches};

use crate::error::CliError;

/// Runs `cavra hook claude-code …` when that is the command line, without building the rest of
/// the CLI: the hook runs on every tool call, and building every subcommand's arguments costs
/// about 0.3 ms of its 5 ms budget. `None` for anything else (and for `--help`/`--version`),
/// which the full parser then handles as always.
///
/// Arguments the hook cannot read fail closed (exit 2), unlike other commands' (exit 3): Claude
/// Code runs the tool after any other exit code, so a mistyped flag in the installed command —
/// or one a newer `cavra init` wrote for an older binary — would otherwise let every call through.
pub fn fast_path() -> Option<Result<ExitCode, CliError>> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != "hook" || args.next()? != "claude-code" {
        return None;
    }
    // The allocator asks for transparent huge pages, so each first touch of its arenas zeroes
    // 2 MiB: about 14 MiB, 0.3 ms, for a process that uses well under 2 MiB. Should the
    // kernel refuse, the hook only runs as before.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
    let command = claude_code::Args::augment_args(
        clap::Command::new("claude-code")
            .bin_name("cavra hook claude-code")
            .no_binary_name(true),
    );
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|m| claude_code::Args::from_arg_matches(&m));
    match parsed {
        Ok(a) => Some(claude_code::run(a)),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => None,
        Err(e) => Some(Err(CliError::FailClosed(format!(
            "blocked (fail closed): {}",
            e.render().to_string().trim_start_matches("error: ").trim_end()
        )))),
    }
}

/// Agent hooks.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    // Its help is the doc comment of `claude_code::Args`.
    ClaudeCode(Box<claude_code::Args>),
    /// Fire a synthetic dangerous action (`rm -rf /` through Bash) at the PreToolUse hooks
    /// installed in `.claude/settings.json`, as Claude Code would, and report whether it was
    /// blocked. Exit 0 when it was, 1 when it was not (or no hook is installed).
    Doctor(doctor::Args),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode, CliError> {
        match self {
            Command::ClaudeCode(args) => claude_code::run(*args),
            Command::Doctor(args) => doctor::run(args),
        }
    }
}
