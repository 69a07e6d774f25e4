//! A blocking client for the OCI distribution API (Docker registry v2): ping, manifests (get,
//! head, put), blobs (exists, streamed download with digest check, cross-repository mount,
//! monolithic and chunked upload), tag and catalog listing, and platform selection in an
//! image index.
//!
//! The engine is synchronous and runs this on its own threads: every call blocks. A
//! [`Client`] is `Clone + Send + Sync` and shares one connection pool and auth state.
//!
//! - **Transport**: HTTPS with the system's root certificates; plain HTTP only for registries
//!   listed in [`RegistryConfig::insecure`] and for loopback hosts (`localhost`, `127.0.0.0/8`,
//!   `::1`), Docker's rule. Redirects are followed without forwarding credentials to other hosts.
//! - **Auth**: on a 401 the `WWW-Authenticate` challenge is answered: `Basic` with the
//!   [`CredentialStore`]'s credentials, `Bearer` by fetching a token from the realm (with Basic
//!   credentials when there are any, anonymously otherwise) for `repository:<name>:pull[,push]`
//!   plus the challenge's scope. Tokens are cached per (registry, scope) until they expire.
//! - **Integrity**: manifests and blobs are hashed as they arrive and checked against the
//!   requested digest and `Docker-Content-Digest`; uploads are hashed as they are sent. Content
//!   fetched by descriptor (blobs, [`Client::get_manifest_sized`]) is read to the descriptor's
//!   size and no further: another announced length, more bytes or fewer is
//!   [`Error::SizeMismatch`], and nothing is allocated from a descriptor's size.
//! - **Retries**: idempotent requests are retried on connection errors, 429 and 5xx after
//!   100 ms, 400 ms, 1.6 s; blob downloads resume with `Range` once bytes were written.
//! - **Stalls**: a connection silent for [`RegistryConfig::idle_timeout`] (60 s by default)
//!   fails its request as stalled, a connection error like the others; the answer to an
//!   upload waits at least [`UPLOAD_ANSWER_TIMEOUT`].
//! - **Mirrors**: reads of `docker.io` repositories try [`RegistryConfig::mirrors`] first.
//!
//! ```no_run
//! use registry_client::{Client, Credentials, RegistryConfig, Repo};
//! use std::{collections::HashMap, sync::Arc};
//!
//! let creds: HashMap<String, Credentials> = HashMap::new();
//! let client = Client::new(RegistryConfig::default(), Arc::new(creds));
//! let r = image_ref::Reference::parse_normalized("localhost:5000/app:1").unwrap();
//! let repo = Repo::from(&r);
//! let (bytes, media_type, digest) = client.get_manifest(&repo, r.tag().unwrap(), &[]).unwrap();
//! let manifest: oci_model::Manifest = serde_json::from_slice(&bytes).unwrap();
//! let mut file = std::fs::File::create("layer.partial").unwrap();
//! let layer = &manifest.layers[0];
//! client.get_blob(&repo, &layer.digest, layer.size, &mut file).unwrap();
//! # let _ = (media_type, digest);
//! ```
//!
//! Deliberately absent: schema 1 manifests, referrers, deleting manifests or blobs, OAuth2
//! refresh-token (POST) token flows, `Retry-After`, TLS client certificates, per-registry CA
//! files, and storing anything: the caller owns the bytes (see [`Client::get_blob`]).
#![deny(missing_docs)]

mod auth;
mod blobs;
mod client;
mod config;
mod error;
mod listing;
mod manifests;
mod platform;
mod repo;
mod transport;

pub use client::{Client, DEFAULT_MANIFEST_ACCEPT};
pub use config::{
    CredentialStore, Credentials, RegistryConfig, DEFAULT_IDLE_TIMEOUT, UPLOAD_ANSWER_TIMEOUT,
};
pub use error::{Error, ErrorKind, Result};
pub use platform::select_platform;
pub use repo::{Repo, DOCKER_HUB_REGISTRY};
