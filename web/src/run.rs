//! Containers that run, as the pages show them: Docker's status texts (`Up 3 seconds`,
//! `Exited (0) 5 seconds ago`) at the browser's clock, which controls apply in which state,
//! the Run dialog's command and environment, and the log view (search, timestamps, the
//! downloaded text, the NDJSON stream cut into lines).

use crate::wire::{ContainerDto, LogLineDto};

/// Unix seconds of an RFC 3339 time (`2024-05-01T10:00:00.123Z`, `…+02:00`); `None` when it
/// is not one.
pub fn rfc3339_unix(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (rest[1..3].parse::<i64>().ok()? * 3600 + rest[4..6].parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    // days from the civil date (Howard Hinnant's algorithm)
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se - offset)
}

/// `3 minutes ago` (Docker's `CREATED` column), or the text itself when it is not a time.
pub fn ago(rfc3339: &str, now: i64) -> String {
    match rfc3339_unix(rfc3339) {
        Some(t) => format!("{} ago", docker_format::human_duration(now - t)),
        None => rfc3339.to_string(),
    }
}

/// Docker's `STATUS` of a container at `now` (unix seconds).
pub fn status_text(c: &ContainerDto, now: i64) -> String {
    docker_format::container_status(&c.state, c.exit_code, c.started, c.finished, now)
}

/// A control of a container's process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start the process.
    Start,
    /// Its stop signal, then `SIGKILL`.
    Stop,
    /// `SIGKILL`.
    Kill,
    /// Freeze.
    Pause,
    /// Thaw.
    Unpause,
    /// Stop and start.
    Restart,
}

impl Action {
    /// The API's verb (`/api/containers/{id}/<verb>`).
    pub fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Kill => "kill",
            Action::Pause => "pause",
            Action::Unpause => "unpause",
            Action::Restart => "restart",
        }
    }

    /// The button's text.
    pub fn label(self) -> &'static str {
        match self {
            Action::Start => "Start",
            Action::Stop => "Stop",
            Action::Kill => "Kill",
            Action::Pause => "Pause",
            Action::Unpause => "Unpause",
            Action::Restart => "Restart",
        }
    }

    /// What the toast says once done.
    pub fn done(self) -> &'static str {
        match self {
            Action::Start => "Started",
            Action::Stop => "Stopped",
            Action::Kill => "Killed",
            Action::Pause => "Paused",
            Action::Unpause => "Unpaused",
            Action::Restart => "Restarted",
        }
    }
}

/// The controls that apply to a container in `state`, in the order they are shown.
pub fn actions(state: &str) -> Vec<Action> {
    match state {
        "running" => vec![Action::Stop, Action::Kill, Action::Pause, Action::Restart],
        "paused" => vec![Action::Unpause, Action::Stop, Action::Kill],
        // its restart policy starts it again soon: stop or kill end the restarts
        "restarting" => vec![Action::Stop, Action::Kill, Action::Restart],
        _ => vec![Action::Start],
    }
}

/// Whether the state has a process, or is about to have one again (running, paused,
/// restarting: moby counts all three as running): such a container is removed only with
/// force, which the confirmation says.
pub fn has_process(state: &str) -> bool {
    matches!(state, "running" | "paused" | "restarting")
}

/// Splits a command line the way a shell would for the words of `docker run IMAGE …`:
/// spaces separate, single quotes keep everything, double quotes keep all but `\"` and `\\`,
/// a backslash outside quotes escapes the next character.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("the command has an unclosed ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err("the command has an unclosed \" quote".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("the command has an unclosed \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(x) => cur.push(x),
                    None => return Err("the command ends with a lone \\".into()),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// The Run dialog's environment: one `KEY=value` a line (blank lines skipped). A line
/// without `=` is refused: the browser has no environment to take the value from.
pub fn env_lines(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match line.split_once('=') {
            Some((k, _)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
                out.push(line.to_string())
            }
            _ => {
                return Err(format!(
                    "environment line {}: {line:?} is not KEY=value",
                    i + 1
                ))
            }
        }
    }
    Ok(out)
}

/// The Run dialog's published ports: `-p` specs (`8080:80`, `127.0.0.1:8080:80/udp`, `80`),
/// one a line or separated by commas or spaces. The server checks each with Docker's
/// grammar and texts.
pub fn port_specs(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The file editor's mode: empty keeps the file's (or 0644), else 3 or 4 octal digits.
pub fn file_mode(text: &str) -> Result<Option<String>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let ok = (3..=4).contains(&t.len()) && t.bytes().all(|b| (b'0'..=b'7').contains(&b));
    if !ok {
        return Err(format!(
            "mode {t:?} is not octal permission bits like 0644 or 755"
        ));
    }
    Ok(Some(format!("{:0>4}", t)))
}

/// Cuts an NDJSON stream into log lines, across chunk boundaries.
#[derive(Default, Debug)]
pub struct LineCutter {
    partial: Vec<u8>,
}

impl LineCutter {
    /// The complete lines of `chunk` (with what was left over before), decoded; a line that
    /// is not a log line is skipped.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<LogLineDto> {
        self.partial.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(nl) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=nl).collect();
            if let Ok(l) = serde_json::from_slice::<LogLineDto>(&line) {
                out.push(l);
            }
        }
        out
    }
}

/// One log line as shown: with its timestamp when asked, without its line end.
pub fn log_line_text(l: &LogLineDto, timestamps: bool) -> String {
    let text = l.log.trim_end_matches(['\n', '\r']);
    if timestamps {
        format!("{} {text}", l.time)
    } else {
        text.to_string()
    }
}

/// The lines that contain `search` (case-insensitive; all when it is empty).
pub fn filter_logs<'a>(lines: &'a [LogLineDto], search: &str) -> Vec<&'a LogLineDto> {
    let needle = search.to_lowercase();
    lines
        .iter()
        .filter(|l| needle.is_empty() || l.log.to_lowercase().contains(&needle))
        .collect()
}

/// The downloaded log: every line, as `docker logs` prints it (`--timestamps` when asked).
pub fn log_download(lines: &[LogLineDto], timestamps: bool) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(&log_line_text(l, timestamps));
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert_eq!(rfc3339_unix("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_unix("2024-05-01T10:00:00.123456789Z"),
            Some(1_714_557_600)
        );
        assert_eq!(
            rfc3339_unix("2024-05-01T12:00:00+02:00"),
            Some(1_714_557_600)
        );
        assert_eq!(rfc3339_unix("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(rfc3339_unix("yesterday"), None);
        assert_eq!(rfc3339_unix("2024-13-01T10:00:00Z"), None);
        assert_eq!(
            ago("2024-05-01T10:00:00Z", 1_714_557_600 + 180),
            "3 minutes ago"
        );
    }

    #[test]
    fn docker_status_texts() {
        let mut c = ContainerDto {
            state: "running".into(),
            started: 100,
            ..Default::default()
        };
        assert_eq!(status_text(&c, 103), "Up 3 seconds");
        c.state = "paused".into();
        assert_eq!(status_text(&c, 103), "Up 3 seconds (Paused)");
        c.state = "exited".into();
        c.finished = 110;
        assert_eq!(status_text(&c, 115), "Exited (0) 5 seconds ago");
        c.state = "created".into();
        assert_eq!(status_text(&c, 115), "Created");
    }

    #[test]
    fn controls_by_state() {
        assert_eq!(actions("created"), [Action::Start]);
        assert_eq!(actions("exited"), [Action::Start]);
        assert_eq!(
            actions("running"),
            [Action::Stop, Action::Kill, Action::Pause, Action::Restart]
        );
        assert_eq!(actions("paused")[0], Action::Unpause);
        assert_eq!(
            actions("restarting"),
            [Action::Stop, Action::Kill, Action::Restart]
        );
        assert!(has_process("paused") && has_process("restarting") && !has_process("exited"));
    }

    #[test]
    fn commands_split_like_a_shell() {
        assert_eq!(
            split_command("sh -c 'for i in $(seq 5); do echo $i >> /etc/motd; sleep 1; done'")
                .unwrap(),
            [
                "sh",
                "-c",
                "for i in $(seq 5); do echo $i >> /etc/motd; sleep 1; done"
            ]
        );
        assert_eq!(
            split_command(r#"echo "a \"b\" c" d\ e ''"#).unwrap(),
            ["echo", "a \"b\" c", "d e", ""]
        );
        assert_eq!(split_command("  ").unwrap(), Vec::<String>::new());
        assert!(split_command("echo 'x").is_err());
        assert!(split_command("echo \"x").is_err());
    }

    #[test]
    fn environment_lines() {
        assert_eq!(env_lines("A=1\n\n B=x=y \n").unwrap(), ["A=1", "B=x=y"]);
        assert!(env_lines("A").unwrap_err().contains("line 1"));
        assert!(env_lines("=1").is_err());
    }

    #[test]
    fn editor_modes() {
        assert_eq!(file_mode(" ").unwrap(), None);
        assert_eq!(file_mode("755").unwrap().as_deref(), Some("0755"));
        assert_eq!(file_mode("0644").unwrap().as_deref(), Some("0644"));
        assert!(file_mode("0999").is_err());
        assert!(file_mode("rwx").is_err());
    }

    #[test]
    fn ndjson_lines_cut_across_chunks() {
        let mut c = LineCutter::default();
        let a = r#"{"stream":"stdout","log":"1\n","time":"t1"}"#;
        let b = r#"{"stream":"stderr","log":"two\n","time":"t2"}"#;
        let all = format!("{a}\n{b}\n");
        let (x, y) = all.as_bytes().split_at(10);
        assert!(c.push(x).is_empty());
        let lines = c.push(y);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].stream, "stderr");
        assert_eq!(log_line_text(&lines[0], false), "1");
        assert_eq!(log_line_text(&lines[1], true), "t2 two");
        assert_eq!(filter_logs(&lines, "TWO").len(), 1);
        assert_eq!(filter_logs(&lines, "").len(), 2);
        assert_eq!(log_download(&lines, false), "1\ntwo\n");
    }

    #[test]
    fn port_specs_split_on_lines_commas_and_spaces() {
        assert_eq!(port_specs(""), Vec::<String>::new());
        assert_eq!(
            port_specs("8080:80\n 127.0.0.1:5353:53/udp , 443\n\n"),
            ["8080:80", "127.0.0.1:5353:53/udp", "443"]
        );
    }
}
