//! The union view of a layer stack: `GET /api/images/{name}/tree` and
//! `GET /api/containers/{id}/tree`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A hard link's source in a union view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct LinkDto {
    /// Layer index (0 = bottom).
    pub layer: u64,
    /// `/`-rooted path.
    pub path: String,
}

/// One path of the merged view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct TreeLayerDto {
    /// 0-based, bottom first.
    pub index: u64,
    /// The layer's diff ID, or `writable` for a container's layer.
    pub label: String,
    /// What the layer did: `[path, "A"|"M"|"R"]` pairs (Added, Modified, Removed).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<String>>))]
    pub changes: Vec<(String, String)>,
}

/// A path seen in more than one layer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
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

/// What one image shows at a path, in [`CompareDto`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct SideDto {
    /// The layer of that image (0 = bottom) that provides it.
    pub layer: u64,
    /// `file`, `dir`, `symlink`, `hardlink`, `char`, `block`, `fifo`.
    pub kind: String,
    /// File bytes (0 otherwise).
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// For symlinks and hard links: the target as written.
    pub target: Option<String>,
}

/// A path whose entry differs between the two images of a [`CompareDto`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct PathDiffDto {
    /// `/`-rooted path.
    pub path: String,
    /// `A` (only in the second image), `D` (only in the first) or `C` (in both, not the same).
    pub change: String,
    /// For `C`: what differs (`type`, `content`, `target`, `mode`, `owner`, `xattrs`).
    pub aspects: Vec<String>,
    /// What the first image shows there.
    pub a: Option<SideDto>,
    /// What the second image shows there.
    pub b: Option<SideDto>,
}

/// `GET /api/images/{name}/compare?with=<other>`: how two images' merged views differ, and
/// the base they share.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct CompareDto {
    /// The first image's ID.
    pub a: String,
    /// The second image's ID.
    pub b: String,
    /// The layers both stacks start with, the same in the same order: the shared base (they
    /// diverge at the next layer).
    pub shared_layers: u64,
    /// Paths only in the second image.
    pub added: u64,
    /// Paths only in the first image.
    pub removed: u64,
    /// Paths in both whose entries differ.
    pub changed: u64,
    /// The differing paths in tree order, the first `limit` of them.
    pub paths: Vec<PathDiffDto>,
    /// Whether `paths` stops short of `added + removed + changed`.
    pub truncated: bool,
}
