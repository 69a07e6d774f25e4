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

/// How long a body the handler left unread is still read (and dropped) after the answer.
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// Every request's body, read to its end even when the handler answers without reading it.
///
/// A handler that refuses an upload early (`docker cp` into a missing container or
/// directory, a `load` whose first entry is refused, a JSON body over the limit) answers
/// while the client is still writing. Were the body dropped, the connection would close
/// under the client's writes and the docker CLI would print `write: broken pipe` instead of
/// the answer. So a body dropped unfinished goes on being read and discarded on a task of
/// its own (for at most [`DRAIN_FOR`]); the answer goes out at once, the client reads it
/// when it looks, and the connection stays usable.
pub(crate) struct ReadToEnd {
    inner: Body,
    ended: bool,
}

impl ReadToEnd {
    /// The middleware: wraps the request's body.
    pub(crate) async fn layer(req: axum::extract::Request) -> axum::extract::Request {
        req.map(|inner| {
            Body::new(ReadToEnd {
                inner,
                ended: false,
            })
        })
    }
}

impl http_body::Body for ReadToEnd {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let next = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let std::task::Poll::Ready(None | Some(Err(_))) = &next {
            self.ended = true;
        }
        next
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ReadToEnd {
    fn drop(&mut self) {
        use http_body::Body as _;
        if self.is_end_stream() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let body = std::mem::take(&mut self.inner);
        rt.spawn(async move {
            let mut stream = body.into_data_stream();
            let _ = tokio::time::timeout(DRAIN_FOR, async {
                while let Some(Ok(_)) = stream.next().await {}
            })
            .await;
        });
    }
}

/// A request body read synchronously (on a blocking thread) by the engine.
///
/// A task on the runtime pulls the body and hands it over in batches of at least
/// [`GATHER`] bytes (or what is left at its end), so the blocking reader is woken once per
/// batch, not once per HTTP chunk (the docker CLI sends 32 KiB chunks: three thousand
/// thread wake-ups for 100 MB). At most [`BATCHES_IN_FLIGHT`] batches wait for the reader,
/// besides the one it reads and the one being gathered: a few MiB whatever the body's size.
pub(crate) struct BodyReader {
    rx: mpsc::Receiver<io::Result<Vec<Bytes>>>,
    /// The batch being read, in order.
    batch: std::collections::VecDeque<Bytes>,
    ended: bool,
    /// The body broke off: every later read fails too, never a clean end.
    failed: bool,
}

/// Bytes gathered before a batch goes to the reader.
const GATHER: usize = 1 << 20;
/// Batches queued for the reader.
const BATCHES_IN_FLIGHT: usize = 2;

impl BodyReader {
    /// Must be created on the runtime (it starts the task that pulls the body); read it only
    /// on a blocking thread. Dropping it stops the task (and with it the body).
    pub(crate) fn new(body: Body) -> BodyReader {
        let (reader, pump) = BodyReader::pumped(body);
        tokio::spawn(pump);
        reader
    }

    /// The reader and the future that feeds it, for a handler to poll itself alongside the
    /// work that reads (`tokio::join!`): a handler runs on its connection's own task, which
    /// also decodes the body, so each HTTP chunk then moves without waking another thread.
    /// The future ends with the body, or as soon as the reader is dropped.
    pub(crate) fn pumped(body: Body) -> (BodyReader, impl std::future::Future<Output = ()>) {
        let (tx, rx) = mpsc::channel(BATCHES_IN_FLIGHT);
        let reader = BodyReader {
            rx,
            batch: std::collections::VecDeque::new(),
            ended: false,
            failed: false,
        };
        (reader, gather(body.into_data_stream(), tx))
    }
}

/// Pulls `stream` and sends it on in batches of [`GATHER`] bytes; an error ends it.
async fn gather(mut stream: BodyDataStream, tx: mpsc::Sender<io::Result<Vec<Bytes>>>) {
    let mut batch = Vec::new();
    let mut len = 0;
    loop {
        // The reader gone (it failed, or needed no more), the body is left unread at once:
        // the handler's answer does not wait for the client's next bytes.
        let next = tokio::select! {
            next = stream.next() => next,
            () = tx.closed() => return,
        };
        match next {
            Some(Ok(b)) => {
                if b.is_empty() {
                    continue;
                }
                len += b.len();
                batch.push(b);
                if len < GATHER {
                    continue;
                }
            }
            Some(Err(e)) => {
                if !batch.is_empty() && tx.send(Ok(std::mem::take(&mut batch))).await.is_err() {
                    return;
                }
                let _ = tx
                    .send(Err(io::Error::other(format!("read request body: {e}"))))
                    .await;
                return;
            }
            None => {
                if !batch.is_empty() {
                    let _ = tx.send(Ok(batch)).await;
                }
                return;
            }
        }
        // The reader is gone (it failed, or needed no more): stop pulling.
        if tx.send(Ok(std::mem::take(&mut batch))).await.is_err() {
            return;
        }
        len = 0;
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            while let Some(front) = self.batch.front_mut() {
                if front.is_empty() {
                    self.batch.pop_front();
                    continue;
                }
                let n = buf.len().min(front.len());
                buf[..n].copy_from_slice(&front[..n]);
                let _ = front.split_to(n);
                return Ok(n);
            }
            if self.failed {
                return Err(io::Error::other("read request body: the body broke off"));
            }
            if self.ended {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Ok(batch)) => self.batch.extend(batch),
                Some(Err(e)) => {
                    self.failed = true;
                    return Err(e);
                }
                None => self.ended = true,
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(chunks: Vec<Result<Bytes, io::Error>>) -> Body {
        Body::from_stream(futures_util::stream::iter(chunks))
    }

    async fn read_all(body: Body) -> (io::Result<Vec<u8>>, usize) {
        let (mut reader, pump) = BodyReader::pumped(body);
        let read = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let mut batches = 0;
            let mut buf = vec![0u8; 8192];
            loop {
                // an empty batch before a read that returns bytes: a hand-over happened
                let handed_over = reader.batch.iter().all(|b| b.is_empty());
                match reader.read(&mut buf) {
                    Ok(0) => return (Ok(out), batches),
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                    Err(e) => return (Err(e), batches),
                }
                if handed_over {
                    batches += 1;
                }
            }
        });
        let ((), got) = tokio::join!(pump, read);
        got.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_of_small_chunks_reaches_the_reader_in_order_in_mib_batches() {
        let chunk = 32 * 1024;
        let chunks: Vec<_> = (0..96u8).map(|i| Ok(Bytes::from(vec![i; chunk]))).collect();
        let (got, batches) = read_all(body_of(chunks)).await;
        let got = got.unwrap();
        assert_eq!(got.len(), 96 * chunk);
        assert!(got
            .chunks(chunk)
            .enumerate()
            .all(|(i, c)| c.iter().all(|b| *b == i as u8)));
        // 3 MiB in 32 KiB chunks: three batches, not 96 hand-overs
        assert!(batches <= 4, "{batches} batches");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_that_breaks_off_is_an_error_not_an_end() {
        let chunks = vec![
            Ok(Bytes::from_static(b"abc")),
            Err(io::Error::other("connection reset")),
        ];
        let (got, _) = read_all(body_of(chunks)).await;
        let err = got.unwrap_err();
        assert!(err.to_string().contains("connection reset"), "{err}");
    }
}
