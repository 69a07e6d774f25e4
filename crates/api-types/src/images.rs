//! Images: the list, one image's details, tagging, `rmi`/`prune` plans, the layer map and disk
//! usage.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One image as `docker images` sees it, with sharing facts.
// Every field but `id` defaults when missing: an entry without an ID is not an image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageSummaryDto {
    /// `sha256:<64 hex>`.
    pub id: String,
    /// Parent image, for locally made images.
    #[serde(default)]
    pub parent: Option<String>,
    /// Familiar `name:tag` references.
    #[serde(default)]
    pub repo_tags: Vec<String>,
    /// Familiar `name@sha256:…` references.
    #[serde(default)]
    pub repo_digests: Vec<String>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    /// Bytes of the image's distinct layers.
    #[serde(default)]
    pub size: u64,
    /// The part of `size` other images share.
    #[serde(default)]
    pub shared_size: u64,
    /// `size - shared_size`.
    #[serde(default)]
    pub unique_size: u64,
    /// The bytes removing the image alone frees on disk, exactly what its removal's plan
    /// (`bytes_freed`) says: its config and manifest and its unshared layers as stored; 0 while
    /// a container uses it. The dashboard's UNIQUE.
    #[serde(default)]
    pub removal_frees: u64,
    /// Containers created from the image.
    #[serde(default)]
    pub containers: u64,
    /// Config labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl ImageSummaryDto {
    /// No tag: `<none>:<none>`.
    pub fn dangling(&self) -> bool {
        self.repo_tags.is_empty()
    }

    /// A container uses it.
    pub fn in_use(&self) -> bool {
        self.containers > 0
    }
}

/// One layer of an image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct LayerDto {
    /// `sha256:` of the uncompressed tar.
    pub diff_id: String,
    /// Uncompressed bytes.
    pub size: u64,
    /// How many images use this layer.
    pub refcount: u64,
}

/// One history step, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct HistoryDto {
    /// The local image of this step, if any (`<missing>` in `docker history`).
    pub id: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// The command.
    pub created_by: String,
    /// Familiar tags of `id`.
    pub tags: Vec<String>,
    /// Layer bytes (0 for metadata-only steps).
    pub size: u64,
    /// Comment.
    pub comment: String,
    /// True for a step that added no layer.
    pub empty_layer: bool,
}

/// `GET /api/images/{name}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ImageDetailDto {
    /// `sha256:<64 hex>`.
    pub id: String,
    /// Familiar `name:tag` references.
    pub repo_tags: Vec<String>,
    /// Familiar `name@sha256:…` references.
    pub repo_digests: Vec<String>,
    /// Local parent image.
    pub parent: Option<String>,
    /// RFC 3339 creation time.
    pub created: Option<String>,
    /// Author.
    pub author: Option<String>,
    /// Comment (the config's, or the last history step's).
    pub comment: Option<String>,
    /// `amd64`, `arm64`, …
    pub architecture: String,
    /// `linux`.
    pub os: String,
    /// The process configuration (Docker's `Config`: `Env`, `Cmd`, `Entrypoint`, …), or null.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: Value,
    /// History, newest first.
    pub history: Vec<HistoryDto>,
    /// Layers, base first.
    pub layers: Vec<LayerDto>,
    /// Bytes of the distinct layers.
    pub size: u64,
    /// The part of `size` other images share.
    pub shared_size: u64,
    /// `size - shared_size`.
    pub unique_size: u64,
    /// Containers created from the image.
    pub containers: u64,
    /// The tags the image lost, newest first: how a dangling image became one.
    pub lost_tags: Vec<LostTagDto>,
}

/// A tag an image lost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct LostTagDto {
    /// Familiar `name:tag`.
    pub reference: String,
    /// Unix seconds when it was lost.
    pub until: i64,
    /// The image the tag moved to (`sha256:…`); empty when the tag was removed.
    pub taken_by: String,
}

/// `POST /api/images/{name}/tag` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagRequest {
    /// `repo[:tag]`; `:latest` when no tag.
    pub target: String,
}

/// What a tag did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct TagResultDto {
    /// The image tagged.
    pub image: String,
    /// The image the tag pointed at before, when it moved.
    pub previous: Option<String>,
}

/// One line of `rmi` / `prune` output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RmiEventDto {
    /// A reference was removed (familiar string).
    Untagged(String),
    /// An image was deleted (`sha256:…`).
    Deleted(String),
}

/// What an `rmi` or `prune` removes (or removed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct PlanDto {
    /// The output lines, in moby's order.
    pub events: Vec<RmiEventDto>,
    /// References removed (familiar strings).
    pub untag: Vec<String>,
    /// Images deleted.
    pub delete_images: Vec<String>,
    /// Layers (diff IDs) deleted.
    pub delete_layers: Vec<String>,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// For a plan only: why the operation would be refused (then nothing else is set).
    pub conflict: Option<String>,
}

/// `GET /api/rmi-plan`: removing several images, planned in the order given, each on the
/// store the ones before it leave, so the bytes add up to exactly what the removal frees.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct BulkPlanDto {
    /// One plan per name, in order; a name that cannot go has its reason in `conflict` and is
    /// skipped.
    pub items: Vec<BulkItemDto>,
    /// Everything the removable names do together.
    pub total: PlanDto,
}

/// One name of a [`BulkPlanDto`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct BulkItemDto {
    /// The name as given.
    pub name: String,
    /// What removing it does after the names before it.
    pub plan: PlanDto,
}

impl BulkPlanDto {
    /// Items in order, and their sum (refused items left out).
    pub fn new(items: Vec<BulkItemDto>) -> BulkPlanDto {
        let mut total = PlanDto::default();
        for p in items
            .iter()
            .map(|i| &i.plan)
            .filter(|p| p.conflict.is_none())
        {
            total.events.extend(p.events.iter().cloned());
            total.untag.extend(p.untag.iter().cloned());
            total.delete_images.extend(p.delete_images.iter().cloned());
            total.delete_layers.extend(p.delete_layers.iter().cloned());
            total.bytes_freed += p.bytes_freed;
        }
        BulkPlanDto { items, total }
    }
}

/// `GET /api/layers`: every layer with its refcount, and each image's stack (base first) —
/// the images × layers matrix in one answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct LayerMapDto {
    /// Every stored layer.
    pub layers: Vec<LayerUsageDto>,
    /// Image ID → its layers' diff IDs, base first.
    pub images: BTreeMap<String, Vec<String>>,
}

/// One layer of a [`LayerMapDto`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct LayerUsageDto {
    /// `sha256:` of the uncompressed tar.
    pub diff_id: String,
    /// Uncompressed bytes.
    pub size: u64,
    /// Bytes it takes in the store.
    pub stored_bytes: u64,
    /// How many images use it.
    pub refcount: u64,
}

/// One image's line of `system df -v`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ImageUsageDto {
    /// `sha256:…`.
    pub id: String,
    /// Familiar `repo:tag` references.
    pub repo_tags: Vec<String>,
    /// Unix seconds.
    pub created: i64,
    /// Bytes of the distinct layers.
    pub size: u64,
    /// The part of `size` other images share.
    pub shared_size: u64,
    /// `size - shared_size`.
    pub unique_size: u64,
    /// Containers created from the image.
    pub containers: u64,
}

/// `GET /api/disk-usage`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct DiskUsageDto {
    /// Size of all stored layers, each counted once, as Docker measures it (what the image
    /// rows add up from).
    pub layers_size: u64,
    /// Bytes the store occupies: layers as stored (pulled ones compressed), configs, manifests.
    pub stored_bytes: u64,
    /// Images (intermediates hidden), newest first.
    pub images: Vec<ImageUsageDto>,
    /// Images at least one container uses.
    pub active: u64,
    /// Bytes an `image prune -a` could free (the CLI's formula).
    pub reclaimable: u64,
    /// Number of containers.
    pub containers: u64,
}
