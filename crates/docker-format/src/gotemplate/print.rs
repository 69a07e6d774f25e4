//! Go's `fmt` as templates use it: `%v` (how `{{.X}}` prints), `Sprint`, `Sprintln`, `Sprintf`
//! with the common verbs, `strconv.Quote`, and the `html`, `js` and `urlquery` escapers.

use super::value::{sorted_keys, Buf, Val};
use super::MAX_WIDTH;

/// Writes `v` as Go's `%v` prints the value the docker CLI decoded: strings bare, integers
/// (and floats without a fraction) in decimal, other floats as Go's `%g` (`1.5`, `1e-05`),
/// `true`, `[a b]`, `map[k:v]` in key order, `<nil>`.
pub(crate) fn write_v(b: &mut Buf, v: &Val) {
    if b.over {
        return;
    }
    match v {
        Val::Missing => b.push_str("<no value>"),
        Val::Null => b.push_str("<nil>"),
        Val::Bool(x) => b.push_str(if *x { "true" } else { "false" }),
        Val::Int(i) => b.push_str(&i.to_string()),
        Val::Float(f) => b.push_str(&float_v(*f)),
        Val::Str(s) => b.push_str(s),
        Val::DStr(s) => b.push_str(s),
        Val::List(_) | Val::DList(_) | Val::Map(_) => write_composite(b, v, &mut |b, key, elem| {
            if let Some(k) = key {
                b.push_str(k);
                b.push(':');
            }
            write_v(b, elem);
        }),
    }
}

/// Go's `fmt.Sprint`: operands as `%v`, a space between two operands when neither is a string.
pub(crate) fn sprint(b: &mut Buf, args: &[Val]) {
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !a.is_string() && !args[i - 1].is_string() {
            b.push(' ');
        }
        write_v(b, a);
    }
}

/// Go's `fmt.Sprintln`: operands as `%v` separated by spaces, and a newline.
pub(crate) fn sprintln(b: &mut Buf, args: &[Val]) {
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            b.push(' ');
        }
        write_v(b, a);
    }
    b.push('\n');
}

/// A float as `%v`: without a fraction (and below 1e21) as an integer, else Go's shortest
/// `%g` (exponent form below 1e-4 and from 1e21 on… as Go: from an exponent of 6 for `%g`'s
/// shortest form when the value has a fraction).
pub(crate) fn float_v(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        return format!("{}", f as i128);
    }
    format_g(f, None, false)
}

/// Decimal digits of `|f|` without trailing zeros and the decimal point's position (`dp`:
/// value = 0.d1d2… × 10^dp), shortest or rounded to `prec` significant digits.
fn digits(f: f64, prec: Option<usize>) -> (String, i32) {
    if f == 0.0 {
        return (String::new(), 0);
    }
    let s = match prec {
        None => format!("{:e}", f.abs()),
        Some(p) => format!("{:.*e}", p.max(1) - 1, f.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let d: String = mant.chars().filter(char::is_ascii_digit).collect();
    let d = d.trim_end_matches('0').to_string();
    (d, exp + 1)
}

/// Go's `strconv.FormatFloat(f, 'g', prec, 64)` (`prec` None: shortest).
fn format_g(f: f64, prec: Option<usize>, upper: bool) -> String {
    if !f.is_finite() {
        return non_finite(f);
    }
    let (d, dp) = digits(f, prec);
    let nd = d.len() as i32;
    let shortest = prec.is_none();
    let mut p = prec.map_or(nd, |p| p.max(1) as i32);
    let mut eprec = p;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    if shortest {
        eprec = 6;
    }
    let exp = dp - 1;
    let neg = if f.is_sign_negative() { "-" } else { "" };
    if exp < -4 || exp >= eprec {
        if p > nd {
            p = nd;
        }
        let digit = |i: usize| d.as_bytes().get(i).map_or('0', |c| *c as char);
        let mut s = format!("{neg}{}", digit(0));
        if p > 1 {
            s.push('.');
            s.extend((1..p as usize).map(digit));
        }
        let e = if upper { 'E' } else { 'e' };
        let sign = if exp < 0 { '-' } else { '+' };
        s.push_str(&format!("{e}{sign}{:02}", exp.abs()));
        return s;
    }
    if p > dp {
        p = nd;
    }
    format!("{neg}{}", fixed(&d, dp, (p - dp).max(0) as usize))
}

/// Digits `d` with the point at `dp`, as `%f` with `frac` fraction digits.
fn fixed(d: &str, dp: i32, frac: usize) -> String {
    let digit = |i: i32| {
        if i < 0 {
            '0'
        } else {
            d.as_bytes().get(i as usize).map_or('0', |c| *c as char)
        }
    };
    let mut s = String::new();
    if dp <= 0 {
        s.push('0');
    } else {
        s.extend((0..dp).map(digit));
    }
    if frac > 0 {
        s.push('.');
        s.extend((0..frac as i32).map(|i| digit(dp + i)));
    }
    s
}

fn non_finite(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f > 0.0 {
        "+Inf".into()
    } else {
        "-Inf".into()
    }
}

/// Go's `strconv.Quote`: double quotes, Go escapes for quotes, backslashes and what is not
/// printable.
pub(crate) fn quote(s: &str) -> String {
    quote_with(s, '"')
}

fn quote_with(s: &str, q: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            c if c == q || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if !printable(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32))
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32))
                }
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// Close to Go's `unicode.IsPrint`: not a control, format, separator other than space, or
/// private-use character.
fn printable(c: char) -> bool {
    !(c.is_control()
        || matches!(c as u32, 0xad | 0x600..=0x605 | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb | 0xe000..=0xf8ff)
        || (c.is_whitespace() && c != ' '))
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html(b: &mut Buf, s: &str) {
    for c in s.chars() {
        match c {
            '"' => b.push_str("&#34;"),
            '\'' => b.push_str("&#39;"),
            '&' => b.push_str("&amp;"),
            '<' => b.push_str("&lt;"),
            '>' => b.push_str("&gt;"),
            '\0' => b.push('\u{fffd}'),
            c => b.push(c),
        }
    }
}

/// Go's `template.JSEscapeString`.
pub(crate) fn js(b: &mut Buf, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => b.push_str("\\\\"),
            '\'' => b.push_str("\\'"),
            '"' => b.push_str("\\\""),
            '<' => b.push_str("\\u003C"),
            '>' => b.push_str("\\u003E"),
            '&' => b.push_str("\\u0026"),
            '=' => b.push_str("\\u003D"),
            c if (c as u32) < 0x20 || !printable(c) => b.push_str(&format!("\\u{:04X}", c as u32)),
            c => b.push(c),
        }
    }
}

/// Go's `url.QueryEscape`.
pub(crate) fn urlquery(b: &mut Buf, s: &str) {
    for &c in s.as_bytes() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                b.push(c as char)
            }
            b' ' => b.push('+'),
            c => b.push_str(&format!("%{c:02X}")),
        }
    }
}

/// One verb's flags, width and precision.
#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    sharp: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%v %s %q %d %x %X %o %b %c %U %e %E %f %F
/// %g %G %t %T %%`, flags `- + # 0 space`, width and precision (each at most 10,000), and Go's
/// `%!d(string=x)`, `%!s(MISSING)` and `%!(EXTRA …)` notes for mismatches. Fails only on a
/// width or precision over the limit.
pub(crate) fn sprintf(b: &mut Buf, format: &str, args: &[Val]) -> Result<(), String> {
    let mut chars = format.chars().peekable();
    let mut argi = 0;
    while let Some(c) = chars.next() {
        if b.over {
            return Ok(());
        }
        if c != '%' {
            b.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        let number =
            |chars: &mut std::iter::Peekable<std::str::Chars>| -> Result<Option<usize>, String> {
                let mut n: Option<usize> = None;
                while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                    chars.next();
                    let v = n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize);
                    if v > MAX_WIDTH {
                        return Err(format!(
                            "width or precision {v}… is over the limit of {MAX_WIDTH}"
                        ));
                    }
                    n = Some(v);
                }
                Ok(n)
            };
        spec.width = number(&mut chars)?;
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.prec = Some(number(&mut chars)?.unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            b.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            b.push('%');
            continue;
        }
        match args.get(argi) {
            None => b.push_str(&format!("%!{verb}(MISSING)")),
            Some(a) => fmt_arg(b, verb, spec, a),
        }
        argi += 1;
    }
    if argi < args.len() {
        b.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                b.push_str(", ");
            }
            if matches!(a, Val::Null | Val::Missing) {
                b.push_str("<nil>");
            } else {
                b.push_str(a.type_name());
                b.push('=');
                write_v(b, a);
            }
        }
        b.push(')');
    }
    Ok(())
}

/// A list as Go's fmt prints one (`[a b]`) or a map (`map[k:v]`, keys sorted), each element
/// (with its key, for a map) written by `elem`; stops once the output is over its budget.
fn write_composite(b: &mut Buf, v: &Val, elem: &mut dyn FnMut(&mut Buf, Option<&str>, &Val)) {
    if let Val::Map(m) = v {
        b.push_str("map[");
        for (i, k) in sorted_keys(m).into_iter().enumerate() {
            if b.over {
                return;
            }
            if i > 0 {
                b.push(' ');
            }
            elem(b, Some(k), &Val::data(&m[k.as_str()]));
        }
    } else {
        b.push('[');
        for i in 0..v.list_len().unwrap_or(0) {
            if b.over {
                return;
            }
            if i > 0 {
                b.push(' ');
            }
            elem(b, None, &v.list_get(i).unwrap_or(Val::Null));
        }
    }
    b.push(']');
}

fn fmt_arg(b: &mut Buf, verb: char, spec: Spec, v: &Val) {
    if verb == 'T' {
        let t = match v {
            Val::Null | Val::Missing => "<nil>",
            v => v.type_name(),
        };
        return pad(b, t, spec, false);
    }
    match v {
        Val::List(_) | Val::DList(_) | Val::Map(_) => write_composite(b, v, &mut |b, key, elem| {
            if let Some(k) = key {
                fmt_arg(b, verb, spec, &Val::DStr(k));
                b.push(':');
            }
            fmt_arg(b, verb, spec, elem);
        }),
        Val::Null | Val::Missing => match verb {
            'v' => pad(b, "<nil>", spec, false),
            _ => b.push_str(&format!("%!{verb}(<nil>)")),
        },
        Val::Bool(x) => match verb {
            't' | 'v' => pad(b, if *x { "true" } else { "false" }, spec, false),
            _ => bad(b, verb, v),
        },
        Val::Str(_) | Val::DStr(_) => {
            let s = v.as_str().unwrap_or("");
            match verb {
                'v' if spec.sharp => pad(b, &quote(s), spec, false),
                's' | 'v' => pad(b, truncate_runes(s, spec.prec), spec, false),
                'q' => pad(b, &quote(truncate_runes(s, spec.prec)), spec, false),
                'x' | 'X' => {
                    let bytes = &s.as_bytes()[..spec.prec.unwrap_or(usize::MAX).min(s.len())];
                    let mut h = String::new();
                    for (i, byte) in bytes.iter().enumerate() {
                        if spec.space && i > 0 {
                            h.push(' ');
                        }
                        if spec.sharp && (spec.space || i == 0) {
                            h.push_str(if verb == 'x' { "0x" } else { "0X" });
                        }
                        if verb == 'x' {
                            h.push_str(&format!("{byte:02x}"));
                        } else {
                            h.push_str(&format!("{byte:02X}"));
                        }
                    }
                    pad(b, &h, spec, false)
                }
                _ => bad(b, verb, v),
            }
        }
        Val::Int(_) | Val::Float(_) => number(b, verb, spec, v),
    }
}

/// Numbers: integer verbs for ints (and floats without a fraction), float verbs for both.
fn number(b: &mut Buf, verb: char, spec: Spec, v: &Val) {
    let f = v.as_f64().unwrap_or(0.0);
    match (verb, v.as_int()) {
        ('v', _) if matches!(v, Val::Float(_)) && spec.prec.is_some() => float(b, 'g', spec, f),
        ('v', _) if matches!(v, Val::Float(_)) => {
            let s = float_v(f);
            signed(b, s.strip_prefix('-').unwrap_or(&s), f < 0.0, spec)
        }
        ('d' | 'v', Some(i)) => integer(b, i, 10, false, spec),
        ('b', Some(i)) => integer(b, i, 2, false, spec),
        ('o' | 'O', Some(i)) => {
            let mut spec = spec;
            if verb == 'O' {
                spec.sharp = false;
                let digits = format!("0o{:o}", i.unsigned_abs());
                return signed(b, &digits, i < 0, spec);
            }
            integer(b, i, 8, false, spec)
        }
        ('x', Some(i)) => integer(b, i, 16, false, spec),
        ('X', Some(i)) => integer(b, i, 16, true, spec),
        ('c', Some(i)) => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            pad(b, c.encode_utf8(&mut [0; 4]), spec, false)
        }
        ('q', Some(i)) => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            pad(b, &quote_with(&c.to_string(), '\''), spec, false)
        }
        ('U', Some(i)) => pad(b, &format!("U+{:04X}", i.max(0)), spec, false),
        ('e' | 'E' | 'f' | 'F' | 'g' | 'G', _) => float(b, verb, spec, f),
        _ => bad(b, verb, v),
    }
}

fn integer(b: &mut Buf, i: i128, radix: u32, upper: bool, spec: Spec) {
    let abs = i.unsigned_abs();
    let mut digits = match (radix, upper) {
        (2, _) => format!("{abs:b}"),
        (8, _) => format!("{abs:o}"),
        (16, false) => format!("{abs:x}"),
        (16, true) => format!("{abs:X}"),
        _ => abs.to_string(),
    };
    if let Some(p) = spec.prec {
        if p == 0 && abs == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    if spec.sharp {
        match (radix, upper) {
            (2, _) => digits.insert_str(0, "0b"),
            (8, _) if !digits.starts_with('0') => digits.insert(0, '0'),
            (16, false) => digits.insert_str(0, "0x"),
            (16, true) => digits.insert_str(0, "0X"),
            _ => {}
        }
    }
    let mut spec = spec;
    if spec.prec.is_some() {
        // Go: a precision turns off zero padding for integers.
        spec.zero = false;
    }
    signed(b, &digits, i < 0, spec)
}

fn float(b: &mut Buf, verb: char, spec: Spec, f: f64) {
    if !f.is_finite() {
        let s = non_finite(f);
        let mut spec = spec;
        spec.zero = false;
        return signed(b, s.trim_start_matches(['+', '-']), f < 0.0, spec);
    }
    let body = match verb {
        'e' | 'E' => {
            let s = format!("{:.*e}", spec.prec.unwrap_or(6), f.abs());
            let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
            let e: i32 = e.parse().unwrap_or(0);
            let sign = if e < 0 { '-' } else { '+' };
            let ch = if verb == 'e' { 'e' } else { 'E' };
            format!("{m}{ch}{sign}{:02}", e.abs())
        }
        'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), f.abs()),
        _ => format_g(f.abs(), spec.prec, verb == 'G'),
    };
    signed(b, &body, f.is_sign_negative() && f != 0.0, spec)
}

/// Pads a number's digits with its sign as Go does: `+`/space flags, zeros after the sign.
fn signed(b: &mut Buf, digits: &str, neg: bool, spec: Spec) {
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let len = sign.len() + digits.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        b.push_str(sign);
        b.push_str(digits);
    } else if spec.minus {
        b.push_str(sign);
        b.push_str(digits);
        b.repeat(' ', width - len);
    } else if spec.zero {
        b.push_str(sign);
        b.repeat('0', width - len);
        b.push_str(digits);
    } else {
        b.repeat(' ', width - len);
        b.push_str(sign);
        b.push_str(digits);
    }
}

/// Pads to the width in runes (`-` on the right). Go ignores `0` for strings.
fn pad(b: &mut Buf, s: &str, spec: Spec, _numeric: bool) {
    let len = s.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        b.push_str(s);
    } else if spec.minus {
        b.push_str(s);
        b.repeat(' ', width - len);
    } else {
        b.repeat(' ', width - len);
        b.push_str(s);
    }
}

fn truncate_runes(s: &str, prec: Option<usize>) -> &str {
    match prec.and_then(|p| s.char_indices().nth(p)) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Go's note for a verb that does not fit the value: `%!d(string=abc)`.
fn bad(b: &mut Buf, verb: char, v: &Val) {
    b.push_str(&format!("%!{verb}({}=", v.type_name()));
    write_v(b, v);
    b.push(')');
}
