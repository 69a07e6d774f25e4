//! Binding the listeners and running the server until shutdown.

use crate::{app, AppState};
use anyhow::{bail, Context};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::net::{TcpListener, UnixListener};

/// How `strata serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// TCP address to listen on; must be loopback unless `auth` is on.
    pub listen: SocketAddr,
    /// The unix socket for the Docker API (what `DOCKER_HOST=unix://…` dials).
    pub unix_socket: UnixSocket,
    /// The data directory.
    pub root: PathBuf,
    /// The built dashboard, e.g. `web/dist`.
    pub web_dir: Option<PathBuf>,
    /// Team mode: bearer tokens with roles, and the audit log.
    pub auth: bool,
    /// Names (or `name:port`s) accepted in the `Host` header besides loopback addresses,
    /// `localhost` and the address listened on; every other `Host` is refused (DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// Without team mode, the users whose TCP clients are served besides root, the server's
    /// own user and, under `sudo`, the user who ran it (`SUDO_UID`); every other local user's
    /// connection is refused, as only root and the `docker` group reach dockerd's socket.
    pub allowed_users: Vec<u32>,
}

/// Where the unix socket listener goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnixSocket {
    /// No unix socket.
    Off,
    /// The default, [`DEFAULT_SOCKET`] in the data directory (created for it). Failing to
    /// bind it (another server on the same data directory, a path too long for a socket) is a
    /// warning: the server still serves on TCP.
    InRoot,
    /// This path; failing to bind it is an error.
    At(PathBuf),
}

/// The file name of the default unix socket inside the data directory.
pub const DEFAULT_SOCKET: &str = "strata.sock";

/// A server whose listeners are bound but not yet accepting.
#[derive(Debug)]
pub struct Server {
    tcp: TcpListener,
    unix: Option<(UnixListener, PathBuf)>,
    state: AppState,
}

impl Server {
    /// Checks the options and binds the listeners. A stale unix socket file (nothing accepts on
    /// it) is replaced; a live one is an error.
    pub async fn bind(opts: ServeOptions) -> anyhow::Result<Server> {
        if !opts.auth && !opts.listen.ip().to_canonical().is_loopback() {
            bail!(
                "refusing to listen on {}: without --auth only loopback addresses are allowed",
                opts.listen
            );
        }
        let tcp = TcpListener::bind(opts.listen)
            .await
            .with_context(|| format!("listen on {}", opts.listen))?;
        let unix = match opts.unix_socket {
            UnixSocket::Off => None,
            UnixSocket::At(path) => Some((bind_unix(&path)?, path)),
            UnixSocket::InRoot => {
                let path = opts.root.join(DEFAULT_SOCKET);
                let bound = engine::Engine::prepare_root(&opts.root)
                    .map_err(anyhow::Error::from)
                    .and_then(|()| bind_unix(&path));
                match bound {
                    Ok(l) => Some((l, path)),
                    Err(e) => {
                        eprintln!("strata: not listening on a unix socket: {e:#}");
                        None
                    }
                }
            }
        };
        // The address listened on names this server too (team mode on a LAN address).
        let mut allowed_hosts = opts.allowed_hosts;
        let ip = opts.listen.ip();
        if !ip.is_unspecified() && !ip.to_canonical().is_loopback() {
            allowed_hosts.push(match ip {
                std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                v4 => v4.to_string(),
            });
        }
        let mut uids = vec![0, own_uid()];
        uids.extend(
            std::env::var("SUDO_UID")
                .ok()
                .and_then(|u| u.trim().parse::<u32>().ok()),
        );
        uids.extend(opts.allowed_users);
        uids.sort_unstable();
        uids.dedup();
        Ok(Server {
            tcp,
            unix,
            state: AppState::new(opts.root, opts.web_dir)
                .with_auth(opts.auth)
                .with_allowed_hosts(allowed_hosts)
                .with_allowed_uids((!opts.auth).then_some(uids)),
        })
    }

    /// The bound TCP address (the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.tcp
            .local_addr()
            .expect("a bound TCP listener has an address")
    }

    /// The unix socket path, if one is bound.
    pub fn unix_socket(&self) -> Option<&Path> {
        self.unix.as_ref().map(|(_, p)| p.as_path())
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish. Removes the unix
    /// socket file on the way out.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        let router = app(self.state);
        let (tx, rx) = tokio::sync::watch::channel(());
        let rx_for_grace = rx.clone();
        let signal = move || {
            let mut rx = rx.clone();
            // `changed` also returns when the sender is dropped: either way it is time to stop.
            async move {
                let _ = rx.changed().await;
            }
        };
        tokio::spawn(async move {
            shutdown.await;
            // the endless streams end first, so the graceful shutdown need not wait for them
            state.stop();
            let _ = tx.send(());
        });
        let tcp = axum::serve(
            self.tcp,
            router
                .clone()
                .into_make_service_with_connect_info::<crate::guard::TcpClient>(),
        )
        .with_graceful_shutdown(signal());
        let (unix, path) = match self.unix {
            Some((l, p)) => (
                Some(
                    axum::serve(
                        l,
                        router.layer(axum::Extension(crate::guard::OverUnixSocket)),
                    )
                    .with_graceful_shutdown(signal()),
                ),
                Some(p),
            ),
            None => (None, None),
        };
        let unix = async move {
            match unix {
                Some(u) => u.await,
                None => Ok(()),
            }
        };
        // The endless streams end at the signal (`AppState::stop`); other requests still open
        // then (a `wait`, a pull, an attached run) get a grace period, and the server stops
        // anyway after it.
        let mut stopping = rx_for_grace;
        let grace = async move {
            let _ = stopping.changed().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        let res = tokio::select! {
            r = async { tokio::try_join!(async { tcp.await }, unix) } => r.map(|_| ()),
            _ = grace => {
                eprintln!(
                    "strata: requests still open after {} s are closed",
                    SHUTDOWN_GRACE.as_secs()
                );
                Ok(())
            }
        };
        if let Some(p) = path {
            let _ = std::fs::remove_file(p);
        }
        res.context("serve")?;
        Ok(())
    }
}

/// How long requests still open at a shutdown signal may take before the server stops.
pub(crate) const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The server's effective user.
fn own_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn bind_unix(path: &Path) -> anyhow::Result<UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!(
                "listen on unix://{}: file exists and is not a socket",
                path.display()
            );
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "listen on unix://{}: another server is listening on it",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("remove stale socket {}", path.display()))?;
    }
    let l =
        UnixListener::bind(path).with_context(|| format!("listen on unix://{}", path.display()))?;
    // Like dockerd's socket: owner and group only. Anyone who can connect controls the store.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("chmod {}", path.display()))?;
    Ok(l)
}

/// Binds per `opts`, prints where it listens and serves until Ctrl-C or SIGTERM.
pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("install SIGTERM handler")?;
    let server = Server::bind(opts).await?;
    println!("strata: listening on http://{}", server.local_addr());
    if let Some(p) = server.unix_socket() {
        println!("strata: listening on unix://{}", p.display());
    }
    // As a daemon's start: containers lost while they ran (the host went down) are given to
    // their restart policies. In the background: the server answers meanwhile.
    let st = server.state.clone();
    tokio::task::spawn_blocking(move || {
        let restarted = st
            .engine()
            .map_err(|e| e.message)
            .and_then(|e| e.restart_lost().map_err(|e| e.to_string()));
        match restarted {
            Ok(ids) => {
                for id in ids {
                    eprintln!("strata: restarted container {id} (its restart policy; it was lost while running)");
                }
            }
            Err(e) => eprintln!("strata: restarting lost containers: {e}"),
        }
    });
    server
        .run(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            eprintln!("strata: shutting down");
        })
        .await
}
