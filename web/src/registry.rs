//! The operator's registry actions in the dashboard: what a login sends, which login a push
//! uses, what a load's answer says and what a registry search found.
//!
//! Pure. A login is checked by the server (`POST /auth`, as `docker login` does) and kept by
//! the page, as the docker CLI keeps it in its own config: every push from the page then sends
//! it in `X-Registry-Auth`, the server stores nothing.

use serde::Deserialize;

/// The `X-Registry-Auth` and `POST /auth` JSON for a login (base64 is the page's job).
pub fn auth_json(server: &str, username: &str, password: &str) -> String {
    serde_json::json!({
        "username": username,
        "password": password,
        "serveraddress": server.trim(),
    })
    .to_string()
}

/// The registry host an image name lives in (`docker.io` for `busybox`), or the name's error.
pub fn registry_of(name: &str) -> Result<String, String> {
    image_ref::Reference::parse_normalized(name.trim())
        .map(|r| r.domain().to_string())
        .map_err(|e| format!("{}: {e}", name.trim()))
}

/// The host a login is for, as the user typed it (`http://127.0.0.1:5000/` → `127.0.0.1:5000`;
/// empty or `docker.io` → `docker.io`).
pub fn login_host(server: &str) -> String {
    let s = server.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let s = s.split('/').next().unwrap_or("");
    if s.is_empty() || image_ref::is_docker_hub(s) {
        "docker.io".into()
    } else {
        s.to_string()
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StreamLine {
    stream: String,
    status: String,
    error: String,
}

/// What `POST /images/load` answered (a JSON line per message): the images it loaded
/// (`Loaded image: bb:1`) and the error it ended with, if any.
pub fn load_result(body: &str) -> (Vec<String>, Option<String>) {
    let mut loaded = Vec::new();
    let mut error = None;
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<StreamLine>(line) {
            Ok(l) if !l.error.is_empty() => error = Some(l.error),
            Ok(l) => loaded.extend(
                l.stream
                    .lines()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            ),
            Err(_) => error = Some(format!("unexpected answer: {line}")),
        }
    }
    (loaded, error)
}

/// One repository a registry search found.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Found {
    /// `127.0.0.1:5000/team/bb`.
    pub name: String,
    /// The registry's description (`tags: 1, latest` for a registry without one).
    #[serde(default)]
    pub description: String,
}

/// The repositories of a `GET /images/search` answer.
pub fn search_results(body: &str) -> Result<Vec<Found>, String> {
    serde_json::from_str(body).map_err(|e| format!("search: invalid response from server: {e}"))
}

/// The query of `POST /images/create?fromSrc=-` importing a root filesystem tar, as
/// `docker import FILE [NAME] --change …` sends it: the name (checked with the store's
/// reference grammar, as the server will) as `repo` and `tag`, none for an untagged image;
/// each non-empty line of `changes` (a Dockerfile instruction such as `CMD ["/bin/sh"]`) as
/// one `changes`.
pub fn import_query(name: &str, changes: &str) -> Result<Vec<(&'static str, String)>, String> {
    let mut q = vec![("fromSrc", "-".to_string())];
    let name = name.trim();
    if !name.is_empty() {
        crate::model::check_tag_target(name)?;
        let (repo, tag) = crate::model::split_tag(name);
        q.push(("repo", repo.to_string()));
        if tag != "<none>" {
            q.push(("tag", tag.to_string()));
        }
    }
    q.extend(
        changes
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| ("changes", l.to_string())),
    );
    Ok(q)
}

/// What `POST /images/create?fromSrc=-` answered (a JSON line per message): the new image's
/// ID, or the error the import ended with.
pub fn import_result(body: &str) -> Result<String, String> {
    let mut id = None;
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<StreamLine>(line) {
            Ok(l) if !l.error.is_empty() => return Err(l.error),
            Ok(l) if l.status.starts_with("sha256:") => id = Some(l.status),
            Ok(_) => {}
            Err(_) => return Err(format!("unexpected answer: {line}")),
        }
    }
    id.ok_or_else(|| "the import answered no image ID".to_string())
}

/// What pulls the image from this store, which is a registry too (`/v2/`), for each of its
/// tags the store serves: `docker pull 127.0.0.1:2375/team/app:1`. `host` is the page's own
/// (`location.host`). A tag whose name has a port of its own (`localhost:5000/x:1`) is not
/// served and has none.
pub fn pull_from_store(tags: &[String], host: &str) -> Vec<String> {
    tags.iter()
        .filter(|t| image_ref::is_repository_path(crate::model::split_tag(t).0))
        .map(|t| format!("docker pull {host}/{t}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_names_its_host() {
        assert_eq!(login_host("http://127.0.0.1:5000/"), "127.0.0.1:5000");
        assert_eq!(login_host(" 127.0.0.1:5000 "), "127.0.0.1:5000");
        assert_eq!(login_host(""), "docker.io");
        assert_eq!(login_host("https://index.docker.io/v1/"), "docker.io");
        let v: serde_json::Value =
            serde_json::from_str(&auth_json(" 127.0.0.1:5000", "alice", "s3:cr\"et")).unwrap();
        assert_eq!(v["username"], "alice");
        assert_eq!(v["password"], "s3:cr\"et");
        assert_eq!(v["serveraddress"], "127.0.0.1:5000");
    }

    #[test]
    fn a_push_uses_the_login_of_its_registry() {
        assert_eq!(
            registry_of("127.0.0.1:5000/team/bb:1").unwrap(),
            "127.0.0.1:5000"
        );
        assert_eq!(registry_of("busybox").unwrap(), "docker.io");
        assert!(registry_of("Bad Name").is_err());
    }

    #[test]
    fn load_answers() {
        let (loaded, err) = load_result(
            "{\"stream\":\"Loaded image: bb:1\\n\"}\n{\"stream\":\"Loaded image ID: sha256:ab\\n\"}\n",
        );
        assert_eq!(loaded, ["Loaded image: bb:1", "Loaded image ID: sha256:ab"]);
        assert_eq!(err, None);
        let (loaded, err) = load_result("{\"error\":\"archive/tar: invalid tar header\"}\n");
        assert!(loaded.is_empty());
        assert_eq!(err.as_deref(), Some("archive/tar: invalid tar header"));
    }

    #[test]
    fn search_answers() {
        let found =
            search_results(r#"[{"name":"127.0.0.1:5000/team/bb","description":"tags: 1"}]"#)
                .unwrap();
        assert_eq!(
            found,
            [Found {
                name: "127.0.0.1:5000/team/bb".into(),
                description: "tags: 1".into()
            }]
        );
        assert!(search_results("{}").is_err());
    }

    #[test]
    fn an_import_names_its_image_and_its_changes_as_docker_import_does() {
        let q = |n: &str, c: &str| import_query(n, c).unwrap();
        let pairs = |v: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
            v.iter().map(|(k, v)| (*k, v.to_string())).collect()
        };
        assert_eq!(q("", ""), pairs(&[("fromSrc", "-")]));
        assert_eq!(q(" bb ", ""), pairs(&[("fromSrc", "-"), ("repo", "bb")]));
        assert_eq!(
            q(
                "127.0.0.1:5000/team/bb:1",
                "CMD [\"/bin/sh\"]\n\n  ENV A=1  \n"
            ),
            pairs(&[
                ("fromSrc", "-"),
                ("repo", "127.0.0.1:5000/team/bb"),
                ("tag", "1"),
                ("changes", "CMD [\"/bin/sh\"]"),
                ("changes", "ENV A=1"),
            ])
        );
        assert!(import_query("Bad Name", "").is_err());
        assert!(import_query("UPPER:1", "").is_err());
        let digest = format!("bb@sha256:{}", "a".repeat(64));
        assert!(import_query(&digest, "").unwrap_err().contains("digest"));
    }

    #[test]
    fn an_import_answer_gives_the_image_id_or_the_error() {
        let id = format!("sha256:{}", "b".repeat(64));
        assert_eq!(import_result(&format!("{{\"status\":\"{id}\"}}\n")), Ok(id));
        assert_eq!(
            import_result(
                "{\"errorDetail\":{\"message\":\"x\"},\"error\":\"invalid tar header\"}\n"
            ),
            Err("invalid tar header".into())
        );
        assert!(import_result("").is_err());
        assert!(import_result("<html>")
            .unwrap_err()
            .contains("unexpected answer"));
    }

    #[test]
    fn the_tags_the_store_serves_have_a_pull_command() {
        let tags = vec![
            "team/app:1".to_string(),
            "busybox:latest".to_string(),
            "localhost:5000/x:1".to_string(),
            "registry.example.com/a/b:2".to_string(),
        ];
        assert_eq!(
            pull_from_store(&tags, "127.0.0.1:2375"),
            [
                "docker pull 127.0.0.1:2375/team/app:1",
                "docker pull 127.0.0.1:2375/busybox:latest",
                "docker pull 127.0.0.1:2375/registry.example.com/a/b:2",
            ]
        );
    }
}
