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
