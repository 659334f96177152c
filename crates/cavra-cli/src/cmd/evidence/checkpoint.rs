//! `cavra evidence checkpoint`: sign every session's chain head and count, and the log's
//! high-water sequence, into the store's `evidence_checkpoints`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cmd::store_args::StoreArgs;
use crate::error::CliError;
use crate::output::say;

/// Sign a checkpoint of the store.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "A later `cavra evidence verify --public-key KEY.pub` checks every signed head is still in its chain, so \
                  a removed session or truncated log is detected. `cavra serve --checkpoint-key` makes them \
                  periodically.\n\nExamples:\n  cavra evidence checkpoint\n  cavra evidence checkpoint --key \
                  /etc/cavra/evidence.key --json"
)]
pub struct Args {
    /// The Ed25519 signing key (made by `cavra evidence keygen`).
    #[arg(long, value_name = "FILE", env = "CAVRA_EVIDENCE_KEY", default_value = super::DEFAULT_KEY)]
    key: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
    /// Print the signed payload as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `cavra evidence checkpoint`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let key = super::signing_key(&a.key)?;
    let store = a.store.open()?;
    let payload = cavra_evidence::checkpoint::checkpoint(store.as_ref(), &key).map_err(super::cli_error)?;
    if a.json {
        crate::cmd::print_json(&payload)?;
    } else {
        say!("checkpoint  {}", payload.checkpoint_id);
        say!("signed by   {}", payload.key_id);
        say!(
            "covers      {} session(s), {} decision(s), sequence 1..={}",
            payload.session_count,
            payload.decision_count,
            payload.sequence
        );
    }
    Ok(ExitCode::SUCCESS)
}
