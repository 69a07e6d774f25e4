//! The one tar writer ([`TarWriter`]: names as bytes, PAX where ustar cannot hold a value) and
//! the encoding of a [`Changeset`] as a deterministic layer tar through it.

use crate::model::canonical_cmp;
use crate::name::{name_bytes, name_from_bytes};
use crate::path::{base_name, join, parent_path, OPAQUE_MARKER, WHITEOUT_PREFIX};
use crate::{Changeset, Content, DiffError, Entry, EntryKind};
use oci_model::Sha256Writer;
use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read, Write};

/// Largest value of an 8-byte octal header field (mode, uid, gid, device numbers).
const MAX_OCTAL_8: u64 = 0o7777777;
/// Largest value of a 12-byte octal header field (size, mtime).
const MAX_OCTAL_12: u64 = 0o77777777777;

/// Writes `cs` as a layer tar and returns the writer.
///
/// The output depends only on the changeset: entries go in canonical order (see
/// [`Changeset::sort`]; a hardlink whose target is a later entry of the same changeset is
/// moved to just after its target, so extraction always finds the target), and each entry is
/// written by [`TarWriter`] (ustar headers with empty user/group names, PAX records only where
/// ustar cannot hold a value). Directories are named `dir/` (the root `./`).
///
/// Inline contents are written as they are; for a digest-only file `contents` is asked for
/// the bytes, which must match the entry's size and digest. The changeset is validated first
/// ([`Changeset::validate`]); on an error after that, `w` holds a partial archive.
pub fn write_changeset<'c, W: Write>(
    cs: &Changeset,
    contents: &dyn Fn(&Entry) -> Option<Box<dyn Read + 'c>>,
    w: W,
) -> Result<W, DiffError> {
    cs.validate()?;
    let order = emission_order(cs)?;
    let mut tw = TarWriter::new(w);
    for e in order {
        let name = tar_name(e);
        let name = name_bytes(&name);
        let (kind, size, link) = match &e.kind {
            EntryKind::File { size, .. } => (TarKind::File, *size, None),
            EntryKind::Dir => (TarKind::Dir, 0, None),
            EntryKind::Symlink { target } => (TarKind::Symlink, 0, Some(name_bytes(target))),
            EntryKind::Hardlink { target } => (TarKind::Hardlink, 0, Some(name_bytes(target))),
            EntryKind::CharDevice { major, minor } => {
                (TarKind::CharDevice(*major, *minor), 0, None)
            }
            EntryKind::BlockDevice { major, minor } => {
                (TarKind::BlockDevice(*major, *minor), 0, None)
            }
            EntryKind::Fifo => (TarKind::Fifo, 0, None),
            EntryKind::Whiteout | EntryKind::Opaque => (TarKind::File, 0, None),
        };
        let header = TarHeader {
            name: &name,
            kind,
            link: link.as_deref().unwrap_or_default(),
            mode: e.mode,
            uid: u64::from(e.uid),
            gid: u64::from(e.gid),
            size,
            mtime: e.mtime,
            xattrs: e
                .xattrs
                .iter()
                .map(|(k, v)| (k.as_bytes(), v.as_slice()))
                .collect(),
        };
        let at = |err: DiffError| match err {
            DiffError::InvalidEntry { reason, .. } => DiffError::entry(&e.path, reason),
            other => other,
        };
        match &e.kind {
            EntryKind::File {
                content: Content::Inline(bytes),
                ..
            } => {
                tw.append(&header, bytes.as_slice()).map_err(at)?;
            }
            EntryKind::File {
                size,
                content: Content::Digest(digest),
            } => {
                let reader = contents(e).ok_or_else(|| DiffError::MissingContent {
                    path: e.path.clone(),
                    digest: digest.clone(),
                })?;
                let mut checked = Checked {
                    inner: reader,
                    hasher: Sha256Writer::new(),
                    left: *size,
                };
                tw.append(&header, &mut checked).map_err(at)?;
                let mismatch = |reason: String| DiffError::ContentMismatch {
                    path: e.path.clone(),
                    reason,
                };
                let got = checked.hasher.len();
                if got != *size {
                    return Err(mismatch(format!("want {size} bytes, got {got}")));
                }
                let mut extra = [0u8; 1];
                if checked.inner.read(&mut extra)? != 0 {
                    return Err(mismatch(format!("more than {size} bytes")));
                }
                let actual = checked.hasher.finish();
                if actual != *digest {
                    return Err(mismatch(format!("want {digest}, got {actual}")));
                }
            }
            _ => {
                tw.append(&header, io::empty()).map_err(at)?;
            }
        }
    }
    tw.finish()
}

/// What a tar entry is, for [`TarHeader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TarKind {
    /// A regular file (also a whiteout or an opaque marker: an empty file by its name).
    File,
    /// A directory.
    Dir,
    /// A symbolic link to [`TarHeader::link`].
    Symlink,
    /// A hard link to the earlier entry named [`TarHeader::link`].
    Hardlink,
    /// A character device (major, minor).
    CharDevice(u32, u32),
    /// A block device (major, minor).
    BlockDevice(u32, u32),
    /// A named pipe.
    Fifo,
}

/// One entry's header as [`TarWriter`] writes it. Names are bytes, as on disk: any byte but
/// NUL, whatever its length; a directory's name ends in `/` by the caller's choice.
#[derive(Debug, Clone)]
pub struct TarHeader<'a> {
    /// The entry's name as it goes in the tar (`etc/`, `etc/passwd`, `etc/.wh.x`).
    pub name: &'a [u8],
    /// The entry's type.
    pub kind: TarKind,
    /// The link target of a symlink or hardlink (empty otherwise).
    pub link: &'a [u8],
    /// Permission bits plus setuid, setgid and sticky.
    pub mode: u32,
    /// Numeric owner.
    pub uid: u64,
    /// Numeric group.
    pub gid: u64,
    /// Bytes of content that follow (0 but for regular files).
    pub size: u64,
    /// Modification time, seconds since the Unix epoch (negative kept, in PAX).
    pub mtime: i64,
    /// Extended attributes (name, value), written as `SCHILY.xattr.<name>` records.
    pub xattrs: Vec<(&'a [u8], &'a [u8])>,
}

/// The one tar writer of the project: every tar of entries from a changeset or from a
/// directory tree (layer tars, `pack_dir`, `export`, `cp` out of a container) is written by it,
/// so names are written the same way everywhere.
///
/// Each entry is a ustar header with empty user/group names, preceded by a PAX header (named
/// `<dir>/PaxHeaders.0/<name>`, mode 0644, mtime 0, records sorted by key) only when something
/// does not fit ustar: a name or link target longer than ustar allows or not ASCII (the exact
/// bytes then go in the `path`/`linkpath` records, as Go's writer puts them), a uid/gid/size/
/// mtime out of the octal fields' range (a negative mtime included), or xattrs. The same
/// header always gives the same bytes.
pub struct TarWriter<W> {
    inner: W,
    written: u64,
    buf: Vec<u8>,
}

impl<W: Write> TarWriter<W> {
    /// A writer that appends entries to `inner`.
    pub fn new(inner: W) -> Self {
        TarWriter {
            inner,
            written: 0,
            buf: Vec::new(),
        }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The writer underneath (to flush it, say); writing to it directly breaks the archive.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Appends an entry: its headers, then exactly `h.size` bytes read from `data` (zeros when
    /// `data` ends early, so the archive stays well-formed), padded to a block. Returns how
    /// many bytes `data` gave (at most `h.size`); the caller decides whether a short read is
    /// an error.
    pub fn append(&mut self, h: &TarHeader<'_>, mut data: impl Read) -> Result<u64, DiffError> {
        let head = header_blocks(h)?;
        self.write(&head)?;
        if h.size == 0 {
            return Ok(0);
        }
        if self.buf.is_empty() {
            self.buf = vec![0; COPY_BUF];
        }
        let mut left = h.size;
        let mut got = 0u64;
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(COPY_BUF);
            let n = match data.read(&mut self.buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            self.inner.write_all(&self.buf[..n])?;
            self.written += n as u64;
            left -= n as u64;
            got += n as u64;
        }
        // Short data: zeros up to the declared size.
        while left > 0 {
            let n = usize::try_from(left).unwrap_or(usize::MAX).min(ZEROS.len());
            self.write(&ZEROS[..n])?;
            left -= n as u64;
        }
        self.pad(h.size)?;
        Ok(got)
    }

    /// Ends the archive (two zero blocks) and returns the writer.
    pub fn finish(mut self) -> Result<W, DiffError> {
        self.write(&ZEROS[..1024])?;
        Ok(self.inner)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Zeros up to the next 512-byte block after `len` bytes of content.
    fn pad(&mut self, len: u64) -> io::Result<()> {
        let pad = ((512 - len % 512) % 512) as usize;
        self.write(&ZEROS[..pad])
    }
}

/// The header blocks [`TarWriter::append`] writes in front of an entry's content: the PAX
/// header and its records when needed, then the ustar header. For a caller that streams the
/// content itself (it must then write exactly `h.size` bytes and pad them to a 512-byte block).
pub fn header_blocks(h: &TarHeader<'_>) -> Result<Vec<u8>, DiffError> {
    let shown = || name_from_bytes(h.name).into_owned();
    if h.name.is_empty() {
        return Err(DiffError::entry("", "empty name"));
    }
    if h.name.contains(&0) || h.link.contains(&0) {
        return Err(DiffError::entry(&shown(), "NUL byte in a name"));
    }
    let (header, pax) = ustar_header(h).map_err(|reason| DiffError::entry(&shown(), reason))?;
    let mut out = Vec::with_capacity(1024);
    if !pax.is_empty() {
        let records = pax_records(&pax);
        let mut ph = tar::Header::new_ustar();
        {
            let u = ph.as_ustar_mut().expect("ustar header");
            put_str(&mut u.name, &pax_name(&name_from_bytes(h.name)));
            put_octal(&mut u.mode, 0o644);
            put_octal(&mut u.uid, 0);
            put_octal(&mut u.gid, 0);
            put_octal(&mut u.size, records.len() as u64);
            put_octal(&mut u.mtime, 0);
            u.typeflag = [b'x'];
        }
        ph.set_cksum();
        out.extend_from_slice(ph.as_bytes());
        out.extend_from_slice(&records);
        out.resize(out.len().next_multiple_of(512), 0);
    }
    out.extend_from_slice(header.as_bytes());
    Ok(out)
}

/// Content is copied through a buffer of this size.
const COPY_BUF: usize = 256 * 1024;
static ZEROS: [u8; 4096] = [0; 4096];

/// Reads at most `left` bytes from `inner`, hashing them.
struct Checked<'c> {
    inner: Box<dyn Read + 'c>,
    hasher: Sha256Writer,
    left: u64,
}

impl Read for Checked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if max == 0 {
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..max])?;
        self.hasher.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

/// Canonical order, with each hardlink whose target is an entry of this changeset not yet
/// emitted moved to just after that target.
fn emission_order(cs: &Changeset) -> Result<Vec<&Entry>, DiffError> {
    let mut sorted: Vec<&Entry> = cs.entries.iter().collect();
    sorted.sort_by(|a, b| canonical_cmp(a, b));
    let present: HashSet<&str> = sorted
        .iter()
        .filter(|e| !e.is_marker())
        .map(|e| e.path.as_str())
        .collect();
    struct Order<'a> {
        out: Vec<&'a Entry>,
        emitted: HashSet<&'a str>,
        deferred: BTreeMap<&'a str, Vec<&'a Entry>>,
    }
    fn emit<'a>(e: &'a Entry, o: &mut Order<'a>) {
        o.out.push(e);
        if e.is_marker() {
            return;
        }
        o.emitted.insert(&e.path);
        for link in o.deferred.remove(e.path.as_str()).unwrap_or_default() {
            emit(link, o);
        }
    }
    let mut o = Order {
        out: Vec::with_capacity(sorted.len()),
        emitted: HashSet::new(),
        deferred: BTreeMap::new(),
    };
    for e in sorted {
        if let EntryKind::Hardlink { target } = &e.kind {
            if *target == e.path {
                return Err(DiffError::entry(&e.path, "hardlink to itself"));
            }
            if present.contains(target.as_str()) && !o.emitted.contains(target.as_str()) {
                o.deferred.entry(target.as_str()).or_default().push(e);
                continue;
            }
        }
        emit(e, &mut o);
    }
    if let Some(links) = o.deferred.values().next() {
        return Err(DiffError::entry(&links[0].path, "hardlinks form a cycle"));
    }
    Ok(o.out)
}

/// The name an entry has in the tar.
fn tar_name(e: &Entry) -> String {
    match e.kind {
        EntryKind::Dir if e.path.is_empty() => "./".to_string(),
        EntryKind::Dir => format!("{}/", e.path),
        EntryKind::Opaque => join(&e.path, OPAQUE_MARKER),
        EntryKind::Whiteout => join(
            parent_path(&e.path).unwrap_or(""),
            &format!("{WHITEOUT_PREFIX}{}", base_name(&e.path)),
        ),
        _ => e.path.clone(),
    }
}

/// The name of the PAX header that precedes an entry: `<dir>/PaxHeaders.0/<base>`, ASCII,
/// cut to 100 bytes.
fn pax_name(name: &str) -> String {
    let trimmed = name.trim_end_matches('/');
    let (dir, base) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    let full = if dir.is_empty() {
        format!("PaxHeaders.0/{base}")
    } else {
        format!("{dir}/PaxHeaders.0/{base}")
    };
    ascii_prefix(&full, 100)
}

/// The ASCII characters of `s` (others become `_`), cut to `max` bytes.
fn ascii_prefix(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_ascii() && c != '\0' { c } else { '_' })
        .take(max)
        .collect()
}

/// PAX records by key, in the order they are written.
type PaxMap = BTreeMap<Vec<u8>, Vec<u8>>;

/// The ustar header of an entry plus the PAX records it needs, or why it cannot be written.
fn ustar_header(h: &TarHeader<'_>) -> Result<(tar::Header, PaxMap), String> {
    let mut pax = PaxMap::new();
    let mut header = tar::Header::new_ustar();
    let u = header.as_ustar_mut().expect("ustar header");

    match split_ustar_name(h.name) {
        Some((prefix, rest)) => {
            put_str(&mut u.prefix, prefix);
            put_str(&mut u.name, rest);
        }
        None => {
            put_str(&mut u.name, &ascii_prefix(&name_from_bytes(h.name), 100));
            // Too long or not ASCII: the name's bytes go to PAX, as Go's writer puts them.
            pax.insert(b"path".to_vec(), h.name.to_vec());
        }
    }

    let (typeflag, link) = match h.kind {
        TarKind::File => (b'0', None),
        TarKind::Dir => (b'5', None),
        TarKind::Symlink => (b'2', Some(h.link)),
        TarKind::Hardlink => (b'1', Some(h.link)),
        TarKind::CharDevice(..) => (b'3', None),
        TarKind::BlockDevice(..) => (b'4', None),
        TarKind::Fifo => (b'6', None),
    };
    u.typeflag = [typeflag];
    if let Some(link) = link {
        if link.is_ascii() && link.len() <= 100 {
            put_str(&mut u.linkname, std::str::from_utf8(link).expect("ascii"));
        } else {
            put_str(&mut u.linkname, &ascii_prefix(&name_from_bytes(link), 100));
            pax.insert(b"linkpath".to_vec(), link.to_vec());
        }
    }

    put_octal(&mut u.mode, u64::from(h.mode & 0o7777));
    for (field, key, value) in [(&mut u.uid, "uid", h.uid), (&mut u.gid, "gid", h.gid)] {
        if value <= MAX_OCTAL_8 {
            put_octal(field, value);
        } else {
            put_octal(field, 0);
            pax.insert(key.into(), value.to_string().into_bytes());
        }
    }
    if h.size <= MAX_OCTAL_12 {
        put_octal(&mut u.size, h.size);
    } else {
        put_octal(&mut u.size, 0);
        pax.insert(b"size".to_vec(), h.size.to_string().into_bytes());
    }
    match u64::try_from(h.mtime) {
        Ok(mtime) if mtime <= MAX_OCTAL_12 => put_octal(&mut u.mtime, mtime),
        _ => {
            put_octal(&mut u.mtime, 0);
            pax.insert(b"mtime".to_vec(), h.mtime.to_string().into_bytes());
        }
    }
    if let TarKind::CharDevice(major, minor) | TarKind::BlockDevice(major, minor) = h.kind {
        for (field, value) in [(&mut u.dev_major, major), (&mut u.dev_minor, minor)] {
            if u64::from(value) > MAX_OCTAL_8 {
                return Err(format!("device number {value} does not fit a tar header"));
            }
            put_octal(field, u64::from(value));
        }
    }
    for (name, value) in &h.xattrs {
        let mut key = b"SCHILY.xattr.".to_vec();
        key.extend_from_slice(name);
        pax.insert(key, value.to_vec());
    }
    header.set_cksum();
    Ok((header, pax))
}

/// Splits a name into ustar's `prefix` (≤155 bytes) and `name` (≤100 bytes) at a `/`, using
/// the shortest prefix that works; `None` when the name must go to PAX.
fn split_ustar_name(name: &[u8]) -> Option<(&str, &str)> {
    let name = std::str::from_utf8(name).ok().filter(|n| n.is_ascii())?;
    if name.len() <= 100 {
        return Some(("", name));
    }
    name.match_indices('/')
        .map(|(i, _)| (&name[..i], &name[i + 1..]))
        .find(|(prefix, rest)| rest.len() <= 100 && !rest.is_empty() && prefix.len() <= 155)
}

/// Writes `s` into a NUL-padded field (callers ensure it fits).
fn put_str(field: &mut [u8], s: &str) {
    field.fill(0);
    field[..s.len()].copy_from_slice(s.as_bytes());
}

/// Writes `value` as zero-padded octal followed by a NUL (callers ensure it fits).
fn put_octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    field[..width].copy_from_slice(text.as_bytes());
    field[width] = 0;
}

/// PAX records, `"<len> <key>=<value>\n"` each, in key order.
fn pax_records(pax: &PaxMap) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in pax {
        let body = key.len() + value.len() + 3; // ' ', '=', '\n'
        let mut len = body + 1;
        while body + len.to_string().len() != len {
            len = body + len.to_string().len();
        }
        out.extend_from_slice(format!("{len} ").as_bytes());
        out.extend_from_slice(key);
        out.push(b'=');
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out
}
