//! `history` and `inspect`: an image's config read back with its store facts.

use crate::{Engine, EngineError, Result};
use image_store::StoreView;
use oci_model::{Digest, ImageConfig};

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

/// What the dashboard's image page shows: [`ImageDetails`] with its history, its layers'
/// sizes and sharing, and how much of it is shared with other images.
#[derive(Debug, Clone)]
pub struct ImageDetail {
    /// `inspect`'s facts.
    pub details: ImageDetails,
    /// `history`, newest first, each row with whether its step made no layer.
    pub history: Vec<(HistoryItem, bool)>,
    /// The image's layers, base first.
    pub layers: Vec<LayerUse>,
    /// The config's comment, else its newest history step's.
    pub comment: Option<String>,
    /// Bytes of layers other images share (`docker system df -v`'s SHARED SIZE).
    pub shared_size: u64,
    /// Bytes of layers only this image has.
    pub unique_size: u64,
    /// Containers using the image.
    pub containers: u64,
}

/// One layer of an image and how many images use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerUse {
    /// Diff ID.
    pub diff_id: Digest,
    /// Docker's size of the layer (`content_size`).
    pub size: u64,
    /// Images (retained ones included) that have it.
    pub refcount: u64,
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

    /// An image as the dashboard's image page shows it (`GET /api/images/{name}`).
    pub fn image_detail(&self, name: &str) -> Result<ImageDetail> {
        let d = self.inspect(name)?;
        let rows = self.history(&d.id.to_string())?;
        let view = self.view()?;
        let counts = image_store::layer_refcounts(&view);
        let summary = image_store::list_images(
            &view,
            &image_store::ListOptions {
                all: true,
                filters: Vec::new(),
            },
        )?
        .into_iter()
        .find(|s| s.id == d.id);
        let c = &d.config;
        let mut empties: Vec<bool> = c.history.iter().map(|h| h.empty_layer).collect();
        empties.reverse();
        let history = rows
            .into_iter()
            .enumerate()
            .map(|(i, h)| (h, empties.get(i).copied().unwrap_or(false)))
            .collect();
        let layers = c
            .rootfs
            .diff_ids
            .iter()
            .map(|l| LayerUse {
                diff_id: l.clone(),
                size: view.layers.get(l).map_or(0, |r| r.content_size),
                refcount: counts.get(l).copied().unwrap_or(0) as u64,
            })
            .collect();
        let comment = c
            .comment
            .clone()
            .or_else(|| c.history.last().and_then(|h| h.comment.clone()));
        Ok(ImageDetail {
            history,
            layers,
            comment,
            shared_size: summary.as_ref().map_or(0, |s| s.shared_size),
            unique_size: summary.as_ref().map_or(d.size, |s| s.unique_size),
            containers: summary.as_ref().map_or(0, |s| s.containers),
            details: d,
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

/// A tag an image lost (what `Engine::lost_tags` lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostTag {
    /// The familiar reference (`app:latest`).
    pub reference: String,
    /// Unix seconds.
    pub until: i64,
    /// The image the tag moved to; `None` when it was removed.
    pub taken_by: Option<String>,
}

impl Engine {
    /// The tags image `id` lost, newest first: why a dangling image is one (a build or a pull
    /// took its tag to another image, or an `rmi` removed it).
    pub fn lost_tags(&self, id: &oci_model::Digest) -> Result<Vec<LostTag>> {
        let rows = self.db().lost_tags(id)?;
        Ok(rows
            .into_iter()
            .map(|(reference, until, taken_by)| LostTag {
                reference: image_ref::Reference::parse_normalized(&reference)
                    .map(|r| r.familiar_string())
                    .unwrap_or(reference),
                until,
                taken_by,
            })
            .collect())
    }
}
