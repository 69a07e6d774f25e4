//! `nat`: the `iptables` rules of the bridge network.
//!
//! The bridge's own rules, added once per boot: a `STRATA` chain in the `nat` table reached
//! from `PREROUTING` and `OUTPUT` for local destinations (published ports), `MASQUERADE` of
//! the subnet's traffic leaving by another interface, of local sources entering the bridge
//! (a published port reached on `127.0.0.1`) and of the subnet's `DNAT`ed traffic going back
//! into it (a container reaching a published port by a host address), and `FORWARD` acceptance of the bridge's
//! outgoing traffic, replies and `DNAT`ed connections. Per container, one `DNAT` rule per
//! published port, in `STRATA`. A rule is an argument list `[table, chain, match…]`, added
//! with `-A` (or `-I` for `FORWARD`) and removed by replaying it with `-D`.

use super::{PortMap, Subnet};
use crate::{Result, RuntimeError};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

/// The chain published ports are in.
pub const CHAIN: &str = "STRATA";

fn iptables(args: &[String]) -> Result<(bool, String)> {
    let out = Command::new("iptables")
        .arg("-w")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            RuntimeError::Unavailable(format!(
                "the bridge network needs iptables for its NAT rules, which cannot be run here: {e}"
            ))
        })?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    ))
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The bridge's own rules, in the order they are checked and added.
pub fn base_rules(bridge: &str, subnet: Subnet) -> Vec<Vec<String>> {
    let sub = subnet.to_string();
    vec![
        strings(&[
            "nat",
            "PREROUTING",
            "-m",
            "addrtype",
            "--dst-type",
            "LOCAL",
            "-j",
            CHAIN,
        ]),
        strings(&[
            "nat",
            "OUTPUT",
            "-m",
            "addrtype",
            "--dst-type",
            "LOCAL",
            "-j",
            CHAIN,
        ]),
        strings(&[
            "nat",
            "POSTROUTING",
            "-s",
            &sub,
            "!",
            "-o",
            bridge,
            "-j",
            "MASQUERADE",
        ]),
        strings(&[
            "nat",
            "POSTROUTING",
            "-m",
            "addrtype",
            "--src-type",
            "LOCAL",
            "-o",
            bridge,
            "-j",
            "MASQUERADE",
        ]),
        // A container reaching a published port by a host address, its own or another's:
        // the reply must come back through the host to be un-NATed.
        strings(&[
            "nat",
            "POSTROUTING",
            "-s",
            &sub,
            "-o",
            bridge,
            "-m",
            "conntrack",
            "--ctstate",
            "DNAT",
            "-j",
            "MASQUERADE",
        ]),
        strings(&["filter", "FORWARD", "-i", bridge, "-j", "ACCEPT"]),
        strings(&[
            "filter",
            "FORWARD",
            "-o",
            bridge,
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED,DNAT",
            "-j",
            "ACCEPT",
        ]),
    ]
}

fn run_rule(op: &str, rule: &[String]) -> Result<(bool, String)> {
    let mut args = vec!["-t".to_string(), rule[0].clone(), op.to_string()];
    args.extend(rule[1..].iter().cloned());
    iptables(&args)
}

/// Adds the bridge's rules that are missing (`-C` first), creating the `STRATA` chain.
pub fn ensure_base(bridge: &str, subnet: Subnet) -> Result<()> {
    let (ok, err) = iptables(&strings(&["-t", "nat", "-N", CHAIN]))?;
    if !ok && !err.contains("exists") {
        return Err(RuntimeError::Unavailable(format!(
            "the bridge network needs iptables' nat table: iptables -t nat -N {CHAIN}: {err}"
        )));
    }
    for rule in base_rules(bridge, subnet) {
        if run_rule("-C", &rule)?.0 {
            continue;
        }
        // FORWARD's acceptance goes first, before rules that would drop the bridge's traffic.
        let op = if rule[1] == "FORWARD" { "-I" } else { "-A" };
        let (ok, err) = run_rule(op, &rule)?;
        if !ok {
            return Err(RuntimeError::Unavailable(format!(
                "the bridge network needs iptables: iptables -t {} {op} {}: {err}",
                rule[0],
                rule[1..].join(" ")
            )));
        }
    }
    Ok(())
}

/// The `DNAT` rules publishing `ports` of the container at `ip`.
pub fn port_rules(ip: Ipv4Addr, ports: &[PortMap]) -> Vec<Vec<String>> {
    ports
        .iter()
        .map(|p| {
            let mut r = strings(&["nat", CHAIN]);
            if !p.host_ip.is_unspecified() {
                r.extend(["-d".to_string(), p.host_ip.to_string()]);
            }
            r.extend([
                "-p".to_string(),
                p.proto.clone(),
                "-m".to_string(),
                p.proto.clone(),
                "--dport".to_string(),
                p.host_port.to_string(),
                "-j".to_string(),
                "DNAT".to_string(),
                "--to-destination".to_string(),
                format!("{ip}:{}", p.container_port),
            ]);
            r
        })
        .collect()
}

/// Adds `rules`; on a failure removes those added and says which failed.
pub fn add(rules: &[Vec<String>]) -> Result<()> {
    for (i, rule) in rules.iter().enumerate() {
        let (ok, err) = run_rule("-A", rule)?;
        if !ok {
            remove(&rules[..i]);
            return Err(RuntimeError::Unavailable(format!(
                "iptables -t {} -A {}: {err}",
                rule[0],
                rule[1..].join(" ")
            )));
        }
    }
    Ok(())
}

/// Removes `rules` (each once; those already gone are skipped).
pub fn remove(rules: &[Vec<String>]) {
    for rule in rules {
        let _ = run_rule("-D", rule);
    }
}

/// Whether `rule` is present.
pub fn exists(rule: &[String]) -> bool {
    run_rule("-C", rule).map(|r| r.0).unwrap_or(false)
}
