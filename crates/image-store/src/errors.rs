//! The store's errors: Docker's daemon texts plus a coarse kind for status mapping.

use image_ref::RefError;
use std::fmt;

/// The class of a [`StoreError`], which front doors map to statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Something named does not exist.
    NotFound,
    /// It exists already.
    AlreadyExists,
    /// The input is wrong.
    InvalidArgument,
    /// The state forbids it (an image in use, referenced or with children).
    Conflict,
    /// A precondition does not hold.
    FailedPrecondition,
    /// A bug: the snapshot contradicts itself.
    Internal,
}

/// Why a rule refused. `Display` is the daemon's text, which the Docker CLI prints after
/// `Error response from daemon: `.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No image answers to the input; holds the text shown after `No such image: `.
    #[error("No such image: {0}")]
    NoSuchImage(String),
    /// The input is not a valid reference.
    #[error(transparent)]
    Reference(#[from] RefError),
    /// A filter key or value is not accepted; holds the whole message.
    #[error("{0}")]
    InvalidFilter(String),
    /// Deleting or untagging is refused; holds the whole `conflict: …` message.
    #[error("{0}")]
    Conflict(String),
}

impl StoreError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::NoSuchImage(_) => ErrorKind::NotFound,
            StoreError::Reference(_) | StoreError::InvalidFilter(_) => ErrorKind::InvalidArgument,
            StoreError::Conflict(_) => ErrorKind::Conflict,
        }
    }

    /// `invalid filter '<key>'`, or `invalid filter '<key>=[<values>]'` for bad values
    /// (moby's `invalidFilter` text).
    pub(crate) fn invalid_filter(key: &str, values: Option<&[&str]>) -> StoreError {
        let text = match values {
            None => format!("invalid filter '{key}'"),
            Some(v) => format!("invalid filter '{key}=[{}]'", v.join(" ")),
        };
        StoreError::InvalidFilter(text)
    }
}

/// Why deleting an image is refused (moby's `imageDeleteConflict`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeleteConflict {
    /// Hard conflicts cannot be forced.
    pub hard: bool,
    /// The conflict is a container using the image.
    pub used: bool,
    /// Truncated ID of the image.
    pub image: String,
    /// What is in the way.
    pub message: String,
}

impl fmt::Display for DeleteConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let force = if self.hard {
            "cannot be forced"
        } else {
            "must be forced"
        };
        write!(
            f,
            "conflict: unable to delete {} ({force}) - {}",
            self.image, self.message
        )
    }
}

impl From<DeleteConflict> for StoreError {
    fn from(c: DeleteConflict) -> StoreError {
        StoreError::Conflict(c.to_string())
    }
}

/// moby's `stringid.TruncateID`: drops an `algorithm:` prefix and keeps 12 characters.
pub(crate) fn truncate_id(id: &str) -> &str {
    let id = id.split_once(':').map_or(id, |(_, rest)| rest);
    id.get(..12).unwrap_or(id)
}
