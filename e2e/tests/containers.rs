//! Issue #3 through the real CLI: containers as image + writable layer, copy-up, whiteouts,
//! opaque directories, commit, export, the union tree, and the round trip through skopeo and
//! umoci; hostile archives through `cp`.

use e2e::{busybox_rootfs, require, sh, tar_of, tree, Entry, Store};
use std::path::Path;

fn bb_store() -> (Store, std::path::PathBuf) {
    let store = Store::new();
    let rootfs = store.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    let tar = tar_of(&rootfs);
    store.ok(&["import", tar.to_str().unwrap(), "bb:1"]);
    (store, rootfs)
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

const NEW_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\ndev:x:1000:1000::/home/dev:/bin/sh\n";

#[test]
fn seed_workflow_copy_up_whiteout_commit_export_and_round_trip() {
    require("skopeo");
    require("umoci");
    let (s, rootfs) = bb_store();
    let scratch = s.scratch();
    let id = s.ok(&["create", "--name", "work", "bb:1", "true"]);
    assert_eq!(id.trim().len(), 64, "create prints the container ID: {id}");

    // add /usr/local/bin/hello (its parent directories do not exist in the image)
    let hello = scratch.join("hello");
    write(&hello, "#!/bin/sh\necho hello\n");
    let (_, err) = s.fail(&["cp", hello.to_str().unwrap(), "work:/usr/local/bin/hello"]);
    assert_eq!(
        err.trim(),
        "Error response from daemon: Could not find the file /usr/local/bin in container work"
    );
    s.ok(&["fs", "mkdir", "work", "/usr/local/bin"]);
    s.ok(&["cp", hello.to_str().unwrap(), "work:/usr/local/bin/hello"]);
    // change /etc/passwd (copy-up) and delete /bin/ls (whiteout)
    let passwd = scratch.join("passwd");
    write(&passwd, NEW_PASSWD);
    s.ok(&["cp", passwd.to_str().unwrap(), "work:/etc/passwd"]);
    s.ok(&["fs", "rm", "work", "/bin/ls"]);

    let diff = s.ok(&["diff", "work"]);
    assert_eq!(
        diff,
        "C /bin\nD /bin/ls\nC /etc\nC /etc/passwd\nC /usr\nA /usr/local\nA /usr/local/bin\nA /usr/local/bin/hello\n"
    );
    // the writable layer holds exactly the copy-up, the whiteout and the new file
    let upper = s.root().join("containers").join(id.trim()).join("upper");
    assert_eq!(
        std::fs::read_to_string(upper.join("etc/passwd")).unwrap(),
        NEW_PASSWD
    );
    assert_eq!(
        std::fs::metadata(upper.join("bin/.wh.ls")).unwrap().len(),
        0
    );
    assert!(
        !upper.join("bin/busybox").exists(),
        "only changed paths are copied up"
    );

    let ps = s.ok(&["ps", "-a"]);
    let rows: Vec<&str> = ps.lines().collect();
    assert!(rows[0].starts_with("CONTAINER ID   IMAGE"), "{ps}");
    assert!(
        rows[1].starts_with(&id.trim()[..12])
            && rows[1].contains("bb:1")
            && rows[1].contains("Created")
            && rows[1].ends_with("work"),
        "{ps}"
    );

    let new_id = s.ok(&[
        "commit",
        "-m",
        "add hello",
        "-a",
        "dev",
        "work",
        "bb-hello:1",
    ]);
    assert!(new_id.starts_with("sha256:"), "{new_id}");
    let history = s.ok(&["history", "bb-hello:1"]);
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 3, "header + two rows: {history}");
    assert!(
        lines[1].starts_with(&new_id.trim()["sha256:".len()..][..12])
            && lines[1].ends_with("add hello"),
        "{history}"
    );
    assert!(lines[2].ends_with("Imported from -"), "{history}");
    let inspect = s.inspect("bb-hello:1");
    assert_eq!(inspect["Author"], "dev");
    assert_eq!(inspect["Parent"], s.inspect("bb:1")["Id"]);
    assert_eq!(inspect["RootFS"]["Layers"].as_array().unwrap().len(), 2);

    // the union names layer 2 for /etc/passwd and shows layer 1's version as shadowed
    let t = s.ok(&["tree", "bb-hello:1", "/etc/passwd", "--shadowed"]);
    let t: Vec<&str> = t.lines().collect();
    assert!(
        t[1].starts_with("L2") && t[1].contains("/etc/passwd"),
        "{t:?}"
    );
    assert!(t[2].contains("hides L1") && t[2].contains("file"), "{t:?}");
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["tree", "--json", "bb-hello:1", "/bin/ls"])).unwrap();
    assert_eq!(
        json["paths"][0]["layer"],
        serde_json::Value::Null,
        "/bin/ls is gone: {json}"
    );
    assert_eq!(json["paths"][0]["shadowed"][0]["layer"], 1);
    let changes = s.ok(&["tree", "bb-hello:1", "--layer", "2"]);
    assert!(
        changes.contains("R /bin/ls\n")
            && changes.contains("M /etc/passwd\n")
            && changes.contains("A /usr/local/bin/hello\n"),
        "{changes}"
    );

    // export of a new container from bb-hello:1
    s.ok(&["create", "--name", "check", "bb-hello:1", "true"]);
    let exported = scratch.join("export.tar");
    s.ok(&["export", "-o", exported.to_str().unwrap(), "check"]);
    let exp_dir = scratch.join("export");
    std::fs::create_dir(&exp_dir).unwrap();
    sh(
        "tar",
        &[
            "-C",
            exp_dir.to_str().unwrap(),
            "-xf",
            exported.to_str().unwrap(),
        ],
    );
    let exp = tree(&exp_dir);
    assert!(matches!(
        exp.get("usr/local/bin/hello"),
        Some(Entry::File { .. })
    ));
    assert_eq!(
        std::fs::read_to_string(exp_dir.join("etc/passwd")).unwrap(),
        NEW_PASSWD
    );
    assert!(!exp.contains_key("bin/ls"));
    assert!(
        !exp.keys().any(|k| k.contains(".wh.")),
        "no whiteout leaks into the export"
    );
    // everything else is the original rootfs
    let orig = tree(&rootfs);
    for (k, v) in &orig {
        if k != "bin/ls" && k != "etc/passwd" {
            assert_eq!(exp.get(k), Some(v), "{k}");
        }
    }

    // save + skopeo copy + umoci unpack gives the same tree as the export
    let archive = scratch.join("bbh.tar");
    s.ok(&["save", "-o", archive.to_str().unwrap(), "bb-hello:1"]);
    let oci = scratch.join("oci");
    sh(
        "skopeo",
        &[
            "copy",
            "-q",
            &format!("docker-archive:{}", archive.display()),
            &format!("oci:{}:bbh", oci.display()),
        ],
    );
    let bundle = scratch.join("bundle");
    sh(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:bbh", oci.display()),
            bundle.to_str().unwrap(),
        ],
    );
    let unpacked = tree(&bundle.join("rootfs"));
    // umoci makes the root dir and keeps modes; compare paths, kinds and contents
    assert_eq!(
        unpacked.keys().collect::<Vec<_>>(),
        exp.keys().collect::<Vec<_>>()
    );
    for (k, v) in &exp {
        match (v, &unpacked[k]) {
            (Entry::Dir(_), Entry::Dir(_)) => {}
            (a, b) => assert_eq!(a, b, "{k}"),
        }
    }

    // rmi refuses while containers use the image; rm then frees it
    let (_, err) = s.fail(&["rmi", "bb-hello:1"]);
    assert!(err.contains("conflict: unable to remove repository reference \"bb-hello:1\" (must force) - container"), "{err}");
    assert_eq!(s.ok(&["rm", "check"]), "check\n");
    assert_eq!(s.ok(&["rm", "work"]), "work\n");
    s.ok(&["rmi", "bb-hello:1"]);
    assert!(!s.root().join("containers").join(id.trim()).exists());
}

#[test]
fn replacing_a_lower_directory_writes_an_opaque_marker() {
    let (s, _) = bb_store();
    let id = s.ok(&["create", "--name", "op", "bb:1", "true"]);
    s.ok(&["fs", "rm", "op", "/etc"]);
    s.ok(&["fs", "mkdir", "op", "/etc"]);
    let upper = s.root().join("containers").join(id.trim()).join("upper");
    assert!(
        upper.join("etc/.wh..wh..opq").exists(),
        "opaque marker written"
    );
    assert!(
        !upper.join(".wh.etc").exists(),
        "whiteout replaced by the opaque directory"
    );
    let diff = s.ok(&["diff", "op"]);
    assert_eq!(diff, "C /etc\n");
    // the merged view shows an empty /etc
    let out = s.ok(&["tree", "op", "/etc"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[1].starts_with("L2") && lines[1].contains("/etc "),
        "{out}"
    );
    assert!(
        !out.contains("/etc/"),
        "no lower child shows through: {out}"
    );
    let (_, err) = s.fail(&["cp", "op:/etc/passwd", "-"]);
    assert!(
        err.contains("Could not find the file /etc/passwd in container op"),
        "{err}"
    );
}

#[test]
fn cp_out_of_a_container_and_tar_streams() {
    let (s, rootfs) = bb_store();
    s.ok(&["create", "--name", "cc", "bb:1", "true"]);
    let scratch = s.scratch();
    // a file out
    let out = scratch.join("passwd.out");
    s.ok(&["cp", "cc:/etc/passwd", out.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(rootfs.join("etc/passwd")).unwrap()
    );
    // a directory out into an existing directory
    let dir = scratch.join("outdir");
    std::fs::create_dir(&dir).unwrap();
    s.ok(&["cp", "cc:/etc", dir.to_str().unwrap()]);
    assert!(dir.join("etc/group").is_file());
    // a tar stream in with `-`
    let src = scratch.join("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    write(&src.join("d/f"), "from a tar\n");
    let tar = tar_of(&src);
    let input = std::fs::read(&tar).unwrap();
    let o = s.run_stdin(&["cp", "-", "cc:/tmp"], &input);
    assert!((o.status == 0), "{}", o.stderr);
    assert_eq!(s.ok(&["diff", "cc"]), "C /tmp\nA /tmp/d\nA /tmp/d/f\n");
}

/// A tar entry with a raw name the tar crate's builder would refuse.
fn raw_entry(
    b: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    link: Option<&str>,
    data: &[u8],
) {
    let mut h = tar::Header::new_old();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            old.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

#[test]
fn hostile_archives_into_a_container_are_refused_or_confined() {
    let (s, _) = bb_store();
    let id = s.ok(&["create", "--name", "hh", "bb:1", "true"]);
    let upper = s.root().join("containers").join(id.trim()).join("upper");
    let outside = s.scratch().join("outside");
    std::fs::create_dir(&outside).unwrap();

    // `..` climbing out: refused, nothing written
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(
        &mut b,
        "../../../../escaped",
        tar::EntryType::Regular,
        None,
        b"x",
    );
    let o = s.run_stdin(&["cp", "-", "hh:/tmp"], &b.into_inner().unwrap());
    assert_ne!(o.status, 0);
    assert!(
        o.stderr.contains("leaves the root") || o.stderr.contains(".."),
        "{}",
        o.stderr
    );
    assert_eq!(s.ok(&["diff", "hh"]), "");

    // a symlink to the outside directory, then a file through it: stays inside
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(
        &mut b,
        "evil",
        tar::EntryType::Symlink,
        Some(outside.to_str().unwrap()),
        b"",
    );
    raw_entry(&mut b, "evil/owned", tar::EntryType::Regular, None, b"x");
    let _ = s.run_stdin(&["cp", "-", "hh:/tmp"], &b.into_inner().unwrap());
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written outside the root"
    );

    // a hardlink to a host file: refused
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(
        &mut b,
        "link",
        tar::EntryType::Link,
        Some("/etc/hostname"),
        b"",
    );
    let o = s.run_stdin(&["cp", "-", "hh:/tmp"], &b.into_inner().unwrap());
    assert_ne!(o.status, 0, "{}", o.stdout);
    assert!(!upper.join("tmp/link").exists());

    // a whiteout name smuggled in through cp: refused
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(&mut b, ".wh.passwd", tar::EntryType::Regular, None, b"");
    let o = s.run_stdin(&["cp", "-", "hh:/etc"], &b.into_inner().unwrap());
    assert_ne!(o.status, 0);
    assert!(
        s.ok(&["tree", "hh", "/etc/passwd"]).contains("L1"),
        "passwd still visible"
    );

    // paths given to fs verbs cannot climb out either
    let (_, err) = s.fail(&["fs", "rm", "hh", "/../../etc/passwd"]);
    assert!(!err.is_empty());
    assert!(Path::new("/etc/passwd").exists());
}

#[test]
fn kernel_overlay_mount_and_copy_driver_show_the_union_view() {
    let (s, _) = bb_store();
    let scratch = s.scratch();
    s.ok(&["create", "--name", "mnt", "bb:1", "true"]);
    // a copy-up, a whiteout, an opaque directory and an addition
    let passwd = scratch.join("passwd");
    write(&passwd, NEW_PASSWD);
    s.ok(&["cp", passwd.to_str().unwrap(), "mnt:/etc/passwd"]);
    s.ok(&["fs", "rm", "mnt", "/bin/ls"]);
    s.ok(&["fs", "rm", "mnt", "/tmp"]);
    s.ok(&["fs", "mkdir", "mnt", "/tmp/new"]);
    s.ok(&["commit", "mnt", "layered:1"]);
    s.ok(&["create", "--name", "top", "layered:1", "true"]);
    s.ok(&["fs", "rm", "top", "/etc/group"]);

    let exported = scratch.join("top.tar");
    s.ok(&["export", "-o", exported.to_str().unwrap(), "top"]);
    let exp_dir = scratch.join("top-export");
    std::fs::create_dir(&exp_dir).unwrap();
    sh(
        "tar",
        &[
            "-C",
            exp_dir.to_str().unwrap(),
            "-xf",
            exported.to_str().unwrap(),
        ],
    );
    let want = tree(&exp_dir);
    assert!(
        !want.contains_key("etc/group")
            && !want.contains_key("bin/ls")
            && want.contains_key("tmp/new")
    );

    // the kernel's overlayfs (the test runs as root, as CI does) and the copy driver agree
    let is_root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap();
    assert!(is_root, "this test needs root for the overlay driver");
    for driver in ["overlay", "copy"] {
        let dir = s.ok(&["mount", "--driver", driver, "top"]);
        let dir = Path::new(dir.trim());
        if driver == "overlay" {
            let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
            assert!(
                mounts
                    .lines()
                    .any(|l| l.starts_with("overlay ") && l.contains(dir.to_str().unwrap())),
                "overlay is mounted"
            );
        }
        assert_eq!(tree(dir), want, "{driver} driver shows the union view");
        s.ok(&["umount", "top"]);
        assert!(!dir.exists());
    }
    s.ok(&["rm", "top"]);
}

/// `strata image diff A B`: what two images built on one base differ in, as `docker diff`
/// marks paths, and in JSON with the shared base.
#[test]
fn image_diff_lists_what_two_images_on_one_base_differ_in() {
    let (s, _) = bb_store();
    let scratch = s.scratch();
    // app:1 adds /etc/app.conf; app:2 changes it, removes /bin/ls and adds /srv
    s.ok(&["create", "--name", "one", "bb:1", "true"]);
    write(&scratch.join("conf"), "port=80\n");
    s.ok(&[
        "cp",
        scratch.join("conf").to_str().unwrap(),
        "one:/etc/app.conf",
    ]);
    s.ok(&["commit", "one", "app:1"]);
    s.ok(&["create", "--name", "two", "bb:1", "true"]);
    write(&scratch.join("conf"), "port=8080\n");
    s.ok(&[
        "cp",
        scratch.join("conf").to_str().unwrap(),
        "two:/etc/app.conf",
    ]);
    s.ok(&["fs", "rm", "two", "/bin/ls"]);
    s.ok(&["fs", "mkdir", "two", "/srv"]);
    s.ok(&["commit", "two", "app:2"]);
    let out = s
        .run(&["image", "diff", "app:1", "app:2"])
        .expect_ok("image diff");
    assert_eq!(out, "D /bin/ls\nC /etc/app.conf\nA /srv\n");
    let o = s.run(&["image", "diff", "app:1", "app:2"]);
    assert_eq!(o.stderr, "app:1 and app:2 share their first 1 layer\n");
    let what = s.ok(&["image", "diff", "--what", "app:1", "app:2"]);
    assert!(what.contains("C /etc/app.conf\tcontent\n"), "{what}");
    // the other way round, every letter turns; an image against itself, nothing
    assert_eq!(
        s.ok(&["image", "diff", "app:2", "app:1"]),
        "A /bin/ls\nC /etc/app.conf\nD /srv\n"
    );
    assert_eq!(s.ok(&["image", "diff", "app:2", "app:2"]), "");
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["image", "diff", "--json", "app:1", "app:2"])).unwrap();
    assert_eq!(json["shared_layers"], 1);
    assert_eq!(
        (&json["added"], &json["removed"], &json["changed"]),
        (
            &serde_json::json!(1),
            &serde_json::json!(1),
            &serde_json::json!(1)
        )
    );
    assert_eq!(json["a"], s.image_id("app:1"));
    // an unknown image is Docker's error and exit code
    let (code, err) = s.fail(&["image", "diff", "app:1", "nope:1"]);
    assert_eq!(code, 1);
    assert!(err.contains("No such image: nope:1"), "{err}");
}

/// The names (directories with a trailing `/`, symlinks as `name -> target`) of a tar.
fn tar_listing(tar: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            match e.header().entry_type() {
                tar::EntryType::Symlink => {
                    format!("{name} -> {}", e.link_name().unwrap().unwrap().display())
                }
                _ => name,
            }
        })
        .collect()
}

/// `strata cp … CONTAINER:PATH` refused by the engine (the destination is no directory, or
/// is missing) reports Docker's error and exits 1, whatever the size of what was being
/// packed: the packer thread's write into the closed pipe is an error, never a SIGPIPE that
/// kills the process (exit 141, no text).
#[test]
fn cp_into_a_refused_destination_reports_the_error_instead_of_dying_of_sigpipe() {
    let (s, _) = bb_store();
    s.ok(&["create", "--name", "box", "bb:1", "true"]);
    let scratch = s.scratch();
    // far more than a pipe holds, so the packer is still writing when the engine refuses
    let payload = scratch.join("payload");
    std::fs::write(&payload, e2e::noise(7, 1 << 20)).unwrap();
    let dir = scratch.join("tree");
    for i in 0..8 {
        std::fs::create_dir_all(dir.join(format!("d{i}"))).unwrap();
        std::fs::write(dir.join(format!("d{i}/f")), e2e::noise(i, 256 << 10)).unwrap();
    }
    for src in [&payload, &dir] {
        let src = src.to_str().unwrap();
        let o = s.run(&["cp", src, "box:/etc/passwd/x"]);
        assert_eq!(o.status, 1, "cp {src}: {o:?}");
        assert!(
            o.stderr
                .contains("Error response from daemon: extraction point is not a directory"),
            "{}",
            o.stderr
        );
        let o = s.run(&["cp", src, "box:/nope/x"]);
        assert_eq!(o.status, 1, "cp {src}: {o:?}");
        assert!(
            o.stderr
                .contains("Could not find the file /nope in container box"),
            "{}",
            o.stderr
        );
    }
    assert_eq!(s.ok(&["diff", "box"]), "", "nothing written");
}

/// `cp` resolves a container path as Docker does (moby's `FollowSymlinkInScope`): every
/// symlink on the way is followed inside the container's root (absolute targets and `..`
/// clamped to it), the last component of a source only with a trailing `/`; what a tar
/// streamed in names goes where a layer applied on top would put it, and never replaces
/// the image's symlinked directory.
#[test]
fn cp_follows_symlinked_directories_inside_the_container_root() {
    let s = Store::new();
    let scratch = s.scratch();
    let rootfs = scratch.join("rootfs");
    busybox_rootfs(&rootfs);
    std::fs::create_dir(rootfs.join("run")).unwrap();
    write(&rootfs.join("run/app.pid"), "42\n");
    std::os::unix::fs::symlink("/run", rootfs.join("var/run")).unwrap();
    std::os::unix::fs::symlink("/etc", rootfs.join("hostetc")).unwrap();
    std::os::unix::fs::symlink("../../../../../../..", rootfs.join("var/up")).unwrap();
    let tar = tar_of(&rootfs);
    s.ok(&["import", tar.to_str().unwrap(), "bb:1"]);
    s.ok(&["create", "--name", "box", "bb:1", "true"]);
    let container_passwd = std::fs::read(rootfs.join("etc/passwd")).unwrap();

    // out: through the symlink, and through ones that point at / or climb above it
    let out = scratch.join("app.pid");
    s.ok(&["cp", "box:/var/run/app.pid", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "42\n");
    for src in ["box:/hostetc/passwd", "box:/var/up/etc/passwd"] {
        let out = scratch.join("passwd.out");
        s.ok(&["cp", src, out.to_str().unwrap()]);
        assert_eq!(std::fs::read(&out).unwrap(), container_passwd, "{src}");
    }
    // the last component: the link itself, or with `/` what it points to (named as asked)
    let raw = |args: &[&str]| s.command(args).output().unwrap().stdout;
    assert_eq!(
        tar_listing(&raw(&["cp", "box:/var/run", "-"])),
        ["run -> /run"]
    );
    assert_eq!(
        tar_listing(&raw(&["cp", "box:/var/run/", "-"])),
        ["run/", "run/app.pid"]
    );

    // in: a file to a new name under the link, into the link (a directory), a tar into the
    // link, a tar into / naming var/run/y
    let new_pid = scratch.join("new.pid");
    write(&new_pid, "7\n");
    s.ok(&["cp", new_pid.to_str().unwrap(), "box:/var/run/new.pid"]);
    let other = scratch.join("other.pid");
    write(&other, "8\n");
    s.ok(&["cp", other.to_str().unwrap(), "box:/var/run"]);
    let t = scratch.join("t");
    std::fs::create_dir(&t).unwrap();
    write(&t.join("x"), "x\n");
    let mut b = tar::Builder::new(Vec::new());
    b.append_path_with_name(t.join("x"), "x").unwrap();
    let o = s.run_stdin(&["cp", "-", "box:/var/run"], &b.into_inner().unwrap());
    assert_eq!(o.status, 0, "{}", o.stderr);
    let mut b = tar::Builder::new(Vec::new());
    b.append_path_with_name(t.join("x"), "var/run/y").unwrap();
    let o = s.run_stdin(&["cp", "-", "box:/"], &b.into_inner().unwrap());
    assert_eq!(o.status, 0, "{}", o.stderr);
    // and through a link climbing above the root: clamped to it
    s.ok(&["cp", other.to_str().unwrap(), "box:/var/up/tmp/clamped"]);

    assert_eq!(
        s.ok(&["diff", "box"]),
        "C /run\nA /run/new.pid\nA /run/other.pid\nA /run/x\nA /run/y\nC /tmp\nA /tmp/clamped\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["tree", "--json", "box", "/var/run"])).unwrap();
    assert_eq!(json["paths"][0]["kind"], "symlink -> /run", "{json}");
    assert_eq!(
        json["paths"][0]["layer"], 1,
        "still the image's symlink: {json}"
    );
    let listing = tar_listing(&raw(&["cp", "box:/var/run/", "-"]));
    assert_eq!(
        listing,
        [
            "run/",
            "run/app.pid",
            "run/new.pid",
            "run/other.pid",
            "run/x",
            "run/y"
        ]
    );
}

/// Asserts that the tree at `dir` is `want`, naming only the paths that differ.
fn assert_tree(dir: &Path, want: &std::collections::BTreeMap<String, Entry>, what: &str) {
    let got = tree(dir);
    let differ: Vec<String> = want
        .keys()
        .chain(got.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| got.get(*k) != want.get(*k))
        .map(|k| format!("{k}: got {:?}, want {:?}", got.get(k), want.get(k)))
        .collect();
    assert!(
        differ.is_empty(),
        "{what}: {} paths differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
}

/// `cp CONTAINER:/ DEST` and `cp CONTAINER:/. DEST` copy the whole root (Docker's
/// `CopyInfo` rules): into an existing DEST, or as a new DEST; `SRC/.` copies what a
/// directory holds; what arrives over an existing directory merges into it.
#[test]
fn cp_out_of_the_root_copies_the_whole_tree() {
    let (s, rootfs) = bb_store();
    s.ok(&["create", "--name", "box", "bb:1", "true"]);
    let scratch = s.scratch();
    let want = tree(&rootfs);
    assert!(want.len() > 10, "a real tree: {}", want.len());

    let existing = scratch.join("out1");
    std::fs::create_dir(&existing).unwrap();
    s.ok(&["cp", "box:/", &format!("{}/", existing.display())]);
    assert_tree(&existing, &want, "cp box:/ out1/ (existing)");
    let new = scratch.join("out2");
    s.ok(&["cp", "box:/.", new.to_str().unwrap()]);
    assert_tree(&new, &want, "cp box:/. out2 (new)");
    let new = scratch.join("out3");
    s.ok(&["cp", "box:/", new.to_str().unwrap()]);
    assert_tree(&new, &want, "cp box:/ out3 (new)");

    // a directory's content, as a new directory and into an existing one
    let etc: std::collections::BTreeMap<String, Entry> = want
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("etc/")?.to_string(), v.clone())))
        .collect();
    let new = scratch.join("etc-content");
    s.ok(&["cp", "box:/etc/.", new.to_str().unwrap()]);
    assert_tree(&new, &etc, "cp box:/etc/. etc-content (new)");
    let into = scratch.join("into");
    std::fs::create_dir(&into).unwrap();
    write(&into.join("mine"), "kept\n");
    s.ok(&["cp", "box:/etc/.", into.to_str().unwrap()]);
    let mut with_mine = etc.clone();
    with_mine.extend(tree(&into).into_iter().filter(|(k, _)| k == "mine"));
    assert_tree(&into, &with_mine, "cp box:/etc/. into (existing)");
    assert_eq!(
        std::fs::read_to_string(into.join("mine")).unwrap(),
        "kept\n"
    );
    // copying /etc again over out1/etc merges (Docker extracts over what is there)
    s.ok(&["cp", "box:/etc", existing.to_str().unwrap()]);
    assert_tree(&existing, &want, "cp box:/etc out1 (merged)");
}

/// A busybox image whose `/var/run` is a symlink to `/run` (as in Debian's and Alpine's) and
/// whose `/etc/dir` is a directory, and a container of it, `box`.
fn var_run_store() -> Store {
    let s = Store::new();
    let rootfs = s.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    std::fs::create_dir(rootfs.join("run")).unwrap();
    write(&rootfs.join("run/app.pid"), "42\n");
    std::os::unix::fs::symlink("/run", rootfs.join("var/run")).unwrap();
    std::fs::create_dir(rootfs.join("etc/dir")).unwrap();
    write(&rootfs.join("etc/dir/keep"), "kept\n");
    let tar = tar_of(&rootfs);
    s.ok(&["import", tar.to_str().unwrap(), "bb:1"]);
    s.ok(&["create", "--name", "box", "bb:1", "true"]);
    s
}

/// Local trees for the refused copies: `t/var/run/x` (a directory `var/run`), `f/dir` (a
/// file `dir`), and the tar of `t` with explicit `var/` and `var/run/` entries.
fn kind_change_sources(s: &Store) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let scratch = s.scratch();
    let t = scratch.join("t");
    std::fs::create_dir_all(t.join("var/run")).unwrap();
    write(&t.join("var/run/x"), "x\n");
    let f = scratch.join("f");
    std::fs::create_dir(&f).unwrap();
    write(&f.join("dir"), "a file\n");
    let mut b = tar::Builder::new(Vec::new());
    b.append_dir("var", t.join("var")).unwrap();
    b.append_dir("var/run", t.join("var/run")).unwrap();
    b.append_path_with_name(t.join("var/run/x"), "var/run/x")
        .unwrap();
    (t, f, b.into_inner().unwrap())
}

/// A tar whose second entry makes a directory where its first made a file: `tmp/a`, `tmp/a/`.
fn file_then_dir_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(&mut b, "tmp/a", tar::EntryType::Regular, None, b"a\n");
    raw_entry(&mut b, "tmp/a/", tar::EntryType::Directory, None, b"");
    b.into_inner().unwrap()
}

/// Nothing of a refused copy is in `box`: no change at all, and `/var/run` is still the
/// image's symlink.
fn assert_box_unchanged(s: &Store, what: &str) {
    assert_eq!(s.ok(&["diff", "box"]), "", "{what}: nothing written");
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["tree", "--json", "box", "/var/run"])).unwrap();
    assert_eq!(
        json["paths"][0]["kind"], "symlink -> /run",
        "{what}: {json}"
    );
    assert_eq!(json["paths"][0]["layer"], 1, "{what}: {json}");
}

const OVER_LINK: &str =
    r#"Error response from daemon: cannot overwrite non-directory "/var/run" with directory "/""#;

/// `docker cp` into a container: the docker CLI always sends `noOverwriteDirNonDir=true`, and
/// Docker (moby's `Unpack`) then refuses an entry that would replace a directory with a
/// non-directory, or a non-directory (the image's `var/run -> /run`) with a directory, in
/// the container's merged view or after an earlier entry of the same archive, in its words
/// with paths in the container; the whole archive is refused and nothing of it is written
/// (Docker itself keeps the entries before the refused one). Without the flag the API
/// replaces, as Docker does.
#[test]
fn docker_cp_never_replaces_a_directory_with_a_non_directory_nor_the_reverse() {
    let s = var_run_store();
    let (t, f, tar) = kind_change_sources(&s);
    let d = e2e::Daemon::start(&s);

    // a directory over the symlink: a tar streamed in, a local directory, into the link's
    // parent through the link's own name
    let o = e2e::run_with_stdin(d.docker_cmd(&["cp", "-", "box:/"]), &tar);
    assert_eq!((o.status, o.stderr.trim()), (1, OVER_LINK), "{o:?}");
    let err = d.fail(&["cp", t.join("var").to_str().unwrap(), "box:/"]);
    assert_eq!(err.trim(), OVER_LINK);
    let err = d.fail(&["cp", t.join("var/run").to_str().unwrap(), "box:/var/"]);
    assert_eq!(
        err.trim(),
        r#"Error response from daemon: cannot overwrite non-directory "/var/run" with directory "/var""#
    );
    assert_box_unchanged(&s, "dir over the symlink");
    // a file over a directory
    let err = d.fail(&["cp", f.join("dir").to_str().unwrap(), "box:/etc/"]);
    assert_eq!(
        err.trim(),
        r#"Error response from daemon: cannot overwrite directory "/etc/dir" with non-directory "/etc""#
    );
    // a directory over what the archive itself wrote before
    let o = e2e::run_with_stdin(d.docker_cmd(&["cp", "-", "box:/"]), &file_then_dir_tar());
    assert_eq!(
        (o.status, o.stderr.trim()),
        (
            1,
            r#"Error response from daemon: cannot overwrite non-directory "/tmp/a" with directory "/""#
        ),
        "{o:?}"
    );
    assert_box_unchanged(&s, "non-dir over a dir, dir over an earlier entry");
    // the same kinds still merge or replace: into the link (a directory), a file over a file
    d.ok(&["cp", t.join("var/run").to_str().unwrap(), "box:/var/run/"]);
    d.ok(&["cp", f.join("dir").to_str().unwrap(), "box:/etc/dir/keep"]);
    assert_eq!(
        s.ok(&["diff", "box"]),
        "C /etc\nC /etc/dir\nC /etc/dir/keep\nC /run\nA /run/run\nA /run/run/x\n"
    );

    // the API: the flag refuses (any truthy value), its absence or `false` replaces
    let put = |query: &str| {
        let (status, _, body) = e2e::http(
            d.port,
            "PUT",
            &format!("/v1.47/containers/box/archive?path=/{query}"),
            "Content-Type: application/x-tar\r\n",
            &tar,
        )
        .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    let (status, body) = put("&noOverwriteDirNonDir=1");
    assert_eq!(status, 400, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body["message"],
        OVER_LINK.trim_start_matches("Error response from daemon: ")
    );
    let (status, body) = put("&noOverwriteDirNonDir=false");
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["tree", "--json", "box", "/var/run"])).unwrap();
    assert_eq!(json["paths"][0]["kind"], "dir", "replaced: {json}");
    assert!(s.ok(&["diff", "box"]).contains("A /var/run/x\n"));
}

/// `strata cp SRC CONTAINER:DEST` copies in as the docker CLI does, `noOverwriteDirNonDir`
/// on: the same refusals, the same texts, exit 1, nothing written.
#[test]
fn strata_cp_never_replaces_a_directory_with_a_non_directory_nor_the_reverse() {
    let s = var_run_store();
    let (t, f, tar) = kind_change_sources(&s);

    let o = s.run_stdin(&["cp", "-", "box:/"], &tar);
    assert_eq!((o.status, o.stderr.trim()), (1, OVER_LINK), "{o:?}");
    let o = s.run(&["cp", t.join("var").to_str().unwrap(), "box:/"]);
    assert_eq!((o.status, o.stderr.trim()), (1, OVER_LINK), "{o:?}");
    let o = s.run(&["cp", f.join("dir").to_str().unwrap(), "box:/etc/"]);
    assert_eq!(
        (o.status, o.stderr.trim()),
        (
            1,
            r#"Error response from daemon: cannot overwrite directory "/etc/dir" with non-directory "/etc""#
        ),
        "{o:?}"
    );
    let o = s.run_stdin(&["cp", "-", "box:/"], &file_then_dir_tar());
    assert_eq!(
        (o.status, o.stderr.trim()),
        (
            1,
            r#"Error response from daemon: cannot overwrite non-directory "/tmp/a" with directory "/""#
        ),
        "{o:?}"
    );
    assert_box_unchanged(&s, "strata cp");
    // into the link, the directory's content lands where it points
    s.ok(&["cp", t.join("var/run/.").to_str().unwrap(), "box:/var/run"]);
    assert_eq!(s.ok(&["diff", "box"]), "C /run\nA /run/x\n");
}

/// `strata cp CONTAINER:PATH DEST` streams the archive from the container into the staging
/// directory (one thread produces it into a pipe, the other extracts it): the process's
/// peak memory stays a fraction of what it copies, never the archive's size.
#[test]
fn cp_out_of_a_container_streams_in_bounded_memory() {
    let (s, _) = bb_store();
    s.ok(&["create", "--name", "big", "bb:1", "true"]);
    let scratch = s.scratch();
    const SIZE: u64 = 300 << 20;
    let src = scratch.join("big.bin");
    {
        use std::io::Write;
        let block = e2e::noise(11, 1 << 20);
        let mut w = std::io::BufWriter::new(std::fs::File::create(&src).unwrap());
        for _ in 0..(SIZE >> 20) {
            w.write_all(&block).unwrap();
        }
        w.flush().unwrap();
    }
    let want = e2e::sha256_file(&src);
    s.ok(&["cp", src.to_str().unwrap(), "big:/big.bin"]);
    std::fs::remove_file(&src).unwrap();

    let out = scratch.join("out");
    std::fs::create_dir(&out).unwrap();
    let peak = e2e::peak_rss(
        &mut s.command(&["cp", "big:/big.bin", out.to_str().unwrap()]),
        "strata cp big:/big.bin out",
    );
    let got = out.join("big.bin");
    assert_eq!(std::fs::metadata(&got).unwrap().len(), SIZE);
    assert_eq!(e2e::sha256_file(&got), want, "the copy is the file");
    assert!(
        peak < SIZE / 3,
        "peak RSS {} MiB copying {} MiB out: the archive is held in memory",
        peak >> 20,
        SIZE >> 20
    );
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        1,
        "no staging left behind"
    );
}
