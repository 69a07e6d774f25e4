//! The store itself: paths, reads, deletes, and the temp-file-then-rename writer.

use crate::error::{BlobError, Result};
use oci_model::{Digest, Sha256Writer};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Size of the copy buffers (reads, the writer's buffer).
pub(crate) const BUF_SIZE: usize = 1 << 20;

/// Counter that makes temp names unique within this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A content-addressed blob store rooted at one directory. See the crate docs for the layout.
///
/// A `BlobStore` is cheap (two paths and a counter its clones share) and all its methods take `&self`; any number of
/// threads and processes may use one root at once.
#[derive(Debug, Clone)]
pub struct BlobStore {
    blobs: PathBuf,
    ingest: PathBuf,
    /// Blobs this handle's writers made visible (see [`BlobStore::published`]).
    published: Arc<AtomicU64>,
}

impl BlobStore {
    /// Opens (creating as needed) the store under `root`, and removes temp files left in
    /// `root/ingest/` by writers that no longer run (crash recovery after a SIGKILL).
    ///
    /// A temp file is stale when the process named in it is gone, or is this very process (a
    /// previous incarnation with the same pid, as when the store is used by pid 1 of a
    /// container), and in both cases no live writer holds the `flock` every writer keeps on
    /// its temp file (which also protects writers in other pid namespaces). Temp files of
    /// other live processes are left alone.
    pub fn open(root: &Path) -> Result<BlobStore> {
        let blobs = root.join("blobs").join("sha256");
        let ingest = root.join("ingest");
        for dir in [&blobs, &ingest] {
            fs::create_dir_all(dir)
                .map_err(|e| BlobError::io(format!("create {}", dir.display()), e))?;
        }
        let store = BlobStore {
            blobs,
            ingest,
            published: Arc::default(),
        };
        store.remove_stale_temps()?;
        Ok(store)
    }

    fn remove_stale_temps(&self) -> Result<()> {
        let entries = fs::read_dir(&self.ingest)
            .map_err(|e| BlobError::io(format!("read {}", self.ingest.display()), e))?;
        let me = std::process::id();
        for entry in entries {
            let entry = entry.map_err(|e| BlobError::io("read ingest directory", e))?;
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(temp_pid) else {
                continue;
            };
            if pid != me && process_alive(pid) {
                continue;
            }
            let path = entry.path();
            let f = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(BlobError::io("open stale temp file", e)),
            };
            match try_lock(&f) {
                Ok(true) => {}
                Ok(false) => continue, // a live writer (ours, or one in another pid namespace)
                // No locks on this file system: fall back on the pid alone.
                Err(_) if pid != me => {}
                Err(_) => continue,
            }
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(BlobError::io("remove stale temp file", e)),
            }
        }
        Ok(())
    }

    /// Where the blob `d` lives (whether or not it is present).
    pub fn path(&self, d: &Digest) -> PathBuf {
        self.blobs.join(d.hex())
    }

    /// True when the blob is present.
    pub fn contains(&self, d: &Digest) -> bool {
        self.path(d).is_file()
    }

    /// The blob's size, or `None` when it is absent.
    pub fn size(&self, d: &Digest) -> Result<Option<u64>> {
        match fs::metadata(self.path(d)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BlobError::io(format!("stat blob {d}"), e)),
        }
    }

    /// Opens the blob for reading; a [`NotFound`](crate::ErrorKind::NotFound) error when absent.
    pub fn open_blob(&self, d: &Digest) -> Result<File> {
        match File::open(self.path(d)) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(BlobError::not_found(d)),
            Err(e) => Err(BlobError::io(format!("open blob {d}"), e)),
        }
    }

    /// The blob's bytes.
    pub fn read(&self, d: &Digest) -> Result<Vec<u8>> {
        let mut f = self.open_blob(d)?;
        let mut v = Vec::new();
        f.read_to_end(&mut v)
            .map_err(|e| BlobError::io(format!("read blob {d}"), e))?;
        Ok(v)
    }

    /// Removes the blob; true if it was present.
    pub fn delete(&self, d: &Digest) -> Result<bool> {
        match fs::remove_file(self.path(d)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(BlobError::io(format!("delete blob {d}"), e)),
        }
    }

    /// Every blob with its size, sorted by digest. Names that are not 64 lowercase hex chars
    /// (nothing this crate writes) are skipped.
    pub fn list(&self) -> Result<Vec<(Digest, u64)>> {
        let entries = fs::read_dir(&self.blobs).map_err(|e| BlobError::io("list blobs", e))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| BlobError::io("list blobs", e))?;
            let Some(d) = entry.file_name().to_str().and_then(Digest::from_hex) else {
                continue;
            };
            match entry.metadata() {
                Ok(m) if m.is_file() => out.push((d, m.len())),
                Ok(_) => {}
                // Deleted between the listing and the stat.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(BlobError::io(format!("stat blob {d}"), e)),
            }
        }
        out.sort();
        Ok(out)
    }

    /// Re-hashes the blob and tells whether its content matches its name. A
    /// [`NotFound`](crate::ErrorKind::NotFound) error when absent.
    pub fn verify(&self, d: &Digest) -> Result<bool> {
        let mut f = self.open_blob(d)?;
        let mut h = Sha256Writer::new();
        let mut buf = vec![0u8; BUF_SIZE];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => h.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(BlobError::io(format!("read blob {d}"), e)),
            }
        }
        Ok(h.finish() == *d)
    }

    /// A writer for a new blob: bytes go to a temp file in `ingest/` and are hashed on the
    /// way; [`BlobWriter::commit`] makes the blob visible.
    pub fn writer(&self) -> Result<BlobWriter> {
        self.new_writer(Some(Sha256Writer::new()))
    }

    /// A writer for a blob whose bytes the caller hashes itself as it writes them (a registry
    /// client checking a download against its digest): nothing is hashed here, and
    /// [`BlobWriter::commit_prehashed`] takes the digest the caller checked.
    pub fn writer_prehashed(&self) -> Result<BlobWriter> {
        self.new_writer(None)
    }

    /// How many blobs the writers of this handle (and its clones) have made visible since it was opened (a blob
    /// already present when its writer committed is not counted): equal before and after an
    /// operation, the operation added no blob, so it left none for a sweep to take back.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    fn new_writer(&self, hasher: Option<Sha256Writer>) -> Result<BlobWriter> {
        let pid = std::process::id();
        loop {
            let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|t| t.as_nanos() as u64)
                .unwrap_or(0);
            let r = mix(nanos ^ n.rotate_left(32) ^ u64::from(pid) << 16);
            let tmp = self.ingest.join(format!("{pid}-{n}-{r:016x}.tmp"));
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(f) => {
                    // Lock it, then make sure a concurrent `open` did not take it for stale
                    // and remove it before we held the lock; if so, try another name.
                    // (Without lock support, go on unlocked: `open` then judges by pid.)
                    if matches!(try_lock(&f), Ok(false)) || !same_file(&f, &tmp) {
                        continue;
                    }
                    return Ok(BlobWriter {
                        prehashed: hasher.is_none(),
                        file: BufWriter::with_capacity(BUF_SIZE, f),
                        hasher,
                        written: 0,
                        tmp,
                        blobs: self.blobs.clone(),
                        published: Arc::clone(&self.published),
                        done: false,
                        started: 0,
                        synced: None,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(BlobError::io("create temp file", e)),
            }
        }
    }

    /// Stores `bytes`; when `expected` is given and the bytes do not hash to it, nothing is
    /// stored and a digest-mismatch error is returned.
    pub fn put(&self, bytes: &[u8], expected: Option<&Digest>) -> Result<Digest> {
        let d = Digest::of(bytes);
        if let Some(exp) = expected {
            if *exp != d {
                return Err(BlobError::digest_mismatch(exp, d));
            }
        }
        if self.contains(&d) {
            return Ok(d);
        }
        let mut w = self.writer()?;
        w.write_all(bytes)
            .map_err(|e| BlobError::io("write blob", e))?;
        Ok(w.commit(Some(&d), Some(bytes.len() as u64))?.0)
    }

    /// Stores everything `r` yields, checking the digest and size when given (on a mismatch
    /// nothing is stored). Returns the digest and size.
    pub fn ingest(
        &self,
        mut r: impl Read,
        expected: Option<&Digest>,
        expected_size: Option<u64>,
    ) -> Result<(Digest, u64)> {
        let mut w = self.writer()?;
        let mut buf = vec![0u8; BUF_SIZE];
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(BlobError::io("read blob content", e)),
            };
            w.write_all(&buf[..n])
                .map_err(|e| BlobError::io("write blob", e))?;
        }
        w.commit(expected, expected_size)
    }
}

/// The pid in a temp name `<pid>-<n>-<hex>.tmp`, if it is one.
fn temp_pid(name: &str) -> Option<u32> {
    let stem = name.strip_suffix(".tmp")?;
    let mut parts = stem.split('-');
    let pid = parts.next()?.parse().ok()?;
    parts.next()?.parse::<u64>().ok()?;
    parts.next()?;
    parts.next().is_none().then_some(pid)
}

/// Takes an exclusive `flock` on `f` without waiting: `Ok(false)` when another holds one, an
/// error when the file system cannot lock.
fn try_lock(f: &File) -> io::Result<bool> {
    match f.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Whether `path` still names the open file `f`.
fn same_file(f: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (f.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether process `pid` exists (in our pid namespace).
fn process_alive(pid: u32) -> bool {
    if Path::new("/proc/self").exists() {
        return Path::new(&format!("/proc/{pid}")).exists();
    }
    // No procfs: ask the kernel. EPERM means it exists but is not ours.
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// splitmix64 finalizer: spreads the counter and the clock over the name's random part.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A blob being written: an [`io::Write`] that hashes the bytes and sends them to a temp file.
/// Nothing is visible in the store until [`commit`](BlobWriter::commit); dropping an
/// uncommitted writer removes its temp file.
pub struct BlobWriter {
    file: BufWriter<File>,
    /// `None` while the caller hashes for us (see [`BlobWriter::write_unhashed`]), and always
    /// for a [`prehashed`](BlobStore::writer_prehashed) writer.
    hasher: Option<Sha256Writer>,
    /// Made by [`BlobStore::writer_prehashed`]: committed only with
    /// [`commit_prehashed`](BlobWriter::commit_prehashed).
    prehashed: bool,
    written: u64,
    tmp: PathBuf,
    blobs: PathBuf,
    /// The store's count of blobs made visible, bumped by each this writer renames into place.
    published: Arc<AtomicU64>,
    done: bool,
    /// File offset up to which writeback has been started.
    started: u64,
    /// Bytes written when [`sync`](BlobWriter::sync) made them durable.
    synced: Option<u64>,
}

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("tmp", &self.tmp)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl BlobWriter {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes bytes the caller hashes itself: it must have taken the hasher with
    /// [`take_hasher`](Self::take_hasher), feed it exactly these bytes in order, and give it
    /// back with [`put_hasher`](Self::put_hasher) before committing. Lets the hashing and the
    /// writing run on different threads.
    pub(crate) fn write_unhashed(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)?;
        self.written += buf.len() as u64;
        self.start_writeback();
        Ok(())
    }

    /// Takes the hasher (with what was hashed so far) for [`write_unhashed`](Self::write_unhashed).
    pub(crate) fn take_hasher(&mut self) -> Sha256Writer {
        self.hasher.take().expect("hasher present")
    }

    /// Gives back the hasher taken with [`take_hasher`](Self::take_hasher).
    pub(crate) fn put_hasher(&mut self, h: Sha256Writer) {
        assert_eq!(h.len(), self.written, "hasher out of step with the writes");
        self.hasher = Some(h);
    }

    /// Makes what was written so far durable (it stays invisible until
    /// [`commit`](Self::commit), which then has no more syncing to do unless more is written).
    /// Lets the wait for the disk overlap with other work before the commit.
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_data()?;
        self.synced = Some(self.written);
        Ok(())
    }

    /// Checks the size and digest (when given; on a mismatch the temp file is removed and an
    /// error returned whose [`mismatch`](BlobError::mismatch) is the actual digest), makes
    /// the bytes durable, and makes the blob visible under its digest. If the blob is already
    /// present the temp file is dropped instead (same name, same bytes).
    pub fn commit(
        self,
        expected: Option<&Digest>,
        expected_size: Option<u64>,
    ) -> Result<(Digest, u64)> {
        let v = self.verify(expected, expected_size)?;
        let out = (v.digest.clone(), v.size);
        v.publish()?;
        Ok(out)
    }

    /// The checks of [`commit`](Self::commit) without its publication: the blob, hashed and
    /// checked, stays invisible until [`VerifiedBlob::publish`] or
    /// [`BlobStore::publish_all`] (which makes several durable and visible together).
    pub fn verify(
        mut self,
        expected: Option<&Digest>,
        expected_size: Option<u64>,
    ) -> Result<VerifiedBlob> {
        assert!(
            !self.prehashed,
            "a prehashed writer commits with commit_prehashed"
        );
        let size = self.written;
        let digest = self
            .hasher
            .take()
            .expect("hasher given back before commit")
            .finish();
        if let Some(exp) = expected_size {
            if exp != size {
                return Err(BlobError::size_mismatch(exp, size));
            }
        }
        if let Some(exp) = expected {
            if *exp != digest {
                return Err(BlobError::digest_mismatch(exp, digest));
            }
        }
        Ok(VerifiedBlob {
            writer: self,
            digest,
            size,
        })
    }

    /// Commits a [`prehashed`](BlobStore::writer_prehashed) writer's bytes as `digest`, which
    /// the caller computed over exactly the bytes it wrote. Returns the size.
    pub fn commit_prehashed(mut self, digest: &Digest) -> Result<u64> {
        assert!(self.prehashed, "commit_prehashed needs a prehashed writer");
        self.publish(digest)?;
        Ok(self.written)
    }

    /// Makes the written bytes durable and visible as `digest`; if the blob is already
    /// present the temp file is dropped instead (same name, same bytes).
    fn publish(&mut self, digest: &Digest) -> Result<()> {
        if self.rename_into_place(digest)? {
            sync_dir(&self.blobs)?;
        }
        Ok(())
    }

    /// Syncs the bytes (unless already synced) and renames the file to its digest's name;
    /// false when the blob was already present (the temp file then goes with the writer).
    /// The directory is left for the caller to sync.
    fn rename_into_place(&mut self, digest: &Digest) -> Result<bool> {
        let target = self.blobs.join(digest.hex());
        if target.is_file() {
            // Drop removes the temp file.
            return Ok(false);
        }
        if self.synced != Some(self.written) {
            self.sync().map_err(|e| BlobError::io("sync blob", e))?;
        }
        // Atomic: a concurrent writer of the same blob may win the race; its bytes are ours.
        fs::rename(&self.tmp, &target).map_err(|e| BlobError::io("commit blob", e))?;
        self.published.fetch_add(1, Ordering::Relaxed);
        self.done = true;
        Ok(true)
    }
}

/// Makes the renames in the blob directory durable.
fn sync_dir(blobs: &Path) -> Result<()> {
    File::open(blobs)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| BlobError::io("sync blob directory", e))
}

/// A blob whose bytes are written, hashed and checked ([`BlobWriter::verify`]) but not yet
/// visible in the store; dropped unpublished, its temp file is removed.
#[derive(Debug)]
pub struct VerifiedBlob {
    writer: BlobWriter,
    digest: Digest,
    size: u64,
}

impl VerifiedBlob {
    /// The blob's digest.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The blob's size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Makes the blob durable and visible, as [`BlobWriter::commit`].
    pub fn publish(mut self) -> Result<()> {
        let digest = self.digest.clone();
        self.writer.publish(&digest)
    }
}

impl BlobStore {
    /// Stores `bytes` as a [`VerifiedBlob`], not yet visible (see [`BlobStore::publish_all`]).
    pub fn stage(&self, bytes: &[u8]) -> Result<VerifiedBlob> {
        let mut w = self.writer()?;
        w.write_all(bytes)
            .map_err(|e| BlobError::io("write blob", e))?;
        w.verify(None, Some(bytes.len() as u64))
    }

    /// Publishes several verified blobs together, with the guarantees of
    /// [`BlobWriter::commit`] for each: their bytes are synced concurrently (so the file
    /// system can take them in one journal commit), each is renamed into place once its
    /// bytes are durable, and the directory is synced once for all of them. On an error,
    /// blobs already renamed stay (complete and durable, as any published blob); the others
    /// are dropped.
    pub fn publish_all(&self, blobs: Vec<VerifiedBlob>) -> Result<()> {
        let mut blobs = blobs;
        std::thread::scope(|s| -> Result<()> {
            let mut rest = blobs.iter_mut();
            let first = rest.next();
            let others: Vec<_> = rest
                .map(|b| {
                    s.spawn(move || -> Result<()> {
                        if b.writer.synced != Some(b.writer.written) {
                            b.writer.sync().map_err(|e| BlobError::io("sync blob", e))?;
                        }
                        Ok(())
                    })
                })
                .collect();
            let mut result = match first {
                Some(b) if b.writer.synced != Some(b.writer.written) => {
                    b.writer.sync().map_err(|e| BlobError::io("sync blob", e))
                }
                _ => Ok(()),
            };
            for t in others {
                let r = t.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                result = result.and(r);
            }
            result
        })?;
        let mut renamed = false;
        for b in &mut blobs {
            let digest = b.digest.clone();
            renamed |= b.writer.rename_into_place(&digest)?;
        }
        if renamed {
            sync_dir(&self.blobs)?;
        }
        Ok(())
    }
}

/// How much written data may wait before its writeback to disk is started.
const WRITEBACK_STEP: u64 = 8 << 20;

impl BlobWriter {
    /// Starts (without waiting for) writeback of what reached the file since the last call,
    /// once there is enough of it, so that the fsync in `commit` finds little left to do and
    /// the disk works while we hash.
    fn start_writeback(&mut self) {
        let reached = self.written - self.file.buffer().len() as u64;
        if reached - self.started < WRITEBACK_STEP {
            return;
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: a valid open fd; the call only schedules I/O. Failure is harmless (the
            // fsync in commit still makes everything durable), so its result is ignored.
            unsafe {
                libc::sync_file_range(
                    self.file.get_ref().as_raw_fd(),
                    self.started as libc::off64_t,
                    (reached - self.started) as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
        }
        self.started = reached;
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        if !self.prehashed {
            self.hasher
                .as_mut()
                .expect("hasher present")
                .update(&buf[..n]);
        }
        self.written += n as u64;
        self.start_writeback();
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)?;
        if !self.prehashed {
            self.hasher.as_mut().expect("hasher present").update(buf);
        }
        self.written += buf.len() as u64;
        self.start_writeback();
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
