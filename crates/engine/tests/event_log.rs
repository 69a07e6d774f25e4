//! The store's event log across processes and formats: what another process recorded reaches
//! this engine's subscribers, whether it was written in the log's own format or in the one
//! older versions wrote (Docker-style keys).

use engine::Engine;
use std::time::Duration;

#[test]
fn rows_from_other_processes_in_either_format_are_relayed() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    let rx = e.subscribe();
    // the first call marks where relaying starts
    assert_eq!(e.relay_other_processes_events().unwrap(), 0);
    let mut db = metadata_db::Db::open(&dir.path().join("strata.db")).unwrap();
    let other_pid = std::process::id() + 1;
    db.append_events(
        other_pid,
        &[
            // as versions before the log had its own format wrote it
            r#"{"Type":"image","Action":"tag","ID":"sha256:ab","Attributes":{"name":"bb:2"},"timeNano":1700000000123456789}"#.into(),
            // the log's own format
            r#"{"type":"container","action":"start","id":"c1","attributes":{"image":"busybox"},"time_nano":5}"#.into(),
            // not an event: skipped
            "{}".into(),
        ],
    )
    .unwrap();
    assert_eq!(e.relay_other_processes_events().unwrap(), 2);
    let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        (
            first.kind.as_str(),
            first.action.as_str(),
            first.id.as_str()
        ),
        ("image", "tag", "sha256:ab")
    );
    assert_eq!(first.attributes["name"], "bb:2");
    assert_eq!(first.time_nano, 1_700_000_000_123_456_789);
    let second = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        (
            second.kind.as_str(),
            second.action.as_str(),
            second.id.as_str()
        ),
        ("container", "start", "c1")
    );
    assert_eq!(second.attributes["image"], "busybox");
    assert_eq!(second.time_nano, 5);
}

#[test]
fn this_process_records_its_events_in_the_logs_own_format() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path()).unwrap();
    let tar = {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        h.set_mode(0o644);
        b.append_data(&mut h, "f", &b"x"[..]).unwrap();
        b.into_inner().unwrap()
    };
    let opts = engine::ImportOptions {
        reference: Some("bb:1".into()),
        source: "-".into(),
        ..Default::default()
    };
    e.import(std::io::Cursor::new(tar), &opts).unwrap();
    let mut db = metadata_db::Db::open(&dir.path().join("strata.db")).unwrap();
    let rows = db.events_after(0).unwrap();
    assert!(!rows.is_empty());
    for (_, _, body) in rows {
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["action", "attributes", "id", "time_nano", "type"],
            "{body}"
        );
    }
}
