//! Layer storage: each image layer unpacked once, keyed by its chain ID, on top of its
//! parents (`layers/<chain id>/`); staging directories renamed into place only when every
//! layer of a stack applied; layer tars read back from their blobs; the cache of layer
//! changesets read lately.

use crate::containers::{io, random_hex};
use crate::{Engine, EngineError, Result};
use layer_diff::Changeset;
use oci_model::Digest;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl Engine {
    /// The unpacked directory of each layer of the stack `diff_ids` (bottom first), unpacking
    /// those missing. A layer's directory holds what the layer means *on top of its parents*
    /// (its names resolved through their symlinks, lower files it hard-links copied up), so it
    /// is keyed by the layer's chain ID, as containerd keys snapshots: `layers/<chain id>/`
    /// (for the bottom layer the chain ID is its diff ID). Missing directories are unpacked
    /// bottom up, each onto the ones below, into fresh directories that are all renamed into
    /// place only once every layer applied: a layer that is refused leaves no directory, its
    /// parents' included, behind.
    pub fn unpacked_chain(&self, diff_ids: &[Digest]) -> Result<Vec<PathBuf>> {
        let mut dirs: Vec<PathBuf> = Vec::with_capacity(diff_ids.len());
        let mut staged: Vec<(usize, StagedLayer)> = Vec::new();
        for (i, d) in diff_ids.iter().enumerate() {
            let chain = oci_model::chain_id(&diff_ids[..=i]).expect("a non-empty stack");
            match self.stage_layer(&chain)? {
                Staged::Present(dir) => dirs.push(dir),
                Staged::New(st) => {
                    let lowers: Vec<&Path> = dirs.iter().rev().map(PathBuf::as_path).collect();
                    st.unpack_on(self.layer_tar(d)?, &lowers)
                        .map_err(|e| EngineError::invalid(format!("layer {d}: {e}")))?;
                    dirs.push(st.tmp.clone());
                    staged.push((i, st));
                }
            }
        }
        for (i, st) in staged {
            dirs[i] = st.publish()?;
        }
        Ok(dirs)
    }

    /// Refuses the layer stack `diff_ids` (bottom first) when an entry of one of its layers
    /// cannot be applied where it stands on the layers below it (a parent path through a
    /// non-directory or a symlink loop, a hard link to nothing or to a directory), as Docker's
    /// `load`, `import` and `pull` fail when they apply such a layer: the store takes no image
    /// that `create` would then fail to unpack. The pure model decides
    /// (`layer_union::Union::refusal`, which refuses what `layer_apply::apply_on` refuses), on
    /// the layers' shapes: those in `fresh` (an ingest's, by diff ID), the others read from
    /// their blobs. A stack an image of the store already begins with, or whose top layer is
    /// unpacked, applied when it was stored, and is not read again.
    pub(crate) fn check_stack(
        &self,
        diff_ids: &[Digest],
        fresh: &std::collections::BTreeMap<Digest, Changeset>,
    ) -> Result<()> {
        let Some(chain) = oci_model::chain_id(diff_ids) else {
            return Ok(());
        };
        let known = self
            .view()?
            .images
            .iter()
            .any(|i| i.diff_ids.starts_with(diff_ids));
        if known || self.root.join("layers").join(chain.hex()).is_dir() {
            return Ok(());
        }
        let mut shapes = Vec::with_capacity(diff_ids.len());
        for d in diff_ids {
            shapes.push(match fresh.get(d) {
                Some(cs) => cs.clone(),
                None => {
                    let cached = self
                        .changesets
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(d);
                    match cached {
                        Some(cs) => Changeset::clone(&cs),
                        None => {
                            let cs = layer_diff::read_changeset(self.layer_tar(d)?)
                                .map_err(|e| EngineError::invalid(format!("layer {d}: {e}")))?;
                            self.changesets
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .put(d.clone(), Arc::new(cs.clone()));
                            cs
                        }
                    }
                }
            });
        }
        match layer_union::Union::build(&shapes).refusal() {
            None => Ok(()),
            Some((n, refusal)) => Err(EngineError::invalid(format!(
                "layer {n} ({}) cannot be applied{}: {refusal}",
                diff_ids[*n],
                if *n > 0 {
                    " on the layers below it"
                } else {
                    ""
                }
            ))),
        }
    }

    /// The tar of layer `diff_id`, read from the blob that holds it: the tar itself, or a
    /// registry's compressed blob (a pulled layer), decompressed as it is read.
    pub fn layer_tar(&self, diff_id: &Digest) -> Result<Box<dyn std::io::Read + Send>> {
        let blob = self
            .db()
            .layer_blob(diff_id)?
            .unwrap_or_else(|| diff_id.clone());
        Ok(blob_store::open_layer(&self.blobs, &blob)?)
    }

    /// The unpacked directory of the layer whose chain ID is `chain` if it is there, else a
    /// fresh directory beside it to unpack it into.
    pub(crate) fn stage_layer(&self, chain: &Digest) -> Result<Staged> {
        let parent = self.root.join("layers");
        let dir = parent.join(chain.hex());
        if dir.is_dir() {
            return Ok(Staged::Present(dir));
        }
        if !parent.is_dir() {
            fs::create_dir_all(&parent).map_err(io("create layers dir"))?;
            spread_subdirectories(&parent);
        }
        // `.tmp-<pid>-`: the sweep removes those of dead processes.
        let tmp = parent.join(format!(".tmp-{}-{}", std::process::id(), random_hex(4)?));
        fs::create_dir(&tmp).map_err(io(format!("create {}", tmp.display())))?;
        self.staged_layers
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Staged::New(StagedLayer {
            tmp,
            dir,
            published: false,
        }))
    }

    /// The changesets of an image's layers, bottom first, read from their blobs: those not
    /// read lately are read in parallel (one thread per CPU), then kept for the next call.
    pub fn image_changesets(&self, image: &Digest) -> Result<Vec<Changeset>> {
        let view = self.view()?;
        let rec = view
            .image_of_container(image)
            .ok_or_else(|| EngineError::NotFound(format!("No such image: {image}")))?;
        let cached: Vec<Option<Arc<Changeset>>> = {
            let cache = self.changesets.lock().unwrap_or_else(|e| e.into_inner());
            rec.diff_ids.iter().map(|d| cache.get(d)).collect()
        };
        let missing: Vec<&Digest> = rec
            .diff_ids
            .iter()
            .zip(&cached)
            .filter(|(_, c)| c.is_none())
            .map(|(d, _)| d)
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        // (None missing, no thread and no look at the CPUs: that reads cgroup files.)
        let threads = if missing.is_empty() {
            0
        } else {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(missing.len())
        };
        let read: Vec<(usize, Result<Changeset>)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut out = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(d) = missing.get(i) else {
                                return out;
                            };
                            let cs = self.layer_tar(d).and_then(|r| {
                                layer_diff::read_changeset(r)
                                    .map_err(|e| EngineError::invalid(format!("layer {d}: {e}")))
                            });
                            out.push((i, cs));
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().expect("changeset reader"))
                .collect()
        });
        let mut fresh: Vec<Option<Arc<Changeset>>> = vec![None; missing.len()];
        for (i, cs) in read {
            fresh[i] = Some(Arc::new(cs?));
        }
        let mut cache = self.changesets.lock().unwrap_or_else(|e| e.into_inner());
        for (d, cs) in missing.iter().zip(&fresh) {
            cache.put((*d).clone(), cs.clone().expect("every missing layer read"));
        }
        let mut fresh = fresh.into_iter().flatten();
        Ok(cached
            .into_iter()
            .map(|c| {
                let cs = c.or_else(|| fresh.next()).expect("every layer read");
                Changeset::clone(&cs)
            })
            .collect())
    }

    /// The unpacked directory of each of `image`'s layers, base first (unpacking as needed).
    pub(crate) fn image_layer_dirs(&self, image: &Digest) -> Result<Vec<PathBuf>> {
        let view = self.view()?;
        let Some(rec) = view.image_of_container(image) else {
            return Ok(Vec::new());
        };
        self.unpacked_chain(&rec.diff_ids)
    }
}

/// Marks `dir` as the top of unrelated directory trees (`chattr +T`), so that ext4's Orlov
/// allocator spreads the directories made in it over the block groups rather than packing them
/// beside it. Each unpacked layer is a tree of its own; packed together, a new layer's files
/// take the inodes that deleted layers freed a moment ago, and ext4 (without a journal) scans
/// past every inode freed in the last 30 seconds for each inode it allocates. Best effort:
/// other file systems ignore or refuse the flag.
fn spread_subdirectories(dir: &Path) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        /// `FS_TOPDIR_FL` from `<linux/fs.h>`.
        const TOPDIR: libc::c_int = 0x0002_0000;
        let Ok(d) = fs::File::open(dir) else {
            return;
        };
        let mut flags: libc::c_int = 0;
        // SAFETY: a valid open fd; FS_IOC_GETFLAGS and FS_IOC_SETFLAGS read and write one int.
        unsafe {
            if libc::ioctl(d.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) == 0 {
                flags |= TOPDIR;
                libc::ioctl(d.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags);
            }
        }
    }
}

/// What [`Engine::stage_layer`] found.
pub(crate) enum Staged {
    /// The layer is unpacked already, here.
    Present(PathBuf),
    /// A directory to unpack it into.
    New(StagedLayer),
}

/// A layer being unpacked into a fresh directory beside its place (`layers/<hex>/`), which it
/// takes only when [`publish`](StagedLayer::publish)ed; dropped unpublished, it is removed.
pub(crate) struct StagedLayer {
    tmp: PathBuf,
    dir: PathBuf,
    published: bool,
}

impl StagedLayer {
    /// Applies the layer tar `r` to the staged directory on top of the unpacked directories
    /// of its parents (`lowers`, top first; none for a bottom layer), keeping whiteouts as
    /// files.
    pub(crate) fn unpack_on(
        &self,
        r: impl Read,
        lowers: &[&Path],
    ) -> std::result::Result<layer_apply::ApplyStats, layer_apply::ApplyError> {
        let opts = layer_apply::ApplyOptions {
            mode: layer_apply::Mode::Unpack,
            ..Default::default()
        };
        layer_apply::apply_on(&self.tmp, lowers, r, &opts)
    }

    /// Renames the directory into place; if another process unpacked the layer meanwhile,
    /// keeps theirs.
    pub(crate) fn publish(mut self) -> Result<PathBuf> {
        match fs::rename(&self.tmp, &self.dir) {
            Ok(()) => {
                self.published = true;
                Ok(self.dir.clone())
            }
            Err(_) if self.dir.is_dir() => Ok(self.dir.clone()),
            Err(e) => Err(EngineError::io(
                format!("rename to {}", self.dir.display()),
                e,
            )),
        }
    }
}

impl Drop for StagedLayer {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// The changesets of the layers read lately, by diff ID; at most [`ChangesetCache::LAYERS`],
/// the oldest forgotten first.
#[derive(Default)]
pub(crate) struct ChangesetCache {
    map: std::collections::HashMap<Digest, Arc<Changeset>>,
    order: std::collections::VecDeque<Digest>,
}

impl ChangesetCache {
    const LAYERS: usize = 128;

    fn get(&self, d: &Digest) -> Option<Arc<Changeset>> {
        self.map.get(d).cloned()
    }

    fn put(&mut self, d: Digest, cs: Arc<Changeset>) {
        if self.map.insert(d.clone(), cs).is_none() {
            self.order.push_back(d);
            while self.order.len() > Self::LAYERS {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn the_changeset_cache_forgets_the_oldest_first() {
        let mut c = ChangesetCache::default();
        let d = |i: usize| Digest::of(i.to_string().as_bytes());
        for i in 0..ChangesetCache::LAYERS + 2 {
            c.put(d(i), Arc::new(Changeset::default()));
            // putting one again does not count twice
            c.put(d(i), Arc::new(Changeset::default()));
        }
        assert!(c.get(&d(0)).is_none() && c.get(&d(1)).is_none());
        assert!(c.get(&d(2)).is_some());
        assert!(c.get(&d(ChangesetCache::LAYERS + 1)).is_some());
        assert_eq!(c.map.len(), ChangesetCache::LAYERS);
        assert_eq!(c.order.len(), ChangesetCache::LAYERS);
    }
}
