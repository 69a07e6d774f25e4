//! Layer ingestion: sniff the compression, decompress, validate the tar, store the
//! uncompressed tar under its diff ID.

use crate::error::{BlobError, Result};
use crate::store::{BlobStore, BUF_SIZE};
use crate::tarcheck::TarCheck;
use crate::{BlobWriter, VerifiedBlob};
use oci_model::{Digest, Sha256Writer};
use std::io::{self, BufRead, BufReader, Cursor, Read, Write};
use std::sync::{mpsc, Arc};
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
    /// The layer's size as Docker reports it (moby's `directory.Size` of the unpacked
    /// layer): its non-directory entries' sizes summed, hardlinked content counted once.
    pub content_size: u64,
    /// The sha256 of the bytes as given (equal to `diff_id` for a plain tar); `None` for a
    /// compressed layer whose caller verifies those bytes itself
    /// ([`IngestOptions::source_verified`]).
    pub source_digest: Option<Digest>,
    /// The size of the bytes as given.
    pub source_size: u64,
    /// The compression detected.
    pub compression: Compression,
    /// Entries every reader skips, each with the reason, for the caller to show as a warning
    /// (entries that name the root of the layer but are not a directory, or have no name).
    pub warnings: Vec<String>,
    /// What the layer's entries are (names, types, link targets; no metadata or content),
    /// as the changeset reader reads them, in the order the tar lists them: enough to tell
    /// where each applies on top of other layers (`layer_union::Union::refusal`). Empty from
    /// [`ingest_layer_verified`], whose layers are packed from a directory and always apply.
    pub shape: layer_diff::Changeset,
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

/// The Docker size ([`LayerIngest::content_size`]) of the layer tar `r` reads, for a layer
/// stored before sizes were measured at ingest. The tar is validated as at ingest.
pub fn layer_content_size(mut r: impl Read) -> Result<u64> {
    let mut check = TarCheck::new();
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        let (n, eof) = fill(&mut r, &mut buf).map_err(|e| BlobError::io("read layer", e))?;
        check
            .feed(&buf[..n])
            .map_err(|m| BlobError::invalid(format!("invalid tar: {m}")))?;
        if eof {
            check
                .finish()
                .map_err(|m| BlobError::invalid(format!("invalid tar: {m}")))?;
            return Ok(check.content_size());
        }
    }
}

/// The tar of the layer held in blob `d`: the blob itself when it is a plain tar, else its
/// gzip or zstd stream decompressed as it is read. The blob's content was checked when it was
/// stored; this reads it without checking it again.
pub fn open_layer(store: &BlobStore, d: &Digest) -> Result<Box<dyn Read + Send>> {
    let mut r = BufReader::with_capacity(DECODER_INPUT, store.open_blob(d)?);
    let magic = r.fill_buf().map_err(|e| BlobError::io("read layer", e))?;
    Ok(match Compression::sniff(magic) {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(r)),
        Compression::Zstd => Box::new(zstd_decoder(r)?),
    })
}

/// The compression of stored blob `d` (a layer as pulled: gzip or zstd; else a plain tar).
pub fn blob_compression(store: &BlobStore, d: &Digest) -> Result<Compression> {
    let mut magic = [0u8; 4];
    let mut f = store.open_blob(d)?;
    let mut got = 0;
    while got < magic.len() {
        match f.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(BlobError::io("read layer", e)),
        }
    }
    Ok(Compression::sniff(&magic[..got]))
}

impl Compression {
    /// The compression a stream starting with `magic` has (anything else is a plain tar).
    fn sniff(magic: &[u8]) -> Compression {
        if magic.starts_with(GZIP_MAGIC) {
            Compression::Gzip
        } else if magic.starts_with(ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// A zstd decoder reading straight from `r`'s buffer. It accepts frames made with `--long`
/// (windows beyond the 128 MiB default); the window is only allocated at the size a frame
/// declares.
fn zstd_decoder<R: BufRead>(r: R) -> Result<zstd::stream::read::Decoder<'static, R>> {
    let start = |e| BlobError::io("start zstd decoder", e);
    let mut dec = zstd::stream::read::Decoder::with_buffer(r).map_err(start)?;
    dec.window_log_max(31).map_err(start)?;
    Ok(dec)
}

/// Input buffer in front of a decompressor, for readers that have none.
const DECODER_INPUT: usize = 256 << 10;

/// Stores a layer given as a plain, gzip or zstd tar (sniffed from its first bytes): the
/// uncompressed tar is validated while it streams into the store, where it is named by its
/// sha256, the diff ID. A malformed stream stores nothing and is an
/// [`InvalidArgument`](crate::ErrorKind::InvalidArgument) error whose text starts with
/// `invalid tar: `, `invalid gzip stream: ` or `invalid zstd stream: `.
pub fn ingest_layer(store: &BlobStore, r: impl Read) -> Result<LayerIngest> {
    let r = BufReader::with_capacity(DECODER_INPUT, r);
    ingest_layer_with(store, r, IngestOptions::default(), None)
}

/// [`ingest_layer`], and when `diff_id` is given, the uncompressed digest must equal it: else
/// nothing is stored and the error's [`mismatch`](BlobError::mismatch) is the actual digest.
pub fn ingest_layer_expect(
    store: &BlobStore,
    r: impl Read,
    diff_id: Option<&Digest>,
) -> Result<LayerIngest> {
    let opts = IngestOptions {
        diff_id,
        ..IngestOptions::default()
    };
    ingest_layer_with(
        store,
        BufReader::with_capacity(DECODER_INPUT, r),
        opts,
        None,
    )
}

/// What [`ingest_layer_with`] checks.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestOptions<'a> {
    /// The diff ID the uncompressed tar must have: on a mismatch nothing is stored and the
    /// error's [`mismatch`](BlobError::mismatch) is the actual digest.
    pub diff_id: Option<&'a Digest>,
    /// The caller verifies the bytes as given itself (a registry client checks a blob's
    /// digest as it downloads it), so a compressed layer's bytes are not hashed a second
    /// time here, and [`LayerIngest::source_digest`] is `None`.
    pub source_verified: bool,
    /// The tar is validated, hashed and handed to the tee but not stored: the caller keeps
    /// the layer as given (a registry's compressed blob, under its own digest).
    /// [`LayerIngest::diff_id`] and the `diff_id` check work as usual.
    pub hash_only: bool,
    /// With `hash_only` and `diff_id`, an uncompressed tar read from a stored blob named by
    /// that diff ID (so verified to hash to it when it was stored): its bytes are checked and
    /// measured but not hashed again, and the ingest's diff ID is that one.
    pub stored_as_diff_id: bool,
}

/// A second reader of the uncompressed tar (an unpacker, say) for [`ingest_layer_with`]: it
/// runs on a thread of its own and is handed the stream as it is decompressed, while the
/// store writes and hashes the same bytes. Its reader ends cleanly only after the whole tar
/// was read and validated, and fails if the stream breaks off or turns out malformed. The
/// digests are checked after that, so what the tee makes of the bytes stays provisional until
/// the ingest returns `Ok`, and must be discarded otherwise. It may stop reading early; if it
/// returns an error, nothing is stored and the ingest fails with that error (an
/// [`InvalidArgument`](crate::ErrorKind::InvalidArgument)).
pub type Tee<'a> = Box<dyn FnOnce(&mut dyn Read) -> TeeResult + Send + 'a>;

/// What a [`Tee`] returns.
pub type TeeResult = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// [`ingest_layer`] with options, and with `tee` given, the uncompressed tar also streams
/// into it (see [`Tee`]). The decoders read straight from `r`'s buffer.
pub fn ingest_layer_with(
    store: &BlobStore,
    r: impl BufRead,
    opts: IngestOptions<'_>,
    tee: Option<Tee<'_>>,
) -> Result<LayerIngest> {
    let (layer, blob) = ingest(store, r, opts, tee, TarCheck::with_shape())?;
    if let Some(b) = blob {
        b.publish()?;
    }
    Ok(layer)
}

/// [`ingest_layer`] up to, but not including, the blob's publication: the uncompressed tar
/// is validated, written and hashed, and returned as a [`VerifiedBlob`] for the caller to
/// publish, with others, through [`BlobStore::publish_all`]. No shape is collected: the
/// layer is `commit`'s, packed from a directory.
pub fn ingest_layer_verified(
    store: &BlobStore,
    r: impl Read,
) -> Result<(LayerIngest, VerifiedBlob)> {
    let r = BufReader::with_capacity(DECODER_INPUT, r);
    let (layer, blob) = ingest(store, r, IngestOptions::default(), None, TarCheck::new())?;
    Ok((layer, blob.expect("a stored layer has a blob")))
}

/// [`ingest_layer_with`], the blob (unless `hash_only`) left unpublished.
fn ingest(
    store: &BlobStore,
    r: impl BufRead,
    opts: IngestOptions<'_>,
    tee: Option<Tee<'_>>,
    check: TarCheck,
) -> Result<(LayerIngest, Option<VerifiedBlob>)> {
    let mut src = Source {
        inner: r,
        hasher: Some(Sha256Writer::new()),
        read: 0,
        failed: false,
    };
    let mut magic = [0u8; 10];
    let (n, _) = fill(&mut src, &mut magic).map_err(|e| BlobError::io("read layer", e))?;
    // An empty stream is an empty layer, as Docker has it (moby#18170): no entries, and the
    // diff ID is the sha256 of no bytes.
    let magic = &magic[..n];
    if let Some(name) = unsupported_compression(magic) {
        return Err(BlobError::invalid(format!(
            "invalid tar: {name}-compressed layers are not supported (only gzip and zstd)"
        )));
    }
    let compression = Compression::sniff(magic);
    if compression == Compression::None || opts.source_verified {
        // A plain tar's digest is the diff ID, computed once by the pump; a verified source
        // needs none.
        src.hasher = None;
    }

    let known = match opts.diff_id {
        Some(d) if opts.hash_only && opts.stored_as_diff_id && compression == Compression::None => {
            Some(d.clone())
        }
        _ => None,
    };
    let out = if known.is_some() {
        TarOut::Count(0)
    } else if opts.hash_only {
        TarOut::Hash(Sha256Writer::new(), 0)
    } else {
        TarOut::Blob(store.writer()?)
    };
    let mut pump = Pump {
        check,
        writer: Some(out),
        // Balance the two threads: with no decompression to do, this one has time to hash.
        hash_here: compression == Compression::None && known.is_none(),
        tee,
    };
    let res = {
        let input = Cursor::new(magic).chain(&mut src);
        match compression {
            Compression::None => pump.run(input),
            Compression::Gzip => pump.run(flate2::bufread::MultiGzDecoder::new(input)),
            Compression::Zstd => pump.run(zstd_decoder(input)?),
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
    let writer = pump.writer.take().expect("the pump returns the writer");
    let mut blob = None;
    let (diff_id, size) = match writer {
        TarOut::Blob(w) => {
            let v = w.verify(opts.diff_id, None)?;
            let out = (v.digest().clone(), v.size());
            blob = Some(v);
            out
        }
        TarOut::Hash(h, n) => {
            let d = h.finish();
            match opts.diff_id {
                Some(exp) if *exp != d => return Err(BlobError::digest_mismatch(exp, d)),
                _ => (d, n),
            }
        }
        TarOut::Count(n) => (known.expect("counted only for a known diff ID"), n),
    };
    let content_size = pump.check.content_size();
    let source_size = src.read;
    let source_digest = match src.hasher.take() {
        Some(h) => Some(h.finish()),
        None if compression == Compression::None => Some(diff_id.clone()),
        None => None,
    };
    Ok((
        LayerIngest {
            diff_id,
            size,
            content_size,
            source_digest,
            source_size,
            compression,
            warnings: std::mem::take(&mut pump.check.warnings),
            shape: pump.check.take_shape(),
        },
        blob,
    ))
}

/// The layer as given: hashes what passes (when asked) and remembers whether it failed, so a
/// decoder's error can be told from the source's.
struct Source<R> {
    inner: R,
    hasher: Option<Sha256Writer>,
    /// Bytes read.
    read: u64,
    failed: bool,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                if let Some(h) = &mut self.hasher {
                    h.update(&buf[..n]);
                }
                self.read += n as u64;
                Ok(n)
            }
            Err(e) => Err(self.failing(e)),
        }
    }
}

impl<R> Source<R> {
    fn failing(&mut self, e: io::Error) -> io::Error {
        if e.kind() != io::ErrorKind::Interrupted {
            self.failed = true;
        }
        e
    }
}

/// What the decoders read: the source's own buffer, hashed as it is consumed.
impl<R: BufRead> BufRead for Source<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Err(e) = self.inner.fill_buf() {
            return Err(self.failing(e));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Some(h) = &mut self.hasher {
            // The bytes `fill_buf` returned, still buffered: this call reads nothing.
            if let Ok(b) = self.inner.fill_buf() {
                h.update(&b[..amt]);
            }
        }
        self.read += amt as u64;
        self.inner.consume(amt);
    }
}

/// Moves the uncompressed tar from a reader through the validator into the blob writer, in
/// two stages: this thread reads (and decompresses) and validates; a second thread writes.
/// Either hashes. Buffers of [`BUF_SIZE`] circulate between them, and with a tee, a third
/// thread reads the same buffers; a buffer goes back to the pool when both are done with it.
struct Pump<'t> {
    check: TarCheck,
    /// Lent to the writing thread during [`Pump::run`].
    writer: Option<TarOut>,
    /// Hash on the reading thread rather than on the writing one.
    hash_here: bool,
    /// Taken by [`Pump::run`].
    tee: Option<Tee<'t>>,
}

enum PumpError {
    /// Reading (the source or the decoder) failed.
    Read(io::Error),
    /// The tar is bad, the store failed, or the tee refused the tar.
    Blob(BlobError),
}

/// Where the uncompressed tar goes: a blob, or only a hash of it.
enum TarOut {
    Blob(BlobWriter),
    /// The hash and the byte count.
    Hash(Sha256Writer, u64),
    /// The byte count of bytes whose digest is known.
    Count(u64),
}

impl TarOut {
    /// Writes (and hashes, unless the caller took the hasher) `b`.
    fn put(&mut self, b: &[u8], hashed_by_caller: bool) -> io::Result<()> {
        match self {
            TarOut::Blob(w) if hashed_by_caller => w.write_unhashed(b),
            TarOut::Blob(w) => w.write_all(b),
            TarOut::Hash(h, n) => {
                if !hashed_by_caller {
                    h.update(b);
                }
                *n += b.len() as u64;
                Ok(())
            }
            TarOut::Count(n) => {
                *n += b.len() as u64;
                Ok(())
            }
        }
    }

    fn sync(&mut self) -> io::Result<()> {
        match self {
            TarOut::Blob(w) => w.sync(),
            TarOut::Hash(..) | TarOut::Count(_) => Ok(()),
        }
    }

    fn take_hasher(&mut self) -> Sha256Writer {
        match self {
            TarOut::Blob(w) => w.take_hasher(),
            TarOut::Hash(h, _) => std::mem::take(h),
            TarOut::Count(_) => Sha256Writer::new(),
        }
    }

    fn put_hasher(&mut self, hasher: Sha256Writer) {
        match self {
            TarOut::Blob(w) => w.put_hasher(hasher),
            TarOut::Hash(h, _) => *h = hasher,
            TarOut::Count(_) => {}
        }
    }
}

/// Buffers in flight between the stages.
const POOL: usize = 4;
/// With a tee, which may lag behind the writer for a while (a directory of small files).
const TEE_POOL: usize = 8;

/// One buffer of the stream, shared by the writer and the tee; dropped by the last of them,
/// it goes back to the pool.
struct Chunk {
    buf: Vec<u8>,
    len: usize,
    pool: mpsc::Sender<Vec<u8>>,
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // The pump may be gone already; then the buffer is just freed.
        let _ = self.pool.send(std::mem::take(&mut self.buf));
    }
}

/// The tee's view of the stream: `None` ends it cleanly; a closed channel without it means
/// the ingest failed.
type TeeMsg = Option<Arc<Chunk>>;

struct TeeReader {
    rx: mpsc::Receiver<TeeMsg>,
    chunk: Option<Arc<Chunk>>,
    pos: usize,
    ended: bool,
}

impl Read for TeeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(c) = &self.chunk {
                let rest = &c.bytes()[self.pos..];
                if !rest.is_empty() {
                    let n = rest.len().min(out.len());
                    out[..n].copy_from_slice(&rest[..n]);
                    self.pos += n;
                    return Ok(n);
                }
                self.chunk = None;
            }
            if self.ended {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Some(c)) => {
                    self.chunk = Some(c);
                    self.pos = 0;
                }
                Ok(None) => self.ended = true,
                Err(_) => {
                    return Err(io::Error::other("the layer stream broke off"));
                }
            }
        }
    }
}

impl Pump<'_> {
    fn run(&mut self, mut r: impl Read) -> std::result::Result<(), PumpError> {
        let mut writer = self.writer.take().expect("writer present");
        let mut hasher = self.hash_here.then(|| writer.take_hasher());
        let tee = self.tee.take();
        let pool_size = if tee.is_some() { TEE_POOL } else { POOL };
        let check = &mut self.check;
        let (result, writer) = thread::scope(|scope| {
            // With a tee, `None` ends a stream read whole: the writer then syncs the file at once,
            // while the tee finishes. (Without one, the commit follows as soon.)
            let (full_tx, full_rx) = mpsc::sync_channel::<Option<Arc<Chunk>>>(pool_size);
            let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
            let hashed = hasher.is_some();
            let worker = thread::Builder::new()
                .name("blob-writer".into())
                .spawn_scoped(scope, move || {
                    let mut res = Ok(());
                    for chunk in full_rx {
                        let r = match chunk {
                            Some(c) => writer.put(c.bytes(), hashed),
                            None => writer.sync(),
                        };
                        if let Err(e) = r {
                            res = Err(e);
                            break;
                        }
                    }
                    (res, writer)
                })
                .map_err(|e| PumpError::Blob(BlobError::io("start writer thread", e)));
            let worker = match worker {
                Ok(w) => w,
                Err(e) => return (Err(e), None),
            };
            let (mut tee_tx, tee_thread) = match tee {
                None => (None, None),
                Some(tee) => {
                    let (tx, rx) = mpsc::channel::<TeeMsg>();
                    let t = thread::Builder::new()
                        .name("layer-tee".into())
                        .spawn_scoped(scope, move || {
                            let mut reader = TeeReader {
                                rx,
                                chunk: None,
                                pos: 0,
                                ended: false,
                            };
                            // The reader (and the buffers it holds) goes when the tee is done.
                            tee(&mut reader)
                        });
                    match t {
                        Ok(t) => (Some(tx), Some(t)),
                        Err(e) => {
                            drop(full_tx);
                            let _ = worker.join();
                            return (
                                Err(PumpError::Blob(BlobError::io("start tee thread", e))),
                                None,
                            );
                        }
                    }
                }
            };
            let mut allocated = 0;
            let read_result = loop {
                let buf = if allocated < pool_size {
                    allocated += 1;
                    vec![0u8; BUF_SIZE]
                } else {
                    free_rx.recv().expect("this thread holds a sender")
                };
                let mut chunk = Chunk {
                    buf,
                    len: 0,
                    pool: free_tx.clone(),
                };
                let (n, eof) = match fill(&mut r, &mut chunk.buf) {
                    Ok(x) => x,
                    Err(e) => break Err(PumpError::Read(e)),
                };
                chunk.len = n;
                if n > 0 {
                    if let Err(m) = check.feed(chunk.bytes()) {
                        break Err(PumpError::Blob(BlobError::invalid(format!(
                            "invalid tar: {m}"
                        ))));
                    }
                    if let Some(h) = &mut hasher {
                        h.update(chunk.bytes());
                    }
                    let chunk = Arc::new(chunk);
                    // A tee that stopped reading has dropped its receiver: it is left out.
                    if let Some(tx) = &tee_tx {
                        if tx.send(Some(chunk.clone())).is_err() {
                            tee_tx = None;
                        }
                    }
                    if full_tx.send(Some(chunk)).is_err() {
                        break Ok(false); // the writer failed; its error follows
                    }
                }
                if eof {
                    // Validated to the end before the tee is told the stream is whole.
                    break check.finish().map(|()| true).map_err(|m| {
                        PumpError::Blob(BlobError::invalid(format!("invalid tar: {m}")))
                    });
                }
            };
            let whole = matches!(read_result, Ok(true));
            if let (Some(tx), true) = (&tee_tx, whole) {
                let _ = full_tx.send(None);
                let _ = tx.send(None);
            }
            drop(full_tx);
            // Without the end mark the tee's reader fails, so a tee never takes a stream cut
            // short for a whole one.
            drop(tee_tx);
            let (write_result, mut writer) = match worker.join() {
                Ok(x) => x,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            let tee_result = match tee_thread.map(|t| t.join()) {
                None => Ok(()),
                Some(Ok(r)) => r,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
            };
            if let Some(h) = hasher {
                if write_result.is_ok() && read_result.is_ok() {
                    writer.put_hasher(h);
                }
            }
            let result = read_result
                .and_then(|_| {
                    write_result.map_err(|e| PumpError::Blob(BlobError::io("write blob", e)))
                })
                .and_then(|()| tee_result.map_err(|e| PumpError::Blob(BlobError::tee(e))));
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
