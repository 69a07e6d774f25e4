//! `logfile`: Docker's `json-file` log — one JSON object per line of output,
//! `{"log":"hi\n","stream":"stdout","time":"2026-12-05T00:00:00.123456789Z"}` — with the
//! driver's options (`max-size`, `max-file`, `compress`) read as moby's `jsonfilelog` reads
//! them, its rotation ([`LogWriter`]: `<log>.1` is the newest rotated file) and its readers
//! ([`read`], [`follow`]), which go through the rotated files oldest first (a `--tail` read
//! goes backwards from the end, only as far as the entries it gives).
//!
//! Each entry may carry the attributes the driver's `tag`, `labels`, `labels-regex`, `env`
//! and `env-regex` options name (`"attrs":{…}`, what `logs --details` prints). Not here: gzip
//! of rotated files (`compress=true` is refused by the engine).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The file name of the log in a container's directory (Docker's is `<id>-json.log`).
pub const LOG_FILE: &str = "container-json.log";

/// The longest line kept in one entry; longer lines are split (Docker's 16 KiB).
pub const MAX_ENTRY: usize = 16 * 1024;

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The bytes written, as text (lossy for invalid UTF-8, as Go's encoder).
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// The log options' attributes (none: no `attrs` key, as moby writes it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
    /// RFC 3339 with nanoseconds, trailing zeros trimmed (Go's `RFC3339Nano`).
    pub time: String,
}

/// The `attrs` member of every entry of a log, encoded once: `,"attrs":{…}` with the keys
/// sorted (Go's encoder of a map), or nothing for no attribute.
pub fn encode_attrs(attrs: &BTreeMap<String, String>) -> Vec<u8> {
    if attrs.is_empty() {
        return Vec::new();
    }
    let mut v = b",\"attrs\":".to_vec();
    // Writing a map of strings into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut v, attrs);
    v
}

/// What `logs --details` puts before an entry (moby's `attrsByteSlice` and a space):
/// `key=value` pairs sorted by key, each side query-escaped, joined by commas.
pub fn details_prefix(attrs: &BTreeMap<String, String>) -> String {
    let esc = |s: &str| {
        let mut o = String::with_capacity(s.len());
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    o.push(b as char)
                }
                b' ' => o.push('+'),
                _ => o.push_str(&format!("%{b:02X}")),
            }
        }
        o
    };
    let mut out = attrs
        .iter()
        .map(|(k, v)| format!("{}={}", esc(k), esc(v)))
        .collect::<Vec<_>>()
        .join(",");
    out.push(' ');
    out
}

/// Go's `time.RFC3339Nano` in UTC.
pub fn rfc3339_nano(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let ns = t.nanosecond();
    if ns != 0 {
        let frac = format!("{ns:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// The current time in Go's `RFC3339Nano`.
pub fn now() -> String {
    rfc3339_nano(OffsetDateTime::now_utc())
}

/// Splits a stream's bytes into entries at newlines (and at [`MAX_ENTRY`]).
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    /// Feeds bytes; returns the complete entries.
    pub fn push(&mut self, data: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.push_each(data, |l| out.push(l.to_vec()));
        out
    }

    /// Feeds bytes; gives each complete entry to `f`, borrowed from `data` where it lies
    /// whole in it (no copy per line: only a line's start left from the previous chunk is
    /// buffered).
    pub fn push_each(&mut self, mut data: &[u8], mut f: impl FnMut(&[u8])) {
        while !data.is_empty() {
            if self.buf.is_empty() {
                let window = &data[..data.len().min(MAX_ENTRY)];
                match memchr_nl(window) {
                    Some(i) => {
                        f(&window[..=i]);
                        data = &data[i + 1..];
                    }
                    None if window.len() == MAX_ENTRY => {
                        f(window);
                        data = &data[MAX_ENTRY..];
                    }
                    None => {
                        self.buf.extend_from_slice(window);
                        data = &data[window.len()..];
                    }
                }
                continue;
            }
            let room = MAX_ENTRY - self.buf.len();
            let window = &data[..data.len().min(room)];
            match memchr_nl(window) {
                Some(i) => {
                    self.buf.extend_from_slice(&window[..=i]);
                    f(&self.buf);
                    self.buf.clear();
                    data = &data[i + 1..];
                }
                None => {
                    self.buf.extend_from_slice(window);
                    data = &data[window.len()..];
                    if self.buf.len() >= MAX_ENTRY {
                        f(&self.buf);
                        self.buf.clear();
                    }
                }
            }
        }
    }

    /// What is left at the end of the stream.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        (!self.buf.is_empty()).then(|| std::mem::take(&mut self.buf))
    }
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', b)
}

/// Appends one entry as a JSON line to `buf`, the same bytes as [`Entry`]'s serialisation
/// (`log`, `stream`, `time` in that order) without building one.
pub fn append_entry(buf: &mut Vec<u8>, stream: &str, line: &[u8], time: &str) {
    append_entry_with(buf, stream, line, &[], time)
}

/// [`append_entry`] with the log's attributes as [`encode_attrs`] encodes them (`log`,
/// `stream`, `attrs`, `time`: moby's order).
pub fn append_entry_with(buf: &mut Vec<u8>, stream: &str, line: &[u8], attrs: &[u8], time: &str) {
    let log = String::from_utf8_lossy(line);
    buf.extend_from_slice(b"{\"log\":");
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, log.as_ref());
    buf.extend_from_slice(b",\"stream\":");
    let _ = serde_json::to_writer(&mut *buf, stream);
    buf.extend_from_slice(attrs);
    buf.extend_from_slice(b",\"time\":");
    let _ = serde_json::to_writer(&mut *buf, time);
    buf.extend_from_slice(b"}\n");
}

/// Appends one entry as a JSON line.
pub fn write_entry(
    w: &mut impl Write,
    stream: &str,
    line: &[u8],
    time: &str,
) -> std::io::Result<()> {
    let mut v = Vec::with_capacity(line.len() + 80);
    append_entry(&mut v, stream, line, time);
    w.write_all(&v)
}

/// What the json-file driver keeps: moby's `max-size` (`None`: the file grows without end)
/// and `max-file` (the live file and its rotated files, at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate before an entry once the live file holds this many bytes or more.
    pub max_size: Option<u64>,
    /// The live file plus at most `max_files - 1` rotated ones.
    pub max_files: u64,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            max_size: None,
            max_files: 1,
        }
    }
}

/// The json-file driver's options once read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonFileOptions {
    /// `max-size` and `max-file`.
    pub rotation: Rotation,
    /// `compress`: gzip the rotated files.
    pub compress: bool,
}

/// The options moby's json-file driver takes (besides `mode` and `max-buffer-size`, which
/// every driver takes and which are checked before).
pub const JSON_FILE_OPTIONS: [&str; 8] = [
    "max-file",
    "max-size",
    "compress",
    "labels",
    "labels-regex",
    "env",
    "env-regex",
    "tag",
];

/// moby's `jsonfilelog.ValidateLogOpt`: the first option the driver does not know, in
/// moby's words.
pub fn check_option_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    match names.into_iter().find(|n| !JSON_FILE_OPTIONS.contains(n)) {
        Some(n) => Err(format!("unknown log opt '{n}' for json-file log driver")),
        None => Ok(()),
    }
}

/// The options' values as moby's json-file driver reads them when it starts
/// (`jsonfilelog.New`): `max-size`, `max-file`, then `compress`, with its texts. `get` gives
/// an option's value.
pub fn parse_options<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<JsonFileOptions, String> {
    let mut max_size = None;
    if let Some(v) = get("max-size") {
        let n = from_human_size(v)?;
        if n <= 0 {
            return Err("max-size must be a positive number".into());
        }
        max_size = Some(n as u64);
    }
    let mut max_files = 1;
    if let Some(v) = get("max-file") {
        let n = go_atoi(v)?;
        if n < 1 {
            return Err("max-file cannot be less than 1".into());
        }
        max_files = n as u64;
    }
    let mut compress = false;
    if let Some(v) = get("compress") {
        compress = go_parse_bool(v)?;
        if compress && (max_files == 1 || max_size.is_none()) {
            return Err(
                "compress cannot be true when max-file is less than 2 or max-size is not set"
                    .into(),
            );
        }
    }
    Ok(JsonFileOptions {
        rotation: Rotation {
            max_size,
            max_files,
        },
        compress,
    })
}

/// go-units' `FromHumanSize` (Docker 20.10's, which reads `max-size`): decimal units, so
/// `10m` is 10 000 000 bytes, `1.5k` 1 500 and `100` 100; a unit may be followed by `i` and
/// `b` (`1kib` is still 1 000).
pub fn from_human_size(s: &str) -> Result<i64, String> {
    parse_size(s, 1000)
}

/// go-units' `RAMInBytes` (`max-buffer-size`): as [`from_human_size`], in powers of 1024.
pub fn ram_in_bytes(s: &str) -> Result<i64, String> {
    parse_size(s, 1024)
}

/// go-units' `parseSize`: `^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$`, the number read by
/// Go's `strconv.ParseFloat`, the product truncated to an integer.
fn parse_size(s: &str, base: i32) -> Result<i64, String> {
    let invalid = || format!("invalid size: '{s}'");
    let b = s.as_bytes();
    let digits_from = |i: usize| i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut end = digits_from(0);
    if end == 0 {
        return Err(invalid());
    }
    while b.get(end) == Some(&b'.') && digits_from(end + 1) > end + 1 {
        end = digits_from(end + 1);
    }
    let (num, mut rest) = (&s[..end], &b[end..]);
    if rest.first() == Some(&b' ') {
        rest = &rest[1..];
    }
    let mut power = 0;
    if let Some(p) = rest
        .first()
        .and_then(|c| b"kmgtp".iter().position(|u| *u == c.to_ascii_lowercase()))
    {
        power = p as i32 + 1;
        rest = &rest[1..];
    }
    for optional in [b'i', b'b'] {
        if rest.first().map(u8::to_ascii_lowercase) == Some(optional) {
            rest = &rest[1..];
        }
    }
    if !rest.is_empty() {
        return Err(invalid());
    }
    let n: f64 = num
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing {num:?}: invalid syntax"))?;
    if n.is_infinite() {
        return Err(format!(
            "strconv.ParseFloat: parsing {num:?}: value out of range"
        ));
    }
    let size = n * f64::from(base).powi(power);
    // Go's conversion of a float from 2^63 up (amd64): the smallest int64.
    Ok(if size >= i64::MAX as f64 {
        i64::MIN
    } else {
        size as i64
    })
}

/// Go's `strconv.Atoi` on a 64-bit host, with its texts.
fn go_atoi(v: &str) -> Result<i64, String> {
    v.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.Atoi: parsing {v:?}: {why}")
    })
}

/// Go's `strconv.ParseBool`, with its text.
fn go_parse_bool(v: &str) -> Result<bool, String> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {v:?}: invalid syntax")),
    }
}

/// The `n`th rotated file of the log at `path`: `<log>.1` is the newest.
pub fn rotated(path: &Path, n: u64) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// `r`, a missing file counted as done.
fn or_gone(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// `e` with what was being done.
fn doing(what: String) -> impl FnOnce(std::io::Error) -> std::io::Error {
    move |e| std::io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Writes a container's entries to its log, rotated as moby's `loggerutils.LogFile` rotates
/// it: before an entry, once the live file holds `max-size` bytes or more, the rotated files
/// move up one (`<log>.1` → `<log>.2`, …; the one that would pass `max-file - 1` is removed),
/// the live file becomes `<log>.1` and a new one starts. With `max-file=1` the live file is
/// replaced by an empty one. A file so passes `max-size` by its last entry at most.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    rotation: Rotation,
    /// `None` after a rotation that could not open the new file: the next write tries again.
    file: Option<File>,
    size: u64,
}

impl LogWriter {
    /// Opens the log at `path` to append to it (created when missing); what it holds counts
    /// towards `max-size`.
    pub fn open(path: &Path, rotation: Rotation) -> std::io::Result<LogWriter> {
        let mut w = LogWriter {
            path: path.to_path_buf(),
            rotation,
            file: None,
            size: 0,
        };
        w.reopen()?;
        Ok(w)
    }

    fn reopen(&mut self) -> std::io::Result<()> {
        let f = File::options()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(doing(format!("open {}", self.path.display())))?;
        self.size = f.metadata()?.len();
        self.file = Some(f);
        Ok(())
    }

    /// Appends `entries`, whole JSON lines as [`append_entry`] writes them, rotating between
    /// them as needed. A failure is returned once the writer has done what it could: entries
    /// it could not write are dropped, and a rotation that could not move the live file
    /// away empties it (moby's way), so the log never grows past its bound.
    pub fn write(&mut self, entries: &[u8]) -> std::io::Result<()> {
        if self.file.is_none() {
            self.reopen()?;
        }
        let Some(cap) = self.rotation.max_size else {
            return self.append(entries);
        };
        let mut failure = None;
        let (mut start, mut pos) = (0, 0);
        while pos < entries.len() {
            if self.size + (pos - start) as u64 >= cap {
                if let Err(e) = self.append(&entries[start..pos]) {
                    failure.get_or_insert(e);
                }
                start = pos;
                match self.rotate() {
                    Ok(()) => {}
                    Err(e) if self.file.is_some() => {
                        failure.get_or_insert(e);
                    }
                    Err(e) => return Err(failure.unwrap_or(e)),
                }
            }
            pos = memchr::memchr(b'\n', &entries[pos..]).map_or(entries.len(), |i| pos + i + 1);
        }
        if let Err(e) = self.append(&entries[start..]) {
            failure.get_or_insert(e);
        }
        failure.map_or(Ok(()), Err)
    }

    fn append(&mut self, b: &[u8]) -> std::io::Result<()> {
        if b.is_empty() {
            return Ok(());
        }
        let Some(f) = self.file.as_mut() else {
            return Err(std::io::Error::other("the log file is not open"));
        };
        let r = f.write_all(b);
        self.size = match &r {
            Ok(()) => self.size + b.len() as u64,
            Err(_) => f.metadata().map_or(self.size, |m| m.len()),
        };
        r.map_err(doing(format!("write {}", self.path.display())))
    }

    /// Moves the live file away (or removes it with `max-file=1`) and starts a new one.
    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        let moved = if self.rotation.max_files >= 2 {
            self.shift().and_then(|()| {
                let to = rotated(&self.path, 1);
                or_gone(std::fs::rename(&self.path, &to)).map_err(doing(format!(
                    "rename {} to {}",
                    self.path.display(),
                    to.display()
                )))
            })
        } else {
            or_gone(std::fs::remove_file(&self.path))
                .map_err(doing(format!("remove {}", self.path.display())))
        };
        // The new live file; one that could not be moved away is emptied instead.
        let f = File::options()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&self.path)
            .map_err(doing(format!("create {}", self.path.display())))?;
        self.file = Some(f);
        self.size = 0;
        moved
    }

    /// The rotated files one up, the oldest removed when there are `max-file - 1` of them.
    fn shift(&self) -> std::io::Result<()> {
        let max = self.rotation.max_files;
        let mut last = 0;
        while last + 1 < max && rotated(&self.path, last + 1).symlink_metadata().is_ok() {
            last += 1;
        }
        if last + 1 == max && last > 0 {
            let oldest = rotated(&self.path, last);
            or_gone(std::fs::remove_file(&oldest))
                .map_err(doing(format!("remove {}", oldest.display())))?;
            last -= 1;
        }
        for i in (1..=last).rev() {
            let (from, to) = (rotated(&self.path, i), rotated(&self.path, i + 1));
            std::fs::rename(&from, &to).map_err(doing(format!(
                "rename {} to {}",
                from.display(),
                to.display()
            )))?;
        }
        Ok(())
    }
}

/// A container's json-file log as its readers see it: the live file at `path` and up to
/// `max_files - 1` rotated ones beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFiles {
    /// The live file.
    pub path: PathBuf,
    /// The driver's `max-file`.
    pub max_files: u64,
}

impl LogFiles {
    /// The log at `path`, never rotated.
    pub fn single(path: impl Into<PathBuf>) -> LogFiles {
        LogFiles {
            path: path.into(),
            max_files: 1,
        }
    }
}

/// A file's identity: device and inode.
type FileId = (u64, u64);

fn id_of(f: &File) -> std::io::Result<FileId> {
    let m = f.metadata()?;
    Ok((m.dev(), m.ino()))
}

fn id_at(path: &Path) -> std::io::Result<Option<FileId>> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some((m.dev(), m.ino()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn open_at(path: &Path) -> std::io::Result<Option<(File, FileId)>> {
    match File::open(path) {
        Ok(f) => {
            let id = id_of(&f)?;
            Ok(Some((f, id)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The log's files as they stood at one moment: the rotated ones oldest first, then the
/// live one (missing between a rotation's rename and its new file, or before any output).
struct Snapshot {
    rotated: Vec<(File, FileId)>,
    live: Option<(File, FileId)>,
}

/// Opens the log's files as they stood at one moment. The writer is another process, so the
/// files are opened (the live one first, then `<log>.1` upwards until two in a row are
/// missing: a rotation under way leaves one gap at most) and every name is looked at again:
/// when one names another file by then, a rotation came in between, and it starts over.
fn snapshot(log: &LogFiles) -> std::io::Result<Snapshot> {
    let mut tries = 0;
    loop {
        tries += 1;
        let live = open_at(&log.path)?;
        let mut probed: Vec<(u64, Option<(File, FileId)>)> = Vec::new();
        let mut missing = 0;
        let mut n = 1;
        while n < log.max_files && missing < 2 {
            let f = open_at(&rotated(&log.path, n))?;
            missing = if f.is_some() { 0 } else { missing + 1 };
            probed.push((n, f));
            n += 1;
        }
        let mut steady = id_at(&log.path)? == live.as_ref().map(|l| l.1);
        for (n, f) in &probed {
            steady = steady && id_at(&rotated(&log.path, *n))? == f.as_ref().map(|f| f.1);
        }
        if steady || tries >= 100 {
            let mut rotated: Vec<(File, FileId)> = Vec::new();
            for (f, id) in probed.into_iter().rev().filter_map(|(_, f)| f) {
                // Only when the files never held still: each once, the live one last.
                if Some(id) != live.as_ref().map(|l| l.1) && !rotated.iter().any(|r| r.1 == id) {
                    rotated.push((f, id));
                }
            }
            return Ok(Snapshot { rotated, live });
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Gives `f` the entries of `file` from `offset` to its last complete line, moving `offset`
/// past each; `false` when `f` asked to stop.
fn read_lines(
    file: &File,
    offset: &mut u64,
    f: &mut impl FnMut(Entry) -> bool,
) -> std::io::Result<bool> {
    let mut r = std::io::BufReader::new(file);
    r.seek(SeekFrom::Start(*offset))?;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Ok(true);
        }
        *offset += n as u64;
        if let Ok(e) = serde_json::from_slice::<Entry>(&line) {
            if !f(e) {
                return Ok(false);
            }
        }
    }
}

/// Where [`read`] stopped, for [`follow`] to go on from.
#[derive(Debug)]
pub struct Cursor {
    /// The live file read, and the offset after its last complete line.
    file: Option<File>,
    offset: u64,
    /// The newest file read (the live one when there is one).
    last: Option<FileId>,
}

/// How much of a file [`last_entries`] reads at a time, from its end.
const BACK_BLOCK: u64 = 64 * 1024;

/// The last `want` entries of `file` before `end`, newest first, pushed onto `out`; reads the
/// file backwards, a block at a time, so what it costs is what the entries hold, not the
/// file's size. Bytes after the last newline (a line being written) are no entry; a line that
/// is no entry is skipped, as the forward reader skips it. Returns the offset after the last
/// complete line.
fn last_entries(file: &File, end: u64, want: usize, out: &mut Vec<Entry>) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    // `line_end`: where the line being looked at ends (after its newline), once one is found.
    let mut line_end: Option<u64> = None;
    let mut complete_end = 0;
    let mut pos = end;
    let mut block = Vec::new();
    let mut line = Vec::new();
    let mut take = |from: u64, to: u64, block: &[u8], block_at: u64, out: &mut Vec<Entry>| {
        let bytes = if from >= block_at && to <= block_at + block.len() as u64 {
            &block[(from - block_at) as usize..(to - block_at) as usize]
        } else {
            line.resize((to - from) as usize, 0);
            if file.read_exact_at(&mut line, from).is_err() {
                return;
            }
            &line[..]
        };
        if let Ok(e) = serde_json::from_slice::<Entry>(bytes) {
            out.push(e);
        }
    };
    let goal = out.len() + want;
    // Going on, whatever is wanted, until the last complete line's end is known.
    while pos > 0 && (out.len() < goal || line_end.is_none()) {
        let at = pos.saturating_sub(BACK_BLOCK);
        block.resize((pos - at) as usize, 0);
        file.read_exact_at(&mut block, at)?;
        for i in (0..block.len()).rev() {
            if block[i] != b'\n' {
                continue;
            }
            let nl = at + i as u64;
            if let Some(le) = line_end {
                take(nl + 1, le, &block, at, out);
            } else {
                complete_end = nl + 1;
            }
            if out.len() >= goal {
                return Ok(complete_end);
            }
            line_end = Some(nl + 1);
        }
        pos = at;
    }
    // The file's first line.
    if let Some(le) = line_end.filter(|le| *le > 0 && out.len() < goal) {
        take(0, le, &block, pos, out);
    }
    Ok(complete_end)
}

/// Reads the log once, its rotated files oldest first, then the live file: every entry, or
/// the last `tail` ones, each given to `f`. A missing log is an empty one. With `tail`, the
/// files are read backwards from the newest, and only as far as the entries wanted.
pub fn read(
    log: &LogFiles,
    tail: Option<usize>,
    mut f: impl FnMut(Entry),
) -> std::io::Result<Cursor> {
    let snap = snapshot(log)?;
    if let Some(want) = tail {
        let mut newest_first = Vec::new();
        let mut offset = 0;
        let mut last = None;
        if let Some((file, id)) = &snap.live {
            let len = file.metadata()?.len();
            offset = last_entries(file, len, want, &mut newest_first)?;
            last = Some(*id);
        }
        for (file, id) in snap.rotated.iter().rev() {
            last = last.or(Some(*id));
            if newest_first.len() >= want {
                break;
            }
            let len = file.metadata()?.len();
            last_entries(file, len, want - newest_first.len(), &mut newest_first)?;
        }
        newest_first.into_iter().rev().for_each(f);
        let file = snap.live.map(|(file, _)| file);
        return Ok(Cursor { file, offset, last });
    }
    let mut give = |e: Entry| {
        f(e);
        true
    };
    let mut last = None;
    for (file, id) in &snap.rotated {
        read_lines(file, &mut 0, &mut give)?;
        last = Some(*id);
    }
    let mut offset = 0;
    let file = match snap.live {
        Some((file, id)) => {
            read_lines(&file, &mut offset, &mut give)?;
            last = Some(id);
            Some(file)
        }
        None => None,
    };
    Ok(Cursor { file, offset, last })
}

/// Follows the log from `cursor`: gives each new entry to `f` until `done()` says the writer
/// has finished (checked between polls; what was written before that is still read) or `f`
/// returns `false`. A rotation is followed: the file read is finished, then every file written
/// after it is read, oldest first, so no entry is lost or given twice (unless the writer
/// rotated past `max-file` files between two polls, 50 ms apart).
pub fn follow(
    log: &LogFiles,
    cursor: Cursor,
    mut done: impl FnMut() -> bool,
    mut f: impl FnMut(Entry) -> bool,
) -> std::io::Result<()> {
    let Cursor {
        mut file,
        mut offset,
        mut last,
    } = cursor;
    loop {
        let finished = done();
        if let Some(cur) = &file {
            // Emptied where it stands (a rotation that could not move it away).
            if cur.metadata()?.len() < offset {
                offset = 0;
            }
            if !read_lines(cur, &mut offset, &mut f)? {
                return Ok(());
            }
        }
        let now = id_at(&log.path)?;
        let current = if file.is_some() { last } else { None };
        if now.is_none() || now == current {
            if finished {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            continue;
        }
        // Rotated (or first written): the rest of the file read, then the newer ones.
        if let Some(cur) = &file {
            if !read_lines(cur, &mut offset, &mut f)? {
                return Ok(());
            }
        }
        let snap = snapshot(log)?;
        let newer = last
            .and_then(|old| snap.rotated.iter().position(|r| r.1 == old))
            .map_or(0, |i| i + 1);
        for (r, id) in &snap.rotated[newer..] {
            if !read_lines(r, &mut 0, &mut f)? {
                return Ok(());
            }
            last = Some(*id);
        }
        offset = 0;
        file = snap.live.map(|(l, id)| {
            last = Some(id);
            l
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_entries_are_the_entry_serialised() {
        for line in [
            &b"hi\n"[..],
            b"tab\t\"q\" \\ \x01\n",
            b"bad \xff utf8",
            "ünï\n".as_bytes(),
        ] {
            let mut a = Vec::new();
            append_entry(&mut a, "stderr", line, "2026-01-01T00:00:00.5Z");
            let mut e = Entry {
                log: String::from_utf8_lossy(line).into_owned(),
                stream: "stderr".into(),
                attrs: BTreeMap::new(),
                time: "2026-01-01T00:00:00.5Z".into(),
            };
            let mut b = serde_json::to_vec(&e).unwrap();
            b.push(b'\n');
            assert_eq!(a, b);
            // with attributes: moby's order (log, stream, attrs, time), keys sorted
            e.attrs = [("tag", "web/1"), ("X", "a \"b\"")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let mut a = Vec::new();
            let attrs = encode_attrs(&e.attrs);
            append_entry_with(&mut a, "stderr", line, &attrs, "2026-01-01T00:00:00.5Z");
            let mut b = serde_json::to_vec(&e).unwrap();
            b.push(b'\n');
            assert_eq!(a, b);
            let text = String::from_utf8(a).unwrap();
            assert!(
                text.contains(r#""stream":"stderr","attrs":{"X":"a \"b\"","tag":"web/1"},"time":"#),
                "{text}"
            );
            assert_eq!(serde_json::from_str::<Entry>(&text).unwrap(), e);
        }
        // `logs --details`: sorted, query-escaped, then a space; nothing but the space without
        let attrs: BTreeMap<String, String> = [("tag", "web/1 x"), ("A", "é&=,")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(details_prefix(&attrs), "A=%C3%A9%26%3D%2C,tag=web%2F1+x ");
        assert_eq!(details_prefix(&BTreeMap::new()), " ");
        // Lines borrowed whole, a split line joined, an over-long line cut at MAX_ENTRY.
        let mut sp = LineSplitter::default();
        let mut got = Vec::new();
        sp.push_each(b"a\nb\npart", |l| got.push(l.to_vec()));
        sp.push_each(b"ial\n", |l| got.push(l.to_vec()));
        assert_eq!(got, [&b"a\n"[..], b"b\n", b"partial\n"]);
        let long = vec![b'x'; MAX_ENTRY + 3];
        let mut got = Vec::new();
        sp.push_each(&long, |l| got.push(l.len()));
        assert_eq!(got, [MAX_ENTRY]);
        assert_eq!(sp.finish().map(|r| r.len()), Some(3));
    }

    #[test]
    fn go_time_and_lines() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_764_892_800_120_000_000).unwrap();
        assert_eq!(rfc3339_nano(t), "2025-12-05T00:00:00.12Z");
        let t = OffsetDateTime::from_unix_timestamp(1_764_892_800).unwrap();
        assert_eq!(rfc3339_nano(t), "2025-12-05T00:00:00Z");
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"a\nb"), vec![b"a\n".to_vec()]);
        assert_eq!(s.push(b"c\n\n"), vec![b"bc\n".to_vec(), b"\n".to_vec()]);
        assert_eq!(s.finish(), None);
        // A line longer than an entry is split at MAX_ENTRY, as Docker's 16 KiB.
        let long = vec![b'x'; MAX_ENTRY + 10];
        let parts = s.push(&long);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].len(), MAX_ENTRY);
        assert_eq!(
            s.push(b"\n"),
            vec![[vec![b'x'; 10], b"\n".to_vec()].concat()]
        );
        let mut v = Vec::new();
        write_entry(&mut v, "stdout", b"hi\n", "2025-12-05T00:00:00Z").unwrap();
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "{\"log\":\"hi\\n\",\"stream\":\"stdout\",\"time\":\"2025-12-05T00:00:00Z\"}\n"
        );
    }
}

#[cfg(test)]
mod option_tests {
    use super::*;
    use std::collections::BTreeMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<JsonFileOptions, String> {
        let m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        check_option_names(m.keys().map(String::as_str))?;
        parse_options(|k| m.get(k).map(String::as_str))
    }

    #[test]
    fn sizes_as_go_units_reads_them() {
        for (s, n) in [
            ("100", 100),
            ("1k", 1000),
            ("1K", 1000),
            ("10m", 10_000_000),
            ("10MB", 10_000_000),
            ("1kib", 1000),
            ("1.5k", 1500),
            ("2 g", 2_000_000_000),
            ("7b", 7),
            ("0", 0),
            ("0.5", 0),
        ] {
            assert_eq!(from_human_size(s), Ok(n), "{s}");
        }
        assert_eq!(ram_in_bytes("1m"), Ok(1 << 20));
        assert_eq!(ram_in_bytes("1.5k"), Ok(1536));
        for s in ["abc", "", "-1", "1.", "1x", "k", " 1", "1  k", "1kbb"] {
            assert_eq!(
                from_human_size(s),
                Err(format!("invalid size: '{s}'")),
                "{s}"
            );
        }
        assert_eq!(
            from_human_size("1.2.3"),
            Err("strconv.ParseFloat: parsing \"1.2.3\": invalid syntax".into())
        );
        assert_eq!(from_human_size("1e30"), Err("invalid size: '1e30'".into()));
        assert_eq!(from_human_size("9999999999999999999999"), Ok(i64::MIN));
    }

    #[test]
    fn options_as_moby_reads_them() {
        assert_eq!(parse(&[]), Ok(JsonFileOptions::default()));
        assert_eq!(
            parse(&[("max-size", "1k"), ("max-file", "3")]).map(|o| o.rotation),
            Ok(Rotation {
                max_size: Some(1000),
                max_files: 3
            })
        );
        // max-file alone is taken: without max-size nothing rotates.
        assert_eq!(
            parse(&[("max-file", "+2")]).map(|o| o.rotation),
            Ok(Rotation {
                max_size: None,
                max_files: 2
            })
        );
        assert_eq!(
            parse(&[("max-size", "1k"), ("max-file", "2"), ("compress", "T")]).map(|o| o.compress),
            Ok(true)
        );
        for (pairs, text) in [
            (
                &[("foo", "bar")][..],
                "unknown log opt 'foo' for json-file log driver",
            ),
            (
                &[("max-size", "1k"), ("mode", "blocking")][..],
                "unknown log opt 'mode' for json-file log driver",
            ),
            (&[("max-size", "abc")][..], "invalid size: 'abc'"),
            (&[("max-size", "")][..], "invalid size: ''"),
            (
                &[("max-size", "0")][..],
                "max-size must be a positive number",
            ),
            (&[("max-file", "0")][..], "max-file cannot be less than 1"),
            (&[("max-file", "-3")][..], "max-file cannot be less than 1"),
            (
                &[("max-file", "x")][..],
                "strconv.Atoi: parsing \"x\": invalid syntax",
            ),
            (
                &[("max-file", "99999999999999999999")][..],
                "strconv.Atoi: parsing \"99999999999999999999\": value out of range",
            ),
            (
                &[("max-file", "2"), ("max-size", "x")][..],
                "invalid size: 'x'",
            ),
            (
                &[("compress", "yes")][..],
                "strconv.ParseBool: parsing \"yes\": invalid syntax",
            ),
            (
                &[("compress", "true")][..],
                "compress cannot be true when max-file is less than 2 or max-size is not set",
            ),
            (
                &[("compress", "1"), ("max-size", "1k")][..],
                "compress cannot be true when max-file is less than 2 or max-size is not set",
            ),
        ] {
            assert_eq!(parse(pairs), Err(text.to_string()), "{pairs:?}");
        }
        for name in ["tag", "labels", "labels-regex", "env", "env-regex"] {
            assert_eq!(check_option_names([name]), Ok(()));
        }
    }
}

#[cfg(test)]
mod rotation_tests {
    use super::*;

    /// One entry of exactly `len` bytes (a JSON line), numbered `n`.
    fn entry(n: usize, len: usize) -> Vec<u8> {
        let mut v = Vec::new();
        append_entry(&mut v, "stdout", format!("{n:04}\n").as_bytes(), "t");
        let pad = len - v.len();
        v.clear();
        let text = format!("{n:04}{}\n", "x".repeat(pad));
        append_entry(&mut v, "stdout", text.as_bytes(), "t");
        assert_eq!(v.len(), len);
        v
    }

    fn numbers(path: &Path) -> Vec<usize> {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        text.lines()
            .map(|l| {
                let e: Entry = serde_json::from_str(l).unwrap();
                e.log[..4].parse().unwrap()
            })
            .collect()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// A log writer in a fresh directory, rotating at `max_size` bytes, keeping `max_files`.
    fn rotating(max_size: u64, max_files: u64) -> (tempfile::TempDir, PathBuf, LogWriter) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(LOG_FILE);
        let rotation = Rotation {
            max_size: Some(max_size),
            max_files,
        };
        let w = LogWriter::open(&p, rotation).unwrap();
        (d, p, w)
    }

    fn all(log: &LogFiles, tail: Option<usize>) -> Vec<usize> {
        let mut got = Vec::new();
        read(log, tail, |e| got.push(e.log[..4].parse().unwrap())).unwrap();
        got
    }

    /// `--tail` reads the files backwards, newest first, and keeps what a forward read of
    /// every entry would end with: across rotated files, with entries longer than a block
    /// read, lines that are no entry, and a line still being written; its cursor is where a
    /// forward read ends, so following gives only what comes after.
    #[test]
    fn tail_reads_backwards_what_a_forward_read_ends_with() {
        let (_d, p, mut w) = rotating(300_000, 3);
        for n in 0..40 {
            w.write(&entry(n, [120, 5000, 70_000, 200][n % 4])).unwrap();
            if n % 7 == 0 {
                w.write(b"not an entry\n").unwrap();
            }
        }
        drop(w);
        let last = entry(9999, 150);
        let mut live = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        live.write_all(&last[..70]).unwrap();
        let log = LogFiles {
            path: p.clone(),
            max_files: 3,
        };
        assert!(rotated(&p, 2).exists(), "the log spans rotated files");
        let forward = all(&log, None);
        assert_eq!(forward, (0..40).collect::<Vec<_>>());
        let n = forward.len();
        for t in [0, 1, 2, 3, 4, 5, 8, 13, n - 1, n, n + 10] {
            assert_eq!(
                all(&log, Some(t)),
                forward[n.saturating_sub(t)..],
                "tail {t}"
            );
        }
        let cursor = read(&log, Some(0), |_| panic!("no entry wanted")).unwrap();
        live.write_all(&last[70..]).unwrap();
        let mut rounds = 0;
        let mut more = Vec::new();
        follow(
            &log,
            cursor,
            || {
                rounds += 1;
                rounds > 1
            },
            |e| {
                more.push(e.log[..4].to_string());
                true
            },
        )
        .unwrap();
        assert_eq!(more, ["9999"]);
    }

    /// Bytes this thread has read through system calls (`rchar`).
    fn thread_read_bytes() -> u64 {
        let io = std::fs::read_to_string("/proc/thread-self/io").unwrap();
        io.lines()
            .find_map(|l| l.strip_prefix("rchar: "))
            .unwrap()
            .parse()
            .unwrap()
    }

    /// What `--tail` reads is what the entries it gives hold, whatever the log's size.
    #[test]
    fn tail_reads_only_the_end_of_a_large_log() {
        let (_d, p, mut w) = rotating(16 << 20, 2);
        for n in 0..24 {
            w.write(&entry(n, 1 << 20)).unwrap();
        }
        for n in 24..30 {
            w.write(&entry(n, 100)).unwrap();
        }
        drop(w);
        let log = LogFiles {
            path: p.clone(),
            max_files: 2,
        };
        for (tail, most) in [(3, 128 << 10), (7, 3 << 20)] {
            let before = thread_read_bytes();
            let got = all(&log, Some(tail));
            let read = thread_read_bytes() - before;
            assert_eq!(got, (30 - tail..30).collect::<Vec<_>>());
            assert!(read <= most, "tail {tail} read {read} bytes");
        }
    }

    #[test]
    fn files_rotate_as_moby_names_them() {
        let (d, p, mut w) = rotating(250, 3);
        // 100-byte entries: a file takes three (the third passes 250), the fourth rotates.
        for n in 0..3 {
            w.write(&entry(n, 100)).unwrap();
        }
        assert_eq!(names(d.path()), [LOG_FILE]);
        w.write(&entry(3, 100)).unwrap();
        assert_eq!(names(d.path()), [LOG_FILE, &format!("{LOG_FILE}.1")]);
        assert_eq!(numbers(&rotated(&p, 1)), [0, 1, 2]);
        assert_eq!(numbers(&p), [3]);
        // Several entries in one write rotate between them.
        let batch: Vec<u8> = (4..11).flat_map(|n| entry(n, 100)).collect();
        w.write(&batch).unwrap();
        assert_eq!(
            names(d.path()),
            [
                LOG_FILE.to_string(),
                format!("{LOG_FILE}.1"),
                format!("{LOG_FILE}.2")
            ]
        );
        assert_eq!(numbers(&rotated(&p, 2)), [3, 4, 5]);
        assert_eq!(numbers(&rotated(&p, 1)), [6, 7, 8]);
        assert_eq!(numbers(&p), [9, 10]);
        // A writer opened again counts what the file holds.
        drop(w);
        let rotation = Rotation {
            max_size: Some(250),
            max_files: 3,
        };
        let mut w = LogWriter::open(&p, rotation).unwrap();
        w.write(&entry(11, 100)).unwrap();
        w.write(&entry(12, 100)).unwrap();
        assert_eq!(numbers(&p), [12]);
        assert_eq!(numbers(&rotated(&p, 2)), [6, 7, 8]);
        assert!(!rotated(&p, 3).exists());
        // Readers go through the files oldest first.
        let log = LogFiles {
            path: p.clone(),
            max_files: 3,
        };
        assert_eq!(all(&log, None), (6..13).collect::<Vec<_>>());
        assert_eq!(all(&log, Some(5)), (8..13).collect::<Vec<_>>());
        assert_eq!(all(&log, Some(0)), Vec::<usize>::new());
        // Read as a log that never rotates, only the live file.
        assert_eq!(all(&LogFiles::single(&p), None), [12]);
    }

    #[test]
    fn one_file_is_started_again_empty() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(LOG_FILE);
        let mut w = LogWriter::open(
            &p,
            Rotation {
                max_size: Some(150),
                max_files: 1,
            },
        )
        .unwrap();
        let batch: Vec<u8> = (0..5).flat_map(|n| entry(n, 100)).collect();
        w.write(&batch).unwrap();
        assert_eq!(names(d.path()), [LOG_FILE]);
        assert_eq!(numbers(&p), [4]);
        // Without max-size the file only grows.
        let q = d.path().join("other.log");
        let mut w = LogWriter::open(
            &q,
            Rotation {
                max_size: None,
                max_files: 5,
            },
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.write(&batch).unwrap();
        assert_eq!(numbers(&q).len(), 10);
        assert!(!rotated(&q, 1).exists());
    }

    #[test]
    fn a_failed_rotation_keeps_the_log_bounded_and_writing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(LOG_FILE);
        let mut w = LogWriter::open(
            &p,
            Rotation {
                max_size: Some(150),
                max_files: 3,
            },
        )
        .unwrap();
        // `<log>.1` cannot be replaced: a non-empty directory stands there.
        std::fs::create_dir_all(rotated(&p, 1).join("x")).unwrap();
        std::fs::create_dir_all(rotated(&p, 2).join("y")).unwrap();
        let batch: Vec<u8> = (0..3).flat_map(|n| entry(n, 100)).collect();
        let err = w.write(&batch).unwrap_err();
        assert!(err.to_string().contains(LOG_FILE), "{err}");
        // The live file was emptied instead, and writing goes on.
        assert_eq!(numbers(&p), [2]);
        std::fs::remove_dir_all(rotated(&p, 1)).unwrap();
        std::fs::remove_dir_all(rotated(&p, 2)).unwrap();
        w.write(&batch).unwrap();
        assert_eq!(numbers(&rotated(&p, 1)), [2, 0]);
        assert_eq!(numbers(&p), [1, 2]);
    }

    #[test]
    fn a_follower_reads_across_rotations_once_and_in_order() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(LOG_FILE);
        let rotation = Rotation {
            max_size: Some(300),
            max_files: 1_000,
        };
        let mut w = LogWriter::open(&p, rotation).unwrap();
        w.write(&entry(0, 100)).unwrap();
        let log = LogFiles {
            path: p.clone(),
            max_files: rotation.max_files,
        };
        let mut got = Vec::new();
        let cursor = read(&log, None, |e| {
            got.push(e.log[..4].parse::<usize>().unwrap())
        })
        .unwrap();
        let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let finished = finished.clone();
            std::thread::spawn(move || {
                for n in 1..900 {
                    w.write(&entry(n, 100)).unwrap();
                    if n % 97 == 0 {
                        std::thread::sleep(std::time::Duration::from_millis(3));
                    }
                }
                finished.store(true, std::sync::atomic::Ordering::SeqCst);
            })
        };
        follow(
            &log,
            cursor,
            || finished.load(std::sync::atomic::Ordering::SeqCst),
            |e| {
                got.push(e.log[..4].parse().unwrap());
                true
            },
        )
        .unwrap();
        writer.join().unwrap();
        assert_eq!(got, (0..900).collect::<Vec<_>>());
        // With one file, a follower goes on in the new file too.
        let q = d.path().join("one.log");
        let mut w = LogWriter::open(
            &q,
            Rotation {
                max_size: Some(150),
                max_files: 1,
            },
        )
        .unwrap();
        w.write(&entry(0, 100)).unwrap();
        let one = LogFiles::single(&q);
        let mut got = Vec::new();
        let cursor = read(&one, None, |e| {
            got.push(e.log[..4].parse::<usize>().unwrap())
        })
        .unwrap();
        w.write(&entry(1, 100)).unwrap();
        let mut rounds = 0;
        follow(
            &one,
            cursor,
            || {
                rounds += 1;
                if rounds == 2 {
                    w.write(&entry(2, 100)).unwrap();
                }
                rounds > 3
            },
            |e| {
                got.push(e.log[..4].parse().unwrap());
                true
            },
        )
        .unwrap();
        assert_eq!(got, [0, 1, 2]);
    }

    #[test]
    fn tail_and_follow() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(LOG_FILE);
        let mut f = std::fs::File::create(&p).unwrap();
        for i in 0..5 {
            write_entry(&mut f, "stdout", format!("{i}\n").as_bytes(), "t").unwrap();
        }
        f.write_all(b"{\"log\":\"partial").unwrap();
        let log = LogFiles::single(&p);
        let mut got = Vec::new();
        read(&log, Some(2), |e| got.push(e.log)).unwrap();
        assert_eq!(got, ["3\n", "4\n"]);
        let mut all = 0;
        let cursor = read(&log, None, |_| all += 1).unwrap();
        assert_eq!(all, 5);
        f.write_all(b"\",\"stream\":\"stderr\",\"time\":\"t\"}\n")
            .unwrap();
        let mut rounds = 0;
        let mut more = Vec::new();
        follow(
            &log,
            cursor,
            || {
                rounds += 1;
                rounds > 1
            },
            |e| {
                more.push(e.log);
                true
            },
        )
        .unwrap();
        assert_eq!(more, ["partial"]);
        // A log not written yet is empty, and followed once it appears.
        let q = d.path().join("later.log");
        let later = LogFiles {
            path: q.clone(),
            max_files: 3,
        };
        let cursor = read(&later, None, |_| panic!("nothing yet")).unwrap();
        let mut rounds = 0;
        let mut more = Vec::new();
        follow(
            &later,
            cursor,
            || {
                rounds += 1;
                if rounds == 2 {
                    let mut f = std::fs::File::create(&q).unwrap();
                    write_entry(&mut f, "stdout", b"late\n", "t").unwrap();
                }
                rounds > 3
            },
            |e| {
                more.push(e.log);
                true
            },
        )
        .unwrap();
        assert_eq!(more, ["late\n"]);
    }
}
