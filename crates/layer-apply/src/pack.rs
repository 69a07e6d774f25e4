//! Packing a directory tree into a deterministic tar: the inverse of [`apply`](crate::apply).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use tar::{Builder, EntryType, Header};

use crate::sys::{self, cstr};
use crate::ApplyError;

/// Writes the tree under `root` to `w` as an uncompressed tar and returns the bytes written.
///
/// The output depends only on the tree: names sorted bytewise within each directory and
/// emitted depth-first (a directory, then everything under it, then its next sibling),
/// relative and without `./` (`etc/`, `etc/passwd`), directories with a trailing `/`, `root`
/// itself not included. Headers are GNU (long names and link targets as GNU `L`/`K` records,
/// as the `tar` crate writes them) with mode (permission, setuid/setgid/sticky bits),
/// numeric uid/gid and mtime (whole seconds) from the files, and no user/group names.
/// Symlinks are stored as symlinks; a non-directory whose inode was already stored (same
/// device and inode) becomes a hardlink to the first path; extended attributes precede their
/// entry as PAX `SCHILY.xattr.<name>` records, sorted by name. Character and block devices
/// and FIFOs are stored; sockets cannot be and are left out.
///
/// Nothing is followed: symlinks are read with `lstat`/`readlink` and files opened with
/// `O_NOFOLLOW`. A file that shrinks while being read is padded with zeros so the tar stays
/// well-formed. The tree is trusted to hold still; pack a stopped container's layer.
pub fn pack_dir(root: &Path, w: impl Write) -> Result<u64, ApplyError> {
    let mut builder = Builder::new(Counting { inner: w, n: 0 });
    let mut links = HashMap::new();
    walk(&mut builder, root, &mut Vec::new(), &mut links)?;
    builder
        .finish()
        .map_err(|source| ApplyError::Write { source })?;
    let counting = builder
        .into_inner()
        .map_err(|source| ApplyError::Write { source })?;
    Ok(counting.n)
}

/// Counts what goes through to the writer.
struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn walk<W: Write>(
    b: &mut Builder<W>,
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
    let write_err = |source| ApplyError::Write { source };
    for name in names {
        let path = dir.join(&name);
        let md = fs::symlink_metadata(&path).map_err(read_err("reading", &path))?;
        let ft = md.file_type();
        let len = prefix.len();
        prefix.extend_from_slice(name.as_bytes());
        let rel = Path::new(std::ffi::OsStr::from_bytes(prefix)).to_path_buf();

        let mut h = Header::new_gnu();
        h.set_mode(md.mode() & 0o7777);
        h.set_uid(u64::from(md.uid()));
        h.set_gid(u64::from(md.gid()));
        h.set_mtime(u64::try_from(md.mtime()).unwrap_or(0));
        h.set_size(0);

        if !ft.is_dir() && !ft.is_socket() && md.nlink() > 1 {
            if let Some(first) = links.get(&(md.dev(), md.ino())) {
                h.set_entry_type(EntryType::Link);
                let target = Path::new(std::ffi::OsStr::from_bytes(first));
                b.append_link(&mut h, &rel, target).map_err(write_err)?;
                prefix.truncate(len);
                continue;
            }
            links.insert((md.dev(), md.ino()), prefix.clone());
        }
        if ft.is_socket() {
            prefix.truncate(len);
            continue;
        }

        let c = cstr(path.as_os_str().as_bytes()).map_err(read_err("reading xattrs of", &path))?;
        let xattrs = sys::lxattrs(&c).map_err(read_err("reading xattrs of", &path))?;
        if !xattrs.is_empty() {
            let keys: Vec<String> = xattrs
                .iter()
                .map(|(k, _)| format!("SCHILY.xattr.{}", String::from_utf8_lossy(k)))
                .collect();
            b.append_pax_extensions(
                keys.iter()
                    .map(String::as_str)
                    .zip(xattrs.iter().map(|(_, v)| v.as_slice())),
            )
            .map_err(write_err)?;
        }

        if ft.is_dir() {
            h.set_entry_type(EntryType::Directory);
            let mut with_slash = prefix.clone();
            with_slash.push(b'/');
            let name = Path::new(std::ffi::OsStr::from_bytes(&with_slash));
            b.append_data(&mut h, name, io::empty())
                .map_err(write_err)?;
            prefix.push(b'/');
            walk(b, &path, prefix, links)?;
        } else if ft.is_symlink() {
            h.set_entry_type(EntryType::Symlink);
            let target = fs::read_link(&path).map_err(read_err("reading", &path))?;
            b.append_link(&mut h, &rel, &target).map_err(write_err)?;
        } else if ft.is_file() {
            h.set_entry_type(EntryType::Regular);
            let size = md.len();
            h.set_size(size);
            let file = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                .open(&path)
                .map_err(read_err("reading", &path))?;
            // Exactly `size` bytes whatever happens to the file meanwhile.
            let data = file.take(size).chain(io::repeat(0)).take(size);
            b.append_data(&mut h, &rel, data).map_err(write_err)?;
        } else {
            let ty = if ft.is_char_device() {
                EntryType::Char
            } else if ft.is_block_device() {
                EntryType::Block
            } else {
                EntryType::Fifo
            };
            h.set_entry_type(ty);
            if ty != EntryType::Fifo {
                let rdev = md.rdev();
                h.set_device_major(libc::major(rdev)).map_err(write_err)?;
                h.set_device_minor(libc::minor(rdev)).map_err(write_err)?;
            }
            b.append_data(&mut h, &rel, io::empty())
                .map_err(write_err)?;
        }
        prefix.truncate(len);
    }
    Ok(())
}
