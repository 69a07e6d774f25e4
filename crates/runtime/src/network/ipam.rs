//! `ipam`: the bridge's addresses and host ports, leased under a lock.
//!
//! The bridge is the host's, so the leases are too: one JSON file per bridge in a run
//! directory ([`RUN_DIR`], cleared with the bridge at boot), changed only under an exclusive
//! `flock` of its lock file, whichever process (CLI, server, another data directory) asks.
//! A lease names its owner, the container's namespace file; a lease whose owner is no longer a
//! namespace mount (the run ended without its clean-up, or the host rebooted) is free again.

use super::{kernel, PortMap, Subnet};
use crate::{Result, RuntimeError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// Where the leases live.
pub const RUN_DIR: &str = "/run/strata/network";

/// A port to publish: `host_port` 0 asks for a free one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRequest {
    /// `tcp` or `udp`.
    pub proto: String,
    /// The host address (`0.0.0.0`: all).
    pub host_ip: Ipv4Addr,
    /// The host port, 0 for any free one.
    pub host_port: u16,
    /// The container's port.
    pub container_port: u16,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Leases {
    #[serde(default)]
    ips: BTreeMap<Ipv4Addr, PathBuf>,
    #[serde(default)]
    ports: Vec<(PortMap, PathBuf)>,
    /// The address leased last: the next lease starts after it.
    #[serde(default)]
    last: Option<Ipv4Addr>,
}

/// The leases of one bridge.
#[derive(Debug, Clone)]
pub struct Ipam {
    dir: PathBuf,
    bridge: String,
    /// Whether a lease's owner must be a namespace mount to stay (off in unit tests).
    check_owner: bool,
}

fn io(ctx: String) -> impl FnOnce(std::io::Error) -> RuntimeError {
    move |e| RuntimeError::io(ctx, e)
}

impl Ipam {
    /// The leases of `bridge` kept in `dir` (normally [`RUN_DIR`]).
    pub fn new(dir: &Path, bridge: &str) -> Ipam {
        Ipam {
            dir: dir.to_path_buf(),
            bridge: bridge.to_string(),
            check_owner: true,
        }
    }

    /// Leases whose owners are plain paths (tests without namespaces).
    pub fn without_owner_check(mut self) -> Ipam {
        self.check_owner = false;
        self
    }

    fn locked<T>(&self, f: impl FnOnce(&mut Leases) -> Result<T>) -> Result<T> {
        std::fs::create_dir_all(&self.dir).map_err(io(format!("create {}", self.dir.display())))?;
        let lock_path = self.dir.join(format!("{}.lock", self.bridge));
        let lock = std::fs::File::create(&lock_path)
            .map_err(io(format!("open {}", lock_path.display())))?;
        lock.lock()
            .map_err(io(format!("lock {}", lock_path.display())))?;
        let path = self.dir.join(format!("{}.json", self.bridge));
        let mut leases: Leases = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if self.check_owner {
            leases.ips.retain(|_, o| kernel::is_netns(o));
            leases.ports.retain(|(_, o)| kernel::is_netns(o));
        }
        let out = f(&mut leases)?;
        let tmp = path.with_extension("tmp");
        let json = serde_json::to_vec(&leases)
            .map_err(|e| RuntimeError::Invalid(format!("leases: {e}")))?;
        std::fs::write(&tmp, json).map_err(io(format!("write {}", tmp.display())))?;
        std::fs::rename(&tmp, &path).map_err(io(format!("write {}", path.display())))?;
        Ok(out)
    }

    /// Leases a free address of `subnet` (after the gateway) and the host ports of `ports` to
    /// `owner`, or nothing: Docker's texts for a port taken by another container or in use
    /// on the host.
    pub fn allocate(
        &self,
        subnet: Subnet,
        owner: &Path,
        ports: &[PortRequest],
    ) -> Result<(Ipv4Addr, Vec<PortMap>)> {
        self.locked(|l| {
            // Round-robin from the last lease, so a freed address (whose namespace, veth
            // and MAC the kernel may still be destroying) is not handed out again at once.
            let first = u32::from(subnet.gateway()) + 1;
            let last = u32::from(subnet.last_host());
            let span = last - first + 1;
            let start = l
                .last
                .map(u32::from)
                .filter(|a| (first..=last).contains(a))
                .map_or(0, |a| a - first + 1);
            let ip = (0..span)
                .map(|i| Ipv4Addr::from(first + (start + i) % span))
                .find(|ip| !l.ips.contains_key(ip))
                .ok_or_else(|| {
                    RuntimeError::Conflict(format!(
                        "no available IPv4 addresses on this network's address pools: bridge ({subnet})"
                    ))
                })?;
            let mut maps: Vec<PortMap> = Vec::new();
            for r in ports {
                let taken = |port: u16, maps: &[PortMap]| {
                    let clash = |m: &PortMap| {
                        m.proto == r.proto
                            && m.host_port == port
                            && (m.host_ip == r.host_ip
                                || m.host_ip.is_unspecified()
                                || r.host_ip.is_unspecified())
                    };
                    l.ports.iter().any(|(m, _)| clash(m)) || maps.iter().any(clash)
                };
                let port = if r.host_port == 0 {
                    let (lo, hi) = ephemeral_range();
                    let span = u32::from(hi - lo) + 1;
                    let start = random_u32() % span;
                    (0..span)
                        .map(|i| lo + ((start + i) % span) as u16)
                        .find(|p| !taken(*p, &maps) && bindable(&r.proto, r.host_ip, *p).is_ok())
                        .ok_or_else(|| {
                            RuntimeError::Conflict(format!(
                                "all ports are allocated ({lo}-{hi}/{})",
                                r.proto
                            ))
                        })?
                } else {
                    if taken(r.host_port, &maps) {
                        return Err(RuntimeError::Conflict(format!(
                            "Bind for {}:{} failed: port is already allocated",
                            r.host_ip, r.host_port
                        )));
                    }
                    bindable(&r.proto, r.host_ip, r.host_port)?;
                    r.host_port
                };
                maps.push(PortMap {
                    proto: r.proto.clone(),
                    host_ip: r.host_ip,
                    host_port: port,
                    container_port: r.container_port,
                });
            }
            l.ips.insert(ip, owner.to_path_buf());
            l.last = Some(ip);
            for m in &maps {
                l.ports.push((m.clone(), owner.to_path_buf()));
            }
            Ok((ip, maps))
        })
    }

    /// Gives back every lease of `owner`.
    pub fn release(&self, owner: &Path) -> Result<()> {
        self.locked(|l| {
            l.ips.retain(|_, o| o != owner);
            l.ports.retain(|(_, o)| o != owner);
            Ok(())
        })
    }

    /// The addresses leased now.
    pub fn leased(&self) -> Result<Vec<Ipv4Addr>> {
        self.locked(|l| Ok(l.ips.keys().copied().collect()))
    }
}

/// The kernel's ephemeral port range (`ip_local_port_range`), Docker's range for `-p PORT`.
fn ephemeral_range() -> (u16, u16) {
    let t = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut it = t.split_whitespace().filter_map(|s| s.parse::<u16>().ok());
    match (it.next(), it.next()) {
        (Some(a), Some(b)) if a <= b && a > 0 => (a, b),
        _ => (49153, 60999),
    }
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    u32::from_ne_bytes(b)
}

/// Whether the port can be published now: the monitor's own hold
/// ([`crate::monitor::Reservation::hold`]) tried and given back, with Docker's texts when it
/// cannot.
fn bindable(proto: &str, ip: Ipv4Addr, port: u16) -> Result<()> {
    crate::monitor::Reservation {
        proto: proto.to_string(),
        ip,
        port,
    }
    .hold()
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(host_ip: [u8; 4], host_port: u16, container_port: u16) -> PortRequest {
        PortRequest {
            proto: "tcp".into(),
            host_ip: host_ip.into(),
            host_port,
            container_port,
        }
    }

    #[test]
    fn addresses_and_ports_are_leased_once() {
        let d = tempfile::tempdir().unwrap();
        let ipam = Ipam::new(d.path(), "t0").without_owner_check();
        let sub: Subnet = "10.9.0.0/29".parse().unwrap();
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let (a, pa) = ipam
            .allocate(sub, Path::new("/a"), &[req([127, 0, 0, 1], port, 80)])
            .unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 9, 0, 2));
        assert_eq!(pa[0].host_port, port);
        // The same port on every address clashes with one on 127.0.0.1.
        let e = ipam
            .allocate(sub, Path::new("/b"), &[req([0, 0, 0, 0], port, 80)])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Bind for 0.0.0.0:{port} failed: port is already allocated")
        );
        let (b, pb) = ipam
            .allocate(sub, Path::new("/b"), &[req([127, 0, 0, 1], 0, 80)])
            .unwrap();
        assert_eq!(b, Ipv4Addr::new(10, 9, 0, 3));
        assert!(pb[0].host_port > 0 && pb[0].host_port != port);
        ipam.release(Path::new("/a")).unwrap();
        assert_eq!(ipam.leased().unwrap(), [b]);
        // A freed address comes back only after the others.
        let (c, _) = ipam.allocate(sub, Path::new("/c"), &[]).unwrap();
        assert_eq!(c, Ipv4Addr::new(10, 9, 0, 4));
        for o in ["/d", "/e"] {
            ipam.allocate(sub, Path::new(o), &[]).unwrap();
        }
        let (f, _) = ipam.allocate(sub, Path::new("/f"), &[]).unwrap();
        assert_eq!(f, a);
        let e = ipam.allocate(sub, Path::new("/g"), &[]).unwrap_err();
        assert!(
            e.to_string().starts_with("no available IPv4 addresses"),
            "{e}"
        );
        // A port a host process holds.
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let hp = held.local_addr().unwrap().port();
        ipam.release(Path::new("/d")).unwrap();
        let e = ipam
            .allocate(sub, Path::new("/h"), &[req([127, 0, 0, 1], hp, 80)])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Error starting userland proxy: listen tcp4 127.0.0.1:{hp}: bind: address already in use")
        );
    }
}
