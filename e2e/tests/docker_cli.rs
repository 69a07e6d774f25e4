//! The real docker CLI (`/usr/local/bin/docker`, API 1.50) and skopeo's `docker-daemon:`
//! transport against `strata serve`. Every step checks what the CLI printed and the state it
//! left, through a second front door: `strata --root <same dir>` run beside the server, and
//! the dashboard's `GET /api/images`.

use e2e::{busybox_rootfs, human_size, require, short, table_rows, tar_of, Daemon, Output, Store};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `strata images` (the second front door) as sorted `repo:tag id12` lines.
fn strata_images(store: &Store) -> Vec<String> {
    let out = store.ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// A store with a busybox rootfs tar ready to import; returns the tar's path.
fn setup() -> (Store, Daemon, PathBuf) {
    let store = Store::new();
    let rootfs = store.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    let tar = tar_of(&rootfs);
    let d = Daemon::start(&store);
    (store, d, tar)
}

fn import(d: &Daemon, tar: &Path, reference: &str) -> String {
    let out = d.ok(&["import", tar.to_str().unwrap(), reference]);
    let id = out.trim().to_string();
    assert!(
        id.starts_with("sha256:") && id.len() == 71 && out == format!("{id}\n"),
        "import prints the ID: {out:?}"
    );
    id
}

#[test]
fn version_info_images_tag_rmi_history_inspect_prune_df() {
    let (store, d, tar) = setup();

    let v = d.ok(&[
        "version",
        "--format",
        "{{.Server.Version}} {{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}}",
    ]);
    assert_eq!(
        v,
        format!("{} 1.50 1.22 linux\n", env!("CARGO_PKG_VERSION"))
    );
    let v = d.ok(&["version"]);
    assert!(
        v.contains("Server: Strata") && v.contains("API version:      1.50 (minimum version 1.22)"),
        "{v}"
    );

    let info = d.docker(&["info"]);
    assert_eq!(info.status, 0, "{}", info.stderr);
    assert_eq!(info.stderr, "", "docker info prints no warnings or errors");
    for line in [
        " Containers: 0\n  Running: 0\n  Paused: 0\n  Stopped: 0\n Images: 0\n",
        &format!(
            " Server Version: {}\n Storage Driver: strata\n",
            env!("CARGO_PKG_VERSION")
        ),
        " Swarm: inactive\n",
        " OSType: linux\n",
        &format!(" Docker Root Dir: {}\n", store.root().display()),
        " Experimental: false\n",
    ] {
        assert!(
            info.stdout.contains(line),
            "`docker info` lacks {line:?}:\n{}",
            info.stdout
        );
    }
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert!(
        info.stdout
            .contains(&format!(" Kernel Version: {}\n", kernel.trim())),
        "{}",
        info.stdout
    );

    // import (the CLI prints the ID) and list in every flavour
    let id = import(&d, &tar, "bb:1");
    let id12 = short(&id);
    let size = human_size(store.inspect("bb:1")["Size"].as_u64().unwrap());
    let rows = table_rows(&d.ok(&["images"]));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (
            rows[0][0].as_str(),
            rows[0][1].as_str(),
            rows[0][2].as_str()
        ),
        ("bb", "1", id12.as_str())
    );
    assert!(rows[0][3].ends_with("ago"), "{rows:?}");
    assert_eq!(rows[0][4], size);
    let out = d.ok(&["images", "-a"]);
    assert!(
        out.starts_with("REPOSITORY   TAG       IMAGE ID       CREATED"),
        "{out}"
    );
    assert_eq!(table_rows(&out).len(), 1);
    assert_eq!(d.ok(&["images", "-q"]), format!("{id12}\n"));
    let rows = table_rows(&d.ok(&["images", "--digests"]));
    assert_eq!(
        (rows[0][2].as_str(), rows[0][3].as_str()),
        ("<none>", id12.as_str())
    );
    let rows = table_rows(&d.ok(&["images", "--no-trunc"]));
    assert_eq!(rows[0][2], id);
    assert_eq!(
        d.ok(&["images", "-f", "dangling=true"]).lines().count(),
        1,
        "header only"
    );
    assert_eq!(
        d.ok(&[
            "images",
            "-f",
            "reference=bb*",
            "--format",
            "{{.Repository}}:{{.Tag}}"
        ]),
        "bb:1\n"
    );
    assert_eq!(d.ok(&["images", "-f", "reference=zz*", "-q"]), "");
    assert_eq!(
        d.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]),
        "bb:1\n"
    );
    let j: Value = serde_json::from_str(d.ok(&["images", "--format", "json"]).trim()).unwrap();
    assert_eq!(
        (
            j["Repository"].as_str(),
            j["Tag"].as_str(),
            j["ID"].as_str()
        ),
        (Some("bb"), Some("1"), Some(id12.as_str()))
    );
    assert_eq!(j["Size"], size);
    // the second front door and the dashboard see the same store
    assert_eq!(strata_images(&store), [format!("bb:1 {id12}")]);
    assert_eq!(d.api_tags(), ["bb:1"]);

    // tag
    assert_eq!(d.ok(&["tag", "bb:1", "bb:2"]), "");
    assert_eq!(
        d.ok(&["tag", id12.as_str(), "localhost:5000/team/app:v1"]),
        ""
    );
    assert_eq!(
        strata_images(&store),
        [
            format!("bb:1 {id12}"),
            format!("bb:2 {id12}"),
            format!("localhost:5000/team/app:v1 {id12}")
        ]
    );
    assert_eq!(d.api_tags(), ["bb:1", "bb:2", "localhost:5000/team/app:v1"]);
    assert_eq!(
        d.ok(&[
            "image",
            "inspect",
            "-f",
            "{{.Id}}",
            "localhost:5000/team/app:v1"
        ]),
        format!("{id}\n")
    );
    let err = d.fail(&["tag", "nope", "x:1"]);
    assert_eq!(
        err,
        "Error response from daemon: No such image: nope:latest\n"
    );

    // rmi: by ID across repositories is refused; by tag untags; -f by ID removes all
    let err = d.fail(&["rmi", id12.as_str()]);
    assert_eq!(
        err,
        format!("Error response from daemon: conflict: unable to delete {id12} (must be forced) - image is referenced in multiple repositories\n")
    );
    assert_eq!(d.ok(&["rmi", "bb:2"]), "Untagged: bb:2\n");
    assert_eq!(d.api_tags(), ["bb:1", "localhost:5000/team/app:v1"]);
    assert_eq!(
        d.fail(&["rmi", "bb:2"]),
        "Error response from daemon: No such image: bb:2\n"
    );

    // history and inspect
    let h = d.ok(&["history", "bb:1"]);
    let rows = table_rows(&h);
    assert!(h.starts_with("IMAGE          CREATED"), "{h}");
    assert_eq!(rows.len(), 1, "{h}");
    assert_eq!(rows[0][0], id12);
    assert_eq!(rows[0].last().unwrap(), "Imported from -");
    assert_eq!(
        d.ok(&["history", "--no-trunc", "-q", "bb:1"]),
        format!("{id}\n")
    );
    let ins: Value = serde_json::from_str(&d.ok(&["image", "inspect", "bb:1"])).unwrap();
    assert_eq!(ins[0]["Id"], id);
    assert_eq!(
        ins[0]["RepoTags"],
        serde_json::json!(["bb:1", "localhost:5000/team/app:v1"])
    );
    assert_eq!(
        ins[0],
        store.inspect("bb:1"),
        "docker and strata inspect agree"
    );
    let o = d.docker(&["image", "inspect", "nope"]);
    assert_eq!(
        (o.status, o.stdout.as_str(), o.stderr.as_str()),
        (
            1,
            "[]\n",
            "Error response from daemon: No such image: nope:latest\n"
        )
    );

    let out = d.ok(&["rmi", "-f", id12.as_str()]);
    // Docker's graphdriver store also prints the freed layer, by chain ID (one layer: its diff ID)
    let layer = ins[0]["RootFS"]["Layers"][0].as_str().unwrap().to_string();
    assert_eq!(out, format!("Untagged: bb:1\nUntagged: localhost:5000/team/app:v1\nDeleted: {id}\nDeleted: {layer}\n"));
    assert_eq!(strata_images(&store), Vec::<String>::new());
    assert_eq!(d.api_tags(), Vec::<String>::new());

    // prune: an untagged import dangles and goes; a tagged one stays
    let kept = import(&d, &tar, "bb:1");
    let out = d.ok(&["import", "-m", "second", tar.to_str().unwrap()]);
    let dangling = out.trim().to_string();
    assert_ne!(
        dangling, kept,
        "a different message makes a different config"
    );
    assert_eq!(
        d.ok(&["images", "-f", "dangling=true", "-q", "--no-trunc"]),
        format!("{dangling}\n")
    );
    let out = d.ok(&["image", "prune", "-f"]);
    assert!(
        out.starts_with(&format!(
            "Deleted Images:\ndeleted: {dangling}\n\nTotal reclaimed space: "
        )),
        "{out}"
    );
    assert_eq!(
        d.ok(&["images", "-q", "-a", "--no-trunc"]),
        format!("{kept}\n")
    );
    assert_eq!(
        d.ok(&["image", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );

    // system df
    let df = d.ok(&["system", "df"]);
    let rows = table_rows(&df);
    // the image's size, with `system df`'s 4 significant digits
    let size = human_size4(store.inspect("bb:1")["Size"].as_u64().unwrap());
    assert_eq!(
        rows[0],
        ["Images", "1", "0", size.as_str(), &format!("{size} (100%)")],
        "{df}"
    );
    assert_eq!(rows[1], ["Containers", "0", "0", "0B", "0B"], "{df}");
    let dfv = d.ok(&["system", "df", "-v"]);
    assert!(
        dfv.starts_with("Images space usage:\n\nREPOSITORY   TAG       IMAGE ID       CREATED"),
        "{dfv}"
    );
    let line = dfv.lines().nth(3).unwrap();
    assert!(
        line.starts_with(&format!("bb           1         {}", short(&kept)))
            && line.ends_with(" 0"),
        "{dfv}"
    );
    let api = d.api("/api/disk-usage");
    assert_eq!(api["images"][0]["id"], kept);
}

#[test]
fn save_load_and_skopeo_docker_daemon_transport() {
    require("skopeo");
    let (store, d, tar) = setup();
    let id = import(&d, &tar, "bb:1");
    d.ok(&["tag", "bb:1", "bb:2"]);
    let scratch = store.scratch();

    // save -o: a Docker 25+ archive with manifest.json and both tags
    let archive = scratch.join("bb.tar");
    assert_eq!(
        d.ok(&["save", "-o", archive.to_str().unwrap(), "bb:1", "bb:2"]),
        ""
    );
    let names = e2e::sh("tar", &["tf", archive.to_str().unwrap()]);
    for n in [
        "manifest.json",
        "index.json",
        "oci-layout",
        "repositories",
        &format!("blobs/sha256/{}", &id[7..]),
    ] {
        assert!(
            names.lines().any(|l| l == n),
            "{n} missing from the archive:\n{names}"
        );
    }
    let manifest: Value = serde_json::from_str(&e2e::sh(
        "tar",
        &["xOf", archive.to_str().unwrap(), "manifest.json"],
    ))
    .unwrap();
    assert_eq!(manifest[0]["RepoTags"], serde_json::json!(["bb:1", "bb:2"]));
    // stdout: the same bytes as -o
    let streamed = d.ok_bytes(&["save", "bb:1", "bb:2"]);
    assert!(
        streamed == std::fs::read(&archive).unwrap(),
        "save to stdout and to -o differ"
    );
    let err = d.fail(&[
        "save",
        "-o",
        scratch.join("x.tar").to_str().unwrap(),
        "nope",
    ]);
    assert_eq!(
        err,
        "Error response from daemon: No such image: nope:latest\n"
    );

    // load -i after removing everything
    d.ok(&["rmi", "bb:1", "bb:2"]);
    assert_eq!(strata_images(&store), Vec::<String>::new());
    assert_eq!(
        d.ok(&["load", "-i", archive.to_str().unwrap()]),
        "Loaded image: bb:1\nLoaded image: bb:2\n"
    );
    assert_eq!(
        strata_images(&store),
        [
            format!("bb:1 {}", short(&id)),
            format!("bb:2 {}", short(&id))
        ]
    );
    assert_eq!(d.api_tags(), ["bb:1", "bb:2"]);
    // load from stdin; a broken archive fails with the daemon's message
    assert_eq!(
        d.ok_stdin(&["load"], std::fs::read(&archive).unwrap()),
        "Loaded image: bb:1\nLoaded image: bb:2\n"
    );
    let bad = scratch.join("bad.tar");
    std::fs::write(&bad, b"this is not a tar archive").unwrap();
    let o = d.docker(&["load", "-i", bad.to_str().unwrap()]);
    assert_eq!(o.status, 1, "{o:?}");
    assert!(
        o.stderr.trim().len() > 10 && !o.stderr.contains("page not found"),
        "{o:?}"
    );

    // skopeo's docker-daemon: transport reads /images/get and writes /images/load. skopeo 1.9
    // ignores DOCKER_HOST and pins /v1.22/, so the host is also given as a flag (http:// for
    // plain HTTP over TCP).
    let host = format!("http://127.0.0.1:{}", d.port);
    let oci = scratch.join("oci");
    let skopeo = |args: &[&str]| {
        let out = Command::new("skopeo")
            .args(args)
            .env("DOCKER_HOST", d.host())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    skopeo(&[
        "copy",
        "--src-daemon-host",
        &host,
        "docker-daemon:bb:1",
        &format!("oci:{}:bb", oci.display()),
    ]);
    let index: Value =
        serde_json::from_slice(&std::fs::read(oci.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "bb"
    );
    skopeo(&[
        "copy",
        "--dest-daemon-host",
        &host,
        &format!("oci:{}:bb", oci.display()),
        "docker-daemon:bb:copy",
    ]);
    let copy = store.inspect("bb:copy");
    assert_eq!(
        copy["RootFS"]["Layers"],
        store.inspect("bb:1")["RootFS"]["Layers"],
        "the same layer came back"
    );
    assert_eq!(d.api_tags(), ["bb:1", "bb:2", "bb:copy"]);
    let rows = table_rows(&d.ok(&["images", "bb"]));
    assert_eq!(rows.len(), 3, "{rows:?}");
}

#[test]
fn containers_create_ps_cp_diff_commit_export_rm() {
    let (store, d, tar) = setup();
    let image = import(&d, &tar, "bb:1");
    let scratch = store.scratch();

    let out = d.ok(&["create", "--name", "work", "bb:1", "true"]);
    let id = out.trim().to_string();
    assert!(
        id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{out}"
    );
    // a missing image: 404, so the CLI tries to pull it (from a loopback registry nobody serves)
    let o = d.docker(&["create", "127.0.0.1:1/nope"]);
    assert_eq!(o.status, 1);
    assert!(
        o.stderr
            .starts_with("Unable to find image '127.0.0.1:1/nope:latest' locally\n"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("Error response from daemon: ") && o.stderr.contains("127.0.0.1:1"),
        "{}",
        o.stderr
    );
    let err = d.fail(&["create", "--name", "work", "bb:1", "true"]);
    assert!(
        err.contains("Conflict. The container name \"/work\" is already in use by container"),
        "{err}"
    );

    assert_eq!(d.ok(&["ps"]).lines().count(), 1, "nothing runs");
    let ps = d.ok(&["ps", "-a"]);
    assert!(
        ps.starts_with("CONTAINER ID   IMAGE     COMMAND   CREATED"),
        "{ps}"
    );
    let rows = table_rows(&ps);
    assert_eq!(rows.len(), 1, "{ps}");
    assert_eq!(&rows[0][..3], [&id[..12], "bb:1", "\"true\""], "{ps}");
    assert!(
        rows[0][3].ends_with("ago") && rows[0][4] == "Created" && rows[0][5] == "work",
        "{ps}"
    );
    assert_eq!(d.ok(&["ps", "-a", "-q", "--no-trunc"]), format!("{id}\n"));
    assert_eq!(
        d.ok(&["ps", "-a", "--format", "{{.Names}} {{.Image}} {{.State}}"]),
        "work bb:1 created\n"
    );
    let sps = store.ok(&["ps", "-a"]);
    assert!(
        sps.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with(&id[..12]) && l.ends_with("work")),
        "{sps}"
    );

    let ins: Value = serde_json::from_str(&d.ok(&["container", "inspect", "work"])).unwrap();
    assert_eq!(ins[0]["Id"], id);
    assert_eq!(ins[0]["Name"], "/work");
    assert_eq!(ins[0]["Image"], image);
    assert_eq!(ins[0]["State"]["Status"], "created");
    assert_eq!(ins[0]["Config"]["Image"], "bb:1");
    assert_eq!(
        d.ok(&[
            "container",
            "inspect",
            "-f",
            "{{.State.Running}} {{.HostConfig.NetworkMode}}",
            "work"
        ]),
        "false bridge\n"
    );
    // One builder for both front doors: the CLI's inspect is the server's, field for field
    // (the CLI's once lacked HostConfig, NetworkSettings and ~40 more fields).
    let cli: Value = serde_json::from_str(&store.ok(&["container", "inspect", "work"])).unwrap();
    assert_eq!(
        cli, ins,
        "strata container inspect and GET /containers/work/json differ"
    );
    assert_eq!(cli[0]["HostConfig"]["NetworkMode"], "bridge");
    assert!(cli[0]["NetworkSettings"].is_object(), "{cli}");
    let cli: Value = serde_json::from_str(&store.ok(&["image", "inspect", "bb:1"])).unwrap();
    let srv: Value = serde_json::from_str(&d.ok(&["image", "inspect", "bb:1"])).unwrap();
    assert_eq!(
        cli, srv,
        "strata image inspect and GET /images/bb:1/json differ"
    );
    let o = d.docker(&["container", "inspect", "nope"]);
    assert_eq!(
        (o.status, o.stdout.as_str(), o.stderr.as_str()),
        (
            1,
            "[]\n",
            "Error response from daemon: No such container: nope\n"
        )
    );

    // cp in: a file, a file into a missing directory, a tar stream from stdin
    let hello = scratch.join("hello");
    std::fs::write(&hello, "hello\n").unwrap();
    d.ok(&["cp", hello.to_str().unwrap(), "work:/etc/hello"]);
    let err = d.fail(&["cp", hello.to_str().unwrap(), "work:/usr/local/bin/hello"]);
    assert_eq!(
        err,
        "Error response from daemon: Could not find the file /usr/local/bin in container work\n"
    );
    let dir = scratch.join("in");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/a.txt"), "a\n").unwrap();
    let stream = Command::new("tar")
        .args(["-C", dir.to_str().unwrap(), "-cf", "-", "sub"])
        .output()
        .unwrap()
        .stdout;
    d.ok_stdin(&["cp", "-", "work:/tmp"], stream);
    let passwd = scratch.join("passwd");
    std::fs::write(
        &passwd,
        "root:x:0:0:root:/root:/bin/sh\ndev:x:1000:1000::/home/dev:/bin/sh\n",
    )
    .unwrap();
    d.ok(&["cp", passwd.to_str().unwrap(), "work:/etc/passwd"]);

    // cp out: a file, a directory as a tar on stdout, a symlink (kept as a link)
    let out = scratch.join("out-hello");
    d.ok(&["cp", "work:/etc/hello", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "hello\n");
    let tar_out = d.ok_bytes(&["cp", "work:/tmp", "-"]);
    let mut names: Vec<String> = tar::Archive::new(tar_out.as_slice())
        .entries()
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .unwrap()
                .display()
                .to_string()
                .trim_end_matches('/')
                .to_string()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["tmp", "tmp/sub", "tmp/sub/a.txt"]);
    let link = scratch.join("sh-link");
    d.ok(&["cp", "work:/bin/sh", link.to_str().unwrap()]);
    assert_eq!(std::fs::read_link(&link).unwrap().to_str(), Some("busybox"));
    let followed = scratch.join("sh-followed");
    d.ok(&["cp", "-L", "work:/bin/sh", followed.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(&followed).unwrap(),
        std::fs::read("/bin/busybox").unwrap()
    );
    let err = d.fail(&["cp", "work:/nope", scratch.to_str().unwrap()]);
    assert_eq!(
        err,
        "Error response from daemon: Could not find the file /nope in container work\n"
    );

    // diff, through docker and through strata beside it
    let diff = "C /etc\nA /etc/hello\nC /etc/passwd\nC /tmp\nA /tmp/sub\nA /tmp/sub/a.txt\n";
    assert_eq!(d.ok(&["diff", "work"]), diff);
    assert_eq!(store.ok(&["diff", "work"]), diff);

    // commit -m -a -c
    let out = d.ok(&[
        "commit",
        "-m",
        "add hello",
        "-a",
        "dev",
        "-c",
        "ENV GREETING=hi",
        "work",
        "bb-hello:1",
    ]);
    let new = out.trim().to_string();
    assert!(new.starts_with("sha256:") && new.len() == 71, "{out}");
    let ins = store.inspect("bb-hello:1");
    assert_eq!(ins["Id"], new);
    assert_eq!(ins["Author"], "dev");
    assert_eq!(ins["Parent"], image);
    assert_eq!(ins["Config"]["Env"], serde_json::json!(["GREETING=hi"]));
    assert_eq!(ins["RootFS"]["Layers"].as_array().unwrap().len(), 2);
    let h = table_rows(&d.ok(&["history", "bb-hello:1"]));
    assert_eq!(
        (h.len(), h[0][0].as_str(), h[0].last().unwrap().as_str()),
        (2, &short(&new)[..], "add hello")
    );
    assert_eq!(d.api_tags(), ["bb-hello:1", "bb:1"]);
    let api = d.api("/api/images/bb-hello:1");
    assert_eq!(api["layers"][0]["refcount"], 2, "{api}");
    assert_eq!(api["parent"], image);

    // export -o: the merged root
    let exported = scratch.join("work.tar");
    assert_eq!(
        d.ok(&["export", "-o", exported.to_str().unwrap(), "work"]),
        ""
    );
    let names = e2e::sh("tar", &["tf", exported.to_str().unwrap()]);
    for n in ["bin/busybox", "etc/hello", "etc/passwd", "tmp/sub/a.txt"] {
        assert!(
            names.lines().any(|l| l == n),
            "{n} missing from export:\n{names}"
        );
    }
    let passwd_out = e2e::sh("tar", &["xOf", exported.to_str().unwrap(), "etc/passwd"]);
    assert!(passwd_out.contains("dev:x:1000"), "{passwd_out}");

    // system df counts the container and its writable layer
    let rows = table_rows(&d.ok(&["system", "df"]));
    assert_eq!(&rows[1][..3], ["Containers", "1", "0"], "{rows:?}");

    // an imported image has no command: create says so as Docker does, and makes nothing
    let o = d.docker(&["create", "--name", "nocmd", "bb:1"]);
    assert_eq!(
        (o.status, o.stderr.as_str()),
        (1, "Error response from daemon: No command specified\n")
    );
    assert_eq!(
        d.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]),
        "work Created\n"
    );

    // rm
    assert_eq!(d.ok(&["rm", "work"]), "work\n");
    assert_eq!(d.ok(&["ps", "-a", "-q"]), "");
    assert_eq!(
        store.ok(&["ps", "-a"]).lines().count(),
        1,
        "strata sees it gone too"
    );
    assert_eq!(
        d.fail(&["rm", "work"]),
        "Error response from daemon: No such container: work\n"
    );
    assert_eq!(
        d.ok(&["rm", "-f", "work"]),
        "",
        "rm -f ignores a missing container"
    );
}

/// An upload the server refuses before reading it (`docker cp` into a missing container or
/// directory) gets the server's answer every time, as dockerd's does; before, the server
/// closed the connection under the CLI's writes and the CLI printed `write: broken pipe`.
#[test]
fn an_upload_refused_early_gets_the_answer_not_a_broken_pipe() {
    let (store, d, tar) = setup();
    import(&d, &tar, "bb:1");
    d.ok(&["create", "--name", "box", "bb:1", "true"]);
    // 24 MB: far more than the socket buffers hold, so the CLI is still writing when the
    // answer comes.
    let dir = store.scratch().join("upload");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..6 {
        std::fs::write(dir.join(format!("f{i}")), e2e::noise(i, 4 << 20)).unwrap();
    }
    let src = dir.to_str().unwrap();
    for _ in 0..4 {
        let o = d.docker(&["cp", src, "nosuch:/data/"]);
        assert_eq!(o.status, 1, "{}", o.stderr);
        // (the CLI may first log that its tar writer found the pipe closed, as it does
        // against dockerd)
        assert!(
            o.stderr
                .ends_with("Error response from daemon: No such container: nosuch\n")
                && !o.stderr.contains("broken pipe"),
            "the answer, not the connection's end: {}",
            o.stderr
        );
        let o = d.docker(&["cp", src, "box:/nodir/x/"]);
        assert_eq!(o.status, 1, "{}", o.stderr);
        assert!(
            o.stderr.ends_with(
                "Error response from daemon: Could not find the file /nodir in container box\n"
            ) && !o.stderr.contains("broken pipe"),
            "{}",
            o.stderr
        );
    }
    // the server goes on serving, and the container is as it was
    let o = d.docker(&["diff", "box"]);
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "");
    d.ok(&["cp", src, "box:/tmp/"]);
    let diff = d.ok(&["diff", "box"]);
    assert!(diff.contains("A /tmp/upload/f5"), "{diff}");
}

#[test]
fn events_stream_tag_and_rmi() {
    let (store, d, tar) = setup();
    let id = import(&d, &tar, "bb:1");
    let since = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs())
    .to_string();

    let mut events = d
        .docker_cmd(&["events", "--since", &since, "--format", "{{json .}}"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = events.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    d.ok(&["tag", "bb:1", "bb:ev"]);
    assert_eq!(d.ok(&["rmi", "bb:ev"]), "Untagged: bb:ev\n");
    let mut seen: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.iter().any(|e| e["Action"] == "untag") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")))
            }
            Err(_) => panic!("no untag event within 30 s; saw {seen:?}"),
        }
    }
    let _ = events.kill();
    let _ = events.wait();
    let ours: Vec<&Value> = seen
        .iter()
        .filter(|e| e["Actor"]["Attributes"]["name"] == "bb:ev")
        .collect();
    assert_eq!(ours.len(), 2, "{seen:?}");
    assert_eq!(
        (ours[0]["Type"].as_str(), ours[0]["Action"].as_str()),
        (Some("image"), Some("tag"))
    );
    assert_eq!(ours[0]["Actor"]["ID"], id);
    assert_eq!(ours[0]["scope"], "local");
    assert!(
        ours[0]["timeNano"].as_i64().unwrap() / 1_000_000_000 == ours[0]["time"].as_i64().unwrap()
    );
    assert_eq!(
        (ours[1]["Type"].as_str(), ours[1]["Action"].as_str()),
        (Some("image"), Some("untag"))
    );

    // the default format, over a closed time window (the CLI exits by itself)
    let until = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    std::thread::sleep(Duration::from_millis(1100));
    let out = d.ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        "type=image",
        "--filter",
        "event=tag",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(
        lines[0].ends_with(&format!(" image tag {id} (name=bb:ev)")),
        "{out}"
    );
    // and the state those commands left, seen by strata
    assert_eq!(strata_images(&store), [format!("bb:1 {}", short(&id))]);
}

/// One raw HTTP/1.1 request to the server with a chosen `Host` and extra headers; the status.
fn raw_status(port: u16, request_head: &str) -> u16 {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(request_head.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// `strata serve` listens on `<data dir>/strata.sock` by default, as dockerd listens on
/// `/var/run/docker.sock`: the docker CLI works unchanged over it and over TCP, while a request
/// naming another host (DNS rebinding) or carrying another origin is refused.
#[test]
fn docker_cli_over_the_default_unix_socket_and_tcp() {
    let s = Store::new();
    let rootfs = s.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    let tar = tar_of(&rootfs);
    let d = Daemon::start(&s);
    let sock = s.root().join("strata.sock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "no socket at {}", sock.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    let unix = format!("unix://{}", sock.display());
    let docker_at = |host: &str, args: &[&str]| -> String {
        let o = d
            .docker_cmd(args)
            .env("DOCKER_HOST", host)
            .stdin(Stdio::null())
            .output()
            .expect("run docker");
        assert!(
            o.status.success(),
            "`DOCKER_HOST={host} docker {}` failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let tcp = d.host();
    for host in [unix.as_str(), tcp.as_str()] {
        let v = docker_at(host, &["version", "--format", "{{.Server.APIVersion}}"]);
        assert_eq!(v.trim(), "1.50", "over {host}");
    }
    let id = docker_at(&unix, &["import", tar.to_str().unwrap(), "bb:1"]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    docker_at(&tcp, &["tag", "bb:1", "bb:2"]);
    for host in [unix.as_str(), tcp.as_str()] {
        let out = docker_at(host, &["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        let mut tags: Vec<&str> = out.lines().collect();
        tags.sort();
        assert_eq!(tags, ["bb:1", "bb:2"], "over {host}");
    }
    docker_at(&unix, &["rmi", "bb:2"]);

    // DNS rebinding and cross-origin requests are refused, and change nothing
    let port = d.port;
    let evil = format!(
        "POST /v1.50/images/bb:1/tag?repo=pwned&tag=1 HTTP/1.1\r\nHost: evil.example:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(raw_status(port, &evil), 403);
    let evil = "GET /v1.50/images/json HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_status(port, evil), 403);
    let cross = format!(
        "POST /v1.50/images/prune HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(raw_status(port, &cross), 403);
    let out = docker_at(&tcp, &["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(out.trim(), "bb:1");
}

/// moby's `directory.Size` of a tree: non-directory entries, a file with several links once.
fn docker_size(dir: &Path) -> u64 {
    fn walk(dir: &Path, seen: &mut std::collections::HashSet<u64>, total: &mut u64) {
        use std::os::unix::fs::MetadataExt;
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                walk(&p, seen, total);
            } else if seen.insert(m.ino()) {
                *total += m.len();
            }
        }
    }
    let (mut seen, mut total) = (Default::default(), 0);
    walk(dir, &mut seen, &mut total);
    total
}

/// The walk through seed 001 with the docker CLI: sizes in Docker's measure, `rmi -f` of an
/// image a stopped container uses (was HTTP 500 `FOREIGN KEY constraint failed`) and
/// `rmi -f $(docker images -qa)`, the container keeping its image ID and working, `ps -l`,
/// `ps -n N`, and `search` with nothing configured and with filters.
#[test]
fn seed_001_rmi_force_all_ps_latest_and_search() {
    let store = Store::new();
    let rootfs = store.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    let tar = tar_of(&rootfs);
    let config = store.scratch().join("strata-config");
    std::fs::create_dir_all(&config).unwrap();
    let d = Daemon::start_with_env(&store, &[("STRATA_CONFIG", config.as_os_str())]);
    let id = import(&d, &tar, "bb:1");
    d.ok(&["tag", "bb:1", "bb:2"]);

    // sizes: Docker's measure of the unpacked layer, not the tar's length
    let want = human_size(docker_size(&rootfs));
    let size = d.ok(&["images", "--format", "{{.Size}}", "bb:1"]);
    assert_eq!(size.trim(), want);
    // `system df` prints 4 significant digits (units.HumanSize) where `images` prints 3
    let df = d.ok(&["system", "df", "--format", "{{.Type}} {{.Size}}"]);
    assert_eq!(
        df.lines().next().unwrap(),
        format!("Images {}", human_size4(docker_size(&rootfs)))
    );

    d.ok(&["create", "--name", "c1", "bb:1", "true"]);
    std::thread::sleep(Duration::from_millis(1100));
    d.ok(&["create", "--name", "c2", "bb:2", "true"]);
    // ps -l / -n: the newest, of any state
    assert_eq!(d.ok(&["ps", "-l", "--format", "{{.Names}}"]), "c2\n");
    assert_eq!(d.ok(&["ps", "-n", "1", "--format", "{{.Names}}"]), "c2\n");
    assert_eq!(
        d.ok(&["ps", "-n", "5", "--format", "{{.Names}}"]),
        "c2\nc1\n"
    );
    assert_eq!(d.ok(&["ps", "--format", "{{.Names}}"]), "");
    // a removed tag: the image by ID
    d.ok(&["rmi", "bb:2"]);
    assert_eq!(
        d.ok(&["ps", "-a", "--format", "{{.Names}} {{.Image}}"]),
        format!("c2 {}\nc1 bb:1\n", short(&id))
    );

    let err = d.fail(&["rmi", "bb:1"]);
    assert!(err.contains("(must force) - container"), "{err}");
    let all = d.ok(&["images", "-qa"]);
    let mut args = vec!["rmi", "-f"];
    args.extend(all.split_whitespace());
    let out = d.ok(&args);
    assert_eq!(out, format!("Untagged: bb:1\nDeleted: {id}\n"));
    assert_eq!(d.ok(&["images", "-qa"]), "");
    assert_eq!(
        d.ok(&["ps", "-a", "--format", "{{.Names}} {{.Image}}"]),
        format!("c2 {0}\nc1 {0}\n", short(&id))
    );
    assert!(!d.ok_bytes(&["export", "c1"]).is_empty());
    d.ok(&["rm", "c1", "c2"]);
    assert_eq!(store.blobs().len(), 0, "{:?}", store.blobs());

    // search: nothing configured is said, not an empty table
    let err = d.fail(&["search", "busybox"]);
    assert!(
        err.contains("no search registry configured")
            && err.contains(&config.join("strata.toml").display().to_string()),
        "{err}"
    );
    let err = d.fail(&["search", "--filter", "is-official=maybe", "busybox"]);
    assert!(
        err.contains("invalid filter 'is-official=[maybe]'"),
        "{err}"
    );
    let err = d.fail(&["search", "--filter", "color=blue", "busybox"]);
    assert!(err.contains("invalid filter 'color'"), "{err}");
}

/// `DELETE /api/images/{name}` answers the plan its own transaction applied; a sweep that
/// fails after the commit leaves the removal done and reported (was an error), for the
/// dashboard and the docker CLI alike.
#[test]
fn dashboard_delete_reports_the_applied_plan_when_the_sweep_fails() {
    let store = Store::new();
    let rootfs = store.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    let tar = tar_of(&rootfs);
    let d = Daemon::start_with_env(
        &store,
        &[("STRATA_FAILPOINT", std::ffi::OsStr::new("fail:sweep"))],
    );
    let id = import(&d, &tar, "bb:1");
    d.ok(&["tag", "bb:1", "bb:2"]);
    let (status, _, body) = d
        .try_http_with("DELETE", "/api/images/bb:2", "X-Strata-Request: 1\r\n")
        .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let plan: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(plan["untag"].as_array().unwrap().len(), 1, "{plan}");
    assert_eq!(plan["delete_images"], serde_json::json!([]), "{plan}");
    let (status, _, body) = d
        .try_http_with("DELETE", "/api/images/bb:1", "X-Strata-Request: 1\r\n")
        .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let plan: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(plan["delete_images"], serde_json::json!([id]), "{plan}");
    assert!(plan["bytes_freed"].as_u64().unwrap() > 0, "{plan}");
    assert_eq!(d.ok(&["images", "-qa"]), "");
    let id = import(&d, &tar, "bb:3");
    let out = d.ok(&["rmi", "bb:3"]);
    assert!(
        out.starts_with(&format!("Untagged: bb:3\nDeleted: {id}\n")),
        "{out}"
    );
}

/// go-units' `HumanSize`: 4 significant digits, decimal units.
fn human_size4(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let (mut size, mut i) = (bytes as f64, 0);
    while size >= 1000.0 && i < UNITS.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    let int_digits = if size < 1.0 {
        1
    } else {
        size.log10().floor() as usize + 1
    };
    let s = format!("{:.*}", 4usize.saturating_sub(int_digits), size);
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", UNITS[i])
}

/// Issue #13 with the docker CLI against `strata serve`: the lifecycle verbs that need no
/// hijacked stream (`run -d`, `logs`, `ps`, `pause`, `stop`, `wait`, `restart`, `kill`,
/// `rm -f`) and Docker's exit code for a missing command.
#[test]
fn docker_run_detached_logs_pause_stop_wait_restart() {
    test_support::require("runc");
    let (_store, d, tar) = setup();
    import(&d, &tar, "busybox:latest");
    let id = d.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-e",
        "WHO=docker",
        "busybox",
        "sh",
        "-c",
        "echo up $WHO; echo err >&2; trap 'exit 7' TERM; while true; do sleep 0.1; done",
    ]);
    assert_eq!(id.trim().len(), 64, "{id}");
    let t = std::time::Instant::now();
    while d.ok(&["logs", "web"]) != "up docker\n" {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "no log line"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = d.docker(&["logs", "web"]);
    assert_eq!(
        (o.stdout.as_str(), o.stderr.as_str()),
        ("up docker\n", "err\n")
    );
    let ps = d.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("web Up "), "{ps}");
    d.ok(&["pause", "web"]);
    let ps = d.ok(&["ps", "--format", "{{.Status}}"]);
    assert!(ps.trim_end().ends_with("(Paused)"), "{ps}");
    d.ok(&["unpause", "web"]);
    let v: serde_json::Value = serde_json::from_str(&d.ok(&["inspect", "web"])).unwrap();
    assert_eq!(v[0]["State"]["Status"], "running");
    assert!(v[0]["State"]["Pid"].as_i64().unwrap() > 0);
    assert_eq!(d.ok(&["stop", "-t", "5", "web"]), "web\n");
    assert_eq!(d.ok(&["wait", "web"]), "7\n");
    assert!(d.ok(&["ps", "-q"]).is_empty());
    let ps = d.ok(&[
        "ps",
        "-a",
        "--filter",
        "exited=7",
        "--format",
        "{{.Names}} {{.Status}}",
    ]);
    assert!(ps.starts_with("web Exited (7) "), "{ps}");
    d.ok(&["restart", "web"]);
    let ps = d.ok(&["ps", "--format", "{{.Names}}"]);
    assert_eq!(ps, "web\n");
    d.ok(&["kill", "web"]);
    assert_eq!(d.ok(&["wait", "web"]), "137\n");
    assert_eq!(d.ok(&["rm", "-f", "web"]), "web\n");
    // A missing command: Docker's exit code and text; --rm removes what could not start.
    let o = d.docker(&["run", "-d", "--rm", "busybox", "nosuchcmd"]);
    assert_eq!(o.status, 127, "{}", o.stderr);
    assert!(
        o.stderr
            .contains(r#"exec: "nosuchcmd": executable file not found in $PATH"#),
        "{}",
        o.stderr
    );
    assert!(d.ok(&["ps", "-a", "-q"]).is_empty());
}

/// Runs docker with `input` on stdin; its output.
fn docker_with_stdin(d: &Daemon, args: &[&str], input: &[u8]) -> Output {
    e2e::run_with_stdin(d.docker_cmd(args), input)
}

/// Issue #13, attached: `docker run` attaches before it starts (the hijacked
/// `/containers/{id}/attach`), so a short process's output, stderr, exit code, stdin and
/// `--rm` all come through; a missing command gives Docker's text and 127.
#[test]
fn docker_run_attached_streams_stdin_exit_codes_and_rm() {
    test_support::require("runc");
    let (_store, d, tar) = setup();
    import(&d, &tar, "busybox:latest");
    let o = d.docker(&["run", "--rm", "busybox", "echo", "hi"]);
    assert_eq!((o.status, o.stdout.as_str()), (0, "hi\n"), "{}", o.stderr);
    assert_eq!(d.ok(&["ps", "-a", "-q"]), "", "--rm leaves no container");
    let o = d.docker(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(
        (o.status, o.stdout.as_str(), o.stderr.as_str()),
        (3, "out\n", "err\n")
    );
    // stdin piped through the hijacked connection; its end closes the container's stdin
    let o = docker_with_stdin(&d, &["run", "-i", "--rm", "busybox", "cat"], b"one\ntwo\n");
    assert_eq!(
        (o.status, o.stdout.as_str()),
        (0, "one\ntwo\n"),
        "{}",
        o.stderr
    );
    let o = d.docker(&["run", "--rm", "busybox", "nosuchcmd"]);
    assert_eq!(o.status, 127, "{}", o.stderr);
    assert!(
        o.stderr.starts_with("docker: Error response from daemon: ")
            && o.stderr
                .contains(r#"exec: "nosuchcmd": executable file not found in $PATH"#),
        "{}",
        o.stderr
    );
    assert_eq!(
        d.ok(&["ps", "-a", "-q"]),
        "",
        "a --rm that cannot start is gone"
    );
    // without --rm the container stays, exited with its code
    let o = d.docker(&["run", "--name", "kept", "busybox", "sh", "-c", "exit 4"]);
    assert_eq!(o.status, 4, "{}", o.stderr);
    let ps = d.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("kept Exited (4) "), "{ps}");
}

/// Issue #13: `logs -f` follows until the container stops, `stop -t` + `wait`, `top`,
/// `exec` (files, exit codes, a missing command), `rm -f` of a running container, `rename`,
/// `container prune`, and the events of all that.
#[test]
fn docker_logs_follow_exec_top_prune_and_events() {
    test_support::require("runc");
    let (_store, d, tar) = setup();
    import(&d, &tar, "busybox:latest");
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    d.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "busybox",
        "sh",
        "-c",
        "echo up; trap 'echo bye; exit 7' TERM; while true; do sleep 0.1; done",
    ]);
    let mut follow = d
        .docker_cmd(&["logs", "-f", "web"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = follow.stdout.take().unwrap();
    let mut first = [0u8; 3];
    out.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"up\n", "logs -f shows what is there");
    // exec: a file written by one exec is read by the next; exit codes come back
    assert_eq!(
        d.ok(&["exec", "web", "sh", "-c", "echo inside > /tmp/x"]),
        ""
    );
    assert_eq!(d.ok(&["exec", "web", "cat", "/tmp/x"]), "inside\n");
    let o = d.docker(&["exec", "web", "sh", "-c", "echo e >&2; exit 5"]);
    assert_eq!((o.status, o.stderr.as_str()), (5, "e\n"));
    // An exec that cannot start is 126, whatever the cause, as dockerd 20.10 answers it: its
    // words on the stream's stdout, the runtime's own report never shown, a user the
    // container does not know told the same way (not refused before the stream).
    let o = d.docker(&["exec", "web", "nosuchcmd"]);
    assert_eq!((o.status, o.stderr.as_str()), (126, ""), "{}", o.stdout);
    assert_eq!(
        o.stdout,
        "OCI runtime exec failed: exec failed: unable to start container process: exec: \"nosuchcmd\": executable file not found in $PATH: unknown\r\n"
    );
    let o = d.docker(&["exec", "-w", "/nonexistent", "web", "true"]);
    assert_eq!((o.status, o.stderr.as_str()), (126, ""), "{}", o.stdout);
    assert!(o.stdout.contains("chdir to cwd"), "{}", o.stdout);
    let o = d.docker(&["exec", "-u", "nosuchuser", "web", "true"]);
    assert_eq!(
        (o.status, o.stdout.as_str(), o.stderr.as_str()),
        (
            126,
            "unable to find user nosuchuser: no matching entries in passwd file\r\n",
            ""
        )
    );
    // on a terminal the same words come raw, never in a stream frame
    let (shown, code) = d.in_terminal("exec -t web nosuchcmd", &[]);
    assert_eq!(code, 126, "{shown:?}");
    assert!(
        shown.starts_with("OCI runtime exec failed: exec failed:"),
        "{shown:?}"
    );
    let o = docker_with_stdin(&d, &["exec", "-i", "web", "cat"], b"piped\n");
    assert_eq!(
        (o.status, o.stdout.as_str()),
        (0, "piped\n"),
        "{}",
        o.stderr
    );
    // top: the container's processes only
    let top = d.ok(&["top", "web"]);
    let rows = table_rows(&top);
    assert!(top.starts_with("UID "), "{top}");
    assert!(
        rows.iter().any(|r| r.last().unwrap().starts_with("sh -c")),
        "{top}"
    );
    assert!(!top.contains("strata"), "no host process: {top}");
    // stop ends the follower with the last line
    assert_eq!(d.ok(&["stop", "-t", "1", "web"]), "web\n");
    assert_eq!(d.ok(&["wait", "web"]), "7\n");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "bye\n");
    assert!(follow.wait().unwrap().success());
    let o = d.docker(&["exec", "web", "true"]);
    assert!(o.stderr.contains("is not running"), "{}", o.stderr);
    // rm -f of a running container; prune takes the stopped one
    d.ok(&["run", "-d", "--name", "busy", "busybox", "sleep", "300"]);
    assert_eq!(d.ok(&["rm", "-f", "busy"]), "busy\n");
    d.ok(&["run", "-d", "--name", "killed", "busybox", "sleep", "300"]);
    assert_eq!(d.ok(&["kill", "-s", "SIGKILL", "killed"]), "killed\n");
    assert_eq!(d.ok(&["wait", "killed"]), "137\n");
    assert_eq!(d.ok(&["rename", "killed", "gone"]), "");
    let names = d.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(names, "gone\nweb\n");
    let err = d.fail(&["rename", "gone", "web"]);
    assert!(
        err.contains(r#"Conflict. The container name "/web" is already in use by container"#),
        "{err}"
    );
    assert_eq!(d.ok(&["run", "--rm", "busybox", "true"]), "");
    let pruned = d.ok(&["container", "prune", "-f"]);
    assert!(pruned.starts_with("Deleted Containers:\n"), "{pruned}");
    assert_eq!(
        pruned.lines().filter(|l| l.len() == 64).count(),
        2,
        "{pruned}"
    );
    assert_eq!(d.ok(&["ps", "-a", "-q"]), "");
    // the events of it all
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let ev = d.ok(&[
        "events",
        "--since",
        &t0.to_string(),
        "--until",
        &until.to_string(),
        "--filter",
        "type=container",
        "--format",
        "{{.Action}}",
    ]);
    let actions: Vec<&str> = ev.lines().collect();
    for a in [
        "create",
        "start",
        "attach",
        "exec_create",
        "exec_start",
        "exec_die",
        "stop",
        "die",
        "kill",
        "destroy",
        "rename",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

/// Issue #13 through a real terminal: `docker run -it` gives a shell that sees the
/// terminal's size, detaches with ctrl-p ctrl-q (the container runs on), `docker attach`
/// joins it again, and `exit 3` is the client's exit code; `docker exec -it` too.
#[test]
fn docker_run_it_in_a_terminal_detaches_and_attaches() {
    test_support::require("runc");
    let (_store, d, tar) = setup();
    import(&d, &tar, "busybox:latest");
    let (screen, code) = d.in_terminal(
        "run -it --name shell busybox sh",
        &["echo $((6*7))\\n", "stty size\\n", "\\020\\021"],
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("\n42\n"), "{screen}");
    assert!(screen.contains("\n33 99\n"), "{screen}");
    let ps = d.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("shell Up "), "detached, still running: {ps}");
    let (screen, code) = d.in_terminal("exec -it shell sh", &["stty size\\n", "exit 6\\n"]);
    assert_eq!(code, 6, "{screen}");
    assert!(screen.contains("\n33 99\n"), "{screen}");
    let (screen, code) = d.in_terminal("attach shell", &["echo back\\n", "exit 3\\n"]);
    assert_eq!(code, 3, "{screen}");
    assert!(screen.contains("\nback\n"), "{screen}");
    let ps = d.ok(&["ps", "-a", "--format", "{{.Status}}"]);
    assert!(ps.starts_with("Exited (3)"), "{ps}");
    // the stopped shell again, its writable layer kept: `docker start -ai`
    let (screen, code) = d.in_terminal(
        "start -ai shell",
        &["echo $((6*9)) > /tmp/mark\n", "cat /tmp/mark\n", "exit 4\n"],
    );
    assert_eq!(code, 4, "{screen}");
    assert!(screen.contains("\n54\n"), "{screen}");
    assert_eq!(
        d.ok(&["diff", "shell"])
            .lines()
            .filter(|l| *l == "A /tmp/mark")
            .count(),
        1
    );
}

/// `docker start -a` of a stopped container attaches before the start, as the CLI asks it,
/// so the new run's output, stdin and exit code come through (it was refused: "unable to
/// upgrade to tcp, received 409").
#[test]
fn docker_start_attaches_to_a_stopped_containers_next_run() {
    test_support::require("runc");
    let (_store, d, tar) = setup();
    import(&d, &tar, "busybox:latest");
    let o = d.docker(&[
        "run",
        "--name",
        "twice",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo hello; exit 3",
    ]);
    assert_eq!(
        (o.status, o.stdout.as_str()),
        (3, "hello\n"),
        "{}",
        o.stderr
    );
    let o = d.docker(&["start", "-a", "twice"]);
    assert_eq!(
        (o.status, o.stdout.as_str(), o.stderr.as_str()),
        (3, "hello\n", "")
    );
    assert_eq!(d.ok(&["logs", "twice"]), "hello\nhello\n");
    let o = d.docker(&[
        "run",
        "-i",
        "--name",
        "cat",
        "--network",
        "none",
        "busybox",
        "cat",
    ]);
    assert_eq!(o.status, 0, "{}", o.stderr);
    let o = docker_with_stdin(&d, &["start", "-ai", "cat"], b"again\n");
    assert_eq!(
        (o.status, o.stdout.as_str()),
        (0, "again\n"),
        "{}",
        o.stderr
    );
}

/// Issue #13 §5 with the docker CLI: `run -d -p` publishes a port that answers a TCP
/// connection from the host, `port`, `inspect -f` of the address, `ps`'s PORTS, `-P`, the
/// default networks, and nothing of the attachment left after `rm -f`.
#[test]
fn docker_run_publishes_ports_on_the_bridge() {
    test_support::require("runc");
    let (store, d, tar) = setup();
    import(&d, &tar, "busybox:latest");
    let port = e2e::free_port();
    let id = d.ok(&[
        "run",
        "-d",
        "--name",
        "pub",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "--expose",
        "90",
        "busybox",
        "sh",
        "-c",
        "while true; do echo served | nc -l -p 80; done",
    ]);
    let id = id.trim().to_string();
    assert_eq!(
        e2e::tcp_exchange(&format!("127.0.0.1:{port}"), b"x\n"),
        "served\n"
    );
    assert_eq!(
        d.ok(&["port", "pub"]),
        format!("80/tcp -> 127.0.0.1:{port}\n")
    );
    assert_eq!(
        d.ok(&["port", "pub", "80/tcp"]),
        format!("127.0.0.1:{port}\n")
    );
    let ip = d.ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "pub"]);
    let ip = ip.trim().to_string();
    assert!(ip.starts_with("172."), "{ip}");
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.NetworkMode}} {{json .HostConfig.PortBindings}}",
            "pub"
        ]),
        format!("bridge {{\"80/tcp\":[{{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"{port}\"}}]}}\n")
    );
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.NetworkSettings.Networks.bridge.IPAddress}}",
            "pub"
        ]),
        format!("{ip}\n")
    );
    assert_eq!(
        d.ok(&["ps", "--format", "{{.Ports}}"]),
        format!("90/tcp, 127.0.0.1:{port}->80/tcp\n")
    );
    // The server and the CLI render the same inspect.
    let srv: Value = serde_json::from_str(&d.ok(&["inspect", "pub"])).unwrap();
    let cli: Value = serde_json::from_str(&store.ok(&["container", "inspect", "pub"])).unwrap();
    assert_eq!(srv[0]["NetworkSettings"], cli[0]["NetworkSettings"]);
    // -P publishes the exposed ports on free host ports.
    d.ok(&[
        "run", "-d", "--name", "all", "-P", "--expose", "8080", "busybox", "sleep", "60",
    ]);
    let all = d.ok(&["port", "all"]);
    assert!(all.starts_with("8080/tcp -> 0.0.0.0:"), "{all}");
    // ps's publish filter looks at host ports, expose at container ports (moby); the
    // server and the CLI keep the same containers.
    for (filter, kept) in [
        (format!("publish={port}"), "pub"),
        ("publish=80".to_string(), ""),
        ("publish=1-65535/tcp".to_string(), "all pub"),
        ("expose=90".to_string(), "pub"),
        ("expose=80/tcp".to_string(), "pub"),
        ("expose=8000-8100".to_string(), "all"),
        ("expose=90/udp".to_string(), ""),
    ] {
        for out in [
            d.ok(&["ps", "--filter", &filter, "--format", "{{.Names}}"]),
            store.ok(&["ps", "--filter", &filter, "--format", "{{.Names}}"]),
        ] {
            let mut names: Vec<&str> = out.lines().collect();
            names.sort();
            assert_eq!(names.join(" "), kept, "{filter}");
        }
    }
    let err = d.fail(&["ps", "--filter", "publish=80:80"]);
    assert!(
        err.contains("filter for 'publish' should not contain ':': 80:80"),
        "{err}"
    );
    let (code, err) = store.fail(&["ps", "--filter", "expose=http"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("error while looking up for expose http: strconv.ParseUint: parsing \"http\": invalid syntax"),
        "{err}"
    );
    // The default networks.
    let ls = d.ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    let mut names: Vec<&str> = ls.lines().collect();
    names.sort();
    assert_eq!(names, ["bridge bridge", "host host", "none null"]);
    let net = d.ok(&["network", "inspect", "-f", "{{len .Containers}}", "bridge"]);
    assert_eq!(net, "2\n");
    d.ok(&["rm", "-f", "pub", "all"]);
    e2e::until("the veth's end", || {
        !e2e::link_exists(&format!("veth{}", &id[..11]))
    });
    assert!(!e2e::iptables_rules().contains(&format!("{ip}:80")));
    assert!(!store.root().join("containers").join(&id).exists());
}

/// A bind whose source holds the data directory (its parent, `/`) is Docker's to allow, but
/// the store stays out of reach: the container finds an empty, read-only directory where the
/// data directory would be, and sees the rest of the source. A source swapped for a symlink
/// into the store between `create` and `start` is refused at `start`.
#[test]
fn a_bind_holding_the_data_directory_shows_it_empty() {
    test_support::require("runc");
    let (store, d, tar) = setup();
    import(&d, &tar, "busybox:latest");
    let root = std::fs::canonicalize(store.root()).unwrap();
    let parent = root.parent().unwrap();
    let name = root.file_name().unwrap().to_str().unwrap();
    let host = store.scratch().join("visible");
    std::fs::write(&host, "seen\n").unwrap();
    let host_in = |mount: &str| {
        format!(
            "{mount}/{}",
            std::fs::canonicalize(&host)
                .unwrap()
                .strip_prefix(parent)
                .map(|p| p.display().to_string())
                .unwrap()
        )
    };
    let blobs_before = store.blobs();
    let script = format!(
        "cat {seen}; ls -A /x/{name} | wc -l; echo tampered > /x/{name}/blobs/sha256/x 2>/dev/null \
         || echo refused; touch /x/{name}/new 2>/dev/null || echo refused",
        seen = host_in("/x"),
    );
    let out = d.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/x", parent.display()),
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(out, "seen\n0\nrefused\nrefused\n");
    // The whole host: the data directory is empty there too.
    let out = d.ok(&[
        "run",
        "--rm",
        "-v",
        "/:/host",
        "busybox",
        "sh",
        "-c",
        &format!("ls -A /host{} | wc -l", root.display()),
    ]);
    assert_eq!(out.trim(), "0");
    assert_eq!(store.blobs(), blobs_before);
    store.assert_blobs_hash_to_names();
    assert!(!root.join("new").exists());
    // Swapped between create and start: refused as it would be at create.
    let src = store.scratch().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let id = d.ok(&[
        "create",
        "-v",
        &format!("{}:/x", src.display()),
        "busybox",
        "ls",
        "/x",
    ]);
    std::fs::remove_dir(&src).unwrap();
    std::os::unix::fs::symlink(&root, &src).unwrap();
    let o = d.docker(&["start", "-a", id.trim()]);
    assert_ne!(o.status, 0, "{}", o.stdout);
    assert!(
        o.stderr.contains("is inside the store's data directory"),
        "{}",
        o.stderr
    );
}

/// `docker run -v`/`--mount` binds and volumes, labels, `--env-file`, `ps --filter
/// label=/ancestor=`, `inspect`'s `Mounts`, `rm -v` and the refusals (a missing source, the
/// store's own data directory).
#[test]
fn docker_run_volumes_binds_labels_env_file_and_ancestor() {
    test_support::require("runc");
    let (store, d, tar) = setup();
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    import(&d, &tar, "busybox:latest");
    let host = store.scratch().join("host");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("in"), "from host\n").unwrap();
    let hs = host.to_str().unwrap();
    // A read-write bind: the container's write lands on the host; a read-only one refuses.
    let out = d.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{hs}:/h"),
        "busybox",
        "sh",
        "-c",
        "cat /h/in; echo out > /h/out",
    ]);
    assert_eq!(out, "from host\n");
    assert_eq!(std::fs::read_to_string(host.join("out")).unwrap(), "out\n");
    let o = d.docker(&[
        "run",
        "--rm",
        "--mount",
        &format!("type=bind,source={hs},target=/h,readonly"),
        "busybox",
        "sh",
        "-c",
        "echo x > /h/ro",
    ]);
    assert_ne!(o.status, 0);
    assert!(o.stderr.contains("Read-only file system"), "{}", o.stderr);
    assert!(!host.join("ro").exists());
    // Refusals: Docker's text for a missing source; the data directory is never mounted.
    let o = d.docker(&[
        "run",
        "--rm",
        "-v",
        "/nonexistent-src:/x",
        "busybox",
        "true",
    ]);
    assert_eq!(o.status, 125);
    assert!(
        o.stderr
            .contains("bind source path does not exist: /nonexistent-src"),
        "{}",
        o.stderr
    );
    let inside = store.root().join("layers");
    let o = d.docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/x", inside.display()),
        "busybox",
        "true",
    ]);
    assert_eq!(o.status, 125, "{}", o.stderr);
    assert!(
        o.stderr.contains("is inside the store's data directory"),
        "{}",
        o.stderr
    );
    assert!(d.ok(&["ps", "-a", "-q"]).is_empty());
    // An image with a VOLUME, built on busybox: its containers get an anonymous volume.
    d.ok(&["create", "--name", "base", "busybox", "true"]);
    d.ok(&["commit", "-c", "VOLUME /vol", "base", "withvol:1"]);
    d.ok(&["rm", "base"]);
    let env_file = store.scratch().join("env.list");
    std::fs::write(&env_file, "# comment\nA=from file\n\nB=2\n").unwrap();
    let label_file = store.scratch().join("labels");
    std::fs::write(&label_file, "team=blue\n").unwrap();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "vols",
        "-l",
        "tier=web",
        "--label-file",
        label_file.to_str().unwrap(),
        "--env-file",
        env_file.to_str().unwrap(),
        "-e",
        "B=3",
        "-v",
        "/anon",
        "-v",
        &format!("{hs}:/h:ro"),
        "withvol:1",
        "sh",
        "-c",
        "echo $A $B; echo data > /vol/f; sleep 300",
    ]);
    let t = Instant::now();
    while d.ok(&["logs", "vols"]) != "from file 3\n" {
        assert!(t.elapsed() < Duration::from_secs(20), "no log line");
        std::thread::sleep(Duration::from_millis(50));
    }
    // logs --since/--until through the API.
    assert_eq!(d.ok(&["logs", "--since", "10m", "vols"]), "from file 3\n");
    assert_eq!(d.ok(&["logs", "--since", "2099-01-01", "vols"]), "");
    assert_eq!(d.ok(&["logs", "--until", "10m", "vols"]), "");
    let v: Value = serde_json::from_str(&d.ok(&["inspect", "vols"])).unwrap();
    let mounts = v[0]["Mounts"].as_array().unwrap();
    let by_dest = |dst: &str| {
        mounts
            .iter()
            .find(|m| m["Destination"] == dst)
            .unwrap_or_else(|| panic!("no mount at {dst}: {mounts:?}"))
            .clone()
    };
    let h = by_dest("/h");
    assert_eq!(
        (&h["Type"], &h["Source"], &h["RW"], &h["Mode"]),
        (
            &Value::from("bind"),
            &Value::from(hs),
            &Value::from(false),
            &Value::from("ro")
        )
    );
    let vol = by_dest("/vol");
    assert_eq!(vol["Type"], "volume");
    let vol_dir = PathBuf::from(vol["Source"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(vol_dir.join("f")).unwrap(),
        "data\n"
    );
    let anon = by_dest("/anon");
    assert_eq!(anon["Type"], "volume");
    assert_eq!(mounts.len(), 3, "{mounts:?}");
    assert_eq!(
        v[0]["HostConfig"]["Binds"],
        serde_json::json!([format!("{hs}:/h:ro")])
    );
    assert_eq!(v[0]["Config"]["Labels"]["tier"], "web");
    assert_eq!(v[0]["Config"]["Labels"]["team"], "blue");
    // ps filters: labels, and ancestor (busybox is withvol:1's parent).
    let names = |f: &[&str]| {
        let mut args = vec!["ps", "-a", "--format", "{{.Names}}"];
        for x in f {
            args.push("--filter");
            args.push(x);
        }
        d.ok(&args)
    };
    d.ok(&["create", "--name", "plain", "busybox", "true"]);
    assert_eq!(names(&["label=tier=web"]), "vols\n");
    assert_eq!(names(&["label=team"]), "vols\n");
    assert_eq!(names(&["label=tier=db"]), "");
    let mut anc: Vec<String> = names(&["ancestor=busybox"])
        .lines()
        .map(String::from)
        .collect();
    anc.sort();
    assert_eq!(anc, ["plain", "vols"]);
    assert_eq!(names(&["ancestor=withvol:1"]), "vols\n");
    // The same filters through the strata CLI on the same store.
    let ps = store.ok(&[
        "ps",
        "-a",
        "--filter",
        "ancestor=withvol:1",
        "--filter",
        "label=tier",
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(ps, "vols\n");
    // rm -v removes the anonymous volumes, never the bind's files.
    let vols_id = v[0]["Id"].as_str().unwrap().to_string();
    d.ok(&["rm", "-f", "-v", "vols"]);
    // Docker's events for rm -f of a running container: kill (SIGKILL), die, destroy.
    let ev = d.ok(&[
        "events",
        "--since",
        &t0.to_string(),
        "--until",
        &(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 1)
        .to_string(),
        "--filter",
        &format!("container={vols_id}"),
        "--format",
        "{{.Action}} {{index .Actor.Attributes \"signal\"}}",
    ]);
    let actions: Vec<&str> = ev.lines().map(str::trim_end).collect();
    assert_eq!(
        actions[actions.len() - 3..],
        ["kill 9", "die", "destroy"],
        "{ev}"
    );
    assert!(!vol_dir.exists());
    assert!(!PathBuf::from(anon["Source"].as_str().unwrap()).exists());
    assert_eq!(
        std::fs::read_to_string(host.join("in")).unwrap(),
        "from host\n"
    );
}

/// `docker stats` (`--no-stream`, and the stream's first documents through the API) from the
/// container's cgroups, and `docker update` of a running container's limits.
#[test]
fn docker_stats_and_update() {
    test_support::require("runc");
    let (_store, d, tar) = setup();
    import(&d, &tar, "busybox:latest");
    d.ok(&[
        "run",
        "-d",
        "--name",
        "hog",
        "-m",
        "64m",
        "--pids-limit",
        "50",
        "busybox",
        "sh",
        "-c",
        "sleep 300 & while true; do :; done",
    ]);
    let line = d.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}|{{.NetIO}}|{{.BlockIO}}",
        "hog",
    ]);
    let f: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(f[0], "hog", "{line}");
    let cpu: f64 = f[1].trim_end_matches('%').parse().unwrap();
    assert!(cpu > 1.0, "a busy loop uses CPU: {line}");
    assert!(f[2].ends_with(" / 64MiB"), "{line}");
    assert_eq!(f[3], "2", "{line}");
    // On the bridge (the default) the container's eth0 counts what it received and sent.
    let (rx, tx) = f[4].split_once(" / ").unwrap_or_else(|| panic!("{line}"));
    assert!(rx.ends_with('B') && tx.ends_with('B'), "{line}");
    // update changes the running container's limits, and inspect shows them.
    assert_eq!(
        d.ok(&[
            "update",
            "--memory",
            "128m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "20",
            "hog"
        ]),
        "hog\n"
    );
    let line = d.ok(&["stats", "--no-stream", "--format", "{{.MemUsage}}", "hog"]);
    assert!(line.trim().ends_with(" / 128MiB"), "{line}");
    let v: Value = serde_json::from_str(&d.ok(&["inspect", "hog"])).unwrap();
    assert_eq!(v[0]["HostConfig"]["Memory"], 128 << 20);
    assert_eq!(v[0]["HostConfig"]["NanoCpus"], 500_000_000);
    assert_eq!(v[0]["HostConfig"]["PidsLimit"], 20);
    let err = d.fail(&["update", "--memory", "1m", "hog"]);
    assert!(err.contains("Minimum memory limit allowed is 6MB"), "{err}");
    // The stream: one document a second, precpu_stats from the one before.
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        conn,
        "GET /containers/hog/stats?stream=1 HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
        d.port
    )
    .unwrap();
    let mut reader = BufReader::new(conn);
    let mut docs: Vec<Value> = Vec::new();
    let mut head = String::new();
    reader.read_line(&mut head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    while docs.len() < 2 {
        let mut l = String::new();
        assert!(reader.read_line(&mut l).unwrap() > 0, "the stream ended");
        if l.starts_with('{') {
            docs.push(serde_json::from_str(l.trim()).unwrap());
        }
    }
    assert_eq!(docs[1]["name"], "/hog");
    assert_eq!(
        docs[1]["precpu_stats"]["cpu_usage"]["total_usage"],
        docs[0]["cpu_stats"]["cpu_usage"]["total_usage"]
    );
    assert_eq!(docs[1]["pids_stats"]["limit"], 20);
    d.ok(&["rm", "-f", "hog"]);
}

/// `docker system prune` (`-f`, `--filter until=`, `-a`) against the server, and `strata system
/// prune` on the same store: stopped containers, dangling then unused images, a running
/// container and its image kept.
#[test]
fn docker_system_prune() {
    test_support::require("runc");
    let (store, d, tar) = setup();
    import(&d, &tar, "busybox:latest");
    d.ok(&["create", "--name", "base", "busybox", "true"]);
    let dangling = d.ok(&["commit", "base"]).trim().to_string();
    d.ok(&["commit", "base", "extra:1"]);
    d.ok(&["run", "--name", "done", "busybox", "true"]);
    d.ok(&["run", "-d", "--name", "live", "busybox", "sleep", "300"]);
    // until= older than everything: nothing goes.
    let out = d.ok(&["system", "prune", "-f", "--filter", "until=1h"]);
    assert_eq!(out, "Total reclaimed space: 0B\n");
    let out = d.ok(&["system", "prune", "-f"]);
    assert!(out.starts_with("Deleted Containers:\n"), "{out}");
    assert!(
        out.contains(&format!("Deleted Images:\ndeleted: {dangling}\n")),
        "{out}"
    );
    assert!(out.contains("Total reclaimed space: "), "{out}");
    let mut names: Vec<String> = d
        .ok(&["ps", "-a", "--format", "{{.Names}}"])
        .lines()
        .map(String::from)
        .collect();
    names.sort();
    assert_eq!(names, ["live"]);
    // Both images may carry the same creation second, and the list's order among equal
    // times is not defined (as dockerd's): compare the set.
    let images = d.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    let mut listed: Vec<&str> = images.lines().collect();
    listed.sort();
    assert_eq!(listed, ["busybox:latest", "extra:1"], "{images}");
    // -a: every image no container uses; busybox runs in `live`.
    let out = store.ok(&["system", "prune", "-a", "-f"]);
    assert!(
        out.contains("Deleted Images:\nuntagged: extra:1\n"),
        "{out}"
    );
    assert_eq!(
        d.ok(&["images", "--format", "{{.Repository}}"]),
        "busybox\n"
    );
    assert_eq!(d.ok(&["ps", "--format", "{{.Names}}"]), "live\n");
    d.ok(&["rm", "-f", "live"]);
}

/// Named volumes through `docker volume` and `-v name:/path`: data outlives its container,
/// a volume in use is not removed, prune takes anonymous ones (all unused with `-a`).
#[test]
fn docker_volume_verbs() {
    test_support::require("runc");
    let (_store, d, tar) = setup();
    // the events below are read from here on, however long a loaded machine takes
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    import(&d, &tar, "busybox:latest");
    assert_eq!(d.ok(&["volume", "create", "data"]), "data\n");
    d.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/d",
        "busybox",
        "sh",
        "-c",
        "echo kept > /d/f",
    ]);
    assert_eq!(
        d.ok(&[
            "run",
            "--name",
            "reader",
            "-v",
            "data:/d:ro",
            "busybox",
            "cat",
            "/d/f"
        ]),
        "kept\n"
    );
    let ls = d.ok(&["volume", "ls"]);
    assert_eq!(
        table_rows(&ls),
        [vec!["local".to_string(), "data".to_string()]],
        "{ls}"
    );
    let v: Value = serde_json::from_str(&d.ok(&["volume", "inspect", "data"])).unwrap();
    assert_eq!(v[0]["Name"], "data");
    assert_eq!(v[0]["Driver"], "local");
    let mp = v[0]["Mountpoint"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(Path::new(mp).join("f")).unwrap(),
        "kept\n"
    );
    let err = d.fail(&["volume", "rm", "data"]);
    assert!(err.contains("remove data: volume is in use"), "{err}");
    let err = d.fail(&["volume", "inspect", "nope"]);
    assert!(err.contains("no such volume"), "{err}");
    // An anonymous volume left by a container removed without -v: prune takes it, and -a
    // the named one once unused.
    d.ok(&["run", "--name", "anon", "-v", "/scratch", "busybox", "true"]);
    d.ok(&["rm", "anon", "reader"]);
    assert_eq!(d.ok(&["volume", "ls", "-q"]).lines().count(), 2);
    let out = d.ok(&["volume", "prune", "-f"]);
    assert!(out.starts_with("Deleted Volumes:\n"), "{out}");
    assert_eq!(d.ok(&["volume", "ls", "-q"]), "data\n");
    d.ok(&["volume", "prune", "-a", "-f"]);
    assert_eq!(d.ok(&["volume", "ls", "-q"]), "");
    // A volume a run makes (named or anonymous) has its `create` event, as one made by
    // `volume create` has.
    d.ok(&[
        "run",
        "--rm",
        "-v",
        "implied:/d",
        "-v",
        "/anon",
        "busybox",
        "true",
    ]);
    // `--until 0s` is now in whole seconds: let this second pass
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // this test's events, as `args` pick and print them
    let events_of_test = |args: &[&str]| {
        let mut all = vec!["events", "--since", &since, "--until", "0s"];
        all.extend_from_slice(args);
        d.ok(&all)
    };
    // its volume events of one kind, in order, as `format` prints them
    let events_as = |event: &str, format: &str| {
        let filter = format!("event={event}");
        events_of_test(&[
            "--filter",
            "type=volume",
            "--filter",
            &filter,
            "--format",
            format,
        ])
    };
    // the volumes they name
    let volume_events = |event: &str| events_as(event, "{{.Actor.ID}}");
    let events = volume_events("create");
    let created: Vec<&str> = events.lines().collect();
    assert!(
        created.contains(&"data") && created.contains(&"implied"),
        "{events}"
    );
    assert_eq!(
        created.len(),
        4,
        "data, implied and the two anonymous ones: {events}"
    );
    // and `--rm` took the anonymous one away with its `destroy` event
    let destroyed = volume_events("destroy");
    assert!(destroyed.contains(created[3]), "{destroyed}");
    assert!(!destroyed.contains("implied"), "{destroyed}");
    // every run mounted its volumes before its start and unmounted them after its end, as
    // dockerd reports them (binds have none)
    let mounts = events_as(
        "mount",
        "{{.Actor.ID}} {{index .Actor.Attributes \"destination\"}} {{index .Actor.Attributes \"read/write\"}} {{index .Actor.Attributes \"driver\"}}",
    );
    let mounts: Vec<&str> = mounts.lines().collect();
    assert_eq!(
        mounts,
        [
            "data /d true local",
            "data /d false local",
            &format!("{} /scratch true local", created[1]),
            "implied /d true local",
            &format!("{} /anon true local", created[3]),
        ],
        "{mounts:?}"
    );
    let unmounts = events_as(
        "unmount",
        "{{.Actor.ID}} {{index .Actor.Attributes \"driver\"}}",
    );
    assert_eq!(unmounts.lines().count(), 5, "{unmounts}");
    assert!(unmounts.contains("implied local"), "{unmounts}");
    // each mount before its container's start, each unmount after its die (`--filter
    // container=` picks no volume event, in dockerd either: a volume event names its
    // container in an attribute)
    let reader = events_of_test(&[
        "--filter",
        "container=reader",
        "--filter",
        "event=start",
        "--format",
        "{{.Actor.ID}}",
    ]);
    let order = events_of_test(&[
        "--format",
        "{{.Type}} {{.Action}} {{if eq .Type \"volume\"}}{{index .Actor.Attributes \"container\"}}{{else}}{{.Actor.ID}}{{end}}",
    ]);
    let lines: Vec<&str> = order
        .lines()
        .filter_map(|l| l.strip_suffix(&format!(" {}", reader.trim())))
        .collect();
    assert!(lines.len() >= 6, "{order}");
    let at = |l: &str| lines.iter().position(|x| *x == l).unwrap_or(usize::MAX);
    assert!(at("volume mount") < at("container start"), "{order}");
    assert!(at("container die") < at("volume unmount"), "{order}");
}

/// What dockerd refuses at create is refused at create, with its text, and nothing is made: an
/// image without a command and none given, a stop signal moby cannot read, a relative working
/// directory, an unknown restart policy, an environment entry without a name (the docker CLI
/// refuses `-e =x` itself, so that one also goes over the API). `docker create` exits 1 and
/// `docker run` 125, and so do `strata create` and `strata run`. Before, each was created and
/// failed at every start (or stop).
#[test]
fn create_refuses_what_docker_refuses_at_create() {
    let (store, d, tar) = setup();
    import(&d, &tar, "bb:1");
    let nothing_made = |what: &str| {
        assert_eq!(d.ok(&["ps", "-a", "-q"]), "", "{what}");
        assert_eq!(store.ok(&["ps", "-a", "-q"]), "", "{what}");
        let dirs = std::fs::read_dir(store.root().join("containers"))
            .map(|r| r.count())
            .unwrap_or(0);
        assert_eq!(dirs, 0, "{what}: a container directory was left");
    };
    let cases: [(&[&str], &[&str], &str, bool); 5] = [
        (&[], &[], "No command specified", true),
        (
            &["--stop-signal", "FOO"],
            &["true"],
            "Invalid signal: FOO",
            true,
        ),
        (
            &["--stop-signal", "0"],
            &["true"],
            "Invalid signal: 0",
            true,
        ),
        (
            &["-w", "rel"],
            &["true"],
            "the working directory 'rel' is invalid, it needs to be an absolute path",
            true,
        ),
        // the strata CLI has no --restart
        (
            &["--restart", "bogus"],
            &["true"],
            "invalid restart policy 'bogus'",
            false,
        ),
    ];
    for (flags, cmd, text, strata_too) in cases {
        for (verb, code) in [("create", 1), ("run", 125)] {
            let mut args = vec![verb, "--name", "refused"];
            args.extend_from_slice(flags);
            args.push("bb:1");
            args.extend_from_slice(cmd);
            let o = d.docker(&args);
            let want = match verb {
                "create" => format!("Error response from daemon: {text}\n"),
                _ => format!("docker: Error response from daemon: {text}\n"),
            };
            assert_eq!(o.status, code, "docker {args:?}: {}", o.stderr);
            assert!(o.stderr.starts_with(&want), "docker {args:?}: {}", o.stderr);
            nothing_made(&format!("docker {args:?}"));
            if !strata_too {
                continue;
            }
            let o = store.run(&args);
            let want = match verb {
                "create" => format!("Error response from daemon: {text}\n"),
                _ => format!(
                    "strata: Error response from daemon: {text}\nRun 'strata run --help' for more information\n"
                ),
            };
            assert_eq!(
                (o.status, o.stderr.as_str()),
                (code, want.as_str()),
                "strata {args:?}"
            );
            nothing_made(&format!("strata {args:?}"));
        }
    }
    // `-e =x`: both CLIs refuse the flag themselves (125)
    for verb in ["create", "run"] {
        let o = d.docker(&[verb, "-e", "=x", "bb:1", "true"]);
        assert_eq!(o.status, 125, "{}", o.stderr);
        assert!(
            o.stderr.contains(
                "invalid argument \"=x\" for \"-e, --env\" flag: invalid environment variable: =x"
            ),
            "{}",
            o.stderr
        );
        let o = store.run(&[verb, "-e", "=x", "bb:1", "true"]);
        assert_eq!(
            (o.status, o.stderr.as_str()),
            (
                125,
                format!(
                    "strata: invalid argument \"=x\" for \"-e, --env\" flag: invalid environment variable: =x\nSee 'strata {verb} --help'.\n"
                )
                .as_str()
            )
        );
    }
    nothing_made("-e =x");
    // the API: 400 and dockerd's texts, its configuration checks before the image's command
    for (body, text) in [
        (r#"{"Image":"bb:1"}"#, "No command specified"),
        (r#"{"Image":"bb:1","Cmd":[]}"#, "No command specified"),
        (
            r#"{"Image":"bb:1","Entrypoint":[""],"Cmd":[]}"#,
            "No command specified",
        ),
        (
            r#"{"Image":"bb:1","Cmd":["true"],"Env":["A=1","=x"]}"#,
            "invalid environment variable: =x",
        ),
        (
            r#"{"Image":"bb:1","Cmd":["true"],"Env":[""]}"#,
            "invalid environment variable: ",
        ),
        (
            r#"{"Image":"bb:1","Cmd":["true"],"StopSignal":"SIGFOO"}"#,
            "Invalid signal: SIGFOO",
        ),
        (
            r#"{"Image":"bb:1","Cmd":["true"],"StopSignal":" TERM"}"#,
            "Invalid signal:  TERM",
        ),
        (
            r#"{"Image":"bb:1","Cmd":["true"],"WorkingDir":"rel"}"#,
            "the working directory 'rel' is invalid, it needs to be an absolute path",
        ),
        (
            r#"{"Image":"bb:1","Cmd":["true"],"HostConfig":{"RestartPolicy":{"Name":"bogus"}}}"#,
            "invalid restart policy 'bogus'",
        ),
        (
            r#"{"Image":"bb:1","Cmd":["true"],"HostConfig":{"RestartPolicy":{"Name":"always","MaximumRetryCount":3}}}"#,
            "maximum retry count cannot be used with restart policy 'always'",
        ),
        (
            r#"{"Image":"bb:1","Cmd":["true"],"HostConfig":{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":-1}}}"#,
            "maximum retry count cannot be negative",
        ),
        (
            r#"{"Image":"bb:1","Env":["=x"],"WorkingDir":"rel","StopSignal":"FOO"}"#,
            "the working directory 'rel' is invalid, it needs to be an absolute path",
        ),
        (
            r#"{"Image":"bb:1","Env":["=x"],"StopSignal":"FOO"}"#,
            "Invalid signal: FOO",
        ),
        (
            r#"{"Image":"nope","HostConfig":{"RestartPolicy":{"Name":"bogus"}}}"#,
            "invalid restart policy 'bogus'",
        ),
    ] {
        let (status, reply) = e2e::http_text(
            d.port,
            "POST",
            "/v1.50/containers/create?name=refused",
            "",
            body.as_bytes(),
        );
        let reply: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(
            (status, &reply["message"]),
            (400, &Value::from(text)),
            "{body}"
        );
        nothing_made(body);
    }
    // what dockerd takes: a stop signal it can read (even a number no signal has), an
    // absolute working directory, a known policy
    d.ok(&[
        "create",
        "--name",
        "fine",
        "--stop-signal",
        "rtmin+3",
        "-w",
        "/tmp",
        "--restart",
        "on-failure:3",
        "bb:1",
        "true",
    ]);
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.Config.StopSignal}} {{.Config.WorkingDir}}",
            "fine"
        ]),
        "rtmin+3 /tmp\n"
    );
    store.ok(&[
        "create",
        "--name",
        "fine2",
        "--stop-signal",
        "99",
        "bb:1",
        "true",
    ]);
    assert_eq!(d.ok(&["rm", "fine", "fine2"]), "fine\nfine2\n");
}

/// `kill` reads its signal as moby's `ParseSignal` does, and sends only one of its table: an
/// empty signal is SIGKILL (the API's `signal=`, `strata kill -s ''`), `0` and numbers no
/// signal has are refused and the container runs on, realtime names (`RTMIN+3`,
/// `SIGRTMIN+1`) are sent.
#[test]
fn kill_reads_signals_as_docker_does() {
    test_support::require("runc");
    let (store, d, tar) = setup();
    import(&d, &tar, "busybox:latest");
    d.ok(&[
        "run",
        "-d",
        "--name",
        "sig",
        "busybox",
        "sh",
        "-c",
        "trap 'echo got 37' 37; trap 'echo got 35' 35; echo up; while true; do sleep 0.1; done",
    ]);
    e2e::until("the container's first line", || {
        d.ok(&["logs", "sig"]) == "up\n"
    });
    for (sig, text) in [
        ("0", "Invalid signal: 0"),
        ("FOO", "Invalid signal: FOO"),
        ("RTMIN+16", "Invalid signal: RTMIN+16"),
        ("32", "The linux daemon does not support signal 32"),
        ("33", "The linux daemon does not support signal 33"),
        ("65", "The linux daemon does not support signal 65"),
    ] {
        let o = d.docker(&["kill", "-s", sig, "sig"]);
        let want = format!("Error response from daemon: {text}\n");
        assert_eq!(
            (o.status, o.stderr.as_str()),
            (1, want.as_str()),
            "docker kill -s {sig}"
        );
        let o = store.run(&["kill", "-s", sig, "sig"]);
        assert_eq!(
            (o.status, o.stderr.as_str()),
            (1, want.as_str()),
            "strata kill -s {sig}"
        );
        let (status, reply) = e2e::http_text(
            d.port,
            "POST",
            &format!("/v1.50/containers/sig/kill?signal={sig}"),
            "",
            b"",
        );
        assert_eq!(status, 400, "signal={sig}: {reply}");
    }
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Status}}", "sig"]),
        "running\n"
    );
    // a signal is checked before the container is looked up, as dockerd does
    let o = d.docker(&["kill", "-s", "0", "nosuch"]);
    assert_eq!(
        (o.status, o.stderr.as_str()),
        (1, "Error response from daemon: Invalid signal: 0\n")
    );
    // realtime signals by name, from both front doors
    assert_eq!(d.ok(&["kill", "-s", "RTMIN+3", "sig"]), "sig\n");
    e2e::until("the trap of signal 37", || {
        d.ok(&["logs", "sig"]).contains("got 37\n")
    });
    assert_eq!(store.ok(&["kill", "-s", "SIGRTMIN+1", "sig"]), "sig\n");
    e2e::until("the trap of signal 35", || {
        d.ok(&["logs", "sig"]).contains("got 35\n")
    });
    // an empty signal is SIGKILL (a shell as PID 1 ignores SIGTERM)
    let status_of = || {
        d.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "sig",
        ])
    };
    let (status, reply) = e2e::http_text(
        d.port,
        "POST",
        "/v1.50/containers/sig/kill?signal=",
        "",
        b"",
    );
    assert_eq!(status, 204, "{reply}");
    e2e::until("the container killed by signal=", || {
        status_of() == "exited 137\n"
    });
    d.ok(&["start", "sig"]);
    assert_eq!(store.ok(&["kill", "-s", "", "sig"]), "sig\n");
    e2e::until("the container killed by strata kill -s ''", || {
        status_of() == "exited 137\n"
    });
    d.ok(&["rm", "sig"]);
}

/// `docker rm -f` of a running `--rm` container races the removal its monitor's clean-up
/// starts once the process is killed: whichever comes second finds the work done, and the
/// client is answered success (it failed at times with `remove …: No such file or directory`).
#[test]
fn rm_f_of_a_rm_container_succeeds_whoever_removes_it() {
    test_support::require("runc");
    let (_store, d, tar) = setup();
    import(&d, &tar, "busybox:latest");
    for i in 0..12 {
        let name = format!("gone{i}");
        d.ok(&[
            "run",
            "-d",
            "--rm",
            "--name",
            &name,
            "--network",
            "none",
            "busybox",
            "sleep",
            "60",
        ]);
        let o = d.docker(&["rm", "-f", &name]);
        assert_eq!(o.status, 0, "round {i}: {}", o.stderr);
        assert_eq!(o.stdout.trim(), name);
    }
    assert_eq!(d.ok(&["ps", "-aq"]), "");
}
