//! Entry names as bytes: lexical normalisation (Docker's `filepath.Clean` + breakout check) and
//! whiteout recognition, with the same rules as `layer_diff::parse_tar_name` but without
//! requiring UTF-8.

use layer_diff::{OPAQUE_MARKER, WHITEOUT_PREFIX};

/// Names starting with this are whiteout metadata (`.wh..wh.plnk`, …), not whiteouts.
const META_PREFIX: &[u8] = b".wh..wh.";

/// The `..` in a name climbs above the root.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LeavesRoot;

/// Splits a name into components relative to the root: leading `/` and `./` dropped, empty and
/// `.` components skipped, `..` resolved lexically. A `..` above the root is an error, never
/// clamped. The root itself is the empty list.
pub(crate) fn components(raw: &[u8]) -> Result<Vec<&[u8]>, LeavesRoot> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() {
                    return Err(LeavesRoot);
                }
            }
            _ => parts.push(part),
        }
    }
    Ok(parts)
}

/// Joins components with `/`.
pub(crate) fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(&b'/')
}

/// What the last component of a name means in a layer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Base<'a> {
    /// An ordinary name.
    Plain,
    /// `.wh.<name>`: deletes the sibling `<name>`.
    Whiteout(&'a [u8]),
    /// `.wh..wh..opq`: the directory is opaque.
    Opaque,
    /// Other `.wh..wh.*` metadata.
    Meta,
    /// `.wh.`, `.wh..` or `.wh...`: a whiteout that names nothing.
    Invalid,
}

/// Classifies the last component of a name.
pub(crate) fn classify(base: &[u8]) -> Base<'_> {
    let Some(hidden) = base.strip_prefix(WHITEOUT_PREFIX.as_bytes()) else {
        return Base::Plain;
    };
    if base == OPAQUE_MARKER.as_bytes() {
        return Base::Opaque;
    }
    if base.starts_with(META_PREFIX) {
        return Base::Meta;
    }
    if matches!(hidden, b"" | b"." | b"..") {
        return Base::Invalid;
    }
    Base::Whiteout(hidden)
}

/// A path for messages: lossy UTF-8, cut at 200 characters.
pub(crate) fn show(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    if s.chars().count() > 200 {
        let mut cut: String = s.chars().take(200).collect();
        cut.push('…');
        cut
    } else {
        s.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use layer_diff::{parse_tar_name, TarName};

    /// Every name means the same here as in `layer_diff`, which the rest of Strata uses to
    /// read layers.
    #[test]
    fn agrees_with_layer_diff() {
        let names = [
            "./a/",
            "/etc/passwd",
            "a//b/./c",
            "a/../b",
            "./",
            ".",
            "../x",
            "/../x",
            "a/../../x",
            "etc/.wh.passwd",
            ".wh.etc",
            "usr/.wh..wh..opq",
            "./.wh..wh..opq",
            "usr/.wh..wh.plnk",
            "usr/.wh.",
            "usr/.wh..",
            "usr/.wh...",
            "a/.wh.b/c",
            "..a/b..",
            ".wh..wh..opq/x",
        ];
        for raw in names {
            let mine = match components(raw.as_bytes()) {
                Err(LeavesRoot) => "error".to_string(),
                Ok(parts) => {
                    let path = String::from_utf8(join(&parts)).unwrap();
                    match parts.split_last() {
                        None => format!("{:?}", TarName::Path(path)),
                        Some((base, dir)) => {
                            let dir = String::from_utf8(join(dir)).unwrap();
                            let sib = |n: &[u8]| {
                                let n = std::str::from_utf8(n).unwrap();
                                if dir.is_empty() {
                                    n.to_string()
                                } else {
                                    format!("{dir}/{n}")
                                }
                            };
                            match classify(base) {
                                Base::Plain => format!("{:?}", TarName::Path(path)),
                                Base::Whiteout(h) => format!("{:?}", TarName::Whiteout(sib(h))),
                                Base::Opaque => format!("{:?}", TarName::Opaque(dir)),
                                Base::Meta => format!("{:?}", TarName::Meta),
                                Base::Invalid => "error".to_string(),
                            }
                        }
                    }
                }
            };
            let theirs = match parse_tar_name(raw) {
                Ok(n) => format!("{n:?}"),
                Err(_) => "error".to_string(),
            };
            assert_eq!(mine, theirs, "{raw:?}");
        }
    }
}
