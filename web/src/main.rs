//! The dashboard: a Leptos client-side app, built to WebAssembly by Trunk (`just web`) and served
//! by `strata serve` from `web/dist`.
//!
//! The pure data model (`model`: the `/api/images` JSON and the table rows) builds and tests
//! natively; the browser side (`app`: components and fetches) exists only on `wasm32`.
//! Deliberately absent: anything the server cannot answer yet. Each page renders only what works.

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod model;

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
