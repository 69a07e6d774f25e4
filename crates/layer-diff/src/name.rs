//! Entry names as bytes: the one rule every reader of a layer tar applies to a name (ingest,
//! the changeset reader, the applier), and the lossless mapping between a name's bytes and the
//! `String` paths the changeset model carries.
//!
//! Names are bytes, as Docker and the kernel have them: any byte but `/` and NUL may occur in a
//! component. A [`Changeset`](crate::Changeset) path is a `String`, so a name that is not
//! UTF-8 is carried in it escaped: every byte that is not part of a well-formed UTF-8 character
//! becomes the private-use character `U+10FF00 + byte` (`U+10FF80`..`U+10FFFF`). Characters of
//! that range written in a name as UTF-8 are escaped byte by byte too, so the mapping is a
//! bijection: [`name_bytes`] undoes [`name_from_bytes`] for every byte string, and a valid
//! UTF-8 name outside that range is carried unchanged. A display of such a path (the
//! dashboard) shows the escapes, lossily.

use std::borrow::Cow;

/// First character of the escape range: byte `b` (≥ 0x80) is `ESCAPE_BASE + b`.
const ESCAPE_BASE: u32 = 0x10_FF00;

/// Names starting with this are whiteout metadata (`.wh..wh.plnk`, …), not whiteouts.
const META_PREFIX: &[u8] = b".wh..wh.";
const WHITEOUT: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";

/// Longest component accepted (`NAME_MAX`).
pub const MAX_NAME_LEN: usize = 255;
/// Longest name accepted, as written in the tar (`PATH_MAX`).
pub const MAX_PATH_LEN: usize = 4096;

fn is_escape(c: char) -> bool {
    (ESCAPE_BASE + 0x80..=ESCAPE_BASE + 0xff).contains(&u32::from(c))
}

/// The path string of a name given as bytes (see the module docs): borrowed when the bytes are
/// UTF-8 without escape-range characters.
pub fn name_from_bytes(raw: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(raw) {
        if !s.chars().any(is_escape) {
            return Cow::Borrowed(s);
        }
    }
    let mut out = String::with_capacity(raw.len() + 8);
    let escape = |out: &mut String, bytes: &[u8]| {
        for &b in bytes {
            out.push(char::from_u32(ESCAPE_BASE + u32::from(b)).expect("a valid scalar"));
        }
    };
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if is_escape(c) {
                let mut buf = [0u8; 4];
                escape(&mut out, c.encode_utf8(&mut buf).as_bytes());
            } else {
                out.push(c);
            }
        }
        escape(&mut out, chunk.invalid());
    }
    Cow::Owned(out)
}

/// The bytes of a name carried as a path string: the inverse of [`name_from_bytes`].
pub fn name_bytes(path: &str) -> Cow<'_, [u8]> {
    if !path.chars().any(is_escape) {
        return Cow::Borrowed(path.as_bytes());
    }
    let mut out = Vec::with_capacity(path.len());
    for c in path.chars() {
        if is_escape(c) {
            out.push((u32::from(c) - ESCAPE_BASE) as u8);
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Cow::Owned(out)
}

/// What a tar entry's name means, by the rule every reader shares ([`check_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameClass {
    /// An entry to apply (a whiteout or an opaque marker included).
    Entry,
    /// The root directory itself (`./`, `/`, `.` as a directory): its metadata only.
    RootDir,
    /// An entry naming the root that is not a directory (a symlink or file named `.`), or an
    /// empty name: skipped, with a warning naming it.
    SkippedRoot,
    /// AUFS metadata (`.wh..wh.plnk`, `.wh..wh.aufs`, `.wh..wh.orph` and what is under them,
    /// or any other `.wh..wh.*` name but the opaque marker): dropped, as Docker drops it.
    AufsMeta,
}

/// Why [`check_name`] refuses a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// A NUL byte (possible in a PAX `path` record).
    Nul,
    /// Longer than [`MAX_PATH_LEN`].
    PathTooLong,
    /// A component longer than [`MAX_NAME_LEN`].
    NameTooLong,
    /// A `..` climbs above the root.
    Escapes,
    /// `.wh.`, `.wh..` or `.wh...`.
    WhiteoutNamesNothing,
    /// A directory entry with a `.wh.` name, or a `.wh.` component with something under it.
    WhiteoutAsDir,
}

impl NameError {
    /// The reason, for messages.
    pub fn reason(self) -> &'static str {
        match self {
            NameError::Nul => "name contains a NUL byte",
            NameError::PathTooLong => "name longer than 4096 bytes",
            NameError::NameTooLong => "a component is longer than 255 bytes",
            NameError::Escapes => "escapes the root",
            NameError::WhiteoutNamesNothing => "whiteout names nothing",
            NameError::WhiteoutAsDir => "whiteout used as a directory",
        }
    }
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

/// Classifies a tar entry's name (`is_dir`: a directory entry, or one whose name ends in `/`),
/// or says why the name is refused: a NUL byte, a component longer than [`MAX_NAME_LEN`], a
/// name longer than [`MAX_PATH_LEN`], a `..` that climbs above the root, a whiteout that names
/// nothing (`.wh.`, `.wh..`, `.wh...`), or a whiteout used as a directory (a directory entry
/// with a `.wh.` name, or a `.wh.` component with something under it). A leading `/` and `.`
/// or empty components are ignored, as when extracting.
pub fn check_name(raw: &[u8], is_dir: bool) -> Result<NameClass, NameError> {
    if raw.is_empty() {
        return Ok(NameClass::SkippedRoot);
    }
    if raw.contains(&0) {
        return Err(NameError::Nul);
    }
    if raw.len() > MAX_PATH_LEN {
        return Err(NameError::PathTooLong);
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() {
                    return Err(NameError::Escapes);
                }
            }
            p if p.len() > MAX_NAME_LEN => return Err(NameError::NameTooLong),
            p => parts.push(p),
        }
    }
    let Some((&base, dirs)) = parts.split_last() else {
        return Ok(if is_dir {
            NameClass::RootDir
        } else {
            NameClass::SkippedRoot
        });
    };
    if let Some(first) = parts.first() {
        if first.starts_with(META_PREFIX) && *first != OPAQUE {
            return Ok(NameClass::AufsMeta);
        }
    }
    if dirs.iter().any(|d| d.starts_with(WHITEOUT)) {
        return Err(NameError::WhiteoutAsDir);
    }
    let Some(hidden) = base.strip_prefix(WHITEOUT) else {
        return Ok(NameClass::Entry);
    };
    if base != OPAQUE && base.starts_with(META_PREFIX) {
        return Ok(NameClass::AufsMeta);
    }
    if matches!(hidden, b"" | b"." | b"..") {
        return Err(NameError::WhiteoutNamesNothing);
    }
    if is_dir {
        return Err(NameError::WhiteoutAsDir);
    }
    Ok(NameClass::Entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_losslessly() {
        let cases: Vec<Vec<u8>> = vec![
            b"etc/passwd".to_vec(),
            b"caf\xe9".to_vec(),                        // Latin-1
            b"a\x01b\x7f\x1b[0m".to_vec(),              // control characters (valid UTF-8)
            "na\u{ef}ve/\u{1F600}".as_bytes().to_vec(), // UTF-8 stays as it is
            b"\xf4\x8f\xbe\x80".to_vec(),               // an escape character written as UTF-8
            b"\xf4\x8f\xbe".to_vec(),                   // a truncated one
            b"\xff\xfe/\xc3".to_vec(),
        ];
        for raw in &cases {
            let s = name_from_bytes(raw);
            assert_eq!(&*name_bytes(&s), raw.as_slice(), "{s:?}");
        }
        assert!(matches!(name_from_bytes(b"etc/x"), Cow::Borrowed(_)));
        assert_eq!(name_from_bytes("\u{e9}".as_bytes()), "\u{e9}");
        // Distinct bytes never share a string.
        // A character of the escape range written in a name is escaped byte by byte, so it
        // is told from the escape of one byte.
        assert_ne!(name_from_bytes("\u{10FF80}".as_bytes()), "\u{10FF80}");
        assert_eq!(name_bytes("\u{10FF80}"), &[0x80u8][..]);
        assert_ne!(
            name_from_bytes(b"\xe9"),
            name_from_bytes("\u{e9}".as_bytes())
        );
        // Every single byte and every pair of bytes.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let raw = [a, b];
                assert_eq!(&*name_bytes(&name_from_bytes(&raw)), &raw);
            }
        }
    }

    #[test]
    fn the_shared_rule() {
        use NameClass::*;
        let ok = |raw: &[u8], dir: bool| check_name(raw, dir);
        assert_eq!(ok(b"etc/passwd", false), Ok(Entry));
        assert_eq!(ok(b"/etc/caf\xe9", false), Ok(Entry));
        assert_eq!(ok(b"./", true), Ok(RootDir));
        assert_eq!(ok(b"/", true), Ok(RootDir));
        assert_eq!(ok(b".", false), Ok(SkippedRoot));
        assert_eq!(ok(b"./", false), Ok(SkippedRoot));
        assert_eq!(ok(b"", true), Ok(SkippedRoot));
        assert_eq!(ok(b"a/..", false), Ok(SkippedRoot));
        assert_eq!(ok(b".wh..wh.plnk", true), Ok(AufsMeta));
        assert_eq!(ok(b"./.wh..wh.plnk/123.456", false), Ok(AufsMeta));
        assert_eq!(ok(b".wh..wh.aufs", false), Ok(AufsMeta));
        assert_eq!(ok(b"usr/.wh..wh.orph", true), Ok(AufsMeta));
        assert_eq!(ok(b"usr/.wh..wh..opq", false), Ok(Entry));
        assert_eq!(ok(b"etc/.wh.passwd", false), Ok(Entry));
        assert_eq!(ok(b"a\0b", false), Err(NameError::Nul));
        assert_eq!(ok(b"../x", false), Err(NameError::Escapes));
        assert_eq!(ok(b"a/../../x", false), Err(NameError::Escapes));
        let long = [b'x'; 256];
        assert_eq!(ok(&long, false), Err(NameError::NameTooLong));
        assert_eq!(ok(&[b'x'; 255], false), Ok(Entry));
        for nothing in [&b"a/.wh."[..], b".wh..", b"x/.wh..."] {
            assert_eq!(ok(nothing, false), Err(NameError::WhiteoutNamesNothing));
        }
        assert_eq!(ok(b"a/.wh.b/c", false), Err(NameError::WhiteoutAsDir));
        assert_eq!(ok(b"a/.wh.b/", true), Err(NameError::WhiteoutAsDir));
        assert_eq!(ok(b".wh..wh..opq/x", false), Err(NameError::WhiteoutAsDir));
    }
}
