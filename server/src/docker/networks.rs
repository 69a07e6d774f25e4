//! The default networks: `GET /networks` (`docker network ls`) and `GET /networks/{id}`
//! (`docker network inspect`) for `bridge`, `host` and `none`; user-defined networks are
//! refused with Docker's not-found text.

use crate::params::first;
use crate::{ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use engine::EngineError;
use serde_json::Value;

/// The routes of the networks group.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/networks", get(list))
        .route("/networks/{id}", get(inspect))
}

/// A default network by name, full ID or ID prefix, as moby's `network inspect` shows it
/// (`strata network inspect` prints the same).
pub fn network_json(e: &engine::Engine, id: &str) -> Result<Value, EngineError> {
    for name in engine::NETWORK_MODES {
        let nid = docker_api::network_id(name);
        if id == name || (!id.is_empty() && nid.starts_with(id)) {
            return network(e, name);
        }
    }
    Err(EngineError::NotFound(format!("network {id} not found")))
}

/// One default network as moby shows it; the bridge with its subnet and running containers.
fn network(e: &engine::Engine, name: &str) -> Result<Value, EngineError> {
    let mut attached = Vec::new();
    if name == "bridge" {
        for c in e.containers()? {
            if let Some(n) = e.container_network(&c) {
                attached.push((
                    c.id.clone(),
                    c.name.clone(),
                    format!("{}/{}", n.ip, n.prefix),
                    n.mac,
                ));
            }
        }
    }
    let subnet = (name == "bridge").then(|| e.bridge_info()).flatten();
    Ok(docker_api::network_inspect(
        name,
        subnet.as_ref().map(|(s, g)| (s.as_str(), g.as_str())),
        &attached,
    ))
}

/// `GET /networks?filters=`: `name`, `id` and `driver` filters.
async fn list(
    State(st): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let filters = crate::params::parse_filters(first(&q, "filters"))?;
    let out = st
        .run(move |e| {
            let mut out = Vec::new();
            for name in engine::NETWORK_MODES {
                let n = network(e, name)?;
                let ok = filters.iter().all(|(k, v)| match k.as_str() {
                    "name" => name.contains(v.as_str()),
                    "id" => n["Id"]
                        .as_str()
                        .is_some_and(|id| id.starts_with(v.as_str())),
                    "driver" => n["Driver"] == v.as_str(),
                    _ => true,
                });
                if ok {
                    out.push(n);
                }
            }
            Ok(out)
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

/// `GET /networks/{id}`: by name, full ID or ID prefix.
async fn inspect(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(st.run(move |e| network_json(e, &id)).await?))
}
