//! layer-apply's `apply` of any bytes as a layer tar, into a fresh root on a private tmpfs,
//! first in `Merge` mode on top of a lower tree full of hostile symlinks (`abs -> /`, `up -> ..`,
//! `out -> ../outside`, `var/run -> /run`), then in `Unpack` mode into an empty root; as root
//! (owners kept, devices created).
//! Properties: nothing panics; nothing outside the root changes (a sentinel tree beside it is
//! compared after every run, and the rest of the host is read-only, so an escape shows up as
//! `EROFS`); a layer that applies packs back deterministically.
#![no_main]

use layer_apply::{apply, pack_dir, ApplyOptions, Limits, Mode};
use libfuzzer_sys::fuzz_target;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

struct Dirs {
    root: PathBuf,
    scratch: PathBuf,
    outside: Vec<(PathBuf, String)>,
}

static DIRS: OnceLock<Dirs> = OnceLock::new();

/// Every path under `dir` but `skip`, with its type, mode, size, owner, link target and
/// content, in order.
fn snapshot(dir: &Path, skip: &Path, out: &mut Vec<(PathBuf, String)>) {
    let mut names: Vec<_> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    for p in names {
        if p == skip {
            continue;
        }
        let m = fs::symlink_metadata(&p).expect("lstat");
        let what = if m.is_symlink() {
            format!("link {:?}", fs::read_link(&p).unwrap())
        } else if m.is_file() {
            format!("file {:?}", fs::read(&p).unwrap())
        } else {
            "dir".to_string()
        };
        out.push((
            p.clone(),
            format!("{what} {:o} {}:{} {} {}", m.mode(), m.uid(), m.gid(), m.nlink(), m.mtime()),
        ));
        if m.is_dir() {
            snapshot(&p, skip, out);
        }
    }
}

fn lower_tree(root: &Path) {
    let _ = fs::remove_dir_all(root);
    for d in ["", "etc/dir", "usr/bin", "run", "var"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(root.join("etc/passwd"), "root:x:0:0\n").unwrap();
    fs::write(root.join("usr/bin/sh"), "#!\n").unwrap();
    for (name, target) in [
        ("bin", "usr/bin"),
        ("abs", "/"),
        ("up", ".."),
        ("out", "../outside"),
        ("var/run", "/run"),
        ("etc/loop", "loop"),
    ] {
        symlink(target, root.join(name)).unwrap();
    }
}

fuzz_target!(
    init: {
        let scratch = strata_fuzz::sandbox();
        let outside = scratch.join("outside");
        fs::create_dir_all(outside.join("dir")).unwrap();
        fs::write(outside.join("sentinel"), "do not touch\n").unwrap();
        fs::write(scratch.join("sentinel"), "do not touch\n").unwrap();
        let root = scratch.join("root");
        fs::create_dir_all(&root).unwrap();
        let mut snap = Vec::new();
        snapshot(&scratch, &root, &mut snap);
        DIRS.set(Dirs { root, scratch, outside: snap }).ok().expect("init once");
    },
    |data: &[u8]| {
        let dirs = DIRS.get().expect("init ran");
        for mode in [Mode::Merge, Mode::Unpack] {
            run(dirs, mode, data);
        }
    }
);

fn run(dirs: &Dirs, mode: Mode, tar: &[u8]) {
    if mode == Mode::Merge {
        lower_tree(&dirs.root);
    } else {
        let _ = fs::remove_dir_all(&dirs.root);
        fs::create_dir(&dirs.root).unwrap();
    }
    let opts = ApplyOptions {
        mode,
        limits: Limits {
            max_entries: 10_000,
            max_bytes: 1 << 20,
            ..Limits::default()
        },
        same_owner: true,
        create_devices: true,
        no_overwrite_dir_non_dir: false,
    };
    let res = apply(&dirs.root, tar, &opts);
    let mut now = Vec::new();
    snapshot(&dirs.scratch, &dirs.root, &mut now);
    assert!(now == dirs.outside, "{mode:?}: apply changed something outside its root: {now:#?}");
    match res {
        Ok(_) => {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            pack_dir(&dirs.root, &mut a).expect("an applied layer packs");
            pack_dir(&dirs.root, &mut b).expect("an applied layer packs");
            assert!(a == b, "{mode:?}: packing is not deterministic");
        }
        Err(e) => {
            assert!(
                !strata_fuzz::is_erofs(&e),
                "{mode:?}: apply tried to write outside its root: {e}"
            );
            let _ = e.kind();
        }
    }
}
