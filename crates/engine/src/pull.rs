//! `pull`: the manifest (an index resolves to this platform), then the config (its digest is the
//! image ID), then every layer the store does not hold, `max_concurrent_downloads` at a time.
//! Each download streams through a pipe into the layer ingest, so decompression, hashing and
//! storing run while bytes arrive; the layer is then unpacked for containers. Metadata (layers,
//! image, tag, digest reference) is committed in one transaction after every blob is stored; any
//! failure leaves no image, and the sweep removes what was written.

use crate::layers::Staged;
use crate::load::MAX_JSON_SIZE;
use crate::registry::{host_platform, short, Progress, ProgressFn, RegistryEnv};
use crate::streams::{chunk_pipe, Both, Counting};
use crate::{Engine, EngineError, Event, Result};
use image_ref::Reference;
use layer_diff::Changeset;
use metadata_db::LayerSource;
use oci_model::{media_types, Descriptor, Digest, ImageConfig, Index, Manifest, Platform};
use registry_client::Repo;
use std::collections::VecDeque;
use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

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

struct Layer {
    desc: Descriptor,
    diff_id: Digest,
    /// The bottom layer of the image: the only one whose unpacked directory (keyed by chain
    /// ID, which is its diff ID) depends on nothing below it, so it can be unpacked as it
    /// downloads; the others are unpacked onto their parents when a container needs them.
    base: bool,
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
            // read to the size the index gives it, and no further
            let (b, _, d) = client.get_manifest_sized(&repo, &desc.digest, desc.size, &[])?;
            (b, d)
        } else {
            (bytes, top_digest.clone())
        };
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| EngineError::invalid(format!("invalid manifest: {e}")))?;

        // The config is parsed in memory: its descriptor's size is refused over the limit a
        // loaded archive's JSON has, before a byte is fetched, and the client reads it to
        // that size and no further.
        let config_desc = &manifest.config;
        if config_desc.size > MAX_JSON_SIZE {
            return Err(EngineError::invalid(format!(
                "invalid manifest: config {} is {} bytes, over the size limit of {MAX_JSON_SIZE} bytes",
                config_desc.digest, config_desc.size
            )));
        }
        let mut config_bytes = Vec::new();
        client.get_blob(
            &repo,
            &config_desc.digest,
            config_desc.size,
            &mut config_bytes,
        )?;
        let config: ImageConfig = serde_json::from_slice(&config_bytes)
            .map_err(|e| EngineError::invalid(format!("invalid image config: {e}")))?;
        crate::import::check_image_config(&config, crate::import::ConfigUse::Pull)?;
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
        // The blobs as served are kept: layers whose descriptors add up to more than the
        // store's filesystem has free cannot be stored, so none is fetched (a registry
        // announcing 2^62 bytes and sending without end would otherwise fill the disk).
        let needed = queue
            .iter()
            .fold(0u64, |sum, l| sum.saturating_add(l.desc.size));
        if let Some(free) = crate::free_space(&self.root).filter(|free| needed > *free) {
            return Err(EngineError::invalid(format!(
                "not enough space to pull {}: its layers take {needed} bytes, the store's filesystem has {free} bytes free",
                r.familiar_string()
            )));
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
        let mut sources = sources?;
        stored?;
        // Each layer applies on the ones below it, as Docker's pull applies them.
        let shapes = sources
            .iter_mut()
            .map(|(l, _, shape)| (l.diff_id.clone(), std::mem::take(shape)))
            .collect();
        self.check_stack(&config.rootfs.diff_ids, &shapes)
            .map_err(|e| EngineError::invalid(format!("failed to register layer: {e}")))?;
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
            for (l, src, _) in &sources {
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
    ) -> Result<Vec<(image_store::LayerRecord, LayerSource, Changeset)>> {
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
    ) -> Result<(image_store::LayerRecord, LayerSource, Changeset)> {
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
                    stored_as_diff_id: false,
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
                .get_blob(repo, &l.desc.digest, l.desc.size, &mut sink)
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
            (
                Err(
                    registry_client::Error::DigestMismatch { .. }
                    | registry_client::Error::SizeMismatch { .. },
                ),
                _,
            ) => {
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
        let mut ing = ingest.map_err(|e| match e.mismatch() {
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
            std::mem::take(&mut ing.shape),
        ))
    }
}
