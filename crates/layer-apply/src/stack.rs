//! Resolving names in the merged view of a layer being unpacked (the upper directory) over the
//! unpacked directories of the layers below it, as overlayfs shows them, and copying a lower
//! object up into the upper directory. Lower directories are only ever read.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use layer_diff::{OPAQUE_MARKER, WHITEOUT_PREFIX};

use crate::sys::{self, cstr, errno};

/// Symlinks followed while resolving one path before giving up with `ELOOP` (Linux's limit).
const MAX_SYMLINK_HOPS: u32 = 40;

/// One directory of the merged view: the directory of each layer that takes part in it, top
/// first (`0` is the upper directory).
pub(crate) type MergedDir = Vec<(usize, OwnedFd)>;

/// The upper directory (layer 0) and the lower ones (1…, top first), each as an `O_PATH`
/// descriptor of its root.
pub(crate) struct Stack {
    roots: Vec<OwnedFd>,
}

/// What a name is in a merged directory.
pub(crate) enum Found {
    /// No layer shows it.
    Missing,
    /// A directory, merged from these layers' directories.
    Dir(MergedDir),
    /// A non-directory, provided by `layer`, in `parent` (that layer's directory).
    NonDir {
        layer: usize,
        parent: OwnedFd,
        st: libc::stat,
    },
}

/// A path resolved in the merged view: its physical components (symlinks followed, `..`
/// applied) and, for each leading component that exists, the merged directory there.
pub(crate) struct Resolved {
    pub(crate) names: Vec<Vec<u8>>,
    pub(crate) dirs: Vec<MergedDir>,
}

impl Stack {
    /// A stack over the upper root `upper` and the lower roots, top first.
    pub(crate) fn new(upper: BorrowedFd<'_>, lowers: Vec<OwnedFd>) -> io::Result<Stack> {
        let mut roots = vec![upper.try_clone_to_owned()?];
        roots.extend(lowers);
        Ok(Stack { roots })
    }

    /// The merged root directory.
    pub(crate) fn root(&self) -> io::Result<MergedDir> {
        self.roots
            .iter()
            .enumerate()
            .map(|(i, fd)| Ok((i, fd.try_clone()?)))
            .collect()
    }

    /// Looks `name` up in the merged directory `dir`, as overlayfs does: the topmost layer
    /// holding the name decides; directories merge with the directories below them until a
    /// layer holds a non-directory, a whiteout of the name (`.wh.<name>`), or marks its
    /// directory opaque (`.wh..wh..opq`).
    pub(crate) fn lookup(&self, dir: &[(usize, OwnedFd)], name: &[u8]) -> io::Result<Found> {
        let c = cstr(name)?;
        let wh = cstr(&[WHITEOUT_PREFIX.as_bytes(), name].concat())?;
        let opq = cstr(OPAQUE_MARKER.as_bytes())?;
        let mut dirs = Vec::new();
        for (layer, fd) in dir {
            let st = sys::lstat_at(fd.as_fd(), &c)?;
            // A name within 4 bytes of NAME_MAX can have no whiteout file.
            let whited = match sys::lstat_at(fd.as_fd(), &wh) {
                Ok(st) => st.is_some(),
                Err(e) if errno(&e) == libc::ENAMETOOLONG => false,
                Err(e) => return Err(e),
            };
            match st {
                Some(st) if sys::file_type(&st) == libc::S_IFDIR => {
                    let sub = sys::openat(
                        fd.as_fd(),
                        &c,
                        libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                        0,
                    )?;
                    let opaque = sys::lstat_at(sub.as_fd(), &opq)?.is_some();
                    dirs.push((*layer, sub));
                    if whited || opaque {
                        break;
                    }
                }
                Some(st) => {
                    if !dirs.is_empty() {
                        break; // a directory above hides it
                    }
                    return Ok(Found::NonDir {
                        layer: *layer,
                        parent: fd.try_clone()?,
                        st,
                    });
                }
                None if whited => break,
                None => {}
            }
        }
        Ok(if dirs.is_empty() {
            Found::Missing
        } else {
            Found::Dir(dirs)
        })
    }

    /// Resolves the directory path `parts` in the merged view with the image root as `/`:
    /// symlinks (of any layer, absolute ones from the root) are followed, `..` never climbs
    /// above the root, and from the first missing component on the rest is kept as written.
    /// A non-directory on the way is `ENOTDIR`, too many links `ELOOP`.
    pub(crate) fn resolve_dir(&self, parts: &[&[u8]]) -> io::Result<Resolved> {
        let root = self.root()?;
        let mut todo: VecDeque<Vec<u8>> = parts.iter().map(|p| p.to_vec()).collect();
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut dirs: Vec<MergedDir> = Vec::new();
        let mut missing = 0usize;
        let mut hops = 0;
        while let Some(part) = todo.pop_front() {
            if part == b"." || part.is_empty() {
                continue;
            }
            if part == b".." {
                if names.pop().is_some() {
                    if missing > 0 {
                        missing -= 1;
                    } else {
                        dirs.pop();
                    }
                }
                continue;
            }
            if missing > 0 {
                names.push(part);
                missing += 1;
                continue;
            }
            let cur = dirs.last().unwrap_or(&root);
            match self.lookup(cur, &part)? {
                Found::Missing => {
                    names.push(part);
                    missing = 1;
                }
                Found::Dir(d) => {
                    names.push(part);
                    dirs.push(d);
                }
                Found::NonDir { parent, st, .. } if sys::file_type(&st) == libc::S_IFLNK => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    let target = sys::readlinkat(parent.as_fd(), &cstr(&part)?)?;
                    if target.starts_with(b"/") {
                        names.clear();
                        dirs.clear();
                    }
                    for p in target.split(|&b| b == b'/').rev() {
                        if !p.is_empty() && p != b"." {
                            todo.push_front(p.to_vec());
                        }
                    }
                }
                Found::NonDir { .. } => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
            }
        }
        Ok(Resolved { names, dirs })
    }

    /// The merged directory at the end of `r`, when all of it exists.
    pub(crate) fn last_dir(&self, r: &Resolved) -> io::Result<Option<MergedDir>> {
        if r.dirs.len() < r.names.len() {
            return Ok(None);
        }
        match r.dirs.last() {
            None => self.root().map(Some),
            Some(d) => d
                .iter()
                .map(|(i, fd)| Ok((*i, fd.try_clone()?)))
                .collect::<io::Result<_>>()
                .map(Some),
        }
    }
}

/// `[atime, mtime]` of a `stat`.
pub(crate) fn times(st: &libc::stat) -> [libc::timespec; 2] {
    [
        libc::timespec {
            tv_sec: st.st_atime,
            tv_nsec: st.st_atime_nsec as _,
        },
        libc::timespec {
            tv_sec: st.st_mtime,
            tv_nsec: st.st_mtime_nsec as _,
        },
    ]
}

/// How a copied-up object gets its owner.
pub(crate) struct CopyUp {
    pub(crate) same_owner: bool,
}

impl CopyUp {
    /// Copies the non-directory `name` of the lower directory `src` (whose `lstat` is `st`)
    /// to `name` in the upper directory `dst`, as overlayfs copies up: same type, bytes,
    /// mode, owner (with `same_owner`), times, and a file's extended attributes (those
    /// [`apply`](crate::apply) would have set). A symlink is copied as a symlink, never
    /// followed.
    pub(crate) fn object(
        &self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        name: &[u8],
        st: &libc::stat,
    ) -> io::Result<()> {
        let c = cstr(name)?;
        let times = times(st);
        let mode = st.st_mode & 0o7777;
        match sys::file_type(st) {
            libc::S_IFREG => {
                let from = sys::openat(
                    src,
                    &c,
                    libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NOCTTY,
                    0,
                )?;
                let to = sys::openat(
                    dst,
                    &c,
                    libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
                    0o600,
                )?;
                let (mut from, mut to) = (File::from(from), File::from(to));
                io::copy(&mut from, &mut to)?;
                if self.same_owner {
                    sys::fchown(to.as_fd(), st.st_uid, st.st_gid)?;
                }
                for (k, v) in sys::fxattrs(from.as_fd())? {
                    if !crate::apply::xattr_allowed(&k) {
                        continue;
                    }
                    match sys::fsetxattr(to.as_fd(), &cstr(&k)?, &v) {
                        Err(e) if matches!(errno(&e), libc::ENOTSUP | libc::EPERM) => {}
                        r => r?,
                    }
                }
                sys::fchmod(to.as_fd(), mode)?;
                sys::futimens(to.as_fd(), &times)
            }
            libc::S_IFLNK => {
                let target = sys::readlinkat(src, &c)?;
                sys::symlinkat(&cstr(&target)?, dst, &c)?;
                if self.same_owner {
                    sys::lchown_at(dst, &c, st.st_uid, st.st_gid)?;
                }
                sys::lutimes_at(dst, &c, &times)
            }
            libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO => {
                sys::mknodat(dst, &c, sys::file_type(st) | 0o600, st.st_rdev)?;
                if self.same_owner {
                    sys::lchown_at(dst, &c, st.st_uid, st.st_gid)?;
                }
                sys::chmod_at(dst, &c, mode)?;
                sys::lutimes_at(dst, &c, &times)
            }
            _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
        }
    }
}

/// True when `e` means "there is nothing at that path" for a lookup.
pub(crate) fn is_missing(e: &io::Error) -> bool {
    matches!(errno(e), libc::ENOENT | libc::ENOTDIR)
}
