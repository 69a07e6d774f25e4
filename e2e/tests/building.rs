//! Issue #14 through real clients: the docker CLI 28 (`docker build`, its legacy-builder
//! path) and `strata build` against real containers (runc, a busybox image). The texts
//! expected are those dockerd 20.10's classic builder printed for the same Dockerfiles.

use e2e::{busybox_rootfs, require, tar_of, Daemon, Output, Store};
use std::path::{Path, PathBuf};

fn bb_store() -> Store {
    require("runc");
    let store = Store::new();
    let rootfs = store.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    let tar = tar_of(&rootfs);
    store.ok(&["import", tar.to_str().unwrap(), "busybox"]);
    store
}

/// A context directory `name` in the store's scratch area with these files.
fn context(s: &Store, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = s.scratch().join(name);
    for (p, text) in files {
        let f = dir.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, text).unwrap();
    }
    dir
}

fn lines_starting(out: &str, prefix: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

fn no_containers(s: &Store, d: Option<&Daemon>) {
    assert_eq!(s.ok(&["ps", "-aq"]).trim(), "", "strata ps -a");
    if let Some(d) = d {
        assert_eq!(d.ok(&["ps", "-aq"]).trim(), "", "docker ps -a");
    }
}

fn build_in(d: &Daemon, dir: &Path, args: &[&str]) -> Output {
    let mut a = vec!["build"];
    a.extend_from_slice(args);
    a.push(".");
    let mut c = d.docker_cmd(&a);
    c.current_dir(dir);
    e2e::run_with_stdin(c, b"")
}

const SEED_004: &str = "FROM busybox
RUN /bin/echo 'root:123456' > /tmp/pw
RUN mkdir -p /opt/app
COPY app.sh /opt/app/
ENV APP=1
EXPOSE 8080
CMD [\"/opt/app/app.sh\"]
";

/// Seed 004 built twice with the docker CLI's default path (no buildx plugin: the legacy
/// builder), its history, the cache, a change of `app.sh`, and `docker run --rm`.
#[test]
fn seed_004_built_twice_with_the_docker_cli() {
    let s = bb_store();
    let d = Daemon::start(&s);
    let dir = context(
        &s,
        "seed004",
        &[
            ("Dockerfile", SEED_004),
            ("app.sh", "#!/bin/sh\necho \"app $APP running\"\n"),
        ],
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("app.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();

    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let first = build_in(&d, &dir, &["-t", "mysql-like"]);
    assert_eq!(first.status, 0, "{}\n{}", first.stdout, first.stderr);
    let steps = lines_starting(&first.stdout, "Step ");
    assert_eq!(
        steps,
        [
            "Step 1/7 : FROM busybox",
            "Step 2/7 : RUN /bin/echo 'root:123456' > /tmp/pw",
            "Step 3/7 : RUN mkdir -p /opt/app",
            "Step 4/7 : COPY app.sh /opt/app/",
            "Step 5/7 : ENV APP=1",
            "Step 6/7 : EXPOSE 8080",
            "Step 7/7 : CMD [\"/opt/app/app.sh\"]",
        ]
    );
    // every RUN ran in a container that was removed afterwards
    let running = lines_starting(&first.stdout, " ---> Running in ");
    let removed = lines_starting(&first.stdout, "Removing intermediate container ");
    assert!(running.len() >= 2, "{}", first.stdout);
    assert_eq!(running.len(), removed.len(), "{}", first.stdout);
    assert!(!first.stdout.contains("Using cache"));
    let id = s.image_id("mysql-like");
    assert!(
        first
            .stdout
            .contains(&format!("Successfully built {}\n", &id[7..19])),
        "{}",
        first.stdout
    );
    assert!(first
        .stdout
        .contains("Successfully tagged mysql-like:latest\n"));
    no_containers(&s, Some(&d));
    // the build shows in the event stream: its containers and the tag
    let until = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    let events = d.ok(&[
        "events",
        "--since",
        &t0.to_string(),
        "--until",
        &until,
        "--format",
        "{{.Type}} {{.Action}}",
    ]);
    for want in [
        "container create",
        "container start",
        "container destroy",
        "image tag",
    ] {
        assert!(events.lines().any(|l| l == want), "{want}: {events}");
    }

    // one history row per instruction, newest first, `#(nop)` rows of size 0
    let hist = d.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}|{{.Size}}",
        "mysql-like",
    ]);
    let rows: Vec<&str> = hist.lines().collect();
    assert_eq!(rows.len(), 7, "{hist}");
    assert_eq!(rows[0], "/bin/sh -c #(nop)  CMD [\"/opt/app/app.sh\"]|0B");
    assert_eq!(rows[1], "/bin/sh -c #(nop)  EXPOSE 8080|0B");
    assert_eq!(rows[2], "/bin/sh -c #(nop)  ENV APP=1|0B");
    let app_len = std::fs::metadata(dir.join("app.sh")).unwrap().len();
    assert!(
        rows[3].starts_with("/bin/sh -c #(nop) COPY file:")
            && rows[3].ends_with(&format!(" in /opt/app/ |{app_len}B")),
        "{}",
        rows[3]
    );
    assert_eq!(rows[4], "/bin/sh -c mkdir -p /opt/app|0B");
    assert_eq!(rows[5], "/bin/sh -c /bin/echo 'root:123456' > /tmp/pw|12B");

    // the second build: every step from the cache, the same image
    let second = build_in(&d, &dir, &["-t", "mysql-like"]);
    assert_eq!(second.status, 0, "{}", second.stderr);
    assert_eq!(
        second.stdout.matches(" ---> Using cache\n").count(),
        6,
        "{}",
        second.stdout
    );
    assert!(!second.stdout.contains("Running in"), "{}", second.stdout);
    assert_eq!(s.image_id("mysql-like"), id);
    // the cache entries are ordinary intermediate images: listed with -a only
    let all = s.ok(&["images", "-aq"]).lines().count();
    let shown = s.ok(&["images", "-q"]).lines().count();
    assert!(all >= shown + 5, "images -a {all}, images {shown}");

    // a changed app.sh: the RUNs still come from the cache, COPY and what follows rebuild
    std::fs::write(dir.join("app.sh"), "#!/bin/sh\necho \"app $APP v2\"\n").unwrap();
    let third = build_in(&d, &dir, &["-t", "mysql-like"]);
    assert_eq!(third.status, 0, "{}", third.stderr);
    assert_eq!(
        third.stdout.matches(" ---> Using cache\n").count(),
        2,
        "{}",
        third.stdout
    );
    let after_copy = third.stdout.split("Step 4/7").nth(1).unwrap();
    assert!(!after_copy.contains("Using cache"), "{}", third.stdout);
    assert_ne!(s.image_id("mysql-like"), id);

    let ran = d.ok(&["run", "--rm", "mysql-like"]);
    assert_eq!(ran, "app 1 v2\n");
    no_containers(&s, Some(&d));
}

/// `FROM scratch` + `COPY --from` of an earlier stage: one layer, only the copied files.
#[test]
fn multi_stage_gives_one_layer_of_only_the_copied_files() {
    let s = bb_store();
    let d = Daemon::start(&s);
    let dir = context(
        &s,
        "multi",
        &[(
            "Dockerfile",
            "FROM busybox AS b\nRUN mkdir /out && echo one > /out/a && echo two > /out/b\nFROM scratch\nCOPY --from=b /out/ /data/\nCMD [\"/x\"]\n",
        )],
    );
    let o = build_in(&d, &dir, &["-t", "multi"]);
    assert_eq!(o.status, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("Step 3/5 : FROM scratch\n"),
        "{}",
        o.stdout
    );
    let img = s.inspect("multi");
    assert_eq!(
        img["RootFS"]["Layers"].as_array().unwrap().len(),
        1,
        "{img}"
    );
    let tree = s.ok(&["tree", "multi"]);
    let paths: Vec<&str> = tree
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(paths, ["/data", "/data/a", "/data/b"], "{tree}");
    // the target stops at the named stage
    let t = build_in(&d, &dir, &["--target", "b", "-q"]);
    assert_eq!(t.status, 0, "{}", t.stderr);
    let stage_b = t.stdout.trim().to_string();
    assert!(stage_b.starts_with("sha256:"), "{}", t.stdout);
    assert_eq!(
        s.inspect(&stage_b)["RootFS"]["Layers"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    no_containers(&s, Some(&d));
}

/// `.dockerignore` (`**/*.log`, `!keep.log`), and paths that would leave the context.
#[test]
fn dockerignore_and_the_context_boundary() {
    let s = bb_store();
    let d = Daemon::start(&s);
    let dir = context(
        &s,
        "ignore",
        &[
            (
                "Dockerfile",
                "FROM busybox\nCOPY . /ctx/\nRUN find /ctx | sort\n",
            ),
            (".dockerignore", "**/*.log\n!keep.log\n"),
            ("a.log", "x"),
            ("keep.log", "k"),
            ("sub/b.log", "x"),
            ("sub/keep.log", "x"),
            ("x.txt", "x"),
        ],
    );
    std::os::unix::fs::symlink("/etc", dir.join("etc-link")).unwrap();
    let o = build_in(&d, &dir, &[]);
    assert_eq!(o.status, 0, "{}\n{}", o.stdout, o.stderr);
    let found: Vec<&str> = o.stdout.lines().filter(|l| l.starts_with("/ctx")).collect();
    assert_eq!(
        found,
        [
            "/ctx",
            "/ctx/.dockerignore",
            "/ctx/Dockerfile",
            "/ctx/etc-link",
            "/ctx/keep.log",
            "/ctx/sub",
            "/ctx/x.txt"
        ]
    );

    // `COPY ../secret`: refused; a symlink to /etc resolves inside the context
    std::fs::write(s.scratch().join("secret"), "s3cret").unwrap();
    for (df, want) in [
        (
            "FROM busybox\nCOPY ../secret /x\n",
            "COPY failed: forbidden path outside the build context: ../secret ()",
        ),
        (
            "FROM busybox\nCOPY etc-link/passwd /x\n",
            "COPY failed: file not found in build context or excluded by .dockerignore: stat etc-link/passwd: file does not exist",
        ),
    ] {
        std::fs::write(dir.join("Dockerfile"), df).unwrap();
        let o = build_in(&d, &dir, &[]);
        assert_eq!(o.status, 1, "{}\n{}", o.stdout, o.stderr);
        assert!(o.stderr.contains(want), "{}", o.stderr);
    }
    // the same through strata itself, on the directory in place
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM busybox\nCOPY etc-link/hostname /x\n",
    )
    .unwrap();
    let (code, err) = s.fail(&["build", dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("file not found in build context"), "{err}");
    no_containers(&s, Some(&d));
}

/// A failing `RUN`: the command's output, Docker's message, its exit code; nothing tagged,
/// no container left.
#[test]
fn a_failing_run_stops_the_build_with_its_exit_code() {
    let s = bb_store();
    let d = Daemon::start(&s);
    let dir = context(
        &s,
        "fail",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo out; echo err >&2; exit 3\nRUN echo never\n",
        )],
    );
    let images_before = s.ok(&["images", "-aq"]);
    let o = build_in(&d, &dir, &["-t", "failed"]);
    assert_eq!(o.status, 3, "{}\n{}", o.stdout, o.stderr);
    // stdout and stderr reach the stream in either order: `out` ends a line of its own
    // (maybe after the red stderr block's reset), `err` is the red block.
    assert!(
        o.stdout.lines().any(|l| l == "out" || l == "\u{1b}[0mout"),
        "{:?}",
        o.stdout
    );
    assert!(
        o.stdout.contains("\u{1b}[91merr\n\u{1b}[0m"),
        "{:?}",
        o.stdout
    );
    assert!(
        o.stderr.contains(
            "The command '/bin/sh -c echo out; echo err >&2; exit 3' returned a non-zero code: 3"
        ),
        "{}",
        o.stderr
    );
    assert!(!o.stdout.contains("Step 3/3"));
    assert!(s.run(&["inspect", "failed"]).status != 0);
    assert_eq!(s.ok(&["images", "-aq"]), images_before);
    no_containers(&s, Some(&d));
    // strata build exits with the same code
    let (code, err) = s.fail(&["build", "-t", "failed", dir.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("returned a non-zero code: 3"), "{err}");
    no_containers(&s, None);
}

/// Bad Dockerfiles fail before any container runs, with their line numbers.
#[test]
fn bad_dockerfiles_fail_before_any_container_with_line_numbers() {
    let s = bb_store();
    let d = Daemon::start(&s);
    let images_before = s.ok(&["images", "-aq"]);
    for (df, want) in [
        (
            "FROM busybox\nRUN true\nFOO bar\n",
            "Dockerfile parse error line 3: unknown instruction: FOO",
        ),
        (
            "RUN true\n",
            "Dockerfile parse error line 1: no build stage in current context",
        ),
        (
            "FROM busybox\nRUN true\nARG X=${Y\nRUN echo $X\n",
            "Dockerfile parse error line 3: failed to process \"${Y\": syntax error: missing '}'",
        ),
        (
            "FROM busybox\nARG X=${Y:?need}\nRUN echo $X\n",
            "line 2: failed to process \"${Y:?need}\": Y: need",
        ),
        // Unterminated JSON: where only the JSON form is allowed it is refused; elsewhere
        // Docker reads the text as the shell form (`CMD ["a",` is a shell command).
        (
            "FROM busybox\nRUN true\nSHELL [\"/bin/sh\", \"-c\"\n",
            "Dockerfile parse error line 3: SHELL requires the arguments to be in JSON form",
        ),
        (
            "FROM busybox\nRUN true\nCOPY [\"a\",\n",
            "Dockerfile parse error line 3: COPY requires at least two arguments",
        ),
    ] {
        let dir = context(&s, "bad", &[("Dockerfile", df)]);
        let o = build_in(&d, &dir, &[]);
        assert_eq!(o.status, 1, "{df}: {}\n{}", o.stdout, o.stderr);
        assert!(o.stderr.contains(want), "{df}: {}", o.stderr);
        assert!(!o.stdout.contains("Running in"), "{df}: {}", o.stdout);
        let (code, err) = s.fail(&["build", dir.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert!(err.contains(want), "{df}: {err}");
    }
    assert_eq!(s.ok(&["images", "-aq"]), images_before);
    no_containers(&s, Some(&d));
}

/// `strata build -` with a context tar on stdin, `-q`, `--iidfile`, several `-t`, `--label`,
/// `--build-arg` (and Docker's warning for an unused one), `--target`, `-f` outside the
/// context, and a bare Dockerfile on stdin.
#[test]
fn strata_build_flags() {
    let s = bb_store();
    let dir = context(
        &s,
        "flags",
        &[
            (
                "Dockerfile",
                "FROM busybox AS base\nARG GREETING=hi\nRUN echo \"$GREETING\" > /greeting\nFROM base\nLABEL stage=two\n",
            ),
            ("data/f.txt", "data"),
        ],
    );
    let iid = s.scratch().join("iid");
    let out = s.ok(&[
        "build",
        "-q",
        "--iidfile",
        iid.to_str().unwrap(),
        "-t",
        "one",
        "-t",
        "two:x",
        "--label",
        "team=a",
        "--build-arg",
        "GREETING=hello",
        "--build-arg",
        "UNUSED=1",
        dir.to_str().unwrap(),
    ]);
    let id = out.trim();
    assert!(
        id.starts_with("sha256:") && out.lines().count() == 1,
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), id);
    assert_eq!(s.image_id("one"), id);
    assert_eq!(s.image_id("two:x"), id);
    let labels = &s.inspect("one")["Config"]["Labels"];
    assert_eq!(labels["team"], "a");
    assert_eq!(labels["stage"], "two");
    let got = s.ok(&["run", "--rm", "one", "cat", "/greeting"]);
    assert_eq!(got, "hello\n");

    // not quiet: the warning for the build arg nothing declared
    let o = s.ok(&[
        "build",
        "--build-arg",
        "UNUSED=1",
        "--target",
        "base",
        dir.to_str().unwrap(),
    ]);
    assert!(
        o.contains("[Warning] One or more build-args [UNUSED] were not consumed\n"),
        "{o}"
    );
    assert!(
        o.contains("Step 3/3 : RUN echo \"$GREETING\" > /greeting\n"),
        "{o}"
    );

    // a context tar on stdin, the Dockerfile named inside it
    std::fs::write(
        dir.join("Other.dockerfile"),
        "FROM busybox\nCOPY data /d/\nRUN cat /d/f.txt\n",
    )
    .unwrap();
    let tar = tar_of(&dir);
    let o = s.run_stdin(
        &["build", "-f", "Other.dockerfile", "-t", "fromtar", "-"],
        &std::fs::read(&tar).unwrap(),
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert!(o.stdout.contains("\ndata"), "{}", o.stdout);

    // a bare Dockerfile on stdin: an empty context
    let o = s.run_stdin(
        &["build", "-t", "bare", "-"],
        b"FROM busybox\nRUN <<EOF\necho heredoc > /h\nEOF\nCMD [\"true\"]\nONBUILD RUN echo triggered > /t\n",
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert_eq!(s.inspect("bare")["Config"]["Cmd"][0], "true");
    // its ONBUILD trigger runs when it is used as a base, and is not inherited
    let o = s.run_stdin(&["build", "-t", "child", "-"], b"FROM bare\n");
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert!(
        o.stdout
            .contains("# Executing 1 build trigger\n ---> Running in "),
        "{}",
        o.stdout
    );
    assert_eq!(s.ok(&["run", "--rm", "child", "cat", "/t"]), "triggered\n");
    assert_eq!(s.ok(&["run", "--rm", "child", "cat", "/h"]), "heredoc\n");
    assert!(s.inspect("child")["Config"]["OnBuild"].is_null());
    no_containers(&s, None);
}

/// The docker CLI's other ways of sending a context: `-f` outside it (the CLI adds the
/// Dockerfile under a random name, in a tar without its end blocks), `--compress`, a Dockerfile
/// on stdin; `-q` and `--iidfile` through `POST /build`.
#[test]
fn docker_cli_contexts_quiet_and_iidfile() {
    let s = bb_store();
    let d = Daemon::start(&s);
    let top = context(
        &s,
        "ext",
        &[
            ("Dockerfile.ext", "FROM busybox\nCOPY f /f\nRUN cat /f\n"),
            ("ctx/f", "content\n"),
        ],
    );
    let df = top.join("Dockerfile.ext");
    let ctx = top.join("ctx");
    let iid = s.scratch().join("iid");
    for extra in [&[][..], &["--compress"][..]] {
        let mut args = vec![
            "build",
            "-q",
            "--iidfile",
            iid.to_str().unwrap(),
            "-f",
            df.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.push(ctx.to_str().unwrap());
        let out = d.ok(&args);
        let id = out.trim();
        assert!(
            id.starts_with("sha256:") && out.lines().count() == 1,
            "{out}"
        );
        // with -q the CLI writes the stream text, newline included, as it does against dockerd
        assert_eq!(std::fs::read_to_string(&iid).unwrap(), format!("{id}\n"));
    }
    let mut c = d.docker_cmd(&["build", "-t", "fromstdin", "-"]);
    c.current_dir(s.scratch());
    let o = e2e::run_with_stdin(c, b"FROM busybox\nRUN echo from-stdin\n");
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert!(o.stdout.contains("\nfrom-stdin\n"), "{}", o.stdout);
    no_containers(&s, Some(&d));
}

/// A base image missing from the store is pulled, as the classic builder does; `--pull` pulls
/// one that is present.
#[test]
fn a_missing_base_is_pulled_and_pull_refreshes_a_present_one() {
    let s = bb_store();
    let reg = e2e::registry::Registry::start();
    let remote = format!("{}/bb:1", reg.host());
    s.ok(&["tag", "busybox", &remote]);
    s.ok(&["push", &remote]);
    s.ok(&["rmi", &remote]);
    assert_ne!(s.run(&["inspect", &remote]).status, 0);
    let dir = context(
        &s,
        "pull",
        &[("Dockerfile", &format!("FROM {remote}\nRUN echo built\n"))],
    );
    let out = s.ok(&["build", "-t", "pulled", dir.to_str().unwrap()]);
    assert!(out.contains("1: Pulling from bb\n"), "{out}");
    assert!(out.contains("\nbuilt\n"), "{out}");
    assert_eq!(s.image_id(&remote), s.image_id("busybox"));
    let mark = reg.mark();
    let out = s.ok(&["build", "--pull", "-t", "pulled", dir.to_str().unwrap()]);
    assert!(out.contains("1: Pulling from bb\n"), "{out}");
    assert!(out.contains(" ---> Using cache\n"), "{out}");
    assert!(
        reg.requests_since(mark)
            .iter()
            .any(|r| r.contains("/v2/bb/manifests/1")),
        "{:?}",
        reg.requests_since(mark)
    );
    no_containers(&s, None);
    // The dashboard's build pulls a missing base as well.
    s.ok(&["rmi", &remote]);
    let d = Daemon::start(&s);
    let tar = std::fs::read(tar_of(&dir)).unwrap();
    let (status, _, body) = e2e::http(
        d.port,
        "POST",
        "/api/build?t=from-the-page",
        "X-Strata-Request: 1\r\nContent-Type: application/x-tar\r\n",
        &tar,
    )
    .unwrap();
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("1: Pulling from bb"), "{body}");
    assert!(!body.contains("\"error\":\""), "{body}");
    assert_eq!(s.image_id(&remote), s.image_id("busybox"));
    assert_eq!(s.image_id("from-the-page"), s.image_id("pulled"));
    no_containers(&s, Some(&d));
}

/// `RUN` gets Docker's default network (the bridge: `eth0` beside `lo`) unless `--network`
/// says otherwise; `none` leaves only the loopback device.
#[test]
fn run_steps_get_the_bridge_unless_network_says_otherwise() {
    let s = bb_store();
    let dir = context(
        &s,
        "net",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN cut -d: -f1 /proc/net/dev | grep -v '|' | tr -d ' ' | sort | tr '\\n' ' ' > /devs\n",
        )],
    );
    let dir = dir.to_str().unwrap();
    s.ok(&["build", "-q", "--no-cache", "-t", "net-default", dir]);
    s.ok(&[
        "build",
        "-q",
        "--no-cache",
        "--network",
        "none",
        "-t",
        "net-none",
        dir,
    ]);
    let devs = |img: &str| s.ok(&["run", "--rm", "--network", "none", img, "cat", "/devs"]);
    assert_eq!(devs("net-default").trim(), "eth0 lo");
    assert_eq!(devs("net-none").trim(), "lo");
    no_containers(&s, None);
}

/// A `RUN` heredoc that starts with `#!` runs as a file (its interpreter reads it, `$0` is
/// its path), as BuildKit runs it; one without is the shell's script. Neither file is left
/// in the image or on the host.
#[test]
fn a_shebang_heredoc_runs_as_a_file() {
    let s = bb_store();
    let dir = context(
        &s,
        "heredoc",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN <<EOF\n#!/bin/sh\necho \"file $0\" > /out\nEOF\nRUN <<EOF\necho \"shell $0\" >> /out\nEOF\n",
        )],
    );
    s.ok(&["build", "-q", "-t", "heredoc", dir.to_str().unwrap()]);
    let out = s.ok(&["run", "--rm", "--network", "none", "heredoc", "cat", "/out"]);
    assert_eq!(out, "file /dev/pipes/EOF\nshell /bin/sh\n");
    let changes = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "heredoc",
        "sh",
        "-c",
        "ls -a /dev/pipes 2>&1; ls /",
    ]);
    assert!(changes.contains("No such file"), "{changes}");
    no_containers(&s, None);
}

/// The merged view of an image as `path → kind` (`strata tree`'s columns).
fn kinds(s: &Store, image: &str) -> std::collections::BTreeMap<String, String> {
    s.ok(&["tree", image])
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split_whitespace().skip(1);
            Some((cols.next()?.to_string(), cols.next()?.to_string()))
        })
        .collect()
}

/// `kinds` without the busybox applets (wherever copied), for a failure's message.
fn brief(k: &std::collections::BTreeMap<String, String>) -> Vec<&str> {
    k.keys()
        .map(String::as_str)
        .filter(|p| !["bin/", "sbin/", "usr/"].iter().any(|d| p.contains(d)))
        .collect()
}

/// The owner of each path in an image's layers (`uid`, `gid`; the upper layer's), read from
/// the store's layer blobs.
fn layer_owners(s: &Store, image: &str) -> std::collections::BTreeMap<String, (u64, u64)> {
    let mut out = std::collections::BTreeMap::new();
    for l in s.inspect(image)["RootFS"]["Layers"].as_array().unwrap() {
        let hex = l.as_str().unwrap().trim_start_matches("sha256:");
        let f = std::fs::File::open(s.root().join("blobs/sha256").join(hex)).unwrap();
        for e in tar::Archive::new(f).entries().unwrap() {
            let e = e.unwrap();
            let path = e
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string();
            let h = e.header();
            out.insert(path, (h.uid().unwrap(), h.gid().unwrap()));
        }
    }
    out
}

/// `COPY`/`ADD` as the classic builder places its sources: a directory's contents go into
/// the destination (made when missing, whether it ends with `/` or not), a file into a
/// destination that ends with `/` or is a directory (a symlink to one followed), else to the
/// destination's own name; several sources want a destination ending with `/`; a pattern
/// matching nothing is no error beside other sources; the same for `--from` an image or a
/// stage. Missing directories above the destination are root's when a directory is copied,
/// the `--chown` owner's when a file is.
#[test]
fn copy_places_each_kind_of_source_as_docker_does() {
    let s = bb_store();
    let dir = context(
        &s,
        "places",
        &[
            (
                "Dockerfile",
                "FROM busybox AS stage
COPY conf /out/conf
FROM busybox
RUN mkdir /data && ln -s /data /lnk
COPY f.txt /existing/old
COPY conf /etc/app
COPY conf /existing
COPY conf /slash/
COPY f.txt /existing
COPY f.txt /fdir/
COPY f.txt /newname
COPY f.txt g.txt /multi/
COPY c?nf /globbed
COPY *.txt nomatch* /txts/
COPY sub /a/b/sub
ADD conf /added
COPY . /ctx
COPY g.txt /lnk
COPY sub /lnk
WORKDIR /w
COPY conf rel
COPY f.txt .
WORKDIR /lnk
COPY --from=busybox /etc /fromimg
COPY --from=busybox /etc/group /fromfile
COPY --from=stage /out /staged
COPY --from=stage /out/conf/passwd /out/conf/app.conf /stagedfiles/
COPY --chown=7:8 conf /o/p/q
COPY --chown=7:8 f.txt /r/s/f
",
            ),
            ("conf/passwd", "evil:x:0:0::/:/bin/sh\n"),
            ("conf/app.conf", "hi\n"),
            ("f.txt", "f\n"),
            ("g.txt", "g\n"),
            ("sub/inner/h.txt", "h\n"),
        ],
    );
    s.ok(&["build", "-q", "-t", "places", dir.to_str().unwrap()]);
    let k = kinds(&s, "places");
    for (path, kind) in [
        ("/etc/app", "dir"),
        ("/etc/app/passwd", "file"),
        ("/etc/app/app.conf", "file"),
        ("/existing/old", "file"),
        ("/existing/passwd", "file"),
        ("/existing/app.conf", "file"),
        ("/existing/f.txt", "file"),
        ("/slash/passwd", "file"),
        ("/fdir/f.txt", "file"),
        ("/newname", "file"),
        ("/multi/f.txt", "file"),
        ("/multi/g.txt", "file"),
        ("/globbed/passwd", "file"),
        ("/txts/f.txt", "file"),
        ("/txts/g.txt", "file"),
        ("/a/b/sub/inner/h.txt", "file"),
        ("/added/passwd", "file"),
        ("/ctx/Dockerfile", "file"),
        ("/ctx/conf/passwd", "file"),
        ("/ctx/sub/inner/h.txt", "file"),
        ("/lnk", "symlink"),
        ("/data/g.txt", "file"),
        ("/data/inner/h.txt", "file"),
        ("/w/rel/passwd", "file"),
        ("/w/f.txt", "file"),
        ("/fromimg/passwd", "file"),
        ("/fromimg/group", "file"),
        ("/fromfile", "file"),
        ("/staged/conf/passwd", "file"),
        ("/stagedfiles/passwd", "file"),
        ("/stagedfiles/app.conf", "file"),
        ("/o/p/q/passwd", "file"),
        ("/r/s/f", "file"),
    ] {
        assert_eq!(
            k.get(path).map(String::as_str),
            Some(kind),
            "{path}: {:?}",
            brief(&k)
        );
    }
    // nothing spread over the destination's parent, nor the directory itself nested
    for path in [
        "/passwd",
        "/app.conf",
        "/Dockerfile",
        "/f.txt",
        "/conf",
        "/sub",
        "/inner",
        "/etc/app.conf",
        "/etc/app/conf",
        "/existing/conf",
        "/slash/conf",
        "/globbed/conf",
        "/a/b/inner",
        "/a/b/sub/sub",
        "/added/conf",
        "/w/app.conf",
        "/w/rel/conf",
        "/fromimg/etc",
        "/staged/out",
        "/out",
        "/lnk/g.txt",
    ] {
        assert!(!k.contains_key(path), "{path}: {:?}", brief(&k));
    }
    let img = s.inspect("places");
    assert_eq!(img["Config"]["WorkingDir"], "/lnk");
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "places",
        "sh",
        "-c",
        "pwd; cat /etc/passwd /fromfile",
    ]);
    let mut want = String::from("/data\n");
    want.push_str("root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    want.push_str("root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n");
    assert_eq!(out, want);
    // owners as the layers hold them (staged as root only)
    if e2e::sh("id", &["-u"]).trim() == "0" {
        let owners = layer_owners(&s, "places");
        for (path, owner) in [
            ("o", (0, 0)),
            ("o/p", (0, 0)),
            ("o/p/q", (7, 8)),
            ("o/p/q/passwd", (7, 8)),
            ("r", (7, 8)),
            ("r/s", (7, 8)),
            ("r/s/f", (7, 8)),
        ] {
            assert_eq!(owners.get(path), Some(&owner), "{path}");
        }
    }

    // refusals: several sources into a name, a directory where a file is
    for (df, want) in [
        (
            "FROM busybox\nCOPY f.txt g.txt /nodir\n",
            "When using COPY with more than one source file, the destination must be a directory and end with a /",
        ),
        (
            "FROM busybox\nADD *.txt /nodir\n",
            "When using ADD with more than one source file, the destination must be a directory and end with a /",
        ),
        (
            "FROM busybox\nCOPY nomatch* /x/\n",
            "COPY failed: no source files were specified",
        ),
        (
            "FROM busybox\nCOPY conf /etc/passwd\n",
            "mkdir /etc/passwd: not a directory",
        ),
        (
            "FROM busybox\nCOPY f.txt /etc/passwd/\n",
            "mkdir /etc/passwd: not a directory",
        ),
    ] {
        std::fs::write(dir.join("Dockerfile"), df).unwrap();
        let (code, err) = s.fail(&["build", "-q", dir.to_str().unwrap()]);
        assert_eq!(code, 1, "{df}");
        assert!(err.contains(want), "{df}: {err}");
        assert!(!err.contains("COPY failed: When"), "{err}");
    }
    no_containers(&s, None);
}

/// A path in an image climbs no higher than its root, as Go's `filepath.Clean` cleans an
/// absolute path: `COPY --from` sources, destinations, relative ones under `WORKDIR`, and
/// `WORKDIR` itself; never the whole root instead. A path in the context that climbs out of it
/// stays refused.
#[test]
fn paths_in_an_image_stop_at_its_root_and_the_context_refuses_climbing_out() {
    let s = bb_store();
    let dir = context(
        &s,
        "climb",
        &[
            (
                "Dockerfile",
                "FROM busybox
COPY --from=busybox /../etc/passwd /x/
COPY --from=busybox /etc/../../etc/group /y
COPY --from=busybox ../../bin/../etc/passwd /z/
COPY a /../etc/x
WORKDIR /srv
COPY a ../../../../w/
WORKDIR ../../../../up
COPY a .
",
            ),
            ("a", "a\n"),
        ],
    );
    s.ok(&["build", "-q", "-t", "climb", dir.to_str().unwrap()]);
    let k = kinds(&s, "climb");
    for path in ["/x/passwd", "/y", "/z/passwd", "/etc/x", "/w/a", "/up/a"] {
        assert_eq!(
            k.get(path).map(String::as_str),
            Some("file"),
            "{path}: {:?}",
            brief(&k)
        );
    }
    for path in ["/x/etc", "/x/bin", "/z/etc", "/a", "/x/x", "/srv/a"] {
        assert!(!k.contains_key(path), "{path}: {:?}", brief(&k));
    }
    assert_eq!(s.inspect("climb")["Config"]["WorkingDir"], "/up");

    std::fs::write(s.scratch().join("secret"), "s3cret").unwrap();
    for (df, want) in [
        (
            "FROM busybox\nCOPY --from=busybox /etc/../../no-such-file /x/\n",
            "COPY failed: stat /no-such-file: file does not exist",
        ),
        (
            "FROM busybox\nCOPY ../secret /x\n",
            "COPY failed: forbidden path outside the build context: ../secret ()",
        ),
        (
            "FROM busybox\nCOPY /../secret /x\n",
            "COPY failed: forbidden path outside the build context: ../secret ()",
        ),
        (
            "FROM busybox\nADD sub/../../secret /x\n",
            "ADD failed: forbidden path outside the build context: sub/../../secret ()",
        ),
    ] {
        std::fs::write(dir.join("Dockerfile"), df).unwrap();
        let (code, err) = s.fail(&["build", "-q", dir.to_str().unwrap()]);
        assert_eq!(code, 1, "{df}");
        assert!(err.contains(want), "{df}: {err}");
    }
    no_containers(&s, None);
}
