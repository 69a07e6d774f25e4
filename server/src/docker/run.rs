//! Docker's endpoints for a container's process and its stdio: `start`, `wait`, `logs`,
//! `top`, `resize`, `attach`, `rename` and `prune`, over the engine's `run` (`stop`, `kill`, `restart`,
//! `pause`, `unpause` are in `containers`).
//!
//! `attach` is moby's hijack: the request asks `Connection: Upgrade`, `Upgrade: tcp`, the
//! answer is `101` with `application/vnd.docker.multiplexed-stream` (stdcopy frames: a stream
//! byte, three zeros, a big-endian length) or, with a TTY, `application/vnd.docker.raw-stream`,
//! and the connection then carries the container's stdio both ways. The monitor's attach
//! socket already speaks that framing, so the server copies bytes. The docker CLI attaches
//! *before* it starts a container: such a client is kept in [`Runs`] until the `start`, which
//! starts the monitor waiting for it and hands it the monitor's attach connection, so the
//! first bytes of a short process are never lost.
//!
//! `wait` answers its headers at once and its body (`{"StatusCode":N,"Error":null}`) when the
//! condition is met, as moby does (the CLI waits before it starts).

use crate::params::{first, truthy};
use crate::{ApiError, AppState};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{CONNECTION, CONTENT_TYPE, UPGRADE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use engine::runtime::monitor;
use engine::{EngineError, ErrorKind};
use serde_json::json;
use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// A pending wait: when it was asked, and the flag that answers it at once.
type Wait = (Instant, Arc<AtomicBool>);

/// What the Docker API remembers about running containers between requests.
#[derive(Default)]
pub(crate) struct Runs {
    /// Attach clients of containers not started yet, by container ID: the start hands the
    /// first one the monitor's attach connection.
    pending: Mutex<HashMap<String, oneshot::Sender<UnixStream>>>,
    /// The TTY size asked at create (`HostConfig.ConsoleSize`) or by a resize before start.
    console: Mutex<HashMap<String, (u16, u16)>>,
    /// Exit codes of `--rm` containers this server removed, for `wait?condition=removed`.
    removed: Mutex<HashMap<String, i32>>,
    /// Containers being started: the engine's state reads finish a run that is not running
    /// yet (unmount the root), so the `wait` poller leaves them alone until the start is over.
    starting: Mutex<std::collections::HashSet<String>>,
    /// Pending waits by container: when they were asked and a flag that answers them at once
    /// (see [`Runs::release_waits_near`]).
    waits: Mutex<HashMap<String, Vec<Wait>>>,
    /// Exec instances (see `exec`).
    pub(crate) execs: Mutex<HashMap<String, super::exec::ExecEntry>>,
}

impl std::fmt::Debug for Runs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runs").finish_non_exhaustive()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Runs {
    fn add_wait(&self, id: &str) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        let mut w = lock(&self.waits);
        let list = w.entry(id.to_string()).or_default();
        list.retain(|(_, f)| Arc::strong_count(f) > 1);
        list.push((Instant::now(), flag.clone()));
        flag
    }

    /// A TTY client detached: the docker CLI cannot tell its own detach over TCP (the escape
    /// error comes back wrapped), so after its stdin ends it waits for the output's end and
    /// then for the container's exit. The waits asked within a few seconds of the attach
    /// (the CLI's own: `run` asks right after attaching, `attach` right before) are answered
    /// with 0, as a detach exits.
    fn release_waits_near(&self, id: &str, at: Instant) {
        if let Some(list) = lock(&self.waits).get(id) {
            for (t, f) in list {
                let d = if *t > at { *t - at } else { at - *t };
                if d < Duration::from_secs(3) {
                    f.store(true, Ordering::SeqCst);
                }
            }
        }
    }

    /// Remembers the console size for a container's next start.
    pub(crate) fn set_console(&self, id: &str, h: u16, w: u16) {
        if h > 0 && w > 0 {
            lock(&self.console).insert(id.to_string(), (h, w));
        }
    }
}

/// A query value as a number (`t=5`, `h=24`); absent or empty is `None`, anything else a 400.
pub(crate) fn num<T: std::str::FromStr>(
    q: &[(String, String)],
    key: &str,
) -> Result<Option<T>, ApiError> {
    match first(q, key) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v:?}"))),
    }
}

/// `POST /containers/{id}/start` → 204, or 304 when it already runs. A container with an
/// attach client waiting starts only once the client has the monitor's connection. A
/// failed start of an `AutoRemove` container removes it, as moby does.
async fn start(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let st2 = st.clone();
    let (started, auto_remove_attached, cid) = st
        .run(move |e| {
            let c = e.container(&id)?;
            if e.process_state(&c)?.is_running() {
                return Ok((false, false, c.id));
            }
            let rc = e.run_config(&c)?;
            let _starting = Starting::new(st2.runs(), &c.id);
            let waiter = lock(&st2.runs().pending).remove(&c.id);
            let attached = waiter.is_some();
            let console = lock(&st2.runs().console).get(&c.id).copied();
            let res = (|| -> Result<bool, EngineError> {
                let Some(mut s) = e.start_container(&c.id, attached)? else {
                    return Ok(false);
                };
                if let Some(tx) = waiter {
                    match s.next_event()? {
                        monitor::Event::Failed { error, exit_code } => {
                            return Err(engine::runtime::RuntimeError::Start {
                                msg: error,
                                exit_code,
                            }
                            .into())
                        }
                        monitor::Event::Created | monitor::Event::Started { .. } => {}
                    }
                    let dir = e.container_dir_of(&c);
                    if let (true, Some((height, width))) = (rc.tty, console) {
                        let _ = monitor::control(&dir, &monitor::Control::Resize { height, width });
                    }
                    let conn = monitor::connect_attach(&dir)?;
                    let _ = tx.send(conn);
                }
                e.await_start(&c.id, &mut s)?;
                Ok(true)
            })();
            match res {
                Ok(started) => Ok((started, started && attached && rc.auto_remove, c.id)),
                Err(err) => {
                    if rc.auto_remove {
                        let code = match &err {
                            EngineError::Runtime(engine::runtime::RuntimeError::Start {
                                exit_code,
                                ..
                            }) => *exit_code,
                            _ => 125,
                        };
                        lock(&st2.runs().removed).insert(c.id.clone(), code);
                        let _ = e.remove_container_with(&c.id, true, true);
                    }
                    Err(err)
                }
            }
        })
        .await?;
    if auto_remove_attached {
        // The monitor removes a detached `--rm` container; an attached one is its client's
        // to remove, and here the client is this server.
        let st3 = st.clone();
        tokio::task::spawn_blocking(move || remove_when_done(&st3, &cid));
    }
    Ok(if started {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_MODIFIED
    }
    .into_response())
}

/// Marks a container as being started while it lives.
struct Starting<'a> {
    runs: &'a Runs,
    id: String,
}

impl<'a> Starting<'a> {
    fn new(runs: &'a Runs, id: &str) -> Self {
        lock(&runs.starting).insert(id.to_string());
        Starting {
            runs,
            id: id.to_string(),
        }
    }
}

impl Drop for Starting<'_> {
    fn drop(&mut self) {
        lock(&self.runs.starting).remove(&self.id);
    }
}

fn remove_when_done(st: &AppState, id: &str) {
    let Ok(e) = st.engine() else { return };
    if let Ok(code) = e.wait_container(id) {
        lock(&st.runs().removed).insert(id.to_string(), code);
        let _ = e.remove_container_with(id, true, true);
    }
}

/// A body streamed from a channel the blocking side fills.
pub(crate) fn channel_body(rx: mpsc::Receiver<Result<Bytes, std::io::Error>>) -> Body {
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|x| (x, rx))
    }))
}

/// `POST /containers/{id}/wait?condition=not-running|next-exit|removed`: headers at once,
/// `{"StatusCode":N,"Error":null}` when the condition is met.
async fn wait(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let cond = match first(&q, "condition").unwrap_or("") {
        "" | "not-running" => "not-running",
        "next-exit" => "next-exit",
        "removed" => "removed",
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid condition: \"{other}\""
            )))
        }
    };
    let (cid, f0) = st
        .run(move |e| {
            let c = e.container(&id)?;
            let p = e.process_state(&c)?;
            Ok((c.id, p.finished_at))
        })
        .await?;
    let (tx, rx) = mpsc::channel(1);
    let st2 = st.clone();
    let released = st.runs().add_wait(&cid);
    tokio::task::spawn_blocking(move || {
        let Ok(e) = st2.engine() else { return };
        let mut ended: Option<i32> = None;
        let answer = |code: i32| {
            let body = json!({ "StatusCode": code, "Error": null }).to_string() + "\n";
            let _ = tx.blocking_send(Ok(Bytes::from(body)));
        };
        loop {
            if tx.is_closed() {
                return;
            }
            if released.load(Ordering::SeqCst) {
                answer(0);
                return;
            }
            // Held while the state is read, so a start cannot begin in between.
            let starting = lock(&st2.runs().starting);
            if starting.contains(&cid) {
                drop(starting);
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            let code = match e.container(&cid) {
                Err(err) if err.kind() == ErrorKind::NotFound => Some(
                    lock(&st2.runs().removed)
                        .get(&cid)
                        .copied()
                        .or(ended)
                        .unwrap_or(0),
                ),
                Err(_) => None,
                // An end since the wait began: the container is not running, or its restart
                // policy is restarting it or has (it then shows the end it followed).
                Ok(c) => match e.process_state(&c) {
                    Ok(p) if !p.has_process() || ended_since(&p.finished_at, &f0) => {
                        let new_exit = ended_since(&p.finished_at, &f0);
                        if new_exit {
                            ended = Some(p.last_exit_code);
                        }
                        match cond {
                            // moby: a restarting container counts as running, and its
                            // next end answers a `not-running` wait as it does `next-exit`
                            "not-running" if !p.is_running() => Some(p.exit_code),
                            "not-running" if new_exit => Some(p.last_exit_code),
                            "next-exit" if new_exit => Some(p.last_exit_code),
                            _ => None,
                        }
                    }
                    _ => None,
                },
            };
            drop(starting);
            if let Some(code) = code {
                answer(code);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    Ok(([(CONTENT_TYPE, "application/json")], channel_body(rx)).into_response())
}

/// Whether `finished_at` is an end after the one a wait began with (`f0`); a run started
/// by the user since shows none (Docker's zero time).
fn ended_since(finished_at: &str, f0: &str) -> bool {
    finished_at != f0 && finished_at != engine::ZERO_TIME
}

/// Unix nanoseconds of a `since`/`until` value: seconds with an optional fraction.
fn unix_nanos(v: &str) -> Result<i128, ApiError> {
    let bad = || ApiError::bad_request(format!("invalid time value {v:?}"));
    let (s, frac) = v.split_once('.').unwrap_or((v, ""));
    let secs: i128 = s.parse().map_err(|_| bad())?;
    let mut nanos: i128 = 0;
    if !frac.is_empty() {
        let f: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
        nanos = f.parse().map_err(|_| bad())?;
    }
    Ok(secs * 1_000_000_000 + nanos)
}

/// One stdcopy frame: the stream byte, three zeros, the big-endian length, the bytes.
pub(crate) fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + data.len());
    v.extend_from_slice(&[stream, 0, 0, 0]);
    v.extend_from_slice(&(data.len() as u32).to_be_bytes());
    v.extend_from_slice(data);
    v
}

/// `GET /containers/{id}/logs?stdout=&stderr=&follow=&tail=&timestamps=&details=&since=&until=`:
/// stdcopy frames, or the raw bytes for a TTY container.
async fn logs(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let (want_out, want_err) = (truthy(first(&q, "stdout")), truthy(first(&q, "stderr")));
    if !want_out && !want_err {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let follow = truthy(first(&q, "follow"));
    let timestamps = truthy(first(&q, "timestamps"));
    let details = truthy(first(&q, "details"));
    let tail = match first(&q, "tail").unwrap_or("all") {
        "all" | "" => None,
        n => match n.parse::<i64>() {
            Ok(v) if v < 0 => None,
            Ok(v) => Some(v as usize),
            Err(_) => None,
        },
    };
    let since = match first(&q, "since").filter(|s| !s.is_empty() && *s != "0") {
        Some(s) => Some(unix_nanos(s)?),
        None => None,
    };
    let until = match first(&q, "until").filter(|s| !s.is_empty() && *s != "0") {
        Some(s) => Some(unix_nanos(s)?),
        None => None,
    };
    let (cid, tty, readable) = st
        .run(move |e| {
            let c = e.container(&id)?;
            let rc = e.run_config(&c)?;
            Ok((c.id, rc.tty, rc.host.logs_readable()))
        })
        .await?;
    if !readable {
        // moby's `ErrReadLogsNotSupported`, a "not implemented" error.
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            engine::HostOptions::LOGS_UNREADABLE,
        ));
    }
    let (tx, rx) = mpsc::channel(16);
    let st2 = st.clone();
    let stopping = st.stopping();
    tokio::task::spawn_blocking(move || {
        let Ok(e) = st2.engine() else { return };
        let range = engine::LogRange {
            tail,
            follow,
            since,
            until,
        };
        let _ = e.container_logs(
            &cid,
            range,
            || tx.is_closed() || *stopping.borrow(),
            |l| {
                let stderr = l.stream == "stderr";
                if (stderr && !want_err) || (!stderr && !want_out) {
                    return !tx.is_closed();
                }
                let text = l.shown(timestamps, details);
                let bytes = if tty {
                    text.into_bytes()
                } else {
                    frame(
                        if stderr {
                            monitor::STDERR
                        } else {
                            monitor::STDOUT
                        },
                        text.as_bytes(),
                    )
                };
                tx.blocking_send(Ok(Bytes::from(bytes))).is_ok()
            },
        );
    });
    Ok(([(CONTENT_TYPE, stream_type(tty))], channel_body(rx)).into_response())
}

/// The content type of a container's stdio stream.
pub(crate) fn stream_type(tty: bool) -> &'static str {
    if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    }
}

/// `GET /containers/{id}/top?ps_args=` → `{"Titles":[…],"Processes":[[…]]}`.
async fn top(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let args: Vec<String> = first(&q, "ps_args")
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let (titles, rows) = st.run(move |e| e.top(&id, &args)).await?;
    Ok(axum::Json(json!({ "Titles": titles, "Processes": rows })).into_response())
}

/// `POST /containers/{id}/resize?h=&w=`: the TTY's size (kept for the start when the
/// container does not run yet).
async fn resize(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<StatusCode, ApiError> {
    let h: u16 = num(&q, "h")?.unwrap_or(0);
    let w: u16 = num(&q, "w")?.unwrap_or(0);
    let st2 = st.clone();
    st.run(move |e| {
        let c = e.container(&id)?;
        let p = e.process_state(&c)?;
        if p.is_running() {
            monitor::control(
                &e.container_dir_of(&c),
                &monitor::Control::Resize {
                    height: h,
                    width: w,
                },
            )?;
        } else {
            st2.runs().set_console(&c.id, h, w);
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::OK)
}

/// `POST /containers/prune?filters=` → `{"ContainersDeleted":[…],"SpaceReclaimed":N}`:
/// every container that does not run (filters: `until`, `label`, `label!`).
async fn prune(
    State(st): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let filters = crate::params::parse_filters(first(&q, "filters"))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut until = None;
    let mut labels = Vec::new();
    for (k, v) in filters {
        match k.as_str() {
            "until" => {
                until =
                    Some(docker_format::parse_timestamp(&v, now).map_err(ApiError::bad_request)?)
            }
            "label" => labels.push(v),
            "label!" => labels.push(format!("!{v}")),
            _ => return Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
        }
    }
    let (deleted, reclaimed) = st.run(move |e| e.prune_containers(until, &labels)).await?;
    Ok(axum::Json(json!({
        "ContainersDeleted": if deleted.is_empty() { serde_json::Value::Null } else { json!(deleted) },
        "SpaceReclaimed": reclaimed,
    }))
    .into_response())
}

/// The answer that turns a request into a hijacked connection (moby's `101 UPGRADED`).
pub(crate) fn upgrade_response(tty: bool) -> Response {
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(CONNECTION, "Upgrade")
        .header(UPGRADE, "tcp")
        .header(CONTENT_TYPE, stream_type(tty))
        .body(Body::empty())
        .expect("a valid response")
}

/// The connection a hijacking request will become, or a 400 when it asked for no upgrade.
pub(crate) fn take_upgrade(req: &mut Request) -> Result<hyper::upgrade::OnUpgrade, ApiError> {
    let asked = req
        .headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("tcp"));
    if !asked {
        return Err(ApiError::bad_request(
            "this endpoint needs a hijacked connection: send Connection: Upgrade and Upgrade: tcp",
        ));
    }
    req.extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
        .ok_or_else(|| ApiError::bad_request("the connection cannot be upgraded"))
}

/// How a hijacked client's end of stdin is handled.
#[derive(Clone)]
pub(crate) enum StdinEnd {
    /// Stdin is not attached.
    None,
    /// The end half-closes the container's side (its stdin closes, output goes on).
    Close,
    /// The end detaches a TTY client (the docker CLI half-closes after its detach keys):
    /// the monitor is told (so the container's stdin stays open), and the output is cut
    /// shortly after, once the client has had the time to go on its own (closing first
    /// would let the CLI take the end of the output for the end of the container).
    Detach(std::path::PathBuf, Arc<dyn Fn() + Send + Sync>),
}

impl PartialEq for StdinEnd {
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// Copies a hijacked connection and a container-side stream both ways until the output
/// ends (or, for [`StdinEnd::Detach`], shortly after the client's input ends).
pub(crate) async fn pump<C>(up: hyper::upgrade::Upgraded, conn: C, stdin: StdinEnd)
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let io = hyper_util::rt::TokioIo::new(up);
    let (mut ur, mut uw) = tokio::io::split(io);
    let (mut cr, mut cw) = tokio::io::split(conn);
    let output = async {
        let _ = tokio::io::copy(&mut cr, &mut uw).await;
        let _ = uw.shutdown().await;
    };
    let input = async {
        if stdin == StdinEnd::None {
            std::future::pending::<()>().await;
        }
        let _ = tokio::io::copy(&mut ur, &mut cw).await;
        match &stdin {
            StdinEnd::Close => {
                let _ = cw.shutdown().await;
                std::future::pending::<()>().await;
            }
            StdinEnd::Detach(dir, on_detach) => {
                let dir = dir.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    monitor::control(&dir, &monitor::Control::Detach(true))
                })
                .await;
                on_detach();
            }
            StdinEnd::None => {}
        }
    };
    tokio::pin!(output);
    tokio::pin!(input);
    tokio::select! {
        _ = &mut output => {}
        _ = &mut input => {
            let _ = tokio::time::timeout(Duration::from_secs(2), &mut output).await;
        }
    }
}

/// `POST /containers/{id}/attach?stream=&stdin=&stdout=&stderr=`: the hijacked stdio of a
/// running container, or of a created or stopped one's next run (kept until its `start`).
async fn attach(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    mut req: Request,
) -> Result<Response, ApiError> {
    let want_stdin = truthy(first(&q, "stdin"));
    let asked = id.clone();
    let (c, rc, status) = st
        .run(move |e| {
            let c = e.container(&id)?;
            let rc = e.run_config(&c)?;
            let p = e.process_state(&c)?;
            Ok((c, rc, p.status))
        })
        .await?;
    match status.as_str() {
        "paused" => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "You cannot attach to a paused container, unpause it first",
            ))
        }
        // moby's words; the name as asked
        "restarting" => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("container {asked} is restarting, wait until the container is running"),
            ))
        }
        // created or stopped: the client waits for the next start (`docker start -a`
        // attaches first, then starts)
        _ => {}
    }
    let on_upgrade = take_upgrade(&mut req)?;
    let engine = st.engine()?;
    let dir = engine.container_dir_of(&c);
    let conn: oneshot::Receiver<UnixStream> = if status == "running" {
        let (tx, rx) = oneshot::channel();
        let conn = monitor::connect_attach(&dir).map_err(EngineError::from)?;
        let _ = tx.send(conn);
        rx
    } else {
        let (tx, rx) = oneshot::channel();
        lock(&st.runs().pending).insert(c.id.clone(), tx);
        rx
    };
    engine
        .emit(engine::Event::new("container", "attach", c.id.clone()).with("name", c.name.clone()));
    let stdin = match (want_stdin && rc.open_stdin, rc.tty) {
        (false, _) => StdinEnd::None,
        (true, false) => StdinEnd::Close,
        (true, true) => {
            let (st, id, at) = (st.clone(), c.id.clone(), Instant::now());
            StdinEnd::Detach(dir, Arc::new(move || st.runs().release_waits_near(&id, at)))
        }
    };
    tokio::spawn(async move {
        let Ok(up) = on_upgrade.await else { return };
        let Ok(conn) = conn.await else { return };
        if conn.set_nonblocking(true).is_err() {
            return;
        }
        let Ok(conn) = tokio::net::UnixStream::from_std(conn) else {
            return;
        };
        pump(up, conn, stdin).await;
    });
    Ok(upgrade_response(rc.tty))
}

/// `POST /containers/{id}/rename?name=` → 204.
async fn rename(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<StatusCode, ApiError> {
    let name = first(&q, "name").unwrap_or("").to_string();
    st.run(move |e| e.rename_container(&id, &name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this module.
pub(crate) fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/containers/{id}/rename", post(rename))
        .route("/containers/prune", post(prune))
        .route("/containers/{id}/start", post(start))
        .route("/containers/{id}/wait", post(wait))
        .route("/containers/{id}/logs", get(logs))
        .route("/containers/{id}/top", get(top))
        .route("/containers/{id}/resize", post(resize))
        .route("/containers/{id}/attach", post(attach))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_times() {
        assert_eq!(frame(2, b"hi"), [2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        assert_eq!(unix_nanos("12.5").unwrap(), 12_500_000_000);
        assert_eq!(unix_nanos("7").unwrap(), 7_000_000_000);
        assert!(unix_nanos("x").is_err());
    }
}
