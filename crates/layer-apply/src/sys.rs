//! Thin safe wrappers over the `*at(2)` system calls the crate uses: every name is one path
//! component (or a path relative to a directory descriptor), never a host path.

use std::ffi::{CStr, CString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use libc::{c_int, c_uint, mode_t};

/// `RESOLVE_NO_MAGICLINKS` from `linux/openat2.h`.
pub(crate) const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
/// `RESOLVE_IN_ROOT` from `linux/openat2.h`.
pub(crate) const RESOLVE_IN_ROOT: u64 = 0x10;

/// `struct open_how` from `linux/openat2.h` (libc's copy cannot be built outside libc).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// A `CString` from bytes that come from a tar header or a directory listing.
pub(crate) fn cstr(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))
}

fn cvt(r: c_int) -> io::Result<c_int> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// The `errno` of an I/O error, or 0.
pub(crate) fn errno(e: &io::Error) -> c_int {
    e.raw_os_error().unwrap_or(0)
}

fn owned(fd: c_int) -> OwnedFd {
    // SAFETY: `fd` was just returned by a successful open call and is owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// `open(2)` of a host path (only the caller-supplied root is opened this way).
pub(crate) fn open(path: &CStr, flags: c_int) -> io::Result<OwnedFd> {
    // SAFETY: `path` is NUL-terminated; the result is checked.
    let fd = cvt(unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) })?;
    Ok(owned(fd))
}

/// `openat(2)`; `O_CLOEXEC` is always added.
pub(crate) fn openat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: c_int,
    mode: mode_t,
) -> io::Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated, `dir` is a live descriptor; the result is checked.
    let fd = cvt(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode as c_uint,
        )
    })?;
    Ok(owned(fd))
}

/// `openat2(2)` with the given `resolve` flags; `O_CLOEXEC` is always added.
pub(crate) fn openat2(
    dir: BorrowedFd<'_>,
    path: &CStr,
    flags: c_int,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let how = OpenHow {
        flags: u64::from((flags | libc::O_CLOEXEC) as u32),
        mode: 0,
        resolve,
    };
    // SAFETY: every pointer is valid for the duration of the call and `size` matches `how`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(owned(r as c_int))
}

/// `fstatat(2)`.
pub(crate) fn fstatat(dir: BorrowedFd<'_>, name: &CStr, flags: c_int) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is written by the kernel when the call succeeds.
    cvt(unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), st.as_mut_ptr(), flags) })?;
    // SAFETY: the call succeeded, so `st` is initialised.
    Ok(unsafe { st.assume_init() })
}

/// `fstatat(2)` without following a final symlink; `Ok(None)` when nothing is there.
pub(crate) fn lstat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Option<libc::stat>> {
    match fstatat(dir, name, libc::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(e) if errno(&e) == libc::ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}

/// `fstat(2)`.
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: as for `fstatat`.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: the call succeeded.
    Ok(unsafe { st.assume_init() })
}

/// The file type bits of a `stat`.
pub(crate) fn file_type(st: &libc::stat) -> mode_t {
    st.st_mode & libc::S_IFMT
}

/// `mkdirat(2)`.
pub(crate) fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: mode_t) -> io::Result<()> {
    // SAFETY: plain system call on valid arguments.
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) }).map(drop)
}

/// `unlinkat(2)`.
pub(crate) fn unlinkat(dir: BorrowedFd<'_>, name: &CStr, flags: c_int) -> io::Result<()> {
    // SAFETY: plain system call on valid arguments.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) }).map(drop)
}

/// `symlinkat(2)`: creates `name` in `dir` pointing at `target` (stored verbatim).
pub(crate) fn symlinkat(target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    // SAFETY: plain system call on valid arguments.
    cvt(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) }).map(drop)
}

/// `linkat(2)` without `AT_SYMLINK_FOLLOW`: links the object `old` names, never what it points to.
pub(crate) fn linkat(
    old_dir: BorrowedFd<'_>,
    old: &CStr,
    new_dir: BorrowedFd<'_>,
    new: &CStr,
) -> io::Result<()> {
    // SAFETY: plain system call on valid arguments.
    cvt(unsafe {
        libc::linkat(
            old_dir.as_raw_fd(),
            old.as_ptr(),
            new_dir.as_raw_fd(),
            new.as_ptr(),
            0,
        )
    })
    .map(drop)
}

/// `mknodat(2)`.
pub(crate) fn mknodat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    mode: mode_t,
    dev: libc::dev_t,
) -> io::Result<()> {
    // SAFETY: plain system call on valid arguments.
    cvt(unsafe { libc::mknodat(dir.as_raw_fd(), name.as_ptr(), mode, dev) }).map(drop)
}

/// `fchownat(2)` without following a final symlink.
pub(crate) fn lchown_at(dir: BorrowedFd<'_>, name: &CStr, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: plain system call on valid arguments.
    cvt(unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            name.as_ptr(),
            uid,
            gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

/// `fchmodat(2)` of something known not to be a symlink. `AT_SYMLINK_NOFOLLOW` is tried first
/// and dropped where the kernel or libc cannot honour it.
pub(crate) fn chmod_at(dir: BorrowedFd<'_>, name: &CStr, mode: mode_t) -> io::Result<()> {
    // SAFETY: plain system call on valid arguments.
    let r = cvt(unsafe {
        libc::fchmodat(
            dir.as_raw_fd(),
            name.as_ptr(),
            mode,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    });
    match r {
        Err(e) if matches!(errno(&e), libc::ENOTSUP | libc::EINVAL | libc::ENOSYS) => {
            // SAFETY: as above.
            cvt(unsafe { libc::fchmodat(dir.as_raw_fd(), name.as_ptr(), mode, 0) }).map(drop)
        }
        r => r.map(drop),
    }
}

/// `fchown(2)`.
pub(crate) fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: plain system call on valid arguments.
    cvt(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) }).map(drop)
}

/// `fchmod(2)`.
pub(crate) fn fchmod(fd: BorrowedFd<'_>, mode: mode_t) -> io::Result<()> {
    // SAFETY: plain system call on valid arguments.
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode) }).map(drop)
}

/// `utimensat(2)` without following a final symlink; `times` is `[atime, mtime]`.
pub(crate) fn lutimes_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    times: &[libc::timespec; 2],
) -> io::Result<()> {
    // SAFETY: `times` points at two timespecs.
    cvt(unsafe {
        libc::utimensat(
            dir.as_raw_fd(),
            name.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

/// `futimens(3)`; `times` is `[atime, mtime]`.
pub(crate) fn futimens(fd: BorrowedFd<'_>, times: &[libc::timespec; 2]) -> io::Result<()> {
    // SAFETY: `times` points at two timespecs.
    cvt(unsafe { libc::futimens(fd.as_raw_fd(), times.as_ptr()) }).map(drop)
}

/// `readlinkat(2)`, growing the buffer until the target fits. With an empty `name`, `dir`
/// must be an `O_PATH` descriptor of the symlink itself.
pub(crate) fn readlinkat(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: `buf` is valid for `buf.len()` bytes.
        let n = unsafe {
            libc::readlinkat(
                dir.as_raw_fd(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        buf.resize(buf.len() * 2, 0);
    }
}

/// The names in directory `dir` (any descriptor of it, `O_PATH` included), without `.` and `..`.
pub(crate) fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<Vec<u8>>> {
    let fd = openat(dir, c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let raw = std::os::fd::IntoRawFd::into_raw_fd(fd);
    // SAFETY: `raw` is an open directory descriptor whose ownership passes to the DIR stream.
    let stream = unsafe { libc::fdopendir(raw) };
    if stream.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so `raw` is still ours to close.
        unsafe { libc::close(raw) };
        return Err(e);
    }
    let mut names = Vec::new();
    let result = loop {
        // SAFETY: errno is thread-local; resetting it distinguishes the end from an error.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `stream` is a live DIR stream.
        let ent = unsafe { libc::readdir64(stream) };
        if ent.is_null() {
            let e = io::Error::last_os_error();
            break if errno(&e) == 0 { Ok(()) } else { Err(e) };
        }
        // SAFETY: `d_name` is a NUL-terminated name inside the entry just returned.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    };
    // SAFETY: `stream` is live and closed exactly once (this also closes `raw`).
    unsafe { libc::closedir(stream) };
    result.map(|()| names)
}

/// `fsetxattr(2)`.
pub(crate) fn fsetxattr(fd: BorrowedFd<'_>, name: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: `value` is valid for its length.
    cvt(unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
    .map(drop)
}

/// `lsetxattr(2)` of a host path.
pub(crate) fn lsetxattr(path: &CStr, name: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: `value` is valid for its length.
    cvt(unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
    .map(drop)
}

/// `llistxattr(2)` + `lgetxattr(2)`: every extended attribute of a host path, sorted by name.
/// A file system without xattr support gives an empty list.
pub(crate) fn lxattrs(path: &CStr) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let list = loop {
        // SAFETY: a NULL buffer of size 0 asks for the needed size.
        let size = unsafe { libc::llistxattr(path.as_ptr(), std::ptr::null_mut(), 0) };
        if size < 0 {
            let e = io::Error::last_os_error();
            if matches!(errno(&e), libc::ENOTSUP) {
                return Ok(Vec::new());
            }
            return Err(e);
        }
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; size as usize];
        // SAFETY: `buf` is valid for its length.
        let n = unsafe { libc::llistxattr(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if errno(&e) == libc::ERANGE {
                continue; // grew in between
            }
            return Err(e);
        }
        buf.truncate(n as usize);
        break buf;
    };
    let mut out = Vec::new();
    for name in list.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let cname = cstr(name)?;
        let value = loop {
            // SAFETY: as above.
            let size =
                unsafe { libc::lgetxattr(path.as_ptr(), cname.as_ptr(), std::ptr::null_mut(), 0) };
            if size < 0 {
                let e = io::Error::last_os_error();
                if errno(&e) == libc::ENODATA {
                    break None; // removed in between
                }
                return Err(e);
            }
            let mut buf = vec![0u8; size as usize];
            // SAFETY: `buf` is valid for its length.
            let n = unsafe {
                libc::lgetxattr(
                    path.as_ptr(),
                    cname.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match errno(&e) {
                    libc::ERANGE => continue,
                    libc::ENODATA => break None,
                    _ => return Err(e),
                }
            }
            buf.truncate(n as usize);
            break Some(buf);
        };
        if let Some(value) = value {
            out.push((name.to_vec(), value));
        }
    }
    out.sort();
    Ok(out)
}

/// `flistxattr(2)` + `fgetxattr(2)`: every extended attribute of an open file. A file system
/// without xattr support gives an empty list.
pub(crate) fn fxattrs(fd: BorrowedFd<'_>) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let grow = |f: &dyn Fn(*mut libc::c_char, usize) -> isize| -> io::Result<Option<Vec<u8>>> {
        loop {
            let size = f(std::ptr::null_mut(), 0);
            if size < 0 {
                let e = io::Error::last_os_error();
                return match errno(&e) {
                    libc::ENOTSUP | libc::ENODATA => Ok(None),
                    _ => Err(e),
                };
            }
            let mut buf = vec![0u8; size as usize];
            let n = f(buf.as_mut_ptr().cast(), buf.len());
            if n < 0 {
                let e = io::Error::last_os_error();
                match errno(&e) {
                    libc::ERANGE => continue, // grew in between
                    libc::ENODATA => return Ok(None),
                    _ => return Err(e),
                }
            }
            buf.truncate(n as usize);
            return Ok(Some(buf));
        }
    };
    let raw = fd.as_raw_fd();
    // SAFETY: the buffer pointer and length come from `grow`, which owns the buffer.
    let list = grow(&|p, n| unsafe { libc::flistxattr(raw, p, n) })?.unwrap_or_default();
    let mut out = Vec::new();
    for name in list.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let c = cstr(name)?;
        // SAFETY: as above; `c` is NUL-terminated.
        let value = grow(&|p, n| unsafe { libc::fgetxattr(raw, c.as_ptr(), p.cast(), n) })?;
        if let Some(v) = value {
            out.push((name.to_vec(), v));
        }
    }
    Ok(out)
}

/// The effective user id of this process.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}
