//! Plain-text renderings of a union for snapshot tests and terminals.

use crate::{Change, Union};
use layer_diff::{Content, Entry, EntryKind};
use std::fmt::Write as _;

/// Layers are numbered from 1 in renderings, as in fixtures (`L1` is index 0).
fn layer(n: usize) -> String {
    format!("L{}", n + 1)
}

fn shown(path: &str, dir: bool) -> String {
    match (path.is_empty(), dir) {
        (true, _) => "/".into(),
        (false, true) => format!("/{path}/"),
        (false, false) => format!("/{path}"),
    }
}

/// `file 11 "root:x:0:0\n"`, `dir`, `symlink -> usr/lib`, `char 1:3`, …
fn what(e: &Entry) -> String {
    match &e.kind {
        EntryKind::File { size, content } => match content {
            Content::Inline(bytes) if bytes.len() <= 24 => {
                format!("file {size} {:?}", String::from_utf8_lossy(bytes))
            }
            _ => format!("file {size}"),
        },
        EntryKind::Symlink { target } => format!("symlink -> {target}"),
        EntryKind::Hardlink { target } => format!("hardlink => /{target}"),
        EntryKind::CharDevice { major, minor } => format!("char {major}:{minor}"),
        EntryKind::BlockDevice { major, minor } => format!("block {major}:{minor}"),
        other => other.name().to_string(),
    }
}

/// Metadata that differs from a new entry's defaults.
fn attrs(e: &Entry) -> String {
    let mut out = String::new();
    if e.mode != e.kind.default_mode() {
        let _ = write!(out, " mode={:04o}", e.mode);
    }
    if e.uid != 0 || e.gid != 0 {
        let _ = write!(out, " owner={}:{}", e.uid, e.gid);
    }
    if e.mtime != 0 {
        let _ = write!(out, " mtime={}", e.mtime);
    }
    if !e.xattrs.is_empty() {
        let names: Vec<&str> = e.xattrs.keys().map(String::as_str).collect();
        let _ = write!(out, " xattrs={}", names.join(","));
    }
    out
}

/// The merged tree, one line per path that any layer touched, in tree order:
///
/// ```text
/// /etc/passwd   L3 file 4 "new\n" | hides L1 file 4 "old\n" | whiteout L2
/// /usr/lib/x    gone | hides L1 file 3 | opaque L2 at /usr/
/// ```
///
/// A visible path shows its provider and entry (`(implied)` for directories no layer lists,
/// `(L1 /bin/ls)` or `(dangling)` after a hard link), a hidden one `gone`; then the lower
/// versions it hides and the whiteouts and opaque markers bearing on it. Directories end in
/// `/`; layers are numbered from 1 as in fixtures; the root is shown only when a layer lists
/// it or marks it.
pub fn render(u: &Union) -> String {
    let mut lines: Vec<(String, String)> = Vec::new();
    for path in u.all_paths() {
        if path.is_empty() && !u.has_explicit("") && u.markers_at("").is_empty() {
            continue;
        }
        let node = u.get(path);
        let is_dir = node
            .or_else(|| u.last_version(path))
            .is_some_and(|n| n.entry.is_dir());
        let mut text = match node {
            Some(n) => {
                let mut s = format!(
                    "{} {}{}",
                    layer(n.provider),
                    what(&n.entry),
                    attrs(&n.entry)
                );
                if n.implied {
                    s += " (implied)";
                }
                if matches!(n.entry.kind, EntryKind::Hardlink { .. }) {
                    match &n.link {
                        Some(src) => {
                            let _ = write!(s, " ({} /{})", layer(src.layer), src.path);
                        }
                        None => s += " (dangling)",
                    }
                }
                s
            }
            None if u.has_record(path) => "gone".to_string(),
            None => "absent".to_string(),
        };
        let hides: Vec<String> = u
            .shadowed(path)
            .iter()
            .map(|(l, e)| format!("{} {}", layer(*l), what(e)))
            .collect();
        if !hides.is_empty() {
            let _ = write!(text, " | hides {}", hides.join(", "));
        }
        let markers: Vec<String> = u
            .markers(path)
            .iter()
            .map(|(l, e)| {
                let at = if e.path == path {
                    String::new()
                } else {
                    format!(" at {}", shown(&e.path, true))
                };
                format!("{} {}{at}", e.kind.name(), layer(*l))
            })
            .collect();
        if !markers.is_empty() {
            let _ = write!(text, " | {}", markers.join(", "));
        }
        lines.push((shown(path, is_dir), text));
    }
    let width = lines
        .iter()
        .map(|(p, _)| p.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (path, text) in lines {
        let pad = width - path.chars().count();
        let _ = writeln!(out, "{path}{:pad$}  {text}", "");
    }
    out
}

/// Each layer's changes, one per line: `L2 M /etc/passwd` (`A`dded, `M`odified, `R`emoved).
pub fn render_changes(u: &Union) -> String {
    let mut out = String::new();
    for n in 0..u.layer_count() {
        for (path, change) in u.layer_changes(n) {
            let dir = match change {
                Change::Removed => u
                    .get_at(path, n.saturating_sub(1))
                    .is_some_and(|e| e.entry.is_dir()),
                _ => u.get_at(path, n).is_some_and(|e| e.entry.is_dir()),
            };
            let _ = writeln!(out, "{} {} {}", layer(n), change.letter(), shown(path, dir));
        }
    }
    out
}

/// The efficiency summary and the inefficient paths, largest waste first.
pub fn render_efficiency(u: &Union) -> String {
    let e = u.efficiency();
    let mut out = format!(
        "score {:.4} = {} / {} bytes; wasted {} bytes; size {}, user size {}",
        e.score,
        e.minimum_bytes,
        e.discovered_bytes,
        e.wasted_bytes,
        e.size_bytes,
        e.user_size_bytes
    );
    if let Some(p) = e.wasted_user_percent() {
        let _ = write!(out, "; wasted/user {:.4}", p);
    }
    out.push('\n');
    for i in &e.inefficient {
        let layers: Vec<String> = i.layers.iter().map(|l| layer(*l)).collect();
        let _ = writeln!(
            out,
            "  {} bytes (min {}) /{} in {}",
            i.cumulative_size,
            i.minimum_size,
            i.path,
            layers.join(", ")
        );
    }
    out
}
