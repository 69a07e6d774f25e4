//! The writing floor of `docker cp` for `scripts/bench-cost.sh`: the least a server must do.
//!
//! A unix-socket server that answers the docker CLI's `cp` requests (`_ping`, the `HEAD` stat of
//! the destination, the archive `PUT`) and, for the `PUT`, writes the tar's regular files
//! under `DIR/<n>/` with one blocking thread: 1 MiB socket reads, the chunked body decoded in
//! place, each file written in blocks of up to 1 MiB. No checks, no layer, no metadata: the
//! time of `docker cp` against it is what the CLI's sending plus the file writes cost on this
//! machine, which no server that keeps the files can go below.
//!
//! Usage: `cargo run --release -p test-support --example cp_floor -- SOCKET DIR` (serves until
//! killed).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What dockerd's `X-Docker-Container-Path-Stat` says of a directory `/data` (mode dir|0755).
const DIR_STAT: &str = "eyJuYW1lIjoiZGF0YSIsInNpemUiOjQwOTYsIm1vZGUiOjIxNDc0ODQxNDEsIm10aW1lIjoiMjAyNi0wMS0wMVQwMDowMDowMFoiLCJsaW5rVGFyZ2V0IjoiIn0=";
const HEADERS: &str = "Api-Version: 1.41\r\nOstype: linux\r\nServer: cp-floor\r\n";
const BLOCK: usize = 1 << 20;

/// A chunked request body (RFC 9112 §7.1), read in place from the connection's buffer.
struct Chunked<'a, R> {
    r: &'a mut R,
    left: usize,
    done: bool,
}

impl<R: BufRead> Read for Chunked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let line = read_line(self.r)?;
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| io::Error::other(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                while !read_line(self.r)?.is_empty() {}
                self.done = true;
                return Ok(0);
            }
            self.left = size;
        }
        let want = buf.len().min(self.left);
        let got = self.r.read(&mut buf[..want])?;
        if got == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= got;
        if self.left == 0 {
            read_line(self.r)?;
        }
        Ok(got)
    }
}

/// One line without its CRLF; an empty string at the end of the stream.
fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Octal tar number field.
fn octal(field: &[u8]) -> io::Result<u64> {
    let s = std::str::from_utf8(field).map_err(io::Error::other)?;
    let s = s.trim_matches(|c| c == '\0' || c == ' ');
    if s.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(s, 8).map_err(io::Error::other)
}

/// Writes the tar's regular files and directories under `dir` (names inside it only); skips
/// every other entry.
fn extract(body: &mut impl Read, dir: &Path, buf: &mut [u8]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut h = [0u8; 512];
    loop {
        body.read_exact(&mut h)?;
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let name = String::from_utf8_lossy(&h[..100]);
        let rel: PathBuf = Path::new(name.trim_end_matches('\0'))
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n),
                _ => None,
            })
            .collect();
        let size = octal(&h[124..136])?;
        let mut file = None;
        if !rel.as_os_str().is_empty() {
            let to = dir.join(&rel);
            match h[156] {
                b'0' | 0 => {
                    if let Some(p) = to.parent() {
                        std::fs::create_dir_all(p)?;
                    }
                    file = Some(std::fs::File::create(to)?);
                }
                b'5' => std::fs::create_dir_all(to)?,
                _ => {}
            }
        }
        let mut left = size;
        while left > 0 {
            let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
            body.read_exact(&mut buf[..n])?;
            if let Some(f) = file.as_mut() {
                f.write_all(&buf[..n])?;
            }
            left -= n as u64;
        }
        let pad = ((512 - size % 512) % 512) as usize;
        body.read_exact(&mut buf[..pad])?;
    }
    io::copy(body, &mut io::sink())?;
    Ok(())
}

fn serve(conn: UnixStream, dir: &Path, n: &AtomicUsize) -> io::Result<()> {
    let mut w = conn.try_clone()?;
    let mut r = BufReader::with_capacity(BLOCK, conn);
    let mut buf = vec![0u8; BLOCK];
    loop {
        let line = read_line(&mut r)?;
        if line.is_empty() {
            return Ok(());
        }
        let mut parts = line.split(' ');
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("");
        let path = path.split('?').next().unwrap_or("").to_string();
        let (mut chunked, mut length) = (false, 0u64);
        loop {
            let h = read_line(&mut r)?.to_ascii_lowercase();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                match k.trim() {
                    "transfer-encoding" => chunked = v.contains("chunked"),
                    "content-length" => length = v.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        if method == "PUT" && path.ends_with("/archive") && chunked {
            let to = dir.join(n.fetch_add(1, Ordering::Relaxed).to_string());
            let mut body = Chunked {
                r: &mut r,
                left: 0,
                done: false,
            };
            extract(&mut body, &to, &mut buf)?;
            w.write_all(
                format!("HTTP/1.1 200 OK\r\n{HEADERS}Content-Length: 0\r\n\r\n").as_bytes(),
            )?;
            continue;
        }
        if chunked {
            let mut body = Chunked {
                r: &mut r,
                left: 0,
                done: false,
            };
            io::copy(&mut body, &mut io::sink())?;
        } else {
            io::copy(&mut (&mut r).take(length), &mut io::sink())?;
        }
        let answer = if path.ends_with("/_ping") {
            format!(
                "HTTP/1.1 200 OK\r\n{HEADERS}Content-Type: text/plain\r\nContent-Length: 0\r\n\r\n"
            )
        } else if path.ends_with("/archive") {
            format!("HTTP/1.1 200 OK\r\n{HEADERS}X-Docker-Container-Path-Stat: {DIR_STAT}\r\nContent-Length: 0\r\n\r\n")
        } else {
            let body = r#"{"message":"cp-floor: not served"}"#;
            format!(
                "HTTP/1.1 404 Not Found\r\n{HEADERS}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        w.write_all(answer.as_bytes())?;
    }
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let (Some(socket), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: cp_floor SOCKET DIR");
        std::process::exit(2);
    };
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket).unwrap_or_else(|e| {
        eprintln!("cp_floor: bind {}: {e}", Path::new(&socket).display());
        std::process::exit(1);
    });
    let dir: &'static Path = Box::leak(PathBuf::from(dir).into_boxed_path());
    let n: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
    for conn in listener.incoming().flatten() {
        std::thread::spawn(move || {
            if let Err(e) = serve(conn, dir, n) {
                eprintln!("cp_floor: {e}");
            }
        });
    }
}
