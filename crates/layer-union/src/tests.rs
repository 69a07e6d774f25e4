//! Snapshot tests of union views, built from fixtures and, to prove the codec agrees, from the
//! real tars those fixtures make.

use crate::fixture::{parse, render, render_changes, render_efficiency, tars};
use crate::Union;
use expect_test::{expect, Expect};
use layer_diff::read_changeset;

/// Renders the union of a fixture: merged tree, per-layer changes, efficiency. The same
/// fixture written to tars and decoded again must give the same union.
fn check(fixture: &str, expect: Expect) {
    let layers = parse(fixture).unwrap();
    let union = Union::build(&layers);
    let out = format!(
        "{}-- changes\n{}-- efficiency\n{}",
        render(&union),
        render_changes(&union),
        render_efficiency(&union)
    );
    let decoded: Vec<_> = tars(&layers)
        .unwrap()
        .iter()
        .map(|tar| read_changeset(tar.as_slice()).unwrap())
        .collect();
    // A tar's entries apply in order: decoded, each layer is what it holds applied on its own
    // (names through its own symlinks resolved), and the stack means the same.
    let alone: Vec<_> = layers.iter().map(|cs| cs.on_top_of(&|_| None)).collect();
    assert_eq!(decoded, alone, "fixture → tar → changeset");
    let again = Union::build(&decoded);
    let out_again = format!(
        "{}-- changes\n{}-- efficiency\n{}",
        render(&again),
        render_changes(&again),
        render_efficiency(&again)
    );
    assert_eq!(out_again, out, "fixture → tar → changeset → union");
    expect.assert_eq(&out);
}

#[test]
fn override_across_layers() {
    check(
        r#"
        layer 1:
          /etc/ dir
          /etc/hosts "old\n"
          /etc/motd "hello\n"
        layer 2:
          /etc/ dir mode=0700          # a directory over a directory: new attributes, same children
          /etc/hosts "new\n"
        layer 3:
          /etc/hosts "newest\n" mode=0600
        "#,
        expect![[r#"
            /etc/       L2 dir mode=0700 | hides L1 dir
            /etc/hosts  L3 file 7 "newest\n" mode=0600 | hides L1 file 4 "old\n", L2 file 4 "new\n"
            /etc/motd   L1 file 6 "hello\n"
            -- changes
            L1 A /etc/
            L1 A /etc/hosts
            L1 A /etc/motd
            L2 M /etc/
            L2 M /etc/hosts
            L3 M /etc/hosts
            -- efficiency
            score 0.4762 = 10 / 21 bytes; wasted 15 bytes; size 21, user size 11; wasted/user 1.3636
              15 bytes (min 4) /etc/hosts in L1, L2, L3
        "#]],
    );
}

#[test]
fn whiteout_of_a_file() {
    check(
        r#"
        layer 1:
          /etc/ dir
          /etc/passwd "root:x:0:0\n"
          /etc/group "root:x:0:\n"
        layer 2:
          /etc/.wh.passwd
        layer 3:
          /etc/.wh.group
          /etc/group "wheel:x:10:\n"   # deleted and written again by one layer
          /etc/.wh.nothing             # a whiteout of a path no layer has
        "#,
        expect![[r#"
            /etc/         L1 dir
            /etc/group    L3 file 12 "wheel:x:10:\n" | hides L1 file 10 "root:x:0:\n" | whiteout L3
            /etc/nothing  absent | whiteout L3
            /etc/passwd   gone | hides L1 file 11 "root:x:0:0\n" | whiteout L2
            -- changes
            L1 A /etc/
            L1 A /etc/group
            L1 A /etc/passwd
            L2 R /etc/passwd
            L3 M /etc/group
            -- efficiency
            score 0.0000 = 0 / 33 bytes; wasted 33 bytes; size 33, user size 12; wasted/user 2.7500
              22 bytes (min 0) /etc/group in L1, L3, L3
              11 bytes (min 0) /etc/passwd in L1, L2
        "#]],
    );
}

/// dive counts a whiteout as one occurrence of the deleted path, sized by the subtree it
/// deletes; the files under it were each seen once. So deleting a directory wastes nothing
/// unless the directory itself was a leaf (an empty directory) in a lower layer.
#[test]
fn whiteout_of_a_directory() {
    check(
        r#"
        layer 1:
          /var/ dir
          /var/cache/ dir
          /var/cache/apt/ dir
          /var/cache/apt/pkgcache.bin 3000
          /var/cache/apt/srcpkgcache.bin 2000
          /var/log/ dir
        layer 2:
          /var/cache/apt/archives/ dir
          /var/cache/apt/archives/curl.deb 500
          /var/log/syslog 700              # /var/log was empty (a leaf) in layer 1
        layer 3:
          /var/cache/.wh.apt
          /var/.wh.log
        "#,
        expect![[r#"
            /var/                             L1 dir
            /var/cache/                       L1 dir
            /var/cache/apt/                   gone | hides L1 dir | whiteout L3
            /var/cache/apt/archives/          gone | hides L2 dir | whiteout L3 at /var/cache/apt/
            /var/cache/apt/archives/curl.deb  gone | hides L2 file 500 | whiteout L3 at /var/cache/apt/
            /var/cache/apt/pkgcache.bin       gone | hides L1 file 3000 | whiteout L3 at /var/cache/apt/
            /var/cache/apt/srcpkgcache.bin    gone | hides L1 file 2000 | whiteout L3 at /var/cache/apt/
            /var/log/                         gone | hides L1 dir | whiteout L3
            /var/log/syslog                   gone | hides L2 file 700 | whiteout L3 at /var/log/
            -- changes
            L1 A /var/
            L1 A /var/cache/
            L1 A /var/cache/apt/
            L1 A /var/cache/apt/pkgcache.bin
            L1 A /var/cache/apt/srcpkgcache.bin
            L1 A /var/log/
            L2 A /var/cache/apt/archives/
            L2 A /var/cache/apt/archives/curl.deb
            L2 A /var/log/syslog
            L3 R /var/cache/apt/
            L3 R /var/log/
            -- efficiency
            score 0.9435 = 11700 / 12400 bytes; wasted 700 bytes; size 6200, user size 1200; wasted/user 0.5833
              700 bytes (min 0) /var/log in L1, L3
        "#]],
    );
}

#[test]
fn opaque_directory() {
    check(
        r#"
        layer 1:
          /usr/ dir
          /usr/share/ dir
          /usr/share/doc/ dir
          /usr/share/doc/a "a"
          /usr/share/doc/b/ dir
          /usr/share/doc/b/c "c"
          /usr/share/man "man"
        layer 2:
          /usr/share/doc/ dir
          /usr/share/doc/.wh..wh..opq
          /usr/share/doc/b/ dir        # made again: the lower b/c stays hidden
          /usr/share/doc/new "n"
        layer 3:
          /usr/share/doc/a "a again"   # above the opaque layer, so visible
        "#,
        expect![[r#"
            /usr/               L1 dir
            /usr/share/         L1 dir
            /usr/share/doc/     L2 dir | hides L1 dir | opaque L2
            /usr/share/doc/a    L3 file 7 "a again" | hides L1 file 1 "a" | opaque L2 at /usr/share/doc/
            /usr/share/doc/b/   L2 dir | hides L1 dir | opaque L2 at /usr/share/doc/
            /usr/share/doc/b/c  gone | hides L1 file 1 "c" | opaque L2 at /usr/share/doc/
            /usr/share/doc/new  L2 file 1 "n" | opaque L2 at /usr/share/doc/
            /usr/share/man      L1 file 3 "man"
            -- changes
            L1 A /usr/
            L1 A /usr/share/
            L1 A /usr/share/doc/
            L1 A /usr/share/doc/a
            L1 A /usr/share/doc/b/
            L1 A /usr/share/doc/b/c
            L1 A /usr/share/man
            L2 M /usr/share/doc/
            L2 R /usr/share/doc/a
            L2 M /usr/share/doc/b/
            L2 A /usr/share/doc/new
            L3 A /usr/share/doc/a
            -- efficiency
            score 0.4615 = 6 / 13 bytes; wasted 8 bytes; size 13, user size 8; wasted/user 1.0000
              8 bytes (min 1) /usr/share/doc/a in L1, L3
        "#]],
    );
}

#[test]
fn file_to_directory_and_back() {
    check(
        r#"
        layer 1:
          /opt/ dir
          /opt/app "binary"            # a file
          /srv/ dir                    # a directory with content
          /srv/data/ dir
          /srv/data/x "x"
        layer 2:
          /opt/app/ dir                # the file becomes a directory
          /opt/app/bin "bin"
          /srv "now a file"            # the directory becomes a file: its subtree is hidden
        layer 3:
          /srv/ dir                    # a directory again: the old subtree stays hidden
          /srv/fresh "f"
        "#,
        expect![[r#"
            /opt/         L1 dir
            /opt/app/     L2 dir | hides L1 file 6 "binary"
            /opt/app/bin  L2 file 3 "bin"
            /srv/         L3 dir | hides L1 dir, L2 file 10 "now a file"
            /srv/data/    gone | hides L1 dir
            /srv/data/x   gone | hides L1 file 1 "x"
            /srv/fresh    L3 file 1 "f"
            -- changes
            L1 A /opt/
            L1 A /opt/app
            L1 A /srv/
            L1 A /srv/data/
            L1 A /srv/data/x
            L2 M /opt/app/
            L2 A /opt/app/bin
            L2 M /srv
            L3 M /srv/
            L3 A /srv/fresh
            -- efficiency
            score 1.0000 = 21 / 21 bytes; wasted 0 bytes; size 21, user size 14; wasted/user 0.0000
        "#]],
    );
}

#[test]
fn symlink_replacing_a_directory() {
    check(
        r#"
        layer 1:
          /lib/ dir
          /lib/libc.so "elf"
          /lib/modules/ dir
          /lib/modules/k.ko 100
          /usr/ dir
          /usr/lib/ dir
        layer 2:
          /lib -> usr/lib              # the directory and its subtree are hidden
        layer 3:
          /lib/late "x"                # applied on top: /lib resolves to /usr/lib, as in containerd
        "#,
        expect![[r#"
            /lib               L2 symlink -> usr/lib | hides L1 dir
            /lib/libc.so       gone | hides L1 file 3 "elf"
            /lib/modules/      gone | hides L1 dir
            /lib/modules/k.ko  gone | hides L1 file 100
            /usr/              L1 dir
            /usr/lib/          L1 dir
            /usr/lib/late      L3 file 1 "x"
            -- changes
            L1 A /lib/
            L1 A /lib/libc.so
            L1 A /lib/modules/
            L1 A /lib/modules/k.ko
            L1 A /usr/
            L1 A /usr/lib/
            L2 M /lib
            L3 A /usr/lib/late
            -- efficiency
            score 1.0000 = 104 / 104 bytes; wasted 0 bytes; size 104, user size 1; wasted/user 0.0000
        "#]],
    );
}

/// A layer is applied on top of the layers below it: names resolve through their symlinks
/// inside the image root, for entries, whiteouts, opaque markers and hard link targets alike.
#[test]
fn paths_resolve_through_lower_symlinks() {
    check(
        r#"
        layer 1:
          /run/ dir
          /var/ dir
          /var/run -> /run             # absolute: resolved from the image root
          /etc/ dir
          /etc/passwd "root"
          /conf -> etc                 # relative
          /up -> ../../..              # climbs: clamped at the root
          /data/ dir
          /data/old "old"
        layer 2:
          /var/run/x "x"               # lands at /run/x
          /conf/.wh.passwd             # whites out /etc/passwd
          /up/etc/hosts "h"            # lands at /etc/hosts, never above the root
          /dl -> data
          /dl/.wh..wh..opq             # opaque on what /dl resolves to, /data
          /conf/link => /var/run/x     # target resolved too: /run/x
        "#,
        expect![[r#"
            /conf        L1 symlink -> etc
            /data/       L1 dir | opaque L2
            /data/old    gone | hides L1 file 3 "old" | opaque L2 at /data/
            /dl          L2 symlink -> data
            /etc/        L1 dir
            /etc/hosts   L2 file 1 "h"
            /etc/link    L2 hardlink => /run/x (L2 /run/x)
            /etc/passwd  gone | hides L1 file 4 "root" | whiteout L2
            /run/        L1 dir
            /run/x       L2 file 1 "x"
            /up          L1 symlink -> ../../..
            /var/        L1 dir
            /var/run     L1 symlink -> /run
            -- changes
            L1 A /conf
            L1 A /data/
            L1 A /data/old
            L1 A /etc/
            L1 A /etc/passwd
            L1 A /run/
            L1 A /up
            L1 A /var/
            L1 A /var/run
            L2 R /data/old
            L2 A /dl
            L2 A /etc/hosts
            L2 A /etc/link
            L2 R /etc/passwd
            L2 A /run/x
            -- efficiency
            score 0.5556 = 5 / 9 bytes; wasted 4 bytes; size 9, user size 2; wasted/user 2.0000
              4 bytes (min 0) /etc/passwd in L1, L2
        "#]],
    );
}

/// `Union::resolve`: a path of the merged view resolved by the rule layers are applied by,
/// never above the root; the last component followed only when asked.
#[test]
fn resolve_follows_symlinks_inside_the_root() {
    let layers = parse(
        r#"
        layer 1:
          /run/ dir
          /run/app.pid "42"
          /var/ dir
          /var/run -> /run
          /etc/ dir
          /etc/passwd "root"
          /up -> ../../..
          /loop -> loop
        layer 2:
          /conf -> etc
          /hl => /var/run
        "#,
    )
    .unwrap();
    let u = Union::build(&layers);
    let cases = [
        ("var/run", false, "var/run"),
        ("var/run", true, "run"),
        ("var/run/app.pid", false, "run/app.pid"),
        ("var/run/new/x", false, "run/new/x"),
        ("up/etc/passwd", false, "etc/passwd"),
        ("up/../../etc", true, "etc"),
        ("conf/passwd", true, "etc/passwd"),
        ("hl/app.pid", false, "run/app.pid"),
        ("etc/passwd/x", false, "etc/passwd/x"),
        ("loop/x", false, "loop/x"),
        ("", true, ""),
    ];
    for (path, follow, want) in cases {
        assert_eq!(
            u.resolve(path, follow),
            want,
            "{path} (follow_last {follow})"
        );
    }
}

/// Replacing a type is remove-then-create, and later names follow the new type.
#[test]
fn type_replacement_then_paths_through_it() {
    check(
        r#"
        layer 1:
          /a/ dir
          /a/f "f"
          /b -> /tmp
          /tmp/ dir
        layer 2:
          /a -> /host/escape           # a directory becomes a symlink pointing out of the root
          /b/ dir                      # a symlink becomes a directory
          /b/g "g"
        layer 3:
          /a/x "x"                     # resolves inside the root: /host/escape/x
          /b/h "h"                     # into the directory, not through the old symlink
        "#,
        expect![[r#"
            /a              L2 symlink -> /host/escape | hides L1 dir
            /a/f            gone | hides L1 file 1 "f"
            /b/             L2 dir | hides L1 symlink -> /tmp
            /b/g            L2 file 1 "g"
            /b/h            L3 file 1 "h"
            /host/          L3 dir (implied)
            /host/escape/   L3 dir (implied)
            /host/escape/x  L3 file 1 "x"
            /tmp/           L1 dir
            -- changes
            L1 A /a/
            L1 A /a/f
            L1 A /b
            L1 A /tmp/
            L2 M /a
            L2 M /b/
            L2 A /b/g
            L3 A /b/h
            L3 A /host/escape/x
            -- efficiency
            score 1.0000 = 4 / 4 bytes; wasted 0 bytes; size 4, user size 3; wasted/user 0.0000
        "#]],
    );
}

/// A hard link to a symlink is a second name of the symlink, never of what it points to.
#[test]
fn hardlink_to_a_symlink() {
    let layers = parse(
        r#"
        layer 1:
          /f "file" mode=0600
          /s -> f
        layer 2:
          /h => /s mode=04777 uid=5
        "#,
    )
    .unwrap();
    let union = Union::build(&layers);
    let h = union.get("h").unwrap();
    let (layer, source) = union.link_source(h).unwrap();
    assert_eq!(layer, 0);
    assert_eq!(source.path, "s");
    assert!(matches!(source.kind, layer_diff::EntryKind::Symlink { ref target } if target == "f"));
    assert_eq!(
        source.mode, 0o777,
        "the link's own header mode is not its metadata"
    );
}

#[test]
fn hardlinks_across_layers() {
    check(
        r#"
        layer 1:
          /bin/ dir
          /bin/busybox 1000
          /bin/ls => /bin/busybox      # a link to a file of the same layer
        layer 2:
          /bin/sh => /bin/busybox      # a link to a lower layer's file
          /bin/ash => /bin/ls          # a link to a lower link: the same inode as /bin/busybox
          /bin/cat => /bin/nothing     # dangling
        layer 3:
          /bin/busybox 2000            # replacing the target leaves the old links alone…
          /bin/vi => /bin/busybox      # …while a new link shares the new file
        "#,
        expect![[r#"
            /bin/         L1 dir
            /bin/ash      L2 hardlink => /bin/ls (L1 /bin/busybox)
            /bin/busybox  L3 file 2000 | hides L1 file 1000
            /bin/cat      L2 hardlink => /bin/nothing (dangling)
            /bin/ls       L1 hardlink => /bin/busybox (L1 /bin/busybox)
            /bin/sh       L2 hardlink => /bin/busybox (L1 /bin/busybox)
            /bin/vi       L3 hardlink => /bin/busybox (L3 /bin/busybox)
            -- changes
            L1 A /bin/
            L1 A /bin/busybox
            L1 A /bin/ls
            L2 A /bin/ash
            L2 A /bin/cat
            L2 A /bin/sh
            L3 M /bin/busybox
            L3 A /bin/vi
            -- efficiency
            score 0.3333 = 1000 / 3000 bytes; wasted 3000 bytes; size 3000, user size 2000; wasted/user 1.5000
              3000 bytes (min 1000) /bin/busybox in L1, L3
        "#]],
    );
}

/// "Deleting does not shrink": a big file added by one layer and removed by the next still
/// costs its bytes, and the score says so.
#[test]
fn deleting_does_not_shrink() {
    check(
        r#"
        layer 1:
          /tmp/ dir
        layer 2:
          /tmp/big.tar 100K
        layer 3:
          /tmp/.wh.big.tar
        "#,
        expect![[r#"
            /tmp/         L1 dir
            /tmp/big.tar  gone | hides L2 file 102400 | whiteout L3
            -- changes
            L1 A /tmp/
            L2 A /tmp/big.tar
            L3 R /tmp/big.tar
            -- efficiency
            score 0.0000 = 0 / 102400 bytes; wasted 102400 bytes; size 102400, user size 102400; wasted/user 1.0000
              102400 bytes (min 0) /tmp/big.tar in L2, L3
        "#]],
    );
}

/// dive's own `TestEfficiency` stack. dive expects 0.75 because its test trees give the
/// implied `/etc/nginx` no directory flag, so the whiteout counts 0 bytes; with directories
/// (as real layers list them) the whiteout counts the 8000 bytes it deletes, giving
/// 23000 / 28000. The inefficient paths and wasted bytes are dive's: `/etc/nginx/nginx.conf`,
/// 7000.
#[test]
fn dive_efficiency_example() {
    check(
        r#"
        layer 1:
          /etc/nginx/nginx.conf 2000
          /etc/nginx/public 3000
        layer 2:
          /etc/nginx/nginx.conf 5000
          /etc/athing 10000
        layer 3:
          /etc/.wh.nginx
        "#,
        expect![[r#"
            /etc/                  L1 dir (implied)
            /etc/athing            L2 file 10000
            /etc/nginx/            gone | whiteout L3
            /etc/nginx/nginx.conf  gone | hides L1 file 2000, L2 file 5000 | whiteout L3 at /etc/nginx/
            /etc/nginx/public      gone | hides L1 file 3000 | whiteout L3 at /etc/nginx/
            -- changes
            L1 A /etc/nginx/nginx.conf
            L1 A /etc/nginx/public
            L2 A /etc/athing
            L2 M /etc/nginx/nginx.conf
            L3 R /etc/nginx/
            -- efficiency
            score 0.8214 = 23000 / 28000 bytes; wasted 7000 bytes; size 20000, user size 15000; wasted/user 0.4667
              7000 bytes (min 2000) /etc/nginx/nginx.conf in L1, L2
        "#]],
    );
}

#[test]
fn queries() {
    let layers = parse(
        r#"
        layer 1:
          /etc/ dir
          /etc/hosts "one"
          /etc/passwd "root"
          /bin/busybox "bb1"
        layer 2:
          /etc/.wh.passwd
          /etc/hosts "two"
          /bin/sh => /bin/busybox
        layer 3:
          /etc/.wh..wh..opq
          /etc/hosts "three"
          /bin/busybox "bb3"
        "#,
    )
    .unwrap();
    let u = Union::build(&layers);
    let mut out = String::new();
    let merged: Vec<String> = u
        .merged()
        .map(|m| format!("{:?}@{}", m.path(), m.provider))
        .collect();
    out += &format!("merged: {}\n", merged.join(" "));
    for dir in ["", "etc", "bin", "nope"] {
        let kids: Vec<&str> = u.children(dir).iter().map(|m| m.path()).collect();
        out += &format!("children({dir:?}): {kids:?}\n");
    }
    for path in ["etc/hosts", "etc/passwd", "bin/busybox"] {
        let shadowed: Vec<String> = u
            .shadowed(path)
            .iter()
            .map(|(l, e)| format!("{l}:{}", e.kind.name()))
            .collect();
        let markers: Vec<String> = u
            .markers(path)
            .iter()
            .map(|(l, e)| format!("{l}:{}@{:?}", e.kind.name(), e.path))
            .collect();
        out += &format!("{path}: shadowed {shadowed:?} markers {markers:?}\n");
    }
    for layer in 0..3 {
        for path in ["etc/hosts", "etc/passwd", "bin/sh"] {
            let at = u.get_at(path, layer).map(|m| m.provider);
            let file = u.lookup(path, layer).map(|f| {
                format!(
                    "{}:{} {:?}",
                    f.layer,
                    f.path,
                    String::from_utf8_lossy(f.content.bytes().unwrap())
                )
            });
            out += &format!("at L{}: {path} provider {at:?} file {file:?}\n", layer + 1);
        }
    }
    out += &format!("hidden: {:?}\n", u.hidden().collect::<Vec<_>>());
    out += &format!("out of range: {:?}\n", u.layer_changes(9));
    expect![[r#"
        merged: ""@0 "bin"@0 "bin/busybox"@2 "bin/sh"@1 "etc"@0 "etc/hosts"@2
        children(""): ["bin", "etc"]
        children("etc"): ["etc/hosts"]
        children("bin"): ["bin/busybox", "bin/sh"]
        children("nope"): []
        etc/hosts: shadowed ["0:file", "1:file"] markers ["2:opaque@\"etc\""]
        etc/passwd: shadowed ["0:file"] markers ["1:whiteout@\"etc/passwd\"", "2:opaque@\"etc\""]
        bin/busybox: shadowed ["0:file"] markers []
        at L1: etc/hosts provider Some(0) file Some("0:etc/hosts \"one\"")
        at L1: etc/passwd provider Some(0) file Some("0:etc/passwd \"root\"")
        at L1: bin/sh provider None file None
        at L2: etc/hosts provider Some(1) file Some("1:etc/hosts \"two\"")
        at L2: etc/passwd provider None file None
        at L2: bin/sh provider Some(1) file Some("0:bin/busybox \"bb1\"")
        at L3: etc/hosts provider Some(2) file Some("2:etc/hosts \"three\"")
        at L3: etc/passwd provider None file None
        at L3: bin/sh provider Some(1) file Some("0:bin/busybox \"bb1\"")
        hidden: ["etc/passwd"]
        out of range: []
    "#]]
    .assert_eq(&out);
}

#[test]
fn empty_stacks() {
    let none = Union::build(&[]);
    assert_eq!(none.merged().count(), 0);
    assert_eq!(none.efficiency().score, 1.0);
    assert_eq!(none.efficiency().wasted_user_percent(), None);
    let scratch = Union::build(&parse("layer 1:\n").unwrap());
    assert_eq!(render(&scratch), "");
    assert_eq!(scratch.get("").map(|m| m.implied), Some(true));
}

#[test]
fn root_entries_and_markers() {
    check(
        r#"
        layer 1:
          / mode=0700
          /a "a"
        layer 2:
          /.wh..wh..opq                 # an opaque root hides nothing: overlayfs never reads it
          /b "b"
        "#,
        expect![[r#"
            /   L1 dir mode=0700 | opaque L2
            /a  L1 file 1 "a" | opaque L2 at /
            /b  L2 file 1 "b" | opaque L2 at /
            -- changes
            L1 A /a
            L2 A /b
            -- efficiency
            score 1.0000 = 2 / 2 bytes; wasted 0 bytes; size 2, user size 1; wasted/user 0.0000
        "#]],
    );
}

// ---------------------------------------------------------------------------------------------
// Comparing two images

/// `compare` of two fixtures' unions, one line per differing path: `A /path  - | L2 file 4`.
fn compared(a: &str, b: &str) -> String {
    let a = Union::build(&parse(a).unwrap());
    let b = Union::build(&parse(b).unwrap());
    let side = |m: Option<&crate::MergedEntry>| match m {
        None => "-".to_string(),
        Some(m) => format!("L{} {}", m.provider + 1, m.entry.kind.name()),
    };
    crate::compare(&a, &b)
        .iter()
        .map(|d| {
            let what = match &d.difference {
                crate::Difference::Changed(aspects) => {
                    let names: Vec<&str> = aspects.iter().map(|a| a.name()).collect();
                    format!(" ({})", names.join(", "))
                }
                _ => String::new(),
            };
            format!(
                "{} /{}  {} | {}{what}\n",
                d.difference.letter(),
                d.path,
                side(d.a),
                side(d.b)
            )
        })
        .collect()
}

#[test]
fn two_images_on_one_base_differ_in_what_their_own_layers_did() {
    let base = r#"
        layer 1:
          /bin/ dir
          /bin/sh "shell"
          /etc/ dir
          /etc/os "debian\n"
          /etc/motd "hi\n"
          /lib/ dir
          /lib/a 9000
          /lib/b 9000
    "#;
    let a = format!(
        "{base}
        layer 2:
          /etc/app.conf \"port=80\\n\"
          /etc/.wh.motd
          /srv/ dir
          /srv/www/ dir
          /srv/www/index \"<h1>\"
          /lib/b 9001
    "
    );
    let b = format!(
        "{base}
        layer 2:
          /etc/app.conf \"port=8080\\n\" mode=0600 uid=1
          /srv -> /var/srv
          /lib/b 9001
          /bin/sh \"shell\" mode=0755
    "
    );
    expect![[r#"
        C /bin/sh  L1 file | L2 file (mode)
        C /etc/app.conf  L2 file | L2 file (content, mode, owner)
        A /etc/motd  - | L1 file
        C /srv  L2 dir | L2 symlink (type, mode)
        D /srv/www  L2 dir | -
        D /srv/www/index  L2 file | -
    "#]]
    .assert_eq(&compared(&a, &b));
    // the same image twice: nothing differs, and /lib/b's two copies (same size, same
    // synthetic bytes) are the same file
    assert_eq!(compared(&a, &a), "");
    // the other way round, every letter turns
    let back = compared(&b, &a);
    assert!(back.contains("D /etc/motd  L1 file | -"), "{back}");
    assert!(back.contains("A /srv/www/index  - | L2 file"), "{back}");
}

#[test]
fn a_symlink_target_and_a_file_of_equal_size_but_other_bytes_are_changes() {
    let a = r#"
        layer 1:
          /a "one"
          /l -> a
    "#;
    let b = r#"
        layer 1:
          /a "two"
          /l -> b
    "#;
    expect![[r#"
        C /a  L1 file | L1 file (content)
        C /l  L1 symlink | L1 symlink (target)
    "#]]
    .assert_eq(&compared(a, b));
}

/// A layer's entries apply in the order its tar lists them, on top of the layers below, as
/// `layer-apply` unpacks them: a symlink replacing the layer's own directory drops what the
/// layer put in it and later names go through it (issue: `x`, `x/`, `x/y`, `x -> /etc`,
/// `x/z`); a chain of links, one below and two of the layer's own listed before the entry
/// (but sorting after it), leads `a/w` to `/d/w`.
#[test]
fn a_layer_applies_in_the_order_its_tar_lists_them() {
    use layer_diff::{Changeset, Entry};
    let base = parse(
        r#"
        layer 1:
          /etc/ dir
          /etc/passwd "root"
          /a -> /b
        "#,
    )
    .unwrap()
    .remove(0);
    let top = Changeset::from_tar_order(vec![
        Entry::file("x", "1"),
        Entry::dir("x"),
        Entry::file("x/y", "2"),
        Entry::symlink("x", "/etc"),
        Entry::file("x/z", "3"),
        Entry::symlink("b", "/c/../d"),
        Entry::dir("d"),
        Entry::file("a/w", "w"),
    ]);
    let u = Union::build(&[base, top]);
    expect![[r#"
        /a           L1 symlink -> /b
        /b           L2 symlink -> /c/../d
        /d/          L2 dir
        /d/w         L2 file 1 "w"
        /etc/        L1 dir
        /etc/passwd  L1 file 4 "root"
        /etc/z       L2 file 1 "3"
        /x           L2 symlink -> /etc
    "#]]
    .assert_eq(&render(&u));
    let z = u.lookup("etc/z", 1).unwrap();
    assert_eq!((z.layer, z.path), (1, "etc/z"));
    assert!(u.get("etc/y").is_none() && u.get("b/w").is_none());
}

/// A 0:0 character device is overlayfs's whiteout: the path and what it covers are gone, as
/// in a running container.
#[test]
fn a_zero_zero_char_device_is_a_whiteout() {
    check(
        r#"
        layer 1:
          /wx "lower"
          /d/ dir
          /d/f "f"
          /dev/ dir
        layer 2:
          /wx char 0:0
          /d char 0:0
          /dev/null char 1:3
        "#,
        expect![[r#"
            /d/        gone | hides L1 dir | whiteout L2
            /d/f       gone | hides L1 file 1 "f" | whiteout L2 at /d/
            /dev/      L1 dir
            /dev/null  L2 char 1:3
            /wx        gone | hides L1 file 5 "lower" | whiteout L2
            -- changes
            L1 A /d/
            L1 A /d/f
            L1 A /dev/
            L1 A /wx
            L2 R /d/
            L2 A /dev/null
            L2 R /wx
            -- efficiency
            score 0.2857 = 2 / 7 bytes; wasted 5 bytes; size 6, user size 0
              5 bytes (min 0) /wx in L1, L2
        "#]],
    );
}

/// A hard link to a lower file shares that file even when the same layer then replaces the
/// file's name (`layer-apply` copied it up for the link): the link shows the old bytes, from
/// its own layer's directory.
#[test]
fn a_hard_link_keeps_a_lower_file_its_layer_replaces() {
    use layer_diff::{Changeset, Entry};
    let base = parse("layer 1:\n  /c \"old\"\n").unwrap().remove(0);
    let top = Changeset::from_tar_order(vec![Entry::hardlink("l", "c"), Entry::file("c", "new")]);
    let u = Union::build(&[base, top]);
    expect![[r#"
        /c  L2 file 3 "new" | hides L1 file 3 "old"
        /l  L2 file 3 "old"
    "#]]
    .assert_eq(&render(&u));
    let l = u.lookup("l", 1).unwrap();
    assert_eq!(
        (l.layer, l.path, l.content.bytes()),
        (1, "l", Some(&b"old"[..]))
    );
}
