//! moby's image shapes: `ImageInspect`, `ImageSummary`, history rows, the delete and prune
//! reports and the images part of `system df`.

use image_store::{DiskUsage, ImageSummary, RmiEvent};
use oci_model::{Digest, ImageConfig};
use serde_json::{json, Value};

/// What the store knows about an image, as `image_inspect` needs it.
#[derive(Debug, Clone, Copy)]
pub struct ImageFacts<'a> {
    /// Image ID.
    pub id: &'a Digest,
    /// Familiar `name:tag`s.
    pub repo_tags: &'a [String],
    /// Familiar `name@digest`s.
    pub repo_digests: &'a [String],
    /// Local parent.
    pub parent: Option<&'a Digest>,
    /// Docker's size of the image (its layers' sizes added up).
    pub size: u64,
    /// The image's config.
    pub config: &'a ImageConfig,
}

/// Docker's `ImageInspect` JSON (API 1.50 shape), as `docker image inspect` prints it and
/// `GET /images/{name}/json` answers.
pub fn image_inspect(d: &ImageFacts<'_>) -> Value {
    let c = d.config;
    let comment = c
        .comment
        .clone()
        .or_else(|| c.history.last().and_then(|h| h.comment.clone()))
        .unwrap_or_default();
    let mut v = json!({
        "Id": d.id.to_string(),
        "RepoTags": d.repo_tags,
        "RepoDigests": d.repo_digests,
        "Parent": d.parent.map(|p| p.to_string()).unwrap_or_default(),
        "Comment": comment,
    });
    let m = v.as_object_mut().expect("object");
    // Go's zero time when the config has none, as moby's inspect answers.
    m.insert(
        "Created".into(),
        json!(c.created.as_deref().unwrap_or("0001-01-01T00:00:00Z")),
    );
    m.insert(
        "DockerVersion".into(),
        c.extra.get("docker_version").cloned().unwrap_or(json!("")),
    );
    m.insert("Author".into(), json!(c.author.clone().unwrap_or_default()));
    m.insert(
        "Config".into(),
        serde_json::to_value(&c.config).expect("config serialises"),
    );
    m.insert("Architecture".into(), json!(c.architecture));
    if let Some(v) = &c.variant {
        m.insert("Variant".into(), json!(v));
    }
    m.insert("Os".into(), json!(c.os));
    m.insert("Size".into(), json!(d.size));
    m.insert(
        "GraphDriver".into(),
        json!({"Data": null, "Name": "strata"}),
    );
    m.insert(
        "RootFS".into(),
        json!({
            "Type": "layers",
            "Layers": c.rootfs.diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        }),
    );
    m.insert("Metadata".into(), json!({}));
    v
}

/// moby's `ImageSummary` (API ≥ 1.44 shape) for `GET /images/json`: `Containers` and
/// `SharedSize` are -1 unless the client asked for them (`shared-size`).
pub fn image_summary(s: &ImageSummary, with_shared: bool) -> Value {
    json!({
        "Containers": if with_shared { s.containers as i64 } else { -1 },
        "Created": s.created,
        "Id": s.id.to_string(),
        "Labels": if s.labels.is_empty() { Value::Null } else { json!(s.labels) },
        "ParentId": s.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
        "RepoDigests": s.repo_digests,
        "RepoTags": s.repo_tags,
        "SharedSize": if with_shared { s.shared_size as i64 } else { -1 },
        "Size": s.size,
    })
}

/// moby's `ImageDeleteResponseItem`s: `[{"Untagged": ref}, {"Deleted": id}, …]`, the body of
/// `DELETE /images/{name}`.
pub fn image_delete_items(events: &[RmiEvent]) -> Value {
    Value::Array(
        events
            .iter()
            .map(|e| match e {
                RmiEvent::Untagged(r) => json!({ "Untagged": r }),
                RmiEvent::Deleted(d) => json!({ "Deleted": d.to_string() }),
            })
            .collect(),
    )
}

/// moby's `ImagesPruneReport`: `ImagesDeleted` (null when nothing went) and
/// `SpaceReclaimed` in bytes.
pub fn images_prune_report(events: &[RmiEvent], bytes_freed: u64) -> Value {
    let deleted = if events.is_empty() {
        Value::Null
    } else {
        image_delete_items(events)
    };
    json!({ "ImagesDeleted": deleted, "SpaceReclaimed": bytes_freed })
}

/// moby's `DiskUsage` for `GET /system/df`: the images part from the store's `system df`,
/// the containers as their summaries (with sizes), no volumes, no build cache.
pub fn disk_usage(du: &DiskUsage, containers: Vec<Value>) -> Value {
    let images: Vec<Value> = du
        .images
        .iter()
        .map(|i| {
            json!({
                "Containers": i.containers, "Created": i.created, "Id": i.id.to_string(), "Labels": Value::Null,
                "ParentId": "", "RepoDigests": [], "RepoTags": i.repo_tags, "SharedSize": i.shared_size,
                "Size": i.size,
            })
        })
        .collect();
    json!({ "LayersSize": du.layers_size, "Images": images, "Containers": containers, "Volumes": [], "BuildCache": [] })
}

/// One row of `docker history`, as the engine knows it.
#[derive(Debug, Clone, Copy)]
pub struct HistoryFacts<'a> {
    /// The local image of this step (`None`: `<missing>`).
    pub id: Option<&'a Digest>,
    /// Unix seconds.
    pub created: i64,
    /// The command.
    pub created_by: &'a str,
    /// Familiar tags of `id`.
    pub tags: &'a [String],
    /// Layer bytes (0 for metadata-only steps).
    pub size: u64,
    /// Comment.
    pub comment: &'a str,
}

/// moby's `HistoryResponseItem`, the rows of `GET /images/{name}/history`.
pub fn history_item(h: &HistoryFacts<'_>) -> Value {
    json!({
        "Id": h.id.map(|d| d.to_string()).unwrap_or_else(|| "<missing>".into()),
        "Created": h.created, "CreatedBy": h.created_by,
        "Tags": if h.tags.is_empty() { Value::Null } else { json!(h.tags) },
        "Size": h.size, "Comment": h.comment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).expect("JSON")
    }

    fn digest(c: char) -> Digest {
        format!("sha256:{}", c.to_string().repeat(64))
            .parse()
            .unwrap()
    }

    #[test]
    fn delete_items_and_prune_report() {
        let events = [
            RmiEvent::Untagged("bb:1".into()),
            RmiEvent::Deleted(digest('b')),
        ];
        let b = "b".repeat(64);
        assert_eq!(
            image_delete_items(&events),
            parse(&format!(
                r#"[{{"Untagged":"bb:1"}},{{"Deleted":"sha256:{b}"}}]"#
            ))
        );
        assert_eq!(
            images_prune_report(&events, 42),
            parse(&format!(
                r#"{{"ImagesDeleted":[{{"Untagged":"bb:1"}},{{"Deleted":"sha256:{b}"}}],"SpaceReclaimed":42}}"#
            ))
        );
        assert_eq!(
            images_prune_report(&[], 0),
            parse(r#"{"ImagesDeleted":null,"SpaceReclaimed":0}"#)
        );
    }

    #[test]
    fn summary_hides_shared_facts_unless_asked() {
        let s = ImageSummary {
            id: digest('a'),
            parent: None,
            repo_tags: vec!["bb:1".into()],
            repo_digests: vec![],
            created: 7,
            size: 10,
            shared_size: 4,
            unique_size: 6,
            removal_frees: 0,
            containers: 2,
            labels: Default::default(),
        };
        let v = image_summary(&s, false);
        assert_eq!(
            (v["Containers"].as_i64(), v["SharedSize"].as_i64()),
            (Some(-1), Some(-1))
        );
        assert_eq!(v["Labels"], Value::Null);
        let v = image_summary(&s, true);
        assert_eq!(
            (v["Containers"].as_i64(), v["SharedSize"].as_i64()),
            (Some(2), Some(4))
        );
        assert_eq!(v["ParentId"], "");
    }
}
