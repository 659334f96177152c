//! `cavra evidence ...`: the durable record — migrations and imports (verify, bundles and
//! checkpoints come with the evidence issue).

mod migrate;

use std::process::ExitCode;

use crate::error::CliError;

/// Evidence subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Apply the schema migrations to a SQLite file or PostgreSQL database, and optionally import
    /// a JSON store into it (idempotent, verified by counts and hashes).
    Migrate(migrate::Args),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode, CliError> {
        match self {
            Command::Migrate(a) => migrate::run(a),
        }
    }
}
