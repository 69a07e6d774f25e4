//! The text fixture format for layer stacks: parsing it into changesets and writing real tars.

use crate::{Diagnostic, UnionError};
use layer_diff::{
    parse_tar_name, write_changeset, Changeset, Content, Entry, EntryKind, ReadOptions, TarName,
};
use oci_model::Sha256Writer;
use std::collections::BTreeMap;
use std::io::{self, Read};

/// Parses a fixture (grammar in the crate doc) into one changeset per layer, bottom first,
/// each in canonical order. Every problem is reported, each with its line.
pub fn parse(text: &str) -> Result<Vec<Changeset>, UnionError> {
    let mut layers: Vec<Changeset> = Vec::new();
    let mut seen: Vec<BTreeMap<(String, u8), usize>> = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let mut fail = |message: String| {
            errors.push(Diagnostic {
                line: line_no,
                message,
            })
        };
        let tokens = match tokenize(line) {
            Ok(t) if t.is_empty() => continue,
            Ok(t) => t,
            Err(message) => {
                fail(message);
                continue;
            }
        };
        if tokens[0].is_word("layer") {
            let want = layers.len() + 1;
            match tokens.get(1).and_then(|t| t.bare()) {
                Some(label) if tokens.len() == 2 && label.ends_with(':') => {
                    match label[..label.len() - 1].parse::<usize>() {
                        Ok(n) if n == want => {}
                        Ok(n) => fail(format!("layer {n} out of order: expected layer {want}")),
                        Err(_) => fail(format!("bad layer number {label:?}")),
                    }
                }
                _ => fail(format!("expected `layer {want}:`")),
            }
            layers.push(Changeset::new());
            seen.push(BTreeMap::new());
            continue;
        }
        let Some(cs) = layers.last_mut() else {
            fail("entry before the first `layer 1:` line".into());
            continue;
        };
        match parse_entry(&tokens) {
            Ok(entry) => {
                let class = match entry.kind {
                    EntryKind::Whiteout => 1,
                    EntryKind::Opaque => 2,
                    _ => 0,
                };
                let key = (entry.path.clone(), class);
                let seen = seen.last_mut().expect("a layer per changeset");
                if let Some(first) = seen.get(&key) {
                    fail(format!(
                        "/{} ({}) already listed at line {first}",
                        entry.path,
                        entry.kind.name()
                    ));
                } else {
                    seen.insert(key, line_no);
                    cs.push(entry);
                }
            }
            Err(message) => fail(message),
        }
    }
    if layers.is_empty() && errors.is_empty() {
        errors.push(Diagnostic {
            line: 1,
            message: "no `layer 1:` line".into(),
        });
    }
    if !errors.is_empty() {
        return Err(UnionError::Fixture(errors));
    }
    for cs in &mut layers {
        cs.sort();
    }
    Ok(layers)
}

/// Writes each changeset as a layer tar with [`write_changeset`]. Digest-only files are given
/// the synthetic content the fixture format generates for sized files (so changesets from
/// [`parse`] always work; others need inline contents).
pub fn tars(layers: &[Changeset]) -> Result<Vec<Vec<u8>>, UnionError> {
    layers
        .iter()
        .map(|cs| {
            let contents = |e: &Entry| -> Option<Box<dyn Read>> {
                Some(Box::new(Synthetic::new(&e.path, e.size())))
            };
            Ok(write_changeset(cs, &contents, Vec::new())?)
        })
        .collect()
}

/// The bytes of a sized fixture file: `"<path>\n"` (path with its leading `/`) repeated and cut
/// to the size.
struct Synthetic {
    pattern: Vec<u8>,
    pos: usize,
    left: u64,
}

impl Synthetic {
    fn new(path: &str, size: u64) -> Synthetic {
        Synthetic {
            pattern: format!("/{path}\n").into_bytes(),
            pos: 0,
            left: size,
        }
    }
}

impl Read for Synthetic {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() && self.left > 0 {
            buf[n] = self.pattern[self.pos];
            self.pos = (self.pos + 1) % self.pattern.len();
            self.left -= 1;
            n += 1;
        }
        Ok(n)
    }
}

/// A sized file: inline up to the decoder's default limit, digest-only above, so that
/// decoding [`tars`] with default options gives back the same changesets.
fn sized_file(path: &str, size: u64) -> EntryKind {
    let mut synthetic = Synthetic::new(path, size);
    let content = if size <= ReadOptions::default().keep_content_up_to {
        let mut bytes = Vec::new();
        synthetic.read_to_end(&mut bytes).expect("in-memory read");
        Content::Inline(bytes)
    } else {
        let mut hasher = Sha256Writer::new();
        io::copy(&mut synthetic, &mut hasher).expect("in-memory copy");
        Content::Digest(hasher.finish())
    };
    EntryKind::File { size, content }
}

/// A token of a fixture line: a bare word, a quoted string, or a word followed by a quoted
/// string (`xattr.user.a="v"`).
#[derive(Debug)]
struct Token {
    word: String,
    quoted: Option<Vec<u8>>,
}

impl Token {
    fn bare(&self) -> Option<&str> {
        self.quoted.is_none().then_some(self.word.as_str())
    }
    fn is_word(&self, w: &str) -> bool {
        self.bare() == Some(w)
    }
    fn describe(&self) -> String {
        match &self.quoted {
            None => format!("{:?}", self.word),
            Some(q) => format!("{}{:?}", self.word, String::from_utf8_lossy(q)),
        }
    }
}

/// Splits a line into tokens; `#` starting a token begins a comment.
fn tokenize(line: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(tokens),
            _ => {}
        }
        let mut word = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '"') {
            word.push(c);
        }
        let quoted = if chars.next_if_eq(&'"').is_some() {
            let mut bytes = Vec::new();
            loop {
                match chars.next() {
                    None => return Err("unterminated string".into()),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('n') => bytes.push(b'\n'),
                        Some('t') => bytes.push(b'\t'),
                        Some('r') => bytes.push(b'\r'),
                        Some('0') => bytes.push(0),
                        Some('\\') => bytes.push(b'\\'),
                        Some('"') => bytes.push(b'"'),
                        Some('x') => {
                            let hex: String = chars.by_ref().take(2).collect();
                            match u8::from_str_radix(&hex, 16) {
                                Ok(b) if hex.len() == 2 => bytes.push(b),
                                _ => return Err(format!("bad escape \\x{hex}")),
                            }
                        }
                        other => return Err(format!("bad escape \\{}", other.unwrap_or(' '))),
                    },
                    Some(c) => {
                        let mut buf = [0; 4];
                        bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                }
            }
            if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                return Err("text right after a closing quote".into());
            }
            Some(bytes)
        } else {
            None
        };
        tokens.push(Token { word, quoted });
    }
}

fn parse_number(s: &str) -> Option<u64> {
    let (digits, unit) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 1024),
        b'M' | b'm' => (&s[..s.len() - 1], 1024 * 1024),
        _ => (s, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

fn parse_device(token: Option<&Token>, what: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{what} wants MAJOR:MINOR");
    let (major, minor) = token
        .and_then(Token::bare)
        .and_then(|t| t.split_once(':'))
        .ok_or_else(bad)?;
    Ok((
        major.parse().map_err(|_| bad())?,
        minor.parse().map_err(|_| bad())?,
    ))
}

/// True for `key=value` tokens that set metadata.
fn is_attr(t: &Token) -> bool {
    let key = t.word.split_once('=').map_or("", |(k, _)| k);
    matches!(key, "mode" | "uid" | "gid" | "mtime") || key.starts_with("xattr.")
}

/// Parses `path [what] [attr=value…]`.
fn parse_entry(tokens: &[Token]) -> Result<Entry, String> {
    let raw = tokens[0]
        .bare()
        .ok_or_else(|| format!("expected a path, got {}", tokens[0].describe()))?;
    let name = parse_tar_name(raw).map_err(|e| e.to_string())?;
    let dir_slash = raw.ends_with('/');
    let mut rest = &tokens[1..];
    let what = rest.first().filter(|t| !is_attr(t));
    if what.is_some() {
        rest = &rest[1..];
    }
    let (path, kind) = match name {
        TarName::Meta => {
            return Err(format!(
                "{raw}: .wh..wh.* names other than the opaque marker mean nothing in a layer"
            ))
        }
        TarName::Whiteout(p) | TarName::Opaque(p) if what.is_some() => {
            return Err(format!("/{p}: a whiteout or opaque marker takes no type"))
        }
        TarName::Whiteout(p) => (p, EntryKind::Whiteout),
        TarName::Opaque(p) => (p, EntryKind::Opaque),
        TarName::Path(p) => {
            let kind = match what {
                None if dir_slash => EntryKind::Dir,
                None => {
                    return Err(format!(
                        "{raw}: say what it is: \"content\", a size, dir, -> target, => target, char M:m, block M:m or fifo"
                    ))
                }
                Some(t) if t.quoted.is_some() && t.word.is_empty() => {
                    let bytes = t.quoted.clone().unwrap_or_default();
                    EntryKind::File {
                        size: bytes.len() as u64,
                        content: Content::Inline(bytes),
                    }
                }
                Some(t) if t.is_word("dir") => EntryKind::Dir,
                Some(t) if t.is_word("fifo") => EntryKind::Fifo,
                Some(t) if t.is_word("->") || t.is_word("=>") => {
                    let target = rest.first().ok_or_else(|| format!("{raw}: {} needs a target", t.word))?;
                    rest = &rest[1..];
                    let target = match (&target.quoted, target.word.is_empty()) {
                        (None, _) => target.word.clone(),
                        (Some(q), true) => String::from_utf8(q.clone()).map_err(|_| "target is not UTF-8".to_string())?,
                        _ => return Err(format!("bad target {}", target.describe())),
                    };
                    if t.is_word("->") {
                        EntryKind::Symlink { target }
                    } else {
                        let target = layer_diff::normalize_path(&target).map_err(|e| e.to_string())?;
                        if target.is_empty() || target == p {
                            return Err(format!("{raw}: bad hardlink target /{target}"));
                        }
                        EntryKind::Hardlink { target }
                    }
                }
                Some(t) if t.is_word("char") || t.is_word("block") => {
                    let (major, minor) = parse_device(rest.first(), &t.word)?;
                    rest = &rest[1..];
                    if t.is_word("char") {
                        EntryKind::char_device(major, minor)
                    } else {
                        EntryKind::BlockDevice { major, minor }
                    }
                }
                Some(t) => match t.bare().and_then(parse_number) {
                    Some(size) => sized_file(&p, size),
                    None => return Err(format!("{raw}: unknown type {}", t.describe())),
                },
            };
            if dir_slash && !matches!(kind, EntryKind::Dir) {
                return Err(format!("{raw}: a path ending in / is a directory"));
            }
            if p.is_empty() && !matches!(kind, EntryKind::Dir) {
                return Err("the root must be a directory".into());
            }
            (p, kind)
        }
    };
    let mut entry = Entry::new(path, kind);
    for t in rest {
        let (key, value) = t
            .word
            .split_once('=')
            .filter(|_| is_attr(t))
            .ok_or_else(|| format!("expected key=value, got {}", t.describe()))?;
        let bad = || format!("bad {key} {}", t.describe());
        match key {
            "mode" => {
                entry.mode = u32::from_str_radix(value, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(bad)?
            }
            "uid" => entry.uid = value.parse().map_err(|_| bad())?,
            "gid" => entry.gid = value.parse().map_err(|_| bad())?,
            "mtime" => entry.mtime = value.parse().map_err(|_| bad())?,
            _ => {
                let name = &key["xattr.".len()..];
                if name.is_empty() {
                    return Err(bad());
                }
                let bytes = match &t.quoted {
                    Some(q) if value.is_empty() => q.clone(),
                    None => value.as_bytes().to_vec(),
                    Some(_) => return Err(bad()),
                };
                entry.xattrs.insert(name.to_string(), bytes);
            }
        }
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};
    use layer_diff::read_changeset;

    fn check(text: &str, expect: Expect) {
        let out = match parse(text) {
            Ok(layers) => layers
                .iter()
                .enumerate()
                .map(|(i, cs)| format!("layer {}:\n{cs}", i + 1))
                .collect::<String>(),
            Err(e) => e.to_string().replace("; ", "\n") + "\n",
        };
        expect.assert_eq(&out);
    }

    #[test]
    fn the_format() {
        check(
            r#"
            # a comment
            layer 1:
              /etc/passwd "root:x:0:0\n"   # inline content
              /bin/ls 12                   # a file of 12 bytes
              /usr/ dir
              /lib -> usr/lib
              /dev/null char 1:3 mode=0666
              /dev/sda block 8:0
              /run/ctl fifo
              /home/ mode=0700 uid=1000 gid=100 mtime=1700000000 xattr.user.a="x y" xattr.user.b=z
              /big 5K
              /bytes "\x00\xff\t\"\\"
            layer 2:
              /etc/.wh.passwd
              /usr/.wh..wh..opq
              /bin/sh => /bin/ls
              /.wh.tmp
            layer 3:
            "#,
            expect![[r#"
                layer 1:
                big file 5120 sha256:6bbd910d4321 0644 0:0 @0
                bin/ls file 12 "/bin/ls\n/bin" 0644 0:0 @0
                bytes file 5 "\0�\t\"\\" 0644 0:0 @0
                dev/null char 1:3 0666 0:0 @0
                dev/sda block 8:0 0644 0:0 @0
                etc/passwd file 11 "root:x:0:0\n" 0644 0:0 @0
                home dir 0700 1000:100 @1700000000 xattr.user.a="x y" xattr.user.b="z"
                lib symlink -> usr/lib 0777 0:0 @0
                run/ctl fifo 0644 0:0 @0
                usr dir 0755 0:0 @0
                layer 2:
                tmp whiteout 0000 0:0 @0
                bin/sh hardlink => bin/ls 0644 0:0 @0
                etc/passwd whiteout 0000 0:0 @0
                usr opaque 0000 0:0 @0
                layer 3:
            "#]],
        );
    }

    #[test]
    fn every_error_with_its_line() {
        check(
            r#"/early "x"
layer 2:
  /a
  /b/ 12
  /c wat
  /d "x
  /e "x" mode=0999
  /f -> 
  /g char 1
  /h "1"
  /h "2"
  /.wh.
  /../up "x"
  /i => /i
  /j/.wh.k dir
  /k "x"y
  /l "x" size=3
layer 4:
layer x:
"#,
            expect![[r#"
                fixture: line 1: entry before the first `layer 1:` line
                line 2: layer 2 out of order: expected layer 1
                line 3: /a: say what it is: "content", a size, dir, -> target, => target, char M:m, block M:m or fifo
                line 4: /b/: a path ending in / is a directory
                line 5: /c: unknown type "wat"
                line 6: unterminated string
                line 7: bad mode "mode=0999"
                line 8: /f: -> needs a target
                line 9: char wants MAJOR:MINOR
                line 11: /h (file) already listed at line 10
                line 12: path "/.wh.": whiteout names nothing
                line 13: path "/../up": escapes the root
                line 14: /i: bad hardlink target /i
                line 15: /j/k: a whiteout or opaque marker takes no type
                line 16: text right after a closing quote
                line 17: expected key=value, got "size=3"
                line 18: layer 4 out of order: expected layer 2
                line 19: bad layer number "x:"
            "#]],
        );
    }

    #[test]
    fn tars_decode_to_the_same_changesets() {
        let layers = parse(
            r#"
            layer 1:
              /etc/passwd "root:x:0:0\n" uid=0 gid=0
              /bin/ls 1200
              /bin/huge 10K
              /usr/lib/libc.so 300
              /lib -> usr/lib
            layer 2:
              /etc/.wh.passwd
              /usr/.wh..wh..opq
              /bin/sh => /bin/ls
            "#,
        )
        .unwrap();
        let tars = tars(&layers).unwrap();
        let back: Vec<Changeset> = tars
            .iter()
            .map(|t| read_changeset(t.as_slice()).unwrap())
            .collect();
        assert_eq!(back, layers);
        assert_eq!(tars, super::tars(&back).unwrap(), "deterministic");
    }
}
