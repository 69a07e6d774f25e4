//! `kernel`: the bridge, a container's network namespace file and its veth pair, through the
//! `ip` binary (iproute2) and `/proc/sys`.
//!
//! A namespace is made by a short-lived thread that `unshare`s its own network namespace and
//! bind-mounts `/proc/thread-self/ns/net` on the file, so no process of the caller ever
//! changes namespace; commands that must run inside it are spawned from a thread that joined
//! it with `setns` (a child inherits its creating thread's namespaces).

use super::Subnet;
use crate::{Result, RuntimeError};
use std::ffi::CString;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// `statfs` magic of the namespace filesystem.
const NSFS_MAGIC: i64 = 0x6e73_6673;

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("paths have no NUL")
}

fn missing(what: &str, e: &std::io::Error) -> RuntimeError {
    RuntimeError::Unavailable(format!(
        "the bridge network needs {what}, which cannot be run here: {e}"
    ))
}

/// Runs `ip -batch -` with `lines` as its commands; the failing command's message on error.
/// The commands are written whole into the pipe before `ip` starts, so no write can meet a
/// reader that has gone (that write would raise SIGPIPE, which ends the CLI, whose output
/// dies quietly on a closed pipe); they are a few lines, far below a pipe's 64 KiB.
fn ip_batch(lines: &[String]) -> Result<()> {
    let text = format!("{}\n", lines.join("\n"));
    if text.len() > 60 << 10 {
        return Err(RuntimeError::Invalid(format!(
            "ip batch of {} bytes: more than a pipe holds",
            text.len()
        )));
    }
    let (stdin, mut fill) = std::io::pipe().map_err(|e| RuntimeError::io("make a pipe", e))?;
    fill.write_all(text.as_bytes())
        .map_err(|e| RuntimeError::io("write the ip batch", e))?;
    drop(fill);
    let child = Command::new("ip")
        .args(["-batch", "-"])
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| missing("the `ip` command (iproute2)", &e))?;
    let out = child
        .wait_with_output()
        .map_err(|e| RuntimeError::io("wait for ip", e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(RuntimeError::Unavailable(format!(
        "ip {}: {}",
        lines.join("; "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// Whether a network interface of that name exists in this process's network namespace
/// (asked of the kernel: `/sys/class/net` shows the namespace sysfs was mounted in, which is
/// not this one when the engine runs in a namespace of its own).
pub fn link_exists(name: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(name) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated name; the call only reads it.
    unsafe { libc::if_nametoindex(c.as_ptr()) != 0 }
}

/// The host's IPv4 routes (`/proc/net/route`), default route included (as `0.0.0.0/0`).
pub fn host_routes() -> Vec<Subnet> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let hex = |s: &str| u32::from_str_radix(s, 16).ok().map(u32::from_be);
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = hex(f.get(1)?)?;
            let mask = hex(f.get(7)?)?;
            Some(Subnet {
                addr: Ipv4Addr::from(dest),
                prefix: mask.count_ones() as u8,
            })
        })
        .collect()
}

/// The address and subnet of an existing interface (`ip -4 -o addr show dev NAME`).
pub fn link_address(name: &str) -> Option<(Ipv4Addr, Subnet)> {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", name])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let cidr = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)?;
    let (a, _) = cidr.split_once('/')?;
    Some((a.parse().ok()?, cidr.parse().ok()?))
}

fn write_sysctl(path: &str, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|e| {
        RuntimeError::Unavailable(format!(
            "the bridge network needs {path} set to {value}: {e}"
        ))
    })
}

/// Makes sure the bridge exists, carries `gateway/prefix` and is up, and that the kernel
/// forwards IPv4 and routes loopback-sourced packets out of it (published ports reached on
/// `127.0.0.1`). Returns whether the bridge was created now.
pub fn ensure_bridge(name: &str, subnet: Subnet) -> Result<bool> {
    let created = !link_exists(name);
    if created {
        let mut child = Command::new("ip")
            .args(["link", "add", "name", name, "type", "bridge"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| missing("the `ip` command (iproute2)", &e))?;
        let status = child
            .wait()
            .map_err(|e| RuntimeError::io("wait for ip", e))?;
        let mut err = String::new();
        if let Some(mut s) = child.stderr.take() {
            use std::io::Read;
            let _ = s.read_to_string(&mut err);
        }
        // Another process may have made it meanwhile.
        if !status.success() && !link_exists(name) {
            return Err(RuntimeError::Unavailable(format!(
                "the bridge network needs the kernel's bridge support: ip link add {name} type bridge: {}",
                err.trim()
            )));
        }
    }
    if link_address(name).map(|(a, _)| a) != Some(subnet.gateway()) {
        ip_batch(&[format!(
            "addr replace {}/{} dev {name}",
            subnet.gateway(),
            subnet.prefix
        )])?;
    }
    ip_batch(&[format!("link set {name} up")])?;
    let forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default();
    if forward.trim() != "1" {
        write_sysctl("/proc/sys/net/ipv4/ip_forward", "1")?;
    }
    write_sysctl(
        &format!("/proc/sys/net/ipv4/conf/{name}/route_localnet"),
        "1",
    )?;
    Ok(created)
}

/// Whether `path` is a bind mount of a namespace.
pub fn is_netns(path: &Path) -> bool {
    let c = cpath(path);
    // SAFETY: a zeroed statfs is a valid out-parameter.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid path and out-pointer.
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut s) };
    rc == 0 && s.f_type as i64 == NSFS_MAGIC
}

/// Creates a new network namespace kept alive by a bind mount on `path` (created empty).
pub fn create_netns(path: &Path) -> Result<()> {
    std::fs::File::create(path)
        .map_err(|e| RuntimeError::io(format!("create {}", path.display()), e))?;
    let target = cpath(path);
    let r = std::thread::spawn(move || -> std::io::Result<()> {
        // SAFETY: unshare of this thread's own network namespace; the thread ends after.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let src = CString::new("/proc/thread-self/ns/net").unwrap();
        // SAFETY: valid NUL-terminated paths; a bind mount without data.
        let rc = unsafe {
            libc::mount(
                src.as_ptr(),
                target.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    })
    .join()
    .unwrap_or_else(|_| Err(std::io::Error::other("namespace thread panicked")));
    r.map_err(|e| {
        let _ = std::fs::remove_file(path);
        RuntimeError::Unavailable(format!(
            "the bridge network needs a new network namespace (unshare, as root): {e}"
        ))
    })
}

/// Unmounts and removes a namespace file made by [`create_netns`]; nothing when absent.
pub fn remove_netns(path: &Path) {
    let c = cpath(path);
    // SAFETY: valid NUL-terminated path.
    while unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 {}
    let _ = std::fs::remove_file(path);
}

/// Runs `ip -batch` inside the namespace of `netns`.
fn ip_batch_in(netns: &Path, lines: Vec<String>) -> Result<()> {
    let f = std::fs::File::open(netns)
        .map_err(|e| RuntimeError::io(format!("open {}", netns.display()), e))?;
    std::thread::spawn(move || -> Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: joins this thread (only) to the namespace the descriptor names.
        if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(RuntimeError::io(
                "join the container's network namespace",
                std::io::Error::last_os_error(),
            ));
        }
        ip_batch(&lines)
    })
    .join()
    .unwrap_or_else(|_| Err(RuntimeError::Invalid("namespace thread panicked".into())))
}

/// Connects the namespace at `netns` to `bridge`: a veth pair `host_veth` (on the bridge, up)
/// and `eth0` inside with `ip/prefix`, `mac`, up, the default route via `gateway`, and `lo` up.
/// A `host_veth` left from the container's previous run is deleted first.
pub fn attach(
    netns: &Path,
    bridge: &str,
    host_veth: &str,
    ip: Ipv4Addr,
    subnet: Subnet,
    mac: &str,
) -> Result<()> {
    // The kernel destroys a run's pair with its namespace, off the caller's path: a quick
    // restart of the same container can find its previous host end still there.
    delete_link(host_veth);
    ip_batch(&[
        format!(
            "link add {host_veth} type veth peer name eth0 address {mac} netns {}",
            netns.display()
        ),
        format!("link set {host_veth} master {bridge} up"),
        // Hairpin: a container may reach its own published ports through the host.
        format!("link set dev {host_veth} type bridge_slave hairpin on"),
    ])?;
    let inside = vec![
        "link set lo up".to_string(),
        format!("addr add {ip}/{} dev eth0", subnet.prefix),
        "link set eth0 up".to_string(),
        format!("route add default via {}", subnet.gateway()),
    ];
    if let Err(e) = ip_batch_in(netns, inside) {
        delete_link(host_veth);
        return Err(e);
    }
    Ok(())
}

/// Deletes a network interface (and so its veth peer); nothing when absent.
pub fn delete_link(name: &str) {
    if link_exists(name) {
        let _ = Command::new("ip")
            .args(["link", "del", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
