//! `stats` (a table of containers' resource use, once or every second) and `update` (new
//! limits), as the docker CLI shows and takes them.

use crate::Exit;
use clap::Args;
use engine::{Engine, StatsSample};
use std::io::Write;

#[derive(Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    no_stream: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// [CONTAINER...]
    containers: Vec<String>,
}

/// The docker CLI's columns of one container from two samples a moment apart.
fn row(id: &str, name: &str, cur: &StatsSample, pre: &StatsSample, no_trunc: bool) -> Vec<String> {
    let (c, p) = (&cur.cgroup, &pre.cgroup);
    let cpu_delta = c.cpu_total.saturating_sub(p.cpu_total) as f64;
    let sys_delta = cur.system_cpu.0.saturating_sub(pre.system_cpu.0) as f64;
    let cpu = if cur.running && cpu_delta > 0.0 && sys_delta > 0.0 {
        cpu_delta / sys_delta * cur.system_cpu.1 as f64 * 100.0
    } else {
        0.0
    };
    // The docker CLI leaves the inactive file cache out of the usage.
    let cache_key = if engine::runtime::cgroup::is_v2() {
        "inactive_file"
    } else {
        "total_inactive_file"
    };
    let cache = c
        .memory_stat
        .iter()
        .find(|(k, _)| k == cache_key)
        .map_or(0, |(_, v)| *v);
    let mem = if cache < c.memory_usage {
        c.memory_usage - cache
    } else {
        c.memory_usage
    };
    let limit = if cur.running { cur.memory_limit() } else { 0 };
    let mem_pct = if limit > 0 {
        mem as f64 / limit as f64 * 100.0
    } else {
        0.0
    };
    let (rx, tx) = cur
        .networks
        .iter()
        .fold((0, 0), |(r, t), (_, n)| (r + n[0], t + n[4]));
    let (rd, wr) = c.blkio.iter().fold(
        (0, 0),
        |(r, w), (_, _, op, v)| {
            if op == "read" {
                (r + v, w)
            } else {
                (r, w + v)
            }
        },
    );
    use docker_format::{bytes_size, human_size};
    vec![
        if no_trunc {
            id.to_string()
        } else {
            id[..12].to_string()
        },
        name.to_string(),
        format!("{cpu:.2}%"),
        format!("{} / {}", bytes_size(mem), bytes_size(limit)),
        format!("{mem_pct:.2}%"),
        format!("{} / {}", human_size(rx), human_size(tx)),
        format!("{} / {}", human_size(rd), human_size(wr)),
        c.pids_current.to_string(),
    ]
}

const TITLES: [&str; 8] = [
    "CONTAINER ID",
    "NAME",
    "CPU %",
    "MEM USAGE / LIMIT",
    "MEM %",
    "NET I/O",
    "BLOCK I/O",
    "PIDS",
];

/// `stats [--no-stream] [-a] [CONTAINER...]`: without names, the running containers (all
/// with `-a`); each row from two samples a second apart, redrawn every second unless
/// `--no-stream`.
pub fn stats(engine: &Engine, a: StatsArgs) -> anyhow::Result<()> {
    let targets: Vec<(String, String)> = if a.containers.is_empty() {
        let mut v = Vec::new();
        for c in engine.containers()? {
            if a.all || engine.process_state(&c)?.is_running() {
                v.push((c.id, c.name));
            }
        }
        v
    } else {
        let mut v = Vec::new();
        let mut failed = false;
        for n in &a.containers {
            match engine.container(n) {
                Ok(c) => v.push((c.id, c.name)),
                Err(e) => {
                    crate::report(&e);
                    failed = true;
                }
            }
        }
        if failed {
            return Err(Exit(1).into());
        }
        v
    };
    let sample_all = || -> Vec<StatsSample> {
        targets
            .iter()
            .map(|(id, _)| engine.container_stats(id).unwrap_or_default())
            .collect()
    };
    let mut pre = sample_all();
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        let cur = sample_all();
        let mut t = docker_format::Table::new();
        t.row(TITLES.to_vec());
        for (((id, name), c), p) in targets.iter().zip(&cur).zip(&pre) {
            t.row(row(id, name, c, p, a.no_trunc));
        }
        let mut out = std::io::stdout();
        if !a.no_stream {
            // Clear the screen and go home, as the docker CLI redraws.
            write!(out, "\x1b[2J\x1b[H")?;
        }
        write!(out, "{}", t.render())?;
        out.flush()?;
        if a.no_stream {
            return Ok(());
        }
        pre = cur;
    }
}

#[derive(Args)]
pub struct UpdateArgs {
    /// Memory limit
    #[arg(short = 'm', long = "memory")]
    memory: Option<String>,
    /// Number of CPUs
    #[arg(long = "cpus")]
    cpus: Option<f64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", allow_negative_numbers = true)]
    pids_limit: Option<i64>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", allow_negative_numbers = true)]
    memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation")]
    memory_reservation: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares")]
    cpu_shares: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period")]
    cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", allow_negative_numbers = true)]
    cpu_quota: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems")]
    cpuset_mems: Option<String>,
    /// Restart policy to apply when a container exits
    #[arg(long = "restart")]
    restart: Option<String>,
    /// CONTAINER...
    #[arg(required = true)]
    containers: Vec<String>,
}

/// `update --memory/--cpus/--cpu-period/--cpu-quota/--pids-limit/--memory-swap/
/// --memory-reservation/--cpu-shares/--cpuset-cpus/--cpuset-mems/--restart CONTAINER...`:
/// prints each name, as Docker does.
pub fn update(engine: &Engine, a: UpdateArgs) -> anyhow::Result<()> {
    let bytes = |v: &Option<String>| -> anyhow::Result<Option<i64>> {
        match v.as_deref() {
            Some("-1") => Ok(Some(-1)),
            v => v.map(crate::run::parse_memory).transpose(),
        }
    };
    let o = engine::UpdateOptions {
        memory: bytes(&a.memory)?,
        nano_cpus: a.cpus.map(|c| (c * 1e9) as i64),
        cpu_quota: a.cpu_quota.filter(|q| *q != 0),
        cpu_period: a.cpu_period.filter(|p| *p != 0),
        pids_limit: a.pids_limit,
        memory_swap: bytes(&a.memory_swap)?,
        memory_reservation: bytes(&a.memory_reservation)?,
        cpu_shares: a.cpu_shares,
        cpuset_cpus: a.cpuset_cpus.clone(),
        cpuset_mems: a.cpuset_mems.clone(),
        restart: a
            .restart
            .as_deref()
            .map(crate::run::parse_restart_policy)
            .transpose()?,
    };
    if o == engine::UpdateOptions::default() {
        anyhow::bail!("you must provide one or more flags when using this command");
    }
    let mut failed = false;
    for n in &a.containers {
        match engine.update_container(n, &o) {
            Ok(()) => println!("{n}"),
            Err(e) => {
                crate::report(&e);
                failed = true;
            }
        }
    }
    if failed {
        return Err(Exit(1).into());
    }
    Ok(())
}

#[derive(Args)]
pub struct RenameArgs {
    /// CONTAINER
    container: String,
    /// NEW_NAME
    new_name: String,
}

/// `rename CONTAINER NEW_NAME`.
pub fn rename(engine: &Engine, a: RenameArgs) -> anyhow::Result<()> {
    engine.rename_container(&a.container, &a.new_name)?;
    Ok(())
}
