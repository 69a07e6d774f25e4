//! An incremental tar validator: fed the uncompressed stream in chunks of any size, it walks
//! the 512-byte headers (skipping entry data without looking at it) and rejects what Go's
//! `archive/tar` — the reader Docker uses — rejects: bad header checksums, bad size fields,
//! oversized or malformed extended headers, a zero block followed by a non-zero one, and a
//! stream that ends anywhere but on a block boundary between entries. A stream that ends after
//! the last entry without the two zero blocks is accepted, as Go and GNU tar accept it.
//! Anything after the end-of-archive marker is accepted unread (Docker hashes it too).

use layer_diff::{c_string, header_name, parse_numeric, parse_octal};

const BLOCK: usize = 512;
/// Largest PAX or GNU long-name header accepted (Go's `maxSpecialFileSize`).
const MAX_SPECIAL: u64 = 1 << 20;
/// Bytes of holes (a sparse file's size beyond the data stored for it) accepted in one layer:
/// a sparse entry (old-GNU, or PAX in GNU tar's formats 0.0, 0.1 and 1.0) costs nothing to
/// store but expands to its full size wherever the layer is read (create, export, diff, the
/// changeset's digests), so its expansion is bounded like any other bomb's, low enough that
/// every such read finishes within seconds.
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
    /// The kind and offset of each extension header (GNU long name or link, PAX) in front of
    /// the entry to come, while that entry has not come.
    pending_ext: Vec<(u8, u64)>,
    /// The layer's size as Docker measures it.
    content: crate::content_size::ContentSize,
    /// Hole bytes of the sparse entries so far.
    holes: u64,
    /// The map of the old-GNU sparse entry being read (its header's entries, then its
    /// extension blocks').
    sparse: SparseMap,
    /// What the last PAX header says of the next entry as a GNU sparse file
    /// (`layer_diff::Extensions::sparse`).
    next_sparse: Option<Result<layer_diff::PaxSparse, layer_diff::SparseError>>,
    /// The PAX 1.0 sparse entry whose data is being read: its map is the data's first blocks.
    map_1x0: Option<Map1x0>,
    /// Entries skipped with a warning (they name the root), in order.
    pub(crate) warnings: Vec<String>,
    /// What each entry is (name, type, link target; no metadata, no content), in the order
    /// the tar lists them, as the changeset reader takes them: the layer's shape, for the
    /// check that a stack of layers applies. `None` when not asked for ([`TarCheck::new`]).
    shape: Option<layer_diff::Changeset>,
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
            pending_ext: Vec::new(),
            content: Default::default(),
            holes: 0,
            sparse: SparseMap::default(),
            next_sparse: None,
            map_1x0: None,
            warnings: Vec::new(),
            shape: None,
        }
    }

    /// A checker that also collects the layer's shape ([`TarCheck::take_shape`]).
    pub(crate) fn with_shape() -> Self {
        TarCheck {
            shape: Some(layer_diff::Changeset::new()),
            ..TarCheck::new()
        }
    }

    /// The shape of the entries so far (see the field), in the order the tar lists them;
    /// empty when the checker collects none.
    pub(crate) fn take_shape(&mut self) -> layer_diff::Changeset {
        match self.shape.as_mut() {
            Some(cs) => layer_diff::Changeset::from_tar_order(std::mem::take(&mut cs.entries)),
            None => layer_diff::Changeset::new(),
        }
    }

    /// Adds the entry whose header `b` is to the shape, by the changeset reader's rules; the
    /// type is checked whether a shape is collected or not.
    fn add_to_shape(&mut self, kind: u8, b: &[u8], size: u64, link: &[u8]) -> Result<(), String> {
        use layer_diff::TarKind;
        let device = |field: &[u8]| {
            parse_numeric(field)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0)
        };
        let kind = match kind {
            0 | b'0' | b'7' | b'S' => TarKind::File,
            b'1' => TarKind::Hardlink,
            b'2' => TarKind::Symlink,
            b'3' => TarKind::CharDevice(device(&b[329..337]), device(&b[337..345])),
            b'4' => TarKind::BlockDevice(device(&b[329..337]), device(&b[337..345])),
            b'5' => TarKind::Dir,
            b'6' => TarKind::Fifo,
            // A type no reader applies, taken only where the name makes it something else
            // (a whiteout: its name decides, as for a file) or nothing (a name readers skip).
            other if layer_diff::type_taken(&self.name, other) => TarKind::File,
            other => {
                return Err(format!(
                    "entry {}: unsupported tar entry type {}",
                    show(&self.name),
                    show(&[other])
                ))
            }
        };
        let h = layer_diff::TarHeader {
            name: &self.name,
            kind,
            link,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size,
            mtime: 0,
            xattrs: Vec::new(),
        };
        let Some(shape) = self.shape.as_mut() else {
            return Ok(());
        };
        layer_diff::push_described(shape, &h, layer_diff::Content::Unread)
            .map_err(|e| e.to_string())
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
                State::Data { data, pad } if self.map_1x0.is_some() => {
                    // A PAX 1.0 sparse entry: its data starts with its map, in whole blocks
                    // (`map_1x0` is set only while at least one more block of data follows).
                    let take = (BLOCK - self.fill).min(buf.len());
                    self.block[self.fill..self.fill + take].copy_from_slice(&buf[..take]);
                    self.fill += take;
                    self.pos += take as u64;
                    buf = &buf[take..];
                    self.state = State::Data {
                        data: data - take as u64,
                        pad,
                    };
                    if self.fill == BLOCK {
                        self.fill = 0;
                        self.on_map_block()?;
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
            State::Header if self.fill == 0 => self.no_pending_ext(),
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

    /// Go's reader drops extension headers that no entry follows, but the `tar` crate, which
    /// every reader of a layer here walks it with, fails on them: refused at ingest, so no
    /// layer is taken that no unpack could read.
    fn no_pending_ext(&self) -> Result<(), String> {
        match self.pending_ext.first() {
            Some((_, off)) => Err(format!(
                "extended header at offset {off} has no entry after it"
            )),
            None => Ok(()),
        }
    }

    /// An extension header (GNU long name or link, PAX) as the `tar` crate, which every reader
    /// of a layer here walks it with, takes one: in a ustar or GNU header (it reads any other
    /// as an entry of that type), and one of each kind in front of an entry (it refuses a
    /// second). Go takes both, the last one winning; a layer the readers here would fail on
    /// is refused now instead.
    fn check_extension(&mut self, kind: u8, b: &[u8; BLOCK], off: u64) -> Result<(), String> {
        let magic = (&b[257..263], &b[263..265]);
        if magic != (b"ustar\0", b"00") && magic != (b"ustar ", b" \0") {
            return Err(format!(
                "extended header at offset {off} is in neither the ustar nor the GNU format"
            ));
        }
        if self.pending_ext.iter().any(|(k, _)| *k == kind) {
            return Err(format!(
                "extended header at offset {off} is the second of its kind in front of one entry"
            ));
        }
        self.pending_ext.push((kind, off));
        Ok(())
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
                    self.no_pending_ext()?;
                    self.state = State::SecondZero;
                    return Ok(());
                }
                let stored = parse_octal(&b[148..156]);
                let (unsigned, signed) = checksums(b);
                if stored.is_none_or(|v| v != unsigned && v != signed) {
                    return Err(format!("bad header checksum at offset {off}"));
                }
                // Go also takes a checksum summed over signed bytes, or written after NULs;
                // the `tar` crate, which every reader of a layer here walks it with, takes
                // only the unsigned sum as written digits: anything else would be taken now
                // and fail every unpack.
                if !digits_as_written(&b[148..156]) || stored != Some(unsigned) {
                    return Err(format!(
                        "header checksum at offset {off} is not the unsigned sum written in digits"
                    ));
                }
                let kind = b[156];
                let size = match parse_numeric(&b[124..136]) {
                    Some(s) if s >= 0 => s as u64,
                    _ => return Err(format!("invalid size field in header at offset {off}")),
                };
                // Every reader of a layer walks it with the `tar` crate, which reads a size
                // (and a device's numbers) only as written digits: a field Go reads as 0
                // (blank, or digits after leading NULs) would be taken here and then fail
                // every unpack, so it is refused now.
                // (A v7 header has no device fields: those bytes are not read.)
                // Go refuses a header whose mode, owner or time it cannot read.
                for (field, range) in [
                    ("mode", 100..108),
                    ("uid", 108..116),
                    ("gid", 116..124),
                    ("mtime", 136..148),
                ] {
                    if parse_numeric(&b[range]).is_none() {
                        return Err(format!("invalid {field} field in header at offset {off}"));
                    }
                }
                let device = matches!(b[156], b'3' | b'4') && b[257..262] == *b"ustar";
                for (field, range) in [
                    ("size", 124..136),
                    ("device major", 329..337),
                    ("device minor", 337..345),
                ] {
                    if (field == "size" || device) && !digits_as_written(&b[range]) {
                        return Err(format!(
                            "{field} field of the header at offset {off} has no digits"
                        ));
                    }
                }
                match kind {
                    b'L' | b'K' | b'x' | b'g' => {
                        if kind != b'g' {
                            self.check_extension(kind, b, off)?;
                        }
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
                self.pending_ext.clear();
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
                match kind {
                    b'1' => self.check_hardlink(&link)?,
                    b'2' => self.check_symlink(&link)?,
                    _ => {}
                }
                self.check_name(kind)?;
                self.check_pax_sparse(kind, size)?;
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
                self.add_to_shape(kind, b, real_size, &link)?;
                // Types whose size field Go ignores: they never carry data. The `tar` crate,
                // which every reader here walks a layer with, reads that many bytes as their
                // data all the same, and so would read the rest of the layer otherwise.
                if matches!(kind, b'1'..=b'6') && size != 0 {
                    return Err(format!(
                        "entry {}: an entry of type {} declares {size} bytes of data",
                        show(&self.name),
                        char::from(kind)
                    ));
                }
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

    /// A symlink's target may name anything (it is resolved inside the root when applied)
    /// but cannot hold a NUL: no symlink can be made so (a PAX `linkpath` is the only way to
    /// write one; Go's reader refuses it too).
    fn check_symlink(&self, target: &[u8]) -> Result<(), String> {
        if target.contains(&0) {
            return Err(format!(
                "entry {}: symlink target {} contains a NUL byte",
                show(&self.name),
                show(target)
            ));
        }
        Ok(())
    }

    /// An old-GNU sparse entry (`b` its header, `size` the data stored): its real size beyond
    /// that data is a hole, and the holes of a layer are bounded by [`MAX_SPARSE_HOLES`].
    fn check_sparse(&mut self, b: &[u8; BLOCK], size: u64) -> Result<(), String> {
        // The map's layout is GNU's: Go and the `tar` crate take it only in a GNU header (star
        // uses the same type flag with another layout).
        if (&b[257..263], &b[263..265]) != (b"ustar ", b" \0") {
            return Err(format!(
                "entry {}: an old-GNU sparse entry in a header that is not GNU's",
                show(&self.name)
            ));
        }
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

    /// A PAX GNU sparse entry (`size` the data stored; `layer_diff::EntryContent` expands it
    /// for every reader): its records and its map checked as every reader checks them, as
    /// Go reads them (refused where Go's reader fails), its holes counted against
    /// [`MAX_SPARSE_HOLES`] like an old-GNU entry's. A 1.0 map, the data's first blocks, is
    /// read by `feed` ([`TarCheck::on_map_block`]).
    fn check_pax_sparse(&mut self, kind: u8, size: u64) -> Result<(), String> {
        let found = self.next_sparse.take();
        let err = |e: layer_diff::SparseError| format!("entry {}: {e}", show(&self.name));
        let Some(sparse) =
            layer_diff::entry_sparse(found.as_ref(), kind, &self.name).map_err(err)?
        else {
            return Ok(());
        };
        let real = sparse.size.unwrap_or(size);
        match &sparse.map {
            Some(map) => {
                map.check(real, size).map_err(err)?;
                self.add_sparse_holes(real, size)
            }
            None if size < BLOCK as u64 => Err(err(layer_diff::SparseError::map_runs_past())),
            None => {
                self.map_1x0 = Some(Map1x0 {
                    blocks: layer_diff::SparseMapBlocks::new(),
                    real,
                });
                Ok(())
            }
        }
    }

    /// The next block of a PAX 1.0 sparse entry's map is in `block`.
    fn on_map_block(&mut self) -> Result<(), String> {
        let State::Data { data, pad } = self.state else {
            unreachable!("a sparse map is read from an entry's data")
        };
        let m = self.map_1x0.as_mut().expect("reading a 1.0 map");
        let err = |e: layer_diff::SparseError| format!("entry {}: {e}", show(&self.name));
        match m.blocks.push(&self.block).map_err(err)? {
            None if data < BLOCK as u64 => Err(err(layer_diff::SparseError::map_runs_past())),
            None => Ok(()),
            Some(map) => {
                // The rest of the entry's data is the file's.
                let real = m.real;
                self.map_1x0 = None;
                map.check(real, data).map_err(err)?;
                self.add_sparse_holes(real, data)?;
                if data == 0 {
                    self.data_end = self.pos;
                    if pad == 0 {
                        self.state = State::Header;
                    }
                }
                Ok(())
            }
        }
    }

    /// A PAX sparse file of `real` bytes with `data` bytes of data: its holes are bounded
    /// with the layer's others by [`MAX_SPARSE_HOLES`].
    fn add_sparse_holes(&mut self, real: u64, data: u64) -> Result<(), String> {
        self.holes = self.holes.saturating_add(real.saturating_sub(data));
        if self.holes > MAX_SPARSE_HOLES {
            return Err(format!(
                "entry {}: sparse file of {real} bytes with {data} bytes of data: the layer's sparse holes exceed the limit of {MAX_SPARSE_HOLES} bytes",
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
                if kind != b'x' {
                    // A GNU long name or link is a name, whatever records its bytes spell.
                    return Ok(());
                }
                // A PAX GNU sparse file's size is its real size (`GNU.sparse.size`, else
                // `GNU.sparse.realsize`), when the header makes a sparse file as Go reads it;
                // its sparse records are checked with the entry (`check_pax_sparse`).
                self.next_sparse = self.ext.sparse.take();
                self.next_real_size = match &self.next_sparse {
                    Some(Ok(sparse)) => sparse.size,
                    _ => None,
                };
                // Times and owners the readers take from a PAX header (the last of each key,
                // as Go merges them), checked after the loop.
                let mut timed: Vec<(&[u8], &[u8])> = Vec::new();
                // Well-formed: `apply` read every record.
                for (key, value) in layer_diff::pax_records(&self.special).flatten() {
                    // Extended attributes are named in text by every reader here.
                    if let Some(name) = key.strip_prefix(layer_diff::XATTR_PREFIX.as_bytes()) {
                        if std::str::from_utf8(name).is_err() {
                            return Err(format!(
                                "PAX header at offset {off}: xattr name {} is not UTF-8",
                                show(name)
                            ));
                        }
                    }
                    if matches!(key, b"mtime" | b"atime" | b"ctime" | b"uid" | b"gid") {
                        timed.retain(|(k, _)| *k != key);
                        timed.push((key, value));
                    }
                    if key == b"size" {
                        let size = std::str::from_utf8(value)
                            .ok()
                            .and_then(|s| s.parse::<i64>().ok())
                            .filter(|&s| s >= 0)
                            .ok_or_else(|| format!("invalid PAX size record at offset {off}"))?;
                        self.next_size = Some(size as u64);
                    }
                }
                // Well-formed as Go's reader (and so Docker) requires: a bad one fails its
                // header, and no reader here could read the entry.
                for (key, value) in timed {
                    let ok = match key {
                        b"uid" | b"gid" => std::str::from_utf8(value)
                            .ok()
                            .and_then(|v| v.parse::<i64>().ok())
                            .is_some(),
                        _ => layer_diff::pax_time(value).is_some(),
                    };
                    if !ok {
                        return Err(format!(
                            "PAX header at offset {off}: invalid {} record {}",
                            String::from_utf8_lossy(key),
                            show(value)
                        ));
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

/// A PAX 1.0 sparse entry's map being read.
struct Map1x0 {
    blocks: layer_diff::SparseMapBlocks,
    /// The file's real size.
    real: u64,
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

/// True when the numeric field holds digits the `tar` crate reads: base-256, or octal digits
/// (spaces around them) before the first NUL.
fn digits_as_written(field: &[u8]) -> bool {
    if field.first().is_some_and(|c| c & 0x80 != 0) {
        return true;
    }
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    let digits = field[..end].trim_ascii();
    !digits.is_empty() && digits.iter().all(|c| (b'0'..=b'7').contains(c))
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
