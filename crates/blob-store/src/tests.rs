use crate::*;
use oci_model::Digest;
use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::Path;
use std::sync::Arc;

fn store() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = BlobStore::open(dir.path()).unwrap();
    (dir, s)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

/// Nothing stored and nothing left being written.
fn assert_empty(root: &Path) {
    assert_eq!(names(&root.join("blobs/sha256")), Vec::<String>::new());
    assert_eq!(names(&root.join("ingest")), Vec::<String>::new());
}

fn tar_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

fn sample_tar() -> Vec<u8> {
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    tar_of(&[
        ("etc/hostname", b"strata\n".to_vec()),
        ("bin/busybox", big),
        ("empty", Vec::new()),
        (&"d/".repeat(80), b"long name".to_vec()),
    ])
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn zstd(b: &[u8]) -> Vec<u8> {
    zstd::encode_all(b, 3).unwrap()
}

#[test]
fn put_read_contains_size_list_delete() {
    let (dir, s) = store();
    let d = s.put(b"hello", None).unwrap();
    assert_eq!(d, Digest::of(b"hello"));
    assert!(s.contains(&d));
    assert_eq!(s.read(&d).unwrap(), b"hello");
    assert_eq!(s.size(&d).unwrap(), Some(5));
    assert_eq!(s.path(&d), dir.path().join("blobs/sha256").join(d.hex()));
    assert!(s.verify(&d).unwrap());
    // Idempotent, and with the right expected digest.
    assert_eq!(s.put(b"hello", Some(&d)).unwrap(), d);
    let e = s.put(b"", None).unwrap();
    // Junk in the blob directory is not listed.
    fs::write(dir.path().join("blobs/sha256/README"), b"x").unwrap();
    fs::write(dir.path().join("blobs/sha256").join("A".repeat(64)), b"x").unwrap();
    let mut want = vec![(d.clone(), 5), (e.clone(), 0)];
    want.sort();
    assert_eq!(s.list().unwrap(), want);
    assert!(s.delete(&d).unwrap());
    assert!(!s.delete(&d).unwrap());
    assert!(!s.contains(&d));
    assert_eq!(s.size(&d).unwrap(), None);
    let err = s.open_blob(&d).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.to_string(), format!("blob {d} not found"));
    assert_eq!(s.read(&d).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(s.list().unwrap(), vec![(e, 0)]);
    assert_eq!(names(&dir.path().join("ingest")), Vec::<String>::new());
}

#[test]
fn verify_detects_corruption() {
    let (_dir, s) = store();
    let d = s.put(b"content", None).unwrap();
    fs::write(s.path(&d), b"tampered").unwrap();
    assert!(!s.verify(&d).unwrap());
    assert_eq!(
        s.verify(&Digest::of(b"absent")).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn digest_mismatch_leaves_nothing() {
    let (dir, s) = store();
    let want = Digest::of(b"other");
    let err = s.put(b"bytes", Some(&want)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(err.mismatch(), Some(Digest::of(b"bytes")));
    assert_eq!(
        err.to_string(),
        format!(
            "digest mismatch: expected {want}, got {}",
            Digest::of(b"bytes")
        )
    );
    let err = s
        .ingest(Cursor::new(b"bytes"), Some(&want), None)
        .unwrap_err();
    assert_eq!(err.mismatch(), Some(Digest::of(b"bytes")));
    let mut w = s.writer().unwrap();
    w.write_all(b"bytes").unwrap();
    let err = w.commit(Some(&want), None).unwrap_err();
    assert_eq!(err.mismatch(), Some(Digest::of(b"bytes")));
    assert_empty(dir.path());
}

#[test]
fn size_mismatch_leaves_nothing() {
    let (dir, s) = store();
    let err = s.ingest(Cursor::new(b"12345"), None, Some(4)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(err.mismatch(), None);
    assert_eq!(err.to_string(), "size mismatch: expected 4 bytes, got 5");
    assert_empty(dir.path());
    let (d, n) = s
        .ingest(Cursor::new(b"12345"), Some(&Digest::of(b"12345")), Some(5))
        .unwrap();
    assert_eq!((d, n), (Digest::of(b"12345"), 5));
}

#[test]
fn concurrent_writers_of_one_blob() {
    let (dir, s) = store();
    let s = Arc::new(s);
    let data: Arc<Vec<u8>> = Arc::new((0..3_000_000u32).map(|i| (i % 253) as u8).collect());
    let want = Digest::of(&data);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (s, data) = (s.clone(), data.clone());
            std::thread::spawn(move || {
                let mut w = s.writer().unwrap();
                for chunk in data.chunks(100_000) {
                    w.write_all(chunk).unwrap();
                }
                w.commit(None, Some(data.len() as u64)).unwrap()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), (want.clone(), data.len() as u64));
    }
    assert_eq!(
        names(&dir.path().join("blobs/sha256")),
        vec![want.hex().to_string()]
    );
    assert_eq!(names(&dir.path().join("ingest")), Vec::<String>::new());
    assert_eq!(s.read(&want).unwrap(), *data);
}

#[test]
fn dropped_writer_removes_temp() {
    let (dir, s) = store();
    let mut w = s.writer().unwrap();
    w.write_all(b"partial").unwrap();
    assert_eq!(names(&dir.path().join("ingest")).len(), 1);
    drop(w);
    assert_empty(dir.path());
}

#[test]
fn open_removes_stale_temps_only() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = dir.path().join("ingest");
    fs::create_dir_all(&ingest).unwrap();
    // A pid that cannot be live: above the kernel's pid_max limit (4194304).
    let dead = format!("{}-0-00000000deadbeef.tmp", 999_999_999u32);
    // pid 1 is always alive: its temp is kept.
    let live = format!("{}-1-0123456789abcdef.tmp", 1);
    // Our own pid, unlocked: left by an earlier process that had our pid.
    let mine = format!("{}-3-0123456789abcdef.tmp", std::process::id());
    let other = "notes.txt".to_string();
    for n in [&dead, &live, &mine, &other] {
        fs::write(ingest.join(n), b"x").unwrap();
    }
    let s = BlobStore::open(dir.path()).unwrap();
    let mut want = vec![live.clone(), other.clone()];
    want.sort();
    assert_eq!(names(&ingest), want);
    // A live writer of this process holds its temp's lock: a reopen keeps it.
    let mut w = s.writer().unwrap();
    w.write_all(b"in flight").unwrap();
    BlobStore::open(dir.path()).unwrap();
    assert_eq!(names(&ingest).len(), 3);
    let (d, _) = w.commit(None, None).unwrap();
    assert_eq!(s.read(&d).unwrap(), b"in flight");
    assert_eq!(names(&ingest), want);
}

#[test]
fn layer_plain_gzip_zstd_same_diff_id() {
    let (dir, s) = store();
    let tar = sample_tar();
    let want = Digest::of(&tar);
    let plain = ingest_layer(&s, Cursor::new(&tar)).unwrap();
    assert_eq!(
        plain,
        LayerIngest {
            diff_id: want.clone(),
            size: tar.len() as u64,
            content_size: 7 + 100_000 + 9,
            source_digest: Some(want.clone()),
            source_size: tar.len() as u64,
            compression: Compression::None,
            warnings: vec![],
            shape: plain.shape.clone(),
        }
    );
    // The shape names what the changeset reader reads, entry for entry.
    let read = layer_diff::read_changeset(tar.as_slice()).unwrap();
    let shape_of = |cs: &layer_diff::Changeset| -> Vec<(String, bool)> {
        cs.entries
            .iter()
            .map(|e| (e.path.clone(), e.is_dir()))
            .collect()
    };
    assert_eq!(shape_of(&plain.shape), shape_of(&read));
    assert!(!plain.shape.entries.is_empty());
    for (bytes, comp) in [
        (gzip(&tar), Compression::Gzip),
        (zstd(&tar), Compression::Zstd),
    ] {
        let got = ingest_layer_expect(&s, Cursor::new(&bytes), Some(&want)).unwrap();
        assert_eq!(
            got,
            LayerIngest {
                diff_id: want.clone(),
                size: tar.len() as u64,
                content_size: 7 + 100_000 + 9,
                source_digest: Some(Digest::of(&bytes)),
                source_size: bytes.len() as u64,
                compression: comp,
                warnings: vec![],
                shape: plain.shape.clone(),
            }
        );
    }
    // A zstd frame with a long-distance window (as `zstd --long=28` makes).
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.long_distance_matching(true).unwrap();
    enc.window_log(28).unwrap();
    enc.write_all(&tar).unwrap();
    let long = enc.finish().unwrap();
    let got = ingest_layer_expect(&s, Cursor::new(&long), Some(&want)).unwrap();
    assert_eq!(got.compression, Compression::Zstd);
    assert_eq!(
        names(&dir.path().join("blobs/sha256")),
        vec![want.hex().to_string()]
    );
    assert_eq!(names(&dir.path().join("ingest")), Vec::<String>::new());
    assert_eq!(s.read(&want).unwrap(), tar);
}

#[test]
fn layer_multi_member_gzip_and_trailing_bytes() {
    let (_dir, s) = store();
    let tar = sample_tar();
    // Two gzip members concatenated decode as one stream.
    let mut two = gzip(&tar[..1024]);
    two.extend(gzip(&tar[1024..]));
    let got = ingest_layer(&s, Cursor::new(&two)).unwrap();
    assert_eq!(got.diff_id, Digest::of(&tar));
    assert_eq!(got.source_digest, Some(Digest::of(&two)));
    // Bytes after the end-of-archive marker are part of the layer.
    let mut padded = tar.clone();
    padded.extend([0u8; 8192]);
    padded.extend(b"trailing");
    let got = ingest_layer(&s, Cursor::new(&padded)).unwrap();
    assert_eq!(got.diff_id, Digest::of(&padded));
}

#[test]
fn layer_without_end_marker_accepted() {
    let (_dir, s) = store();
    let tar = sample_tar();
    // Drop the two zero blocks (and the tar crate's trailing padding, if any).
    let mut cut = tar.len();
    while tar[cut - 512..cut].iter().all(|&b| b == 0) {
        cut -= 512;
    }
    let got = ingest_layer(&s, Cursor::new(&tar[..cut])).unwrap();
    assert_eq!(got.diff_id, Digest::of(&tar[..cut]));
    // Just one zero block is fine too.
    let got = ingest_layer(&s, Cursor::new(&tar[..cut + 512])).unwrap();
    assert_eq!(got.size, cut as u64 + 512);
    // The empty layer Docker makes: two zero blocks.
    let got = ingest_layer(&s, Cursor::new(vec![0u8; 1024])).unwrap();
    assert_eq!(
        got.diff_id.to_string(),
        "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
    );
}

fn assert_invalid(s: &BlobStore, root: &Path, input: &[u8], want: &str) {
    let err = ingest_layer(s, Cursor::new(input)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert_eq!(err.mismatch(), None);
    let text = err.to_string();
    assert!(
        text.starts_with(want),
        "{text:?} does not start with {want:?}"
    );
    assert_empty(root);
}

#[test]
fn an_empty_stream_is_an_empty_layer() {
    // Docker's rule (moby#18170): zero bytes, plain or compressed, make an empty layer.
    for input in [vec![], gzip(b""), zstd(b"")] {
        let (dir, s) = store();
        let got = ingest_layer(&s, Cursor::new(&input)).unwrap();
        assert_eq!((got.diff_id.clone(), got.size), (Digest::of(b""), 0));
        assert_eq!(s.read(&got.diff_id).unwrap(), Vec::<u8>::new());
        assert_eq!(names(&dir.path().join("ingest")), Vec::<String>::new());
        let mut back = Vec::new();
        open_layer(&s, &got.diff_id)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }
}

#[test]
fn layer_rejects_bad_input() {
    let (dir, s) = store();
    let root = dir.path();
    let tar = sample_tar();

    // Truncated inside bin/busybox's data (its header is at 1024).
    assert_invalid(
        &s,
        root,
        &tar[..1024 + 512 + 5000],
        "invalid tar: unexpected end of archive in entry \"bin/busybox\"",
    );
    assert_invalid(
        &s,
        root,
        &gzip(&tar[..1024 + 512 + 5000]),
        "invalid tar: unexpected end of archive in entry \"bin/busybox\"",
    );
    // Truncated inside a header.
    assert_invalid(
        &s,
        root,
        &tar[..1024 + 100],
        "invalid tar: unexpected end of archive in header at offset 1024",
    );
    // Truncated inside the padding after the data (no padding at all is a clean end, as in
    // Go's archive/tar: see `last_entry_without_padding_is_accepted`).
    let busy_end = 1024 + 512 + 100_000;
    assert_invalid(
        &s,
        root,
        &tar[..busy_end + 10],
        "invalid tar: unexpected end of archive in entry \"bin/busybox\"",
    );
    // Tiny non-tar input.
    assert_invalid(&s, root, b"hello", "invalid tar: unexpected end of archive");

    // Bad checksum: flip a byte of the second header's name.
    let mut bad = tar.clone();
    bad[1024 + 3] ^= 0x20;
    assert_invalid(
        &s,
        root,
        &bad,
        "invalid tar: bad header checksum at offset 1024",
    );
    // A text file is not a tar.
    assert_invalid(
        &s,
        root,
        &[b'a'; 2048],
        "invalid tar: bad header checksum at offset 0",
    );
    // Zero block then a header.
    let mut z = vec![0u8; 512];
    z.extend(&tar);
    assert_invalid(
        &s,
        root,
        &z,
        "invalid tar: zero block followed by a non-zero block",
    );

    // gzip magic, then garbage.
    let mut fake = vec![0x1f, 0x8b];
    fake.extend([0x42; 600]);
    assert_invalid(&s, root, &fake, "invalid gzip stream: ");
    // Truncated gzip.
    let gz = gzip(&tar);
    assert_invalid(&s, root, &gz[..gz.len() / 2], "invalid gzip stream: ");
    // Corrupt deflate data.
    let mut gz2 = gz.clone();
    for b in &mut gz2[20..60] {
        *b ^= 0x5a;
    }
    let err = ingest_layer(&s, Cursor::new(&gz2)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert_empty(root);
    // zstd magic, then garbage; truncated zstd.
    let mut fake = vec![0x28, 0xb5, 0x2f, 0xfd];
    fake.extend([0x42; 600]);
    assert_invalid(&s, root, &fake, "invalid zstd stream: ");
    let zs = zstd(&tar);
    assert_invalid(&s, root, &zs[..zs.len() / 2], "invalid zstd stream: ");
    // Compressions Docker knows but we do not decode.
    let mut xz = vec![0xfd, b'7', b'z', b'X', b'Z', 0x00];
    xz.extend([0u8; 100]);
    assert_invalid(
        &s,
        root,
        &xz,
        "invalid tar: xz-compressed layers are not supported",
    );
    let mut bz = b"BZh91AY&SY".to_vec();
    bz.extend([0u8; 100]);
    assert_invalid(
        &s,
        root,
        &bz,
        "invalid tar: bzip2-compressed layers are not supported",
    );
}

#[test]
fn layer_diff_id_mismatch() {
    let (dir, s) = store();
    let tar = sample_tar();
    let want = Digest::of(b"something else");
    for input in [tar.clone(), gzip(&tar), zstd(&tar)] {
        let err = ingest_layer_expect(&s, Cursor::new(&input), Some(&want)).unwrap_err();
        assert_eq!(err.mismatch(), Some(Digest::of(&tar)));
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_empty(dir.path());
    }
}

/// A tee that keeps what it reads; `limit` stops it early.
fn collecting(out: &std::sync::Mutex<Option<std::io::Result<Vec<u8>>>>, limit: usize) -> Tee<'_> {
    Box::new(move |r: &mut dyn Read| {
        let mut got = Vec::new();
        let res = r.take(limit as u64).read_to_end(&mut got).map(|_| got);
        *out.lock().unwrap() = Some(res);
        Ok(())
    })
}

#[test]
fn layer_tee_sees_the_uncompressed_tar() {
    // Several buffers' worth, so that the pool goes round.
    let tar = big_tar(12 << 20);
    let want = Digest::of(&tar);
    for (input, hash_only) in [tar.clone(), gzip(&tar), zstd(&tar)]
        .into_iter()
        .flat_map(|i| [(i.clone(), false), (i, true)])
    {
        let (dir, s) = store();
        let seen = std::sync::Mutex::new(None);
        let opts = IngestOptions {
            diff_id: Some(&want),
            source_verified: true,
            hash_only,
            stored_as_diff_id: false,
        };
        let got = ingest_layer_with(
            &s,
            Cursor::new(&input),
            opts,
            Some(collecting(&seen, usize::MAX)),
        )
        .unwrap();
        assert_eq!(seen.into_inner().unwrap().unwrap().unwrap(), tar);
        assert_eq!((&got.diff_id, got.size), (&want, tar.len() as u64));
        assert_eq!(got.source_size, input.len() as u64);
        // a verified source is not hashed again, but a plain tar's digest is its diff ID
        let plain = got.compression == Compression::None;
        assert_eq!(got.source_digest, plain.then(|| want.clone()));
        // hash only: the caller keeps the layer, nothing is stored here
        let stored = if hash_only {
            vec![]
        } else {
            vec![want.hex().to_string()]
        };
        assert_eq!(names(&dir.path().join("blobs/sha256")), stored);
        assert_eq!(names(&dir.path().join("ingest")), Vec::<String>::new());
    }
}

#[test]
fn layer_tee_may_stop_early() {
    let (_dir, s) = store();
    let tar = big_tar(12 << 20);
    let seen = std::sync::Mutex::new(None);
    let got = ingest_layer_with(
        &s,
        Cursor::new(gzip(&tar)),
        IngestOptions::default(),
        Some(collecting(&seen, 1000)),
    )
    .unwrap();
    assert_eq!(seen.into_inner().unwrap().unwrap().unwrap(), &tar[..1000]);
    assert_eq!(s.read(&got.diff_id).unwrap(), tar);
}

#[test]
fn layer_tee_refusal_stores_nothing() {
    let (dir, s) = store();
    let tar = big_tar(12 << 20);
    for input in [tar.clone(), gzip(&tar)] {
        let tee: Tee<'_> = Box::new(|r: &mut dyn Read| {
            let mut head = [0u8; 512];
            r.read_exact(&mut head)?;
            Err("entry \"f0\": not welcome".into())
        });
        let err = ingest_layer_with(&s, Cursor::new(&input), IngestOptions::default(), Some(tee))
            .unwrap_err();
        assert_eq!(err.to_string(), "entry \"f0\": not welcome");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_empty(dir.path());
    }
}

#[test]
fn layer_tee_is_told_of_a_failed_ingest() {
    let (dir, s) = store();
    let tar = big_tar(12 << 20);
    // a gzip stream cut short: the tee's reader fails rather than ending
    let mut gz = gzip(&tar);
    gz.truncate(gz.len() / 2);
    // a truncated tar: likewise
    let cut = tar[..5 << 20].to_vec();
    for (input, want) in [(gz, "invalid gzip stream"), (cut, "invalid tar")] {
        let seen = std::sync::Mutex::new(None);
        let err = ingest_layer_with(
            &s,
            Cursor::new(&input),
            IngestOptions::default(),
            Some(collecting(&seen, usize::MAX)),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with(want), "{err}");
        match seen.into_inner().unwrap().unwrap() {
            Err(e) => assert_eq!(e.to_string(), "the layer stream broke off"),
            Ok(got) => panic!("{want}: the tee read {} bytes and a clean end", got.len()),
        }
        assert_empty(dir.path());
    }
    // a diff ID mismatch is found at the end: the tee saw a whole stream, but nothing is kept
    let seen = std::sync::Mutex::new(None);
    let other = Digest::of(b"other");
    let opts = IngestOptions {
        diff_id: Some(&other),
        source_verified: false,
        hash_only: false,
        stored_as_diff_id: false,
    };
    let err = ingest_layer_with(
        &s,
        Cursor::new(gzip(&tar)),
        opts,
        Some(collecting(&seen, usize::MAX)),
    )
    .unwrap_err();
    assert_eq!(err.mismatch(), Some(Digest::of(&tar)));
    assert_empty(dir.path());
}

#[test]
fn hash_only_ingest_checks_the_diff_id_and_the_tar() {
    let tar = big_tar(8 << 20);
    let want = Digest::of(&tar);
    for input in [tar.clone(), gzip(&tar), zstd(&tar)] {
        let (dir, s) = store();
        let other = Digest::of(b"other");
        let opts = IngestOptions {
            diff_id: Some(&other),
            hash_only: true,
            ..Default::default()
        };
        let err = ingest_layer_with(&s, Cursor::new(&input), opts, None).unwrap_err();
        assert_eq!(err.mismatch(), Some(want.clone()));
        // cut inside the first entry
        let opts = IngestOptions {
            hash_only: true,
            ..Default::default()
        };
        assert!(ingest_layer_with(&s, Cursor::new(&input[..700]), opts, None).is_err());
        assert_empty(dir.path());
    }
}

/// A plain tar read back from a blob stored under its diff ID is checked and measured as any
/// ingest checks it, without hashing it again: the ingest gives that diff ID, the same
/// measure as a hashing ingest, and still refuses a tar that does not read. A compressed
/// stream (its diff ID is not its blob's digest) is hashed as ever.
#[test]
fn a_tar_stored_as_its_diff_id_is_checked_but_not_hashed_again() {
    let tar = sample_tar();
    let (dir, s) = store();
    let d = Digest::of(&tar);
    let known = |diff_id| IngestOptions {
        diff_id: Some(diff_id),
        hash_only: true,
        stored_as_diff_id: true,
        ..Default::default()
    };
    let hashed = ingest_layer_with(&s, Cursor::new(&tar), IngestOptions::default(), None).unwrap();
    let got = ingest_layer_with(&s, Cursor::new(&tar), known(&d), None).unwrap();
    assert_eq!(
        (&got.diff_id, got.size, got.content_size),
        (&d, tar.len() as u64, hashed.content_size)
    );
    // Not hashed: the diff ID given is the one returned (the caller vouches for it).
    let vouched = Digest::of(b"vouched");
    let got = ingest_layer_with(&s, Cursor::new(&tar), known(&vouched), None).unwrap();
    assert_eq!(got.diff_id, vouched);
    // Still checked.
    let mut bad = tar.clone();
    bad[148] ^= 0x01; // the first header's checksum
    let err = ingest_layer_with(&s, Cursor::new(&bad), known(&d), None).unwrap_err();
    assert!(err.to_string().contains("invalid tar"), "{err}");
    // A compressed stream is hashed whatever the caller says.
    let err = ingest_layer_with(&s, Cursor::new(&gzip(&tar)), known(&vouched), None).unwrap_err();
    assert_eq!(err.mismatch(), Some(d.clone()));
    drop(dir);
}

#[test]
fn prehashed_writer_commits_under_the_given_digest_and_open_layer_reads_the_tar() {
    let tar = sample_tar();
    for input in [tar.clone(), gzip(&tar), zstd(&tar)] {
        let (dir, s) = store();
        let d = Digest::of(&input);
        let mut w = s.writer_prehashed().unwrap();
        w.write_all(&input).unwrap();
        assert_eq!(w.commit_prehashed(&d).unwrap(), input.len() as u64);
        assert_eq!(s.read(&d).unwrap(), input);
        assert!(s.verify(&d).unwrap());
        let mut back = Vec::new();
        open_layer(&s, &d).unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back, tar, "the layer reads back as its tar");
        // dropped uncommitted: nothing stays
        let mut w = s.writer_prehashed().unwrap();
        w.write_all(b"partial").unwrap();
        drop(w);
        assert_eq!(names(&dir.path().join("blobs/sha256")), [d.hex()]);
        assert!(names(&dir.path().join("ingest")).is_empty());
    }
}

#[test]
fn layer_pax_and_long_names() {
    let (_dir, s) = store();
    // The tar crate writes GNU long names ('L') for long paths with a GNU header and PAX
    // records when asked; a truncated entry must be reported by its long name.
    let long = format!("{}/file", "x".repeat(150));
    let tar = tar_of(&[(&long, vec![7u8; 3000])]);
    assert!(ingest_layer(&s, Cursor::new(&tar)).is_ok());
    let err = ingest_layer(&s, Cursor::new(&tar[..2048])).unwrap_err();
    assert!(err.to_string().contains(&long), "{err}");

    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([("path", b"pax/name".as_slice())])
        .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_size(1000);
    h.set_path("short").unwrap();
    h.set_cksum();
    b.append(&h, &[1u8; 1000][..]).unwrap();
    let tar = b.into_inner().unwrap();
    assert!(ingest_layer(&s, Cursor::new(&tar)).is_ok());
    let err = ingest_layer(&s, Cursor::new(&tar[..tar.len() - 1024 - 512])).unwrap_err();
    assert!(err.to_string().contains("\"pax/name\""), "{err}");
}

#[test]
fn layer_pax_size_overrides_header() {
    let (_dir, s) = store();
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([("size", b"1500".as_slice())])
        .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_size(0); // wrong on purpose: the PAX record is authoritative
    h.set_path("f").unwrap();
    h.set_cksum();
    b.append(&h, &[][..]).unwrap();
    let mut tar = b.into_inner().unwrap();
    // Splice 1500 data bytes + padding after the ustar header, before the end marker.
    let end = tar.len() - 1024;
    let mut data = vec![9u8; 1500];
    data.resize(2048, 0);
    tar.splice(end..end, data);
    assert!(ingest_layer(&s, Cursor::new(&tar)).is_ok());
}

#[test]
fn layer_source_read_error_is_internal() {
    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = self.0.min(buf.len());
            buf[..n].fill(0);
            self.0 -= n;
            Ok(n)
        }
    }
    let (dir, s) = store();
    let err = ingest_layer(&s, Failing(700)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert_eq!(err.to_string(), "read layer: disk on fire");
    assert_empty(dir.path());
}

/// A tar of `total` bytes: 4 MiB files of pseudo-random-ish (compressible) data.
fn big_tar(total: usize) -> Vec<u8> {
    let chunk: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 & 0x3f)
        .collect();
    let mut b = tar::Builder::new(Vec::with_capacity(total + (1 << 20)));
    for i in 0..total / chunk.len() {
        let mut h = tar::Header::new_gnu();
        h.set_size(chunk.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, format!("f{i}"), &chunk[..]).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
#[ignore = "throughput measurement; run with --release -- --ignored --nocapture"]
fn throughput() {
    // BLOB_BENCH_DIR=/dev/shm measures the pipeline without the disk.
    let _dir = match std::env::var_os("BLOB_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let s = BlobStore::open(_dir.path()).unwrap();
    let tar = big_tar(256 << 20);
    let mb = tar.len() as f64 / 1e6;
    let report = |what: &str, input: &[u8], t: std::time::Duration| {
        println!(
            "{what}: {:.0} MB uncompressed in {:.3}s = {:.0} MB/s (input {:.0} MB)",
            mb,
            t.as_secs_f64(),
            mb / t.as_secs_f64(),
            input.len() as f64 / 1e6
        );
    };
    for _ in 0..2 {
        let t = std::time::Instant::now();
        let got = ingest_layer(&s, Cursor::new(&tar)).unwrap();
        report("plain", &tar, t.elapsed());
        assert!(s.delete(&got.diff_id).unwrap());
    }
    // From a file on disk, as the engine's load does.
    let path = _dir.path().join("layer.tar");
    fs::write(&path, &tar).unwrap();
    let t = std::time::Instant::now();
    let got = ingest_layer(&s, fs::File::open(&path).unwrap()).unwrap();
    report("plain from file", &tar, t.elapsed());
    assert!(s.delete(&got.diff_id).unwrap());

    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&tar).unwrap();
        e.finish().unwrap()
    };
    let t = std::time::Instant::now();
    let got = ingest_layer(&s, Cursor::new(&gz)).unwrap();
    report("gzip", &gz, t.elapsed());
    assert!(s.delete(&got.diff_id).unwrap());

    let zs = zstd::encode_all(&tar[..], 3).unwrap();
    let t = std::time::Instant::now();
    let got = ingest_layer(&s, Cursor::new(&zs)).unwrap();
    report("zstd", &zs, t.elapsed());
    assert!(s.delete(&got.diff_id).unwrap());

    let t = std::time::Instant::now();
    let mut h = oci_model::Sha256Writer::new();
    for c in tar.chunks(1 << 20) {
        h.update(c);
    }
    h.finish();
    report("sha256 alone", &tar, t.elapsed());
}

#[test]
fn last_entry_without_padding_is_accepted() {
    // umoci ends a layer right after the last file's data: no padding, no end marker.
    let mut h = tar::Header::new_ustar();
    h.set_path("etc/extra").unwrap();
    h.set_size(5);
    h.set_mode(0o644);
    h.set_cksum();
    let mut raw = h.as_bytes().to_vec();
    raw.extend_from_slice(b"extra");
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    let got = ingest_layer(&store, raw.as_slice()).unwrap();
    assert_eq!(got.diff_id, Digest::of(&raw));
    // but a padding cut short is truncation
    raw.extend_from_slice(&[0u8; 7]);
    assert!(ingest_layer(&store, raw.as_slice())
        .unwrap_err()
        .to_string()
        .contains("unexpected end of archive"));
}

/// A layer's size is Docker's (moby's `directory.Size` of the unpacked layer), not the tar's
/// length: directories count nothing, a hardlinked file once, a symlink the length of its
/// target (long targets through GNU and PAX headers alike), a renamed-over file not at all.
#[test]
fn layer_content_size_is_dockers_measure() {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    b.append_data(&mut dir.clone(), "bin/", std::io::empty())
        .unwrap();
    let mut file = tar::Header::new_gnu();
    file.set_entry_type(tar::EntryType::Regular);
    file.set_mode(0o755);
    file.set_size(16);
    b.append_data(&mut file.clone(), "bin/busybox", &[7u8; 16][..])
        .unwrap();
    for name in ["bin/sh", "bin/ls"] {
        let mut l = tar::Header::new_gnu();
        l.set_entry_type(tar::EntryType::Link);
        l.set_size(0);
        b.append_link(&mut l, name, "bin/busybox").unwrap();
    }
    let long_target = "t/".repeat(70); // 140 bytes: a GNU long link name
    let mut s = tar::Header::new_gnu();
    s.set_entry_type(tar::EntryType::Symlink);
    s.set_size(0);
    b.append_link(&mut s, "bin/long", &long_target).unwrap();
    let mut s = tar::Header::new_gnu();
    s.set_entry_type(tar::EntryType::Symlink);
    s.set_size(0);
    b.append_link(&mut s, "bin/short", "busybox").unwrap();
    // replaced by a later entry of the same name
    let mut f = file.clone();
    f.set_size(1000);
    b.append_data(&mut f, "etc/old", &[1u8; 1000][..]).unwrap();
    let mut f = file.clone();
    f.set_size(3);
    b.append_data(&mut f, "./etc/old", &b"new"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let want = 16 + 140 + 7 + 3;

    let (_dir, st) = store();
    let got = ingest_layer(&st, Cursor::new(&tar)).unwrap();
    assert_eq!(got.content_size, want);
    assert_eq!(got.size, tar.len() as u64);
    assert_eq!(crate::layer_content_size(Cursor::new(&tar)).unwrap(), want);
    let got = ingest_layer(&st, Cursor::new(gzip(&tar))).unwrap();
    assert_eq!(got.content_size, want);

    // a PAX header carries the long target the same
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([("linkpath", long_target.as_bytes())])
        .unwrap();
    let mut s = tar::Header::new_ustar();
    s.set_entry_type(tar::EntryType::Symlink);
    s.set_size(0);
    s.set_path("l").unwrap();
    s.set_cksum();
    b.append(&s, std::io::empty()).unwrap();
    let tar = b.into_inner().unwrap();
    assert_eq!(crate::layer_content_size(Cursor::new(&tar)).unwrap(), 140);
}

/// One tar entry with a name of any bytes (a PAX `path` record when it does not fit the
/// 100-byte field or holds a NUL), of type `kind`, with `data`.
fn raw_entry(name: &[u8], kind: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if name.len() > 100 || name.contains(&0) {
        let mut rec = b" path=".to_vec();
        rec.extend_from_slice(name);
        rec.push(b'\n');
        // The record's length counts its own digits.
        let mut len = rec.len() + 1;
        while rec.len() + len.to_string().len() != len {
            len += 1;
        }
        let mut pax = len.to_string().into_bytes();
        pax.extend_from_slice(&rec);
        assert_eq!(pax.len(), len);
        out.extend(raw_entry(b"PaxHeader", b'x', &pax));
    }
    let mut h = tar::Header::new_ustar();
    let field = &mut h.as_old_mut().name;
    let n = name.len().min(100);
    field[..n].copy_from_slice(&name[..n]);
    if let Some(nul) = name.iter().position(|&b| b == 0) {
        field[nul.min(100)..].fill(0);
    }
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.as_old_mut().linkflag = [kind];
    if kind == b'2' {
        h.set_link_name("target").unwrap();
    }
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn tar_end(mut entries: Vec<u8>) -> Vec<u8> {
    entries.extend_from_slice(&[0; 1024]);
    entries
}

#[test]
fn names_are_bytes_and_stored_exactly() {
    let (_dir, s) = store();
    let mut t = raw_entry(b"caf\xe9", b'0', b"latin-1");
    t.extend(raw_entry(b"bell\x07\x1b[31m", b'0', b"control"));
    t.extend(raw_entry(b"d\xff/", b'5', b""));
    t.extend(raw_entry(b"d\xff/\xfe", b'0', b"in a latin-1 dir"));
    let t = tar_end(t);
    let got = ingest_layer(&s, Cursor::new(&t)).unwrap();
    assert_eq!(got.warnings, Vec::<String>::new());
    assert_eq!(s.read(&got.diff_id).unwrap(), t);
}

#[test]
fn names_refused_at_ingest_name_the_entry_and_store_nothing() {
    let long = [b'n'; 256];
    let cases: Vec<(Vec<u8>, u8, &str)> = vec![
        (
            b"a\0b".to_vec(),
            b'0',
            r#"invalid tar: entry "a\0b": name contains a NUL byte"#,
        ),
        (long.to_vec(), b'0', "invalid tar: entry \"nnn"),
        (
            b"../etc/passwd".to_vec(),
            b'0',
            r#"invalid tar: entry "../etc/passwd": escapes the root"#,
        ),
        (
            b"a/../../x".to_vec(),
            b'2',
            r#"invalid tar: entry "a/../../x": escapes the root"#,
        ),
        (
            b"etc/.wh.".to_vec(),
            b'0',
            r#"invalid tar: entry "etc/.wh.": whiteout names nothing"#,
        ),
        (
            b".wh..".to_vec(),
            b'0',
            r#"invalid tar: entry ".wh..": whiteout names nothing"#,
        ),
        (
            b"x/.wh...".to_vec(),
            b'0',
            r#"invalid tar: entry "x/.wh...": whiteout names nothing"#,
        ),
        (
            b"a/.wh.b/c".to_vec(),
            b'0',
            r#"invalid tar: entry "a/.wh.b/c": whiteout used as a directory"#,
        ),
        (
            b"a/.wh.b/".to_vec(),
            b'5',
            r#"invalid tar: entry "a/.wh.b/": whiteout used as a directory"#,
        ),
        (
            b"a/.wh.\xe9".to_vec(),
            b'5',
            r#"invalid tar: entry "a/.wh.\xe9": whiteout used as a directory"#,
        ),
    ];
    for (name, kind, want) in cases {
        let (dir, s) = store();
        // A good entry first: nothing of it is stored either.
        let mut t = raw_entry(b"ok", b'0', b"fine");
        t.extend(raw_entry(&name, kind, b""));
        assert_invalid(&s, dir.path(), &tar_end(t), want);
    }
    // Hardlink targets: inside the layer, and not the root.
    let link = |name: &[u8], target: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.as_old_mut().linkname[..target.len()].copy_from_slice(target);
        h.as_old_mut().linkflag = [b'1'];
        h.set_mode(0o644);
        h.set_size(0);
        h.set_cksum();
        h.as_bytes().to_vec()
    };
    for (target, want) in [
        (
            &b"../etc/shadow"[..],
            r#"invalid tar: entry "l": hardlink target "../etc/shadow" escapes the root"#,
        ),
        (
            b"a/../..",
            r#"invalid tar: entry "l": hardlink target "a/../.." escapes the root"#,
        ),
        (
            b"./",
            r#"invalid tar: entry "l": hardlink target "./" names the root"#,
        ),
        (
            b"",
            r#"invalid tar: entry "l": hardlink target "" names the root"#,
        ),
    ] {
        let (dir, s) = store();
        assert_invalid(&s, dir.path(), &tar_end(link(b"l", target)), want);
    }
    let (_dir, s) = store();
    let mut t = raw_entry(b"caf\xe9", b'0', b"x");
    t.extend(link(b"l", b"/caf\xe9"));
    ingest_layer(&s, Cursor::new(tar_end(t))).unwrap();
    // The 255-byte component is the longest accepted.
    let (_dir, s) = store();
    ingest_layer(&s, Cursor::new(tar_end(raw_entry(&long[..255], b'0', b"")))).unwrap();
}

#[test]
fn entries_naming_the_root_are_warned_about() {
    let (_dir, s) = store();
    let mut t = raw_entry(b"./", b'5', b""); // the root directory: its metadata, no warning
    t.extend(raw_entry(b".", b'2', b""));
    t.extend(raw_entry(b"./", b'2', b""));
    t.extend(raw_entry(b"./", b'0', b"")); // a regular entry named `dir/` is a directory
    t.extend(raw_entry(b"", b'0', b""));
    t.extend(raw_entry(b"etc/..", b'0', b"x"));
    t.extend(raw_entry(b"kept", b'0', b"y"));
    let got = ingest_layer(&s, Cursor::new(tar_end(t))).unwrap();
    let named = |n: &str| {
        format!("skipped entry {n}: it names the root of the layer and is not a directory")
    };
    assert_eq!(
        got.warnings,
        vec![
            named(r#"".""#),
            named(r#""./""#),
            named(r#""""#),
            named(r#""etc/..""#)
        ]
    );
}

#[test]
fn aufs_metadata_is_accepted_for_readers_to_drop() {
    let (_dir, s) = store();
    let mut t = raw_entry(b".wh..wh.plnk/", b'5', b"");
    t.extend(raw_entry(b".wh..wh.plnk/1234.5678", b'0', b"x"));
    t.extend(raw_entry(b".wh..wh.aufs", b'0', b""));
    t.extend(raw_entry(b".wh..wh.orph/", b'5', b""));
    let got = ingest_layer(&s, Cursor::new(tar_end(t))).unwrap();
    assert_eq!(got.warnings, Vec::<String>::new());
}

/// An old-GNU sparse entry: `data` stored, claiming `real` bytes.
fn sparse_entry(name: &str, real: u64, data: usize) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_path(name).unwrap();
    h.set_mode(0o644);
    h.set_size(data as u64);
    let gnu = h.as_gnu_mut().unwrap();
    gnu.set_real_size(real);
    gnu.sparse[0].set_offset(0);
    gnu.sparse[0].set_length(data as u64);
    gnu.sparse[1].set_offset(real);
    gnu.sparse[1].set_length(0);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.resize(512 + data.div_ceil(512) * 512, 7);
    out
}

#[test]
fn sparse_holes_are_bounded() {
    let (dir, s) = store();
    // 512 bytes claiming 4 GiB: refused before anything is stored.
    let bomb = tar_end(sparse_entry("bomb", 4 << 30, 512));
    assert_invalid(
        &s,
        dir.path(),
        &bomb,
        "invalid tar: entry \"bomb\": sparse file of 4294967296 bytes stored in 512",
    );
    // Many small ones add up.
    let mut t = Vec::new();
    for i in 0..5 {
        t.extend(sparse_entry(&format!("s{i}"), 20 << 20, 512));
    }
    assert_invalid(
        &s,
        dir.path(),
        &tar_end(t),
        "invalid tar: entry \"s3\": sparse file",
    );
    // A modest sparse file is fine, and the tar crate reads it back at its full size.
    let ok = tar_end(sparse_entry("ok", 1 << 20, 512));
    let got = ingest_layer(&s, Cursor::new(&ok)).unwrap();
    let mut ar = tar::Archive::new(Cursor::new(s.read(&got.diff_id).unwrap()));
    let mut e = ar.entries().unwrap().next().unwrap().unwrap();
    let mut all = Vec::new();
    e.read_to_end(&mut all).unwrap();
    assert_eq!(all.len(), 1 << 20);
}

/// An old-GNU sparse entry with the map `regions` (offset, length), `ext` more regions in one
/// extension block, `data` bytes stored, claiming `real` bytes.
fn sparse_with_map(real: u64, data: u64, regions: &[(u64, u64)], ext: &[(u64, u64)]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_path("sp").unwrap();
    h.set_mode(0o644);
    h.set_size(data);
    let gnu = h.as_gnu_mut().unwrap();
    gnu.set_real_size(real);
    for (slot, &(o, l)) in gnu.sparse.iter_mut().zip(regions) {
        slot.set_offset(o);
        slot.set_length(l);
    }
    gnu.isextended[0] = u8::from(!ext.is_empty());
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    if !ext.is_empty() {
        let mut block = tar::GnuExtSparseHeader::new();
        for (slot, &(o, l)) in block.sparse.iter_mut().zip(ext) {
            slot.set_offset(o);
            slot.set_length(l);
        }
        out.extend_from_slice(block.as_bytes());
    }
    let padded = data.div_ceil(512) * 512;
    out.extend(std::iter::repeat_n(b'd', padded as usize));
    out
}

/// A sparse map is checked as Go's reader (Docker's) checks it: regions in order, apart,
/// within the file's size, and holding exactly the data stored. Any other map is refused at
/// ingest with nothing stored, not accepted and found unreadable by a later `create`.
#[test]
fn sparse_maps_are_checked_at_ingest() {
    let (dir, s) = store();
    for (map, ext, data, why) in [
        (
            vec![(1 << 40, 1)],
            vec![],
            1,
            "region ends at 1099511627777, past the file's size 100",
        ),
        (
            vec![(0, 60), (50, 40)],
            vec![],
            100,
            "regions overlap or are out of order",
        ),
        (
            vec![(50, 10), (0, 10)],
            vec![],
            20,
            "regions overlap or are out of order",
        ),
        (
            vec![(0, 10), (100, 0)],
            vec![],
            20,
            "holds 10 bytes of data, the entry stores 20",
        ),
        (
            vec![(0, 30), (100, 0)],
            vec![],
            20,
            "holds 30 bytes of data, the entry stores 20",
        ),
        (
            vec![(0, 10)],
            vec![(90, 20)],
            30,
            "region ends at 110, past the file's size 100",
        ),
        // What Go reads but the tar crate cannot: a region after data that is not whole
        // blocks, a map ending before the file does.
        (
            vec![(0, 10), (20, 10), (100, 0)],
            vec![],
            20,
            "region at 20 follows data of 10 bytes",
        ),
        (
            vec![(0, 10)],
            vec![],
            10,
            "ends at 10, not at the file's size 100",
        ),
    ] {
        let t = tar_end(sparse_with_map(100, data, &map, &ext));
        let want = format!("invalid tar: entry \"sp\": sparse map {why}");
        assert_invalid(&s, dir.path(), &t, &want);
    }
    // A map split over the header and an extension block that holds what it stores is read
    // back whole, at its full size.
    let ok = tar_end(sparse_with_map(
        8192,
        2548,
        &[(0, 512), (1024, 512), (2048, 512), (3072, 512)],
        &[(4096, 500), (8192, 0)],
    ));
    let got = ingest_layer(&s, Cursor::new(&ok)).unwrap();
    let mut ar = tar::Archive::new(Cursor::new(s.read(&got.diff_id).unwrap()));
    let mut e = ar.entries().unwrap().next().unwrap().unwrap();
    let mut all = Vec::new();
    e.read_to_end(&mut all).unwrap();
    assert_eq!(all.len(), 8192);
    assert_eq!(&all[4096..4596], &[b'd'; 500][..]);
    assert_eq!(&all[4596..], &[0; 3596][..]);
}

#[test]
fn layer_pax_records_are_read_by_length() {
    let (_dir, s) = store();
    let pax_then_file = |records: &[u8]| {
        let mut b = tar::Builder::new(Vec::new());
        let mut x = tar::Header::new_ustar();
        x.set_entry_type(tar::EntryType::XHeader);
        x.set_size(records.len() as u64);
        x.set_path("PaxHeaders/f").unwrap();
        x.set_cksum();
        b.append(&x, records).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        h.set_path("f").unwrap();
        h.set_cksum();
        b.append(&h, &b"abc"[..]).unwrap();
        b.into_inner().unwrap()
    };
    // A name holding a newline (its record's length counts it) is a name like any other.
    assert!(ingest_layer(&s, Cursor::new(pax_then_file(b"13 path=a\nbc\n"))).is_ok());
    // A record whose length stops before the newline in its value leaves "bc\n": refused,
    // saying why, and nothing more is stored.
    let (dir2, s2) = store();
    let err = ingest_layer(&s2, Cursor::new(pax_then_file(b"10 path=a\nbc\n"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(
        err.to_string().contains(
            "malformed PAX header at offset 0: malformed PAX record at byte 10: no length"
        ),
        "{err}"
    );
    assert_empty(dir2.path());
}

#[test]
fn verified_blobs_stay_invisible_until_published_together() {
    let (dir, s) = store();
    let tar = tar_of(&[("a", b"layer bytes".to_vec())]);
    let (layer, blob) = ingest_layer_verified(&s, Cursor::new(tar.clone())).unwrap();
    assert_eq!(layer.diff_id, Digest::of(&tar));
    assert_eq!(blob.digest(), &layer.diff_id);
    let config = s.stage(b"{\"config\":1}").unwrap();
    let config_id = config.digest().clone();
    assert_eq!(config_id, Digest::of(b"{\"config\":1}"));
    // Nothing is visible before the publication.
    assert!(!s.contains(&layer.diff_id));
    assert!(!s.contains(&config_id));
    // A blob already present is published again as a no-op.
    let again = s.stage(b"{\"config\":1}").unwrap();
    s.publish_all(vec![config, blob]).unwrap();
    assert_eq!(s.read(&layer.diff_id).unwrap(), tar);
    assert_eq!(s.read(&config_id).unwrap(), b"{\"config\":1}");
    s.publish_all(vec![again]).unwrap();
    assert_eq!(names(&dir.path().join("ingest")), Vec::<String>::new());
    // A verified blob dropped unpublished leaves nothing behind.
    drop(s.stage(b"dropped").unwrap());
    assert!(!s.contains(&Digest::of(b"dropped")));
    assert_eq!(names(&dir.path().join("ingest")), Vec::<String>::new());
    assert_eq!(names(&dir.path().join("blobs/sha256")).len(), 2);
}

#[test]
fn verify_refuses_a_wrong_digest_or_size() {
    let (dir, s) = store();
    let mut w = s.writer().unwrap();
    w.write_all(b"abc").unwrap();
    let err = w.verify(None, Some(4)).unwrap_err();
    assert!(err.to_string().contains("size"), "{err}");
    let mut w = s.writer().unwrap();
    w.write_all(b"abc").unwrap();
    assert!(w.verify(Some(&Digest::of(b"abd")), None).is_err());
    assert_empty(dir.path());
}

/// A PAX GNU sparse entry laid out as GNU tar writes it: a PAX header of `records`, then a
/// regular entry `name` storing `stored`.
fn pax_sparse(records: &[(&str, String)], name: &str, stored: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions(records.iter().map(|(k, v)| (*k, v.as_bytes())))
        .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(stored.len() as u64);
    b.append_data(&mut h, name, stored).unwrap();
    b.into_inner().unwrap()
}

/// Format 0.1's records for a file `f` of `real` bytes.
fn v01(real: u64, blocks: &str, map: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GNU.sparse.major", "0".into()),
        ("GNU.sparse.minor", "1".into()),
        ("GNU.sparse.name", "f".into()),
        ("GNU.sparse.size", real.to_string()),
        ("GNU.sparse.numblocks", blocks.into()),
        ("GNU.sparse.map", map.into()),
    ]
}

/// Format 1.0's records for a file `f` of `real` bytes.
fn v10(real: u64) -> Vec<(&'static str, String)> {
    vec![
        ("GNU.sparse.major", "1".into()),
        ("GNU.sparse.minor", "0".into()),
        ("GNU.sparse.name", "f".into()),
        ("GNU.sparse.realsize", real.to_string()),
    ]
}

/// Format 1.0's stored data: the map text padded to whole blocks, then `data`.
fn map_1x0(regions: &[(u64, u64)], data: &[u8]) -> Vec<u8> {
    let mut out = format!("{}\n", regions.len()).into_bytes();
    for (o, l) in regions {
        out.extend_from_slice(format!("{o}\n{l}\n").as_bytes());
    }
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.extend_from_slice(data);
    out
}

/// The three PAX formats GNU tar writes (0.0, 0.1, 1.0) of one file `f`: 9000 bytes, 603 of
/// them data at 1000 and 5000.
fn pax_sparse_versions() -> Vec<(&'static str, Vec<u8>)> {
    let data: Vec<u8> = (0..603u32).map(|i| (i % 251 + 1) as u8).collect();
    let v00 = vec![
        ("GNU.sparse.size", "9000".to_string()),
        ("GNU.sparse.numblocks", "3".into()),
        ("GNU.sparse.offset", "1000".into()),
        ("GNU.sparse.numbytes", "3".into()),
        ("GNU.sparse.offset", "5000".into()),
        ("GNU.sparse.numbytes", "600".into()),
        ("GNU.sparse.offset", "9000".into()),
        ("GNU.sparse.numbytes", "0".into()),
    ];
    vec![
        ("0.0", tar_end(pax_sparse(&v00, "f", &data))),
        (
            "0.1",
            tar_end(pax_sparse(
                &v01(9000, "3", "1000,3,5000,600,9000,0"),
                "GNUSparseFile.1/f",
                &data,
            )),
        ),
        (
            "1.0",
            tar_end(pax_sparse(
                &v10(9000),
                "GNUSparseFile.1/f",
                &map_1x0(&[(1000, 3), (5000, 600), (9000, 0)], &data),
            )),
        ),
    ]
}

/// A PAX GNU sparse entry is measured at its real size (Docker's `hdr.Size`), named by its
/// sparse name, and its map read the same whatever the chunks the stream comes in.
#[test]
fn pax_sparse_entries_are_measured_at_their_real_size() {
    let (_dir, s) = store();
    for (version, tar) in pax_sparse_versions() {
        let got = ingest_layer(&s, Cursor::new(&tar)).unwrap_or_else(|e| panic!("{version}: {e}"));
        assert_eq!(got.content_size, 9000, "{version}");
        assert_eq!(got.warnings, Vec::<String>::new(), "{version}");
        assert_eq!(
            crate::layer_content_size(Cursor::new(&tar)).unwrap(),
            9000,
            "{version}"
        );
        for chunk in [1, 7, 511, 512, 513, 4096] {
            let mut check = crate::tarcheck::TarCheck::new();
            for c in tar.chunks(chunk) {
                check
                    .feed(c)
                    .unwrap_or_else(|e| panic!("{version}/{chunk}: {e}"));
            }
            check.finish().unwrap();
            assert_eq!(check.content_size(), 9000, "{version}/{chunk}");
        }
        // The 1.0 map is the data's first blocks: a stream that ends inside it is truncated.
        if version == "1.0" {
            let mut check = crate::tarcheck::TarCheck::new();
            check.feed(&tar[..1024 + 512 + 100]).unwrap();
            assert!(check
                .finish()
                .unwrap_err()
                .contains("unexpected end of archive in entry \"f\""));
        }
    }
    // A header with an unknown version is no sparse file: read, and measured, as stored.
    let mut records = v10(9000);
    records[0].1 = "2".into();
    let tar = tar_end(pax_sparse(&records, "plain", b"abc"));
    assert_eq!(crate::layer_content_size(Cursor::new(&tar)).unwrap(), 3);
}

/// A map Go refuses (`ErrHeader`, `errSparseTooLong`), or one whose data does not match what
/// the entry stores (its reader's `errMissData`/`errUnrefData`), is refused at ingest with
/// the entry's name and nothing stored: every reader expands the same map, or none is kept.
#[test]
fn pax_sparse_maps_are_checked_at_ingest() {
    let (dir, s) = store();
    let name = "GNUSparseFile.1/f";
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            pax_sparse(&v01(100, "2", "50,5,10,5"), name, &[1; 10]),
            "map regions overlap or are out of order (a region at 10 after one ending at 55)",
        ),
        (
            pax_sparse(&v01(100, "2", "10,5,12,5"), name, &[1; 10]),
            "map regions overlap or are out of order",
        ),
        (
            pax_sparse(&v01(100, "1", "98,5"), name, &[1; 5]),
            "map region ends at 103, past the file's size 100",
        ),
        (
            pax_sparse(&v01(100, "1", "0,5"), name, &[1; 4]),
            "map holds 5 bytes of data, the entry stores 4",
        ),
        (
            pax_sparse(&v01(100, "1", "0,5"), name, &[1; 600]),
            "map holds 5 bytes of data, the entry stores 600",
        ),
        (
            pax_sparse(&v01(100, "1", "0,x5"), name, &[1; 5]),
            "map number \"x5\" is not a number",
        ),
        (
            pax_sparse(&v01(100, "1", "0,5,6"), name, &[1; 5]),
            "map has 3 numbers for 1 regions",
        ),
        (
            pax_sparse(&v01(100, "?", "0,5"), name, &[1; 5]),
            "GNU.sparse.numblocks \"?\" is not a count",
        ),
        (
            pax_sparse(
                &[
                    ("GNU.sparse.size", "100".into()),
                    ("GNU.sparse.numbytes", "5".into()),
                    ("GNU.sparse.offset", "0".into()),
                ],
                "f",
                &[1; 5],
            ),
            "0.0 map records out of order",
        ),
        (
            pax_sparse(&v10(100), name, &map_1x0(&[(50, 5), (10, 5)], &[1; 10])),
            "map regions overlap or are out of order",
        ),
        (
            pax_sparse(&v10(100), name, &map_1x0(&[(0, 5)], &[1; 700])),
            "map holds 5 bytes of data, the entry stores 700",
        ),
        (
            pax_sparse(&v10(100), name, &map_1x0(&[(0, 5), (200, 1)], &[1; 6])),
            "map region ends at 201, past the file's size 100",
        ),
        (
            pax_sparse(&v10(100), name, b"1\n0\n"),
            "1.0 map runs past the entry's data",
        ),
        (
            pax_sparse(
                &v10(100),
                name,
                &[b"2\n0\n1\n".as_slice(), &[0; 506]].concat(),
            ),
            "1.0 map runs past the entry's data",
        ),
        (
            pax_sparse(&v10(100), name, &[b"two\n".as_slice(), &[0; 508]].concat()),
            "1.0 map count \"two\" is not a count",
        ),
        (
            pax_sparse(&v10(100), name, &vec![b'7'; (1 << 20) + 512]),
            "1.0 map too long (over 1048576 bytes)",
        ),
        (
            pax_sparse(
                &[
                    ("GNU.sparse.major", "1".into()),
                    ("GNU.sparse.minor", "0".into()),
                    ("GNU.sparse.name", "f".into()),
                    ("GNU.sparse.realsize", "-1".into()),
                ],
                name,
                &map_1x0(&[], &[]),
            ),
            "GNU.sparse.realsize -1 is negative",
        ),
    ];
    for (tar, why) in cases {
        let want = format!("invalid tar: entry \"f\": GNU sparse {why}");
        assert_invalid(&s, dir.path(), &tar_end(tar), &want);
    }
    // Sparse records on what is no regular file.
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([
        ("GNU.sparse.numblocks", &b"0"[..]),
        ("GNU.sparse.map", b"0,0"),
    ])
    .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_size(0);
    b.append_data(&mut h, "d/", &[][..]).unwrap();
    let err = ingest_layer(&s, Cursor::new(tar_end(b.into_inner().unwrap())))
        .unwrap_err()
        .to_string();
    assert!(err.contains("map has 2 numbers for 0 regions"), "{err}");
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([
        ("GNU.sparse.numblocks", &b"1"[..]),
        ("GNU.sparse.map", b"0,0"),
    ])
    .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_size(0);
    b.append_data(&mut h, "d/", &[][..]).unwrap();
    assert_invalid(
        &s,
        dir.path(),
        &tar_end(b.into_inner().unwrap()),
        "invalid tar: entry \"d/\": GNU sparse records on an entry of type \"5\": only a regular file can be sparse",
    );
}

/// A PAX sparse file's holes count with every other sparse file's against the layer's bound:
/// a bomb (a huge real size over a few bytes of data) is refused at ingest, in each format,
/// before its data is read.
#[test]
fn pax_sparse_bombs_are_refused_at_ingest() {
    let (dir, s) = store();
    let huge = 8u64 << 40;
    let end = huge.to_string();
    let v00 = vec![
        ("GNU.sparse.size", end.clone()),
        ("GNU.sparse.numblocks", "2".into()),
        ("GNU.sparse.offset", "0".into()),
        ("GNU.sparse.numbytes", "3".into()),
        ("GNU.sparse.offset", end.clone()),
        ("GNU.sparse.numbytes", "0".into()),
    ];
    let map = format!("0,3,{end},0");
    for tar in [
        pax_sparse(&v00, "f", b"abc"),
        pax_sparse(&v01(huge, "2", &map), "GNUSparseFile.1/f", b"abc"),
        pax_sparse(
            &v10(huge),
            "GNUSparseFile.1/f",
            &map_1x0(&[(0, 3), (huge, 0)], b"abc"),
        ),
    ] {
        assert_invalid(
            &s,
            dir.path(),
            &tar_end(tar),
            "invalid tar: entry \"f\": sparse file of 8796093022208 bytes with 3 bytes of data: the layer's sparse holes exceed the limit",
        );
    }
    // Old-GNU and PAX sparse files add up.
    let mut t = sparse_entry("old", 40 << 20, 512);
    t.extend(pax_sparse(
        &v01(30 << 20, "1", "0,3"),
        "GNUSparseFile.1/f",
        b"abc",
    ));
    assert_invalid(
        &s,
        dir.path(),
        &tar_end(t),
        "invalid tar: entry \"f\": sparse file of 31457280 bytes with 3 bytes of data",
    );
}

/// A tar of one entry whose header block `edit` changes (the checksum redone after).
fn one_entry(ty: tar::EntryType, edit: impl Fn(&mut [u8; 512])) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(ty);
    h.set_path("e").unwrap();
    h.set_mode(0o644);
    h.set_size(0);
    if matches!(ty, tar::EntryType::Char | tar::EntryType::Block) {
        h.set_device_major(1).unwrap();
        h.set_device_minor(3).unwrap();
    }
    if ty == tar::EntryType::Symlink {
        h.set_link_name("t").unwrap();
    }
    let mut block = *h.as_bytes();
    edit(&mut block);
    block[148..156].copy_from_slice(b"        ");
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut tar = block.to_vec();
    tar.extend_from_slice(&[0u8; 1024]);
    tar
}

/// Go reads a blank numeric field as 0, but every reader of a layer here walks it with the
/// `tar` crate, which reads a size (and a device's numbers) only as written digits: such a
/// field is refused at ingest, with nothing stored, instead of being taken and failing every
/// unpack later. The fields the readers parse themselves (mode, owner, time) are read as Go
/// reads them, and refused where Go refuses them. Whatever ingest takes, the changeset
/// reader reads.
#[test]
fn numeric_fields_every_reader_reads_or_refused_at_ingest() {
    use tar::EntryType::{Block, Char, Directory, Regular, Symlink};
    let blank = |r: std::ops::Range<usize>| move |b: &mut [u8; 512]| b[r.clone()].fill(0);
    let lead_nul = |b: &mut [u8; 512]| b[124..136].copy_from_slice(b"\0\0\0\0\0\0\0\0\0\0\0\0");
    let spaces = |b: &mut [u8; 512]| b[124..136].copy_from_slice(b"           0");
    let sized = |b: &mut [u8; 512]| b[124..136].copy_from_slice(b"00000000010\0");
    let mode_after_nuls =
        |b: &mut [u8; 512]| b[100..108].copy_from_slice(b"\x00\x00\x00\x00644\x00");
    let bad_mode = |b: &mut [u8; 512]| b[100..108].copy_from_slice(b"0z644\0\0\0");
    let bad_uid = |b: &mut [u8; 512]| b[108..116].copy_from_slice(b"-1\0\0\0\0\0\0");
    let v7 = |b: &mut [u8; 512]| {
        b[257..265].fill(0); // no magic: no device fields either
        b[329..345].fill(0);
    };
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        (
            "blank size",
            one_entry(Symlink, blank(124..136)),
            Some("size field"),
        ),
        (
            "NULs for size",
            one_entry(Regular, lead_nul),
            Some("size field"),
        ),
        (
            "blank device major",
            one_entry(Char, blank(329..337)),
            Some("device major"),
        ),
        (
            "blank device minor",
            one_entry(Block, blank(337..345)),
            Some("device minor"),
        ),
        ("spaces then 0", one_entry(Regular, spaces), None),
        // A header-only type with a size: Go reads no data, the `tar` crate that much.
        (
            "symlink with a size",
            one_entry(Symlink, sized),
            Some("declares 8 bytes"),
        ),
        (
            "directory with a size",
            one_entry(Directory, sized),
            Some("declares 8 bytes"),
        ),
        // Fields the readers parse themselves are read as Go reads them.
        ("mode after NULs", one_entry(Regular, mode_after_nuls), None),
        ("blank mtime", one_entry(Regular, blank(136..148)), None),
        (
            "mode not a number",
            one_entry(Regular, bad_mode),
            Some("invalid mode field"),
        ),
        (
            "uid not a number",
            one_entry(Regular, bad_uid),
            Some("invalid uid field"),
        ),
        ("v7 device", one_entry(Char, v7), None),
        ("as written", one_entry(Char, |_| {}), None),
    ];
    for (what, tar, refused) in cases {
        let (dir, s) = store();
        match (ingest_layer(&s, Cursor::new(&tar)), refused) {
            (Err(e), Some(field)) => {
                assert!(e.to_string().contains(field), "{what}: {e}");
                assert_empty(dir.path());
            }
            (Ok(_), None) => {
                let cs = layer_diff::read_changeset(tar.as_slice())
                    .unwrap_or_else(|e| panic!("{what}: taken but unreadable: {e}"));
                if what == "mode after NULs" {
                    assert_eq!(cs.entries[0].mode, 0o644, "{what}");
                }
            }
            (got, _) => panic!("{what}: {got:?}"),
        }
    }
}

/// Go's reader drops extension headers that no entry follows; the `tar` crate, which every
/// reader of a layer here walks it with, fails on them. So ingest refuses them, naming the
/// header, and stores nothing; a global PAX header at the end is an entry of its own and read.
#[test]
fn extension_headers_without_an_entry_after_them_are_refused() {
    let with_file = || {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        h.set_mode(0o644);
        b.append_data(&mut h, "f", &b"x"[..]).unwrap();
        b
    };
    let special = |kind: u8, data: &[u8]| {
        let mut b = with_file();
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data).unwrap();
        b.into_inner().unwrap()
    };
    let mut pax = with_file();
    pax.append_pax_extensions([("path", &b"g"[..])]).unwrap();
    let pax = pax.into_inner().unwrap();
    let at_eof = pax[..pax.len() - 1024].to_vec();
    for (what, tar) in [
        ("PAX", pax),
        ("PAX, no end marker", at_eof),
        ("GNU long name", special(b'L', b"longname\0")),
        ("GNU long link", special(b'K', b"target\0")),
    ] {
        let (dir, s) = store();
        let err = ingest_layer(&s, Cursor::new(&tar)).unwrap_err().to_string();
        assert!(
            err.contains("extended header at offset 1024 has no entry after it"),
            "{what}: {err}"
        );
        assert_empty(dir.path());
        assert!(
            layer_diff::read_changeset(tar.as_slice()).is_err(),
            "{what}"
        );
    }
    let global = special(b'g', b"13 path=abcd\n");
    let (_dir, s) = store();
    ingest_layer(&s, Cursor::new(&global)).unwrap();
    layer_diff::read_changeset(global.as_slice()).unwrap();
}

/// Go takes a header checksum summed over signed bytes (old Sun tar) or written after NULs;
/// the `tar` crate that every reader here walks a layer with takes only the unsigned sum as
/// written digits, so ingest refuses the others rather than take a layer no unpack reads.
#[test]
fn header_checksums_every_reader_takes_or_refused_at_ingest() {
    // A byte above 0x7f makes the signed and unsigned sums differ.
    let with_high_byte = |b: &mut [u8; 512]| b[250] = 0xff;
    let unsigned = one_entry(tar::EntryType::Regular, with_high_byte);
    let mut signed = unsigned.clone();
    let sum: i64 = signed[..512]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(c as i8)
            }
        })
        .sum();
    signed[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut after_nul = unsigned.clone();
    let digits = after_nul[148..154].to_vec();
    after_nul[148] = 0;
    after_nul[149..155].copy_from_slice(&digits);
    after_nul[155] = 0;
    for (what, tar) in [("signed sum", signed), ("digits after a NUL", after_nul)] {
        let (dir, s) = store();
        let err = ingest_layer(&s, Cursor::new(&tar)).unwrap_err().to_string();
        assert!(err.contains("header checksum at offset 0"), "{what}: {err}");
        assert_empty(dir.path());
        assert!(
            layer_diff::read_changeset(tar.as_slice()).is_err(),
            "{what}"
        );
    }
    let (_dir, s) = store();
    ingest_layer(&s, Cursor::new(&unsigned)).unwrap();
    layer_diff::read_changeset(unsigned.as_slice()).unwrap();
}

/// A raw header block: `name`, type `kind`, `size`, the magic and version bytes given
/// (`b""` for a v7 header), the checksum filled in.
fn raw_header(name: &[u8], kind: u8, size: u64, magic: &[u8]) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000001\0");
    h[156] = kind;
    h[257..257 + magic.len()].copy_from_slice(magic);
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// `block` then `data` padded to a block.
fn member(block: [u8; 512], data: &[u8]) -> Vec<u8> {
    let mut out = block.to_vec();
    out.extend_from_slice(data);
    out.resize(512 + data.len().div_ceil(512) * 512, 0);
    out
}

/// Extension headers as the `tar` crate, which every reader here walks a layer with, takes
/// them: in a ustar or GNU header (it reads any other as an entry of that type), one of each
/// kind in front of an entry. Go takes the others too (the last one winning); ingest refuses
/// them, naming the header, rather than take a layer no unpack reads. An old-GNU sparse entry
/// outside a GNU header is refused as Go and the `tar` crate refuse it.
#[test]
fn extension_headers_every_reader_takes_or_refused_at_ingest() {
    const USTAR: &[u8] = b"ustar\x0000";
    const GNU: &[u8] = b"ustar  \x00";
    let pax = b"13 path=abcd\n";
    let long = b"longname\0";
    let file = member(raw_header(b"f", b'0', 1, USTAR), b"x");
    let tar = |members: &[Vec<u8>]| {
        let mut t = members.concat();
        t.extend_from_slice(&[0u8; 1024]);
        t
    };
    let x = |magic: &[u8]| member(raw_header(b"pax", b'x', pax.len() as u64, magic), pax);
    let l = |magic: &[u8]| member(raw_header(b"././@LongLink", b'L', 9, magic), long);
    let records = |r: &[u8]| member(raw_header(b"pax", b'x', r.len() as u64, USTAR), r);
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        (
            "PAX in a v7 header",
            tar(&[x(b""), file.clone()]),
            Some("neither the ustar nor"),
        ),
        (
            "PAX, ustar version 0",
            tar(&[x(b"ustar\x000\x00"), file.clone()]),
            Some("neither"),
        ),
        (
            "two PAX headers",
            tar(&[x(USTAR), x(USTAR), file.clone()]),
            Some("second of its kind"),
        ),
        (
            "two long names",
            tar(&[l(GNU), l(GNU), file.clone()]),
            Some("second of its kind"),
        ),
        (
            "PAX then long name",
            tar(&[x(USTAR), l(GNU), file.clone()]),
            None,
        ),
        ("long name in ustar", tar(&[l(USTAR), file.clone()]), None),
        // Go ignores a record it does not know, whatever its key; an xattr's name every reader
        // here keeps as text.
        (
            "odd key",
            tar(&[records(b"13 k\xff\xfe=value\n"), file.clone()]),
            None,
        ),
        (
            "odd xattr name",
            tar(&[records(b"20 SCHILY.xattr.\xff=v\n"), file.clone()]),
            Some("is not UTF-8"),
        ),
        // fuzz finding: a symlink whose PAX `linkpath` held NULs was taken, and no unpack
        // could make it; a hardlink's was refused already. A NUL in an xattr's value is data.
        (
            "NUL in a symlink's linkpath",
            tar(&[
                records(b"19 linkpath=a\0\0b/c\n"),
                member(raw_header(b"l", b'2', 0, USTAR), b""),
            ]),
            Some("entry \"l\": symlink target \"a\\0\\0b/c\" contains a NUL byte"),
        ),
        (
            "NUL in a hardlink's linkpath",
            tar(&[
                file.clone(),
                records(b"15 linkpath=f\0\n"),
                member(raw_header(b"h", b'1', 0, USTAR), b""),
            ]),
            Some("entry \"h\": hardlink target \"f\\0\" contains a NUL byte"),
        ),
        (
            "NUL in an xattr value",
            tar(&[records(b"25 SCHILY.xattr.user.k=\0\n"), file.clone()]),
            None,
        ),
        // times and owners as Go's reader takes them (the last record of a key counts)
        (
            "bad mtime",
            tar(&[records(b"15 mtime=17x.5\n"), file.clone()]),
            Some("invalid mtime record"),
        ),
        (
            "bad atime",
            tar(&[records(b"13 atime=1e3\n"), file.clone()]),
            Some("invalid atime record"),
        ),
        (
            "bad uid",
            tar(&[records(b"10 uid=-x\n"), file.clone()]),
            Some("invalid uid record"),
        ),
        (
            "a bad mtime another replaces",
            tar(&[
                records(b"13 mtime=bad\n20 mtime=1700000000\n"),
                file.clone(),
            ]),
            None,
        ),
        (
            "good times and owners",
            tar(&[
                records(b"22 mtime=-1.000000005\n15 ctime=12.34\n10 uid=42\n"),
                file.clone(),
            ]),
            None,
        ),
        (
            "old-GNU sparse in ustar",
            tar(&[member(raw_header(b"sp", b'S', 0, USTAR), b"")]),
            Some("not GNU's"),
        ),
    ];
    for (what, tar, refused) in cases {
        let (dir, s) = store();
        match (ingest_layer(&s, Cursor::new(&tar)), refused) {
            (Err(e), Some(text)) => {
                assert!(e.to_string().contains(text), "{what}: {e}");
                assert_empty(dir.path());
            }
            (Ok(_), None) => {
                layer_diff::read_changeset(tar.as_slice())
                    .unwrap_or_else(|e| panic!("{what}: taken but unreadable: {e}"));
            }
            (got, _) => panic!("{what}: {got:?}"),
        }
    }
}

/// The `tar_ingest` fuzz finding itself: a symlink whose PAX `linkpath` holds NUL bytes,
/// which ingest took and no unpack could make, is refused at ingest with nothing stored.
#[test]
fn fuzz_finding_symlink_linkpath_with_nuls_is_refused_at_ingest() {
    let tar = include_bytes!("../tests/data/fuzz-symlink-linkpath-nul.tar");
    let (dir, s) = store();
    let e = ingest_layer(&s, Cursor::new(&tar[..])).unwrap_err();
    assert!(
        e.to_string().contains("symlink target") && e.to_string().contains("contains a NUL byte"),
        "{e}"
    );
    assert_empty(dir.path());
}

/// The second `tar_ingest` finding: a PAX `mtime` that is no time, which ingest took and the
/// changeset reader refuses, is refused at ingest with nothing stored.
#[test]
fn fuzz_finding_bad_pax_mtime_is_refused_at_ingest() {
    let tar = include_bytes!("../tests/data/fuzz-bad-pax-mtime.tar");
    let (dir, s) = store();
    let e = ingest_layer(&s, Cursor::new(&tar[..])).unwrap_err();
    assert!(e.to_string().contains("invalid mtime record"), "{e}");
    assert_empty(dir.path());
}

/// A type no reader of a layer applies (a GNU volume label, an unknown flag) is refused at
/// ingest, as Docker's apply refuses it; where the name makes the entry a whiteout, or names
/// something every reader skips, the type does not matter, as it does not to the readers.
#[test]
fn entry_types_no_reader_applies_are_refused_at_ingest() {
    const USTAR: &[u8] = b"ustar\x0000";
    let tar = |name: &[u8], kind: u8| {
        let mut t = member(raw_header(name, kind, 0, USTAR), b"");
        t.extend_from_slice(&[0u8; 1024]);
        t
    };
    for (what, tar, refused) in [
        ("unknown type", tar(b"f", b'b'), true),
        ("volume label", tar(b"label", b'V'), true),
        ("whiteout of any type", tar(b"d/.wh.f", b'b'), false),
        (
            "AUFS metadata of any type",
            tar(b".wh..wh.aufs", b'V'),
            false,
        ),
    ] {
        let (dir, s) = store();
        match ingest_layer(&s, Cursor::new(&tar)) {
            Err(e) if refused => {
                assert!(
                    e.to_string().contains("unsupported tar entry type"),
                    "{what}: {e}"
                );
                assert_empty(dir.path());
            }
            Ok(got) if !refused => {
                let read = layer_diff::read_changeset(tar.as_slice())
                    .unwrap_or_else(|e| panic!("{what}: taken but unreadable: {e}"));
                assert_eq!(got.shape.entries.len(), read.entries.len(), "{what}");
            }
            got => panic!("{what}: {got:?}"),
        }
    }
}
