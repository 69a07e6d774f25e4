//! Docker's shell-word lexer (buildkit `shell/lex.go`'s behaviour): `$VAR`, `${VAR}`, the
//! `${VAR:-word}` family, `#`/`%` trimming and `/` replacement, quotes and the escape character.

use std::fmt;

/// A substitution that cannot be done: a syntax error in the word (`${` unterminated, a bad
/// modifier, an unmatched quote) or a `${VAR:?message}` whose variable is unset or empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ExpandError {
    /// The word being expanded, as given.
    pub word: String,
    /// Docker's reason (`syntax error: missing '}'`, `VAR: is not allowed to be unset`).
    pub reason: String,
    /// Where in the word (0-based, in characters) the problem was noticed.
    pub offset: usize,
}

impl fmt::Display for ExpandError {
    /// Docker's text: `failed to process "${": syntax error: missing '}'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to process {:?}: {}", self.word, self.reason)
    }
}

/// Substitute the variables in one word and remove its quotes and escapes, as Docker does for
/// `COPY`, `ENV`, `WORKDIR`, … (`lookup` gives a variable's value, `None` when unset; `escape`
/// is [`crate::Dockerfile::escape`]). Unquoted spaces are kept: the result is one word.
pub fn expand(
    word: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    escape: char,
) -> Result<String, ExpandError> {
    Lexer::new(word, lookup, escape)
        .run()
        .map(|(w, _)| w)
        .map_err(|e| e.into_error(word))
}

/// Substitute and split into words at unquoted whitespace, including whitespace that comes from
/// a variable's value, as Docker does for `EXPOSE` (`EXPOSE $PORTS` with `PORTS="80 443"` gives
/// two ports). An empty result (`""` or an empty variable) gives no word.
pub fn expand_words(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    escape: char,
) -> Result<Vec<String>, ExpandError> {
    Lexer::new(text, lookup, escape)
        .run()
        .map(|(_, ws)| ws)
        .map_err(|e| e.into_error(text))
}

/// Substitute the variables in a `COPY`/`ADD` heredoc body whose delimiter was not quoted
/// ([`crate::Heredoc::expand`]), as Docker does: `$VAR` and `${VAR…}` are replaced and `\`
/// escapes the next character, but quotes are ordinary characters.
pub fn expand_heredoc(
    content: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut lx = Lexer::new(content, lookup, '\\');
    lx.skip_quotes = true;
    lx.run().map(|(w, _)| w).map_err(|e| e.into_error(content))
}

/// Only check the syntax of a word (no variable is set, `${VAR:?}` never fails): the error's
/// offset and reason.
pub(crate) fn check_syntax(word: &str, escape: char) -> Result<(), ExpandError> {
    let none = |_: &str| None;
    let mut lx = Lexer::new(word, &none, escape);
    lx.check_only = true;
    lx.run().map(|_| ()).map_err(|e| e.into_error(word))
}

/// Split a line into words the way buildkit finds heredoc markers: quotes kept, escapes with `\`
/// processed, `$` references left as written; `None` when the line does not lex.
pub(crate) fn raw_words(line: &str) -> Option<Vec<String>> {
    let none = |_: &str| None;
    let mut lx = Lexer::new(line, &none, '\\');
    lx.raw_quotes = true;
    lx.raw_escapes = true;
    lx.skip_unset = true;
    lx.run().ok().map(|(_, ws)| ws)
}

/// A heredoc delimiter word (`EOF`, `"EOF"`, `E'O'F`): its name without quotes and whether it
/// had none (its body is then expanded). `None` when it is not a single word.
pub(crate) fn heredoc_name(rest: &str) -> Option<(String, bool)> {
    let none = |_: &str| None;
    let mut lx = Lexer::new(rest, &none, '\\');
    lx.skip_unset = true;
    let (_, words) = lx.run().ok()?;
    let mut lx = Lexer::new(rest, &none, '\\');
    lx.skip_unset = true;
    lx.raw_quotes = true;
    let (_, raw) = lx.run().ok()?;
    if words.len() != 1 || raw.len() != 1 {
        return None;
    }
    let quotes = |s: &str| s.chars().filter(|c| *c == '\'' || *c == '"').count();
    let expand = quotes(&words[0]) == quotes(&raw[0]);
    Some((words[0].clone(), expand))
}

struct Fail {
    reason: String,
    offset: usize,
}

impl Fail {
    fn into_error(self, word: &str) -> ExpandError {
        ExpandError {
            word: word.to_string(),
            reason: self.reason,
            offset: self.offset,
        }
    }
}

/// The words being collected while a word is processed (buildkit's `wordsStruct`).
#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }
    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        for ch in s.chars() {
            self.add_char(ch);
        }
    }
    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(std::mem::take(&mut self.word));
        }
        self.words
    }
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    /// Keep quote characters in the output (heredoc detection).
    raw_quotes: bool,
    /// Keep escape characters in the output (heredoc detection).
    raw_escapes: bool,
    /// Leave unset variables as written (heredoc detection).
    skip_unset: bool,
    /// Syntax check only: `${VAR:?}` does not fail.
    check_only: bool,
    /// Quotes are ordinary characters (heredoc bodies).
    skip_quotes: bool,
}

type Step<T> = Result<T, Fail>;

impl<'a> Lexer<'a> {
    fn new(text: &str, lookup: &'a dyn Fn(&str) -> Option<String>, escape: char) -> Self {
        Lexer {
            chars: text.chars().collect(),
            pos: 0,
            escape,
            lookup,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset: false,
            check_only: false,
            skip_quotes: false,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn fail<T>(&self, reason: impl Into<String>) -> Step<T> {
        Err(Fail {
            reason: reason.into(),
            offset: self.pos,
        })
    }

    fn run(&mut self) -> Step<(String, Vec<String>)> {
        self.stop_on(None, self.raw_escapes)
    }

    fn get(&self, name: &str) -> Option<String> {
        if self.check_only {
            return None;
        }
        (self.lookup)(name)
    }

    /// Process until `stop` (consumed) or the end; `raw_escapes` keeps the escape characters
    /// (patterns of `#`, `%`, `/`).
    fn stop_on(&mut self, stop: Option<char>, raw_escapes: bool) -> Step<(String, Vec<String>)> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let r = self.stop_on_inner(stop);
        self.raw_escapes = saved;
        r
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> Step<(String, Vec<String>)> {
        let raw_escapes = self.raw_escapes;
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.pos += 1;
                return Ok((result, words.finish()));
            }
            match ch {
                '$' => {
                    let s = self.dollar()?;
                    result.push_str(&s);
                    words.add_string(&s);
                }
                '\'' if !self.skip_quotes => {
                    let s = self.single_quote()?;
                    result.push_str(&s);
                    words.add_raw_string(&s);
                }
                '"' if !self.skip_quotes => {
                    let s = self.double_quote()?;
                    result.push_str(&s);
                    words.add_raw_string(&s);
                }
                '<' => {
                    // `<<` and the blanks after it stay one word (`<< EOF` is a heredoc marker).
                    self.pos += 1;
                    let mut s = String::from("<");
                    if self.peek() == Some('<') {
                        self.pos += 1;
                        s.push('<');
                        while let Some(c) = self.peek().filter(|c| matches!(c, ' ' | '\t' | '\r')) {
                            self.pos += 1;
                            s.push(c);
                        }
                    }
                    result.push_str(&s);
                    words.add_raw_string(&s);
                }
                _ => {
                    self.pos += 1;
                    if ch == self.escape {
                        if raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        match self.next() {
                            None => break,
                            Some(c) => {
                                words.add_raw_char(c);
                                result.push(c);
                            }
                        }
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }
        if let Some(stop) = stop {
            return self.fail(format!(
                "unexpected end of statement while looking for matching {stop}"
            ));
        }
        Ok((result, words.finish()))
    }

    fn single_quote(&mut self) -> Step<String> {
        // Everything up to the next ' is literal; a ' cannot be escaped inside.
        let mut out = String::new();
        let open = self.next();
        if self.raw_quotes {
            out.extend(open);
        }
        loop {
            match self.next() {
                None => {
                    return self.fail(
                        "unexpected end of statement while looking for matching single-quote",
                    )
                }
                Some('\'') => {
                    if self.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Step<String> {
        // Literal except `$` references; the escape character escapes `"`, `$` and itself.
        let mut out = String::new();
        let open = self.next();
        if self.raw_quotes {
            out.extend(open);
        }
        loop {
            match self.peek() {
                None => {
                    return self.fail(
                        "unexpected end of statement while looking for matching double-quote",
                    )
                }
                Some('"') => {
                    self.pos += 1;
                    if self.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let v = self.dollar()?;
                    out.push_str(&v);
                }
                Some(c) => {
                    self.pos += 1;
                    if c == self.escape {
                        if self.raw_escapes {
                            out.push(c);
                        }
                        match self.peek() {
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.escape => {
                                self.pos += 1;
                                out.push(n);
                                continue;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(c);
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_numeric() {
                while let Some(d) = self.peek().filter(|c| c.is_numeric()) {
                    self.pos += 1;
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.pos += 1;
                return ch.to_string();
            }
            if !ch.is_alphabetic() && !ch.is_numeric() && ch != '_' {
                break;
            }
            self.pos += 1;
            name.push(ch);
        }
        name
    }

    fn dollar(&mut self) -> Step<String> {
        self.pos += 1; // the $
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.get(&name) {
                Some(v) => v,
                None if self.skip_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.pos += 1; // the {
        match self.peek() {
            None => return self.fail("syntax error: missing '}'"),
            Some('{' | '}' | ':') => return self.fail("syntax error: bad substitution"),
            _ => {}
        }
        let name = self.name();
        let Some(ch) = self.next() else {
            return self.fail("syntax error: missing '}'");
        };
        match ch {
            '}' => Ok(match self.get(&name) {
                Some(v) => v,
                None if self.skip_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            ':' | '+' | '-' | '?' | '#' | '%' => {
                let mut modifier = ch.to_string();
                let null_is_unset = ch == ':';
                let op = if null_is_unset {
                    let Some(op) = self.next() else {
                        return self.fail("syntax error: missing '}'");
                    };
                    modifier.push(op);
                    op
                } else {
                    ch
                };
                let raw = op == '#' || op == '%';
                let at = self.pos;
                let (word, _) = match self.stop_on(Some('}'), raw) {
                    Ok(w) => w,
                    Err(e) if self.peek().is_none() => {
                        return Err(Fail {
                            reason: "syntax error: missing '}'".into(),
                            offset: e.offset,
                        })
                    }
                    Err(e) => return Err(e),
                };
                let value = self.get(&name);
                if self.skip_unset && value.is_none() {
                    return Ok(format!("${{{name}{modifier}{word}}}"));
                }
                let set = value.is_some();
                let value = value.unwrap_or_default();
                let empty = null_is_unset && value.is_empty();
                match op {
                    '-' => Ok(if !set || empty { word } else { value }),
                    '+' => Ok(if !set || empty { String::new() } else { word }),
                    '?' if self.check_only => Ok(value),
                    '?' => {
                        let default = if !set {
                            "is not allowed to be unset"
                        } else if empty {
                            "is not allowed to be empty"
                        } else {
                            return Ok(value);
                        };
                        let msg = if word.is_empty() { default } else { &word };
                        Err(Fail {
                            reason: format!("{name}: {msg}"),
                            offset: at,
                        })
                    }
                    '#' | '%' => {
                        let (greedy, pattern) = match word.strip_prefix(op) {
                            Some(p) => (true, p),
                            None => (false, word.as_str()),
                        };
                        let pat = Pattern::parse(pattern).map_err(|e| Fail {
                            reason: format!("invalid pattern ({pattern}) in substitution: {e}"),
                            offset: at,
                        })?;
                        Ok(if op == '#' {
                            pat.trim_prefix(&value, greedy)
                        } else {
                            pat.trim_suffix(&value, greedy)
                        })
                    }
                    _ => Err(Fail {
                        reason: format!("unsupported modifier ({modifier}) in substitution"),
                        offset: at,
                    }),
                }
            }
            '/' => {
                let all = self.peek() == Some('/');
                if all {
                    self.pos += 1;
                }
                let at = self.pos;
                let (pattern, _) = match self.stop_on(Some('/'), true) {
                    Ok(w) => w,
                    Err(e) if self.peek().is_none() => {
                        return Err(Fail {
                            reason: "syntax error: missing '/' in ${}".into(),
                            offset: e.offset,
                        })
                    }
                    Err(e) => return Err(e),
                };
                let (replacement, _) = match self.stop_on(Some('}'), true) {
                    Ok(w) => w,
                    Err(e) if self.peek().is_none() => {
                        return Err(Fail {
                            reason: "syntax error: missing '}'".into(),
                            offset: e.offset,
                        })
                    }
                    Err(e) => return Err(e),
                };
                let value = self.get(&name);
                if self.skip_unset && value.is_none() {
                    let op = if all { "//" } else { "/" };
                    return Ok(format!("${{{name}{op}{pattern}/{replacement}}}"));
                }
                let pat = Pattern::parse(&pattern).map_err(|e| Fail {
                    reason: format!("invalid pattern ({pattern}) in substitution: {e}"),
                    offset: at,
                })?;
                Ok(pat.replace(&value.unwrap_or_default(), &replacement, all))
            }
            _ => self.fail(format!("unsupported modifier ({ch}) in substitution")),
        }
    }
}

/// A shell pattern of `${VAR#…}`, `${VAR%…}`, `${VAR/…/…}`: `*`, `?` and literal characters (no
/// bracket expressions, as Docker). Like Docker's regular expressions, `*` and `?` do not match
/// a newline.
#[derive(Debug)]
struct Pattern(Vec<Tok>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Lit(char),
    Any,
    Star,
}

impl Pattern {
    fn parse(p: &str) -> Result<Pattern, String> {
        let mut toks = Vec::new();
        let mut it = p.chars().peekable();
        while let Some(c) = it.next() {
            match c {
                '*' => toks.push(Tok::Star),
                '?' => toks.push(Tok::Any),
                '\\' => match it.peek().copied() {
                    // `\}` and `\/` escape the ${} syntax, not the pattern
                    Some('}' | '/') => {}
                    Some(n @ ('*' | '?' | '\\')) => {
                        it.next();
                        toks.push(Tok::Lit(n));
                    }
                    Some(n) => return Err(format!("invalid escape '\\{n}'")),
                    None => return Err("invalid escape '\\'".to_string()),
                },
                c => toks.push(Tok::Lit(c)),
            }
        }
        Ok(Pattern(toks))
    }

    /// For each `e` in `0..=s.len()`, whether the pattern matches `s[..e]` exactly: one pass of
    /// a set of pattern positions over `s` (linear in pattern × text); stops early when no
    /// position is left.
    fn accepting_ends(toks: &[Tok], s: &[char]) -> Vec<bool> {
        let n = toks.len();
        let close = |set: &mut Vec<bool>| {
            for k in 0..n {
                if set[k] && toks[k] == Tok::Star {
                    set[k + 1] = true;
                }
            }
        };
        let mut cur = vec![false; n + 1];
        cur[0] = true;
        close(&mut cur);
        let mut out = vec![false; s.len() + 1];
        out[0] = cur[n];
        for (i, &c) in s.iter().enumerate() {
            let mut next = vec![false; n + 1];
            let mut any = false;
            for k in 0..n {
                if !cur[k] {
                    continue;
                }
                match toks[k] {
                    Tok::Lit(l) if l == c => next[k + 1] = true,
                    Tok::Any if c != '\n' => next[k + 1] = true,
                    Tok::Star if c != '\n' => next[k] = true,
                    _ => continue,
                }
                any = true;
            }
            if !any {
                break;
            }
            close(&mut next);
            out[i + 1] = next[n];
            cur = next;
        }
        out
    }

    fn trim_prefix(&self, value: &str, greedy: bool) -> String {
        let v: Vec<char> = value.chars().collect();
        let ends = Self::accepting_ends(&self.0, &v);
        let hit = if greedy {
            ends.iter().rposition(|e| *e)
        } else {
            ends.iter().position(|e| *e)
        };
        match hit {
            Some(e) => v[e..].iter().collect(),
            None => value.to_string(),
        }
    }

    fn trim_suffix(&self, value: &str, greedy: bool) -> String {
        let rv: Vec<char> = value.chars().rev().collect();
        let rp: Vec<Tok> = self.0.iter().rev().copied().collect();
        let ends = Self::accepting_ends(&rp, &rv);
        let hit = if greedy {
            ends.iter().rposition(|e| *e)
        } else {
            ends.iter().position(|e| *e)
        };
        match hit {
            Some(e) => rv[e..].iter().rev().collect(),
            None => value.to_string(),
        }
    }

    /// The leftmost, then longest, match starting at or after `from`.
    fn find(&self, v: &[char], from: usize) -> Option<(usize, usize)> {
        (from..=v.len()).find_map(|s| {
            Self::accepting_ends(&self.0, &v[s..])
                .iter()
                .rposition(|e| *e)
                .map(|e| (s, s + e))
        })
    }

    fn replace(&self, value: &str, replacement: &str, all: bool) -> String {
        let v: Vec<char> = value.chars().collect();
        let mut out = String::new();
        let mut at = 0;
        let mut last_match_end: Option<usize> = None;
        while at <= v.len() {
            let Some((s, e)) = self.find(&v, at) else {
                break;
            };
            // An empty match right after a previous match is skipped (Go's ReplaceAll).
            if s == e && last_match_end == Some(s) {
                if s < v.len() {
                    out.push(v[s]);
                }
                at = s + 1;
                continue;
            }
            out.extend(&v[at..s]);
            out.push_str(replacement);
            last_match_end = Some(e);
            if !all {
                at = e;
                break;
            }
            if s == e {
                if s < v.len() {
                    out.push(v[s]);
                }
                at = s + 1;
            } else {
                at = e;
            }
        }
        if at <= v.len() {
            out.extend(&v[at..]);
        }
        out
    }
}
