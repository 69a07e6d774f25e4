//! The classic builder's steps that need no process (`COPY`, `ADD`, metadata), against a real
//! data directory: ownership and modes, the cache, archives, URLs and the context boundary.
//! (`RUN` runs a container through the `strata` binary's monitor: see `e2e/tests/building.rs`.)

use engine::{BuildContext, BuildMessage, BuildOptions, Engine, ImportOptions};
use std::io::Cursor;
use std::path::Path;

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

/// A store with `base`: an image with users and groups to `--chown` to.
fn store() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(&dir.path().join("root")).unwrap();
    let layer = tar_of(&[
        (
            "etc/passwd",
            b"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        ),
        ("etc/group", b"root:x:0:\nstaff:x:50:app\n"),
        ("opt/keep", b"k"),
    ]);
    let opts = ImportOptions {
        reference: Some("base".into()),
        source: "-".into(),
        ..Default::default()
    };
    e.import(Cursor::new(layer), &opts).unwrap();
    (dir, e)
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (p, t) in files {
        let f = dir.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, t).unwrap();
    }
}

/// Builds the directory `ctx`; the ID and the output text.
fn build(e: &Engine, ctx: &Path, tag: &str) -> (Result<String, engine::EngineError>, String) {
    let c = BuildContext::dir(ctx).unwrap();
    let opts = BuildOptions {
        tags: vec![tag.into()],
        ..Default::default()
    };
    let mut text = String::new();
    let r = e.build(&c, &opts, &mut |m| {
        if let BuildMessage::Stream(s) = m {
            text.push_str(&s)
        }
    });
    (r.map(|d| d.to_string()), text)
}

fn entry(e: &Engine, image: &str, path: &str) -> layer_diff::Entry {
    let (u, _) = e.union_of(image).unwrap();
    u.get(path)
        .unwrap_or_else(|| panic!("{path} missing in {image}"))
        .entry
        .clone()
}

fn containers(e: &Engine) -> usize {
    e.containers().unwrap().len()
}

#[test]
fn copy_with_chown_and_chmod_and_its_cache() {
    let (dir, e) = store();
    let ctx = dir.path().join("ctx");
    write(
        &ctx,
        &[
            (
                "Dockerfile",
                "FROM base\nCOPY --chown=app:staff --chmod=640 f.txt sub /dst/\nENV A=1\n",
            ),
            ("f.txt", "one"),
            ("sub/g.txt", "two"),
        ],
    );
    let (id, out) = build(&e, &ctx, "t:1");
    let id = id.unwrap();
    assert!(out.contains("Step 2/3 : COPY --chown=app:staff --chmod=640 f.txt sub /dst/\n"));
    let f = entry(&e, "t:1", "dst/f.txt");
    assert_eq!((f.uid, f.gid, f.mode), (1000, 50, 0o640));
    let g = entry(&e, "t:1", "dst/g.txt");
    assert_eq!((g.uid, g.gid, g.mode), (1000, 50, 0o640));
    // the image's own directories keep their metadata; a new one is the owner's
    assert_eq!(entry(&e, "t:1", "opt/keep").uid, 0);
    let hist = e.history("t:1").unwrap();
    assert!(
        hist[1]
            .created_by
            .starts_with("/bin/sh -c #(nop) COPY multi:"),
        "{:?}",
        hist[1].created_by
    );
    assert_eq!(hist[0].created_by, "/bin/sh -c #(nop)  ENV A=1");
    assert_eq!(containers(&e), 0);

    // rebuilt: every step from the cache, the same image
    let (again, out) = build(&e, &ctx, "t:2");
    assert_eq!(again.unwrap(), id);
    assert_eq!(out.matches(" ---> Using cache\n").count(), 2, "{out}");
    // a new modification time is no change (Docker's hash leaves times out) …
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(100);
    std::fs::File::options()
        .write(true)
        .open(ctx.join("f.txt"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert_eq!(build(&e, &ctx, "t:3").0.unwrap(), id);
    // … new content is, and the steps after it are rebuilt
    write(&ctx, &[("sub/g.txt", "three")]);
    let (changed, out) = build(&e, &ctx, "t:4");
    assert_ne!(changed.unwrap(), id);
    assert!(!out.contains("Using cache"), "{out}");
    assert_eq!(containers(&e), 0);
}

#[test]
fn add_extracts_a_local_archive_and_refuses_one_that_climbs_out() {
    let (dir, e) = store();
    let ctx = dir.path().join("ctx");
    write(&ctx, &[("Dockerfile", "FROM base\nADD a.tar /opt/\n")]);
    std::fs::write(
        ctx.join("a.tar"),
        tar_of(&[("x/one", b"1"), ("two", b"22")]),
    )
    .unwrap();
    build(&e, &ctx, "added").0.unwrap();
    assert!(matches!(
        entry(&e, "added", "opt/x/one").kind,
        layer_diff::EntryKind::File { .. }
    ));
    assert!(matches!(
        entry(&e, "added", "opt/two").kind,
        layer_diff::EntryKind::File { .. }
    ));
    assert!(matches!(
        entry(&e, "added", "opt/keep").kind,
        layer_diff::EntryKind::File { .. }
    ));

    // an archive naming ../../escape: refused, nothing made, nothing written outside
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    let name = b"../../escape";
    h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
    h.set_cksum();
    b.append(&h, &b"e"[..]).unwrap();
    std::fs::write(ctx.join("a.tar"), b.into_inner().unwrap()).unwrap();
    let before = e.images(&Default::default()).unwrap().len();
    let (r, _) = build(&e, &ctx, "evil");
    let err = r.unwrap_err().to_string();
    assert!(err.contains("ADD: extract the archive"), "{err}");
    assert!(!dir.path().join("escape").exists());
    assert!(!dir.path().join("root/escape").exists());
    assert!(!dir.path().join("root/build/escape").exists());
    assert_eq!(e.images(&Default::default()).unwrap().len(), before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("root/build"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn add_of_a_url_downloads_it_and_an_unreachable_one_is_a_clear_error() {
    let (dir, e) = store();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut c, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = c.read(&mut buf);
        let body = "fetched\n";
        let _ = write!(
            c,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let ctx = dir.path().join("ctx");
    write(
        &ctx,
        &[(
            "Dockerfile",
            &format!("FROM base\nADD http://127.0.0.1:{port}/files/data.txt?x=1 /srv/\n"),
        )],
    );
    build(&e, &ctx, "url").0.unwrap();
    server.join().unwrap();
    let f = entry(&e, "url", "srv/data.txt");
    assert_eq!((f.mode, f.mtime), (0o600, 784111777));

    // nothing listens on port 1
    write(
        &ctx,
        &[(
            "Dockerfile",
            "FROM base\nADD http://127.0.0.1:1/x.txt /srv/\n",
        )],
    );
    let err = build(&e, &ctx, "offline").0.unwrap_err().to_string();
    assert!(
        err.starts_with("ADD failed: failed to GET http://127.0.0.1:1/x.txt: "),
        "{err}"
    );
}

#[test]
fn a_context_tar_cannot_reach_outside_itself() {
    let (_dir, e) = store();
    // a symlink to /etc inside the context, and a Dockerfile copying through it
    let mut b = tar::Builder::new(Vec::new());
    let df = b"FROM base\nCOPY link/passwd /stolen\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(df.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "Dockerfile", &df[..]).unwrap();
    let mut l = tar::Header::new_gnu();
    l.set_entry_type(tar::EntryType::Symlink);
    l.set_size(0);
    b.append_link(&mut l, "link", "/etc").unwrap();
    let ctx = BuildContext::from_stream(&e, Cursor::new(b.into_inner().unwrap())).unwrap();
    let err = e
        .build(&ctx, &BuildOptions::default(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "COPY failed: file not found in build context or excluded by .dockerignore: stat link/passwd: file does not exist"
    );
    // the staged context goes with the value
    let staged = ctx.root().to_path_buf();
    drop(ctx);
    assert!(!staged.exists());
}

#[test]
fn metadata_steps_are_empty_layer_rows_in_dockers_words() {
    let (dir, e) = store();
    let ctx = dir.path().join("ctx");
    write(
        &ctx,
        &[(
            "Dockerfile",
            "FROM base\nARG V=2\nLABEL version=$V\nUSER app\nWORKDIR /srv\nVOLUME /data\nSTOPSIGNAL SIGINT\nENTRYPOINT [\"/bin/app\", \"-v\"]\nONBUILD RUN echo child\nMAINTAINER me\n",
        )],
    );
    let (id, out) = build(&e, &ctx, "meta");
    id.unwrap();
    assert_eq!(out.matches(" ---> Running in ").count(), 9, "{out}");
    let h: Vec<String> = e
        .history("meta")
        .unwrap()
        .into_iter()
        .map(|r| r.created_by)
        .collect();
    assert_eq!(
        &h[..9],
        [
            "/bin/sh -c #(nop)  MAINTAINER me",
            "/bin/sh -c #(nop)  ONBUILD RUN echo child",
            "/bin/sh -c #(nop)  ENTRYPOINT [\"/bin/app\" \"-v\"]",
            "/bin/sh -c #(nop)  STOPSIGNAL SIGINT",
            "/bin/sh -c #(nop)  VOLUME [/data]",
            "/bin/sh -c #(nop) WORKDIR /srv",
            "/bin/sh -c #(nop)  USER app",
            "/bin/sh -c #(nop)  LABEL version=2",
            "/bin/sh -c #(nop)  ARG V=2",
        ]
    );
    let d = e.inspect("meta").unwrap();
    let c = d.config.config.unwrap();
    assert_eq!(c.user.as_deref(), Some("app"));
    assert_eq!(c.working_dir.as_deref(), Some("/srv"));
    assert_eq!(c.labels.unwrap()["version"], "2");
    assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(c.extra["OnBuild"][0], "RUN echo child");
    assert_eq!(d.config.author.as_deref(), Some("me"));
    // WORKDIR made the missing /srv: one more layer, the only one
    assert_eq!(d.config.rootfs.diff_ids.len(), 2);
    assert_eq!(containers(&e), 0);
}
