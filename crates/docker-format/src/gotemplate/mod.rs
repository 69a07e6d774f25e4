//! A subset of Go's `text/template`, the language of the docker CLI's `--format` and `-f`:
//! text and `{{ }}` actions with trim markers (`{{- `, ` -}}`) and comments; pipelines (`|`)
//! of commands on fields (`.A.B`), variables (`$`, `$x.A`, `$x := …`, `$x = …`), literals
//! (strings with Go's escapes, raw strings, numbers, characters, `true`, `false`, `nil`) and
//! parenthesised pipelines; `if`/`else if`/`else`, `range` (lists, maps in key order, `else`,
//! `break`, `continue`), `with`/`else with`/`else`; Go's builtin functions and Docker's
//! (`json split join title lower upper pad truncate`).
//!
//! Data are JSON values printed as Go's `%v` prints what the docker CLI decodes: strings bare,
//! `[a b]`, `map[k:v]`, `<nil>`, `<no value>` for a key a document lacks.
//!
//! Deliberately absent: `define`, `template` and `block` (refused at parse time: a `--format`
//! value is one template), ranging over integers and functions, methods, custom delimiters,
//! complex numbers. Bounded: parse nesting (controls and parentheses) is at most 100 levels,
//! `pad` and `printf` widths at most 10,000, and each execution stops with an error once its
//! output, the text its functions make and its steps pass 256 KiB + 64 × (template bytes +
//! data bytes) — so `range` inside `range` cannot make output or work grow without bound.

mod exec;
mod funcs;
mod lex;
mod parse;
mod print;
mod value;

#[cfg(test)]
mod tests;

use crate::FormatError;
use parse::{ArgKind, Node, Pipe};

/// How deep `if`/`range`/`with` (and `else if` chains) and parentheses may nest.
pub(crate) const MAX_DEPTH: usize = 100;
/// The widest `pad` or `printf` width and precision.
pub(crate) const MAX_WIDTH: usize = 10_000;
/// An execution's budget: `BUDGET_BASE + BUDGET_FACTOR × (template + data bytes)`.
pub(crate) const BUDGET_BASE: usize = 256 * 1024;
/// See `BUDGET_BASE`.
pub(crate) const BUDGET_FACTOR: usize = 64;

/// A parse error at a byte offset of the template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Error {
    pub pos: usize,
    pub msg: String,
}

impl Error {
    pub(crate) fn at(pos: usize, msg: impl Into<String>) -> Error {
        Error {
            pos,
            msg: msg.into(),
        }
    }
}

/// What the data are, which decides what a field the data lack does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Inspect documents: a missing key is `<no value>`, as on the docker CLI's raw maps.
    Documents,
    /// Rows of `images`, `ps`, …: the fields are fixed, an unknown one is an error.
    Rows,
    /// A table's header row: as rows, and Docker's functions but `pad` print their argument
    /// unchanged (the docker CLI's `HeaderFunctions`).
    Header,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    src: String,
    root: Vec<Node>,
}

/// 1-based line and 0-based byte column of `pos`, as Go's `ErrorContext` counts them.
pub(crate) fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let before = &src[..pos.min(src.len())];
    let line = 1 + before.matches('\n').count();
    let col = before.rfind('\n').map_or(pos, |i| before.len() - i - 1);
    (line, col)
}

impl Template {
    /// Parses `src`; errors read as the docker CLI prints Go's
    /// (`template parsing error: template: :1: function "foo" not defined`).
    pub(crate) fn parse(src: &str) -> Result<Template, FormatError> {
        match parse::parse(src) {
            Ok(root) => Ok(Template {
                src: src.to_string(),
                root,
            }),
            Err(e) => {
                let (line, _) = line_col(src, e.pos);
                Err(FormatError(format!(
                    "template parsing error: template: :{line}: {}",
                    e.msg
                )))
            }
        }
    }

    /// Runs the template on `data`.
    pub(crate) fn execute(
        &self,
        data: &serde_json::Value,
        mode: Mode,
    ) -> Result<String, FormatError> {
        let limit = BUDGET_FACTOR
            .saturating_mul(self.src.len().saturating_add(value::size(data)))
            .saturating_add(BUDGET_BASE);
        exec::Exec::run(&self.src, &self.root, data, mode, limit)
    }

    /// The names of the fields of dot and of `$` the template uses (`{{.Names}}`,
    /// `{{upper .Status}}`, `{{$.ID}}`: the first name of a chain), in order, once each: a
    /// table's header row holds these.
    pub(crate) fn fields(&self) -> Vec<String> {
        fn pipe(p: &Pipe, out: &mut Vec<String>) {
            for c in &p.cmds {
                for a in &c.args {
                    arg(&a.kind, out);
                }
            }
        }
        fn arg(a: &ArgKind, out: &mut Vec<String>) {
            match a {
                ArgKind::Field(fs) => add(&fs[0], out),
                ArgKind::Var(v, fs) if v == "$" && !fs.is_empty() => add(&fs[0], out),
                ArgKind::Chain(t, _) => arg(&t.kind, out),
                ArgKind::Pipe(p) => pipe(p, out),
                _ => {}
            }
        }
        fn add(f: &str, out: &mut Vec<String>) {
            if !out.iter().any(|x| x == f) {
                out.push(f.to_string());
            }
        }
        fn list(nodes: &[Node], out: &mut Vec<String>) {
            for n in nodes {
                match n {
                    Node::Action(p) => pipe(p, out),
                    Node::If(c) | Node::Range(c) | Node::With(c) => {
                        pipe(&c.pipe, out);
                        list(&c.list, out);
                        if let Some(e) = &c.else_list {
                            list(e, out);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        list(&self.root, &mut out);
        out
    }
}
