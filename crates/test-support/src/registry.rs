//! The CNCF distribution registry (`/usr/bin/docker-registry`, Debian package
//! `docker-registry`) for the tests: one per [`Registry::start`] on 127.0.0.1:<free port>, with
//! its own storage directory, its access log captured, and optionally htpasswd Basic auth or
//! TLS with a CA of its own.

use crate::require;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A `docker-registry serve` on 127.0.0.1:<port>, killed on drop. Its stdout (the access log,
/// one Apache-style line per request) and stderr go to one file.
pub struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    tls: bool,
}

impl Registry {
    pub fn start() -> Registry {
        Registry::start_inner(None, false)
    }

    /// A registry with htpasswd (bcrypt) Basic auth for `user:pass`.
    pub fn start_with_auth(user: &str, pass: &str) -> Registry {
        Registry::start_inner(Some((user, pass)), false)
    }

    /// A registry serving HTTPS with a certificate for 127.0.0.1 signed by a CA of its own,
    /// whose certificate is at [`Registry::ca_file`].
    pub fn start_tls() -> Registry {
        Registry::start_inner(None, true)
    }

    fn start_inner(user_pass: Option<(&str, &str)>, tls: bool) -> Registry {
        require(REGISTRY_BIN);
        let mut last_log = String::new();
        for _ in 0..5 {
            let dir = tempfile::Builder::new()
                .prefix("strata-e2e-registry-")
                .tempdir()
                .unwrap();
            let port = free_port();
            let mut auth = String::new();
            if let Some((user, pass)) = user_pass {
                let hash = bcrypt::hash(pass, 4).unwrap();
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, format!("{user}:{hash}\n")).unwrap();
                auth = format!(
                    "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
                    htpasswd.display()
                );
            }
            let mut tls_conf = String::new();
            if tls {
                make_certificates(dir.path());
                tls_conf = format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    dir.path().join("server.pem").display(),
                    dir.path().join("server.key").display()
                );
            }
            let config = format!(
                "version: 0.1\n\
                 log:\n  level: info\n  accesslog:\n    disabled: false\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                 http:\n  addr: 127.0.0.1:{port}\n  secret: strata-e2e\n{tls_conf}{auth}",
                dir.path().join("data").display()
            );
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config).unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            let mut reg = Registry {
                child,
                port,
                dir,
                tls,
            };
            if reg.wait_ready() {
                return reg;
            }
            last_log =
                std::fs::read_to_string(reg.dir.path().join("registry.log")).unwrap_or_default();
        }
        panic!("docker-registry did not start; last log:\n{last_log}");
    }

    /// Waits until `GET /v2/` answers (any status; with TLS, until the port accepts and the
    /// log says it serves); false if the process died or timed out.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if self.tls {
                if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                    && self.log().contains("listening on")
                {
                    return true;
                }
            } else if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                let mut buf = [0u8; 12];
                if s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.") {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The CA certificate (PEM) that signed a TLS registry's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// A mark in the log: requests after it are what [`Registry::requests_since`] returns.
    pub fn mark(&self) -> usize {
        self.log().len()
    }

    /// The access-log request lines (`GET /v2/bb/blobs/sha256:… HTTP/1.1" 200 …`) written after
    /// `mark`. Waits a moment first: the registry logs a request after answering it.
    pub fn requests_since(&self, mark: usize) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(400));
        let log = self.log();
        log[mark..]
            .lines()
            .filter_map(|l| {
                // 127.0.0.1 - - [date] "GET /v2/... HTTP/1.1" 200 2 "" "agent"
                let start = l.find("] \"")? + 3;
                let rest = &l[start..];
                rest.starts_with(|c: char| c.is_ascii_uppercase())
                    .then(|| rest.to_string())
            })
            .collect()
    }

    /// The digests of the blobs of `repo` fetched with GET after `mark`, one per request.
    pub fn blob_gets_since(&self, mark: usize, repo: &str) -> Vec<String> {
        let prefix = format!("GET /v2/{repo}/blobs/");
        self.requests_since(mark)
            .iter()
            .filter_map(|l| {
                l.strip_prefix(&prefix)
                    .map(|r| r.split([' ', '"']).next().unwrap().to_string())
            })
            .collect()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA (`ca.pem`) and a server certificate for IP 127.0.0.1 it signed (`server.pem`,
/// `server.key`) in `dir`, made with `openssl`.
fn make_certificates(dir: &Path) {
    require("openssl");
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"],
            &["-subj", "/CN=strata-e2e-ca"],
            &["-addext", "basicConstraints=critical,CA:TRUE"],
            &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
}

/// A free TCP port on 127.0.0.1 (free when asked; another process may take it first).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
