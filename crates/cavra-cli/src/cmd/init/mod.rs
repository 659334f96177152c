//! `cavra init`: install cavra into an agent's configuration.

mod claude_code;
pub mod ordered;

use std::process::ExitCode;

use crate::error::CliError;

pub use claude_code::DEFAULT_SETTINGS;

/// Agents cavra can be installed into.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Merge cavra's PreToolUse and PostToolUse hooks into Claude Code's `.claude/settings.json`
    /// (created when absent). Every existing key and hook is kept; running it again changes
    /// nothing. A settings file that is not valid JSON is refused (exit 3), never overwritten.
    ClaudeCode(claude_code::Args),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode, CliError> {
        match self {
            Command::ClaudeCode(args) => claude_code::run(args),
        }
    }
}
