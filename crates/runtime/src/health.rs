//! `health`: a container's health check, run by its monitor as moby's health monitor runs it.
//!
//! Every interval (the start interval during the start period) the check's command runs in the
//! container through the runtime's `exec` (the process as `exec` would run it: the
//! container's user, environment, working directory and capabilities, from the template the
//! engine wrote), with a timeout; exit 0 is healthy, anything else (a timeout, a command that
//! cannot start) a failure. A failure counts towards `retries` unless the container is still
//! `starting` inside its start period; `retries` failures in a row make it `unhealthy`, one
//! success `healthy`. The last five results are kept with up to 4096 bytes of output each.
//! The state is [`STATE_FILE`] in the container's directory, written atomically after each
//! check, read by whoever shows the container.

use crate::driver::Runtime;
use crate::logfile;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The check's configuration, in the container's directory (written by the engine at start).
pub const CONFIG_FILE: &str = "healthcheck.json";
/// The process template the check's command runs with (an OCI `process`, `args` replaced).
pub const PROCESS_FILE: &str = "health-process.json";
/// The health state, in the container's directory.
pub const STATE_FILE: &str = "health.json";

/// Results kept in the state (moby's `maxLogEntries`).
pub const MAX_LOG_ENTRIES: usize = 5;
/// Bytes of a check's output kept (moby's `maxOutputLen`).
pub const MAX_OUTPUT_LEN: usize = 4096;

/// A health check, its durations resolved (moby's defaults for those not given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthConfig {
    /// The command's argv (a `CMD-SHELL` already given to the shell).
    pub argv: Vec<String>,
    /// Between checks.
    pub interval: Duration,
    /// How long one check may run.
    pub timeout: Duration,
    /// Failures in this first stretch of the run do not count while `starting`.
    pub start_period: Duration,
    /// Between checks during the start period.
    pub start_interval: Duration,
    /// Failures in a row that make the container unhealthy.
    pub retries: u32,
}

/// One check's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResult {
    /// RFC 3339 with nanoseconds.
    pub start: String,
    /// RFC 3339 with nanoseconds.
    pub end: String,
    /// The command's exit code; -1 when it timed out or could not run.
    pub exit_code: i32,
    /// Its output (stdout and stderr), at most [`MAX_OUTPUT_LEN`] bytes.
    pub output: String,
}

/// The health of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthState {
    /// `starting`, `healthy` or `unhealthy`.
    pub status: String,
    /// Failures in a row that counted.
    pub failing_streak: u32,
    /// The last results, oldest first.
    pub log: Vec<HealthResult>,
}

impl HealthState {
    /// The state a run starts in.
    pub fn starting() -> HealthState {
        HealthState {
            status: "starting".into(),
            ..Default::default()
        }
    }

    /// Takes one result as moby's `handleProbeResult` does; `in_start_period`: the check
    /// began within the start period of the run.
    pub fn record(&mut self, result: HealthResult, retries: u32, in_start_period: bool) {
        if result.exit_code == 0 {
            self.failing_streak = 0;
            self.status = "healthy".into();
        } else if !(self.status == "starting" && in_start_period) {
            self.failing_streak += 1;
            if self.failing_streak >= retries {
                self.status = "unhealthy".into();
            }
        }
        self.log.push(result);
        if self.log.len() > MAX_LOG_ENTRIES {
            let extra = self.log.len() - MAX_LOG_ENTRIES;
            self.log.drain(..extra);
        }
    }
}

/// What the engine writes for the monitor ([`CONFIG_FILE`]): the check, and the command run
/// with the new status appended each time the status changes (the `health_status` event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckFile {
    /// The check.
    pub check: HealthConfig,
    /// The command told of each new status (empty: none).
    pub on_change: Vec<String>,
}

/// The monitor's health thread.
pub struct Checker {
    stop: std::sync::Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
    dir: PathBuf,
}

impl Checker {
    /// Starts checking container `id` when its directory holds a check ([`CONFIG_FILE`]).
    pub fn start(runtime: &Runtime, id: &str, dir: &Path) -> Option<Checker> {
        let file: CheckFile =
            serde_json::from_slice(&std::fs::read(dir.join(CONFIG_FILE)).ok()?).ok()?;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (runtime, id, d, flag) = (
            runtime.clone(),
            id.to_string(),
            dir.to_path_buf(),
            stop.clone(),
        );
        let thread = std::thread::spawn(move || run(&runtime, &id, &d, &file, &flag));
        Some(Checker {
            stop,
            thread,
            dir: dir.to_path_buf(),
        })
    }

    /// The process ended: stops checking; the health of a stopped container is `unhealthy`,
    /// its log kept, as moby leaves it.
    pub fn finish(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
        if let Some(mut st) = read(&self.dir) {
            st.status = "unhealthy".into();
            write(&self.dir, &st);
        }
    }
}

/// Reads the health state in `dir`, if any.
pub fn read(dir: &Path) -> Option<HealthState> {
    let b = std::fs::read(dir.join(STATE_FILE)).ok()?;
    serde_json::from_slice(&b).ok()
}

fn write(dir: &Path, st: &HealthState) {
    let tmp = dir.join(format!(".{STATE_FILE}.{}", std::process::id()));
    if let Ok(body) = serde_json::to_vec(st) {
        if std::fs::write(&tmp, body).is_ok() {
            let _ = std::fs::rename(&tmp, dir.join(STATE_FILE));
        }
    }
}

/// Runs the checks of the container `id` until `stop` is set (its process ended): the
/// monitor's health thread. `dir` is the container's directory.
fn run(runtime: &Runtime, id: &str, dir: &Path, file: &CheckFile, stop: &AtomicBool) {
    let cfg = &file.check;
    let started = Instant::now();
    let mut st = HealthState::starting();
    write(dir, &st);
    loop {
        let in_start = started.elapsed() < cfg.start_period;
        let wait = if in_start && st.status == "starting" {
            cfg.start_interval
        } else {
            cfg.interval
        };
        let until = Instant::now() + wait;
        while Instant::now() < until {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let in_start_period = started.elapsed() < cfg.start_period;
        let result = probe(runtime, id, dir, cfg, stop);
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let before = st.status.clone();
        st.record(result, cfg.retries, in_start_period);
        write(dir, &st);
        if st.status != before {
            if let Some((prog, args)) = file.on_change.split_first() {
                // reaped by the monitor's main thread
                let _ = Command::new(prog)
                    .args(args)
                    .arg(&st.status)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .spawn();
            }
        }
    }
}

/// Runs the check's command once.
fn probe(
    runtime: &Runtime,
    id: &str,
    dir: &Path,
    cfg: &HealthConfig,
    stop: &AtomicBool,
) -> HealthResult {
    let start = logfile::now();
    let (exit_code, output) = match exec(runtime, id, dir, cfg, stop) {
        Ok(r) => r,
        Err(e) => (-1, e),
    };
    HealthResult {
        start,
        end: logfile::now(),
        exit_code,
        output,
    }
}

/// The check's exit code and output; an error text when it could not run.
fn exec(
    runtime: &Runtime,
    id: &str,
    dir: &Path,
    cfg: &HealthConfig,
    stop: &AtomicBool,
) -> Result<(i32, String), String> {
    let template = std::fs::read(dir.join(PROCESS_FILE)).map_err(|e| e.to_string())?;
    let mut process: serde_json::Value =
        serde_json::from_slice(&template).map_err(|e| e.to_string())?;
    process["args"] = serde_json::json!(cfg.argv);
    process["terminal"] = serde_json::json!(false);
    let n = std::process::id();
    let files = |ext: &str| -> PathBuf { dir.join(format!("health-probe-{n}.{ext}")) };
    let (pj, pid_file, log) = (files("json"), files("pid"), files("log"));
    let _ = std::fs::remove_file(&pid_file);
    std::fs::write(&pj, process.to_string()).map_err(|e| e.to_string())?;
    let clean = || {
        for f in [&pj, &pid_file, &log] {
            let _ = std::fs::remove_file(f);
        }
    };
    let mut child = match runtime
        .exec_logged(id, &pj, &pid_file, &log, false)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            clean();
            return Err(e.to_string());
        }
    };
    // Both streams into one bounded buffer, read as they come so the command never blocks.
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut pipe| {
        let out = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                let room = MAX_OUTPUT_LEN.saturating_sub(o.len());
                o.extend_from_slice(&buf[..n.min(room)]);
            }
        })
    })
    .collect();
    let deadline = Instant::now() + cfg.timeout;
    let child_pid = child.id() as i32;
    let code = loop {
        // In the monitor, its main thread reaps every child: this one's code is then there.
        let done = match child.try_wait() {
            Ok(Some(s)) => Some(exit_code(s)),
            Ok(None) => None,
            Err(_) => crate::monitor::take_reaped(child_pid),
        };
        match done {
            Some(c) => break Some(c),
            None if Instant::now() >= deadline || stop.load(Ordering::SeqCst) => break None,
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let timed_out = code.is_none();
    if timed_out {
        // the check's process itself (the runtime's `exec` only waits for it)
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .filter(|p| *p > 0)
        {
            // SAFETY: a signal to the process the runtime reported for this check.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    for r in readers {
        let _ = r.join();
    }
    let started = pid_file.exists();
    let runtime_error = std::fs::read_to_string(&log).ok().and_then(|l| {
        l.lines().rev().find_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            (v["level"] == "error").then(|| v["msg"].as_str().map(str::to_string))?
        })
    });
    clean();
    let output =
        String::from_utf8_lossy(&out.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    if timed_out {
        return Ok((
            -1,
            format!(
                "Health check exceeded timeout ({})",
                go_duration(cfg.timeout)
            ),
        ));
    }
    if !started {
        return Err(runtime_error.unwrap_or(output));
    }
    Ok((code.expect("not timed out"), output))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// A duration as Go's `time.Duration.String` writes it (`30s`, `1m30s`, `500ms`, `1h0m0s`).
pub fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000_000_000 {
        let (unit, div) = if ns < 1_000 {
            ("ns", 1)
        } else if ns < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", trim_fraction(ns, div));
    }
    let secs = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let s = if frac == 0 {
        format!("{s}s")
    } else {
        format!(
            "{}s",
            trim_fraction(s * 1_000_000_000 + frac, 1_000_000_000)
        )
    };
    if h > 0 {
        format!("{h}h{m}m{s}")
    } else if m > 0 {
        format!("{m}m{s}")
    } else {
        s
    }
}

/// `n / div` with its fraction, trailing zeros dropped (`1.5`, `2`).
fn trim_fraction(n: u128, div: u128) -> String {
    let (whole, frac) = (n / div, n % div);
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{frac:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(code: i32) -> HealthResult {
        HealthResult {
            exit_code: code,
            ..Default::default()
        }
    }

    #[test]
    fn results_move_the_status_as_moby_does() {
        let mut st = HealthState::starting();
        // failures inside the start period do not count while starting
        st.record(result(1), 3, true);
        st.record(result(1), 3, true);
        assert_eq!((st.status.as_str(), st.failing_streak), ("starting", 0));
        st.record(result(0), 3, true);
        assert_eq!((st.status.as_str(), st.failing_streak), ("healthy", 0));
        // once healthy, a failure counts even in the start period
        st.record(result(1), 3, true);
        st.record(result(2), 3, false);
        assert_eq!((st.status.as_str(), st.failing_streak), ("healthy", 2));
        st.record(result(-1), 3, false);
        assert_eq!((st.status.as_str(), st.failing_streak), ("unhealthy", 3));
        st.record(result(0), 3, false);
        assert_eq!((st.status.as_str(), st.failing_streak), ("healthy", 0));
        assert_eq!(st.log.len(), MAX_LOG_ENTRIES, "the last five");
        assert_eq!(st.log.last().unwrap().exit_code, 0);
        // starting, out of the start period: failures count
        let mut st = HealthState::starting();
        st.record(result(1), 1, false);
        assert_eq!(st.status, "unhealthy");
    }

    #[test]
    fn durations_as_go_prints_them() {
        let d = |ms: u64| go_duration(Duration::from_millis(ms));
        assert_eq!(d(30_000), "30s");
        assert_eq!(d(90_000), "1m30s");
        assert_eq!(d(500), "500ms");
        assert_eq!(d(1_500), "1.5s");
        assert_eq!(d(3_600_000), "1h0m0s");
        assert_eq!(go_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }
}
