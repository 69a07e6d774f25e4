//! The store as a registry to pull from (the OCI distribution API's read side): its tags by
//! repository, each image's OCI manifest, and the blobs those manifests name. A layer the
//! store keeps as it was pulled (a registry's gzip or zstd blob) is served as that blob,
//! untouched; any other layer as the uncompressed tar its diff ID names. So an image's
//! manifest never changes, and serving a pulled image decompresses nothing.
//!
//! A repository is served under the name a registry path can carry: a tag's familiar name
//! (`app`, `team/app`, `registry.example.com/team/app`), and for Docker Hub's official
//! images their path too (`library/busybox`). A name with a port (`localhost:5000/x`) is not
//! a registry path and is not served. A blob is served only under a repository one of whose
//! images holds it.

use crate::{Engine, EngineError, Result};
use image_store::StoreView;
use oci_model::{media_types, Descriptor, Digest, Manifest};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};

/// A manifest as served.
#[derive(Debug, Clone)]
pub struct ServedManifest {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Their sha256 (`Docker-Content-Digest`).
    pub digest: Digest,
    /// `application/vnd.oci.image.manifest.v1+json`.
    pub media_type: &'static str,
}

/// The repositories the store serves, each with its tags (tag → image); `aliases` adds the
/// `library/<name>` paths of Docker Hub's official images (served, not listed).
fn repositories(view: &StoreView, aliases: bool) -> BTreeMap<String, BTreeMap<String, Digest>> {
    let mut out: BTreeMap<String, BTreeMap<String, Digest>> = BTreeMap::new();
    for t in &view.tags {
        let Some(tag) = t.reference.tag() else {
            continue;
        };
        let mut names = vec![t.reference.familiar_name()];
        if aliases
            && t.reference.domain() == "docker.io"
            && !names.contains(&t.reference.path().to_string())
        {
            names.push(t.reference.path().to_string());
        }
        for name in names
            .into_iter()
            .filter(|n| image_ref::is_repository_path(n))
        {
            out.entry(name)
                .or_default()
                .insert(tag.to_string(), t.image.clone());
        }
    }
    out
}

fn name_unknown(name: &str) -> EngineError {
    EngineError::NotFound(format!("repository name not known to registry: {name}"))
}

impl Engine {
    /// `GET /v2/_catalog`: the repositories, sorted.
    pub fn registry_catalog(&self) -> Result<Vec<String>> {
        Ok(repositories(&*self.view()?, false).into_keys().collect())
    }

    /// `GET /v2/<name>/tags/list`: the repository's tags, sorted.
    pub fn registry_tags(&self, name: &str) -> Result<Vec<String>> {
        repositories(&*self.view()?, true)
            .remove(name)
            .map(|tags| tags.into_keys().collect())
            .ok_or_else(|| name_unknown(name))
    }

    /// `GET /v2/<name>/manifests/<reference>`: by tag, or by the digest of a manifest one of
    /// the repository's images has.
    pub fn registry_manifest(&self, name: &str, reference: &str) -> Result<ServedManifest> {
        let view = self.view()?;
        let tags = repositories(&view, true)
            .remove(name)
            .ok_or_else(|| name_unknown(name))?;
        let unknown = || EngineError::NotFound(format!("manifest unknown: {name}:{reference}"));
        let images: Vec<&Digest> = if reference.starts_with("sha256:") {
            tags.values().collect::<BTreeSet<_>>().into_iter().collect()
        } else {
            vec![tags.get(reference).ok_or_else(unknown)?]
        };
        for id in images {
            let bytes = self.served_manifest(&view, id)?;
            let digest = Digest::of(&bytes);
            if !reference.starts_with("sha256:") || digest.to_string() == reference {
                return Ok(ServedManifest {
                    bytes,
                    digest,
                    media_type: media_types::OCI_MANIFEST,
                });
            }
        }
        Err(unknown())
    }

    /// The stored blob a layer was pulled as, when it is not the tar itself.
    fn pulled_blob(&self, diff_id: &Digest) -> Result<Option<Digest>> {
        Ok(self.db().layer_blob(diff_id)?.filter(|b| b != diff_id))
    }

    /// The manifest image `id` is served with: its config, then each layer as
    /// [`Engine::pulled_blob`] or as the uncompressed tar.
    fn served_manifest(&self, view: &StoreView, id: &Digest) -> Result<Vec<u8>> {
        let (_, mut manifest) = self.oci_manifest(view, id)?;
        for layer in &mut manifest.layers {
            if let Some(blob) = self.pulled_blob(&layer.digest)? {
                let media = match blob_store::blob_compression(&self.blobs, &blob)? {
                    blob_store::Compression::Gzip => media_types::OCI_LAYER_GZIP,
                    blob_store::Compression::Zstd => media_types::OCI_LAYER_ZSTD,
                    blob_store::Compression::None => media_types::OCI_LAYER_TAR,
                };
                let size = self.blobs.size(&blob)?.ok_or_else(|| {
                    EngineError::NotFound(format!(
                        "blob {blob} of layer {} is missing",
                        layer.digest
                    ))
                })?;
                *layer = Descriptor::new(media, blob, size);
            }
        }
        serde_json::to_vec::<Manifest>(&manifest).map_err(|e| EngineError::invalid(e.to_string()))
    }

    /// A stored blob, opened, and its length.
    fn open_sized(&self, d: &Digest) -> Result<(Box<dyn Read + Send>, u64)> {
        let f = self.blobs.open_blob(d)?;
        let len = f
            .metadata()
            .map_err(|e| EngineError::io(format!("stat blob {d}"), e))?
            .len();
        Ok((Box::new(f), len))
    }

    /// `GET /v2/<name>/blobs/<digest>`: the config, a layer's pulled blob or a layer's tar
    /// of one of the repository's images, and its length.
    pub fn registry_blob(&self, name: &str, digest: &str) -> Result<(Box<dyn Read + Send>, u64)> {
        let view = self.view()?;
        let tags = repositories(&view, true)
            .remove(name)
            .ok_or_else(|| name_unknown(name))?;
        let unknown = || EngineError::NotFound(format!("blob unknown to registry: {digest}"));
        let d: Digest = digest.parse().map_err(|_| unknown())?;
        for id in tags.values().collect::<BTreeSet<_>>() {
            if *id == d {
                return self.open_sized(id);
            }
            let layers = view
                .image_of_container(id)
                .map(|i| i.diff_ids.clone())
                .unwrap_or_default();
            for layer in &layers {
                if *layer == d {
                    let len = view.layers.get(&d).map(|l| l.size).ok_or_else(unknown)?;
                    return Ok((self.layer_tar(&d)?, len));
                }
                if self.pulled_blob(layer)?.as_ref() == Some(&d) {
                    return self.open_sized(&d);
                }
            }
        }
        Err(unknown())
    }

    /// Writes the blob [`Engine::registry_blob`] finds to `w`.
    pub fn registry_send_blob(&self, name: &str, digest: &str, mut w: impl Write) -> Result<()> {
        let (mut r, _) = self.registry_blob(name, digest)?;
        std::io::copy(&mut r, &mut w)
            .map(drop)
            .map_err(|e| EngineError::io(format!("send blob {digest}"), e))
    }
}
