//! Path resolution confined to a root directory, as if the root were `/`: `openat2(2)` with
//! `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` where the kernel has it, and a component-by-component
//! emulation where it does not (kernels before 5.6, seccomp filters that refuse the call).

use std::cell::Cell;
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::sys::{self, cstr, errno};
use crate::ApplyError;

/// Symlinks followed while resolving one path before giving up with `ELOOP` (Linux's own limit).
const MAX_SYMLINK_HOPS: u32 = 40;

/// `openat2` reports `EAGAIN` when a rename raced with an in-root lookup; retry this often.
const OPENAT2_RETRIES: u32 = 64;

thread_local! {
    static FORCE_FALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Makes every [`Root`] opened on this thread use the emulated resolver (tests run each case
/// with both resolvers; a thread-local keeps parallel tests apart).
#[cfg(test)]
pub(crate) fn force_fallback(on: bool) {
    FORCE_FALLBACK.with(|f| f.set(on));
}

/// A root directory and the resolver used inside it.
pub(crate) struct Root {
    fd: OwnedFd,
    openat2: bool,
}

/// Where a path led: the directory holding the final object, and its name there.
struct Walked {
    /// The directory the final name lives in, or the final directory itself when `leaf` is None.
    dir: OwnedFd,
    /// The final name when the path ends at a non-directory.
    leaf: Option<Vec<u8>>,
    /// The physical path below the root, one entry per component (missing ones included).
    names: Vec<Vec<u8>>,
}

impl Root {
    /// Opens `path` (a trusted host path) as a root.
    pub(crate) fn open(path: &Path) -> io::Result<Root> {
        let c = cstr(path.as_os_str().as_bytes())?;
        let fd = sys::open(&c, libc::O_PATH | libc::O_DIRECTORY)?;
        let openat2 = !FORCE_FALLBACK.with(Cell::get) && probe_openat2(fd.as_fd());
        Ok(Root { fd, openat2 })
    }

    /// True when the kernel resolver is in use.
    #[cfg(test)]
    pub(crate) fn uses_openat2(&self) -> bool {
        self.openat2
    }

    /// The root directory itself.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Opens the directory at `parts` (following every symlink, inside the root) as `O_PATH`.
    pub(crate) fn open_dir(&self, parts: &[&[u8]]) -> io::Result<OwnedFd> {
        let rel = crate::name::join(parts);
        if self.openat2 {
            return self.openat2(&rel, libc::O_PATH | libc::O_DIRECTORY);
        }
        let walked = self.walk(&rel, false)?;
        match walked.leaf {
            None => Ok(walked.dir),
            Some(_) => Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
        }
    }

    /// Opens whatever `rel` resolves to (following a final symlink) with `flags`.
    pub(crate) fn open_path(&self, rel: &[u8], flags: libc::c_int) -> io::Result<OwnedFd> {
        if self.openat2 {
            return self.openat2(rel, flags);
        }
        let walked = self.walk(rel, false)?;
        match walked.leaf {
            None => sys::openat(walked.dir.as_fd(), c".", flags, 0),
            Some(name) => sys::openat(
                walked.dir.as_fd(),
                &cstr(&name)?,
                flags | libc::O_NOFOLLOW,
                0,
            ),
        }
    }

    /// Like [`Root::open_dir`], creating missing directories (mode 0755) on the way; `created`
    /// hears the number of components of every directory it makes. A component that exists but
    /// is not (or does not lead to) a directory is an error, as in `mkdir -p`.
    pub(crate) fn mkdir_all(
        &self,
        parts: &[&[u8]],
        mut created: impl FnMut(usize),
    ) -> io::Result<OwnedFd> {
        match self.open_dir(parts) {
            Err(e) if errno(&e) == libc::ENOENT => {}
            r => return r,
        }
        let mut dir = self.fd.try_clone()?;
        for i in 0..parts.len() {
            dir = match self.open_dir(&parts[..=i]) {
                Ok(next) => next,
                Err(e) if errno(&e) == libc::ENOENT => {
                    let name = cstr(parts[i])?;
                    match sys::mkdirat(dir.as_fd(), &name, 0o755) {
                        Ok(()) => {
                            sys::chmod_at(dir.as_fd(), &name, 0o755)?;
                            created(i + 1);
                        }
                        // A dangling symlink: resolving again below reports it.
                        Err(e) if errno(&e) == libc::EEXIST => {}
                        Err(e) => return Err(e),
                    }
                    self.open_dir(&parts[..=i])?
                }
                Err(e) => return Err(e),
            };
        }
        Ok(dir)
    }

    fn openat2(&self, rel: &[u8], flags: libc::c_int) -> io::Result<OwnedFd> {
        let path = if rel.is_empty() {
            cstr(b".")?
        } else {
            cstr(rel)?
        };
        let mut tries = 0;
        loop {
            match sys::openat2(
                self.fd.as_fd(),
                &path,
                flags,
                sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_MAGICLINKS,
            ) {
                Err(e) if errno(&e) == libc::EAGAIN && tries < OPENAT2_RETRIES => tries += 1,
                r => return r,
            }
        }
    }

    /// The emulated `RESOLVE_IN_ROOT` lookup. Each component is opened `O_PATH | O_NOFOLLOW`
    /// relative to the directory reached so far and inspected through its descriptor, so a
    /// concurrent swap cannot redirect the walk: a symlink is read with `readlinkat(fd, "")`
    /// and its target spliced into the remaining components (absolute targets restart at the
    /// root), and `..` pops back toward the root but never above it.
    ///
    /// A final symlink is followed too. With `allow_missing` the first missing component and everything after it are kept lexically (for
    /// [`resolve_in_root`]); otherwise a missing component is `ENOENT`.
    fn walk(&self, rel: &[u8], allow_missing: bool) -> io::Result<Walked> {
        let mut todo: VecDeque<Vec<u8>> = split(rel).collect();
        let mut dirs: Vec<OwnedFd> = Vec::new(); // one per existing entry of `names`
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut missing = 0usize; // trailing entries of `names` that do not exist
        let mut hops = 0;
        while let Some(part) = todo.pop_front() {
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
            let cur = dirs.last().map_or(self.fd.as_fd(), |d| d.as_fd());
            let last = todo.is_empty();
            let fd = match sys::openat(cur, &cstr(&part)?, libc::O_PATH | libc::O_NOFOLLOW, 0) {
                Ok(fd) => fd,
                Err(e) if errno(&e) == libc::ENOENT && allow_missing => {
                    names.push(part);
                    missing = 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let st = sys::fstat(fd.as_fd())?;
            match sys::file_type(&st) {
                libc::S_IFLNK => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    let target = sys::readlinkat(fd.as_fd(), c"")?;
                    if target.starts_with(b"/") {
                        dirs.clear();
                        names.clear();
                    }
                    for p in split(&target).collect::<Vec<_>>().into_iter().rev() {
                        todo.push_front(p);
                    }
                }
                libc::S_IFDIR => {
                    dirs.push(fd);
                    names.push(part);
                }
                _ if last => {
                    names.push(part.clone());
                    return Ok(Walked {
                        dir: cur.try_clone_to_owned()?,
                        leaf: Some(part),
                        names,
                    });
                }
                _ => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
            }
        }
        let dir = dirs
            .last()
            .map_or(self.fd.as_fd(), |d| d.as_fd())
            .try_clone_to_owned()?;
        Ok(Walked {
            dir,
            leaf: None,
            names,
        })
    }
}

/// The non-empty, non-`.` components of a path.
fn split(path: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    path.split(|&b| b == b'/')
        .filter(|p| !p.is_empty() && *p != b".")
        .map(<[u8]>::to_vec)
}

/// True when `openat2` works here: it is missing before Linux 5.6 (`ENOSYS`) and container
/// seccomp profiles often refuse it (`EPERM`/`ENOSYS`); any failure on `.` means "use the
/// emulation".
fn probe_openat2(root: BorrowedFd<'_>) -> bool {
    sys::openat2(
        root,
        c".",
        libc::O_PATH | libc::O_DIRECTORY,
        sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_MAGICLINKS,
    )
    .is_ok()
}

/// Removes `name` from `dir`, recursively if it is a directory, without following symlinks
/// (a symlink is removed, never its target). Missing is fine.
pub(crate) fn remove_tree(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    let c = cstr(name)?;
    let Some(st) = sys::lstat_at(dir, &c)? else {
        return Ok(());
    };
    if sys::file_type(&st) != libc::S_IFDIR {
        return ignore_enoent(sys::unlinkat(dir, &c, 0));
    }
    let sub = match sys::openat(
        dir,
        &c,
        libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        0,
    ) {
        Ok(fd) => fd,
        Err(e) if errno(&e) == libc::ENOENT => return Ok(()),
        Err(e) => return Err(e),
    };
    let children = match sys::list_dir(sub.as_fd()) {
        Err(e) if errno(&e) == libc::EACCES => {
            // A mode-0 directory when not root: open it up, it is going anyway.
            sys::chmod_at(dir, &c, 0o700)?;
            sys::list_dir(sub.as_fd())?
        }
        r => r?,
    };
    for child in children {
        remove_tree(sub.as_fd(), &child)?;
    }
    drop(sub);
    ignore_enoent(sys::unlinkat(dir, &c, libc::AT_REMOVEDIR))
}

fn ignore_enoent(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if errno(&e) == libc::ENOENT => Ok(()),
        r => r,
    }
}

/// Opens `path` (a changeset path: see [`layer_diff::name_bytes`]) for reading as if `root`
/// were `/`: every symlink on the way, absolute or
/// relative, and every `..` is resolved inside `root`, so the file opened is always under
/// `root` however hostile its contents. Uses `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`
/// where available, the emulation otherwise; race-free in both cases.
///
/// The file is opened `O_RDONLY | O_NONBLOCK | O_NOCTTY` and `O_NONBLOCK` is then cleared, so
/// a FIFO planted where a file was expected does not hang the open. Directories open too; check
/// the metadata of the returned file before reading it as a regular file.
pub fn open_in_root(root: &Path, path: &str) -> Result<File, ApplyError> {
    // A changeset path: a name that is not UTF-8 is carried escaped (`layer_diff::name_bytes`).
    let path = &*layer_diff::name_bytes(path);
    let fail = |e| ApplyError::io("opening", path, e);
    let root = Root::open(root)
        .map_err(|e| ApplyError::io("opening root", root.as_os_str().as_bytes(), e))?;
    let fd = root
        .open_path(path, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY)
        .map_err(fail)?;
    let file = File::from(fd);
    clear_nonblock(&file).map_err(fail)?;
    Ok(file)
}

fn clear_nonblock(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on a live descriptor with integer arguments.
    let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Resolves `path` as if `root` were `/` and returns the host path it names: symlinks
/// (absolute ones included) and `..` are resolved inside `root` and the result is always
/// `root` or below it. Components from the first missing one on are kept as written (with `..`
/// still unable to leave the root), so the result can name a file about to be created.
///
/// This always uses the emulated resolver, since the kernel one cannot report the path it
/// found. The returned path is only as good as the moment it was computed: if something
/// untrusted can change the tree meanwhile, use [`open_in_root`], which does not race.
///
/// Errors: a symlink loop (more than 40 links on one lookup) is `ELOOP`
/// ([`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument)); a non-directory in the
/// middle of the path is `ENOTDIR`.
pub fn resolve_in_root(root: &Path, path: &str) -> Result<PathBuf, ApplyError> {
    let path = &*layer_diff::name_bytes(path);
    let r = Root::open(root)
        .map_err(|e| ApplyError::io("opening root", root.as_os_str().as_bytes(), e))?;
    let walked = r
        .walk(path, true)
        .map_err(|e| ApplyError::io("resolving", path, e))?;
    let mut out = root.to_path_buf();
    for name in &walked.names {
        out.push(OsStr::from_bytes(name));
    }
    Ok(out)
}

impl std::fmt::Debug for Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Root")
            .field("openat2", &self.openat2)
            .finish()
    }
}
