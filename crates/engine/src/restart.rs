//! Restart policies (`--restart no|always|unless-stopped|on-failure[:N]`), applied as moby's
//! restart manager applies them, by the clean-up the monitor runs after each end of the
//! container's process (`strata container-exited`), so they hold with or without a server.
//!
//! After an end, [`decide`] says whether the policy restarts the container and after what
//! delay: 100 ms, doubled at each restart up to one minute, back to 100 ms once a run lasted
//! 10 s. The clean-up then marks the container `restarting` (the file `restarting` in its run
//! directory, naming the waiting process), waits, and starts it again. A `stop`, a `kill` with
//! SIGKILL or the stop signal, or an `rm -f` cancels: they mark the record `canceled` (so an
//! end still to come restarts nothing) and take the marker away under its lock (so a wait in
//! progress starts nothing); a start already under way finishes first and is then stopped
//! like any run. Any `kill` or `stop` marks the container manually stopped, which
//! `unless-stopped` respects; the user's next `start` clears both and the restart count.
//!
//! A run lost with its monitor (the host went down) had no clean-up, so no policy was applied
//! to it; [`Engine::restart_lost`] applies them when `strata serve` starts, as moby's daemon
//! does when it starts.

use crate::{ContainerInfo, Engine, EngineError, RestartPolicy, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The restart bookkeeping in a container's run directory.
const RECORD: &str = "restart.json";
/// Present while a restart waits or starts: the waiting process's PID.
const MARKER: &str = "restarting";
/// Made by a removal before anything else: no restart starts the container after it.
const REMOVING: &str = "removing";

/// The first delay before a restart.
const FIRST_DELAY_MS: u64 = 100;
/// The longest delay before a restart.
const MAX_DELAY_MS: u64 = 60_000;
/// A run at least this long resets the delay.
const RESET_AFTER: Duration = Duration::from_secs(10);

/// What the restart manager remembers between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RestartRecord {
    /// Restarts made by the policy since the user's last `start` (`RestartCount`).
    pub count: u32,
    /// The delay before the last restart, in milliseconds (0: none yet).
    pub delay_ms: u64,
    /// A `kill` or `stop` was asked since the last `start` (`unless-stopped` then stays down).
    pub manually_stopped: bool,
    /// A `stop`, a `kill` with SIGKILL or the stop signal, or an `rm -f` was asked: no restart.
    pub canceled: bool,
    /// The end the last restart followed: its exit code and time (RFC 3339), which the
    /// restarted run keeps showing as moby's does (`FinishedAt`), so a waiter that missed the
    /// short restart still sees that the container ended, and how.
    pub last_exit_code: i32,
    /// See [`RestartRecord::last_exit_code`].
    pub last_finished_at: Option<String>,
}

impl RestartPolicy {
    /// `no` or none.
    pub fn is_none(&self) -> bool {
        matches!(self.name.as_str(), "" | "no")
    }
}

/// Whether a run that ended with `exit_code` after `ran` is restarted, and after how long:
/// moby's `RestartManager.ShouldRestart`. `rec` is updated as moby updates its manager (the
/// delay grows even when the policy says no, the count only with a restart).
pub(crate) fn decide(
    policy: &RestartPolicy,
    rec: &mut RestartRecord,
    exit_code: i32,
    ran: Duration,
) -> Option<Duration> {
    if policy.is_none() || rec.canceled {
        return None;
    }
    if ran >= RESET_AFTER {
        rec.delay_ms = 0;
    }
    rec.delay_ms = match rec.delay_ms {
        0 => FIRST_DELAY_MS,
        d if d < MAX_DELAY_MS => d * 2,
        d => d,
    }
    .min(MAX_DELAY_MS);
    let restart = match policy.name.as_str() {
        "always" => true,
        "unless-stopped" => !rec.manually_stopped,
        "on-failure" => {
            let max = policy.max_retries;
            (max <= 0 || i64::from(rec.count) < max) && exit_code != 0
        }
        _ => false,
    };
    if !restart {
        return None;
    }
    rec.count += 1;
    Some(Duration::from_millis(rec.delay_ms))
}

/// The record in `dir` (the default when there is none or it cannot be read).
pub(crate) fn read_record(dir: &Path) -> RestartRecord {
    fs::read(dir.join(RECORD))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_record(dir: &Path, rec: &RestartRecord) -> Result<()> {
    let tmp = dir.join(format!(".{RECORD}.{}", std::process::id()));
    let body = serde_json::to_vec(rec).map_err(|e| EngineError::invalid(e.to_string()))?;
    fs::write(&tmp, body)
        .and_then(|_| fs::rename(&tmp, dir.join(RECORD)))
        .map_err(|e| EngineError::io("write the restart record", e))
}

/// Whether a restart waits or starts now: the marker names a live process.
pub(crate) fn is_restarting(dir: &Path) -> bool {
    fs::read_to_string(dir.join(MARKER))
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .is_some_and(runtime::state::alive)
}

/// The marker, held by the process that made it.
struct Marker {
    path: PathBuf,
    file: fs::File,
}

impl Marker {
    /// Makes the marker naming this process (one left by a process that is gone is replaced).
    fn make(dir: &Path) -> Result<Marker> {
        let path = dir.join(MARKER);
        let tmp = dir.join(format!(".{MARKER}.{}", std::process::id()));
        fs::write(&tmp, std::process::id().to_string())
            .and_then(|_| fs::rename(&tmp, &path))
            .map_err(|e| EngineError::io("mark the container restarting", e))?;
        let file = fs::File::open(&path).map_err(|e| EngineError::io("open the marker", e))?;
        Ok(Marker { path, file })
    }

    /// Whether the marker is still this one (a cancel removes it).
    fn is_current(&self) -> bool {
        match (fs::metadata(&self.path), self.file.metadata()) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        }
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        if self.is_current() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Cancels a pending restart in `dir`: waits for a start under way to finish (the marker's
/// lock), then removes the marker. Whether one was pending.
fn cancel_pending(dir: &Path) -> bool {
    let path = dir.join(MARKER);
    let Ok(f) = fs::File::open(&path) else {
        return false;
    };
    let _ = f.lock();
    let same = matches!((fs::metadata(&path), f.metadata()), (Ok(a), Ok(b)) if a.ino() == b.ino());
    if same {
        let _ = fs::remove_file(&path);
    }
    same
}

impl Engine {
    /// Restarts of this container by its policy since the user's last `start`.
    pub fn restart_count(&self, c: &ContainerInfo) -> u32 {
        read_record(&self.container_dir(&c.id)).count
    }

    /// The user's `start`: the policy's count, delay and stops are forgotten.
    pub(crate) fn reset_restarts(&self, id: &str) {
        let dir = self.container_dir(id);
        if dir.join(RECORD).exists() {
            let _ = fs::remove_file(dir.join(RECORD));
        }
    }

    /// A removal is under way: no restart by the policy starts the container any more (one
    /// deciding now, before its marker exists, included), and one starting now has finished
    /// when this returns (the marker's lock), so the removal sees its process and ends it.
    /// [`Engine::removal_failed`] undoes the mark.
    pub(crate) fn removing(&self, id: &str) -> Result<()> {
        let dir = self.container_dir(id);
        fs::write(dir.join(REMOVING), b"").map_err(|e| EngineError::io("mark the removal", e))?;
        self.stopped_by_user(id, true)?;
        Ok(())
    }

    /// A removal that failed before the container went: its restarts are the policy's again.
    pub(crate) fn removal_failed(&self, id: &str) {
        let _ = fs::remove_file(self.container_dir(id).join(REMOVING));
    }

    /// A `kill` or `stop` was asked: marks the container manually stopped and, with `cancel`
    /// (`stop`, SIGKILL or the stop signal, `rm -f`), cancels restarts, a pending one
    /// included. Whether a pending restart was canceled.
    pub(crate) fn stopped_by_user(&self, id: &str, cancel: bool) -> Result<bool> {
        let dir = self.container_dir(id);
        let mut rec = read_record(&dir);
        rec.manually_stopped = true;
        rec.canceled |= cancel;
        write_record(&dir, &rec)?;
        Ok(cancel && cancel_pending(&dir))
    }

    /// After an end of the container's process (its clean-up, in the monitor's hook): the
    /// restart policy's turn. Waits out the delay as `restarting`, then starts the container
    /// again, unless canceled meanwhile.
    pub(crate) fn restart_by_policy(&self, c: &ContainerInfo) -> Result<()> {
        let rc = self.run_config(c)?;
        if rc.restart.is_none() {
            return Ok(());
        }
        let dir = self.container_dir(&c.id);
        let Some(st) = runtime::state::read(&self.container_dir(&c.id))? else {
            return Ok(());
        };
        if st.status != runtime::state::Status::Exited {
            return Ok(());
        }
        let ran = match (&st.started_at, &st.finished_at) {
            (Some(a), Some(b)) => elapsed(a, b),
            _ => Duration::ZERO,
        };
        let mut rec = read_record(&dir);
        let decision = decide(&rc.restart, &mut rec, st.exit_code.unwrap_or(0), ran);
        if decision.is_some() {
            rec.last_exit_code = st.exit_code.unwrap_or(0);
            rec.last_finished_at = st.finished_at.clone();
        }
        if decision.is_some() {
            crate::failpoint("restart:decided");
        }
        let marker = match decision {
            Some(_) => Some(Marker::make(&dir)?),
            None => None,
        };
        write_record(&dir, &rec)?;
        let (Some(delay), Some(marker)) = (decision, marker) else {
            return Ok(());
        };
        let until = std::time::Instant::now() + delay;
        while std::time::Instant::now() < until {
            if !marker.is_current() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20).min(delay));
        }
        let _ = marker.file.lock();
        // A removal marks the container before it cancels (which waits for this lock): seen
        // here, nothing starts; not seen, the removal waits for this start and ends it.
        if !marker.is_current() || dir.join(REMOVING).exists() {
            return Ok(());
        }
        if let Some(mut s) = self.start_container_by(&c.id, false, true)? {
            self.await_start(&c.id, &mut s)?;
        }
        Ok(())
    }
}

impl Engine {
    /// What a daemon's start does in moby: the containers whose process was lost while they
    /// ran (the host went down, or their monitor was killed, so no clean-up ran and no policy
    /// was applied; `runtime::state::ContainerState::lost`, ended with `LOST_EXIT_CODE`, a
    /// failure) are given to their restart policy as any end is: `always`, `unless-stopped`
    /// (a running container was not stopped by hand), and `on-failure` within its count are
    /// started again. A container that was not running when it was lost is left as it is
    /// (moby would also start an `always` container stopped by hand). Each is restarted on a
    /// thread of its own, so a long backoff delays only its container; returns the IDs
    /// restarted.
    pub fn restart_lost(&self) -> Result<Vec<String>> {
        let mut lost = Vec::new();
        for c in self.containers()? {
            let Ok(rc) = self.run_config(&c) else {
                continue;
            };
            if rc.restart.is_none() {
                continue;
            }
            // Reconciled with the runtime first (a run whose monitor is gone is recorded as
            // ended, and lost), whoever reads it first: this, or any command before.
            if !matches!(self.process_state(&c), Ok(p) if !p.is_running()) {
                continue;
            }
            if matches!(runtime::state::read(&self.container_dir(&c.id)), Ok(Some(st)) if st.lost) {
                lost.push(c);
            }
        }
        let restarted = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for c in &lost {
                let restarted = &restarted;
                s.spawn(move || {
                    let before = self.restart_count(c);
                    match self.restart_by_policy(c) {
                        Ok(()) if self.restart_count(c) > before => {
                            restarted
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(c.id.clone());
                        }
                        Ok(()) => {}
                        Err(e) => crate::warn(&format!("restart {}: {e}", c.name)),
                    }
                });
            }
        });
        Ok(restarted.into_inner().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The time between two RFC 3339 instants (zero when either cannot be read or they are
/// out of order).
fn elapsed(from: &str, to: &str) -> Duration {
    let t = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
    };
    match (t(from), t(to)) {
        (Some(a), Some(b)) if b > a => (b - a).try_into().unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, max: i64) -> RestartPolicy {
        RestartPolicy {
            name: name.into(),
            max_retries: max,
        }
    }

    #[test]
    fn the_delay_doubles_from_100ms_to_a_minute_and_resets_after_10s_of_running() {
        let p = policy("always", 0);
        let mut rec = RestartRecord::default();
        let short = Duration::from_secs(1);
        let delays: Vec<u64> = (0..12)
            .map(|_| decide(&p, &mut rec, 0, short).unwrap().as_millis() as u64)
            .collect();
        assert_eq!(
            delays,
            [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]
        );
        assert_eq!(rec.count, 12);
        assert_eq!(
            decide(&p, &mut rec, 0, Duration::from_secs(10)),
            Some(Duration::from_millis(100))
        );
    }

    #[test]
    fn each_policy_restarts_as_moby_does() {
        let short = Duration::from_millis(5);
        let mut rec = RestartRecord::default();
        assert_eq!(decide(&policy("no", 0), &mut rec, 1, short), None);
        assert_eq!(decide(&policy("", 0), &mut rec, 1, short), None);
        assert_eq!(rec, RestartRecord::default(), "no policy: nothing counted");

        for code in [0, 1, 137] {
            let mut rec = RestartRecord::default();
            assert!(decide(&policy("always", 0), &mut rec, code, short).is_some());
            let mut rec = RestartRecord {
                manually_stopped: true,
                ..Default::default()
            };
            assert!(
                decide(&policy("always", 0), &mut rec, code, short).is_some(),
                "always restarts after a kill with another signal"
            );
            assert!(decide(&policy("unless-stopped", 0), &mut rec, code, short).is_none());
        }

        let p = policy("on-failure", 2);
        let mut rec = RestartRecord::default();
        assert!(
            decide(&p, &mut rec, 0, short).is_none(),
            "a success ends it"
        );
        assert!(decide(&p, &mut rec, 3, short).is_some());
        assert!(decide(&p, &mut rec, 3, short).is_some());
        assert!(
            decide(&p, &mut rec, 3, short).is_none(),
            "two retries, then no more"
        );
        assert_eq!(rec.count, 2);
        let mut rec = RestartRecord::default();
        for _ in 0..20 {
            assert!(decide(&policy("on-failure", 0), &mut rec, 1, short).is_some());
        }

        let mut rec = RestartRecord {
            canceled: true,
            ..Default::default()
        };
        assert!(decide(&policy("always", 0), &mut rec, 1, short).is_none());
    }

    #[test]
    fn a_canceled_marker_is_no_longer_current_and_a_dead_waiter_is_not_restarting() {
        let d = tempfile::tempdir().unwrap();
        let m = Marker::make(d.path()).unwrap();
        assert!(m.is_current());
        assert!(is_restarting(d.path()));
        assert!(cancel_pending(d.path()));
        assert!(!m.is_current());
        assert!(!is_restarting(d.path()));
        assert!(!cancel_pending(d.path()), "nothing left to cancel");
        drop(m);
        fs::write(d.path().join(MARKER), "2147483646").unwrap();
        assert!(!is_restarting(d.path()), "a marker whose process is gone");
    }
}
