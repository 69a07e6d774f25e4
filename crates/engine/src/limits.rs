//! A running container's resources: `stats` (its cgroups, in either layout, and its network
//! namespace's counters) and `update` (new limits through the runtime's `update`, kept in
//! `run.json` for the next start).

use crate::{Engine, EngineError, Result};
use runtime::cgroup::{self, CgroupStats};

/// One sample of a container's resources (`stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSample {
    /// When it was taken, RFC 3339 with nanoseconds.
    pub read: String,
    /// Whether the container runs (a stopped one's sample is all zeros).
    pub running: bool,
    /// Its cgroups' counters.
    pub cgroup: CgroupStats,
    /// The host's CPU time, ns, and online CPUs.
    pub system_cpu: (u64, u32),
    /// The host's memory, bytes (the limit of an unlimited container).
    pub host_memory: u64,
    /// Network interfaces of its namespace (none for `--network host`).
    pub networks: Vec<(String, [u64; 8])>,
}

impl StatsSample {
    /// The memory limit shown: the container's, else the host's memory.
    pub fn memory_limit(&self) -> u64 {
        self.cgroup.memory_limit.unwrap_or(self.host_memory)
    }
}

/// What `update` changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateOptions {
    /// `--memory` in bytes.
    pub memory: Option<i64>,
    /// `--cpus` in billionths.
    pub nano_cpus: Option<i64>,
    /// `--pids-limit` (`-1` or `0`: unlimited).
    pub pids_limit: Option<i64>,
}

impl Engine {
    /// A sample of the container's resources now.
    pub fn container_stats(&self, input: &str) -> Result<StatsSample> {
        let c = self.container(input)?;
        let p = self.process_state(&c)?;
        let mut s = StatsSample {
            read: runtime::logfile::now(),
            system_cpu: cgroup::host_cpu(),
            host_memory: cgroup::host_memory(),
            ..Default::default()
        };
        if !p.is_running() || p.pid <= 0 {
            return Ok(s);
        }
        if let Some(cg) = cgroup::stats_of(p.pid) {
            s.running = true;
            s.cgroup = cg;
            if self.run_config(&c)?.network != "host" {
                s.networks = cgroup::net_dev(p.pid);
            }
        }
        Ok(s)
    }

    /// `update`: new limits, applied to the running container through the runtime and kept
    /// for its next start, under the container's run lock. Docker's texts for a bad value.
    pub fn update_container(&self, input: &str, o: &UpdateOptions) -> Result<()> {
        let c = self.container(input)?;
        if let Some(m) = o.memory {
            if m != 0 && m < 6 * 1024 * 1024 {
                return Err(EngineError::invalid("Minimum memory limit allowed is 6MB"));
            }
        }
        if let Some(n) = o.nano_cpus {
            if n < 0 {
                return Err(EngineError::invalid(
                    "Range of CPUs is from 0.01 to the number of CPUs available",
                ));
            }
            let cpus = cgroup::host_cpu().1 as i64;
            if n > cpus * 1_000_000_000 {
                return Err(EngineError::invalid(format!(
                    "range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available"
                )));
            }
        }
        // Read, change and write the run's record under the container's lock: a concurrent
        // update (or a start reading the record) never sees half of it, and none is lost.
        let _lock = self.run_lock(&c.id)?;
        let mut rc = self.run_config(&c)?;
        let p = self.process_state(&c)?;
        if p.is_running() {
            let swap = o
                .memory
                .filter(|m| *m > 0 && cgroup::swap_limit())
                .map(|m| m * 2);
            let limits = runtime::driver::UpdateLimits {
                memory: o.memory.filter(|m| *m > 0),
                memory_swap: swap,
                cpu_period: o
                    .nano_cpus
                    .filter(|n| *n > 0)
                    .map(|_| runtime::spec::CPU_PERIOD as i64),
                cpu_quota: o.nano_cpus.filter(|n| *n > 0).map(|n| {
                    ((n as i128 * runtime::spec::CPU_PERIOD as i128 / 1_000_000_000) as i64)
                        .max(1000)
                }),
                pids_limit: o.pids_limit.map(|p| if p <= 0 { -1 } else { p }),
            };
            if limits != runtime::driver::UpdateLimits::default() {
                self.runtime_for(&c)?.update(&c.id, &limits).map_err(|e| {
                    EngineError::invalid(format!("Cannot update container {}: {e}", c.id))
                })?;
            }
        }
        if let Some(m) = o.memory {
            rc.memory = (m > 0).then_some(m);
        }
        if let Some(n) = o.nano_cpus {
            rc.nano_cpus = (n > 0).then_some(n);
        }
        if let Some(pl) = o.pids_limit {
            rc.pids_limit = (pl > 0).then_some(pl);
        }
        self.save_run_config(&c.id, &rc)?;
        self.emit(
            crate::Event::new("container", "update", c.id.clone()).with("name", c.name.clone()),
        );
        Ok(())
    }
}
