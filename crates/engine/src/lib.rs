//! The engine: every store operation (import, tag, rmi, prune, save, load, history, inspect,
//! disk usage) as one API that the CLI and the server both call.
//!
//! It ties the pure rules (`image-store`) to the disk (`blob-store`, `metadata-db`): it loads a
//! view inside a write transaction, asks the rules for a plan, applies exactly that plan, and only
//! then removes blobs nothing references. Blobs are written (verified, atomically renamed) before
//! the metadata that references them is committed, so a crash at any point leaves either the old
//! state or the new one, plus at most some unreferenced but valid blobs that the next sweep removes.
//!
//! Deliberately absent: HTTP, terminal formatting, wire types.

mod build;
mod changes;
pub mod config;
mod container_fs;
mod containers;
mod distribution;
mod error;
mod events;
mod gc;
mod health;
mod host_options;
mod import;
mod inspect;
mod layer_files;
mod layers;
mod limits;
mod load;
mod mount;
mod network;
mod ops;
mod pull;
mod push;
mod registry;
mod restart;
mod run;
mod save;
mod search;
mod signal;
mod streams;
mod tokens;
mod volumes;

pub use build::{BuildContext, BuildMessage, BuildOptions};
pub use changes::apply_changes;
pub use container_fs::{ContainerSizes, PathStat, PutArchiveOptions};
pub use containers::{CommitOptions, ContainerInfo, ImageComparison, PathChange};
pub use distribution::ServedManifest;
pub use error::{EngineError, ErrorKind};
pub use events::Event;
pub use health::Healthcheck;
pub use host_options::{
    parse_security_opts, HostOptions, SecurityOptions, Ulimit, HOST_CAPS, HOST_GATEWAY,
};
pub use import::ImportOptions;
pub use inspect::{HistoryItem, ImageDetail, ImageDetails, LayerUse, LostTag};
pub use layer_files::LayerFile;
pub use limits::{StatsSample, UpdateOptions};
pub use load::LoadEvent;
pub use metadata_db::{AuditRecord, TokenRecord};
pub use mount::MountDriver;
pub use network::{
    check_binding, network_mode, parse_port_key, parse_publish, NetworkInfo, PortBinding,
    PublishedPort, NETWORK_MODES,
};
pub use ops::TagOutcome;
pub use pull::PullOutcome;
pub use push::PushOutcome;
pub use registry::{check_login, host_platform, parse_platform, Progress, ProgressFn, RegistryEnv};
pub use run::{
    CreateOptions, ExecOptions, LogLine, LogRange, PreparedExec, ProcessState, RestartPolicy,
    RunConfig, ZERO_TIME,
};
pub use runtime;
pub use search::{SearchFilters, SearchResult};
pub use tokens::{Principal, Role};
pub use volumes::{
    check_tmpfs_targets, parse_volume_flag, tmpfs_mount_options, valid_volume_name, MountKind,
    MountPoint, MountRequest, VolumeInfo,
};

use blob_store::BlobStore;
use metadata_db::Db;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

pub use image_store;
pub use oci_model;

/// Result type of the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// An open data directory.
pub struct Engine {
    root: PathBuf,
    blobs: BlobStore,
    db: Mutex<Db>,
    leases: gc::Leases,
    events: events::Bus,
    /// The store's event log, on a connection of its own (events are emitted while the
    /// metadata connection may still be held).
    event_log: Mutex<events::Log>,
    /// Changesets of layers read lately, by diff ID (layers never change).
    changesets: Mutex<layers::ChangesetCache>,
    /// The last image list and the snapshot it was computed from ([`Engine::images`]).
    list_memo: Mutex<Option<ListMemo>>,
    /// Layer directories this engine began to unpack ([`Engine::additions`]).
    staged_layers: std::sync::atomic::AtomicU64,
}

/// An image list with the snapshot and options it answers.
struct ListMemo {
    view: std::sync::Arc<image_store::StoreView>,
    all: bool,
    filters: Vec<(String, String)>,
    list: Vec<image_store::ImageSummary>,
}

impl Engine {
    /// Opens (creating if needed) the data directory `root`. A relative `root` is taken from
    /// the current directory once, here: every path the engine derives from it (the runtime's
    /// bundles and state, a run's mounts, the server's socket) is absolute, since those are
    /// used from other working directories (the OCI runtime resolves a bundle's `rootfs`
    /// against the bundle).
    pub fn open(root: &Path) -> Result<Engine> {
        let root = &std::path::absolute(root)
            .map_err(|e| EngineError::io(format!("resolve {}", root.display()), e))?;
        Engine::prepare_root(root)?;
        let blobs = BlobStore::open(root)?;
        let db = Db::open(&root.join("strata.db"))?;
        let leases = gc::Leases::new(root)?;
        let engine = Engine {
            root: root.to_path_buf(),
            blobs,
            db: Mutex::new(db),
            leases,
            events: Default::default(),
            event_log: Default::default(),
            changesets: Default::default(),
            list_memo: Default::default(),
            staged_layers: Default::default(),
        };
        engine.measure_old_layers();
        Ok(engine)
    }

    /// Gives the layers of a store from before layer sizes were measured at ingest their
    /// Docker size ([`image_store::LayerRecord::content_size`]), read from their tars. Once
    /// per layer; best effort (a layer that cannot be read keeps its tar length for now).
    fn measure_old_layers(&self) {
        let Ok(old) = self.db().unmeasured_layers() else {
            return;
        };
        for d in old {
            let size = self
                .layer_tar(&d)
                .and_then(|tar| Ok(blob_store::layer_content_size(tar)?));
            if let Ok(size) = size {
                let _ = self.db().set_content_size(&d, size);
            }
        }
    }

    /// Creates the data directory `root` if needed, with mode `0700`, and takes every other
    /// user's access away from an existing one: unpacked layers hold setuid binaries and
    /// device nodes exactly as the image has them, which other local users must not reach
    /// (moby CVE-2021-41091). `0710` (a group allowed to traverse, as dockerd has it) is kept;
    /// any other group or other bit is removed. A directory this user does not own is left as
    /// it is. Its parents are created with the usual modes.
    pub fn prepare_root(root: &Path) -> Result<()> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        let io = |what: &str, e| EngineError::io(format!("{what} {}", root.display()), e);
        if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| io("create", e))?;
        }
        match std::fs::DirBuilder::new().mode(0o700).create(root) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && root.is_dir() => {}
            Err(e) => return Err(io("create", e)),
        }
        let meta = std::fs::metadata(root).map_err(|e| io("stat", e))?;
        let mode = meta.mode() & 0o7777;
        // SAFETY: geteuid cannot fail and touches no memory.
        let owner = meta.uid() == unsafe { libc::geteuid() };
        if owner && mode & 0o077 != 0 && mode & 0o777 != 0o710 {
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(mode & !0o077))
                .map_err(|e| io("chmod", e))?;
        }
        Ok(())
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The blob store.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Receives every event this engine emits from now on, and those of other processes it
    /// [relays](Engine::relay_other_processes_events).
    pub fn subscribe(&self) -> std::sync::mpsc::Receiver<Event> {
        self.events.subscribe()
    }

    /// Sends an event to every subscriber, and, unless it is pull progress, records it in the
    /// store's event log for the other processes using the store (best effort).
    pub fn emit(&self, e: Event) {
        self.emit_all(vec![e])
    }

    /// [`emit`](Engine::emit) of several events, recorded in one transaction.
    pub fn emit_all(&self, events: Vec<Event>) {
        let lasting: Vec<&Event> = events.iter().filter(|e| e.action != "progress").collect();
        if !lasting.is_empty() {
            self.event_log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .append(&self.root, &lasting);
        }
        for e in events {
            self.events.emit(e)
        }
    }

    /// Sends the events other processes recorded since the last call to every subscriber; the
    /// first call only marks where to start. Returns how many were sent. A server calls this
    /// now and then, so that what the CLI does shows in its event streams.
    pub fn relay_other_processes_events(&self) -> Result<usize> {
        let got = self
            .event_log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .others_since_last(&self.root)?;
        let n = got.len();
        for e in got {
            self.events.emit(e);
        }
        Ok(n)
    }

    /// A consistent snapshot of the metadata.
    pub fn view(&self) -> Result<std::sync::Arc<image_store::StoreView>> {
        Ok(self.db().view()?)
    }
}

/// A warning about an input that was accepted with something left out (an entry of a layer
/// that names the root but is not a directory, say): on stderr, the CLI's or the server's, as
/// Docker's daemon logs what it skips.
pub(crate) fn warn(msg: &str) {
    eprintln!("WARNING: {msg}");
}

/// Crash-test hook: when `STRATA_FAILPOINT` names this point, say so on stderr and stop here
/// forever, so a test can SIGKILL the process at exactly this step; with `pause:<name>:<ms>`,
/// wait that long here and go on, so a test can order two processes' steps. A no-op otherwise.
pub(crate) fn failpoint(name: &str) {
    let Some(v) = std::env::var_os("STRATA_FAILPOINT") else {
        return;
    };
    if v == name {
        eprintln!("failpoint {name} reached");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    let pause = v
        .to_str()
        .and_then(|v| v.strip_prefix("pause:"))
        .and_then(|v| v.rsplit_once(':'))
        .filter(|(n, _)| *n == name)
        .and_then(|(_, ms)| ms.parse::<u64>().ok());
    if let Some(ms) = pause {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Test hook: true when `STRATA_FAILPOINT` is `fail:<name>`; the step then fails as a disk
/// refusing it would, so a test can see what a failure there does. False otherwise.
pub(crate) fn failpoint_fails(name: &str) -> bool {
    std::env::var("STRATA_FAILPOINT").is_ok_and(|v| v.strip_prefix("fail:") == Some(name))
}

/// `v` as indented JSON, the form of the engine's own records (`config.json`, `run.json`,
/// a run's endpoint, the settings).
pub(crate) fn pretty_json(v: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(v).map_err(|e| EngineError::invalid(e.to_string()))
}

/// A temp name beside `path` that no other writer uses: `<stem>.tmp-<pid>-<n>`, the pid and a
/// counter of this process, so two threads replacing the same file at once never write into
/// one temp file (which would rename a mix of both into place).
pub(crate) fn temp_beside(path: &Path) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Writes `bytes` to `path` through a temp file, fsync and rename, then syncs the directory:
/// readers see the old file or the new one, never a part, and once this returns the new one
/// survives a crash.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_mode(&[(path.to_path_buf(), bytes.to_vec())], 0o666)
}

/// [`write_atomic`] with the file readable by its owner only (credentials).
pub(crate) fn write_atomic_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_mode(&[(path.to_path_buf(), bytes.to_vec())], 0o600)
}

/// [`write_atomic`] for several files at once, each created with `mode` (before the umask):
/// each is written beside its path, all are made durable together (their syncs run
/// concurrently, so the file system can take them in one journal commit), then each is
/// renamed into place and the directories that hold them are synced (together again), so
/// the renames are durable too. On failure no temporary file is left (a file already
/// renamed stays).
fn write_atomic_mode(files: &[(std::path::PathBuf, Vec<u8>)], mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmps: Vec<std::path::PathBuf> = files.iter().map(|(p, _)| temp_beside(p)).collect();
    let fail = |i: usize, e: std::io::Error| {
        for t in &tmps {
            let _ = std::fs::remove_file(t);
        }
        EngineError::io(format!("write {}", files[i].0.display()), e)
    };
    let mut opened = Vec::with_capacity(files.len());
    for (i, ((_, bytes), tmp)) in files.iter().zip(&tmps).enumerate() {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(tmp)
            .map_err(|e| fail(i, e))?;
        f.write_all(bytes).map_err(|e| fail(i, e))?;
        opened.push(f);
    }
    for (i, r) in sync_together(&opened).into_iter().enumerate() {
        r.map_err(|e| fail(i, e))?;
    }
    for (i, ((path, _), tmp)) in files.iter().zip(&tmps).enumerate() {
        std::fs::rename(tmp, path).map_err(|e| fail(i, e))?;
    }
    let mut parents: Vec<&Path> = files.iter().filter_map(|(p, _)| p.parent()).collect();
    parents.sort();
    parents.dedup();
    sync_dirs(&parents)
}

/// Writes new files into `dir`, a directory this process has just made and that nothing
/// refers to yet, and makes them durable with the directory and its parent entry, all syncs
/// at once: no temp files or renames, since no reader can see a part before the caller
/// publishes the directory. On failure the caller removes `dir`.
pub(crate) fn write_new_dir(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<()> {
    let mut opened = Vec::with_capacity(files.len() + 2);
    for (name, bytes) in files {
        let path = dir.join(name);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, bytes).map(|()| f))
            .map_err(|e| EngineError::io(format!("write {}", path.display()), e))?;
        opened.push(f);
    }
    for d in std::iter::once(dir).chain(dir.parent()) {
        opened.push(
            std::fs::File::open(d)
                .map_err(|e| EngineError::io(format!("open {}", d.display()), e))?,
        );
    }
    for r in sync_together(&opened) {
        r.map_err(|e| EngineError::io(format!("sync {}", dir.display()), e))?;
    }
    Ok(())
}

/// Syncs directories (after renames or new entries in them), all at once.
fn sync_dirs(dirs: &[&Path]) -> Result<()> {
    let opened = dirs
        .iter()
        .map(|d| {
            std::fs::File::open(d).map_err(|e| EngineError::io(format!("open {}", d.display()), e))
        })
        .collect::<Result<Vec<_>>>()?;
    for (d, r) in dirs.iter().zip(sync_together(&opened)) {
        r.map_err(|e| EngineError::io(format!("sync {}", d.display()), e))?;
    }
    Ok(())
}

/// `fsync` of each file, concurrently (one thread each beyond the first), so the file
/// system can take them in one journal commit; the results in order.
fn sync_together(files: &[std::fs::File]) -> Vec<std::io::Result<()>> {
    match files {
        [] => Vec::new(),
        [one] => vec![one.sync_all()],
        many => std::thread::scope(|s| {
            let others: Vec<_> = many[1..]
                .iter()
                .map(|f| s.spawn(move || f.sync_all()))
                .collect();
            let mut out = vec![many[0].sync_all()];
            for t in others {
                out.push(t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            }
            out
        }),
    }
}

/// Bytes free for an unprivileged writer on the filesystem holding `path` (`statvfs`), or
/// `None` when it cannot be told.
pub(crate) fn free_space(path: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a valid C string and `st` a buffer of the right type; statvfs fills it
    // on success, and it is read only then.
    let st = unsafe {
        if libc::statvfs(c.as_ptr(), st.as_mut_ptr()) != 0 {
            return None;
        }
        st.assume_init()
    };
    // the fields' widths vary with the target (`c_ulong`, `fsblkcnt_t`)
    #[allow(clippy::useless_conversion)]
    let (avail, frsize) = (u64::from(st.f_bavail), u64::from(st.f_frsize));
    Some(avail.saturating_mul(frsize))
}

#[cfg(test)]
mod write_tests {
    use super::*;

    /// Threads replacing one file at once: every write succeeds, and the file is always one
    /// writer's whole bytes, never a mix, with no temp file left.
    #[test]
    fn concurrent_replacements_of_one_file_never_mix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        std::thread::scope(|s| {
            for t in 0..6u8 {
                let path = &path;
                s.spawn(move || {
                    // lengths differ, so a mix would show in the length or the bytes
                    let body = vec![b'a' + t; 1000 + 4096 * usize::from(t)];
                    for _ in 0..40 {
                        write_atomic(path, &body).unwrap();
                        let now = std::fs::read(path).unwrap();
                        assert!(
                            !now.is_empty()
                                && now.iter().all(|&b| b == now[0])
                                && now.len() == 1000 + 4096 * usize::from(now[0] - b'a'),
                            "a mixed file: {} bytes",
                            now.len()
                        );
                    }
                });
            }
        });
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["run.json"]);
    }
}
