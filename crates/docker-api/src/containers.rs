//! moby's container shapes: `InspectResponse`, `ContainerSummary`, and the `os.FileMode` bits
//! of its path stat.

use crate::networks;
use oci_model::{Digest, ExecConfig};
use serde_json::{json, Value};

/// What the store knows about a container (it never runs: its state is always `created`).
#[derive(Debug, Clone, Copy)]
pub struct ContainerFacts<'a> {
    /// 64 hex characters.
    pub id: &'a str,
    /// Name without the leading `/`.
    pub name: &'a str,
    /// RFC 3339 creation time.
    pub created: &'a str,
    /// The image ID.
    pub image: &'a Digest,
    /// The image as the user named it at `create` (`bb:1`).
    pub image_name: &'a str,
    /// The image as `ps` shows it now: that name while it still means the image, else the ID.
    pub shown_image: &'a str,
    /// The process configuration inherited from the image.
    pub config: &'a ExecConfig,
    /// The writable layer's directory (`GraphDriver.Data.UpperDir`).
    pub upper_dir: &'a str,
    /// What runs and how it went, for a container created with a run configuration.
    pub run: Option<&'a RunFacts>,
}

/// A container's process: what runs (after `create`'s flags), its state, what was asked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFacts {
    /// Entrypoint then command, as they run.
    pub argv: Vec<String>,
    /// `created`, `running`, `paused`, `restarting`, `exited`.
    pub status: String,
    /// `ps`'s STATUS text (`Up 3 seconds`), made by the caller, who has the clock.
    pub status_text: String,
    /// Host PID while running.
    pub pid: i32,
    /// Exit code.
    pub exit_code: i32,
    /// RFC 3339, or Docker's zero time.
    pub started_at: String,
    /// RFC 3339, or Docker's zero time.
    pub finished_at: String,
    /// Ended by the OOM killer.
    pub oom_killed: bool,
    /// Why the last start failed.
    pub error: String,
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub open_stdin: bool,
    /// `--hostname`.
    pub hostname: Option<String>,
    /// `--rm`.
    pub auto_remove: bool,
    /// `bridge`, `host` or `none`.
    pub network: String,
    /// `-p` as asked.
    pub port_bindings: Vec<crate::BindingFacts>,
    /// `-P`.
    pub publish_all: bool,
    /// The bridge attachment while running on it.
    pub endpoint: Option<crate::EndpointFacts>,
    /// `--memory` (0: none).
    pub memory: i64,
    /// `--cpus` in billionths (0: none).
    pub nano_cpus: i64,
    /// `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `--read-only`.
    pub read_only: bool,
    /// `no-new-privileges`.
    pub no_new_privileges: bool,
    /// Binds and volumes.
    pub mounts: Vec<MountFacts>,
    /// `HostConfig.Binds`: the `-v` texts of binds and named volumes.
    pub binds: Vec<String>,
    /// `--init`.
    pub init: bool,
    /// `--stop-timeout`.
    pub stop_timeout: Option<i64>,
    /// `--restart`: the policy's name (empty: none) and its retry count.
    pub restart_policy: (String, i64),
    /// Restarts made by the policy since the last `start`.
    pub restart_count: u32,
    /// The health check's state, when the container has one (`State.Health`).
    pub health: Option<HealthFacts>,
    /// The other `HostConfig` options honoured.
    pub host: HostFacts,
    /// `LogPath`: the `json-file` log once written (empty: never started, or `none`).
    pub log_path: String,
}

/// The `HostConfig` options beyond the common ones, as asked at create (zero, empty and
/// `None`: Docker's defaults).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostFacts {
    /// `--cap-add`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--group-add`.
    pub group_add: Vec<String>,
    /// `--sysctl`.
    pub sysctls: Vec<(String, String)>,
    /// `--security-opt`, as given.
    pub security_opt: Vec<String>,
    /// `--ipc` (empty: `private`).
    pub ipc_mode: String,
    /// `--userns`.
    pub userns_mode: String,
    /// `--cgroupns`.
    pub cgroupns_mode: String,
    /// `--memory-swap`.
    pub memory_swap: i64,
    /// `--memory-reservation`.
    pub memory_reservation: i64,
    /// `--memory-swappiness` (`None`: the host's).
    pub memory_swappiness: Option<i64>,
    /// `--oom-kill-disable`.
    pub oom_kill_disable: bool,
    /// `--oom-score-adj`.
    pub oom_score_adj: i64,
    /// `--cpu-shares`.
    pub cpu_shares: i64,
    /// `--cpu-period`.
    pub cpu_period: i64,
    /// `--cpu-quota`.
    pub cpu_quota: i64,
    /// `--shm-size` (0: Docker's 64 MiB).
    pub shm_size: i64,
    /// `--ulimit`: name, soft, hard.
    pub ulimits: Vec<(String, i64, i64)>,
    /// `--add-host`: `name:address`.
    pub extra_hosts: Vec<String>,
    /// `--dns`.
    pub dns: Vec<String>,
    /// `--dns-search`.
    pub dns_search: Vec<String>,
    /// `--dns-option`.
    pub dns_options: Vec<String>,
    /// `--tmpfs`: path, options.
    pub tmpfs: Vec<(String, String)>,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: String,
    /// `--cpuset-mems`.
    pub cpuset_mems: String,
    /// `--log-driver` in effect (`json-file`, `none`).
    pub log_driver: String,
    /// `--log-opt`s, as given.
    pub log_opts: Vec<(String, String)>,
}

impl HostFacts {
    /// Writes these into an inspect body's `HostConfig`.
    fn fill(&self, hc: &mut Value, no_new_privileges: bool) {
        let list = |v: &[String]| {
            if v.is_empty() {
                Value::Null
            } else {
                json!(v)
            }
        };
        hc["CapAdd"] = list(&self.cap_add);
        hc["CapDrop"] = list(&self.cap_drop);
        hc["GroupAdd"] = list(&self.group_add);
        if !self.sysctls.is_empty() {
            hc["Sysctls"] = Value::Object(
                self.sysctls
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect(),
            );
        }
        let mut sec = self.security_opt.clone();
        if no_new_privileges && !sec.iter().any(|o| o.starts_with("no-new-privileges")) {
            sec.push("no-new-privileges".into());
        }
        hc["SecurityOpt"] = list(&sec);
        hc["Privileged"] = json!(false);
        hc["PidMode"] = json!("");
        hc["UTSMode"] = json!("");
        hc["IpcMode"] = json!(if self.ipc_mode.is_empty() {
            "private"
        } else {
            &self.ipc_mode
        });
        hc["UsernsMode"] = json!(self.userns_mode);
        hc["CgroupnsMode"] = json!(self.cgroupns_mode);
        hc["MemorySwap"] = json!(self.memory_swap);
        hc["MemoryReservation"] = json!(self.memory_reservation);
        hc["MemorySwappiness"] = json!(self.memory_swappiness);
        hc["OomKillDisable"] = json!(self.oom_kill_disable);
        hc["OomScoreAdj"] = json!(self.oom_score_adj);
        hc["CpuShares"] = json!(self.cpu_shares);
        hc["CpuPeriod"] = json!(self.cpu_period);
        hc["CpuQuota"] = json!(self.cpu_quota);
        hc["ShmSize"] = json!(if self.shm_size > 0 {
            self.shm_size
        } else {
            67_108_864
        });
        hc["Ulimits"] = Value::Array(
            self.ulimits
                .iter()
                .map(|(n, s, h)| json!({"Name": n, "Soft": s, "Hard": h}))
                .collect(),
        );
        hc["Devices"] = json!([]);
        // The docker CLI sends the name server lists empty, never null, and `ExtraHosts`
        // null when none is asked; `Tmpfs` is left out when empty (`omitempty`).
        hc["Dns"] = json!(self.dns);
        hc["DnsOptions"] = json!(self.dns_options);
        hc["DnsSearch"] = json!(self.dns_search);
        hc["ExtraHosts"] = list(&self.extra_hosts);
        if !self.tmpfs.is_empty() {
            hc["Tmpfs"] = Value::Object(
                self.tmpfs
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect(),
            );
        }
        hc["CpusetCpus"] = json!(self.cpuset_cpus);
        hc["CpusetMems"] = json!(self.cpuset_mems);
        let driver = if self.log_driver.is_empty() {
            "json-file"
        } else {
            &self.log_driver
        };
        hc["LogConfig"] = json!({
            "Type": driver,
            "Config": Value::Object(
                self.log_opts
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect(),
            ),
        });
    }
}

/// Whether a `name=` filter of `ps` keeps the container `name` (without its `/`): the value is
/// a regular expression (Go's, which Rust's `regex` matches in the same linear time),
/// searched in the name with and without its leading `/` (`^web$` and `^/web$` both keep
/// `web`); a value that is not a valid expression keeps nothing, as moby's filters have it.
pub fn container_name_matches(pattern: &str, name: &str) -> bool {
    let Ok(re) = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
    else {
        return false;
    };
    let name = name.trim_start_matches('/');
    re.is_match(&format!("/{name}")) || re.is_match(name)
}

/// A `publish=` or `expose=` filter of `ps`: a port or a range of ports (`80`, `8000-8080`),
/// with a protocol (`/udp`; `tcp` when none is given), as moby reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFilter {
    start: u16,
    end: u16,
    proto: String,
}

impl PortFilter {
    /// Parses the value of the filter `key` (`publish` or `expose`), with moby's texts for a
    /// value it refuses.
    pub fn parse(key: &str, value: &str) -> Result<PortFilter, String> {
        if value.contains(':') {
            return Err(format!(
                "filter for '{key}' should not contain ':': {value}"
            ));
        }
        let fail = |why: String| format!("error while looking up for {key} {value}: {why}");
        let (port, proto) = match value.split_once('/') {
            Some((port, "")) => (port, "tcp"),
            Some((port, proto)) => (port, proto.split('/').next().unwrap_or(proto)),
            None => (value, "tcp"),
        };
        let number = |s: &str| {
            s.parse::<u16>().map_err(|_| {
                let why = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                    "value out of range"
                } else {
                    "invalid syntax"
                };
                fail(format!("strconv.ParseUint: parsing {s:?}: {why}"))
            })
        };
        if port.is_empty() {
            return Err(fail("empty string specified for ports".into()));
        }
        let (start, end) = match port.split_once('-') {
            Some((a, b)) => (number(a)?, number(b.split('-').next().unwrap_or(b))?),
            None => (number(port)?, number(port)?),
        };
        if end < start {
            return Err(fail(format!("invalid range specified for port: {port}")));
        }
        Ok(PortFilter {
            start,
            end,
            proto: proto.to_string(),
        })
    }

    fn holds(&self, port: u16, proto: &str) -> bool {
        (self.start..=self.end).contains(&port) && self.proto == proto
    }
}

/// Whether `publish` and `expose` filters keep a container with `ports` (its summary's `Ports`:
/// a running container's published and exposed ports). As moby has it, either kind keeps the
/// container: one of its host ports in a `publish` filter, or one of its container ports in an
/// `expose` filter. With neither kind, every container is kept.
pub fn ports_match(
    publish: &[PortFilter],
    expose: &[PortFilter],
    ports: &[docker_format::PortEntry],
) -> bool {
    if publish.is_empty() && expose.is_empty() {
        return true;
    }
    ports.iter().any(|p| {
        p.public
            .is_some_and(|h| publish.iter().any(|f| f.holds(h, &p.proto)))
            || expose.iter().any(|f| f.holds(p.private, &p.proto))
    })
}

/// What a container's log `tag` template is given (moby's `logger.Info`), as plain facts.
#[derive(Debug, Clone, Copy)]
pub struct LogTagFacts<'a> {
    /// The full ID.
    pub id: &'a str,
    /// The name, with its `/`.
    pub name: &'a str,
    /// `sha256:…`.
    pub image_id: &'a str,
    /// The image as the container was created from it.
    pub image_name: &'a str,
    /// The container's host name.
    pub hostname: &'a str,
    /// What it runs (`Path`).
    pub entrypoint: &'a str,
    /// Its arguments (`Args`).
    pub args: &'a [String],
}

/// The fields and methods of moby's `logger.Info` a `--log-opt tag` template may use, as text:
/// `{{.Name}}`, `{{.ID}}` (12 characters), `{{.ImageName}}`, `{{.ImageID}}` (moby's: the first
/// 12 characters of `sha256:…`), `{{.DaemonName}}` (`docker`)…
pub fn log_tag_fields(f: &LogTagFacts) -> std::collections::BTreeMap<String, String> {
    let short = |s: &str| s.chars().take(12).collect::<String>();
    let command = std::iter::once(f.entrypoint.to_string())
        .chain(f.args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    [
        ("ID", short(f.id)),
        ("FullID", f.id.to_string()),
        ("Name", f.name.trim_start_matches('/').to_string()),
        ("ImageID", short(f.image_id)),
        ("ImageFullID", f.image_id.to_string()),
        ("ImageName", f.image_name.to_string()),
        ("Hostname", f.hostname.to_string()),
        ("Command", command),
        ("DaemonName", "docker".to_string()),
        ("ContainerID", f.id.to_string()),
        ("ContainerName", f.name.to_string()),
        ("ContainerImageID", f.image_id.to_string()),
        ("ContainerImageName", f.image_name.to_string()),
        ("ContainerEntrypoint", f.entrypoint.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A container's health (moby's `Health`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthFacts {
    /// `starting`, `healthy` or `unhealthy`.
    pub status: String,
    /// Failures in a row that counted.
    pub failing_streak: u32,
    /// The last results, oldest first: start, end (RFC 3339), exit code, output.
    pub log: Vec<(String, String, i32, String)>,
}

impl HealthFacts {
    fn to_json(&self) -> Value {
        json!({
            "Status": self.status,
            "FailingStreak": self.failing_streak,
            "Log": self.log.iter().map(|(start, end, code, output)| json!({
                "Start": start, "End": end, "ExitCode": code, "Output": output
            })).collect::<Vec<_>>(),
        })
    }

    /// What `ps` adds to `Up …`: `health: starting`, `healthy`, `unhealthy`.
    fn shown(&self) -> String {
        if self.status == "starting" {
            "health: starting".into()
        } else {
            self.status.clone()
        }
    }
}

/// One mount point of a container (moby's `MountPoint`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountFacts {
    /// `bind`, `volume` or `tmpfs`.
    pub kind: String,
    /// The volume's name (empty for a bind or a tmpfs).
    pub name: String,
    /// The host path.
    pub source: String,
    /// The path in the container.
    pub destination: String,
    /// The mode as given (`ro`, `z`, …).
    pub mode: String,
    /// Writable.
    pub rw: bool,
}

impl MountFacts {
    /// moby's `MountPoint` JSON (`inspect`'s and `ps`'s `Mounts`).
    pub fn to_json(&self) -> Value {
        if self.kind == "volume" {
            json!({
                "Type": "volume", "Name": self.name, "Source": self.source,
                "Destination": self.destination, "Driver": "local", "Mode": self.mode,
                "RW": self.rw, "Propagation": ""
            })
        } else if self.kind == "tmpfs" {
            json!({
                "Type": "tmpfs", "Source": "", "Destination": self.destination, "Mode": "",
                "RW": self.rw, "Propagation": ""
            })
        } else {
            json!({
                "Type": self.kind, "Source": self.source, "Destination": self.destination,
                "Mode": self.mode, "RW": self.rw, "Propagation": "rprivate"
            })
        }
    }
}

impl ContainerFacts<'_> {
    /// Entrypoint then command: what would run.
    fn exposed(&self) -> Vec<String> {
        self.config
            .exposed_ports
            .iter()
            .flat_map(|m| m.keys().cloned())
            .collect()
    }

    fn argv(&self) -> Vec<String> {
        if let Some(r) = self.run {
            return r.argv.clone();
        }
        let mut argv = self.config.entrypoint.clone().unwrap_or_default();
        argv.extend(self.config.cmd.clone().unwrap_or_default());
        argv
    }
}

impl RunFacts {
    /// Fills `status_text` as `ps` shows it at `now` (Unix seconds).
    pub fn with_status_text(mut self, now: i64) -> Self {
        let t = |s: &str| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map(|t| t.unix_timestamp())
                .unwrap_or(now)
        };
        self.status_text = docker_format::container_status(
            &self.status,
            self.exit_code,
            t(&self.started_at),
            t(&self.finished_at),
            now,
        );
        // moby's `State.String`: a running container's health after its time
        if let (Some(h), "running") = (&self.health, self.status.as_str()) {
            self.status_text = format!("{} ({})", self.status_text, h.shown());
        }
        self
    }
}

/// moby's container `InspectResponse`, with non-null `Config`, `HostConfig`, `State`: what
/// `docker container inspect` prints and `GET /containers/{id}/json` answers.
pub fn container_inspect(c: &ContainerFacts<'_>) -> Value {
    let argv = c.argv();
    let (path, args) = match argv.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec()),
        None => (String::new(), Vec::new()),
    };
    let mut config = json!({
        "Hostname": &c.id[..12.min(c.id.len())],
        "Domainname": "",
        "User": "",
        "AttachStdin": false,
        "AttachStdout": false,
        "AttachStderr": false,
        "Tty": false,
        "OpenStdin": false,
        "StdinOnce": false,
        "Env": null,
        "Cmd": null,
        "Image": c.image_name,
        "Volumes": null,
        "WorkingDir": "",
        "Entrypoint": null,
        "OnBuild": null,
        "Labels": {},
    });
    if let (Some(base), Ok(Value::Object(own))) =
        (config.as_object_mut(), serde_json::to_value(c.config))
    {
        for (k, v) in own {
            base.insert(k, v);
        }
    }
    let mut v = json!({
        "Id": c.id,
        "Created": c.created,
        "Path": path,
        "Args": args,
        "State": {
            "Status": "created", "Running": false, "Paused": false, "Restarting": false,
            "OOMKilled": false, "Dead": false, "Pid": 0, "ExitCode": 0, "Error": "",
            "StartedAt": "0001-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"
        },
        "Image": c.image.to_string(),
        "ResolvConfPath": "",
        "HostnamePath": "",
        "HostsPath": "",
        "LogPath": "",
        "Name": format!("/{}", c.name),
        "RestartCount": 0,
        "Driver": "strata",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": null,
        "HostConfig": {
            "Binds": null,
            "NetworkMode": "none",
            "PortBindings": {},
            "RestartPolicy": { "Name": "no", "MaximumRetryCount": 0 },
            "AutoRemove": false,
            "LogConfig": { "Type": "json-file", "Config": {} },
            "Privileged": false,
            "ReadonlyRootfs": false
        },
        "GraphDriver": {
            "Name": "strata",
            "Data": { "UpperDir": c.upper_dir }
        },
        "Mounts": [],
        "Config": config,
        "NetworkSettings": {
            "Bridge": "", "SandboxID": "", "SandboxKey": "", "Ports": {}, "Networks": {}
        },
    });
    if let Some(r) = c.run {
        // moby counts a restarting container as running (with no process: Pid 0)
        let running = matches!(r.status.as_str(), "running" | "paused" | "restarting");
        v["State"] = json!({
            "Status": r.status, "Running": running,
            "Paused": r.status == "paused", "Restarting": r.status == "restarting",
            "OOMKilled": r.oom_killed,
            "Dead": false, "Pid": r.pid, "ExitCode": r.exit_code, "Error": r.error,
            "StartedAt": r.started_at, "FinishedAt": r.finished_at
        });
        if let Some(h) = &r.health {
            v["State"]["Health"] = h.to_json();
        }
        let cfg = &mut v["Config"];
        cfg["Tty"] = json!(r.tty);
        cfg["OpenStdin"] = json!(r.open_stdin);
        cfg["StdinOnce"] = json!(r.open_stdin);
        cfg["AttachStdin"] = json!(r.open_stdin);
        if let Some(h) = &r.hostname {
            cfg["Hostname"] = json!(h);
        }
        v["RestartCount"] = json!(r.restart_count);
        v["LogPath"] = json!(r.log_path);
        let hc = &mut v["HostConfig"];
        hc["AutoRemove"] = json!(r.auto_remove);
        if !r.restart_policy.0.is_empty() {
            hc["RestartPolicy"] =
                json!({ "Name": r.restart_policy.0, "MaximumRetryCount": r.restart_policy.1 });
        }
        hc["NetworkMode"] = json!(r.network);
        hc["PortBindings"] = networks::port_bindings(&r.port_bindings);
        hc["PublishAllPorts"] = json!(r.publish_all);
        hc["Memory"] = json!(r.memory);
        hc["NanoCpus"] = json!(r.nano_cpus);
        hc["PidsLimit"] = json!(r.pids_limit);
        hc["ReadonlyRootfs"] = json!(r.read_only);
        r.host.fill(hc, r.no_new_privileges);
        if !r.binds.is_empty() {
            hc["Binds"] = json!(r.binds);
        }
        if r.init {
            hc["Init"] = json!(true);
        }
        v["NetworkSettings"] =
            networks::network_settings(c.id, &r.network, &c.exposed(), r.endpoint.as_ref());
        if let Some(t) = r.stop_timeout {
            v["Config"]["StopTimeout"] = json!(t);
        }
        v["Mounts"] = Value::Array(r.mounts.iter().map(MountFacts::to_json).collect());
    }
    v
}

/// moby's `ContainerSummary` (`docker ps`, `GET /containers/json`, `system df`), with
/// `SizeRw` and `SizeRootFs` when `sizes` (writable layer, and that plus the image) is given.
pub fn container_summary(c: &ContainerFacts<'_>, sizes: Option<(u64, u64)>) -> Value {
    let created =
        time::OffsetDateTime::parse(c.created, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .unwrap_or(0);
    let mut v = json!({
        "Id": c.id,
        "Names": [format!("/{}", c.name)],
        "Image": c.shown_image,
        "ImageID": c.image.to_string(),
        "Command": c.argv().join(" "),
        "Created": created,
        "Ports": [],
        "Labels": c.config.labels.clone().unwrap_or_default(),
        "State": "created",
        "Status": "Created",
        "HostConfig": { "NetworkMode": "none" },
        "NetworkSettings": { "Networks": {} },
        "Mounts": [],
    });
    if let Some(r) = c.run {
        v["State"] = json!(r.status);
        v["Status"] = json!(r.status_text);
        v["HostConfig"]["NetworkMode"] = json!(r.network);
        v["Ports"] = networks::summary_ports(&c.exposed(), r.endpoint.as_ref());
        v["NetworkSettings"]["Networks"] =
            networks::summary_networks(c.id, &r.network, r.endpoint.as_ref());
        v["Mounts"] = Value::Array(r.mounts.iter().map(MountFacts::to_json).collect());
    }
    if let Some((rw, root)) = sizes {
        v["SizeRw"] = json!(rw);
        v["SizeRootFs"] = json!(root);
    }
    v
}

/// Go's `os.FileMode` for an entry, as moby's path stat reports it: `ModeDir` 1<<31,
/// `ModeSymlink` 1<<27, `ModeDevice` 1<<26, `ModeNamedPipe` 1<<25, `ModeSetuid` 1<<23,
/// `ModeSetgid` 1<<22, `ModeCharDevice` 1<<21, `ModeSticky` 1<<20. `kind` is the entry's kind
/// name (`dir`, `symlink`, `char`, `block`, `fifo`, `file`, …), `mode` its `stat(2)` bits.
pub fn go_mode(kind: &str, mode: u32) -> u32 {
    let mut m = mode & 0o777;
    if mode & 0o4000 != 0 {
        m |= 1 << 23;
    }
    if mode & 0o2000 != 0 {
        m |= 1 << 22;
    }
    if mode & 0o1000 != 0 {
        m |= 1 << 20;
    }
    m | match kind {
        "dir" => 1 << 31,
        "symlink" => 1 << 27,
        "char" => (1 << 26) | (1 << 21),
        "block" => 1 << 26,
        "fifo" => 1 << 25,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn name_filters_are_regular_expressions_as_in_moby() {
        for (pattern, name, keeps) in [
            ("^fine$", "fine", true),
            ("^/fine$", "fine", true),
            ("fine", "fine2", true),
            ("f.ne2", "fine2", true),
            ("^fine$", "fine2", false),
            ("[", "fine", false),
            ("(a+)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", false),
        ] {
            assert_eq!(
                container_name_matches(pattern, name),
                keeps,
                "{pattern} {name}"
            );
        }
    }

    use super::*;

    #[test]
    fn go_file_modes() {
        assert_eq!(go_mode("dir", 0o755), (1 << 31) | 0o755);
        assert_eq!(go_mode("symlink", 0o777), (1 << 27) | 0o777);
        assert_eq!(go_mode("dir", 0o1777), (1 << 31) | (1 << 20) | 0o777);
        assert_eq!(go_mode("file", 0o4755), (1 << 23) | 0o755);
        assert_eq!(go_mode("char", 0o600), (1 << 26) | (1 << 21) | 0o600);
    }

    #[test]
    fn inspect_has_the_host_and_network_settings_docker_prints() {
        let image = Digest::of(b"img");
        let config = ExecConfig {
            cmd: Some(vec!["sh".into(), "-c".into(), "true".into()]),
            ..Default::default()
        };
        let c = ContainerFacts {
            run: None,
            id: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            name: "c1",
            created: "2024-01-02T03:04:05Z",
            image: &image,
            image_name: "bb:1",
            shown_image: "bb:1",
            config: &config,
            upper_dir: "/data/containers/x/upper",
        };
        let v = container_inspect(&c);
        assert_eq!(v["HostConfig"]["NetworkMode"], "none");
        assert_eq!(v["NetworkSettings"]["Networks"], json!({}));
        assert_eq!(v["Path"], "sh");
        assert_eq!(v["Args"], json!(["-c", "true"]));
        assert_eq!(v["Config"]["Hostname"], "0123456789ab");
        assert_eq!(v["Config"]["Image"], "bb:1");
        assert_eq!(v["Config"]["Cmd"], json!(["sh", "-c", "true"]));
        let s = container_summary(&c, Some((1, 2)));
        assert_eq!(s["Created"], 1704164645);
        assert_eq!(s["Command"], "sh -c true");
        assert_eq!(
            (s["SizeRw"].clone(), s["SizeRootFs"].clone()),
            (json!(1), json!(2))
        );
    }

    #[test]
    fn inspect_shows_the_log_config_and_path_as_docker_does() {
        let config = ExecConfig::default();
        let id = "0123456789ab".repeat(5) + "0123";
        let image = Digest::of(b"img");
        let mut run = RunFacts::default();
        let facts = |run: Option<&RunFacts>| {
            container_inspect(&ContainerFacts {
                id: &id,
                name: "x",
                created: "2024-01-02T03:04:05Z",
                image: &image,
                image_name: "bb",
                shown_image: "bb",
                config: &config,
                upper_dir: "/data/containers/x/upper",
                run,
            })
        };
        // Docker's default driver, no options, no log before the first start.
        let v = facts(None);
        assert_eq!(
            v["HostConfig"]["LogConfig"],
            json!({"Type": "json-file", "Config": {}})
        );
        assert_eq!(v["LogPath"], "");
        let v = facts(Some(&run));
        assert_eq!(
            v["HostConfig"]["LogConfig"],
            json!({"Type": "json-file", "Config": {}})
        );
        run.host.log_opts = vec![
            ("max-file".into(), "3".into()),
            ("max-size".into(), "1k".into()),
        ];
        run.log_path = "/data/containers/x/container-json.log".into();
        let v = facts(Some(&run));
        assert_eq!(
            v["HostConfig"]["LogConfig"],
            json!({"Type": "json-file", "Config": {"max-file": "3", "max-size": "1k"}})
        );
        assert_eq!(v["LogPath"], "/data/containers/x/container-json.log");
        run.host.log_driver = "none".into();
        run.host.log_opts.clear();
        run.log_path.clear();
        let v = facts(Some(&run));
        assert_eq!(
            v["HostConfig"]["LogConfig"],
            json!({"Type": "none", "Config": {}})
        );
        assert_eq!(v["LogPath"], "");
    }

    #[test]
    fn inspect_shows_hosts_name_servers_tmpfs_and_cpusets_as_docker_does() {
        let mut hc = json!({});
        HostFacts::default().fill(&mut hc, false);
        assert_eq!(
            (&hc["Dns"], &hc["DnsOptions"], &hc["DnsSearch"]),
            (&json!([]), &json!([]), &json!([]))
        );
        assert_eq!(hc["ExtraHosts"], Value::Null);
        assert!(hc.get("Tmpfs").is_none());
        assert_eq!(
            (&hc["CpusetCpus"], &hc["CpusetMems"]),
            (&json!(""), &json!(""))
        );
        let h = HostFacts {
            extra_hosts: vec!["foo:192.0.2.7".into()],
            dns: vec!["192.0.2.1".into()],
            dns_search: vec!["example.com".into()],
            dns_options: vec!["ndots:2".into()],
            tmpfs: vec![("/scratch".into(), "size=1m".into())],
            cpuset_cpus: "0".into(),
            cpuset_mems: "0".into(),
            ..Default::default()
        };
        h.fill(&mut hc, false);
        assert_eq!(hc["ExtraHosts"], json!(["foo:192.0.2.7"]));
        assert_eq!(hc["Dns"], json!(["192.0.2.1"]));
        assert_eq!(hc["DnsSearch"], json!(["example.com"]));
        assert_eq!(hc["DnsOptions"], json!(["ndots:2"]));
        assert_eq!(hc["Tmpfs"], json!({"/scratch": "size=1m"}));
        assert_eq!(
            (&hc["CpusetCpus"], &hc["CpusetMems"]),
            (&json!("0"), &json!("0"))
        );
        let tmpfs = MountFacts {
            kind: "tmpfs".into(),
            destination: "/x".into(),
            rw: true,
            ..Default::default()
        };
        assert_eq!(
            tmpfs.to_json(),
            json!({"Type": "tmpfs", "Source": "", "Destination": "/x", "Mode": "",
                   "RW": true, "Propagation": ""})
        );
    }

    #[test]
    fn port_filters_read_ports_ranges_and_protocols_as_moby_does() {
        let entry = |public: Option<u16>, private: u16, proto: &str| docker_format::PortEntry {
            ip: public.map(|_| "0.0.0.0".to_string()),
            public,
            private,
            proto: proto.to_string(),
        };
        let web = [entry(Some(8080), 80, "tcp"), entry(None, 443, "tcp")];
        let dns = [entry(Some(5353), 53, "udp")];
        let f = |k: &str, v: &str| PortFilter::parse(k, v).unwrap();
        // publish looks at host ports, expose at container ports
        assert!(ports_match(&[f("publish", "8080")], &[], &web));
        assert!(!ports_match(&[f("publish", "80")], &[], &web));
        assert!(ports_match(&[], &[f("expose", "443/tcp")], &web));
        assert!(ports_match(&[], &[f("expose", "80")], &web));
        // ranges, protocols, and either kind keeping the container
        assert!(ports_match(&[f("publish", "8000-8100/tcp")], &[], &web));
        assert!(!ports_match(&[f("publish", "5353")], &[], &dns));
        assert!(ports_match(&[f("publish", "5353/udp")], &[], &dns));
        assert!(ports_match(
            &[f("publish", "1")],
            &[f("expose", "53/udp")],
            &dns
        ));
        assert!(!ports_match(&[], &[f("expose", "1-79")], &web));
        // no port at all (a stopped container) keeps nothing; no filter keeps everything
        assert!(!ports_match(&[], &[f("expose", "1-65535")], &[]));
        assert!(ports_match(&[], &[], &[]));
        assert_eq!(f("expose", "80/"), f("expose", "80/tcp"));
        for (v, err) in [
            ("80:80", "filter for 'publish' should not contain ':': 80:80"),
            ("", "error while looking up for publish : empty string specified for ports"),
            ("http", "error while looking up for publish http: strconv.ParseUint: parsing \"http\": invalid syntax"),
            ("70000", "error while looking up for publish 70000: strconv.ParseUint: parsing \"70000\": value out of range"),
            ("90-80", "error while looking up for publish 90-80: invalid range specified for port: 90-80"),
            ("-5", "error while looking up for publish -5: strconv.ParseUint: parsing \"\": invalid syntax"),
        ] {
            assert_eq!(PortFilter::parse("publish", v).unwrap_err(), err, "{v}");
        }
    }
}
