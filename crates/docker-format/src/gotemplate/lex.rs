//! The lexer: splits a template into text and actions as Go's `text/template/parse` lexer does,
//! applying the trim markers (`{{- ` and ` -}}`) and dropping comments (`{{/* … */}}`).

use super::Error;

/// One token inside an action; `pos` is its byte offset in the template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub pos: usize,
}

/// The kinds of tokens Go's lexer emits inside `{{ }}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A run of white space; it separates the operands of a command.
    Space,
    Pipe,
    LParen,
    RParen,
    Comma,
    /// `:=`
    Declare,
    /// `=`
    Assign,
    /// A quoted or raw string, unquoted.
    Str(String),
    /// A number's text as written (`1`, `-2.5`, `0x1F`, `1_000`, a character constant `'a'`).
    Number(String),
    Bool(bool),
    Nil,
    /// `.`
    Dot,
    /// `.Name`: one field name (`.A.B` is two tokens).
    Field(String),
    /// `$` or `$name`.
    Var(String),
    /// A function name.
    Ident(String),
    /// `if`, `else`, `end`, `range`, `with`, `break`, `continue`, `define`, `template`, `block`.
    Keyword(&'static str),
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Space => f.write_str("space"),
            Tok::Pipe => f.write_str("\"|\""),
            Tok::LParen => f.write_str("\"(\""),
            Tok::RParen => f.write_str("\")\""),
            Tok::Comma => f.write_str("\",\""),
            Tok::Declare => f.write_str("\":=\""),
            Tok::Assign => f.write_str("\"=\""),
            Tok::Str(s) => write!(f, "{s:?}"),
            Tok::Number(s) => write!(f, "{s:?}"),
            Tok::Bool(b) => write!(f, "\"{b}\""),
            Tok::Nil => f.write_str("\"nil\""),
            Tok::Dot => f.write_str("\".\""),
            Tok::Field(s) => write!(f, "\".{s}\""),
            Tok::Var(s) => write!(f, "{s:?}"),
            Tok::Ident(s) => write!(f, "{s:?}"),
            Tok::Keyword(k) => write!(f, "<{k}>"),
        }
    }
}

/// A template's top-level pieces: text to copy and actions to run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    Text(String),
    /// An action's tokens; `pos` is where its `{{` is.
    Action {
        pos: usize,
        toks: Vec<Token>,
    },
}

const KEYWORDS: [&str; 10] = [
    "if", "else", "end", "range", "with", "break", "continue", "define", "template", "block",
];

/// Go's `isSpace`: the white space a trim marker removes and that separates operands.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits `src` into text and actions. Errors are Go's lexer messages (`unclosed action`,
/// `unclosed comment`, `unterminated quoted string`, …) with the byte offset they occur at.
pub(crate) fn lex(src: &str) -> Result<Vec<Item>, Error> {
    let mut items = Vec::new();
    let mut pos = 0;
    let mut trim_next = false;
    loop {
        let Some(open) = src[pos..].find("{{").map(|i| pos + i) else {
            push_text(&mut items, &src[pos..], trim_next, false);
            return Ok(items);
        };
        let mut p = open + 2;
        let trim_left = src[p..].starts_with('-') && src[p + 1..].starts_with(is_space);
        push_text(&mut items, &src[pos..open], trim_next, trim_left);
        if trim_left {
            // The marker and the one space after it (Go's trimMarkerLen).
            p += 2;
        }
        if src[p..].starts_with("/*") {
            let close = src[p + 2..]
                .find("*/")
                .map(|i| p + 2 + i + 2)
                .ok_or(Error::at(open, "unclosed comment"))?;
            let rest = &src[close..];
            let (trim, len) = if rest.starts_with(is_space) && rest[1..].starts_with("-}}") {
                (true, 4)
            } else if rest.starts_with("}}") {
                (false, 2)
            } else {
                return Err(Error::at(close, "comment ends before closing delimiter"));
            };
            pos = close + len;
            trim_next = trim;
            continue;
        }
        let (toks, end, trim) = action(src, p, open)?;
        items.push(Item::Action { pos: open, toks });
        pos = end;
        trim_next = trim;
    }
}

fn push_text(items: &mut Vec<Item>, text: &str, trim_start: bool, trim_end: bool) {
    let mut t = text;
    if trim_start {
        t = t.trim_start_matches(is_space);
    }
    if trim_end {
        t = t.trim_end_matches(is_space);
    }
    if !t.is_empty() {
        items.push(Item::Text(t.to_string()));
    }
}

/// Lexes one action from `p` to its `}}`; returns the tokens, the offset after the closing
/// delimiter and whether it was ` -}}`.
fn action(src: &str, mut p: usize, open: usize) -> Result<(Vec<Token>, usize, bool), Error> {
    let mut toks = Vec::new();
    loop {
        let rest = &src[p..];
        let Some(c) = rest.chars().next() else {
            return Err(Error::at(open, "unclosed action"));
        };
        if rest.starts_with("}}") {
            return Ok((toks, p + 2, false));
        }
        let start = p;
        let kind = match c {
            c if is_space(c) => {
                let n = rest.find(|c| !is_space(c)).unwrap_or(rest.len());
                if rest[n..].starts_with("-}}") {
                    return Ok((toks, p + n + 3, true));
                }
                p += n;
                Tok::Space
            }
            '|' | '(' | ')' | ',' | '=' => {
                p += 1;
                match c {
                    '|' => Tok::Pipe,
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    ',' => Tok::Comma,
                    _ => Tok::Assign,
                }
            }
            ':' => {
                if !rest.starts_with(":=") {
                    return Err(Error::at(p, "expected :="));
                }
                p += 2;
                Tok::Declare
            }
            '"' => {
                let end =
                    quoted_end(rest, '"').ok_or(Error::at(p, "unterminated quoted string"))?;
                p += end;
                Tok::Str(unquote(&rest[1..end - 1]).map_err(|m| Error::at(start, m))?)
            }
            '`' => {
                let end = rest[1..]
                    .find('`')
                    .ok_or(Error::at(p, "unterminated raw quoted string"))?;
                p += end + 2;
                // strconv.Unquote drops carriage returns from raw strings.
                Tok::Str(rest[1..end + 1].replace('\r', ""))
            }
            '\'' => {
                let end = quoted_end(rest, '\'')
                    .ok_or(Error::at(p, "unterminated character constant"))?;
                p += end;
                Tok::Number(rest[..end].to_string())
            }
            '$' => {
                let n = 1 + rest[1..].find(|c| !is_alnum(c)).unwrap_or(rest.len() - 1);
                p += n;
                Tok::Var(rest[..n].to_string())
            }
            '.' if rest[1..].starts_with(|c: char| c.is_ascii_digit()) => {
                p += number_len(rest);
                Tok::Number(src[start..p].to_string())
            }
            '.' => {
                let n = 1 + rest[1..].find(|c| !is_alnum(c)).unwrap_or(rest.len() - 1);
                p += n;
                if n == 1 {
                    Tok::Dot
                } else {
                    Tok::Field(rest[1..n].to_string())
                }
            }
            '0'..='9' => {
                p += number_len(rest);
                Tok::Number(src[start..p].to_string())
            }
            '+' | '-'
                if rest[1..].starts_with(|c: char| c.is_ascii_digit())
                    || (rest[1..].starts_with('.')
                        && rest[2..].starts_with(|c: char| c.is_ascii_digit())) =>
            {
                p += number_len(rest);
                Tok::Number(src[start..p].to_string())
            }
            c if is_alnum(c) => {
                let n = rest.find(|c| !is_alnum(c)).unwrap_or(rest.len());
                p += n;
                let word = &rest[..n];
                match word {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    w => match KEYWORDS.iter().find(|k| **k == w) {
                        Some(k) => Tok::Keyword(k),
                        None => Tok::Ident(w.to_string()),
                    },
                }
            }
            c => {
                return Err(Error::at(
                    p,
                    format!("unrecognized character in action: U+{:04X} {c:?}", c as u32),
                ))
            }
        };
        toks.push(Token { kind, pos: start });
    }
}

/// The length of a quoted literal starting at `s[0] == q`, through its closing quote; `None`
/// when it is not closed on this line.
fn quoted_end(s: &str, q: char) -> Option<usize> {
    let mut it = s.char_indices().skip(1);
    while let Some((i, c)) = it.next() {
        match c {
            '\\' => {
                it.next();
            }
            '\n' => return None,
            c if c == q => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The length of a number as Go's lexer scans it: sign, digits of any base with `_`, a
/// fraction, an exponent, and any letters or digits after (rejected later as bad syntax).
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = &s.as_bytes()[i..];
    let hex = digits.len() > 1 && digits[0] == b'0' && matches!(digits[1], b'x' | b'X');
    while i < b.len() {
        let c = b[i];
        let exp_sign = matches!(c, b'+' | b'-')
            && i > 0
            && (matches!(b[i - 1], b'p' | b'P') || (!hex && matches!(b[i - 1], b'e' | b'E')));
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exp_sign {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// Go's `strconv.Unquote` body for a double-quoted string: `\a \b \f \n \r \t \v \\ \"`,
/// `\xHH`, octal `\ooo`, `\uHHHH` and `\UHHHHHHHH`. Bytes must form UTF-8.
pub(crate) fn unquote(body: &str) -> Result<String, String> {
    let bytes = unescape(body, '"')?;
    String::from_utf8(bytes).map_err(|_| "invalid UTF-8 in quoted string".to_string())
}

/// Unescapes a quoted literal's body into bytes; `q` is the quote that may be escaped.
pub(crate) fn unescape(body: &str, q: char) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    let bad = || format!("invalid syntax in quoted literal {body:?}");
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut b = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            continue;
        }
        let e = chars.next().ok_or_else(bad)?;
        let simple = match e {
            'a' => Some(7),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            c if c == q => Some(c as u8),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let (n, radix) = match e {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => (2, 8),
            _ => return Err(bad()),
        };
        let mut digits: String = if radix == 8 {
            e.to_string()
        } else {
            String::new()
        };
        for _ in 0..n {
            digits.push(chars.next().ok_or_else(bad)?);
        }
        let v = u32::from_str_radix(&digits, radix).map_err(|_| bad())?;
        match e {
            'x' | '0'..='7' => out.push(u8::try_from(v).map_err(|_| bad())?),
            _ => {
                let c = char::from_u32(v).ok_or_else(bad)?;
                let mut b = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    Ok(out)
}
