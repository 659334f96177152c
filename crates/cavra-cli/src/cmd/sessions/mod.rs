//! `cavra sessions list | show`: agent sessions and their live summaries.

mod list;
mod show;

use std::process::ExitCode;

use crate::error::CliError;

/// Session subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List sessions, most recently active first, with the API's filters.
    List(list::Args),
    /// One session's summary and its whole timeline, oldest first.
    Show(show::Args),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode, CliError> {
        match self {
            Command::List(a) => list::run(a),
            Command::Show(a) => show::run(a),
        }
    }
}
