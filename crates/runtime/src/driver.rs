//! `driver`: an OCI runtime (runc, crun, youki) driven through its command line, with its own
//! `--root` state directory, and `probe`, which finds the first one that really runs a
//! container on this host.

use crate::spec::{self, SpecOptions};
use crate::{Result, RuntimeError};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The runtimes tried, in order, when none is named.
pub const KNOWN_RUNTIMES: [&str; 3] = ["runc", "crun", "youki"];

const SEARCH_DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// One OCI runtime binary with its state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// Its name (`runc`, `crun`, `youki`).
    pub name: String,
    /// The binary.
    pub binary: PathBuf,
    /// Its `--root` state directory.
    pub root: PathBuf,
}

/// The runtime's view of a container (`<runtime> state`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RuntimeState {
    /// `creating`, `created`, `running`, `paused` or `stopped`.
    pub status: String,
    /// The container's init process on the host (0 once stopped).
    #[serde(default)]
    pub pid: i32,
}

/// What `probe` found for one runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// The runtime's name.
    pub name: String,
    /// The binary, when found.
    pub binary: Option<PathBuf>,
    /// `None` when it ran a container; otherwise why not, in one line.
    pub error: Option<String>,
}

/// Finds `name` on `PATH` or in the usual system directories.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .filter(|d| !d.is_empty())
        .chain(SEARCH_DIRS)
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found
}

fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    // runc's logrus text form: time="…" level=error msg="…"
    if let Some(i) = line.find("msg=\"") {
        let rest = &line[i + 5..];
        let end = rest.rfind('"').unwrap_or(rest.len());
        return rest[..end].replace("\\\"", "\"");
    }
    line.to_string()
}

impl Runtime {
    /// The runtime `name` (looked up on the host), keeping its state under `state_root/<name>`.
    pub fn named(name: &str, state_root: &Path) -> Result<Runtime> {
        let binary = find_binary(name).ok_or_else(|| {
            RuntimeError::Unavailable(format!(
                "runtime {name}: executable file not found in $PATH"
            ))
        })?;
        let short = Path::new(name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.to_string());
        Ok(Runtime {
            root: state_root.join(&short),
            name: short,
            binary,
        })
    }

    /// A command for the runtime with its `--root`.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.binary);
        c.arg("--root").arg(&self.root);
        c
    }

    fn run(&self, args: &[&str]) -> Result<String> {
        let out = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| RuntimeError::io(format!("run {}", self.binary.display()), e))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(RuntimeError::Runtime {
                msg: format!(
                    "{} {}: {}",
                    self.name,
                    args.first().unwrap_or(&""),
                    first_line(&String::from_utf8_lossy(&out.stderr))
                ),
            })
        }
    }

    /// The `create` command: the caller sets its stdio (the container's, without a TTY).
    pub fn create_command(
        &self,
        id: &str,
        bundle: &Path,
        pid_file: &Path,
        console_socket: Option<&Path>,
        log: &Path,
    ) -> Command {
        let mut c = Command::new(&self.binary);
        c.arg("--root")
            .arg(&self.root)
            .arg("--log")
            .arg(log)
            .arg("--log-format")
            .arg("json")
            .arg("create")
            .arg("--bundle")
            .arg(bundle)
            .arg("--pid-file")
            .arg(pid_file);
        if let Some(s) = console_socket {
            c.arg("--console-socket").arg(s);
        }
        c.arg(id);
        c
    }

    /// Starts a created container's process.
    pub fn start(&self, id: &str) -> Result<()> {
        self.run(&["start", id]).map(drop)
    }

    /// The runtime's state of `id`; `None` when it does not know it.
    pub fn state(&self, id: &str) -> Result<Option<RuntimeState>> {
        match self.run(&["state", id]) {
            Ok(out) => serde_json::from_str(&out)
                .map(Some)
                .map_err(|e| RuntimeError::Runtime {
                    msg: format!("{} state: {e}", self.name),
                }),
            Err(RuntimeError::Runtime { msg }) if msg.contains("does not exist") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends `signal` (a name like `TERM` or `SIGKILL`, or a number) to the container's init,
    /// or to all its processes.
    pub fn kill(&self, id: &str, signal: &str, all: bool) -> Result<()> {
        let mut args = vec!["kill"];
        if all {
            args.push("--all");
        }
        args.extend([id, signal]);
        self.run(&args).map(drop)
    }

    /// The host PIDs of the container's processes (`<runtime> ps --format json`).
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        let out = self.run(&["ps", "--format", "json", id])?;
        let v: Option<Vec<i32>> =
            serde_json::from_str(out.trim()).map_err(|e| RuntimeError::Runtime {
                msg: format!("{} ps: {e}", self.name),
            })?;
        Ok(v.unwrap_or_default())
    }

    /// Freezes the container (the freezer cgroup).
    pub fn pause(&self, id: &str) -> Result<()> {
        self.run(&["pause", id]).map(drop)
    }

    /// Thaws the container.
    pub fn resume(&self, id: &str) -> Result<()> {
        self.run(&["resume", id]).map(drop)
    }

    /// The `exec` command for a process described by `process_json` (an OCI `process`), the
    /// runtime's own errors written to `log` as JSON lines (what it failed at, in its words).
    pub fn exec_logged(
        &self,
        id: &str,
        process_json: &Path,
        pid_file: &Path,
        log: &Path,
        detach: bool,
    ) -> Command {
        let mut c = self.command();
        c.arg("--log")
            .arg(log)
            .arg("--log-format")
            .arg("json")
            .arg("exec")
            .arg("--process")
            .arg(process_json)
            .arg("--pid-file")
            .arg(pid_file);
        if detach {
            c.arg("--detach");
        }
        c.arg(id);
        c
    }

    /// The `exec` command for a process described by `process_json` (an OCI `process`).
    pub fn exec_command(
        &self,
        id: &str,
        process_json: &Path,
        pid_file: &Path,
        console_socket: Option<&Path>,
        detach: bool,
    ) -> Command {
        let mut c = self.command();
        c.arg("exec")
            .arg("--process")
            .arg(process_json)
            .arg("--pid-file")
            .arg(pid_file);
        if let Some(s) = console_socket {
            c.arg("--tty").arg("--console-socket").arg(s);
        }
        if detach {
            c.arg("--detach");
        }
        c.arg(id);
        c
    }

    /// Changes a running container's limits (`<runtime> update`): memory (and memory+swap,
    /// the reservation) in bytes, the CFS quota and period and the shares for CPUs, the
    /// cpusets, the PIDs limit. `None` leaves one as it is.
    pub fn update(&self, id: &str, limits: &UpdateLimits) -> Result<()> {
        let mut args: Vec<String> = vec!["update".into()];
        let mut push = |flag: &str, v: Option<i64>| {
            if let Some(v) = v {
                args.push(format!("--{flag}"));
                args.push(v.to_string());
            }
        };
        push("memory", limits.memory);
        push("memory-swap", limits.memory_swap);
        push("cpu-period", limits.cpu_period);
        push("cpu-quota", limits.cpu_quota);
        push("pids-limit", limits.pids_limit);
        push("memory-reservation", limits.memory_reservation);
        push("cpu-share", limits.cpu_shares);
        for (flag, v) in [
            ("cpuset-cpus", &limits.cpuset_cpus),
            ("cpuset-mems", &limits.cpuset_mems),
        ] {
            if let Some(v) = v {
                args.push(format!("--{flag}"));
                args.push(v.clone());
            }
        }
        args.push(id.to_string());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&refs).map(drop)
    }

    /// Removes the runtime's state of `id` (and its cgroup); `force` kills it first.
    /// A container the runtime does not know is already deleted.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        // runc, crun and youki keep a container's state in `<root>/<id>`: without it there is
        // nothing to delete (the monitor deleted it when the process ended), and asking would
        // cost a runtime process per removal.
        if !id.is_empty() && !id.contains('/') && !self.root.join(id).exists() {
            return Ok(());
        }
        let r = if force {
            self.run(&["delete", "--force", id])
        } else {
            self.run(&["delete", id])
        };
        match r {
            Err(RuntimeError::Runtime { msg }) if msg.contains("does not exist") => Ok(()),
            r => r.map(drop),
        }
    }
}

/// The limits [`Runtime::update`] changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateLimits {
    /// Memory limit in bytes.
    pub memory: Option<i64>,
    /// Memory plus swap limit in bytes.
    pub memory_swap: Option<i64>,
    /// CFS period in microseconds.
    pub cpu_period: Option<i64>,
    /// CFS quota in microseconds.
    pub cpu_quota: Option<i64>,
    /// Maximum number of processes (`-1`: unlimited).
    pub pids_limit: Option<i64>,
    /// Memory soft limit in bytes.
    pub memory_reservation: Option<i64>,
    /// CPU shares (relative weight).
    pub cpu_shares: Option<i64>,
    /// CPUs the processes may run on (`0-1`).
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the processes may use.
    pub cpuset_mems: Option<String>,
}

/// Makes a directory holding a root with busybox's applets linked into `bin/` (those named in
/// `applets`, or all of them when empty): a real shell for tests and the probe.
pub fn busybox_rootfs(dir: &Path, applets: &[&str]) -> Result<()> {
    let io = |ctx: String| move |e| RuntimeError::io(ctx, e);
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).map_err(io(format!("create {}", bin.display())))?;
    for d in ["proc", "sys", "dev", "etc", "tmp", "root"] {
        std::fs::create_dir_all(dir.join(d)).map_err(io(format!("create {d}")))?;
    }
    let target = bin.join("busybox");
    if std::fs::hard_link("/bin/busybox", &target).is_err() {
        std::fs::copy("/bin/busybox", &target).map_err(io("copy /bin/busybox".into()))?;
    }
    let all;
    let names: Vec<&str> = if applets.is_empty() {
        let out = Command::new("/bin/busybox")
            .arg("--list")
            .output()
            .map_err(io("run busybox --list".into()))?;
        all = String::from_utf8_lossy(&out.stdout).into_owned();
        all.lines().collect()
    } else {
        applets.to_vec()
    };
    for a in names {
        if a == "busybox" {
            continue;
        }
        let _ = std::os::unix::fs::symlink("busybox", bin.join(a));
    }
    Ok(())
}

fn probe_one(name: &str, state_root: &Path, cgroup_parent: &str) -> ProbeResult {
    let rt = match Runtime::named(name, state_root) {
        Ok(rt) => rt,
        Err(_) => {
            return ProbeResult {
                name: name.into(),
                binary: None,
                error: Some("not installed".into()),
            }
        }
    };
    let binary = Some(rt.binary.clone());
    let error = probe_run(&rt, state_root, cgroup_parent).err();
    ProbeResult {
        name: rt.name,
        binary,
        error,
    }
}

/// Probes made by this process, so two at once never share a bundle, an ID or a cgroup.
static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn probe_run(rt: &Runtime, state_root: &Path, cgroup_parent: &str) -> Result<(), String> {
    let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let bundle = state_root.join(format!("probe-{}-{}-{n}", rt.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&bundle);
    let id = format!("strata-probe-{}-{n}", std::process::id());
    let result = (|| -> Result<(), String> {
        let rootfs = bundle.join("rootfs");
        busybox_rootfs(&rootfs, &["true"]).map_err(|e| e.to_string())?;
        let s = spec::build(&SpecOptions {
            id: id.clone(),
            rootfs: rootfs.clone(),
            args: vec!["/bin/true".into()],
            cgroups_path: format!("/{}/{id}", cgroup_parent.trim_matches('/')),
            cgroup_v2: crate::cgroup::is_v2(),
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
        spec::write_bundle(&bundle, &s).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&rt.root).map_err(|e| e.to_string())?;
        let out = rt
            .command()
            .arg("run")
            .arg("--bundle")
            .arg(&bundle)
            .arg(&id)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run {}: {e}", rt.binary.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            let err = first_line(&String::from_utf8_lossy(&out.stderr));
            Err(if err.is_empty() {
                format!("exited with {}", out.status)
            } else {
                err
            })
        }
    })();
    let _ = rt.delete(&id, true);
    let _ = std::fs::remove_dir_all(&bundle);
    result
}

/// Probes the runtimes `names` (in order; [`KNOWN_RUNTIMES`] when empty) by really running
/// busybox's `true` in a temporary bundle under `state_root`, in a cgroup under
/// `cgroup_parent` (the containers' parent: the caller holds what keeps it from being removed
/// meanwhile). Returns the first that works and what was found for each one tried.
pub fn probe(
    state_root: &Path,
    names: &[&str],
    cgroup_parent: &str,
) -> (Option<Runtime>, Vec<ProbeResult>) {
    let names = if names.is_empty() {
        &KNOWN_RUNTIMES[..]
    } else {
        names
    };
    let mut results = Vec::new();
    for n in names {
        let r = probe_one(n, state_root, cgroup_parent);
        let ok = r.error.is_none();
        results.push(r);
        if ok {
            let rt = Runtime::named(n, state_root).ok();
            return (rt, results);
        }
    }
    (None, results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_error_lines() {
        assert_eq!(
            first_line(
                "time=\"2026-12-05T00:28:41Z\" level=error msg=\"container does not exist\"\n"
            ),
            "container does not exist"
        );
        assert_eq!(
            first_line("\ncgroups in hybrid mode not supported\nmore"),
            "cgroups in hybrid mode not supported"
        );
    }

    #[test]
    fn delete_asks_the_runtime_only_for_a_container_it_keeps_state_for() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let calls = dir.path().join("calls");
        let bin = dir.path().join("fake-runtime");
        std::fs::write(
            &bin,
            format!("#!/bin/sh\necho \"$*\" >> '{}'\n", calls.display()),
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let rt = Runtime {
            name: "runc".into(),
            binary: bin,
            root: dir.path().join("state"),
        };
        rt.delete("gone", true).unwrap();
        assert!(
            !calls.exists(),
            "a runtime process for a container without state"
        );
        std::fs::create_dir_all(rt.root.join("kept")).unwrap();
        rt.delete("kept", true).unwrap();
        let said = std::fs::read_to_string(&calls).unwrap();
        assert!(said.contains("delete --force kept"), "{said}");
    }
}
