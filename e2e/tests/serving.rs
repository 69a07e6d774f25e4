//! The store as a team registry: `strata serve` answers the OCI distribution API's pull side
//! under `/v2/`, so another store (`strata pull`), skopeo and docker pull from it. Checked
//! against the serving store's own facts: the same image ID, the same layers, the same
//! manifest digest every time, nothing served outside its repository, pushes refused.

use e2e::registry::Registry;
use e2e::{busybox_rootfs, http, require, sh, tar_of, Daemon, Store};
use serde_json::Value;

/// `GET`/`HEAD` on the server: status, headers (lower-case names), body.
fn get(port: u16, method: &str, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    http(port, method, path, "", b"").expect("the server answers")
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

/// The spec's error code of an answer.
fn code(body: &[u8]) -> String {
    json(body)["errors"][0]["code"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn another_store_and_skopeo_pull_from_a_served_store() {
    require("skopeo");
    require("runc");
    let team = Store::new();
    let root = team.scratch().join("rootfs");
    busybox_rootfs(&root);
    let tar = tar_of(&root);
    team.ok(&["import", tar.to_str().unwrap(), "team/app:1"]);
    let id = team.image_id("team/app:1");
    // a second image, in another repository, with a layer of its own
    let other = team.scratch().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("secret"), "not for team/app\n").unwrap();
    let other_tar = tar_of(&other);
    team.ok(&["import", other_tar.to_str().unwrap(), "private:1"]);
    let private_layer = team.inspect("private:1")["RootFS"]["Layers"][0]
        .as_str()
        .unwrap()
        .to_string();
    let server = Daemon::start(&team);
    let port = server.port;
    let host = format!("127.0.0.1:{port}");

    // the base, the catalog, the tags
    let (status, headers, body) = get(port, "GET", "/v2/");
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "docker-distribution-api-version"),
        Some("registry/2.0")
    );
    assert_eq!(json(&body), serde_json::json!({}));
    let (_, _, body) = get(port, "GET", "/v2/_catalog");
    assert_eq!(
        json(&body)["repositories"],
        serde_json::json!(["private", "team/app"])
    );
    let (_, _, body) = get(port, "GET", "/v2/team/app/tags/list");
    assert_eq!(
        json(&body),
        serde_json::json!({"name": "team/app", "tags": ["1"]})
    );

    // the lists come in pages when asked (`?n=&last=`), each with a link to the next
    team.ok(&["tag", "team/app:1", "team/app:2"]);
    team.ok(&["tag", "team/app:1", "team/app:3"]);
    let (_, headers, body) = get(port, "GET", "/v2/team/app/tags/list?n=2");
    assert_eq!(json(&body)["tags"], serde_json::json!(["1", "2"]));
    assert_eq!(
        header(&headers, "link"),
        Some("</v2/team/app/tags/list?last=2&n=2>; rel=\"next\"")
    );
    let (_, headers, body) = get(port, "GET", "/v2/team/app/tags/list?last=2&n=2");
    assert_eq!(json(&body)["tags"], serde_json::json!(["3"]));
    assert_eq!(header(&headers, "link"), None);
    let (_, headers, body) = get(port, "GET", "/v2/_catalog?n=1");
    assert_eq!(json(&body)["repositories"], serde_json::json!(["private"]));
    assert_eq!(
        header(&headers, "link"),
        Some("</v2/_catalog?last=private&n=1>; rel=\"next\"")
    );
    let (_, _, body) = get(port, "GET", "/v2/_catalog?last=private&n=1");
    assert_eq!(json(&body)["repositories"], serde_json::json!(["team/app"]));
    let (status, _, body) = get(port, "GET", "/v2/_catalog?n=many");
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "PAGINATION_NUMBER_INVALID")
    );
    team.ok(&["rmi", "team/app:2", "team/app:3"]);

    // the manifest, by tag then by its digest: the same bytes every time
    let (status, headers, manifest) = get(port, "GET", "/v2/team/app/manifests/1");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&manifest));
    let digest = header(&headers, "docker-content-digest")
        .unwrap()
        .to_string();
    assert_eq!(digest, format!("sha256:{}", e2e::sha256_bytes(&manifest)));
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    let m = json(&manifest);
    assert_eq!(m["config"]["digest"], id.as_str());
    let (status, head_headers, empty) = get(port, "HEAD", "/v2/team/app/manifests/1");
    assert_eq!((status, empty.len()), (200, 0));
    assert_eq!(
        header(&head_headers, "content-length"),
        Some(manifest.len().to_string().as_str())
    );
    let (status, _, again) = get(port, "GET", &format!("/v2/team/app/manifests/{digest}"));
    assert_eq!((status, again), (200, manifest.clone()));

    // every blob the manifest names hashes to its name
    let layer = m["layers"][0]["digest"].as_str().unwrap().to_string();
    for d in [m["config"]["digest"].as_str().unwrap(), layer.as_str()] {
        let (status, headers, blob) = get(port, "GET", &format!("/v2/team/app/blobs/{d}"));
        assert_eq!(status, 200, "{d}");
        assert_eq!(format!("sha256:{}", e2e::sha256_bytes(&blob)), d);
        assert_eq!(
            header(&headers, "content-length"),
            Some(blob.len().to_string().as_str())
        );
    }

    // nothing outside the repository, nothing that is not there, no push
    let (status, _, body) = get(port, "GET", &format!("/v2/team/app/blobs/{private_layer}"));
    assert_eq!((status, code(&body).as_str()), (404, "BLOB_UNKNOWN"));
    let (status, _, body) = get(port, "GET", "/v2/team/app/manifests/2");
    assert_eq!((status, code(&body).as_str()), (404, "MANIFEST_UNKNOWN"));
    let (status, _, body) = get(port, "GET", "/v2/nobody/manifests/1");
    assert_eq!((status, code(&body).as_str()), (404, "NAME_UNKNOWN"));
    let (status, _, body) = get(port, "GET", "/v2/Bad..Name/manifests/1");
    assert_eq!((status, code(&body).as_str()), (404, "NAME_INVALID"));
    let (status, _, body) = http(port, "POST", "/v2/team/app/blobs/uploads/", "", b"").unwrap();
    assert_eq!((status, code(&body).as_str()), (405, "UNSUPPORTED"));

    // skopeo sees the same digest and copies the image whole
    let remote = format!("docker://{host}/team/app:1");
    let seen: Value =
        serde_json::from_str(&sh("skopeo", &["inspect", "--tls-verify=false", &remote])).unwrap();
    assert_eq!(seen["Digest"], digest.as_str());
    let layout = team.scratch().join("layout");
    sh(
        "skopeo",
        &[
            "copy",
            "--src-tls-verify=false",
            &remote,
            &format!("oci:{}:copied", layout.display()),
        ],
    );
    // (skopeo may compress the layer on its way into a layout; the config is the image)
    assert!(layout
        .join("blobs/sha256")
        .join(&id["sha256:".len()..])
        .exists());

    // another store pulls it: the same image, and it runs
    let mine = Store::new();
    let reference = format!("{host}/team/app:1");
    mine.ok(&["pull", &reference]);
    assert_eq!(mine.image_id(&reference), id);
    let pulled = mine.inspect(&reference);
    assert_eq!(
        pulled["RepoDigests"][0],
        format!("{host}/team/app@{digest}")
    );
    let out = mine.ok(&["run", "--rm", &reference, "echo", "pulled from a store"]);
    assert_eq!(out, "pulled from a store\n");
    // and pulling again changes nothing
    let again = mine.ok(&["pull", &reference]);
    assert!(again.contains("Image is up to date"), "{again}");
}

/// An image the store pulled from a registry is served as it was pulled: the registry's gzip
/// layer blobs, untouched (nothing is decompressed to serve it), and a store pulling from it
/// gets the same image.
#[test]
fn a_pulled_image_is_served_with_the_blobs_it_was_pulled_as() {
    require("skopeo");
    require("docker-registry");
    let origin = Store::new();
    let root = origin.scratch().join("rootfs");
    busybox_rootfs(&root);
    let tar = tar_of(&root);
    origin.ok(&["import", tar.to_str().unwrap(), "app:1"]);
    let id = origin.image_id("app:1");
    let archive = origin.scratch().join("app.tar");
    origin.ok(&["save", "-o", archive.to_str().unwrap(), "app:1"]);
    // into a real registry: skopeo compresses the layer with gzip on the way
    let registry = Registry::start();
    let upstream = format!("{}/team/app:1", registry.host());
    sh(
        "skopeo",
        &[
            "copy",
            "--dest-tls-verify=false",
            &format!("docker-archive:{}", archive.display()),
            &format!("docker://{upstream}"),
        ],
    );
    let raw: Value = serde_json::from_str(&sh(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{upstream}"),
        ],
    ))
    .unwrap();
    let gz = raw["layers"][0]["digest"].as_str().unwrap().to_string();
    assert!(
        raw["layers"][0]["mediaType"]
            .as_str()
            .unwrap()
            .ends_with("gzip"),
        "{raw}"
    );
    // a team store pulls it, then serves it under the name it has there
    let team = Store::new();
    team.ok(&["pull", &upstream]);
    team.ok(&["tag", &upstream, "team/app:1"]);
    let server = Daemon::start(&team);
    let (status, _, manifest) = get(server.port, "GET", "/v2/team/app/manifests/1");
    assert_eq!(status, 200);
    let m = json(&manifest);
    assert_eq!(m["config"]["digest"], id.as_str());
    assert_eq!(
        m["layers"][0]["digest"],
        gz.as_str(),
        "the blob as pulled: {m}"
    );
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let (status, headers, blob) = get(server.port, "GET", &format!("/v2/team/app/blobs/{gz}"));
    assert_eq!(status, 200);
    assert_eq!(format!("sha256:{}", e2e::sha256_bytes(&blob)), gz);
    assert_eq!(
        header(&headers, "content-length"),
        Some(m["layers"][0]["size"].to_string().as_str())
    );
    // and a store pulling from the team store gets the very image
    let mine = Store::new();
    let reference = format!("127.0.0.1:{}/team/app:1", server.port);
    mine.ok(&["pull", &reference]);
    assert_eq!(mine.image_id(&reference), id);
}
