//! `volume ls|create|rm|inspect|prune`: the store's local volumes, as the docker CLI shows them.

use crate::Exit;
use clap::{Args, Subcommand};
use engine::Engine;
use std::io::Write;

#[derive(Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// Display detailed information on one or more volumes
    Inspect(NamesArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove all unused local volumes
    Prune(PruneArgs),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// Specify volume driver name
    #[arg(short = 'd', long = "driver", default_value = "local")]
    driver: String,
    /// [VOLUME]
    name: Option<String>,
}

#[derive(Args)]
pub struct NamesArgs {
    /// VOLUME...
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args)]
pub struct LsArgs {
    /// Only display volume names
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
}

#[derive(Args)]
pub struct RmArgs {
    /// Force the removal of one or more volumes
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// VOLUME...
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    force: bool,
}

pub fn volume(engine: &Engine, c: VolumeCommand) -> anyhow::Result<()> {
    match c {
        VolumeCommand::Create(a) => {
            if a.driver != "local" {
                let d = &a.driver;
                anyhow::bail!("Error response from daemon: create: error looking up volume plugin {d}: plugin \"{d}\" not found");
            }
            let v = engine.create_volume(a.name.as_deref())?;
            println!("{}", v.name);
            Ok(())
        }
        VolumeCommand::Inspect(a) => {
            let mut found = Vec::new();
            let mut failed = false;
            for n in &a.names {
                match engine.volume(n) {
                    Ok(v) => found.push(docker_api::volume_json(
                        &v.name,
                        &v.mountpoint.display().to_string(),
                        &v.created,
                    )),
                    Err(e) => {
                        crate::report(&e);
                        failed = true;
                    }
                }
            }
            crate::inspect::print_values(&found, None)?;
            if failed {
                return Err(Exit(1).into());
            }
            Ok(())
        }
        VolumeCommand::Ls(a) => {
            let vols = engine.volumes()?;
            if a.quiet {
                for v in &vols {
                    println!("{}", v.name);
                }
                return Ok(());
            }
            let mut t = docker_format::Table::new();
            t.row(vec!["DRIVER", "VOLUME NAME"]);
            for v in &vols {
                t.row(vec!["local".to_string(), v.name.clone()]);
            }
            print!("{}", t.render());
            Ok(())
        }
        VolumeCommand::Rm(a) => {
            let mut failed = false;
            for n in &a.names {
                match engine.remove_volume(n, a.force) {
                    Ok(()) => println!("{n}"),
                    Err(e) => {
                        crate::report(&e);
                        failed = true;
                    }
                }
            }
            if failed {
                return Err(Exit(1).into());
            }
            Ok(())
        }
        VolumeCommand::Prune(a) => {
            if !a.force {
                let what = if a.all {
                    "all local volumes"
                } else {
                    "anonymous local volumes"
                };
                print!("WARNING! This will remove {what} not used by at least one container.\nAre you sure you want to continue? [y/N] ");
                std::io::stdout().flush()?;
                let mut answer = String::new();
                let _ = std::io::stdin().read_line(&mut answer);
                if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
                    return Ok(());
                }
            }
            let (deleted, bytes) = engine.prune_volumes(a.all)?;
            if !deleted.is_empty() {
                println!("Deleted Volumes:");
                for d in &deleted {
                    println!("{d}");
                }
                println!();
            }
            println!(
                "Total reclaimed space: {}",
                docker_format::human_size(bytes)
            );
            Ok(())
        }
    }
}
