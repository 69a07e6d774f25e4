//! A failed request as a typed value: what kind of failure (decided from the HTTP status, or
//! from there being no answer at all) and the line the page shows. Pages decide by
//! [`ErrorKind`], never by the message's text; the text is only ever shown.

use crate::wire::ErrorDto;
use std::fmt;

/// What went wrong, as far as a page needs to know to react.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// `404`: the thing asked about does not exist (any more).
    NotFound,
    /// `409`: the store refused because of its state (an image in use, a name taken).
    Conflict,
    /// `401`/`403`: no token, or a role that may not do this.
    Denied,
    /// `400`: the request itself was refused.
    InvalidArgument,
    /// The server did not answer (not running, network down).
    NoAnswer,
    /// Anything else: another status, an answer that could not be read, a stream that broke off.
    Other,
}

impl ErrorKind {
    /// The kind of an HTTP status that is not a success.
    pub fn of_status(status: u16) -> ErrorKind {
        match status {
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            401 | 403 => ErrorKind::Denied,
            400 => ErrorKind::InvalidArgument,
            _ => ErrorKind::Other,
        }
    }
}

/// A failed request: its kind, the HTTP status when there was an answer, and the line shown
/// for it (`cannot read the container: No such container: abc`). `Display` is that line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// What went wrong.
    pub kind: ErrorKind,
    /// The line the page shows, naming the action (`what`) first.
    pub message: String,
}

impl ApiError {
    /// A non-2xx answer: the server's Docker-style `{"message":…}` when it sent one, else the
    /// HTTP status. `what` is the action (`cannot list images`).
    pub fn http(what: &str, status: u16, status_text: &str, body: &str) -> ApiError {
        let message = match serde_json::from_str::<ErrorDto>(body) {
            Ok(m) if !m.message.trim().is_empty() => format!("{what}: {}", m.message.trim()),
            _ => format!("{what}: server answered {status} {status_text}")
                .trim_end()
                .to_string(),
        };
        ApiError {
            status: Some(status),
            kind: ErrorKind::of_status(status),
            message,
        }
    }

    /// The server did not answer at all (`cause` is the browser's reason).
    pub fn no_answer(what: &str, cause: impl fmt::Display) -> ApiError {
        ApiError {
            status: None,
            kind: ErrorKind::NoAnswer,
            message: format!(
                "{what}: no answer from the server ({cause}); is `strata serve` running?"
            ),
        }
    }

    /// Any other failure, with the line to show: an answer that could not be read or
    /// decoded, a stream that broke off, a request that could not be built.
    pub fn other(status: Option<u16>, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind: ErrorKind::Other,
            message: message.into(),
        }
    }

    /// Whether the thing asked about does not exist (`404`).
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// The line, for code that only shows it (a toast, an error box).
impl From<ApiError> for String {
    fn from(e: ApiError) -> String {
        e.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, status_text: &str, body: &str) -> ApiError {
        ApiError::http("cannot list images", status, status_text, body)
    }

    #[test]
    fn lines_are_the_servers_message_or_the_status() {
        assert_eq!(
            http(404, "Not Found", r#"{"message":"page not found"}"#).to_string(),
            "cannot list images: page not found"
        );
        assert_eq!(
            http(502, "Bad Gateway", "<html>").to_string(),
            "cannot list images: server answered 502 Bad Gateway"
        );
        assert_eq!(
            http(500, "", "").to_string(),
            "cannot list images: server answered 500"
        );
        assert_eq!(
            ApiError::no_answer("cannot list images", "TypeError: Failed to fetch").to_string(),
            "cannot list images: no answer from the server (TypeError: Failed to fetch); \
             is `strata serve` running?"
        );
    }

    #[test]
    fn the_kind_comes_from_the_status_not_the_text() {
        // a 404 whose message says nothing of "No such …" is still not found
        let e = http(404, "Not Found", r#"{"message":"gone"}"#);
        assert_eq!((e.kind, e.status), (ErrorKind::NotFound, Some(404)));
        assert!(e.is_not_found());
        // and a message that reads like one but comes with another status is not
        let e = http(500, "", r#"{"message":"No such container: abc"}"#);
        assert_eq!(e.kind, ErrorKind::Other);
        assert!(!e.is_not_found());
        assert_eq!(http(409, "", "").kind, ErrorKind::Conflict);
        assert_eq!(http(401, "", "").kind, ErrorKind::Denied);
        assert_eq!(http(403, "", "").kind, ErrorKind::Denied);
        assert_eq!(http(400, "", "").kind, ErrorKind::InvalidArgument);
        let e = ApiError::no_answer("x", "y");
        assert_eq!((e.kind, e.status), (ErrorKind::NoAnswer, None));
        assert_eq!(ApiError::other(Some(200), "x: bad").kind, ErrorKind::Other);
    }

    #[test]
    fn a_shown_error_is_its_line() {
        let e = http(
            409,
            "Conflict",
            r#"{"message":"conflict: unable to delete"}"#,
        );
        let s: String = e.into();
        assert_eq!(s, "cannot list images: conflict: unable to delete");
    }
}
