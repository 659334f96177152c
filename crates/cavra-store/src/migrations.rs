//! Numbered, append-only schema migrations, embedded in the binary and recorded with a checksum.
//!
//! Each backend has the same numbered files under `migrations/<backend>/`. A migration is applied
//! in its own transaction together with its row in `cavra_schema_migrations`; an applied migration
//! whose file has since changed is an error, never silently re-applied or ignored.

use sha2::{Digest, Sha256};

use crate::error::StoreError;

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its number, e.g. 4.
    pub version: i64,
    /// Its file name, e.g. `004_activity_sessions_decisions.sql`.
    pub name: &'static str,
    /// The SQL.
    pub sql: &'static str,
}

impl Migration {
    /// SHA-256 of the SQL, lowercase hex.
    pub fn checksum(&self) -> String {
        cavra_core::integrity::hex(&Sha256::digest(self.sql.as_bytes()))
    }
}

macro_rules! migrations {
    ($dir:literal: $($version:literal => $name:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/", $dir, "/", $name)),
        }),*]
    };
}

/// SQLite migrations, in order.
pub const SQLITE: &[Migration] = migrations!("sqlite":
    1 => "001_evidence_checkpoints.sql",
    2 => "002_approvals.sql",
    3 => "003_mcp_trust_registry.sql",
    4 => "004_activity_sessions_decisions.sql",
    5 => "005_activity_refs_and_counts.sql",
    6 => "006_tool_outcomes.sql",
    7 => "007_activity_hourly_counts.sql",
    8 => "008_activity_daily_counts.sql",
    9 => "009_activity_decisions_window.sql",
);

/// PostgreSQL migrations, in order.
pub const POSTGRES: &[Migration] = migrations!("postgres":
    1 => "001_evidence_checkpoints.sql",
    2 => "002_approvals.sql",
    3 => "003_mcp_trust_registry.sql",
    4 => "004_activity_sessions_decisions.sql",
    5 => "005_activity_refs_and_counts.sql",
    6 => "006_tool_outcomes.sql",
    7 => "007_activity_hourly_counts.sql",
    8 => "008_activity_daily_counts.sql",
    9 => "009_activity_decisions_window.sql",
);

/// The bookkeeping table, the same on every backend (named for cavra, so a schema shared with
/// another tool's `schema_migrations` is never mistaken for ours).
pub const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS cavra_schema_migrations (
    version     BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    applied_at  TEXT NOT NULL
)";

/// What applying migrations did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MigrationReport {
    /// Names applied now.
    pub applied: Vec<String>,
    /// Names that were already applied (checksums verified).
    pub already_applied: Vec<String>,
}

/// Checks the applied rows against the embedded files: every applied version must exist with the
/// same checksum. Returns the migrations still to apply.
pub fn pending<'a>(
    known: &'a [Migration],
    applied: &[(i64, String, String)],
) -> Result<(Vec<&'a Migration>, Vec<String>), StoreError> {
    let mut done = Vec::new();
    for (version, name, checksum) in applied {
        let Some(m) = known.iter().find(|m| m.version == *version) else {
            return Err(StoreError::Migration(format!(
                "the database has migration {version} (`{name}`), which this version of cavra does not know; upgrade cavra"
            )));
        };
        if m.checksum() != *checksum {
            return Err(StoreError::Migration(format!(
                "migration `{}` was edited after it was applied (checksum {} in the database, {} now); \
                 applied migrations are append-only: add a new migration instead",
                m.name,
                short(checksum),
                short(&m.checksum())
            )));
        }
        done.push(m.name.to_owned());
    }
    let todo = known
        .iter()
        .filter(|m| !applied.iter().any(|(v, _, _)| *v == m.version))
        .collect();
    Ok((todo, done))
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Versions run 1, 2, 3… without a gap, names match their numbers, both backends agree.
    #[test]
    fn migrations_are_numbered() {
        for set in [SQLITE, POSTGRES] {
            let mut previous = 0;
            for m in set {
                assert_eq!(m.version, previous + 1, "{} after {previous}", m.name);
                assert!(m.name.starts_with(&format!("{:03}_", m.version)));
                previous = m.version;
            }
        }
        assert_eq!(SQLITE.len(), POSTGRES.len());
    }

    /// An edited applied migration is refused, naming the file.
    #[test]
    fn edited_migration_is_refused() {
        let applied = vec![(1, SQLITE[0].name.to_owned(), "0".repeat(64))];
        let err = pending(SQLITE, &applied).unwrap_err().to_string();
        assert!(
            err.contains("001_evidence_checkpoints.sql") && err.contains("edited"),
            "{err}"
        );
        let applied = vec![(1, SQLITE[0].name.to_owned(), SQLITE[0].checksum())];
        let (todo, done) = pending(SQLITE, &applied).unwrap();
        assert_eq!(todo.len(), SQLITE.len() - 1);
        assert_eq!(done, vec!["001_evidence_checkpoints.sql"]);
    }
}
