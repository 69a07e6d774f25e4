//! Test helpers shared by the crates' own tests and the end-to-end suite (`e2e`), so a crate
//! can test against real peers without depending on `e2e`: the CNCF distribution registry
//! launcher ([`registry::Registry`]) and the check that a peer tool is installed.

pub mod registry;

use std::path::Path;
use std::process::{Command, Stdio};

/// Panics with an install hint when a peer tool is missing: tests never skip silently.
pub fn require(tool: &str) {
    let found = if tool.contains('/') {
        Path::new(tool).exists()
    } else {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    assert!(
        found,
        "required tool `{tool}` is missing: install the test peers with `bash scripts/install-deps.sh test` \
         (apt: skopeo umoci busybox-static pigz hyperfine)"
    );
}
