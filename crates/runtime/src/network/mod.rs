//! `network`: Docker's default `bridge` network on the host's kernel.
//!
//! One bridge for the host, [`BRIDGE`] (`strata0`, like `docker0`), with the first free
//! `172.N.0.0/16` (N in 17–31) no host route covers; per container a network namespace bind-
//! mounted on a file in its directory (the runtime joins it by path), a veth pair (the host
//! end on the bridge, the other end `eth0` in the namespace, with its address, Docker's MAC
//! `02:42:<address>` and a default route through the bridge), and NAT with `iptables`:
//! `MASQUERADE` for the subnet's outgoing traffic, `DNAT` for published ports (the loopback
//! included: `route_localnet` on the bridge and a `MASQUERADE` of local sources, as dockerd
//! does without its userland proxy). The host ports themselves are held for the container's
//! run by its monitor ([`crate::monitor::Reservation`]), as the proxy would hold them.
//!
//! - [`kernel`]: the bridge, the namespace file, the veth pair, sysctls (the `ip` binary);
//! - [`nat`]: the `iptables` rules, as argument lists replayed with `-D` to remove them;
//! - [`ipam`]: addresses and host ports, leased under a lock in a host-wide file (every data
//!   directory shares the one bridge); a lease whose namespace file is gone is free again.
//!
//! It deliberately knows nothing of containers' records: the engine decides the mode, keeps
//! what was set up, and undoes it at the end of a run. User-defined networks, IPv6 and a
//! proxy copying connections in user space are not here.

pub mod ipam;
pub mod kernel;
pub mod nat;

use std::net::Ipv4Addr;

/// The bridge every container of the `bridge` network is attached to.
pub const BRIDGE: &str = "strata0";

/// A subnet: its network address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Subnet {
    /// The network address (`172.17.0.0`).
    pub addr: Ipv4Addr,
    /// The prefix length (`16`).
    pub prefix: u8,
}

impl Subnet {
    /// The netmask as a number.
    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.addr) & self.mask()
    }

    /// Whether the two subnets share an address.
    pub fn overlaps(&self, other: &Subnet) -> bool {
        let m = self.mask() & other.mask();
        u32::from(self.addr) & m == u32::from(other.addr) & m
    }

    /// The gateway: the first host address (`172.17.0.1`).
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from((u32::from(self.addr) & self.mask()) + 1)
    }

    /// The last usable host address (below the broadcast address).
    pub fn last_host(&self) -> Ipv4Addr {
        Ipv4Addr::from((u32::from(self.addr) | !self.mask()) - 1)
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl std::str::FromStr for Subnet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| format!("invalid subnet {s}"))?;
        let addr: Ipv4Addr = a.parse().map_err(|_| format!("invalid subnet {s}"))?;
        let prefix: u8 = p.parse().map_err(|_| format!("invalid subnet {s}"))?;
        if prefix > 30 {
            return Err(format!("invalid subnet {s}"));
        }
        let sub = Subnet { addr, prefix };
        Ok(Subnet {
            addr: Ipv4Addr::from(u32::from(addr) & sub.mask()),
            prefix,
        })
    }
}

/// Docker's choice of a default bridge subnet: the first `172.N.0.0/16`, N from 17 to 31,
/// that overlaps none of `taken` (the host's routes).
pub fn pick_subnet(taken: &[Subnet]) -> Option<Subnet> {
    (17u8..=31)
        .map(|n| Subnet {
            addr: Ipv4Addr::new(172, n, 0, 0),
            prefix: 16,
        })
        .find(|s| !taken.iter().any(|t| t.prefix > 0 && t.overlaps(s)))
}

/// Docker's MAC address for a container address: `02:42` then the address's four bytes.
pub fn mac_for(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

/// A published port as the kernel rules need it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortMap {
    /// `tcp` or `udp`.
    pub proto: String,
    /// The host address it listens on (`0.0.0.0`: every address).
    pub host_ip: Ipv4Addr,
    /// The host port.
    pub host_port: u16,
    /// The container's port.
    pub container_port: u16,
}

/// Everything one container's attachment to the bridge consists of.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoint {
    /// The namespace file the runtime joins.
    pub netns: std::path::PathBuf,
    /// The host end of the veth pair.
    pub host_veth: String,
    /// The container's address.
    pub ip: Ipv4Addr,
    /// The bridge's subnet.
    pub subnet: Subnet,
    /// The gateway (the bridge's address).
    pub gateway: Ipv4Addr,
    /// The container's MAC address.
    pub mac: String,
    /// The published ports.
    pub ports: Vec<PortMap>,
    /// The `iptables` rules added for them (argument lists without the `-A`/`-D`).
    pub rules: Vec<Vec<String>>,
}

/// Sets up `bridge` once per boot (its device, address, sysctls and `iptables` rules) and
/// returns its subnet. The host's run directory `run_dir` records it in `<bridge>.subnet`,
/// written after everything is in place, so a later call costs a file read and a `stat`.
/// The subnet is the bridge's own address when the device exists, else `preferred` when no
/// host route overlaps it, else Docker's first free one ([`pick_subnet`]).
pub fn ensure(
    run_dir: &std::path::Path,
    bridge: &str,
    preferred: Option<Subnet>,
) -> crate::Result<Subnet> {
    let marker = run_dir.join(format!("{bridge}.subnet"));
    let read = || -> Option<Subnet> { std::fs::read_to_string(&marker).ok()?.trim().parse().ok() };
    if let Some(s) = read().filter(|_| kernel::link_exists(bridge)) {
        return Ok(s);
    }
    std::fs::create_dir_all(run_dir)
        .map_err(|e| crate::RuntimeError::io(format!("create {}", run_dir.display()), e))?;
    let lock_path = run_dir.join(format!("{bridge}.setup.lock"));
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| crate::RuntimeError::io(format!("open {}", lock_path.display()), e))?;
    lock.lock()
        .map_err(|e| crate::RuntimeError::io(format!("lock {}", lock_path.display()), e))?;
    if let Some(s) = read().filter(|_| kernel::link_exists(bridge)) {
        return Ok(s);
    }
    let subnet = match kernel::link_exists(bridge)
        .then(|| kernel::link_address(bridge))
        .flatten()
    {
        Some((_, s)) => s,
        None => {
            let routes = kernel::host_routes();
            let free = |s: &Subnet| !routes.iter().any(|r| r.prefix > 0 && r.overlaps(s));
            match preferred.filter(free) {
                Some(s) => s,
                None => pick_subnet(&routes).ok_or_else(|| {
                    crate::RuntimeError::Unavailable(
                        "the bridge network needs a free private subnet: every 172.17-31.0.0/16 overlaps a host route"
                            .into(),
                    )
                })?,
            }
        }
    };
    kernel::ensure_bridge(bridge, subnet)?;
    nat::ensure_base(bridge, subnet)?;
    std::fs::write(&marker, subnet.to_string())
        .map_err(|e| crate::RuntimeError::io(format!("write {}", marker.display()), e))?;
    Ok(subnet)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Subnet {
        t.parse().unwrap()
    }

    #[test]
    fn subnets_as_docker_picks_them() {
        assert_eq!(pick_subnet(&[]), Some(s("172.17.0.0/16")));
        assert_eq!(
            pick_subnet(&[s("0.0.0.0/0"), s("172.17.0.0/16"), s("172.18.5.0/24")]),
            Some(s("172.19.0.0/16"))
        );
        assert_eq!(pick_subnet(&[s("172.16.0.0/12")]), None);
        assert_eq!(s("172.17.3.4/16").to_string(), "172.17.0.0/16");
        assert_eq!(s("172.17.0.0/16").gateway(), Ipv4Addr::new(172, 17, 0, 1));
        assert_eq!(
            s("172.17.0.0/16").last_host(),
            Ipv4Addr::new(172, 17, 255, 254)
        );
        assert!(s("172.17.0.0/16").contains(Ipv4Addr::new(172, 17, 9, 9)));
        assert!(!s("172.17.0.0/16").contains(Ipv4Addr::new(172, 18, 0, 1)));
        assert!("172.17.0.0/31".parse::<Subnet>().is_err());
        assert_eq!(mac_for(Ipv4Addr::new(172, 17, 0, 2)), "02:42:ac:11:00:02");
    }
}
