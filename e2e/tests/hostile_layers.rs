//! Issue #11 §1 through the real CLI: layers applied on top of other layers. Each case loads a
//! multi-layer image made of hand-built layer tars, creates a container and checks the merged
//! root twice — as `export` computes it (`layer-union` over the layers) and as the kernel
//! overlay of the unpacked layer directories shows it (`strata mount --driver overlay`) — and
//! that a sentinel outside the image root is never touched.

use e2e::{sha256_bytes, tar_of, tree, Entry, Store};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tar::{EntryType, Header};

/// A layer tar, built entry by entry.
struct Layer(tar::Builder<Vec<u8>>);

fn header(ty: EntryType, mode: u32) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(ty);
    h.set_mode(mode);
    h.set_mtime(1_600_000_000);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(0);
    h
}

impl Layer {
    fn new() -> Layer {
        Layer(tar::Builder::new(Vec::new()))
    }

    fn dir(mut self, path: &str) -> Layer {
        let mut h = header(EntryType::Directory, 0o755);
        self.0.append_data(&mut h, path, std::io::empty()).unwrap();
        self
    }

    fn file(self, path: &str, data: &str) -> Layer {
        self.file_mode(path, data, 0o644)
    }

    fn file_mode(mut self, path: &str, data: &str, mode: u32) -> Layer {
        let mut h = header(EntryType::Regular, mode);
        h.set_size(data.len() as u64);
        self.0.append_data(&mut h, path, data.as_bytes()).unwrap();
        self
    }

    fn symlink(mut self, path: &str, target: &str) -> Layer {
        let mut h = header(EntryType::Symlink, 0o777);
        self.0.append_link(&mut h, path, target).unwrap();
        self
    }

    /// A hard link whose own header claims a setuid mode and another owner: a link has no
    /// metadata of its own, so neither may show.
    fn hardlink(mut self, path: &str, target: &str) -> Layer {
        let mut h = header(EntryType::Link, 0o4777);
        h.set_uid(4242);
        self.0.append_link(&mut h, path, target).unwrap();
        self
    }

    /// A character device `major:minor`.
    fn char_dev(mut self, path: &str, major: u32, minor: u32) -> Layer {
        let mut h = header(EntryType::Char, 0o644);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.0.append_data(&mut h, path, std::io::empty()).unwrap();
        self
    }

    /// A PAX header with these records, for the entry that follows.
    fn pax(mut self, records: &[(&str, &[u8])]) -> Layer {
        self.0
            .append_pax_extensions(records.iter().copied())
            .unwrap();
        self
    }

    fn bytes(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

/// Loads an image `name` made of `layers` (bottom first) from a hand-made docker archive.
fn load(s: &Store, name: &str, layers: Vec<Layer>) {
    let archive = archive(s, name, layers);
    s.ok(&["load", "-i", archive.to_str().unwrap()]);
}

/// A hand-made docker archive of an image `name` made of `layers` (bottom first).
fn archive(s: &Store, name: &str, layers: Vec<Layer>) -> PathBuf {
    let dir = s
        .scratch()
        .join(format!("archive-{}", name.replace(':', "-")));
    std::fs::create_dir_all(&dir).unwrap();
    let mut diff_ids = Vec::new();
    let mut paths = Vec::new();
    for (i, l) in layers.into_iter().enumerate() {
        let bytes = l.bytes();
        diff_ids.push(format!("sha256:{}", sha256_bytes(&bytes)));
        let p = format!("layer{i}.tar");
        std::fs::write(dir.join(&p), &bytes).unwrap();
        paths.push(p);
    }
    let history: Vec<_> = diff_ids
        .iter()
        .map(|_| json!({"created": "2020-01-01T00:00:00Z", "created_by": "e2e"}))
        .collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2020-01-01T00:00:00Z",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }))
    .unwrap();
    let cfg = format!("{}.json", sha256_bytes(&config));
    std::fs::write(dir.join(&cfg), &config).unwrap();
    let manifest = json!([{"Config": cfg, "RepoTags": [name], "Layers": paths}]);
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    tar_of(&dir)
}

/// A directory outside every store holding one file, `sentinel`, that no layer may touch.
struct Sentinel(tempfile::TempDir);

impl Sentinel {
    fn new() -> Sentinel {
        let d = tempfile::Builder::new()
            .prefix("strata-sentinel-")
            .tempdir()
            .unwrap();
        std::fs::write(d.path().join("sentinel"), "outside").unwrap();
        Sentinel(d)
    }

    fn dir(&self) -> &Path {
        self.0.path()
    }

    fn assert_untouched(&self) {
        let names: Vec<_> = std::fs::read_dir(self.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            ["sentinel"],
            "something appeared beside the sentinel"
        );
        assert_eq!(
            std::fs::read_to_string(self.dir().join("sentinel")).unwrap(),
            "outside",
            "the sentinel outside the root was written"
        );
    }
}

/// Creates a container of `image` and returns its merged root as `export` gives it, after
/// checking that the kernel overlay mount shows exactly the same tree.
fn merged(s: &Store, image: &str, name: &str) -> BTreeMap<String, Entry> {
    s.ok(&["create", "--name", name, image, "true"]);
    let scratch = s.scratch();
    let exported = scratch.join(format!("{name}.tar"));
    s.ok(&["export", "-o", exported.to_str().unwrap(), name]);
    let exp_dir = scratch.join(format!("{name}-export"));
    std::fs::create_dir(&exp_dir).unwrap();
    e2e::sh(
        "tar",
        &[
            "-C",
            exp_dir.to_str().unwrap(),
            "-xf",
            exported.to_str().unwrap(),
        ],
    );
    let want = tree(&exp_dir);
    let dir = s.ok(&["mount", "--driver", "overlay", name]);
    let dir = PathBuf::from(dir.trim());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        mounts
            .lines()
            .any(|l| l.starts_with("overlay ") && l.contains(dir.to_str().unwrap())),
        "the overlay driver needs root and overlayfs"
    );
    let got = tree(&dir);
    s.ok(&["umount", name]);
    assert_eq!(got, want, "the kernel overlay and export disagree");
    want
}

fn file(t: &BTreeMap<String, Entry>, path: &str) -> Option<u32> {
    match t.get(path) {
        Some(Entry::File { mode, .. }) => Some(*mode),
        _ => None,
    }
}

fn link(t: &BTreeMap<String, Entry>, path: &str) -> Option<String> {
    match t.get(path) {
        Some(Entry::Symlink(target)) => Some(target.clone()),
        _ => None,
    }
}

fn is_dir(t: &BTreeMap<String, Entry>, path: &str) -> bool {
    matches!(t.get(path), Some(Entry::Dir(_)))
}

#[test]
fn names_under_a_lower_symlink_resolve_inside_the_root() {
    let s = Store::new();
    let sentinel = Sentinel::new();
    let escape = sentinel.dir().to_str().unwrap().to_string();
    load(
        &s,
        "sym:1",
        vec![
            Layer::new()
                .dir("run/")
                .dir("var/")
                .symlink("var/run", "/run")
                .dir("etc/")
                .file("etc/x", "x")
                .file("etc/keep", "k")
                .symlink("conf", "/etc")
                .symlink("out", &escape),
            Layer::new()
                .file("var/run/pid", "1") // lands at /run/pid
                .dir("var/run/sub/")
                .file("var/run/sub/f", "f")
                .file("conf/.wh.x", "") // removes /etc/x
                .file("out/sentinel", "pwned"), // lands in the root, never on the host
        ],
    );
    let t = merged(&s, "sym:1", "sym");
    assert_eq!(link(&t, "var/run").as_deref(), Some("/run"), "{t:#?}");
    assert!(
        file(&t, "run/pid").is_some() && file(&t, "run/sub/f").is_some(),
        "{t:#?}"
    );
    assert!(
        !t.contains_key("etc/x") && t.contains_key("etc/keep"),
        "{t:#?}"
    );
    let inside = format!("{}/sentinel", escape.trim_start_matches('/'));
    assert!(file(&t, &inside).is_some(), "{t:#?}");
    sentinel.assert_untouched();
}

#[test]
fn a_hardlink_to_a_lower_file_applies() {
    let s = Store::new();
    load(
        &s,
        "hl:1",
        vec![
            Layer::new()
                .dir("bin/")
                .file_mode("bin/busybox", "elf", 0o755),
            Layer::new().dir("sbin/").hardlink("sbin/sh", "bin/busybox"),
        ],
    );
    let t = merged(&s, "hl:1", "hl");
    assert_eq!(file(&t, "sbin/sh"), Some(0o755), "{t:#?}");
    assert_eq!(t.get("sbin/sh"), t.get("bin/busybox"));
}

#[test]
fn a_hardlink_to_a_symlink_is_the_symlink() {
    let s = Store::new();
    load(
        &s,
        "hls:1",
        vec![
            Layer::new()
                .file_mode("f", "file", 0o600)
                .symlink("s", "f")
                .hardlink("same-layer", "s"),
            Layer::new().hardlink("lower", "s"),
        ],
    );
    let t = merged(&s, "hls:1", "hls");
    for p in ["s", "same-layer", "lower"] {
        assert_eq!(link(&t, p).as_deref(), Some("f"), "{p}: {t:#?}");
    }
    assert_eq!(file(&t, "f"), Some(0o600));
}

#[test]
fn type_replacement_across_layers_is_remove_then_create() {
    let s = Store::new();
    let sentinel = Sentinel::new();
    let escape = sentinel.dir().to_str().unwrap().to_string();
    load(
        &s,
        "types:1",
        vec![
            Layer::new()
                .dir("a/")
                .file("a/f", "f")
                .dir("tmp2/")
                .symlink("b", "/tmp2")
                .file("c", "file")
                .dir("d/")
                .file("d/in", "in"),
            Layer::new()
                .symlink("a", &escape) // directory -> symlink out of the root
                .dir("b/") // symlink -> directory
                .file("b/g", "g")
                .dir("c/") // file -> directory
                .file("d", "now a file"), // directory -> file
            Layer::new()
                .file("a/sentinel", "pwned")
                .file("b/h", "h")
                .file("c/x", "x"),
        ],
    );
    let t = merged(&s, "types:1", "types");
    assert_eq!(link(&t, "a").as_deref(), Some(escape.as_str()), "{t:#?}");
    let inside = format!("{}/sentinel", escape.trim_start_matches('/'));
    assert!(file(&t, &inside).is_some(), "{t:#?}");
    assert!(is_dir(&t, "b") && file(&t, "b/g").is_some() && file(&t, "b/h").is_some());
    assert!(!t.keys().any(|k| k.starts_with("tmp2/")), "{t:#?}");
    assert!(is_dir(&t, "c") && file(&t, "c/x").is_some(), "{t:#?}");
    assert!(file(&t, "d").is_some() && !t.contains_key("d/in"), "{t:#?}");
    assert!(!t.contains_key("a/f"));
    sentinel.assert_untouched();
}

/// A stack one of whose layers cannot be applied on the layers below it (Docker's apply of it
/// fails with `ENOTDIR`, `ELOOP`, or a failed `link`) is refused by `load` and `import`, naming
/// the layer and the entry, before anything is stored: not taken and then failed at `create`.
/// The same layers over a stack they do apply on load.
#[test]
fn an_unappliable_stack_is_refused_before_it_is_stored() {
    let s = Store::new();
    load(&s, "kept:1", vec![Layer::new().file("ok", "fine")]);
    let below = || {
        Layer::new()
            .file("ok", "fine")
            .file("f", "a file")
            .dir("d/")
            .symlink("a", "b")
            .symlink("b", "a")
    };
    let cases = [
        // a hard link to a directory, of the layer's own or of a lower layer
        (
            "own-dir-link",
            Layer::new().dir("e/").hardlink("h", "e"),
            "target is a directory",
        ),
        (
            "lower-dir-link",
            Layer::new().hardlink("h", "d"),
            "target is a directory",
        ),
        // a hard link to nothing: missing, whited out just before, or under its own name
        (
            "missing-link",
            Layer::new().hardlink("h", "gone"),
            "target does not exist",
        ),
        (
            "whited-link",
            Layer::new().file(".wh.ok", "").hardlink("h", "ok"),
            "target does not exist",
        ),
        (
            "own-name-link",
            Layer::new().file("n/x", "x").hardlink("n", "n/x"),
            "target does not exist",
        ),
        // a name through a lower symlink loop, or through a lower file
        (
            "loop",
            Layer::new().file("a/x", "x"),
            "too many levels of symbolic links",
        ),
        (
            "file-parent",
            Layer::new().file("f/x", "x"),
            "not a directory",
        ),
        (
            "file-whiteout",
            Layer::new().file("f/.wh.x", ""),
            "not a directory",
        ),
    ];
    for (name, top, reason) in cases {
        let archive = archive(&s, &format!("{name}:1"), vec![below(), top]);
        let before = s.snapshot();
        let (_, err) = s.fail(&["load", "-i", archive.to_str().unwrap()]);
        assert!(
            err.contains("layer 1 (sha256:") && err.contains(reason),
            "{name}: {err}"
        );
        assert_eq!(
            s.snapshot(),
            before,
            "{name}: the refused load changed the store"
        );
    }
    // What refuses a layer is where it lands: over a stack where its names mean something
    // else, the same layers apply.
    for (name, top) in [
        ("lower-link", Layer::new().hardlink("h", "ok")),
        ("through-dir", Layer::new().file("d/x", "x")),
        ("replaced-file", Layer::new().dir("f/").file("f/x", "x")),
    ] {
        load(&s, &format!("{name}:1"), vec![below(), top]);
        s.ok(&["create", "--name", name, &format!("{name}:1"), "true"]);
    }

    // `import` takes one layer on nothing: refused alike.
    let single = s.scratch().join("single.tar");
    std::fs::write(
        &single,
        Layer::new().file("x", "x").hardlink("y", "x/z").bytes(),
    )
    .unwrap();
    let before = s.snapshot();
    let (_, err) = s.fail(&["import", single.to_str().unwrap(), "single:1"]);
    assert!(
        err.contains("layer 0 (sha256:") && err.contains("target does not exist"),
        "{err}"
    );
    assert_eq!(s.snapshot(), before, "the refused import changed the store");
}

/// `pull` refuses an unappliable stack from a registry as `load` does (Docker's pull fails
/// registering the layer), and keeps nothing of it, the layers it downloaded included.
#[test]
fn a_pulled_unappliable_stack_is_refused_and_nothing_kept() {
    e2e::require("skopeo");
    let reg = e2e::registry::Registry::start();
    let s = Store::new();
    let bad = archive(
        &s,
        "bad:1",
        vec![
            Layer::new().file("ok", "fine").symlink("loop", "loop"),
            Layer::new().file("loop/x", "x"),
        ],
    );
    let reference = format!("{}/hostile/bad:1", reg.host());
    e2e::sh(
        "skopeo",
        &[
            "copy",
            "-q",
            "--dest-tls-verify=false",
            &format!("docker-archive:{}", bad.display()),
            &format!("docker://{reference}"),
        ],
    );
    let before = s.snapshot();
    let (_, err) = s.fail(&["pull", &reference]);
    assert!(
        err.contains("failed to register layer")
            && err.contains("too many levels of symbolic links"),
        "{err}"
    );
    assert_eq!(s.snapshot(), before, "the refused pull changed the store");
}

/// An opaque marker at a layer's root hides nothing: overlayfs never looks the root up, so
/// it never reads the root's opaque mark (Docker's overlay2 store shows the lower files too).
/// The export and the tree the store computes agree with the kernel's mount; a marker one
/// level down hides the lower directory's content as ever.
#[test]
fn an_opaque_root_hides_nothing_as_the_kernel_reads_it() {
    let s = Store::new();
    load(
        &s,
        "opaque-root:1",
        vec![
            Layer::new().file("lower", "l").file("d/old", "o"),
            Layer::new()
                .file(".wh..wh..opq", "")
                .file("upper", "u")
                .file("d/.wh..wh..opq", "")
                .file("d/new", "n"),
        ],
    );
    let t = merged(&s, "opaque-root:1", "opaque-root");
    assert!(file(&t, "lower").is_some(), "{t:?}");
    assert!(file(&t, "upper").is_some(), "{t:?}");
    assert!(file(&t, "d/new").is_some(), "{t:?}");
    assert!(!t.contains_key("d/old"), "{t:?}");
}

/// One layer over two different parents means two different things, so its unpacked
/// directory is keyed by chain ID, not diff ID; removing one image sweeps only its own.
#[test]
fn the_same_layer_over_different_parents_is_unpacked_twice() {
    let s = Store::new();
    let top = || Layer::new().file("var/run/x", "x");
    load(
        &s,
        "linked:1",
        vec![
            Layer::new()
                .dir("run/")
                .dir("var/")
                .symlink("var/run", "/run"),
            top(),
        ],
    );
    load(
        &s,
        "plain:1",
        vec![Layer::new().dir("var/").dir("var/run/"), top()],
    );
    let a = merged(&s, "linked:1", "linked");
    let b = merged(&s, "plain:1", "plain");
    assert!(
        file(&a, "run/x").is_some() && !a.contains_key("var/run/x"),
        "{a:#?}"
    );
    assert!(
        file(&b, "var/run/x").is_some() && !b.contains_key("run/x"),
        "{b:#?}"
    );

    let unpacked = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(s.root().join("layers"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".ovl"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(unpacked().len(), 4, "{:?}", unpacked());
    s.ok(&["rm", "linked"]);
    s.ok(&["rmi", "linked:1"]);
    assert_eq!(unpacked().len(), 2, "{:?}", unpacked());
    // what is left still serves the other image
    s.ok(&["rm", "plain"]);
    let again = merged(&s, "plain:1", "plain2");
    assert_eq!(again, b);
}

/// A layer that deletes a path and writes it again (`.wh.d` and `d/…` in one tar, as AUFS-era
/// tools write a replaced directory) shows only its own entries there, in both views.
#[test]
fn deleted_and_written_again_by_one_layer() {
    let s = Store::new();
    load(
        &s,
        "again:1",
        vec![
            Layer::new()
                .dir("d/")
                .file("d/old", "old")
                .file("f", "file")
                .dir("g/")
                .file("g/old", "old"),
            Layer::new()
                .file(".wh.d", "")
                .dir("d/")
                .file("d/new", "new")
                .file(".wh.f", "")
                .dir("f/")
                .file(".wh.g", "")
                .file("g", "now a file"),
        ],
    );
    let t = merged(&s, "again:1", "again");
    assert!(
        file(&t, "d/new").is_some() && !t.contains_key("d/old"),
        "{t:#?}"
    );
    assert!(is_dir(&t, "f"), "{t:#?}");
    assert!(
        file(&t, "g").is_some() && !t.contains_key("g/old"),
        "{t:#?}"
    );
}

/// Names, link targets and xattr values holding a newline byte travel in PAX records read by
/// their length: the layer loads, applies (unpacked for the overlay), reads as a changeset
/// for `export` with the same names, and is saved back byte for byte.
#[test]
fn newlines_in_pax_records_are_names_like_any_other() {
    let s = Store::new();
    let long = format!("{}\n{}", "b".repeat(80), "b".repeat(80));
    let target = format!("t\n{}", "u".repeat(120));
    let layer = || {
        Layer::new()
            .dir("g/")
            .pax(&[
                ("path", format!("g/{long}").as_bytes()),
                ("SCHILY.xattr.user.bin", b"\x01\n\x02"),
            ])
            .file("g/short-name", "data")
            .pax(&[("path", b"g/l\nk"), ("linkpath", target.as_bytes())])
            .symlink("g/other", "x")
    };
    let bytes = layer().bytes();
    load(&s, "nl:1", vec![layer()]);
    let t = merged(&s, "nl:1", "nl");
    assert!(file(&t, &format!("g/{long}")).is_some(), "{t:?}");
    assert_eq!(
        link(&t, "g/l\nk").as_deref(),
        Some(target.as_str()),
        "{t:?}"
    );
    assert!(
        !t.contains_key("g/short-name") && !t.contains_key("g/other"),
        "{t:?}"
    );

    // Saved, the layer is the very bytes loaded.
    let archive = s.scratch().join("nl-save.tar");
    s.ok(&["save", "-o", archive.to_str().unwrap(), "nl:1"]);
    let out = s.scratch().join("nl-save");
    std::fs::create_dir(&out).unwrap();
    e2e::sh(
        "tar",
        &[
            "-C",
            out.to_str().unwrap(),
            "-xf",
            archive.to_str().unwrap(),
        ],
    );
    let digest = sha256_bytes(&bytes);
    let saved = std::fs::read(out.join("blobs/sha256").join(&digest)).unwrap();
    assert!(
        saved == bytes,
        "the saved layer differs from the loaded one"
    );
}

/// `export` and `cp` out carry the extended attributes a layer kept: a file's capability set
/// (what `ping` needs) and `user.*` attributes, in the PAX records a tar reader applies.
#[test]
fn export_carries_the_attributes_a_layer_kept() {
    let s = Store::new();
    load(
        &s,
        "attrs:1",
        vec![Layer::new()
            .dir("bin/")
            .pax(&[
                ("SCHILY.xattr.security.capability", b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
                ("SCHILY.xattr.user.note", b"kept"),
            ])
            .file("bin/ping", "elf")],
    );
    s.ok(&["create", "--name", "attrs", "attrs:1", "true"]);
    let exported = s.scratch().join("attrs.tar");
    s.ok(&["export", "-o", exported.to_str().unwrap(), "attrs"]);
    let copied = s.command(&["cp", "attrs:/bin/ping", "-"]).output().unwrap();
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    for (what, bytes) in [
        ("export", std::fs::read(&exported).unwrap()),
        ("cp", copied.stdout),
    ] {
        let mut ar = tar::Archive::new(std::io::Cursor::new(bytes));
        let mut found = BTreeMap::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            if !e.path_bytes().ends_with(b"ping") {
                continue;
            }
            for r in e.pax_extensions().unwrap().into_iter().flatten() {
                let r = r.unwrap();
                found.insert(r.key().unwrap().to_string(), r.value_bytes().to_vec());
            }
        }
        assert_eq!(
            found.get("SCHILY.xattr.user.note").map(Vec::as_slice),
            Some(&b"kept"[..]),
            "{what}: {found:?}"
        );
        assert!(
            found.contains_key("SCHILY.xattr.security.capability"),
            "{what}: {found:?}"
        );
    }
}

/// One layer's entries apply in the order its tar lists them, each name through the symlinks
/// made before it (the layer's own and those below), as the kernel's root has them: a symlink
/// replacing the layer's own directory takes what the layer put in it along, and a chain of
/// links (absolute, with `..` after a missing name) is followed inside the root. `tree` and
/// `export` agree with the overlay mount.
#[test]
fn a_layer_applies_its_entries_in_the_order_listed() {
    let s = Store::new();
    load(
        &s,
        "order:1",
        vec![
            Layer::new()
                .dir("etc/")
                .file("etc/passwd", "root")
                .symlink("p", "/q"),
            Layer::new()
                // x is a file, a directory holding y, then a symlink: y goes with the
                // directory, z goes through the link
                .file("x", "1")
                .dir("x/")
                .file("x/y", "2")
                .symlink("x", "/etc")
                .file("x/z", "3")
                // a -> /b -> /c/../d: the file lands in /d, b stays a symlink
                .symlink("a", "/b")
                .symlink("b", "/c/../d")
                .dir("d/")
                .file("a/x", "z")
                // through the lower p -> /q, then this layer's own q -> /r, listed before
                .symlink("q", "/r")
                .dir("r/")
                .file("p/w", "w")
                // a hard link keeps the inode it shared when its target is replaced, the
                // layer's own or a lower one (copied up for the link)
                .file("f", "1")
                .hardlink("h", "f")
                .file("f", "2")
                .hardlink("g", "etc/passwd")
                .file("etc/passwd", "new"),
        ],
    );
    let t = merged(&s, "order:1", "order");
    assert_eq!(link(&t, "x").as_deref(), Some("/etc"), "{t:#?}");
    assert!(file(&t, "etc/z").is_some() && file(&t, "etc/passwd").is_some());
    assert!(!t.contains_key("etc/y"), "{t:#?}");
    assert_eq!(link(&t, "a").as_deref(), Some("/b"), "{t:#?}");
    assert_eq!(link(&t, "b").as_deref(), Some("/c/../d"), "{t:#?}");
    assert!(is_dir(&t, "d") && file(&t, "d/x").is_some(), "{t:#?}");
    assert!(!t.contains_key("c"), "{t:#?}");
    assert_eq!(link(&t, "q").as_deref(), Some("/r"), "{t:#?}");
    assert!(file(&t, "r/w").is_some(), "{t:#?}");
    assert_ne!(t.get("h"), t.get("f"), "{t:#?}");
    let exported = |p: &str| std::fs::read_to_string(s.scratch().join("order-export").join(p));
    assert_eq!(exported("h").unwrap(), "1");
    assert_eq!(exported("g").unwrap(), "root");
    assert_eq!(exported("etc/passwd").unwrap(), "new");

    let listing = s.ok(&["tree", "order:1"]);
    for gone in ["/etc/y", "/b/x", "/q/w"] {
        assert!(
            !listing
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(gone)),
            "{gone} listed:\n{listing}"
        );
    }
    for there in ["/etc/z", "/d/x", "/r/w"] {
        assert!(
            listing
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(there)),
            "{there} not listed:\n{listing}"
        );
    }
}

/// A 0:0 character device is overlayfs's whiteout: the kernel's overlay hides the path and
/// what it covers, so `tree` and `export` must too (Docker's overlay2 diff turns one into a
/// `.wh.` file).
#[test]
fn a_zero_zero_char_device_is_a_whiteout_everywhere() {
    let s = Store::new();
    load(
        &s,
        "wh0:1",
        vec![
            Layer::new()
                .file("wx", "lower")
                .dir("d/")
                .file("d/f", "f")
                .file("keep", "k"),
            Layer::new().char_dev("wx", 0, 0).char_dev("d", 0, 0),
        ],
    );
    let t = merged(&s, "wh0:1", "wh0");
    assert!(
        !t.contains_key("wx") && !t.contains_key("d") && !t.contains_key("d/f"),
        "{t:#?}"
    );
    assert!(file(&t, "keep").is_some(), "{t:#?}");
    let listing = s.ok(&["tree", "wh0:1", "/wx"]);
    assert!(listing.contains("(removed)"), "{listing}");
    assert!(!listing.contains("char"), "{listing}");
}

/// A sparse file at `dir/f`: `size` bytes, `data` written at `at`, the rest holes.
fn sparse_file(dir: &Path, size: u64, at: u64, data: &[u8]) {
    use std::io::{Seek, SeekFrom, Write};
    std::fs::create_dir_all(dir).unwrap();
    let mut f = std::fs::File::create(dir.join("f")).unwrap();
    f.set_len(size).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(data).unwrap();
}

/// `dir/f` archived by GNU tar in the PAX sparse format `version` (0.0, 0.1 or 1.0).
fn gnu_sparse_tar(dir: &Path, version: &str, out: &Path) {
    e2e::sh(
        "tar",
        &[
            "--sparse",
            "--format=posix",
            &format!("--sparse-version={version}"),
            "-C",
            dir.to_str().unwrap(),
            "-cf",
            out.to_str().unwrap(),
            "f",
        ],
    );
}

/// GNU tar's PAX sparse formats (`tar --sparse --format=posix --sparse-version=0.0|0.1|1.0`)
/// read as Docker's Go reader expands them, by every reader of the layer: after `import`,
/// `export` of a container and the kernel overlay of its unpacked layers both hold the original
/// file, byte for byte, and the image's size is Docker's measure, the file's real size. A
/// sparse bomb in the same formats (a huge real size over a few bytes) is refused at import.
#[test]
fn gnu_tar_pax_sparse_files_are_expanded_everywhere() {
    let s = Store::new();
    let src = s.scratch().join("sparse-src");
    let size = 10u64 << 20;
    sparse_file(&src, size, 5 << 20, b"abc");
    let original = tree(&src);
    for version in ["0.0", "0.1", "1.0"] {
        let short = version.replace('.', "");
        let tar = s.scratch().join(format!("sparse-{short}.tar"));
        gnu_sparse_tar(&src, version, &tar);
        // GNU tar stored the holes as a map: the tar is a few blocks, not 10 MiB.
        assert!(
            std::fs::metadata(&tar).unwrap().len() < 64 << 10,
            "{version}"
        );
        let image = format!("sparse{short}:1");
        s.ok(&["import", tar.to_str().unwrap(), &image]);
        assert_eq!(
            s.inspect(&image)["Size"].as_u64(),
            Some(size),
            "{version}: the image's size is the file's real size"
        );
        let t = merged(&s, &image, &format!("sparse{short}"));
        let names: Vec<&String> = t.keys().collect();
        assert_eq!(names, ["f"], "{version}: {t:#?}");
        assert_eq!(t.get("f"), original.get("f"), "{version}: content differs");
        let listing = s.ok(&["tree", &image, "/f"]);
        assert!(listing.contains("10.5MB"), "{version}: {listing}");
    }

    // Bombs: 1 GiB over 3 bytes, in each format, refused at import with nothing stored.
    let bomb = s.scratch().join("sparse-bomb");
    sparse_file(&bomb, 1 << 30, 0, b"abc");
    for version in ["0.0", "0.1", "1.0"] {
        let tar = s
            .scratch()
            .join(format!("bomb-{}.tar", version.replace('.', "")));
        gnu_sparse_tar(&bomb, version, &tar);
        let before = s.snapshot();
        let (_, err) = s.fail(&["import", tar.to_str().unwrap(), "bomb:1"]);
        assert!(
            err.contains("entry \"f\": sparse file of 1073741824 bytes")
                && err.contains("sparse holes exceed the limit"),
            "{version}: {err}"
        );
        assert_eq!(
            s.snapshot(),
            before,
            "{version}: a refused import changed the store"
        );
    }
}
