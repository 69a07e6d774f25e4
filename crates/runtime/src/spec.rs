//! `spec`: the OCI runtime `config.json` of a container, with Docker's defaults.
//!
//! What Docker puts in every container's spec (moby's `DefaultLinuxSpec` and the daemon's
//! options): the 14 default capabilities, the masked and read-only `/proc` paths, `/proc`,
//! `/dev` (tmpfs), `/dev/pts`, `/dev/shm`, `/dev/mqueue`, `/sys` read-only and the cgroup
//! filesystem read-only; the pid, mount, ipc and uts namespaces and a network namespace
//! unless the network is `host`; the hostname; `/etc/hostname`, `/etc/hosts` and
//! `/etc/resolv.conf` bind-mounted from the container's directory (written as moby 28 writes
//! them, with `--add-host` and `--dns*`); the device cgroup rules; the default seccomp
//! profile; and what the user asked (limits, cpusets, user, no-new-privileges, `--tmpfs`).

use crate::seccomp;
use crate::user::resolve_user_in;
use crate::{Result, RuntimeError};
use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder,
    LinuxDeviceType, LinuxMemoryBuilder, LinuxNamespaceBuilder, LinuxNamespaceType,
    LinuxPidsBuilder, LinuxResourcesBuilder, Mount, MountBuilder, PosixRlimitBuilder,
    PosixRlimitType, Process, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};
use std::collections::HashMap;
use std::path::PathBuf;

/// Docker's default capabilities (moby `oci/caps.DefaultCapabilities`).
pub const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability a capability list may name (Linux 5.9's, `CAP_CHECKPOINT_RESTORE` last):
/// moby's `GetAllCapabilities`, what `--cap-add ALL` means.
pub const ALL_CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// moby's `NormalizeLegacyCapabilities`: upper case, `CAP_` prefixed, `ALL` kept; Docker's
/// text for a name it does not know.
pub fn normalize_caps(caps: &[String]) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    for c in caps {
        let mut c = c.to_ascii_uppercase();
        if c != "ALL" && !c.starts_with("CAP_") {
            c = format!("CAP_{c}");
        }
        if c != "ALL" && !ALL_CAPS.contains(&c.as_str()) {
            return Err(format!("unknown capability: {c:?}"));
        }
        out.push(c);
    }
    Ok(out)
}

/// moby's `TweakCapabilities` for a container that is not privileged: Docker's defaults
/// less `drop` plus `add`; `ALL` in `add` is every capability but those dropped, `ALL` in
/// `drop` leaves only those added.
pub fn capabilities(add: &[String], drop: &[String]) -> Result<Vec<String>> {
    let add =
        normalize_caps(add).map_err(|e| RuntimeError::Invalid(format!("invalid CapAdd: {e}")))?;
    let drop =
        normalize_caps(drop).map_err(|e| RuntimeError::Invalid(format!("invalid CapDrop: {e}")))?;
    let has = |l: &[String], c: &str| l.iter().any(|x| x == c);
    let mut caps: Vec<String> = if has(&add, "ALL") {
        ALL_CAPS
            .iter()
            .filter(|c| !has(&drop, c))
            .map(|c| c.to_string())
            .collect()
    } else if has(&drop, "ALL") {
        add
    } else {
        let mut v: Vec<String> = DEFAULT_CAPS
            .iter()
            .filter(|c| !has(&drop, c))
            .map(|c| c.to_string())
            .collect();
        v.extend(add);
        v
    };
    let mut seen = std::collections::HashSet::new();
    caps.retain(|c| seen.insert(c.clone()));
    Ok(caps)
}

/// Docker's masked paths (before the per-CPU `thermal_throttle` directories it adds).
pub const MASKED_PATHS: [&str; 12] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
];

/// Docker's read-only `/proc` paths.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The `PATH` Docker gives a container whose image sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The CFS period Docker uses for `--cpus`.
pub const CPU_PERIOD: u64 = 100_000;

/// The container's network mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkMode {
    /// A new network namespace with only a loopback device.
    #[default]
    None,
    /// The host's network namespace.
    Host,
}

/// The per-container files Docker bind-mounts over the image's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcFiles {
    /// Mounted at `/etc/hostname`.
    pub hostname: PathBuf,
    /// Mounted at `/etc/hosts`.
    pub hosts: PathBuf,
    /// Mounted at `/etc/resolv.conf`.
    pub resolv_conf: PathBuf,
}

/// A host directory or file mounted into the container (a bind, or a volume's directory).
/// The runtime makes the mount point inside the container's root, resolving `destination`
/// there; nothing here resolves a container path on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindMount {
    /// The host path (absolute, already checked by the caller).
    pub source: PathBuf,
    /// The absolute path in the container.
    pub destination: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// A tmpfs mounted into the container (`--tmpfs`, `--mount type=tmpfs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmpfsMount {
    /// The absolute path in the container.
    pub destination: String,
    /// The options asked (`size=1m,mode=1777`), merged over Docker's by [`tmpfs_options`].
    pub data: String,
}

/// What a container's `/etc/hosts` and `/etc/resolv.conf` get beyond Docker's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcOptions {
    /// `--add-host`: (names, address) entries, the address already resolved.
    pub extra_hosts: Vec<(String, String)>,
    /// `--dns`: the name servers, replacing the host's.
    pub dns: Vec<String>,
    /// `--dns-search`: the search domains, replacing the host's (`.`: none).
    pub dns_search: Vec<String>,
    /// `--dns-option`: the resolver options, replacing the host's.
    pub dns_options: Vec<String>,
}

/// Everything the spec of one container depends on.
#[derive(Debug, Clone, Default)]
pub struct SpecOptions {
    /// The container's full ID (the hostname is its first 12 characters unless `hostname` is set).
    pub id: String,
    /// The container's root directory (its overlay mount).
    pub rootfs: PathBuf,
    /// The process's argv (entrypoint + command, already combined).
    pub args: Vec<String>,
    /// The container's environment (image env overridden by `-e`), `KEY=value`.
    pub env: Vec<String>,
    /// The working directory; empty means `/`.
    pub cwd: String,
    /// Docker's `--user`; empty means root.
    pub user: String,
    /// Allocate a terminal.
    pub tty: bool,
    /// The hostname; `None` means the short ID.
    pub hostname: Option<String>,
    /// The network mode.
    pub network: NetworkMode,
    /// With [`NetworkMode::None`]: join this network namespace (a bridge network's, set up
    /// by [`crate::network`]) instead of a new one.
    pub netns: Option<PathBuf>,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// `--read-only`.
    pub read_only: bool,
    /// `--memory` in bytes.
    pub memory: Option<i64>,
    /// `--cpus` in billionths of a CPU.
    pub nano_cpus: Option<i64>,
    /// `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `--ulimit`: (name as in Docker, e.g. `nofile`, soft, hard).
    pub ulimits: Vec<(String, u64, u64)>,
    /// The files for `/etc/hostname`, `/etc/hosts`, `/etc/resolv.conf`, if provided.
    pub etc_files: Option<EtcFiles>,
    /// The cgroup path (relative to the cgroup mountpoints), e.g. `/strata/<id>`.
    pub cgroups_path: String,
    /// Skip Docker's seccomp profile (`--security-opt seccomp=unconfined`).
    pub seccomp_unconfined: bool,
    /// Whether the host's memory cgroup limits swap (cgroup v1 `memory.memsw.*`, or v2).
    pub swap_limit: bool,
    /// Whether the host uses cgroup v2 (then the container gets its own cgroup namespace).
    pub cgroup_v2: bool,
    /// `--cap-add`: capabilities added to Docker's defaults (`ALL`, names with or without
    /// `CAP_`).
    pub cap_add: Vec<String>,
    /// `--cap-drop`: capabilities removed from Docker's defaults.
    pub cap_drop: Vec<String>,
    /// `--group-add`: groups (names in the image's `/etc/group`, or numbers) the process
    /// also has.
    pub group_add: Vec<String>,
    /// `--sysctl`: namespaced kernel parameters (checked by the caller), over Docker's own.
    pub sysctls: std::collections::BTreeMap<String, String>,
    /// `--memory-swap`: memory plus swap in bytes, `-1` unlimited (`None`: twice `memory`).
    pub memory_swap: Option<i64>,
    /// `--memory-reservation`: the soft limit in bytes.
    pub memory_reservation: Option<i64>,
    /// `--memory-swappiness` (0–100).
    pub memory_swappiness: Option<u64>,
    /// `--oom-kill-disable`.
    pub oom_kill_disable: bool,
    /// `--oom-score-adj`.
    pub oom_score_adj: i32,
    /// `--cpu-shares`: the relative CPU weight.
    pub cpu_shares: Option<u64>,
    /// `--cpu-period`: the CFS period in microseconds.
    pub cpu_period: Option<u64>,
    /// `--cpu-quota`: the CFS quota in microseconds.
    pub cpu_quota: Option<i64>,
    /// `--shm-size`: the size of `/dev/shm` in bytes (`None`: Docker's 64 MiB).
    pub shm_size: Option<i64>,
    /// `--cgroupns private` on a cgroup v1 host (v2 always gets its own cgroup namespace).
    pub cgroupns_private: bool,
    /// Binds and volumes, mounted after Docker's own mounts, parents before children.
    pub binds: Vec<BindMount>,
    /// Host directories no bind may show (the store's data directory), canonical: a bind
    /// whose source holds one (`-v /:/host`) gets an empty read-only tmpfs over the place
    /// where it appears in the container, after every bind.
    pub masked: Vec<PathBuf>,
    /// `--tmpfs` and `--mount type=tmpfs`: mounted with the binds, parents first, each
    /// replacing a default mount at its path (under `/dev` too, for a tmpfs at `/dev`).
    pub tmpfs: Vec<TmpfsMount>,
    /// `--cpuset-cpus`: the CPUs the container may run on (checked by the caller).
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems`: the memory nodes it may allocate from (checked by the caller).
    pub cpuset_mems: Option<String>,
}

fn caps(names: &[String]) -> Result<oci_spec::runtime::Capabilities> {
    names
        .iter()
        .map(|c| {
            serde_json::from_value::<Capability>(serde_json::Value::String(c.to_string()))
                .map_err(|e| RuntimeError::Invalid(format!("capability {c}: {e}")))
        })
        .collect()
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount> {
    MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()
        .map_err(spec_err)
}

fn spec_err(e: oci_spec::OciSpecError) -> RuntimeError {
    RuntimeError::Invalid(format!("runtime spec: {e}"))
}

/// Docker's environment: `PATH` (when the container's has none), `HOSTNAME`, `TERM=xterm` with
/// a TTY, then the container's own variables replacing or appended.
pub fn container_env(env: &[String], hostname: &str, tty: bool) -> Vec<String> {
    let mut out = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if tty {
        out.push("TERM=xterm".into());
    }
    for kv in env {
        let key = kv.split_once('=').map_or(kv.as_str(), |(k, _)| k);
        match out
            .iter_mut()
            .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
        {
            Some(slot) => *slot = kv.clone(),
            None => out.push(kv.clone()),
        }
    }
    out
}

fn rlimit_type(name: &str) -> Result<PosixRlimitType> {
    let s = format!("RLIMIT_{}", name.to_ascii_uppercase());
    serde_json::from_value(serde_json::Value::String(s))
        .map_err(|_| RuntimeError::Invalid(format!("invalid ulimit type: {name}")))
}

/// Checks a `--ulimit` name as the spec takes it (`invalid ulimit type: <name>`).
pub fn check_ulimit(name: &str) -> Result<()> {
    rlimit_type(name).map(|_| ())
}

/// The mount flags a tmpfs's options may name (moby's mount flag table), each with the flag
/// it sets or clears: a later option replaces an earlier one of the same flag, and the
/// propagation modes are one flag.
const TMPFS_FLAGS: [(&str, &str); 32] = [
    ("ro", "rdonly"),
    ("rw", "rdonly"),
    ("suid", "nosuid"),
    ("nosuid", "nosuid"),
    ("dev", "nodev"),
    ("nodev", "nodev"),
    ("exec", "noexec"),
    ("noexec", "noexec"),
    ("sync", "sync"),
    ("async", "sync"),
    ("dirsync", "dirsync"),
    ("remount", "remount"),
    ("mand", "mand"),
    ("nomand", "mand"),
    ("atime", "noatime"),
    ("noatime", "noatime"),
    ("diratime", "nodiratime"),
    ("nodiratime", "nodiratime"),
    ("bind", "propagation"),
    ("rbind", "propagation"),
    ("unbindable", "propagation"),
    ("runbindable", "propagation"),
    ("private", "propagation"),
    ("rprivate", "propagation"),
    ("shared", "propagation"),
    ("rshared", "propagation"),
    ("slave", "propagation"),
    ("rslave", "propagation"),
    ("relatime", "relatime"),
    ("norelatime", "relatime"),
    ("strictatime", "strictatime"),
    ("nostrictatime", "strictatime"),
];

/// The `key=value` options a tmpfs takes.
const TMPFS_DATA: [&str; 8] = [
    "",
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

/// The options of a tmpfs asked with `data` (`--tmpfs /path:data`): Docker's `noexec`,
/// `nosuid`, `nodev` and `rprivate`, then those asked, a later flag replacing an earlier
/// one of its kind and a later `key=value` one of its key (moby's `MergeTmpfsOptions`, with
/// its text for an option a tmpfs does not take).
pub fn tmpfs_options(data: &str) -> std::result::Result<Vec<String>, String> {
    let mut asked = vec!["noexec", "nosuid", "nodev", "rprivate"];
    if !data.is_empty() {
        asked.extend(data.split(','));
    }
    let mut flags = std::collections::HashSet::new();
    let mut keys = std::collections::HashSet::new();
    let mut out = Vec::new();
    for opt in asked.into_iter().rev() {
        if opt == "defaults" {
            continue;
        }
        if let Some((_, flag)) = TMPFS_FLAGS.iter().find(|(name, _)| *name == opt) {
            if flags.insert(*flag) {
                out.push(opt.to_string());
            }
            continue;
        }
        let parts: Vec<&str> = opt.splitn(2, '=').collect();
        if parts.len() != 2 || !TMPFS_DATA.contains(&parts[0]) {
            let quoted: Vec<String> = parts.iter().map(|p| format!("{p:?}")).collect();
            return Err(format!("invalid tmpfs option [{}]", quoted.join(" ")));
        }
        if keys.insert(parts[0]) {
            out.push(opt.to_string());
        }
    }
    out.reverse();
    Ok(out)
}

/// The masked paths with the host's `thermal_throttle` directories, as Docker adds them.
fn masked_paths() -> Vec<String> {
    let mut v: Vec<String> = MASKED_PATHS.iter().map(|s| s.to_string()).collect();
    for cpu in 0..4096 {
        let p = format!("/sys/devices/system/cpu/cpu{cpu}");
        if !std::path::Path::new(&p).exists() {
            break;
        }
        let t = format!("{p}/thermal_throttle");
        if std::path::Path::new(&t).exists() {
            v.push(t);
        }
    }
    v
}

/// The container's process: argv, environment, working directory, user (resolved in the
/// root's files), terminal, Docker's capabilities, no-new-privileges and rlimits.
fn process(o: &SpecOptions, hostname: &str) -> Result<Process> {
    let user = resolve_user_in(&o.rootfs, &o.user, &o.group_add)?;
    let caps = caps(&capabilities(&o.cap_add, &o.cap_drop)?)?;
    let mut capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .permitted(caps.clone())
        .effective(caps)
        .build()
        .map_err(spec_err)?;
    // The builder's defaults fill these; Docker leaves them empty.
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);
    let mut process = ProcessBuilder::default()
        .terminal(o.tty)
        .args(o.args.clone())
        .env(container_env(&o.env, hostname, o.tty))
        .cwd(if o.cwd.is_empty() { "/" } else { &o.cwd })
        .user(
            UserBuilder::default()
                .uid(user.uid)
                .gid(user.gid)
                .additional_gids(user.additional_gids.clone())
                .build()
                .map_err(spec_err)?,
        )
        .capabilities(capabilities)
        .no_new_privileges(o.no_new_privileges)
        .oom_score_adj(o.oom_score_adj)
        .build()
        .map_err(spec_err)?;
    let mut rlimits = Vec::new();
    for (name, soft, hard) in &o.ulimits {
        rlimits.push(
            PosixRlimitBuilder::default()
                .typ(rlimit_type(name)?)
                .soft(*soft)
                .hard(*hard)
                .build()
                .map_err(spec_err)?,
        );
    }
    // Docker sets only the rlimits asked for: the rest are inherited from the runtime.
    process.set_rlimits(Some(rlimits));
    Ok(process)
}

/// The OCI `process` for `<runtime> exec --process`: `o` is the container's options with
/// the exec's `args`, `env` (the container's with the exec's `-e` applied), `cwd`, `user` and
/// `tty`, so the process gets the container's capabilities and identity rules.
pub fn exec_process(o: &SpecOptions) -> Result<Process> {
    if o.args.is_empty() {
        return Err(RuntimeError::Invalid("no command specified".into()));
    }
    let hostname = o
        .hostname
        .clone()
        .unwrap_or_else(|| o.id.chars().take(12).collect());
    process(o, &hostname)
}

/// Builds the container's OCI runtime spec. Fails with Docker's texts when `user` names a
/// user or group the image lacks.
pub fn build(o: &SpecOptions) -> Result<Spec> {
    if o.args.is_empty() {
        return Err(RuntimeError::Invalid("no command specified".into()));
    }
    let hostname = o
        .hostname
        .clone()
        .unwrap_or_else(|| o.id.chars().take(12).collect());
    let process = process(o, &hostname)?;

    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["ro", "nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &[
                "nosuid",
                "noexec",
                "nodev",
                "mode=1777",
                &format!("size={}", o.shm_size.unwrap_or(67_108_864)),
            ],
        )?,
    ];
    // A tmpfs asked at one of Docker's own mount points replaces it (and, at `/dev`, every
    // one below), as moby filters its defaults under the user's mounts.
    let tmpfs_at = |d: &str| {
        o.tmpfs
            .iter()
            .any(|t| t.destination.trim_end_matches('/') == d)
    };
    let tmpfs_dev = tmpfs_at("/dev");
    mounts.retain(|m| {
        let d = m.destination().to_string_lossy();
        let replaced = tmpfs_at(&d) || (tmpfs_dev && d.starts_with("/dev/"));
        !replaced
    });
    if let Some(files) = &o.etc_files {
        let mode = if o.read_only { "ro" } else { "rw" };
        for (dest, src) in [
            ("/etc/resolv.conf", &files.resolv_conf),
            ("/etc/hostname", &files.hostname),
            ("/etc/hosts", &files.hosts),
        ] {
            mounts.push(
                MountBuilder::default()
                    .destination(dest)
                    .typ("bind")
                    .source(src.clone())
                    .options(vec!["rbind".into(), "rprivate".into(), mode.into()])
                    .build()
                    .map_err(spec_err)?,
            );
        }
    }

    let mut binds: Vec<&BindMount> = o.binds.iter().collect();
    // Docker's order: a mount point's parents are mounted before it.
    binds.sort_by_key(|b| b.destination.split('/').filter(|p| !p.is_empty()).count());
    let mut masks = Vec::new();
    for b in &binds {
        for hidden in &o.masked {
            let Ok(rel) = hidden.strip_prefix(&b.source) else {
                continue;
            };
            let Some(rel) = rel.to_str() else {
                return Err(RuntimeError::Invalid(format!(
                    "bind source {} holds {}, whose name is not UTF-8: it cannot be hidden",
                    b.source.display(),
                    hidden.display()
                )));
            };
            let dest = b.destination.trim_end_matches('/');
            masks.push(if rel.is_empty() {
                b.destination.clone()
            } else {
                format!("{dest}/{rel}")
            });
        }
    }
    let absolute = |dest: &str| -> Result<()> {
        if !dest.starts_with('/') || dest.split('/').any(|p| p == "..") {
            return Err(RuntimeError::Invalid(format!(
                "invalid mount path: '{dest}' mount path must be absolute"
            )));
        }
        Ok(())
    };
    // Binds, then tmpfs mounts, each after its parents (Docker sorts them together).
    let depth = |d: &str| d.split('/').filter(|p| !p.is_empty()).count();
    let mut user = Vec::new();
    for b in binds {
        absolute(&b.destination)?;
        user.push((
            depth(&b.destination),
            MountBuilder::default()
                .destination(&b.destination)
                .typ("bind")
                .source(b.source.clone())
                .options(vec![
                    "rbind".into(),
                    "rprivate".into(),
                    if b.read_only { "ro" } else { "rw" }.into(),
                ])
                .build()
                .map_err(spec_err)?,
        ));
    }
    for t in &o.tmpfs {
        absolute(&t.destination)?;
        let options = tmpfs_options(&t.data).map_err(RuntimeError::Invalid)?;
        user.push((
            depth(&t.destination),
            MountBuilder::default()
                .destination(&t.destination)
                .typ("tmpfs")
                .source("tmpfs")
                .options(options)
                .build()
                .map_err(spec_err)?,
        ));
    }
    user.sort_by_key(|(d, _)| *d);
    mounts.extend(user.into_iter().map(|(_, m)| m));
    for dest in masks {
        mounts.push(mount(
            &dest,
            "tmpfs",
            "tmpfs",
            &["ro", "nosuid", "nodev", "noexec", "mode=000", "size=4k"],
        )?);
    }

    let mut namespaces = Vec::new();
    let mut kinds = vec![LinuxNamespaceType::Mount];
    if o.network == NetworkMode::None {
        kinds.push(LinuxNamespaceType::Network);
    }
    kinds.extend([
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
    ]);
    if o.cgroup_v2 || o.cgroupns_private {
        kinds.push(LinuxNamespaceType::Cgroup);
    }
    for k in kinds {
        let mut ns = LinuxNamespaceBuilder::default().typ(k);
        if let (LinuxNamespaceType::Network, Some(p)) = (k, &o.netns) {
            ns = ns.path(p.clone());
        }
        namespaces.push(ns.build().map_err(spec_err)?);
    }

    let dev = |allow: bool, major: i64, minor: i64| {
        LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .typ(LinuxDeviceType::C)
            .major(major)
            .minor(minor)
            .access("rwm")
            .build()
            .map_err(spec_err)
    };
    let devices = vec![
        LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()
            .map_err(spec_err)?,
        dev(true, 1, 5)?,
        dev(true, 1, 3)?,
        dev(true, 1, 9)?,
        dev(true, 1, 8)?,
        dev(true, 5, 0)?,
        dev(true, 5, 1)?,
        dev(false, 10, 229)?,
    ];
    let mut resources = LinuxResourcesBuilder::default().devices(devices);
    if let Some(m) = o.memory {
        if m < 6 * 1024 * 1024 {
            return Err(RuntimeError::Invalid(
                "Minimum memory limit allowed is 6MB".into(),
            ));
        }
    }
    let mut mem = LinuxMemoryBuilder::default();
    let mut mem_set = false;
    if let Some(m) = o.memory {
        mem = mem.limit(m);
        mem_set = true;
        if o.swap_limit {
            // Docker's default `--memory-swap` is twice the memory limit.
            mem = mem.swap(o.memory_swap.unwrap_or(m * 2));
        }
    } else if let Some(s) = o.memory_swap {
        // Only `-1` (unlimited) comes without a memory limit.
        mem = mem.swap(s);
        mem_set = true;
    }
    if let Some(r) = o.memory_reservation {
        mem = mem.reservation(r);
        mem_set = true;
    }
    if let Some(s) = o.memory_swappiness {
        mem = mem.swappiness(s);
        mem_set = true;
    }
    if o.oom_kill_disable {
        mem = mem.disable_oom_killer(true);
        mem_set = true;
    }
    if mem_set {
        resources = resources.memory(mem.build().map_err(spec_err)?);
    }
    let mut cpu = LinuxCpuBuilder::default();
    let mut cpu_set = false;
    if let Some(n) = o.nano_cpus {
        if n <= 0 {
            return Err(RuntimeError::Invalid(format!(
                "invalid argument: cpus must be positive, got {n}"
            )));
        }
        let quota = (n as i128 * CPU_PERIOD as i128 / 1_000_000_000) as i64;
        cpu = cpu.period(CPU_PERIOD).quota(quota.max(1000));
        cpu_set = true;
    }
    if let Some(p) = o.cpu_period {
        cpu = cpu.period(p);
        cpu_set = true;
    }
    if let Some(q) = o.cpu_quota {
        cpu = cpu.quota(q);
        cpu_set = true;
    }
    if let Some(s) = o.cpu_shares {
        cpu = cpu.shares(s);
        cpu_set = true;
    }
    if let Some(c) = &o.cpuset_cpus {
        cpu = cpu.cpus(c.clone());
        cpu_set = true;
    }
    if let Some(m) = &o.cpuset_mems {
        cpu = cpu.mems(m.clone());
        cpu_set = true;
    }
    if cpu_set {
        resources = resources.cpu(cpu.build().map_err(spec_err)?);
    }
    if let Some(p) = o.pids_limit {
        if p > 0 {
            resources = resources.pids(
                LinuxPidsBuilder::default()
                    .limit(p)
                    .build()
                    .map_err(spec_err)?,
            );
        }
    }

    let mut sysctl = HashMap::new();
    if o.network != NetworkMode::Host {
        sysctl.insert("net.ipv4.ip_unprivileged_port_start".into(), "0".into());
        sysctl.insert("net.ipv4.ping_group_range".into(), "0 2147483647".into());
    }
    for (k, v) in &o.sysctls {
        sysctl.insert(k.clone(), v.clone());
    }
    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces)
        .resources(resources.build().map_err(spec_err)?)
        .cgroups_path(PathBuf::from(&o.cgroups_path))
        .masked_paths(masked_paths())
        .readonly_paths(
            READONLY_PATHS
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .sysctl(sysctl)
        .devices(vec![]);
    if !o.seccomp_unconfined {
        // The profile allows what the container's capabilities allow (moby's rule).
        let caps = capabilities(&o.cap_add, &o.cap_drop)?;
        linux = linux.seccomp(seccomp::default_profile(
            seccomp::host_arch(),
            &caps,
            seccomp::host_kernel(),
        )?);
    }
    SpecBuilder::default()
        .version("1.0.2")
        .root(
            RootBuilder::default()
                .path(o.rootfs.clone())
                .readonly(o.read_only)
                .build()
                .map_err(spec_err)?,
        )
        .mounts(mounts)
        .process(process)
        .hostname(hostname)
        .linux(linux.build().map_err(spec_err)?)
        .build()
        .map_err(spec_err)
}

/// Writes `spec` as `<bundle>/config.json`.
pub fn write_bundle(bundle: &std::path::Path, spec: &Spec) -> Result<()> {
    let path = bundle.join("config.json");
    let json = serde_json::to_vec_pretty(spec)
        .map_err(|e| RuntimeError::Invalid(format!("runtime spec: {e}")))?;
    std::fs::write(&path, json)
        .map_err(|e| RuntimeError::io(format!("write {}", path.display()), e))
}

/// Docker's own `/etc/hosts` entries (moby's `etchosts` defaults).
const DEFAULT_HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// A container's `/etc/hosts` as moby writes it: Docker's entries then each `--add-host`
/// one (`<address>\t<names>`); on the host's network without `--add-host`, the host's file
/// (`host`) as it is. A bridge network appends the container's own entry later.
pub fn hosts_file(host: &str, network: NetworkMode, extra_hosts: &[(String, String)]) -> String {
    if network == NetworkMode::Host && extra_hosts.is_empty() {
        return host.to_string();
    }
    let mut out = DEFAULT_HOSTS.to_string();
    for (names, addr) in extra_hosts {
        out.push_str(&format!("{addr}\t{names}\n"));
    }
    out
}

/// The file moby takes the host's resolver configuration from (`resolvconf.Path`):
/// `/etc/resolv.conf`, or systemd-resolved's list of upstream servers when that file names
/// only the resolver's local stub (`127.0.0.53`, which no container reaches). `None` when
/// neither can be read.
fn host_resolv_conf() -> Option<(String, String)> {
    const DEFAULT: &str = "/etc/resolv.conf";
    const SYSTEMD: &str = "/run/systemd/resolve/resolv.conf";
    let text = std::fs::read_to_string(DEFAULT).ok()?;
    let servers: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            (f.next() == Some("nameserver")).then(|| f.next()).flatten()
        })
        .collect();
    if servers == ["127.0.0.53"] {
        if let Ok(t) = std::fs::read_to_string(SYSTEMD) {
            return Some((SYSTEMD.to_string(), t));
        }
    }
    Some((DEFAULT.to_string(), text))
}

/// A name server's address as Go's `netip.ParseAddr` reads it (an IPv6 zone kept), with the
/// way moby writes it.
pub fn parse_nameserver(s: &str) -> Option<(std::net::IpAddr, String)> {
    let (addr, zone) = match s.split_once('%') {
        Some((a, z)) if !z.is_empty() => (a, Some(z)),
        Some(_) => return None,
        None => (s, None),
    };
    let ip: std::net::IpAddr = addr.parse().ok()?;
    if zone.is_some() && !ip.is_ipv6() {
        return None;
    }
    let shown = match zone {
        Some(z) => format!("{ip}%{z}"),
        None => ip.to_string(),
    };
    Some((ip, shown))
}

/// Whether a name server can be reached from a container's own network namespace: not on
/// the host's loopback, and not IPv6 (a container's network has none).
fn reachable_from_container(ip: &std::net::IpAddr) -> bool {
    !ip.is_loopback() && ip.is_ipv4()
}

/// A container's `/etc/resolv.conf` as moby 28 writes it (its `resolvconf` package): the
/// host's file (`host`, read from `source`) parsed — name servers, the last `search` or
/// `domain`, every `options`, other directives kept as they are —, then `--dns`,
/// `--dns-search` (`.` for none) and `--dns-option` each replacing its part, then, off the
/// host's network, the legacy network's rule (the host's loopback and IPv6 name servers
/// dropped, Google's when none is left); between Docker's header and its comments on how the
/// file was made. A `--dns` that is no address is refused with moby's text.
pub fn resolv_conf(
    host: &str,
    source: &str,
    network: NetworkMode,
    etc: &EtcOptions,
) -> Result<String> {
    let mut servers: Vec<(std::net::IpAddr, String)> = Vec::new();
    let mut invalid: Vec<String> = Vec::new();
    let mut search: Vec<String> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    let mut other: Vec<&str> = Vec::new();
    for line in host.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = fields.first() else {
            continue;
        };
        if first.starts_with('#') || first.starts_with(';') {
            continue;
        }
        match *first {
            "nameserver" if fields.len() >= 2 => match parse_nameserver(fields[1]) {
                Some(ns) => servers.push(ns),
                None => invalid.push(fields[1].to_string()),
            },
            "domain" | "search" if fields.len() >= 2 => {
                search = fields[1..].iter().map(|s| s.to_string()).collect();
            }
            "options" if fields.len() >= 2 => {
                options.extend(fields[1..].iter().map(|s| s.to_string()));
            }
            "nameserver" | "domain" | "search" | "options" => {}
            _ => other.push(line),
        }
    }
    let has_ndots = |o: &[String]| o.iter().any(|o| o.split(':').next() == Some("ndots"));
    let mut ndots_from = if has_ndots(&options) { "host" } else { "" };
    let mut overrides = Vec::new();
    if !etc.dns.is_empty() {
        servers = etc
            .dns
            .iter()
            .map(|ns| {
                parse_nameserver(ns).ok_or_else(|| {
                    RuntimeError::Invalid(format!(
                        "bad nameserver address {ns}: ParseAddr({ns:?}): unable to parse IP"
                    ))
                })
            })
            .collect::<Result<_>>()?;
        overrides.push("nameservers");
    }
    if !etc.dns_search.is_empty() {
        search = etc
            .dns_search
            .iter()
            .filter(|s| *s != ".")
            .cloned()
            .collect();
        overrides.push("search");
    }
    if !etc.dns_options.is_empty() {
        options = etc.dns_options.clone();
        ndots_from = if has_ndots(&options) { "override" } else { "" };
        overrides.push("options");
    }
    let mut warnings = Vec::new();
    let legacy = network != NetworkMode::Host;
    if legacy && etc.dns.is_empty() {
        servers.retain(|(ip, _)| reachable_from_container(ip));
        if servers.is_empty() {
            servers = ["8.8.8.8", "8.8.4.4"]
                .iter()
                .filter_map(|s| parse_nameserver(s))
                .collect();
            warnings.push("Used default nameservers.");
        }
    }
    let mut out = String::from(
        "# Generated by Docker Engine.\n# This file can be edited; Docker Engine will not make further changes once it\n# has been modified.\n\n",
    );
    for (_, shown) in &servers {
        out.push_str(&format!("nameserver {shown}\n"));
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    if !other.is_empty() {
        out.push_str(&other.join("\n"));
        out.push('\n');
    }
    out.push_str(&format!("\n# Based on host file: '{source}'"));
    if legacy {
        out.push_str(" (legacy)");
    }
    out.push('\n');
    for w in warnings {
        out.push_str(&format!("# {w}\n"));
    }
    if !invalid.is_empty() {
        out.push_str(&format!("# Invalid nameservers: [{}]\n", invalid.join(" ")));
    }
    out.push_str(&format!("# Overrides: [{}]\n", overrides.join(" ")));
    if !ndots_from.is_empty() {
        out.push_str(&format!("# Option ndots from: {ndots_from}\n"));
    }
    Ok(out)
}

/// Writes the per-container `hostname`, `hosts` and `resolv.conf` into `dir` as Docker
/// provides them, with no `--add-host` or `--dns*` ([`write_etc_files_with`]).
pub fn write_etc_files(
    dir: &std::path::Path,
    hostname: &str,
    network: NetworkMode,
) -> Result<EtcFiles> {
    write_etc_files_with(dir, hostname, network, &EtcOptions::default())
}

/// Writes the per-container `hostname`, `hosts` ([`hosts_file`]) and `resolv.conf`
/// ([`resolv_conf`], from the host's) into `dir`, with `etc`'s entries and name servers.
pub fn write_etc_files_with(
    dir: &std::path::Path,
    hostname: &str,
    network: NetworkMode,
    etc: &EtcOptions,
) -> Result<EtcFiles> {
    let files = EtcFiles {
        hostname: dir.join("hostname"),
        hosts: dir.join("hosts"),
        resolv_conf: dir.join("resolv.conf"),
    };
    let w = |p: &PathBuf, s: String| {
        std::fs::write(p, s).map_err(|e| RuntimeError::io(format!("write {}", p.display()), e))
    };
    let (source, host) = host_resolv_conf().unwrap_or_default();
    let resolv = resolv_conf(&host, &source, network, etc)?;
    w(&files.hostname, format!("{hostname}\n"))?;
    let host_hosts = match network {
        NetworkMode::Host => std::fs::read_to_string("/etc/hosts").unwrap_or_default(),
        NetworkMode::None => String::new(),
    };
    w(
        &files.hosts,
        hosts_file(&host_hosts, network, &etc.extra_hosts),
    )?;
    w(&files.resolv_conf, resolv)?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn opts(root: &std::path::Path) -> SpecOptions {
        SpecOptions {
            id: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into(),
            rootfs: root.to_path_buf(),
            args: vec!["sh".into()],
            cgroups_path: "/strata/x".into(),
            ..Default::default()
        }
    }

    fn json_of(o: &SpecOptions) -> Value {
        serde_json::to_value(build(o).unwrap()).unwrap()
    }

    #[test]
    fn docker_defaults() {
        let d = tempfile::tempdir().unwrap();
        let v = json_of(&opts(d.path()));
        assert_eq!(v["hostname"], "0123456789ab");
        let p = &v["process"];
        assert_eq!(p["cwd"], "/");
        assert_eq!(p["terminal"], false);
        assert_eq!(p["user"]["uid"], 0);
        assert_eq!(p["noNewPrivileges"], false);
        assert_eq!(
            p["env"],
            json!([format!("PATH={DEFAULT_PATH}"), "HOSTNAME=0123456789ab"])
        );
        assert_eq!(p["rlimits"], json!([]));
        for set in ["bounding", "permitted", "effective"] {
            let mut got: Vec<String> =
                serde_json::from_value(p["capabilities"][set].clone()).unwrap();
            got.sort();
            let mut want: Vec<String> = DEFAULT_CAPS.iter().map(|s| s.to_string()).collect();
            want.sort();
            assert_eq!(got, want, "{set}");
        }
        assert!(p["capabilities"].get("inheritable").is_none());
        assert!(p["capabilities"].get("ambient").is_none());
        let mounts: Vec<(String, String, Vec<String>)> = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["destination"].as_str().unwrap().to_string(),
                    m["type"].as_str().unwrap().to_string(),
                    serde_json::from_value(m["options"].clone()).unwrap(),
                )
            })
            .collect();
        let dests: Vec<&str> = mounts.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm"
            ]
        );
        assert!(mounts[3].2.contains(&"ro".to_string()));
        assert!(mounts[4].2.contains(&"ro".to_string()));
        let l = &v["linux"];
        let ns: Vec<&str> = l["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert_eq!(ns, ["mount", "network", "uts", "pid", "ipc"]);
        assert!(l["namespaces"][1].get("path").is_none());
        // A bridge network's namespace is joined by its path.
        let mut o = opts(d.path());
        o.netns = Some(PathBuf::from("/data/containers/x/netns"));
        assert_eq!(
            json_of(&o)["linux"]["namespaces"][1],
            json!({"type": "network", "path": "/data/containers/x/netns"})
        );
        let masked: Vec<String> = serde_json::from_value(l["maskedPaths"].clone()).unwrap();
        assert_eq!(masked[..12], MASKED_PATHS.map(String::from));
        assert_eq!(
            l["readonlyPaths"],
            json!([
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger"
            ])
        );
        assert_eq!(l["cgroupsPath"], "/strata/x");
        assert_eq!(l["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(
            l["resources"]["devices"][0],
            json!({"allow": false, "access": "rwm"})
        );
        assert_eq!(l["resources"]["devices"].as_array().unwrap().len(), 8);
        assert!(l["resources"].get("memory").is_none());
        assert_eq!(l["sysctl"]["net.ipv4.ip_unprivileged_port_start"], "0");
        assert_eq!(v["root"]["readonly"], false);
    }

    #[test]
    fn asked_for_options() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "root:x:0:\napp:x:1001:\nextra:x:7:app\n",
        )
        .unwrap();
        let files = write_etc_files(d.path(), "0123456789ab", NetworkMode::None).unwrap();
        let mut o = opts(d.path());
        o.tty = true;
        o.user = "app".into();
        o.cwd = "/srv".into();
        o.env = vec!["PATH=/opt/bin".into(), "A=1".into()];
        o.network = NetworkMode::Host;
        o.no_new_privileges = true;
        o.read_only = true;
        o.memory = Some(8 << 20);
        o.swap_limit = true;
        o.nano_cpus = Some(1_500_000_000);
        o.pids_limit = Some(100);
        o.ulimits = vec![("nofile".into(), 1024, 2048)];
        o.etc_files = Some(files);
        let v = json_of(&o);
        let p = &v["process"];
        assert_eq!(p["terminal"], true);
        assert_eq!(p["cwd"], "/srv");
        assert_eq!(
            p["user"],
            json!({"uid": 1000, "gid": 1001, "additionalGids": [1001, 7]})
        );
        assert_eq!(
            p["env"],
            json!([
                "PATH=/opt/bin",
                "HOSTNAME=0123456789ab",
                "TERM=xterm",
                "A=1"
            ])
        );
        assert_eq!(p["noNewPrivileges"], true);
        assert_eq!(
            p["rlimits"],
            json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048}])
        );
        let l = &v["linux"];
        assert!(!l["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "network"));
        assert!(l.get("sysctl").is_none() || l["sysctl"] == json!({}));
        assert_eq!(
            l["resources"]["memory"],
            json!({"limit": 8388608, "swap": 16777216})
        );
        assert_eq!(
            l["resources"]["cpu"],
            json!({"quota": 150000, "period": 100000})
        );
        assert_eq!(l["resources"]["pids"], json!({"limit": 100}));
        assert_eq!(v["root"]["readonly"], true);
        let m = v["mounts"].as_array().unwrap();
        let etc: Vec<&str> = m[7..]
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect();
        assert_eq!(etc, ["/etc/resolv.conf", "/etc/hostname", "/etc/hosts"]);
        assert_eq!(m[7]["options"], json!(["rbind", "rprivate", "ro"]));
        assert_eq!(
            std::fs::read_to_string(d.path().join("hostname")).unwrap(),
            "0123456789ab\n"
        );
    }

    fn cap_set(v: &Value, set: &str) -> Vec<String> {
        let mut got: Vec<String> =
            serde_json::from_value(v["process"]["capabilities"][set].clone()).unwrap();
        got.sort();
        got
    }

    #[test]
    fn cap_add_and_drop_as_moby_tweaks_them() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let caps = capabilities(&s(&["net_admin", "CAP_SYS_PTRACE"]), &s(&["chown"])).unwrap();
        assert!(caps.contains(&"CAP_NET_ADMIN".into()));
        assert!(caps.contains(&"CAP_SYS_PTRACE".into()));
        assert!(!caps.contains(&"CAP_CHOWN".into()));
        assert_eq!(caps.len(), DEFAULT_CAPS.len() + 1);
        assert_eq!(
            capabilities(&s(&["kill"]), &s(&["all"])).unwrap(),
            ["CAP_KILL"]
        );
        assert_eq!(
            capabilities(&s(&["ALL"]), &s(&["CHOWN"])).unwrap().len(),
            40
        );
        // An added default is not listed twice.
        assert_eq!(
            capabilities(&s(&["CHOWN"]), &[]).unwrap().len(),
            DEFAULT_CAPS.len()
        );
        assert_eq!(
            capabilities(&s(&["FOO"]), &[]).unwrap_err().to_string(),
            "invalid CapAdd: unknown capability: \"CAP_FOO\""
        );
        assert_eq!(
            capabilities(&[], &s(&["cap_bar"])).unwrap_err().to_string(),
            "invalid CapDrop: unknown capability: \"CAP_BAR\""
        );
        // The spec's three sets and the seccomp profile follow.
        let d = tempfile::tempdir().unwrap();
        let mut o = opts(d.path());
        o.cap_add = s(&["SYS_PTRACE"]);
        o.cap_drop = s(&["CHOWN", "NET_RAW"]);
        let v = json_of(&o);
        for set in ["bounding", "permitted", "effective"] {
            let got = cap_set(&v, set);
            assert!(got.contains(&"CAP_SYS_PTRACE".into()), "{set}");
            assert!(!got.contains(&"CAP_CHOWN".into()), "{set}");
            assert_eq!(got.len(), DEFAULT_CAPS.len() - 1, "{set}");
        }
        let names: Vec<String> = v["linux"]["seccomp"]["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "SCMP_ACT_ALLOW")
            .flat_map(|r| serde_json::from_value::<Vec<String>>(r["names"].clone()).unwrap())
            .collect();
        assert!(names.iter().any(|n| n == "process_vm_readv"));
    }

    #[test]
    fn group_add_sysctls_and_resources() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh
nobody:x:65534:65534::/:/bin/sh
",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "root:x:0:
extra:x:7:
",
        )
        .unwrap();
        let mut o = opts(d.path());
        o.user = "nobody".into();
        o.group_add = vec!["extra".into(), "123".into()];
        o.sysctls = [("kernel.shm_rmid_forced".to_string(), "1".to_string())].into();
        o.memory = Some(64 << 20);
        o.swap_limit = true;
        o.memory_swap = Some(128 << 20);
        o.memory_reservation = Some(32 << 20);
        o.memory_swappiness = Some(10);
        o.oom_kill_disable = true;
        o.oom_score_adj = 500;
        o.cpu_shares = Some(512);
        o.cpu_period = Some(50_000);
        o.cpu_quota = Some(25_000);
        o.shm_size = Some(1 << 20);
        o.cgroupns_private = true;
        let v = json_of(&o);
        assert_eq!(
            v["process"]["user"],
            json!({"uid": 65534, "gid": 65534, "additionalGids": [65534, 7, 123]})
        );
        assert_eq!(v["process"]["oomScoreAdj"], 500);
        let l = &v["linux"];
        assert_eq!(l["sysctl"]["kernel.shm_rmid_forced"], "1");
        assert_eq!(l["sysctl"]["net.ipv4.ip_unprivileged_port_start"], "0");
        assert_eq!(
            l["resources"]["memory"],
            json!({"limit": 67108864, "swap": 134217728, "reservation": 33554432,
                   "swappiness": 10, "disableOOMKiller": true})
        );
        assert_eq!(
            l["resources"]["cpu"],
            json!({"shares": 512, "period": 50000, "quota": 25000})
        );
        assert!(l["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "cgroup"));
        let shm = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destination"] == "/dev/shm")
            .unwrap();
        assert!(shm["options"]
            .as_array()
            .unwrap()
            .contains(&json!("size=1048576")));
        o.group_add = vec!["wheel".into()];
        assert_eq!(
            build(&o).unwrap_err().to_string(),
            "Unable to find group wheel: no matching entries in group file"
        );
    }

    #[test]
    fn binds_after_docker_mounts_parents_first() {
        let d = tempfile::tempdir().unwrap();
        let mut o = opts(d.path());
        o.binds = vec![
            BindMount {
                source: "/srv/a/b".into(),
                destination: "/data/sub".into(),
                read_only: false,
            },
            BindMount {
                source: "/srv/a".into(),
                destination: "/data".into(),
                read_only: true,
            },
        ];
        let v = json_of(&o);
        let m = v["mounts"].as_array().unwrap();
        assert_eq!(
            m[7],
            json!({"destination": "/data", "type": "bind", "source": "/srv/a",
                   "options": ["rbind", "rprivate", "ro"]})
        );
        assert_eq!(m[8]["destination"], "/data/sub");
        assert_eq!(m[8]["options"], json!(["rbind", "rprivate", "rw"]));
        o.binds[0].destination = "/data/../etc".into();
        assert_eq!(
            build(&o).unwrap_err().to_string(),
            "invalid mount path: '/data/../etc' mount path must be absolute"
        );
    }

    #[test]
    fn bad_input_is_refused_with_docker_texts() {
        let d = tempfile::tempdir().unwrap();
        let mut o = opts(d.path());
        o.user = "nobody".into();
        assert_eq!(
            build(&o).unwrap_err().to_string(),
            "unable to find user nobody: no matching entries in passwd file"
        );
        let mut o = opts(d.path());
        o.memory = Some(1 << 20);
        assert_eq!(
            build(&o).unwrap_err().to_string(),
            "Minimum memory limit allowed is 6MB"
        );
        let mut o = opts(d.path());
        o.ulimits = vec![("bogus".into(), 1, 1)];
        assert_eq!(
            build(&o).unwrap_err().to_string(),
            "invalid ulimit type: bogus"
        );
    }

    const HEADER: &str = "# Generated by Docker Engine.\n# This file can be edited; Docker Engine will not make further changes once it\n# has been modified.\n\n";

    #[test]
    fn resolv_conf_as_moby_writes_it() {
        let host = "# the host's\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver 2001:db8::1\nnameserver bogus\nsearch a.example b.example\noptions ndots:3\noptions edns0\nsortlist 10.0.0.0/8\n";
        let none = EtcOptions::default();
        // A container's own network: the host's loopback and IPv6 servers dropped.
        assert_eq!(
            resolv_conf(host, "/etc/resolv.conf", NetworkMode::None, &none).unwrap(),
            format!(
                "{HEADER}nameserver 10.0.0.2\nsearch a.example b.example\noptions ndots:3 edns0\nsortlist 10.0.0.0/8\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Invalid nameservers: [bogus]\n# Overrides: []\n# Option ndots from: host\n"
            )
        );
        // The host's network keeps them all.
        assert_eq!(
            resolv_conf("nameserver 127.0.0.53\n", "/etc/resolv.conf", NetworkMode::Host, &none)
                .unwrap(),
            format!("{HEADER}nameserver 127.0.0.53\n\n# Based on host file: '/etc/resolv.conf'\n# Overrides: []\n")
        );
        // None left: Google's.
        assert_eq!(
            resolv_conf("nameserver 127.0.0.1\n", "/etc/resolv.conf", NetworkMode::None, &none)
                .unwrap(),
            format!("{HEADER}nameserver 8.8.8.8\nnameserver 8.8.4.4\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Used default nameservers.\n# Overrides: []\n")
        );
        // `--dns`, `--dns-search`, `--dns-option` replace their parts, loopback and all.
        let asked = EtcOptions {
            dns: vec!["192.0.2.1".into(), "127.0.0.1".into()],
            dns_search: vec!["example.com".into()],
            dns_options: vec!["ndots:2".into(), "timeout:1".into()],
            ..Default::default()
        };
        assert_eq!(
            resolv_conf(host, "/etc/resolv.conf", NetworkMode::None, &asked).unwrap(),
            format!(
                "{HEADER}nameserver 192.0.2.1\nnameserver 127.0.0.1\nsearch example.com\noptions ndots:2 timeout:1\nsortlist 10.0.0.0/8\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Invalid nameservers: [bogus]\n# Overrides: [nameservers search options]\n# Option ndots from: override\n"
            )
        );
        // `--dns-search .` is no search domain; options without ndots say nothing of it.
        let dot = EtcOptions {
            dns_search: vec![".".into()],
            dns_options: vec!["edns0".into()],
            ..Default::default()
        };
        assert_eq!(
            resolv_conf("nameserver 10.0.0.2\nsearch x\n", "", NetworkMode::None, &dot).unwrap(),
            format!("{HEADER}nameserver 10.0.0.2\noptions edns0\n\n# Based on host file: '' (legacy)\n# Overrides: [search options]\n")
        );
        let bad = EtcOptions {
            dns: vec!["x".into()],
            ..Default::default()
        };
        assert_eq!(
            resolv_conf("", "", NetworkMode::None, &bad)
                .unwrap_err()
                .to_string(),
            "bad nameserver address x: ParseAddr(\"x\"): unable to parse IP"
        );
    }

    #[test]
    fn hosts_as_moby_writes_them() {
        let extra = vec![
            ("foo".to_string(), "192.0.2.7".to_string()),
            ("v6 six".to_string(), "2001:db8::7".to_string()),
        ];
        assert_eq!(
            hosts_file("", NetworkMode::None, &extra),
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n192.0.2.7\tfoo\n2001:db8::7\tv6 six\n"
        );
        // The host's network: the host's file, unless entries are added.
        assert_eq!(
            hosts_file("10.1.1.1 h\n", NetworkMode::Host, &[]),
            "10.1.1.1 h\n"
        );
        assert!(hosts_file("10.1.1.1 h\n", NetworkMode::Host, &extra)
            .starts_with("127.0.0.1\tlocalhost\n"));
        let d = tempfile::tempdir().unwrap();
        let etc = EtcOptions {
            extra_hosts: extra,
            ..Default::default()
        };
        let files = write_etc_files_with(d.path(), "h", NetworkMode::None, &etc).unwrap();
        let hosts = std::fs::read_to_string(files.hosts).unwrap();
        assert!(hosts.ends_with("ff02::2\tip6-allrouters\n192.0.2.7\tfoo\n2001:db8::7\tv6 six\n"));
        let resolv = std::fs::read_to_string(files.resolv_conf).unwrap();
        assert!(resolv.starts_with(HEADER), "{resolv}");
    }

    #[test]
    fn tmpfs_options_as_moby_merges_them() {
        assert_eq!(
            tmpfs_options("").unwrap(),
            ["noexec", "nosuid", "nodev", "rprivate"]
        );
        assert_eq!(
            tmpfs_options("size=1m").unwrap(),
            ["noexec", "nosuid", "nodev", "rprivate", "size=1m"]
        );
        // A later flag replaces an earlier one of its kind, a later value one of its key.
        assert_eq!(
            tmpfs_options("rw,exec,size=1m,mode=1777,size=2m,shared,defaults").unwrap(),
            [
                "nosuid",
                "nodev",
                "rw",
                "exec",
                "mode=1777",
                "size=2m",
                "shared"
            ]
        );
        assert_eq!(
            tmpfs_options("foo").unwrap_err(),
            "invalid tmpfs option [\"foo\"]"
        );
        assert_eq!(
            tmpfs_options("size=1m,bar=2").unwrap_err(),
            "invalid tmpfs option [\"bar\" \"2\"]"
        );
        assert_eq!(
            tmpfs_options("size=1m,").unwrap_err(),
            "invalid tmpfs option [\"\"]"
        );
    }

    #[test]
    fn tmpfs_mounts_and_cpusets() {
        let d = tempfile::tempdir().unwrap();
        let mut o = opts(d.path());
        o.binds = vec![BindMount {
            source: "/srv/a".into(),
            destination: "/data/sub".into(),
            read_only: false,
        }];
        o.tmpfs = vec![
            TmpfsMount {
                destination: "/scratch".into(),
                data: "size=1m".into(),
            },
            TmpfsMount {
                destination: "/data".into(),
                data: String::new(),
            },
            TmpfsMount {
                destination: "/dev/shm".into(),
                data: "size=2m,exec".into(),
            },
        ];
        o.cpuset_cpus = Some("0".into());
        o.cpuset_mems = Some("0".into());
        let v = json_of(&o);
        let m = v["mounts"].as_array().unwrap();
        let dests: Vec<&str> = m
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect();
        // Docker's `/dev/shm` gives way to the one asked; parents come before children.
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/scratch",
                "/data",
                "/data/sub",
                "/dev/shm"
            ]
        );
        assert_eq!(
            m[6],
            json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                   "options": ["noexec", "nosuid", "nodev", "rprivate", "size=1m"]})
        );
        assert_eq!(
            m[9]["options"],
            json!(["nosuid", "nodev", "rprivate", "size=2m", "exec"])
        );
        assert_eq!(
            v["linux"]["resources"]["cpu"],
            json!({"cpus": "0", "mems": "0"})
        );
        // A tmpfs at /dev replaces every default mount below it.
        o.tmpfs = vec![TmpfsMount {
            destination: "/dev".into(),
            data: String::new(),
        }];
        o.binds.clear();
        let v = json_of(&o);
        let dests: Vec<&str> = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect();
        assert_eq!(dests, ["/proc", "/sys", "/sys/fs/cgroup", "/dev"]);
        o.tmpfs[0].data = "foo".into();
        assert_eq!(
            build(&o).unwrap_err().to_string(),
            "invalid tmpfs option [\"foo\"]"
        );
        o.tmpfs[0] = TmpfsMount {
            destination: "rel".into(),
            data: String::new(),
        };
        assert_eq!(
            build(&o).unwrap_err().to_string(),
            "invalid mount path: 'rel' mount path must be absolute"
        );
    }
}
