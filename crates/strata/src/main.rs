//! `strata`: docker-like verbs over the embedded image store.
fn main() {}
