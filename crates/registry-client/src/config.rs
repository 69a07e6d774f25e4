//! Client configuration and where credentials come from.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

/// How the client reaches registries. `Default` gives Docker's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Registries (`host[:port]`, or a bare `host` for every port) spoken to over plain HTTP.
    /// Loopback registries (`localhost`, `127.0.0.0/8`, `::1`) use HTTP without being listed.
    pub insecure: Vec<String>,
    /// Registries (`host[:port]`) spoken to over HTTPS even on loopback: mirrors configured
    /// with an `https://` URL, say.
    pub tls: Vec<String>,
    /// Pull-through mirrors for `docker.io`, as URLs (`https://mirror.example`), tried in order
    /// before Docker Hub itself for reads. Writes always go to Docker Hub.
    pub mirrors: Vec<String>,
    /// At most this many [`Client::get_blob`](crate::Client::get_blob) calls run at once per
    /// client (the others wait). Default 3, as Docker's `max-concurrent-downloads`.
    pub max_concurrent_downloads: usize,
    /// Retries after the first attempt for idempotent requests on connection errors, 429 and
    /// 5xx, waiting 100 ms, 400 ms, 1.6 s, … between attempts. Default 3.
    pub retries: u32,
    /// How long a connection may stay silent: a read (response headers, a body) that gets no
    /// byte for this long fails with a stalled-connection
    /// [`Error::Transport`](crate::Error::Transport), retried like any connection error. The
    /// answer to a `PUT` or `PATCH` (an upload's chunk or end, a manifest) is waited for at
    /// least [`UPLOAD_ANSWER_TIMEOUT`]: the registry may store, move or hash the blob first.
    /// Default [`DEFAULT_IDLE_TIMEOUT`] (60 s).
    pub idle_timeout: Duration,
    /// The `User-Agent` header.
    pub user_agent: String,
}

/// The least time the answer to a `PUT` or `PATCH` (an upload's chunk or end, a manifest) is
/// waited for: the registry may store, move or hash a large blob before it answers.
pub const UPLOAD_ANSWER_TIMEOUT: Duration = Duration::from_secs(300);

/// [`RegistryConfig::idle_timeout`]'s default: long enough for any live registry (Docker Hub's
/// CDN, a pull-through cache fetching from its upstream) to send a byte.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            insecure: Vec::new(),
            tls: Vec::new(),
            mirrors: Vec::new(),
            max_concurrent_downloads: 3,
            retries: 3,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            user_agent: concat!("strata-registry-client/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// A username and password (or identity token as password) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl Credentials {
    /// Credentials from two strings.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where the client looks up credentials.
///
/// `registry` is the registry as references name it: `docker.io` for Docker Hub (also when the
/// request goes to `registry-1.docker.io`), `host[:port]` otherwise, and the mirror's
/// `host[:port]` for requests to a mirror. Implemented for closures
/// `Fn(&str) -> Option<Credentials>` and for maps keyed by registry.
pub trait CredentialStore: Send + Sync {
    /// Credentials for `registry`, if any.
    fn get(&self, registry: &str) -> Option<Credentials>;
}

impl<F> CredentialStore for F
where
    F: Fn(&str) -> Option<Credentials> + Send + Sync,
{
    fn get(&self, registry: &str) -> Option<Credentials> {
        self(registry)
    }
}

impl CredentialStore for HashMap<String, Credentials> {
    fn get(&self, registry: &str) -> Option<Credentials> {
        HashMap::get(self, registry).cloned()
    }
}

impl CredentialStore for BTreeMap<String, Credentials> {
    fn get(&self, registry: &str) -> Option<Credentials> {
        BTreeMap::get(self, registry).cloned()
    }
}
