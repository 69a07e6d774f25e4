//! Codec tests: foreign tars decoded, changesets round-tripped, the encoder's exact output.

use crate::{
    read_changeset, read_changeset_with, write_changeset, Changeset, Content, Entry, EntryKind,
    ReadOptions,
};
use expect_test::{expect, Expect};
use oci_model::Digest;
use std::io::Read;

/// One member of a hand-made tar, as another writer (GNU tar, Go, moby) would produce it.
enum Member<'a> {
    /// A member of this type flag with this data.
    Data(&'a str, u8, &'a [u8]),
    /// A link member (`1` or `2`) with this target.
    Link(&'a str, u8, &'a str),
    /// A member preceded by a PAX header with these records.
    Pax(&'a str, u8, &'a [(&'a str, &'a [u8])]),
}

/// Builds a tar as a foreign writer would: GNU headers, names (even `..` or absolute ones)
/// written as given, GNU long-name members for names over 100 bytes.
fn foreign_tar(members: &[Member]) -> Vec<u8> {
    fn raw(field: &mut [u8], s: &str) {
        field[..s.len()].copy_from_slice(s.as_bytes());
    }
    let mut b = tar::Builder::new(Vec::new());
    for m in members {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        let (name, ty, data, link) = match *m {
            Member::Data(name, ty, data) => (name, ty, data, None),
            Member::Link(name, ty, target) => (name, ty, &[][..], Some(target)),
            Member::Pax(name, ty, records) => {
                b.append_pax_extensions(records.iter().copied()).unwrap();
                (name, ty, &[][..], None)
            }
        };
        h.set_entry_type(tar::EntryType::new(ty));
        h.set_size(data.len() as u64);
        if ty == b'3' || ty == b'4' {
            h.set_device_major(ty as u32 - b'0' as u32).unwrap();
            h.set_device_minor(7).unwrap();
        }
        match link {
            Some(target) if target.len() > 100 => {
                b.append_link(&mut h, name, target).unwrap();
                continue;
            }
            Some(target) => raw(&mut h.as_old_mut().linkname, target),
            None => {}
        }
        if name.len() > 100 {
            b.append_data(&mut h, name, data).unwrap();
        } else {
            raw(&mut h.as_old_mut().name, name);
            h.set_cksum();
            b.append(&h, data).unwrap();
        }
    }
    b.into_inner().unwrap()
}

/// Decodes `tar` (small-file limit 8 bytes) and renders the changeset or the error.
fn check(tar: &[u8], expect: Expect) {
    let out = match read_changeset_with(
        tar,
        &ReadOptions {
            keep_content_up_to: 8,
        },
    ) {
        Ok(cs) => cs.to_string(),
        Err(e) => format!("error ({:?}): {e}\n", e.kind()),
    };
    expect.assert_eq(&out);
}

use Member::*;

#[test]
fn decode_names_and_kinds() {
    check(
        &foreign_tar(&[
            Data("./", b'5', b""),
            Data("./etc/", b'5', b""),
            Data("/etc/passwd", b'0', b"root:x:0:0\n"),
            Data("./a/../hosts", b'0', b"localhost"),
            Data("old-style-dir/", b'0', b""),
            Link("lib", b'2', "../usr/lib"),
            Link("bin/sh", b'1', "./bin/busybox"),
            Data("dev/null", b'3', b""),
            Data("dev/sda", b'4', b""),
            Data("run/fifo", b'6', b""),
            Data("big", b'0', b"0123456789"),
        ]),
        expect![[r#"
            . dir 0644 0:0 @1700000000
            big file 10 sha256:84d89877f0d4 0644 0:0 @1700000000
            bin/sh hardlink => bin/busybox 0644 0:0 @1700000000
            dev/null char 3:7 0644 0:0 @1700000000
            dev/sda block 4:7 0644 0:0 @1700000000
            etc dir 0644 0:0 @1700000000
            etc/passwd file 11 sha256:7cf1f940025c 0644 0:0 @1700000000
            hosts file 9 sha256:49960de5880e 0644 0:0 @1700000000
            lib symlink -> ../usr/lib 0644 0:0 @1700000000
            old-style-dir dir 0644 0:0 @1700000000
            run/fifo fifo 0644 0:0 @1700000000
        "#]],
    );
}

#[test]
fn decode_whiteouts() {
    check(
        &foreign_tar(&[
            Data("usr/", b'5', b""),
            Data("usr/lib/x", b'0', b""),
            Data("usr/.wh..wh..opq", b'0', b""),
            Data("etc/.wh.passwd", b'0', b""),
            Data(".wh.tmp", b'0', b""),
            Data("usr/.wh..wh.plnk", b'0', b""),
            Data("./.wh..wh..opq", b'0', b""),
        ]),
        expect![[r#"
            . opaque 0644 0:0 @1700000000
            tmp whiteout 0644 0:0 @1700000000
            etc/passwd whiteout 0644 0:0 @1700000000
            usr dir 0644 0:0 @1700000000
            usr opaque 0644 0:0 @1700000000
            usr/lib/x file 0 "" 0644 0:0 @1700000000
        "#]],
    );
}

#[test]
fn decode_errors() {
    check(
        &foreign_tar(&[Data("a/../../etc/passwd", b'0', b"")]),
        expect![[r#"
            error (InvalidArgument): path "a/../../etc/passwd": escapes the root
        "#]],
    );
    check(
        &foreign_tar(&[Data("etc/.wh.", b'0', b"")]),
        expect![[r#"
            error (InvalidArgument): path "etc/.wh.": whiteout names nothing
        "#]],
    );
    check(
        &foreign_tar(&[Link("bin/sh", b'1', "../../bin/busybox")]),
        expect![[r#"
            error (InvalidArgument): path "../../bin/busybox": escapes the root
        "#]],
    );
    // An entry naming the root that is no directory is skipped (ingest warned about it).
    check(
        &foreign_tar(&[Data(".", b'0', b"x"), Link("./", b'2', "/etc")]),
        expect![""],
    );
    check(
        &foreign_tar(&[Data("a/.wh.b/c", b'0', b"")]),
        expect![[r#"
            error (InvalidArgument): path "a/.wh.b/c": whiteout used as a directory
        "#]],
    );
    // AUFS metadata at the root of a layer is dropped with everything under it.
    check(
        &foreign_tar(&[
            Data(".wh..wh.plnk/", b'5', b""),
            Data(".wh..wh.plnk/123.456", b'0', b"x"),
            Data("./.wh..wh.orph/", b'5', b""),
            Data(".wh..wh.aufs", b'0', b""),
            Data("kept", b'0', b""),
        ]),
        expect![[r#"
            kept file 0 "" 0644 0:0 @1700000000
        "#]],
    );
    check(
        &foreign_tar(&[Data("vol", b'V', b"")]),
        expect![[r#"
            error (InvalidArgument): entry "vol": unsupported tar entry type 'V'
        "#]],
    );
    let mut truncated = foreign_tar(&[Data("f", b'0', &[7; 600])]);
    truncated.truncate(700);
    check(
        &truncated,
        expect![[r#"
            error (InvalidArgument): reading layer tar: entry "f": data: truncated: 188 of 600 bytes
        "#]],
    );
}

#[test]
fn decode_long_names_pax_and_duplicates() {
    let long = format!("{}/file", "d".repeat(120));
    let target = format!("{}/target", "t".repeat(120));
    check(
        &foreign_tar(&[
            Data(&long, b'0', b"gnu"),
            Link("link", b'2', &target),
            Pax(
                "pax",
                b'0',
                &[
                    ("path", b"renamed/by/pax"),
                    ("mtime", b"-1.5"),
                    ("uid", b"3000000"),
                    ("gid", b"7"),
                    ("SCHILY.xattr.security.capability", b"\x01\x02"),
                    ("SCHILY.xattr.user.note", b"hi"),
                    ("LIBARCHIVE.xattr.user.skipped", b"aGk="),
                ],
            ),
            Data("dup", b'0', b"first"),
            Data("dup", b'0', b"second"),
        ]),
        expect![[r#"
            dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd/file file 3 "gnu" 0644 0:0 @1700000000
            dup file 6 "second" 0644 0:0 @1700000000
            link symlink -> tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt/target 0644 0:0 @1700000000
            renamed/by/pax file 0 "" 0644 3000000:7 @-2 xattr.security.capability="\u{1}\u{2}" xattr.user.note="hi"
        "#]],
    );
}

#[test]
fn content_limit() {
    let tar = foreign_tar(&[
        Data("empty", b'0', b""),
        Data("four", b'0', b"1234"),
        Data("five", b'0', b"12345"),
    ]);
    let cs = read_changeset_with(
        tar.as_slice(),
        &ReadOptions {
            keep_content_up_to: 4,
        },
    )
    .unwrap();
    let contents: Vec<String> = cs
        .iter()
        .map(|e| match &e.kind {
            EntryKind::File { content, .. } => format!("{} {content:?}", e.path),
            _ => unreachable!(),
        })
        .collect();
    expect![[r#"
        empty Inline("")
        five Digest(sha256:5994471abb01112afcc18159f6cc74b4f511b99806da59b3caf5a9c173cacfc5)
        four Inline("1234")"#]]
    .assert_eq(&contents.join("\n"));
    assert_eq!(cs.get("five").unwrap().kind, {
        EntryKind::File {
            size: 5,
            content: Content::Digest(Digest::of(b"12345")),
        }
    });
    let none = read_changeset_with(
        tar.as_slice(),
        &ReadOptions {
            keep_content_up_to: 0,
        },
    )
    .unwrap();
    assert!(matches!(
        &none.get("empty").unwrap().kind,
        EntryKind::File { content: Content::Inline(b), .. } if b.is_empty()
    ));
}

/// Every kind, long and non-ASCII names, out-of-range numbers, xattrs, digest-only content.
fn everything() -> (Changeset, Vec<u8>) {
    let big = vec![b'z'; 5000];
    let long_dir = "l".repeat(150);
    let cs: Changeset = [
        Entry::dir("").with_mode(0o755),
        Entry::opaque(""),
        Entry::dir("etc").with_mtime(1_700_000_000),
        Entry::file("etc/passwd", "root:x:0:0\n").with_owner(0, 42),
        Entry::whiteout("etc/shadow"),
        Entry::dir("usr"),
        Entry::opaque("usr"),
        Entry::whiteout("usr/.old"),
        Entry::file("usr/big", big.clone()).with_mode(0o4755),
        Entry::file_digest("usr/huge", big.len() as u64, Digest::of(&big)),
        Entry::hardlink("usr/a-link", "usr/big"),
        Entry::symlink("lib", "usr/lib"),
        Entry::symlink("abs", format!("/{}/x", "s".repeat(110))),
        Entry::new("dev/null", EntryKind::CharDevice { major: 1, minor: 3 }),
        Entry::new("dev/sda", EntryKind::BlockDevice { major: 8, minor: 0 }),
        Entry::new("run/ctl", EntryKind::Fifo).with_mode(0o600),
        Entry::file(format!("{long_dir}/{}", "n".repeat(120)), "very long"),
        Entry::file(format!("{long_dir}/short"), "split"),
        Entry::file("ünïcødé", "utf-8 name"),
        Entry::file("ids", "").with_owner(3_000_000, 4_000_000),
        Entry::file("old", "").with_mtime(-86_400),
        Entry::dir("caps").with_xattr("security.capability", vec![0, 1, 2, 255]),
    ]
    .into_iter()
    .collect();
    (cs, big)
}

fn encode(cs: &Changeset, big: &[u8]) -> Vec<u8> {
    let big = big.to_vec();
    write_changeset(
        cs,
        &move |e: &Entry| -> Option<Box<dyn Read>> {
            e.path
                .starts_with("usr/")
                .then(|| Box::new(std::io::Cursor::new(big.clone())) as _)
        },
        Vec::new(),
    )
    .unwrap()
}

#[test]
fn round_trip() {
    let (cs, big) = everything();
    let tar = encode(&cs, &big);
    let options = ReadOptions {
        keep_content_up_to: 4096,
    };
    let back = read_changeset_with(tar.as_slice(), &options).unwrap();
    let mut want = cs.clone();
    want.sort();
    // Files over the limit come back digest-only.
    for e in &mut want.entries {
        if e.path == "usr/big" {
            e.kind = EntryKind::File {
                size: 5000,
                content: Content::Digest(Digest::of(&big)),
            };
        }
    }
    assert_eq!(back, want);

    // Same changeset in another order → the same bytes; re-encoding the decoded form too.
    let mut shuffled = cs.clone();
    shuffled.entries.reverse();
    assert_eq!(encode(&shuffled, &big), tar);
    assert_eq!(encode(&back, &big), tar);
}

/// Lists every header of a tar, PAX ones included, with their records.
fn raw_listing(tar: &[u8]) -> String {
    let mut out = String::new();
    let mut archive = tar::Archive::new(tar);
    for e in archive.entries().unwrap().raw(true) {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let name = String::from_utf8_lossy(&h.path_bytes()).into_owned();
        let ty = h.entry_type().as_byte() as char;
        out += &format!(
            "{ty} {name:?} mode={:o} uid={} gid={} size={} mtime={}",
            h.mode().unwrap(),
            h.uid().unwrap(),
            h.gid().unwrap(),
            h.size().unwrap(),
            h.mtime().unwrap(),
        );
        if let Some(link) = h.link_name_bytes() {
            out += &format!(" link={:?}", String::from_utf8_lossy(&link));
        }
        if ty == 'x' {
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            out += &format!(" {:?}", String::from_utf8_lossy(&body));
        }
        out.push('\n');
    }
    out
}

#[test]
fn encoder_output() {
    let (cs, big) = everything();
    expect![[r#"
        5 "./" mode=755 uid=0 gid=0 size=0 mtime=0
        0 ".wh..wh..opq" mode=0 uid=0 gid=0 size=0 mtime=0
        x "PaxHeaders.0/abs" mode=644 uid=0 gid=0 size=127 mtime=0 "127 linkpath=/ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss/x\n"
        2 "abs" mode=777 uid=0 gid=0 size=0 mtime=0 link="/sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
        x "PaxHeaders.0/caps" mode=644 uid=0 gid=0 size=41 mtime=0 "41 SCHILY.xattr.security.capability=\0\u{1}\u{2}�\n"
        5 "caps/" mode=755 uid=0 gid=0 size=0 mtime=0
        3 "dev/null" mode=644 uid=0 gid=0 size=0 mtime=0
        4 "dev/sda" mode=644 uid=0 gid=0 size=0 mtime=0
        5 "etc/" mode=755 uid=0 gid=0 size=0 mtime=1700000000
        0 "etc/.wh.shadow" mode=0 uid=0 gid=0 size=0 mtime=0
        0 "etc/passwd" mode=644 uid=0 gid=42 size=11 mtime=0
        x "PaxHeaders.0/ids" mode=644 uid=0 gid=0 size=30 mtime=0 "15 gid=4000000\n15 uid=3000000\n"
        0 "ids" mode=644 uid=0 gid=0 size=0 mtime=0
        2 "lib" mode=777 uid=0 gid=0 size=0 mtime=0 link="usr/lib"
        x "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll" mode=644 uid=0 gid=0 size=281 mtime=0 "281 path=llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll/nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\n"
        0 "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll" mode=644 uid=0 gid=0 size=9 mtime=0
        0 "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll/short" mode=644 uid=0 gid=0 size=5 mtime=0
        x "PaxHeaders.0/old" mode=644 uid=0 gid=0 size=16 mtime=0 "16 mtime=-86400\n"
        0 "old" mode=644 uid=0 gid=0 size=0 mtime=0
        6 "run/ctl" mode=600 uid=0 gid=0 size=0 mtime=0
        5 "usr/" mode=755 uid=0 gid=0 size=0 mtime=0
        0 "usr/.wh..wh..opq" mode=0 uid=0 gid=0 size=0 mtime=0
        0 "usr/.wh..old" mode=0 uid=0 gid=0 size=0 mtime=0
        0 "usr/big" mode=4755 uid=0 gid=0 size=5000 mtime=0
        1 "usr/a-link" mode=644 uid=0 gid=0 size=0 mtime=0 link="usr/big"
        0 "usr/huge" mode=644 uid=0 gid=0 size=5000 mtime=0
        x "PaxHeaders.0/_n_c_d_" mode=644 uid=0 gid=0 size=20 mtime=0 "20 path=ünïcødé\n"
        0 "_n_c_d_" mode=644 uid=0 gid=0 size=10 mtime=0
    "#]]
    .assert_eq(&raw_listing(&encode(&cs, &big)));
}

#[test]
fn hardlinks_follow_their_targets() {
    let cs: Changeset = [
        Entry::hardlink("a/link-to-z", "z/file"),
        Entry::hardlink("b/chain", "a/link-to-z"),
        Entry::hardlink("c/lower", "somewhere/in/a/lower/layer"),
        Entry::file("z/file", "x"),
    ]
    .into_iter()
    .collect();
    let tar = write_changeset(&cs, &|_| None, Vec::new()).unwrap();
    expect![[r#"
        1 "c/lower" mode=644 uid=0 gid=0 size=0 mtime=0 link="somewhere/in/a/lower/layer"
        0 "z/file" mode=644 uid=0 gid=0 size=1 mtime=0
        1 "a/link-to-z" mode=644 uid=0 gid=0 size=0 mtime=0 link="z/file"
        1 "b/chain" mode=644 uid=0 gid=0 size=0 mtime=0 link="a/link-to-z"
    "#]]
    .assert_eq(&raw_listing(&tar));
}

#[test]
fn encoder_errors() {
    let run = |cs: Changeset, bytes: Option<&'static [u8]>| -> String {
        match write_changeset(
            &cs,
            &|_| bytes.map(|b| Box::new(b) as Box<dyn Read>),
            Vec::new(),
        ) {
            Ok(_) => "ok".into(),
            Err(e) => format!("{:?}: {e}", e.kind()),
        }
    };
    let digest_only = || -> Changeset {
        [Entry::file_digest("f", 3, Digest::of(b"abc"))]
            .into_iter()
            .collect()
    };
    let cycle: Changeset = [Entry::hardlink("a", "b"), Entry::hardlink("b", "a")]
        .into_iter()
        .collect();
    let own: Changeset = [Entry::hardlink("a", "a")].into_iter().collect();
    let bad: Changeset = [Entry::file("../x", "")].into_iter().collect();
    let out = [
        run(digest_only(), Some(b"abc")),
        run(digest_only(), None),
        run(digest_only(), Some(b"ab")),
        run(digest_only(), Some(b"abcd")),
        run(digest_only(), Some(b"abd")),
        run(cycle, None),
        run(own, None),
        run(bad, None),
    ];
    expect![[r#"
        ok
        NotFound: entry "f": no content supplied for sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        Internal: entry "f": supplied content does not match: want 3 bytes, got 2
        Internal: entry "f": supplied content does not match: more than 3 bytes
        Internal: entry "f": supplied content does not match: want sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad, got sha256:a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9
        InvalidArgument: entry "b": hardlinks form a cycle
        InvalidArgument: entry "a": hardlink to itself
        InvalidArgument: path "../x": not normalised"#]]
    .assert_eq(&out.join("\n"));
}

#[test]
fn empty_changeset_is_two_zero_blocks() {
    let tar = write_changeset(&Changeset::new(), &|_| None, Vec::new()).unwrap();
    assert_eq!(tar, vec![0u8; 1024]);
    assert_eq!(read_changeset(tar.as_slice()).unwrap(), Changeset::new());
}

#[test]
fn blank_numeric_fields_read_as_zero_like_go() {
    // tar-rs's `Header::new_ustar` leaves uid, gid and mtime as NULs; Go's archive/tar reads 0.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(2);
    h.set_mode(0o644);
    b.append_data(&mut h, "etc/hosts", &b"hi"[..]).unwrap();
    let cs = crate::read_changeset(&b.into_inner().unwrap()[..]).unwrap();
    let e = &cs.entries[0];
    assert_eq!(
        (e.path.as_str(), e.uid, e.gid, e.mtime),
        ("etc/hosts", 0, 0, 0)
    );
}

/// A tar entry named by any bytes (PAX `path` when they do not fit 100 bytes).
fn byte_named(name: &[u8], kind: u8, link: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    h.as_old_mut().linkflag = [kind];
    h.set_mode(0o644);
    h.set_size(0);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    h.as_bytes().to_vec()
}

#[test]
fn names_are_bytes_through_read_and_write() {
    let mut tar = Vec::new();
    tar.extend(byte_named(b"caf\xe9/", b'5', b""));
    tar.extend(byte_named(b"caf\xe9/na\xefve", b'0', b""));
    tar.extend(byte_named(b"bell\x07\x1b[0m", b'0', b""));
    tar.extend(byte_named(b"lnk", b'2', b"caf\xe9/na\xefve"));
    tar.extend(byte_named(b"hard", b'1', b"caf\xe9/na\xefve"));
    tar.extend(byte_named(b"caf\xe9/.wh.\xff", b'0', b""));
    tar.extend([0; 1024]);
    let cs = read_changeset(tar.as_slice()).unwrap();
    let out = write_changeset(&cs, &|_| None, Vec::new()).unwrap();
    // What the writer wrote reads back as the same changeset, and its names are the bytes.
    assert_eq!(read_changeset(out.as_slice()).unwrap(), cs);
    let mut names = Vec::new();
    let mut links = Vec::new();
    for e in tar::Archive::new(out.as_slice()).entries().unwrap() {
        let e = e.unwrap();
        names.push(e.path_bytes().into_owned());
        if let Some(l) = e.link_name_bytes() {
            links.push(l.into_owned());
        }
    }
    names.sort();
    let want: Vec<&[u8]> = vec![
        b"bell\x07\x1b[0m",
        b"caf\xe9/",
        b"caf\xe9/.wh.\xff",
        b"caf\xe9/na\xefve",
        b"hard",
        b"lnk",
    ];
    assert_eq!(names, want);
    assert_eq!(links, vec![b"caf\xe9/na\xefve".to_vec(); 2]);
}

/// A PAX header with this data in front of an empty file `plain`.
fn raw_pax(data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut x = tar::Header::new_ustar();
    x.set_entry_type(tar::EntryType::XHeader);
    x.set_size(data.len() as u64);
    x.set_path("PaxHeaders/plain").unwrap();
    x.set_cksum();
    b.append(&x, data).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_mode(0o644);
    h.set_size(0);
    b.append_data(&mut h, "plain", std::io::empty()).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn pax_records_are_read_by_length() {
    let records = |data: &[u8]| -> String {
        crate::pax_records(data)
            .map(|r| match r {
                Ok((k, v)) => format!("{}={}", k.escape_ascii(), v.escape_ascii()),
                Err(e) => format!("error: {e}"),
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    expect![[r#"path=a\nb | linkpath=\n | k=="#]]
        .assert_eq(&records(b"12 path=a\nb\n14 linkpath=\n\n6 k==\n"));
    expect!["path=a | error: malformed PAX record at byte 10: no length"]
        .assert_eq(&records(b"10 path=a\nb\n"));
    expect!["error: malformed PAX record at byte 0: length does not end the record at a newline"]
        .assert_eq(&records(b"9 path=abc\n"));
    expect!["error: malformed PAX record at byte 0: length runs past the header"]
        .assert_eq(&records(b"30 path=ab\n"));
    expect!["error: malformed PAX record at byte 0: length is not a decimal number"]
        .assert_eq(&records(b"x path=ab\n"));
    expect!["error: malformed PAX record at byte 0: no '=' in the record"]
        .assert_eq(&records(b"9 pathab\n"));
}

#[test]
fn newline_in_pax_names_and_values() {
    // Well-formed records whose values hold newlines: the name, the link target, an xattr.
    let long = format!("{}\n{}", "b".repeat(80), "b".repeat(80));
    let target = format!("t\n{}", "u".repeat(120));
    let tar = foreign_tar(&[
        Member::Pax(
            "PaxHeaders/x",
            b'0',
            &[
                ("path", format!("g/{long}").as_bytes()),
                ("SCHILY.xattr.user.bin", b"\x01\n\x02"),
            ],
        ),
        Member::Pax(
            "PaxHeaders/y",
            b'2',
            &[("path", b"g/l\nk"), ("linkpath", target.as_bytes())],
        ),
    ]);
    let cs = read_changeset(tar.as_slice()).unwrap();
    let names: Vec<_> = cs.iter().map(|e| (e.path.clone(), e.kind.name())).collect();
    assert_eq!(
        names,
        [
            (format!("g/{long}"), "file"),
            ("g/l\nk".to_string(), "symlink")
        ]
    );
    assert_eq!(cs.iter().next().unwrap().xattrs["user.bin"], b"\x01\n\x02");
    match &cs.iter().nth(1).unwrap().kind {
        EntryKind::Symlink { target: t } => assert_eq!(t, &target),
        other => panic!("{other:?}"),
    }
    // Written back (PAX for the long names) and read again: the same changeset and bytes.
    let out = write_changeset(&cs, &|_| None, Vec::new()).unwrap();
    let back = read_changeset(out.as_slice()).unwrap();
    assert_eq!(back, cs);
    assert!(write_changeset(&back, &|_| None, Vec::new()).unwrap() == out);

    // A record whose length disagrees with its content is refused, never read as the
    // header's name.
    let err = read_changeset(raw_pax(b"10 path=a\nb\n").as_slice()).unwrap_err();
    expect![[r#"reading layer tar: reading the next header: extended header at offset 0: malformed PAX record at byte 10: no length"#]]
        .assert_eq(&err.to_string());
    assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
}

/// The fuzz finding: a GNU long name holding a newline, written back as a PAX `path` record
/// that did not read back (`fuzz/fuzz_targets/layer_diff.rs`'s property).
#[test]
fn fuzz_newline_long_name_reads_back() {
    let data = include_bytes!("../tests/data/fuzz-newline-long-name.tar");
    let opts = ReadOptions {
        keep_content_up_to: u64::MAX,
    };
    let cs = read_changeset_with(&data[..], &opts).unwrap();
    assert!(cs.iter().any(|e| e.path.contains('\n')), "{cs}");
    let tar = write_changeset(&cs, &|_| None, Vec::new()).unwrap();
    let back = read_changeset_with(tar.as_slice(), &opts).unwrap();
    assert_eq!(back, cs);
    assert!(write_changeset(&back, &|_| None, Vec::new()).unwrap() == tar);
}
