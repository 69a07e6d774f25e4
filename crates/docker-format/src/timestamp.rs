//! Times as docker's filters take them (`until=24h`, `until=1700000000`, `until=2024-01-01T00:00:00Z`).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A Go duration (`24h`, `1h30m`, `90s`, `1.5s`) in whole seconds; `None` if it is not one.
pub fn go_duration(s: &str) -> Option<i64> {
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
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * unit;
        rest = &rest[u..];
    }
    Some(total as i64)
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
        assert_eq!(
            parse_timestamp("soon", 0).unwrap_err(),
            "failed to parse value as time or duration: \"soon\""
        );
    }
}
