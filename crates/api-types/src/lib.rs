//! The dashboard API's JSON types (`/api/…`, snake_case), defined once for both ends: the
//! server writes them and documents them in its OpenAPI document (feature `openapi`, which
//! derives `utoipa::ToSchema`), the web app reads them.
//!
//! Readers are tolerant: every response type is `#[serde(default)]`, so a field the server
//! adds later is ignored and a field it drops reads as empty rather than failing a page.
//! Request bodies (`TagRequest`, `CommitRequest`, `CreateContainerRequest`) keep their
//! required fields, so the server still refuses a body without them.
//!
//! ```
//! let plan: api_types::PlanDto = serde_json::from_str(r#"{"bytes_freed":10}"#).unwrap();
//! assert_eq!(plan.bytes_freed, 10);
//! assert!(plan.events.is_empty());
//! ```
//!
//! Deliberately absent: conversions from the store's and the engine's types (the server
//! writes them by hand, so no store type needs a wire derive), presentation (the web app's),
//! I/O of any kind. Docker Engine API shapes are the server's, not these.
#![deny(missing_docs)]

mod build;
mod containers;
mod events;
mod images;
mod tree;

pub use build::BuildLineDto;
pub use containers::{
    ChangeDto, CommitRequest, CommitResultDto, ContainerDto, CreateContainerRequest, LayerMarkDto,
    LogLineDto, TerminalControl, TerminalEndDto, TopDto,
};
pub use events::EventDto;
pub use images::{
    BulkItemDto, BulkPlanDto, DiskUsageDto, HistoryDto, ImageDetailDto, ImageSummaryDto,
    ImageUsageDto, LayerDto, LayerMapDto, LayerUsageDto, LostTagDto, PlanDto, RmiEventDto,
    TagRequest, TagResultDto,
};
pub use tree::{
    CompareDto, EfficiencyDto, InefficiencyDto, LinkDto, MarkerDto, MergedDto, PathDiffDto,
    ShadowedDto, SideDto, TreeDto, TreeLayerDto,
};

use serde::{Deserialize, Serialize};

/// Every error: Docker's shape, `{"message": "…"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ErrorDto {
    /// What went wrong, in the daemon's words.
    pub message: String,
}

/// `GET /api/health`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct HealthDto {
    /// Always `ok`.
    pub status: String,
}
