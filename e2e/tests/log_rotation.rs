//! Log drivers through the real docker CLI and the strata CLI: the `json-file` log rotated by
//! `--log-opt max-size`/`max-file` as dockerd rotates it (`<log>.1` the newest rotated file,
//! at most `max-file` files), `docker logs` reading across the files oldest first and a
//! follower following the rotations, `--log-driver none` logging nothing (and `logs` refused
//! in Docker's words), `inspect`'s `LogConfig` and `LogPath`, and invalid options refused at
//! create with Docker's texts and exit code 125.

use e2e::{busybox_daemon, busybox_store, Daemon};
use serde_json::{json, Value};
use std::path::Path;

fn inspect(d: &Daemon, name: &str) -> Value {
    let v: Value = serde_json::from_str(&d.ok(&["inspect", name])).unwrap();
    v[0].clone()
}

/// The log's files in its directory, by name, with their sizes.
fn log_files(log: &Path) -> Vec<(String, u64)> {
    let name = log.file_name().unwrap().to_string_lossy().into_owned();
    let mut v: Vec<(String, u64)> = std::fs::read_dir(log.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&name))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The numbers of `line-N` lines, in order.
fn numbers(out: &str) -> Vec<u32> {
    out.lines()
        .map(|l| {
            l.strip_prefix("line-")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected line {l:?} in\n{out}"))
        })
        .collect()
}

#[test]
fn docker_rotates_the_json_file_log_and_reads_it_in_order() {
    let (_store, d) = busybox_daemon();
    let id = d
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--log-opt",
            "max-size=1k",
            "--log-opt",
            "max-file=3",
            "busybox",
            "sh",
            "-c",
            "for i in $(seq 1 400); do echo line-$i; done",
        ])
        .trim()
        .to_string();
    assert_eq!(d.ok(&["wait", &id]).trim(), "0");

    // Only the newest lines are kept: whole lines, in order, up to the last.
    let kept = numbers(&d.ok(&["logs", &id]));
    let first = kept[0];
    assert_eq!(kept, (first..=400).collect::<Vec<_>>());
    // Two full rotated files of about 1 kB (13 lines of 80 bytes each) and the live one.
    assert!((26..=40).contains(&kept.len()), "{} lines kept", kept.len());
    assert_eq!(
        numbers(&d.ok(&["logs", "--tail", "3", &id])),
        [398, 399, 400]
    );
    let since_first = d.ok(&["logs", "--since", "2000-01-01T00:00:00Z", &id]);
    assert_eq!(numbers(&since_first), kept);

    let v = inspect(&d, &id);
    assert_eq!(
        v["HostConfig"]["LogConfig"],
        json!({"Type": "json-file", "Config": {"max-file": "3", "max-size": "1k"}})
    );
    let log = v["LogPath"].as_str().unwrap().to_string();
    assert!(log.ends_with("container-json.log"), "{log}");
    let files = log_files(Path::new(&log));
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "container-json.log",
            "container-json.log.1",
            "container-json.log.2"
        ]
    );
    // A rotated file reached max-size (1000 bytes) with its last line and no more.
    for (name, size) in &files[1..] {
        assert!((1000..1100).contains(size), "{name}: {size} bytes");
    }

    // Docker's default: json-file without options; its log exists once it has run.
    let created = d.ok(&["create", "--network", "none", "busybox", "true"]);
    let v = inspect(&d, created.trim());
    assert_eq!(
        v["HostConfig"]["LogConfig"],
        json!({"Type": "json-file", "Config": {}})
    );
    assert_eq!(v["LogPath"], "");
    d.ok(&["start", "-a", created.trim()]);
    let v = inspect(&d, created.trim());
    assert!(
        v["LogPath"]
            .as_str()
            .unwrap()
            .ends_with("container-json.log"),
        "{v}"
    );
}

#[test]
fn a_follower_follows_the_log_across_rotations() {
    let (_store, d) = busybox_daemon();
    let id = d
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--log-opt",
            "max-size=1k",
            "--log-opt",
            "max-file=10",
            "busybox",
            "sh",
            "-c",
            "sleep 2; for i in $(seq 1 300); do echo line-$i; usleep 5000; done",
        ])
        .trim()
        .to_string();
    let followed = d.ok(&["logs", "-f", &id]);
    // Every line once, in order, though the log rotated about 20 times meanwhile (and only
    // the newest 10 files, about 130 lines, are kept).
    assert_eq!(numbers(&followed), (1..=300).collect::<Vec<_>>());
    let log = inspect(&d, &id)["LogPath"].as_str().unwrap().to_string();
    assert_eq!(log_files(Path::new(&log)).len(), 10);
    let kept = numbers(&d.ok(&["logs", &id]));
    assert!(kept.len() < 150 && kept.ends_with(&[300]), "{kept:?}");
}

#[test]
fn docker_log_driver_none_logs_nothing() {
    let (store, d) = busybox_daemon();
    // The attached client still gets the output: only the log is not written.
    assert_eq!(
        d.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--log-driver",
            "none",
            "busybox",
            "echo",
            "hi"
        ]),
        "hi\n"
    );
    let id = d
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--log-driver",
            "none",
            "busybox",
            "echo",
            "hi",
        ])
        .trim()
        .to_string();
    assert_eq!(d.ok(&["wait", &id]).trim(), "0");
    let out = d.docker(&["logs", &id]);
    assert_eq!(out.status, 1, "{out:?}");
    assert!(
        out.stderr.contains(
            "Error response from daemon: configured logging driver does not support reading"
        ),
        "{}",
        out.stderr
    );
    let v = inspect(&d, &id);
    assert_eq!(
        v["HostConfig"]["LogConfig"],
        json!({"Type": "none", "Config": {}})
    );
    assert_eq!(v["LogPath"], "");
    let dir = store.root().join("containers").join(&id);
    assert!(dir.is_dir(), "{}", dir.display());
    assert_eq!(log_files(&dir.join("container-json.log")), []);
}

#[test]
fn docker_refuses_invalid_log_options_at_create() {
    let (_store, d) = busybox_daemon();
    let refused = "is not supported:";
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--log-opt", "foo=bar"],
            "unknown log opt 'foo' for json-file log driver".into(),
        ),
        (
            vec!["--log-opt", "max-size=abc"],
            "failed to initialize logging driver: invalid size: 'abc'".into(),
        ),
        (
            vec!["--log-opt", "max-size=0"],
            "failed to initialize logging driver: max-size must be a positive number".into(),
        ),
        (
            vec!["--log-opt", "max-file=0"],
            "failed to initialize logging driver: max-file cannot be less than 1".into(),
        ),
        (
            vec!["--log-opt", "max-file=x"],
            "failed to initialize logging driver: strconv.Atoi: parsing \"x\": invalid syntax"
                .into(),
        ),
        (
            vec!["--log-opt", "compress=true"],
            "failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set".into(),
        ),
        (
            vec![
                "--log-opt",
                "max-size=1m",
                "--log-opt",
                "max-file=2",
                "--log-opt",
                "compress=true",
            ],
            format!("--log-opt compress=true {refused} rotated log files are kept uncompressed"),
        ),
        (
            vec!["--log-opt", "mode=bogus"],
            "logger: logging mode not supported: bogus".into(),
        ),
        (
            vec!["--log-opt", "tag={{.Nope}}"],
            "failed to initialize logging driver: template: log-tag:1:2: executing \"log-tag\" at <.Nope>: can't evaluate field Nope in type *logger.Info".into(),
        ),
        (
            vec!["--log-opt", "labels-regex=("],
            "failed to initialize logging driver: error parsing regexp: unclosed group: `(`".into(),
        ),
        (
            vec!["--log-driver", "syslog"],
            format!("--log-driver syslog {refused} a container's output is logged by json-file, or not at all (none)"),
        ),
        (
            vec!["--log-driver", "bogus"],
            "error looking up logging plugin bogus: plugin \"bogus\" not found".into(),
        ),
    ];
    for (flags, text) in cases {
        let mut args = vec!["run", "--rm", "--network", "none"];
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

/// `--log-opt tag/labels/env`: each entry of the log carries its attributes (moby's
/// `"attrs"`, between `stream` and `time`), and `logs --details` puts them before the line,
/// through the docker CLI and strata's alike; without `--details` the lines are as before.
#[test]
fn log_attributes_are_kept_with_each_entry_and_shown_by_details() {
    let (store, d) = busybox_daemon();
    let id = d
        .ok(&[
            "run",
            "-d",
            "--name",
            "lg",
            "--network",
            "none",
            "--label",
            "app=web",
            "--label",
            "other=no",
            "-e",
            "STAGE=blue green",
            "--log-opt",
            "labels=app",
            "--log-opt",
            "env=STAGE",
            "--log-opt",
            "tag={{.Name}}/{{.ID}}",
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2",
        ])
        .trim()
        .to_string();
    assert_eq!(d.ok(&["wait", "lg"]).trim(), "0");
    let details = format!("STAGE=blue+green,app=web,tag=lg%2F{}", &id[..12]);
    let out = d.docker(&["logs", "--details", "lg"]);
    assert_eq!(out.stdout, format!("{details} out\n"));
    assert_eq!(out.stderr, format!("{details} err\n"));
    let out = store.run(&["logs", "--details", "lg"]);
    assert_eq!(out.stdout, format!("{details} out\n"));
    assert_eq!(out.stderr, format!("{details} err\n"));
    assert_eq!(d.ok(&["logs", "lg"]), "out\n");
    let ts = d.ok(&["logs", "-t", "--details", "lg"]);
    let (time, rest) = ts.split_once(' ').unwrap();
    assert!(time.ends_with('Z'), "{ts}");
    assert_eq!(rest, format!("{details} out\n"));
    let log = store
        .root()
        .join("containers")
        .join(&id)
        .join("container-json.log");
    let raw = std::fs::read_to_string(log).unwrap();
    let first: Value = serde_json::from_str(raw.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["attrs"],
        json!({"STAGE": "blue green", "app": "web", "tag": format!("lg/{}", &id[..12])})
    );
    assert!(
        raw.contains(r#","stream":"stdout","attrs":{"STAGE":"#),
        "{raw}"
    );
    // without attributes, --details puts a space before each line, as Docker does
    d.ok(&[
        "run",
        "--name",
        "plain",
        "--network",
        "none",
        "busybox",
        "echo",
        "p",
    ]);
    assert_eq!(d.ok(&["logs", "--details", "plain"]), " p\n");
}

#[test]
fn strata_takes_log_driver_and_log_opt() {
    let s = busybox_store();
    let id = s
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--log-opt",
            "max-size=1k",
            "--log-opt",
            "max-file=2",
            "busybox",
            "sh",
            "-c",
            "for i in $(seq 1 100); do echo line-$i; done",
        ])
        .trim()
        .to_string();
    assert_eq!(s.ok(&["wait", &id]).trim(), "0");
    let kept = numbers(&s.ok(&["logs", &id]));
    assert_eq!(kept, (kept[0]..=100).collect::<Vec<_>>());
    assert!((13..=26).contains(&kept.len()), "{} lines kept", kept.len());
    let dir = s.root().join("containers").join(&id);
    assert_eq!(log_files(&dir.join("container-json.log")).len(), 2);
    let v: Value = serde_json::from_str(&s.ok(&["container", "inspect", &id])).unwrap();
    assert_eq!(
        v[0]["HostConfig"]["LogConfig"],
        json!({"Type": "json-file", "Config": {"max-file": "2", "max-size": "1k"}})
    );

    // The docker CLI's own check, and the engine's texts.
    let (code, err) = s.fail(&[
        "create",
        "--log-driver",
        "none",
        "--log-opt",
        "max-size=1k",
        "busybox",
    ]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains("invalid logging opts for driver none"),
        "{err}"
    );
    // A daemon error: `create` exits 1, `run` 125, as the docker CLI's do.
    let (code, err) = s.fail(&["create", "--log-opt", "max-file=0", "busybox"]);
    assert_eq!(code, 1, "{err}");
    let (code, err) = s.fail(&["run", "--log-opt", "max-file=0", "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains("failed to initialize logging driver: max-file cannot be less than 1"),
        "{err}"
    );
    let quiet = s
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--log-driver",
            "none",
            "busybox",
            "echo",
            "hi",
        ])
        .trim()
        .to_string();
    assert_eq!(s.ok(&["wait", &quiet]).trim(), "0");
    let (code, err) = s.fail(&["logs", &quiet]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "Error response from daemon: configured logging driver does not support reading"
        ),
        "{err}"
    );
}
