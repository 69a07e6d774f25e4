//! The sandbox's Dockerfile mode: a Dockerfile explained without running anything, with the
//! pure `dockerfile` crate the builder uses. Each instruction is classified by what the classic
//! builder will make of it: a layer (`RUN`, `COPY`, `ADD`), a change to the image's config only
//! (an `empty_layer` history row shown as `#(nop)`), or the base a stage starts from; parse
//! errors come back all at once with their line and column.

use dockerfile::{Kind, ParseError};

/// What the builder makes of one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `FROM`: the stage starts from that image's layers (none for `scratch`).
    Base,
    /// A new layer (`RUN`, `COPY`, `ADD`).
    Layer,
    /// Only the config changes: a `#(nop)` history row of 0 B, no layer.
    Config,
    /// `ARG` before the first `FROM`: a value for `FROM` lines, no step of any image.
    BuildArg,
}

impl Effect {
    /// The label the page shows.
    pub fn label(self) -> &'static str {
        match self {
            Effect::Base => "base",
            Effect::Layer => "layer",
            Effect::Config => "config only",
            Effect::BuildArg => "build arg",
        }
    }
}

/// One explained instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explained {
    /// First line (1-based).
    pub line: usize,
    /// Last line (continuations, heredocs).
    pub end_line: usize,
    /// `RUN`, `FROM`, …
    pub keyword: &'static str,
    /// As written, continuations joined.
    pub text: String,
    /// Its effect.
    pub effect: Effect,
    /// Why, in a sentence.
    pub why: String,
    /// The stage (0-based); meta args are in stage 0.
    pub stage: usize,
}

/// A whole Dockerfile explained: every instruction, and the count of layers each stage adds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Explanation {
    /// In file order.
    pub rows: Vec<Explained>,
    /// Per stage: (its name or base, layers its instructions add).
    pub stages: Vec<(String, usize)>,
}

/// One parse error as the page shows it: `line 2, column 1: unknown instruction: FORM`.
pub fn error_text(e: &ParseError) -> String {
    format!("line {}, column {}: {}", e.line, e.column, e.message)
}

fn why(kind: &Kind) -> String {
    match kind {
        Kind::Run(_) => "runs a command in a container of the image so far; what it changes on disk is committed as a new layer".into(),
        Kind::Copy(c) if c.from.is_some() => "copies files from another stage or image into a new layer".into(),
        Kind::Copy(_) => "copies files from the build context into a new layer".into(),
        Kind::Add(_) => "copies files (a local tar is unpacked, a URL fetched) into a new layer".into(),
        Kind::Workdir(_) => "sets the working directory in the config (the builder makes the directory when it is missing, a small layer)".into(),
        Kind::Arg(_) => "declares a build variable: a #(nop) history row, no layer".into(),
        Kind::Onbuild(_) => "records a trigger in the config for images built FROM this one; no layer".into(),
        Kind::Maintainer(_) => "sets the image's author; no layer".into(),
        k => format!("changes the image's config ({}); a #(nop) history row of 0 B, no layer", k.keyword()),
    }
}

/// Explains `text`, or every parse error with its line and column.
pub fn explain(text: &str) -> Result<Explanation, Vec<ParseError>> {
    let df = dockerfile::parse_all(text)?;
    let mut out = Explanation::default();
    for a in &df.meta_args {
        // meta args carry no line of their own in the tree: find the `ARG` line that names them
        let line = text
            .lines()
            .position(|l| {
                let l = l.trim_start();
                l.len() > 4
                    && l[..4].eq_ignore_ascii_case("ARG ")
                    && l[4..].trim_start().starts_with(a.name.as_str())
            })
            .map_or(0, |i| i + 1);
        out.rows.push(Explained {
            line,
            end_line: line,
            keyword: "ARG",
            text: match &a.default {
                Some(d) => format!("ARG {}={d}", a.name),
                None => format!("ARG {}", a.name),
            },
            effect: Effect::BuildArg,
            why: "before the first FROM: a value FROM lines can use; not a step of any image"
                .into(),
            stage: 0,
        });
    }
    for (n, s) in df.stages.iter().enumerate() {
        let base = if s.base.eq_ignore_ascii_case("scratch") {
            "starts from nothing (scratch): no layer below".to_string()
        } else {
            format!("starts from {}'s layers and config", s.base)
        };
        out.rows.push(Explained {
            line: s.line,
            end_line: s.line,
            keyword: "FROM",
            text: match &s.name {
                Some(name) => format!("FROM {} AS {name}", s.base),
                None => format!("FROM {}", s.base),
            },
            effect: Effect::Base,
            why: base,
            stage: n,
        });
        let mut layers = 0;
        for i in &s.instructions {
            let effect = if i.kind.makes_layer() {
                layers += 1;
                Effect::Layer
            } else {
                Effect::Config
            };
            out.rows.push(Explained {
                line: i.line,
                end_line: i.end_line,
                keyword: i.kind.keyword(),
                text: i.original.clone(),
                effect,
                why: why(&i.kind),
                stage: n,
            });
        }
        out.stages
            .push((s.name.clone().unwrap_or_else(|| s.base.clone()), layers));
    }
    out.rows.sort_by_key(|r| r.line);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, want: &[(usize, &str, Effect)]) {
        let e = explain(text).unwrap();
        let got: Vec<(usize, &str, Effect)> = e
            .rows
            .iter()
            .map(|r| (r.line, r.keyword, r.effect))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn seed_004_has_three_layers_over_the_base() {
        let text = "FROM busybox\nRUN /bin/echo 'root:123456' > /tmp/pw\nRUN mkdir -p /opt/app\nCOPY app.sh /opt/app/\nENV APP=1\nEXPOSE 8080\nCMD [\"/opt/app/app.sh\"]\n";
        check(
            text,
            &[
                (1, "FROM", Effect::Base),
                (2, "RUN", Effect::Layer),
                (3, "RUN", Effect::Layer),
                (4, "COPY", Effect::Layer),
                (5, "ENV", Effect::Config),
                (6, "EXPOSE", Effect::Config),
                (7, "CMD", Effect::Config),
            ],
        );
        let e = explain(text).unwrap();
        assert_eq!(e.stages, [("busybox".to_string(), 3)]);
        assert!(e.rows[4].why.contains("#(nop)"));
    }

    #[test]
    fn stages_meta_args_and_continuations() {
        let text = "ARG BASE=busybox\nFROM ${BASE} AS b\nRUN echo a \\\n  && echo b\nWORKDIR /w\nFROM scratch\nCOPY --from=b /w /w\nLABEL a=b\n";
        check(
            text,
            &[
                (1, "ARG", Effect::BuildArg),
                (2, "FROM", Effect::Base),
                (3, "RUN", Effect::Layer),
                (5, "WORKDIR", Effect::Config),
                (6, "FROM", Effect::Base),
                (7, "COPY", Effect::Layer),
                (8, "LABEL", Effect::Config),
            ],
        );
        let e = explain(text).unwrap();
        assert_eq!(e.rows[2].end_line, 4);
        assert_eq!(e.rows[2].text, "RUN echo a   && echo b");
        assert_eq!(e.stages, [("b".to_string(), 1), ("scratch".to_string(), 1)]);
        assert!(e.rows[4].why.contains("scratch"));
    }

    #[test]
    fn every_parse_error_comes_with_its_line_and_column() {
        let errs = explain("FROM busybox\nFORM x\nRUN ok\nEXPOSE\n").unwrap_err();
        let texts: Vec<String> = errs.iter().map(error_text).collect();
        assert_eq!(
            texts[0],
            "line 2, column 1: unknown instruction: FORM (did you mean FROM?)"
        );
        assert!(texts.len() >= 2, "{texts:?}");
        assert!(texts[1].starts_with("line 4, column 1:"), "{texts:?}");
        let errs = explain("RUN x\n").unwrap_err();
        assert!(
            error_text(&errs[0]).starts_with("line 1, column 1:"),
            "{errs:?}"
        );
    }
}
