//! Go's `path.Match`: shell patterns where `*` and `?` never match `/`.
//!
//! The pattern is matched chunk by chunk as Go does: a chunk is the literal run (with `?`,
//! classes and escapes) after a run of stars. Each chunk is anchored at the earliest position
//! that lets it match and is never revisited, so the cost is at most (pattern length × name
//! length) however many stars a pattern holds: a hostile `?filters={"reference":…}` cannot make
//! it backtrack exponentially.

/// A malformed pattern (`path.ErrBadPattern`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPattern;

/// Reports whether `name` matches the shell pattern: `*` (any run of non-`/`), `?` (one non-`/`),
/// `[class]` with ranges and `^` negation, `\` escapes. A malformed pattern is an error even
/// when the match fails before reaching the bad part, as in Go.
pub fn path_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let mut n: &[char] = &name;
    let mut rest: &[char] = &p;
    'chunks: while !rest.is_empty() {
        let (star, chunk, after) = scan_chunk(rest);
        rest = after;
        if star && chunk.is_empty() {
            // a trailing star takes the rest of the name unless it holds a `/`
            return Ok(!n.contains(&'/'));
        }
        // the chunk where the name is now; the last chunk must also end the name
        match match_chunk(chunk, n)? {
            Some(left) if left.is_empty() || !rest.is_empty() => {
                n = left;
                continue;
            }
            _ => {}
        }
        if star {
            // or after skipping some non-`/` characters: the earliest place that fits wins
            let mut i = 0;
            while i < n.len() && n[i] != '/' {
                i += 1;
                if let Some(left) = match_chunk(chunk, &n[i..])? {
                    if rest.is_empty() && !left.is_empty() {
                        continue;
                    }
                    n = left;
                    continue 'chunks;
                }
            }
        }
        // no match: still report a malformed remainder, as Go does
        validate(rest)?;
        return Ok(false);
    }
    Ok(n.is_empty())
}

/// Splits off the leading stars and the chunk after them (up to the next star outside a
/// class): (had stars, chunk, rest of the pattern).
fn scan_chunk(p: &[char]) -> (bool, &[char], &[char]) {
    let stars = p.iter().take_while(|&&c| c == '*').count();
    let p = &p[stars..];
    let mut in_class = false;
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            // a dangling escape is reported by `match_chunk`
            '\\' if i + 1 < p.len() => i += 1,
            '[' => in_class = true,
            ']' => in_class = false,
            '*' if !in_class => break,
            _ => {}
        }
        i += 1;
    }
    (stars > 0, &p[..i], &p[i..])
}

/// Matches `chunk` (no stars) at the start of `s`: what is left of `s` when it matches. The
/// whole chunk is read even after a mismatch, so that a malformed chunk is always an error.
fn match_chunk<'a>(chunk: &[char], mut s: &'a [char]) -> Result<Option<&'a [char]>, BadPattern> {
    let mut failed = false;
    let mut i = 0;
    while i < chunk.len() {
        if s.is_empty() {
            failed = true;
        }
        match chunk[i] {
            '[' => {
                let c = if failed { '\0' } else { s[0] };
                let (hit, next) = class(c, chunk, i)?;
                i = next;
                if !failed {
                    if !hit || c == '/' {
                        failed = true;
                    }
                    s = &s[1..];
                }
            }
            '?' => {
                if !failed {
                    if s[0] == '/' {
                        failed = true;
                    }
                    s = &s[1..];
                }
                i += 1;
            }
            c => {
                let c = if c == '\\' {
                    i += 1;
                    *chunk.get(i).ok_or(BadPattern)?
                } else {
                    c
                };
                if !failed {
                    if s[0] != c {
                        failed = true;
                    }
                    s = &s[1..];
                }
                i += 1;
            }
        }
    }
    Ok((!failed).then_some(s))
}

/// Checks the chunks of a pattern remainder for syntax alone.
fn validate(mut p: &[char]) -> Result<(), BadPattern> {
    while !p.is_empty() {
        let (_, chunk, rest) = scan_chunk(p);
        match_chunk(chunk, &[])?;
        p = rest;
    }
    Ok(())
}

/// Matches the character class starting at `p[i] == '['` against `c`; returns (matched, index after `]`).
fn class(c: char, p: &[char], mut i: usize) -> Result<(bool, usize), BadPattern> {
    i += 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        match p.get(i) {
            None => return Err(BadPattern),
            Some(']') if !first => return Ok((matched != negated, i + 1)),
            _ => {}
        }
        first = false;
        let (lo, next) = class_char(p, i)?;
        i = next;
        let hi = if p.get(i) == Some(&'-') {
            let (hi, next) = class_char(p, i + 1)?;
            i = next;
            hi
        } else {
            lo
        };
        if lo <= c && c <= hi {
            matched = true;
        }
    }
}

fn class_char(p: &[char], i: usize) -> Result<(char, usize), BadPattern> {
    match p.get(i) {
        None | Some('-') | Some(']') => Err(BadPattern),
        Some('\\') => p.get(i + 1).map(|&c| (c, i + 2)).ok_or(BadPattern),
        Some(&c) => Ok((c, i + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::path_match;

    /// Stars that each could split the name many ways: the old recursive matcher took
    /// exponential time here (found by the `image_ref` fuzz target); now it is immediate.
    #[test]
    fn many_stars_do_not_backtrack() {
        let name = "a".repeat(64);
        for pattern in [
            "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b".to_string(),
            format!("{}b", "*".repeat(40)),
            format!("{}b", "a*".repeat(40)),
            "*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*/".to_string(),
        ] {
            assert_eq!(path_match(&pattern, &name), Ok(false), "{pattern}");
        }
        assert_eq!(path_match(&"a*".repeat(40), &name), Ok(true));
        assert_eq!(path_match("*a*a*", "xaya/"), Ok(false));
        assert_eq!(path_match("*a*a", "xaya"), Ok(true));
        assert_eq!(path_match("*/*b", "x/aab"), Ok(true));
        assert_eq!(path_match("[a-c]*x*", "bzzxzz"), Ok(true));
        assert_eq!(path_match("*\\**", "ab*cd"), Ok(true));
        assert_eq!(path_match("*[*]", "ab*"), Ok(true));
    }
}
