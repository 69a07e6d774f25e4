//! Bridges between async HTTP bodies and the engine's blocking `Read`/`Write` calls, and the
//! JSON message stream helpers the Docker handlers share.
//!
//! Uploads (`load`, `import`, archive `PUT`) hand the engine a [`BodyReader`] on a blocking
//! thread that pulls the request body chunk by chunk; downloads (`save`, `export`, archive
//! `GET`) run the engine on a blocking thread writing into a [`ChanWriter`] whose chunks feed
//! the response body through a bounded channel. Neither side ever holds a whole archive in
//! memory, and a slow client slows the engine down instead of filling the heap.

use crate::{ApiError, AppState};
use axum::body::{Body, BodyDataStream, Bytes};
use axum::http::StatusCode;
use futures_util::StreamExt;
use serde_json::Value;
use std::io::{self, Read, Write};
use tokio::sync::mpsc;

/// A request body read synchronously (on a blocking thread) by the engine.
pub(crate) struct BodyReader {
    stream: BodyDataStream,
    handle: tokio::runtime::Handle,
    current: Bytes,
}

impl BodyReader {
    /// Must be created on the runtime (it remembers the runtime's handle); read it only on a
    /// blocking thread.
    pub(crate) fn new(body: Body) -> BodyReader {
        BodyReader {
            stream: body.into_data_stream(),
            handle: tokio::runtime::Handle::current(),
            current: Bytes::new(),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(io::Error::other(format!("read request body: {e}"))),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

type Chunk = Result<Bytes, io::Error>;

/// A synchronous writer whose bytes become a streamed response body, 64 KiB at a time.
pub(crate) struct ChanWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
    sent: bool,
}

const CHUNK: usize = 64 * 1024;

impl ChanWriter {
    fn send(&mut self, chunk: Chunk) -> io::Result<()> {
        self.sent = true;
        self.tx
            .blocking_send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }

    /// True once anything was handed to the response (so errors must go in-stream).
    pub(crate) fn written(&self) -> bool {
        self.sent || !self.buf.is_empty()
    }

    /// Ends the stream with an error (the client sees the body cut short).
    pub(crate) fn fail(&mut self, message: String) {
        let _ = self.flush();
        let _ = self.send(Err(io::Error::other(message)));
    }
}

impl Write for ChanWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.send(Ok(chunk))
    }
}

/// Runs `f` on the blocking pool, writing into a response body. Errors raised before the first
/// byte is flushed become ordinary HTTP errors (a `404` for a missing image); after that the
/// body is cut short, as moby's would be.
pub(crate) async fn stream_blocking<F>(state: &AppState, f: F) -> Result<Body, ApiError>
where
    F: FnOnce(&engine::Engine, &mut ChanWriter) -> Result<(), engine::EngineError> + Send + 'static,
{
    let engine = state.engine()?;
    let (tx, mut rx) = mpsc::channel::<Chunk>(8);
    let task = tokio::task::spawn_blocking(move || {
        let mut w = ChanWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
            sent: false,
        };
        let res = f(&engine, &mut w);
        match res {
            Ok(()) => {
                let _ = w.flush();
                Ok(())
            }
            Err(e) if w.sent => {
                w.fail(e.to_string());
                Ok(())
            }
            Err(e) => Err(e),
        }
    });
    match rx.recv().await {
        Some(first) => {
            let rest = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|c| (c, rx))
            });
            Ok(Body::from_stream(
                futures_util::stream::iter([first]).chain(rest),
            ))
        }
        None => {
            task.await
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
            Ok(Body::empty())
        }
    }
}

/// One line of a Docker JSON message stream (`\r\n`-terminated, as moby's streamformatter).
pub(crate) fn json_line(v: &Value) -> String {
    format!("{v}\r\n")
}

/// An in-stream error: the CLI only reacts to `errorDetail`.
pub(crate) fn error_line(message: &str) -> String {
    json_line(&serde_json::json!({ "errorDetail": { "message": message }, "error": message }))
}

/// A `200 application/json` JSON message stream response from already-formatted lines.
pub(crate) fn json_stream(lines: String) -> axum::response::Response {
    axum::response::Response::builder()
        .status(StatusCode::OK)
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(lines))
        .expect("static response parts")
}
