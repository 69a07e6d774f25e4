//! `strata serve`: the HTTP server and dashboard on this data directory.

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use strata_server::UnixSocket;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback only unless auth is on)
    #[arg(long, default_value = "127.0.0.1:2375")]
    listen: SocketAddr,
    /// Unix socket for the Docker API [default: strata.sock in the data directory]
    #[arg(
        long = "unix-socket",
        value_name = "PATH",
        conflicts_with = "no_unix_socket"
    )]
    unix_socket: Option<PathBuf>,
    /// Listen on TCP only
    #[arg(long = "no-unix-socket")]
    no_unix_socket: bool,
    /// Also accept this name (or name:port) in the Host header, besides loopback addresses and
    /// localhost; requests naming any other host are refused (DNS rebinding). Repeatable
    #[arg(long = "allowed-host", value_name = "NAME")]
    allowed_hosts: Vec<String>,
    /// Team mode: require bearer tokens (`strata token create`), enforce roles, keep the audit log
    #[arg(long = "auth")]
    auth: bool,
    /// Without --auth, also serve TCP clients of this local user (a name or a uid), besides
    /// root, the server's own user and the one who ran it under sudo; other users' connections
    /// are refused. Repeatable
    #[arg(long = "allow-user", value_name = "USER")]
    allow_users: Vec<String>,
    /// Serve the dashboard from this directory (trunk's dist) instead of the one built into
    /// the binary; looked at per request, for development
    #[arg(long = "web-dir", value_name = "DIR")]
    web_dir: Option<PathBuf>,
}

pub fn run(root: PathBuf, a: ServeArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(async_workers())
        .enable_all()
        .build()?;
    let allowed_users = a
        .allow_users
        .iter()
        .map(|u| user_id(u))
        .collect::<anyhow::Result<Vec<u32>>>()?;
    let unix_socket = match (a.no_unix_socket, a.unix_socket) {
        (true, _) => UnixSocket::Off,
        (false, Some(p)) => UnixSocket::At(p),
        (false, None) => UnixSocket::InRoot,
    };
    let res = rt.block_on(strata_server::serve(strata_server::ServeOptions {
        listen: a.listen,
        unix_socket,
        root,
        web_dir: a.web_dir,
        auth: a.auth,
        allowed_hosts: a.allowed_hosts,
        allowed_users,
    }));
    // Work on the blocking pool (a log follower between two polls) does not hold the exit.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    res
}

/// A user given by uid, or by name as the host's `/etc/passwd` has it (the `--user` rules of
/// `engine::runtime::user`, without a group).
fn user_id(user: &str) -> anyhow::Result<u32> {
    if user.contains(':') {
        anyhow::bail!("--allow-user {user}: a user, without a group");
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok();
    engine::runtime::user::resolve_user(user, passwd.as_deref(), None)
        .map(|u| u.uid)
        .map_err(|e| anyhow::anyhow!("--allow-user {user}: {e}"))
}

/// The runtime's worker threads: half the CPUs, at least one (`TOKIO_WORKER_THREADS`, when
/// set, decides instead). The workers only parse requests and move bytes between sockets
/// and channels; the engine's work runs on the blocking pool, and the clients streaming to
/// the server (the docker CLI writing a `cp` or a `load`) need CPUs of their own. With a
/// worker per CPU every wake-up of one worker woke another to look for work to steal: on two
/// CPUs that cost a `load` of a 209 MB archive a sixth of the server's CPU time.
fn async_workers() -> usize {
    if let Some(n) = std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return n;
    }
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}
