//! `history` and `inspect`: an image's config read back with its store facts.

use crate::{Engine, EngineError, Result};
use image_store::StoreView;
use oci_model::{Digest, ImageConfig};
use serde_json::{json, Value};

/// One `history` row, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryItem {
    /// The image of this step when it exists locally (`None` prints as `<missing>`).
    pub id: Option<Digest>,
    /// Unix seconds.
    pub created: i64,
    /// The command.
    pub created_by: String,
    /// Familiar tags of `id`.
    pub tags: Vec<String>,
    /// Layer size (0 for metadata-only steps).
    pub size: u64,
    /// Comment.
    pub comment: String,
}

/// Everything `inspect` shows about an image.
#[derive(Debug, Clone)]
pub struct ImageDetails {
    /// Image ID.
    pub id: Digest,
    /// Familiar `name:tag`s.
    pub repo_tags: Vec<String>,
    /// Familiar `name@digest`s.
    pub repo_digests: Vec<String>,
    /// Local parent.
    pub parent: Option<Digest>,
    /// Total layer size.
    pub size: u64,
    /// The parsed config.
    pub config: ImageConfig,
    /// The config exactly as stored.
    pub raw_config: Vec<u8>,
}

impl ImageDetails {
    /// Docker's `ImageInspect` JSON (API 1.50 shape), as `docker image inspect` prints it.
    pub fn docker_json(&self) -> Value {
        let d = self;
        let c = &d.config;
        let comment = c
            .comment
            .clone()
            .or_else(|| c.history.last().and_then(|h| h.comment.clone()))
            .unwrap_or_default();
        let mut v = json!({
            "Id": d.id.to_string(),
            "RepoTags": d.repo_tags,
            "RepoDigests": d.repo_digests,
            "Parent": d.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
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
        json!({"Type": "layers", "Layers": c.rootfs.diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>()}),
    );
        m.insert("Metadata".into(), json!({}));
        v
    }
}

fn refs_of(view: &StoreView, id: &Digest) -> (Vec<String>, Vec<String>) {
    let mut tags = Vec::new();
    let mut digests = Vec::new();
    for t in view.tags.iter().filter(|t| &t.image == id) {
        if t.reference.digest().is_some() {
            digests.push(t.reference.familiar_string());
        } else {
            tags.push(t.reference.familiar_string());
        }
    }
    tags.sort();
    digests.sort();
    (tags, digests)
}

impl Engine {
    pub(crate) fn config_of(&self, id: &Digest) -> Result<(ImageConfig, Vec<u8>)> {
        let raw = self.blobs.read(id)?;
        let config = serde_json::from_slice(&raw)
            .map_err(|e| EngineError::invalid(format!("image {id}: unreadable config: {e}")))?;
        Ok((config, raw))
    }

    /// `inspect` of one image.
    pub fn inspect(&self, name: &str) -> Result<ImageDetails> {
        let view = self.view()?;
        let id = image_store::resolve(&view, name)?.id;
        let rec = view
            .images
            .iter()
            .find(|i| i.id == id)
            .expect("resolved image exists");
        let (config, raw_config) = self.config_of(&id)?;
        let (repo_tags, repo_digests) = refs_of(&view, &id);
        let size = rec
            .diff_ids
            .iter()
            .map(|d| view.layers.get(d).map_or(0, |l| l.content_size))
            .sum();
        Ok(ImageDetails {
            id: id.clone(),
            repo_tags,
            repo_digests,
            parent: rec.parent.clone(),
            size,
            config,
            raw_config,
        })
    }

    /// `history` of one image, newest first.
    pub fn history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        let view = self.view()?;
        let id = image_store::resolve(&view, name)?.id;
        let (config, _) = self.config_of(&id)?;
        let mut layer = 0;
        let mut rows = Vec::new();
        for h in &config.history {
            let size = if h.empty_layer {
                0
            } else {
                let d = config.rootfs.diff_ids.get(layer);
                layer += 1;
                d.and_then(|d| view.layers.get(d))
                    .map_or(0, |l| l.content_size)
            };
            rows.push(HistoryItem {
                id: None,
                created: crate::import::unix_of(h.created.as_deref()),
                created_by: h.created_by.clone().unwrap_or_default(),
                tags: Vec::new(),
                size,
                comment: h.comment.clone().unwrap_or_default(),
            });
        }
        rows.reverse();
        // As moby does: the newest rows take the image, its parent, its grandparent, …
        let mut cur = Some(id);
        for row in rows.iter_mut() {
            let Some(id) = cur.take() else { break };
            row.tags = refs_of(&view, &id).0;
            cur = view
                .images
                .iter()
                .find(|i| i.id == id)
                .and_then(|i| i.parent.clone());
            row.id = Some(id);
            if cur
                .as_ref()
                .is_some_and(|p| !view.images.iter().any(|i| &i.id == p))
            {
                cur = None;
            }
        }
        Ok(rows)
    }
}
