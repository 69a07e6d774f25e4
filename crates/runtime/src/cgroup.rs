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
