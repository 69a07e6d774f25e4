//! The functions a `--format` template may call: Go's builtins (`and or not len index slice eq
//! ne lt le gt ge print printf println html js urlquery`) and the docker CLI's
//! (`json split join title lower upper pad truncate`, from `templates/templates.go`).

use super::print::{self, sprint, sprintf, sprintln, write_v};
use super::value::{Buf, JsonBuf, Val};
use super::MAX_WIDTH;
use std::rc::Rc;

/// Every function name, with its fewest and most arguments (`None`: any number).
const FUNCS: [(&str, usize, Option<usize>); 26] = [
    ("and", 1, None),
    ("or", 1, None),
    ("not", 1, Some(1)),
    ("len", 1, Some(1)),
    ("index", 1, None),
    ("slice", 1, None),
    ("eq", 1, None),
    ("ne", 2, Some(2)),
    ("lt", 2, Some(2)),
    ("le", 2, Some(2)),
    ("gt", 2, Some(2)),
    ("ge", 2, Some(2)),
    ("print", 0, None),
    ("printf", 1, None),
    ("println", 0, None),
    ("html", 0, None),
    ("js", 0, None),
    ("urlquery", 0, None),
    ("json", 1, Some(1)),
    ("split", 2, Some(2)),
    ("join", 2, Some(2)),
    ("title", 1, Some(1)),
    ("lower", 1, Some(1)),
    ("upper", 1, Some(1)),
    ("pad", 3, Some(3)),
    ("truncate", 2, Some(2)),
];

fn entry(name: &str) -> Option<(&'static str, usize, Option<usize>)> {
    FUNCS.iter().find(|f| f.0 == name).copied()
}

/// Whether a template may call `name` (the parser refuses others, as Go does).
pub(crate) fn exists(name: &str) -> bool {
    entry(name).is_some()
}

/// Go's arity check: `wrong number of args for pad: want 3 got 1`.
pub(crate) fn check_arity(name: &str, got: usize) -> Result<(), String> {
    let Some((_, min, max)) = entry(name) else {
        return Err(format!("function {name:?} not defined"));
    };
    match max {
        Some(n) if got != n => Err(format!(
            "wrong number of args for {name}: want {n} got {got}"
        )),
        None if got < min => Err(format!(
            "wrong number of args for {name}: want at least {min} got {got}"
        )),
        _ => Ok(()),
    }
}

/// Docker's functions that print a table header unchanged (`HeaderFunctions`); `pad` is not
/// among them, so that headers stay aligned with their columns.
pub(crate) fn header_identity(name: &str) -> bool {
    matches!(
        name,
        "json" | "split" | "join" | "title" | "lower" | "upper" | "truncate"
    )
}

fn want_str<'v>(v: &'v Val) -> Result<&'v str, String> {
    match v {
        Val::Null | Val::Missing => Err("invalid value; expected string".into()),
        v => v.as_str().ok_or_else(|| {
            format!(
                "wrong type for value; expected string; got {}",
                v.type_name()
            )
        }),
    }
}

fn want_int(v: &Val) -> Result<i128, String> {
    v.as_int()
        .ok_or_else(|| format!("wrong type for value; expected int; got {}", v.type_name()))
}

/// Calls `name` (not `and`/`or`, which the executor short-circuits) on evaluated arguments,
/// writing any text it makes into `b`. `Ok(None)` means the result is `b`'s text.
pub(crate) fn call<'a>(
    name: &str,
    args: &[Val<'a>],
    b: &mut Buf,
) -> Result<Option<Val<'a>>, String> {
    let calling = |e: String| format!("error calling {name}: {e}");
    Ok(Some(match name {
        "not" => Val::Bool(!args[0].truth()),
        "len" => Val::Int(len(&args[0]).map_err(calling)? as i128),
        "index" => index(&args[0], &args[1..]).map_err(calling)?,
        "slice" => slice(&args[0], &args[1..]).map_err(calling)?,
        "eq" => {
            if args.len() < 2 {
                return Err(calling("missing argument for comparison".into()));
            }
            let mut any = false;
            for a in &args[1..] {
                any |= eq(&args[0], a).map_err(calling)?;
            }
            Val::Bool(any)
        }
        "ne" => Val::Bool(!eq(&args[0], &args[1]).map_err(calling)?),
        "lt" => Val::Bool(lt(&args[0], &args[1]).map_err(calling)?),
        "le" => Val::Bool(
            lt(&args[0], &args[1]).map_err(calling)? || eq(&args[0], &args[1]).map_err(calling)?,
        ),
        "gt" => Val::Bool(
            !(lt(&args[0], &args[1]).map_err(calling)?
                || eq(&args[0], &args[1]).map_err(calling)?),
        ),
        "ge" => Val::Bool(!lt(&args[0], &args[1]).map_err(calling)?),
        "print" => {
            sprint(b, args);
            return Ok(None);
        }
        "println" => {
            sprintln(b, args);
            return Ok(None);
        }
        "printf" => {
            let format = want_str(&args[0])?;
            sprintf(b, format, &args[1..]).map_err(calling)?;
            return Ok(None);
        }
        "html" | "js" | "urlquery" => {
            let mut text = Buf::new(b.remaining());
            let s = match args {
                [a] if a.is_string() => a.as_str().unwrap_or(""),
                _ => {
                    sprint(&mut text, args);
                    &text.s
                }
            };
            match name {
                "html" => print::html(b, s),
                "js" => print::js(b, s),
                _ => print::urlquery(b, s),
            }
            b.over |= text.over;
            return Ok(None);
        }
        "json" => {
            json(b, &args[0]);
            if b.s.contains(['\u{2028}', '\u{2029}']) {
                // Go's encoder escapes these even without HTML escaping.
                b.s =
                    b.s.replace('\u{2028}', "\\u2028")
                        .replace('\u{2029}', "\\u2029");
            }
            return Ok(None);
        }
        "split" => {
            let s = want_str(&args[0])?;
            let sep = want_str(&args[1])?;
            let parts: Vec<Val> = if sep.is_empty() {
                s.chars().map(|c| Val::str(c.to_string())).collect()
            } else {
                s.split(sep).map(Val::str).collect()
            };
            Val::List(Rc::from(parts))
        }
        "join" => {
            let sep = want_str(&args[1])?;
            match &args[0] {
                Val::Null | Val::Missing => {}
                l @ (Val::List(_) | Val::DList(_)) => {
                    for i in 0..l.list_len().unwrap_or(0) {
                        if b.over {
                            break;
                        }
                        if i > 0 {
                            b.push_str(sep);
                        }
                        write_v(b, &l.list_get(i).unwrap_or(Val::Null));
                    }
                }
                v => {
                    return Err(format!(
                        "wrong type for value; expected []string; got {}",
                        v.type_name()
                    ))
                }
            }
            return Ok(None);
        }
        "title" => {
            title(b, want_str(&args[0])?);
            return Ok(None);
        }
        "lower" => {
            b.push_str(&want_str(&args[0])?.to_lowercase());
            return Ok(None);
        }
        "upper" => {
            b.push_str(&want_str(&args[0])?.to_uppercase());
            return Ok(None);
        }
        "pad" => {
            let s = want_str(&args[0])?;
            let (l, r) = (want_int(&args[1])?, want_int(&args[2])?);
            for n in [l, r] {
                if n < 0 {
                    return Err(calling("strings: negative Repeat count".into()));
                }
                if n > MAX_WIDTH as i128 {
                    return Err(calling(format!(
                        "padding {n} is over the limit of {MAX_WIDTH}"
                    )));
                }
            }
            if !s.is_empty() {
                b.repeat(' ', l as usize);
                b.push_str(s);
                b.repeat(' ', r as usize);
            }
            return Ok(None);
        }
        "truncate" => {
            let s = want_str(&args[0])?;
            let n = want_int(&args[1])?;
            if n < 0 {
                return Err(calling(format!("slice bounds out of range [:{n}]")));
            }
            let mut end = usize::try_from(n).unwrap_or(usize::MAX).min(s.len());
            // Go cuts bytes; a cut inside a character keeps the characters before it.
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            b.push_str(&s[..end]);
            return Ok(None);
        }
        _ => return Err(format!("function {name:?} not defined")),
    }))
}

/// Go's `len`: bytes of a string, elements of a list or map.
fn len(v: &Val) -> Result<usize, String> {
    match v {
        Val::Str(s) => Ok(s.len()),
        Val::DStr(s) => Ok(s.len()),
        Val::List(_) | Val::DList(_) => Ok(v.list_len().unwrap_or(0)),
        Val::Map(m) => Ok(m.len()),
        Val::Null | Val::Missing => Err("len of nil pointer".into()),
        v => Err(format!("len of type {}", v.type_name())),
    }
}

/// Go's `index`: `index .M "k"`, `index .L 1`, `index .S 0` (a byte), several steps at once.
/// A key the map does not have gives `<no value>`, or "" when every value of the map is a
/// string (Docker's `map[string]string` labels, whose zero value prints empty); so does any
/// key of a null map.
fn index<'a>(item: &Val<'a>, idx: &[Val<'a>]) -> Result<Val<'a>, String> {
    let mut v = item.clone();
    for i in idx {
        v = match &v {
            Val::List(_) | Val::DList(_) => {
                let n = i.as_int().ok_or_else(|| {
                    format!("cannot index slice/array with type {}", i.type_name())
                })?;
                usize::try_from(n)
                    .ok()
                    .and_then(|n| v.list_get(n))
                    .ok_or_else(|| format!("index out of range: {n}"))?
            }
            Val::Map(m) => {
                let k = i
                    .as_str()
                    .ok_or_else(|| format!("value has type {}; should be string", i.type_name()))?;
                match m.get(k) {
                    Some(x) => Val::data(x),
                    None if m.values().all(serde_json::Value::is_string) => Val::str(""),
                    None => Val::Missing,
                }
            }
            Val::Str(_) | Val::DStr(_) => {
                let s = v.as_str().unwrap_or("");
                let n = i
                    .as_int()
                    .ok_or_else(|| format!("cannot index string with type {}", i.type_name()))?;
                let byte = usize::try_from(n)
                    .ok()
                    .and_then(|n| s.as_bytes().get(n))
                    .ok_or_else(|| format!("index out of range: {n}"))?;
                Val::Int((*byte).into())
            }
            Val::Null if i.is_string() => Val::str(""),
            Val::Null | Val::Missing => return Err("index of untyped nil".into()),
            v => return Err(format!("can't index item of type {}", v.type_name())),
        };
    }
    Ok(v)
}

/// Go's `slice`: `slice x 1 2` is `x[1:2]` for strings and lists (`x[i:j:k]` for lists).
fn slice<'a>(item: &Val<'a>, idx: &[Val<'a>]) -> Result<Val<'a>, String> {
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let len = match item {
        Val::Str(_) | Val::DStr(_) => {
            if idx.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            item.as_str().unwrap_or("").len()
        }
        Val::List(_) | Val::DList(_) => item.list_len().unwrap_or(0),
        Val::Null | Val::Missing => return Err("slice of untyped nil".into()),
        v => return Err(format!("can't slice item of type {}", v.type_name())),
    };
    let mut at = [0, len, len];
    for (k, i) in idx.iter().enumerate() {
        let n = i
            .as_int()
            .ok_or_else(|| format!("cannot index slice/array with type {}", i.type_name()))?;
        at[k] = usize::try_from(n)
            .ok()
            .filter(|n| *n <= len)
            .ok_or_else(|| format!("index out of range: {n}"))?;
    }
    if at[0] > at[1] {
        return Err(format!("invalid slice index: {} > {}", at[0], at[1]));
    }
    if idx.len() == 3 && at[1] > at[2] {
        return Err(format!("invalid slice index: {} > {}", at[1], at[2]));
    }
    let (i, j) = (at[0], at[1]);
    Ok(match item {
        Val::Str(s) => sub_str(s, i, j).map(Val::str)?,
        Val::DStr(s) => sub_str(s, i, j).map(Val::DStr)?,
        Val::DList(l) => Val::DList(&l[i..j]),
        Val::List(l) => Val::List(Rc::from(&l[i..j])),
        _ => unreachable!("checked above"),
    })
}

fn sub_str(s: &str, i: usize, j: usize) -> Result<&str, String> {
    s.get(i..j)
        .ok_or_else(|| format!("slice [{i}:{j}] splits a UTF-8 sequence"))
}

/// Go's `eq` for two values: basic kinds compare by value (numbers as numbers, whatever their
/// kind); nil equals only nil; lists and maps are not comparable.
pub(crate) fn eq(a: &Val, b: &Val) -> Result<bool, String> {
    let nil = |v: &Val| matches!(v, Val::Null | Val::Missing);
    match (a, b) {
        _ if nil(a) || nil(b) => Ok(nil(a) && nil(b)),
        (Val::Bool(x), Val::Bool(y)) => Ok(x == y),
        (Val::Int(x), Val::Int(y)) => Ok(x == y),
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => Ok(a.as_f64() == b.as_f64()),
        _ if a.is_string() && b.is_string() => Ok(a.as_str() == b.as_str()),
        (Val::List(_) | Val::DList(_) | Val::Map(_), _) => {
            Err(format!("non-comparable type {}", a.type_name()))
        }
        (_, Val::List(_) | Val::DList(_) | Val::Map(_)) => {
            Err(format!("non-comparable type {}", b.type_name()))
        }
        _ => Err("incompatible types for comparison".into()),
    }
}

/// Go's `lt`: numbers and strings only.
fn lt(a: &Val, b: &Val) -> Result<bool, String> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Ok(x < y),
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => Ok(a.as_f64() < b.as_f64()),
        _ if a.is_string() && b.is_string() => Ok(a.as_str() < b.as_str()),
        (
            Val::Int(_) | Val::Float(_) | Val::Str(_) | Val::DStr(_),
            Val::Int(_) | Val::Float(_) | Val::Str(_) | Val::DStr(_),
        ) => Err("incompatible types for comparison".into()),
        _ => Err("invalid type for comparison".into()),
    }
}

/// Docker's `json`: Go's encoder without HTML escaping and without the trailing newline.
fn json(b: &mut Buf, v: &Val) {
    // An error from serde_json only means the budget ran out; `b.over` says so.
    let _ = match v {
        Val::Missing | Val::Null => serde_json::to_writer(JsonBuf(b), &()),
        Val::Bool(x) => serde_json::to_writer(JsonBuf(b), x),
        Val::Int(i) => serde_json::to_writer(JsonBuf(b), i),
        Val::Float(f) => serde_json::to_writer(JsonBuf(b), &serde_json::Number::from_f64(*f)),
        Val::Str(s) => serde_json::to_writer(JsonBuf(b), &**s),
        Val::DStr(s) => serde_json::to_writer(JsonBuf(b), s),
        Val::DList(l) => serde_json::to_writer(JsonBuf(b), l),
        Val::Map(m) => serde_json::to_writer(JsonBuf(b), m),
        Val::List(l) => {
            b.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    b.push(',');
                }
                json(b, x);
            }
            b.push(']');
            Ok(())
        }
    };
}

/// Go's `strings.Title`: upper-cases the first letter of each word; a word starts after a
/// character that is not a letter, digit, `_` or (for non-ASCII) not white space.
fn title(b: &mut Buf, s: &str) {
    let mut prev = ' ';
    for c in s.chars() {
        let sep = if prev.is_ascii() {
            !(prev.is_ascii_alphanumeric() || prev == '_')
        } else {
            !(prev.is_alphanumeric()) && prev.is_whitespace()
        };
        if sep {
            for u in c.to_uppercase() {
                b.push(u);
            }
        } else {
            b.push(c);
        }
        prev = c;
    }
}
