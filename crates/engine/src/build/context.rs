//! The build context: a directory, or a tar stream (`strata build -`, the body of
//! `POST /build`) staged through `layer-apply`'s confined apply. Every path a Dockerfile names
//! is resolved inside the context's root (symlinks included, as Docker's
//! `FollowSymlinkInScope`), and `..` never leaves it.

use crate::containers::random_hex;
use crate::{Engine, EngineError, Result};
use layer_apply::{Observed, ObservedKind};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where a build's files come from.
#[derive(Debug)]
pub struct BuildContext {
    root: PathBuf,
    /// A staged copy, removed when the context is dropped.
    staged: bool,
    /// A Dockerfile given instead of a context (`strata build - < Dockerfile`).
    pub(crate) bare_dockerfile: Option<String>,
    /// The context's size in bytes as received (`Sending build context to Docker daemon`).
    pub size: u64,
    /// The sha256 of each regular file's content, by its path relative to the root (bytes),
    /// computed while a streamed context was staged, so a `COPY`'s cache key does not read
    /// the files again. Only kept for an archive where each path is written once and no
    /// entry is a link (then every path names exactly the bytes hashed); else empty.
    digests: HashMap<Vec<u8>, FileDigest>,
}

/// A staged file's size and content hash.
#[derive(Debug, Clone)]
struct FileDigest {
    size: u64,
    sha256: [u8; 32],
}

/// Hashes the files of a context archive while `layer-apply` stages it.
#[derive(Default)]
struct Hashing {
    digests: HashMap<Vec<u8>, FileDigest>,
    /// The file whose content is streaming.
    current: Option<(Vec<u8>, Sha256, u64)>,
    /// Paths of every entry seen.
    seen: std::collections::HashSet<Vec<u8>>,
    /// A link or a path written twice: the digests are dropped.
    unusable: bool,
}

impl Hashing {
    fn observe(&mut self, o: Observed<'_>) {
        if self.unusable {
            return;
        }
        match o {
            Observed::Data(b) => {
                if let Some((_, h, n)) = &mut self.current {
                    h.update(b);
                    *n += b.len() as u64;
                }
            }
            Observed::Entry { path, kind } => {
                self.end_file();
                if kind == ObservedKind::Indirect || !self.seen.insert(path.to_vec()) {
                    self.unusable = true;
                    self.digests.clear();
                    self.seen.clear();
                    return;
                }
                if kind == ObservedKind::File {
                    self.current = Some((path.to_vec(), Sha256::new(), 0));
                }
            }
        }
    }

    fn end_file(&mut self) {
        if let Some((path, h, size)) = self.current.take() {
            self.digests.insert(
                path,
                FileDigest {
                    size,
                    sha256: h.finalize().into(),
                },
            );
        }
    }

    fn finish(mut self) -> HashMap<Vec<u8>, FileDigest> {
        self.end_file();
        if self.unusable {
            HashMap::new()
        } else {
            self.digests
        }
    }
}

impl Drop for BuildContext {
    fn drop(&mut self) {
        if self.staged {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// One file system object found under a source, as it will be copied.
#[derive(Debug, Clone)]
pub(crate) struct SourceEntry {
    /// Relative to the copied source (`""`: the source itself).
    pub(crate) rel: String,
    /// What it is.
    pub(crate) kind: SourceKind,
    /// Permission bits.
    pub(crate) mode: u32,
    /// Modification time (seconds).
    pub(crate) mtime: i64,
}

/// The kind of a [`SourceEntry`].
#[derive(Debug, Clone)]
pub(crate) enum SourceKind {
    /// A regular file at this host path (inside a context or a layer directory), with the
    /// sha256 of its content when it is already known (hashed while the context was staged).
    File {
        host: PathBuf,
        size: u64,
        sha256: Option<[u8; 32]>,
    },
    /// A directory.
    Dir,
    /// A symbolic link, copied as such.
    Symlink(String),
    /// A regular file of an image (`COPY --from`), read inside the layer directory `root`.
    InLayer {
        root: PathBuf,
        path: String,
        size: u64,
    },
}

/// A normalised context-relative path (`a/b`, `""` for the root), or Docker's refusal for one
/// that climbs out (`../x`, `a/../../x`; named as Docker names it, without a leading `/` or
/// `./`). Paths of the context only: one inside an image is [`clean_in_image`]'s.
pub(crate) fn clean_rel(p: &str) -> Result<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    let shown = p.strip_prefix('/').unwrap_or(p);
                    let shown = shown.strip_prefix("./").unwrap_or(shown);
                    return Err(EngineError::invalid(format!(
                        "forbidden path outside the build context: {shown} ()"
                    )));
                }
            }
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

/// A path inside an image (a `COPY --from` source, a destination, a working directory)
/// normalised as Go's `filepath.Clean` does an absolute one: `.` and empty names dropped, `..`
/// removes the name before it and stays at the root there (`/../etc/passwd` is
/// `/etc/passwd`, `/etc/../../x` is `/x`). Relative, `""` for the root; never an error.
pub(crate) fn clean_in_image(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

pub(crate) fn is_tar_header(b: &[u8]) -> bool {
    if b.len() < 512 {
        return false;
    }
    if &b[257..262] == b"ustar" {
        return true;
    }
    // a v7 tar: the header checksum holds
    let stored = std::str::from_utf8(&b[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 = b[..512]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if (148..156).contains(&i) {
                32
            } else {
                c as u32
            }
        })
        .sum();
    stored == Some(sum) && b[0] != 0
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

/// A tar stream as the docker CLI sends a context with `-f` outside it: its last entry's data
/// is not padded to the block and the end-of-archive blocks are missing (Go's reader, dockerd's,
/// takes it). This follows the entries' sizes through the stream and, when the stream ends
/// exactly at an entry's end (padding aside) or at a header boundary, supplies the padding and
/// the two zero blocks. A stream cut anywhere else still ends early, so a truncated file is
/// still refused.
struct CompleteTar<R> {
    inner: R,
    /// Bytes read from `inner`.
    pos: u64,
    /// Where the next header starts.
    next_header: u64,
    /// Where the current entry's data ends (before its padding).
    data_end: u64,
    header: Vec<u8>,
    /// Bytes still to supply after `inner` ended.
    tail: u64,
    ended: bool,
}

impl<R: Read> CompleteTar<R> {
    fn new(inner: R) -> Self {
        CompleteTar {
            inner,
            pos: 0,
            next_header: 0,
            data_end: 0,
            header: Vec::with_capacity(512),
            tail: 0,
            ended: false,
        }
    }

    /// Follows the bytes just read (`buf`, which started at `start`).
    fn track(&mut self, start: u64, buf: &[u8]) {
        let mut at = start;
        let end = start + buf.len() as u64;
        while at < end {
            if at < self.next_header {
                at = self.next_header.min(end);
                continue;
            }
            // inside a header block
            let off = (at - self.next_header) as usize;
            let take = (512 - off).min((end - at) as usize);
            let from = (at - start) as usize;
            self.header.extend_from_slice(&buf[from..from + take]);
            at += take as u64;
            if self.header.len() == 512 {
                let size = if self.header.iter().all(|b| *b == 0) {
                    0
                } else {
                    header_size(&self.header)
                };
                let data_start = self.next_header + 512;
                self.data_end = data_start + size;
                self.next_header = data_start + size.div_ceil(512) * 512;
                self.header.clear();
            }
        }
    }
}

/// The size field of a tar header (octal, or GNU base-256).
fn header_size(h: &[u8]) -> u64 {
    let f = &h[124..136];
    if f[0] & 0x80 != 0 {
        return f[1..].iter().fold(0u64, |n, b| n << 8 | *b as u64);
    }
    let s: String = f
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    u64::from_str_radix(s.trim(), 8).unwrap_or(0)
}

impl<R: Read> Read for CompleteTar<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.ended {
            let n = self.inner.read(buf)?;
            if n > 0 {
                let start = self.pos;
                self.pos += n as u64;
                self.track(start, &buf[..n]);
                return Ok(n);
            }
            self.ended = true;
            let at_header = self.pos == self.next_header && self.header.is_empty();
            let at_data_end = self.pos >= self.data_end && self.pos < self.next_header;
            if at_header || at_data_end {
                self.tail = (self.next_header - self.pos) + 1024;
            }
        }
        let n = (self.tail.min(buf.len() as u64)) as usize;
        buf[..n].fill(0);
        self.tail -= n as u64;
        Ok(n)
    }
}

impl BuildContext {
    /// A directory used in place. Reads stay inside it.
    pub fn dir(path: &Path) -> Result<BuildContext> {
        let md = fs::metadata(path).map_err(|e| {
            EngineError::invalid(format!(
                "unable to prepare context: path {:?} not found: {e}",
                path.display().to_string()
            ))
        })?;
        if !md.is_dir() {
            return Err(EngineError::invalid(format!(
                "unable to prepare context: context must be a directory: {}",
                path.display()
            )));
        }
        let root = fs::canonicalize(path)
            .map_err(|e| EngineError::io(format!("resolve {}", path.display()), e))?;
        Ok(BuildContext {
            root,
            staged: false,
            bare_dockerfile: None,
            size: 0,
            digests: HashMap::new(),
        })
    }

    /// A context read from a stream: a tar (plain or gzip), extracted through
    /// `layer-apply`'s confined apply into a directory under the data directory; or, when the
    /// stream is not an archive, a Dockerfile alone with an empty context.
    pub fn from_stream(engine: &Engine, r: impl Read) -> Result<BuildContext> {
        let mut r = BufReader::with_capacity(64 * 1024, Counting { inner: r, n: 0 });
        let head = r
            .fill_buf()
            .map_err(|e| EngineError::io("read the build context", e))?;
        let gzip = head.starts_with(&[0x1f, 0x8b]);
        let dir = engine
            .root()
            .join("build")
            .join(format!("context-{}", random_hex(8)?));
        fs::create_dir_all(&dir).map_err(|e| EngineError::io("create the context dir", e))?;
        let mut ctx = BuildContext {
            root: dir.clone(),
            staged: true,
            bare_dockerfile: None,
            size: 0,
            digests: HashMap::new(),
        };
        let mut hashing = Hashing::default();
        let mut observe = |o: Observed<'_>| hashing.observe(o);
        let opts = layer_apply::ApplyOptions {
            mode: layer_apply::Mode::Unpack,
            ..Default::default()
        };
        let applied = if gzip {
            let mut gz = BufReader::new(flate2::read::MultiGzDecoder::new(&mut r));
            let head = gz
                .fill_buf()
                .map_err(|e| EngineError::invalid(format!("read the build context: {e}")))?;
            if !is_tar_header(head) {
                return Err(EngineError::invalid(
                    "the build context is compressed but holds no tar archive",
                ));
            }
            layer_apply::apply_observed(&dir, CompleteTar::new(&mut gz), &opts, &mut observe)
        } else if is_tar_header(head) || head.iter().all(|b| *b == 0) && !head.is_empty() {
            layer_apply::apply_observed(&dir, CompleteTar::new(&mut r), &opts, &mut observe)
        } else {
            let mut text = Vec::new();
            (&mut r)
                .take(16 * 1024 * 1024)
                .read_to_end(&mut text)
                .map_err(|e| EngineError::io("read the Dockerfile", e))?;
            ctx.bare_dockerfile = Some(String::from_utf8(text).map_err(|_| {
                EngineError::invalid("the Dockerfile on standard input is not UTF-8 text")
            })?);
            ctx.size = r.get_ref().n;
            return Ok(ctx);
        };
        applied.map_err(|e| EngineError::invalid(format!("invalid build context: {e}")))?;
        ctx.digests = hashing.finish();
        // whatever follows the archive's end is read, so the sender is never cut off
        let _ = std::io::copy(&mut r, &mut std::io::sink());
        ctx.size = r.get_ref().n;
        Ok(ctx)
    }

    /// The context's root directory on this host.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The text of a file of the context (the Dockerfile, `.dockerignore`), read inside the
    /// context; `None` when it does not exist.
    pub(crate) fn read_text(&self, rel: &str) -> Result<Option<String>> {
        let rel = clean_rel(rel)?;
        match layer_apply::open_in_root(&self.root, &rel) {
            Ok(mut f) => {
                let md = f
                    .metadata()
                    .map_err(|e| EngineError::io(format!("stat {rel}"), e))?;
                if !md.is_file() {
                    return Ok(None);
                }
                if md.len() > 16 * 1024 * 1024 {
                    return Err(EngineError::invalid(format!("{rel}: too large")));
                }
                let mut s = String::new();
                f.read_to_string(&mut s)
                    .map_err(|e| EngineError::invalid(format!("read {rel}: {e}")))?;
                Ok(Some(s))
            }
            Err(e)
                if e.io_error()
                    .and_then(|e| e.raw_os_error())
                    .is_some_and(|c| c == libc::ENOENT || c == libc::ENOTDIR) =>
            {
                Ok(None)
            }
            Err(e) => Err(EngineError::invalid(e.to_string())),
        }
    }

    /// The context-relative path `rel` resolved inside the context (symlinks followed in
    /// scope), as a context-relative path and a host path; `None` when nothing is there.
    fn resolve(&self, rel: &str) -> Result<Option<(String, PathBuf)>> {
        let host = match layer_apply::resolve_in_root(&self.root, rel) {
            Ok(h) => h,
            Err(_) => return Ok(None),
        };
        if fs::symlink_metadata(&host).is_err() {
            return Ok(None);
        }
        let inside = host
            .strip_prefix(&self.root)
            .map_err(|_| EngineError::invalid(format!("{rel}: outside the build context")))?;
        Ok(Some((inside.to_string_lossy().into_owned(), host)))
    }

    /// Every path of the context (relative, sorted, depth first), skipping what `ignored`
    /// says and never following a symlink.
    pub(crate) fn walk_all(&self, ignored: &dyn Fn(&str) -> bool) -> Result<Vec<String>> {
        let mut out = Vec::new();
        walk_paths(&self.root, "", ignored, &mut out)?;
        Ok(out)
    }

    /// The entries of the source `src` (a context-relative path, already cleaned), resolved
    /// inside the context: for a directory every entry under it not ignored. `Ok(None)` when
    /// it does not exist or is ignored.
    pub(crate) fn source(
        &self,
        src: &str,
        ignored: &dyn Fn(&str) -> bool,
    ) -> Result<Option<Vec<SourceEntry>>> {
        if !src.is_empty() && ignored(src) {
            return Ok(None);
        }
        let Some((rel, host)) = self.resolve(src)? else {
            return Ok(None);
        };
        if !rel.is_empty() && ignored(&rel) {
            return Ok(None);
        }
        let mut out = Vec::new();
        entries_of(&host, &rel, "", ignored, &mut out)?;
        if !self.digests.is_empty() {
            for e in &mut out {
                if let SourceKind::File { host, size, sha256 } = &mut e.kind {
                    *sha256 = host
                        .strip_prefix(&self.root)
                        .ok()
                        .and_then(|rel| self.digests.get(rel.as_os_str().as_bytes()))
                        .filter(|d| d.size == *size)
                        .map(|d| d.sha256);
                }
            }
        }
        Ok(Some(out))
    }
}

fn walk_paths(
    dir: &Path,
    rel: &str,
    ignored: &dyn Fn(&str) -> bool,
    out: &mut Vec<String>,
) -> Result<()> {
    for n in sorted_names(dir)? {
        let name = String::from_utf8_lossy(n.as_bytes()).into_owned();
        let p = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let host = dir.join(&n);
        let is_dir = fs::symlink_metadata(&host)
            .map(|m| m.is_dir())
            .unwrap_or(false);
        if !ignored(&p) {
            out.push(p.clone());
        }
        if is_dir {
            walk_paths(&host, &p, ignored, out)?;
        }
    }
    Ok(())
}

/// The entries at `host` (context path `ctx_rel`), their paths relative to the source root
/// (`rel`). Ignored paths are skipped (a directory's ignored children are, though the
/// directory may still hold exceptions: Docker walks into it).
fn entries_of(
    host: &Path,
    ctx_rel: &str,
    rel: &str,
    ignored: &dyn Fn(&str) -> bool,
    out: &mut Vec<SourceEntry>,
) -> Result<()> {
    let md = fs::symlink_metadata(host)
        .map_err(|e| EngineError::io(format!("stat {}", host.display()), e))?;
    let ft = md.file_type();
    let kind = if ft.is_dir() {
        SourceKind::Dir
    } else if ft.is_symlink() {
        let t = fs::read_link(host)
            .map_err(|e| EngineError::io(format!("readlink {}", host.display()), e))?;
        SourceKind::Symlink(t.to_string_lossy().into_owned())
    } else if ft.is_file() {
        SourceKind::File {
            host: host.to_path_buf(),
            size: md.len(),
            sha256: None,
        }
    } else {
        // sockets, devices and FIFOs of a context are left out, as Docker's archiver does
        return Ok(());
    };
    let is_dir = matches!(kind, SourceKind::Dir);
    out.push(SourceEntry {
        rel: rel.to_string(),
        kind,
        mode: md.mode() & 0o7777,
        mtime: md.mtime(),
    });
    if is_dir {
        for n in sorted_names(host)? {
            let name = String::from_utf8_lossy(n.as_bytes()).into_owned();
            let c = if ctx_rel.is_empty() {
                name.clone()
            } else {
                format!("{ctx_rel}/{name}")
            };
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let child = host.join(&n);
            if ignored(&c) {
                // an ignored directory is still walked for exceptions (`!keep.log` below it)
                if fs::symlink_metadata(&child).is_ok_and(|m| m.is_dir()) {
                    let mut inner = Vec::new();
                    entries_of(&child, &c, &r, ignored, &mut inner)?;
                    if inner.len() > 1 {
                        out.extend(inner);
                    }
                }
                continue;
            }
            entries_of(&child, &c, &r, ignored, out)?;
        }
    }
    Ok(())
}

/// Go's `filepath.Match` on `/`-separated paths: `*` within one component, `?`, `[a-z]`,
/// `[^…]`, `\` escapes.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn m(p: &[char], n: &[char]) -> bool {
        if p.is_empty() {
            return n.is_empty();
        }
        match p[0] {
            '*' => {
                let mut i = 0;
                loop {
                    if m(&p[1..], &n[i..]) {
                        return true;
                    }
                    if i >= n.len() || n[i] == '/' {
                        return false;
                    }
                    i += 1;
                }
            }
            '?' => !n.is_empty() && n[0] != '/' && m(&p[1..], &n[1..]),
            '[' => {
                if n.is_empty() || n[0] == '/' {
                    return false;
                }
                let c = n[0];
                let mut i = 1;
                let negate = i < p.len() && (p[i] == '^' || p[i] == '!');
                if negate {
                    i += 1;
                }
                let mut matched = false;
                let mut first = true;
                while i < p.len() && (first || p[i] != ']') {
                    first = false;
                    let mut lo = p[i];
                    if lo == '\\' && i + 1 < p.len() {
                        i += 1;
                        lo = p[i];
                    }
                    let mut hi = lo;
                    if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                        hi = p[i + 2];
                        i += 2;
                    }
                    if lo <= c && c <= hi {
                        matched = true;
                    }
                    i += 1;
                }
                if i >= p.len() {
                    return false;
                }
                matched != negate && m(&p[i + 1..], &n[1..])
            }
            '\\' if p.len() > 1 => !n.is_empty() && n[0] == p[1] && m(&p[2..], &n[1..]),
            c => !n.is_empty() && n[0] == c && m(&p[1..], &n[1..]),
        }
    }
    m(&p, &n)
}

/// True when `s` holds a wildcard (`*`, `?`, `[`).
pub(crate) fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The names in `dir`, sorted (the context's walks are in name order).
fn sorted_names(dir: &Path) -> Result<Vec<std::ffi::OsString>> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(|e| EngineError::io(format!("read {}", dir.display()), e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_filepath_match() {
        assert!(glob_match("*.sh", "app.sh"));
        assert!(!glob_match("*.sh", "dir/app.sh"));
        assert!(glob_match("dir/*.sh", "dir/app.sh"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[^a-c]x", "bx"));
        assert!(glob_match("\\*", "*"));
        assert!(!glob_match("*", "a/b"));
    }

    fn entry(name: &str, data: &[u8]) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.set_path(name).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        let mut v = h.as_bytes().to_vec();
        v.extend_from_slice(data);
        v
    }

    fn completed(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        CompleteTar::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn a_tar_missing_its_last_padding_and_end_is_completed_and_a_cut_one_is_not() {
        // as the docker CLI sends a context with `-f` outside it
        let mut t = entry("Dockerfile", b"FROM x\n");
        t.resize(1024, 0);
        t.extend(entry(".dockerfile.1", b"FROM busybox\n"));
        let out = completed(&t).unwrap();
        assert_eq!(out.len(), 1024 + 1024 + 1024);
        let mut a = tar::Archive::new(&out[..]);
        let names: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["Dockerfile", ".dockerfile.1"]);
        // ended at a header boundary: only the end blocks are added
        assert_eq!(completed(&t[..1024]).unwrap().len(), 2048);
        // cut inside a file's data or inside a header: nothing is added, the reader sees the cut
        assert_eq!(completed(&t[..1030]).unwrap().len(), 1030);
        assert_eq!(completed(&t[..1500]).unwrap().len(), 1500);
        assert_eq!(completed(&t[..1540]).unwrap().len(), 1540);
        // a well-formed tar passes unchanged
        let mut whole = t.clone();
        whole.resize(2048, 0);
        whole.extend([0u8; 1024]);
        assert_eq!(completed(&whole).unwrap().len(), whole.len() + 1024);
    }

    fn padded(name: &str, data: &[u8]) -> Vec<u8> {
        let mut v = entry(name, data);
        v.resize(v.len().div_ceil(512) * 512, 0);
        v
    }

    fn staged(t: &[u8]) -> BuildContext {
        let root = tempfile::tempdir().unwrap();
        let engine = Engine::open(root.path()).unwrap();
        let ctx = BuildContext::from_stream(&engine, t).unwrap();
        std::mem::forget(root); // the context directory lives in it
        ctx
    }

    #[test]
    fn a_streamed_context_is_hashed_while_staged_unless_a_path_is_written_twice_or_linked() {
        use sha2::Digest as _;
        let mut t = padded("Dockerfile", b"FROM x\n");
        t.extend(padded("data/a", b"alpha"));
        let mut plain = t.clone();
        plain.extend([0u8; 1024]);
        let ctx = staged(&plain);
        let none = |_: &str| false;
        let src = ctx.source("data/a", &none).unwrap().unwrap();
        match &src[0].kind {
            SourceKind::File { sha256, size, .. } => {
                assert_eq!(*size, 5);
                assert_eq!(sha256.unwrap(), <[u8; 32]>::from(Sha256::digest(b"alpha")));
            }
            other => panic!("{other:?}"),
        }
        // the same path twice: no hash is trusted, the file is read
        let mut twice = t.clone();
        twice.extend(padded("data/a", b"omega"));
        twice.extend([0u8; 1024]);
        let ctx = staged(&twice);
        let src = ctx.source("data/a", &none).unwrap().unwrap();
        assert!(matches!(
            &src[0].kind,
            SourceKind::File { sha256: None, .. }
        ));
        assert_eq!(fs::read(ctx.root().join("data/a")).unwrap(), b"omega");
    }

    #[test]
    fn climbing_out_is_refused() {
        assert_eq!(clean_rel("./a/../b/").unwrap(), "b");
        assert_eq!(clean_rel("/abs/x").unwrap(), "abs/x");
        let e = clean_rel("../secret").unwrap_err().to_string();
        assert_eq!(e, "forbidden path outside the build context: ../secret ()");
        assert!(clean_rel("a/../../x").is_err());
        // named as Docker names it: no leading `/` or `./`
        let e = clean_rel("/../x").unwrap_err().to_string();
        assert_eq!(e, "forbidden path outside the build context: ../x ()");
        let e = clean_rel("./../x").unwrap_err().to_string();
        assert_eq!(e, "forbidden path outside the build context: ../x ()");
    }

    #[test]
    fn a_path_in_an_image_climbs_no_higher_than_its_root() {
        assert_eq!(clean_in_image("/../etc/passwd"), "etc/passwd");
        assert_eq!(clean_in_image("/etc/../../no-such-file"), "no-such-file");
        assert_eq!(clean_in_image("../../.."), "");
        assert_eq!(clean_in_image("/"), "");
        assert_eq!(clean_in_image("/a/./b//c/.."), "a/b");
        assert_eq!(clean_in_image("/srv/app/../../../../x/"), "x");
    }

    #[test]
    fn a_symlink_out_of_the_context_resolves_inside_it() {
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc", d.path().join("etc-link")).unwrap();
        let ctx = BuildContext::dir(d.path()).unwrap();
        let none = |_: &str| false;
        // `etc-link/passwd` is `<ctx>/etc/passwd`, which does not exist
        assert!(ctx.source("etc-link/passwd", &none).unwrap().is_none());
        assert!(ctx.read_text("etc-link/passwd").unwrap().is_none());
        // the link itself is copied as a link
        let e = ctx.source("", &none).unwrap().unwrap();
        assert!(e.iter().any(
            |e| e.rel == "etc-link" && matches!(&e.kind, SourceKind::Symlink(t) if t == "/etc")
        ));
    }
}
