//! Networks: `port` (a container's published ports) and `network ls`/`network inspect` of
//! the default networks, with docker's texts.

use crate::Exit;
use clap::{Args, Subcommand};
use engine::Engine;

#[derive(Args)]
pub struct PortArgs {
    /// CONTAINER
    container: String,
    /// [PRIVATE_PORT[/PROTO]]
    port: Option<String>,
}

/// `port`: `80/tcp -> 0.0.0.0:8080` per published port, or the host addresses of one.
pub fn port(engine: &Engine, a: PortArgs) -> anyhow::Result<()> {
    let c = engine.container(&a.container)?;
    let mut ports = engine
        .container_network(&c)
        .map(|n| n.ports)
        .unwrap_or_default();
    ports.sort_by(|x, y| {
        (x.container_port, &x.proto, &x.host_ip, x.host_port).cmp(&(
            y.container_port,
            &y.proto,
            &y.host_ip,
            y.host_port,
        ))
    });
    match &a.port {
        None => {
            for p in &ports {
                println!(
                    "{}/{} -> {}:{}",
                    p.container_port, p.proto, p.host_ip, p.host_port
                );
            }
        }
        Some(want) => {
            let (port, proto) = engine::parse_port_key(want)?;
            let found: Vec<_> = ports
                .iter()
                .filter(|p| p.container_port == port && p.proto == proto)
                .collect();
            if found.is_empty() {
                eprintln!(
                    "Error: No public port '{port}/{proto}' published for {}",
                    a.container
                );
                return Err(Exit(1).into());
            }
            for p in found {
                println!("{}:{}", p.host_ip, p.host_port);
            }
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum NetworkCommand {
    /// List networks
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
}

#[derive(Args)]
pub struct LsArgs {
    /// Only display network IDs
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long = "format")]
    format: Option<String>,
    /// NETWORK...
    #[arg(required = true)]
    networks: Vec<String>,
}

/// `network ls` and `network inspect`, through the server's builder of the JSON.
pub fn network(engine: &Engine, c: NetworkCommand) -> anyhow::Result<()> {
    match c {
        NetworkCommand::Ls(a) => {
            let mut t = docker_format::Table::new();
            if !a.quiet {
                t.row(
                    ["NETWORK ID", "NAME", "DRIVER", "SCOPE"]
                        .map(String::from)
                        .to_vec(),
                );
            }
            for name in engine::NETWORK_MODES {
                let n = strata_server::network_json(engine, name)?;
                let id = n["Id"].as_str().unwrap_or("")[..12].to_string();
                if a.quiet {
                    println!("{id}");
                    continue;
                }
                t.row(vec![
                    id,
                    name.to_string(),
                    n["Driver"].as_str().unwrap_or("").to_string(),
                    "local".to_string(),
                ]);
            }
            if !a.quiet {
                print!("{}", t.render());
            }
            Ok(())
        }
        NetworkCommand::Inspect(a) => {
            let mut found = Vec::new();
            let mut missing = false;
            for n in &a.networks {
                match strata_server::network_json(engine, n) {
                    Ok(v) => found.push(v),
                    Err(e) => {
                        crate::report(&e);
                        missing = true;
                    }
                }
            }
            crate::inspect::print_values(&found, a.format.as_deref())?;
            if missing {
                return Err(Exit(1).into());
            }
            Ok(())
        }
    }
}
