//! Docker's human-readable texts, byte for byte: sizes (`4.27MB`), durations (`2 hours`), tables
//! aligned like Go's `text/tabwriter` as the docker CLI configures it, `--format` templates
//! (`table …`, `json`, and Go's `text/template` language as the docker CLI runs it: fields,
//! pipelines, variables, `if`/`range`/`with`, Go's and Docker's functions) and ellipsised cells.
//!
//! Pure: callers pass `now`. Used by the CLI and by the dashboard so both print the same.
//! Deliberately absent: `define`/`template`/`block` and other parts of Go's template language
//! a `--format` value does not use (see the `gotemplate` module).
#![deny(missing_docs)]

mod gotemplate;
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
pub use timestamp::{
    created_since, go_duration, parse_timestamp, parse_timestamp_nanos, rfc3339, GO_ZERO_TIME,
};
