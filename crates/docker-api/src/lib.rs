//! Docker's wire shapes, in one place: the JSON that `docker inspect` prints and the Engine
//! API answers (inspect, image and container summaries, history, delete and prune reports,
//! `system df`, events, search results, progress messages), built from plain store facts. The CLI and the server both render through
//! this crate, so the two cannot drift apart; the store crates never derive Docker's JSON.
//!
//! Pure: no I/O, no clock; builds for `wasm32-unknown-unknown`.

mod archive;
mod containers;
mod events;
mod image_table;
mod images;
mod networks;
mod progress;
mod search;
mod stats;
mod volumes;

pub use archive::ArchiveItem;
pub use containers::{
    container_inspect, container_name_matches, container_summary, go_mode, log_tag_fields,
    ports_match, ContainerFacts, HealthFacts, HostFacts, LogTagFacts, MountFacts, PortFilter,
    RunFacts,
};
/// Go's zero time in Unix seconds, what moby answers for an image with no creation time.
pub use docker_format::GO_ZERO_TIME;
pub use events::{event_message, EventFacts};
pub use image_table::{
    df_rows, history_row, image_rows, DfFacts, HISTORY_HEADERS, HISTORY_TABLE, IMAGES_HEADERS,
};
pub use images::{
    disk_usage, history_item, image_delete_items, image_inspect, image_summary,
    images_prune_report, HistoryFacts, ImageFacts,
};
pub use networks::{network_id, network_inspect, BindingFacts, EndpointFacts, PortFacts};
pub use progress::progress_message;
pub use search::{search_result, SearchFacts};
pub use stats::{stats_json, StatsFacts};
pub use volumes::volume_json;
