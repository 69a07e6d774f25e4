//! Issue #13 through the real CLI: containers that run (runc, a busybox image), their logs,
//! lifecycle, exit codes, and the writable layer a process changed read by `diff`/`commit`.

use e2e::{until, Daemon, Store};
use std::time::{Duration, Instant};

fn bb_store() -> Store {
    e2e::busybox_store()
}

fn mounts_under(s: &Store) -> Vec<String> {
    e2e::mounts_under(s.root())
}

#[test]
fn run_rm_prints_and_leaves_no_container() {
    let s = bb_store();
    let out = s.run(&["run", "--rm", "busybox", "echo", "hi"]);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (0, "hi\n"),
        "{}",
        out.stderr
    );
    assert_eq!(s.ok(&["ps", "-a", "-q"]), "");
    let left: Vec<_> = std::fs::read_dir(s.root().join("containers"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(mounts_under(&s).is_empty());
    // stderr and the exit code come through; the runtime's info names runc.
    let out = s.run(&["run", "--rm", "busybox", "sh", "-c", "echo err >&2; exit 3"]);
    assert_eq!((out.status, out.stderr.as_str()), (3, "err\n"));
    let info = s.ok(&["info"]);
    assert!(
        info.lines().any(|l| l.starts_with("Runtime: runc")),
        "{info}"
    );
}

/// A data directory named relative to the working directory (`--root data`, as
/// `STRATA_ROOT=data`) runs containers as an absolute one does: the runtime is handed absolute
/// paths, never ones it would resolve against its bundle.
#[test]
fn a_relative_data_directory_runs_containers() {
    let s = bb_store();
    let root = std::fs::canonicalize(s.root()).unwrap();
    let (cwd, name) = (root.parent().unwrap(), root.file_name().unwrap());
    for how in ["flag", "env"] {
        let mut c = std::process::Command::new(e2e::strata_bin());
        match how {
            "flag" => c.arg("--root").arg(name),
            _ => c.env("STRATA_ROOT", name),
        };
        let out = c
            .args(["run", "--rm", "busybox", "echo", "hi"])
            .env("STRATA_CONFIG", cwd.join("config"))
            .current_dir(cwd)
            .output()
            .unwrap();
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).as_ref()
            ),
            (Some(0), "hi\n"),
            "{how}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(s.ok(&["ps", "-a", "-q"]), "");
}

#[test]
fn missing_command_is_127_with_dockers_text() {
    let s = bb_store();
    let out = s.run(&["run", "--name", "nf", "busybox", "nosuchcmd"]);
    assert_eq!(out.status, 127, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(r#"exec: "nosuchcmd": executable file not found in $PATH"#),
        "{}",
        out.stderr
    );
    let ps = s.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert_eq!(ps, "nf Created\n");
    // A directory cannot be invoked: 126. The failed `--rm` run leaves nothing: no
    // container, no mounted root, also when its monitor is still there as the client removes
    // the container (the hook keeps it a few seconds).
    for hook in [None, Some("monitor:refused")] {
        let mut c = s.command(&["run", "--rm", "busybox", "/etc"]);
        if let Some(h) = hook {
            c.env("STRATA_FAILPOINT", h);
        }
        let out = e2e::Output::from(c.stdin(std::process::Stdio::null()).output().unwrap());
        assert_eq!(out.status, 126, "{}", out.stderr);
        assert_eq!(s.ok(&["ps", "-a", "-q"]).lines().count(), 1);
        assert!(
            mounts_under(&s).is_empty(),
            "{hook:?}: {:?}",
            mounts_under(&s)
        );
        let left = std::fs::read_dir(s.root().join("containers"))
            .unwrap()
            .count();
        assert_eq!(left, 1, "{hook:?}: container directories left");
    }
}

#[test]
fn detached_run_logs_pause_stop_wait_restart_rm() {
    let s = bb_store();
    let id = s.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "busybox",
        "sh",
        "-c",
        "echo up; trap 'echo bye; exit 7' TERM; while true; do sleep 0.1; done",
    ]);
    assert_eq!(id.trim().len(), 64);
    until("the log line", || s.ok(&["logs", "web"]) == "up\n");
    let ps = s.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("web Up "), "{ps}");
    s.ok(&["pause", "web"]);
    let ps = s.ok(&["ps", "--format", "{{.Status}} {{.State}}"]);
    assert!(ps.trim_end().ends_with("(Paused) paused"), "{ps}");
    let (_, err) = s.fail(&["pause", "web"]);
    assert!(err.contains("is already paused"), "{err}");
    s.ok(&["unpause", "web"]);
    let (_, err) = s.fail(&["rm", "web"]);
    assert!(err.contains("container is running"), "{err}");
    assert_eq!(s.ok(&["stop", "-t", "5", "web"]), "web\n");
    assert_eq!(s.ok(&["wait", "web"]), "7\n");
    assert_eq!(s.ok(&["logs", "web"]), "up\nbye\n");
    assert_eq!(s.ok(&["logs", "--tail", "1", "web"]), "bye\n");
    // a negative count is every line, as Docker has it
    assert_eq!(s.ok(&["logs", "--tail", "-1", "web"]), "up\nbye\n");
    assert_eq!(s.ok(&["logs", "-n", "-5", "web"]), "up\nbye\n");
    let ps = s.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("web Exited (7) "), "{ps}");
    assert_eq!(
        s.ok(&["ps", "--filter", "exited=7", "--format", "{{.Names}}"]),
        "web\n"
    );
    assert_eq!(s.ok(&["ps", "--filter", "exited=0", "-q"]), "");
    assert_eq!(
        s.ok(&["ps", "--filter", "status=exited", "--format", "{{.Names}}"]),
        "web\n"
    );
    assert_eq!(s.ok(&["ps", "--filter", "status=running", "-q"]), "");
    let (_, err) = s.fail(&["ps", "--filter", "status=bogus"]);
    assert_eq!(
        err,
        "Error response from daemon: invalid filter 'status=bogus'\n"
    );
    assert!(s.ok(&["ps", "-q"]).is_empty());
    assert!(mounts_under(&s).is_empty(), "{:?}", mounts_under(&s));
    // restart runs it again; logs accumulate as Docker's do.
    s.ok(&["restart", "web"]);
    until("the second run", || {
        s.ok(&["logs", "web"]) == "up\nbye\nup\n"
    });
    // kill -s sends the signal; the process' own exit code is recorded.
    s.ok(&["kill", "-s", "TERM", "web"]);
    assert_eq!(s.ok(&["wait", "web"]), "7\n");
    let (_, err) = s.fail(&["kill", "web"]);
    assert!(err.contains("is not running"), "{err}");
    s.ok(&["start", "web"]);
    assert_eq!(s.ok(&["rm", "-f", "web"]), "web\n");
    assert_eq!(s.ok(&["ps", "-a", "-q"]), "");
    assert!(mounts_under(&s).is_empty());
    assert!(!s.root().join("runtime/runc").join(id.trim()).exists());
}

#[test]
fn a_running_container_is_read_live_and_a_detached_rm_one_goes_at_its_end() {
    let s = bb_store();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "live",
        "busybox",
        "sh",
        "-c",
        "echo x > /tmp/made; rm /bin/ls; touch /tmp/ready; sleep 300",
    ]);
    until("the changes", || {
        s.ok(&["diff", "live"]).contains("A /tmp/ready")
    });
    assert_eq!(
        s.ok(&["diff", "live"]),
        "C /bin\nD /bin/ls\nC /tmp\nA /tmp/made\nA /tmp/ready\n"
    );
    // Files cannot be changed from outside while it runs (not yet supported): a clear error.
    let (_, err) = s.fail(&["fs", "rm", "live", "/etc/passwd"]);
    assert!(err.contains("container live is running"), "{err}");
    s.ok(&["rm", "-f", "live"]);
    // `run -d --rm`: removed by the monitor's clean-up once it ends, no client needed.
    s.ok(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "brief",
        "busybox",
        "sh",
        "-c",
        "sleep 0.2",
    ]);
    until("the removal", || s.ok(&["ps", "-a", "-q"]).is_empty());
    assert!(mounts_under(&s).is_empty());
}

#[test]
fn logs_follow_until_the_end_and_oom_kill_is_recorded() {
    let s = bb_store();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "talk",
        "busybox",
        "sh",
        "-c",
        "echo a; sleep 0.5; echo b >&2; sleep 0.3; echo c",
    ]);
    let t = Instant::now();
    let out = s.run(&["logs", "-f", "talk"]);
    assert!(
        t.elapsed() >= Duration::from_millis(700),
        "logs -f returned before the end"
    );
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("a\nc\n", "b\n")
    );
    let ts = s.ok(&["logs", "-t", "--tail", "1", "talk"]);
    assert!(ts.ends_with("Z c\n") && ts.starts_with("20"), "{ts}");
    // --memory: the kernel's OOM killer ends it; inspect says so.
    let out = s.run(&[
        "run",
        "--name",
        "hog",
        "-m",
        "8m",
        "busybox",
        "sh",
        "-c",
        "x=aaaaaaaa; while true; do x=$x$x; done",
    ]);
    assert_eq!(out.status, 137, "{}", out.stderr);
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["container", "inspect", "hog"])).unwrap();
    assert_eq!(v[0]["State"]["OOMKilled"], true);
    assert_eq!(v[0]["State"]["ExitCode"], 137);
    assert_eq!(v[0]["State"]["Status"], "exited");
    assert_eq!(v[0]["HostConfig"]["Memory"], 8 << 20);
    assert_eq!(v[0]["Path"], "sh");
}

/// `exec -t` from a script (no terminal anywhere: no controlling terminal, stdin not one) runs
/// on a pseudo-terminal of the CLI's own, as the docker CLI's does, and gives the process's
/// exit code; `exec -it`, `run -it` and `attach` to a TTY container are refused there in the
/// docker CLI's words, `run -it` before it creates anything.
#[test]
fn exec_with_a_tty_and_no_terminal_runs_on_one_of_its_own() {
    use std::os::unix::process::CommandExt;
    let s = bb_store();
    s.ok(&["run", "-d", "--name", "box", "busybox", "sleep", "300"]);
    let detached = |args: &[&str]| {
        let mut c = s.command(args);
        c.stdin(std::process::Stdio::null());
        // SAFETY: setsid in the child before exec; it only leaves the parent's session (and
        // with it any controlling terminal).
        unsafe {
            c.pre_exec(|| {
                libc::setsid();
                Ok(())
            })
        };
        e2e::Output::from(c.output().unwrap())
    };
    let out = detached(&["exec", "-t", "box", "sh", "-c", "tty; echo hi"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.split("\r\n").collect();
    assert!(lines[0].starts_with("/dev/pts/"), "{:?}", out.stdout);
    assert_eq!(lines[1..], ["hi", ""], "{:?}", out.stdout);
    assert_eq!(
        detached(&["exec", "-t", "box", "sh", "-c", "exit 3"]).status,
        3
    );
    let refused = (1, "the input device is not a TTY\n");
    let out = detached(&["exec", "-it", "box", "true"]);
    assert_eq!((out.status, out.stderr.as_str()), refused);
    let out = detached(&["run", "-it", "--name", "it", "busybox", "true"]);
    assert_eq!((out.status, out.stderr.as_str()), refused);
    let names = s.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(names.trim(), "box", "run -it created nothing");
    s.ok(&["run", "-dit", "--name", "tbox", "busybox", "sh"]);
    let out = detached(&["attach", "tbox"]);
    assert_eq!((out.status, out.stderr.as_str()), refused);
    // without a TTY, run -i and attach read a pipe as before
    let out = detached(&["run", "-i", "--rm", "busybox", "echo", "piped"]);
    assert_eq!((out.status, out.stdout.as_str()), (0, "piped\n"));
    s.ok(&["rm", "-f", "box", "tbox"]);
}

#[test]
fn exec_runs_in_the_container_with_its_identity_rules() {
    let s = bb_store();
    s.ok(&[
        "run", "-d", "--name", "box", "-e", "FROM=run", "busybox", "sleep", "300",
    ]);
    let out = s.ok(&[
        "exec",
        "box",
        "sh",
        "-c",
        "echo inside > /tmp/x; echo $FROM; ps -o comm | grep -c sleep",
    ]);
    assert_eq!(out, "run\n1\n");
    assert_eq!(
        s.ok(&[
            "exec",
            "-u",
            "nobody",
            "-e",
            "FROM=exec",
            "-w",
            "/tmp",
            "box",
            "sh",
            "-c",
            "echo $(id -u) $FROM $(pwd)"
        ]),
        "65534 exec /tmp\n"
    );
    let out = s.run_stdin(&["exec", "-i", "box", "cat"], b"piped\n");
    assert_eq!(out.stdout, "piped\n");
    let (code, err) = s.fail(&["exec", "box", "nosuchcmd"]);
    assert_eq!(code, 126);
    assert!(
        err.contains(r#"exec: "nosuchcmd": executable file not found in $PATH"#),
        "{err}"
    );
    assert_eq!(s.fail(&["exec", "box", "sh", "-c", "exit 4"]).0, 4);
    s.ok(&["pause", "box"]);
    let (_, err) = s.fail(&["exec", "box", "true"]);
    assert!(
        err.contains("is paused, unpause the container before exec"),
        "{err}"
    );
    s.ok(&["unpause", "box"]);
    assert_eq!(s.ok(&["diff", "box"]), "C /tmp\nA /tmp/x\n");
    // top lists the container's processes only.
    let top = s.ok(&["top", "box"]);
    let lines: Vec<&str> = top.lines().collect();
    assert!(
        lines[0].starts_with("UID") && lines[0].contains("PID") && lines[0].ends_with("CMD"),
        "{top}"
    );
    assert_eq!(lines.len(), 2, "{top}");
    assert!(lines[1].ends_with("sleep 300"), "{top}");
    s.ok(&["stop", "-t", "0", "box"]);
    let (_, err) = s.fail(&["exec", "box", "true"]);
    assert!(err.contains("is not running"), "{err}");
    // container prune removes what is not running, and only that.
    s.ok(&["run", "-d", "--name", "keeper", "busybox", "sleep", "300"]);
    let pruned = s.ok(&["container", "prune", "-f"]);
    assert!(pruned.starts_with("Deleted Containers:\n"), "{pruned}");
    assert!(pruned.contains("Total reclaimed space: "), "{pruned}");
    assert_eq!(s.ok(&["ps", "-a", "--format", "{{.Names}}"]), "keeper\n");
    s.ok(&["rm", "-f", "keeper"]);
}

/// What a container puts in its own files never holds up the store: with `/etc/passwd` a
/// FIFO (in the image, or made by a process in the container and held open for writing, so a
/// read would wait for ever), resolving a user name fails at once, as when the file is
/// missing, instead of hanging `start` or `exec` (and a server thread with it). The store
/// reads a container's files without blocking and only when they are regular files. (A
/// process started in the container still meets the FIFO inside it, as under Docker.)
#[test]
fn a_fifo_for_passwd_never_blocks_a_user_lookup() {
    let s = bb_store();
    // Bounded so that a regression fails instead of hanging the suite.
    let bounded = |args: &[&str]| {
        let mut child = s
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if t.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                panic!("strata {args:?} still waits on the container's FIFO after 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success(), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            err.contains("unable to find user nobody"),
            "{args:?}: {err}"
        );
    };
    // Made by a process in the container, a writer holding it open.
    s.ok(&["run", "-d", "--name", "box", "busybox", "sleep", "300"]);
    s.ok(&[
        "exec",
        "box",
        "sh",
        "-c",
        "rm /etc/passwd && mkfifo /etc/passwd && \
         (sh -c 'exec 3<>/etc/passwd; exec sleep 300' </dev/null >/dev/null 2>&1 &)",
    ]);
    bounded(&["exec", "-u", "nobody", "box", "true"]);
    s.ok(&["rm", "-f", "box"]);
    // In the image, no writer at all (a blocking open would wait for one).
    s.ok(&[
        "run",
        "--name",
        "maker",
        "busybox",
        "sh",
        "-c",
        "rm /etc/passwd; mkfifo /etc/passwd",
    ]);
    s.ok(&["commit", "maker", "fifo:1"]);
    s.ok(&["create", "--name", "user", "-u", "nobody", "fifo:1", "true"]);
    bounded(&["start", "-a", "user"]);
}

/// `inspect` looks a name up as the docker CLI does without `--type`: a container first, then
/// an image, and "No such object" for neither; `image inspect` and `container inspect` look
/// in their own kind only.
#[test]
fn inspect_finds_a_container_then_an_image() {
    let s = bb_store();
    s.ok(&["create", "--name", "box", "busybox", "true"]);
    assert_eq!(s.ok(&["inspect", "-f", "{{.Name}}", "box"]), "/box\n");
    assert_eq!(
        s.ok(&["inspect", "-f", "{{.Id}}", "busybox"]),
        format!("{}\n", s.image_id("busybox"))
    );
    let (code, err) = s.fail(&["inspect", "nope"]);
    assert_eq!((code, err.as_str()), (1, "Error: No such object: nope\n"));
    let (code, err) = s.fail(&["image", "inspect", "box"]);
    assert_eq!(code, 1);
    assert!(err.contains("No such image"), "{err}");
    s.ok(&["rm", "box"]);
}

/// Runs `strata ARGS` on `s` inside a real pseudo-terminal ([`e2e::in_terminal`]).
fn in_terminal(s: &Store, args: &str, inputs: &[&str]) -> (String, i32) {
    let strata = e2e::strata_bin();
    e2e::in_terminal(
        &format!("{} --root {} {args}", strata.display(), s.root().display()),
        &[],
        inputs,
        Duration::from_millis(700),
    )
}

#[test]
fn run_it_gives_a_shell_that_detaches_and_attaches() {
    let s = bb_store();
    let (screen, code) = in_terminal(
        &s,
        "run -it --name shell busybox sh",
        &["echo $((6*7))\\n", "stty size\\n", "\\020\\021"],
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("\n42\n"), "{screen}");
    assert!(screen.contains("\n33 99\n"), "{screen}");
    let ps = s.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("shell Up "), "detached, still running: {ps}");
    let (screen, code) = in_terminal(&s, "attach shell", &["echo back\\n", "exit 3\\n"]);
    assert_eq!(code, 3, "{screen}");
    assert!(screen.contains("\nback\n"), "{screen}");
    let ps = s.ok(&["ps", "-a", "--format", "{{.Status}}"]);
    assert!(ps.starts_with("Exited (3)"), "{ps}");
}

#[test]
fn limits_networks_hostname_and_read_only_reach_the_process() {
    let s = bb_store();
    let out = s.ok(&[
        "run", "--rm", "--network", "none", "--cpus", "1.5", "--pids-limit", "10", "-m", "64m", "busybox", "sh", "-c",
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max; ls /sys/class/net",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("150000"), "{out}");
    assert_eq!(lines[1], "10");
    assert_eq!(lines[2], "67108864");
    // --network none: a namespace with only the loopback device.
    assert_eq!(lines[3..], ["lo"]);
    // --network host: the host's interfaces (veths of other tests' containers come and go).
    let stable = |names: Vec<String>| {
        let mut v: Vec<String> = names
            .into_iter()
            .filter(|n| !n.starts_with("veth"))
            .collect();
        v.sort();
        v
    };
    let host = stable(
        std::fs::read_dir("/sys/class/net")
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
    );
    let seen = s.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "ls",
        "/sys/class/net",
    ]);
    assert_eq!(
        stable(seen.split_whitespace().map(str::to_string).collect()),
        host
    );
    let (code, err) = s.fail(&["run", "--rm", "--network", "nosuch", "busybox", "true"]);
    assert_eq!(code, 125);
    assert!(err.contains("network nosuch not found"), "{err}");
    assert_eq!(
        s.ok(&["run", "--rm", "--hostname", "myhost", "busybox", "hostname"]),
        "myhost\n"
    );
    let out = s.run(&[
        "run",
        "--rm",
        "--read-only",
        "busybox",
        "sh",
        "-c",
        "touch /x; echo $?",
    ]);
    assert_eq!(out.stdout, "1\n");
    assert!(
        out.stderr.contains("Read-only file system"),
        "{}",
        out.stderr
    );
    // Docker's read-only /proc paths (this kernel has no /proc/sysrq-trigger: /proc/sys is
    // the one to write) and /sys; the capability set is Docker's.
    let out = s.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo x > /proc/sys/kernel/hostname; echo x > /sys/kernel/uevent_helper; \
         [ -e /proc/sysrq-trigger ] && echo h > /proc/sysrq-trigger; grep CapEff /proc/self/status",
    ]);
    let refused = out.stderr.matches("Read-only file system").count();
    let sysrq = std::path::Path::new("/proc/sysrq-trigger").exists();
    assert_eq!(refused, if sysrq { 3 } else { 2 }, "{}", out.stderr);
    assert!(
        out.stdout.contains("CapEff:\t00000000a80425fb"),
        "{}",
        out.stdout
    );
}

#[test]
fn rmi_refuses_the_image_of_a_running_container_even_forced() {
    let s = bb_store();
    let image = s.image_id("busybox");
    let id = s.ok(&["run", "-d", "busybox", "sleep", "300"]);
    let (_, err) = s.fail(&["rmi", "-f", &image]);
    assert_eq!(
        err,
        format!(
            "Error response from daemon: conflict: unable to delete {} (cannot be forced) - image is being used by running container {}\n",
            &image["sha256:".len()..][..12],
            &id[..12]
        )
    );
    s.ok(&["stop", "-t", "0", id.trim()]);
    // Stopped, the forced removal untags it; the container keeps the image.
    let out = s.ok(&["rmi", "-f", &image]);
    assert!(out.starts_with("Untagged: busybox:latest"), "{out}");
}

/// Seed 003 with a real shell: `run -it`, install a "tool" and delete one, exit; `diff`,
/// `commit -m -a`, `history`, and the new image runs with the change.
#[test]
fn seed_003_interactive_changes_committed_and_run() {
    let s = bb_store();
    let (screen, code) = in_terminal(
        &s,
        "run -it --name s3 busybox sh",
        &[
            "mkdir -p /usr/local/bin\\n",
            "echo echo vim-here > /usr/local/bin/vim\\n",
            "chmod 755 /usr/local/bin/vim\\n",
            "rm /bin/ls\\n",
            "exit\\n",
        ],
    );
    assert_eq!(code, 0, "{screen}");
    let diff = s.ok(&["diff", "s3"]);
    assert!(diff.lines().any(|l| l == "A /usr/local/bin/vim"), "{diff}");
    assert!(diff.lines().any(|l| l == "D /bin/ls"), "{diff}");
    let id = s.ok(&[
        "commit",
        "-m",
        "vim cmd added",
        "-a",
        "dev",
        "s3",
        "atguigu/myubuntu:0.0.1",
    ]);
    assert!(id.starts_with("sha256:"), "{id}");
    let history = s.ok(&["history", "--no-trunc", "atguigu/myubuntu:0.0.1"]);
    assert_eq!(
        history.lines().count(),
        3,
        "one more layer than busybox's: {history}"
    );
    assert!(
        history.lines().nth(1).unwrap().contains("vim cmd added"),
        "{history}"
    );
    let out = s.run(&[
        "run",
        "--rm",
        "atguigu/myubuntu:0.0.1",
        "sh",
        "-c",
        "command -v vim; vim; ls /bin/ls",
    ]);
    assert_eq!(out.stdout, "/usr/local/bin/vim\nvim-here\n");
    assert!(
        out.stderr.contains("/bin/ls: No such file or directory"),
        "{}",
        out.stderr
    );
}

/// SIGKILL of the server while a container runs: the process and its monitor go on (its log
/// keeps growing), and a new server lists it `Up` and serves its logs.
#[test]
fn sigkill_of_the_server_keeps_the_container_running() {
    let s = bb_store();
    let mut a = Daemon::start(&s);
    let id = a.ok(&[
        "run",
        "-d",
        "--name",
        "keep",
        "busybox",
        "sh",
        "-c",
        "echo one; sleep 1; echo two; sleep 300",
    ]);
    a.kill();
    let dir = s.root().join("containers").join(id.trim());
    let st: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
    let pid = st["pid"].as_i64().unwrap();
    let mut b = Daemon::start(&s);
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let ps = b.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("keep Up "), "{ps}");
    until("the line written after the server died", || {
        b.ok(&["logs", "keep"]) == "one\ntwo\n"
    });
    b.ok(&["stop", "-t", "0", "keep"]);
    assert_eq!(b.ok(&["wait", "keep"]), "137\n");
    b.kill();
}

#[test]
fn stop_kills_a_process_that_ignores_the_signal() {
    let s = bb_store();
    s.ok(&["run", "-d", "--name", "sleeper", "busybox", "sleep", "300"]);
    let t = Instant::now();
    s.ok(&["stop", "-t", "1", "sleeper"]);
    assert!(t.elapsed() >= Duration::from_secs(1));
    assert_eq!(s.ok(&["wait", "sleeper"]), "137\n");
}

#[test]
fn interactive_stdin_and_environment() {
    let s = bb_store();
    let out = s.run_stdin(
        &["run", "-i", "--rm", "-e", "GREETING=hello", "-w", "/srv/app", "-u", "nobody", "busybox", "sh", "-c",
          "read x; echo \"$GREETING $x from $(pwd) as $(id -u):$(id -g)\"; echo $HOSTNAME | wc -c"],
        b"world\n",
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "hello world from /srv/app as 65534:65534\n13\n");
    let (code, err) = s.fail(&["run", "--rm", "-u", "nosuchuser", "busybox", "true"]);
    assert_eq!(code, 125);
    assert!(
        err.contains("unable to find user nosuchuser: no matching entries in passwd file"),
        "{err}"
    );
    // --entrypoint replaces the image's and the command becomes its arguments.
    let out = s.ok(&["run", "--rm", "--entrypoint", "echo", "busybox", "a", "b"]);
    assert_eq!(out, "a b\n");
}

#[test]
fn a_process_changes_files_and_diff_and_commit_see_them() {
    let s = bb_store();
    s.ok(&[
        "run",
        "--name",
        "work",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /usr/local/bin && printf '#!/bin/sh\\necho vim\\n' > /usr/local/bin/vim && chmod 755 /usr/local/bin/vim && rm /bin/ls && rm -r /home && mkdir /home && touch /home/new",
    ]);
    let diff = s.ok(&["diff", "work"]);
    assert_eq!(
        diff,
        "C /bin\nD /bin/ls\nC /home\nA /home/new\nC /usr\nA /usr/local\nA /usr/local/bin\nA /usr/local/bin/vim\n"
    );
    // The writable layer is back in the OCI form: a whiteout file, an opaque marker.
    let id = s.ok(&["ps", "-a", "-q", "--no-trunc"]);
    let upper = s.root().join("containers").join(id.trim()).join("upper");
    assert!(upper.join("bin/.wh.ls").is_file());
    assert!(upper.join("home/.wh..wh..opq").is_file());
    s.ok(&[
        "commit",
        "-m",
        "vim cmd added",
        "-a",
        "dev",
        "work",
        "dev/vim:1",
    ]);
    let out = s.run(&[
        "run",
        "--rm",
        "dev/vim:1",
        "sh",
        "-c",
        "command -v vim; vim; ls /bin/ls",
    ]);
    assert_eq!(out.status, 1);
    assert_eq!(out.stdout, "/usr/local/bin/vim\nvim\n");
    assert!(
        out.stderr.contains("/bin/ls: No such file or directory"),
        "{}",
        out.stderr
    );
    // Running again sees its own earlier changes (the writable layer persists across runs):
    // /bin/ls is gone, so the script fails there, with its code.
    let again = s.run(&["start", "-a", "work"]);
    assert_eq!(again.status, 1);
    assert!(again.stderr.contains("/bin/ls"), "{}", again.stderr);
    assert_eq!(s.ok(&["diff", "work"]), diff);
}

#[test]
fn sigkill_of_the_monitor_leaves_a_container_the_next_command_reconciles() {
    let s = bb_store();
    let id = s.ok(&["run", "-d", "--name", "orphan", "busybox", "sleep", "300"]);
    let dir = s.root().join("containers").join(id.trim());
    let st: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
    let (monitor, pid) = (
        st["monitor_pid"].as_i64().unwrap(),
        st["pid"].as_i64().unwrap(),
    );
    e2e::sh("kill", &["-9", &monitor.to_string()]);
    until("the monitor's end", || {
        std::fs::read_to_string(format!("/proc/{monitor}/stat"))
            .map(|s| s.contains(") Z"))
            .unwrap_or(true)
    });
    // The process lives on and the container is still up.
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let ps = s.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("orphan Up "), "{ps}");
    // Once it ends too, it is exited (its code was never seen: 255), and rm leaves nothing.
    e2e::sh("kill", &["-9", &pid.to_string()]);
    until("the exit", || {
        s.ok(&["ps", "-a", "--format", "{{.Status}}"])
            .starts_with("Exited (255)")
    });
    assert!(mounts_under(&s).is_empty());
    s.ok(&["rm", "orphan"]);
    assert!(!dir.exists());
    assert!(!s.root().join("runtime/runc").join(id.trim()).exists());
    assert!(!std::path::Path::new("/sys/fs/cgroup/memory/strata")
        .join(id.trim())
        .exists());
}

/// A start races the previous run's clean-up (its monitor's exit hook, any `ps`): while other
/// processes keep asking for that clean-up, every start still gets its root and runs. Before
/// the run lock, a clean-up that came between the mount and the new monitor's first record
/// unmounted the new root (`runc create`: `invalid rootfs … no such file or directory`).
#[test]
fn a_start_is_never_undone_by_the_previous_runs_clean_up() {
    let s = bb_store();
    let id = s.ok(&["create", "--name", "quick", "busybox", "sh", "-c", "exit 7"]);
    let id = id.trim().to_string();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hammers: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            let cmd = s.command(&["container-exited", &id]);
            let program = cmd.get_program().to_owned();
            let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
            let envs: Vec<_> = cmd
                .get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
                .collect();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::process::Command::new(&program)
                        .args(&args)
                        .envs(envs.iter().cloned())
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .status();
                }
            })
        })
        .collect();
    let mut failures = Vec::new();
    for round in 0..12 {
        let o = s.run(&["start", "quick"]);
        if o.status != 0 {
            failures.push(format!("round {round}: {}", o.stderr));
            continue;
        }
        let code = s.ok(&["wait", "quick"]);
        if code != "7\n" {
            failures.push(format!("round {round}: wait said {code:?}"));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for h in hammers {
        h.join().unwrap();
    }
    assert!(failures.is_empty(), "{failures:#?}");
    until("the last run finished", || mounts_under(&s).is_empty());
}

/// `--init` runs the command under tini (PID 1), `--read-only` root, `--stop-signal` and
/// `--stop-timeout` as `stop` uses them and `inspect` shows them; a missing init binary is a
/// clear error; `-v` binds and `rm -v` through the strata CLI.
#[test]
fn init_read_only_stop_signal_and_binds() {
    let s = bb_store();
    let out = s.ok(&[
        "run",
        "--rm",
        "--init",
        "busybox",
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert!(out.starts_with("/sbin/docker-init -- sh -c"), "{out}");
    let out = s
        .command(&["run", "--rm", "--init", "busybox", "true"])
        .env("STRATA_INIT", "/nonexistent/init")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--init: no init binary found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = s.run(&[
        "run",
        "--rm",
        "--env-file",
        "/nonexistent/env",
        "busybox",
        "true",
    ]);
    assert_eq!(o.status, 125, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("open /nonexistent/env: no such file or directory"),
        "{}",
        o.stderr
    );
    let o = s.run(&["run", "--rm", "--read-only", "busybox", "touch", "/x"]);
    assert_ne!(o.status, 0);
    assert!(o.stderr.contains("Read-only file system"), "{}", o.stderr);
    // The stop signal is the container's; its timeout bounds stop's wait for a process that
    // ignores it.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "sig",
        "--stop-signal",
        "USR1",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 9' USR1; echo ready; while true; do sleep 0.1; done",
    ]);
    until("ready", || s.ok(&["logs", "sig"]) == "ready\n");
    s.ok(&["stop", "sig"]);
    assert_eq!(s.ok(&["wait", "sig"]), "9\n");
    s.ok(&[
        "run",
        "-d",
        "--name",
        "stubborn",
        "--stop-timeout",
        "1",
        "busybox",
        "sh",
        "-c",
        "trap '' TERM; echo ready; while true; do sleep 0.1; done",
    ]);
    until("ready", || s.ok(&["logs", "stubborn"]) == "ready\n");
    let t = Instant::now();
    s.ok(&["stop", "stubborn"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(s.ok(&["wait", "stubborn"]), "137\n");
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["container", "inspect", "stubborn"])).unwrap();
    let v = &v[0];
    assert_eq!(v["Config"]["StopTimeout"], 1);
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["container", "inspect", "sig"])).unwrap();
    let v = &v[0];
    assert_eq!(v["Config"]["StopSignal"], "USR1");
    // A bind through the strata CLI, and an anonymous volume that rm -v removes.
    let host = s.scratch().join("host");
    std::fs::create_dir_all(&host).unwrap();
    s.ok(&[
        "run",
        "--name",
        "b1",
        "-v",
        &format!("{}:/h", host.display()),
        "-v",
        "/anon",
        "busybox",
        "sh",
        "-c",
        "echo hi > /h/f; echo v > /anon/f",
    ]);
    assert_eq!(std::fs::read_to_string(host.join("f")).unwrap(), "hi\n");
    let vols = s.root().join("volumes");
    assert_eq!(std::fs::read_dir(&vols).unwrap().count(), 1);
    s.ok(&["rm", "-v", "b1"]);
    assert_eq!(std::fs::read_dir(&vols).unwrap().count(), 0);
    assert!(host.join("f").exists());
    // A new volume gets the image's files at its path (Docker's copy-up), unless nocopy.
    s.ok(&["create", "--name", "base", "busybox", "true"]);
    s.ok(&["fs", "mkdir", "base", "/vol"]);
    let f = s.scratch().join("imgf");
    std::fs::write(&f, "from the image\n").unwrap();
    s.ok(&["cp", f.to_str().unwrap(), "base:/vol/f"]);
    s.ok(&["commit", "-c", "VOLUME /vol", "base", "withvol:1"]);
    assert_eq!(
        s.ok(&["run", "--rm", "withvol:1", "cat", "/vol/f"]),
        "from the image\n"
    );
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "-v",
            "named:/vol",
            "withvol:1",
            "cat",
            "/vol/f"
        ]),
        "from the image\n"
    );
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "-v",
            "empty:/vol:nocopy",
            "withvol:1",
            "ls",
            "/vol"
        ]),
        ""
    );
}

/// The containers' cgroup parent goes with the last container (runc creates it and leaves
/// it behind), and a dropped test store leaves no process running.
#[test]
fn cgroup_parent_goes_with_the_last_container_and_store_drop_stops_containers() {
    let s = bb_store();
    let parent = format!("strata-e2e-{}", std::process::id());
    let run = |args: &[&str]| {
        let o = s
            .command(args)
            .env("STRATA_CGROUP_PARENT", &parent)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let dirs = || -> Vec<std::path::PathBuf> {
        let base = std::path::Path::new("/sys/fs/cgroup");
        let mut v = vec![base.join(&parent)];
        for d in std::fs::read_dir(base).unwrap().flatten() {
            v.push(d.path().join(&parent));
        }
        v.into_iter().filter(|p| p.is_dir()).collect()
    };
    let a = run(&["run", "-d", "busybox", "sleep", "300"]);
    let b = run(&["run", "-d", "busybox", "sleep", "300"]);
    assert!(
        !dirs().is_empty(),
        "the containers' cgroups live under {parent}"
    );
    run(&["rm", "-f", a.trim()]);
    assert!(!dirs().is_empty(), "one container is left in {parent}");
    run(&["rm", "-f", b.trim()]);
    assert!(dirs().is_empty(), "left behind: {:?}", dirs());
    // A store dropped with a container running stops it.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "loop",
        "busybox",
        "sh",
        "-c",
        "while true; do sleep 0.1; done",
    ]);
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["container", "inspect", "loop"])).unwrap();
    let pid = v[0]["State"]["Pid"].as_i64().unwrap();
    assert!(pid > 0);
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(s);
    until("the dropped store's container to end", || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    });
}

fn unix_now() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}

/// `logs --since/--until` with Docker's time forms: Unix seconds with a fraction, relative
/// durations, RFC 3339 and dates; a bad value is Docker's error.
#[test]
fn logs_since_and_until() {
    let s = bb_store();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "lg",
        "busybox",
        "sh",
        "-c",
        "echo one; sleep 3; echo two",
    ]);
    until("one", || s.ok(&["logs", "lg"]) == "one\n");
    let mid = unix_now();
    until("two", || s.ok(&["logs", "lg"]) == "one\ntwo\n");
    assert_eq!(s.ok(&["logs", "--since", &mid, "lg"]), "two\n");
    assert_eq!(s.ok(&["logs", "--until", &mid, "lg"]), "one\n");
    assert_eq!(s.ok(&["logs", "--since", "10m", "lg"]), "one\ntwo\n");
    assert_eq!(s.ok(&["logs", "--until", "10m", "lg"]), "");
    assert_eq!(s.ok(&["logs", "--since", "2099-01-01", "lg"]), "");
    assert_eq!(
        s.ok(&["logs", "--since", "2000-01-01T00:00:00Z", "lg"]),
        "one\ntwo\n"
    );
    // -f with --until returns once the time has passed, the container still running.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "lg2",
        "busybox",
        "sh",
        "-c",
        "echo a; sleep 300",
    ]);
    until("a", || s.ok(&["logs", "lg2"]) == "a\n");
    let t = Instant::now();
    assert_eq!(s.ok(&["logs", "-f", "--until", &unix_now(), "lg2"]), "a\n");
    assert!(t.elapsed() < Duration::from_secs(10));
    let (code, err) = s.fail(&["logs", "--since", "yesterday", "lg"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("failed to parse value as time or duration: \"yesterday\""),
        "{err}"
    );
}

/// `stats --no-stream`, `update` and `rename` through the strata CLI.
#[test]
fn stats_update_and_rename() {
    let s = bb_store();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "-m",
        "32m",
        "busybox",
        "sh",
        "-c",
        "sleep 300 & while true; do :; done",
    ]);
    let out = s.ok(&["stats", "--no-stream", "busy"]);
    let mut lines = out.lines();
    assert_eq!(
        e2e::cells(lines.next().unwrap()),
        [
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS"
        ]
    );
    let row = e2e::cells(lines.next().unwrap());
    assert_eq!(row[1], "busy", "{out}");
    assert!(row[3].ends_with(" / 32MiB"), "{out}");
    assert_eq!(row[7], "2", "{out}");
    assert!(
        row[2].trim_end_matches('%').parse::<f64>().unwrap() > 1.0,
        "{out}"
    );
    assert_eq!(
        s.ok(&["update", "-m", "48m", "--pids-limit", "10", "busy"]),
        "busy\n"
    );
    let row = e2e::cells(
        s.ok(&["stats", "--no-stream", "busy"])
            .lines()
            .nth(1)
            .unwrap(),
    );
    assert!(row[3].ends_with(" / 48MiB"), "{row:?}");
    let (code, err) = s.fail(&["update", "busy"]);
    assert_eq!(code, 1);
    assert!(err.contains("you must provide one or more flags"), "{err}");
    s.ok(&["rename", "busy", "calm"]);
    assert_eq!(s.ok(&["ps", "--format", "{{.Names}}"]), "calm\n");
    s.ok(&["rm", "-f", "calm"]);
}

/// `runtime` in `strata.toml` names the OCI runtime; `--runtime` (or `$STRATA_RUNTIME`)
/// overrides it; a runtime that is not installed fails the run in one clear line and leaves
/// the container created, never running on another runtime behind the user's back.
#[test]
fn strata_toml_names_the_runtime_and_runtime_flag_overrides_it() {
    let s = bb_store();
    let config = s.scratch().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("strata.toml"), "runtime = \"nosuch-rt\"\n").unwrap();
    let run = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend_from_slice(&["run", "--rm", "--network", "none", "busybox", "echo", "ran"]);
        let mut c = s.command(&args);
        c.env("STRATA_CONFIG", &config).env_remove("STRATA_RUNTIME");
        e2e::Output::from(c.output().unwrap())
    };
    let o = run(&[]);
    assert_ne!(
        o.status, 0,
        "a missing runtime must fail the run: {}",
        o.stdout
    );
    assert!(
        o.stderr
            .contains("runtime nosuch-rt: executable file not found in $PATH"),
        "{}",
        o.stderr
    );
    assert!(!o.stdout.contains("ran"), "{}", o.stdout);
    let o = run(&["--runtime", "runc"]);
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert_eq!(o.stdout.trim(), "ran");
    std::fs::write(config.join("strata.toml"), "runtime = \"runc\"\n").unwrap();
    let o = run(&[]);
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert_eq!(o.stdout.trim(), "ran");
}

/// A `GET path` to the server on loopback `port` whose answer streams: returns the connection
/// once the status line says 200, its body still to come.
fn open_stream(port: u16, path: &str) -> std::net::TcpStream {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(c, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").unwrap();
    let mut head = [0u8; 12];
    c.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200", "{path}");
    c
}

/// The server's request threads (tokio's, named `tokio-rt-worker`) that sit in a sleep
/// (`nanosleep`/`clock_nanosleep`): a log follower waits for new lines that way, while the
/// runtime's own threads wait on their events and the server's timers have names of their own.
fn sleeping_threads(pid: u32) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    let read = |t: &std::fs::DirEntry, f: &str| {
        std::fs::read_to_string(t.path().join(f)).unwrap_or_default()
    };
    tasks
        .flatten()
        .filter(|t| {
            read(t, "comm").starts_with("tokio-")
                && matches!(read(t, "syscall").split(' ').next(), Some("35" | "230"))
        })
        .count()
}

/// A reader that follows a quiet container's log and goes away takes its follower with it:
/// the server does not keep reading the log for nobody until the container ends, both for the
/// Docker API and for the dashboard's stream.
#[test]
fn a_follower_whose_reader_left_stops() {
    let s = bb_store();
    s.ok(&["run", "-d", "--name", "quiet", "busybox", "sleep", "1000"]);
    let d = Daemon::start(&s);
    let paths = [
        "/containers/quiet/logs?follow=1&stdout=1&stderr=1",
        "/api/containers/quiet/logs?follow=1",
    ];
    let mut readers = Vec::new();
    for path in paths.iter().cycle().take(4) {
        readers.push(open_stream(d.port, path));
    }
    until("the four followers to wait for lines", || {
        sleeping_threads(d.pid()) >= 4
    });
    drop(readers);
    until("the followers to stop after their readers left", || {
        sleeping_threads(d.pid()) == 0
    });
    s.ok(&["rm", "-f", "quiet"]);
}

/// SIGTERM stops the server, with status 0, though streams that never end by themselves are
/// open (`docker events`, the dashboard's event stream, a follower of a quiet container's
/// log): each ends at once, as a whole HTTP answer, so the grace period is not needed.
#[test]
fn sigterm_ends_the_endless_streams_and_stops_the_server() {
    use std::io::Read;
    let s = bb_store();
    s.ok(&["run", "-d", "--name", "quiet", "busybox", "sleep", "1000"]);
    let port = e2e::free_port();
    let listen = format!("127.0.0.1:{port}");
    let log = s.scratch().join("serve.log");
    let mut cmd = s.command(&["serve", "--listen", &listen, "--web-dir", "/nonexistent"]);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut d = Daemon::spawn(&s, cmd, port);
    let paths = [
        "/events",
        "/api/events",
        "/containers/quiet/logs?follow=1&stdout=1",
    ];
    let open: Vec<_> = paths.iter().map(|p| open_stream(port, p)).collect();
    let t = Instant::now();
    // SAFETY: a signal to the server this test started.
    assert_eq!(unsafe { libc::kill(d.pid() as i32, libc::SIGTERM) }, 0);
    // every stream's answer ends properly: chunked, its last chunk then the end of the
    // connection
    for (mut c, path) in open.into_iter().zip(paths) {
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            rest.ends_with(b"0\r\n\r\n"),
            "{path}: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
    let status = loop {
        if let Some(st) = d.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the server still runs 20 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("strata: shutting down"), "{said}");
    assert!(
        !said.contains("still open"),
        "a stream held the shutdown: {said}"
    );
    s.ok(&["rm", "-f", "quiet"]);
}

/// The working directory is cleaned as moby cleans it (`/etc/../tmp/x` is `/tmp/x`) and made
/// at start through the image's symlinks inside the root: a link to a missing directory, or
/// one climbing with `..`, leads to a directory made in the container, never on the host.
#[test]
fn the_working_directory_is_cleaned_and_made_through_links_inside_the_root() {
    let s = bb_store();
    assert_eq!(
        s.ok(&["run", "--rm", "-w", "/etc/../tmp//x/.", "busybox", "pwd"]),
        "/tmp/x\n"
    );
    s.ok(&[
        "run",
        "--name",
        "mk",
        "busybox",
        "sh",
        "-c",
        "ln -s /strata-missing/dir /lnk && ln -s ../../../../strata-up /up",
    ]);
    s.ok(&["commit", "mk", "wd:1"]);
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "-w",
            "/lnk/sub",
            "wd:1",
            "sh",
            "-c",
            "pwd; ls -d /strata-missing/dir/sub"
        ]),
        "/strata-missing/dir/sub\n/strata-missing/dir/sub\n"
    );
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "-w",
            "/up/a",
            "wd:1",
            "sh",
            "-c",
            "ls -d /strata-up/a"
        ]),
        "/strata-up/a\n"
    );
    assert!(!std::path::Path::new("/strata-missing").exists());
    assert!(!std::path::Path::new("/strata-up").exists());
}
