//! Comparing two merged views (two images): which paths one has and the other has not, and
//! what differs where both have one.

use crate::key::PathKey;
use crate::{MergedEntry, Union};
use layer_diff::{Content, Entry, EntryKind};
use std::cmp::Ordering;

/// One way two entries at the same path can differ, in the order [`compare`] lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Aspect {
    /// A different type (a file in one, a directory or a link in the other).
    Type,
    /// A file's bytes (its size or its digest).
    Content,
    /// A symlink's or a hard link's target, or a device's numbers.
    Target,
    /// Permission bits, setuid/setgid/sticky included.
    Mode,
    /// Numeric owner or group.
    Owner,
    /// Extended attributes.
    Xattrs,
}

impl Aspect {
    /// `type`, `content`, `target`, `mode`, `owner` or `xattrs`.
    pub fn name(self) -> &'static str {
        match self {
            Aspect::Type => "type",
            Aspect::Content => "content",
            Aspect::Target => "target",
            Aspect::Mode => "mode",
            Aspect::Owner => "owner",
            Aspect::Xattrs => "xattrs",
        }
    }
}

/// How a path differs from the first view (`a`) to the second (`b`), as `diff -r a b` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Only in `b`.
    Added,
    /// Only in `a`.
    Removed,
    /// In both, not the same: what differs, in [`Aspect`] order, never empty.
    Changed(Vec<Aspect>),
}

impl Difference {
    /// `A` (only in `b`), `D` (only in `a`) or `C` (changed), as `docker diff` marks paths.
    pub fn letter(&self) -> char {
        match self {
            Difference::Added => 'A',
            Difference::Removed => 'D',
            Difference::Changed(_) => 'C',
        }
    }
}

/// One path that differs, with what each view shows there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathDifference<'a> {
    /// The path (normalised, never the root).
    pub path: &'a str,
    /// How it differs.
    pub difference: Difference,
    /// What `a` shows there, and the layer of `a` that provides it.
    pub a: Option<&'a MergedEntry>,
    /// What `b` shows there, and the layer of `b` that provides it.
    pub b: Option<&'a MergedEntry>,
}

/// Every path whose merged entry differs between `a` and `b`, in tree order: paths only one
/// view has (everything under a directory only one has is listed too), and paths both have
/// with a different type, content, target, mode, owner or extended attributes.
///
/// Modification times are not compared: two builds of the same files differ in every mtime,
/// which would bury what changed. A file's content is compared by size and digest (inline
/// bytes are digested); content a view did not read ([`Content::Unread`]) is compared by
/// size alone. A hard link is compared by its target's path. The root is not listed.
pub fn compare<'a>(a: &'a Union, b: &'a Union) -> Vec<PathDifference<'a>> {
    let mut out = Vec::new();
    let mut left = a.merged().filter(|m| !m.path().is_empty()).peekable();
    let mut right = b.merged().filter(|m| !m.path().is_empty()).peekable();
    loop {
        let order = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => PathKey::new(x.path()).cmp(&PathKey::new(y.path())),
        };
        match order {
            Ordering::Less => {
                let x = left.next().expect("peeked");
                out.push(PathDifference {
                    path: x.path(),
                    difference: Difference::Removed,
                    a: Some(x),
                    b: None,
                });
            }
            Ordering::Greater => {
                let y = right.next().expect("peeked");
                out.push(PathDifference {
                    path: y.path(),
                    difference: Difference::Added,
                    a: None,
                    b: Some(y),
                });
            }
            Ordering::Equal => {
                let (x, y) = (left.next().expect("peeked"), right.next().expect("peeked"));
                let aspects = differences(&x.entry, &y.entry);
                if !aspects.is_empty() {
                    out.push(PathDifference {
                        path: x.path(),
                        difference: Difference::Changed(aspects),
                        a: Some(x),
                        b: Some(y),
                    });
                }
            }
        }
    }
    out
}

/// What differs between two entries at one path, in [`Aspect`] order.
fn differences(x: &Entry, y: &Entry) -> Vec<Aspect> {
    let mut out = Vec::new();
    if std::mem::discriminant(&x.kind) != std::mem::discriminant(&y.kind) {
        out.push(Aspect::Type);
    } else if let (
        EntryKind::File {
            size: sx,
            content: cx,
        },
        EntryKind::File {
            size: sy,
            content: cy,
        },
    ) = (&x.kind, &y.kind)
    {
        let bytes_differ = match (cx, cy) {
            (Content::Unread, _) | (_, Content::Unread) => false,
            (Content::Inline(p), Content::Inline(q)) => p != q,
            _ => cx.digest() != cy.digest(),
        };
        if sx != sy || bytes_differ {
            out.push(Aspect::Content);
        }
    } else if target(&x.kind) != target(&y.kind) {
        out.push(Aspect::Target);
    }
    if x.mode != y.mode {
        out.push(Aspect::Mode);
    }
    if (x.uid, x.gid) != (y.uid, y.gid) {
        out.push(Aspect::Owner);
    }
    if x.xattrs != y.xattrs {
        out.push(Aspect::Xattrs);
    }
    out
}

/// What a link points to, or a device's numbers; `None` for other kinds.
fn target(kind: &EntryKind) -> Option<(&str, u32, u32)> {
    match kind {
        EntryKind::Symlink { target } | EntryKind::Hardlink { target } => Some((target, 0, 0)),
        EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } => {
            Some(("", *major, *minor))
        }
        _ => None,
    }
}
