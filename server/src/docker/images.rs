//! Docker's image endpoints (`/images/json`, inspect, history, tag, delete, prune, `/system/df`;
//! the archive ones, import, save and load, are in `transfer`). Each handler parses the
//! request, makes one engine call and shapes the answer; errors map to statuses in one place
//! (`ApiError: From<EngineError>`).

use crate::params::parse_filters;
use crate::params::truthy;
use crate::params::FirstQuery;
use crate::{ApiError, AppState};
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use image_store::{ListOptions, PruneOptions, RmiOptions};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

/// `GET /images/{name}/json`'s body (and `strata inspect`'s) for an image.
pub fn inspect_json(d: &engine::ImageDetails) -> Value {
    docker_api::image_inspect(&docker_api::ImageFacts {
        id: &d.id,
        repo_tags: &d.repo_tags,
        repo_digests: &d.repo_digests,
        parent: d.parent.as_ref(),
        size: d.size,
        config: &d.config,
    })
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/json", get(list))
        .route("/images/prune", post(prune))
        .route("/system/df", get(disk_usage))
        .route(
            "/images/create",
            post(super::transfer::create).layer(DefaultBodyLimit::disable()),
        )
        .route("/images/get", get(super::transfer::save_many))
        .route(
            "/images/load",
            post(super::transfer::load).layer(DefaultBodyLimit::disable()),
        )
        .route("/images/{*rest}", axum::routing::any(by_name))
}

async fn list(
    State(st): State<AppState>,
    FirstQuery(q): FirstQuery<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let opts = ListOptions {
        all: truthy(q.get("all").map(String::as_str)),
        filters: parse_filters(q.get("filters").map(String::as_str))?,
    };
    let with_shared = truthy(q.get("shared-size").map(String::as_str));
    let list = st.run(move |e| e.images(&opts)).await?;
    Ok(Json(Value::Array(
        list.iter()
            .map(|s| docker_api::image_summary(s, with_shared))
            .collect(),
    )))
}

fn prune_options(filters: Vec<(String, String)>) -> Result<PruneOptions, ApiError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut opts = PruneOptions::default();
    let mut dangling = Vec::new();
    for (k, v) in filters {
        match k.as_str() {
            "dangling" => dangling.push(v),
            "until" => {
                opts.until =
                    Some(docker_format::parse_timestamp(&v, now).map_err(ApiError::bad_request)?)
            }
            "label" => opts.labels.push(v),
            "label!" => opts.labels.push(format!("!{v}")),
            _ => return Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
        }
    }
    let dangling: Vec<&str> = dangling.iter().map(String::as_str).collect();
    // `dangling=false` prunes every unused image; the default is dangling ones only
    if let Some(only_dangling) =
        image_store::filter_bool("dangling", &dangling).map_err(engine::EngineError::from)?
    {
        opts.all = !only_dangling;
    }
    Ok(opts)
}

async fn prune(
    State(st): State<AppState>,
    FirstQuery(q): FirstQuery<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let opts = prune_options(parse_filters(q.get("filters").map(String::as_str))?)?;
    let plan = st.run(move |e| e.prune(&opts)).await?;
    Ok(Json(docker_api::images_prune_report(
        &plan.events,
        plan.bytes_freed,
    )))
}

async fn disk_usage(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let (du, containers) = st
        .run(|e| Ok((e.disk_usage()?, super::containers::df_containers(e)?)))
        .await?;
    Ok(Json(docker_api::disk_usage(&du, containers)))
}

#[derive(Deserialize, Default)]
struct NameQuery {
    repo: Option<String>,
    tag: Option<String>,
    force: Option<String>,
    noprune: Option<String>,
}

/// `/images/{name}/json|history|tag` and `DELETE /images/{name}`: names hold `/`, `:` and `@`,
/// so the suffix is split off by hand.
async fn by_name(
    State(st): State<AppState>,
    method: Method,
    Path(rest): Path<String>,
    FirstQuery(q): FirstQuery<NameQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let split = |suffix: &str| {
        rest.strip_suffix(suffix)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
    };
    if method == Method::DELETE {
        let opts = RmiOptions {
            force: truthy(q.force.as_deref()),
            no_prune: truthy(q.noprune.as_deref()),
        };
        let events = st.run(move |e| e.rmi(&rest, &opts)).await?;
        return Ok(Json(docker_api::image_delete_items(&events)).into_response());
    }
    if method == Method::GET {
        if let Some(name) = split("/get") {
            return super::transfer::save(st, vec![name]).await;
        }
        if let Some(name) = split("/json") {
            let d = st.run(move |e| e.inspect(&name)).await?;
            return Ok(Json(inspect_json(&d)).into_response());
        }
        if let Some(name) = split("/history") {
            let rows = st.run(move |e| e.history(&name)).await?;
            let rows: Vec<Value> = rows
                .iter()
                .map(|h| {
                    docker_api::history_item(&docker_api::HistoryFacts {
                        id: h.id.as_ref(),
                        created: h.created,
                        created_by: &h.created_by,
                        tags: &h.tags,
                        size: h.size,
                        comment: &h.comment,
                    })
                })
                .collect();
            return Ok(Json(rows).into_response());
        }
    }
    if method == Method::POST {
        if let Some(name) = split("/push") {
            return super::registry::push(st, name, q.tag.clone(), headers).await;
        }
        if let Some(name) = split("/tag") {
            let repo = q.repo.unwrap_or_default();
            let target = match q.tag.filter(|t| !t.is_empty()) {
                Some(t) => format!("{repo}:{t}"),
                None => repo,
            };
            st.run(move |e| e.tag(&name, &target)).await?;
            return Ok(StatusCode::CREATED.into_response());
        }
    }
    Err(crate::not_found().await)
}
