//! `cavra evidence bundle`: one session exported to a directory with a signed manifest.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cmd::store_args::StoreArgs;
use crate::error::CliError;
use crate::output::say;

/// Export a session as a signed bundle.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The directory gets decisions.jsonl, summary.json, chain.json, checkpoint.json (when the store has \
                  one), manifest.json (every file's SHA-256) and manifest.sig (Ed25519). An auditor checks it \
                  offline with `cavra evidence verify DIR --public-key KEY.pub`.\n\nExamples:\n  cavra evidence \
                  bundle --session s-42 --output audit/s-42\n  cavra evidence bundle --session s-42 --output \
                  audit/s-42 --key /etc/cavra/evidence.key --json"
)]
pub struct Args {
    /// The session to export.
    #[arg(long, value_name = "ID")]
    session: String,
    /// The directory to write (new or empty).
    #[arg(long, short, value_name = "DIR")]
    output: PathBuf,
    /// The Ed25519 signing key for the manifest.
    #[arg(long, value_name = "FILE", env = "CAVRA_EVIDENCE_KEY", default_value = super::DEFAULT_KEY)]
    key: PathBuf,
    /// Replace a bundle already in DIR (a directory holding anything else is still refused).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    store: StoreArgs,
    /// Print the manifest as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `cavra evidence bundle`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let key = super::signing_key(&a.key)?;
    let store = a.store.open()?;
    let written = cavra_evidence::bundle::write_bundle(store.as_ref(), &a.session, &a.output, &key, a.force)
        .map_err(super::cli_error)?;
    if a.json {
        crate::cmd::print_json(&written)?;
    } else {
        say!(
            "bundle      {} ({} decision(s) of session `{}`)",
            written.directory,
            written.manifest.decision_count,
            written.manifest.session_id
        );
        for f in &written.manifest.files {
            say!("  {:<16} {} bytes  sha256 {}", f.path, f.bytes, f.sha256);
        }
        say!("signed by   {}", written.manifest.key_id);
        say!(
            "verify with cavra evidence verify {} --public-key <the .pub file>",
            written.directory
        );
    }
    Ok(ExitCode::SUCCESS)
}
