//! The foundation's acceptance (issue #2), end to end: the real `strata` binary on real files,
//! checked against real peers (skopeo, umoci, sha256sum, du) and Docker's exact texts.

use e2e::{
    busybox_rootfs, cells, human_size, noise, require, sh, short, table_rows, tar_of, tree, Store,
};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// A busybox root under the store's scratch area, plus `extra` files; returns (dir, tar).
fn rootfs(s: &Store, name: &str, extra: &[(&str, &[u8])]) -> (PathBuf, PathBuf) {
    let dir = s.scratch().join(name);
    busybox_rootfs(&dir);
    for (path, data) in extra {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let tar = tar_of(&dir);
    (dir, tar)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn is_id(s: &str) -> bool {
    s.len() == 71
        && s.starts_with("sha256:")
        && s[7..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `strata import` and the printed ID.
fn import(s: &Store, tar: &Path, reference: &str) -> String {
    let out = s.ok(&["import", p(tar), reference]);
    let id = out.trim().to_string();
    assert!(is_id(&id), "import printed {out:?}, want sha256:<64 hex>");
    id
}

/// The single layer (diff ID) of an image, from `inspect`.
fn layers(s: &Store, name: &str) -> Vec<String> {
    s.inspect(name)["RootFS"]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

// ---------------------------------------------------------------------------------------------
// images, tag, rmi

#[test]
fn import_list_tag_and_rmi_like_docker() {
    let s = Store::new();
    let (_, tar) = rootfs(&s, "bb", &[]);
    let id = import(&s, &tar, "bb:1");
    let layer = layers(&s, "bb:1");
    assert_eq!(layer.len(), 1);

    let out = s.ok(&["images"]);
    let header = cells(out.lines().next().unwrap());
    assert_eq!(
        header,
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
        "{out}"
    );
    let rows = table_rows(&out);
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(rows[0][..3], ["bb", "1", short(&id).as_str()], "{out}");
    assert!(rows[0][3].ends_with(" ago"), "CREATED column: {out}");
    assert_eq!(
        rows[0][2],
        id[7..19],
        "IMAGE ID is the first 12 hex of the printed ID"
    );

    // a second tag: two rows, one image ID
    assert_eq!(s.ok(&["tag", "bb:1", "bb:2"]), "");
    let rows = table_rows(&s.ok(&["images"]));
    let mut tags: Vec<_> = rows.iter().map(|r| format!("{}:{}", r[0], r[1])).collect();
    tags.sort();
    assert_eq!(tags, ["bb:1", "bb:2"]);
    assert!(rows.iter().all(|r| r[2] == short(&id)), "{rows:?}");

    // untagging by name prints exactly the Untagged line
    assert_eq!(s.ok(&["rmi", "bb:2"]), "Untagged: bb:2\n");
    assert_eq!(table_rows(&s.ok(&["images"])).len(), 1);

    // by ID with two tags: moby refuses without -f, whether the tags share a repository or not
    // (daemon/images/image_delete.go: isSingleReference is false for two tags)
    let conflict = format!(
        "Error response from daemon: conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories\n",
        short(&id)
    );
    s.ok(&["tag", "bb:1", "bb:3"]);
    let (code, err) = s.fail(&["rmi", &short(&id)]);
    assert_eq!((code, err.as_str()), (1, conflict.as_str()));
    assert_eq!(s.ok(&["rmi", "bb:3"]), "Untagged: bb:3\n");

    s.ok(&["tag", "bb:1", "other:1"]);
    let (code, err) = s.fail(&["rmi", &short(&id)]);
    assert_eq!((code, err.as_str()), (1, conflict.as_str()));
    assert_eq!(
        s.ok(&["images", "-q"]).lines().count(),
        2,
        "a refused rmi removes nothing"
    );

    // -f untags every reference (lexical order), deletes the image, then its layer
    let out = s.ok(&["rmi", "-f", &short(&id)]);
    assert!(
        out.starts_with(&format!(
            "Untagged: bb:1\nUntagged: other:1\nDeleted: {id}\n"
        )),
        "rmi -f output:\n{out}"
    );
    assert_eq!(s.ok(&["images", "-q"]), "");
    assert_eq!(s.ok(&["images", "-a", "-q"]), "");
    assert!(
        s.blobs().is_empty(),
        "blobs left after the last image went: {:?}",
        s.blobs()
    );
    s.ok(&["fsck"]);
    // moby (daemon/images/image_delete.go, layer.ReleaseAndLog) then prints one `Deleted:` per
    // layer it removed, named by chain ID (= the diff ID for a one-layer image)
    assert_eq!(
        out,
        format!(
            "Untagged: bb:1\nUntagged: other:1\nDeleted: {id}\nDeleted: {}\n",
            layer[0]
        ),
        "docker prints one Deleted line for the image and one per removed layer chain ID"
    );
}

#[test]
fn rmi_of_a_missing_image_says_no_such_image() {
    let s = Store::new();
    let (_, tar) = rootfs(&s, "bb", &[]);
    import(&s, &tar, "bb:1");
    let before = s.snapshot();
    let (code, err) = s.fail(&["rmi", "nosuch:1"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "Error response from daemon: No such image: nosuch:1\n")
    );
    assert_eq!(s.snapshot(), before);
}

// ---------------------------------------------------------------------------------------------
// save → skopeo / umoci

#[test]
fn saved_archive_opens_in_skopeo_and_unpacks_with_umoci() {
    require("skopeo");
    require("umoci");
    let s = Store::new();
    let (dir, tar) = rootfs(&s, "bb", &[]);
    let id = import(&s, &tar, "bb:1");
    let layer = layers(&s, "bb:1");
    let a = s.scratch().join("a.tar");
    assert_eq!(s.ok(&["save", "-o", p(&a), "bb:1"]), "");

    let src = format!("docker-archive:{}", p(&a));
    let info = json_of(&sh("skopeo", &["inspect", &src]));
    let skl: Vec<&str> = info["Layers"]
        .as_array()
        .expect("Layers")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        skl,
        [layer[0].as_str()],
        "skopeo sees one layer, named by its diff ID"
    );
    let manifest = json_of(&sh("skopeo", &["inspect", "--raw", &src]));
    assert_eq!(
        manifest["config"]["digest"],
        json!(id),
        "config digest is the image ID"
    );
    let config = sh("skopeo", &["inspect", "--config", "--raw", &src]);
    assert_eq!(
        format!("sha256:{}", e2e::sha256_bytes(config.as_bytes())),
        id,
        "raw config hashes to the image ID"
    );
    let cfg = json_of(&config);
    assert_eq!(cfg["rootfs"]["diff_ids"], json!(layer));

    let oci = s.scratch().join("oci");
    sh(
        "skopeo",
        &["copy", "-q", &src, &format!("oci:{}:bb", p(&oci))],
    );
    let bundle = s.scratch().join("bundle");
    sh(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:bb", p(&oci)),
            p(&bundle),
        ],
    );
    let want = tree(&dir);
    let got = tree(&bundle.join("rootfs"));
    assert!(
        want.len() > 200,
        "busybox root has its applet links ({} entries)",
        want.len()
    );
    for (path, w) in &want {
        assert_eq!(
            got.get(path),
            Some(w),
            "{path} differs after save → skopeo → umoci unpack"
        );
    }
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        extra.is_empty(),
        "unpacked root has paths the original lacks: {extra:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// skopeo-written docker-archive → load

/// An OCI layout made by umoci alone (no strata involved) holding `rootfs` as tag `tag`.
fn umoci_image(s: &Store, rootfs: &Path, tag: &str) -> PathBuf {
    let oci = s.scratch().join("umoci-oci");
    if !oci.exists() {
        sh("umoci", &["init", "--layout", p(&oci)]);
    }
    let image = format!("{}:{tag}", p(&oci));
    sh("umoci", &["new", "--image", &image]);
    sh(
        "umoci",
        &["insert", "--rootless", "--image", &image, p(rootfs), "/"],
    );
    oci
}

#[test]
fn load_reads_what_skopeo_writes_from_file_and_stdin() {
    require("skopeo");
    require("umoci");
    let s = Store::new();
    let dir = s.scratch().join("bb");
    busybox_rootfs(&dir);
    let oci = umoci_image(&s, &dir, "bb");
    let manifest = json_of(&sh(
        "skopeo",
        &["inspect", "--raw", &format!("oci:{}:bb", p(&oci))],
    ));
    let want_id = manifest["config"]["digest"].as_str().unwrap().to_string();
    let b = s.scratch().join("b.tar");
    sh(
        "skopeo",
        &[
            "copy",
            "-q",
            &format!("oci:{}:bb", p(&oci)),
            &format!("docker-archive:{}:bb:skopeo", p(&b)),
        ],
    );

    assert_eq!(s.ok(&["load", "-i", p(&b)]), "Loaded image: bb:skopeo\n");
    assert_eq!(
        s.ok(&["images", "--no-trunc", "-q", "bb:skopeo"]),
        format!("{want_id}\n")
    );
    assert_eq!(s.image_id("bb:skopeo"), want_id);
    let cfg = json_of(&sh(
        "skopeo",
        &[
            "inspect",
            "--config",
            "--raw",
            &format!("oci:{}:bb", p(&oci)),
        ],
    ));
    assert_eq!(json!(layers(&s, "bb:skopeo")), cfg["rootfs"]["diff_ids"]);
    s.ok(&["fsck"]);

    // the same archive on stdin, into a fresh store
    let s2 = Store::new();
    let o = s2.run_stdin(&["load"], &std::fs::read(&b).unwrap());
    assert_eq!(
        (o.status, o.stdout.as_str()),
        (0, "Loaded image: bb:skopeo\n"),
        "stderr: {}",
        o.stderr
    );
    assert_eq!(s2.image_id("bb:skopeo"), want_id);
    s2.ok(&["fsck"]);

    // and strata's own save of it unpacks back to the same root with umoci
    let again = s.scratch().join("again.tar");
    s.ok(&["save", "-o", p(&again), "bb:skopeo"]);
    let oci2 = s.scratch().join("oci2");
    sh(
        "skopeo",
        &[
            "copy",
            "-q",
            &format!("docker-archive:{}", p(&again)),
            &format!("oci:{}:x", p(&oci2)),
        ],
    );
    let bundle = s.scratch().join("bundle2");
    sh(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:x", p(&oci2)),
            p(&bundle),
        ],
    );
    assert_eq!(tree(&bundle.join("rootfs")), tree(&dir));
}

// ---------------------------------------------------------------------------------------------
// sharing

/// `base:1` (busybox, imported) and a docker-archive `two:1` = the base layer plus one layer that
/// umoci makes by inserting `src` at `dst` (strata save → skopeo → OCI → umoci insert → skopeo).
fn image_on_base(s: &Store, src: &Path, dst: &str) -> PathBuf {
    require("skopeo");
    require("umoci");
    let base_tar = s.scratch().join("base.tar");
    s.ok(&["save", "-o", p(&base_tar), "base:1"]);
    let oci = s.scratch().join("oci");
    sh(
        "skopeo",
        &[
            "copy",
            "-q",
            &format!("docker-archive:{}", p(&base_tar)),
            &format!("oci:{}:bb", p(&oci)),
        ],
    );
    sh(
        "umoci",
        &[
            "insert",
            "--rootless",
            "--image",
            &format!("{}:bb", p(&oci)),
            "--tag",
            "bb2",
            p(src),
            dst,
        ],
    );
    let c = s.scratch().join("c.tar");
    sh(
        "skopeo",
        &[
            "copy",
            "-q",
            &format!("oci:{}:bb2", p(&oci)),
            &format!("docker-archive:{}:two:1", p(&c)),
        ],
    );
    c
}

/// umoci 0.4.7 ends its layer tars right after the last file's data: no padding to 512 bytes,
/// no end-of-archive blocks (`umoci insert` of a 14-byte file gives a 526-byte tar). Go's
/// archive/tar (so moby's `docker load`, via tar-split) reads that as a clean end, and the
/// config's diff ID is the digest of exactly those bytes, so Docker loads such an image.
#[test]
fn load_accepts_umoci_layer_without_tar_padding() {
    let s = Store::new();
    let (_, tar) = rootfs(&s, "bb", &[]);
    import(&s, &tar, "base:1");
    let extra = s.scratch().join("extra");
    std::fs::write(&extra, "an extra file\n").unwrap();
    let c = image_on_base(&s, &extra, "/etc/extra");
    assert_eq!(s.ok(&["load", "-i", p(&c)]), "Loaded image: two:1\n");
    assert_eq!(layers(&s, "two:1").len(), 2);
    s.ok(&["fsck"]);
    // and it round-trips: strata's save of it unpacks with umoci to busybox + /etc/extra
    let out = s.scratch().join("two-saved.tar");
    s.ok(&["save", "-o", p(&out), "two:1"]);
    let oci = s.scratch().join("oci-two");
    sh(
        "skopeo",
        &[
            "copy",
            "-q",
            &format!("docker-archive:{}", p(&out)),
            &format!("oci:{}:two", p(&oci)),
        ],
    );
    let bundle = s.scratch().join("bundle-two");
    sh(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:two", p(&oci)),
            p(&bundle),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(bundle.join("rootfs/etc/extra")).unwrap(),
        "an extra file\n"
    );
}

#[test]
fn two_images_on_one_base_store_the_base_once() {
    let s = Store::new();
    let (_, tar) = rootfs(&s, "bb", &[]);
    let base_id = import(&s, &tar, "base:1");
    let base_layer = layers(&s, "base:1");
    let base_size = s.inspect("base:1")["Size"].as_u64().expect("Size");
    assert!(
        base_size > 1_000_000,
        "busybox layer is about 2 MB, got {base_size}"
    );
    let base_blob = s.blobs()[&base_layer[0][7..]];

    // the added layer holds one 4 KiB file: a whole number of tar blocks, so umoci's missing
    // padding (see load_accepts_umoci_layer_without_tar_padding) does not arise here
    let extra = s.scratch().join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("data"), noise(17, 4096)).unwrap();
    let c = image_on_base(&s, &extra, "/opt/extra");

    let du_before = s.du_blobs();
    assert_eq!(s.ok(&["load", "-i", p(&c)]), "Loaded image: two:1\n");
    let du_after = s.du_blobs();
    let two_layers = layers(&s, "two:1");
    assert_eq!(two_layers.len(), 2);
    assert_eq!(
        two_layers[0], base_layer[0],
        "the base layer keeps its diff ID"
    );
    assert!(
        du_after - du_before < base_blob / 2,
        "du -sb blobs grew by {} bytes; the base layer ({base_blob} bytes) must not be stored twice",
        du_after - du_before
    );

    // system df -v: both images share exactly the base layer
    let out = s.ok(&["system", "df", "-v"]);
    let mut lines = out
        .lines()
        .skip_while(|l| !l.starts_with("Images space usage:"))
        .skip(1);
    let header = lines
        .by_ref()
        .find(|l| !l.trim().is_empty())
        .expect("images table header");
    let header = cells(header);
    assert_eq!(
        header,
        [
            "REPOSITORY",
            "TAG",
            "IMAGE ID",
            "CREATED",
            "SIZE",
            "SHARED SIZE",
            "UNIQUE SIZE",
            "CONTAINERS"
        ],
        "{out}"
    );
    let rows: Vec<Vec<String>> = lines
        .take_while(|l| !l.trim().is_empty())
        .map(cells)
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    let shared = human_size(base_size);
    for name in ["base:1", "two:1"] {
        let (repo, tag) = name.split_once(':').unwrap();
        let row = rows
            .iter()
            .find(|r| r[0] == repo && r[1] == tag)
            .unwrap_or_else(|| panic!("no {name} row:\n{out}"));
        assert_eq!(
            row[5], shared,
            "SHARED SIZE of {name} is the base layer's size:\n{out}"
        );
        assert_ne!(row[5], "0B");
    }
    let base_row = rows.iter().find(|r| r[0] == "base").unwrap();
    assert_eq!(base_row[2], short(&base_id));
    assert_eq!(base_row[6], "0B", "base:1 has no unique bytes:\n{out}");

    let out = s.ok(&["system", "df"]);
    let images = table_rows(&out)
        .into_iter()
        .find(|r| r[0] == "Images")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(images[1], "2", "TOTAL:\n{out}");
    s.ok(&["fsck"]);
}

// ---------------------------------------------------------------------------------------------
// dangling images and prune

#[test]
fn retagged_import_leaves_dangling_and_prune_reclaims_exactly_what_it_says() {
    let s = Store::new();
    let (_, tar1) = rootfs(&s, "bb", &[]);
    let old = import(&s, &tar1, "bb:1");
    let old_layer = layers(&s, "bb:1");
    let (_, tar2) = rootfs(&s, "bb2", &[("etc/motd", &noise(7, 300_000))]);
    let new = import(&s, &tar2, "bb:1");
    assert_ne!(old, new);

    let out = s.ok(&["images", "-f", "dangling=true"]);
    let rows = table_rows(&out);
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(
        rows[0][..3],
        ["<none>", "<none>", short(&old).as_str()],
        "{out}"
    );
    assert_eq!(
        s.ok(&["images", "-q", "-f", "dangling=true"]),
        format!("{}\n", short(&old))
    );
    let all: Vec<String> = s
        .ok(&["images", "-q"])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(all.len(), 2, "default listing shows dangling images too");

    let du_before = s.du_blobs();
    let bytes_before = s.blob_bytes();
    let out = s.ok(&["image", "prune", "-f"]);
    let du_after = s.du_blobs();
    let bytes_after = s.blob_bytes();

    let lines: Vec<&str> = out.lines().collect();
    let total = lines
        .last()
        .unwrap()
        .strip_prefix("Total reclaimed space: ")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        lines[..2],
        ["Deleted Images:", &format!("deleted: {old}")],
        "{out}"
    );
    assert_eq!(
        lines[lines.len() - 2],
        "",
        "a blank line before the total:\n{out}"
    );
    assert!(
        du_before > du_after,
        "prune freed nothing on disk ({du_before} → {du_after})"
    );
    assert_eq!(
        total,
        human_size(du_before - du_after),
        "printed space vs du -sb blobs ({du_before} → {du_after})"
    );
    assert_eq!(
        total,
        human_size(bytes_before - bytes_after),
        "printed space vs blob bytes"
    );

    assert_eq!(s.ok(&["images", "-q", "-f", "dangling=true"]), "");
    assert_eq!(s.ok(&["images", "--no-trunc", "-q"]), format!("{new}\n"));
    // a second prune has nothing to do
    assert_eq!(
        s.ok(&["image", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
    s.ok(&["fsck"]);

    // moby's prune reports each removed layer too (`deleted: <chain ID>`), after the image
    assert_eq!(
        lines[..lines.len() - 1],
        [
            "Deleted Images:",
            &format!("deleted: {old}"),
            &format!("deleted: {}", old_layer[0]),
            ""
        ],
        "docker lists the image and its removed layer (chain ID):\n{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// crashes: SIGKILL at each failpoint and mid-stream

/// After a crash: same images as `before` (or `after_commit` when given), fsck clean, every
/// blob hashing to its name.
fn assert_sound(s: &Store, expected_images: &[String]) {
    let snap = s.snapshot();
    assert_eq!(snap.images, expected_images, "images after the crash");
    let out = s.run(&["fsck"]);
    assert_eq!(
        out.status, 0,
        "fsck after the crash:\n{}{}",
        out.stdout, out.stderr
    );
    s.assert_blobs_hash_to_names();
}

fn kill_at(s: &Store, args: &[&str], failpoint: &str) {
    let mut child = s.spawn_at_failpoint(args, failpoint);
    child.kill().expect("SIGKILL");
    let st = child.wait().unwrap();
    assert!(
        st.code().is_none(),
        "strata should have died by SIGKILL, got {st}"
    );
}

fn crash_import(failpoint: &str) {
    let s = Store::new();
    let (_, tar) = rootfs(&s, "bb", &[]);
    import(&s, &tar, "bb:1");
    let (_, tar2) = rootfs(&s, "x", &[("opt/data", &noise(11, 3_000_000))]);
    let before = s.snapshot().images;

    kill_at(&s, &["import", p(&tar2), "x:1"], failpoint);
    assert_sound(&s, &before);

    let id = import(&s, &tar2, "x:1");
    assert_eq!(s.image_id("x:1"), id);
    assert_sound(&s, &s.snapshot().images);
    assert_eq!(s.snapshot().images.len(), before.len() + 1);
}

#[test]
fn sigkill_at_import_layer_stored() {
    crash_import("import:layer-stored");
}

#[test]
fn sigkill_at_import_config_stored() {
    crash_import("import:config-stored");
}

/// An archive of a second image (busybox + 3 MB) saved by a separate store.
fn second_archive(s: &Store) -> (PathBuf, String) {
    let other = Store::new();
    let (_, tar) = rootfs(&other, "two", &[("opt/data", &noise(13, 3_000_000))]);
    let id = import(&other, &tar, "two:1");
    let archive = s.scratch().join("two.tar");
    other.ok(&["save", "-o", p(&archive), "two:1"]);
    (archive, id)
}

fn crash_load(failpoint: &str, committed: bool) {
    let s = Store::new();
    let (_, tar) = rootfs(&s, "bb", &[]);
    import(&s, &tar, "bb:1");
    let (archive, id) = second_archive(&s);
    let before = s.snapshot().images;

    kill_at(&s, &["load", "-i", p(&archive)], failpoint);
    let mut expected = before.clone();
    if committed {
        // the metadata transaction committed: the load happened, only the sweep was lost
        let size = s.inspect("two:1")["Size"].as_u64().unwrap();
        expected.push(format!("two:1 {id} {}", human_size(size)));
        expected.sort();
    }
    assert_sound(&s, &expected);

    assert_eq!(s.ok(&["load", "-i", p(&archive)]), "Loaded image: two:1\n");
    assert_eq!(s.image_id("two:1"), id);
    assert_sound(&s, &s.snapshot().images);
    assert_eq!(s.snapshot().images.len(), before.len() + 1);
}

#[test]
fn sigkill_at_load_blobs_stored() {
    crash_load("load:blobs-stored", false);
}

#[test]
fn sigkill_at_load_committed() {
    crash_load("load:committed", true);
}

#[test]
fn sigkill_mid_stream_import() {
    let s = Store::new();
    let (_, tar) = rootfs(&s, "bb", &[]);
    import(&s, &tar, "bb:1");
    let before = s.snapshot().images;
    let big = s.scratch().join("big");
    for i in 0..10u64 {
        let f = big.join(format!("data/file{i}"));
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, noise(100 + i, 2_000_000)).unwrap();
    }
    let big_tar = tar_of(&big);
    let data = std::fs::read(&big_tar).unwrap();
    assert!(data.len() > 19_000_000);

    let mut child = s
        .command(&["import", "-", "x:1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        // the pipe holds 64 KiB: when this returns strata has consumed nearly all of it
        stdin
            .write_all(&data[..data.len() / 2])
            .expect("strata reads the first half");
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(
            child.try_wait().unwrap().is_none(),
            "strata exited before the stream ended"
        );
        child.kill().unwrap();
    }
    let st = child.wait().unwrap();
    assert!(st.code().is_none(), "killed by SIGKILL, got {st}");
    assert_sound(&s, &before);

    let id = import(&s, &big_tar, "x:1");
    assert_eq!(s.image_id("x:1"), id);
    assert_sound(&s, &s.snapshot().images);
}

// ---------------------------------------------------------------------------------------------
// bad input changes nothing and says why

/// A store holding `bb:1`, for bad-input tests.
fn store_with_bb() -> Store {
    let s = Store::new();
    let (_, tar) = rootfs(&s, "bb", &[]);
    import(&s, &tar, "bb:1");
    s
}

/// Runs `args`, expecting a clean refusal: exit 1 or 125, stderr containing one of `phrases`
/// (case-insensitive), and the store exactly as before.
fn refused(s: &Store, args: &[&str], phrases: &[&str]) -> String {
    let before = s.snapshot();
    let (code, err) = s.fail(args);
    assert!(
        code == 1 || code == 125,
        "`strata {}` exit {code}, want 1 or 125; stderr: {err}",
        args.join(" ")
    );
    assert!(
        !err.trim().is_empty(),
        "`strata {}` failed without saying why",
        args.join(" ")
    );
    let lower = err.to_lowercase();
    assert!(
        phrases.iter().any(|ph| lower.contains(&ph.to_lowercase())),
        "`strata {}` stderr {err:?} names none of {phrases:?}",
        args.join(" ")
    );
    let after = s.snapshot();
    assert_eq!(
        after.images,
        before.images,
        "images changed after refused `strata {}`",
        args.join(" ")
    );
    assert_eq!(
        after.blobs,
        before.blobs,
        "blobs changed after refused `strata {}`",
        args.join(" ")
    );
    assert_eq!(
        after.files,
        before.files,
        "files left in the data directory after refused `strata {}`",
        args.join(" ")
    );
    s.ok(&["fsck"]);
    err
}

#[test]
fn bad_tag_is_refused() {
    let s = store_with_bb();
    refused(
        &s,
        &["tag", "bb:1", "Bad:x"],
        &["invalid reference format: repository name (library/Bad) must be lowercase"],
    );
}

#[test]
fn truncated_tar_import_is_refused() {
    let s = store_with_bb();
    let (_, tar) = rootfs(&s, "t", &[("opt/data", &noise(3, 500_000))]);
    let data = std::fs::read(&tar).unwrap();
    let cut = s.scratch().join("truncated.tar");
    std::fs::write(&cut, &data[..data.len() / 2]).unwrap();
    refused(
        &s,
        &["import", p(&cut), "x:1"],
        &["unexpected EOF", "unexpected end of", "truncated"],
    );
}

#[test]
fn fake_gzip_import_is_refused() {
    let s = store_with_bb();
    let f = s.scratch().join("fake.tar.gz");
    let mut data = vec![0x1f, 0x8b];
    data.extend_from_slice(&noise(5, 4096));
    std::fs::write(&f, &data).unwrap();
    refused(&s, &["import", p(&f), "x:1"], &["gzip"]);
}

/// Zero bytes make an image of one empty layer, as Docker's `import` does (moby#18170): its
/// diff ID is the sha256 of no bytes and its size 0; `save` and `load` carry it over, and a
/// container of it holds nothing.
#[test]
fn empty_file_import_makes_one_empty_layer() {
    let s = store_with_bb();
    let f = s.scratch().join("empty.tar");
    std::fs::write(&f, b"").unwrap();
    let id = s.ok(&["import", p(&f), "x:1"]).trim().to_string();
    assert_eq!(s.image_id("x:1"), id);
    let inspect = s.inspect("x:1");
    assert_eq!(
        inspect["RootFS"]["Layers"],
        json!([format!("sha256:{}", e2e::sha256_bytes(b""))])
    );
    assert_eq!(inspect["Size"], 0);
    s.ok(&["fsck"]);
    s.assert_blobs_hash_to_names();

    let archive = s.scratch().join("x.tar");
    s.ok(&["save", "-o", p(&archive), "x:1"]);
    let t = Store::new();
    t.ok(&["load", "-i", p(&archive)]);
    assert_eq!(t.image_id("x:1"), id);
    t.ok(&["create", "--name", "empty", "x:1", "true"]);
    let out = t.scratch().join("empty-root.tar");
    t.ok(&["export", "-o", p(&out), "empty"]);
    let listed = sh("tar", &["-tf", p(&out)]);
    assert_eq!(listed.trim(), "", "an empty root: {listed}");
}

/// A docker-archive directory (legacy layout: `<hex>.json`, `<hex>.tar`, manifest.json)
/// made by hand, then tarred.
struct HandArchive {
    dir: PathBuf,
    layer: Vec<u8>,
    diff_id: String,
}

impl HandArchive {
    fn new(s: &Store, name: &str) -> HandArchive {
        let root = s.scratch().join(format!("{name}-rootfs"));
        std::fs::create_dir_all(root.join("opt")).unwrap();
        std::fs::write(root.join("opt/payload"), noise(21, 2_000_000)).unwrap();
        let layer = std::fs::read(tar_of(&root)).unwrap();
        let diff_id = format!("sha256:{}", e2e::sha256_bytes(&layer));
        let dir = s.scratch().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        HandArchive {
            dir,
            layer,
            diff_id,
        }
    }

    fn config(diff_ids: &[&str]) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "architecture": "amd64",
            "os": "linux",
            "created": "2020-01-01T00:00:00Z",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created": "2020-01-01T00:00:00Z", "created_by": "e2e"}],
        }))
        .unwrap()
    }

    /// Writes the archive: the config (claiming `diff_ids`), the layer (when `with_layer`)
    /// and a manifest naming `config_path` and `layer_paths`.
    fn write(
        &self,
        diff_ids: &[&str],
        with_layer: bool,
        config_path: Option<&str>,
        layer_paths: Option<&[&str]>,
    ) -> PathBuf {
        let cfg = Self::config(diff_ids);
        let cfg_name = format!("{}.json", e2e::sha256_bytes(&cfg));
        std::fs::write(self.dir.join(&cfg_name), &cfg).unwrap();
        let layer_name = format!("{}.tar", &self.diff_id[7..]);
        if with_layer {
            std::fs::write(self.dir.join(&layer_name), &self.layer).unwrap();
        }
        let layers: Vec<String> = match layer_paths {
            Some(ps) => ps.iter().map(|s| s.to_string()).collect(),
            None => vec![layer_name.clone()],
        };
        let manifest = json!([{
            "Config": config_path.unwrap_or(&cfg_name),
            "RepoTags": ["hand:1"],
            "Layers": layers,
        }]);
        std::fs::write(
            self.dir.join("manifest.json"),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        tar_of(&self.dir)
    }
}

#[test]
fn good_hand_made_archive_loads() {
    // the control for the bad archives below: the same construction, unbroken, loads
    let s = store_with_bb();
    let h = HandArchive::new(&s, "good");
    let a = h.write(&[&h.diff_id], true, None, None);
    assert_eq!(s.ok(&["load", "-i", p(&a)]), "Loaded image: hand:1\n");
    assert_eq!(layers(&s, "hand:1"), vec![h.diff_id.clone()]);
}

#[test]
fn load_of_archive_missing_its_layer_is_refused() {
    let s = store_with_bb();
    let h = HandArchive::new(&s, "missing");
    let a = h.write(&[&h.diff_id], false, None, None);
    let missing = format!("{}.tar", &h.diff_id[7..]);
    refused(&s, &["load", "-i", p(&a)], &[&missing]);
}

#[test]
fn load_of_layer_not_matching_diff_id_is_refused() {
    let s = store_with_bb();
    let h = HandArchive::new(&s, "mismatch");
    let wrong = format!("sha256:{}", e2e::sha256_bytes(b"something else"));
    let a = h.write(&[&wrong], true, None, None);
    refused(&s, &["load", "-i", p(&a)], &["invalid diffID"]);
}

#[test]
fn load_of_manifest_paths_leaving_the_archive_is_refused() {
    let s = store_with_bb();
    let h = HandArchive::new(&s, "escape");
    let a = h.write(
        &[&h.diff_id],
        true,
        None,
        Some(&["../../../../../../etc/passwd"]),
    );
    refused(
        &s,
        &["load", "-i", p(&a)],
        &["../../../../../../etc/passwd"],
    );

    let h = HandArchive::new(&s, "escape2");
    let a = h.write(&[&h.diff_id], true, Some("../config.json"), None);
    refused(&s, &["load", "-i", p(&a)], &["../config.json"]);
}
