//! Docker's human-readable texts, byte for byte: sizes (`4.27MB`), durations (`2 hours`), tables
//! aligned like Go's `text/tabwriter` as the docker CLI configures it, `--format` templates
//! (`{{.ID}}`, `table …`, `json`) and ellipsised cells.
//!
//! Pure: callers pass `now`. Used by the CLI and by the dashboard so both print the same.
//! Deliberately absent: Go's full template language (only field references and `json`).
#![deny(missing_docs)]

mod human;
mod table;
mod template;
mod timestamp;

pub use human::{
    bytes_size, container_status, ellipsis, human_duration, human_size, ports_column, truncate_id,
    PortEntry,
};
pub use table::Table;
pub use template::{Format, FormatError, Row};
pub use timestamp::{go_duration, parse_timestamp, parse_timestamp_nanos, rfc3339};
