//! The crate's one error type: fixture diagnostics, or a codec error while building tars.

use std::fmt;

/// The class of a [`UnionError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A fixture or a changeset is malformed.
    InvalidArgument,
    /// Content needed to write a tar is missing.
    NotFound,
    /// Anything else the codec reports.
    Internal,
}

/// One problem in a fixture, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The line, counting from 1.
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Why a fixture could not be parsed or turned into tars.
#[derive(Debug, thiserror::Error)]
pub enum UnionError {
    /// Every problem found in a fixture, in line order.
    #[error("fixture: {}", join(.0))]
    Fixture(Vec<Diagnostic>),
    /// The layer codec refused a changeset.
    #[error(transparent)]
    Diff(#[from] layer_diff::DiffError),
}

fn join(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl UnionError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            UnionError::Fixture(_) => ErrorKind::InvalidArgument,
            UnionError::Diff(e) => match e.kind() {
                layer_diff::ErrorKind::InvalidArgument => ErrorKind::InvalidArgument,
                layer_diff::ErrorKind::NotFound => ErrorKind::NotFound,
                layer_diff::ErrorKind::Internal => ErrorKind::Internal,
            },
        }
    }
}
