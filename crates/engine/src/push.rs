//! `push`: each layer goes up in the compressed form the registry already has (`Layer already
//! exists`), by cross-repository mount from another repository of the same registry, or
//! gzip-compressed from the stored uncompressed layer; then the config and a Docker v2
//! schema 2 manifest under the tag.

use crate::registry::{short, Progress, ProgressFn, RegistryEnv};
use crate::streams::{Counted, Tee};
use crate::{Engine, EngineError, Event, Result};
use image_ref::Reference;
use metadata_db::LayerSource;
use oci_model::{media_types, Descriptor, Digest, Manifest};
use registry_client::Repo;
use std::io::Write;
use std::time::Instant;

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

impl Engine {
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
        let bytes = crate::pretty_json(&manifest)?;
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
}
