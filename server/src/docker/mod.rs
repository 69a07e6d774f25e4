//! The Docker Engine API subset: moby's paths, JSON shapes, texts and statuses, one module per
//! group of endpoints as in `crate::api` (the dashboard's API).

pub(crate) mod build;
pub(crate) mod containers;
pub(crate) mod exec;
pub(crate) mod images;
pub(crate) mod limits;
pub(crate) mod networks;
pub(crate) mod registry;
pub(crate) mod run;
pub(crate) mod system;
pub(crate) mod transfer;
pub(crate) mod volumes;

use crate::AppState;
use axum::routing::{get, post};
use axum::Router;

/// Docker's routes (without the `/v<version>` prefix, which is stripped before routing).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_ping", get(system::ping).head(system::ping_head))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/events", get(crate::events::docker_events))
        .route("/images/search", get(registry::search))
        .route("/auth", post(registry::auth))
        .route("/networks/prune", post(system::prune_networks))
        .route("/build/prune", post(system::prune_build_cache))
        .route(
            "/build",
            post(build::build).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .merge(images::routes())
        .merge(networks::routes())
        .merge(run::routes())
        .merge(exec::routes())
        .merge(limits::routes())
        .merge(volumes::routes())
        .merge(containers::routes())
}
