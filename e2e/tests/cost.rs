//! What uploads cost the server: a `docker cp` upload streams with bounded memory, and a
//! `load` of an image already present writes none of its blobs again. Measured on the real
//! `strata serve` process from `/proc/<pid>/status` and `/proc/<pid>/io`.

use e2e::{noise, Daemon, Store};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;

/// One HTTP/1.1 exchange whose body (`len` bytes) `body` writes straight into the socket;
/// the status and the response body. Nothing is buffered on the client side.
fn request(
    port: u16,
    method: &str,
    path: &str,
    len: u64,
    body: impl FnOnce(&mut TcpStream),
) -> (u16, String) {
    match e2e::http_stream(
        port,
        method,
        path,
        "Content-Type: application/x-tar\r\n",
        len,
        body,
    ) {
        Ok((status, _, body)) => (status, String::from_utf8_lossy(&body).into_owned()),
        Err(_) => (0, String::new()),
    }
}

/// A `/proc/<pid>/status` field in bytes (`VmRSS`, `VmHWM`).
fn status_kb(pid: u32, field: &str) -> u64 {
    let f = std::fs::File::open(format!("/proc/{pid}/status")).unwrap();
    for line in BufReader::new(f).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix(&format!("{field}:")) {
            let kb: u64 = rest.trim().trim_end_matches(" kB").trim().parse().unwrap();
            return kb * 1024;
        }
    }
    panic!("no {field} in /proc/{pid}/status");
}

/// A `/proc/<pid>/io` counter (`wchar`: bytes handed to write-like system calls).
fn io_counter(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}: ")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/io"))
        .parse()
        .unwrap()
}

/// A one-file rootfs tar (`etc/id`), imported as `name`.
fn import_small(store: &Store, name: &str) {
    let mut b = tar::Builder::new(Vec::new());
    let body = b"small\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "etc/id", &body[..]).unwrap();
    let path = store.scratch().join("small.tar");
    std::fs::write(&path, b.into_inner().unwrap()).unwrap();
    store.ok(&["import", path.to_str().unwrap(), name]);
}

#[test]
fn cp_into_a_container_streams_a_large_upload_with_bounded_server_memory() {
    const FILES: u64 = 320; // 320 MiB of file data
    const FILE: u64 = 1 << 20;
    const BOUND: u64 = 64 << 20;
    let store = Store::new();
    import_small(&store, "base:1");
    store.ok(&["create", "--name", "cpdest", "base:1", "true"]);
    let server = Daemon::start(&store);
    let (port, pid) = (server.port, server.pid());
    let path = "/containers/cpdest/archive?path=/";

    // Warm up (threads, pools, the image's changesets), then measure from a reset peak.
    let warm = 1024 + 2 * 512;
    let (status, body) = request(port, "PUT", path, warm as u64, |s| {
        let mut b = tar::Builder::new(s);
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "warm", &b"x"[..]).unwrap();
        b.finish().unwrap();
    });
    assert_eq!(status, 200, "warm-up cp: {body}");
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset the peak RSS");
    let before = status_kb(pid, "VmRSS");

    // A tar of one directory and FILES files, written straight into the socket.
    let len = 512 + FILES * (512 + FILE) + 1024;
    let data = noise(7, FILE as usize);
    let (status, body) = request(port, "PUT", path, len, |s| {
        let mut b = tar::Builder::new(s);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_mode(0o755);
        h.set_cksum();
        b.append_data(&mut h, "big/", std::io::empty()).unwrap();
        for i in 0..FILES {
            let mut h = tar::Header::new_gnu();
            h.set_size(FILE);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, format!("big/f{i:04}"), data.as_slice())
                .unwrap();
        }
        b.finish().unwrap();
    });
    assert_eq!(status, 200, "cp of {len} bytes: {body}");
    let peak = status_kb(pid, "VmHWM");
    let growth = peak.saturating_sub(before);
    assert!(
        growth < BOUND,
        "the server's peak RSS grew by {} MiB for a {} MiB upload (bound {} MiB)",
        growth >> 20,
        len >> 20,
        BOUND >> 20
    );
    // And the upload landed whole.
    let diff = store.ok(&["diff", "cpdest"]);
    let added = diff.lines().filter(|l| l.starts_with("A /big/f")).count();
    assert_eq!(added as u64, FILES, "diff:\n{diff}");
}

/// `docker cp` of a small file into a container, and out of it, costs what the small file
/// does, not what the container's writable layer holds: the layer's merged view is read from
/// its metadata. Before, every stat and every upload read (and hashed) all of the layer's
/// bytes: 144 ms per `docker cp` of a few bytes into a container holding 100 MB.
#[test]
fn cp_of_a_small_file_reads_none_of_a_large_writable_layer() {
    const FILES: u64 = 8;
    const FILE: u64 = 8 << 20; // 64 MiB in the writable layer
    let store = Store::new();
    import_small(&store, "base:1");
    store.ok(&["create", "--name", "full", "base:1", "true"]);
    let server = Daemon::start(&store);
    let (port, pid) = (server.port, server.pid());
    let len = FILES * (512 + FILE) + 1024;
    let data = noise(3, FILE as usize);
    let (status, body) = request(port, "PUT", "/containers/full/archive?path=/", len, |s| {
        let mut b = tar::Builder::new(s);
        for i in 0..FILES {
            let mut h = tar::Header::new_gnu();
            h.set_size(FILE);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, format!("big{i}"), data.as_slice())
                .unwrap();
        }
        b.finish().unwrap();
    });
    assert_eq!(status, 200, "{body}");
    let small = store.scratch().join("note");
    std::fs::write(&small, "a small file\n").unwrap();
    let out = store.scratch().join("out");
    std::fs::create_dir_all(&out).unwrap();

    let before = io_counter(pid, "rchar");
    // a stat and an upload each, then a stat and a download
    server.ok(&["cp", small.to_str().unwrap(), "full:/note"]);
    server.ok(&["cp", "full:/note", out.to_str().unwrap()]);
    let read = io_counter(pid, "rchar") - before;
    assert_eq!(
        std::fs::read_to_string(out.join("note")).unwrap(),
        "a small file\n"
    );
    assert!(
        read < 4 << 20,
        "two cp of a small file read {} MiB in a server whose container holds {} MiB",
        read >> 20,
        (FILES * FILE) >> 20
    );
}

#[test]
fn load_of_an_image_already_present_writes_none_of_its_blobs_again() {
    const LAYER: usize = 48 << 20;
    let store = Store::new();
    // An image with one 48 MiB layer, saved to an archive (Docker 25+ OCI layout).
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(LAYER as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "data.bin", noise(11, LAYER).as_slice())
        .unwrap();
    let rootfs = store.scratch().join("rootfs.tar");
    std::fs::write(&rootfs, b.into_inner().unwrap()).unwrap();
    store.ok(&["import", rootfs.to_str().unwrap(), "big:1"]);
    let archive = store.scratch().join("big.tar");
    store.ok(&["save", "-o", archive.to_str().unwrap(), "big:1"]);

    let blobs = store.root().join("blobs/sha256");
    let stamp = || -> Vec<(String, u64, i64, i64)> {
        let mut v: Vec<_> = std::fs::read_dir(&blobs)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let m = e.metadata().unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    m.ino(),
                    m.mtime(),
                    m.mtime_nsec(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let stamps = stamp();
    assert!(stamps.len() >= 2, "the store holds the image's blobs");

    let server = Daemon::start(&store);
    let (port, pid) = (server.port, server.pid());
    let written = io_counter(pid, "wchar");
    let len = std::fs::metadata(&archive).unwrap().len();
    let (status, body) = request(port, "POST", "/images/load?quiet=1", len, |s| {
        std::io::copy(&mut std::fs::File::open(&archive).unwrap(), s).unwrap();
    });
    assert_eq!(status, 200, "load: {body}");
    assert!(body.contains("Loaded image: big:1"), "load said: {body}");
    let wrote = io_counter(pid, "wchar") - written;
    assert!(
        wrote < (LAYER as u64) / 8,
        "loading a present image wrote {wrote} bytes (its layer is {LAYER} bytes)"
    );
    assert_eq!(
        stamp(),
        stamps,
        "no blob was replaced, added or touched (name, inode, mtime)"
    );
}
