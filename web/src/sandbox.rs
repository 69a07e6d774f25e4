//! The teaching sandbox: a small layer stack built by hand in the browser, with no server.
//!
//! Each layer is a [`layer_diff::Changeset`]; the merged view is [`layer_union::Union::build`]
//! over them, the same code the server and the union explorer use. Edits follow overlayfs:
//! writing a path that a lower layer provides copies it up into the edited layer (the lower
//! copy stays, shadowed); deleting a lower path puts a whiteout in the edited layer; making a
//! directory opaque hides every lower child. A writable layer on top plays the container; commit
//! freezes it into one more read-only layer.
//!
//! Pure: every edit returns a [`Note`] that says, in words, what happened.

use layer_diff::{normalize_path, parent_path, Changeset, Content, Entry, EntryKind};
use layer_union::{fixture, Union};

/// The stack the sandbox opens with: a busybox-like base and a second layer that changes
/// `/etc/passwd` and deletes `/etc/motd`, so a whiteout hiding a lower file is on screen at once.
pub const SEED: &str = r#"# layer 1: the base rootfs (what `docker import` of a busybox root makes)
layer 1:
  /bin/busybox 1200
  /bin/sh -> busybox
  /bin/ls -> busybox
  /etc/passwd "root:x:0:0:root:/root:/bin/sh\n"
  /etc/group "root:x:0:\n"
  /etc/motd "Welcome to the sandbox\n"
  /tmp/ mode=1777
# layer 2: RUN adduser app && rm /etc/motd
layer 2:
  /etc/passwd "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"
  /etc/.wh.motd
  /home/app/
"#;

/// One layer of the sandbox.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// What made it (`RUN adduser app`), shown beside it.
    pub title: String,
    /// The container's writable layer (only the top layer can be).
    pub writable: bool,
    /// Its entries.
    pub changes: Changeset,
}

/// What an edit did, for the log under the diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// A new path.
    Added { layer: usize, path: String },
    /// The layer's own entry was replaced.
    Rewritten { layer: usize, path: String },
    /// A lower file was copied up into this layer and changed there.
    CopiedUp {
        layer: usize,
        path: String,
        from: usize,
    },
    /// A whiteout now hides the lower path.
    WhitedOut {
        layer: usize,
        path: String,
        hides: usize,
    },
    /// The layer's own entry was dropped (nothing below to hide).
    Dropped { layer: usize, path: String },
    /// Dropped the layer's own entry and whited out the lower one.
    DroppedAndWhitedOut {
        layer: usize,
        path: String,
        hides: usize,
    },
    /// The directory is now opaque.
    Opaque {
        layer: usize,
        path: String,
        hidden: usize,
    },
    /// A layer was added.
    LayerAdded { layer: usize, writable: bool },
    /// The writable layer became a read-only layer.
    Committed { layer: usize },
    /// The top layer was removed.
    LayerRemoved { layer: usize },
}

fn lname(n: usize) -> String {
    format!("layer {}", n + 1)
}

impl Note {
    /// The sentence shown in the log.
    pub fn text(&self) -> String {
        match self {
            Note::Added { layer, path } => format!("{}: added /{path}", lname(*layer)),
            Note::Rewritten { layer, path } => {
                format!("{}: rewrote its own /{path}", lname(*layer))
            }
            Note::CopiedUp { layer, path, from } => format!(
                "copy-up: /{path} was copied from {} into {} and changed there; {}'s copy is still stored, now shadowed",
                lname(*from),
                lname(*layer),
                lname(*from)
            ),
            Note::WhitedOut { layer, path, hides } => format!(
                "whiteout: {} got .wh.{} which hides /{path} of {}; the lower file still takes space",
                lname(*layer),
                base(path),
                lname(*hides)
            ),
            Note::Dropped { layer, path } => {
                format!("{}: removed its own /{path} (nothing below to hide)", lname(*layer))
            }
            Note::DroppedAndWhitedOut { layer, path, hides } => format!(
                "{}: removed its own /{path} and added .wh.{} to hide the copy in {}",
                lname(*layer),
                base(path),
                lname(*hides)
            ),
            Note::Opaque {
                layer,
                path,
                hidden,
            } => format!(
                "opaque: {} marked /{path}/ with .wh..wh..opq, hiding {hidden} lower path{}",
                lname(*layer),
                if *hidden == 1 { "" } else { "s" }
            ),
            Note::LayerAdded { layer, writable } => {
                if *writable {
                    format!("{} added: the container's writable layer", lname(*layer))
                } else {
                    format!("{} added: a new empty read-only layer", lname(*layer))
                }
            }
            Note::Committed { layer } => format!(
                "commit: the writable layer is frozen into read-only {}",
                lname(*layer)
            ),
            Note::LayerRemoved { layer } => format!("{} removed", lname(*layer)),
        }
    }

    /// The layer the note is about.
    pub fn layer(&self) -> usize {
        match self {
            Note::Added { layer, .. }
            | Note::Rewritten { layer, .. }
            | Note::CopiedUp { layer, .. }
            | Note::WhitedOut { layer, .. }
            | Note::Dropped { layer, .. }
            | Note::DroppedAndWhitedOut { layer, .. }
            | Note::Opaque { layer, .. }
            | Note::LayerAdded { layer, .. }
            | Note::Committed { layer }
            | Note::LayerRemoved { layer } => *layer,
        }
    }
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The sandbox's whole state.
#[derive(Clone, Debug, PartialEq)]
pub struct Sandbox {
    /// Bottom first.
    pub layers: Vec<Layer>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::seed()
    }
}

fn user_path(raw: &str) -> Result<String, String> {
    let p = normalize_path(raw.trim()).map_err(|e| e.to_string())?;
    if p.is_empty() {
        return Err("the root / cannot be changed here; name a path like /etc/hostname".into());
    }
    if base(&p).starts_with(layer_diff::WHITEOUT_PREFIX) {
        return Err(format!(
            "/{p}: names starting with .wh. are whiteouts; use Delete to make one"
        ));
    }
    Ok(p)
}

impl Sandbox {
    /// The [`SEED`] stack.
    pub fn seed() -> Sandbox {
        Sandbox::from_fixture(SEED).expect("the seed parses")
    }

    /// A stack from the fixture text format (see `layer_union::fixture`); layers are titled
    /// by the comment line just above their `layer N:` line, if any.
    pub fn from_fixture(text: &str) -> Result<Sandbox, String> {
        let layers = fixture::parse(text).map_err(|e| e.to_string())?;
        let mut titles = Vec::new();
        let mut last_comment = None;
        for line in text.lines().map(str::trim) {
            if let Some(c) = line.strip_prefix('#') {
                last_comment = Some(c.trim().to_string());
            } else if line.starts_with("layer ") {
                titles.push(last_comment.take().map(|c| {
                    // "# layer 2: RUN …" → "RUN …"
                    match c.split_once(':') {
                        Some((head, rest)) if head.trim().starts_with("layer") => {
                            rest.trim().to_string()
                        }
                        _ => c,
                    }
                }));
            } else if !line.is_empty() {
                last_comment = None;
            }
        }
        Ok(Sandbox {
            layers: layers
                .into_iter()
                .enumerate()
                .map(|(i, changes)| Layer {
                    title: titles
                        .get(i)
                        .cloned()
                        .flatten()
                        .unwrap_or_else(|| format!("layer {}", i + 1)),
                    writable: false,
                    changes,
                })
                .collect(),
        })
    }

    /// The changesets, bottom first.
    pub fn changesets(&self) -> Vec<Changeset> {
        self.layers.iter().map(|l| l.changes.clone()).collect()
    }

    /// The merged view.
    pub fn union(&self) -> Union {
        Union::build(&self.changesets())
    }

    /// Labels for the union explorer: `layer 1 · base rootfs`, `writable layer`.
    pub fn labels(&self) -> Vec<String> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if l.writable {
                    format!("layer {} (writable)", i + 1)
                } else {
                    format!("layer {}", i + 1)
                }
            })
            .collect()
    }

    /// True when the top layer is a container's writable layer.
    pub fn has_writable(&self) -> bool {
        self.layers.last().is_some_and(|l| l.writable)
    }

    fn below(&self, layer: usize) -> Option<Union> {
        (layer > 0).then(|| Union::build(&self.changesets()[..layer]))
    }

    fn check_layer(&self, layer: usize) -> Result<(), String> {
        if layer >= self.layers.len() {
            return Err(format!("there is no layer {}", layer + 1));
        }
        Ok(())
    }

    /// Writes a file with `content` at `path` in `layer` (add, change, or copy-up).
    pub fn write(&mut self, layer: usize, path: &str, content: &str) -> Result<Note, String> {
        self.check_layer(layer)?;
        let p = user_path(path)?;
        let below = self.below(layer);
        let lower = below.as_ref().and_then(|u| u.get(&p).cloned());
        if let Some(m) = &lower {
            if m.entry.is_dir() {
                return Err(format!(
                    "/{p} is a directory in {}; delete it first to put a file there",
                    lname(m.provider)
                ));
            }
        }
        // an ancestor that is a file below cannot hold children
        if let Some(u) = &below {
            let mut a = parent_path(&p);
            while let Some(dir) = a {
                if let Some(m) = u.get(dir).filter(|m| !m.entry.is_dir()) {
                    return Err(format!(
                        "/{dir} is a {} in {}, not a directory",
                        m.entry.kind.name(),
                        lname(m.provider)
                    ));
                }
                a = parent_path(dir);
            }
        }
        let cs = &mut self.layers[layer].changes;
        let own = cs.entries.iter().any(|e| e.path == p && !e.is_marker());
        if let Some(e) = cs.entries.iter().find(|e| e.path == p && e.is_dir()) {
            return Err(format!("/{} is a directory in this layer", e.path));
        }
        cs.entries
            .retain(|e| e.path != p || matches!(e.kind, EntryKind::Opaque));
        let mut entry = Entry::file(p.clone(), content.as_bytes().to_vec());
        if let Some(m) = &lower {
            // copy-up keeps the lower file's metadata
            entry.mode = m.entry.mode;
            entry.uid = m.entry.uid;
            entry.gid = m.entry.gid;
        }
        cs.push(entry);
        cs.sort();
        Ok(match (own, lower) {
            (true, _) => Note::Rewritten { layer, path: p },
            (false, Some(m)) => Note::CopiedUp {
                layer,
                path: p,
                from: m.provider,
            },
            (false, None) => Note::Added { layer, path: p },
        })
    }

    /// Makes a directory at `path` in `layer`.
    pub fn mkdir(&mut self, layer: usize, path: &str) -> Result<Note, String> {
        self.check_layer(layer)?;
        let p = user_path(path)?;
        let below = self.below(layer);
        if let Some(m) = below.as_ref().and_then(|u| u.get(&p)) {
            if m.entry.is_dir() {
                return Err(format!("/{p} already exists in {}", lname(m.provider)));
            }
        }
        let cs = &mut self.layers[layer].changes;
        if cs.entries.iter().any(|e| e.path == p && !e.is_marker()) {
            return Err(format!("/{p} already exists in this layer"));
        }
        cs.push(Entry::dir(p.clone()));
        cs.sort();
        Ok(Note::Added { layer, path: p })
    }

    /// Deletes `path` as seen from `layer`: drops the layer's own entry (and what it has under
    /// it) and, when a lower layer still shows the path, adds a whiteout.
    pub fn delete(&mut self, layer: usize, path: &str) -> Result<Note, String> {
        self.check_layer(layer)?;
        let p = user_path(path)?;
        let below = self.below(layer);
        let lower = below.as_ref().and_then(|u| u.get(&p).map(|m| m.provider));
        let cs = &mut self.layers[layer].changes;
        let under = format!("{p}/");
        let before = cs.entries.len();
        cs.entries.retain(|e| {
            !(e.path == p && !matches!(e.kind, EntryKind::Whiteout) || e.path.starts_with(&under))
        });
        let dropped = cs.entries.len() != before;
        let note = match (dropped, lower) {
            (_, Some(hides)) => {
                if cs
                    .entries
                    .iter()
                    .any(|e| e.path == p && matches!(e.kind, EntryKind::Whiteout))
                {
                    return Err(format!("/{p} is already whited out in this layer"));
                }
                cs.push(Entry::whiteout(p.clone()));
                if dropped {
                    Note::DroppedAndWhitedOut {
                        layer,
                        path: p,
                        hides,
                    }
                } else {
                    Note::WhitedOut {
                        layer,
                        path: p,
                        hides,
                    }
                }
            }
            (true, None) => Note::Dropped { layer, path: p },
            (false, None) => {
                return Err(format!(
                    "/{p} does not exist below {} or in it",
                    lname(layer)
                ))
            }
        };
        cs.sort();
        Ok(note)
    }

    /// Undoes a whiteout or opaque marker in `layer` (the lower path shows again).
    pub fn restore(&mut self, layer: usize, path: &str) -> Result<(), String> {
        self.check_layer(layer)?;
        let p = normalize_path(path).map_err(|e| e.to_string())?;
        let cs = &mut self.layers[layer].changes;
        let before = cs.entries.len();
        cs.entries.retain(|e| !(e.path == p && e.is_marker()));
        if cs.entries.len() == before {
            return Err(format!(
                "{} has no whiteout or opaque marker at /{p}",
                lname(layer)
            ));
        }
        Ok(())
    }

    /// Makes the directory `path` opaque in `layer`: every lower child is hidden.
    pub fn opaque(&mut self, layer: usize, path: &str) -> Result<Note, String> {
        self.check_layer(layer)?;
        let p = user_path(path)?;
        let below = self.below(layer);
        let hidden = match below.as_ref().and_then(|u| u.get(&p)) {
            Some(m) if m.entry.is_dir() => below.as_ref().map_or(0, |u| {
                u.merged()
                    .filter(|e| e.path().starts_with(&format!("{p}/")))
                    .count()
            }),
            Some(m) => {
                return Err(format!(
                    "/{p} is a {} in {}, not a directory",
                    m.entry.kind.name(),
                    lname(m.provider)
                ))
            }
            None => return Err(format!("/{p} is not a directory below {}", lname(layer))),
        };
        let cs = &mut self.layers[layer].changes;
        if cs.opaques().any(|e| e.path == p) {
            return Err(format!("/{p} is already opaque in this layer"));
        }
        cs.push(Entry::opaque(p.clone()));
        if !cs.entries.iter().any(|e| e.path == p && e.is_dir()) {
            cs.push(Entry::dir(p.clone()));
        }
        cs.sort();
        Ok(Note::Opaque {
            layer,
            path: p,
            hidden,
        })
    }

    /// Adds an empty read-only layer on top (under the writable layer, if there is one).
    pub fn add_layer(&mut self, title: &str) -> Note {
        let at = if self.has_writable() {
            self.layers.len() - 1
        } else {
            self.layers.len()
        };
        let title = if title.trim().is_empty() {
            format!("layer {}", at + 1)
        } else {
            title.trim().to_string()
        };
        self.layers.insert(
            at,
            Layer {
                title,
                writable: false,
                changes: Changeset::new(),
            },
        );
        Note::LayerAdded {
            layer: at,
            writable: false,
        }
    }

    /// Adds the container's writable layer on top.
    pub fn add_writable(&mut self) -> Result<Note, String> {
        if self.has_writable() {
            return Err("the stack already has a writable layer".into());
        }
        self.layers.push(Layer {
            title: "container (writable)".into(),
            writable: true,
            changes: Changeset::new(),
        });
        Ok(Note::LayerAdded {
            layer: self.layers.len() - 1,
            writable: true,
        })
    }

    /// Freezes the writable layer into a read-only layer titled `message`.
    pub fn commit(&mut self, message: &str) -> Result<Note, String> {
        let n = self.layers.len();
        match self.layers.last_mut() {
            Some(l) if l.writable => {
                l.writable = false;
                l.title = if message.trim().is_empty() {
                    "commit".into()
                } else {
                    message.trim().to_string()
                };
                Ok(Note::Committed { layer: n - 1 })
            }
            _ => Err("there is no writable layer to commit; add one first".into()),
        }
    }

    /// Removes the top layer (the writable layer is discarded, like `docker rm`).
    pub fn remove_top(&mut self) -> Result<Note, String> {
        if self.layers.len() <= 1 {
            return Err("the base layer stays; reset the sandbox to start over".into());
        }
        self.layers.pop();
        Ok(Note::LayerRemoved {
            layer: self.layers.len(),
        })
    }

    /// The stack in the fixture text format (what [`Sandbox::from_fixture`] reads back).
    pub fn to_fixture(&self) -> String {
        let mut out = String::new();
        for (i, l) in self.layers.iter().enumerate() {
            out.push_str(&format!(
                "# layer {}: {}\nlayer {}:\n",
                i + 1,
                l.title,
                i + 1
            ));
            for e in &l.changes.entries {
                out.push_str("  ");
                out.push_str(&fixture_line(e));
                out.push('\n');
            }
        }
        out
    }

    /// The text of the file `path` as `layer` sees it (for pre-filling the editor on a
    /// copy-up).
    pub fn read(&self, layer: usize, path: &str) -> Option<String> {
        let p = normalize_path(path).ok()?;
        let u = Union::build(&self.changesets()[..=layer.min(self.layers.len().saturating_sub(1))]);
        let f = u.lookup(&p, layer.min(self.layers.len().saturating_sub(1)))?;
        f.content
            .bytes()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
    }
}

fn quote(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

fn fixture_line(e: &Entry) -> String {
    let (dir, name) = match parent_path(&e.path) {
        Some("") | None => (String::from("/"), base(&e.path).to_string()),
        Some(d) => (format!("/{d}/"), base(&e.path).to_string()),
    };
    let mut line = match &e.kind {
        EntryKind::Whiteout => format!("{dir}.wh.{name}"),
        EntryKind::Opaque => format!("/{}/.wh..wh..opq", e.path).replace("//", "/"),
        EntryKind::Dir => format!("/{}/", e.path).replace("//", "/"),
        EntryKind::File { size, content } => match content {
            Content::Inline(b) => format!("/{} {}", e.path, quote(b)),
            Content::Digest(_) | Content::Unread => format!("/{} {size}", e.path),
        },
        EntryKind::Symlink { target } => format!("/{} -> {target}", e.path),
        EntryKind::Hardlink { target } => format!("/{} => /{target}", e.path),
        EntryKind::CharDevice { major, minor } => format!("/{} char {major}:{minor}", e.path),
        EntryKind::BlockDevice { major, minor } => format!("/{} block {major}:{minor}", e.path),
        EntryKind::Fifo => format!("/{} fifo", e.path),
    };
    if !e.is_marker() && e.mode != e.kind.default_mode() {
        line.push_str(&format!(" mode={:o}", e.mode));
    }
    if e.uid != 0 {
        line.push_str(&format!(" uid={}", e.uid));
    }
    if e.gid != 0 {
        line.push_str(&format!(" gid={}", e.gid));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_shows_a_whiteout_hiding_a_lower_file() {
        let s = Sandbox::seed();
        assert_eq!(s.layers.len(), 2);
        assert_eq!(s.layers[1].title, "RUN adduser app && rm /etc/motd");
        let u = s.union();
        assert!(u.get("etc/motd").is_none());
        assert_eq!(u.shadowed("etc/motd")[0].0, 0);
        assert_eq!(u.markers("etc/motd")[0].0, 1);
        assert_eq!(u.get("etc/passwd").unwrap().provider, 1);
        assert_eq!(u.get("bin/sh").unwrap().provider, 0);
    }

    #[test]
    fn the_fixture_round_trips() {
        let s = Sandbox::seed();
        let text = s.to_fixture();
        let back = Sandbox::from_fixture(&text).unwrap();
        assert_eq!(back.changesets(), s.changesets());
        assert_eq!(back.layers[1].title, s.layers[1].title);
    }

    #[test]
    fn writing_a_lower_file_in_the_writable_layer_copies_it_up() {
        let mut s = Sandbox::seed();
        let note = s.add_writable().unwrap();
        assert_eq!(note.text(), "layer 3 added: the container's writable layer");
        let before = s.read(2, "/etc/group").unwrap();
        assert_eq!(before, "root:x:0:\n");
        let note = s
            .write(2, "/etc/group", "root:x:0:\napp:x:1000:\n")
            .unwrap();
        assert_eq!(
            note,
            Note::CopiedUp {
                layer: 2,
                path: "etc/group".into(),
                from: 0
            }
        );
        assert!(note
            .text()
            .starts_with("copy-up: /etc/group was copied from layer 1 into layer 3"));
        let u = s.union();
        assert_eq!(u.get("etc/group").unwrap().provider, 2);
        assert_eq!(u.shadowed("etc/group").len(), 1);
        // writing again rewrites the layer's own copy
        assert_eq!(
            s.write(2, "etc/group", "x\n").unwrap(),
            Note::Rewritten {
                layer: 2,
                path: "etc/group".into()
            }
        );
        assert_eq!(
            s.write(2, "/etc/new", "n").unwrap(),
            Note::Added {
                layer: 2,
                path: "etc/new".into()
            }
        );
    }

    #[test]
    fn deleting_a_lower_file_whites_it_out() {
        let mut s = Sandbox::seed();
        s.add_writable().unwrap();
        let note = s.delete(2, "/bin/ls").unwrap();
        assert_eq!(
            note,
            Note::WhitedOut {
                layer: 2,
                path: "bin/ls".into(),
                hides: 0
            }
        );
        assert_eq!(
            note.text(),
            "whiteout: layer 3 got .wh.ls which hides /bin/ls of layer 1; the lower file still takes space"
        );
        assert!(s.union().get("bin/ls").is_none());
        assert!(s.delete(2, "/bin/ls").is_err(), "gone already");
        // a file added and deleted in the same layer leaves nothing behind
        s.write(2, "/tmp/x", "x").unwrap();
        assert_eq!(
            s.delete(2, "/tmp/x").unwrap(),
            Note::Dropped {
                layer: 2,
                path: "tmp/x".into()
            }
        );
        // a copied-up file deleted: own copy dropped and the lower one whited out
        s.write(2, "/etc/group", "g").unwrap();
        assert_eq!(
            s.delete(2, "/etc/group").unwrap(),
            Note::DroppedAndWhitedOut {
                layer: 2,
                path: "etc/group".into(),
                hides: 0
            }
        );
        assert!(s.union().get("etc/group").is_none());
        s.restore(2, "/etc/group").unwrap();
        assert_eq!(s.union().get("etc/group").unwrap().provider, 0);
        assert!(s.delete(2, "/nope").is_err());
    }

    #[test]
    fn opaque_directories_hide_every_lower_child() {
        let mut s = Sandbox::seed();
        s.add_layer("RUN rm -rf /etc/* && echo new > /etc/only");
        let note = s.opaque(2, "/etc").unwrap();
        assert_eq!(
            note.text(),
            "opaque: layer 3 marked /etc/ with .wh..wh..opq, hiding 2 lower paths"
        );
        s.write(2, "/etc/only", "new\n").unwrap();
        let u = s.union();
        assert!(u.get("etc/passwd").is_none());
        assert_eq!(u.get("etc/only").unwrap().provider, 2);
        assert!(s.opaque(2, "/bin/sh").is_err());
    }

    #[test]
    fn commit_freezes_the_writable_layer() {
        let mut s = Sandbox::seed();
        assert!(s.commit("x").is_err());
        s.add_writable().unwrap();
        assert!(s.add_writable().is_err());
        s.write(2, "/etc/hostname", "box\n").unwrap();
        // a read-only layer added now goes under the writable one
        assert_eq!(
            s.add_layer(""),
            Note::LayerAdded {
                layer: 2,
                writable: false
            }
        );
        assert!(s.layers[3].writable);
        assert_eq!(
            s.commit("set hostname").unwrap(),
            Note::Committed { layer: 3 }
        );
        assert!(!s.has_writable());
        assert_eq!(s.layers[3].title, "set hostname");
        assert_eq!(s.union().get("etc/hostname").unwrap().provider, 3);
        assert_eq!(s.remove_top().unwrap(), Note::LayerRemoved { layer: 3 });
        assert!(s.union().get("etc/hostname").is_none());
    }

    #[test]
    fn bad_paths_are_refused_with_a_reason() {
        let mut s = Sandbox::seed();
        assert!(s.write(1, "/", "x").unwrap_err().contains("root"));
        assert!(s.write(1, "/../x", "x").is_err());
        assert!(s
            .write(1, "/etc/.wh.x", "x")
            .unwrap_err()
            .contains("whiteouts"));
        assert!(s.write(1, "/etc", "x").unwrap_err().contains("directory"));
        assert!(s
            .write(1, "/etc/passwd/x", "x")
            .unwrap_err()
            .contains("not a directory"));
        assert!(s.write(7, "/x", "x").unwrap_err().contains("no layer 8"));
        assert!(s.mkdir(1, "/etc").is_err());
        assert_eq!(
            s.mkdir(1, "/srv").unwrap(),
            Note::Added {
                layer: 1,
                path: "srv".into()
            }
        );
    }
}
