//! Team mode (`strata serve --auth`): tokens, roles and the audit log, through raw HTTP and the
//! real docker CLI (which sends the token from its config's `HttpHeaders`).

use e2e::{busybox_rootfs, require, strata_bin, tar_of, Store};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DOCKER: &str = "/usr/local/bin/docker";

struct Daemon {
    child: Child,
    port: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange; returns the status and the body.
fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn start(store: &Store) -> Daemon {
    let _ = strata_bin();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = store
        .command(&[
            "serve",
            "--auth",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--web-dir",
            "/nonexistent",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let d = Daemon { child, port };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err()
        || http(port, "GET", "/_ping", None, b"").0 != 200
    {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    d
}

/// The docker CLI with a client config that sends `token`.
fn docker(d: &Daemon, config: &Path, token: &str, args: &[&str]) -> (i32, String, String) {
    std::fs::create_dir_all(config).unwrap();
    std::fs::write(
        config.join("config.json"),
        format!(r#"{{"HttpHeaders":{{"Authorization":"Bearer {token}"}}}}"#),
    )
    .unwrap();
    let o = Command::new(DOCKER)
        .args(args)
        .env("DOCKER_HOST", format!("tcp://127.0.0.1:{}", d.port))
        .env("DOCKER_CONFIG", config)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn tokens_roles_and_audit() {
    require(DOCKER);
    let s = Store::new();
    let rootfs = s.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    s.ok(&["import", tar_of(&rootfs).to_str().unwrap(), "bb:1"]);
    let viewer = s
        .ok(&["token", "create", "--role", "viewer", "ann"])
        .trim()
        .to_string();
    let operator = s
        .ok(&["token", "create", "--role", "operator", "bob"])
        .trim()
        .to_string();
    let admin = s
        .ok(&["token", "create", "--role", "admin", "cat"])
        .trim()
        .to_string();
    assert!(
        s.ok(&["token", "ls"]).contains("bob       operator"),
        "{}",
        s.ok(&["token", "ls"])
    );
    let d = start(&s);

    // no token: 401 on every mutating endpoint (and on reads), the ping stays open
    let mutating = [
        (
            "POST",
            "/v1.50/images/bb:1/tag?repo=docker.io/library/x&tag=1",
        ),
        ("DELETE", "/v1.50/images/bb:1"),
        ("POST", "/v1.50/images/prune"),
        ("POST", "/v1.50/images/create?fromSrc=-&repo=y"),
        ("POST", "/v1.50/images/load"),
        ("POST", "/v1.50/containers/create?name=c1"),
        ("DELETE", "/v1.50/containers/c1"),
        ("POST", "/v1.50/commit?container=c1"),
        ("PUT", "/v1.50/containers/c1/archive?path=/"),
        ("POST", "/api/images/bb:1/tag"),
        ("DELETE", "/api/images/bb:1"),
        ("POST", "/api/prune"),
        ("POST", "/api/containers"),
    ];
    for (m, p) in mutating {
        let (status, body) = http(d.port, m, p, None, b"{}");
        assert_eq!(status, 401, "{m} {p}: {body}");
        assert!(body.contains("authentication required"), "{body}");
    }
    assert_eq!(http(d.port, "GET", "/v1.50/images/json", None, b"").0, 401);
    assert_eq!(
        http(
            d.port,
            "GET",
            "/v1.50/images/json",
            Some("strata_forged"),
            b""
        )
        .0,
        401
    );
    assert_eq!(http(d.port, "GET", "/_ping", None, b"").0, 200);

    let cfg = s.scratch();
    // a viewer reads, but may not tag or rmi (403)
    let (code, out, _) = docker(
        &d,
        &cfg.join("ann"),
        &viewer,
        &["images", "--format", "{{.Repository}}:{{.Tag}}"],
    );
    assert_eq!((code, out.as_str()), (0, "bb:1\n"));
    let (code, _, err) = docker(&d, &cfg.join("ann"), &viewer, &["tag", "bb:1", "bb:viewer"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Error response from daemon: ann (role viewer) may not POST"),
        "{err}"
    );
    let (code, _, err) = docker(&d, &cfg.join("ann"), &viewer, &["rmi", "bb:1"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("needs the admin role"), "{err}");
    // an operator tags; rmi needs an admin
    let (code, _, err) = docker(&d, &cfg.join("bob"), &operator, &["tag", "bb:1", "bb:2"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = docker(&d, &cfg.join("bob"), &operator, &["rmi", "bb:2"]);
    assert_eq!(code, 1);
    assert!(err.contains("needs the admin role"), "{err}");
    let (code, out, err) = docker(&d, &cfg.join("cat"), &admin, &["rmi", "bb:2"]);
    assert_eq!((code, out.as_str()), (0, "Untagged: bb:2\n"), "{err}");
    assert_eq!(
        s.ok(&["images", "--format", "{{.Tag}}"]),
        "1\n",
        "refused requests changed nothing"
    );

    // the audit log is the admins': viewers and operators are refused it
    for token in [&viewer, &operator] {
        let (status, body) = http(d.port, "GET", "/api/audit", Some(token), b"");
        assert_eq!(status, 403, "{body}");
    }
    // the audit log lists each accepted change with its token's name
    let (status, body) = http(d.port, "GET", "/api/audit", Some(&admin), b"");
    assert_eq!(status, 200, "{body}");
    let log: serde_json::Value = serde_json::from_str(&body).unwrap();
    let lines: Vec<(String, String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["who"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
                e["result"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0].0, "bob");
    assert!(lines[0].1.starts_with("POST /images/bb:1/tag"), "{lines:?}");
    assert_eq!(lines[0].2, "ok");
    assert_eq!(lines[1].0, "cat");
    assert!(lines[1].1.starts_with("DELETE /images/bb:2"), "{lines:?}");
    let cli = s.ok(&["audit"]);
    assert!(
        cli.contains("bob") && cli.contains("cat") && !cli.contains("ann"),
        "{cli}"
    );
}
