//! Strata's configuration directory: `strata.toml` (the OCI runtime, registry mirrors, insecure
//! registries, parallel downloads) and `config.json`, the credentials in Docker's format.
//!
//! The directory is `$STRATA_CONFIG`, else `$XDG_CONFIG_HOME/strata`, else `~/.config/strata`.

use crate::{EngineError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The configuration directory.
pub fn config_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("STRATA_CONFIG").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("strata");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".config/strata")
}

/// `strata.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `runtime = "runc"`: the OCI runtime containers run with (`runc`, `crun`, `youki`, or a
    /// path). `--runtime`/`$STRATA_RUNTIME` overrides it; without either, the first runtime
    /// that passes the probe is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// The `[registry]` table.
    #[serde(default)]
    pub registry: RegistrySettings,
}

/// `[registry]`: how pulls and pushes reach registries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySettings {
    /// Mirrors tried in order for `docker.io` pulls, before the origin (URLs such as
    /// `http://127.0.0.1:5001`).
    #[serde(default)]
    pub mirrors: Vec<String>,
    /// Registries (`host[:port]`) reached over plain HTTP. Loopback registries always are.
    #[serde(default)]
    pub insecure: Vec<String>,
    /// Mirrors of other registries: `"127.0.0.1:5000" = ["http://127.0.0.1:5001"]`.
    #[serde(default)]
    pub registry_mirrors: BTreeMap<String, Vec<String>>,
    /// Registries `search` looks through (`host[:port]`).
    #[serde(default)]
    pub search: Vec<String>,
    /// Layers downloaded at once.
    #[serde(default = "default_downloads")]
    pub max_concurrent_downloads: usize,
    /// Push uploads in chunks of at most this many bytes (one PATCH with `Content-Range`
    /// each), for registries or proxies that cap a request's size; 0 (the default) uploads
    /// each blob in one request.
    #[serde(default)]
    pub upload_chunk_size: u64,
    /// Seconds a registry connection may stay silent before the request fails as stalled
    /// (then retried like any broken connection); default 60.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_secs: u64,
}

fn default_downloads() -> usize {
    3
}

fn default_idle_timeout() -> u64 {
    registry_client::DEFAULT_IDLE_TIMEOUT.as_secs()
}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings {
            mirrors: Vec::new(),
            insecure: Vec::new(),
            registry_mirrors: BTreeMap::new(),
            search: Vec::new(),
            max_concurrent_downloads: 3,
            upload_chunk_size: 0,
            idle_timeout_secs: default_idle_timeout(),
        }
    }
}

impl Config {
    /// Reads `strata.toml` in `dir`; a missing file is the default configuration.
    pub fn load(dir: &Path) -> Result<Config> {
        let path = dir.join("strata.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| EngineError::invalid(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(EngineError::io(format!("read {}", path.display()), e)),
        }
    }
}

/// One entry of `config.json`'s `auths`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthEntry {
    /// base64(`user:password`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth: String,
}

/// Docker's `config.json`: credentials per registry host. Unknown keys are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthFile {
    /// Registry host → credentials.
    #[serde(default)]
    pub auths: BTreeMap<String, AuthEntry>,
    /// Everything else in the file.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// The key Docker files `docker.io` credentials under.
pub const DOCKER_IO_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// The `auths` key for a registry host.
pub fn auth_key(registry: &str) -> String {
    if image_ref::is_docker_hub(registry) {
        DOCKER_IO_AUTH_KEY.to_string()
    } else {
        registry.to_string()
    }
}

impl AuthFile {
    /// Reads `config.json` in `dir`; missing means no credentials.
    pub fn load(dir: &Path) -> Result<AuthFile> {
        let path = dir.join("config.json");
        match std::fs::read(&path) {
            Ok(raw) => serde_json::from_slice(&raw)
                .map_err(|e| EngineError::invalid(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AuthFile::default()),
            Err(e) => Err(EngineError::io(format!("read {}", path.display()), e)),
        }
    }

    /// Reads `config.json` in `dir`, changes it with `change` and writes it back when `change`
    /// says it changed, all under an exclusive lock on `config.json.lock` beside it: two
    /// logins at once (two terminals, a script) both land, neither overwrites the other's.
    pub fn update<T>(dir: &Path, change: impl FnOnce(&mut AuthFile) -> (bool, T)) -> Result<T> {
        std::fs::create_dir_all(dir)
            .map_err(|e| EngineError::io(format!("create {}", dir.display()), e))?;
        let lock_path = dir.join("config.json.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .and_then(|f| f.lock().map(|()| f))
            .map_err(|e| EngineError::io(format!("lock {}", lock_path.display()), e))?;
        let mut auth = AuthFile::load(dir)?;
        let (changed, out) = change(&mut auth);
        if changed {
            auth.save(dir)?;
        }
        drop(lock);
        Ok(out)
    }

    /// Writes `config.json` in `dir` atomically with mode 0600.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)
            .map_err(|e| EngineError::io(format!("create {}", dir.display()), e))?;
        crate::write_atomic_private(&dir.join("config.json"), &crate::pretty_json(self)?)
    }

    /// The username and password stored for `registry`.
    pub fn get(&self, registry: &str) -> Option<(String, String)> {
        let entry = self.auths.get(&auth_key(registry))?;
        let raw = base64_decode(&entry.auth)?;
        let text = String::from_utf8(raw).ok()?;
        let (u, p) = text.split_once(':')?;
        Some((u.to_string(), p.to_string()))
    }

    /// Stores credentials for `registry`.
    pub fn set(&mut self, registry: &str, user: &str, password: &str) {
        self.auths.insert(
            auth_key(registry),
            AuthEntry {
                auth: base64_encode(format!("{user}:{password}").as_bytes()),
            },
        );
    }

    /// Forgets `registry`; true when something was stored.
    pub fn remove(&mut self, registry: &str) -> bool {
        self.auths.remove(&auth_key(registry)).is_some()
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard or URL-safe base64, padded or not.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32;
        bits = bits << 6 | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Logins at once, each from its own thread and file handle as from its own process:
    /// every one lands, and the file stays readable by its owner only.
    #[test]
    fn logins_at_once_all_land() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|s| {
            for t in 0..8 {
                let dir = dir.path();
                s.spawn(move || {
                    for round in 0..5 {
                        let host = format!("r{t}-{round}.example:5000");
                        AuthFile::update(dir, |a| (true, a.set(&host, "u", "p"))).unwrap();
                    }
                });
            }
        });
        let auth = AuthFile::load(dir.path()).unwrap();
        for t in 0..8 {
            for round in 0..5 {
                let host = format!("r{t}-{round}.example:5000");
                assert_eq!(
                    auth.get(&host),
                    Some(("u".into(), "p".into())),
                    "{host} lost"
                );
            }
        }
        let mode = std::fs::metadata(dir.path().join("config.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(left.is_empty(), "temp files left: {left:?}");
    }

    #[test]
    fn base64_round_trip() {
        for s in ["", "a", "ab", "abc", "user:pa ss:word", "\u{00e9}t\u{00e9}"] {
            assert_eq!(
                base64_decode(&base64_encode(s.as_bytes())).unwrap(),
                s.as_bytes()
            );
        }
        assert_eq!(base64_encode(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64_decode("e30").unwrap(), b"{}");
    }

    #[test]
    fn config_file_and_credentials() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Config::load(dir.path()).unwrap(), Config::default());
        std::fs::write(
            dir.path().join("strata.toml"),
            "[registry]\nmirrors = [\"http://127.0.0.1:5001\"]\ninsecure = [\"reg.test:5000\"]\nmax_concurrent_downloads = 5\n",
        )
        .unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(c.registry.mirrors, ["http://127.0.0.1:5001"]);
        assert_eq!(c.registry.max_concurrent_downloads, 5);
        std::fs::write(dir.path().join("strata.toml"), "runtime = \"runc\"\n").unwrap();
        assert_eq!(
            Config::load(dir.path()).unwrap().runtime.as_deref(),
            Some("runc")
        );
        std::fs::write(dir.path().join("strata.toml"), "[registry]\nmirror = []\n").unwrap();
        assert!(Config::load(dir.path())
            .unwrap_err()
            .to_string()
            .contains("unknown field `mirror`"));

        let mut a = AuthFile::default();
        a.set("127.0.0.1:5000", "alice", "s3cr:et");
        a.save(dir.path()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("config.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = AuthFile::load(dir.path()).unwrap();
        assert_eq!(
            b.get("127.0.0.1:5000"),
            Some(("alice".into(), "s3cr:et".into()))
        );
        let mut b = b;
        assert!(b.remove("127.0.0.1:5000"));
        assert!(!b.remove("127.0.0.1:5000"));
    }
}
