//! One file's bytes as a layer of an image or container shows it
//! (`GET /api/images/{name}/files` and `GET /api/containers/{id}/files`).

use crate::bridge::stream_blocking;
use crate::{ApiError, AppState};
use axum::http::header::{HeaderName, CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use engine::EngineError;
use serde::Deserialize;

/// `?path=&layer=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FileQuery {
    /// An absolute path (`/etc/passwd`).
    #[serde(default)]
    pub path: String,
    /// The layer (0 = bottom; a container's writable layer is the top one) whose view to read:
    /// the file as layers `0..=layer` show it. Default: the merged view.
    pub layer: Option<u64>,
}

impl FileQuery {
    /// From a raw query string (for handlers that dispatch on the path themselves).
    pub(crate) fn parse(query: &str) -> Result<FileQuery, ApiError> {
        let pairs = crate::params::url_pairs(query);
        let path = crate::params::first(&pairs, "path")
            .unwrap_or("")
            .to_string();
        let layer = match crate::params::first(&pairs, "layer") {
            None | Some("") => None,
            Some(v) => Some(v.parse().map_err(|_| {
                ApiError::from(EngineError::Invalid(format!(
                    "layer {v:?}: not a layer number"
                )))
            })?),
        };
        Ok(FileQuery { path, layer })
    }
}

/// The layer asked for, as an index.
pub(crate) fn layer_of(q: &FileQuery) -> Result<Option<usize>, ApiError> {
    q.layer
        .map(|n| {
            usize::try_from(n).map_err(|_| {
                ApiError::from(EngineError::Invalid(format!("layer {n} out of range")))
            })
        })
        .transpose()
}

/// Streams the file: `application/octet-stream` with its length, the layer viewed
/// (`X-Strata-Layer`) and the layer whose directory holds the bytes (`X-Strata-Source-Layer`).
pub(crate) async fn send(
    st: &AppState,
    target: String,
    path: String,
    layer: Option<usize>,
) -> Result<Response, ApiError> {
    let (info, file) = st
        .run(move |e| e.open_layer_file(&target, &path, layer))
        .await?;
    let body = stream_blocking(st, move |_, w| {
        let mut file = file;
        std::io::copy(&mut file, w)
            .map(|_| ())
            .map_err(|source| EngineError::Io {
                context: "send file".into(),
                source,
            })
    })
    .await?;
    Ok((
        [
            (CONTENT_TYPE, "application/octet-stream".to_string()),
            (CONTENT_LENGTH, info.size.to_string()),
            (
                HeaderName::from_static("x-strata-layer"),
                info.layer.to_string(),
            ),
            (
                HeaderName::from_static("x-strata-source-layer"),
                info.source_layer.to_string(),
            ),
        ],
        body,
    )
        .into_response())
}
