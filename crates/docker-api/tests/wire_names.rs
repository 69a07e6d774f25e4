//! The seam between the store and Docker's wire, checked: Docker's Engine API JSON is spelled
//! only in `crates/docker-api` (its shapes) and `server/` (its routes). No source file under
//! `crates/*/src` of any other crate spells one of Docker's field names ([`NAMES`]) as a
//! string literal (a `json!` key, a serde rename, a map key), and none spells the snake-case
//! ones as an identifier either (a serde derive would turn the field into the key).
//!
//! Outside the rule: tests (`crates/*/tests`, `e2e/`), which check the wire from outside;
//! `crates/api-types`, the dashboard's own API, whose event keeps Docker's event names
//! (`timeNano`) for the browser; `web/`, which reads the server's pull stream (Docker's
//! progress messages) as a client. Names that are also OCI or generic words (`Config`, `Id`,
//! `Size`, `Labels`, `Cmd`) are not in the list: the OCI model spells them legitimately.

use std::path::{Path, PathBuf};

/// Docker Engine API field names that only Docker's wire uses.
const NAMES: &[&str] = &[
    // images: summary, inspect, history, delete and prune reports, system df
    "RepoTags",
    "RepoDigests",
    "ParentId",
    "SharedSize",
    "VirtualSize",
    "Containers",
    "CreatedBy",
    "DockerVersion",
    "GraphDriver",
    "RootFS",
    "LayersSize",
    "BuildCache",
    "ImagesDeleted",
    "ContainersDeleted",
    "SpaceReclaimed",
    "Untagged",
    "Deleted",
    // the docker save archive's manifest.json
    "LayerSources",
    // events
    "Actor",
    "timeNano",
    // progress messages
    "progressDetail",
    "errorDetail",
    // search results
    "star_count",
    "is_official",
    "is_automated",
    // containers: inspect, summary, path stat
    "HostConfig",
    "NetworkSettings",
    "SizeRw",
    "SizeRootFs",
    "ExecIDs",
    "RestartCount",
    "ResolvConfPath",
    "HostnamePath",
    "HostsPath",
    "LogPath",
    "MountLabel",
    "ProcessLabel",
    "AppArmorProfile",
    "OOMKilled",
    "StartedAt",
    "FinishedAt",
    "ImageID",
    "SandboxKey",
    "linkTarget",
];

/// The crates the rule does not cover (see the module's documentation).
const HOMES: &[&str] = &["docker-api", "api-types"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/docker-api sits two levels below the workspace")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.expect("a directory entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The wire names `text` spells outside comments, with their line numbers.
fn spelled(text: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let code = code.split(" // ").next().unwrap_or(code);
        for name in NAMES {
            let literal = code.contains(&format!("\"{name}\""));
            let ident = name.contains('_')
                && code
                    .match_indices(name)
                    .any(|(i, _)| word_at(code, i, name.len()));
            if literal || ident {
                found.push((n + 1, *name));
            }
        }
    }
    found
}

fn word_at(s: &str, i: usize, len: usize) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    !s[..i].chars().next_back().is_some_and(is_word)
        && !s[i + len..].chars().next().is_some_and(is_word)
}

#[test]
fn only_docker_api_and_the_server_spell_dockers_json() {
    let root = workspace();
    let mut offences = Vec::new();
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .map(|e| e.expect("an entry").path())
        .collect();
    crates.sort();
    let mut checked = 0;
    for krate in crates {
        let name = krate.file_name().unwrap().to_string_lossy().into_owned();
        if HOMES.contains(&name.as_str()) {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&krate.join("src"), &mut files);
        for f in files {
            checked += 1;
            let text = std::fs::read_to_string(&f).expect("a source file");
            for (line, wire) in spelled(&text) {
                offences.push(format!(
                    "{}:{line}: spells Docker's `{wire}`",
                    f.strip_prefix(&root).unwrap_or(&f).display()
                ));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} files found under crates/*/src"
    );
    assert!(
        offences.is_empty(),
        "Docker's JSON belongs in crates/docker-api (or server/): build it there from the \
         crate's plain facts\n{}",
        offences.join("\n")
    );
}

#[test]
fn every_name_is_one_the_wire_uses() {
    // a name nobody emits would make the rule look stricter than it is
    let root = workspace();
    let mut files = Vec::new();
    rust_files(&root.join("crates/docker-api/src"), &mut files);
    rust_files(&root.join("server/src"), &mut files);
    let all: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("a source file"))
        .collect();
    for name in NAMES {
        assert!(
            all.contains(&format!("\"{name}\"")),
            "{name} is spelled neither in docker-api nor in the server"
        );
    }
}

#[test]
fn the_scan_sees_literals_renames_and_fields_but_not_comments() {
    assert_eq!(
        spelled("let v = json!({ \"RepoTags\": tags });"),
        [(1, "RepoTags")]
    );
    assert_eq!(
        spelled("    #[serde(rename = \"timeNano\")]\n    time: i64,"),
        [(1, "timeNano")]
    );
    assert_eq!(spelled("    pub star_count: u64,"), [(1, "star_count")]);
    assert!(spelled("    pub stars: u64,\n    pub my_star_count_x: u8,").is_empty());
    assert!(spelled("    // \"RepoTags\" is docker-api's\n    /// `timeNano`").is_empty());
    assert!(spelled("let s = \"Untagged: bb\";").is_empty());
}
