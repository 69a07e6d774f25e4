//! The dashboard.
fn main() {}
