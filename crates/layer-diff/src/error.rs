//! The crate's one error type and its classes.

use oci_model::Digest;
use std::io;

/// The class of a [`DiffError`], for callers that map errors to statuses in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The layer or the changeset is malformed (a bad path, a bad whiteout, a corrupt tar).
    InvalidArgument,
    /// The bytes of a digest-only file were not supplied.
    NotFound,
    /// A failure of the reader or writer underneath, or supplied content that does not match
    /// its digest.
    Internal,
}

/// Why a changeset could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// A path (or hardlink target) that is not valid in a layer.
    #[error("path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An entry that cannot be represented (bad whiteout, duplicate, size mismatch, …).
    #[error("entry {path:?}: {reason}")]
    InvalidEntry {
        /// The entry's path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A tar entry type a layer cannot hold (GNU volume headers, unknown types).
    #[error("entry {path:?}: unsupported tar entry type {type_flag:?}")]
    UnsupportedType {
        /// The entry's path.
        path: String,
        /// The tar type flag.
        type_flag: char,
    },
    /// `write_changeset` needed the bytes of a digest-only file and got none.
    #[error("entry {path:?}: no content supplied for {digest}")]
    MissingContent {
        /// The file's path.
        path: String,
        /// The digest it needs.
        digest: Digest,
    },
    /// Supplied content does not match the entry's size or digest.
    #[error("entry {path:?}: supplied content does not match: {reason}")]
    ContentMismatch {
        /// The file's path.
        path: String,
        /// What differs.
        reason: String,
    },
    /// Reading the tar failed: a corrupt archive or a failing reader.
    #[error("reading layer tar: {context}: {source}")]
    Read {
        /// What was being read.
        context: String,
        /// The cause.
        source: io::Error,
    },
    /// Writing the tar failed.
    #[error("writing layer tar: {source}")]
    Write {
        /// The cause.
        #[from]
        source: io::Error,
    },
}

impl DiffError {
    /// The class of this error.
    ///
    /// Read failures are `InvalidArgument` when the tar itself is malformed (the tar crate reports
    /// those as `InvalidData`, `UnexpectedEof` or `Other`) and `Internal` otherwise.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DiffError::InvalidPath { .. }
            | DiffError::InvalidEntry { .. }
            | DiffError::UnsupportedType { .. } => ErrorKind::InvalidArgument,
            DiffError::MissingContent { .. } => ErrorKind::NotFound,
            DiffError::ContentMismatch { .. } | DiffError::Write { .. } => ErrorKind::Internal,
            DiffError::Read { source, .. } => match source.kind() {
                io::ErrorKind::InvalidData
                | io::ErrorKind::UnexpectedEof
                | io::ErrorKind::Other => ErrorKind::InvalidArgument,
                _ => ErrorKind::Internal,
            },
        }
    }

    pub(crate) fn path(path: &str, reason: &'static str) -> Self {
        DiffError::InvalidPath {
            path: path.to_string(),
            reason,
        }
    }

    pub(crate) fn entry(path: &str, reason: impl Into<String>) -> Self {
        DiffError::InvalidEntry {
            path: path.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn read(context: impl Into<String>, source: io::Error) -> Self {
        DiffError::Read {
            context: context.into(),
            source,
        }
    }
}
