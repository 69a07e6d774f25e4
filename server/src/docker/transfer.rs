//! Image archives over HTTP: `POST /images/create?fromSrc=-` (import), `GET /images/get` and
//! `GET /images/{name}/get` (save), `POST /images/load` (load).
//!
//! Request bodies stream into the engine on a blocking thread and archives stream out of it
//! (see `bridge`); nothing holds a whole archive in memory.

use crate::bridge::{error_line, json_line, json_stream, stream_blocking, BodyReader};
use crate::params::{all, first};
use crate::{ApiError, AppState};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// `POST /images/create`: import with `fromSrc=-` (body = a rootfs tar, plain, gzip or zstd).
/// A pull (`fromImage`) goes to `registry::pull`.
pub(crate) async fn create(
    State(st): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if first(&q, "fromImage").is_some() {
        return super::registry::pull(st, q, headers).await;
    }
    let Some(src) = first(&q, "fromSrc") else {
        return Err(ApiError::bad_request(
            "either fromSrc or fromImage must be given",
        ));
    };
    if src != "-" {
        return Err(ApiError::bad_request(format!(
            "import from {src}: only fromSrc=- (the request body) is supported"
        )));
    }
    let repo = first(&q, "repo").unwrap_or("");
    let tag = first(&q, "tag").unwrap_or("");
    let reference = match (repo.is_empty(), tag.is_empty()) {
        (true, _) => None,
        (false, true) => Some(repo.to_string()),
        (false, false) => Some(format!("{repo}:{tag}")),
    };
    let opts = engine::ImportOptions {
        reference,
        message: first(&q, "message")
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        changes: all(&q, "changes"),
        source: "-".into(),
    };
    let (reader, pump) = BodyReader::pumped(body);
    let ((), id) = tokio::join!(pump, st.run(move |e| e.import(reader, &opts)));
    let id = id?;
    Ok(json_stream(json_line(&json!({ "status": id.to_string() }))))
}

/// `GET /images/get?names=…` (repeated) and `GET /images/{name}/get`: a `docker save` tar.
pub(crate) async fn save(st: AppState, names: Vec<String>) -> Result<Response, ApiError> {
    if names.is_empty() {
        return Err(ApiError::bad_request("no images named"));
    }
    let body = stream_blocking(&st, move |e, w| e.save(&names, w)).await?;
    Ok(([(CONTENT_TYPE, "application/x-tar")], body).into_response())
}

/// `GET /images/get`.
pub(crate) async fn save_many(
    State(st): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    save(st, all(&q, "names")).await
}

/// `POST /images/load?quiet=`: a JSON message stream of `Loaded image: …` lines; a failure
/// is reported in the stream (`errorDetail`), as moby does.
pub(crate) async fn load(State(st): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let (reader, pump) = BodyReader::pumped(body);
    let ((), loaded) = tokio::join!(pump, st.run(move |e| e.load(reader)));
    let lines = match loaded {
        Ok(events) => events
            .iter()
            .map(|ev| json_line(&json!({ "stream": format!("{ev}\n") })))
            .collect(),
        Err(e) => error_line(&e.message),
    };
    Ok(json_stream(lines))
}
