//! `peer`: whether a TCP client of this host is a process of a container.
//!
//! A container on the host's network (`--network host`) shares the host's loopback, so it
//! could reach a server listening on `127.0.0.1`, the strata server among them, and through
//! its API the host. Such a container is recorded while it runs ([`mark`]: one file per
//! container in [`DIR`], host-wide, naming its cgroup), and a server asks [`container_of`] who
//! holds the other end of a loopback connection: the socket's inode from `/proc/net/tcp{,6}`,
//! looked for among the descriptors of the recorded containers' processes (their cgroup's
//! `cgroup.procs`). With no such container running, the answer costs one directory read. A
//! client from an address leased on the bridge is a container too.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// Where the running host-network containers are recorded: `<id>` holding the container's
/// cgroup path (`/strata/<id>`). A tmpfs: a reboot clears it with the containers.
pub const DIR: &str = "/run/strata/host-network";

/// Records that container `id` (cgroup `cgroups_path`) runs on the host's network.
pub fn mark(id: &str, cgroups_path: &str) -> std::io::Result<()> {
    mark_in(Path::new(DIR), id, cgroups_path)
}

/// Forgets container `id` ([`mark`]); nothing when it was not recorded.
pub fn unmark(id: &str) {
    let _ = std::fs::remove_file(Path::new(DIR).join(id));
}

fn mark_in(dir: &Path, id: &str, cgroups_path: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{id}.{}", std::process::id()));
    std::fs::write(&tmp, cgroups_path)?;
    std::fs::rename(&tmp, dir.join(id))
}

/// Which container, if any, the TCP client at `peer` is, in words: `container <id>, on the
/// host's network` when a process of such a container holds the client's socket, `a
/// container on the strata0 bridge (<address>)` when the address is leased to one (a server
/// listening beyond loopback is reachable from the bridge, and a client picks its own `Host`).
pub fn container_of(peer: SocketAddr) -> Option<String> {
    if let IpAddr::V4(ip) = peer.ip() {
        if !ip.is_loopback() {
            let ipam = crate::network::ipam::Ipam::new(
                Path::new(crate::network::ipam::RUN_DIR),
                crate::network::BRIDGE,
            );
            return ipam.leased().ok()?.contains(&ip).then(|| {
                format!(
                    "a container on the {} bridge ({ip})",
                    crate::network::BRIDGE
                )
            });
        }
    }
    let id = container_of_in(Path::new(DIR), peer)?;
    Some(format!(
        "container {}, on the host's network",
        &id[..id.len().min(12)]
    ))
}

fn container_of_in(dir: &Path, peer: SocketAddr) -> Option<String> {
    if !peer.ip().is_loopback() {
        return None;
    }
    let marked: Vec<(String, String)> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let id = e.file_name().to_str()?.to_string();
            (!id.starts_with('.')).then(|| Some((id, std::fs::read_to_string(e.path()).ok()?)))?
        })
        .collect();
    if marked.is_empty() {
        return None;
    }
    let inode = socket_inode(peer)?;
    let link = format!("socket:[{inode}]");
    marked.into_iter().find_map(|(id, cgroup)| {
        procs(cgroup.trim())
            .into_iter()
            .any(|pid| holds(pid, &link))
            .then_some(id)
    })
}

/// The inode of the connected socket whose local end is `peer` (an address and port only one
/// connected socket has).
fn socket_inode(peer: SocketAddr) -> Option<u64> {
    find_column(&tcp_table(peer)?, peer, INODE)
}

/// The user owning the socket of the TCP client at `peer` (an end on this host's loopback),
/// from `/proc/net/tcp{,6}`: who made the connection, whatever it claims.
pub fn owner_uid(peer: SocketAddr) -> Option<u32> {
    find_column(&tcp_table(peer)?, peer, UID)
}

/// `/proc/net/tcp{,6}`'s columns: the owner's uid, the socket's inode.
const UID: usize = 7;
const INODE: usize = 9;

fn tcp_table(peer: SocketAddr) -> Option<String> {
    let file = match peer.ip() {
        IpAddr::V4(_) => "/proc/net/tcp",
        IpAddr::V6(_) => "/proc/net/tcp6",
    };
    std::fs::read_to_string(file).ok()
}

/// Column `col` of the row of a `/proc/net/tcp{,6}` table whose local end is `local_end` (a
/// connected socket: not listening, `st` 0A).
fn find_column<T: std::str::FromStr>(table: &str, local_end: SocketAddr, col: usize) -> Option<T> {
    let want = proc_address(local_end);
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(1)?.eq_ignore_ascii_case(&want) && *f.get(3)? != "0A")
            .then(|| f.get(col)?.parse().ok())?
    })
}

/// An address as `/proc/net/tcp{,6}` writes it: each 32-bit word of the address in the
/// host's byte order, in hex, then `:` and the port in hex.
fn proc_address(a: SocketAddr) -> String {
    let words: Vec<u32> = match a.ip() {
        IpAddr::V4(ip) => vec![u32::from_ne_bytes(ip.octets())],
        IpAddr::V6(ip) => ip
            .octets()
            .chunks(4)
            .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    };
    let mut s: String = words.iter().map(|w| format!("{w:08X}")).collect();
    s.push_str(&format!(":{:04X}", a.port()));
    s
}

/// The processes of the cgroup at `cgroups_path`, from whichever hierarchy lists them.
fn procs(cgroups_path: &str) -> Vec<i32> {
    let rel = cgroups_path.trim_start_matches('/');
    if rel.is_empty() || rel.split('/').any(|c| c == "..") {
        return Vec::new();
    }
    let candidates: Vec<PathBuf> = if crate::cgroup::is_v2() {
        vec![Path::new("/sys/fs/cgroup").join(rel)]
    } else {
        ["pids", "memory", "freezer", "cpu", "unified"]
            .iter()
            .map(|c| Path::new("/sys/fs/cgroup").join(c).join(rel))
            .collect()
    };
    candidates
        .iter()
        .find_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// Whether process `pid` has a descriptor on `link` (`socket:[inode]`).
fn holds(pid: i32, link: &str) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == link))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn addresses_as_proc_net_tcp_writes_them() {
        if cfg!(target_endian = "little") {
            assert_eq!(
                proc_address("127.0.0.1:8080".parse().unwrap()),
                "0100007F:1F90"
            );
            assert_eq!(
                proc_address("[::1]:80".parse().unwrap()),
                "00000000000000000000000001000000:0050"
            );
        }
    }

    #[test]
    fn a_loopback_clients_socket_is_found_and_only_a_marked_cgroups_process_is_a_container() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(server.local_addr().unwrap()).unwrap();
        let (_conn, peer) = server.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        let inode = socket_inode(peer).expect("the client's socket in /proc/net/tcp");
        // SAFETY: geteuid has no preconditions.
        assert_eq!(owner_uid(peer), Some(unsafe { libc::geteuid() }));
        assert!(holds(
            std::process::id() as i32,
            &format!("socket:[{inode}]")
        ));

        let dir = tempfile::tempdir().unwrap();
        assert_eq!(container_of_in(dir.path(), peer), None, "none marked");
        // a marked container whose cgroup holds none of this process's sockets
        mark_in(dir.path(), "c1", "/strata-test-no-such-cgroup/c1").unwrap();
        assert_eq!(container_of_in(dir.path(), peer), None);
        // a process holding the client's socket, in a cgroup of its own that is marked
        let cg = format!("strata-peer-test-{}", std::process::id());
        let cg_dir = if crate::cgroup::is_v2() {
            Path::new("/sys/fs/cgroup").join(&cg)
        } else {
            Path::new("/sys/fs/cgroup/pids").join(&cg)
        };
        std::fs::create_dir(&cg_dir).unwrap();
        let fd: std::os::fd::OwnedFd = client.try_clone().unwrap().into();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .stdin(std::process::Stdio::from(fd))
            .spawn()
            .unwrap();
        std::fs::write(cg_dir.join("cgroup.procs"), child.id().to_string()).unwrap();
        mark_in(dir.path(), "c2", &format!("/{cg}")).unwrap();
        let found = container_of_in(dir.path(), peer);
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir(&cg_dir);
        assert_eq!(found.as_deref(), Some("c2"));
        // a peer that is not on loopback is never a host-network container's
        assert_eq!(
            container_of_in(dir.path(), "172.17.0.2:4000".parse().unwrap()),
            None
        );
    }
}
