//! `spec`: the OCI runtime `config.json` of a container, with Docker's defaults.
//!
//! What Docker puts in every container's spec (moby's `DefaultLinuxSpec` and the daemon's
//! options): the 14 default capabilities, the masked and read-only `/proc` paths, `/proc`,
//! `/dev` (tmpfs), `/dev/pts`, `/dev/shm`, `/dev/mqueue`, `/sys` read-only and the cgroup
//! filesystem read-only; the pid, mount, ipc and uts namespaces and a network namespace
//! unless the network is `host`; the hostname; `/etc/hostname`, `/etc/hosts` and
//! `/etc/resolv.conf` bind-mounted from the container's directory; the device cgroup rules;
//! the default seccomp profile; and what the user asked (limits, user, no-new-privileges).

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
    /// Binds and volumes, mounted after Docker's own mounts, parents before children.
    pub binds: Vec<BindMount>,
    /// Host directories no bind may show (the store's data directory), canonical: a bind
    /// whose source holds one (`-v /:/host`) gets an empty read-only tmpfs over the place
    /// where it appears in the container, after every bind.
    pub masked: Vec<PathBuf>,
}

fn caps() -> Result<oci_spec::runtime::Capabilities> {
    DEFAULT_CAPS
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
    let user = resolve_user_in(&o.rootfs, &o.user)?;
    let caps = caps()?;
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
        .oom_score_adj(0)
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
            &["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"],
        )?,
    ];
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
    for b in binds {
        if !b.destination.starts_with('/') || b.destination.split('/').any(|p| p == "..") {
            return Err(RuntimeError::Invalid(format!(
                "invalid mount path: '{}' mount path must be absolute",
                b.destination
            )));
        }
        mounts.push(
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
        );
    }
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
    if o.cgroup_v2 {
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
        let mut mem = LinuxMemoryBuilder::default().limit(m);
        if o.swap_limit {
            // Docker's default `--memory-swap` is twice the memory limit.
            mem = mem.swap(m * 2);
        }
        resources = resources.memory(mem.build().map_err(spec_err)?);
    }
    if let Some(n) = o.nano_cpus {
        if n <= 0 {
            return Err(RuntimeError::Invalid(format!(
                "invalid argument: cpus must be positive, got {n}"
            )));
        }
        let quota = (n as i128 * CPU_PERIOD as i128 / 1_000_000_000) as i64;
        resources = resources.cpu(
            LinuxCpuBuilder::default()
                .period(CPU_PERIOD)
                .quota(quota.max(1000))
                .build()
                .map_err(spec_err)?,
        );
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
        let caps: Vec<String> = DEFAULT_CAPS.iter().map(|s| s.to_string()).collect();
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

/// Writes the per-container `hostname`, `hosts` and `resolv.conf` into `dir` as Docker
/// provides them (`resolv.conf` from the host's, without loopback name servers, which a
/// container's own network namespace cannot reach; Google's DNS servers when none is left).
pub fn write_etc_files(
    dir: &std::path::Path,
    hostname: &str,
    network: NetworkMode,
) -> Result<EtcFiles> {
    let files = EtcFiles {
        hostname: dir.join("hostname"),
        hosts: dir.join("hosts"),
        resolv_conf: dir.join("resolv.conf"),
    };
    let w = |p: &PathBuf, s: String| {
        std::fs::write(p, s).map_err(|e| RuntimeError::io(format!("write {}", p.display()), e))
    };
    w(&files.hostname, format!("{hostname}\n"))?;
    let hosts = match network {
        NetworkMode::Host => std::fs::read_to_string("/etc/hosts").unwrap_or_default(),
        NetworkMode::None => "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n".to_string(),
    };
    w(&files.hosts, hosts)?;
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let resolv = match network {
        NetworkMode::Host => host,
        NetworkMode::None => {
            let mut out = String::new();
            let mut servers = 0;
            for line in host.lines() {
                let mut f = line.split_whitespace();
                if f.next() == Some("nameserver") {
                    let ip = f.next().unwrap_or("");
                    if ip.starts_with("127.") || ip == "::1" {
                        continue;
                    }
                    servers += 1;
                }
                out.push_str(line);
                out.push('\n');
            }
            if servers == 0 {
                out.push_str("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
            }
            out
        }
    };
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
            json!({"uid": 1000, "gid": 1001, "additionalGids": [7]})
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
}
