//! `logfile`: Docker's `json-file` log format — one JSON object per line of output,
//! `{"log":"hi\n","stream":"stdout","time":"2026-12-05T00:00:00.123456789Z"}`.

use serde::{Deserialize, Serialize};
use std::io::Write;
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
    /// RFC 3339 with nanoseconds, trailing zeros trimmed (Go's `RFC3339Nano`).
    pub time: String,
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
    let log = String::from_utf8_lossy(line);
    buf.extend_from_slice(b"{\"log\":");
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, log.as_ref());
    buf.extend_from_slice(b",\"stream\":");
    let _ = serde_json::to_writer(&mut *buf, stream);
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
            let e = Entry {
                log: String::from_utf8_lossy(line).into_owned(),
                stream: "stderr".into(),
                time: "2026-01-01T00:00:00.5Z".into(),
            };
            let mut b = serde_json::to_vec(&e).unwrap();
            b.push(b'\n');
            assert_eq!(a, b);
        }
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

/// Reads the log at `path` once: every entry, or the last `tail` ones, each given to `f`.
/// Returns the offset after the last complete line, where [`follow`] continues. A missing
/// log is an empty one.
pub fn read(
    path: &std::path::Path,
    tail: Option<usize>,
    mut f: impl FnMut(Entry),
) -> std::io::Result<u64> {
    use std::io::BufRead;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut r = std::io::BufReader::new(file);
    let mut last = std::collections::VecDeque::new();
    let mut pos = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        pos += n as u64;
        let Ok(e) = serde_json::from_slice::<Entry>(&line) else {
            continue;
        };
        match tail {
            Some(0) => {}
            Some(t) => {
                if last.len() == t {
                    last.pop_front();
                }
                last.push_back(e);
            }
            None => f(e),
        }
    }
    last.into_iter().for_each(f);
    Ok(pos)
}

/// Follows the log from `offset`: gives each new entry to `f` until `done()` says the writer
/// has finished (checked between polls; what was written before that is still read).
pub fn follow(
    path: &std::path::Path,
    mut offset: u64,
    mut done: impl FnMut() -> bool,
    mut f: impl FnMut(Entry) -> bool,
) -> std::io::Result<()> {
    use std::io::{BufRead, Seek, SeekFrom};
    let mut line = Vec::new();
    loop {
        let finished = done();
        if let Ok(file) = std::fs::File::open(path) {
            let mut r = std::io::BufReader::new(file);
            r.seek(SeekFrom::Start(offset))?;
            loop {
                line.clear();
                let n = r.read_until(b'\n', &mut line)?;
                if n == 0 || line.last() != Some(&b'\n') {
                    break;
                }
                offset += n as u64;
                if let Ok(e) = serde_json::from_slice::<Entry>(&line) {
                    if !f(e) {
                        return Ok(());
                    }
                }
            }
        }
        if finished {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[cfg(test)]
mod read_tests {
    use super::*;

    #[test]
    fn tail_and_follow() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(LOG_FILE);
        let mut f = std::fs::File::create(&p).unwrap();
        for i in 0..5 {
            write_entry(&mut f, "stdout", format!("{i}\n").as_bytes(), "t").unwrap();
        }
        f.write_all(b"{\"log\":\"partial").unwrap();
        let mut got = Vec::new();
        let end = read(&p, Some(2), |e| got.push(e.log)).unwrap();
        assert_eq!(got, ["3\n", "4\n"]);
        let mut all = 0;
        assert_eq!(read(&p, None, |_| all += 1).unwrap(), end);
        assert_eq!(all, 5);
        f.write_all(b"\",\"stream\":\"stderr\",\"time\":\"t\"}\n")
            .unwrap();
        let mut rounds = 0;
        let mut more = Vec::new();
        follow(
            &p,
            end,
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
    }
}
