//! The dashboard API's JSON shapes as the browser reads them (`server/src/api/dto.rs` writes
//! them). Every field has a default, so a field the server adds later or drops does not break
//! a page; what a page needs and does not get shows as empty, not as a crash.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One layer of an image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct LayerDto {
    /// `sha256:` of the uncompressed tar.
    pub diff_id: String,
    /// Uncompressed bytes.
    pub size: u64,
    /// How many images use this layer.
    pub refcount: u64,
}

/// `GET /api/layers`: every layer with its refcount, and each image's stack (base first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct LayerMapDto {
    /// Every stored layer.
    pub layers: Vec<LayerDto>,
    /// Image ID → diff IDs, base first.
    pub images: BTreeMap<String, Vec<String>>,
}

/// One history step, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct HistoryDto {
    /// The local image of this step.
    pub id: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// The command.
    pub created_by: String,
    /// Familiar tags of `id`.
    pub tags: Vec<String>,
    /// Layer bytes.
    pub size: u64,
    /// Comment.
    pub comment: String,
    /// A step that added no layer.
    pub empty_layer: bool,
}

/// `GET /api/images/{name}`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ImageDetailDto {
    /// `sha256:…`.
    pub id: String,
    /// Tags.
    pub repo_tags: Vec<String>,
    /// Digest references.
    pub repo_digests: Vec<String>,
    /// Local parent.
    pub parent: Option<String>,
    /// RFC 3339.
    pub created: Option<String>,
    /// Author.
    pub author: Option<String>,
    /// Comment.
    pub comment: Option<String>,
    /// Architecture.
    pub architecture: String,
    /// OS.
    pub os: String,
    /// Docker's `Config` object (`Env`, `Cmd`, …), or null.
    pub config: Value,
    /// History, newest first.
    pub history: Vec<HistoryDto>,
    /// Layers, base first.
    pub layers: Vec<LayerDto>,
    /// Bytes of the distinct layers.
    pub size: u64,
    /// Shared part of `size`.
    pub shared_size: u64,
    /// Unique part of `size`.
    pub unique_size: u64,
    /// Containers using it.
    pub containers: u64,
}

/// One line of an `rmi` / `prune` plan.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanEvent {
    /// A reference is removed.
    Untagged(String),
    /// An image is deleted.
    Deleted(String),
}

/// What an `rmi` or `prune` removes (a preview), or removed (the answer to executing it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PlanDto {
    /// Lines in moby's order.
    pub events: Vec<PlanEvent>,
    /// References removed.
    pub untag: Vec<String>,
    /// Images deleted.
    pub delete_images: Vec<String>,
    /// Layers deleted.
    pub delete_layers: Vec<String>,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Why the operation would be refused.
    pub conflict: Option<String>,
}

/// `GET /api/rmi-plan?name=…`: several removals planned in order, each on what the ones
/// before it leave.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct BulkPlanDto {
    /// One plan per name, in order.
    pub items: Vec<BulkItemDto>,
    /// The removable names together.
    pub total: PlanDto,
}

/// One name of a [`BulkPlanDto`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct BulkItemDto {
    /// The name as given.
    pub name: String,
    /// Its plan, after the names before it.
    pub plan: PlanDto,
}

/// One image of `GET /api/disk-usage`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ImageUsageDto {
    /// ID.
    pub id: String,
    /// Tags.
    pub repo_tags: Vec<String>,
    /// Unix seconds.
    pub created: i64,
    /// Size.
    pub size: u64,
    /// Shared.
    pub shared_size: u64,
    /// Unique.
    pub unique_size: u64,
    /// Containers.
    pub containers: u64,
}

/// `GET /api/disk-usage`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DiskUsageDto {
    /// Every stored layer once.
    pub layers_size: u64,
    /// Images.
    pub images: Vec<ImageUsageDto>,
    /// Images in use.
    pub active: u64,
    /// What `image prune -a` could free.
    pub reclaimable: u64,
    /// Number of containers.
    pub containers: u64,
}

/// A hard link's source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct LinkDto {
    /// Layer.
    pub layer: usize,
    /// `/`-rooted path.
    pub path: String,
}

/// One path of the merged view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct MergedDto {
    /// `/`-rooted path.
    pub path: String,
    /// `file`, `dir`, …
    pub kind: String,
    /// File bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Unix seconds.
    pub mtime: i64,
    /// Providing layer.
    pub provider: usize,
    /// A directory no layer lists.
    pub implied: bool,
    /// Hard-link source.
    pub link: Option<LinkDto>,
    /// Link target.
    pub target: Option<String>,
}

/// A hidden version of a path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ShadowedDto {
    /// Layer.
    pub layer: usize,
    /// Kind.
    pub kind: String,
    /// File bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
}

/// A whiteout or opaque marker (not sent by the server yet: see the report in `tree`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct MarkerDto {
    /// Layer.
    pub layer: usize,
    /// `whiteout` or `opaque`.
    pub kind: String,
    /// `/`-rooted path the marker is on.
    pub path: String,
}

/// One layer of a union view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TreeLayerDto {
    /// 0-based.
    pub index: usize,
    /// Diff ID, or `writable`.
    pub label: String,
    /// `[path, "A"|"M"|"R"]`.
    pub changes: Vec<(String, String)>,
}

/// A wasteful path.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct InefficiencyDto {
    /// `/`-rooted.
    pub path: String,
    /// Bytes of every copy.
    pub cumulative_size: u64,
    /// Smallest copy.
    pub minimum_size: u64,
    /// Layers.
    pub layers: Vec<usize>,
}

/// dive's numbers.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct EfficiencyDto {
    /// 0..1.
    pub score: f64,
    /// Wasted bytes.
    pub wasted_bytes: u64,
    /// All layers.
    pub size_bytes: u64,
    /// All but the base.
    pub user_size_bytes: u64,
    /// Wasteful paths.
    pub inefficient: Vec<InefficiencyDto>,
}

/// `GET /api/images/{name}/tree`, `GET /api/containers/{id}/tree`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TreeDto {
    /// Layers with their changes.
    pub layers: Vec<TreeLayerDto>,
    /// The merged view.
    pub merged: Vec<MergedDto>,
    /// Hidden versions per `/`-rooted path.
    pub shadowed: BTreeMap<String, Vec<ShadowedDto>>,
    /// Markers per `/`-rooted path, when the server sends them.
    pub markers: Option<BTreeMap<String, Vec<MarkerDto>>>,
    /// Waste.
    pub efficiency: EfficiencyDto,
}

/// A container.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ContainerDto {
    /// 64 hex.
    pub id: String,
    /// Name.
    pub name: String,
    /// Image ID.
    pub image: String,
    /// Image as named.
    pub image_name: String,
    /// RFC 3339.
    pub created: String,
    /// Entrypoint + Cmd.
    pub command: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Writable layer bytes.
    pub size_rw: u64,
    /// Image + writable bytes.
    pub size_root_fs: u64,
    /// `created`.
    pub state: String,
}

/// `{"id": …}` answers (commit).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct IdDto {
    /// The new object's ID.
    pub id: String,
}

/// One event of `GET /api/events`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct EventDto {
    /// `image`, `container`, `layer`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// `tag`, `untag`, `delete`, …
    #[serde(rename = "Action")]
    pub action: String,
    /// The object.
    #[serde(rename = "ID")]
    pub id: String,
    /// Extra facts.
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
    /// Unix nanoseconds.
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

impl EventDto {
    /// `image tag bb:2`, for the activity line.
    pub fn text(&self) -> String {
        let what = self
            .attributes
            .get("name")
            .cloned()
            .unwrap_or_else(|| docker_format::truncate_id(&self.id));
        let mut s = format!("{} {} {}", self.kind, self.action, what);
        if let Some(p) = self.attributes.get("path") {
            s.push(' ');
            s.push_str(p);
        }
        s
    }
}

/// Decodes a JSON body, naming what was asked for in the error.
pub fn decode<T: serde::de::DeserializeOwned>(what: &str, body: &str) -> Result<T, String> {
    serde_json::from_str(body).map_err(|e| format!("{what}: invalid response from server: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_decode() {
        let p: PlanDto = decode(
            "plan",
            r#"{"events":[{"untagged":"bb:1"},{"deleted":"sha256:ab"}],"untag":["bb:1"],
                "delete_images":["sha256:ab"],"delete_layers":["sha256:cd"],"bytes_freed":10,"conflict":null}"#,
        )
        .unwrap();
        assert_eq!(
            p.events,
            [
                PlanEvent::Untagged("bb:1".into()),
                PlanEvent::Deleted("sha256:ab".into())
            ]
        );
        assert_eq!(p.bytes_freed, 10);
        let p: PlanDto = decode("plan", r#"{"conflict":"conflict: unable to delete"}"#).unwrap();
        assert_eq!(p.conflict.as_deref(), Some("conflict: unable to delete"));
        assert!(decode::<PlanDto>("rmi plan", "[")
            .unwrap_err()
            .starts_with("rmi plan: invalid response"));
    }

    #[test]
    fn trees_decode() {
        let t: TreeDto = decode(
            "tree",
            r#"{"layers":[{"index":0,"label":"sha256:a","changes":[["/etc/passwd","A"]]}],
                "merged":[{"path":"/etc/passwd","kind":"file","size":5,"mode":420,"uid":0,"gid":0,
                  "mtime":0,"provider":0,"implied":false,"link":null,"target":null}],
                "shadowed":{},"efficiency":{"score":1.0,"wasted_bytes":0,"size_bytes":5,
                  "user_size_bytes":0,"inefficient":[]}}"#,
        )
        .unwrap();
        assert_eq!(t.layers[0].changes[0], ("/etc/passwd".into(), "A".into()));
        assert_eq!(t.merged[0].mode, 0o644);
        assert!(t.markers.is_none());
    }

    #[test]
    fn events_decode_and_read() {
        let e: EventDto = decode(
            "event",
            r#"{"Type":"image","Action":"tag","ID":"sha256:abcdefabcdef0000","Attributes":{"name":"bb:2"},"timeNano":1}"#,
        )
        .unwrap();
        assert_eq!(e.text(), "image tag bb:2");
        let e: EventDto = decode(
            "event",
            r#"{"Type":"container","Action":"change","ID":"0123456789abcdef","Attributes":{"path":"/etc/passwd"}}"#,
        )
        .unwrap();
        assert_eq!(e.text(), "container change 0123456789ab /etc/passwd");
    }
}
