//! `monitor`: the process that watches one container, like Podman's conmon or containerd's
//! shim. It outlives whoever started it (it forks away and starts its own session), becomes
//! the child subreaper so the container's init is its child, runs the runtime's `create` and
//! `start`, owns the container's stdio — pipes into the `json-file` log without a TTY, the
//! PTY master (received over `--console-socket`) with one — serves attach on `attach.sock`,
//! and records the exit code, the times and an OOM kill in `state.json`, then deletes the
//! runtime's state. It also holds the container's published host ports for as long as the
//! container runs (bound, never listening: see [`Reservation`]).
//!
//! The caller learns how the start went from JSON lines on the monitor's stdout
//! ([`Event`]); after that the monitor's stdout is `/dev/null`, so the caller may go away.

use crate::driver::Runtime;
use crate::logfile::{self, LineSplitter};
use crate::state::{self, ContainerState, Status};
use crate::{Result, RuntimeError};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// The attach socket's name in the container's directory.
pub const ATTACH_SOCKET: &str = "attach.sock";
/// The control socket's name: JSON lines such as `{"resize":{"height":24,"width":80}}`
/// (the PTY's window size) or `{"close_stdin":true}`.
pub const CONTROL_SOCKET: &str = "control.sock";
/// The file receiving the monitor's own diagnostics in the container's directory.
pub const MONITOR_LOG: &str = "monitor.log";
/// The runtime's log (its errors, as JSON lines) in the container's directory.
pub const RUNTIME_LOG: &str = "runtime.log";
/// The runtime's pid file in the container's directory.
pub const PID_FILE: &str = "container.pid";

/// Stream numbers of the attach framing (Docker's stdcopy): a byte, three zeros, a
/// big-endian length, then the bytes. With a TTY the output is raw.
pub const STDOUT: u8 = 1;
/// See [`STDOUT`].
pub const STDERR: u8 = 2;

/// What the monitor needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorArgs {
    /// The runtime driving the container.
    pub runtime: Runtime,
    /// The container's ID (also the runtime's name for it).
    pub id: String,
    /// The bundle holding `config.json`.
    pub bundle: PathBuf,
    /// The container's directory: log, state, sockets.
    pub dir: PathBuf,
    /// The cgroup path of the spec (for the OOM counter).
    pub cgroups_path: String,
    /// The spec asks for a terminal.
    pub tty: bool,
    /// Keep the container's stdin open for attach clients (`-i`).
    pub stdin: bool,
    /// Close the container's stdin when the first attach client goes (Docker's `StdinOnce`).
    pub stdin_once: bool,
    /// Do not start the process until an attach client is connected (`run` without `-d`).
    pub wait_attach: bool,
    /// The published host ports to hold while the container runs.
    pub reserve: Vec<Reservation>,
    /// The `json-file` log's rotation (`max-size`, `max-file`); `None`: nothing is logged
    /// (`--log-driver none`).
    pub log: Option<logfile::Rotation>,
    /// The attributes every log entry carries (`--log-opt tag/labels/env…`).
    pub log_attrs: std::collections::BTreeMap<String, String>,
    /// A command the monitor runs once the end is recorded (the engine's clean-up:
    /// unmount, events, `--rm`); empty for none.
    pub on_exit: Vec<OsString>,
}

/// A published host port, held by the monitor while its container runs, as dockerd's
/// userland proxy holds it: no other process can bind it meanwhile (it would never see the
/// connections, which the `DNAT` rules send to the container). The socket is bound without
/// `SO_REUSEADDR`, so even a binder asking for reuse is refused, and does not listen, so a
/// connection that reaches it anyway is refused rather than left waiting (see
/// [`Reservation::hold`] for a port in `TIME_WAIT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// `tcp` or `udp`.
    pub proto: String,
    /// The host address (`0.0.0.0`: every address).
    pub ip: std::net::Ipv4Addr,
    /// The host port.
    pub port: u16,
}

impl Reservation {
    /// `tcp:0.0.0.0:8080`.
    fn to_arg(&self) -> String {
        format!("{}:{}:{}", self.proto, self.ip, self.port)
    }

    fn parse(s: &str) -> Option<Reservation> {
        let (proto, rest) = s.split_once(':')?;
        let (ip, port) = rest.rsplit_once(':')?;
        matches!(proto, "tcp" | "udp").then_some(())?;
        Some(Reservation {
            proto: proto.to_string(),
            ip: ip.parse().ok()?,
            port: port.parse().ok()?,
        })
    }

    /// Binds the port: Docker's text when another process has it. A port held only by
    /// closed connections (`TIME_WAIT` after a host server on it stopped) is taken with
    /// `SO_REUSEADDR`, as dockerd's proxy takes it, and then listens (never accepting), since
    /// only a listening socket keeps out binders that ask for reuse too; the rules send every
    /// connection for the port to the container before it could reach this socket.
    pub fn hold(&self) -> Result<OwnedFd> {
        match self.bind(false) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => self.bind(true),
            other => other,
        }
        .map_err(|e| {
            let what = match e.kind() {
                std::io::ErrorKind::AddrInUse => "address already in use".to_string(),
                std::io::ErrorKind::AddrNotAvailable => "cannot assign requested address".into(),
                _ => e.to_string(),
            };
            RuntimeError::Conflict(format!(
                "Error starting userland proxy: listen {}4 {}:{}: bind: {what}",
                self.proto, self.ip, self.port
            ))
        })
    }

    /// A socket bound to the port; with `reuse`, bound with `SO_REUSEADDR` and, for TCP,
    /// listening.
    fn bind(&self, reuse: bool) -> std::io::Result<OwnedFd> {
        let ty = if self.proto == "udp" {
            libc::SOCK_DGRAM
        } else {
            libc::SOCK_STREAM
        };
        // SAFETY: plain socket call; the fd is owned right away.
        let fd = unsafe { libc::socket(libc::AF_INET, ty | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        if reuse {
            let on: libc::c_int = 1;
            // SAFETY: a valid descriptor and an int option of its size.
            let rc = unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_REUSEADDR,
                    (&on as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if rc != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: self.port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(self.ip).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: a valid sockaddr_in and its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: listen on a bound stream socket owned here.
        if reuse && ty == libc::SOCK_STREAM && unsafe { libc::listen(fd.as_raw_fd(), 1) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(fd)
    }
}

/// A step of the start, as the monitor reports it to its caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    /// Created by the runtime; the attach socket is ready (sent with `wait_attach` only).
    Created,
    /// The process runs.
    Started {
        /// Its host PID.
        pid: i32,
    },
    /// It could not be created or started.
    Failed {
        /// Docker's text.
        error: String,
        /// 125, 126 or 127.
        exit_code: i32,
    },
}

impl MonitorArgs {
    /// The arguments that [`MonitorArgs::parse`] reads back.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut v: Vec<OsString> = Vec::new();
        let mut kv = |k: &str, val: OsString| {
            v.push(k.into());
            v.push(val);
        };
        kv("--runtime-name", self.runtime.name.clone().into());
        kv("--runtime", self.runtime.binary.clone().into());
        kv("--runtime-root", self.runtime.root.clone().into());
        kv("--id", self.id.clone().into());
        kv("--bundle", self.bundle.clone().into());
        kv("--dir", self.dir.clone().into());
        kv("--cgroup", self.cgroups_path.clone().into());
        for (flag, on) in [
            ("--tty", self.tty),
            ("--stdin", self.stdin),
            ("--stdin-once", self.stdin_once),
            ("--wait-attach", self.wait_attach),
        ] {
            if on {
                v.push(flag.into());
            }
        }
        for r in &self.reserve {
            v.push("--reserve".into());
            v.push(r.to_arg().into());
        }
        match &self.log {
            None => v.push("--no-log".into()),
            Some(r) => {
                if let Some(size) = r.max_size {
                    v.push("--log-max-size".into());
                    v.push(size.to_string().into());
                }
                if r.max_files != 1 {
                    v.push("--log-max-file".into());
                    v.push(r.max_files.to_string().into());
                }
            }
        }
        if !self.log_attrs.is_empty() {
            // JSON: any key (a label's may hold `=`) and any value travel whole
            v.push("--log-attrs".into());
            v.push(
                serde_json::to_string(&self.log_attrs)
                    .expect("a map of strings serialises")
                    .into(),
            );
        }
        if !self.on_exit.is_empty() {
            v.push("--on-exit".into());
            v.extend(self.on_exit.iter().cloned());
        }
        v
    }

    /// Reads the arguments written by [`MonitorArgs::to_args`].
    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<MonitorArgs> {
        let mut a = MonitorArgs {
            runtime: Runtime {
                name: String::new(),
                binary: PathBuf::new(),
                root: PathBuf::new(),
            },
            id: String::new(),
            bundle: PathBuf::new(),
            dir: PathBuf::new(),
            cgroups_path: String::new(),
            tty: false,
            stdin: false,
            stdin_once: false,
            wait_attach: false,
            reserve: Vec::new(),
            log: Some(logfile::Rotation::default()),
            log_attrs: Default::default(),
            on_exit: Vec::new(),
        };
        let mut it = args.into_iter();
        while let Some(k) = it.next() {
            let k = k.to_string_lossy().into_owned();
            let mut val = || {
                it.next()
                    .ok_or_else(|| RuntimeError::Invalid(format!("monitor: {k} needs a value")))
            };
            match k.as_str() {
                "--runtime-name" => a.runtime.name = val()?.to_string_lossy().into_owned(),
                "--runtime" => a.runtime.binary = val()?.into(),
                "--runtime-root" => a.runtime.root = val()?.into(),
                "--id" => a.id = val()?.to_string_lossy().into_owned(),
                "--bundle" => a.bundle = val()?.into(),
                "--dir" => a.dir = val()?.into(),
                "--cgroup" => a.cgroups_path = val()?.to_string_lossy().into_owned(),
                "--tty" => a.tty = true,
                "--stdin" => a.stdin = true,
                "--stdin-once" => a.stdin_once = true,
                "--wait-attach" => a.wait_attach = true,
                "--reserve" => {
                    let v = val()?.to_string_lossy().into_owned();
                    a.reserve.push(Reservation::parse(&v).ok_or_else(|| {
                        RuntimeError::Invalid(format!("monitor: bad --reserve {v:?}"))
                    })?);
                }
                "--no-log" => a.log = None,
                "--log-attrs" => {
                    let v = val()?;
                    a.log_attrs = serde_json::from_slice(v.as_encoded_bytes()).map_err(|e| {
                        RuntimeError::Invalid(format!("monitor: bad --log-attrs: {e}"))
                    })?;
                }
                "--log-max-size" | "--log-max-file" => {
                    let v = val()?.to_string_lossy().into_owned();
                    let n: u64 =
                        v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                            RuntimeError::Invalid(format!("monitor: bad {k} {v:?}"))
                        })?;
                    let r = a.log.get_or_insert_with(Default::default);
                    if k == "--log-max-size" {
                        r.max_size = Some(n);
                    } else {
                        r.max_files = n;
                    }
                }
                "--on-exit" => {
                    a.on_exit = it.by_ref().collect();
                    break;
                }
                other => {
                    return Err(RuntimeError::Invalid(format!(
                        "monitor: unknown argument {other}"
                    )))
                }
            }
        }
        if a.id.is_empty() || a.dir.as_os_str().is_empty() || a.bundle.as_os_str().is_empty() {
            return Err(RuntimeError::Invalid(
                "monitor: --id, --bundle and --dir are required".into(),
            ));
        }
        Ok(a)
    }
}

/// Docker's exit code for a process that could not be started, from the runtime's text
/// (moby's rules: not found is 127, cannot invoke is 126, anything else 125).
pub fn start_exit_code(msg: &str) -> i32 {
    if msg.contains("executable file not found")
        || msg.contains("no such file or directory")
        || msg.contains("system cannot find the file specified")
    {
        127
    } else if msg.contains("permission denied") {
        126
    } else {
        125
    }
}

/// A started monitor, as its caller sees it.
#[derive(Debug)]
pub struct Spawned {
    events: BufReader<std::process::ChildStdout>,
}

impl Spawned {
    /// The monitor's next report; a monitor that ended without one is an error.
    pub fn next_event(&mut self) -> Result<Event> {
        let mut line = String::new();
        let n = self
            .events
            .read_line(&mut line)
            .map_err(|e| RuntimeError::io("read the monitor's report", e))?;
        if n == 0 {
            return Err(RuntimeError::Runtime {
                msg: "the container monitor ended without reporting (see its monitor.log)".into(),
            });
        }
        serde_json::from_str(line.trim()).map_err(|e| RuntimeError::Runtime {
            msg: format!("monitor report {line:?}: {e}"),
        })
    }

    /// Waits for `Started` (or turns `Failed` into [`RuntimeError::Start`]); returns the PID.
    pub fn wait_started(&mut self) -> Result<i32> {
        loop {
            match self.next_event()? {
                Event::Created => continue,
                Event::Started { pid } => return Ok(pid),
                Event::Failed { error, exit_code } => {
                    return Err(RuntimeError::Start {
                        msg: error,
                        exit_code,
                    })
                }
            }
        }
    }
}

/// Starts a monitor: `program` is a command that ends up calling [`run`] with the arguments
/// appended (for the `strata` binary, its hidden `monitor` subcommand). The monitor detaches
/// at once; read its reports with the returned handle.
pub fn spawn(mut program: Command, args: &MonitorArgs) -> Result<Spawned> {
    let mut child = program
        .args(args.to_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| RuntimeError::io("start the container monitor", e))?;
    let out = child.stdout.take().expect("piped");
    // The first process only forks the monitor away and exits.
    let _ = child.wait();
    Ok(Spawned {
        events: BufReader::new(out),
    })
}

/// Connects to a container's attach socket (a long directory path is reached through a
/// descriptor, since socket addresses are short).
pub fn connect_attach(dir: &Path) -> Result<UnixStream> {
    connect(dir, ATTACH_SOCKET)
}

/// A request on the control socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// Set the PTY's window size.
    Resize {
        /// Rows.
        height: u16,
        /// Columns.
        width: u16,
    },
    /// Close the container's stdin.
    CloseStdin(bool),
    /// The attach client about to close detaches (the detach keys): its end does not close
    /// the container's stdin.
    Detach(bool),
}

/// Sends one request to the monitor's control socket.
pub fn control(dir: &Path, req: &Control) -> Result<()> {
    let mut s = connect(dir, CONTROL_SOCKET)?;
    let mut line = serde_json::to_vec(req).map_err(|e| RuntimeError::Invalid(e.to_string()))?;
    line.push(b'\n');
    s.write_all(&line)
        .map_err(|e| RuntimeError::io("write to the control socket", e))?;
    let _ = s.shutdown(std::net::Shutdown::Write);
    // The monitor closes the connection once the request is applied.
    let _ = s.read(&mut [0u8; 1]);
    Ok(())
}

fn connect(dir: &Path, name: &str) -> Result<UnixStream> {
    let path = dir.join(name);
    let err = |e| RuntimeError::io(format!("connect {}", path.display()), e);
    if path.as_os_str().len() < 100 {
        return UnixStream::connect(&path).map_err(err);
    }
    let d = File::open(dir).map_err(err)?;
    UnixStream::connect(format!("/proc/self/fd/{}/{name}", d.as_raw_fd())).map_err(err)
}

const PIPE_SIZE: libc::c_int = 1 << 20;

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: a two-element array for pipe2.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // A 1 MiB pipe instead of 64 KiB: a process writing fast wakes the monitor (and its log
    // write) once per 1 MiB at most, not once per 64 KiB. Best effort: a host limit below it
    // keeps the default.
    // SAFETY: fcntl on a descriptor just created.
    unsafe { libc::fcntl(fds[0], libc::F_SETPIPE_SZ, PIPE_SIZE) };
    // SAFETY: both descriptors were just created and are owned here.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Receives one descriptor sent with `SCM_RIGHTS` (the runtime's PTY master).
fn recv_fd(sock: &UnixStream) -> std::io::Result<OwnedFd> {
    let mut data = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // Room for one descriptor's control message, aligned.
    let mut cmsg = [0u64; 8];
    // SAFETY: zeroed msghdr filled with live buffers below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cmsg) as _;
    // SAFETY: msg points at live buffers for the duration of the call.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: walking the control messages the kernel wrote into msg.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const RawFd);
                return Ok(OwnedFd::from_raw_fd(fd));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Err(std::io::Error::other(
        "no descriptor received on the console socket",
    ))
}

struct Output {
    /// The `json-file` log (`None`: `--log-driver none`).
    log: Option<Mutex<LogSink>>,
    /// Every entry's `attrs`, encoded once ([`logfile::encode_attrs`]).
    attrs: Vec<u8>,
    clients: Mutex<Vec<UnixStream>>,
    tty: bool,
}

/// The log writer, and whether its last write failed: a failure (a full disk, a rotation
/// that could not rename or create a file) is told once in the monitor's own log, and its
/// end once, however many writes it lasts; the container runs on regardless.
struct LogSink {
    writer: logfile::LogWriter,
    failing: bool,
    id: String,
}

impl LogSink {
    fn write(&mut self, entries: &[u8]) {
        match self.writer.write(entries) {
            Ok(()) if self.failing => {
                self.failing = false;
                eprintln!("monitor {}: the container log is written again", self.id);
            }
            Ok(()) => {}
            Err(e) if !self.failing => {
                self.failing = true;
                eprintln!(
                    "monitor {}: container log: {e} (entries are lost until it recovers)",
                    self.id
                );
            }
            Err(_) => {}
        }
    }
}

impl Output {
    fn emit(&self, stream: u8, data: &[u8], split: &mut LineSplitter) {
        if let Some(log) = &self.log {
            let name = if stream == STDERR { "stderr" } else { "stdout" };
            // One write per chunk read (at most a pipe's worth), not per line; lines encoded
            // straight from the chunk.
            let now = logfile::now();
            let mut buf = Vec::with_capacity(data.len() * 2 + 1024);
            split.push_each(data, |l| {
                logfile::append_entry_with(&mut buf, name, l, &self.attrs, &now)
            });
            if !buf.is_empty() {
                log.lock().unwrap().write(&buf);
            }
        }
        self.broadcast(stream, data);
    }

    fn finish(&self, stream: u8, split: &mut LineSplitter) {
        let name = if stream == STDERR { "stderr" } else { "stdout" };
        if let (Some(log), Some(rest)) = (&self.log, split.finish()) {
            let mut buf = Vec::with_capacity(rest.len() + 128);
            logfile::append_entry_with(&mut buf, name, &rest, &self.attrs, &logfile::now());
            log.lock().unwrap().write(&buf);
        }
    }

    fn broadcast(&self, stream: u8, data: &[u8]) {
        let mut clients = self.clients.lock().unwrap();
        let mut frame = Vec::with_capacity(data.len() + 8);
        if !self.tty {
            frame.extend_from_slice(&[stream, 0, 0, 0]);
            frame.extend_from_slice(&(data.len() as u32).to_be_bytes());
        }
        frame.extend_from_slice(data);
        clients.retain_mut(|c| c.write_all(&frame).is_ok());
    }
}

fn copy_stream(out: Arc<Output>, stream: u8, mut src: File) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut split = LineSplitter::default();
        let mut buf = vec![0u8; PIPE_SIZE as usize];
        loop {
            match src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.emit(stream, &buf[..n], &mut split),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // EIO: every PTY slave is closed.
                Err(_) => break,
            }
        }
        out.finish(stream, &mut split);
    })
}

type StdinSlot = Arc<Mutex<Option<File>>>;

/// Set by [`Control::Detach`]: the next attach client's end keeps the container's stdin open.
static DETACHING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn serve_attach(
    listener: UnixListener,
    out: Arc<Output>,
    stdin: StdinSlot,
    stdin_once: bool,
    first: mpsc::Sender<()>,
) {
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let Ok(reader) = conn.try_clone() else {
                continue;
            };
            out.clients.lock().unwrap().push(conn);
            let _ = first.send(());
            let stdin = stdin.clone();
            std::thread::spawn(move || {
                let mut reader = reader;
                let mut buf = [0u8; 8192];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let mut slot = stdin.lock().unwrap();
                            if let Some(w) = slot.as_mut() {
                                if w.write_all(&buf[..n]).is_err() {
                                    *slot = None;
                                }
                            }
                        }
                    }
                }
                let detached = DETACHING.swap(false, std::sync::atomic::Ordering::SeqCst);
                if stdin_once && !detached {
                    stdin.lock().unwrap().take();
                }
            });
        }
    });
}

fn serve_control(listener: UnixListener, master: Option<Arc<File>>, stdin: StdinSlot) {
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let mut r = BufReader::new(&conn);
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                match serde_json::from_str::<Control>(line.trim()) {
                    Ok(Control::Resize { height, width }) => {
                        if let Some(m) = &master {
                            crate::pty::set_size(&**m, height, width);
                        }
                    }
                    Ok(Control::CloseStdin(true)) => {
                        stdin.lock().unwrap().take();
                    }
                    Ok(Control::Detach(true)) => {
                        DETACHING.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                    _ => {}
                }
                line.clear();
            }
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }
    });
}

struct Reporter(Option<File>);

impl Reporter {
    fn send(&mut self, e: &Event) {
        if let Some(f) = self.0.as_mut() {
            let mut line = serde_json::to_vec(e).unwrap_or_default();
            line.push(b'\n');
            let _ = f.write_all(&line);
        }
    }
}

fn runtime_error(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(RUNTIME_LOG)).ok()?;
    text.lines().rev().find_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        (v["level"] == "error" || v["level"] == "fatal")
            .then(|| v["msg"].as_str().map(str::to_string))?
    })
}

fn decode_status(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

/// The monitor's main: everything described in the module documentation. Returns the
/// process's exit status (0 once the container's end is recorded).
pub fn run(args: MonitorArgs) -> i32 {
    // Fork away from the caller: it waits for this first process, and the monitor is
    // reparented (to init or a subreaper), in a session of its own.
    // SAFETY: the process is single-threaded here.
    match unsafe { libc::fork() } {
        -1 => return 1,
        0 => {}
        _ => {
            // SAFETY: leaving the intermediate process without running destructors.
            unsafe { libc::_exit(0) }
        }
    }
    // SAFETY: plain syscalls without pointers.
    unsafe {
        // An attach client that hangs up must never end the monitor.
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::setsid();
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    // The report goes to the caller's pipe; stdio becomes /dev/null and the monitor's log.
    // SAFETY: dup of fd 1, owned by the returned File.
    let report = unsafe {
        let fd = libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3);
        (fd >= 0).then(|| File::from_raw_fd(fd))
    };
    let mut reporter = Reporter(report);
    if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
        // SAFETY: replacing the standard descriptors with /dev/null.
        unsafe {
            libc::dup2(null.as_raw_fd(), 0);
            libc::dup2(null.as_raw_fd(), 1);
        }
    }
    if let Ok(log) = File::options()
        .create(true)
        .append(true)
        .open(args.dir.join(MONITOR_LOG))
    {
        // SAFETY: fd 2 becomes the monitor's log.
        unsafe { libc::dup2(log.as_raw_fd(), 2) };
    }
    match supervise(&args, &mut reporter) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("monitor {}: {e}", args.id);
            reporter.send(&Event::Failed {
                error: e.to_string(),
                exit_code: 125,
            });
            1
        }
    }
}

fn supervise(a: &MonitorArgs, reporter: &mut Reporter) -> Result<()> {
    let io = |ctx: &str| {
        let ctx = ctx.to_string();
        move |e| RuntimeError::io(ctx, e)
    };
    std::env::set_current_dir(&a.dir).map_err(io("enter the container directory"))?;
    let log = match a.log {
        Some(rotation) => Some(Mutex::new(LogSink {
            writer: logfile::LogWriter::open(&a.dir.join(logfile::LOG_FILE), rotation)
                .map_err(io("open the container log"))?,
            failing: false,
            id: a.id.clone(),
        })),
        None => None,
    };
    let out = Arc::new(Output {
        log,
        attrs: logfile::encode_attrs(&a.log_attrs),
        clients: Mutex::new(Vec::new()),
        tty: a.tty,
    });
    let _ = std::fs::remove_file(a.dir.join(RUNTIME_LOG));
    let _ = std::fs::remove_file(a.dir.join(PID_FILE));
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    let mut st = ContainerState {
        status: Status::Created,
        monitor_pid: me,
        monitor_start: state::process_start(me).map_or(0, |(t, _)| t),
        runtime: Some(state::RuntimeRef {
            name: a.runtime.name.clone(),
            binary: a.runtime.binary.clone(),
            root: a.runtime.root.clone(),
        }),
        ..Default::default()
    };

    // The published ports, held before anything starts; another process on one of them
    // fails the start with Docker's text, before the runtime creates anything.
    let mut reserved = Vec::with_capacity(a.reserve.len());
    for r in &a.reserve {
        match r.hold() {
            Ok(fd) => reserved.push(fd),
            Err(e) => return refuse(a, reporter, &mut st, e.to_string(), 125),
        }
    }

    let stdin_slot: StdinSlot = Arc::new(Mutex::new(None));
    let mut readers = Vec::new();
    let console_path =
        std::env::temp_dir().join(format!(".strata-console-{}.sock", st.monitor_pid));
    let mut cmd = a.runtime.create_command(
        &a.id,
        &a.bundle,
        &a.dir.join(PID_FILE),
        a.tty.then_some(console_path.as_path()),
        &a.dir.join(RUNTIME_LOG),
    );
    let mut pending: Vec<(u8, File)> = Vec::new();
    let console = if a.tty {
        let _ = std::fs::remove_file(&console_path);
        let l = UnixListener::bind(&console_path).map_err(io("bind the console socket"))?;
        l.set_nonblocking(true).map_err(io("console socket"))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Some(l)
    } else {
        let (or, ow) = pipe().map_err(io("pipe"))?;
        let (er, ew) = pipe().map_err(io("pipe"))?;
        if a.stdin {
            let (ir, iw) = pipe().map_err(io("pipe"))?;
            *stdin_slot.lock().unwrap() = Some(File::from(iw));
            cmd.stdin(Stdio::from(ir));
        } else {
            cmd.stdin(Stdio::null());
        }
        cmd.stdout(Stdio::from(ow)).stderr(Stdio::from(ew));
        pending.push((STDOUT, File::from(or)));
        pending.push((STDERR, File::from(er)));
        None
    };
    let mut child = cmd.spawn().map_err(io("run the runtime's create"))?;
    // The container's ends of the pipes live in the child now.
    drop(cmd);
    let mut master = None;
    if let Some(l) = &console {
        loop {
            match l.accept() {
                Ok((s, _)) => {
                    master = Some(recv_fd(&s).map_err(io("receive the PTY master"))?);
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if child.try_wait().map_err(io("wait for create"))?.is_some() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(RuntimeError::io("accept on the console socket", e)),
            }
        }
        let _ = std::fs::remove_file(&console_path);
    }
    let created = child.wait().map_err(io("wait for create"))?;
    if !created.success() {
        let msg = runtime_error(&a.dir)
            .unwrap_or_else(|| format!("{} create: {created}", a.runtime.name));
        drop(reserved);
        return fail(a, reporter, &mut st, &msg);
    }
    let pid: i32 = std::fs::read_to_string(a.dir.join(PID_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let mut master_ctl = None;
    if let Some(m) = master {
        let m = File::from(m);
        if a.stdin {
            *stdin_slot.lock().unwrap() = Some(m.try_clone().map_err(io("dup the PTY master"))?);
        }
        master_ctl = Some(Arc::new(m.try_clone().map_err(io("dup the PTY master"))?));
        readers.push(copy_stream(out.clone(), STDOUT, m));
    }
    for (s, f) in pending {
        readers.push(copy_stream(out.clone(), s, f));
    }
    let _ = std::fs::remove_file(a.dir.join(ATTACH_SOCKET));
    let listener = UnixListener::bind(ATTACH_SOCKET).map_err(io("bind the attach socket"))?;
    let _ = std::fs::remove_file(a.dir.join(CONTROL_SOCKET));
    let ctl = UnixListener::bind(CONTROL_SOCKET).map_err(io("bind the control socket"))?;
    serve_control(ctl, master_ctl, stdin_slot.clone());
    let (first_tx, first_rx) = mpsc::channel();
    serve_attach(
        listener,
        out.clone(),
        stdin_slot.clone(),
        a.stdin_once,
        first_tx,
    );
    st.pid = pid;
    state::write(&a.dir, &st)?;
    if a.wait_attach {
        reporter.send(&Event::Created);
        let _ = first_rx.recv_timeout(Duration::from_secs(60));
    }
    st.started_at = Some(logfile::now());
    if let Err(e) = a.runtime.start(&a.id) {
        drop(reserved);
        return fail(a, reporter, &mut st, &e.to_string());
    }
    st.status = Status::Running;
    state::write(&a.dir, &st)?;
    reporter.send(&Event::Started { pid });
    reporter.0 = None;

    // The health check, when the engine wrote one, runs while the process does.
    let health = crate::health::Checker::start(&a.runtime, &a.id, &a.dir);
    let code = wait_for(pid);
    if let Some(h) = health {
        h.finish();
    }
    // The ports are free again before the end is recorded: whoever sees the container exited
    // (a restart, a new run publishing the same port) can bind them.
    drop(reserved);
    st.oom_killed = crate::cgroup::oom_kills(&a.cgroups_path).unwrap_or(0) > 0;
    for r in readers {
        let _ = r.join();
    }
    if let Err(e) = a.runtime.delete(&a.id, true) {
        eprintln!("monitor {}: {e}", a.id);
    }
    st.status = Status::Exited;
    st.exit_code = Some(code);
    st.finished_at = Some(logfile::now());
    st.pid = 0;
    state::write(&a.dir, &st)?;
    let _ = std::fs::remove_file(a.dir.join(ATTACH_SOCKET));
    let _ = std::fs::remove_file(a.dir.join(CONTROL_SOCKET));
    for c in out.clients.lock().unwrap().drain(..) {
        let _ = c.shutdown(std::net::Shutdown::Both);
    }
    if let Some((prog, rest)) = a.on_exit.split_first() {
        let r = Command::new(prog)
            .args(rest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
        if let Err(e) = r {
            eprintln!("monitor {}: on-exit command: {e}", a.id);
        }
    }
    Ok(())
}

/// Reaps children until `pid` ends; its exit code (128 + signal when killed).
fn wait_for(pid: i32) -> i32 {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid status pointer.
        let r = unsafe { libc::waitpid(-1, &mut status, 0) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            // Not our child after all: watch it instead; its code is unknown.
            while state::alive(pid) {
                std::thread::sleep(Duration::from_millis(50));
            }
            return state::LOST_EXIT_CODE;
        }
        if r == pid {
            return decode_status(status);
        }
        let mut reaped = REAPED.lock().unwrap_or_else(|e| e.into_inner());
        reaped.push((r, decode_status(status)));
        if reaped.len() > 256 {
            reaped.remove(0);
        }
    }
}

/// Children this monitor reaped that were not the container's init (a health check's
/// runtime `exec`, reaped here since `wait_for` reaps every child), with their exit codes,
/// for the thread that started them ([`take_reaped`]).
static REAPED: Mutex<Vec<(i32, i32)>> = Mutex::new(Vec::new());

/// The exit code of child `pid` if the monitor's main thread reaped it.
pub(crate) fn take_reaped(pid: i32) -> Option<i32> {
    let mut reaped = REAPED.lock().unwrap_or_else(|e| e.into_inner());
    let i = reaped.iter().position(|(p, _)| *p == pid)?;
    Some(reaped.remove(i).1)
}

/// A start that did not happen: the container stays `created`, with `error` and Docker's
/// `exit_code` recorded, then reported to the caller. A published port found taken ends the
/// start here, before the runtime is asked (125).
fn refuse(
    a: &MonitorArgs,
    reporter: &mut Reporter,
    st: &mut ContainerState,
    error: String,
    exit_code: i32,
) -> Result<()> {
    st.status = Status::Created;
    st.pid = 0;
    st.exit_code = Some(exit_code);
    st.error = Some(error.clone());
    state::write(&a.dir, st)?;
    reporter.send(&Event::Failed { error, exit_code });
    // Race-test hook: with `STRATA_FAILPOINT=monitor:refused` the monitor stays a few
    // seconds after reporting a refused start, as a slow machine may keep it, so a test can
    // show that whoever removes the container meanwhile leaves nothing mounted.
    if std::env::var_os("STRATA_FAILPOINT").is_some_and(|v| v == "monitor:refused") {
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
    Ok(())
}

/// The runtime could not create or start the container: its state and the sockets go, and the
/// start is refused with Docker's text and exit code for `msg`.
fn fail(
    a: &MonitorArgs,
    reporter: &mut Reporter,
    st: &mut ContainerState,
    msg: &str,
) -> Result<()> {
    let _ = a.runtime.delete(&a.id, true);
    let _ = std::fs::remove_file(a.dir.join(CONTROL_SOCKET));
    let _ = std::fs::remove_file(a.dir.join(ATTACH_SOCKET));
    let error =
        format!("failed to create task for container: OCI runtime create failed: {msg}: unknown");
    refuse(a, reporter, st, error, start_exit_code(msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_options_travel_in_the_arguments() {
        let mut a = MonitorArgs {
            runtime: Runtime {
                name: "runc".into(),
                binary: "/usr/bin/runc".into(),
                root: "/run/x".into(),
            },
            id: "abc".into(),
            bundle: "/b".into(),
            dir: "/d".into(),
            cgroups_path: String::new(),
            tty: false,
            stdin: false,
            stdin_once: false,
            wait_attach: false,
            reserve: Vec::new(),
            log: Some(logfile::Rotation::default()),
            log_attrs: Default::default(),
            on_exit: vec!["/bin/true".into()],
        };
        for log in [
            None,
            Some(logfile::Rotation::default()),
            Some(logfile::Rotation {
                max_size: Some(1000),
                max_files: 3,
            }),
            Some(logfile::Rotation {
                max_size: None,
                max_files: 2,
            }),
        ] {
            a.log = log;
            assert_eq!(MonitorArgs::parse(a.to_args()).unwrap(), a);
        }
        a.log_attrs = [
            ("tag", "web/1"),
            ("X", "a=b c"),
            ("k=1", "v\n\"x\""),
            ("empty", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(MonitorArgs::parse(a.to_args()).unwrap(), a);
        let bad = [
            "--id",
            "x",
            "--bundle",
            "/b",
            "--dir",
            "/d",
            "--log-max-file",
            "0",
        ];
        let err = MonitorArgs::parse(bad.map(OsString::from)).unwrap_err();
        assert!(err.to_string().contains("--log-max-file"), "{err}");
    }
}
