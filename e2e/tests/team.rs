//! Team mode (`strata serve --auth`): tokens, roles and the audit log, through raw HTTP and the
//! real docker CLI (which sends the token from its config's `HttpHeaders`).

use e2e::{busybox_rootfs, require, tar_of, Daemon, Store, DOCKER};
use std::path::Path;

/// One HTTP/1.1 exchange with a JSON body and, given a token, its bearer header; returns
/// the status and the body.
fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, String) {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    e2e::http_text(port, method, path, &auth, body)
}

/// `strata serve --auth`.
fn start(store: &Store) -> Daemon {
    Daemon::start_with(store, &["--auth"], &[])
}

/// The docker CLI with a client config that sends `token`.
fn docker(d: &Daemon, config: &Path, token: &str, args: &[&str]) -> (i32, String, String) {
    std::fs::create_dir_all(config).unwrap();
    std::fs::write(
        config.join("config.json"),
        format!(r#"{{"HttpHeaders":{{"Authorization":"Bearer {token}"}}}}"#),
    )
    .unwrap();
    let o = d
        .docker_cmd(args)
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

/// The registry side in team mode: pulling needs a viewer token, which registry clients send
/// as the password of the login the server's challenge asks for.
#[test]
fn pulling_from_a_team_store_takes_a_viewer_login() {
    require("skopeo");
    let team = Store::new();
    let rootfs = team.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    team.ok(&["import", tar_of(&rootfs).to_str().unwrap(), "team/app:1"]);
    let id = team.image_id("team/app:1");
    let viewer = team
        .ok(&["token", "create", "--role", "viewer", "ann"])
        .trim()
        .to_string();
    let d = start(&team);
    let host = format!("127.0.0.1:{}", d.port);
    // no token: refused with a challenge a registry client answers by logging in
    let (status, headers, _) = e2e::http(d.port, "GET", "/v2/", "", b"").unwrap();
    assert_eq!(status, 401);
    let challenge = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.as_str());
    assert_eq!(challenge, Some("Basic realm=\"strata\""));
    // the dashboard's routes never challenge (a browser would pop up a login box)
    let (status, headers, _) = e2e::http(d.port, "GET", "/api/images", "", b"").unwrap();
    assert_eq!(status, 401);
    assert!(!headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("www-authenticate")));
    // another store logs in with the token as its password and pulls
    let mine = Store::new();
    let reference = format!("{host}/team/app:1");
    let refused = mine.fail(&["pull", &reference]);
    assert!(
        refused.1.contains("401") || refused.1.contains("unauthorized"),
        "{refused:?}"
    );
    mine.ok(&["login", &host, "-u", "ann", "-p", &viewer]);
    mine.ok(&["pull", &reference]);
    assert_eq!(mine.image_id(&reference), id);
    // skopeo with the same login, and with a wrong one
    let remote = format!("docker://{reference}");
    let creds = format!("ann:{viewer}");
    let seen = e2e::sh(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            &creds,
            &remote,
        ],
    );
    assert!(seen.contains(&id), "the manifest names the config: {seen}");
    let wrong = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--tls-verify=false",
            "--creds",
            "ann:nope",
            &remote,
        ])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
}

/// A team server listening beyond loopback is reachable from the bridge's containers, and a
/// client picks its own `Host`: a request from an address leased on the bridge is refused
/// whatever it sends (a token, a loopback `Host`); the host's own requests are served.
#[test]
fn a_container_on_the_bridge_never_reaches_a_team_server() {
    let store = e2e::busybox_store();
    let admin = store
        .ok(&["token", "create", "--role", "admin", "cat"])
        .trim()
        .to_string();
    let port = e2e::free_port();
    let listen = format!("0.0.0.0:{port}");
    let cmd = store.command(&[
        "serve",
        "--auth",
        "--listen",
        &listen,
        "--web-dir",
        "/nonexistent/web",
    ]);
    let d = Daemon::spawn(&store, cmd, port);
    let (status, _) = http(d.port, "GET", "/containers/json", Some(&admin), b"");
    assert_eq!(status, 200, "the host is served");
    let script = format!(
        "gw=$(ip route | awk '/default/ {{print $3}}'); \
         wget -S -O- --header 'Host: 127.0.0.1:{port}' --header 'Authorization: Bearer {admin}' \
         http://$gw:{port}/containers/json 2>&1"
    );
    let (code, out, err) = docker(
        &d,
        &store.scratch().join("cli"),
        &admin,
        &["run", "--rm", "busybox", "sh", "-c", &script],
    );
    assert_ne!(code, 0, "{out}{err}");
    assert!(out.contains("403 Forbidden"), "{out}{err}");
}
