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
    /// The cleaned pattern, split at `/`.
    parts: Vec<String>,
    exclusion: bool,
}

impl Patterns {
    /// Read a `.dockerignore` text. Lines that are empty after trimming, comments and a bare `!`
    /// are skipped.
    pub fn parse(text: &str) -> Patterns {
        let mut pats = Vec::new();
        for line in text.lines() {
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
                    continue;
                }
            }
            let cleaned = clean(p);
            let cleaned = cleaned.trim_start_matches('/');
            let cleaned = if cleaned.is_empty() { "." } else { cleaned };
            pats.push(Pattern {
                parts: cleaned.split('/').map(str::to_string).collect(),
                exclusion,
            });
        }
        Patterns { pats }
    }

    /// Whether `path` (relative to the context, `/`-separated) is excluded from the context.
    pub fn matches(&self, path: &str) -> bool {
        let cleaned = clean(path);
        let cleaned = cleaned.trim_start_matches('/');
        let parts: Vec<&str> = cleaned.split('/').collect();
        let mut matched = false;
        for p in &self.pats {
            if p.exclusion != matched {
                continue;
            }
            let hit = (1..=parts.len()).any(|n| match_parts(&p.parts, &parts[..n]));
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

/// Match pattern segments against path segments; `**` matches zero or more segments.
fn match_parts(pat: &[String], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((p, rest)) if p == "**" => (0..=path.len()).any(|n| match_parts(rest, &path[n..])),
        Some((p, rest)) => match path.split_first() {
            Some((s, prest)) => glob(p, s) && match_parts(rest, prest),
            None => false,
        },
    }
}

/// One path segment against one pattern segment: `*`, `?`, `[…]` (with `^`/`!` negation and
/// ranges), `\` escapes. A `**` inside a segment (`a**b`) acts as `*`.
fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    while pi < p.len() && p[pi] == '*' {
                        pi += 1;
                    }
                    star = Some((pi, si));
                    continue;
                }
                '?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, next)) = class(&p, pi, s[si]) {
                        if ok {
                            pi = next;
                            si += 1;
                            continue;
                        }
                    } else if s[si] == '[' {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() => {
                    if p[pi + 1] == s[si] {
                        pi += 2;
                        si += 1;
                        continue;
                    }
                }
                c => {
                    if c == s[si] {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A `[…]` class at `p[at]` against `c`: (matches, index after the class); `None` when the class
/// is not closed.
fn class(p: &[char], at: usize, c: char) -> Option<(bool, usize)> {
    let mut i = at + 1;
    let negate = matches!(p.get(i), Some('^' | '!'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let mut lo = *p.get(i)?;
        if lo == ']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if lo == '\\' {
            i += 1;
            lo = *p.get(i)?;
        }
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|n| *n != ']') {
            hi = p[i + 1];
            i += 2;
            if hi == '\\' {
                hi = *p.get(i)?;
                i += 1;
            }
        }
        if lo <= c && c <= hi {
            hit = true;
        }
    }
}
