//! moby's network shapes: a container's `NetworkSettings`, `HostConfig.PortBindings`, the
//! summary's `Ports`, and the default networks (`bridge`, `host`, `none`) as
//! `GET /networks` lists them.

use oci_model::Digest;
use serde_json::{json, Map, Value};

/// A published port of a running container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFacts {
    /// The container's port.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub proto: String,
    /// The host address (`0.0.0.0`: every address).
    pub host_ip: String,
    /// The host port.
    pub host_port: u16,
}

/// A running container's attachment to the bridge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointFacts {
    /// Its address.
    pub ip: String,
    /// The subnet's prefix length.
    pub prefix: u8,
    /// The gateway.
    pub gateway: String,
    /// Its MAC address.
    pub mac: String,
    /// The network namespace file.
    pub sandbox_key: String,
    /// The published ports.
    pub ports: Vec<PortFacts>,
}

/// A `-p` as asked: the port key (`80/tcp`), host address and host port (empty: any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingFacts {
    /// `80/tcp`.
    pub key: String,
    /// Host address, empty for all.
    pub host_ip: String,
    /// Host port, empty for any.
    pub host_port: String,
}

/// A default network's ID: stable, 64 hex characters.
pub fn network_id(name: &str) -> String {
    Digest::of(format!("strata network {name}").as_bytes())
        .hex()
        .to_string()
}

/// `HostConfig.PortBindings`: `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`.
pub(crate) fn port_bindings(b: &[BindingFacts]) -> Value {
    let mut m = Map::new();
    for x in b {
        let slot = m.entry(x.key.clone()).or_insert_with(|| json!([]));
        if let Some(a) = slot.as_array_mut() {
            a.push(json!({"HostIp": x.host_ip, "HostPort": x.host_port}));
        }
    }
    Value::Object(m)
}

/// `NetworkSettings` of a container in network mode `mode` (`bridge`, `host`, `none`):
/// `exposed` are its exposed port keys, `ep` its attachment while it runs on the bridge.
pub(crate) fn network_settings(
    id: &str,
    mode: &str,
    exposed: &[String],
    ep: Option<&EndpointFacts>,
) -> Value {
    let mut ports = Map::new();
    if let Some(ep) = ep {
        for k in exposed {
            ports.insert(k.clone(), Value::Null);
        }
        for p in &ep.ports {
            let key = format!("{}/{}", p.container_port, p.proto);
            let slot = ports.entry(key).or_insert(Value::Null);
            if slot.is_null() {
                *slot = json!([]);
            }
            if let Some(a) = slot.as_array_mut() {
                a.push(json!({"HostIp": p.host_ip, "HostPort": p.host_port.to_string()}));
            }
        }
    }
    let d = EndpointFacts::default();
    let e = ep.unwrap_or(&d);
    let endpoint_id = if ep.is_some() {
        Digest::of(format!("{id} {mode}").as_bytes())
            .hex()
            .to_string()
    } else {
        String::new()
    };
    json!({
        "Bridge": "",
        "SandboxID": if ep.is_some() { id } else { "" },
        "SandboxKey": e.sandbox_key,
        "Ports": ports,
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null,
        "EndpointID": endpoint_id,
        "Gateway": e.gateway,
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": e.ip,
        "IPPrefixLen": e.prefix,
        "IPv6Gateway": "",
        "MacAddress": e.mac,
        "Networks": { mode: endpoint(mode, &endpoint_id, e) },
    })
}

fn endpoint(mode: &str, endpoint_id: &str, e: &EndpointFacts) -> Value {
    json!({
        "IPAMConfig": null,
        "Links": null,
        "Aliases": null,
        "MacAddress": e.mac,
        "DriverOpts": null,
        "GwPriority": 0,
        "NetworkID": network_id(mode),
        "EndpointID": endpoint_id,
        "Gateway": e.gateway,
        "IPAddress": e.ip,
        "IPPrefixLen": e.prefix,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": null,
    })
}

/// The summary's `Ports` (`docker ps`): each published port, and each exposed port without one,
/// while the container runs on the bridge.
pub(crate) fn summary_ports(exposed: &[String], ep: Option<&EndpointFacts>) -> Value {
    let Some(ep) = ep else {
        return json!([]);
    };
    let mut v = Vec::new();
    for p in &ep.ports {
        v.push(json!({"IP": p.host_ip, "PrivatePort": p.container_port, "PublicPort": p.host_port, "Type": p.proto}));
    }
    for k in exposed {
        let (port, proto) = k.split_once('/').unwrap_or((k, "tcp"));
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        if !ep
            .ports
            .iter()
            .any(|p| p.container_port == port && p.proto == proto)
        {
            v.push(json!({"PrivatePort": port, "Type": proto}));
        }
    }
    Value::Array(v)
}

/// The summary's `NetworkSettings.Networks`.
pub(crate) fn summary_networks(id: &str, mode: &str, ep: Option<&EndpointFacts>) -> Value {
    network_settings(id, mode, &[], ep)["Networks"].clone()
}

/// moby's `network.Inspect` of a default network (`bridge`, `host`, `none`); the bridge's
/// subnet and gateway when it has been set up, and the containers attached to it
/// (ID → name, address/prefix, MAC).
pub fn network_inspect(
    name: &str,
    subnet: Option<(&str, &str)>,
    containers: &[(String, String, String, String)],
) -> Value {
    let driver = match name {
        "bridge" => "bridge",
        "host" => "host",
        _ => "null",
    };
    let config: Vec<Value> = subnet
        .map(|(s, g)| json!({"Subnet": s, "Gateway": g}))
        .into_iter()
        .collect();
    let mut attached = Map::new();
    for (id, cname, ip, mac) in containers {
        attached.insert(
            id.clone(),
            json!({"Name": cname, "EndpointID": Digest::of(format!("{id} {name}").as_bytes()).hex().to_string(),
                   "MacAddress": mac, "IPv4Address": ip, "IPv6Address": ""}),
        );
    }
    let options = if name == "bridge" {
        json!({
            "com.docker.network.bridge.default_bridge": "true",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
            "com.docker.network.bridge.name": "strata0",
            "com.docker.network.driver.mtu": "1500"
        })
    } else {
        json!({})
    };
    json!({
        "Name": name,
        "Id": network_id(name),
        "Created": "0001-01-01T00:00:00Z",
        "Scope": "local",
        "Driver": driver,
        "EnableIPv4": true,
        "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": null, "Config": config},
        "Internal": false,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": attached,
        "Options": options,
        "Labels": {},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_ports_and_networks_as_moby_shapes_them() {
        let ep = EndpointFacts {
            ip: "172.17.0.2".into(),
            prefix: 16,
            gateway: "172.17.0.1".into(),
            mac: "02:42:ac:11:00:02".into(),
            sandbox_key: "/d/containers/x/netns".into(),
            ports: vec![PortFacts {
                container_port: 80,
                proto: "tcp".into(),
                host_ip: "0.0.0.0".into(),
                host_port: 8080,
            }],
        };
        let exposed = vec!["80/tcp".to_string(), "443/tcp".to_string()];
        let v = network_settings("abc", "bridge", &exposed, Some(&ep));
        assert_eq!(v["IPAddress"], "172.17.0.2");
        assert_eq!(v["Gateway"], "172.17.0.1");
        assert_eq!(v["IPPrefixLen"], 16);
        assert_eq!(
            v["Ports"],
            json!({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": null})
        );
        assert_eq!(v["Networks"]["bridge"]["IPAddress"], "172.17.0.2");
        assert_eq!(
            v["Networks"]["bridge"]["NetworkID"],
            json!(network_id("bridge"))
        );
        let stopped = network_settings("abc", "bridge", &exposed, None);
        assert_eq!(stopped["Ports"], json!({}));
        assert_eq!(stopped["Networks"]["bridge"]["IPAddress"], "");
        assert_eq!(
            summary_ports(&exposed, Some(&ep)),
            json!([{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                   {"PrivatePort": 443, "Type": "tcp"}])
        );
        assert_eq!(
            port_bindings(&[BindingFacts {
                key: "80/tcp".into(),
                host_ip: String::new(),
                host_port: "8080".into()
            }]),
            json!({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]})
        );
        let n = network_inspect("bridge", Some(("172.17.0.0/16", "172.17.0.1")), &[]);
        assert_eq!(n["IPAM"]["Config"][0]["Subnet"], "172.17.0.0/16");
        assert_eq!(n["Driver"], "bridge");
        assert_eq!(network_inspect("none", None, &[])["Driver"], "null");
    }
}
