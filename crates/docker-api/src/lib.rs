//! Docker's wire shapes, in one place: the JSON that `docker inspect` prints and the Engine
//! API answers (inspect, container summaries, progress messages), built from plain store facts. The CLI and the server both render through
//! this crate, so the two cannot drift apart; the store crates never derive Docker's JSON.
//!
//! Pure: no I/O, no clock; builds for `wasm32-unknown-unknown`.

mod containers;
mod images;
mod networks;
mod progress;
mod stats;
mod volumes;

pub use containers::{
    container_inspect, container_summary, go_mode, ContainerFacts, MountFacts, RunFacts,
};
pub use images::{image_inspect, ImageFacts};
pub use networks::{network_id, network_inspect, BindingFacts, EndpointFacts, PortFacts};
pub use progress::progress_message;
pub use stats::{stats_json, StatsFacts};
pub use volumes::volume_json;
