//! `host_options`: what `create` takes beyond the process, the network and memory/CPUs/PIDs —
//! capabilities, groups, sysctls, security options, namespace modes, devices, the other
//! cgroup limits and cpusets, `/etc/hosts` entries, name servers, tmpfs mounts — checked at
//! create as Docker checks them (its texts).
//!
//! Every option is either honoured as Docker honours it or refused before anything is
//! written; none is accepted and ignored. Refused are those that would give a container's
//! processes the host or the store (`--privileged`, the host's pid/ipc/uts namespaces,
//! devices, capabilities that reach past the container's namespaces: [`HOST_CAPS`]), and
//! those the host's cgroups cannot apply. Not done here: the wire (the server maps Docker's
//! JSON onto [`HostOptions`]), and `--group-add` names, which are looked up in the image's
//! `/etc/group` at each start and exec (`runtime::user`), as Docker does.

use crate::{EngineError, Result};
use runtime::cgroup;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most a container's log attributes may take, encoded (JSON), in bytes.
const MAX_LOG_ATTRS: usize = 96 * 1024;

/// What a container's log attributes are made of (moby's `logger.Info`).
#[derive(Clone, Copy)]
pub(crate) struct LogInfo<'a> {
    /// What a `tag` template sees.
    pub tag: docker_api::LogTagFacts<'a>,
    pub labels: &'a BTreeMap<String, String>,
    /// `KEY=value`.
    pub env: &'a [String],
}

/// Capabilities refused in `--cap-add` (and so `ALL`): each reaches past the container's
/// namespaces to the host — mounts and the cgroup v1 `release_agent` (`SYS_ADMIN`), kernel
/// modules, raw I/O ports, `open_by_handle_at` on the host's file systems
/// (`DAC_READ_SEARCH`), the host's clock, kernel log, audit, LSM, BPF and perf state,
/// process accounting.
pub const HOST_CAPS: [&str; 13] = [
    "CAP_SYS_ADMIN",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_DAC_READ_SEARCH",
    "CAP_SYS_TIME",
    "CAP_SYSLOG",
    "CAP_AUDIT_CONTROL",
    "CAP_AUDIT_READ",
    "CAP_MAC_ADMIN",
    "CAP_MAC_OVERRIDE",
    "CAP_BPF",
    "CAP_PERFMON",
    "CAP_SYS_PACCT",
];

/// Why a host-reaching option is refused.
const NEVER_HOST: &str = "a container's processes never reach the host";

/// Docker's `HostConfig` beyond what `CreateOptions` names itself, as asked (empty, zero and
/// `None` are Docker's defaults). Kept in `run.json` with the run configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostOptions {
    /// `--privileged` (always refused).
    pub privileged: bool,
    /// `--cap-add`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--group-add`: group names or numbers.
    pub group_add: Vec<String>,
    /// `--sysctl`.
    pub sysctls: BTreeMap<String, String>,
    /// `--security-opt`, as given.
    pub security_opt: Vec<String>,
    /// `--pid`.
    pub pid_mode: String,
    /// `--ipc`.
    pub ipc_mode: String,
    /// `--uts`.
    pub uts_mode: String,
    /// `--userns`.
    pub userns_mode: String,
    /// `--cgroupns`.
    pub cgroupns_mode: String,
    /// `--device` host paths (always refused).
    pub devices: Vec<String>,
    /// `--device-cgroup-rule` (always refused).
    pub device_cgroup_rules: Vec<String>,
    /// `--memory-swap` in bytes (`-1`: unlimited).
    pub memory_swap: Option<i64>,
    /// `--memory-reservation` in bytes.
    pub memory_reservation: Option<i64>,
    /// `--memory-swappiness` (`-1`: the host's).
    pub memory_swappiness: Option<i64>,
    /// `--oom-kill-disable`.
    pub oom_kill_disable: bool,
    /// `--oom-score-adj`.
    pub oom_score_adj: i64,
    /// `--cpu-shares`.
    pub cpu_shares: Option<i64>,
    /// `--cpu-period` in microseconds.
    pub cpu_period: Option<i64>,
    /// `--cpu-quota` in microseconds.
    pub cpu_quota: Option<i64>,
    /// `--shm-size` in bytes.
    pub shm_size: Option<i64>,
    /// `--ulimit`.
    pub ulimits: Vec<Ulimit>,
    /// `--add-host`: `name:address` entries (the address may be [`HOST_GATEWAY`]).
    pub extra_hosts: Vec<String>,
    /// `--dns`: name servers.
    pub dns: Vec<String>,
    /// `--dns-search`: search domains.
    pub dns_search: Vec<String>,
    /// `--dns-option`: resolver options.
    pub dns_options: Vec<String>,
    /// `--tmpfs`: a tmpfs's path in the container and its options (`size=1m`, or empty).
    pub tmpfs: BTreeMap<String, String>,
    /// `--cpuset-cpus` (empty: every CPU).
    pub cpuset_cpus: String,
    /// `--cpuset-mems` (empty: every memory node).
    pub cpuset_mems: String,
    /// `--log-driver` (empty: `json-file`, Docker's default).
    pub log_driver: String,
    /// `--log-opt`s, as given.
    pub log_opts: BTreeMap<String, String>,
}

/// The log drivers built into Docker that Strata does not run (any other name is no driver
/// at all: Docker looks for a plugin of that name).
const OTHER_LOG_DRIVERS: [&str; 9] = [
    "local",
    "syslog",
    "journald",
    "gelf",
    "fluentd",
    "awslogs",
    "splunk",
    "gcplogs",
    "logentries",
];

/// The address `--add-host name:host-gateway` stands for: the host as the containers' bridge
/// reaches it (its gateway).
pub const HOST_GATEWAY: &str = "host-gateway";

/// One `--ulimit name=soft[:hard]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    /// Docker's name (`nofile`, `nproc`, …).
    pub name: String,
    /// The soft limit.
    pub soft: i64,
    /// The hard limit.
    pub hard: i64,
}

/// What `--security-opt` asks, once parsed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecurityOptions {
    /// `no-new-privileges` (`Some(false)`: `no-new-privileges=false`).
    pub no_new_privileges: Option<bool>,
    /// `seccomp=unconfined`.
    pub seccomp_unconfined: bool,
}

fn refuse(what: &str, why: &str) -> EngineError {
    EngineError::invalid(format!("{what} is not supported: {why}"))
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// moby's `parseSecurityOpt` with its texts; what Strata cannot apply is refused by name.
pub fn parse_security_opts(opts: &[String]) -> Result<SecurityOptions> {
    let mut out = SecurityOptions::default();
    for opt in opts {
        if opt == "no-new-privileges" {
            out.no_new_privileges = Some(true);
            continue;
        }
        if opt == "disable" {
            // `label=disable` in Docker 1.x's form: no SELinux label, as every container here.
            continue;
        }
        let Some((k, v)) = opt.split_once('=').or_else(|| opt.split_once(':')) else {
            return Err(EngineError::invalid(format!(
                "invalid --security-opt 1: {opt:?}"
            )));
        };
        match k {
            "no-new-privileges" => match parse_bool(v) {
                Some(b) => out.no_new_privileges = Some(b),
                None => {
                    return Err(EngineError::invalid(format!(
                        "invalid --security-opt 2: {opt:?}"
                    )))
                }
            },
            "seccomp" => match v {
                "unconfined" => out.seccomp_unconfined = true,
                "builtin" | "" => out.seccomp_unconfined = false,
                _ => {
                    return Err(refuse(
                        "--security-opt seccomp=<profile>",
                        "a container runs Docker's default seccomp profile or none (seccomp=unconfined)",
                    ))
                }
            },
            // No AppArmor profile is ever loaded for a container, and no SELinux label set.
            "apparmor" if v == "unconfined" => {}
            "apparmor" => {
                return Err(refuse(
                    &format!("--security-opt apparmor={v}"),
                    "AppArmor profiles are not applied (only apparmor=unconfined)",
                ))
            }
            "label" if v == "disable" => {}
            "label" => {
                return Err(refuse(
                    &format!("--security-opt label={v}"),
                    "SELinux labels are not applied (only label=disable)",
                ))
            }
            "writable-cgroups" => match parse_bool(v) {
                Some(false) => {}
                Some(true) => return Err(refuse("--security-opt writable-cgroups", NEVER_HOST)),
                None => {
                    return Err(EngineError::invalid(format!(
                        "invalid --security-opt 2: {opt:?}"
                    )))
                }
            },
            "systempaths" if v == "unconfined" => {
                return Err(refuse("--security-opt systempaths=unconfined", NEVER_HOST))
            }
            _ => {
                return Err(EngineError::invalid(format!(
                    "invalid --security-opt 2: {opt:?}"
                )))
            }
        }
    }
    Ok(out)
}

/// moby's `ValidateExtraHost` (the daemon's, with its texts): `name:address`, split at the
/// first colon so that an IPv6 address keeps its own, the address an IP or
/// [`HOST_GATEWAY`].
fn parse_extra_host(entry: &str) -> Result<(&str, &str)> {
    let Some((name, addr)) = entry.split_once(':').filter(|(n, _)| !n.is_empty()) else {
        return Err(EngineError::invalid(format!(
            "bad format for add-host: {entry:?}"
        )));
    };
    if addr != HOST_GATEWAY && addr.trim().parse::<std::net::IpAddr>().is_err() {
        return Err(EngineError::invalid(format!(
            "invalid IP address in add-host: {addr:?}"
        )));
    }
    Ok((name, addr))
}

/// Whether a path names the root once cleaned as Go's `path.Clean` does (`/`, `/.`, `/a/..`).
fn cleans_to_root(p: &str) -> bool {
    if !p.starts_with('/') {
        return false;
    }
    let mut depth = 0usize;
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => depth = depth.saturating_sub(1),
            _ => depth += 1,
        }
    }
    depth == 0
}

/// moby's `ValidateTmpfsMountDestination` (not the root, absolute), a `..` refused as in a
/// bind's target, then the options as the tmpfs would be mounted with them.
fn check_tmpfs(dest: &str, data: &str) -> Result<()> {
    if cleans_to_root(dest) {
        return Err(EngineError::invalid(
            "invalid specification: destination can't be '/'",
        ));
    }
    if !dest.starts_with('/') || dest.split('/').any(|p| p == "..") {
        return Err(EngineError::invalid(format!(
            "invalid mount path: '{dest}' mount path must be absolute"
        )));
    }
    runtime::spec::tmpfs_options(data).map_err(EngineError::invalid)?;
    Ok(())
}

/// moby's check of one cpuset list (`what`: `cpus` or `mems`) against what the host offers
/// (`available`, as the cgroup writes it), with its texts: numbers above 8192 (or the
/// host's highest) are refused before any is looked at.
fn check_cpuset_list(asked: &str, available: &str, what: &str, label: &str) -> Result<()> {
    let offered = cgroup::parse_cpu_list(available, 0).unwrap_or_default();
    let maximum = offered.iter().max().copied().unwrap_or(0).max(8192);
    let wanted = cgroup::parse_cpu_list(asked, maximum).map_err(|e| {
        EngineError::invalid(format!("Invalid value {asked} for cpuset {what}: {e}"))
    })?;
    if !wanted.is_subset(&offered) {
        return Err(EngineError::invalid(format!(
            "Requested {label} are not available - requested {asked}, available: {available}"
        )));
    }
    Ok(())
}

/// Whether `name` is a sysctl of a namespace the container has of its own (the docker CLI's
/// `ValidateSysctl` list, with runc's `kernel.msg*`/`kernel.shm*` IPC ones).
fn namespaced_sysctl(name: &str) -> bool {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let well_formed = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && name.split('.').all(|p| !p.is_empty());
    well_formed
        && (IPC.contains(&name)
            || name.starts_with("kernel.msg")
            || name.starts_with("kernel.shm")
            || name.starts_with("fs.mqueue.")
            || name.starts_with("net."))
}

/// One namespace mode: `""` and `ok` are honoured; `host` is refused; `container:<id>` is
/// refused (no namespace is ever shared between containers); anything else is invalid.
fn check_mode(flag: &str, label: &str, mode: &str, ok: &[&str]) -> Result<()> {
    if mode.is_empty() || ok.contains(&mode) {
        return Ok(());
    }
    if mode == "host" {
        return Err(refuse(&format!("--{flag} host"), NEVER_HOST));
    }
    if let Some(id) = mode.strip_prefix("container:") {
        return Err(refuse(
            &format!("--{flag} container:{id}"),
            "containers share no namespace",
        ));
    }
    Err(EngineError::invalid(format!(
        "invalid {label} mode: {mode}"
    )))
}

impl HostOptions {
    /// Docker's answer to `logs` for a container whose log driver keeps nothing to read.
    pub const LOGS_UNREADABLE: &'static str = "configured logging driver does not support reading";

    /// The log driver in effect: `json-file` when none was asked.
    pub fn log_driver(&self) -> &str {
        if self.log_driver.is_empty() {
            "json-file"
        } else {
            &self.log_driver
        }
    }

    /// Whether `logs` can read what the container wrote (`json-file`), or its driver keeps
    /// nothing ([`HostOptions::LOGS_UNREADABLE`]).
    pub fn logs_readable(&self) -> bool {
        self.log_driver() != "none"
    }

    /// The `json-file` log's rotation (`None`: the `none` driver, nothing is logged).
    pub fn log_rotation(&self) -> Option<runtime::logfile::Rotation> {
        if !self.logs_readable() {
            return None;
        }
        let opts = runtime::logfile::parse_options(|k| self.log_opts.get(k).map(String::as_str));
        Some(opts.map(|o| o.rotation).unwrap_or_default())
    }

    /// `--log-driver` and `--log-opt` as Docker checks them, with its texts: moby's
    /// `ValidateLogOpts` at create (`none` takes anything; `mode`, `max-buffer-size`, the
    /// driver's name, the json-file driver's option names), then the json-file driver's
    /// reading of the values, which Docker does at the first start ("failed to initialize
    /// logging driver: …") and Strata at create, so that no container is created that could
    /// never start. Refused by name: the other built-in drivers, `mode=non-blocking`,
    /// `compress=true`, and the options that add attributes to each entry (`tag`, `labels`,
    /// `env` and their `-regex` forms).
    fn check_log(&self) -> Result<()> {
        let driver = self.log_driver();
        if driver == "none" {
            return Ok(());
        }
        let opts = &self.log_opts;
        let mode = opts.get("mode").map_or("", String::as_str);
        if !matches!(mode, "" | "blocking" | "non-blocking") {
            return Err(EngineError::invalid(format!(
                "logger: logging mode not supported: {mode}"
            )));
        }
        if let Some(size) = opts.get("max-buffer-size") {
            if mode != "non-blocking" {
                return Err(EngineError::invalid(
                    "logger: max-buffer-size option is only supported with 'mode=non-blocking'",
                ));
            }
            runtime::logfile::ram_in_bytes(size).map_err(|e| {
                EngineError::invalid(format!("error parsing option max-buffer-size: {e}"))
            })?;
        }
        if driver != "json-file" {
            if OTHER_LOG_DRIVERS.contains(&driver) {
                return Err(refuse(
                    &format!("--log-driver {driver}"),
                    "a container's output is logged by json-file, or not at all (none)",
                ));
            }
            return Err(EngineError::invalid(format!(
                "error looking up logging plugin {driver}: plugin \"{driver}\" not found"
            )));
        }
        let own = opts
            .keys()
            .map(String::as_str)
            .filter(|k| !matches!(*k, "mode" | "max-buffer-size"));
        runtime::logfile::check_option_names(own).map_err(EngineError::invalid)?;
        let parsed =
            runtime::logfile::parse_options(|k| opts.get(k).map(String::as_str)).map_err(|e| {
                EngineError::invalid(format!("failed to initialize logging driver: {e}"))
            })?;
        if mode == "non-blocking" {
            return Err(refuse(
                "--log-opt mode=non-blocking",
                "the log is written as the container writes it (mode=blocking)",
            ));
        }
        if parsed.compress {
            return Err(refuse(
                "--log-opt compress=true",
                "rotated log files are kept uncompressed",
            ));
        }
        // The attributes' options, as the driver's start would read them: a tag template
        // that does not parse or names no field of moby's `logger.Info`, a bad expression.
        let info = LogInfo {
            tag: docker_api::LogTagFacts {
                id: &"0".repeat(64),
                name: "/name",
                image_id: &format!("sha256:{}", "0".repeat(64)),
                image_name: "image",
                hostname: "host",
                entrypoint: "sh",
                args: &[],
            },
            labels: &BTreeMap::new(),
            env: &[],
        };
        self.log_attrs(&info)?;
        Ok(())
    }

    /// The attributes every entry of the container's log carries, as moby's json-file driver
    /// makes them when it starts (`Info.ExtraAttributes`, then `ParseLogTag`): the labels
    /// named by `labels` or matched by `labels-regex`, the environment variables named by
    /// `env` or matched by `env-regex`, and `tag`, a Go template over moby's `logger.Info`
    /// (`{{.Name}}`, `{{.ID}}`, `{{.ImageName}}`…).
    pub(crate) fn log_attrs(&self, info: &LogInfo) -> Result<BTreeMap<String, String>> {
        let failed =
            |e: String| EngineError::invalid(format!("failed to initialize logging driver: {e}"));
        let opt = |k: &str| {
            self.log_opts
                .get(k)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        let regex = |v: &str| {
            regex::RegexBuilder::new(v)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    // one line, in Go's shape: what is wrong, then the expression
                    let why = e.to_string();
                    let why = why.lines().last().unwrap_or_default();
                    let why = why.trim().trim_start_matches("error: ");
                    failed(format!("error parsing regexp: {why}: `{v}`"))
                })
        };
        let mut out = BTreeMap::new();
        if let Some(names) = opt("labels") {
            for n in names.split(',') {
                if let Some(v) = info.labels.get(n) {
                    out.insert(n.to_string(), v.clone());
                }
            }
        }
        if let Some(re) = opt("labels-regex") {
            let re = regex(re)?;
            for (k, v) in info.labels {
                if re.is_match(k) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        let env: BTreeMap<&str, &str> = info.env.iter().filter_map(|e| e.split_once('=')).collect();
        if let Some(names) = opt("env") {
            for n in names.split(',') {
                if let Some(v) = env.get(n) {
                    out.insert(n.to_string(), v.to_string());
                }
            }
        }
        if let Some(re) = opt("env-regex") {
            let re = regex(re)?;
            for (k, v) in &env {
                if re.is_match(k) {
                    out.insert(k.to_string(), v.to_string());
                }
            }
        }
        if let Some(tag) = opt("tag") {
            let template = docker_format::Format::Template {
                table: false,
                text: tag.to_string(),
            };
            // moby names the template `log-tag` and runs it on a `*logger.Info`
            let rendered = template
                .render(&[docker_api::log_tag_fields(&info.tag)], &[])
                .map_err(|e| {
                    let mut m = e
                        .to_string()
                        .replacen("template: :", "template: log-tag:", 1)
                        .replacen("executing \"\"", "executing \"log-tag\"", 1);
                    if m.contains("can't evaluate field") {
                        m.push_str(" in type *logger.Info");
                    }
                    failed(m)
                })?;
            let rendered = rendered.strip_suffix('\n').unwrap_or(&rendered);
            if !rendered.is_empty() {
                out.insert("tag".into(), rendered.to_string());
            }
        }
        // They travel to the monitor as one JSON argument (at most 128 KiB on Linux).
        let size = serde_json::to_string(&out).map_or(usize::MAX, |j| j.len());
        if size > MAX_LOG_ATTRS {
            return Err(failed(format!(
                "the log attributes take {size} bytes, more than {MAX_LOG_ATTRS}"
            )));
        }
        Ok(out)
    }

    /// The capability lists normalised (moby's texts for an unknown name), with those that
    /// reach the host refused.
    fn check_caps(&self, network: &str) -> Result<()> {
        let add = runtime::spec::normalize_caps(&self.cap_add)
            .map_err(|e| EngineError::invalid(format!("invalid CapAdd: {e}")))?;
        runtime::spec::normalize_caps(&self.cap_drop)
            .map_err(|e| EngineError::invalid(format!("invalid CapDrop: {e}")))?;
        for c in &add {
            if c == "ALL" || HOST_CAPS.contains(&c.as_str()) {
                return Err(refuse(&format!("--cap-add {c}"), NEVER_HOST));
            }
            if c == "CAP_NET_ADMIN" && network == "host" {
                return Err(refuse(
                    "--cap-add CAP_NET_ADMIN with --network host",
                    NEVER_HOST,
                ));
            }
        }
        Ok(())
    }

    fn check_sysctls(&self, network: &str) -> Result<()> {
        for (k, v) in &self.sysctls {
            if !namespaced_sysctl(k) {
                return Err(EngineError::invalid(format!(
                    "sysctl '{k}={v}' is not whitelisted"
                )));
            }
            if k.starts_with("net.") && network == "host" {
                return Err(EngineError::invalid(format!(
                    "sysctl {k:?} not allowed in host network namespace"
                )));
            }
        }
        Ok(())
    }

    fn check_memory(&self, memory: Option<i64>) -> Result<()> {
        let memory = memory.filter(|m| *m > 0);
        match self.memory_swap.filter(|s| *s != 0) {
            None => {}
            Some(_) if !cgroup::swap_limit() => {
                return Err(refuse(
                    "--memory-swap",
                    "the host's memory cgroup does not limit swap",
                ))
            }
            Some(-1) => {}
            Some(s) if s < 0 => {
                return Err(EngineError::invalid(format!(
                    "invalid memory swap limit: {s}"
                )))
            }
            Some(s) => match memory {
                None => {
                    return Err(EngineError::invalid(
                        "You should always set the Memory limit when using Memoryswap limit, see usage.",
                    ))
                }
                Some(m) if s < m => {
                    return Err(EngineError::invalid(
                        "Minimum memoryswap limit should be larger than memory limit, see usage.",
                    ))
                }
                Some(_) => {}
            },
        }
        if let Some(r) = self.memory_reservation.filter(|r| *r != 0) {
            if r < 0 {
                return Err(EngineError::invalid(format!(
                    "invalid memory reservation: {r}"
                )));
            }
            if r < 6 * 1024 * 1024 {
                return Err(EngineError::invalid(
                    "Minimum memory reservation allowed is 6MB",
                ));
            }
            if memory.is_some_and(|m| m < r) {
                return Err(EngineError::invalid(
                    "Minimum memory limit can not be less than memory reservation limit, see usage.",
                ));
            }
            if !cgroup::memory_reservation() {
                return Err(refuse(
                    "--memory-reservation",
                    "the host's memory cgroup has no soft limit",
                ));
            }
        }
        if let Some(s) = self.memory_swappiness.filter(|s| *s != -1) {
            if !(0..=100).contains(&s) {
                return Err(EngineError::invalid(format!(
                    "Invalid value: {s}, valid memory swappiness range is 0-100"
                )));
            }
            if !cgroup::swappiness() {
                return Err(refuse(
                    "--memory-swappiness",
                    "the host's memory cgroup has no swappiness",
                ));
            }
        }
        if self.oom_kill_disable && !cgroup::oom_kill_disable() {
            return Err(refuse(
                "--oom-kill-disable",
                "the host's memory cgroup cannot keep the OOM killer off",
            ));
        }
        if !(-1000..=1000).contains(&self.oom_score_adj) {
            return Err(EngineError::invalid(format!(
                "Invalid value {}, range for oom score adj is [-1000, 1000]",
                self.oom_score_adj
            )));
        }
        if let Some(s) = self.shm_size {
            if s < 0 {
                return Err(EngineError::invalid("SHM size can not be less than 0"));
            }
        }
        Ok(())
    }

    fn check_cpu(&self, nano_cpus: Option<i64>) -> Result<()> {
        if let Some(s) = self.cpu_shares.filter(|s| *s != 0) {
            if s < 0 {
                return Err(EngineError::invalid(format!(
                    "invalid CPU shares: {s}, must be positive"
                )));
            }
            if !cgroup::cpu_shares() {
                return Err(refuse("--cpu-shares", "the host has no cpu cgroup"));
            }
        }
        let nano = nano_cpus.is_some_and(|n| n > 0);
        if let Some(p) = self.cpu_period.filter(|p| *p != 0) {
            if nano {
                return Err(EngineError::invalid(
                    "Conflicting options: Nano CPUs and CPU Period cannot both be set",
                ));
            }
            if !(1000..=1_000_000).contains(&p) {
                return Err(EngineError::invalid(
                    "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
                ));
            }
        }
        if let Some(q) = self.cpu_quota.filter(|q| *q != 0) {
            if nano {
                return Err(EngineError::invalid(
                    "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
                ));
            }
            if q > 0 && q < 1000 {
                return Err(EngineError::invalid(
                    "CPU cfs quota can not be less than 1ms (i.e. 1000)",
                ));
            }
        }
        let cfs = self.cpu_period.is_some_and(|p| p != 0) || self.cpu_quota.is_some_and(|q| q > 0);
        if cfs && !cgroup::cpu_cfs() {
            return Err(refuse(
                "--cpu-period/--cpu-quota",
                "the host's cpu cgroup has no CFS quota",
            ));
        }
        Ok(())
    }

    /// `--add-host`, `--dns` and `--tmpfs` as moby checks them (`--dns` as its start would).
    fn check_files(&self) -> Result<()> {
        for e in &self.extra_hosts {
            parse_extra_host(e)?;
        }
        for ns in &self.dns {
            if runtime::spec::parse_nameserver(ns).is_none() {
                return Err(EngineError::invalid(format!(
                    "bad nameserver address {ns}: ParseAddr({ns:?}): unable to parse IP"
                )));
            }
        }
        for (dest, data) in &self.tmpfs {
            check_tmpfs(dest, data)?;
        }
        Ok(())
    }

    /// `--cpuset-cpus` and `--cpuset-mems` against the CPUs and memory nodes the host's
    /// cpuset cgroup offers (`None`: it has none, and they are refused).
    fn check_cpuset(&self, available: Option<(String, String)>) -> Result<()> {
        if self.cpuset_cpus.is_empty() && self.cpuset_mems.is_empty() {
            return Ok(());
        }
        let Some((cpus, mems)) = available else {
            return Err(refuse(
                "--cpuset-cpus/--cpuset-mems",
                "the host has no cpuset cgroup",
            ));
        };
        check_cpuset_list(&self.cpuset_cpus, &cpus, "cpus", "CPUs")?;
        check_cpuset_list(&self.cpuset_mems, &mems, "mems", "memory nodes")
    }

    /// The container's `/etc/hosts` entries and name servers, [`HOST_GATEWAY`] resolved by
    /// `gateway` (called only when an entry names it; moby's text when it fails).
    pub(crate) fn etc_options(
        &self,
        gateway: impl FnOnce() -> Result<String>,
    ) -> Result<runtime::spec::EtcOptions> {
        let asked: Vec<(&str, &str)> = self
            .extra_hosts
            .iter()
            .map(|e| parse_extra_host(e))
            .collect::<Result<_>>()?;
        let host_gateway = if asked.iter().any(|(_, addr)| *addr == HOST_GATEWAY) {
            gateway().map_err(|e| {
                EngineError::invalid(format!(
                    "unable to derive the IP value for host-gateway: {e}"
                ))
            })?
        } else {
            String::new()
        };
        let mut extra_hosts = Vec::new();
        for (name, addr) in asked {
            let addr = if addr == HOST_GATEWAY {
                host_gateway.clone()
            } else {
                // The address as Go's `netip` writes it (`0:0::1` is `::1`).
                addr.trim()
                    .parse::<std::net::IpAddr>()
                    .map(|ip| ip.to_string())
                    .unwrap_or_else(|_| addr.to_string())
            };
            extra_hosts.push((name.to_string(), addr));
        }
        Ok(runtime::spec::EtcOptions {
            extra_hosts,
            dns: self.dns.clone(),
            dns_search: self.dns_search.clone(),
            dns_options: self.dns_options.clone(),
        })
    }

    /// Docker's create-time checks for these options in a container of network mode
    /// `network` (`bridge`, `host`, `none`) with the memory limit and CPUs asked.
    pub fn check(&self, network: &str, memory: Option<i64>, nano_cpus: Option<i64>) -> Result<()> {
        if self.privileged {
            return Err(refuse("privileged mode", NEVER_HOST));
        }
        if !self.devices.is_empty() {
            return Err(refuse(
                &format!("--device {}", self.devices[0]),
                "a container's processes never reach the host's devices",
            ));
        }
        if !self.device_cgroup_rules.is_empty() {
            return Err(refuse(
                "--device-cgroup-rule",
                "a container's processes never reach the host's devices",
            ));
        }
        check_mode("pid", "PID", &self.pid_mode, &[])?;
        check_mode("ipc", "IPC", &self.ipc_mode, &["private", "shareable"])?;
        check_mode("uts", "UTS", &self.uts_mode, &[])?;
        // No container gets a user namespace: `host` is what each already has (Docker's
        // `--userns host` turns off a daemon's remapping, which Strata never does).
        check_mode("userns", "user namespace", &self.userns_mode, &["host"])?;
        // A v1 host's containers share its cgroup namespace (Docker's default there);
        // `private` gives one of its own. On v2 every container has its own.
        let cgroupns_ok: &[&str] = if cgroup::is_v2() {
            &["private"]
        } else {
            &["private", "host"]
        };
        check_mode(
            "cgroupns",
            "cgroup namespace",
            &self.cgroupns_mode,
            cgroupns_ok,
        )?;
        self.check_caps(network)?;
        self.check_sysctls(network)?;
        parse_security_opts(&self.security_opt)?;
        self.check_memory(memory)?;
        self.check_cpu(nano_cpus)?;
        if !self.cpuset_cpus.is_empty() || !self.cpuset_mems.is_empty() {
            self.check_cpuset(cgroup::cpuset_available())?;
        }
        self.check_files()?;
        self.check_log()?;
        for u in &self.ulimits {
            runtime::spec::check_ulimit(&u.name)?;
            if u.soft > u.hard {
                return Err(EngineError::invalid(format!(
                    "ulimit soft limit must be less than or equal to hard limit: {} > {}",
                    u.soft, u.hard
                )));
            }
        }
        Ok(())
    }

    /// Fills the runtime's options from these (checked at create).
    pub(crate) fn apply(&self, o: &mut runtime::spec::SpecOptions) -> Result<()> {
        let sec = parse_security_opts(&self.security_opt)?;
        o.seccomp_unconfined = sec.seccomp_unconfined;
        o.cap_add = self.cap_add.clone();
        o.cap_drop = self.cap_drop.clone();
        o.group_add = self.group_add.clone();
        o.sysctls = self.sysctls.clone();
        o.memory_swap = self.memory_swap.filter(|s| *s != 0);
        o.memory_reservation = self.memory_reservation.filter(|r| *r > 0);
        o.memory_swappiness = self.memory_swappiness.filter(|s| *s >= 0).map(|s| s as u64);
        o.oom_kill_disable = self.oom_kill_disable;
        o.oom_score_adj = self.oom_score_adj as i32;
        o.cpu_shares = self.cpu_shares.filter(|s| *s > 0).map(|s| s as u64);
        o.cpu_period = self.cpu_period.filter(|p| *p > 0).map(|p| p as u64);
        o.cpu_quota = self.cpu_quota.filter(|q| *q != 0);
        o.shm_size = self.shm_size.filter(|s| *s > 0);
        o.cgroupns_private = self.cgroupns_mode == "private";
        o.ulimits = self
            .ulimits
            .iter()
            // Docker's cast: a negative limit is a huge one (-1 is RLIM_INFINITY)
            .map(|u| (u.name.clone(), u.soft as u64, u.hard as u64))
            .collect();
        o.tmpfs = self
            .tmpfs
            .iter()
            .map(|(dest, data)| runtime::spec::TmpfsMount {
                destination: dest.clone(),
                data: data.clone(),
            })
            .collect();
        o.cpuset_cpus = Some(self.cpuset_cpus.clone()).filter(|c| !c.is_empty());
        o.cpuset_mems = Some(self.cpuset_mems.clone()).filter(|m| !m.is_empty());
        Ok(())
    }
}

impl crate::Engine {
    /// Where a container's `json-file` log is written (Docker's `LogPath`); its rotated files
    /// sit beside it (`<log>.1` the newest).
    pub fn container_log_path(&self, id: &str) -> std::path::PathBuf {
        self.container_dir(id).join(runtime::logfile::LOG_FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(h: &HostOptions, network: &str) -> String {
        h.check(network, None, None).unwrap_err().to_string()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn host_reaching_options_are_refused() {
        let h = HostOptions {
            privileged: true,
            ..Default::default()
        };
        assert_eq!(
            err(&h, "bridge"),
            "privileged mode is not supported: a container's processes never reach the host"
        );
        for (h, text) in [
            (
                HostOptions {
                    pid_mode: "host".into(),
                    ..Default::default()
                },
                "--pid host is not supported: a container's processes never reach the host",
            ),
            (
                HostOptions {
                    ipc_mode: "host".into(),
                    ..Default::default()
                },
                "--ipc host is not supported: a container's processes never reach the host",
            ),
            (
                HostOptions {
                    uts_mode: "host".into(),
                    ..Default::default()
                },
                "--uts host is not supported: a container's processes never reach the host",
            ),
            (
                HostOptions {
                    pid_mode: "container:abc".into(),
                    ..Default::default()
                },
                "--pid container:abc is not supported: containers share no namespace",
            ),
            (
                HostOptions {
                    pid_mode: "bogus".into(),
                    ..Default::default()
                },
                "invalid PID mode: bogus",
            ),
            (
                HostOptions {
                    devices: s(&["/dev/sda"]),
                    ..Default::default()
                },
                "--device /dev/sda is not supported: a container's processes never reach the host's devices",
            ),
            (
                HostOptions {
                    cap_add: s(&["sys_admin"]),
                    ..Default::default()
                },
                "--cap-add CAP_SYS_ADMIN is not supported: a container's processes never reach the host",
            ),
            (
                HostOptions {
                    cap_add: s(&["all"]),
                    ..Default::default()
                },
                "--cap-add ALL is not supported: a container's processes never reach the host",
            ),
            (
                HostOptions {
                    cap_add: s(&["FOO"]),
                    ..Default::default()
                },
                "invalid CapAdd: unknown capability: \"CAP_FOO\"",
            ),
            (
                HostOptions {
                    cap_drop: s(&["cap_bar"]),
                    ..Default::default()
                },
                "invalid CapDrop: unknown capability: \"CAP_BAR\"",
            ),
        ] {
            assert_eq!(err(&h, "bridge"), text);
        }
        let h = HostOptions {
            cap_add: s(&["NET_ADMIN"]),
            ..Default::default()
        };
        assert!(h.check("bridge", None, None).is_ok());
        assert!(err(&h, "host").contains("CAP_NET_ADMIN with --network host"));
        // What every container already is.
        let h = HostOptions {
            userns_mode: "host".into(),
            ipc_mode: "shareable".into(),
            cgroupns_mode: "private".into(),
            cap_add: s(&["NET_ADMIN", "CAP_SYS_PTRACE"]),
            cap_drop: s(&["ALL"]),
            ..Default::default()
        };
        assert!(h.check("bridge", None, None).is_ok());
    }

    #[test]
    fn sysctls_as_docker_allows_them() {
        let sys = |k: &str| HostOptions {
            sysctls: [(k.to_string(), "1".to_string())].into(),
            ..Default::default()
        };
        for ok in [
            "kernel.shm_rmid_forced",
            "kernel.msgmax",
            "kernel.sem",
            "fs.mqueue.msg_max",
            "net.ipv4.ip_forward",
        ] {
            assert!(sys(ok).check("bridge", None, None).is_ok(), "{ok}");
        }
        for bad in [
            "kernel.foo",
            "vm.swappiness",
            "net..x",
            "net.ipv4/../../x",
            "",
        ] {
            assert_eq!(
                err(&sys(bad), "bridge"),
                format!("sysctl '{bad}=1' is not whitelisted")
            );
        }
        assert_eq!(
            err(&sys("net.ipv4.ip_forward"), "host"),
            "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace"
        );
        assert!(sys("kernel.shm_rmid_forced")
            .check("host", None, None)
            .is_ok());
    }

    #[test]
    fn security_opts_as_moby_parses_them() {
        let p = |v: &[&str]| parse_security_opts(&s(v)).map_err(|e| e.to_string());
        assert_eq!(
            p(&["no-new-privileges"]).unwrap().no_new_privileges,
            Some(true)
        );
        assert_eq!(
            p(&["no-new-privileges:false"]).unwrap().no_new_privileges,
            Some(false)
        );
        assert!(p(&["seccomp=unconfined"]).unwrap().seccomp_unconfined);
        assert!(p(&["apparmor=unconfined", "label=disable", "label:disable"]).is_ok());
        assert_eq!(
            p(&["foo=bar"]).unwrap_err(),
            "invalid --security-opt 2: \"foo=bar\""
        );
        assert_eq!(
            p(&["foo"]).unwrap_err(),
            "invalid --security-opt 1: \"foo\""
        );
        assert_eq!(
            p(&["no-new-privileges=maybe"]).unwrap_err(),
            "invalid --security-opt 2: \"no-new-privileges=maybe\""
        );
        assert!(p(&["apparmor=docker-default"])
            .unwrap_err()
            .starts_with("--security-opt apparmor=docker-default is not supported"));
        assert!(p(&["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"])
            .unwrap_err()
            .starts_with("--security-opt seccomp=<profile> is not supported"));
        assert!(p(&["systempaths=unconfined"])
            .unwrap_err()
            .ends_with("never reach the host"));
    }

    #[test]
    fn limits_as_docker_checks_them() {
        let h = |f: fn(&mut HostOptions)| {
            let mut h = HostOptions::default();
            f(&mut h);
            h
        };
        let e = |h: HostOptions, m: Option<i64>, n: Option<i64>| {
            h.check("bridge", m, n).unwrap_err().to_string()
        };
        assert_eq!(
            e(h(|h| h.oom_score_adj = 1001), None, None),
            "Invalid value 1001, range for oom score adj is [-1000, 1000]"
        );
        assert_eq!(
            e(h(|h| h.memory_swappiness = Some(101)), None, None),
            "Invalid value: 101, valid memory swappiness range is 0-100"
        );
        assert_eq!(
            e(
                h(|h| h.cpu_period = Some(50_000)),
                None,
                Some(1_000_000_000)
            ),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        );
        assert_eq!(
            e(h(|h| h.cpu_quota = Some(10)), None, None),
            "CPU cfs quota can not be less than 1ms (i.e. 1000)"
        );
        assert_eq!(
            e(h(|h| h.memory_reservation = Some(1 << 20)), None, None),
            "Minimum memory reservation allowed is 6MB"
        );
        assert_eq!(
            e(h(|h| h.shm_size = Some(-1)), None, None),
            "SHM size can not be less than 0"
        );
        if cgroup::swap_limit() {
            assert_eq!(
                e(h(|h| h.memory_swap = Some(64 << 20)), None, None),
                "You should always set the Memory limit when using Memoryswap limit, see usage."
            );
            assert_eq!(
                e(h(|h| h.memory_swap = Some(8 << 20)), Some(16 << 20), None),
                "Minimum memoryswap limit should be larger than memory limit, see usage."
            );
        } else {
            assert!(e(h(|h| h.memory_swap = Some(-1)), None, None)
                .starts_with("--memory-swap is not supported"));
        }
        let u = h(|h| {
            h.ulimits = vec![Ulimit {
                name: "nofile".into(),
                soft: 10,
                hard: 5,
            }]
        });
        assert_eq!(
            e(u, None, None),
            "ulimit soft limit must be less than or equal to hard limit: 10 > 5"
        );
        let u = h(|h| {
            h.ulimits = vec![Ulimit {
                name: "bogus".into(),
                soft: 1,
                hard: 1,
            }]
        });
        assert_eq!(e(u, None, None), "invalid ulimit type: bogus");
    }

    /// moby's json-file attributes: labels and variables named or matched, and the tag
    /// template over `logger.Info`.
    #[test]
    fn log_attributes_as_the_json_file_driver_makes_them() {
        let labels: BTreeMap<String, String> = [("app", "web"), ("tier", "front"), ("x", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = vec![
            "HOME=/root".to_string(),
            "STAGE=prod".into(),
            "STAMP=7=7".into(),
        ];
        let id = format!("{}{}", "abcdef012345", "9".repeat(52));
        let args = ["-c".to_string(), "echo hi".to_string()];
        let info = LogInfo {
            tag: docker_api::LogTagFacts {
                id: &id,
                name: "/web",
                image_id: &format!("sha256:{}", "f".repeat(64)),
                image_name: "busybox:latest",
                hostname: "h1",
                entrypoint: "sh",
                args: &args,
            },
            labels: &labels,
            env: &env,
        };
        let attrs = |opts: &[(&str, &str)]| {
            let h = HostOptions {
                log_opts: opts
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..HostOptions::default()
            };
            h.log_attrs(&info)
                .unwrap()
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        };
        assert!(attrs(&[("max-size", "1m")]).is_empty());
        assert_eq!(attrs(&[("labels", "app,missing")]), ["app=web"]);
        assert_eq!(attrs(&[("labels-regex", "^t")]), ["tier=front"]);
        assert_eq!(
            attrs(&[("env", "STAGE,NOPE,STAMP")]),
            ["STAGE=prod", "STAMP=7=7"]
        );
        assert_eq!(attrs(&[("env-regex", "^ST")]), ["STAGE=prod", "STAMP=7=7"]);
        assert_eq!(
            attrs(&[(
                "tag",
                "{{.Name}}/{{.ID}} {{.ImageName}} {{.ImageID}} {{.DaemonName}} {{.Command}}"
            )]),
            ["tag=web/abcdef012345 busybox:latest sha256:fffff docker sh -c echo hi"]
        );
        assert_eq!(attrs(&[("tag", "{{.FullID}}")]), [format!("tag={id}")]);
        // an empty tag is no attribute
        assert!(attrs(&[("tag", "{{if false}}x{{end}}")]).is_empty());
        // too much to hand the monitor: refused, in words
        let big = vec![format!("BIG={}", "x".repeat(100 * 1024))];
        let h = HostOptions {
            log_opts: [("env".to_string(), "BIG".to_string())]
                .into_iter()
                .collect(),
            ..HostOptions::default()
        };
        let err = h
            .log_attrs(&LogInfo { env: &big, ..info })
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than 98304"), "{err}");
    }

    #[test]
    fn log_drivers_and_options_as_docker_checks_them() {
        let log = |driver: &str, opts: &[(&str, &str)]| HostOptions {
            log_driver: driver.into(),
            log_opts: opts
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        let e = |h: HostOptions| h.check("bridge", None, None).map_err(|e| e.to_string());
        for ok in [
            log("", &[]),
            log("json-file", &[("max-size", "10m"), ("max-file", "3")]),
            log("", &[("mode", "blocking"), ("compress", "false")]),
            // moby takes any option with `none` (the docker CLI refuses them itself).
            log("none", &[("max-size", "x"), ("mode", "bogus")]),
        ] {
            assert_eq!(e(ok.clone()), Ok(()), "{ok:?}");
        }
        let refused = " is not supported: ";
        for (h, text) in [
            (
                log("", &[("foo", "bar")]),
                "unknown log opt 'foo' for json-file log driver".to_string(),
            ),
            (
                log("", &[("max-size", "abc")]),
                "failed to initialize logging driver: invalid size: 'abc'".into(),
            ),
            (
                log("", &[("max-size", "0")]),
                "failed to initialize logging driver: max-size must be a positive number".into(),
            ),
            (
                log("", &[("max-file", "0")]),
                "failed to initialize logging driver: max-file cannot be less than 1".into(),
            ),
            (
                log("", &[("max-file", "x")]),
                "failed to initialize logging driver: strconv.Atoi: parsing \"x\": invalid syntax"
                    .into(),
            ),
            (
                log("", &[("compress", "true")]),
                "failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set".into(),
            ),
            (
                log("", &[("mode", "bogus")]),
                "logger: logging mode not supported: bogus".into(),
            ),
            (
                log("", &[("max-buffer-size", "1m")]),
                "logger: max-buffer-size option is only supported with 'mode=non-blocking'".into(),
            ),
            (
                log("", &[("mode", "non-blocking"), ("max-buffer-size", "x")]),
                "error parsing option max-buffer-size: invalid size: 'x'".into(),
            ),
            (
                log("bogus", &[]),
                "error looking up logging plugin bogus: plugin \"bogus\" not found".into(),
            ),
            (
                log("syslog", &[]),
                format!("--log-driver syslog{refused}a container's output is logged by json-file, or not at all (none)"),
            ),
            (
                log("local", &[("max-size", "1m")]),
                format!("--log-driver local{refused}a container's output is logged by json-file, or not at all (none)"),
            ),
            (
                log("", &[("mode", "non-blocking")]),
                format!("--log-opt mode=non-blocking{refused}the log is written as the container writes it (mode=blocking)"),
            ),
            (
                log("", &[("compress", "true"), ("max-size", "1m"), ("max-file", "2")]),
                format!("--log-opt compress=true{refused}rotated log files are kept uncompressed"),
            ),
            (
                log("", &[("tag", "{{.Nope}}")]),
                "failed to initialize logging driver: template: log-tag:1:2: executing \"log-tag\" at <.Nope>: can't evaluate field Nope in type *logger.Info".into(),
            ),
            (
                log("", &[("env-regex", "(")]),
                "failed to initialize logging driver: error parsing regexp: unclosed group: `(`".into(),
            ),
        ] {
            assert_eq!(e(h.clone()), Err(text), "{h:?}");
        }
        let h = log("", &[("max-size", "1k"), ("max-file", "3")]);
        assert_eq!(
            h.log_rotation(),
            Some(runtime::logfile::Rotation {
                max_size: Some(1000),
                max_files: 3
            })
        );
        assert!(h.logs_readable());
        assert_eq!(h.log_driver(), "json-file");
        let none = log("none", &[]);
        assert_eq!((none.log_rotation(), none.logs_readable()), (None, false));
        // A run configuration written before these fields reads as json-file, unrotated.
        let old: HostOptions = serde_json::from_str(r#"{"cap_add":[]}"#).unwrap();
        assert_eq!(old.log_rotation(), Some(Default::default()));
    }

    #[test]
    fn hosts_name_servers_and_tmpfs_as_docker_checks_them() {
        let e = |h: HostOptions| h.check("bridge", None, None).map_err(|e| e.to_string());
        let hosts = |v: &[&str]| HostOptions {
            extra_hosts: s(v),
            ..Default::default()
        };
        assert!(e(hosts(&[
            "foo:192.0.2.7",
            "six:2001:db8::1",
            "gw:host-gateway"
        ]))
        .is_ok());
        assert_eq!(
            e(hosts(&["foo"])).unwrap_err(),
            "bad format for add-host: \"foo\""
        );
        assert_eq!(
            e(hosts(&[":192.0.2.7"])).unwrap_err(),
            "bad format for add-host: \":192.0.2.7\""
        );
        assert_eq!(
            e(hosts(&["foo:x"])).unwrap_err(),
            "invalid IP address in add-host: \"x\""
        );
        let dns = HostOptions {
            dns: s(&["192.0.2.1", "nope"]),
            ..Default::default()
        };
        assert_eq!(
            e(dns).unwrap_err(),
            "bad nameserver address nope: ParseAddr(\"nope\"): unable to parse IP"
        );
        let tmpfs = |dest: &str, data: &str| HostOptions {
            tmpfs: [(dest.to_string(), data.to_string())].into(),
            ..Default::default()
        };
        assert!(e(tmpfs("/scratch", "size=1m,mode=1777")).is_ok());
        for (dest, data, text) in [
            ("/", "", "invalid specification: destination can't be '/'"),
            (
                "/a/..",
                "",
                "invalid specification: destination can't be '/'",
            ),
            (
                "scratch",
                "",
                "invalid mount path: 'scratch' mount path must be absolute",
            ),
            (
                "/a/../b",
                "",
                "invalid mount path: '/a/../b' mount path must be absolute",
            ),
            ("/x", "size=1m,foo", "invalid tmpfs option [\"foo\"]"),
        ] {
            assert_eq!(e(tmpfs(dest, data)).unwrap_err(), text, "{dest}:{data}");
        }
    }

    #[test]
    fn cpusets_as_moby_checks_them() {
        let c = |cpus: &str, mems: &str, avail: Option<(&str, &str)>| {
            HostOptions {
                cpuset_cpus: cpus.into(),
                cpuset_mems: mems.into(),
                ..Default::default()
            }
            .check_cpuset(avail.map(|(c, m)| (c.to_string(), m.to_string())))
            .map_err(|e| e.to_string())
        };
        let host = Some(("0-1", "0"));
        assert!(c("", "", None).is_ok());
        assert!(c("0", "0", host).is_ok());
        assert!(c("0,1", "", host).is_ok());
        assert!(c("1-1,0", "", host).is_ok());
        assert_eq!(
            c("5", "", host).unwrap_err(),
            "Requested CPUs are not available - requested 5, available: 0-1"
        );
        assert_eq!(
            c("0-x", "", host).unwrap_err(),
            "Invalid value 0-x for cpuset cpus: invalid format: 0-x"
        );
        assert_eq!(
            c("0-9999", "", host).unwrap_err(),
            "Invalid value 0-9999 for cpuset cpus: value of out range, maximum is 8192"
        );
        assert_eq!(
            c("", "1", host).unwrap_err(),
            "Requested memory nodes are not available - requested 1, available: 0"
        );
        assert_eq!(
            c("", "a", host).unwrap_err(),
            "Invalid value a for cpuset mems: invalid format: a"
        );
        assert!(c("0", "", None)
            .unwrap_err()
            .starts_with("--cpuset-cpus/--cpuset-mems is not supported"));
    }

    #[test]
    fn etc_files_and_spec_options_from_these() {
        let h = HostOptions {
            extra_hosts: s(&[
                "foo:192.0.2.7",
                "six:0:0::1",
                "gw:host-gateway",
                "gw2:host-gateway",
            ]),
            dns: s(&["192.0.2.1"]),
            dns_search: s(&["example.com"]),
            dns_options: s(&["ndots:2"]),
            tmpfs: [("/scratch".to_string(), "size=1m".to_string())].into(),
            cpuset_cpus: "0".into(),
            ..Default::default()
        };
        let mut asked = 0;
        let etc = h
            .etc_options(|| {
                asked += 1;
                Ok("172.18.0.1".into())
            })
            .unwrap();
        assert_eq!(asked, 1);
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            etc.extra_hosts,
            [
                pair("foo", "192.0.2.7"),
                pair("six", "::1"),
                pair("gw", "172.18.0.1"),
                pair("gw2", "172.18.0.1")
            ]
        );
        assert_eq!(etc.dns, ["192.0.2.1"]);
        assert_eq!(etc.dns_search, ["example.com"]);
        assert_eq!(etc.dns_options, ["ndots:2"]);
        assert_eq!(
            h.etc_options(|| Err(EngineError::invalid("no bridge")))
                .unwrap_err()
                .to_string(),
            "unable to derive the IP value for host-gateway: no bridge"
        );
        // Without `host-gateway`, no gateway is looked for.
        let plain = HostOptions {
            extra_hosts: s(&["foo:192.0.2.7"]),
            ..Default::default()
        };
        assert!(plain
            .etc_options(|| Err(EngineError::invalid("no bridge")))
            .is_ok());
        let mut o = runtime::spec::SpecOptions::default();
        h.apply(&mut o).unwrap();
        assert_eq!(
            o.tmpfs,
            [runtime::spec::TmpfsMount {
                destination: "/scratch".into(),
                data: "size=1m".into()
            }]
        );
        assert_eq!(o.cpuset_cpus.as_deref(), Some("0"));
        assert_eq!(o.cpuset_mems, None);
    }
}
