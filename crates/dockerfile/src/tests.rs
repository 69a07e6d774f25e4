//! Unit tests: tables of Dockerfiles and words with the results Docker gives.

use crate::*;

#[allow(dead_code)]
fn stage0(text: &str) -> Vec<Kind> {
    let df = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    df.stages[0]
        .instructions
        .iter()
        .map(|i| i.kind.clone())
        .collect()
}

#[test]
fn seed_004() {
    let df = parse(
        "FROM busybox\nRUN /bin/echo 'root:123456' > /tmp/pw\nRUN mkdir -p /opt/app\nCOPY app.sh /opt/app/\nENV APP=1\nEXPOSE 8080\nCMD [\"/opt/app/app.sh\"]\n",
    )
    .unwrap();
    assert_eq!(df.stages.len(), 1);
    assert_eq!(df.stages[0].base, "busybox");
    let kinds: Vec<_> = df.stages[0]
        .instructions
        .iter()
        .map(|i| i.kind.keyword())
        .collect();
    assert_eq!(kinds, ["RUN", "RUN", "COPY", "ENV", "EXPOSE", "CMD"]);
    assert_eq!(
        df.stages[0].instructions[0].kind,
        Kind::Run(Run {
            command: Command::Shell("/bin/echo 'root:123456' > /tmp/pw".into()),
            network: None,
            mounts: vec![],
            heredocs: vec![]
        })
    );
    assert_eq!(
        df.stages[0].instructions[5].kind,
        Kind::Cmd(Command::Exec(vec!["/opt/app/app.sh".into()]))
    );
    assert_eq!(df.stages[0].instructions[5].line, 7);
}

#[test]
fn errors() {
    for (text, line, column, message) in [
        ("FROM busybox\nFORM x\n", 2, 1, "unknown instruction: FORM"),
        ("", 1, 1, "file with no instructions"),
        ("# only a comment\n\n", 2, 1, "file with no instructions"),
        ("RUN echo\n", 1, 1, "no build stage in current context"),
        ("FROM a\nRUN --foo echo\n", 2, 5, "Unknown flag: foo"),
    ] {
        let e = parse(text).unwrap_err();
        assert_eq!(
            (e.line, e.column, e.message.as_str()),
            (line, column, message),
            "{text:?}"
        );
    }
}
