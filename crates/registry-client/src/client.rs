//! The client: one HTTP agent, authentication (Basic and Bearer tokens), retries, mirrors, and
//! the distribution API operations on top.

use crate::auth::{
    basic_header, lock, parse_challenges, repo_scope, AuthState, Scheme, TokenResponse,
};
use crate::error::{errors_text, parse_errors, Error, Result};
use crate::repo::{add_query, credential_key, next_link, resolve, Endpoint, Repo};
use crate::{CredentialStore, Credentials, RegistryConfig};
use oci_model::{media_types, Digest, Sha256Writer};
use serde::Deserialize;
use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use ureq::http::{self, Method, Response};
use ureq::{Body, SendBody};

/// The manifest media types asked for when the caller gives none: OCI manifest, OCI index,
/// Docker v2 schema 2 manifest, Docker manifest list.
pub const DEFAULT_MANIFEST_ACCEPT: &[&str] = &[
    media_types::OCI_MANIFEST,
    media_types::OCI_INDEX,
    media_types::DOCKER_MANIFEST,
    media_types::DOCKER_MANIFEST_LIST,
];

/// Largest manifest accepted (Docker uses 4 MiB; some registries allow more).
const MAX_MANIFEST: u64 = 8 << 20;
/// Largest JSON document (token, tag or catalog page) accepted.
const MAX_JSON: u64 = 16 << 20;
/// How much of an error body is read.
const MAX_ERROR_BODY: u64 = 64 << 10;
/// Pages followed at most when listing.
const MAX_PAGES: usize = 100_000;

/// A blocking registry client. Cheap to clone (an `Arc` inside); clones share the connection
/// pool, the auth state and the cached bearer tokens, which are kept per (registry, scope)
/// until they expire.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: RegistryConfig,
    creds: Arc<dyn CredentialStore>,
    agent: ureq::Agent,
    auth: AuthState,
    downloads: Semaphore,
}

/// A request body.
enum Payload<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// A body that can be sent only once, with its exact length.
    Stream(&'a mut dyn Read, u64),
}

/// One request, re-sendable unless its body is a stream that was already sent.
struct Call<'a> {
    method: Method,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Payload<'a>,
    streamed: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl<'a> Call<'a> {
    fn new(method: Method, url: String) -> Call<'a> {
        Call {
            method,
            url,
            headers: Vec::new(),
            body: Payload::Empty,
            streamed: false,
        }
    }
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    fn body(mut self, body: Payload<'a>) -> Self {
        self.body = body;
        self
    }
}

impl Client {
    /// A client with `config`, asking `creds` for credentials when a registry challenges.
    pub fn new(config: RegistryConfig, creds: Arc<dyn CredentialStore>) -> Client {
        use ureq::tls::{RootCerts, TlsConfig};
        // The system's trust store (Docker uses the system roots too), read only when the
        // first TLS connection is made: a pull from a plain-HTTP registry never loads it.
        let roots = RootCerts::PlatformVerifier;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .user_agent(config.user_agent.clone())
            // Blob GETs redirect to storage on other hosts: never send our credentials there.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .max_redirects(10)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_per_read(Some(Duration::from_secs(300)))
            .build()
            .new_agent();
        let downloads = Semaphore::new(config.max_concurrent_downloads.max(1));
        Client {
            inner: Arc::new(Inner {
                config,
                creds,
                agent,
                auth: AuthState::default(),
                downloads,
            }),
        }
    }

    /// The configuration the client was made with.
    pub fn config(&self) -> &RegistryConfig {
        &self.inner.config
    }

    // ---------------------------------------------------------------------------------------
    // Operations

    /// `GET /v2/` on `registry` (`host[:port]`, `docker.io`). Succeeds on 200, and on a 401
    /// challenge that the configured credentials (or an anonymous bearer token) satisfy.
    pub fn ping(&self, registry: &str) -> Result<()> {
        let ep = Endpoint::registry(Repo::new(registry, "").registry(), &self.inner.config);
        self.retrying(|| {
            let mut call = Call::new(Method::GET, ep.url(""));
            let resp = self.send(&ep, &[], &mut call)?;
            if resp.status().is_success() {
                drain(resp);
                Ok(())
            } else {
                Err(error_from(resp, || format!("registry {registry}")))
            }
        })
    }

    /// Fetches a manifest by tag or digest. Returns its exact bytes, its media type (the
    /// `Content-Type`, or the body's `mediaType` when the registry sends a generic one) and
    /// the sha256 of the bytes. That digest is checked against `Docker-Content-Digest` and,
    /// when `reference` is a digest, against it ([`Error::DigestMismatch`]). An empty
    /// `accept` means [`DEFAULT_MANIFEST_ACCEPT`].
    pub fn get_manifest(
        &self,
        repo: &Repo,
        reference: &str,
        accept: &[&str],
    ) -> Result<(Vec<u8>, String, Digest)> {
        let want = parse_reference(reference)?;
        let accept = if accept.is_empty() {
            DEFAULT_MANIFEST_ACCEPT
        } else {
            accept
        }
        .join(", ");
        let scopes = [repo_scope(repo.name(), false)];
        self.on_read_endpoints(repo, |ep| {
            self.retrying(|| {
                let url = ep.url(&format!("{}/manifests/{reference}", repo.name()));
                let mut call = Call::new(Method::GET, url.clone()).header("accept", accept.clone());
                let resp = self.send(ep, &scopes, &mut call)?;
                if !resp.status().is_success() {
                    return Err(error_from(resp, || manifest_what(repo, reference)));
                }
                let announced =
                    header(&resp, "docker-content-digest").and_then(|d| Digest::parse(d).ok());
                let content_type = header(&resp, "content-type").map(str::to_string);
                let bytes = read_limited(resp, MAX_MANIFEST, &url)?;
                let digest = Digest::of(&bytes);
                for expected in [announced, want.clone()].into_iter().flatten() {
                    if expected != digest {
                        return Err(Error::DigestMismatch {
                            expected,
                            got: digest,
                        });
                    }
                }
                let media_type = manifest_media_type(content_type.as_deref(), &bytes);
                Ok((bytes, media_type, digest))
            })
        })
    }

    /// `HEAD` of a manifest: its digest, media type and size, or `None` when the registry has
    /// no such manifest. Falls back to a GET when the registry omits `Docker-Content-Digest`
    /// or `Content-Length`.
    pub fn head_manifest(
        &self,
        repo: &Repo,
        reference: &str,
    ) -> Result<Option<(Digest, String, u64)>> {
        let want = parse_reference(reference)?;
        let scopes = [repo_scope(repo.name(), false)];
        let accept = DEFAULT_MANIFEST_ACCEPT.join(", ");
        let r = self.on_read_endpoints(repo, |ep| {
            self.retrying(|| {
                let url = ep.url(&format!("{}/manifests/{reference}", repo.name()));
                let mut call = Call::new(Method::HEAD, url).header("accept", accept.clone());
                let resp = self.send(ep, &scopes, &mut call)?;
                if !resp.status().is_success() {
                    return Err(error_from(resp, || manifest_what(repo, reference)));
                }
                let digest =
                    header(&resp, "docker-content-digest").and_then(|d| Digest::parse(d).ok());
                let size = header(&resp, "content-length").and_then(|s| s.parse::<u64>().ok());
                let media_type =
                    header(&resp, "content-type").map(|c| media_type_of(c).to_string());
                drain(resp);
                if let (Some(w), Some(d)) = (&want, &digest) {
                    if w != d {
                        return Err(Error::DigestMismatch {
                            expected: w.clone(),
                            got: d.clone(),
                        });
                    }
                }
                Ok((digest, media_type, size))
            })
        });
        match r {
            Ok((Some(d), Some(mt), Some(size))) if !is_generic_type(&mt) => Ok(Some((d, mt, size))),
            Ok(_) => {
                let (bytes, mt, d) = self.get_manifest(repo, reference, &[])?;
                Ok(Some((d, mt, bytes.len() as u64)))
            }
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Pushes manifest `bytes` under `reference` (a tag, or the bytes' own digest) with
    /// `Content-Type: media_type`; returns the bytes' digest (checked against the registry's
    /// `Docker-Content-Digest`).
    pub fn put_manifest(
        &self,
        repo: &Repo,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest> {
        let want = parse_reference(reference)?;
        let digest = Digest::of(bytes);
        if let Some(w) = want {
            if w != digest {
                return Err(Error::DigestMismatch {
                    expected: w,
                    got: digest,
                });
            }
        }
        let ep = Endpoint::registry(repo.registry(), &self.inner.config);
        let scopes = [repo_scope(repo.name(), true)];
        self.retrying(|| {
            let url = ep.url(&format!("{}/manifests/{reference}", repo.name()));
            let mut call = Call::new(Method::PUT, url)
                .header("content-type", media_type)
                .body(Payload::Bytes(bytes));
            let resp = self.send(&ep, &scopes, &mut call)?;
            if !resp.status().is_success() {
                return Err(error_from(resp, || manifest_what(repo, reference)));
            }
            let announced =
                header(&resp, "docker-content-digest").and_then(|d| Digest::parse(d).ok());
            drain(resp);
            match announced {
                Some(got) if got != digest => Err(Error::DigestMismatch {
                    expected: digest.clone(),
                    got,
                }),
                _ => Ok(digest.clone()),
            }
        })
    }

    /// `HEAD` of a blob: its size, or `None` when the repository has no such blob.
    pub fn blob_exists(&self, repo: &Repo, digest: &Digest) -> Result<Option<u64>> {
        let scopes = [repo_scope(repo.name(), false)];
        let r = self.on_read_endpoints(repo, |ep| {
            self.retrying(|| {
                let url = ep.url(&format!("{}/blobs/{digest}", repo.name()));
                let mut call = Call::new(Method::HEAD, url);
                let resp = self.send(ep, &scopes, &mut call)?;
                if !resp.status().is_success() {
                    return Err(error_from(resp, || blob_what(repo, digest)));
                }
                let size = header(&resp, "content-length").and_then(|s| s.parse::<u64>().ok());
                drain(resp);
                size.ok_or_else(|| {
                    Error::InvalidResponse(format!(
                        "HEAD blob {digest} in {repo}: no Content-Length"
                    ))
                })
            })
        });
        match r {
            Ok(size) => Ok(Some(size)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Streams blob `digest` into `sink`, hashing on the way, and returns its size.
    ///
    /// Redirects (to blob storage) are followed. Connection errors, 429 and 5xx are retried
    /// with backoff: from scratch while nothing has been written to `sink`, else resumed with
    /// `Range: bytes=<written>-`; a registry that answers a resume with 200 instead of 206 ends
    /// the call with [`Error::InvalidResponse`]. At most
    /// [`RegistryConfig::max_concurrent_downloads`] calls run at once per client.
    ///
    /// When the bytes do not hash to `digest` the call fails with [`Error::DigestMismatch`]
    /// **after** they were written: the caller must then discard what `sink` received (write
    /// to a temporary file and rename it only on success). On any other error `sink` may also
    /// hold a partial blob.
    pub fn get_blob(&self, repo: &Repo, digest: &Digest, sink: &mut dyn Write) -> Result<u64> {
        let _permit = self.inner.downloads.acquire();
        let scopes = [repo_scope(repo.name(), false)];
        let endpoints = Endpoint::for_read(repo, &self.inner.config);
        let mut hasher = Sha256Writer::new();
        let mut last = None;
        for ep in &endpoints {
            match self.get_blob_from(ep, &scopes, repo, digest, sink, &mut hasher) {
                Ok(()) => {
                    last = None;
                    break;
                }
                // Another endpoint may be tried only while the sink is untouched.
                Err(e) if hasher.is_empty() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        if let Some(e) = last {
            return Err(e);
        }
        let size = hasher.len();
        let got = hasher.finish();
        if &got != digest {
            return Err(Error::DigestMismatch {
                expected: digest.clone(),
                got,
            });
        }
        Ok(size)
    }

    fn get_blob_from(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        repo: &Repo,
        digest: &Digest,
        sink: &mut dyn Write,
        hasher: &mut Sha256Writer,
    ) -> Result<()> {
        let url = ep.url(&format!("{}/blobs/{digest}", repo.name()));
        let mut attempt = 0;
        loop {
            let offset = hasher.len();
            let r = (|| {
                let mut call = Call::new(Method::GET, url.clone());
                if offset > 0 {
                    call = call.header("range", format!("bytes={offset}-"));
                }
                let resp = self.send(ep, scopes, &mut call)?;
                let status = resp.status().as_u16();
                match status {
                    200 if offset == 0 => {}
                    200 => {
                        drain(resp);
                        return Err(Error::InvalidResponse(format!(
                            "blob {digest} in {repo}: download broke off after {offset} bytes and the \
                             registry does not support resuming (Range ignored)"
                        )));
                    }
                    206 => {
                        let start = header(&resp, "content-range").and_then(content_range_start);
                        if start != Some(offset) {
                            drain(resp);
                            return Err(Error::InvalidResponse(format!(
                                "blob {digest} in {repo}: asked to resume at byte {offset}, got range {start:?}"
                            )));
                        }
                    }
                    _ => return Err(error_from(resp, || blob_what(repo, digest))),
                }
                copy_body(resp, &url, sink, hasher)
            })();
            match r {
                Err(e) if e.is_retryable() && attempt < self.inner.config.retries => {
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    /// Asks the registry to link blob `digest` from repository `from` (same registry) into
    /// `repo`. `true` when mounted (201); `false` when the registry started an ordinary upload
    /// instead (202), which is cancelled: the caller then uploads.
    pub fn mount_blob(&self, repo: &Repo, digest: &Digest, from: &str) -> Result<bool> {
        let ep = Endpoint::registry(repo.registry(), &self.inner.config);
        let scopes = [repo_scope(repo.name(), true), repo_scope(from, false)];
        let base = ep.url(&format!("{}/blobs/uploads/", repo.name()));
        let url = add_query(
            &add_query(&base, "mount", &digest.to_string()),
            "from",
            from,
        );
        self.retrying(|| {
            let mut call = Call::new(Method::POST, url.clone()).header("content-length", "0");
            let resp = self.send(&ep, &scopes, &mut call)?;
            match resp.status().as_u16() {
                201 => {
                    drain(resp);
                    Ok(true)
                }
                202 => {
                    let location = header(&resp, "location").map(|l| resolve(&url, l));
                    drain(resp);
                    if let Some(loc) = location {
                        self.cancel_upload(&ep, &scopes, &loc);
                    }
                    Ok(false)
                }
                _ => Err(error_from(resp, || blob_what(repo, digest))),
            }
        })
    }

    /// Uploads blob `digest` of `size` bytes read from `body`.
    ///
    /// With `chunk_size` `None`: monolithic, a POST opening the session then one PUT
    /// `?digest=` carrying the whole body with its `Content-Length`. With `Some(n)`: chunked,
    /// PATCHes of at most `n` bytes with `Content-Range: start-end` and
    /// `Content-Type: application/octet-stream`, each sent to the `Location` the previous
    /// answer gave, then an empty PUT `?digest=`. Relative and absolute `Location`s, with or
    /// without query strings, are handled.
    ///
    /// The body is hashed on the way: a body that does not hash to `digest` fails with
    /// [`Error::DigestMismatch`] (and the session is cancelled when still possible). The body
    /// is read once, so only the session start is retried. Exactly `size` bytes are read; a
    /// shorter body fails with [`Error::Io`].
    pub fn upload_blob(
        &self,
        repo: &Repo,
        digest: &Digest,
        size: u64,
        body: &mut dyn Read,
        chunk_size: Option<u64>,
    ) -> Result<()> {
        let ep = Endpoint::registry(repo.registry(), &self.inner.config);
        let scopes = [repo_scope(repo.name(), true)];
        let start_url = ep.url(&format!("{}/blobs/uploads/", repo.name()));
        let location = self.retrying(|| {
            let mut call = Call::new(Method::POST, start_url.clone()).header("content-length", "0");
            let resp = self.send(&ep, &scopes, &mut call)?;
            if !resp.status().is_success() {
                return Err(error_from(resp, || format!("repository {repo}")));
            }
            let loc = header(&resp, "location").map(|l| resolve(&start_url, l));
            drain(resp);
            loc.ok_or_else(|| Error::InvalidResponse(format!("upload to {repo}: no Location")))
        })?;
        let mut src = Source {
            inner: body,
            hasher: Sha256Writer::new(),
            error: None,
            size,
        };
        let r = match chunk_size {
            None => self.upload_monolithic(&ep, &scopes, repo, digest, &location, &mut src),
            Some(n) => {
                self.upload_chunked(&ep, &scopes, repo, digest, location, n.max(1), &mut src)
            }
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Some(source) = src.error.take() {
                    return Err(Error::Io {
                        context: format!("reading upload body of blob {digest}"),
                        source,
                    });
                }
                if src.hasher.len() == size {
                    let got = src.hasher.clone().finish();
                    if &got != digest {
                        return Err(Error::DigestMismatch {
                            expected: digest.clone(),
                            got,
                        });
                    }
                }
                Err(e)
            }
        }
    }

    fn upload_monolithic(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        repo: &Repo,
        digest: &Digest,
        location: &str,
        src: &mut Source<'_>,
    ) -> Result<()> {
        let url = add_query(location, "digest", &digest.to_string());
        let size = src.size;
        let mut seg = Segment { src, left: size };
        let mut call = Call::new(Method::PUT, url)
            .header("content-type", "application/octet-stream")
            .body(Payload::Stream(&mut seg, size));
        let resp = self.send(ep, scopes, &mut call)?;
        if !resp.status().is_success() {
            let e = error_from(resp, || blob_what(repo, digest));
            self.cancel_upload(ep, scopes, location);
            return Err(e);
        }
        drain(resp);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn upload_chunked(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        repo: &Repo,
        digest: &Digest,
        mut location: String,
        chunk: u64,
        src: &mut Source<'_>,
    ) -> Result<()> {
        let size = src.size;
        let mut offset = 0;
        while offset < size {
            let n = chunk.min(size - offset);
            let mut seg = Segment {
                src: &mut *src,
                left: n,
            };
            let mut call = Call::new(Method::PATCH, location.clone())
                .header("content-type", "application/octet-stream")
                .header("content-range", format!("{}-{}", offset, offset + n - 1))
                .body(Payload::Stream(&mut seg, n));
            let resp = match self.send(ep, scopes, &mut call) {
                Ok(r) => r,
                Err(e) => {
                    self.cancel_upload(ep, scopes, &location);
                    return Err(e);
                }
            };
            if !resp.status().is_success() {
                let e = error_from(resp, || blob_what(repo, digest));
                self.cancel_upload(ep, scopes, &location);
                return Err(e);
            }
            let next = header(&resp, "location").map(|l| resolve(&location, l));
            drain(resp);
            location = next.ok_or_else(|| {
                Error::InvalidResponse(format!(
                    "upload of blob {digest} to {repo}: PATCH answer without Location"
                ))
            })?;
            offset += n;
        }
        let got = src.hasher.clone().finish();
        if &got != digest {
            self.cancel_upload(ep, scopes, &location);
            return Err(Error::DigestMismatch {
                expected: digest.clone(),
                got,
            });
        }
        let url = add_query(&location, "digest", &digest.to_string());
        let mut call = Call::new(Method::PUT, url).header("content-length", "0");
        let resp = self.send(ep, scopes, &mut call)?;
        if !resp.status().is_success() {
            let e = error_from(resp, || blob_what(repo, digest));
            self.cancel_upload(ep, scopes, &location);
            return Err(e);
        }
        drain(resp);
        Ok(())
    }

    /// Best-effort `DELETE <location>` of an upload session.
    fn cancel_upload(&self, ep: &Endpoint, scopes: &[String], location: &str) {
        let mut call = Call::new(Method::DELETE, location.to_string());
        if let Ok(resp) = self.send(ep, scopes, &mut call) {
            drain(resp);
        }
    }

    /// All tags of `repo`, following `Link: <…>; rel="next"` pages.
    pub fn tags(&self, repo: &Repo) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let scopes = [repo_scope(repo.name(), false)];
        self.on_read_endpoints(repo, |ep| {
            let first = ep.url(&format!("{}/tags/list", repo.name()));
            self.paginate(
                ep,
                &scopes,
                first,
                &|| format!("repository {repo}"),
                |bytes, out| {
                    let page: TagList = serde_json::from_slice(bytes)
                        .map_err(|e| Error::InvalidResponse(format!("tags of {repo}: {e}")))?;
                    out.extend(page.tags.unwrap_or_default());
                    Ok(())
                },
            )
        })
    }

    /// All repository names on `registry` (`GET /v2/_catalog`, following pages). Docker Hub
    /// does not offer this.
    pub fn catalog(&self, registry: &str) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Catalog {
            #[serde(default)]
            repositories: Option<Vec<String>>,
        }
        let ep = Endpoint::registry(Repo::new(registry, "").registry(), &self.inner.config);
        let scopes = ["registry:catalog:*".to_string()];
        let first = ep.url("_catalog");
        self.paginate(
            &ep,
            &scopes,
            first,
            &|| format!("catalog of {registry}"),
            |bytes, out| {
                let page: Catalog = serde_json::from_slice(bytes)
                    .map_err(|e| Error::InvalidResponse(format!("catalog of {registry}: {e}")))?;
                out.extend(page.repositories.unwrap_or_default());
                Ok(())
            },
        )
    }

    fn paginate(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        first: String,
        what: &dyn Fn() -> String,
        mut page: impl FnMut(&[u8], &mut Vec<String>) -> Result<()>,
    ) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut url = first;
        for _ in 0..MAX_PAGES {
            let (bytes, next) = self.retrying(|| {
                let mut call =
                    Call::new(Method::GET, url.clone()).header("accept", "application/json");
                let resp = self.send(ep, scopes, &mut call)?;
                if !resp.status().is_success() {
                    return Err(error_from(resp, what));
                }
                let next = header(&resp, "link")
                    .and_then(next_link)
                    .map(|n| resolve(&url, n));
                Ok((read_limited(resp, MAX_JSON, &url)?, next))
            })?;
            page(&bytes, &mut out)?;
            match next {
                Some(n) if n != url => url = n,
                _ => return Ok(out),
            }
        }
        Err(Error::InvalidResponse(format!(
            "{}: more than {MAX_PAGES} pages",
            what()
        )))
    }

    // ---------------------------------------------------------------------------------------
    // Transport, auth and retries

    /// Runs `f` against each read endpoint (mirrors, then the registry) until one succeeds;
    /// the registry's own error is the one returned.
    fn on_read_endpoints<T>(
        &self,
        repo: &Repo,
        mut f: impl FnMut(&Endpoint) -> Result<T>,
    ) -> Result<T> {
        let endpoints = Endpoint::for_read(repo, &self.inner.config);
        let mut last = None;
        for ep in &endpoints {
            match f(ep) {
                Ok(v) => return Ok(v),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("there is always the registry endpoint"))
    }

    /// Runs `f` again after connection errors, 429 and 5xx, up to `config.retries` times.
    fn retrying<T>(&self, mut f: impl FnMut() -> Result<T>) -> Result<T> {
        let mut attempt = 0;
        loop {
            match f() {
                Err(e) if e.is_retryable() && attempt < self.inner.config.retries => {
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    fn creds(&self, ep: &Endpoint) -> Option<Credentials> {
        self.inner.creds.get(credential_key(&ep.host))
    }

    /// Sends `call` with whatever authorization is already known for `ep`; on a 401 answers
    /// the challenge (Basic credentials or a bearer token for `scopes`) and sends once more.
    /// The response is returned whatever its status.
    fn send(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        call: &mut Call<'_>,
    ) -> Result<Response<Body>> {
        let auth = self.known_auth(ep, scopes)?;
        let resp = self.raw(call, auth.as_deref())?;
        if resp.status() != http::StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let challenges = parse_challenges(
            resp.headers()
                .get_all("www-authenticate")
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        if call.streamed {
            return Ok(resp);
        }
        let key = scopes.join(" ");
        self.inner.auth.forget_token(&ep.host, &key);
        let Some((scheme, challenge_scope)) = Scheme::choose(&challenges) else {
            return Ok(resp);
        };
        self.inner.auth.set_scheme(&ep.host, scheme.clone());
        let fresh = match &scheme {
            Scheme::Basic => match self.creds(ep) {
                Some(c) => basic_header(&c),
                None => return Ok(resp),
            },
            Scheme::Bearer { realm, service } => self.fetch_token(
                ep,
                realm,
                service.as_deref(),
                scopes,
                challenge_scope.as_deref(),
            )?,
        };
        if matches!(scheme, Scheme::Basic) && auth.as_deref() == Some(fresh.as_str()) {
            // These credentials were just refused.
            return Ok(resp);
        }
        drain(resp);
        self.raw(call, Some(&fresh))
    }

    /// The `Authorization` value to send before any challenge, from what `ep` asked last time.
    fn known_auth(&self, ep: &Endpoint, scopes: &[String]) -> Result<Option<String>> {
        match self.inner.auth.scheme(&ep.host) {
            None => Ok(None),
            Some(Scheme::Basic) => Ok(self.creds(ep).map(|c| basic_header(&c))),
            Some(Scheme::Bearer { realm, service }) => {
                let key = scopes.join(" ");
                if let Some(t) = self.inner.auth.token(&ep.host, &key, Instant::now()) {
                    return Ok(Some(format!("Bearer {t}")));
                }
                self.fetch_token(ep, &realm, service.as_deref(), scopes, None)
                    .map(Some)
            }
        }
    }

    /// GETs a bearer token from `realm` for `scopes` (plus the challenge's own scope), with
    /// Basic credentials when there are any, caches it, and returns the header value.
    fn fetch_token(
        &self,
        ep: &Endpoint,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        challenge_scope: Option<&str>,
    ) -> Result<String> {
        let mut url = realm.to_string();
        if let Some(s) = service {
            url = add_query(&url, "service", s);
        }
        let mut all: Vec<&str> = scopes.iter().map(String::as_str).collect();
        for s in challenge_scope.unwrap_or("").split_whitespace() {
            if !all.contains(&s) {
                all.push(s);
            }
        }
        for s in all {
            url = add_query(&url, "scope", s);
        }
        let basic = self.creds(ep).map(|c| basic_header(&c));
        let (token, ttl) = self.retrying(|| {
            let mut call = Call::new(Method::GET, url.clone());
            let resp = self.raw(&mut call, basic.as_deref())?;
            if !resp.status().is_success() {
                return Err(error_from(resp, || format!("token service {realm}")));
            }
            let bytes = read_limited(resp, MAX_JSON, realm)?;
            serde_json::from_slice::<TokenResponse>(&bytes)
                .ok()
                .and_then(TokenResponse::into_token)
                .ok_or_else(|| {
                    Error::InvalidResponse(format!("token service {realm}: no token in answer"))
                })
        })?;
        self.inner.auth.put_token(
            &ep.host,
            &scopes.join(" "),
            token.clone(),
            Instant::now() + ttl,
        );
        Ok(format!("Bearer {token}"))
    }

    /// Sends one request as is.
    fn raw(&self, call: &mut Call<'_>, auth: Option<&str>) -> Result<Response<Body>> {
        let mut b = http::Request::builder()
            .method(call.method.clone())
            .uri(&call.url);
        for (k, v) in &call.headers {
            b = b.header(*k, v);
        }
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        let bad = |e: http::Error| Error::InvalidArgument(format!("{}: {e}", call.url));
        let agent = &self.inner.agent;
        let r = match &mut call.body {
            Payload::Empty => agent.run(b.body(()).map_err(bad)?),
            Payload::Bytes(bytes) => {
                let bytes: &[u8] = bytes;
                b = b.header("content-length", bytes.len().to_string());
                agent.run(b.body(bytes).map_err(bad)?)
            }
            Payload::Stream(reader, len) => {
                if call.streamed {
                    return Err(Error::InvalidArgument(format!(
                        "{}: request body already sent",
                        call.url
                    )));
                }
                call.streamed = true;
                b = b.header("content-length", len.to_string());
                agent.run(b.body(SendBody::from_reader(&mut **reader)).map_err(bad)?)
            }
        };
        r.map_err(|e| transport_error(&call.url, e))
    }
}

// -------------------------------------------------------------------------------------------
// Helpers

fn backoff(attempt: u32) -> Duration {
    // 100 ms, 400 ms, 1.6 s, 6.4 s, … capped at 30 s.
    Duration::from_millis(100u64.saturating_mul(4u64.saturating_pow(attempt)))
        .min(Duration::from_secs(30))
}

fn transport_error(url: &str, e: ureq::Error) -> Error {
    use ureq::Error as U;
    match e {
        U::BadUri(_) | U::Http(_) | U::RequireHttpsOnly(_) => {
            Error::InvalidArgument(format!("{url}: {e}"))
        }
        U::TooManyRedirects
        | U::RedirectFailed
        | U::BodyExceedsLimit(_)
        | U::LargeResponseHeader(..) => Error::InvalidResponse(format!("{url}: {e}")),
        e => Error::Transport {
            url: url.to_string(),
            message: e.to_string(),
        },
    }
}

fn io_transport_error(url: &str, e: io::Error) -> Error {
    match e.downcast::<ureq::Error>() {
        Ok(u) => transport_error(url, u),
        Err(e) => Error::Transport {
            url: url.to_string(),
            message: e.to_string(),
        },
    }
}

fn header<'r>(resp: &'r Response<Body>, name: &str) -> Option<&'r str> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Reads a whole (small) body.
fn read_limited(resp: Response<Body>, limit: u64, url: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut r = resp.into_body().into_reader().take(limit + 1);
    r.read_to_end(&mut out)
        .map_err(|e| io_transport_error(url, e))?;
    if out.len() as u64 > limit {
        return Err(Error::InvalidResponse(format!(
            "{url}: body larger than {limit} bytes"
        )));
    }
    Ok(out)
}

/// Reads what is left of a small body so the connection can be reused.
fn drain(resp: Response<Body>) {
    let _ = io::copy(
        &mut resp.into_body().into_reader().take(MAX_ERROR_BODY),
        &mut io::sink(),
    );
}

/// Turns a non-success response into an error: 401/403 → Unauthorized, 404 → NotFound
/// (`what` names the thing), anything else → Http.
fn error_from(resp: Response<Body>, what: impl FnOnce() -> String) -> Error {
    let status = resp.status();
    let mut body = Vec::new();
    let _ = resp
        .into_body()
        .into_reader()
        .take(MAX_ERROR_BODY)
        .read_to_end(&mut body);
    let errors = parse_errors(&body);
    let first = errors.first().cloned().unwrap_or_default();
    match status.as_u16() {
        401 | 403 => {
            if !first.code.is_empty() || !first.message.is_empty() {
                Error::Unauthorized {
                    code: first.code,
                    message: first.message,
                }
            } else if let Some(m) = other_message(&body) {
                Error::Unauthorized {
                    code: "UNAUTHORIZED".into(),
                    message: m,
                }
            } else if status == http::StatusCode::FORBIDDEN {
                Error::Unauthorized {
                    code: "DENIED".into(),
                    message: "requested access to the resource is denied".into(),
                }
            } else {
                Error::Unauthorized {
                    code: "UNAUTHORIZED".into(),
                    message: "authentication required".into(),
                }
            }
        }
        404 => Error::NotFound {
            what: what(),
            code: first.code,
            message: first.message,
        },
        code => {
            let message = if !errors.is_empty() {
                errors_text(&errors)
            } else {
                let mut m = format!(
                    "received unexpected HTTP status: {} {}",
                    code,
                    status.canonical_reason().unwrap_or("")
                );
                if let Some(o) = other_message(&body) {
                    m = format!("{m}: {o}");
                }
                m.trim_end().to_string()
            };
            Error::Http {
                status: code,
                message,
            }
        }
    }
}

/// `{"details": …}` / `{"message": …}` / `{"error": …}` bodies of token services and proxies.
fn other_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["details", "detail", "message", "error"]
        .iter()
        .find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_string))
        .filter(|m| !m.is_empty())
}

fn copy_body(
    resp: Response<Body>,
    url: &str,
    sink: &mut dyn Write,
    hasher: &mut Sha256Writer,
) -> Result<()> {
    let mut r = resp.into_body().into_reader();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_transport_error(url, e)),
        };
        sink.write_all(&buf[..n]).map_err(|e| Error::Io {
            context: format!("writing blob from {url}"),
            source: e,
        })?;
        hasher.update(&buf[..n]);
    }
}

/// `bytes 10-19/20` → 10.
fn content_range_start(v: &str) -> Option<u64> {
    let v = v.trim();
    let v = v.strip_prefix("bytes").unwrap_or(v).trim_start();
    v.split('-').next()?.trim().parse().ok()
}

/// A reference is a tag or a sha256 digest; returns the digest when it is one.
fn parse_reference(reference: &str) -> Result<Option<Digest>> {
    if reference.contains(':') {
        return Digest::parse(reference).map(Some).map_err(|e| {
            Error::InvalidArgument(format!("invalid manifest reference {reference:?}: {e}"))
        });
    }
    let b = reference.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c));
    if ok {
        Ok(None)
    } else {
        Err(Error::InvalidArgument(format!(
            "invalid manifest reference {reference:?}: want a tag or a digest"
        )))
    }
}

fn manifest_what(repo: &Repo, reference: &str) -> String {
    let sep = if reference.contains(':') { '@' } else { ':' };
    format!("manifest for {repo}{sep}{reference}")
}

fn blob_what(repo: &Repo, digest: &Digest) -> String {
    format!("blob {digest} in {repo}")
}

/// `application/json; charset=utf-8` → `application/json`.
fn media_type_of(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

fn is_generic_type(mt: &str) -> bool {
    matches!(
        mt,
        "" | "application/json" | "text/plain" | "application/octet-stream" | "binary/octet-stream"
    )
}

/// The manifest's media type from `Content-Type`, else from its `mediaType` field, else
/// guessed from its shape (OCI allows omitting `mediaType`).
fn manifest_media_type(content_type: Option<&str>, bytes: &[u8]) -> String {
    let ct = content_type.map(media_type_of).unwrap_or("");
    if !is_generic_type(ct) {
        return ct.to_string();
    }
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
        config: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Probe>(bytes) {
        Ok(Probe {
            media_type: Some(m),
            ..
        }) if !m.is_empty() => m,
        Ok(Probe {
            manifests: Some(_), ..
        }) => media_types::OCI_INDEX.to_string(),
        Ok(Probe {
            config: Some(_), ..
        }) => media_types::OCI_MANIFEST.to_string(),
        _ => ct.to_string(),
    }
}

/// The caller's upload body, hashed as it is read.
struct Source<'a> {
    inner: &'a mut dyn Read,
    hasher: Sha256Writer,
    /// Set when the body itself failed (as opposed to the connection).
    error: Option<io::Error>,
    size: u64,
}

/// The next `left` bytes of a [`Source`]; a body that ends early is an error.
struct Segment<'s, 'a> {
    src: &'s mut Source<'a>,
    left: u64,
}

impl Read for Segment<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = (buf.len() as u64).min(self.left) as usize;
        let n = loop {
            match self.src.inner.read(&mut buf[..max]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let copy = io::Error::new(e.kind(), e.to_string());
                    self.src.error = Some(e);
                    return Err(copy);
                }
                Ok(n) => break n,
            }
        };
        if n == 0 {
            let msg = format!(
                "body ended after {} of {} bytes",
                self.src.hasher.len(),
                self.src.size
            );
            self.src.error = Some(io::Error::new(io::ErrorKind::UnexpectedEof, msg.clone()));
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, msg));
        }
        self.src.hasher.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

/// A counting semaphore for concurrent downloads.
struct Semaphore {
    max: usize,
    used: Mutex<usize>,
    freed: Condvar,
}

struct Permit<'a>(&'a Semaphore);

impl Semaphore {
    fn new(max: usize) -> Self {
        Semaphore {
            max,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }
    fn acquire(&self) -> Permit<'_> {
        let mut used = lock(&self.used);
        while *used >= self.max {
            used = self
                .freed
                .wait(used)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *used += 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut used = lock(&self.0.used);
        *used = used.saturating_sub(1);
        drop(used);
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_clone_send_sync() {
        fn check<T: Clone + Send + Sync + 'static>() {}
        check::<Client>();
        fn check_err<T: std::error::Error + Send + Sync + 'static>() {}
        check_err::<Error>();
    }

    #[test]
    fn references() {
        assert_eq!(parse_reference("latest").unwrap(), None);
        assert_eq!(parse_reference("_v1.2-rc").unwrap(), None);
        let d = Digest::of(b"x");
        assert_eq!(parse_reference(&d.to_string()).unwrap(), Some(d));
        for bad in ["", "-x", "a/b", "sha512:ab", "a b", &"a".repeat(129)] {
            assert_eq!(
                parse_reference(bad).unwrap_err().kind(),
                crate::ErrorKind::InvalidArgument,
                "{bad}"
            );
        }
    }

    #[test]
    fn media_types_from_headers_or_body() {
        assert_eq!(
            manifest_media_type(
                Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
                b"{}"
            ),
            media_types::OCI_MANIFEST
        );
        assert_eq!(
            manifest_media_type(
                Some("application/json"),
                br#"{"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}"#
            ),
            media_types::DOCKER_MANIFEST
        );
        assert_eq!(
            manifest_media_type(None, br#"{"schemaVersion":2,"manifests":[]}"#),
            media_types::OCI_INDEX
        );
    }

    #[test]
    fn ranges_and_backoff() {
        assert_eq!(content_range_start("bytes 10-19/20"), Some(10));
        assert_eq!(content_range_start("bytes=5-"), None);
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(1), Duration::from_millis(400));
        assert_eq!(backoff(2), Duration::from_millis(1600));
        assert_eq!(backoff(40), Duration::from_secs(30));
    }

    #[test]
    fn segment_reports_short_bodies() {
        let mut data: &[u8] = b"abc";
        let mut src = Source {
            inner: &mut data,
            hasher: Sha256Writer::new(),
            error: None,
            size: 5,
        };
        let mut seg = Segment {
            src: &mut src,
            left: 5,
        };
        let mut out = Vec::new();
        let e = seg.read_to_end(&mut out).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(out, b"abc");
        assert!(src.error.is_some());
    }

    /// A thread that panicked while holding a lock of a long-lived client (a server keeps one
    /// per configuration) must not make every later call panic on the poisoned lock.
    #[test]
    fn poisoned_locks_break_no_later_call() {
        let client = Client::new(
            RegistryConfig::default(),
            Arc::new(std::collections::HashMap::<String, Credentials>::new()),
        );
        client.inner.auth.poison();
        std::thread::scope(|scope| {
            let held = scope.spawn(|| {
                let _used = client.inner.downloads.used.lock();
                panic!("a panic while the download count is locked");
            });
            assert!(held.join().is_err());
        });
        assert!(client.inner.downloads.used.is_poisoned());
        // nothing listens on port 1: the call fails as it should, it does not panic
        let repo = Repo::new("127.0.0.1:1", "poisoned");
        let digest = Digest::of(b"");
        let mut sink = Vec::new();
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            client.get_blob(&repo, &digest, &mut sink)
        }));
        match got {
            Ok(Err(_)) => {}
            Ok(Ok(_)) => panic!("a blob from nowhere"),
            Err(_) => panic!("get_blob panicked on a poisoned lock"),
        }
        // and the permit was given back
        drop(client.inner.downloads.acquire());
    }

    #[test]
    fn semaphore_limits() {
        let s = Arc::new(Semaphore::new(2));
        let a = s.acquire();
        let _b = s.acquire();
        let s2 = s.clone();
        let t = std::thread::spawn(move || {
            let _c = s2.acquire();
        });
        std::thread::sleep(Duration::from_millis(50));
        assert!(!t.is_finished());
        drop(a);
        t.join().unwrap();
    }
}
