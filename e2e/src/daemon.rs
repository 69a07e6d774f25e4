//! `strata serve` for a test, and the clients that talk to it: a raw HTTP/1.1 client (so a
//! test sees exactly the bytes on the wire), the real docker CLI aimed at it, and a real
//! pseudo-terminal (`script`) for interactive commands. One copy for every suite.

use crate::{require, strata_bin, Output, Store};
use serde_json::Value;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The docker CLI the suites drive (API 1.50).
pub const DOCKER: &str = "/usr/local/bin/docker";

/// Status, lowercased headers and (de-chunked) body of one HTTP exchange.
pub type HttpReply = (u16, Vec<(String, String)>, Vec<u8>);

/// The `repo_tags` of every image in a `GET /api/images` answer, sorted.
pub fn repo_tags(list: &Value) -> Vec<String> {
    let mut tags: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| {
            i["repo_tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
        })
        .collect();
    tags.sort();
    tags
}

/// One HTTP/1.1 exchange with the server on loopback `port` (`Connection: close`):
/// `headers` are extra header lines, each ending in `\r\n`; `body` writes exactly `len`
/// bytes straight into the socket (nothing is buffered on the client side). A chunked
/// answer is decoded.
pub fn http_stream(
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    len: u64,
    body: impl FnOnce(&mut TcpStream),
) -> std::io::Result<HttpReply> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}Content-Length: {len}\r\nConnection: close\r\n\r\n"
    )?;
    body(&mut s);
    s.flush()?;
    read_reply(&mut s)
}

/// [`http_stream`] with the whole body at hand.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> std::io::Result<HttpReply> {
    http_stream(port, method, path, headers, body.len() as u64, |s| {
        let _ = s.write_all(body);
    })
}

/// [`http`] for a JSON (or empty) body: the status and the body as text; status 0 when
/// nothing answers on `port`.
pub fn http_text(port: u16, method: &str, path: &str, headers: &str, body: &[u8]) -> (u16, String) {
    let headers = format!("{headers}Content-Type: application/json\r\n");
    match http(port, method, path, &headers, body) {
        Ok((status, _, body)) => (status, String::from_utf8_lossy(&body).into_owned()),
        Err(_) => (0, String::new()),
    }
}

/// Reads an answer: the head, then exactly its body (`Content-Length`, or chunks up to the
/// last one, or up to the end of the connection), so a server that keeps the connection open
/// does not make the client wait.
fn read_reply(s: &mut TcpStream) -> std::io::Result<HttpReply> {
    // A read interrupted by a signal (the test process has children) is tried again.
    let read = |s: &mut TcpStream, buf: &mut [u8]| loop {
        match s.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => break r,
        }
    };
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let split = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = read(s, &mut buf)?;
        if n == 0 {
            return Err(std::io::Error::other(
                "connection closed before the response head",
            ));
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {head:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let length = header("content-length").and_then(|v| v.parse::<usize>().ok());
    let chunked = header("transfer-encoding").is_some_and(|v| v == "chunked");
    let mut body = raw[split + 4..].to_vec();
    loop {
        let complete = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = read(s, &mut buf)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    if chunked {
        body = dechunk(&body);
    }
    Ok((status, headers, body))
}

/// The data of a chunked body.
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = nl + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
    out
}

/// Runs `command_line` (a shell command) inside a real pseudo-terminal (`script`) of 33x99,
/// typing each of `inputs` after `pause` (twice that before the first and after the last);
/// `env` is set for it. Returns what the terminal showed (without `\r`) and the exit code.
pub fn in_terminal(
    command_line: &str,
    env: &[(&str, &OsStr)],
    inputs: &[&str],
    pause: Duration,
) -> (String, i32) {
    require("script");
    let p = pause.as_secs_f32();
    let mut feed = format!("sleep {}; ", 2.0 * p);
    for i in inputs {
        feed.push_str(&format!("printf '{i}'; sleep {p}; "));
    }
    feed.push_str(&format!("sleep {}", 2.0 * p));
    let cmd = format!(
        "({feed}) | timeout 60 script -qec 'stty rows 33 cols 99; {command_line}' /dev/null"
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&cmd)
        .envs(env.iter().copied())
        .env_remove("DOCKER_CONTEXT")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).replace('\r', ""),
        out.status.code().unwrap_or(-1),
    )
}

/// `strata serve` on a free loopback port over a store, without the dashboard; killed on
/// drop. The docker CLI methods aim the real `docker` at it with a client config of its own.
pub struct Daemon {
    /// The server process.
    pub child: Child,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    /// The docker CLI's config directory for it (`DOCKER_CONFIG`).
    pub config: PathBuf,
}

impl Daemon {
    /// `strata serve --listen 127.0.0.1:<free port>`; returns once it answers `/_ping`.
    pub fn start(store: &Store) -> Daemon {
        Daemon::start_with(store, &[], &[])
    }

    /// [`start`](Daemon::start) with extra environment for the server.
    pub fn start_with_env(store: &Store, env: &[(&str, &OsStr)]) -> Daemon {
        Daemon::start_with(store, &[], env)
    }

    /// [`start`](Daemon::start) with extra `serve` flags (`--auth`) and environment.
    pub fn start_with(store: &Store, flags: &[&str], env: &[(&str, &OsStr)]) -> Daemon {
        let _ = strata_bin();
        let port = crate::registry::free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec![
            "serve",
            "--listen",
            &listen,
            "--web-dir",
            "/nonexistent/web",
        ];
        args.extend_from_slice(flags);
        let mut cmd = store.command(&args);
        cmd.envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Daemon::spawn(store, cmd, port)
    }

    /// Spawns `cmd` (a `strata serve` listening on 127.0.0.1:`port`) and returns once it
    /// answers `/_ping`; panics when it exits first or does not answer within 60 s.
    pub fn spawn(store: &Store, mut cmd: Command, port: u16) -> Daemon {
        let child = cmd.spawn().expect("spawn strata serve");
        let config = store.scratch().join("docker-config");
        std::fs::create_dir_all(&config).unwrap();
        let mut d = Daemon {
            child,
            port,
            config,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((200, _, body)) = d.try_http("GET", "/_ping") {
                assert_eq!(body, b"OK");
                return d;
            }
            if let Some(st) = d.child.try_wait().unwrap() {
                panic!("strata serve exited early: {st}");
            }
            assert!(
                Instant::now() < deadline,
                "strata serve did not answer /_ping on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// `tcp://127.0.0.1:<port>`, the docker CLI's `DOCKER_HOST`.
    pub fn host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// A `docker` command aimed at this server, with its own empty client config.
    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        require(DOCKER);
        let mut c = Command::new(DOCKER);
        c.args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", &self.config)
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_BUILDKIT")
            .env_remove("DOCKER_API_VERSION")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH");
        c
    }

    /// Runs docker; its exit code and output.
    pub fn docker(&self, args: &[&str]) -> Output {
        Output::from(
            self.docker_cmd(args)
                .stdin(Stdio::null())
                .output()
                .expect("run docker"),
        )
    }

    /// Runs docker; panics unless it exits 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.docker(args)
            .expect_ok(&format!("docker {}", args.join(" ")))
    }

    /// Runs docker expecting failure; returns its stderr.
    pub fn fail(&self, args: &[&str]) -> String {
        self.docker(args)
            .expect_failure(&format!("docker {}", args.join(" ")))
            .stderr
    }

    /// Runs docker with `input` on stdin; panics unless it exits 0; returns stdout.
    pub fn ok_stdin(&self, args: &[&str], input: Vec<u8>) -> String {
        crate::run_with_stdin(self.docker_cmd(args), &input)
            .expect_ok(&format!("docker {}", args.join(" ")))
    }

    /// Runs docker; returns raw stdout bytes.
    pub fn ok_bytes(&self, args: &[&str]) -> Vec<u8> {
        let out = self.docker_cmd(args).stdin(Stdio::null()).output().unwrap();
        assert!(
            out.status.success(),
            "`docker {}` failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Runs `docker ARGS` aimed at this server in a real pseudo-terminal ([`in_terminal`]).
    pub fn in_terminal(&self, args: &str, inputs: &[&str]) -> (String, i32) {
        let host = self.host();
        in_terminal(
            &format!("{DOCKER} {args}"),
            &[
                ("DOCKER_HOST", OsStr::new(&host)),
                ("DOCKER_CONFIG", self.config.as_os_str()),
            ],
            inputs,
            Duration::from_secs(1),
        )
    }

    /// One HTTP/1.1 exchange without a body ([`http`]).
    pub fn try_http(&self, method: &str, path: &str) -> std::io::Result<HttpReply> {
        self.try_http_with(method, path, "")
    }

    /// [`try_http`](Daemon::try_http) with extra header lines (each ending in `\r\n`).
    pub fn try_http_with(
        &self,
        method: &str,
        path: &str,
        headers: &str,
    ) -> std::io::Result<HttpReply> {
        http(self.port, method, path, headers, b"")
    }

    /// `GET path` as JSON, expecting 200.
    pub fn api(&self, path: &str) -> Value {
        let (status, _, body) = self.try_http("GET", path).unwrap();
        assert_eq!(
            status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).unwrap()
    }

    /// `repo_tags` of every image the dashboard lists, sorted.
    pub fn api_tags(&self) -> Vec<String> {
        repo_tags(&self.api("/api/images"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
