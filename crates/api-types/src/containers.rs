//! Containers: the container, its diff, creating and committing it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A container (image + writable layer; it never runs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateContainerRequest {
    /// Image name or ID.
    pub image: String,
    /// Name; generated when absent.
    pub name: Option<String>,
}

/// One line of a container diff.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ChangeDto {
    /// `/`-rooted path.
    pub path: String,
    /// `A`dded, `C`hanged or `D`eleted.
    pub kind: String,
}

/// `POST /api/containers/{id}/commit` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct CommitResultDto {
    /// `sha256:…`.
    pub id: String,
}
