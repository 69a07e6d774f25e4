//! `save`: images to a tar in Docker 25+'s layout (an OCI image layout plus `manifest.json` and
//! `repositories`), which `docker load`, `skopeo` (`docker-archive:`) and this store's `load` read.

use crate::{Engine, EngineError, Result};
use docker_api::ArchiveItem;
use image_ref::{AnyReference, Reference};
use image_store::StoreView;
use oci_model::{media_types, Descriptor, Digest, ImageConfig, Index, Manifest};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{Read, Write};

enum Content {
    Blob(Digest),
    /// A layer's tar (diff ID) and its size, read back from the blob that holds it.
    Layer(Digest, u64),
    Bytes(Vec<u8>),
}

/// Which images and tags the names select, in first-seen order (moby's `parseNames`).
fn select(view: &StoreView, names: &[String]) -> Result<Vec<(Digest, Vec<Reference>)>> {
    let mut out: Vec<(Digest, Vec<Reference>)> = Vec::new();
    let mut add = |id: Digest, r: Option<Reference>| {
        let pos = match out.iter().position(|(i, _)| *i == id) {
            Some(p) => p,
            None => {
                out.push((id, Vec::new()));
                out.len() - 1
            }
        };
        if let Some(r) = r {
            if !out[pos].1.contains(&r) {
                out[pos].1.push(r);
            }
        }
    };
    for name in names {
        match image_ref::parse_any(name)? {
            AnyReference::Id(_) => add(image_store::resolve(view, name)?.id, None),
            AnyReference::Named(r) if r.tag().is_none() && r.digest().is_none() => {
                let mut tags: Vec<_> = view
                    .tags
                    .iter()
                    .filter(|t| t.reference.name() == r.name())
                    .collect();
                tags.sort_by(|a, b| a.reference.cmp(&b.reference));
                if tags.is_empty() {
                    add(image_store::resolve(view, name)?.id, None);
                }
                for t in tags {
                    if t.reference.digest().is_none() {
                        add(t.image.clone(), Some(t.reference.clone()));
                    }
                }
            }
            AnyReference::Named(r) => {
                let found = image_store::resolve(view, name)?;
                add(found.id, r.tag().is_some().then_some(r));
            }
        }
    }
    Ok(out)
}

impl Engine {
    /// Writes the named images (names, IDs or digests; a bare repository means all its tags)
    /// as one tar to `w`.
    pub fn save<W: Write>(&self, names: &[String], w: W) -> Result<()> {
        let view = self.view()?;
        let selected = select(&view, names)?;
        let mut files: BTreeMap<String, Content> = BTreeMap::new();
        let mut index = Index {
            schema_version: 2,
            media_type: Some(media_types::OCI_INDEX.into()),
            manifests: Vec::new(),
            annotations: BTreeMap::new(),
        };
        let mut items = Vec::new();
        let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (id, refs) in &selected {
            let (config, manifest) = self.oci_manifest(&view, id)?;
            let mbytes = json(&manifest);
            if config.rootfs.diff_ids.is_empty() {
                return Err(EngineError::invalid("empty export - not implemented"));
            }
            files.insert(
                format!("blobs/sha256/{}", id.hex()),
                Content::Blob(id.clone()),
            );
            let layers = manifest.layers;
            let mut sources = BTreeMap::new();
            for desc in &layers {
                files.insert(
                    format!("blobs/sha256/{}", desc.digest.hex()),
                    Content::Layer(desc.digest.clone(), desc.size),
                );
                sources.insert(desc.digest.to_string(), desc.clone());
            }
            let mdigest = Digest::of(&mbytes);
            let mdesc = Descriptor::new(
                media_types::OCI_MANIFEST,
                mdigest.clone(),
                mbytes.len() as u64,
            );
            files.insert(
                format!("blobs/sha256/{}", mdigest.hex()),
                Content::Bytes(mbytes),
            );
            if refs.is_empty() {
                index.manifests.push(mdesc.clone());
            }
            for r in refs {
                let mut d = mdesc.clone();
                d.annotations
                    .insert("io.containerd.image.name".into(), r.to_string());
                d.annotations.insert(
                    "org.opencontainers.image.ref.name".into(),
                    r.tag().unwrap_or("").into(),
                );
                index.manifests.push(d);
                let last = config
                    .rootfs
                    .diff_ids
                    .last()
                    .map(|d| d.hex().to_string())
                    .unwrap_or_default();
                repositories
                    .entry(r.familiar_name())
                    .or_default()
                    .insert(r.tag().unwrap_or("").into(), last);
            }
            // A parent is recorded only when the archive holds it too, as Docker saves it
            // (and as `load` takes one).
            let parent = view
                .images
                .iter()
                .find(|i| i.id == *id)
                .and_then(|i| i.parent.clone())
                .filter(|p| selected.iter().any(|(other, _)| other == p));
            items.push(ArchiveItem {
                config: format!("blobs/sha256/{}", id.hex()),
                repo_tags: (!refs.is_empty())
                    .then(|| refs.iter().map(|r| r.familiar_string()).collect()),
                layers: layers
                    .iter()
                    .map(|l| format!("blobs/sha256/{}", l.digest.hex()))
                    .collect(),
                parent: parent.map(|p| p.to_string()),
                layer_sources: Some(sources),
            });
        }
        files.insert("index.json".into(), Content::Bytes(json(&index)));
        files.insert("manifest.json".into(), Content::Bytes(json(&items)));
        files.insert(
            "oci-layout".into(),
            Content::Bytes(br#"{"imageLayoutVersion": "1.0.0"}"#.to_vec()),
        );
        if !repositories.is_empty() {
            files.insert("repositories".into(), Content::Bytes(json(&repositories)));
        }
        self.write_tar(files, w)
    }

    /// The OCI manifest of a stored image as `save` writes it: its config blob, then each
    /// layer as the uncompressed tar its diff ID names (`application/vnd.oci.image.layer.v1.tar`),
    /// so the same image always has the same manifest (the store's registry puts a pulled
    /// layer's own blob in its place). The image's config and the manifest.
    pub(crate) fn oci_manifest(
        &self,
        view: &StoreView,
        id: &Digest,
    ) -> Result<(ImageConfig, Manifest)> {
        let raw = self.blobs.read(id)?;
        let config: ImageConfig = serde_json::from_slice(&raw)
            .map_err(|e| EngineError::invalid(format!("image {id}: config: {e}")))?;
        let mut layers = Vec::new();
        for d in &config.rootfs.diff_ids {
            let size = view.layers.get(d).map(|l| l.size).ok_or_else(|| {
                EngineError::NotFound(format!("layer {d} of image {id} is missing"))
            })?;
            layers.push(Descriptor::new(media_types::OCI_LAYER_TAR, d.clone(), size));
        }
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(media_types::OCI_MANIFEST.into()),
            config: Descriptor::new(media_types::OCI_CONFIG, id.clone(), raw.len() as u64),
            layers,
            annotations: BTreeMap::new(),
        };
        Ok((config, manifest))
    }

    fn write_tar<W: Write>(&self, files: BTreeMap<String, Content>, w: W) -> Result<()> {
        let io = |e| EngineError::io("write archive", e);
        let mut b = tar::Builder::new(w);
        b.mode(tar::HeaderMode::Deterministic);
        for dir in ["blobs/", "blobs/sha256/"] {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            h.set_mtime(0);
            b.append_data(&mut h, dir, std::io::empty()).map_err(io)?;
        }
        for (path, content) in files {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_mtime(0);
            match content {
                Content::Bytes(bytes) => {
                    h.set_size(bytes.len() as u64);
                    b.append_data(&mut h, &path, bytes.as_slice()).map_err(io)?;
                }
                Content::Blob(d) => {
                    let f = self.blobs.open_blob(&d)?;
                    let len = f.metadata().map_err(io)?.len();
                    append_stream(&mut b, h, &path, f, len, &d)?;
                }
                Content::Layer(d, len) => {
                    append_stream(&mut b, h, &path, self.layer_tar(&d)?, len, &d)?;
                }
            }
        }
        b.into_inner().map_err(io)?.flush().map_err(io)?;
        Ok(())
    }
}

/// Appends an entry of `len` bytes read from `f` (blob or layer `d`). Blob paths fit a ustar
/// header; the body is copied in 1 MiB chunks rather than through the tar crate's 8 KiB copy.
fn append_stream<W: Write>(
    b: &mut tar::Builder<W>,
    mut h: tar::Header,
    path: &str,
    mut f: impl Read,
    len: u64,
    d: &Digest,
) -> Result<()> {
    let io = |e| EngineError::io("write archive", e);
    h.set_size(len);
    h.set_path(path).map_err(io)?;
    h.set_cksum();
    let out = b.get_mut();
    out.write_all(h.as_bytes()).map_err(io)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = f.read(&mut buf[..left.min(1 << 20) as usize]).map_err(io)?;
        if n == 0 {
            return Err(EngineError::invalid(format!(
                "blob {d} shrank while saving"
            )));
        }
        out.write_all(&buf[..n]).map_err(io)?;
        left -= n as u64;
    }
    let pad = (512 - len % 512) % 512;
    out.write_all(&[0u8; 512][..pad as usize]).map_err(io)?;
    Ok(())
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("archive metadata serialises")
}
