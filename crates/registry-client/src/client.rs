//! The client: one HTTP agent shared by clones, its configuration, `ping`. The distribution
//! API operations are in `manifests.rs`, `blobs.rs` and `listing.rs`; requests, authentication
//! and retries in `transport.rs`.

use crate::auth::AuthState;
use crate::blobs::Semaphore;
use crate::error::Result;
use crate::repo::{Endpoint, Repo};
use crate::transport::{drain, error_from, Call};
use crate::{CredentialStore, RegistryConfig};
use oci_model::media_types;
use std::sync::Arc;
use std::time::Duration;
use ureq::http::Method;

/// The manifest media types asked for when the caller gives none: OCI manifest, OCI index,
/// Docker v2 schema 2 manifest, Docker manifest list.
pub const DEFAULT_MANIFEST_ACCEPT: &[&str] = &[
    media_types::OCI_MANIFEST,
    media_types::OCI_INDEX,
    media_types::DOCKER_MANIFEST,
    media_types::DOCKER_MANIFEST_LIST,
];

/// Largest manifest accepted (Docker uses 4 MiB; some registries allow more).
pub(crate) const MAX_MANIFEST: u64 = 8 << 20;
/// Largest JSON document (token, tag or catalog page) accepted.
pub(crate) const MAX_JSON: u64 = 16 << 20;
/// How much of an error body is read.
pub(crate) const MAX_ERROR_BODY: u64 = 64 << 10;
/// Pages followed at most when listing.
pub(crate) const MAX_PAGES: usize = 100_000;

/// A blocking registry client. Cheap to clone (an `Arc` inside); clones share the connection
/// pool, the auth state and the cached bearer tokens, which are kept per (registry, scope)
/// until they expire.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: RegistryConfig,
    pub(crate) creds: Arc<dyn CredentialStore>,
    pub(crate) agent: ureq::Agent,
    pub(crate) auth: AuthState,
    pub(crate) downloads: Semaphore,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
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
            // A registry that goes silent (a body shorter than its Content-Length on a
            // kept-alive connection, say) fails the read instead of hanging the pull.
            .timeout_per_read(Some(config.idle_timeout.max(Duration::from_millis(1))))
            // And one that stops reading what is sent (a push's blob) fails the write.
            .timeout_per_write(Some(config.idle_timeout.max(Duration::from_millis(1))))
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

    // ---------------------------------------------------------------------------------------
    // Transport, auth and retries
}

// -------------------------------------------------------------------------------------------
// Helpers

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::*;
    use crate::error::Error;
    use crate::manifests::*;
    use crate::transport::*;
    use crate::Credentials;
    use oci_model::{Digest, Sha256Writer};
    use std::io::{self, Read};

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
        assert_eq!(content_range_total("bytes 10-19/20"), Some(20));
        assert_eq!(content_range_total("bytes 10-19/*"), None);
        assert_eq!(content_range_total("bytes 10-19"), None);
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
            client.get_blob(&repo, &digest, 0, &mut sink)
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
