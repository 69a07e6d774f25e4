//! Containers without processes: an image's layer stack plus one writable layer.
//!
//! On disk a container is `<root>/containers/<id>/` holding `config.json` and `upper/`, its
//! writable layer kept in the OCI layer form itself: changed and added paths in full, deletions
//! as `.wh.<name>` files, a directory replaced wholesale marked by `.wh..wh..opq`. So `diff`
//! reads only `upper/` (never two whole trees), `commit` tars `upper/` as the new layer, and the
//! merged view is the same [`layer_union::Union`] the CLI, the server and the browser draw:
//! the image's layers (read from their blobs) with `upper/` on top.
//!
//! Every path a user gives is normalised (a `..` that climbs out is refused) and checked
//! against the merged view: its ancestors must be directories there, so a write never goes
//! through a symlink. Copy-up: before a path is changed, its ancestor directories are created
//! in `upper/` with the lower directories' mode and owner.

use crate::{Engine, EngineError, Result};
use image_store::ContainerRecord;
use layer_diff::{
    name_bytes, name_from_bytes, normalize_path, parent_path, Changeset, EntryKind, OPAQUE_MARKER,
    WHITEOUT_PREFIX,
};
use layer_union::Union;
use oci_model::{Digest, ExecConfig};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `config.json` holds for a container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerInfo {
    /// 64 hex characters.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// The image ID.
    pub image: Digest,
    /// The image as the user named it (`bb:1`).
    pub image_name: String,
    /// RFC 3339 creation time.
    pub created: String,
    /// The process configuration inherited from the image.
    pub config: ExecConfig,
}

impl ContainerInfo {
    /// The image as `ps` shows it (moby's `refreshImage`): the name the container was created
    /// with while that name still means its image, else the image ID (`sha256:…`), as once
    /// the tag is removed or moved, or the image removed with `rmi -f`.
    pub fn shown_image(&self, view: &image_store::StoreView) -> String {
        match image_store::resolve(view, &self.image_name) {
            Ok(r) if r.id == self.image => self.image_name.clone(),
            _ => self.image.to_string(),
        }
    }
}

/// One line of `diff`: `A`dded, `C`hanged or `D`eleted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PathChange {
    /// `/`-rooted path.
    pub path: String,
    /// 'A', 'C' or 'D'.
    pub kind: char,
}

/// Options of `commit`.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// `REPO[:TAG]` for the new image; none leaves it dangling.
    pub reference: Option<String>,
    /// `-m`.
    pub message: Option<String>,
    /// `-a`.
    pub author: Option<String>,
    /// `-c` Dockerfile instructions.
    pub changes: Vec<String>,
}

/// sha256 of an empty tar (1024 zero bytes): a commit with no changes adds no layer.
const EMPTY_TAR: &str = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| EngineError::io("read /dev/urandom", e))?;
    Ok(hex::encode(buf))
}

const ADJECTIVES: &[&str] = &[
    "admiring", "brave", "clever", "dreamy", "eager", "focused", "gallant", "happy", "jolly",
    "keen", "loving", "modest", "nifty", "quirky", "relaxed", "serene", "tender", "vibrant",
    "wizardly", "zealous",
];
const NAMES: &[&str] = &[
    "babbage", "curie", "dijkstra", "euler", "feynman", "gauss", "hopper", "kepler", "lovelace",
    "mccarthy", "noether", "pascal", "ritchie", "shannon", "thompson", "turing", "wozniak",
];

/// Docker's container name rule.
fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// A user path (`/etc/passwd`, `etc/passwd`) as a normalised relative path.
pub(crate) fn user_path(p: &str) -> Result<String> {
    normalize_path(p).map_err(|e| EngineError::invalid(e.to_string()))
}

fn io(ctx: impl Into<String>) -> impl FnOnce(std::io::Error) -> EngineError {
    let ctx = ctx.into();
    move |e| EngineError::io(ctx, e)
}

fn base_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

impl Engine {
    fn containers_dir(&self) -> PathBuf {
        self.root.join("containers")
    }

    fn container_dir(&self, id: &str) -> PathBuf {
        self.containers_dir().join(id)
    }

    /// The writable layer of a container.
    pub fn upper_dir(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("upper")
    }

    /// `create`: a container from `image`, named `name` or a generated name.
    pub fn create_container(&self, image: &str, name: Option<&str>) -> Result<ContainerInfo> {
        let view = self.view()?;
        let image_id = image_store::resolve(&view, image)?.id;
        let name = match name {
            Some(n) => {
                let n = n.strip_prefix('/').unwrap_or(n);
                if !valid_name(n) {
                    return Err(EngineError::invalid(format!(
                        "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                    )));
                }
                n.to_string()
            }
            None => loop {
                let r = random_hex(2)?;
                let r = u16::from_str_radix(&r, 16).unwrap_or(0) as usize;
                let n = format!(
                    "{}_{}",
                    ADJECTIVES[r % ADJECTIVES.len()],
                    NAMES[(r / 32) % NAMES.len()]
                );
                if !view.containers.iter().any(|c| c.name == n) {
                    break n;
                }
            },
        };
        if let Some(c) = view.containers.iter().find(|c| c.name == name) {
            return Err(EngineError::Conflict(format!(
                "Conflict. The container name \"/{name}\" is already in use by container \"{}\". You have to remove (or rename) that container to be able to reuse that name.",
                c.id
            )));
        }
        let (image_config, _) = self.config_of(&image_id)?;
        let record = view
            .images
            .iter()
            .find(|i| i.id == image_id)
            .expect("resolved image exists");
        // A layer that cannot be applied refuses the create and leaves nothing behind.
        self.unpacked_chain(&record.diff_ids)?;
        let info = ContainerInfo {
            id: random_hex(32)?,
            name,
            image: image_id.clone(),
            image_name: image.to_string(),
            created: crate::import::rfc3339(time::OffsetDateTime::now_utc()),
            config: image_config.config.clone().unwrap_or_default(),
        };
        let dir = self.container_dir(&info.id);
        fs::create_dir_all(dir.join("upper")).map_err(io(format!("create {}", dir.display())))?;
        let json =
            serde_json::to_vec_pretty(&info).map_err(|e| EngineError::invalid(e.to_string()))?;
        crate::write_atomic(&dir.join("config.json"), &json)?;
        let inserted = self.db().write(|tx| -> Result<()> {
            tx.insert_container(&ContainerRecord {
                id: info.id.clone(),
                name: info.name.clone(),
                image: image_id.clone(),
                running: false,
            })?;
            Ok(())
        });
        if let Err(e) = inserted {
            let _ = fs::remove_dir_all(&dir);
            return Err(e);
        }
        self.emit(
            crate::Event::new("container", "create", info.id.clone())
                .with("name", info.name.clone())
                .with("image", info.image_name.clone()),
        );
        Ok(info)
    }

    /// Every container, newest first.
    pub fn containers(&self) -> Result<Vec<ContainerInfo>> {
        let view = self.view()?;
        let mut out = Vec::new();
        for c in &view.containers {
            out.push(self.read_info(&c.id)?);
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    fn read_info(&self, id: &str) -> Result<ContainerInfo> {
        let path = self.container_dir(id).join("config.json");
        let raw = fs::read(&path).map_err(io(format!("read {}", path.display())))?;
        serde_json::from_slice(&raw)
            .map_err(|e| EngineError::invalid(format!("{}: {e}", path.display())))
    }

    /// Finds a container by full ID, name or unique ID prefix.
    pub fn container(&self, input: &str) -> Result<ContainerInfo> {
        let view = self.view()?;
        let name = input.strip_prefix('/').unwrap_or(input);
        let found = view
            .containers
            .iter()
            .find(|c| c.id == input || c.name == name);
        let id = match found {
            Some(c) => c.id.clone(),
            None => {
                let hits: Vec<_> = view
                    .containers
                    .iter()
                    .filter(|c| !input.is_empty() && c.id.starts_with(input))
                    .collect();
                match hits.as_slice() {
                    [one] => one.id.clone(),
                    [] => return Err(EngineError::NotFound(format!("No such container: {input}"))),
                    _ => {
                        return Err(EngineError::invalid(format!(
                            "multiple IDs found with provided prefix: {input}"
                        )))
                    }
                }
            }
        };
        self.read_info(&id)
    }

    /// `rm`: deletes the container and its writable layer; a running container only with
    /// `force`, which kills it first.
    pub fn remove_container(&self, input: &str, force: bool) -> Result<()> {
        let c = self.container(input)?;
        self.prepare_removal(&c, force)?;
        self.unmount_container(&c.id)?;
        // An image removed with `rmi -f` while this container used it goes with its last
        // container, and so do the layers only it kept.
        let freed = self.db().write(|tx| -> Result<Vec<Digest>> {
            tx.delete_container(&c.id)?;
            Ok(tx.drop_unused_retained()?)
        })?;
        let dir = self.container_dir(&c.id);
        fs::remove_dir_all(&dir).map_err(io(format!("remove {}", dir.display())))?;
        let mut events =
            vec![crate::Event::new("container", "destroy", c.id.clone())
                .with("name", c.name.clone())];
        for l in &freed {
            events.push(crate::Event::new("layer", "delete", l.to_string()));
        }
        self.emit_all(events);
        if !freed.is_empty() {
            // The change is done; blobs left behind go with a later sweep if this one fails.
            let _ = self.sweep();
        }
        Ok(())
    }

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
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(missing.len());
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

    fn upper_changeset(&self, id: &str) -> Result<Changeset> {
        with_packed(&self.readable_upper(id)?, |tar| {
            layer_diff::read_changeset(tar).map_err(|e| EngineError::invalid(e.to_string()))
        })
    }

    /// The merged view of a container (image layers + writable layer on top) and the
    /// directories holding each layer's files, bottom first.
    pub fn container_union(&self, c: &ContainerInfo) -> Result<(Union, Vec<PathBuf>)> {
        let mut layers = self.image_changesets(&c.image)?;
        let mut dirs = self.image_layer_dirs(&c.image)?;
        layers.push(self.upper_changeset(&c.id)?);
        dirs.push(self.readable_upper(&c.id)?);
        Ok((Union::build(&layers), dirs))
    }

    /// The unpacked directory of each of `image`'s layers, base first (unpacking as needed).
    pub(crate) fn image_layer_dirs(&self, image: &Digest) -> Result<Vec<PathBuf>> {
        let view = self.view()?;
        let Some(rec) = view.image_of_container(image) else {
            return Ok(Vec::new());
        };
        self.unpacked_chain(&rec.diff_ids)
    }

    /// `diff`: what the writable layer adds, changes and deletes, sorted by path.
    pub fn container_diff(&self, input: &str) -> Result<Vec<PathChange>> {
        let c = self.container(input)?;
        let lower = Union::build(&self.image_changesets(&c.image)?);
        let mut out = Vec::new();
        walk_upper(&self.readable_upper(&c.id)?, "", &lower, &mut out)?;
        out.sort();
        Ok(out)
    }

    /// Creates the ancestors of `path` in the writable layer (copy-up of directories), checking
    /// that each is a directory in the merged view.
    fn copy_up_parents(
        &self,
        c: &ContainerInfo,
        merged: &Union,
        lower: &Union,
        path: &str,
    ) -> Result<()> {
        let mut ancestors = Vec::new();
        let mut p = parent_path(path);
        while let Some(a) = p {
            if a.is_empty() {
                break;
            }
            ancestors.push(a.to_string());
            p = parent_path(a);
        }
        let upper = self.upper_dir(&c.id);
        for a in ancestors.iter().rev() {
            match merged.get(a) {
                Some(e) if e.entry.is_dir() => {}
                Some(_) => return Err(EngineError::invalid(format!("/{a}: not a directory"))),
                None => {
                    return Err(EngineError::NotFound(format!(
                        "Could not find the file /{a} in container {}",
                        c.name
                    )))
                }
            }
            let dst = upper.join(host_rel(a));
            if fs::symlink_metadata(&dst).is_ok() {
                continue;
            }
            fs::create_dir(&dst).map_err(io(format!("copy up /{a}")))?;
            if let Some(l) = lower.get(a) {
                let _ = fs::set_permissions(&dst, fs::Permissions::from_mode(l.entry.mode));
                if unsafe_is_root() {
                    let _ = std::os::unix::fs::lchown(&dst, Some(l.entry.uid), Some(l.entry.gid));
                }
            }
        }
        Ok(())
    }

    fn unions(&self, c: &ContainerInfo) -> Result<(Union, Union)> {
        let lower_sets = self.image_changesets(&c.image)?;
        let lower = Union::build(&lower_sets);
        let mut all = lower_sets;
        all.push(self.upper_changeset(&c.id)?);
        Ok((Union::build(&all), lower))
    }

    /// `fs rm CONTAINER PATH`: removes a path from the container's root (a whiteout when a
    /// lower layer provides it).
    pub fn container_remove_path(&self, input: &str, path: &str) -> Result<()> {
        let c = self.container(input)?;
        self.refuse_if_running(&c)?;
        let p = user_path(path)?;
        if p.is_empty() {
            return Err(EngineError::invalid("cannot remove the root directory"));
        }
        let (merged, lower) = self.unions(&c)?;
        if merged.get(&p).is_none() {
            return Err(EngineError::NotFound(format!(
                "Could not find the file /{p} in container {}",
                c.name
            )));
        }
        self.copy_up_parents(&c, &merged, &lower, &p)?;
        let upper = self.upper_dir(&c.id);
        let dst = upper.join(host_rel(&p));
        if let Ok(m) = fs::symlink_metadata(&dst) {
            if m.is_dir() {
                fs::remove_dir_all(&dst)
            } else {
                fs::remove_file(&dst)
            }
            .map_err(io(format!("remove /{p}")))?;
        }
        if lower.get(&p).is_some() {
            let wh = whiteout_path(&upper, &p);
            fs::File::create(&wh).map_err(io(format!("whiteout /{p}")))?;
        }
        self.emit(
            crate::Event::new("container", "change", c.id.clone())
                .with("name", c.name.clone())
                .with("path", format!("/{p}")),
        );
        Ok(())
    }

    /// `fs mkdir CONTAINER PATH`: creates a directory (and missing parents). A directory that
    /// replaces a deleted lower directory is made opaque.
    pub fn container_mkdir(&self, input: &str, path: &str) -> Result<()> {
        let c = self.container(input)?;
        self.refuse_if_running(&c)?;
        let p = user_path(path)?;
        let (merged, lower) = self.unions(&c)?;
        if merged.get(&p).is_some() {
            return Err(EngineError::Conflict(format!("mkdir /{p}: file exists")));
        }
        // missing parents first, as `mkdir -p`
        let mut chain = vec![p.clone()];
        let mut cur = parent_path(&p);
        while let Some(a) = cur.filter(|a| !a.is_empty() && merged.get(a).is_none()) {
            chain.push(a.to_string());
            cur = parent_path(a);
        }
        let top = chain.last().expect("non-empty").clone();
        self.copy_up_parents(&c, &merged, &lower, &top)?;
        let upper = self.upper_dir(&c.id);
        for d in chain.iter().rev() {
            self.make_upper_dir(&upper, &lower, d)?;
        }
        self.emit(
            crate::Event::new("container", "change", c.id.clone())
                .with("name", c.name.clone())
                .with("path", format!("/{p}")),
        );
        Ok(())
    }

    fn make_upper_dir(&self, upper: &Path, lower: &Union, d: &str) -> Result<()> {
        let dst = upper.join(host_rel(d));
        if let Ok(m) = fs::symlink_metadata(&dst) {
            if !m.is_dir() {
                fs::remove_file(&dst).map_err(io(format!("replace /{d}")))?;
            }
        }
        if !dst.is_dir() {
            fs::create_dir(&dst).map_err(io(format!("mkdir /{d}")))?;
        }
        let wh = whiteout_path(upper, d);
        let was_deleted = fs::remove_file(&wh).is_ok();
        if was_deleted && lower.get(d).is_some_and(|e| e.entry.is_dir()) {
            fs::File::create(dst.join(OPAQUE_MARKER)).map_err(io(format!("opaque /{d}")))?;
        }
        Ok(())
    }

    /// `cp` into a container (`PUT /containers/{id}/archive`): extracts the tar `r` into the
    /// directory `dest` of the container's root, through the writable layer.
    pub fn container_put_archive(&self, input: &str, dest: &str, r: impl Read) -> Result<()> {
        let c = self.container(input)?;
        self.refuse_if_running(&c)?;
        let d = user_path(dest)?;
        let (merged, lower) = self.unions(&c)?;
        if !d.is_empty() {
            match merged.get(&d) {
                Some(e) if e.entry.is_dir() => {}
                Some(_) => {
                    return Err(EngineError::invalid(format!(
                        "extraction point is not a directory: /{d}"
                    )))
                }
                None => {
                    return Err(EngineError::NotFound(format!(
                        "Could not find the file /{d} in container {}",
                        c.name
                    )))
                }
            }
        }
        // Stage the archive so its names can be checked before anything changes.
        let staging = self
            .container_dir(&c.id)
            .join(format!("staging-{}", random_hex(4)?));
        fs::create_dir(&staging).map_err(io("create staging dir"))?;
        let result = (|| -> Result<()> {
            let opts = layer_apply::ApplyOptions {
                mode: layer_apply::Mode::Unpack,
                ..Default::default()
            };
            layer_apply::apply(&staging, r, &opts)
                .map_err(|e| EngineError::invalid(e.to_string()))?;
            // What the archive made, read from the staged tree's metadata (never its bytes:
            // the upload may be any size and is not held in memory).
            let mut incoming = Vec::new();
            staged_entries(&staging, "", &mut incoming)?;
            // Only now, with the archive checked, does the writable layer change.
            if !d.is_empty() {
                self.copy_up_parents(&c, &merged, &lower, &format!("{d}/x"))?;
            }
            let upper = self.upper_dir(&c.id);
            for e in incoming.iter() {
                let p = if d.is_empty() {
                    e.path.clone()
                } else {
                    format!("{d}/{}", e.path)
                };
                match &e.kind {
                    StagedKind::Dir => self.make_upper_dir(&upper, &lower, &p)?,
                    _ => {
                        let dst = upper.join(host_rel(&p));
                        if let Ok(m) = fs::symlink_metadata(&dst) {
                            if m.is_dir() {
                                fs::remove_dir_all(&dst)
                            } else {
                                fs::remove_file(&dst)
                            }
                            .map_err(io(format!("replace /{p}")))?;
                        }
                        let _ = fs::remove_file(whiteout_path(&upper, &p));
                        let src = staging.join(host_rel(&e.path));
                        fs::rename(&src, &dst).map_err(io(format!("write /{p}")))?;
                    }
                }
                if let StagedKind::Dir = e.kind {
                    let dst = upper.join(host_rel(&p));
                    let _ = fs::set_permissions(&dst, fs::Permissions::from_mode(e.mode));
                }
            }
            Ok(())
        })();
        let _ = fs::remove_dir_all(&staging);
        if result.is_ok() {
            self.emit(
                crate::Event::new("container", "change", c.id.clone())
                    .with("name", c.name.clone())
                    .with("path", format!("/{d}")),
            );
        }
        result
    }

    /// `cp` out of a container (`GET /containers/{id}/archive`): a tar of `path` in the merged
    /// view, its top entry named after the path's last component.
    pub fn container_get_archive(&self, input: &str, path: &str, w: impl Write) -> Result<()> {
        let c = self.container(input)?;
        let p = user_path(path)?;
        let (union, dirs) = self.container_union(&c)?;
        if union.get(&p).is_none() {
            return Err(EngineError::NotFound(format!(
                "Could not find the file /{p} in container {}",
                c.name
            )));
        }
        let rename = if p.is_empty() {
            None
        } else {
            Some((p.clone(), base_name(&p).to_string()))
        };
        write_union_tar(&union, &dirs, Some(&p), rename.as_ref(), w)
    }

    /// What the merged view shows at `path`: `None` when absent, else whether it is a directory.
    pub fn container_stat(&self, input: &str, path: &str) -> Result<Option<bool>> {
        let c = self.container(input)?;
        let p = user_path(path)?;
        let (merged, _) = self.unions(&c)?;
        Ok(merged.get(&p).map(|e| e.entry.is_dir()))
    }

    /// The union view of a container (when `target` names one) or of an image, with a label
    /// for each layer, bottom first (`sha256:…` diff IDs; `writable` for a container's layer).
    pub fn union_of(&self, target: &str) -> Result<(Union, Vec<String>)> {
        if let Ok(c) = self.container(target) {
            let (merged, _) = self.unions(&c)?;
            let mut labels = self.layer_labels(&c.image)?;
            labels.push("writable".into());
            return Ok((merged, labels));
        }
        let view = self.view()?;
        let id = image_store::resolve(&view, target)?.id;
        Ok((
            Union::build(&self.image_changesets(&id)?),
            self.layer_labels(&id)?,
        ))
    }

    fn layer_labels(&self, image: &Digest) -> Result<Vec<String>> {
        let view = self.view()?;
        Ok(view
            .image_of_container(image)
            .map(|i| i.diff_ids.iter().map(|d| d.to_string()).collect())
            .unwrap_or_default())
    }

    /// `export`: the container's merged root as one tar.
    pub fn export_container(&self, input: &str, w: impl Write) -> Result<()> {
        let c = self.container(input)?;
        let (union, dirs) = self.container_union(&c)?;
        write_union_tar(&union, &dirs, None, None, w)
    }

    /// `commit`: freezes the writable layer into a new image on top of the container's image.
    pub fn commit(&self, input: &str, opts: &CommitOptions) -> Result<Digest> {
        let c = self.container(input)?;
        let target = opts
            .reference
            .as_deref()
            .map(crate::import::parse_tag_target)
            .transpose()?;
        let (parent_config, _) = self.config_of(&c.image)?;
        let mut config = parent_config.clone();
        let mut exec = c.config.clone();
        crate::apply_changes(&mut exec, &opts.changes)?;

        let _lease = self.leases.shared()?;
        let layer = with_packed(&self.readable_upper(&c.id)?, |tar| {
            Ok(blob_store::ingest_layer(&self.blobs, tar)?)
        })?;
        let empty = layer.diff_id.hex() == EMPTY_TAR;

        let now = time::OffsetDateTime::now_utc();
        let created = crate::import::rfc3339(now);
        config.created = Some(created.clone());
        config.author = opts.author.clone().filter(|a| !a.is_empty());
        config.comment = None;
        config.config = (exec != ExecConfig::default()).then_some(exec.clone());
        if !empty {
            config.rootfs.diff_ids.push(layer.diff_id.clone());
        }
        let cmd = exec.cmd.clone().unwrap_or_default().join(" ");
        config.history.push(oci_model::History {
            created: Some(created),
            created_by: Some(cmd),
            author: config.author.clone(),
            comment: opts.message.clone().filter(|m| !m.is_empty()),
            empty_layer: empty,
        });
        let bytes = serde_json::to_vec(&config).map_err(|e| EngineError::invalid(e.to_string()))?;
        let id = self.blobs.put(&bytes, None)?;
        let record = image_store::ImageRecord {
            id: id.clone(),
            config_size: bytes.len() as u64,
            manifest: None,
            parent: Some(c.image.clone()),
            created: now.unix_timestamp(),
            diff_ids: config.rootfs.diff_ids.clone(),
            labels: config.labels(),
        };
        self.db().write(|tx| -> Result<()> {
            if !empty {
                tx.insert_layer(
                    &image_store::LayerRecord {
                        diff_id: layer.diff_id.clone(),
                        size: layer.size,
                        content_size: layer.content_size,
                        stored_bytes: layer.size,
                    },
                    None,
                )?;
            }
            tx.insert_image(&record)?;
            if let Some(t) = &target {
                tx.set_tag(t, &id)?;
            }
            Ok(())
        })?;
        let mut ev = crate::Event::new("container", "commit", c.id.clone())
            .with("name", c.name.clone())
            .with("image", id.to_string());
        if let Some(t) = &target {
            ev = ev.with("tag", t.familiar_string());
        }
        self.emit(ev);
        Ok(id)
    }
}

fn unsafe_is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Packs `dir` into a layer tar ([`layer_apply::pack_dir`]) on a second thread while
/// `consume` reads it: the tar streams through a few fixed buffers and is never held whole in
/// memory, whatever the size of the tree.
fn with_packed<T>(
    dir: &Path,
    consume: impl FnOnce(crate::registry::ChunkReader) -> Result<T>,
) -> Result<T> {
    let (mut w, r) = crate::registry::chunk_pipe();
    std::thread::scope(|s| {
        let packer = s.spawn(
            move || -> std::result::Result<(), layer_apply::ApplyError> {
                layer_apply::pack_dir(dir, &mut w)?;
                w.flush()
                    .map_err(|source| layer_apply::ApplyError::Write { source })
            },
        );
        // `consume` owns the reading end: when it returns the pipe is closed, so a packer
        // still writing stops with a broken pipe instead of waiting forever.
        let out = consume(r);
        let packed = packer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        match packed {
            // The reader stopped first: its own answer (or error) is the one that counts.
            Err(layer_apply::ApplyError::Write { source })
                if source.kind() == std::io::ErrorKind::BrokenPipe =>
            {
                out
            }
            Err(e) => Err(EngineError::invalid(e.to_string())),
            Ok(()) => out,
        }
    })
}

/// What an archive staged for `cp` holds at one path.
#[derive(Debug)]
enum StagedKind {
    Dir,
    /// Anything else (file, symlink, device, FIFO): moved into the writable layer whole.
    Other,
}

#[derive(Debug)]
struct StagedEntry {
    /// Relative to the staging directory, `/`-separated.
    path: String,
    kind: StagedKind,
    /// Permission bits plus setuid, setgid and sticky.
    mode: u32,
}

/// The entries of a staged archive, each directory before what it holds (siblings sorted by
/// name), from `lstat` alone. A name that is a whiteout or opaque marker is refused (a `cp`
/// writes content, it never deletes); AUFS metadata names (`.wh..wh.*`) are skipped as layer
/// readers skip them; names are bytes (`name_from_bytes`), as in layers.
fn staged_entries(root: &Path, rel: &str, out: &mut Vec<StagedEntry>) -> Result<()> {
    let dir = root.join(host_rel(rel));
    let mut names = Vec::new();
    for entry in fs::read_dir(&dir).map_err(io(format!("read staged /{rel}")))? {
        let entry = entry.map_err(io(format!("read staged /{rel}")))?;
        names.push(name_from_bytes(entry.file_name().as_bytes()).into_owned());
    }
    names.sort();
    for name in names {
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        match layer_diff::parse_tar_name(&path).map_err(|e| EngineError::invalid(e.to_string()))? {
            layer_diff::TarName::Meta => continue,
            layer_diff::TarName::Path(_) => {}
            layer_diff::TarName::Whiteout(_) | layer_diff::TarName::Opaque(_) => {
                return Err(EngineError::invalid(format!(
                    "refusing whiteout name in archive: {path}"
                )))
            }
        }
        let m = fs::symlink_metadata(root.join(host_rel(&path)))
            .map_err(io(format!("stat staged /{path}")))?;
        let is_dir = m.is_dir();
        out.push(StagedEntry {
            path: path.clone(),
            kind: if is_dir {
                StagedKind::Dir
            } else {
                StagedKind::Other
            },
            mode: m.mode() & 0o7777,
        });
        if is_dir {
            staged_entries(root, &path, out)?;
        }
    }
    Ok(())
}

fn whiteout_path(upper: &Path, p: &str) -> PathBuf {
    let (dir, name) = match p.rsplit_once('/') {
        Some((d, n)) => (upper.join(host_rel(d)), n),
        None => (upper.to_path_buf(), p),
    };
    dir.join(host_rel(&format!("{WHITEOUT_PREFIX}{name}")))
}

/// The relative host path of a changeset path: its name bytes (`layer_diff::name_bytes`), so a
/// name that is not UTF-8 is the same bytes on disk as in the layer.
pub(crate) fn host_rel(p: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(name_bytes(p).into_owned()))
}

/// Walks the writable layer: whiteouts are deletions, other entries additions or changes
/// depending on whether the image shows the path.
fn walk_upper(dir: &Path, rel: &str, lower: &Union, out: &mut Vec<PathChange>) -> Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(io(format!("read {}", dir.display())))?
        .filter_map(|e| e.ok())
        .map(|e| {
            use std::os::unix::ffi::OsStrExt;
            name_from_bytes(e.file_name().as_bytes()).into_owned()
        })
        .collect();
    names.sort();
    for name in names {
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if name == OPAQUE_MARKER {
            continue;
        }
        if let Some(target) = name.strip_prefix(WHITEOUT_PREFIX) {
            let p = if rel.is_empty() {
                target.to_string()
            } else {
                format!("{rel}/{target}")
            };
            out.push(PathChange {
                path: format!("/{p}"),
                kind: 'D',
            });
            continue;
        }
        let kind = if lower.get(&path).is_some() { 'C' } else { 'A' };
        out.push(PathChange {
            path: format!("/{path}"),
            kind,
        });
        let full = dir.join(host_rel(&name));
        if fs::symlink_metadata(&full)
            .map(|m| m.is_dir())
            .unwrap_or(false)
        {
            walk_upper(&full, &path, lower, out)?;
        }
    }
    Ok(())
}

/// Writes the merged view (or the subtree at `only`) as a tar, file bytes read from the
/// providing layer's directory. `rename` maps the subtree's root to a new top name.
fn write_union_tar(
    union: &Union,
    dirs: &[PathBuf],
    only: Option<&str>,
    rename: Option<&(String, String)>,
    w: impl Write,
) -> Result<()> {
    let mut b = tar::Builder::new(w);
    b.mode(tar::HeaderMode::Complete);
    let within = |p: &str| match only {
        None | Some("") => true,
        Some(o) => p == o || p.strip_prefix(o).is_some_and(|r| r.starts_with('/')),
    };
    let out_name = |p: &str| match rename {
        Some((from, to)) => format!("{to}{}", &p[from.len()..]),
        None => p.to_string(),
    };
    let err = |e: std::io::Error| EngineError::io("write tar", e);
    for m in union.merged() {
        let p = m.path();
        if p.is_empty() || !within(p) {
            continue;
        }
        // A hard link is a second name of what it shares, with that entry's metadata: a link
        // to a symlink is the symlink, never the file it points to.
        let (e, src) = match union.link_source(m) {
            Some((layer, source)) => (source, Some((layer, source.path.as_str()))),
            None if matches!(m.entry.kind, EntryKind::Hardlink { .. }) => continue,
            None => (&m.entry, None),
        };
        let mut h = tar::Header::new_gnu();
        h.set_mode(e.mode);
        h.set_uid(e.uid as u64);
        h.set_gid(e.gid as u64);
        h.set_mtime(e.mtime.max(0) as u64);
        let name = out_name(p);
        match &e.kind {
            EntryKind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, host_rel(&format!("{name}/")), std::io::empty())
                    .map_err(err)?;
            }
            EntryKind::Symlink { target } => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, host_rel(&name), host_rel(target))
                    .map_err(err)?;
            }
            EntryKind::File { .. } => {
                let (layer, src) = src.unwrap_or((m.provider, p));
                let f = layer_apply::open_in_root(&dirs[layer], src)
                    .map_err(|e| EngineError::invalid(format!("read /{src}: {e}")))?;
                let len = f.metadata().map_err(err)?.len();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(len);
                b.append_data(&mut h, host_rel(&name), f).map_err(err)?;
            }
            EntryKind::Fifo | EntryKind::CharDevice { .. } | EntryKind::BlockDevice { .. } => {
                let (t, major, minor) = match &e.kind {
                    EntryKind::CharDevice { major, minor } => {
                        (tar::EntryType::Char, *major, *minor)
                    }
                    EntryKind::BlockDevice { major, minor } => {
                        (tar::EntryType::Block, *major, *minor)
                    }
                    _ => (tar::EntryType::Fifo, 0, 0),
                };
                h.set_entry_type(t);
                h.set_size(0);
                let _ = h.set_device_major(major);
                let _ = h.set_device_minor(minor);
                b.append_data(&mut h, host_rel(&name), std::io::empty())
                    .map_err(err)?;
            }
            _ => {}
        }
    }
    b.finish().map_err(err)?;
    Ok(())
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
