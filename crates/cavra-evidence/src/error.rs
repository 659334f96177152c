//! The evidence crate's one error type: why verification, signing or bundling could not run at
//! all. (What verification *finds* is a report, not an error.)

use std::path::PathBuf;

use cavra_store::StoreError;

/// Why an evidence operation could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A key file is not what it should be (format, permissions).
    #[error("key file `{path}`: {message}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file or directory already exists and was not to be replaced.
    #[error("`{0}` already exists (use --force to replace it)")]
    Exists(PathBuf),
    /// The caller asked for something that cannot be done (an unknown session, a non-empty output
    /// directory).
    #[error("{0}")]
    Invalid(String),
}

impl EvidenceError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EvidenceError {
        let context = context.into();
        move |source| EvidenceError::Io { context, source }
    }
}
