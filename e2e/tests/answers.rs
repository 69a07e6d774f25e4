//! Answers users trip on, through the `strata` binary: `rmi -f` of an image a stopped
//! container uses, output into a closed pipe, image sizes in Docker's measure, `search`
//! with nothing to search and with filters, `ps` after the tag is gone, `ps -l` / `-n`.

use e2e::registry::Registry;
use e2e::{busybox_rootfs, human_size, short, table_rows, tar_of, Store};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;

fn busybox_image(s: &Store, tag: &str) -> (std::path::PathBuf, String) {
    let root = s
        .scratch()
        .join(format!("rootfs-{}", tag.replace([':', '/'], "-")));
    busybox_rootfs(&root);
    let tar = tar_of(&root);
    let id = s
        .ok(&["import", tar.to_str().unwrap(), tag])
        .trim()
        .to_string();
    (root, id)
}

fn small_image(s: &Store, tag: &str, content: &[u8]) -> String {
    let dir = s
        .scratch()
        .join(format!("small-{}", tag.replace([':', '/'], "-")));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("file"), content).unwrap();
    let tar = tar_of(&dir);
    s.ok(&["import", tar.to_str().unwrap(), tag])
        .trim()
        .to_string()
}

/// moby's `directory.Size`: every non-directory entry's size (a symlink's is its target's
/// length), a file with several links once.
fn docker_size(dir: &Path) -> u64 {
    fn walk(dir: &Path, seen: &mut HashSet<u64>, total: &mut u64) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                walk(&e.path(), seen, total);
            } else if seen.insert(m.ino()) {
                *total += m.len();
            }
        }
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    walk(dir, &mut seen, &mut total);
    total
}

/// `strata images | head -1`, and every other verb writing into a pipe nobody reads any
/// more: the process ends quietly (SIGPIPE, as `ls` and the docker CLI), no panic, no
/// backtrace.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let s = Store::new();
    for i in 0..3 {
        small_image(&s, &format!("bb:{i}"), format!("content {i}\n").as_bytes());
    }
    s.ok(&["create", "--name", "c1", "bb:1", "true"]);
    for args in [
        &["images"][..],
        &["images", "-q"],
        &["history", "bb:1"],
        &["inspect", "bb:1"],
        &["ps", "-a"],
        &["system", "df", "-v"],
        &["save", "bb:1"],
        &["tree", "bb:1"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = s
            .command(args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.is_empty(),
            "`strata {}` into a closed pipe wrote to stderr:\n{stderr}",
            args.join(" ")
        );
        assert_eq!(
            out.status.signal(),
            Some(13),
            "`strata {}` into a closed pipe: {:?}",
            args.join(" "),
            out.status
        );
    }
    // a shell pipeline says nothing either
    let cmd = format!(
        "set -o pipefail; for i in 1 2 3 4 5 6 7 8 9 10; do {bin} --root {root} images; done | head -1 >/dev/null",
        bin = e2e::strata_bin().display(),
        root = s.root().display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &cmd])
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `rmi -f` of an image a stopped container uses: Docker untags it and deletes it (no row in
/// `images`), keeping for the container what it needs; the container keeps the image ID and
/// still works. `rmi -f $(images -qa)` (seed 001) goes through every image.
#[test]
fn rmi_force_of_an_image_a_stopped_container_uses() {
    let s = Store::new();
    let (_root, id) = busybox_image(&s, "bb:1");
    let other = small_image(&s, "other:1", b"other\n");
    s.ok(&["create", "--name", "c1", "bb:1", "true"]);
    let mark = s.scratch().join("mark");
    std::fs::write(&mark, b"mark\n").unwrap();
    s.ok(&["cp", mark.to_str().unwrap(), "c1:/tmp/mark"]);
    let before = s.ok(&["export", "c1"]).len();

    // without -f: Docker's conflict
    let (code, err) = s.fail(&["rmi", "bb:1"]);
    assert_eq!(code, 1);
    assert!(err.contains("(must force) - container"), "{err}");

    let out = s.ok(&["rmi", "-f", "bb:1"]);
    assert_eq!(out, format!("Untagged: bb:1\nDeleted: {id}\n"));
    let ids = s.ok(&["images", "-qa", "--no-trunc"]);
    assert_eq!(ids.trim(), other, "only the other image is listed");
    let (code, err) = s.fail(&["inspect", &id]);
    assert_eq!(code, 1, "{err}");

    // the container still works, and shows its image by ID
    let ps = s.ok(&["ps", "-a"]);
    let rows = table_rows(&ps);
    assert_eq!(rows[0][1], short(&id), "{ps}");
    assert_eq!(s.ok(&["export", "c1"]).len(), before);
    assert!(s.ok(&["diff", "c1"]).contains("A /tmp/mark"));
    s.ok(&["commit", "c1", "kept:1"]);

    // the seed's `docker rmi -f $(docker images -qa)`
    let all = s.ok(&["images", "-qa"]);
    let mut args = vec!["rmi", "-f"];
    args.extend(all.split_whitespace());
    assert!(args.len() > 2);
    s.ok(&args);
    assert_eq!(s.ok(&["images", "-qa"]), "");
    s.ok(&["export", "c1"]);

    // the container's removal frees the rest
    s.ok(&["rm", "c1"]);
    s.assert_blobs_hash_to_names();
    assert_eq!(s.blobs().len(), 0, "blobs left: {:?}", s.blobs());
    assert_eq!(s.ok(&["fsck"]).trim(), "no problems found");
}

/// Sizes are Docker's (moby's `directory.Size` of the unpacked layer), not the tar's length;
/// `system df` adds up what the rows show and says apart what the store occupies.
#[test]
fn sizes_are_dockers_measure() {
    let s = Store::new();
    let (root, id) = busybox_image(&s, "bb:1");
    let want = docker_size(&root);
    let tar_len = std::fs::metadata(format!("{}.tar", root.display()))
        .unwrap()
        .len();
    assert!(want < tar_len);
    let rows = table_rows(&s.ok(&["images"]));
    assert_eq!(rows[0][4], human_size(want), "{rows:?}");
    assert_eq!(s.inspect("bb:1")["Size"], want, "inspect Size");
    let hist = s.ok(&["history", "--format", "{{.Size}}", "-H=false", "bb:1"]);
    assert_eq!(hist.trim(), want.to_string());

    // a 16-byte file is 16B, as Docker says
    small_image(&s, "tiny:1", &[b'x'; 16]);
    let out = s.ok(&["images", "--format", "{{.Size}}", "-f", "reference=tiny:1"]);
    assert_eq!(out.trim(), "16B");

    // df: the images' total is what the rows add up to (no layer shared here)
    let df = s.ok(&["system", "df"]);
    let rows = table_rows(&df);
    assert_eq!(rows[0][0], "Images");
    assert_eq!(rows[0][3], human_size(want + 16), "{df}");
    let line = df
        .lines()
        .find(|l| l.starts_with("Store on disk: "))
        .unwrap_or_else(|| panic!("no on-disk line:\n{df}"));
    let stored: u64 = s.blobs().values().sum();
    assert!(line.contains(&human_size(stored)), "{line} vs {stored}");
    let _ = id;
}

/// A store from before sizes were measured: its layers get Docker's measure when it is
/// opened, and show it.
#[test]
fn a_store_from_before_gets_its_sizes_measured() {
    let s = Store::new();
    let (root, _) = busybox_image(&s, "bb:1");
    let db = s.root().join("strata.db");
    let sql = "UPDATE layers SET content_size = NULL";
    let st = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg(sql)
        .status()
        .expect("sqlite3");
    assert!(st.success());
    let size = s.ok(&["images", "--format", "{{.Size}}", "-f", "reference=bb:1"]);
    assert_eq!(size.trim(), human_size(docker_size(&root)));
    let left = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT COUNT(*) FROM layers WHERE content_size IS NULL")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&left.stdout).trim(), "0");
}

/// `ps`: the image by ID once its tag is gone or moved (moby's `refreshImage`), and `-l`,
/// `-n N` for the newest containers of any state.
#[test]
fn ps_shows_the_id_once_the_tag_is_gone_and_takes_last() {
    let s = Store::new();
    let a = small_image(&s, "app:1", b"one\n");
    let b = small_image(&s, "app:2", b"two\n");
    s.ok(&["create", "--name", "first", "app:1", "true"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    s.ok(&["create", "--name", "second", "app:2", "true"]);
    let images = |args: &[&str]| -> Vec<(String, String)> {
        let mut full = vec!["ps"];
        full.extend(args);
        full.extend(["--format", "{{.Names}} {{.Image}}"]);
        s.ok(&full)
            .lines()
            .map(|l| {
                let (n, i) = l.split_once(' ').unwrap();
                (n.to_string(), i.to_string())
            })
            .collect()
    };
    let pair = |n: &str, i: &str| (n.to_string(), i.to_string());
    assert_eq!(
        images(&["-a"]),
        [pair("second", "app:2"), pair("first", "app:1")]
    );
    assert_eq!(images(&["-l"]), [pair("second", "app:2")]);
    assert_eq!(images(&["-n", "1"]), [pair("second", "app:2")]);
    assert_eq!(images(&["-n", "5"]).len(), 2);
    assert_eq!(
        images(&[]).len(),
        0,
        "without -a, -l, -n: running ones only"
    );
    // the tag moves to another image, and is removed
    s.ok(&["tag", "app:2", "app:1"]);
    s.ok(&["rmi", "app:2"]);
    assert_eq!(
        images(&["-a"]),
        [pair("second", &short(&b)), pair("first", &short(&a))]
    );
    let full = s.ok(&["ps", "-a", "--no-trunc", "--format", "{{.Image}}"]);
    assert_eq!(full.lines().last().unwrap(), a);
}

/// `search` with no search registry: says where it looked and that nothing is configured
/// (was an empty table); `--filter is-official=`, `is-automated=`, `stars=` apply, with
/// moby's errors for bad ones.
#[test]
fn search_says_when_nothing_is_configured_and_applies_filters() {
    let s = Store::new();
    let config = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = s
            .command(args)
            .env("STRATA_CONFIG", config.path())
            .env_remove("XDG_CONFIG_HOME")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["search", "busybox"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    let where_ = config.path().join("strata.toml");
    assert!(
        err.starts_with("Error response from daemon: no search registry configured")
            && err.contains(&where_.display().to_string()),
        "{err}"
    );

    let reg = Registry::start();
    let host = reg.host();
    small_image(&s, &format!("{host}/tools/busybox:1"), b"bb\n");
    let push = s
        .command(&["push", &format!("{host}/tools/busybox:1")])
        .env("STRATA_CONFIG", config.path())
        .output()
        .unwrap();
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    std::fs::write(&where_, format!("[registry]\nsearch = [\"{host}\"]\n")).unwrap();
    let names = |filters: &[&str]| -> Vec<String> {
        let mut args = vec!["search"];
        for f in filters {
            args.extend(["--filter", f]);
        }
        args.push("busy");
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        table_rows(&out).into_iter().map(|r| r[0].clone()).collect()
    };
    let found = vec![format!("{host}/tools/busybox")];
    assert_eq!(names(&[]), found);
    assert_eq!(names(&["is-official=false"]), found);
    assert_eq!(names(&["stars=0"]), found);
    assert_eq!(names(&["is-automated=false"]), found);
    assert!(names(&["is-official=true"]).is_empty());
    assert!(names(&["stars=1"]).is_empty());
    assert!(
        names(&["stars=0", "stars=3"]).is_empty(),
        "the largest N counts"
    );
    assert!(names(&["is-automated=true"]).is_empty());
    for (f, msg) in [
        ("is-official=maybe", "invalid filter 'is-official=[maybe]'"),
        ("stars=many", "invalid filter 'stars=many'"),
        ("color=blue", "invalid filter 'color'"),
    ] {
        let (code, _, err) = run(&["search", "--filter", f, "busy"]);
        assert_eq!(code, 1, "{f}: {err}");
        assert!(err.contains(msg), "{f}: {err}");
    }
}

/// A sweep that fails after `rmi`/`image prune` committed: the removal is done, so it is
/// reported as done (exit 0, its lines), its events are recorded, and a later sweep frees
/// what was left.
#[test]
fn a_failed_sweep_after_a_removal_does_not_make_it_an_error() {
    let s = Store::new();
    let id = small_image(&s, "bb:1", b"one\n");
    small_image(&s, "keep:1", b"kept\n");
    let before = s.blobs();
    let out = s
        .command(&["rmi", "bb:1"])
        .env("STRATA_FAILPOINT", "fail:sweep")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(&format!("Untagged: bb:1\nDeleted: {id}\n")),
        "{stdout}"
    );
    assert_eq!(s.ok(&["images", "-q"]).lines().count(), 1);
    assert_eq!(s.blobs(), before, "nothing swept yet");
    let events = std::process::Command::new("sqlite3")
        .arg(s.root().join("strata.db"))
        .arg("SELECT body FROM events ORDER BY seq")
        .output()
        .unwrap();
    let events = String::from_utf8_lossy(&events.stdout);
    assert!(
        events.contains("\"untag\"") && events.contains(&format!("\"{id}\"")),
        "events recorded: {events}"
    );
    // prune the same way
    small_image(&s, "bb:1", b"two\n");
    small_image(&s, "bb:1", b"three\n");
    let out = s
        .command(&["image", "prune", "-f"])
        .env("STRATA_FAILPOINT", "fail:sweep")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("deleted: sha256:"));
    // the next sweep frees what the failed ones left
    s.ok(&["rmi", "keep:1"]);
    s.ok(&["rmi", "bb:1"]);
    assert_eq!(s.blobs().len(), 0, "{:?}", s.blobs());
}
