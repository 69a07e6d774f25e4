//! Issue #4 through the real CLI against the real CNCF distribution registry
//! (`/usr/bin/docker-registry`, Debian package `docker-registry`), one per test on
//! 127.0.0.1:<free port> with a temporary storage directory and its access log captured:
//! pull (OCI and Docker v2 schema 2 manifests, gzip and zstd layers, a two-platform index, by
//! tag and by digest), shared layers, push (digest as skopeo sees it, no re-upload, cross-repo
//! mount), htpasswd Basic auth with login/logout, mirrors, a corrupting proxy, a registry
//! written here by hand whose descriptors lie about sizes or whose connections go silent, and
//! search.
//!
//! Images get into the registry with `skopeo copy` (from `strata save` archives, or from OCI
//! layouts written here by hand) or with `strata push`. Every test has its own data directory
//! and its own `STRATA_CONFIG` directory.

use e2e::registry::Registry;
use e2e::{
    busybox_rootfs, require, sh, sha256_bytes, sha256_file, short, table_rows, tar_to, tree, Entry,
    Output, Store,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

// ------------------------------------------------------------------------------------------
// strata with its own configuration directory

/// A store plus its own `STRATA_CONFIG` directory; derefs to the [`Store`].
struct Strata {
    store: Store,
    config: tempfile::TempDir,
}

impl Deref for Strata {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl Strata {
    fn new() -> Strata {
        let config = tempfile::Builder::new()
            .prefix("strata-e2e-config-")
            .tempdir()
            .unwrap();
        Strata {
            store: Store::new(),
            config,
        }
    }

    /// A store whose `strata.toml` is `toml`.
    fn with_config(toml: &str) -> Strata {
        let s = Strata::new();
        std::fs::write(s.config.path().join("strata.toml"), toml).unwrap();
        s
    }

    fn config_dir(&self) -> &Path {
        self.config.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = self.store.command(args);
        c.env("STRATA_CONFIG", self.config.path())
            .env_remove("XDG_CONFIG_HOME");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, b"")
    }

    fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        e2e::run_with_stdin(self.command(args), input)
    }

    fn ok(&self, args: &[&str]) -> String {
        self.run(args)
            .expect_ok(&format!("strata {}", args.join(" ")))
    }

    fn fail(&self, args: &[&str]) -> Output {
        self.run(args)
            .expect_failure(&format!("strata {}", args.join(" ")))
    }

    /// `images --no-trunc -q`, one ID per line, deduplicated.
    fn image_ids(&self) -> BTreeSet<String> {
        self.ok(&["images", "--no-trunc", "-q"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// `create` + `export -o` of `image`, extracted; returns the extracted tree.
    fn export_tree(&self, image: &str, name: &str) -> BTreeMap<String, Entry> {
        self.ok(&["create", "--name", name, image, "true"]);
        let dir = self.scratch().join(format!("export-{name}"));
        let tar = self.scratch().join(format!("export-{name}.tar"));
        self.ok(&["export", "-o", tar.to_str().unwrap(), name]);
        std::fs::create_dir_all(&dir).unwrap();
        sh(
            "tar",
            &["-C", dir.to_str().unwrap(), "-xf", tar.to_str().unwrap()],
        );
        tree(&dir)
    }
}

// ------------------------------------------------------------------------------------------
// Getting images into a registry

/// What skopeo says about an image in a registry.
struct Remote {
    /// The manifest (or index) digest.
    digest: String,
    /// The raw manifest (or index).
    raw: Value,
    raw_len: usize,
}

fn inspect_remote(reference: &str, creds: Option<&str>) -> Remote {
    let target = format!("docker://{reference}");
    let mut args = vec!["inspect", "--tls-verify=false", "--raw"];
    if let Some(c) = creds {
        args.extend(["--creds", c]);
    }
    args.push(&target);
    let raw_text = sh("skopeo", &args);
    let raw: Value = serde_json::from_str(&raw_text).expect("raw manifest JSON");
    let digest = format!("sha256:{}", sha256_bytes(raw_text.as_bytes()));
    Remote {
        digest,
        raw,
        raw_len: raw_text.len(),
    }
}

/// `skopeo inspect docker://…`'s `Digest`.
fn skopeo_digest(reference: &str) -> String {
    skopeo_digest_with(reference, None)
}

fn skopeo_digest_with(reference: &str, creds: Option<&str>) -> String {
    let target = format!("docker://{reference}");
    let mut args = vec!["inspect", "--tls-verify=false"];
    if let Some(c) = creds {
        args.extend(["--creds", c]);
    }
    args.push(&target);
    let v: Value = serde_json::from_str(&sh("skopeo", &args)).unwrap();
    v["Digest"].as_str().unwrap().to_string()
}

fn skopeo_copy(src: &str, dst: &str, extra: &[&str]) {
    let mut args = vec![
        "copy",
        "-q",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
    ];
    args.extend_from_slice(extra);
    args.push(src);
    args.push(dst);
    sh("skopeo", &args);
}

/// A busybox root in a source store, imported and saved; the archive goes to the registry
/// with `skopeo copy docker-archive:… docker://<reference>` and the given flags. Returns the
/// source rootfs.
fn seed_busybox(reference: &str, skopeo_flags: &[&str]) -> (Store, PathBuf) {
    let src = Store::new();
    let rootfs = src.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    let tar = src.scratch().join("rootfs.tar");
    tar_to(&rootfs, &tar);
    src.ok(&["import", tar.to_str().unwrap(), "bb:1"]);
    let archive = src.scratch().join("bb.tar");
    src.ok(&["save", "-o", archive.to_str().unwrap(), "bb:1"]);
    skopeo_copy(
        &format!("docker-archive:{}", archive.display()),
        &format!("docker://{reference}"),
        skopeo_flags,
    );
    (src, rootfs)
}

/// An OCI image layout written by hand (gzip layers), for multi-layer images and indexes.
struct Layout {
    dir: PathBuf,
    refs: Vec<Value>,
}

/// A descriptor written into a layout.
#[derive(Clone)]
struct Desc {
    media_type: String,
    digest: String,
    size: u64,
}

impl Desc {
    fn json(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size})
    }
}

/// One layer: the rootfs dir it was made from, its tar's diff ID, and its gzip blob.
struct LayerBlob {
    diff_id: String,
    blob: Desc,
}

impl Layout {
    fn new(dir: PathBuf) -> Layout {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        Layout {
            dir,
            refs: Vec::new(),
        }
    }

    fn put(&self, media_type: &str, bytes: &[u8]) -> Desc {
        let hex = sha256_bytes(bytes);
        std::fs::write(self.dir.join("blobs/sha256").join(&hex), bytes).unwrap();
        Desc {
            media_type: media_type.into(),
            digest: format!("sha256:{hex}"),
            size: bytes.len() as u64,
        }
    }

    /// A gzip layer of the deterministic tar of `dir`.
    fn layer(&self, dir: &Path) -> LayerBlob {
        let tar = PathBuf::from(format!("{}.layer.tar", dir.display()));
        tar_to(dir, &tar);
        self.layer_of_tar(&tar)
    }

    /// A gzip layer of the tar file `tar`.
    fn layer_of_tar(&self, tar: &Path) -> LayerBlob {
        let diff_id = format!("sha256:{}", sha256_file(tar));
        let out = Command::new("gzip")
            .args(["-n", "-c"])
            .arg(tar)
            .output()
            .unwrap();
        assert!(out.status.success(), "gzip failed");
        let blob = self.put("application/vnd.oci.image.layer.v1.tar+gzip", &out.stdout);
        LayerBlob { diff_id, blob }
    }

    /// Config and manifest for `layers` on `arch`; returns the manifest and config descriptors.
    fn image(&self, layers: &[&LayerBlob], arch: &str, tag_note: &str) -> (Desc, Desc) {
        let config = json!({
            "created": "2024-01-01T00:00:00Z",
            "architecture": arch,
            "os": "linux",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Labels": {"note": tag_note}},
            "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()},
            "history": layers.iter().enumerate().map(|(i, _)| json!({"created": "2024-01-01T00:00:00Z", "created_by": format!("layer {i}")})).collect::<Vec<_>>(),
        });
        let config = self.put(
            "application/vnd.oci.image.config.v1+json",
            &serde_json::to_vec(&config).unwrap(),
        );
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config.json(),
            "layers": layers.iter().map(|l| l.blob.json()).collect::<Vec<_>>(),
        });
        let m = self.put(
            "application/vnd.oci.image.manifest.v1+json",
            &serde_json::to_vec(&manifest).unwrap(),
        );
        (m, config)
    }

    /// An index over `(manifest, arch)`.
    fn index(&self, entries: &[(&Desc, &str)]) -> Desc {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries.iter().map(|(d, arch)| {
                let mut v = d.json();
                v["platform"] = json!({"architecture": arch, "os": "linux"});
                v
            }).collect::<Vec<_>>(),
        });
        self.put(
            "application/vnd.oci.image.index.v1+json",
            &serde_json::to_vec(&index).unwrap(),
        )
    }

    /// Names `desc` `tag` in index.json.
    fn tag(&mut self, desc: &Desc, tag: &str) {
        let mut v = desc.json();
        v["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        self.refs.push(v);
        let index = json!({"schemaVersion": 2, "manifests": self.refs});
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }

    fn oci(&self, tag: &str) -> String {
        format!("oci:{}:{tag}", self.dir.display())
    }
}

/// A copy of the busybox rootfs at `dir` with `extra` files added.
fn busybox_with(dir: &Path, extra: &[(&str, &[u8])]) {
    busybox_rootfs(dir);
    for (p, data) in extra {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
}

/// A directory holding only `files`.
fn dir_with(dir: &Path, files: &[(&str, &[u8])]) {
    std::fs::create_dir_all(dir).unwrap();
    for (p, data) in files {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

// ------------------------------------------------------------------------------------------
// Checking pull output

const LAYER_STATUSES: &[&str] = &[
    "Pulling fs layer",
    "Waiting",
    "Downloading",
    "Verifying Checksum",
    "Download complete",
    "Extracting",
    "Pull complete",
    "Already exists",
];

/// Checks the plain (non-terminal) output of a pull that downloads every layer in `fetched`
/// and finds every layer in `present`: the `Pulling from` line, `Pulling fs layer` … `Download
/// complete` … `Pull complete` per fetched layer, `Already exists` per present one, the
/// digest, the status, and the reference as the last line.
fn check_pull_output(
    out: &str,
    first: &str,
    fetched: &[String],
    present: &[String],
    digest: &str,
    status: &str,
    last: &str,
) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first().copied(), Some(first), "first line:\n{out}");
    assert_eq!(lines.last().copied(), Some(last), "last line:\n{out}");
    let at = |l: &str| {
        lines
            .iter()
            .position(|x| *x == l)
            .unwrap_or_else(|| panic!("no line `{l}` in:\n{out}"))
    };
    let d = at(&format!("Digest: {digest}"));
    let s = at(status);
    assert_eq!(s, d + 1, "status follows the digest:\n{out}");
    assert_eq!(
        s + 2,
        lines.len(),
        "the reference follows the status:\n{out}"
    );
    for layer in fetched {
        let id = short(layer);
        let a = at(&format!("{id}: Pulling fs layer"));
        let b = at(&format!("{id}: Download complete"));
        let c = at(&format!("{id}: Pull complete"));
        assert!(a < b && b < c && c < d, "order for {id}:\n{out}");
        assert!(
            !lines.contains(&format!("{id}: Already exists").as_str()),
            "{id} was fetched:\n{out}"
        );
    }
    for layer in present {
        let id = short(layer);
        assert!(at(&format!("{id}: Already exists")) < d, "{out}");
        assert!(
            !lines.contains(&format!("{id}: Pulling fs layer").as_str()),
            "{id} is present:\n{out}"
        );
    }
    // every line between the first and the digest is a layer status of a layer of this image
    let ids: BTreeSet<String> = fetched.iter().chain(present).map(|l| short(l)).collect();
    for l in &lines[1..d] {
        let (id, st) = l
            .split_once(": ")
            .unwrap_or_else(|| panic!("unexpected line `{l}` in:\n{out}"));
        assert!(
            ids.contains(id) && LAYER_STATUSES.contains(&st),
            "unexpected line `{l}` in:\n{out}"
        );
    }
}

fn layer_digests(manifest: &Value) -> Vec<String> {
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

fn layer_sizes(manifest: &Value) -> Vec<u64> {
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["size"].as_u64().unwrap())
        .collect()
}

fn config_digest(manifest: &Value) -> String {
    manifest["config"]["digest"].as_str().unwrap().to_string()
}

/// The source rootfs as an export shows it: same paths, kinds, contents and link targets;
/// file modes compared, directory modes left out (the export's root-level directories may
/// differ in mode from a hand-made tree where the tar has no entry for them).
fn assert_same_tree(got: &BTreeMap<String, Entry>, want: &BTreeMap<String, Entry>, what: &str) {
    let gk: Vec<&String> = got.keys().collect();
    let wk: Vec<&String> = want.keys().collect();
    if gk != wk {
        let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
        let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
        panic!("{what}: paths differ: missing {missing:?}, extra {extra:?}");
    }
    for (k, w) in want {
        match (w, &got[k]) {
            (Entry::Dir(_), Entry::Dir(_)) => {}
            (w, g) => assert_eq!(g, w, "{what}: {k}"),
        }
    }
}

// ------------------------------------------------------------------------------------------
// 1. Pull by tag and by digest: OCI and v2s2, gzip and zstd

fn pull_variant(format: &str, compression: &str, want_manifest: &str, want_layer: &str) {
    require("skopeo");
    let reg = Registry::start();
    let host = reg.host();
    let name = "bb";
    let reference = format!("{host}/{name}:1");
    let (_src, rootfs) = seed_busybox(
        &reference,
        &["--format", format, "--dest-compress-format", compression],
    );
    let remote = inspect_remote(&reference, None);
    assert_eq!(
        remote.raw["mediaType"], want_manifest,
        "what skopeo pushed: {}",
        remote.raw
    );
    let layers = layer_digests(&remote.raw);
    assert_eq!(layers.len(), 1);
    assert_eq!(
        remote.raw["layers"][0]["mediaType"], want_layer,
        "what skopeo pushed: {}",
        remote.raw
    );
    let config = config_digest(&remote.raw);
    assert_eq!(skopeo_digest(&reference), remote.digest);

    // by tag
    let s = Strata::new();
    let out = s.ok(&["pull", &reference]);
    check_pull_output(
        &out,
        &format!("1: Pulling from {name}"),
        &layers,
        &[],
        &remote.digest,
        &format!("Status: Downloaded newer image for {reference}"),
        &reference,
    );
    assert_eq!(
        s.image_id(&reference),
        config,
        "image ID is the config digest"
    );
    assert_eq!(s.image_ids(), BTreeSet::from([config.clone()]));
    assert_eq!(
        s.inspect(&reference)["RepoDigests"],
        json!([format!("{host}/{name}@{}", remote.digest)])
    );
    assert_same_tree(
        &s.export_tree(&reference, "c1"),
        &tree(&rootfs),
        "export of the pulled image",
    );
    s.assert_blobs_hash_to_names();

    // again: nothing to fetch, and, as Docker (which looks for the image's config before
    // anything else), not a line per layer
    let mark = reg.mark();
    let out = s.ok(&["pull", &reference]);
    check_pull_output(
        &out,
        &format!("1: Pulling from {name}"),
        &[],
        &[],
        &remote.digest,
        &format!("Status: Image is up to date for {reference}"),
        &reference,
    );
    assert!(
        reg.blob_gets_since(mark, name)
            .iter()
            .all(|d| !layers.contains(d)),
        "an up-to-date pull fetches no layer:\n{:?}",
        reg.requests_since(mark)
    );

    // by digest, in a fresh store
    let by_digest = format!("{host}/{name}@{}", remote.digest);
    let s2 = Strata::new();
    let out = s2.ok(&["pull", &by_digest]);
    check_pull_output(
        &out,
        &format!("{}: Pulling from {name}", remote.digest),
        &layers,
        &[],
        &remote.digest,
        &format!("Status: Downloaded newer image for {by_digest}"),
        &by_digest,
    );
    assert_eq!(s2.image_id(&by_digest), config);
    assert_eq!(s2.image_ids(), BTreeSet::from([config.clone()]));
    assert_same_tree(
        &s2.export_tree(&by_digest, "c2"),
        &tree(&rootfs),
        "export of the image pulled by digest",
    );
    // pulled by digest only: no tag
    let repo_tags = s2.inspect(&by_digest)["RepoTags"].clone();
    assert_eq!(repo_tags, json!([]), "a digest pull adds no tag");

    // -q prints the reference alone
    let s3 = Strata::new();
    assert_eq!(s3.ok(&["pull", "-q", &reference]), format!("{reference}\n"));
    assert_eq!(s3.image_id(&reference), config);

    kept_as_served(&s, &reference, compression, &layers, &rootfs);
    // rmi frees the layer's blob and its unpacked directory
    s3.ok(&["rmi", &reference]);
    assert_eq!(s3.blobs(), BTreeMap::new(), "rmi leaves no blob");
    let unpacked: Vec<_> = std::fs::read_dir(s3.root().join("layers"))
        .unwrap()
        .collect();
    assert!(
        unpacked.is_empty(),
        "rmi leaves no unpacked layer: {unpacked:?}"
    );
}

/// A pulled layer is kept as the registry served it: its blob under the manifest's digest and
/// no tar under the diff ID. `save` still writes the tar (a fresh store loads the same image),
/// and `push` sends a gzip layer up as the very bytes pulled (the same layer digest elsewhere).
fn kept_as_served(
    s: &Strata,
    reference: &str,
    compression: &str,
    layers: &[String],
    rootfs: &Path,
) {
    let config = s.image_id(reference);
    let diff_ids: Vec<String> = s.inspect(reference)["RootFS"]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    let blobs = s.blobs();
    for (l, d) in layers.iter().zip(&diff_ids) {
        assert!(blobs.contains_key(hex(l)), "layer blob {l} kept: {blobs:?}");
        assert!(!blobs.contains_key(hex(d)), "no tar under the diff ID {d}");
    }
    s.ok(&["fsck"]);

    let archive = s.scratch().join("saved.tar");
    s.ok(&["save", "-o", archive.to_str().unwrap(), reference]);
    let loaded = Strata::new();
    loaded.ok(&["load", "-i", archive.to_str().unwrap()]);
    assert_eq!(
        loaded.image_id(reference),
        config,
        "save → load keeps the ID"
    );
    assert_eq!(
        s.ok(&["tree", reference]),
        loaded.ok(&["tree", reference]),
        "the merged tree reads the same from compressed blobs as from tars"
    );
    for d in &diff_ids {
        assert!(loaded.blobs().contains_key(hex(d)), "the saved tar of {d}");
    }
    loaded.assert_blobs_hash_to_names();

    let other = Registry::start();
    let target = format!("{}/copy:1", other.host());
    s.ok(&["tag", reference, &target]);
    let out = s.ok(&["push", &target]);
    let pushed = inspect_remote(&target, None);
    assert_eq!(config_digest(&pushed.raw), config, "{out}");
    if compression == "gzip" {
        assert_eq!(
            layer_digests(&pushed.raw),
            layers,
            "the gzip blobs pulled go up as they are"
        );
    }
    pulls_back(
        &target,
        &config,
        rootfs,
        "export of the image pushed on and pulled back",
    );
}

/// A fresh store pulls `reference`: image `id`, whose export is the tree of `rootfs`.
fn pulls_back(reference: &str, id: &str, rootfs: &Path, what: &str) {
    let back = Strata::new();
    back.ok(&["pull", reference]);
    assert_eq!(back.image_id(reference), id);
    assert_same_tree(&back.export_tree(reference, "back"), &tree(rootfs), what);
}

/// The hex of `sha256:<hex>`.
fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

#[test]
fn pull_oci_gzip_by_tag_and_digest() {
    pull_variant(
        "oci",
        "gzip",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.layer.v1.tar+gzip",
    );
}

#[test]
fn pull_oci_zstd_by_tag_and_digest() {
    pull_variant(
        "oci",
        "zstd",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.layer.v1.tar+zstd",
    );
}

#[test]
fn pull_docker_v2s2_gzip_by_tag_and_digest() {
    pull_variant(
        "v2s2",
        "gzip",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
    );
}

/// Docker: pulling by digest an image that a tag pull already brought (and so recorded the
/// repo digest of) changes nothing and says `Image is up to date`.
#[test]
fn pull_by_digest_of_present_image_is_up_to_date() {
    require("skopeo");
    let reg = Registry::start();
    let host = reg.host();
    let reference = format!("{host}/bb:1");
    seed_busybox(&reference, &["--format", "v2s2"]);
    let remote = inspect_remote(&reference, None);
    let s = Strata::new();
    s.ok(&["pull", &reference]);
    let by_digest = format!("{host}/bb@{}", remote.digest);
    let out = s.ok(&["pull", &by_digest]);
    // no layer line: the image is here (Docker's output is the same)
    check_pull_output(
        &out,
        &format!("{}: Pulling from bb", remote.digest),
        &[],
        &[],
        &remote.digest,
        &format!("Status: Image is up to date for {by_digest}"),
        &by_digest,
    );
}

/// `pull -a`: every tag, each with its `Pulling from` and `Digest` lines, one status for the
/// repository at the end (Docker's `pullRepository` writes it once, for the name without tag)
/// and the repository name as the last line.
#[test]
fn pull_all_tags_like_docker() {
    require("skopeo");
    let reg = Registry::start();
    let host = reg.host();
    let (src, _) = seed_busybox(&format!("{host}/bb:1"), &["--format", "v2s2"]);
    let archive = src.scratch().join("bb.tar");
    skopeo_copy(
        &format!("docker-archive:{}", archive.display()),
        &format!("docker://{host}/bb:2"),
        &["--format", "v2s2"],
    );
    let d1 = inspect_remote(&format!("{host}/bb:1"), None).digest;
    let d2 = inspect_remote(&format!("{host}/bb:2"), None).digest;
    let s = Strata::new();
    let out = s.ok(&["pull", "-a", &format!("{host}/bb")]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.contains(&"1: Pulling from bb") && lines.contains(&"2: Pulling from bb"),
        "{out}"
    );
    assert!(
        lines.contains(&format!("Digest: {d1}").as_str())
            && lines.contains(&format!("Digest: {d2}").as_str()),
        "{out}"
    );
    assert_eq!(
        lines.last().copied(),
        Some(format!("{host}/bb").as_str()),
        "{out}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("Status: "))
            .collect::<Vec<_>>(),
        [&format!("Status: Downloaded newer image for {host}/bb").as_str()],
        "one status line, for the repository:\n{out}"
    );
    let mut tags: Vec<String> = s
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .lines()
        .map(str::to_string)
        .collect();
    tags.sort();
    assert_eq!(tags, [format!("{host}/bb:1"), format!("{host}/bb:2")]);
    // -a with a tag is refused
    let o = s.fail(&["pull", "-a", &format!("{host}/bb:1")]);
    assert!(
        o.stderr.contains("tag can't be used with --all-tags/-a"),
        "{}",
        o.stderr
    );
}

/// Docker's texts for a tag the registry lacks and for pushing an image that is not here.
#[test]
fn missing_tag_and_missing_local_image_errors() {
    let reg = Registry::start();
    let host = reg.host();
    let s = Strata::new();
    let o = s.fail(&["pull", &format!("{host}/bb:nope")]);
    assert_eq!(o.status, 1);
    assert_eq!(
        o.stderr.trim_end(),
        format!("Error response from daemon: manifest for {host}/bb:nope not found: manifest unknown: manifest unknown")
    );
    assert!(s.image_ids().is_empty());
    let o = s.fail(&["push", &format!("{host}/nope:1")]);
    assert_eq!(o.status, 1);
    assert_eq!(
        o.stderr.trim_end(),
        format!(
            "Error response from daemon: An image does not exist locally with the tag: {host}/nope"
        )
    );
}

// ------------------------------------------------------------------------------------------
// 1b. A two-platform index

#[test]
fn pull_two_platform_index_by_tag_digest_and_platform() {
    require("skopeo");
    let reg = Registry::start();
    let host = reg.host();
    let work = Store::new();
    let scratch = work.scratch();
    let mut layout = Layout::new(scratch.join("layout"));
    let here = host_arch();
    let other = if here == "arm64" { "amd64" } else { "arm64" };
    let mut roots = BTreeMap::new();
    let mut manifests = BTreeMap::new();
    for arch in [here, other] {
        let root = scratch.join(format!("rootfs-{arch}"));
        busybox_with(
            &root,
            &[
                ("etc/arch", format!("{arch}\n").as_bytes()),
                (
                    &format!("opt/{arch}/only"),
                    &e2e::noise(arch.len() as u64, 4096),
                ),
            ],
        );
        let layer = layout.layer(&root);
        let (m, c) = layout.image(&[&layer], arch, arch);
        roots.insert(arch, root);
        manifests.insert(arch, (m, c, layer.blob.digest.clone()));
    }
    let index = layout.index(&[(&manifests[here].0, here), (&manifests[other].0, other)]);
    layout.tag(&index, "1");
    let reference = format!("{host}/bb:1");
    skopeo_copy(
        &layout.oci("1"),
        &format!("docker://{reference}"),
        &["--multi-arch", "all"],
    );
    let remote = inspect_remote(&reference, None);
    assert_eq!(
        remote.raw["mediaType"], "application/vnd.oci.image.index.v1+json",
        "{}",
        remote.raw
    );
    assert_eq!(
        remote.digest, index.digest,
        "skopeo kept the index as written"
    );

    // by tag: this platform's image
    let s = Strata::new();
    let out = s.ok(&["pull", &reference]);
    check_pull_output(
        &out,
        "1: Pulling from bb",
        &[manifests[here].2.clone()],
        &[],
        &index.digest,
        &format!("Status: Downloaded newer image for {reference}"),
        &reference,
    );
    assert_eq!(s.image_id(&reference), manifests[here].1.digest);
    assert_eq!(s.inspect(&reference)["Architecture"], here);
    assert_eq!(
        s.image_ids(),
        BTreeSet::from([manifests[here].1.digest.clone()])
    );
    assert_same_tree(
        &s.export_tree(&reference, "here"),
        &tree(&roots[here]),
        "export of this platform's image",
    );

    // --platform: the other one
    let s2 = Strata::new();
    let out = s2.ok(&["pull", "--platform", &format!("linux/{other}"), &reference]);
    check_pull_output(
        &out,
        "1: Pulling from bb",
        &[manifests[other].2.clone()],
        &[],
        &index.digest,
        &format!("Status: Downloaded newer image for {reference}"),
        &reference,
    );
    assert_eq!(s2.image_id(&reference), manifests[other].1.digest);
    assert_eq!(s2.inspect(&reference)["Architecture"], other);
    assert_same_tree(
        &s2.export_tree(&reference, "other"),
        &tree(&roots[other]),
        "export of the other platform's image",
    );

    // by the index digest: this platform's image again
    let by_digest = format!("{host}/bb@{}", index.digest);
    let s3 = Strata::new();
    let out = s3.ok(&["pull", &by_digest]);
    check_pull_output(
        &out,
        &format!("{}: Pulling from bb", index.digest),
        &[manifests[here].2.clone()],
        &[],
        &index.digest,
        &format!("Status: Downloaded newer image for {by_digest}"),
        &by_digest,
    );
    assert_eq!(s3.image_id(&by_digest), manifests[here].1.digest);

    // a platform the index lacks
    let o = s3.fail(&["pull", "--platform", "linux/s390x", &reference]);
    assert!(
        o.stderr.contains("no matching manifest for linux/s390x"),
        "{}",
        o.stderr
    );
}

// ------------------------------------------------------------------------------------------
// 2. Shared base layers

#[test]
fn second_image_on_shared_base_fetches_only_its_own_layers() {
    require("skopeo");
    let reg = Registry::start();
    let host = reg.host();
    let work = Store::new();
    let scratch = work.scratch();
    let mut layout = Layout::new(scratch.join("layout"));
    let base_root = scratch.join("base");
    busybox_rootfs(&base_root);
    let base = layout.layer(&base_root);
    let l2_root = scratch.join("l2");
    dir_with(&l2_root, &[("app/data", &e2e::noise(2, 300_000))]);
    let l2 = layout.layer(&l2_root);
    let l3_root = scratch.join("l3");
    dir_with(
        &l3_root,
        &[
            ("app/config", b"mode = test\n"),
            ("etc/motd", b"hello from app\n"),
        ],
    );
    let l3 = layout.layer(&l3_root);
    let (m_base, c_base) = layout.image(&[&base], host_arch(), "base");
    let (m_app, c_app) = layout.image(&[&base, &l2, &l3], host_arch(), "app");
    layout.tag(&m_base, "base");
    layout.tag(&m_app, "app");
    skopeo_copy(&layout.oci("base"), &format!("docker://{host}/base:1"), &[]);
    skopeo_copy(&layout.oci("app"), &format!("docker://{host}/app:1"), &[]);

    let s = Strata::new();
    let base_ref = format!("{host}/base:1");
    let mark = reg.mark();
    s.ok(&["pull", &base_ref]);
    let gets = reg.blob_gets_since(mark, "base");
    assert_eq!(
        gets.iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([&base.blob.digest, &c_base.digest]),
        "first pull fetches the base layer and config"
    );
    assert_eq!(s.image_id(&base_ref), c_base.digest);

    let app_ref = format!("{host}/app:1");
    let mark = reg.mark();
    let out = s.ok(&["pull", &app_ref]);
    check_pull_output(
        &out,
        "1: Pulling from app",
        &[l2.blob.digest.clone(), l3.blob.digest.clone()],
        std::slice::from_ref(&base.blob.digest),
        &m_app.digest,
        &format!("Status: Downloaded newer image for {app_ref}"),
        &app_ref,
    );
    let mut gets = reg.blob_gets_since(mark, "app");
    gets.sort();
    let mut want = vec![
        l2.blob.digest.clone(),
        l3.blob.digest.clone(),
        c_app.digest.clone(),
    ];
    want.sort();
    assert_eq!(
        gets,
        want,
        "exactly the two new layers and the config are fetched; requests:\n{:#?}",
        reg.requests_since(mark)
    );
    assert!(
        !reg.requests_since(mark)
            .iter()
            .any(|l| l.starts_with("GET ") && l.contains(&base.blob.digest)),
        "the shared base is never downloaded again"
    );
    assert_eq!(s.image_id(&app_ref), c_app.digest);
    assert_eq!(
        s.inspect(&app_ref)["RootFS"]["Layers"],
        json!([base.diff_id, l2.diff_id, l3.diff_id])
    );
    // the base is stored once: the registry's blob, no tar under its diff ID
    let blobs = s.blobs();
    assert!(blobs.contains_key(hex(&base.blob.digest)), "{blobs:?}");
    assert!(!blobs.contains_key(hex(&base.diff_id)), "{blobs:?}");
    let exported = s.export_tree(&app_ref, "app");
    let mut want = tree(&base_root);
    for (k, v) in tree(&l2_root).into_iter().chain(tree(&l3_root)) {
        want.insert(k, v);
    }
    assert_same_tree(&exported, &want, "export of the app image");
    s.assert_blobs_hash_to_names();
    s.ok(&["fsck"]);
}

// ------------------------------------------------------------------------------------------
// 3. Push

fn import_busybox(s: &Store, reference: &str) -> (String, PathBuf) {
    let rootfs = s.scratch().join("rootfs");
    if !rootfs.exists() {
        busybox_rootfs(&rootfs);
    }
    let tar = s.scratch().join("rootfs.tar");
    tar_to(&rootfs, &tar);
    let id = s.ok(&["import", tar.to_str().unwrap(), reference]);
    (id.trim().to_string(), rootfs)
}

/// The `<tag>: digest: sha256:… size: N` line of a push.
fn pushed_digest(out: &str, tag: &str) -> (String, usize) {
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{tag}: digest: ")))
        .unwrap_or_else(|| panic!("no `{tag}: digest:` line in:\n{out}"));
    let rest = line.strip_prefix(&format!("{tag}: digest: ")).unwrap();
    let (digest, size) = rest
        .split_once(" size: ")
        .unwrap_or_else(|| panic!("bad line `{line}`"));
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{line}"
    );
    (digest.to_string(), size.parse().unwrap())
}

fn uploads(requests: &[String]) -> Vec<&String> {
    requests
        .iter()
        .filter(|l| {
            (l.starts_with("POST ") || l.starts_with("PATCH ") || l.starts_with("PUT "))
                && l.contains("/blobs/uploads")
        })
        .collect()
}

#[test]
fn push_then_skopeo_sees_the_digest_and_second_push_uploads_nothing() {
    require("skopeo");
    let reg = Registry::start();
    let host = reg.host();
    let s = Strata::new();
    let reference = format!("{host}/x:1");
    let (id, rootfs) = import_busybox(&s, &reference);
    let layer_diff = s.inspect(&reference)["RootFS"]["Layers"][0]
        .as_str()
        .unwrap()
        .to_string();

    let mark = reg.mark();
    let out = s.ok(&["push", &reference]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("The push refers to repository [{host}/x]"),
        "{out}"
    );
    let (digest, size) = pushed_digest(&out, "1");
    assert_eq!(
        lines.last().copied(),
        Some(format!("1: digest: {digest} size: {size}").as_str()),
        "{out}"
    );
    assert!(lines.iter().any(|l| l.ends_with(": Pushed")), "{out}");
    let reqs = reg.requests_since(mark);
    assert!(
        !uploads(&reqs).is_empty(),
        "the first push uploads: {reqs:#?}"
    );

    assert_eq!(
        skopeo_digest(&reference),
        digest,
        "skopeo sees the pushed manifest"
    );
    let remote = inspect_remote(&reference, None);
    assert_eq!(remote.digest, digest);
    assert_eq!(remote.raw_len, size, "size is the manifest's length");
    assert_eq!(
        config_digest(&remote.raw),
        id,
        "the config pushed is the image's"
    );
    let layer = layer_digests(&remote.raw)[0].clone();
    assert!(
        uploads(&reqs)
            .iter()
            .any(|l| l.starts_with("PUT ")
                && l.replace("%3A", ":").contains(&format!("digest={layer}"))),
        "the layer the manifest names was uploaded: {reqs:#?}"
    );
    // Docker names pushed layers by their diff ID
    assert!(
        lines.contains(&format!("{}: Preparing", short(&layer_diff)).as_str()),
        "{out}"
    );
    assert!(
        lines.contains(&format!("{}: Pushed", short(&layer_diff)).as_str()),
        "{out}"
    );

    // the registry's copy is the same image: skopeo's config names the same layer
    let cfg: Value = serde_json::from_str(&sh(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--config",
            &format!("docker://{reference}"),
        ],
    ))
    .unwrap();
    assert_eq!(cfg["rootfs"]["diff_ids"], json!([layer_diff]));

    // a second push uploads no blob
    let mark = reg.mark();
    let out = s.ok(&["push", &reference]);
    assert!(
        out.lines()
            .any(|l| l == format!("{}: Layer already exists", short(&layer_diff))),
        "{out}"
    );
    assert!(!out.contains("Pushed"), "{out}");
    assert_eq!(pushed_digest(&out, "1").0, digest, "same manifest again");
    let reqs = reg.requests_since(mark);
    assert!(
        uploads(&reqs).is_empty(),
        "the second push uploaded: {reqs:#?}"
    );

    // a fresh store pulls it back: same ID, same tree
    pulls_back(
        &reference,
        &id,
        &rootfs,
        "export of the pushed image pulled back",
    );
}

#[test]
fn push_in_chunks_when_configured() {
    require("skopeo");
    let reg = Registry::start();
    let host = reg.host();
    let s = Strata::new();
    std::fs::create_dir_all(s.config_dir()).unwrap();
    std::fs::write(
        s.config_dir().join("strata.toml"),
        "[registry]\nupload_chunk_size = 65536\n",
    )
    .unwrap();
    let reference = format!("{host}/chunked:1");
    let (id, _) = import_busybox(&s, &reference);
    let mark = reg.mark();
    let out = s.ok(&["push", &reference]);
    let (digest, _) = pushed_digest(&out, "1");
    let reqs = reg.requests_since(mark);
    let patches: Vec<&String> = reqs
        .iter()
        .filter(|l| l.starts_with("PATCH /v2/chunked/blobs/uploads/") && l.contains("\" 202 "))
        .collect();
    let layer_size = layer_sizes(&inspect_remote(&reference, None).raw)[0];
    assert_eq!(
        patches.len() as u64,
        layer_size.div_ceil(65536) + 1,
        "one PATCH per 64 KiB of the layer, one for the config: {reqs:#?}"
    );
    assert_eq!(skopeo_digest(&reference), digest);
    let p = Strata::new();
    p.ok(&["pull", &reference]);
    assert_eq!(p.image_id(&reference), id, "pulled back whole");
}

#[test]
fn push_to_second_repository_mounts_the_layer() {
    require("skopeo");
    let reg = Registry::start();
    let host = reg.host();
    let s = Strata::new();
    let a = format!("{host}/a:1");
    let b = format!("{host}/b:1");
    import_busybox(&s, &a);
    let layer_diff = s.inspect(&a)["RootFS"]["Layers"][0]
        .as_str()
        .unwrap()
        .to_string();
    let out = s.ok(&["push", &a]);
    let (digest_a, _) = pushed_digest(&out, "1");
    let layer = layer_digests(&inspect_remote(&a, None).raw)[0].clone();

    s.ok(&["tag", &a, &b]);
    let mark = reg.mark();
    let out = s.ok(&["push", &b]);
    assert!(
        out.lines()
            .any(|l| l == format!("{}: Mounted from a", short(&layer_diff))),
        "{out}"
    );
    let (digest_b, _) = pushed_digest(&out, "1");
    assert_eq!(digest_b, digest_a, "same image, same manifest");
    assert_eq!(skopeo_digest(&b), digest_b);
    let reqs = reg.requests_since(mark);
    assert!(
        reqs.iter().any(|l| {
            let l = l.replace("%3A", ":").replace("%3a", ":");
            l.starts_with("POST /v2/b/blobs/uploads/?")
                && l.contains("from=a")
                && l.contains(&format!("mount={layer}"))
                && l.contains("\" 201 ")
        }),
        "the layer is mounted from a: {reqs:#?}"
    );
    assert!(
        !reqs.iter().any(|l| l.starts_with("PATCH ")
            || (l.starts_with("PUT ") && l.contains(&format!("digest={layer}")))),
        "the layer is not uploaded again: {reqs:#?}"
    );
}

// ------------------------------------------------------------------------------------------
// 4. Basic auth

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= c.len() {
                T[(n >> (18 - 6 * i)) as usize & 63] as char
            } else {
                '='
            });
        }
    }
    out
}

fn auths(s: &Strata) -> Option<Value> {
    let path = s.config_dir().join("config.json");
    std::fs::read(&path)
        .ok()
        .map(|raw| serde_json::from_slice::<Value>(&raw).unwrap()["auths"].clone())
}

#[test]
fn basic_auth_login_pull_logout() {
    require("skopeo");
    let reg = Registry::start_with_auth("u", "s3cret pass");
    let host = reg.host();
    let reference = format!("{host}/bb:1");
    seed_busybox(&reference, &["--dest-creds", "u:s3cret pass"]);
    let config = config_digest(&inspect_remote(&reference, Some("u:s3cret pass")).raw);

    let s = Strata::with_config(&format!("[registry]\nsearch = [\"{host}\"]\n"));
    let is_auth_error = |e: &str| {
        let e = e.to_lowercase();
        e.contains("unauthorized") || e.contains("authentication required")
    };
    // no credentials
    let o = s.fail(&["pull", &reference]);
    assert_eq!(o.status, 1);
    assert!(is_auth_error(&o.stderr), "pull without login: {}", o.stderr);
    assert!(s.image_ids().is_empty());
    let o = s.fail(&["search", "bb"]);
    assert!(
        is_auth_error(&o.stderr),
        "search without login: {}",
        o.stderr
    );

    // a wrong password stores nothing
    let o = s.run_stdin(&["login", "-u", "u", "--password-stdin", &host], b"wrong\n");
    assert_eq!(o.status, 1, "login with a wrong password: {o:?}");
    assert!(is_auth_error(&o.stderr), "{}", o.stderr);
    assert!(!o.stdout.contains("Login Succeeded"), "{}", o.stdout);
    assert!(
        auths(&s).is_none_or(|a| a.get(&host).is_none()),
        "nothing stored: {:?}",
        auths(&s)
    );

    // login
    let o = s.run_stdin(
        &["login", "-u", "u", "--password-stdin", &host],
        b"s3cret pass\n",
    );
    assert_eq!(o.status, 0, "{o:?}");
    assert_eq!(
        o.stdout.lines().last(),
        Some("Login Succeeded"),
        "{}",
        o.stdout
    );
    let path = s.config_dir().join("config.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600,
        "config.json is private"
    );
    let a = auths(&s).expect("config.json has auths");
    assert_eq!(a[&host]["auth"], base64(b"u:s3cret pass"), "{a}");

    // now the pull works
    s.ok(&["pull", &reference]);
    assert_eq!(s.image_id(&reference), config);
    // and so do push and search
    let mine = format!("{host}/mine:1");
    s.ok(&["tag", &reference, &mine]);
    let out = s.ok(&["push", &mine]);
    assert_eq!(
        skopeo_digest_with(&mine, Some("u:s3cret pass")),
        pushed_digest(&out, "1").0
    );
    for (term, want) in [
        ("bb", format!("{host}/bb")),
        ("mine", format!("{host}/mine")),
    ] {
        let names: Vec<String> = table_rows(&s.ok(&["search", term]))
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        assert_eq!(names, [want], "search {term} after login");
    }

    // logout
    let out = s.ok(&["logout", &host]);
    assert_eq!(out, format!("Removing login credentials for {host}\n"));
    assert!(
        auths(&s).is_none_or(|a| a.get(&host).is_none()),
        "entry gone: {:?}",
        auths(&s)
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // and pulls fail again (the image is removed first so that the pull has to ask)
    s.ok(&["rmi", &reference]);
    let o = s.fail(&["pull", &reference]);
    assert_eq!(o.status, 1);
    assert!(is_auth_error(&o.stderr), "pull after logout: {}", o.stderr);

    // a wrong password after a good login leaves the good entry alone
    let o = s.run_stdin(
        &["login", "-u", "u", "--password-stdin", &host],
        b"s3cret pass",
    );
    assert_eq!(o.status, 0, "login again: {o:?}");
    let o = s.run_stdin(&["login", "-u", "u", "--password-stdin", &host], b"nope");
    assert_eq!(o.status, 1);
    assert_eq!(auths(&s).unwrap()[&host]["auth"], base64(b"u:s3cret pass"));
}

// ------------------------------------------------------------------------------------------
// 5. Mirrors

#[test]
fn mirror_without_the_image_falls_back_and_mirror_with_it_spares_the_origin() {
    require("skopeo");
    let origin = Registry::start();
    let mirror = Registry::start();
    let reference = format!("{}/bb:1", origin.host());
    seed_busybox(&reference, &["--format", "v2s2"]);
    let config = config_digest(&inspect_remote(&reference, None).raw);
    let toml = format!(
        "[registry]\nregistry_mirrors = {{ \"{}\" = [\"http://{}\"] }}\n",
        origin.host(),
        mirror.host()
    );

    // the mirror lacks it: asked, then the origin serves
    let s = Strata::with_config(&toml);
    let (om, mm) = (origin.mark(), mirror.mark());
    let out = s.ok(&["pull", &reference]);
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {reference}")),
        "{out}"
    );
    assert_eq!(s.image_id(&reference), config);
    let mreqs = mirror.requests_since(mm);
    assert!(
        mreqs
            .iter()
            .any(|l| l.starts_with("GET /v2/bb/manifests/1 ")
                || l.starts_with("HEAD /v2/bb/manifests/1 ")),
        "the mirror was asked first: {mreqs:#?}"
    );
    assert!(
        !origin.blob_gets_since(om, "bb").is_empty(),
        "the origin served the blobs"
    );

    // the mirror holds it: the origin sees nothing
    skopeo_copy(
        &format!("docker://{reference}"),
        &format!("docker://{}/bb:1", mirror.host()),
        &[],
    );
    let s2 = Strata::with_config(&toml);
    let (om, mm) = (origin.mark(), mirror.mark());
    let out = s2.ok(&["pull", &reference]);
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {reference}")),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some(reference.as_str()), "{out}");
    assert_eq!(s2.image_id(&reference), config);
    assert_eq!(
        s2.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]),
        format!("{reference}\n"),
        "named after the origin"
    );
    let oreqs = origin.requests_since(om);
    assert!(oreqs.is_empty(), "the origin saw requests: {oreqs:#?}");
    assert!(
        !mirror.blob_gets_since(mm, "bb").is_empty(),
        "the mirror served the blobs"
    );
    s2.assert_blobs_hash_to_names();
}

/// A mirror given as an `https://` URL is reached over TLS, its certificate checked against
/// the system's trust store (`SSL_CERT_FILE` names it here): trusted, the mirror serves the
/// pull; not trusted, the handshake fails and the pull falls back to the origin.
#[test]
fn https_mirror_is_checked_against_the_system_roots() {
    require("skopeo");
    let origin = Registry::start();
    let mirror = Registry::start_tls();
    let reference = format!("{}/bb:1", origin.host());
    seed_busybox(&reference, &["--format", "v2s2"]);
    skopeo_copy(
        &format!("docker://{reference}"),
        &format!("docker://{}/bb:1", mirror.host()),
        &[],
    );
    let config = config_digest(&inspect_remote(&reference, None).raw);
    let toml = format!(
        "[registry]\nregistry_mirrors = {{ \"{}\" = [\"https://{}\"] }}\n",
        origin.host(),
        mirror.host()
    );
    let pull = |s: &Strata, trust: Option<&Path>| {
        let mut cmd = s.command(&["pull", &reference]);
        if let Some(ca) = trust {
            cmd.env("SSL_CERT_FILE", ca).env_remove("SSL_CERT_DIR");
        }
        let o = e2e::run_with_stdin(cmd, b"");
        assert_eq!(o.status, 0, "pull failed:\n{}\n{}", o.stdout, o.stderr);
        assert!(
            o.stdout
                .contains(&format!("Status: Downloaded newer image for {reference}")),
            "{}",
            o.stdout
        );
        assert_eq!(s.image_id(&reference), config);
    };

    // trusted: the mirror serves everything over TLS
    let s = Strata::with_config(&toml);
    let (om, mm) = (origin.mark(), mirror.mark());
    pull(&s, Some(&mirror.ca_file()));
    let oreqs = origin.requests_since(om);
    assert!(oreqs.is_empty(), "the origin saw requests: {oreqs:#?}");
    assert!(
        !mirror.blob_gets_since(mm, "bb").is_empty(),
        "the mirror served the blobs"
    );
    s.assert_blobs_hash_to_names();

    // not trusted: no request gets through the handshake; the origin serves
    let s2 = Strata::with_config(&toml);
    let (om, mm) = (origin.mark(), mirror.mark());
    pull(&s2, None);
    assert!(
        mirror.requests_since(mm).is_empty(),
        "a request passed an untrusted handshake"
    );
    assert!(
        mirror.log()[mm..].contains("TLS handshake error"),
        "the mirror saw the handshake refused:\n{}",
        &mirror.log()[mm..]
    );
    assert!(
        !origin.blob_gets_since(om, "bb").is_empty(),
        "the origin served the blobs"
    );
}

/// `mirrors` serve `docker.io` pulls: Docker Hub is never reached (there is no network here).
#[test]
fn docker_io_mirror_serves_library_images() {
    require("skopeo");
    let mirror = Registry::start();
    seed_busybox(
        &format!("{}/library/bb:1", mirror.host()),
        &["--format", "v2s2"],
    );
    let config =
        config_digest(&inspect_remote(&format!("{}/library/bb:1", mirror.host()), None).raw);
    let s = Strata::with_config(&format!(
        "[registry]\nmirrors = [\"http://{}\"]\n",
        mirror.host()
    ));
    let out = s.ok(&["pull", "bb:1"]);
    assert_eq!(
        out.lines().next(),
        Some("1: Pulling from library/bb"),
        "{out}"
    );
    assert!(
        out.contains("Status: Downloaded newer image for bb:1"),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("docker.io/library/bb:1"), "{out}");
    assert_eq!(s.image_id("bb:1"), config);
}

// ------------------------------------------------------------------------------------------
// 6. A registry serving corrupt bytes

/// A one-request-per-connection HTTP proxy in front of `upstream` that, for GETs of
/// `corrupt_path`, flips the bits of every body byte (same length, same headers).
struct CorruptingProxy {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl CorruptingProxy {
    fn start(upstream: u16, corrupt_path: String) -> CorruptingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (path, h) = (corrupt_path.clone(), h.clone());
                std::thread::spawn(move || {
                    let _ = proxy_one(conn, upstream, &path, &h);
                });
            }
        });
        CorruptingProxy { port, hits }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn proxy_one(
    mut client: TcpStream,
    upstream: u16,
    corrupt_path: &str,
    hits: &AtomicUsize,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut body = buf[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    let mut content_length = 0usize;
    for l in lines {
        let lower = l.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        headers.push(l.to_string());
    }
    while body.len() < content_length {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let mut req = format!("{request_line}\r\n");
    for h in &headers {
        req += h;
        req += "\r\n";
    }
    req += "Connection: close\r\n\r\n";
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(req.as_bytes())?;
    up.write_all(&body)?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp)?;
    let mut parts = request_line.split(' ');
    let (method, path) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if method == "GET" && path == corrupt_path && resp.starts_with(b"HTTP/1.1 200") {
        if let Some(i) = find(&resp, b"\r\n\r\n") {
            for b in &mut resp[i + 4..] {
                *b ^= 0xff;
            }
            hits.fetch_add(1, Ordering::SeqCst);
        }
    }
    client.write_all(&resp)?;
    client.flush()?;
    let _ = client.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// A small corrupt layer: it fits in the download buffers, so the whole body is hashed before
/// the unpacker sees a byte.
#[test]
fn corrupt_blob_fails_the_pull_and_leaves_nothing() {
    corrupt_blob_case(200_000);
}

/// A corrupt layer of several megabytes: the unpacker reads (and chokes on) the first bytes
/// while the download is still running; the error must still be the digest mismatch.
#[test]
fn corrupt_large_blob_fails_the_pull_with_a_digest_error() {
    corrupt_blob_case(6_000_000);
}

/// Starts a registry holding `<repo>:1`, an image of two layers: the busybox rootfs, and the
/// one `top` makes (given the layout and `work`'s scratch directory). Returns the registry, that
/// top layer and the image's config.
fn registry_with_busybox_and(
    work: &Store,
    repo: &str,
    top: impl FnOnce(&Layout, &Path) -> LayerBlob,
) -> (Registry, LayerBlob, Desc) {
    require("skopeo");
    let reg = Registry::start();
    let scratch = work.scratch();
    let mut layout = Layout::new(scratch.join("layout"));
    let base_root = scratch.join("base");
    busybox_rootfs(&base_root);
    let base = layout.layer(&base_root);
    let top = top(&layout, &scratch);
    let (m, c) = layout.image(&[&base, &top], host_arch(), repo);
    layout.tag(&m, "1");
    skopeo_copy(
        &layout.oci("1"),
        &format!("docker://{}/{repo}:1", reg.host()),
        &[],
    );
    (reg, top, c)
}

fn corrupt_blob_case(top_size: usize) {
    let work = Store::new();
    // two layers: one served intact, one corrupted
    let (reg, top, c) = registry_with_busybox_and(&work, "bb", |layout, scratch| {
        let top_root = scratch.join("top");
        dir_with(&top_root, &[("data/blob", &e2e::noise(7, top_size))]);
        layout.layer(&top_root)
    });

    let bad = top.blob.digest.clone();
    let proxy = CorruptingProxy::start(reg.port(), format!("/v2/bb/blobs/{bad}"));
    let reference = format!("127.0.0.1:{}/bb:1", proxy.port);
    let s = Strata::new();
    let before = s.snapshot();
    let o = s.fail(&["pull", &reference]);
    assert!(
        proxy.hits.load(Ordering::SeqCst) >= 1,
        "the proxy served the corrupt blob"
    );
    assert_eq!(o.status, 1, "{o:?}");
    assert_eq!(s.ok(&["images", "-a", "-q"]), "", "no image");
    assert!(s.image_ids().is_empty());
    assert!(!o.stdout.contains("Status:"), "{}", o.stdout);
    let bad_hex = bad.trim_start_matches("sha256:");
    assert!(
        !s.blobs().contains_key(bad_hex),
        "no blob named by the corrupt digest"
    );
    assert!(
        !s.blobs()
            .contains_key(top.diff_id.trim_start_matches("sha256:")),
        "no blob of the corrupt layer's content"
    );
    assert!(
        !s.blobs()
            .contains_key(c.digest.trim_start_matches("sha256:")),
        "no config of an image that was not pulled"
    );
    s.assert_blobs_hash_to_names();
    s.ok(&["fsck"]);
    let after = s.snapshot();
    assert_eq!(after.images, before.images);

    // the same image from the registry itself pulls fine into the same store afterwards
    let direct = format!("{}/bb:1", reg.host());
    s.ok(&["pull", &direct]);
    assert_eq!(s.image_id(&direct), c.digest);
    s.assert_blobs_hash_to_names();
    s.ok(&["fsck"]);

    // the failed pull's error is clear: it names the blob and says its digest did not match
    // (Docker: `filesystem layer verification failed for digest sha256:…`), whatever the
    // unpacker made of the bytes meanwhile
    let err = o.stderr.to_lowercase();
    assert!(
        o.stderr.contains(&bad) || o.stderr.contains(&short(&bad)),
        "the error names the corrupt blob {bad}:\n{}",
        o.stderr
    );
    assert!(
        err.contains("digest") && (err.contains("mismatch") || err.contains("verification failed")),
        "the error says the blob's digest did not match:\n{}",
        o.stderr
    );
}

/// A layer whose tar is well formed but hostile (a name climbing out of the root): layers are
/// unpacked while they download, and that unpacker's refusal fails the pull and leaves no
/// blob, no unpacked directory and nothing outside the store.
#[test]
fn hostile_layer_fails_the_pull_and_leaves_nothing() {
    let work = Store::new();
    let scratch = work.scratch();
    let (reg, hostile, _) = registry_with_busybox_and(&work, "bad", |layout, scratch| {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, data) in [("etc/ok", &b"ok"[..]), ("../../../../escaped", &b"out"[..])] {
            let mut h = tar::Header::new_gnu();
            // written by hand: the tar crate refuses `..` in names it is given
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append(&h, data).unwrap();
        }
        let hostile_tar = scratch.join("hostile.tar");
        std::fs::write(&hostile_tar, tar.into_inner().unwrap()).unwrap();
        layout.layer_of_tar(&hostile_tar)
    });

    let s = Strata::new();
    let reference = format!("{}/bad:1", reg.host());
    let o = s.fail(&["pull", &reference]);
    assert_eq!(o.status, 1, "{o:?}");
    assert!(
        // refused by the ingest's name check (as import and load refuse it), while streaming
        o.stderr
            .contains(r#"entry "../../../../escaped": escapes the root"#)
            && o.stderr.contains(&hostile.blob.digest),
        "the error names the layer and what is wrong with it:\n{}",
        o.stderr
    );
    assert!(s.image_ids().is_empty());
    // the base layer was stored and unpacked, and swept with the failed pull; the hostile
    // one was never stored, and its half-unpacked directory is gone
    assert_eq!(s.files(), Vec::<String>::new());
    for dir in [s.root(), work.root(), scratch.as_path()] {
        for up in dir.ancestors().take(5) {
            assert!(!up.join("escaped").exists(), "{} escaped", up.display());
        }
    }
}

// ------------------------------------------------------------------------------------------
// 7. A registry lying about sizes, or going silent

/// How the hostile registry answers a GET of one path.
#[derive(Clone)]
enum Serve {
    /// These bytes with their `Content-Length`, then the connection closes.
    Plain(&'static str, Vec<u8>),
    /// These bytes, then zeros with no length announced until the client goes away (or
    /// [`ENDLESS_CAP`] bytes were written, then the connection closes).
    Endless(Vec<u8>),
    /// The `Content-Length` of these bytes (or, resumed, of the rest: 206), half of what was
    /// asked, then silence on the kept-alive connection until the client closes it.
    Stalled(Vec<u8>),
}

/// What an endless body writes at most: far more than any buffer between the two ends.
const ENDLESS_CAP: u64 = 64 << 20;

/// A registry on 127.0.0.1 serving fixed answers per path, written by hand: one request per
/// connection, every other path a 404. Counts the body bytes it wrote.
struct HostileRegistry {
    port: u16,
    written: Arc<std::sync::atomic::AtomicU64>,
    requests: Arc<std::sync::Mutex<Vec<String>>>,
}

impl HostileRegistry {
    fn start(paths: BTreeMap<String, Serve>) -> HostileRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let written = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let paths = Arc::new(paths);
        let (w, r) = (written.clone(), requests.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (paths, w, r) = (paths.clone(), w.clone(), r.clone());
                std::thread::spawn(move || {
                    let _ = hostile_one(conn, &paths, &w, &r);
                });
            }
        });
        HostileRegistry {
            port,
            written,
            requests,
        }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Body bytes written so far.
    fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    /// `METHOD path [range]` of every request so far.
    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn hostile_one(
    mut conn: TcpStream,
    paths: &BTreeMap<String, Serve>,
    written: &std::sync::atomic::AtomicU64,
    requests: &std::sync::Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let resume_at: Option<usize> = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        let v = v.trim().strip_prefix("bytes=")?.strip_suffix('-')?;
        k.eq_ignore_ascii_case("range").then(|| v.parse().ok())?
    });
    let note = match resume_at {
        Some(at) => format!("{method} {path} bytes={at}-"),
        None => format!("{method} {path}"),
    };
    requests.lock().unwrap().push(note);
    let count = |n: usize| written.fetch_add(n as u64, Ordering::SeqCst);
    match paths.get(path) {
        Some(Serve::Plain(media_type, body)) => {
            conn.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {media_type}\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )?;
            conn.write_all(body)?;
            count(body.len());
        }
        Some(Serve::Endless(body)) => {
            conn.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")?;
            conn.write_all(body)?;
            count(body.len());
            let zeros = vec![0u8; 16 << 10];
            while written.load(Ordering::SeqCst) < ENDLESS_CAP {
                conn.write_all(&zeros)?;
                count(zeros.len());
            }
        }
        Some(Serve::Stalled(body)) => {
            let at = resume_at.unwrap_or(0).min(body.len());
            let rest = &body[at..];
            let status = match resume_at {
                None => "200 OK".to_string(),
                Some(_) => format!(
                    "206 Partial Content\r\nContent-Range: bytes {at}-{}/{}",
                    body.len() - 1,
                    body.len()
                ),
            };
            conn.write_all(
                format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n",
                    rest.len()
                )
                .as_bytes(),
            )?;
            conn.write_all(&rest[..rest.len() / 2])?;
            count(rest.len() / 2);
            // kept alive and silent until the client hangs up
            while conn.read(&mut byte)? > 0 {}
        }
        None if path == "/v2/" => {
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")?;
        }
        None => {
            let body = r#"{"errors":[{"code":"NAME_UNKNOWN","message":"not here"}]}"#;
            conn.write_all(
                format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )?;
        }
    }
    conn.flush()?;
    let _ = conn.shutdown(std::net::Shutdown::Both);
    Ok(())
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// A one-layer image (an uncompressed tar holding `hello.txt`) as a registry would serve it
/// under `hostile:1`, its descriptors' sizes as `lie` leaves them.
struct LyingImage {
    layer: Vec<u8>,
    layer_digest: String,
    config: Vec<u8>,
    config_digest: String,
    manifest: Vec<u8>,
    manifest_digest: String,
}

/// Which descriptor says which size.
#[derive(Clone, Copy, Default)]
struct Lie {
    layer: Option<u64>,
    config: Option<u64>,
    /// Serve the manifest behind an index whose entry gives it this size.
    manifest_in_index: Option<u64>,
}

impl LyingImage {
    fn new(lie: Lie) -> LyingImage {
        LyingImage::patched(lie, json!({}))
    }

    /// [`LyingImage::new`] whose config has `patch`'s fields set over the usual ones.
    fn patched(lie: Lie, patch: serde_json::Value) -> LyingImage {
        let mut tar = tar::Builder::new(Vec::new());
        let data = b"hello from a registry that lies about sizes\n";
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, "hello.txt", &data[..]).unwrap();
        let layer = tar.into_inner().unwrap();
        let layer_digest = format!("sha256:{}", sha256_bytes(&layer));
        let mut config = json!({
            "architecture": host_arch(),
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        });
        for (k, v) in patch.as_object().expect("a patch is an object") {
            config[k] = v.clone();
        }
        let config = serde_json::to_vec(&config).unwrap();
        let config_digest = format!("sha256:{}", sha256_bytes(&config));
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest,
                       "size": lie.config.unwrap_or(config.len() as u64)},
            "layers": [{"mediaType": OCI_LAYER_TAR, "digest": layer_digest,
                        "size": lie.layer.unwrap_or(layer.len() as u64)}],
        }))
        .unwrap();
        let manifest_digest = format!("sha256:{}", sha256_bytes(&manifest));
        LyingImage {
            layer,
            layer_digest,
            config,
            config_digest,
            manifest,
            manifest_digest,
        }
    }

    /// A hostile registry serving this image under `hostile:1`, its layer as it is.
    fn registry(&self, lie: Lie) -> HostileRegistry {
        HostileRegistry::start(self.paths(lie, Serve::Plain(OCI_LAYER_TAR, self.layer.clone())))
    }

    /// The registry's paths: `hostile:1` (the manifest, or an index over it whose entry says
    /// `lie.manifest_in_index` bytes), the manifest by digest, the config, and the layer as
    /// `layer` serves it.
    fn paths(&self, lie: Lie, layer: Serve) -> BTreeMap<String, Serve> {
        let mut paths = BTreeMap::new();
        let m = Serve::Plain(OCI_MANIFEST, self.manifest.clone());
        let tag = match lie.manifest_in_index {
            None => m.clone(),
            Some(size) => Serve::Plain(
                OCI_INDEX,
                serde_json::to_vec(&json!({
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": [{"mediaType": OCI_MANIFEST, "digest": self.manifest_digest,
                                   "size": size,
                                   "platform": {"architecture": host_arch(), "os": "linux"}}],
                }))
                .unwrap(),
            ),
        };
        paths.insert("/v2/hostile/manifests/1".to_string(), tag);
        paths.insert(format!("/v2/hostile/manifests/{}", self.manifest_digest), m);
        paths.insert(
            format!("/v2/hostile/blobs/{}", self.config_digest),
            Serve::Plain(OCI_CONFIG, self.config.clone()),
        );
        paths.insert(format!("/v2/hostile/blobs/{}", self.layer_digest), layer);
        paths
    }
}

/// Pulls `hostile:1` from `reg` into `s`, which must refuse it and stay as it was (no image,
/// no blob, no file left in `ingest/` or anywhere); returns the pull's stderr.
fn refused_pull(s: &Strata, reg: &HostileRegistry) -> String {
    let before = s.snapshot();
    let o = s.fail(&["pull", &format!("{}/hostile:1", reg.host())]);
    assert_eq!(o.status, 1, "{o:?}");
    assert!(!o.stdout.contains("Status:"), "{}", o.stdout);
    assert_eq!(
        s.snapshot(),
        before,
        "the refused pull left the store as it was"
    );
    s.ok(&["fsck"]);
    o.stderr
}

/// A layer whose blob is longer than its descriptor says (its digest right): the length the
/// registry announces refuses it before a byte is stored, naming the blob and both sizes. The
/// same image with honest descriptors pulls.
#[test]
fn pull_refuses_a_layer_longer_than_its_descriptor() {
    let lie = Lie {
        layer: Some(10),
        ..Lie::default()
    };
    let img = LyingImage::new(lie);
    let len = img.layer.len();
    let reg = img.registry(lie);
    let s = Strata::new();
    let err = refused_pull(&s, &reg);
    assert!(
        err.contains(&format!(
            "size mismatch for {}: its descriptor says 10 bytes, the registry sent {len}",
            img.layer_digest
        )),
        "{err}"
    );
    assert!(
        err.contains("filesystem layer verification failed"),
        "{err}"
    );

    let honest = LyingImage::new(Lie::default());
    let reg = honest.registry(Lie::default());
    s.ok(&["pull", &format!("{}/hostile:1", reg.host())]);
    assert_eq!(
        s.image_id(&format!("{}/hostile:1", reg.host())),
        honest.config_digest
    );
}

/// An image config moby could not use is refused before a layer is fetched or anything
/// stored: another operating system (with Docker's words), a creation time that is not an
/// RFC 3339 time. `"history": null` is Go's empty history and pulls.
#[test]
fn pull_refuses_an_image_config_docker_cannot_use() {
    let s = Strata::new();
    for (patch, want) in [
        (
            json!({"os": "windows"}),
            "image operating system \"windows\" cannot be used on this platform",
        ),
        (
            json!({"created": "2024-02-30T00:00:00Z"}),
            "created \"2024-02-30T00:00:00Z\" is not an RFC 3339 time",
        ),
    ] {
        let img = LyingImage::patched(Lie::default(), patch);
        let reg = img.registry(Lie::default());
        let err = refused_pull(&s, &reg);
        assert!(err.contains(want), "{err}");
    }
    let img = LyingImage::patched(Lie::default(), json!({"history": null}));
    let reg = img.registry(Lie::default());
    s.ok(&["pull", &format!("{}/hostile:1", reg.host())]);
}

/// A layer blob that never ends, no length announced, behind a descriptor giving its true
/// tar's size: the client reads that size and a byte more, then refuses it; the registry
/// wrote no more than what the sockets between the two hold, and the store is unchanged.
#[test]
fn pull_reads_an_endless_layer_only_to_its_descriptor_size() {
    let img = LyingImage::new(Lie::default());
    let len = img.layer.len() as u64;
    let reg = HostileRegistry::start(img.paths(Lie::default(), Serve::Endless(img.layer.clone())));
    let s = Strata::new();
    let err = refused_pull(&s, &reg);
    assert!(
        err.contains(&format!(
            "size mismatch for {}: its descriptor says {len} bytes, the registry sent more (at least {})",
            img.layer_digest,
            len + 1
        )),
        "{err}"
    );
    let written = reg.written();
    assert!(
        written < len + (16 << 20) && written < ENDLESS_CAP,
        "the registry wrote {written} bytes for a {len}-byte descriptor"
    );
}

/// A layer blob shorter than its descriptor says: refused by the length the registry
/// announces, naming both sizes, with nothing allocated or stored.
#[test]
fn pull_refuses_a_layer_shorter_than_its_descriptor() {
    let honest = LyingImage::new(Lie::default());
    let len = honest.layer.len() as u64;
    for size in [len + 100, 2 * len + 4096] {
        let lie = Lie {
            layer: Some(size),
            ..Lie::default()
        };
        let img = LyingImage::new(lie);
        let reg = img.registry(lie);
        let s = Strata::new();
        let err = refused_pull(&s, &reg);
        assert!(
            err.contains(&format!(
                "size mismatch for {}: its descriptor says {size} bytes, the registry sent {len}",
                img.layer_digest
            )),
            "{err}"
        );
    }
}

/// A layer whose descriptor says more than the store's filesystem has free (2^62 bytes, the
/// registry sending without end and no length, or announcing its real length): refused
/// before a byte of it is fetched, naming both sizes, with nothing stored.
#[test]
fn pull_refuses_layers_larger_than_the_free_space_before_fetching_them() {
    let lie = Lie {
        layer: Some(1 << 62),
        ..Lie::default()
    };
    let img = LyingImage::new(lie);
    for reg in [
        HostileRegistry::start(img.paths(lie, Serve::Endless(img.layer.clone()))),
        img.registry(lie),
    ] {
        refused_for_space(&img, &reg);
    }
}

fn refused_for_space(img: &LyingImage, reg: &HostileRegistry) {
    let s = Strata::new();
    let err = refused_pull(&s, reg);
    assert!(
        err.contains(&format!(
            "not enough space to pull {}/hostile:1: its layers take {} bytes, the store's filesystem has ",
            reg.host(),
            1u64 << 62
        )),
        "{err}"
    );
    let blob = format!("GET /v2/hostile/blobs/{}", img.layer_digest);
    assert!(
        !reg.requests().iter().any(|r| r.starts_with(&blob)),
        "{:?}",
        reg.requests()
    );
}

/// The config and a manifest named by an index are read to their descriptors' sizes too: a
/// config shorter or longer than its descriptor, an index entry giving the manifest another
/// size, and a config descriptor of 2^62 bytes (refused before any request for it) all fail
/// the pull and leave the store as it was.
#[test]
fn pull_refuses_a_config_or_manifest_of_another_size() {
    let honest = LyingImage::new(Lie::default());
    let config_len = honest.config.len() as u64;
    let manifest_len = honest.manifest.len() as u64;
    let cases = [
        (
            Lie {
                config: Some(config_len - 1),
                ..Lie::default()
            },
            format!(
                "size mismatch for {}: its descriptor says {} bytes, the registry sent {config_len}",
                honest.config_digest,
                config_len - 1
            ),
        ),
        (
            Lie {
                config: Some(config_len + 1),
                ..Lie::default()
            },
            format!(
                "size mismatch for {}: its descriptor says {} bytes, the registry sent {config_len}",
                honest.config_digest,
                config_len + 1
            ),
        ),
        (
            Lie {
                manifest_in_index: Some(manifest_len + 7),
                ..Lie::default()
            },
            format!(
                "size mismatch for {}: its descriptor says {} bytes, the registry sent {manifest_len}",
                honest.manifest_digest,
                manifest_len + 7
            ),
        ),
        (
            Lie {
                config: Some(1 << 62),
                ..Lie::default()
            },
            "is 4611686018427387904 bytes, over the size limit".to_string(),
        ),
    ];
    for (lie, want) in cases {
        let img = LyingImage::new(lie);
        let reg = img.registry(lie);
        let s = Strata::new();
        let err = refused_pull(&s, &reg);
        assert!(err.contains(&want), "want {want:?} in:\n{err}");
        if lie.config == Some(1 << 62) {
            let config_path = format!("GET /v2/hostile/blobs/{}", img.config_digest);
            assert!(
                !reg.requests().contains(&config_path),
                "the config was not asked for: {:?}",
                reg.requests()
            );
        }
    }
}

/// A layer response whose `Content-Length` is larger than its body, on a kept-alive
/// connection: with `idle_timeout_secs = 1`, each attempt fails after a second of silence
/// (the resumes ask for the rest with `Range`), and the pull fails saying the connection
/// stalled, leaving the store as it was.
#[test]
fn pull_fails_on_a_stalled_layer_after_the_idle_timeout() {
    let img = LyingImage::new(Lie::default());
    let reg = HostileRegistry::start(img.paths(Lie::default(), Serve::Stalled(img.layer.clone())));
    let s = Strata::with_config("[registry]\nidle_timeout_secs = 1\n");
    let err = refused_pull(&s, &reg);
    assert!(
        err.contains(&format!(
            "http://{}/v2/hostile/blobs/{}: connection stalled: the registry sent no data for 1s",
            reg.host(),
            img.layer_digest
        )),
        "{err}"
    );
    // every attempt got half of what it asked for, and the next one resumed after it
    let blob_path = format!("GET /v2/hostile/blobs/{}", img.layer_digest);
    let len = img.layer.len();
    let attempts: Vec<String> = reg
        .requests()
        .into_iter()
        .filter(|r| r.starts_with(&blob_path))
        .collect();
    // the first attempt and the three retries (the default), each resuming where the last
    // one's half of the rest ended
    let mut want = vec![blob_path.clone()];
    let mut at = 0;
    for _ in 0..3 {
        at += (len - at) / 2;
        want.push(format!("{blob_path} bytes={at}-"));
    }
    assert_eq!(attempts, want);
}

// ------------------------------------------------------------------------------------------
// 8. search

#[test]
fn search_lists_matching_repositories_of_configured_registries() {
    require("skopeo");
    let reg = Registry::start();
    let host = reg.host();
    let (src, _) = seed_busybox(&format!("{host}/bb:1"), &["--format", "v2s2"]);
    let archive = src.scratch().join("bb.tar");
    for r in ["tools/bb-extra:2", "other:1"] {
        skopeo_copy(
            &format!("docker-archive:{}", archive.display()),
            &format!("docker://{host}/{r}"),
            &["--format", "v2s2"],
        );
    }
    let s = Strata::with_config(&format!("[registry]\nsearch = [\"{host}\"]\n"));
    let out = s.ok(&["search", "bb"]);
    let header = e2e::cells(out.lines().next().unwrap_or_default());
    assert_eq!(
        header,
        ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"],
        "{out}"
    );
    let rows = table_rows(&out);
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        [format!("{host}/bb"), format!("{host}/tools/bb-extra")],
        "{out}"
    );
    for r in &rows {
        assert!(r.contains(&"0".to_string()), "STARS is 0: {r:?}");
        assert!(!r.contains(&"[OK]".to_string()), "not official: {r:?}");
    }
    let out = s.ok(&["search", "--limit", "1", "bb"]);
    assert_eq!(table_rows(&out).len(), 1, "{out}");
    assert_eq!(table_rows(&out)[0][0], format!("{host}/bb"), "{out}");
    let out = s.ok(&["search", "nothing-like-this"]);
    assert_eq!(out.lines().count(), 1, "header only: {out}");
}
