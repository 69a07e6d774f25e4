//! A container's files: `cp` into and out of it (archives staged and checked before the
//! writable layer changes), `fs rm`, `fs mkdir`, `stat`, and copy-up of parent directories.

use crate::containers::{
    base_name, host_rel, io, random_hex, unsafe_is_root, user_path, write_union_tar, ContainerInfo,
};
use crate::{Engine, EngineError, Result};
use layer_diff::{
    name_bytes, name_from_bytes, parent_path, EntryKind, OPAQUE_MARKER, WHITEOUT_PREFIX,
};
use layer_union::Union;
use std::fs;
use std::io::{Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

impl Engine {
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

    /// [`Engine::container_put_archive_with`] with the default options: an entry may
    /// replace a directory with a non-directory or the reverse (the API without
    /// `noOverwriteDirNonDir`).
    pub fn container_put_archive(&self, input: &str, dest: &str, r: impl Read) -> Result<()> {
        self.container_put_archive_with(input, dest, r, PutArchiveOptions::default())
    }

    /// `cp` into a container (`PUT /containers/{id}/archive`): extracts the tar `r` into the
    /// directory `dest` of the container's root, through the writable layer, as Docker does
    /// in the container's root: `dest` with every symlink followed inside the root, its last
    /// component too ("you can extract an archive to a symlink that points to a directory"),
    /// then each entry on top of the container by the rule a layer is applied on its parents
    /// (`layer_apply::apply_on_at`: parents resolved through the container's symlinks and the
    /// archive's own, inside the root; an entry's own name never followed; `..` never above
    /// `dest`). With `opts.no_overwrite_dir_non_dir` (what the docker CLI always asks) an
    /// entry that would replace a directory with a non-directory, or a non-directory (the
    /// image's `var/run -> /run` symlink) with a directory, in the merged view (the image's
    /// layers, the writable layer, and what earlier entries of the archive made), refuses
    /// the whole archive in Docker's words (`cannot overwrite non-directory "/var/run" with
    /// directory "/"`, paths in the container). The archive is staged that way, checked, and
    /// only then moved into the writable layer: a refused archive changes nothing.
    pub fn container_put_archive_with(
        &self,
        input: &str,
        dest: &str,
        r: impl Read,
        opts: PutArchiveOptions,
    ) -> Result<()> {
        let c = self.container(input)?;
        self.refuse_if_running(&c)?;
        let given = user_path(dest)?;
        let (merged, lower) = self.unions(&c)?;
        let d = merged.resolve(&given, true);
        match merged.get(&d) {
            Some(e) if e.entry.is_dir() => {}
            Some(_) => {
                return Err(EngineError::invalid(format!(
                    "extraction point is not a directory: /{given}"
                )))
            }
            None => {
                return Err(EngineError::NotFound(format!(
                    "Could not find the file /{given} in container {}",
                    c.name
                )))
            }
        }
        // The layers the archive lands on, top first: the writable layer (the container is
        // stopped: its OCI form), then the image's.
        let upper = self.upper_dir(&c.id);
        let mut below = self.image_layer_dirs(&c.image)?;
        below.push(upper.clone());
        below.reverse();
        let below: Vec<&Path> = below.iter().map(PathBuf::as_path).collect();
        // Stage the archive so its names can be checked before anything changes.
        let staging = self
            .container_dir(&c.id)
            .join(format!("staging-{}", random_hex(4)?));
        fs::create_dir(&staging).map_err(io("create staging dir"))?;
        let result = (|| -> Result<()> {
            let apply = layer_apply::ApplyOptions {
                mode: layer_apply::Mode::Unpack,
                no_overwrite_dir_non_dir: opts.no_overwrite_dir_non_dir,
                ..Default::default()
            };
            layer_apply::apply_on_at(&staging, &below, &name_bytes(&d), r, &apply)
                .map_err(|e| EngineError::invalid(e.to_string()))?;
            // What the archive made (resolved paths, with the directories copied up on the
            // way), read from the staged tree's metadata (never its bytes: the upload may be
            // any size and is not held in memory).
            let mut incoming = Vec::new();
            staged_entries(&staging, "", &mut incoming)?;
            // Only now, with the archive checked, does the writable layer change.
            for e in incoming.iter() {
                let p = &e.path;
                let dst = upper.join(host_rel(p));
                match &e.kind {
                    StagedKind::Dir => {
                        self.make_upper_dir(&upper, &lower, p)?;
                        let _ = fs::set_permissions(&dst, fs::Permissions::from_mode(e.mode));
                        if unsafe_is_root() {
                            let _ = std::os::unix::fs::lchown(&dst, Some(e.uid), Some(e.gid));
                        }
                    }
                    StagedKind::Other => {
                        if let Ok(m) = fs::symlink_metadata(&dst) {
                            if m.is_dir() {
                                fs::remove_dir_all(&dst)
                            } else {
                                fs::remove_file(&dst)
                            }
                            .map_err(io(format!("replace /{p}")))?;
                        }
                        let _ = fs::remove_file(whiteout_path(&upper, p));
                        let src = staging.join(host_rel(p));
                        fs::rename(&src, &dst).map_err(io(format!("write /{p}")))?;
                    }
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
    /// view, its top entry named after the path's last component (the root's entries for
    /// `/`). The path is resolved inside the container's root, every symlink on the way
    /// followed but the last component, which is followed only when the path ends with `/`
    /// or `/.` (`c:/link` is the link itself, `c:/link/` what it points to), as Docker does.
    pub fn container_get_archive(&self, input: &str, path: &str, w: impl Write) -> Result<()> {
        let c = self.container(input)?;
        let given = user_path(path)?;
        let (union, dirs) = self.container_union(&c)?;
        let p = union.resolve(&given, follows_last(path));
        let Some(m) = union.get(&p) else {
            return Err(EngineError::NotFound(format!(
                "Could not find the file /{given} in container {}",
                c.name
            )));
        };
        if follows_last(path) && !m.entry.is_dir() {
            return Err(EngineError::invalid(format!("/{given}: not a directory")));
        }
        let rename = if given.is_empty() {
            None
        } else {
            Some((p.clone(), base_name(&given).to_string()))
        };
        write_union_tar(&union, &dirs, Some(&p), rename.as_ref(), w)
    }

    /// `stat` of `path` in the container's merged view (what `HEAD …/archive` reports,
    /// `PUT /api/containers/{id}/files` checks and `cp` into a container decides by); `None`
    /// when absent. The path is resolved as [`Engine::container_get_archive`] resolves it (a
    /// final symlink is the link, unless the path ends with `/` or `/.`); a symlink's
    /// `link_target` is where it leads inside the root.
    pub fn container_path_stat(&self, input: &str, path: &str) -> Result<Option<PathStat>> {
        let c = self.container(input)?;
        let given = user_path(path)?;
        let (union, _) = self.unions(&c)?;
        let p = union.resolve(&given, follows_last(path));
        let Some(m) = union.get(&p) else {
            return Ok(None);
        };
        let top = union.layer_count().saturating_sub(1);
        let size = match &m.entry.kind {
            EntryKind::File { size, .. } => *size,
            EntryKind::Hardlink { .. } => union.lookup(&p, top).map_or(0, |f| f.size),
            _ => 0,
        };
        // Where a symlink leads, resolved inside the root (moby's `FollowSymlinkInScope`).
        let link_target = match &m.entry.kind {
            EntryKind::Symlink { .. } => format!("/{}", union.resolve(&given, true)),
            _ => String::new(),
        };
        Ok(Some(PathStat {
            name: if given.is_empty() {
                "/".into()
            } else {
                base_name(&given).to_string()
            },
            size,
            mode: m.entry.mode & 0o7777,
            mtime: m.entry.mtime,
            link_target,
            kind: m.entry.kind.name(),
        }))
    }

    /// Writes one regular file at `path` (its parent directory must exist in the merged view),
    /// creating or replacing it, from `len` bytes of `data` (`None`: all of it, spooled to a
    /// temporary file first). `mode` defaults to the replaced file's permission bits, else
    /// `0644`. A directory at `path` is refused.
    pub fn write_file(
        &self,
        input: &str,
        path: &str,
        mode: Option<u32>,
        len: Option<u64>,
        data: impl Read,
    ) -> Result<()> {
        let c = self.container(input)?;
        let p = user_path(path)?;
        if p.is_empty() {
            return Err(EngineError::invalid("path must name a file, not the root"));
        }
        let (parent, name) = match p.rsplit_once('/') {
            Some((d, n)) => (d.to_string(), n.to_string()),
            None => (String::new(), p.clone()),
        };
        let existing = self.container_path_stat(&c.id, &p)?;
        if existing.as_ref().is_some_and(PathStat::is_dir) {
            return Err(EngineError::invalid(format!("{path}: is a directory")));
        }
        let mode = mode
            .map(|m| m & 0o7777)
            .or(existing.filter(|s| s.kind == "file").map(|s| s.mode))
            .unwrap_or(0o644);
        let parent = format!("/{parent}");
        match len {
            Some(len) => {
                self.container_put_archive(&c.id, &parent, one_entry_tar(&name, mode, len, data)?)
            }
            None => {
                // the tar header needs the size: spool the bytes to learn it
                let mut tmp = tempfile::tempfile().map_err(io("spool upload"))?;
                let len = std::io::copy(&mut { data }, &mut tmp).map_err(io("spool upload"))?;
                tmp.rewind().map_err(io("spool upload"))?;
                self.container_put_archive(&c.id, &parent, one_entry_tar(&name, mode, len, tmp)?)
            }
        }
    }

    /// Sizes of a container as Docker reports them: its writable layer's regular-file bytes
    /// (`SizeRw`), and that plus its image's layers (`SizeRootFs`).
    pub fn container_sizes(&self, c: &ContainerInfo) -> Result<ContainerSizes> {
        let view = self.view()?;
        let rw = dir_size(&self.readable_upper(&c.id)?);
        let image: u64 = view
            .image_of_container(&c.image)
            .map(|i| {
                i.diff_ids
                    .iter()
                    .filter_map(|d| view.layers.get(d))
                    .map(|l| l.content_size)
                    .sum()
            })
            .unwrap_or(0);
        Ok(ContainerSizes {
            rw,
            root_fs: rw + image,
        })
    }
}

/// How [`Engine::container_put_archive_with`] treats what the container already holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutArchiveOptions {
    /// Docker's `noOverwriteDirNonDir` (the docker CLI always sends `true`): refuse an
    /// entry that would replace a directory with a non-directory or the reverse. Default
    /// false: it replaces, as Docker's extraction does without the flag.
    pub no_overwrite_dir_non_dir: bool,
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
    uid: u32,
    gid: u32,
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
            uid: m.uid(),
            gid: m.gid(),
        });
        if is_dir {
            staged_entries(root, &path, out)?;
        }
    }
    Ok(())
}

/// Whether a user's container path names what its last component points to: it ends with
/// `/` or `/.` (`link/`, `link/.`), as a trailing slash makes the kernel follow a symlink.
fn follows_last(raw: &str) -> bool {
    let trimmed = raw.trim_end_matches('/');
    trimmed.len() != raw.len() || trimmed == "." || trimmed.ends_with("/.")
}

fn whiteout_path(upper: &Path, p: &str) -> PathBuf {
    let (dir, name) = match p.rsplit_once('/') {
        Some((d, n)) => (upper.join(host_rel(d)), n),
        None => (upper.to_path_buf(), p),
    };
    dir.join(host_rel(&format!("{WHITEOUT_PREFIX}{name}")))
}

/// What a path of a container's merged view is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStat {
    /// Base name (`/` for the root).
    pub name: String,
    /// Bytes (files and hardlinks to files; 0 otherwise).
    pub size: u64,
    /// Permission and special bits as in `stat(2)` (`mode & 0o7777`).
    pub mode: u32,
    /// Unix seconds.
    pub mtime: i64,
    /// For a symlink, its target as an absolute path.
    pub link_target: String,
    /// The entry kind (`layer_diff::EntryKind::name`: `file`, `dir`, `symlink`, …).
    pub kind: &'static str,
}

impl PathStat {
    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == "dir"
    }
}

/// A container's sizes (`SizeRw`, `SizeRootFs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerSizes {
    /// Bytes of regular files in the writable layer.
    pub rw: u64,
    /// That plus the image's layers.
    pub root_fs: u64,
}

/// Bytes of regular files under `dir`.
fn dir_size(dir: &Path) -> u64 {
    let Ok(rd) = fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// A one-entry tar stream around `len` bytes of `data`: a regular file `name` (a changeset
/// path: its bytes, `layer_diff::name_bytes`) owned by root, its header written by the one
/// tar writer (`layer_diff::header_blocks`).
fn one_entry_tar(name: &str, mode: u32, len: u64, data: impl Read) -> Result<impl Read> {
    let h = layer_diff::TarHeader {
        name: &name_bytes(name),
        kind: layer_diff::TarKind::File,
        link: &[],
        mode,
        uid: 0,
        gid: 0,
        size: len,
        mtime: time::OffsetDateTime::now_utc().unix_timestamp().max(0),
        xattrs: Vec::new(),
    };
    let head =
        layer_diff::header_blocks(&h).map_err(|e| EngineError::invalid(format!("{name}: {e}")))?;
    let pad = (512 - (len % 512)) % 512;
    let head = std::io::Cursor::new(head);
    Ok(head
        .chain(data.take(len))
        .chain(std::io::repeat(0).take(pad + 1024)))
}
