//! The Dockerfile front end: `parse` on any text, then `expand`/`expand_words` on every word the
//! builder substitutes, and the same text read as `.dockerignore` patterns. Properties: nothing
//! panics; an error names a line and column inside the text; a word `parse` accepted (its
//! substitution syntax was checked) always expands when every variable is set.
#![no_main]

use dockerfile::{expand, expand_words, ignore::Patterns, parse, Instruction, Kind};
use libfuzzer_sys::fuzz_target;

fn set(name: &str) -> Option<String> {
    Some(format!("v {name}*/x"))
}

fn expands(word: &str, escape: char) {
    if let Err(e) = expand(word, &set, escape) {
        panic!("{word:?} passed the parse-time check but does not expand: {e}");
    }
    let _ = expand(word, &|_| None, escape);
}

fn instruction(i: &Instruction, escape: char) {
    match &i.kind {
        Kind::Copy(c) | Kind::Add(c) => {
            for w in c.sources.iter().chain([&c.dest]) {
                expands(w, escape);
            }
            for w in [&c.from, &c.chown, &c.chmod, &c.checksum].into_iter().flatten() {
                expands(w, escape);
            }
        }
        Kind::Env(kv) | Kind::Label(kv) => {
            for (k, v) in kv {
                expands(k, escape);
                expands(v, escape);
            }
        }
        Kind::Arg(args) => {
            for a in args {
                if let Some(d) = &a.default {
                    expands(d, escape);
                }
            }
        }
        Kind::Workdir(w) | Kind::User(w) | Kind::StopSignal(w) => expands(w, escape),
        Kind::Volume(v) => v.iter().for_each(|w| expands(w, escape)),
        Kind::Expose(v) => {
            for w in v {
                if let Err(e) = expand_words(w, &set, escape) {
                    panic!("{w:?} passed the parse-time check but does not split: {e}");
                }
            }
        }
        Kind::Onbuild(inner) => instruction(inner, escape),
        _ => {}
    }
    assert!(i.line <= i.end_line, "{i:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let lines = s.split('\n').count();
    match parse(s) {
        Ok(df) => {
            assert!(!df.stages.is_empty());
            for st in &df.stages {
                expands(&st.base, df.escape);
                if let Some(p) = &st.platform {
                    expands(p, df.escape);
                }
                for i in &st.instructions {
                    instruction(i, df.escape);
                }
            }
        }
        Err(e) => {
            assert!(e.line >= 1 && e.line <= lines.max(1), "{e:?} in {lines} lines");
            assert!(e.column >= 1, "{e:?}");
            let _ = e.to_string();
        }
    }
    // Each word also as one shell word, with both escape characters.
    for w in s.split_whitespace().take(64) {
        let _ = expand(w, &set, '\\');
        let _ = expand_words(w, &|_| None, '`');
    }
    let p = Patterns::parse(s);
    for line in s.lines().take(64) {
        let _ = p.matches(line);
    }
    let _ = p.has_exceptions();
});
