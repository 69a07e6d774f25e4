//! The parser: Go's `text/template/parse` grammar for one template — text, actions, pipelines
//! of commands, variables, literals, parenthesised pipelines and the control actions `if`,
//! `range`, `with` (each with `else`, `else if`, `else with`), `break` and `continue`.
//! `define`, `template` and `block` are refused: a `--format` value is one template.

use super::lex::{lex, Item, Tok, Token};
use super::{funcs, Error, MAX_DEPTH};

/// A node of the template's tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    /// `{{pipeline}}`: prints the pipeline's value unless it declares variables.
    Action(Pipe),
    If(Control),
    Range(Control),
    With(Control),
    Break,
    Continue,
}

/// `if`, `range` or `with`: the pipeline, the body and the `else` body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Control {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

/// `$x := cmd | cmd …`: commands whose value each becomes the next one's last argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipe {
    pub pos: usize,
    /// Declared or assigned variables (two only in `range $i, $e := …`).
    pub decl: Vec<String>,
    /// `=` rather than `:=`.
    pub assign: bool,
    pub cmds: Vec<Cmd>,
}

/// One command: a function and its arguments, or a single operand.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cmd {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// An operand and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Arg {
    pub pos: usize,
    pub kind: ArgKind,
}

/// The operands Go's grammar has.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ArgKind {
    Dot,
    Nil,
    Bool(bool),
    /// A number: its value and its text as written.
    Number(Number, String),
    Str(String),
    /// `.A.B`: fields of dot.
    Field(Vec<String>),
    /// `$x.A.B`: a variable and fields of it.
    Var(String, Vec<String>),
    /// A function name.
    Func(String),
    /// `(pipeline).A.B` (or a function's result's fields).
    Chain(Box<Arg>, Vec<String>),
    /// `(pipeline)`.
    Pipe(Box<Pipe>),
}

/// A numeric literal: Go's untyped constants as the values they become (`1` an int, `1.5` or
/// `1e3` a float64).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Int(i128),
    Float(f64),
}

impl std::fmt::Display for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields = |f: &mut std::fmt::Formatter<'_>, fs: &[String]| {
            fs.iter().try_for_each(|x| write!(f, ".{x}"))
        };
        match &self.kind {
            ArgKind::Dot => f.write_str("."),
            ArgKind::Nil => f.write_str("nil"),
            ArgKind::Bool(b) => write!(f, "{b}"),
            ArgKind::Number(_, text) => f.write_str(text),
            ArgKind::Str(s) => f.write_str(&super::print::quote(s)),
            ArgKind::Field(fs) => fields(f, fs),
            ArgKind::Var(v, fs) => {
                f.write_str(v)?;
                fields(f, fs)
            }
            ArgKind::Func(n) => f.write_str(n),
            ArgKind::Chain(a, fs) => {
                write!(f, "{a}")?;
                fields(f, fs)
            }
            ArgKind::Pipe(p) => write!(f, "({p})"),
        }
    }
}

impl std::fmt::Display for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            let op = if self.assign { "=" } else { ":=" };
            write!(f, "{} {op} ", self.decl.join(", "))?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// Parses a template into its top-level list of nodes.
pub(crate) fn parse(src: &str) -> Result<Vec<Node>, Error> {
    let mut p = Parser {
        items: lex(src)?.into_iter(),
        vars: vec!["$".to_string()],
        range_depth: 0,
        depth: 0,
        end: src.len(),
    };
    let (list, stop) = p.list()?;
    match stop {
        Stop::Eof => Ok(list),
        Stop::End(pos) => Err(Error::at(pos, "unexpected {{end}}")),
        Stop::Else(pos, _) => Err(Error::at(pos, "unexpected {{else}}")),
    }
}

struct Parser {
    items: std::vec::IntoIter<Item>,
    /// Variables in scope, innermost last (`$` always).
    vars: Vec<String>,
    /// How many `range` bodies enclose the current position (`break` needs one).
    range_depth: usize,
    /// Nesting of control actions and parentheses, bounded by `MAX_DEPTH`.
    depth: usize,
    end: usize,
}

/// What ended a list.
enum Stop {
    Eof,
    End(usize),
    /// `{{else}}`, or `{{else if …}}` / `{{else with …}}` with the keyword and its tokens.
    Else(usize, Option<(&'static str, usize, Vec<Token>)>),
}

/// A cursor over one action's tokens.
struct Toks {
    toks: Vec<Token>,
    i: usize,
    /// Where the action ends (for errors at its end).
    end: usize,
}

impl Toks {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }
    fn skip_space(&mut self) {
        while matches!(
            self.peek(),
            Some(Token {
                kind: Tok::Space,
                ..
            })
        ) {
            self.i += 1;
        }
    }
    fn peek_non_space(&mut self) -> Option<&Token> {
        self.skip_space();
        self.peek()
    }
    fn pos(&self) -> usize {
        self.peek().map_or(self.end, |t| t.pos)
    }
}

impl Parser {
    fn enter(&mut self, pos: usize) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::at(
                pos,
                format!("template nesting too deep (more than {MAX_DEPTH} levels)"),
            ));
        }
        Ok(())
    }

    /// Parses nodes up to `{{end}}`, `{{else}}` or the end of the template.
    fn list(&mut self) -> Result<(Vec<Node>, Stop), Error> {
        let mut out = Vec::new();
        while let Some(item) = self.items.next() {
            let (pos, toks) = match item {
                Item::Text(t) => {
                    out.push(Node::Text(t));
                    continue;
                }
                Item::Action { pos, toks } => (pos, toks),
            };
            let end = toks.last().map_or(pos + 2, |t| t.pos + 1);
            let mut t = Toks { toks, i: 0, end };
            let Some(first) = t.peek_non_space().cloned() else {
                return Err(Error::at(pos, "missing value for command"));
            };
            match first.kind {
                Tok::Keyword("end") => {
                    t.next();
                    expect_end(&mut t, "end")?;
                    return Ok((out, Stop::End(pos)));
                }
                Tok::Keyword("else") => {
                    t.next();
                    let next = t.peek_non_space().cloned();
                    let chained = match next {
                        None => None,
                        Some(Token {
                            kind: Tok::Keyword(k @ ("if" | "with")),
                            pos: kpos,
                        }) => {
                            t.next();
                            Some((k, kpos, t.toks.split_off(t.i)))
                        }
                        Some(tok) => {
                            return Err(Error::at(
                                tok.pos,
                                format!("unexpected {} in else", tok.kind),
                            ))
                        }
                    };
                    return Ok((out, Stop::Else(pos, chained)));
                }
                Tok::Keyword(k @ ("if" | "range" | "with")) => {
                    t.next();
                    out.push(self.control(k, first.pos, t)?);
                }
                Tok::Keyword(k @ ("break" | "continue")) => {
                    t.next();
                    if self.range_depth == 0 {
                        return Err(Error::at(
                            first.pos,
                            format!("{{{{{k}}}}} outside {{{{range}}}}"),
                        ));
                    }
                    expect_end(&mut t, k)?;
                    out.push(if k == "break" {
                        Node::Break
                    } else {
                        Node::Continue
                    });
                }
                Tok::Keyword(k) => {
                    return Err(Error::at(
                        first.pos,
                        format!(
                            "{{{{{k}}}}} is not supported: a --format template is a single \
                             template, without define, template or block"
                        ),
                    ))
                }
                _ => {
                    let pipe = self.pipeline(&mut t, "command", false)?;
                    expect_end(&mut t, "command")?;
                    out.push(Node::Action(pipe));
                }
            }
        }
        Ok((out, Stop::Eof))
    }

    /// `if`/`range`/`with` after its keyword, through its `{{end}}`.
    fn control(&mut self, kind: &'static str, pos: usize, mut t: Toks) -> Result<Node, Error> {
        self.enter(pos)?;
        let mark = self.vars.len();
        let pipe = self.pipeline(&mut t, kind, kind == "range")?;
        expect_end(&mut t, kind)?;
        if kind == "range" {
            self.range_depth += 1;
        }
        let (list, stop) = self.list()?;
        if kind == "range" {
            self.range_depth -= 1;
        }
        let else_list = match stop {
            Stop::Eof => return Err(Error::at(self.end, "unexpected EOF")),
            Stop::End(_) => None,
            Stop::Else(_, None) => {
                let (list, stop) = self.list()?;
                match stop {
                    Stop::End(_) => Some(list),
                    Stop::Eof => return Err(Error::at(self.end, "unexpected EOF")),
                    Stop::Else(p, _) => {
                        return Err(Error::at(p, "expected end; found {{else}}"));
                    }
                }
            }
            Stop::Else(_, Some((k, kpos, toks))) => {
                if k != kind {
                    return Err(Error::at(
                        kpos,
                        format!("unexpected {k} after else in {{{{{kind}}}}}"),
                    ));
                }
                // {{if a}}…{{else if b}}…{{end}} is {{if a}}…{{else}}{{if b}}…{{end}}{{end}}:
                // the inner one ends at the shared {{end}}.
                let end = toks.last().map_or(kpos, |t| t.pos + 1);
                let inner = Toks { toks, i: 0, end };
                Some(vec![self.control(k, kpos, inner)?])
            }
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        let c = Control {
            pipe,
            list,
            else_list,
        };
        Ok(match kind {
            "if" => Node::If(c),
            "range" => Node::Range(c),
            _ => Node::With(c),
        })
    }

    /// A pipeline up to the end of the action (or, inside parentheses, to the `)`).
    fn pipeline(&mut self, t: &mut Toks, context: &str, range: bool) -> Result<Pipe, Error> {
        let pos = t.pos();
        let mut decl = Vec::new();
        let mut assign = false;
        // A declaration: `$x :=`, `$x =`, or in range `$i, $e :=`.
        if let Some(Token {
            kind: Tok::Var(v), ..
        }) = t.peek_non_space().cloned()
        {
            let save = t.i;
            t.next();
            match t.peek_non_space().map(|x| x.kind.clone()) {
                Some(Tok::Declare | Tok::Assign) => {
                    decl.push(v);
                }
                Some(Tok::Comma) => {
                    if !range {
                        return Err(Error::at(
                            pos,
                            format!("too many declarations in {context}"),
                        ));
                    }
                    t.next();
                    match t.peek_non_space().cloned() {
                        Some(Token {
                            kind: Tok::Var(w), ..
                        }) => {
                            t.next();
                            if !matches!(
                                t.peek_non_space().map(|x| &x.kind),
                                Some(Tok::Declare | Tok::Assign)
                            ) {
                                return Err(Error::at(
                                    t.pos(),
                                    "expected := or = after range variables",
                                ));
                            }
                            decl.push(v);
                            decl.push(w);
                        }
                        _ => return Err(Error::at(t.pos(), "range can only initialize variables")),
                    }
                }
                _ => t.i = save,
            }
            if !decl.is_empty() {
                assign = matches!(t.next().map(|x| x.kind), Some(Tok::Assign));
                if assign {
                    for v in &decl {
                        self.check_var(v, pos)?;
                    }
                }
            }
        }
        let mut cmds = Vec::new();
        loop {
            t.skip_space();
            match t.peek().map(|x| &x.kind) {
                None | Some(Tok::RParen) => {
                    if cmds.is_empty() {
                        return Err(Error::at(t.pos(), format!("missing value for {context}")));
                    }
                    break;
                }
                _ => {}
            }
            let cmd = self.command(t)?;
            if cmd.args.is_empty() {
                return Err(Error::at(t.pos(), format!("missing value for {context}")));
            }
            cmds.push(cmd);
            if let Some(Tok::Pipe) = t.peek().map(|x| &x.kind) {
                t.next();
                t.skip_space();
                if matches!(t.peek().map(|x| &x.kind), None | Some(Tok::RParen)) {
                    return Err(Error::at(t.pos(), "missing value for command"));
                }
            }
        }
        for (i, c) in cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0].kind,
                ArgKind::Bool(_)
                    | ArgKind::Dot
                    | ArgKind::Nil
                    | ArgKind::Number(..)
                    | ArgKind::Str(_)
            ) {
                return Err(Error::at(
                    c.pos,
                    format!("non executable command in pipeline stage {}", i + 1),
                ));
            }
        }
        if !assign {
            self.vars.extend(decl.iter().cloned());
        }
        Ok(Pipe {
            pos,
            decl,
            assign,
            cmds,
        })
    }

    /// Operands separated by spaces, up to `|`, `)` or the end of the action.
    fn command(&mut self, t: &mut Toks) -> Result<Cmd, Error> {
        let pos = t.pos();
        let mut args = Vec::new();
        loop {
            t.skip_space();
            match t.peek().map(|x| &x.kind) {
                None | Some(Tok::Pipe | Tok::RParen) => break,
                _ => {}
            }
            args.push(self.operand(t)?);
            match t.peek().map(|x| &x.kind) {
                None | Some(Tok::Space | Tok::Pipe | Tok::RParen) => {}
                Some(k) => {
                    let k = k.clone();
                    return Err(Error::at(t.pos(), format!("unexpected {k} in operand")));
                }
            }
        }
        Ok(Cmd { pos, args })
    }

    /// A term and any fields chained onto it without spaces.
    fn operand(&mut self, t: &mut Toks) -> Result<Arg, Error> {
        let tok = t.next().expect("operand called at a token");
        let pos = tok.pos;
        let kind = match tok.kind {
            Tok::Ident(name) => {
                if !funcs::exists(&name) {
                    return Err(Error::at(pos, format!("function {name:?} not defined")));
                }
                ArgKind::Func(name)
            }
            Tok::Dot => ArgKind::Dot,
            Tok::Nil => ArgKind::Nil,
            Tok::Bool(b) => ArgKind::Bool(b),
            Tok::Str(s) => ArgKind::Str(s),
            Tok::Number(text) => ArgKind::Number(number(&text, pos)?, text),
            Tok::Field(f) => ArgKind::Field(vec![f]),
            Tok::Var(v) => {
                self.check_var(&v, pos)?;
                ArgKind::Var(v, Vec::new())
            }
            Tok::LParen => {
                self.enter(pos)?;
                let pipe = self.pipeline(t, "parenthesized pipeline", false)?;
                match t.next() {
                    Some(Token {
                        kind: Tok::RParen, ..
                    }) => {}
                    _ => return Err(Error::at(pos, "unclosed left paren")),
                }
                self.depth -= 1;
                ArgKind::Pipe(Box::new(pipe))
            }
            k => return Err(Error::at(pos, format!("unexpected {k} in operand"))),
        };
        let mut arg = Arg { pos, kind };
        let mut chained = Vec::new();
        while let Some(Token {
            kind: Tok::Field(f),
            ..
        }) = t.peek().cloned()
        {
            t.next();
            chained.push(f);
        }
        if chained.is_empty() {
            return Ok(arg);
        }
        match &mut arg.kind {
            ArgKind::Field(fs) | ArgKind::Var(_, fs) => fs.extend(chained),
            ArgKind::Bool(_)
            | ArgKind::Str(_)
            | ArgKind::Number(..)
            | ArgKind::Nil
            | ArgKind::Dot => {
                return Err(Error::at(
                    pos,
                    format!("unexpected . after term {:?}", arg.to_string()),
                ))
            }
            _ => {
                arg = Arg {
                    pos,
                    kind: ArgKind::Chain(Box::new(arg), chained),
                }
            }
        }
        Ok(arg)
    }

    fn check_var(&self, v: &str, pos: usize) -> Result<(), Error> {
        if self.vars.iter().any(|x| x == v) {
            Ok(())
        } else {
            Err(Error::at(pos, format!("undefined variable {v:?}")))
        }
    }
}

/// After `end`, `break` or `continue` only the closing delimiter may follow.
fn expect_end(t: &mut Toks, what: &str) -> Result<(), Error> {
    match t.peek_non_space() {
        None => Ok(()),
        Some(tok) => Err(Error::at(
            tok.pos,
            format!("unexpected {} in {what}", tok.kind),
        )),
    }
}

/// A numeric literal as Go's parser reads it: character constants, integers in any base (`0x`,
/// `0o`, `0b`, a leading `0` for octal, `_` separators), decimal floats. Complex and hexadecimal
/// floating-point constants are refused.
fn number(text: &str, pos: usize) -> Result<Number, Error> {
    let bad = || Error::at(pos, format!("bad number syntax: {text:?}"));
    if let Some(body) = text.strip_prefix('\'') {
        let body = &body[..body.len() - 1];
        let bytes = super::lex::unescape(body, '\'').map_err(|_| bad())?;
        let s = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut chars = s.chars();
        return match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(Number::Int(c as i128)),
            _ => Err(Error::at(
                pos,
                format!("malformed character constant: {text}"),
            )),
        };
    }
    if text.ends_with('i') {
        return Err(Error::at(
            pos,
            format!("complex number {text} is not supported"),
        ));
    }
    let (neg, unsigned) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let digits = unsigned.replace('_', "");
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(h) = lower.strip_prefix("0x") {
        (16, h.to_string())
    } else if let Some(o) = lower.strip_prefix("0o") {
        (8, o.to_string())
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        (8, lower[1..].to_string())
    } else {
        (10, lower.clone())
    };
    if !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        if let Ok(v) = i128::from_str_radix(&body, radix) {
            return Ok(Number::Int(if neg { -v } else { v }));
        }
    }
    if radix == 16 || radix == 2 || (radix == 8 && lower.starts_with("0o")) {
        return Err(bad());
    }
    let ok = lower
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'));
    match lower.parse::<f64>() {
        Ok(f) if ok && f.is_finite() => Ok(Number::Float(if neg { -f } else { f })),
        _ => Err(bad()),
    }
}
