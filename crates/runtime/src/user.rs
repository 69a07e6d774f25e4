//! `user`: Docker's `--user` rules, names resolved through the image's `/etc/passwd` and
//! `/etc/group` (read inside the root: a symlink in the image never reaches the host's files).

use crate::{Result, RuntimeError};
use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The identity a container process runs as.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecUser {
    /// User ID.
    pub uid: u32,
    /// Primary group ID.
    pub gid: u32,
    /// Supplementary groups: the primary group, then every group that lists the user when no
    /// group was named (Docker 23+ includes the primary group: moby GHSA-hmfx-3pcx-653p).
    pub additional_gids: Vec<u32>,
}

const MAX_ID: i64 = (1 << 31) - 1;

struct PasswdEntry {
    name: String,
    uid: i64,
    gid: i64,
}

struct GroupEntry {
    name: String,
    gid: i64,
    members: Vec<String>,
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(GroupEntry {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Resolves `spec` (`""`, `user`, `uid`, `user:group`, `uid:gid`, …) as Docker does, given
/// the contents of the image's `/etc/passwd` and `/etc/group` (`None` when absent).
pub fn resolve_user(spec: &str, passwd: Option<&str>, group: Option<&str>) -> Result<ExecUser> {
    let (user_arg, group_arg) = match spec.split_once(':') {
        Some((u, g)) => (u, g),
        None => (spec, ""),
    };
    let uid_num: Option<i64> = user_arg.parse().ok();
    let gid_num: Option<i64> = group_arg.parse().ok();
    let users = parse_passwd(passwd.unwrap_or(""));
    let found = users.iter().find(|u| {
        if user_arg.is_empty() {
            u.uid == 0
        } else if let Some(n) = uid_num {
            u.uid == n
        } else {
            u.name == user_arg
        }
    });
    let (mut uid, mut gid) = (0i64, 0i64);
    if let Some(u) = found {
        uid = u.uid;
        gid = u.gid;
    } else if !user_arg.is_empty() {
        let Some(n) = uid_num else {
            return Err(RuntimeError::User(format!(
                "unable to find user {user_arg}: no matching entries in passwd file"
            )));
        };
        if !(0..=MAX_ID).contains(&n) {
            return Err(RuntimeError::User(
                "uids and gids must be in range 0-2147483647".into(),
            ));
        }
        uid = n;
    }
    let mut additional = vec![gid as u32];
    if !group_arg.is_empty() || found.is_some() {
        let groups = parse_group(group.unwrap_or(""));
        if !group_arg.is_empty() {
            let g = groups.iter().find(|g| match gid_num {
                Some(n) => g.gid == n,
                None => g.name == group_arg,
            });
            if let Some(g) = g {
                gid = g.gid;
            } else {
                let Some(n) = gid_num else {
                    return Err(RuntimeError::User(format!(
                        "unable to find group {group_arg}: no matching entries in group file"
                    )));
                };
                if !(0..=MAX_ID).contains(&n) {
                    return Err(RuntimeError::User(
                        "uids and gids must be in range 0-2147483647".into(),
                    ));
                }
                gid = n;
            }
            additional = vec![gid as u32];
        } else if let Some(u) = found {
            for g in groups.iter().filter(|g| g.members.contains(&u.name)) {
                if !additional.contains(&(g.gid as u32)) {
                    additional.push(g.gid as u32);
                }
            }
        }
    }
    Ok(ExecUser {
        uid: uid as u32,
        gid: gid as u32,
        additional_gids: additional,
    })
}

/// Docker's `--group-add`: each entry a group name or gid of the image's `/etc/group`, else a
/// number in range (moby's `GetAdditionalGroups`, its texts).
pub fn additional_groups(add: &[String], group: Option<&str>) -> Result<Vec<u32>> {
    let groups = parse_group(group.unwrap_or(""));
    let mut out = Vec::new();
    for a in add {
        let gid = match groups
            .iter()
            .find(|g| g.name == *a || g.gid.to_string() == *a)
        {
            Some(g) => g.gid,
            None => {
                let Ok(n) = a.parse::<i64>() else {
                    return Err(RuntimeError::User(format!(
                        "Unable to find group {a}: no matching entries in group file"
                    )));
                };
                if !(0..=MAX_ID).contains(&n) {
                    return Err(RuntimeError::User(
                        "uids and gids must be in range 0-2147483647".into(),
                    ));
                }
                n
            }
        };
        if !out.contains(&(gid as u32)) {
            out.push(gid as u32);
        }
    }
    Ok(out)
}

/// Reads `rel` (a path relative to `root`) with every component resolved inside `root`
/// (`openat2` with `RESOLVE_IN_ROOT`); `Ok(None)` when it does not exist or is not a regular
/// file. Bounded to 4 MiB. The root is a container's, whose processes may have put a FIFO or
/// a device there: it is opened without blocking and read only when it is a regular file, so
/// nothing a container does can hold up the caller.
pub fn read_in_root(root: &Path, rel: &str) -> Result<Option<String>> {
    let croot = CString::new(root.as_os_str().as_bytes())
        .map_err(|_| RuntimeError::Invalid("root path has a NUL byte".into()))?;
    // SAFETY: a valid NUL-terminated path.
    let dirfd = unsafe {
        libc::open(
            croot.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if dirfd < 0 {
        return Err(RuntimeError::io(
            format!("open {}", root.display()),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: dirfd was just opened and is owned here.
    let dir = unsafe { File::from_raw_fd(dirfd) };
    let crel = CString::new(rel).map_err(|_| RuntimeError::Invalid("path has a NUL".into()))?;
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
    const RESOLVE_IN_ROOT: u64 = 0x10;
    let how = OpenHow {
        flags: (libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY) as u64,
        mode: 0,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    use std::os::fd::AsRawFd;
    // SAFETY: openat2 with a live directory fd, a valid path and a correctly sized `open_how`.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            crel.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENOTDIR) => Ok(None),
            _ => Err(RuntimeError::io(
                format!("open {rel} in the container root"),
                e,
            )),
        };
    }
    // SAFETY: fd was just returned by openat2 and is owned here.
    let f = unsafe { File::from_raw_fd(fd as i32) };
    let meta = f
        .metadata()
        .map_err(|e| RuntimeError::io(format!("stat {rel} in the container root"), e))?;
    if !meta.is_file() {
        return Ok(None);
    }
    let mut s = String::new();
    f.take(4 << 20)
        .read_to_string(&mut s)
        .map_err(|e| RuntimeError::io(format!("read {rel} in the container root"), e))?;
    Ok(Some(s))
}

fn open_in_root(root: &Path, rel: &str, flags: i32) -> Result<Option<File>> {
    use std::os::fd::AsRawFd;
    let croot = CString::new(root.as_os_str().as_bytes())
        .map_err(|_| RuntimeError::Invalid("root path has a NUL byte".into()))?;
    // SAFETY: a valid NUL-terminated path.
    let dirfd = unsafe {
        libc::open(
            croot.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if dirfd < 0 {
        return Err(RuntimeError::io(
            format!("open {}", root.display()),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: dirfd was just opened and is owned here.
    let dir = unsafe { File::from_raw_fd(dirfd) };
    let rel = rel.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    let crel = CString::new(rel).map_err(|_| RuntimeError::Invalid("path has a NUL".into()))?;
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: 0x10 | 0x02, // RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
    };
    // SAFETY: openat2 with a live directory fd, a valid path and a correctly sized `open_how`.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            crel.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENOENT) => Ok(None),
            _ => Err(RuntimeError::io(
                format!("open {rel} in the container root"),
                e,
            )),
        };
    }
    // SAFETY: fd was just returned by openat2 and is owned here.
    Ok(Some(unsafe { File::from_raw_fd(fd as i32) }))
}

/// Whether `path` (a container path) is a directory in `root`, resolved inside it; `Ok(false)`
/// when it does not exist, an error when it exists and is not a directory.
pub fn resolve_dir_in_root(root: &Path, path: &str) -> Result<bool> {
    match open_in_root(root, path, libc::O_PATH | libc::O_DIRECTORY) {
        Ok(Some(_)) => Ok(true),
        Ok(None) => Ok(false),
        Err(RuntimeError::Io { source, .. }) if source.raw_os_error() == Some(libc::ENOTDIR) => {
            Err(RuntimeError::Invalid(format!("{path}: not a directory")))
        }
        Err(e) => Err(e),
    }
}

/// Creates the directory `path` (a container path whose parent exists) in `root`, its parent
/// resolved inside the root, mode 0755.
pub fn mkdir_in_root(root: &Path, path: &str) -> Result<()> {
    use std::os::fd::AsRawFd;
    let path = path.trim_end_matches('/');
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    if name.is_empty() || name == "." || name == ".." {
        return Err(RuntimeError::Invalid(format!("cannot create {path}")));
    }
    let dir = open_in_root(root, parent, libc::O_PATH | libc::O_DIRECTORY)?
        .ok_or_else(|| RuntimeError::Invalid(format!("{parent}: no such directory")))?;
    let cname = CString::new(name).map_err(|_| RuntimeError::Invalid("path has a NUL".into()))?;
    // SAFETY: mkdirat relative to a live directory descriptor with a plain name.
    if unsafe { libc::mkdirat(dir.as_raw_fd(), cname.as_ptr(), 0o755) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(RuntimeError::io(
                format!("create {path} in the container root"),
                e,
            ));
        }
    }
    Ok(())
}

/// Copies the directory `path` (a container path, resolved inside `root`) into the host
/// directory `dest` (Docker's copy of an image's files into a new volume): every name below
/// it is opened relative to its parent without following symlinks (symlinks are copied as
/// links), so nothing outside `root` is ever read. Modes and owners are kept; devices,
/// sockets and fifos are skipped. `Ok(false)` when `path` is not a directory in `root`.
pub fn copy_dir_in_root(root: &Path, path: &str, dest: &Path) -> Result<bool> {
    let Ok(Some(dir)) = open_in_root(root, path, libc::O_RDONLY | libc::O_DIRECTORY) else {
        return Ok(false);
    };
    copy_dir_fd(&dir, dest, 0)?;
    Ok(true)
}

fn copy_dir_fd(src: &File, dest: &Path, depth: usize) -> Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::PermissionsExt;
    let io = |what: &str, e| {
        RuntimeError::io(format!("{what} while copying into {}", dest.display()), e)
    };
    if depth > 256 {
        return Err(RuntimeError::Invalid("copy into a volume: too deep".into()));
    }
    // `/proc/self/fd/N` names the open directory itself: listing it resolves no path.
    let listing = std::fs::read_dir(format!("/proc/self/fd/{}", src.as_raw_fd()))
        .map_err(|e| io("list", e))?;
    for entry in listing {
        let entry = entry.map_err(|e| io("list", e))?;
        let name = entry.file_name();
        let cname = CString::new(name.as_bytes())
            .map_err(|_| RuntimeError::Invalid("a name with a NUL".into()))?;
        // SAFETY: a zeroed stat filled by fstatat on a live directory fd and a plain name.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe {
            libc::fstatat(
                src.as_raw_fd(),
                cname.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        } != 0
        {
            return Err(io("stat", std::io::Error::last_os_error()));
        }
        let to = dest.join(&name);
        let open = |flags: i32| -> Result<File> {
            // SAFETY: openat relative to a live directory fd, a plain name, O_NOFOLLOW.
            let fd = unsafe {
                libc::openat(
                    src.as_raw_fd(),
                    cname.as_ptr(),
                    flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                )
            };
            if fd < 0 {
                return Err(io("open", std::io::Error::last_os_error()));
            }
            // SAFETY: fd was just opened and is owned here.
            Ok(unsafe { File::from_raw_fd(fd) })
        };
        let mode = st.st_mode & libc::S_IFMT;
        if mode == libc::S_IFDIR {
            let sub = open(libc::O_RDONLY | libc::O_DIRECTORY)?;
            std::fs::create_dir(&to).map_err(|e| io("create a directory", e))?;
            copy_dir_fd(&sub, &to, depth + 1)?;
        } else if mode == libc::S_IFREG {
            let mut from = open(libc::O_RDONLY)?;
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&to)
                .map_err(|e| io("create a file", e))?;
            std::io::copy(&mut from, &mut out).map_err(|e| io("copy", e))?;
        } else if mode == libc::S_IFLNK {
            let mut buf = vec![0u8; 4096];
            // SAFETY: readlinkat into a live buffer of the given size.
            let n = unsafe {
                libc::readlinkat(
                    src.as_raw_fd(),
                    cname.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n < 0 {
                return Err(io("readlink", std::io::Error::last_os_error()));
            }
            buf.truncate(n as usize);
            std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&buf), &to)
                .map_err(|e| io("symlink", e))?;
            let _ = std::os::unix::fs::lchown(&to, Some(st.st_uid), Some(st.st_gid));
            continue;
        } else {
            continue;
        }
        let _ = std::os::unix::fs::lchown(&to, Some(st.st_uid), Some(st.st_gid));
        let _ = std::fs::set_permissions(&to, std::fs::Permissions::from_mode(st.st_mode & 0o7777));
    }
    Ok(())
}

/// Resolves `spec` against the files of the root directory `root`, with the `--group-add`
/// groups `group_add` added to its supplementary groups.
pub fn resolve_user_in(root: &Path, spec: &str, group_add: &[String]) -> Result<ExecUser> {
    let passwd = read_in_root(root, "etc/passwd")?;
    let group = read_in_root(root, "etc/group")?;
    let mut user = resolve_user(spec, passwd.as_deref(), group.as_deref())?;
    for gid in additional_groups(group_add, group.as_deref())? {
        if !user.additional_gids.contains(&gid) {
            user.additional_gids.push(gid);
        }
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/:/bin/false\nwww-data:x:33:33::/var/www:/bin/false\nnobody:x:65534:65534::/:/bin/false\n";
    const GROUP: &str =
        "root:x:0:\ndaemon:x:1:\nadm:x:4:www-data,daemon\nwww-data:x:33:\nstaff:x:50:www-data\n";

    fn r(spec: &str) -> Result<ExecUser> {
        resolve_user(spec, Some(PASSWD), Some(GROUP))
    }

    #[test]
    fn docker_user_rules() {
        assert_eq!((r("").unwrap().uid, r("").unwrap().gid), (0, 0));
        let w = r("www-data").unwrap();
        // The primary group is a supplementary group too, as Docker 23+ sets it.
        assert_eq!((w.uid, w.gid, w.additional_gids), (33, 33, vec![33, 4, 50]));
        assert_eq!(r("33").unwrap().additional_gids, vec![33, 4, 50]);
        assert_eq!(r("").unwrap().additional_gids, vec![0]);
        assert_eq!(r("1000").unwrap().additional_gids, vec![0]);
        // A named group is the only one.
        let w = r("www-data:staff").unwrap();
        assert_eq!((w.uid, w.gid, w.additional_gids), (33, 50, vec![50]));
        let w = r("1000:1000").unwrap();
        assert_eq!((w.uid, w.gid), (1000, 1000));
        let w = r("1000").unwrap();
        assert_eq!((w.uid, w.gid), (1000, 0));
        let w = r("nobody:4").unwrap();
        assert_eq!((w.uid, w.gid), (65534, 4));
        assert_eq!(
            r("alice").unwrap_err().to_string(),
            "unable to find user alice: no matching entries in passwd file"
        );
        assert_eq!(
            r("root:wheel").unwrap_err().to_string(),
            "unable to find group wheel: no matching entries in group file"
        );
        // No passwd file at all: names fail, numbers work.
        assert!(resolve_user("daemon", None, None).is_err());
        assert_eq!(resolve_user("7:8", None, None).unwrap().gid, 8);
    }

    #[test]
    fn files_are_read_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        // An absolute symlink that would reach the host's passwd resolves inside the root.
        std::os::unix::fs::symlink("/etc/shadow-nope", d.path().join("etc/passwd")).unwrap();
        assert_eq!(read_in_root(d.path(), "etc/passwd").unwrap(), None);
        std::fs::write(d.path().join("etc/shadow-nope"), PASSWD).unwrap();
        // Directories are made inside the root too: a symlink to / is the root itself.
        std::os::unix::fs::symlink("/", d.path().join("up")).unwrap();
        assert!(resolve_dir_in_root(d.path(), "/up/etc").unwrap());
        assert!(!resolve_dir_in_root(d.path(), "/up/srv").unwrap());
        mkdir_in_root(d.path(), "/up/srv").unwrap();
        assert!(d.path().join("srv").is_dir());
        assert!(resolve_dir_in_root(d.path(), "/etc/shadow-nope").is_err());
        assert_eq!(resolve_user_in(d.path(), "daemon", &[]).unwrap().uid, 1);
    }

    #[test]
    fn group_add_names_and_numbers() {
        let g = |add: &[&str]| {
            let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
            additional_groups(&add, Some(GROUP)).map_err(|e| e.to_string())
        };
        assert_eq!(g(&["staff", "10", "adm", "4"]), Ok(vec![50, 10, 4]));
        assert_eq!(
            g(&["wheel"]),
            Err("Unable to find group wheel: no matching entries in group file".into())
        );
        assert_eq!(
            g(&["4294967296"]),
            Err("uids and gids must be in range 0-2147483647".into())
        );
    }
}

#[cfg(test)]
mod copy_tests {
    use super::*;

    #[test]
    fn copies_inside_the_root_only() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir_all(root.join("data/sub")).unwrap();
        std::fs::write(root.join("data/sub/f"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("data/esc")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        let dest = t.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        assert!(copy_dir_in_root(&root, "/data", &dest).unwrap());
        assert_eq!(std::fs::read_to_string(dest.join("sub/f")).unwrap(), "x");
        // A symlink is copied as a link, never followed.
        assert_eq!(
            std::fs::read_link(dest.join("esc")).unwrap(),
            Path::new("/etc")
        );
        // A path through a symlink resolves inside the root: /etc is not there.
        let dest2 = t.path().join("dest2");
        std::fs::create_dir(&dest2).unwrap();
        assert!(!copy_dir_in_root(&root, "/link", &dest2).unwrap());
        assert_eq!(std::fs::read_dir(&dest2).unwrap().count(), 0);
    }
}
