//! The engine's error type and its kinds (which the server maps to HTTP statuses in one place).

/// The class of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Something named does not exist.
    NotFound,
    /// It exists already.
    AlreadyExists,
    /// The input is wrong.
    InvalidArgument,
    /// The state forbids it (`rmi` of an image in use).
    Conflict,
    /// A precondition does not hold.
    FailedPrecondition,
    /// Try again later.
    Unavailable,
    /// Credentials are missing or wrong.
    Unauthorized,
    /// A bug or an I/O failure.
    Internal,
}

/// An engine error. `Display` is the text users see.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A rule of the store refused.
    #[error(transparent)]
    Store(#[from] image_store::StoreError),
    /// A reference does not parse.
    #[error(transparent)]
    Reference(#[from] image_ref::RefError),
    /// Blob store failure or bad content.
    #[error(transparent)]
    Blob(#[from] blob_store::BlobError),
    /// A registry refused or failed.
    #[error(transparent)]
    Registry(#[from] registry_client::Error),
    /// Metadata failure.
    #[error(transparent)]
    Db(#[from] metadata_db::DbError),
    /// The OCI runtime, the monitor or the container's process.
    #[error(transparent)]
    Runtime(#[from] runtime::RuntimeError),
    /// Bad input, with the reason.
    #[error("{0}")]
    Invalid(String),
    /// Not found, with the text.
    #[error("{0}")]
    NotFound(String),
    /// The state forbids it, with the text.
    #[error("{0}")]
    Conflict(String),
    /// A build step's command failed: Docker's text and the command's exit code.
    #[error("{message}")]
    StepFailed {
        /// `The command '/bin/sh -c exit 3' returned a non-zero code: 3`.
        message: String,
        /// The command's exit code.
        code: i32,
    },
    /// An I/O failure, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl EngineError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        EngineError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        EngineError::Invalid(msg.into())
    }

    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        use image_store::ErrorKind as S;
        match self {
            EngineError::Store(e) => match e.kind() {
                S::NotFound => ErrorKind::NotFound,
                S::AlreadyExists => ErrorKind::AlreadyExists,
                S::InvalidArgument => ErrorKind::InvalidArgument,
                S::Conflict => ErrorKind::Conflict,
                S::FailedPrecondition => ErrorKind::FailedPrecondition,
                S::Internal => ErrorKind::Internal,
            },
            EngineError::Reference(_) | EngineError::Invalid(_) => ErrorKind::InvalidArgument,
            EngineError::Blob(e) => match e.kind() {
                blob_store::ErrorKind::NotFound => ErrorKind::NotFound,
                blob_store::ErrorKind::InvalidArgument => ErrorKind::InvalidArgument,
                _ => ErrorKind::Internal,
            },
            EngineError::Registry(e) => match e.kind() {
                registry_client::ErrorKind::NotFound => ErrorKind::NotFound,
                registry_client::ErrorKind::Unauthorized => ErrorKind::Unauthorized,
                registry_client::ErrorKind::InvalidArgument => ErrorKind::InvalidArgument,
                registry_client::ErrorKind::Unavailable => ErrorKind::Unavailable,
                registry_client::ErrorKind::Internal => ErrorKind::Internal,
            },
            EngineError::Runtime(e) => match e.kind() {
                runtime::ErrorKind::NotFound => ErrorKind::NotFound,
                runtime::ErrorKind::InvalidArgument => ErrorKind::InvalidArgument,
                runtime::ErrorKind::Conflict => ErrorKind::Conflict,
                runtime::ErrorKind::Unavailable => ErrorKind::Unavailable,
                runtime::ErrorKind::Internal => ErrorKind::Internal,
            },
            EngineError::NotFound(_) => ErrorKind::NotFound,
            EngineError::Conflict(_) => ErrorKind::Conflict,
            EngineError::StepFailed { .. } => ErrorKind::FailedPrecondition,
            EngineError::Db(_) | EngineError::Io { .. } => ErrorKind::Internal,
        }
    }
}
