//! The crate's one error type.

/// What kind of failure an error is, for the engine's mapping to exit codes and HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A name (user, group, container) does not exist.
    NotFound,
    /// The request itself is wrong.
    InvalidArgument,
    /// The container is in the wrong state for the request.
    Conflict,
    /// No working runtime, or the host lacks a feature.
    Unavailable,
    /// Anything else.
    Internal,
}

/// Errors of the runtime crate.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// An I/O failure, with what was being done.
    #[error("{ctx}: {source}")]
    Io {
        /// What was being done.
        ctx: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `user` names a user the image's `/etc/passwd` lacks, or a group its `/etc/group` lacks.
    #[error("{0}")]
    User(String),
    /// Invalid input.
    #[error("{0}")]
    Invalid(String),
    /// The OCI runtime refused; the text is its own error line.
    #[error("{msg}")]
    Runtime {
        /// The runtime's message.
        msg: String,
    },
    /// The process could not be started: Docker's exit code 126 or 127 goes with it.
    #[error("{msg}")]
    Start {
        /// Docker's text for it.
        msg: String,
        /// 127 (not found), 126 (cannot invoke) or 125.
        exit_code: i32,
    },
    /// No runtime works on this host.
    #[error("{0}")]
    Unavailable(String),
    /// The container is not in a state that allows the request.
    #[error("{0}")]
    Conflict(String),
}

impl RuntimeError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RuntimeError::User(_) => ErrorKind::InvalidArgument,
            RuntimeError::Invalid(_) => ErrorKind::InvalidArgument,
            RuntimeError::Unavailable(_) => ErrorKind::Unavailable,
            RuntimeError::Conflict(_) => ErrorKind::Conflict,
            RuntimeError::Io { .. } | RuntimeError::Runtime { .. } | RuntimeError::Start { .. } => {
                ErrorKind::Internal
            }
        }
    }

    pub(crate) fn io(ctx: impl Into<String>, source: std::io::Error) -> Self {
        RuntimeError::Io {
            ctx: ctx.into(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;
