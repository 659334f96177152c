//! Which activity store a command uses: the SPEC's variables, as flags.

use std::sync::Arc;

use cavra_store::{ActivityStore, StoreConfig};

use crate::error::CliError;

/// The activity store (SPEC §5): `--activity-db` (SQLite path or `postgres://` URL), else
/// `--activity-store` (JSON file), else `.cavra/activity.db`.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// SQLite database path, or a `postgres://` / `postgresql://` URL.
    #[arg(long, env = "CAVRA_ACTIVITY_DB", value_name = "PATH|URL", hide_env_values = true)]
    pub activity_db: Option<String>,
    /// JSON file store (used when no database is given).
    #[arg(long, env = "CAVRA_ACTIVITY_STORE", value_name = "FILE")]
    pub activity_store: Option<String>,
}

impl StoreArgs {
    /// The selected configuration.
    pub fn config(&self) -> StoreConfig {
        StoreConfig::select(self.activity_db.as_deref(), self.activity_store.as_deref())
    }

    /// Opens the selected store (creating it and applying migrations).
    pub fn open(&self) -> Result<Arc<dyn ActivityStore>, CliError> {
        let config = self.config();
        cavra_store::open(&config).map_err(|e| CliError::Store(format!("cannot open the activity store {config}: {e}")))
    }

    /// Opens the selected store for a process that appends a few decisions and exits (the
    /// hook): as durable, without SQLite's checkpoint at close.
    pub fn open_one_shot(&self) -> Result<Arc<dyn ActivityStore>, CliError> {
        let config = self.config();
        cavra_store::open_one_shot(&config)
            .map_err(|e| CliError::Store(format!("cannot open the activity store {config}: {e}")))
    }
}
