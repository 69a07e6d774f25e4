//! Issue #13 §5 through the real CLI: the default `bridge` network (an address, the gateway,
//! neighbours), published ports answering a TCP connection from the host, and nothing left
//! behind (veth, NAT rules, namespace file, leases) after `rm -f` or a monitor's death.

use e2e::{busybox_store, free_port, iptables_rules, link_exists, tcp_exchange, until, Store};
use serde_json::Value;

fn inspect(s: &Store, name: &str) -> Value {
    let v: Value = serde_json::from_str(&s.ok(&["container", "inspect", name])).unwrap();
    v[0].clone()
}

/// The host end of a container's veth pair.
fn veth(id: &str) -> String {
    format!("veth{}", &id[..11])
}

/// Asserts that nothing of the container's attachment is left on the host.
fn assert_detached(s: &Store, id: &str, ip: &str) {
    // The kernel takes the veth pair down with the namespace, asynchronously.
    until("the veth's end", || !link_exists(&veth(id)));
    let rules = iptables_rules();
    assert!(
        !rules.contains(&format!("{ip}:")),
        "DNAT rules to {ip} left:\n{rules}"
    );
    let dir = s.root().join("containers").join(id);
    assert!(!dir.join("netns").exists());
    assert!(
        e2e::mounts_under(&dir).is_empty(),
        "{:?}",
        e2e::mounts_under(&dir)
    );
    let leases: Value = std::fs::read("/run/strata/network/strata0.json")
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    assert!(leases["ips"].get(ip).is_none(), "{leases}");
}

#[test]
fn bridge_gives_an_address_the_gateway_and_the_neighbours() {
    let s = busybox_store();
    let a = s.ok(&["run", "-d", "--name", "na", "busybox", "sleep", "300"]);
    let b = s.ok(&["run", "-d", "--name", "nb", "busybox", "sleep", "300"]);
    let (a, b) = (a.trim().to_string(), b.trim().to_string());
    let ia = inspect(&s, "na");
    let ns = &ia["NetworkSettings"];
    let ip_a = ns["IPAddress"].as_str().unwrap().to_string();
    let gw = ns["Gateway"].as_str().unwrap().to_string();
    assert!(ip_a.starts_with("172.") && gw.ends_with(".0.1"), "{ns}");
    assert_eq!(ns["IPPrefixLen"], 16);
    assert_eq!(ns["Networks"]["bridge"]["IPAddress"], ip_a.as_str());
    let o: Vec<u8> = ip_a.split('.').map(|x| x.parse().unwrap()).collect();
    assert_eq!(
        ns["MacAddress"],
        format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3]).as_str()
    );
    assert_eq!(ia["HostConfig"]["NetworkMode"], "bridge");
    assert_eq!(
        s.ok(&[
            "container",
            "inspect",
            "-f",
            "{{.NetworkSettings.IPAddress}}",
            "na"
        ]),
        format!("{ip_a}\n")
    );
    let ip_b = inspect(&s, "nb")["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(ip_a, ip_b);
    // Inside: eth0 with the address, the default route through the gateway, which answers.
    let addr = s.ok(&["exec", "na", "ip", "-4", "-o", "addr", "show", "eth0"]);
    assert!(addr.contains(&format!("inet {ip_a}/16")), "{addr}");
    let route = s.ok(&["exec", "na", "ip", "route"]);
    assert!(
        route.contains(&format!("default via {gw} dev eth0")),
        "{route}"
    );
    s.ok(&["exec", "na", "ping", "-c1", "-W3", &gw]);
    // The two containers reach each other by address, over TCP too.
    s.ok(&["exec", "nb", "ping", "-c1", "-W3", &ip_a]);
    s.ok(&[
        "exec",
        "-d",
        "na",
        "sh",
        "-c",
        "echo from-a | nc -l -p 7000",
    ]);
    until("a's listener", || {
        s.run(&["exec", "na", "sh", "-c", "netstat -ltn | grep -q :7000"])
            .status
            == 0
    });
    let got = s.ok(&["exec", "nb", "nc", "-w", "3", &ip_a, "7000"]);
    assert_eq!(got, "from-a\n");
    // /etc/hosts names the container's address as Docker writes it; resolv.conf has no
    // loopback server (unreachable from the container's namespace).
    let hosts = s.ok(&["exec", "na", "cat", "/etc/hosts"]);
    assert!(
        hosts.lines().any(|l| l == format!("{ip_a}\t{}", &a[..12])),
        "{hosts}"
    );
    let resolv = s.ok(&["exec", "na", "cat", "/etc/resolv.conf"]);
    assert!(
        resolv
            .lines()
            .filter(|l| l.starts_with("nameserver"))
            .all(|l| !l.contains(" 127.")),
        "{resolv}"
    );
    // `network ls` shows the three default networks; inspect of the bridge lists both.
    let ls = s.ok(&["network", "ls", "--quiet"]);
    assert_eq!(ls.lines().count(), 3, "{ls}");
    let net: Value = serde_json::from_str(&s.ok(&["network", "inspect", "bridge"])).unwrap();
    assert_eq!(net[0]["Containers"].as_object().unwrap().len(), 2, "{net}");
    assert_eq!(net[0]["IPAM"]["Config"][0]["Gateway"], gw.as_str());
    // Stopping frees the address and takes the attachment down; a restart gets one again.
    s.ok(&["stop", "-t", "0", "na"]);
    assert_detached(&s, &a, &ip_a);
    let stopped = inspect(&s, "na");
    assert_eq!(stopped["NetworkSettings"]["IPAddress"], "");
    s.ok(&["start", "na"]);
    assert!(link_exists(&veth(&a)));
    s.ok(&["rm", "-f", "na", "nb"]);
    assert_detached(&s, &a, &ip_a);
    assert_detached(&s, &b, &ip_b);
}

#[test]
fn published_ports_answer_the_host_and_leave_nothing_after_rm() {
    let s = busybox_store();
    let port = free_port();
    let spec = format!("127.0.0.1:{port}:80");
    let id = s.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &spec,
        "-p",
        "81",
        "busybox",
        "sh",
        "-c",
        "while true; do echo hello-from-web | nc -l -p 80; done",
    ]);
    let id = id.trim().to_string();
    // A real TCP connection from the host to the published loopback port reaches nc.
    let got = tcp_exchange(&format!("127.0.0.1:{port}"), b"hi\n");
    assert_eq!(got, "hello-from-web\n");
    // Hairpin on its bridge port: the container may reach its own published ports.
    let hairpin = format!("/sys/class/net/{}/brport/hairpin_mode", veth(&id));
    assert_eq!(std::fs::read_to_string(&hairpin).unwrap().trim(), "1");
    let ins = inspect(&s, "web");
    let ip = ins["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        ins["HostConfig"]["PortBindings"]["80/tcp"][0],
        serde_json::json!({"HostIp": "127.0.0.1", "HostPort": port.to_string()})
    );
    assert_eq!(
        ins["NetworkSettings"]["Ports"]["80/tcp"][0],
        serde_json::json!({"HostIp": "127.0.0.1", "HostPort": port.to_string()})
    );
    // `-p 81` took a free host port; `port` and `ps` show both as Docker does.
    let random = ins["NetworkSettings"]["Ports"]["81/tcp"][0]["HostPort"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(random, "0");
    assert_eq!(
        s.ok(&["port", "web"]),
        format!("80/tcp -> 127.0.0.1:{port}\n81/tcp -> 0.0.0.0:{random}\n")
    );
    assert_eq!(s.ok(&["port", "web", "80"]), format!("127.0.0.1:{port}\n"));
    let ps = s.ok(&["ps", "--format", "{{.Ports}}"]);
    assert_eq!(
        ps,
        format!("127.0.0.1:{port}->80/tcp, 0.0.0.0:{random}->81/tcp\n")
    );
    assert!(iptables_rules().contains(&format!("{ip}:80")));
    // While it runs, the host ports are the container's: no other host process can take
    // them (it would never see the connections the rules send to the container).
    for (addr, p) in [("127.0.0.1", port.to_string()), ("0.0.0.0", random.clone())] {
        let p: u16 = p.parse().unwrap();
        let taken = std::net::TcpListener::bind((addr, p)).unwrap_err();
        assert_eq!(
            taken.kind(),
            std::io::ErrorKind::AddrInUse,
            "{addr}:{p}: {taken}"
        );
    }
    // The same host port for a second container: Docker's text, and that container's
    // attempt leaves nothing behind.
    let (code, err) = s.fail(&[
        "run", "-d", "--name", "clash", "-p", &spec, "busybox", "sleep", "9",
    ]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains(&format!(
            "Bind for 127.0.0.1:{port} failed: port is already allocated"
        )),
        "{err}"
    );
    let clash = inspect(&s, "clash")["Id"].as_str().unwrap().to_string();
    assert!(!link_exists(&veth(&clash)));
    assert!(!s
        .root()
        .join("containers")
        .join(&clash)
        .join("netns")
        .exists());
    // Bad -p: Docker's texts, nothing created.
    let before = s.ok(&["ps", "-a", "-q"]);
    let (code, err) = s.fail(&["run", "-p", "80/xtp", "busybox", "true"]);
    assert_eq!(code, 125);
    assert!(err.contains("invalid proto: xtp"), "{err}");
    assert_eq!(s.ok(&["ps", "-a", "-q"]), before);
    s.ok(&["rm", "-f", "web"]);
    assert_detached(&s, &id, &ip);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    drop(std::net::TcpListener::bind(("127.0.0.1", port)).expect("the host port is free again"));
}

#[test]
fn a_dead_monitor_leaks_no_attachment() {
    let s = busybox_store();
    let port = free_port();
    let spec = format!("127.0.0.1:{port}:80");
    let id = s.ok(&["run", "-d", "-p", &spec, "busybox", "sleep", "300"]);
    let id = id.trim().to_string();
    let ip = inspect(&s, &id)["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = s.root().join("containers").join(&id);
    let st: Value =
        serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
    let (monitor, pid) = (
        st["monitor_pid"].as_i64().unwrap(),
        st["pid"].as_i64().unwrap(),
    );
    e2e::sh("kill", &["-9", &monitor.to_string()]);
    e2e::sh("kill", &["-9", &pid.to_string()]);
    until("the exit", || {
        s.ok(&["ps", "-a", "--format", "{{.Status}}"])
            .starts_with("Exited (")
    });
    assert_detached(&s, &id, &ip);
}

#[test]
fn a_bridge_that_cannot_be_set_up_names_what_is_missing() {
    let s = busybox_store();
    // A PATH with the runtime but without `ip`, then without `iptables`.
    let bin = s.scratch().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let runc = e2e::sh("sh", &["-c", "command -v runc"]);
    std::os::unix::fs::symlink(runc.trim(), bin.join("runc")).unwrap();
    let run = |args: &[&str]| {
        let o = s.command(args).env("PATH", &bin).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    // The bridge itself is set up once per boot: make sure it is, so each check below is
    // about the container's own attachment.
    s.ok(&["run", "--rm", "busybox", "true"]);
    let (code, err) = run(&["run", "--name", "noip", "busybox", "true"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("the bridge network needs the `ip` command (iproute2)"),
        "{err}"
    );
    let ip = e2e::sh("sh", &["-c", "command -v ip"]);
    std::os::unix::fs::symlink(ip.trim(), bin.join("ip")).unwrap();
    let (code, err) = run(&["run", "--name", "nonat", "-p", "80", "busybox", "true"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("the bridge network needs iptables for its NAT rules"),
        "{err}"
    );
    // Both containers exist (created), and neither left an attachment.
    for name in ["noip", "nonat"] {
        let id = inspect(&s, name)["Id"].as_str().unwrap().to_string();
        let dir = s.root().join("containers").join(&id);
        assert!(!dir.join("netns").exists(), "{name}");
        assert!(!dir.join("network.json").exists(), "{name}");
        until("the veth's end", || !link_exists(&veth(&id)));
    }
    // With the tools back, the same container runs.
    s.ok(&["start", "-a", "nonat"]);
}

/// A container on the host's network shares the host's loopback, where the strata server
/// listens: its requests are refused (it would reach the host and the store through the
/// API), the host's own still answered, and the record of it goes with its run.
#[test]
fn a_container_on_the_hosts_network_never_reaches_the_server() {
    let s = busybox_store();
    let d = e2e::Daemon::start(&s);
    let url = format!("http://127.0.0.1:{}/containers/json", d.port);
    let o = d.docker(&[
        "run",
        "--name",
        "hostnet",
        "--network",
        "host",
        "busybox",
        "wget",
        "-qO-",
        &url,
    ]);
    assert_ne!(o.status, 0, "{}", o.stdout);
    assert!(o.stderr.contains("403 Forbidden"), "{}", o.stderr);
    assert_eq!(o.stdout, "", "nothing of the API answered");
    let id = d
        .ok(&["inspect", "-f", "{{.Id}}", "hostnet"])
        .trim()
        .to_string();
    assert!(
        !std::path::Path::new("/run/strata/host-network")
            .join(&id)
            .exists(),
        "the record goes with the run"
    );
    // the host itself is still served
    let (status, body) = e2e::http_text(d.port, "GET", "/_ping", "", b"");
    assert_eq!((status, body.as_str()), (200, "OK"));
    // while it runs, it is recorded; the same address reached from the host is served
    d.ok(&[
        "run",
        "-d",
        "--name",
        "hostsleep",
        "--network",
        "host",
        "busybox",
        "sleep",
        "60",
    ]);
    let id = d
        .ok(&["inspect", "-f", "{{.Id}}", "hostsleep"])
        .trim()
        .to_string();
    assert!(std::path::Path::new("/run/strata/host-network")
        .join(&id)
        .exists());
    let (status, _) = e2e::http_text(d.port, "GET", "/containers/json", "", b"");
    assert_eq!(status, 200);
    let o = d.docker(&["exec", "hostsleep", "wget", "-qO-", &url]);
    assert_ne!(
        o.status, 0,
        "an exec is the container's process too: {}",
        o.stdout
    );
    d.ok(&["rm", "-f", "hostsleep"]);
    assert!(!std::path::Path::new("/run/strata/host-network")
        .join(&id)
        .exists());
}

/// Without team mode, a TCP client of another local user is refused (through the API it would
/// act as root: binds, privileged containers), whatever it sends; the server's own user is
/// served, and so is a user given with `--allow-user`.
#[test]
fn another_local_users_client_is_refused_unless_allowed() {
    let nobody = |port: u16, method: &str, path: &str| {
        let out = std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "curl",
                "-s",
            ])
            .args(["-w", "\n%{http_code}", "-X", method])
            .args([
                "-H",
                "Content-Type: application/json",
                "-d",
                r#"{"Image":"busybox"}"#,
            ])
            .arg(format!("http://127.0.0.1:{port}{path}"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or((&text, ""));
        (code.to_string(), body.to_string())
    };
    let s = busybox_store();
    let d = e2e::Daemon::start(&s);
    for (method, path) in [("GET", "/_ping"), ("POST", "/containers/create")] {
        let (code, body) = nobody(d.port, method, path);
        assert_eq!(code, "403", "{method} {path}: {body}");
        assert!(
            body.contains("request refused: it comes from user 65534, who may not use this server"),
            "{body}"
        );
    }
    assert_eq!(d.ok(&["ps", "-aq"]), "", "nothing was created");
    let (status, body) = e2e::http_text(d.port, "GET", "/_ping", "", b"");
    assert_eq!((status, body.as_str()), (200, "OK"));
    let other = Store::new();
    let allowed = e2e::Daemon::start_with(&other, &["--allow-user", "nobody"], &[]);
    assert_eq!(
        nobody(allowed.port, "GET", "/_ping"),
        ("200".to_string(), "OK".to_string())
    );
}
