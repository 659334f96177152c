//! `cavra evidence keygen`: a new Ed25519 signing key for checkpoints and bundles.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::error::CliError;
use crate::output::say;

/// Write a new Ed25519 signing key and its public key.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The private key file is created with mode 0600 and never replaced without --force; the public key \
                  goes beside it as FILE.pub (give that one to auditors).\n\nExamples:\n  cavra evidence keygen\n  \
                  cavra evidence keygen --output /etc/cavra/evidence.key --json"
)]
pub struct Args {
    /// Where to write the private key (the public key goes to `<FILE>.pub`).
    #[arg(long, short, value_name = "FILE", default_value = super::DEFAULT_KEY)]
    output: PathBuf,
    /// Replace existing key files (checkpoints and bundles signed with the old key then need the
    /// old public key to verify).
    #[arg(long)]
    force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `cavra evidence keygen`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let key = cavra_evidence::keys::generate().map_err(super::cli_error)?;
    let public = cavra_evidence::keys::write_key_files(&a.output, &key, a.force).map_err(super::cli_error)?;
    let key_id = cavra_evidence::keys::key_id(&key.verifying_key());
    if a.json {
        crate::cmd::print_json(&serde_json::json!({
            "key_id": key_id,
            "private_key": a.output.display().to_string(),
            "public_key": public.display().to_string(),
        }))?;
    } else {
        say!("key id       {key_id}");
        say!("private key  {} (mode 0600: keep it secret)", a.output.display());
        say!("public key   {} (give it to auditors)", public.display());
    }
    Ok(ExitCode::SUCCESS)
}
