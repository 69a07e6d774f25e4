//! Packing a directory tree into a deterministic tar: the inverse of [`apply`](crate::apply).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use layer_diff::{Changeset, Content, DiffError, TarHeader, TarKind, TarWriter};

use crate::sys::{self, cstr};
use crate::ApplyError;

/// Writes the tree under `root` to `w` as an uncompressed tar and returns the bytes written.
///
/// The output depends only on the tree: names sorted bytewise within each directory and
/// emitted depth-first (a directory, then everything under it, then its next sibling),
/// relative and without `./` (`etc/`, `etc/passwd`), directories with a trailing `/`, `root`
/// itself not included. Every entry is written by [`layer_diff::TarWriter`], the writer of
/// layer tars: names and link targets are their bytes exactly, whatever they hold (not UTF-8,
/// control characters, any length), in PAX `path`/`linkpath` records where ustar cannot hold
/// them; mode (permission, setuid/setgid/sticky bits), numeric uid/gid and mtime (whole
/// seconds) from the files, and no user/group names. Symlinks are stored as symlinks; a
/// non-directory whose inode was already stored (same device and inode) becomes a hardlink
/// to the first path; extended attributes go in PAX `SCHILY.xattr.<name>` records, sorted
/// by name, but for overlayfs's own (`trusted.overlay.*`, `user.overlay.*`), which are never
/// layer content. Character and block devices and FIFOs are stored; sockets cannot be and
/// are left out.
///
/// Nothing is followed: symlinks are read with `lstat`/`readlink` and files opened with
/// `O_NOFOLLOW`. A file that shrinks while being read is padded with zeros so the tar stays
/// well-formed. The tree is trusted to hold still; pack a stopped container's layer.
pub fn pack_dir(root: &Path, w: impl Write) -> Result<u64, ApplyError> {
    let mut tw = TarWriter::new(w);
    let mut links = HashMap::new();
    walk(&mut tw, root, &mut Vec::new(), &mut links)?;
    let n = tw.written() + 1024;
    tw.finish().map_err(write_err)?;
    Ok(n)
}

/// Writes the file, symlink or directory `src` to `w` as a tar whose top entry is named `top`
/// (bytes, as any name): `top` itself (`top/` for a directory, then everything under it as
/// [`pack_dir`] writes a tree, `top/etc/`, `top/etc/passwd`), or the one non-directory. What
/// `docker cp` sends for a local path; the same writer, rules and determinism as [`pack_dir`].
pub fn pack_path(src: &Path, top: &[u8], w: impl Write) -> Result<u64, ApplyError> {
    let mut prefix = top.to_vec();
    while prefix.len() > 1 && prefix.ends_with(b"/") {
        prefix.pop();
    }
    let mut tw = TarWriter::new(w);
    pack_entry(&mut tw, src, &mut prefix, &mut HashMap::new())?;
    let n = tw.written() + 1024;
    tw.finish().map_err(write_err)?;
    Ok(n)
}

/// The changeset [`pack_dir`]'s tar of `root` would read as ([`layer_diff::read_changeset`]),
/// from the tree's metadata: the same walk and the same rules, but a file's bytes are read
/// only when it is small enough to be kept inline (4 KiB, the reader's default); a larger
/// one's content is [`Content::Unread`]. What a `stat` of a container's path, or a `cp` into
/// it, needs to know of its writable layer, at a cost that does not grow with the bytes in it.
pub fn scan_dir(root: &Path) -> Result<Changeset, ApplyError> {
    let mut scan = Scan {
        cs: Changeset::new(),
        inline_up_to: layer_diff::ReadOptions::default().keep_content_up_to,
    };
    walk(&mut scan, root, &mut Vec::new(), &mut HashMap::new())?;
    let mut cs = scan.cs;
    cs.sort();
    Ok(cs)
}

/// Where the walk puts each entry: a tar ([`TarWriter`]), or a changeset ([`Scan`]).
trait Sink {
    /// One entry; `file` is the path of a regular file's bytes (`h.size` of them).
    fn entry(&mut self, h: &TarHeader<'_>, file: Option<&Path>) -> Result<(), ApplyError>;
}

/// Opens a regular file of the tree to read it, following nothing.
fn open_file(path: &Path) -> Result<fs::File, ApplyError> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| ApplyError::io("reading", path.as_os_str().as_bytes(), e))
}

impl<W: Write> Sink for TarWriter<W> {
    fn entry(&mut self, h: &TarHeader<'_>, file: Option<&Path>) -> Result<(), ApplyError> {
        match file {
            // Exactly `size` bytes whatever happens to the file meanwhile: the writer pads a
            // file that shrank with zeros and reads no more than the size.
            Some(path) => self.append(h, open_file(path)?),
            None => self.append(h, io::empty()),
        }
        .map(drop)
        .map_err(write_err)
    }
}

/// The changeset of a scan.
struct Scan {
    cs: Changeset,
    inline_up_to: u64,
}

impl Sink for Scan {
    fn entry(&mut self, h: &TarHeader<'_>, file: Option<&Path>) -> Result<(), ApplyError> {
        let content = match file {
            Some(path) if h.size <= self.inline_up_to => {
                // As the tar would hold it: `size` bytes, a file that shrank padded with zeros.
                let mut bytes = Vec::new();
                open_file(path)?
                    .take(h.size)
                    .read_to_end(&mut bytes)
                    .map_err(|e| ApplyError::io("reading", path.as_os_str().as_bytes(), e))?;
                bytes.resize(h.size as usize, 0);
                Content::Inline(bytes)
            }
            _ => Content::Unread,
        };
        layer_diff::push_described(&mut self.cs, h, content).map_err(|e| ApplyError::InvalidEntry {
            path: String::from_utf8_lossy(h.name).into_owned(),
            reason: e.to_string(),
        })
    }
}

/// overlayfs's own extended attributes: `trusted.overlay.*` and `user.overlay.*` (an overlay
/// mounted with `userxattr`). They describe a mount, never a file's content.
pub fn is_overlay_xattr(name: &[u8]) -> bool {
    name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.")
}

/// The extended attributes of `path` itself (a symlink's own), names and values as bytes;
/// none where the file system keeps none.
pub fn xattrs_of(path: &Path) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    sys::lxattrs(&cstr(path.as_os_str().as_bytes())?)
}

/// A writer's error as the packer reports it.
fn write_err(e: DiffError) -> ApplyError {
    match e {
        DiffError::Write { source } => ApplyError::Write { source },
        other => ApplyError::Write {
            source: io::Error::new(io::ErrorKind::InvalidInput, other.to_string()),
        },
    }
}

fn walk(
    tw: &mut impl Sink,
    dir: &Path,
    prefix: &mut Vec<u8>,
    links: &mut HashMap<(u64, u64), Vec<u8>>,
) -> Result<(), ApplyError> {
    let read_err = |op, path: &Path| {
        let rel = path.as_os_str().as_bytes().to_vec();
        move |e| ApplyError::io(op, &rel, e)
    };
    let mut names: Vec<OsString> = fs::read_dir(dir)
        .map_err(read_err("listing", dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()
        .map_err(read_err("listing", dir))?;
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in names {
        let len = prefix.len();
        prefix.extend_from_slice(name.as_bytes());
        pack_entry(tw, &dir.join(&name), prefix, links)?;
        prefix.truncate(len);
    }
    Ok(())
}

/// Writes the entry at `path` under the name `prefix`, and what is under it when it is a
/// directory (`prefix` is restored before returning).
fn pack_entry(
    tw: &mut impl Sink,
    path: &Path,
    prefix: &mut Vec<u8>,
    links: &mut HashMap<(u64, u64), Vec<u8>>,
) -> Result<(), ApplyError> {
    let read_err = |op, path: &Path| {
        let rel = path.as_os_str().as_bytes().to_vec();
        move |e| ApplyError::io(op, &rel, e)
    };
    let len = prefix.len();
    let md = fs::symlink_metadata(path).map_err(read_err("reading", path))?;
    let ft = md.file_type();
    if ft.is_socket() {
        return Ok(());
    }
    let mut h = TarHeader {
        name: &[],
        kind: TarKind::File,
        link: &[],
        mode: md.mode() & 0o7777,
        uid: u64::from(md.uid()),
        gid: u64::from(md.gid()),
        size: 0,
        mtime: md.mtime(),
        xattrs: Vec::new(),
    };

    if !ft.is_dir() && md.nlink() > 1 {
        if let Some(first) = links.get(&(md.dev(), md.ino())) {
            let link = TarHeader {
                name: prefix,
                kind: TarKind::Hardlink,
                link: first,
                ..h
            };
            tw.entry(&link, None)?;
            return Ok(());
        }
        links.insert((md.dev(), md.ino()), prefix.clone());
    }

    let xattrs = xattrs_of(path).map_err(read_err("reading xattrs of", path))?;
    // overlayfs's own attributes (`origin`, `impure`, … on a mounted container's upper
    // directory) describe the mount, never the files: not layer content
    h.xattrs = xattrs
        .iter()
        .filter(|(k, _)| !is_overlay_xattr(k))
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();

    if ft.is_dir() {
        prefix.push(b'/');
        h.name = prefix;
        h.kind = TarKind::Dir;
        tw.entry(&h, None)?;
        walk(tw, path, prefix, links)?;
        prefix.truncate(len);
    } else if ft.is_symlink() {
        let target = fs::read_link(path).map_err(read_err("reading", path))?;
        h.name = prefix;
        h.kind = TarKind::Symlink;
        h.link = target.as_os_str().as_bytes();
        tw.entry(&h, None)?;
    } else if ft.is_file() {
        h.name = prefix;
        h.size = md.len();
        tw.entry(&h, Some(path))?;
    } else {
        h.name = prefix;
        let rdev = md.rdev();
        h.kind = if ft.is_char_device() {
            TarKind::CharDevice(libc::major(rdev), libc::minor(rdev))
        } else if ft.is_block_device() {
            TarKind::BlockDevice(libc::major(rdev), libc::minor(rdev))
        } else {
            TarKind::Fifo
        };
        tw.entry(&h, None)?;
    }
    Ok(())
}
