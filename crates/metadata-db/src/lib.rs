//! Image metadata in SQLite.
