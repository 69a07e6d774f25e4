//! Integration tests: the client against the real CNCF distribution registry
//! (`/usr/bin/docker-registry`, Debian package `docker-registry`) started per test on
//! 127.0.0.1, and against small fake HTTP servers for what a well-behaved registry never does
//! (wrong bytes, 503s, broken downloads, bearer tokens, redirects, relative `Location`s).

use oci_model::{media_types, Descriptor, Digest, Index, Manifest, Platform};
use registry_client::{
    select_platform, Client, Credentials, Error, ErrorKind, RegistryConfig, Repo,
};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use test_support::registry::{free_port, Registry};

// ------------------------------------------------------------------------------------------
// The real registry

/// `repo` on `reg`.
fn repo(reg: &Registry, name: &str) -> Repo {
    Repo::new(&reg.host(), name)
}

fn anonymous() -> Client {
    Client::new(
        RegistryConfig::default(),
        Arc::new(HashMap::<String, Credentials>::new()),
    )
}

fn with_creds(host: &str, user: &str, pass: &str) -> Client {
    let mut m = HashMap::new();
    m.insert(host.to_string(), Credentials::new(user, pass));
    Client::new(RegistryConfig::default(), Arc::new(m))
}

fn upload(client: &Client, repo: &Repo, bytes: &[u8], chunk: Option<u64>) -> Digest {
    let d = Digest::of(bytes);
    client
        .upload_blob(repo, &d, bytes.len() as u64, &mut &bytes[..], chunk)
        .unwrap();
    d
}

/// Blob `d` of `size` bytes.
fn get(client: &Client, repo: &Repo, d: &Digest, size: usize) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let n = client.get_blob(repo, d, size as u64, &mut out)?;
    assert_eq!(n, out.len() as u64);
    Ok(out)
}

/// A one-layer OCI image: (config bytes, layer bytes, manifest bytes).
fn tiny_image(content: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "hello.txt", content.as_bytes())
        .unwrap();
    let layer = tar.into_inner().unwrap();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        Digest::of(&layer)
    )
    .into_bytes();
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(media_types::OCI_MANIFEST.into()),
        config: Descriptor::new(
            media_types::OCI_CONFIG,
            Digest::of(&config),
            config.len() as u64,
        ),
        layers: vec![Descriptor::new(
            media_types::OCI_LAYER_TAR,
            Digest::of(&layer),
            layer.len() as u64,
        )],
        annotations: Default::default(),
    };
    (config, layer, serde_json::to_vec(&manifest).unwrap())
}

/// Pushes [`tiny_image`] under `tag`; returns the manifest bytes and digest.
fn push_image(client: &Client, repo: &Repo, tag: &str, content: &str) -> (Vec<u8>, Digest) {
    let (config, layer, manifest) = tiny_image(content);
    upload(client, repo, &config, None);
    upload(client, repo, &layer, Some(100));
    let d = client
        .put_manifest(repo, tag, media_types::OCI_MANIFEST, &manifest)
        .unwrap();
    assert_eq!(d, Digest::of(&manifest));
    (manifest, d)
}

// ------------------------------------------------------------------------------------------
// Against the real registry

#[test]
fn ping_loopback_registry_over_http() {
    let reg = Registry::start();
    let client = anonymous();
    assert_eq!(repo(&reg, "a").base_url(), format!("http://{}", reg.host()));
    client.ping(&reg.host()).unwrap();
}

#[test]
fn blobs_monolithic_and_chunked_upload_exists_and_get() {
    let reg = Registry::start();
    let client = anonymous();
    let repo = repo(&reg, "blobs/test");
    let mono: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let chunked: Vec<u8> = (0..50_003u32).map(|i| (i % 13) as u8).collect();

    let d1 = upload(&client, &repo, &mono, None);
    let d2 = upload(&client, &repo, &chunked, Some(7_000));
    let d3 = upload(&client, &repo, b"", Some(10));

    assert_eq!(
        client.blob_exists(&repo, &d1).unwrap(),
        Some(mono.len() as u64)
    );
    assert_eq!(
        client.blob_exists(&repo, &d2).unwrap(),
        Some(chunked.len() as u64)
    );
    assert_eq!(client.blob_exists(&repo, &d3).unwrap(), Some(0));
    assert_eq!(
        client.blob_exists(&repo, &Digest::of(b"nope")).unwrap(),
        None
    );

    assert_eq!(get(&client, &repo, &d1, mono.len()).unwrap(), mono);
    assert_eq!(get(&client, &repo, &d2, chunked.len()).unwrap(), chunked);
    assert_eq!(get(&client, &repo, &d3, 0).unwrap(), b"");

    let missing = Digest::of(b"missing");
    let e = get(&client, &repo, &missing, 7).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "blob {missing} in {}/blobs/test not found: blob unknown: blob unknown to registry",
            reg.host()
        )
    );
}

#[test]
fn upload_with_wrong_digest_is_a_mismatch() {
    let reg = Registry::start();
    let client = anonymous();
    let repo = repo(&reg, "bad");
    let claimed = Digest::of(b"something else");
    for chunk in [None, Some(4)] {
        let e = client
            .upload_blob(&repo, &claimed, 10, &mut &b"0123456789"[..], chunk)
            .unwrap_err();
        match e {
            Error::DigestMismatch { expected, got } => {
                assert_eq!(expected, claimed);
                assert_eq!(got, Digest::of(b"0123456789"));
            }
            e => panic!("chunk {chunk:?}: {e:?}"),
        }
    }
    assert_eq!(client.blob_exists(&repo, &claimed).unwrap(), None);
    // A body shorter than announced.
    let d = Digest::of(b"0123456789");
    let e = client
        .upload_blob(&repo, &d, 10, &mut &b"0123"[..], Some(3))
        .unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
}

#[test]
fn push_manifest_and_get_it_back_by_tag_and_digest() {
    let reg = Registry::start();
    let client = anonymous();
    let repo = repo(&reg, "bb");
    let (manifest, digest) = push_image(&client, &repo, "v1", "hello");

    let (bytes, mt, d) = client.get_manifest(&repo, "v1", &[]).unwrap();
    assert_eq!(
        (bytes.as_slice(), mt.as_str(), &d),
        (manifest.as_slice(), media_types::OCI_MANIFEST, &digest)
    );
    let (bytes, mt, d) = client
        .get_manifest(&repo, &digest.to_string(), &[])
        .unwrap();
    assert_eq!(
        (bytes.as_slice(), mt.as_str(), &d),
        (manifest.as_slice(), media_types::OCI_MANIFEST, &digest)
    );

    // The blobs it names are there and verify.
    let m: Manifest = serde_json::from_slice(&bytes).unwrap();
    for desc in std::iter::once(&m.config).chain(&m.layers) {
        let blob = get(&client, &repo, &desc.digest, desc.size as usize).unwrap();
        assert_eq!(blob.len() as u64, desc.size);
    }

    assert_eq!(
        client.head_manifest(&repo, "v1").unwrap(),
        Some((
            digest.clone(),
            media_types::OCI_MANIFEST.to_string(),
            manifest.len() as u64
        ))
    );
    assert_eq!(
        client
            .head_manifest(&repo, &digest.to_string())
            .unwrap()
            .map(|h| h.0),
        Some(digest.clone())
    );
    assert_eq!(client.head_manifest(&repo, "nope").unwrap(), None);

    let e = client.get_manifest(&repo, "nope", &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        format!(
            "manifest for {}/bb:nope not found: manifest unknown: manifest unknown",
            reg.host()
        )
    );
    let e = client.get_manifest(&repo, "bad tag", &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);

    // By digest, the bytes must be the digest's.
    let e = client
        .put_manifest(
            &repo,
            &Digest::of(b"x").to_string(),
            media_types::OCI_MANIFEST,
            &manifest,
        )
        .unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e:?}");
    assert_eq!(
        client
            .put_manifest(
                &repo,
                &digest.to_string(),
                media_types::OCI_MANIFEST,
                &manifest
            )
            .unwrap(),
        digest
    );
}

#[test]
fn docker_media_types_and_an_index_round_trip() {
    let reg = Registry::start();
    let client = anonymous();
    let repo = repo(&reg, "multi/arch");
    let (config, layer, _) = tiny_image("docker");
    upload(&client, &repo, &config, None);
    upload(&client, &repo, &layer, None);
    let docker = serde_json::to_vec(&Manifest {
        schema_version: 2,
        media_type: Some(media_types::DOCKER_MANIFEST.into()),
        config: Descriptor::new(
            media_types::DOCKER_CONFIG,
            Digest::of(&config),
            config.len() as u64,
        ),
        layers: vec![Descriptor::new(
            media_types::DOCKER_LAYER_TAR,
            Digest::of(&layer),
            layer.len() as u64,
        )],
        annotations: Default::default(),
    })
    .unwrap();
    let docker_digest = client
        .put_manifest(&repo, "docker", media_types::DOCKER_MANIFEST, &docker)
        .unwrap();
    let (_, oci_digest) = push_image(&client, &repo, "oci", "oci");

    let (_, mt, _) = client.get_manifest(&repo, "docker", &[]).unwrap();
    assert_eq!(mt, media_types::DOCKER_MANIFEST);

    let mut amd = Descriptor::new(media_types::OCI_MANIFEST, oci_digest.clone(), 0);
    amd.size = client.head_manifest(&repo, "oci").unwrap().unwrap().2;
    amd.platform = Some(Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        ..Default::default()
    });
    let mut arm = Descriptor::new(
        media_types::DOCKER_MANIFEST,
        docker_digest.clone(),
        docker.len() as u64,
    );
    arm.platform = Some(Platform {
        architecture: "arm64".into(),
        os: "linux".into(),
        variant: Some("v8".into()),
        ..Default::default()
    });
    let index = Index {
        schema_version: 2,
        media_type: Some(media_types::OCI_INDEX.into()),
        manifests: vec![amd, arm],
        annotations: Default::default(),
    };
    let index_bytes = serde_json::to_vec(&index).unwrap();
    let index_digest = client
        .put_manifest(&repo, "latest", media_types::OCI_INDEX, &index_bytes)
        .unwrap();

    let (bytes, mt, d) = client.get_manifest(&repo, "latest", &[]).unwrap();
    assert_eq!((mt.as_str(), &d), (media_types::OCI_INDEX, &index_digest));
    let got: Index = serde_json::from_slice(&bytes).unwrap();
    let want = Platform {
        architecture: "arm64".into(),
        os: "linux".into(),
        ..Default::default()
    };
    let pick = select_platform(&got, &want).unwrap();
    assert_eq!(pick.digest, docker_digest);
    let (_, mt, _) = client
        .get_manifest(&repo, &pick.digest.to_string(), &[])
        .unwrap();
    assert_eq!(mt, media_types::DOCKER_MANIFEST);
}

#[test]
fn tags_and_catalog() {
    let reg = Registry::start();
    let client = anonymous();
    let a = repo(&reg, "lib/a");
    let b = repo(&reg, "lib/b");
    push_image(&client, &a, "2", "a2");
    push_image(&client, &a, "1", "a1");
    push_image(&client, &a, "latest", "a1");
    push_image(&client, &b, "x", "b");
    let mut tags = client.tags(&a).unwrap();
    tags.sort();
    assert_eq!(tags, ["1", "2", "latest"]);
    assert_eq!(client.tags(&b).unwrap(), ["x"]);
    let mut repos = client.catalog(&reg.host()).unwrap();
    repos.sort();
    assert_eq!(repos, ["lib/a", "lib/b"]);
    let e = client.tags(&repo(&reg, "none")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(
        e.to_string().starts_with(&format!(
            "repository {}/none not found: name unknown",
            reg.host()
        )),
        "{e}"
    );
}

#[test]
fn cross_repository_mount() {
    let reg = Registry::start();
    let client = anonymous();
    let src = repo(&reg, "src/repo");
    let dst = repo(&reg, "dst/repo");
    let d = upload(&client, &src, b"shared layer bytes", None);
    assert_eq!(client.blob_exists(&dst, &d).unwrap(), None);
    assert!(client.mount_blob(&dst, &d, "src/repo").unwrap());
    assert_eq!(client.blob_exists(&dst, &d).unwrap(), Some(18));
    assert_eq!(get(&client, &dst, &d, 18).unwrap(), b"shared layer bytes");
    // Nothing to mount: the registry opens an upload instead (202), which is cancelled.
    let other = Digest::of(b"not uploaded");
    assert!(!client.mount_blob(&dst, &other, "src/repo").unwrap());
    assert_eq!(client.blob_exists(&dst, &other).unwrap(), None);
}

#[test]
fn htpasswd_basic_auth() {
    let reg = Registry::start_with_auth("alice", "s3cret");
    let repo = repo(&reg, "private/app");

    let anon = anonymous();
    let e = anon.ping(&reg.host()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    let e = anon
        .upload_blob(&repo, &Digest::of(b"x"), 1, &mut &b"x"[..], None)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert_eq!(e.to_string(), "unauthorized: authentication required");
    let e = anon.get_manifest(&repo, "latest", &[]).unwrap_err();
    assert_eq!(e.to_string(), "unauthorized: authentication required");
    let e = anon.blob_exists(&repo, &Digest::of(b"x")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");

    let wrong = with_creds(&reg.host(), "alice", "wrong");
    let e = wrong.tags(&repo).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    // Once the client knows the registry wants Basic, it sends credentials up front.
    let e = wrong.tags(&repo).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");

    let alice = with_creds(&reg.host(), "alice", "s3cret");
    alice.ping(&reg.host()).unwrap();
    let (manifest, digest) = push_image(&alice, &repo, "v1", "secret");
    let d = upload(&alice, &repo, b"streamed after auth", Some(5));
    assert_eq!(get(&alice, &repo, &d, 19).unwrap(), b"streamed after auth");
    assert_eq!(
        alice.get_manifest(&repo, "v1", &[]).unwrap(),
        (manifest, media_types::OCI_MANIFEST.into(), digest)
    );
    assert_eq!(alice.tags(&repo).unwrap(), ["v1"]);
    assert_eq!(alice.catalog(&reg.host()).unwrap(), ["private/app"]);

    // A fresh client with a closure store, first request a streaming upload: the POST that
    // opens the session takes the challenge, the PATCHes then carry credentials.
    let host = reg.host();
    let closure = Client::new(
        RegistryConfig::default(),
        Arc::new(move |r: &str| (r == host).then(|| Credentials::new("alice", "s3cret"))),
    );
    upload(&closure, &repo, b"closure creds", Some(4));
}

// ------------------------------------------------------------------------------------------
// Fake servers

/// One parsed request.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap()
    }
}

/// A response; `truncate_at` sends only that many body bytes (with the full Content-Length)
/// and closes, to simulate a connection dropped mid-download.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    truncate_at: Option<usize>,
}

impl Resp {
    fn new(status: u16, body: impl Into<Vec<u8>>) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: body.into(),
            truncate_at: None,
        }
    }
    fn header(mut self, k: &str, v: impl Into<String>) -> Resp {
        self.headers.push((k.to_string(), v.into()));
        self
    }
}

type Handler = dyn Fn(&Req, usize) -> Resp + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 answering each request with `handler(request, index)` and
/// closing the connection; every request is recorded.
struct FakeServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Req>>>,
}

impl FakeServer {
    fn start(handler: impl Fn(&Req, usize) -> Resp + Send + Sync + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let counter = Arc::new(AtomicUsize::new(0));
        let reqs = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (handler, reqs, counter) = (handler.clone(), reqs.clone(), counter.clone());
                std::thread::spawn(move || serve_one(stream, &*handler, &reqs, &counter));
            }
        });
        FakeServer { addr, requests }
    }

    fn host(&self) -> String {
        self.addr.to_string()
    }

    fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }
}

/// Reads one request (line, headers, a `Content-Length` body); `None` when the client sent
/// nothing.
fn read_request(r: &mut BufReader<TcpStream>) -> Option<Req> {
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_lowercase(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = r.read_exact(&mut body);
    Some(Req {
        method,
        target,
        headers,
        body,
    })
}

fn serve_one(stream: TcpStream, handler: &Handler, reqs: &Mutex<Vec<Req>>, counter: &AtomicUsize) {
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let Some(req) = read_request(&mut r) else {
        return;
    };
    let i = counter.fetch_add(1, Ordering::SeqCst);
    reqs.lock().unwrap().push(req.clone());
    let resp = handler(&req, i);
    let reason = match resp.status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        206 => "Partial Content",
        302 => "Found",
        401 => "Unauthorized",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Whatever",
    };
    let mut out = format!("HTTP/1.1 {} {reason}\r\nConnection: close\r\n", resp.status);
    if !resp
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        out.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    }
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut w = stream;
    let _ = w.write_all(out.as_bytes());
    if req.method != "HEAD" {
        let n = resp.truncate_at.unwrap_or(resp.body.len());
        let _ = w.write_all(&resp.body[..n]);
    }
    let _ = w.flush();
    let _ = w.shutdown(std::net::Shutdown::Both);
}

fn quick_retries() -> RegistryConfig {
    RegistryConfig {
        retries: 3,
        ..Default::default()
    }
}

#[test]
fn blob_with_wrong_bytes_is_a_digest_mismatch() {
    let wanted = Digest::of(b"the real layer");
    let path = format!("/v2/x/blobs/{wanted}");
    let server = FakeServer::start(move |req, _| match req.path() {
        "/v2/" => Resp::new(200, "{}"),
        p if p == path => Resp::new(200, "tampered bytes"),
        _ => Resp::new(404, ""),
    });
    let client = anonymous();
    client.ping(&server.host()).unwrap();
    let repo = Repo::new(&server.host(), "x");
    let mut sink = Vec::new();
    let e = client.get_blob(&repo, &wanted, 14, &mut sink).unwrap_err();
    match &e {
        Error::DigestMismatch { expected, got } => {
            assert_eq!(expected, &wanted);
            assert_eq!(got, &Digest::of(b"tampered bytes"));
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(e.kind(), ErrorKind::Internal);
    // Documented: the bytes were written; the caller discards them.
    assert_eq!(sink, b"tampered bytes");
}

#[test]
fn manifest_with_wrong_announced_digest_is_a_mismatch() {
    let body = br#"{"schemaVersion":2,"manifests":[]}"#;
    let server = FakeServer::start(move |req, _| {
        if req.path().starts_with("/v2/x/manifests/") {
            Resp::new(200, &body[..])
                .header("Content-Type", media_types::OCI_INDEX)
                .header("Docker-Content-Digest", Digest::of(b"other").to_string())
        } else {
            Resp::new(404, "")
        }
    });
    let client = anonymous();
    let repo = Repo::new(&server.host(), "x");
    let e = client.get_manifest(&repo, "latest", &[]).unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e:?}");
    let e = client
        .get_manifest(&repo, &Digest::of(b"asked").to_string(), &[])
        .unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e:?}");
    let accept = server.requests()[0].header("accept").unwrap().to_string();
    assert_eq!(
        accept,
        format!(
            "{}, {}, {}, {}",
            media_types::OCI_MANIFEST,
            media_types::OCI_INDEX,
            media_types::DOCKER_MANIFEST,
            media_types::DOCKER_MANIFEST_LIST
        )
    );
}

#[test]
fn retries_after_503() {
    let blob = b"worth the wait".to_vec();
    let d = Digest::of(&blob);
    let body = blob.clone();
    let server = FakeServer::start(move |_, i| {
        if i == 0 {
            Resp::new(
                503,
                r#"{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}"#,
            )
        } else {
            Resp::new(200, body.clone())
        }
    });
    let client = Client::new(
        quick_retries(),
        Arc::new(HashMap::<String, Credentials>::new()),
    );
    let repo = Repo::new(&server.host(), "x");
    let started = Instant::now();
    assert_eq!(get(&client, &repo, &d, blob.len()).unwrap(), blob);
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(server.requests().len(), 2);

    // Without retries the 503 is reported as Unavailable.
    let server = FakeServer::start(|_, _| {
        Resp::new(
            503,
            r#"{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}"#,
        )
    });
    let client = Client::new(
        RegistryConfig {
            retries: 0,
            ..Default::default()
        },
        Arc::new(HashMap::<String, Credentials>::new()),
    );
    let e = client
        .get_manifest(&Repo::new(&server.host(), "x"), "latest", &[])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(e.to_string(), "unavailable: try later");
    assert_eq!(server.requests().len(), 1);

    // Connection refused is retried too, then reported as Unavailable.
    let client = Client::new(
        RegistryConfig {
            retries: 1,
            ..Default::default()
        },
        Arc::new(HashMap::<String, Credentials>::new()),
    );
    let e = client
        .ping(&format!("127.0.0.1:{}", free_port()))
        .unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Unavailable);
}

#[test]
fn interrupted_download_resumes_with_range() {
    let blob: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let d = Digest::of(&blob);
    let body = blob.clone();
    let server = FakeServer::start(move |req, i| {
        if i == 0 {
            let mut r = Resp::new(200, body.clone());
            r.truncate_at = Some(4000);
            return r;
        }
        let start: usize = req
            .header("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Resp::new(206, body[start..].to_vec()).header(
            "Content-Range",
            format!("bytes {}-{}/{}", start, body.len() - 1, body.len()),
        )
    });
    let client = Client::new(
        quick_retries(),
        Arc::new(HashMap::<String, Credentials>::new()),
    );
    let repo = Repo::new(&server.host(), "x");
    assert_eq!(get(&client, &repo, &d, blob.len()).unwrap(), blob);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("range"), None);
    assert_eq!(reqs[1].header("range"), Some("bytes=4000-"));

    // A server that ignores Range cannot be resumed: a clear error, no silent duplication.
    let body = blob.clone();
    let server = FakeServer::start(move |_, i| {
        let mut r = Resp::new(200, body.clone());
        if i == 0 {
            r.truncate_at = Some(4000);
        }
        r
    });
    let mut sink = Vec::new();
    let e = client
        .get_blob(
            &Repo::new(&server.host(), "x"),
            &d,
            blob.len() as u64,
            &mut sink,
        )
        .unwrap_err();
    assert!(matches!(e, Error::InvalidResponse(_)), "{e:?}");
    assert!(e.to_string().contains("does not support resuming"), "{e}");
    assert_eq!(sink.len(), 4000);
}

#[test]
fn bearer_token_flow_with_cache() {
    let token_requests = Arc::new(AtomicUsize::new(0));
    let tr = token_requests.clone();
    let realm = Arc::new(Mutex::new(String::new()));
    let realm2 = realm.clone();
    let server = FakeServer::start(move |req, _| {
        if req.path() == "/token" {
            tr.fetch_add(1, Ordering::SeqCst);
            let auth = req.header("authorization").unwrap_or("");
            let token = if auth.is_empty() {
                "anon"
            } else if auth == "Basic Ym9iOnB3" {
                "bobs"
            } else {
                return Resp::new(401, r#"{"details":"incorrect username or password"}"#);
            };
            return Resp::new(200, format!(r#"{{"token":"{token}","expires_in":300}}"#));
        }
        let challenge = format!(
            r#"Bearer realm="{}",service="fake",scope="repository:team/app:pull""#,
            realm2.lock().unwrap()
        );
        match req.header("authorization") {
            Some("Bearer bobs") if req.path() == "/v2/team/app/tags/list" => {
                Resp::new(200, r#"{"name":"team/app","tags":["a"]}"#)
            }
            Some("Bearer anon") if req.path() == "/v2/" => Resp::new(200, "{}"),
            Some("Bearer anon") => Resp::new(
                403,
                r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#,
            ),
            _ => Resp::new(
                401,
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            )
            .header("WWW-Authenticate", challenge),
        }
    });
    *realm.lock().unwrap() = format!("http://{}/token", server.host());
    let repo = Repo::new(&server.host(), "team/app");

    let bob = with_creds(&server.host(), "bob", "pw");
    assert_eq!(bob.tags(&repo).unwrap(), ["a"]);
    assert_eq!(bob.tags(&repo).unwrap(), ["a"]);
    assert_eq!(bob.clone().tags(&repo).unwrap(), ["a"]);
    assert_eq!(
        token_requests.load(Ordering::SeqCst),
        1,
        "token cached per (registry, scope)"
    );
    let reqs = server.requests();
    let token_req = reqs.iter().find(|r| r.path() == "/token").unwrap();
    assert_eq!(
        token_req.target,
        "/token?service=fake&scope=repository%3Ateam%2Fapp%3Apull"
    );

    // Anonymous: a token without credentials; enough for /v2/, denied for the repository.
    let anon = anonymous();
    anon.ping(&server.host()).unwrap();
    let e = anon.tags(&repo).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert_eq!(
        e.to_string(),
        "denied: requested access to the resource is denied"
    );

    // Wrong password: the token service's message.
    let eve = with_creds(&server.host(), "eve", "nope");
    let e = eve.tags(&repo).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert_eq!(
        e.to_string(),
        "unauthorized: incorrect username or password"
    );
}

#[test]
fn blob_redirects_are_followed_without_credentials() {
    let blob = b"stored elsewhere".to_vec();
    let d = Digest::of(&blob);
    let body = blob.clone();
    let storage = FakeServer::start(move |_, _| Resp::new(200, body.clone()));
    let storage_url = format!(
        "http://localhost:{}/bucket/{}?sig=abc",
        storage.addr.port(),
        d.hex()
    );
    let registry = FakeServer::start(move |req, _| {
        if req.header("authorization") != Some("Basic dTpw") {
            return Resp::new(401, "").header("WWW-Authenticate", r#"Basic realm="r""#);
        }
        Resp::new(307, "").header("Location", storage_url.clone())
    });
    let client = with_creds(&registry.host(), "u", "p");
    let repo = Repo::new(&registry.host(), "x");
    assert_eq!(get(&client, &repo, &d, blob.len()).unwrap(), blob);
    let s = storage.requests();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].target, format!("/bucket/{}?sig=abc", d.hex()));
    assert_eq!(
        s[0].header("authorization"),
        None,
        "credentials must not follow a redirect to another host"
    );
}

#[test]
fn chunked_upload_follows_relative_locations_with_queries() {
    let data = b"0123456789abcdefghij".to_vec();
    let d = Digest::of(&data);
    let server = FakeServer::start(move |req, _| match (req.method.as_str(), req.path()) {
        ("POST", "/v2/x/blobs/uploads/") => {
            Resp::new(202, "").header("Location", "/v2/x/blobs/uploads/s1?_state=0")
        }
        ("PATCH", "/v2/x/blobs/uploads/s1") => {
            let state: usize = req.target.rsplit('=').next().unwrap().parse().unwrap();
            // A relative location this time, with the state carried in the query.
            Resp::new(202, "")
                .header("Location", format!("s1?_state={}", state + req.body.len()))
                .header("Range", format!("0-{}", state + req.body.len() - 1))
        }
        ("PUT", "/v2/x/blobs/uploads/s1") => {
            Resp::new(201, "").header("Docker-Content-Digest", "x")
        }
        _ => Resp::new(404, ""),
    });
    let client = anonymous();
    let repo = Repo::new(&server.host(), "x");
    client
        .upload_blob(&repo, &d, data.len() as u64, &mut &data[..], Some(8))
        .unwrap();
    let reqs = server.requests();
    let seen: Vec<_> = reqs
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.target.as_str(),
                r.header("content-range").unwrap_or(""),
                r.header("content-type").unwrap_or(""),
                r.body.len(),
            )
        })
        .collect();
    let put = format!(
        "/v2/x/blobs/uploads/s1?_state=20&digest=sha256%3A{}",
        d.hex()
    );
    assert_eq!(
        seen,
        [
            ("POST", "/v2/x/blobs/uploads/", "", "", 0),
            (
                "PATCH",
                "/v2/x/blobs/uploads/s1?_state=0",
                "0-7",
                "application/octet-stream",
                8
            ),
            (
                "PATCH",
                "/v2/x/blobs/uploads/s1?_state=8",
                "8-15",
                "application/octet-stream",
                8
            ),
            (
                "PATCH",
                "/v2/x/blobs/uploads/s1?_state=16",
                "16-19",
                "application/octet-stream",
                4
            ),
            ("PUT", put.as_str(), "", "", 0),
        ]
    );
    let body: Vec<u8> = reqs[1..4].iter().flat_map(|r| r.body.clone()).collect();
    assert_eq!(body, data);
    assert_eq!(reqs[4].header("content-length"), Some("0"));
}

#[test]
fn listing_follows_link_pages() {
    let server = FakeServer::start(|req, _| {
        let page = |items: &str, next: Option<&str>| {
            let r = Resp::new(200, items.to_string());
            match next {
                Some(n) => r.header("Link", format!(r#"<{n}>; rel="next""#)),
                None => r,
            }
        };
        match req.target.as_str() {
            "/v2/_catalog" => page(
                r#"{"repositories":["a","b"]}"#,
                Some("/v2/_catalog?last=b&n=2"),
            ),
            "/v2/_catalog?last=b&n=2" => page(r#"{"repositories":["c"]}"#, None),
            "/v2/r/tags/list" => page(
                r#"{"name":"r","tags":["1"]}"#,
                Some("/v2/r/tags/list?n=1&last=1"),
            ),
            "/v2/r/tags/list?n=1&last=1" => page(
                r#"{"name":"r","tags":["2"]}"#,
                Some("/v2/r/tags/list?n=1&last=2"),
            ),
            "/v2/r/tags/list?n=1&last=2" => page(r#"{"name":"r","tags":null}"#, None),
            _ => Resp::new(404, ""),
        }
    });
    let client = anonymous();
    assert_eq!(client.catalog(&server.host()).unwrap(), ["a", "b", "c"]);
    assert_eq!(
        client.tags(&Repo::new(&server.host(), "r")).unwrap(),
        ["1", "2"]
    );
}

#[test]
fn head_manifest_against_fake_server() {
    let d = Digest::of(b"m");
    let announced = d.to_string();
    let server = FakeServer::start(move |req, _| match req.path() {
        "/v2/x/manifests/present" => Resp::new(200, "")
            .header("Content-Length", "1")
            .header("Content-Type", media_types::DOCKER_MANIFEST_LIST)
            .header("Docker-Content-Digest", announced.clone()),
        _ => Resp::new(404, ""),
    });
    let client = anonymous();
    let repo = Repo::new(&server.host(), "x");
    assert_eq!(
        client.head_manifest(&repo, "present").unwrap(),
        Some((d, media_types::DOCKER_MANIFEST_LIST.to_string(), 1))
    );
    assert_eq!(client.head_manifest(&repo, "absent").unwrap(), None);
    assert_eq!(server.requests()[0].method, "HEAD");
}

// ------------------------------------------------------------------------------------------
// Sizes a descriptor gives, and registries that go silent

/// A server handing each parsed request and its connection to `handler`, which writes
/// whatever it likes: no length, an endless body, or nothing at all. Every request is
/// recorded.
struct RawServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Req>>>,
}

type RawHandler = dyn Fn(&Req, TcpStream) + Send + Sync;

impl RawServer {
    fn start(handler: impl Fn(&Req, TcpStream) + Send + Sync + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<RawHandler> = Arc::new(handler);
        let reqs = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (handler, reqs) = (handler.clone(), reqs.clone());
                std::thread::spawn(move || {
                    let mut r = BufReader::new(stream.try_clone().unwrap());
                    if let Some(req) = read_request(&mut r) {
                        reqs.lock().unwrap().push(req.clone());
                        handler(&req, stream);
                    }
                });
            }
        });
        RawServer { addr, requests }
    }

    fn host(&self) -> String {
        self.addr.to_string()
    }

    fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }
}

/// Keeps the connection open, silent, until the client closes it.
fn hold(mut stream: TcpStream) {
    let mut b = [0u8; 1];
    while matches!(stream.read(&mut b), Ok(n) if n > 0) {}
}

/// Writes `head`, then `body`, then zeros until the client goes away; `chunked` frames it all
/// as chunks.
fn endless(mut stream: TcpStream, head: &str, body: &[u8], chunked: bool) {
    let write = |s: &mut TcpStream, data: &[u8]| -> std::io::Result<()> {
        if chunked {
            s.write_all(format!("{:x}\r\n", data.len()).as_bytes())?;
            s.write_all(data)?;
            s.write_all(b"\r\n")
        } else {
            s.write_all(data)
        }
    };
    let zeros = vec![0u8; 16 << 10];
    let _ = (|| -> std::io::Result<()> {
        stream.write_all(head.as_bytes())?;
        write(&mut stream, body)?;
        loop {
            write(&mut stream, &zeros)?;
        }
    })();
}

fn client_with(config: RegistryConfig) -> Client {
    Client::new(config, Arc::new(HashMap::<String, Credentials>::new()))
}

fn bytes_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn assert_size_mismatch(e: &Error, d: &Digest, expected: u64, got: u64, more: bool) {
    match e {
        Error::SizeMismatch {
            digest,
            expected: x,
            got: g,
            more: m,
        } => assert_eq!((digest, *x, *g, *m), (d, expected, got, more), "{e}"),
        e => panic!("not a size mismatch: {e:?}"),
    }
    assert_eq!(e.kind(), ErrorKind::Internal);
}

/// A blob longer than its descriptor says (its digest right) is refused by the length the
/// registry announces, before a byte of it is read, and not retried.
#[test]
fn blob_longer_than_its_descriptor_is_refused_by_its_length() {
    let blob = bytes_of(56);
    let d = Digest::of(&blob);
    let body = blob.clone();
    let server = FakeServer::start(move |_, _| Resp::new(200, body.clone()));
    let client = client_with(quick_retries());
    let repo = Repo::new(&server.host(), "x");
    let mut sink = Vec::new();
    let e = client.get_blob(&repo, &d, 10, &mut sink).unwrap_err();
    assert_size_mismatch(&e, &d, 10, 56, false);
    assert_eq!(
        e.to_string(),
        format!("size mismatch for {d}: its descriptor says 10 bytes, the registry sent 56")
    );
    assert!(sink.is_empty(), "nothing written");
    assert_eq!(server.requests().len(), 1, "not retried");
    // and at its true size it downloads
    assert_eq!(get(&client, &repo, &d, 56).unwrap(), blob);
}

/// An endless body behind a descriptor (no length announced, or chunks that never end) is read
/// to the descriptor's size and one byte more, then refused; the sink gets no byte past the
/// size.
#[test]
fn endless_blob_is_read_to_its_size_and_one_byte_more() {
    let blob = bytes_of(56);
    let d = Digest::of(&blob);
    for chunked in [false, true] {
        let body = blob.clone();
        let server = RawServer::start(move |_, stream| {
            let head = if chunked {
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            } else {
                "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
            };
            endless(stream, head, &body, chunked)
        });
        let client = client_with(quick_retries());
        let repo = Repo::new(&server.host(), "x");
        let mut sink = Vec::new();
        let e = client.get_blob(&repo, &d, 56, &mut sink).unwrap_err();
        assert_size_mismatch(&e, &d, 56, 57, true);
        assert!(
            e.to_string()
                .ends_with("its descriptor says 56 bytes, the registry sent more (at least 57)"),
            "{e}"
        );
        // no byte past the size reaches the sink (the one read that overshoots, none of it)
        assert!(blob.starts_with(&sink), "chunked: {chunked}: {sink:?}");
        assert_eq!(server.requests().len(), 1, "not retried");
    }
}

/// A blob shorter than its descriptor says: refused by its announced length, or when its body
/// ends early; a descriptor's size of 2^62 is a number to compare, never an allocation.
#[test]
fn short_blob_is_a_size_mismatch() {
    let blob = bytes_of(10);
    let d = Digest::of(&blob);
    let body = blob.clone();
    let server = FakeServer::start(move |_, _| Resp::new(200, body.clone()));
    let client = client_with(quick_retries());
    let repo = Repo::new(&server.host(), "x");
    for size in [56, 1 << 62] {
        let mut sink = Vec::new();
        let e = client.get_blob(&repo, &d, size, &mut sink).unwrap_err();
        assert_size_mismatch(&e, &d, size, 10, false);
        assert!(e.to_string().contains(&format!("says {size} bytes")), "{e}");
        assert!(sink.is_empty());
    }
    // no length announced: the body ends (the connection closes) before the size
    let body = blob.clone();
    let server = RawServer::start(move |_, mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        let _ = stream.write_all(&body);
    });
    let repo = Repo::new(&server.host(), "x");
    for size in [56, 1 << 62] {
        let mut sink = Vec::new();
        let e = client.get_blob(&repo, &d, size, &mut sink).unwrap_err();
        assert_size_mismatch(&e, &d, size, 10, false);
        assert_eq!(sink, blob);
    }
}

/// A resumed download whose `Content-Range` gives another total than the descriptor is
/// refused, as is one whose `Content-Length` would overshoot it.
#[test]
fn resumed_download_with_another_total_is_a_size_mismatch() {
    let blob = bytes_of(10_000);
    let d = Digest::of(&blob);
    for total in ["12000", "*"] {
        let body = blob.clone();
        let total = total.to_string();
        let server = FakeServer::start(move |_, i| {
            if i == 0 {
                let mut r = Resp::new(200, body.clone());
                r.truncate_at = Some(4000);
                return r;
            }
            // 8000 more bytes, where 6000 are left
            Resp::new(206, bytes_of(8000))
                .header("Content-Range", format!("bytes 4000-11999/{total}"))
        });
        let client = client_with(quick_retries());
        let mut sink = Vec::new();
        let e = client
            .get_blob(&Repo::new(&server.host(), "x"), &d, 10_000, &mut sink)
            .unwrap_err();
        assert_size_mismatch(&e, &d, 10_000, 12_000, false);
        assert_eq!(sink.len(), 4000);
        let reqs = server.requests();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[1].header("range"), Some("bytes=4000-"));
    }
}

/// A body shorter than its `Content-Length` on a kept-alive connection: the client reads what
/// came, resumes once (the configured retry) from there, and fails when the registry stays
/// silent for the configured idle timeout, with an error that says so. A registry that never
/// answers at all fails the same way.
#[test]
fn stalled_body_fails_after_the_idle_timeout() {
    let blob = bytes_of(100);
    let d = Digest::of(&blob);
    let body = blob.clone();
    let server = RawServer::start(move |req, mut stream| {
        let head = match req.header("range") {
            None => "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_string(),
            Some(_) => "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 40-99/100\r\n\
                        Content-Length: 60\r\n\r\n"
                .to_string(),
        };
        let sent = if req.header("range").is_none() { 40 } else { 0 };
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body[..sent]);
        hold(stream);
    });
    let client = client_with(RegistryConfig {
        retries: 1,
        idle_timeout: Duration::from_secs(1),
        ..Default::default()
    });
    let repo = Repo::new(&server.host(), "x");
    let mut sink = Vec::new();
    let e = client.get_blob(&repo, &d, 100, &mut sink).unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(
        e.to_string(),
        format!(
            "http://{}/v2/x/blobs/{d}: connection stalled: the registry sent no data for 1s",
            server.host()
        )
    );
    assert_eq!(sink, &blob[..40]);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].header("range"), Some("bytes=40-"));

    // no answer at all, not even headers
    let server = RawServer::start(|_, stream| hold(stream));
    let client = client_with(RegistryConfig {
        retries: 0,
        idle_timeout: Duration::from_secs(1),
        ..Default::default()
    });
    let e = client
        .get_manifest(&Repo::new(&server.host(), "x"), "latest", &[])
        .unwrap_err();
    assert!(
        e.to_string().ends_with(
            "/v2/x/manifests/latest: connection stalled: the registry sent no data for 1s"
        ),
        "{e}"
    );
    assert_eq!(server.requests().len(), 1);
}

/// A registry that opens an upload and then stops reading the blob sent to it fails the
/// push once the socket takes nothing for the idle timeout, instead of hanging it for ever.
#[test]
fn a_registry_that_stops_reading_fails_the_push_after_the_idle_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut r = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                let _ = r.read_line(&mut first);
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                }
                let mut w = stream;
                if first.starts_with("POST") {
                    let _ = w.write_all(
                        b"HTTP/1.1 202 Accepted\r\nLocation: /v2/x/blobs/uploads/1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                } else {
                    // The blob's PUT: its body is never read.
                    std::thread::sleep(Duration::from_secs(60));
                }
            });
        }
    });
    let client = client_with(RegistryConfig {
        retries: 0,
        idle_timeout: Duration::from_secs(1),
        ..Default::default()
    });
    let blob = vec![7u8; 64 << 20];
    let d = Digest::of(&blob);
    let start = Instant::now();
    let e = client
        .upload_blob(
            &Repo::new(&host, "x"),
            &d,
            blob.len() as u64,
            &mut &blob[..],
            None,
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("connection stalled: the registry took no data for 1s"),
        "{e}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
}

/// The answer to an upload's end may come after a silence longer than the idle timeout: the
/// registry may be moving or hashing the blob.
#[test]
fn upload_answer_may_take_longer_than_the_idle_timeout() {
    let server = FakeServer::start(|req, _| match req.method.as_str() {
        "POST" => Resp::new(202, "").header("Location", "/v2/x/blobs/uploads/1"),
        "PUT" => {
            std::thread::sleep(Duration::from_millis(1500));
            Resp::new(201, "")
        }
        _ => Resp::new(404, ""),
    });
    let client = client_with(RegistryConfig {
        retries: 0,
        idle_timeout: Duration::from_secs(1),
        ..Default::default()
    });
    let repo = Repo::new(&server.host(), "x");
    let data = b"committed slowly";
    client
        .upload_blob(&repo, &Digest::of(data), 16, &mut &data[..], None)
        .unwrap();
    assert_eq!(server.requests().len(), 2);
}

/// A manifest an index names is read to the size the index gives it: longer or shorter ones
/// are refused (announced or counted), and a size over the manifest limit is refused before
/// any request.
#[test]
fn manifest_from_an_index_is_read_to_its_descriptor_size() {
    let m = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#.to_vec();
    let d = Digest::of(&m);
    let len = m.len() as u64;
    let body = m.clone();
    let server = FakeServer::start(move |_, _| {
        Resp::new(200, body.clone()).header("Content-Type", media_types::OCI_MANIFEST)
    });
    let client = client_with(quick_retries());
    let repo = Repo::new(&server.host(), "x");
    let (bytes, mt, got) = client.get_manifest_sized(&repo, &d, len, &[]).unwrap();
    assert_eq!(
        (bytes, mt.as_str(), got),
        (m.clone(), media_types::OCI_MANIFEST, d.clone())
    );
    for size in [len - 5, len + 5] {
        let e = client.get_manifest_sized(&repo, &d, size, &[]).unwrap_err();
        assert_size_mismatch(&e, &d, size, len, false);
    }
    let asked = server.requests().len();
    let e = client
        .get_manifest_sized(&repo, &d, (8 << 20) + 1, &[])
        .unwrap_err();
    assert!(matches!(e, Error::InvalidResponse(_)), "{e:?}");
    assert!(e.to_string().contains("over the 8388608-byte limit"), "{e}");
    assert_eq!(server.requests().len(), asked, "no request");

    // no length announced, the body goes on: one byte past the size tells
    let body = m.clone();
    let server = RawServer::start(move |_, stream| {
        endless(
            stream,
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
            &body,
            false,
        )
    });
    let e = client
        .get_manifest_sized(&Repo::new(&server.host(), "x"), &d, len, &[])
        .unwrap_err();
    assert_size_mismatch(&e, &d, len, len + 1, true);
}
