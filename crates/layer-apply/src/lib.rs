//! Applying OCI layer tars to directories safely, and packing directories back into tars.
//!
//! This is the "safe apply" of Docker's `archive.Untar` / `ApplyLayer`: a layer tar comes from
//! a registry or a `docker load` and is hostile until proven otherwise, so [`apply`] resolves
//! every path as if the target directory were `/`. Each entry's parent directory is opened
//! with `openat2(2)` and `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` (or, where the kernel or a
//! seccomp filter refuses `openat2`, an emulation that walks one component at a time through
//! `O_PATH | O_NOFOLLOW` descriptors), and the entry is then created with `*at` calls relative
//! to that descriptor. A symlink in the layer may point anywhere — `ln -s /etc evil` is data —
//! but `evil/passwd` later in the tar lands in `<root>/etc/passwd`, never in the host's.
//!
//! ```
//! use layer_apply::{apply, pack_dir, ApplyOptions, Mode};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A layer: a file, a hostile symlink, and a file "through" it.
//! let mut tar = tar::Builder::new(Vec::new());
//! let mut h = tar::Header::new_gnu();
//! h.set_mode(0o644);
//! h.set_size(3);
//! tar.append_data(&mut h, "etc/hostname", &b"box"[..])?;
//! let mut h = tar::Header::new_gnu();
//! h.set_entry_type(tar::EntryType::Symlink);
//! h.set_size(0);
//! tar.append_link(&mut h, "evil", "/etc")?;
//! let mut h = tar::Header::new_gnu();
//! h.set_mode(0o644);
//! h.set_size(2);
//! tar.append_data(&mut h, "evil/motd", &b"hi"[..])?;
//! let layer = tar.into_inner()?;
//!
//! // Apply into a fresh directory (rename it into place on success).
//! let dir = tempfile::tempdir()?;
//! let opts = ApplyOptions { mode: Mode::Unpack, ..ApplyOptions::default() };
//! let stats = apply(dir.path(), layer.as_slice(), &opts)?;
//! assert_eq!(stats.entries, 3);
//! assert_eq!(std::fs::read(dir.path().join("etc/motd"))?, b"hi");
//!
//! // And back: the same tree always packs to the same bytes.
//! let (mut a, mut b) = (Vec::new(), Vec::new());
//! pack_dir(dir.path(), &mut a)?;
//! pack_dir(dir.path(), &mut b)?;
//! assert_eq!(a, b);
//! # Ok(())
//! # }
//! ```
//!
//! # What `apply` does with each entry
//!
//! - **Names**: leading `/` and `./` are dropped and `.`/`..` resolved lexically, as Docker
//!   does; a `..` that climbs above the root fails the whole layer
//!   ([`ApplyError::LeavesRoot`]). Empty names and the root entry (`./`) are skipped. Missing
//!   parent directories are created with mode 0755.
//! - **Existing paths**: a directory entry over a directory keeps its contents (mode, owner and
//!   times are updated); anything else replaces what is there — a file is unlinked, a
//!   directory removed recursively without following symlinks — and is created afresh
//!   (`O_CREAT | O_EXCL | O_NOFOLLOW` for files). An existing symlink at an entry's own
//!   name is replaced, never written through; symlinks on the way to it are followed inside
//!   the root. With [`ApplyOptions::no_overwrite_dir_non_dir`] (Docker's
//!   `NoOverwriteDirNonDir`, what `docker cp` asks for) an entry that would replace a
//!   directory with a non-directory or the reverse fails the apply instead
//!   ([`ApplyError::Overwrite`]).
//! - **Hardlinks**: the target is resolved inside the root like any other path and must
//!   already exist there and not be a directory ([`ApplyError::Hardlink`]). A target with a
//!   leading `/` is a name in the layer, like entry names (`/etc/passwd` is `<root>/etc/passwd`);
//!   one whose `..` leaves the root is refused. The target's own name is never followed: a
//!   link to a symlink is a second name of the symlink (`linkat` without
//!   `AT_SYMLINK_FOLLOW`). The link shares its target's metadata; the header's own is ignored.
//!   On top of lower layers ([`apply_on`]) a target a lower layer provides is copied up first.
//! - **On top of lower layers**: [`apply_on`] unpacks a layer into its own directory as
//!   containerd applies it onto its parents' snapshot: every parent path is resolved in the
//!   merged view of the lower layers' directories (their symlinks followed inside the root),
//!   lower directories on the way are copied up, and the lower directories are never written.
//! - **Metadata**: the full mode including setuid, setgid and sticky bits (they are data);
//!   uid/gid only with [`ApplyOptions::same_owner`]; mtime (PAX sub-second precision kept;
//!   atime is set to it); extended attributes from PAX `SCHILY.xattr.*` records, where
//!   `ENOTSUP` and `EPERM` are ignored, and those whose meaning belongs to the host are never
//!   applied: `trusted.overlay.*` and `user.overlay.*` (they would change what an overlay
//!   mount of the layer shows) and `security.*` other than `security.capability` (labels and
//!   signatures are the host's policy; file capabilities are image data). Directory modes and times are set at the end, in
//!   reverse order, because writing children changes a directory's mtime. The umask plays no
//!   part.
//! - **Devices and FIFOs**: created only with [`ApplyOptions::create_devices`], otherwise
//!   counted in [`ApplyStats::skipped_devices`].
//! - **Whiteouts**: see [`Mode`]. In `Merge`, `.wh.<name>` removes `<name>` (recursively,
//!   symlinks not followed) and `.wh..wh..opq` empties its directory of everything this layer
//!   did not itself write, wherever it appears in the tar. Names follow the rule every
//!   reader shares ([`layer_diff::check_name`]): AUFS metadata (`.wh..wh.plnk`, `.wh..wh.aufs`,
//!   `.wh..wh.orph` and what is under them) is dropped in both modes, as Docker drops it; an
//!   entry naming the root that is not a directory is skipped; a whiteout used as a directory
//!   is refused. Names are bytes (any byte but `/` and NUL). PAX global headers are skipped;
//!   other entry types (`V`, `M`, unknown) fail ([`ApplyError::UnsupportedType`]).
//! - **Limits** ([`Limits`]) are checked while streaming: entry count, name and link-target
//!   length, component length, and total file bytes — an entry whose declared size would
//!   cross the byte limit is refused before anything of it is written, so a tar bomb (a huge
//!   declared or sparse size) costs nothing. The headers in front of one entry (long names,
//!   PAX records) are capped at [`MAX_ENTRY_METADATA`] bytes, since they are held in memory.
//! - **Failure** leaves the target partly written: apply into a fresh directory and rename it
//!   into place on success, discard it otherwise.
//!
//! [`open_in_root`] and [`resolve_in_root`] expose the same confinement for reading a path of
//! a container's tree (`docker cp` out of a container).
//!
//! Deliberately absent: copying up extended attributes of a lower symlink or device for a
//! hard link (a file's are copied); compression (callers hand in the uncompressed stream); computing a
//! layer from two trees or from an overlay upper directory (that is `layer-diff` plus the
//! caller's walk); resolving AUFS hardlinks into `.wh..wh.plnk` (the metadata is dropped, so
//! such a hardlink fails as one to a missing file); user and group names (only numeric ids); chroot or user
//! namespaces (confinement comes from path resolution alone); Windows.

#![deny(missing_docs)]

mod apply;
mod error;
mod name;
mod options;
mod pack;
mod root;
mod stack;
mod sys;

#[cfg(test)]
mod tests;

pub use apply::{
    apply, apply_observed, apply_on, apply_on_at, Observed, ObservedKind, MAX_ENTRY_METADATA,
};
pub use error::{ApplyError, ErrorKind};
pub use options::{ApplyOptions, ApplyStats, Limits, Mode};
pub use pack::{is_overlay_xattr, pack_dir, pack_path, scan_dir, xattrs_of};
pub use root::{open_in_root, resolve_in_root};
