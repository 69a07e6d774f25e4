//! The end-to-end harness: the real `strata` binary on a throwaway data directory, real rootfs
//! trees (a busybox root), deterministic tars, and the peer tools (skopeo, umoci, sha256sum).
//!
//! Deliberately absent: any mocking. Every test drives the built binary and real peer programs;
//! a missing peer is a hard failure with an install hint ([`require`]), never a silent skip.

pub mod daemon;

pub use daemon::{http, http_stream, http_text, in_terminal, repo_tags, Daemon, HttpReply, DOCKER};
pub use test_support::{registry, require};

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// The workspace root (the directory above `e2e/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e has a parent")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        _ => workspace_root().join("target"),
    }
}

static BUILD: Once = Once::new();
static BUILD_ERROR: Mutex<Option<String>> = Mutex::new(None);

/// Builds the `strata` binary as `cargo build --workspace` does (`just test` runs that first):
/// the same packages selected, so the same features and the very units it built; building
/// `-p strata` alone would resolve features anew and compile a second copy of the tree.
pub fn build_strata() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--workspace", "--bins"])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("run cargo build: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The `strata` binary, built once per test process by [`build_strata`] so that
/// `cargo test -p e2e` works from a clean tree.
pub fn strata_bin() -> PathBuf {
    BUILD.call_once(|| {
        if let Err(e) = build_strata() {
            *BUILD_ERROR.lock().unwrap() = Some(e);
        }
    });
    let error = BUILD_ERROR.lock().unwrap().clone();
    if let Some(e) = error {
        panic!("cargo build of strata failed:\n{e}");
    }
    let bin = target_dir().join("debug/strata");
    assert!(bin.exists(), "{} missing after cargo build", bin.display());
    bin
}

/// Runs `cmd` to completion, feeding `input` on its stdin (from a thread, so a child that
/// writes a lot before reading cannot deadlock us).
pub fn run_with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn strata");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait strata");
    writer.join().unwrap();
    Output::from(out)
}

/// What a finished command gave.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code (`-1` when killed by a signal).
    pub status: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Output {
    /// From a finished process.
    pub fn from(o: std::process::Output) -> Output {
        Output {
            status: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Its stdout; panics with both streams unless `command` (as in `strata tag a b`)
    /// exited 0.
    pub fn expect_ok(self, command: &str) -> String {
        assert_eq!(
            self.status, 0,
            "`{command}` failed (exit {}):\nstdout:\n{}\nstderr:\n{}",
            self.status, self.stdout, self.stderr
        );
        self.stdout
    }

    /// Itself; panics with both streams if `command` exited 0.
    pub fn expect_failure(self, command: &str) -> Output {
        assert_ne!(
            self.status, 0,
            "`{command}` unexpectedly succeeded:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs a peer program; panics (with its output) when it fails.
pub fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let o = Output::from(out);
    assert_eq!(
        o.status,
        0,
        "`{program} {}` failed (exit {}):\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        o.status,
        o.stdout,
        o.stderr
    );
    o.stdout
}

/// A strata data directory in a temporary directory, and a scratch area beside it.
pub struct Store {
    dir: tempfile::TempDir,
    root: PathBuf,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

/// A test that ends (or fails) with containers running leaves none behind: they are removed
/// with `rm -f -v` (their processes killed, roots unmounted, runtime state and cgroups
/// deleted) before the directory goes.
impl Drop for Store {
    fn drop(&mut self) {
        let containers = self.root.join("containers");
        let any = std::fs::read_dir(&containers).is_ok_and(|mut d| d.next().is_some());
        if !any {
            return;
        }
        let ids = self
            .command(&["ps", "-a", "-q", "--no-trunc"])
            .stdin(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids);
            let _ = self
                .command(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Store {
    /// A fresh, empty store.
    pub fn new() -> Store {
        let dir = tempfile::Builder::new()
            .prefix("strata-e2e-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().join("root");
        Store { dir, root }
    }

    /// The data directory (`--root`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A scratch directory for the test's own files (outside the data directory).
    pub fn scratch(&self) -> PathBuf {
        let p = self.dir.path().join("scratch");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// A `strata --root <root>` command, with a clean environment for the store.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(strata_bin());
        c.arg("--root").arg(&self.root).args(args);
        c.env_remove("STRATA_ROOT").env_remove("STRATA_FAILPOINT");
        // The store's own (empty) configuration directory, so a user's strata.toml never
        // reaches a test; a test that needs a configuration sets `STRATA_CONFIG` after this.
        c.env("STRATA_CONFIG", self.dir.path().join("config"));
        c.current_dir(self.dir.path());
        c
    }

    /// Runs strata with `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .expect("run strata");
        Output::from(out)
    }

    /// Runs strata with `args`, feeding `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        run_with_stdin(self.command(args), input)
    }

    /// Runs strata; panics with its stderr unless it exits 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.run(args)
            .expect_ok(&format!("strata {}", args.join(" ")))
    }

    /// Runs strata expecting failure; returns (exit code, stderr). Panics if it succeeds.
    pub fn fail(&self, args: &[&str]) -> (i32, String) {
        let o = self
            .run(args)
            .expect_failure(&format!("strata {}", args.join(" ")));
        (o.status, o.stderr)
    }

    /// The full image ID (`sha256:…`) a name resolves to, from `inspect`.
    pub fn image_id(&self, name: &str) -> String {
        let v: serde_json::Value =
            serde_json::from_str(&self.ok(&["inspect", name])).expect("inspect JSON");
        v[0]["Id"].as_str().expect("Id").to_string()
    }

    /// `inspect` of one image as JSON.
    pub fn inspect(&self, name: &str) -> serde_json::Value {
        let v: serde_json::Value =
            serde_json::from_str(&self.ok(&["inspect", name])).expect("inspect JSON");
        v[0].clone()
    }

    /// The blobs (`blobs/sha256/<hex>` → size), sorted.
    pub fn blobs(&self) -> BTreeMap<String, u64> {
        let dir = self.root.join("blobs/sha256");
        let mut out = BTreeMap::new();
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd {
                let e = e.unwrap();
                let md = e.metadata().unwrap();
                if md.is_file() {
                    out.insert(e.file_name().to_string_lossy().into_owned(), md.len());
                }
            }
        }
        out
    }

    /// `du -sb <root>/blobs`: apparent bytes of the blob tree, directories included.
    pub fn du_blobs(&self) -> u64 {
        let out = sh("du", &["-sb", self.root.join("blobs").to_str().unwrap()]);
        out.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// Total bytes of the blob files alone (what `du -sb` counts, less directory entries).
    pub fn blob_bytes(&self) -> u64 {
        self.blobs().values().sum()
    }

    /// Every file under the data directory other than the database and lock files, relative
    /// paths, sorted: staging leftovers show up here.
    pub fn files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out);
        out.retain(|p| !p.starts_with("strata.db") && p != "leases.lock");
        out.sort();
        out
    }

    /// A snapshot of what a user can observe: every image with its tags, ID and size, and the
    /// blob list with sizes.
    pub fn snapshot(&self) -> Snapshot {
        let images = self.ok(&[
            "images",
            "-a",
            "--no-trunc",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}",
        ]);
        let mut images: Vec<String> = images.lines().map(str::to_string).collect();
        images.sort();
        Snapshot {
            images,
            blobs: self.blobs(),
            files: self.files(),
        }
    }

    /// Asserts every blob's content hashes (with `sha256sum`) to its file name.
    pub fn assert_blobs_hash_to_names(&self) {
        for name in self.blobs().keys() {
            let path = self.root.join("blobs/sha256").join(name);
            assert_eq!(
                &sha256_file(&path),
                name,
                "blob {} does not hash to its name",
                path.display()
            );
        }
    }

    /// Spawns strata with `STRATA_FAILPOINT=<failpoint>` and waits until it reports reaching it
    /// (`failpoint <name> reached` on stderr); returns the paused child for the test to kill.
    pub fn spawn_at_failpoint(&self, args: &[&str], failpoint: &str) -> Child {
        let mut child = self
            .command(args)
            .env("STRATA_FAILPOINT", failpoint)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn strata");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let want = format!("failpoint {failpoint} reached");
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if line.trim() == want {
                        return child;
                    }
                    seen.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(st) = child.try_wait().unwrap() {
                        let mut out = String::new();
                        child.stdout.take().unwrap().read_to_string(&mut out).ok();
                        panic!(
                            "`strata {}` with STRATA_FAILPOINT={failpoint} exited ({st}) without printing \
                             `{want}`:\nstdout:\n{out}\nstderr:\n{}",
                            args.join(" "),
                            seen.join("\n")
                        );
                    }
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!(
                            "timed out waiting for `{want}`; stderr so far:\n{}",
                            seen.join("\n")
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let st = child.wait().unwrap();
                    panic!(
                        "`strata {}` with STRATA_FAILPOINT={failpoint} closed stderr ({st}) without printing `{want}`; \
                         stderr:\n{}",
                        args.join(" "),
                        seen.join("\n")
                    );
                }
            }
        }
    }
}

/// What [`Store::snapshot`] captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `REPO:TAG ID SIZE` per listed row (`images -a --no-trunc`), sorted.
    pub images: Vec<String>,
    /// Blob name → size.
    pub blobs: BTreeMap<String, u64>,
    /// Files under the data directory other than the database and the lease lock.
    pub files: Vec<String>,
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd {
        let e = e.unwrap();
        let p = e.path();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            walk(base, &p, out);
        } else {
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
        }
    }
}

/// `sha256sum` of a file: the lowercase hex.
pub fn sha256_file(path: &Path) -> String {
    let out = sh("sha256sum", &[path.to_str().unwrap()]);
    out.split_whitespace()
        .next()
        .expect("sha256sum output")
        .to_string()
}

/// `sha256sum` of bytes: the lowercase hex.
pub fn sha256_bytes(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sha256sum");
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let w = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(&data).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    w.join().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Builds a real busybox root in `dir`: `bin/busybox` (a copy of the host's static
/// `/bin/busybox`), one relative symlink per applet as Debian's busybox-static lays them out,
/// and `etc/passwd`, `etc/group`.
pub fn busybox_rootfs(dir: &Path) {
    require("/bin/busybox");
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let bb = dir.join("bin/busybox");
    std::fs::copy("/bin/busybox", &bb).unwrap();
    std::fs::set_permissions(&bb, std::fs::Permissions::from_mode(0o755)).unwrap();
    let list = sh("/bin/busybox", &["--list-full"]);
    for applet in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if applet == "bin/busybox" {
            continue;
        }
        let path = dir.join(applet);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        // relative link to bin/busybox: one `..` per directory level below the root
        let depth = applet.matches('/').count();
        let target = if depth == 0 {
            "bin/busybox".to_string()
        } else if applet.starts_with("bin/") && depth == 1 {
            "busybox".to_string()
        } else {
            format!("{}bin/busybox", "../".repeat(depth))
        };
        if path.symlink_metadata().is_err() {
            std::os::unix::fs::symlink(&target, &path).unwrap();
        }
    }
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("etc/group"),
        "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n",
    )
    .unwrap();
    for d in ["root", "tmp", "var", "home"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::set_permissions(dir.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::set_permissions(dir.join("root"), std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// A deterministic tar of `dir` (sorted names, uid/gid 0, mtime 0) written beside it as
/// `<dir>.tar`; returns its path.
pub fn tar_of(dir: &Path) -> PathBuf {
    let out = PathBuf::from(format!("{}.tar", dir.display()));
    tar_to(dir, &out);
    out
}

/// Like [`tar_of`], to a chosen path.
pub fn tar_to(dir: &Path, out: &Path) {
    sh(
        "tar",
        &[
            "--sort=name",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "--mtime=@0",
            "--format=gnu",
            "-C",
            dir.to_str().unwrap(),
            "-cf",
            out.to_str().unwrap(),
            ".",
        ],
    );
}

/// Deterministic pseudo-random bytes (xorshift64*), incompressible enough to defeat gzip.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    v.truncate(len);
    v
}

/// One entry of a [`tree`] listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A directory and its permission bits.
    Dir(u32),
    /// A regular file: permission bits and a fingerprint of the content.
    File { mode: u32, content: String },
    /// A symlink and its target.
    Symlink(String),
    /// Anything else (device, fifo, socket).
    Other,
}

/// Every path under `dir` (relative) with its kind, content hash and link target.
pub fn tree(dir: &Path) -> BTreeMap<String, Entry> {
    fn go(base: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let ft = md.file_type();
            if ft.is_symlink() {
                out.insert(
                    rel,
                    Entry::Symlink(
                        std::fs::read_link(&p)
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    ),
                );
            } else if ft.is_dir() {
                out.insert(rel, Entry::Dir(md.mode() & 0o7777));
                go(base, &p, out);
            } else if ft.is_file() {
                let data = std::fs::read(&p).unwrap();
                let sha = fingerprint(&data);
                out.insert(
                    rel,
                    Entry::File {
                        mode: md.mode() & 0o7777,
                        content: sha,
                    },
                );
            } else {
                out.insert(rel, Entry::Other);
            }
        }
    }
    let mut out = BTreeMap::new();
    go(dir, dir, &mut out);
    out
}

/// A content fingerprint for tree comparison (not cryptographic: blob digests are always
/// checked with `sha256sum`).
fn fingerprint(data: &[u8]) -> String {
    // FNV-1a 128-bit-ish: two 64-bit lanes plus the length; enough to tell files apart.
    let (mut a, mut b) = (0xcbf2_9ce4_8422_2325u64, 0x8422_2325_cbf2_9ce4u64);
    for (i, &byte) in data.iter().enumerate() {
        a = (a ^ byte as u64).wrapping_mul(0x100_0000_01b3);
        b = (b ^ (byte as u64).wrapping_add(i as u64)).wrapping_mul(0x100_0000_01b3);
    }
    format!("{a:016x}{b:016x}:{}", data.len())
}

/// go-units `HumanSize` (what docker prints): decimal units, `%.3g`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut i = 0;
    while size >= 1000.0 && i < UNITS.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    format!("{}{}", go_g3(size), UNITS[i])
}

/// Go's `%.3g` for 0 <= v < 1000.
fn go_g3(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    // round to 3 significant digits via scientific formatting, then print plainly
    let s = format!("{v:.2e}");
    let (m, e) = s.split_once('e').unwrap();
    let e: i32 = e.parse().unwrap();
    let m: f64 = m.parse().unwrap();
    if e >= 3 {
        let m = format!("{m:.2}");
        let m = m.trim_end_matches('0').trim_end_matches('.');
        return format!("{m}e+{e:02}");
    }
    let decimals = (2 - e).max(0) as usize;
    let r = m * 10f64.powi(e);
    let s = format!("{r:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Splits a docker table line into its cells (cells are separated by two or more spaces).
pub fn cells(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut spaces = 0;
    for c in line.chars() {
        if c == ' ' {
            spaces += 1;
            continue;
        }
        if spaces >= 2 && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        } else if spaces == 1 && !cur.is_empty() {
            cur.push(' ');
        }
        spaces = 0;
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The data rows of a docker table (header dropped), split into cells.
pub fn table_rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(cells)
        .collect()
}

/// The 12-hex short form of `sha256:<hex>`.
pub fn short(id: &str) -> String {
    id.trim_start_matches("sha256:")[..12].to_string()
}

/// Moves the calling thread into a network namespace of its own with `lo` up, so that what
/// it starts from then on (a store's containers with their bridge and veth pairs, a server, a
/// registry, a browser) shares a loopback with this test only. A browser then never sees
/// another test's container networks come and go, which Chromium takes for a change of the
/// host's network and answers by failing its requests in flight and the page it is loading.
/// Needs root, as running containers does.
pub fn own_network() {
    // SAFETY: unshare(2) with CLONE_NEWNET changes the namespaces of this thread only.
    let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        r,
        0,
        "unshare(CLONE_NEWNET): {}",
        std::io::Error::last_os_error()
    );
    let st = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("run ip");
    assert!(st.success(), "ip link set lo up: {st}");
}

/// A fresh store holding `busybox` (imported from [`busybox_rootfs`]), for tests that run
/// containers (needs runc).
pub fn busybox_store() -> Store {
    require("runc");
    let store = Store::new();
    let rootfs = store.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    let tar = tar_of(&rootfs);
    store.ok(&["import", tar.to_str().unwrap(), "busybox"]);
    store
}

/// A server ([`Daemon`]) on a fresh store holding `busybox` (imported through the server from
/// [`busybox_rootfs`]), for tests that run containers through the docker CLI (needs runc).
pub fn busybox_daemon() -> (Store, Daemon) {
    require("runc");
    let store = Store::new();
    let rootfs = store.scratch().join("rootfs");
    busybox_rootfs(&rootfs);
    let tar = tar_of(&rootfs);
    let d = Daemon::start(&store);
    d.ok(&["import", tar.to_str().unwrap(), "busybox"]);
    (store, d)
}

/// Polls `f` every 50 ms until it holds; panics naming `what` after 20 s.
pub fn until(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A TCP port free on the loopback now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The host's `nat` and `filter` rules as `iptables-save` prints them.
pub fn iptables_rules() -> String {
    require("iptables-save");
    sh("iptables-save", &[])
}

/// Whether the host has a network interface of that name.
pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Sends `request` over a new TCP connection to `addr` and returns all it answered (retried
/// for up to 10 s while the connection is refused or reset: a server in a container may not
/// listen yet).
pub fn tcp_exchange(addr: &str, request: &[u8]) -> String {
    use std::io::Write;
    let t = Instant::now();
    loop {
        let r = (|| -> std::io::Result<String> {
            let mut s = std::net::TcpStream::connect(addr)?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(request)?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            if out.is_empty() {
                return Err(std::io::Error::other("empty answer"));
            }
            Ok(out)
        })();
        match r {
            Ok(out) => return out,
            Err(e) if t.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("no answer from {addr}: {e}"),
        }
    }
}

/// The host's mounts (`/proc/self/mounts` lines) whose mount point is under `root`.
pub fn mounts_under(root: &Path) -> Vec<String> {
    let root = root.display().to_string();
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .filter(|l| l.split(' ').nth(1).is_some_and(|m| m.starts_with(&root)))
        .map(str::to_string)
        .collect()
}

/// Runs `program args`, its output discarded, through a small `python3` process that forks
/// it, and prints its `ru_maxrss` (KiB) once it exits with its exit status.
const PEAK_RSS_TRAMPOLINE: &str = r#"
import os, sys
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// The peak resident set of `cmd` run to its end, in bytes: `wait4`'s `ru_maxrss`, the
/// kernel's own high-water mark of that process, whatever the timing. The process is forked
/// from a small `python3` process, not from the test: a child's high-water mark starts with
/// the memory of the process it was forked from (until and across `exec`), which in a test
/// binary is every running test's. Panics unless `cmd` exits 0.
pub fn peak_rss(cmd: &mut std::process::Command, what: &str) -> u64 {
    let mut run = std::process::Command::new("python3");
    run.arg("-c")
        .arg(PEAK_RSS_TRAMPOLINE)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => run.env(k, v),
            None => run.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        run.current_dir(dir);
    }
    let out = run.stdin(std::process::Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let kib: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{what}: ru_maxrss {:?}: {e}", out.stdout));
    kib * 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_match_go_units() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(1234), "1.23kB");
        assert_eq!(human_size(1_999_999), "2MB");
        assert_eq!(human_size(4_270_000), "4.27MB");
        assert_eq!(human_size(12_345_678), "12.3MB");
        assert_eq!(human_size(123_456_789), "123MB");
        assert_eq!(human_size(999_999), "1e+03kB");
    }

    #[test]
    fn cells_split_on_two_spaces() {
        assert_eq!(
            cells("bb           1         abcdef123456   2 seconds ago   2.1MB"),
            ["bb", "1", "abcdef123456", "2 seconds ago", "2.1MB"]
        );
    }
}
