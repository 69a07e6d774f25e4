//! `state`: the monitor's record of a container (`state.json` in its directory), written
//! atomically, and the reconciliation of that record with the runtime after a crash.

use crate::driver::Runtime;
use crate::{Result, RuntimeError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file name of the state record in a container's directory.
pub const STATE_FILE: &str = "state.json";

/// The exit code recorded for a container whose monitor died before seeing it end
/// (what Docker shows for a task lost with its shim).
pub const LOST_EXIT_CODE: i32 = 255;

/// Where a container is in its life, as the monitor saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Created by the runtime (or failed to start: then `error` says why).
    #[default]
    Created,
    /// Its process runs.
    Running,
    /// Its process ended.
    Exited,
}

/// The state record of one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ContainerState {
    /// Where it is.
    pub status: Status,
    /// Its init process on the host (0 when none).
    pub pid: i32,
    /// The monitor's process ID.
    pub monitor_pid: i32,
    /// The monitor's start time (clock ticks since boot, `/proc/<pid>/stat`), so a PID reused
    /// after a reboot is not taken for it; 0 when unknown.
    #[serde(default)]
    pub monitor_start: u64,
    /// The exit code, once known (126/127 when the command could not start).
    pub exit_code: Option<i32>,
    /// RFC 3339 with nanoseconds, when it started.
    pub started_at: Option<String>,
    /// RFC 3339 with nanoseconds, when it ended.
    pub finished_at: Option<String>,
    /// Whether the kernel's OOM killer ended it.
    pub oom_killed: bool,
    /// Why it could not start.
    pub error: Option<String>,
    /// The runtime that runs it (its name, binary and `--root`), so later commands ask the
    /// same one whatever is chosen by then.
    #[serde(default)]
    pub runtime: Option<RuntimeRef>,
    /// The run was lost: its monitor was gone while the record still said `running` (the host
    /// went down, or the monitor was killed), so the clean-up after its end never ran and its
    /// restart policy was not applied. A new run's record starts without it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lost: bool,
}

/// Which runtime a container's record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeRef {
    /// `runc`, `crun`, `youki`.
    pub name: String,
    /// The binary.
    pub binary: std::path::PathBuf,
    /// Its `--root`.
    pub root: std::path::PathBuf,
}

impl RuntimeRef {
    /// The runtime itself.
    pub fn runtime(&self) -> Runtime {
        Runtime {
            name: self.name.clone(),
            binary: self.binary.clone(),
            root: self.root.clone(),
        }
    }
}

/// Reads the record in `dir`; `None` when there is none.
pub fn read(dir: &Path) -> Result<Option<ContainerState>> {
    let p = dir.join(STATE_FILE);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| RuntimeError::Invalid(format!("{}: {e}", p.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RuntimeError::io(format!("read {}", p.display()), e)),
    }
}

/// Writes the record into `dir` atomically (a temporary file, fsynced, renamed).
pub fn write(dir: &Path, st: &ContainerState) -> Result<()> {
    use std::io::Write;
    let tmp = dir.join(format!(".{STATE_FILE}.{}", std::process::id()));
    let p = dir.join(STATE_FILE);
    let body = serde_json::to_vec(st).map_err(|e| RuntimeError::Invalid(e.to_string()))?;
    let mut f = std::fs::File::create(&tmp)
        .map_err(|e| RuntimeError::io(format!("create {}", tmp.display()), e))?;
    f.write_all(&body)
        .and_then(|_| f.sync_all())
        .map_err(|e| RuntimeError::io(format!("write {}", tmp.display()), e))?;
    std::fs::rename(&tmp, &p).map_err(|e| RuntimeError::io(format!("rename {}", p.display()), e))
}

/// Whether process `pid` exists.
pub fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// The start time of process `pid` in clock ticks since boot, and whether it is a zombie.
pub fn process_start(pid: i32) -> Option<(u64, bool)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = s.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, starttime field 22.
    Some((f.get(19)?.parse().ok()?, f.first() == Some(&"Z")))
}

/// Whether the record's monitor still runs: its PID alive, not a zombie, and (when recorded)
/// started when the monitor did.
pub fn monitor_alive(st: &ContainerState) -> bool {
    if !alive(st.monitor_pid) {
        return false;
    }
    match process_start(st.monitor_pid) {
        Some((start, zombie)) => !zombie && (st.monitor_start == 0 || st.monitor_start == start),
        None => false,
    }
}

/// The record of `dir` made true again after a crash: while the monitor lives the record is
/// its own; when it is gone, the runtime's `state` decides — a process still running stays
/// `running`, anything else is `exited` (with [`LOST_EXIT_CODE`] when the code was never
/// seen) and the runtime's leftovers (state, cgroup) are deleted. The corrected record is
/// written back.
pub fn reconcile(
    dir: &Path,
    runtime: &Runtime,
    id: &str,
    now: &str,
) -> Result<Option<ContainerState>> {
    let Some(mut st) = read(dir)? else {
        return Ok(None);
    };
    if st.status != Status::Running || monitor_alive(&st) {
        return Ok(Some(st));
    }
    match runtime.state(id)? {
        Some(rs) if rs.status == "running" || rs.status == "paused" => {
            st.pid = rs.pid;
            return Ok(Some(st));
        }
        _ => {}
    }
    runtime.delete(id, true)?;
    st.status = Status::Exited;
    st.pid = 0;
    st.lost = true;
    if st.exit_code.is_none() {
        st.exit_code = Some(LOST_EXIT_CODE);
    }
    if st.finished_at.is_none() {
        st.finished_at = Some(now.to_string());
    }
    write(dir, &st)?;
    Ok(Some(st))
}

/// Waits up to `timeout` for the record in `dir` to say `exited`; the record then.
pub fn wait_exited(dir: &Path, timeout: std::time::Duration) -> Result<Option<ContainerState>> {
    let start = std::time::Instant::now();
    loop {
        if let Some(st) = read(dir)? {
            if st.status != Status::Running {
                return Ok(Some(st));
            }
        }
        if start.elapsed() >= timeout {
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Waits up to `timeout` for the container to end: the monitor's record says so, or the
/// monitor is gone and so is the process (then the reconciled record).
fn wait_end(
    dir: &Path,
    runtime: &Runtime,
    id: &str,
    timeout: std::time::Duration,
) -> Result<Option<ContainerState>> {
    let start = std::time::Instant::now();
    loop {
        if let Some(st) = read(dir)? {
            if st.status != Status::Running {
                return Ok(Some(st));
            }
            if !monitor_alive(&st) {
                let r = reconcile(dir, runtime, id, &crate::logfile::now())?;
                if r.as_ref().is_some_and(|r| r.status != Status::Running) {
                    return Ok(r);
                }
            }
        }
        if start.elapsed() >= timeout {
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Docker's `stop`: `signal` to the container's init, then after `timeout` SIGKILL to all its
/// processes (a paused container is thawed so the signals land). Returns the final record.
pub fn stop(
    dir: &Path,
    runtime: &Runtime,
    id: &str,
    signal: &str,
    timeout: std::time::Duration,
) -> Result<Option<ContainerState>> {
    let live =
        matches!(runtime.state(id)?, Some(s) if s.status == "running" || s.status == "paused");
    if !live {
        return reconcile(dir, runtime, id, &crate::logfile::now());
    }
    let thaw = |rt: &Runtime| {
        if let Ok(Some(s)) = rt.state(id) {
            if s.status == "paused" {
                let _ = rt.resume(id);
            }
        }
    };
    if !timeout.is_zero() {
        let _ = runtime.kill(id, signal, false);
        thaw(runtime);
        if let Some(st) = wait_end(dir, runtime, id, timeout)? {
            return Ok(Some(st));
        }
    }
    let _ = runtime.kill(id, "KILL", true);
    thaw(runtime);
    match wait_end(dir, runtime, id, std::time::Duration::from_secs(10))? {
        Some(st) => Ok(Some(st)),
        None => reconcile(dir, runtime, id, &crate::logfile::now()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_pid_is_not_the_monitor() {
        let me = std::process::id() as i32;
        let (start, zombie) = process_start(me).unwrap();
        assert!(!zombie && start > 0);
        let mut st = ContainerState {
            status: Status::Running,
            monitor_pid: me,
            monitor_start: start,
            ..Default::default()
        };
        assert!(monitor_alive(&st));
        st.monitor_start = start + 1;
        assert!(!monitor_alive(&st));
        st.monitor_pid = i32::MAX;
        st.monitor_start = 0;
        assert!(!monitor_alive(&st));
    }

    #[test]
    fn round_trip_and_atomic_replace() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read(d.path()).unwrap(), None);
        let st = ContainerState {
            status: Status::Exited,
            exit_code: Some(3),
            ..Default::default()
        };
        write(d.path(), &st).unwrap();
        assert_eq!(read(d.path()).unwrap(), Some(st));
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [STATE_FILE]);
    }
}
