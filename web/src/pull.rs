//! The pull box's state: a Docker JSON message stream (`POST /images/create`) read chunk by
//! chunk into one progress bar per layer.
//!
//! The stream is one JSON object per line (`\r\n`), as moby's `streamformatter` writes it:
//! `{"status":"Pulling from library/busybox","id":"latest"}`, then per layer `Pulling fs layer`,
//! `Waiting`, `Downloading` with `progressDetail{current,total}`, `Verifying Checksum`,
//! `Download complete`, `Extracting` (progress), `Pull complete` or `Already exists`; then
//! `Digest: …` and `Status: …`. An `errorDetail` ends the pull with an error. Chunks may split a
//! line anywhere, even inside a UTF-8 sequence, so bytes are buffered until a newline.
//!
//! Pure: the component feeds bytes and renders [`Pull::layers`] and [`Pull::lines`].

use serde::Deserialize;

/// One message of the stream (the fields a pull uses).
#[derive(Debug, Default, Deserialize)]
struct Message {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "progressDetail")]
    progress_detail: Option<ProgressDetail>,
    #[serde(default, rename = "errorDetail")]
    error_detail: Option<ErrorDetail>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    stream: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ProgressDetail {
    #[serde(default)]
    current: Option<u64>,
    #[serde(default)]
    total: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
}

/// Which phase a layer is in, for its bar's colour and fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Announced, waiting or queued.
    Waiting,
    /// Bytes arriving.
    Downloading,
    /// Downloaded, checksum being verified or done.
    Downloaded,
    /// Being unpacked.
    Extracting,
    /// In the store.
    Done,
    /// Was in the store already.
    Exists,
}

/// One layer's bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// The 12-hex id of the stream (compressed digest prefix).
    pub id: String,
    /// The last status text (`Downloading`, `Pull complete`, …).
    pub status: String,
    /// The phase.
    pub phase: Phase,
    /// Bytes done in the current phase.
    pub current: u64,
    /// Bytes expected in the current phase, when known.
    pub total: Option<u64>,
}

impl Layer {
    /// Fill of the bar, 0–100: downloads count for the first 80 %, extraction for the rest,
    /// so the bar never runs backwards between the two phases.
    pub fn percent(&self) -> u8 {
        let frac = |c: u64, t: Option<u64>| match t {
            Some(t) if t > 0 => (c.min(t) as f64) / (t as f64),
            _ => 0.0,
        };
        let p = match self.phase {
            Phase::Waiting => 0.0,
            Phase::Downloading => 80.0 * frac(self.current, self.total),
            Phase::Downloaded => 80.0,
            Phase::Extracting => 80.0 + 20.0 * frac(self.current, self.total),
            Phase::Done | Phase::Exists => 100.0,
        };
        p.round().clamp(0.0, 100.0) as u8
    }

    /// `1.2MB / 3.4MB` while bytes move, else empty.
    pub fn bytes_text(&self) -> String {
        match (self.phase, self.total) {
            (Phase::Downloading | Phase::Extracting, Some(t)) => format!(
                "{} / {}",
                docker_format::human_size(self.current),
                docker_format::human_size(t)
            ),
            (Phase::Downloading | Phase::Extracting, None) if self.current > 0 => {
                docker_format::human_size(self.current)
            }
            _ => String::new(),
        }
    }
}

/// The whole pull as the box shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pull {
    /// Layers in the order the stream announced them.
    pub layers: Vec<Layer>,
    /// Lines not about one layer (`latest: Pulling from library/busybox`, `Digest: …`,
    /// `Status: …`), in order.
    pub lines: Vec<String>,
    /// The stream's error, if it sent one.
    pub error: Option<String>,
    /// Bytes of an unfinished line.
    pending: Vec<u8>,
    /// Set once the stream ended.
    pub finished: bool,
}

impl Pull {
    /// An empty pull.
    pub fn new() -> Pull {
        Pull::default()
    }

    /// Feeds the next chunk of the response body.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.pending.extend_from_slice(chunk);
        while let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=nl).collect();
            self.line(&line);
        }
    }

    /// The body ended: a last line without a newline is still a message.
    pub fn finish(&mut self) {
        let rest = std::mem::take(&mut self.pending);
        self.line(&rest);
        self.finished = true;
    }

    /// True when the pull ended without an error.
    pub fn succeeded(&self) -> bool {
        self.finished && self.error.is_none()
    }

    /// `3 of 5 layers done` (counting `Already exists`).
    pub fn summary(&self) -> String {
        let done = self
            .layers
            .iter()
            .filter(|l| matches!(l.phase, Phase::Done | Phase::Exists))
            .count();
        format!(
            "{done} of {} layer{} done",
            self.layers.len(),
            if self.layers.len() == 1 { "" } else { "s" }
        )
    }

    fn line(&mut self, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let msg: Message = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(_) => {
                self.lines.push(text.to_string());
                return;
            }
        };
        if let Some(e) = msg
            .error_detail
            .and_then(|d| d.message)
            .or(msg.error)
            .filter(|e| !e.is_empty())
        {
            self.error = Some(e);
            return;
        }
        if let Some(s) = msg.stream {
            let s = s.trim_end();
            if !s.is_empty() {
                self.lines.push(s.to_string());
            }
            return;
        }
        let status = msg.status.unwrap_or_default();
        let Some(id) = msg.id.filter(|i| !i.is_empty()) else {
            if !status.is_empty() {
                self.lines.push(status);
            }
            return;
        };
        let phase = phase_of(&status);
        // A status with an id but no progressDetail and no known layer phase is a line about
        // the whole pull (`{"status":"Pulling from library/busybox","id":"latest"}`).
        let known = self.layers.iter().any(|l| l.id == id);
        let Some(phase) =
            phase.filter(|_| known || msg.progress_detail.is_some() || is_layer_status(&status))
        else {
            self.lines.push(format!("{id}: {status}"));
            return;
        };
        let detail = msg.progress_detail.unwrap_or_default();
        let layer = match self.layers.iter_mut().find(|l| l.id == id) {
            Some(l) => l,
            None => {
                self.layers.push(Layer {
                    id: id.clone(),
                    status: String::new(),
                    phase: Phase::Waiting,
                    current: 0,
                    total: None,
                });
                self.layers.last_mut().expect("just pushed")
            }
        };
        if layer.phase != phase {
            layer.current = 0;
            layer.total = None;
        }
        layer.status = status;
        layer.phase = phase;
        if let Some(c) = detail.current {
            layer.current = c;
        }
        if let Some(t) = detail.total.filter(|t| *t > 0) {
            layer.total = Some(t);
        }
    }
}

fn is_layer_status(status: &str) -> bool {
    matches!(
        status,
        "Pulling fs layer"
            | "Waiting"
            | "Downloading"
            | "Verifying Checksum"
            | "Download complete"
            | "Extracting"
            | "Pull complete"
            | "Already exists"
            | "Retrying"
    ) || status.starts_with("Retrying in")
}

fn phase_of(status: &str) -> Option<Phase> {
    Some(match status {
        "Pulling fs layer" | "Waiting" => Phase::Waiting,
        s if s.starts_with("Retrying") => Phase::Waiting,
        "Downloading" => Phase::Downloading,
        "Verifying Checksum" | "Download complete" => Phase::Downloaded,
        "Extracting" => Phase::Extracting,
        "Pull complete" => Phase::Done,
        "Already exists" => Phase::Exists,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(p: &Pull) -> String {
        p.layers
            .iter()
            .map(|l| {
                format!(
                    "{} {} {}% {}\n",
                    l.id,
                    l.status,
                    l.percent(),
                    l.bytes_text()
                )
            })
            .collect()
    }

    const STREAM: &str = concat!(
        "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}\r\n",
        "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"aaaaaaaaaaaa\"}\r\n",
        "{\"status\":\"Already exists\",\"progressDetail\":{},\"id\":\"bbbbbbbbbbbb\"}\r\n",
        "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":500000,\"total\":2000000},\"progress\":\"[==>  ]\",\"id\":\"aaaaaaaaaaaa\"}\r\n",
    );

    #[test]
    fn bars_follow_the_stream() {
        let mut p = Pull::new();
        p.feed(STREAM.as_bytes());
        assert_eq!(
            bars(&p),
            "aaaaaaaaaaaa Downloading 20% 500kB / 2MB\nbbbbbbbbbbbb Already exists 100% \n"
        );
        assert_eq!(p.lines, ["latest: Pulling from library/busybox"]);
        assert_eq!(p.summary(), "1 of 2 layers done");
        p.feed(
            b"{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"aaaaaaaaaaaa\"}\r\n",
        );
        assert_eq!(p.layers[0].percent(), 80);
        p.feed(b"{\"status\":\"Extracting\",\"progressDetail\":{\"current\":1000000,\"total\":2000000},\"id\":\"aaaaaaaaaaaa\"}\r\n");
        assert_eq!(p.layers[0].percent(), 90);
        p.feed(b"{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"aaaaaaaaaaaa\"}\r\n");
        p.feed(b"{\"status\":\"Digest: sha256:abc\"}\r\n{\"status\":\"Status: Downloaded newer image for busybox:latest\"}");
        assert_eq!(p.lines.len(), 2, "the last line waits for its newline");
        p.finish();
        assert_eq!(
            p.lines,
            [
                "latest: Pulling from library/busybox",
                "Digest: sha256:abc",
                "Status: Downloaded newer image for busybox:latest"
            ]
        );
        assert!(p.succeeded());
        assert_eq!(p.summary(), "2 of 2 layers done");
    }

    #[test]
    fn chunks_split_anywhere() {
        let whole = {
            let mut p = Pull::new();
            p.feed(STREAM.as_bytes());
            p
        };
        for cut in 1..STREAM.len() {
            let mut p = Pull::new();
            p.feed(&STREAM.as_bytes()[..cut]);
            p.feed(&STREAM.as_bytes()[cut..]);
            assert_eq!(p, whole, "cut at {cut}");
        }
        // a multibyte character split across chunks survives
        let mut p = Pull::new();
        let line = "{\"status\":\"Status: é\"}\n".as_bytes();
        let cut = line.iter().position(|&b| b >= 0x80).unwrap() + 1;
        p.feed(&line[..cut]);
        p.feed(&line[cut..]);
        assert_eq!(p.lines, ["Status: é"]);
    }

    #[test]
    fn errors_end_the_pull() {
        let mut p = Pull::new();
        p.feed(b"{\"errorDetail\":{\"message\":\"pull access denied for nope, repository does not exist or may require 'docker login'\"},\"error\":\"pull access denied\"}\r\n");
        p.finish();
        assert!(!p.succeeded());
        assert_eq!(
            p.error.as_deref(),
            Some("pull access denied for nope, repository does not exist or may require 'docker login'")
        );
    }

    #[test]
    fn unknown_lines_are_kept_as_text() {
        let mut p = Pull::new();
        p.feed(b"not json\n{\"stream\":\"Loaded image: bb:1\\n\"}\n\n");
        assert_eq!(p.lines, ["not json", "Loaded image: bb:1"]);
        assert!(p.layers.is_empty());
    }

    #[test]
    fn progress_without_total_and_phase_changes_reset_bytes() {
        let mut p = Pull::new();
        p.feed(b"{\"status\":\"Downloading\",\"progressDetail\":{\"current\":10},\"id\":\"c\"}\n");
        assert_eq!(p.layers[0].percent(), 0);
        assert_eq!(p.layers[0].bytes_text(), "10B");
        p.feed(b"{\"status\":\"Extracting\",\"progressDetail\":{\"current\":5,\"total\":10},\"id\":\"c\"}\n");
        assert_eq!(p.layers[0].percent(), 90);
        assert_eq!(p.layers[0].bytes_text(), "5B / 10B");
        p.feed(b"{\"status\":\"Retrying in 5 seconds\",\"progressDetail\":{},\"id\":\"c\"}\n");
        assert_eq!(p.layers[0].phase, Phase::Waiting);
    }
}
