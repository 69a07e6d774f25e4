//! Map keys that sort paths in tree order, and walks over subtrees of such maps.

use layer_diff::compare_paths;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A normalised path ordered as a tree walk (`a`, `a/b`, `a-b`), so a directory's subtree is
/// one contiguous range of a map.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PathKey(pub(crate) String);

impl PathKey {
    pub(crate) fn new(path: &str) -> PathKey {
        PathKey(path.to_string())
    }
}

impl Ord for PathKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_paths(&self.0, &other.0)
    }
}

impl PartialOrd for PathKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// True when `path` is strictly under `dir`.
pub(crate) fn is_under(path: &str, dir: &str) -> bool {
    if dir.is_empty() {
        !path.is_empty()
    } else {
        path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
    }
}

/// The entries of `map` strictly under `dir`, in tree order.
pub(crate) fn subtree<'a, V>(
    map: &'a BTreeMap<PathKey, V>,
    dir: &'a str,
) -> impl Iterator<Item = (&'a PathKey, &'a V)> + 'a {
    map.range(PathKey(format!("{dir}/"))..)
        .take_while(move |(k, _)| is_under(&k.0, dir))
}

/// The ancestors of a normalised path, root (`""`) first, the path itself excluded.
pub(crate) fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let root = (!path.is_empty()).then_some("");
    root.into_iter()
        .chain(path.match_indices('/').map(move |(i, _)| &path[..i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtrees_and_ancestors() {
        let map: BTreeMap<PathKey, ()> = ["", "a", "a/b", "a/b/c", "a-b", "ab", "b"]
            .iter()
            .map(|p| (PathKey::new(p), ()))
            .collect();
        let under =
            |d: &str| -> Vec<String> { subtree(&map, d).map(|(k, _)| k.0.clone()).collect() };
        assert_eq!(under("a"), ["a/b", "a/b/c"]);
        assert_eq!(under(""), ["a", "a/b", "a/b/c", "a-b", "ab", "b"]);
        assert_eq!(under("a/b/c"), Vec::<String>::new());
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), ["", "a", "a/b"]);
        assert_eq!(ancestors("").count(), 0);
    }
}
