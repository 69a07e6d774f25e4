//! Docker's volume endpoints over the engine's local volumes (`volumes/<name>/_data`):
//! list, create, inspect, remove, prune.

use crate::params::{first, truthy};
use crate::{ApiError, AppState};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/volumes", get(list))
        .route("/volumes/create", post(create))
        .route("/volumes/prune", post(prune))
        .route("/volumes/{name}", get(inspect).delete(remove))
}

fn to_json(v: &engine::VolumeInfo) -> Value {
    docker_api::volume_json(&v.name, &v.mountpoint.display().to_string(), &v.created)
}

/// `GET /volumes` → `{"Volumes": […], "Warnings": null}`.
async fn list(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let vols = st.run(|e| e.volumes()).await?;
    Ok(Json(json!({
        "Volumes": vols.iter().map(to_json).collect::<Vec<_>>(),
        "Warnings": null,
    })))
}

#[derive(Deserialize, Default)]
struct CreateBody {
    #[serde(rename = "Name", default)]
    name: Option<String>,
    #[serde(rename = "Driver", default)]
    driver: Option<String>,
}

/// `POST /volumes/create` → 201 with the volume.
async fn create(
    State(st): State<AppState>,
    body: Result<Json<CreateBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(b) = body.map_err(crate::params::json_error)?;
    if let Some(d) = b
        .driver
        .as_deref()
        .filter(|d| !d.is_empty() && *d != "local")
    {
        return Err(ApiError::bad_request(format!(
            "error looking up volume plugin {d}: plugin \"{d}\" not found"
        )));
    }
    let v = st.run(move |e| e.create_volume(b.name.as_deref())).await?;
    Ok((StatusCode::CREATED, Json(to_json(&v))).into_response())
}

async fn inspect(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let v = st.run(move |e| e.volume(&name)).await?;
    Ok(Json(to_json(&v)))
}

/// `DELETE /volumes/{name}?force=` → 204.
async fn remove(
    State(st): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<StatusCode, ApiError> {
    let force = truthy(first(&q, "force"));
    st.run(move |e| e.remove_volume(&name, force)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /volumes/prune?filters=` (`all=true`: named volumes too) →
/// `{"VolumesDeleted": […], "SpaceReclaimed": N}`.
async fn prune(
    State(st): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let mut all = false;
    for (k, v) in crate::params::parse_filters(first(&q, "filters"))? {
        match k.as_str() {
            "all" => all = truthy(Some(&v)),
            _ => return Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
        }
    }
    let (deleted, bytes) = st.run(move |e| e.prune_volumes(all)).await?;
    Ok(Json(json!({
        "VolumesDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
        "SpaceReclaimed": bytes,
    })))
}
