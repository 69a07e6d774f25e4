//! PAX GNU sparse entries — what GNU tar writes with `--sparse --format=posix` in its formats
//! 0.0, 0.1 and 1.0 — read the one way every reader of a layer shares, as Go's `archive/tar`
//! (Docker's reader) reads them (`readGNUSparsePAXHeaders`, `readGNUSparseMap0x1`,
//! `readGNUSparseMap1x0`, `validateSparseEntries`, `sparseFileReader`).
//!
//! Such an entry is a regular file whose stored data is the file's data fragments back to back
//! (for 1.0 after a text map padded to whole blocks); the map in its PAX records (0.0, 0.1) or
//! in front of the data (1.0) says where each fragment goes, and the rest of the file, up to
//! its real size (`GNU.sparse.size` or `GNU.sparse.realsize`), is holes that read as zeros. The
//! `tar` crate expands only old-GNU (`S`) sparse entries and hands a PAX one over as stored;
//! [`EntryContent`] expands it, and ingest's checker reads its map with the same
//! [`PaxSparse`], [`SparseMapBlocks`] and [`SparseMap::check`].
//!
//! A map that Go refuses (`ErrHeader`, `errSparseTooLong`), or whose fragments do not add up to
//! the data stored (Go's reader fails with `errMissData`/`errUnrefData` when the file is read
//! to its end, as Docker's extraction does), is a [`SparseError`]. Stricter than Go: PAX sparse
//! records on anything but a regular file (`0`, NUL, `7`) whose name does not end in `/` are
//! refused (Go refuses them on links, directories, devices and FIFOs; it ignores them on an
//! old-GNU `S` entry, whose own map counts — an entry no GNU tar writes).

use crate::header::EntryHeaders;
use std::collections::VecDeque;
use std::io::{self, Read};

const BLOCK: usize = 512;

/// Most bytes a 1.0 map may take in front of an entry's data: Go's `maxSpecialFileSize`, the
/// limit of its `readGNUSparseMap1x0` (`errSparseTooLong` beyond).
pub const MAX_SPARSE_MAP: u64 = 1 << 20;

/// Why a PAX GNU sparse entry cannot be read as Go reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GNU sparse {0}")]
pub struct SparseError(String);

impl SparseError {
    fn new(reason: impl Into<String>) -> Self {
        SparseError(reason.into())
    }

    /// A 1.0 map that runs past the entry's data (Go: `io.ErrUnexpectedEOF`).
    pub fn map_runs_past() -> Self {
        SparseError::new("1.0 map runs past the entry's data")
    }

    /// What is wrong, after `GNU sparse `.
    pub fn reason(&self) -> &str {
        &self.0
    }
}

/// A region of a sparse file that holds data: `length` bytes at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Where the region starts in the file.
    pub offset: u64,
    /// Its length in bytes (never 0 in a checked map).
    pub length: u64,
}

/// A sparse map as written: `(offset, length)` pairs, not yet checked ([`SparseMap::check`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SparseMap(Vec<(i64, i64)>);

impl SparseMap {
    /// The map checked against the file's `size` and the `data` bytes stored for it, as Go's
    /// `validateSparseEntries` checks it (no negative number, regions in order and apart,
    /// none past the file's size) and as its reader finds it when the file is read to the end
    /// (the regions' lengths add up to the data stored: neither `errMissData` nor
    /// `errUnrefData`). The regions with data, in order.
    pub fn check(&self, size: u64, data: u64) -> Result<Vec<Fragment>, SparseError> {
        let mut out = Vec::new();
        let mut prev_end = 0u64;
        let mut total = 0u64;
        for &(offset, length) in &self.0 {
            let (Ok(offset), Ok(length)) = (u64::try_from(offset), u64::try_from(length)) else {
                return Err(SparseError::new(format!(
                    "map region ({offset}, {length}) has a negative number"
                )));
            };
            // Both are below 2^63: the sum does not overflow a u64.
            let end = offset + length;
            if end > i64::MAX as u64 {
                return Err(SparseError::new(format!(
                    "map region ({offset}, {length}) overflows"
                )));
            }
            if end > size {
                return Err(SparseError::new(format!(
                    "map region ends at {end}, past the file's size {size}"
                )));
            }
            if prev_end > offset {
                return Err(SparseError::new(format!(
                    "map regions overlap or are out of order (a region at {offset} after one ending at {prev_end})"
                )));
            }
            prev_end = end;
            total += length;
            if length > 0 {
                out.push(Fragment { offset, length });
            }
        }
        if total != data {
            return Err(SparseError::new(format!(
                "map holds {total} bytes of data, the entry stores {data}"
            )));
        }
        Ok(out)
    }

    /// The regions as written.
    pub fn regions(&self) -> &[(i64, i64)] {
        &self.0
    }
}

/// What one PAX extended header says of the entry after it as a GNU sparse file, read as Go
/// reads it: the last record of a key counts; 0.0's `GNU.sparse.offset`/`numbytes` records,
/// in order, make the map; the format is 0.0 or 0.1 (`GNU.sparse.major`/`minor` 0.0 or 0.1,
/// or none but a map) or 1.0 (1.0); any other version is no sparse file (Go reads it as
/// stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaxSparse {
    /// `GNU.sparse.name`, unless empty: the entry's name.
    pub name: Option<Vec<u8>>,
    /// `GNU.sparse.size`, else `GNU.sparse.realsize`: the file's size; `None` when neither
    /// is set (the file's size is then the entry's stored size).
    pub size: Option<u64>,
    /// The map of 0.0 and 0.1; `None` for 1.0, whose map is in front of the data
    /// ([`SparseMapBlocks`]).
    pub map: Option<SparseMap>,
}

/// A PAX header's records as Go's `parsePAX` keeps them: the last value of each key, and 0.0's
/// map records.
struct Records<'a> {
    last: Vec<(&'a [u8], &'a [u8])>,
    map00: Vec<&'a [u8]>,
}

impl<'a> Records<'a> {
    /// The last value of `key`, empty when absent (Go's map lookup).
    fn get(&self, key: &[u8]) -> &'a [u8] {
        self.last
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map_or(&[][..], |(_, v)| v)
    }
}

impl PaxSparse {
    /// Reads the records of one PAX extended header (all of them, in order). `Ok(None)`: the
    /// header makes no GNU sparse file. `name` is the sparse name even when the rest is
    /// malformed (the name the error is reported under).
    pub fn from_records<'a>(
        records: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> (Option<Vec<u8>>, Result<Option<PaxSparse>, SparseError>) {
        let mut r = Records {
            last: Vec::new(),
            map00: Vec::new(),
        };
        let mut order_error = None;
        for (key, value) in records {
            match key {
                b"GNU.sparse.offset" | b"GNU.sparse.numbytes" => {
                    let want: &[u8] = if r.map00.len().is_multiple_of(2) {
                        b"GNU.sparse.offset"
                    } else {
                        b"GNU.sparse.numbytes"
                    };
                    if key != want || value.contains(&b',') {
                        order_error.get_or_insert_with(|| {
                            SparseError::new(
                                "0.0 map records out of order (GNU.sparse.offset and GNU.sparse.numbytes alternate) or holding a comma",
                            )
                        });
                    }
                    r.map00.push(value);
                }
                _ => r.last.push((key, value)),
            }
        }
        let joined;
        let map_text = if r.map00.is_empty() {
            r.get(b"GNU.sparse.map")
        } else {
            joined = r.map00.join(&b","[..]);
            &joined[..]
        };
        // Go's `readGNUSparsePAXHeaders`: a known version, or none and a map (0.0 and 0.1
        // wrote no version); any other version is no sparse file.
        let (major, minor) = (r.get(b"GNU.sparse.major"), r.get(b"GNU.sparse.minor"));
        let in_data = major == b"1" && minor == b"0";
        let recognised = in_data
            || (major == b"0" && (minor == b"0" || minor == b"1"))
            || (major.is_empty() && minor.is_empty() && !map_text.is_empty());
        if let Some(e) = order_error {
            // Go's `parsePAX` refuses the header whatever else it says.
            return (None, Err(e));
        }
        if !recognised {
            return (None, Ok(None));
        }
        let name = Some(r.get(b"GNU.sparse.name"))
            .filter(|n| !n.is_empty())
            .map(<[u8]>::to_vec);
        let parsed = (|| {
            let mut size_text = r.get(b"GNU.sparse.size");
            let mut key = "GNU.sparse.size";
            if size_text.is_empty() {
                size_text = r.get(b"GNU.sparse.realsize");
                key = "GNU.sparse.realsize";
            }
            let size = if size_text.is_empty() {
                None
            } else {
                let n = go_int(size_text).ok_or_else(|| {
                    SparseError::new(format!("{key} {} is not a number", show(size_text)))
                })?;
                Some(
                    u64::try_from(n)
                        .map_err(|_| SparseError::new(format!("{key} {n} is negative")))?,
                )
            };
            let map = if in_data {
                None
            } else {
                Some(map_0x1(r.get(b"GNU.sparse.numblocks"), map_text)?)
            };
            Ok(Some(PaxSparse {
                name: name.clone(),
                size,
                map,
            }))
        })();
        (name, parsed)
    }
}

/// Go's `readGNUSparseMap0x1`: `numblocks` entries, `map` their offsets and lengths separated
/// by commas.
fn map_0x1(numblocks: &[u8], map: &[u8]) -> Result<SparseMap, SparseError> {
    let count = entry_count(numblocks).ok_or_else(|| {
        SparseError::new(format!(
            "GNU.sparse.numblocks {} is not a count",
            show(numblocks)
        ))
    })?;
    let fields: Vec<&[u8]> = if map.is_empty() {
        Vec::new()
    } else {
        map.split(|&c| c == b',').collect()
    };
    if fields.len() as u64 != 2 * count {
        return Err(SparseError::new(format!(
            "map has {} numbers for {count} regions",
            fields.len()
        )));
    }
    pairs(&fields).map(SparseMap)
}

/// `(offset, length)` pairs of decimal fields.
fn pairs(fields: &[&[u8]]) -> Result<Vec<(i64, i64)>, SparseError> {
    fields
        .chunks_exact(2)
        .map(|p| {
            let num = |f: &[u8]| {
                go_int(f).ok_or_else(|| {
                    SparseError::new(format!("map number {} is not a number", show(f)))
                })
            };
            Ok((num(p[0])?, num(p[1])?))
        })
        .collect()
}

/// A count of map entries as Go checks it: a decimal `int` whose double does not overflow.
fn entry_count(text: &[u8]) -> Option<u64> {
    let n = go_int(text)?;
    if n < 0 || n.checked_mul(2).is_none() {
        return None;
    }
    Some(n as u64)
}

/// Go's `strconv.ParseInt(s, 10, 64)`: an optional sign and decimal digits, in range.
fn go_int(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// A value for messages, escaped and cut.
fn show(v: &[u8]) -> String {
    let cut = &v[..v.len().min(40)];
    let mut s = format!("{:?}", String::from_utf8_lossy(cut));
    if cut.len() < v.len() {
        s.push('…');
    }
    s
}

/// The sparse form `found` (an entry's [`Extensions::sparse`](crate::Extensions::sparse))
/// gives the entry of type flag `typeflag` named `name`: `None` for an entry read as stored,
/// an error when the records are malformed or the entry cannot be a sparse file (see the
/// module documentation).
pub fn entry_sparse<'a>(
    found: Option<&'a Result<PaxSparse, SparseError>>,
    typeflag: u8,
    name: &[u8],
) -> Result<Option<&'a PaxSparse>, SparseError> {
    let sparse = match found {
        None => return Ok(None),
        Some(Err(e)) => return Err(e.clone()),
        Some(Ok(s)) => s,
    };
    match typeflag {
        b'0' | 0 | b'7' if !name.ends_with(b"/") => Ok(Some(sparse)),
        b'0' | 0 | b'7' => Err(SparseError::new(
            "records on an entry named as a directory: only a regular file can be sparse",
        )),
        b'S' => Err(SparseError::new(
            "records on an old GNU sparse entry: one sparse map per entry",
        )),
        other => Err(SparseError::new(format!(
            "records on an entry of type {:?}: only a regular file can be sparse",
            (other as char).escape_default().to_string()
        ))),
    }
}

/// GNU's 1.0 map, in front of a sparse entry's data, read block by block as Go's
/// `readGNUSparseMap1x0` reads it: decimal numbers each ending in `\n`, the count of regions
/// first, then each region's offset and length; the map ends with the block holding its last
/// `\n` (the rest of that block is padding) and the data starts with the next block. A map
/// longer than [`MAX_SPARSE_MAP`] is refused.
#[derive(Debug, Clone, Default)]
pub struct SparseMapBlocks {
    buf: Vec<u8>,
    newlines: u64,
    /// The count of regions, once the first line is read.
    count: Option<u64>,
}

impl SparseMapBlocks {
    /// A map of which nothing is read yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of the entry's data taken so far (whole blocks).
    pub fn taken(&self) -> u64 {
        self.buf.len() as u64
    }

    /// Takes the next 512-byte block of the entry's data: `Some(map)` when the map is whole
    /// (it ends with this block), `None` when it goes on into the next block.
    pub fn push(&mut self, block: &[u8; BLOCK]) -> Result<Option<SparseMap>, SparseError> {
        if self.taken() + BLOCK as u64 > MAX_SPARSE_MAP {
            return Err(SparseError::new(format!(
                "1.0 map too long (over {MAX_SPARSE_MAP} bytes)"
            )));
        }
        self.buf.extend_from_slice(block);
        self.newlines += block.iter().filter(|&&c| c == b'\n').count() as u64;
        if self.newlines == 0 {
            return Ok(None);
        }
        let mut lines = self.buf.split(|&c| c == b'\n');
        let count = match self.count {
            Some(c) => c,
            None => {
                let first = lines.next().unwrap_or_default();
                let c = entry_count(first).ok_or_else(|| {
                    SparseError::new(format!("1.0 map count {} is not a count", show(first)))
                })?;
                self.count = Some(c);
                c
            }
        };
        // The count's double fits an i64: no overflow.
        if self.newlines < 1 + 2 * count {
            return Ok(None);
        }
        let fields: Vec<&[u8]> = self
            .buf
            .split(|&c| c == b'\n')
            .skip(1)
            .take((2 * count) as usize)
            .collect();
        pairs(&fields).map(|p| Some(SparseMap(p)))
    }
}

/// The content of a tar entry as every reader of a layer takes it: a PAX GNU sparse file
/// expanded to its real size, its holes read as zeros (Go's `sparseFileReader`); any other
/// entry's data as the `tar` crate gives it (which expands old-GNU `S` entries itself).
///
/// Made from the entry's data before any of it is read; a 1.0 map is read from it then.
#[derive(Debug)]
pub struct EntryContent<R> {
    inner: R,
    /// Whether the entry is a PAX sparse file (else `inner` is read as is).
    sparse: bool,
    /// The regions with data not yet read past, in order.
    fragments: VecDeque<Fragment>,
    /// The position in the expanded file.
    pos: u64,
    /// The size of the expanded file.
    size: u64,
}

impl<R: Read> EntryContent<R> {
    /// The content of the entry with headers `heads` whose data, `stored` bytes, `inner`
    /// reads. An error (`InvalidData`, [`SparseError`] inside) when its sparse records or
    /// map are malformed or do not match the data stored; `UnexpectedEof` when the data ends
    /// inside a 1.0 map.
    pub fn new(mut inner: R, stored: u64, heads: &EntryHeaders) -> io::Result<Self> {
        let invalid = |e: SparseError| io::Error::new(io::ErrorKind::InvalidData, e);
        let typeflag = heads.header.entry_type().as_byte();
        let Some(sparse) =
            entry_sparse(heads.ext.sparse.as_ref(), typeflag, &heads.path).map_err(invalid)?
        else {
            return Ok(EntryContent {
                inner,
                sparse: false,
                fragments: VecDeque::new(),
                pos: 0,
                size: stored,
            });
        };
        let size = sparse.size.unwrap_or(stored);
        let (map, data) = match &sparse.map {
            Some(map) => (map.clone(), stored),
            None => {
                let mut blocks = SparseMapBlocks::new();
                let mut block = [0u8; BLOCK];
                loop {
                    if stored - blocks.taken() < BLOCK as u64 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            SparseError::map_runs_past(),
                        ));
                    }
                    inner.read_exact(&mut block)?;
                    if let Some(map) = blocks.push(&block).map_err(invalid)? {
                        break (map, stored - blocks.taken());
                    }
                }
            }
        };
        let fragments = map.check(size, data).map_err(invalid)?;
        Ok(EntryContent {
            inner,
            sparse: true,
            fragments: fragments.into(),
            pos: 0,
            size,
        })
    }

    /// The size of the content: a sparse file's real size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the entry is a PAX sparse file being expanded.
    pub fn is_sparse(&self) -> bool {
        self.sparse
    }
}

impl<R: Read> Read for EntryContent<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.sparse {
            return self.inner.read(buf);
        }
        let want = usize::try_from(self.size - self.pos)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        while self
            .fragments
            .front()
            .is_some_and(|f| f.offset + f.length <= self.pos)
        {
            self.fragments.pop_front();
        }
        let clamp = |n: u64| usize::try_from(n).unwrap_or(usize::MAX).min(want);
        let n = match self.fragments.front() {
            Some(f) if self.pos >= f.offset => {
                let n = clamp(f.offset + f.length - self.pos);
                let got = self.inner.read(&mut buf[..n])?;
                if got == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "GNU sparse entry: its data ends before its map does",
                    ));
                }
                got
            }
            next => {
                let n = clamp(next.map_or(u64::MAX, |f| f.offset - self.pos));
                buf[..n].fill(0);
                n
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records<'a>(r: &'a [(&'a str, &'a str)]) -> Vec<(&'a [u8], &'a [u8])> {
        r.iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
            .collect()
    }

    fn parse(r: &[(&str, &str)]) -> Result<Option<PaxSparse>, SparseError> {
        PaxSparse::from_records(records(r)).1
    }

    #[test]
    fn versions_are_recognised_as_go_does() {
        // 0.0: GNU tar's records, the map from offset/numbytes pairs.
        let got = parse(&[
            ("GNU.sparse.size", "100"),
            ("GNU.sparse.numblocks", "2"),
            ("GNU.sparse.offset", "10"),
            ("GNU.sparse.numbytes", "5"),
            ("GNU.sparse.offset", "100"),
            ("GNU.sparse.numbytes", "0"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(got.size, Some(100));
        assert_eq!(got.map, Some(SparseMap(vec![(10, 5), (100, 0)])));
        // 0.1: the map in one record, the name in another.
        let got = parse(&[
            ("GNU.sparse.size", "100"),
            ("GNU.sparse.numblocks", "1"),
            ("GNU.sparse.name", "f"),
            ("GNU.sparse.map", "10,5"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(got.name.as_deref(), Some(&b"f"[..]));
        assert_eq!(got.map, Some(SparseMap(vec![(10, 5)])));
        // 1.0: the map is in the data; realsize when size is absent; size wins over it.
        let got = parse(&[
            ("GNU.sparse.major", "1"),
            ("GNU.sparse.minor", "0"),
            ("GNU.sparse.realsize", "7"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!((got.size, got.map), (Some(7), None));
        let got = parse(&[
            ("GNU.sparse.realsize", "7"),
            ("GNU.sparse.major", "1"),
            ("GNU.sparse.minor", "0"),
            ("GNU.sparse.size", "9"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(got.size, Some(9));
        // Not sparse: no records, an unknown version, a size or name without a map.
        for r in [
            &[("path", "f")][..],
            &[
                ("GNU.sparse.major", "2"),
                ("GNU.sparse.minor", "0"),
                ("GNU.sparse.map", "1,1"),
            ],
            &[("GNU.sparse.major", "1")],
            &[("GNU.sparse.realsize", "10"), ("GNU.sparse.name", "x")],
            &[("GNU.sparse.map", "")],
        ] {
            assert_eq!(
                PaxSparse::from_records(records(r)),
                (None, Ok(None)),
                "{r:?}"
            );
        }
        // The last record of a key counts.
        let got = parse(&[
            ("GNU.sparse.major", "9"),
            ("GNU.sparse.major", "1"),
            ("GNU.sparse.minor", "0"),
        ])
        .unwrap();
        assert!(got.is_some());
    }

    #[test]
    fn malformed_records_are_errors() {
        for (r, want) in [
            (
                &[
                    ("GNU.sparse.numblocks", "1"),
                    ("GNU.sparse.numbytes", "5"),
                    ("GNU.sparse.offset", "0"),
                ][..],
                "out of order",
            ),
            (
                &[("GNU.sparse.numblocks", "1"), ("GNU.sparse.offset", "0,1")],
                "out of order",
            ),
            (
                // An unknown version does not excuse a malformed 0.0 map (Go's parsePAX).
                &[
                    ("GNU.sparse.major", "7"),
                    ("GNU.sparse.minor", "0"),
                    ("GNU.sparse.numbytes", "5"),
                ],
                "out of order",
            ),
            (
                &[("GNU.sparse.map", "0,5"), ("GNU.sparse.size", "x")],
                "GNU.sparse.size \"x\" is not a number",
            ),
            (
                &[("GNU.sparse.map", "0,5"), ("GNU.sparse.realsize", "-1")],
                "GNU.sparse.realsize -1 is negative",
            ),
            (
                &[("GNU.sparse.map", "0,5")],
                "numblocks \"\" is not a count",
            ),
            (
                &[("GNU.sparse.map", "0,5"), ("GNU.sparse.numblocks", "-1")],
                "is not a count",
            ),
            (
                &[("GNU.sparse.map", "0,5"), ("GNU.sparse.numblocks", "2")],
                "map has 2 numbers for 2 regions",
            ),
            (
                &[("GNU.sparse.map", "0,5,6"), ("GNU.sparse.numblocks", "1")],
                "map has 3 numbers",
            ),
            (
                &[("GNU.sparse.map", "0,five"), ("GNU.sparse.numblocks", "1")],
                "map number \"five\" is not a number",
            ),
            (
                &[("GNU.sparse.map", "0, 5"), ("GNU.sparse.numblocks", "1")],
                "is not a number",
            ),
        ] {
            let err = parse(r).unwrap_err();
            assert!(err.to_string().contains(want), "{r:?}: {err}");
        }
        // The name of a recognised header is kept for the message.
        let (name, res) = PaxSparse::from_records(records(&[
            ("GNU.sparse.name", "real"),
            ("GNU.sparse.map", "x"),
        ]));
        assert_eq!(name.as_deref(), Some(&b"real"[..]));
        assert!(res.is_err());
    }

    #[test]
    fn maps_are_checked_as_go_checks_them() {
        let m = |v: &[(i64, i64)]| SparseMap(v.to_vec());
        // In order, apart or adjacent, empty regions anywhere: fine.
        let ok = m(&[(0, 0), (0, 3), (3, 2), (10, 0), (10, 1), (20, 0)]);
        assert_eq!(
            ok.check(20, 6).unwrap(),
            [
                Fragment {
                    offset: 0,
                    length: 3
                },
                Fragment {
                    offset: 3,
                    length: 2
                },
                Fragment {
                    offset: 10,
                    length: 1
                },
            ]
        );
        for (map, size, data, want) in [
            (m(&[(-1, 2)]), 10, 2, "negative"),
            (m(&[(0, -2)]), 10, 0, "negative"),
            (m(&[(5, 5), (4, 1)]), 10, 6, "out of order"),
            (m(&[(0, 5), (4, 1)]), 10, 6, "overlap"),
            (m(&[(5, 5), (7, 0)]), 10, 5, "overlap"),
            (m(&[(8, 5)]), 10, 5, "ends at 13, past the file's size 10"),
            (m(&[(i64::MAX, 1)]), u64::MAX, 1, "overflows"),
            (
                m(&[(0, 5)]),
                10,
                4,
                "holds 5 bytes of data, the entry stores 4",
            ),
            (
                m(&[(0, 5)]),
                10,
                6,
                "holds 5 bytes of data, the entry stores 6",
            ),
        ] {
            let err = map.check(size, data).unwrap_err();
            assert!(err.to_string().contains(want), "{map:?}: {err}");
        }
    }

    fn blocks_of(text: &[u8]) -> Vec<[u8; BLOCK]> {
        text.chunks(BLOCK)
            .map(|c| {
                let mut b = [0u8; BLOCK];
                b[..c.len()].copy_from_slice(c);
                b
            })
            .collect()
    }

    fn read_1x0(text: &[u8]) -> Result<(SparseMap, u64), SparseError> {
        let mut m = SparseMapBlocks::new();
        for b in blocks_of(text) {
            if let Some(map) = m.push(&b)? {
                return Ok((map, m.taken()));
            }
        }
        Err(SparseError::new("needs more"))
    }

    #[test]
    fn a_1x0_map_ends_with_the_block_of_its_last_newline() {
        assert_eq!(
            read_1x0(b"2\n5\n4\n10\n0\nafter").unwrap(),
            (SparseMap(vec![(5, 4), (10, 0)]), 512)
        );
        assert_eq!(read_1x0(b"0\n").unwrap(), (SparseMap(vec![]), 512));
        // A map across blocks: it ends with the block holding the last newline.
        let mut long = b"100\n".to_vec();
        for i in 0..100 {
            long.extend_from_slice(format!("{}\n1\n", i * 10).as_bytes());
        }
        let (map, taken) = read_1x0(&long).unwrap();
        assert_eq!(map.regions().len(), 100);
        assert_eq!(taken, long.len().div_ceil(BLOCK) as u64 * BLOCK as u64);
        for (text, want) in [
            (&b"x\n"[..], "count \"x\" is not a count"),
            (b"-1\n", "is not a count"),
            (b"4611686018427387904\n", "is not a count"),
            (b"1\n5\nfive\n", "map number \"five\" is not a number"),
            (b"1\n5\n 4\n", "is not a number"),
            (b"2\n5\n4\n", "needs more"),
        ] {
            let err = read_1x0(text).unwrap_err();
            assert!(err.to_string().contains(want), "{text:?}: {err}");
        }
        // No newline for 1 MiB: too long, refused at the block past the limit.
        let mut m = SparseMapBlocks::new();
        let digits = [b'1'; BLOCK];
        for _ in 0..MAX_SPARSE_MAP / BLOCK as u64 {
            assert_eq!(m.push(&digits), Ok(None));
        }
        let err = m.push(&digits).unwrap_err();
        assert!(err.to_string().contains("1.0 map too long"), "{err}");
        // A count that needs more than 1 MiB of map.
        let mut m = SparseMapBlocks::new();
        let mut first = [b'\n'; BLOCK];
        first[..8].copy_from_slice(b"9999999\n");
        let mut res = m.push(&first);
        while let Ok(None) = res {
            res = m.push(&[b'\n'; BLOCK]);
        }
        assert!(res.unwrap_err().to_string().contains("too long"));
    }

    fn expand(data: &[u8], map: &[(u64, u64)], size: u64) -> Vec<u8> {
        let mut c = EntryContent {
            inner: data,
            sparse: true,
            fragments: map
                .iter()
                .map(|&(offset, length)| Fragment { offset, length })
                .collect(),
            pos: 0,
            size,
        };
        let mut out = Vec::new();
        // Small reads, to cross every boundary.
        let mut buf = [0u8; 3];
        loop {
            let n = c.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    /// A tar of one PAX GNU sparse entry laid out as GNU tar writes it: a PAX header of
    /// `records`, then a regular entry `name` storing `stored`.
    fn sparse_tar(records: &[(&str, &str)], name: &str, stored: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions(records.iter().map(|(k, v)| (*k, v.as_bytes())))
            .unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_size(stored.len() as u64);
        b.append_data(&mut h, name, stored).unwrap();
        b.into_inner().unwrap()
    }

    /// The map text of format 1.0 padded to whole blocks, then the data.
    fn map_1x0(regions: &[(u64, u64)], data: &[u8]) -> Vec<u8> {
        let mut out = format!("{}\n", regions.len()).into_bytes();
        for (o, l) in regions {
            out.extend_from_slice(format!("{o}\n{l}\n").as_bytes());
        }
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        out.extend_from_slice(data);
        out
    }

    /// `data` placed at `regions` in a file of `size` zeros.
    fn placed(size: usize, regions: &[(u64, u64)], data: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; size];
        let mut at = 0;
        for &(o, l) in regions {
            let (o, l) = (o as usize, l as usize);
            out[o..o + l].copy_from_slice(&data[at..at + l]);
            at += l;
        }
        out
    }

    fn read_all(tar: &[u8]) -> Result<crate::Changeset, crate::DiffError> {
        crate::read_changeset_with(
            tar,
            &crate::ReadOptions {
                keep_content_up_to: u64::MAX,
            },
        )
    }

    /// The three formats GNU tar writes, each read back as the file it stores, whole.
    #[test]
    fn the_changeset_reader_expands_every_pax_format() {
        let regions = [(1000u64, 3u64), (5000, 600), (9000, 0)];
        let data: Vec<u8> = (0..603u32).map(|i| (i % 251 + 1) as u8).collect();
        let want = placed(9000, &regions, &data);
        let tars = [
            (
                "0.0",
                sparse_tar(
                    &[
                        ("GNU.sparse.size", "9000"),
                        ("GNU.sparse.numblocks", "3"),
                        ("GNU.sparse.offset", "1000"),
                        ("GNU.sparse.numbytes", "3"),
                        ("GNU.sparse.offset", "5000"),
                        ("GNU.sparse.numbytes", "600"),
                        ("GNU.sparse.offset", "9000"),
                        ("GNU.sparse.numbytes", "0"),
                    ],
                    "dir/f",
                    &data,
                ),
            ),
            (
                "0.1",
                sparse_tar(
                    &[
                        ("GNU.sparse.size", "9000"),
                        ("GNU.sparse.numblocks", "3"),
                        ("GNU.sparse.name", "dir/f"),
                        ("GNU.sparse.map", "1000,3,5000,600,9000,0"),
                    ],
                    "dir/GNUSparseFile.1/f",
                    &data,
                ),
            ),
            (
                "1.0",
                sparse_tar(
                    &[
                        ("GNU.sparse.major", "1"),
                        ("GNU.sparse.minor", "0"),
                        ("GNU.sparse.name", "dir/f"),
                        ("GNU.sparse.realsize", "9000"),
                    ],
                    "dir/GNUSparseFile.1/f",
                    &map_1x0(&regions, &data),
                ),
            ),
        ];
        for (version, tar) in tars {
            let cs = read_all(&tar).unwrap_or_else(|e| panic!("{version}: {e}"));
            let names: Vec<&str> = cs.iter().map(|e| e.path.as_str()).collect();
            assert_eq!(names, ["dir/f"], "{version}");
            match &cs.iter().next().unwrap().kind {
                crate::EntryKind::File {
                    size,
                    content: crate::Content::Inline(bytes),
                } => {
                    assert_eq!(*size, 9000, "{version}");
                    assert!(bytes == &want, "{version}: content differs");
                }
                other => panic!("{version}: {other:?}"),
            }
            // Hashed instead of kept: the digest of the whole file.
            let cs = crate::read_changeset_with(
                tar.as_slice(),
                &crate::ReadOptions {
                    keep_content_up_to: 0,
                },
            )
            .unwrap();
            let mut h = oci_model::Sha256Writer::new();
            std::io::Write::write_all(&mut h, &want).unwrap();
            assert_eq!(
                cs.iter().next().unwrap().kind,
                crate::EntryKind::File {
                    size: 9000,
                    content: crate::Content::Digest(h.finish())
                },
                "{version}"
            );
        }
    }

    /// Go reads `GNU.sparse.name` only when the header makes a sparse file; an unknown
    /// version is a plain file, read as stored.
    #[test]
    fn sparse_names_and_sizes_count_only_for_a_sparse_file() {
        let tar = sparse_tar(
            &[
                ("GNU.sparse.major", "2"),
                ("GNU.sparse.minor", "0"),
                ("GNU.sparse.name", "other"),
                ("GNU.sparse.realsize", "100"),
            ],
            "plain",
            b"abc",
        );
        let cs = read_all(&tar).unwrap();
        let e = cs.iter().next().unwrap();
        assert_eq!(e.path, "plain");
        assert_eq!(
            e.kind,
            crate::EntryKind::File {
                size: 3,
                content: crate::Content::Inline(b"abc".to_vec())
            }
        );
    }

    /// A map Go refuses, or whose data does not match, fails the read and names the entry.
    #[test]
    fn malformed_pax_sparse_entries_are_refused_by_the_reader() {
        let v01 = |size: &str, blocks: &str, map: &str| {
            vec![
                ("GNU.sparse.major", "0".to_string()),
                ("GNU.sparse.minor", "1".to_string()),
                ("GNU.sparse.name", "f".to_string()),
                ("GNU.sparse.size", size.to_string()),
                ("GNU.sparse.numblocks", blocks.to_string()),
                ("GNU.sparse.map", map.to_string()),
            ]
        };
        let v10 = |size: &str| {
            vec![
                ("GNU.sparse.major", "1".to_string()),
                ("GNU.sparse.minor", "0".to_string()),
                ("GNU.sparse.name", "f".to_string()),
                ("GNU.sparse.realsize", size.to_string()),
            ]
        };
        type Records = Vec<(&'static str, String)>;
        let cases: Vec<(Records, Vec<u8>, &str)> = vec![
            (v01("100", "2", "50,5,10,5"), vec![1; 10], "out of order"),
            (v01("100", "2", "10,5,12,5"), vec![1; 10], "overlap"),
            (
                v01("100", "1", "98,5"),
                vec![1; 5],
                "past the file's size 100",
            ),
            (
                v01("100", "1", "0,5"),
                vec![1; 4],
                "holds 5 bytes of data, the entry stores 4",
            ),
            (
                v01("100", "1", "0,5"),
                vec![1; 6],
                "holds 5 bytes of data, the entry stores 6",
            ),
            (
                v01("1x", "1", "0,5"),
                vec![1; 5],
                "GNU.sparse.size \"1x\" is not a number",
            ),
            (
                v01("100", "one", "0,5"),
                vec![1; 5],
                "numblocks \"one\" is not a count",
            ),
            (
                v01("100", "1", "0,5,6"),
                vec![1; 5],
                "3 numbers for 1 regions",
            ),
            (v01("100", "1", "0,-5"), vec![], "negative"),
            (
                v10("100"),
                map_1x0(&[(50, 5), (10, 5)], &[1; 10]),
                "out of order",
            ),
            (
                v10("100"),
                map_1x0(&[(0, 5)], &[1; 6]),
                "holds 5 bytes of data, the entry stores 6",
            ),
            (v10("100"), b"1\n0\n".to_vec(), "runs past the entry's data"),
            (
                v10("100"),
                [&b"one\n"[..], &[0; 508]].concat(),
                "not a count",
            ),
            (v10("100"), vec![b'7'; 2 << 20], "1.0 map too long"),
        ];
        for (records, stored, want) in cases {
            let records: Vec<(&str, &str)> =
                records.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let tar = sparse_tar(&records, "GNUSparseFile.1/f", &stored);
            let err = read_all(&tar).unwrap_err().to_string();
            assert!(
                err.contains("entry \"f\"") && err.contains(want),
                "{records:?}: {err}"
            );
        }
        // Sparse records on a directory or a link, or an old-GNU sparse entry.
        for ty in [tar::EntryType::Directory, tar::EntryType::Symlink] {
            let mut b = tar::Builder::new(Vec::new());
            b.append_pax_extensions([
                ("GNU.sparse.numblocks", &b"1"[..]),
                ("GNU.sparse.map", b"0,0"),
            ])
            .unwrap();
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(ty);
            h.set_size(0);
            b.append_data(&mut h, "d", &[][..]).unwrap();
            let tar = b.into_inner().unwrap();
            let heads = {
                let tap = crate::HeaderTap::new();
                let mut ar = tar::Archive::new(tap.reader(tar.as_slice()));
                let mut entries = ar.entries().unwrap();
                tap.next(&mut entries).unwrap().unwrap().1
            };
            let err = EntryContent::new(&[][..], 0, &heads).unwrap_err();
            assert!(
                err.to_string()
                    .contains("only a regular file can be sparse"),
                "{err}"
            );
        }
    }

    #[test]
    fn holes_read_as_zeros() {
        assert_eq!(
            expand(b"abcdefgh", &[(2, 5), (18, 3)], 25),
            b"\0\0abcde\0\0\0\0\0\0\0\0\0\0\0fgh\0\0\0\0"
        );
        assert_eq!(expand(b"", &[], 4), b"\0\0\0\0");
        assert_eq!(expand(b"ab", &[(0, 2)], 2), b"ab");
    }
}
