//! `HostConfig` options through the real docker CLI and the strata CLI: each honoured as
//! Docker honours it (capabilities, groups, sysctls, cgroup limits, `-u`'s groups) or
//! refused at create with exit code 125 and a message naming it, nothing created.

use e2e::{busybox_daemon, busybox_store, Daemon};
use serde_json::Value;

/// The line of `/proc/self/status` starting with `key`, from a container run with `flags`.
fn status_line(d: &Daemon, flags: &[&str], key: &str) -> String {
    let mut args = vec!["run", "--rm", "--network", "none"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "grep", key, "/proc/self/status"]);
    d.ok(&args).trim().to_string()
}

#[test]
fn docker_refuses_options_that_reach_the_host_or_are_not_applied() {
    let (_store, d) = busybox_daemon();
    let never = "a container's processes never reach the host";
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--privileged"],
            format!("privileged mode is not supported: {never}"),
        ),
        (
            vec!["--pid", "host"],
            format!("--pid host is not supported: {never}"),
        ),
        (
            vec!["--ipc", "host"],
            format!("--ipc host is not supported: {never}"),
        ),
        (
            vec!["--uts", "host"],
            format!("--uts host is not supported: {never}"),
        ),
        (
            vec!["--device", "/dev/sda"],
            "--device /dev/sda is not supported: a container's processes never reach the host's devices".into(),
        ),
        (
            vec!["--cap-add", "ALL"],
            format!("--cap-add ALL is not supported: {never}"),
        ),
        (
            vec!["--cap-add", "sys_admin"],
            format!("--cap-add CAP_SYS_ADMIN is not supported: {never}"),
        ),
        (
            vec!["--cap-add", "FOO"],
            "invalid CapAdd: unknown capability: \"CAP_FOO\"".into(),
        ),
        (
            vec!["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"],
            "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace".into(),
        ),
        (
            vec!["--security-opt", "systempaths=unconfined"],
            format!("--security-opt systempaths=unconfined is not supported: {never}"),
        ),
        (
            vec!["--security-opt", "apparmor=docker-default"],
            "--security-opt apparmor=docker-default is not supported".into(),
        ),
        (
            vec!["--security-opt", "foo=bar"],
            "invalid --security-opt 2: \"foo=bar\"".into(),
        ),
        (
            vec!["--blkio-weight", "100"],
            "--blkio-weight (HostConfig.BlkioWeight) is not supported by this server".into(),
        ),
        (
            vec!["--cgroup-parent", "mine"],
            "--cgroup-parent (HostConfig.CgroupParent) is not supported by this server".into(),
        ),
        (
            vec!["--domainname", "example.com"],
            "--domainname (Config.Domainname) is not supported by this server".into(),
        ),
        (
            vec!["--log-driver", "syslog"],
            "--log-driver syslog is not supported: a container's output is logged by json-file, or not at all (none)"
                .into(),
        ),
        (
            vec!["--volumes-from", "other"],
            "--volumes-from (HostConfig.VolumesFrom) is not supported by this server".into(),
        ),
        (
            vec!["--oom-score-adj", "2000"],
            "Invalid value 2000, range for oom score adj is [-1000, 1000]".into(),
        ),
    ];
    for (flags, text) in cases {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(&flags);
        args.extend_from_slice(&["busybox", "true"]);
        let out = d.docker(&args);
        assert_eq!(out.status, 125, "{flags:?}: {out:?}");
        assert!(
            out.stderr
                .contains(&format!("Error response from daemon: {text}")),
            "{flags:?}: {}",
            out.stderr
        );
        assert_eq!(d.ok(&["ps", "-a", "-q"]), "", "{flags:?}: nothing created");
    }
}

#[test]
fn docker_honours_capabilities_groups_and_sysctls() {
    let (_store, d) = busybox_daemon();
    // Docker's 14 default capabilities, then NET_ADMIN (bit 12) added, CHOWN (bit 0) dropped.
    assert_eq!(status_line(&d, &[], "CapEff"), "CapEff:\t00000000a80425fb");
    assert_eq!(
        status_line(&d, &["--cap-add", "NET_ADMIN"], "CapEff"),
        "CapEff:\t00000000a80435fb"
    );
    assert_eq!(
        status_line(&d, &["--cap-drop", "chown"], "CapBnd"),
        "CapBnd:\t00000000a80425fa"
    );
    let chown = |flags: &[&str]| {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "sh", "-c", "touch /tmp/x && chown 1 /tmp/x"]);
        d.docker(&args).status
    };
    assert_eq!(chown(&[]), 0);
    assert_ne!(chown(&["--cap-drop", "CHOWN"]), 0);
    assert_eq!(
        status_line(&d, &["--cap-drop", "ALL", "--cap-add", "kill"], "CapEff"),
        "CapEff:\t0000000000000020"
    );
    // `-u`'s primary group is a supplementary group too, as Docker sets it; `--group-add`
    // adds numbers and the image's group names.
    assert_eq!(
        status_line(&d, &["-u", "nobody"], "Groups"),
        "Groups:\t65534"
    );
    assert_eq!(
        status_line(
            &d,
            &[
                "-u",
                "nobody",
                "--group-add",
                "123",
                "--group-add",
                "daemon"
            ],
            "Groups"
        ),
        "Groups:\t1 123 65534"
    );
    let ids = d.ok(&["run", "--rm", "--group-add", "123", "busybox", "id", "-G"]);
    assert!(ids.split_whitespace().any(|g| g == "123"), "{ids}");
    let out = d.docker(&["run", "--rm", "--group-add", "nosuch", "busybox", "true"]);
    assert_ne!(out.status, 0);
    assert!(
        out.stderr
            .contains("Unable to find group nosuch: no matching entries in group file"),
        "{}",
        out.stderr
    );
    // Namespaced sysctls are set in the container's namespaces.
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "--sysctl",
            "kernel.shm_rmid_forced=1",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "busybox",
            "cat",
            "/proc/sys/kernel/shm_rmid_forced",
            "/proc/sys/net/ipv4/ip_forward",
        ]),
        "1\n1\n"
    );
    // exec gets the container's capabilities and groups; inspect shows what was asked.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "held",
        "--network",
        "none",
        "--cap-drop",
        "CHOWN",
        "--group-add",
        "123",
        "--sysctl",
        "kernel.shm_rmid_forced=1",
        "--security-opt",
        "no-new-privileges",
        "busybox",
        "sleep",
        "300",
    ]);
    let st = d.ok(&["exec", "held", "cat", "/proc/self/status"]);
    assert!(st.contains("CapBnd:\t00000000a80425fa"), "{st}");
    assert!(st.contains("Groups:\t0 123"), "{st}");
    let v: Value = serde_json::from_str(&d.ok(&["inspect", "held"])).unwrap();
    let hc = &v[0]["HostConfig"];
    assert_eq!(hc["CapDrop"], serde_json::json!(["CAP_CHOWN"]));
    assert_eq!(hc["GroupAdd"], serde_json::json!(["123"]));
    assert_eq!(
        hc["Sysctls"],
        serde_json::json!({"kernel.shm_rmid_forced": "1"})
    );
    assert_eq!(hc["SecurityOpt"], serde_json::json!(["no-new-privileges"]));
    assert_eq!(hc["Privileged"], false);
    d.ok(&["rm", "-f", "held"]);
}

#[test]
fn docker_honours_cgroup_limits() {
    let (_store, d) = busybox_daemon();
    let mut script = String::from(
        "cat /proc/self/oom_score_adj; ulimit -n; ulimit -c; grep ' /dev/shm ' /proc/mounts",
    );
    // -1 is RLIM_INFINITY, as Docker casts it
    let mut flags = vec![
        "--oom-score-adj",
        "500",
        "--ulimit",
        "nofile=512:1024",
        "--ulimit",
        "core=-1",
        "--shm-size",
        "1m",
    ];
    let mut want = vec![
        "500".to_string(),
        "512".to_string(),
        "unlimited".to_string(),
    ];
    if runtime_has("cpu", "cpu.shares") {
        flags.extend(["--cpu-shares", "512"]);
        script.push_str("; cat /sys/fs/cgroup/cpu/cpu.shares");
        want.push("512".into());
    }
    if runtime_has("memory", "memory.memsw.limit_in_bytes") {
        flags.extend(["-m", "64m", "--memory-swap", "96m", "--oom-kill-disable"]);
        script.push_str(
            "; cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes; grep oom_kill_disable /sys/fs/cgroup/memory/memory.oom_control",
        );
        want.push((96u64 << 20).to_string());
        want.push("oom_kill_disable 1".into());
    }
    let mut args = vec!["run", "--rm", "--network", "none"];
    args.extend_from_slice(&flags);
    args.extend_from_slice(&["busybox", "sh", "-c", &script]);
    let out = d.ok(&args);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..3], want[..3], "{out}");
    assert!(lines[3].contains("size=1024k"), "{out}");
    assert_eq!(
        lines[4..],
        want[3..].iter().map(String::as_str).collect::<Vec<_>>()[..],
        "{out}"
    );
}

/// Whether the host's cgroup v1 `controller` has `file`.
fn runtime_has(controller: &str, file: &str) -> bool {
    std::path::Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(file)
        .exists()
}

#[test]
fn strata_cli_takes_the_same_flags_and_checks() {
    let store = busybox_store();
    let (code, err) = store.fail(&["run", "--rm", "--privileged", "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains(
            "privileged mode is not supported: a container's processes never reach the host"
        ),
        "{err}"
    );
    let (code, err) = store.fail(&["run", "--rm", "--pid", "host", "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("--pid host is not supported"), "{err}");
    assert_eq!(store.ok(&["ps", "-a", "-q"]), "");
    let out = store.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--cap-add",
        "NET_ADMIN",
        "--group-add",
        "123",
        "--sysctl",
        "kernel.shm_rmid_forced=1",
        "busybox",
        "sh",
        "-c",
        "grep -E '^(CapEff|Groups)' /proc/self/status; cat /proc/sys/kernel/shm_rmid_forced",
    ]);
    assert_eq!(out, "Groups:\t0 123 \nCapEff:\t00000000a80435fb\n1\n");
}

/// A v1 controller's file of the container's cgroup, found through its init's
/// `/proc/<pid>/cgroup`.
fn cgroup_file(d: &Daemon, name: &str, controller: &str, file: &str) -> String {
    let pid = d.ok(&["inspect", "-f", "{{.State.Pid}}", name]);
    let cgroups = std::fs::read_to_string(format!("/proc/{}/cgroup", pid.trim())).unwrap();
    let path = cgroups
        .lines()
        .find_map(|l| {
            let (controllers, path) = l.split_once(':')?.1.split_once(':')?;
            controllers
                .split(',')
                .any(|c| c == controller)
                .then_some(path)
        })
        .unwrap_or_else(|| panic!("no {controller} cgroup in {cgroups}"));
    std::fs::read_to_string(format!("/sys/fs/cgroup/{controller}{path}/{file}"))
        .unwrap()
        .trim()
        .to_string()
}

/// `docker update` changes what it names in the running container's cgroups and for its
/// next start (cpusets, shares, memory with swap and reservation, the restart policy), and
/// refuses what it cannot apply by name and in moby's words, never answering 200 for a limit
/// it ignored.
#[test]
fn docker_update_changes_limits_and_the_restart_policy_or_refuses() {
    let (_store, d) = busybox_daemon();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "up",
        "--network",
        "none",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(
        d.ok(&[
            "update",
            "--cpuset-cpus",
            "0",
            "--cpu-shares",
            "512",
            "--memory",
            "64m",
            "--memory-swap",
            "128m",
            "--memory-reservation",
            "32m",
            "--restart",
            "on-failure:2",
            "up"
        ]),
        "up\n"
    );
    assert_eq!(cgroup_file(&d, "up", "cpuset", "cpuset.cpus"), "0");
    assert_eq!(cgroup_file(&d, "up", "cpu", "cpu.shares"), "512");
    assert_eq!(
        cgroup_file(&d, "up", "memory", "memory.limit_in_bytes"),
        "67108864"
    );
    assert_eq!(
        cgroup_file(&d, "up", "memory", "memory.memsw.limit_in_bytes"),
        "134217728"
    );
    assert_eq!(
        cgroup_file(&d, "up", "memory", "memory.soft_limit_in_bytes"),
        "33554432"
    );
    let shown = d.ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.CpusetCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}",
        "up",
    ]);
    assert_eq!(shown, "0 512 67108864 134217728 33554432 on-failure:2\n");
    // the CFS period and quota are their own fields, as moby keeps them (not --cpus)
    d.ok(&[
        "update",
        "--cpu-period",
        "200000",
        "--cpu-quota",
        "50000",
        "up",
    ]);
    let cfs = |d: &e2e::Daemon| {
        (
            cgroup_file(d, "up", "cpu", "cpu.cfs_period_us"),
            cgroup_file(d, "up", "cpu", "cpu.cfs_quota_us"),
        )
    };
    assert_eq!(cfs(&d), ("200000".to_string(), "50000".to_string()));
    let shown = d.ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}} {{.HostConfig.NanoCpus}}",
        "up",
    ]);
    assert_eq!(shown, "200000 50000 0\n");
    // kept for the next start
    d.ok(&["restart", "-t", "0", "up"]);
    assert_eq!(cgroup_file(&d, "up", "cpuset", "cpuset.cpus"), "0");
    assert_eq!(cgroup_file(&d, "up", "cpu", "cpu.shares"), "512");
    assert_eq!(cfs(&d), ("200000".to_string(), "50000".to_string()));

    let id = d.ok(&["inspect", "-f", "{{.Id}}", "up"]).trim().to_string();
    for (args, want) in [
        (
            vec!["--blkio-weight", "300"],
            "--blkio-weight (UpdateConfig.BlkioWeight) is not supported by this server".to_string(),
        ),
        (
            vec!["--cpuset-cpus", "99"],
            "Requested CPUs are not available - requested 99".to_string(),
        ),
        (
            vec!["--memory", "300m"],
            format!("Cannot update container {id}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"),
        ),
        (
            vec!["--restart", "sometimes"],
            "invalid restart policy 'sometimes'".to_string(),
        ),
        (
            vec!["--cpus", "1"],
            format!("Cannot update container {id}: Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set"),
        ),
        (
            vec!["--cpu-quota", "500"],
            "CPU cfs quota can not be less than 1ms (i.e. 1000)".to_string(),
        ),
    ] {
        let mut full = vec!["update"];
        full.extend_from_slice(&args);
        full.push("up");
        let err = d.fail(&full);
        assert!(err.contains(&want), "{args:?}: {err}");
    }
    assert_eq!(
        cgroup_file(&d, "up", "memory", "memory.limit_in_bytes"),
        "67108864"
    );
    assert_eq!(cfs(&d), ("200000".to_string(), "50000".to_string()));
    d.ok(&["rm", "-f", "up"]);
    // and the other way round: --cpus set, the quota cannot be
    d.ok(&[
        "create",
        "--name",
        "nano",
        "--cpus",
        "0.5",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    let err = d.fail(&["update", "--cpu-quota", "20000", "nano"]);
    assert!(
        err.contains(
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
        ),
        "{err}"
    );
    d.ok(&["rm", "nano"]);

    d.ok(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "gone",
        "--network",
        "none",
        "busybox",
        "sleep",
        "300",
    ]);
    let err = d.fail(&["update", "--restart", "always", "gone"]);
    assert!(
        err.contains(
            "Restart policy cannot be updated because AutoRemove is enabled for the container"
        ),
        "{err}"
    );
    d.ok(&["rm", "-f", "gone"]);
}
