//! What `pull`, `push`, `search` and `login` share: the registry client set up from the
//! configuration and credentials, platforms, and Docker's progress messages. The verbs
//! themselves are in `pull.rs`, `push.rs` and `search.rs`, their stream plumbing in
//! `streams.rs`.
//! `check_login`.

use crate::config::{AuthFile, Config};
use crate::{EngineError, Result};
use image_ref::Reference;
use oci_model::{Digest, Platform};
use registry_client::{Client, Credentials, RegistryConfig, Repo};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// One progress message of a pull or push (`docker-api` renders Docker's JSON of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The layer (12 hex) or tag this line is about.
    pub id: Option<String>,
    /// `Pulling fs layer`, `Downloading`, `Already exists`, `Digest: …`.
    pub status: String,
    /// Bytes done, for `Downloading`, `Extracting`, `Pushing`.
    pub current: Option<u64>,
    /// Bytes in all.
    pub total: Option<u64>,
}

impl Progress {
    pub(crate) fn line(id: Option<&str>, status: impl Into<String>) -> Progress {
        Progress {
            id: id.map(str::to_string),
            status: status.into(),
            current: None,
            total: None,
        }
    }
}

/// Where progress goes; called from several threads.
pub type ProgressFn<'a> = &'a (dyn Fn(Progress) + Sync);

/// Registries as this configuration reaches them.
#[derive(Clone)]
pub struct RegistryEnv {
    pub(crate) client: Client,
    /// registry host → mirror hosts, tried in order before the registry itself.
    mirrors: BTreeMap<String, Vec<String>>,
    /// Registries `search` looks through.
    pub(crate) search: Vec<String>,
    /// Chunk size of blob uploads; `None` uploads each blob in one request.
    pub(crate) upload_chunk: Option<u64>,
}

fn host_of(url: &str) -> (String, bool) {
    let plain = url.starts_with("http://");
    let h = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/');
    (h.split('/').next().unwrap_or(h).to_string(), plain)
}

impl RegistryEnv {
    /// Clients for `config`, with the credentials of `auth`.
    pub fn new(config: &Config, auth: &AuthFile) -> RegistryEnv {
        let mut insecure = config.registry.insecure.clone();
        let mut tls = Vec::new();
        let mut mirrors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let lists = config
            .registry
            .mirrors
            .iter()
            .map(|m| ("docker.io".to_string(), m))
            .chain(
                config
                    .registry
                    .registry_mirrors
                    .iter()
                    .flat_map(|(r, ms)| ms.iter().map(move |m| (r.clone(), m))),
            );
        for (registry, url) in lists {
            let (host, plain) = host_of(url);
            // the scheme given is the one used, loopback or not
            if plain {
                insecure.push(host.clone());
            } else if url.starts_with("https://") {
                tls.push(host.clone());
            }
            mirrors.entry(registry).or_default().push(host);
        }
        let auth = auth.clone();
        let creds = move |registry: &str| auth.get(registry).map(|(u, p)| Credentials::new(u, p));
        let client = Client::new(
            RegistryConfig {
                insecure,
                tls,
                mirrors: Vec::new(),
                max_concurrent_downloads: config.registry.max_concurrent_downloads.max(1),
                idle_timeout: Duration::from_secs(config.registry.idle_timeout_secs.max(1)),
                user_agent: concat!("strata/", env!("CARGO_PKG_VERSION")).to_string(),
                ..Default::default()
            },
            Arc::new(creds),
        );
        RegistryEnv {
            client,
            mirrors,
            search: config.registry.search.clone(),
            upload_chunk: Some(config.registry.upload_chunk_size).filter(|n| *n > 0),
        }
    }

    /// The registry client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Mirrors first, then the registry itself.
    pub(crate) fn read_repos(&self, r: &Reference) -> Vec<(Repo, bool)> {
        let mut out: Vec<(Repo, bool)> = self
            .mirrors
            .get(r.domain())
            .into_iter()
            .flatten()
            .map(|m| (Repo::new(m, r.path()), true))
            .collect();
        out.push((Repo::from(r), false));
        out
    }
}

pub(crate) fn short(d: &Digest) -> String {
    d.hex()[..12].to_string()
}

/// This machine's platform (`linux/amd64`).
pub fn host_platform() -> Platform {
    Platform {
        os: "linux".into(),
        architecture: oci_model::host_arch().into(),
        ..Default::default()
    }
}

/// `os/arch[/variant]`.
pub fn parse_platform(s: &str) -> Result<Platform> {
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        [os, arch] => Ok(Platform {
            os: os.to_string(),
            architecture: arch.to_string(),
            ..Default::default()
        }),
        [os, arch, variant] => Ok(Platform {
            os: os.to_string(),
            architecture: arch.to_string(),
            variant: Some(variant.to_string()),
            ..Default::default()
        }),
        _ => Err(EngineError::invalid(format!(
            "invalid platform {s:?}: expected os/arch[/variant]"
        ))),
    }
}

/// Checks credentials against a registry (`login`).
pub fn check_login(config: &Config, registry: &str, user: &str, password: &str) -> Result<()> {
    let mut auth = AuthFile::default();
    auth.set(registry, user, password);
    let env = RegistryEnv::new(config, &auth);
    env.client.ping(registry)?;
    Ok(())
}
