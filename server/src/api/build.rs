//! `POST /api/build`: the dashboard's build over the engine's classic builder (the same
//! `Engine::build` as `POST /build` and `strata build`). The body is the context tar (plain or
//! gzip; the page writes its Dockerfile and files into it), streamed into the engine; the
//! answer is NDJSON, one `BuildLineDto` per line, flushed as the builder speaks. An error found
//! before the first step (a bad Dockerfile, a bad tag, a missing base image) is an ordinary
//! HTTP error; a later one is the stream's last line.

use super::dto::{BuildLineDto, ErrorDto};
use crate::bridge::{stream_blocking, BodyReader, ChanWriter};
use crate::params::FirstQuery;
use crate::{ApiError, AppState};
use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use engine::{BuildContext, BuildMessage, BuildOptions, EngineError};
use serde::Deserialize;
use std::io::Write;

/// `?t=&nocache=&dockerfile=`.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BuildQuery {
    /// The tag the built image gets (`REPO[:TAG]`), if any.
    #[serde(default)]
    t: Option<String>,
    /// Build every step again (`--no-cache`).
    #[serde(default)]
    nocache: Option<String>,
    /// The Dockerfile's path inside the context (default `Dockerfile`).
    #[serde(default)]
    dockerfile: Option<String>,
}

fn line(w: &mut ChanWriter, l: &BuildLineDto) {
    let mut bytes = serde_json::to_vec(l).unwrap_or_default();
    bytes.push(b'\n');
    let _ = w.write_all(&bytes);
    let _ = w.flush();
}

/// Builds an image from the context tar in the body, as `docker build` does with the classic
/// builder; the output streams as it comes, then the image's ID (or the error).
#[utoipa::path(post, path = "/api/build", tag = "images", params(BuildQuery),
    request_body(content = Vec<u8>, description = "the build context: a tar (plain or gzip) holding the Dockerfile", content_type = "application/x-tar"),
    responses((status = 200, description = "one BuildLineDto per line", content_type = "application/x-ndjson", body = BuildLineDto),
        (status = 400, body = ErrorDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn build(
    State(st): State<AppState>,
    FirstQuery(q): FirstQuery<BuildQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    let opts = BuildOptions {
        dockerfile: q.dockerfile.unwrap_or_default(),
        tags: q.t.into_iter().filter(|t| !t.is_empty()).collect(),
        no_cache: crate::params::truthy(q.nocache.as_deref()),
        // a missing base image is pulled with the server's registries and saved logins, as
        // `docker build` does
        registry: crate::docker::registry::env_for(&axum::http::HeaderMap::new(), "docker.io").ok(),
        ..BuildOptions::default()
    };
    // The context is read whole before the build says anything: the body is pumped on this
    // task while the answer's first line is awaited, as `POST /build` does.
    let (reader, pump) = BodyReader::pumped(body);
    let answer = stream_blocking(&st, move |e, w| {
        let ctx = BuildContext::from_stream(e, reader)?;
        let mut out = |m: BuildMessage| match m {
            BuildMessage::Stream(text) => line(
                w,
                &BuildLineDto {
                    text: Some(text),
                    ..Default::default()
                },
            ),
            BuildMessage::Aux(id) => line(
                w,
                &BuildLineDto {
                    image: Some(id.to_string()),
                    ..Default::default()
                },
            ),
        };
        let result = e.build(&ctx, &opts, &mut out);
        drop(ctx);
        match result {
            Ok(_) => Ok(()),
            Err(err) if !w.written() && !matches!(err, EngineError::StepFailed { .. }) => Err(err),
            Err(err) => {
                let code = match &err {
                    EngineError::StepFailed { code, .. } => Some(i64::from(*code)),
                    _ => None,
                };
                line(
                    w,
                    &BuildLineDto {
                        error: Some(err.to_string()),
                        code,
                        ..Default::default()
                    },
                );
                Ok(())
            }
        }
    });
    let ((), body) = tokio::join!(pump, answer);
    Ok(([(CONTENT_TYPE, "application/x-ndjson")], body?).into_response())
}
