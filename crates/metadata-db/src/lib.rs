//! Image metadata in SQLite: images, their layer stacks, layers, tags and containers.
//!
//! One database file per data directory, in WAL mode, with numbered migrations. Readers get a
//! consistent [`StoreView`] snapshot; writers run inside `BEGIN IMMEDIATE` transactions
//! ([`Db::write`]) so a plan computed from the view inside the transaction is applied to exactly
//! the state it was computed from, even with other processes using the same directory.
//!
//! Deliberately absent: rules (they live in `image-store`), blob contents (in `blob-store`).
#![deny(missing_docs)]

mod db;
mod events;
mod schema;
mod tokens;
mod views;
mod writes;

pub use db::{Db, DbError};
pub use events::EVENTS_KEPT;
pub use tokens::{AuditRecord, TokenRecord};
pub use writes::{LayerSource, WriteTx};
