//! `cavra token create | list | revoke`: API tokens for `cavra serve` (SPEC §6).

mod create;
mod list;
mod revoke;

use std::path::PathBuf;
use std::process::ExitCode;

use cavra_server::auth::{DEFAULT_TOKENS_FILE, TokenFile};

use crate::error::CliError;

/// API tokens: each has a role (`agent`, `reviewer`, `admin`); only a hash is stored.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a token and print it once.
    Create(create::Args),
    /// List tokens (ids, roles, agents; never the secrets).
    List(list::Args),
    /// Revoke a token by id.
    Revoke(revoke::Args),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode, CliError> {
        match self {
            Command::Create(a) => create::run(a),
            Command::List(a) => list::run(a),
            Command::Revoke(a) => revoke::run(a),
        }
    }
}

/// Which token file.
#[derive(Debug, Clone, clap::Args)]
pub struct FileArgs {
    /// The token file `cavra serve` reads.
    #[arg(long, env = "CAVRA_TOKENS_FILE", default_value = DEFAULT_TOKENS_FILE, value_name = "FILE")]
    pub tokens_file: PathBuf,
}

impl FileArgs {
    fn load(&self) -> Result<TokenFile, CliError> {
        TokenFile::load(&self.tokens_file).map_err(|e| CliError::Invalid(e.to_string()))
    }

    /// Changes the file under its lock; a refused change is invalid input.
    fn update<T>(
        &self,
        change: impl FnOnce(&mut TokenFile) -> Result<T, cavra_server::auth::TokenError>,
    ) -> Result<T, CliError> {
        TokenFile::update(&self.tokens_file, change).map_err(|e| match e {
            cavra_server::auth::TokenError::Io { .. } => CliError::Failed(e.to_string()),
            other => CliError::Invalid(other.to_string()),
        })
    }
}
