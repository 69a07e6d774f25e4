//! System endpoints: `/_ping`, `/version` and `/info`.

use crate::{ApiError, AppState, API_VERSION, MIN_API_VERSION, VERSION};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, PRAGMA};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::OnceLock;

/// Headers moby's `pingHandler` sets (the version headers come from the common middleware).
fn ping_headers(res: &mut Response) {
    let h = res.headers_mut();
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        HeaderName::from_static("builder-version"),
        HeaderValue::from_static("1"),
    );
    h.insert(
        HeaderName::from_static("swarm"),
        HeaderValue::from_static("inactive"),
    );
}

/// `GET /_ping`: body `OK`.
pub(crate) async fn ping() -> Response {
    // `&str` answers `text/plain; charset=utf-8`.
    let mut res = "OK".into_response();
    ping_headers(&mut res);
    res
}

/// `HEAD /_ping`: the docker CLI's first request; only the headers matter.
pub(crate) async fn ping_head() -> Response {
    let mut res = ().into_response();
    ping_headers(&mut res);
    let h = res.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    res
}

/// moby's `SystemVersion`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Version {
    platform: Platform,
    components: [Component; 1],
    version: &'static str,
    api_version: &'static str,
    #[serde(rename = "MinAPIVersion")]
    min_api_version: &'static str,
    git_commit: &'static str,
    go_version: &'static str,
    os: &'static str,
    arch: &'static str,
    kernel_version: &'static str,
    experimental: bool,
    build_time: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Platform {
    name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Component {
    name: &'static str,
    version: &'static str,
    details: ComponentDetails,
}

/// moby's Engine component details are all strings, `Experimental` included.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ComponentDetails {
    api_version: &'static str,
    arch: &'static str,
    build_time: &'static str,
    experimental: &'static str,
    git_commit: &'static str,
    go_version: &'static str,
    kernel_version: &'static str,
    #[serde(rename = "MinAPIVersion")]
    min_api_version: &'static str,
    os: &'static str,
}

/// `GET /version`.
pub(crate) async fn version() -> Response {
    let arch = engine::oci_model::host_arch();
    let kernel = kernel_version();
    Json(Version {
        platform: Platform { name: "Strata" },
        components: [Component {
            name: "Engine",
            version: VERSION,
            details: ComponentDetails {
                api_version: API_VERSION,
                arch,
                build_time: "",
                experimental: "false",
                git_commit: "",
                go_version: "",
                kernel_version: kernel,
                min_api_version: MIN_API_VERSION,
                os: "linux",
            },
        }],
        version: VERSION,
        api_version: API_VERSION,
        min_api_version: MIN_API_VERSION,
        git_commit: "",
        go_version: "",
        os: "linux",
        arch,
        kernel_version: kernel,
        experimental: false,
        build_time: "",
    })
    .into_response()
}

/// `GET /info`: the subset of moby's `SystemInfo` that `docker info` prints. Everything not
/// about images and containers is answered for what Strata is: the default networks only, no
/// swarm, no plugins.
pub(crate) async fn info(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let (containers, images) = st
        .run(|e| {
            Ok((
                e.containers()?.len(),
                e.images(&image_store::ListOptions {
                    all: true,
                    filters: Vec::new(),
                })?
                .len(),
            ))
        })
        .await?;
    let root = st.root().display().to_string();
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Ok(Json(json!({
        "ID": engine_id(&root),
        "Containers": containers,
        "ContainersRunning": 0,
        "ContainersPaused": 0,
        "ContainersStopped": containers,
        "Images": images,
        "Driver": "strata",
        "DriverStatus": [],
        "Plugins": { "Volume": [], "Network": ["bridge", "host", "null"], "Authorization": null, "Log": [] },
        "MemoryLimit": true,
        "SwapLimit": true,
        "CpuCfsPeriod": false,
        "CpuCfsQuota": false,
        "CPUShares": false,
        "CPUSet": false,
        "PidsLimit": false,
        "IPv4Forwarding": false,
        "Debug": false,
        "NFd": 0,
        "OomKillDisable": false,
        "NGoroutines": 0,
        "SystemTime": now,
        "LoggingDriver": "",
        "CgroupDriver": "none",
        "CgroupVersion": "",
        "NEventsListener": 0,
        "KernelVersion": kernel_version(),
        "OperatingSystem": operating_system(),
        "OSVersion": "",
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": { "IndexConfigs": {}, "InsecureRegistryCIDRs": [], "Mirrors": [] },
        "NCPU": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "MemTotal": mem_total(),
        "GenericResources": null,
        "DockerRootDir": root,
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": hostname(),
        "Labels": [],
        "ExperimentalBuild": false,
        "ServerVersion": VERSION,
        "Runtimes": {},
        "DefaultRuntime": "",
        "Swarm": {
            "NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false,
            "Error": "", "RemoteManagers": null
        },
        "LiveRestoreEnabled": false,
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": { "ID": "" },
        "RuncCommit": { "ID": "" },
        "InitCommit": { "ID": "" },
        "SecurityOptions": [],
        "CDISpecDirs": [],
        "Warnings": [],
    })))
}

/// A stable ID for this data directory (moby keeps a random one in `engine-id`).
fn engine_id(root: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    root.hash(&mut h);
    let a = h.finish();
    "strata".hash(&mut h);
    let b = h.finish();
    format!("{a:016x}{b:016x}")
}

fn first_line(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn hostname() -> String {
    first_line("/proc/sys/kernel/hostname")
}

/// `PRETTY_NAME` from `/etc/os-release`, as moby reports the host's distribution.
fn operating_system() -> String {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into())
}

/// `MemTotal` from `/proc/meminfo`, in bytes.
fn mem_total() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// `uname -r`, read once from procfs; empty when unavailable.
fn kernel_version() -> &'static str {
    static KERNEL: OnceLock<String> = OnceLock::new();
    KERNEL.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    })
}

/// `POST /networks/prune`: the networks `docker system prune` asks to prune. Strata's
/// networks (`none`, `host`) are built in and never pruned, so nothing is deleted.
pub(crate) async fn prune_networks() -> Json<Value> {
    Json(serde_json::json!({ "NetworksDeleted": null }))
}

/// `POST /build/prune`: the build cache `docker system prune` asks to prune. Builds keep no
/// cache apart from images (which the image prune judges), so nothing is deleted.
pub(crate) async fn prune_build_cache() -> Json<Value> {
    Json(serde_json::json!({ "CachesDeleted": null, "SpaceReclaimed": 0 }))
}
