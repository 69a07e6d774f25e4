//! `network`: a container's network mode (`bridge`, Docker's default; `host`; `none`), its
//! published ports (`-p`, `-P`), and the bridge attachment of a run.
//!
//! A run on the bridge gets, before the runtime's `create`, a network namespace bind-mounted
//! on `containers/<id>/netns` (the spec joins it by path), an address and host ports leased
//! for that file, a veth pair and the `DNAT` rules of its ports
//! ([`runtime::network`]); what was set up is recorded in `containers/<id>/network.json`, and
//! the end of the run (whoever finishes it: the monitor's clean-up, a reconciliation after a
//! crash, `rm -f`) removes the rules, the veth, the namespace and the leases from that record.
//! The subnet chosen is kept in `network/bridge.json` of the data directory.

use crate::{ContainerInfo, Engine, EngineError, Result};
use runtime::network::{self as net, ipam, kernel, nat, Endpoint, PortMap, Subnet};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The network modes a container may ask for (`default` is `bridge`).
pub const NETWORK_MODES: [&str; 3] = ["bridge", "host", "none"];

/// One `-p`, as Docker keeps it in `HostConfig.PortBindings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBinding {
    /// The container's port.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub proto: String,
    /// The host address (empty: every address).
    pub host_ip: String,
    /// The host port (empty: any free one).
    pub host_port: String,
}

impl PortBinding {
    /// Docker's key for the port, `80/tcp`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.container_port, self.proto)
    }
}

/// A published port of a running container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPort {
    /// The container's port.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub proto: String,
    /// The host address (`0.0.0.0`: every address).
    pub host_ip: String,
    /// The host port.
    pub host_port: u16,
}

/// What a running container's network is, for `inspect`, `ps` and `port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInfo {
    /// The container's address.
    pub ip: String,
    /// The subnet's prefix length.
    pub prefix: u8,
    /// The gateway.
    pub gateway: String,
    /// The MAC address.
    pub mac: String,
    /// The namespace file (`SandboxKey`).
    pub sandbox_key: String,
    /// The published ports.
    pub ports: Vec<PublishedPort>,
}

/// A port key as Docker writes it: `80`, `80/tcp`, `53/udp` → (80, `tcp`).
pub fn parse_port_key(s: &str) -> Result<(u16, String)> {
    let (port, proto) = s.split_once('/').unwrap_or((s, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if proto == "sctp" {
        return Err(EngineError::invalid(format!(
            "sctp ports are not supported yet: {s}"
        )));
    }
    if proto != "tcp" && proto != "udp" {
        return Err(EngineError::invalid(format!("invalid proto: {proto}")));
    }
    if port.contains('-') {
        return Err(EngineError::invalid(format!(
            "port ranges are not supported yet: {s}"
        )));
    }
    let p: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| EngineError::invalid(format!("invalid containerPort: {port}")))?;
    Ok((p, proto))
}

/// Docker's `-p` syntax: `CTR[/PROTO]`, `HOST:CTR[/PROTO]`, `IP:HOST:CTR[/PROTO]`,
/// `IP::CTR[/PROTO]`.
pub fn parse_publish(spec: &str) -> Result<PortBinding> {
    let (rest, ctr) = match spec.rsplit_once(':') {
        Some((r, c)) => (Some(r), c),
        None => (None, spec),
    };
    let (container_port, proto) = parse_port_key(ctr)?;
    let (host_ip, host_port) = match rest {
        None => (String::new(), String::new()),
        Some(r) => match r.rsplit_once(':') {
            Some((ip, port)) => (ip.trim_matches(['[', ']']).to_string(), port.to_string()),
            None => (String::new(), r.to_string()),
        },
    };
    let b = PortBinding {
        container_port,
        proto,
        host_ip,
        host_port,
    };
    check_binding(&b)?;
    Ok(b)
}

/// Refuses a binding the bridge cannot publish: a host address that is not IPv4, a host port
/// that is not a number.
pub fn check_binding(b: &PortBinding) -> Result<()> {
    if !b.host_ip.is_empty() {
        match b.host_ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(_)) => {}
            Ok(std::net::IpAddr::V6(_)) => {
                return Err(EngineError::invalid(format!(
                    "publishing on the IPv6 address {} is not supported yet",
                    b.host_ip
                )))
            }
            Err(_) => {
                return Err(EngineError::invalid(format!(
                    "invalid IP address: {}",
                    b.host_ip
                )))
            }
        }
    }
    if !b.host_port.is_empty() {
        if b.host_port.contains('-') {
            return Err(EngineError::invalid(format!(
                "port ranges are not supported yet: {}",
                b.host_port
            )));
        }
        b.host_port
            .parse::<u16>()
            .map_err(|_| EngineError::invalid(format!("invalid hostPort: {}", b.host_port)))?;
    }
    Ok(())
}

/// The network mode a create asks for, as Docker names it; Docker's text for an unknown one.
pub fn network_mode(asked: Option<&str>) -> Result<&'static str> {
    match asked.unwrap_or("") {
        "" | "default" | "bridge" => Ok("bridge"),
        "host" => Ok("host"),
        "none" => Ok("none"),
        other => Err(EngineError::NotFound(format!("network {other} not found"))),
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct BridgeChoice {
    subnet: Option<Subnet>,
}

const ENDPOINT_FILE: &str = "network.json";
const NETNS_FILE: &str = "netns";

fn run_dir() -> PathBuf {
    PathBuf::from(ipam::RUN_DIR)
}

/// Replaces `path` whole (a reader sees the old file or the new one), without an fsync: a
/// run's endpoint describes kernel state (a namespace, a veth pair, NAT rules) that a reboot
/// takes away with it, so it need only outlive the processes, not a power loss.
fn write_replacing(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let tmp = crate::temp_beside(path);
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            EngineError::io(format!("write {}", path.display()), e)
        })
}

impl Engine {
    fn network_dir(&self) -> PathBuf {
        self.root.join("network")
    }

    /// The bridge, set up if needed (the host's bridge keeps its subnet; otherwise the data
    /// directory's earlier choice when it is still free, else Docker's first free one); its
    /// subnet, remembered in `network/bridge.json`.
    fn bridge_subnet(&self) -> Result<Subnet> {
        let file = self.network_dir().join("bridge.json");
        let kept: BridgeChoice = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let subnet = net::ensure(&run_dir(), net::BRIDGE, kept.subnet)?;
        if kept.subnet != Some(subnet) {
            std::fs::create_dir_all(self.network_dir())
                .map_err(|e| EngineError::io("create the network directory", e))?;
            let json = crate::pretty_json(&BridgeChoice {
                subnet: Some(subnet),
            })?;
            crate::write_atomic(&file, &json)?;
        }
        Ok(subnet)
    }

    /// Connects a run of `c` to the bridge: returns the namespace file the runtime joins and
    /// the host ports published (for the monitor to hold). `ports` are the bindings to
    /// publish; `hosts` (the container's `/etc/hosts`) gets the address and `hostname`.
    /// Nothing is left behind on a failure.
    pub(crate) fn setup_bridge(
        &self,
        c: &ContainerInfo,
        ports: &[PortBinding],
        hosts: &Path,
        hostname: &str,
    ) -> Result<(PathBuf, Vec<PortMap>)> {
        self.teardown_network(&c.id);
        let subnet = self.bridge_subnet()?;
        let dir = self.container_dir_of(c);
        let netns = dir.join(NETNS_FILE);
        kernel::create_netns(&netns)?;
        let ipam = ipam::Ipam::new(&run_dir(), net::BRIDGE);
        let mut requests = Vec::new();
        for b in ports {
            check_binding(b)?;
            requests.push(ipam::PortRequest {
                proto: b.proto.clone(),
                host_ip: b.host_ip.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
                host_port: b.host_port.parse().unwrap_or(0),
                container_port: b.container_port,
            });
        }
        let (ip, maps) = match ipam.allocate(subnet, &netns, &requests) {
            Ok(x) => x,
            Err(e) => {
                kernel::remove_netns(&netns);
                return Err(EngineError::Runtime(runtime::RuntimeError::Conflict(
                    format!(
                        "driver failed programming external connectivity on endpoint {} ({}): {e}",
                        c.name, c.id
                    ),
                )));
            }
        };
        let ep = Endpoint {
            netns: netns.clone(),
            host_veth: host_veth(&c.id),
            ip,
            subnet,
            gateway: subnet.gateway(),
            mac: net::mac_for(ip),
            rules: nat::port_rules(ip, &maps),
            ports: maps,
        };
        let done = (|| -> Result<()> {
            let json = crate::pretty_json(&ep)?;
            write_replacing(&dir.join(ENDPOINT_FILE), &json)?;
            kernel::attach(&netns, net::BRIDGE, &ep.host_veth, ip, subnet, &ep.mac)?;
            if nat::add(&ep.rules).is_err() {
                // The bridge's own rules are added once per boot; a firewall reload since may
                // have flushed them (the chain is gone): put them back and try once more.
                nat::ensure_base(net::BRIDGE, subnet)?;
                nat::add(&ep.rules)?;
            }
            let mut text = std::fs::read_to_string(hosts).unwrap_or_default();
            text.push_str(&format!("{ip}\t{hostname}\n"));
            std::fs::write(hosts, text).map_err(|e| EngineError::io("write hosts", e))?;
            Ok(())
        })();
        if let Err(e) = done {
            self.teardown_network(&c.id);
            return Err(e);
        }
        Ok((netns, ep.ports))
    }

    /// The ports a run publishes: its `-p` bindings, and with `-P` every other exposed port
    /// (the image's `EXPOSE`, `--expose`) on a free host port.
    pub(crate) fn ports_to_publish(
        &self,
        c: &ContainerInfo,
        rc: &crate::RunConfig,
    ) -> Result<Vec<PortBinding>> {
        let mut out = rc.port_bindings.clone();
        if rc.publish_all {
            for key in c.config.exposed_ports.iter().flat_map(|m| m.keys()) {
                let (container_port, proto) = parse_port_key(key)?;
                if !out
                    .iter()
                    .any(|b| b.container_port == container_port && b.proto == proto)
                {
                    out.push(PortBinding {
                        container_port,
                        proto,
                        host_ip: String::new(),
                        host_port: String::new(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Undoes a run's bridge attachment (rules, veth, namespace, leases); nothing when there
    /// is none. Never fails: what is already gone is skipped.
    pub(crate) fn teardown_network(&self, id: &str) {
        let dir = self.root.join("containers").join(id);
        let file = dir.join(ENDPOINT_FILE);
        let netns = dir.join(NETNS_FILE);
        let ep: Option<Endpoint> = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if ep.is_none() && !netns.exists() {
            return;
        }
        if let Some(ep) = &ep {
            nat::remove(&ep.rules);
        }
        // The veth pair goes with the namespace: once its file is unmounted and the run's
        // processes are gone, the kernel destroys both (off this path: deleting a veth waits
        // for RCU grace periods). A namespace file that is no longer a mount cannot take the
        // pair with it, so then the host end is deleted here.
        if !kernel::is_netns(&netns) {
            let veth = ep
                .as_ref()
                .map_or_else(|| host_veth(id), |e| e.host_veth.clone());
            kernel::delete_link(&veth);
        }
        kernel::remove_netns(&netns);
        let _ = ipam::Ipam::new(&run_dir(), net::BRIDGE).release(&netns);
        let _ = std::fs::remove_file(&file);
    }

    /// Whether a run left a network attachment to undo.
    pub(crate) fn has_network(&self, id: &str) -> bool {
        let dir = self.root.join("containers").join(id);
        dir.join(ENDPOINT_FILE).exists() || dir.join(NETNS_FILE).exists()
    }

    /// The bridge attachment of a running container (`None` otherwise).
    pub fn container_network(&self, c: &ContainerInfo) -> Option<NetworkInfo> {
        let b = std::fs::read(self.container_dir_of(c).join(ENDPOINT_FILE)).ok()?;
        let ep: Endpoint = serde_json::from_slice(&b).ok()?;
        Some(NetworkInfo {
            ip: ep.ip.to_string(),
            prefix: ep.subnet.prefix,
            gateway: ep.gateway.to_string(),
            mac: ep.mac,
            sandbox_key: ep.netns.display().to_string(),
            ports: ep
                .ports
                .iter()
                .map(|p: &PortMap| PublishedPort {
                    container_port: p.container_port,
                    proto: p.proto.clone(),
                    host_ip: p.host_ip.to_string(),
                    host_port: p.host_port,
                })
                .collect(),
        })
    }

    /// The ports of a container's summary (`docker ps`'s PORTS, and what its `publish` and
    /// `expose` filters look at): while it runs on the bridge, each published port, then each
    /// exposed port without one; nothing otherwise.
    pub fn container_ports(&self, c: &ContainerInfo) -> Vec<docker_format::PortEntry> {
        let Some(n) = self.container_network(c) else {
            return Vec::new();
        };
        let mut v: Vec<docker_format::PortEntry> = n
            .ports
            .iter()
            .map(|p| docker_format::PortEntry {
                ip: Some(p.host_ip.clone()),
                public: Some(p.host_port),
                private: p.container_port,
                proto: p.proto.clone(),
            })
            .collect();
        for key in c.config.exposed_ports.iter().flat_map(|m| m.keys()) {
            if let Ok((port, proto)) = parse_port_key(key) {
                if !n
                    .ports
                    .iter()
                    .any(|p| p.container_port == port && p.proto == proto)
                {
                    v.push(docker_format::PortEntry {
                        ip: None,
                        public: None,
                        private: port,
                        proto,
                    });
                }
            }
        }
        v
    }

    /// The bridge's subnet and gateway when it has been set up (`network ls`/`inspect`).
    pub fn bridge_info(&self) -> Option<(String, String)> {
        let b = std::fs::read(self.network_dir().join("bridge.json")).ok()?;
        let c: BridgeChoice = serde_json::from_slice(&b).ok()?;
        let s = c.subnet?;
        Some((s.to_string(), s.gateway().to_string()))
    }

    /// The address `--add-host name:host-gateway` stands for: the bridge's gateway, the host
    /// as containers reach it (the bridge set up if needed, as Docker's always is).
    pub(crate) fn host_gateway(&self) -> Result<String> {
        Ok(self.bridge_subnet()?.gateway().to_string())
    }
}

/// The host end of a container's veth pair: `veth` and 11 characters of its ID (15 in all,
/// the kernel's limit), so a run's clean-up finds it without its record.
fn host_veth(id: &str) -> String {
    format!("veth{}", &id[..11.min(id.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(ip: &str, hp: &str, cp: u16, proto: &str) -> PortBinding {
        PortBinding {
            container_port: cp,
            proto: proto.into(),
            host_ip: ip.into(),
            host_port: hp.into(),
        }
    }

    #[test]
    fn publish_flags_as_docker_reads_them() {
        assert_eq!(parse_publish("80").unwrap(), b("", "", 80, "tcp"));
        assert_eq!(parse_publish("8080:80").unwrap(), b("", "8080", 80, "tcp"));
        assert_eq!(
            parse_publish("127.0.0.1:8080:80/udp").unwrap(),
            b("127.0.0.1", "8080", 80, "udp")
        );
        assert_eq!(
            parse_publish("127.0.0.1::80").unwrap(),
            b("127.0.0.1", "", 80, "tcp")
        );
        assert_eq!(parse_publish("8080:80").unwrap().key(), "80/tcp");
        for (bad, text) in [
            ("x", "invalid containerPort: x"),
            ("80/xtp", "invalid proto: xtp"),
            ("80/sctp", "sctp ports are not supported yet: 80/sctp"),
            ("70000", "invalid containerPort: 70000"),
            ("a:80", "invalid hostPort: a"),
            ("1.2.3:80:80", "invalid IP address: 1.2.3"),
            (
                "8080-8081:80-81",
                "port ranges are not supported yet: 80-81",
            ),
            (
                "[::1]:80:80",
                "publishing on the IPv6 address ::1 is not supported yet",
            ),
        ] {
            assert_eq!(parse_publish(bad).unwrap_err().to_string(), text, "{bad}");
        }
        assert_eq!(network_mode(None).unwrap(), "bridge");
        assert_eq!(network_mode(Some("default")).unwrap(), "bridge");
        assert_eq!(
            network_mode(Some("nope")).unwrap_err().to_string(),
            "network nope not found"
        );
    }
}
