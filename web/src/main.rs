//! The dashboard: a Leptos client-side app, built to WebAssembly by Trunk (`just web`) and served
//! by `strata serve` from `web/dist`.
//!
//! The logic lives in plain Rust modules that build and test natively (`cargo test -p
//! strata-web`): the images table (`model`), the pull stream (`pull`), the layer stack diagram
//! (`stack`), an image's parent, children and sharers (`lineage`), the union explorer (`tree`), rmi/prune plans (`plan`), sharing and disk usage
//! (`sharing`), containers (`containers`), running ones (`run`: status texts, controls, the Run dialog, logs), the teaching sandbox (`sandbox`) and its Dockerfile mode (`explain`), builds (`build`: the context tar, the log's steps, history as instructions) and client routes
//! (`route`). The browser side (`app`: components, fetches, the event stream) exists only on
//! `wasm32` and stays thin.
//! Deliberately absent: server-side rendering, polling (lists refresh from `/api/events`), except
//! the running container page, which asks for its writable layer's mark every second.

#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

mod build;
mod compare;
mod error;
mod explain;
mod lineage;
mod model;
mod plan;
mod preview;
mod pull;
mod registry;
mod retention;
mod route;
mod run;
mod sandbox;
mod sharing;
mod stack;
mod tree;
mod wire;

#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("strata-web runs in a browser: build it with `just web` and open `strata serve`");
    std::process::exit(2);
}
