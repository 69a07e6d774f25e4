//! The HTTP server: the Docker Engine API subset, the dashboard's JSON API and the built web app.
//!
//! [`app`] builds the whole [`axum::Router`] from an [`AppState`]; [`serve`] binds it to a
//! loopback TCP address (and optionally a unix socket) and runs it until Ctrl-C or SIGTERM.
//!
//! Routing follows moby: every Docker route answers both bare (`/version`) and version-prefixed
//! (`/v1.50/version`); the prefix is checked and stripped before routing, so each route is
//! declared once. Anything unknown, or a known path with an unknown method, is a 404
//! `{"message":"page not found"}` with `Content-Type: application/json` exactly, which is what the
//! docker CLI needs to print the message. Non-API `GET`s that match no route go to the dashboard.
//!
//! Request bodies are capped at [`JSON_BODY_LIMIT`] except the streamed uploads (`load`,
//! import, archive `PUT`, dashboard file `PUT`), which flow into the engine chunk by chunk.
//! Every route, Docker's included, refuses a foreign `Origin` and, on TCP, a `Host` that does
//! not name this server (cross-site requests and DNS rebinding, see `guard`); the dashboard
//! API's changes also need a JSON content type or `X-Strata-Request: 1` (see `api`).
//!
//! Deliberately absent (for now): TLS (so without team mode [`serve`] only listens on
//! loopback); `stats` and `update` of containers.
#![deny(missing_docs)]
#![recursion_limit = "256"]

mod api;
mod auth;
mod bridge;
mod distribution;
mod docker;
mod error;
mod events;
mod guard;
mod listen;
mod params;
mod web;

pub use api::{ApiDoc, ROUTES as API_ROUTES};
pub use auth::ROUTE_ROLES;
pub use docker::containers::inspect_json as container_inspect_json;
pub use docker::images::inspect_json as image_inspect_json;
pub use docker::networks::network_json;
pub use error::ApiError;
pub use listen::{serve, ServeOptions, Server, UnixSocket, DEFAULT_SOCKET};
pub use web::has_embedded_dashboard;

use axum::extract::Request;
use axum::http::header::{HeaderName, HeaderValue, SERVER};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::path::PathBuf;
use std::sync::Arc;
use tower::Layer;

/// The newest Docker Engine API version served; advertised in `Api-Version`.
pub const API_VERSION: &str = "1.50";
/// The oldest Docker Engine API version accepted in a `/v<version>/` prefix. moby 25+ says
/// 1.24; 1.22 is accepted because skopeo 1.9 (Debian 12) talks to `docker-daemon:` with a
/// pinned `/v1.22/` prefix and no negotiation, and what it uses (`/images/get`,
/// `/images/load`) has the same shape there.
pub const MIN_API_VERSION: &str = "1.22";
/// Strata's own version, as reported by `/version` and the `Server` header.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The largest request body a non-streaming endpoint reads (1 MiB).
pub const JSON_BODY_LIMIT: usize = 1 << 20;

/// What every handler can reach. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    web_dir: Option<PathBuf>,
    engine: std::sync::OnceLock<Arc<engine::Engine>>,
    /// Held while the engine opens, so concurrent first requests open the data directory once.
    opening: std::sync::Mutex<()>,
    hub: std::sync::OnceLock<events::Hub>,
    auth: bool,
    /// Host names accepted in `Host` besides loopback addresses and `localhost`.
    allowed_hosts: Vec<String>,
    /// The users whose TCP clients are served without team mode (`None`: any).
    allowed_uids: Option<Vec<u32>>,
    /// What the Docker API keeps about running containers between requests (attach clients
    /// waiting for a start, console sizes, exec instances).
    runs: docker::run::Runs,
    /// `true` once the server was told to stop: streams that never end by themselves (the
    /// event streams, log followers) end then.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("root", &self.root)
            .field("web_dir", &self.web_dir)
            .finish()
    }
}

impl AppState {
    /// State for a server on the data directory `root`, serving the built dashboard from
    /// `web_dir` (trunk's `dist` directory) when given.
    pub fn new(root: PathBuf, web_dir: Option<PathBuf>) -> Self {
        AppState {
            inner: Arc::new(Inner {
                root,
                web_dir,
                engine: Default::default(),
                opening: Default::default(),
                hub: Default::default(),
                auth: false,
                allowed_hosts: Vec::new(),
                allowed_uids: None,
                runs: Default::default(),
                stopping: tokio::sync::watch::channel(false).0,
            }),
        }
    }

    /// The same state with `edit` applied to a fresh copy of its settings (nothing opened yet
    /// is carried over).
    fn edit(self, edit: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|a| Inner {
            root: a.root.clone(),
            web_dir: a.web_dir.clone(),
            engine: Default::default(),
            opening: Default::default(),
            hub: Default::default(),
            auth: a.auth,
            allowed_hosts: a.allowed_hosts.clone(),
            allowed_uids: a.allowed_uids.clone(),
            runs: Default::default(),
            stopping: tokio::sync::watch::channel(false).0,
        });
        edit(&mut inner);
        AppState {
            inner: Arc::new(inner),
        }
    }

    /// The same state with team mode (bearer tokens, roles, audit log) on or off.
    pub fn with_auth(self, auth: bool) -> Self {
        self.edit(|i| i.auth = auth)
    }

    /// The same state accepting these names (or `name:port`s) in the `Host` header, besides
    /// loopback addresses and `localhost` (see [`app`]).
    pub fn with_allowed_hosts(self, hosts: Vec<String>) -> Self {
        self.edit(|i| i.allowed_hosts = hosts)
    }

    /// The names accepted in `Host` besides loopback addresses and `localhost`.
    pub fn allowed_hosts(&self) -> &[String] {
        &self.inner.allowed_hosts
    }

    /// The same state serving TCP clients of these users only (`None`: any user's), unless
    /// in team mode, where tokens decide.
    pub fn with_allowed_uids(self, uids: Option<Vec<u32>>) -> Self {
        self.edit(|i| i.allowed_uids = uids)
    }

    /// The users whose TCP clients are served without team mode (`None`: any).
    pub fn allowed_uids(&self) -> Option<&[u32]> {
        self.inner.allowed_uids.as_deref()
    }

    /// True in team mode.
    pub fn auth(&self) -> bool {
        self.inner.auth
    }

    /// The data directory.
    pub fn root(&self) -> &std::path::Path {
        &self.inner.root
    }

    /// The engine on the data directory, opened on first use.
    pub fn engine(&self) -> Result<Arc<engine::Engine>, ApiError> {
        if let Some(e) = self.inner.engine.get() {
            return Ok(e.clone());
        }
        let _opening = self.inner.opening.lock().unwrap_or_else(|e| e.into_inner());
        let engine = match self.inner.engine.get() {
            Some(e) => e.clone(),
            None => {
                let opened = engine::Engine::open(&self.inner.root).map_err(ApiError::from)?;
                self.inner.engine.get_or_init(|| Arc::new(opened)).clone()
            }
        };
        // Events flow from the moment the engine opens, whether or not anyone listens yet.
        self.inner.hub.get_or_init(|| events::Hub::start(&engine));
        Ok(engine)
    }

    /// The event fan-out of the engine (opening the engine if needed).
    pub(crate) fn hub(&self) -> Result<events::Hub, ApiError> {
        self.engine()?;
        Ok(self
            .inner
            .hub
            .get()
            .expect("started with the engine")
            .clone())
    }

    /// Runs a blocking engine call on the blocking pool.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&engine::Engine) -> Result<T, engine::EngineError> + Send + 'static,
    {
        let engine = self.engine()?;
        tokio::task::spawn_blocking(move || f(&engine))
            .await
            .map_err(|e| {
                ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            })?
            .map_err(ApiError::from)
    }

    /// Tells the endless streams that the server stops (see [`AppState::stopped`]).
    pub(crate) fn stop(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Completes once the server stops: an endless stream ends with it.
    pub(crate) fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.stopping.subscribe();
        async move {
            let _ = rx.wait_for(|stopping| *stopping).await;
        }
    }

    /// Whether the server stops, for a blocking loop to ask between two polls.
    pub(crate) fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.stopping.subscribe()
    }

    /// The Docker API's memory of running containers and exec instances.
    pub(crate) fn runs(&self) -> &docker::run::Runs {
        &self.inner.runs
    }

    /// The built dashboard's directory, if one was configured.
    pub fn web_dir(&self) -> Option<&std::path::Path> {
        self.inner.web_dir.as_deref()
    }
}

/// The API version a request asked for with its `/v<version>/` prefix; absent on bare paths.
/// Inserted into the request's extensions before routing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedVersion(pub String);

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let state_for_guard = state.clone();
    let routes = Router::new()
        .route("/api/audit", get(auth::audit_log))
        .merge(docker::routes())
        .merge(api::routes())
        .merge(distribution::routes())
        .layer(axum::extract::DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .method_not_allowed_fallback(not_found)
        .fallback(web::fallback);
    let routes = if state.auth() {
        routes.layer(middleware::from_fn_with_state(state.clone(), auth::guard))
    } else {
        routes
    };
    let routes = routes.with_state(state);
    // The version prefix must be stripped before routing, so this middleware wraps the router
    // instead of being added with `Router::layer` (which runs after routing).
    let versioned = middleware::from_fn(strip_version).layer(routes);
    Router::new()
        .fallback_service(versioned)
        .layer(middleware::from_fn_with_state(
            state_for_guard,
            guard::guard,
        ))
        .layer(middleware::map_response(common_headers))
        .layer(middleware::map_request(bridge::ReadToEnd::layer))
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("page not found")
}

/// Headers moby's middleware puts on every response.
async fn common_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        SERVER,
        HeaderValue::from_static(concat!("Strata/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    h.insert(
        HeaderName::from_static("api-version"),
        HeaderValue::from_static(API_VERSION),
    );
    h.insert(
        HeaderName::from_static("ostype"),
        HeaderValue::from_static("linux"),
    );
    h.insert(
        HeaderName::from_static("docker-experimental"),
        HeaderValue::from_static("false"),
    );
    res
}

/// Checks and strips a `/v<version>` prefix (moby's `versionMatcher`, `[0-9.]+`), recording the
/// version in the request's extensions. `/v2/…` is left alone: it is the registry API.
async fn strip_version(mut req: Request, next: Next) -> Response {
    if let Some((version, rest)) = split_version(req.uri().path()) {
        if compare_versions(version, MIN_API_VERSION) == std::cmp::Ordering::Less {
            return ApiError::bad_request(format!(
                "client version {version} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
            ))
            .into_response();
        }
        if compare_versions(version, API_VERSION) == std::cmp::Ordering::Greater {
            return ApiError::bad_request(format!(
                "client version {version} is too new. Maximum supported API version is {API_VERSION}"
            ))
            .into_response();
        }
        let version = version.to_string();
        let path_and_query = match req.uri().query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_string(),
        };
        let mut parts = req.uri().clone().into_parts();
        match path_and_query.parse() {
            Ok(pq) => parts.path_and_query = Some(pq),
            Err(_) => return not_found().await.into_response(),
        }
        match axum::http::Uri::from_parts(parts) {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => return not_found().await.into_response(),
        }
        req.extensions_mut().insert(RequestedVersion(version));
    }
    next.run(req).await
}

/// `/v1.50/images/json` → `("1.50", "/images/json")`; `None` when there is no version prefix.
fn split_version(path: &str) -> Option<(&str, &str)> {
    if distribution::is_registry_path(path) {
        return None;
    }
    let rest = path.strip_prefix("/v")?;
    let end = rest.find('/')?;
    let (version, rest) = rest.split_at(end);
    let valid = !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    valid.then_some((version, rest))
}

/// moby's `versions.compare`: dot-separated numbers, missing parts count as 0.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let mut a = a.split('.');
    let mut b = b.split('.');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (x, y) => {
                let x: u64 = x.and_then(|s| s.parse().ok()).unwrap_or(0);
                let y: u64 = y.and_then(|s| s.parse().ok()).unwrap_or(0);
                if x != y {
                    return x.cmp(&y);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::*;

    #[test]
    fn version_prefix() {
        assert_eq!(split_version("/v1.50/version"), Some(("1.50", "/version")));
        assert_eq!(
            split_version("/v1.24/images/a/b:c/json"),
            Some(("1.24", "/images/a/b:c/json"))
        );
        // the registry API, never an Engine API version
        assert_eq!(split_version("/v2/"), None);
        assert_eq!(split_version("/v2/team/app/manifests/1"), None);
        assert_eq!(split_version("/v2.0/version"), Some(("2.0", "/version")));
        assert_eq!(split_version("/v1.50"), None);
        assert_eq!(split_version("/version"), None);
        assert_eq!(split_version("/v/version"), None);
        assert_eq!(split_version("/vx1/version"), None);
    }

    #[test]
    fn version_order() {
        assert_eq!(compare_versions("1.50", "1.24"), Greater);
        assert_eq!(compare_versions("1.9", "1.24"), Less);
        assert_eq!(compare_versions("1.24", "1.24"), Equal);
        assert_eq!(compare_versions("1.24.0", "1.24"), Equal);
        assert_eq!(compare_versions("2", "1.50"), Greater);
    }
}
