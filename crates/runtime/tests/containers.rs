//! Real containers: busybox roots run by runc through the monitor (needs root and runc).

use runtime::driver::{busybox_rootfs, probe, Runtime};
use runtime::logfile::{Entry, LOG_FILE};
use runtime::monitor::{self, Event, MonitorArgs, Reservation};
use runtime::spec::{self, NetworkMode, SpecOptions};
use runtime::state::{self, ContainerState, Status};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static N: AtomicUsize = AtomicUsize::new(0);

struct Case {
    _tmp: tempfile::TempDir,
    args: MonitorArgs,
    opts: SpecOptions,
}

fn case(cmd: &[&str], tweak: impl FnOnce(&mut SpecOptions, &mut MonitorArgs)) -> Case {
    let tmp = tempfile::tempdir().unwrap();
    let id = format!(
        "{:016x}{:048x}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let dir = tmp.path().join("c");
    let bundle = tmp.path().join("b");
    let rootfs = bundle.join("rootfs");
    std::fs::create_dir_all(&dir).unwrap();
    busybox_rootfs(&rootfs, &[]).unwrap();
    let runtime = Runtime::named("runc", &tmp.path().join("rt")).unwrap();
    let mut o = SpecOptions {
        id: id.clone(),
        rootfs,
        args: cmd.iter().map(|s| s.to_string()).collect(),
        cgroups_path: format!("/strata-test/{id}"),
        cgroup_v2: runtime::cgroup::is_v2(),
        swap_limit: runtime::cgroup::swap_limit(),
        ..Default::default()
    };
    let mut args = MonitorArgs {
        runtime,
        id,
        bundle: bundle.clone(),
        dir: dir.clone(),
        cgroups_path: o.cgroups_path.clone(),
        tty: false,
        stdin: false,
        stdin_once: false,
        wait_attach: false,
        reserve: Vec::new(),
        log: Some(Default::default()),
        log_attrs: Default::default(),
        on_exit: Vec::new(),
    };
    tweak(&mut o, &mut args);
    args.tty = o.tty;
    o.etc_files = Some(spec::write_etc_files(&dir, &o.id[..12], o.network).unwrap());
    spec::write_bundle(&bundle, &spec::build(&o).unwrap()).unwrap();
    Case {
        _tmp: tmp,
        args,
        opts: o,
    }
}

fn monitor_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strata-monitor"))
}

fn wait_exit(dir: &Path) -> ContainerState {
    let t = Instant::now();
    loop {
        if let Some(st) = state::read(dir).unwrap() {
            if st.status == Status::Exited {
                return st;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "container did not exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn logs(dir: &Path) -> Vec<Entry> {
    std::fs::read_to_string(dir.join(LOG_FILE))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stdout_of(dir: &Path) -> String {
    logs(dir)
        .into_iter()
        .filter(|e| e.stream == "stdout")
        .map(|e| e.log)
        .collect()
}

/// Runs the case to its end: the start's result, the final record.
fn run(c: &Case) -> (runtime::Result<i32>, ContainerState) {
    let r = monitor::spawn(monitor_cmd(), &c.args).and_then(|mut s| s.wait_started());
    let st = if r.is_ok() {
        wait_exit(&c.args.dir)
    } else {
        state::read(&c.args.dir).unwrap().unwrap()
    };
    (r, st)
}

#[test]
fn echo_is_logged_as_json_file_and_exits_0() {
    let c = case(&["echo", "hi"], |_, _| {});
    let (r, st) = run(&c);
    assert!(r.unwrap() > 0);
    assert_eq!(st.exit_code, Some(0));
    assert!(st.started_at.is_some() && st.finished_at.is_some());
    assert!(!st.oom_killed);
    let l = logs(&c.args.dir);
    assert_eq!(l.len(), 1);
    assert_eq!(
        (l[0].log.as_str(), l[0].stream.as_str()),
        ("hi\n", "stdout")
    );
    assert!(l[0].time.ends_with('Z') && l[0].time.contains('T'));
    // The runtime's state is gone: the monitor deleted it.
    assert_eq!(c.args.runtime.state(&c.args.id).unwrap(), None);
}

#[test]
fn on_exit_command_runs_after_the_end_is_recorded() {
    let c = case(&["sh", "-c", "exit 5"], |_, _| {});
    let mut args = c.args.clone();
    let marker = c.args.dir.join("seen");
    args.on_exit = vec![
        "/bin/sh".into(),
        "-c".into(),
        format!(
            "cat {}/state.json > {}",
            c.args.dir.display(),
            marker.display()
        )
        .into(),
    ];
    monitor::spawn(monitor_cmd(), &args)
        .unwrap()
        .wait_started()
        .unwrap();
    let t = Instant::now();
    while !marker.exists() {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50));
    let seen: ContainerState = serde_json::from_slice(&std::fs::read(&marker).unwrap()).unwrap();
    assert_eq!((seen.status, seen.exit_code), (Status::Exited, Some(5)));
}

#[test]
fn exit_code_and_stderr() {
    let c = case(&["sh", "-c", "echo oops >&2; exit 3"], |_, _| {});
    let (_, st) = run(&c);
    assert_eq!(st.exit_code, Some(3));
    let l = logs(&c.args.dir);
    assert_eq!(
        (l[0].log.as_str(), l[0].stream.as_str()),
        ("oops\n", "stderr")
    );
}

#[test]
fn missing_command_is_127_with_dockers_text() {
    let c = case(&["nosuchcmd"], |_, _| {});
    let (r, st) = run(&c);
    match r {
        Err(runtime::RuntimeError::Start { msg, exit_code }) => {
            assert_eq!(exit_code, 127);
            assert!(
                msg.contains(r#"exec: "nosuchcmd": executable file not found in $PATH"#),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(st.status, Status::Created);
    assert_eq!(st.exit_code, Some(127));
    assert_eq!(c.args.runtime.state(&c.args.id).unwrap(), None);
    // A directory cannot be invoked: 126.
    let c = case(&["/etc"], |_, _| {});
    match run(&c).0 {
        Err(runtime::RuntimeError::Start { exit_code, .. }) => assert_eq!(exit_code, 126),
        other => panic!("{other:?}"),
    }
}

#[test]
fn isolation_pid_namespace_proc_and_capabilities() {
    let c = case(
        &[
            "sh",
            "-c",
            "ps -o pid,comm | tail -n +2; echo x > /proc/sys/kernel/hostname || echo procsys-refused; \
             grep CapEff /proc/self/status; hostname; echo x > /sys/kernel/uevent_helper || echo sys-refused; \
             [ -e /proc/sysrq-trigger ] && { echo h > /proc/sysrq-trigger || echo trigger-refused; }; true",
        ],
        |_, _| {},
    );
    let (_, st) = run(&c);
    assert_eq!(st.exit_code, Some(0));
    let out = stdout_of(&c.args.dir);
    let lines: Vec<&str> = out.lines().collect();
    // Only the container's own processes: the shell (PID 1) and what it runs.
    let pids: Vec<&str> = lines
        .iter()
        .take_while(|l| !l.starts_with("procsys"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(pids[0], "1", "{out}");
    assert!(pids.len() <= 3, "{out}");
    // /proc/sys (and /proc/sysrq-trigger, where the kernel has it) are read-only.
    assert!(out.contains("procsys-refused"), "{out}");
    if Path::new("/proc/sysrq-trigger").exists() {
        assert!(out.contains("trigger-refused"), "{out}");
    }
    let errors: String = logs(&c.args.dir)
        .into_iter()
        .filter(|e| e.stream == "stderr")
        .map(|e| e.log)
        .collect();
    assert_eq!(
        errors.matches("Read-only file system").count(),
        2,
        "{errors}"
    );
    assert!(out.contains("sys-refused"), "{out}");
    // Docker's default capability set.
    assert!(out.contains("CapEff:\t00000000a80425fb"), "{out}");
    assert!(out.contains(&c.args.id[..12]), "{out}");
}

#[test]
fn seccomp_profile_and_no_new_privileges_are_applied() {
    // Docker's profile refuses new user namespaces to a container without CAP_SYS_ADMIN.
    let script = "unshare -U true && echo userns-ok || echo userns-refused; grep NoNewPrivs /proc/self/status";
    let c = case(&["sh", "-c", script], |o, _| o.no_new_privileges = true);
    assert_eq!(run(&c).1.exit_code, Some(0));
    let out = stdout_of(&c.args.dir);
    assert!(out.contains("userns-refused"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    let c = case(&["sh", "-c", script], |o, _| o.seccomp_unconfined = true);
    assert_eq!(run(&c).1.exit_code, Some(0));
    let out = stdout_of(&c.args.dir);
    assert!(out.contains("userns-ok"), "{out}");
    assert!(out.contains("NoNewPrivs:\t0"), "{out}");
}

#[test]
fn memory_limit_ends_oom_killed() {
    let c = case(
        &["sh", "-c", "x=aaaaaaaa; while true; do x=$x$x; done"],
        |o, _| o.memory = Some(8 << 20),
    );
    let (_, st) = run(&c);
    assert_eq!(st.exit_code, Some(137));
    assert!(st.oom_killed, "{st:?}");
}

#[test]
fn tty_output_is_logged_as_stdout() {
    let c = case(&["sh", "-c", "tty; echo $TERM"], |o, _| o.tty = true);
    let (_, st) = run(&c);
    assert_eq!(st.exit_code, Some(0));
    let out = stdout_of(&c.args.dir);
    assert_eq!(out, "/dev/pts/0\r\nxterm\r\n");
}

#[test]
fn attach_forwards_stdin_and_streams_output() {
    let c = case(&["sh", "-c", "read l; echo got $l; echo e >&2"], |_, a| {
        a.stdin = true;
        a.stdin_once = true;
        a.wait_attach = true;
    });
    let mut s = monitor::spawn(monitor_cmd(), &c.args).unwrap();
    assert_eq!(s.next_event().unwrap(), Event::Created);
    let mut conn = monitor::connect_attach(&c.args.dir).unwrap();
    assert!(matches!(s.next_event().unwrap(), Event::Started { .. }));
    conn.write_all(b"abc\n").unwrap();
    let mut got = Vec::new();
    conn.read_to_end(&mut got).unwrap();
    let mut frames = Vec::new();
    let mut rest = &got[..];
    while rest.len() >= 8 {
        let n = u32::from_be_bytes(rest[4..8].try_into().unwrap()) as usize;
        frames.push((
            rest[0],
            String::from_utf8_lossy(&rest[8..8 + n]).into_owned(),
        ));
        rest = &rest[8 + n..];
    }
    // Each stream keeps its order; between stdout and stderr (two pipes) there is none.
    frames.sort();
    assert_eq!(
        frames,
        [(1, "got abc\n".to_string()), (2, "e\n".to_string())]
    );
    assert_eq!(wait_exit(&c.args.dir).exit_code, Some(0));
}

#[test]
fn monitor_outlives_its_caller_and_sigkill_is_reconciled() {
    let c = case(&["sleep", "300"], |o, _| o.network = NetworkMode::Host);
    let pid = monitor::spawn(monitor_cmd(), &c.args)
        .unwrap()
        .wait_started()
        .unwrap();
    let st = state::read(&c.args.dir).unwrap().unwrap();
    assert_eq!(st.status, Status::Running);
    // The monitor is not our child: it leads its own session.
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", st.monitor_pid)).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    assert_ne!(fields[1], std::process::id().to_string());
    assert_eq!(fields[3], st.monitor_pid.to_string());
    // SIGKILL the monitor: the container keeps running, and reconciling says so.
    // SAFETY: a plain kill of the monitor we started.
    unsafe { libc_kill(st.monitor_pid, 9) };
    let t = Instant::now();
    while state::alive(st.monitor_pid) && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let now = runtime::logfile::now();
    let r = state::reconcile(&c.args.dir, &c.args.runtime, &c.args.id, &now)
        .unwrap()
        .unwrap();
    assert_eq!((r.status, r.pid), (Status::Running, pid));
    // Once the process is gone too, the container is exited and the runtime's state removed.
    c.args.runtime.kill(&c.args.id, "KILL", false).unwrap();
    let t = Instant::now();
    while c.args.runtime.state(&c.args.id).unwrap().unwrap().status != "stopped" {
        assert!(t.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(10));
    }
    let r = state::reconcile(&c.args.dir, &c.args.runtime, &c.args.id, &now)
        .unwrap()
        .unwrap();
    assert_eq!(r.status, Status::Exited);
    assert_eq!(r.exit_code, Some(state::LOST_EXIT_CODE));
    assert_eq!(c.args.runtime.state(&c.args.id).unwrap(), None);
    assert_eq!(state::read(&c.args.dir).unwrap().unwrap(), r);
}

#[test]
fn probe_finds_a_working_runtime_and_reports_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let (rt, results) = probe(tmp.path(), &["nosuchruntime", "runc"], "/strata-test");
    assert_eq!(rt.unwrap().name, "runc");
    assert_eq!(results[0].error.as_deref(), Some("not installed"));
    assert_eq!(results[1].error, None);
    // A runtime that exists but cannot run a container reports its first error line.
    if Path::new("/usr/bin/crun").exists() {
        let (rt, results) = probe(tmp.path(), &["crun"], "/strata-test");
        if rt.is_none() {
            let e = results[0].error.as_deref().unwrap();
            assert!(!e.is_empty() && !e.contains('\n'), "{e}");
        }
    }
}

#[test]
fn tty_window_size_is_set_through_the_control_socket() {
    let c = case(&["stty", "size"], |o, a| {
        o.tty = true;
        a.wait_attach = true;
    });
    let mut s = monitor::spawn(monitor_cmd(), &c.args).unwrap();
    assert_eq!(s.next_event().unwrap(), Event::Created);
    monitor::control(
        &c.args.dir,
        &monitor::Control::Resize {
            height: 30,
            width: 100,
        },
    )
    .unwrap();
    let _conn = monitor::connect_attach(&c.args.dir).unwrap();
    s.wait_started().unwrap();
    assert_eq!(wait_exit(&c.args.dir).exit_code, Some(0));
    assert_eq!(stdout_of(&c.args.dir), "30 100\r\n");
}

#[test]
fn pause_exec_and_stop_with_timeout() {
    let c = case(&["sleep", "300"], |_, _| {});
    monitor::spawn(monitor_cmd(), &c.args)
        .unwrap()
        .wait_started()
        .unwrap();
    let rt = &c.args.runtime;
    rt.pause(&c.args.id).unwrap();
    assert_eq!(rt.state(&c.args.id).unwrap().unwrap().status, "paused");
    rt.resume(&c.args.id).unwrap();
    assert_eq!(rt.state(&c.args.id).unwrap().unwrap().status, "running");
    // exec: a process with the container's identity rules, here with another user.
    let mut o = c.opts.clone();
    o.args = vec![
        "sh".into(),
        "-c".into(),
        "id -u; echo $HOSTNAME; ps -o comm | grep -c sleep".into(),
    ];
    o.user = "1234:5678".into();
    let p = spec::exec_process(&o).unwrap();
    let pj = c.args.dir.join("exec.json");
    std::fs::write(&pj, serde_json::to_vec(&p).unwrap()).unwrap();
    let out = rt
        .exec_command(&c.args.id, &pj, &c.args.dir.join("exec.pid"), None, false)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("1234\n{}\n1\n", &c.args.id[..12])
    );
    // PID 1 ignores SIGTERM without a handler: stop waits its timeout, then SIGKILL.
    let t = Instant::now();
    let st = state::stop(&c.args.dir, rt, &c.args.id, "TERM", Duration::from_secs(1))
        .unwrap()
        .unwrap();
    assert!(t.elapsed() >= Duration::from_secs(1));
    assert_eq!((st.status, st.exit_code), (Status::Exited, Some(137)));
    assert_eq!(rt.state(&c.args.id).unwrap(), None);
    // A process that handles SIGTERM ends at once with its own code.
    let c = case(
        &[
            "sh",
            "-c",
            "trap 'exit 42' TERM; while true; do sleep 0.1; done",
        ],
        |_, _| {},
    );
    monitor::spawn(monitor_cmd(), &c.args)
        .unwrap()
        .wait_started()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let st = state::stop(
        &c.args.dir,
        &c.args.runtime,
        &c.args.id,
        "TERM",
        Duration::from_secs(10),
    )
    .unwrap()
    .unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(st.exit_code, Some(42));
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// A port the kernel has free now (taken and given back).
fn free_port(udp: bool) -> u16 {
    if udp {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }
}

/// The published host ports are the monitor's while its container runs, as dockerd's proxy
/// holds them: no other process can bind them (even asking for address reuse, as Rust's
/// `TcpListener` does), a connection that reaches the host port itself is refused, not left
/// hanging, a second container asking for one fails to start with Docker's text, and the
/// ports are free again once the container has ended.
#[test]
fn published_ports_are_held_while_the_container_runs() {
    let lo = std::net::Ipv4Addr::LOCALHOST;
    let (tcp, udp) = (free_port(false), free_port(true));
    let reserve = vec![
        Reservation {
            proto: "tcp".into(),
            ip: lo,
            port: tcp,
        },
        Reservation {
            proto: "udp".into(),
            ip: lo,
            port: udp,
        },
    ];
    let c = case(&["sleep", "30"], |_, a| a.reserve = reserve.clone());
    let mut s = monitor::spawn(monitor_cmd(), &c.args).unwrap();
    s.wait_started().unwrap();
    let taken = std::net::TcpListener::bind((lo, tcp)).unwrap_err();
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse, "{taken}");
    let taken = std::net::UdpSocket::bind((lo, udp)).unwrap_err();
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse, "{taken}");
    let refused = std::net::TcpStream::connect_timeout(&(lo, tcp).into(), Duration::from_secs(5))
        .unwrap_err();
    assert_eq!(
        refused.kind(),
        std::io::ErrorKind::ConnectionRefused,
        "{refused}"
    );

    let c2 = case(&["true"], |_, a| a.reserve = vec![reserve[0].clone()]);
    let (r, st) = run(&c2);
    match r {
        Err(runtime::RuntimeError::Start { msg, exit_code }) => {
            assert_eq!(exit_code, 125);
            assert!(
                msg.contains(&format!(
                    "Error starting userland proxy: listen tcp4 127.0.0.1:{tcp}: bind: address already in use"
                )),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((st.status, st.exit_code), (Status::Created, Some(125)));
    assert_eq!(
        c2.args.runtime.state(&c2.args.id).unwrap(),
        None,
        "nothing created"
    );

    c.args.runtime.kill(&c.args.id, "KILL", true).unwrap();
    wait_exit(&c.args.dir);
    drop(std::net::TcpListener::bind((lo, tcp)).expect("the TCP port is free again"));
    drop(std::net::UdpSocket::bind((lo, udp)).expect("the UDP port is free again"));
}

/// A port whose host server just stopped, its closed connection still in `TIME_WAIT`, can
/// be published at once (dockerd's proxy binds with `SO_REUSEADDR` too), and is then held.
#[test]
fn a_port_in_time_wait_is_held_as_dockers_proxy_would() {
    use std::io::{Read, Write};
    let lo = std::net::Ipv4Addr::LOCALHOST;
    let server = std::net::TcpListener::bind((lo, 0)).unwrap();
    let port = server.local_addr().unwrap().port();
    let mut client = std::net::TcpStream::connect((lo, port)).unwrap();
    let (mut conn, _) = server.accept().unwrap();
    // the server's side closes first: its end (local port `port`) goes to TIME_WAIT
    conn.write_all(b"bye").unwrap();
    drop(conn);
    let mut buf = Vec::new();
    client.read_to_end(&mut buf).unwrap();
    drop(client);
    drop(server);
    let r = Reservation {
        proto: "tcp".into(),
        ip: lo,
        port,
    };
    let held = r.hold().expect("a port in TIME_WAIT is published");
    let taken = std::net::TcpListener::bind((lo, port)).unwrap_err();
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse, "{taken}");
    drop(held);
}
