//! Blobs: existence, downloads (resumed from where a broken body stopped, a limited number
//! at a time), cross-repository mounts, and uploads (monolithic or chunked).

use crate::auth::{lock, repo_scope};
use crate::client::Client;
use crate::error::{size_mismatch, Error, Result};
use crate::repo::{add_query, resolve, Endpoint, Repo};
use crate::transport::{backoff, content_length, drain, error_from, header, Call, Payload};
use oci_model::{Digest, Sha256Writer};
use std::io::{self, Read, Write};
use std::sync::{Condvar, Mutex};
use ureq::http::{Method, Response};
use ureq::Body;

impl Client {
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

    /// Streams blob `digest`, whose descriptor gives it `size` bytes, into `sink`, hashing
    /// on the way, and returns its size.
    ///
    /// Exactly `size` bytes are read: a registry that announces another length
    /// (`Content-Length`, or a resumed answer's `Content-Range`) is refused before a byte of
    /// the body is read, and one that sends more (a byte past `size` tells) or ends early fails
    /// the call with [`Error::SizeMismatch`]. No more than `size` bytes ever reach `sink`, and
    /// nothing is allocated from `size`.
    ///
    /// Redirects (to blob storage) are followed. Connection errors (a connection silent for
    /// [`RegistryConfig::idle_timeout`](crate::RegistryConfig::idle_timeout) among them),
    /// 429 and 5xx are retried with backoff: from scratch while nothing has been written to
    /// `sink`, else resumed with `Range: bytes=<written>-`; a registry that answers a resume
    /// with 200 instead of 206 ends the call with [`Error::InvalidResponse`]. At most
    /// [`RegistryConfig::max_concurrent_downloads`](crate::RegistryConfig::max_concurrent_downloads)
    /// calls run at once per client.
    ///
    /// When the bytes do not hash to `digest` the call fails with [`Error::DigestMismatch`]
    /// **after** they were written: the caller must then discard what `sink` received (write
    /// to a temporary file and rename it only on success). On any other error `sink` may also
    /// hold a partial blob.
    pub fn get_blob(
        &self,
        repo: &Repo,
        digest: &Digest,
        size: u64,
        sink: &mut dyn Write,
    ) -> Result<u64> {
        let _permit = self.inner.downloads.acquire();
        let scopes = [repo_scope(repo.name(), false)];
        let endpoints = Endpoint::for_read(repo, &self.inner.config);
        let mut hasher = Sha256Writer::new();
        let mut last = None;
        for ep in &endpoints {
            match self.get_blob_from(ep, &scopes, repo, digest, size, sink, &mut hasher) {
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
        let got_size = hasher.len();
        if got_size != size {
            return Err(size_mismatch(digest, size, got_size, got_size > size));
        }
        let got = hasher.finish();
        if &got != digest {
            return Err(Error::DigestMismatch {
                expected: digest.clone(),
                got,
            });
        }
        Ok(got_size)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn get_blob_from(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        repo: &Repo,
        digest: &Digest,
        size: u64,
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
                // The length announced, checked before a byte of the body is read.
                let announced = match status {
                    200 if offset == 0 => content_length(&resp),
                    200 => {
                        drain(resp);
                        return Err(Error::InvalidResponse(format!(
                            "blob {digest} in {repo}: download broke off after {offset} bytes and the \
                             registry does not support resuming (Range ignored)"
                        )));
                    }
                    206 => {
                        let range = header(&resp, "content-range");
                        let start = range.and_then(content_range_start);
                        if start != Some(offset) {
                            drain(resp);
                            return Err(Error::InvalidResponse(format!(
                                "blob {digest} in {repo}: asked to resume at byte {offset}, got range {start:?}"
                            )));
                        }
                        // the total, and where the rest would end
                        let total = range.and_then(content_range_total);
                        let end = content_length(&resp).map(|n| offset.saturating_add(n));
                        total.filter(|t| *t != size).or(end)
                    }
                    _ => return Err(error_from(resp, || blob_what(repo, digest))),
                };
                if let Some(n) = announced.filter(|n| *n != size) {
                    return Err(size_mismatch(digest, size, n, false));
                }
                self.copy_body(resp, &url, digest, size, sink, hasher)
            })();
            match r {
                // Once every byte is in, a broken connection is not worth a resume at the end.
                Err(e)
                    if e.is_retryable()
                        && attempt < self.inner.config.retries
                        && (hasher.len() < size || hasher.is_empty()) =>
                {
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    /// Copies the body of `resp` into `sink` and `hasher` until the blob has its `size`
    /// bytes, reading at most one byte more to tell that the body goes on.
    pub(crate) fn copy_body(
        &self,
        resp: Response<Body>,
        url: &str,
        digest: &Digest,
        size: u64,
        sink: &mut dyn Write,
        hasher: &mut Sha256Writer,
    ) -> Result<()> {
        let mut r = resp.into_body().into_reader();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let done = hasher.len();
            let room = size.saturating_sub(done);
            let want = room.saturating_add(1).min(buf.len() as u64) as usize;
            let n = match r.read(&mut buf[..want]) {
                Ok(0) if done == size => return Ok(()),
                Ok(0) => return Err(size_mismatch(digest, size, done, false)),
                Ok(n) if n as u64 > room => {
                    return Err(size_mismatch(digest, size, done + n as u64, true))
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(url, e)),
            };
            sink.write_all(&buf[..n]).map_err(|e| Error::Io {
                context: format!("writing blob from {url}"),
                source: e,
            })?;
            hasher.update(&buf[..n]);
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

    pub(crate) fn upload_monolithic(
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
    pub(crate) fn upload_chunked(
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
    pub(crate) fn cancel_upload(&self, ep: &Endpoint, scopes: &[String], location: &str) {
        let mut call = Call::new(Method::DELETE, location.to_string());
        if let Ok(resp) = self.send(ep, scopes, &mut call) {
            drain(resp);
        }
    }
}

/// `bytes 10-19/20` → 10.
pub(crate) fn content_range_start(v: &str) -> Option<u64> {
    let v = v.trim();
    let v = v.strip_prefix("bytes").unwrap_or(v).trim_start();
    v.split('-').next()?.trim().parse().ok()
}

/// `bytes 10-19/20` → 20; `None` for an unknown total (`*`).
pub(crate) fn content_range_total(v: &str) -> Option<u64> {
    v.rsplit_once('/')?.1.trim().parse().ok()
}

pub(crate) fn blob_what(repo: &Repo, digest: &Digest) -> String {
    format!("blob {digest} in {repo}")
}

/// The caller's upload body, hashed as it is read.
pub(crate) struct Source<'a> {
    pub(crate) inner: &'a mut dyn Read,
    pub(crate) hasher: Sha256Writer,
    /// Set when the body itself failed (as opposed to the connection).
    pub(crate) error: Option<io::Error>,
    pub(crate) size: u64,
}

/// The next `left` bytes of a [`Source`]; a body that ends early is an error.
pub(crate) struct Segment<'s, 'a> {
    pub(crate) src: &'s mut Source<'a>,
    pub(crate) left: u64,
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
pub(crate) struct Semaphore {
    pub(crate) max: usize,
    pub(crate) used: Mutex<usize>,
    pub(crate) freed: Condvar,
}

pub(crate) struct Permit<'a>(pub(crate) &'a Semaphore);

impl Semaphore {
    pub(crate) fn new(max: usize) -> Self {
        Semaphore {
            max,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }
    pub(crate) fn acquire(&self) -> Permit<'_> {
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
