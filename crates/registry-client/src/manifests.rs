//! Manifests: get (with the media type the registry gives, or read from the body), head and
//! put, by tag or digest.

use crate::auth::repo_scope;
use crate::client::{Client, DEFAULT_MANIFEST_ACCEPT, MAX_MANIFEST};
use crate::error::{Error, Result};
use crate::repo::{Endpoint, Repo};
use crate::transport::{drain, error_from, header, Call, Payload};
use oci_model::{media_types, Digest};
use serde::Deserialize;

use ureq::http::Method;

impl Client {
    /// Fetches a manifest by tag or digest. Returns its exact bytes, its media type (the
    /// `Content-Type`, or the body's `mediaType` when the registry sends a generic one) and
    /// the sha256 of the bytes. That digest is checked against `Docker-Content-Digest` and,
    /// when `reference` is a digest, against it ([`Error::DigestMismatch`]). An empty
    /// `accept` means [`DEFAULT_MANIFEST_ACCEPT`]. At most 8 MiB are read.
    pub fn get_manifest(
        &self,
        repo: &Repo,
        reference: &str,
        accept: &[&str],
    ) -> Result<(Vec<u8>, String, Digest)> {
        self.fetch_manifest(repo, reference, None, accept)
    }

    /// Fetches the manifest a descriptor names (an entry of an image index): by its
    /// `digest`, reading exactly its `size` bytes. A registry that announces or sends another
    /// length fails the call with [`Error::SizeMismatch`], having read at most `size + 1`
    /// bytes; a `size` over the 8 MiB manifest limit is refused before any request
    /// ([`Error::InvalidResponse`]). Otherwise as [`Client::get_manifest`].
    pub fn get_manifest_sized(
        &self,
        repo: &Repo,
        digest: &Digest,
        size: u64,
        accept: &[&str],
    ) -> Result<(Vec<u8>, String, Digest)> {
        if size > MAX_MANIFEST {
            return Err(Error::InvalidResponse(format!(
                "manifest {digest} in {repo}: its descriptor says {size} bytes, over the \
                 {MAX_MANIFEST}-byte limit for manifests"
            )));
        }
        self.fetch_manifest(repo, &digest.to_string(), Some((digest, size)), accept)
    }

    fn fetch_manifest(
        &self,
        repo: &Repo,
        reference: &str,
        sized: Option<(&Digest, u64)>,
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
                let bytes = match sized {
                    Some((digest, size)) => self.read_sized(resp, digest, size, &url)?,
                    None => self.read_limited(resp, MAX_MANIFEST, &url)?,
                };
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
}

/// A reference is a tag or a sha256 digest; returns the digest when it is one.
pub(crate) fn parse_reference(reference: &str) -> Result<Option<Digest>> {
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

pub(crate) fn manifest_what(repo: &Repo, reference: &str) -> String {
    let sep = if reference.contains(':') { '@' } else { ':' };
    format!("manifest for {repo}{sep}{reference}")
}

/// `application/json; charset=utf-8` → `application/json`.
pub(crate) fn media_type_of(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

pub(crate) fn is_generic_type(mt: &str) -> bool {
    matches!(
        mt,
        "" | "application/json" | "text/plain" | "application/octet-stream" | "binary/octet-stream"
    )
}

/// The manifest's media type from `Content-Type`, else from its `mediaType` field, else
/// guessed from its shape (OCI allows omitting `mediaType`).
pub(crate) fn manifest_media_type(content_type: Option<&str>, bytes: &[u8]) -> String {
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
