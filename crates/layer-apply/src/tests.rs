//! Apply, pack and resolve against real temporary directories, with tars built by the `tar`
//! crate (hostile names written straight into the header, past the builder's checks). Every
//! confinement test runs twice: with the kernel resolver (`openat2`) and with the emulation.

use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::fs;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use expect_test::{expect, Expect};
use tar::{EntryType, Header};
use tempfile::TempDir;

use crate::root::{force_fallback, Root};
use crate::{
    apply, apply_on, open_in_root, pack_dir, resolve_in_root, scan_dir, ApplyError, ApplyOptions,
    ApplyStats, ErrorKind, Limits, Mode,
};

/// The mtime every test entry gets unless it says otherwise.
const T: u64 = 1_600_000_000;

fn is_root() -> bool {
    crate::sys::euid() == 0
}

// ---------------------------------------------------------------------------------------------
// Building layers

/// A layer tar, entry by entry.
struct Layer(tar::Builder<Vec<u8>>);

fn header(ty: EntryType, mode: u32) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(ty);
    h.set_mode(mode);
    h.set_mtime(T);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(0);
    h
}

impl Layer {
    fn new() -> Self {
        Layer(tar::Builder::new(Vec::new()))
    }

    fn file(self, path: &str, data: &[u8]) -> Self {
        self.file_with(path, data, header(EntryType::Regular, 0o644))
    }

    fn file_with(mut self, path: &str, data: &[u8], mut h: Header) -> Self {
        h.set_size(data.len() as u64);
        self.0.append_data(&mut h, path, data).unwrap();
        self
    }

    fn dir(self, path: &str) -> Self {
        self.node(path, header(EntryType::Directory, 0o755))
    }

    /// An entry without data (directory, device, FIFO) with the given header.
    fn node(mut self, path: &str, mut h: Header) -> Self {
        self.0.append_data(&mut h, path, std::io::empty()).unwrap();
        self
    }

    fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = header(EntryType::Symlink, 0o777);
        self.0.append_link(&mut h, path, target).unwrap();
        self
    }

    fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut h = header(EntryType::Link, 0o644);
        self.0.append_link(&mut h, path, target).unwrap();
        self
    }

    fn pax<V: AsRef<[u8]>>(mut self, records: &[(&str, V)]) -> Self {
        self.0
            .append_pax_extensions(records.iter().map(|(k, v)| (*k, v.as_ref())))
            .unwrap();
        self
    }

    /// An entry whose name (and link name) go into the header as raw bytes, so names the
    /// builder refuses (`../x`) can be written.
    fn raw(mut self, name: &[u8], ty: EntryType, data: &[u8], link: &[u8]) -> Self {
        let mut h = header(ty, 0o644);
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        h.set_size(data.len() as u64);
        h.set_cksum();
        self.0.append(&h, data).unwrap();
        self
    }

    /// A header as given, followed by `data` (which may be shorter than the declared size).
    fn header_only(mut self, h: &Header, data: &[u8]) -> Self {
        self.0.get_mut().extend_from_slice(h.as_bytes());
        self.0.get_mut().extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.0.get_mut().extend(std::iter::repeat_n(0u8, pad));
        self
    }

    fn bytes(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

fn opts(mode: Mode) -> ApplyOptions {
    ApplyOptions {
        mode,
        ..ApplyOptions::default()
    }
}

fn apply_layer(root: &Path, layer: Layer) -> Result<ApplyStats, ApplyError> {
    apply(root, layer.bytes().as_slice(), &opts(Mode::Merge))
}

fn apply_ok(root: &Path, layer: Layer) -> ApplyStats {
    apply_layer(root, layer).unwrap()
}

/// Runs `f` once with each resolver, with the resolver's name for messages.
fn both(f: impl Fn(&str)) {
    for fallback in [false, true] {
        force_fallback(fallback);
        let probe = tempfile::tempdir().unwrap();
        let uses = Root::open(probe.path()).unwrap().uses_openat2();
        if fallback {
            assert!(!uses, "the fallback was not forced");
        } else if !uses {
            eprintln!("openat2 unavailable here: the kernel resolver is not exercised");
        }
        f(if fallback { "fallback" } else { "openat2" });
    }
    force_fallback(false);
}

/// How deep the root sits inside the sandbox: a broken resolver following `..` or an absolute
/// symlink out of the root would land in the sandbox (caught, and harmless) rather than on the
/// host, for climbs of up to this many levels.
const DEPTH: usize = 8;

/// A root nested `DEPTH` directories inside a private parent, with a sentinel file beside each
/// level, so that "nothing outside the root changed" can be checked.
struct Sandbox {
    parent: TempDir,
    rel: String,
}

impl Sandbox {
    fn new() -> Self {
        let parent = tempfile::tempdir().unwrap();
        let mut rel = String::new();
        fs::write(parent.path().join("sentinel"), "outside").unwrap();
        for i in 0..DEPTH {
            rel += &format!("o{i}/");
            fs::create_dir(parent.path().join(&rel)).unwrap();
            fs::write(parent.path().join(&rel).join("sentinel"), "outside").unwrap();
        }
        rel += "root";
        fs::create_dir(parent.path().join(&rel)).unwrap();
        Sandbox { parent, rel }
    }

    fn root(&self) -> std::path::PathBuf {
        self.parent.path().join(&self.rel)
    }

    /// The sentinel beside the root.
    fn sentinel(&self) -> std::path::PathBuf {
        self.root().parent().unwrap().join("sentinel")
    }

    /// Everything outside the root is as `new` left it.
    fn assert_outside_untouched(&self, resolver: &str) {
        let root_rel = self.rel.clone();
        let mut seen = Vec::new();
        walk(self.parent.path(), "", &mut |rel, md, path| {
            if rel == root_rel || rel.starts_with(&format!("{root_rel}/")) {
                return;
            }
            if md.is_file() {
                assert_eq!(
                    fs::read_to_string(path).unwrap(),
                    "outside",
                    "{resolver}: {rel} changed"
                );
            }
            seen.push(rel.to_string());
        });
        let mut want = vec!["sentinel".to_string()];
        let mut rel = String::new();
        for i in 0..DEPTH {
            rel += &format!("o{i}");
            want.push(rel.clone());
            want.push(format!("{rel}/sentinel"));
            rel += "/";
        }
        want.sort();
        seen.sort();
        assert_eq!(
            seen, want,
            "{resolver}: something appeared outside the root"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Looking at trees

/// One line per path under `root`: name, type, permission bits and what it holds.
fn tree(root: &Path) -> String {
    let mut out = Vec::new();
    walk(root, "", &mut |rel, md, path| {
        let mode = md.permissions().mode() & 0o7777;
        let ft = md.file_type();
        let what = if ft.is_dir() {
            "dir".to_string()
        } else if ft.is_symlink() {
            format!("link -> {}", fs::read_link(path).unwrap().display())
        } else if ft.is_file() {
            let data = fs::read(path).unwrap();
            let links = if md.nlink() > 1 {
                format!(" nlink={}", md.nlink())
            } else {
                String::new()
            };
            format!("file {:?}{links}", String::from_utf8_lossy(&data))
        } else {
            format!("special {:?}", ft)
        };
        if ft.is_symlink() {
            out.push(format!("{rel} {what}"));
        } else {
            out.push(format!("{rel} {mode:o} {what}"));
        }
    });
    out.join("\n")
}

fn check_tree(root: &Path, expect: Expect) {
    expect.assert_eq(&tree(root));
}

fn walk(dir: &Path, prefix: &str, f: &mut dyn FnMut(&str, &fs::Metadata, &Path)) {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in names {
        let path = dir.join(&name);
        let rel = format!("{prefix}{}", name.as_bytes().escape_ascii());
        let md = fs::symlink_metadata(&path).unwrap();
        f(&rel, &md, &path);
        if md.is_dir() {
            walk(&path, &format!("{rel}/"), f);
        }
    }
}

/// Everything `pack_dir` promises to keep, one line per path.
fn describe(root: &Path) -> String {
    let mut first: HashMap<(u64, u64), String> = HashMap::new();
    let mut out = Vec::new();
    walk(root, "", &mut |rel, md, path| {
        let ft = md.file_type();
        let mut line = format!(
            "{rel} mode={:o} owner={}:{} mtime={}",
            md.mode(),
            md.uid(),
            md.gid(),
            md.mtime()
        );
        if ft.is_symlink() {
            line += &format!(
                " -> {}",
                fs::read_link(path)
                    .unwrap()
                    .as_os_str()
                    .as_bytes()
                    .escape_ascii()
            );
        } else if ft.is_file() {
            let data = fs::read(path).unwrap();
            line += &format!(" size={} sum={:x}", data.len(), fnv(&data));
        } else if ft.is_char_device() || ft.is_block_device() {
            line += &format!(" rdev={:x}", md.rdev());
        }
        if !ft.is_dir() && md.nlink() > 1 {
            let group = first
                .entry((md.dev(), md.ino()))
                .or_insert_with(|| rel.to_string());
            line += &format!(" inode={group}");
        }
        let c = CString::new(path.as_os_str().as_bytes()).unwrap();
        for (k, v) in crate::sys::lxattrs(&c).unwrap() {
            if k.starts_with(b"security.") {
                continue; // selinux labels differ by location
            }
            line += &format!(" xattr:{}={}", k.escape_ascii(), v.escape_ascii());
        }
        out.push(line);
    });
    out.join("\n")
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn set_times(path: &Path, secs: i64) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    let ts = libc::timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    // SAFETY: valid path and two timespecs.
    let r = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            [ts, ts].as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    assert_eq!(r, 0, "utimensat {}", path.display());
}

fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = CString::new(name).unwrap();
    crate::sys::lsetxattr(&c, &n, value).unwrap();
}

fn xattrs(path: &Path) -> Vec<(String, String)> {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    crate::sys::lxattrs(&c)
        .unwrap()
        .into_iter()
        .filter(|(k, _)| !k.starts_with(b"security."))
        .map(|(k, v)| (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Applying ordinary layers

#[test]
fn files_dirs_symlinks_hardlinks() {
    both(|_| {
        let dir = tempfile::tempdir().unwrap();
        let stats = apply_ok(
            dir.path(),
            Layer::new()
                .dir("etc/")
                .file("etc/hostname", b"box\n")
                .file("./bin/sh", b"sh") // parent created on the way
                .symlink("bin/bash", "sh")
                .hardlink("etc/hn", "etc/hostname")
                .symlink("abs", "/etc/hostname")
                .dir("./empty/"),
        );
        check_tree(
            dir.path(),
            expect![[r#"
                abs link -> /etc/hostname
                bin 755 dir
                bin/bash link -> sh
                bin/sh 644 file "sh"
                empty 755 dir
                etc 755 dir
                etc/hn 644 file "box\n" nlink=2
                etc/hostname 644 file "box\n" nlink=2"#]],
        );
        assert_eq!(
            stats,
            ApplyStats {
                entries: 7,
                bytes: 6,
                skipped_devices: 0,
                whiteouts: 0
            }
        );
        let a = fs::metadata(dir.path().join("etc/hn")).unwrap();
        let b = fs::metadata(dir.path().join("etc/hostname")).unwrap();
        assert_eq!(a.ino(), b.ino());
    });
}

#[test]
fn modes_are_data_and_times_are_kept() {
    both(|resolver| {
        let dir = tempfile::tempdir().unwrap();
        let mut dir_h = header(EntryType::Directory, 0o555); // read-only, yet gets a child
        dir_h.set_mtime(1_100_000_000);
        let mut sym = header(EntryType::Symlink, 0o777);
        sym.set_mtime(1_200_000_000);
        let mut layer = Layer::new()
            .file_with("suid", b"x", header(EntryType::Regular, 0o4755))
            .file_with("sgid", b"x", header(EntryType::Regular, 0o2711))
            .file_with("none", b"x", header(EntryType::Regular, 0o000))
            .node("tmp/", header(EntryType::Directory, 0o1777))
            .node("ro/", dir_h)
            .file("ro/child", b"c")
            .pax(&[("mtime", "1300000000.25")])
            .file("precise", b"p");
        layer.0.append_link(&mut sym, "sym", "suid").unwrap();
        apply_ok(dir.path(), layer);
        let mode = |p: &str| fs::symlink_metadata(dir.path().join(p)).unwrap().mode() & 0o7777;
        assert_eq!(mode("suid"), 0o4755, "{resolver}");
        assert_eq!(mode("sgid"), 0o2711);
        assert_eq!(mode("none"), 0o000);
        assert_eq!(mode("tmp"), 0o1777);
        assert_eq!(mode("ro"), 0o555);
        let md = |p: &str| fs::symlink_metadata(dir.path().join(p)).unwrap();
        assert_eq!(md("suid").mtime(), T as i64);
        assert_eq!(
            md("ro").mtime(),
            1_100_000_000,
            "directory mtime set after its children"
        );
        assert_eq!(md("sym").mtime(), 1_200_000_000, "symlink's own mtime");
        assert_eq!(
            (md("precise").mtime(), md("precise").mtime_nsec()),
            (1_300_000_000, 250_000_000)
        );
        assert_eq!(fs::read(dir.path().join("ro/child")).unwrap(), b"c");
    });
}

#[test]
fn owners_only_with_same_owner() {
    let layer = || {
        let mut h = header(EntryType::Regular, 0o644);
        h.set_uid(1234);
        h.set_gid(5678);
        let mut d = header(EntryType::Directory, 0o755);
        d.set_uid(1234);
        d.set_gid(5678);
        let mut s = header(EntryType::Symlink, 0o777);
        s.set_uid(1234);
        s.set_gid(5678);
        let mut l = Layer::new().file_with("f", b"x", h).node("d/", d);
        l.0.append_link(&mut s, "s", "f").unwrap();
        l.bytes()
    };
    let owner = |root: &Path, p: &str| {
        let md = fs::symlink_metadata(root.join(p)).unwrap();
        (md.uid(), md.gid())
    };
    let dir = tempfile::tempdir().unwrap();
    let o = ApplyOptions {
        same_owner: false,
        ..ApplyOptions::default()
    };
    apply(dir.path(), layer().as_slice(), &o).unwrap();
    let me = (crate::sys::euid(), unsafe { libc::getegid() });
    for p in ["f", "d", "s"] {
        assert_eq!(owner(dir.path(), p), me, "{p} without same_owner");
    }
    if !is_root() {
        eprintln!("not root: same_owner = true is not exercised");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = ApplyOptions {
        same_owner: true,
        ..ApplyOptions::default()
    };
    apply(dir.path(), layer().as_slice(), &o).unwrap();
    for p in ["f", "d", "s"] {
        assert_eq!(owner(dir.path(), p), (1234, 5678), "{p} with same_owner");
    }
}

#[test]
fn existing_entries_are_replaced_never_written_through() {
    both(|resolver| {
        let sb = Sandbox::new();
        let root = sb.root();
        let victim = sb.sentinel();
        apply_ok(
            &root,
            Layer::new()
                .file("f", b"file")
                .dir("d/")
                .file("d/inner/x", b"x")
                .symlink("s", victim.to_str().unwrap())
                .node("keep/", header(EntryType::Directory, 0o700))
                .file("keep/old", b"old")
                .file("h", b"h")
                .file("f2", b"f2"),
        );
        let mut keep = header(EntryType::Directory, 0o750);
        keep.set_mtime(1_000_000_000);
        apply_ok(
            &root,
            Layer::new()
                .dir("f/") // file replaced by directory
                .file("f/child", b"c")
                .file("d", b"now a file") // directory replaced by file
                .file("s", b"replaced") // symlink replaced, its target untouched
                .node("keep/", keep) // directory over directory keeps contents
                .hardlink("h", "f2"),
        );
        check_tree(
            &root,
            expect![[r#"
                d 644 file "now a file"
                f 755 dir
                f/child 644 file "c"
                f2 644 file "f2" nlink=2
                h 644 file "f2" nlink=2
                keep 750 dir
                keep/old 644 file "old"
                s 644 file "replaced""#]],
        );
        assert_eq!(
            fs::metadata(root.join("keep")).unwrap().mtime(),
            1_000_000_000
        );
        sb.assert_outside_untouched(resolver);
    });
}

// ---------------------------------------------------------------------------------------------
// Whiteouts

#[test]
fn whiteouts_delete_in_merge_mode() {
    both(|_| {
        let dir = tempfile::tempdir().unwrap();
        apply_ok(
            dir.path(),
            Layer::new()
                .file("a/f1", b"1")
                .file("a/f2", b"2")
                .file("d/x/y", b"y")
                .file("target/t", b"t")
                .symlink("link", "target")
                .file("keep", b"k"),
        );
        let stats = apply_ok(
            dir.path(),
            Layer::new()
                .file("a/.wh.f1", b"")
                .file(".wh.d", b"")
                .file(".wh.link", b"") // the symlink goes, not what it points at
                .file("a/.wh.nonexistent", b"")
                .file("missing/.wh.x", b"")
                .file("a/.wh..wh.plnk", b""), // metadata: skipped
        );
        assert_eq!(stats.whiteouts, 5);
        check_tree(
            dir.path(),
            expect![[r#"
                a 755 dir
                a/f2 644 file "2"
                keep 644 file "k"
                target 755 dir
                target/t 644 file "t""#]],
        );
    });
}

#[test]
fn opaque_marker_keeps_this_layers_entries() {
    both(|_| {
        for marker_first in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            apply_ok(
                dir.path(),
                Layer::new()
                    .file("d/old1", b"o")
                    .file("d/olddir/sub", b"o")
                    .file("d/kept/oldchild", b"o")
                    .file("other/o", b"o")
                    .symlink("s", "other"),
            );
            let mut layer = Layer::new();
            if marker_first {
                layer = layer.file("d/.wh..wh..opq", b"");
            }
            layer = layer
                .file("d/new1", b"n")
                .dir("d/kept/")
                .file("d/kept/newchild", b"n");
            if !marker_first {
                layer = layer.file("d/.wh..wh..opq", b"");
            }
            layer = layer
                .file("d/new2", b"n")
                .file("s/.wh..wh..opq", b"") // through a symlink: nothing happens
                .file("fresh/deep/x", b"x")
                .file("fresh/.wh..wh..opq", b""); // auto-created parents count as written
            let stats = apply_ok(dir.path(), layer);
            assert_eq!(stats.whiteouts, 3);
            check_tree(
                dir.path(),
                expect![[r#"
                    d 755 dir
                    d/kept 755 dir
                    d/kept/newchild 644 file "n"
                    d/new1 644 file "n"
                    d/new2 644 file "n"
                    fresh 755 dir
                    fresh/deep 755 dir
                    fresh/deep/x 644 file "x"
                    other 755 dir
                    other/o 644 file "o"
                    s link -> other"#]],
            );
        }
    });
}

#[test]
fn opaque_marker_at_the_root() {
    both(|_| {
        let dir = tempfile::tempdir().unwrap();
        apply_ok(dir.path(), Layer::new().file("a", b"a").file("b/c", b"c"));
        apply_ok(
            dir.path(),
            Layer::new().file("new", b"n").file("./.wh..wh..opq", b""),
        );
        check_tree(dir.path(), expect![[r#"new 644 file "n""#]]);
    });
}

#[test]
fn unpack_mode_keeps_markers() {
    both(|_| {
        let dir = tempfile::tempdir().unwrap();
        let layer = Layer::new()
            .file("a/.wh.f1", b"junk") // data on a whiteout is dropped
            .dir("d/")
            .file("d/.wh..wh..opq", b"")
            .file("d/x", b"x");
        let stats = apply(dir.path(), layer.bytes().as_slice(), &opts(Mode::Unpack)).unwrap();
        assert_eq!(stats.whiteouts, 2);
        check_tree(
            dir.path(),
            expect![[r#"
                a 755 dir
                a/.wh.f1 644 file ""
                d 755 dir
                d/.wh..wh..opq 644 file ""
                d/x 644 file "x""#]],
        );
        // Packed again, the layer means the same to the codec the rest of Strata reads with.
        let mut tar = Vec::new();
        pack_dir(dir.path(), &mut tar).unwrap();
        let cs = layer_diff::read_changeset(tar.as_slice()).unwrap();
        let names: Vec<String> = cs
            .iter()
            .map(|e| format!("{} {}", e.kind.name(), e.path))
            .collect();
        expect![[r#"
            dir a
            whiteout a/f1
            dir d
            opaque d
            file d/x"#]]
        .assert_eq(&names.join("\n"));
    });
}

// ---------------------------------------------------------------------------------------------
// Hostile names

#[test]
fn dotdot_leaving_the_root_is_refused() {
    both(|resolver| {
        let sb = Sandbox::new();
        for name in [
            "../etc/passwd",
            "a/../../x",
            "/../x",
            "./../sentinel",
            "a/b/../../../x",
        ] {
            let err = apply_layer(
                &sb.root(),
                Layer::new().raw(name.as_bytes(), EntryType::Regular, b"pwned", b""),
            )
            .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{name}");
            assert_eq!(
                err.to_string(),
                format!("refusing {name:?}: path leaves the root")
            );
            // Also as a directory and as a symlink's name.
            let err = apply_layer(
                &sb.root(),
                Layer::new().raw(name.as_bytes(), EntryType::Directory, b"", b""),
            )
            .unwrap_err();
            assert!(matches!(err, ApplyError::LeavesRoot { .. }), "{err}");
            let err = apply_layer(
                &sb.root(),
                Layer::new().raw(name.as_bytes(), EntryType::Symlink, b"", b"/"),
            )
            .unwrap_err();
            assert!(matches!(err, ApplyError::LeavesRoot { .. }), "{err}");
        }
        sb.assert_outside_untouched(resolver);
        // Names that stay inside after `..` are fine, like Docker's `filepath.Clean`.
        apply_ok(
            &sb.root(),
            Layer::new().raw(b"a/../ok", EntryType::Regular, b"ok", b""),
        );
        assert_eq!(fs::read(sb.root().join("ok")).unwrap(), b"ok");
        sb.assert_outside_untouched(resolver);
    });
}

#[test]
fn absolute_names_land_in_the_root() {
    both(|resolver| {
        let sb = Sandbox::new();
        let outside = sb.sentinel();
        apply_ok(
            &sb.root(),
            Layer::new()
                .raw(b"/x", EntryType::Regular, b"x", b"")
                .raw(b"/abs/dir/y", EntryType::Regular, b"y", b"")
                .raw(
                    outside.as_os_str().as_bytes(),
                    EntryType::Regular,
                    b"pwned",
                    b"",
                ),
        );
        assert_eq!(fs::read(sb.root().join("x")).unwrap(), b"x");
        assert_eq!(fs::read(sb.root().join("abs/dir/y")).unwrap(), b"y");
        let inside = sb.root().join(outside.strip_prefix("/").unwrap());
        assert_eq!(fs::read(inside).unwrap(), b"pwned");
        sb.assert_outside_untouched(resolver);
    });
}

#[test]
fn absolute_symlink_cannot_carry_entries_out() {
    both(|resolver| {
        let sb = Sandbox::new();
        let root = sb.root();
        let outside = sb.root().parent().unwrap().to_str().unwrap().to_string();
        // `evil -> <the real parent directory>`, then `evil/f`: the parent's path does not exist
        // inside the root, so the entry fails instead of landing on the host.
        let err = apply_layer(
            &root,
            Layer::new()
                .symlink("evil", &outside)
                .file("evil/f", b"pwned"),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{resolver}: {err}");
        assert!(
            err.to_string()
                .starts_with("creating parent directory of \"evil/f\""),
            "{err}"
        );
        sb.assert_outside_untouched(resolver);

        // With the same path present inside the root, the entry lands there.
        let mirror = outside.trim_start_matches('/').to_string();
        apply_ok(
            &root,
            Layer::new()
                .dir(&format!("{mirror}/"))
                .symlink("evil", &outside)
                .file("evil/f", b"inside")
                .symlink("evil2", &format!("{outside}{}{outside}", "/..".repeat(20)))
                .file("evil2/g", b"inside too"),
        );
        assert_eq!(fs::read(root.join(&mirror).join("f")).unwrap(), b"inside");
        assert_eq!(
            fs::read(root.join(&mirror).join("g")).unwrap(),
            b"inside too"
        );
        sb.assert_outside_untouched(resolver);

        // A symlink left by a lower layer is no different.
        apply_ok(&root, Layer::new().file("evil/h", b"inside"));
        assert!(root.join(&mirror).join("h").exists());
        sb.assert_outside_untouched(resolver);

        // Nor are whiteouts and opaque markers beneath it: they delete inside the root only.
        apply_ok(
            &root,
            Layer::new()
                .file("evil/sentinel", b"mirror")
                .file("evil/o0/keep", b"k"),
        );
        let stats = apply_ok(
            &root,
            Layer::new()
                .file("evil/.wh.sentinel", b"")
                .file("evil/o0/.wh..wh..opq", b""),
        );
        assert_eq!(stats.whiteouts, 2);
        assert!(!root.join(&mirror).join("sentinel").exists(), "{resolver}");
        assert!(!root.join(&mirror).join("o0/keep").exists(), "{resolver}");
        sb.assert_outside_untouched(resolver);
    });
}

/// `ln -s /etc evil` then `evil/<name>` writes `<root>/etc/<name>`. The name is one the host
/// cannot have, so that a broken resolver run as root creates a stray file in the host's /etc
/// (removed again below) instead of overwriting `/etc/passwd`.
#[test]
fn symlink_to_etc_writes_the_roots_etc() {
    both(|resolver| {
        let name = format!("layer-apply-test-{}-{resolver}", std::process::id());
        let host = Path::new("/etc").join(&name);
        assert!(!host.exists());
        let dir = tempfile::tempdir().unwrap();
        let result = apply_layer(
            dir.path(),
            Layer::new()
                .dir("etc/")
                .symlink("evil", "/etc")
                .file(&format!("evil/{name}"), b"pwned"),
        );
        let escaped = host.exists();
        let _ = fs::remove_file(&host);
        assert!(!escaped, "{resolver}: wrote the host's {}", host.display());
        result.unwrap();
        assert_eq!(
            fs::read(dir.path().join("etc").join(&name)).unwrap(),
            b"pwned",
            "{resolver}"
        );
        // Without an etc/ in the root, the entry fails.
        let dir = tempfile::tempdir().unwrap();
        let result = apply_layer(
            dir.path(),
            Layer::new()
                .symlink("evil", "/etc")
                .file(&format!("evil/{name}"), b"pwned"),
        );
        let escaped = host.exists();
        let _ = fs::remove_file(&host);
        assert!(!escaped, "{resolver}: wrote the host's {}", host.display());
        let err = result.unwrap_err();
        assert_eq!(
            err.io_error().unwrap().kind(),
            std::io::ErrorKind::NotFound,
            "{err}"
        );
    });
}

#[test]
fn relative_symlink_climbing_stops_at_the_root() {
    both(|resolver| {
        let sb = Sandbox::new();
        let root = sb.root();
        apply_ok(
            &root,
            Layer::new()
                .symlink("up", "../../..")
                .file("up/x", b"x")
                .dir("a/b/")
                .symlink("a/b/up2", "../../../../../..")
                .file("a/b/up2/y", b"y")
                .symlink("a/chain", "b/up2/../..")
                .file("a/chain/sentinel", b"inside")
                .symlink("dots", "..")
                .file("dots/dots/z", b"z"),
        );
        assert_eq!(fs::read(root.join("x")).unwrap(), b"x", "{resolver}");
        assert_eq!(fs::read(root.join("y")).unwrap(), b"y");
        assert_eq!(fs::read(root.join("sentinel")).unwrap(), b"inside");
        assert_eq!(fs::read(root.join("z")).unwrap(), b"z");
        sb.assert_outside_untouched(resolver);
    });
}

#[test]
fn hardlinks_must_point_inside_at_an_existing_non_directory() {
    both(|resolver| {
        let sb = Sandbox::new();
        let root = sb.root();
        let host_links = fs::metadata("/etc/passwd").unwrap().nlink();
        let cases: [(&str, Layer, &str); 6] = [
            (
                "absolute",
                Layer::new().hardlink("a", "/etc/passwd"),
                r#"hardlink "a" -> "/etc/passwd": target does not exist"#,
            ),
            (
                "dotdot",
                Layer::new().hardlink("a", "../sentinel"),
                r#"hardlink "a" -> "../sentinel": target outside the root"#,
            ),
            (
                "deep dotdot",
                Layer::new().hardlink("a", "x/../../root/f"),
                r#"hardlink "a" -> "x/../../root/f": target outside the root"#,
            ),
            (
                "directory",
                Layer::new().dir("d/").hardlink("a", "d"),
                r#"hardlink "a" -> "d": target is a directory"#,
            ),
            (
                "missing",
                Layer::new().hardlink("a", "b"),
                r#"hardlink "a" -> "b": target does not exist"#,
            ),
            (
                "through symlink",
                Layer::new()
                    .symlink("evil", "/etc")
                    .hardlink("a", "evil/passwd"),
                r#"hardlink "a" -> "evil/passwd": target does not exist"#,
            ),
        ];
        for (what, layer, msg) in cases {
            let err = apply_layer(&root, layer).unwrap_err();
            assert_eq!(err.to_string(), msg, "{resolver}: {what}");
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
            assert!(!root.join("a").exists(), "{what}");
        }
        assert_eq!(fs::metadata("/etc/passwd").unwrap().nlink(), host_links);
        sb.assert_outside_untouched(resolver);
        // Through a symlink, resolved inside the root, to a file that is there: fine.
        apply_ok(
            &root,
            Layer::new()
                .file("etc/hostname", b"box")
                .symlink("evil2", "/etc")
                .hardlink("a", "evil2/hostname")
                .raw(b"/b", EntryType::Link, b"", b"/etc/hostname"),
        );
        let ino = |p: &str| fs::metadata(root.join(p)).unwrap().ino();
        assert_eq!(ino("a"), ino("etc/hostname"));
        assert_eq!(ino("b"), ino("etc/hostname"));
        sb.assert_outside_untouched(resolver);
    });
}

// ---------------------------------------------------------------------------------------------
// Limits

#[test]
fn entry_limit() {
    let dir = tempfile::tempdir().unwrap();
    let o = ApplyOptions {
        limits: Limits {
            max_entries: 3,
            ..Limits::default()
        },
        ..ApplyOptions::default()
    };
    let layer = Layer::new()
        .file("1", b"")
        .file("2", b"")
        .file("3", b"")
        .file("4", b"")
        .file("5", b"");
    let err = apply(dir.path(), layer.bytes().as_slice(), &o).unwrap_err();
    assert_eq!(err.to_string(), "layer exceeds the limit of 3 entries");
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert!(dir.path().join("3").exists());
    assert!(!dir.path().join("4").exists());
}

#[test]
fn byte_limit_refuses_before_writing() {
    let limited = |max_bytes| ApplyOptions {
        limits: Limits {
            max_bytes,
            ..Limits::default()
        },
        ..ApplyOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let layer = Layer::new().file("a", &[1; 60]).file("b", &[2; 60]);
    let err = apply(dir.path(), layer.bytes().as_slice(), &limited(100)).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"layer exceeds the limit of 100 bytes (entry "b" declares 60)"#
    );
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert_eq!(fs::read(dir.path().join("a")).unwrap().len(), 60);
    assert!(!dir.path().join("b").exists());

    // A header declaring 1 TiB with no data behind it: refused on the header alone.
    let mut h = header(EntryType::Regular, 0o644);
    h.set_path("bomb").unwrap();
    h.set_size(1 << 40);
    h.set_cksum();
    let err = apply(
        dir.path(),
        Layer::new().header_only(&h, b"").bytes().as_slice(),
        &ApplyOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ApplyError::TooManyBytes { size, .. } if size == 1 << 40),
        "{err}"
    );
    assert!(!dir.path().join("bomb").exists());

    // A GNU sparse file: 512 bytes of data claiming a 4 GiB file.
    let sparse = |real: u64| {
        let mut h = header(EntryType::GNUSparse, 0o644);
        h.set_path("sparse").unwrap();
        h.set_size(512);
        let gnu = h.as_gnu_mut().unwrap();
        gnu.set_real_size(real);
        gnu.sparse[0].set_offset(0);
        gnu.sparse[0].set_length(512);
        gnu.sparse[1].set_offset(real); // GNU's terminator: an empty block at the end
        gnu.sparse[1].set_length(0);
        h.set_cksum();
        Layer::new().header_only(&h, &[7; 512]).bytes()
    };
    let err = apply(dir.path(), sparse(4 << 30).as_slice(), &limited(1 << 20)).unwrap_err();
    assert!(
        matches!(err, ApplyError::TooManyBytes { size, .. } if size == 4 << 30),
        "{err}"
    );
    assert!(!dir.path().join("sparse").exists());
    // Within the limit it is written, holes and all.
    let stats = apply(dir.path(), sparse(1 << 20).as_slice(), &limited(1 << 20)).unwrap();
    assert_eq!(stats.bytes, 1 << 20);
    let data = fs::read(dir.path().join("sparse")).unwrap();
    assert_eq!(data.len(), 1 << 20);
    assert!(data[..512].iter().all(|&b| b == 7) && data[512..].iter().all(|&b| b == 0));
}

#[test]
fn name_and_metadata_limits() {
    let dir = tempfile::tempdir().unwrap();
    let long = "n".repeat(256);
    let err = apply_layer(dir.path(), Layer::new().file(&format!("d/{long}"), b"")).unwrap_err();
    assert!(
        matches!(
            err,
            ApplyError::NameTooLong {
                len: 256,
                limit: 255,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Limit);

    let deep = vec!["p".repeat(100); 50].join("/"); // 5049 bytes
    let err = apply_layer(dir.path(), Layer::new().file(&deep, b"")).unwrap_err();
    assert!(
        err.to_string()
            .ends_with(": path too long (5049 bytes, limit 4096)"),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Limit);

    let o = ApplyOptions {
        limits: Limits {
            max_path_len: 50,
            ..Limits::default()
        },
        ..ApplyOptions::default()
    };
    let err = apply(
        dir.path(),
        Layer::new().file(&"q/".repeat(30), b"").bytes().as_slice(),
        &o,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ApplyError::PathTooLong {
                len: 60,
                limit: 50,
                ..
            }
        ),
        "{err}"
    );
    let err = apply(
        dir.path(),
        Layer::new()
            .symlink("s", &"t".repeat(51))
            .bytes()
            .as_slice(),
        &o,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ApplyError::PathTooLong {
                len: 51,
                limit: 50,
                ..
            }
        ),
        "{err}"
    );

    // Headers in front of an entry are held in memory: bounded.
    let big = vec![b'x'; 9 << 20];
    let err = apply_layer(
        dir.path(),
        Layer::new().pax(&[("comment", &big)]).file("f", b""),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer entry metadata exceeds 8388608 bytes"
    );
    assert_eq!(err.kind(), ErrorKind::Limit);
    let mut l = header(EntryType::GNULongName, 0o644);
    l.set_path("././@LongLink").unwrap();
    l.set_size(big.len() as u64);
    l.set_cksum();
    let err = apply_layer(
        dir.path(),
        Layer::new().header_only(&l, &big).file("f", b""),
    )
    .unwrap_err();
    assert!(matches!(err, ApplyError::MetadataTooLarge { .. }), "{err}");
    assert!(!dir.path().join("f").exists());
}

// ---------------------------------------------------------------------------------------------
// Devices, xattrs, odd entries

#[test]
fn devices_only_when_asked() {
    let layer = || {
        let mut c = header(EntryType::Char, 0o666);
        c.set_device_major(1).unwrap();
        c.set_device_minor(3).unwrap();
        let mut b = header(EntryType::Block, 0o660);
        b.set_device_major(7).unwrap();
        b.set_device_minor(0).unwrap();
        Layer::new()
            .node("dev/null", c)
            .node("dev/loop0", b)
            .node("run/fifo", header(EntryType::Fifo, 0o620))
            .bytes()
    };
    let dir = tempfile::tempdir().unwrap();
    let off = ApplyOptions {
        create_devices: false,
        ..ApplyOptions::default()
    };
    let stats = apply(dir.path(), layer().as_slice(), &off).unwrap();
    assert_eq!(stats.skipped_devices, 3);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing created, parents neither"
    );

    let on = ApplyOptions {
        create_devices: true,
        ..ApplyOptions::default()
    };
    let fifo_only = Layer::new()
        .node("run/fifo", header(EntryType::Fifo, 0o620))
        .bytes();
    let input = if is_root() { layer() } else { fifo_only };
    let stats = apply(dir.path(), input.as_slice(), &on).unwrap();
    assert_eq!(stats.skipped_devices, 0);
    let fifo = fs::symlink_metadata(dir.path().join("run/fifo")).unwrap();
    assert!(fifo.file_type().is_fifo());
    assert_eq!(fifo.mode() & 0o7777, 0o620);
    if is_root() {
        let null = fs::symlink_metadata(dir.path().join("dev/null")).unwrap();
        assert!(null.file_type().is_char_device());
        assert_eq!(null.rdev(), libc::makedev(1, 3));
        assert_eq!(null.mode() & 0o7777, 0o666);
        let lp = fs::symlink_metadata(dir.path().join("dev/loop0")).unwrap();
        assert!(lp.file_type().is_block_device());
        assert_eq!(lp.rdev(), libc::makedev(7, 0));
    } else {
        eprintln!("not root: character and block devices are not exercised");
    }
}

#[test]
fn xattrs_are_applied_best_effort() {
    both(|resolver| {
        let dir = tempfile::tempdir().unwrap();
        apply_ok(
            dir.path(),
            Layer::new()
                .pax(&[
                    ("SCHILY.xattr.user.one", "1"),
                    ("SCHILY.xattr.bogus.ns", "ignored"),
                ])
                .file("f", b"x")
                .pax(&[("SCHILY.xattr.user.dir", "d")])
                .dir("d/")
                .pax(&[("SCHILY.xattr.user.nope", "x")]) // user.* on a symlink: EPERM, ignored
                .symlink("s", "f"),
        );
        assert_eq!(
            xattrs(&dir.path().join("f")),
            [("user.one".to_string(), "1".to_string())],
            "{resolver}"
        );
        assert_eq!(
            xattrs(&dir.path().join("d")),
            [("user.dir".to_string(), "d".to_string())]
        );
        assert!(xattrs(&dir.path().join("s")).is_empty());
        if is_root() {
            apply_ok(
                dir.path(),
                Layer::new()
                    .pax(&[("SCHILY.xattr.trusted.t", "v")])
                    .symlink("s2", "f"),
            );
            assert_eq!(
                xattrs(&dir.path().join("s2")),
                [("trusted.t".to_string(), "v".to_string())]
            );
        }
    });
}

#[test]
fn unsupported_and_skipped_types() {
    let dir = tempfile::tempdir().unwrap();
    let err = apply_layer(
        dir.path(),
        Layer::new().raw(b"vol", EntryType::new(b'V'), b"", b""),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), r#"unsupported tar entry type V for "vol""#);
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    // PAX global headers, empty names and the root entry are skipped.
    let mut g = header(EntryType::XGlobalHeader, 0o644);
    g.set_path("pax_global_header").unwrap();
    let rec = b"20 comment=whatever\n";
    g.set_size(rec.len() as u64);
    g.set_cksum();
    let stats = apply_ok(
        dir.path(),
        Layer::new()
            .header_only(&g, rec)
            .raw(b"./", EntryType::Directory, b"", b"")
            .raw(b"/", EntryType::Directory, b"", b"")
            .file("f", b"x"),
    );
    assert_eq!(stats.entries, 4);
    check_tree(dir.path(), expect![[r#"f 644 file "x""#]]);
    // A whiteout naming nothing, a symlink without a target.
    let err = apply_layer(dir.path(), Layer::new().file("a/.wh.", b"")).unwrap_err();
    assert_eq!(err.to_string(), r#"entry "a/.wh.": whiteout names nothing"#);
    let err = apply_layer(
        dir.path(),
        Layer::new().raw(b"s", EntryType::Symlink, b"", b""),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), r#"entry "s": symlink without a target"#);
    // A truncated tar.
    let mut bytes = Layer::new().file("big", &[1; 5000]).bytes();
    bytes.truncate(2048);
    let err = apply(dir.path(), bytes.as_slice(), &ApplyOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}

// ---------------------------------------------------------------------------------------------
// Packing

/// A tree with one of everything `pack_dir` keeps.
fn rich_tree(root: &Path) {
    let p = |s: &str| root.join(s);
    fs::create_dir_all(p("etc/ssl")).unwrap();
    fs::create_dir(p("tmp")).unwrap();
    fs::create_dir(p("private")).unwrap();
    fs::write(p("etc/hostname"), "box\n").unwrap();
    fs::write(p("etc/empty"), "").unwrap();
    fs::write(
        p("etc/ssl/big"),
        (0..100_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    fs::write(p("suid"), "s").unwrap();
    fs::write(p("private/secret"), "x").unwrap();
    fs::hard_link(p("etc/hostname"), p("etc/hn1")).unwrap();
    fs::hard_link(p("etc/hostname"), p("tmp/hn2")).unwrap();
    std::os::unix::fs::symlink("hostname", p("etc/rel")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", p("abs")).unwrap();
    std::os::unix::fs::symlink("../nowhere", p("etc/dangling")).unwrap();
    std::os::unix::fs::symlink("t".repeat(300), p("longtarget")).unwrap();
    let long_dir = p(&format!("{}/{}", "d".repeat(200), "e".repeat(200)));
    fs::create_dir_all(&long_dir).unwrap();
    fs::write(long_dir.join("f".repeat(150)), "deep").unwrap();
    fs::write(root.join(OsStr::from_bytes(b"caf\xe9")), "latin1").unwrap();
    let fifo = CString::new(p("fifo").as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o640) }, 0);
    set_xattr(&p("etc/hostname"), "user.note", b"hello");
    set_xattr(&p("etc"), "user.dir", b"\x00binary\xff");
    if is_root() {
        let null = CString::new(p("null").as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(
            unsafe { libc::mknod(null.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) },
            0
        );
        std::os::unix::fs::lchown(p("private/secret"), Some(1000), Some(1001)).unwrap();
        std::os::unix::fs::lchown(p("abs"), Some(7), Some(8)).unwrap();
        std::os::unix::fs::lchown(p("private"), Some(1000), Some(1001)).unwrap();
        set_xattr(&p("abs"), "trusted.sym", b"1");
    }
    for (path, mode) in [
        ("suid", 0o4755),
        ("tmp", 0o1777),
        ("private", 0o2750),
        ("etc/empty", 0o600),
    ] {
        fs::set_permissions(p(path), fs::Permissions::from_mode(mode)).unwrap();
    }
    // Times last, deepest first, so writing children does not move them.
    let mut all = Vec::new();
    walk(root, "", &mut |rel, _, _| all.push(rel.to_string()));
    for (i, rel) in all.iter().enumerate().rev() {
        let path = if rel.starts_with("caf") {
            root.join(OsStr::from_bytes(b"caf\xe9"))
        } else {
            root.join(rel)
        };
        set_times(&path, 1_000_000_000 + i as i64 * 1000);
    }
}

/// A scan of a tree's metadata is the changeset its packed tar reads as, but for the content
/// of files over 4 KiB, which it does not read.
#[test]
fn scan_dir_is_the_packed_tar_read_back_without_the_large_files_bytes() {
    let dir = tempfile::tempdir().unwrap();
    rich_tree(dir.path());
    // a writable layer's markers: a whiteout, an opaque directory, AUFS metadata
    fs::create_dir(dir.path().join("gone")).unwrap();
    fs::write(dir.path().join("gone/.wh..wh..opq"), "").unwrap();
    fs::write(dir.path().join("etc/.wh.motd"), "").unwrap();
    fs::write(dir.path().join(".wh..wh.plnk"), "").unwrap();
    // overlayfs's own attributes on a mounted upper directory's file: not content
    set_xattr(&dir.path().join("suid"), "user.overlay.origin", b"handle");
    if is_root() {
        set_xattr(
            &dir.path().join("suid"),
            "trusted.overlay.origin",
            b"handle",
        );
    }
    let mut packed = Vec::new();
    pack_dir(dir.path(), &mut packed).unwrap();
    let mut read = layer_diff::read_changeset(packed.as_slice()).unwrap();
    let mut unread = 0;
    for e in &mut read.entries {
        if let layer_diff::EntryKind::File { content, size } = &mut e.kind {
            if *size > 4096 {
                *content = layer_diff::Content::Unread;
                unread += 1;
            }
        }
    }
    assert_eq!(unread, 1, "the one large file (etc/ssl/big)");
    let scanned = scan_dir(dir.path()).unwrap();
    assert_eq!(scanned.entries, read.entries);
    assert!(scanned
        .entries
        .iter()
        .any(|e| e.path == "etc/motd" && e.kind == layer_diff::EntryKind::Whiteout));
    assert!(scanned
        .entries
        .iter()
        .any(|e| e.path == "gone" && e.kind == layer_diff::EntryKind::Opaque));
    let suid = scanned.entries.iter().find(|e| e.path == "suid").unwrap();
    assert!(suid.xattrs.is_empty(), "{:?}", suid.xattrs);
}

#[test]
fn pack_then_apply_round_trips() {
    both(|resolver| {
        let src = tempfile::tempdir().unwrap();
        rich_tree(src.path());
        let mut first = Vec::new();
        let n = pack_dir(src.path(), &mut first).unwrap();
        assert_eq!(n, first.len() as u64);
        let mut second = Vec::new();
        pack_dir(src.path(), &mut second).unwrap();
        assert!(first == second, "pack_dir is not deterministic");

        let dst = tempfile::tempdir().unwrap();
        let o = ApplyOptions {
            create_devices: true,
            ..opts(Mode::Unpack)
        };
        apply(dst.path(), first.as_slice(), &o).unwrap();
        let (a, b) = (describe(src.path()), describe(dst.path()));
        assert_eq!(a, b, "{resolver}");
        assert!(a.contains("inode=etc/hn1"), "{a}");
        assert!(a.contains("xattr:user.note=hello"), "{a}");
        // And the applied tree packs to the very same bytes.
        let mut again = Vec::new();
        pack_dir(dst.path(), &mut again).unwrap();
        assert!(again == first, "{resolver}: repacked tree differs");
    });
}

#[test]
fn pack_layout() {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s);
    fs::create_dir_all(p("a/b")).unwrap();
    fs::write(p("a/b/f"), "x").unwrap();
    fs::write(p("a-b"), "y").unwrap();
    fs::write(p("a.b"), "z").unwrap();
    fs::hard_link(p("a-b"), p("z")).unwrap();
    std::os::unix::fs::symlink("a/b/f", p("l")).unwrap();
    let mut tar = Vec::new();
    pack_dir(dir.path(), &mut tar).unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    let listing: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            let link = e
                .link_name_bytes()
                .map(|l| format!(" -> {}", String::from_utf8_lossy(&l)))
                .unwrap_or_default();
            format!(
                "{:?} {} uname={:?}{link}",
                h.entry_type(),
                String::from_utf8_lossy(&e.path_bytes()),
                h.username().unwrap().unwrap_or("")
            )
        })
        .collect();
    expect![[r#"
        Directory a/ uname=""
        Directory a/b/ uname=""
        Regular a/b/f uname=""
        Regular a-b uname=""
        Regular a.b uname=""
        Symlink l uname="" -> a/b/f
        Link z uname="" -> a-b"#]]
    .assert_eq(&listing.join("\n"));
}

/// Every name in `tar` (as `layer_diff` reads it: PAX and GNU records, bytes kept), with its
/// kind and link target, one line each, escaped, sorted.
fn tar_names(tar: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = layer_diff::read_changeset(tar)
        .unwrap()
        .iter()
        .filter(|e| !e.path.is_empty())
        .map(|e| {
            let link = match &e.kind {
                layer_diff::EntryKind::Symlink { target }
                | layer_diff::EntryKind::Hardlink { target } => {
                    format!(" -> {}", layer_diff::name_bytes(target).escape_ascii())
                }
                _ => String::new(),
            };
            format!(
                "{} {}{link}",
                e.kind.name(),
                layer_diff::name_bytes(&e.path).escape_ascii()
            )
        })
        .collect();
    names.sort();
    names
}

/// Every name under `root` as `tar_names` writes it.
fn disk_names(root: &Path) -> Vec<String> {
    let mut first: HashMap<(u64, u64), String> = HashMap::new();
    let mut out = Vec::new();
    walk(root, "", &mut |rel, md, path| {
        let ft = md.file_type();
        let line = if ft.is_dir() {
            format!("dir {rel}")
        } else if ft.is_symlink() {
            let target = fs::read_link(path).unwrap();
            format!(
                "symlink {rel} -> {}",
                target.as_os_str().as_bytes().escape_ascii()
            )
        } else {
            match first.get(&(md.dev(), md.ino())) {
                Some(f) => format!("hardlink {rel} -> {f}"),
                None => {
                    first.insert((md.dev(), md.ino()), rel.to_string());
                    format!("file {rel}")
                }
            }
        };
        out.push(line);
    });
    out.sort();
    out
}

/// The fuzz finding: a layer naming a file with non-UTF-8 bytes, longer than ustar holds,
/// whose first 100 bytes are no valid path (`tar`'s builder refused to write it back: "paths
/// in archives must have at least one component"). It applies, packs, and reads back byte
/// for byte.
#[test]
fn fuzz_finding_non_utf8_long_name_packs_back() {
    let layer = include_bytes!("../tests/data/fuzz-pack-no-component.tar");
    for mode in [Mode::Merge, Mode::Unpack] {
        let dir = tempfile::tempdir().unwrap();
        apply(dir.path(), layer.as_slice(), &opts(mode)).unwrap();
        let mut packed = Vec::new();
        let n = pack_dir(dir.path(), &mut packed).unwrap();
        assert_eq!(n, packed.len() as u64);
        let names = tar_names(&packed);
        assert_eq!(names, disk_names(dir.path()), "{mode:?}");
        assert!(
            names.iter().any(|n| n.starts_with(r"file \x80#aaa")
                && n.ends_with(r"\xd1/@PaxHeaderaaaaaaaaaaaaaaaout/aaaaaaaaaaaaaaaaaaaaaaa")),
            "{names:?}"
        );
        // The packed tar applies to the same tree, which packs to the same bytes.
        let again = tempfile::tempdir().unwrap();
        apply(again.path(), packed.as_slice(), &opts(Mode::Unpack)).unwrap();
        assert_eq!(describe(dir.path()), describe(again.path()), "{mode:?}");
        let mut repacked = Vec::new();
        pack_dir(again.path(), &mut repacked).unwrap();
        assert!(repacked == packed, "{mode:?}: repacked tree differs");
    }
}

/// Names are bytes, whatever they hold: each row is created on disk, packed, read back by the
/// layer reader (names and link targets byte for byte), applied again and packed again.
#[test]
fn pack_writes_every_name_as_its_bytes() {
    let long = |head: &[u8], fill: u8, n: usize| {
        let mut v = head.to_vec();
        v.resize(n, fill);
        v
    };
    // (kind, name, link target); parents come first.
    let rows: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        ("file", b"caf\xe9".to_vec(), vec![]),
        ("file", b"ctl\x01\x1b[0m\x7f".to_vec(), vec![]),
        ("file", b"tab\tnew\nline\r".to_vec(), vec![]),
        ("file", b"\xff".to_vec(), vec![]),
        ("file", long(b"\x80", b'a', 200), vec![]),
        ("file", long(b"a", 0xe9, 255), vec![]),
        ("dir", long(b"\xc3", b'd', 120), vec![]),
        (
            "file",
            [long(b"\xc3", b'd', 120), long(b"/\xfe", b'f', 150)].concat(),
            vec![],
        ),
        ("dir", b"\xc0\xaf".to_vec(), vec![]),
        ("file", b"\xc0\xaf/\xe0\x80\xaf".to_vec(), vec![]),
        ("file", "division\u{2215}slash".as_bytes().to_vec(), vec![]),
        ("file", "full\u{ff0f}width".as_bytes().to_vec(), vec![]),
        ("file", b"back\\slash\\".to_vec(), vec![]),
        ("file", b"...".to_vec(), vec![]),
        ("dir", b"out.".to_vec(), vec![]),
        ("file", b"out./..a".to_vec(), vec![]),
        ("file", "\u{10ff80}escape-range".as_bytes().to_vec(), vec![]),
        ("symlink", b"sym-latin1".to_vec(), b"caf\xe9".to_vec()),
        (
            "symlink",
            b"sym-\xfflong".to_vec(),
            long(b"../\x80", b'x', 300),
        ),
        ("symlink", b"sym-ctl".to_vec(), b"/\x01/\n/..".to_vec()),
        (
            "hardlink",
            long(b"h\x80", b'h', 180),
            long(b"\x80", b'a', 200),
        ),
        (
            "hardlink",
            b"h-ctl\x02".to_vec(),
            b"ctl\x01\x1b[0m\x7f".to_vec(),
        ),
    ];
    let src = tempfile::tempdir().unwrap();
    let at = |name: &[u8]| src.path().join(OsStr::from_bytes(name));
    for (i, (kind, name, link)) in rows.iter().enumerate() {
        match *kind {
            "file" => fs::write(at(name), format!("row {i}")).unwrap(),
            "dir" => fs::create_dir(at(name)).unwrap(),
            "symlink" => std::os::unix::fs::symlink(OsStr::from_bytes(link), at(name)).unwrap(),
            _ => fs::hard_link(at(link), at(name)).unwrap(),
        }
    }
    let mut packed = Vec::new();
    pack_dir(src.path(), &mut packed).unwrap();
    let names = tar_names(&packed);
    assert_eq!(names, disk_names(src.path()));
    for (kind, name, link) in &rows {
        // Of two names of one inode, the first in packing order is the file.
        let kinds: &[&str] = match *kind {
            "file" | "hardlink" => &["file", "hardlink"],
            k => &[k],
        };
        let found = names.iter().any(|l| {
            kinds.iter().any(|k| {
                let escaped = format!("{k} {}", name.escape_ascii());
                *l == escaped || l.starts_with(&format!("{escaped} -> "))
            })
        });
        assert!(found, "{} missing from {names:#?}", name.escape_ascii());
        if *kind == "symlink" {
            let want = format!("symlink {} -> {}", name.escape_ascii(), link.escape_ascii());
            assert!(names.contains(&want), "{want} missing from {names:#?}");
        }
    }
    // The tar crate reads the same names, too (PAX `path`/`linkpath` bytes).
    let mut archive = tar::Archive::new(packed.as_slice());
    let mut tar_crate: Vec<Vec<u8>> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path_bytes().into_owned())
        .collect();
    tar_crate.sort();
    assert!(tar_crate.contains(&long(b"\x80", b'a', 200)));
    both(|resolver| {
        let dst = tempfile::tempdir().unwrap();
        apply(dst.path(), packed.as_slice(), &opts(Mode::Unpack)).unwrap();
        assert_eq!(describe(src.path()), describe(dst.path()), "{resolver}");
        let mut again = Vec::new();
        pack_dir(dst.path(), &mut again).unwrap();
        assert!(again == packed, "{resolver}: repacked tree differs");
    });
}

// ---------------------------------------------------------------------------------------------
// Resolving and opening inside a root

fn hostile_root() -> (Sandbox, std::path::PathBuf) {
    let sb = Sandbox::new();
    let root = sb.root();
    let sentinel = sb.sentinel();
    let layer = Layer::new()
        .file("etc/passwd", b"inside")
        .symlink("abs", "/etc")
        .symlink("rel", "../../../etc")
        .symlink("host", sentinel.to_str().unwrap())
        .symlink("loop1", "loop2")
        .symlink("loop2", "loop1")
        .symlink("self", "self")
        .symlink("aloop", "/bloop")
        .symlink("bloop", "/aloop")
        .symlink("grow", "grow/x")
        .symlink("chain", "abs/../rel/passwd")
        .file("f", b"f");
    apply(
        &root,
        layer.bytes().as_slice(),
        &ApplyOptions {
            create_devices: false,
            ..ApplyOptions::default()
        },
    )
    .unwrap();
    (sb, root)
}

#[test]
fn resolve_in_root_stays_in_root() {
    let (sb, root) = hostile_root();
    let ok = |p: &str| resolve_in_root(&root, p).unwrap();
    let inside = |rel: &str| {
        if rel.is_empty() {
            root.clone()
        } else {
            root.join(rel)
        }
    };
    assert_eq!(ok("abs/passwd"), inside("etc/passwd"));
    assert_eq!(ok("/rel/passwd"), inside("etc/passwd"));
    assert_eq!(ok("../../../etc/passwd"), inside("etc/passwd"));
    assert_eq!(ok("chain"), inside("etc/passwd"));
    assert_eq!(ok("abs/new/file"), inside("etc/new/file"));
    assert_eq!(ok("missing/../etc"), inside("etc"));
    assert_eq!(ok("missing/../../../abs"), inside("etc"));
    let sentinel = sb.sentinel();
    assert_eq!(
        ok("host"),
        inside(sentinel.to_str().unwrap().trim_start_matches('/'))
    );
    assert_eq!(ok(""), inside(""));
    assert_eq!(ok("/"), inside(""));
    assert_eq!(ok(".."), inside(""));
    for looping in ["loop1", "self/x", "aloop", "grow", "abs/../loop2/y"] {
        let err = resolve_in_root(&root, looping).unwrap_err();
        assert_eq!(
            err.io_error().unwrap().raw_os_error(),
            Some(libc::ELOOP),
            "{looping}"
        );
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(
            err.to_string()
                .starts_with(&format!("resolving {looping:?}: ")),
            "{err}"
        );
    }
    let err = resolve_in_root(&root, "f/x").unwrap_err();
    assert_eq!(err.io_error().unwrap().raw_os_error(), Some(libc::ENOTDIR));
}

#[test]
fn open_in_root_stays_in_root() {
    both(|resolver| {
        let (sb, root) = hostile_root();
        let read = |p: &str| -> Result<String, ApplyError> {
            let mut s = String::new();
            open_in_root(&root, p)?.read_to_string(&mut s).unwrap();
            Ok(s)
        };
        for p in [
            "etc/passwd",
            "abs/passwd",
            "rel/passwd",
            "/abs/../../../etc/passwd",
            "chain",
        ] {
            assert_eq!(read(p).unwrap(), "inside", "{resolver}: {p}");
        }
        let err = read("host").unwrap_err();
        assert_eq!(
            err.io_error().unwrap().kind(),
            std::io::ErrorKind::NotFound,
            "{resolver}: {err}"
        );
        for looping in ["loop1", "self", "aloop", "grow"] {
            let err = read(looping).unwrap_err();
            assert_eq!(
                err.io_error().unwrap().raw_os_error(),
                Some(libc::ELOOP),
                "{resolver}: {looping}"
            );
        }
        assert!(open_in_root(&root, "abs")
            .unwrap()
            .metadata()
            .unwrap()
            .is_dir());
        // A FIFO does not hang the open, and reads as empty with no writer.
        let fifo = CString::new(root.join("fifo").as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert_eq!(read("fifo").unwrap(), "");
        sb.assert_outside_untouched(resolver);
    });
}

#[test]
fn kernel_resolver_is_used_where_it_exists() {
    let dir = tempfile::tempdir().unwrap();
    let f = fs::File::open(dir.path()).unwrap();
    let works = crate::sys::openat2(
        f.as_fd(),
        c".",
        libc::O_PATH,
        crate::sys::RESOLVE_IN_ROOT | crate::sys::RESOLVE_NO_MAGICLINKS,
    )
    .is_ok();
    assert_eq!(Root::open(dir.path()).unwrap().uses_openat2(), works);
    force_fallback(true);
    assert!(!Root::open(dir.path()).unwrap().uses_openat2());
    force_fallback(false);
}

#[test]
fn aufs_metadata_and_root_names_follow_the_shared_rule() {
    for mode in [Mode::Merge, Mode::Unpack] {
        let dir = tempfile::tempdir().unwrap();
        let layer = Layer::new()
            .dir(".wh..wh.plnk")
            .file(".wh..wh.plnk/1234.5678", b"aufs hardlink source")
            .file(".wh..wh.aufs", b"")
            .dir("./.wh..wh.orph")
            .raw(b".", EntryType::Symlink, b"", b"/etc")
            .raw(b"./", EntryType::Fifo, b"", b"")
            .file("kept", b"k");
        apply(dir.path(), layer.bytes().as_slice(), &opts(mode)).unwrap();
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["kept"], "{mode:?}");
        assert!(dir.path().symlink_metadata().unwrap().is_dir());

        // A whiteout used as a directory is refused, whatever the mode.
        let dir = tempfile::tempdir().unwrap();
        let layer = Layer::new().file("a/.wh.b/c", b"");
        let err = apply(dir.path(), layer.bytes().as_slice(), &opts(mode)).unwrap_err();
        assert!(
            err.to_string().contains("whiteout used as a directory"),
            "{err}"
        );
        assert!(!dir.path().join("a/.wh.b").exists());
    }
}

// ---------------------------------------------------------------------------------------------
// Applying on top of lower layers (`apply_on`)

/// Unpacks `layer` into `dir` on top of `lowers` (top first).
fn unpack_on(dir: &Path, lowers: &[&Path], layer: Layer) -> Result<ApplyStats, ApplyError> {
    apply_on(dir, lowers, layer.bytes().as_slice(), &opts(Mode::Unpack))
}

/// A layer stack inside a sandbox: `l1`, `l2`… beside each other in the sandbox's root, so
/// that anything escaping a layer directory would show in the root or outside it.
fn stack_dirs(sb: &Sandbox, n: usize) -> Vec<std::path::PathBuf> {
    (1..=n)
        .map(|i| {
            let d = sb.root().join(format!("l{i}"));
            fs::create_dir(&d).unwrap();
            d
        })
        .collect()
}

/// A 0:0 character device is overlayfs's whiteout, and so it applies: unpacked, it is the
/// `.wh.` whiteout of its name; merged, it deletes what is there; and a later layer may make a
/// directory where it stood (the path is gone to the kernel and the merged view alike).
#[test]
fn a_zero_zero_char_device_applies_as_a_whiteout() {
    let whiteout = || {
        let mut c = header(EntryType::Char, 0o600);
        c.set_device_major(0).unwrap();
        c.set_device_minor(0).unwrap();
        c
    };
    let sb = Sandbox::new();
    let l = stack_dirs(&sb, 3);
    unpack_on(&l[0], &[], Layer::new().dir("etc/").file("etc/gone", b"x")).unwrap();
    unpack_on(&l[1], &[&l[0]], Layer::new().node("etc/gone", whiteout())).unwrap();
    check_tree(
        &l[1],
        expect![[r#"
            etc 755 dir
            etc/.wh.gone 600 file """#]],
    );
    unpack_on(
        &l[2],
        &[&l[1], &l[0]],
        Layer::new().dir("etc/gone/").file("etc/gone/new", b"n"),
    )
    .unwrap();
    let merged = tempfile::tempdir().unwrap();
    apply(
        merged.path(),
        Layer::new()
            .dir("etc/")
            .file("etc/gone", b"x")
            .bytes()
            .as_slice(),
        &opts(Mode::Merge),
    )
    .unwrap();
    apply(
        merged.path(),
        Layer::new().node("etc/gone", whiteout()).bytes().as_slice(),
        &opts(Mode::Merge),
    )
    .unwrap();
    assert!(!merged.path().join("etc/gone").exists());
    sb.assert_outside_untouched("zero_zero");
}

#[test]
fn apply_on_resolves_names_through_lower_symlinks() {
    let sb = Sandbox::new();
    let l = stack_dirs(&sb, 2);
    unpack_on(
        &l[0],
        &[],
        Layer::new()
            .dir("run/")
            .dir("var/")
            .symlink("var/run", "/run")
            .dir("etc/")
            .file("etc/passwd", b"root")
            .symlink("conf", "etc")
            .symlink("up", "../../../../../../../../../..")
            .dir("data/")
            .file("data/old", b"old"),
    )
    .unwrap();
    let lower_before = describe(&l[0]);
    unpack_on(
        &l[1],
        &[&l[0]],
        Layer::new()
            .file("var/run/x", b"x")
            .file("conf/.wh.passwd", b"")
            .file("up/etc/hosts", b"h")
            .symlink("dl", "data")
            .file("dl/.wh..wh..opq", b""),
    )
    .unwrap();
    check_tree(
        &l[1],
        expect![[r#"
            data 755 dir
            data/.wh..wh..opq 644 file ""
            dl link -> data
            etc 755 dir
            etc/.wh.passwd 644 file ""
            etc/hosts 644 file "h"
            run 755 dir
            run/x 644 file "x""#]],
    );
    assert_eq!(describe(&l[0]), lower_before, "a lower layer changed");
    sb.assert_outside_untouched("apply_on");
    let names: Vec<String> = fs::read_dir(sb.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.len(),
        2,
        "only the layer directories in the root: {names:?}"
    );
}

/// `apply_on_at`: names relative to a directory of the merged view (`docker cp` into a
/// container's directory), resolved by `apply_on`'s rule; `..` never climbs above it.
#[test]
fn apply_on_at_takes_names_below_a_directory() {
    let sb = Sandbox::new();
    let l = stack_dirs(&sb, 2);
    unpack_on(
        &l[0],
        &[],
        Layer::new()
            .dir("run/")
            .dir("var/")
            .symlink("var/run", "/run")
            .dir("etc/")
            .file("etc/hostname", b"box")
            .dir("tmp/"),
    )
    .unwrap();
    let at = |dir: &str, upper: &Path, layer: Layer| {
        crate::apply_on_at(
            upper,
            &[&l[0]],
            dir.as_bytes(),
            layer.bytes().as_slice(),
            &opts(Mode::Unpack),
        )
    };
    // into /tmp: a name through the image's symlink lands where it points, a symlink of
    // the archive is followed from the image root, a hard link's target is below /tmp
    at(
        "tmp",
        &l[1],
        Layer::new()
            .file("a", b"a")
            .raw(b"d/../b", EntryType::Regular, b"b", b"")
            .symlink("e", "/etc")
            .file("e/motd", b"hi")
            .hardlink("c", "a"),
    )
    .unwrap();
    // into /var/run (the symlink itself: resolved as a parent)
    at("var/run", &l[1], Layer::new().file("app.pid", b"42")).unwrap();
    check_tree(
        &l[1],
        expect![[r#"
            etc 755 dir
            etc/motd 644 file "hi"
            run 755 dir
            run/app.pid 644 file "42"
            tmp 755 dir
            tmp/a 644 file "a" nlink=2
            tmp/b 644 file "b"
            tmp/c 644 file "a" nlink=2
            tmp/e link -> /etc"#]],
    );
    // `..` above the directory, and a hard link to a path outside it: refused
    let err = at(
        "tmp",
        &l[1],
        Layer::new().raw(b"../x", EntryType::Regular, b"x", b""),
    )
    .unwrap_err();
    assert!(matches!(err, ApplyError::LeavesRoot { .. }), "{err}");
    let err = at("tmp", &l[1], Layer::new().hardlink("h", "/etc/hostname")).unwrap_err();
    assert!(matches!(err, ApplyError::Hardlink { .. }), "{err}");
    assert!(!l[1].join("tmp/h").exists() && !l[1].join("x").exists());
    sb.assert_outside_untouched("apply_on_at");
}

/// `no_overwrite_dir_non_dir` (Docker's `NoOverwriteDirNonDir`, `docker cp`): a directory
/// never replaces a non-directory (the image's `var/run -> /run` symlink included) nor the
/// reverse, judged by what the merged view shows at the entry's resolved name, earlier
/// entries of the same tar included; Docker's words, paths from the root. Without it, both
/// replace.
#[test]
fn no_overwrite_dir_non_dir_refuses_a_kind_change() {
    let sb = Sandbox::new();
    let l = stack_dirs(&sb, 1);
    unpack_on(
        &l[0],
        &[],
        Layer::new()
            .dir("run/")
            .file("run/pid", b"1")
            .dir("var/")
            .symlink("var/run", "/run")
            .dir("etc/")
            .dir("etc/dir/")
            .file("etc/file", b"f")
            .dir("tmp/"),
    )
    .unwrap();
    let strict = ApplyOptions {
        no_overwrite_dir_non_dir: true,
        ..opts(Mode::Unpack)
    };
    let n = std::cell::Cell::new(0);
    let at = |dir: &str, layer: Layer, o: &ApplyOptions| {
        n.set(n.get() + 1);
        let upper = sb.root().join(format!("u{}", n.get()));
        fs::create_dir(&upper).unwrap();
        let r = crate::apply_on_at(
            &upper,
            &[&l[0]],
            dir.as_bytes(),
            layer.bytes().as_slice(),
            o,
        );
        (r.map_err(|e| e.to_string()), upper)
    };
    let refused = |dir: &str, layer: Layer| at(dir, layer, &strict).0.unwrap_err();
    assert_eq!(
        refused(
            "",
            Layer::new()
                .dir("var/")
                .dir("var/run/")
                .file("var/run/x", b"x")
        ),
        r#"cannot overwrite non-directory "/var/run" with directory "/""#
    );
    assert_eq!(
        refused("", Layer::new().file("etc/dir", b"x")),
        r#"cannot overwrite directory "/etc/dir" with non-directory "/""#
    );
    assert_eq!(
        refused("etc", Layer::new().symlink("dir", "/tmp")),
        r#"cannot overwrite directory "/etc/dir" with non-directory "/etc""#
    );
    // through the lower symlink: the name as written, what is there where it resolves
    assert_eq!(
        refused("", Layer::new().dir("var/run/pid/")),
        r#"cannot overwrite non-directory "/var/run/pid" with directory "/""#
    );
    // what earlier entries of the same tar made
    assert_eq!(
        refused("tmp", Layer::new().file("a", b"a").dir("a/")),
        r#"cannot overwrite non-directory "/tmp/a" with directory "/tmp""#
    );
    assert_eq!(
        refused("tmp", Layer::new().dir("d/").file("d", b"d")),
        r#"cannot overwrite directory "/tmp/d" with non-directory "/tmp""#
    );
    assert_eq!(
        refused(
            "tmp",
            Layer::new().file("f", b"f").hardlink("h", "f").dir("h/")
        ),
        r#"cannot overwrite non-directory "/tmp/h" with directory "/tmp""#
    );
    // the same kind replaces or merges as always
    let (r, upper) = at(
        "",
        Layer::new()
            .dir("etc/")
            .dir("etc/dir/")
            .file("etc/file", b"new")
            .symlink("var/run/pid", "2")
            .dir("tmp/n/")
            .dir("tmp/n/"),
        &strict,
    );
    r.unwrap();
    check_tree(
        &upper,
        expect![[r#"
            etc 755 dir
            etc/dir 755 dir
            etc/file 644 file "new"
            run 755 dir
            run/pid link -> 2
            tmp 755 dir
            tmp/n 755 dir"#]],
    );
    // without the option, Docker's default: replaced
    let (r, upper) = at(
        "",
        Layer::new().dir("var/").dir("var/run/"),
        &opts(Mode::Unpack),
    );
    r.unwrap();
    assert!(fs::symlink_metadata(upper.join("var/run"))
        .unwrap()
        .is_dir());
    // `apply` alone: what is in the root
    let root = sb.root().join("plain");
    fs::create_dir(&root).unwrap();
    apply(&root, Layer::new().dir("d/").bytes().as_slice(), &strict).unwrap();
    let err = apply(
        &root,
        Layer::new().file("d", b"x").bytes().as_slice(),
        &strict,
    );
    assert_eq!(
        err.unwrap_err().to_string(),
        r#"cannot overwrite directory "/d" with non-directory "/""#
    );
    assert!(root.join("d").is_dir());
    sb.assert_outside_untouched("no_overwrite_dir_non_dir");
}

#[test]
fn apply_on_copies_up_parent_directories_with_their_metadata() {
    let sb = Sandbox::new();
    let l = stack_dirs(&sb, 2);
    let mut h = header(EntryType::Directory, 0o750);
    h.set_mtime(1_000);
    unpack_on(&l[0], &[], Layer::new().node("opt/", h)).unwrap();
    unpack_on(&l[1], &[&l[0]], Layer::new().file("opt/new", b"n")).unwrap();
    let md = fs::metadata(l[1].join("opt")).unwrap();
    assert_eq!(md.permissions().mode() & 0o7777, 0o750);
    assert_eq!(md.mtime(), 1_000);
}

#[test]
fn apply_on_hardlink_to_a_lower_file_copies_it_up() {
    let sb = Sandbox::new();
    let l = stack_dirs(&sb, 2);
    let mut h = header(EntryType::Regular, 0o600);
    h.set_mtime(2_000);
    unpack_on(
        &l[0],
        &[],
        Layer::new().dir("bin/").file_with("bin/busybox", b"elf", h),
    )
    .unwrap();
    set_xattr(&l[0].join("bin/busybox"), "user.cap", b"kept");
    let lower_before = describe(&l[0]);
    // The link's header says 04777 and uid 5: a link has no metadata of its own.
    let mut lh = header(EntryType::Link, 0o4777);
    lh.set_uid(5);
    let mut layer = Layer::new();
    layer
        .0
        .append_link(&mut lh, "sbin/sh", "bin/busybox")
        .unwrap();
    unpack_on(&l[1], &[&l[0]], layer).unwrap();
    check_tree(
        &l[1],
        expect![[r#"
            bin 755 dir
            bin/busybox 600 file "elf" nlink=2
            sbin 755 dir
            sbin/sh 600 file "elf" nlink=2"#]],
    );
    let a = fs::metadata(l[1].join("bin/busybox")).unwrap();
    let b = fs::metadata(l[1].join("sbin/sh")).unwrap();
    assert_eq!((a.ino(), a.mtime(), b.uid()), (b.ino(), 2_000, 0));
    assert_eq!(
        xattrs(&l[1].join("sbin/sh")),
        [("user.cap".to_string(), "kept".to_string())]
    );
    assert_eq!(
        describe(&l[0]),
        lower_before,
        "the lower file was linked, not copied"
    );
    sb.assert_outside_untouched("apply_on");
}

#[test]
fn hardlink_to_a_symlink_links_the_symlink() {
    // Within one layer, and to a symlink of a lower layer (copied up as a symlink).
    let sb = Sandbox::new();
    let l = stack_dirs(&sb, 2);
    unpack_on(
        &l[0],
        &[],
        Layer::new()
            .file("f", b"file")
            .symlink("s", "/f")
            .hardlink("h", "s"),
    )
    .unwrap();
    let s = fs::symlink_metadata(l[0].join("s")).unwrap();
    let h = fs::symlink_metadata(l[0].join("h")).unwrap();
    assert!(h.file_type().is_symlink(), "the link is the symlink itself");
    assert_eq!(s.ino(), h.ino());
    unpack_on(&l[1], &[&l[0]], Layer::new().hardlink("h2", "s")).unwrap();
    check_tree(
        &l[1],
        expect![[r#"
            h2 link -> /f
            s link -> /f"#]],
    );
    let s2 = fs::symlink_metadata(l[1].join("s")).unwrap();
    let h2 = fs::symlink_metadata(l[1].join("h2")).unwrap();
    assert_eq!((s2.ino(), s2.nlink()), (h2.ino(), 2));
    assert_eq!(fs::read(l[0].join("f")).unwrap(), b"file");
}

#[test]
fn apply_on_type_replacement_is_remove_then_create() {
    let sb = Sandbox::new();
    let l = stack_dirs(&sb, 3);
    unpack_on(
        &l[0],
        &[],
        Layer::new()
            .dir("a/")
            .file("a/f", b"f")
            .dir("tmp/")
            .symlink("b", "/tmp")
            .file("c", b"file")
            .dir("d/")
            .file("d/in", b"in"),
    )
    .unwrap();
    let sentinel = sb.sentinel();
    let escape = format!("{}", sentinel.parent().unwrap().display());
    unpack_on(
        &l[1],
        &[&l[0]],
        Layer::new()
            .symlink("a", &escape) // a directory becomes a symlink out of the root
            .dir("b/") // a symlink becomes a directory
            .file("b/g", b"g")
            .dir("c/") // a file becomes a directory
            .file("d", b"now a file"), // and a directory a file
    )
    .unwrap();
    unpack_on(
        &l[2],
        &[&l[1], &l[0]],
        Layer::new()
            .file("a/sentinel", b"pwned") // through the new symlink, inside the root
            .file("b/h", b"h")
            .file("c/x", b"x"),
    )
    .unwrap();
    let rel = escape.trim_start_matches('/');
    let got = tree(&l[2]);
    assert!(
        got.contains(&format!("{rel}/sentinel 644 file \"pwned\"")),
        "{got}"
    );
    assert!(
        got.contains("b/h 644 file \"h\"") && got.contains("c/x 644 file \"x\""),
        "{got}"
    );
    assert!(
        !got.contains("tmp/h") && !got.contains("tmp/g"),
        "b/ went through the replaced symlink: {got}"
    );
    assert_eq!(fs::read_to_string(&sentinel).unwrap(), "outside");
    sb.assert_outside_untouched("apply_on");
}

#[test]
fn apply_on_refuses_a_symlink_loop_below() {
    let sb = Sandbox::new();
    let l = stack_dirs(&sb, 2);
    unpack_on(&l[0], &[], Layer::new().symlink("a", "b").symlink("b", "a")).unwrap();
    let err = unpack_on(&l[1], &[&l[0]], Layer::new().file("a/x", b"x")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}

#[test]
fn overlay_and_host_xattrs_are_never_applied() {
    if !is_root() {
        return; // trusted.* needs privilege; the filter is the same either way
    }
    let dir = tempfile::tempdir().unwrap();
    apply(
        dir.path(),
        Layer::new()
            .pax(&[
                ("SCHILY.xattr.trusted.overlay.opaque", "y"),
                ("SCHILY.xattr.user.kept", "1"),
            ])
            .dir("d/")
            .pax(&[
                ("SCHILY.xattr.trusted.overlay.redirect", "/etc"),
                ("SCHILY.xattr.security.ima", "sig"),
                ("SCHILY.xattr.user.overlay.opaque", "y"),
            ])
            .file("f", b"x")
            .bytes()
            .as_slice(),
        &opts(Mode::Unpack),
    )
    .unwrap();
    let all = |p: &Path| -> Vec<String> {
        let c = CString::new(p.as_os_str().as_bytes()).unwrap();
        crate::sys::lxattrs(&c)
            .unwrap()
            .into_iter()
            .map(|(k, _)| String::from_utf8(k).unwrap())
            .filter(|k| k != "security.selinux")
            .collect()
    };
    assert_eq!(all(&dir.path().join("d")), ["user.kept"]);
    let f = all(&dir.path().join("f"));
    assert!(
        !f.iter()
            .any(|k| k.contains("overlay") || k == "security.ima"),
        "{f:?}"
    );
}

#[test]
fn apply_on_takes_names_as_long_as_name_max() {
    let sb = Sandbox::new();
    let l = stack_dirs(&sb, 2);
    let long = "n".repeat(255);
    unpack_on(&l[0], &[], Layer::new().dir(&format!("{long}/"))).unwrap();
    unpack_on(
        &l[1],
        &[&l[0]],
        Layer::new().file(&format!("{long}/{long}"), b"x"),
    )
    .unwrap();
    assert_eq!(fs::read(l[1].join(&long).join(&long)).unwrap(), b"x");
}

// ---------------------------------------------------------------------------------------------
// PAX records are read by their length

/// A changeset whose names, link target and xattr value hold newline bytes, long enough that
/// the layer writer puts them in PAX records.
fn newline_changeset() -> layer_diff::Changeset {
    let long = format!("{}\n{}", "b".repeat(80), "b".repeat(80));
    let target = format!("../{}\n{}", "t".repeat(70), "u".repeat(70));
    [
        layer_diff::Entry::dir("g").with_mtime(T as i64),
        layer_diff::Entry::file(format!("g/{long}"), "data\n").with_mtime(T as i64),
        layer_diff::Entry::file("g/caps", "x")
            .with_mtime(T as i64)
            .with_xattr("user.bin", b"\x01\n\x00\n2".to_vec()),
        layer_diff::Entry::symlink(format!("g/l\n{long}"), target).with_mtime(T as i64),
    ]
    .into_iter()
    .collect()
}

#[test]
fn newline_in_pax_values_applies_and_packs_back_byte_exact() {
    let cs = newline_changeset();
    let layer = layer_diff::write_changeset(&cs, &|_| None, Vec::new()).unwrap();
    let long = format!("{}\n{}", "b".repeat(80), "b".repeat(80));
    let check = |dir: &Path, how: &str| {
        let g = dir.join("g");
        assert_eq!(fs::read(g.join(&long)).unwrap(), b"data\n", "{how}");
        let link = fs::read_link(g.join(format!("l\n{long}"))).unwrap();
        assert_eq!(
            link.as_os_str().as_bytes(),
            format!("../{}\n{}", "t".repeat(70), "u".repeat(70)).as_bytes(),
            "{how}"
        );
        let c = CString::new(g.join("caps").as_os_str().as_bytes()).unwrap();
        let got = crate::sys::lxattrs(&c).unwrap();
        assert!(
            got.contains(&(b"user.bin".to_vec(), b"\x01\n\x00\n2".to_vec())),
            "{how}: {got:?}"
        );
        // Nothing else was created under a name the tar crate would have taken.
        let mut names: Vec<Vec<u8>> = fs::read_dir(&g)
            .unwrap()
            .map(|e| e.unwrap().file_name().as_bytes().to_vec())
            .collect();
        names.sort();
        assert_eq!(names.len(), 3, "{how}: {names:?}");
    };
    both(|resolver| {
        let merged = tempfile::tempdir().unwrap();
        apply(merged.path(), layer.as_slice(), &opts(Mode::Merge)).unwrap();
        check(merged.path(), &format!("{resolver} merge"));
        let unpacked = tempfile::tempdir().unwrap();
        apply(unpacked.path(), layer.as_slice(), &opts(Mode::Unpack)).unwrap();
        check(unpacked.path(), &format!("{resolver} unpack"));
        let sb = Sandbox::new();
        let dirs = stack_dirs(&sb, 2);
        apply_on(&dirs[1], &[&dirs[0]], layer.as_slice(), &opts(Mode::Unpack)).unwrap();
        check(&dirs[1], &format!("{resolver} apply_on"));

        // Packed again, the tree reads to the same changeset, which writes the same bytes.
        let mut packed = Vec::new();
        pack_dir(merged.path(), &mut packed).unwrap();
        let back: layer_diff::Changeset = layer_diff::read_changeset(packed.as_slice())
            .unwrap()
            .iter()
            .filter(|e| !e.path.is_empty())
            .cloned()
            .collect();
        let again = layer_diff::write_changeset(&back, &|_| None, Vec::new()).unwrap();
        assert!(again == layer, "{resolver}: {back}");
    });
}

/// A PAX header with this data, then an empty regular file `plain`.
fn raw_pax_layer(data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut x = Header::new_ustar();
    x.set_entry_type(EntryType::XHeader);
    x.set_size(data.len() as u64);
    x.set_path("PaxHeaders/plain").unwrap();
    x.set_cksum();
    b.append(&x, data).unwrap();
    let mut h = header(EntryType::Regular, 0o644);
    b.append_data(&mut h, "plain", std::io::empty()).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn pax_record_whose_length_disagrees_is_refused() {
    // "path=a\nb" in a record whose length stops at the first newline (leaving "b\n"), a
    // length that ends inside the value, one that runs past the header.
    for data in [&b"10 path=a\nb\n"[..], b"9 path=abc\n", b"30 path=ab\n"] {
        let dir = tempfile::tempdir().unwrap();
        let err = apply(
            dir.path(),
            raw_pax_layer(data).as_slice(),
            &opts(Mode::Merge),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("malformed PAX record"),
            "{}: {text}",
            data.escape_ascii()
        );
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{text}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "{text}");
    }
    // Well-formed, the same header applies its name.
    let dir = tempfile::tempdir().unwrap();
    let data = b"13 path=a\nbc\n";
    apply(
        dir.path(),
        raw_pax_layer(data).as_slice(),
        &opts(Mode::Merge),
    )
    .unwrap();
    assert!(dir.path().join("a\nbc").exists());
}

#[test]
fn xattr_value_with_a_newline_byte_applies() {
    // A binary value (file capabilities often hold 0x0a) in a PAX record.
    let value: &[u8] = b"\x00\x00\x00\x02\n\x00\x00\x00";
    let dir = tempfile::tempdir().unwrap();
    apply_ok(
        dir.path(),
        Layer::new()
            .pax(&[("SCHILY.xattr.user.cap", value), ("mtime", b"1600000001.5")])
            .file("f", b"x"),
    );
    let c = CString::new(dir.path().join("f").as_os_str().as_bytes()).unwrap();
    let got = crate::sys::lxattrs(&c).unwrap();
    assert!(
        got.contains(&(b"user.cap".to_vec(), value.to_vec())),
        "{got:?}"
    );
    let md = fs::metadata(dir.path().join("f")).unwrap();
    assert_eq!(md.mtime(), 1_600_000_001);
}

#[test]
fn apply_observed_reports_entries_and_the_bytes_written() {
    let tmp = TempDir::new().unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let layer = Layer::new()
        .dir("d/")
        .file("./d/a", b"hello")
        .file("d/big", &big)
        .symlink("d/s", "a")
        .hardlink("d/h", "d/a");
    let mut seen: Vec<(Vec<u8>, crate::ObservedKind, Vec<u8>)> = Vec::new();
    let mut observe = |o: crate::Observed<'_>| match o {
        crate::Observed::Entry { path, kind } => seen.push((path.to_vec(), kind, Vec::new())),
        crate::Observed::Data(b) => seen.last_mut().unwrap().2.extend_from_slice(b),
    };
    crate::apply_observed(
        tmp.path(),
        &layer.bytes()[..],
        &opts(Mode::Unpack),
        &mut observe,
    )
    .unwrap();
    use crate::ObservedKind::*;
    let kinds: Vec<(&[u8], crate::ObservedKind)> =
        seen.iter().map(|(p, k, _)| (p.as_slice(), *k)).collect();
    assert_eq!(
        kinds,
        [
            (&b"d"[..], Other),
            (b"d/a", File),
            (b"d/big", File),
            (b"d/s", Indirect),
            (b"d/h", Indirect)
        ]
    );
    assert_eq!(seen[1].2, b"hello");
    assert_eq!(seen[2].2, big);
    assert_eq!(fs::read(tmp.path().join("d/big")).unwrap(), big);
}

// ---------------------------------------------------------------------------------------------
// PAX GNU sparse files

/// One PAX GNU sparse entry as GNU tar writes it: a PAX header of `records`, then a regular
/// entry `name` storing `stored`.
fn pax_sparse(records: &[(&str, String)], name: &str, stored: &[u8]) -> Layer {
    let mut h = header(EntryType::Regular, 0o640);
    h.set_size(stored.len() as u64);
    let mut l = Layer::new().pax(records);
    l.0.append_data(&mut h, name, stored).unwrap();
    l
}

/// The three PAX formats GNU tar writes, of a file `d/f` of `size` bytes with `data` at
/// `at`.
fn pax_sparse_versions(size: u64, at: u64, data: &[u8]) -> Vec<(&'static str, Layer)> {
    let (size_s, at_s, len) = (size.to_string(), at.to_string(), data.len().to_string());
    let rec = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    };
    let mut map10 = format!("2\n{at}\n{len}\n{size}\n0\n").into_bytes();
    map10.resize(512, 0);
    map10.extend_from_slice(data);
    vec![
        (
            "0.0",
            pax_sparse(
                &rec(&[
                    ("GNU.sparse.size", &size_s),
                    ("GNU.sparse.numblocks", "2"),
                    ("GNU.sparse.offset", &at_s),
                    ("GNU.sparse.numbytes", &len),
                    ("GNU.sparse.offset", &size_s),
                    ("GNU.sparse.numbytes", "0"),
                ]),
                "d/f",
                data,
            ),
        ),
        (
            "0.1",
            pax_sparse(
                &rec(&[
                    ("GNU.sparse.size", &size_s),
                    ("GNU.sparse.numblocks", "2"),
                    ("GNU.sparse.name", "d/f"),
                    ("GNU.sparse.map", &format!("{at},{len},{size},0")),
                ]),
                "d/GNUSparseFile.7/f",
                data,
            ),
        ),
        (
            "1.0",
            pax_sparse(
                &rec(&[
                    ("GNU.sparse.major", "1"),
                    ("GNU.sparse.minor", "0"),
                    ("GNU.sparse.name", "d/f"),
                    ("GNU.sparse.realsize", &size_s),
                ]),
                "d/GNUSparseFile.7/f",
                &map10,
            ),
        ),
    ]
}

/// A PAX sparse file is written as Go expands it: its data at its offsets, the rest holes
/// (seeked over, so the file stays sparse on disk), at its real size, under its real name;
/// the observer sees the expanded bytes; the byte limit counts the real size.
#[test]
fn pax_sparse_files_apply_expanded_with_their_holes() {
    let size = 4u64 << 20;
    let at = 1u64 << 20;
    for (version, layer) in pax_sparse_versions(size, at, b"abc") {
        let dir = tempfile::tempdir().unwrap();
        let tar = layer.bytes();
        let stats = apply(dir.path(), tar.as_slice(), &opts(Mode::Merge))
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        assert_eq!(stats.bytes, size, "{version}");
        let names: Vec<_> = fs::read_dir(dir.path().join("d"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["f"], "{version}");
        let path = dir.path().join("d/f");
        let data = fs::read(&path).unwrap();
        assert_eq!(data.len() as u64, size, "{version}");
        let at = at as usize;
        assert_eq!(&data[at..at + 3], b"abc", "{version}");
        assert!(data[..at].iter().chain(&data[at + 3..]).all(|&b| b == 0));
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o640, "{version}");
        assert!(
            meta.blocks() * 512 < 1 << 20,
            "{version}: {} bytes allocated",
            meta.blocks() * 512
        );
        // What the observer sees is what is written.
        let dir = tempfile::tempdir().unwrap();
        let mut seen = 0u64;
        let mut nonzero = Vec::new();
        let mut observe = |o: crate::Observed<'_>| {
            if let crate::Observed::Data(d) = o {
                for (i, &b) in d.iter().enumerate() {
                    if b != 0 {
                        nonzero.push((seen + i as u64, b));
                    }
                }
                seen += d.len() as u64;
            }
        };
        crate::apply_observed(dir.path(), tar.as_slice(), &opts(Mode::Merge), &mut observe)
            .unwrap();
        assert_eq!(seen, size, "{version}");
        let at = at as u64;
        assert_eq!(nonzero, [(at, b'a'), (at + 1, b'b'), (at + 2, b'c')]);
        // The real size counts against the byte limit, before anything is written.
        let dir = tempfile::tempdir().unwrap();
        let small = ApplyOptions {
            limits: Limits {
                max_bytes: size - 1,
                ..Limits::default()
            },
            ..opts(Mode::Merge)
        };
        let err = apply(dir.path(), tar.as_slice(), &small).unwrap_err();
        assert!(
            matches!(err, ApplyError::TooManyBytes { size: s, .. } if s == size),
            "{version}: {err}"
        );
    }
}

/// A malformed map is refused with the entry's name, as the changeset reader and ingest
/// refuse it.
#[test]
fn malformed_pax_sparse_maps_are_refused() {
    let rec = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    };
    for (records, stored, want) in [
        (
            rec(&[
                ("GNU.sparse.name", "f"),
                ("GNU.sparse.size", "100"),
                ("GNU.sparse.numblocks", "2"),
                ("GNU.sparse.map", "50,5,10,5"),
            ]),
            vec![1u8; 10],
            "map regions overlap or are out of order",
        ),
        (
            rec(&[
                ("GNU.sparse.name", "f"),
                ("GNU.sparse.size", "100"),
                ("GNU.sparse.numblocks", "1"),
                ("GNU.sparse.map", "0,5"),
            ]),
            vec![1u8; 6],
            "map holds 5 bytes of data, the entry stores 6",
        ),
        (
            rec(&[
                ("GNU.sparse.major", "1"),
                ("GNU.sparse.minor", "0"),
                ("GNU.sparse.name", "f"),
                ("GNU.sparse.realsize", "100"),
            ]),
            [&b"1\n0\nten\n"[..], &[0; 504]].concat(),
            "map number \"ten\" is not a number",
        ),
        (
            rec(&[
                ("GNU.sparse.major", "1"),
                ("GNU.sparse.minor", "0"),
                ("GNU.sparse.name", "f"),
                ("GNU.sparse.realsize", "100"),
            ]),
            b"1\n0\n".to_vec(),
            "1.0 map runs past the entry's data",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let layer = pax_sparse(&records, "GNUSparseFile.1/f", &stored);
        let err = apply(dir.path(), layer.bytes().as_slice(), &opts(Mode::Merge)).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ApplyError::InvalidEntry { .. })
                && text.contains("\"f\"")
                && text.contains(want),
            "{text}"
        );
        assert!(!dir.path().join("f").exists());
    }
}
