//! The one error type handlers return: Docker's `{"message": …}` body with a status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An HTTP error as the docker CLI reads it: `{"message":"<text>"}` with
/// `Content-Type: application/json` exactly (a charset suffix makes the CLI print the raw body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The text the CLI prints after `Error response from daemon: `.
    pub message: String,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 404: the CLI treats it as NotFound (e.g. `docker run` pulls and retries).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 400: InvalidArgument.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // axum's `Json` sets `Content-Type: application/json` with no charset.
        (
            self.status,
            Json(serde_json::json!({ "message": self.message })),
        )
            .into_response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<engine::EngineError> for ApiError {
    /// The one place engine error kinds become HTTP statuses (moby's `httpstatus` mapping).
    fn from(e: engine::EngineError) -> Self {
        use engine::ErrorKind as K;
        let status = match e.kind() {
            K::NotFound => StatusCode::NOT_FOUND,
            K::InvalidArgument => StatusCode::BAD_REQUEST,
            K::Conflict | K::AlreadyExists | K::FailedPrecondition => StatusCode::CONFLICT,
            K::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            K::Unauthorized => StatusCode::UNAUTHORIZED,
            K::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}
