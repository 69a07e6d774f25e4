//! The snapshot of store metadata that every rule reads.

use image_ref::Reference;
use oci_model::Digest;
use std::collections::BTreeMap;

/// One image: a config blob and its layer stack.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRecord {
    /// Image ID: the sha256 of the config blob's bytes.
    pub id: Digest,
    /// Size of the config blob in bytes.
    pub config_size: u64,
    /// The manifest blob this image was pulled or loaded with, if the store keeps one.
    pub manifest: Option<(Digest, u64)>,
    /// Parent image for locally made images (commit, build); `None` for imported/pulled ones.
    pub parent: Option<Digest>,
    /// Creation time from the config, unix seconds (0 when unknown).
    pub created: i64,
    /// Layers bottom-up (`rootfs.diff_ids`); a diff ID may repeat.
    pub diff_ids: Vec<Digest>,
    /// Labels from the config.
    pub labels: BTreeMap<String, String>,
}

/// A tag: a fully normalised `name:tag` (or `name@digest`) pointing at an image.
#[derive(Debug, Clone, PartialEq)]
pub struct TagRecord {
    /// The reference, normalised (e.g. `docker.io/library/bb:1`).
    pub reference: Reference,
    /// The image it points at.
    pub image: Digest,
}

/// A stored layer, keyed by diff ID (identical layers are stored once).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRecord {
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
    /// Byte length of the uncompressed tar (the layer's descriptor size in a saved archive).
    pub size: u64,
    /// What Docker reports as the layer's size (moby's `directory.Size` over the unpacked
    /// layer): the sizes of its non-directory entries summed, a hardlinked file counted once,
    /// symlinks by the length of their target.
    pub content_size: u64,
    /// Bytes this layer occupies in the store (its blob and anything kept beside it).
    pub stored_bytes: u64,
}

/// A container: the image it was created from.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerRecord {
    /// Container ID (64 hex).
    pub id: String,
    /// Container name, without the leading `/`.
    pub name: String,
    /// The image it uses.
    pub image: Digest,
    /// True while a process runs in it.
    pub running: bool,
}

/// A consistent snapshot of the store's metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreView {
    /// All images.
    pub images: Vec<ImageRecord>,
    /// All tags and digest references.
    pub tags: Vec<TagRecord>,
    /// All layers by diff ID.
    pub layers: BTreeMap<Digest, LayerRecord>,
    /// All containers.
    pub containers: Vec<ContainerRecord>,
    /// Images removed by the user (`rmi -f`) but kept, untagged and unlisted, because a
    /// container still uses them: its layers and config stay until the last such container
    /// goes. No rule resolves, lists or deletes them.
    pub retained: Vec<ImageRecord>,
}

impl StoreView {
    /// The image `id`, listed or [retained](StoreView::retained): what a container is built on.
    pub fn image_of_container(&self, id: &Digest) -> Option<&ImageRecord> {
        self.images
            .iter()
            .chain(&self.retained)
            .find(|i| i.id == *id)
    }

    /// Whether `image` is `ancestor` or built on it: `ancestor` is in its parent chain
    /// (`ps --filter ancestor=`, as moby follows image parents). A chain that loops ends.
    pub fn descends_from(&self, image: &Digest, ancestor: &Digest) -> bool {
        let mut cur = Some(image);
        let mut steps = 0;
        while let Some(id) = cur {
            if id == ancestor {
                return true;
            }
            steps += 1;
            if steps > self.images.len() + self.retained.len() {
                return false;
            }
            cur = self.image_of_container(id).and_then(|i| i.parent.as_ref());
        }
        false
    }
}
