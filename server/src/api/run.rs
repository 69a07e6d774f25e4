//! `/api/containers/{id}/…` for a container's process: `start`, `stop`, `kill`, `pause`,
//! `unpause`, `restart`, its `logs` (one JSON line per log line, followed live), `top`, and
//! the writable layer's `mark` the page watches while a process writes. Each is the engine's
//! `run` method of the same name, shaped for the dashboard.

use super::dto::*;
use super::Reply;
use crate::params::FirstQuery;
use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tokio::sync::mpsc;

/// `?t=` (seconds before `SIGKILL`) and `?signal=`.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ActionQuery {
    /// Seconds `stop`/`restart` wait before killing (default: the container's, else 10).
    #[serde(default)]
    t: Option<i64>,
    /// The signal `kill` sends (default `KILL`).
    #[serde(default)]
    signal: Option<String>,
}

macro_rules! action {
    ($name:ident, $path:literal, $doc:literal, |$e:ident, $id:ident, $q:ident| $body:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "containers",
            params(("id" = String, Path, description = "container ID, ID prefix or name"), ActionQuery),
            responses((status = 204), (status = 404, body = ErrorDto), (status = 409, body = ErrorDto)))]
        pub(crate) async fn $name(
            State(st): State<AppState>,
            Path($id): Path<String>,
            FirstQuery($q): FirstQuery<ActionQuery>,
        ) -> Result<StatusCode, ApiError> {
            st.run(move |$e| $body).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    };
}

action!(start, "/api/containers/{id}/start",
    "Starts the container's process, detached (a container with a terminal is better started by opening its terminal, so no output is lost).",
    |e, id, _q| {
        let _ = &_q;
        match e.start_container(&id, false)? {
            Some(mut s) => e.await_start(&id, &mut s).map(drop),
            None => Ok(()),
        }
    });
action!(
    stop,
    "/api/containers/{id}/stop",
    "Stops the process: its stop signal, then `SIGKILL` after `t` seconds.",
    |e, id, q| e.stop_container(&id, q.t)
);
action!(
    kill,
    "/api/containers/{id}/kill",
    "Sends a signal to the process (default `KILL`).",
    |e, id, q| e.kill_container(
        &id,
        q.signal
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("KILL")
    )
);
action!(
    pause,
    "/api/containers/{id}/pause",
    "Freezes every process of the container.",
    |e, id, _q| {
        let _ = &_q;
        e.pause_container(&id)
    }
);
action!(
    unpause,
    "/api/containers/{id}/unpause",
    "Thaws a paused container.",
    |e, id, _q| {
        let _ = &_q;
        e.unpause_container(&id)
    }
);
action!(
    restart,
    "/api/containers/{id}/restart",
    "Stops (after `t` seconds at most) and starts again.",
    |e, id, q| e.restart_container(&id, q.t)
);

/// `?follow=&tail=`.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LogsQuery {
    /// Keep the answer open and send new lines until the process ends.
    #[serde(default)]
    follow: Option<String>,
    /// Only the last N lines (default: all).
    #[serde(default)]
    tail: Option<usize>,
}

/// The container's log: one `LogLineDto` JSON object per line (`application/x-ndjson`),
/// then, with `follow`, new lines as they are written until the process ends.
#[utoipa::path(get, path = "/api/containers/{id}/logs", tag = "containers",
    params(("id" = String, Path, description = "container ID, ID prefix or name"), LogsQuery),
    responses((status = 200, description = "one LogLineDto per line", content_type = "application/x-ndjson", body = LogLineDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn logs(
    State(st): State<AppState>,
    Path(id): Path<String>,
    FirstQuery(q): FirstQuery<LogsQuery>,
) -> Result<Response, ApiError> {
    let follow = crate::params::truthy(q.follow.as_deref());
    let cid = st.run(move |e| Ok(e.container(&id)?.id)).await?;
    let (tx, rx) = mpsc::channel(64);
    let engine = st.engine()?;
    let stopping = st.stopping();
    tokio::task::spawn_blocking(move || {
        let range = engine::LogRange {
            tail: q.tail,
            follow,
            ..Default::default()
        };
        let _ = engine.container_logs(
            &cid,
            range,
            || tx.is_closed() || *stopping.borrow(),
            |l| {
                let mut line = serde_json::to_vec(&LogLineDto {
                    stream: l.stream,
                    log: l.log,
                    time: l.time,
                })
                .unwrap_or_default();
                line.push(b'\n');
                tx.blocking_send(Ok::<_, std::io::Error>(Bytes::from(line)))
                    .is_ok()
            },
        );
    });
    let body = axum::body::Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async {
        rx.recv().await.map(|x| (x, rx))
    }));
    Ok(([(CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

/// The processes running in the container (`ps -ef` inside its PID namespace).
#[utoipa::path(get, path = "/api/containers/{id}/top", tag = "containers",
    params(("id" = String, Path, description = "container ID, ID prefix or name")),
    responses((status = 200, body = TopDto), (status = 404, body = ErrorDto), (status = 409, body = ErrorDto)))]
pub(crate) async fn top(State(st): State<AppState>, Path(id): Path<String>) -> Reply<TopDto> {
    let (titles, processes) = st.run(move |e| e.top(&id, &[])).await?;
    Ok(Json(TopDto { titles, processes }))
}

/// A number that changes whenever the writable layer does, and the process's state: the
/// page asks it every second while the container runs and reloads the tree on a change.
#[utoipa::path(get, path = "/api/containers/{id}/mark", tag = "containers",
    params(("id" = String, Path, description = "container ID, ID prefix or name")),
    responses((status = 200, body = LayerMarkDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn mark(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Reply<LayerMarkDto> {
    let out = st
        .run(move |e| {
            let c = e.container(&id)?;
            let state = e.process_state(&c)?.status;
            Ok(LayerMarkDto {
                mark: e.writable_layer_mark(&c.id)?,
                state,
            })
        })
        .await?;
    Ok(Json(out))
}
