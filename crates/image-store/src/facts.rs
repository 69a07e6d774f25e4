//! Facts derived once from a [`StoreView`]: references per image, children, layer sharing.

use crate::model::{ImageRecord, StoreView};
use image_ref::Reference;
use oci_model::Digest;
use std::collections::{BTreeMap, BTreeSet};

/// The view with the lookups every rule needs.
pub(crate) struct Facts<'a> {
    /// The snapshot.
    pub view: &'a StoreView,
    /// Images by ID.
    pub images: BTreeMap<&'a Digest, &'a ImageRecord>,
    /// References per image, in moby's order (by full string).
    pub refs: BTreeMap<&'a Digest, Vec<&'a Reference>>,
    /// IDs that are the parent of at least one image.
    pub parents: BTreeSet<&'a Digest>,
    /// Number of images using each diff ID.
    pub layer_refs: BTreeMap<&'a Digest, usize>,
}

impl<'a> Facts<'a> {
    /// Derives the facts of `view`.
    pub(crate) fn new(view: &'a StoreView) -> Facts<'a> {
        let images: BTreeMap<_, _> = view.images.iter().map(|i| (&i.id, i)).collect();
        let mut refs: BTreeMap<&Digest, Vec<&Reference>> = BTreeMap::new();
        for t in &view.tags {
            refs.entry(&t.image).or_default().push(&t.reference);
        }
        for list in refs.values_mut() {
            sort_refs(list);
        }
        let parents = view
            .images
            .iter()
            .filter_map(|i| i.parent.as_ref())
            .collect();
        let mut layer_refs: BTreeMap<&Digest, usize> = BTreeMap::new();
        for img in &view.images {
            for d in distinct_layers(img) {
                *layer_refs.entry(d).or_default() += 1;
            }
        }
        Facts {
            view,
            images,
            refs,
            parents,
            layer_refs,
        }
    }

    /// The references to `id`, in moby's order.
    pub(crate) fn refs_of(&self, id: &Digest) -> &[&'a Reference] {
        self.refs.get(id).map_or(&[], Vec::as_slice)
    }

    /// True when some image has `id` as its parent.
    pub(crate) fn has_children(&self, id: &Digest) -> bool {
        self.parents.contains(id)
    }

    /// Sum of the sizes of the image's layers, a layer at two places of the stack counted at
    /// each, as moby sums a layer chain (`roLayer.Size` adds every parent's: the same diff on
    /// top of different parents is a different chain layer there).
    pub(crate) fn size(&self, img: &ImageRecord) -> u64 {
        img.diff_ids.iter().map(|d| self.layer_size(d)).sum()
    }

    /// Sum of the sizes of the image's distinct layers that at least two images use.
    pub(crate) fn shared_size(&self, img: &ImageRecord) -> u64 {
        distinct_layers(img)
            .filter(|d| self.layer_refs.get(d).copied().unwrap_or(0) >= 2)
            .map(|d| self.layer_size(d))
            .sum()
    }

    /// Number of containers created from `id`.
    pub(crate) fn containers(&self, id: &Digest) -> u64 {
        self.view
            .containers
            .iter()
            .filter(|c| c.image == *id)
            .count() as u64
    }

    /// What removing the image alone frees on disk, as an `rmi` plan counts it: its config and
    /// manifest and, as stored, the layers no other image uses; nothing while a container uses
    /// it (the container keeps the image's layers and its row).
    pub(crate) fn removal_frees(&self, img: &ImageRecord) -> u64 {
        if self.containers(&img.id) > 0 {
            return 0;
        }
        let own: u64 = distinct_layers(img)
            .filter(|d| self.layer_refs.get(d).copied().unwrap_or(0) < 2)
            .filter_map(|d| self.view.layers.get(d))
            .map(|l| l.stored_bytes)
            .sum();
        img.config_size + img.manifest.as_ref().map_or(0, |(_, size)| *size) + own
    }

    fn layer_size(&self, diff_id: &Digest) -> u64 {
        self.view.layers.get(diff_id).map_or(0, |l| l.content_size)
    }
}

/// The image's diff IDs, each once, in ascending order.
pub(crate) fn distinct_layers(img: &ImageRecord) -> impl Iterator<Item = &Digest> {
    img.diff_ids.iter().collect::<BTreeSet<_>>().into_iter()
}

/// Sorts references as moby's reference store returns them: by their full string.
pub(crate) fn sort_refs<R: std::borrow::Borrow<Reference>>(refs: &mut Vec<R>) {
    refs.sort_by_cached_key(|r| r.borrow().to_string());
    refs.dedup_by(|a, b| a.borrow() == b.borrow());
}
