//! Repositories, endpoints and the URL arithmetic of the distribution API (scheme choice,
//! `Location` resolution, query strings, `Link` headers). No I/O.

use crate::RegistryConfig;
use image_ref::Reference;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

pub use image_ref::DOCKER_HUB_REGISTRY;

/// A repository on a registry: where manifests, blobs and tags live.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repo {
    registry: String,
    name: String,
}

impl Repo {
    /// A repository `name` (`library/busybox`) on `registry` (`host[:port]`). `docker.io` and
    /// `index.docker.io` become [`DOCKER_HUB_REGISTRY`].
    pub fn new(registry: &str, name: &str) -> Repo {
        let registry = if is_docker_hub(registry) {
            DOCKER_HUB_REGISTRY.to_string()
        } else {
            registry.to_string()
        };
        Repo {
            registry,
            name: name.to_string(),
        }
    }

    /// The repository a reference names (its tag and digest are ignored).
    pub fn from_reference(r: &Reference) -> Repo {
        Repo::new(r.domain(), r.path())
    }

    /// `host[:port]` requests go to (`registry-1.docker.io` for Docker Hub).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path (`library/busybox`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `http://host[:port]` for loopback registries, `https://host[:port]` otherwise. Use
    /// [`Repo::base_url_for`] to honour a configuration's insecure list.
    pub fn base_url(&self) -> String {
        registry_base_url(&self.registry, &[])
    }

    /// Like [`Repo::base_url`], also using HTTP for registries in `config.insecure` and HTTPS
    /// for those in `config.tls`.
    pub fn base_url_for(&self, config: &RegistryConfig) -> String {
        configured_base_url(&self.registry, config)
    }

    /// True when this repository is on Docker Hub.
    pub(crate) fn is_docker_hub(&self) -> bool {
        self.registry == DOCKER_HUB_REGISTRY
    }
}

impl From<&Reference> for Repo {
    fn from(r: &Reference) -> Repo {
        Repo::from_reference(r)
    }
}

impl fmt::Display for Repo {
    /// The familiar name Docker prints in messages: `busybox`, `user/app`, `127.0.0.1:5000/a/b`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_docker_hub() {
            match self.name.strip_prefix("library/") {
                Some(rest) if !rest.contains('/') => f.write_str(rest),
                _ => f.write_str(&self.name),
            }
        } else {
            write!(f, "{}/{}", self.registry, self.name)
        }
    }
}

use image_ref::is_docker_hub;

/// The registry name credentials are stored under: `docker.io` for Docker Hub.
pub(crate) fn credential_key(registry: &str) -> &str {
    if is_docker_hub(registry) {
        "docker.io"
    } else {
        registry
    }
}

/// Splits `host[:port]` / `[v6][:port]` into the host (brackets removed) and the port text.
fn split_host_port(hp: &str) -> (&str, Option<&str>) {
    if let Some(rest) = hp.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            return (host, after.strip_prefix(':'));
        }
    }
    match hp.rsplit_once(':') {
        // A bare IPv6 address has several colons and no port.
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (hp, None),
    }
}

/// Docker's rule: `localhost`, `127.0.0.0/8` and `::1` are spoken to over plain HTTP.
pub(crate) fn is_loopback(registry: &str) -> bool {
    let (host, _) = split_host_port(registry);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback())
        || host.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback())
}

fn is_insecure(registry: &str, insecure: &[String]) -> bool {
    let (host, _) = split_host_port(registry);
    insecure.iter().any(|e| {
        let e = e.trim().trim_end_matches('/');
        let e = e.strip_prefix("http://").unwrap_or(e);
        e.eq_ignore_ascii_case(registry)
            || (split_host_port(e).1.is_none() && split_host_port(e).0.eq_ignore_ascii_case(host))
    })
}

/// `scheme://host[:port]` for a registry.
pub(crate) fn registry_base_url(registry: &str, insecure: &[String]) -> String {
    let scheme = if is_loopback(registry) || is_insecure(registry, insecure) {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{registry}")
}

/// [`registry_base_url`], except that registries in `config.tls` use HTTPS even on loopback.
fn configured_base_url(registry: &str, config: &RegistryConfig) -> String {
    if config.tls.iter().any(|t| t.eq_ignore_ascii_case(registry)) {
        format!("https://{registry}")
    } else {
        registry_base_url(registry, &config.insecure)
    }
}

/// One place requests go: a registry or a mirror of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `scheme://host[:port][/prefix]`, no trailing slash.
    pub base: String,
    /// `host[:port]`: key for auth state and credentials.
    pub host: String,
}

impl Endpoint {
    pub(crate) fn registry(registry: &str, config: &RegistryConfig) -> Endpoint {
        Endpoint {
            base: configured_base_url(registry, config),
            host: registry.to_string(),
        }
    }

    /// A mirror from its configured URL; without a scheme the registry rules pick one.
    pub(crate) fn mirror(url: &str, config: &RegistryConfig) -> Option<Endpoint> {
        let url = url.trim().trim_end_matches('/');
        let (base, rest) = match url.split_once("://") {
            Some((scheme, rest)) if scheme == "http" || scheme == "https" => {
                (url.to_string(), rest)
            }
            Some(_) => return None,
            None => {
                let host = url.split('/').next().unwrap_or(url);
                let b = configured_base_url(host, config);
                (format!("{b}{}", &url[host.len()..]), url)
            }
        };
        let host = rest.split('/').next().unwrap_or(rest).to_string();
        if host.is_empty() {
            return None;
        }
        // Mirrors are addressed at their root: `/v2/` is appended to `base`.
        let base = base.strip_suffix("/v2").unwrap_or(&base).to_string();
        Some(Endpoint { base, host })
    }

    /// Where reads of `repo` go, in order: Docker Hub's mirrors first, then the registry.
    pub(crate) fn for_read(repo: &Repo, config: &RegistryConfig) -> Vec<Endpoint> {
        let mut v = Vec::new();
        if repo.is_docker_hub() {
            v.extend(
                config
                    .mirrors
                    .iter()
                    .filter_map(|m| Endpoint::mirror(m, config)),
            );
        }
        v.push(Endpoint::registry(repo.registry(), config));
        v
    }

    /// `{base}/v2/{rest}`.
    pub(crate) fn url(&self, rest: &str) -> String {
        format!("{}/v2/{rest}", self.base)
    }
}

/// Characters escaped in query values: everything but unreserved ones.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query value.
pub(crate) fn encode_query(v: &str) -> String {
    utf8_percent_encode(v, QUERY).to_string()
}

/// Appends `key=value` to a URL that may already carry a query string.
pub(crate) fn add_query(url: &str, key: &str, value: &str) -> String {
    let (url, frag) = match url.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (url, None),
    };
    let sep = if !url.contains('?') {
        "?"
    } else if url.ends_with('?') || url.ends_with('&') {
        ""
    } else {
        "&"
    };
    let mut s = format!("{url}{sep}{}={}", encode_query(key), encode_query(value));
    if let Some(f) = frag {
        s.push('#');
        s.push_str(f);
    }
    s
}

/// `scheme://authority` of an absolute URL.
fn origin(url: &str) -> &str {
    match url.find("://") {
        Some(i) => match url[i + 3..].find(['/', '?', '#']) {
            Some(j) => &url[..i + 3 + j],
            None => url,
        },
        None => url,
    }
}

/// Resolves a `Location` / `Link` target against the URL of the request that returned it:
/// absolute, scheme-relative (`//host/p`), absolute-path (`/v2/…`) or path-relative.
pub(crate) fn resolve(request_url: &str, location: &str) -> String {
    let location = location.trim();
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return location.to_string();
    }
    if location.starts_with("//") {
        let scheme = request_url.split("://").next().unwrap_or("https");
        return format!("{scheme}:{location}");
    }
    let origin = origin(request_url);
    if location.starts_with('/') {
        return format!("{origin}{location}");
    }
    let path = request_url[origin.len()..]
        .split(['?', '#'])
        .next()
        .unwrap_or("");
    if location.is_empty() {
        return request_url.to_string();
    }
    if location.starts_with('?') {
        return format!("{origin}{path}{location}");
    }
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    format!("{origin}{dir}{location}")
}

/// The target of `rel="next"` in a `Link` header, if any.
pub(crate) fn next_link(link: &str) -> Option<&str> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .filter_map(|p| p.split_once('='))
            .any(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|r| r == "next")
            })
            .then_some(target)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_and_reference() {
        let r = Reference::parse_normalized("busybox:1").unwrap();
        let repo = Repo::from(&r);
        assert_eq!(repo.registry(), DOCKER_HUB_REGISTRY);
        assert_eq!(repo.name(), "library/busybox");
        assert_eq!(repo.to_string(), "busybox");
        assert_eq!(Repo::new("docker.io", "user/app").to_string(), "user/app");
        assert_eq!(
            Repo::new("127.0.0.1:5000", "bb").to_string(),
            "127.0.0.1:5000/bb"
        );
        assert_eq!(repo.base_url(), "https://registry-1.docker.io");
        let r = Reference::parse_normalized("localhost:5000/a/b").unwrap();
        assert_eq!(Repo::from(&r).base_url(), "http://localhost:5000");
    }

    #[test]
    fn schemes() {
        let none: &[String] = &[];
        for (reg, want) in [
            ("localhost", "http"),
            ("LOCALHOST:5000", "http"),
            ("127.0.0.1:5000", "http"),
            ("127.8.9.10", "http"),
            ("[::1]:5000", "http"),
            ("::1", "http"),
            ("128.0.0.1:5000", "https"),
            ("localhost.example.com:5000", "https"),
            ("[::2]:5000", "https"),
            ("ghcr.io", "https"),
        ] {
            assert_eq!(
                registry_base_url(reg, none),
                format!("{want}://{reg}"),
                "{reg}"
            );
        }
        let insecure = vec!["reg.lan:5000".to_string(), "other.lan".to_string()];
        assert!(registry_base_url("reg.lan:5000", &insecure).starts_with("http://"));
        assert!(registry_base_url("reg.lan:5001", &insecure).starts_with("https://"));
        assert!(registry_base_url("other.lan:8080", &insecure).starts_with("http://"));
    }

    #[test]
    fn tls_list_wins_over_loopback() {
        let config = RegistryConfig {
            tls: vec!["127.0.0.1:5443".into()],
            ..Default::default()
        };
        let base = |r: &str| Endpoint::registry(r, &config).base;
        assert_eq!(base("127.0.0.1:5443"), "https://127.0.0.1:5443");
        assert_eq!(base("127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(
            Repo::new("127.0.0.1:5443", "a").base_url_for(&config),
            "https://127.0.0.1:5443"
        );
    }

    #[test]
    fn mirrors_only_for_hub_reads() {
        let config = RegistryConfig {
            mirrors: vec![
                "https://mirror.example/".into(),
                "127.0.0.1:5001".into(),
                "ftp://x".into(),
            ],
            ..Default::default()
        };
        let eps = Endpoint::for_read(&Repo::new("docker.io", "library/x"), &config);
        let bases: Vec<_> = eps.iter().map(|e| e.base.as_str()).collect();
        assert_eq!(
            bases,
            [
                "https://mirror.example",
                "http://127.0.0.1:5001",
                "https://registry-1.docker.io"
            ]
        );
        assert_eq!(eps[1].host, "127.0.0.1:5001");
        let eps = Endpoint::for_read(&Repo::new("ghcr.io", "x"), &config);
        assert_eq!(eps.len(), 1);
    }

    #[test]
    fn locations() {
        let req = "http://127.0.0.1:5000/v2/a/blobs/uploads/";
        assert_eq!(
            resolve(req, "/v2/a/blobs/uploads/u1?_state=x"),
            "http://127.0.0.1:5000/v2/a/blobs/uploads/u1?_state=x"
        );
        assert_eq!(
            resolve(req, "https://s3.example/b?sig=1"),
            "https://s3.example/b?sig=1"
        );
        assert_eq!(resolve(req, "//cdn.example/b"), "http://cdn.example/b");
        assert_eq!(
            resolve(req, "u2"),
            "http://127.0.0.1:5000/v2/a/blobs/uploads/u2"
        );
        assert_eq!(
            resolve("http://h/v2/_catalog?n=1", "?n=1&last=a"),
            "http://h/v2/_catalog?n=1&last=a"
        );
        assert_eq!(
            add_query("http://h/u?_state=a%3D", "digest", "sha256:ab"),
            "http://h/u?_state=a%3D&digest=sha256%3Aab"
        );
        assert_eq!(
            add_query("http://h/u", "digest", "sha256:ab"),
            "http://h/u?digest=sha256%3Aab"
        );
        assert_eq!(add_query("http://h/u?", "a", "b c"), "http://h/u?a=b%20c");
    }

    #[test]
    fn links() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=b&n=2>; rel="next""#),
            Some("/v2/_catalog?last=b&n=2")
        );
        assert_eq!(next_link(r#"<a>; rel="prev", <b>; rel=next"#), Some("b"));
        assert_eq!(next_link("garbage"), None);
    }
}
