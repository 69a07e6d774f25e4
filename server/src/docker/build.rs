//! `POST /build`: the classic builder over HTTP, as the docker CLI's legacy path calls it
//! (`DOCKER_BUILDKIT=0 docker build`, or no buildx plugin installed). The body is the context
//! tar (plain or gzip), streamed into the engine; the answer is moby's JSON message stream
//! (`stream`, `aux` with the image ID, `errorDetail` with the failing command's exit code).

use crate::bridge::{stream_blocking, BodyReader, ChanWriter};
use crate::params::{all, first, truthy};
use crate::{ApiError, AppState};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use engine::{BuildContext, BuildMessage, BuildOptions, EngineError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;

fn write_line(w: &mut ChanWriter, v: &Value) {
    let _ = w.write_all(format!("{v}\r\n").as_bytes());
    let _ = w.flush();
}

/// A JSON query parameter (`buildargs`, `labels`); absent or empty is the default.
fn json_param<T: serde::de::DeserializeOwned + Default>(
    q: &[(String, String)],
    key: &str,
) -> Result<T, ApiError> {
    match first(q, key).filter(|v| !v.is_empty()) {
        None => Ok(T::default()),
        Some(v) => serde_json::from_str(v)
            .map_err(|e| ApiError::bad_request(format!("invalid {key} parameter: {e}"))),
    }
}

/// `POST /build`.
pub(crate) async fn build(
    State(st): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if let Some(r) = first(&q, "remote").filter(|r| !r.is_empty()) {
        return Err(ApiError::bad_request(format!(
            "remote build contexts are not supported ({r}): send the context as the request body"
        )));
    }
    let build_args: BTreeMap<String, Option<String>> = json_param(&q, "buildargs")?;
    let labels: BTreeMap<String, String> = json_param(&q, "labels")?;
    let quiet = truthy(first(&q, "q"));
    let opts = BuildOptions {
        dockerfile: first(&q, "dockerfile").unwrap_or("").to_string(),
        dockerfile_text: None,
        tags: all(&q, "t").into_iter().filter(|t| !t.is_empty()).collect(),
        no_cache: truthy(first(&q, "nocache")),
        pull: truthy(first(&q, "pull")),
        // absent means true, as moby's `BoolValueOrDefault`
        remove: first(&q, "rm").is_none_or(|v| truthy(Some(v))) || truthy(first(&q, "forcerm")),
        build_args,
        labels,
        target: first(&q, "target")
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        network: first(&q, "networkmode").map(str::to_string),
        registry: super::registry::env_for(&headers, "docker.io").ok(),
    };
    // The context is read whole before the build says anything, so the body is pumped on
    // this task (see `BodyReader::pumped`) while the answer's first line is awaited.
    let (reader, pump) = BodyReader::pumped(body);
    let answer = stream_blocking(&st, move |e, w| {
        let ctx = BuildContext::from_stream(e, reader)?;
        let mut quiet_text = String::new();
        let mut out = |m: BuildMessage| match m {
            BuildMessage::Stream(s) if quiet => quiet_text.push_str(&s),
            BuildMessage::Stream(s) => write_line(w, &json!({ "stream": s })),
            BuildMessage::Aux(id) => {
                if !quiet {
                    write_line(w, &json!({ "aux": { "ID": id.to_string() } }))
                }
            }
        };
        let result = e.build(&ctx, &opts, &mut out);
        drop(ctx);
        match result {
            Ok(id) => {
                if quiet {
                    write_line(w, &json!({ "stream": format!("{id}\n") }));
                }
                Ok(())
            }
            Err(err) if !w.written() && !matches!(err, EngineError::StepFailed { .. }) => Err(err),
            Err(err) => {
                let detail = match &err {
                    EngineError::StepFailed { code, message } => {
                        json!({ "code": code, "message": message })
                    }
                    other => json!({ "message": other.to_string() }),
                };
                write_line(
                    w,
                    &json!({ "errorDetail": detail, "error": err.to_string() }),
                );
                Ok(())
            }
        }
    });
    let ((), body) = tokio::join!(pump, answer);
    Ok(([(CONTENT_TYPE, "application/json")], body?).into_response())
}
