//! The store as a registry to pull from: the OCI distribution API's read side under `/v2/`
//! (`docker pull 127.0.0.1:2375/app:1`, `skopeo copy docker://…`, `strata pull`), over
//! [`engine::Engine::registry_manifest`] and [`engine::Engine::registry_blob`]: each image's
//! OCI manifest, its config, and its layers (a pulled layer as the blob it was pulled as, any
//! other as its uncompressed tar). Pushing is not served: every other method answers
//! `405 UNSUPPORTED`. Errors are the spec's `{"errors": [{"code", "message"}]}`.

use crate::bridge::stream_blocking;
use crate::{ApiError, AppState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::json;

const API_VERSION: HeaderName = HeaderName::from_static("docker-distribution-api-version");
const CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2", any(dispatch))
        .route("/v2/", any(dispatch))
        .route("/v2/{*rest}", any(dispatch))
}

/// An error as the distribution spec words it.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut res = (
        status,
        [(CONTENT_TYPE, "application/json")],
        json!({ "errors": [{ "code": code, "message": message, "detail": null }] }).to_string(),
    )
        .into_response();
    res.headers_mut()
        .insert(API_VERSION, HeaderValue::from_static("registry/2.0"));
    res
}

/// An engine error: a missing repository is `NAME_UNKNOWN`, anything else missing `unknown`
/// (the endpoint's own code).
fn engine_error(e: ApiError, unknown: &str) -> Response {
    if e.status == StatusCode::NOT_FOUND {
        let code = if e.message.starts_with("repository name not known") {
            "NAME_UNKNOWN"
        } else {
            unknown
        };
        return error(StatusCode::NOT_FOUND, code, &e.message);
    }
    error(e.status, "UNKNOWN", &e.message)
}

/// An answer: `body` (nothing for `HEAD`), with its type, length, digest when it names a
/// blob or manifest, and the API version.
fn headed(body: Body, content_type: &'static str, len: u64, digest: Option<&str>) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CONTENT_LENGTH, HeaderValue::from(len));
    if let Some(v) = digest.and_then(|d| HeaderValue::from_str(d).ok()) {
        h.insert(CONTENT_DIGEST, v);
    }
    h.insert(API_VERSION, HeaderValue::from_static("registry/2.0"));
    res
}

/// Whether `path` is the registry API's (`/v2`, `/v2/…`), never an Engine API version's.
pub(crate) fn is_registry_path(path: &str) -> bool {
    path == "/v2" || path.starts_with("/v2/")
}

/// A repository name from a request path, or the spec's `NAME_INVALID`.
fn repository(name: &str) -> Result<String, Box<Response>> {
    if image_ref::is_repository_path(name) {
        Ok(name.to_string())
    } else {
        Err(Box::new(error(
            StatusCode::NOT_FOUND,
            "NAME_INVALID",
            "invalid repository name",
        )))
    }
}

async fn dispatch(State(st): State<AppState>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let rest = path
        .strip_prefix("/v2")
        .unwrap_or("")
        .trim_start_matches('/');
    if method != Method::GET && method != Method::HEAD {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "this registry serves pulls only: push to another registry, or move images with docker save and load",
        );
    }
    let head = method == Method::HEAD;
    if rest.is_empty() {
        return json_reply(json!({}), head);
    }
    // a list's page (`?n=&last=`), read only where a list is asked for
    let tags_of = rest.strip_suffix("/tags/list");
    let page = if rest == "_catalog" || tags_of.is_some() {
        match Page::of(req.uri().query().unwrap_or("")) {
            Ok(p) => p,
            Err(m) => return error(StatusCode::BAD_REQUEST, "PAGINATION_NUMBER_INVALID", &m),
        }
    } else {
        Page::default()
    };
    if rest == "_catalog" {
        return match st.run(|e| e.registry_catalog()).await {
            Ok(names) => {
                let (names, next) = page.cut(names, &path);
                with_next(json_reply(json!({ "repositories": names }), head), next)
            }
            Err(e) => engine_error(e, "NAME_UNKNOWN"),
        };
    }
    if let Some(name) = tags_of {
        let name = name.to_string();
        let n2 = name.clone();
        return match st.run(move |e| e.registry_tags(&n2)).await {
            Ok(tags) => {
                let (tags, next) = page.cut(tags, &path);
                with_next(
                    json_reply(json!({ "name": name, "tags": tags }), head),
                    next,
                )
            }
            Err(e) => engine_error(e, "NAME_UNKNOWN"),
        };
    }
    if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        let name = match repository(name) {
            Ok(n) => n,
            Err(res) => return *res,
        };
        let reference = reference.to_string();
        return match st
            .run(move |e| e.registry_manifest(&name, &reference))
            .await
        {
            Ok(m) => {
                let len = m.bytes.len() as u64;
                let body = if head {
                    Body::empty()
                } else {
                    Body::from(m.bytes)
                };
                headed(body, m.media_type, len, Some(&m.digest.to_string()))
            }
            Err(e) => engine_error(e, "MANIFEST_UNKNOWN"),
        };
    }
    if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
        let name = match repository(name) {
            Ok(n) => n,
            Err(res) => return *res,
        };
        let digest = digest.to_string();
        let (n2, d2) = (name.clone(), digest.clone());
        // its length first (and whether it is there at all), then its bytes
        let len = match st
            .run(move |e| e.registry_blob(&n2, &d2).map(|(_, len)| len))
            .await
        {
            Ok(len) => len,
            Err(e) => return engine_error(e, "BLOB_UNKNOWN"),
        };
        let body = if head {
            Body::empty()
        } else {
            let d3 = digest.clone();
            match stream_blocking(&st, move |e, w| e.registry_send_blob(&name, &d3, w)).await {
                Ok(body) => body,
                Err(e) => return engine_error(e, "BLOB_UNKNOWN"),
            }
        };
        return headed(body, "application/octet-stream", len, Some(&digest));
    }
    error(
        StatusCode::NOT_FOUND,
        "UNSUPPORTED",
        "no such registry endpoint",
    )
}

/// A list's page: `?n=` entries at most, those after `?last=` (the spec's pagination of the
/// catalog and of a repository's tags).
#[derive(Default)]
struct Page {
    n: Option<usize>,
    last: Option<String>,
}

impl Page {
    fn of(query: &str) -> Result<Page, String> {
        let pairs = crate::params::url_pairs(query);
        let n = match crate::params::first(&pairs, "n") {
            None | Some("") => None,
            Some(v) => Some(
                v.parse::<usize>()
                    .map_err(|_| format!("n {v:?}: not a number of entries"))?,
            ),
        };
        let last = crate::params::first(&pairs, "last")
            .filter(|l| !l.is_empty())
            .map(str::to_string);
        Ok(Page { n, last })
    }

    /// The page of the sorted `all`, and the `Link` to the next one when there is more.
    fn cut(&self, all: Vec<String>, path: &str) -> (Vec<String>, Option<String>) {
        let after: Vec<String> = match &self.last {
            Some(last) => all.into_iter().filter(|x| x > last).collect(),
            None => all,
        };
        match self.n {
            Some(n) if after.len() > n => {
                let page: Vec<String> = after.into_iter().take(n).collect();
                let next = page.last().map(|l| {
                    format!(
                        "<{path}?last={}&n={n}>; rel=\"next\"",
                        percent_encoding::utf8_percent_encode(
                            l,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    )
                });
                (page, next)
            }
            _ => (after, None),
        }
    }
}

fn with_next(mut res: Response, next: Option<String>) -> Response {
    if let Some(v) = next.and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(axum::http::header::LINK, v);
    }
    res
}

fn json_reply(v: serde_json::Value, head: bool) -> Response {
    let body = v.to_string();
    let len = body.len() as u64;
    let body = if head {
        Body::empty()
    } else {
        Body::from(body)
    };
    headed(body, "application/json", len, None)
}
