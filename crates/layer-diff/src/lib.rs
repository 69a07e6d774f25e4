//! Layer changesets and their tar codec: what one image layer adds, changes and deletes.
//!
//! A layer is a tar of the paths it adds or changes, in full, plus deletions written as OCI
//! whiteouts: an empty file `<dir>/.wh.<name>` deletes `<dir>/<name>` from the layers below,
//! and `<dir>/.wh..wh..opq` makes `<dir>` opaque (every lower child hidden). This crate turns
//! such a tar into a [`Changeset`] of [`Entry`]s and back:
//!
//! - [`read_changeset`] / [`read_changeset_with`] decode a tar stream (ustar, PAX, GNU long
//!   names). Names are normalised (`./a/` → `a`), and a name whose `..` climbs above the root is
//!   an error, never silently clamped. Whiteout names become [`EntryKind::Whiteout`] and
//!   [`EntryKind::Opaque`] entries on the path they affect, and so does a 0:0 character device,
//!   overlayfs's whiteout ([`EntryKind::char_device`]). Small files keep their bytes
//!   ([`Content::Inline`]); larger ones only their sha256 ([`Content::Digest`]), hashed while
//!   streaming ([`ReadOptions`]). The entries apply in the order the tar lists them, as
//!   `layer-apply` unpacks them ([`Changeset::from_tar_order`]): the last for a name wins, a
//!   non-directory replacing the layer's own directory takes what the layer put in it along,
//!   and a name goes through the symlinks the layer made before it.
//! - [`Changeset::on_top_of`] applies a layer the same way on top of a view of the layers
//!   below (their symlinks followed too, in the order the tar listed the entries), and
//!   [`resolve_path`] is the one path resolution inside the image root both use.
//! - [`HeaderTap`], [`Extensions`] and [`pax_records`] read the extended headers in front of an
//!   entry (PAX records by their length prefix, GNU long names) the one way every tar reader of
//!   the project shares, whatever bytes (`\n` included) a value holds.
//! - [`EntryContent`] is a tar entry's content as every reader of a layer takes it: a PAX GNU
//!   sparse file (GNU tar's `--sparse --format=posix`, formats 0.0, 0.1 and 1.0) expanded as
//!   Go's `archive/tar` expands it, its map checked the same way ([`PaxSparse`],
//!   [`SparseMapBlocks`], [`SparseMap::check`]) by ingest's checker, the changeset reader and
//!   the applier.
//! - [`write_changeset`] encodes deterministically: the same changeset always gives the same
//!   bytes (canonical order with whiteouts before their siblings and opaque markers first in
//!   their directory, fixed header fields, PAX only where ustar cannot hold a value).
//! - [`TarWriter`] (and [`header_blocks`]) is that encoder's entry writer on its own, for tars
//!   of entries that come from elsewhere (a directory tree, a container's merged view): names
//!   and link targets given as bytes and written exactly, so every tar the project writes
//!   names things the same way.
//!
//! ```
//! use layer_diff::{read_changeset, write_changeset, Changeset, Entry};
//!
//! let cs: Changeset = [
//!     Entry::file("etc/passwd", "root:x:0:0\n"),
//!     Entry::whiteout("etc/shadow"),
//!     Entry::opaque("var/cache"),
//!     Entry::symlink("lib", "usr/lib"),
//! ]
//! .into_iter()
//! .collect();
//! let tar = write_changeset(&cs, &|_| None, Vec::new()).unwrap();
//! let back = read_changeset(tar.as_slice()).unwrap();
//! let names: Vec<String> = back.iter().map(|e| format!("{} {}", e.kind.name(), e.path)).collect();
//! assert_eq!(names, ["whiteout etc/shadow", "file etc/passwd", "symlink lib", "opaque var/cache"]);
//! ```
//!
//! Pure: no file system, network, clock or threads; it builds for `wasm32-unknown-unknown` so
//! the dashboard decodes layers with the same code as the server.
//!
//! Deliberately absent: applying a changeset to a directory, or computing one from a
//! container's writable layer (both touch the disk and belong to an I/O crate); comparing two
//! trees; compression (callers hand in the uncompressed tar stream); user and group *names*
//! (only numeric ids are kept); `LIBARCHIVE.xattr.*` records and PAX global headers (skipped).
#![deny(missing_docs)]

mod error;
mod header;
mod model;
mod name;
mod path;
mod read;
mod resolve;
mod sparse;
mod write;

pub use error::{DiffError, ErrorKind};
pub use header::{
    c_string, header_name, pax_records, EntryHeaders, Extensions, HeaderTap, PaxError, PaxRecords,
    Tapped,
};
pub use model::{Changeset, Content, Entry, EntryKind};
pub use name::{
    check_name, name_bytes, name_from_bytes, NameClass, NameError, MAX_NAME_LEN, MAX_PATH_LEN,
};
pub use path::{
    compare_paths, normalize_path, parent_path, parse_tar_name, TarName, OPAQUE_MARKER,
    WHITEOUT_PREFIX,
};
pub use read::{
    numeric_as_go, parse_numeric, parse_octal, pax_time, push_described, read_changeset,
    read_changeset_with, type_taken, ReadOptions, XATTR_PREFIX,
};
pub use resolve::{resolve_path, Lower, PathKind, Refusal, RefusalReason, MAX_SYMLINK_HOPS};
pub use sparse::{
    entry_sparse, EntryContent, Fragment, PaxSparse, SparseError, SparseMap, SparseMapBlocks,
    MAX_SPARSE_MAP,
};
pub use write::{header_blocks, write_changeset, TarHeader, TarKind, TarWriter};

#[cfg(test)]
mod tests;
