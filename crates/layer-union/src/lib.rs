//! The merged view of a layer stack, with provenance: which layer provides each path, which
//! lower versions it shadows, which whiteouts and opaque directories bear on it, what each
//! layer added, modified and removed, and how much space the stack wastes.
//!
//! ```
//! use layer_union::{fixture, Change, Union};
//!
//! let layers = fixture::parse(r#"
//!     layer 1:
//!       /etc/passwd "root:x:0:0\n"
//!       /bin/ls 1200
//!     layer 2:
//!       /etc/.wh.passwd
//!       /bin/sh => /bin/ls
//! "#).unwrap();
//! let union = Union::build(&layers);
//! assert!(union.get("etc/passwd").is_none());
//! assert_eq!(union.shadowed("etc/passwd")[0].0, 0); // layer 0 still holds the bytes
//! assert_eq!(union.get("bin/sh").unwrap().provider, 1);
//! assert_eq!(union.lookup("bin/sh", 1).unwrap().path, "bin/ls");
//! assert_eq!(union.layer_changes(1), [
//!     ("bin/sh".to_string(), Change::Added),
//!     ("etc/passwd".to_string(), Change::Removed),
//! ]);
//! assert_eq!(union.efficiency().wasted_bytes, 11); // written, then deleted
//! ```
//!
//! # Union rules
//! [`Union::build`] takes changesets bottom first (index 0) and applies them in order, as
//! overlayfs and the OCI image-spec define the result: read top-down, the first layer that has
//! a path wins. First each layer's paths are resolved *on top of* the layers below, as
//! containerd applies a layer onto the mounted snapshot of its parents (and as
//! `layer-apply`'s `apply_on` unpacks it), by `layer-diff`'s one rule
//! ([`Changeset::on_top_of`](layer_diff::Changeset::on_top_of)): the layer's entries are taken
//! in the order its tar listed them (canonical order for a changeset made by hand), and the
//! parent directory of every entry, whiteout and hard link target, and the directory of an
//! opaque marker, is resolved through symlinks — those of lower layers and those the layer
//! itself made earlier, absolute ones from the image root, `..` never above it — so with
//! `var/run -> /run` below, `var/run/x` is put at `run/x` and `etc/.wh.x` under a symlinked
//! `etc` deletes the file it resolves to. The last name of a path is never followed, so an
//! entry replaces a symlink rather than writing through it; a non-directory replacing the
//! layer's own directory drops what the layer put there earlier, and the last entry for a
//! path wins.
//! Then, for each layer, in this order:
//! 1. an opaque marker on a directory hides every lower child of it (so it never hides the
//!    layer's own entries there);
//! 2. a whiteout hides its path and everything under it;
//! 3. each entry is put at its path, parents first: a directory over a directory replaces the
//!    attributes and keeps the lower children; anything else replaces what was there, so a
//!    non-directory over a directory hides the lower subtree (a file or a symlink replacing a
//!    directory), and a directory over a non-directory hides it. A missing parent is an
//!    *implied* directory of that layer (replacing a lower non-directory, as the layer's own
//!    directory does in overlayfs), and an existing parent directory is left as it is;
//! 4. hard links are resolved in the merged view at that layer: [`MergedEntry::link`] names
//!    the non-directory entry (layer and path) the target showed then, following chains, so a
//!    later layer replacing the target does not change what the link shares.
//!
//! # Waste and efficiency, as dive computes them
//! Source: wagoodman/dive `dive/filetree/efficiency.go` (`Efficiency`) and
//! `dive/image/analysis.go` (`Analyze`), snapshot d6c6919. For each layer, every *leaf* of
//! that layer's own tree is an occurrence of its path (a leaf is an entry with nothing under
//! it in the same layer; a directory that also lists children is not one):
//! - an ordinary entry occurs with its tar size (file size; 0 for directories, links, devices);
//! - a whiteout of `p` occurs with the total size of `p`'s subtree in the merged view of the
//!   layers below if `p` was a directory there, and with 0 otherwise. So deleting a file costs
//!   its earlier copies in full, while deleting a directory costs something only if the
//!   directory itself was a leaf (empty) in some lower layer: otherwise the whiteout is the
//!   path's only occurrence, and the files under it were each seen once;
//! - an opaque marker adds nothing (dive drops `.wh..wh..*` names), except that a directory
//!   the layer names only through its marker is a leaf of size 0.
//!
//! Per path: `cumulative` = Σ sizes of its occurrences, `minimum` = the smallest one. Then
//! - **score** = Σ minimum / Σ cumulative over all paths (1.0 when Σ cumulative is 0);
//! - **wasted bytes** (dive's `inefficientBytes`) = Σ cumulative over the paths that occur
//!   more than once — every copy counts, the smallest included, so wasted bytes are *not*
//!   Σ cumulative − Σ minimum and the score is not `1 - wasted/total`;
//! - **size** = Σ of all layers' sizes, **user size** = the same without layer 0, and
//!   wasted/user = wasted bytes / user size (dive's `userWastedPercent`, a fraction).
//!
//! Two knowing departures: dive stacks the lower layers with its own tree code, which keeps
//! the children of a directory replaced by a file, ignores opaque markers and gives
//! directories implied by deeper paths no "is a directory" flag; we size a whiteout from our
//! own (overlay-correct) merged view instead. And a whiteout of a path absent below makes dive
//! stop walking that layer (an error it only logs); we count it as an occurrence of size 0.
//! The two agree on layers as Docker writes them, where parent directories are always listed.
//!
//! # Fixture format
//! A small text format describes a layer stack for tests and lessons; [`fixture::parse`] turns
//! it into changesets, [`fixture::tars`] into real layer tars (through `layer-diff`), and
//! [`fixture::render`] shows a union as text for snapshots.
//! ```text
//! fixture  = { line } ;                     blank lines and "# comments" are ignored
//! line     = "layer" N ":"                  layers numbered 1, 2, 3… in order (index N-1)
//!          | path [ what ] { attr } ;       an entry of the current layer
//! path     = ["/"] name { "/" name } ["/"]  normalised like a tar name; "/" alone is the root;
//!                                           ".wh.<name>" is a whiteout, ".wh..wh..opq" opaque;
//!                                           a trailing "/" (with no what) is a directory
//! what     = STRING                         a file with these bytes
//!          | SIZE                           a file of SIZE bytes ("1200", "4K", "2M") whose
//!                                           content is "/<path>\n" repeated, inline up to
//!                                           4 KiB and digest-only above (as decoding keeps it)
//!          | "dir" | "fifo"
//!          | "->" TARGET                    a symlink (target kept verbatim)
//!          | "=>" PATH                      a hard link (target normalised)
//!          | ("char" | "block") MAJOR ":" MINOR   "char 0:0" is a whiteout, as overlayfs reads it
//! attr     = "mode=" OCTAL | "uid=" N | "gid=" N | "mtime=" SECONDS
//!          | "xattr." NAME "=" (STRING | WORD)
//! STRING   = '"' … '"'                      escapes \n \t \r \0 \\ \" \xHH
//! ```
//! Defaults: mode 0644 (dirs 0755, symlinks 0777, markers 0), owner 0:0, mtime 0. Whiteouts and
//! opaque markers take no `what`. Tokens are separated by whitespace, so paths and bare words
//! hold no spaces; a path may be listed once per layer (a whiteout and an entry of the same
//! path are two listings). All problems are reported at once, each with its line.
//!
//! Pure: no file system, network, clock or threads; it builds for `wasm32-unknown-unknown` so
//! the dashboard runs the same union code as the server.
//!
//! Deliberately absent: reading layers from disk or a blob store, applying them, mounting
//! overlays and containers (I/O crates do that with this model); symlink
//! resolution in queries ([`Union::get`] looks a path up literally: paths in the view are
//! already resolved); size accounting beyond dive's rules.
#![deny(missing_docs)]

mod compare;
mod efficiency;
mod error;
mod format;
mod key;
mod render;
mod union;

pub use compare::{compare, Aspect, Difference, PathDifference};
pub use efficiency::{Efficiency, Inefficiency};
pub use error::{Diagnostic, ErrorKind, UnionError};
pub use union::{Change, FileRef, LinkSource, MergedEntry, Union};

/// The text fixture format for layer stacks (grammar in the crate doc) and text renderings
/// of a union for snapshot tests.
pub mod fixture {
    pub use crate::format::{parse, tars};
    pub use crate::render::{render, render_changes, render_efficiency};
}

#[cfg(test)]
mod tests;
