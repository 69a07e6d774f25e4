//! The image store's rules, as pure functions over a snapshot of the metadata ([`StoreView`]).
//!
//! Which image a name means, what is dangling, what `rmi` and `image prune` would remove and how
//! many bytes that frees, how layers are shared and what `system df` reports: all computed here,
//! with no I/O, so the CLI, the server and the browser get the same answers. The engine loads a
//! [`StoreView`] inside a write transaction, asks for a plan, and applies exactly that plan.
//!
//! The rules follow moby's graph-driver image service (`daemon/images`): `GetImage`,
//! `Images`, `ImageDelete`, `ImagesPrune`, and the CLI's `system df` arithmetic. Error texts
//! are the daemon's.
//!
//! Deliberately absent: persistence, time (callers pass `now`), blob contents.
#![deny(missing_docs)]

mod errors;
mod facts;
mod filters;
mod list;
mod model;
mod prune;
mod resolve;
mod rmi;
mod usage;

#[cfg(test)]
mod tests;

pub use errors::{ErrorKind, StoreError};
pub use filters::filter_bool;
pub use list::{list_images, ImageSummary, ListOptions};
pub use model::{ContainerRecord, ImageRecord, LayerRecord, StoreView, TagRecord};
pub use prune::{plan_prune, PruneOptions};
pub use resolve::{resolve, Resolved};
pub use rmi::{plan_rmi, plan_rmi_many, RmiEvent, RmiOptions, RmiPlan};
pub use usage::{disk_usage, is_dangling, layer_refcounts, DiskUsage, ImageUsage};
