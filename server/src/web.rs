//! The built dashboard (trunk's `dist` directory) and the fallback for unknown routes.
//!
//! A `GET`/`HEAD` that matches no route and is not an API path gets a file from the web
//! directory; a page path (last segment without a `.`) that is not a file gets `index.html`, so
//! client-side routes survive a reload. Missing assets and unknown API paths get Docker's 404.
//! The dashboard is embedded in the binary when it was built before the server (see
//! `server/build.rs`), so a copied or installed `strata` serves it from any directory. An
//! explicit `--web-dir` wins and is looked at per request (`just web` while the server runs is
//! enough); without either, `web/dist` under the working directory is tried.

use crate::{not_found, AppState, RequestedVersion};
use axum::extract::{Request, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::path::Path;
use tower_http::services::{ServeDir, ServeFile};

/// True when this binary was built with the dashboard embedded (`server/build.rs` found a
/// built `web/dist`); `strata serve` without `--web-dir` then serves that copy.
pub fn has_embedded_dashboard() -> bool {
    !EMBEDDED.is_empty()
}

pub(crate) async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path();
    let is_read = req.method() == Method::GET || req.method() == Method::HEAD;
    if !is_read || req.extensions().get::<RequestedVersion>().is_some() || is_api_path(path) {
        return not_found().await.into_response();
    }
    let page = is_page_path(path);
    let web_dir = match state.web_dir() {
        Some(dir) => Some(dir),
        None if !EMBEDDED.is_empty() => return embedded(path, page),
        None => Some(Path::new(DEV_WEB_DIR)),
    };
    let dir = match web_dir {
        Some(dir) if dir.join("index.html").is_file() => dir.to_path_buf(),
        _ if page => return not_built(web_dir),
        _ => return not_found().await.into_response(),
    };
    let index = path == "/" || path == "/index.html";
    let res = match ServeDir::new(&dir).try_call(req).await {
        Ok(res) if res.status() == StatusCode::NOT_FOUND && page => {
            let req = Request::new(axum::body::Body::empty());
            match ServeFile::new(dir.join("index.html")).try_call(req).await {
                Ok(res) => return no_cache(res.into_response()),
                Err(e) => return internal(&dir, e),
            }
        }
        Ok(res) if res.status() == StatusCode::NOT_FOUND => {
            return not_found().await.into_response()
        }
        Ok(res) => res.into_response(),
        Err(e) => return internal(&dir, e),
    };
    if index {
        no_cache(res)
    } else {
        res
    }
}

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// Where a development build without an embedded dashboard looks for it.
const DEV_WEB_DIR: &str = "web/dist";

/// A file of the embedded dashboard; a page path that names no file gets `index.html`.
fn embedded(path: &str, page: bool) -> Response {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let found = EMBEDDED.iter().find(|(name, _)| *name == rel);
    let (name, body) = match found {
        Some(&(name, body)) => (name, body),
        None if page => match EMBEDDED.iter().find(|(name, _)| *name == "index.html") {
            Some(&(name, body)) => (name, body),
            None => return not_built(None),
        },
        None => return crate::ApiError::not_found("page not found").into_response(),
    };
    let mut res = (
        [(axum::http::header::CONTENT_TYPE, content_type(name))],
        body,
    )
        .into_response();
    if name == "index.html" {
        res = no_cache(res);
    }
    res
}

/// The media type of a dashboard asset, by extension (what trunk emits).
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") | Some("map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Paths that belong to an API, never to the dashboard.
fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/_ping"
}

/// A path the browser navigates to, as opposed to an asset (`/app-1f2e.wasm`).
fn is_page_path(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    !last.contains('.') || last == "index.html"
}

/// `index.html` names the hashed assets of the current build, so it must be revalidated.
fn no_cache(mut res: Response) -> Response {
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

fn internal(dir: &Path, e: std::io::Error) -> Response {
    eprintln!("strata: web dir {}: {e}", dir.display());
    crate::ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

fn not_built(web_dir: Option<&Path>) -> Response {
    let looked = match web_dir {
        Some(d) => format!(
            "<p>Looked for <code>{}</code>.</p>",
            escape(&d.join("index.html").display().to_string())
        ),
        None => "<p>No web directory was configured.</p>".to_string(),
    };
    let page = format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Strata</title>
<style>:root{{color-scheme:light dark}}body{{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}</style>
</head>
<body>
<main>
<h1>Strata</h1>
<p>The dashboard is not built.</p>
{looked}
<p>Build it with <code>just web</code> (or <code>trunk build --release</code>), then reload this page.
The Docker Engine API and <code>/api/</code> work without it.</p>
</main>
</body>
</html>
"#
    );
    no_cache(Html(page).into_response())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_paths() {
        assert!(is_page_path("/"));
        assert!(is_page_path("/images"));
        assert!(is_page_path("/images/sha256:abc"));
        assert!(is_page_path("/index.html"));
        assert!(!is_page_path("/strata-web-1f2e.wasm"));
        assert!(!is_page_path("/favicon.ico"));
    }

    #[test]
    fn api_paths() {
        assert!(is_api_path("/api"));
        assert!(is_api_path("/api/images"));
        assert!(!is_api_path("/apis"));
        assert!(!is_api_path("/"));
    }
}
