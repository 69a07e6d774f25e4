//! The builder's primitives: an image made from a step (a layer or none, Docker's history row,
//! the classic builder's `container_config` as cache key), the cache lookup, a `RUN` in a
//! container of the current image, and the layer of a `COPY`/`ADD` staged from its sources.

use super::context::{SourceEntry, SourceKind};
use super::BuildMessage;
use crate::containers::{random_hex, unsafe_is_root};
use crate::{CreateOptions, Engine, EngineError, Result};
use blob_store::LayerIngest;
use layer_diff::EntryKind;
use layer_union::Union;
use oci_model::{Digest, ExecConfig, History, ImageConfig};
use sha2::{Digest as _, Sha256};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// sha256 of an empty tar: a step that changed no file adds no layer (`empty_layer`).
const EMPTY_TAR: &str = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

/// The image a stage has reached: its ID (none before the first step of `FROM scratch`) and
/// config.
#[derive(Debug, Clone)]
pub(crate) struct StageImage {
    pub(crate) id: Option<Digest>,
    pub(crate) config: ImageConfig,
}

impl StageImage {
    /// The execution config the next step starts from.
    pub(crate) fn exec(&self) -> ExecConfig {
        self.config.config.clone().unwrap_or_default()
    }
}

/// The classic builder's record of a step: `container_config` with `Cmd` set to what the step
/// ran (or its `#(nop)` comment). Two steps with equal keys on the same parent are one cache
/// entry.
pub(crate) fn container_config(exec: &ExecConfig, cmd: &[String]) -> serde_json::Value {
    let mut c = exec.clone();
    c.cmd = Some(cmd.to_vec());
    serde_json::to_value(&c).unwrap_or_default()
}

/// A layer made by a step, with the lease that keeps its blob until the image is committed.
pub(crate) struct NewLayer {
    ingest: LayerIngest,
    _lease: crate::gc::Lease,
}

impl Engine {
    /// A layer from a directory in OCI layer form, through the same ingest as `commit`.
    pub(crate) fn layer_from_dir(&self, dir: &Path) -> Result<NewLayer> {
        let lease = self.leases.shared()?;
        let ingest = crate::containers::with_packed(dir, |tar| {
            Ok(blob_store::ingest_layer(&self.blobs, tar)?)
        })?;
        Ok(NewLayer {
            ingest,
            _lease: lease,
        })
    }

    /// The image of one step: `parent`'s config with `exec`, one history row (`created_by`,
    /// `empty_layer` when there is no layer or it is empty), the layer on top, the cache key
    /// (`container_config` with `cache_cmd`); recorded with `parent` as its parent, untagged.
    pub(crate) fn commit_step(
        &self,
        parent: &StageImage,
        exec: &ExecConfig,
        cache_cmd: &[String],
        created_by: String,
        layer: Option<NewLayer>,
        container: Option<&str>,
    ) -> Result<StageImage> {
        let layer = layer.filter(|l| l.ingest.diff_id.hex() != EMPTY_TAR);
        let now = time::OffsetDateTime::now_utc();
        let created = crate::import::rfc3339(now);
        let mut config = parent.config.clone();
        config.created = Some(created.clone());
        config.comment = None;
        config.config = (*exec != ExecConfig::default()).then(|| exec.clone());
        if let Some(l) = &layer {
            config.rootfs.diff_ids.push(l.ingest.diff_id.clone());
        }
        config.history.push(History {
            created: Some(created),
            created_by: Some(created_by),
            empty_layer: layer.is_none(),
            ..Default::default()
        });
        config
            .extra
            .insert("container_config".into(), container_config(exec, cache_cmd));
        match container {
            Some(c) => config.extra.insert("container".into(), c.into()),
            None => config.extra.remove("container"),
        };
        let bytes = serde_json::to_vec(&config).map_err(|e| EngineError::invalid(e.to_string()))?;
        let id = self.blobs.put(&bytes, None)?;
        let record = image_store::ImageRecord {
            id: id.clone(),
            config_size: bytes.len() as u64,
            manifest: None,
            parent: parent.id.clone(),
            created: now.unix_timestamp(),
            diff_ids: config.rootfs.diff_ids.clone(),
            labels: config.labels(),
        };
        self.db().write(|tx| -> Result<()> {
            if let Some(l) = &layer {
                tx.insert_layer(
                    &image_store::LayerRecord {
                        diff_id: l.ingest.diff_id.clone(),
                        size: l.ingest.size,
                        content_size: l.ingest.content_size,
                        stored_bytes: l.ingest.size,
                    },
                    None,
                )?;
            }
            tx.insert_image(&record)?;
            Ok(())
        })?;
        drop(layer);
        Ok(StageImage {
            id: Some(id),
            config,
        })
    }

    /// The cache: the newest image whose parent is `parent` and whose `container_config`
    /// equals this step's (`exec` with `cache_cmd`), as the classic builder finds it.
    pub(crate) fn cached_step(
        &self,
        parent: &StageImage,
        exec: &ExecConfig,
        cache_cmd: &[String],
    ) -> Result<Option<StageImage>> {
        let want = container_config(exec, cache_cmd);
        let view = self.view()?;
        let mut candidates: Vec<_> = view
            .images
            .iter()
            .filter(|i| i.parent == parent.id)
            .collect();
        candidates.sort_by_key(|i| std::cmp::Reverse(i.created));
        for c in candidates {
            let Ok((config, _)) = self.config_of(&c.id) else {
                continue;
            };
            if config.history.len() != parent.config.history.len() + 1
                || config.extra.get("container_config") != Some(&want)
            {
                continue;
            }
            return Ok(Some(StageImage {
                id: Some(c.id.clone()),
                config,
            }));
        }
        Ok(None)
    }

    /// Runs `step.args` in a new container of `image` with the stage's configuration (`exec`:
    /// environment, user, working directory) plus `step.env`, its output sent to `out` as it
    /// comes (stderr in red, as Docker's classic builder shows it). Returns the container's ID
    /// and the exit code; the container is left for the caller to commit and remove.
    pub(crate) fn run_step(
        &self,
        image: &Digest,
        exec: &ExecConfig,
        step: StepProcess,
        out: &mut dyn FnMut(BuildMessage),
    ) -> Result<(String, Result<i32>)> {
        let mut all_env = exec.env.clone().unwrap_or_default();
        all_env.extend(step.env);
        let opts = CreateOptions {
            entrypoint: Some(String::new()),
            cmd: step.args,
            env: all_env,
            workdir: exec.working_dir.clone().filter(|w| !w.is_empty()),
            user: exec.user.clone().filter(|u| !u.is_empty()),
            network: step.network.filter(|n| !n.is_empty() && n != "default"),
            mounts: step.mounts,
            ..Default::default()
        };
        let c = self.create_container_with(&image.to_string(), &opts)?;
        out(BuildMessage::Stream(format!(
            " ---> Running in {}\n",
            &c.id[..12]
        )));
        let ran = self.attach_run(&c, out);
        Ok((c.id, ran))
    }

    fn attach_run(
        &self,
        c: &crate::ContainerInfo,
        out: &mut dyn FnMut(BuildMessage),
    ) -> Result<i32> {
        use runtime::monitor::{self, Event};
        let mut spawned = match self.start_container(&c.id, true)? {
            Some(s) => s,
            None => {
                return Err(EngineError::invalid(
                    "the build container was already running",
                ))
            }
        };
        match spawned.next_event()? {
            Event::Failed { error, exit_code } => {
                let _ = self.container_exited(&c.id);
                return Err(runtime::RuntimeError::Start {
                    msg: error,
                    exit_code,
                }
                .into());
            }
            Event::Created | Event::Started { .. } => {}
        }
        let dir = self.container_dir_of(c);
        let mut conn = monitor::connect_attach(&dir)?;
        self.await_start(&c.id, &mut spawned)?;
        let mut head = [0u8; 8];
        while conn.read_exact(&mut head).is_ok() {
            let n = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
            let mut data = vec![0u8; n];
            if conn.read_exact(&mut data).is_err() {
                break;
            }
            let text = String::from_utf8_lossy(&data).into_owned();
            if head[0] == monitor::STDERR {
                out(BuildMessage::Stream(format!("\u{1b}[91m{text}\u{1b}[0m")));
            } else {
                out(BuildMessage::Stream(text));
            }
        }
        self.wait_container(&c.id)
    }

    /// The merged view of an image's layers and their unpacked directories (nothing for
    /// scratch).
    pub(crate) fn image_files(&self, image: Option<&Digest>) -> Result<(Union, Vec<PathBuf>)> {
        match image {
            None => Ok((Union::build(&[]), Vec::new())),
            Some(id) => Ok((
                Union::build(&self.image_changesets(id)?),
                self.image_layer_dirs(id)?,
            )),
        }
    }
}

/// Follows the symlinks of `path` (normalised, relative) in an image's merged view, inside its
/// root, as a copy into the image would: the path the copy really writes to. The last name is
/// followed too when `follow_last` (a destination or working directory, as Docker resolves it
/// in the container's root), else it is what is copied (a `COPY --from` source). The rule is
/// the merged view's own ([`Union::resolve`]); a link still on the resolved path means it
/// gave up after `layer_diff::MAX_SYMLINK_HOPS` links: a loop, refused as the kernel's
/// `ELOOP`.
pub(crate) fn resolve_in_image(union: &Union, path: &str, follow_last: bool) -> Result<String> {
    let resolved = union.resolve(path, follow_last);
    let mut prefix = String::new();
    let mut parts = resolved.split('/').filter(|p| !p.is_empty()).peekable();
    while let Some(part) = parts.next() {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        let is_link = union.get(&prefix).is_some_and(|m| {
            let e = union.link_source(m).map_or(&m.entry, |(_, e)| e);
            matches!(e.kind, EntryKind::Symlink { .. })
        });
        if is_link && (follow_last || parts.peek().is_some()) {
            return Err(EngineError::invalid(format!(
                "/{path}: too many levels of symbolic links"
            )));
        }
    }
    Ok(resolved)
}

/// Reads a small text file of an image (`etc/passwd`) through its merged view, inside the
/// layer directory that provides it.
pub(crate) fn read_image_text(union: &Union, dirs: &[PathBuf], path: &str) -> Option<String> {
    let m = union.get(path)?;
    let (layer, p) = match union.link_source(m) {
        Some((l, e)) => (l, e.path.clone()),
        None => (m.provider, path.to_string()),
    };
    let f = layer_apply::open_in_root(dirs.get(layer)?, &p).ok()?;
    // Only a regular file is read: a FIFO there would block the build.
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut s = String::new();
    f.take(4 * 1024 * 1024).read_to_string(&mut s).ok()?;
    Some(s)
}

/// The entries of `path` in an image's merged view (a file, or a directory and everything
/// under it), for `COPY --from`. `None` when the image has nothing there.
pub(crate) fn image_source(
    union: &Union,
    dirs: &[PathBuf],
    path: &str,
) -> Result<Option<Vec<SourceEntry>>> {
    let path = resolve_in_image(union, path, false)?;
    let Some(top) = union.get(&path) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    let mut push = |m: &layer_union::MergedEntry, rel: String| {
        let (layer, e) = match union.link_source(m) {
            Some((l, e)) => (l, e),
            None => (m.provider, &m.entry),
        };
        let kind = match &e.kind {
            EntryKind::Dir => SourceKind::Dir,
            EntryKind::Symlink { target } => SourceKind::Symlink(target.clone()),
            EntryKind::File { size, .. } => SourceKind::InLayer {
                root: dirs[layer].clone(),
                path: e.path.clone(),
                size: *size,
            },
            _ => return,
        };
        out.push(SourceEntry {
            rel,
            kind,
            mode: m.entry.mode,
            mtime: m.entry.mtime,
        });
    };
    push(top, String::new());
    if top.entry.is_dir() {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        for m in union.merged() {
            let p = m.path();
            if p.is_empty() || !p.starts_with(&prefix) {
                continue;
            }
            push(m, p[prefix.len()..].to_string());
        }
    }
    Ok(Some(out))
}

/// One source of a `COPY`/`ADD`, resolved.
#[derive(Debug, Clone)]
pub(crate) struct CopyItem {
    /// Its entries (the source itself has `rel == ""`).
    pub(crate) entries: Vec<SourceEntry>,
    /// The name a file source takes inside a destination directory.
    pub(crate) name: String,
    /// `ADD` of a local archive: extracted at the destination instead of copied.
    pub(crate) extract: bool,
}

impl CopyItem {
    pub(crate) fn is_dir(&self) -> bool {
        matches!(self.entries.first().map(|e| &e.kind), Some(SourceKind::Dir))
    }
}

fn open_source(kind: &SourceKind) -> Result<fs::File> {
    match kind {
        SourceKind::File { host, .. } => fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(host)
            .map_err(|e| EngineError::io(format!("read {}", host.display()), e)),
        SourceKind::InLayer { root, path, .. } => layer_apply::open_in_root(root, path)
            .map_err(|e| EngineError::invalid(format!("read /{path}: {e}"))),
        _ => Err(EngineError::invalid("not a file")),
    }
}

/// The classic builder's content hash of a step's sources: `file:<hex>` for one file,
/// `dir:<hex>` for one directory, `multi:<hex>` for several. Each entry counts by its path,
/// kind, mode and owner as copied (`--chmod`, `--chown`), size, link target and content;
/// modification times do not count (as Docker documents).
pub(crate) fn sources_hash(
    items: &[CopyItem],
    owner: (u32, u32),
    chmod: Option<u32>,
) -> Result<String> {
    let mut hashes = Vec::new();
    for it in items {
        let mut h = Sha256::new();
        h.update(if it.extract {
            b"extract\0"
        } else {
            b"copy\0\0\0\0"
        });
        for e in &it.entries {
            let (kind, size, target) = match &e.kind {
                SourceKind::Dir => ("dir", 0, ""),
                SourceKind::Symlink(t) => ("symlink", 0, t.as_str()),
                SourceKind::File { size, .. } | SourceKind::InLayer { size, .. } => {
                    ("file", *size, "")
                }
            };
            let mode = match (&e.kind, chmod) {
                (SourceKind::Symlink(_), _) => 0o777,
                (_, Some(m)) => m,
                (_, None) => e.mode,
            };
            h.update(
                format!(
                    "{}\0{kind}\0{mode:o}\0{}:{}\0{size}\0{target}\0",
                    e.rel, owner.0, owner.1
                )
                .as_bytes(),
            );
            if kind == "file" {
                if let SourceKind::File {
                    sha256: Some(known),
                    ..
                } = &e.kind
                {
                    h.update(known);
                    continue;
                }
                let mut f = open_source(&e.kind)?;
                let mut fh = Sha256::new();
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    let n = f
                        .read(&mut buf)
                        .map_err(|e| EngineError::io("read a source file", e))?;
                    if n == 0 {
                        break;
                    }
                    fh.update(&buf[..n]);
                }
                h.update(fh.finalize());
            }
        }
        hashes.push(hex::encode(h.finalize()));
    }
    Ok(match items {
        [one] if one.is_dir() => format!("dir:{}", hashes[0]),
        [_] => format!("file:{}", hashes[0]),
        _ => {
            let mut h = Sha256::new();
            for x in &hashes {
                h.update(x.as_bytes());
            }
            format!("multi:{}", hex::encode(h.finalize()))
        }
    })
}

/// What a `COPY`/`ADD` writes, staged in a directory of its own and packed as the step's layer.
pub(crate) struct CopyPlan<'a> {
    /// The destination, normalised and resolved in the image (relative, `""` is `/`).
    pub(crate) dest: String,
    /// A file source goes into the destination, under its own name (the destination ends
    /// with `/`, is `/` or a directory of the image); else it is written at the destination.
    /// A directory source's contents and an archive's always go into the destination, made
    /// when missing, as Docker's classic builder copies them.
    pub(crate) dest_is_dir: bool,
    pub(crate) items: &'a [CopyItem],
    pub(crate) owner: (u32, u32),
    pub(crate) chmod: Option<u32>,
}

fn set_mtime(p: &Path, secs: i64) {
    let c = match std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(p.as_os_str())) {
        Ok(c) => c,
        Err(_) => return,
    };
    let ts = [
        libc::timespec {
            tv_sec: secs as libc::time_t,
            tv_nsec: 0,
        },
        libc::timespec {
            tv_sec: secs as libc::time_t,
            tv_nsec: 0,
        },
    ];
    // SAFETY: a valid NUL-terminated path and two timespecs.
    unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
}

fn chown(p: &Path, owner: (u32, u32)) {
    if unsafe_is_root() {
        let _ = std::os::unix::fs::lchown(p, Some(owner.0), Some(owner.1));
    }
}

impl Engine {
    /// Stages a `COPY`/`ADD` into a fresh directory (the destination's parents with the
    /// image's metadata, then every source), packs it as a layer and removes the staging.
    pub(crate) fn copy_layer(&self, union: &Union, plan: &CopyPlan<'_>) -> Result<NewLayer> {
        let staging = self
            .root()
            .join("build")
            .join(format!("layer-{}", random_hex(8)?));
        fs::create_dir_all(&staging).map_err(|e| EngineError::io("create the staging", e))?;
        let made = (|| -> Result<NewLayer> {
            self.stage_copy(union, plan, &staging)?;
            self.layer_from_dir(&staging)
        })();
        let _ = fs::remove_dir_all(&staging);
        made
    }

    fn stage_copy(&self, union: &Union, plan: &CopyPlan<'_>, staging: &Path) -> Result<()> {
        let io = |what: String| move |e| EngineError::io(what, e);
        // the directory the sources go into: the destination itself, unless the one source is
        // a file written at the destination's path
        let into_dest = plan.dest_is_dir || plan.items.iter().any(|it| it.is_dir() || it.extract);
        let (dir, file_name) = if into_dest {
            (plan.dest.clone(), None)
        } else {
            match plan.dest.rsplit_once('/') {
                Some((d, n)) => (d.to_string(), Some(n.to_string())),
                None => (String::new(), Some(plan.dest.clone())),
            }
        };
        // Docker makes the missing directories with the owner a file is copied as, and root
        // for a directory or an archive (a directory's destination itself then takes the
        // owner, an archive's keeps root): the first source decides
        let first = plan.items.first();
        let by_dir = first.is_some_and(|it| it.is_dir() || it.extract);
        let made_owner = |path: &str| {
            if !by_dir || (path == plan.dest && !first.is_some_and(|it| it.extract)) {
                plan.owner
            } else {
                (0, 0)
            }
        };
        let mut cur = String::new();
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            if !cur.is_empty() {
                cur.push('/');
            }
            cur.push_str(part);
            let p = staging.join(&cur);
            match union.get(&cur) {
                Some(m) if m.entry.is_dir() => {
                    fs::create_dir(&p).map_err(io(format!("create /{cur}")))?;
                    let _ = fs::set_permissions(&p, fs::Permissions::from_mode(m.entry.mode));
                    chown(&p, (m.entry.uid, m.entry.gid));
                }
                // a file (or a link the destination's resolution did not follow) is no
                // directory to copy into: Docker's mkdir fails there
                Some(_) => {
                    return Err(EngineError::invalid(format!(
                        "mkdir /{cur}: not a directory"
                    )))
                }
                None => {
                    fs::create_dir(&p).map_err(io(format!("create /{cur}")))?;
                    let _ = fs::set_permissions(&p, fs::Permissions::from_mode(0o755));
                    chown(&p, made_owner(&cur));
                }
            }
        }
        let base = staging.join(&dir);
        for it in plan.items {
            if it.extract {
                let f = open_source(&it.entries[0].kind)?;
                super::archive::extract(f, &base)?;
                continue;
            }
            let target_root = if it.is_dir() {
                base.clone()
            } else {
                base.join(file_name.as_deref().unwrap_or(&it.name))
            };
            for e in &it.entries {
                let p = if e.rel.is_empty() {
                    target_root.clone()
                } else {
                    target_root.join(&e.rel)
                };
                if e.rel.is_empty() && it.is_dir() {
                    continue;
                }
                if let Ok(m) = fs::symlink_metadata(&p) {
                    if m.is_dir() && !matches!(e.kind, SourceKind::Dir) {
                        fs::remove_dir_all(&p).map_err(io(format!("replace {}", e.rel)))?;
                    } else if !m.is_dir() {
                        fs::remove_file(&p).map_err(io(format!("replace {}", e.rel)))?;
                    }
                }
                match &e.kind {
                    SourceKind::Dir => {
                        if !p.is_dir() {
                            fs::create_dir(&p).map_err(io(format!("create {}", p.display())))?;
                        }
                        let mode = plan.chmod.unwrap_or(e.mode);
                        let _ = fs::set_permissions(&p, fs::Permissions::from_mode(mode));
                        chown(&p, plan.owner);
                    }
                    SourceKind::Symlink(t) => {
                        std::os::unix::fs::symlink(t, &p)
                            .map_err(io(format!("symlink {}", p.display())))?;
                        chown(&p, plan.owner);
                    }
                    SourceKind::File { host, .. }
                        if plan.chmod.is_none() && linkable(host, plan.owner, e.mode) =>
                    {
                        // already the owner and mode it gets: linked, not copied (the staging
                        // is only read, by the packer, and then removed)
                        if fs::hard_link(host, &p).is_err() {
                            copy_file(&e.kind, &p, plan, e.mode)?;
                        }
                    }
                    SourceKind::File { .. } | SourceKind::InLayer { .. } => {
                        copy_file(&e.kind, &p, plan, e.mode)?;
                    }
                }
                set_mtime(&p, e.mtime);
            }
        }
        Ok(())
    }
}

/// True when the context file `host` is a plain file already owned by `owner` with `mode` (never
/// setuid, setgid or sharing its inode), so a hard link to it is what a copy would be.
fn linkable(host: &Path, owner: (u32, u32), mode: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(host).is_ok_and(|m| {
        m.is_file()
            && (m.uid(), m.gid()) == owner
            && m.mode() & 0o7777 == mode
            && mode & 0o6000 == 0
            && m.nlink() == 1
    })
}

fn copy_file(kind: &SourceKind, p: &Path, plan: &CopyPlan<'_>, mode: u32) -> Result<()> {
    let io = |what: String| move |e| EngineError::io(what, e);
    let mut src = open_source(kind)?;
    let mut dst = fs::File::create(p).map_err(io(format!("create {}", p.display())))?;
    std::io::copy(&mut src, &mut dst).map_err(io(format!("write {}", p.display())))?;
    dst.flush().map_err(io(format!("write {}", p.display())))?;
    let mode = plan.chmod.unwrap_or(mode);
    let _ = fs::set_permissions(p, fs::Permissions::from_mode(mode));
    chown(p, plan.owner);
    Ok(())
}

/// What a `RUN` step's container runs, beyond the stage's configuration.
pub(crate) struct StepProcess {
    /// The command.
    pub(crate) args: Vec<String>,
    /// `ARG` values in scope, added to the environment.
    pub(crate) env: Vec<String>,
    /// `--network` (`none`, `host`, empty or `default`: the bridge).
    pub(crate) network: Option<String>,
    /// Bind mounts (a `#!` heredoc's file).
    pub(crate) mounts: Vec<crate::MountRequest>,
}
