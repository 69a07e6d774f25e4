//! `cgroup`: what the host's cgroup layout offers (v1 or v2, swap limits) and the OOM-kill
//! counter of a container's memory cgroup.

use std::path::Path;

/// Whether `/sys/fs/cgroup` is the unified (v2) hierarchy.
pub fn is_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// Whether the memory cgroup can limit swap.
pub fn swap_limit() -> bool {
    if is_v2() {
        Path::new("/sys/fs/cgroup/memory.swap.max").exists()
            || std::fs::read_to_string("/sys/fs/cgroup/cgroup.subtree_control")
                .map(|s| s.contains("memory"))
                .unwrap_or(false)
    } else {
        Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
    }
}

/// Whether the host's cgroup v1 hierarchy of `controller` has `file` (`cpu`, `cpu.shares`):
/// what a limit needs before a container may ask for it.
pub fn v1_has(controller: &str, file: &str) -> bool {
    !is_v2()
        && Path::new("/sys/fs/cgroup")
            .join(controller)
            .join(file)
            .exists()
}

/// Whether the v2 hierarchy enables `controller` for the cgroups below the root.
fn v2_has(controller: &str) -> bool {
    is_v2()
        && std::fs::read_to_string("/sys/fs/cgroup/cgroup.subtree_control")
            .map(|s| s.split_whitespace().any(|c| c == controller))
            .unwrap_or(false)
}

/// Whether a container may get a CPU weight (`--cpu-shares`: v1 `cpu.shares`, v2 `cpu.weight`).
pub fn cpu_shares() -> bool {
    v1_has("cpu", "cpu.shares") || v2_has("cpu")
}

/// Whether a container may get a CFS period and quota (`--cpu-period`, `--cpu-quota`).
pub fn cpu_cfs() -> bool {
    v1_has("cpu", "cpu.cfs_quota_us") || v2_has("cpu")
}

/// Whether a container's memory cgroup can keep the OOM killer off (v1 only).
pub fn oom_kill_disable() -> bool {
    v1_has("memory", "memory.oom_control")
}

/// Whether a container's memory cgroup takes a swappiness (v1 only).
pub fn swappiness() -> bool {
    v1_has("memory", "memory.swappiness")
}

/// Whether a container's memory cgroup takes a soft limit (`--memory-reservation`).
pub fn memory_reservation() -> bool {
    v1_has("memory", "memory.soft_limit_in_bytes") || v2_has("memory")
}

/// The number of OOM kills in the memory cgroup at `cgroups_path` (`/strata/<id>`), when the
/// kernel reports it.
pub fn oom_kills(cgroups_path: &str) -> Option<u64> {
    let rel = cgroups_path.trim_start_matches('/');
    let (file, key) = if is_v2() {
        (format!("/sys/fs/cgroup/{rel}/memory.events"), "oom_kill")
    } else {
        (
            format!("/sys/fs/cgroup/memory/{rel}/memory.oom_control"),
            "oom_kill",
        )
    };
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next() == Some(key)).then(|| f.next()?.parse().ok())?
    })
}

/// Removes the cgroup directory `rel` (e.g. `/strata`, the parent of the containers'
/// cgroups, which runtimes create but never remove) from every hierarchy where it is empty:
/// `rmdir` fails on a cgroup that still has children, so a running container's is kept.
pub fn remove_if_empty(rel: &str) {
    let rel = rel.trim_matches('/');
    if rel.is_empty() || rel.contains("..") {
        return;
    }
    let base = Path::new("/sys/fs/cgroup");
    if is_v2() {
        let _ = std::fs::remove_dir(base.join(rel));
        return;
    }
    // v1 (and the hybrid layout's `unified`): one directory per mounted hierarchy.
    if let Ok(dirs) = std::fs::read_dir(base) {
        for d in dirs.flatten() {
            let p = d.path().join(rel);
            if p.is_dir() {
                let _ = std::fs::remove_dir(p);
            }
        }
    }
}

/// What a container's cgroups report, in both layouts (Docker's `stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupStats {
    /// Memory in use, bytes (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    pub memory_usage: u64,
    /// The memory limit, bytes (`None`: unlimited).
    pub memory_limit: Option<u64>,
    /// `memory.stat`, key by key.
    pub memory_stat: Vec<(String, u64)>,
    /// CPU time, nanoseconds: total, in user mode, in kernel mode.
    pub cpu_total: u64,
    /// CPU time in user mode, nanoseconds.
    pub cpu_user: u64,
    /// CPU time in kernel mode, nanoseconds.
    pub cpu_system: u64,
    /// CFS periods, throttled periods and throttled time (ns), when limited.
    pub throttling: (u64, u64, u64),
    /// Processes in the cgroup.
    pub pids_current: u64,
    /// The PIDs limit (`None`: unlimited).
    pub pids_limit: Option<u64>,
    /// Bytes read and written per device: (major, minor, `read`/`write`, bytes).
    pub blkio: Vec<(u64, u64, String, u64)>,
}

fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

fn read_limit(p: &Path) -> Option<u64> {
    let t = std::fs::read_to_string(p).ok()?;
    let t = t.trim();
    if t == "max" {
        return None;
    }
    // v1 reports "no limit" as a huge page-aligned number.
    t.parse().ok().filter(|v: &u64| *v < (1u64 << 62))
}

fn key_values(p: &Path) -> Vec<(String, u64)> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.to_string(), f.next()?.parse().ok()?))
        })
        .collect()
}

/// A process's cgroup directories: each v1 hierarchy (its controller list, its directory),
/// and the v2 one.
type CgroupDirs = (
    Vec<(String, std::path::PathBuf)>,
    Option<std::path::PathBuf>,
);

/// The cgroup directories of process `pid`.
fn cgroup_dirs(pid: i32) -> Option<CgroupDirs> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let base = Path::new("/sys/fs/cgroup");
    let mut v1 = Vec::new();
    let mut v2 = None;
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
        let rel = path.trim_start_matches('/');
        if ctrls.is_empty() {
            let dir = if is_v2() {
                base.join(rel)
            } else {
                base.join("unified").join(rel)
            };
            v2 = Some(dir);
        } else {
            let name = ctrls.trim_start_matches("name=");
            v1.push((name.to_string(), base.join(name).join(rel)));
        }
    }
    Some((v1, v2))
}

/// The stats of the cgroups holding process `pid` (a container's init), read from cgroup v2
/// files on a unified host and from the v1 controllers otherwise; `None` when the process is
/// gone.
pub fn stats_of(pid: i32) -> Option<CgroupStats> {
    let (v1, v2) = cgroup_dirs(pid)?;
    if is_v2() {
        return Some(read_v2(&v2?));
    }
    Some(read_v1(|ctrl| {
        v1.iter()
            .find(|(names, _)| names.split(',').any(|n| n == ctrl))
            .map(|(_, d)| d.clone())
    }))
}

/// The stats of the cgroup v2 directory `d`.
fn read_v2(d: &Path) -> CgroupStats {
    let mut s = CgroupStats::default();
    {
        s.memory_usage = read_u64(&d.join("memory.current")).unwrap_or(0);
        s.memory_limit = read_limit(&d.join("memory.max"));
        s.memory_stat = key_values(&d.join("memory.stat"));
        let cpu = key_values(&d.join("cpu.stat"));
        let get = |k: &str| cpu.iter().find(|(n, _)| n == k).map_or(0, |(_, v)| *v);
        s.cpu_total = get("usage_usec") * 1000;
        s.cpu_user = get("user_usec") * 1000;
        s.cpu_system = get("system_usec") * 1000;
        s.throttling = (
            get("nr_periods"),
            get("nr_throttled"),
            get("throttled_usec") * 1000,
        );
        s.pids_current = read_u64(&d.join("pids.current")).unwrap_or(0);
        s.pids_limit = read_limit(&d.join("pids.max"));
        for line in std::fs::read_to_string(d.join("io.stat"))
            .unwrap_or_default()
            .lines()
        {
            let mut f = line.split_whitespace();
            let Some((maj, min)) = f.next().and_then(|d| d.split_once(':')) else {
                continue;
            };
            let (Ok(maj), Ok(min)) = (maj.parse(), min.parse()) else {
                continue;
            };
            for kv in f {
                match kv.split_once('=') {
                    Some(("rbytes", v)) => {
                        s.blkio
                            .push((maj, min, "read".into(), v.parse().unwrap_or(0)))
                    }
                    Some(("wbytes", v)) => {
                        s.blkio
                            .push((maj, min, "write".into(), v.parse().unwrap_or(0)))
                    }
                    _ => {}
                }
            }
        }
    }
    s
}

/// The stats of the cgroup v1 directories `dir(controller)` names.
fn read_v1(dir: impl Fn(&str) -> Option<std::path::PathBuf>) -> CgroupStats {
    let mut s = CgroupStats::default();
    if let Some(d) = dir("memory") {
        s.memory_usage = read_u64(&d.join("memory.usage_in_bytes")).unwrap_or(0);
        s.memory_limit = read_limit(&d.join("memory.limit_in_bytes"));
        s.memory_stat = key_values(&d.join("memory.stat"));
    }
    if let Some(d) = dir("cpuacct") {
        s.cpu_total = read_u64(&d.join("cpuacct.usage")).unwrap_or(0);
        // USER_HZ ticks (100 a second on Linux).
        let ticks = key_values(&d.join("cpuacct.stat"));
        let get = |k: &str| ticks.iter().find(|(n, _)| n == k).map_or(0, |(_, v)| *v);
        s.cpu_user = get("user") * 10_000_000;
        s.cpu_system = get("system") * 10_000_000;
    }
    if let Some(d) = dir("cpu") {
        let t = key_values(&d.join("cpu.stat"));
        let get = |k: &str| t.iter().find(|(n, _)| n == k).map_or(0, |(_, v)| *v);
        s.throttling = (
            get("nr_periods"),
            get("nr_throttled"),
            get("throttled_time"),
        );
    }
    if let Some(d) = dir("pids") {
        s.pids_current = read_u64(&d.join("pids.current")).unwrap_or(0);
        s.pids_limit = read_limit(&d.join("pids.max"));
    }
    if let Some(d) = dir("blkio") {
        let mut text = std::fs::read_to_string(d.join("blkio.throttle.io_service_bytes_recursive"))
            .unwrap_or_default();
        if text.trim().is_empty() {
            text = std::fs::read_to_string(d.join("blkio.throttle.io_service_bytes"))
                .unwrap_or_default();
        }
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [dev, op, v] = f.as_slice() else { continue };
            let Some((maj, min)) = dev.split_once(':') else {
                continue;
            };
            let op = op.to_ascii_lowercase();
            if op != "read" && op != "write" {
                continue;
            }
            if let (Ok(maj), Ok(min), Ok(v)) = (maj.parse(), min.parse(), v.parse()) {
                s.blkio.push((maj, min, op, v));
            }
        }
    }
    s
}

/// The host's CPU time so far, nanoseconds (`/proc/stat`'s first line, as Docker's
/// `system_cpu_usage`), and the number of online CPUs.
pub fn host_cpu() -> (u64, u32) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let mut total = 0u64;
    let mut cpus = 0u32;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("cpu ") {
            total = rest
                .split_whitespace()
                .take(8)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum::<u64>()
                * 10_000_000;
        } else if line.starts_with("cpu") {
            cpus += 1;
        }
    }
    (total, cpus.max(1))
}

/// The host's memory, bytes (`MemTotal`): the limit Docker shows for an unlimited container.
pub fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("MemTotal:")?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Per-interface network counters of process `pid`'s namespace (`/proc/<pid>/net/dev`),
/// loopback left out: (name, rx bytes, rx packets, rx errors, rx dropped, tx bytes, tx
/// packets, tx errors, tx dropped).
pub fn net_dev(pid: i32) -> Vec<(String, [u64; 8])> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name == "lo" {
            continue;
        }
        let v: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() >= 12 {
            out.push((
                name.to_string(),
                [v[0], v[1], v[2], v[3], v[8], v[9], v[10], v[11]],
            ));
        }
    }
    out
}

/// Whether the freezer holds process `pid`'s cgroup frozen (v1 `freezer.state` is `FROZEN`,
/// v2 `cgroup.freeze` is 1): `pause` without asking the runtime. `None` when it cannot tell.
pub fn is_frozen(pid: i32) -> Option<bool> {
    let (v1, v2) = cgroup_dirs(pid)?;
    if is_v2() {
        let t = std::fs::read_to_string(v2?.join("cgroup.freeze")).ok()?;
        return Some(t.trim() == "1");
    }
    let dir = v1
        .iter()
        .find(|(names, _)| names.split(',').any(|n| n == "freezer"))
        .map(|(_, d)| d.clone())?;
    let t = std::fs::read_to_string(dir.join("freezer.state")).ok()?;
    Some(t.trim() != "THAWED")
}

/// The CPUs and memory nodes the host's cpuset cgroup gives the containers' cgroups, as
/// written there (`0-3`, `0`): v1 `cpuset.cpus`/`cpuset.mems` of the hierarchy's root, v2
/// `cpuset.cpus.effective`/`cpuset.mems.effective` of the root when it passes the cpuset
/// controller down (moby's `sysinfo`). `None` without a cpuset cgroup.
pub fn cpuset_available() -> Option<(String, String)> {
    let (dir, cpus, mems) = if is_v2() {
        if !v2_has("cpuset") {
            return None;
        }
        (
            Path::new("/sys/fs/cgroup").to_path_buf(),
            "cpuset.cpus.effective",
            "cpuset.mems.effective",
        )
    } else {
        (
            Path::new("/sys/fs/cgroup/cpuset").to_path_buf(),
            "cpuset.cpus",
            "cpuset.mems",
        )
    };
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).map(|t| t.trim().to_string());
    Some((read(cpus).ok()?, read(mems).ok()?))
}

/// A cgroup CPU or memory-node list (`0-2,5`) as moby's `parseUintList` reads it: numbers
/// and ranges split by commas, each number at most `maximum` (0: no bound); its texts for a
/// list it cannot read.
pub fn parse_cpu_list(
    list: &str,
    maximum: u64,
) -> std::result::Result<std::collections::BTreeSet<u64>, String> {
    let mut out = std::collections::BTreeSet::new();
    if list.is_empty() {
        return Ok(out);
    }
    let invalid = || format!("invalid format: {list}");
    let number = |s: &str| -> std::result::Result<u64, String> {
        // Go's `strconv.Atoi`: an optional sign, then digits.
        let n: i64 = s.parse().map_err(|_| invalid())?;
        u64::try_from(n).map_err(|_| invalid())
    };
    let out_of_range = || format!("value of out range, maximum is {maximum}");
    for part in list.split(',') {
        match part.split_once('-') {
            None => {
                let n = number(part)?;
                if maximum != 0 && n > maximum {
                    return Err(out_of_range());
                }
                out.insert(n);
            }
            Some((lo, hi)) => {
                let (lo, hi) = (number(lo)?, number(hi)?);
                if hi < lo {
                    return Err(invalid());
                }
                if maximum != 0 && hi > maximum {
                    return Err(out_of_range());
                }
                out.extend(lo..=hi);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_as_moby_reads_them() {
        let l =
            |s: &str, max: u64| parse_cpu_list(s, max).map(|v| v.into_iter().collect::<Vec<_>>());
        assert_eq!(l("", 0), Ok(vec![]));
        assert_eq!(l("7", 0), Ok(vec![7]));
        assert_eq!(l("0,3-4,7,8-10", 0), Ok(vec![0, 3, 4, 7, 8, 9, 10]));
        assert_eq!(l("03,1-3", 0), Ok(vec![1, 2, 3]));
        assert_eq!(l("0-x", 0), Err("invalid format: 0-x".to_string()));
        assert_eq!(l("2-1", 0), Err("invalid format: 2-1".to_string()));
        assert_eq!(l("1,", 0), Err("invalid format: 1,".to_string()));
        assert_eq!(l("-1", 0), Err("invalid format: -1".to_string()));
        assert_eq!(
            l("0-9223372036854775807", 8192),
            Err("value of out range, maximum is 8192".to_string())
        );
    }

    fn write(dir: &Path, files: &[(&str, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }

    #[test]
    fn both_layouts() {
        let t = tempfile::tempdir().unwrap();
        let v2 = t.path().join("v2");
        write(
            &v2,
            &[
                ("memory.current", "4096\n"),
                ("memory.max", "max\n"),
                ("memory.stat", "anon 100\ninactive_file 50\n"),
                ("cpu.stat", "usage_usec 3\nuser_usec 2\nsystem_usec 1\nnr_periods 4\nnr_throttled 1\nthrottled_usec 7\n"),
                ("pids.current", "2\n"),
                ("pids.max", "20\n"),
                ("io.stat", "8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0\n"),
            ],
        );
        let s = read_v2(&v2);
        assert_eq!((s.memory_usage, s.memory_limit), (4096, None));
        assert_eq!(s.memory_stat[1], ("inactive_file".into(), 50));
        assert_eq!((s.cpu_total, s.cpu_user, s.cpu_system), (3000, 2000, 1000));
        assert_eq!(s.throttling, (4, 1, 7000));
        assert_eq!((s.pids_current, s.pids_limit), (2, Some(20)));
        assert_eq!(
            s.blkio,
            [(8, 0, "read".into(), 512), (8, 0, "write".into(), 1024)]
        );
        let v1 = t.path().join("v1");
        write(
            &v1.join("memory"),
            &[
                ("memory.usage_in_bytes", "8192\n"),
                ("memory.limit_in_bytes", "67108864\n"),
                ("memory.stat", "total_inactive_file 10\n"),
            ],
        );
        write(
            &v1.join("cpuacct"),
            &[
                ("cpuacct.usage", "5000\n"),
                ("cpuacct.stat", "user 3\nsystem 1\n"),
            ],
        );
        write(
            &v1.join("pids"),
            &[("pids.current", "1\n"), ("pids.max", "max\n")],
        );
        write(
            &v1.join("blkio"),
            &[(
                "blkio.throttle.io_service_bytes",
                "8:0 Read 100\n8:0 Write 200\n8:0 Total 300\nTotal 300\n",
            )],
        );
        let s = read_v1(|c| Some(v1.join(c)).filter(|p| p.is_dir()));
        assert_eq!((s.memory_usage, s.memory_limit), (8192, Some(64 << 20)));
        assert_eq!(
            (s.cpu_total, s.cpu_user, s.cpu_system),
            (5000, 30_000_000, 10_000_000)
        );
        assert_eq!((s.pids_current, s.pids_limit), (1, None));
        assert_eq!(
            s.blkio,
            [(8, 0, "read".into(), 100), (8, 0, "write".into(), 200)]
        );
        let unlimited = t.path().join("u");
        write(
            &unlimited,
            &[("memory.limit_in_bytes", "9223372036854771712\n")],
        );
        assert_eq!(read_limit(&unlimited.join("memory.limit_in_bytes")), None);
    }
}
