//! `docker system df` for images, and the sharing facts the dashboard shows.

use crate::facts::Facts;
use crate::list::default_summaries;
use crate::model::StoreView;
use oci_model::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The images part of `docker system df`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskUsage {
    /// Size of all stored layers, each counted once, in Docker's measure (the layers'
    /// `content_size`, what the image rows add up from).
    pub layers_size: u64,
    /// Bytes the store's layers, configs and manifests occupy on disk (layers kept as pulled
    /// are compressed, so this can be less than `layers_size`).
    pub stored_bytes: u64,
    /// The images `docker images` lists (intermediates hidden), newest first.
    pub images: Vec<ImageUsage>,
    /// Number of those images at least one container uses.
    pub active: usize,
    /// `layers_size` minus the unique bytes of the active images (the CLI's formula).
    pub reclaimable: u64,
}

/// One image's line of `docker system df -v`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageUsage {
    /// Image ID.
    pub id: Digest,
    /// Familiar `repo:tag` references.
    pub repo_tags: Vec<String>,
    /// Creation time, unix seconds.
    pub created: i64,
    /// Sum of the sizes of the image's distinct layers.
    pub size: u64,
    /// The part of `size` in layers other images use too.
    pub shared_size: u64,
    /// `size - shared_size`.
    pub unique_size: u64,
    /// Number of containers created from the image.
    pub containers: u64,
}

/// Computes `docker system df` for images. Reclaimable is what the Docker CLI shows:
/// the layers' total minus `size - shared_size` of every image a container uses.
pub fn disk_usage(view: &StoreView) -> DiskUsage {
    let layers_size: u64 = view.layers.values().map(|l| l.content_size).sum();
    let stored_bytes: u64 = view.layers.values().map(|l| l.stored_bytes).sum::<u64>()
        + view
            .images
            .iter()
            .chain(&view.retained)
            .map(|i| i.config_size + i.manifest.as_ref().map_or(0, |m| m.1))
            .sum::<u64>();
    let images: Vec<ImageUsage> = default_summaries(view)
        .into_iter()
        .map(|s| ImageUsage {
            id: s.id,
            repo_tags: s.repo_tags,
            created: s.created,
            size: s.size,
            shared_size: s.shared_size,
            unique_size: s.unique_size,
            containers: s.containers,
        })
        .collect();
    let active = images.iter().filter(|i| i.containers > 0);
    let used: u64 = active.clone().map(|i| i.unique_size).sum();
    DiskUsage {
        layers_size,
        stored_bytes,
        active: active.count(),
        reclaimable: layers_size.saturating_sub(used),
        images,
    }
}

/// True when the image exists, no reference (tag or digest) points at it and no image has it
/// as parent: what `image prune` removes by default.
pub fn is_dangling(view: &StoreView, id: &Digest) -> bool {
    let facts = Facts::new(view);
    facts.images.contains_key(id) && facts.refs_of(id).is_empty() && !facts.has_children(id)
}

/// How many images use each layer (by diff ID); every stored layer is listed, unused ones
/// with 0.
pub fn layer_refcounts(view: &StoreView) -> BTreeMap<Digest, usize> {
    let facts = Facts::new(view);
    let mut counts: BTreeMap<Digest, usize> = view.layers.keys().map(|d| (d.clone(), 0)).collect();
    for (d, n) in facts.layer_refs {
        counts.insert(d.clone(), n);
    }
    counts
}
