//! The changeset model: entries, their kinds and contents, and the canonical order.

use crate::path::{base_name, compare_paths, is_normalized, WHITEOUT_PREFIX};
use crate::resolve::Order;
use crate::DiffError;
use oci_model::{Digest, Sha256Writer};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The bytes of a regular file, or only their digest when the file is large.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Content {
    /// The whole content.
    Inline(Vec<u8>),
    /// The sha256 of the content; the bytes live elsewhere (a layer blob).
    Digest(Digest),
    /// Not read: the bytes are in an unpacked directory whose metadata alone was scanned (a
    /// container's writable layer, which a `stat` or a `cp` need not read through).
    Unread,
}

impl Content {
    /// The sha256 of the content (computed for inline content); `None` when it was not read.
    pub fn digest(&self) -> Option<Digest> {
        match self {
            Content::Inline(bytes) => {
                let mut hasher = Sha256Writer::new();
                hasher.update(bytes);
                Some(hasher.finish())
            }
            Content::Digest(digest) => Some(digest.clone()),
            Content::Unread => None,
        }
    }

    /// The bytes, when they are inline.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Content::Inline(bytes) => Some(bytes),
            Content::Digest(_) | Content::Unread => None,
        }
    }
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Inline(bytes) => write!(f, "Inline({:?})", String::from_utf8_lossy(bytes)),
            Content::Digest(digest) => write!(f, "Digest({digest})"),
            Content::Unread => write!(f, "Unread"),
        }
    }
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file.
    File {
        /// Its size in bytes.
        size: u64,
        /// Its bytes, or their digest.
        content: Content,
    },
    /// A directory.
    Dir,
    /// A symbolic link; the target is kept exactly as written (relative or absolute).
    Symlink {
        /// The link's target.
        target: String,
    },
    /// A hard link to another path of this layer or of a lower one.
    Hardlink {
        /// The normalised path it links to.
        target: String,
    },
    /// A character device node.
    CharDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A block device node.
    BlockDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A named pipe.
    Fifo,
    /// A whiteout (`<dir>/.wh.<name>` in the tar): the entry's path and everything under it is
    /// deleted from lower layers.
    Whiteout,
    /// An opaque marker (`<dir>/.wh..wh..opq` in the tar): every lower child of the entry's
    /// path, a directory, is hidden.
    Opaque,
}

impl EntryKind {
    /// A short lowercase name: `file`, `dir`, `symlink`, `hardlink`, `char`, `block`, `fifo`,
    /// `whiteout`, `opaque`.
    pub fn name(&self) -> &'static str {
        match self {
            EntryKind::File { .. } => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink { .. } => "symlink",
            EntryKind::Hardlink { .. } => "hardlink",
            EntryKind::CharDevice { .. } => "char",
            EntryKind::BlockDevice { .. } => "block",
            EntryKind::Fifo => "fifo",
            EntryKind::Whiteout => "whiteout",
            EntryKind::Opaque => "opaque",
        }
    }

    /// What a character device `major:minor` in layer content is: a device, except 0:0,
    /// overlayfs's form of a whiteout. The kernel's overlayfs hides a lower path under a 0:0
    /// character device, so a running container never sees one, nor what it covers; Docker's
    /// overlay2 diff turns one into a `.wh.` whiteout. So 0:0 is [`EntryKind::Whiteout`] here,
    /// wherever a layer is read (a tar, a scanned directory), and every view agrees with the
    /// container.
    pub fn char_device(major: u32, minor: u32) -> EntryKind {
        if (major, minor) == (0, 0) {
            EntryKind::Whiteout
        } else {
            EntryKind::CharDevice { major, minor }
        }
    }

    /// The mode a new entry of this kind gets: 0644 for files, devices and links, 0755 for
    /// directories, 0777 for symlinks, 0 for whiteouts and opaque markers.
    pub fn default_mode(&self) -> u32 {
        match self {
            EntryKind::Dir => 0o755,
            EntryKind::Symlink { .. } => 0o777,
            EntryKind::Whiteout | EntryKind::Opaque => 0,
            _ => 0o644,
        }
    }
}

/// One entry of a changeset: a path, what is there, and its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// Normalised, relative path (`etc/passwd`; `""` is the root). For a whiteout, the path it
    /// deletes; for an opaque marker, the directory it makes opaque.
    pub path: String,
    /// What the entry is.
    pub kind: EntryKind,
    /// Permission bits plus setuid, setgid and sticky (`mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: i64,
    /// Extended attributes (PAX `SCHILY.xattr.<name>` records).
    pub xattrs: BTreeMap<String, Vec<u8>>,
}

impl Entry {
    /// An entry with the kind's default mode, owner 0:0, mtime 0 and no xattrs.
    pub fn new(path: impl Into<String>, kind: EntryKind) -> Entry {
        Entry {
            path: path.into(),
            mode: kind.default_mode(),
            kind,
            uid: 0,
            gid: 0,
            mtime: 0,
            xattrs: BTreeMap::new(),
        }
    }

    /// A regular file holding `bytes` inline.
    pub fn file(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Entry {
        let bytes = bytes.into();
        Entry::new(
            path,
            EntryKind::File {
                size: bytes.len() as u64,
                content: Content::Inline(bytes),
            },
        )
    }

    /// A regular file known only by its size and digest.
    pub fn file_digest(path: impl Into<String>, size: u64, digest: Digest) -> Entry {
        Entry::new(
            path,
            EntryKind::File {
                size,
                content: Content::Digest(digest),
            },
        )
    }

    /// A directory.
    pub fn dir(path: impl Into<String>) -> Entry {
        Entry::new(path, EntryKind::Dir)
    }

    /// A symlink to `target`.
    pub fn symlink(path: impl Into<String>, target: impl Into<String>) -> Entry {
        Entry::new(
            path,
            EntryKind::Symlink {
                target: target.into(),
            },
        )
    }

    /// A hard link to the normalised path `target`.
    pub fn hardlink(path: impl Into<String>, target: impl Into<String>) -> Entry {
        Entry::new(
            path,
            EntryKind::Hardlink {
                target: target.into(),
            },
        )
    }

    /// A whiteout deleting `path` from lower layers.
    pub fn whiteout(path: impl Into<String>) -> Entry {
        Entry::new(path, EntryKind::Whiteout)
    }

    /// An opaque marker on the directory `dir`.
    pub fn opaque(dir: impl Into<String>) -> Entry {
        Entry::new(dir, EntryKind::Opaque)
    }

    /// The same entry with this mode.
    pub fn with_mode(mut self, mode: u32) -> Entry {
        self.mode = mode;
        self
    }

    /// The same entry with this owner.
    pub fn with_owner(mut self, uid: u32, gid: u32) -> Entry {
        self.uid = uid;
        self.gid = gid;
        self
    }

    /// The same entry with this mtime.
    pub fn with_mtime(mut self, mtime: i64) -> Entry {
        self.mtime = mtime;
        self
    }

    /// The same entry with one more extended attribute.
    pub fn with_xattr(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Entry {
        self.xattrs.insert(name.into(), value.into());
        self
    }

    /// The file size for regular files, 0 for everything else (as a tar header records it).
    pub fn size(&self) -> u64 {
        match self.kind {
            EntryKind::File { size, .. } => size,
            _ => 0,
        }
    }

    /// True for directories.
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, EntryKind::Dir)
    }

    /// True for whiteouts and opaque markers, which describe lower layers rather than add a
    /// path.
    pub fn is_marker(&self) -> bool {
        matches!(self.kind, EntryKind::Whiteout | EntryKind::Opaque)
    }

    /// Checks the invariants a changeset entry must hold (see [`Changeset::validate`]).
    fn validate(&self) -> Result<(), DiffError> {
        if !is_normalized(&self.path) {
            return Err(DiffError::path(&self.path, "not normalised"));
        }
        let root = self.path.is_empty();
        match &self.kind {
            EntryKind::Dir | EntryKind::Opaque => {}
            EntryKind::Whiteout if root => {
                return Err(DiffError::entry(
                    &self.path,
                    "the root cannot be whited out",
                ))
            }
            _ if root => return Err(DiffError::entry(&self.path, "the root must be a directory")),
            _ => {}
        }
        if !self.is_marker() && base_name(&self.path).starts_with(WHITEOUT_PREFIX) {
            return Err(DiffError::entry(
                &self.path,
                "names starting with .wh. are reserved for whiteouts",
            ));
        }
        match &self.kind {
            EntryKind::File {
                size,
                content: Content::Inline(bytes),
            } if bytes.len() as u64 != *size => Err(DiffError::entry(
                &self.path,
                format!("size {size} but {} inline bytes", bytes.len()),
            )),
            EntryKind::Hardlink { target } if target.is_empty() || !is_normalized(target) => {
                Err(DiffError::path(target, "hardlink target not normalised"))
            }
            EntryKind::Symlink { target } if target.contains('\0') => Err(DiffError::path(
                target,
                "symlink target contains a NUL byte",
            )),
            EntryKind::CharDevice { major: 0, minor: 0 } => Err(DiffError::entry(
                &self.path,
                "a 0:0 character device is a whiteout (EntryKind::char_device)",
            )),
            _ => Ok(()),
        }?;
        if self.mode & !0o7777 != 0 {
            return Err(DiffError::entry(
                &self.path,
                format!("mode {:o} has bits beyond 07777", self.mode),
            ));
        }
        for name in self.xattrs.keys() {
            if name.is_empty() || name.contains(['=', '\0', '\n']) {
                return Err(DiffError::entry(
                    &self.path,
                    format!("xattr name {name:?} cannot be written"),
                ));
            }
        }
        Ok(())
    }
}

/// One line: `path kind details mode uid:gid @mtime [xattr.name=value…]`, `.` for the root.
impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "."
        } else {
            &self.path
        };
        write!(f, "{path} {}", self.kind.name())?;
        match &self.kind {
            EntryKind::File { size, content } => {
                write!(f, " {size}")?;
                match content {
                    Content::Inline(bytes) if bytes.len() <= 32 => {
                        write!(f, " {:?}", String::from_utf8_lossy(bytes))?
                    }
                    Content::Inline(_) | Content::Unread => {}
                    Content::Digest(digest) => write!(f, " {}", &digest.to_string()[..19])?,
                }
            }
            EntryKind::Symlink { target } => write!(f, " -> {target}")?,
            EntryKind::Hardlink { target } => write!(f, " => {target}")?,
            EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } => {
                write!(f, " {major}:{minor}")?
            }
            _ => {}
        }
        write!(
            f,
            " {:04o} {}:{} @{}",
            self.mode, self.uid, self.gid, self.mtime
        )?;
        for (name, value) in &self.xattrs {
            write!(f, " xattr.{name}={:?}", String::from_utf8_lossy(value))?;
        }
        Ok(())
    }
}

/// The position of an entry in the canonical order: a tree walk where, inside each
/// directory, the opaque marker comes first, then the whiteouts, then the other entries (each
/// followed by its subtree). A directory's own entry precedes its opaque marker.
pub(crate) fn canonical_cmp(a: &Entry, b: &Entry) -> Ordering {
    /// Each component with its rank (an opaque marker 0, a whiteout's last component 1,
    /// anything else 2), the opaque marker one component below its directory.
    fn key(e: &Entry) -> impl Iterator<Item = (u8, &str)> {
        let last = if e.path.is_empty() {
            0
        } else {
            e.path.bytes().filter(|&b| b == b'/').count() + 1
        };
        let whiteout = matches!(e.kind, EntryKind::Whiteout);
        let parts = (!e.path.is_empty()).then(|| e.path.split('/'));
        parts
            .into_iter()
            .flatten()
            .enumerate()
            .map(move |(i, part)| (if whiteout && i + 1 == last { 1 } else { 2 }, part))
            .chain(matches!(e.kind, EntryKind::Opaque).then_some((0, "")))
    }
    let (mut ka, mut kb) = (key(a), key(b));
    loop {
        match (ka.next(), kb.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((ra, na)), Some((rb, nb))) => {
                let o = ra.cmp(&rb).then_with(|| compare_paths(na, nb));
                if o.is_ne() {
                    return o;
                }
            }
        }
    }
}

/// Which entries may share a path in one changeset: one ordinary entry, one whiteout and one
/// opaque marker.
fn class(e: &Entry) -> u8 {
    match e.kind {
        EntryKind::Whiteout => 1,
        EntryKind::Opaque => 2,
        _ => 0,
    }
}

/// The changes one layer makes: added or changed entries in full, deletions as whiteouts and
/// opaque markers.
///
/// Two changesets are equal when they hold the same entries in the same stored order; the
/// order a tar listed them in ([`Changeset::in_order`]) is not compared.
#[derive(Debug, Clone, Default)]
pub struct Changeset {
    /// The entries; [`read_changeset`](crate::read_changeset) returns them in canonical order.
    pub entries: Vec<Entry>,
    /// The order a tar listed the entries in, when it means something else than the
    /// canonical order ([`Changeset::from_tar_order`], [`Changeset::in_order`]).
    pub(crate) order: Option<Order>,
}

impl Changeset {
    /// An empty changeset.
    pub fn new() -> Changeset {
        Changeset::default()
    }

    /// Adds an entry (no checks; see [`Changeset::validate`]). A changeset changed by hand
    /// applies its entries in canonical order ([`Changeset::in_order`]).
    pub fn push(&mut self, entry: Entry) {
        self.order = None;
        self.entries.push(entry);
    }

    /// Number of entries, markers included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries.
    pub fn iter(&self) -> std::slice::Iter<'_, Entry> {
        self.entries.iter()
    }

    /// The ordinary (non-marker) entry at `path`.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.path == path && !e.is_marker())
    }

    /// The whiteout entries.
    pub fn whiteouts(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::Whiteout))
    }

    /// The opaque markers.
    pub fn opaques(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::Opaque))
    }

    /// The sum of the regular files' sizes: what the layer's tar headers add up to, and what
    /// dive calls the layer's size.
    pub fn files_size(&self) -> u64 {
        self.entries.iter().map(Entry::size).sum()
    }

    /// Sorts the entries into canonical order: a tree walk (`a`, `a/b`, `a-b`) where inside
    /// each directory the opaque marker comes first, then whiteouts, then the other entries.
    /// The sort is stable. A changeset already in canonical order (as read) keeps the order
    /// its entries apply in ([`Changeset::in_order`]); one whose entries were moved by hand
    /// applies them in canonical order.
    pub fn sort(&mut self) {
        let sorted = self
            .entries
            .windows(2)
            .all(|w| canonical_cmp(&w[0], &w[1]).is_le());
        if !sorted {
            self.order = None;
            self.entries.sort_by(canonical_cmp);
        }
    }

    /// Checks what [`write_changeset`](crate::write_changeset) needs: normalised paths and
    /// hardlink targets, a directory (or opaque marker) at the root, no ordinary entry named
    /// `.wh.*`, inline content as long as the size says, modes within 07777, writable xattr
    /// names, and at most one ordinary entry, one whiteout and one opaque marker per path.
    pub fn validate(&self) -> Result<(), DiffError> {
        let mut seen = BTreeSet::new();
        for e in &self.entries {
            e.validate()?;
            if !seen.insert((e.path.as_str(), class(e))) {
                return Err(DiffError::entry(&e.path, "listed twice"));
            }
        }
        Ok(())
    }
}

impl PartialEq for Changeset {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Eq for Changeset {}

impl std::hash::Hash for Changeset {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.entries.hash(state);
    }
}

impl FromIterator<Entry> for Changeset {
    fn from_iter<I: IntoIterator<Item = Entry>>(iter: I) -> Self {
        Changeset {
            entries: iter.into_iter().collect(),
            order: None,
        }
    }
}

impl<'a> IntoIterator for &'a Changeset {
    type Item = &'a Entry;
    type IntoIter = std::slice::Iter<'a, Entry>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

/// One entry per line, in the stored order.
impl fmt::Display for Changeset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn check(entries: Vec<Entry>, expect: Expect) {
        let mut cs: Changeset = entries.into_iter().collect();
        cs.sort();
        expect.assert_eq(&cs.to_string());
    }

    #[test]
    fn canonical_order() {
        check(
            vec![
                Entry::file("usr/bin/z", "z"),
                Entry::file("usr-local", ""),
                Entry::whiteout("usr/bin/a"),
                Entry::file("usr/bin/b", "b"),
                Entry::opaque("usr/bin"),
                Entry::dir("usr/bin"),
                Entry::dir("usr"),
                Entry::whiteout("usr/zz"),
                Entry::dir(""),
                Entry::opaque(""),
                Entry::whiteout("a"),
                Entry::symlink("lib", "usr/lib"),
            ],
            expect![[r#"
                . dir 0755 0:0 @0
                . opaque 0000 0:0 @0
                a whiteout 0000 0:0 @0
                lib symlink -> usr/lib 0777 0:0 @0
                usr dir 0755 0:0 @0
                usr/zz whiteout 0000 0:0 @0
                usr/bin dir 0755 0:0 @0
                usr/bin opaque 0000 0:0 @0
                usr/bin/a whiteout 0000 0:0 @0
                usr/bin/b file 1 "b" 0644 0:0 @0
                usr/bin/z file 1 "z" 0644 0:0 @0
                usr-local file 0 "" 0644 0:0 @0
            "#]],
        );
    }

    #[test]
    fn validation() {
        let cases = vec![
            Entry::file("/etc/passwd", "x"),
            Entry::file("etc/./passwd", "x"),
            Entry::file("", "x"),
            Entry::whiteout(""),
            Entry::file("etc/.wh.passwd", ""),
            Entry::hardlink("a", "/b"),
            Entry::new(
                "big",
                EntryKind::File {
                    size: 3,
                    content: Content::Inline(b"ab".to_vec()),
                },
            ),
            Entry::dir("d").with_mode(0o40755),
            Entry::dir("d").with_xattr("a=b", "v"),
            Entry::dir("").with_mode(0o700),
            Entry::opaque(""),
        ];
        let out: Vec<String> = cases
            .into_iter()
            .map(|e| {
                let line = e.to_string();
                match Changeset::from_iter([e]).validate() {
                    Ok(()) => format!("{line}: ok"),
                    Err(err) => format!("{line}: {err}"),
                }
            })
            .collect();
        expect![[r#"
            /etc/passwd file 1 "x" 0644 0:0 @0: path "/etc/passwd": not normalised
            etc/./passwd file 1 "x" 0644 0:0 @0: path "etc/./passwd": not normalised
            . file 1 "x" 0644 0:0 @0: entry "": the root must be a directory
            . whiteout 0000 0:0 @0: entry "": the root cannot be whited out
            etc/.wh.passwd file 0 "" 0644 0:0 @0: entry "etc/.wh.passwd": names starting with .wh. are reserved for whiteouts
            a hardlink => /b 0644 0:0 @0: path "/b": hardlink target not normalised
            big file 3 "ab" 0644 0:0 @0: entry "big": size 3 but 2 inline bytes
            d dir 40755 0:0 @0: entry "d": mode 40755 has bits beyond 07777
            d dir 0755 0:0 @0 xattr.a=b="v": entry "d": xattr name "a=b" cannot be written
            . dir 0700 0:0 @0: ok
            . opaque 0000 0:0 @0: ok"#]]
        .assert_eq(&out.join("\n"));

        let dup: Changeset = [Entry::dir("a"), Entry::whiteout("a"), Entry::file("a", "")]
            .into_iter()
            .collect();
        expect![[r#"entry "a": listed twice"#]].assert_eq(&dup.validate().unwrap_err().to_string());
    }

    #[test]
    fn last_wins() {
        let cs = Changeset::from_tar_order(vec![
            Entry::file("a", "1"),
            Entry::whiteout("a"),
            Entry::dir("b"),
            Entry::file("a", "2"),
        ]);
        expect![[r#"
            a whiteout 0000 0:0 @0
            a file 1 "2" 0644 0:0 @0
            b dir 0755 0:0 @0
        "#]]
        .assert_eq(&cs.to_string());
    }
}
