//! The JSON on the wire: server-shaped bodies read back to the values they were written from,
//! and sparse bodies read thanks to the defaults the dashboard relies on.

use api_types::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt::Debug;

/// `value` writes exactly `wire`, and `wire` reads back to `value`.
fn check<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: T, wire: Value) {
    assert_eq!(serde_json::to_value(&value).unwrap(), wire, "written");
    assert_eq!(
        serde_json::from_value::<T>(wire).unwrap(),
        value,
        "read back"
    );
}

#[test]
fn plans_round_trip() {
    let plan = PlanDto {
        events: vec![
            RmiEventDto::Untagged("bb:1".into()),
            RmiEventDto::Deleted("sha256:ab".into()),
        ],
        untag: vec!["bb:1".into()],
        delete_images: vec!["sha256:ab".into()],
        delete_layers: vec!["sha256:cd".into()],
        bytes_freed: 10,
        conflict: None,
    };
    let wire = json!({
        "events": [{"untagged": "bb:1"}, {"deleted": "sha256:ab"}],
        "untag": ["bb:1"],
        "delete_images": ["sha256:ab"],
        "delete_layers": ["sha256:cd"],
        "bytes_freed": 10,
        "conflict": null,
    });
    check(plan.clone(), wire.clone());
    let refused = PlanDto {
        conflict: Some("conflict: unable to delete".into()),
        ..Default::default()
    };
    let bulk = BulkPlanDto::new(vec![
        BulkItemDto {
            name: "bb:1".into(),
            plan: plan.clone(),
        },
        BulkItemDto {
            name: "x:1".into(),
            plan: refused,
        },
    ]);
    assert_eq!(bulk.total, plan, "a refused item adds nothing");
    check(
        bulk,
        json!({
            "items": [
                {"name": "bb:1", "plan": wire},
                {"name": "x:1", "plan": {"events": [], "untag": [], "delete_images": [],
                    "delete_layers": [], "bytes_freed": 0, "conflict": "conflict: unable to delete"}},
            ],
            "total": wire,
        }),
    );
}

#[test]
fn trees_round_trip() {
    let tree = TreeDto {
        layers: vec![TreeLayerDto {
            index: 1,
            label: "writable".into(),
            changes: vec![("/etc/passwd".into(), "R".into())],
        }],
        merged: vec![MergedDto {
            path: "/bin/sh".into(),
            kind: "hardlink".into(),
            mode: 0o755,
            link: Some(LinkDto {
                layer: 0,
                path: "/bin/busybox".into(),
            }),
            target: Some("/bin/busybox".into()),
            ..Default::default()
        }],
        markers: [(
            "/etc/passwd".to_string(),
            vec![MarkerDto {
                layer: 1,
                kind: "whiteout".into(),
                path: "/etc/passwd".into(),
            }],
        )]
        .into(),
        efficiency: EfficiencyDto {
            score: 0.5,
            inefficient: vec![InefficiencyDto {
                path: "/etc/passwd".into(),
                cumulative_size: 10,
                minimum_size: 5,
                layers: vec![0, 1],
            }],
            ..Default::default()
        },
        ..Default::default()
    };
    check(
        tree,
        json!({
            "layers": [{"index": 1, "label": "writable", "changes": [["/etc/passwd", "R"]]}],
            "merged": [{"path": "/bin/sh", "kind": "hardlink", "size": 0, "mode": 493, "uid": 0,
                "gid": 0, "mtime": 0, "provider": 0, "implied": false,
                "link": {"layer": 0, "path": "/bin/busybox"}, "target": "/bin/busybox"}],
            "shadowed": {},
            "markers": {"/etc/passwd": [{"layer": 1, "kind": "whiteout", "path": "/etc/passwd"}]},
            "efficiency": {"score": 0.5, "wasted_bytes": 0, "size_bytes": 0, "user_size_bytes": 0,
                "inefficient": [{"path": "/etc/passwd", "cumulative_size": 10, "minimum_size": 5,
                    "layers": [0, 1]}]},
        }),
    );
}

#[test]
fn events_keep_dockers_field_names() {
    check(
        EventDto {
            kind: "image".into(),
            action: "tag".into(),
            id: "sha256:ab".into(),
            attributes: [("name".to_string(), "bb:2".to_string())].into(),
            time_nano: 1,
        },
        json!({"Type": "image", "Action": "tag", "ID": "sha256:ab",
            "Attributes": {"name": "bb:2"}, "timeNano": 1}),
    );
}

#[test]
fn images_and_containers_round_trip() {
    check(
        ImageSummaryDto {
            id: "sha256:ab".into(),
            repo_tags: vec!["bb:1".into()],
            size: 10,
            unique_size: 10,
            removal_frees: 0,
            containers: 1,
            ..Default::default()
        },
        json!({"id": "sha256:ab", "parent": null, "repo_tags": ["bb:1"], "repo_digests": [],
            "created": 0, "size": 10, "shared_size": 0, "unique_size": 10, "removal_frees": 0, "containers": 1,
            "labels": {}}),
    );
    check(
        ImageDetailDto {
            id: "sha256:ab".into(),
            config: json!({"Cmd": ["sh"]}),
            layers: vec![LayerDto {
                diff_id: "sha256:cd".into(),
                size: 5,
                refcount: 2,
            }],
            lost_tags: vec![LostTagDto {
                reference: "app:1".into(),
                until: 1_700_000_000,
                taken_by: "sha256:ef".into(),
            }],
            ..Default::default()
        },
        json!({"id": "sha256:ab", "repo_tags": [], "repo_digests": [], "parent": null,
            "created": null, "author": null, "comment": null, "architecture": "", "os": "",
            "config": {"Cmd": ["sh"]}, "history": [],
            "layers": [{"diff_id": "sha256:cd", "size": 5, "refcount": 2}],
            "size": 0, "shared_size": 0, "unique_size": 0, "containers": 0,
            "lost_tags": [{"reference": "app:1", "until": 1_700_000_000, "taken_by": "sha256:ef"}]}),
    );
    check(
        ContainerDto {
            id: "0123".into(),
            name: "c1".into(),
            command: vec!["sh".into()],
            state: "created".into(),
            ports: vec!["127.0.0.1:8080->80/tcp".into()],
            ..Default::default()
        },
        json!({"id": "0123", "name": "c1", "image": "", "image_name": "", "created": "",
            "command": ["sh"], "labels": {}, "size_rw": 0, "size_root_fs": 0, "state": "created",
            "exit_code": 0, "started": 0, "finished": 0, "tty": false, "open_stdin": false,
            "auto_remove": false, "changes": 0, "ports": ["127.0.0.1:8080->80/tcp"]}),
    );
}

/// The dashboard reads what an older or newer server sends: missing fields are empty.
#[test]
fn sparse_bodies_read_as_defaults() {
    fn empty<T: DeserializeOwned + Default + PartialEq + Debug>() {
        assert_eq!(serde_json::from_str::<T>("{}").unwrap(), T::default());
    }
    empty::<PlanDto>();
    empty::<BulkPlanDto>();
    empty::<LayerMapDto>();
    empty::<ImageDetailDto>();
    empty::<DiskUsageDto>();
    empty::<TreeDto>();
    empty::<ContainerDto>();
    empty::<CommitResultDto>();
    empty::<EventDto>();
    empty::<ErrorDto>();
    let p: PlanDto = serde_json::from_str(r#"{"conflict":"conflict: x","extra":1}"#).unwrap();
    assert_eq!(p.conflict.as_deref(), Some("conflict: x"));
    let t: TreeDto = serde_json::from_str(r#"{"merged":[{"path":"/a"}]}"#).unwrap();
    assert_eq!(t.merged[0].path, "/a");
    assert!(t.markers.is_empty());
    // an image summary needs its ID, nothing else
    let i: ImageSummaryDto = serde_json::from_str(r#"{"id":"sha256:ab"}"#).unwrap();
    assert!(i.dangling() && !i.in_use());
    assert!(serde_json::from_str::<ImageSummaryDto>("{}").is_err());
}

/// Request bodies keep their required fields, so the server refuses a body without them.
#[test]
fn requests_need_their_fields() {
    assert!(serde_json::from_str::<TagRequest>("{}").is_err());
    assert!(serde_json::from_str::<CreateContainerRequest>("{}").is_err());
    let c: CreateContainerRequest = serde_json::from_str(r#"{"image":"bb:1"}"#).unwrap();
    assert_eq!(c.name, None);
    assert!(c.ports.is_empty(), "no ports published unless asked");
    let c: CommitRequest = serde_json::from_str("{}").unwrap();
    assert_eq!(c, CommitRequest::default());
}
