//! Wasted bytes and the efficiency score, computed the way dive's `filetree/efficiency.go`
//! and `image/analysis.go` do.

use crate::key::{ancestors, PathKey};
use layer_diff::{Changeset, EntryKind};
use std::collections::{BTreeMap, HashSet};

/// How much of an image's bytes are copies that later layers override or delete.
///
/// See the crate doc for the exact rules; the field names follow dive's (`efficiencyScore`,
/// `inefficientBytes`, `sizeBytes`, `userSizeBytes`).
#[derive(Debug, Clone, PartialEq)]
pub struct Efficiency {
    /// `minimum_bytes / discovered_bytes`, or 1.0 when nothing was discovered.
    pub score: f64,
    /// The sum of `cumulative_size` over the paths seen more than once (dive's
    /// `inefficientBytes`).
    pub wasted_bytes: u64,
    /// The sum over all paths of every occurrence's size.
    pub discovered_bytes: u64,
    /// The sum over all paths of the smallest occurrence's size.
    pub minimum_bytes: u64,
    /// The sum of all layers' sizes (a layer's size is the sum of its tar headers' sizes).
    pub size_bytes: u64,
    /// The same without the bottom layer (dive's "user size": what the image adds to its base).
    pub user_size_bytes: u64,
    /// The paths seen more than once, largest `cumulative_size` first (then by path).
    pub inefficient: Vec<Inefficiency>,
}

impl Efficiency {
    /// `wasted_bytes / user_size_bytes` (dive's `userWastedPercent`, a fraction despite its
    /// name); `None` when the image has no layer above its base.
    pub fn wasted_user_percent(&self) -> Option<f64> {
        (self.user_size_bytes > 0).then(|| self.wasted_bytes as f64 / self.user_size_bytes as f64)
    }
}

/// A path that occurs in more than one layer (or twice in one: a whiteout and a new entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inefficiency {
    /// The path.
    pub path: String,
    /// The sum of the sizes of all its occurrences.
    pub cumulative_size: u64,
    /// The size of its smallest occurrence.
    pub minimum_size: u64,
    /// The layer of each occurrence, bottom first.
    pub layers: Vec<usize>,
}

#[derive(Debug, Clone, Default)]
struct Occurrences {
    cumulative: u64,
    minimum: u64,
    layers: Vec<usize>,
}

/// Collects occurrences layer by layer while the union is built.
#[derive(Debug, Default)]
pub(crate) struct EfficiencyBuilder {
    paths: BTreeMap<PathKey, Occurrences>,
}

impl EfficiencyBuilder {
    fn record(&mut self, path: &str, size: u64, layer: usize) {
        let o = self.paths.entry(PathKey::new(path)).or_default();
        o.minimum = if o.layers.is_empty() {
            size
        } else {
            o.minimum.min(size)
        };
        o.cumulative += size;
        o.layers.push(layer);
    }

    /// Records the leaves of layer `n`'s tree. `whiteout_size(path)` answers from the merged
    /// view of the layers below: the total size of `path` and everything under it when it is
    /// a directory there, else 0.
    pub(crate) fn add_layer(
        &mut self,
        n: usize,
        cs: &Changeset,
        whiteout_size: impl Fn(&str) -> u64,
    ) {
        // dive's tree of one layer has a node per entry plus implied parents; a whiteout sits
        // in its parent directory, an opaque marker adds only its directory.
        let inner: HashSet<&str> = cs.iter().flat_map(|e| ancestors(&e.path)).collect();
        for e in cs.iter().filter(|e| !e.path.is_empty()) {
            match e.kind {
                EntryKind::Whiteout => self.record(&e.path, whiteout_size(&e.path), n),
                EntryKind::Opaque => {
                    if cs.get(&e.path).is_none() && !inner.contains(e.path.as_str()) {
                        self.record(&e.path, 0, n);
                    }
                }
                _ => {
                    if !inner.contains(e.path.as_str()) {
                        self.record(&e.path, e.size(), n);
                    }
                }
            }
        }
    }

    pub(crate) fn finish(self, layers: &[Changeset]) -> Efficiency {
        let discovered_bytes: u64 = self.paths.values().map(|o| o.cumulative).sum();
        let minimum_bytes: u64 = self.paths.values().map(|o| o.minimum).sum();
        let mut inefficient: Vec<Inefficiency> = self
            .paths
            .into_iter()
            .filter(|(_, o)| o.layers.len() > 1)
            .map(|(k, o)| Inefficiency {
                path: k.0,
                cumulative_size: o.cumulative,
                minimum_size: o.minimum,
                layers: o.layers,
            })
            .collect();
        inefficient.sort_by_key(|i| std::cmp::Reverse(i.cumulative_size));
        let size_bytes = layers.iter().map(Changeset::files_size).sum();
        let user_size_bytes = layers.iter().skip(1).map(Changeset::files_size).sum();
        Efficiency {
            score: if discovered_bytes == 0 {
                1.0
            } else {
                minimum_bytes as f64 / discovered_bytes as f64
            },
            wasted_bytes: inefficient.iter().map(|i| i.cumulative_size).sum(),
            discovered_bytes,
            minimum_bytes,
            size_bytes,
            user_size_bytes,
            inefficient,
        }
    }
}
