//! Cross-site requests and DNS rebinding, refused on every route, Docker's and the dashboard's.
//!
//! Any web page the user visits can send requests to `http://127.0.0.1:2375`: a "simple"
//! `POST` (`fetch(…, {method: "POST", mode: "no-cors"})`, a form) goes out without a CORS
//! preflight, so `POST /images/prune` or `/images/create` would run though the page never
//! reads the answer. And a page on a name its owner later points at 127.0.0.1 (DNS rebinding)
//! is even same-origin with the server. So, before routing:
//!
//! - a request with an `Origin` that is not this server's own (`http://` or `https://` plus
//!   its `Host`) is refused. Browsers send `Origin` on every cross-origin request that is not
//!   a plain `GET`/`HEAD`, and no route changes anything on `GET`/`HEAD`; the docker CLI and
//!   other API clients send none;
//! - on TCP, a `Host` that is not a loopback address, `localhost`, or a name given with
//!   `--allowed-host` (or the address the server listens on) is refused: a rebinding page's
//!   requests carry its own name. A request without `Host` (HTTP/1.0) comes from no browser.
//!   The unix socket is out of a browser's reach and the docker CLI sends a placeholder `Host`
//!   there (`api.moby.localhost`, `docker` before 25), so only `Origin` is checked on it.
//!
//! - on TCP, a client that is a process of a container on the host's network (which shares
//!   the host's loopback), or a container on the bridge (a server listening beyond loopback),
//!   is refused (`runtime::peer`): a container never reaches the store;
//! - on TCP without team mode, a loopback client whose socket another local user owns is
//!   refused (`runtime::peer::owner_uid`, read when its connection is accepted): only root,
//!   the server's user, the user who ran it under `sudo` and those given with `--allow-user`
//!   act through the server (binds, privileged containers), as only root and the `docker`
//!   group reach dockerd's socket. In team mode tokens decide.
//!
//! A refusal is a 403 `{"message"}` and one line on stderr naming the request and the reason.

use crate::{ApiError, AppState};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};

/// Marks requests that came in over the unix socket (an extension set by the listener).
#[derive(Clone, Copy, Debug)]
pub(crate) struct OverUnixSocket;

/// A TCP client as its connection was accepted: its address and, on loopback, the user owning
/// its socket.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TcpClient {
    pub(crate) addr: SocketAddr,
    pub(crate) uid: Option<u32>,
}

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for TcpClient
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        let addr = *stream.remote_addr();
        let uid = addr
            .ip()
            .to_canonical()
            .is_loopback()
            .then(|| engine::runtime::peer::owner_uid(addr))
            .flatten();
        TcpClient { addr, uid }
    }
}

/// The middleware: refuses (and logs) foreign origins and hosts, passes the rest on.
pub(crate) async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    match check(&req, st.allowed_hosts(), st.allowed_uids()) {
        Ok(()) => next.run(req).await,
        Err(reason) => {
            eprintln!(
                "strata: refused {} {}: {reason}",
                req.method(),
                req.uri().path()
            );
            ApiError::new(StatusCode::FORBIDDEN, reason).into_response()
        }
    }
}

fn check(req: &Request, allowed: &[String], uids: Option<&[u32]>) -> Result<(), String> {
    let headers = req.headers();
    let host = match headers.get(HOST) {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| "request refused: the Host header is not text".to_string())?,
        ),
        None => req.uri().authority().map(|a| a.as_str()),
    };
    let over_unix = req.extensions().get::<OverUnixSocket>().is_some();
    // A container on the host's network shares its loopback; through this server it would
    // reach the host and the store.
    if let Some(ConnectInfo(client)) = req.extensions().get::<ConnectInfo<TcpClient>>() {
        if let Some(who) = engine::runtime::peer::container_of(client.addr) {
            return Err(format!(
                "request refused: it comes from {who}; a container's processes never reach \
                 the strata server"
            ));
        }
        // Another local user would act as root through the server (binds, --privileged).
        if let Some(uids) = uids.filter(|_| client.addr.ip().to_canonical().is_loopback()) {
            match client.uid {
                Some(uid) if uids.contains(&uid) => {}
                Some(uid) => {
                    return Err(format!(
                        "request refused: it comes from user {uid}, who may not use this server \
                         (start strata serve with --allow-user {uid}, or --auth for tokens)"
                    ))
                }
                None => {
                    return Err("request refused: the user who sent it is not known".to_string())
                }
            }
        }
    }
    if let Some(host) = host.filter(|_| !over_unix) {
        if !host_allowed(host, allowed) {
            return Err(format!(
                "request refused: Host {host:?} is not a name of this server (loopback addresses \
                 and localhost are; start strata serve with --allowed-host to add one)"
            ));
        }
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes());
        if !host.is_some_and(|host| same_origin(&origin, host)) {
            return Err(format!(
                "cross-origin request refused: Origin {origin:?} is not this server ({})",
                host.unwrap_or("no Host")
            ));
        }
    }
    Ok(())
}

/// `Host` (`name`, `name:port`, `[v6]:port`) names this server: a loopback address,
/// `localhost`, or an allowed name (given bare, for any port, or as `name:port`).
pub(crate) fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let (name, port) = split_host(host);
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        if ip.to_canonical().is_loopback() {
            return true;
        }
    }
    allowed.iter().any(|a| {
        let (a_name, a_port) = split_host(a);
        !a_name.is_empty()
            && a_name.eq_ignore_ascii_case(name)
            && (a_port.is_none() || a_port == port)
    })
}

/// `name:port` → (name, port); IPv6 brackets removed; a bare IPv6 address has no port.
fn split_host(host: &str) -> (&str, Option<&str>) {
    if host.parse::<IpAddr>().is_ok() {
        return (host, None);
    }
    if let Some(v6) = host.strip_prefix('[') {
        return match v6.split_once(']') {
            Some((name, "")) => (name, None),
            Some((name, rest)) => (name, Some(rest.strip_prefix(':').unwrap_or(rest))),
            None => ("", None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    }
}

/// `http://host:port` or `https://host:port` whose authority is exactly `Host`.
pub(crate) fn same_origin(origin: &str, host: &str) -> bool {
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    match authority {
        Some(a) => !host.is_empty() && a.trim_end_matches('/').eq_ignore_ascii_case(host),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert!(same_origin("http://127.0.0.1:2375", "127.0.0.1:2375"));
        assert!(same_origin("https://localhost:8080", "localhost:8080"));
        assert!(!same_origin("http://evil.example", "127.0.0.1:2375"));
        assert!(!same_origin("http://127.0.0.1:2376", "127.0.0.1:2375"));
        assert!(!same_origin("null", "127.0.0.1:2375"));
        assert!(!same_origin("http://127.0.0.1:2375", ""));
    }

    #[test]
    fn hosts() {
        let none: &[String] = &[];
        for ok in [
            "127.0.0.1:2375",
            "127.0.0.1",
            "127.1.2.3:80",
            "[::1]:2375",
            "[::1]",
            "[::ffff:127.0.0.1]:2375",
            "localhost",
            "LocalHost:2375",
        ] {
            assert!(host_allowed(ok, none), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:2375",
            "localhost.evil.example",
            "127.0.0.1.nip.io:2375",
            "10.0.0.5:2375",
            "[::2]:2375",
            "",
        ] {
            assert!(!host_allowed(bad, none), "{bad}");
        }
        let allowed = vec![
            "strata.lan".to_string(),
            "box:8080".to_string(),
            "10.0.0.5".to_string(),
            "[fd00::1]".to_string(),
        ];
        assert!(host_allowed("strata.lan", &allowed));
        assert!(host_allowed("STRATA.lan:2375", &allowed));
        assert!(host_allowed("box:8080", &allowed));
        assert!(!host_allowed("box:8081", &allowed));
        assert!(!host_allowed("box", &allowed));
        assert!(host_allowed("10.0.0.5:2375", &allowed));
        assert!(host_allowed("[fd00::1]:2375", &allowed));
        assert!(!host_allowed("other.lan", &allowed));
        assert!(host_allowed("fd00::1", &["fd00::1".to_string()]));
    }
}
