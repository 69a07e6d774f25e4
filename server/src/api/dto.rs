//! The dashboard API's JSON types (snake_case), written by hand from the engine's types so
//! that no store type needs a wire derive. Each carries a `ToSchema` for the OpenAPI document.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Every error: Docker's shape, `{"message": "…"}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorDto {
    /// What went wrong, in the daemon's words.
    pub message: String,
}

/// `GET /api/health`.
#[derive(Serialize, ToSchema)]
pub struct HealthDto {
    /// Always `ok`.
    pub status: String,
}

/// One image as `docker images` sees it, with sharing facts.
#[derive(Serialize, ToSchema)]
pub struct ImageSummaryDto {
    /// `sha256:<64 hex>`.
    pub id: String,
    /// Parent image, for locally made images.
    pub parent: Option<String>,
    /// Familiar `name:tag` references.
    pub repo_tags: Vec<String>,
    /// Familiar `name@sha256:…` references.
    pub repo_digests: Vec<String>,
    /// Unix seconds.
    pub created: i64,
    /// Bytes of the image's distinct layers.
    pub size: u64,
    /// The part of `size` other images share.
    pub shared_size: u64,
    /// `size - shared_size`.
    pub unique_size: u64,
    /// Containers created from the image.
    pub containers: u64,
    /// Config labels.
    pub labels: BTreeMap<String, String>,
}

impl From<&image_store::ImageSummary> for ImageSummaryDto {
    fn from(s: &image_store::ImageSummary) -> Self {
        ImageSummaryDto {
            id: s.id.to_string(),
            parent: s.parent.as_ref().map(|p| p.to_string()),
            repo_tags: s.repo_tags.clone(),
            repo_digests: s.repo_digests.clone(),
            created: s.created,
            size: s.size,
            shared_size: s.shared_size,
            unique_size: s.unique_size,
            containers: s.containers,
            labels: s.labels.clone(),
        }
    }
}

/// One layer of an image.
#[derive(Serialize, ToSchema)]
pub struct LayerDto {
    /// `sha256:` of the uncompressed tar.
    pub diff_id: String,
    /// Uncompressed bytes.
    pub size: u64,
    /// How many images use this layer.
    pub refcount: u64,
}

/// One history step, newest first.
#[derive(Serialize, ToSchema)]
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
#[derive(Serialize, ToSchema)]
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
    #[schema(value_type = Object)]
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
}

/// `POST /api/images/{name}/tag` body.
#[derive(Deserialize, ToSchema)]
pub struct TagRequest {
    /// `repo[:tag]`; `:latest` when no tag.
    pub target: String,
}

/// What a tag did.
#[derive(Serialize, ToSchema)]
pub struct TagResultDto {
    /// The image tagged.
    pub image: String,
    /// The image the tag pointed at before, when it moved.
    pub previous: Option<String>,
}

/// One line of `rmi` / `prune` output.
#[derive(Serialize, ToSchema, Clone)]
#[serde(rename_all = "snake_case")]
pub enum RmiEventDto {
    /// A reference was removed (familiar string).
    Untagged(String),
    /// An image was deleted (`sha256:…`).
    Deleted(String),
}

/// What an `rmi` or `prune` removes (or removed).
#[derive(Serialize, ToSchema, Default)]
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

impl From<&image_store::RmiPlan> for PlanDto {
    fn from(p: &image_store::RmiPlan) -> Self {
        PlanDto {
            events: p
                .events
                .iter()
                .map(|e| match e {
                    image_store::RmiEvent::Untagged(r) => RmiEventDto::Untagged(r.clone()),
                    image_store::RmiEvent::Deleted(d) => RmiEventDto::Deleted(d.to_string()),
                })
                .collect(),
            untag: p.untag.iter().map(|r| r.familiar_string()).collect(),
            delete_images: p.delete_images.iter().map(|d| d.to_string()).collect(),
            delete_layers: p.delete_layers.iter().map(|d| d.to_string()).collect(),
            bytes_freed: p.bytes_freed,
            conflict: None,
        }
    }
}

/// `GET /api/rmi-plan`: removing several images, planned in the order given, each on the
/// store the ones before it leave, so the bytes add up to exactly what the removal frees.
#[derive(Serialize, ToSchema, Default)]
pub struct BulkPlanDto {
    /// One plan per name, in order; a name that cannot go has its reason in `conflict` and is
    /// skipped.
    pub items: Vec<BulkItemDto>,
    /// Everything the removable names do together.
    pub total: PlanDto,
}

/// One name of a [`BulkPlanDto`].
#[derive(Serialize, ToSchema, Default)]
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
#[derive(Serialize, ToSchema)]
pub struct LayerMapDto {
    /// Every stored layer.
    pub layers: Vec<LayerUsageDto>,
    /// Image ID → its layers' diff IDs, base first.
    pub images: BTreeMap<String, Vec<String>>,
}

/// One layer of a [`LayerMapDto`].
#[derive(Serialize, ToSchema)]
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
#[derive(Serialize, ToSchema)]
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
#[derive(Serialize, ToSchema)]
pub struct DiskUsageDto {
    /// Bytes of all stored layers, each counted once.
    pub layers_size: u64,
    /// Images (intermediates hidden), newest first.
    pub images: Vec<ImageUsageDto>,
    /// Images at least one container uses.
    pub active: u64,
    /// Bytes an `image prune -a` could free (the CLI's formula).
    pub reclaimable: u64,
    /// Number of containers.
    pub containers: u64,
}

/// A hard link's source in a union view.
#[derive(Serialize, ToSchema)]
pub struct LinkDto {
    /// Layer index (0 = bottom).
    pub layer: u64,
    /// `/`-rooted path.
    pub path: String,
}

/// One path of the merged view.
#[derive(Serialize, ToSchema)]
pub struct MergedDto {
    /// `/`-rooted path (`/` for the root).
    pub path: String,
    /// `file`, `dir`, `symlink`, `hardlink`, `char`, `block`, `fifo`.
    pub kind: String,
    /// File bytes (0 otherwise).
    pub size: u64,
    /// Permission bits (`mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Unix seconds.
    pub mtime: i64,
    /// The layer (0-based, bottom first) that provides the entry.
    pub provider: u64,
    /// A directory no layer lists (needed by a deeper path).
    pub implied: bool,
    /// For hard links: where the inode comes from.
    pub link: Option<LinkDto>,
    /// For symlinks and hard links: the target as written.
    pub target: Option<String>,
}

/// A version of a path the merged view does not show.
#[derive(Serialize, ToSchema)]
pub struct ShadowedDto {
    /// The layer that provided it.
    pub layer: u64,
    /// Its kind.
    pub kind: String,
    /// File bytes (0 otherwise).
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
}

/// A whiteout or opaque marker a layer put on a path.
#[derive(Serialize, ToSchema)]
pub struct MarkerDto {
    /// The layer (0-based).
    pub layer: u64,
    /// `whiteout` (the path is deleted from the layers below) or `opaque` (the directory's
    /// lower children are hidden).
    pub kind: String,
    /// `/`-rooted path the marker is on.
    pub path: String,
}

/// One layer of a union view.
#[derive(Serialize, ToSchema)]
pub struct TreeLayerDto {
    /// 0-based, bottom first.
    pub index: u64,
    /// The layer's diff ID, or `writable` for a container's layer.
    pub label: String,
    /// What the layer did: `[path, "A"|"M"|"R"]` pairs (Added, Modified, Removed).
    #[schema(value_type = Vec<Vec<String>>)]
    pub changes: Vec<(String, String)>,
}

/// A path seen in more than one layer.
#[derive(Serialize, ToSchema)]
pub struct InefficiencyDto {
    /// `/`-rooted path.
    pub path: String,
    /// Bytes of every occurrence.
    pub cumulative_size: u64,
    /// Bytes of the smallest occurrence.
    pub minimum_size: u64,
    /// The layers it occurs in.
    pub layers: Vec<u64>,
}

/// dive's efficiency numbers.
#[derive(Serialize, ToSchema)]
pub struct EfficiencyDto {
    /// 0..1; 1 when nothing is wasted.
    pub score: f64,
    /// Bytes of paths stored more than once.
    pub wasted_bytes: u64,
    /// Bytes of all layers.
    pub size_bytes: u64,
    /// Bytes of all layers but the base.
    pub user_size_bytes: u64,
    /// The wasteful paths, largest first.
    pub inefficient: Vec<InefficiencyDto>,
}

/// `GET /api/images/{name}/tree` and `GET /api/containers/{id}/tree`: the union view.
#[derive(Serialize, ToSchema)]
pub struct TreeDto {
    /// Layers, bottom first, with what each changed.
    pub layers: Vec<TreeLayerDto>,
    /// The merged view, in tree order.
    pub merged: Vec<MergedDto>,
    /// Per path (`/`-rooted), the versions lower layers hold that the merged view hides.
    pub shadowed: BTreeMap<String, Vec<ShadowedDto>>,
    /// Per path (`/`-rooted), the whiteouts and opaque markers on exactly that path.
    pub markers: BTreeMap<String, Vec<MarkerDto>>,
    /// Wasted space.
    pub efficiency: EfficiencyDto,
}

/// A container (image + writable layer; it never runs).
#[derive(Serialize, ToSchema)]
pub struct ContainerDto {
    /// 64 hex.
    pub id: String,
    /// Name, without a leading `/`.
    pub name: String,
    /// Image ID.
    pub image: String,
    /// The image as named at create.
    pub image_name: String,
    /// RFC 3339.
    pub created: String,
    /// Entrypoint + Cmd.
    pub command: Vec<String>,
    /// Labels (from the image).
    pub labels: BTreeMap<String, String>,
    /// Bytes of the writable layer.
    pub size_rw: u64,
    /// Bytes of image + writable layer.
    pub size_root_fs: u64,
    /// Always `created`.
    pub state: String,
}

/// `POST /api/containers` body.
#[derive(Deserialize, ToSchema)]
pub struct CreateContainerRequest {
    /// Image name or ID.
    pub image: String,
    /// Name; generated when absent.
    pub name: Option<String>,
}

/// One line of a container diff.
#[derive(Serialize, ToSchema)]
pub struct ChangeDto {
    /// `/`-rooted path.
    pub path: String,
    /// `A`dded, `C`hanged or `D`eleted.
    pub kind: String,
}

/// `POST /api/containers/{id}/commit` body.
#[derive(Deserialize, ToSchema, Default)]
pub struct CommitRequest {
    /// `repo[:tag]` for the new image; none leaves it dangling.
    pub reference: Option<String>,
    /// Commit message.
    pub message: Option<String>,
    /// Author.
    pub author: Option<String>,
    /// Dockerfile instructions (`CMD ["sh"]`, `ENV A=b`, …).
    #[serde(default)]
    pub changes: Vec<String>,
}

/// The new image of a commit.
#[derive(Serialize, ToSchema)]
pub struct CommitResultDto {
    /// `sha256:…`.
    pub id: String,
}
