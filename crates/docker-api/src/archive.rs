//! The `manifest.json` of a `docker save` archive (the body of `GET /images/get`), which
//! `save` writes and `load` reads.

use oci_model::Descriptor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One item of a Docker archive's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchiveItem {
    /// The config's path in the archive.
    #[serde(rename = "Config")]
    pub config: String,
    /// The familiar `name:tag`s saved with the image (`null` when saved by ID).
    #[serde(rename = "RepoTags")]
    pub repo_tags: Option<Vec<String>>,
    /// The layers' paths in the archive, bottom first.
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
    /// The local parent image, when saved with it.
    #[serde(rename = "Parent", default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Where each layer came from (foreign layers), by the layer's path.
    #[serde(
        rename = "LayerSources",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub layer_sources: Option<BTreeMap<String, Descriptor>>,
}
