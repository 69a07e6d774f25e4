//! The Dockerfile front end: text in, a syntax tree out, with Docker's rules and texts.
//!
//! [`parse`] reads a Dockerfile the way Docker's parser does (moby/buildkit
//! `frontend/dockerfile/parser` plus its `instructions` layer): parser directives (`# syntax=`,
//! `# escape=`, `# check=`) at the very top only, comments at the start of a line (also between
//! continuation lines), line continuations with the escape character, JSON (exec) and shell forms,
//! heredocs (`RUN <<EOF`, `<<-EOF`, `<<"EOF"`), flags (`--from`, `--chown`, `--mount`, …),
//! `ENV`/`LABEL` in both forms, `ARG`s before the first `FROM` (meta args), multi-stage builds,
//! `ONBUILD` triggers and `HEALTHCHECK`. Errors carry a 1-based line and column and Docker's
//! wording (`unknown instruction: FORM`, `file with no instructions`, …).
//!
//! Variable substitution is **not** done at parse time: words are kept as written (quotes and
//! escapes included), because their values depend on `ARG`/`ENV`/`--build-arg` at build time. The
//! builder calls [`expand`] (one word, quotes removed) or [`expand_words`] (split into words, for
//! `EXPOSE`) on the words of the instructions whose [`Kind::substitutes`] is true, and on a
//! stage's `base` and `platform` with the meta args. [`parse`] does check every such word's
//! *syntax* (an unterminated `${`, a bad modifier), so a Dockerfile with a bad reference fails
//! before any container runs; `${VAR:?msg}` can only fail in [`expand`], when `VAR` is known.
//!
//! [`ignore`] holds `.dockerignore` patterns with moby/patternmatcher's rules.
//!
//! ```
//! let df = dockerfile::parse("FROM busybox AS base\nENV APP=1\nCMD [\"/app.sh\"]\n").unwrap();
//! assert_eq!(df.stages[0].name.as_deref(), Some("base"));
//! assert_eq!(df.stages[0].instructions[1].kind.keyword(), "CMD");
//! let env = |k: &str| (k == "APP").then(|| "1".to_string());
//! assert_eq!(dockerfile::expand("v=${APP:-0}", &env, df.escape).unwrap(), "v=1");
//! ```
//!
//! What it deliberately does not do: read files, run anything, resolve images, or decide what a
//! build produces (that is the builder's job, in the engine). It builds for
//! `wasm32-unknown-unknown` so the dashboard can explain a Dockerfile in the browser.
//!
//! The `dockerfile-parser` crate was evaluated and not used: it hard-wires `\` as the
//! continuation character (no `# escape=` directive), has no heredocs, no flags beyond `FROM`/
//! `COPY`, and treats `EXPOSE`, `VOLUME`, `ONBUILD`, `HEALTHCHECK`, `SHELL`, `STOPSIGNAL` as opaque.
//!
//! API notes for callers (additions to the agreed contract, nothing renamed):
//! [`Dockerfile::check`] (the `# check=` directive); [`ExpandError`]'s fields; [`parse_all`]
//! (every error at once); [`expand_heredoc`] (a `COPY <<EOF` body, quotes kept);
//! [`Dockerfile::stage_index`]; [`Run::shell_text`] (how Docker runs a `RUN` with heredocs);
//! [`ignore::Patterns::try_parse`] and [`ignore::PatternError`];
//! [`parse_duration`] for `HEALTHCHECK` durations; `CopySpec::sources` holds only paths (a
//! heredoc source such as `COPY <<EOF /dst` is in `heredocs`, not in `sources`).
//!
//! Where it knowingly differs from Docker: an `ONBUILD` trigger is parsed when declared (Docker
//! parses it when it runs in a child build, so `ONBUILD FORM x` fails here at once); substitution
//! syntax is checked at parse time (Docker finds it when it expands the word, before any `RUN`
//! with BuildKit, at that step with the classic builder); flags this crate has no field for are
//! refused as unknown (`COPY --parents`/`--exclude`, `ADD --keep-git-dir`/`--unpack`/`--exclude`,
//! `RUN --security`), as is any flag on `STOPSIGNAL` (Docker ignores it); `EXPOSE` keeps the
//! written order (Docker sorts the words); an error's line is the offending token's line.
#![deny(missing_docs)]

mod lex;
mod parse;

pub mod ignore;

use serde::Serialize;

pub use lex::{expand, expand_heredoc, expand_words, ExpandError};
pub use parse::{parse, parse_all, parse_duration};

/// A parse failure: where (1-based line and column, in characters) and what, in Docker's words.
///
/// `line` is the line of the offending token; for a token on a continuation line that is that
/// line, where Docker names the instruction's first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("Dockerfile parse error line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column (in characters) on that line.
    pub column: usize,
    /// What is wrong, with Docker's text where it has one.
    pub message: String,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dockerfile {
    /// The escape character: `\` by default, `` ` `` with `# escape=``.
    pub escape: char,
    /// The `# syntax=` directive, when present.
    pub syntax: Option<String>,
    /// The `# check=` directive, when present (kept, not interpreted).
    pub check: Option<String>,
    /// The `ARG`s before the first `FROM`: usable in `FROM` lines, and in a stage that
    /// re-declares them with a bare `ARG name`.
    pub meta_args: Vec<ArgDecl>,
    /// The build stages, in order; at least one.
    pub stages: Vec<Stage>,
}

/// One build stage: a `FROM` and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// The base image as written, unexpanded (`busybox`, `${BASE}`, `scratch`, or an earlier
    /// stage's name); substitute it with the meta args (Docker does).
    pub base: String,
    /// `AS name`, lowercased (Docker refers to stages case-insensitively).
    pub name: Option<String>,
    /// `--platform=…` as written, unexpanded.
    pub platform: Option<String>,
    /// The line of the `FROM`.
    pub line: usize,
    /// The instructions of the stage, in order (without the `FROM`).
    pub instructions: Vec<Instruction>,
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// The line the instruction starts on.
    pub line: usize,
    /// The line it ends on (continuations and heredoc bodies included).
    pub end_line: usize,
    /// The instruction as written, continuation lines joined (escape character and newline
    /// removed, comment lines dropped) and trimmed: what Docker's history shows. Heredoc bodies
    /// are not part of it (except for an `ONBUILD` trigger, as Docker stores it).
    pub original: String,
    /// What it is.
    pub kind: Kind,
}

/// The instruction's keyword and arguments. Words that [`Kind::substitutes`] are kept as written
/// (quotes, escapes and `$` references included): pass them through [`expand`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// `RUN`: the command is left to the shell (no substitution by the builder).
    Run(Run),
    /// `CMD`.
    Cmd(Command),
    /// `ENTRYPOINT`.
    Entrypoint(Command),
    /// `SHELL ["executable", "parameters"]` (JSON form only, at least one element).
    Shell(Vec<String>),
    /// `COPY`.
    Copy(CopySpec),
    /// `ADD`.
    Add(CopySpec),
    /// `ENV`: (key, value) pairs; the legacy form `ENV key the value` gives one pair whose value
    /// is the rest of the line. Keys and values are substituted (Docker expands both).
    Env(Vec<(String, String)>),
    /// `LABEL`: like `ENV`.
    Label(Vec<(String, String)>),
    /// `ARG name[=default] …`.
    Arg(Vec<ArgDecl>),
    /// `WORKDIR` (the rest of the line, spaces included).
    Workdir(String),
    /// `USER` (the rest of the line).
    User(String),
    /// `EXPOSE` ports as written (`80`, `80/tcp`, `${PORTS}`): expand each with
    /// [`expand_words`], one word may give several.
    Expose(Vec<String>),
    /// `VOLUME`: the JSON list or the space-separated words.
    Volume(Vec<String>),
    /// `STOPSIGNAL` (the rest of the line).
    StopSignal(String),
    /// `HEALTHCHECK`.
    Healthcheck(Healthcheck),
    /// `ONBUILD` and its trigger, parsed (its `original` is the text Docker stores in the image
    /// config's `OnBuild` list). `ONBUILD ONBUILD`, `ONBUILD FROM` and `ONBUILD MAINTAINER` are
    /// refused, as Docker does.
    Onbuild(Box<Instruction>),
    /// `MAINTAINER` (deprecated, kept as the image's author).
    Maintainer(String),
}

/// `RUN`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// The command: `RUN ["a","b"]` or `RUN a b`. With heredocs, the shell form holds the line as
    /// written (`<<EOF` or `cat <<EOF > /f`) and the bodies are in `heredocs`.
    pub command: Command,
    /// `--network=default|none|host`, as written.
    pub network: Option<String>,
    /// Every `--mount=…`, as written (parsed and kept; the classic builder has no mounts).
    pub mounts: Vec<String>,
    /// The heredocs, in order.
    pub heredocs: Vec<Heredoc>,
}

/// The two forms of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Command {
    /// JSON (exec) form: the argument vector, decoded.
    Exec(Vec<String>),
    /// Shell form: the text, run with the stage's `SHELL` (`/bin/sh -c` by default).
    Shell(String),
}

/// `COPY` and `ADD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopySpec {
    /// The source paths (globs, URLs for `ADD`), as written; heredoc sources are in `heredocs`.
    pub sources: Vec<String>,
    /// The destination, as written.
    pub dest: String,
    /// `--from=stage|image|index` (`COPY` only).
    pub from: Option<String>,
    /// `--chown=user[:group]`.
    pub chown: Option<String>,
    /// `--chmod=mode`.
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
    /// `--checksum=sha256:…` (`ADD` only).
    pub checksum: Option<String>,
    /// Inline files (`COPY <<EOF /dst`): each becomes a file named after its delimiter.
    pub heredocs: Vec<Heredoc>,
}

/// `ARG name[=default]` (also a meta arg before the first `FROM`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArgDecl {
    /// The name, as written.
    pub name: String,
    /// The default as written (quotes kept): expand it when the `ARG` is reached.
    pub default: Option<String>,
}

/// A heredoc body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heredoc {
    /// The delimiter word, quotes removed (`EOF`).
    pub name: String,
    /// The lines between the instruction and the delimiter, each with its newline; with
    /// `strip_tabs`, leading tabs already removed from every line.
    pub content: String,
    /// False when the delimiter was quoted (`<<"EOF"`, `<<'EOF'`): the body is taken literally.
    /// When true, Docker expands `$` references in a `COPY`/`ADD` body with the build's
    /// variables ([`expand_heredoc`]); a `RUN` body is left to the shell either way.
    pub expand: bool,
    /// `<<-EOF`: leading tabs are stripped from the body and the delimiter line.
    pub strip_tabs: bool,
}

/// `HEALTHCHECK`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable any check inherited from the base image.
    None,
    /// `HEALTHCHECK [--interval=…] … CMD command`.
    Check {
        /// The command (`CMD ["a"]` gives `Exec`, Docker's `CMD`; `CMD a` gives `Shell`,
        /// Docker's `CMD-SHELL`).
        test: Command,
        /// `--interval`, a Go duration (`30s`, `1m30s`), validated: see [`parse_duration`].
        interval: Option<String>,
        /// `--timeout`.
        timeout: Option<String>,
        /// `--start-period`.
        start_period: Option<String>,
        /// `--start-interval`.
        start_interval: Option<String>,
        /// `--retries`.
        retries: Option<u32>,
    },
}

impl Dockerfile {
    /// The stage a `COPY --from=`/`--target` name refers to: a stage name (case-insensitive, as
    /// Docker) or a stage index (`0`, `1`, …). `None` means it is not a stage (for `--from`, an
    /// image). Docker also requires a `--from` stage to come before the current one: the
    /// builder checks that.
    pub fn stage_index(&self, reference: &str) -> Option<usize> {
        let lower = reference.to_ascii_lowercase();
        if let Some(i) = self
            .stages
            .iter()
            .position(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            return Some(i);
        }
        if !reference.is_empty() && reference.bytes().all(|b| b.is_ascii_digit()) {
            return reference.parse().ok().filter(|i| *i < self.stages.len());
        }
        None
    }
}

impl Run {
    /// The text a shell-form `RUN` hands to the shell (`SHELL` + `[text]`), with the heredocs
    /// folded in as Docker does: a `RUN <<EOF` whose whole command is one heredoc runs the body
    /// itself; any other command gets each body and its delimiter appended on new lines, for the
    /// shell's own heredoc syntax. `None` for the exec form, and for a lone body starting with
    /// `#!`, which Docker writes to `/dev/pipes/<name>` (mode 0755) and runs as the command.
    pub fn shell_text(&self) -> Option<String> {
        let Command::Shell(line) = &self.command else {
            return None;
        };
        if self.heredocs.is_empty() {
            return Some(line.clone());
        }
        if parse::is_heredoc_word(line) {
            let body = &self.heredocs[0].content;
            return (!body.starts_with("#!")).then(|| body.clone());
        }
        let mut text = line.clone();
        for h in &self.heredocs {
            text.push('\n');
            text.push_str(&h.content);
            text.push_str(&h.name);
        }
        Some(text)
    }
}

impl Kind {
    /// The instruction's keyword, upper case (`RUN`).
    pub fn keyword(&self) -> &'static str {
        match self {
            Kind::Run(_) => "RUN",
            Kind::Cmd(_) => "CMD",
            Kind::Entrypoint(_) => "ENTRYPOINT",
            Kind::Shell(_) => "SHELL",
            Kind::Copy(_) => "COPY",
            Kind::Add(_) => "ADD",
            Kind::Env(_) => "ENV",
            Kind::Label(_) => "LABEL",
            Kind::Arg(_) => "ARG",
            Kind::Workdir(_) => "WORKDIR",
            Kind::User(_) => "USER",
            Kind::Expose(_) => "EXPOSE",
            Kind::Volume(_) => "VOLUME",
            Kind::StopSignal(_) => "STOPSIGNAL",
            Kind::Healthcheck(_) => "HEALTHCHECK",
            Kind::Onbuild(_) => "ONBUILD",
            Kind::Maintainer(_) => "MAINTAINER",
        }
    }

    /// Whether the instruction always changes the filesystem, so the classic builder commits a
    /// layer for it: `RUN`, `COPY`, `ADD`. Everything else is metadata (an `empty_layer` history
    /// row), except that Docker's classic builder also commits a layer for `WORKDIR` when it has
    /// to create the directory: that depends on the image, so this returns false for `WORKDIR`
    /// and the builder decides.
    pub fn makes_layer(&self) -> bool {
        matches!(self, Kind::Run(_) | Kind::Copy(_) | Kind::Add(_))
    }

    /// Whether the builder substitutes variables in the instruction's words (Docker's list:
    /// `ADD`, `COPY` (sources, destination and the `--from`/`--chown`/`--chmod`/`--checksum`
    /// values), `ENV`, `LABEL` (keys and values), `ARG` (defaults), `EXPOSE`, `STOPSIGNAL`,
    /// `USER`, `VOLUME`, `WORKDIR`; and `FROM`, which is a [`Stage`], with the meta args only).
    /// `RUN`, `CMD`, `ENTRYPOINT`, `SHELL`, `HEALTHCHECK` and `MAINTAINER` are left as written
    /// (the shell expands at run time). `ONBUILD` is false: its trigger is substituted when it
    /// runs in the child build, by its own kind.
    pub fn substitutes(&self) -> bool {
        matches!(
            self,
            Kind::Copy(_)
                | Kind::Add(_)
                | Kind::Env(_)
                | Kind::Label(_)
                | Kind::Arg(_)
                | Kind::Workdir(_)
                | Kind::User(_)
                | Kind::Expose(_)
                | Kind::Volume(_)
                | Kind::StopSignal(_)
        )
    }
}

#[cfg(test)]
mod tests;
