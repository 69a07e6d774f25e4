//! The engine against a real data directory: import, tag, rmi, prune, save, load, bad input.

use engine::{Engine, ImportOptions};
use image_store::{ListOptions, PruneOptions, RmiEvent, RmiOptions};
use std::io::Cursor;

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1);
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn import(e: &Engine, tar: &[u8], tag: &str, msg: &str) -> oci_model::Digest {
    let opts = ImportOptions {
        reference: Some(tag.into()),
        message: Some(msg.into()),
        source: "-".into(),
        ..Default::default()
    };
    e.import(Cursor::new(tar), &opts).unwrap()
}

fn blob_names(root: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn blob_bytes(root: &std::path::Path) -> u64 {
    std::fs::read_dir(root.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

fn tags(e: &Engine) -> Vec<String> {
    let mut v: Vec<String> = e
        .images(&ListOptions {
            all: true,
            filters: vec![],
        })
        .unwrap()
        .into_iter()
        .flat_map(|i| {
            if i.repo_tags.is_empty() {
                vec!["<none>".to_string()]
            } else {
                i.repo_tags
            }
        })
        .collect();
    v.sort();
    v
}

#[test]
fn import_tag_rmi_prune() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    let layer = tar_of(&[("etc/hostname", b"box\n"), ("bin/sh", &[7u8; 5000])]);
    let id = import(&e, &layer, "bb:1", "first");
    e.tag("bb:1", "bb:2").unwrap();
    assert_eq!(tags(&e), ["bb:1", "bb:2"]);

    let err = e
        .rmi(
            id.short(),
            &RmiOptions {
                force: false,
                no_prune: false,
            },
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories", id.short())
    );
    assert_eq!(
        e.rmi("bb:2", &RmiOptions::default()).unwrap(),
        vec![RmiEvent::Untagged("bb:2".into())]
    );

    // same layer, new config: stored once; the old image becomes dangling
    let before = blob_bytes(dir.path());
    let id2 = import(&e, &layer, "bb:1", "second");
    assert_ne!(id, id2);
    assert!(blob_bytes(dir.path()) - before < 2000, "layer stored twice");
    assert_eq!(tags(&e), ["<none>", "bb:1"]);

    let before = blob_bytes(dir.path());
    let plan = e
        .prune(&PruneOptions {
            all: false,
            until: None,
            labels: vec![],
        })
        .unwrap();
    assert_eq!(plan.events, vec![RmiEvent::Deleted(id.clone())]);
    assert_eq!(before - blob_bytes(dir.path()), plan.bytes_freed);
    assert_eq!(tags(&e), ["bb:1"]);
    assert!(e.fsck().unwrap().is_empty());
}

#[test]
fn save_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    let big = vec![3u8; 3 << 20]; // larger than the in-memory limit of load
    let id = import(&e, &tar_of(&[("a", b"a"), ("big", &big)]), "bb:1", "x");
    let mut archive = Vec::new();
    e.save(&["bb:1".into()], &mut archive).unwrap();

    let dir2 = tempfile::tempdir().unwrap();
    let e2 = Engine::open(dir2.path()).unwrap();
    let events = e2.load(Cursor::new(&archive)).unwrap();
    assert_eq!(
        events.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        ["Loaded image: bb:1"]
    );
    assert_eq!(e2.inspect("bb:1").unwrap().id, id);
    assert!(e2.fsck().unwrap().is_empty());
    // only the config and the layer: nothing else of the archive stays
    assert_eq!(blob_names(dir2.path()).len(), 2);

    let mut again = Vec::new();
    e2.save(&["bb:1".into()], &mut again).unwrap();
    assert_eq!(archive, again, "save is deterministic");
}

#[test]
fn bad_input_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    import(&e, &tar_of(&[("a", b"a")]), "bb:1", "x");
    let names = blob_names(dir.path());
    let state = tags(&e);

    let opts = |r: &str| ImportOptions {
        reference: Some(r.into()),
        source: "-".into(),
        ..Default::default()
    };
    let good = tar_of(&[("b", b"b")]);
    let err = e.import(Cursor::new(&good), &opts("Bad:1")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid reference format: repository name (library/Bad) must be lowercase"
    );
    let mut truncated = tar_of(&[("big", &[1u8; 4096])]);
    truncated.truncate(1500);
    assert!(e.import(Cursor::new(&truncated), &opts("x:1")).is_err());
    let mut fake_gzip = vec![0x1f, 0x8b];
    fake_gzip.extend_from_slice(b"not really gzip at all, no");
    assert!(e.import(Cursor::new(&fake_gzip), &opts("x:1")).is_err());

    // archives: manifest naming a missing blob, and one leaving the archive
    for manifest in [
        r#"[{"Config":"blobs/sha256/nope","RepoTags":["x:1"],"Layers":[]}]"#,
        r#"[{"Config":"../../etc/passwd","RepoTags":["x:1"],"Layers":[]}]"#,
        r#"[{"Config":"/etc/passwd","RepoTags":["x:1"],"Layers":[]}]"#,
    ] {
        let archive = tar_of(&[("manifest.json", manifest.as_bytes())]);
        let err = e.load(Cursor::new(&archive)).unwrap_err();
        assert!(err.to_string().starts_with("invalid archive:"), "{err}");
    }
    assert_eq!(blob_names(dir.path()), names);
    assert_eq!(tags(&e), state);
}

#[test]
fn a_file_reads_as_each_layer_of_an_image_or_container_shows_it() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    import(
        &e,
        &tar_of(&[("etc/passwd", b"v1\n"), ("bin/ls", b"ELF")]),
        "files:1",
        "base",
    );
    let read = |target: &str, path: &str, layer: Option<usize>| {
        let (info, mut f) = e.open_layer_file(target, path, layer)?;
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        Ok::<_, engine::EngineError>((info.layer, info.source_layer, s))
    };
    // `cp` archives carry numeric owners (tar-rs leaves them blank)
    let one_file = |name: &str, data: &[u8]| {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1);
        b.append_data(&mut h, name, data).unwrap();
        b.into_inner().unwrap()
    };
    let c = e.create_container("files:1", Some("f1")).unwrap();
    e.container_put_archive(&c.id, "/etc", Cursor::new(one_file("passwd", b"v2\n")))
        .unwrap();
    let opts = engine::CommitOptions {
        reference: Some("files:2".into()),
        ..Default::default()
    };
    e.commit("f1", &opts).unwrap();
    assert_eq!(
        read("files:2", "/etc/passwd", None).unwrap(),
        (1, 1, "v2\n".into())
    );
    assert_eq!(
        read("files:2", "/etc/passwd", Some(1)).unwrap(),
        (1, 1, "v2\n".into())
    );
    assert_eq!(
        read("files:2", "etc/passwd", Some(0)).unwrap(),
        (0, 0, "v1\n".into()),
        "the shadowed version"
    );
    assert_eq!(
        read("files:2", "/bin/ls", Some(1)).unwrap(),
        (1, 0, "ELF".into()),
        "unchanged in layer 1: the bytes come from layer 0"
    );
    // a container: its writable layer is the top one
    let c2 = e.create_container("files:2", Some("f2")).unwrap();
    e.container_put_archive(&c2.id, "/etc", Cursor::new(one_file("passwd", b"v3\n")))
        .unwrap();
    assert_eq!(
        read("f2", "/etc/passwd", None).unwrap(),
        (2, 2, "v3\n".into())
    );
    assert_eq!(
        read("f2", "/etc/passwd", Some(1)).unwrap(),
        (1, 1, "v2\n".into())
    );
    e.container_remove_path("f2", "/bin/ls").unwrap();
    let gone = read("f2", "/bin/ls", None).unwrap_err();
    assert_eq!(gone.kind(), engine::ErrorKind::NotFound, "{gone}");
    assert_eq!(
        read("f2", "/bin/ls", Some(0)).unwrap(),
        (0, 0, "ELF".into())
    );
    let dir_err = read("files:2", "/etc", None).unwrap_err();
    assert!(
        dir_err.to_string().contains("not a regular file (dir)"),
        "{dir_err}"
    );
    let range = read("files:2", "/etc/passwd", Some(2)).unwrap_err();
    assert!(
        range.to_string().contains("layer 2 out of range"),
        "{range}"
    );
    let missing = read("files:1", "/nope", Some(0)).unwrap_err();
    assert_eq!(missing.kind(), engine::ErrorKind::NotFound);
}

fn mode_of(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Runs `cat path` as `nobody` (uid and gid 65534, no supplementary groups); true when it read
/// the file. Needs root, to switch users.
fn nobody_can_read(path: &std::path::Path) -> bool {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test switches to the nobody user with setpriv: run it as root"
    );
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "cat"])
        .arg(path)
        .output()
        .expect("run setpriv (util-linux)");
    out.status.success()
}

/// moby CVE-2021-41091: unpacked layers hold setuid binaries and readable files exactly as the
/// image has them, so no other local user may reach them. A fresh data directory is `0700`.
#[test]
fn other_users_cannot_reach_unpacked_layers() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // where the data directory lives, other users may look (a home directory, /var/lib)
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = dir.path().join("data");
    let e = Engine::open(&root).unwrap();
    assert_eq!(
        mode_of(&root),
        0o700,
        "a fresh data directory is the owner's alone"
    );

    let mut b = tar::Builder::new(Vec::new());
    for (path, mode) in [("etc/motd", 0o644), ("bin/su", 0o4755)] {
        let mut h = tar::Header::new_ustar();
        h.set_size(6);
        h.set_mode(mode);
        h.set_mtime(1);
        b.append_data(&mut h, path, &b"hello\n"[..]).unwrap();
    }
    let layer = b.into_inner().unwrap();
    import(&e, &layer, "perm:1", "perm");
    let unpacked = e
        .unpacked_chain(&[oci_model::Digest::of(&layer)])
        .unwrap()
        .remove(0);
    assert!(unpacked.starts_with(&root));
    let motd = unpacked.join("etc/motd");
    let su = unpacked.join("bin/su");
    assert_eq!(std::fs::read(&motd).unwrap(), b"hello\n");
    assert_eq!(mode_of(&su), 0o4755, "the layer keeps its modes");
    // the same file outside the data directory: nobody reads it (the check can succeed)
    let outside = dir.path().join("motd");
    std::fs::copy(&motd, &outside).unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(nobody_can_read(&outside));
    // inside it: not
    assert!(
        !nobody_can_read(&motd),
        "{} is readable by nobody",
        motd.display()
    );
    assert!(
        !nobody_can_read(&su),
        "{} is readable by nobody",
        su.display()
    );
}

/// A data directory made before (or by hand) with group or other access is tightened when it
/// is opened; `0710` (a group allowed to traverse, as dockerd does it) is kept.
#[test]
fn an_existing_data_directory_is_tightened_on_open() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    for (before, after) in [
        (0o755, 0o700),
        (0o777, 0o700),
        (0o750, 0o700),
        (0o711, 0o700),
        (0o710, 0o710),
        (0o700, 0o700),
    ] {
        let root = dir.path().join(format!("data-{before:o}"));
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(before)).unwrap();
        drop(Engine::open(&root).unwrap());
        assert_eq!(mode_of(&root), after, "a data directory of mode {before:o}");
    }
}

#[test]
fn load_compares_a_present_blob_and_never_takes_other_bytes_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    let big: Vec<u8> = (0..3u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    import(&e, &tar_of(&[("big", &big)]), "bb:1", "x");
    let mut archive = Vec::new();
    e.save(&["bb:1".into()], &mut archive).unwrap();
    let names = blob_names(dir.path());

    // Loading it again: the stored layer is recognised, nothing is added.
    let events = e.load(Cursor::new(&archive)).unwrap();
    assert_eq!(events[0].to_string(), "Loaded image: bb:1");
    assert_eq!(blob_names(dir.path()), names);

    // The same archive with one byte of the layer changed past its first MiB: the file is
    // still named by the stored blob's digest and has its size, but not its bytes. It is
    // not taken for the stored blob: the layer fails its diff ID and nothing changes.
    let needle = &big[(2 << 20) + 100..(2 << 20) + 164];
    let at = archive
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the layer's bytes are in the archive");
    let mut bad = archive.clone();
    bad[at] ^= 0xff;
    let err = e.load(Cursor::new(&bad)).unwrap_err().to_string();
    assert!(err.contains("invalid diffID for layer 0"), "{err}");
    assert_eq!(blob_names(dir.path()), names);
    assert!(e.fsck().unwrap().is_empty(), "the stored blobs are intact");
}

/// A `load` of images already present adds nothing, so it leaves the store as it is, without
/// the sweep over every blob and layer directory (whose cost grows with the store); a load that
/// stored something and failed still takes back everything nothing references.
#[test]
fn a_load_that_adds_nothing_sweeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    let big: Vec<u8> = (0..2u32 << 20).map(|i| (i * 13 % 251) as u8).collect();
    import(&e, &tar_of(&[("big", &big)]), "bb:1", "x");
    let mut archive = Vec::new();
    e.save(&["bb:1".into()], &mut archive).unwrap();
    let names = blob_names(dir.path());
    // A blob nothing references (one a sweep left while a writer held its lease, say).
    let stray = b"stray".as_slice();
    let stray_name = oci_model::Digest::of(stray).hex().to_string();
    std::fs::write(dir.path().join("blobs/sha256").join(&stray_name), stray).unwrap();

    let events = e.load(Cursor::new(&archive)).unwrap();
    assert_eq!(events[0].to_string(), "Loaded image: bb:1");
    assert!(
        blob_names(dir.path()).contains(&stray_name),
        "a load that added nothing swept the store"
    );

    // The layer's bytes changed: the load stores a new blob, fails, and sweeps.
    let needle = &big[(1 << 20) + 100..(1 << 20) + 164];
    let at = archive
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the layer's bytes are in the archive");
    archive[at] ^= 0xff;
    e.load(Cursor::new(&archive)).unwrap_err();
    assert_eq!(
        blob_names(dir.path()),
        names,
        "what nothing references is gone"
    );
}

/// Import records the architecture pull asks an index for (one `GOARCH` name for this
/// machine, from `oci_model::host_arch`), so a pulled and an imported image of this machine
/// agree, and the registry client's matcher takes that name as it is.
#[test]
fn import_records_the_architecture_pull_asks_for() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    import(&e, &tar_of(&[("a", b"a")]), "arch:1", "");
    let imported = e.inspect("arch:1").unwrap().config.architecture;
    let pulled = engine::host_platform().architecture;
    assert_eq!(imported, pulled);
    assert_eq!(imported, oci_model::host_arch());
    assert_eq!(oci_model::normalize_arch(&pulled), pulled);
}

/// The image list is kept with the snapshot it answers: each change (through this engine or
/// another process's) and each other question gets a fresh answer.
#[test]
fn the_image_list_follows_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    let id = import(&e, &tar_of(&[("a", b"1")]), "one:1", "m");
    assert_eq!(tags(&e), ["one:1"]);
    assert_eq!(tags(&e), ["one:1"]); // asked again, unchanged
    e.tag("one:1", "two:2").unwrap();
    assert_eq!(tags(&e), ["one:1", "two:2"]);
    let only_two = ListOptions {
        all: false,
        filters: vec![("reference".into(), "two".into())],
    };
    let listed = e.images(&only_two).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].repo_tags, ["two:2"]);
    assert_eq!(tags(&e), ["one:1", "two:2"]);
    // A change made by another process (another engine on the same directory).
    let other = Engine::open(dir.path()).unwrap();
    other.tag(&id.to_string(), "three:3").unwrap();
    assert_eq!(tags(&e), ["one:1", "three:3", "two:2"]);
    e.rmi("two:2", &RmiOptions::default()).unwrap();
    assert_eq!(tags(&e), ["one:1", "three:3"]);
}

/// Unnamed containers get generated names, each unique, past the number of name pairs: a
/// retry adds a digit (the last resort, the short ID, is shown by the unit test), where a
/// store with more unnamed containers than names made `create` spin forever.
#[test]
fn generated_names_stay_unique_past_the_names_there_are() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    import(&e, &tar_of(&[("a", b"1")]), "base:1", "m");
    // more than the 32 × 32 adjective_scientist pairs
    let n = 1500;
    let mut names = std::collections::BTreeSet::new();
    for _ in 0..n {
        let c = e.create_container("base:1", None).unwrap();
        let valid = c.name.len() >= 2
            && c.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        assert!(valid, "{}", c.name);
        assert!(names.insert(c.name.clone()), "{} given twice", c.name);
    }
    assert!(names
        .iter()
        .any(|n| n.ends_with(|c: char| c.is_ascii_digit()) && n.contains('_')));
}

/// Updates of a container from several clients at once each change their own limit: none
/// undoes another's (each reads, changes and writes the run's record under the container's
/// lock, as dockerd holds its container lock).
#[test]
fn concurrent_updates_of_a_container_lose_none() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    import(&e, &tar_of(&[("a", b"1")]), "base:1", "m");
    let c = e.create_container("base:1", Some("upd")).unwrap();
    for round in 1..=15i64 {
        std::thread::scope(|s| {
            s.spawn(|| {
                let o = engine::UpdateOptions {
                    memory: Some((64 + round) << 20),
                    ..Default::default()
                };
                e.update_container("upd", &o).unwrap();
            });
            s.spawn(|| {
                let o = engine::UpdateOptions {
                    pids_limit: Some(100 + round),
                    ..Default::default()
                };
                e.update_container("upd", &o).unwrap();
            });
        });
        let rc = e.run_config(&c).unwrap();
        assert_eq!(
            (rc.memory, rc.pids_limit),
            (Some((64 + round) << 20), Some(100 + round)),
            "round {round}: an update was lost"
        );
    }
}

/// An image remembers the tags it lost and where each went: a newer image taking its tag
/// (how a rebuild leaves a dangling image), or an untag; deleting the image forgets them.
#[test]
fn an_image_remembers_the_tags_it_lost() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    let old = import(&e, &tar_of(&[("a", b"1")]), "app:1", "first");
    let new = import(&e, &tar_of(&[("a", b"2")]), "app:1", "second");
    let lost = e.lost_tags(&old).unwrap();
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0].reference, "app:1");
    assert_eq!(lost[0].taken_by.as_deref(), Some(new.to_string().as_str()));
    assert!(e.lost_tags(&new).unwrap().is_empty());
    // an untag that leaves the image: recorded with nowhere to go
    e.tag("app:1", "other:1").unwrap();
    e.rmi("other:1", &RmiOptions::default()).unwrap();
    let lost = e.lost_tags(&new).unwrap();
    assert_eq!(
        (lost[0].reference.as_str(), lost[0].taken_by.as_deref()),
        ("other:1", None)
    );
    // the same tag set again on the same image is no loss
    e.tag("app:1", "app:1").unwrap();
    assert_eq!(e.lost_tags(&new).unwrap().len(), 1);
    // a deleted image's record goes with it
    e.rmi(&old.to_string(), &RmiOptions::default()).unwrap();
    assert!(e.lost_tags(&old).unwrap().is_empty());
}

/// A stack refused while it is unpacked (for `create`/`mount`) leaves no directory behind:
/// every layer is staged and none renamed into place until all applied. The store refuses
/// such a stack when it takes an image (load, import, pull), so only layers stored apart (or
/// by an older version) can meet here: two images' layers, each fine alone.
#[test]
fn a_stack_refused_while_unpacked_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for (name, target) in [("a", "b"), ("b", "a")] {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_mtime(1);
        h.set_size(0);
        b.append_link(&mut h, name, target).unwrap();
    }
    let lower = b.into_inner().unwrap();
    let upper = tar_of(&[("a/x", b"x")]);
    import(&e, &lower, "loop:1", "a symlink loop");
    import(&e, &upper, "through:1", "a file under a");
    let layers = dir.path().join("layers");
    let listing = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&layers)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let before = listing();
    let err = e
        .unpacked_chain(&[oci_model::Digest::of(&lower), oci_model::Digest::of(&upper)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("Too many levels of symbolic links"), "{err}");
    assert_eq!(
        listing(),
        before,
        "the refused stack left directories behind"
    );
}
