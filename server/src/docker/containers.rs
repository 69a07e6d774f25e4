//! Docker's container endpoints: create, list, inspect, remove, changes, export, the archive
//! (`docker cp`) endpoints, `POST /commit`, and `stop`, `restart`, `kill`, `pause`,
//! `unpause` (the process's own stdio, `start`, `wait` and `logs` are in `run`, exec in `exec`).
//!
//! A container here is an image plus a writable layer (see the engine) and what runs in it.
//! Wire shapes are moby's (`ContainerSummary`, `InspectResponse`,
//! `FilesystemChange`, `PathStat`), built by hand from the engine's `ContainerInfo`.

use crate::bridge::{stream_blocking, BodyReader};
use crate::params::json_error;
use crate::params::FirstQuery;
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
        .route("/containers/{id}/stop", post(stop))
        .route("/containers/{id}/restart", post(restart))
        .route("/containers/{id}/kill", post(kill))
        .route("/containers/{id}/pause", post(pause))
        .route("/containers/{id}/unpause", post(unpause))
        .route("/containers/{id}/{action}", axum::routing::any(cannot_run))
        .route("/exec/{id}/{action}", axum::routing::any(cannot_run))
}

/// The endpoints not served yet: 501 with a sentence instead
/// of "page not found".
async fn cannot_run(Path((_, action)): Path<(String, String)>) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!("{action}: not supported by this server yet (the strata CLI has it)"),
    )
}

fn timeout_of(q: &[(String, String)]) -> Result<Option<i64>, ApiError> {
    first(q, "t")
        .or_else(|| first(q, "timeout"))
        .map(|t| {
            t.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid value for timeout: {t}")))
        })
        .transpose()
}

/// `POST /containers/{id}/stop?t=`: 204, or 304 when it was not running.
async fn stop(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let t = timeout_of(&q)?;
    let stopped = st
        .run(move |e| {
            let c = e.container(&id)?;
            if !e.process_state(&c)?.is_running() {
                return Ok(false);
            }
            e.stop_container(&id, t).map(|_| true)
        })
        .await?;
    Ok(if stopped {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_MODIFIED
    }
    .into_response())
}

/// `POST /containers/{id}/restart?t=`.
async fn restart(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let t = timeout_of(&q)?;
    st.run(move |e| e.restart_container(&id, t)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /containers/{id}/kill?signal=` (default SIGKILL).
async fn kill(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let sig = first(&q, "signal").unwrap_or("KILL").to_string();
    st.run(move |e| e.kill_container(&id, &sig)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /containers/{id}/pause`.
async fn pause(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    st.run(move |e| e.pause_container(&id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /containers/{id}/unpause`.
async fn unpause(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    st.run(move |e| e.unpause_container(&id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
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
            endpoint: e.container_network(c).map(endpoint_facts),
            port_bindings: rc
                .port_bindings
                .iter()
                .map(|b| docker_api::BindingFacts {
                    key: b.key(),
                    host_ip: b.host_ip.clone(),
                    host_port: b.host_port.clone(),
                })
                .collect(),
            publish_all: rc.publish_all,
            network: rc.network,
            memory: rc.memory.unwrap_or(0),
            nano_cpus: rc.nano_cpus.unwrap_or(0),
            pids_limit: rc.pids_limit,
            read_only: rc.read_only,
            no_new_privileges: rc.no_new_privileges,
            mounts: rc
                .mounts
                .iter()
                .map(|m| docker_api::MountFacts {
                    kind: m.kind.clone(),
                    name: m.name.clone(),
                    source: m.source.clone(),
                    destination: m.destination.clone(),
                    mode: m.mode.clone(),
                    rw: m.rw,
                })
                .collect(),
            binds: rc.binds.clone(),
            init: rc.init,
            stop_timeout: rc.stop_timeout,
            restart_policy: (rc.restart.name.clone(), rc.restart.max_retries),
            restart_count: p.restart_count,
            health: p.health.as_ref().map(|h| docker_api::HealthFacts {
                status: h.status.clone(),
                failing_streak: h.failing_streak,
                log: h
                    .log
                    .iter()
                    .map(|r| {
                        (
                            r.start.clone(),
                            r.end.clone(),
                            r.exit_code,
                            r.output.clone(),
                        )
                    })
                    .collect(),
            }),
            host: host_facts(&rc.host),
            log_path: log_path(e, c, &rc.host),
        }
        .with_status_text(now),
    )
}

/// Docker's `LogPath`: the `json-file` log once the container's first start wrote it.
fn log_path(e: &engine::Engine, c: &ContainerInfo, h: &engine::HostOptions) -> String {
    let path = e.container_log_path(&c.id);
    if h.logs_readable() && path.exists() {
        path.display().to_string()
    } else {
        String::new()
    }
}

/// The host options a container was created with, as `docker-api` takes them.
fn host_facts(h: &engine::HostOptions) -> docker_api::HostFacts {
    docker_api::HostFacts {
        cap_add: h.cap_add.clone(),
        cap_drop: h.cap_drop.clone(),
        group_add: h.group_add.clone(),
        sysctls: h
            .sysctls
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        security_opt: h.security_opt.clone(),
        ipc_mode: h.ipc_mode.clone(),
        userns_mode: h.userns_mode.clone(),
        cgroupns_mode: h.cgroupns_mode.clone(),
        memory_swap: h.memory_swap.unwrap_or(0),
        memory_reservation: h.memory_reservation.unwrap_or(0),
        memory_swappiness: h.memory_swappiness,
        oom_kill_disable: h.oom_kill_disable,
        oom_score_adj: h.oom_score_adj,
        cpu_shares: h.cpu_shares.unwrap_or(0),
        cpu_period: h.cpu_period.unwrap_or(0),
        cpu_quota: h.cpu_quota.unwrap_or(0),
        shm_size: h.shm_size.unwrap_or(0),
        ulimits: h
            .ulimits
            .iter()
            .map(|u| (u.name.clone(), u.soft, u.hard))
            .collect(),
        extra_hosts: h.extra_hosts.clone(),
        dns: h.dns.clone(),
        dns_search: h.dns_search.clone(),
        dns_options: h.dns_options.clone(),
        tmpfs: h
            .tmpfs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        cpuset_cpus: h.cpuset_cpus.clone(),
        cpuset_mems: h.cpuset_mems.clone(),
        log_driver: h.log_driver().to_string(),
        log_opts: h
            .log_opts
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// A running container's bridge attachment as `docker-api` takes it.
pub(crate) fn endpoint_facts(n: engine::NetworkInfo) -> docker_api::EndpointFacts {
    docker_api::EndpointFacts {
        ip: n.ip,
        prefix: n.prefix,
        gateway: n.gateway,
        mac: n.mac,
        sandbox_key: n.sandbox_key,
        ports: n
            .ports
            .into_iter()
            .map(|p| docker_api::PortFacts {
                container_port: p.container_port,
                proto: p.proto,
                host_ip: p.host_ip,
                host_port: p.host_port,
            })
            .collect(),
    }
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

/// The body of `POST /containers/create`: moby's `Config` with `HostConfig`. The fields
/// Strata runs with are read; every other field is accepted only at its default value
/// (`refuse_unhandled`): none is ever ignored once set.
#[derive(Deserialize)]
struct CreateBody {
    #[serde(rename = "Image", default)]
    image: String,
    #[serde(rename = "Cmd", default)]
    cmd: Option<Vec<String>>,
    #[serde(rename = "Entrypoint", default)]
    entrypoint: Option<Vec<String>>,
    #[serde(rename = "Env", default)]
    env: Option<Vec<String>>,
    #[serde(rename = "WorkingDir", default)]
    working_dir: Option<String>,
    #[serde(rename = "User", default)]
    user: Option<String>,
    #[serde(rename = "Tty", default)]
    tty: bool,
    #[serde(rename = "OpenStdin", default)]
    open_stdin: bool,
    #[serde(rename = "Hostname", default)]
    hostname: Option<String>,
    #[serde(rename = "StopSignal", default)]
    stop_signal: Option<String>,
    #[serde(rename = "StopTimeout", default)]
    stop_timeout: Option<i64>,
    #[serde(rename = "Healthcheck", default)]
    healthcheck: Option<engine::Healthcheck>,
    #[serde(rename = "ExposedPorts", default)]
    exposed_ports: Option<std::collections::BTreeMap<String, Value>>,
    #[serde(rename = "Labels", default)]
    labels: Option<std::collections::BTreeMap<String, String>>,
    /// Anonymous volumes (`-v /path`): the docker CLI sends them here, not in `Binds`.
    #[serde(rename = "Volumes", default)]
    volumes: Option<std::collections::BTreeMap<String, Value>>,
    #[serde(rename = "HostConfig", default)]
    host: Option<CreateHostConfig>,
    /// Every other field, each refused unless at its default.
    #[serde(flatten)]
    rest: std::collections::BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
struct CreateHostConfig {
    #[serde(rename = "AutoRemove", default)]
    auto_remove: bool,
    #[serde(rename = "Memory", default)]
    memory: i64,
    #[serde(rename = "NanoCpus", default)]
    nano_cpus: i64,
    #[serde(rename = "PidsLimit", default)]
    pids_limit: Option<i64>,
    #[serde(rename = "ReadonlyRootfs", default)]
    read_only: bool,
    #[serde(rename = "NetworkMode", default)]
    network_mode: Option<String>,
    #[serde(rename = "PortBindings", default)]
    port_bindings: Option<std::collections::BTreeMap<String, Option<Vec<HostPort>>>>,
    #[serde(rename = "PublishAllPorts", default)]
    publish_all: bool,
    #[serde(rename = "SecurityOpt", default)]
    security_opt: Option<Vec<String>>,
    /// `[height, width]` of the client's terminal, for a TTY's first size.
    #[serde(rename = "ConsoleSize", default)]
    console_size: Option<Vec<u16>>,
    #[serde(rename = "Binds", default)]
    binds: Option<Vec<String>>,
    #[serde(rename = "Mounts", default)]
    mounts: Option<Vec<BodyMount>>,
    #[serde(rename = "Init", default)]
    init: Option<bool>,
    #[serde(rename = "RestartPolicy", default)]
    restart_policy: Option<BodyRestartPolicy>,
    #[serde(rename = "Privileged", default)]
    privileged: bool,
    #[serde(rename = "CapAdd", default)]
    cap_add: Option<Vec<String>>,
    #[serde(rename = "CapDrop", default)]
    cap_drop: Option<Vec<String>>,
    #[serde(rename = "GroupAdd", default)]
    group_add: Option<Vec<String>>,
    #[serde(rename = "Sysctls", default)]
    sysctls: Option<std::collections::BTreeMap<String, String>>,
    #[serde(rename = "PidMode", default)]
    pid_mode: Option<String>,
    #[serde(rename = "IpcMode", default)]
    ipc_mode: Option<String>,
    #[serde(rename = "UTSMode", default)]
    uts_mode: Option<String>,
    #[serde(rename = "UsernsMode", default)]
    userns_mode: Option<String>,
    #[serde(rename = "CgroupnsMode", default)]
    cgroupns_mode: Option<String>,
    #[serde(rename = "Devices", default)]
    devices: Option<Vec<BodyDevice>>,
    #[serde(rename = "DeviceCgroupRules", default)]
    device_cgroup_rules: Option<Vec<String>>,
    #[serde(rename = "MemorySwap", default)]
    memory_swap: Option<i64>,
    #[serde(rename = "MemoryReservation", default)]
    memory_reservation: Option<i64>,
    #[serde(rename = "MemorySwappiness", default)]
    memory_swappiness: Option<i64>,
    #[serde(rename = "OomKillDisable", default)]
    oom_kill_disable: Option<bool>,
    #[serde(rename = "OomScoreAdj", default)]
    oom_score_adj: Option<i64>,
    #[serde(rename = "CpuShares", default)]
    cpu_shares: Option<i64>,
    #[serde(rename = "CpuPeriod", default)]
    cpu_period: Option<i64>,
    #[serde(rename = "CpuQuota", default)]
    cpu_quota: Option<i64>,
    #[serde(rename = "ShmSize", default)]
    shm_size: Option<i64>,
    #[serde(rename = "Ulimits", default)]
    ulimits: Option<Vec<BodyUlimit>>,
    #[serde(rename = "ExtraHosts", default)]
    extra_hosts: Option<Vec<String>>,
    #[serde(rename = "Dns", default)]
    dns: Option<Vec<String>>,
    #[serde(rename = "DnsSearch", default)]
    dns_search: Option<Vec<String>>,
    #[serde(rename = "DnsOptions", default)]
    dns_options: Option<Vec<String>>,
    #[serde(rename = "Tmpfs", default)]
    tmpfs: Option<std::collections::BTreeMap<String, String>>,
    #[serde(rename = "CpusetCpus", default)]
    cpuset_cpus: Option<String>,
    #[serde(rename = "CpusetMems", default)]
    cpuset_mems: Option<String>,
    #[serde(rename = "LogConfig", default)]
    log_config: Option<BodyLogConfig>,
    /// Every other field, each refused unless at its default.
    #[serde(flatten)]
    rest: std::collections::BTreeMap<String, Value>,
}

/// moby's `LogConfig` (`--log-driver`, `--log-opt`).
#[derive(Deserialize, Default)]
struct BodyLogConfig {
    #[serde(rename = "Type", default)]
    typ: String,
    #[serde(rename = "Config", default)]
    config: Option<std::collections::BTreeMap<String, String>>,
}

/// moby's `DeviceMapping` (`--device`).
#[derive(Deserialize)]
struct BodyDevice {
    #[serde(rename = "PathOnHost", default)]
    path_on_host: String,
}

/// moby's `Ulimit` (`--ulimit`).
#[derive(Deserialize)]
struct BodyUlimit {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Soft", default)]
    soft: i64,
    #[serde(rename = "Hard", default)]
    hard: i64,
}

impl CreateHostConfig {
    /// The engine's host options from these fields.
    fn options(&mut self) -> engine::HostOptions {
        let log = self.log_config.take().unwrap_or_default();
        engine::HostOptions {
            privileged: self.privileged,
            cap_add: self.cap_add.take().unwrap_or_default(),
            cap_drop: self.cap_drop.take().unwrap_or_default(),
            group_add: self.group_add.take().unwrap_or_default(),
            sysctls: self.sysctls.take().unwrap_or_default(),
            security_opt: self.security_opt.take().unwrap_or_default(),
            pid_mode: self.pid_mode.take().unwrap_or_default(),
            ipc_mode: self.ipc_mode.take().unwrap_or_default(),
            uts_mode: self.uts_mode.take().unwrap_or_default(),
            userns_mode: self.userns_mode.take().unwrap_or_default(),
            cgroupns_mode: self.cgroupns_mode.take().unwrap_or_default(),
            devices: self
                .devices
                .take()
                .unwrap_or_default()
                .into_iter()
                .map(|d| d.path_on_host)
                .collect(),
            device_cgroup_rules: self.device_cgroup_rules.take().unwrap_or_default(),
            memory_swap: self.memory_swap.filter(|s| *s != 0),
            memory_reservation: self.memory_reservation.filter(|r| *r != 0),
            memory_swappiness: self.memory_swappiness.filter(|s| *s != -1),
            oom_kill_disable: self.oom_kill_disable.unwrap_or(false),
            oom_score_adj: self.oom_score_adj.unwrap_or(0),
            cpu_shares: self.cpu_shares.filter(|s| *s != 0),
            cpu_period: self.cpu_period.filter(|p| *p != 0),
            cpu_quota: self.cpu_quota.filter(|q| *q != 0),
            shm_size: self.shm_size.filter(|s| *s != 0),
            ulimits: self
                .ulimits
                .take()
                .unwrap_or_default()
                .into_iter()
                .map(|u| engine::Ulimit {
                    name: u.name,
                    soft: u.soft,
                    hard: u.hard,
                })
                .collect(),
            extra_hosts: self.extra_hosts.take().unwrap_or_default(),
            dns: self.dns.take().unwrap_or_default(),
            dns_search: self.dns_search.take().unwrap_or_default(),
            dns_options: self.dns_options.take().unwrap_or_default(),
            tmpfs: self.tmpfs.take().unwrap_or_default(),
            cpuset_cpus: self.cpuset_cpus.take().unwrap_or_default(),
            cpuset_mems: self.cpuset_mems.take().unwrap_or_default(),
            log_driver: log.typ,
            log_opts: log.config.unwrap_or_default(),
        }
    }
}

/// Whether a JSON value is Go's zero value (what the docker CLI sends for an option not
/// given): null, false, 0, "", an empty list or map.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Whether a Go struct sent as JSON is all zero values (a map with keys is not).
fn is_zero_struct(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.values().all(is_zero),
        other => is_zero(other),
    }
}

/// The docker CLI flag that sets a `Config` or `HostConfig` field Strata does not apply.
fn flag_of(key: &str) -> &'static str {
    match key {
        "Domainname" => "--domainname",
        "MacAddress" => "--mac-address",
        "NetworkingConfig" => "--ip/--ip6/--network-alias/--link-local-ip/--mac-address",
        "VolumesFrom" => "--volumes-from",
        "VolumeDriver" => "--volume-driver",
        "Links" => "--link",
        "Isolation" => "--isolation",
        "CgroupParent" => "--cgroup-parent",
        "Cgroup" => "--cgroup",
        "BlkioWeight" => "--blkio-weight",
        "BlkioWeightDevice" => "--blkio-weight-device",
        "BlkioDeviceReadBps" => "--device-read-bps",
        "BlkioDeviceWriteBps" => "--device-write-bps",
        "BlkioDeviceReadIOps" => "--device-read-iops",
        "BlkioDeviceWriteIOps" => "--device-write-iops",
        "CpuRealtimePeriod" => "--cpu-rt-period",
        "CpuRealtimeRuntime" => "--cpu-rt-runtime",
        "DeviceRequests" => "--gpus",
        "KernelMemory" => "--kernel-memory",
        "CpuCount" => "--cpu-count",
        "CpuPercent" => "--cpu-percent",
        "IOMaximumIOps" => "--io-maxiops",
        "IOMaximumBandwidth" => "--io-maxbandwidth",
        "StorageOpt" => "--storage-opt",
        "Runtime" => "--runtime",
        "Annotations" => "--annotation",
        _ => "",
    }
}

/// Refuses every field of `section` (`Config` or `HostConfig`) that Strata does not read and
/// that is set to something other than Docker's default, naming the docker CLI's option.
pub(crate) fn refuse_unhandled(
    section: &str,
    rest: &std::collections::BTreeMap<String, Value>,
) -> Result<(), ApiError> {
    for (key, v) in rest {
        // `[]` is no path at all (the docker CLI's `systempaths=unconfined`), not the default.
        let listed_paths = matches!(key.as_str(), "MaskedPaths" | "ReadonlyPaths");
        let default = (is_zero(v) && (!listed_paths || v.is_null()))
            || match key.as_str() {
                // What the docker CLI sends for an attached run; its attach decides.
                "AttachStdin" | "AttachStdout" | "AttachStderr" | "StdinOnce" => true,
                // The client writes this file itself.
                "ContainerIDFile" => true,
                "VolumeDriver" => v == "local",
                "Isolation" => v == "default",
                // Each network's endpoint settings at their defaults.
                "NetworkingConfig" => v
                    .get("EndpointsConfig")
                    .and_then(Value::as_object)
                    .is_none_or(|eps| eps.values().all(is_zero_struct)),
                _ => false,
            };
        if default {
            continue;
        }
        if listed_paths {
            // The docker CLI's translation of `--security-opt systempaths=unconfined`.
            return Err(ApiError::bad_request(
                "--security-opt systempaths=unconfined is not supported: a container's processes never reach the host",
            ));
        }
        let flag = flag_of(key);
        let what = if flag.is_empty() {
            format!("{section}.{key}")
        } else {
            format!("{flag} ({section}.{key})")
        };
        return Err(ApiError::bad_request(format!(
            "{what} is not supported by this server"
        )));
    }
    Ok(())
}

/// moby's `RestartPolicy` in a create body's `HostConfig` (checked, not applied).
#[derive(Deserialize)]
struct BodyRestartPolicy {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "MaximumRetryCount", default)]
    maximum_retry_count: i64,
}

/// moby's `mount.Mount` in a create body's `HostConfig.Mounts`.
#[derive(Deserialize)]
struct BodyMount {
    #[serde(rename = "Type", default)]
    typ: String,
    #[serde(rename = "Source", default)]
    source: String,
    #[serde(rename = "Target", default)]
    target: String,
    #[serde(rename = "ReadOnly", default)]
    read_only: bool,
    #[serde(rename = "TmpfsOptions", default)]
    tmpfs_options: Option<BodyTmpfsOptions>,
}

/// moby's `mount.TmpfsOptions` (`--mount type=tmpfs,tmpfs-size=…,tmpfs-mode=…`).
#[derive(Deserialize)]
struct BodyTmpfsOptions {
    #[serde(rename = "SizeBytes", default)]
    size_bytes: i64,
    #[serde(rename = "Mode", default)]
    mode: u32,
}

/// The create body's `Binds`, `Volumes` and `Mounts` as the engine's mount requests.
fn mount_requests(
    binds: &[String],
    volumes: Option<&std::collections::BTreeMap<String, Value>>,
    mounts: &[BodyMount],
) -> Result<Vec<engine::MountRequest>, EngineError> {
    let mut out = Vec::new();
    for b in binds {
        out.push(engine::parse_volume_flag(b)?);
    }
    for target in volumes.into_iter().flat_map(|v| v.keys()) {
        // A path also named by `Binds` is that bind's (moby skips it here).
        if out.iter().any(|m| &m.target == target) {
            continue;
        }
        out.push(engine::MountRequest {
            kind: engine::MountKind::Volume,
            target: target.clone(),
            ..Default::default()
        });
    }
    for m in mounts {
        let kind = match m.typ.as_str() {
            "bind" => engine::MountKind::Bind,
            "volume" => engine::MountKind::Volume,
            "tmpfs" => engine::MountKind::Tmpfs,
            "" => {
                return Err(EngineError::Invalid(
                    "invalid mount config: mount type unknown".into(),
                ))
            }
            t => {
                return Err(EngineError::Invalid(format!(
                "invalid mount config for type \"{t}\": mounts of this type are not supported yet"
            )))
            }
        };
        let mode = match (kind, &m.tmpfs_options) {
            (engine::MountKind::Tmpfs, t) => engine::tmpfs_mount_options(
                t.as_ref().map_or(0, |t| t.size_bytes),
                t.as_ref().map_or(0, |t| t.mode),
                m.read_only,
            ),
            _ if m.read_only => "ro".into(),
            _ => String::new(),
        };
        out.push(engine::MountRequest {
            kind,
            source: m.source.clone(),
            target: m.target.clone(),
            read_only: m.read_only,
            mode,
            spec: None,
        });
    }
    Ok(out)
}

/// One entry of `HostConfig.PortBindings`.
#[derive(Deserialize, Default)]
struct HostPort {
    #[serde(rename = "HostIp", default)]
    host_ip: String,
    #[serde(rename = "HostPort", default)]
    host_port: String,
}

/// `HostConfig.PortBindings` as the engine takes them; Docker's texts for a bad key or port.
fn port_bindings(
    map: Option<std::collections::BTreeMap<String, Option<Vec<HostPort>>>>,
) -> Result<Vec<engine::PortBinding>, EngineError> {
    let mut out = Vec::new();
    for (key, hosts) in map.unwrap_or_default() {
        let (container_port, proto) = engine::parse_port_key(&key)?;
        let hosts = hosts
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| vec![HostPort::default()]);
        for h in hosts {
            let b = engine::PortBinding {
                container_port,
                proto: proto.clone(),
                host_ip: h.host_ip,
                host_port: h.host_port,
            };
            engine::check_binding(&b)?;
            out.push(b);
        }
    }
    Ok(out)
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
    refuse_unhandled("Config", &body.rest)?;
    let mut host = body.host.unwrap_or_default();
    refuse_unhandled("HostConfig", &host.rest)?;
    let host_options = host.options();
    let mounts = mount_requests(
        host.binds.as_deref().unwrap_or_default(),
        body.volumes.as_ref(),
        host.mounts.as_deref().unwrap_or_default(),
    )?;
    let console = match (body.tty, host.console_size.as_deref()) {
        (true, Some([h, w])) => Some((*h, *w)),
        _ => None,
    };
    let entrypoint = match body.entrypoint {
        // The docker CLI sends `--entrypoint X` as ["X"] and `--entrypoint ""` as [""].
        Some(ep) if ep.is_empty() || (ep.len() == 1 && ep[0].is_empty()) => Some(String::new()),
        Some(ep) if ep.len() == 1 => Some(ep[0].clone()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "an Entrypoint of more than one word is not supported yet",
            ))
        }
        None => None,
    };
    let publish = port_bindings(host.port_bindings)?;
    let opts = engine::CreateOptions {
        without_command: false,
        publish,
        publish_all: host.publish_all,
        expose: body.exposed_ports.unwrap_or_default().into_keys().collect(),
        name,
        entrypoint,
        cmd: body.cmd.unwrap_or_default(),
        env: body.env.unwrap_or_default(),
        workdir: body.working_dir.filter(|w| !w.is_empty()),
        user: body.user.filter(|u| !u.is_empty()),
        tty: body.tty,
        interactive: body.open_stdin,
        auto_remove: host.auto_remove,
        network: host
            .network_mode
            .filter(|n| !n.is_empty() && n != "default"),
        hostname: body.hostname.filter(|h| !h.is_empty()),
        memory: (host.memory > 0).then_some(host.memory),
        nano_cpus: (host.nano_cpus > 0).then_some(host.nano_cpus),
        pids_limit: host.pids_limit.filter(|p| *p > 0),
        read_only: host.read_only,
        // `--security-opt` is the engine's to parse (`host.security_opt`).
        no_new_privileges: false,
        stop_signal: body.stop_signal.filter(|s| !s.is_empty()),
        stop_timeout: body.stop_timeout,
        mounts,
        labels: body.labels.unwrap_or_default(),
        init: host.init.unwrap_or(false),
        restart: host.restart_policy.map(|r| engine::RestartPolicy {
            name: r.name,
            max_retries: r.maximum_retry_count,
        }),
        healthcheck: body.healthcheck,
        host: host_options,
    };
    let image = body.image;
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

/// Container filters: `id`, `name`, `status`, `exited`, `ancestor`, `label`, `health`,
/// `network`, `volume`, `is-task`, and `before`/`since` (`order`: the creation times of the
/// containers they name); `publish` and `expose` are applied by the caller
/// ([`docker_api::ports_match`]).
fn keep(
    c: &ContainerInfo,
    p: &engine::ProcessState,
    rc: Option<&engine::RunConfig>,
    filters: &[(String, String)],
    ancestors: &[image_store::Resolved],
    view: &image_store::StoreView,
    order: &[(String, String)],
) -> Result<bool, ApiError> {
    for (key, created) in order {
        let keeps = match key.as_str() {
            "before" => c.created < *created,
            _ => c.created > *created,
        };
        if !keeps {
            return Ok(false);
        }
    }
    for key in [
        "id", "name", "status", "exited", "ancestor", "label", "health", "network", "volume",
        "is-task",
    ] {
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
            "name" => docker_api::container_name_matches(v, &c.name),
            "status" => *v == p.status,
            "exited" => p.status == "exited" && v.parse::<i32>().ok() == Some(p.exit_code),
            // moby's health states; `none`: no check
            "health" => match &p.health {
                Some(h) => h.status == *v,
                None => *v == "none",
            },
            "network" => rc.is_some_and(|rc| rc.network == *v),
            "volume" => rc.is_some_and(|rc| {
                rc.mounts
                    .iter()
                    .any(|m| (m.kind == "volume" && m.name == *v) || m.destination == *v)
            }),
            // no container is a swarm task
            "is-task" => !truthy(Some(v)),
            "ancestor" => {
                ancestors
                    .iter()
                    .any(|a| view.descends_from(&c.image, &a.id))
                    || c.image_name == *v
            }
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
                | "volume"
                | "is-task"
                | "publish"
                | "expose"
        ) {
            return Err(ApiError::bad_request(format!("invalid filter '{k}'")));
        }
    }
    let mut publish = Vec::new();
    let mut expose = Vec::new();
    for (k, v) in &filters {
        match k.as_str() {
            "publish" => &mut publish,
            "expose" => &mut expose,
            _ => continue,
        }
        .push(docker_api::PortFilter::parse(k, v).map_err(ApiError::bad_request)?);
    }
    for (k, v) in &filters {
        if k == "health" && !matches!(v.as_str(), "starting" | "healthy" | "unhealthy" | "none") {
            return Err(ApiError::bad_request(format!(
                "Unrecognised filter value for health: {v}"
            )));
        }
    }
    let limit: Option<usize> = first(&q, "limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    // moby: the newest N (`ps -n N`, `ps -l`) are of any state, as with `all`; so are those
    // a `status` or `exited` filter asks for. Otherwise only running (and paused) ones.
    let every = truthy(first(&q, "all"))
        || limit.is_some()
        || filters.iter().any(|(k, _)| k == "status" || k == "exited");
    let with_size = truthy(first(&q, "size"));
    let out = st
        .run(move |e| {
            let view = e.view()?;
            let ancestors: Vec<image_store::Resolved> = filters
                .iter()
                .filter(|(k, _)| k == "ancestor")
                .filter_map(|(_, v)| image_store::resolve(&view, v).ok())
                .collect();
            // `before`/`since` name containers (moby: an unknown one is an error)
            let mut order = Vec::new();
            for (k, v) in filters
                .iter()
                .filter(|(k, _)| k == "before" || k == "since")
            {
                order.push((k.clone(), e.container(v)?.created));
            }
            let mut out = Vec::new();
            for c in e.containers()? {
                let p = e.process_state(&c)?;
                if !every && !p.is_running() {
                    continue;
                }
                let rc = e.run_config(&c).ok();
                if keep(&c, &p, rc.as_ref(), &filters, &ancestors, &view, &order).unwrap_or(false)
                    && ((publish.is_empty() && expose.is_empty())
                        || docker_api::ports_match(&publish, &expose, &e.container_ports(&c)))
                {
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
    let volumes = truthy(first(&q, "v"));
    st.run(move |e| e.remove_container_with(&id, force, volumes))
        .await?;
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
    FirstQuery(q): FirstQuery<PathQuery>,
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
    FirstQuery(q): FirstQuery<PathQuery>,
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
/// (a tar) into the directory `path`; with `noOverwriteDirNonDir` (the docker CLI always
/// sends it) an entry never replaces a directory with a non-directory nor the reverse.
/// `copyUIDGID` is not read: entries keep the archive's owners.
async fn put_archive(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let path = first(&q, "path").unwrap_or_default().to_string();
    path_required(&path)?;
    let opts = engine::PutArchiveOptions {
        no_overwrite_dir_non_dir: truthy(first(&q, "noOverwriteDirNonDir")),
    };
    let (reader, pump) = BodyReader::pumped(body);
    let work = st.run(move |e| e.container_put_archive_with(&id, &path, reader, opts));
    let ((), done) = tokio::join!(pump, work);
    done?;
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

#[cfg(test)]
mod create_body_tests {
    use super::*;

    fn host(v: Value) -> Result<CreateHostConfig, String> {
        let h: CreateHostConfig = serde_json::from_value(v).map_err(|e| e.to_string())?;
        refuse_unhandled("HostConfig", &h.rest).map_err(|e| e.message)?;
        Ok(h)
    }

    #[test]
    fn defaults_pass_and_set_options_are_read_or_refused() {
        // What the docker CLI 28 sends for a plain `docker run`.
        let plain = json!({
            "Binds": null, "ContainerIDFile": "", "LogConfig": {"Type": "", "Config": {}},
            "NetworkMode": "default", "PortBindings": {}, "RestartPolicy": {"Name": "no"},
            "VolumeDriver": "", "VolumesFrom": null, "ConsoleSize": [0, 0], "CapAdd": null,
            "CgroupnsMode": "", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": null,
            "GroupAdd": null, "IpcMode": "", "Cgroup": "", "Links": null, "OomScoreAdj": 0,
            "PidMode": "", "Privileged": false, "SecurityOpt": null, "UTSMode": "",
            "UsernsMode": "", "ShmSize": 0, "Isolation": "", "CpuShares": 0, "CgroupParent": "",
            "BlkioWeight": 0, "BlkioWeightDevice": [], "CpuRealtimePeriod": 0, "CpusetCpus": "",
            "Devices": [], "DeviceCgroupRules": null, "DeviceRequests": null,
            "MemorySwappiness": -1, "OomKillDisable": false, "PidsLimit": 0, "Ulimits": [],
            "IOMaximumIOps": 0, "MaskedPaths": null, "ReadonlyPaths": null, "Tmpfs": {}
        });
        let mut h = host(plain).unwrap();
        assert_eq!(h.options(), engine::HostOptions::default());
        let mut h = host(json!({
            "CapAdd": ["CAP_NET_ADMIN"], "GroupAdd": ["123"], "MemorySwappiness": 10,
            "Sysctls": {"kernel.sem": "1 2 3 4"}, "Devices": [{"PathOnHost": "/dev/sda"}]
        }))
        .unwrap();
        let o = h.options();
        assert_eq!(o.cap_add, ["CAP_NET_ADMIN"]);
        assert_eq!(o.memory_swappiness, Some(10));
        assert_eq!(o.devices, ["/dev/sda"]);
        let mut h = host(json!({
            "ExtraHosts": ["foo:192.0.2.7"], "Dns": ["192.0.2.1"], "DnsSearch": ["example.com"],
            "DnsOptions": ["ndots:2"], "Tmpfs": {"/run": "size=1m"}, "CpusetCpus": "0",
            "CpusetMems": "0"
        }))
        .unwrap();
        let o = h.options();
        assert_eq!(o.extra_hosts, ["foo:192.0.2.7"]);
        assert_eq!(o.dns, ["192.0.2.1"]);
        assert_eq!(o.dns_search, ["example.com"]);
        assert_eq!(o.dns_options, ["ndots:2"]);
        assert_eq!(o.tmpfs.get("/run").map(String::as_str), Some("size=1m"));
        assert_eq!((o.cpuset_cpus.as_str(), o.cpuset_mems.as_str()), ("0", "0"));
        for (body, text) in [
            (
                json!({"BlkioWeight": 100}),
                "--blkio-weight (HostConfig.BlkioWeight) is not supported",
            ),
            (
                json!({"CgroupParent": "mine"}),
                "--cgroup-parent (HostConfig.CgroupParent) is not supported",
            ),
            (
                json!({"MaskedPaths": []}),
                "--security-opt systempaths=unconfined",
            ),
            (
                json!({"Whatever": 1}),
                "HostConfig.Whatever is not supported",
            ),
        ] {
            let err = host(body).err().unwrap_or_default();
            assert!(err.starts_with(text), "{err}");
        }
        let mut h = host(json!({"LogConfig": {"Type": "json-file", "Config": {}}})).unwrap();
        let o = h.options();
        assert_eq!((o.log_driver(), o.log_opts.len()), ("json-file", 0));
        // The log driver and its options are the engine's to check.
        let mut h =
            host(json!({"LogConfig": {"Type": "syslog", "Config": {"max-size": "1k"}}})).unwrap();
        let o = h.options();
        assert_eq!(o.log_driver, "syslog");
        assert_eq!(o.log_opts.get("max-size").map(String::as_str), Some("1k"));
        let mut h = host(json!({"LogConfig": {"Type": "none", "Config": null}})).unwrap();
        assert_eq!(h.options().log_driver, "none");
    }

    #[test]
    fn tmpfs_mounts_are_read_as_moby_converts_them() {
        let m: Vec<BodyMount> = serde_json::from_value(json!([
            {"Type": "tmpfs", "Target": "/x", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 1016}},
            {"Type": "tmpfs", "Target": "/y", "ReadOnly": true}
        ]))
        .unwrap();
        let r = mount_requests(&[], None, &m).unwrap();
        assert_eq!(r[0].kind, engine::MountKind::Tmpfs);
        assert_eq!(
            (r[0].target.as_str(), r[0].mode.as_str()),
            ("/x", "mode=1770,size=1m")
        );
        assert_eq!((r[1].mode.as_str(), r[1].read_only), ("ro", true));
    }
}
