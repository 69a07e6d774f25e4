//! Go's `path.Match`: shell patterns where `*` and `?` never match `/`.

/// A malformed pattern (`path.ErrBadPattern`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPattern;

/// Reports whether `name` matches the shell pattern: `*` (any run of non-`/`), `?` (one non-`/`),
/// `[class]` with ranges and `^` negation, `\` escapes.
pub fn path_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Validate the whole pattern first, as Go does when the match fails early.
    let ok = matches(&p, &n)?;
    validate(&p)?;
    Ok(ok)
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

fn matches(p: &[char], n: &[char]) -> Result<bool, BadPattern> {
    match p.first() {
        None => Ok(n.is_empty()),
        Some('*') => {
            let rest = &p[1..];
            for k in 0..=n.len() {
                if matches(rest, &n[k..])? {
                    return Ok(true);
                }
                if k < n.len() && n[k] == '/' {
                    break;
                }
            }
            Ok(false)
        }
        Some(_) if n.is_empty() => Ok(false),
        Some('?') => Ok(n[0] != '/' && matches(&p[1..], &n[1..])?),
        Some('[') => {
            let (hit, next) = class(n[0], p, 0)?;
            Ok(hit && n[0] != '/' && matches(&p[next..], &n[1..])?)
        }
        Some('\\') => match p.get(1) {
            None => Err(BadPattern),
            Some(&c) => Ok(c == n[0] && matches(&p[2..], &n[1..])?),
        },
        Some(&c) => Ok(c == n[0] && matches(&p[1..], &n[1..])?),
    }
}
