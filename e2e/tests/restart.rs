//! Restart policies through the real docker CLI and the strata CLI, as dockerd 20.10 applies
//! them: `on-failure[:N]` restarts after a failure up to N times, `always` after any end,
//! `unless-stopped` unless a `kill`/`stop` was asked; a `stop`, an `rm -f`, or a `kill` (any
//! signal, or with a `--stop-signal` only that one or SIGKILL) ends the restarts; while a
//! restart waits the container is `restarting`, which `exec`, `rm`, `top` and `pause` refuse
//! in Docker's words.

use e2e::{busybox_daemon, http_text, until, Daemon};
use serde_json::Value;
use std::time::Duration;

fn inspect(d: &Daemon, name: &str) -> Value {
    let v: Value = serde_json::from_str(&d.ok(&["inspect", name])).unwrap();
    v[0].clone()
}

fn count_and_status(d: &Daemon, name: &str) -> (u64, String) {
    let v = inspect(d, name);
    (
        v["RestartCount"].as_u64().unwrap(),
        v["State"]["Status"].as_str().unwrap().to_string(),
    )
}

/// A shell that exits 5 on SIGUSR1.
const TRAPS_USR1: &str = "trap 'exit 5' USR1; while :; do sleep 0.1; done";

#[test]
fn on_failure_restarts_a_failure_up_to_its_count() {
    let (_store, d) = busybox_daemon();
    // attached: the CLI has the first end's code at once, the restarts go on without it
    let out = d.docker(&[
        "run",
        "--name",
        "fails",
        "--network",
        "none",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 3",
    ]);
    assert_eq!(out.status, 3, "{out:?}");
    until("two restarts, then exited", || {
        count_and_status(&d, "fails") == (2, "exited".into())
    });
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        count_and_status(&d, "fails"),
        (2, "exited".into()),
        "no third"
    );
    assert_eq!(d.ok(&["logs", "fails"]), "run\nrun\nrun\n");
    let v = inspect(&d, "fails");
    assert_eq!(v["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(v["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 2);
    assert_eq!(v["State"]["ExitCode"], 3);

    // a success is not restarted
    d.ok(&[
        "run",
        "-d",
        "--name",
        "good",
        "--network",
        "none",
        "--restart",
        "on-failure",
        "busybox",
        "true",
    ]);
    until("good exited", || count_and_status(&d, "good").1 == "exited");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count_and_status(&d, "good"), (0, "exited".into()));

    // the user's start counts afresh
    d.ok(&["start", "fails"]);
    until("two more restarts", || {
        count_and_status(&d, "fails") == (2, "exited".into())
            && d.ok(&["logs", "fails"]).lines().count() == 6
    });
}

#[test]
fn always_restarts_until_stopped_and_a_restarting_container_is_docker_s() {
    let (_store, d) = busybox_daemon();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "al",
        "--network",
        "none",
        "--restart",
        "always",
        "busybox",
        "true",
    ]);
    // the fifth restart waits 1.6 s: long enough to see
    until("al restarting after four restarts", || {
        let v = inspect(&d, "al");
        v["RestartCount"].as_u64().unwrap() >= 4 && v["State"]["Restarting"] == true
    });
    let v = inspect(&d, "al");
    assert_eq!(v["State"]["Status"], "restarting");
    assert_eq!(v["State"]["Running"], true, "moby counts it as running");
    assert_eq!(v["State"]["Pid"], 0);
    assert_eq!(v["HostConfig"]["RestartPolicy"]["Name"], "always");
    let id = v["Id"].as_str().unwrap().to_string();
    let ps = d.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("al Restarting (0) "), "{ps}");
    let restarting = format!("Container {id} is restarting, wait until the container is running");
    assert!(d.fail(&["exec", "al", "true"]).contains(&restarting));
    assert!(d.fail(&["top", "al"]).contains(&restarting));
    assert!(d.fail(&["pause", "al"]).contains(&restarting));
    let err = d.fail(&["rm", "al"]);
    assert!(err.contains("container is restarting"), "{err}");
    // `wait` answers at its next end
    assert_eq!(d.ok(&["wait", "al"]).trim(), "0");

    d.ok(&["stop", "al"]);
    let (n, status) = count_and_status(&d, "al");
    assert_eq!(status, "exited");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        count_and_status(&d, "al"),
        (n, "exited".into()),
        "stopped for good"
    );
    d.ok(&["rm", "al"]);

    // `docker wait` (condition not-running) on a container its policy restarts answers at
    // its first end, as moby's does, not once a stop happens to be seen between restarts
    d.ok(&[
        "run",
        "-d",
        "--name",
        "waited",
        "--network",
        "none",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "sleep 2; exit 3",
    ]);
    assert_eq!(d.ok(&["wait", "waited"]).trim(), "3");
    let (n, _) = count_and_status(&d, "waited");
    assert!(
        n <= 1,
        "wait answered after {n} restarts, not at the first end"
    );
    d.ok(&["rm", "-f", "waited"]);

    // a quick end: the attached CLI still gets its code, and `rm -f` ends the restarts
    let out = d.docker(&[
        "run",
        "--name",
        "quick",
        "--network",
        "none",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(out.status, 7, "{out:?}");
    until("quick restarted", || count_and_status(&d, "quick").0 >= 1);
    d.ok(&["rm", "-f", "quick"]);
    assert!(d
        .fail(&["inspect", "quick"])
        .contains("No such object: quick"));
}

#[test]
fn a_kill_ends_the_restarts_as_dockerd_decides() {
    let (_store, d) = busybox_daemon();
    let run = |name: &str, policy: &str, extra: &[&str]| {
        let mut args = vec![
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            "--restart",
            policy,
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["busybox", "sh", "-c", TRAPS_USR1]);
        d.ok(&args);
    };
    // no stop signal of its own: any signal ends the policy
    run("k1", "always", &[]);
    // with one: only that signal or SIGKILL does; `unless-stopped` stays down after any kill
    run("k2", "always", &["--stop-signal", "USR2"]);
    run("k3", "unless-stopped", &["--stop-signal", "USR2"]);
    for n in ["k1", "k2", "k3"] {
        until("running", || count_and_status(&d, n).1 == "running");
    }
    std::thread::sleep(Duration::from_millis(300));
    d.ok(&["kill", "-s", "USR1", "k1", "k2", "k3"]);
    until("k2 restarted", || {
        count_and_status(&d, "k2") == (1, "running".into())
    });
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(count_and_status(&d, "k1"), (0, "exited".into()));
    assert_eq!(count_and_status(&d, "k3"), (0, "exited".into()));
    assert_eq!(inspect(&d, "k1")["State"]["ExitCode"], 5);
    d.ok(&["kill", "k2"]);
    until("k2 killed", || count_and_status(&d, "k2").1 == "exited");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(count_and_status(&d, "k2"), (1, "exited".into()));
}

#[test]
fn rm_and_a_restart_policy_conflict() {
    let (store, d) = busybox_daemon();
    let err = d.fail(&["run", "--rm", "--restart", "always", "busybox", "true"]);
    assert!(err.contains("conflicting options"), "{err}");
    let (status, body) = http_text(
        d.port,
        "POST",
        "/containers/create",
        "",
        br#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("can't create 'AutoRemove' container with restart policy"),
        "{body}"
    );
    // `no` is no policy
    let (status, body) = http_text(
        d.port,
        "POST",
        "/containers/create",
        "",
        br#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"no"}}}"#,
    );
    assert_eq!(status, 201, "{body}");
    drop(d);

    let (code, err) = store.fail(&["run", "--rm", "--restart", "always", "busybox", "true"]);
    assert_eq!(code, 125);
    assert!(
        err.contains("Conflicting options: --restart and --rm"),
        "{err}"
    );
    let (code, err) = store.fail(&["run", "--restart", "on-failure:x", "busybox", "true"]);
    assert_eq!(code, 125);
    assert!(
        err.contains("maximum retry count must be an integer"),
        "{err}"
    );
    store.ok(&[
        "run",
        "-d",
        "--name",
        "cli1",
        "--restart",
        "on-failure:1",
        "--network",
        "none",
        "busybox",
        "false",
    ]);
    until("one restart by the strata CLI's own monitor", || {
        let v: Value = serde_json::from_str(&store.ok(&["inspect", "cli1"])).unwrap();
        v[0]["RestartCount"] == 1 && v[0]["State"]["Status"] == "exited"
    });
}

/// The host goes down with containers running (simulated: every process of theirs and their
/// monitors killed at once, so no clean-up runs). When `strata serve` starts, as a daemon's
/// start in moby, the lost containers are given to their policies: `always`, `unless-stopped`
/// and `on-failure` (a lost run is a failure) run again; one without a policy, and one stopped
/// by hand before, stay exited.
#[test]
fn serve_restarts_containers_lost_while_running_by_their_policy() {
    let s = e2e::busybox_store();
    for (name, policy) in [
        ("keep", "always"),
        ("plain", "no"),
        ("held", "unless-stopped"),
        ("retry", "on-failure:1"),
        ("solo", "unless-stopped"),
    ] {
        s.ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            "--restart",
            policy,
            "busybox",
            "sleep",
            "300",
        ]);
    }
    s.ok(&["stop", "-t", "0", "held"]);
    let status = |name: &str| {
        s.ok(&[
            "container",
            "inspect",
            "-f",
            "{{.State.Status}} {{.RestartCount}}",
            name,
        ])
        .trim()
        .to_string()
    };
    for name in ["keep", "plain", "retry", "solo"] {
        let id = s.ok(&["container", "inspect", "-f", "{{.Id}}", name]);
        let state: Value = serde_json::from_slice(
            &std::fs::read(
                s.root()
                    .join("containers")
                    .join(id.trim())
                    .join("state.json"),
            )
            .unwrap(),
        )
        .unwrap();
        for pid in [&state["monitor_pid"], &state["pid"]] {
            let pid = pid.as_i64().unwrap() as i32;
            assert!(pid > 0, "{state}");
            // SAFETY: a signal to a process of this test's container.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    // Before any start: lost, and nothing restarted them.
    std::thread::sleep(Duration::from_millis(500));
    assert!(status("keep").starts_with("exited 0"), "{}", status("keep"));
    let d = Daemon::start(&s);
    until("the lost containers with a policy run again", || {
        ["keep", "retry", "solo"]
            .iter()
            .all(|n| status(n) == "running 1")
    });
    assert_eq!(status("plain"), "exited 0");
    assert!(status("held").starts_with("exited"), "{}", status("held"));
    let v: Value = serde_json::from_str(&s.ok(&["container", "inspect", "plain"])).unwrap();
    assert_eq!(v[0]["State"]["ExitCode"], 255);
    drop(d);
    s.ok(&["rm", "-f", "keep", "plain", "held", "retry", "solo"]);
}

/// A removal racing the policy's restart of a run that just ended: the restart, deciding while
/// the container looked exited (its marker not made yet), never starts it once the removal
/// has begun, so nothing is left running or mounted. The two processes' steps are ordered by
/// pauses: the restart decides, then waits 400 ms; the removal, begun meanwhile, waits
/// 1.5 s after its first step, while the restart would start the container again.
#[test]
fn a_removal_racing_a_restart_leaves_nothing_running_or_mounted() {
    let s = e2e::busybox_store();
    let mut run = s.command(&[
        "run",
        "-d",
        "--name",
        "racy",
        "--network",
        "none",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        // ends at once the first time; a run after it stays
        "test -e /racy-ran && exec sleep 301; touch /racy-ran; exit 3",
    ]);
    run.env("STRATA_FAILPOINT", "pause:restart:decided:400");
    let out = e2e::Output::from(run.output().unwrap());
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(s.ok(&["wait", "racy"]).trim(), "3");
    let mut rm = s.command(&["rm", "-f", "racy"]);
    rm.env("STRATA_FAILPOINT", "pause:rm:prepared:1500");
    let out = e2e::Output::from(rm.output().unwrap());
    assert_eq!(out.status, 0, "{}", out.stderr);
    std::thread::sleep(Duration::from_millis(1500));
    let left = sleepers("sleep 301");
    for pid in &left {
        // SAFETY: kill of a pid just read; at worst it has gone.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    assert!(
        left.is_empty(),
        "a restarted run was left running: {left:?}"
    );
    assert!(
        e2e::mounts_under(s.root()).is_empty(),
        "{:?}",
        e2e::mounts_under(s.root())
    );
    assert_eq!(s.ok(&["ps", "-aq"]), "");
    assert!(!s
        .root()
        .join("containers")
        .read_dir()
        .unwrap()
        .any(|_| true));
}

/// The host's processes whose command line is `cmd`.
fn sleepers(cmd: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let line = std::fs::read(e.path().join("cmdline")).ok()?;
            let line = String::from_utf8_lossy(&line).replace('\0', " ");
            (line.trim() == cmd).then_some(pid)
        })
        .collect()
}
