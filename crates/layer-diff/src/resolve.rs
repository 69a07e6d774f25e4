//! A layer's entries applied in the order they are listed, with every name resolved inside the
//! image root: the rule `layer-apply` unpacks a layer by on disk (on top of the layers below,
//! as containerd applies a layer onto its parents' snapshot), computed on the model. The
//! changeset reader applies a tar's entries by it onto an empty root
//! ([`Changeset::from_tar_order`]), and `layer-union` applies each layer by it onto the
//! merged view of the layers below ([`Changeset::on_top_of`]).

use crate::path::parent_path;
use crate::{Changeset, Entry, EntryKind};
use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;

/// Symlinks followed while resolving one path before the rest is taken literally (Linux's
/// own limit; `layer-apply` refuses such a layer with `ELOOP`).
pub const MAX_SYMLINK_HOPS: usize = 40;

/// What a path of a view is, as far as resolving names through it goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathKind {
    /// A directory.
    Dir,
    /// A symbolic link to this target (as written).
    Symlink(String),
    /// Anything else (a file, a device, …).
    Other,
}

/// Resolves the normalised `path` as the kernel would with the image root as `/`, in a view
/// that `look` describes (`None`: nothing there): every symlink on the way (the last one only
/// with `follow_last`) is followed, absolute targets from the root, and `..` never climbs
/// above the root. From the first missing component on, the rest is taken literally (with
/// `..` still applied); so is the rest after [`MAX_SYMLINK_HOPS`] links, and a non-directory
/// in the middle is kept as a name (`layer-apply` refuses such a layer, so no mounted view
/// ever differs).
pub fn resolve_path(
    path: &str,
    follow_last: bool,
    look: &dyn Fn(&str) -> Option<PathKind>,
) -> String {
    resolve_walk(path, follow_last, look).0
}

/// Where resolving a path by [`resolve_path`]'s rule met what the kernel refuses to go
/// through, so that `layer-apply` refuses the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A non-directory with more of the path after it (`ENOTDIR`).
    NotADirectory,
    /// More than [`MAX_SYMLINK_HOPS`] symlinks (`ELOOP`).
    Loop,
}

/// [`resolve_path`], with the first place the walk could not go on as the kernel would.
fn resolve_walk(
    path: &str,
    follow_last: bool,
    look: &dyn Fn(&str) -> Option<PathKind>,
) -> (String, Option<Stop>) {
    let mut stop = None;
    let mut todo: VecDeque<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut missing = 0usize; // trailing components of `out` that do not exist
    let mut hops = 0;
    while let Some(part) = todo.pop_front() {
        match part.as_str() {
            "." => continue,
            ".." => {
                if out.pop().is_some() && missing > 0 {
                    missing -= 1;
                }
                continue;
            }
            _ => {}
        }
        if missing > 0 {
            out.push(part);
            missing += 1;
            continue;
        }
        let candidate = if out.is_empty() {
            part.clone()
        } else {
            format!("{}/{part}", out.join("/"))
        };
        let last = todo.is_empty();
        match look(&candidate) {
            None => {
                out.push(part);
                missing = 1;
            }
            Some(PathKind::Symlink(target))
                if (!last || follow_last) && hops < MAX_SYMLINK_HOPS =>
            {
                hops += 1;
                if target.starts_with('/') {
                    out.clear();
                }
                for p in target.split('/').filter(|p| !p.is_empty()).rev() {
                    todo.push_front(p.to_string());
                }
            }
            Some(kind) => {
                if !last || follow_last {
                    match kind {
                        PathKind::Symlink(_) => {
                            stop.get_or_insert(Stop::Loop);
                        }
                        PathKind::Other if !last => {
                            stop.get_or_insert(Stop::NotADirectory);
                        }
                        _ => {}
                    }
                }
                out.push(part)
            }
        }
    }
    (out.join("/"), stop)
}

/// `path` with its parent resolved (following every symlink) and its last name kept.
fn resolve_parent(path: &str, look: &dyn Fn(&str) -> Option<PathKind>) -> String {
    resolve_parent_walk(path, look).0
}

/// [`resolve_parent`], with where the walk to the parent stopped; a parent that resolves to
/// a non-directory stops it too (nothing can be made in it).
fn resolve_parent_walk(
    path: &str,
    look: &dyn Fn(&str) -> Option<PathKind>,
) -> (String, Option<Stop>) {
    match path.rsplit_once('/') {
        None => (path.to_string(), None),
        Some((dir, base)) => {
            let (dir, stop) = resolve_walk(dir, true, look);
            let stop = stop.or_else(|| match look(&dir) {
                Some(PathKind::Other) if !dir.is_empty() => Some(Stop::NotADirectory),
                _ => None,
            });
            let path = if dir.is_empty() {
                base.to_string()
            } else {
                format!("{dir}/{base}")
            };
            (path, stop)
        }
    }
}

/// An entry of a layer that cannot be applied where it stands: `layer-apply` refuses the
/// layer there (the kernel's `ENOTDIR` or `ELOOP` on its parent path, or a hard link to
/// nothing or to a directory), as Docker's apply of the layer fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The entry's path as the layer lists it (for a whiteout, the path it deletes; for an
    /// opaque marker, its directory).
    pub path: String,
    /// Why it cannot be applied.
    pub reason: RefusalReason,
}

/// Why an entry cannot be applied ([`Refusal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalReason {
    /// Its parent path goes through (or is) something that is not a directory.
    NotADirectory,
    /// Its parent path goes through more than [`MAX_SYMLINK_HOPS`] symlinks.
    Loop,
    /// A hard link whose target names nothing when the link is applied.
    LinkTargetMissing(String),
    /// A hard link whose target is a directory.
    LinkTargetDirectory(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = &self.path;
        match &self.reason {
            RefusalReason::NotADirectory => {
                write!(f, "entry {path:?}: a parent of it is not a directory")
            }
            RefusalReason::Loop => write!(
                f,
                "entry {path:?}: too many levels of symbolic links in its parent path"
            ),
            RefusalReason::LinkTargetMissing(t) => {
                write!(f, "hardlink {path:?} -> {t:?}: target does not exist")
            }
            RefusalReason::LinkTargetDirectory(t) => {
                write!(f, "hardlink {path:?} -> {t:?}: target is a directory")
            }
        }
    }
}

/// The keys of `map` strictly under `dir` (not the root): in byte order the names starting
/// with `dir/` are one range.
fn keys_under<V>(map: &BTreeMap<String, V>, dir: &str) -> Vec<String> {
    let prefix = format!("{dir}/");
    map.range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect()
}

/// The ancestors of a normalised path, the root (`""`) first, the path itself excluded.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let root = (!path.is_empty()).then_some("");
    root.into_iter()
        .chain(path.match_indices('/').map(move |(i, _)| &path[..i]))
}

/// What the layer itself has put at a path so far.
struct Own {
    kind: PathKind,
    /// The step whose entry is there; `None` for a directory the layer made because it put
    /// something under it (as `layer-apply` makes or copies up a missing parent).
    step: Option<usize>,
}

/// The view of the layers below a layer, for [`Changeset::on_top_of`]: the entry each path
/// shows (for a hard link, the entry it shares, whatever its path), `None` where nothing is.
pub type Lower<'l> = dyn Fn(&str) -> Option<&'l Entry> + 'l;

/// What an entry is, for resolving names through it.
fn kind_of(e: &Entry) -> PathKind {
    match &e.kind {
        EntryKind::Dir => PathKind::Dir,
        EntryKind::Symlink { target } => PathKind::Symlink(target.clone()),
        _ => PathKind::Other,
    }
}

/// The state of one layer being applied in order on top of a view of the layers below.
struct Applying<'l> {
    /// `None`: an empty root below.
    lower: Option<&'l Lower<'l>>,
    own: BTreeMap<String, Own>,
    whited: BTreeMap<String, usize>,
    opaque: BTreeMap<String, usize>,
    /// Where each step's entry went, while it stands.
    out: Vec<Option<Placed>>,
    /// For each step that is a hard link to an entry the layer made: the step whose entry
    /// (inode) it shares.
    source: Vec<Option<usize>>,
    /// The hard link steps sharing each step's entry.
    linked: BTreeMap<usize, Vec<usize>>,
    /// Hard link steps whose target did not exist when they were applied.
    dangling: Vec<usize>,
    /// Lower entries a hard link copied up into the layer: steps after the listed ones.
    copied: Vec<Entry>,
    /// The first entry that cannot be applied where it stands.
    refused: Option<Refusal>,
}

impl<'l> Applying<'l> {
    /// Notes that the entry `e` cannot be applied (the first such entry is kept).
    fn refuse(&mut self, e: &Entry, reason: RefusalReason) {
        if self.refused.is_none() {
            self.refused = Some(Refusal {
                path: e.path.clone(),
                reason,
            });
        }
    }

    /// What the view shows at `path` now: the layer's own entries, over what the layers below
    /// show unless this layer hid it (a whiteout of it or of an ancestor, an opaque ancestor,
    /// an ancestor the layer made a non-directory).
    fn look(&self, path: &str) -> Option<PathKind> {
        match self.own.get(path) {
            Some(own) => Some(own.kind.clone()),
            None => self.below(path).map(kind_of),
        }
    }

    /// What the layers below show at `path`, unless this layer has something there or hid
    /// it.
    fn below(&self, path: &str) -> Option<&'l Entry> {
        let lower = self.lower?;
        let hidden = self.own.contains_key(path)
            || self.whited.contains_key(path)
            || ancestors(path).any(|a| {
                self.whited.contains_key(a)
                    // An opaque root hides nothing: overlayfs never looks the root up, so
                    // its opaque mark is not read (and `layer-apply` unpacks by that rule).
                    || (!a.is_empty() && self.opaque.contains_key(a))
                    || self.own.get(a).is_some_and(|o| o.kind != PathKind::Dir)
            });
        if hidden {
            None
        } else {
            lower(path)
        }
    }

    /// Removes step `j`'s entry. A hard link made to it earlier still holds its inode (as on
    /// disk, where replacing or removing a name leaves its other names alone), so each such
    /// link becomes a copy of it.
    fn drop_step(&mut self, step: Option<usize>) {
        let Some(j) = step else { return };
        let Some(gone) = self.out[j].take() else {
            return;
        };
        let Some(links) = self.linked.remove(&j) else {
            return;
        };
        let copy = gone.copy.unwrap_or(Copy {
            step: j,
            link: gone.link,
        });
        for i in links {
            if let Some(p) = self.out[i].as_mut() {
                p.copy.get_or_insert_with(|| copy.clone());
            }
        }
    }

    /// Makes `dir` and its ancestors directories of the layer, as `layer-apply` makes (or
    /// copies up) the parents of an entry: a directory stays, anything else is replaced.
    fn make_dirs(&mut self, dir: &str) {
        // The ancestors of the layer's own paths are its own directories.
        if dir.is_empty() || self.own.get(dir).is_some_and(|o| o.kind == PathKind::Dir) {
            return;
        }
        let chain: Vec<&str> = ancestors(dir)
            .chain([dir])
            .filter(|p| !p.is_empty())
            .collect();
        for path in chain {
            match self.own.get(path) {
                Some(own) if own.kind == PathKind::Dir => continue,
                Some(own) => {
                    let step = own.step;
                    self.drop_step(step);
                }
                None => {}
            }
            self.own.insert(
                path.to_string(),
                Own {
                    kind: PathKind::Dir,
                    step: None,
                },
            );
        }
    }

    /// Puts an ordinary entry of step `i` at `path`: a directory over the layer's own
    /// directory keeps what the layer put under it; anything else removes it, with every
    /// entry, whiteout and opaque marker the layer put under it.
    fn put(&mut self, path: &str, kind: PathKind, i: usize) {
        if let Some(old) = self.own.get(path) {
            let keeps = old.kind == PathKind::Dir && kind == PathKind::Dir;
            let step = old.step;
            self.drop_step(step);
            if !keeps {
                for k in keys_under(&self.own, path) {
                    if let Some(own) = self.own.remove(&k) {
                        self.drop_step(own.step);
                    }
                }
                for k in keys_under(&self.whited, path) {
                    let step = self.whited.remove(&k);
                    self.drop_step(step);
                }
                // An opaque marker lives inside its directory: it goes with it.
                let step = self.opaque.remove(path);
                self.drop_step(step);
                for k in keys_under(&self.opaque, path) {
                    let step = self.opaque.remove(&k);
                    self.drop_step(step);
                }
            }
        }
        self.own.insert(
            path.to_string(),
            Own {
                kind,
                step: Some(i),
            },
        );
    }

    /// Applies step `i`, the entry `e` as listed.
    fn step(&mut self, i: usize, e: &Entry) {
        let look = |p: &str| self.look(p);
        let (path, stop) = match e.kind {
            _ if e.path.is_empty() => (String::new(), None),
            // The marker is a name inside the directory: every component is followed, and the
            // directory must be one.
            EntryKind::Opaque => {
                let (path, stop) = resolve_walk(&e.path, true, &look);
                let stop = stop.or_else(|| {
                    matches!(look(&path), Some(PathKind::Other)).then_some(Stop::NotADirectory)
                });
                (path, stop)
            }
            // The entry's own name is never followed: it replaces what is there.
            _ => resolve_parent_walk(&e.path, &look),
        };
        let (link, link_stop) = match &e.kind {
            EntryKind::Hardlink { target } => {
                let (link, stop) = resolve_parent_walk(target, &look);
                (Some(link), stop)
            }
            _ => (None, None),
        };
        match stop {
            Some(Stop::NotADirectory) => self.refuse(e, RefusalReason::NotADirectory),
            Some(Stop::Loop) => self.refuse(e, RefusalReason::Loop),
            None => {}
        }
        if let (EntryKind::Hardlink { target }, Some(resolved)) = (&e.kind, &link) {
            let look = |p: &str| self.look(p);
            // The link replaces what its own name holds before it is made: a target under
            // that name is gone by then.
            let under_own_name = resolved
                .strip_prefix(path.as_str())
                .is_some_and(|rest| rest.starts_with('/'));
            let reason = match (link_stop, look(resolved)) {
                (Some(_), _) | (None, None) => {
                    Some(RefusalReason::LinkTargetMissing(target.clone()))
                }
                _ if under_own_name => Some(RefusalReason::LinkTargetMissing(target.clone())),
                (None, Some(PathKind::Dir)) => {
                    Some(RefusalReason::LinkTargetDirectory(target.clone()))
                }
                _ => None,
            };
            if let Some(reason) = reason {
                self.refuse(e, reason);
            }
        }
        // A hard link to what a lower layer shows copies it up first, as `layer-apply` copies
        // it into the layer's directory: it is the layer's own from then on (a later whiteout
        // or opaque marker leaves it, a later entry replaces it while the link keeps it).
        let up = link.as_deref().and_then(|t| {
            self.below(t)
                .filter(|l| !matches!(l.kind, EntryKind::Dir | EntryKind::Hardlink { .. }))
                .map(|l| (t.to_string(), l))
        });
        if let Some((target, lower)) = up {
            let k = self.out.len();
            self.copied.push(Entry {
                path: target.clone(),
                ..lower.clone()
            });
            self.out.push(None);
            self.source.push(None);
            self.make_dirs(parent_path(&target).unwrap_or(""));
            self.put(&target, kind_of(lower), k);
            self.out[k] = Some(Placed {
                path: target,
                link: None,
                copy: None,
            });
        }
        let look = |p: &str| self.look(p);
        let own_kind = match (&e.kind, &link) {
            (EntryKind::Dir, _) => PathKind::Dir,
            (EntryKind::Symlink { target }, _) => PathKind::Symlink(target.clone()),
            // A hard link to a symlink is a second name of the symlink.
            (_, Some(target)) => match look(target) {
                Some(PathKind::Symlink(t)) => PathKind::Symlink(t),
                _ => PathKind::Other,
            },
            _ => PathKind::Other,
        };
        // The entry a step's entry shares: itself, or what the hard link it is shares.
        let shares = |k: usize| {
            let copied = self.out[k].as_ref().is_some_and(|p| p.copy.is_some());
            self.source[k].filter(|_| !copied).unwrap_or(k)
        };
        // The entry a hard link shares: one the layer made (or what that one shares).
        let mut dangling = false;
        let source = match &link {
            Some(target) => match self
                .own
                .get(target.as_str())
                .filter(|o| o.kind != PathKind::Dir)
                .and_then(|o| o.step)
            {
                Some(k) => Some(shares(k)),
                _ => {
                    dangling = look(target).is_none();
                    None
                }
            },
            None => None,
        };
        // A hard link onto a name that already is that entry (itself, or a link made before)
        // changes nothing, as `layer-apply` skips it.
        let same = link.as_deref() == Some(path.as_str())
            || source.is_some_and(|s| {
                self.own
                    .get(path.as_str())
                    .and_then(|o| o.step)
                    .is_some_and(|k| shares(k) == s)
            });
        if same {
            return;
        }
        match e.kind {
            EntryKind::Whiteout if path.is_empty() => return, // invalid: the root stays
            EntryKind::Whiteout => {
                self.make_dirs(parent_path(&path).unwrap_or(""));
                let old = self.whited.insert(path.clone(), i);
                self.drop_step(old);
            }
            EntryKind::Opaque => {
                self.make_dirs(&path);
                let old = self.opaque.insert(path.clone(), i);
                self.drop_step(old);
            }
            EntryKind::Dir if path.is_empty() => self.put("", PathKind::Dir, i),
            _ if path.is_empty() => return, // invalid: the root must be a directory
            _ => {
                self.make_dirs(parent_path(&path).unwrap_or(""));
                self.put(&path, own_kind, i);
            }
        }
        if let Some(k) = source {
            self.source[i] = Some(k);
            self.linked.entry(k).or_default().push(i);
        }
        if dangling {
            self.dangling.push(i);
        }
        self.out[i] = Some(Placed {
            path,
            link,
            copy: None,
        });
    }
}

/// Where an entry went: its resolved path and, for a hard link, its resolved target.
#[derive(Debug, Clone)]
struct Placed {
    path: String,
    link: Option<String>,
    /// For a hard link whose target the layer later replaced or removed: the step whose entry
    /// it still shares (and that entry's resolved link target, when it is a link itself).
    copy: Option<Copy>,
}

#[derive(Debug, Clone)]
struct Copy {
    step: usize,
    link: Option<String>,
}

impl Placed {
    /// True when the entry went where it is listed, as listed.
    fn is_at(&self, e: &Entry) -> bool {
        self.copy.is_none()
            && self.path == e.path
            && match (&e.kind, &self.link) {
                (EntryKind::Hardlink { target }, Some(link)) => target == link,
                _ => true,
            }
    }

    /// The entry of a step, `e` as listed, put there; `entry` gives any step's entry.
    fn put<'e>(self, e: Entry, entry: &dyn Fn(usize) -> &'e Entry) -> Entry {
        let (mut e, link) = match self.copy {
            // A hard link has no metadata of its own: the copy is the shared entry's.
            Some(copy) => (entry(copy.step).clone(), copy.link),
            None => (e, self.link),
        };
        e.path = self.path;
        if let (EntryKind::Hardlink { target }, Some(link)) = (&mut e.kind, link) {
            *target = link;
        }
        e
    }
}

/// The result of applying a layer's steps: where each step's entry went (`None` when a later
/// step replaced or removed it), then the lower entries its hard links copied up.
struct Applied {
    out: Vec<Option<Placed>>,
    copied: Vec<Entry>,
    refused: Option<Refusal>,
}

impl Applied {
    /// The entries left, in no particular order: the steps' entries (`steps`, as listed) put
    /// where they went, and what was copied up.
    fn entries(self, steps: &[&Entry]) -> Vec<Entry> {
        let n = steps.len();
        let all = |k: usize| if k < n { steps[k] } else { &self.copied[k - n] };
        self.out
            .iter()
            .enumerate()
            .filter_map(|(k, p)| Some(p.clone()?.put(all(k).clone(), &all)))
            .collect()
    }
}

/// Applies `steps` in order on top of the view `lower`.
fn apply<'l>(steps: &[&Entry], lower: Option<&'l Lower<'l>>) -> Applied {
    let mut a = Applying {
        lower,
        own: BTreeMap::new(),
        whited: BTreeMap::new(),
        opaque: BTreeMap::new(),
        out: vec![None; steps.len()],
        source: vec![None; steps.len()],
        linked: BTreeMap::new(),
        dangling: Vec::new(),
        copied: Vec::new(),
        refused: None,
    };
    for (i, e) in steps.iter().enumerate() {
        a.step(i, e);
    }
    // A target missing when its link was applied (`layer-apply` refuses such a layer) is
    // named as the layer's final view resolves it, so the result reads back the same.
    for i in std::mem::take(&mut a.dangling) {
        if let EntryKind::Hardlink { target } = &steps[i].kind {
            let link = resolve_parent(target, &|p| a.look(p));
            if let Some(p) = a.out[i].as_mut().filter(|p| p.copy.is_none()) {
                p.link = Some(link);
            }
        }
    }
    // A link whose target name now holds something else (replaced after the link was made)
    // names the entry it shares where that entry is.
    for i in 0..steps.len() {
        let Some(s) = a.source[i] else { continue };
        let Some(target) = a.out[i]
            .as_ref()
            .filter(|p| p.copy.is_none())
            .and_then(|p| p.link.clone())
        else {
            continue;
        };
        let still = a
            .own
            .get(target.as_str())
            .and_then(|o| o.step)
            .is_some_and(|k| {
                let copied = a.out[k].as_ref().is_some_and(|p| p.copy.is_some());
                a.source[k].filter(|_| !copied).unwrap_or(k) == s
            });
        if !still {
            if let Some(at) = a.out[s].as_ref().map(|p| p.path.clone()) {
                if let Some(p) = a.out[i].as_mut() {
                    p.link = Some(at);
                }
            }
        }
    }
    // A copy-up is the layer's own only where the layer then hid the lower entry (a whiteout
    // or opaque marker after the link): elsewhere the view shows the lower entry as it was,
    // and the links name it there.
    for k in steps.len()..a.out.len() {
        let hidden = a.out[k].as_ref().is_some_and(|p| {
            a.whited.contains_key(&p.path)
                || ancestors(&p.path).any(|d| a.whited.contains_key(d) || a.opaque.contains_key(d))
        });
        if !hidden {
            a.out[k] = None;
        }
    }
    Applied {
        out: a.out,
        copied: a.copied,
        refused: a.refused,
    }
}

/// One entry of a layer in the order its tar listed them.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Listed exactly as `entries[i]` holds it.
    Kept(usize),
    /// Listed like this, which applying the layer on its own changed (a path through one of
    /// its symlinks) or dropped (replaced or removed by a later entry).
    Written(Box<Entry>),
}

/// The order a layer's entries were listed in, for a changeset whose canonical order would
/// apply to something else.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub(crate) steps: Vec<Step>,
    /// `entries.len()` when the order was taken: a changeset changed since is applied in
    /// canonical order.
    pub(crate) len: usize,
}

impl Changeset {
    /// The changeset of a layer whose entries are `listed` in the order its tar lists them
    /// (names normalised, whiteouts and opaque markers recognised; several entries may name
    /// one path), as applying them in that order onto an empty root gives, the way
    /// `layer-apply` unpacks a tar:
    ///
    /// - each entry's parent path (an opaque marker's whole path, a hard link target's
    ///   parent) is resolved through the symlinks the layer made *before* it, inside the root
    ///   ([`resolve_path`]); its own name is never followed;
    /// - an entry replaces the layer's earlier entry at its path (the last wins); a
    ///   non-directory replacing a directory removes everything the layer put under it
    ///   (entries, whiteouts, an opaque marker inside it), a directory over a directory keeps
    ///   it;
    /// - a whiteout or opaque marker describes the layers below, so it never removes the
    ///   layer's own entries;
    /// - a hard link shares its target's entry: when a later entry replaces or removes the
    ///   target's name the link keeps that entry (it becomes a copy of it), and a link whose
    ///   target name now holds something else names the entry where it is; a link onto a
    ///   name that already is its target changes nothing, and a target missing when the
    ///   link is applied (`layer-apply` refuses the layer) is named as the final view
    ///   resolves it.
    ///
    /// The result is in canonical order. What a layer means also depends on the layers below
    /// (a name through a lower symlink), so when the listed order matters the changeset keeps
    /// it, and [`Changeset::on_top_of`] applies the entries in it.
    pub fn from_tar_order(listed: Vec<Entry>) -> Changeset {
        let steps: Vec<&Entry> = listed.iter().collect();
        // Onto an empty root: nothing below to go through or copy up.
        let placed = apply(&steps, None).out;
        // Each surviving entry with its step; the listing of each step that did not survive
        // as listed.
        let mut kept: Vec<(usize, Entry)> = Vec::with_capacity(listed.len());
        let mut changed: Vec<Option<Entry>> = vec![None; listed.len()];
        let mut moved: Vec<(usize, Placed)> = Vec::new();
        for (i, p) in placed.into_iter().enumerate() {
            match p {
                Some(p) if p.is_at(steps[i]) => {}
                Some(p) => moved.push((i, p)),
                None => changed[i] = Some(steps[i].clone()),
            }
        }
        for (i, p) in moved {
            changed[i] = Some(steps[i].clone());
            kept.push((i, p.put(steps[i].clone(), &|k| steps[k])));
        }
        for (i, e) in listed.into_iter().enumerate() {
            if changed[i].is_none() {
                kept.push((i, e));
            }
        }
        kept.sort_by(|a, b| crate::model::canonical_cmp(&a.1, &b.1));
        let mut position: Vec<Option<usize>> = vec![None; changed.len()];
        for (n, (i, _)) in kept.iter().enumerate() {
            if changed[*i].is_none() {
                position[*i] = Some(n);
            }
        }
        // The listed order matters unless every entry stayed as listed, in canonical order.
        let mut last = None;
        let in_canonical_order = position.iter().all(|p| match (p, last) {
            (Some(n), Some(l)) if *n <= l => false,
            (Some(n), _) => {
                last = Some(*n);
                true
            }
            (None, _) => false,
        });
        let entries: Vec<Entry> = kept.into_iter().map(|(_, e)| e).collect();
        let order = (!in_canonical_order).then(|| Order {
            len: entries.len(),
            steps: changed
                .into_iter()
                .zip(position)
                .map(|(e, p)| match (e, p) {
                    (None, Some(n)) => Step::Kept(n),
                    (Some(e), _) => Step::Written(Box::new(e)),
                    (None, None) => unreachable!("a step either survived as listed or not"),
                })
                .collect(),
        });
        Changeset { entries, order }
    }

    /// The entries in the order the layer applies them: as its tar listed them when the
    /// changeset was read from one whose order matters ([`Changeset::from_tar_order`],
    /// including entries that applying the layer on its own replaced), else (a changeset
    /// built or changed by hand) in canonical order.
    pub fn in_order(&self) -> Vec<&Entry> {
        if let Some(order) = &self.order {
            let n = self.entries.len();
            if order.len == n
                && order
                    .steps
                    .iter()
                    .all(|s| !matches!(s, Step::Kept(i) if *i >= n))
            {
                return order
                    .steps
                    .iter()
                    .map(|s| match s {
                        Step::Kept(i) => &self.entries[*i],
                        Step::Written(e) => e.as_ref(),
                    })
                    .collect();
            }
        }
        let mut sorted: Vec<&Entry> = self.entries.iter().collect();
        sorted.sort_by(|a, b| crate::model::canonical_cmp(a, b));
        sorted
    }

    /// This layer applied on top of a view of the layers below, which `lower` describes: its
    /// entries, in [`Changeset::in_order`], put where applying them there puts them, by the
    /// rules of [`Changeset::from_tar_order`] with the layers below visible: a parent path
    /// goes through their symlinks as through the layer's own (`var/run/x` over
    /// `var/run -> /run` is `run/x`), until the layer hides or replaces them, and a hard link
    /// to what they show copies it up into the layer first (so the layer holds it from then
    /// on). This is where `layer-apply`'s `apply_on` writes each entry, and what
    /// `layer-union` merges. The result is in canonical order.
    pub fn on_top_of<'l>(&self, lower: &'l Lower<'l>) -> Changeset {
        self.on_top_of_checked(lower).0
    }

    /// [`Changeset::on_top_of`], with the first entry that cannot be applied there (where
    /// `layer-apply` refuses the layer, as Docker's apply of it fails): a parent path through
    /// a non-directory or a symlink loop, a hard link to nothing or to a directory.
    pub fn on_top_of_checked<'l>(&self, lower: &'l Lower<'l>) -> (Changeset, Option<Refusal>) {
        let steps = self.in_order();
        let mut applied = apply(&steps, Some(lower));
        let refused = applied.refused.take();
        let mut entries = applied.entries(&steps);
        entries.sort_by(crate::model::canonical_cmp);
        let cs = Changeset {
            entries,
            order: None,
        };
        (cs, refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{push_described, read_changeset, TarHeader, TarKind};
    use expect_test::{expect, Expect};

    /// One member of a hand-made tar, in the order given.
    enum M<'a> {
        File(&'a str, &'a str),
        Dir(&'a str),
        Sym(&'a str, &'a str),
        Hard(&'a str, &'a str),
        Char(&'a str, u32, u32),
    }

    fn tar_of(members: &[M]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for m in members {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_mtime(0);
            h.set_size(0);
            match *m {
                M::File(name, data) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(data.len() as u64);
                    b.append_data(&mut h, name, data.as_bytes()).unwrap();
                }
                M::Dir(name) => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(0o755);
                    b.append_data(&mut h, name, std::io::empty()).unwrap();
                }
                M::Sym(name, target) | M::Hard(name, target) => {
                    let ty = match m {
                        M::Sym(..) => tar::EntryType::Symlink,
                        _ => tar::EntryType::Link,
                    };
                    h.set_entry_type(ty);
                    b.append_link(&mut h, name, target).unwrap();
                }
                M::Char(name, major, minor) => {
                    h.set_entry_type(tar::EntryType::Char);
                    h.set_device_major(major).unwrap();
                    h.set_device_minor(minor).unwrap();
                    b.append_data(&mut h, name, std::io::empty()).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }

    /// Reads the tar of `members`; what it reads writes back to a tar that reads the same.
    fn check(members: &[M], expect: Expect) {
        let cs = read_changeset(tar_of(members).as_slice()).unwrap();
        expect.assert_eq(&cs.to_string());
        let tar = crate::write_changeset(&cs, &|_| None, Vec::new()).unwrap();
        assert_eq!(
            read_changeset(tar.as_slice()).unwrap(),
            cs,
            "written and read back"
        );
    }

    /// The layers below as a list of paths: `p/` a directory, `p -> t` a symlink, anything
    /// else a file holding its name.
    fn below(paths: &[&str]) -> Vec<Entry> {
        paths
            .iter()
            .map(|line| match line.split_once(" -> ") {
                Some((name, target)) => Entry::symlink(name, target),
                None => match line.strip_suffix('/') {
                    Some(dir) => Entry::dir(dir),
                    None => Entry::file(*line, *line),
                },
            })
            .collect()
    }

    /// `cs` applied on top of the layers `below` describes.
    fn on(cs: &Changeset, paths: &[&str]) -> String {
        let below = below(paths);
        cs.on_top_of(&|p| below.iter().find(|e| e.path == p))
            .to_string()
    }

    fn lines(cs: &Changeset) -> String {
        cs.to_string()
    }

    /// Issue: `x` (file), `x/` (dir), `x/y`, `x -> /etc`, `x/z` unpack to `x -> /etc` and
    /// `etc/z`: the symlink replaced the directory and what the layer put in it, and `x/z`
    /// went through it.
    #[test]
    fn a_tar_applies_in_order_a_symlink_replacing_a_directory() {
        check(
            &[
                M::File("x", "1"),
                M::Dir("x/"),
                M::File("x/y", "2"),
                M::Sym("x", "/etc"),
                M::File("x/z", "3"),
            ],
            expect![[r#"
                etc/z file 1 "3" 0644 0:0 @0
                x symlink -> /etc 0644 0:0 @0
            "#]],
        );
    }

    /// Issue: `a -> /b`, `b -> /c/../d`, `d/`, `a/x`: the file goes through both links, `..`
    /// after the missing `c` applied, and lands at `d/x`; `b` stays a symlink.
    #[test]
    fn a_tar_applies_in_order_a_chain_of_symlinks() {
        check(
            &[
                M::Sym("a", "/b"),
                M::Sym("b", "/c/../d"),
                M::Dir("d/"),
                M::File("a/x", "z"),
            ],
            expect![[r#"
                a symlink -> /b 0644 0:0 @0
                b symlink -> /c/../d 0644 0:0 @0
                d dir 0755 0:0 @0
                d/x file 1 "z" 0644 0:0 @0
            "#]],
        );
    }

    /// Markers and hard link targets go through the layer's symlinks too; absolute targets
    /// start at the root and `..` never climbs above it; a symlink made *after* an entry does
    /// not move it (it replaces the directory the entry was in).
    #[test]
    fn names_resolve_through_the_layers_earlier_symlinks() {
        check(
            &[
                M::Dir("real/"),
                M::Dir("real/sub/"),
                M::Sym("l1", "l2"),
                M::Sym("l2", "/real/../real/sub"),
                M::File("l1/f", "f"),
                M::Hard("h", "l1/f"),
                M::File("l1/.wh.gone", ""),
                M::File("l1/.wh..wh..opq", ""),
                M::Sym("up", "../../.."),
                M::File("up/top", "t"),
                M::File("late/x", "x"),
                M::Sym("late", "/real"),
            ],
            expect![[r#"
                h hardlink => real/sub/f 0644 0:0 @0
                l1 symlink -> l2 0644 0:0 @0
                l2 symlink -> /real/../real/sub 0644 0:0 @0
                late symlink -> /real 0644 0:0 @0
                real dir 0755 0:0 @0
                real/sub dir 0755 0:0 @0
                real/sub opaque 0644 0:0 @0
                real/sub/gone whiteout 0644 0:0 @0
                real/sub/f file 1 "f" 0644 0:0 @0
                top file 1 "t" 0644 0:0 @0
                up symlink -> ../../.. 0644 0:0 @0
            "#]],
        );
    }

    /// A non-directory over the layer's own directory removes everything the layer put under
    /// it (entries, whiteouts, the opaque marker inside it) but not a whiteout of the path
    /// itself; a directory over a directory keeps its children and takes the new metadata.
    #[test]
    fn replacing_a_directory_drops_what_the_layer_put_under_it() {
        check(
            &[
                M::File(".wh.d", ""),
                M::Dir("d/"),
                M::File("d/f", "f"),
                M::File("d/.wh.x", ""),
                M::File("d/.wh..wh..opq", ""),
                M::File("d/deep/g", "g"),
                M::File("d", "now a file"),
                M::Dir("e/"),
                M::File("e/g", "g"),
                M::File("e/.wh.y", ""),
                M::Dir("e/"),
                M::File("f/x", "x"),
                M::Sym("f", "e"),
                M::File("f/y", "y"),
            ],
            expect![[r#"
                d whiteout 0644 0:0 @0
                d file 10 "now a file" 0644 0:0 @0
                e dir 0755 0:0 @0
                e/y whiteout 0644 0:0 @0
                e/g file 1 "g" 0644 0:0 @0
                e/y file 1 "y" 0644 0:0 @0
                f symlink -> e 0644 0:0 @0
            "#]],
        );
    }

    /// A hard link shares its target's inode: when the layer later replaces or removes the
    /// target's name, the link keeps what it shared (a copy of that entry, metadata
    /// included). A target missing when the link is applied is named as the layer's final
    /// view resolves it.
    #[test]
    fn a_hard_link_keeps_what_it_shared() {
        check(
            &[
                M::File("f", "1"),
                M::Hard("z", "f"),
                M::File("f", "2"),
                M::Dir("d/"),
                M::File("d/g", "g"),
                M::Hard("y", "d/g"),
                M::Hard("w", "y"),
                M::Sym("d", "/e"),
                M::File("kept", "k"),
                M::Hard("v", "kept"),
                M::Hard("h", "m/t"),
                M::Sym("m", "/n"),
            ],
            expect![[r#"
                d symlink -> /e 0644 0:0 @0
                f file 1 "2" 0644 0:0 @0
                h hardlink => n/t 0644 0:0 @0
                kept file 1 "k" 0644 0:0 @0
                m symlink -> /n 0644 0:0 @0
                v hardlink => kept 0644 0:0 @0
                w file 1 "g" 0644 0:0 @0
                y file 1 "g" 0644 0:0 @0
                z file 1 "1" 0644 0:0 @0
            "#]],
        );
    }

    /// On top of the layers below, a hard link to what they show copies it up into the layer
    /// first (as `layer-apply` does): replaced later, the link keeps the lower entry; whited
    /// out later, the copy stays, the layer's own. A link onto itself changes nothing.
    #[test]
    fn a_hard_link_to_a_lower_entry_copies_it_up() {
        let read = |m: &[M]| read_changeset(tar_of(m).as_slice()).unwrap();
        let cs = read(&[M::Hard("l", "c"), M::File("c", "new")]);
        expect![[r#"
            c file 3 "new" 0644 0:0 @0
            l file 1 "c" 0644 0:0 @0
        "#]]
        .assert_eq(&on(&cs, &["c"]));
        let cs = read(&[
            M::Hard("l", "c"),
            M::File(".wh.c", ""),
            M::Hard("m", "d/f"),
            M::File("d/.wh..wh..opq", ""),
            M::Hard("n", "e"),
        ]);
        expect![[r#"
            c whiteout 0644 0:0 @0
            c file 1 "c" 0644 0:0 @0
            d opaque 0644 0:0 @0
            d/f file 3 "d/f" 0644 0:0 @0
            l hardlink => c 0644 0:0 @0
            m hardlink => d/f 0644 0:0 @0
            n hardlink => e 0644 0:0 @0
        "#]]
        .assert_eq(&on(&cs, &["c", "d/", "d/f", "e"]));
        let cs = read(&[M::Hard("s", "s"), M::Hard("l", "c"), M::Hard("l", "c")]);
        expect![[r#"
            l hardlink => c 0644 0:0 @0
        "#]]
        .assert_eq(&on(&cs, &["s -> x", "c"]));
    }

    /// What a layer means depends on the layers below: applied on top of them, its names go
    /// through their symlinks, in the order the tar lists them, and what it replaces later
    /// is what it replaces *there*.
    #[test]
    fn on_top_of_lower_layers_the_listed_order_counts() {
        let read = |m: &[M]| read_changeset(tar_of(m).as_slice()).unwrap();
        // `b/x` then `b -> /q`: on its own (or over a directory `b`) the symlink replaces the
        // directory `b/x` was in; over a lower `b -> /c` the file went to `c/x` and stays.
        let cs = read(&[M::File("b/x", "x"), M::Sym("b", "/q")]);
        expect![[r#"
            b symlink -> /q 0644 0:0 @0
        "#]]
        .assert_eq(&lines(&cs));
        expect![[r#"
            b symlink -> /q 0644 0:0 @0
            c/x file 1 "x" 0644 0:0 @0
        "#]]
        .assert_eq(&on(&cs, &["b -> /c", "c/"]));
        expect![[r#"
            b symlink -> /q 0644 0:0 @0
        "#]]
        .assert_eq(&on(&cs, &["b/", "b/old"]));

        // Over `a -> /b`, `a/x` goes through the lower link and then this layer's own
        // `b -> /d`, which the tar lists before it (but sorts after it).
        let cs = read(&[M::Sym("b", "/d"), M::Dir("d/"), M::File("a/x", "x")]);
        expect![[r#"
            a/x file 1 "x" 0644 0:0 @0
            b symlink -> /d 0644 0:0 @0
            d dir 0755 0:0 @0
        "#]]
        .assert_eq(&lines(&cs));
        expect![[r#"
            b symlink -> /d 0644 0:0 @0
            d dir 0755 0:0 @0
            d/x file 1 "x" 0644 0:0 @0
        "#]]
        .assert_eq(&on(&cs, &["a -> /b"]));
        // The same entries made by hand apply in canonical order: `a/x` lands in a directory
        // `b`, which the symlink `b` then replaces.
        let by_hand: Changeset = cs.entries.iter().cloned().collect();
        expect![[r#"
            b symlink -> /d 0644 0:0 @0
            d dir 0755 0:0 @0
        "#]]
        .assert_eq(&on(&by_hand, &["a -> /b"]));

        // Sorting what is sorted keeps the listed order; a change by hand forgets it.
        let mut sorted = cs.clone();
        sorted.sort();
        assert_eq!(sorted.in_order(), cs.in_order());
        assert_eq!(cs.in_order()[2].path, "a/x");
        let mut pushed = cs.clone();
        pushed.push(Entry::dir("e"));
        assert_eq!(pushed.in_order()[0].path, "a/x");
    }

    /// A 0:0 character device is overlayfs's whiteout: so it reads, from a tar or a scanned
    /// directory, and a changeset cannot hold one as a device.
    #[test]
    fn a_zero_zero_char_device_is_a_whiteout() {
        check(
            &[
                M::Char("wx", 0, 0),
                M::Char("dev/null", 1, 3),
                M::Char("dev/zero-minor", 5, 0),
                M::Dir("d/"),
                M::Char("d/in", 0, 0),
            ],
            expect![[r#"
                wx whiteout 0644 0:0 @0
                d dir 0755 0:0 @0
                d/in whiteout 0644 0:0 @0
                dev/null char 1:3 0644 0:0 @0
                dev/zero-minor char 5:0 0644 0:0 @0
            "#]],
        );
        let mut cs = Changeset::new();
        let h = TarHeader {
            name: b"run/wh",
            kind: TarKind::CharDevice(0, 0),
            link: &[],
            mode: 0o600,
            uid: 0,
            gid: 0,
            size: 0,
            mtime: 0,
            xattrs: Vec::new(),
        };
        push_described(&mut cs, &h, crate::Content::Unread).unwrap();
        assert_eq!(cs.entries[0].kind, EntryKind::Whiteout);
        let device: Changeset = [Entry::new(
            "wx",
            EntryKind::CharDevice { major: 0, minor: 0 },
        )]
        .into_iter()
        .collect();
        expect![[r#"entry "wx": a 0:0 character device is a whiteout (EntryKind::char_device)"#]]
            .assert_eq(&device.validate().unwrap_err().to_string());
    }

    #[test]
    fn resolving_paths() {
        let below = below(&[
            "run/",
            "var/",
            "var/run -> /run",
            "up -> ../../..",
            "loop -> loop",
            "f",
        ]);
        let look = |p: &str| below.iter().find(|e| e.path == p).map(kind_of);
        let cases = [
            ("var/run/x", true, "run/x"),
            ("var/run", false, "var/run"),
            ("up/up/var/run/a", true, "run/a"),
            ("missing/../var/run/b", true, "run/b"),
            ("loop/x", true, "loop/x"),
            ("f/x", true, "f/x"),
        ];
        for (path, follow, want) in cases {
            assert_eq!(resolve_path(path, follow, &look), want, "{path}");
        }
    }
}
