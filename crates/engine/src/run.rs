//! Containers that run: `start`, `stop`, `kill`, `wait`, `logs`, `pause`, `restart` and the
//! state of a container's process, over the `runtime` crate.
//!
//! While a container runs, its root is a read-write kernel overlay at `containers/<id>/rootfs`:
//! the image's layers in overlay form (`layers/<chain id>.ovl/`, as `mount` makes them) as
//! lower directories and `containers/<id>/upper.run/` as the upper directory, the writable
//! layer mirrored into overlay's form (`.wh.` files as 0:0 character devices, opaque markers
//! as `trusted.overlay.opaque`). When the process has ended, the mount is taken down and
//! `upper.run/` is turned back into the OCI form in `upper/` (overlay's own attributes
//! dropped), so `diff`, `commit`, `export` and `cp` read one form, whoever changed the files.
//!
//! The monitor (the `strata` binary's hidden `monitor` subcommand) owns the process; its
//! `state.json` in the container's directory is the truth about it, reconciled with the
//! runtime's `state` when the monitor is gone. The run configuration (command, environment,
//! user, TTY, limits) is `run.json` beside the container's `config.json`.

use crate::{ContainerInfo, Engine, EngineError, Result};
use runtime::driver::{ProbeResult, Runtime};
use runtime::monitor::{self, MonitorArgs, Spawned};
use runtime::spec::{self, NetworkMode, SpecOptions};
use runtime::state::{self, Status};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `create`/`run` ask for, beyond the image.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// `--name`.
    pub name: Option<String>,
    /// A container with no command may be made (the dashboard's, whose writable layer is
    /// edited without a process; it cannot start): Docker's `create` refuses one, and so does
    /// every route that speaks for it.
    pub without_command: bool,
    /// `--entrypoint` (`Some("")` clears the image's).
    pub entrypoint: Option<String>,
    /// `[COMMAND] [ARG...]`.
    pub cmd: Vec<String>,
    /// `-e KEY=value` (already resolved from the client's environment for `-e KEY`).
    pub env: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u`.
    pub user: Option<String>,
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub interactive: bool,
    /// `--rm`.
    pub auto_remove: bool,
    /// `--network` (`bridge`, `host` or `none`; empty or `default` means `bridge`).
    pub network: Option<String>,
    /// `-p`: the ports to publish.
    pub publish: Vec<crate::PortBinding>,
    /// `-P`: publish every exposed port on a free host port.
    pub publish_all: bool,
    /// `--expose` (and the API's `ExposedPorts`): ports added to the image's, `80/tcp`.
    pub expose: Vec<String>,
    /// `--hostname`.
    pub hostname: Option<String>,
    /// `--memory` in bytes.
    pub memory: Option<i64>,
    /// `--cpus` in billionths.
    pub nano_cpus: Option<i64>,
    /// `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `--read-only`.
    pub read_only: bool,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// `--stop-signal`.
    pub stop_signal: Option<String>,
    /// `--stop-timeout`.
    pub stop_timeout: Option<i64>,
    /// `-v`, `--mount`, a create body's `Binds`, `Volumes` and `Mounts`.
    pub mounts: Vec<crate::MountRequest>,
    /// `-l`/`--label`, `--label-file`: added to (and replacing) the image's labels.
    pub labels: std::collections::BTreeMap<String, String>,
    /// `--init`: an init process (tini) runs the command and reaps zombies.
    pub init: bool,
    /// `--restart`: checked as Docker checks it at create, applied after each end of the
    /// process (`restart`).
    pub restart: Option<RestartPolicy>,
    /// `--health-cmd` and the other `--health-*` options, `--no-healthcheck` (`["NONE"]`):
    /// over the image's `HEALTHCHECK`.
    pub healthcheck: Option<crate::Healthcheck>,
    /// Capabilities, groups, sysctls, security options, namespace modes, devices and the
    /// other cgroup limits: honoured or refused at create (`host_options`).
    pub host: crate::HostOptions,
}

/// A restart policy as asked: its name (`no`, `always`, `unless-stopped`, `on-failure`; empty
/// for none) and the most restarts `on-failure` makes (0: no limit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestartPolicy {
    /// The policy's name.
    pub name: String,
    /// The retry count, only for `on-failure`.
    pub max_retries: i64,
}

impl RestartPolicy {
    /// Docker's create-time rule and texts.
    pub(crate) fn check(&self) -> Result<()> {
        match self.name.as_str() {
            "" => Ok(()),
            "no" | "always" | "unless-stopped" if self.max_retries != 0 => {
                Err(EngineError::invalid(format!(
                    "maximum retry count cannot be used with restart policy '{}'",
                    self.name
                )))
            }
            "no" | "always" | "unless-stopped" => Ok(()),
            "on-failure" if self.max_retries < 0 => Err(EngineError::invalid(
                "maximum retry count cannot be negative",
            )),
            "on-failure" => Ok(()),
            other => Err(EngineError::invalid(format!(
                "invalid restart policy '{other}'"
            ))),
        }
    }
}

/// What dockerd refuses in a create's configuration before it looks at the image, in its
/// order: a relative working directory, a stop signal it cannot read, an environment entry
/// without a name, then (of the host configuration) the restart policy.
fn check_create_options(o: &CreateOptions) -> Result<()> {
    if let Some(w) = o.workdir.as_deref().filter(|w| !w.is_empty()) {
        if !w.starts_with('/') {
            return Err(EngineError::invalid(format!(
                "the working directory '{w}' is invalid, it needs to be an absolute path"
            )));
        }
    }
    if let Some(s) = o.stop_signal.as_deref().filter(|s| !s.is_empty()) {
        crate::signal::parse(s)?;
    }
    if let Some(e) = o.env.iter().find(|e| e.split('=').next() == Some("")) {
        return Err(EngineError::invalid(format!(
            "invalid environment variable: {e}"
        )));
    }
    if let Some(h) = &o.healthcheck {
        h.check()?;
    }
    if let Some(r) = &o.restart {
        r.check()?;
        if o.auto_remove && !r.is_none() {
            return Err(EngineError::invalid(
                "can't create 'AutoRemove' container with restart policy",
            ));
        }
    }
    Ok(())
}

/// The entrypoint and command a create runs: `--entrypoint` replaces the image's (and drops
/// its command), a command replaces the image's.
fn command_of(o: &CreateOptions, img: &oci_model::ExecConfig) -> (Vec<String>, Vec<String>) {
    match &o.entrypoint {
        Some(e) if e.is_empty() => (Vec::new(), o.cmd.clone()),
        Some(e) => (vec![e.clone()], o.cmd.clone()),
        None => (
            img.entrypoint.clone().unwrap_or_default(),
            if o.cmd.is_empty() {
                img.cmd.clone().unwrap_or_default()
            } else {
                o.cmd.clone()
            },
        ),
    }
}

/// What runs in a container: Docker's `Config` after the command line was applied to the
/// image's, and the `HostConfig` parts Strata honours. Stored as `run.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunConfig {
    /// The entrypoint in effect.
    pub entrypoint: Vec<String>,
    /// The command in effect.
    pub cmd: Vec<String>,
    /// The environment (image's, then `-e`).
    pub env: Vec<String>,
    /// The working directory (empty: `/`).
    pub working_dir: String,
    /// The user (empty: root).
    pub user: String,
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub open_stdin: bool,
    /// `--rm`.
    pub auto_remove: bool,
    /// `bridge`, `host` or `none`.
    pub network: String,
    /// `-p`.
    pub port_bindings: Vec<crate::PortBinding>,
    /// `-P`.
    pub publish_all: bool,
    /// `--hostname`.
    pub hostname: Option<String>,
    /// `--memory`.
    pub memory: Option<i64>,
    /// `--cpus` in billionths.
    pub nano_cpus: Option<i64>,
    /// `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `--read-only`.
    pub read_only: bool,
    /// `no-new-privileges`.
    pub no_new_privileges: bool,
    /// The signal `stop` sends (image's `StopSignal`, else `SIGTERM`).
    pub stop_signal: String,
    /// Seconds `stop` waits before SIGKILL (default 10).
    pub stop_timeout: Option<i64>,
    /// Binds and volumes.
    pub mounts: Vec<crate::MountPoint>,
    /// The `-v` texts of binds and named volumes (`HostConfig.Binds`).
    pub binds: Vec<String>,
    /// `--init`.
    pub init: bool,
    /// `--restart`.
    pub restart: RestartPolicy,
    /// The other host options asked at create (checked then).
    pub host: crate::HostOptions,
}

impl RunConfig {
    /// The process's argv.
    pub fn args(&self) -> Vec<String> {
        let mut v = self.entrypoint.clone();
        v.extend(self.cmd.iter().cloned());
        v
    }
}

/// A container's process as `ps` and `inspect` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessState {
    /// Docker's `State.Status`: `created`, `running`, `paused`, `restarting` (ended, its
    /// restart policy's restart waiting or under way), `exited`.
    pub status: String,
    /// The host PID while running.
    pub pid: i32,
    /// The exit code (0 before any run).
    pub exit_code: i32,
    /// RFC 3339 start time, Docker's zero time when never started.
    pub started_at: String,
    /// RFC 3339 end time, Docker's zero time when never ended.
    pub finished_at: String,
    /// Ended by the OOM killer.
    pub oom_killed: bool,
    /// Why the last start failed.
    pub error: String,
    /// Restarts made by the restart policy since the last `start`.
    pub restart_count: u32,
    /// The exit code of the end at `finished_at`: `exit_code` once ended, and while a run
    /// its restart policy started goes on, the code of the end it followed.
    pub last_exit_code: i32,
    /// The health check's state, for a container with a check that has run (`None` before
    /// its first start).
    pub health: Option<runtime::health::HealthState>,
}

/// Docker's zero time, as `inspect` shows a time that never happened.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl ProcessState {
    /// Running, paused or restarting: moby counts a restarting container as running (it
    /// is not removed, pruned or started meanwhile) though no process runs.
    pub fn is_running(&self) -> bool {
        matches!(self.status.as_str(), "running" | "paused" | "restarting")
    }

    /// Its process runs (running or paused).
    pub fn has_process(&self) -> bool {
        self.status == "running" || self.status == "paused"
    }

    /// moby's refusal of what needs the process while a restart waits.
    pub fn refuse_if_restarting(&self, id: &str) -> Result<()> {
        if self.status == "restarting" {
            return Err(EngineError::Conflict(format!(
                "Container {id} is restarting, wait until the container is running"
            )));
        }
        Ok(())
    }
}

/// What `exec` asks for.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// The command and its arguments.
    pub cmd: Vec<String>,
    /// `-e KEY=value`, applied over the container's environment.
    pub env: Vec<String>,
    /// `-w` (default: the container's working directory).
    pub workdir: Option<String>,
    /// `-u` (default: the container's user).
    pub user: Option<String>,
    /// `-t`.
    pub tty: bool,
    /// `-d`.
    pub detach: bool,
}

/// A prepared `exec`: run `command` with the caller's stdio, then give its status to
/// [`Engine::exec_finished`].
#[derive(Debug)]
pub struct PreparedExec {
    /// The runtime's `exec` command.
    pub command: std::process::Command,
    log: PathBuf,
    process: PathBuf,
    pid_file: PathBuf,
    container: String,
    exec_id: String,
}

impl PreparedExec {
    /// The runtime's pid file for the process, which it writes only once the process runs:
    /// until it exists, what appears on the process's stderr can only be the runtime's own
    /// report of a failed start (which Docker tells in its own words instead).
    pub fn pid_file(&self) -> &Path {
        &self.pid_file
    }
}

/// Which entries of a container's log to read, as `logs` takes them: the last `tail` (all
/// when `None`) of those logged at or after `since` and at or before `until` (Unix
/// nanoseconds; the tail counts before the times, as moby's reader does), then new ones
/// with `follow`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogRange {
    /// Only the last entries.
    pub tail: Option<usize>,
    /// Keep reading new entries while the container runs.
    pub follow: bool,
    /// Not before (Unix nanoseconds).
    pub since: Option<i128>,
    /// Not after (Unix nanoseconds); following ends once it has passed.
    pub until: Option<i128>,
}

/// One stream of a container's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// `stdout` or `stderr`.
    pub stream: String,
    /// The bytes, as logged.
    pub log: String,
    /// RFC 3339 with nanoseconds.
    pub time: String,
    /// The log options' attributes the entry carries (`logs --details`).
    pub attrs: std::collections::BTreeMap<String, String>,
}

impl LogLine {
    /// The line as `logs` shows it (moby's order): the time with `timestamps`, then the
    /// attributes with `details`, then what was logged.
    pub fn shown(self, timestamps: bool, details: bool) -> String {
        let details = if details {
            runtime::logfile::details_prefix(&self.attrs)
        } else {
            String::new()
        };
        if timestamps {
            format!("{} {details}{}", self.time, self.log)
        } else {
            format!("{details}{}", self.log)
        }
    }
}

fn io(ctx: impl Into<String>) -> impl FnOnce(std::io::Error) -> EngineError {
    let ctx = ctx.into();
    move |e| EngineError::io(ctx, e)
}

fn cstr(p: &Path) -> std::ffi::CString {
    std::ffi::CString::new(p.as_os_str().as_bytes()).expect("paths have no NUL")
}

/// Docker's env merge: `add`'s variables replace those of `base` with the same name, the
/// others are appended.
fn merge_env(base: &[String], add: &[String]) -> Vec<String> {
    let key = |kv: &str| kv.split_once('=').map_or(kv, |(k, _)| k).to_string();
    let mut out = base.to_vec();
    for kv in add {
        match out.iter_mut().find(|e| key(e) == key(kv)) {
            Some(slot) => *slot = kv.clone(),
            None => out.push(kv.clone()),
        }
    }
    out
}

/// Removes overlay's own attributes (`trusted.overlay.*`) from `p`, which become meaningless
/// once the file leaves the upper directory.
fn strip_overlay_xattrs(p: &Path) {
    let c = cstr(p);
    for (name, _) in layer_apply::xattrs_of(p).unwrap_or_default() {
        if layer_apply::is_overlay_xattr(&name) {
            let cn = std::ffi::CString::new(name).expect("no NUL inside");
            // SAFETY: valid NUL-terminated strings.
            unsafe { libc::lremovexattr(c.as_ptr(), cn.as_ptr()) };
        }
    }
}

fn is_opaque(p: &Path) -> bool {
    let c = cstr(p);
    let mut v = [0u8; 4];
    for name in ["trusted.overlay.opaque", "user.overlay.opaque"] {
        let k = std::ffi::CString::new(name).unwrap();
        // SAFETY: valid strings and a live buffer.
        let n = unsafe { libc::lgetxattr(c.as_ptr(), k.as_ptr(), v.as_mut_ptr().cast(), v.len()) };
        if n == 1 && v[0] == b'y' {
            return true;
        }
    }
    false
}

/// What [`from_overlay`] does to the overlay's own attributes on the files it links.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OverlayAttrs {
    /// Removed: the run is over and the layer goes back to rest.
    Strip,
    /// Left alone: a reader's copy of a mounted upper directory. A hard link shares the
    /// inode's attributes with the live file, and the mounted overlay reads them (`origin`
    /// keeps a copied-up file's inode number as the container sees it); readers ignore them
    /// (`layer_apply` never packs nor scans them).
    Keep,
}

/// Gives `dst` the access and modification times of `md` (a symlink's own).
pub(crate) fn copy_times(md: &fs::Metadata, dst: &Path) {
    let c = cstr(dst);
    let times = [
        libc::timespec {
            tv_sec: md.atime(),
            tv_nsec: md.atime_nsec(),
        },
        libc::timespec {
            tv_sec: md.mtime(),
            tv_nsec: md.mtime_nsec(),
        },
    ];
    // SAFETY: a valid path and two timespecs.
    unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
}

/// Copies `src`'s extended attributes, overlayfs's own aside, to `dst` (a directory made
/// anew: a file is linked and keeps its own).
pub(crate) fn copy_xattrs(src: &Path, dst: &Path) {
    let d = cstr(dst);
    for (name, value) in layer_apply::xattrs_of(src).unwrap_or_default() {
        if layer_apply::is_overlay_xattr(&name) {
            continue;
        }
        let cn = std::ffi::CString::new(name).expect("no NUL inside");
        // SAFETY: valid strings and a live buffer of the given size.
        unsafe {
            libc::lsetxattr(
                d.as_ptr(),
                cn.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
    }
}

/// Turns an overlay upper directory back into the OCI layer form at `dst`: 0:0 character
/// devices become `.wh.<name>` files, opaque directories get `.wh..wh..opq`; files are
/// hard-linked, directories made with the same mode, owner, extended attributes (overlayfs's
/// own aside) and times, symlinks with the same owner and times.
pub(crate) fn from_overlay(src: &Path, dst: &Path, attrs: OverlayAttrs) -> Result<()> {
    let md = fs::symlink_metadata(src).map_err(io(format!("stat {}", src.display())))?;
    fs::create_dir(dst).map_err(io(format!("create {}", dst.display())))?;
    let _ = fs::set_permissions(dst, fs::Permissions::from_mode(md.mode() & 0o7777));
    let _ = std::os::unix::fs::lchown(dst, Some(md.uid()), Some(md.gid()));
    copy_xattrs(src, dst);
    if is_opaque(src) {
        fs::write(dst.join(layer_diff::OPAQUE_MARKER), b"")
            .map_err(io(format!("write opaque marker in {}", dst.display())))?;
    }
    for e in fs::read_dir(src).map_err(io(format!("read {}", src.display())))? {
        let e = e.map_err(io(format!("read {}", src.display())))?;
        let from = e.path();
        let name = e.file_name();
        let md = fs::symlink_metadata(&from).map_err(io(format!("stat {}", from.display())))?;
        let ft = md.file_type();
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() && md.rdev() == 0 {
            let mut wh = OsString::from(layer_diff::WHITEOUT_PREFIX);
            wh.push(&name);
            fs::write(dst.join(wh), b"")
                .map_err(io(format!("write whiteout in {}", dst.display())))?;
            continue;
        }
        let to = dst.join(&name);
        if ft.is_dir() {
            from_overlay(&from, &to, attrs)?;
        } else if ft.is_symlink() {
            let target =
                fs::read_link(&from).map_err(io(format!("readlink {}", from.display())))?;
            symlink(target, &to).map_err(io(format!("symlink {}", to.display())))?;
            let _ = std::os::unix::fs::lchown(&to, Some(md.uid()), Some(md.gid()));
            copy_times(&md, &to);
        } else {
            if attrs == OverlayAttrs::Strip {
                strip_overlay_xattrs(&from);
            }
            fs::hard_link(&from, &to).map_err(io(format!("link {}", to.display())))?;
        }
    }
    // last: making its entries moved the directory's own times
    copy_times(&md, dst);
    Ok(())
}

/// Makes `rel` (a container path) a directory inside `root`, each component resolved in the
/// root: Docker creates a missing working directory.
/// The readers' snapshots of a running container's writable layer (`upper.snap…`).
fn snapshots(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_name().as_bytes().starts_with(b"upper.snap"))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

fn mkdir_in_root(root: &Path, rel: &str) -> Result<()> {
    // moby's `FollowSymlinkInScope` (each symlink on the way followed inside the root, an
    // absolute target from the root, `..` never above it, a missing name kept as it is)...
    let bad = |e: &dyn std::fmt::Display| {
        EngineError::invalid(format!("invalid working directory {rel}: {e}"))
    };
    let resolved = layer_apply::resolve_in_root(root, rel).map_err(|e| bad(&e))?;
    let done = resolved.strip_prefix(root).map_err(|e| bad(&e))?;
    // ...then `MkdirAll` of what it resolved to.
    let mut cur = String::new();
    for part in done {
        cur.push('/');
        cur.push_str(
            part.to_str()
                .ok_or_else(|| bad(&"a name that is not UTF-8"))?,
        );
        match runtime::user::resolve_dir_in_root(root, &cur) {
            Ok(true) => continue,
            Ok(false) => runtime::user::mkdir_in_root(root, &cur)
                .map_err(|e| EngineError::invalid(e.to_string()))?,
            Err(e) => return Err(EngineError::invalid(e.to_string())),
        }
    }
    Ok(())
}

impl Engine {
    fn run_dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id)
    }

    fn runtime_state_root(&self) -> PathBuf {
        self.root.join("runtime")
    }

    /// Every runtime tried, in order, and what each did (`strata info`).
    pub fn probe_runtimes(&self) -> Vec<ProbeResult> {
        let names: Vec<String> = match self.runtime_asked() {
            Ok(Some(n)) => vec![n],
            _ => runtime::driver::KNOWN_RUNTIMES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let _ = fs::create_dir_all(self.runtime_state_root());
        let _starting = self.cgroup_lock(false);
        runtime::driver::probe(&self.runtime_state_root(), &refs, &cgroup_parent()).1
    }

    /// The runtime the user named: `--runtime`/`$STRATA_RUNTIME`, else `runtime` in
    /// `strata.toml`; `None` when neither names one (then the probe picks).
    fn runtime_asked(&self) -> Result<Option<String>> {
        if let Ok(n) = std::env::var("STRATA_RUNTIME") {
            if !n.is_empty() {
                return Ok(Some(n));
            }
        }
        let config = crate::config::Config::load(&crate::config::config_dir())?;
        Ok(config.runtime.filter(|n| !n.is_empty()))
    }

    /// The OCI runtime containers run with: `--runtime`/`$STRATA_RUNTIME` when set, else
    /// `runtime` in `strata.toml`, else the first of runc, crun and youki that really runs a
    /// container here (probed once, remembered in `runtime/chosen`).
    pub fn runtime(&self) -> Result<Runtime> {
        let root = self.runtime_state_root();
        fs::create_dir_all(&root).map_err(io(format!("create {}", root.display())))?;
        if let Some(n) = self.runtime_asked()? {
            return Runtime::named(&n, &root).map_err(EngineError::from);
        }
        let chosen = root.join("chosen");
        if let Ok(name) = fs::read_to_string(&chosen) {
            if let Ok(rt) = Runtime::named(name.trim(), &root) {
                return Ok(rt);
            }
        }
        // The probe's cgroup is made under the containers' parent, held as a start holds it.
        let starting = self.cgroup_lock(false);
        let (rt, results) = runtime::driver::probe(&root, &[], &cgroup_parent());
        drop(starting);
        match rt {
            Some(rt) => {
                let _ = crate::write_atomic(&chosen, rt.name.as_bytes());
                Ok(rt)
            }
            None => Err(EngineError::Runtime(runtime::RuntimeError::Unavailable(
                format!(
                    "no OCI runtime works on this host: {}",
                    results
                        .iter()
                        .map(|r| format!("{}: {}", r.name, r.error.as_deref().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ))),
        }
    }

    /// The lock on the containers' cgroup parent: shared by a start until its runtime has
    /// made the container's cgroup, exclusive (without waiting) for removing the parent, so
    /// it is never removed between a runtime's `mkdir` of the parent and of the container's
    /// own. The parent is the host's, shared by every data directory on it, so its lock is
    /// too (`/run/strata/cgroup-<parent>.lock`; the data directory's `runtime/cgroup.lock`
    /// only where `/run` cannot hold it): a store removing the parent never races another
    /// store's start.
    fn cgroup_lock(&self, exclusive: bool) -> Option<fs::File> {
        let host = Path::new("/run/strata");
        let name = format!("cgroup-{}.lock", cgroup_parent().trim_matches('/'));
        let p = match fs::create_dir_all(host) {
            Ok(()) => host.join(name),
            Err(_) => self.runtime_state_root().join("cgroup.lock"),
        };
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(p)
            .ok()?;
        let locked = if exclusive {
            f.try_lock().is_ok()
        } else {
            f.lock_shared().is_ok()
        };
        locked.then_some(f)
    }

    /// Removes the `/strata` cgroup parent when no container's cgroup is left in it (runc
    /// leaves it behind); skipped while a start is under way.
    fn tidy_cgroup_parent(&self) {
        if let Some(_lock) = self.cgroup_lock(true) {
            runtime::cgroup::remove_if_empty(&cgroup_parent());
        }
    }

    /// The metadata's `running` flag (what `rmi` looks at).
    fn set_running(&self, id: &str, running: bool) -> Result<()> {
        self.db().write(|tx| -> Result<()> {
            tx.set_container_running(id, running)?;
            Ok(())
        })
    }

    /// The runtime a container's record names (the one that ran it), else the chosen one.
    fn runtime_of(&self, c: &ContainerInfo) -> Result<Runtime> {
        if let Ok(Some(st)) = state::read(&self.run_dir(&c.id)) {
            if let Some(r) = st.runtime {
                return Ok(r.runtime());
            }
        }
        self.runtime()
    }

    /// `create` with Docker's flags: the container, with its run configuration recorded.
    pub fn create_container_with(&self, image: &str, o: &CreateOptions) -> Result<ContainerInfo> {
        check_create_options(o)?;
        let network = crate::network::network_mode(o.network.as_deref())?;
        for b in &o.publish {
            crate::network::check_binding(b)?;
        }
        let mut exposed = Vec::new();
        for e in &o.expose {
            let (port, proto) = crate::network::parse_port_key(e)?;
            exposed.push(format!("{port}/{proto}"));
        }
        if let Some(m) = o.memory {
            if m < 6 * 1024 * 1024 {
                return Err(EngineError::invalid("Minimum memory limit allowed is 6MB"));
            }
        }
        o.host.check(network, o.memory, o.nano_cpus)?;
        let security = crate::parse_security_opts(&o.host.security_opt)?;
        self.check_mounts(&o.mounts)?;
        crate::check_tmpfs_targets(&o.host.tmpfs, &o.mounts)?;
        if o.init {
            init_binary()?;
        }
        let info = self.new_container_info(image, o.name.as_deref(), |img| {
            let (entrypoint, cmd) = command_of(o, img);
            if entrypoint.is_empty() && cmd.is_empty() && !o.without_command {
                return Err(EngineError::invalid("No command specified"));
            }
            Ok(())
        })?;
        let img = &info.config;
        let image_volumes: Vec<String> = img
            .volumes
            .as_ref()
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default();
        let mounts = self.make_mounts(&o.mounts, &image_volumes)?;
        let (entrypoint, cmd) = command_of(o, img);
        let rc = RunConfig {
            entrypoint,
            cmd,
            env: merge_env(&img.env.clone().unwrap_or_default(), &o.env),
            working_dir: o
                .workdir
                .clone()
                .or_else(|| img.working_dir.clone())
                .filter(|w| !w.is_empty())
                .map(|w| format!("/{}", crate::build::clean_in_image(&w)))
                .unwrap_or_default(),
            user: o
                .user
                .clone()
                .or_else(|| img.user.clone())
                .unwrap_or_default(),
            tty: o.tty,
            open_stdin: o.interactive,
            auto_remove: o.auto_remove,
            restart: o.restart.clone().unwrap_or_default(),
            network: network.to_string(),
            port_bindings: o.publish.clone(),
            publish_all: o.publish_all,
            hostname: o.hostname.clone(),
            memory: o.memory,
            nano_cpus: o.nano_cpus,
            pids_limit: o.pids_limit,
            read_only: o.read_only,
            no_new_privileges: security.no_new_privileges.unwrap_or(o.no_new_privileges),
            stop_signal: o
                .stop_signal
                .clone()
                .or_else(|| img.stop_signal.clone())
                .unwrap_or_else(|| "SIGTERM".into()),
            stop_timeout: o.stop_timeout,
            mounts,
            binds: o.mounts.iter().filter_map(|m| m.spec.clone()).collect(),
            init: o.init,
            host: o.host.clone(),
        };
        // The container's configuration is what runs (Docker's `Config`): `inspect` and
        // `commit` read it.
        let mut info = info;
        info.config.entrypoint = (!rc.entrypoint.is_empty()).then(|| rc.entrypoint.clone());
        info.config.cmd = (!rc.cmd.is_empty()).then(|| rc.cmd.clone());
        info.config.env = (!rc.env.is_empty()).then(|| rc.env.clone());
        info.config.working_dir = (!rc.working_dir.is_empty()).then(|| rc.working_dir.clone());
        info.config.user = (!rc.user.is_empty()).then(|| rc.user.clone());
        // Docker exposes the published ports too.
        for key in exposed
            .into_iter()
            .chain(rc.port_bindings.iter().map(|b| b.key()))
        {
            info.config
                .exposed_ports
                .get_or_insert_with(Default::default)
                .entry(key)
                .or_insert_with(|| serde_json::json!({}));
        }
        if !o.labels.is_empty() {
            let mut labels = info.config.labels.clone().unwrap_or_default();
            labels.extend(o.labels.clone());
            info.config.labels = Some(labels);
        }
        let anonymous: Vec<String> = o
            .mounts
            .iter()
            .filter(|m| m.kind == crate::MountKind::Volume && m.source.is_empty())
            .map(|m| m.target.clone())
            .collect();
        if !anonymous.is_empty() {
            let mut vols = info.config.volumes.clone().unwrap_or_default();
            for v in anonymous {
                vols.insert(v, serde_json::json!({}));
            }
            info.config.volumes = Some(vols);
        }
        if o.stop_signal.is_some() {
            info.config.stop_signal = Some(rc.stop_signal.clone());
        }
        // `--health-*` over the image's `HEALTHCHECK`, kept in the configuration as Docker
        // shows it
        if let Some(h) = &o.healthcheck {
            let merged = h.clone().over(crate::health::of(&info.config).as_ref());
            crate::health::set(&mut info.config, &merged);
        }
        // `config.json` and `run.json` are written once, together, before the row that makes
        // the container exist.
        if let Err(e) = self.record_container(&info, Some(&rc)) {
            self.remove_anonymous_volumes(&rc.mounts);
            return Err(e);
        }
        Ok(info)
    }

    /// Rewrites a container's `run.json` (`update`).
    pub(crate) fn save_run_config(&self, id: &str, rc: &RunConfig) -> Result<()> {
        self.write_run_config(id, rc)
    }

    /// The runtime that runs (or last ran) the container.
    pub(crate) fn runtime_for(&self, c: &ContainerInfo) -> Result<Runtime> {
        self.runtime_of(c)
    }

    fn write_run_config(&self, id: &str, rc: &RunConfig) -> Result<()> {
        let json = crate::pretty_json(rc)?;
        crate::write_atomic(&self.run_dir(id).join("run.json"), &json)
    }

    /// What runs in the container (`run.json`; for a container created without it, the
    /// image's configuration).
    pub fn run_config(&self, c: &ContainerInfo) -> Result<RunConfig> {
        match fs::read(self.run_dir(&c.id).join("run.json")) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| EngineError::invalid(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RunConfig {
                entrypoint: c.config.entrypoint.clone().unwrap_or_default(),
                cmd: c.config.cmd.clone().unwrap_or_default(),
                env: c.config.env.clone().unwrap_or_default(),
                working_dir: c.config.working_dir.clone().unwrap_or_default(),
                user: c.config.user.clone().unwrap_or_default(),
                network: "none".into(),
                stop_signal: c
                    .config
                    .stop_signal
                    .clone()
                    .unwrap_or_else(|| "SIGTERM".into()),
                ..Default::default()
            }),
            Err(e) => Err(EngineError::io("read run.json", e)),
        }
    }

    /// What runs in the container and how it went, for a container that has a run
    /// configuration or has run (`None` for one created without either).
    pub fn container_run(&self, c: &ContainerInfo) -> Result<Option<(RunConfig, ProcessState)>> {
        let dir = self.run_dir(&c.id);
        if !dir.join("run.json").exists() && !dir.join(state::STATE_FILE).exists() {
            return Ok(None);
        }
        Ok(Some((self.run_config(c)?, self.process_state(c)?)))
    }

    /// The container's process state, reconciled with the runtime when its monitor is gone;
    /// an ended run is finished (root unmounted, writable layer back in OCI form).
    pub fn process_state(&self, c: &ContainerInfo) -> Result<ProcessState> {
        let dir = self.run_dir(&c.id);
        let mut st = state::read(&dir)?;
        if matches!(&st, Some(s) if s.status == Status::Running) {
            let rt = self.runtime_of(c)?;
            st = state::reconcile(&dir, &rt, &c.id, &runtime::logfile::now())?;
        }
        let mut st = st.unwrap_or_default();
        let rec = crate::restart::read_record(&dir);
        let mut last_exit_code = st.exit_code.unwrap_or(0);
        if st.finished_at.is_none() && rec.last_finished_at.is_some() {
            st.finished_at = rec.last_finished_at.clone();
            last_exit_code = rec.last_exit_code;
        }
        let mut status = match st.status {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
        }
        .to_string();
        if st.status != Status::Running {
            let finished = self.finish_run_with(&c.id, || {
                if st.status == Status::Exited {
                    self.emit(
                        crate::Event::new("container", "die", c.id.clone())
                            .with("name", c.name.clone())
                            .with("exitCode", st.exit_code.unwrap_or(0).to_string()),
                    );
                    // then each volume's `unmount`, as dockerd's clean-up after `die`
                    if let Ok(rc) = self.run_config(c) {
                        for m in rc.mounts.iter().filter(|m| m.kind == "volume") {
                            self.emit(
                                crate::Event::new("volume", "unmount", m.name.clone())
                                    .with("container", c.id.clone())
                                    .with("driver", "local".to_string()),
                            );
                        }
                    }
                }
            })?;
            if finished {
                self.set_running(&c.id, false)?;
            }
            if crate::restart::is_restarting(&dir) {
                status = "restarting".into();
            }
        } else {
            // The freezer says whether it is paused; the runtime's `state` (a process of its
            // own, as long as an `exec`) only when the cgroup cannot tell.
            let frozen = (st.pid > 0)
                .then(|| runtime::cgroup::is_frozen(st.pid))
                .flatten()
                .or_else(|| {
                    let rs = self.runtime_of(c).ok()?.state(&c.id).ok()??;
                    Some(rs.status == "paused")
                });
            if frozen == Some(true) {
                status = "paused".into();
            }
        }
        Ok(ProcessState {
            status,
            pid: st.pid,
            exit_code: st.exit_code.unwrap_or(0),
            started_at: st.started_at.unwrap_or_else(|| ZERO_TIME.into()),
            finished_at: st.finished_at.unwrap_or_else(|| ZERO_TIME.into()),
            oom_killed: st.oom_killed,
            error: st.error.unwrap_or_default(),
            restart_count: rec.count,
            last_exit_code,
            health: crate::health::to_run(&c.config).and_then(|_| runtime::health::read(&dir)),
        })
    }

    fn rootfs_dir(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("rootfs")
    }

    /// Mounts the container's root read-write for a run (kept if already mounted).
    fn mount_run_root(&self, c: &ContainerInfo) -> Result<PathBuf> {
        let dir = self.run_dir(&c.id);
        let rootfs = self.rootfs_dir(&c.id);
        if crate::mount::is_mounted(&rootfs) {
            return Ok(rootfs);
        }
        let upper = dir.join("upper.run");
        let work = dir.join("work.run");
        if !upper.is_dir() {
            let tmp = dir.join("upper.run.tmp");
            let _ = fs::remove_dir_all(&tmp);
            crate::mount::to_overlay(&self.upper_dir(&c.id), &tmp)?;
            fs::rename(&tmp, &upper).map_err(io("place upper.run"))?;
        }
        let _ = fs::remove_dir_all(&work);
        fs::create_dir_all(&work).map_err(io("create work.run"))?;
        fs::create_dir_all(&rootfs).map_err(io("create rootfs"))?;
        let mut lowers = vec![self.init_layer(&c.id)?];
        for d in self.image_layer_dirs(&c.image)?.iter().rev() {
            lowers.push(self.overlay_layer(d)?);
        }
        let data = format!(
            "lowerdir={},upperdir={},workdir={}",
            lowers
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":"),
            upper.display(),
            work.display()
        );
        let (src, fstype, data) = (
            std::ffi::CString::new("overlay").unwrap(),
            std::ffi::CString::new("overlay").unwrap(),
            std::ffi::CString::new(data).unwrap(),
        );
        // SAFETY: valid NUL-terminated arguments.
        let rc = unsafe {
            libc::mount(
                src.as_ptr(),
                cstr(&rootfs).as_ptr(),
                fstype.as_ptr(),
                0,
                data.as_ptr().cast(),
            )
        };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            return Err(EngineError::Runtime(runtime::RuntimeError::Unavailable(format!(
                "cannot mount the container's root as an overlay (containers run only on a kernel overlay, as root): {e}"
            ))));
        }
        Ok(rootfs)
    }

    /// The writable layer in OCI form for readers (`diff`, `commit`, `export`, `cp` out): the
    /// container's `upper/`, or, while a run holds it in overlay form, a fresh OCI-form copy
    /// of `upper.run/` (files hard-linked) in a snapshot of its own (`upper.snap.<pid>.<n>/`):
    /// readers in parallel (the dashboard asks for a container's sizes, diff and tree at
    /// once) never remove a snapshot another is reading. Snapshots older than a minute are
    /// swept by the next reader, and all of them at the end of the run.
    pub(crate) fn readable_upper(&self, id: &str) -> Result<PathBuf> {
        let dir = self.run_dir(id);
        let upper_run = dir.join("upper.run");
        if !upper_run.is_dir() {
            return Ok(self.upper_dir(id));
        }
        let lock = fs::File::open(&dir).map_err(io(format!("open {}", dir.display())))?;
        lock.lock().map_err(io(format!("lock {}", dir.display())))?;
        if !upper_run.is_dir() {
            return Ok(self.upper_dir(id));
        }
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let snap = dir.join(format!("upper.snap.{}.{n}", std::process::id()));
        for old in snapshots(&dir) {
            let stale = fs::symlink_metadata(&old)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(60));
            if stale {
                let _ = fs::remove_dir_all(&old);
            }
        }
        from_overlay(&upper_run, &snap, OverlayAttrs::Keep)?;
        Ok(snap)
    }

    /// A number that changes whenever the container's writable layer does: a hash of every
    /// name, inode, mode, size and change time in it, read where the layer is (the overlay's
    /// `upper.run/` while it runs, `upper/` otherwise) without copying it. Cheap enough to
    /// ask every second while a process writes; what changed is then read the usual way.
    pub fn writable_layer_mark(&self, input: &str) -> Result<u64> {
        use std::hash::{Hash, Hasher};
        fn walk(dir: &Path, h: &mut std::collections::hash_map::DefaultHasher, budget: &mut u32) {
            let Ok(rd) = fs::read_dir(dir) else { return };
            let mut entries: Vec<_> = rd.filter_map(|e| e.ok()).collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                if *budget == 0 {
                    return;
                }
                *budget -= 1;
                let Ok(m) = e.path().symlink_metadata() else {
                    continue;
                };
                e.file_name().as_bytes().hash(h);
                (m.ino(), m.mode(), m.size(), m.ctime(), m.ctime_nsec()).hash(h);
                (m.mtime(), m.mtime_nsec()).hash(h);
                if m.is_dir() {
                    walk(&e.path(), h, budget);
                }
            }
        }
        let c = self.container(input)?;
        let run = self.run_dir(&c.id).join("upper.run");
        let dir = if run.is_dir() {
            run
        } else {
            self.upper_dir(&c.id)
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        dir.as_os_str().as_bytes().hash(&mut h);
        let mut budget = 200_000;
        walk(&dir, &mut h, &mut budget);
        Ok(h.finish())
    }

    /// Writers of the writable layer (`cp` in, `fs rm`, `fs mkdir`) refuse a running
    /// container: its layer is the overlay's upper directory then.
    pub(crate) fn refuse_if_running(&self, c: &ContainerInfo) -> Result<()> {
        if self.run_dir(&c.id).join("upper.run").is_dir() && self.process_state(c)?.is_running() {
            return Err(EngineError::Conflict(format!(
                "container {} is running: changing its files from outside is not supported yet; stop it first",
                c.name
            )));
        }
        Ok(())
    }

    /// The container's init layer (`init.ovl/`), Docker's `-init` layer: the mount points
    /// the runtime needs (`/proc`, `/sys`, `/dev`, `/etc/hostname`, `/etc/hosts`,
    /// `/etc/resolv.conf`, …) present below the writable layer, so the runtime never creates
    /// them there and `diff`/`commit` never see them.
    fn init_layer(&self, id: &str) -> Result<PathBuf> {
        let dir = self.run_dir(id).join("init.ovl");
        if dir.is_dir() {
            return Ok(dir);
        }
        let tmp = self.run_dir(id).join("init.tmp");
        let _ = fs::remove_dir_all(&tmp);
        for d in ["proc", "sys", "dev/pts", "dev/shm", "dev/mqueue", "etc"] {
            fs::create_dir_all(tmp.join(d)).map_err(io("create the init layer"))?;
        }
        for f in [
            "etc/hostname",
            "etc/hosts",
            "etc/resolv.conf",
            "dev/console",
        ] {
            fs::write(tmp.join(f), b"").map_err(io("create the init layer"))?;
        }
        fs::rename(&tmp, &dir).map_err(io("place the init layer"))?;
        Ok(dir)
    }

    /// The container's run lock: an exclusive `flock` on its directory, held while a run is
    /// set up (until its monitor has written its record), while an ended run is finished, so a
    /// late clean-up of the previous run never takes the root of the next one, and while
    /// `update` rewrites the run's record.
    pub(crate) fn run_lock(&self, id: &str) -> Result<fs::File> {
        let dir = self.run_dir(id);
        let lock = fs::File::open(&dir).map_err(io(format!("open {}", dir.display())))?;
        lock.lock().map_err(io(format!("lock {}", dir.display())))?;
        Ok(lock)
    }

    /// After a run: unmounts the root and brings the writable layer back into OCI form.
    /// Idempotent; serialised by the run lock. A run in progress (its monitor alive and its
    /// process not ended: a start that has not finished, or the next run) is left alone.
    fn finish_run(&self, id: &str) -> Result<bool> {
        self.finish_run_with(id, || {})
    }

    /// [`Engine::finish_run`], calling `finished` (the `die` event) before the run lock is
    /// released when this call finished the run, so whoever waits for the lock (an `rm`
    /// about to emit `destroy`) comes after it.
    fn finish_run_with(&self, id: &str, finished: impl FnOnce()) -> Result<bool> {
        let dir = self.run_dir(id);
        if !dir.join("upper.run").exists()
            && !crate::mount::is_mounted(&self.rootfs_dir(id))
            && !self.has_network(id)
        {
            return Ok(false);
        }
        let _lock = self.run_lock(id)?;
        if let Ok(Some(st)) = state::read(&dir) {
            // A record with a start error is the end of that run: nothing runs, and its
            // monitor only has its exit left to do. Left to that monitor, an attached
            // `--rm`'s removal, racing it, would delete the container and leave its root
            // mounted, the monitor's clean-up then finding no container.
            if st.status != Status::Exited && st.error.is_none() && state::monitor_alive(&st) {
                return Ok(false);
            }
        }
        let done = self.finish_run_locked(id)?;
        if done {
            finished();
        }
        Ok(done)
    }

    /// [`Engine::finish_run`] for a caller that holds the run lock and knows no run is in
    /// progress.
    fn finish_run_locked(&self, id: &str) -> Result<bool> {
        let dir = self.run_dir(id);
        let upper_run = dir.join("upper.run");
        let rootfs = self.rootfs_dir(id);
        self.teardown_network(id);
        runtime::peer::unmark(id);
        if crate::mount::is_mounted(&rootfs) {
            // SAFETY: valid NUL-terminated path.
            let rc = unsafe { libc::umount2(cstr(&rootfs).as_ptr(), libc::MNT_DETACH) };
            if rc != 0 {
                return Err(EngineError::io(
                    "unmount the container's root",
                    std::io::Error::last_os_error(),
                ));
            }
        }
        if !upper_run.exists() {
            return Ok(false);
        }
        {
            let tmp = dir.join("upper.tmp");
            let old = dir.join("upper.old");
            let _ = fs::remove_dir_all(&tmp);
            from_overlay(&upper_run, &tmp, OverlayAttrs::Strip)?;
            let upper = self.upper_dir(id);
            let _ = fs::remove_dir_all(&old);
            if upper.exists() {
                fs::rename(&upper, &old).map_err(io("set the old writable layer aside"))?;
            }
            fs::rename(&tmp, &upper).map_err(io("place the writable layer"))?;
            let _ = fs::remove_dir_all(&old);
            fs::remove_dir_all(&upper_run).map_err(io("remove upper.run"))?;
        }
        let _ = fs::remove_dir_all(dir.join("work.run"));
        for snap in snapshots(&dir) {
            let _ = fs::remove_dir_all(snap);
        }
        let _ = fs::remove_dir(&rootfs);
        self.tidy_cgroup_parent();
        Ok(true)
    }

    /// The clean-up a monitor runs after its container ended (`strata container-exited`):
    /// finishes the run (unmount, writable layer back in OCI form, `die` event) and removes a
    /// detached `--rm` container.
    pub fn container_exited(&self, input: &str) -> Result<()> {
        let c = self.container(input)?;
        let p = self.process_state(&c)?;
        if !p.is_running() && self.run_dir(&c.id).join("autoremove").exists() {
            self.remove_container_with(&c.id, true, true)?;
            return Ok(());
        }
        if p.status == "exited" {
            self.restart_by_policy(&c)?;
        }
        Ok(())
    }

    /// `start`: runs the container's process under a new monitor. With `attach`, the monitor
    /// waits for an attach client before the process starts (connect with
    /// [`runtime::monitor::connect_attach`] on [`Engine::container_dir_of`], then call
    /// [`Spawned::wait_started`]). A running container is left as it is (`None`).
    pub fn start_container(&self, input: &str, attach: bool) -> Result<Option<Spawned>> {
        self.start_container_by(input, attach, false)
    }

    /// [`Engine::start_container`]; `by_policy` for a restart policy's start, which keeps
    /// the policy's count (the user's start resets it) and starts a container marked
    /// `restarting` (the user's leaves it to its restart, as moby does).
    pub(crate) fn start_container_by(
        &self,
        input: &str,
        attach: bool,
        by_policy: bool,
    ) -> Result<Option<Spawned>> {
        let c = self.container(input)?;
        let p = self.process_state(&c)?;
        if p.has_process() || (p.is_running() && !by_policy) {
            return Ok(None);
        }
        if !by_policy {
            self.reset_restarts(&c.id);
        }
        let rt = self.runtime()?;
        let rc = self.run_config(&c)?;
        let args = rc.args();
        if args.is_empty() {
            return Err(EngineError::invalid("No command specified"));
        }
        let dir = self.run_dir(&c.id);
        // Held until the new monitor has written its record: the previous run's clean-up
        // (its monitor's exit hook, a `ps`) waits for it and then sees a run in progress.
        let _lock = self.run_lock(&c.id)?;
        if matches!(state::read(&dir), Ok(Some(st)) if st.status != Status::Exited && state::monitor_alive(&st))
        {
            return Ok(None);
        }
        self.finish_run_locked(&c.id)?;
        let previous = state::read(&dir).ok().flatten().map(|st| st.monitor_pid);
        // Held until the runtime has made this container's cgroup (its record is written
        // after the runtime's `create`).
        let _cgroup = self.cgroup_lock(false);
        let rootfs = self.mount_run_root(&c)?;
        let started = (|| -> Result<Spawned> {
            let network = if rc.network == "host" {
                NetworkMode::Host
            } else {
                NetworkMode::None
            };
            let hostname = rc
                .hostname
                .clone()
                .unwrap_or_else(|| c.id[..12].to_string());
            let cgroups_path = format!("{}/{}", cgroup_parent(), c.id);
            // On the host's network its processes share the host's loopback: recorded, so a
            // strata server refuses their connections (`runtime::peer`).
            if network == NetworkMode::Host {
                runtime::peer::mark(&c.id, &cgroups_path)
                    .map_err(io("record a container on the host's network"))?;
            }
            // A bind's source is checked again as it is mounted: a path swapped for a
            // symlink into the store since `create` is refused like one given at `create`.
            let mut binds = Vec::with_capacity(rc.mounts.len());
            let mut tmpfs = Vec::new();
            for m in &rc.mounts {
                if m.kind == "tmpfs" {
                    tmpfs.push(spec::TmpfsMount {
                        destination: m.destination.clone(),
                        data: m.tmpfs_options.clone(),
                    });
                    continue;
                }
                let source = if m.kind == "bind" {
                    self.check_bind_source(&m.source)?
                } else {
                    PathBuf::from(&m.source)
                };
                binds.push(spec::BindMount {
                    source,
                    destination: m.destination.clone(),
                    read_only: !m.rw,
                });
            }
            let mut args = args;
            if rc.init {
                binds.push(spec::BindMount {
                    source: init_binary()?,
                    destination: INIT_PATH.into(),
                    read_only: true,
                });
                args.splice(0..0, [INIT_PATH.to_string(), "--".to_string()]);
            }
            let mut o = SpecOptions {
                id: c.id.clone(),
                rootfs: rootfs.clone(),
                args,
                binds,
                env: rc.env.clone(),
                cwd: rc.working_dir.clone(),
                user: rc.user.clone(),
                tty: rc.tty,
                hostname: Some(hostname.clone()),
                network,
                no_new_privileges: rc.no_new_privileges,
                read_only: rc.read_only,
                memory: rc.memory,
                nano_cpus: rc.nano_cpus,
                pids_limit: rc.pids_limit,
                cgroups_path: cgroups_path.clone(),
                swap_limit: runtime::cgroup::swap_limit(),
                cgroup_v2: runtime::cgroup::is_v2(),
                masked: vec![self.canonical_root()],
                ..Default::default()
            };
            rc.host.apply(&mut o)?;
            // `--tmpfs` first, then `--mount type=tmpfs`, as moby lists them.
            o.tmpfs.extend(tmpfs);
            if !rc.working_dir.is_empty() {
                mkdir_in_root(&rootfs, &rc.working_dir)?;
            }
            let etc = rc.host.etc_options(|| self.host_gateway())?;
            let files = spec::write_etc_files_with(&dir, &hostname, network, &etc)?;
            let mut reserve = Vec::new();
            if rc.network == "bridge" {
                let ports = self.ports_to_publish(&c, &rc)?;
                let (netns, published) = self.setup_bridge(&c, &ports, &files.hosts, &hostname)?;
                o.netns = Some(netns);
                reserve = published
                    .into_iter()
                    .map(|m| monitor::Reservation {
                        proto: m.proto,
                        ip: m.host_ip,
                        port: m.host_port,
                    })
                    .collect();
            }
            o.etc_files = Some(files);
            self.copy_up_volumes(&rootfs, &rc.mounts)?;
            self.write_health_check(&c, &dir, &o)?;
            let s = spec::build(&o)?;
            let bundle = dir.join("bundle");
            fs::create_dir_all(&bundle).map_err(io("create the bundle"))?;
            spec::write_bundle(&bundle, &s)?;
            let _ = fs::remove_file(dir.join(state::STATE_FILE));
            // A detached `--rm` container is removed by the clean-up after its end; an
            // attached one by its client once it has the exit code.
            let marker = dir.join("autoremove");
            if rc.auto_remove && !attach {
                fs::write(&marker, b"").map_err(io("write the autoremove marker"))?;
            } else {
                let _ = fs::remove_file(&marker);
            }
            let exe_path = std::env::current_exe().map_err(io("find the strata binary"))?;
            let mut program = std::process::Command::new(&exe_path);
            program.arg("monitor");
            let argv = rc.args();
            let (entrypoint, args) = argv
                .split_first()
                .map_or(("", &[][..]), |(e, a)| (e.as_str(), a));
            let no_labels = std::collections::BTreeMap::new();
            let log_attrs = rc.host.log_attrs(&crate::host_options::LogInfo {
                tag: docker_api::LogTagFacts {
                    id: &c.id,
                    name: &format!("/{}", c.name.trim_start_matches('/')),
                    image_id: &c.image.to_string(),
                    image_name: &c.image_name,
                    hostname: &hostname,
                    entrypoint,
                    args,
                },
                labels: c.config.labels.as_ref().unwrap_or(&no_labels),
                env: &rc.env,
            })?;
            let margs = MonitorArgs {
                runtime: rt.clone(),
                id: c.id.clone(),
                bundle,
                dir: dir.clone(),
                cgroups_path,
                tty: rc.tty,
                stdin: rc.open_stdin,
                stdin_once: rc.open_stdin,
                wait_attach: attach,
                reserve,
                log: rc.host.log_rotation(),
                log_attrs,
                on_exit: vec![
                    exe_path.clone().into(),
                    "--root".into(),
                    self.root.clone().into(),
                    "container-exited".into(),
                    c.id.clone().into(),
                ],
            };
            Ok(monitor::spawn(program, &margs)?)
        })();
        if started.is_ok() {
            // The monitor's first record (after the runtime's `create`) marks the run as in
            // progress; a start that fails writes one too, so this wait is short either way.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while std::time::Instant::now() < deadline {
                match state::read(&dir) {
                    Ok(Some(st)) if Some(st.monitor_pid) != previous => break,
                    _ => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        }
        match started {
            Ok(s) => {
                // dockerd's order: each volume's `mount`, then the container's `start`
                if let Ok(rc) = self.run_config(&c) {
                    for m in rc.mounts.iter().filter(|m| m.kind == "volume") {
                        self.emit(
                            crate::Event::new("volume", "mount", m.name.clone())
                                .with("container", c.id.clone())
                                .with("destination", m.destination.clone())
                                .with("driver", "local".to_string())
                                .with("propagation", String::new())
                                .with("read/write", m.rw.to_string()),
                        );
                    }
                }
                self.emit(
                    crate::Event::new("container", "start", c.id.clone())
                        .with("name", c.name.clone()),
                );
                Ok(Some(s))
            }
            Err(e) => {
                let _ = self.finish_run_locked(&c.id);
                Err(e)
            }
        }
    }

    /// The health check the monitor runs for this start, if the container has one: the
    /// check, the process it runs as (`exec`'s: the container's user, environment, working
    /// directory, capabilities) and the command that reports each new status (the
    /// `health_status` event); the previous run's health is forgotten.
    fn write_health_check(&self, c: &ContainerInfo, dir: &Path, o: &SpecOptions) -> Result<()> {
        use runtime::health;
        for f in [
            health::CONFIG_FILE,
            health::PROCESS_FILE,
            health::STATE_FILE,
        ] {
            let _ = fs::remove_file(dir.join(f));
        }
        let Some(check) = crate::health::to_run(&c.config) else {
            return Ok(());
        };
        let mut po = o.clone();
        po.args = check.argv.clone();
        po.tty = false;
        let process = spec::exec_process(&po)?;
        let exe = std::env::current_exe().map_err(io("find the strata binary"))?;
        let file = health::CheckFile {
            check,
            on_change: vec![
                exe.to_string_lossy().into_owned(),
                "--root".into(),
                self.root.to_string_lossy().into_owned(),
                "container-health".into(),
                c.id.clone(),
            ],
        };
        fs::write(
            dir.join(health::PROCESS_FILE),
            serde_json::to_vec(&process).map_err(|e| EngineError::invalid(e.to_string()))?,
        )
        .map_err(io("write the health check's process"))?;
        fs::write(
            dir.join(health::CONFIG_FILE),
            serde_json::to_vec(&file).map_err(|e| EngineError::invalid(e.to_string()))?,
        )
        .map_err(io("write the health check"))?;
        Ok(())
    }

    /// A health check's new status, reported by the monitor (`strata container-health`): the
    /// `health_status` event.
    pub fn container_health_changed(&self, input: &str, status: &str) -> Result<()> {
        let c = self.container(input)?;
        self.emit(
            crate::Event::new(
                "container",
                &format!("health_status: {status}"),
                c.id.clone(),
            )
            .with("name", c.name.clone()),
        );
        Ok(())
    }

    /// Waits for the monitor to report the start (after an attach, when asked); a failed
    /// start leaves the container `created` with Docker's exit code and finishes the run.
    pub fn await_start(&self, input: &str, s: &mut Spawned) -> Result<i32> {
        match s.wait_started() {
            Ok(pid) => {
                let c = self.container(input)?;
                self.set_running(&c.id, true)?;
                Ok(pid)
            }
            Err(e) => {
                let c = self.container(input)?;
                let _ = self.finish_run(&c.id);
                Err(e.into())
            }
        }
    }

    /// The container's directory (log, state, attach socket).
    pub fn container_dir_of(&self, c: &ContainerInfo) -> PathBuf {
        self.run_dir(&c.id)
    }

    /// `exec`: prepares the runtime's `exec` of a process in the running container, with the
    /// container's environment, working directory, user and capabilities unless overridden.
    pub fn prepare_exec(&self, input: &str, o: &ExecOptions) -> Result<PreparedExec> {
        let c = self.container(input)?;
        let p = self.process_state(&c)?;
        if p.status == "paused" {
            return Err(EngineError::Conflict(format!(
                "Container {} is paused, unpause the container before exec",
                c.id
            )));
        }
        if !p.is_running() {
            return Err(Self::not_running(&c));
        }
        p.refuse_if_restarting(&c.id)?;
        if o.cmd.is_empty() {
            return Err(EngineError::invalid("No exec command specified"));
        }
        let rc = self.run_config(&c)?;
        let rt = self.runtime_of(&c)?;
        let dir = self.run_dir(&c.id);
        let so = SpecOptions {
            id: c.id.clone(),
            rootfs: self.rootfs_dir(&c.id),
            args: o.cmd.clone(),
            env: merge_env(&rc.env, &o.env),
            cwd: o.workdir.clone().unwrap_or_else(|| rc.working_dir.clone()),
            user: o.user.clone().unwrap_or_else(|| rc.user.clone()),
            tty: o.tty,
            hostname: Some(
                rc.hostname
                    .clone()
                    .unwrap_or_else(|| c.id[..12].to_string()),
            ),
            no_new_privileges: rc.no_new_privileges,
            // The container's capabilities and `--group-add` groups, as Docker's exec.
            cap_add: rc.host.cap_add.clone(),
            cap_drop: rc.host.cap_drop.clone(),
            group_add: rc.host.group_add.clone(),
            ..Default::default()
        };
        let process = spec::exec_process(&so)?;
        let n = random_suffix();
        let pj = dir.join(format!("exec-{n}.json"));
        let log = dir.join(format!("exec-{n}.log"));
        let pid_file = dir.join(format!("exec-{n}.pid"));
        let json = serde_json::to_vec(&process).map_err(|e| EngineError::invalid(e.to_string()))?;
        fs::write(&pj, json).map_err(io("write the exec process"))?;
        let command = rt.exec_logged(&c.id, &pj, &pid_file, &log, o.detach);
        self.emit(
            crate::Event::new("container", "exec_start", c.id.clone()).with("execID", n.clone()),
        );
        Ok(PreparedExec {
            command,
            log,
            process: pj,
            pid_file,
            container: c.id.clone(),
            exec_id: n,
        })
    }

    /// The exit code of a finished `exec` (the process's own), or the runtime's failure to
    /// start it as Docker reports it: its text, and 126 whatever the cause (dockerd 20.10
    /// answers 126 for a command not found, one it cannot run, a missing working directory).
    pub fn exec_finished(&self, e: PreparedExec, status: std::process::ExitStatus) -> Result<i32> {
        let err = fs::read_to_string(&e.log).ok().and_then(|t| {
            t.lines().rev().find_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                (v["level"] == "error" || v["level"] == "fatal")
                    .then(|| v["msg"].as_str().map(str::to_string))?
            })
        });
        let _ = fs::remove_file(&e.log);
        let _ = fs::remove_file(&e.process);
        let _ = fs::remove_file(&e.pid_file);
        if let Some(msg) = err {
            if !status.success() {
                return Err(EngineError::Runtime(runtime::RuntimeError::Start {
                    exit_code: 126,
                    msg: format!("OCI runtime exec failed: {msg}: unknown"),
                }));
            }
        }
        use std::os::unix::process::ExitStatusExt;
        let code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        self.emit(
            crate::Event::new("container", "exec_die", e.container.clone())
                .with("execID", e.exec_id.clone())
                .with("exitCode", code.to_string()),
        );
        Ok(code)
    }

    /// `wait`: blocks until the container is not running; its exit code. A container that
    /// never ran answers at once with its code.
    pub fn wait_container(&self, input: &str) -> Result<i32> {
        let c = self.container(input)?;
        let dir = self.run_dir(&c.id);
        // A restarting container counts as running: its next end (or its stop) answers.
        let ended_before = self.process_state(&c)?.finished_at;
        loop {
            let p = self.process_state(&c)?;
            if !p.is_running() || (p.status == "restarting" && p.finished_at != ended_before) {
                return Ok(p.exit_code);
            }
            if p.status == "restarting" {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            if let Some(st) = state::wait_exited(&dir, Duration::from_millis(500))? {
                if st.status != Status::Running {
                    let p = self.process_state(&c)?;
                    if !(p.status == "restarting" && p.finished_at == ended_before) {
                        return Ok(p.exit_code);
                    }
                }
            }
        }
    }

    fn not_running(c: &ContainerInfo) -> EngineError {
        EngineError::Conflict(format!("Container {} is not running", c.id))
    }

    /// `kill -s SIGNAL`. The signal is read as moby reads it (`crate::signal::for_kill`: empty
    /// is SIGKILL, one outside the table is refused) before the container is looked up.
    pub fn kill_container(&self, input: &str, signal: &str) -> Result<()> {
        let sig = crate::signal::for_kill(signal)?;
        let c = self.container(input)?;
        let p = self.process_state(&c)?;
        if !p.is_running() {
            return Err(Self::not_running(&c));
        }
        // moby: any kill marks the container manually stopped and ends its restart policy
        // until the next start, except that with a stop signal of its own (`--stop-signal`,
        // the image's `StopSignal`) only that signal or SIGKILL ends it. A restarting
        // container has no process to signal.
        let own_stop_signal = c.config.stop_signal.as_deref().filter(|s| !s.is_empty());
        let cancel = sig == crate::signal::KILL
            || own_stop_signal.is_none_or(|s| crate::signal::parse(s).ok() == Some(sig));
        self.stopped_by_user(&c.id, cancel)?;
        if p.status == "restarting" && !self.process_state(&c)?.has_process() {
            return Ok(());
        }
        let rt = self.runtime_of(&c)?;
        rt.kill(&c.id, &sig.to_string(), false)?;
        if sig == crate::signal::KILL {
            if let Ok(Some(rs)) = rt.state(&c.id) {
                if rs.status == "paused" {
                    let _ = rt.resume(&c.id);
                }
            }
        }
        self.emit_kill(&c, sig);
        Ok(())
    }

    /// The `kill` event, with the signal's number as Docker gives it.
    fn emit_kill(&self, c: &ContainerInfo, sig: i64) {
        self.emit(
            crate::Event::new("container", "kill", c.id.clone())
                .with("name", c.name.clone())
                .with("signal", sig.to_string()),
        );
    }

    /// `stop -t SECONDS`: the stop signal, then SIGKILL after the timeout (the container's
    /// `--stop-timeout`, else 10 s). A stopped container is left as it is.
    pub fn stop_container(&self, input: &str, timeout: Option<i64>) -> Result<()> {
        let c = self.container(input)?;
        if !self.process_state(&c)?.is_running() {
            return Ok(());
        }
        // No restart after this stop; a restart waiting is canceled (one under way is let
        // finish, and then stopped below).
        self.stopped_by_user(&c.id, true)?;
        if !self.process_state(&c)?.has_process() {
            self.emit(
                crate::Event::new("container", "stop", c.id.clone()).with("name", c.name.clone()),
            );
            return Ok(());
        }
        let rc = self.run_config(&c)?;
        let rt = self.runtime_of(&c)?;
        let t = timeout.or(rc.stop_timeout).unwrap_or(10);
        let wait = if t < 0 {
            Duration::from_secs(u32::MAX as u64)
        } else {
            Duration::from_secs(t as u64)
        };
        // Checked at create; a record from before that check with a signal moby cannot read
        // is stopped with SIGTERM rather than never.
        let sig = crate::signal::parse(&rc.stop_signal).unwrap_or(crate::signal::TERM);
        self.emit_kill(&c, if t == 0 { crate::signal::KILL } else { sig });
        state::stop(&self.run_dir(&c.id), &rt, &c.id, &sig.to_string(), wait)?;
        self.process_state(&c)?;
        self.emit(
            crate::Event::new("container", "stop", c.id.clone()).with("name", c.name.clone()),
        );
        Ok(())
    }

    /// `restart`: stop (if running), then start detached.
    pub fn restart_container(&self, input: &str, timeout: Option<i64>) -> Result<()> {
        self.stop_container(input, timeout)?;
        if let Some(mut s) = self.start_container(input, false)? {
            self.await_start(input, &mut s)?;
        }
        Ok(())
    }

    /// `top [ps OPTIONS]`: the host's `ps` (default `-ef`) limited to the container's
    /// processes, as Docker does it: the titles and the rows.
    pub fn top(&self, input: &str, ps_args: &[String]) -> Result<(Vec<String>, Vec<Vec<String>>)> {
        let c = self.container(input)?;
        let p = self.process_state(&c)?;
        if !p.is_running() {
            return Err(Self::not_running(&c));
        }
        p.refuse_if_restarting(&c.id)?;
        let pids = self.runtime_of(&c)?.pids(&c.id)?;
        let args: Vec<String> = if ps_args.is_empty() {
            vec!["-ef".into()]
        } else {
            ps_args.to_vec()
        };
        let out = std::process::Command::new("ps")
            .args(&args)
            .output()
            .map_err(io("run ps"))?;
        if !out.status.success() {
            return Err(EngineError::invalid(format!(
                "ps: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let titles: Vec<String> = lines
            .next()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let Some(pid_col) = titles.iter().position(|t| t == "PID") else {
            return Err(EngineError::invalid("Couldn't find PID field in ps output"));
        };
        let mut rows = Vec::new();
        for l in lines {
            let fields: Vec<&str> = l.split_whitespace().collect();
            if fields.len() < titles.len() {
                continue;
            }
            let Ok(pid) = fields[pid_col].parse::<i32>() else {
                continue;
            };
            if !pids.contains(&pid) {
                continue;
            }
            let mut row: Vec<String> = fields[..titles.len() - 1]
                .iter()
                .map(|f| f.to_string())
                .collect();
            row.push(fields[titles.len() - 1..].join(" "));
            rows.push(row);
        }
        Ok((titles, rows))
    }

    /// `pause`: freezes every process of the container.
    pub fn pause_container(&self, input: &str) -> Result<()> {
        let c = self.container(input)?;
        let p = self.process_state(&c)?;
        if p.status == "paused" {
            return Err(EngineError::Conflict(format!(
                "Container {} is already paused",
                c.id
            )));
        }
        if !p.is_running() {
            return Err(Self::not_running(&c));
        }
        p.refuse_if_restarting(&c.id)?;
        self.runtime_of(&c)?.pause(&c.id)?;
        self.emit(
            crate::Event::new("container", "pause", c.id.clone()).with("name", c.name.clone()),
        );
        Ok(())
    }

    /// `unpause`.
    pub fn unpause_container(&self, input: &str) -> Result<()> {
        let c = self.container(input)?;
        if self.process_state(&c)?.status != "paused" {
            return Err(EngineError::Conflict(format!(
                "Container {} is not paused",
                c.id
            )));
        }
        self.runtime_of(&c)?.resume(&c.id)?;
        self.emit(
            crate::Event::new("container", "unpause", c.id.clone()).with("name", c.name.clone()),
        );
        Ok(())
    }

    /// `logs`: the entries of `range` then, with `range.follow`, new ones until the container
    /// stops, `until` has passed, `f` returns `false` or `left` says the reader has gone (asked
    /// while no entry comes, so a follower of a quiet container does not outlive its reader).
    /// The rotated files are read first, oldest first, and a follower follows the rotations;
    /// a container logging to `none` has nothing to read (Docker's text).
    pub fn container_logs(
        &self,
        input: &str,
        range: LogRange,
        left: impl Fn() -> bool,
        mut f: impl FnMut(LogLine) -> bool,
    ) -> Result<()> {
        let LogRange {
            tail,
            follow,
            since,
            until,
        } = range;
        let c = self.container(input)?;
        let host = self.run_config(&c)?.host;
        let Some(rotation) = host.log_rotation() else {
            return Err(EngineError::Conflict(
                crate::HostOptions::LOGS_UNREADABLE.into(),
            ));
        };
        // The live file and its rotated files, read oldest first.
        let log = runtime::logfile::LogFiles {
            path: self.container_log_path(&c.id),
            max_files: rotation.max_files,
        };
        let conv = |e: runtime::logfile::Entry| LogLine {
            stream: e.stream,
            log: e.log,
            time: e.time,
            attrs: e.attrs,
        };
        // Some(true): show, Some(false): skip, None: past `until`, stop.
        let judge = |time: &str| -> Option<bool> {
            if since.is_none() && until.is_none() {
                return Some(true);
            }
            let t =
                time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
                    .map(|t| t.unix_timestamp_nanos())
                    .unwrap_or(0);
            if until.is_some_and(|u| t > u) {
                return None;
            }
            Some(since.is_none_or(|s| t >= s))
        };
        let mut go_on = true;
        let cursor = runtime::logfile::read(&log, tail, |e| {
            if go_on {
                match judge(&e.time) {
                    Some(true) => go_on = f(conv(e)),
                    Some(false) => {}
                    None => go_on = false,
                }
            }
        })
        .map_err(io("read the container log"))?;
        if !follow || !go_on {
            return Ok(());
        }
        let now_nanos = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i128)
        };
        let dir = self.run_dir(&c.id);
        runtime::logfile::follow(
            &log,
            cursor,
            || {
                if left() || until.is_some_and(|u| now_nanos() > u) {
                    return true;
                }
                match state::read(&dir) {
                    Ok(Some(st)) if st.status == Status::Running => !state::monitor_alive(&st),
                    _ => true,
                }
            },
            |e| match judge(&e.time) {
                Some(true) => f(conv(e)),
                Some(false) => true,
                None => false,
            },
        )
        .map_err(io("follow the container log"))
    }

    /// Before a container is removed: a running one is refused unless `force`, which kills
    /// it; the run is finished and the runtime's state deleted.
    pub(crate) fn prepare_removal(&self, c: &ContainerInfo, force: bool) -> Result<()> {
        let dir = self.run_dir(&c.id);
        if !dir.join(state::STATE_FILE).exists() {
            self.teardown_network(&c.id);
            return Ok(());
        }
        // moby's refusal of a running (or restarting) container without force.
        let running = |p: &ProcessState| -> Result<()> {
            if p.is_running() && !force {
                return Err(EngineError::Conflict(format!(
                    "cannot remove container \"/{}\": container is {}: stop the container before removing or force remove",
                    c.name,
                    if p.status == "restarting" { "restarting" } else { "running" }
                )));
            }
            Ok(())
        };
        running(&self.process_state(c)?)?;
        // An ended run's restart may be deciding to start it again (its marker not made yet,
        // so it looks exited): marked removing first, it never starts; one already starting
        // has started when this returns, and is refused or ended as any running one.
        self.removing(&c.id)?;
        let ended = self
            .process_state(c)
            .and_then(|p| running(&p))
            .and_then(|()| self.end_for_removal(c, &dir));
        if ended.is_err() {
            self.removal_failed(&c.id);
        }
        ended
    }

    /// [`Engine::prepare_removal`] once no restart can start the container: ends its process
    /// and its run.
    fn end_for_removal(&self, c: &ContainerInfo, dir: &Path) -> Result<()> {
        if self.process_state(c)?.has_process() {
            let rt = self.runtime_of(c)?;
            // Docker's order: kill, die, destroy.
            self.emit_kill(c, crate::signal::KILL);
            state::stop(dir, &rt, &c.id, "KILL", Duration::ZERO)?;
            self.process_state(c)?;
        }
        self.finish_run(&c.id)?;
        // Whoever finished the run (the monitor's clean-up, maybe) has emitted `die` under the
        // run lock: taking it orders `destroy` after it. A `die` another process recorded
        // (the monitor's) is passed on to this process's subscribers now, before the
        // `destroy` to come, not with the server's next relay tick.
        drop(self.run_lock(&c.id)?);
        let _ = self.relay_other_processes_events();
        if let Ok(rt) = self.runtime_of(c) {
            let _ = rt.delete(&c.id, true);
        }
        self.tidy_cgroup_parent();
        Ok(())
    }
}

/// The cgroup parent of every container (`<parent>/<id>`): `/strata`, or
/// `$STRATA_CGROUP_PARENT` (one plain name, like Docker's `--cgroup-parent` of a daemon).
fn cgroup_parent() -> String {
    match std::env::var("STRATA_CGROUP_PARENT") {
        Ok(p)
            if !p.trim_matches('/').is_empty()
                && p.trim_matches('/')
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                && !p.contains("..") =>
        {
            format!("/{}", p.trim_matches('/'))
        }
        _ => "/strata".into(),
    }
}

/// Where `--init` puts the init binary in the container (Docker's path).
const INIT_PATH: &str = "/sbin/docker-init";

/// The static init binary `--init` runs: `$STRATA_INIT`, else Docker's `docker-init`, else
/// `tini-static` (a dynamic `tini` would not run in an image without its libraries).
fn init_binary() -> Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("STRATA_INIT").filter(|p| !p.is_empty()) {
        candidates.push(p.into());
    } else {
        for dir in [
            "/usr/local/bin",
            "/usr/bin",
            "/usr/libexec/docker",
            "/usr/sbin",
        ] {
            for name in ["docker-init", "tini-static"] {
                candidates.push(Path::new(dir).join(name));
            }
        }
    }
    candidates
        .into_iter()
        .find_map(|p| fs::canonicalize(&p).ok().filter(|p| p.is_file()))
        .ok_or_else(|| {
            EngineError::invalid(
                "--init: no init binary found: install tini (docker-init or tini-static, statically linked) or name one in $STRATA_INIT",
            )
        })
}

fn random_suffix() -> String {
    let mut b = [0u8; 6];
    if let Ok(mut f) = fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two stores on one host share the cgroup parent, so they share its lock: while one
    /// store's start holds it, another store cannot take it to remove the parent.
    #[test]
    fn the_cgroup_parent_lock_is_the_hosts_not_the_stores() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (a, b) = (
            Engine::open(a.path()).unwrap(),
            Engine::open(b.path()).unwrap(),
        );
        let starting = a.cgroup_lock(false).expect("a start's shared lock");
        assert!(
            b.cgroup_lock(true).is_none(),
            "another store removed the parent during a start"
        );
        drop(starting);
        assert!(b.cgroup_lock(true).is_some());
    }

    #[test]
    fn env_merge() {
        assert_eq!(
            merge_env(
                &["PATH=/bin".into(), "A=1".into()],
                &["A=2".into(), "B=3".into()]
            ),
            ["PATH=/bin", "A=2", "B=3"]
        );
    }

    /// Sets an extended attribute of `p` (not followed through a symlink).
    fn set_xattr(p: &Path, name: &std::ffi::CStr, value: &[u8]) {
        let c = cstr(p);
        // SAFETY: valid strings and a live buffer of the given size.
        let r = unsafe {
            libc::lsetxattr(
                c.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    }

    /// Sets both times of `p` (not followed through a symlink) to `secs`.
    fn set_times(p: &Path, secs: i64) {
        let c = cstr(p);
        let t = libc::timespec {
            tv_sec: secs,
            tv_nsec: 0,
        };
        // SAFETY: a valid path and two timespecs.
        let r = unsafe {
            libc::utimensat(
                libc::AT_FDCWD,
                c.as_ptr(),
                [t, t].as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    }

    #[test]
    fn overlay_form_back_to_oci_form() {
        let d = tempfile::tempdir().unwrap();
        let oci = d.path().join("oci");
        fs::create_dir_all(oci.join("etc/keep")).unwrap();
        fs::write(oci.join("etc/passwd"), "x").unwrap();
        fs::write(oci.join("etc/.wh.shadow"), "").unwrap();
        fs::write(oci.join("etc/keep/.wh..wh..opq"), "").unwrap();
        symlink("/x", oci.join("link")).unwrap();
        let ovl = d.path().join("ovl");
        crate::mount::to_overlay(&oci, &ovl).unwrap();
        let back = d.path().join("back");
        from_overlay(&ovl, &back, OverlayAttrs::Strip).unwrap();
        let list = |root: &Path| {
            let mut v = Vec::new();
            fn walk(root: &Path, p: &Path, v: &mut Vec<String>) {
                for e in fs::read_dir(p).unwrap() {
                    let e = e.unwrap();
                    v.push(e.path().strip_prefix(root).unwrap().display().to_string());
                    if e.file_type().unwrap().is_dir() {
                        walk(root, &e.path(), v);
                    }
                }
            }
            walk(root, root, &mut v);
            v.sort();
            v
        };
        assert_eq!(list(&back), list(&oci));
        assert_eq!(fs::read_to_string(back.join("etc/passwd")).unwrap(), "x");
    }

    /// The overlay form a layer is mounted from keeps every directory's and symlink's owner,
    /// times and (directories') attributes: a container sees a layer's directories as the
    /// layer holds them, not as root's made at mount time.
    #[test]
    fn the_overlay_form_keeps_owners_times_and_attributes() {
        use std::os::unix::fs::{lchown, MetadataExt};
        let d = tempfile::tempdir().unwrap();
        let oci = d.path().join("oci");
        fs::create_dir_all(oci.join("r/s")).unwrap();
        fs::write(oci.join("r/s/f"), "x").unwrap();
        symlink("s", oci.join("r/l")).unwrap();
        for p in ["r", "r/s", "r/l", "r/s/f"] {
            lchown(oci.join(p), Some(7), Some(8)).unwrap();
        }
        fs::set_permissions(oci.join("r"), fs::Permissions::from_mode(0o2750)).unwrap();
        set_xattr(&oci.join("r/s"), c"user.note", b"kept");
        for p in ["r/l", "r/s", "r"] {
            set_times(&oci.join(p), 1_000_000_000);
        }
        let ovl = d.path().join("ovl");
        crate::mount::to_overlay(&oci, &ovl).unwrap();
        for p in ["r", "r/s", "r/l", "r/s/f"] {
            let md = fs::symlink_metadata(ovl.join(p)).unwrap();
            assert_eq!((md.uid(), md.gid()), (7, 8), "{p}");
            if p != "r/s/f" {
                assert_eq!(md.mtime(), 1_000_000_000, "{p}");
            }
        }
        let md = fs::symlink_metadata(ovl.join("r")).unwrap();
        assert_eq!(md.mode() & 0o7777, 0o2750);
        let attrs = layer_apply::xattrs_of(&ovl.join("r/s")).unwrap();
        assert!(
            attrs
                .iter()
                .any(|(n, v)| n.as_slice() == b"user.note" && v.as_slice() == b"kept"),
            "{attrs:?}"
        );
    }

    /// A directory keeps its times and extended attributes (overlayfs's own aside), a
    /// symlink its times, through the return to OCI form.
    #[test]
    fn directories_keep_their_times_and_attributes() {
        let d = tempfile::tempdir().unwrap();
        let ovl = d.path().join("ovl");
        fs::create_dir_all(ovl.join("etc/app")).unwrap();
        fs::write(ovl.join("etc/app/conf"), "x").unwrap();
        symlink("conf", ovl.join("etc/app/link")).unwrap();
        set_xattr(&ovl.join("etc/app"), c"user.note", b"kept");
        set_xattr(&ovl.join("etc/app"), c"user.overlay.impure", b"y");
        let old = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        for p in ["etc/app/link", "etc/app", "etc"] {
            set_times(&ovl.join(p), 1_000_000_000);
        }
        let back = d.path().join("back");
        from_overlay(&ovl, &back, OverlayAttrs::Strip).unwrap();
        for p in ["etc", "etc/app", "etc/app/link"] {
            let md = fs::symlink_metadata(back.join(p)).unwrap();
            assert_eq!(md.modified().unwrap(), old, "{p}");
        }
        let list = |p: &Path| {
            let c = cstr(p);
            let mut buf = vec![0u8; 1024];
            // SAFETY: a valid path and a live buffer of the given size.
            let n = unsafe { libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
            buf.truncate(n.max(0) as usize);
            String::from_utf8(buf).unwrap()
        };
        assert_eq!(list(&back.join("etc/app")), "user.note\0");
    }

    /// A reader's copy of a mounted upper directory leaves the live files' overlay
    /// attributes alone (the link shares them); the end of a run strips them.
    #[test]
    fn a_readers_copy_keeps_the_live_files_overlay_attributes() {
        let d = tempfile::tempdir().unwrap();
        let ovl = d.path().join("ovl");
        fs::create_dir_all(&ovl).unwrap();
        let file = ovl.join("copied-up");
        fs::write(&file, "x").unwrap();
        let c = cstr(&file);
        let (name, value) = (c"user.overlay.origin", b"handle");
        // SAFETY: valid strings and a live buffer of the given size.
        let set = unsafe {
            libc::lsetxattr(
                c.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        assert_eq!(set, 0, "{}", std::io::Error::last_os_error());
        let has = || {
            let mut v = [0u8; 16];
            // SAFETY: valid strings and a live buffer of the given size.
            let n = unsafe {
                libc::lgetxattr(c.as_ptr(), name.as_ptr(), v.as_mut_ptr().cast(), v.len())
            };
            n == value.len() as isize
        };
        from_overlay(&ovl, &d.path().join("snap"), OverlayAttrs::Keep).unwrap();
        assert!(has(), "a reader's snapshot stripped the live file");
        from_overlay(&ovl, &d.path().join("back"), OverlayAttrs::Strip).unwrap();
        assert!(!has(), "the end of the run leaves no overlay attribute");
    }
}
