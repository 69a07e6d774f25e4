//! Layer ingestion: sniff the compression, decompress, validate the tar, store the
//! uncompressed tar under its diff ID.

use crate::error::{BlobError, Result};
use crate::store::{BlobStore, BUF_SIZE};
use crate::tarcheck::TarCheck;
use crate::BlobWriter;
use oci_model::{Digest, Sha256Writer};
use std::io::{self, BufReader, Cursor, Read, Write};
use std::sync::mpsc;
use std::thread;

/// How a layer stream was compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (one or more members).
    Gzip,
    /// zstd (one or more frames).
    Zstd,
}

/// What [`ingest_layer`] stored and saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerIngest {
    /// The sha256 of the uncompressed tar: the name of the stored blob.
    pub diff_id: Digest,
    /// The uncompressed tar's size.
    pub size: u64,
    /// The sha256 of the bytes as given (equal to `diff_id` for a plain tar).
    pub source_digest: Digest,
    /// The size of the bytes as given.
    pub source_size: u64,
    /// The compression detected.
    pub compression: Compression,
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// Recognizes the compressions Docker also accepts but this crate does not decode, so that they
/// get a clearer error than a bad tar checksum.
fn unsupported_compression(magic: &[u8]) -> Option<&'static str> {
    if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        return Some("xz");
    }
    // "BZh", the block size, then the magic of a first block or of the end of the stream: a
    // tar whose first name starts so is not plausible.
    if magic.len() == 10
        && magic.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&magic[3])
        && (magic[4..] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
            || magic[4..] == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
    {
        return Some("bzip2");
    }
    None
}

/// Input buffer in front of a decompressor.
const DECODER_INPUT: usize = 256 << 10;

/// Stores a layer given as a plain, gzip or zstd tar (sniffed from its first bytes): the
/// uncompressed tar is validated while it streams into the store, where it is named by its
/// sha256, the diff ID. A malformed stream stores nothing and is an
/// [`InvalidArgument`](crate::ErrorKind::InvalidArgument) error whose text starts with
/// `invalid tar: `, `invalid gzip stream: ` or `invalid zstd stream: `.
pub fn ingest_layer(store: &BlobStore, r: impl Read) -> Result<LayerIngest> {
    ingest_layer_expect(store, r, None)
}

/// [`ingest_layer`], and when `diff_id` is given, the uncompressed digest must equal it: else
/// nothing is stored and the error's [`mismatch`](BlobError::mismatch) is the actual digest.
pub fn ingest_layer_expect(
    store: &BlobStore,
    r: impl Read,
    diff_id: Option<&Digest>,
) -> Result<LayerIngest> {
    let mut src = Source {
        inner: r,
        hasher: Some(Sha256Writer::new()),
        failed: false,
    };
    let mut magic = [0u8; 10];
    let (n, _) = fill(&mut src, &mut magic).map_err(|e| BlobError::io("read layer", e))?;
    let magic = &magic[..n];
    if magic.is_empty() {
        return Err(BlobError::invalid("invalid tar: empty"));
    }
    if let Some(name) = unsupported_compression(magic) {
        return Err(BlobError::invalid(format!(
            "invalid tar: {name}-compressed layers are not supported (only gzip and zstd)"
        )));
    }
    let compression = if magic.starts_with(GZIP_MAGIC) {
        Compression::Gzip
    } else if magic.starts_with(ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    };
    if compression == Compression::None {
        // The source is the tar: its digest is the diff ID, computed once by the pump.
        src.hasher = None;
    }

    let mut pump = Pump {
        check: TarCheck::new(),
        writer: Some(store.writer()?),
        // Balance the two threads: with no decompression to do, this one has time to hash.
        hash_here: compression == Compression::None,
    };
    let res = {
        let input = Cursor::new(magic).chain(&mut src);
        match compression {
            Compression::None => pump.run(input),
            Compression::Gzip => pump.run(flate2::bufread::MultiGzDecoder::new(
                BufReader::with_capacity(DECODER_INPUT, input),
            )),
            Compression::Zstd => {
                let mut dec = zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(
                    DECODER_INPUT,
                    input,
                ))
                .map_err(|e| BlobError::io("start zstd decoder", e))?;
                // Accept frames made with `--long` (windows beyond the 128 MiB default); the
                // window is only allocated at the size a frame declares.
                dec.window_log_max(31)
                    .map_err(|e| BlobError::io("start zstd decoder", e))?;
                pump.run(dec)
            }
        }
    };
    match res {
        Ok(()) => {}
        Err(PumpError::Blob(e)) => return Err(e),
        Err(PumpError::Read(e)) => {
            return Err(match compression {
                _ if src.failed => BlobError::io("read layer", e),
                Compression::None => BlobError::io("read layer", e),
                Compression::Gzip => BlobError::invalid(format!("invalid gzip stream: {e}")),
                Compression::Zstd => BlobError::invalid(format!("invalid zstd stream: {e}")),
            })
        }
    }
    if compression != Compression::None {
        // Decoders stop at the end of the input, but make sure the source digest covers
        // every byte given.
        let mut rest = io::sink();
        io::copy(&mut src, &mut rest).map_err(|e| BlobError::io("read layer", e))?;
    }
    pump.check
        .finish()
        .map_err(|m| BlobError::invalid(format!("invalid tar: {m}")))?;
    let writer = pump.writer.take().expect("the pump returns the writer");
    if writer.written() == 0 {
        return Err(BlobError::invalid("invalid tar: empty"));
    }
    let (diff_id, size) = writer.commit(diff_id, None)?;
    let (source_digest, source_size) = match src.hasher.take() {
        Some(h) => {
            let len = h.len();
            (h.finish(), len)
        }
        None => (diff_id.clone(), size),
    };
    Ok(LayerIngest {
        diff_id,
        size,
        source_digest,
        source_size,
        compression,
    })
}

/// The layer as given: hashes what passes (when asked) and remembers whether it failed, so a
/// decoder's error can be told from the source's.
struct Source<R> {
    inner: R,
    hasher: Option<Sha256Writer>,
    failed: bool,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                if let Some(h) = &mut self.hasher {
                    h.update(&buf[..n]);
                }
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.failed = true;
                }
                Err(e)
            }
        }
    }
}

/// Moves the uncompressed tar from a reader through the validator into the blob writer, in
/// two stages: this thread reads (and decompresses) and validates; a second thread writes.
/// Either hashes. Buffers of [`BUF_SIZE`] circulate between them.
struct Pump {
    check: TarCheck,
    /// Lent to the writing thread during [`Pump::run`].
    writer: Option<BlobWriter>,
    /// Hash on the reading thread rather than on the writing one.
    hash_here: bool,
}

enum PumpError {
    /// Reading (the source or the decoder) failed.
    Read(io::Error),
    /// The tar is bad or the store failed.
    Blob(BlobError),
}

/// Buffers in flight between the two stages.
const POOL: usize = 4;

impl Pump {
    fn run(&mut self, mut r: impl Read) -> std::result::Result<(), PumpError> {
        let mut writer = self.writer.take().expect("writer present");
        let mut hasher = self.hash_here.then(|| writer.take_hasher());
        let check = &mut self.check;
        let (result, writer) = thread::scope(|scope| {
            let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(POOL);
            let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
            let hashed = hasher.is_some();
            let worker = thread::Builder::new()
                .name("blob-writer".into())
                .spawn_scoped(scope, move || {
                    let mut res = Ok(());
                    for (buf, n) in full_rx {
                        let r = if hashed {
                            writer.write_unhashed(&buf[..n])
                        } else {
                            writer.write_all(&buf[..n])
                        };
                        if let Err(e) = r {
                            res = Err(e);
                            break;
                        }
                        // The reader may be gone already; then the buffer is just freed.
                        let _ = free_tx.send(buf);
                    }
                    (res, writer)
                })
                .map_err(|e| PumpError::Blob(BlobError::io("start writer thread", e)));
            let worker = match worker {
                Ok(w) => w,
                Err(e) => return (Err(e), None),
            };
            let mut allocated = 0;
            let read_result = loop {
                let mut buf = if allocated < POOL {
                    allocated += 1;
                    vec![0u8; BUF_SIZE]
                } else {
                    match free_rx.recv() {
                        Ok(b) => b,
                        Err(_) => break Ok(()), // the writer failed; its error follows
                    }
                };
                let (n, eof) = match fill(&mut r, &mut buf) {
                    Ok(x) => x,
                    Err(e) => break Err(PumpError::Read(e)),
                };
                if n > 0 {
                    if let Err(m) = check.feed(&buf[..n]) {
                        break Err(PumpError::Blob(BlobError::invalid(format!(
                            "invalid tar: {m}"
                        ))));
                    }
                    if let Some(h) = &mut hasher {
                        h.update(&buf[..n]);
                    }
                    if full_tx.send((buf, n)).is_err() {
                        break Ok(()); // the writer failed; its error follows
                    }
                }
                if eof {
                    break Ok(());
                }
            };
            drop(full_tx);
            let (write_result, mut writer) = match worker.join() {
                Ok(x) => x,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            if let Some(h) = hasher {
                if write_result.is_ok() && read_result.is_ok() {
                    writer.put_hasher(h);
                }
            }
            let result = read_result.and_then(|()| {
                write_result.map_err(|e| PumpError::Blob(BlobError::io("write blob", e)))
            });
            (result, Some(writer))
        });
        self.writer = writer;
        result
    }
}

/// Reads until `buf` is full or the end; returns the bytes read and whether the end came.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<(usize, bool)> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => return Ok((n, true)),
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((n, false))
}
