//! The built dashboard (trunk's `dist` directory) and the fallback for unknown routes.
//!
//! A `GET`/`HEAD` that matches no route and is not an API path gets a file from the web
//! directory; a page path (last segment without a `.`) that is not a file gets `index.html`, so
//! client-side routes survive a reload. Missing assets and unknown API paths get Docker's 404.
//! The dashboard is embedded in the binary when it was built before the server (see
//! `server/build.rs`), so a copied or installed `strata` serves it from any directory. An
//! explicit `--web-dir` wins and is looked at per request (`just web` while the server runs is
//! enough); without either, `web/dist` under the working directory is tried.
//!
//! Files are sent compressed when the build made compressed copies (`<file>.br`, `<file>.gz`,
//! written by `crates/precompress`, Trunk's post-build hook) and the client accepts them:
//! brotli first, then gzip, else the file itself, with `Content-Encoding` and
//! `Vary: Accept-Encoding`, from the directory and from the embedded copy alike. Trunk names
//! assets by their content hash, so they are cached for a year (`immutable`); `index.html`,
//! which names the current ones, is revalidated (`no-cache`).

use crate::{not_found, AppState, RequestedVersion};
use axum::extract::{Request, State};
use axum::http::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::path::Path;
use tower_http::services::{ServeDir, ServeFile};

/// True when this binary was built with the dashboard embedded (`server/build.rs` found a
/// built `web/dist`); `strata serve` without `--web-dir` then serves that copy.
pub fn has_embedded_dashboard() -> bool {
    !EMBEDDED.is_empty()
}

pub(crate) async fn fallback(State(state): State<AppState>, mut req: Request) -> Response {
    let path = req.uri().path().to_string();
    let path = path.as_str();
    let is_read = req.method() == Method::GET || req.method() == Method::HEAD;
    if !is_read || req.extensions().get::<RequestedVersion>().is_some() || is_api_path(path) {
        return not_found().await.into_response();
    }
    let page = is_page_path(path);
    let web_dir = match state.web_dir() {
        Some(dir) => Some(dir),
        None if !EMBEDDED.is_empty() => return embedded(req.headers(), path, page),
        None => Some(Path::new(DEV_WEB_DIR)),
    };
    let dir = match web_dir {
        Some(dir) if dir.join("index.html").is_file() => dir.to_path_buf(),
        _ if page => return not_built(web_dir),
        _ => return not_found().await.into_response(),
    };
    let name = match path {
        "/" => "index.html".to_string(),
        _ => path.to_string(),
    };
    // `ServeDir` picks among the copies on disk; it is told the coding chosen here, so both
    // sources answer a header alike (it would ignore `*`)
    let wanted = match negotiate(req.headers().get(ACCEPT_ENCODING)) {
        Encoding::Brotli => Some("br, gzip;q=0.5"),
        Encoding::Gzip => Some("gzip"),
        Encoding::Identity => None,
    };
    match wanted {
        Some(w) => req
            .headers_mut()
            .insert(ACCEPT_ENCODING, HeaderValue::from_static(w)),
        None => req.headers_mut().remove(ACCEPT_ENCODING),
    };
    let mut serve = ServeDir::new(&dir).precompressed_br().precompressed_gzip();
    let res = match serve.try_call(req).await {
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
    caching(res, &name)
}

/// One file of the embedded dashboard and its compressed copies, when the build made them.
pub(crate) struct Asset {
    /// The path relative to `web/dist`.
    name: &'static str,
    /// The file.
    raw: &'static [u8],
    /// `<name>.br`.
    br: Option<&'static [u8]>,
    /// `<name>.gz`.
    gz: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// Where a development build without an embedded dashboard looks for it.
const DEV_WEB_DIR: &str = "web/dist";

/// A file of the embedded dashboard; a page path that names no file gets `index.html`.
fn embedded(headers: &HeaderMap, path: &str, page: bool) -> Response {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let find = |rel: &str| EMBEDDED.iter().find(|a| a.name == rel);
    let asset = match find(rel) {
        Some(asset) => asset,
        None if page => match find("index.html") {
            Some(asset) => asset,
            None => return not_built(None),
        },
        None => return crate::ApiError::not_found("page not found").into_response(),
    };
    let (body, encoding) = match negotiate(headers.get(ACCEPT_ENCODING)) {
        Encoding::Brotli if asset.br.is_some() => (asset.br, Some("br")),
        Encoding::Brotli | Encoding::Gzip if asset.gz.is_some() => (asset.gz, Some("gzip")),
        _ => (None, None),
    };
    let mut res = (
        [(CONTENT_TYPE, content_type(asset.name))],
        body.unwrap_or(asset.raw),
    )
        .into_response();
    if let Some(encoding) = encoding {
        res.headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    caching(res, asset.name)
}

/// A content coding the dashboard's files come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// The coding to answer `Accept-Encoding` with: the one with the highest weight among brotli
/// and gzip, brotli on a tie (it is the smaller), neither when both weigh 0 or the header is
/// absent (RFC 9110 §12.5.3: `*` weighs the codings not named, `q=0` refuses one). When the
/// chosen copy is missing, gzip and then the file itself are sent, as `ServeDir` does.
fn negotiate(accept: Option<&HeaderValue>) -> Encoding {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return Encoding::Identity;
    };
    let (mut br, mut gzip, mut any) = (None, None, None);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
        }
        match coding.as_str() {
            "br" => br = Some(q),
            "gzip" | "x-gzip" => gzip = Some(q),
            "*" => any = Some(q),
            _ => {}
        }
    }
    let br = br.or(any).unwrap_or(0.0);
    let gzip = gzip.or(any).unwrap_or(0.0);
    if br > 0.0 && br >= gzip {
        Encoding::Brotli
    } else if gzip > 0.0 {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

/// The caching headers of a dashboard file: `index.html` is revalidated, an asset named by its
/// content hash is kept for a year, anything else is left to `Last-Modified`; every file may
/// come compressed, so caches key it by `Accept-Encoding`.
fn caching(mut res: Response, name: &str) -> Response {
    if !res.status().is_success() {
        return res;
    }
    let headers = res.headers_mut();
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    let name = name.rsplit('/').next().unwrap_or(name);
    if name == "index.html" {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    } else if is_hashed(name) {
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    res
}

/// A name Trunk gave a content hash (a 64-bit hash in hex, without leading zeros):
/// `strata-web-868fd0c22ea84fe5_bg.wasm`, `style-29a88d51c36366e.css`.
fn is_hashed(name: &str) -> bool {
    name.match_indices('-').any(|(i, _)| {
        let rest = &name[i + 1..];
        let hex = rest
            .bytes()
            .take_while(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
            .count();
        (12..=16).contains(&hex) && matches!(rest.as_bytes().get(hex), Some(b'.' | b'_'))
    })
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
    fn accept_encoding_picks_brotli_then_gzip() {
        let pick = |v: &str| negotiate(Some(&HeaderValue::from_str(v).unwrap()));
        assert_eq!(negotiate(None), Encoding::Identity);
        for v in [
            "br",
            "gzip, deflate, br, zstd",
            "br;q=1, gzip;q=1",
            "*",
            "gzip;q=0.5, *",
        ] {
            assert_eq!(pick(v), Encoding::Brotli, "{v}");
        }
        for v in [
            "gzip",
            "x-gzip",
            "GZIP;Q=0.8",
            "br;q=0, gzip",
            "gzip;q=1, br;q=0.5",
            "*;q=0.1, gzip",
        ] {
            assert_eq!(pick(v), Encoding::Gzip, "{v}");
        }
        for v in [
            "",
            "identity",
            "deflate",
            "br;q=0, gzip;q=0",
            "*;q=0",
            "zstd",
        ] {
            assert_eq!(pick(v), Encoding::Identity, "{v}");
        }
    }

    #[test]
    fn hashed_asset_names() {
        assert!(is_hashed("strata-web-868fd0c22ea84fe5_bg.wasm"));
        assert!(is_hashed("style-ab4cbc32f25f9aa8.css"));
        assert!(is_hashed("style-29a88d51c36366e.css"));
        assert!(!is_hashed("addon-fit.js"));
        assert!(!is_hashed("a-0123456789abcdef0.js"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("strata-web-1f2e.js"));
        assert!(!is_hashed("favicon.svg"));
    }

    #[test]
    fn api_paths() {
        assert!(is_api_path("/api"));
        assert!(is_api_path("/api/images"));
        assert!(!is_api_path("/apis"));
        assert!(!is_api_path("/"));
    }
}
