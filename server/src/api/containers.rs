//! `/api/containers…`: the dashboard's container endpoints, including single-file access to
//! a container's root (`files`, `mkdir`) through the engine's archive operations.

use super::dto::*;
use super::Reply;
use crate::bridge::BodyReader;
use crate::params::FirstQuery;

use crate::{ApiError, AppState};
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use engine::{ContainerInfo, EngineError};
use serde::Deserialize;

pub(super) fn dto(
    e: &engine::Engine,
    view: &image_store::StoreView,
    c: &ContainerInfo,
) -> Result<ContainerDto, EngineError> {
    let sizes = e.container_sizes(c)?;
    let p = e.process_state(c)?;
    let rc = e.run_config(c)?;
    let changes = e.container_diff(&c.id)?.len() as u64;
    let mut command = c.config.entrypoint.clone().unwrap_or_default();
    command.extend(c.config.cmd.clone().unwrap_or_default());
    if !rc.args().is_empty() {
        command = rc.args();
    }
    let unix = |t: &str| {
        if t == engine::ZERO_TIME {
            return 0;
        }
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .unwrap_or(0)
    };
    Ok(ContainerDto {
        id: c.id.clone(),
        name: c.name.clone(),
        image: c.image.to_string(),
        image_name: c.shown_image(view),
        created: c.created.clone(),
        command,
        labels: c.config.labels.clone().unwrap_or_default(),
        size_rw: sizes.rw,
        size_root_fs: sizes.root_fs,
        state: p.status.clone(),
        exit_code: p.exit_code,
        started: unix(&p.started_at),
        finished: unix(&p.finished_at),
        tty: rc.tty,
        open_stdin: rc.open_stdin,
        auto_remove: rc.auto_remove,
        changes,
        ports: e
            .container_network(c)
            .map(|n| {
                n.ports
                    .iter()
                    .map(|p| {
                        docker_format::PortEntry {
                            ip: Some(p.host_ip.clone()),
                            public: Some(p.host_port),
                            private: p.container_port,
                            proto: p.proto.clone(),
                        }
                        .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Every container, newest first.
#[utoipa::path(get, path = "/api/containers", tag = "containers",
    responses((status = 200, body = Vec<ContainerDto>)))]
pub(crate) async fn list(State(st): State<AppState>) -> Reply<Vec<ContainerDto>> {
    let out = st
        .run(|e| {
            let view = e.view()?;
            e.containers()?.iter().map(|c| dto(e, &view, c)).collect()
        })
        .await?;
    Ok(Json(out))
}

/// Creates a container from an image.
#[utoipa::path(post, path = "/api/containers", tag = "containers",
    request_body = CreateContainerRequest,
    responses((status = 201, body = ContainerDto), (status = 404, body = ErrorDto), (status = 409, body = ErrorDto)))]
pub(crate) async fn create(
    State(st): State<AppState>,
    body: Result<Json<CreateContainerRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ContainerDto>), ApiError> {
    let Json(req) = body.map_err(crate::params::json_error)?;
    let out = st
        .run(move |e| {
            let publish = req
                .ports
                .iter()
                .map(|p| p.trim())
                .filter(|p| !p.is_empty())
                .map(engine::parse_publish)
                .collect::<Result<Vec<_>, _>>()?;
            let opts = engine::CreateOptions {
                name: req.name.clone().filter(|n| !n.trim().is_empty()),
                cmd: req.cmd.clone(),
                env: req.env.clone(),
                tty: req.tty,
                interactive: req.interactive,
                auto_remove: req.auto_remove,
                publish,
                // Made to be edited without a process (the writable layer's editor) unless
                // it is to start now.
                without_command: !req.start,
                ..Default::default()
            };
            let c = e.create_container_with(&req.image, &opts)?;
            let created = dto(e, &*e.view()?, &c)?;
            if !req.start {
                return Ok(created);
            }
            if let Some(mut s) = e.start_container(&c.id, false)? {
                e.await_start(&c.id, &mut s)?;
            }
            match e.container(&c.id) {
                Ok(c) => dto(e, &*e.view()?, &c),
                // a `--rm` container whose process already ended is gone
                Err(_) => Ok(ContainerDto {
                    state: "exited".into(),
                    ..created
                }),
            }
        })
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// One container.
#[utoipa::path(get, path = "/api/containers/{id}", tag = "containers",
    params(("id" = String, Path, description = "container ID, ID prefix or name")),
    responses((status = 200, body = ContainerDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn get(State(st): State<AppState>, Path(id): Path<String>) -> Reply<ContainerDto> {
    let out = st
        .run(move |e| dto(e, &*e.view()?, &e.container(&id)?))
        .await?;
    Ok(Json(out))
}

/// Removes a container and its writable layer.
#[utoipa::path(delete, path = "/api/containers/{id}", tag = "containers",
    params(("id" = String, Path, description = "container ID, ID prefix or name")),
    responses((status = 204), (status = 404, body = ErrorDto)))]
pub(crate) async fn remove(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.run(move |e| e.remove_container(&id, true)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the writable layer adds, changes and deletes.
#[utoipa::path(get, path = "/api/containers/{id}/diff", tag = "containers",
    params(("id" = String, Path, description = "container ID, ID prefix or name")),
    responses((status = 200, body = Vec<ChangeDto>), (status = 404, body = ErrorDto)))]
pub(crate) async fn diff(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Reply<Vec<ChangeDto>> {
    let list = st.run(move |e| e.container_diff(&id)).await?;
    Ok(Json(
        list.iter()
            .map(|c| ChangeDto {
                path: c.path.clone(),
                kind: c.kind.to_string(),
            })
            .collect(),
    ))
}

/// The container's union view (image layers plus the writable layer, labelled `writable`).
#[utoipa::path(get, path = "/api/containers/{id}/tree", tag = "containers",
    params(("id" = String, Path, description = "container ID, ID prefix or name")),
    responses((status = 200, body = TreeDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn tree(State(st): State<AppState>, Path(id): Path<String>) -> Reply<TreeDto> {
    let out = st
        .run(move |e| {
            let c = e.container(&id)?;
            let (union, labels) = e.union_of(&c.id)?;
            Ok(union_dto::tree_dto(&union, &labels))
        })
        .await?;
    Ok(Json(out))
}

/// `?path=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PathQuery {
    /// An absolute path in the container (`/etc/passwd`).
    #[serde(default)]
    path: String,
}

/// `?path=&mode=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PutQuery {
    /// An absolute path in the container (`/etc/motd`).
    #[serde(default)]
    path: String,
    /// Octal permission bits (`0755`); default: the replaced file's, else `0644`.
    mode: Option<String>,
}

fn require_file(s: &engine::PathStat, path: &str) -> Result<(), EngineError> {
    match s.kind {
        "file" | "hardlink" => Ok(()),
        "dir" => Err(EngineError::Invalid(format!("{path}: is a directory"))),
        "symlink" => Err(EngineError::Invalid(format!(
            "{path}: is a symbolic link to {}",
            s.link_target
        ))),
        other => Err(EngineError::Invalid(format!(
            "{path}: not a regular file ({other})"
        ))),
    }
}

/// The bytes of one regular file of the container's merged view, or as its layers
/// `0..=layer` show it (the writable layer is the top one); `X-Strata-Layer` names the layer
/// viewed, `X-Strata-Source-Layer` the one holding the bytes.
#[utoipa::path(get, path = "/api/containers/{id}/files", tag = "containers",
    params(("id" = String, Path, description = "container ID, ID prefix or name"), super::files::FileQuery),
    responses((status = 200, description = "the file's bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, body = ErrorDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn read_file(
    State(st): State<AppState>,
    Path(id): Path<String>,
    FirstQuery(q): FirstQuery<super::files::FileQuery>,
) -> Result<Response, ApiError> {
    let layer = super::files::layer_of(&q)?;
    let path = q.path;
    let p2 = path.clone();
    let c = st
        .run(move |e| {
            let c = e.container(&id)?;
            if layer.is_none() {
                // the merged view: Docker's texts for what is missing or not a file
                let s = e.container_path_stat(&c.id, &p2)?.ok_or_else(|| {
                    EngineError::NotFound(format!(
                        "Could not find the file {p2} in container {}",
                        c.name
                    ))
                })?;
                require_file(&s, &p2)?;
            }
            Ok(c)
        })
        .await?;
    super::files::send(&st, c.id, path, layer).await
}

/// Writes one file (the request body) into the container, creating or replacing it; its
/// parent directory must exist.
#[utoipa::path(put, path = "/api/containers/{id}/files", tag = "containers",
    params(("id" = String, Path, description = "container ID, ID prefix or name"), PutQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file's bytes"),
    responses((status = 204), (status = 400, body = ErrorDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn write_file(
    State(st): State<AppState>,
    Path(id): Path<String>,
    FirstQuery(q): FirstQuery<PutQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let mode = match q.mode.as_deref().filter(|m| !m.is_empty()) {
        Some(m) => Some(
            u32::from_str_radix(m, 8).map_err(|_| {
                ApiError::bad_request(format!("invalid mode {m}: want octal permission bits"))
            })? & 0o7777,
        ),
        None => None,
    };
    let len: Option<u64> = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let reader = BodyReader::new(body);
    let path = q.path;
    st.run(move |e| e.write_file(&id, &path, mode, len, reader))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a path (a whiteout when a lower layer provides it).
#[utoipa::path(delete, path = "/api/containers/{id}/files", tag = "containers",
    params(("id" = String, Path, description = "container ID, ID prefix or name"), PathQuery),
    responses((status = 204), (status = 404, body = ErrorDto)))]
pub(crate) async fn remove_file(
    State(st): State<AppState>,
    Path(id): Path<String>,
    FirstQuery(q): FirstQuery<PathQuery>,
) -> Result<StatusCode, ApiError> {
    st.run(move |e| e.container_remove_path(&id, &q.path))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates a directory and its missing parents.
#[utoipa::path(post, path = "/api/containers/{id}/mkdir", tag = "containers",
    params(("id" = String, Path, description = "container ID, ID prefix or name"), PathQuery),
    responses((status = 204), (status = 404, body = ErrorDto), (status = 409, body = ErrorDto)))]
pub(crate) async fn mkdir(
    State(st): State<AppState>,
    Path(id): Path<String>,
    FirstQuery(q): FirstQuery<PathQuery>,
) -> Result<StatusCode, ApiError> {
    st.run(move |e| e.container_mkdir(&id, &q.path)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Freezes the writable layer into a new image.
#[utoipa::path(post, path = "/api/containers/{id}/commit", tag = "containers",
    params(("id" = String, Path, description = "container ID, ID prefix or name")),
    request_body = CommitRequest,
    responses((status = 201, body = CommitResultDto), (status = 400, body = ErrorDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn commit(
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<CommitRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<CommitResultDto>), ApiError> {
    let Json(req) = body.map_err(crate::params::json_error)?;
    let opts = engine::CommitOptions {
        reference: req.reference.filter(|r| !r.is_empty()),
        message: req.message.filter(|m| !m.is_empty()),
        author: req.author.filter(|a| !a.is_empty()),
        changes: req.changes,
    };
    let id = st.run(move |e| e.commit(&id, &opts)).await?;
    Ok((
        StatusCode::CREATED,
        Json(CommitResultDto { id: id.to_string() }),
    ))
}
