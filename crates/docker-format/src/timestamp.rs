//! Times as docker's filters take them (`until=24h`, `until=1700000000`, `until=2024-01-01T00:00:00Z`).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A Go duration (`24h`, `1h30m`, `90s`, `1.5s`) in whole seconds; `None` if it is not one.
pub fn go_duration(s: &str) -> Option<i64> {
    go_duration_nanos(s).map(|n| (n / 1_000_000_000) as i64)
}

/// A Go duration in nanoseconds (`10m`, `1.5s`, `250ms`); `None` if it is not one.
fn go_duration_nanos(s: &str) -> Option<i128> {
    if s.is_empty() {
        return None;
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * unit;
        rest = &rest[u..];
    }
    Some(total as i128)
}

/// `logs --since/--until` as docker takes them (`timetypes.GetTimestamp`), in Unix
/// nanoseconds: a duration before `now_nanos` (`10m`), Unix seconds with an optional
/// fraction (`1700000000.5`), an RFC 3339 time with or without fraction, or one of Go's
/// shorter layouts (`2006-01-02T15:04:05`, `2006-01-02T15:04`, `2006-01-02`, taken as UTC).
pub fn parse_timestamp_nanos(v: &str, now_nanos: i128) -> Result<i128, String> {
    let bad = || format!("failed to parse value as time or duration: \"{v}\"");
    if v != "0" {
        if let Some(d) = go_duration_nanos(v) {
            return Ok(now_nanos - d);
        }
    }
    let unsigned = v.strip_prefix('-').unwrap_or(v);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let (secs, frac) = v.split_once('.').unwrap_or((v, ""));
        let secs: i128 = secs.parse().map_err(|_| bad())?;
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let nanos: i128 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<9}").parse().map_err(|_| bad())?
        };
        return Ok(secs * 1_000_000_000 + nanos);
    }
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(t.unix_timestamp_nanos());
    }
    let padded = match v.len() {
        10 => format!("{v}T00:00:00Z"),
        16 => format!("{v}:00Z"),
        19 => format!("{v}Z"),
        _ => return Err(bad()),
    };
    OffsetDateTime::parse(&padded, &Rfc3339)
        .map(|t| t.unix_timestamp_nanos())
        .map_err(|_| bad())
}

/// `until=` as docker takes it (`timetypes.GetTimestamp`): a duration before `now`, unix
/// seconds (with optional fraction), or an RFC 3339 time. Unix seconds out.
pub fn parse_timestamp(v: &str, now: i64) -> Result<i64, String> {
    if let Some(d) = go_duration(v) {
        return Ok(now - d);
    }
    if let Ok(t) = v.split('.').next().unwrap_or(v).parse::<i64>() {
        return Ok(t);
    }
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    Err(format!(
        "failed to parse value as time or duration: \"{v}\""
    ))
}

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in Unix seconds: what moby answers as an
/// image's `Created` when its config has no creation time.
pub const GO_ZERO_TIME: i64 = -62_135_596_800;

/// The CREATED column of `images` and `history`: `N/A` for an image with no creation time
/// ([`GO_ZERO_TIME`]), as the docker CLI shows it, else how long ago.
pub fn created_since(created: i64, now: i64) -> String {
    if created == GO_ZERO_TIME {
        "N/A".to_string()
    } else {
        format!("{} ago", crate::human_duration(now - created))
    }
}

/// `time.Unix(t, 0).Format(time.RFC3339)` in UTC (empty for a time out of range).
pub fn rfc3339(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zero_time_is_not_applicable() {
        assert_eq!(created_since(GO_ZERO_TIME, 1_700_000_000), "N/A");
        assert_eq!(rfc3339(GO_ZERO_TIME), "0001-01-01T00:00:00Z");
        assert_eq!(created_since(0, 3 * 3600), "3 hours ago");
    }

    #[test]
    fn durations_and_timestamps() {
        assert_eq!(go_duration("24h"), Some(86400));
        assert_eq!(go_duration("1h30m"), Some(5400));
        assert_eq!(go_duration("1.5s"), Some(1));
        assert_eq!(go_duration("abc"), None);
        assert_eq!(go_duration(""), None);
        assert_eq!(parse_timestamp("10m", 1000).unwrap(), 400);
        assert_eq!(parse_timestamp("1700000000", 0).unwrap(), 1_700_000_000);
        assert_eq!(parse_timestamp("1700000000.5", 0).unwrap(), 1_700_000_000);
        assert_eq!(
            parse_timestamp("2024-01-01T00:00:00Z", 0).unwrap(),
            1_704_067_200
        );
        let s = 1_000_000_000i128;
        assert_eq!(parse_timestamp_nanos("10m", 1000 * s).unwrap(), 400 * s);
        assert_eq!(parse_timestamp_nanos("1.5s", 10 * s).unwrap(), 85 * s / 10);
        assert_eq!(
            parse_timestamp_nanos("1700000000.25", 0).unwrap(),
            1_700_000_000 * s + 250_000_000
        );
        assert_eq!(parse_timestamp_nanos("0", 5).unwrap(), 0);
        assert_eq!(
            parse_timestamp_nanos("2024-01-01T00:00:00.5Z", 0).unwrap(),
            1_704_067_200 * s + 500_000_000
        );
        assert_eq!(
            parse_timestamp_nanos("2024-01-01T01:00:00+01:00", 0).unwrap(),
            1_704_067_200 * s
        );
        assert_eq!(
            parse_timestamp_nanos("2024-01-01", 0).unwrap(),
            1_704_067_200 * s
        );
        assert_eq!(
            parse_timestamp_nanos("2024-01-01T00:01", 0).unwrap(),
            1_704_067_260 * s
        );
        assert_eq!(
            parse_timestamp_nanos("yesterday", 0).unwrap_err(),
            "failed to parse value as time or duration: \"yesterday\""
        );
        assert_eq!(
            parse_timestamp("soon", 0).unwrap_err(),
            "failed to parse value as time or duration: \"soon\""
        );
    }
}
