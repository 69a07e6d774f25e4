//! Verbs of running containers: `run`, `start`, `stop`, `kill`, `wait`, `logs`, `pause`,
//! `unpause`, `restart`, `info`, and the hidden `monitor` the engine starts per container.

use crate::Exit;
use clap::Args;
use engine::runtime::monitor::{self, Event};
use engine::{CreateOptions, Engine, EngineError};
use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};

/// The flags `create` and `run` share.
#[derive(Args, Debug, Clone)]
pub struct ContainerFlags {
    /// Assign a name to the container
    #[arg(long = "name")]
    pub name: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long = "entrypoint")]
    pub entrypoint: Option<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Automatically remove the container when it exits
    #[arg(long = "rm")]
    pub rm: bool,
    /// Connect a container to a network (bridge, host or none; default bridge)
    #[arg(long = "network", visible_alias = "net")]
    pub network: Option<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long = "expose")]
    pub expose: Vec<String>,
    /// Container host name
    #[arg(long = "hostname")]
    pub hostname: Option<String>,
    /// Memory limit (e.g. 8m, 1g)
    #[arg(short = 'm', long = "memory")]
    pub memory: Option<String>,
    /// Number of CPUs
    #[arg(long = "cpus")]
    pub cpus: Option<f64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Signal to stop the container
    #[arg(long = "stop-signal")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout", allow_negative_numbers = true)]
    pub stop_timeout: Option<i64>,
    /// Security options (no-new-privileges, seccomp=unconfined)
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// Give extended privileges to this container (refused: a container never reaches the host)
    #[arg(long = "privileged")]
    pub privileged: bool,
    /// Add Linux capabilities
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Add additional groups to join
    #[arg(long = "group-add")]
    pub group_add: Vec<String>,
    /// Sysctl options
    #[arg(long = "sysctl")]
    pub sysctl: Vec<String>,
    /// PID namespace to use
    #[arg(long = "pid")]
    pub pid: Option<String>,
    /// IPC mode to use
    #[arg(long = "ipc")]
    pub ipc: Option<String>,
    /// UTS namespace to use
    #[arg(long = "uts")]
    pub uts: Option<String>,
    /// User namespace to use
    #[arg(long = "userns")]
    pub userns: Option<String>,
    /// Cgroup namespace to use (host|private)
    #[arg(long = "cgroupns")]
    pub cgroupns: Option<String>,
    /// Add a host device to the container (refused: a container never reaches the host)
    #[arg(long = "device")]
    pub device: Vec<String>,
    /// Add a rule to the cgroup allowed devices list (refused)
    #[arg(long = "device-cgroup-rule")]
    pub device_cgroup_rule: Vec<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", allow_negative_numbers = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    /// Tune container memory swappiness (0 to 100)
    #[arg(long = "memory-swappiness", allow_negative_numbers = true)]
    pub memory_swappiness: Option<i64>,
    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable")]
    pub oom_kill_disable: bool,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long = "oom-score-adj", allow_negative_numbers = true)]
    pub oom_score_adj: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", allow_negative_numbers = true)]
    pub cpu_quota: Option<i64>,
    /// Size of /dev/shm
    #[arg(long = "shm-size")]
    pub shm_size: Option<String>,
    /// Ulimit options
    #[arg(long = "ulimit")]
    pub ulimit: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long = "dns")]
    pub dns: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// Mount a tmpfs directory
    #[arg(long = "tmpfs")]
    pub tmpfs: Vec<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Logging driver for the container
    #[arg(long = "log-driver")]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long = "log-opt")]
    pub log_opt: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file")]
    pub env_file: Vec<String>,
    /// Restart policy to apply when a container exits
    #[arg(long = "restart", default_value = "no")]
    pub restart: String,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label")]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long = "label-file")]
    pub label_file: Vec<String>,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long = "mount")]
    pub mount: Vec<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long = "init")]
    pub init: bool,
    /// Command to run to check health
    #[arg(long = "health-cmd")]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h)
    #[arg(long = "health-interval", allow_hyphen_values = true)]
    pub health_interval: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h)
    #[arg(long = "health-timeout", allow_hyphen_values = true)]
    pub health_timeout: Option<String>,
    /// Consecutive failures needed to report unhealthy
    #[arg(long = "health-retries", allow_negative_numbers = true)]
    pub health_retries: Option<i64>,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)
    #[arg(long = "health-start-period", allow_hyphen_values = true)]
    pub health_start_period: Option<String>,
    /// Time between running the check during the start period (ms|s|m|h)
    #[arg(long = "health-start-interval", allow_hyphen_values = true)]
    pub health_start_interval: Option<String>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long = "no-healthcheck")]
    pub no_healthcheck: bool,
    /// IMAGE
    pub image: String,
    /// [COMMAND] [ARG...]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `NAME[:MAX]` as the docker CLI reads a `--restart` (the engine checks the policy).
pub fn parse_restart_policy(v: &str) -> anyhow::Result<engine::RestartPolicy> {
    let (name, max) = v.split_once(':').unwrap_or((v, ""));
    let max_retries = match max {
        "" => 0,
        m => m.parse::<i64>().map_err(|_| {
            anyhow::anyhow!("invalid restart policy format: maximum retry count must be an integer")
        })?,
    };
    Ok(engine::RestartPolicy {
        name: name.to_string(),
        max_retries,
    })
}

/// Docker's `RAMInBytes`: `8m`, `1g`, `512k`, `100b`, a plain number of bytes.
pub(crate) fn parse_memory(s: &str) -> anyhow::Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').filter(|r| !r.is_empty()).unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num.parse().map_err(|_| {
        anyhow::anyhow!("invalid argument {s:?} for \"-m, --memory\" flag: invalid size: '{s}'")
    })?;
    Ok((n * mult as f64) as i64)
}

/// Docker's `ParseKeyValueFile`: one `KEY=value` a line, leading blanks trimmed, empty lines
/// and `#` comments skipped; a line without `=` is `lookup`'s (skipped when it gives none).
fn read_kv_file(
    path: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            _ => e.to_string(),
        };
        anyhow::anyhow!("open {path}: {why}")
    })?;
    let text = String::from_utf8(text)
        .map_err(|_| anyhow::anyhow!("env file {path} contains invalid utf8 bytes"))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        if key.is_empty() {
            anyhow::bail!("no variable name on line '{line}'");
        }
        if key.contains(char::is_whitespace) {
            anyhow::bail!("variable '{key}' contains whitespaces");
        }
        match value {
            Some(v) => out.push(format!("{key}={v}")),
            None => {
                if let Some(v) = lookup(key) {
                    out.push(format!("{key}={v}"));
                }
            }
        }
    }
    Ok(out)
}

/// Docker's `--mount type=bind,source=/a,target=/b,readonly` (and `type=tmpfs` with
/// `tmpfs-size`, `tmpfs-mode`).
fn parse_mount_flag(raw: &str) -> anyhow::Result<engine::MountRequest> {
    let mut r = engine::MountRequest {
        kind: engine::MountKind::Volume,
        ..Default::default()
    };
    let mut tmpfs: Option<(i64, u32)> = None;
    for field in raw.split(',') {
        let (k, v) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let flag = |v: Option<&str>| -> anyhow::Result<bool> {
            match v.map(str::to_ascii_lowercase).as_deref() {
                None | Some("1") | Some("true") => Ok(true),
                Some("0") | Some("false") => Ok(false),
                Some(o) => anyhow::bail!("invalid value for {k}: {o}"),
            }
        };
        match (k.as_str(), v) {
            ("type", Some("bind")) => r.kind = engine::MountKind::Bind,
            ("type", Some("volume")) => r.kind = engine::MountKind::Volume,
            ("type", Some("tmpfs")) => r.kind = engine::MountKind::Tmpfs,
            ("type", Some(t)) => {
                anyhow::bail!("mount type {t:?} is not supported yet: use bind, volume or tmpfs")
            }
            ("tmpfs-size", Some(v)) => {
                let size =
                    parse_memory(v).map_err(|_| anyhow::anyhow!("invalid value for {k}: {v}"))?;
                tmpfs.get_or_insert((0, 0)).0 = size;
            }
            ("tmpfs-mode", Some(v)) => {
                let mode = u32::from_str_radix(v, 8)
                    .map_err(|_| anyhow::anyhow!("invalid value for {k}: {v}"))?;
                tmpfs.get_or_insert((0, 0)).1 = mode;
            }
            ("source" | "src", Some(v)) => r.source = v.to_string(),
            ("target" | "destination" | "dst", Some(v)) => r.target = v.to_string(),
            ("readonly" | "ro", v) => r.read_only = flag(v)?,
            ("volume-nocopy" | "bind-propagation" | "consistency", _) => {}
            (k, None) => anyhow::bail!("invalid field '{k}' must be a key=value pair"),
            (k, Some(_)) => anyhow::bail!("unexpected key '{k}' in '{field}'"),
        }
    }
    if r.kind == engine::MountKind::Tmpfs {
        let (size, mode) = tmpfs.unwrap_or_default();
        r.mode = engine::tmpfs_mount_options(size, mode, r.read_only);
        return Ok(r);
    }
    if tmpfs.is_some() {
        let kind = if r.kind == engine::MountKind::Bind {
            "bind"
        } else {
            "volume"
        };
        anyhow::bail!("cannot mix 'tmpfs-*' options with mount type '{kind}'");
    }
    if r.read_only {
        r.mode = "ro".into();
    }
    Ok(r)
}

/// The docker CLI's `ValidateExtraHost`: `name:ip` or `name=ip` (an IPv6 address may be in
/// brackets, `host-gateway` stands for the host), sent on as `name:ip`.
fn parse_add_host(v: &str) -> anyhow::Result<String> {
    let bad =
        |why: String| anyhow::anyhow!("invalid argument {v:?} for \"--add-host\" flag: {why}");
    let (name, addr) = v
        .split_once('=')
        .or_else(|| v.split_once(':'))
        .filter(|(n, _)| !n.is_empty() && !n.contains(':'))
        .ok_or_else(|| bad(format!("bad format for add-host: {v:?}")))?;
    let mut addr = addr;
    if addr != engine::HOST_GATEWAY {
        if addr.len() > 2 && addr.starts_with('[') && addr.ends_with(']') {
            addr = &addr[1..addr.len() - 1];
        }
        if addr.trim().parse::<std::net::IpAddr>().is_err() {
            return Err(bad(format!("invalid IP address in add-host: {addr:?}")));
        }
    }
    Ok(format!("{name}:{addr}"))
}

/// The docker CLI's `--dns` check (`ValidateIPAddress`): the address in its canonical form.
fn parse_dns(v: &str) -> anyhow::Result<String> {
    v.trim()
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| {
            anyhow::anyhow!(
                "invalid argument {v:?} for \"--dns\" flag: IP address is not correctly formatted: {v}"
            )
        })
}

/// The docker CLI's `--dns-search` check (`ValidateDNSSearch`): `.`, or a domain of
/// letters, digits and inner hyphens with at least one letter (a final dot dropped).
fn parse_dns_search(v: &str) -> anyhow::Result<String> {
    let bad = || {
        anyhow::anyhow!(
            "invalid argument {v:?} for \"--dns-search\" flag: {v} is not a valid domain"
        )
    };
    let t = v.trim_matches(' ');
    if t == "." {
        return Ok(t.to_string());
    }
    if !t.bytes().any(|b| b.is_ascii_alphabetic()) {
        return Err(bad());
    }
    let t = t.trim_end_matches(char::is_whitespace);
    let domain = t.strip_suffix('.').unwrap_or(t);
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    if domain.len() >= 255 || !domain.split('.').all(label_ok) {
        return Err(bad());
    }
    Ok(domain.to_string())
}

impl ContainerFlags {
    /// The engine's options.
    pub fn options(&self) -> anyhow::Result<CreateOptions> {
        // `--env-file` first, then `-e`, as Docker merges them.
        let mut env = Vec::new();
        for f in &self.env_file {
            env.extend(read_kv_file(f, |k| std::env::var(k).ok())?);
        }
        // The docker CLI's flag check: a variable needs a name.
        if let Some(e) = self.env.iter().find(|e| e.split('=').next() == Some("")) {
            anyhow::bail!(
                "invalid argument {e:?} for \"-e, --env\" flag: invalid environment variable: {e}"
            );
        }
        env.extend(self.env.iter().filter_map(|e| {
            if e.contains('=') {
                Some(e.clone())
            } else {
                // `-e NAME` takes the value from the client's environment, if set.
                std::env::var(e).ok().map(|v| format!("{e}={v}"))
            }
        }));
        let mut labels = std::collections::BTreeMap::new();
        let mut label_lines = Vec::new();
        for f in &self.label_file {
            label_lines.extend(read_kv_file(f, |_| Some(String::new()))?);
        }
        label_lines.extend(self.label.iter().cloned());
        for l in label_lines {
            let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
            labels.insert(k.to_string(), v.to_string());
        }
        let mut mounts = Vec::new();
        for v in &self.volume {
            mounts.push(engine::parse_volume_flag(v)?);
        }
        for m in &self.mount {
            mounts.push(parse_mount_flag(m)?);
        }
        let host = self.host_options()?;
        Ok(CreateOptions {
            name: self.name.clone(),
            without_command: false,
            entrypoint: self.entrypoint.clone(),
            cmd: self.command.clone(),
            env,
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            tty: self.tty,
            interactive: self.interactive,
            auto_remove: self.rm,
            network: self.network.clone(),
            publish: self
                .publish
                .iter()
                .map(|p| engine::parse_publish(p))
                .collect::<Result<_, _>>()?,
            publish_all: self.publish_all,
            expose: self.expose.clone(),
            hostname: self.hostname.clone(),
            memory: self.memory.as_deref().map(parse_memory).transpose()?,
            nano_cpus: self.cpus.map(|c| (c * 1e9) as i64),
            pids_limit: self.pids_limit,
            read_only: self.read_only,
            // `--security-opt` is the engine's to parse (`host.security_opt`).
            no_new_privileges: false,
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            mounts,
            labels,
            init: self.init,
            restart: self.restart_policy()?,
            healthcheck: self.healthcheck()?,
            host,
        })
    }

    /// `--health-*` and `--no-healthcheck` as the docker CLI reads them (the engine merges
    /// them over the image's `HEALTHCHECK` and checks them).
    fn healthcheck(&self) -> anyhow::Result<Option<engine::Healthcheck>> {
        let duration = |flag: &str, v: &Option<String>| -> anyhow::Result<i64> {
            let Some(v) = v else { return Ok(0) };
            let d = dockerfile::parse_duration(v).map_err(|e| {
                anyhow::anyhow!("invalid argument {v:?} for \"--{flag}\" flag: {e}")
            })?;
            if d < 0 {
                anyhow::bail!("--{flag} cannot be negative");
            }
            Ok(d)
        };
        let h = engine::Healthcheck {
            test: self
                .health_cmd
                .iter()
                .filter(|c| !c.is_empty())
                .flat_map(|c| ["CMD-SHELL".to_string(), c.clone()])
                .collect(),
            interval: duration("health-interval", &self.health_interval)?,
            timeout: duration("health-timeout", &self.health_timeout)?,
            start_period: duration("health-start-period", &self.health_start_period)?,
            start_interval: duration("health-start-interval", &self.health_start_interval)?,
            retries: match self.health_retries {
                Some(r) if r < 0 => anyhow::bail!("--health-retries cannot be negative"),
                r => r.unwrap_or(0),
            },
        };
        let asked = h != engine::Healthcheck::default();
        if self.no_healthcheck {
            if asked {
                anyhow::bail!("--no-healthcheck conflicts with --health-* options");
            }
            return Ok(Some(engine::Healthcheck {
                test: vec!["NONE".into()],
                ..Default::default()
            }));
        }
        Ok(asked.then_some(h))
    }

    /// `--restart NAME[:MAX]` read as the docker CLI reads it (the engine checks the policy).
    fn restart_policy(&self) -> anyhow::Result<Option<engine::RestartPolicy>> {
        if self.restart.is_empty() {
            return Ok(None);
        }
        let policy = parse_restart_policy(&self.restart)?;
        if self.rm && !policy.is_none() {
            anyhow::bail!("Conflicting options: --restart and --rm");
        }
        Ok(Some(policy))
    }

    /// The engine's host options: the flags parsed as the docker CLI parses them, then
    /// checked (and honoured or refused) by the engine at create.
    fn host_options(&self) -> anyhow::Result<engine::HostOptions> {
        let mut sysctls = std::collections::BTreeMap::new();
        for kv in &self.sysctl {
            let Some((k, v)) = kv.split_once('=') else {
                anyhow::bail!(
                    "invalid argument {kv:?} for \"--sysctl\" flag: sysctl '{kv}' is not whitelisted"
                );
            };
            sysctls.insert(k.to_string(), v.to_string());
        }
        let mut ulimits = Vec::new();
        for u in &self.ulimit {
            ulimits.push(parse_ulimit(u)?);
        }
        let size = |s: &Option<String>| s.as_deref().map(parse_memory).transpose();
        // `--tmpfs /path[:options]`; the options are checked when it is mounted.
        let tmpfs = self
            .tmpfs
            .iter()
            .map(|t| {
                let (path, opts) = t.split_once(':').unwrap_or((t, ""));
                (path.to_string(), opts.to_string())
            })
            .collect();
        let (log_driver, log_opts) = parse_log_flags(self.log_driver.as_deref(), &self.log_opt)?;
        Ok(engine::HostOptions {
            privileged: self.privileged,
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            group_add: self.group_add.clone(),
            sysctls,
            security_opt: self.security_opt.clone(),
            pid_mode: self.pid.clone().unwrap_or_default(),
            ipc_mode: self.ipc.clone().unwrap_or_default(),
            uts_mode: self.uts.clone().unwrap_or_default(),
            userns_mode: self.userns.clone().unwrap_or_default(),
            cgroupns_mode: self.cgroupns.clone().unwrap_or_default(),
            devices: self
                .device
                .iter()
                .map(|d| d.split(':').next().unwrap_or_default().to_string())
                .collect(),
            device_cgroup_rules: self.device_cgroup_rule.clone(),
            memory_swap: match self.memory_swap.as_deref() {
                Some("-1") => Some(-1),
                other => other.map(parse_memory).transpose()?,
            },
            memory_reservation: size(&self.memory_reservation)?,
            memory_swappiness: self.memory_swappiness.filter(|s| *s != -1),
            oom_kill_disable: self.oom_kill_disable,
            oom_score_adj: self.oom_score_adj.unwrap_or(0),
            cpu_shares: self.cpu_shares.filter(|s| *s != 0),
            cpu_period: self.cpu_period.filter(|p| *p != 0),
            cpu_quota: self.cpu_quota.filter(|q| *q != 0),
            shm_size: size(&self.shm_size)?,
            ulimits,
            extra_hosts: self
                .add_host
                .iter()
                .map(|h| parse_add_host(h))
                .collect::<anyhow::Result<_>>()?,
            dns: self
                .dns
                .iter()
                .map(|d| parse_dns(d))
                .collect::<anyhow::Result<_>>()?,
            dns_search: self
                .dns_search
                .iter()
                .map(|d| parse_dns_search(d))
                .collect::<anyhow::Result<_>>()?,
            dns_options: self.dns_option.clone(),
            tmpfs,
            cpuset_cpus: self.cpuset_cpus.clone().unwrap_or_default(),
            cpuset_mems: self.cpuset_mems.clone().unwrap_or_default(),
            log_driver,
            log_opts,
        })
    }
}

/// `--log-driver` and `--log-opt KEY=VALUE` read as the docker CLI reads them (a `KEY`
/// without `=` has an empty value; options with the `none` driver refused); the engine checks
/// the rest.
fn parse_log_flags(
    driver: Option<&str>,
    opts: &[String],
) -> anyhow::Result<(String, std::collections::BTreeMap<String, String>)> {
    let driver = driver.unwrap_or_default().to_string();
    if driver == "none" && !opts.is_empty() {
        anyhow::bail!("invalid logging opts for driver none");
    }
    let opts = opts
        .iter()
        .map(|o| {
            let (k, v) = o.split_once('=').unwrap_or((o, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    Ok((driver, opts))
}

/// Docker's `units.ParseUlimit`: `name=soft[:hard]`.
fn parse_ulimit(u: &str) -> anyhow::Result<engine::Ulimit> {
    let bad = || {
        anyhow::anyhow!(
            "invalid argument {u:?} for \"--ulimit\" flag: invalid ulimit argument: {u}"
        )
    };
    let (name, limits) = u.split_once('=').ok_or_else(bad)?;
    let (soft, hard) = match limits.split_once(':') {
        Some((s, h)) => (s, h),
        None => (limits, limits),
    };
    Ok(engine::Ulimit {
        name: name.to_string(),
        soft: soft.parse().map_err(|_| bad())?,
        hard: hard.parse().map_err(|_| bad())?,
    })
}

#[derive(Args)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long = "detach")]
    detach: bool,
    #[command(flatten)]
    flags: ContainerFlags,
}

/// A start that failed: Docker's text, the container removed with `--rm`, its exit code.
fn start_failed(engine: &Engine, id: &str, rm: bool, e: EngineError) -> anyhow::Error {
    let code = match &e {
        EngineError::Runtime(engine::runtime::RuntimeError::Start { exit_code, .. }) => *exit_code,
        _ => 125,
    };
    eprintln!("strata: Error response from daemon: {e}");
    eprintln!("Run 'strata run --help' for more information");
    if rm {
        let _ = engine.remove_container_with(id, true, true);
    }
    Exit(code.clamp(0, 255) as u8).into()
}

/// The terminal's attributes before raw mode, restored on every way out.
static SAVED_TERMIOS: std::sync::Mutex<Option<libc::termios>> = std::sync::Mutex::new(None);

struct RawTerminal;

impl RawTerminal {
    fn enable() -> RawTerminal {
        // SAFETY: termios calls on fd 0 with a zeroed struct they fill.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) == 0 {
                *SAVED_TERMIOS.lock().unwrap() = Some(t);
                libc::cfmakeraw(&mut t);
                libc::tcsetattr(0, libc::TCSANOW, &t);
            }
        }
        RawTerminal
    }
}

fn restore_terminal() {
    if let Some(t) = SAVED_TERMIOS.lock().unwrap().take() {
        // SAFETY: restoring the saved attributes of fd 0.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Docker's default detach keys: ctrl-p, ctrl-q.
const DETACH_KEYS: [u8; 2] = [0x10, 0x11];

/// Copies stdin to the attach connection until EOF (then half-closes it, which closes the
/// container's stdin) or the detach keys (then the client leaves, the container runs on).
fn forward_stdin(mut w: std::os::unix::net::UnixStream, dir: std::path::PathBuf) {
    std::thread::spawn(move || {
        crate::feed_without_sigpipe();
        let mut buf = [0u8; 8192];
        let mut input = std::io::stdin();
        let mut matched = 0usize;
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let mut out = Vec::with_capacity(n);
            for &b in &buf[..n] {
                if b == DETACH_KEYS[matched] {
                    matched += 1;
                    if matched == DETACH_KEYS.len() {
                        let _ = monitor::control(&dir, &monitor::Control::Detach(true));
                        let _ = w.write_all(&out);
                        restore_terminal();
                        eprintln!();
                        std::process::exit(0);
                    }
                    continue;
                }
                out.extend_from_slice(&DETACH_KEYS[..matched]);
                matched = 0;
                out.push(b);
            }
            if w.write_all(&out).is_err() {
                break;
            }
        }
        let _ = w.shutdown(std::net::Shutdown::Write);
    });
}

fn window_size() -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ fills a zeroed winsize.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_row > 0)
            .then_some((ws.ws_row, ws.ws_col))
    }
}

/// Attaches the terminal to a container whose monitor waits for it, until its output ends.
fn attach_and_wait(
    engine: &Engine,
    c: &engine::ContainerInfo,
    mut spawned: monitor::Spawned,
    tty: bool,
    stdin: bool,
    rm: bool,
) -> anyhow::Result<()> {
    match spawned.next_event() {
        Ok(Event::Created) => {}
        Ok(Event::Failed { error, exit_code }) => {
            return Err(start_failed(
                engine,
                &c.id,
                rm,
                engine::runtime::RuntimeError::Start {
                    msg: error,
                    exit_code,
                }
                .into(),
            ))
        }
        Ok(Event::Started { .. }) => {}
        Err(e) => return Err(start_failed(engine, &c.id, rm, e.into())),
    }
    let dir = engine.container_dir_of(c);
    if tty {
        if let Some((h, w)) = window_size() {
            let _ = monitor::control(
                &dir,
                &monitor::Control::Resize {
                    height: h,
                    width: w,
                },
            );
        }
    }
    let conn = monitor::connect_attach(&dir)?;
    if let Err(e) = engine.await_start(&c.id, &mut spawned) {
        return Err(start_failed(engine, &c.id, rm, e));
    }
    stream(engine, c, conn, tty, stdin, rm)
}

/// Streams an attach connection: stdin forwarded when asked, output to stdout/stderr until the
/// container's output ends; then its exit code (and `--rm`'s removal).
fn stream(
    engine: &Engine,
    c: &engine::ContainerInfo,
    conn: std::os::unix::net::UnixStream,
    tty: bool,
    stdin: bool,
    rm: bool,
) -> anyhow::Result<()> {
    let _raw = (tty && stdin && std::io::stdin().is_terminal()).then(RawTerminal::enable);
    if stdin {
        forward_stdin(conn.try_clone()?, engine.container_dir_of(c));
    }
    let mut r = conn;
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    if tty {
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                }
            }
        }
    } else {
        let mut head = [0u8; 8];
        while r.read_exact(&mut head).is_ok() {
            let n = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
            let mut data = vec![0u8; n];
            if r.read_exact(&mut data).is_err() {
                break;
            }
            if head[0] == monitor::STDERR {
                let _ = err.write_all(&data);
            } else {
                let _ = out.write_all(&data);
                let _ = out.flush();
            }
        }
    }
    drop(_raw);
    let code = engine.wait_container(&c.id)?;
    if rm {
        match engine.remove_container_with(&c.id, true, true) {
            Err(e) if e.kind() != engine::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    if code != 0 {
        return Err(Exit(code.clamp(0, 255) as u8).into());
    }
    Ok(())
}

/// A terminal's input handed to a container's TTY must come from a terminal: with stdin not
/// one (a pipe, a file, a script), `run -it`, `exec -it` and `attach` to a TTY container are
/// refused before anything is created, in the docker CLI's words and with its exit code 1.
fn input_must_be_a_terminal(attach_stdin: bool, tty: bool) -> anyhow::Result<()> {
    if attach_stdin && tty && !std::io::stdin().is_terminal() {
        eprintln!("the input device is not a TTY");
        return Err(Exit(1).into());
    }
    Ok(())
}

/// A bad flag value (a missing `--env-file`, a bad `-v`): the docker CLI's text and 125.
pub fn flag_error(verb: &str, e: anyhow::Error) -> anyhow::Error {
    eprintln!("strata: {e:#}\nSee 'strata {verb} --help'.");
    Exit(125).into()
}

pub fn run(engine: &Engine, a: RunArgs) -> anyhow::Result<()> {
    let opts = a.flags.options().map_err(|e| flag_error("run", e))?;
    if !a.detach {
        input_must_be_a_terminal(a.flags.interactive, a.flags.tty)?;
    }
    let c = match engine.create_container_with(&a.flags.image, &opts) {
        Ok(c) => c,
        Err(e) => {
            // Docker's CLI: a daemon error is exit status 125.
            eprintln!("strata: Error response from daemon: {e}");
            eprintln!("Run 'strata run --help' for more information");
            return Err(Exit(125).into());
        }
    };
    if a.detach {
        let started = engine.start_container(&c.id, false).and_then(|s| match s {
            Some(mut s) => engine.await_start(&c.id, &mut s).map(drop),
            None => Ok(()),
        });
        if let Err(e) = started {
            return Err(start_failed(engine, &c.id, a.flags.rm, e));
        }
        println!("{}", c.id);
        return Ok(());
    }
    let spawned = match engine.start_container(&c.id, true) {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(()),
        Err(e) => return Err(start_failed(engine, &c.id, a.flags.rm, e)),
    };
    attach_and_wait(
        engine,
        &c,
        spawned,
        a.flags.tty,
        a.flags.interactive,
        a.flags.rm,
    )
}

#[derive(Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long = "attach")]
    attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long = "interactive")]
    interactive: bool,
    /// CONTAINER...
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn start(engine: &Engine, a: StartArgs) -> anyhow::Result<()> {
    let attach = a.attach || a.interactive;
    if attach && a.containers.len() > 1 {
        anyhow::bail!("you cannot start and attach multiple containers at once");
    }
    let mut failed = false;
    for name in &a.containers {
        let r = (|| -> anyhow::Result<()> {
            let c = engine.container(name)?;
            let rc = engine.run_config(&c)?;
            let spawned = engine.start_container(name, attach)?;
            match spawned {
                Some(s) if attach => {
                    attach_and_wait(engine, &c, s, rc.tty, a.interactive, rc.auto_remove)
                }
                Some(mut s) => {
                    engine.await_start(name, &mut s)?;
                    println!("{name}");
                    Ok(())
                }
                None => {
                    if !attach {
                        println!("{name}");
                    }
                    Ok(())
                }
            }
        })();
        if let Err(e) = r {
            if attach {
                return Err(e);
            }
            match e.downcast::<EngineError>() {
                Ok(ee) => crate::report(&ee),
                Err(e) => eprintln!("Error: {e:#}"),
            }
            failed = true;
        }
    }
    if failed {
        eprintln!(
            "Error: failed to start containers: {}",
            a.containers.join(", ")
        );
        return Err(Exit(1).into());
    }
    Ok(())
}

/// Runs `f` on each container, printing its name as Docker does, reporting failures.
fn each(names: &[String], mut f: impl FnMut(&str) -> engine::Result<()>) -> anyhow::Result<()> {
    each_line(names, |n| f(n).map(|()| n.to_string()))
}

/// Runs `f` on each name and prints its line; reports each failure, then exits 1 if any.
fn each_line<T: std::fmt::Display>(
    names: &[String],
    mut f: impl FnMut(&str) -> engine::Result<T>,
) -> anyhow::Result<()> {
    let mut failed = false;
    for n in names {
        match f(n) {
            Ok(line) => println!("{line}"),
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
pub struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "time",
        visible_alias = "timeout",
        allow_negative_numbers = true
    )]
    time: Option<i64>,
    /// Signal to send to the container
    #[arg(short = 's', long = "signal")]
    signal: Option<String>,
    /// CONTAINER...
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn stop(engine: &Engine, a: StopArgs) -> anyhow::Result<()> {
    if a.signal.is_some() {
        anyhow::bail!("stop --signal is not supported yet; use kill -s");
    }
    each(&a.containers, |n| engine.stop_container(n, a.time))
}

pub fn restart(engine: &Engine, a: StopArgs) -> anyhow::Result<()> {
    each(&a.containers, |n| engine.restart_container(n, a.time))
}

#[derive(Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long = "signal", default_value = "KILL")]
    signal: String,
    /// CONTAINER...
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn kill(engine: &Engine, a: KillArgs) -> anyhow::Result<()> {
    each(&a.containers, |n| engine.kill_container(n, &a.signal))
}

#[derive(Args)]
pub struct NamesArgs {
    /// CONTAINER...
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn pause(engine: &Engine, a: NamesArgs) -> anyhow::Result<()> {
    each(&a.containers, |n| engine.pause_container(n))
}

pub fn unpause(engine: &Engine, a: NamesArgs) -> anyhow::Result<()> {
    each(&a.containers, |n| engine.unpause_container(n))
}

pub fn wait(engine: &Engine, a: NamesArgs) -> anyhow::Result<()> {
    each_line(&a.containers, |n| engine.wait_container(n))
}

#[derive(Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short = 'f', long = "follow")]
    follow: bool,
    /// Number of lines to show from the end of the logs ("all", or a negative number, for
    /// every line)
    #[arg(
        short = 'n',
        long = "tail",
        default_value = "all",
        allow_negative_numbers = true
    )]
    tail: String,
    /// Show timestamps
    #[arg(short = 't', long = "timestamps")]
    timestamps: bool,
    /// Show extra details provided to logs
    #[arg(long = "details")]
    details: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long = "since")]
    since: Option<String>,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long = "until")]
    until: Option<String>,
    /// CONTAINER
    container: String,
}

pub fn logs(engine: &Engine, a: LogsArgs) -> anyhow::Result<()> {
    let tail = match a.tail.as_str() {
        "all" | "" => None,
        n => match n.parse::<i64>() {
            Ok(v) if v < 0 => None,
            Ok(v) => Some(v as usize),
            Err(_) => anyhow::bail!("invalid value for \"tail\": {n}"),
        },
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    let when = |v: &Option<String>| -> anyhow::Result<Option<i128>> {
        match v.as_deref().filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => docker_format::parse_timestamp_nanos(v, now)
                .map(Some)
                .map_err(|e| anyhow::anyhow!(e)),
        }
    };
    let (since, until) = (when(&a.since)?, when(&a.until)?);
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let range = engine::LogRange {
        tail,
        follow: a.follow,
        since,
        until,
    };
    engine.container_logs(
        &a.container,
        range,
        || false,
        |l| {
            let stderr = l.stream == "stderr";
            let text = l.shown(a.timestamps, a.details);
            let ok = if stderr {
                err.write_all(text.as_bytes()).is_ok()
            } else {
                out.write_all(text.as_bytes())
                    .and_then(|_| out.flush())
                    .is_ok()
            };
            ok
        },
    )?;
    Ok(())
}

#[derive(Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long = "detach")]
    detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive")]
    interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty")]
    tty: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir")]
    workdir: Option<String>,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long = "user")]
    user: Option<String>,
    /// CONTAINER
    container: String,
    /// COMMAND [ARG...]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    command: Vec<String>,
}

pub fn exec(engine: &Engine, a: ExecArgs) -> anyhow::Result<()> {
    let env = a
        .env
        .iter()
        .filter_map(|e| {
            if e.contains('=') {
                Some(e.clone())
            } else {
                std::env::var(e).ok().map(|v| format!("{e}={v}"))
            }
        })
        .collect();
    let mut p = engine.prepare_exec(
        &a.container,
        &engine::ExecOptions {
            cmd: a.command.clone(),
            env,
            workdir: a.workdir.clone(),
            user: a.user.clone(),
            tty: a.tty,
            detach: a.detach,
        },
    )?;
    if !a.interactive || a.detach {
        p.command.stdin(std::process::Stdio::null());
    }
    if a.detach {
        p.command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
    }
    // A TTY with no terminal to give the runtime (a script, a pipe): as the docker CLI, `-it`
    // is refused, and `-t` gets a pseudo-terminal of its own, whose output is copied out.
    let own_pty = a.tty && !a.detach && !std::io::stdin().is_terminal();
    if !a.detach {
        input_must_be_a_terminal(a.interactive, a.tty)?;
    }
    let status = if own_pty {
        run_on_own_pty(&mut p.command)?
    } else {
        p.command.status()?
    };
    match engine.exec_finished(p, status) {
        Ok(0) => Ok(()),
        Ok(code) => Err(Exit(code.clamp(0, 255) as u8).into()),
        Err(e) => {
            let code = match &e {
                EngineError::Runtime(engine::runtime::RuntimeError::Start {
                    exit_code, ..
                }) => *exit_code,
                _ => 126,
            };
            crate::report(&e);
            Err(Exit(code.clamp(0, 255) as u8).into())
        }
    }
}

/// Runs `command` with a new pseudo-terminal's slave as its stdio and copies what the terminal
/// shows to stdout until the command and everything holding the slave are gone.
fn run_on_own_pty(command: &mut std::process::Command) -> anyhow::Result<std::process::ExitStatus> {
    use std::process::Stdio;
    let (master, slave) = engine::runtime::pty::open_pty(window_size())?;
    let slave = std::fs::File::from(slave);
    command
        .stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave));
    let mut child = command.spawn()?;
    // The command keeps its stdio until they are replaced: let go of the slave, so the master
    // reads the end once the process is gone.
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut master = std::fs::File::from(master);
    let mut out = std::io::stdout().lock();
    let mut buf = [0u8; 8192];
    loop {
        match master.read(&mut buf) {
            // EIO: the last holder of the slave closed it.
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                    break;
                }
            }
        }
    }
    Ok(child.wait()?)
}

#[derive(Args)]
pub struct AttachArgs {
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    no_stdin: bool,
    /// CONTAINER
    container: String,
}

/// `attach`: the terminal joins a running container's stdio (detach with ctrl-p ctrl-q).
pub fn attach(engine: &Engine, a: AttachArgs) -> anyhow::Result<()> {
    let c = engine.container(&a.container)?;
    let p = engine.process_state(&c)?;
    if !p.is_running() {
        anyhow::bail!("You cannot attach to a stopped container, start it first");
    }
    if p.status == "paused" {
        anyhow::bail!("You cannot attach to a paused container, unpause it first");
    }
    let rc = engine.run_config(&c)?;
    input_must_be_a_terminal(!a.no_stdin, rc.tty)?;
    let dir = engine.container_dir_of(&c);
    if rc.tty {
        if let Some((h, w)) = window_size() {
            let _ = monitor::control(
                &dir,
                &monitor::Control::Resize {
                    height: h,
                    width: w,
                },
            );
        }
    }
    let conn = monitor::connect_attach(&dir)?;
    stream(
        engine,
        &c,
        conn,
        rc.tty,
        rc.open_stdin && !a.no_stdin,
        false,
    )
}

#[derive(Args)]
pub struct TopArgs {
    /// CONTAINER
    container: String,
    /// [ps OPTIONS]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

/// `top`: the container's processes as `ps` shows them, in a table.
pub fn top(engine: &Engine, a: TopArgs) -> anyhow::Result<()> {
    let (titles, rows) = engine.top(&a.container, &a.ps_args)?;
    let mut t = docker_format::Table::new();
    t.row(titles);
    for r in rows {
        t.row(r);
    }
    print!("{}", t.render());
    Ok(())
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter")]
    filter: Vec<String>,
}

/// `container prune`: removes every container that is not running.
pub fn prune(engine: &Engine, a: PruneArgs) -> anyhow::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut until = None;
    let mut labels = Vec::new();
    for f in &a.filter {
        let Some((k, v)) = f.split_once('=') else {
            anyhow::bail!("bad format of filter (expected name=value)");
        };
        match k {
            "until" => {
                until =
                    Some(docker_format::parse_timestamp(v, now).map_err(|e| anyhow::anyhow!(e))?)
            }
            "label" => labels.push(v.to_string()),
            "label!" => labels.push(format!("!{v}")),
            _ => anyhow::bail!("invalid filter '{k}'"),
        }
    }
    if !a.force {
        eprint!("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(());
        }
    }
    let (deleted, reclaimed) = engine.prune_containers(until, &labels)?;
    if !deleted.is_empty() {
        println!("Deleted Containers:");
        for d in &deleted {
            println!("{d}");
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        docker_format::human_size(reclaimed)
    );
    Ok(())
}

/// `strata info`: the runtime containers run with, or why none does.
pub fn info(engine: &Engine) -> anyhow::Result<()> {
    let results = engine.probe_runtimes();
    let chosen = results.iter().find(|r| r.error.is_none());
    match chosen {
        Some(r) => println!(
            "Runtime: {} ({})",
            r.name,
            r.binary
                .as_ref()
                .map(|b| b.display().to_string())
                .unwrap_or_default()
        ),
        None => println!("Runtime: none works on this host"),
    }
    for r in &results {
        if let Some(e) = &r.error {
            println!("Runtime {}: {e}", r.name);
        }
    }
    println!(
        "Cgroup Version: {}",
        if engine::runtime::cgroup::is_v2() {
            2
        } else {
            1
        }
    );
    Ok(())
}

/// The hidden `monitor` subcommand: the per-container monitor process.
pub fn monitor(args: Vec<OsString>) -> anyhow::Result<()> {
    let a = monitor::MonitorArgs::parse(args)?;
    let code = monitor::run(a);
    if code != 0 {
        return Err(Exit(code.clamp(0, 255) as u8).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_host_dns_and_mount_flags_as_the_docker_cli_reads_them() {
        assert_eq!(parse_add_host("foo:192.0.2.7").unwrap(), "foo:192.0.2.7");
        assert_eq!(parse_add_host("foo=192.0.2.7").unwrap(), "foo:192.0.2.7");
        assert_eq!(
            parse_add_host("six=[2001:db8::1]").unwrap(),
            "six:2001:db8::1"
        );
        assert_eq!(
            parse_add_host("six:2001:db8::1").unwrap(),
            "six:2001:db8::1"
        );
        assert_eq!(
            parse_add_host("gw:host-gateway").unwrap(),
            "gw:host-gateway"
        );
        assert_eq!(
            parse_add_host("foo").unwrap_err().to_string(),
            "invalid argument \"foo\" for \"--add-host\" flag: bad format for add-host: \"foo\""
        );
        assert_eq!(
            parse_add_host("foo:x").unwrap_err().to_string(),
            "invalid argument \"foo:x\" for \"--add-host\" flag: invalid IP address in add-host: \"x\""
        );
        assert_eq!(parse_dns("0:0::1").unwrap(), "::1");
        assert_eq!(
            parse_dns("x").unwrap_err().to_string(),
            "invalid argument \"x\" for \"--dns\" flag: IP address is not correctly formatted: x"
        );
        assert_eq!(parse_dns_search("example.com.").unwrap(), "example.com");
        assert_eq!(parse_dns_search(".").unwrap(), ".");
        for bad in ["-x.com", "1.2.3", "a..b", "a_b.c"] {
            assert_eq!(
                parse_dns_search(bad).unwrap_err().to_string(),
                format!("invalid argument {bad:?} for \"--dns-search\" flag: {bad} is not a valid domain")
            );
        }
        let m =
            parse_mount_flag("type=tmpfs,destination=/x,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
        assert_eq!(
            (m.kind, m.target.as_str(), m.mode.as_str()),
            (engine::MountKind::Tmpfs, "/x", "mode=1770,size=1m")
        );
        let m = parse_mount_flag("type=tmpfs,dst=/y,ro").unwrap();
        assert_eq!((m.mode.as_str(), m.read_only), ("ro", true));
        assert_eq!(
            parse_mount_flag("type=tmpfs,dst=/y,tmpfs-mode=9")
                .unwrap_err()
                .to_string(),
            "invalid value for tmpfs-mode: 9"
        );
        assert_eq!(
            parse_mount_flag("type=bind,src=/a,dst=/y,tmpfs-size=1m")
                .unwrap_err()
                .to_string(),
            "cannot mix 'tmpfs-*' options with mount type 'bind'"
        );
    }

    #[test]
    fn log_flags_as_the_docker_cli_reads_them() {
        let opts = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (driver, o) =
            parse_log_flags(None, &opts(&["max-size=1k", "max-file=3", "tag"])).unwrap();
        assert_eq!(driver, "");
        assert_eq!(
            o.into_iter().collect::<Vec<_>>(),
            [
                ("max-file".to_string(), "3".to_string()),
                ("max-size".into(), "1k".into()),
                ("tag".into(), String::new())
            ]
        );
        assert_eq!(parse_log_flags(Some("none"), &[]).unwrap().0, "none");
        assert_eq!(
            parse_log_flags(Some("none"), &opts(&["max-size=1k"]))
                .unwrap_err()
                .to_string(),
            "invalid logging opts for driver none"
        );
    }
}
