//! The crate's one error type, its classes, and the registry's JSON error body.

use oci_model::Digest;
use serde::Deserialize;

/// What can go wrong talking to a registry.
///
/// Texts follow Docker's: a registry error `{"code":"MANIFEST_UNKNOWN","message":"manifest
/// unknown"}` prints as `manifest unknown: manifest unknown`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401 / 403 that authentication could not fix (no credentials, wrong credentials, denied).
    /// `code` and `message` are the registry's (`UNAUTHORIZED`, `authentication required`).
    #[error("{}", registry_text(.code, .message))]
    Unauthorized {
        /// The registry's error code, e.g. `UNAUTHORIZED` or `DENIED`.
        code: String,
        /// The registry's message.
        message: String,
    },
    /// A 404: `what` names the thing (`manifest for 127.0.0.1:5000/bb:nope`); `code` and
    /// `message` are the registry's (`MANIFEST_UNKNOWN`, `manifest unknown`), empty when the
    /// response had no error body (HEAD).
    #[error("{what} not found{}", not_found_suffix(.code, .message))]
    NotFound {
        /// What was looked up.
        what: String,
        /// The registry's error code, possibly empty.
        code: String,
        /// The registry's message, possibly empty.
        message: String,
    },
    /// Content did not hash to the digest it was asked for or announced with.
    #[error("digest mismatch (want {expected}, got {got})")]
    DigestMismatch {
        /// The digest that was asked for or announced.
        expected: Digest,
        /// The digest of the bytes actually seen.
        got: Digest,
    },
    /// Content was longer or shorter than the size its descriptor gives (OCI: such content
    /// must not be trusted). Nothing past `expected` bytes is read.
    #[error(
        "size mismatch for {digest}: its descriptor says {expected} bytes, the registry sent {}",
        sent_text(*.got, *.more)
    )]
    SizeMismatch {
        /// The content's digest.
        digest: Digest,
        /// The size its descriptor gives.
        expected: u64,
        /// The size the registry announced (`Content-Length`, `Content-Range`) or sent.
        got: u64,
        /// The registry sent more than `expected` bytes without announcing how many: `got`
        /// is then what was seen, a lower bound.
        more: bool,
    },
    /// Any other unexpected HTTP status; `message` is the registry's error text or
    /// `received unexpected HTTP status: 500 Internal Server Error`.
    #[error("{message}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// What the registry said.
        message: String,
    },
    /// The connection failed: refused, reset, timed out, TLS, DNS.
    #[error("{url}: {message}")]
    Transport {
        /// The URL being requested.
        url: String,
        /// What failed.
        message: String,
    },
    /// The registry answered something that breaks the protocol (missing `Location`,
    /// bad JSON, a `Range` ignored while resuming).
    #[error("invalid registry response: {0}")]
    InvalidResponse(String),
    /// The caller passed something unusable (a reference that is neither tag nor digest).
    #[error("{0}")]
    InvalidArgument(String),
    /// Reading the caller's upload body or writing the caller's sink failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The class of an [`Error`], for mapping to API statuses in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Manifest, blob or repository does not exist.
    NotFound,
    /// Credentials missing, wrong, or not allowed.
    Unauthorized,
    /// The request itself was wrong (bad reference, 400 from the registry).
    InvalidArgument,
    /// The registry could not be reached or is overloaded (connection errors, 429, 5xx).
    Unavailable,
    /// Everything else, including corrupt content.
    Internal,
}

impl Error {
    /// The class of this error. [`Error::DigestMismatch`] and [`Error::SizeMismatch`] are
    /// `Internal`: the registry (or the upload body) produced bytes other than the ones named.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Unauthorized { .. } => ErrorKind::Unauthorized,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::DigestMismatch { .. } | Error::SizeMismatch { .. } => ErrorKind::Internal,
            Error::Http { status, .. } => match status {
                400 | 413 | 416 => ErrorKind::InvalidArgument,
                429 | 500..=599 => ErrorKind::Unavailable,
                _ => ErrorKind::Internal,
            },
            Error::Transport { .. } => ErrorKind::Unavailable,
            Error::InvalidResponse(_) => ErrorKind::Internal,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::Io { .. } => ErrorKind::Internal,
        }
    }

    /// True for errors worth retrying: connection failures, 429 and 5xx.
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::Http { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One entry of the registry's `{"errors":[…]}` body.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct RegistryError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<RegistryError>,
}

/// Parses `{"errors":[…]}`; empty when the body is something else.
pub(crate) fn parse_errors(body: &[u8]) -> Vec<RegistryError> {
    serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.errors)
        .unwrap_or_default()
}

/// Docker's errcode text: `MANIFEST_UNKNOWN` + `manifest unknown` → `manifest unknown: manifest unknown`.
pub(crate) fn registry_text(code: &str, message: &str) -> String {
    let code = code.to_lowercase().replace('_', " ");
    match (code.is_empty(), message.is_empty()) {
        (true, true) => String::new(),
        (false, true) => code,
        (true, false) => message.to_string(),
        (false, false) => format!("{code}: {message}"),
    }
}

/// [`Error::SizeMismatch`] for `digest`.
pub(crate) fn size_mismatch(digest: &Digest, expected: u64, got: u64, more: bool) -> Error {
    Error::SizeMismatch {
        digest: digest.clone(),
        expected,
        got,
        more,
    }
}

fn sent_text(got: u64, more: bool) -> String {
    if more {
        format!("more (at least {got})")
    } else {
        got.to_string()
    }
}

fn not_found_suffix(code: &str, message: &str) -> String {
    let t = registry_text(code, message);
    if t.is_empty() {
        t
    } else {
        format!(": {t}")
    }
}

/// Joins several registry errors the way the engine shows them: `a: b; c: d`.
pub(crate) fn errors_text(errors: &[RegistryError]) -> String {
    errors
        .iter()
        .map(|e| registry_text(&e.code, &e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_match_docker() {
        let e = Error::NotFound {
            what: "manifest for 127.0.0.1:5000/bb:nope".into(),
            code: "MANIFEST_UNKNOWN".into(),
            message: "manifest unknown".into(),
        };
        assert_eq!(
            e.to_string(),
            "manifest for 127.0.0.1:5000/bb:nope not found: manifest unknown: manifest unknown"
        );
        let e = Error::NotFound {
            what: "blob x".into(),
            code: String::new(),
            message: String::new(),
        };
        assert_eq!(e.to_string(), "blob x not found");
        let e = Error::Unauthorized {
            code: "UNAUTHORIZED".into(),
            message: "authentication required".into(),
        };
        assert_eq!(e.to_string(), "unauthorized: authentication required");
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
    }

    #[test]
    fn parses_error_bodies() {
        let errs = parse_errors(
            br#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:x"}]}"#,
        );
        assert_eq!(errors_text(&errs), "blob unknown: blob unknown to registry");
        assert!(parse_errors(b"<html>").is_empty());
    }

    #[test]
    fn kinds() {
        let http = |status| Error::Http {
            status,
            message: String::new(),
        };
        assert_eq!(http(503).kind(), ErrorKind::Unavailable);
        assert_eq!(http(429).kind(), ErrorKind::Unavailable);
        assert_eq!(http(400).kind(), ErrorKind::InvalidArgument);
        assert_eq!(http(405).kind(), ErrorKind::Internal);
        assert!(http(503).is_retryable());
        assert!(!http(404).is_retryable());
    }
}
