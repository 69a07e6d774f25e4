//! The crate's one error type and its classes.

use oci_model::Digest;
use std::io;

/// The class of a [`BlobError`], for callers that map errors to statuses in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The blob is not in the store.
    NotFound,
    /// The content given is bad: a digest or size that does not match, a corrupt tar or
    /// compressed stream, an empty layer.
    InvalidArgument,
    /// A failure of the file system or of the reader underneath.
    Internal,
}

/// Why a blob-store operation failed. `Display` is a complete, user-facing sentence fragment
/// such as `digest mismatch: expected sha256:…, got sha256:…`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BlobError(Box<Repr>);

#[derive(Debug, thiserror::Error)]
enum Repr {
    #[error("blob {0} not found")]
    NotFound(Digest),
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Tee(Box<dyn std::error::Error + Send + Sync>),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl BlobError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match &*self.0 {
            Repr::NotFound(_) => ErrorKind::NotFound,
            Repr::DigestMismatch { .. }
            | Repr::SizeMismatch { .. }
            | Repr::Invalid(_)
            | Repr::Tee(_) => ErrorKind::InvalidArgument,
            Repr::Io { .. } => ErrorKind::Internal,
        }
    }

    /// The actual digest of the content when a digest check failed; `None` for every other
    /// error (a size mismatch included).
    pub fn mismatch(&self) -> Option<Digest> {
        match &*self.0 {
            Repr::DigestMismatch { actual, .. } => Some(actual.clone()),
            _ => None,
        }
    }

    pub(crate) fn not_found(d: &Digest) -> Self {
        BlobError(Box::new(Repr::NotFound(d.clone())))
    }

    pub(crate) fn digest_mismatch(expected: &Digest, actual: Digest) -> Self {
        BlobError(Box::new(Repr::DigestMismatch {
            expected: expected.clone(),
            actual,
        }))
    }

    pub(crate) fn size_mismatch(expected: u64, actual: u64) -> Self {
        BlobError(Box::new(Repr::SizeMismatch { expected, actual }))
    }

    /// Bad content; `msg` is the whole text (`invalid tar: …`, `invalid gzip stream: …`).
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        BlobError(Box::new(Repr::Invalid(msg.into())))
    }

    /// A [`Tee`](crate::Tee) refused the layer.
    pub(crate) fn tee(e: Box<dyn std::error::Error + Send + Sync>) -> Self {
        BlobError(Box::new(Repr::Tee(e)))
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        BlobError(Box::new(Repr::Io {
            context: context.into(),
            source,
        }))
    }
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, BlobError>;
