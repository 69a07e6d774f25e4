//! The image store's rules, as pure functions over a snapshot of the metadata ([`StoreView`]).
//!
//! Which image a name means, what is dangling, what `rmi` and `image prune` would remove and how
//! many bytes that frees, how layers are shared and what `system df` reports: all computed here,
//! with no I/O, so the CLI, the server and the browser get the same answers. The engine loads a
//! [`StoreView`] inside a write transaction, asks for a plan, and applies exactly that plan.
//!
//! Deliberately absent: persistence, time (callers pass `now`), blob contents.
#![deny(missing_docs)]

mod model;

pub use model::{ContainerRecord, ImageRecord, LayerRecord, StoreView, TagRecord};
