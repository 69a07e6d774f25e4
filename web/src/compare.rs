//! Two images side by side: the page's query, their stacks layer by layer with the shared
//! base marked, and the texts of the paths that differ (from `/api/images/{a}/compare`).

use crate::wire::{CompareDto, ImageDetailDto, LayerDto, SideDto};
use docker_format::human_size;

/// `?a=<image>&b=<image>` of the page's location (`search` with or without its `?`).
pub fn from_query(search: &str) -> (Option<String>, Option<String>) {
    let mut a = None;
    let mut b = None;
    for pair in search.trim_start_matches('?').split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = crate::route::decode(&v.replace('+', " "));
        if v.is_empty() {
            continue;
        }
        match k {
            "a" => a = Some(v),
            "b" => b = Some(v),
            _ => {}
        }
    }
    (a, b)
}

/// The page's location for a pair (either may be missing while the user picks).
pub fn href(a: Option<&str>, b: Option<&str>) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|c| match c {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b':' | b'/' => {
                    (c as char).to_string()
                }
                _ => format!("%{c:02X}"),
            })
            .collect::<String>()
    };
    let mut q = Vec::new();
    if let Some(a) = a {
        q.push(format!("a={}", enc(a)));
    }
    if let Some(b) = b {
        q.push(format!("b={}", enc(b)));
    }
    if q.is_empty() {
        "/ui/compare".into()
    } else {
        format!("/ui/compare?{}", q.join("&"))
    }
}

/// One row of the side-by-side stacks: layer `index` (0 = bottom) of each image, if it has
/// one, and whether it belongs to the shared base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackRow {
    /// 0-based, bottom first.
    pub index: usize,
    /// `Layer 1 · 2.1 MB` for the first image, if it has that many layers.
    pub a: Option<String>,
    /// The same for the second.
    pub b: Option<String>,
    /// Both stacks have this very layer here, and every one below it.
    pub shared: bool,
}

/// The two stacks bottom first, row by row, up to the taller one; each layer named by what
/// made it (its instruction or commit message, as the image page names it).
pub fn stack_rows(a: &ImageDetailDto, b: &ImageDetailDto, shared: usize) -> Vec<StackRow> {
    let (names_a, names_b) = (crate::stack::layer_names(a), crate::stack::layer_names(b));
    let cell = |d: &ImageDetailDto, names: &[String], i: usize| {
        d.layers.get(i).map(
            |l| match names.get(i).map(|n| n.trim()).filter(|n| !n.is_empty()) {
                Some(n) => format!("Layer {} · {n} · {}", i + 1, human_size(l.size)),
                None => format!("Layer {} · {}", i + 1, human_size(l.size)),
            },
        )
    };
    (0..a.layers.len().max(b.layers.len()))
        .map(|i| StackRow {
            index: i,
            a: cell(a, &names_a, i),
            b: cell(b, &names_b, i),
            shared: i < shared,
        })
        .collect()
}

/// `Shared base: 1 layer, 2.1 MB`, and where they diverge, in words.
pub fn base_text(a: &[LayerDto], b: &[LayerDto], shared: usize) -> String {
    let layers = |n: usize| {
        if n == 1 {
            "1 layer".to_string()
        } else {
            format!("{n} layers")
        }
    };
    let bytes = |ls: &[LayerDto]| human_size(ls.iter().map(|l| l.size).sum());
    let base = &a[..shared.min(a.len())];
    let (rest_a, rest_b) = (
        a.len().saturating_sub(shared),
        b.len().saturating_sub(shared),
    );
    match (shared, rest_a, rest_b) {
        (0, _, _) => "No shared base: the two stacks differ from their first layer.".into(),
        (_, 0, 0) => format!(
            "The same stack: all {} shared ({}).",
            layers(shared),
            bytes(base)
        ),
        _ => format!(
            "Shared base: {} ({}); they diverge at layer {}.",
            layers(shared),
            bytes(base),
            shared + 1
        ),
    }
}

/// `13 paths differ: 3 only in the second image, 2 only in the first, 8 changed.`
pub fn summary(c: &CompareDto) -> String {
    let total = c.added + c.removed + c.changed;
    if total == 0 {
        return "No path differs: the two images hold the same files (modification times aside)."
            .into();
    }
    let head = if total == 1 {
        "1 path differs".to_string()
    } else {
        format!("{total} paths differ")
    };
    let mut out = format!(
        "{head}: {} only in the second image, {} only in the first, {} changed.",
        c.added, c.removed, c.changed
    );
    if c.truncated {
        out.push_str(&format!(" The first {} are listed.", c.paths.len()));
    }
    out
}

/// What an image shows at a path: `file 19 B · 0644 · layer 2`, `symlink → /var/srv · layer 2`.
pub fn side_text(s: Option<&SideDto>) -> String {
    let Some(s) = s else {
        return "—".into();
    };
    let what = match (s.kind.as_str(), &s.target) {
        ("file", _) => format!("file {}", human_size(s.size)),
        (kind, Some(t)) => format!("{kind} → {t}"),
        (kind, None) => kind.to_string(),
    };
    let owner = if s.uid != 0 || s.gid != 0 {
        format!(" · {}:{}", s.uid, s.gid)
    } else {
        String::new()
    };
    format!("{what} · {:04o}{owner} · layer {}", s.mode, s.layer + 1)
}

/// `A` → `only in the second`, `D` → `only in the first`, `C` → `content, mode`.
pub fn change_text(change: &str, aspects: &[String]) -> String {
    match change {
        "A" => "only in the second".into(),
        "D" => "only in the first".into(),
        _ => aspects.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{HistoryDto, PathDiffDto};

    fn layers(sizes: &[u64]) -> Vec<LayerDto> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, s)| LayerDto {
                diff_id: format!("sha256:{i}"),
                size: *s,
                refcount: 1,
            })
            .collect()
    }

    #[test]
    fn the_query_names_both_images_and_round_trips() {
        assert_eq!(
            from_query("?a=app%3A1&b=sha256%3Aab"),
            (Some("app:1".into()), Some("sha256:ab".into()))
        );
        assert_eq!(from_query(""), (None, None));
        assert_eq!(from_query("?b=x&a="), (None, Some("x".into())));
        let h = href(Some("my app:1"), Some("reg:5000/x:2"));
        assert_eq!(h, "/ui/compare?a=my%20app:1&b=reg:5000/x:2");
        assert_eq!(
            from_query(h.split_once('?').unwrap().1),
            (Some("my app:1".into()), Some("reg:5000/x:2".into()))
        );
        assert_eq!(href(None, None), "/ui/compare");
    }

    fn image(sizes: &[u64], steps: &[&str]) -> ImageDetailDto {
        ImageDetailDto {
            layers: layers(sizes),
            // newest first, one step per layer
            history: steps
                .iter()
                .zip(sizes)
                .rev()
                .map(|(s, size)| HistoryDto {
                    created_by: s.to_string(),
                    size: *size,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_stacks_side_by_side_mark_the_shared_base() {
        let a = layers(&[2_000_000, 19]);
        let b = layers(&[2_000_000, 5, 7]);
        let rows = stack_rows(
            &image(&[2_000_000, 19], &[]),
            &image(&[2_000_000, 5, 7], &["", "COPY a /a", "COPY b /b"]),
            1,
        );
        assert_eq!(rows.len(), 3);
        assert!(rows[0].shared && !rows[1].shared);
        assert_eq!(rows[0].a.as_deref(), Some("Layer 1 · 2MB"));
        assert_eq!(rows[2].a, None);
        assert_eq!(rows[2].b.as_deref(), Some("Layer 3 · COPY b /b · 7B"));
        assert_eq!(
            base_text(&a, &b, 1),
            "Shared base: 1 layer (2MB); they diverge at layer 2."
        );
        assert_eq!(
            base_text(&a, &a, 2),
            "The same stack: all 2 layers shared (2MB)."
        );
        assert_eq!(
            base_text(&a, &b, 0),
            "No shared base: the two stacks differ from their first layer."
        );
    }

    #[test]
    fn the_differences_in_words() {
        let mut c = CompareDto {
            added: 3,
            removed: 2,
            changed: 8,
            ..Default::default()
        };
        assert_eq!(
            summary(&c),
            "13 paths differ: 3 only in the second image, 2 only in the first, 8 changed."
        );
        c.truncated = true;
        c.paths = vec![PathDiffDto::default(); 10];
        assert!(summary(&c).ends_with(" The first 10 are listed."));
        assert!(summary(&CompareDto::default()).starts_with("No path differs"));
        let file = SideDto {
            layer: 1,
            kind: "file".into(),
            size: 19,
            mode: 0o644,
            ..Default::default()
        };
        assert_eq!(side_text(Some(&file)), "file 19B · 0644 · layer 2");
        let link = SideDto {
            kind: "symlink".into(),
            target: Some("/var/srv".into()),
            mode: 0o777,
            uid: 1,
            ..Default::default()
        };
        assert_eq!(
            side_text(Some(&link)),
            "symlink → /var/srv · 0777 · 1:0 · layer 1"
        );
        assert_eq!(side_text(None), "—");
        assert_eq!(
            change_text("C", &["content".into(), "mode".into()]),
            "content, mode"
        );
        assert_eq!(change_text("A", &[]), "only in the second");
    }
}
