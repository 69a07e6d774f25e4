//! Unit tests: Dockerfiles (the Docker reference's examples and Docker's edge cases) checked
//! against a compact dump of the tree, and substitution tables with the results Docker gives.

use crate::*;
use expect_test::{expect, Expect};
use std::fmt::Write;

fn q(s: &str) -> String {
    format!("{s:?}")
}

fn command(c: &Command) -> String {
    match c {
        Command::Exec(v) => format!("exec{v:?}"),
        Command::Shell(s) => format!("sh {}", q(s)),
    }
}

fn heredocs(out: &mut String, hs: &[Heredoc]) {
    for h in hs {
        let _ = write!(
            out,
            " <<{}{}{} {}",
            if h.strip_tabs { "-" } else { "" },
            h.name,
            if h.expand { "" } else { "(literal)" },
            q(&h.content)
        );
    }
}

fn kind(k: &Kind) -> String {
    let mut o = k.keyword().to_string();
    match k {
        Kind::Run(r) => {
            if let Some(n) = &r.network {
                let _ = write!(o, " network={n}");
            }
            for m in &r.mounts {
                let _ = write!(o, " mount={m}");
            }
            let _ = write!(o, " {}", command(&r.command));
            heredocs(&mut o, &r.heredocs);
        }
        Kind::Cmd(c) | Kind::Entrypoint(c) => {
            let _ = write!(o, " {}", command(c));
        }
        Kind::Shell(v) => {
            let _ = write!(o, " {v:?}");
        }
        Kind::Copy(c) | Kind::Add(c) => {
            for (n, v) in [
                ("from", &c.from),
                ("chown", &c.chown),
                ("chmod", &c.chmod),
                ("checksum", &c.checksum),
            ] {
                if let Some(v) = v {
                    let _ = write!(o, " {n}={v}");
                }
            }
            if c.link {
                o.push_str(" link");
            }
            let _ = write!(o, " {:?} -> {}", c.sources, q(&c.dest));
            heredocs(&mut o, &c.heredocs);
        }
        Kind::Env(kv) | Kind::Label(kv) => {
            for (k, v) in kv {
                let _ = write!(o, " {}={}", q(k), q(v));
            }
        }
        Kind::Arg(a) => {
            for d in a {
                let _ = write!(o, " {}", d.name);
                if let Some(v) = &d.default {
                    let _ = write!(o, "={}", q(v));
                }
            }
        }
        Kind::Workdir(s) | Kind::User(s) | Kind::StopSignal(s) | Kind::Maintainer(s) => {
            let _ = write!(o, " {}", q(s));
        }
        Kind::Expose(v) | Kind::Volume(v) => {
            let _ = write!(o, " {v:?}");
        }
        Kind::Healthcheck(Healthcheck::None) => o.push_str(" NONE"),
        Kind::Healthcheck(Healthcheck::Check {
            test,
            interval,
            timeout,
            start_period,
            start_interval,
            retries,
        }) => {
            for (n, v) in [
                ("interval", interval),
                ("timeout", timeout),
                ("start-period", start_period),
                ("start-interval", start_interval),
            ] {
                if let Some(v) = v {
                    let _ = write!(o, " {n}={v}");
                }
            }
            if let Some(r) = retries {
                let _ = write!(o, " retries={r}");
            }
            let _ = write!(o, " CMD {}", command(test));
        }
        Kind::Onbuild(i) => {
            let _ = write!(o, " [{}] {}", q(&i.original), kind(&i.kind));
        }
    }
    o
}

fn dump(text: &str) -> String {
    let df = match parse(text) {
        Ok(df) => df,
        Err(e) => return format!("error {}:{} {}\n", e.line, e.column, e.message),
    };
    let mut o = String::new();
    if df.escape != '\\' {
        let _ = writeln!(o, "escape {}", df.escape);
    }
    if let Some(s) = &df.syntax {
        let _ = writeln!(o, "syntax {s}");
    }
    if let Some(s) = &df.check {
        let _ = writeln!(o, "check {s}");
    }
    for a in &df.meta_args {
        let _ = writeln!(
            o,
            "meta {}{}",
            a.name,
            a.default
                .as_ref()
                .map_or(String::new(), |d| format!("={}", q(d)))
        );
    }
    for s in &df.stages {
        let _ = write!(o, "{} FROM {}", s.line, q(&s.base));
        if let Some(n) = &s.name {
            let _ = write!(o, " AS {n}");
        }
        if let Some(p) = &s.platform {
            let _ = write!(o, " platform={p}");
        }
        o.push('\n');
        for i in &s.instructions {
            let lines = if i.line == i.end_line {
                i.line.to_string()
            } else {
                format!("{}-{}", i.line, i.end_line)
            };
            let _ = writeln!(o, "  {lines} {}", kind(&i.kind));
        }
    }
    o
}

fn check(text: &str, expect: Expect) {
    expect.assert_eq(&dump(text));
}

#[test]
fn seed_004() {
    check(
        "FROM busybox\nRUN /bin/echo 'root:123456' > /tmp/pw\nRUN mkdir -p /opt/app\nCOPY app.sh /opt/app/\nENV APP=1\nEXPOSE 8080\nCMD [\"/opt/app/app.sh\"]\n",
        expect![[r#"
            1 FROM "busybox"
              2 RUN sh "/bin/echo 'root:123456' > /tmp/pw"
              3 RUN sh "mkdir -p /opt/app"
              4 COPY ["app.sh"] -> "/opt/app/"
              5 ENV "APP"="1"
              6 EXPOSE ["8080"]
              7 CMD exec["/opt/app/app.sh"]
        "#]],
    );
    let df = parse("FROM busybox\nCMD [\"/opt/app/app.sh\"]\n").unwrap();
    assert_eq!(
        df.stages[0].instructions[0].original,
        "CMD [\"/opt/app/app.sh\"]"
    );
}

#[test]
fn continuations_and_comments() {
    // Docker's reference: comments between continuation lines are dropped, an empty
    // continuation line is skipped, continuation lines keep their leading spaces.
    check(
        "FROM ubuntu\nRUN echo hello \\\n# comment\n  world \\\n\n  again\nRUN echo goodbye\\\nfrog\n  # indented comment\nRUN echo end \\",
        expect![[r#"
            1 FROM "ubuntu"
              2-6 RUN sh "echo hello   world   again"
              7-8 RUN sh "echo goodbyefrog"
              10 RUN sh "echo end"
        "#]],
    );
    // An escaped escape character at the end does not continue the line.
    check(
        "FROM a\nENV C trailing\\\\backslash\\\\\nENV D next\nENV E hello\\\n\\\nworld\n",
        expect![[r#"
            1 FROM "a"
              2 ENV "C"="trailing\\\\backslash\\\\"
              3 ENV "D"="next"
              4-6 ENV "E"="helloworld"
        "#]],
    );
    // The escape directive: ` continues lines and \ is an ordinary character.
    check(
        "# escape=`\n\nFROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\ `\n  /s\n",
        expect![[r#"
            escape `
            3 FROM "microsoft/nanoserver"
              4 COPY ["testfile.txt"] -> "c:\\"
              5-6 RUN sh "dir c:\\   /s"
        "#]],
    );
    // CRLF line ends.
    check(
        "FROM a\r\nRUN echo a \\\r\n b\r\n",
        expect![[r#"
        1 FROM "a"
          2-3 RUN sh "echo a  b"
    "#]],
    );
    let df = parse("FROM a\nRUN echo a \\\n    b\n").unwrap();
    assert_eq!(df.stages[0].instructions[0].original, "RUN echo a     b");
}

#[test]
fn directives() {
    check(
        "# syntax=docker/dockerfile:1\n# ESCAPE = `\n# check=skip=JSONArgsRecommended\nFROM a\nRUN a `\n b\n",
        expect![[r#"
            escape `
            syntax docker/dockerfile:1
            check skip=JSONArgsRecommended
            4 FROM "a"
              5-6 RUN sh "a  b"
        "#]],
    );
    // After a comment, an empty line or an instruction, directives are ordinary comments.
    check(
        "# a comment\n# escape=`\nFROM a\nRUN a \\\n b\n",
        expect![[r#"
            3 FROM "a"
              4-5 RUN sh "a  b"
        "#]],
    );
    check(
        "\n# escape=`\nFROM a\n",
        expect![[r#"
        3 FROM "a"
    "#]],
    );
    check(
        "FROM a\n# escape=`\nRUN a \\\n b\n",
        expect![[r#"
        1 FROM "a"
          3-4 RUN sh "a  b"
    "#]],
    );
    // An unknown directive ends the directives.
    check(
        "# foo=bar\n# escape=`\nFROM a\n",
        expect![[r#"
        3 FROM "a"
    "#]],
    );
    check(
        "# escape=\\\n# escape=`\nFROM a\n",
        expect![[r#"
        error 2:1 only one escape parser directive can be used
    "#]],
    );
    check(
        "# escape=x\nFROM a\n",
        expect![[r#"
        error 1:1 invalid escape token 'x' does not match ` or \
    "#]],
    );
    // A byte order mark is skipped.
    check(
        "\u{feff}# escape=`\nFROM a\n",
        expect![[r#"
        escape `
        2 FROM "a"
    "#]],
    );
}

#[test]
fn keywords_are_case_insensitive() {
    check(
        "from busybox as Base\nrun echo hi\nCmd [\"sh\"]\n",
        expect![[r#"
            1 FROM "busybox" AS base
              2 RUN sh "echo hi"
              3 CMD exec["sh"]
        "#]],
    );
}

#[test]
fn exec_and_shell_forms() {
    check(
        r#"FROM a
CMD [ "a", "b" ]
CMD ["a",
ENTRYPOINT ['a', 'b']
RUN ["echo", "a\tb\u00e9"]
RUN []
CMD echo "$HOME"
ENTRYPOINT ["a"] trailing
SHELL ["/bin/bash", "-c"]
"#,
        expect![[r#"
            1 FROM "a"
              2 CMD exec["a", "b"]
              3 CMD sh "[\"a\","
              4 ENTRYPOINT sh "['a', 'b']"
              5 RUN exec["echo", "a\tbé"]
              6 RUN exec[]
              7 CMD sh "echo \"$HOME\""
              8 ENTRYPOINT sh "[\"a\"] trailing"
              9 SHELL ["/bin/bash", "-c"]
        "#]],
    );
    check(
        "FROM a\nCMD [\"a\", 1]\n",
        expect![[r#"
        error 2:5 when using JSON array syntax, arrays must be comprised of strings only
    "#]],
    );
    check(
        "FROM a\nSHELL /bin/sh -c\n",
        expect![[r#"
        error 2:1 SHELL requires the arguments to be in JSON form
    "#]],
    );
    check(
        "FROM a\nSHELL []\n",
        expect![[r#"
        error 2:1 SHELL requires at least one argument
    "#]],
    );
    check(
        "FROM a\nSHELL [\"c:\\windows\\cmd.exe\", \"/S\"]\n",
        expect![[r#"
            error 2:1 SHELL requires the arguments to be in JSON form. It looks like 'shell ["c:\windows\cmd.exe", "/s"]' includes a file path without an escaped back-slash. JSON requires back-slashes to be escaped such as ["c:\\path\\to\\file.exe", "/parameter"]
        "#]],
    );
}

#[test]
fn heredoc_bodies() {
    check(
        "FROM a\nRUN <<EOF\necho hello\necho $HOME\nEOF\nRUN <<-EOT sh\n\techo tabs\n\t\tgone\n\tEOT\nRUN python3 <<'PY'\nprint(\"$x\")\nPY\n",
        expect![[r#"
            1 FROM "a"
              2-5 RUN sh "<<EOF" <<EOF "echo hello\necho $HOME\n"
              6-9 RUN sh "<<-EOT sh" <<-EOT "echo tabs\ngone\n"
              10-12 RUN sh "python3 <<'PY'" <<PY(literal) "print(\"$x\")\n"
        "#]],
    );
    // Several heredocs in one instruction, a file descriptor, COPY's inline files.
    check(
        "FROM a\nRUN <<FILE1 cat > file1 && 3<<\"FILE2\" cat > file2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2\nCOPY <<EOF <<E2 /dest/\nhello\nEOF\nworld\nE2\nCOPY --chmod=755 <<-\"EOF\" /app/run.sh\n\t#!/bin/sh\nEOF\n",
        expect![[r##"
            1 FROM "a"
              2-8 RUN sh "<<FILE1 cat > file1 && 3<<\"FILE2\" cat > file2" <<FILE1 "I am\nfirst\n" <<FILE2(literal) "I am\nsecond\n"
              9-13 COPY [] -> "/dest/" <<EOF "hello\n" <<E2 "world\n"
              14-16 COPY chmod=755 [] -> "/app/run.sh" <<-EOF(literal) "#!/bin/sh\n"
        "##]],
    );
    // JSON form has no heredocs; a heredoc inside ONBUILD has.
    check(
        "FROM a\nRUN [\"cat\", \"<<EOF\"]\nONBUILD RUN <<EOF\necho x\nEOF\n",
        expect![[r#"
            1 FROM "a"
              2 RUN exec["cat", "<<EOF"]
              3-5 ONBUILD ["RUN <<EOF\necho x\nEOF"] RUN sh "<<EOF" <<EOF "echo x\n"
        "#]],
    );
    check(
        "FROM a\nRUN <<EOF\necho\n",
        expect![[r#"
        error 2:1 unterminated heredoc
    "#]],
    );
    check(
        "FROM a\nCOPY x <<EOF\nhi\nEOF\n",
        expect![[r#"
        error 2:8 COPY cannot accept a heredoc as a destination
    "#]],
    );
}

#[test]
fn flags() {
    check(
        r#"FROM --platform=$BUILDPLATFORM golang:1.22 AS build
RUN --network=none --mount=type=cache,target=/root/.cache --mount=type=secret,id=x make
COPY --from=build --chown=1000:1000 --chmod=0755 --link /out/app /usr/bin/
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/a.tar.gz /
ADD --chown="app user" --link=false a b
COPY --link=TRUE a b
RUN -- echo --not-a-flag
"#,
        expect![[r#"
            1 FROM "golang:1.22" AS build platform=$BUILDPLATFORM
              2 RUN network=none mount=type=cache,target=/root/.cache mount=type=secret,id=x sh "make"
              3 COPY from=build chown=1000:1000 chmod=0755 link ["/out/app"] -> "/usr/bin/"
              4 ADD checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d ["https://example.com/a.tar.gz"] -> "/"
              5 ADD chown=app user ["a"] -> "b"
              6 COPY link ["a"] -> "b"
              7 RUN sh "echo --not-a-flag"
        "#]],
    );
    check(
        "FROM a\nRUN --foo=bar echo\n",
        expect![[r#"
        error 2:5 Unknown flag: foo
    "#]],
    );
    check(
        "FROM a\nCOPY --from=a --from=b x y\n",
        expect![[r#"
        error 2:15 Duplicate flag specified: from
    "#]],
    );
    check(
        "FROM a\nCOPY --from x y\n",
        expect![[r#"
        error 2:6 Missing a value on flag: from
    "#]],
    );
    check(
        "FROM a\nCOPY --link=maybe x y\n",
        expect![[r#"
        error 2:6 Expecting boolean value for flag link, not: maybe
    "#]],
    );
    check(
        "FROM a\nCOPY --link= x y\n",
        expect![[r#"
        error 2:6 Missing a value on flag: link
    "#]],
    );
    check(
        "FROM a\nENV --x=1 A=b\n",
        expect![[r#"
        error 2:5 Unknown flag: x
    "#]],
    );
    check(
        "FROM a\nADD --from=b x y\n",
        expect![[r#"
        error 2:5 Unknown flag: from
    "#]],
    );
    check(
        "FROM a\nRUN \\\n  --bad echo\n",
        expect![[r#"
        error 3:3 Unknown flag: bad
    "#]],
    );
}

#[test]
fn healthcheck() {
    check(
        "FROM a\nHEALTHCHECK --interval=5m --timeout=3s --start-period=1s --start-interval=500ms --retries=3 \\\n  CMD curl -f http://localhost/ || exit 1\nHEALTHCHECK NONE\nHEALTHCHECK cmd [\"/check\"]\nHEALTHCHECK --interval=0s CMD x\n",
        expect![[r#"
            1 FROM "a"
              2-3 HEALTHCHECK interval=5m timeout=3s start-period=1s start-interval=500ms retries=3 CMD sh "curl -f http://localhost/ || exit 1"
              4 HEALTHCHECK NONE
              5 HEALTHCHECK CMD exec["/check"]
              6 HEALTHCHECK interval=0s CMD sh "x"
        "#]],
    );
    check(
        "FROM a\nHEALTHCHECK CONNECT TCP 7000\n",
        expect![[r#"
        error 2:13 Unknown type "CONNECT" in HEALTHCHECK (try CMD)
    "#]],
    );
    check(
        "FROM a\nHEALTHCHECK CMD\n",
        expect![[r#"
            error 2:1 Missing command after HEALTHCHECK CMD
        "#]],
    );
    check(
        "FROM a\nHEALTHCHECK NONE x\n",
        expect![[r#"
        error 2:1 HEALTHCHECK NONE takes no arguments
    "#]],
    );
    check(
        "FROM a\nHEALTHCHECK --retries=-1 CMD x\n",
        expect![[r#"
        error 2:13 --retries cannot be negative (-1)
    "#]],
    );
    check(
        "FROM a\nHEALTHCHECK --retries=x CMD x\n",
        expect![[r#"
        error 2:13 strconv.ParseInt: parsing "x": invalid syntax
    "#]],
    );
    check(
        "FROM a\nHEALTHCHECK --interval=5 CMD x\n",
        expect![[r#"
        error 2:13 time: missing unit in duration "5"
    "#]],
    );
    check(
        "FROM a\nHEALTHCHECK --timeout=10us CMD x\n",
        expect![[r#"
        error 2:13 Interval "timeout" cannot be less than 1ms
    "#]],
    );
    check(
        "FROM a\nHEALTHCHECK\n",
        expect![[r#"
        error 2:1 HEALTHCHECK requires at least one argument
    "#]],
    );
}

#[test]
fn durations() {
    for (s, want) in [
        ("0", Ok(0)),
        ("5s", Ok(5_000_000_000)),
        ("1m30s", Ok(90_000_000_000)),
        ("1.5h", Ok(5_400_000_000_000)),
        ("300ms", Ok(300_000_000)),
        ("2us", Ok(2_000)),
        ("-1s", Ok(-1_000_000_000)),
        (".5s", Ok(500_000_000)),
        ("", Err("time: invalid duration \"\"")),
        ("5", Err("time: missing unit in duration \"5\"")),
        ("5x", Err("time: unknown unit \"x\" in duration \"5x\"")),
        ("s", Err("time: invalid duration \"s\"")),
        (".s", Err("time: invalid duration \".s\"")),
    ] {
        assert_eq!(parse_duration(s), want.map_err(str::to_string), "{s:?}");
    }
}

#[test]
fn env_and_label() {
    check(
        r#"FROM a
ENV name value with spaces
ENV name=value name2="value 2" name3=value\ 3
ENV a='single $quoted' b="double \"q\""
ENV MY_NAME="John Doe" \
    MY_DOG=Rex\ The\ Dog \
    MY_CAT=fluffy
LABEL "com.example.vendor"="ACME Incorporated" version=1.0
LABEL description="This text illustrates \
that label-values can span multiple lines."
LABEL legacy form
"#,
        expect![[r#"
            1 FROM "a"
              2 ENV "name"="value with spaces"
              3 ENV "name"="value" "name2"="\"value 2\"" "name3"="value\\ 3"
              4 ENV "a"="'single $quoted'" "b"="\"double \\\"q\\\"\""
              5-7 ENV "MY_NAME"="\"John Doe\"" "MY_DOG"="Rex\\ The\\ Dog" "MY_CAT"="fluffy"
              8 LABEL "\"com.example.vendor\""="\"ACME Incorporated\"" "version"="1.0"
              9-10 LABEL "description"="\"This text illustrates that label-values can span multiple lines.\""
              11 LABEL "legacy"="form"
        "#]],
    );
    check(
        "FROM a\nENV foo\n",
        expect![[r#"
        error 2:1 ENV must have two arguments
    "#]],
    );
    check(
        "FROM a\nENV a=b c\n",
        expect![[r#"
        error 2:9 Syntax error - can't find = in "c". Must be of the form: name=value
    "#]],
    );
    check(
        "FROM a\nLABEL =x\n",
        expect![[r#"
        error 2:7 LABEL names can not be blank
    "#]],
    );
    check(
        "FROM a\nENV\n",
        expect![[r#"
        error 2:1 ENV requires at least one argument
    "#]],
    );
}

#[test]
fn args_and_stages() {
    check(
        r#"ARG  CODE_VERSION=latest
ARG BASE
FROM base:${CODE_VERSION} AS Build-1
ARG BASE
ARG user1=someuser buildno=1 empty=
RUN echo $user1
FROM scratch
COPY --from=build-1 /x /y
FROM build-1 as final
"#,
        expect![[r#"
            meta CODE_VERSION="latest"
            meta BASE
            3 FROM "base:${CODE_VERSION}" AS build-1
              4 ARG BASE
              5 ARG user1="someuser" buildno="1" empty=""
              6 RUN sh "echo $user1"
            7 FROM "scratch"
              8 COPY from=build-1 ["/x"] -> "/y"
            9 FROM "build-1" AS final
        "#]],
    );
    check(
        "FROM a AS 1st\n",
        expect![[r#"
        error 1:11 invalid name for build stage: "1st", name can't start with a number or contain symbols
    "#]],
    );
    check(
        "FROM a AS b_c!\n",
        expect![[r#"
        error 1:11 invalid name for build stage: "b_c!", name can't start with a number or contain symbols
    "#]],
    );
    check(
        "FROM a b\n",
        expect![[r#"
        error 1:1 FROM requires either one or three arguments
    "#]],
    );
    check(
        "FROM\n",
        expect![[r#"
        error 1:1 FROM requires either one or three arguments
    "#]],
    );
    check(
        "FROM a AS x\nFROM b AS X\n",
        expect![[r#"
        error 2:6 duplicate stage name "x"
    "#]],
    );
    check(
        "ARG =x\nFROM a\n",
        expect![[r#"
        error 1:5 ARG names can not be blank
    "#]],
    );
    check(
        "ARG x\n",
        expect![[r#"
            error 1:1 No image was generated. Is your Dockerfile empty?
        "#]],
    );
}

#[test]
fn other_instructions() {
    check(
        r#"FROM a
EXPOSE 80/tcp 80/udp ${PORT}
VOLUME ["/data", "/var/log" ]
VOLUME /a /b
USER patrick:staff
WORKDIR /path with/spaces
STOPSIGNAL SIGKILL
MAINTAINER Jane Doe <jane@example.com>
ONBUILD ADD . /app/src
ONBUILD RUN /usr/local/bin/python-build --dir /app/src
"#,
        expect![[r#"
            1 FROM "a"
              2 EXPOSE ["80/tcp", "80/udp", "${PORT}"]
              3 VOLUME ["/data", "/var/log"]
              4 VOLUME ["/a", "/b"]
              5 USER "patrick:staff"
              6 WORKDIR "/path with/spaces"
              7 STOPSIGNAL "SIGKILL"
              8 MAINTAINER "Jane Doe <jane@example.com>"
              9 ONBUILD ["ADD . /app/src"] ADD ["."] -> "/app/src"
              10 ONBUILD ["RUN /usr/local/bin/python-build --dir /app/src"] RUN sh "/usr/local/bin/python-build --dir /app/src"
        "#]],
    );
    check(
        "FROM a\nVOLUME [\"\"]\n",
        expect![[r#"
        error 2:8 VOLUME specified can not be an empty string
    "#]],
    );
    check(
        "FROM a\nUSER\n",
        expect![[r#"
        error 2:1 USER requires exactly one argument
    "#]],
    );
    check(
        "FROM a\nWORKDIR\n",
        expect![[r#"
        error 2:1 WORKDIR requires exactly one argument
    "#]],
    );
    check(
        "FROM a\nEXPOSE\n",
        expect![[r#"
        error 2:1 EXPOSE requires at least one argument
    "#]],
    );
    check(
        "FROM a\nONBUILD ONBUILD RUN x\n",
        expect![[r#"
        error 2:9 Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed
    "#]],
    );
    check(
        "FROM a\nONBUILD FROM b\n",
        expect![[r#"
        error 2:9 FROM isn't allowed as an ONBUILD trigger
    "#]],
    );
    check(
        "FROM a\nonbuild maintainer me\n",
        expect![[r#"
        error 2:9 MAINTAINER isn't allowed as an ONBUILD trigger
    "#]],
    );
    check(
        "FROM a\nONBUILD\n",
        expect![[r#"
        error 2:1 ONBUILD requires at least one argument
    "#]],
    );
    check(
        "FROM a\nONBUILD FORM x\n",
        expect![[r#"
        error 2:9 unknown instruction: FORM (did you mean FROM?)
    "#]],
    );
    check(
        "FROM a\nCOPY onlyone\n",
        expect![[r#"
        error 2:1 COPY requires at least two arguments, but only one was provided. Destination could not be determined
    "#]],
    );
}

#[test]
fn errors() {
    check(
        "FROM busybox\nFORM x\n",
        expect![[r#"
        error 2:1 unknown instruction: FORM (did you mean FROM?)
    "#]],
    );
    check(
        "FROM busybox\nform x\n",
        expect![[r#"
        error 2:1 unknown instruction: form (did you mean from?)
    "#]],
    );
    check(
        "FROM busybox\nBOGUS x\n",
        expect![[r#"
        error 2:1 unknown instruction: BOGUS
    "#]],
    );
    check(
        "",
        expect![[r#"
        error 1:1 file with no instructions
    "#]],
    );
    check(
        "# only a comment\n\n",
        expect![[r#"
        error 2:1 file with no instructions
    "#]],
    );
    check(
        "RUN echo\nFROM a\n",
        expect![[r#"
        error 1:1 no build stage in current context
    "#]],
    );
    check(
        "FROM a\nRUN --network=none \\\n  --foo echo\n",
        expect![[r#"
            error 3:3 Unknown flag: foo
        "#]],
    );
    // Bad references fail at parse time, where they are.
    check(
        "FROM a\nARG X=${\n",
        expect![[r#"
        error 2:9 failed to process "${": syntax error: missing '}'
    "#]],
    );
    check(
        "FROM a\nENV A=1 B=${A:x}\n",
        expect![[r#"
        error 2:16 failed to process "${A:x}": unsupported modifier (:x) in substitution
    "#]],
    );
    check(
        "FROM a\nCOPY ${src /dst\n",
        expect![[r#"
        error 2:11 failed to process "${src": syntax error: missing '}'
    "#]],
    );
    check(
        "FROM a\nWORKDIR \"/unterminated\n",
        expect![[r#"
        error 2:23 failed to process "\"/unterminated": unexpected end of statement while looking for matching double-quote
    "#]],
    );
    check(
        "FROM ${\n",
        expect![[r#"
        error 1:8 failed to process "${": syntax error: missing '}'
    "#]],
    );
    check(
        "FROM a\nCOPY --chown=${u x y\n",
        expect![[r#"
        error 2:6 failed to process "${u": syntax error: missing '}'
    "#]],
    );
    // RUN, CMD are the shell's business.
    check(
        "FROM a\nRUN echo ${\n",
        expect![[r#"
        1 FROM "a"
          2 RUN sh "echo ${"
    "#]],
    );
    // ${VAR:?} needs the variable: only expand can fail on it.
    check(
        "FROM a\nARG X=${Y:?required}\n",
        expect![[r#"
        1 FROM "a"
          2 ARG X="${Y:?required}"
    "#]],
    );
}

fn env(name: &str) -> Option<String> {
    let v = match name {
        "PWD" => "/home",
        "SHELL" => "bash",
        "KOREAN" => "한국어",
        "NULL" => "",
        "SPACE" => "abc  def",
        "LEADING" => "  ab c",
        "FOO" => "xxyy",
        "PATHS" => "/tmp/tmp/bar.txt",
        "GLOBBY" => "/foo*/*/*.txt",
        _ => return None,
    };
    Some(v.to_string())
}

/// `expand` against Docker's results (buildkit's shell lexer with the same variables).
#[test]
fn expand_table() {
    for (word, want) in [
        ("hello", Ok("hello")),
        ("he'll'o", Ok("hello")),
        (
            "he'llo",
            Err("unexpected end of statement while looking for matching single-quote"),
        ),
        ("he\\'llo", Ok("he'llo")),
        (
            "he\\\\'llo",
            Err("unexpected end of statement while looking for matching single-quote"),
        ),
        ("abc\\tdef", Ok("abctdef")),
        ("\"abc\\tdef\"", Ok("abc\\tdef")),
        ("\"abc\\\\tdef\"", Ok("abc\\tdef")),
        ("'abc\\tdef'", Ok("abc\\tdef")),
        ("hello\\", Ok("hello")),
        ("hello\\\\", Ok("hello\\")),
        (
            "\"hello",
            Err("unexpected end of statement while looking for matching double-quote"),
        ),
        (
            "\"hello\\\"",
            Err("unexpected end of statement while looking for matching double-quote"),
        ),
        ("\"hel'lo\"", Ok("hel'lo")),
        ("'hello\\'", Ok("hello\\")),
        ("\"''\"", Ok("''")),
        ("$.", Ok("$.")),
        ("he$1x", Ok("hex")),
        ("he$pwd.", Ok("he.")),
        ("he$PWD", Ok("he/home")),
        ("he\\$PWD", Ok("he$PWD")),
        ("he\\\\$PWD", Ok("he\\/home")),
        ("\"he\\$PWD\"", Ok("he$PWD")),
        ("'he\\$PWD'", Ok("he\\$PWD")),
        ("\\${}", Ok("${}")),
        ("${}", Err("syntax error: bad substitution")),
        ("he${.}", Err("unsupported modifier (.) in substitution")),
        ("he${hi}xx", Ok("hexx")),
        ("he${PWD}", Ok("he/home")),
        ("he${XXX:-000}xx", Ok("he000xx")),
        ("he${PWD:-000}xx", Ok("he/homexx")),
        ("he${XXX:-$PWD}xx", Ok("he/homexx")),
        ("he${XXX:-${YYY:-yyy}}xx", Ok("heyyyxx")),
        (
            "he${XXX:YYY}",
            Err("unsupported modifier (:Y) in substitution"),
        ),
        ("he${XXX?}", Err("XXX: is not allowed to be unset")),
        ("he${XXX:?}", Err("XXX: is not allowed to be unset")),
        ("he${XXX:?must be set}", Err("XXX: must be set")),
        ("he${PWD?}", Ok("he/home")),
        ("he${NULL?}", Ok("he")),
        ("he${NULL:?}", Err("NULL: is not allowed to be empty")),
        ("${NULL-x}${NULL:-y}", Ok("y")),
        ("${NULL+x}${NULL:+y}", Ok("x")),
        ("he${PWD:+${SHELL}}xx", Ok("hebashxx")),
        ("he${XXX:+000}xx", Ok("hexx")),
        ("'he${XX}'", Ok("he${XX}")),
        ("\"he'$PWD'\"", Ok("he'/home'")),
        ("he${PWD", Err("syntax error: missing '}'")),
        (
            "he${PWD:=000}xx",
            Err("unsupported modifier (:=) in substitution"),
        ),
        ("he${PWD:+${PWD}:}xx", Ok("he/home:xx")),
        ("he${XXX:-\\$PWD:}xx", Ok("he$PWD:xx")),
        ("he${XXX:-\\${PWD}z}xx", Ok("he${PWDz}xx")),
        ("안'녕'하세요", Ok("안녕하세요")),
        ("안녕$KOREAN", Ok("안녕한국어")),
        ("${aaa}}", Ok("}")),
        ("${aaa:-bbb}}", Ok("bbb}")),
        ("${aaa:-bbb ${foo}", Err("syntax error: missing '}'")),
        ("${aaa:-bbb {foo}", Ok("bbb {foo")),
        ("${:-bbb}", Err("syntax error: bad substitution")),
        ("${{aaa}", Err("syntax error: bad substitution")),
        ("$999aaa", Ok("aaa")),
        ("${001:-bbb}aaa", Ok("bbbaaa")),
        ("$@@@", Ok("@@")),
        ("${#:-bbb}", Ok("bbb")),
        (
            "${FOO=aaa}",
            Err("unsupported modifier (=) in substitution"),
        ),
        // Trimming and replacement patterns.
        ("${FOO#*x*y}", Ok("y")),
        ("${FOO#x}", Ok("xyy")),
        ("${FOO##*x}", Ok("yy")),
        ("${FOO%y}", Ok("xxy")),
        ("${FOO%%x*}", Ok("")),
        ("${FOO#}", Ok("xxyy")),
        ("${FOO%\\**}", Ok("xxyy")),
        ("${FOO#?\\?}", Ok("xxyy")),
        (
            "${PATHS/\\/tmp/} - ${PATHS//\\/tmp/}",
            Ok("/tmp/bar.txt - /bar.txt"),
        ),
        (
            "${GLOBBY/\\*\\//.} - ${GLOBBY//\\*\\//.}",
            Ok("/foo.*/*.txt - /foo..*.txt"),
        ),
        ("${FOO/$NONE/ww}", Ok("wwxxyy")),
        ("${FOO///}", Ok("xxyy")),
        ("${FOO//ww}", Err("syntax error: missing '/' in ${}")),
        (
            "${FOO#\\x}",
            Err("invalid pattern (\\x) in substitution: invalid escape '\\x'"),
        ),
    ] {
        let got = expand(word, &env, '\\');
        match want {
            Ok(w) => assert_eq!(got.as_deref(), Ok(w), "{word:?}"),
            Err(reason) => {
                let e = got.expect_err(word);
                assert_eq!(e.reason, reason, "{word:?}");
                assert_eq!(
                    e.to_string(),
                    format!("failed to process {word:?}: {reason}")
                );
            }
        }
    }
}

#[test]
fn expand_with_backtick_escape() {
    for (word, want) in [
        ("c:\\path", "c:\\path"),
        ("a`$PWD", "a$PWD"),
        ("\"a`\"b\"", "a\"b"),
        ("a` b", "a b"),
    ] {
        assert_eq!(expand(word, &env, '`').as_deref(), Ok(want), "{word:?}");
    }
}

/// `expand_words` against Docker's results: unquoted whitespace splits, also inside values.
#[test]
fn expand_words_table() {
    for (text, want) in [
        ("hello", vec!["hello"]),
        ("hello${hi}bye", vec!["hellobye"]),
        ("hello${SPACE}bye", vec!["helloabc", "defbye"]),
        ("hello\"${SPACE}\"bye", vec!["helloabc  defbye"]),
        ("hello \"${SPACE}\"bye", vec!["hello", "abc  defbye"]),
        ("hello${LEADING}def", vec!["hello", "ab", "cdef"]),
        ("hello\"${LEADING}\" def", vec!["hello  ab c", "def"]),
        ("hello there  ", vec!["hello", "there"]),
        ("hello\\ there", vec!["hello there"]),
        ("hello\\\" there", vec!["hello\"", "there"]),
        ("hello'\\there'", vec!["hello\\there"]),
        ("80/tcp $NULL \"\" 443", vec!["80/tcp", "443"]),
        ("", vec![]),
    ] {
        assert_eq!(
            expand_words(text, &env, '\\'),
            Ok(want.iter().map(|s| s.to_string()).collect()),
            "{text:?}"
        );
    }
    assert!(expand_words("hello\" there", &env, '\\').is_err());
}

#[test]
fn substitutes_and_layers() {
    let df = parse(
        "FROM a\nRUN x\nCMD x\nENTRYPOINT x\nSHELL [\"sh\"]\nCOPY a b\nADD a b\nENV a=b\nLABEL a=b\nARG a\nWORKDIR /\nUSER u\nEXPOSE 1\nVOLUME /v\nSTOPSIGNAL 9\nHEALTHCHECK NONE\nONBUILD RUN x\nMAINTAINER m\n",
    )
    .unwrap();
    let row: Vec<String> = df.stages[0]
        .instructions
        .iter()
        .map(|i| {
            format!(
                "{}{}{}",
                i.kind.keyword(),
                if i.kind.substitutes() { "$" } else { "" },
                if i.kind.makes_layer() { "+" } else { "" }
            )
        })
        .collect();
    assert_eq!(
        row.join(" "),
        "RUN+ CMD ENTRYPOINT SHELL COPY$+ ADD$+ ENV$ LABEL$ ARG$ WORKDIR$ USER$ EXPOSE$ VOLUME$ STOPSIGNAL$ HEALTHCHECK ONBUILD MAINTAINER"
    );
}

/// `.dockerignore` rules, as moby/patternmatcher applies them.
#[test]
fn dockerignore() {
    use crate::ignore::Patterns;
    let p = Patterns::parse(
        "# comment\n\n  **/*.log  \n!keep.log\n/secret\n./build/\ntmp/..//cache\ndocs/**\n*.md\n!README.md\n**/node_modules\nx?z\n[a-c]at\n",
    );
    assert!(p.has_exceptions());
    for (path, excluded) in [
        ("a.log", true),
        ("dir/sub/b.log", true),
        ("keep.log", false),
        ("dir/keep.log", true),
        ("secret", true),
        ("secret/inner", true),
        ("secretive", false),
        ("build", true),
        ("build/out/x", true),
        ("cache/x", true),
        ("docs", false),
        ("docs/a/b", true),
        ("notes.md", true),
        ("README.md", false),
        ("sub/notes.md", false),
        ("node_modules", true),
        ("a/b/node_modules/x", true),
        ("xyz", true),
        ("x/z", false),
        ("bat", true),
        ("dat", false),
        ("# comment", false),
        ("src/main.rs", false),
    ] {
        assert_eq!(p.matches(path), excluded, "{path:?}");
    }
    // The last matching pattern wins; an exception re-includes below an excluded directory.
    let p = Patterns::parse("dir\n!dir/keep\n");
    assert!(p.matches("dir/x") && !p.matches("dir/keep") && !p.matches("dir/keep/a"));
    let p = Patterns::parse("!a\na\n");
    assert!(p.matches("a"));
    let p = Patterns::parse("a**b\n");
    assert!(p.matches("ab") && p.matches("ax/b") && !p.matches("axb"));
    let p = Patterns::parse("*\n");
    assert!(p.matches("anything") && p.matches("dir/below") && !p.has_exceptions());
    assert!(Patterns::parse("# only\n\n").is_empty());
    assert!(!Patterns::parse("[a\n").matches("[a"));
    assert!(Patterns::parse("a\\*b\n").matches("a*b"));
    assert!(!Patterns::parse("a\\*b\n").matches("axb"));
}

#[test]
fn all_errors_at_once() {
    let errs = parse_all(
        "RUN x\nFROM a\nFORM b\nCOPY --bad a b\nENV ok=1\nUSER\nFROM b AS A\nFROM c AS a\n",
    )
    .unwrap_err();
    let got: Vec<String> = errs
        .iter()
        .map(|e| format!("{}:{} {}", e.line, e.column, e.message))
        .collect();
    expect![[r#"
        [
            "1:1 no build stage in current context",
            "3:1 unknown instruction: FORM (did you mean FROM?)",
            "4:6 Unknown flag: bad",
            "6:1 USER requires exactly one argument",
            "8:6 duplicate stage name \"a\"",
        ]
    "#]]
    .assert_debug_eq(&got);
    assert_eq!(parse("RUN x\nFORM b\n").unwrap_err(), errs[0]);
    assert_eq!(
        parse("FROM a\nFORM b\n").unwrap_err().to_string(),
        "Dockerfile parse error line 2: unknown instruction: FORM (did you mean FROM?)"
    );
}

#[test]
fn heredoc_expansion() {
    for (content, want) in [
        ("echo \"$PWD\" '$SHELL'\n", "echo \"/home\" 'bash'\n"),
        ("a \\$PWD ${XXX:-d}\n", "a $PWD d\n"),
        ("it's \"quoted\n", "it's \"quoted\n"),
    ] {
        assert_eq!(
            expand_heredoc(content, &env).as_deref(),
            Ok(want),
            "{content:?}"
        );
    }
    assert!(expand_heredoc("${", &env).is_err());
    // `<<` keeps the blanks after it in its word (a heredoc marker may be written `<< EOF`).
    assert_eq!(
        expand_words("cat << EOF", &env, '\\'),
        Ok(vec!["cat".to_string(), "<< EOF".to_string()])
    );
    check(
        "FROM a\nRUN cat << EOF > /x\nbody\nEOF\n",
        expect![[r#"
        1 FROM "a"
          2-4 RUN sh "cat << EOF > /x" <<EOF "body\n"
    "#]],
    );
}

#[test]
fn run_heredoc_text_and_stage_lookup() {
    let df = parse(
        "FROM a AS Build\nRUN <<EOF\necho one\nEOF\nRUN <<-EOF\n\t#!/usr/bin/env python3\n\tprint(1)\n\tEOF\nRUN cat <<A > /a && cat <<'B' > /b\nfirst\nA\nsecond $x\nB\nRUN echo plain\nRUN [\"echo\"]\nFROM scratch\n",
    )
    .unwrap();
    let texts: Vec<Option<String>> = df.stages[0]
        .instructions
        .iter()
        .map(|i| match &i.kind {
            Kind::Run(r) => r.shell_text(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        texts,
        [
            Some("echo one\n".to_string()),
            None,
            Some("cat <<A > /a && cat <<'B' > /b\nfirst\nA\nsecond $x\nB".to_string()),
            Some("echo plain".to_string()),
            None,
        ]
    );
    assert_eq!(df.stage_index("build"), Some(0));
    assert_eq!(df.stage_index("BUILD"), Some(0));
    assert_eq!(df.stage_index("1"), Some(1));
    assert_eq!(df.stage_index("2"), None);
    assert_eq!(df.stage_index("busybox"), None);
}

#[test]
fn dockerignore_errors() {
    use crate::ignore::Patterns;
    for (text, line, message) in [
        ("a\n!\n", 2, "illegal exclusion pattern: \"!\""),
        ("[a\n", 1, "syntax error in pattern"),
        ("x\n[]a]\n", 2, "syntax error in pattern"),
        ("[a-]\n", 1, "syntax error in pattern"),
        ("[z-a]\n", 1, "syntax error in pattern"),
        ("a\\\n", 1, "syntax error in pattern"),
    ] {
        let e = Patterns::try_parse(text).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (line, message), "{text:?}");
        // The lenient reading skips it and keeps the others.
        let p = Patterns::parse(text);
        assert!(!p.matches("[a") && !p.matches("a\\"), "{text:?}");
    }
    let p = Patterns::try_parse("[^a-c]x\n[\\]]\n]\n").unwrap();
    assert!(p.matches("dx") && !p.matches("bx") && p.matches("]"));
    assert!(Patterns::parse("a\n!\n").matches("a"));
}
