//! Containers: the container, its diff, creating and committing it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A container: an image, its writable layer, and the process that may run in it.
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
    /// Docker's `State.Status`: `created`, `running`, `paused` or `exited`.
    pub state: String,
    /// The last exit code (0 before any run).
    pub exit_code: i32,
    /// Unix seconds of the last start, 0 when never started.
    pub started: i64,
    /// Unix seconds of the last end, 0 when never ended.
    pub finished: i64,
    /// The process has a terminal (`-t`).
    pub tty: bool,
    /// Its stdin is open (`-i`).
    pub open_stdin: bool,
    /// Removed when its process ends (`--rm`).
    pub auto_remove: bool,
    /// How many paths the writable layer adds, changes or deletes.
    pub changes: u64,
    /// The ports published while it runs, as `docker ps` shows them
    /// (`127.0.0.1:8080->80/tcp`); empty when none or not running.
    pub ports: Vec<String>,
}

/// `POST /api/containers` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateContainerRequest {
    /// Image name or ID.
    pub image: String,
    /// Name; generated when absent.
    pub name: Option<String>,
    /// The command (`[COMMAND] [ARG...]`); empty keeps the image's.
    #[serde(default)]
    pub cmd: Vec<String>,
    /// `KEY=value` entries added to the image's environment (`-e`).
    #[serde(default)]
    pub env: Vec<String>,
    /// A terminal for the process (`-t`).
    #[serde(default)]
    pub tty: bool,
    /// Keep its stdin open (`-i`).
    #[serde(default)]
    pub interactive: bool,
    /// Remove the container when its process ends (`--rm`).
    #[serde(default)]
    pub auto_remove: bool,
    /// Ports to publish, each as the docker CLI's `-p` takes it: `8080:80`,
    /// `127.0.0.1:8080:80/udp`, `80` (a free host port).
    #[serde(default)]
    pub ports: Vec<String>,
    /// Start it at once (`run` rather than `create`). A container with a terminal is better
    /// started by opening its terminal (`attach`), so that no output is lost.
    #[serde(default)]
    pub start: bool,
}

/// `GET /api/containers/{id}/top`: `ps` in the container.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct TopDto {
    /// The column titles (`PID`, `USER`, `TIME`, `COMMAND`).
    pub titles: Vec<String>,
    /// One row per process.
    pub processes: Vec<Vec<String>>,
}

/// One line of a container's log (`GET /api/containers/{id}/logs`, one JSON object per line).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct LogLineDto {
    /// `stdout` or `stderr`.
    pub stream: String,
    /// The text, as logged (with its line end).
    pub log: String,
    /// RFC 3339 with nanoseconds.
    pub time: String,
}

/// `GET /api/containers/{id}/mark`: a number that changes whenever the writable layer does
/// (cheap to ask while a process writes; the page then reloads the tree).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct LayerMarkDto {
    /// Changes with any name, size, mode or time in the writable layer.
    pub mark: u64,
    /// The container's `State.Status` now.
    pub state: String,
}

/// A control message of the terminal WebSocket (`/api/containers/{id}/terminal`), sent as a
/// text frame; keystrokes go as binary frames.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct TerminalControl {
    /// New height in rows.
    pub rows: u16,
    /// New width in columns.
    pub cols: u16,
}

/// The last text frame of the terminal WebSocket: how the session ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct TerminalEndDto {
    /// The process's exit code, when it ended.
    pub exit_code: Option<i32>,
    /// Why the session could not start or broke off.
    pub error: Option<String>,
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
