//! `GET /api/containers/{id}/terminal?mode=exec|attach&cmd=&rows=&cols=`: a WebSocket that
//! carries a container's terminal to the dashboard's xterm.js, over the same machinery as
//! the docker CLI's `exec -it` and `attach`.
//!
//! - `mode=exec` (the default) runs `cmd` (default `sh`) with a TTY in a running container:
//!   the engine's prepared runtime `exec` on a pseudo-terminal the server allocates, as
//!   `POST /exec/{id}/start` does for the docker CLI.
//! - `mode=attach` joins the container's own TTY through its monitor's attach socket. A
//!   container that does not run yet is started by the attach itself, with the monitor
//!   waiting for this client (as the docker CLI attaches before it starts), so the first
//!   prompt is never lost: this is how the dashboard's Run dialog starts a shell.
//!
//! Binary frames carry keystrokes in and output out; a text frame `{"rows","cols"}`
//! (`TerminalControl`) resizes; the last text frame `{"exit_code"}` or `{"error"}`
//! (`TerminalEndDto`) says how the session ended. When the page goes away first, an exec's
//! process gets `SIGHUP` and an attached container keeps running (a detach).
//!
//! This is the one `GET` that acts. Browsers always send `Origin` on a WebSocket handshake and
//! the guard refuses a foreign one, so no other page can open it; in team mode it needs the
//! operator role like `attach` and `exec`.

use super::dto::{TerminalControl, TerminalEndDto};
use crate::params::FirstQuery;
use crate::{ApiError, AppState};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use engine::runtime::monitor;
use engine::{Engine, EngineError};
use serde::Deserialize;
use std::fs::File;
use std::io::{Read, Write};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The terminal's query.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TerminalQuery {
    /// `exec` (a new process, default) or `attach` (the container's own TTY; starts it).
    #[serde(default)]
    mode: Option<String>,
    /// The command of an exec, split at spaces (default `sh`).
    #[serde(default)]
    cmd: Option<String>,
    /// Initial height.
    #[serde(default)]
    rows: Option<u16>,
    /// Initial width.
    #[serde(default)]
    cols: Option<u16>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Exec,
    Attach,
}

/// Opens a terminal on the container (a WebSocket; see the module doc).
#[utoipa::path(get, path = "/api/containers/{id}/terminal", tag = "containers",
    params(("id" = String, Path, description = "container ID, ID prefix or name"), TerminalQuery),
    responses((status = 101, description = "the WebSocket: binary frames both ways, TerminalControl and TerminalEndDto as text frames"),
        (status = 400, body = super::dto::ErrorDto), (status = 404, body = super::dto::ErrorDto), (status = 409, body = super::dto::ErrorDto)))]
pub(crate) async fn terminal(
    State(st): State<AppState>,
    Path(id): Path<String>,
    FirstQuery(q): FirstQuery<TerminalQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let mode = match q.mode.as_deref().unwrap_or("exec") {
        "exec" | "" => Mode::Exec,
        "attach" => Mode::Attach,
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid terminal mode {other:?}: use exec or attach"
            )))
        }
    };
    let cmd: Vec<String> = q
        .cmd
        .as_deref()
        .unwrap_or("sh")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if mode == Mode::Exec && cmd.is_empty() {
        return Err(ApiError::bad_request("No exec command specified"));
    }
    let cid = st
        .run(move |e| {
            let c = e.container(&id)?;
            let status = e.process_state(&c)?.status;
            if status == "paused" {
                return Err(EngineError::Conflict(format!(
                    "Container {} is paused, unpause the container first",
                    c.name
                )));
            }
            match mode {
                Mode::Exec if status != "running" => Err(EngineError::Conflict(format!(
                    "container {} is not running: start it, or attach to start it",
                    c.name
                ))),
                Mode::Attach if !e.run_config(&c)?.tty => Err(EngineError::Conflict(format!(
                    "container {} has no terminal (it was created without -t): open a shell with exec instead",
                    c.name
                ))),
                _ => Ok(c.id),
            }
        })
        .await?;
    let engine = st.engine()?;
    let size = match (q.rows, q.cols) {
        (Some(r), Some(c)) if r > 0 && c > 0 => Some((r, c)),
        _ => None,
    };
    Ok(ws.on_upgrade(move |socket| session(engine, cid, mode, cmd, size, socket)))
}

/// A running terminal: output chunks, an input queue, and what to do on a resize, at the end
/// and when the page leaves first.
struct Pipe {
    output: mpsc::Receiver<Vec<u8>>,
    input: std::sync::mpsc::Sender<Vec<u8>>,
    resize: Box<dyn Fn(u16, u16) + Send + Sync>,
    exit: oneshot::Receiver<Result<i32, String>>,
    hangup: Box<dyn FnOnce() + Send>,
}

async fn session(
    engine: Arc<Engine>,
    cid: String,
    mode: Mode,
    cmd: Vec<String>,
    size: Option<(u16, u16)>,
    mut socket: WebSocket,
) {
    let e2 = engine.clone();
    let opened = tokio::task::spawn_blocking(move || match mode {
        Mode::Exec => open_exec(e2, &cid, cmd, size),
        Mode::Attach => open_attach(e2, &cid, size),
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    let mut pipe = match opened {
        Ok(p) => p,
        Err(error) => {
            end(&mut socket, None, Some(error)).await;
            return;
        }
    };
    let resize = Arc::new(pipe.resize);
    let mut page_left = false;
    loop {
        tokio::select! {
            chunk = pipe.output.recv() => match chunk {
                Some(bytes) => {
                    if socket.send(Message::Binary(bytes.into())).await.is_err() {
                        page_left = true;
                        break;
                    }
                }
                None => break,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Binary(b))) => {
                    let _ = pipe.input.send(b.to_vec());
                }
                Some(Ok(Message::Text(t))) => {
                    if let Ok(c) = serde_json::from_str::<TerminalControl>(t.as_str()) {
                        if c.rows > 0 && c.cols > 0 {
                            let r = resize.clone();
                            let _ = tokio::task::spawn_blocking(move || r(c.rows, c.cols)).await;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    page_left = true;
                    break;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    if page_left {
        let hangup = pipe.hangup;
        let _ = tokio::task::spawn_blocking(hangup).await;
        return;
    }
    match pipe.exit.await {
        Ok(Ok(code)) => end(&mut socket, Some(code), None).await,
        Ok(Err(error)) => end(&mut socket, None, Some(error)).await,
        Err(_) => end(&mut socket, None, Some("the session ended".into())).await,
    }
}

async fn end(socket: &mut WebSocket, exit_code: Option<i32>, error: Option<String>) {
    let text = serde_json::to_string(&TerminalEndDto { exit_code, error }).unwrap_or_default();
    let _ = socket.send(Message::Text(text.into())).await;
    let _ = socket.send(Message::Close(None)).await;
}

/// Copies `r` into the output channel until it ends.
fn pump_out(mut r: impl Read + Send + 'static, tx: mpsc::Sender<Vec<u8>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

/// Writes what the page types into `w`.
fn pump_in(mut w: impl Write + Send + 'static) -> std::sync::mpsc::Sender<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        for chunk in rx {
            if w.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    tx
}

/// The container's own TTY through its monitor, starting the container when it does not run.
fn open_attach(engine: Arc<Engine>, cid: &str, size: Option<(u16, u16)>) -> Result<Pipe, String> {
    let e = &engine;
    let attach = || -> Result<(std::os::unix::net::UnixStream, bool), EngineError> {
        let c = e.container(cid)?;
        let dir = e.container_dir_of(&c);
        let resize = |dir: &std::path::Path| {
            if let Some((height, width)) = size {
                let _ = monitor::control(dir, &monitor::Control::Resize { height, width });
            }
        };
        if e.process_state(&c)?.is_running() {
            resize(&dir);
            return Ok((monitor::connect_attach(&dir)?, false));
        }
        let Some(mut s) = e.start_container(&c.id, true)? else {
            // started meanwhile by someone else
            resize(&dir);
            return Ok((monitor::connect_attach(&dir)?, false));
        };
        if let monitor::Event::Failed { error, exit_code } = s.next_event()? {
            return Err(engine::runtime::RuntimeError::Start {
                msg: error,
                exit_code,
            }
            .into());
        }
        resize(&dir);
        let conn = monitor::connect_attach(&dir)?;
        e.await_start(&c.id, &mut s)?;
        Ok((conn, true))
    };
    let (conn, started) = attach().map_err(|err| err.to_string())?;
    let c = e.container(cid).map_err(|err| err.to_string())?;
    let auto_remove = started && e.run_config(&c).map(|rc| rc.auto_remove).unwrap_or(false);
    let dir = e.container_dir_of(&c);
    let (out_tx, output) = mpsc::channel(64);
    pump_out(conn.try_clone().map_err(|err| err.to_string())?, out_tx);
    let input = pump_in(conn.try_clone().map_err(|err| err.to_string())?);
    // The exit code, once the process ends; an attached `--rm` container is its client's to
    // remove (the monitor removes only detached ones), whether or not the page stays.
    let (exit_tx, exit) = oneshot::channel();
    let (e2, id) = (engine.clone(), c.id.clone());
    std::thread::spawn(move || {
        let code = e2.wait_container(&id).map_err(|err| err.to_string());
        if auto_remove {
            let _ = e2.remove_container(&id, true);
        }
        let _ = exit_tx.send(code);
    });
    let d2 = dir.clone();
    Ok(Pipe {
        output,
        input,
        resize: Box::new(move |height, width| {
            let _ = monitor::control(&d2, &monitor::Control::Resize { height, width });
        }),
        exit,
        hangup: Box::new(move || {
            // a detach: the container's stdin stays open for the next client
            let _ = monitor::control(&dir, &monitor::Control::Detach(true));
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }),
    })
}

/// A new process with a TTY in the running container (the engine's prepared `exec`).
fn open_exec(
    engine: Arc<Engine>,
    cid: &str,
    cmd: Vec<String>,
    size: Option<(u16, u16)>,
) -> Result<Pipe, String> {
    use std::process::Stdio;
    let opts = engine::ExecOptions {
        cmd,
        tty: true,
        ..Default::default()
    };
    let mut prepared = engine.prepare_exec(cid, &opts).map_err(|e| e.to_string())?;
    let io = |e: std::io::Error| format!("cannot start the shell: {e}");
    let (master, slave) = engine::runtime::pty::open_pty(size).map_err(io)?;
    let slave = File::from(slave);
    prepared
        .command
        .stdin(Stdio::from(slave.try_clone().map_err(io)?))
        .stdout(Stdio::from(slave.try_clone().map_err(io)?))
        .stderr(Stdio::from(slave));
    let mut child = prepared.command.spawn().map_err(io)?;
    // the command keeps its stdio until replaced: drop the slave here, so the master reads
    // the end once the process is gone
    prepared
        .command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let pid = child.id() as i32;
    let master = Arc::new(master);
    let (out_tx, output) = mpsc::channel(64);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let reader = File::from(master.try_clone().map_err(io)?);
    std::thread::spawn(move || {
        let mut r = reader;
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if out_tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = done_tx.send(());
    });
    let input = pump_in(File::from(master.try_clone().map_err(io)?));
    let (exit_tx, exit) = oneshot::channel();
    let e2 = engine.clone();
    std::thread::spawn(move || {
        let status = child.wait();
        let _ = done_rx.recv_timeout(std::time::Duration::from_secs(2));
        let code = match status {
            Ok(status) => e2
                .exec_finished(prepared, status)
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let _ = exit_tx.send(code);
    });
    let m2 = master.clone();
    Ok(Pipe {
        output,
        input,
        resize: Box::new(move |rows, cols| {
            engine::runtime::pty::set_size(&m2, rows, cols);
            // SAFETY: a signal to the runtime's process, which forwards the new size.
            unsafe { libc::kill(pid, libc::SIGWINCH) };
        }),
        exit,
        hangup: Box::new(move || {
            drop(master);
            // SAFETY: the runtime's `exec` forwards the hang-up to the shell.
            unsafe { libc::kill(pid, libc::SIGHUP) };
        }),
    })
}
