//! Stream plumbing for pull and push: the in-process chunk pipe from a download to the layer
//! ingest, byte counters that report progress, and writers that copy to two sinks.

use crate::registry::{Progress, ProgressFn};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Counts bytes written through it and reports `Downloading` now and then.
pub(crate) struct Counting<'a, W> {
    pub(crate) inner: W,
    pub(crate) done: u64,
    pub(crate) total: u64,
    pub(crate) last: Instant,
    pub(crate) id: String,
    pub(crate) status: &'static str,
    pub(crate) progress: ProgressFn<'a>,
}

/// Writes everything to both.
pub(crate) struct Both<A, B>(pub(crate) A, pub(crate) B);

impl<A: Write, B: Write> Write for Both<A, B> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(buf)?;
        self.1.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.1.flush()
    }
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.done += n as u64;
        if self.last.elapsed() >= Duration::from_millis(100) || self.done == self.total {
            self.last = Instant::now();
            (self.progress)(Progress {
                id: Some(self.id.clone()),
                status: self.status.into(),
                current: Some(self.done),
                total: Some(self.total),
            });
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub(crate) struct Counted<'a, R> {
    pub(crate) inner: R,
    pub(crate) done: u64,
    pub(crate) total: u64,
    pub(crate) last: Instant,
    pub(crate) id: String,
    pub(crate) progress: ProgressFn<'a>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.last.elapsed() >= Duration::from_millis(100) || self.done == self.total {
            self.last = Instant::now();
            (self.progress)(Progress {
                id: Some(self.id.clone()),
                status: "Pushing".into(),
                current: Some(self.done),
                total: Some(self.total),
            });
        }
        Ok(n)
    }
}

/// An in-process pipe for a layer's bytes, from the download (which pushes them into a
/// `Write`) to the ingest (which pulls them from a `Read`) on another thread: buffers handed
/// over a channel and recycled. The bytes are copied twice in user space, which costs less
/// than a kernel pipe's copies, page allocations and wake-ups.
pub(crate) fn chunk_pipe() -> (ChunkWriter, ChunkReader) {
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel(CHUNKS_IN_FLIGHT);
    let (free_tx, free_rx) = std::sync::mpsc::channel();
    (
        ChunkWriter {
            buf: Vec::with_capacity(CHUNK),
            full: full_tx,
            free: free_rx,
        },
        ChunkReader {
            full: full_rx,
            free: free_tx,
            buf: Vec::new(),
            pos: 0,
        },
    )
}

const CHUNK: usize = 256 << 10;
/// Chunks queued for the reader, beyond the one it reads and the one being filled.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The writing end of a [`chunk_pipe`]. Nothing is sent before a chunk is full or on
/// [`flush`](Write::flush); dropping it ends the stream. Once the reader is gone, writes
/// fail with `BrokenPipe`.
pub(crate) struct ChunkWriter {
    pub(crate) buf: Vec<u8>,
    pub(crate) full: std::sync::mpsc::SyncSender<Vec<u8>>,
    pub(crate) free: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        let next = self
            .free
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.buf, next);
        self.full.send(full).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the layer ingest stopped reading",
            )
        })
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        let n = (CHUNK - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

/// The reading end of a [`chunk_pipe`]: the stream ends when the writer is dropped.
pub(crate) struct ChunkReader {
    pub(crate) full: std::sync::mpsc::Receiver<Vec<u8>>,
    pub(crate) free: std::sync::mpsc::Sender<Vec<u8>>,
    pub(crate) buf: Vec<u8>,
    pub(crate) pos: usize,
}

/// A `BufRead`, so that the decompressor reads the chunks where they are.
impl std::io::BufRead for ChunkReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.pos == self.buf.len() {
            let Ok(next) = self.full.recv() else {
                return Ok(&[]);
            };
            let mut used = std::mem::replace(&mut self.buf, next);
            self.pos = 0;
            used.clear();
            // The writer may be gone; then the buffer is just freed.
            let _ = self.free.send(used);
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos += amt;
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        use std::io::BufRead;
        let rest = self.fill_buf()?;
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.consume(n);
        Ok(n)
    }
}

pub(crate) struct Tee<'a, A: Write> {
    pub(crate) a: A,
    pub(crate) b: &'a mut oci_model::Sha256Writer,
    pub(crate) n: u64,
}

impl<A: Write> Write for Tee<'_, A> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.a.write(buf)?;
        self.b.update(&buf[..n]);
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.a.flush()
    }
}
