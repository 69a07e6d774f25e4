//! Docker's exec endpoints: `POST /containers/{id}/exec` (an exec instance, kept in memory),
//! `POST /exec/{id}/start` (hijacked like attach, or detached), `GET /exec/{id}/json` and
//! `POST /exec/{id}/resize`.
//!
//! The process is the runtime's `exec` the engine prepares. Without a TTY its stdout and
//! stderr become stdcopy frames; with one, the runtime's stdio is the slave of a
//! pseudo-terminal the server allocates (the runtime forwards it to the container's own
//! TTY and follows its size on `SIGWINCH`), and the master's bytes go out raw. The exit code
//! is recorded before the stream ends, so the client's inspect right after sees it.

use super::run::{frame, lock, num, pump, take_upgrade, upgrade_response, StdinEnd};
use crate::params::json_error;
use crate::{ApiError, AppState};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::runtime::monitor;
use engine::EngineError;
use serde::Deserialize;
use serde_json::json;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

/// An exec instance.
#[derive(Debug, Clone)]
pub(crate) struct ExecEntry {
    container: String,
    cmd: Vec<String>,
    env: Vec<String>,
    workdir: Option<String>,
    user: Option<String>,
    tty: bool,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    console: Option<(u16, u16)>,
    running: bool,
    exit_code: Option<i32>,
    pid: i32,
    /// The PTY master while a TTY exec runs (for resizes).
    master: Option<Arc<OwnedFd>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct ExecCreateBody {
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    tty: bool,
    env: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    working_dir: String,
    user: String,
    privileged: bool,
    console_size: Option<Vec<u16>>,
}

fn random_id() -> String {
    let mut b = [0u8; 32];
    if let Ok(mut f) = File::open("/dev/urandom") {
        let _ = f.read_exact(&mut b);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `POST /containers/{id}/exec` → 201 `{"Id"}`.
async fn create(
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<ExecCreateBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(b) = body.map_err(json_error)?;
    let cmd = b.cmd.clone().unwrap_or_default();
    if cmd.is_empty() {
        return Err(ApiError::bad_request("No exec command specified"));
    }
    if b.privileged {
        return Err(ApiError::bad_request(
            "privileged exec is not supported yet",
        ));
    }
    let cid = st
        .run(move |e| {
            let c = e.container(&id)?;
            let p = e.process_state(&c)?;
            if p.status == "paused" {
                return Err(EngineError::Conflict(format!(
                    "Container {} is paused, unpause the container before exec",
                    c.id
                )));
            }
            if !p.is_running() {
                return Err(EngineError::Conflict(format!(
                    "container {} is not running",
                    c.id
                )));
            }
            p.refuse_if_restarting(&c.id)?;
            Ok(c.id)
        })
        .await?;
    let exec_id = random_id();
    if let Ok(e) = st.engine() {
        e.emit(
            engine::Event::new("container", "exec_create", cid.clone())
                .with("execID", exec_id.clone()),
        );
    }
    let console = match b.console_size.as_deref() {
        Some([h, w]) if *h > 0 && *w > 0 => Some((*h, *w)),
        _ => None,
    };
    lock(&st.runs().execs).insert(
        exec_id.clone(),
        ExecEntry {
            container: cid,
            cmd,
            env: b.env.unwrap_or_default(),
            workdir: Some(b.working_dir).filter(|w| !w.is_empty()),
            user: Some(b.user).filter(|u| !u.is_empty()),
            tty: b.tty,
            stdin: b.attach_stdin,
            stdout: b.attach_stdout,
            stderr: b.attach_stderr,
            console,
            running: false,
            exit_code: None,
            pid: 0,
            master: None,
        },
    );
    Ok((StatusCode::CREATED, Json(json!({ "Id": exec_id }))).into_response())
}

fn io_err(ctx: &'static str) -> impl Fn(std::io::Error) -> ApiError + Copy {
    move |e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{ctx}: {e}"))
}

fn find(st: &AppState, id: &str) -> Result<ExecEntry, ApiError> {
    lock(&st.runs().execs)
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("No such exec instance: {id}")))
}

fn update(st: &AppState, id: &str, f: impl FnOnce(&mut ExecEntry)) {
    if let Some(x) = lock(&st.runs().execs).get_mut(id) {
        f(x);
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct ExecStartBody {
    detach: bool,
    console_size: Option<Vec<u16>>,
}

/// `POST /exec/{id}/start`: runs the instance, detached (200) or on the hijacked
/// connection (101) until it ends.
async fn start(
    State(st): State<AppState>,
    Path(id): Path<String>,
    mut req: Request,
) -> Result<Response, ApiError> {
    let x = find(&st, &id)?;
    if x.running || x.exit_code.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("Error: Exec command {id} has already run"),
        ));
    }
    let body = axum::body::to_bytes(std::mem::take(req.body_mut()), crate::JSON_BODY_LIMIT)
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let b: ExecStartBody = if body.iter().all(u8::is_ascii_whitespace) {
        ExecStartBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(e.to_string()))?
    };
    let console = match b.console_size.as_deref() {
        Some([h, w]) if *h > 0 && *w > 0 => Some((*h, *w)),
        _ => x.console,
    };
    let tty = x.tty && !b.detach;
    let opts = engine::ExecOptions {
        cmd: x.cmd.clone(),
        env: x.env.clone(),
        workdir: x.workdir.clone(),
        user: x.user.clone(),
        tty,
        detach: false,
    };
    let on_upgrade = if b.detach {
        None
    } else {
        Some(take_upgrade(&mut req)?)
    };
    let container = x.container.clone();
    let mut prepared = match st.run(move |e| e.prepare_exec(&container, &opts)).await {
        Ok(p) => p,
        // moby: once the client is attached, a start that fails (a user the container does
        // not know, a working directory that is a file, the container gone) is told on the
        // stream, as output, and the exec ends with 126
        Err(err) if !b.detach => {
            update(&st, &id, |x| x.exit_code = Some(126));
            let (ours, mut theirs) = UnixStream::pair().map_err(io_err("create a socket pair"))?;
            let text = format!("{}\r\n", err.message);
            let _ = theirs.write_all(&if tty {
                text.into_bytes()
            } else {
                frame(monitor::STDOUT, text.as_bytes())
            });
            drop(theirs);
            let on_upgrade = on_upgrade.expect("attached");
            attach_stream(on_upgrade, ours, StdinEnd::None);
            return Ok(upgrade_response(tty));
        }
        Err(err) => return Err(err),
    };
    update(&st, &id, |x| x.running = true);
    let st2 = st.clone();
    if b.detach {
        use std::process::Stdio;
        prepared
            .command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = prepared.command.spawn().map_err(|e| {
            update(&st, &id, |x| x.running = false);
            io_err("start the exec process")(e)
        })?;
        update(&st, &id, |x| x.pid = child.id() as i32);
        tokio::task::spawn_blocking(move || {
            let status = child.wait();
            finish(&st2, &id, prepared, status, None);
        });
        return Ok(StatusCode::OK.into_response());
    }
    let (ours, theirs) = UnixStream::pair().map_err(io_err("create a socket pair"))?;
    let stdin = x.stdin;
    let (want_out, want_err) = (x.stdout, x.stderr);
    let spawned: Result<(), ApiError> = (|| {
        use std::process::Stdio;
        let io = io_err("start the exec process");
        let theirs = Arc::new(Mutex::new(theirs));
        if tty {
            let (master, slave) = engine::runtime::pty::open_pty(console).map_err(io)?;
            let slave = File::from(slave);
            prepared
                .command
                .stdin(Stdio::from(slave.try_clone().map_err(io)?))
                .stdout(Stdio::from(slave.try_clone().map_err(io)?))
                .stderr(Stdio::from(slave));
            let child = prepared.command.spawn().map_err(io)?;
            // The command keeps its stdio until they are replaced: close the slave here, so
            // the master reads the end once the process is gone.
            prepared
                .command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let master = Arc::new(master);
            let pid = child.id() as i32;
            update(&st, &id, |x| {
                x.pid = pid;
                x.master = Some(master.clone());
            });
            let out_conn = theirs.clone();
            let m_read = File::from(master.try_clone().map_err(io)?);
            let mut gate = UntilStarted::new(prepared.pid_file());
            let reader = std::thread::spawn(move || {
                let mut m = m_read;
                let mut buf = [0u8; 8192];
                loop {
                    match m.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let out = gate.pass(&buf[..n]);
                            if !out.is_empty() && lock(&out_conn).write_all(&out).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = lock(&out_conn).write_all(&gate.end());
            });
            if stdin {
                let mut inbound = lock(&theirs).try_clone().map_err(io)?;
                let mut m_write = File::from(master.try_clone().map_err(io)?);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut inbound, &mut m_write);
                });
            }
            std::thread::spawn(move || {
                let mut child = child;
                let status = child.wait();
                let _ = reader.join();
                finish(&st2, &id, prepared, status, Some((&theirs, true)));
            });
        } else {
            prepared
                .command
                .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = prepared.command.spawn().map_err(io)?;
            update(&st, &id, |x| x.pid = child.id() as i32);
            let mut readers = Vec::new();
            for (stream, wanted, pipe) in [
                (
                    monitor::STDOUT,
                    want_out,
                    child
                        .stdout
                        .take()
                        .map(|p| Box::new(p) as Box<dyn Read + Send>),
                ),
                (
                    monitor::STDERR,
                    want_err,
                    child
                        .stderr
                        .take()
                        .map(|p| Box::new(p) as Box<dyn Read + Send>),
                ),
            ] {
                let Some(mut pipe) = pipe else { continue };
                let conn = theirs.clone();
                // Only the runtime writes on stderr before the process runs.
                let mut gate =
                    (stream == monitor::STDERR).then(|| UntilStarted::new(prepared.pid_file()));
                readers.push(std::thread::spawn(move || {
                    let mut buf = [0u8; 8192];
                    let send = |data: &[u8]| {
                        if wanted && !data.is_empty() {
                            // on a failed write, keep draining so the process never blocks
                            // on a full pipe
                            let _ = lock(&conn).write_all(&frame(stream, data));
                        }
                    };
                    loop {
                        match pipe.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => match &mut gate {
                                Some(g) => send(&g.pass(&buf[..n])),
                                None => send(&buf[..n]),
                            },
                        }
                    }
                    if let Some(g) = &mut gate {
                        send(&g.end());
                    }
                }));
            }
            if let Some(mut child_in) = child.stdin.take() {
                let mut inbound = lock(&theirs).try_clone().map_err(io)?;
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut inbound, &mut child_in);
                });
            }
            std::thread::spawn(move || {
                let status = child.wait();
                for r in readers {
                    let _ = r.join();
                }
                finish(&st2, &id, prepared, status, Some((&theirs, false)));
            });
        }
        Ok(())
    })();
    spawned?;
    let on_upgrade = on_upgrade.expect("attached");
    let end = if stdin {
        StdinEnd::Close
    } else {
        StdinEnd::None
    };
    attach_stream(on_upgrade, ours, end);
    Ok(upgrade_response(tty))
}

/// Once the client's connection is hijacked, copies between it and `ours` (the server's end
/// of the exec's stream).
fn attach_stream(on_upgrade: hyper::upgrade::OnUpgrade, ours: UnixStream, end: StdinEnd) {
    tokio::spawn(async move {
        let Ok(up) = on_upgrade.await else { return };
        if ours.set_nonblocking(true).is_err() {
            return;
        }
        let Ok(conn) = tokio::net::UnixStream::from_std(ours) else {
            return;
        };
        pump(up, conn, end).await;
    });
}

/// An exec's output held back until its process has started (the runtime writes its pid
/// file then): before that, only the runtime writes there, to report a failed start, which
/// Docker tells in its own words (`finish`) and never as the process's output. So what came
/// before the start is passed on once it started, and dropped if it never did.
struct UntilStarted {
    pid_file: std::path::PathBuf,
    held: Vec<u8>,
    started: bool,
}

impl UntilStarted {
    /// More than this held cannot be the runtime's one line: it is passed on.
    const MAX_HELD: usize = 64 << 10;

    fn new(pid_file: &std::path::Path) -> UntilStarted {
        UntilStarted {
            pid_file: pid_file.to_path_buf(),
            held: Vec::new(),
            started: false,
        }
    }

    /// What to pass on of `data` (and of what was held) now.
    fn pass(&mut self, data: &[u8]) -> Vec<u8> {
        if !self.started {
            self.started = self.pid_file.exists();
        }
        self.held.extend_from_slice(data);
        if self.started || self.held.len() > Self::MAX_HELD {
            self.started = true;
            return std::mem::take(&mut self.held);
        }
        Vec::new()
    }

    /// At the end of the output: what was held, if the process started.
    fn end(&mut self) -> Vec<u8> {
        if self.started || self.pid_file.exists() {
            return std::mem::take(&mut self.held);
        }
        Vec::new()
    }
}

/// Records how an exec ended (the runtime's failure to start it is written to the stream as
/// moby does, with its 126/127), then ends the stream.
fn finish(
    st: &AppState,
    id: &str,
    prepared: engine::PreparedExec,
    status: std::io::Result<std::process::ExitStatus>,
    conn: Option<(&Arc<Mutex<UnixStream>>, bool)>,
) {
    let code = match (st.engine(), status) {
        (Ok(e), Ok(status)) => match e.exec_finished(prepared, status) {
            Ok(code) => code,
            Err(err) => {
                let code = match &err {
                    EngineError::Runtime(engine::runtime::RuntimeError::Start {
                        exit_code,
                        ..
                    }) => *exit_code,
                    _ => 126,
                };
                if let Some((c, tty)) = conn {
                    // as output: raw on a terminal, a stdout frame otherwise
                    let text = format!("{err}\r\n");
                    let _ = lock(c).write_all(&if tty {
                        text.into_bytes()
                    } else {
                        frame(monitor::STDOUT, text.as_bytes())
                    });
                }
                code
            }
        },
        _ => 126,
    };
    update(st, id, |x| {
        x.running = false;
        x.exit_code = Some(code);
        x.master = None;
    });
    if let Some((c, _)) = conn {
        let _ = lock(c).shutdown(std::net::Shutdown::Both);
    }
}

/// `GET /exec/{id}/json`.
async fn inspect(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let x = find(&st, &id)?;
    Ok(Json(json!({
        "ID": id,
        "Running": x.running,
        "ExitCode": x.exit_code,
        "ProcessConfig": {
            "tty": x.tty,
            "entrypoint": x.cmd.first(),
            "arguments": x.cmd.get(1..).unwrap_or(&[]),
            "privileged": false,
            "user": x.user.clone().unwrap_or_default(),
        },
        "OpenStdin": x.stdin,
        "OpenStderr": x.stderr,
        "OpenStdout": x.stdout,
        "CanRemove": false,
        "ContainerID": x.container,
        "DetachKeys": "",
        "Pid": x.pid,
    }))
    .into_response())
}

/// `POST /exec/{id}/resize?h=&w=`: the exec's TTY size.
async fn resize(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<StatusCode, ApiError> {
    let h: u16 = num(&q, "h")?.unwrap_or(0);
    let w: u16 = num(&q, "w")?.unwrap_or(0);
    let x = find(&st, &id)?;
    match (&x.master, x.running) {
        (Some(m), true) => {
            engine::runtime::pty::set_size(m, h, w);
            // SAFETY: a signal to the runtime's process, which forwards the new size.
            unsafe { libc::kill(x.pid, libc::SIGWINCH) };
        }
        _ if !x.running && x.exit_code.is_none() => {
            update(&st, &id, |x| x.console = Some((h, w)));
        }
        _ => {}
    }
    Ok(StatusCode::OK)
}

/// The routes of this module.
pub(crate) fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/containers/{id}/exec", post(create))
        .route("/exec/{id}/start", post(start))
        .route("/exec/{id}/json", get(inspect))
        .route("/exec/{id}/resize", post(resize))
}
