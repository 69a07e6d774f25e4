//! Packing a directory tree into a deterministic tar: the inverse of [`apply`](crate::apply).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use layer_diff::{DiffError, TarHeader, TarKind, TarWriter};

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
/// by name. Character and block devices and FIFOs are stored; sockets cannot be and are
/// left out.
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

/// A writer's error as the packer reports it.
fn write_err(e: DiffError) -> ApplyError {
    match e {
        DiffError::Write { source } => ApplyError::Write { source },
        other => ApplyError::Write {
            source: io::Error::new(io::ErrorKind::InvalidInput, other.to_string()),
        },
    }
}

fn walk<W: Write>(
    tw: &mut TarWriter<W>,
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
fn pack_entry<W: Write>(
    tw: &mut TarWriter<W>,
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
            tw.append(&link, io::empty()).map_err(write_err)?;
            return Ok(());
        }
        links.insert((md.dev(), md.ino()), prefix.clone());
    }

    let c = cstr(path.as_os_str().as_bytes()).map_err(read_err("reading xattrs of", path))?;
    let xattrs = sys::lxattrs(&c).map_err(read_err("reading xattrs of", path))?;
    h.xattrs = xattrs
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();

    if ft.is_dir() {
        prefix.push(b'/');
        h.name = prefix;
        h.kind = TarKind::Dir;
        tw.append(&h, io::empty()).map_err(write_err)?;
        walk(tw, path, prefix, links)?;
        prefix.truncate(len);
    } else if ft.is_symlink() {
        let target = fs::read_link(path).map_err(read_err("reading", path))?;
        h.name = prefix;
        h.kind = TarKind::Symlink;
        h.link = target.as_os_str().as_bytes();
        tw.append(&h, io::empty()).map_err(write_err)?;
    } else if ft.is_file() {
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
            .map_err(read_err("reading", path))?;
        h.name = prefix;
        h.size = md.len();
        // Exactly `size` bytes whatever happens to the file meanwhile: the writer pads a
        // file that shrank with zeros and reads no more than the size.
        tw.append(&h, file).map_err(write_err)?;
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
        tw.append(&h, io::empty()).map_err(write_err)?;
    }
    Ok(())
}
