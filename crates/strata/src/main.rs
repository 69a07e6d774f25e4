//! `strata`: docker-like verbs over the embedded image store.
//!
//! Every verb is a thin adapter: parse flags, call the engine, print what docker prints.
//! Errors print as docker prints daemon errors (`Error response from daemon: …`) and exit 1;
//! usage errors exit 125 like the docker CLI.

mod archive;
mod build;
mod containers;
mod images;
mod inspect;
mod network;
mod registry;
mod run;
mod serve;
mod stats;
mod token;
mod volumes;

use clap::{Parser, Subcommand};
use engine::Engine;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "strata",
    version,
    about = "A Docker-style image store with a browser dashboard"
)]
struct Cli {
    /// Data directory (blobs, metadata); default $XDG_DATA_HOME/strata
    #[arg(long, global = true, env = "STRATA_ROOT", value_name = "DIR")]
    root: Option<PathBuf>,
    /// The OCI runtime containers run with (runc, crun, youki or a path); default: the first
    /// that works here
    #[arg(long, global = true, env = "STRATA_RUNTIME", value_name = "NAME")]
    runtime: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build an image from a Dockerfile
    Build(Box<build::BuildArgs>),
    /// Import the contents from a tarball to create a filesystem image
    Import(archive::ImportArgs),
    /// List images
    #[command(visible_alias = "image-ls")]
    Images(images::ImagesArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(images::TagArgs),
    /// Remove one or more images
    Rmi(images::RmiArgs),
    /// Show the history of an image
    History(inspect::HistoryArgs),
    /// Return low-level information on images
    Inspect(inspect::InspectArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(archive::SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(archive::LoadArgs),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Manage Strata
    #[command(subcommand)]
    System(SystemCommand),
    /// Create a new container
    Create(Box<containers::CreateArgs>),
    /// Create and run a new container from an image
    Run(Box<run::RunArgs>),
    /// Start one or more stopped containers
    Start(run::StartArgs),
    /// Stop one or more running containers
    Stop(run::StopArgs),
    /// Restart one or more containers
    Restart(run::StopArgs),
    /// Kill one or more running containers
    Kill(run::KillArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(run::NamesArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(run::AttachArgs),
    /// Display the running processes of a container
    Top(run::TopArgs),
    /// List port mappings or a specific mapping for the container
    Port(network::PortArgs),
    /// Manage networks
    #[command(subcommand)]
    Network(network::NetworkCommand),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::StatsArgs),
    /// Update configuration of one or more containers
    Update(stats::UpdateArgs),
    /// Rename a container
    Rename(stats::RenameArgs),
    /// Manage volumes
    #[command(subcommand)]
    Volume(volumes::VolumeCommand),
    /// Execute a command in a running container
    Exec(run::ExecArgs),
    /// Fetch the logs of a container
    Logs(run::LogsArgs),
    /// Pause all processes within one or more containers
    Pause(run::NamesArgs),
    /// Unpause all processes within one or more containers
    Unpause(run::NamesArgs),
    /// Display system-wide information (the container runtime)
    Info,
    /// The clean-up a container's monitor runs after its end (started by strata itself)
    #[command(hide = true, name = "container-exited")]
    ContainerExited { id: String },
    /// A health check's new status, from the container's monitor.
    #[command(hide = true, name = "container-health")]
    ContainerHealth { id: String, status: String },
    /// The per-container monitor (started by strata itself)
    #[command(hide = true)]
    Monitor {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// List containers
    Ps(containers::PsArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(containers::CpArgs),
    /// Change a container's root without a process
    #[command(subcommand)]
    Fs(containers::FsCommand),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(containers::DiffArgs),
    /// Create a new image from a container's changes
    Commit(containers::CommitArgs),
    /// Export a container's filesystem as a tar archive
    Export(containers::ExportArgs),
    /// Remove one or more containers
    Rm(containers::RmArgs),
    /// Manage containers
    #[command(subcommand)]
    Container(containers::ContainerCommand),
    /// Mount a container's merged root read-only and print where
    Mount(containers::MountArgs),
    /// Unmount a container's root
    Umount(containers::UmountArgs),
    /// Show the merged tree of an image or container with the layer providing each path
    Tree(containers::TreeArgs),
    /// Download an image from a registry
    Pull(registry::PullArgs),
    /// Upload an image to a registry
    Push(registry::PushArgs),
    /// Authenticate to a registry
    Login(registry::LoginArgs),
    /// Log out from a registry
    Logout(registry::LogoutArgs),
    /// Search registries for images
    Search(registry::SearchArgs),
    /// Manage API tokens for `strata serve --auth`
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Show the audit log of changes made through the server
    Audit(token::AuditArgs),
    /// Verify every blob's digest and every reference
    Fsck,
    /// Start the HTTP server: Docker Engine API subset, dashboard and its API
    Serve(serve::ServeArgs),
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Build an image from a Dockerfile
    Build(Box<build::BuildArgs>),
    /// List images
    #[command(visible_alias = "list")]
    Ls(images::ImagesArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(images::RmiArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(images::TagArgs),
    /// Show the history of an image
    History(inspect::HistoryArgs),
    /// Display detailed information on one or more images
    Inspect(inspect::InspectArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(archive::ImportArgs),
    /// Save one or more images to a tar archive
    Save(archive::SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(archive::LoadArgs),
    /// Remove unused images
    Prune(images::PruneArgs),
    /// Download an image from a registry
    Pull(registry::PullArgs),
    /// Upload an image to a registry
    Push(registry::PushArgs),
    /// Show the paths two images differ in (A: only in the second, D: only in the first, C: changed)
    Diff(images::ImageDiffArgs),
}

#[derive(Subcommand)]
enum SystemCommand {
    /// Show disk usage
    Df(images::DfArgs),
    /// Remove unused data
    Prune(images::SystemPruneArgs),
}

/// A failure already reported to the user: just exit with this code.
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}
impl std::error::Error for Exit {}

/// Prints an engine error as docker prints a daemon error.
pub fn report(e: &engine::EngineError) {
    eprintln!("Error response from daemon: {e}");
}

fn default_root() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("strata");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".local/share/strata")
}

fn open(root: &Option<PathBuf>) -> anyhow::Result<Engine> {
    let root = root.clone().unwrap_or_else(default_root);
    Engine::open(&root)
        .map_err(|e| anyhow::anyhow!("opening data directory {}: {e}", root.display()))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let root = cli.root;
    if let Some(r) = &cli.runtime {
        // The engine reads the choice from the environment (and so do its monitors' clean-ups).
        std::env::set_var("STRATA_RUNTIME", r);
    }
    match cli.command {
        Command::Serve(a) => serve::run(root.unwrap_or_else(default_root), a),
        Command::Build(a) | Command::Image(ImageCommand::Build(a)) => {
            build::build(&open(&root)?, *a)
        }
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => {
            archive::import(&open(&root)?, a)
        }
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => {
            images::images(&open(&root)?, a)
        }
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => images::tag(&open(&root)?, a),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => images::rmi(&open(&root)?, a),
        Command::History(a) | Command::Image(ImageCommand::History(a)) => {
            inspect::history(&open(&root)?, a)
        }
        Command::Inspect(a) => inspect::inspect_any(&open(&root)?, a),
        Command::Image(ImageCommand::Inspect(a)) => inspect::inspect(&open(&root)?, a),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => archive::save(&open(&root)?, a),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => archive::load(&open(&root)?, a),
        Command::Image(ImageCommand::Prune(a)) => images::prune(&open(&root)?, a),
        Command::System(SystemCommand::Df(a)) => images::df(&open(&root)?, a),
        Command::System(SystemCommand::Prune(a)) => images::system_prune(&open(&root)?, a),
        Command::Fsck => archive::fsck(&open(&root)?),
        Command::Token(c) => token::token(&open(&root)?, c),
        Command::Audit(a) => token::audit(&open(&root)?, a),
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => {
            registry::pull(&open(&root)?, a)
        }
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => {
            registry::push(&open(&root)?, a)
        }
        Command::Login(a) => registry::login(a),
        Command::Logout(a) => registry::logout(a),
        Command::Search(a) => registry::search(&open(&root)?, a),
        Command::Create(a) => containers::create(&open(&root)?, *a),
        Command::Run(a) => run::run(&open(&root)?, *a),
        Command::Start(a) => run::start(&open(&root)?, a),
        Command::Stop(a) => run::stop(&open(&root)?, a),
        Command::Restart(a) => run::restart(&open(&root)?, a),
        Command::Kill(a) => run::kill(&open(&root)?, a),
        Command::Wait(a) => run::wait(&open(&root)?, a),
        Command::Logs(a) => run::logs(&open(&root)?, a),
        Command::Exec(a) => run::exec(&open(&root)?, a),
        Command::Top(a) => run::top(&open(&root)?, a),
        Command::Port(a) => network::port(&open(&root)?, a),
        Command::Network(c) => network::network(&open(&root)?, c),
        Command::Stats(a) => stats::stats(&open(&root)?, a),
        Command::Update(a) => stats::update(&open(&root)?, a),
        Command::Rename(a) => stats::rename(&open(&root)?, a),
        Command::Volume(c) => volumes::volume(&open(&root)?, c),
        Command::Attach(a) => run::attach(&open(&root)?, a),
        Command::Pause(a) => run::pause(&open(&root)?, a),
        Command::Unpause(a) => run::unpause(&open(&root)?, a),
        Command::Info => run::info(&open(&root)?),
        Command::Monitor { args } => run::monitor(args),
        Command::ContainerExited { id } => Ok(open(&root)?.container_exited(&id)?),
        Command::ContainerHealth { id, status } => {
            Ok(open(&root)?.container_health_changed(&id, &status)?)
        }
        Command::Ps(a) => containers::ps(&open(&root)?, a),
        Command::Cp(a) => containers::cp(&open(&root)?, a),
        Command::Fs(c) => containers::fs(&open(&root)?, c),
        Command::Diff(a) => containers::diff(&open(&root)?, a),
        Command::Commit(a) => containers::commit(&open(&root)?, a),
        Command::Export(a) => containers::export(&open(&root)?, a),
        Command::Rm(a) => containers::rm(&open(&root)?, a),
        Command::Container(c) => containers::container(&open(&root)?, c),
        Command::Tree(a) => containers::tree(&open(&root)?, a),
        Command::Image(ImageCommand::Diff(a)) => images::image_diff(&open(&root)?, a),
        Command::Mount(a) => containers::mount(&open(&root)?, a),
        Command::Umount(a) => containers::umount(&open(&root)?, a),
    }
}

/// Uploads, layers and archives move through MiB-sized buffers that are allocated and freed
/// all the time. By glibc's defaults each one is handed back to the kernel when freed (the
/// `mmap` threshold starts at 128 KiB, and a thread arena's top is trimmed past 128 KiB), so
/// the next is mapped and zero-filled again: a page fault per 4 KiB moved, about 15 % of the
/// server's CPU for a `docker load` (BENCH.md). Buffers up to 4 MiB now come from the arenas,
/// and up to 16 MiB free at an arena's top stays there for the next one.
fn keep_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters, before any thread is started.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
    }
}

/// Output into a closed pipe (`strata images | head -1`) ends the process quietly, killed by
/// SIGPIPE as `ls`, `cat` and the docker CLI are, instead of a panic on the failed write.
/// Rust ignores SIGPIPE by default; the server keeps it so (a client hanging up must never
/// stop it).
fn die_quietly_on_closed_pipe() {
    // SAFETY: setting a signal's disposition to the default, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// For a thread that feeds a pipe or socket read elsewhere (an archive packed for the engine,
/// stdin forwarded to a container): SIGPIPE blocked in this thread only, so a write after the
/// reader stopped (the engine refused the archive, the container ended) fails with `EPIPE`,
/// an ordinary error the thread returns, instead of killing the process with the default
/// action [`die_quietly_on_closed_pipe`] set for the main thread's output. The signal such a
/// write raises is the writing thread's own: it stays pending there and goes with the thread.
pub(crate) fn feed_without_sigpipe() {
    // SAFETY: an emptied signal set with one signal added, applied to the calling thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 125 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if !matches!(cli.command, Command::Serve(_)) {
        die_quietly_on_closed_pipe();
    }
    keep_large_buffers();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(Exit(code)) = e.downcast_ref::<Exit>() {
                return ExitCode::from(*code);
            }
            if let Some(ee) = e.downcast_ref::<engine::EngineError>() {
                report(ee);
            } else {
                eprintln!("Error: {e:#}");
            }
            ExitCode::from(1)
        }
    }
}
