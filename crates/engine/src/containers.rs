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
    name_bytes, name_from_bytes, normalize_path, Changeset, EntryKind, OPAQUE_MARKER,
    WHITEOUT_PREFIX,
};
use layer_union::Union;
use oci_model::{Digest, ExecConfig};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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

pub(crate) fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| EngineError::io("read /dev/urandom", e))?;
    Ok(hex::encode(buf))
}

/// How many generated names a create tries before it names the container by its short ID
/// (moby's `generateNewName`: six, with a digit added from the second on).
const NAME_ATTEMPTS: usize = 6;

/// A generated name, `adjective_scientist`; from the second attempt on a digit is added
/// (`clever_curie3`), as Docker's name generator does on a retry.
fn random_name(attempt: usize) -> Result<String> {
    let r = random_hex(4)?;
    let r = u32::from_str_radix(&r, 16).unwrap_or(0) as usize;
    let a = ADJECTIVES[r % ADJECTIVES.len()];
    let n = NAMES[(r / ADJECTIVES.len()) % NAMES.len()];
    Ok(if attempt == 0 {
        format!("{a}_{n}")
    } else {
        format!("{a}_{n}{}", (r >> 24) % 10)
    })
}

/// A generated name for the container `id` that `taken` does not hold: up to
/// [`NAME_ATTEMPTS`] tries, then the short ID, as Docker falls back to it.
fn generated_name(id: &str, taken: impl Fn(&str) -> bool) -> Result<String> {
    for attempt in 0..NAME_ATTEMPTS {
        let n = random_name(attempt)?;
        if !taken(&n) {
            return Ok(n);
        }
    }
    Ok(id[..12].to_string())
}

const ADJECTIVES: &[&str] = &[
    "admiring", "brave", "calm", "clever", "curious", "daring", "dreamy", "eager", "earnest",
    "fearless", "focused", "gallant", "gentle", "happy", "honest", "jolly", "keen", "lively",
    "loving", "lucky", "merry", "modest", "nifty", "patient", "proud", "quirky", "relaxed",
    "serene", "steady", "tender", "vibrant", "zealous",
];
const NAMES: &[&str] = &[
    "agnesi",
    "babbage",
    "boole",
    "cantor",
    "curie",
    "dijkstra",
    "euclid",
    "euler",
    "faraday",
    "feynman",
    "fourier",
    "galois",
    "gauss",
    "hilbert",
    "hopper",
    "huygens",
    "kepler",
    "laplace",
    "leibniz",
    "lovelace",
    "mccarthy",
    "napier",
    "noether",
    "pascal",
    "planck",
    "ramanujan",
    "riemann",
    "ritchie",
    "shannon",
    "thompson",
    "turing",
    "wozniak",
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

pub(crate) fn io(ctx: impl Into<String>) -> impl FnOnce(std::io::Error) -> EngineError {
    let ctx = ctx.into();
    move |e| EngineError::io(ctx, e)
}

pub(crate) fn base_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

impl Engine {
    fn containers_dir(&self) -> PathBuf {
        self.root.join("containers")
    }

    pub(crate) fn container_dir(&self, id: &str) -> PathBuf {
        self.containers_dir().join(id)
    }

    /// The writable layer of a container.
    pub fn upper_dir(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("upper")
    }

    /// `create`: a container from `image`, named `name` or a generated name.
    pub fn create_container(&self, image: &str, name: Option<&str>) -> Result<ContainerInfo> {
        let info = self.new_container_info(image, name, |_| Ok(()))?;
        self.record_container(&info, None)?;
        Ok(info)
    }

    /// A new container's record, not yet stored: `image` resolved, its configuration passed
    /// to `check` (which may refuse, as dockerd's create refuses a missing command once it has
    /// the image), the name checked or generated, a fresh ID, the image's layers unpacked (a
    /// layer that cannot be applied refuses the create and leaves nothing behind).
    pub(crate) fn new_container_info(
        &self,
        image: &str,
        name: Option<&str>,
        check: impl FnOnce(&ExecConfig) -> Result<()>,
    ) -> Result<ContainerInfo> {
        let view = self.view()?;
        let image_id = image_store::resolve(&view, image)?.id;
        let (image_config, _) = self.config_of(&image_id)?;
        let config = image_config.config.unwrap_or_default();
        check(&config)?;
        let id = random_hex(32)?;
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
            None => generated_name(&id, |n| view.containers.iter().any(|c| c.name == n))?,
        };
        if let Some(c) = view.containers.iter().find(|c| c.name == name) {
            return Err(EngineError::Conflict(format!(
                "Conflict. The container name \"/{name}\" is already in use by container \"{}\". You have to remove (or rename) that container to be able to reuse that name.",
                c.id
            )));
        }
        let record = view
            .images
            .iter()
            .find(|i| i.id == image_id)
            .expect("resolved image exists");
        // A layer that cannot be applied refuses the create and leaves nothing behind.
        self.unpacked_chain(&record.diff_ids)?;
        Ok(ContainerInfo {
            id,
            name,
            image: image_id.clone(),
            image_name: image.to_string(),
            created: crate::import::rfc3339(time::OffsetDateTime::now_utc()),
            config,
        })
    }

    /// Stores a new container: its directory with `upper/`, `config.json` and, when given,
    /// the run configuration (`run.json`), both durable with the directory's entry before the
    /// row that makes the container exist is committed (their syncs run at once, so they
    /// share the file system's journal commit); then the `create` event. On failure nothing
    /// is left.
    pub(crate) fn record_container(
        &self,
        info: &ContainerInfo,
        run: Option<&crate::RunConfig>,
    ) -> Result<()> {
        let dir = self.container_dir(&info.id);
        fs::create_dir_all(dir.join("upper")).map_err(io(format!("create {}", dir.display())))?;
        let written = (|| -> Result<()> {
            let mut files = vec![("config.json", crate::pretty_json(info)?)];
            if let Some(rc) = run {
                files.push(("run.json", crate::pretty_json(rc)?));
            }
            crate::write_new_dir(&dir, &files)
        })();
        let inserted = written.and_then(|()| {
            self.db().write(|tx| -> Result<()> {
                tx.insert_container(&ContainerRecord {
                    id: info.id.clone(),
                    name: info.name.clone(),
                    image: info.image.clone(),
                    running: false,
                })?;
                Ok(())
            })
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
        Ok(())
    }

    /// `rename`: Docker's name rules and texts; the row and `config.json` both take the new
    /// name, and a `rename` event carries the old one.
    pub fn rename_container(&self, input: &str, new_name: &str) -> Result<()> {
        let c = self.container(input)?;
        let new = new_name.strip_prefix('/').unwrap_or(new_name);
        if new.is_empty() {
            return Err(EngineError::invalid(
                "Neither old nor new names may be empty",
            ));
        }
        if !valid_name(new) {
            return Err(EngineError::invalid(format!(
                "Invalid container name ({new}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        if new == c.name {
            return Err(EngineError::invalid(
                "Renaming a container with the same name as its current name",
            ));
        }
        let view = self.view()?;
        if let Some(o) = view.containers.iter().find(|o| o.name == new) {
            return Err(EngineError::Conflict(format!(
                "Conflict. The container name \"/{new}\" is already in use by container \"{}\". You have to remove (or rename) that container to be able to reuse that name.",
                o.id
            )));
        }
        let mut info = self.read_info(&c.id)?;
        info.name = new.to_string();
        let json = crate::pretty_json(&info)?;
        self.db().write(|tx| -> Result<()> {
            tx.set_container_name(&c.id, new)?;
            Ok(())
        })?;
        crate::write_atomic(&self.container_dir(&c.id).join("config.json"), &json)?;
        self.emit(
            crate::Event::new("container", "rename", c.id.clone())
                .with("name", new.to_string())
                .with("oldName", format!("/{}", c.name)),
        );
        Ok(())
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
        self.remove_container_with(input, force, false)
    }

    /// `container prune` (and `system prune`'s first step): removes every container that does
    /// not run, created before `until` (Unix seconds) when given, whose labels match `labels`
    /// (`key`, `key=value`; a leading `!` for those that must not match). The IDs removed and
    /// the bytes of their writable layers.
    pub fn prune_containers(
        &self,
        until: Option<i64>,
        labels: &[String],
    ) -> Result<(Vec<String>, u64)> {
        let mut deleted = Vec::new();
        let mut reclaimed = 0u64;
        for c in self.containers()? {
            let own = c.config.labels.clone().unwrap_or_default();
            let has = |v: &str| match v.split_once('=') {
                Some((k, val)) => own.get(k).is_some_and(|x| x == val),
                None => own.contains_key(v),
            };
            let keep = labels.iter().all(|l| match l.strip_prefix('!') {
                Some(l) => !has(l),
                None => has(l),
            });
            let created = time::OffsetDateTime::parse(
                &c.created,
                &time::format_description::well_known::Rfc3339,
            )
            .map(|t| t.unix_timestamp())
            .unwrap_or(0);
            if !keep || until.is_some_and(|u| created >= u) || self.process_state(&c)?.is_running()
            {
                continue;
            }
            let size = self.container_sizes(&c).map(|s| s.rw).unwrap_or(0);
            self.remove_container(&c.id, false)?;
            reclaimed += size;
            deleted.push(c.id);
        }
        Ok((deleted, reclaimed))
    }

    /// `rm [-f] [-v]`: [`Engine::remove_container`], and with `volumes` the container's
    /// anonymous volumes too (named volumes and binds are kept, as Docker does).
    pub fn remove_container_with(&self, input: &str, force: bool, volumes: bool) -> Result<()> {
        let c = self.container(input)?;
        match self.remove_found_container(&c, force, volumes) {
            // Removed meanwhile by another removal (an `rm -f` of a `--rm` container racing
            // its monitor's clean-up, which found the process ended): done, by that one.
            Err(_)
                if self
                    .container(&c.id)
                    .is_err_and(|e| e.kind() == crate::ErrorKind::NotFound) =>
            {
                Ok(())
            }
            r => r,
        }
    }

    fn remove_found_container(&self, c: &ContainerInfo, force: bool, volumes: bool) -> Result<()> {
        let c = c.clone();
        self.prepare_removal(&c, force)?;
        crate::failpoint("rm:prepared");
        let mounts = if volumes {
            self.run_config(&c).map(|rc| rc.mounts).unwrap_or_default()
        } else {
            Vec::new()
        };
        self.unmount_container(&c.id)?;
        // An image removed with `rmi -f` while this container used it goes with its last
        // container, and so do the layers only it kept.
        let (ours, freed) = self.db().write(|tx| -> Result<(bool, Vec<Digest>)> {
            let ours = tx.delete_container(&c.id)?;
            Ok((ours, tx.drop_unused_retained()?))
        })?;
        if !ours {
            // Another removal took it first (an `rm -f` of a `--rm` container racing its
            // monitor's clean-up): that one removes its files and tells of it.
            return Ok(());
        }
        let dir = self.container_dir(&c.id);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(EngineError::io(format!("remove {}", dir.display()), e))
            }
            _ => {}
        }
        self.remove_anonymous_volumes(&mounts);
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

    /// The writable layer's changeset from its metadata (files over 4 KiB unread): what a
    /// stat, a `cp`, the merged view need, at a cost that does not grow with its bytes.
    fn upper_changeset(&self, id: &str) -> Result<Changeset> {
        layer_apply::scan_dir(&self.readable_upper(id)?)
            .map_err(|e| EngineError::invalid(e.to_string()))
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

    /// `diff`: what the writable layer adds, changes and deletes, sorted by path.
    pub fn container_diff(&self, input: &str) -> Result<Vec<PathChange>> {
        let c = self.container(input)?;
        let lower = Union::build(&self.image_changesets(&c.image)?);
        let mut out = Vec::new();
        walk_upper(&self.readable_upper(&c.id)?, "", &lower, &mut out)?;
        out.sort();
        Ok(out)
    }

    pub(crate) fn unions(&self, c: &ContainerInfo) -> Result<(Union, Union)> {
        let lower_sets = self.image_changesets(&c.image)?;
        let lower = Union::build(&lower_sets);
        let mut all = lower_sets;
        all.push(self.upper_changeset(&c.id)?);
        Ok((Union::build(&all), lower))
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

    /// Two images side by side: their IDs, how many layers both stacks start with (the
    /// shared base), and their merged views, for `layer_union::compare`.
    pub fn image_comparison(&self, a: &str, b: &str) -> Result<ImageComparison> {
        let view = self.view()?;
        let ida = image_store::resolve(&view, a)?.id;
        let idb = image_store::resolve(&view, b)?.id;
        let layers = |id: &Digest| {
            view.image_of_container(id)
                .map(|r| r.diff_ids.clone())
                .unwrap_or_default()
        };
        let shared_layers = layers(&ida)
            .iter()
            .zip(&layers(&idb))
            .take_while(|(x, y)| x == y)
            .count();
        Ok(ImageComparison {
            a_union: Union::build(&self.image_changesets(&ida)?),
            b_union: Union::build(&self.image_changesets(&idb)?),
            a: ida,
            b: idb,
            shared_layers,
        })
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
        // The layer blob is written and hashed here but published with the config below:
        // both are synced at once and their renames take one directory sync.
        let (layer, layer_blob) = with_packed(&self.readable_upper(&c.id)?, |tar| {
            Ok(blob_store::ingest_layer_verified(&self.blobs, tar)?)
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
        let config_blob = self.blobs.stage(&bytes)?;
        let id = config_blob.digest().clone();
        // An empty layer is not referenced (no layer row): its blob is not stored.
        let mut blobs = vec![config_blob];
        if !empty {
            blobs.push(layer_blob);
        }
        self.blobs.publish_all(blobs)?;
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

pub(crate) fn unsafe_is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Packs `dir` into a layer tar ([`layer_apply::pack_dir`]) on a second thread while
/// `consume` reads it: the tar streams through a few fixed buffers and is never held whole in
/// memory, whatever the size of the tree.
pub(crate) fn with_packed<T>(
    dir: &Path,
    consume: impl FnOnce(crate::streams::ChunkReader) -> Result<T>,
) -> Result<T> {
    let (mut w, r) = crate::streams::chunk_pipe();
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
        .map(|e| name_from_bytes(e.file_name().as_bytes()).into_owned())
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
/// providing layer's directory. `rename` maps the subtree's root to a new top name (the root
/// itself, `""`, then becomes a directory of that name holding the whole view).
pub(crate) fn write_union_tar(
    union: &Union,
    dirs: &[PathBuf],
    only: Option<&str>,
    rename: Option<&(String, String)>,
    w: impl Write,
) -> Result<()> {
    let mut tw = layer_diff::TarWriter::new(w);
    let within = |p: &str| match only {
        None | Some("") => true,
        Some(o) => p == o || p.strip_prefix(o).is_some_and(|r| r.starts_with('/')),
    };
    let root_renamed = rename.is_some_and(|(from, _)| from.is_empty());
    let out_name = |p: &str| match rename {
        Some((from, to)) if from.is_empty() && !p.is_empty() => format!("{to}/{p}"),
        Some((from, to)) => format!("{to}{}", &p[from.len()..]),
        None => p.to_string(),
    };
    let err = |e: layer_diff::DiffError| match e {
        layer_diff::DiffError::Write { source } => EngineError::io("write tar", source),
        other => EngineError::invalid(other.to_string()),
    };
    for m in union.merged() {
        let p = m.path();
        if (p.is_empty() && !root_renamed) || !within(p) {
            continue;
        }
        // A hard link is a second name of what it shares, with that entry's metadata: a link
        // to a symlink is the symlink, never the file it points to.
        let (e, src) = match union.link_source(m) {
            Some((layer, source)) => (source, Some((layer, source.path.as_str()))),
            None if matches!(m.entry.kind, EntryKind::Hardlink { .. }) => continue,
            None => (&m.entry, None),
        };
        let name = out_name(p);
        let name_b = name_bytes(&name);
        let (dir_name, target);
        let mut h = layer_diff::TarHeader {
            name: &name_b,
            kind: layer_diff::TarKind::File,
            link: &[],
            mode: e.mode,
            uid: u64::from(e.uid),
            gid: u64::from(e.gid),
            size: 0,
            mtime: e.mtime.max(0),
            // what the layer kept (ingest drops the overlay's and security.* but the
            // capability set): a file's capabilities and user attributes go along
            xattrs: e
                .xattrs
                .iter()
                .map(|(k, v)| (k.as_bytes(), v.as_slice()))
                .collect(),
        };
        match &e.kind {
            EntryKind::Dir => {
                dir_name = name_bytes(&format!("{name}/")).into_owned();
                h.name = &dir_name;
                h.kind = layer_diff::TarKind::Dir;
                tw.append(&h, std::io::empty()).map_err(err)?;
            }
            EntryKind::Symlink { target: t } => {
                target = name_bytes(t);
                h.kind = layer_diff::TarKind::Symlink;
                h.link = &target;
                tw.append(&h, std::io::empty()).map_err(err)?;
            }
            EntryKind::File { .. } => {
                let (layer, src) = src.unwrap_or((m.provider, p));
                let f = layer_apply::open_in_root(&dirs[layer], src)
                    .map_err(|e| EngineError::invalid(format!("read /{src}: {e}")))?;
                h.size = f
                    .metadata()
                    .map_err(|e| EngineError::io("write tar", e))?
                    .len();
                tw.append(&h, f).map_err(err)?;
            }
            EntryKind::Fifo => {
                h.kind = layer_diff::TarKind::Fifo;
                tw.append(&h, std::io::empty()).map_err(err)?;
            }
            EntryKind::CharDevice { major, minor } => {
                h.kind = layer_diff::TarKind::CharDevice(*major, *minor);
                tw.append(&h, std::io::empty()).map_err(err)?;
            }
            EntryKind::BlockDevice { major, minor } => {
                h.kind = layer_diff::TarKind::BlockDevice(*major, *minor);
                tw.append(&h, std::io::empty()).map_err(err)?;
            }
            _ => {}
        }
    }
    tw.finish().map_err(err)?;
    Ok(())
}

/// What [`Engine::image_comparison`] gives.
pub struct ImageComparison {
    /// The first image's ID.
    pub a: Digest,
    /// The second image's ID.
    pub b: Digest,
    /// Layers both stacks start with, the same in the same order.
    pub shared_layers: usize,
    /// The first image's merged view.
    pub a_union: Union,
    /// The second image's merged view.
    pub b_union: Union,
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn a_generated_name_gets_a_digit_on_a_retry_and_the_short_id_last() {
        let id = "0123456789abcdef".repeat(4);
        let first = generated_name(&id, |_| false).unwrap();
        let (a, n) = first.split_once('_').unwrap();
        assert!(ADJECTIVES.contains(&a) && NAMES.contains(&n), "{first}");
        // every undigited name taken: the next try adds a digit
        let retried = generated_name(&id, |n| !n.ends_with(|c: char| c.is_ascii_digit())).unwrap();
        let stem = retried.trim_end_matches(|c: char| c.is_ascii_digit());
        assert_eq!(retried.len(), stem.len() + 1, "{retried}");
        // everything taken: the short ID
        assert_eq!(generated_name(&id, |_| true).unwrap(), "0123456789ab");
    }
}
