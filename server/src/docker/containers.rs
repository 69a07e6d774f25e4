//! Docker's container endpoints about containers themselves: create, list, inspect, remove,
//! changes, export, the archive (`docker cp`) endpoints and `POST /commit` (their processes
//! are `run` and `exec`).
//!
//! A container here is an image plus a writable layer (see the engine) and what runs in it
//! (`run.json`). Wire shapes are moby's (`ContainerSummary`, `InspectResponse`,
//! `FilesystemChange`, `PathStat`), built by hand from the engine's `ContainerInfo`.

use crate::bridge::{stream_blocking, BodyReader};
use crate::params::json_error;
use crate::params::{all, first, truthy};
use crate::{ApiError, AppState};
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use engine::{ContainerInfo, ContainerSizes, EngineError, PathStat};
use serde::Deserialize;
use serde_json::{json, Value};

pub(crate) fn routes() -> Router<AppState> {
    use axum::extract::DefaultBodyLimit;
    Router::new()
        .route("/containers/create", post(create))
        .route("/containers/json", get(list))
        .route("/containers/{id}/json", get(inspect))
        .route("/containers/{id}", axum::routing::delete(remove))
        .route("/containers/{id}/changes", get(changes))
        .route("/containers/{id}/export", get(export))
        .route(
            "/containers/{id}/archive",
            get(get_archive)
                .head(head_archive)
                .put(put_archive)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/commit", post(commit))
        .route("/containers/{id}/{action}", axum::routing::any(cannot_run))
        .route("/exec/{id}/{action}", axum::routing::any(cannot_run))
}

/// Container endpoints not served yet (`stats`, `update`, …): 501 with a sentence instead
/// of "page not found".
async fn cannot_run(Path((_, action)): Path<(String, String)>) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!("{action}: not implemented for containers on this server yet"),
    )
}

/// The path-stat header of the archive endpoints.
pub(crate) const PATH_STAT: &str = "x-docker-container-path-stat";

/// moby's `X-Docker-Container-Path-Stat` header: base64 of
/// `{"name","size","mode","mtime","linkTarget"}`, `mode` in Go's `os.FileMode` bits.
fn path_stat_header(s: &PathStat) -> HeaderValue {
    let v = json!({
        "name": s.name,
        "size": s.size,
        "mode": docker_api::go_mode(s.kind, s.mode),
        "mtime": rfc3339(s.mtime),
        "linkTarget": s.link_target,
    });
    let b64 = base64::engine::general_purpose::STANDARD.encode(v.to_string());
    HeaderValue::from_str(&b64).expect("base64 is a valid header value")
}

pub(crate) fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A user path as the engine normalises it (`/etc/../bin/` → `bin`; `""` is the root).
fn norm(path: &str) -> Result<String, EngineError> {
    layer_diff::normalize_path(path).map_err(|e| EngineError::Invalid(e.to_string()))
}

fn not_in_container(path: &str, c: &ContainerInfo) -> EngineError {
    let p = norm(path).unwrap_or_else(|_| path.trim_start_matches('/').to_string());
    EngineError::NotFound(format!(
        "Could not find the file /{p} in container {}",
        c.name
    ))
}

/// What runs in a container and how it went, as `docker-api` takes it (`None` for a
/// container without a run configuration).
fn run_facts(e: &engine::Engine, c: &ContainerInfo) -> Option<docker_api::RunFacts> {
    let (rc, p) = e.container_run(c).ok()??;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Some(
        docker_api::RunFacts {
            argv: rc.args(),
            status: p.status.clone(),
            status_text: String::new(),
            pid: p.pid,
            exit_code: p.exit_code,
            started_at: p.started_at,
            finished_at: p.finished_at,
            oom_killed: p.oom_killed,
            error: p.error,
            tty: rc.tty,
            open_stdin: rc.open_stdin,
            hostname: rc.hostname,
            auto_remove: rc.auto_remove,
            network: rc.network,
            memory: rc.memory.unwrap_or(0),
            nano_cpus: rc.nano_cpus.unwrap_or(0),
            pids_limit: rc.pids_limit,
            read_only: rc.read_only,
            no_new_privileges: rc.no_new_privileges,
        }
        .with_status_text(now),
    )
}

/// The facts `docker-api` renders a container from.
fn facts<'a>(
    c: &'a ContainerInfo,
    shown_image: &'a str,
    upper_dir: &'a str,
    run: Option<&'a docker_api::RunFacts>,
) -> docker_api::ContainerFacts<'a> {
    docker_api::ContainerFacts {
        id: &c.id,
        name: &c.name,
        created: &c.created,
        image: &c.image,
        image_name: &c.image_name,
        shown_image,
        config: &c.config,
        upper_dir,
        run,
    }
}

/// moby's `ContainerSummary`.
pub(crate) fn summary_json(
    e: &engine::Engine,
    c: &ContainerInfo,
    view: &image_store::StoreView,
    sizes: Option<ContainerSizes>,
) -> Value {
    let shown = c.shown_image(view);
    let upper = e.upper_dir(&c.id).display().to_string();
    let run = run_facts(e, c);
    docker_api::container_summary(
        &facts(c, &shown, &upper, run.as_ref()),
        sizes.map(|s| (s.rw, s.root_fs)),
    )
}

/// moby's container `InspectResponse`: what `GET /containers/{id}/json` answers and
/// `strata container inspect` prints (one builder for both).
pub fn inspect_json(e: &engine::Engine, c: &ContainerInfo) -> Value {
    let upper = e.upper_dir(&c.id).display().to_string();
    let run = run_facts(e, c);
    docker_api::container_inspect(&facts(c, &c.image_name, &upper, run.as_ref()))
}

/// The body of `POST /containers/create`: moby's `Config` with its `HostConfig`, the parts
/// the engine runs with (see `engine::CreateOptions`). `Binds` and `Mounts` are refused
/// (no volumes yet).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct CreateBody {
    image: String,
    cmd: Option<Value>,
    entrypoint: Option<Value>,
    env: Option<Vec<String>>,
    working_dir: Option<String>,
    user: Option<String>,
    tty: bool,
    open_stdin: bool,
    hostname: Option<String>,
    stop_signal: Option<String>,
    stop_timeout: Option<i64>,
    host_config: HostConfigBody,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct HostConfigBody {
    auto_remove: bool,
    memory: Option<i64>,
    nano_cpus: Option<i64>,
    pids_limit: Option<i64>,
    network_mode: Option<String>,
    readonly_rootfs: bool,
    binds: Option<Vec<String>>,
    mounts: Option<Vec<Value>>,
    security_opt: Option<Vec<String>>,
    console_size: Option<Vec<u16>>,
}

/// A `strslice`: an array of strings, or one string.
fn strs(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().unwrap_or_default().to_string())
            .collect(),
        Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// The engine's options for a create body.
fn create_options(b: CreateBody, name: Option<String>) -> Result<engine::CreateOptions, ApiError> {
    let h = b.host_config;
    if h.binds.as_ref().is_some_and(|v| !v.is_empty())
        || h.mounts.as_ref().is_some_and(|v| !v.is_empty())
    {
        return Err(ApiError::bad_request(
            "bind mounts and volumes are not supported yet",
        ));
    }
    let mut no_new_privileges = false;
    for o in h.security_opt.unwrap_or_default() {
        match o.as_str() {
            "no-new-privileges" | "no-new-privileges:true" | "no-new-privileges=true" => {
                no_new_privileges = true
            }
            "no-new-privileges:false" | "no-new-privileges=false" => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "security option {other:?} is not supported"
                )))
            }
        }
    }
    let cmd = b.cmd.as_ref().map(strs).unwrap_or_default();
    // moby's Entrypoint is a list; the engine takes the program and puts the rest before Cmd.
    let (entrypoint, cmd) = match b.entrypoint.as_ref().filter(|v| !v.is_null()).map(strs) {
        None => (None, cmd),
        Some(ep) if ep.iter().all(String::is_empty) => (Some(String::new()), cmd),
        Some(ep) => {
            let mut rest = ep[1..].to_vec();
            rest.extend(cmd);
            (Some(ep[0].clone()), rest)
        }
    };
    let network = match h.network_mode.as_deref().unwrap_or("") {
        "" | "default" => None,
        m => Some(m.to_string()),
    };
    Ok(engine::CreateOptions {
        name,
        entrypoint,
        cmd,
        env: b.env.unwrap_or_default(),
        workdir: nonempty(b.working_dir),
        user: nonempty(b.user),
        tty: b.tty,
        interactive: b.open_stdin,
        auto_remove: h.auto_remove,
        network,
        hostname: nonempty(b.hostname),
        memory: h.memory.filter(|m| *m > 0),
        nano_cpus: h.nano_cpus.filter(|c| *c > 0),
        pids_limit: h.pids_limit.filter(|p| *p != 0),
        read_only: h.readonly_rootfs,
        no_new_privileges,
        stop_signal: nonempty(b.stop_signal),
        stop_timeout: b.stop_timeout,
    })
}

async fn create(
    State(st): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
    body: Result<Json<CreateBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(json_error)?;
    if body.image.is_empty() {
        return Err(ApiError::bad_request(
            "config cannot be empty in order to create a container",
        ));
    }
    let name = first(&q, "name")
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let console = match (body.tty, body.host_config.console_size.as_deref()) {
        (true, Some([h, w])) => Some((*h, *w)),
        _ => None,
    };
    let image = body.image.clone();
    let opts = create_options(body, name)?;
    let info = st
        .run(move |e| e.create_container_with(&image, &opts))
        .await?;
    if let Some((h, w)) = console {
        st.runs().set_console(&info.id, h, w);
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({ "Id": info.id, "Warnings": [] })),
    )
        .into_response())
}

/// Container filters: `id`, `name`, `status`, `exited`, `ancestor`, `label`; `status` and
/// `exit_code` are the process's (`created` for a container that never ran).
fn keep(
    c: &ContainerInfo,
    filters: &[(String, String)],
    ancestors: &[String],
    status: &str,
    exit_code: i32,
) -> Result<bool, ApiError> {
    for key in ["id", "name", "status", "exited", "ancestor", "label"] {
        let vals: Vec<&str> = filters
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect();
        if vals.is_empty() {
            continue;
        }
        let labels = c.config.labels.clone().unwrap_or_default();
        let ok = vals.iter().any(|v| match key {
            "id" => c.id.starts_with(v),
            "name" => c.name.contains(v.trim_start_matches('/')),
            "status" => *v == status,
            "exited" => status == "exited" && v.parse::<i32>().ok() == Some(exit_code),
            "ancestor" => ancestors.iter().any(|a| a == &c.image.to_string()) || c.image_name == *v,
            _ => match v.split_once('=') {
                Some((k, val)) => labels.get(k).is_some_and(|x| x == val),
                None => labels.contains_key(*v),
            },
        });
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `GET /containers/json?all=&size=&filters=`: containers never run, so without `all`
/// the list is empty, as `docker ps` shows for stopped containers.
async fn list(
    State(st): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let filters = crate::params::parse_filters(first(&q, "filters"))?;
    for (k, _) in &filters {
        if !matches!(
            k.as_str(),
            "id" | "name"
                | "status"
                | "ancestor"
                | "label"
                | "before"
                | "since"
                | "exited"
                | "health"
                | "network"
                | "publish"
                | "expose"
                | "volume"
                | "is-task"
        ) {
            return Err(ApiError::bad_request(format!("invalid filter '{k}'")));
        }
    }
    let limit: Option<usize> = first(&q, "limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    // moby: without `all`, running (and paused) containers only; a status or exited filter,
    // or the newest N (`ps -n N`, `ps -l`), looks at every state.
    let every = truthy(first(&q, "all"))
        || limit.is_some()
        || filters.iter().any(|(k, _)| k == "status" || k == "exited");
    let with_size = truthy(first(&q, "size"));
    let out = st
        .run(move |e| {
            let view = e.view()?;
            let ancestors: Vec<String> = filters
                .iter()
                .filter(|(k, _)| k == "ancestor")
                .filter_map(|(_, v)| {
                    image_store::resolve(&view, v)
                        .ok()
                        .map(|r| r.id.to_string())
                })
                .collect();
            let mut out = Vec::new();
            for c in e.containers()? {
                let (status, code) = match e.container_run(&c)? {
                    Some((_, p)) => (p.status, p.exit_code),
                    None => ("created".to_string(), 0),
                };
                if !every && status != "running" && status != "paused" {
                    continue;
                }
                if keep(&c, &filters, &ancestors, &status, code).unwrap_or(false) {
                    let sizes = with_size.then(|| e.container_sizes(&c)).transpose()?;
                    out.push(summary_json(e, &c, &view, sizes));
                }
            }
            Ok(out)
        })
        .await?;
    let out = match limit {
        Some(n) => out.into_iter().take(n).collect(),
        None => out,
    };
    Ok(Json(Value::Array(out)))
}

async fn inspect(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let with_size = truthy(first(&q, "size"));
    Ok(Json(
        st.run(move |e| {
            let c = e.container(&id)?;
            let mut v = inspect_json(e, &c);
            if with_size {
                let s = e.container_sizes(&c)?;
                v["SizeRw"] = json!(s.rw);
                v["SizeRootFs"] = json!(s.root_fs);
            }
            Ok(v)
        })
        .await?,
    ))
}

/// `DELETE /containers/{id}?force=&v=&link=` → 204.
async fn remove(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<StatusCode, ApiError> {
    let force = truthy(first(&q, "force"));
    st.run(move |e| e.remove_container(&id, force)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// moby's `ChangeType`: 0 Modified (`C`), 1 Added, 2 Deleted.
pub(crate) fn change_kind(kind: char) -> u8 {
    match kind {
        'A' => 1,
        'D' => 2,
        _ => 0,
    }
}

async fn changes(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let list = st.run(move |e| e.container_diff(&id)).await?;
    Ok(Json(Value::Array(
        list.iter()
            .map(|c| json!({ "Path": c.path, "Kind": change_kind(c.kind) }))
            .collect(),
    )))
}

async fn export(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    // resolve first so a missing container is a 404, not a cut-short body
    let c = st.run(move |e| e.container(&id)).await?;
    let body = stream_blocking(&st, move |e, w| e.export_container(&c.id, w)).await?;
    Ok(([(CONTENT_TYPE, "application/x-tar")], body).into_response())
}

#[derive(Deserialize)]
struct PathQuery {
    #[serde(default)]
    path: String,
}

/// Stats the path for the archive endpoints: 404 (moby's text) when absent.
async fn stat_or_404(
    st: &AppState,
    id: String,
    path: String,
) -> Result<(ContainerInfo, PathStat), ApiError> {
    st.run(move |e| {
        let c = e.container(&id)?;
        match e.container_path_stat(&c.id, &path)? {
            Some(s) => Ok((c, s)),
            None => Err(not_in_container(&path, &c)),
        }
    })
    .await
}

fn path_required(p: &str) -> Result<(), ApiError> {
    if p.is_empty() {
        return Err(ApiError::bad_request("path is required"));
    }
    Ok(())
}

/// `HEAD /containers/{id}/archive?path=`: the stat header only.
async fn head_archive(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PathQuery>,
) -> Result<Response, ApiError> {
    path_required(&q.path)?;
    let (_, s) = stat_or_404(&st, id, q.path).await?;
    let mut res = StatusCode::OK.into_response();
    res.headers_mut()
        .insert(HeaderName::from_static(PATH_STAT), path_stat_header(&s));
    Ok(res)
}

/// `GET /containers/{id}/archive?path=`: a tar of the path, with the stat header.
async fn get_archive(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PathQuery>,
) -> Result<Response, ApiError> {
    path_required(&q.path)?;
    let (c, s) = stat_or_404(&st, id, q.path.clone()).await?;
    let path = q.path;
    let body = stream_blocking(&st, move |e, w| e.container_get_archive(&c.id, &path, w)).await?;
    let mut res = ([(CONTENT_TYPE, "application/x-tar")], body).into_response();
    res.headers_mut()
        .insert(HeaderName::from_static(PATH_STAT), path_stat_header(&s));
    Ok(res)
}

/// `PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=&copyUIDGID=`: extracts the body
/// (a tar) into the directory `path`.
async fn put_archive(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PathQuery>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    path_required(&q.path)?;
    let reader = BodyReader::new(body);
    st.run(move |e| e.container_put_archive(&id, &q.path, reader))
        .await?;
    Ok(StatusCode::OK)
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&changes=&pause=` → 201 `{"Id"}`.
/// The CLI sends the repository fully qualified (`docker.io/library/x`); a body (a
/// container config) is ignored.
async fn commit(
    State(st): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let Some(container) = first(&q, "container")
        .filter(|c| !c.is_empty())
        .map(str::to_string)
    else {
        return Err(ApiError::bad_request("container is required"));
    };
    let repo = first(&q, "repo").unwrap_or("");
    let tag = first(&q, "tag").unwrap_or("");
    let reference = match (repo.is_empty(), tag.is_empty()) {
        (true, _) => None,
        (false, true) => Some(repo.to_string()),
        (false, false) => Some(format!("{repo}:{tag}")),
    };
    let opts = engine::CommitOptions {
        reference,
        message: first(&q, "comment")
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        author: first(&q, "author")
            .filter(|a| !a.is_empty())
            .map(str::to_string),
        changes: all(&q, "changes"),
    };
    let id = st.run(move |e| e.commit(&container, &opts)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "Id": id.to_string() }))).into_response())
}

/// Containers for `/system/df`: every one, with sizes.
pub(crate) fn df_containers(e: &engine::Engine) -> Result<Vec<Value>, EngineError> {
    let view = e.view()?;
    e.containers()?
        .iter()
        .map(|c| Ok(summary_json(e, c, &view, Some(e.container_sizes(c)?))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_kinds() {
        assert_eq!(change_kind('C'), 0);
        assert_eq!(change_kind('A'), 1);
        assert_eq!(change_kind('D'), 2);
    }
}
