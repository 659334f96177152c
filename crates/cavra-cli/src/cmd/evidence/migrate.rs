//! `cavra evidence migrate`: schema first, then an idempotent, verified import of a JSON store.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use cavra_core::{DecisionRecord, integrity};
use cavra_store::migrations::MigrationReport;
use cavra_store::{ActivityStore, ImportReport, StoreConfig};
use indicatif::{ProgressBar, ProgressStyle};

use crate::error::CliError;
use crate::output::say;

/// Decisions imported per transaction.
const CHUNK: usize = 2_000;

/// Migrate a database, and import a JSON store into it.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["sqlite", "postgres"]))]
#[command(
    after_help = "Examples:\n  cavra evidence migrate --sqlite .cavra/activity.db\n  cavra evidence migrate --sqlite .cavra/activity.db --from-json .cavra/api/activity.json\n  cavra evidence migrate --postgres postgres://cavra@db/cavra --from-json activity.json --json"
)]
pub struct Args {
    /// The SQLite database to migrate (created if missing).
    #[arg(long, value_name = "PATH")]
    sqlite: Option<PathBuf>,
    /// The PostgreSQL database to migrate.
    #[arg(long, value_name = "URL", hide_env_values = true)]
    postgres: Option<String>,
    /// A JSON store to import (default: `CAVRA_ACTIVITY_STORE` when set). Running twice imports once.
    #[arg(long, value_name = "FILE", env = "CAVRA_ACTIVITY_STORE")]
    from_json: Option<PathBuf>,
    /// Print a JSON summary instead of text (and no progress bar).
    #[arg(long)]
    json: bool,
}

/// Runs `cavra evidence migrate`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let (config, migrations) = match (&a.sqlite, &a.postgres) {
        (Some(path), _) => (StoreConfig::Sqlite(path.clone()), cavra_store::sqlite::migrate(path)),
        (None, Some(url)) => (StoreConfig::Postgres(url.clone()), cavra_store::postgres::migrate(url)),
        (None, None) => return Err(CliError::Invalid("give --sqlite PATH or --postgres URL".to_owned())),
    };
    let migrations: MigrationReport =
        migrations.map_err(|e| CliError::Store(format!("cannot migrate {config}: {e}")))?;
    let mut summary = serde_json::json!({
        "target": config.to_string(),
        "migrations": migrations,
    });
    if !a.json {
        for name in &migrations.applied {
            say!("applied   {name}");
        }
        for name in &migrations.already_applied {
            say!("verified  {name} (already applied)");
        }
    }
    if let Some(source_path) = &a.from_json {
        if !source_path.is_file() {
            return Err(CliError::Invalid(format!(
                "`--from-json` `{}` is not a file",
                source_path.display()
            )));
        }
        let source = cavra_store::json::JsonStore::open(source_path).map_err(CliError::from_store)?;
        let target = cavra_store::open(&config).map_err(CliError::from_store)?;
        let import = import(&source, target.as_ref(), !a.json)?;
        let verified = verify(&source, target.as_ref())?;
        summary["source"] = serde_json::json!(source_path.display().to_string());
        summary["import"] = serde_json::to_value(&import).map_err(|e| CliError::Failed(e.to_string()))?;
        summary["verified"] = verified.clone();
        if !a.json {
            say!(
                "imported  {} session(s), {} decision(s); already present: {} session(s), {} decision(s)",
                import.sessions_imported,
                import.decisions_imported,
                import.sessions_skipped,
                import.decisions_skipped
            );
            say!(
                "verified  {} session(s) and {} decision(s): counts and hashes match the source",
                verified["sessions"],
                verified["decisions"]
            );
        }
    }
    if a.json {
        crate::cmd::print_json(&summary)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn all_decisions(
    store: &dyn ActivityStore,
    sessions: &[cavra_store::SessionSummary],
) -> Result<Vec<DecisionRecord>, CliError> {
    let mut out = Vec::new();
    for s in sessions {
        out.extend(store.session_decisions(&s.session_id).map_err(CliError::from_store)?);
    }
    out.sort_by_key(|d| d.sequence);
    Ok(out)
}

fn import(source: &dyn ActivityStore, target: &dyn ActivityStore, progress: bool) -> Result<ImportReport, CliError> {
    let sessions = source.all_sessions().map_err(CliError::from_store)?;
    let decisions = all_decisions(source, &sessions)?;
    let bar = if progress && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(decisions.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} importing [{bar:40}] {pos}/{len} decisions ({per_sec}, eta {eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut total = ImportReport::default();
    // Decisions first, in sequence order; sessions last, so a session row appears only once all
    // of its decisions are in.
    for chunk in decisions.chunks(CHUNK) {
        let r = target.import(&[], chunk).map_err(CliError::from_store)?;
        total.decisions_imported += r.decisions_imported;
        total.decisions_skipped += r.decisions_skipped;
        bar.inc(chunk.len() as u64);
    }
    let r = target.import(&sessions, &[]).map_err(CliError::from_store)?;
    total.sessions_imported += r.sessions_imported;
    total.sessions_skipped += r.sessions_skipped;
    bar.finish_and_clear();
    Ok(total)
}

/// Every source session and decision is in the target with the same counts and hashes, and
/// every hash is what the record's content implies.
fn verify(source: &dyn ActivityStore, target: &dyn ActivityStore) -> Result<serde_json::Value, CliError> {
    let sessions = source.all_sessions().map_err(CliError::from_store)?;
    let mut decisions = 0u64;
    for s in &sessions {
        let Some(t) = target.get_session(&s.session_id).map_err(CliError::from_store)? else {
            return Err(CliError::Failed(format!(
                "verification failed: session `{}` is missing from the target",
                s.session_id
            )));
        };
        let src = source.session_decisions(&s.session_id).map_err(CliError::from_store)?;
        let dst = target.session_decisions(&s.session_id).map_err(CliError::from_store)?;
        let src_hashes: Vec<_> = src.iter().map(|d| (&d.decision_id, &d.record_hash)).collect();
        let dst_hashes: Vec<_> = dst.iter().map(|d| (&d.decision_id, &d.record_hash)).collect();
        if src_hashes != dst_hashes || t.decision_count != s.decision_count || t.head_hash != s.head_hash {
            return Err(CliError::Failed(format!(
                "verification failed: session `{}` differs (source {} decisions, target {})",
                s.session_id,
                src.len(),
                dst.len()
            )));
        }
        if let Some(bad) = dst
            .iter()
            .find(|d| d.record_hash.as_deref() != Some(integrity::record_hash(d).as_str()))
        {
            return Err(CliError::Failed(format!(
                "verification failed: decision `{}` does not match its record_hash",
                bad.decision_id
            )));
        }
        decisions += dst.len() as u64;
    }
    Ok(serde_json::json!({"sessions": sessions.len(), "decisions": decisions}))
}
