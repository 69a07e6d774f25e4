//! A layer stack's union view (`layer_union::Union`) as the dashboard's `TreeDto`, built in one
//! place: the server answers `/api/images/{name}/tree` and `/api/containers/{id}/tree` with
//! it, and the web app's tests read its output, so the two ends cannot drift apart. Likewise
//! two images' comparison as a `CompareDto` (`/api/images/{name}/compare`).
//!
//! Paths are rooted (`/etc/passwd`); markers (whiteouts, opaque directories) are listed on
//! their own path only; shadowed versions and markers cover the hidden paths too.
//!
//! ```
//! let layers = layer_union::fixture::parse(
//!     "layer 1:\n  /etc/motd \"hi\"\nlayer 2:\n  /etc/.wh.motd\n",
//! )
//! .unwrap();
//! let t = union_dto::tree_dto(&layer_union::Union::build(&layers), &[]);
//! assert_eq!(t.markers["/etc/motd"][0].kind, "whiteout");
//! ```
//!
//! Deliberately absent: file contents (the server reads them on demand), presentation (the
//! web app's `tree` module), I/O of any kind.
#![deny(missing_docs)]

use api_types::{
    CompareDto, EfficiencyDto, InefficiencyDto, LinkDto, MarkerDto, MergedDto, PathDiffDto,
    ShadowedDto, SideDto, TreeDto, TreeLayerDto,
};
use layer_diff::EntryKind;
use layer_union::{Difference, MergedEntry, Union};
use std::collections::BTreeMap;

fn rooted(p: &str) -> String {
    format!("/{p}")
}

fn size_of(kind: &EntryKind) -> u64 {
    match kind {
        EntryKind::File { size, .. } => *size,
        _ => 0,
    }
}

fn target_of(kind: &EntryKind) -> Option<String> {
    match kind {
        EntryKind::Symlink { target } => Some(target.clone()),
        EntryKind::Hardlink { target } => Some(rooted(target)),
        _ => None,
    }
}

/// How the merged views of two images differ ([`layer_union::compare`]), as a `CompareDto`:
/// counts by letter, the first `limit` paths, and `shared_layers`, the length of the
/// stacks' common start (given by the caller, who knows the layers' digests). `a` and `b`
/// are the images' IDs.
pub fn compare_dto(
    a: (&str, &Union),
    b: (&str, &Union),
    shared_layers: usize,
    limit: usize,
) -> CompareDto {
    let side = |m: Option<&MergedEntry>| {
        m.map(|m| SideDto {
            layer: m.provider as u64,
            kind: m.entry.kind.name().to_string(),
            size: size_of(&m.entry.kind),
            mode: m.entry.mode & 0o7777,
            uid: m.entry.uid,
            gid: m.entry.gid,
            target: target_of(&m.entry.kind),
        })
    };
    let mut dto = CompareDto {
        a: a.0.to_string(),
        b: b.0.to_string(),
        shared_layers: shared_layers as u64,
        ..CompareDto::default()
    };
    for d in layer_union::compare(a.1, b.1) {
        match &d.difference {
            Difference::Added => dto.added += 1,
            Difference::Removed => dto.removed += 1,
            Difference::Changed(_) => dto.changed += 1,
        }
        if dto.paths.len() == limit {
            dto.truncated = true;
            continue;
        }
        dto.paths.push(PathDiffDto {
            path: rooted(d.path),
            change: d.difference.letter().to_string(),
            aspects: match &d.difference {
                Difference::Changed(aspects) => {
                    aspects.iter().map(|a| a.name().to_string()).collect()
                }
                _ => Vec::new(),
            },
            a: side(d.a),
            b: side(d.b),
        });
    }
    dto
}

/// The union with its layer labels (bottom first; a missing label is empty) as a `TreeDto`.
pub fn tree_dto(union: &Union, labels: &[String]) -> TreeDto {
    let layers = (0..union.layer_count())
        .map(|i| TreeLayerDto {
            index: i as u64,
            label: labels.get(i).cloned().unwrap_or_default(),
            changes: union
                .layer_changes(i)
                .iter()
                .map(|(p, c)| (rooted(p), c.letter().to_string()))
                .collect(),
        })
        .collect();
    let mut shadowed = BTreeMap::new();
    let mut merged = Vec::new();
    for m in union.merged() {
        let e = &m.entry;
        merged.push(MergedDto {
            path: rooted(&e.path),
            kind: e.kind.name().to_string(),
            size: size_of(&e.kind),
            mode: e.mode & 0o7777,
            uid: e.uid,
            gid: e.gid,
            mtime: e.mtime,
            provider: m.provider as u64,
            implied: m.implied,
            link: m.link.as_ref().map(|l| LinkDto {
                layer: l.layer as u64,
                path: rooted(&l.path),
            }),
            target: target_of(&e.kind),
        });
    }
    let paths: Vec<String> = union
        .merged()
        .map(|m| m.entry.path.clone())
        .chain(union.hidden().map(str::to_string))
        .collect();
    let mut markers = BTreeMap::new();
    for p in paths {
        let own: Vec<MarkerDto> = union
            .markers(&p)
            .into_iter()
            .filter(|(_, e)| e.path == p)
            .map(|(layer, e)| MarkerDto {
                layer: layer as u64,
                kind: e.kind.name().to_string(),
                path: rooted(&e.path),
            })
            .collect();
        if !own.is_empty() {
            markers.insert(rooted(&p), own);
        }
        let versions: Vec<ShadowedDto> = union
            .shadowed(&p)
            .into_iter()
            .map(|(layer, e)| ShadowedDto {
                layer: layer as u64,
                kind: e.kind.name().to_string(),
                size: size_of(&e.kind),
                mode: e.mode & 0o7777,
            })
            .collect();
        if !versions.is_empty() {
            shadowed.insert(rooted(&p), versions);
        }
    }
    let eff = union.efficiency();
    TreeDto {
        layers,
        merged,
        shadowed,
        markers,
        efficiency: EfficiencyDto {
            score: eff.score,
            wasted_bytes: eff.wasted_bytes,
            size_bytes: eff.size_bytes,
            user_size_bytes: eff.user_size_bytes,
            inefficient: eff
                .inefficient
                .iter()
                .map(|i| InefficiencyDto {
                    path: rooted(&i.path),
                    cumulative_size: i.cumulative_size,
                    minimum_size: i.minimum_size,
                    layers: i.layers.iter().map(|l| *l as u64).collect(),
                })
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_as_dto() {
        let layers = layer_union::fixture::parse(
            r#"
            layer 1:
              /etc/passwd "root\n"
              /bin/ls 1200
            layer 2:
              /etc/.wh.passwd
              /bin/sh => /bin/ls
              /bin/ll -> ls
            "#,
        )
        .unwrap();
        let u = Union::build(&layers);
        let t = tree_dto(&u, &["sha256:a".into(), "sha256:b".into()]);
        assert_eq!(t.layers.len(), 2);
        assert_eq!(t.layers[1].label, "sha256:b");
        let pair = |p: &str, c: &str| (p.to_string(), c.to_string());
        assert_eq!(
            t.layers[1].changes,
            [
                pair("/bin/ll", "A"),
                pair("/bin/sh", "A"),
                pair("/etc/passwd", "R")
            ]
        );
        let sh = t.merged.iter().find(|m| m.path == "/bin/sh").unwrap();
        assert_eq!(
            (sh.kind.as_str(), sh.provider, sh.target.as_deref()),
            ("hardlink", 1, Some("/bin/ls"))
        );
        let link = sh.link.as_ref().unwrap();
        assert_eq!((link.layer, link.path.as_str()), (0, "/bin/ls"));
        let ll = t.merged.iter().find(|m| m.path == "/bin/ll").unwrap();
        assert_eq!(
            (ll.kind.as_str(), ll.target.as_deref(), ll.implied),
            ("symlink", Some("ls"), false)
        );
        assert!(t.merged.iter().all(|m| m.path != "/etc/passwd"));
        let gone = &t.shadowed["/etc/passwd"];
        assert_eq!(
            (gone[0].layer, gone[0].kind.as_str(), gone[0].size),
            (0, "file", 5)
        );
        assert_eq!(t.efficiency.wasted_bytes, 5);
        let m = &t.markers["/etc/passwd"];
        assert_eq!(
            (m.len(), m[0].layer, m[0].kind.as_str(), m[0].path.as_str()),
            (1, 1, "whiteout", "/etc/passwd")
        );
        assert!(
            !t.markers.contains_key("/etc"),
            "markers are listed on their own path only"
        );
    }
}
