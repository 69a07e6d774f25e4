//! Building the merged view of a layer stack, with provenance, and querying it.

use crate::efficiency::{Efficiency, EfficiencyBuilder};
use crate::key::{ancestors, is_under, subtree, PathKey};
// What a path is, for resolving names through it: `layer-diff`'s, whose one rule resolves a
// layer's own names and those through the layers below.
use layer_diff::PathKind as Kind;
use layer_diff::{parent_path, Changeset, Content, Entry, EntryKind, Refusal};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How a layer changed a path, as dive's per-layer view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// The layer has an entry for a path absent from the merged view of the layers below.
    Added,
    /// The layer has an entry for a path present in the merged view of the layers below.
    Modified,
    /// The layer's whiteout, or opaque marker, removed a path present below.
    Removed,
}

impl Change {
    /// `A`, `M` or `R`.
    pub fn letter(self) -> char {
        match self {
            Change::Added => 'A',
            Change::Modified => 'M',
            Change::Removed => 'R',
        }
    }
}

/// Where a hard link's inode comes from: the non-directory entry its target named when the
/// link's layer was applied, followed through chains of links.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinkSource {
    /// The layer that provided that entry.
    pub layer: usize,
    /// Its path.
    pub path: String,
}

/// One path of a merged view: the entry seen there and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedEntry {
    /// The visible entry (for an implied directory, a plain `Entry::dir` with default
    /// metadata).
    pub entry: Entry,
    /// The layer (0 = bottom) whose entry this is.
    pub provider: usize,
    /// True for a directory no layer lists but that must exist because a layer put something
    /// under it; its provider is the layer that first needed it.
    pub implied: bool,
    /// For hard links: where the linked inode comes from, resolved in the merged view at the
    /// link's layer; `None` when the target did not exist there or was a directory (dangling).
    pub link: Option<LinkSource>,
}

impl MergedEntry {
    /// The path.
    pub fn path(&self) -> &str {
        &self.entry.path
    }
}

/// The regular file whose bytes a path shows, found by [`Union::lookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRef<'a> {
    /// The layer whose blob holds the bytes.
    pub layer: usize,
    /// The file's path in that layer (differs from the looked-up path for hard links).
    pub path: &'a str,
    /// Its size.
    pub size: u64,
    /// Its bytes or digest.
    pub content: &'a Content,
}

/// One stretch of time during which a path showed one entry.
#[derive(Debug, Clone)]
struct Span {
    node: MergedEntry,
    /// The layer that hid or replaced it; `None` while it is visible at the top.
    until: Option<usize>,
}

#[derive(Debug, Clone, Default)]
struct Record {
    spans: Vec<Span>,
    /// Index of the visible span.
    current: Option<usize>,
}

/// The merged view of a layer stack, with provenance for every path.
///
/// Built bottom-up by applying each changeset as OCI does (see the crate doc for the rules);
/// for every path it remembers each entry it ever showed, from which layer, and which layer
/// hid it, so any layer's view can be asked for afterwards.
#[derive(Debug, Clone)]
pub struct Union {
    layers: usize,
    records: BTreeMap<PathKey, Record>,
    markers: BTreeMap<PathKey, Vec<(usize, Entry)>>,
    children: BTreeMap<PathKey, Vec<PathKey>>,
    changes: Vec<Vec<(String, Change)>>,
    efficiency: Efficiency,
    /// The lowest layer (its index) with an entry that cannot be applied where it stands.
    refusal: Option<(usize, Refusal)>,
}

/// The state while layers are applied.
struct Builder {
    records: BTreeMap<PathKey, Record>,
    /// The paths of the merged view so far (those with a current span).
    live: BTreeSet<PathKey>,
}

impl Builder {
    fn current(&self, path: &str) -> Option<&MergedEntry> {
        let record = self.records.get(&PathKey::new(path))?;
        record.current.map(|i| &record.spans[i].node)
    }

    fn open(&mut self, node: MergedEntry) {
        let key = PathKey::new(node.path());
        let record = self.records.entry(key.clone()).or_default();
        record.spans.push(Span { node, until: None });
        record.current = Some(record.spans.len() - 1);
        self.live.insert(key);
    }

    fn close(&mut self, path: &str, layer: usize) {
        let key = PathKey::new(path);
        if let Some(record) = self.records.get_mut(&key) {
            if let Some(i) = record.current.take() {
                record.spans[i].until = Some(layer);
            }
        }
        self.live.remove(&key);
    }

    /// Hides everything strictly under `dir`.
    fn hide_under(&mut self, dir: &str, layer: usize) {
        let doomed: Vec<String> = self
            .live
            .range(PathKey(format!("{dir}/"))..)
            .take_while(|k| is_under(&k.0, dir))
            .map(|k| k.0.clone())
            .collect();
        for path in doomed {
            self.close(&path, layer);
        }
    }

    /// Hides `path` and everything under it.
    fn hide(&mut self, path: &str, layer: usize) {
        self.hide_under(path, layer);
        self.close(path, layer);
    }

    /// Makes `dir` and its ancestors directories: an existing directory stays as it is, a
    /// missing one is implied by `layer`, a non-directory is replaced by an implied one.
    fn ensure_dirs(&mut self, dir: &str, layer: usize) {
        let chain: Vec<&str> = ancestors(dir)
            .chain([dir])
            .filter(|p| !p.is_empty())
            .collect();
        for path in chain {
            match self.current(path) {
                Some(node) if node.entry.is_dir() => continue,
                Some(_) => self.close(path, layer),
                None => {}
            }
            self.open(MergedEntry {
                entry: Entry::dir(path),
                provider: layer,
                implied: true,
                link: None,
            });
        }
    }

    /// Puts an ordinary entry of `layer` at its path.
    fn place(&mut self, entry: &Entry, layer: usize) {
        let path = entry.path.as_str();
        if path.is_empty() && !entry.is_dir() {
            return; // invalid; `Changeset::validate` rejects it
        }
        if let Some(parent) = parent_path(path) {
            self.ensure_dirs(parent, layer);
        }
        if let Some(old) = self.current(path) {
            if old.entry.is_dir() && !entry.is_dir() {
                self.hide_under(path, layer);
            }
            self.close(path, layer);
        }
        self.open(MergedEntry {
            entry: entry.clone(),
            provider: layer,
            implied: false,
            link: None,
        });
    }

    /// Resolves a hard link of `layer` at `path` in the current view, memoising this layer's
    /// links; chains are followed, cycles and directories give `None`.
    fn resolve(
        &self,
        path: &str,
        layer: usize,
        memo: &mut HashMap<String, Option<LinkSource>>,
        depth: usize,
    ) -> Option<LinkSource> {
        let node = self.current(path)?;
        let EntryKind::Hardlink { target } = &node.entry.kind else {
            return (!node.entry.is_dir()).then(|| LinkSource {
                layer: node.provider,
                path: path.to_string(),
            });
        };
        if node.provider != layer {
            return node.link.clone();
        }
        if let Some(done) = memo.get(path) {
            return done.clone();
        }
        if depth > 64 {
            return None;
        }
        memo.insert(path.to_string(), None); // a cycle resolves to dangling
        let source = self.resolve(target, layer, memo, depth + 1);
        memo.insert(path.to_string(), source.clone());
        source
    }

    fn set_link(&mut self, path: &str, link: Option<LinkSource>) {
        if let Some(record) = self.records.get_mut(&PathKey::new(path)) {
            if let Some(i) = record.current {
                record.spans[i].node.link = link;
            }
        }
    }

    /// The direct children of `dir` in the current view.
    fn live_children(&self, dir: &str) -> Vec<String> {
        self.live
            .range(PathKey(format!("{dir}/"))..)
            .take_while(|k| is_under(&k.0, dir))
            .filter(|k| parent_path(&k.0) == Some(dir))
            .map(|k| k.0.clone())
            .collect()
    }
}

/// What the view of `records` shows at `path` now, a hard link counting as what it shares (a
/// link to a symlink is a symlink).
fn kind_of(records: &BTreeMap<PathKey, Record>, path: &str) -> Option<Kind> {
    let record = records.get(&PathKey::new(path))?;
    let node = &record.spans[record.current?].node;
    let entry = match &node.entry.kind {
        EntryKind::Hardlink { .. } => source_entry(records, node).unwrap_or(&node.entry),
        _ => &node.entry,
    };
    Some(match &entry.kind {
        EntryKind::Dir => Kind::Dir,
        EntryKind::Symlink { target } => Kind::Symlink(target.clone()),
        _ => Kind::Other,
    })
}

/// The entry a hard link shares: the non-link entry its [`LinkSource`] names.
fn source_entry<'r>(
    records: &'r BTreeMap<PathKey, Record>,
    node: &MergedEntry,
) -> Option<&'r Entry> {
    let link = node.link.as_ref()?;
    records
        .get(&PathKey::new(&link.path))?
        .spans
        .iter()
        .find(|s| s.node.provider == link.layer && !s.node.implied)
        .map(|s| &s.node.entry)
}

/// Resolves `path` in a view `look` describes, by the one rule every layer's names are
/// resolved with (`layer_diff::resolve_path`).
fn resolve_path(path: &str, follow_last: bool, look: &dyn Fn(&str) -> Option<Kind>) -> String {
    layer_diff::resolve_path(path, follow_last, look)
}

/// The changeset of one layer with every path rewritten to where the layer applies it on top
/// of the view `b` of the layers below, as containerd applies a layer onto its parents'
/// mounted snapshot and `layer-apply`'s `apply_on` unpacks it: its entries in the order the
/// layer applies them (its tar's order when that matters), each parent path resolved through
/// the symlinks of the layers below and those the layer made before it
/// ([`Changeset::on_top_of`]).
fn resolve_layer(b: &Builder, cs: &Changeset) -> (Changeset, Option<Refusal>) {
    // What the view below shows at a path: a hard link as the entry it shares.
    cs.on_top_of_checked(&|p| {
        let node = b.current(p)?;
        Some(match &node.entry.kind {
            EntryKind::Hardlink { .. } => source_entry(&b.records, node).unwrap_or(&node.entry),
            _ => &node.entry,
        })
    })
}

impl Union {
    /// Builds the merged view of `layers`, index 0 being the bottom layer.
    ///
    /// Changesets are expected to be valid ([`Changeset::validate`]); entries in any order are
    /// accepted (they are applied in canonical order).
    pub fn build(layers: &[Changeset]) -> Union {
        let mut b = Builder {
            records: BTreeMap::new(),
            live: BTreeSet::new(),
        };
        if !layers.is_empty() {
            b.open(MergedEntry {
                entry: Entry::dir(""),
                provider: 0,
                implied: true,
                link: None,
            });
        }
        let mut markers: BTreeMap<PathKey, Vec<(usize, Entry)>> = BTreeMap::new();
        let mut changes = Vec::with_capacity(layers.len());
        let mut efficiency = EfficiencyBuilder::default();
        let mut refusal = None;

        for (n, cs) in layers.iter().enumerate() {
            let (cs, refused) = resolve_layer(&b, cs);
            if refusal.is_none() {
                refusal = refused.map(|r| (n, r));
            }
            let opaques: Vec<&Entry> = cs.opaques().collect();
            let whiteouts: Vec<&Entry> = cs.whiteouts().collect();
            let regular: Vec<&Entry> = cs.iter().filter(|e| !e.is_marker()).collect();

            // What the layers below show, before this layer touches anything.
            efficiency.add_layer(n, &cs, |path| match b.current(path) {
                Some(node) if node.entry.is_dir() => subtree(&b.records, path)
                    .filter_map(|(_, r)| r.current.map(|i| r.spans[i].node.entry.size()))
                    .sum(),
                _ => 0,
            });
            let was_present: Vec<bool> = regular
                .iter()
                .map(|e| b.current(&e.path).is_some())
                .collect();
            let whited: Vec<&str> = whiteouts
                .iter()
                .map(|e| e.path.as_str())
                .filter(|p| b.current(p).is_some())
                .collect();
            // An opaque root hides nothing: overlayfs never looks the root up, so its opaque
            // mark is not read (and `layer-apply` unpacks by that rule); the marker is still
            // shown where it is.
            let hiding: Vec<&Entry> = opaques
                .iter()
                .copied()
                .filter(|e| !e.path.is_empty())
                .collect();
            let lower_children: Vec<String> = hiding
                .iter()
                .flat_map(|e| b.live_children(&e.path))
                .collect();

            // Apply: opaque directories and whiteouts hide lower paths first, then the layer's
            // own entries go in, then its hard links are resolved against the result.
            for e in &hiding {
                b.hide_under(&e.path, n);
            }
            for e in &whiteouts {
                if !e.path.is_empty() {
                    b.hide(&e.path, n);
                }
            }
            for e in &opaques {
                b.ensure_dirs(&e.path, n);
            }
            for e in &whiteouts {
                if let Some(parent) = parent_path(&e.path) {
                    b.ensure_dirs(parent, n);
                }
            }
            for e in &regular {
                b.place(e, n);
            }
            let mut memo = HashMap::new();
            for e in regular
                .iter()
                .filter(|e| matches!(e.kind, EntryKind::Hardlink { .. }))
            {
                if b.current(&e.path).is_some_and(|node| node.provider == n) {
                    let link = b.resolve(&e.path, n, &mut memo, 0);
                    b.set_link(&e.path, link);
                }
            }

            // dive's per-layer view.
            let mut layer_changes: BTreeMap<PathKey, Change> = BTreeMap::new();
            for path in whited
                .iter()
                .copied()
                .chain(lower_children.iter().map(String::as_str))
            {
                if b.current(path).is_none() {
                    layer_changes.insert(PathKey::new(path), Change::Removed);
                }
            }
            for (e, below) in regular.iter().zip(was_present) {
                if !e.path.is_empty() {
                    let change = if below {
                        Change::Modified
                    } else {
                        Change::Added
                    };
                    layer_changes.insert(PathKey::new(&e.path), change);
                }
            }
            changes.push(layer_changes.into_iter().map(|(k, c)| (k.0, c)).collect());

            for e in opaques.into_iter().chain(whiteouts) {
                markers
                    .entry(PathKey::new(&e.path))
                    .or_default()
                    .push((n, e.clone()));
            }
        }

        let mut children: BTreeMap<PathKey, Vec<PathKey>> = BTreeMap::new();
        for key in &b.live {
            if let Some(parent) = parent_path(&key.0) {
                children
                    .entry(PathKey::new(parent))
                    .or_default()
                    .push(key.clone());
            }
        }
        Union {
            layers: layers.len(),
            records: b.records,
            markers,
            children,
            changes,
            efficiency: efficiency.finish(layers),
            refusal,
        }
    }

    /// The lowest layer (its index) holding an entry that cannot be applied where it stands,
    /// and that entry: a parent path through a non-directory or a symlink loop, a hard link
    /// to nothing or to a directory, as `layer-apply` refuses it and Docker's apply of the
    /// layer fails. No unpack of such a stack exists to agree with: the store refuses it.
    pub fn refusal(&self) -> Option<&(usize, Refusal)> {
        self.refusal.as_ref()
    }

    /// The number of layers.
    pub fn layer_count(&self) -> usize {
        self.layers
    }

    /// Every path of the merged view, in tree order (`a`, `a/b`, `a-b`), the root (`""`, an
    /// implied directory unless a layer lists it) first.
    pub fn merged(&self) -> impl Iterator<Item = &MergedEntry> + '_ {
        self.records
            .values()
            .filter_map(|r| r.current.map(|i| &r.spans[i].node))
    }

    /// The merged view's entry at `path` (normalised; `""` is the root).
    pub fn get(&self, path: &str) -> Option<&MergedEntry> {
        let record = self.records.get(&PathKey::new(path))?;
        record.current.map(|i| &record.spans[i].node)
    }

    /// Where `path` (normalised) leads in the merged view, by the rule every layer's names
    /// are resolved with on top of the layers below ([`Union::build`], `layer-apply`'s
    /// `apply_on`): each symlink on the way is followed with the image root as `/` (absolute
    /// targets from the root, `..` never above it), the last component only with
    /// `follow_last`; from the first missing component on, the rest is kept as written. What
    /// `docker cp` means by a container path (moby's `FollowSymlinkInScope`): the result never
    /// leaves the root.
    pub fn resolve(&self, path: &str, follow_last: bool) -> String {
        resolve_path(path, follow_last, &|p| kind_of(&self.records, p))
    }

    /// The direct children of the directory `dir` in the merged view, by name.
    pub fn children(&self, dir: &str) -> Vec<&MergedEntry> {
        self.children
            .get(&PathKey::new(dir))
            .into_iter()
            .flatten()
            .filter_map(|k| self.get(&k.0))
            .collect()
    }

    /// The lower versions of `path` that the merged view does not show, bottom first: every
    /// entry a layer listed at `path` other than the visible one (all of them when the path
    /// is gone).
    pub fn shadowed(&self, path: &str) -> Vec<(usize, &Entry)> {
        let Some(record) = self.records.get(&PathKey::new(path)) else {
            return Vec::new();
        };
        record
            .spans
            .iter()
            .enumerate()
            .filter(|(i, s)| Some(*i) != record.current && !s.node.implied)
            .map(|(_, s)| (s.node.provider, &s.node.entry))
            .collect()
    }

    /// The whiteouts and opaque markers bearing on `path`, by layer then path: whiteouts of
    /// the path or of an ancestor, and opaque markers on the path (a directory whose lower
    /// children are hidden) or on an ancestor.
    pub fn markers(&self, path: &str) -> Vec<(usize, &Entry)> {
        let mut out: Vec<(usize, &Entry)> = ancestors(path)
            .chain([path])
            .filter_map(|p| self.markers.get(&PathKey::new(p)))
            .flatten()
            .map(|(layer, e)| (*layer, e))
            .collect();
        out.sort_by_key(|(layer, _)| *layer);
        out
    }

    /// Paths that some layer provided but the merged view no longer shows, in tree order.
    pub fn hidden(&self) -> impl Iterator<Item = &str> + '_ {
        self.records
            .iter()
            .filter(|(_, r)| r.current.is_none())
            .map(|(k, _)| k.0.as_str())
    }

    /// What layer `n` added, modified and removed, in tree order (dive's per-layer view):
    /// `Added` for an entry whose path the layers below did not show, `Modified` for one they
    /// did, `Removed` for a path they showed that this layer's whiteout or opaque marker hid
    /// (for an opaque directory, each hidden child of it). The root is never listed. Empty for
    /// an `n` out of range.
    pub fn layer_changes(&self, n: usize) -> &[(String, Change)] {
        self.changes.get(n).map_or(&[], Vec::as_slice)
    }

    /// The entry `path` showed in the merged view of layers `0..=layer`.
    pub fn get_at(&self, path: &str, layer: usize) -> Option<&MergedEntry> {
        let record = self.records.get(&PathKey::new(path))?;
        record
            .spans
            .iter()
            .find(|s| s.node.provider <= layer && s.until.is_none_or(|until| until > layer))
            .map(|s| &s.node)
    }

    /// The regular file whose bytes `path` showed in the merged view of layers `0..=layer`,
    /// following a hard link to the file it was linked to at its layer; `None` when the path
    /// is absent, not a file or a dangling link.
    pub fn lookup(&self, path: &str, layer: usize) -> Option<FileRef<'_>> {
        let node = self.get_at(path, layer)?;
        let (source_layer, file) = match &node.entry.kind {
            EntryKind::File { .. } => (node.provider, node),
            EntryKind::Hardlink { .. } => {
                let link = node.link.as_ref()?;
                let record = self.records.get(&PathKey::new(&link.path))?;
                let span = record
                    .spans
                    .iter()
                    .find(|s| s.node.provider == link.layer && !s.node.implied)?;
                (link.layer, &span.node)
            }
            _ => return None,
        };
        match &file.entry.kind {
            EntryKind::File { size, content } => Some(FileRef {
                layer: source_layer,
                path: &file.entry.path,
                size: *size,
                content,
            }),
            _ => None,
        }
    }

    /// The entry a hard link shares (the file, symlink or device its target showed at the
    /// link's layer) and the layer that provided it; `None` for a dangling link or an entry
    /// that is not a hard link. Its metadata is the link's: a link has none of its own.
    pub fn link_source(&self, m: &MergedEntry) -> Option<(usize, &Entry)> {
        if !matches!(m.entry.kind, EntryKind::Hardlink { .. }) {
            return None;
        }
        let layer = m.link.as_ref()?.layer;
        source_entry(&self.records, m).map(|e| (layer, e))
    }

    /// Wasted bytes and the efficiency score, as dive computes them (see the crate doc).
    pub fn efficiency(&self) -> &Efficiency {
        &self.efficiency
    }

    /// Every path the renderer shows: all that ever had an entry or a marker, in tree order.
    pub(crate) fn all_paths(&self) -> Vec<&str> {
        let mut keys: BTreeSet<&PathKey> = self.records.keys().collect();
        keys.extend(self.markers.keys());
        keys.into_iter().map(|k| k.0.as_str()).collect()
    }

    /// The last entry `path` showed, visible or not.
    pub(crate) fn last_version(&self, path: &str) -> Option<&MergedEntry> {
        let record = self.records.get(&PathKey::new(path))?;
        record.spans.last().map(|s| &s.node)
    }

    /// True when some layer provided `path`, listed or implied.
    pub(crate) fn has_record(&self, path: &str) -> bool {
        self.records.contains_key(&PathKey::new(path))
    }

    /// True when `path` has a span from a listed (not implied) entry.
    pub(crate) fn has_explicit(&self, path: &str) -> bool {
        self.records
            .get(&PathKey::new(path))
            .is_some_and(|r| r.spans.iter().any(|s| !s.node.implied))
    }

    /// The markers recorded at exactly `path`.
    pub(crate) fn markers_at(&self, path: &str) -> &[(usize, Entry)] {
        self.markers
            .get(&PathKey::new(path))
            .map_or(&[], Vec::as_slice)
    }
}
