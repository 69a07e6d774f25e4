//! Signals as Docker reads them: one parser for `kill -s`, `stop` and the `--stop-signal` (or
//! `StopSignal`) a `create` checks, after moby's `ParseSignal` and its Linux table.
//!
//! A number is taken as it is (any but 0: `create` keeps a `--stop-signal 99`, as dockerd
//! does); a name is one of the table's, in any case, `SIG` optional. Realtime signals are named
//! from both ends as in moby's table, `RTMIN`, `RTMIN+1` … `RTMIN+15` and `RTMAX-14` … `RTMAX`,
//! numbered 34 to 64 (the C library keeps 32 and 33 for itself). `kill` sends only a signal the
//! table holds, so a number beyond it (32, 33, 65 …) is refused there.

use crate::{EngineError, Result};

/// The first and last realtime signals as moby numbers them on Linux.
const RTMIN: i64 = 34;
const RTMAX: i64 = 64;

/// The named signals of moby's Linux table but the realtime ones.
const NAMED: [(&str, libc::c_int); 34] = [
    ("ABRT", libc::SIGABRT),
    ("ALRM", libc::SIGALRM),
    ("BUS", libc::SIGBUS),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("FPE", libc::SIGFPE),
    ("HUP", libc::SIGHUP),
    ("ILL", libc::SIGILL),
    ("INT", libc::SIGINT),
    ("IO", libc::SIGIO),
    ("IOT", libc::SIGIOT),
    ("KILL", libc::SIGKILL),
    ("PIPE", libc::SIGPIPE),
    ("POLL", libc::SIGPOLL),
    ("PROF", libc::SIGPROF),
    ("PWR", libc::SIGPWR),
    ("QUIT", libc::SIGQUIT),
    ("SEGV", libc::SIGSEGV),
    ("STKFLT", libc::SIGSTKFLT),
    ("STOP", libc::SIGSTOP),
    ("SYS", libc::SIGSYS),
    ("TERM", libc::SIGTERM),
    ("TRAP", libc::SIGTRAP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("VTALRM", libc::SIGVTALRM),
    ("WINCH", libc::SIGWINCH),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
];

/// `SIGKILL`'s number, what an empty `kill` signal means.
pub(crate) const KILL: i64 = libc::SIGKILL as i64;

/// `SIGTERM`'s number, the stop signal when none is set.
pub(crate) const TERM: i64 = libc::SIGTERM as i64;

/// A signal's number from its text (`TERM`, `sigterm`, `SIGRTMIN+3`, `15`), as moby's
/// `ParseSignal`: a decimal number (a sign allowed) other than 0, else a name of the table.
/// Nothing is trimmed; the error names the text as written (`Invalid signal: SIGFOO`).
pub(crate) fn parse(raw: &str) -> Result<i64> {
    let invalid = || EngineError::invalid(format!("Invalid signal: {raw}"));
    if let Some(n) = decimal(raw) {
        return if n == 0 { Err(invalid()) } else { Ok(n) };
    }
    let upper = raw.to_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    by_name(name).ok_or_else(invalid)
}

/// The signal `kill` sends: an empty text is `SIGKILL` (the API's and the CLI's default);
/// otherwise [`parse`], and only a signal the table holds.
pub(crate) fn for_kill(raw: &str) -> Result<i64> {
    if raw.is_empty() {
        return Ok(KILL);
    }
    let n = parse(raw)?;
    if !is_known(n) {
        return Err(EngineError::invalid(format!(
            "The linux daemon does not support signal {n}"
        )));
    }
    Ok(n)
}

/// Whether the table holds signal `n` (moby's `ValidSignalForPlatform`).
pub(crate) fn is_known(n: i64) -> bool {
    (RTMIN..=RTMAX).contains(&n) || NAMED.iter().any(|(_, v)| i64::from(*v) == n)
}

/// Go's `strconv.Atoi`: an optional sign, then ASCII digits only (no blanks, no `_`).
fn decimal(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A name of the table, without `SIG`, upper case.
fn by_name(name: &str) -> Option<i64> {
    if let Some((_, n)) = NAMED.iter().find(|(k, _)| *k == name) {
        return Some(i64::from(*n));
    }
    // RTMIN, RTMIN+1 … RTMIN+15; RTMAX-14 … RTMAX-1, RTMAX: the offset written as moby's
    // table spells it (no sign on a zero offset, no leading zeros).
    let offset = |rest: &str, sign: char| -> Option<i64> {
        if rest.is_empty() {
            return Some(0);
        }
        let digits = rest.strip_prefix(sign)?;
        if digits.starts_with('0')
            || digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        digits
            .parse()
            .ok()
            .filter(|k| (1..=15).contains(k) && (sign == '+' || *k <= 14))
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return offset(rest, '+').map(|k| RTMIN + k);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        return offset(rest, '-').map(|k| RTMAX - k);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_realtime_signals_as_moby_reads_them() {
        for (raw, n) in [
            ("KILL", 9),
            ("SIGKILL", 9),
            ("sigterm", 15),
            ("hup", 1),
            ("CLD", 17),
            ("IOT", 6),
            ("POLL", 29),
            ("9", 9),
            ("+9", 9),
            ("99", 99),
            ("-3", -3),
            ("RTMIN", 34),
            ("RTMIN+3", 37),
            ("sigrtmin+1", 35),
            ("SIGRTMIN+15", 49),
            ("RTMAX-14", 50),
            ("rtmax-1", 63),
            ("SIGRTMAX", 64),
        ] {
            assert_eq!(parse(raw).unwrap(), n, "{raw}");
        }
        for raw in [
            "",
            "0",
            "+0",
            "-0",
            "FOO",
            "SIGFOO",
            " TERM",
            "TERM ",
            "SIG TERM",
            "RTMIN+16",
            "RTMIN+0",
            "RTMIN+03",
            "RTMAX-15",
            "RTMAX-0",
            "RTMIN 3",
            "RTMAX+1",
            "SIGSIGTERM",
            "9x",
            "1_0",
        ] {
            assert_eq!(
                parse(raw).unwrap_err().to_string(),
                format!("Invalid signal: {raw}"),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn kill_takes_empty_as_sigkill_and_only_signals_of_the_table() {
        assert_eq!(for_kill("").unwrap(), KILL);
        assert_eq!(for_kill("RTMIN+3").unwrap(), 37);
        assert_eq!(for_kill("31").unwrap(), 31);
        assert_eq!(for_kill("34").unwrap(), 34);
        assert_eq!(for_kill("64").unwrap(), 64);
        assert_eq!(for_kill("0").unwrap_err().to_string(), "Invalid signal: 0");
        for n in ["32", "33", "65", "99", "-3"] {
            let e = for_kill(n).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
            assert_eq!(
                e.to_string(),
                format!("The linux daemon does not support signal {n}")
            );
        }
    }
}
