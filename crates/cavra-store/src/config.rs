//! Choosing the store, once at start-up (SPEC §5): `CAVRA_ACTIVITY_DB` (a SQLite path or a
//! `postgres://` URL), else `CAVRA_ACTIVITY_STORE` (a JSON file), else `.cavra/activity.db`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::StoreError;
use crate::store::ActivityStore;

/// The embedded default.
pub const DEFAULT_SQLITE_PATH: &str = ".cavra/activity.db";

/// Which store to open.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// SQLite at this path.
    Sqlite(PathBuf),
    /// The JSON file store at this path.
    Json(PathBuf),
    /// PostgreSQL at this URL.
    Postgres(String),
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            StoreConfig::Json(p) => write!(f, "json:{}", p.display()),
            StoreConfig::Postgres(url) => write!(f, "postgres:{}", redact_url(url)),
        }
    }
}

impl fmt::Display for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A connection URL with any password replaced by `***`, for messages and logs: the
/// `user:password@` part (split at the last `@`, since a raw `@` may be in the password) and a
/// `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority_and_path, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let mut out = format!("{scheme}://");
    match authority_and_path.rsplit_once('@') {
        Some((userinfo, host)) => {
            match userinfo.split_once(':') {
                Some((user, _)) => out.push_str(&format!("{user}:***@")),
                None => out.push_str(&format!("{userinfo}@")),
            }
            out.push_str(host);
        }
        None => out.push_str(authority_and_path),
    }
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

impl StoreConfig {
    /// The store the SPEC's variables select; `db` is `CAVRA_ACTIVITY_DB`, `json` is
    /// `CAVRA_ACTIVITY_STORE`.
    pub fn select(db: Option<&str>, json: Option<&str>) -> StoreConfig {
        match (db.filter(|s| !s.is_empty()), json.filter(|s| !s.is_empty())) {
            (Some(url), _) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                StoreConfig::Postgres(url.to_owned())
            }
            (Some(path), _) => StoreConfig::Sqlite(PathBuf::from(path)),
            (None, Some(path)) => StoreConfig::Json(PathBuf::from(path)),
            (None, None) => StoreConfig::Sqlite(PathBuf::from(DEFAULT_SQLITE_PATH)),
        }
    }

    /// The store selected by the process environment.
    pub fn from_env() -> StoreConfig {
        let db = std::env::var("CAVRA_ACTIVITY_DB").ok();
        let json = std::env::var("CAVRA_ACTIVITY_STORE").ok();
        StoreConfig::select(db.as_deref(), json.as_deref())
    }
}

/// Opens the configured store, creating it and applying migrations as needed.
pub fn open(config: &StoreConfig) -> Result<Arc<dyn ActivityStore>, StoreError> {
    Ok(match config {
        StoreConfig::Sqlite(path) => Arc::new(crate::sqlite::SqliteStore::open(path)?),
        StoreConfig::Json(path) => Arc::new(crate::json::JsonStore::open(path)?),
        StoreConfig::Postgres(url) => Arc::new(crate::postgres::PostgresStore::open(url)?),
    })
}

/// Opens like [`open`], for a process that appends a few decisions and exits (an agent hook):
/// SQLite skips the checkpoint at close (see [`crate::sqlite::SqliteStore::open_one_shot`]);
/// the other backends open as usual.
pub fn open_one_shot(config: &StoreConfig) -> Result<Arc<dyn ActivityStore>, StoreError> {
    match config {
        StoreConfig::Sqlite(path) => Ok(Arc::new(crate::sqlite::SqliteStore::open_one_shot(path)?)),
        other => open(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Selection follows the SPEC's order.
    #[test]
    fn selection_order() {
        assert_eq!(
            StoreConfig::select(Some("postgres://u@h/db"), Some("a.json")),
            StoreConfig::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            StoreConfig::select(Some("x.db"), Some("a.json")),
            StoreConfig::Sqlite("x.db".into())
        );
        assert_eq!(
            StoreConfig::select(None, Some("a.json")),
            StoreConfig::Json("a.json".into())
        );
        assert_eq!(
            StoreConfig::select(None, None),
            StoreConfig::Sqlite(DEFAULT_SQLITE_PATH.into())
        );
    }

    /// Passwords never reach messages.
    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://bob:secret@db:5432/x"),
            "postgres://bob:***@db:5432/x"
        );
        assert_eq!(
            format!("{}", StoreConfig::Postgres("postgresql://a:b@h/d".into())),
            "postgres:postgresql://a:***@h/d"
        );
    }
}
