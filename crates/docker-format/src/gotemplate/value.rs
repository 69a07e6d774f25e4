//! Values a template computes with: the data's JSON values (borrowed), Go's untyped constants
//! and function results, with Go's truth and type names.

use serde_json::{Map, Value};
use std::rc::Rc;

/// A value during execution. Data are borrowed from the document or row; what functions make
/// is reference-counted so that variables and `range` copy nothing.
#[derive(Debug, Clone)]
pub(crate) enum Val<'d> {
    /// Go's invalid `reflect.Value`: a key the map does not have. Prints `<no value>`.
    Missing,
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(Rc<str>),
    DStr(&'d str),
    /// A list a function made (`split`'s `[]string`).
    List(Rc<[Val<'d>]>),
    DList(&'d [Value]),
    Map(&'d Map<String, Value>),
}

impl<'d> Val<'d> {
    /// A JSON value as the docker CLI holds it decoded: numbers that fit an integer are ints.
    pub(crate) fn data(v: &'d Value) -> Val<'d> {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Val::Int(i.into()),
                (_, Some(u)) => Val::Int(u.into()),
                _ => Val::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => Val::DStr(s),
            Value::Array(a) => Val::DList(a),
            Value::Object(m) => Val::Map(m),
        }
    }

    pub(crate) fn str(s: impl Into<Rc<str>>) -> Val<'d> {
        Val::Str(s.into())
    }

    /// The text of a string value.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            Val::DStr(s) => Some(s),
            _ => None,
        }
    }

    /// An integer, or a float without a fraction (JSON numbers decode as float64 in Go, and
    /// the docker CLI's own structs hold ints).
    pub(crate) fn as_int(&self) -> Option<i128> {
        match *self {
            Val::Int(i) => Some(i),
            Val::Float(f) if f.fract() == 0.0 && f.abs() < 1e21 => Some(f as i128),
            _ => None,
        }
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match *self {
            Val::Int(i) => Some(i as f64),
            Val::Float(f) => Some(f),
            _ => None,
        }
    }

    /// Element `i` of a list.
    pub(crate) fn list_len(&self) -> Option<usize> {
        match self {
            Val::List(l) => Some(l.len()),
            Val::DList(l) => Some(l.len()),
            _ => None,
        }
    }

    pub(crate) fn list_get(&self, i: usize) -> Option<Val<'d>> {
        match self {
            Val::List(l) => l.get(i).cloned(),
            Val::DList(l) => l.get(i).map(Val::data),
            _ => None,
        }
    }

    /// Go's truth (`if`, `with`, `and`, `or`, `not`): false, 0, "", nil and empty lists and
    /// maps are false.
    pub(crate) fn truth(&self) -> bool {
        match self {
            Val::Missing | Val::Null => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::DStr(s) => !s.is_empty(),
            Val::List(l) => !l.is_empty(),
            Val::DList(l) => !l.is_empty(),
            Val::Map(m) => !m.is_empty(),
        }
    }

    /// The Go type the docker CLI's decoded value has, for messages and `%T`.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Val::Missing => "<no value>",
            Val::Null => "<nil>",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float64",
            Val::Str(_) | Val::DStr(_) => "string",
            Val::List(_) => "[]string",
            Val::DList(_) => "[]interface {}",
            Val::Map(_) => "map[string]interface {}",
        }
    }

    pub(crate) fn is_string(&self) -> bool {
        matches!(self, Val::Str(_) | Val::DStr(_))
    }
}

/// The map's keys in Go's order for `range` and printing: sorted.
pub(crate) fn sorted_keys(m: &Map<String, Value>) -> Vec<&String> {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    keys
}

/// About how many bytes `v` is as JSON, for the execution budget.
pub(crate) fn size(v: &Value) -> usize {
    let mut total = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        total += match v {
            Value::String(s) => s.len() + 2,
            Value::Array(a) => {
                stack.extend(a);
                2 + a.len()
            }
            Value::Object(m) => {
                stack.extend(m.values());
                2 + m.keys().map(|k| k.len() + 4).sum::<usize>()
            }
            _ => 5,
        };
    }
    total
}

/// A string that stops growing at its capacity: what functions and the output write into, so
/// that no template makes more than its budget even for a moment.
pub(crate) struct Buf {
    pub s: String,
    cap: usize,
    /// Something was not written because it would have passed the capacity.
    pub over: bool,
}

impl Buf {
    pub(crate) fn new(cap: usize) -> Buf {
        Buf {
            s: String::new(),
            cap,
            over: false,
        }
    }

    /// How many more bytes fit.
    pub(crate) fn remaining(&self) -> usize {
        self.cap - self.s.len()
    }

    pub(crate) fn push_str(&mut self, t: &str) {
        if self.over || self.s.len() + t.len() > self.cap {
            self.over = true;
            return;
        }
        self.s.push_str(t);
    }

    pub(crate) fn push(&mut self, c: char) {
        let mut b = [0; 4];
        self.push_str(c.encode_utf8(&mut b));
    }

    /// `n` copies of `c`.
    pub(crate) fn repeat(&mut self, c: char, n: usize) {
        if self.over || self.s.len() + n * c.len_utf8() > self.cap {
            self.over = true;
            return;
        }
        self.s.extend(std::iter::repeat_n(c, n));
    }
}

impl std::fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

/// Bytes serde_json writes, refusing past the capacity (so a huge value stops serialising).
pub(crate) struct JsonBuf<'b>(pub &'b mut Buf);

impl std::io::Write for JsonBuf<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        // serde_json writes whole UTF-8 sequences per call (it writes str slices and ASCII
        // escapes).
        let s = std::str::from_utf8(b).map_err(|_| std::io::ErrorKind::InvalidData)?;
        self.0.push_str(s);
        if self.0.over {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
