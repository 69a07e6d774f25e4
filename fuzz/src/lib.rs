//! Shared by the fuzz targets that write files: a private mount namespace in which the whole
//! host file system is read-only, except the fuzzer's own corpus and artifact directories, and
//! a fresh tmpfs to work in. Code under test that escaped its root could then not damage the
//! host (we fuzz as root), and an attempt shows up as `EROFS`, which the targets treat as a
//! finding. The tmpfs goes away with the process.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Enters the sandbox (once per process; call it from the target's `init`) and returns the
/// writable scratch directory. Exits the process when the sandbox cannot be made, unless
/// `STRATA_FUZZ_NO_SANDBOX=1` says to go on without one.
pub fn sandbox() -> PathBuf {
    let scratch = std::env::temp_dir().join("strata-fuzz");
    if let Err(e) = std::fs::create_dir_all(&scratch) {
        fail(&format!("create {}", scratch.display()), e);
    }
    if std::env::var_os("STRATA_FUZZ_NO_SANDBOX").is_some_and(|v| v == "1") {
        let dir = scratch.join(std::process::id().to_string());
        std::fs::create_dir_all(&dir).expect("scratch directory");
        return dir;
    }
    // The directories libFuzzer writes to: corpus directories (the arguments that are
    // directories), the artifact prefix's directory, and this crate (cargo fuzz's defaults).
    let mut writable: Vec<PathBuf> = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
    for arg in std::env::args_os().skip(1) {
        let bytes = arg.as_bytes();
        if let Some(prefix) = bytes
            .strip_prefix(b"-artifact_prefix=")
            .or_else(|| bytes.strip_prefix(b"-exact_artifact_path="))
        {
            let p = Path::new(std::ffi::OsStr::from_bytes(prefix));
            let dir = if prefix.ends_with(b"/") {
                p
            } else {
                p.parent().unwrap_or(Path::new("."))
            };
            let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
            writable.push(dir.to_path_buf());
        } else if !bytes.starts_with(b"-") && Path::new(&arg).is_dir() {
            writable.push(PathBuf::from(&arg));
        }
    }
    let writable: Vec<PathBuf> = writable
        .into_iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();

    // SAFETY: plain syscalls on valid, NUL-terminated paths.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            fail(
                "unshare(CLONE_NEWNS) (run as root, or set STRATA_FUZZ_NO_SANDBOX=1 at your own risk)",
                io::Error::last_os_error(),
            );
        }
        let root = c("/");
        if libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            fail("make mounts private", io::Error::last_os_error());
        }
        for dir in &writable {
            bind_self(dir);
        }
        let tmpfs = c("tmpfs");
        let target = c(scratch.as_os_str().as_bytes());
        if libc::mount(
            tmpfs.as_ptr(),
            target.as_ptr(),
            tmpfs.as_ptr(),
            0,
            std::ptr::null(),
        ) != 0
        {
            fail("mount tmpfs", io::Error::last_os_error());
        }
        set_readonly(&root, true);
        for dir in writable.iter().chain([&scratch]) {
            set_readonly(&c(dir.as_os_str().as_bytes()), false);
        }
    }
    scratch
}

fn c(b: impl AsRef<[u8]>) -> CString {
    CString::new(b.as_ref()).expect("no NUL in path")
}

unsafe fn bind_self(dir: &Path) {
    let p = c(dir.as_os_str().as_bytes());
    if libc::mount(
        p.as_ptr(),
        p.as_ptr(),
        std::ptr::null(),
        libc::MS_BIND | libc::MS_REC,
        std::ptr::null(),
    ) != 0
    {
        fail(
            &format!("bind {}", dir.display()),
            io::Error::last_os_error(),
        );
    }
}

/// `mount_setattr(path, AT_RECURSIVE, {set or clear MOUNT_ATTR_RDONLY})`.
unsafe fn set_readonly(path: &CString, ro: bool) {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    let attr = MountAttr {
        attr_set: if ro { MOUNT_ATTR_RDONLY } else { 0 },
        attr_clr: if ro { 0 } else { MOUNT_ATTR_RDONLY },
        propagation: 0,
        userns_fd: 0,
    };
    let r = libc::syscall(
        libc::SYS_mount_setattr,
        libc::AT_FDCWD,
        path.as_ptr(),
        libc::AT_RECURSIVE as libc::c_uint,
        &attr as *const MountAttr,
        std::mem::size_of::<MountAttr>(),
    );
    if r != 0 {
        fail(
            &format!("mount_setattr {path:?} ro={ro}"),
            io::Error::last_os_error(),
        );
    }
}

fn fail(what: &str, e: io::Error) -> ! {
    eprintln!("strata-fuzz sandbox: {what}: {e}");
    std::process::exit(2)
}

/// Does `e` or any error in its source chain say `EROFS`, i.e. that the code under test tried
/// to write where the sandbox forbids it (outside its scratch directory)?
pub fn is_erofs(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if io.raw_os_error() == Some(libc::EROFS) {
                return true;
            }
            // A custom io::Error (tar's) wraps its cause: look inside it too.
            if let Some(inner) = io.get_ref() {
                if is_erofs(inner) {
                    return true;
                }
            }
        }
        // Never the error's text: it holds entry names, which the input chooses (a name
        // containing "Read-only file system" was taken for a write outside the root).
        cur = err.source();
    }
    false
}
