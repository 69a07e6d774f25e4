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
    /// `--cpu-quota` in microseconds per period (`-1`: unlimited).
    pub cpu_quota: Option<i64>,
    /// `--cpu-period` in microseconds.
    pub cpu_period: Option<i64>,
    /// `--pids-limit` (`-1` or `0`: unlimited).
    pub pids_limit: Option<i64>,
    /// `--memory-swap` in bytes (`-1`: unlimited).
    pub memory_swap: Option<i64>,
    /// `--memory-reservation` in bytes.
    pub memory_reservation: Option<i64>,
    /// `--cpu-shares`.
    pub cpu_shares: Option<i64>,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems`.
    pub cpuset_mems: Option<String>,
    /// `--restart`: the policy from the container's next end on.
    pub restart: Option<crate::RestartPolicy>,
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
        // The options as they will be, checked by create's rules (memory and swap together,
        // the reservation, shares, cpusets available on this host).
        let memory = match o.memory {
            Some(m) => (m > 0).then_some(m),
            None => rc.memory,
        };
        let nano_cpus = match o.nano_cpus {
            Some(n) => (n > 0).then_some(n),
            None => rc.nano_cpus,
        };
        let cannot =
            |why: &str| EngineError::invalid(format!("Cannot update container {}: {why}", c.id));
        let mut host = rc.host.clone();
        // moby: `--cpus` sets the period and quota itself, so once one way is set the other
        // cannot be updated.
        let set = |v: Option<i64>| v.is_some_and(|v| v > 0);
        for (asked, what, held, other) in [
            (
                set(o.nano_cpus),
                "Nano CPUs",
                set(host.cpu_period),
                "CPU Period",
            ),
            (
                set(o.nano_cpus),
                "Nano CPUs",
                set(host.cpu_quota),
                "CPU Quota",
            ),
            (
                set(o.cpu_period),
                "CPU Period",
                set(rc.nano_cpus),
                "NanoCPUs",
            ),
            (set(o.cpu_quota), "CPU Quota", set(rc.nano_cpus), "NanoCPUs"),
        ] {
            if asked && held {
                return Err(cannot(&format!(
                    "Conflicting options: {what} cannot be updated as {other} has already been set"
                )));
            }
        }
        if let Some(p) = o.cpu_period.filter(|p| *p != 0) {
            host.cpu_period = Some(p);
        }
        if let Some(q) = o.cpu_quota.filter(|q| *q != 0) {
            host.cpu_quota = Some(q);
        }
        if let (Some(m), None, Some(s)) = (o.memory, o.memory_swap, host.memory_swap) {
            if m > 0 && s > 0 && m > s {
                return Err(cannot(
                    "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time",
                ));
            }
        }
        if let Some(s) = o.memory_swap {
            host.memory_swap = (s != 0).then_some(s);
        }
        if let Some(r) = o.memory_reservation {
            host.memory_reservation = (r != 0).then_some(r);
        }
        if let Some(s) = o.cpu_shares {
            host.cpu_shares = (s != 0).then_some(s);
        }
        if let Some(s) = &o.cpuset_cpus {
            host.cpuset_cpus = s.clone();
        }
        if let Some(s) = &o.cpuset_mems {
            host.cpuset_mems = s.clone();
        }
        host.check(&rc.network, memory, nano_cpus)?;
        if let Some(r) = &o.restart {
            r.check()?;
            if rc.auto_remove && !r.is_none() {
                return Err(cannot(
                    "Restart policy cannot be updated because AutoRemove is enabled for the container",
                ));
            }
        }
        let p = self.process_state(&c)?;
        if p.has_process() {
            let swap = match o.memory_swap.filter(|s| *s != 0) {
                Some(s) => Some(s),
                None => o
                    .memory
                    .filter(|m| *m > 0 && cgroup::swap_limit() && host.memory_swap.is_none())
                    .map(|m| m * 2),
            };
            let limits = runtime::driver::UpdateLimits {
                memory: o.memory.filter(|m| *m > 0),
                memory_swap: swap,
                cpu_period: o
                    .nano_cpus
                    .filter(|n| *n > 0)
                    .map(|_| runtime::spec::CPU_PERIOD as i64)
                    .or(o.cpu_period.filter(|p| *p != 0)),
                cpu_quota: o
                    .nano_cpus
                    .filter(|n| *n > 0)
                    .map(|n| {
                        ((n as i128 * runtime::spec::CPU_PERIOD as i128 / 1_000_000_000) as i64)
                            .max(1000)
                    })
                    .or(o.cpu_quota.filter(|q| *q != 0)),
                pids_limit: o.pids_limit.map(|p| if p <= 0 { -1 } else { p }),
                memory_reservation: o.memory_reservation.filter(|r| *r > 0),
                cpu_shares: o.cpu_shares.filter(|s| *s > 0),
                cpuset_cpus: o.cpuset_cpus.clone().filter(|s| !s.is_empty()),
                cpuset_mems: o.cpuset_mems.clone().filter(|s| !s.is_empty()),
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
        rc.host = host;
        if let Some(r) = &o.restart {
            rc.restart = r.clone();
        }
        self.save_run_config(&c.id, &rc)?;
        self.emit(
            crate::Event::new("container", "update", c.id.clone()).with("name", c.name.clone()),
        );
        Ok(())
    }
}
