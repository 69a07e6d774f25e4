//! The executor: walks the tree over a JSON value as Go's `text/template` walks the docker
//! CLI's data, within a budget of output and work.

use super::funcs;
use super::parse::{Arg, ArgKind, Cmd, Control, Node, Number, Pipe};
use super::print::write_v;
use super::value::{sorted_keys, Buf, Val};
use super::Mode;
use crate::FormatError;
use std::fmt::Display;

/// One execution's state: variables in scope (innermost last) and the output so far.
pub(crate) struct Exec<'a> {
    src: &'a str,
    mode: Mode,
    vars: Vec<(&'a str, Val<'a>)>,
    out: String,
    /// Output bytes, bytes functions made, and steps (commands, range iterations) so far.
    used: usize,
    limit: usize,
}

/// How a list ended: normally, or by `{{break}}` / `{{continue}}` for the enclosing range.
enum Flow {
    Next,
    Break,
    Continue,
}

impl<'a> Exec<'a> {
    /// Runs `root` with `data` as dot and `$`.
    pub(crate) fn run(
        src: &'a str,
        root: &'a [Node],
        data: &'a serde_json::Value,
        mode: Mode,
        limit: usize,
    ) -> Result<String, FormatError> {
        let dot = Val::data(data);
        let mut ex = Exec {
            src,
            mode,
            vars: vec![("$", dot.clone())],
            out: String::new(),
            used: 0,
            limit,
        };
        ex.walk(root, &dot)?;
        Ok(ex.out)
    }

    /// Go's execution error: `template: :1:2: executing "" at <.X>: message`.
    fn error(&self, pos: usize, ctx: &dyn Display, msg: impl Display) -> FormatError {
        let (line, col) = super::line_col(self.src, pos);
        let mut c = ctx.to_string();
        if c.chars().count() > 20 {
            c = c.chars().take(20).collect::<String>() + "...";
        }
        FormatError(format!(
            "template: :{line}:{col}: executing \"\" at <{c}>: {msg}"
        ))
    }

    fn over(&self) -> FormatError {
        FormatError(format!(
            "template: execution stopped: more than {} bytes of output and steps for this \
             template and data",
            self.limit
        ))
    }

    fn charge(&mut self, n: usize) -> Result<(), FormatError> {
        self.used = self.used.saturating_add(n);
        if self.used > self.limit {
            return Err(self.over());
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> Result<(), FormatError> {
        self.charge(s.len())?;
        self.out.push_str(s);
        Ok(())
    }

    fn walk(&mut self, list: &'a [Node], dot: &Val<'a>) -> Result<Flow, FormatError> {
        for node in list {
            self.charge(1)?;
            let flow = match node {
                Node::Text(t) => {
                    self.write(t)?;
                    Flow::Next
                }
                Node::Action(pipe) => {
                    let v = self.pipeline(pipe, dot)?;
                    if pipe.decl.is_empty() {
                        let mut b = Buf::new(self.limit.saturating_sub(self.used));
                        write_v(&mut b, &v);
                        if b.over {
                            return Err(self.over());
                        }
                        self.write(&b.s)?;
                    }
                    Flow::Next
                }
                Node::If(c) => self.if_with(c, dot, false)?,
                Node::With(c) => self.if_with(c, dot, true)?,
                Node::Range(c) => self.range(c, dot)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Next) {
                return Ok(flow);
            }
        }
        Ok(Flow::Next)
    }

    /// `if` runs its body when the pipeline is true; `with` also sets dot to the value.
    fn if_with(&mut self, c: &'a Control, dot: &Val<'a>, with: bool) -> Result<Flow, FormatError> {
        let mark = self.vars.len();
        let v = self.pipeline(&c.pipe, dot)?;
        let flow = if v.truth() {
            let d = if with { v } else { dot.clone() };
            self.walk(&c.list, &d)?
        } else if let Some(e) = &c.else_list {
            self.walk(e, dot)?
        } else {
            Flow::Next
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    /// `range` over a list's elements or a map's values in key order; nothing (null, a
    /// missing key) runs the `else` body; anything else is an error as in Go.
    fn range(&mut self, c: &'a Control, dot: &Val<'a>) -> Result<Flow, FormatError> {
        let mark = self.vars.len();
        let v = self.pipeline(&c.pipe, dot)?;
        let mut ran = false;
        match &v {
            Val::List(_) | Val::DList(_) => {
                for i in 0..v.list_len().unwrap_or(0) {
                    ran = true;
                    let e = v.list_get(i).unwrap_or(Val::Null);
                    if let Flow::Break = self.iteration(c, Val::Int(i as i128), e)? {
                        break;
                    }
                }
            }
            Val::Map(m) => {
                for k in sorted_keys(m) {
                    ran = true;
                    let e = Val::data(&m[k.as_str()]);
                    if let Flow::Break = self.iteration(c, Val::DStr(k), e)? {
                        break;
                    }
                }
            }
            Val::Null | Val::Missing => {}
            other => {
                let mut b = Buf::new(64);
                write_v(&mut b, other);
                return Err(self.error(
                    c.pipe.pos,
                    &c.pipe,
                    format!("range can't iterate over {}", b.s),
                ));
            }
        }
        let mut flow = Flow::Next;
        if !ran {
            if let Some(e) = &c.else_list {
                flow = self.walk(e, dot)?;
            }
        }
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn iteration(
        &mut self,
        c: &'a Control,
        key: Val<'a>,
        elem: Val<'a>,
    ) -> Result<Flow, FormatError> {
        self.charge(1)?;
        let decl = &c.pipe.decl;
        let values = match decl.len() {
            1 => vec![elem.clone()],
            2 => vec![key, elem.clone()],
            _ => vec![],
        };
        for (name, value) in decl.iter().zip(values) {
            if c.pipe.assign {
                self.set_var(name, value, &c.pipe)?;
            } else {
                // The range's own variables are the innermost at the start of an iteration.
                let at = self.vars.iter().rposition(|(n, _)| *n == name.as_str());
                if let Some(at) = at {
                    self.vars[at].1 = value;
                }
            }
        }
        let mark = self.vars.len();
        let flow = self.walk(&c.list, &elem)?;
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn set_var(&mut self, name: &str, value: Val<'a>, pipe: &Pipe) -> Result<(), FormatError> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(self.error(pipe.pos, pipe, format!("undefined variable: {name}"))),
        }
    }

    fn var(&self, name: &str, at: &Arg) -> Result<Val<'a>, FormatError> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| self.error(at.pos, at, format!("undefined variable: {name}")))
    }

    /// Each command's value is the next one's last argument; declared variables get the last.
    fn pipeline(&mut self, pipe: &'a Pipe, dot: &Val<'a>) -> Result<Val<'a>, FormatError> {
        let mut v = None;
        for cmd in &pipe.cmds {
            v = Some(self.command(cmd, dot, v)?);
        }
        let v = v.unwrap_or(Val::Missing);
        for name in &pipe.decl {
            if pipe.assign {
                self.set_var(name, v.clone(), pipe)?;
            } else {
                self.vars.push((name, v.clone()));
            }
        }
        Ok(v)
    }

    fn command(
        &mut self,
        cmd: &'a Cmd,
        dot: &Val<'a>,
        fin: Option<Val<'a>>,
    ) -> Result<Val<'a>, FormatError> {
        self.charge(1)?;
        let first = &cmd.args[0];
        let has_args = cmd.args.len() > 1 || fin.is_some();
        match &first.kind {
            ArgKind::Func(name) => self.call(name, cmd.pos, cmd, &cmd.args[1..], fin, dot),
            ArgKind::Field(fs) => self.fields(dot.clone(), fs, first, has_args),
            ArgKind::Var(v, fs) if !fs.is_empty() => {
                let base = self.var(v, first)?;
                self.fields(base, fs, first, has_args)
            }
            ArgKind::Chain(term, fs) => {
                let base = self.arg(term, dot)?;
                self.fields(base, fs, first, has_args)
            }
            ArgKind::Nil => Err(self.error(first.pos, cmd, "nil is not a command")),
            _ if has_args => Err(self.error(
                first.pos,
                cmd,
                format!("can't give argument to non-function {first}"),
            )),
            _ => self.arg(first, dot),
        }
    }

    /// An operand's value as an argument.
    fn arg(&mut self, arg: &'a Arg, dot: &Val<'a>) -> Result<Val<'a>, FormatError> {
        Ok(match &arg.kind {
            ArgKind::Dot => dot.clone(),
            ArgKind::Nil => Val::Null,
            ArgKind::Bool(b) => Val::Bool(*b),
            ArgKind::Number(Number::Int(i), _) => Val::Int(*i),
            ArgKind::Number(Number::Float(f), _) => Val::Float(*f),
            ArgKind::Str(s) => Val::DStr(s),
            ArgKind::Field(fs) => self.fields(dot.clone(), fs, arg, false)?,
            ArgKind::Var(v, fs) => {
                let base = self.var(v, arg)?;
                self.fields(base, fs, arg, false)?
            }
            ArgKind::Chain(term, fs) => {
                let base = self.arg(term, dot)?;
                self.fields(base, fs, arg, false)?
            }
            ArgKind::Func(name) => self.call(name, arg.pos, arg, &[], None, dot)?,
            ArgKind::Pipe(p) => self.pipeline(p, dot)?,
        })
    }

    fn fields(
        &mut self,
        mut v: Val<'a>,
        names: &'a [String],
        at: &Arg,
        has_args: bool,
    ) -> Result<Val<'a>, FormatError> {
        for (i, name) in names.iter().enumerate() {
            let args = has_args && i + 1 == names.len();
            v = self.field(v, name, at, args)?;
        }
        Ok(v)
    }

    /// `.Name` of a value: a map's entry (`<no value>` when absent from a document, an error
    /// for rows, whose fields are fixed); an error on anything but a map, as Go's for a field
    /// of a string or of nil.
    fn field(
        &self,
        v: Val<'a>,
        name: &str,
        at: &Arg,
        has_args: bool,
    ) -> Result<Val<'a>, FormatError> {
        match v {
            Val::Map(m) => {
                if has_args {
                    return Err(self.error(
                        at.pos,
                        at,
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                match m.get(name) {
                    Some(x) => Ok(Val::data(x)),
                    None if self.mode == Mode::Documents => Ok(Val::Missing),
                    None => Err(self.error(at.pos, at, format!("can't evaluate field {name}"))),
                }
            }
            Val::Missing => Ok(Val::Missing),
            Val::Null => Err(self.error(
                at.pos,
                at,
                format!("nil pointer evaluating interface {{}}.{name}"),
            )),
            v => Err(self.error(
                at.pos,
                at,
                format!("can't evaluate field {name} in type {}", v.type_name()),
            )),
        }
    }

    /// Calls a function; `fin` is the previous command's value, passed last.
    fn call(
        &mut self,
        name: &str,
        pos: usize,
        ctx: &dyn Display,
        args: &'a [Arg],
        fin: Option<Val<'a>>,
        dot: &Val<'a>,
    ) -> Result<Val<'a>, FormatError> {
        let argc = args.len() + usize::from(fin.is_some());
        funcs::check_arity(name, argc).map_err(|m| self.error(pos, ctx, m))?;
        // Go passes a missing value to a function as nil.
        let nil = |v: Val<'a>| match v {
            Val::Missing => Val::Null,
            v => v,
        };
        if name == "and" || name == "or" {
            // Go 1.18+: evaluation stops at the first false (and) or true (or) argument.
            let mut last = Val::Null;
            for a in args {
                let v = nil(self.arg(a, dot)?);
                if v.truth() == (name == "or") {
                    return Ok(v);
                }
                last = v;
            }
            return Ok(fin.map(nil).unwrap_or(last));
        }
        let mut vals = Vec::with_capacity(argc);
        for a in args {
            let v = self.arg(a, dot)?;
            vals.push(nil(v));
        }
        if let Some(f) = fin {
            vals.push(nil(f));
        }
        if self.mode == Mode::Header && funcs::header_identity(name) && vals[0].is_string() {
            return Ok(vals.swap_remove(0));
        }
        let mut b = Buf::new(self.limit.saturating_sub(self.used));
        let r = funcs::call(name, &vals, &mut b).map_err(|m| self.error(pos, ctx, m))?;
        if b.over {
            return Err(self.over());
        }
        let v = r.unwrap_or_else(|| Val::str(b.s));
        let made = match &v {
            Val::Str(s) => s.len(),
            Val::List(l) => l.iter().map(|x| x.as_str().map_or(8, str::len) + 1).sum(),
            _ => 1,
        };
        self.charge(made)?;
        Ok(v)
    }
}
