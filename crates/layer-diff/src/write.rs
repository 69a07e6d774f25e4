//! Encoding a [`Changeset`] as a deterministic layer tar.

use crate::model::canonical_cmp;
use crate::name::name_bytes;
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
/// moved to just after its target, so extraction always finds the target), every header is
/// ustar with empty user/group names, directories are named `dir/` (the root `./`), and a PAX
/// header (named `<dir>/PaxHeaders.0/<name>`, mtime 0, records sorted by key) is added only
/// when something does not fit ustar: a path or link target longer than ustar allows or not
/// ASCII, a uid/gid/size/mtime out of the octal fields' range (a negative mtime included), or
/// xattrs (`SCHILY.xattr.<name>`).
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
    let mut builder = tar::Builder::new(w);
    for e in order {
        let (header, pax) = header_for(e)?;
        if !pax.is_empty() {
            let records = pax_records(&pax);
            let mut ph = tar::Header::new_ustar();
            {
                let u = ph.as_ustar_mut().expect("ustar header");
                put_str(&mut u.name, &pax_name(&tar_name(e)));
                put_octal(&mut u.mode, 0o644);
                put_octal(&mut u.uid, 0);
                put_octal(&mut u.gid, 0);
                put_octal(&mut u.size, records.len() as u64);
                put_octal(&mut u.mtime, 0);
                u.typeflag = [b'x'];
            }
            ph.set_cksum();
            builder.append(&ph, records.as_slice())?;
        }
        match &e.kind {
            EntryKind::File {
                content: Content::Inline(bytes),
                ..
            } => builder.append(&header, bytes.as_slice())?,
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
                builder.append(&header, &mut checked)?;
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
            _ => builder.append(&header, io::empty())?,
        }
    }
    Ok(builder.into_inner()?)
}

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

/// The ustar header of an entry plus the PAX records it needs.
fn header_for(e: &Entry) -> Result<(tar::Header, BTreeMap<String, Vec<u8>>), DiffError> {
    let mut pax: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut header = tar::Header::new_ustar();
    let name = tar_name(e);
    let u = header.as_ustar_mut().expect("ustar header");

    match split_ustar_name(&name) {
        Some((prefix, rest)) => {
            put_str(&mut u.prefix, prefix);
            put_str(&mut u.name, rest);
        }
        None => {
            put_str(&mut u.name, &ascii_prefix(&name, 100));
            // Not ASCII: the name's bytes (see `crate::name`) go to PAX, as Go's writer puts them.
            pax.insert("path".into(), name_bytes(&name).into_owned());
        }
    }

    let (typeflag, size, link): (u8, u64, Option<&str>) = match &e.kind {
        EntryKind::File { size, .. } => (b'0', *size, None),
        EntryKind::Dir => (b'5', 0, None),
        EntryKind::Symlink { target } => (b'2', 0, Some(target)),
        EntryKind::Hardlink { target } => (b'1', 0, Some(target)),
        EntryKind::CharDevice { .. } => (b'3', 0, None),
        EntryKind::BlockDevice { .. } => (b'4', 0, None),
        EntryKind::Fifo => (b'6', 0, None),
        EntryKind::Whiteout | EntryKind::Opaque => (b'0', 0, None),
    };
    u.typeflag = [typeflag];
    if let Some(link) = link {
        if link.is_ascii() && link.len() <= 100 {
            put_str(&mut u.linkname, link);
        } else {
            put_str(&mut u.linkname, &ascii_prefix(link, 100));
            pax.insert("linkpath".into(), name_bytes(link).into_owned());
        }
    }

    put_octal(&mut u.mode, u64::from(e.mode));
    for (field, key, value) in [(&mut u.uid, "uid", e.uid), (&mut u.gid, "gid", e.gid)] {
        let value = u64::from(value);
        if value <= MAX_OCTAL_8 {
            put_octal(field, value);
        } else {
            put_octal(field, 0);
            pax.insert(key.into(), value.to_string().into_bytes());
        }
    }
    if size <= MAX_OCTAL_12 {
        put_octal(&mut u.size, size);
    } else {
        put_octal(&mut u.size, 0);
        pax.insert("size".into(), size.to_string().into_bytes());
    }
    match u64::try_from(e.mtime) {
        Ok(mtime) if mtime <= MAX_OCTAL_12 => put_octal(&mut u.mtime, mtime),
        _ => {
            put_octal(&mut u.mtime, 0);
            pax.insert("mtime".into(), e.mtime.to_string().into_bytes());
        }
    }
    if let EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } = e.kind
    {
        for (field, value) in [(&mut u.dev_major, major), (&mut u.dev_minor, minor)] {
            if u64::from(value) > MAX_OCTAL_8 {
                return Err(DiffError::entry(
                    &e.path,
                    format!("device number {value} does not fit a tar header"),
                ));
            }
            put_octal(field, u64::from(value));
        }
    }
    for (name, value) in &e.xattrs {
        pax.insert(format!("SCHILY.xattr.{name}"), value.clone());
    }
    header.set_cksum();
    Ok((header, pax))
}

/// Splits a name into ustar's `prefix` (≤155 bytes) and `name` (≤100 bytes) at a `/`, using
/// the shortest prefix that works; `None` when the name must go to PAX.
fn split_ustar_name(name: &str) -> Option<(&str, &str)> {
    if !name.is_ascii() {
        return None;
    }
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
fn pax_records(pax: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in pax {
        let body = key.len() + value.len() + 3; // ' ', '=', '\n'
        let mut len = body + 1;
        while body + len.to_string().len() != len {
            len = body + len.to_string().len();
        }
        out.extend_from_slice(format!("{len} {key}=").as_bytes());
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out
}
