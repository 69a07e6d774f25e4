//! Containers: the list with the Run dialog, and one container's page: its stack with the
//! writable layer on top (copy-ups and whiteouts appear as they happen), a terminal, a file
//! editor (add, edit, delete, mkdir), commit, logs, processes, export and remove.

mod commit;
mod controls;
mod editor;
mod heading;
mod list;
mod logs;
mod page;
mod run_dialog;
mod top;

pub use list::ContainersPage;
pub use page::ContainerPage;
pub use run_dialog::RunDialog;

use leptos::prelude::*;

/// A clock for the live status texts: the browser's unix seconds, every second.
pub(super) fn ticking_now() -> RwSignal<i64> {
    let now = RwSignal::new(super::now());
    let handle = set_interval_with_handle(
        move || now.set(super::now()),
        std::time::Duration::from_secs(1),
    );
    if let Ok(h) = handle {
        on_cleanup(move || h.clear());
    }
    now
}
