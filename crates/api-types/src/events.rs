//! The dashboard's event stream, `GET /api/events`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One engine event as the dashboard receives it (the `data:` of an SSE message).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct EventDto {
    /// `image`, `container` or `layer`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// `tag`, `untag`, `delete`, `import`, `load`, `create`, `destroy`, `commit`, `change`, …
    #[serde(rename = "Action")]
    pub action: String,
    /// The object: an image ID, a reference, a container ID or a layer digest.
    #[serde(rename = "ID")]
    pub id: String,
    /// Extra facts (`name`, `image`, `path`, …).
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
    /// Unix nanoseconds.
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}
