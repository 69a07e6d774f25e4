//! Go's `path.Match`: shell patterns where `*` and `?` never match `/`.

/// A malformed pattern (`path.ErrBadPattern`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPattern;

/// Reports whether `name` matches the shell pattern: `*` (any run of non-`/`), `?` (one non-`/`),
/// `[class]` with ranges and `^` negation, `\` escapes.
pub fn path_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // A malformed pattern is an error whether or not the match would get that far, as Go's
    // checks the rest of the pattern when a match fails early.
    validate(&p)?;
    Ok(matches(&p, &n))
}

fn validate(p: &[char]) -> Result<(), BadPattern> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(BadPattern);
                }
                i += 2;
            }
            '[' => {
                let (_, next) = class('a', p, i)?;
                i = next;
            }
            _ => i += 1,
        }
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

/// Go's algorithm: the pattern is a sequence of chunks, each preceded by a run of `*` or
/// not. A chunk after a star is matched at the first place it fits and never retried there,
/// so a match costs at most pattern × name steps whatever the stars (trying every split of the
/// name for every star is exponential: `a*a*a*…b`). No match is lost: a star cannot cross
/// `/`, so the leftmost fit leaves the most of the name for what follows.
fn matches(mut p: &[char], mut n: &[char]) -> bool {
    'pattern: while !p.is_empty() {
        let (star, chunk, rest) = scan_chunk(p);
        p = rest;
        if star && chunk.is_empty() {
            // A trailing star matches the rest of the name unless it has a `/`.
            return !n.contains(&'/');
        }
        // The last chunk must use up the name.
        let fits = |t: &[char]| t.is_empty() || !p.is_empty();
        if let Some(t) = match_chunk(chunk, n).filter(|t| fits(t)) {
            n = t;
            continue;
        }
        if star {
            let mut i = 0;
            while i < n.len() && n[i] != '/' {
                if let Some(t) = match_chunk(chunk, &n[i + 1..]).filter(|t| fits(t)) {
                    n = t;
                    continue 'pattern;
                }
                i += 1;
            }
        }
        return false;
    }
    n.is_empty()
}

/// Splits off the leading stars and the chunk up to the next star outside a class.
fn scan_chunk(p: &[char]) -> (bool, &[char], &[char]) {
    let stars = p.iter().take_while(|&&c| c == '*').count();
    let p = &p[stars..];
    let mut in_class = false;
    let mut i = 0;
    while i < p.len() {
        match p[i] {
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

/// Matches a star-free chunk (already validated) at the start of `n`: what is left of `n`.
fn match_chunk<'n>(chunk: &[char], mut n: &'n [char]) -> Option<&'n [char]> {
    let mut i = 0;
    while i < chunk.len() {
        let (&c, rest) = n.split_first()?;
        match chunk[i] {
            '?' if c != '/' => i += 1,
            '?' => return None,
            '[' => {
                let (hit, next) = class(c, chunk, i).ok()?;
                if !hit || c == '/' {
                    return None;
                }
                i = next;
            }
            '\\' => {
                if chunk.get(i + 1) != Some(&c) {
                    return None;
                }
                i += 2;
            }
            lit if lit == c => i += 1,
            _ => return None,
        }
        n = rest;
    }
    Some(n)
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
