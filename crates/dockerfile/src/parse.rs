//! The parser, in Docker's two steps: lines → logical instructions (parser directives, comments,
//! continuations, flags, heredoc bodies), then logical instructions → typed instructions and
//! stages (the checks of Docker's `instructions` layer).

use crate::lex;
use crate::{
    ArgDecl, Command, CopySpec, Dockerfile, Healthcheck, Heredoc, Instruction, Kind, ParseError,
    Run, Stage,
};

/// Parse a Dockerfile. Nothing is substituted (see the crate docs); the first error found is
/// returned with its line and column.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    parse_all(text).map_err(|mut errs| errs.swap_remove(0))
}

/// Parse a Dockerfile and report every error, not just the first: each instruction is checked
/// on its own (an error in the line structure, such as an unterminated heredoc or a bad parser
/// directive, still stops the parse). The list is never empty; the first is what [`parse`]
/// returns. For the dashboard, which shows all of them at once.
pub fn parse_all(text: &str) -> Result<Dockerfile, Vec<ParseError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = LineParser {
        lines: text.split_inclusive('\n').collect(),
        next: 0,
        escape: '\\',
        syntax: None,
        check: None,
    };
    let nodes = p.nodes().map_err(|e| vec![e])?;
    build(nodes, p.escape, p.syntax, p.check)
}

/// A Go duration (`300ms`, `1.5h`, `2h45m`, `-1s`; units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`)
/// in nanoseconds, as `HEALTHCHECK` reads its `--interval`, `--timeout`, `--start-period` and
/// `--start-interval`. Errors read as Go's (`time: invalid duration "5x"`).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac = &r[..n];
            rest = &r[n..];
            if int.is_empty() && frac.is_empty() {
                return Err(invalid());
            }
        } else if int.is_empty() {
            return Err(invalid());
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            u => return Err(format!("time: unknown unit {u:?} in duration {s:?}")),
        };
        let whole: u128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| invalid())?
        };
        let mut v = whole.checked_mul(scale).ok_or_else(invalid)?;
        let mut div = 1u128;
        for d in frac.bytes().take(30) {
            div *= 10;
            v += u128::from(d - b'0') * scale / div;
        }
        total = total.checked_add(v).ok_or_else(invalid)?;
        if total > i64::MAX as u128 + u128::from(neg) {
            return Err(invalid());
        }
    }
    Ok(if neg {
        (total as i128).wrapping_neg() as i64
    } else {
        total as i64
    })
}

/// The joined text of one logical line and where each piece came from.
#[derive(Default)]
struct Src {
    text: String,
    /// (byte offset in `text`, line, 1-based column in characters)
    segs: Vec<(usize, usize, usize)>,
}

impl Src {
    fn push(&mut self, s: &str, line: usize, col: usize) {
        if s.is_empty() && !self.segs.is_empty() {
            return;
        }
        self.segs.push((self.text.len(), line, col));
        self.text.push_str(s);
    }

    /// The source line and column of a byte offset in `text`.
    fn pos(&self, off: usize) -> (usize, usize) {
        let i = self.segs.partition_point(|s| s.0 <= off).saturating_sub(1);
        let (start, line, col) = self.segs.get(i).copied().unwrap_or((0, 1, 1));
        let n = self
            .text
            .get(start..off.min(self.text.len()))
            .map_or(0, |t| t.chars().count());
        (line, col + n)
    }
}

/// One logical instruction before its arguments are interpreted (Docker's parser `Node`).
struct Node {
    /// The keyword as written, and where.
    cmd: String,
    cmd_off: usize,
    /// Each `--flag[=value]` with quotes and escapes removed, and where it starts.
    flags: Vec<(String, usize)>,
    /// The arguments after the flags, trimmed, and where they start.
    args: String,
    args_off: usize,
    /// `ONBUILD`'s trigger.
    child: Option<Box<Node>>,
    heredocs: Vec<Heredoc>,
}

struct Logical {
    src: Src,
    line: usize,
    end_line: usize,
    node: Node,
}

struct LineParser<'a> {
    lines: Vec<&'a str>,
    next: usize,
    escape: char,
    syntax: Option<String>,
    check: Option<String>,
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

/// Go's regexp `\s`.
fn re_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{c}' | '\r')
}

/// The separators of Docker's `reWhitespace` (`[\t\v\f\r ]+`).
fn ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{b}' | '\u{c}' | '\r')
}

/// A parser directive line: `# key = value` (key lowercased).
fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let n = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let name = &rest[..n];
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let value = rest[n..]
        .trim_start_matches(re_space)
        .strip_prefix('=')?
        .trim_matches(re_space);
    if value.is_empty() {
        return None;
    }
    Some((name.to_ascii_lowercase(), value.to_string()))
}

impl LineParser<'_> {
    fn nodes(&mut self) -> Result<Vec<Logical>, ParseError> {
        let mut directives_done = false;
        let mut seen: Vec<String> = Vec::new();
        let mut out = Vec::new();
        while self.next < self.lines.len() {
            let no = self.next + 1;
            let t = trim_newline(self.lines[self.next]);
            self.next += 1;
            let lt = t.trim_start();
            let col = t[..t.len() - lt.len()].chars().count() + 1;
            if !directives_done {
                match directive(lt) {
                    Some((k, v)) if matches!(k.as_str(), "syntax" | "escape" | "check") => {
                        let err = |message: String| ParseError {
                            line: no,
                            column: col,
                            message,
                        };
                        if seen.contains(&k) {
                            return Err(err(format!("only one {k} parser directive can be used")));
                        }
                        match k.as_str() {
                            "escape" => {
                                self.escape = match v.as_str() {
                                    "`" => '`',
                                    "\\" => '\\',
                                    _ => {
                                        return Err(err(format!(
                                            "invalid escape token '{v}' does not match ` or \\"
                                        )))
                                    }
                                }
                            }
                            "syntax" => self.syntax = Some(v),
                            _ => self.check = Some(v),
                        }
                        seen.push(k);
                    }
                    _ => directives_done = true,
                }
            }
            if lt.starts_with('#') {
                continue;
            }
            let (first, mut more) = self.trim_continuation(lt);
            if !more && first.is_empty() {
                continue;
            }
            let mut src = Src::default();
            src.push(first, no, col);
            let mut end = no;
            while more && self.next < self.lines.len() {
                let t = trim_newline(self.lines[self.next]);
                self.next += 1;
                end = self.next;
                let lt = t.trim_start();
                if lt.starts_with('#') || lt.is_empty() {
                    continue;
                }
                let (piece, m) = self.trim_continuation(t);
                src.push(piece, end, 1);
                more = m;
            }
            let mut node = split_command(&src, 0, self.escape);
            let heredoc_node = match &mut node.child {
                Some(child) => child,
                None => &mut node,
            };
            if can_contain_heredoc(heredoc_node) && src.text.contains("<<") {
                let start = src.pos(0);
                for (name, expand, strip_tabs) in heredoc_markers(&src.text) {
                    let mut content = String::new();
                    let mut terminated = false;
                    while self.next < self.lines.len() {
                        let raw = self.lines[self.next];
                        self.next += 1;
                        end = self.next;
                        let mut t = trim_newline(raw);
                        if strip_tabs {
                            t = t.trim_start_matches('\t');
                        }
                        if t == name {
                            terminated = true;
                            break;
                        }
                        if strip_tabs {
                            content.push_str(raw.trim_start_matches('\t'));
                        } else {
                            content.push_str(raw);
                        }
                    }
                    if !terminated {
                        return Err(ParseError {
                            line: start.0,
                            column: start.1,
                            message: "unterminated heredoc".into(),
                        });
                    }
                    heredoc_node.heredocs.push(Heredoc {
                        name,
                        content,
                        expand,
                        strip_tabs,
                    });
                }
            }
            out.push(Logical {
                src,
                line: no,
                end_line: end,
                node,
            });
        }
        if out.is_empty() {
            return Err(ParseError {
                line: self.lines.len().max(1),
                column: 1,
                message: "file with no instructions".into(),
            });
        }
        Ok(out)
    }

    /// Remove a trailing escape character (and the spaces and tabs after it): the line goes on.
    /// An escaped escape character (`\\` at the end) does not continue the line, as in Docker.
    fn trim_continuation<'s>(&self, line: &'s str) -> (&'s str, bool) {
        let t = line.trim_end_matches([' ', '\t']);
        match t.strip_suffix(self.escape) {
            Some(rest) if !rest.ends_with(self.escape) => (rest, true),
            _ => (line, false),
        }
    }
}

fn can_contain_heredoc(node: &Node) -> bool {
    let cmd = node.cmd.to_ascii_lowercase();
    matches!(cmd.as_str(), "run" | "copy" | "add")
        && !matches!(parse_json(&node.args), Json::Array(_))
}

/// The heredoc markers of a line (`<<EOF`, `<<-EOF`, `3<<"EOF"`): name, expand, strip tabs.
fn heredoc_markers(line: &str) -> Vec<(String, bool, bool)> {
    lex::raw_words(line)
        .unwrap_or_default()
        .iter()
        .filter_map(|w| heredoc_marker(w))
        .collect()
}

/// One word as a heredoc marker (Docker's `ParseHeredoc`): name, expand, strip tabs.
fn heredoc_marker(word: &str) -> Option<(String, bool, bool)> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let rest = word[digits..].strip_prefix("<<")?;
    let (strip, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches(re_space);
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let (name, expand) = lex::heredoc_name(rest)?;
    Some((name, expand, strip))
}

/// Docker's `splitCommand` and `extractBuilderFlags` on `src.text[base..]`.
fn split_command(src: &Src, base: usize, escape: char) -> Node {
    let line = &src.text[base..];
    let lead = line.len() - line.trim_start().len();
    let t = line.trim();
    let t_off = base + lead;
    let (cmd, after, after_off) = match t.find(ws) {
        None => (t, "", t_off + t.len()),
        Some(i) => {
            let a = t[i..].trim_start_matches(ws);
            (&t[..i], a, t_off + t.len() - a.len())
        }
    };
    let (rest_at, flags) = extract_flags(after, escape);
    let flags = flags
        .into_iter()
        .map(|(f, at)| (f, after_off + at))
        .collect();
    let rest = &after[rest_at..];
    let args = rest.trim();
    let args_off = after_off + rest_at + (rest.len() - rest.trim_start().len());
    let mut node = Node {
        cmd: cmd.to_string(),
        cmd_off: t_off,
        flags,
        args: args.to_string(),
        args_off,
        child: None,
        heredocs: Vec::new(),
    };
    // One level: an ONBUILD trigger is never itself ONBUILD (refused later), so deeper
    // chains need no node.
    if cmd.eq_ignore_ascii_case("onbuild") && !args.is_empty() && base == 0 {
        node.child = Some(Box::new(split_command(src, args_off, escape)));
    }
    node
}

/// The leading `--flag[=value]` words (quotes and escapes removed), each with its offset, and
/// where the rest of the line starts.
fn extract_flags(line: &str, escape: char) -> (usize, Vec<(String, usize)>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(char),
    }
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut start = 0;
    let mut blank_ok = false;
    let mut i = 0;
    while i <= chars.len() {
        let Some(&(at, ch)) = chars.get(i) else {
            if phase != Phase::Spaces && word != "--" && (blank_ok || !word.is_empty()) {
                words.push((word, start));
            }
            return (line.len(), words);
        };
        match phase {
            Phase::Spaces => {
                if ch.is_whitespace() {
                    i += 1;
                    continue;
                }
                if ch != '-' || chars.get(i + 1).map(|c| c.1) != Some('-') {
                    return (at, words);
                }
                phase = Phase::Word;
                start = at;
                continue;
            }
            Phase::Word => {
                if ch.is_whitespace() {
                    phase = Phase::Spaces;
                    if word == "--" {
                        return (at, words);
                    }
                    if blank_ok || !word.is_empty() {
                        words.push((std::mem::take(&mut word), start));
                    }
                    word.clear();
                    blank_ok = false;
                } else if ch == '\'' || ch == '"' {
                    phase = Phase::Quote(ch);
                    blank_ok = true;
                } else if ch == escape {
                    if let Some(&(_, n)) = chars.get(i + 1) {
                        word.push(n);
                        i += 1;
                    }
                } else {
                    word.push(ch);
                }
            }
            Phase::Quote(q) => {
                if ch == q {
                    phase = Phase::Word;
                } else if ch == escape {
                    match chars.get(i + 1) {
                        Some(&(_, n)) => {
                            word.push(n);
                            i += 1;
                        }
                        None => phase = Phase::Word,
                    }
                } else {
                    word.push(ch);
                }
            }
        }
        i += 1;
    }
    (line.len(), words)
}

enum Json {
    /// Not JSON (or not starting with `[`): shell form.
    Text,
    /// Valid JSON whose elements are not all strings: an error in Docker.
    NotStrings,
    Array(Vec<String>),
}

fn parse_json(rest: &str) -> Json {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Json::Text;
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(rest) {
        Err(_) => Json::Text,
        Ok(items) => {
            let mut out = Vec::with_capacity(items.len());
            for v in items {
                match v {
                    serde_json::Value::String(s) => out.push(s),
                    _ => return Json::NotStrings,
                }
            }
            Json::Array(out)
        }
    }
}

/// Docker's `parseWords`: split at unquoted whitespace, quotes and escapes kept in the words.
fn parse_words(rest: &str, escape: char) -> Vec<(String, usize)> {
    let chars: Vec<(usize, char)> = rest.char_indices().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut start = 0;
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut blank_ok = false;
    let mut i = 0;
    while i < chars.len() {
        let (at, ch) = chars[i];
        i += 1;
        if !in_word {
            if ch.is_whitespace() {
                continue;
            }
            in_word = true;
            start = at;
        }
        match quote {
            None => {
                if ch.is_whitespace() {
                    if blank_ok || !word.is_empty() {
                        words.push((std::mem::take(&mut word), start));
                    }
                    in_word = false;
                    blank_ok = false;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    quote = Some(ch);
                    blank_ok = true;
                }
                if ch == escape {
                    let Some(&(_, n)) = chars.get(i) else {
                        continue;
                    };
                    word.push(ch);
                    word.push(n);
                    i += 1;
                    continue;
                }
                word.push(ch);
            }
            Some(q) => {
                if ch == q {
                    quote = None;
                }
                if ch == escape && q != '\'' {
                    let Some(&(_, n)) = chars.get(i) else {
                        quote = None;
                        continue;
                    };
                    word.push(ch);
                    word.push(n);
                    i += 1;
                    continue;
                }
                word.push(ch);
            }
        }
    }
    if in_word && (blank_ok || !word.is_empty()) {
        words.push((word, start));
    }
    words
}

/// Docker's `reWhitespace` split of an argument string, with offsets.
fn split_ws(rest: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    if rest.is_empty() {
        return out;
    }
    let mut start = 0;
    let mut iter = rest.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if ws(c) {
            out.push((rest[start..i].to_string(), start));
            let mut j = i + c.len_utf8();
            while let Some(&(k, n)) = iter.peek() {
                if !ws(n) {
                    break;
                }
                j = k + n.len_utf8();
                iter.next();
            }
            start = j;
        }
    }
    out.push((rest[start..].to_string(), start));
    out
}

#[derive(Clone, Copy, PartialEq)]
enum FlagType {
    Bool,
    Str,
    Strs,
}

#[derive(Default)]
struct Flags {
    values: Vec<(&'static str, Vec<String>)>,
}

impl Flags {
    fn string(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.last().cloned())
    }
    fn strings(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
    fn bool(&self, name: &str) -> bool {
        self.string(name).as_deref() == Some("true")
    }
}

/// One logical instruction being interpreted.
struct Ctx<'a> {
    src: &'a Src,
    node: &'a Node,
    escape: char,
    /// The keyword, upper case.
    name: String,
}

impl Ctx<'_> {
    fn err_at(&self, off: usize, message: impl Into<String>) -> ParseError {
        let (line, column) = self.src.pos(off);
        ParseError {
            line,
            column,
            message: message.into(),
        }
    }

    fn err(&self, message: impl Into<String>) -> ParseError {
        self.err_at(self.node.cmd_off, message)
    }

    /// Docker's `BFlags.Parse` for the flags this instruction accepts.
    fn flags(&self, spec: &[(&'static str, FlagType)]) -> Result<Flags, ParseError> {
        let mut flags = Flags::default();
        for (word, off) in &self.node.flags {
            let Some(arg) = word.strip_prefix("--") else {
                return Err(self.err_at(*off, format!("Arg should start with -- : {word}")));
            };
            if arg.is_empty() {
                break;
            }
            let (name, value) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (arg, None),
            };
            let Some(&(key, ty)) = spec.iter().find(|(n, _)| *n == name) else {
                return Err(self.err_at(*off, format!("Unknown flag: {name}")));
            };
            let slot = match flags.values.iter().position(|(n, _)| *n == key) {
                Some(i) if ty != FlagType::Strs => {
                    let _ = i;
                    return Err(self.err_at(*off, format!("Duplicate flag specified: {name}")));
                }
                Some(i) => i,
                None => {
                    flags.values.push((key, Vec::new()));
                    flags.values.len() - 1
                }
            };
            let v = match (ty, value) {
                (FlagType::Bool, Some("")) | (FlagType::Str | FlagType::Strs, None) => {
                    return Err(self.err_at(*off, format!("Missing a value on flag: {name}")))
                }
                (FlagType::Bool, None) => "true".to_string(),
                (FlagType::Bool, Some(v)) => match v.to_ascii_lowercase().as_str() {
                    l @ ("true" | "false") => l.to_string(),
                    _ => {
                        return Err(self.err_at(
                            *off,
                            format!("Expecting boolean value for flag {name}, not: {v}"),
                        ))
                    }
                },
                (_, Some(v)) => v.to_string(),
            };
            flags.values[slot].1.push(v);
        }
        Ok(flags)
    }

    fn no_flags(&self) -> Result<(), ParseError> {
        self.flags(&[]).map(|_| ())
    }

    /// Check the substitution syntax of a word that starts at `off` in the joined line (or,
    /// when it is not there verbatim, report at `off`).
    fn check_word(&self, word: &str, off: usize, verbatim: bool) -> Result<(), ParseError> {
        lex::check_syntax(word, self.escape).map_err(|e| {
            let at = if verbatim {
                off + word
                    .char_indices()
                    .nth(e.offset)
                    .map_or(word.len(), |(i, _)| i)
            } else {
                off
            };
            self.err_at(at, e.to_string())
        })
    }

    /// The flag values that are substituted: their syntax is checked at the flag.
    fn check_flag_words(&self, names: &[&str]) -> Result<(), ParseError> {
        for (word, off) in &self.node.flags {
            let Some((name, value)) = word.trim_start_matches("--").split_once('=') else {
                continue;
            };
            if names.contains(&name) {
                self.check_word(value, *off, false)?;
            }
        }
        Ok(())
    }

    fn args(&self) -> &str {
        &self.node.args
    }

    fn words_ws(&self) -> Vec<(String, usize)> {
        split_ws(self.args())
            .into_iter()
            .map(|(w, o)| (w, o + self.node.args_off))
            .collect()
    }

    /// A command in JSON or shell form (`parseMaybeJSON`).
    fn command(&self) -> Result<(Command, bool), ParseError> {
        match parse_json(self.args()) {
            Json::Array(v) => Ok((Command::Exec(v), true)),
            Json::NotStrings => Err(self.err_at(
                self.node.args_off,
                "when using JSON array syntax, arrays must be comprised of strings only",
            )),
            Json::Text => Ok((Command::Shell(self.args().to_string()), false)),
        }
    }

    /// A list in JSON or whitespace-separated form (`parseMaybeJSONToList`), with offsets
    /// (`None` for JSON elements, which are not in the text verbatim).
    fn list(&self) -> Result<Vec<(String, usize, bool)>, ParseError> {
        match parse_json(self.args()) {
            Json::Array(v) => Ok(v
                .into_iter()
                .map(|s| (s, self.node.args_off, false))
                .collect()),
            Json::NotStrings => Err(self.err_at(
                self.node.args_off,
                "when using JSON array syntax, arrays must be comprised of strings only",
            )),
            Json::Text => Ok(self
                .words_ws()
                .into_iter()
                .map(|(w, o)| (w, o, true))
                .collect()),
        }
    }

    /// `KEY value` or `KEY=value …` (`parseNameVal`), key and value as written.
    fn name_vals(&self) -> Result<Vec<(String, String)>, ParseError> {
        let words = parse_words(self.args(), self.escape);
        if words.is_empty() {
            return Err(self.err(format!("{} requires at least one argument", self.name)));
        }
        let base = self.node.args_off;
        if !words[0].0.contains('=') {
            let rest = self.args();
            let Some(i) = rest.find(ws) else {
                return Err(self.err(format!("{} must have two arguments", self.name)));
            };
            let key = &rest[..i];
            let value = rest[i..].trim_start_matches(ws);
            let voff = base + rest.len() - value.len();
            self.check_word(key, base, true)?;
            self.check_word(value, voff, true)?;
            return Ok(vec![(key.to_string(), value.to_string())]);
        }
        let mut out = Vec::new();
        for (word, off) in words {
            let Some((k, v)) = word.split_once('=') else {
                return Err(self.err_at(
                    base + off,
                    format!(
                        "Syntax error - can't find = in {word:?}. Must be of the form: name=value"
                    ),
                ));
            };
            if k.is_empty() {
                return Err(
                    self.err_at(base + off, format!("{} names can not be blank", self.name))
                );
            }
            self.check_word(k, base + off, true)?;
            self.check_word(v, base + off + k.len() + 1, true)?;
            out.push((k.to_string(), v.to_string()));
        }
        Ok(out)
    }

    /// The whole argument string as one value (`parseString`), checked, exactly one required.
    fn one(&self, substitutes: bool) -> Result<String, ParseError> {
        self.no_flags()?;
        if self.args().is_empty() {
            return Err(self.err(format!("{} requires exactly one argument", self.name)));
        }
        if substitutes {
            self.check_word(self.args(), self.node.args_off, true)?;
        }
        Ok(self.args().to_string())
    }

    fn copy(&self, add: bool) -> Result<CopySpec, ParseError> {
        let items = self.list()?;
        if items.len() < 2 {
            return Err(self.err(format!(
                "{} requires at least two arguments, but only one was provided. Destination could not be determined",
                self.name
            )));
        }
        let flags = if add {
            self.flags(&[
                ("chown", FlagType::Str),
                ("chmod", FlagType::Str),
                ("link", FlagType::Bool),
                ("checksum", FlagType::Str),
            ])?
        } else {
            self.flags(&[
                ("from", FlagType::Str),
                ("chown", FlagType::Str),
                ("chmod", FlagType::Str),
                ("link", FlagType::Bool),
            ])?
        };
        self.check_flag_words(&["from", "chown", "chmod", "checksum"])?;
        let (dest, sources) = items.split_last().expect("two items");
        if is_heredoc_word(&dest.0) {
            return Err(self.err_at(
                dest.1,
                format!("{} cannot accept a heredoc as a destination", self.name),
            ));
        }
        let mut paths = Vec::new();
        for (w, off, verbatim) in sources {
            if is_heredoc_word(w) {
                continue;
            }
            self.check_word(w, *off, *verbatim)?;
            paths.push(w.clone());
        }
        self.check_word(&dest.0, dest.1, dest.2)?;
        Ok(CopySpec {
            sources: paths,
            dest: dest.0.clone(),
            from: flags.string("from"),
            chown: flags.string("chown"),
            chmod: flags.string("chmod"),
            link: flags.bool("link"),
            checksum: flags.string("checksum"),
            heredocs: self.node.heredocs.clone(),
        })
    }

    fn healthcheck(&self) -> Result<Healthcheck, ParseError> {
        let args = self.args();
        if args.is_empty() {
            return Err(self.err("HEALTHCHECK requires at least one argument"));
        }
        let sep = args.find(char::is_whitespace).unwrap_or(args.len());
        let typ = args[..sep].to_ascii_uppercase();
        let rest = args[sep..].trim_start();
        let rest_off = self.node.args_off + args.len() - rest.len();
        if typ == "NONE" {
            if !rest.is_empty() {
                return Err(self.err("HEALTHCHECK NONE takes no arguments"));
            }
            return Ok(Healthcheck::None);
        }
        let flags = self.flags(&[
            ("interval", FlagType::Str),
            ("timeout", FlagType::Str),
            ("start-period", FlagType::Str),
            ("start-interval", FlagType::Str),
            ("retries", FlagType::Str),
        ])?;
        if typ != "CMD" {
            return Err(self.err_at(
                self.node.args_off,
                format!("Unknown type {:?} in HEALTHCHECK (try CMD)", &args[..sep]),
            ));
        }
        let test = match parse_json(rest) {
            Json::Array(v) => Command::Exec(v),
            Json::NotStrings => {
                return Err(self.err_at(
                    rest_off,
                    "when using JSON array syntax, arrays must be comprised of strings only",
                ))
            }
            Json::Text => Command::Shell(rest.to_string()),
        };
        let empty = match &test {
            Command::Exec(v) => v.is_empty(),
            Command::Shell(s) => s.is_empty(),
        };
        if empty {
            return Err(self.err("Missing command after HEALTHCHECK CMD"));
        }
        let mut durations = Vec::new();
        for name in ["interval", "timeout", "start-period", "start-interval"] {
            let v = flags.string(name).filter(|v| !v.is_empty());
            if let Some(s) = &v {
                let d = parse_duration(s).map_err(|e| self.flag_err(name, e))?;
                if d != 0 && d < 1_000_000 {
                    return Err(
                        self.flag_err(name, format!("Interval {name:?} cannot be less than 1ms"))
                    );
                }
            }
            durations.push(v);
        }
        let retries = match flags.string("retries").filter(|v| !v.is_empty()) {
            None => None,
            Some(r) => {
                let n: i64 = r.parse().map_err(|_| {
                    let why = if !r.is_empty()
                        && r.trim_start_matches(['-', '+'])
                            .bytes()
                            .all(|b| b.is_ascii_digit())
                        && r.len() > 1
                    {
                        "value out of range"
                    } else {
                        "invalid syntax"
                    };
                    self.flag_err("retries", format!("strconv.ParseInt: parsing {r:?}: {why}"))
                })?;
                if n > i64::from(i32::MAX) || n < i64::from(i32::MIN) {
                    return Err(self.flag_err(
                        "retries",
                        format!("strconv.ParseInt: parsing {r:?}: value out of range"),
                    ));
                }
                if n < 0 {
                    return Err(
                        self.flag_err("retries", format!("--retries cannot be negative ({n})"))
                    );
                }
                Some(n as u32)
            }
        };
        let mut d = durations.into_iter();
        Ok(Healthcheck::Check {
            test,
            interval: d.next().flatten(),
            timeout: d.next().flatten(),
            start_period: d.next().flatten(),
            start_interval: d.next().flatten(),
            retries,
        })
    }

    fn flag_err(&self, name: &str, message: String) -> ParseError {
        let off = self
            .node
            .flags
            .iter()
            .rev()
            .find(|(w, _)| w.trim_start_matches("--").split('=').next() == Some(name))
            .map_or(self.node.cmd_off, |(_, o)| *o);
        self.err_at(off, message)
    }
}

pub(crate) fn is_heredoc_word(w: &str) -> bool {
    heredoc_marker(w).is_some()
}

const STAGE_NAME_HELP: &str = "name can't start with a number or contain symbols";

fn valid_stage_name(n: &str) -> bool {
    let mut cs = n.chars();
    matches!(cs.next(), Some('a'..='z'))
        && cs.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-' | '_' | '.'))
}

enum Parsed {
    From(Stage),
    Instr(Instruction),
}

/// Interpret one logical instruction (Docker's `instructions.ParseInstruction`).
fn interpret(
    src: &Src,
    node: &Node,
    line: usize,
    end_line: usize,
    original: String,
    escape: char,
) -> Result<Parsed, ParseError> {
    let lower = node.cmd.to_ascii_lowercase();
    let cx = Ctx {
        src,
        node,
        escape,
        name: node.cmd.to_ascii_uppercase(),
    };
    let instr = |kind| {
        Ok(Parsed::Instr(Instruction {
            line,
            end_line,
            original: original.clone(),
            kind,
        }))
    };
    match lower.as_str() {
        "from" => {
            let words = cx.words_ws();
            let name = match words.len() {
                3 if words[1].0.eq_ignore_ascii_case("as") => {
                    let n = words[2].0.to_ascii_lowercase();
                    if !valid_stage_name(&n) {
                        return Err(cx.err_at(
                            words[2].1,
                            format!(
                                "invalid name for build stage: {:?}, {STAGE_NAME_HELP}",
                                words[2].0
                            ),
                        ));
                    }
                    Some(n)
                }
                1 => None,
                _ => return Err(cx.err("FROM requires either one or three arguments")),
            };
            let flags = cx.flags(&[("platform", FlagType::Str)])?;
            cx.check_flag_words(&["platform"])?;
            cx.check_word(&words[0].0, words[0].1, true)?;
            Ok(Parsed::From(Stage {
                base: words[0].0.clone(),
                name,
                platform: flags.string("platform"),
                line,
                instructions: Vec::new(),
            }))
        }
        "run" => {
            let flags = cx.flags(&[("mount", FlagType::Strs), ("network", FlagType::Str)])?;
            let (command, _) = cx.command()?;
            instr(Kind::Run(Run {
                command,
                network: flags.string("network"),
                mounts: flags.strings("mount"),
                heredocs: node.heredocs.clone(),
            }))
        }
        "cmd" | "entrypoint" => {
            cx.no_flags()?;
            let (command, _) = cx.command()?;
            instr(if lower == "cmd" {
                Kind::Cmd(command)
            } else {
                Kind::Entrypoint(command)
            })
        }
        "shell" => {
            cx.no_flags()?;
            match cx.command()? {
                (Command::Exec(v), _) if v.is_empty() => {
                    Err(cx.err("SHELL requires at least one argument"))
                }
                (Command::Exec(v), _) => instr(Kind::Shell(v)),
                (Command::Shell(_), _) => Err(cx.err(not_json_message("SHELL", &original))),
            }
        }
        "copy" => instr(Kind::Copy(cx.copy(false)?)),
        "add" => instr(Kind::Add(cx.copy(true)?)),
        "env" => {
            cx.no_flags()?;
            instr(Kind::Env(cx.name_vals()?))
        }
        "label" => {
            cx.no_flags()?;
            instr(Kind::Label(cx.name_vals()?))
        }
        "arg" => {
            let words = parse_words(cx.args(), escape);
            if words.is_empty() {
                return Err(cx.err("ARG requires at least one argument"));
            }
            cx.no_flags()?;
            let mut decls = Vec::new();
            for (w, off) in words {
                let off = off + node.args_off;
                match w.split_once('=') {
                    Some(("", _)) => return Err(cx.err_at(off, "ARG names can not be blank")),
                    Some((k, v)) => {
                        cx.check_word(v, off + k.len() + 1, true)?;
                        decls.push(ArgDecl {
                            name: k.to_string(),
                            default: Some(v.to_string()),
                        });
                    }
                    None => decls.push(ArgDecl {
                        name: w,
                        default: None,
                    }),
                }
            }
            instr(Kind::Arg(decls))
        }
        "workdir" => instr(Kind::Workdir(cx.one(true)?)),
        "user" => instr(Kind::User(cx.one(true)?)),
        "stopsignal" => instr(Kind::StopSignal(cx.one(true)?)),
        "maintainer" => instr(Kind::Maintainer(cx.one(false)?)),
        "expose" => {
            let words = cx.words_ws();
            if words.is_empty() {
                return Err(cx.err("EXPOSE requires at least one argument"));
            }
            cx.no_flags()?;
            for (w, off) in &words {
                cx.check_word(w, *off, true)?;
            }
            instr(Kind::Expose(words.into_iter().map(|(w, _)| w).collect()))
        }
        "volume" => {
            let items = cx.list()?;
            if items.is_empty() {
                return Err(cx.err("VOLUME requires at least one argument"));
            }
            cx.no_flags()?;
            for (w, off, verbatim) in &items {
                if w.trim().is_empty() {
                    return Err(cx.err_at(*off, "VOLUME specified can not be an empty string"));
                }
                cx.check_word(w, *off, *verbatim)?;
            }
            instr(Kind::Volume(
                items
                    .into_iter()
                    .map(|(w, _, _)| w.trim().to_string())
                    .collect(),
            ))
        }
        "healthcheck" => instr(Kind::Healthcheck(cx.healthcheck()?)),
        "onbuild" => {
            let Some(child) = &node.child else {
                return Err(cx.err("ONBUILD requires at least one argument"));
            };
            cx.no_flags()?;
            let trigger = child.cmd.to_ascii_uppercase();
            match trigger.as_str() {
                "ONBUILD" => {
                    return Err(cx.err_at(
                        child.cmd_off,
                        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                    ))
                }
                "MAINTAINER" | "FROM" => {
                    return Err(cx.err_at(
                        child.cmd_off,
                        format!("{trigger} isn't allowed as an ONBUILD trigger"),
                    ))
                }
                _ => {}
            }
            let mut expression = src.text[node.args_off..].trim().to_string();
            for h in &child.heredocs {
                expression.push('\n');
                expression.push_str(&h.content);
                expression.push_str(&h.name);
            }
            match interpret(src, child, line, end_line, expression, escape)? {
                Parsed::Instr(i) => instr(Kind::Onbuild(Box::new(i))),
                Parsed::From(_) => Err(cx.err("FROM isn't allowed as an ONBUILD trigger")),
            }
        }
        _ => Err(cx.err(format!(
            "unknown instruction: {}{}",
            node.cmd,
            suggest(&node.cmd).map_or(String::new(), |s| format!(" (did you mean {s}?)"))
        ))),
    }
}

const INSTRUCTIONS: [&str; 18] = [
    "add",
    "arg",
    "cmd",
    "copy",
    "entrypoint",
    "env",
    "expose",
    "from",
    "healthcheck",
    "label",
    "maintainer",
    "onbuild",
    "run",
    "shell",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// Docker's suggestion for an unknown instruction: the closest keyword at an edit distance
/// below 3, in the case the word was written in (`FORM` → `FROM`, `form` → `from`).
fn suggest(word: &str) -> Option<String> {
    let lower = word.to_lowercase();
    let mut best: Option<(&str, usize)> = None;
    for opt in INSTRUCTIONS {
        let d = levenshtein(&lower, opt);
        if d < best.map_or(3, |b| b.1) {
            best = Some((opt, d));
        }
    }
    let (opt, _) = best?;
    Some(if word == lower {
        opt.to_string()
    } else if word == word.to_uppercase() {
        opt.to_uppercase()
    } else {
        opt.to_string()
    })
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// Docker's `errNotJSON`, with its hint for unescaped Windows paths.
fn not_json_message(command: &str, original: &str) -> String {
    let lower = original.to_lowercase();
    let drive_path = lower.char_indices().any(|(i, c)| {
        c == '"' && {
            let mut it = lower[i + 1..].chars();
            matches!(it.next(), Some('a'..='z'))
                && it.next() == Some(':')
                && it.next() == Some('\\')
        }
    });
    if drive_path && !lower.contains("\\\\") && lower.contains('[') && lower.contains(']') {
        return format!(
            "{command} requires the arguments to be in JSON form. It looks like '{lower}' includes a file path without an escaped back-slash. JSON requires back-slashes to be escaped such as [\"c:\\\\path\\\\to\\\\file.exe\", \"/parameter\"]"
        );
    }
    format!("{command} requires the arguments to be in JSON form")
}

/// Stages and meta args from the logical instructions (Docker's `instructions.Parse`).
fn build(
    nodes: Vec<Logical>,
    escape: char,
    syntax: Option<String>,
    check: Option<String>,
) -> Result<Dockerfile, Vec<ParseError>> {
    let mut meta_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    let mut errors = Vec::new();
    for l in &nodes {
        let original = l.src.text.trim().to_string();
        let err = |off: usize, message: String| {
            let (line, column) = l.src.pos(off);
            ParseError {
                line,
                column,
                message,
            }
        };
        match interpret(&l.src, &l.node, l.line, l.end_line, original, escape) {
            Err(e) => errors.push(e),
            Ok(Parsed::From(stage)) => {
                if let Some(name) = &stage.name {
                    if stages.iter().any(|s| s.name.as_ref() == Some(name)) {
                        errors.push(err(
                            l.node.args_off,
                            format!("duplicate stage name {name:?}"),
                        ));
                    }
                }
                stages.push(stage);
            }
            Ok(Parsed::Instr(i)) => match (stages.last_mut(), i.kind) {
                (None, Kind::Arg(decls)) => meta_args.extend(decls),
                (None, _) => errors.push(err(
                    l.node.cmd_off,
                    "no build stage in current context".into(),
                )),
                (Some(stage), kind) => stage.instructions.push(Instruction { kind, ..i }),
            },
        }
    }
    if stages.is_empty() && errors.is_empty() {
        // Only ARGs: Docker parses this, and its classic builder then fails with this text.
        let l = &nodes[0];
        errors.push(err_at(
            &l.src,
            l.node.cmd_off,
            "No image was generated. Is your Dockerfile empty?",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Dockerfile {
        escape,
        syntax,
        check,
        meta_args,
        stages,
    })
}

fn err_at(src: &Src, off: usize, message: &str) -> ParseError {
    let (line, column) = src.pos(off);
    ParseError {
        line,
        column,
        message: message.to_string(),
    }
}
