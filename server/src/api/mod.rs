//! The dashboard's JSON API under `/api/` (snake_case JSON, Docker-style `{"message"}`
//! errors) and its OpenAPI 3 document at `GET /api/openapi.json`, generated from the
//! handlers' `#[utoipa::path]` attributes and the DTOs' `ToSchema` derives.
//!
//! State-changing requests are guarded against cross-site request forgery twice: like every
//! route they are refused when their `Origin` is not this server's own (`crate::guard`), and a
//! `POST`, `PUT`, `PATCH` or `DELETE` must also carry `Content-Type: application/json` or
//! `X-Strata-Request: 1` (neither can be sent cross-origin without a CORS preflight, which this
//! server never grants). Docker's routes need no such header: the docker CLI sends its own
//! content types.

mod build;
mod containers;
pub(crate) mod dto;
mod files;
mod images;
mod run;
mod terminal;

use crate::{ApiError, AppState};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use dto::*;
use utoipa::OpenApi;

/// A handler's JSON answer or a Docker-style error.
pub(crate) type Reply<T> = Result<Json<T>, ApiError>;

/// Every dashboard route as (method, OpenAPI path); the OpenAPI document lists exactly these
/// and the tests check both directions.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/health"),
    ("get", "/api/openapi.json"),
    ("get", "/api/events"),
    ("get", "/api/images"),
    ("get", "/api/images/{name}"),
    ("delete", "/api/images/{name}"),
    ("post", "/api/images/{name}/tag"),
    ("get", "/api/images/{name}/rmi-plan"),
    ("get", "/api/images/{name}/tree"),
    ("get", "/api/images/{name}/compare"),
    ("get", "/api/images/{name}/files"),
    ("get", "/api/rmi-plan"),
    ("get", "/api/layers"),
    ("get", "/api/prune-plan"),
    ("post", "/api/prune"),
    ("get", "/api/disk-usage"),
    ("post", "/api/build"),
    ("get", "/api/containers"),
    ("post", "/api/containers"),
    ("get", "/api/containers/{id}"),
    ("delete", "/api/containers/{id}"),
    ("get", "/api/containers/{id}/diff"),
    ("get", "/api/containers/{id}/tree"),
    ("get", "/api/containers/{id}/files"),
    ("put", "/api/containers/{id}/files"),
    ("delete", "/api/containers/{id}/files"),
    ("post", "/api/containers/{id}/mkdir"),
    ("post", "/api/containers/{id}/commit"),
    ("post", "/api/containers/{id}/start"),
    ("post", "/api/containers/{id}/stop"),
    ("post", "/api/containers/{id}/kill"),
    ("post", "/api/containers/{id}/pause"),
    ("post", "/api/containers/{id}/unpause"),
    ("post", "/api/containers/{id}/restart"),
    ("get", "/api/containers/{id}/logs"),
    ("get", "/api/containers/{id}/top"),
    ("get", "/api/containers/{id}/mark"),
    ("get", "/api/containers/{id}/terminal"),
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/events", get(crate::events::api_events))
        .route("/api/images", get(images::list))
        .route("/api/images/{*rest}", any(images::by_name))
        .route("/api/rmi-plan", get(images::rmi_plan_many))
        .route("/api/layers", get(images::layers))
        .route("/api/prune-plan", get(images::prune_plan))
        .route("/api/prune", post(images::prune))
        .route("/api/disk-usage", get(images::disk_usage))
        .route(
            "/api/build",
            post(build::build).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/containers",
            get(containers::list).post(containers::create),
        )
        .route(
            "/api/containers/{id}",
            get(containers::get).delete(containers::remove),
        )
        .route("/api/containers/{id}/diff", get(containers::diff))
        .route("/api/containers/{id}/tree", get(containers::tree))
        .route(
            "/api/containers/{id}/files",
            get(containers::read_file)
                .put(containers::write_file)
                .delete(containers::remove_file)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/api/containers/{id}/mkdir", post(containers::mkdir))
        .route("/api/containers/{id}/commit", post(containers::commit))
        .route("/api/containers/{id}/start", post(run::start))
        .route("/api/containers/{id}/stop", post(run::stop))
        .route("/api/containers/{id}/kill", post(run::kill))
        .route("/api/containers/{id}/pause", post(run::pause))
        .route("/api/containers/{id}/unpause", post(run::unpause))
        .route("/api/containers/{id}/restart", post(run::restart))
        .route("/api/containers/{id}/logs", get(run::logs))
        .route("/api/containers/{id}/top", get(run::top))
        .route("/api/containers/{id}/mark", get(run::mark))
        .route("/api/containers/{id}/terminal", get(terminal::terminal))
        .route_layer(middleware::from_fn(csrf_guard))
}

/// The OpenAPI document of the dashboard API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Strata dashboard API", description = "The JSON API the Strata web dashboard uses. Errors are `{\"message\": …}`. State-changing requests need `Content-Type: application/json` or `X-Strata-Request: 1`, and a same-origin `Origin` if any."),
    paths(
        health, openapi_json, crate::events::api_events,
        images::list, images::inspect, images::file, images::remove, images::tag, images::rmi_plan, images::rmi_plan_many, images::layers, images::tree, images::compare,
        images::prune_plan, images::prune, images::disk_usage, build::build,
        containers::list, containers::create, containers::get, containers::remove, containers::diff,
        containers::tree, containers::read_file, containers::write_file, containers::remove_file,
        containers::mkdir, containers::commit,
        run::start, run::stop, run::kill, run::pause, run::unpause, run::restart, run::logs, run::top,
        run::mark, terminal::terminal,
    ),
    components(schemas(ErrorDto, EventDto)),
    tags((name = "images"), (name = "containers"), (name = "events"), (name = "meta")),
    modifiers(&EveryFieldSent),
)]
pub struct ApiDoc;

/// The response types read tolerantly (`#[serde(default)]` in `api-types`, for the web app),
/// which utoipa documents as optional fields with defaults. This server always writes every
/// field, so the document says so: a response field is required unless it is nullable, and
/// has no default. Request bodies (`…Request`) keep what they derived.
struct EveryFieldSent;

impl utoipa::Modify for EveryFieldSent {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Schema, SchemaType, Type};
        use utoipa::openapi::RefOr;
        let nullable = |s: &RefOr<Schema>| match s {
            RefOr::T(Schema::Object(o)) => match &o.schema_type {
                SchemaType::Type(t) => *t == Type::Null,
                SchemaType::Array(ts) => ts.contains(&Type::Null),
                SchemaType::AnyValue => false,
            },
            _ => false,
        };
        let Some(components) = doc.components.as_mut() else {
            return;
        };
        for (name, schema) in components.schemas.iter_mut() {
            let RefOr::T(Schema::Object(o)) = schema else {
                continue;
            };
            if name.ends_with("Request") {
                continue;
            }
            o.required.clear();
            for (field, p) in o.properties.iter_mut() {
                if let RefOr::T(s) = p {
                    match s {
                        // a reference with a default comes wrapped in a one-item `oneOf`
                        Schema::OneOf(one) if one.default.is_some() && one.items.len() == 1 => {
                            *p = one.items.remove(0);
                        }
                        Schema::OneOf(one) => one.default = None,
                        Schema::Object(x) => x.default = None,
                        Schema::Array(x) => x.default = None,
                        _ => {}
                    }
                }
                let optional = nullable(p)
                    || matches!(p, RefOr::T(Schema::OneOf(one)) if one.items.iter().any(nullable));
                if !optional {
                    o.required.push(field.clone());
                }
            }
        }
    }
}

/// Liveness.
#[utoipa::path(get, path = "/api/health", tag = "meta", responses((status = 200, body = HealthDto)))]
async fn health() -> Json<HealthDto> {
    Json(HealthDto {
        status: "ok".into(),
    })
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "the OpenAPI 3 document", content_type = "application/json")))]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Reads a JSON body the way the `Json` extractor does, errors as `{"message"}`.
pub(crate) async fn json_body<T: serde::de::DeserializeOwned>(req: Request) -> Result<T, ApiError> {
    use axum::extract::FromRequest;
    let Json(v) = Json::<T>::from_request(req, &())
        .await
        .map_err(crate::params::json_error)?;
    Ok(v)
}

fn forbidden(message: &str) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, message).into_response()
}

/// The content-type half of the CSRF guard for `/api/` (see the module doc).
async fn csrf_guard(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe {
        return next.run(req).await;
    }
    let h = req.headers();
    let json = h
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    let marked = h
        .get("x-strata-request")
        .is_some_and(|v| v.as_bytes() == b"1");
    if !json && !marked {
        return forbidden(
            "state-changing requests need Content-Type: application/json or X-Strata-Request: 1",
        );
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn document_lists_exactly_the_routes() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if ["get", "put", "post", "delete", "patch", "head"].contains(&method.as_str()) {
                    documented.insert((method.clone(), path.clone()));
                }
            }
        }
        let routes: BTreeSet<_> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(documented, routes);
    }

    #[test]
    fn responses_document_every_field_as_sent() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let required = |name: &str| -> BTreeSet<String> {
            serde_json::from_value(schemas[name]["required"].clone()).unwrap_or_default()
        };
        let plan = required("PlanDto");
        assert!(
            plan.contains("events") && plan.contains("bytes_freed"),
            "{plan:?}"
        );
        assert!(!plan.contains("conflict"), "nullable fields stay optional");
        assert!(required("ImageSummaryDto").contains("repo_tags"));
        assert_eq!(
            schemas["BulkItemDto"]["properties"]["plan"]["$ref"],
            "#/components/schemas/PlanDto"
        );
        assert!(
            !doc.to_string().contains("\"default\""),
            "no defaults on responses"
        );
        assert!(required("CreateContainerRequest").contains("image"));
        assert!(!required("CommitRequest").contains("changes"));
    }
}
