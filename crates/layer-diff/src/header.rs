//! The extended headers in front of a tar entry, read the one way every reader of a layer
//! shares (ingest's checker, the changeset reader, the applier, `load`): PAX records by their
//! length prefix, as POSIX and Go's `archive/tar` read them, and the entry's name and link
//! target from its PAX `path`/`GNU.sparse.name`/`linkpath` records, GNU long names (`L`, `K`)
//! or its header, the later extension winning; a PAX header's GNU sparse records as
//! `crate::sparse` reads them.
//!
//! The `tar` crate splits PAX data at every `\n` instead (so a value holding that byte — a
//! name with a newline, a binary `security.capability` — is refused or misread) and falls back
//! to the header's name when a record is malformed. [`HeaderTap`] lets a reader keep `tar`'s
//! iteration (data sizes, GNU sparse maps) while taking names and records from the bytes the
//! headers really hold.

use crate::sparse::{PaxSparse, SparseError};
use std::cell::{Cell, RefCell};
use std::io::{self, Read};

const BLOCK: usize = 512;

/// Most bytes [`HeaderTap`] holds for one entry's headers: the 8 MiB a reader allows an
/// entry's metadata, plus the padding of the entry before.
const MAX_LOG: usize = (8 << 20) + 2 * BLOCK;

/// A PAX extended header that is not a sequence of `<len> <key>=<value>\n` records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed PAX record at byte {at}: {reason}")]
pub struct PaxError {
    /// Offset of the record in the header's data.
    pub at: usize,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The records of a PAX extended header's data, `(key, value)` in order, each read by its
/// length prefix (`<len> <key>=<value>\n`, `len` counting the whole record): a value may hold
/// any byte, `\n` included. A record whose length is not decimal, runs past the data, does
/// not end in `\n` or has no `=` is an error.
pub fn pax_records(data: &[u8]) -> PaxRecords<'_> {
    PaxRecords { data, at: 0 }
}

/// Iterator of [`pax_records`].
#[derive(Debug, Clone)]
pub struct PaxRecords<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Iterator for PaxRecords<'a> {
    type Item = Result<(&'a [u8], &'a [u8]), PaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.data[self.at..];
        if rest.is_empty() {
            return None;
        }
        let at = self.at;
        let bad = |reason| Some(Err(PaxError { at, reason }));
        // Stop after an error: what follows has no known start.
        self.at = self.data.len();
        let Some(sp) = rest.iter().position(|&c| c == b' ') else {
            return bad("no length");
        };
        let Some(len) = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            return bad("length is not a decimal number");
        };
        if len <= sp + 1 || len > rest.len() {
            return bad("length runs past the header");
        }
        if rest[len - 1] != b'\n' {
            return bad("length does not end the record at a newline");
        }
        let rec = &rest[sp + 1..len - 1];
        let Some(eq) = rec.iter().position(|&c| c == b'=') else {
            return bad("no '=' in the record");
        };
        self.at = at + len;
        Some(Ok((&rec[..eq], &rec[eq + 1..])))
    }
}

/// A NUL-terminated field (or GNU long name data): its bytes up to the first NUL.
pub fn c_string(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

/// The name a 512-byte header holds: `prefix/name` for POSIX ustar (magic `ustar\0`), else
/// `name`.
pub fn header_name(b: &[u8; BLOCK]) -> Vec<u8> {
    let name = c_string(&b[..100]);
    if &b[257..263] == b"ustar\0" {
        let prefix = c_string(&b[345..500]);
        if !prefix.is_empty() {
            return [prefix, b"/", name].concat();
        }
    }
    name.to_vec()
}

/// What the extended headers in front of one entry say, applied in stream order: GNU long
/// names (`L`, `K`) and PAX headers (`x`); a later one overrides an earlier one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// The entry's name, from PAX `GNU.sparse.name` (which wins over `path` in the same
    /// header, when the header makes the entry a GNU sparse file: [`PaxSparse`]), PAX `path`
    /// or a GNU long name.
    pub name: Option<Vec<u8>>,
    /// The entry's link target, from PAX `linkpath` or a GNU long link name.
    pub link: Option<Vec<u8>>,
    /// Every PAX record, in order (a key may occur more than once; the last counts).
    pub records: Vec<(Vec<u8>, Vec<u8>)>,
    /// What the last PAX header says of the entry as a GNU sparse file (Go reads the sparse
    /// records of the last PAX header only): `None` when it makes no sparse file, an error
    /// when its sparse records are malformed (reported with the entry:
    /// [`entry_sparse`](crate::entry_sparse)).
    pub sparse: Option<Result<PaxSparse, SparseError>>,
}

impl Extensions {
    /// Applies the data of an extended header of type `kind` (`L`, `K` or `x`; others are
    /// ignored).
    pub fn apply(&mut self, kind: u8, data: &[u8]) -> Result<(), PaxError> {
        match kind {
            b'L' => self.name = Some(c_string(data).to_vec()),
            b'K' => self.link = Some(c_string(data).to_vec()),
            b'x' => {
                let mut path = None;
                let mut here = Vec::new();
                for rec in pax_records(data) {
                    let (key, value) = rec?;
                    match key {
                        b"path" => path = Some(value.to_vec()),
                        b"linkpath" => self.link = Some(value.to_vec()),
                        _ => {}
                    }
                    here.push((key, value));
                    self.records.push((key.to_vec(), value.to_vec()));
                }
                let (sparse_name, sparse) = PaxSparse::from_records(here);
                self.sparse = sparse.transpose();
                if let Some(name) = sparse_name.or(path) {
                    self.name = Some(name);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The value of the last PAX record `key`.
    pub fn record(&self, key: &[u8]) -> Option<&[u8]> {
        self.records
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// The value of the last PAX record `key` read as a decimal `u64`; `None` when absent or
    /// not a number.
    pub fn number(&self, key: &[u8]) -> Option<u64> {
        std::str::from_utf8(self.record(key)?).ok()?.parse().ok()
    }
}

/// One entry's headers as read by length: its name, link target and PAX records.
#[derive(Debug, Clone)]
pub struct EntryHeaders {
    /// The entry's name ([`Extensions::name`], else the header's).
    pub path: Vec<u8>,
    /// The entry's link target ([`Extensions::link`], else the header's); empty when none.
    pub link: Vec<u8>,
    /// The extensions in front of the entry.
    pub ext: Extensions,
    /// The entry's own 512-byte header, as stored.
    pub header: tar::Header,
}

impl EntryHeaders {
    /// The entry's uid: PAX `uid`, else the header's, read as Go reads it.
    pub fn uid(&self) -> io::Result<u64> {
        match self.ext.number(b"uid") {
            Some(v) => Ok(v),
            None => crate::numeric_as_go(self.header.uid(), &self.header.as_old().uid),
        }
    }

    /// The entry's gid: PAX `gid`, else the header's, read as Go reads it.
    pub fn gid(&self) -> io::Result<u64> {
        match self.ext.number(b"gid") {
            Some(v) => Ok(v),
            None => crate::numeric_as_go(self.header.gid(), &self.header.as_old().gid),
        }
    }
}

/// Records the bytes a `tar::Archive` reads while it looks for the next entry, so that the
/// entry's extended headers can be read by length ([`HeaderTap::next`]).
///
/// Give the archive [`HeaderTap::reader`] and take each entry with [`HeaderTap::next`]; read
/// every entry's data to its end before asking for the next (the tap then holds only that
/// entry's headers, and refuses to hold more than 8 MiB).
#[derive(Debug, Default)]
pub struct HeaderTap {
    log: RefCell<Vec<u8>>,
    pos: Cell<u64>,
    on: Cell<bool>,
}

/// The reader [`HeaderTap::reader`] gives: the input, counted and, while the tap listens,
/// recorded.
#[derive(Debug)]
pub struct Tapped<'t, R> {
    inner: R,
    tap: &'t HeaderTap,
}

impl<R: Read> Read for Tapped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.tap.on.get() {
            let mut log = self.tap.log.borrow_mut();
            if log.len() + n > MAX_LOG {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "entry metadata exceeds the limit",
                ));
            }
            log.extend_from_slice(&buf[..n]);
        }
        self.tap.pos.set(self.tap.pos.get() + n as u64);
        Ok(n)
    }
}

impl HeaderTap {
    /// A tap that has read nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// `r`, counted and recorded by this tap: hand it to `tar::Archive::new`.
    pub fn reader<R: Read>(&self, r: R) -> Tapped<'_, R> {
        Tapped {
            inner: r,
            tap: self,
        }
    }

    /// The next entry of `entries` (an iterator over an archive reading from
    /// [`reader`](Self::reader)), with its headers as read by length. An error when the tar
    /// is corrupt, a PAX header is malformed, the headers are not where the `tar` crate found
    /// the entry (the previous entry's data was not read to its end, or a header the `tar`
    /// crate does not take for an extension), or a PAX `size` differs from the size the
    /// entry is read with.
    pub fn next<'a, R: Read>(
        &self,
        entries: &mut tar::Entries<'a, R>,
    ) -> Option<io::Result<(tar::Entry<'a, R>, EntryHeaders)>> {
        let start = self.pos.get();
        self.log.borrow_mut().clear();
        self.on.set(true);
        let next = entries.next();
        self.on.set(false);
        let entry = match next? {
            Ok(e) => e,
            Err(e) => return Some(Err(e)),
        };
        let headers = self.headers(start, &entry);
        Some(headers.map(|h| (entry, h)))
    }

    fn headers<R: Read>(&self, start: u64, entry: &tar::Entry<'_, R>) -> io::Result<EntryHeaders> {
        let log = self.log.borrow();
        let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
        let out_of_step = || {
            invalid(format!(
                "extended headers in front of the entry at offset {} are not where the entry's header says",
                entry.raw_header_position()
            ))
        };
        let rel = |abs: u64| usize::try_from(abs - start).map_err(|_| out_of_step());
        let target = entry
            .raw_header_position()
            .checked_sub(start)
            .ok_or_else(out_of_step)?;
        let target = usize::try_from(target).map_err(|_| out_of_step())?;
        // The entry before ends at the next block boundary.
        let mut at = rel(start.div_ceil(BLOCK as u64) * BLOCK as u64)?;
        let mut ext = Extensions::default();
        while at < target {
            let block: &[u8; BLOCK] = log
                .get(at..at + BLOCK)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(out_of_step)?;
            let kind = block[156];
            if !matches!(kind, b'L' | b'K' | b'x') {
                return Err(out_of_step());
            }
            let size = tar::Header::from_byte_slice(block).entry_size()?;
            let size = usize::try_from(size).map_err(|_| out_of_step())?;
            let data = log
                .get(at + BLOCK..at + BLOCK + size)
                .ok_or_else(out_of_step)?;
            let off = start + at as u64;
            ext.apply(kind, data)
                .map_err(|e| invalid(format!("extended header at offset {off}: {e}")))?;
            at += BLOCK + size.div_ceil(BLOCK) * BLOCK;
        }
        if at != target {
            return Err(out_of_step());
        }
        let block: [u8; BLOCK] = log
            .get(at..at + BLOCK)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(out_of_step)?;
        let header = tar::Header::from_byte_slice(&block).clone();
        let size = match ext.record(b"size") {
            Some(v) => std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| {
                    invalid(format!(
                        "entry at offset {}: invalid PAX size record",
                        entry.raw_header_position()
                    ))
                })?,
            None => header.entry_size()?,
        };
        // The `tar` crate found the data with its own reading of the PAX records; a size it
        // read differently would put the next header elsewhere. (A GNU sparse entry's size
        // is its expanded size.)
        if !header.entry_type().is_gnu_sparse() && size != entry.size() {
            return Err(invalid(format!(
                "entry at offset {}: size {size} but the entry is read with {} bytes",
                entry.raw_header_position(),
                entry.size()
            )));
        }
        let path = match &ext.name {
            Some(n) => n.clone(),
            None => header_name(&block),
        };
        let link = match &ext.link {
            Some(l) => l.clone(),
            None => c_string(&block[157..257]).to_vec(),
        };
        Ok(EntryHeaders {
            path,
            link,
            ext,
            header,
        })
    }
}
