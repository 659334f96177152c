//! `cavra evidence ...`: the durable record — migrations and imports, verification of a store or
//! a bundle, Ed25519 keys, signed checkpoints and session bundles (SPEC §7).

mod bundle;
mod checkpoint;
mod keygen;
mod migrate;
mod verify;

use std::process::ExitCode;

use cavra_evidence::EvidenceError;

use crate::error::CliError;

/// Evidence subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Apply the schema migrations to a SQLite file or PostgreSQL database, and optionally import
    /// a JSON store into it (idempotent, verified by counts and hashes).
    Migrate(migrate::Args),
    /// Verify the configured store, or a bundle directory, and name every altered, removed,
    /// inserted or reordered record. Exit 0 only when everything is intact.
    Verify(verify::Args),
    /// Write a new Ed25519 signing key (mode 0600) and its public key beside it (`.pub`).
    Keygen(keygen::Args),
    /// Sign every session's head and count, and the log's high-water sequence, into the store.
    Checkpoint(checkpoint::Args),
    /// Export one session to a directory with a signed manifest, for offline verification.
    Bundle(bundle::Args),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode, CliError> {
        match self {
            Command::Migrate(a) => migrate::run(a),
            Command::Verify(a) => verify::run(a),
            Command::Keygen(a) => keygen::run(a),
            Command::Checkpoint(a) => checkpoint::run(a),
            Command::Bundle(a) => bundle::run(a),
        }
    }
}

/// Where `keygen` writes, and `checkpoint`, `bundle` and `serve` read, the signing key by default.
pub const DEFAULT_KEY: &str = ".cavra/evidence.key";

/// An evidence error as the CLI reports it: bad keys, paths and requests are invalid input.
pub fn cli_error(e: EvidenceError) -> CliError {
    match e {
        EvidenceError::Store(s) => CliError::from_store(s),
        EvidenceError::Io { context, source } => CliError::Io { context, source },
        e @ (EvidenceError::Key { .. } | EvidenceError::Exists(_) | EvidenceError::Invalid(_)) => {
            CliError::Invalid(e.to_string())
        }
    }
}

/// The signing key at `path` (`--key`), with a hint when it does not exist.
pub fn signing_key(path: &std::path::Path) -> Result<ed25519_dalek::SigningKey, CliError> {
    if !path.exists() {
        return Err(CliError::Invalid(format!(
            "no signing key at `{}`; create one with `cavra evidence keygen --output {}`",
            path.display(),
            path.display()
        )));
    }
    cavra_evidence::keys::read_signing_key(path).map_err(cli_error)
}
