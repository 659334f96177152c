//! `cavra evidence verify`: check a store or a bundle and name every altered, removed, inserted or
//! reordered record. Exit 0 only when everything is intact; 2 when it is not (tampered, or a
//! signature that had to be checked could not be); 1 when verification could not run; 3 for
//! invalid input (a bad key file, a directory that is not a bundle).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use cavra_evidence::verify::{CheckpointState, Options, Report, Status};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cmd::store_args::StoreArgs;
use crate::error::{CliError, EXIT_BLOCKED};
use crate::output::say;

/// Verify the store, or a bundle.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 intact; 2 not intact (records altered, removed, inserted or reordered — or \
                  a signature that had to be checked could not be, e.g. a signed checkpoint or bundle without \
                  --public-key); 1 verification could not run; 3 invalid input.\n\nExamples:\n  cavra evidence \
                  verify --public-key .cavra/evidence.key.pub\n  cavra evidence verify audit/s-42 --public-key \
                  evidence.key.pub --json\n  CAVRA_ACTIVITY_DB=postgres://cavra@db/cavra cavra evidence verify \
                  --public-key evidence.key.pub"
)]
pub struct Args {
    /// A bundle directory (from `cavra evidence bundle`); without it, the configured store.
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The public key that signed the checkpoints and bundle manifests. Without it, a signed
    /// checkpoint or bundle is reported as unverified (exit 2), never as intact.
    #[arg(long, value_name = "FILE", env = "CAVRA_EVIDENCE_PUBLIC_KEY")]
    public_key: Option<PathBuf>,
    /// Verify the chains only and leave checkpoints out (the report says so): a removed whole
    /// session or truncated newest records then go unnoticed.
    #[arg(long)]
    no_checkpoint: bool,
    /// Scanning threads, each reading and hashing a share of the store (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
    #[command(flatten)]
    store: StoreArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `cavra evidence verify`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let public_key = match &a.public_key {
        Some(path) => Some(cavra_evidence::keys::read_verifying_key(path).map_err(super::cli_error)?),
        None => None,
    };
    let started = Instant::now();
    let bar = if !a.json && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} verifying {pos} records ({per_sec}, {elapsed})") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let progress = |n: u64| bar.set_position(n);
    let options = Options {
        public_key,
        skip_checkpoint: a.no_checkpoint,
        threads: a.threads,
        progress: Some(&progress),
    };
    let report = match &a.dir {
        Some(dir) => {
            if !dir.is_dir() {
                return Err(CliError::Invalid(format!(
                    "`{}` is not a bundle directory",
                    dir.display()
                )));
            }
            cavra_evidence::bundle::verify_bundle(dir, &options).map_err(super::cli_error)?
        }
        None => {
            // Verifying never creates a store: a missing file is an error, not an empty pass.
            if let cavra_store::StoreConfig::Sqlite(path) | cavra_store::StoreConfig::Json(path) = a.store.config()
                && !path.is_file()
            {
                return Err(CliError::Invalid(format!(
                    "no activity store at `{}` (set CAVRA_ACTIVITY_DB / CAVRA_ACTIVITY_STORE, or give a bundle directory)",
                    path.display()
                )));
            }
            let store = a.store.open()?;
            let source = a.store.config().to_string();
            cavra_evidence::verify::verify_store(store.as_ref(), source, &options).map_err(super::cli_error)?
        }
    };
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    if a.json {
        let mut value = serde_json::to_value(&report).map_err(|e| CliError::Failed(e.to_string()))?;
        value["elapsed_ms"] = serde_json::json!(elapsed.as_millis() as u64);
        crate::cmd::print_json(&value)?;
    } else {
        print(&report, elapsed.as_secs_f64())?;
    }
    Ok(if report.intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_BLOCKED)
    })
}

fn print(r: &Report, seconds: f64) -> Result<(), CliError> {
    let verdict = match r.status {
        Status::Intact => "INTACT",
        Status::Tampered => "TAMPERED",
        Status::Unverified => "UNVERIFIED",
    };
    let rate = if seconds > 0.0 { r.records as f64 / seconds } else { 0.0 };
    say!("{verdict}  {}", r.source);
    say!(
        "  {} record(s) in {} session(s), highest sequence {}, verified in {seconds:.2}s ({rate:.0} records/s)",
        r.records,
        r.sessions,
        r.high_water_sequence
    );
    let c = &r.checkpoint;
    let checkpoint = match c.state {
        CheckpointState::Verified => format!(
            "{} of {} verified (key {}, sequence 1..={})",
            c.checkpoint_id.as_deref().unwrap_or("?"),
            c.created_at.as_deref().unwrap_or("?"),
            c.key_id.as_deref().unwrap_or("?"),
            c.sequence.unwrap_or(0)
        ),
        CheckpointState::SignatureNotChecked => format!(
            "{} found, its signature NOT checked (no --public-key)",
            c.checkpoint_id.as_deref().unwrap_or("?")
        ),
        CheckpointState::Absent => "none stored".to_owned(),
        CheckpointState::DoesNotCover => format!(
            "{} verified, but made before the session began (it does not cover it)",
            c.checkpoint_id.as_deref().unwrap_or("?")
        ),
        CheckpointState::Skipped => "not checked (--no-checkpoint)".to_owned(),
        CheckpointState::Invalid => format!("{} INVALID", c.checkpoint_id.as_deref().unwrap_or("?")),
    };
    say!("  checkpoint: {checkpoint}");
    say!("checked:");
    for line in &r.checked {
        say!("  - {line}");
    }
    if !r.not_checked.is_empty() {
        say!("not checked:");
        for line in &r.not_checked {
            say!("  - {line}");
        }
    }
    if !r.findings.is_empty() {
        say!("findings ({}):", r.findings.len());
        for f in &r.findings {
            let kind = serde_json::to_value(f.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_uppercase))
                .unwrap_or_default();
            let mut place = Vec::new();
            if let Some(d) = &f.decision_id {
                place.push(d.clone());
            }
            if let Some(s) = &f.session_id {
                place.push(format!("session {s}"));
            }
            if let Some(q) = f.sequence {
                place.push(format!("sequence {q}"));
            }
            say!("  {kind:<10} {}: {}", place.join(", "), f.message);
        }
    }
    Ok(())
}
