//! The CLI's one error type and its exit codes.

use cavra_core::PackError;

/// Something failed (I/O, a failed pack test).
pub const EXIT_ERROR: u8 = 1;
/// `evaluate`: the action is blocked or needs approval.
pub const EXIT_BLOCKED: u8 = 2;
/// Invalid input or an invalid pack.
pub const EXIT_INVALID: u8 = 3;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The user's input is wrong; the message says what and where.
    #[error("{0}")]
    Invalid(String),
    /// Packs failed to load; every problem is listed.
    #[error("invalid policy pack:\n{0}")]
    Pack(#[from] PackError),
    /// Reading or writing failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The activity store failed.
    #[error("{0}")]
    Store(String),
    /// What was asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A check ran and failed; its report was printed already.
    #[error("{0}")]
    Failed(String),
    /// An agent hook could not get a decision, so the action must not run (exit 2: fail closed).
    #[error("{0}")]
    FailClosed(String),
}

impl CliError {
    /// The documented exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Invalid(_) | CliError::Pack(_) => EXIT_INVALID,
            CliError::FailClosed(_) => EXIT_BLOCKED,
            CliError::Io { .. } | CliError::Failed(_) | CliError::Store(_) | CliError::NotFound(_) => EXIT_ERROR,
        }
    }

    /// Whether the reader of our output went away (`cavra ... | head`): not an error to report.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// A store error: the caller's mistake is invalid input (exit 3), anything else an error.
    pub fn from_store(e: cavra_store::StoreError) -> CliError {
        match e {
            cavra_store::StoreError::Invalid(m) => CliError::Invalid(m),
            other => CliError::Store(other.to_string()),
        }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let context = context.into();
        move |source| CliError::Io { context, source }
    }
}
