//! moby's `ImageInspect`.

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
    if let Some(created) = &c.created {
        m.insert("Created".into(), json!(created));
    }
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
