//! The dashboard API, the Docker image/container endpoints and the guards, in process through
//! `app()` + `oneshot` on a real data directory.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use strata_server::{app, AppState};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.headers))
            .to_str()
            .unwrap()
    }
    fn ok(self, want: StatusCode) -> Self {
        assert_eq!(self.status, want, "{}", self.text());
        self
    }
}

struct Env {
    _dir: tempfile::TempDir,
    state: AppState,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::new(dir.path().join("root"), None);
        Env { _dir: dir, state }
    }

    async fn req(&self, r: Request<Body>) -> Reply {
        let res = app(self.state.clone()).oneshot(r).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.req(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// A JSON request (passes the CSRF guard by its content type).
    async fn json(&self, method: Method, uri: &str, body: Value) -> Reply {
        let r = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.req(r).await
    }

    /// A bodiless or raw-body request marked with `X-Strata-Request: 1`.
    async fn marked(&self, method: Method, uri: &str, body: Vec<u8>) -> Reply {
        let r = Request::builder()
            .method(method)
            .uri(uri)
            .header("x-strata-request", "1")
            .body(Body::from(body))
            .unwrap();
        self.req(r).await
    }

    /// A Docker-style request: no Origin, no special headers.
    async fn docker(&self, method: Method, uri: &str, body: Vec<u8>) -> Reply {
        self.req(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// A Docker-style JSON request (the docker CLI sends `Content-Type: application/json`).
    async fn docker_json(&self, method: Method, uri: &str, body: &str) -> Reply {
        let r = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.req(r).await
    }

    /// `POST /api/containers`: a container `name` from `image`.
    async fn create(&self, image: &str, name: &str) {
        self.json(
            Method::POST,
            "/api/containers",
            json!({ "image": image, "name": name, "cmd": ["true"] }),
        )
        .await
        .ok(StatusCode::CREATED);
    }

    /// Imports the test rootfs as `reference` through `POST /images/create?fromSrc=-`.
    async fn import(&self, reference: &str) -> String {
        let r = self
            .docker(
                Method::POST,
                &format!("/v1.50/images/create?fromSrc=-&repo={reference}"),
                rootfs_tar(),
            )
            .await
            .ok(StatusCode::OK);
        assert_eq!(r.header("content-type"), "application/json");
        let text = r.text();
        let last = text.lines().last().unwrap();
        let v: Value = serde_json::from_str(last).unwrap();
        v["status"].as_str().unwrap().to_string()
    }
}

fn header() -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, data: &[u8]) {
    let mut h = header();
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, path, data).unwrap();
}

fn dir(b: &mut tar::Builder<Vec<u8>>, path: &str) {
    let mut h = header();
    h.set_size(0);
    h.set_mode(0o755);
    h.set_entry_type(tar::EntryType::Directory);
    b.append_data(&mut h, path, std::io::empty()).unwrap();
}

fn rootfs_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    dir(&mut b, "bin/");
    file(&mut b, "bin/sh", 0o755, b"#!binary\n");
    dir(&mut b, "etc/");
    file(
        &mut b,
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\n",
    );
    dir(&mut b, "tmp/");
    b.into_inner().unwrap()
}

#[tokio::test]
async fn images_api_inspect_tag_plan_delete() {
    let env = Env::new();
    let id = env.import("bb:1").await;
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");

    let list = env.get("/api/images").await.ok(StatusCode::OK).json();
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["repo_tags"], json!(["bb:1"]));
    assert!(list[0]["size"].as_u64().unwrap() > 0);

    let d = env.get("/api/images/bb:1").await.ok(StatusCode::OK).json();
    assert_eq!(d["id"], id);
    assert_eq!(d["comment"], "Imported from -");
    assert_eq!(d["layers"].as_array().unwrap().len(), 1);
    assert_eq!(d["layers"][0]["refcount"], 1);
    assert_eq!(d["history"][0]["empty_layer"], false);
    assert_eq!(d["history"][0]["id"], id);
    assert_eq!(d["unique_size"], d["size"]);

    // tag into a repository with a slash; names with `/` work raw and percent-encoded
    let t = env
        .json(
            Method::POST,
            "/api/images/bb:1/tag",
            json!({ "target": "my/app:2" }),
        )
        .await
        .ok(StatusCode::CREATED)
        .json();
    assert_eq!(t["image"], id);
    assert_eq!(t["previous"], Value::Null);
    assert_eq!(
        env.get("/api/images/my/app:2")
            .await
            .ok(StatusCode::OK)
            .json()["repo_tags"],
        json!(["bb:1", "my/app:2"])
    );
    assert_eq!(
        env.get("/api/images/my%2Fapp:2")
            .await
            .ok(StatusCode::OK)
            .json()["id"],
        id
    );

    // the plan of removing one tag: untag only
    let p = env
        .get("/api/images/my%2Fapp:2/rmi-plan")
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(p["untag"], json!(["my/app:2"]));
    assert_eq!(p["delete_images"], json!([]));
    assert_eq!(p["conflict"], Value::Null);
    // by ID with two repositories: a conflict, reported in the plan
    let short = &id["sha256:".len()..][..12];
    let p = env
        .get(&format!("/api/images/{short}/rmi-plan"))
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(
        p["conflict"],
        format!("conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories")
    );
    // forced: everything goes, with the bytes it frees
    let p = env
        .get(&format!("/api/images/{short}/rmi-plan?force=1"))
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(p["delete_images"], json!([id]));
    assert!(p["bytes_freed"].as_u64().unwrap() > 0);
    // a plan changes nothing
    assert_eq!(
        env.get("/api/images").await.json()[0]["repo_tags"],
        json!(["bb:1", "my/app:2"])
    );

    // apply: untag my/app:2
    let p = env
        .marked(Method::DELETE, "/api/images/my/app:2", vec![])
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(p["events"], json!([{ "untagged": "my/app:2" }]));
    // apply by ID without force: 409 with the daemon's text
    let r = env
        .marked(Method::DELETE, &format!("/api/images/{id}"), vec![])
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "single repository: deletable: {}",
        r.text()
    );
    let p = r.json();
    // the freed layer follows the image, by chain ID (for one layer, its diff ID)
    assert_eq!(
        p["events"],
        json!([{ "untagged": "bb:1" }, { "deleted": id }, { "deleted": p["delete_layers"][0] }])
    );
    assert_eq!(p["delete_images"], json!([id]));
    assert_eq!(env.get("/api/images").await.json(), json!([]));

    let r = env.get("/api/images/nope").await.ok(StatusCode::NOT_FOUND);
    assert_eq!(r.json(), json!({ "message": "No such image: nope:latest" }));
    assert_eq!(r.header("content-type"), "application/json");
}

#[tokio::test]
async fn prune_plan_prune_and_disk_usage() {
    let env = Env::new();
    let id = env.import("bb:1").await;
    // untag by tagging elsewhere and removing: the image is kept (tagged), nothing dangles
    let p = env.get("/api/prune-plan").await.ok(StatusCode::OK).json();
    assert_eq!(p["delete_images"], json!([]));
    let p = env
        .get("/api/prune-plan?all=1")
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(p["delete_images"], json!([id]));
    assert!(p["bytes_freed"].as_u64().unwrap() > 0);

    let du = env.get("/api/disk-usage").await.ok(StatusCode::OK).json();
    assert_eq!(du["images"][0]["id"], id);
    assert_eq!(du["containers"], 0);
    assert_eq!(du["layers_size"], du["images"][0]["size"]);

    let p = env
        .marked(Method::POST, "/api/prune?all=1", vec![])
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(p["delete_images"], json!([id]));
    assert_eq!(
        p["events"],
        json!([{ "untagged": "bb:1" }, { "deleted": id }, { "deleted": p["delete_layers"][0] }])
    );
    assert_eq!(env.get("/api/images").await.json(), json!([]));
}

#[tokio::test]
async fn containers_api_files_diff_tree_commit() {
    let env = Env::new();
    let image = env.import("bb:1").await;
    let c = env
        .json(
            Method::POST,
            "/api/containers",
            json!({ "image": "bb:1", "name": "c1", "cmd": ["true"] }),
        )
        .await
        .ok(StatusCode::CREATED)
        .json();
    assert_eq!(c["name"], "c1");
    assert_eq!(c["image"], image);
    assert_eq!(c["image_name"], "bb:1");
    assert_eq!(c["state"], "created");
    assert_eq!(c["size_rw"], 0);
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(env.get("/api/containers").await.json()[0]["id"], id);
    assert_eq!(
        env.get("/api/containers/c1")
            .await
            .ok(StatusCode::OK)
            .json()["id"],
        id
    );

    let r = env
        .json(
            Method::POST,
            "/api/containers",
            json!({ "image": "bb:1", "name": "c1", "cmd": ["true"] }),
        )
        .await
        .ok(StatusCode::CONFLICT);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("Conflict. The container name \"/c1\" is already in use"));
    env.json(Method::POST, "/api/containers", json!({ "image": "nope" }))
        .await
        .ok(StatusCode::NOT_FOUND);

    // write a new file and replace one; read them back
    env.marked(
        Method::PUT,
        "/api/containers/c1/files?path=/etc/motd",
        b"hello\n".to_vec(),
    )
    .await
    .ok(StatusCode::NO_CONTENT);
    env.marked(
        Method::PUT,
        "/api/containers/c1/files?path=/etc/passwd",
        b"root:x:0:0::/:/bin/sh\n".to_vec(),
    )
    .await
    .ok(StatusCode::NO_CONTENT);
    let r = env
        .get("/api/containers/c1/files?path=/etc/motd")
        .await
        .ok(StatusCode::OK);
    assert_eq!(r.text(), "hello\n");
    assert_eq!(r.header("content-type"), "application/octet-stream");
    assert_eq!(
        env.get("/api/containers/c1/files?path=/etc/passwd")
            .await
            .text(),
        "root:x:0:0::/:/bin/sh\n"
    );
    // the image's own file is still readable, and a replaced executable keeps its mode
    env.marked(
        Method::PUT,
        "/api/containers/c1/files?path=/bin/sh",
        b"#!new\n".to_vec(),
    )
    .await
    .ok(StatusCode::NO_CONTENT);
    let t = env
        .get("/api/containers/c1/tree")
        .await
        .ok(StatusCode::OK)
        .json();
    let sh = t["merged"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["path"] == "/bin/sh")
        .unwrap()
        .clone();
    assert_eq!(
        (sh["mode"].as_u64(), sh["provider"].as_u64()),
        (Some(0o755), Some(1))
    );
    // errors: a directory, a missing file, a missing parent
    assert_eq!(
        env.get("/api/containers/c1/files?path=/etc")
            .await
            .ok(StatusCode::BAD_REQUEST)
            .json()["message"],
        "/etc: is a directory"
    );
    env.get("/api/containers/c1/files?path=/nope")
        .await
        .ok(StatusCode::NOT_FOUND);
    let r = env
        .marked(
            Method::PUT,
            "/api/containers/c1/files?path=/usr/local/x",
            b"x".to_vec(),
        )
        .await
        .ok(StatusCode::NOT_FOUND);
    assert_eq!(
        r.json()["message"],
        "Could not find the file /usr/local in container c1"
    );

    env.marked(
        Method::POST,
        "/api/containers/c1/mkdir?path=/usr/local",
        vec![],
    )
    .await
    .ok(StatusCode::NO_CONTENT);
    env.marked(Method::DELETE, "/api/containers/c1/files?path=/tmp", vec![])
        .await
        .ok(StatusCode::NO_CONTENT);
    let diff = env
        .get("/api/containers/c1/diff")
        .await
        .ok(StatusCode::OK)
        .json();
    let lines: Vec<String> = diff
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["kind"].as_str().unwrap(),
                c["path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            "C /bin",
            "C /bin/sh",
            "C /etc",
            "A /etc/motd",
            "C /etc/passwd",
            "D /tmp",
            "A /usr",
            "A /usr/local"
        ]
    );

    // the union: the writable layer on top, /etc/passwd shadowing the image's version
    let t = env.get("/api/containers/c1/tree").await.json();
    assert_eq!(t["layers"].as_array().unwrap().len(), 2);
    assert_eq!(t["layers"][1]["label"], "writable");
    assert!(t["layers"][1]["changes"]
        .as_array()
        .unwrap()
        .contains(&json!(["/etc/passwd", "M"])));
    assert!(t["layers"][1]["changes"]
        .as_array()
        .unwrap()
        .contains(&json!(["/tmp", "R"])));
    assert_eq!(t["shadowed"]["/etc/passwd"][0]["layer"], 0);
    assert_eq!(t["shadowed"]["/tmp"][0]["kind"], "dir");
    assert_eq!(
        t["markers"]["/tmp"],
        json!([{ "layer": 1, "kind": "whiteout", "path": "/tmp" }])
    );
    assert!(t["efficiency"]["score"].as_f64().unwrap() <= 1.0);

    let r = env.json(Method::POST, "/api/containers/c1/commit", json!({ "reference": "bb:2", "message": "edit", "author": "me", "changes": ["ENV A=b"] })).await.ok(StatusCode::CREATED);
    let new = r.json()["id"].as_str().unwrap().to_string();
    let d = env.get("/api/images/bb:2").await.ok(StatusCode::OK).json();
    assert_eq!(d["id"], new);
    assert_eq!(d["parent"], image);
    assert_eq!(d["author"], "me");
    assert_eq!(d["config"]["Env"], json!(["A=b"]));
    assert_eq!(d["history"][0]["comment"], "edit");
    assert_eq!(
        d["layers"][0]["refcount"], 2,
        "the base layer is shared by bb:1 and bb:2"
    );
    assert_eq!(d["layers"][1]["refcount"], 1);
    let t = env
        .get("/api/images/bb:2/tree")
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(t["layers"][1]["label"], d["layers"][1]["diff_id"]);

    // the two images compared: one shared base layer, then what the commit changed
    let c = env
        .get("/api/images/bb:1/compare?with=bb:2")
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(c["a"], image);
    assert_eq!(c["b"], new);
    assert_eq!(c["shared_layers"], 1);
    let lines: Vec<String> = c["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {} {}",
                p["change"].as_str().unwrap(),
                p["path"].as_str().unwrap(),
                p["aspects"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        })
        .collect();
    assert!(
        lines.contains(&"C /etc/passwd content".to_string()),
        "{lines:?}"
    );
    assert!(lines.contains(&"A /etc/motd ".to_string()), "{lines:?}");
    assert!(lines.contains(&"D /tmp ".to_string()), "{lines:?}");
    assert!(lines.contains(&"A /usr/local ".to_string()), "{lines:?}");
    assert_eq!(
        c["added"].as_u64().unwrap()
            + c["removed"].as_u64().unwrap()
            + c["changed"].as_u64().unwrap(),
        lines.len() as u64
    );
    assert_eq!(c["truncated"], false);
    let passwd = &c["paths"][lines
        .iter()
        .position(|l| l.starts_with("C /etc/passwd"))
        .unwrap()];
    assert_eq!(passwd["a"]["layer"], 0);
    assert_eq!(
        passwd["b"]["layer"], 1,
        "the commit's layer provides bb:2's copy"
    );
    // an image compared with itself: nothing differs, every layer shared
    let same = env
        .get("/api/images/bb:2/compare?with=bb:2")
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(same["paths"], json!([]));
    assert_eq!(same["shared_layers"], 2);
    // with nothing to compare with, or an unknown image
    let r = env
        .get("/api/images/bb:2/compare")
        .await
        .ok(StatusCode::BAD_REQUEST);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("with is required"));
    env.get("/api/images/bb:2/compare?with=nope:1")
        .await
        .ok(StatusCode::NOT_FOUND);

    // a file as each layer shows it: the shadowed version, the override, the unchanged one
    let layer_file = |path: &'static str| {
        let env = &env;
        async move {
            let r = env.get(path).await.ok(StatusCode::OK);
            (
                r.header("x-strata-layer").to_string(),
                r.header("x-strata-source-layer").to_string(),
                r.text(),
            )
        }
    };
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        layer_file("/api/images/bb:2/files?path=/etc/passwd&layer=0").await,
        s("0", "0", "root:x:0:0:root:/root:/bin/sh\n")
    );
    assert_eq!(
        layer_file("/api/images/bb:2/files?path=/etc/passwd").await,
        s("1", "1", "root:x:0:0::/:/bin/sh\n")
    );
    assert_eq!(
        layer_file("/api/images/bb:2/files?path=/etc/passwd&layer=1").await,
        s("1", "1", "root:x:0:0::/:/bin/sh\n")
    );
    assert_eq!(
        layer_file("/api/containers/c1/files?path=/etc/passwd&layer=0").await,
        s("0", "0", "root:x:0:0:root:/root:/bin/sh\n")
    );
    let r = env
        .get("/api/images/bb:2/files?path=/etc/passwd&layer=5")
        .await
        .ok(StatusCode::BAD_REQUEST);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("layer 5 out of range"),
        "{}",
        r.text()
    );
    env.get("/api/images/bb:2/files?path=/etc/motd&layer=0")
        .await
        .ok(StatusCode::NOT_FOUND);
    env.get("/api/images/bb:2/files?path=/etc&layer=x")
        .await
        .ok(StatusCode::BAD_REQUEST);

    env.marked(Method::DELETE, "/api/containers/c1", vec![])
        .await
        .ok(StatusCode::NO_CONTENT);
    env.marked(Method::DELETE, "/api/containers/c1", vec![])
        .await
        .ok(StatusCode::NOT_FOUND);
    assert_eq!(env.get("/api/containers").await.json(), json!([]));
}

#[tokio::test]
async fn csrf_guard_on_mutating_api_requests() {
    let env = Env::new();
    env.import("bb:1").await;
    let send = |method: Method, uri: &str, headers: &[(&str, &str)], body: &str| {
        let mut r = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.body(Body::from(body.to_string())).unwrap()
    };
    // no JSON content type and no marker header: refused, nothing done
    let r = env
        .req(send(Method::POST, "/api/prune?all=1", &[], ""))
        .await
        .ok(StatusCode::FORBIDDEN);
    assert_eq!(r.header("content-type"), "application/json");
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("X-Strata-Request: 1"));
    let r = env
        .req(send(
            Method::POST,
            "/api/images/bb:1/tag",
            &[("content-type", "text/plain")],
            r#"{"target":"x:1"}"#,
        ))
        .await;
    r.ok(StatusCode::FORBIDDEN);
    env.req(send(Method::DELETE, "/api/images/bb:1", &[], ""))
        .await
        .ok(StatusCode::FORBIDDEN);
    assert_eq!(
        env.get("/api/images").await.json()[0]["repo_tags"],
        json!(["bb:1"])
    );
    // a foreign Origin is refused even with the marker
    let h = [
        ("x-strata-request", "1"),
        ("host", "127.0.0.1:2375"),
        ("origin", "http://evil.example"),
    ];
    env.req(send(Method::POST, "/api/prune", &h, ""))
        .await
        .ok(StatusCode::FORBIDDEN);
    let h = [
        ("content-type", "application/json"),
        ("host", "127.0.0.1:2375"),
        ("origin", "http://127.0.0.1:2376"),
    ];
    env.req(send(
        Method::POST,
        "/api/images/bb:1/tag",
        &h,
        r#"{"target":"x:1"}"#,
    ))
    .await
    .ok(StatusCode::FORBIDDEN);
    // the server's own origin, or none, passes
    let h = [
        ("content-type", "application/json; charset=utf-8"),
        ("host", "127.0.0.1:2375"),
        ("origin", "http://127.0.0.1:2375"),
    ];
    env.req(send(
        Method::POST,
        "/api/images/bb:1/tag",
        &h,
        r#"{"target":"x:1"}"#,
    ))
    .await
    .ok(StatusCode::CREATED);
    env.req(send(
        Method::POST,
        "/api/prune",
        &[("x-strata-request", "1")],
        "",
    ))
    .await
    .ok(StatusCode::OK);
    // a foreign Origin is refused on reads too
    env.req(send(
        Method::GET,
        "/api/images",
        &[("origin", "http://evil.example")],
        "",
    ))
    .await
    .ok(StatusCode::FORBIDDEN);
    // Docker's routes need no marker (the docker CLI sends neither header)
    env.docker(Method::POST, "/v1.50/images/bb:1/tag?repo=y&tag=1", vec![])
        .await
        .ok(StatusCode::CREATED);
    env.docker(Method::POST, "/v1.50/images/prune", vec![])
        .await
        .ok(StatusCode::OK);
}

#[tokio::test]
async fn body_limits_json_but_not_streamed_uploads() {
    let env = Env::new();
    env.import("bb:1").await;
    let big = format!(r#"{{"image":"bb:1","name":"{}"}}"#, "x".repeat(2 << 20));
    let r = env
        .req(
            Request::post("/api/containers")
                .header("content-type", "application/json")
                .body(Body::from(big.clone()))
                .unwrap(),
        )
        .await
        .ok(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.header("content-type"), "application/json");
    assert!(r.json()["message"].as_str().is_some());
    // Docker's create takes JSON too: the same limit
    let big = format!(
        r#"{{"Image":"bb:1","Labels":{{"a":"{}"}}}}"#,
        "x".repeat(2 << 20)
    );
    env.docker_json(Method::POST, "/containers/create", &big)
        .await
        .ok(StatusCode::PAYLOAD_TOO_LARGE);
    // a 3 MiB file upload is not limited
    env.create("bb:1", "c1").await;
    let data: Vec<u8> = (0..3u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    env.marked(
        Method::PUT,
        "/api/containers/c1/files?path=/big",
        data.clone(),
    )
    .await
    .ok(StatusCode::NO_CONTENT);
    let back = env
        .get("/api/containers/c1/files?path=/big")
        .await
        .ok(StatusCode::OK);
    assert_eq!(back.body.len(), data.len());
    assert!(back.body == data);
    // nor is a big import
    let mut b = tar::Builder::new(Vec::new());
    file(&mut b, "big", 0o644, &data);
    let tar = b.into_inner().unwrap();
    env.docker(Method::POST, "/images/create?fromSrc=-&repo=big:1", tar)
        .await
        .ok(StatusCode::OK);
}

/// Each documented route answers (with sample parameters) instead of falling through to
/// "page not found", and the document lists every route.
#[tokio::test]
async fn openapi_document_covers_every_api_route() {
    let env = Env::new();
    env.import("bb:1").await;
    env.create("bb:1", "c1").await;
    let doc = env.get("/api/openapi.json").await.ok(StatusCode::OK).json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in strata_server::API_ROUTES {
        let op = &paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} missing from the document"))[*method];
        assert!(op.is_object(), "{method} {path} missing from the document");
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path} documents no response"
        );
        if *path == "/api/events" {
            continue; // a stream that never ends; checked in its own test
        }
        let uri = path.replace("{name}", "bb:1").replace("{id}", "c1");
        let uri = if uri.contains("/files") || uri.contains("/mkdir") {
            format!("{uri}?path=/zz-probe")
        } else {
            uri
        };
        let m: Method = method.to_uppercase().parse().unwrap();
        let body = if *method == "get" {
            Value::Null
        } else {
            json!({})
        };
        let r = if *method == "get" {
            env.get(&uri).await
        } else {
            env.json(m, &uri, body).await
        };
        assert_ne!(
            r.text(),
            r#"{"message":"page not found"}"#,
            "{method} {uri} is not routed"
        );
    }
    // and every operation in the document is a known route
    let mut n = 0;
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            n += 1;
            assert!(
                strata_server::API_ROUTES.contains(&(method.as_str(), path.as_str())),
                "{method} {path} documented but not routed"
            );
        }
    }
    assert_eq!(n, strata_server::API_ROUTES.len());
    assert!(doc["components"]["schemas"]["ImageDetailDto"].is_object());
    assert!(doc["components"]["schemas"]["TreeDto"].is_object());
}

#[tokio::test]
async fn dashboard_events_are_server_sent_events() {
    let env = Env::new();
    env.import("bb:1").await;
    let res = app(env.state.clone())
        .oneshot(Request::get("/api/events").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();
    env.json(
        Method::POST,
        "/api/images/bb:1/tag",
        json!({ "target": "bb:2" }),
    )
    .await
    .ok(StatusCode::CREATED);
    // the import's own event may still be in flight when the stream starts: skip to the tag
    let data = loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
            .await
            .expect("an event within 10 s");
        let bytes = frame.unwrap().unwrap().into_data().unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("event: image"), "{text}");
        let data: Value =
            serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(lines.next().unwrap_or(""), "", "{text}");
        if data["Action"] != "import" {
            break data;
        }
    };
    assert_eq!(data["Type"], "image");
    assert_eq!(data["Action"], "tag");
    assert_eq!(data["Attributes"]["name"], "bb:2");
    assert!(data["timeNano"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn docker_events_replay_and_filters() {
    let env = Env::new();
    let id = env.import("bb:1").await;
    env.docker(Method::POST, "/images/bb:1/tag?repo=bb&tag=2", vec![])
        .await
        .ok(StatusCode::CREATED);
    env.docker(Method::DELETE, "/images/bb:2", vec![])
        .await
        .ok(StatusCode::OK);
    let now = time::OffsetDateTime::now_utc().unix_timestamp() + 1;
    let r = env
        .get(&format!("/v1.50/events?since=0&until={now}"))
        .await
        .ok(StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/json");
    let events: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["Action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["import", "tag", "untag"]);
    assert_eq!(events[1]["Actor"]["ID"], id);
    assert_eq!(events[1]["Actor"]["Attributes"]["name"], "bb:2");
    assert_eq!(events[1]["scope"], "local");
    assert_eq!(events[1]["status"], "tag");
    let filters = percent_encoding::utf8_percent_encode(
        r#"{"event":{"untag":true}}"#,
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    let r = env
        .get(&format!("/events?since=0&until={now}&filters={filters}"))
        .await;
    let actions: Vec<String> = r
        .text()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["Action"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(actions, ["untag"]);
    let bad = percent_encoding::utf8_percent_encode(
        r#"{"nope":{"x":true}}"#,
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    env.get(&format!("/events?filters={bad}"))
        .await
        .ok(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn docker_info_containers_archive_and_save_load() {
    let env = Env::new();
    let image = env.import("bb:1").await;
    let info = env.get("/v1.50/info").await.ok(StatusCode::OK).json();
    assert_eq!(info["Images"], 1);
    assert_eq!(info["Containers"], 0);
    assert_eq!(info["Driver"], "strata");
    assert_eq!(info["OSType"], "linux");
    assert_eq!(info["ServerVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["RegistryConfig"]["IndexConfigs"], json!({}));
    assert!(info["DockerRootDir"].as_str().unwrap().ends_with("/root"));

    // create: 201 {Id, Warnings}; a missing image is a 404 the CLI turns into a pull
    let r = env
        .docker_json(
            Method::POST,
            "/v1.50/containers/create?name=w1",
            r#"{"Image":"bb:1","Cmd":["sh"]}"#,
        )
        .await;
    let c = r.ok(StatusCode::CREATED).json();
    let id = c["Id"].as_str().unwrap().to_string();
    assert_eq!(c["Warnings"], json!([]));
    let r = env
        .docker_json(Method::POST, "/containers/create", r#"{"Image":"nope"}"#)
        .await
        .ok(StatusCode::NOT_FOUND);
    assert_eq!(r.json()["message"], "No such image: nope:latest");
    // a pull from a registry nobody serves (loopback, port 1) fails before the stream starts
    let r = env
        .docker(
            Method::POST,
            "/images/create?fromImage=127.0.0.1%3A1%2Fnope&tag=latest",
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);

    assert_eq!(env.get("/containers/json").await.json(), json!([]));
    let list = env
        .get("/containers/json?all=1&size=1")
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(list[0]["Id"], id);
    assert_eq!(list[0]["Names"], json!(["/w1"]));
    assert_eq!(list[0]["ImageID"], image);
    assert_eq!(list[0]["State"], "created");
    assert_eq!(list[0]["SizeRw"], 0);
    let ins = env
        .get("/containers/w1/json")
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(ins["Name"], "/w1");
    assert_eq!(ins["Config"]["Image"], "bb:1");
    assert!(ins["HostConfig"].is_object() && ins["State"]["Running"] == false);
    assert_eq!(env.get("/v1.50/info").await.json()["ContainersStopped"], 1);

    // archive: HEAD stat header, PUT a tar, GET it back, changes
    let stat = |r: &Reply| -> Value {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(r.header("x-docker-container-path-stat"))
            .unwrap();
        serde_json::from_slice(&raw).unwrap()
    };
    let r = env
        .docker(Method::HEAD, "/containers/w1/archive?path=/etc", vec![])
        .await
        .ok(StatusCode::OK);
    let s = stat(&r);
    assert_eq!(s["name"], "etc");
    assert_eq!(s["mode"].as_u64().unwrap(), (1 << 31) | 0o755);
    env.docker(Method::HEAD, "/containers/w1/archive?path=/nope", vec![])
        .await
        .ok(StatusCode::NOT_FOUND);
    let mut b = tar::Builder::new(Vec::new());
    file(&mut b, "hello", 0o600, b"hi\n");
    env.docker(
        Method::PUT,
        "/containers/w1/archive?path=/etc&noOverwriteDirNonDir=true",
        b.into_inner().unwrap(),
    )
    .await
    .ok(StatusCode::OK);
    let r = env
        .get("/containers/w1/archive?path=/etc/hello")
        .await
        .ok(StatusCode::OK);
    let s = stat(&r);
    assert_eq!(
        (s["name"].as_str(), s["size"].as_u64(), s["mode"].as_u64()),
        (Some("hello"), Some(3), Some(0o600))
    );
    let mut a = tar::Archive::new(r.body.as_slice());
    let mut e = a.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(e.path().unwrap().to_str(), Some("hello"));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut e, &mut text).unwrap();
    assert_eq!(text, "hi\n");
    let r = env
        .get("/containers/w1/archive?path=/nope")
        .await
        .ok(StatusCode::NOT_FOUND);
    assert_eq!(
        r.json()["message"],
        "Could not find the file /nope in container w1"
    );
    let ch = env
        .get("/containers/w1/changes")
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(
        ch,
        json!([{ "Path": "/etc", "Kind": 0 }, { "Path": "/etc/hello", "Kind": 1 }])
    );

    // commit: 201 {Id}; export: a tar of the merged root
    let r = env
        .docker(
            Method::POST,
            "/commit?container=w1&repo=docker.io%2Flibrary%2Fbb&tag=c&comment=m&author=a",
            vec![],
        )
        .await;
    let new = r.ok(StatusCode::CREATED).json()["Id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(env.get("/images/bb:c/json").await.json()["Id"], new);
    let r = env.get("/containers/w1/export").await.ok(StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/x-tar");
    let names: Vec<String> = tar::Archive::new(r.body.as_slice())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(
        names.contains(&"etc/hello".to_string()) && names.contains(&"bin/sh".to_string()),
        "{names:?}"
    );
    env.get("/containers/nope/export")
        .await
        .ok(StatusCode::NOT_FOUND);

    // save → load round trip; a missing name is a 404 before any byte
    let r = env
        .get("/images/get?names=bb%3A1&names=bb%3Ac")
        .await
        .ok(StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/x-tar");
    let archive = r.body;
    let one = env.get("/images/bb:1/get").await.ok(StatusCode::OK).body;
    assert!(!one.is_empty());
    let r = env
        .get("/images/get?names=nope")
        .await
        .ok(StatusCode::NOT_FOUND);
    assert_eq!(r.json()["message"], "No such image: nope:latest");
    env.docker(Method::DELETE, "/containers/w1?force=1", vec![])
        .await
        .ok(StatusCode::NO_CONTENT);
    env.docker(Method::DELETE, "/images/bb:c", vec![])
        .await
        .ok(StatusCode::OK);
    env.docker(Method::DELETE, "/images/bb:1", vec![])
        .await
        .ok(StatusCode::OK);
    let r = env
        .docker(Method::POST, "/images/load?quiet=1", archive)
        .await
        .ok(StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(
        r.text(),
        "{\"stream\":\"Loaded image: bb:1\\n\"}\r\n{\"stream\":\"Loaded image: bb:c\\n\"}\r\n"
    );
    // a bad archive: 200 with the error in the stream
    let r = env
        .docker(Method::POST, "/images/load", b"not a tar".to_vec())
        .await
        .ok(StatusCode::OK);
    let v: Value = serde_json::from_str(r.text().trim()).unwrap();
    assert!(
        v["errorDetail"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    assert_eq!(v["error"], v["errorDetail"]["message"]);
}

#[tokio::test]
async fn bulk_rmi_plan_counts_shared_layers_once_and_matches_the_removal() {
    let env = Env::new();
    env.import("bb:1").await;
    // bb:2 = bb:1 + one layer; x:1 names bb:1's image too
    env.create("bb:1", "c1").await;
    env.marked(
        Method::PUT,
        "/api/containers/c1/files?path=/etc/motd",
        b"hello\n".to_vec(),
    )
    .await
    .ok(StatusCode::NO_CONTENT);
    env.json(
        Method::POST,
        "/api/containers/c1/commit",
        json!({ "reference": "bb:2" }),
    )
    .await
    .ok(StatusCode::CREATED);
    env.marked(Method::DELETE, "/api/containers/c1", vec![])
        .await
        .ok(StatusCode::NO_CONTENT);
    env.json(
        Method::POST,
        "/api/images/bb:1/tag",
        json!({ "target": "x:1" }),
    )
    .await
    .ok(StatusCode::CREATED);

    // the sharing matrix in one answer: the base layer is used by both images
    let map = env.get("/api/layers").await.ok(StatusCode::OK).json();
    let base = env.get("/api/images/bb:1").await.json();
    let top = env.get("/api/images/bb:2").await.json();
    let base_layer = base["layers"][0]["diff_id"].clone();
    let stack = &map["images"][top["id"].as_str().unwrap()];
    assert_eq!(stack.as_array().unwrap().len(), 2);
    assert_eq!(stack[0], base_layer, "base first");
    let layers = map["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    let refcount =
        |d: &Value| layers.iter().find(|l| l["diff_id"] == *d).unwrap()["refcount"].clone();
    assert_eq!(refcount(&base_layer), 2);
    assert_eq!(refcount(&stack[1]), 1);

    // bb:1 alone only untags; after bb:2 and bb:1, x:1 deletes the base image and its layer
    let single = env.get("/api/images/x:1/rmi-plan").await.json();
    assert_eq!(
        single["delete_layers"],
        json!([]),
        "bb:2 still uses the base"
    );
    let plan = env
        .get("/api/rmi-plan?name=bb:2&name=bb:1&name=nope&name=x:1")
        .await
        .ok(StatusCode::OK)
        .json();
    let items = plan["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["bb:2", "bb:1", "nope", "x:1"]);
    assert_eq!(
        items[0]["plan"]["delete_layers"].as_array().unwrap().len(),
        1
    );
    assert_eq!(items[1]["plan"]["untag"], json!(["bb:1"]));
    assert_eq!(items[1]["plan"]["delete_images"], json!([]));
    assert!(items[2]["plan"]["conflict"]
        .as_str()
        .unwrap()
        .contains("No such image: nope"));
    assert_eq!(
        items[3]["plan"]["delete_images"].as_array().unwrap().len(),
        1
    );
    assert_eq!(
        items[3]["plan"]["delete_layers"].as_array().unwrap().len(),
        1,
        "the base layer goes with the last image using it"
    );
    let total = &plan["total"];
    assert_eq!(total["untag"], json!(["bb:2", "bb:1", "x:1"]));
    assert_eq!(total["delete_layers"].as_array().unwrap().len(), 2);

    // carrying it out name by name frees exactly the previewed bytes
    let mut freed = 0;
    for (i, name) in ["bb:2", "bb:1", "x:1"].iter().enumerate() {
        let done = env
            .marked(Method::DELETE, &format!("/api/images/{name}"), vec![])
            .await
            .ok(StatusCode::OK)
            .json();
        let item = &items[if i == 2 { 3 } else { i }]["plan"];
        assert_eq!(done["delete_layers"], item["delete_layers"], "{name}");
        assert_eq!(done["bytes_freed"], item["bytes_freed"], "{name}");
        freed += done["bytes_freed"].as_u64().unwrap();
    }
    assert_eq!(total["bytes_freed"].as_u64().unwrap(), freed);
    assert_eq!(env.get("/api/images").await.json(), json!([]));
    env.get("/api/rmi-plan").await.ok(StatusCode::BAD_REQUEST);
}

/// A request as a browser page on another origin, or a DNS-rebinding page, would send it.
fn browser(method: Method, uri: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn foreign_origins_and_hosts_are_refused_on_docker_routes_too() {
    let env = Env::new();
    let id = env.import("bb:1").await;
    // a dangling image for prune to remove
    env.docker(
        Method::POST,
        "/v1.50/images/bb:1/tag?repo=keep&tag=1",
        vec![],
    )
    .await
    .ok(StatusCode::CREATED);
    let dangling = env.import("dangling:1").await;
    env.docker(Method::DELETE, "/v1.50/images/dangling:1", vec![])
        .await
        .ok(StatusCode::OK);
    let before = env
        .get("/v1.50/images/json?all=1")
        .await
        .ok(StatusCode::OK)
        .json();
    let list = |v: &Value| -> Vec<String> {
        let mut ids: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["Id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert!(list(&before).contains(&id));
    let _ = dangling;

    // what a page on http://evil.example sends with fetch(…, {method: "POST", mode: "no-cors"})
    let cross = [
        ("host", "127.0.0.1:2375"),
        ("origin", "http://evil.example"),
        ("content-type", "text/plain;charset=UTF-8"),
    ];
    for (method, uri, body) in [
        (Method::POST, "/v1.50/images/prune", vec![]),
        (
            Method::POST,
            "/images/prune?filters=%7B%22dangling%22%3A%5B%22false%22%5D%7D",
            vec![],
        ),
        (
            Method::POST,
            "/v1.50/images/create?fromSrc=-&repo=pwned&tag=1",
            rootfs_tar(),
        ),
        (Method::POST, "/images/bb:1/tag?repo=pwned&tag=2", vec![]),
        (Method::DELETE, "/v1.50/images/bb:1?force=1", vec![]),
        (
            Method::POST,
            "/v1.50/containers/create",
            br#"{"Image":"bb:1"}"#.to_vec(),
        ),
        (Method::POST, "/v1.50/commit?container=x&repo=pwned", vec![]),
        (Method::POST, "/v1.50/images/load", vec![]),
        (Method::GET, "/v1.50/images/json", vec![]),
        (Method::OPTIONS, "/v1.50/images/prune", vec![]),
    ] {
        let r = env
            .req(browser(method.clone(), uri, &cross, body.clone()))
            .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {uri}: {}",
            r.text()
        );
        assert_eq!(r.header("content-type"), "application/json");
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .contains("cross-origin request refused"),
            "{}",
            r.text()
        );
        // an opaque origin (a sandboxed frame, a data: URL) is no better
        let null = [("host", "127.0.0.1:2375"), ("origin", "null")];
        let r = env
            .req(browser(method.clone(), uri, &null, body.clone()))
            .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {uri} from Origin null"
        );
        // DNS rebinding: the page's own name in Host, same-origin as far as the browser knows
        for host in ["evil.example", "evil.example:2375"] {
            let origin = format!("http://{host}");
            let rebound = [("host", host), ("origin", origin.as_str())];
            let r = env
                .req(browser(method.clone(), uri, &rebound, body.clone()))
                .await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{method} {uri} with Host {host}"
            );
            let r = env
                .req(browser(
                    method.clone(),
                    uri,
                    &[("host", host)],
                    body.clone(),
                ))
                .await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{method} {uri} with Host {host}"
            );
            assert!(
                r.json()["message"]
                    .as_str()
                    .unwrap()
                    .contains("is not a name of this server"),
                "{}",
                r.text()
            );
        }
    }
    // nothing changed
    let after = env
        .get("/v1.50/images/json?all=1")
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(list(&after), list(&before));
    assert_eq!(
        env.get("/v1.50/images/bb:1/json")
            .await
            .ok(StatusCode::OK)
            .json()["RepoTags"],
        json!(["bb:1", "keep:1"])
    );

    // the docker CLI (no Origin; Host is the address it dials) and the server's own pages pass
    for host in [
        "127.0.0.1:2375",
        "localhost:2375",
        "[::1]:2375",
        "LOCALHOST",
    ] {
        env.req(browser(
            Method::GET,
            "/v1.50/images/json",
            &[("host", host)],
            vec![],
        ))
        .await
        .ok(StatusCode::OK);
    }
    let own = [
        ("host", "localhost:2375"),
        ("origin", "http://localhost:2375"),
    ];
    env.req(browser(
        Method::POST,
        "/v1.50/images/bb:1/tag?repo=mine&tag=1",
        &own,
        vec![],
    ))
    .await
    .ok(StatusCode::CREATED);
    // a name given with --allowed-host is accepted
    let allowed = env
        .state
        .clone()
        .with_allowed_hosts(vec!["strata.lan".into()]);
    let r = app(allowed.clone())
        .oneshot(browser(
            Method::GET,
            "/_ping",
            &[("host", "strata.lan:2375")],
            vec![],
        ))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app(allowed)
        .oneshot(browser(
            Method::GET,
            "/_ping",
            &[("host", "other.lan:2375")],
            vec![],
        ))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// Every boolean query flag goes through one parser with moby's `BoolValue` rule.
#[tokio::test]
async fn query_flags_no_and_none_are_false() {
    let env = Env::new();
    let id = env.import("bb:1").await;
    env.docker(
        Method::POST,
        "/v1.50/images/bb:1/tag?repo=other&tag=1",
        vec![],
    )
    .await
    .ok(StatusCode::CREATED);
    let short = &id["sha256:".len()..][..12];
    // by ID, referenced in two repositories: only force deletes it
    for no in ["no", "none", "NO", "None", "false", "0", "", "%20false%20"] {
        let uri = format!("/v1.50/images/{short}?force={no}");
        let r = env.docker(Method::DELETE, &uri, vec![]).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "force={no:?}: {}", r.text());
        let r = env
            .marked(
                Method::DELETE,
                &format!("/api/images/{short}?force={no}"),
                vec![],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CONFLICT,
            "/api force={no:?}: {}",
            r.text()
        );
        let p = env
            .get(&format!("/api/images/{short}/rmi-plan?force={no}"))
            .await
            .json();
        assert!(p["conflict"].is_string(), "rmi-plan force={no:?}: {p}");
    }
    assert_eq!(
        env.get("/v1.50/images/bb:1/json")
            .await
            .ok(StatusCode::OK)
            .json()["RepoTags"],
        json!(["bb:1", "other:1"])
    );
    // shared-size=no is off (Containers -1), yes is on
    let l = env.get("/v1.50/images/json?shared-size=no").await.json();
    assert_eq!(l[0]["Containers"], -1);
    let l = env.get("/v1.50/images/json?shared-size=yes").await.json();
    assert_eq!(l[0]["Containers"], 0);
    // A parameter given twice is its first value, as Go's `Form.Get` reads it, on every
    // route: a map-read query (shared-size), a struct-read one (force), the dashboard's.
    let l = env
        .get("/v1.50/images/json?shared-size=no&shared-size=yes")
        .await
        .json();
    assert_eq!(l[0]["Containers"], -1);
    let l = env
        .get("/v1.50/images/json?shared-size=yes&shared-size=no")
        .await
        .json();
    assert_eq!(l[0]["Containers"], 0);
    let r = env
        .docker(
            Method::DELETE,
            &format!("/v1.50/images/{short}?force=no&force=yes"),
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let p = env
        .get(&format!("/api/images/{short}/rmi-plan?force=no&force=1"))
        .await
        .json();
    assert!(p["conflict"].is_string(), "rmi-plan force=no&force=1: {p}");
    // and a true flag is still true
    env.docker(
        Method::DELETE,
        &format!("/v1.50/images/{short}?force=yes&force=no"),
        vec![],
    )
    .await
    .ok(StatusCode::OK);
}

/// Team mode: every row of the role table is walked with a token of each role; a token below
/// the row's role is refused (403), one at or above it is let through.
#[tokio::test]
async fn every_route_enforces_its_role_from_the_table() {
    use strata_server::ROUTE_ROLES;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let roles = [
        engine::Role::Viewer,
        engine::Role::Operator,
        engine::Role::Admin,
    ];
    let tokens: Vec<(engine::Role, String)> = {
        let e = engine::Engine::open(&root).unwrap();
        roles
            .iter()
            .map(|r| (*r, e.create_token(&format!("t-{}", r.name()), *r).unwrap()))
            .collect()
    };
    let state = AppState::new(root, None).with_auth(true);
    assert!(ROUTE_ROLES.len() > 50, "the table lists every route");
    for (method, pattern, need) in ROUTE_ROLES {
        let method = match *method {
            "*" => "POST",
            m => m,
        };
        // nothing of these names exists: no route does more than answer
        let path = pattern
            .replace("{name*}", "no/such:1")
            .replace("{id}", "nosuch")
            .replace("{action}", "start");
        let method: Method = method.parse().unwrap();
        let send = |token: Option<&str>| {
            let mut r = Request::builder()
                .method(method.clone())
                .uri(format!("/v1.50{path}"))
                .header("x-strata-request", "1");
            if let Some(t) = token {
                r = r.header("authorization", format!("Bearer {t}"));
            }
            app(state.clone()).oneshot(r.body(Body::empty()).unwrap())
        };
        // no token: open routes answer, the others want one
        let status = send(None).await.unwrap().status();
        match need {
            None => assert!(
                status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                "{method} {path} is open, got {status}"
            ),
            Some(_) => assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}"),
        }
        for (role, token) in &tokens {
            let status = send(Some(token)).await.unwrap().status();
            let allowed = need.is_none_or(|n| *role >= n);
            if allowed {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{method} {path} with a {} token: {status}",
                    role.name()
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} with a {} token",
                    role.name()
                );
            }
        }
    }
    // the audit log in particular: an admin's, not a viewer's or an operator's
    let audit = ROUTE_ROLES
        .iter()
        .find(|(m, p, _)| *m == "GET" && *p == "/api/audit")
        .unwrap();
    assert_eq!(audit.2, Some(engine::Role::Admin));
}

/// `dangling` in `POST /images/prune` is read as every boolean filter is (moby's
/// `GetBoolOrDefault`): `false`/`0` prunes unused images too, and a value that is neither is
/// refused with Docker's text, nothing removed (it once meant "dangling only").
#[tokio::test]
async fn prune_reads_the_dangling_filter_as_a_boolean_filter() {
    let env = Env::new();
    env.import("bb:1").await;
    let bad = env
        .docker(
            Method::POST,
            "/v1.50/images/prune?filters=%7B%22dangling%22%3A%5B%22xyz%22%5D%7D",
            vec![],
        )
        .await
        .ok(StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["message"], "invalid filter 'dangling=[xyz]'");
    env.get("/v1.50/images/bb:1/json").await.ok(StatusCode::OK);
    let pruned = env
        .docker(
            Method::POST,
            "/v1.50/images/prune?filters=%7B%22dangling%22%3A%5B%220%22%5D%7D",
            vec![],
        )
        .await
        .ok(StatusCode::OK);
    assert!(
        pruned.json()["ImagesDeleted"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{}",
        pruned.text()
    );
    env.get("/v1.50/images/bb:1/json")
        .await
        .ok(StatusCode::NOT_FOUND);
}

/// `POST /api/build`: the CSRF guard and the Origin guard apply; a Dockerfile that does not
/// parse is a `400` naming its line before any step (nothing built); a good one streams the
/// builder's output as `BuildLineDto` lines and tags the image.
#[tokio::test]
async fn dashboard_build_is_guarded_streams_ndjson_and_refuses_a_bad_dockerfile_first() {
    let env = Env::new();
    env.import("bb:1").await;
    let context = |dockerfile: &str| {
        let mut b = tar::Builder::new(Vec::new());
        file(&mut b, "Dockerfile", 0o644, dockerfile.as_bytes());
        b.into_inner().unwrap()
    };
    let images = |v: Value| v.as_array().unwrap().len();
    let before = images(env.get("/api/images").await.json());
    // no marker: refused
    let r = Request::post("/api/build?t=built:1")
        .body(Body::from(context("FROM bb:1\nENV A=1\n")))
        .unwrap();
    env.req(r).await.ok(StatusCode::FORBIDDEN);
    // a foreign page: refused even with the marker
    let r = Request::post("/api/build?t=built:1")
        .header("x-strata-request", "1")
        .header("host", "127.0.0.1:2375")
        .header("origin", "http://evil.example")
        .body(Body::from(context("FROM bb:1\nENV A=1\n")))
        .unwrap();
    env.req(r).await.ok(StatusCode::FORBIDDEN);
    // a bad Dockerfile: 400 with its line, nothing built
    let r = env
        .marked(
            Method::POST,
            "/api/build?t=built:1",
            context("FROM bb:1\nFORM x\n"),
        )
        .await
        .ok(StatusCode::BAD_REQUEST);
    let message = r.json()["message"].as_str().unwrap().to_string();
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("unknown instruction: FORM"), "{message}");
    assert_eq!(images(env.get("/api/images").await.json()), before);
    // a good one: the builder's output line by line, the image, the tag
    let r = env
        .marked(
            Method::POST,
            "/api/build?t=built:1",
            context("FROM bb:1\nENV A=1\n"),
        )
        .await
        .ok(StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/x-ndjson");
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        json!({"text": "Step 1/2 : FROM bb:1", "image": null, "error": null, "code": null})
    );
    let built = lines
        .iter()
        .find_map(|l| l["image"].as_str())
        .expect("the image's ID")
        .to_string();
    assert!(lines.iter().all(|l| l["error"].is_null()), "{lines:?}");
    let text: String = lines.iter().filter_map(|l| l["text"].as_str()).collect();
    assert!(text.contains("Successfully tagged built:1\n"), "{text}");
    let detail = env
        .get("/api/images/built:1")
        .await
        .ok(StatusCode::OK)
        .json();
    assert_eq!(detail["id"], json!(built));
}
