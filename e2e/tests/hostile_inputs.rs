//! Hostile and unusual inputs through the real `strata` binary (issue #11, sections 2 and 3):
//! names that are bytes, entries naming the root, AUFS metadata and broken whiteouts, sparse
//! bombs, and archives whose descriptors or metadata lie. Every refused input leaves the store
//! exactly as it was (no blob, no image, no tag, no file).

use e2e::{sha256_bytes, Store};
use serde_json::json;
use std::time::{Duration, Instant};

/// One tar entry with a name and link target of any bytes: in the ustar fields when they fit,
/// else (or with a NUL) in a PAX header before it. `kind` is the type flag.
fn entry(name: &[u8], kind: u8, link: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut records = Vec::new();
    if name.len() > 100 || name.contains(&0) {
        records.push(pax_record("path", name));
    }
    if link.len() > 100 {
        records.push(pax_record("linkpath", link));
    }
    if !records.is_empty() {
        let pax = records.concat();
        out.extend(entry(b"PaxHeaders/x", b'x', b"", &pax));
    }
    let mut h = tar::Header::new_ustar();
    let old = h.as_old_mut();
    let n = name
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(name.len())
        .min(100);
    old.name[..n].copy_from_slice(&name[..n]);
    let l = link.len().min(100);
    old.linkname[..l].copy_from_slice(&link[..l]);
    old.linkflag = [kind];
    h.set_mode(if kind == b'5' { 0o755 } else { 0o644 });
    h.set_size(data.len() as u64);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = [b" ", key.as_bytes(), b"=", value, b"\n"].concat();
    let mut len = body.len() + 1;
    while body.len() + len.to_string().len() != len {
        len += 1;
    }
    [len.to_string().as_bytes(), &body].concat()
}

fn file(name: &[u8], data: &[u8]) -> Vec<u8> {
    entry(name, b'0', b"", data)
}

fn dir(name: &[u8]) -> Vec<u8> {
    entry(name, b'5', b"", b"")
}

fn tar(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut t = entries.concat();
    t.extend_from_slice(&[0; 1024]);
    t
}

/// An old-GNU sparse entry: `data` bytes stored, `real` bytes claimed.
fn sparse(name: &str, real: u64, data: usize) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_path(name).unwrap();
    h.set_mode(0o644);
    h.set_size(data as u64);
    h.set_mtime(1_700_000_000);
    let gnu = h.as_gnu_mut().unwrap();
    gnu.set_real_size(real);
    gnu.sparse[0].set_offset(0);
    gnu.sparse[0].set_length(data as u64);
    gnu.sparse[1].set_offset(real);
    gnu.sparse[1].set_length(0);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.resize(512 + data.div_ceil(512) * 512, b's');
    out
}

fn write(s: &Store, name: &str, bytes: &[u8]) -> String {
    let p = s.scratch().join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

/// Every entry of a tar: (name bytes, link target bytes, data).
fn entries(t: &[u8]) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    use std::io::Read;
    let mut out = Vec::new();
    for e in tar::Archive::new(t).entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path_bytes().into_owned();
        let link = e
            .link_name_bytes()
            .map(|l| l.into_owned())
            .unwrap_or_default();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((name, link, data));
    }
    out
}

fn names(t: &[u8]) -> Vec<Vec<u8>> {
    let mut n: Vec<Vec<u8>> = entries(t).into_iter().map(|(n, _, _)| n).collect();
    n.sort();
    n
}

/// A store holding one small image, so that "unchanged" means something.
fn store_with_base() -> Store {
    let s = Store::new();
    let base = tar(&[dir(b"etc/"), file(b"etc/hostname", b"base\n")]);
    let p = write(&s, "base.tar", &base);
    s.ok(&["import", &p, "base:1"]);
    s
}

/// `strata import` of `layer` fails with a message containing `want`, and nothing changes.
fn import_refused(s: &Store, layer: &[u8], want: &str) {
    let before = s.snapshot();
    let p = write(s, "hostile.tar", layer);
    let (_, err) = s.fail(&["import", &p, "hostile:1"]);
    assert!(err.contains(want), "stderr {err:?} lacks {want:?}");
    assert_eq!(s.snapshot(), before, "a refused import changed the store");
}

/// A `docker save` archive (Docker 25+ manifest.json form) of one image with these layers.
fn docker_archive(layers: &[Vec<u8>], tag: &str) -> Vec<u8> {
    docker_archive_with(layers, tag, None, &[])
}

/// [`docker_archive`] whose image names `parent` as its `Parent`, with `extra` files after.
fn docker_archive_with(
    layers: &[Vec<u8>],
    tag: &str,
    parent: Option<&str>,
    extra: &[Vec<u8>],
) -> Vec<u8> {
    docker_archive_patched(layers, tag, parent, extra, json!({}))
}

/// [`docker_archive_with`] whose image config has `patch`'s fields set over the usual ones.
fn docker_archive_patched(
    layers: &[Vec<u8>],
    tag: &str,
    parent: Option<&str>,
    extra: &[Vec<u8>],
    patch: serde_json::Value,
) -> Vec<u8> {
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", sha256_bytes(l)))
        .collect();
    let mut config = json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    for (k, v) in patch.as_object().expect("a patch is an object") {
        config[k] = v.clone();
    }
    let config = serde_json::to_vec(&config).unwrap();
    let config_hex = sha256_bytes(&config);
    let layer_paths: Vec<String> = layers
        .iter()
        .map(|l| format!("blobs/sha256/{}", sha256_bytes(l)))
        .collect();
    let manifest = serde_json::to_vec(&json!([{
        "Config": format!("blobs/sha256/{config_hex}"),
        "RepoTags": [tag],
        "Layers": layer_paths,
        "Parent": parent,
    }]))
    .unwrap();
    let mut es = vec![file(
        format!("blobs/sha256/{config_hex}").as_bytes(),
        &config,
    )];
    for (l, p) in layers.iter().zip(&layer_paths) {
        es.push(file(p.as_bytes(), l));
    }
    es.push(file(b"manifest.json", &manifest));
    es.extend_from_slice(extra);
    tar(&es)
}

/// `strata load` of `archive` fails with a message containing `want`, and nothing changes.
fn load_refused(s: &Store, archive: &[u8], want: &str) {
    let before = s.snapshot();
    let p = write(s, "hostile-archive.tar", archive);
    let (_, err) = s.fail(&["load", "-i", &p]);
    assert!(err.contains(want), "stderr {err:?} lacks {want:?}");
    assert_eq!(s.snapshot(), before, "a refused load changed the store");
}

// ---------------------------------------------------------------------------------------------
// Names are bytes

#[test]
fn non_utf8_and_control_names_round_trip_byte_exact() {
    let s = Store::new();
    let layer = tar(&[
        dir(b"./"),
        dir(b"caf\xe9/"),
        file(b"caf\xe9/na\xefve", b"latin-1\n"),
        file(b"bell\x07\x1b[0m\x7f", b"control\n"),
        entry(b"lnk\xff", b'2', b"caf\xe9/na\xefve", b""),
        entry(b"hard\xfe", b'1', b"caf\xe9/na\xefve", b""),
        dir(b"long/"),
        file(&[&b"long/"[..], &[0xe9; 200]].concat(), b"pax path\n"),
    ]);
    let p = write(&s, "latin1.tar", &layer);
    s.ok(&["import", &p, "bytes:1"]);
    // The layer is stored as given: its diff ID is the tar's digest.
    assert_eq!(
        s.inspect("bytes:1")["RootFS"]["Layers"][0],
        format!("sha256:{}", sha256_bytes(&layer))
    );

    // create → a change through the writable layer → commit → export
    s.ok(&["create", "--name", "ctr", "bytes:1", "true"]);
    // Long names whose first bytes are not UTF-8 (a packer through `tar`'s `set_path` could
    // not write them back: "paths in archives must have at least one component").
    let up_long = [&b"\xfe"[..], &[b'u'; 150]].concat();
    let sl_target = [&b"\x80/"[..], &[0xff; 150]].concat();
    let loc_long = [&b"\xe9"[..], &[b'l'; 150]].concat();
    let upper = tar(&[
        file(b"up\xfe\x01", b"upper\n"),
        file(&up_long, b"long upper\n"),
        entry(b"sl\xff", b'2', &sl_target, b""),
    ]);
    let out = s.run_stdin(&["cp", "-", "ctr:/"], &upper);
    assert_eq!(out.status, 0, "cp: {}", out.stderr);
    // `cp` of a local directory holding such names.
    {
        use std::os::unix::ffi::OsStrExt;
        let local = s.scratch().join("ldir");
        std::fs::create_dir_all(&local).unwrap();
        std::fs::write(
            local.join(std::ffi::OsStr::from_bytes(b"loc\xe9")),
            b"local\n",
        )
        .unwrap();
        std::fs::write(
            local.join(std::ffi::OsStr::from_bytes(&loc_long)),
            b"local long\n",
        )
        .unwrap();
        s.ok(&["cp", local.to_str().unwrap(), "ctr:/"]);
    }
    s.ok(&["commit", "ctr", "bytes:2"]);
    s.ok(&["create", "--name", "dtr", "bytes:2", "true"]);
    let exported = s.scratch().join("export.tar");
    s.ok(&["export", "-o", exported.to_str().unwrap(), "dtr"]);
    let got = std::fs::read(&exported).unwrap();
    let want_names: Vec<Vec<u8>> = {
        let mut v = vec![
            b"bell\x07\x1b[0m\x7f".to_vec(),
            b"caf\xe9/".to_vec(),
            b"caf\xe9/na\xefve".to_vec(),
            b"hard\xfe".to_vec(),
            b"lnk\xff".to_vec(),
            b"long/".to_vec(),
            [&b"long/"[..], &[0xe9; 200]].concat(),
            b"up\xfe\x01".to_vec(),
            b"ldir/".to_vec(),
            b"ldir/loc\xe9".to_vec(),
            [&b"ldir/"[..], &loc_long].concat(),
            up_long.clone(),
            b"sl\xff".to_vec(),
        ];
        v.sort();
        v
    };
    assert_eq!(names(&got), want_names);
    let all = entries(&got);
    let find = |n: &[u8]| all.iter().find(|(name, _, _)| name == n).unwrap().clone();
    assert_eq!(find(b"caf\xe9/na\xefve").2, b"latin-1\n");
    assert_eq!(find(b"up\xfe\x01").2, b"upper\n");
    assert_eq!(find(b"lnk\xff").1, b"caf\xe9/na\xefve");
    assert_eq!(find(&up_long).2, b"long upper\n");
    assert_eq!(find(b"sl\xff").1, sl_target);
    assert_eq!(
        find(&[&b"ldir/"[..], &loc_long].concat()).2,
        b"local long\n"
    );

    // `cp` out of a container: the same names, byte for byte.
    let out = s
        .command(&["cp", "dtr:/ldir", "-"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cp out: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut want_cp = vec![
        b"ldir/".to_vec(),
        b"ldir/loc\xe9".to_vec(),
        [&b"ldir/"[..], &loc_long].concat(),
    ];
    want_cp.sort();
    assert_eq!(names(&out.stdout), want_cp);
    // … and into a local directory.
    {
        use std::os::unix::ffi::OsStrExt;
        let got = s.scratch().join("cp-out");
        std::fs::create_dir_all(&got).unwrap();
        s.ok(&["cp", "dtr:/ldir", got.to_str().unwrap()]);
        let mut on_disk: Vec<Vec<u8>> = std::fs::read_dir(got.join("ldir"))
            .unwrap()
            .map(|e| e.unwrap().file_name().as_bytes().to_vec())
            .collect();
        on_disk.sort();
        let mut want = vec![b"loc\xe9".to_vec(), loc_long.clone()];
        want.sort();
        assert_eq!(on_disk, want);
    }

    // save → load into a fresh store → export again: the same names and bytes.
    let saved = s.scratch().join("saved.tar");
    s.ok(&["save", "-o", saved.to_str().unwrap(), "bytes:2"]);
    let t = Store::new();
    t.ok(&["load", "-i", saved.to_str().unwrap()]);
    assert_eq!(
        t.inspect("bytes:2")["RootFS"]["Layers"],
        s.inspect("bytes:2")["RootFS"]["Layers"]
    );
    t.ok(&["create", "--name", "etr", "bytes:2", "true"]);
    let again = t.scratch().join("again.tar");
    t.ok(&["export", "-o", again.to_str().unwrap(), "etr"]);
    assert_eq!(entries(&std::fs::read(&again).unwrap()), all);
}

#[test]
fn only_nul_overlong_and_escaping_names_are_refused_at_import() {
    let s = store_with_base();
    let long = vec![b'n'; 256];
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            tar(&[file(b"ok", b""), file(b"a\0b", b"")]),
            r#"entry "a\0b": name contains a NUL byte"#,
        ),
        (
            tar(&[file(&long, b"")]),
            "a component is longer than 255 bytes",
        ),
        (
            tar(&[file(b"../escape", b"")]),
            r#"entry "../escape": escapes the root"#,
        ),
        (
            tar(&[dir(b"a/"), file(b"a/../../x", b"")]),
            r#"entry "a/../../x": escapes the root"#,
        ),
    ];
    let mut cases = cases;
    cases.push((
        tar(&[entry(b"l", b'1', b"../../etc/shadow", b"")]),
        r#"entry "l": hardlink target "../../etc/shadow" escapes the root"#,
    ));
    for (layer, want) in cases {
        import_refused(&s, &layer, want);
        load_refused(
            &s,
            &docker_archive(std::slice::from_ref(&layer), "hostile:1"),
            want,
        );
    }
    // A layer large enough to stream into the store while the archive is read is checked
    // all the same.
    let big = tar(&[file(b"big", &vec![7u8; 3 << 20]), file(b"../escape", b"")]);
    load_refused(
        &s,
        &docker_archive(&[big], "hostile:1"),
        r#"entry "../escape": escapes the root"#,
    );
}

// ---------------------------------------------------------------------------------------------
// Entries naming the root

#[test]
fn entries_naming_the_root_are_skipped_with_a_warning_at_import_and_load() {
    let s = Store::new();
    let layer = tar(&[
        dir(b"./"),
        entry(b".", b'2', b"/etc", b""),
        entry(b"./", b'2', b"/", b""),
        file(b"", b"no name"),
        file(b"kept", b"k\n"),
    ]);
    let p = write(&s, "root.tar", &layer);
    let out = s.run(&["import", &p, "root:1"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    for n in [r#"".""#, r#""./""#, r#""""#] {
        assert!(
            out.stderr
                .contains(&format!("WARNING: skipped entry {n}: it names the root")),
            "no warning naming {n}: {}",
            out.stderr
        );
    }
    // Accepted, and then usable: create and export do not fail on those entries later.
    s.ok(&["create", "--name", "ctr", "root:1", "true"]);
    let exported = s.scratch().join("root-export.tar");
    s.ok(&["export", "-o", exported.to_str().unwrap(), "ctr"]);
    assert_eq!(
        names(&std::fs::read(&exported).unwrap()),
        vec![b"kept".to_vec()]
    );

    // The same layer in an archive warns at load, naming the layer.
    let t = Store::new();
    let archive = write(&t, "root-archive.tar", &docker_archive(&[layer], "root:1"));
    let out = t.run(&["load", "-i", &archive]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(r#"WARNING: layer 0 (blobs/sha256/"#)
            && out
                .stderr
                .contains(r#"skipped entry ".": it names the root"#),
        "{}",
        out.stderr
    );
    t.ok(&["create", "--name", "ctr", "root:1", "true"]);
}

// ---------------------------------------------------------------------------------------------
// AUFS metadata and whiteouts that name nothing

#[test]
fn aufs_metadata_is_dropped_and_broken_whiteouts_are_refused_before_storing() {
    let s = store_with_base();
    let layer = tar(&[
        dir(b".wh..wh.plnk/"),
        file(b".wh..wh.plnk/1234.5678", b"aufs hardlink source"),
        file(b".wh..wh.aufs", b""),
        dir(b"./.wh..wh.orph/"),
        file(b"kept", b"k\n"),
    ]);
    let p = write(&s, "aufs.tar", &layer);
    s.ok(&["import", &p, "aufs:1"]);
    s.ok(&["create", "--name", "ctr", "aufs:1", "true"]);
    let exported = s.scratch().join("aufs-export.tar");
    s.ok(&["export", "-o", exported.to_str().unwrap(), "ctr"]);
    assert_eq!(
        names(&std::fs::read(&exported).unwrap()),
        vec![b"kept".to_vec()]
    );

    let s = store_with_base();
    for (layer, want) in [
        (
            tar(&[file(b"ok", b""), file(b"etc/.wh.", b"")]),
            r#"entry "etc/.wh.": whiteout names nothing"#,
        ),
        (
            tar(&[file(b".wh..", b"")]),
            r#"entry ".wh..": whiteout names nothing"#,
        ),
        (
            tar(&[file(b"x/.wh...", b"")]),
            r#"entry "x/.wh...": whiteout names nothing"#,
        ),
        (
            tar(&[file(b"a/.wh.b/c", b"")]),
            r#"entry "a/.wh.b/c": whiteout used as a directory"#,
        ),
        (
            tar(&[dir(b"a/.wh.b/")]),
            r#"entry "a/.wh.b/": whiteout used as a directory"#,
        ),
    ] {
        import_refused(&s, &layer, want);
        load_refused(
            &s,
            &docker_archive(std::slice::from_ref(&layer), "hostile:1"),
            want,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Sparse bombs

#[test]
fn gnu_sparse_entries_are_bounded() {
    let s = store_with_base();
    // 512 bytes claiming 8 TiB.
    let bomb = tar(&[sparse("bomb", 8 << 40, 512)]);
    import_refused(&s, &bomb, "sparse holes exceed the limit");
    load_refused(
        &s,
        &docker_archive(&[bomb], "bomb:1"),
        "sparse holes exceed the limit",
    );

    // A modest sparse file applies and exports at its full size, quickly.
    let ok = tar(&[sparse("sparse", 8 << 20, 512)]);
    let p = write(&s, "sparse.tar", &ok);
    s.ok(&["import", &p, "sparse:1"]);
    s.ok(&["create", "--name", "ctr", "sparse:1", "true"]);
    let exported = s.scratch().join("sparse-export.tar");
    let start = Instant::now();
    s.ok(&["export", "-o", exported.to_str().unwrap(), "ctr"]);
    assert!(start.elapsed() < Duration::from_secs(10));
    let all = entries(&std::fs::read(&exported).unwrap());
    assert_eq!(all[0].0, b"sparse");
    assert_eq!(all[0].2.len(), 8 << 20);
    assert!(all[0].2[..512].iter().all(|&b| b == b's'));
}

// ---------------------------------------------------------------------------------------------
// OCI layouts and archive metadata

/// This machine's architecture as Go names it (the platform a load picks).
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// An OCI image layout tar: (oci-layout, index.json, blobs) with hooks to break it.
struct Oci {
    layout: serde_json::Value,
    layer: Vec<u8>,
    layer_media_type: String,
    /// Added to the layer, config and manifest descriptors' sizes.
    layer_size_delta: i64,
    config_size_delta: i64,
    manifest_size_delta: i64,
    /// The image's name (`io.containerd.image.name`); `{manifest}` stands for the manifest's
    /// digest.
    name: String,
    /// When not empty, `index.json` names a multi-platform index of these architectures
    /// (this host's is the manifest; the others name blobs the archive does not hold).
    platforms: Vec<&'static str>,
}

impl Oci {
    fn new() -> Oci {
        Oci {
            layout: json!({"imageLayoutVersion": "1.0.0"}),
            layer: tar(&[file(b"hello", b"world\n")]),
            layer_media_type: "application/vnd.oci.image.layer.v1.tar".into(),
            layer_size_delta: 0,
            config_size_delta: 0,
            manifest_size_delta: 0,
            name: "docker.io/library/oci:1".into(),
            platforms: Vec::new(),
        }
    }

    fn build(&self) -> Vec<u8> {
        let size = |n: usize, d: i64| (n as i64 + d) as u64;
        let layer_hex = sha256_bytes(&self.layer);
        let config = serde_json::to_vec(&json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_hex}")]},
        }))
        .unwrap();
        let config_hex = sha256_bytes(&config);
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": format!("sha256:{config_hex}"),
                       "size": size(config.len(), self.config_size_delta)},
            "layers": [{"mediaType": self.layer_media_type,
                        "digest": format!("sha256:{layer_hex}"),
                        "size": size(self.layer.len(), self.layer_size_delta)}],
        }))
        .unwrap();
        let manifest_hex = sha256_bytes(&manifest);
        let mut entry = json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "digest": format!("sha256:{manifest_hex}"),
                               "size": size(manifest.len(), self.manifest_size_delta)});
        let mut files = vec![
            file(b"oci-layout", &serde_json::to_vec(&self.layout).unwrap()),
            file(format!("blobs/sha256/{layer_hex}").as_bytes(), &self.layer),
            file(format!("blobs/sha256/{config_hex}").as_bytes(), &config),
            file(format!("blobs/sha256/{manifest_hex}").as_bytes(), &manifest),
        ];
        if !self.platforms.is_empty() {
            let entries: Vec<serde_json::Value> = self
                .platforms
                .iter()
                .map(|arch| {
                    let mut e = if *arch == host_arch() {
                        entry.clone()
                    } else {
                        json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "digest": format!("sha256:{}", "cd".repeat(32)), "size": 400})
                    };
                    e["platform"] = json!({"os": "linux", "architecture": arch});
                    e
                })
                .collect();
            let nested = serde_json::to_vec(&json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": entries,
            }))
            .unwrap();
            let nested_hex = sha256_bytes(&nested);
            files.push(file(
                format!("blobs/sha256/{nested_hex}").as_bytes(),
                &nested,
            ));
            entry = json!({"mediaType": "application/vnd.oci.image.index.v1+json",
                           "digest": format!("sha256:{nested_hex}"), "size": nested.len()});
        }
        let named = self
            .name
            .replace("{manifest}", entry["digest"].as_str().unwrap());
        entry["annotations"] = json!({"io.containerd.image.name": named});
        let index = serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [entry]})).unwrap();
        files.push(file(b"index.json", &index));
        tar(&files)
    }
}

#[test]
fn oci_layout_descriptors_are_verified_by_size_too() {
    let s = store_with_base();
    // The well-formed layout loads (the cases below differ from it in one field).
    let t = Store::new();
    let good = write(&t, "good.tar", &Oci::new().build());
    t.ok(&["load", "-i", &good]);
    t.ok(&["inspect", "oci:1"]);

    for (what, delta) in [("layer", 1i64), ("layer", -1), ("layer", 1 << 60)] {
        let oci = Oci {
            layer_size_delta: delta,
            ..Oci::new()
        };
        load_refused(
            &s,
            &oci.build(),
            &format!("invalid archive: {what} sha256:"),
        );
        load_refused(&s, &oci.build(), "its descriptor says");
    }
    let oci = Oci {
        config_size_delta: 7,
        ..Oci::new()
    };
    load_refused(&s, &oci.build(), "invalid archive: config sha256:");
    let oci = Oci {
        manifest_size_delta: -3,
        ..Oci::new()
    };
    load_refused(&s, &oci.build(), "invalid archive: manifest sha256:");
}

/// An OCI layout's image name may carry a digest only of the manifest it names, which load
/// verifies: another digest would record a pinned reference (`name@sha256:…`, what a user
/// trusts to mean exactly that content) for content that is not it.
#[test]
fn an_oci_image_name_pins_only_its_own_manifest() {
    let s = store_with_base();
    let other = format!("docker.io/library/oci@sha256:{}", "ab".repeat(32));
    let oci = Oci {
        name: other,
        ..Oci::new()
    };
    load_refused(&s, &oci.build(), "names the digest sha256:abab");
    let oci = Oci {
        name: "docker.io/library/oci:2@{manifest}".into(),
        ..Oci::new()
    };
    let p = write(&s, "pinned.tar", &oci.build());
    s.ok(&["load", "-i", &p]);
    let rows = s.ok(&[
        "images",
        "--digests",
        "--format",
        "{{.Repository}} {{.Tag}} {{.Digest}}",
    ]);
    let manifest = rows
        .lines()
        .find_map(|l| l.strip_prefix("oci 2 "))
        .unwrap_or_else(|| panic!("{rows}"));
    assert!(manifest.starts_with("sha256:"), "{rows}");
    s.ok(&["inspect", &format!("oci@{manifest}")]);
}

/// A multi-platform image as containerd and skopeo save it (`index.json` naming an image
/// index) loads as Docker loads it: the manifest for this platform, under the index's name; an
/// index without this platform is refused with nothing stored.
#[test]
fn a_multi_platform_oci_layout_loads_this_platforms_image() {
    let s = store_with_base();
    let host = host_arch();
    let other = if host == "arm64" { "amd64" } else { "arm64" };
    let oci = Oci {
        platforms: vec![other, host],
        ..Oci::new()
    };
    let p = write(&s, "multi.tar", &oci.build());
    s.ok(&["load", "-i", &p]);
    assert_eq!(
        s.ok(&["inspect", "-f", "{{.Architecture}} {{.RepoTags}}", "oci:1"]),
        "amd64 [oci:1]\n"
    );
    let oci = Oci {
        name: "docker.io/library/oci:2".into(),
        platforms: vec![other, "s390x"],
        ..Oci::new()
    };
    load_refused(
        &s,
        &oci.build(),
        &format!("no matching manifest for linux/{host} in the manifest list entries"),
    );
    assert!(s.fail(&["inspect", "oci:2"]).1.contains("No such"));
}

/// A `Parent` in `manifest.json` is taken only when the archive holds that image too, as
/// Docker loads it: an image already in the store named as parent would be kept (its `rmi`
/// refused: "image has dependent child images") for as long as the loaded one.
#[test]
fn a_parent_outside_the_archive_is_not_taken() {
    let s = store_with_base();
    let base = s.image_id("base:1");
    let layer = tar(&[file(b"child", b"c\n")]);
    let p = write(
        &s,
        "child.tar",
        &docker_archive_with(&[layer], "child:1", Some(&base), &[]),
    );
    s.ok(&["load", "-i", &p]);
    assert_eq!(s.inspect("child:1")["Parent"], "");
    s.ok(&["rmi", &base]);
}

/// An image config is read as moby reads it: a `null` is the zero value (`"history": null`
/// loads), while an image for another operating system, or a creation time (the image's or
/// a history step's) that is not an RFC 3339 time, is refused before anything is stored.
#[test]
fn image_configs_are_read_as_docker_reads_them() {
    let s = store_with_base();
    let layer = || vec![tar(&[file(b"hello", b"world\n")])];
    let p = write(
        &s,
        "nulls.tar",
        &docker_archive_patched(
            &layer(),
            "nulls:1",
            None,
            &[],
            json!({"history": null, "architecture": null, "config": {"Env": null, "Cmd": ["sh"]}}),
        ),
    );
    s.ok(&["load", "-i", &p]);
    assert_eq!(s.inspect("nulls:1")["Config"]["Cmd"], json!(["sh"]));
    // No creation time: Go's zero time, shown as Docker shows it (not 1970's "56 years ago").
    assert_eq!(s.inspect("nulls:1")["Created"], "0001-01-01T00:00:00Z");
    let row = s.ok(&[
        "images",
        "nulls",
        "--format",
        "{{.CreatedSince}}|{{.CreatedAt}}",
    ]);
    assert_eq!(row.trim(), "N/A|0001-01-01 00:00:00 +0000 UTC");
    for (patch, want) in [
        (
            json!({"os": "windows"}),
            "cannot load windows image on linux",
        ),
        (json!({"os": "darwin"}), "cannot load darwin image on linux"),
        (
            json!({"created": "yesterday"}),
            "invalid image config: created \"yesterday\" is not an RFC 3339 time",
        ),
        (
            json!({"created": "2024-01-01T00:00:00Z", "history": [{"created": "2024-13-01T00:00:00Z"}]}),
            "history created \"2024-13-01T00:00:00Z\" is not an RFC 3339 time",
        ),
    ] {
        load_refused(
            &s,
            &docker_archive_patched(&layer(), "bad:1", None, &[], patch),
            want,
        );
    }
    // Upper-case LINUX and a fractional time are what Go takes.
    let p = write(
        &s,
        "ok.tar",
        &docker_archive_patched(
            &layer(),
            "ok:1",
            None,
            &[],
            json!({"os": "Linux", "created": "2024-01-01T10:00:00.123456789+02:00"}),
        ),
    );
    s.ok(&["load", "-i", &p]);
}

/// `load` keeps small archive files in memory only up to a total: past it they stream into
/// the store as large ones do, so memory stays bounded whatever the archive holds (here
/// 160 files of 1 MiB beside a small image).
#[test]
fn load_holds_small_files_in_bounded_memory() {
    let s = Store::new();
    let junk: Vec<Vec<u8>> = (0..160)
        .map(|i| file(format!("junk/{i}").as_bytes(), &e2e::noise(i, 1 << 20)))
        .collect();
    let layer = tar(&[file(b"hello", b"world\n")]);
    let p = write(
        &s,
        "padded.tar",
        &docker_archive_with(&[layer], "padded:1", None, &junk),
    );
    let peak = e2e::peak_rss(&mut s.command(&["load", "-i", &p]), "load");
    assert!(peak < 96 << 20, "peak RSS {} MiB", peak >> 20);
    s.ok(&["inspect", "padded:1"]);
    // What the junk made is gone with the load.
    let blobs = s.blob_bytes();
    assert!(blobs < 1 << 20, "{blobs} bytes of blobs left");
}

#[test]
fn unknown_layout_versions_and_layer_media_types_are_refused() {
    let s = store_with_base();
    for v in [
        json!({"imageLayoutVersion": "2.0.0"}),
        json!({"imageLayoutVersion": ""}),
    ] {
        let oci = Oci {
            layout: v,
            ..Oci::new()
        };
        load_refused(&s, &oci.build(), "unsupported OCI image layout version");
    }
    let oci = Oci {
        layout: json!({}),
        ..Oci::new()
    };
    load_refused(&s, &oci.build(), "oci-layout has no imageLayoutVersion");
    for mt in [
        "application/vnd.example.unknown",
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.oci.image.layer.v1.tar+bzip2",
    ] {
        let oci = Oci {
            layer_media_type: mt.into(),
            ..Oci::new()
        };
        load_refused(
            &s,
            &oci.build(),
            &format!("has an unknown media type {mt:?}"),
        );
    }
}

#[test]
fn huge_metadata_files_are_refused_by_size_before_parsing() {
    let s = store_with_base();
    for name in ["manifest.json", "index.json"] {
        // Really there: 17 MiB of JSON.
        let big = format!("[{}]", vec!["{}"; 17 << 19].join(","));
        assert!(big.len() > 16 << 20);
        let archive = tar(&[file(name.as_bytes(), big.as_bytes())]);
        load_refused(
            &s,
            &archive,
            &format!(
                "invalid archive: {name} is {} bytes, over the size limit",
                big.len()
            ),
        );
        // Declared huge and cut short: the size is refused before any data is read.
        let mut h = tar::Header::new_ustar();
        h.set_path(name).unwrap();
        h.set_mode(0o644);
        h.set_size(1 << 40);
        h.set_cksum();
        let mut archive = h.as_bytes().to_vec();
        archive.extend_from_slice(&[b'{'; 4096]);
        load_refused(
            &s,
            &archive,
            &format!("invalid archive: {name} is 1099511627776 bytes, over the size limit"),
        );
    }
}

/// A name or link target holding a newline byte is read from its PAX record by the record's
/// length, by ingest and every reader alike: import, create, a copy into the container,
/// commit, export, save and load keep it byte for byte; a record whose length disagrees with
/// its content is refused at import.
#[test]
fn newlines_in_pax_records_round_trip_byte_exact() {
    let s = Store::new();
    let name = [&b"d/"[..], &[b'n'; 90], b"\n", &[b'm'; 90]].concat();
    let target = [&b"t\n"[..], &[b'u'; 120]].concat();
    let layer = tar(&[
        dir(b"d/"),
        file(&name, b"newline\n"),
        entry(b"d/l\nk", b'2', &target, b""),
    ]);
    let p = write(&s, "newline.tar", &layer);
    s.ok(&["import", &p, "nl:1"]);
    assert_eq!(
        s.inspect("nl:1")["RootFS"]["Layers"][0],
        format!("sha256:{}", sha256_bytes(&layer))
    );
    s.ok(&["create", "--name", "ctr", "nl:1", "true"]);
    let upper_name = [&b"up/"[..], &[b'p'; 100], b"\n"].concat();
    let upper = tar(&[file(&upper_name, b"upper\n")]);
    let out = s.run_stdin(&["cp", "-", "ctr:/"], &upper);
    assert_eq!(out.status, 0, "cp: {}", out.stderr);
    s.ok(&["commit", "ctr", "nl:2"]);
    s.ok(&["create", "--name", "dtr", "nl:2", "true"]);
    let exported = s.scratch().join("nl-export.tar");
    s.ok(&["export", "-o", exported.to_str().unwrap(), "dtr"]);
    let got = std::fs::read(&exported).unwrap();
    // GNU tar reads the export back to the same names.
    {
        use std::os::unix::ffi::OsStrExt;
        let x = s.scratch().join("nl-x");
        std::fs::create_dir(&x).unwrap();
        e2e::sh(
            "tar",
            &["-C", x.to_str().unwrap(), "-xf", exported.to_str().unwrap()],
        );
        let os = |b: &[u8]| x.join(std::ffi::OsStr::from_bytes(b));
        assert_eq!(std::fs::read(os(&name)).unwrap(), b"newline\n");
        assert_eq!(std::fs::read(os(&upper_name)).unwrap(), b"upper\n");
        assert_eq!(
            std::fs::read_link(os(b"d/l\nk"))
                .unwrap()
                .as_os_str()
                .as_bytes(),
            &target[..]
        );
    }

    // save → load into a fresh store → export again: the same layers and bytes.
    let saved = s.scratch().join("nl-saved.tar");
    s.ok(&["save", "-o", saved.to_str().unwrap(), "nl:2"]);
    let t = Store::new();
    t.ok(&["load", "-i", saved.to_str().unwrap()]);
    assert_eq!(
        t.inspect("nl:2")["RootFS"]["Layers"],
        s.inspect("nl:2")["RootFS"]["Layers"]
    );
    t.ok(&["create", "--name", "etr", "nl:2", "true"]);
    let again = t.scratch().join("nl-again.tar");
    t.ok(&["export", "-o", again.to_str().unwrap(), "etr"]);
    assert!(
        std::fs::read(&again).unwrap() == got,
        "export differs after save and load"
    );

    // A record whose length stops at the newline inside its value: refused, saying why.
    let mut bad = entry(b"PaxHeaders/x", b'x', b"", b"10 path=a\nb\n");
    bad.extend(file(b"plain", b""));
    import_refused(
        &store_with_base(),
        &tar(&[bad]),
        "malformed PAX record at byte 10: no length",
    );
}
