//! Decoding a layer tar into a [`Changeset`].

use crate::header::{EntryHeaders, HeaderTap};
use crate::name::{check_name, name_from_bytes, NameClass};
use crate::path::{normalize_path, parse_tar_name, TarName};
use crate::{Changeset, Content, DiffError, Entry, EntryContent, EntryKind, TarHeader, TarKind};
use oci_model::Sha256Writer;
use std::collections::BTreeMap;
use std::io::{self, Read};
use tar::EntryType;

/// How [`read_changeset_with`] treats file contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Files of at most this many bytes keep their content inline ([`Content::Inline`]);
    /// larger ones are hashed while streaming and keep only their digest
    /// ([`Content::Digest`]). Empty files are always inline.
    pub keep_content_up_to: u64,
}

impl Default for ReadOptions {
    /// Keeps files of up to 4 KiB inline.
    fn default() -> Self {
        ReadOptions {
            keep_content_up_to: 4096,
        }
    }
}

/// Reads a layer tar with the default [`ReadOptions`].
pub fn read_changeset<R: Read>(r: R) -> Result<Changeset, DiffError> {
    read_changeset_with(r, &ReadOptions::default())
}

/// Reads a layer tar (ustar, PAX or GNU; long names either way) into a changeset in
/// canonical order.
///
/// Names are bytes, checked by [`check_name`](crate::check_name) and carried in the paths as
/// [`name_from_bytes`](crate::name_from_bytes) gives them (link targets too), then normalised
/// (`./a/` → `a`, `/etc/x` → `etc/x`); a name or hardlink target whose `..` climbs above the
/// root is an error, and an entry naming the root that is not a directory, or AUFS metadata, is
/// skipped. `<dir>/.wh.<name>` becomes a [`EntryKind::Whiteout`] at `<dir>/<name>`,
/// `<dir>/.wh..wh..opq` an [`EntryKind::Opaque`] at `<dir>`, other `.wh..wh.*` names are skipped
/// and `.wh.` alone is an error; a 0:0 character device is a whiteout of its path
/// ([`EntryKind::char_device`]). The entries then apply in the order the tar lists them
/// ([`Changeset::from_tar_order`]): when a name occurs twice the later entry wins, a
/// non-directory replacing a directory drops what the layer put under it, and a name whose
/// parent goes through a symlink the layer made earlier lands where the link leads, inside the
/// root, as when extracting. PAX global headers are skipped; uid, gid, size, mtime,
/// path, linkpath and `SCHILY.xattr.*` records are honoured. User and group names are not kept.
/// A GNU sparse file (old-GNU, or PAX in GNU tar's formats 0.0, 0.1 and 1.0: [`EntryContent`])
/// is read expanded, at its real size, its holes zeros.
pub fn read_changeset_with<R: Read>(r: R, options: &ReadOptions) -> Result<Changeset, DiffError> {
    // PAX records are read by their length, names as ingest's checker takes them
    // (`crate::header`), not as the `tar` crate would.
    let tap = HeaderTap::new();
    let mut archive = tar::Archive::new(tap.reader(r));
    let mut entries = archive
        .entries()
        .map_err(|e| DiffError::read("opening the archive", e))?;
    let mut cs = Changeset::new();
    while let Some(item) = tap.next(&mut entries) {
        let (mut te, heads) = item.map_err(|e| DiffError::read("reading the next header", e))?;
        read_entry(&mut te, &heads, options, &mut cs)?;
        // The tap needs each entry's data read to its end before the next header.
        io::copy(&mut te, &mut io::sink())
            .map_err(|e| DiffError::read("skipping entry data", e))?;
    }
    // Entries apply in the order the tar lists them (the last for a name wins, names go
    // through the layer's earlier symlinks), as `layer-apply` unpacks them.
    Ok(Changeset::from_tar_order(cs.entries))
}

/// Reads one entry into `cs` (or skips it).
fn read_entry<R: Read>(
    te: &mut tar::Entry<'_, R>,
    heads: &EntryHeaders,
    options: &ReadOptions,
    cs: &mut Changeset,
) -> Result<(), DiffError> {
    let ty = heads.header.entry_type();
    if ty.is_pax_global_extensions() {
        return Ok(());
    }
    let raw_bytes = heads.path.clone();
    let is_dir = ty == EntryType::Directory
        || (matches!(
            ty,
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse
        ) && raw_bytes.ends_with(b"/"));
    let Some(named) = Named::of(&raw_bytes, is_dir)? else {
        return Ok(());
    };
    let raw = &named.raw;
    let pax = pax_records(heads, raw)?;
    let header = &heads.header;
    let bad = |e: io::Error| DiffError::read(format!("entry {raw:?}"), e);
    let old = header.as_old();
    let mode = numeric_as_go(header.mode().map(u64::from), &old.mode).map_err(bad)? as u32 & 0o7777;
    let uid = id(heads.uid().map_err(bad)?, raw, "uid")?;
    let gid = id(heads.gid().map_err(bad)?, raw, "gid")?;
    let mtime = match pax.get("mtime") {
        Some(value) => pax_time(value).ok_or_else(|| {
            DiffError::entry(
                raw,
                format!("bad PAX mtime {:?}", String::from_utf8_lossy(value)),
            )
        })?,
        None => i64::try_from(numeric_as_go(header.mtime(), &old.mtime).map_err(bad)?)
            .map_err(|_| DiffError::entry(raw, "mtime out of range"))?,
    };
    let xattrs: BTreeMap<String, Vec<u8>> = pax
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(XATTR_PREFIX)?.to_string(), v.clone())))
        .collect();
    let device = || -> Result<(u32, u32), DiffError> {
        let major = header.device_major().map_err(bad)?.unwrap_or(0);
        let minor = header.device_minor().map_err(bad)?.unwrap_or(0);
        Ok((major, minor))
    };
    // A marker's name decides what it is, whatever its type flag.
    let kind = match ty {
        _ if named.marker.is_some() => TarKind::File,
        _ if is_dir => TarKind::Dir,
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => TarKind::File,
        EntryType::Directory => TarKind::Dir,
        EntryType::Symlink => TarKind::Symlink,
        EntryType::Link => TarKind::Hardlink,
        EntryType::Char => {
            let (major, minor) = device()?;
            TarKind::CharDevice(major, minor)
        }
        EntryType::Block => {
            let (major, minor) = device()?;
            TarKind::BlockDevice(major, minor)
        }
        EntryType::Fifo => TarKind::Fifo,
        other => {
            return Err(DiffError::UnsupportedType {
                path: raw.clone(),
                type_flag: other.as_byte() as char,
            })
        }
    };
    let meta = Meta {
        mode,
        uid,
        gid,
        mtime,
        xattrs,
    };
    named.push(cs, kind, &heads.link, meta, |raw| {
        read_file(te, heads, raw, options)
    })
}

/// An entry's name read by the changeset's rules: its path, and the marker (whiteout,
/// opaque) the name makes it.
struct Named {
    /// The name as written (not UTF-8 escaped, see `crate::name`), for messages.
    raw: String,
    path: String,
    marker: Option<EntryKind>,
}

/// The metadata of an entry, as the changeset keeps it.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    xattrs: BTreeMap<String, Vec<u8>>,
}

impl Named {
    /// `None` for an entry that is skipped: the root named by a non-directory (or by
    /// nothing), AUFS metadata, other `.wh..wh.*` names.
    fn of(raw_bytes: &[u8], is_dir: bool) -> Result<Option<Named>, DiffError> {
        // Names are bytes; one that is not UTF-8 is carried escaped (see `crate::name`).
        let raw = name_from_bytes(raw_bytes).into_owned();
        match check_name(raw_bytes, is_dir).map_err(|e| DiffError::path(&raw, e.reason()))? {
            NameClass::SkippedRoot | NameClass::AufsMeta => return Ok(None),
            NameClass::Entry | NameClass::RootDir => {}
        }
        let (path, marker) = match parse_tar_name(&raw)? {
            TarName::Meta => return Ok(None),
            TarName::Path(p) => (p, None),
            TarName::Whiteout(p) => (p, Some(EntryKind::Whiteout)),
            TarName::Opaque(p) => (p, Some(EntryKind::Opaque)),
        };
        Ok(Some(Named { raw, path, marker }))
    }

    /// Adds the entry to `cs`: `kind` and `link` as the tar gives them, `file` the kind of a
    /// regular file with its content (called only for one, with the name as written).
    fn push(
        self,
        cs: &mut Changeset,
        kind: TarKind,
        link: &[u8],
        meta: Meta,
        file: impl FnOnce(&str) -> Result<EntryKind, DiffError>,
    ) -> Result<(), DiffError> {
        let raw = &self.raw;
        let link = || name_from_bytes(link).into_owned();
        let kind = match self.marker {
            Some(marker) => marker,
            None => match kind {
                TarKind::Dir => EntryKind::Dir,
                TarKind::File => EntryKind::File {
                    size: 0,
                    content: Content::Inline(Vec::new()),
                },
                TarKind::Symlink => EntryKind::Symlink { target: link() },
                TarKind::Hardlink => {
                    let target = normalize_path(&link())?;
                    if target.is_empty() {
                        return Err(DiffError::entry(raw, "hardlink to the root"));
                    }
                    EntryKind::Hardlink { target }
                }
                // 0:0 is overlayfs's whiteout, as the kernel reads it.
                TarKind::CharDevice(major, minor) => EntryKind::char_device(major, minor),
                TarKind::BlockDevice(major, minor) => EntryKind::BlockDevice { major, minor },
                TarKind::Fifo => EntryKind::Fifo,
            },
        };
        let kind = match kind {
            EntryKind::Dir | EntryKind::Opaque => kind,
            _ if self.path.is_empty() => {
                return Err(DiffError::entry(raw, "the root must be a directory"))
            }
            EntryKind::File { .. } => file(raw)?,
            _ => kind,
        };
        cs.push(Entry {
            path: self.path,
            kind,
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
            mtime: meta.mtime,
            xattrs: meta.xattrs,
        });
        Ok(())
    }
}

/// Whether the readers of a layer take an entry of the tar type `flag` named `name` (bytes as
/// in the tar): the types a layer holds (files, directories, links, devices, FIFOs, a global
/// PAX header), and any type for a name they skip (AUFS metadata, the root named by a
/// non-directory) or whose name makes it a whiteout or opaque marker. Any other type (a GNU
/// volume label, an unknown flag) fails every reader, as Docker's apply refuses it.
pub fn type_taken(name: &[u8], flag: u8) -> bool {
    if matches!(flag, 0 | b'0'..=b'7' | b'S' | b'g') {
        return true;
    }
    match Named::of(name, false) {
        Ok(None) => true,
        Ok(Some(named)) => named.marker.is_some(),
        // A name refused for itself is reported as such by the caller's own check.
        Err(_) => true,
    }
}

/// Adds to `cs` the entry a tar holding `h` would give [`read_changeset`], by the same rules
/// (names, whiteouts and opaque markers, skipped entries, the root), without a tar: for a
/// scan of a directory's metadata. `content` is a regular file's (the caller decides whether
/// to read the bytes: [`Content::Unread`]). A directory holds each name once, so nothing is
/// deduplicated; call [`Changeset::sort`] after the last entry.
pub fn push_described(
    cs: &mut Changeset,
    h: &TarHeader<'_>,
    content: Content,
) -> Result<(), DiffError> {
    let is_dir = h.kind == TarKind::Dir || (h.kind == TarKind::File && h.name.ends_with(b"/"));
    let Some(named) = Named::of(h.name, is_dir)? else {
        return Ok(());
    };
    let kind = if is_dir { TarKind::Dir } else { h.kind };
    let mut xattrs = BTreeMap::new();
    for (k, v) in &h.xattrs {
        let k = std::str::from_utf8(k)
            .map_err(|_| DiffError::entry(&named.raw, "PAX key is not UTF-8"))?;
        xattrs.insert(k.to_string(), v.to_vec());
    }
    let meta = Meta {
        mode: h.mode & 0o7777,
        uid: id(h.uid, &named.raw, "uid")?,
        gid: id(h.gid, &named.raw, "gid")?,
        mtime: h.mtime,
        xattrs,
    };
    let size = h.size;
    named.push(cs, kind, h.link, meta, |_| {
        Ok(EntryKind::File { size, content })
    })
}

/// The PAX records that describe this entry, as read by length (the last of a key counts);
/// size, uid, gid, path and linkpath are applied already, mtime and xattrs are read from here.
fn pax_records(heads: &EntryHeaders, raw: &str) -> Result<BTreeMap<String, Vec<u8>>, DiffError> {
    let mut records = BTreeMap::new();
    for (key, value) in &heads.ext.records {
        match std::str::from_utf8(key) {
            Ok(key) => {
                records.insert(key.to_string(), value.clone());
            }
            // An extended attribute's name is kept as text (ingest refuses one that is not).
            Err(_) if key.starts_with(XATTR_PREFIX.as_bytes()) => {
                return Err(DiffError::entry(raw, "xattr name is not UTF-8"))
            }
            // A record no reader uses, as Go ignores it.
            Err(_) => {}
        }
    }
    Ok(records)
}

/// The prefix of the PAX records that carry extended attributes (`SCHILY.xattr.<name>`).
pub const XATTR_PREFIX: &str = "SCHILY.xattr.";

/// A PAX time (`1700000000`, `-1.5`, `12.000000001`) as whole seconds, rounded down; `None`
/// for a value Go's reader refuses too.
pub fn pax_time(value: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(value).ok()?;
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    let negative = int.starts_with('-');
    Some(if negative && frac.bytes().any(|b| b != b'0') {
        secs.checked_sub(1)?
    } else {
        secs
    })
}

/// A tar numeric field as Go's `archive/tar` (and so Docker) reads it: `parsed`, the `tar`
/// crate's reading of `field`, or where that fails, Go's ([`parse_numeric`]: a blank field is
/// 0, digits after leading NULs count, base-256 anywhere); an error where Go refuses too.
pub fn numeric_as_go(parsed: io::Result<u64>, field: &[u8]) -> io::Result<u64> {
    match parsed {
        Err(e) => match parse_numeric(field).and_then(|v| u64::try_from(v).ok()) {
            Some(v) => Ok(v),
            None => Err(e),
        },
        ok => ok,
    }
}

/// A tar header's octal field as Go reads it: leading and trailing spaces and NULs trimmed, cut at the first NUL; empty
/// is 0. `None` when not octal.
pub fn parse_octal(field: &[u8]) -> Option<i64> {
    let trim = |c: &u8| *c == b' ' || *c == 0;
    let start = field.iter().position(|c| !trim(c)).unwrap_or(field.len());
    let end = field
        .iter()
        .rposition(|c| !trim(c))
        .map_or(start, |i| i + 1);
    let mut s = &field[start..end];
    if let Some(nul) = s.iter().position(|&c| c == 0) {
        s = &s[..nul];
    }
    if s.is_empty() {
        return Some(0);
    }
    let mut x: u64 = 0;
    for &c in s {
        if !(b'0'..=b'7').contains(&c) || x >> 61 != 0 {
            return None;
        }
        x = x << 3 | u64::from(c - b'0');
    }
    i64::try_from(x).ok()
}

/// A tar header's numeric field as Go's `archive/tar` reads it: GNU base-256 when the high
/// bit of the first byte is set, else octal ([`parse_octal`]). `None` where Go refuses it.
pub fn parse_numeric(field: &[u8]) -> Option<i64> {
    match field.first() {
        Some(&first) if first & 0x80 != 0 => {
            let inv = if first & 0x40 != 0 { 0xff } else { 0 };
            let mut x: u64 = 0;
            for (i, &c) in field.iter().enumerate() {
                let mut c = c ^ inv;
                if i == 0 {
                    c &= 0x7f;
                }
                if x >> 56 != 0 {
                    return None;
                }
                x = x << 8 | u64::from(c);
            }
            if x >> 63 != 0 {
                return None;
            }
            Some(if inv == 0xff { !(x as i64) } else { x as i64 })
        }
        _ => parse_octal(field),
    }
}

fn id(value: u64, raw: &str, what: &str) -> Result<u32, DiffError> {
    u32::try_from(value).map_err(|_| DiffError::entry(raw, format!("{what} {value} out of range")))
}

/// Reads a regular file's data (a PAX sparse file expanded: [`EntryContent`]): inline when
/// small enough, otherwise only its digest.
fn read_file<R: Read>(
    te: &mut tar::Entry<'_, R>,
    heads: &EntryHeaders,
    raw: &str,
    options: &ReadOptions,
) -> Result<EntryKind, DiffError> {
    let stored = te.size();
    let mut te = EntryContent::new(te, stored, heads)
        .map_err(|e| DiffError::read(format!("entry {raw:?}"), e))?;
    let te = &mut te;
    let size = te.size();
    let context = || format!("entry {raw:?}: data");
    let (got, content) = if size <= options.keep_content_up_to {
        let mut bytes = Vec::with_capacity(size.min(1 << 20) as usize);
        te.read_to_end(&mut bytes)
            .map_err(|e| DiffError::read(context(), e))?;
        (bytes.len() as u64, Content::Inline(bytes))
    } else {
        let mut hasher = Sha256Writer::new();
        let n = io::copy(te, &mut hasher).map_err(|e| DiffError::read(context(), e))?;
        (n, Content::Digest(hasher.finish()))
    };
    if got != size {
        return Err(DiffError::read(
            context(),
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("truncated: {got} of {size} bytes"),
            ),
        ));
    }
    Ok(EntryKind::File { size, content })
}
