//! The server under concurrent clients, and its live event stream, against a real registry.

use e2e::registry::Registry;
use e2e::{busybox_rootfs, require, tar_of, Daemon, Store, DOCKER};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One HTTP exchange with a JSON (or empty) body; status and body.
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    e2e::http_text(port, method, path, "", body.as_bytes())
}

/// Builds a small image in its own store and pushes it to the registry as `name`.
fn push_image(name: &str, marker: &str) {
    let s = Store::new();
    let rootfs = s.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    std::fs::write(rootfs.join("etc/marker"), marker).unwrap();
    s.ok(&["import", tar_of(&rootfs).to_str().unwrap(), name]);
    s.ok(&["push", name]);
}

/// The dashboard's SSE stream on `port`: each event's JSON, as it arrives.
fn sse_events(port: u16) -> mpsc::Receiver<serde_json::Value> {
    let mut sse = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        sse,
        "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let (tx, rx) = mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(sse).lines() {
            let Ok(line) = line else { return };
            if let Some(data) = line
                .strip_prefix("data: ")
                .or_else(|| line.strip_prefix("data:"))
            {
                if let Ok(v) = serde_json::from_str(data.trim()) {
                    if tx.send(v).is_err() {
                        return;
                    }
                }
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    rx
}

/// A store holding busybox as `bb:1`.
fn store_with_busybox() -> Store {
    let s = Store::new();
    let rootfs = s.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    s.ok(&["import", tar_of(&rootfs).to_str().unwrap(), "bb:1"]);
    s
}

/// What another process (the CLI) does to the store shows in a running server's event
/// streams too, once and in its order; the server's own events are not doubled, and what
/// happened before the server started is not replayed.
#[test]
fn cli_changes_show_in_the_server_event_stream() {
    // imported before the server starts: not replayed
    let s = store_with_busybox();
    let srv = Daemon::start(&s);
    let port = srv.port;
    let rx = sse_events(port);

    s.ok(&["tag", "bb:1", "bb:cli"]);
    let (status, _) = http(port, "POST", "/images/bb:1/tag?repo=bb&tag=srv", "");
    assert_eq!(status, 201);
    s.ok(&["rmi", "bb:cli"]);

    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && seen.len() < 3 {
        if let Ok(v) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(format!(
                "{} {} {}",
                v["Type"].as_str().unwrap_or(""),
                v["Action"].as_str().unwrap_or(""),
                v["Attributes"]["name"].as_str().unwrap_or("")
            ));
        }
    }
    // a moment more: nothing doubled arrives
    while let Ok(v) = rx.recv_timeout(Duration::from_millis(1000)) {
        seen.push(v.to_string());
    }
    // the relay passes the CLI's events on within a poll, in their order; the server's own
    // event may come between or before them
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["image tag bb:cli", "image tag bb:srv", "image untag bb:cli"],
        "{seen:?}"
    );
    let at = |x: &str| seen.iter().position(|e| e == x).unwrap();
    assert!(
        at("image tag bb:cli") < at("image untag bb:cli"),
        "{seen:?}"
    );
}

#[test]
fn event_stream_shows_tag_rmi_and_pull_with_layer_progress() {
    require(DOCKER);
    let reg = Registry::start();
    let rport = reg.port();
    let remote = format!("127.0.0.1:{rport}/ev:1");
    push_image(&remote, "events");
    let s = store_with_busybox();
    let srv = Daemon::start(&s);
    let port = srv.port;

    // subscribe to the dashboard's SSE stream
    let rx = sse_events(port);

    let docker = |args: &[&str]| srv.ok(args);
    docker(&["tag", "bb:1", "bb:ev"]);
    docker(&["rmi", "bb:ev"]);
    let pulled = docker(&["pull", &remote]);
    assert!(pulled.contains("Pull complete"), "{pulled}");

    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(v) => {
                let done = v["Type"] == "image" && v["Action"] == "pull";
                events.push(v);
                if done {
                    break;
                }
            }
            Err(_) => continue,
        }
    }
    let summary: Vec<String> = events
        .iter()
        .filter(|e| e["Type"] != "pull")
        .map(|e| {
            format!(
                "{} {} {}",
                e["Type"].as_str().unwrap(),
                e["Action"].as_str().unwrap(),
                e["Attributes"]["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "image tag bb:ev",
            "image untag bb:ev",
            &format!("image pull {remote}")
        ],
        "{events:#?}"
    );
    // per-layer progress came before the pull event, in order for each layer
    let progress: Vec<(String, String)> = events
        .iter()
        .filter(|e| {
            e["Type"] == "pull"
                && e["Attributes"]["layer"]
                    .as_str()
                    .is_some_and(|l| l.len() == 12)
        })
        .map(|e| {
            (
                e["Attributes"]["layer"].as_str().unwrap().to_string(),
                e["Attributes"]["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let layers: std::collections::BTreeSet<&String> = progress.iter().map(|(l, _)| l).collect();
    assert!(!layers.is_empty(), "{events:#?}");
    for l in layers {
        let steps: Vec<&str> = progress
            .iter()
            .filter(|(x, _)| x == l)
            .map(|(_, s)| s.as_str())
            .collect();
        let pos = |s: &str| {
            steps
                .iter()
                .position(|x| *x == s)
                .unwrap_or_else(|| panic!("{l}: no {s} in {steps:?}"))
        };
        assert!(
            pos("Pulling fs layer") < pos("Download complete")
                && pos("Download complete") < pos("Pull complete"),
            "{steps:?}"
        );
    }
}

/// Runs `n` clients at once, each doing pull, tag, create+commit and rmi on overlapping names.
fn round(round: usize, rport: u16) {
    let s = Store::new();
    let srv = Daemon::start(&s);
    let port = srv.port;
    let base = format!("127.0.0.1:{rport}/base");
    let n = 50;
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let base = base.clone();
            std::thread::spawn(move || {
                let enc = |s: &str| s.replace('/', "%2F").replace(':', "%3A");
                // everyone pulls one of two shared images
                let tag = if i % 2 == 0 { "1" } else { "2" };
                let (st, body) = http(port, "POST", &format!("/v1.50/images/create?fromImage={}&tag={tag}", enc(&base)), "");
                assert_eq!(st, 200, "pull: {body}");
                assert!(!body.contains("errorDetail"), "pull {i}: {body}");
                let src = format!("{base}:{tag}");
                // a private tag, and a shared one everybody moves
                let (st, body) = http(port, "POST", &format!("/v1.50/images/{src}/tag?repo=docker.io%2Flibrary%2Fmine{i}&tag=1"), "");
                assert_eq!(st, 201, "tag: {body}");
                let (st, body) = http(port, "POST", &format!("/v1.50/images/{src}/tag?repo=docker.io%2Flibrary%2Fshared&tag=x"), "");
                assert_eq!(st, 201, "shared tag: {body}");
                // a container and a commit on top of the private tag
                let (st, body) = http(port, "POST", &format!("/v1.50/containers/create?name=c{i}"), &format!(r#"{{"Image":"mine{i}:1","Cmd":["true"]}}"#));
                assert_eq!(st, 201, "create: {body}");
                let (st, body) = http(port, "POST", &format!("/v1.50/commit?container=c{i}&repo=docker.io%2Flibrary%2Fcommitted{i}&tag=1&comment=r{round}"), "");
                assert_eq!(st, 201, "commit: {body}");
                let (st, body) = http(port, "DELETE", &format!("/v1.50/containers/c{i}"), "");
                assert_eq!(st, 204, "rm: {body}");
                // a throwaway tag that is removed again
                let (st, body) = http(port, "POST", &format!("/v1.50/images/mine{i}:1/tag?repo=docker.io%2Flibrary%2Ftmp{i}&tag=1"), "");
                assert_eq!(st, 201, "tmp tag: {body}");
                let (st, body) = http(port, "DELETE", &format!("/v1.50/images/tmp{i}:1"), "");
                assert_eq!(st, 200, "rmi: {body}");
                assert!(body.contains(&format!("\"Untagged\":\"tmp{i}:1\"")), "{body}");
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client thread");
    }
    // no tag lost: every private tag and commit exists, the shared tag points at one of the bases
    let tags = s.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    for i in 0..n {
        assert!(
            tags.lines().any(|l| l == format!("mine{i}:1")),
            "round {round}: mine{i}:1 lost\n{tags}"
        );
        assert!(
            tags.lines().any(|l| l == format!("committed{i}:1")),
            "round {round}: committed{i}:1 lost\n{tags}"
        );
        assert!(
            !tags.lines().any(|l| l == format!("tmp{i}:1")),
            "round {round}: tmp{i}:1 survived"
        );
    }
    assert_eq!(tags.lines().filter(|l| *l == "shared:x").count(), 1);
    // refcounts exact: every blob hashes to its name, every reference resolves, and after
    // removing everything nothing is left behind
    s.ok(&["fsck"]);
    s.assert_blobs_hash_to_names();
    let ps = s.ok(&["ps", "-a", "-q"]);
    assert_eq!(ps, "", "round {round}");
    s.ok(&["image", "prune", "-a", "-f"]);
    assert_eq!(s.ok(&["images", "-a", "-q"]), "");
    assert_eq!(
        s.blobs().len(),
        0,
        "round {round}: blobs left after removing every image: {:?}",
        s.blobs()
    );
    let layers_dir: PathBuf = s.root().join("layers");
    let left: Vec<_> = std::fs::read_dir(&layers_dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "round {round}: unpacked layers left: {left:?}"
    );
}

#[test]
fn fifty_concurrent_clients_lose_no_tag_and_keep_refcounts_exact_ten_rounds() {
    let reg = Registry::start();
    let rport = reg.port();
    push_image(&format!("127.0.0.1:{rport}/base:1"), "one");
    push_image(&format!("127.0.0.1:{rport}/base:2"), "two");
    for r in 0..10 {
        round(r, rport);
    }
}

#[test]
fn docker_cli_pull_push_search_and_login_through_the_server() {
    require(DOCKER);
    // a registry with htpasswd Basic auth for u:p
    let reg = Registry::start_with_auth("u", "p");
    let port_r = reg.port();
    let s = Store::new();
    let rootfs = s.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    s.ok(&["import", tar_of(&rootfs).to_str().unwrap(), "bb:1"]);
    // the server's own config lists the registry for search
    let strata_cfg = s.scratch().join("strata-config");
    std::fs::create_dir_all(&strata_cfg).unwrap();
    std::fs::write(
        strata_cfg.join("strata.toml"),
        format!("[registry]\nsearch = [\"127.0.0.1:{port_r}\"]\n"),
    )
    .unwrap();
    let srv = Daemon::start_with_env(&s, &[("STRATA_CONFIG", strata_cfg.as_os_str())]);
    let docker = |args: &[&str], stdin: Option<&str>| {
        let o = e2e::run_with_stdin(srv.docker_cmd(args), stdin.unwrap_or("").as_bytes());
        (o.status, o.stdout, o.stderr)
    };
    let remote = format!("127.0.0.1:{port_r}/bb:1");
    assert_eq!(docker(&["tag", "bb:1", &remote], None).0, 0);
    // push without credentials fails with the registry's authentication message
    let (code, _, err) = docker(&["push", &remote], None);
    assert_ne!(code, 0);
    assert!(
        err.contains("unauthorized")
            || err.contains("authentication required")
            || err.contains("no basic auth"),
        "{err}"
    );
    // login through the daemon (POST /auth), a wrong password first
    let (code, _, err) = docker(
        &[
            "login",
            "-u",
            "u",
            "--password-stdin",
            &format!("127.0.0.1:{port_r}"),
        ],
        Some("wrong\n"),
    );
    assert_ne!(code, 0, "{err}");
    let (code, out, err) = docker(
        &[
            "login",
            "-u",
            "u",
            "--password-stdin",
            &format!("127.0.0.1:{port_r}"),
        ],
        Some("p\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Login Succeeded"), "{out}");
    // push with the stored credentials (sent as X-Registry-Auth)
    let (code, out, err) = docker(&["push", &remote], None);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("The push refers to repository [127.0.0.1:{port_r}/bb]"),
        "{out}"
    );
    assert!(lines.iter().any(|l| l.ends_with(": Pushed")), "{out}");
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("1: digest: sha256:") && last.contains(" size: "),
        "{out}"
    );
    // pull into the server after removing the local tag: the image is still here (as bb:1),
    // so, as Docker, nothing is fetched and no layer line printed; the tag comes back
    assert_eq!(docker(&["rmi", &remote], None).0, 0);
    let (code, out, err) = docker(&["pull", &remote], None);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1: Pulling from bb", "{out}");
    assert!(lines[1].starts_with("Digest: sha256:"), "{out}");
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(
        lines[lines.len() - 2],
        format!("Status: Downloaded newer image for {remote}"),
        "{out}"
    );
    assert_eq!(*lines.last().unwrap(), remote);
    assert_eq!(
        s.ok(&[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            &format!("127.0.0.1:{port_r}/bb")
        ]),
        format!("{remote}\n")
    );
    // the server's own credentials (search runs with them; the docker CLI sends none for it)
    let mut login = s
        .command(&[
            "login",
            "-u",
            "u",
            "--password-stdin",
            &format!("127.0.0.1:{port_r}"),
        ])
        .env("STRATA_CONFIG", &strata_cfg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    login.stdin.take().unwrap().write_all(b"p\n").unwrap();
    let out = login.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Login Succeeded\n");
    // search goes through the server's configured registries
    let (code, out, err) = docker(&["search", "bb"], None);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert!(
        rows[0].starts_with("NAME")
            && rows[0].contains("DESCRIPTION")
            && rows[0].contains("STARS")
            && rows[0].contains("OFFICIAL"),
        "{out}"
    );
    assert!(
        rows[1].starts_with(&format!("127.0.0.1:{port_r}/bb ")),
        "{out}"
    );
}
