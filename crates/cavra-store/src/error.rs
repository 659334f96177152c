//! The store's one error type.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The question itself is wrong (a bad cursor, a bad filter value); the caller's fault.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("postgres: {}", postgres_message(.0))]
    Postgres(#[from] postgres::Error),
    /// Stored data could not be read back.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// An applied migration was edited, or the schema is newer than this binary.
    #[error("migration: {0}")]
    Migration(String),
    /// An import met a record that contradicts one already stored.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store is shutting down or its writer is gone.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
        let context = context.into();
        move |source| StoreError::Io { context, source }
    }

    /// Whether the failure is passing and the same request may succeed if retried: the store is
    /// shutting down, SQLite is locked by another process past `busy_timeout`, or PostgreSQL
    /// lost its connection, ran out of connections or timed out waiting for a lock.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            StoreError::Postgres(e) => {
                e.is_closed()
                    || e.as_db_error().is_some_and(|db| {
                        let code = db.code().code();
                        code.starts_with("08") || matches!(code, "53300" | "55P03" | "57P01" | "57P03")
                    })
            }
            _ => false,
        }
    }
}

/// The server's own message for a database error (its `Display` says only "db error").
fn postgres_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}
