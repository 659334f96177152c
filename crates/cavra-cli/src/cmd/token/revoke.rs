//! `cavra token revoke ID`.

use std::process::ExitCode;

use super::FileArgs;
use crate::error::CliError;
use crate::output::say;

/// Revoke an API token by its id (`tok_...`, from `cavra token list`). A running server picks
/// the change up within seconds.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The token id.
    id: String,
    #[command(flatten)]
    file: FileArgs,
}

/// Runs `cavra token revoke`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let id = args.id.clone();
    if !args.file.load()?.tokens.iter().any(|t| t.id == id) {
        return Err(CliError::NotFound(format!("no token with id `{id}`")));
    }
    let entry = args.file.update(|file| file.revoke(&id))?;
    say!("revoked {} token {}", entry.role, entry.id);
    Ok(ExitCode::SUCCESS)
}
