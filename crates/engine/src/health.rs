//! Health checks: the image's `HEALTHCHECK` and `create`'s `--health-*` options merged and
//! checked as moby does, kept in the container's configuration (`Healthcheck`, as Docker
//! shows it), and turned at each start into the check the monitor runs
//! ([`runtime::health`]).

use crate::{EngineError, Result};
use oci_model::ExecConfig;
use runtime::health::HealthConfig;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The configuration's key for the check (Docker's image and container configs).
pub(crate) const KEY: &str = "Healthcheck";

/// A health check as the image config and the API carry it: the test, durations in
/// nanoseconds (0: the default, or the image's), the retries (0: the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Healthcheck {
    /// `[]` (the image's), `["NONE"]`, `["CMD", args…]`, `["CMD-SHELL", command]`.
    #[serde(rename = "Test", default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    /// Between checks.
    #[serde(rename = "Interval", default, skip_serializing_if = "is_zero")]
    pub interval: i64,
    /// How long a check may run.
    #[serde(rename = "Timeout", default, skip_serializing_if = "is_zero")]
    pub timeout: i64,
    /// Failures during this first stretch do not count while starting.
    #[serde(rename = "StartPeriod", default, skip_serializing_if = "is_zero")]
    pub start_period: i64,
    /// Between checks during the start period.
    #[serde(rename = "StartInterval", default, skip_serializing_if = "is_zero")]
    pub start_interval: i64,
    /// Failures in a row that make the container unhealthy.
    #[serde(rename = "Retries", default, skip_serializing_if = "is_zero")]
    pub retries: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// moby's defaults.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: u32 = 3;
/// The shortest duration a check takes (moby's `MinimumDuration`).
const MINIMUM: i64 = 1_000_000;

impl Healthcheck {
    /// moby's create-time checks, with its texts.
    pub(crate) fn check(&self) -> Result<()> {
        for (name, v) in [
            ("Interval", self.interval),
            ("Timeout", self.timeout),
            ("StartPeriod", self.start_period),
            ("StartInterval", self.start_interval),
        ] {
            if v != 0 && v < MINIMUM {
                return Err(EngineError::invalid(format!(
                    "{name} in Healthcheck cannot be less than 1ms"
                )));
            }
        }
        if self.retries < 0 {
            return Err(EngineError::invalid(
                "Retries in Healthcheck cannot be negative",
            ));
        }
        match self.test.first().map(String::as_str) {
            None | Some("NONE" | "CMD" | "CMD-SHELL") => Ok(()),
            Some(other) => Err(EngineError::invalid(format!(
                "unknown type {other:?} of Healthcheck.Test: use NONE, CMD or CMD-SHELL"
            ))),
        }
    }

    /// The user's check over the image's, field by field, as moby merges them: what the
    /// user leaves empty (the test, a zero duration or count) is the image's.
    pub(crate) fn over(mut self, image: Option<&Healthcheck>) -> Healthcheck {
        let Some(i) = image else { return self };
        if self.test.is_empty() {
            self.test = i.test.clone();
        }
        for (mine, theirs) in [
            (&mut self.interval, i.interval),
            (&mut self.timeout, i.timeout),
            (&mut self.start_period, i.start_period),
            (&mut self.start_interval, i.start_interval),
            (&mut self.retries, i.retries),
        ] {
            if *mine == 0 {
                *mine = theirs;
            }
        }
        self
    }
}

/// The check in a container's (or image's) configuration, if any.
pub(crate) fn of(config: &ExecConfig) -> Option<Healthcheck> {
    serde_json::from_value(config.extra.get(KEY)?.clone()).ok()
}

/// Sets the check of a container's configuration.
pub(crate) fn set(config: &mut ExecConfig, h: &Healthcheck) {
    if let Ok(v) = serde_json::to_value(h) {
        config.extra.insert(KEY.to_string(), v);
    }
}

/// The check the monitor runs for `config`, if it has one that is not `NONE`: the argv (a
/// `CMD-SHELL` through the configuration's `Shell`, else `/bin/sh -c`) and the durations
/// with moby's defaults.
pub(crate) fn to_run(config: &ExecConfig) -> Option<HealthConfig> {
    let h = of(config)?;
    let (kind, rest) = h.test.split_first()?;
    let argv = match kind.as_str() {
        "CMD" if !rest.is_empty() => rest.to_vec(),
        "CMD-SHELL" if !rest.is_empty() => {
            let mut shell: Vec<String> = config
                .extra
                .get("Shell")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .filter(|s: &Vec<String>| !s.is_empty())
                .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
            shell.push(rest.join(" "));
            shell
        }
        _ => return None,
    };
    let dur = |ns: i64, default: Duration| {
        if ns > 0 {
            Duration::from_nanos(ns as u64)
        } else {
            default
        }
    };
    Some(HealthConfig {
        argv,
        interval: dur(h.interval, DEFAULT_INTERVAL),
        timeout: dur(h.timeout, DEFAULT_TIMEOUT),
        start_period: dur(h.start_period, Duration::ZERO),
        start_interval: dur(h.start_interval, DEFAULT_START_INTERVAL),
        retries: u32::try_from(h.retries)
            .ok()
            .filter(|r| *r > 0)
            .unwrap_or(DEFAULT_RETRIES),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc(test: &[&str]) -> Healthcheck {
        Healthcheck {
            test: test.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn checked_and_merged_as_moby_does() {
        assert!(hc(&["CMD", "true"]).check().is_ok());
        let short = Healthcheck {
            interval: 999_999,
            ..hc(&["CMD", "true"])
        };
        assert_eq!(
            short.check().unwrap_err().to_string(),
            "Interval in Healthcheck cannot be less than 1ms"
        );
        let negative = Healthcheck {
            retries: -1,
            ..hc(&[])
        };
        assert!(negative
            .check()
            .unwrap_err()
            .to_string()
            .contains("cannot be negative"));
        assert!(hc(&["SHELL", "x"]).check().is_err());

        let image = Healthcheck {
            interval: 5_000_000_000,
            retries: 7,
            ..hc(&["CMD-SHELL", "curl -f localhost"])
        };
        let merged = Healthcheck {
            interval: 2_000_000_000,
            ..hc(&[])
        }
        .over(Some(&image));
        assert_eq!(merged.test, image.test);
        assert_eq!((merged.interval, merged.retries), (2_000_000_000, 7));
        assert_eq!(hc(&["NONE"]).over(Some(&image)).test, ["NONE"]);
    }

    #[test]
    fn what_the_monitor_runs() {
        let mut c = ExecConfig::default();
        assert_eq!(to_run(&c), None);
        set(&mut c, &hc(&["CMD-SHELL", "test -f /ok"]));
        let r = to_run(&c).unwrap();
        assert_eq!(r.argv, ["/bin/sh", "-c", "test -f /ok"]);
        assert_eq!(
            (r.interval, r.timeout, r.retries),
            (DEFAULT_INTERVAL, DEFAULT_TIMEOUT, 3)
        );
        c.extra
            .insert("Shell".into(), serde_json::json!(["/bin/ash", "-eo"]));
        assert_eq!(to_run(&c).unwrap().argv, ["/bin/ash", "-eo", "test -f /ok"]);
        set(
            &mut c,
            &Healthcheck {
                interval: 100_000_000,
                retries: 1,
                ..hc(&["CMD", "cat", "/ok"])
            },
        );
        let r = to_run(&c).unwrap();
        assert_eq!(r.argv, ["cat", "/ok"]);
        assert_eq!((r.interval, r.retries), (Duration::from_millis(100), 1));
        set(&mut c, &hc(&["NONE"]));
        assert_eq!(to_run(&c), None);
    }
}
