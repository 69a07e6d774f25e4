//! The HTTP surface: through `app()` with `oneshot`, and the real server on `127.0.0.1:0`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use strata_server::{app, AppState, ServeOptions, Server, UnixSocket};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .unwrap()
    }
}

async fn send(state: AppState, method: Method, uri: &str) -> Reply {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let res = app(state).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn get(uri: &str) -> Reply {
    send(no_web(), Method::GET, uri).await
}

fn no_web() -> AppState {
    AppState::new(PathBuf::from("/nonexistent/strata-root"), None)
}

fn built_web() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>Strata</title>dashboard",
    )
    .unwrap();
    std::fs::write(dir.path().join("strata-web-1f2e.js"), "console.log(1)").unwrap();
    std::fs::write(
        dir.path().join("strata-web-1f2e_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    let state = AppState::new(
        PathBuf::from("/nonexistent/strata-root"),
        Some(dir.path().to_path_buf()),
    );
    (dir, state)
}

fn assert_common_headers(r: &Reply) {
    assert_eq!(
        r.header("server"),
        format!("Strata/{} (linux)", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(r.header("api-version"), "1.50");
    assert_eq!(r.header("ostype"), "linux");
    assert_eq!(r.header("docker-experimental"), "false");
}

fn assert_ping_headers(r: &Reply) {
    assert_common_headers(r);
    assert_eq!(r.header("builder-version"), "1");
    assert_eq!(r.header("swarm"), "inactive");
    assert_eq!(
        r.header("cache-control"),
        "no-cache, no-store, must-revalidate"
    );
    assert_eq!(r.header("pragma"), "no-cache");
    assert_eq!(r.header("content-type"), "text/plain; charset=utf-8");
}

fn assert_not_found(r: &Reply) {
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.body, r#"{"message":"page not found"}"#);
    assert_common_headers(r);
}

#[tokio::test]
async fn ping_get() {
    for uri in ["/_ping", "/v1.50/_ping"] {
        let r = get(uri).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, "OK");
        assert_ping_headers(&r);
    }
}

#[tokio::test]
async fn ping_head() {
    let r = send(no_web(), Method::HEAD, "/_ping").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, "");
    assert_eq!(r.header("content-length"), "0");
    assert_ping_headers(&r);
}

#[tokio::test]
async fn version() {
    for uri in [
        "/version",
        "/v1.50/version",
        "/v1.24/version",
        "/v1.22/version",
        "/v1.50/version?x=1",
    ] {
        let r = get(uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert_eq!(r.header("content-type"), "application/json");
        assert_common_headers(&r);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["Version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(v["ApiVersion"], "1.50");
        assert_eq!(v["MinAPIVersion"], "1.22");
        assert_eq!(v["Os"], "linux");
        assert_eq!(v["Experimental"], false);
        let arch = v["Arch"].as_str().unwrap();
        assert!(!arch.is_empty());
        if cfg!(target_arch = "x86_64") {
            assert_eq!(arch, "amd64");
        }
        assert_eq!(v["Components"][0]["Name"], "Engine");
        assert_eq!(v["Components"][0]["Details"]["ApiVersion"], "1.50");
        assert!(v["KernelVersion"].is_string());
    }
}

#[tokio::test]
async fn too_old_api_version() {
    let r = get("/v1.21/version").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(
        r.body,
        r#"{"message":"client version 1.21 is too old. Minimum supported API version is 1.22, please upgrade your client to a newer version"}"#
    );
}

/// A version above the one served is refused as dockerd refuses it (the docker CLI asks for
/// the version the server announces, never more).
#[tokio::test]
async fn too_new_api_version() {
    for v in ["1.51", "1.99"] {
        let r = get(&format!("/v{v}/version")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            r.body,
            format!(
                r#"{{"message":"client version {v} is too new. Maximum supported API version is 1.50"}}"#
            )
        );
    }
    assert_eq!(get("/v1.50/version").await.status, StatusCode::OK);
}

#[tokio::test]
async fn health() {
    let r = get("/api/health").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.body, r#"{"status":"ok"}"#);
}

#[tokio::test]
async fn unknown_routes_are_docker_404s() {
    for uri in ["/v1.50/nope", "/v1.50/", "/api/nope", "/api", "/nope.js"] {
        assert_not_found(&get(uri).await);
    }
    // `/v2/` is the registry API's base, never an Engine API version
    let r = get("/v2/").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("docker-distribution-api-version"), "registry/2.0");
    // a known path with an unknown method is a 404 too, as in moby
    for (method, uri) in [
        (Method::POST, "/_ping"),
        (Method::DELETE, "/version"),
        (Method::POST, "/"),
    ] {
        assert_not_found(&send(no_web(), method, uri).await);
    }
}

#[tokio::test]
async fn dashboard_not_built() {
    // Without --web-dir a binary serves the dashboard built into it, when it has one.
    if strata_server::has_embedded_dashboard() {
        let r = send(no_web(), Method::GET, "/").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.header("content-type"), "text/html; charset=utf-8");
        assert!(!r.body.contains("dashboard is not built"), "{}", r.body);
    }
    let mut states = vec![AppState::new(
        "/r".into(),
        Some("/nonexistent/web/dist".into()),
    )];
    if !strata_server::has_embedded_dashboard() {
        states.push(no_web());
    }
    for state in states {
        let r = send(state, Method::GET, "/").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.header("content-type"), "text/html; charset=utf-8");
        assert!(r.body.contains("dashboard is not built"), "{}", r.body);
        assert!(r.body.contains("just web"), "{}", r.body);
        assert_common_headers(&r);
    }
    assert_not_found(&get("/strata-web-1f2e.wasm").await);
}

#[tokio::test]
async fn dashboard_files_and_index_fallback() {
    let (_dir, state) = built_web();
    let index = |r: &Reply| {
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.header("content-type").starts_with("text/html"),
            "{:?}",
            r.headers
        );
        assert_eq!(r.header("cache-control"), "no-cache");
        assert!(r.body.contains("dashboard"));
        assert_common_headers(r);
    };
    index(&send(state.clone(), Method::GET, "/").await);
    index(&send(state.clone(), Method::GET, "/index.html").await);
    // client-side routes reload into the app
    // (Docker owns /images/…, so the dashboard's own routes live under /ui/)
    index(&send(state.clone(), Method::GET, "/ui/images/sha256:abc").await);

    let js = send(state.clone(), Method::GET, "/strata-web-1f2e.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(js.body, "console.log(1)");
    assert!(js.header("content-type").contains("javascript"));
    // browsers only stream-compile wasm served as application/wasm
    let wasm = send(state.clone(), Method::HEAD, "/strata-web-1f2e_bg.wasm").await;
    assert_eq!(wasm.status, StatusCode::OK);
    assert_eq!(wasm.header("content-type"), "application/wasm");

    // a missing asset, API paths and versioned paths never fall back to the app
    for uri in ["/missing.wasm", "/api/nope", "/v1.50/nope/json"] {
        assert_not_found(&send(state.clone(), Method::GET, uri).await);
    }
    // paths cannot escape the web directory
    assert_ne!(
        send(state, Method::GET, "/../Cargo.toml").await.status,
        StatusCode::OK
    );
}

/// A file's compressed copies beside it (what `crates/precompress` writes after trunk's build)
/// are sent as the request's `Accept-Encoding` allows: brotli first, then gzip, else the file.
#[tokio::test]
async fn dashboard_files_go_out_precompressed() {
    let (dir, state) = built_web();
    let wasm = dir.path().join("strata-web-0123456789abcdef_bg.wasm");
    std::fs::write(&wasm, b"\0asm\x01\0\0\0 the module").unwrap();
    std::fs::write(
        dir.path().join("strata-web-0123456789abcdef_bg.wasm.br"),
        "as brotli",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("strata-web-0123456789abcdef_bg.wasm.gz"),
        "as gzip",
    )
    .unwrap();
    for (accept, encoding, body) in [
        (Some("gzip, deflate, br"), Some("br"), "as brotli"),
        (Some("gzip"), Some("gzip"), "as gzip"),
        (Some("br;q=0.5, gzip"), Some("gzip"), "as gzip"),
        (Some("identity"), None, "\0asm\x01\0\0\0 the module"),
        (None, None, "\0asm\x01\0\0\0 the module"),
    ] {
        let mut req = Request::builder().uri("/strata-web-0123456789abcdef_bg.wasm");
        if let Some(accept) = accept {
            req = req.header("accept-encoding", accept);
        }
        let res = app(state.clone())
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{accept:?}");
        let h = res.headers().clone();
        assert_eq!(
            h.get("content-encoding").map(|v| v.to_str().unwrap()),
            encoding,
            "{accept:?}"
        );
        assert_eq!(h["content-type"], "application/wasm", "{accept:?}");
        assert!(
            h["vary"]
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "{accept:?}: {h:?}"
        );
        assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
        let got = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(got, body.as_bytes(), "{accept:?}");
    }
}

fn opts(listen: &str) -> ServeOptions {
    ServeOptions {
        listen: listen.parse().unwrap(),
        unix_socket: UnixSocket::Off,
        root: "/nonexistent".into(),
        web_dir: None,
        auth: false,
        allowed_hosts: Vec::new(),
        allowed_users: Vec::new(),
    }
}

#[tokio::test]
async fn refuses_non_loopback() {
    for addr in ["0.0.0.0:0", "[::]:0", "192.0.2.1:2375"] {
        let err = Server::bind(opts(addr)).await.unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "refusing to listen on {addr}: without --auth only loopback addresses are allowed"
            )
        );
    }
    let err = strata_server::serve(opts("0.0.0.0:2375"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("refusing to listen on 0.0.0.0:2375"),
        "{err}"
    );
}

/// One raw HTTP/1.1 exchange; returns the status line, the lowercased headers and the body.
fn raw_exchange(
    mut conn: impl Read + Write,
    request: &str,
) -> (String, Vec<(String, String)>, String) {
    conn.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    conn.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_string();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name}"))
}

#[tokio::test]
async fn real_server_over_tcp_and_unix_socket() {
    let sock_dir = tempfile::tempdir().unwrap();
    let sock = sock_dir.path().join("strata.sock");
    let mut o = opts("127.0.0.1:0");
    o.unix_socket = UnixSocket::At(sock.clone());
    let server = Server::bind(o).await.unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let sock2 = sock.clone();
    tokio::task::spawn_blocking(move || {
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        let (status, headers, body) = raw_exchange(
            tcp,
            "GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(body, "OK");
        assert_eq!(header(&headers, "api-version"), "1.50");
        assert_eq!(header(&headers, "ostype"), "linux");
        assert_eq!(
            header(&headers, "content-type"),
            "text/plain; charset=utf-8"
        );

        let tcp = std::net::TcpStream::connect(addr).unwrap();
        let (status, headers, body) = raw_exchange(
            tcp,
            "HEAD /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(header(&headers, "content-length"), "0");
        assert_eq!(header(&headers, "swarm"), "inactive");
        assert_eq!(body, "");

        // the docker CLI over a unix socket sends `Host: api.moby.localhost`
        let unix = std::os::unix::net::UnixStream::connect(&sock2).unwrap();
        let (status, headers, body) = raw_exchange(
            unix,
            "GET /v1.50/nope HTTP/1.1\r\nHost: api.moby.localhost\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(status, "HTTP/1.1 404 Not Found");
        assert_eq!(header(&headers, "content-type"), "application/json");
        assert_eq!(body, r#"{"message":"page not found"}"#);
    })
    .await
    .unwrap();

    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert!(!sock.exists(), "the socket file is removed on shutdown");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the listener is closed on shutdown"
    );
}

#[tokio::test]
async fn unix_socket_in_use_or_not_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, "").unwrap();
    let mut o = opts("127.0.0.1:0");
    o.unix_socket = UnixSocket::At(file.clone());
    let err = Server::bind(o).await.unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "listen on unix://{}: file exists and is not a socket",
            file.display()
        )
    );

    let sock: &Path = &dir.path().join("live.sock");
    let _live = std::os::unix::net::UnixListener::bind(sock).unwrap();
    let mut o = opts("127.0.0.1:0");
    o.unix_socket = UnixSocket::At(sock.to_path_buf());
    let err = Server::bind(o).await.unwrap_err().to_string();
    assert!(err.contains("another server is listening"), "{err}");
}

#[tokio::test]
async fn default_unix_socket_in_the_data_directory_and_host_checks() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let mut o = opts("127.0.0.1:0");
    o.root = root.clone();
    o.unix_socket = UnixSocket::InRoot;
    let server = Server::bind(o).await.unwrap();
    let sock = root.join(strata_server::DEFAULT_SOCKET);
    assert_eq!(server.unix_socket(), Some(sock.as_path()));
    let mode = std::fs::metadata(&root).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o700,
        "the data directory is created for the socket, owner only"
    );
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    // a second server on the same data directory still serves on TCP, without the socket
    let mut o = opts("127.0.0.1:0");
    o.root = root.clone();
    o.unix_socket = UnixSocket::InRoot;
    let second = Server::bind(o).await.unwrap();
    assert_eq!(second.unix_socket(), None);
    drop(second);

    let sock2 = sock.clone();
    tokio::task::spawn_blocking(move || {
        // the docker CLI's placeholder hosts are fine on the socket, which no browser reaches
        for host in ["api.moby.localhost", "docker"] {
            let unix = std::os::unix::net::UnixStream::connect(&sock2).unwrap();
            let (status, _, body) = raw_exchange(
                unix,
                &format!("GET /v1.50/nope HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
            );
            assert_eq!(status, "HTTP/1.1 404 Not Found", "{body}");
        }
        // but not a foreign Origin
        let unix = std::os::unix::net::UnixStream::connect(&sock2).unwrap();
        let (status, _, _) = raw_exchange(
            unix,
            "POST /v1.50/images/prune HTTP/1.1\r\nHost: docker\r\nOrigin: http://evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(status, "HTTP/1.1 403 Forbidden");
        // on TCP, Host must name this server (DNS rebinding)
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        let (status, _, body) = raw_exchange(
            tcp,
            "GET /_ping HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(status, "HTTP/1.1 403 Forbidden");
        assert!(body.contains("is not a name of this server"), "{body}");
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        let (status, _, _) = raw_exchange(
            tcp,
            &format!("GET /_ping HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(status, "HTTP/1.1 200 OK");
    })
    .await
    .unwrap();

    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert!(!sock.exists(), "the socket file is removed on shutdown");
}
