//! `cavra hook`: the commands agents run on every tool call, and their self-check.

mod claude_code;
mod doctor;

use std::process::ExitCode;

use crate::error::CliError;

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
