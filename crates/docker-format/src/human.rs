//! Sizes, durations and truncation as go-units and the docker CLI render them.

/// Go's `%.{precision}g`.
fn go_g(v: f64, precision: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let exp = v.abs().log10().floor() as i32;
    // round to `precision` significant digits first; rounding may bump the exponent
    let s = format!("{:.*e}", precision - 1, v);
    let (mant, e) = s.split_once('e').unwrap();
    let e: i32 = e.parse().unwrap();
    let _ = exp;
    if e < -4 || e >= precision as i32 {
        let mant = trim_zeros(mant);
        return format!("{}e{}{:02}", mant, if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (precision as i32 - 1 - e).max(0) as usize;
    trim_zeros(&format!("{:.*}", decimals, v))
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// go-units `HumanSize`: decimal units, 3 significant digits (`0B`, `999B`, `1.2kB`, `4.27MB`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut i = 0;
    while size >= 1000.0 && i < UNITS.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    format!("{}{}", go_g(size, 3), UNITS[i])
}

/// go-units `BytesSize`: binary units, 4 significant digits (`0B`, `1.5KiB`, `7.665GiB`), as
/// `docker stats` shows memory.
pub fn bytes_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let mut size = bytes as f64;
    let mut i = 0;
    while size >= 1024.0 && i < UNITS.len() - 1 {
        size /= 1024.0;
        i += 1;
    }
    format!("{}{}", go_g(size, 4), UNITS[i])
}

/// go-units `HumanDuration` of a number of seconds (`Less than a second`, `About an hour`, …).
pub fn human_duration(seconds: i64) -> String {
    let s = seconds;
    if s < 1 {
        return "Less than a second".into();
    }
    if s == 1 {
        return "1 second".into();
    }
    if s < 60 {
        return format!("{s} seconds");
    }
    let minutes = s / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (s + 1800) / 3600; // Round(time.Hour)
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", s / 3600 / 24 / 365)
}

/// The docker CLI's `Ellipsis`: at most `max` characters, the last one `…` when cut.
pub fn ellipsis(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if max == 0 {
        return String::new();
    }
    if n <= max {
        return s.to_string();
    }
    if max == 1 {
        return s.chars().take(1).collect();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// `TruncateID`: drops `sha256:` and keeps 12 characters.
pub fn truncate_id(id: &str) -> String {
    let id = id.split_once(':').map_or(id, |(_, h)| h);
    id.chars().take(12).collect()
}

/// Docker's `STATUS` column of `ps` for a container in `state` (`created`, `running`,
/// `paused`, `exited`), started and finished at the given Unix seconds, at `now`:
/// `Created`, `Up 3 seconds`, `Up 3 seconds (Paused)`, `Exited (0) 5 seconds ago`.
pub fn container_status(
    state: &str,
    exit_code: i32,
    started: i64,
    finished: i64,
    now: i64,
) -> String {
    match state {
        "running" => format!("Up {}", human_duration(now - started)),
        "paused" => format!("Up {} (Paused)", human_duration(now - started)),
        "exited" => format!(
            "Exited ({exit_code}) {} ago",
            human_duration(now - finished)
        ),
        "restarting" => format!(
            "Restarting ({exit_code}) {} ago",
            human_duration(now - finished)
        ),
        "removing" => "Removal In Progress".into(),
        "dead" => "Dead".into(),
        _ => "Created".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_statuses() {
        assert_eq!(container_status("running", 0, 100, 0, 108), "Up 8 seconds");
        assert_eq!(
            container_status("paused", 0, 100, 0, 108),
            "Up 8 seconds (Paused)"
        );
        assert_eq!(
            container_status("running", 0, 100, 0, 100),
            "Up Less than a second"
        );
        assert_eq!(
            container_status("exited", 3, 100, 105, 108),
            "Exited (3) 3 seconds ago"
        );
        assert_eq!(
            container_status("exited", 137, 100, 105, 300),
            "Exited (137) 3 minutes ago"
        );
        assert_eq!(container_status("created", 127, 0, 0, 300), "Created");
    }

    #[test]
    fn binary_sizes() {
        assert_eq!(bytes_size(0), "0B");
        assert_eq!(bytes_size(1536), "1.5KiB");
        assert_eq!(bytes_size(8 << 20), "8MiB");
        assert_eq!(bytes_size(8_229_806_080), "7.665GiB");
    }

    #[test]
    fn sizes() {
        for (n, want) in [
            (0, "0B"),
            (1, "1B"),
            (999, "999B"),
            (1000, "1kB"),
            (1234, "1.23kB"),
            (4_270_000, "4.27MB"),
            (999_500, "1e+03kB"),
            (12_345_678, "12.3MB"),
            (100_000_000, "100MB"),
            (1_500_000_000, "1.5GB"),
            (250_000_000_000, "250GB"),
        ] {
            assert_eq!(human_size(n), want, "{n}");
        }
    }

    #[test]
    fn durations() {
        for (s, want) in [
            (0, "Less than a second"),
            (1, "1 second"),
            (59, "59 seconds"),
            (60, "About a minute"),
            (119, "About a minute"),
            (120, "2 minutes"),
            (3599, "59 minutes"),
            (3600, "About an hour"),
            (5399, "About an hour"),
            (5400, "2 hours"),
            (47 * 3600, "47 hours"),
            (48 * 3600, "2 days"),
            (14 * 24 * 3600, "2 weeks"),
            (60 * 24 * 3600, "2 months"),
            (800 * 24 * 3600, "2 years"),
        ] {
            assert_eq!(human_duration(s), want, "{s}");
        }
    }

    #[test]
    fn ellipses_and_ids() {
        assert_eq!(ellipsis("abcdef", 4), "abc…");
        assert_eq!(ellipsis("abc", 4), "abc");
        assert_eq!(truncate_id("sha256:0123456789abcdef"), "0123456789ab");
    }
}

/// One entry of a container's ports as `ps` shows it: the host address and port when
/// published, the container's port and protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortEntry {
    /// The host address (`0.0.0.0`), when published.
    pub ip: Option<String>,
    /// The host port, when published.
    pub public: Option<u16>,
    /// The container's port.
    pub private: u16,
    /// `tcp` or `udp`.
    pub proto: String,
}

/// One entry as `ps` prints it: `0.0.0.0:8080->80/tcp` when published, `80/tcp` when not.
impl std::fmt::Display for PortEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.ip, self.public) {
            (Some(ip), Some(public)) => write!(f, "{ip}:{public}->{}/{}", self.private, self.proto),
            _ => write!(f, "{}/{}", self.private, self.proto),
        }
    }
}

/// The docker CLI's `PORTS` column: ordered by container port, host port, protocol and
/// address; first the ports published on the same port number or not published (`90/tcp`,
/// `0.0.0.0:80->80/tcp`), then the other mappings (`0.0.0.0:8080->80/tcp`). Ranges are not
/// folded.
pub fn ports_column(ports: &[PortEntry]) -> String {
    let mut v: Vec<&PortEntry> = ports.iter().collect();
    v.sort_by(|a, b| {
        (a.private, a.public, &a.proto, &a.ip).cmp(&(b.private, b.public, &b.proto, &b.ip))
    });
    let mut groups = Vec::new();
    let mut mappings = Vec::new();
    for p in v {
        if p.ip.is_some() && p.public.is_some_and(|public| public != p.private) {
            mappings.push(p.to_string());
        } else {
            groups.push(p.to_string());
        }
    }
    groups.extend(mappings);
    groups.join(", ")
}

#[cfg(test)]
mod port_tests {
    use super::*;

    #[test]
    fn ports_as_docker_ps_prints_them() {
        let e = |ip: Option<&str>, public: Option<u16>, private: u16| PortEntry {
            ip: ip.map(str::to_string),
            public,
            private,
            proto: "tcp".into(),
        };
        assert_eq!(
            ports_column(&[
                e(None, None, 443),
                e(Some("0.0.0.0"), Some(8080), 80),
                e(Some("127.0.0.1"), Some(9000), 80),
                e(Some("0.0.0.0"), Some(22), 22),
            ]),
            "0.0.0.0:22->22/tcp, 443/tcp, 0.0.0.0:8080->80/tcp, 127.0.0.1:9000->80/tcp"
        );
        assert_eq!(ports_column(&[]), "");
    }
}
