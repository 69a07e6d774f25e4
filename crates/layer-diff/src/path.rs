//! Layer paths: normalisation, whiteout names, and the tree order every listing uses.

use crate::DiffError;
use std::cmp::Ordering;

/// The prefix that turns a name into a whiteout: `<dir>/.wh.<name>` deletes `<dir>/<name>`.
pub const WHITEOUT_PREFIX: &str = ".wh.";

/// The name of the opaque marker: `<dir>/.wh..wh..opq` hides every lower child of `<dir>`.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// Names starting with this are whiteout metadata (`.wh..wh.plnk`, …); only the opaque marker
/// means anything in a layer, the rest are ignored.
const META_PREFIX: &str = ".wh..wh.";

/// Normalises a path from a tar header or a user: relative, `/`-separated, no `.` or empty
/// components, no trailing `/`; the root is `""`.
///
/// A leading `/` is dropped (`/etc/passwd` → `etc/passwd`) and `..` is resolved lexically
/// (`a/../b` → `b`), but a `..` that would climb above the root is an error, not clamped:
/// `../x` and `/../x` name something outside the layer. NUL bytes are an error too.
pub fn normalize_path(raw: &str) -> Result<String, DiffError> {
    if raw.contains('\0') {
        return Err(DiffError::path(raw, "contains a NUL byte"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(DiffError::path(raw, "escapes the root"));
                }
            }
            _ => parts.push(part),
        }
    }
    Ok(parts.join("/"))
}

/// True when `path` is already in the form [`normalize_path`] returns.
pub(crate) fn is_normalized(path: &str) -> bool {
    path.is_empty()
        || (!path.contains('\0')
            && path
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != ".."))
}

/// Orders paths as a tree walk does: a directory is followed by everything under it before its
/// next sibling (`a`, `a/b`, `a-b`), which is byte order with `/` sorting before every other
/// byte.
pub fn compare_paths(a: &str, b: &str) -> Ordering {
    let key = |c: u8| if c == b'/' { 0 } else { c };
    a.bytes().map(key).cmp(b.bytes().map(key))
}

/// The parent of a normalised path (`"a/b"` → `"a"`, `"a"` → `""`), or `None` for the root.
pub fn parent_path(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    Some(path.rsplit_once('/').map_or("", |(parent, _)| parent))
}

/// The last component of a normalised path (`""` for the root).
pub(crate) fn base_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, base)| base)
}

/// Joins a normalised directory and a name.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// What a name in a layer tar stands for, once whiteout names are understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TarName {
    /// An ordinary entry at this normalised path.
    Path(String),
    /// `<dir>/.wh.<name>`: a whiteout deleting this normalised path from lower layers.
    Whiteout(String),
    /// `<dir>/.wh..wh..opq`: this normalised directory is opaque.
    Opaque(String),
    /// Other `.wh..wh.*` metadata, which layers ignore.
    Meta,
}

/// Normalises a tar entry name and recognises whiteouts: `.wh.<name>` becomes a whiteout of
/// the sibling `<name>`, `.wh..wh..opq` an opaque marker on its directory, other `.wh..wh.*`
/// names are [`TarName::Meta`]. `.wh.` alone (and `.wh..`/`.wh...`, which name nothing) is an
/// error.
pub fn parse_tar_name(raw: &str) -> Result<TarName, DiffError> {
    let path = normalize_path(raw)?;
    let base = base_name(&path);
    let Some(hidden) = base.strip_prefix(WHITEOUT_PREFIX) else {
        return Ok(TarName::Path(path));
    };
    let dir = parent_path(&path).unwrap_or("");
    if base == OPAQUE_MARKER {
        return Ok(TarName::Opaque(dir.to_string()));
    }
    if base.starts_with(META_PREFIX) {
        return Ok(TarName::Meta);
    }
    if hidden.is_empty() || hidden == "." || hidden == ".." {
        return Err(DiffError::path(raw, "whiteout names nothing"));
    }
    Ok(TarName::Whiteout(join(dir, hidden)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn check(inputs: &[&str], expect: Expect) {
        let out: Vec<String> = inputs
            .iter()
            .map(|raw| match parse_tar_name(raw) {
                Ok(name) => format!("{raw:?} -> {name:?}"),
                Err(e) => format!("{raw:?} -> error: {e}"),
            })
            .collect();
        expect.assert_eq(&out.join("\n"));
    }

    #[test]
    fn names() {
        check(
            &[
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
                "a\0b",
            ],
            expect![[r#"
                "./a/" -> Path("a")
                "/etc/passwd" -> Path("etc/passwd")
                "a//b/./c" -> Path("a/b/c")
                "a/../b" -> Path("b")
                "./" -> Path("")
                "." -> Path("")
                "../x" -> error: path "../x": escapes the root
                "/../x" -> error: path "/../x": escapes the root
                "a/../../x" -> error: path "a/../../x": escapes the root
                "etc/.wh.passwd" -> Whiteout("etc/passwd")
                ".wh.etc" -> Whiteout("etc")
                "usr/.wh..wh..opq" -> Opaque("usr")
                "./.wh..wh..opq" -> Opaque("")
                "usr/.wh..wh.plnk" -> Meta
                "usr/.wh." -> error: path "usr/.wh.": whiteout names nothing
                "usr/.wh.." -> error: path "usr/.wh..": whiteout names nothing
                "a\0b" -> error: path "a\0b": contains a NUL byte"#]],
        );
    }

    #[test]
    fn tree_order() {
        let mut paths = vec!["a-b", "a/b", "a", "", "a/b/c", "a.b", "b", "a/c"];
        paths.sort_by(|a, b| compare_paths(a, b));
        expect![[r#"["", "a", "a/b", "a/b/c", "a/c", "a-b", "a.b", "b"]"#]]
            .assert_eq(&format!("{paths:?}"));
    }

    #[test]
    fn parents() {
        let out: Vec<_> = ["a/b/c", "a", ""].iter().map(|p| parent_path(p)).collect();
        expect![[r#"[Some("a/b"), Some(""), None]"#]].assert_eq(&format!("{out:?}"));
    }
}
