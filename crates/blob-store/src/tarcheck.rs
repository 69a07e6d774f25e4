//! An incremental tar validator: fed the uncompressed stream in chunks of any size, it walks
//! the 512-byte headers (skipping entry data without looking at it) and rejects what Go's
//! `archive/tar` — the reader Docker uses — rejects: bad header checksums, bad size fields,
//! oversized or malformed extended headers, a zero block followed by a non-zero one, and a
//! stream that ends anywhere but on a block boundary between entries. A stream that ends after
//! the last entry without the two zero blocks is accepted, as Go and GNU tar accept it.
//! Anything after the end-of-archive marker is accepted unread (Docker hashes it too).

use layer_diff::{c_string, header_name};

const BLOCK: usize = 512;
/// Largest PAX or GNU long-name header accepted (Go's `maxSpecialFileSize`).
const MAX_SPECIAL: u64 = 1 << 20;
/// Bytes of holes (a sparse file's size beyond the data stored for it) accepted in one layer:
/// an old-GNU sparse entry costs nothing to store but expands to its full size wherever the
/// layer is read (create, export, diff, the changeset's digests), so its expansion is bounded
/// like any other bomb's, low enough that every such read finishes within seconds.
pub(crate) const MAX_SPARSE_HOLES: u64 = 64 << 20;

#[derive(Debug, Clone, Copy)]
enum State {
    /// Filling `block` with the next header.
    Header,
    /// Skipping an entry's data, then its padding.
    Data { data: u64, pad: u64 },
    /// Collecting a PAX / GNU long-name header's data into `special`, then skipping padding;
    /// `off` is the header's offset.
    Special {
        kind: u8,
        data: u64,
        pad: u64,
        off: u64,
    },
    /// Filling `block` with an old-GNU sparse extension block; `data` follows them.
    SparseExt { data: u64 },
    /// Saw one zero block; filling `block` with the next one.
    SecondZero,
    /// Past the end-of-archive marker.
    End,
}

/// See the module docs.
pub(crate) struct TarCheck {
    /// Stream offset where the current entry's data ended (its padding starts).
    data_end: u64,
    state: State,
    block: [u8; BLOCK],
    fill: usize,
    /// Bytes consumed so far.
    pos: u64,
    /// Name of the entry whose data is being skipped (for messages).
    name: Vec<u8>,
    /// Data of the special header being collected.
    special: Vec<u8>,
    /// The next entry's name and link target, from GNU long names and PAX headers (its
    /// `records` are not kept: any number of headers may precede an entry).
    ext: layer_diff::Extensions,
    /// The next entry's size, from a PAX `size`.
    next_size: Option<u64>,
    /// The next entry's (sparse) real size, from a PAX `GNU.sparse.realsize`.
    next_real_size: Option<u64>,
    /// The layer's size as Docker measures it.
    content: crate::content_size::ContentSize,
    /// Hole bytes of the sparse entries so far.
    holes: u64,
    /// The map of the old-GNU sparse entry being read (its header's entries, then its
    /// extension blocks').
    sparse: SparseMap,
    /// Entries skipped with a warning (they name the root), in order.
    pub(crate) warnings: Vec<String>,
}

impl TarCheck {
    pub(crate) fn new() -> Self {
        TarCheck {
            data_end: 0,
            state: State::Header,
            block: [0; BLOCK],
            fill: 0,
            pos: 0,
            name: Vec::new(),
            special: Vec::new(),
            ext: Default::default(),
            next_size: None,
            next_real_size: None,
            content: Default::default(),
            holes: 0,
            sparse: SparseMap::default(),
            warnings: Vec::new(),
        }
    }

    /// The size of the entries so far as Docker measures a layer
    /// ([`content_size`](crate::content_size)).
    pub(crate) fn content_size(&self) -> u64 {
        self.content.total()
    }

    /// Feeds the next bytes of the stream. The error is the text after `invalid tar: `.
    pub(crate) fn feed(&mut self, mut buf: &[u8]) -> Result<(), String> {
        while !buf.is_empty() {
            match self.state {
                State::End => return Ok(()),
                State::Header | State::SparseExt { .. } | State::SecondZero => {
                    let take = (BLOCK - self.fill).min(buf.len());
                    self.block[self.fill..self.fill + take].copy_from_slice(&buf[..take]);
                    self.fill += take;
                    self.pos += take as u64;
                    buf = &buf[take..];
                    if self.fill == BLOCK {
                        self.fill = 0;
                        self.on_block()?;
                    }
                }
                State::Data { data, pad } => {
                    let total = data + pad;
                    let take = total.min(buf.len() as u64);
                    self.pos += take;
                    buf = &buf[take as usize..];
                    let left = total - take;
                    if data > 0 && left <= pad {
                        self.data_end = self.pos - (pad - left);
                    }
                    self.state = if left == 0 {
                        State::Header
                    } else {
                        State::Data {
                            data: left.saturating_sub(pad),
                            pad: left.min(pad),
                        }
                    };
                }
                State::Special {
                    kind,
                    data,
                    pad,
                    off,
                } => {
                    if data > 0 {
                        let take = data.min(buf.len() as u64) as usize;
                        self.special.extend_from_slice(&buf[..take]);
                        self.pos += take as u64;
                        buf = &buf[take..];
                        let data = data - take as u64;
                        self.state = State::Special {
                            kind,
                            data,
                            pad,
                            off,
                        };
                        if data == 0 {
                            self.finish_special(kind, off)?;
                        }
                    } else {
                        let take = pad.min(buf.len() as u64);
                        self.pos += take;
                        buf = &buf[take as usize..];
                        self.state = State::Special {
                            kind,
                            data,
                            pad: pad - take,
                            off,
                        };
                    }
                    if let State::Special {
                        data: 0, pad: 0, ..
                    } = self.state
                    {
                        self.state = State::Header;
                    }
                }
            }
        }
        Ok(())
    }

    /// Called at the end of the stream: errors when it ended inside a header or an entry.
    pub(crate) fn finish(&self) -> Result<(), String> {
        match self.state {
            State::Header if self.fill == 0 => Ok(()),
            // Go's reader (what Docker uses) ends cleanly when the last entry's padding is
            // missing altogether (umoci writes layers so); a partial padding is truncation.
            State::Data { data: 0, .. } if self.pos == self.data_end => Ok(()),
            State::SecondZero if self.fill == 0 => Ok(()),
            State::End => Ok(()),
            State::Header => Err(format!(
                "unexpected end of archive in header at offset {}",
                self.pos - self.fill as u64
            )),
            State::SecondZero => Err("unexpected end of archive in end-of-archive marker".into()),
            State::Data { .. } | State::SparseExt { .. } => Err(format!(
                "unexpected end of archive in entry {}",
                show(&self.name)
            )),
            State::Special { off, .. } => Err(format!(
                "unexpected end of archive in extended header at offset {off}"
            )),
        }
    }

    fn on_block(&mut self) -> Result<(), String> {
        let off = self.pos - BLOCK as u64;
        let block = self.block;
        let b = &block;
        match self.state {
            State::SecondZero => {
                if is_zero(b) {
                    self.state = State::End;
                    Ok(())
                } else {
                    Err(format!(
                        "zero block followed by a non-zero block at offset {off}"
                    ))
                }
            }
            State::SparseExt { data } => {
                self.sparse
                    .take(&b[..504])
                    .map_err(|e| format!("entry {}: {e}", show(&self.name)))?;
                if b[504] == 0 {
                    self.end_sparse_map()?;
                    self.state = data_state(data);
                }
                Ok(())
            }
            State::Header => {
                if is_zero(b) {
                    self.state = State::SecondZero;
                    return Ok(());
                }
                let stored = parse_octal(&b[148..156]);
                let (unsigned, signed) = checksums(b);
                if stored.is_none_or(|v| v != unsigned && v != signed) {
                    return Err(format!("bad header checksum at offset {off}"));
                }
                let kind = b[156];
                let size = match parse_numeric(&b[124..136]) {
                    Some(s) if s >= 0 => s as u64,
                    _ => return Err(format!("invalid size field in header at offset {off}")),
                };
                match kind {
                    b'L' | b'K' | b'x' | b'g' => {
                        if size > MAX_SPECIAL {
                            return Err(format!(
                                "extended header at offset {off} too large ({size} bytes)"
                            ));
                        }
                        self.special.clear();
                        self.state = if size == 0 {
                            // Nothing to collect: handle it now.
                            self.finish_special(kind, off)?;
                            State::Header
                        } else {
                            State::Special {
                                kind,
                                data: size,
                                pad: padding(size),
                                off,
                            }
                        };
                        return Ok(());
                    }
                    _ => {}
                }
                let ext = std::mem::take(&mut self.ext);
                self.name = match ext.name {
                    Some(n) => n,
                    None => header_name(b),
                };
                let size = self.next_size.take().unwrap_or(size);
                let link = match ext.link {
                    Some(l) => l,
                    None => c_string(&b[157..257]).to_vec(),
                };
                let real_size = match self.next_real_size.take() {
                    Some(r) => r,
                    None if kind == b'S' => parse_numeric(&b[483..495])
                        .and_then(|r| u64::try_from(r).ok())
                        .unwrap_or(size),
                    None => size,
                };
                if kind == b'1' {
                    self.check_hardlink(&link)?;
                }
                self.check_name(kind)?;
                if kind == b'S' {
                    self.check_sparse(b, size)?;
                    self.sparse = SparseMap {
                        real: real_size,
                        stored: size,
                        ..Default::default()
                    };
                    self.sparse
                        .take(&b[386..482])
                        .map_err(|e| format!("entry {}: {e}", show(&self.name)))?;
                    if b[482] == 0 {
                        self.end_sparse_map()?;
                    }
                }
                self.content
                    .entry(kind, &String::from_utf8_lossy(&self.name), real_size, &link);
                // Types whose size field Go ignores: they never carry data.
                let data = if matches!(kind, b'1'..=b'6') { 0 } else { size };
                self.state = if kind == b'S' && b[482] != 0 {
                    State::SparseExt { data }
                } else {
                    data_state(data)
                };
                Ok(())
            }
            _ => unreachable!("on_block outside a block state"),
        }
    }

    /// The rule every reader of a layer shares for the name of the entry whose header was just
    /// read (`layer_diff::check_name`): refused names stop the ingest, names of the root that
    /// are no directory are recorded as warnings (readers skip them), the rest pass.
    fn check_name(&mut self, kind: u8) -> Result<(), String> {
        // Types that carry no name of the tree: a GNU volume label.
        if kind == b'V' {
            return Ok(());
        }
        // Go (and so Docker) reads a regular entry whose name ends in `/` as a directory.
        let is_dir =
            kind == b'5' || (matches!(kind, 0 | b'0' | b'7' | b'S') && self.name.ends_with(b"/"));
        match layer_diff::check_name(&self.name, is_dir) {
            Ok(layer_diff::NameClass::SkippedRoot) => {
                self.warnings.push(format!(
                    "skipped entry {}: it names the root of the layer and is not a directory",
                    show(&self.name)
                ));
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(format!("entry {}: {e}", show(&self.name))),
        }
    }

    /// A hardlink's target names a file inside the layer: refused when it has a NUL, climbs
    /// above the root, or names the root itself (nothing every reader could link to).
    fn check_hardlink(&self, target: &[u8]) -> Result<(), String> {
        let refuse = |why: &str| {
            Err(format!(
                "entry {}: hardlink target {} {why}",
                show(&self.name),
                show(target)
            ))
        };
        match layer_diff::check_name(target, false) {
            Err(layer_diff::NameError::Nul) => refuse("contains a NUL byte"),
            Err(layer_diff::NameError::Escapes) => refuse("escapes the root"),
            Ok(layer_diff::NameClass::SkippedRoot | layer_diff::NameClass::RootDir) => {
                refuse("names the root")
            }
            _ => Ok(()),
        }
    }

    /// An old-GNU sparse entry (`b` its header, `size` the data stored): its real size beyond
    /// that data is a hole, and the holes of a layer are bounded by [`MAX_SPARSE_HOLES`].
    fn check_sparse(&mut self, b: &[u8; BLOCK], size: u64) -> Result<(), String> {
        let real = match parse_numeric(&b[483..495]) {
            Some(r) if r >= 0 => r as u64,
            _ => {
                return Err(format!(
                    "entry {}: invalid sparse real size",
                    show(&self.name)
                ))
            }
        };
        self.holes = self.holes.saturating_add(real.saturating_sub(size));
        if self.holes > MAX_SPARSE_HOLES {
            return Err(format!(
                "entry {}: sparse file of {real} bytes stored in {size}: the layer's sparse holes exceed the limit of {MAX_SPARSE_HOLES} bytes",
                show(&self.name)
            ));
        }
        Ok(())
    }

    /// The sparse map read whole ([`SparseMap::finish`]).
    fn end_sparse_map(&mut self) -> Result<(), String> {
        self.sparse
            .finish()
            .map_err(|e| format!("entry {}: {e}", show(&self.name)))
    }

    fn finish_special(&mut self, kind: u8, off: u64) -> Result<(), String> {
        match kind {
            b'L' | b'K' | b'x' => {
                // Names and link targets as every reader of a layer takes them
                // (`layer_diff::Extensions`): PAX records read by length, the later extension
                // winning.
                self.ext
                    .apply(kind, &self.special)
                    .map_err(|e| format!("malformed PAX header at offset {off}: {e}"))?;
                self.ext.records.clear();
                // Well-formed: `apply` read every record.
                for (key, value) in layer_diff::pax_records(&self.special).flatten() {
                    match key {
                        b"GNU.sparse.realsize" | b"GNU.sparse.size" => {
                            self.next_real_size =
                                std::str::from_utf8(value).ok().and_then(|v| v.parse().ok())
                        }
                        b"size" => {
                            let size = std::str::from_utf8(value)
                                .ok()
                                .and_then(|s| s.parse::<i64>().ok())
                                .filter(|&s| s >= 0)
                                .ok_or_else(|| {
                                    format!("invalid PAX size record at offset {off}")
                                })?;
                            self.next_size = Some(size as u64);
                        }
                        _ => {}
                    }
                }
            }
            _ => {} // 'g' (global PAX): nothing that moves data.
        }
        Ok(())
    }
}

/// An old-GNU sparse entry's map, checked so that Go's `archive/tar` (what Docker reads layers
/// with) and the `tar` crate (what Strata unpacks and reads them with) both read it, and the
/// same way: regions of data at their offsets in the file, in order, none overlapping; each
/// region with data starting after a whole number of 512-byte blocks of data, as GNU tar
/// writes them; the last one ending at the file's real size; all of them together exactly the
/// data the entry stores; and no entry after the one that ends a block's map. A map that
/// breaks any of these is refused at ingest, not found unreadable later by `create` or
/// `export`.
#[derive(Debug, Default)]
struct SparseMap {
    /// The file's real size.
    real: u64,
    /// The bytes of data the entry stores.
    stored: u64,
    /// Where the last region ended.
    end: u64,
    /// The regions' lengths so far.
    data: u64,
}

impl SparseMap {
    /// Takes the 24-byte entries (offset, length) of a header's or an extension block's map.
    /// A block's map ends at the first entry whose offset field starts with NUL (GNU's and
    /// Go's rule); the `tar` crate reads on past it, so nothing may follow it.
    fn take(&mut self, entries: &[u8]) -> Result<(), String> {
        let mut ended = false;
        for e in entries.chunks_exact(24) {
            let (offset, length) = e.split_at(12);
            if offset[0] == 0 || length[0] == 0 {
                if offset[0] != 0 {
                    return Err("sparse map entry without a length".into());
                }
                ended = true;
                continue;
            }
            if ended {
                return Err("sparse map entries after the end of the map".into());
            }
            let field = |f: &[u8]| {
                parse_numeric(f)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or("invalid sparse map entry")
            };
            let (offset, length) = (field(offset)?, field(length)?);
            let end = offset
                .checked_add(length)
                .ok_or("sparse map entry overflows")?;
            if offset < self.end {
                return Err("sparse map regions overlap or are out of order".into());
            }
            if end > self.real {
                return Err(format!(
                    "sparse map region ends at {end}, past the file's size {}",
                    self.real
                ));
            }
            if length > 0 && !self.data.is_multiple_of(BLOCK as u64) {
                return Err(format!(
                    "sparse map region at {offset} follows data of {} bytes, not whole 512-byte blocks",
                    self.data
                ));
            }
            self.end = end;
            self.data = self.data.saturating_add(length);
        }
        Ok(())
    }

    /// The map read whole: it ends at the file's size and holds exactly the data stored.
    fn finish(&self) -> Result<(), String> {
        if self.data != self.stored {
            return Err(format!(
                "sparse map holds {} bytes of data, the entry stores {}",
                self.data, self.stored
            ));
        }
        if self.end != self.real {
            return Err(format!(
                "sparse map ends at {}, not at the file's size {}",
                self.end, self.real
            ));
        }
        Ok(())
    }
}

fn data_state(data: u64) -> State {
    if data == 0 {
        State::Header
    } else {
        State::Data {
            data,
            pad: padding(data),
        }
    }
}

fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn is_zero(b: &[u8; BLOCK]) -> bool {
    b.iter().all(|&c| c == 0)
}

/// Sums of the header bytes with the checksum field read as spaces, unsigned and signed (old
/// tars summed signed chars; Go accepts both).
fn checksums(b: &[u8; BLOCK]) -> (i64, i64) {
    let mut unsigned = 0i64;
    let mut signed = 0i64;
    for (i, &c) in b.iter().enumerate() {
        let c = if (148..156).contains(&i) { b' ' } else { c };
        unsigned += i64::from(c);
        signed += i64::from(c as i8);
    }
    (unsigned, signed)
}

/// An octal field: leading and trailing spaces and NULs trimmed, cut at the first NUL; empty
/// is 0. `None` when not octal.
fn parse_octal(field: &[u8]) -> Option<i64> {
    let trim = |c: &u8| *c == b' ' || *c == 0;
    let start = field.iter().position(|c| !trim(c)).unwrap_or(field.len());
    let end = field
        .iter()
        .rposition(|c| !trim(c))
        .map_or(start, |i| i + 1);
    let mut s = &field[start..end];
    if let Some(nul) = s.iter().position(|&c| c == 0) {
        s = &s[..nul];
    }
    if s.is_empty() {
        return Some(0);
    }
    let mut x: u64 = 0;
    for &c in s {
        if !(b'0'..=b'7').contains(&c) || x >> 61 != 0 {
            return None;
        }
        x = x << 3 | u64::from(c - b'0');
    }
    i64::try_from(x).ok()
}

/// A numeric field: octal, or GNU base-256 when the high bit of the first byte is set.
fn parse_numeric(field: &[u8]) -> Option<i64> {
    match field.first() {
        Some(&first) if first & 0x80 != 0 => {
            let inv = if first & 0x40 != 0 { 0xff } else { 0 };
            let mut x: u64 = 0;
            for (i, &c) in field.iter().enumerate() {
                let mut c = c ^ inv;
                if i == 0 {
                    c &= 0x7f;
                }
                if x >> 56 != 0 {
                    return None;
                }
                x = x << 8 | u64::from(c);
            }
            if x >> 63 != 0 {
                return None;
            }
            Some(if inv == 0xff { !(x as i64) } else { x as i64 })
        }
        _ => parse_octal(field),
    }
}

/// A name for messages: Rust's escaped debug form of its bytes read as UTF-8, non-UTF-8 bytes
/// as `\xNN`, cut at 200 bytes.
pub(crate) fn show(raw: &[u8]) -> String {
    let cut = &raw[..raw.len().min(200)];
    let mut s = String::from("\"");
    for chunk in cut.utf8_chunks() {
        s.extend(chunk.valid().escape_debug());
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    if cut.len() < raw.len() {
        s.push('…');
    }
    s.push('"');
    s
}
