//! Health checks through the real docker CLI, as dockerd 20.10 runs them: `--health-*` and an
//! image's `HEALTHCHECK` run in the container every interval, `State.Health` and `ps`'s
//! `(healthy)`, `(unhealthy)`, `(health: starting)`, a timeout's text, `--no-healthcheck`,
//! the `health_status` events, and a stopped container's health `unhealthy` with its log kept.

use e2e::{busybox_daemon, until, Daemon};
use serde_json::Value;

fn health(d: &Daemon, name: &str) -> Value {
    let v: Value = serde_json::from_str(&d.ok(&["inspect", name])).unwrap();
    v[0]["State"]["Health"].clone()
}

fn status(d: &Daemon, name: &str) -> String {
    d.ok(&[
        "ps",
        "-a",
        "--filter",
        &format!("name=^{name}$"),
        "--format",
        "{{.Status}}",
    ])
    .trim()
    .to_string()
}

#[test]
fn health_checks_run_as_docker_runs_them() {
    let (store, d) = busybox_daemon();
    let run = |name: &str, flags: &[&str], cmd: &[&str]| {
        let mut args = vec!["run", "-d", "--name", name, "--network", "none"];
        args.extend_from_slice(flags);
        args.push("busybox");
        args.extend_from_slice(cmd);
        d.ok(&args);
    };
    // created, never started: no health yet
    d.ok(&[
        "create",
        "--name",
        "made",
        "--health-cmd",
        "true",
        "busybox",
        "true",
    ]);
    assert_eq!(health(&d, "made"), Value::Null);

    run(
        "fine",
        &[
            "--health-cmd",
            "test -f /tmp/ready",
            "--health-interval",
            "200ms",
        ],
        &["sh", "-c", "touch /tmp/ready; sleep 60"],
    );
    run(
        "sick",
        &[
            "--health-cmd",
            "echo failing; exit 1",
            "--health-interval",
            "200ms",
            "--health-retries",
            "2",
        ],
        &["sleep", "60"],
    );
    run(
        "slow",
        &[
            "--health-cmd",
            "sleep 5",
            "--health-interval",
            "200ms",
            "--health-timeout",
            "300ms",
            "--health-retries",
            "1",
        ],
        &["sleep", "60"],
    );
    run(
        "later",
        &["--health-cmd", "true", "--health-interval", "1h"],
        &["sleep", "60"],
    );

    until("fine healthy", || health(&d, "fine")["Status"] == "healthy");
    let h = health(&d, "fine");
    assert_eq!(h["FailingStreak"], 0);
    assert_eq!(h["Log"][0]["ExitCode"], 0);
    assert!(
        status(&d, "fine").ends_with(" (healthy)"),
        "{}",
        status(&d, "fine")
    );

    until("sick unhealthy", || {
        health(&d, "sick")["Status"] == "unhealthy"
    });
    let h = health(&d, "sick");
    assert!(h["FailingStreak"].as_u64().unwrap() >= 2, "{h}");
    let last = &h["Log"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["ExitCode"], &last["Output"]),
        (&Value::from(1), &Value::from("failing\n"))
    );
    assert!(
        status(&d, "sick").ends_with(" (unhealthy)"),
        "{}",
        status(&d, "sick")
    );

    until("slow unhealthy", || {
        health(&d, "slow")["Status"] == "unhealthy"
    });
    let last = health(&d, "slow")["Log"][0].clone();
    assert_eq!(last["ExitCode"], -1);
    assert_eq!(last["Output"], "Health check exceeded timeout (300ms)");

    assert_eq!(health(&d, "later")["Status"], "starting");
    assert!(
        status(&d, "later").ends_with(" (health: starting)"),
        "{}",
        status(&d, "later")
    );
    let shown = d.ok(&["inspect", "-f", "{{json .Config.Healthcheck}}", "later"]);
    assert_eq!(
        shown.trim(),
        r#"{"Test":["CMD-SHELL","true"],"Interval":3600000000000}"#
    );

    // ps filters: by health (`none`: no check, or none run yet), and the filters dockerd
    // applies beside it (they were accepted and ignored)
    let names = |filter: &str| {
        let mut v: Vec<String> = d
            .ok(&["ps", "-a", "--filter", filter, "--format", "{{.Names}}"])
            .lines()
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("health=healthy"), ["fine"]);
    assert_eq!(names("health=unhealthy"), ["sick", "slow"]);
    assert_eq!(names("health=starting"), ["later"]);
    assert_eq!(names("health=none"), ["made"]);
    assert_eq!(names("since=slow"), ["later"]);
    assert_eq!(names("before=fine"), ["made"]);
    assert_eq!(names("network=none"), ["fine", "later", "sick", "slow"]);
    assert_eq!(names("network=bridge"), ["made"]);
    assert!(names("is-task=true").is_empty());
    let err = d.fail(&["ps", "--filter", "health=bogus"]);
    assert!(
        err.contains("Unrecognised filter value for health: bogus"),
        "{err}"
    );
    // none of them publishes or exposes a port while it runs on the bridge
    assert!(names("publish=1-65535").is_empty());
    assert!(names("expose=1-65535/udp").is_empty());

    // a stopped container's health: unhealthy, its log kept (dockerd 20.10)
    d.ok(&["stop", "-t", "0", "fine"]);
    let h = health(&d, "fine");
    assert_eq!(h["Status"], "unhealthy");
    assert!(!h["Log"].as_array().unwrap().is_empty());

    // the image's HEALTHCHECK runs; --no-healthcheck turns it off
    let ctx = store.scratch().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nHEALTHCHECK --interval=200ms CMD [\"true\"]\n",
    )
    .unwrap();
    d.ok(&["build", "-q", "-t", "checked", ctx.to_str().unwrap()]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        "imaged",
        "--network",
        "none",
        "checked",
        "sleep",
        "60",
    ]);
    until("imaged healthy", || {
        health(&d, "imaged")["Status"] == "healthy"
    });
    d.ok(&[
        "run",
        "-d",
        "--name",
        "unchecked",
        "--network",
        "none",
        "--no-healthcheck",
        "checked",
        "sleep",
        "60",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(health(&d, "unchecked"), Value::Null);
    assert!(status(&d, "unchecked").starts_with("Up ") && !status(&d, "unchecked").contains('('));

    // each change of health is an event
    let events = d.ok(&[
        "events",
        "--since",
        "0",
        "--until",
        &format!(
            "{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                + 1
        ),
        "--filter",
        "container=sick",
        "--format",
        "{{.Action}}",
    ]);
    assert!(
        events.lines().any(|l| l == "health_status: unhealthy"),
        "{events}"
    );

    // bad options: the docker CLI's and moby's texts
    let err = d.fail(&[
        "run",
        "--health-interval",
        "500us",
        "--health-cmd",
        "true",
        "busybox",
        "true",
    ]);
    assert!(
        err.contains("Interval in Healthcheck cannot be less than 1ms"),
        "{err}"
    );
    let (code, err) = store.fail(&[
        "run",
        "--no-healthcheck",
        "--health-cmd",
        "true",
        "busybox",
        "true",
    ]);
    assert_eq!(code, 125);
    assert!(
        err.contains("--no-healthcheck conflicts with --health-* options"),
        "{err}"
    );
    d.ok(&[
        "rm",
        "-f",
        "fine",
        "sick",
        "slow",
        "later",
        "imaged",
        "unchecked",
        "made",
    ]);
}
