//! `.dockerignore` patterns with moby/patternmatcher's rules.
//!
//! A pattern per line; `#` starts a comment line; surrounding whitespace is trimmed; a leading
//! `!` makes an exception (a path matching it is included again); patterns are cleaned like Go's
//! `filepath.Clean` (`./a`, `a//b`, `a/../b`) and a leading `/` is dropped; `*` and `?` do not
//! cross `/`, `**` matches any number of directories, `[…]` is a class. The last matching pattern
//! wins, and a pattern also matches every path below a matched directory.

/// The patterns of a `.dockerignore` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patterns {
    pats: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// The cleaned pattern, compiled.
    toks: Vec<Tok>,
    exclusion: bool,
}

/// A `.dockerignore` line Docker refuses, with Docker's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PatternError {
    /// The 1-based line of the pattern.
    pub line: usize,
    /// `illegal exclusion pattern: "!"` or `syntax error in pattern`.
    pub message: String,
}

impl Patterns {
    /// Read a `.dockerignore` text leniently: lines that are empty after trimming, comments (`#`
    /// in the first column) and a bare `!` are skipped, and a malformed pattern (`[a`, a trailing
    /// `\`) never matches. [`Patterns::try_parse`] refuses them instead, as Docker does.
    pub fn parse(text: &str) -> Patterns {
        Self::read(text).0
    }

    /// Read a `.dockerignore` text and fail on the first line Docker refuses (a bare `!`, a
    /// malformed class or a trailing `\`).
    pub fn try_parse(text: &str) -> Result<Patterns, PatternError> {
        match Self::read(text) {
            (p, None) => Ok(p),
            (_, Some(e)) => Err(e),
        }
    }

    fn read(text: &str) -> (Patterns, Option<PatternError>) {
        let mut pats = Vec::new();
        let mut error = None;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (n, line) in text.lines().enumerate() {
            let mut fail = |message: &str| {
                error.get_or_insert(PatternError {
                    line: n + 1,
                    message: message.to_string(),
                });
            };
            if line.starts_with('#') {
                continue;
            }
            let mut p = line.trim();
            if p.is_empty() {
                continue;
            }
            let exclusion = p.starts_with('!');
            if exclusion {
                p = p[1..].trim();
                if p.is_empty() {
                    fail("illegal exclusion pattern: \"!\"");
                    continue;
                }
            }
            let cleaned = clean(p);
            let cleaned = cleaned.trim_start_matches('/');
            let cleaned = if cleaned.is_empty() { "." } else { cleaned };
            let toks = compile(cleaned).unwrap_or_else(|()| {
                fail("syntax error in pattern");
                vec![Tok::Bad]
            });
            pats.push(Pattern { toks, exclusion });
        }
        (Patterns { pats }, error)
    }

    /// Whether `path` (relative to the context, `/`-separated) is excluded from the context.
    pub fn matches(&self, path: &str) -> bool {
        let cleaned = clean(path);
        let cleaned = cleaned.trim_start_matches('/');
        let chars: Vec<char> = cleaned.chars().collect();
        // The path itself and each of its parent directories.
        let mut ends: Vec<usize> = (0..chars.len()).filter(|&i| chars[i] == '/').collect();
        ends.push(chars.len());
        let mut matched = false;
        for p in &self.pats {
            if p.exclusion != matched {
                continue;
            }
            let hit = ends.iter().any(|&e| matches_toks(&p.toks, &chars[..e]));
            if hit {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// Whether any pattern is an exception (`!…`). When there is one, an excluded directory may
    /// still hold re-included paths, so a walker must descend into it (Docker does) and ask
    /// [`Patterns::matches`] for each path below it.
    pub fn has_exceptions(&self) -> bool {
        self.pats.iter().any(|p| p.exclusion)
    }

    /// Whether there is no pattern at all.
    pub fn is_empty(&self) -> bool {
        self.pats.is_empty()
    }
}

/// Go's `filepath.Clean` for `/`-separated paths.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            p => out.push(p),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

/// One element of a compiled pattern (moby/patternmatcher turns a pattern into a regular
/// expression; these are its pieces).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `*`: any run of characters but `/`.
    Star,
    /// `?`: one character but `/`.
    Quest,
    /// `**` (or `**/`) before more pattern: nothing, or anything ending in `/`.
    AnyDirs,
    /// `**` at the end: anything.
    Rest,
    /// `[…]`: ranges, negated with a leading `^`.
    Class(bool, Vec<(char, char)>),
    /// A malformed pattern: it never matches (Docker refuses it).
    Bad,
}

/// Compile a cleaned pattern; `Err` for what Go's `filepath.Match` calls a bad pattern (Docker
/// checks every pattern with it): a trailing `\`, an unclosed class, a class starting with `-`
/// or `]`, a range ending in `-` or `]`, and (refused by Docker's regular expression) a reversed
/// range.
fn compile(p: &str) -> Result<Vec<Tok>, ()> {
    let cs: Vec<char> = p.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        i += 1;
        match c {
            '*' if cs.get(i) == Some(&'*') => {
                i += 1;
                if cs.get(i) == Some(&'/') {
                    i += 1;
                }
                toks.push(if i == cs.len() {
                    Tok::Rest
                } else {
                    Tok::AnyDirs
                });
            }
            '*' => toks.push(Tok::Star),
            '?' => toks.push(Tok::Quest),
            '\\' => {
                toks.push(Tok::Lit(*cs.get(i).ok_or(())?));
                i += 1;
            }
            '[' => {
                let negate = cs.get(i) == Some(&'^');
                if negate {
                    i += 1;
                }
                let mut ranges = Vec::new();
                loop {
                    if cs.get(i) == Some(&']') && !ranges.is_empty() {
                        i += 1;
                        break;
                    }
                    let lo = class_char(&cs, &mut i)?;
                    let mut hi = lo;
                    if cs.get(i) == Some(&'-') {
                        i += 1;
                        hi = class_char(&cs, &mut i)?;
                    }
                    if hi < lo {
                        return Err(());
                    }
                    ranges.push((lo, hi));
                }
                toks.push(Tok::Class(negate, ranges));
            }
            c => toks.push(Tok::Lit(c)),
        }
    }
    Ok(toks)
}

/// One character of a class (Go's `getEsc`): not `-` or `]`, `\` escapes, and the class must
/// go on after it.
fn class_char(cs: &[char], i: &mut usize) -> Result<char, ()> {
    let mut c = *cs.get(*i).ok_or(())?;
    if c == '-' || c == ']' {
        return Err(());
    }
    if c == '\\' {
        *i += 1;
        c = *cs.get(*i).ok_or(())?;
    }
    *i += 1;
    if *i >= cs.len() {
        return Err(());
    }
    Ok(c)
}

/// Whether compiled `toks` match all of `s`: a set of pattern positions moved over `s` one
/// character at a time (linear in pattern × path, no backtracking). `in_dirs[k]` means inside
/// the `.*` of the `**` at `k`, waiting for a `/`.
fn matches_toks(toks: &[Tok], s: &[char]) -> bool {
    let n = toks.len();
    // Follow the moves that consume nothing; true when a trailing `**` is reached.
    let close = |set: &mut Vec<bool>| -> bool {
        for k in 0..n {
            if set[k] {
                match toks[k] {
                    Tok::Star | Tok::AnyDirs => set[k + 1] = true,
                    Tok::Rest => return true,
                    _ => {}
                }
            }
        }
        false
    };
    let mut cur = vec![false; n + 1];
    let mut in_dirs = vec![false; n];
    cur[0] = true;
    if close(&mut cur) {
        return true;
    }
    for &c in s {
        let mut next = vec![false; n + 1];
        let mut next_dirs = vec![false; n];
        for k in 0..n {
            if in_dirs[k] || (cur[k] && toks[k] == Tok::AnyDirs) {
                next_dirs[k] = true;
                if c == '/' {
                    next[k + 1] = true;
                }
            }
            if !cur[k] {
                continue;
            }
            match &toks[k] {
                Tok::Lit(l) if *l == c => next[k + 1] = true,
                Tok::Quest if c != '/' => next[k + 1] = true,
                Tok::Star if c != '/' => next[k] = true,
                Tok::Class(neg, ranges)
                    if ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *neg =>
                {
                    next[k + 1] = true
                }
                _ => {}
            }
        }
        if close(&mut next) {
            return true;
        }
        if !next.iter().any(|b| *b) && !next_dirs.iter().any(|b| *b) {
            return false;
        }
        cur = next;
        in_dirs = next_dirs;
    }
    cur[n]
}
