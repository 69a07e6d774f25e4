//! `strata serve`: the HTTP server and dashboard on this data directory.

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback only unless auth is on)
    #[arg(long, default_value = "127.0.0.1:2375")]
    listen: SocketAddr,
    /// Also listen on this unix socket
    #[arg(long = "unix-socket", value_name = "PATH")]
    unix_socket: Option<PathBuf>,
    /// Team mode: require bearer tokens (`strata token create`), enforce roles, keep the audit log
    #[arg(long = "auth")]
    auth: bool,
    /// Serve the dashboard from this directory (trunk's dist) instead of the one built into
    /// the binary; looked at per request, for development
    #[arg(long = "web-dir", value_name = "DIR")]
    web_dir: Option<PathBuf>,
}

pub fn run(root: PathBuf, a: ServeArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(strata_server::serve(strata_server::ServeOptions {
        listen: a.listen,
        unix_socket: a.unix_socket,
        root,
        web_dir: a.web_dir,
        auth: a.auth,
    }))
}
