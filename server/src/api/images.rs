//! `/api/images…`, `/api/prune…` and `/api/disk-usage`: the dashboard's image endpoints.
//!
//! Image names hold `/`, `:` and `@`, so `/api/images/{*rest}` is dispatched by hand on its
//! last segment (`/tag`, `/rmi-plan`, `/tree`) over the *raw* path; a name that itself ends in
//! such a segment is sent with its `/` percent-encoded (`foo%2Ftree`), and the name is then
//! percent-decoded.

use super::dto::*;
use super::{json_body, Reply};
use crate::params::url_pairs;
use crate::params::FirstQuery;
use crate::params::{decode, truthy};
use crate::{ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use image_store::{ListOptions, PruneOptions, RmiOptions};
use serde::Deserialize;

/// `?force=`.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ForceQuery {
    /// `1` to untag across repositories and delete images stopped containers use.
    force: Option<String>,
}

/// `?all=`.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AllQuery {
    /// `1` to prune every image no container uses, not only dangling ones.
    all: Option<String>,
}

/// The image list (intermediates hidden), with shared and unique sizes.
#[utoipa::path(get, path = "/api/images", tag = "images",
    responses((status = 200, body = Vec<ImageSummaryDto>), (status = 500, body = ErrorDto)))]
pub(crate) async fn list(State(st): State<AppState>) -> Reply<Vec<ImageSummaryDto>> {
    let list = st.run(|e| e.images(&ListOptions::default())).await?;
    Ok(Json(list.iter().map(image_summary_dto).collect()))
}

/// Every layer with its refcount and every image's layer stack: the sharing matrix.
#[utoipa::path(get, path = "/api/layers", tag = "images",
    responses((status = 200, body = LayerMapDto)))]
pub(crate) async fn layers(State(st): State<AppState>) -> Reply<LayerMapDto> {
    let view = st.run(|e| e.view()).await?;
    let counts = image_store::layer_refcounts(&view);
    Ok(Json(LayerMapDto {
        layers: view
            .layers
            .values()
            .map(|l| LayerUsageDto {
                diff_id: l.diff_id.to_string(),
                size: l.content_size,
                stored_bytes: l.stored_bytes,
                refcount: counts.get(&l.diff_id).copied().unwrap_or(0) as u64,
            })
            .collect(),
        images: view
            .images
            .iter()
            .map(|i| {
                let stack = i.diff_ids.iter().map(|d| d.to_string()).collect();
                (i.id.to_string(), stack)
            })
            .collect(),
    }))
}

/// `/api/images/{*rest}` dispatcher.
pub(crate) async fn by_name(
    State(st): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let raw = req
        .uri()
        .path()
        .strip_prefix("/api/images/")
        .unwrap_or("")
        .to_string();
    let method = req.method().clone();
    let query = req.uri().query().unwrap_or("").to_string();
    let suffix = |s: &str| raw.strip_suffix(s).filter(|n| !n.is_empty()).map(decode);
    if method == Method::POST {
        if let Some(name) = suffix("/tag") {
            let body = json_body::<TagRequest>(req).await?;
            return Ok(tag(st, name, body).await?.into_response());
        }
    }
    if method == Method::GET {
        if let Some(name) = suffix("/rmi-plan") {
            return Ok(rmi_plan(st, name, force_query(&query))
                .await?
                .into_response());
        }
        if let Some(name) = suffix("/tree") {
            return Ok(tree(st, name).await?.into_response());
        }
        if let Some(name) = suffix("/compare") {
            let pairs = url_pairs(&query);
            let with = crate::params::first(&pairs, "with").map(str::to_string);
            return Ok(compare(st, name, CompareQuery { with })
                .await?
                .into_response());
        }
        if let Some(name) = suffix("/files") {
            return file(st, name, super::files::FileQuery::parse(&query)?).await;
        }
    }
    let name = decode(&raw);
    if name.is_empty() {
        return Err(crate::not_found().await);
    }
    match method {
        Method::GET => Ok(inspect(st, name).await?.into_response()),
        Method::DELETE => Ok(remove(st, name, force_query(&query)).await?.into_response()),
        _ => Err(crate::not_found().await),
    }
}

fn force_query(query: &str) -> ForceQuery {
    let pairs = url_pairs(query);
    ForceQuery {
        force: crate::params::first(&pairs, "force").map(str::to_string),
    }
}

/// The bytes of one regular file as the image's layers `0..=layer` show it (default: all of
/// them, the merged view); `X-Strata-Layer` names the layer viewed, `X-Strata-Source-Layer`
/// the one holding the bytes.
#[utoipa::path(get, path = "/api/images/{name}/files", tag = "images",
    params(("name" = String, Path, description = "image name, ID, ID prefix or digest reference"), super::files::FileQuery),
    responses((status = 200, description = "the file's bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, body = ErrorDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn file(
    st: AppState,
    name: String,
    q: super::files::FileQuery,
) -> Result<Response, ApiError> {
    let layer = super::files::layer_of(&q)?;
    super::files::send(&st, name, q.path, layer).await
}

/// An image: config, history, layers with refcounts, sizes.
#[utoipa::path(get, path = "/api/images/{name}", tag = "images",
    params(("name" = String, Path, description = "image name, ID, ID prefix or digest reference; percent-encode `/` as `%2F` when the name ends in `/tag`, `/tree` or `/rmi-plan`")),
    responses((status = 200, body = ImageDetailDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn inspect(st: AppState, name: String) -> Reply<ImageDetailDto> {
    let dto = st
        .run(move |e| {
            let detail = e.image_detail(&name)?;
            let d = &detail.details;
            let c = &d.config;
            let history = detail
                .history
                .iter()
                .map(|(h, empty_layer)| HistoryDto {
                    id: h.id.as_ref().map(|d| d.to_string()),
                    created: h.created,
                    created_by: h.created_by.clone(),
                    tags: h.tags.clone(),
                    size: h.size,
                    comment: h.comment.clone(),
                    empty_layer: *empty_layer,
                })
                .collect();
            let layers = detail
                .layers
                .iter()
                .map(|l| LayerDto {
                    diff_id: l.diff_id.to_string(),
                    size: l.size,
                    refcount: l.refcount,
                })
                .collect();
            Ok(ImageDetailDto {
                id: d.id.to_string(),
                repo_tags: d.repo_tags.clone(),
                repo_digests: d.repo_digests.clone(),
                parent: d.parent.as_ref().map(|p| p.to_string()),
                created: c.created.clone(),
                author: c.author.clone(),
                comment: detail.comment.clone(),
                architecture: c.architecture.clone(),
                os: c.os.clone(),
                config: serde_json::to_value(&c.config).unwrap_or_default(),
                history,
                layers,
                size: d.size,
                shared_size: detail.shared_size,
                unique_size: detail.unique_size,
                containers: detail.containers,
                lost_tags: e
                    .lost_tags(&d.id)?
                    .into_iter()
                    .map(|t| LostTagDto {
                        reference: t.reference,
                        until: t.until,
                        taken_by: t.taken_by.unwrap_or_default(),
                    })
                    .collect(),
            })
        })
        .await?;
    Ok(Json(dto))
}

/// Points `target` at the image.
#[utoipa::path(post, path = "/api/images/{name}/tag", tag = "images",
    params(("name" = String, Path, description = "the source image")),
    request_body = TagRequest,
    responses((status = 201, body = TagResultDto), (status = 400, body = ErrorDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn tag(
    st: AppState,
    name: String,
    body: TagRequest,
) -> Result<(StatusCode, Json<TagResultDto>), ApiError> {
    let o = st.run(move |e| e.tag(&name, &body.target)).await?;
    Ok((
        StatusCode::CREATED,
        Json(TagResultDto {
            image: o.image.to_string(),
            previous: o.previous.map(|p| p.to_string()),
        }),
    ))
}

/// Removes the image (as `docker rmi`); returns the plan that was applied.
#[utoipa::path(delete, path = "/api/images/{name}", tag = "images",
    params(("name" = String, Path, description = "image name or ID"), ForceQuery),
    responses((status = 200, body = PlanDto), (status = 404, body = ErrorDto), (status = 409, body = ErrorDto)))]
pub(crate) async fn remove(st: AppState, name: String, q: ForceQuery) -> Reply<PlanDto> {
    let opts = RmiOptions {
        force: truthy(q.force.as_deref()),
        no_prune: false,
    };
    let plan = st
        // The plan the removing transaction computed and applied, not an earlier look.
        .run(move |e| Ok(plan_dto(&e.rmi_applied(&name, &opts)?)))
        .await?;
    Ok(Json(plan))
}

/// What removing several images one after the other would do, without doing it (the
/// dashboard's bulk delete): `?name=A&name=B…&force=1`.
#[utoipa::path(get, path = "/api/rmi-plan", tag = "images",
    params(("name" = Vec<String>, Query, description = "image names or IDs, in the order they are to be removed"), ForceQuery),
    responses((status = 200, body = BulkPlanDto), (status = 400, body = ErrorDto)))]
pub(crate) async fn rmi_plan_many(State(st): State<AppState>, req: Request) -> Reply<BulkPlanDto> {
    let pairs = url_pairs(req.uri().query().unwrap_or(""));
    let names: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "name")
        .map(|(_, v)| v.clone())
        .collect();
    if names.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "name: give at least one image (?name=A&name=B)",
        ));
    }
    let opts = RmiOptions {
        force: truthy(crate::params::first(&pairs, "force")),
        no_prune: false,
    };
    let n2 = names.clone();
    let plans = st.run(move |e| e.plan_rmi_many(&n2, &opts)).await?;
    let items = names
        .into_iter()
        .zip(plans)
        .map(|(name, plan)| BulkItemDto {
            name,
            plan: match plan {
                Ok(p) => plan_dto(&p),
                Err(e) => PlanDto {
                    conflict: Some(ApiError::from(e).message),
                    ..Default::default()
                },
            },
        })
        .collect();
    Ok(Json(BulkPlanDto::new(items)))
}

/// What removing the image would do, without doing it; a refusal is reported in `conflict`.
#[utoipa::path(get, path = "/api/images/{name}/rmi-plan", tag = "images",
    params(("name" = String, Path, description = "image name or ID"), ForceQuery),
    responses((status = 200, body = PlanDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn rmi_plan(st: AppState, name: String, q: ForceQuery) -> Reply<PlanDto> {
    let opts = RmiOptions {
        force: truthy(q.force.as_deref()),
        no_prune: false,
    };
    match st.run(move |e| e.plan_rmi(&name, &opts)).await {
        Ok(plan) => Ok(Json(plan_dto(&plan))),
        Err(e) if e.status == StatusCode::CONFLICT => Ok(Json(PlanDto {
            conflict: Some(e.message),
            ..Default::default()
        })),
        Err(e) => Err(e),
    }
}

/// The image's union view.
#[utoipa::path(get, path = "/api/images/{name}/tree", tag = "images",
    params(("name" = String, Path, description = "image name or ID")),
    responses((status = 200, body = TreeDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn tree(st: AppState, name: String) -> Reply<TreeDto> {
    let dto = st
        .run(move |e| {
            // by full ID, so a container with the same name is never picked instead
            let id = e.inspect(&name)?.id;
            let (union, labels) = e.union_of(&id.to_string())?;
            Ok(union_dto::tree_dto(&union, &labels))
        })
        .await?;
    Ok(Json(dto))
}

/// `?with=`.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CompareQuery {
    /// The second image (name, ID or ID prefix): `A` paths are only in it, `D` paths only in
    /// the first.
    with: Option<String>,
}

/// Differing paths listed at most in one answer (the counts cover them all).
const COMPARE_LIMIT: usize = 2000;

/// How the image's merged view differs from another's: the layers both start with, and every
/// path one has and the other has not, or both have with another type, content, target,
/// mode, owner or extended attributes (modification times aside).
#[utoipa::path(get, path = "/api/images/{name}/compare", tag = "images",
    params(("name" = String, Path, description = "the first image: name, ID or ID prefix"), CompareQuery),
    responses((status = 200, body = CompareDto), (status = 400, body = ErrorDto), (status = 404, body = ErrorDto)))]
pub(crate) async fn compare(st: AppState, name: String, q: CompareQuery) -> Reply<CompareDto> {
    let Some(other) = q.with.filter(|w| !w.is_empty()) else {
        return Err(ApiError::bad_request(
            "with is required: the image to compare with",
        ));
    };
    let dto = st
        .run(move |e| {
            let c = e.image_comparison(&name, &other)?;
            Ok(union_dto::compare_dto(
                (&c.a.to_string(), &c.a_union),
                (&c.b.to_string(), &c.b_union),
                c.shared_layers,
                COMPARE_LIMIT,
            ))
        })
        .await?;
    Ok(Json(dto))
}

fn prune_opts(q: &AllQuery) -> PruneOptions {
    PruneOptions {
        all: truthy(q.all.as_deref()),
        ..Default::default()
    }
}

/// What `image prune` would remove.
#[utoipa::path(get, path = "/api/prune-plan", tag = "images", params(AllQuery),
    responses((status = 200, body = PlanDto)))]
pub(crate) async fn prune_plan(
    State(st): State<AppState>,
    FirstQuery(q): FirstQuery<AllQuery>,
) -> Reply<PlanDto> {
    let opts = prune_opts(&q);
    let plan = st.run(move |e| e.plan_prune(&opts)).await?;
    Ok(Json(plan_dto(&plan)))
}

/// `image prune`: returns the plan applied.
#[utoipa::path(post, path = "/api/prune", tag = "images", params(AllQuery),
    responses((status = 200, body = PlanDto)))]
pub(crate) async fn prune(
    State(st): State<AppState>,
    FirstQuery(q): FirstQuery<AllQuery>,
) -> Reply<PlanDto> {
    let opts = prune_opts(&q);
    let plan = st.run(move |e| e.prune(&opts)).await?;
    Ok(Json(plan_dto(&plan)))
}

/// `system df` for images, plus the container count.
#[utoipa::path(get, path = "/api/disk-usage", tag = "images",
    responses((status = 200, body = DiskUsageDto)))]
pub(crate) async fn disk_usage(State(st): State<AppState>) -> Reply<DiskUsageDto> {
    let (du, containers) = st
        .run(|e| Ok((e.disk_usage()?, e.containers()?.len())))
        .await?;
    Ok(Json(DiskUsageDto {
        layers_size: du.layers_size,
        stored_bytes: du.stored_bytes,
        images: du
            .images
            .iter()
            .map(|i| ImageUsageDto {
                id: i.id.to_string(),
                repo_tags: i.repo_tags.clone(),
                created: i.created,
                size: i.size,
                shared_size: i.shared_size,
                unique_size: i.unique_size,
                containers: i.containers,
            })
            .collect(),
        active: du.active as u64,
        reclaimable: du.reclaimable,
        containers: containers as u64,
    }))
}
