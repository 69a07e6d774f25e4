//! `pull`, `push`, `search` and `login` against registries, with Docker's progress messages.
//!
//! Pull: the manifest (an index resolves to this platform), then the config (its digest is the
//! image ID), then every layer the store does not hold, `max_concurrent_downloads` at a time.
//! Each download streams through a pipe into the layer ingest, so decompression, hashing and
//! storing run while bytes arrive; the layer is then unpacked for containers. Metadata (layers,
//! image, tag, digest reference) is committed in one transaction after every blob is stored; any
//! failure leaves no image, and the sweep removes what was written.
//!
//! Push: each layer goes up in the compressed form the registry already has (`Layer already
//! exists`), by cross-repository mount from another repository of the same registry, or
//! gzip-compressed from the stored uncompressed layer; then the config and a Docker v2
//! schema 2 manifest under the tag.

use crate::config::{AuthFile, Config};
use crate::containers::Staged;
use crate::{Engine, EngineError, Event, Result};
use image_ref::Reference;
use metadata_db::LayerSource;
use oci_model::{media_types, Descriptor, Digest, ImageConfig, Index, Manifest, Platform};
use registry_client::{Client, Credentials, RegistryConfig, Repo};
use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One progress message, as Docker's JSON message stream carries it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// The layer (12 hex) or tag this line is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Pulling fs layer`, `Downloading`, `Already exists`, `Digest: …`.
    pub status: String,
    /// Bytes done, for `Downloading`, `Extracting`, `Pushing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<u64>,
    /// Bytes in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

impl Progress {
    fn line(id: Option<&str>, status: impl Into<String>) -> Progress {
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
    client: Client,
    /// registry host → mirror hosts, tried in order before the registry itself.
    mirrors: BTreeMap<String, Vec<String>>,
    /// Registries `search` looks through.
    search: Vec<String>,
    /// Chunk size of blob uploads; `None` uploads each blob in one request.
    upload_chunk: Option<u64>,
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
    fn read_repos(&self, r: &Reference) -> Vec<(Repo, bool)> {
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

/// What a pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullOutcome {
    /// The image ID.
    pub id: Digest,
    /// The digest of the manifest (or index) the reference named.
    pub digest: Digest,
    /// False when the image was already here under that name.
    pub downloaded: bool,
    /// The reference pulled, normalised (`docker.io/library/bb:1`).
    pub reference: Reference,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// The tag pushed.
    pub tag: String,
    /// The manifest digest.
    pub digest: Digest,
    /// The manifest size.
    pub size: u64,
}

/// One `search` result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SearchResult {
    /// `registry/repository`.
    pub name: String,
    /// Its tags, as a description.
    pub description: String,
    /// Always 0: registries keep no stars.
    pub star_count: u64,
    /// Always false.
    pub is_official: bool,
}

fn short(d: &Digest) -> String {
    d.hex()[..12].to_string()
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// This machine's platform (`linux/amd64`).
pub fn host_platform() -> Platform {
    Platform {
        os: "linux".into(),
        architecture: go_arch().into(),
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

/// Counts bytes written through it and reports `Downloading` now and then.
struct Counting<'a, W> {
    inner: W,
    done: u64,
    total: u64,
    last: Instant,
    id: String,
    status: &'static str,
    progress: ProgressFn<'a>,
}

/// Writes everything to both.
struct Both<A, B>(A, B);

impl<A: Write, B: Write> Write for Both<A, B> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(buf)?;
        self.1.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.1.flush()
    }
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.done += n as u64;
        if self.last.elapsed() >= Duration::from_millis(100) || self.done == self.total {
            self.last = Instant::now();
            (self.progress)(Progress {
                id: Some(self.id.clone()),
                status: self.status.into(),
                current: Some(self.done),
                total: Some(self.total),
            });
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct Counted<'a, R> {
    inner: R,
    done: u64,
    total: u64,
    last: Instant,
    id: String,
    progress: ProgressFn<'a>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.last.elapsed() >= Duration::from_millis(100) || self.done == self.total {
            self.last = Instant::now();
            (self.progress)(Progress {
                id: Some(self.id.clone()),
                status: "Pushing".into(),
                current: Some(self.done),
                total: Some(self.total),
            });
        }
        Ok(n)
    }
}

struct Layer {
    desc: Descriptor,
    diff_id: Digest,
    /// The bottom layer of the image: the only one whose unpacked directory (keyed by chain
    /// ID, which is its diff ID) depends on nothing below it, so it can be unpacked as it
    /// downloads; the others are unpacked onto their parents when a container needs them.
    base: bool,
}

/// An in-process pipe for a layer's bytes, from the download (which pushes them into a
/// `Write`) to the ingest (which pulls them from a `Read`) on another thread: buffers handed
/// over a channel and recycled. The bytes are copied twice in user space, which costs less
/// than a kernel pipe's copies, page allocations and wake-ups.
pub(crate) fn chunk_pipe() -> (ChunkWriter, ChunkReader) {
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel(CHUNKS_IN_FLIGHT);
    let (free_tx, free_rx) = std::sync::mpsc::channel();
    (
        ChunkWriter {
            buf: Vec::with_capacity(CHUNK),
            full: full_tx,
            free: free_rx,
        },
        ChunkReader {
            full: full_rx,
            free: free_tx,
            buf: Vec::new(),
            pos: 0,
        },
    )
}

const CHUNK: usize = 256 << 10;
/// Chunks queued for the reader, beyond the one it reads and the one being filled.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The writing end of a [`chunk_pipe`]. Nothing is sent before a chunk is full or on
/// [`flush`](Write::flush); dropping it ends the stream. Once the reader is gone, writes
/// fail with `BrokenPipe`.
pub(crate) struct ChunkWriter {
    buf: Vec<u8>,
    full: std::sync::mpsc::SyncSender<Vec<u8>>,
    free: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        let next = self
            .free
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.buf, next);
        self.full.send(full).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the layer ingest stopped reading",
            )
        })
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        let n = (CHUNK - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

/// The reading end of a [`chunk_pipe`]: the stream ends when the writer is dropped.
pub(crate) struct ChunkReader {
    full: std::sync::mpsc::Receiver<Vec<u8>>,
    free: std::sync::mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
}

/// A `BufRead`, so that the decompressor reads the chunks where they are.
impl std::io::BufRead for ChunkReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.pos == self.buf.len() {
            let Ok(next) = self.full.recv() else {
                return Ok(&[]);
            };
            let mut used = std::mem::replace(&mut self.buf, next);
            self.pos = 0;
            used.clear();
            // The writer may be gone; then the buffer is just freed.
            let _ = self.free.send(used);
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos += amt;
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        use std::io::BufRead;
        let rest = self.fill_buf()?;
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl Engine {
    /// `pull`: fetches `reference` (tag or digest) into the store.
    pub fn pull(
        &self,
        env: &RegistryEnv,
        reference: &str,
        platform: Option<&Platform>,
        progress: ProgressFn<'_>,
    ) -> Result<PullOutcome> {
        self.pull_one(env, reference, platform, false, progress)
    }

    /// `pull --all-tags`: every tag of `repository`, then one status line for the repository.
    pub fn pull_all_tags(
        &self,
        env: &RegistryEnv,
        repository: &str,
        platform: Option<&Platform>,
        progress: ProgressFn<'_>,
    ) -> Result<Vec<PullOutcome>> {
        let r = Reference::parse_normalized(repository)?;
        if r.tag().is_some() || r.digest().is_some() {
            return Err(EngineError::invalid("tag can't be used with --all-tags/-a"));
        }
        let tags = env.client.tags(&Repo::from(&r))?;
        let mut out = Vec::new();
        for t in tags {
            out.push(self.pull_one(env, &format!("{}:{t}", r.name()), platform, true, progress)?);
        }
        let verb = if out.iter().any(|o| o.downloaded) {
            "Downloaded newer image for"
        } else {
            "Image is up to date for"
        };
        progress(Progress::line(
            None,
            format!("Status: {verb} {}", r.familiar_name()),
        ));
        Ok(out)
    }

    fn pull_one(
        &self,
        env: &RegistryEnv,
        reference: &str,
        platform: Option<&Platform>,
        quiet_status: bool,
        progress: ProgressFn<'_>,
    ) -> Result<PullOutcome> {
        let r = Reference::parse_normalized(reference)?.with_default_tag();
        let want = match (r.digest(), r.tag()) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.to_string(),
            (None, None) => unreachable!("default tag added"),
        };
        // Every progress line is also an event (`pull`/`progress`) for live views.
        let name = r.familiar_string();
        let tee = |p: Progress| {
            let mut ev =
                Event::new("pull", "progress", name.clone()).with("status", p.status.clone());
            if let Some(id) = &p.id {
                ev = ev.with("layer", id.clone());
            }
            if let (Some(c), Some(t)) = (p.current, p.total) {
                ev = ev
                    .with("current", c.to_string())
                    .with("total", t.to_string());
            }
            self.emit(ev);
            progress(p)
        };
        let _lease = self.leases.shared()?;
        let result = self.pull_locked(env, &r, &want, platform, quiet_status, &tee);
        if result.is_err() {
            drop(_lease);
            let _ = self.sweep();
        }
        result
    }

    fn pull_locked(
        &self,
        env: &RegistryEnv,
        r: &Reference,
        want: &str,
        platform: Option<&Platform>,
        quiet_status: bool,
        progress: ProgressFn<'_>,
    ) -> Result<PullOutcome> {
        let client = &env.client;
        // The manifest from the first source that has it.
        let mut last_err = None;
        let mut found = None;
        for (repo, is_mirror) in env.read_repos(r) {
            match client.get_manifest(&repo, want, &[]) {
                Ok(m) => {
                    found = Some((repo, m));
                    break;
                }
                Err(e) if is_mirror => last_err = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        let Some((repo, (bytes, media_type, top_digest))) = found else {
            return Err(last_err
                .map(EngineError::from)
                .unwrap_or_else(|| EngineError::invalid("no registry to pull from")));
        };
        progress(Progress::line(
            Some(want),
            format!("Pulling from {}", r.path()),
        ));
        let (manifest_bytes, manifest_digest) = if media_type == media_types::OCI_INDEX
            || media_type == media_types::DOCKER_MANIFEST_LIST
        {
            let index: Index = serde_json::from_slice(&bytes)
                .map_err(|e| EngineError::invalid(format!("invalid image index: {e}")))?;
            let p = platform.cloned().unwrap_or_else(host_platform);
            let desc = registry_client::select_platform(&index, &p).ok_or_else(|| {
                let v = p
                    .variant
                    .as_deref()
                    .map(|v| format!("/{v}"))
                    .unwrap_or_default();
                EngineError::NotFound(format!(
                    "no matching manifest for {}/{}{v} in the manifest list entries",
                    p.os, p.architecture
                ))
            })?;
            let (b, _, d) = client.get_manifest(&repo, &desc.digest.to_string(), &[])?;
            (b, d)
        } else {
            (bytes, top_digest.clone())
        };
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| EngineError::invalid(format!("invalid manifest: {e}")))?;

        let mut config_bytes = Vec::new();
        client.get_blob(&repo, &manifest.config.digest, &mut config_bytes)?;
        let config: ImageConfig = serde_json::from_slice(&config_bytes)
            .map_err(|e| EngineError::invalid(format!("invalid image config: {e}")))?;
        let id = manifest.config.digest.clone();
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(EngineError::invalid(format!(
                "invalid manifest: {} layers for {} diff IDs in the config",
                manifest.layers.len(),
                config.rootfs.diff_ids.len()
            )));
        }
        let view = self.view()?;
        let had_image = view.images.iter().any(|i| i.id == id);
        let tag_ref = r.tag().map(|_| r.clone());
        let tagged_here = tag_ref.as_ref().is_some_and(|t| {
            view.tags
                .iter()
                .any(|rec| &rec.reference == t && rec.image == id)
        });
        let layers: Vec<Layer> = manifest
            .layers
            .iter()
            .zip(&config.rootfs.diff_ids)
            .enumerate()
            .map(|(i, (d, diff))| Layer {
                desc: d.clone(),
                diff_id: diff.clone(),
                base: i == 0,
            })
            .collect();
        let digest_ref = r.with_digest(top_digest.clone());
        let mut queue = VecDeque::new();
        for l in &layers {
            if view.layers.contains_key(&l.diff_id)
                || queue.iter().any(|q: &&Layer| q.diff_id == l.diff_id)
            {
                // moby pulls nothing of an image it has (its config is checked first), and
                // so prints no layer line; `Already exists` is for layers of a new image.
                if !had_image {
                    progress(Progress::line(
                        Some(&short(&l.desc.digest)),
                        "Already exists",
                    ));
                }
            } else {
                queue.push_back(l);
            }
        }
        for l in &queue {
            progress(Progress::line(
                Some(&short(&l.desc.digest)),
                "Pulling fs layer",
            ));
        }
        // The config and manifest are stored (each fsynced) while the layers download; if the
        // pull fails, the sweep removes them with the rest.
        let (sources, stored) = std::thread::scope(|s| {
            let stored = s.spawn(|| -> Result<()> {
                self.blobs.put(&config_bytes, Some(&id))?;
                self.blobs.put(&manifest_bytes, Some(&manifest_digest))?;
                Ok(())
            });
            let sources = self.download_layers(env, &repo, queue, progress);
            (sources, stored.join().expect("storing thread"))
        });
        let sources = sources?;
        stored?;
        let record = image_store::ImageRecord {
            id: id.clone(),
            config_size: config_bytes.len() as u64,
            manifest: Some((manifest_digest.clone(), manifest_bytes.len() as u64)),
            parent: None,
            created: crate::import::unix_of(config.created.as_deref()),
            diff_ids: config.rootfs.diff_ids.clone(),
            labels: config.labels(),
        };
        self.db().write(|tx| -> Result<()> {
            for (l, src) in &sources {
                tx.insert_stored_layer(l, Some(src), Some(&src.digest))?;
            }
            tx.insert_image(&record)?;
            if let Some(t) = &tag_ref {
                tx.set_tag(t, &id)?;
            }
            tx.set_tag(&digest_ref, &id)?;
            for l in &layers {
                tx.record_origin(&l.desc.digest, repo.registry(), repo.name())?;
            }
            Ok(())
        })?;
        progress(Progress::line(None, format!("Digest: {top_digest}")));
        if quiet_status {
            self.emit(
                Event::new("image", "pull", r.familiar_string())
                    .with("name", r.familiar_string())
                    .with("id", id.to_string()),
            );
            let downloaded = !(had_image && tagged_here);
            return Ok(PullOutcome {
                id,
                digest: top_digest,
                downloaded,
                reference: r.clone(),
            });
        }
        let shown = match &tag_ref {
            Some(t) => t.familiar_string(),
            None => digest_ref.familiar_string(),
        };
        let digest_known = view
            .tags
            .iter()
            .any(|t| t.reference == digest_ref && t.image == id);
        let downloaded = !(had_image && (tagged_here || (tag_ref.is_none() && digest_known)));
        progress(Progress::line(
            None,
            if downloaded {
                format!("Status: Downloaded newer image for {shown}")
            } else {
                format!("Status: Image is up to date for {shown}")
            },
        ));
        self.emit(
            Event::new("image", "pull", r.familiar_string())
                .with("name", r.familiar_string())
                .with("id", id.to_string()),
        );
        Ok(PullOutcome {
            id,
            digest: top_digest,
            downloaded,
            reference: r.clone(),
        })
    }

    /// Downloads, decompresses, stores and unpacks the queued layers in parallel.
    ///
    /// Twice as many layers as downloads are in hand at once: the client lets
    /// `max_concurrent_downloads` of them download, and the others wait for a slot or finish
    /// the layer they downloaded (the fsync, the rename of its unpacked directory), so that
    /// the next download does not wait for the disk.
    fn download_layers(
        &self,
        env: &RegistryEnv,
        repo: &Repo,
        queue: VecDeque<&Layer>,
        progress: ProgressFn<'_>,
    ) -> Result<Vec<(image_store::LayerRecord, LayerSource)>> {
        let workers =
            (2 * env.client.config().max_concurrent_downloads.max(1)).min(queue.len().max(1));
        let queue = Mutex::new(queue);
        let results = Mutex::new(Vec::new());
        let failure: Mutex<Option<EngineError>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    if failure.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
                        return;
                    }
                    let Some(l) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
                    else {
                        return;
                    };
                    match self.download_layer(env, repo, l, progress) {
                        Ok(x) => results.lock().unwrap_or_else(|e| e.into_inner()).push(x),
                        Err(e) => {
                            failure
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .get_or_insert(e);
                            return;
                        }
                    }
                });
            }
        });
        if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        Ok(results.into_inner().unwrap_or_else(|e| e.into_inner()))
    }

    fn download_layer(
        &self,
        env: &RegistryEnv,
        repo: &Repo,
        l: &Layer,
        progress: ProgressFn<'_>,
    ) -> Result<(image_store::LayerRecord, LayerSource)> {
        let id = short(&l.desc.digest);
        // Unpacked as it streams in, into a directory that takes its place only once the
        // layer is verified (below); dropped on any failure before that.
        let staged = match l.base.then(|| self.stage_layer(&l.diff_id)).transpose()? {
            Some(Staged::New(staged)) => Some(staged),
            _ => None,
        };
        let (writer, reader) = chunk_pipe();
        // The layer is kept as the registry serves it, under the digest the client checks
        // as it downloads; the ingest only validates, hashes and unpacks the tar.
        let mut blob = self.blobs.writer_prehashed()?;
        let blobs = &self.blobs;
        let (got, ingest) = std::thread::scope(|s| {
            let staged = staged.as_ref();
            let ingest = s.spawn(move || {
                let opts = blob_store::IngestOptions {
                    diff_id: Some(&l.diff_id),
                    // the client checks the blob's digest as it downloads it
                    source_verified: true,
                    hash_only: true,
                };
                let unpack = staged.map(|st| -> blob_store::Tee<'_> {
                    Box::new(move |r| Ok(st.unpack_on(r, &[]).map(drop)?))
                });
                blob_store::ingest_layer_with(blobs, reader, opts, unpack)
            });
            let mut sink = Counting {
                inner: Both(&mut blob, writer),
                done: 0,
                total: l.desc.size,
                last: Instant::now(),
                id: id.clone(),
                status: "Downloading",
                progress,
            };
            let got = env
                .client
                .get_blob(repo, &l.desc.digest, &mut sink)
                .and_then(|n| {
                    sink.flush()
                        .map(|_| n)
                        .map_err(|e| registry_client::Error::Io {
                            context: "write layer".into(),
                            source: e,
                        })
                });
            drop(sink);
            (got, ingest.join().expect("ingest thread"))
        });
        let verification = |detail: String| {
            EngineError::invalid(format!(
                "filesystem layer verification failed for digest {}: {detail}",
                l.desc.digest
            ))
        };
        match (&got, &ingest) {
            (Err(registry_client::Error::DigestMismatch { .. }), _) => {
                return Err(verification(got.unwrap_err().to_string()));
            }
            // the unpacker gave up on bad bytes and closed the pipe: its reason is the real one
            // (a failed write of the blob itself, a full disk say, is reported as it is)
            (Err(registry_client::Error::Io { source, .. }), Err(e))
                if source.kind() == std::io::ErrorKind::BrokenPipe =>
            {
                return Err(verification(e.to_string()))
            }
            _ => {}
        }
        got?;
        let ing = ingest.map_err(|e| match e.mismatch() {
            Some(actual) => EngineError::invalid(format!(
                "failed to register layer: layer {} has diff ID {actual}, the image config says {}",
                l.desc.digest, l.diff_id
            )),
            None => EngineError::invalid(format!("layer {}: {e}", l.desc.digest)),
        })?;
        let stored = blob.commit_prehashed(&l.desc.digest)?;
        for w in &ing.warnings {
            crate::warn(&format!("layer {}: {w}", l.desc.digest));
        }
        progress(Progress::line(Some(&id), "Verifying Checksum"));
        progress(Progress::line(Some(&id), "Download complete"));
        progress(Progress {
            id: Some(id.clone()),
            status: "Extracting".into(),
            current: Some(0),
            total: Some(ing.size),
        });
        if let Some(staged) = staged {
            staged.publish()?;
        }
        progress(Progress::line(Some(&id), "Pull complete"));
        Ok((
            image_store::LayerRecord {
                diff_id: ing.diff_id.clone(),
                size: ing.size,
                content_size: ing.content_size,
                stored_bytes: stored,
            },
            LayerSource {
                digest: l.desc.digest.clone(),
                size: l.desc.size,
                media_type: l.desc.media_type.clone(),
            },
        ))
    }

    /// `push`: uploads the image tagged `reference` to its registry.
    pub fn push(
        &self,
        env: &RegistryEnv,
        reference: &str,
        progress: ProgressFn<'_>,
    ) -> Result<PushOutcome> {
        let r = Reference::parse_normalized(reference)?;
        if r.digest().is_some() {
            return Err(EngineError::invalid("cannot push a digest reference"));
        }
        let r = r.with_default_tag();
        let view = self.view()?;
        let image = view
            .tags
            .iter()
            .find(|t| t.reference == r)
            .map(|t| t.image.clone())
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "An image does not exist locally with the tag: {}",
                    r.name_only().familiar_string()
                ))
            })?;
        let rec = view
            .images
            .iter()
            .find(|i| i.id == image)
            .expect("tagged image exists")
            .clone();
        let repo = Repo::from(&r);
        let tag = r.tag().expect("default tag").to_string();
        progress(Progress::line(
            None,
            format!(
                "The push refers to repository [{}]",
                r.name_only().familiar_name()
            ),
        ));
        let client = &env.client;
        let mut descriptors = Vec::new();
        // Docker lists layers top-down.
        for diff_id in rec.diff_ids.iter() {
            descriptors.push(self.push_layer(env, &repo, diff_id, progress)?);
        }
        let config_size = self.blobs.size(&image)?.unwrap_or(0);
        if client.blob_exists(&repo, &image)?.is_none() {
            let mut f = self.blobs.open_blob(&image)?;
            client.upload_blob(&repo, &image, config_size, &mut f, env.upload_chunk)?;
        }
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(media_types::DOCKER_MANIFEST.into()),
            config: Descriptor::new(media_types::DOCKER_CONFIG, image.clone(), config_size),
            layers: descriptors,
            annotations: Default::default(),
        };
        let bytes = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        let digest = client.put_manifest(&repo, &tag, media_types::DOCKER_MANIFEST, &bytes)?;
        self.blobs.put(&bytes, Some(&digest))?;
        let digest_ref = r.with_digest(digest.clone());
        self.db().write(|tx| -> Result<()> {
            tx.set_tag(&digest_ref, &image)?;
            Ok(())
        })?;
        progress(Progress::line(
            None,
            format!("{tag}: digest: {digest} size: {}", bytes.len()),
        ));
        self.emit(
            Event::new("image", "push", r.familiar_string()).with("name", r.familiar_string()),
        );
        Ok(PushOutcome {
            tag,
            digest,
            size: bytes.len() as u64,
        })
    }

    fn push_layer(
        &self,
        env: &RegistryEnv,
        repo: &Repo,
        diff_id: &Digest,
        progress: ProgressFn<'_>,
    ) -> Result<Descriptor> {
        let client = &env.client;
        let gzip = |s: &LayerSource| {
            s.media_type == media_types::DOCKER_LAYER_GZIP
                || s.media_type == media_types::OCI_LAYER_GZIP
        };
        let sources: Vec<LayerSource> = self
            .db()
            .sources_of(diff_id)?
            .into_iter()
            .filter(|s| gzip(s))
            .collect();
        let desc = |s: &LayerSource| {
            Descriptor::new(media_types::DOCKER_LAYER_GZIP, s.digest.clone(), s.size)
        };
        // Docker names a pushed layer by its diff ID.
        let id = short(diff_id);
        progress(Progress::line(Some(&id), "Preparing"));
        for s in &sources {
            if client.blob_exists(repo, &s.digest)?.is_some() {
                progress(Progress::line(Some(&id), "Layer already exists"));
                let _ = self
                    .db()
                    .record_origin(&s.digest, repo.registry(), repo.name());
                return Ok(desc(s));
            }
            let origins = self.db().origins(&s.digest)?;
            for (registry, from) in origins
                .iter()
                .filter(|(reg, name)| reg == repo.registry() && name != repo.name())
            {
                let _ = registry;
                if client.mount_blob(repo, &s.digest, from)? {
                    progress(Progress::line(Some(&id), format!("Mounted from {from}")));
                    let _ = self
                        .db()
                        .record_origin(&s.digest, repo.registry(), repo.name());
                    return Ok(desc(s));
                }
            }
        }
        let upload = |digest: &Digest, size: u64, f: std::fs::File| -> Result<()> {
            let mut body = Counted {
                inner: std::io::BufReader::with_capacity(1 << 20, f),
                done: 0,
                total: size,
                last: Instant::now(),
                id: id.clone(),
                progress,
            };
            client.upload_blob(repo, digest, size, &mut body, env.upload_chunk)?;
            progress(Progress::line(Some(&id), "Pushed"));
            let _ = self
                .db()
                .record_origin(digest, repo.registry(), repo.name());
            Ok(())
        };
        // A layer kept as the gzip blob a registry served goes up as it is.
        if let Some(s) = sources.iter().find(|s| self.blobs.contains(&s.digest)) {
            upload(&s.digest, s.size, self.blobs.open_blob(&s.digest)?)?;
            return Ok(desc(s));
        }
        // Otherwise compress the layer's tar (deterministically) and upload that.
        let mut tmp = tempfile::NamedTempFile::new_in(self.root.join("ingest"))
            .map_err(|e| EngineError::io("create temp file", e))?;
        let mut hasher = oci_model::Sha256Writer::new();
        {
            let mut src = self.layer_tar(diff_id)?;
            let out = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
            let tee = Tee {
                a: out,
                b: &mut hasher,
                n: 0,
            };
            let mut enc = flate2::write::GzEncoder::new(tee, flate2::Compression::fast());
            std::io::copy(&mut src, &mut enc).map_err(|e| EngineError::io("compress layer", e))?;
            let mut tee = enc
                .finish()
                .map_err(|e| EngineError::io("compress layer", e))?;
            tee.a
                .flush()
                .map_err(|e| EngineError::io("compress layer", e))?;
        }
        let size = tmp
            .as_file()
            .metadata()
            .map_err(|e| EngineError::io("stat", e))?
            .len();
        let digest = hasher.finish();
        let source = LayerSource {
            digest: digest.clone(),
            size,
            media_type: media_types::DOCKER_LAYER_GZIP.into(),
        };
        if client.blob_exists(repo, &digest)?.is_some() {
            progress(Progress::line(Some(&id), "Layer already exists"));
            let _ = self
                .db()
                .record_origin(&digest, repo.registry(), repo.name());
        } else {
            upload(
                &digest,
                size,
                tmp.reopen().map_err(|e| EngineError::io("reopen", e))?,
            )?;
        }
        let layer = self
            .view()?
            .layers
            .get(diff_id)
            .cloned()
            .ok_or_else(|| EngineError::NotFound(format!("layer {diff_id} not found")))?;
        self.db()
            .write(|tx| -> Result<()> { Ok(tx.insert_layer(&layer, Some(&source))?) })?;
        Ok(desc(&source))
    }

    /// `search`: repositories whose name contains `term` in the configured registries (or
    /// in the registry `term` names, `host/term`), filtered as moby's search service does.
    /// With no registry to look in, says so (where it looked, and that nothing is there)
    /// rather than answering an empty list.
    pub fn search(
        &self,
        env: &RegistryEnv,
        term: &str,
        limit: usize,
        filters: &SearchFilters,
    ) -> Result<Vec<SearchResult>> {
        let (registries, term) = match term.split_once('/') {
            Some((r, t)) if r.contains(['.', ':']) || r == "localhost" => {
                (vec![r.to_string()], t.to_string())
            }
            _ => (env.search.clone(), term.to_string()),
        };
        if registries.is_empty() {
            return Err(EngineError::invalid(format!(
                "no search registry configured: search looks in the registries listed as `search` under [registry] in {}, and none is set (or name one in the term: HOST[:PORT]/TERM)",
                crate::config::config_dir().join("strata.toml").display()
            )));
        }
        // "is-automated" is deprecated: nothing is automated (moby).
        if filters.is_automated == Some(true) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for registry in &registries {
            for name in env.client.catalog(registry)? {
                if !name.contains(&term) {
                    continue;
                }
                let tags = env
                    .client
                    .tags(&Repo::new(registry, &name))
                    .unwrap_or_default();
                let r = SearchResult {
                    name: format!("{registry}/{name}"),
                    description: if tags.is_empty() {
                        String::new()
                    } else {
                        format!("tags: {}", tags.join(", "))
                    },
                    star_count: 0,
                    is_official: false,
                };
                if !filters.keeps(&r) {
                    continue;
                }
                out.push(r);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }
}

/// `search --filter`: moby's `is-automated`, `is-official` and `stars`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilters {
    /// `is-official=true|false`.
    pub is_official: Option<bool>,
    /// `is-automated=true|false` (deprecated: `true` matches nothing).
    pub is_automated: Option<bool>,
    /// `stars=N`: at least N stars (the largest N given).
    pub stars: Option<u64>,
}

impl SearchFilters {
    /// From `key=value` pairs, with moby's errors for an unknown key or a bad value.
    pub fn parse(pairs: &[(String, String)]) -> Result<SearchFilters> {
        let mut f = SearchFilters::default();
        let values = |key: &str| -> Vec<&str> {
            pairs
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        if let Some((k, _)) = pairs
            .iter()
            .find(|(k, _)| !matches!(k.as_str(), "is-automated" | "is-official" | "stars"))
        {
            return Err(EngineError::invalid(format!("invalid filter '{k}'")));
        }
        // moby's `GetBoolOrDefault`: one value, true/1 or false/0.
        let boolean = |key: &str| -> Result<Option<bool>> {
            let vals = values(key);
            let bad =
                || EngineError::invalid(format!("invalid filter '{key}=[{}]'", vals.join(" ")));
            match vals.as_slice() {
                [] => Ok(None),
                ["1" | "true"] => Ok(Some(true)),
                ["0" | "false"] => Ok(Some(false)),
                _ => Err(bad()),
            }
        };
        f.is_automated = boolean("is-automated")?;
        f.is_official = boolean("is-official")?;
        for v in values("stars") {
            let n: i64 = v.parse().map_err(|_| {
                EngineError::invalid(format!(
                    "invalid filter 'stars={v}': strconv.Atoi: parsing {v:?}: invalid syntax"
                ))
            })?;
            let n = n.max(0) as u64;
            f.stars = Some(f.stars.map_or(n, |s| s.max(n)));
        }
        Ok(f)
    }

    /// Whether a result passes.
    pub fn keeps(&self, r: &SearchResult) -> bool {
        self.is_official.is_none_or(|o| o == r.is_official)
            && self.stars.is_none_or(|s| r.star_count >= s)
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

struct Tee<'a, A: Write> {
    a: A,
    b: &'a mut oci_model::Sha256Writer,
    n: u64,
}

impl<A: Write> Write for Tee<'_, A> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.a.write(buf)?;
        self.b.update(&buf[..n]);
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.a.flush()
    }
}
