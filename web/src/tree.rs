//! The union explorer's shapes: a layer stack's union view (built in the browser by
//! [`layer_union::Union`] for the sandbox, or read from the server's `TreeDto`) turned into the
//! rows of a file tree (merged view, or one layer only), the details of a selected path (the
//! versions it shadows, the whiteouts and opaque markers bearing on it, the content of each
//! version when known), and the efficiency panel.
//!
//! Pure: the same [`View`] draws an image's union, a container's (image layers plus its
//! writable layer) and the sandbox's. Layers are numbered from 1 on screen ("layer 2") and
//! from 0 in the model.
//!
//! The server's `TreeDto` lists the whiteout and opaque markers. When it lists none (a server
//! from before markers; a layer removes paths only with markers, so a stack without any has
//! nothing removed), a path a layer removed is shown with a whiteout in that layer, which is
//! what the layer holds unless it made the parent directory opaque. Layer numbers arrive as
//! `u64` and are `usize` here.

use crate::wire::TreeDto;
use docker_format::human_size;
use layer_diff::{compare_paths, parent_path, Content, Entry, EntryKind};
use layer_union::Union;
use std::collections::{BTreeMap, BTreeSet};

/// One version of a path: what one layer put there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Version {
    /// The layer (0-based) that provides it.
    pub layer: usize,
    /// `file`, `dir`, `symlink`, `hardlink`, `char`, `block`, `fifo`.
    pub kind: String,
    /// File bytes (0 otherwise).
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Link target as written.
    pub target: Option<String>,
    /// The bytes as text, when the layer kept them and they are text.
    pub text: Option<String>,
    /// A directory no layer lists, needed by a deeper path.
    pub implied: bool,
}

impl Version {
    fn of(layer: usize, e: &Entry, implied: bool) -> Version {
        let (target, text) = match &e.kind {
            EntryKind::Symlink { target } => (Some(target.clone()), None),
            EntryKind::Hardlink { target } => (Some(slash(target)), None),
            EntryKind::File { content, .. } => (None, text_of(content)),
            _ => (None, None),
        };
        Version {
            layer,
            kind: e.kind.name().to_string(),
            size: e.size(),
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            target,
            text,
            implied,
        }
    }

    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.kind == "dir"
    }

    /// `file, 11B, mode 0644, owner 0:0`, `symlink → busybox`, `directory, …`.
    pub fn describe(&self) -> String {
        let mut s = match self.kind.as_str() {
            "file" => format!("file, {}", human_size(self.size)),
            "symlink" => format!("symlink → {}", self.target.as_deref().unwrap_or("")),
            "hardlink" => format!("hard link → {}", self.target.as_deref().unwrap_or("")),
            "char" => "character device".into(),
            "block" => "block device".into(),
            "dir" => "directory".into(),
            "fifo" => "named pipe".into(),
            other => other.to_string(),
        };
        s.push_str(&format!(
            ", mode {:04o}, owner {}:{}",
            self.mode, self.uid, self.gid
        ));
        s
    }
}

/// A whiteout or opaque marker a layer holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerAt {
    /// The layer.
    pub layer: usize,
    /// `whiteout` or `opaque`.
    pub kind: &'static str,
    /// The normalised path it is on (the deleted path, or the opaque directory).
    pub path: String,
}

/// A layer stack's union view with provenance: what the explorer draws.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct View {
    /// Layer labels (`sha256:…` diff IDs, `writable`, or sandbox titles), bottom first.
    pub labels: Vec<String>,
    /// Visible paths in tree order (the root excluded).
    order: Vec<String>,
    visible: BTreeMap<String, Version>,
    shadowed: BTreeMap<String, Vec<Version>>,
    markers: BTreeMap<String, Vec<MarkerAt>>,
    changes: Vec<Vec<(String, char)>>,
    /// dive's score (0..1).
    pub score: f64,
    /// dive's wasted bytes.
    pub wasted_bytes: u64,
    /// Wasteful paths: (normalised path, bytes of all copies, layers).
    pub inefficient: Vec<(String, u64, Vec<usize>)>,
}

fn norm(p: &str) -> String {
    p.trim_start_matches('/').trim_end_matches('/').to_string()
}

impl View {
    /// The view of a union built in the browser (the sandbox).
    pub fn from_union(u: &Union, labels: Vec<String>) -> View {
        let mut v = View {
            labels,
            ..Default::default()
        };
        let mut all: Vec<String> = Vec::new();
        for m in u.merged() {
            let p = m.path().to_string();
            all.push(p.clone());
            if p.is_empty() {
                continue;
            }
            v.order.push(p.clone());
            v.visible
                .insert(p, Version::of(m.provider, &m.entry, m.implied));
        }
        all.extend(u.hidden().map(str::to_string));
        let mut seen = BTreeSet::new();
        for p in &all {
            let sh: Vec<Version> = u
                .shadowed(p)
                .into_iter()
                .map(|(l, e)| Version::of(l, e, false))
                .collect();
            if !sh.is_empty() {
                v.shadowed.insert(p.clone(), sh);
            }
            for (l, e) in u.markers(p) {
                let kind = if matches!(e.kind, EntryKind::Opaque) {
                    "opaque"
                } else {
                    "whiteout"
                };
                if seen.insert((e.path.clone(), l, kind)) {
                    v.markers.entry(e.path.clone()).or_default().push(MarkerAt {
                        layer: l,
                        kind,
                        path: e.path.clone(),
                    });
                }
            }
        }
        v.changes = (0..u.layer_count())
            .map(|n| {
                u.layer_changes(n)
                    .iter()
                    .map(|(p, c)| (p.clone(), c.letter()))
                    .collect()
            })
            .collect();
        let e = u.efficiency();
        v.score = e.score;
        v.wasted_bytes = e.wasted_bytes;
        v.inefficient = e
            .inefficient
            .iter()
            .map(|i| (i.path.clone(), i.cumulative_size, i.layers.clone()))
            .collect();
        v
    }

    /// The view the server sent (`GET /api/images/{name}/tree`, `/api/containers/{id}/tree`).
    pub fn from_dto(t: &TreeDto) -> View {
        let mut v = View {
            labels: t.layers.iter().map(|l| l.label.clone()).collect(),
            ..Default::default()
        };
        for m in &t.merged {
            let p = norm(&m.path);
            if p.is_empty() {
                continue;
            }
            v.order.push(p.clone());
            v.visible.insert(
                p,
                Version {
                    layer: m.provider as usize,
                    kind: m.kind.clone(),
                    size: m.size,
                    mode: m.mode,
                    uid: m.uid,
                    gid: m.gid,
                    target: m.target.clone(),
                    text: None,
                    implied: m.implied,
                },
            );
        }
        v.order.sort_by(|a, b| compare_paths(a, b));
        for (p, list) in &t.shadowed {
            v.shadowed.insert(
                norm(p),
                list.iter()
                    .map(|s| Version {
                        layer: s.layer as usize,
                        kind: s.kind.clone(),
                        size: s.size,
                        mode: s.mode,
                        ..Default::default()
                    })
                    .collect(),
            );
        }
        v.changes = t
            .layers
            .iter()
            .map(|l| {
                l.changes
                    .iter()
                    .map(|(p, c)| (norm(p), c.chars().next().unwrap_or('?')))
                    .collect()
            })
            .collect();
        if !t.markers.is_empty() {
            for list in t.markers.values() {
                for m in list {
                    let kind = if m.kind == "opaque" {
                        "opaque"
                    } else {
                        "whiteout"
                    };
                    let p = norm(&m.path);
                    v.markers.entry(p.clone()).or_default().push(MarkerAt {
                        layer: m.layer as usize,
                        kind,
                        path: p,
                    });
                }
            }
        } else {
            // a removed path whose parent the same layer did not remove: its whiteout
            for (n, list) in v.changes.iter().enumerate() {
                let removed: BTreeSet<&str> = list
                    .iter()
                    .filter(|(_, c)| *c == 'R')
                    .map(|(p, _)| p.as_str())
                    .collect();
                for p in &removed {
                    let covered = ancestors(p).any(|a| removed.contains(a));
                    if !covered {
                        v.markers.entry(p.to_string()).or_default().push(MarkerAt {
                            layer: n,
                            kind: "whiteout",
                            path: p.to_string(),
                        });
                    }
                }
            }
        }
        for list in v.markers.values_mut() {
            list.sort_by_key(|m| m.layer);
        }
        v.score = t.efficiency.score;
        v.wasted_bytes = t.efficiency.wasted_bytes;
        v.inefficient = t
            .efficiency
            .inefficient
            .iter()
            .map(|i| {
                let layers = i.layers.iter().map(|&l| l as usize).collect();
                (norm(&i.path), i.cumulative_size, layers)
            })
            .collect();
        v
    }

    /// Number of layers.
    pub fn layer_count(&self) -> usize {
        self.changes.len().max(self.labels.len())
    }

    /// The visible entry at `path`.
    pub fn get(&self, path: &str) -> Option<&Version> {
        self.visible.get(path)
    }

    /// Paths some layer provided that the merged view no longer shows.
    pub fn hidden(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .shadowed
            .keys()
            .filter(|p| !p.is_empty() && !self.visible.contains_key(*p))
            .map(String::as_str)
            .collect();
        out.sort_by(|a, b| compare_paths(a, b));
        out
    }

    /// The versions of `path` the merged view does not show, bottom first.
    pub fn shadowed(&self, path: &str) -> &[Version] {
        self.shadowed.get(path).map_or(&[], Vec::as_slice)
    }

    /// The markers on `path` or an ancestor, by layer.
    pub fn markers(&self, path: &str) -> Vec<&MarkerAt> {
        let mut out: Vec<&MarkerAt> = ancestors(path)
            .chain([path])
            .filter_map(|p| self.markers.get(p))
            .flatten()
            .collect();
        out.sort_by_key(|m| m.layer);
        out
    }

    /// The markers on exactly `path` (normalised): what the explorer's tree marks on its row,
    /// as (layer, `whiteout` or `opaque`), lowest layer first.
    pub fn markers_on(&self, path: &str) -> Vec<(usize, &'static str)> {
        let mut out: Vec<(usize, &'static str)> = self
            .markers
            .get(&norm(path))
            .map(|ms| ms.iter().map(|m| (m.layer, m.kind)).collect())
            .unwrap_or_default();
        out.sort();
        out
    }

    /// The directories layer `n` makes opaque (normalised paths, `""` for the root).
    pub fn opaque_dirs(&self, n: usize) -> BTreeSet<String> {
        self.markers
            .values()
            .flatten()
            .filter(|m| m.layer == n && m.kind == "opaque")
            .map(|m| m.path.clone())
            .collect()
    }

    /// What layer `n` added (`A`), modified (`M`) and removed (`R`).
    pub fn layer_changes(&self, n: usize) -> &[(String, char)] {
        self.changes.get(n).map_or(&[], Vec::as_slice)
    }

    /// The version `path` showed in the view of layers `0..=n`: the highest version at or
    /// below `n`, unless a marker at or below `n` and above it removed it.
    pub fn get_at(&self, path: &str, n: usize) -> Option<&Version> {
        let best = self
            .shadowed(path)
            .iter()
            .chain(self.get(path))
            .filter(|v| v.layer <= n)
            .max_by_key(|v| v.layer)?;
        let removed = self.markers(path).iter().any(|m| {
            m.layer > best.layer && m.layer <= n && !(m.kind == "opaque" && m.path == path)
        });
        (!removed).then_some(best)
    }

    /// The label of layer `n`: `layer 2`, with the caller's label when it is not a digest.
    pub fn layer_name(&self, n: usize) -> String {
        layer_name(&self.labels, n)
    }

    /// Labels the image's layers with what made them (`names`, bottom first, from the image's
    /// history: `RUN apk add curl`, a commit's message); an empty name keeps the layer's
    /// label, and the writable layer stays `writable`.
    pub fn name_layers(&mut self, names: &[String]) {
        for (label, name) in self.labels.iter_mut().zip(names) {
            if label != "writable" && !name.trim().is_empty() {
                *label = name.trim().to_string();
            }
        }
    }
}

/// `""`, `a`, `a/b` for `a/b/c`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let root = (!path.is_empty()).then_some("");
    root.into_iter()
        .chain(path.match_indices('/').map(move |(i, _)| &path[..i]))
}

/// How the tree shows the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The merged root: what a container sees.
    Merged,
    /// Only what layer `n` (0-based) added, modified and removed, with their directories.
    Layer(usize),
    /// The merged root of layers `0..=n` only: what an image built up to layer `n` held.
    UpTo(usize),
}

impl Mode {
    /// The mode a page address asks for: `?layer=2` (layer 2 only) or `?upto=2` (merged up
    /// to layer 2), 1-based as the pages name layers; `None` for anything else.
    pub fn from_query(query: &str) -> Option<Mode> {
        query.trim_start_matches('?').split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            let n = v.parse::<usize>().ok()?.checked_sub(1)?;
            match k {
                "layer" => Some(Mode::Layer(n)),
                "upto" => Some(Mode::UpTo(n)),
                _ => None,
            }
        })
    }
}

/// One line of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Normalised path (`etc/passwd`).
    pub path: String,
    /// Last component.
    pub name: String,
    /// Nesting depth (0 for top-level entries).
    pub depth: usize,
    /// Directory (can fold).
    pub is_dir: bool,
    /// `file`, `dir`, `symlink`, …
    pub kind: String,
    /// File size (0 otherwise).
    pub size: u64,
    /// Symlink or hard-link target.
    pub target: Option<String>,
    /// The layer providing the shown entry (0-based); for a removed path, the layer whose
    /// whiteout or opaque marker removed it.
    pub layer: Option<usize>,
    /// `A`, `M` or `R`: in merged mode, what the provider did to the path; in layer mode,
    /// what that layer did (`None` for directories shown only as context).
    pub change: Option<char>,
    /// Not in the view any more (shown struck through).
    pub removed: bool,
    /// Lower versions this path hides.
    pub shadows: usize,
    /// Has rows under it.
    pub has_children: bool,
    /// For a directory: the bytes of the files under it in this view (removed paths left
    /// out; in layer mode, the files that layer wrote there), whatever the search or folding.
    pub total: u64,
}

/// `/etc/passwd` (the root is `/`).
pub fn slash(path: &str) -> String {
    format!("/{path}")
}

fn name_of(path: &str) -> String {
    if path.is_empty() {
        "/".into()
    } else {
        path.rsplit('/').next().unwrap_or(path).to_string()
    }
}

fn depth_of(path: &str) -> usize {
    if path.is_empty() {
        0
    } else {
        path.matches('/').count()
    }
}

fn row(path: &str, v: Option<&Version>) -> Row {
    Row {
        path: path.to_string(),
        name: name_of(path),
        depth: depth_of(path),
        is_dir: v.is_some_and(Version::is_dir),
        kind: v.map_or_else(|| "whiteout".to_string(), |v| v.kind.clone()),
        size: v.map_or(0, |v| v.size),
        target: v.and_then(|v| v.target.clone()),
        layer: v.map(|v| v.layer),
        change: None,
        removed: false,
        shadows: 0,
        has_children: false,
        total: 0,
    }
}

/// Sets each directory row's [`Row::total`] from the file rows under it.
fn dir_totals(list: &mut [Row]) {
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for r in list.iter().filter(|r| r.kind == "file" && !r.removed) {
        let mut p = parent_path(&r.path);
        while let Some(dir) = p {
            *totals.entry(dir.to_string()).or_default() += r.size;
            p = parent_path(dir);
        }
    }
    for r in list.iter_mut().filter(|r| r.is_dir) {
        r.total = totals.get(&r.path).copied().unwrap_or(0);
    }
}

/// The rows of the tree, in tree order, without the rows under a folded directory and, when
/// `search` is not empty, only rows whose path contains it (and their directories).
/// `show_removed` adds paths a whiteout or opaque directory removed from the merged view.
pub fn rows(
    v: &View,
    mode: Mode,
    folded: &BTreeSet<String>,
    search: &str,
    show_removed: bool,
) -> Vec<Row> {
    let mut by_path: BTreeMap<&str, Vec<(usize, char)>> = BTreeMap::new();
    for n in 0..v.layer_count() {
        for (p, c) in v.layer_changes(n) {
            by_path.entry(p).or_default().push((n, *c));
        }
    }
    let mut list: Vec<Row> = Vec::new();
    match mode {
        Mode::Merged => {
            for p in &v.order {
                let ver = v.get(p);
                let mut r = row(p, ver);
                if let Some(ver) = ver.filter(|ver| !ver.implied) {
                    r.change = by_path
                        .get(p.as_str())
                        .and_then(|cs| cs.iter().rev().find(|(l, _)| *l == ver.layer))
                        .map(|(_, c)| *c);
                }
                r.shadows = v.shadowed(p).len();
                list.push(r);
            }
            if show_removed {
                for p in v.hidden() {
                    let mut r = row(p, v.shadowed(p).last());
                    r.layer = v.markers(p).last().map(|m| m.layer);
                    r.change = Some('R');
                    r.removed = true;
                    r.shadows = v.shadowed(p).len();
                    list.push(r);
                }
                list.sort_by(|a, b| compare_paths(&a.path, &b.path));
            }
        }
        Mode::Layer(n) => {
            let mut seen = BTreeSet::new();
            for (p, c) in v.layer_changes(n) {
                let removed = *c == 'R';
                let ver = if removed {
                    n.checked_sub(1).and_then(|below| v.get_at(p, below))
                } else {
                    v.get_at(p, n)
                };
                seen.insert(p.clone());
                let mut r = row(p, ver);
                r.layer = Some(n);
                r.change = Some(*c);
                r.removed = removed;
                list.push(r);
            }
            let mut context = Vec::new();
            for r in &list {
                let mut p = parent_path(&r.path);
                while let Some(dir) = p {
                    if dir.is_empty() || !seen.insert(dir.to_string()) {
                        break;
                    }
                    let mut c = row(dir, v.get_at(dir, n));
                    c.is_dir = true;
                    c.kind = "dir".into();
                    context.push(c);
                    p = parent_path(dir);
                }
            }
            list.extend(context);
            list.sort_by(|a, b| compare_paths(&a.path, &b.path));
        }
        Mode::UpTo(n) => {
            let mut paths: BTreeSet<&str> = v.order.iter().map(String::as_str).collect();
            paths.extend(v.shadowed.keys().map(String::as_str));
            paths.remove("");
            for p in paths {
                match v.get_at(p, n) {
                    Some(ver) => {
                        let mut r = row(p, Some(ver));
                        if !ver.implied {
                            r.change = by_path
                                .get(p)
                                .and_then(|cs| cs.iter().rev().find(|(l, _)| *l == ver.layer))
                                .map(|(_, c)| *c);
                        }
                        r.shadows = v
                            .shadowed(p)
                            .iter()
                            .chain(v.get(p))
                            .filter(|o| o.layer < ver.layer)
                            .count();
                        list.push(r);
                    }
                    None if show_removed => {
                        // a version at or below `n`, removed by a marker at or below `n`
                        let lower = v
                            .shadowed(p)
                            .iter()
                            .chain(v.get(p))
                            .filter(|o| o.layer <= n)
                            .max_by_key(|o| o.layer);
                        let marker = v.markers(p).into_iter().rev().find(|m| m.layer <= n);
                        if let (Some(lower), Some(m)) = (lower, marker) {
                            let mut r = row(p, Some(lower));
                            r.layer = Some(m.layer);
                            r.change = Some('R');
                            r.removed = true;
                            r.shadows = v
                                .shadowed(p)
                                .iter()
                                .chain(v.get(p))
                                .filter(|o| o.layer <= n)
                                .count();
                            list.push(r);
                        }
                    }
                    None => {}
                }
            }
            list.sort_by(|a, b| compare_paths(&a.path, &b.path));
        }
    }
    dir_totals(&mut list);
    let needle = search.trim().trim_start_matches('/').to_lowercase();
    if !needle.is_empty() {
        let mut keep: BTreeSet<String> = BTreeSet::new();
        for r in &list {
            if r.path.to_lowercase().contains(&needle) {
                keep.insert(r.path.clone());
                let mut p = parent_path(&r.path);
                while let Some(d) = p {
                    keep.insert(d.to_string());
                    p = parent_path(d);
                }
            }
        }
        list.retain(|r| keep.contains(&r.path));
    }
    for i in 0..list.len() {
        let prefix = format!("{}/", list[i].path);
        list[i].has_children = list
            .get(i + 1)
            .is_some_and(|next| next.path.starts_with(&prefix));
    }
    let mut out = Vec::with_capacity(list.len());
    let mut skip: Option<String> = None;
    for r in list {
        if let Some(prefix) = &skip {
            if r.path.starts_with(prefix.as_str()) {
                continue;
            }
            skip = None;
        }
        if folded.contains(&r.path) {
            skip = Some(format!("{}/", r.path));
        }
        out.push(r);
    }
    out
}

/// Every directory row that has children (what "fold all" folds).
pub fn all_dirs(rows: &[Row]) -> BTreeSet<String> {
    rows.iter()
        .filter(|r| r.is_dir && r.has_children)
        .map(|r| r.path.clone())
        .collect()
}

/// One version in the detail panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailVersion {
    /// Layer (0-based).
    pub layer: usize,
    /// [`Version::describe`].
    pub what: String,
    /// The content as text, when known.
    pub text: Option<String>,
    /// Shown in the merged view.
    pub visible: bool,
    /// A regular file (or a hard link to one): its bytes can be read from the server.
    pub readable: bool,
}

/// One whiteout or opaque marker bearing on a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// Layer (0-based).
    pub layer: usize,
    /// `whiteout` or `opaque`.
    pub kind: &'static str,
    /// The marker's file in the layer tar (`etc/.wh.motd`, `var/cache/.wh..wh..opq`).
    pub tar_name: String,
    /// What it does.
    pub effect: String,
}

/// Everything the detail panel says about one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    /// The path, `/`-rooted.
    pub path: String,
    /// `/etc/passwd comes from layer 2 and hides 1 lower version.`
    pub summary: String,
    /// Every version any layer had, bottom first; the visible one flagged.
    pub versions: Vec<DetailVersion>,
    /// The whiteouts and opaque markers bearing on it.
    pub markers: Vec<Marker>,
}

fn text_of(content: &Content) -> Option<String> {
    let bytes = content.bytes()?;
    let s = std::str::from_utf8(bytes).ok()?;
    let printable = s
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'));
    printable.then(|| s.to_string())
}

/// `layer 2`, or `layer 2 (<label>)` for a label that is not a digest, the label cut to
/// [`LABEL_CHARS`] characters (`layer 3 (RUN apt-get update && apt-get install -y…)`).
pub fn layer_name(labels: &[String], n: usize) -> String {
    match labels.get(n).map(String::as_str) {
        Some("writable") => format!("layer {} (writable)", n + 1),
        Some(l) if !l.is_empty() && !l.starts_with("sha256:") && !l.starts_with("layer ") => {
            let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
            let short = if l.chars().count() > LABEL_CHARS {
                let cut: String = l.chars().take(LABEL_CHARS - 1).collect();
                format!("{}…", cut.trim_end())
            } else {
                l
            };
            format!("layer {} ({short})", n + 1)
        }
        _ => format!("layer {}", n + 1),
    }
}

/// The longest label [`layer_name`] shows whole.
pub const LABEL_CHARS: usize = 40;

fn dir_prefix(dir: &str) -> String {
    if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    }
}

/// The detail panel for `path`.
pub fn detail(v: &View, path: &str) -> Detail {
    let shown = slash(path);
    let mut versions: Vec<DetailVersion> = v
        .shadowed(path)
        .iter()
        .map(|s| DetailVersion {
            layer: s.layer,
            what: s.describe(),
            text: s.text.clone(),
            visible: false,
            readable: matches!(s.kind.as_str(), "file" | "hardlink"),
        })
        .collect();
    let visible = v.get(path);
    if let Some(m) = visible.filter(|m| !m.implied) {
        versions.push(DetailVersion {
            layer: m.layer,
            what: m.describe(),
            text: m.text.clone(),
            visible: true,
            readable: matches!(m.kind.as_str(), "file" | "hardlink"),
        });
        versions.sort_by_key(|d| d.layer);
    }
    let markers: Vec<Marker> = v
        .markers(path)
        .into_iter()
        .map(|m| {
            let at = slash(&m.path);
            let parent = parent_path(&m.path).unwrap_or("");
            match m.kind {
                "opaque" => Marker {
                    layer: m.layer,
                    kind: "opaque",
                    tar_name: format!("{}{}", dir_prefix(&m.path), layer_diff::OPAQUE_MARKER),
                    effect: format!("hides every lower child of {}/", at.trim_end_matches('/')),
                },
                _ => Marker {
                    layer: m.layer,
                    kind: "whiteout",
                    tar_name: format!(
                        "{}{}{}",
                        dir_prefix(parent),
                        layer_diff::WHITEOUT_PREFIX,
                        name_of(&m.path)
                    ),
                    effect: format!("hides {at} and everything under it in the layers below"),
                },
            }
        })
        .collect();
    let hidden_count = versions.iter().filter(|d| !d.visible).count();
    let hides = match hidden_count {
        0 => String::new(),
        1 => " and hides 1 lower version".into(),
        n => format!(" and hides {n} lower versions"),
    };
    let summary = match visible {
        Some(m) if m.implied => format!(
            "{shown} is a directory {} needed for the paths under it (no layer lists it){hides}.",
            v.layer_name(m.layer)
        ),
        Some(m) => format!("{shown} comes from {}{hides}.", v.layer_name(m.layer)),
        None => match markers.last() {
            Some(mk) => format!(
                "{shown} is gone from the merged view: the {} in {} hides it{}.",
                mk.kind,
                v.layer_name(mk.layer),
                match hidden_count {
                    0 => String::new(),
                    1 => ", but the lower version still takes space in its layer".into(),
                    _ => ", but the lower versions still take space in their layers".into(),
                }
            ),
            None => format!("{shown} is not in this stack."),
        },
    };
    Detail {
        path: shown,
        summary,
        versions,
        markers,
    }
}

/// The efficiency panel: dive's score and wasted bytes, and the worst paths.
#[derive(Clone, Debug, PartialEq)]
pub struct EfficiencyView {
    /// `97.5%`.
    pub score: String,
    /// `1.2MB`.
    pub wasted: String,
    /// Wasted bytes.
    pub wasted_bytes: u64,
    /// `(path, total bytes of its copies, layers 1-based)`, biggest first.
    pub paths: Vec<(String, String, String)>,
}

/// [`EfficiencyView`] of a view.
pub fn efficiency(v: &View) -> EfficiencyView {
    let mut list = v.inefficient.clone();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    EfficiencyView {
        score: if v.score < 1.0 && v.score >= 0.999 {
            format!("{:.2}%", (v.score * 100.0).min(99.99))
        } else {
            format!("{:.1}%", v.score * 100.0)
        },
        wasted: human_size(v.wasted_bytes),
        wasted_bytes: v.wasted_bytes,
        paths: list
            .iter()
            .take(20)
            .map(|(p, size, layers)| {
                let layers: Vec<String> = layers.iter().map(|l| (l + 1).to_string()).collect();
                (slash(p), human_size(*size), layers.join(", "))
            })
            .collect(),
    }
}

/// Per layer: `(added, modified, removed)` counts.
pub fn change_counts(v: &View) -> Vec<(usize, usize, usize)> {
    (0..v.layer_count())
        .map(|n| {
            let cs = v.layer_changes(n);
            let count = |k: char| cs.iter().filter(|(_, c)| *c == k).count();
            (count('A'), count('M'), count('R'))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use layer_union::fixture;

    fn union(text: &str) -> View {
        View::from_union(&Union::build(&fixture::parse(text).unwrap()), Vec::new())
    }

    const STACK: &str = r#"
        layer 1:
          /bin/busybox 1200
          /bin/sh -> busybox
          /etc/passwd "root:x:0:0\n"
          /etc/motd "hello\n"
          /var/cache/a "a"
        layer 2:
          /etc/passwd "root:x:0:0\nme:x:1000:1000\n"
          /etc/.wh.motd
          /var/cache/.wh..wh..opq
          /var/cache/b "b"
    "#;

    fn show(rows: &[Row]) -> String {
        rows.iter()
            .map(|r| {
                format!(
                    "{}{}{} {} L{} {}{}\n",
                    "  ".repeat(r.depth),
                    r.name,
                    if r.is_dir { "/" } else { "" },
                    r.kind,
                    r.layer.map_or("-".into(), |l| (l + 1).to_string()),
                    r.change.map_or('.', |c| c),
                    if r.removed { " removed" } else { "" },
                )
            })
            .collect()
    }

    #[test]
    fn merged_rows_name_the_providing_layer() {
        let u = union(STACK);
        let none = BTreeSet::new();
        let rows = rows(&u, Mode::Merged, &none, "", false);
        assert_eq!(
            show(&rows),
            "bin/ dir L1 .\n  busybox file L1 A\n  sh symlink L1 A\netc/ dir L1 .\n  passwd file L2 M\nvar/ dir L1 .\n  cache/ dir L1 .\n    b file L2 A\n"
        );
        let passwd = rows.iter().find(|r| r.path == "etc/passwd").unwrap();
        assert_eq!(passwd.shadows, 1);
        assert!(rows[0].has_children);
    }

    #[test]
    fn removed_paths_show_the_layer_that_removed_them() {
        let u = union(STACK);
        let rows = rows(&u, Mode::Merged, &BTreeSet::new(), "", true);
        let motd = rows.iter().find(|r| r.path == "etc/motd").unwrap();
        assert!(motd.removed);
        assert_eq!(motd.layer, Some(1));
        assert_eq!(motd.kind, "file");
        let a = rows.iter().find(|r| r.path == "var/cache/a").unwrap();
        assert!(a.removed);
        assert_eq!(a.layer, Some(1), "the opaque marker of layer 2");
    }

    #[test]
    fn rows_know_their_own_markers() {
        let u = union(STACK);
        assert_eq!(u.markers_on("var/cache"), [(1, "opaque")]);
        assert_eq!(u.markers_on("/etc/motd"), [(1, "whiteout")]);
        assert!(
            u.markers_on("var/cache/a").is_empty(),
            "an ancestor's, not its own"
        );
    }

    #[test]
    fn layer_only_rows() {
        let u = union(STACK);
        let rows = rows(&u, Mode::Layer(1), &BTreeSet::new(), "", false);
        assert_eq!(
            show(&rows),
            "etc/ dir L1 .\n  motd file L2 R removed\n  passwd file L2 M\nvar/ dir L1 .\n  cache/ dir L1 .\n    a file L2 R removed\n    b file L2 A\n"
        );
    }

    #[test]
    fn merged_up_to_a_layer_is_the_root_that_layer_saw() {
        let u = union(STACK);
        let none = BTreeSet::new();
        assert_eq!(
            show(&rows(&u, Mode::UpTo(0), &none, "", true)),
            "bin/ dir L1 .\n  busybox file L1 A\n  sh symlink L1 A\netc/ dir L1 .\n  motd file L1 A\n  passwd file L1 A\nvar/ dir L1 .\n  cache/ dir L1 .\n    a file L1 A\n"
        );
        let passwd = rows(&u, Mode::UpTo(0), &none, "", false)
            .into_iter()
            .find(|r| r.path == "etc/passwd")
            .unwrap();
        assert_eq!((passwd.size, passwd.shadows), (11, 0), "layer 1's version");
        // up to the top layer is the merged view, removed paths and all
        for removed in [false, true] {
            assert_eq!(
                rows(&u, Mode::UpTo(1), &none, "", removed),
                rows(&u, Mode::Merged, &none, "", removed)
            );
        }
    }

    #[test]
    fn the_address_names_the_mode() {
        assert_eq!(Mode::from_query("?layer=2"), Some(Mode::Layer(1)));
        assert_eq!(Mode::from_query("?x=1&upto=1"), Some(Mode::UpTo(0)));
        assert_eq!(Mode::from_query("?layer=0"), None);
        assert_eq!(Mode::from_query("?layer=two"), None);
        assert_eq!(Mode::from_query(""), None);
    }

    #[test]
    fn directories_total_the_files_under_them() {
        let u = union(STACK);
        let none = BTreeSet::new();
        let total = |mode, path: &str| {
            rows(&u, mode, &none, "", true)
                .into_iter()
                .find(|r| r.path == path)
                .map(|r| r.total)
        };
        // merged: busybox (the symlink adds nothing), passwd's top version, cache/b only
        assert_eq!(total(Mode::Merged, "bin"), Some(1200));
        assert_eq!(total(Mode::Merged, "etc"), Some(26));
        assert_eq!(total(Mode::Merged, "var"), Some(1));
        assert_eq!(
            total(Mode::Merged, "etc/passwd"),
            Some(0),
            "a file has none"
        );
        // up to layer 1: motd and the first passwd, cache/a
        assert_eq!(total(Mode::UpTo(0), "etc"), Some(11 + 6));
        assert_eq!(total(Mode::UpTo(0), "var/cache"), Some(1));
        // layer 2 only: what it wrote (passwd, b), not what it removed
        assert_eq!(total(Mode::Layer(1), "etc"), Some(26));
        assert_eq!(total(Mode::Layer(1), "var"), Some(1));
        // folded or filtered, a directory keeps its total
        let folded: BTreeSet<String> = ["etc".to_string()].into();
        let r = rows(&u, Mode::Merged, &folded, "", false);
        assert_eq!(r.iter().find(|r| r.path == "etc").unwrap().total, 26);
    }

    #[test]
    fn folding_and_search() {
        let u = union(STACK);
        let folded: BTreeSet<String> = ["etc".to_string()].into();
        let r = rows(&u, Mode::Merged, &folded, "", false);
        assert!(!r.iter().any(|r| r.path == "etc/passwd"));
        assert!(r.iter().any(|r| r.path == "etc"));
        let r = rows(&u, Mode::Merged, &BTreeSet::new(), "/PASS", false);
        assert_eq!(show(&r), "etc/ dir L1 .\n  passwd file L2 M\n");
        assert_eq!(
            all_dirs(&rows(&u, Mode::Merged, &BTreeSet::new(), "", false)),
            ["bin", "etc", "var", "var/cache"]
                .map(String::from)
                .into_iter()
                .collect()
        );
    }

    #[test]
    fn detail_of_an_overridden_path() {
        let u = union(STACK);
        let d = detail(&u, "etc/passwd");
        assert_eq!(
            d.summary,
            "/etc/passwd comes from layer 2 and hides 1 lower version."
        );
        assert_eq!(d.versions.len(), 2);
        assert_eq!(d.versions[0].layer, 0);
        assert!(!d.versions[0].visible);
        assert_eq!(d.versions[0].text.as_deref(), Some("root:x:0:0\n"));
        assert!(d.versions[1].visible);
        assert_eq!(d.versions[1].what, "file, 26B, mode 0644, owner 0:0");
        assert!(d.markers.is_empty());
    }

    #[test]
    fn detail_of_a_whiteout() {
        let u = union(STACK);
        let mut u = u;
        u.labels = vec!["base".into(), "RUN rm".into()];
        let d = detail(&u, "etc/motd");
        assert_eq!(
            d.summary,
            "/etc/motd is gone from the merged view: the whiteout in layer 2 (RUN rm) hides it, but the lower version still takes space in its layer."
        );
        assert_eq!(
            d.markers,
            [Marker {
                layer: 1,
                kind: "whiteout",
                tar_name: "etc/.wh.motd".into(),
                effect: "hides /etc/motd and everything under it in the layers below".into(),
            }]
        );
        let d = detail(&u, "var/cache/a");
        assert_eq!(d.markers[0].kind, "opaque");
        assert_eq!(d.markers[0].tar_name, "var/cache/.wh..wh..opq");
        assert_eq!(
            d.markers[0].effect,
            "hides every lower child of /var/cache/"
        );
        let d = detail(&u, "nope");
        assert_eq!(d.summary, "/nope is not in this stack.");
        let d = detail(&u, "etc");
        assert_eq!(
            d.summary,
            "/etc is a directory layer 1 (base) needed for the paths under it (no layer lists it)."
        );
    }

    /// What the server answers for a union: its own builder (`union_dto`, the one
    /// `/api/…/tree` calls), through JSON as the browser receives it.
    fn server_dto(u: &Union) -> TreeDto {
        let t = union_dto::tree_dto(u, &["sha256:0".into(), "sha256:1".into()]);
        let json = serde_json::to_string(&t).unwrap();
        crate::wire::decode("tree", &json).unwrap()
    }

    /// Every path of STACK, the hidden ones included.
    const PATHS: [&str; 9] = [
        "bin",
        "bin/busybox",
        "bin/sh",
        "etc",
        "etc/passwd",
        "etc/motd",
        "var/cache",
        "var/cache/a",
        "var/cache/b",
    ];

    #[test]
    fn the_server_view_draws_like_the_browser_one() {
        let built = Union::build(&fixture::parse(STACK).unwrap());
        let local = View::from_union(&built, Vec::new());
        let remote = View::from_dto(&server_dto(&built));
        assert_eq!(remote.labels, ["sha256:0", "sha256:1"]);
        for mode in [Mode::Merged, Mode::Layer(0), Mode::Layer(1)] {
            for removed in [false, true] {
                let a = rows(&local, mode, &BTreeSet::new(), "", removed);
                let b = rows(&remote, mode, &BTreeSet::new(), "", removed);
                assert_eq!(show(&a), show(&b), "{mode:?} removed={removed}");
            }
        }
        // every path's panel reads the same on both sides, markers included; only the
        // contents differ (the server sends none, the page reads them on demand)
        for p in PATHS {
            let (a, b) = (detail(&local, p), detail(&remote, p));
            assert_eq!(a.summary, b.summary, "{p}");
            assert_eq!(a.markers, b.markers, "{p}");
            let what = |d: &Detail| {
                d.versions
                    .iter()
                    .map(|v| (v.layer, v.what.clone(), v.visible, v.readable))
                    .collect::<Vec<_>>()
            };
            assert_eq!(what(&a), what(&b), "{p}");
            assert!(b.versions.iter().all(|v| v.text.is_none()), "{p}");
        }
        let d = detail(&remote, "etc/passwd");
        assert_eq!(
            d.summary,
            "/etc/passwd comes from layer 2 and hides 1 lower version."
        );
        assert!(d.markers.is_empty());
        // a whiteout: the deleted file is shown with its marker in layer 2
        let d = detail(&remote, "etc/motd");
        assert_eq!(
            d.markers
                .iter()
                .map(|m| (m.layer, m.kind, m.tar_name.as_str()))
                .collect::<Vec<_>>(),
            [(1, "whiteout", "etc/.wh.motd")]
        );
        assert_eq!(
            remote.get_at("etc/motd", 0).map(|v| v.kind.as_str()),
            Some("file")
        );
        assert_eq!(remote.get_at("etc/motd", 1), None);
        // an opaque directory: what it hides below is told apart from a whiteout
        for p in ["var/cache", "var/cache/a"] {
            let d = detail(&remote, p);
            assert_eq!(
                d.markers
                    .iter()
                    .map(|m| (m.layer, m.kind, m.tar_name.as_str()))
                    .collect::<Vec<_>>(),
                [(1, "opaque", "var/cache/.wh..wh..opq")],
                "{p}"
            );
        }
        // the directory's own layer adds b beside its marker: the marker bears on it too
        assert_eq!(detail(&remote, "var/cache/b").markers[0].kind, "opaque");
    }

    #[test]
    fn without_markers_a_removal_reads_as_a_whiteout() {
        // an older server sent no markers: each removal is then its layer's whiteout
        let built = Union::build(&fixture::parse(STACK).unwrap());
        let mut t = server_dto(&built);
        assert!(!t.markers.is_empty());
        t.markers.clear();
        let remote = View::from_dto(&t);
        let d = detail(&remote, "etc/motd");
        assert_eq!(
            (d.markers[0].layer, d.markers[0].tar_name.as_str()),
            (1, "etc/.wh.motd")
        );
        assert_eq!(detail(&remote, "var/cache/a").markers[0].kind, "whiteout");
    }

    #[test]
    fn efficiency_panel() {
        let u = union(STACK);
        let e = efficiency(&u);
        assert_eq!(
            e.wasted, "43B",
            "passwd twice (11 + 26) and motd written then deleted (6 + 0)"
        );
        assert_eq!(e.paths[0].0, "/etc/passwd");
        assert_eq!(e.paths[0].2, "1, 2");
        assert_eq!(change_counts(&u), [(5, 0, 0), (1, 1, 2)]);
    }

    #[test]
    fn a_long_layer_label_is_cut_and_a_digest_is_not_shown() {
        let long = "RUN apt-get update && apt-get install -y curl ca-certificates git";
        let labels: Vec<String> = vec![long.into(), "sha256:0".into(), "RUN   echo\n  hi".into()];
        let first = layer_name(&labels, 0);
        assert_eq!(first, "layer 1 (RUN apt-get update && apt-get install -…)");
        assert_eq!(first.chars().count(), "layer 1 ()".len() + LABEL_CHARS);
        assert_eq!(layer_name(&labels, 1), "layer 2");
        assert_eq!(layer_name(&labels, 2), "layer 3 (RUN echo hi)");
        assert_eq!(layer_name(&labels, 7), "layer 8");
    }
}
