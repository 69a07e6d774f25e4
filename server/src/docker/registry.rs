//! Registry endpoints: pull (`POST /images/create?fromImage=`), push
//! (`POST /images/{name}/push`), `GET /images/search` and `POST /auth`, with Docker's JSON
//! message streams. Credentials come from `X-Registry-Auth` when the client sends them, else
//! from the server's own `config.json`.

use crate::bridge::{stream_blocking, ChanWriter};
use crate::params::first;
use crate::{ApiError, AppState};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::config::{config_dir, AuthFile, Config};
use engine::{Progress, RegistryEnv};
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::Mutex;

/// moby's `AuthConfig` (what `X-Registry-Auth` and `POST /auth` carry).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuthConfig {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    serveraddress: String,
}

/// The registry environment for one request: the server's configuration plus the client's
/// `X-Registry-Auth` credentials for `registry`, when it sent any.
pub(crate) fn env_for(headers: &HeaderMap, registry: &str) -> Result<RegistryEnv, ApiError> {
    let dir = config_dir();
    let config = Config::load(&dir).map_err(ApiError::from)?;
    let mut auth = AuthFile::load(&dir).map_err(ApiError::from)?;
    if let Some(h) = headers.get("x-registry-auth").and_then(|v| v.to_str().ok()) {
        if let Some(raw) = engine::config::base64_decode(h) {
            if let Ok(a) = serde_json::from_slice::<AuthConfig>(&raw) {
                if !a.username.is_empty() {
                    let target = if a.serveraddress.is_empty() {
                        registry.to_string()
                    } else {
                        image_ref::registry_host(&a.serveraddress).to_string()
                    };
                    auth.set(&target, &a.username, &a.password);
                }
            }
        }
    }
    Ok(RegistryEnv::new(&config, &auth))
}

/// One progress message in moby's stream format.
fn message(p: &Progress) -> Value {
    docker_api::progress_message(p.id.as_deref(), &p.status, p.current, p.total)
}

fn write_line(w: &Mutex<&mut ChanWriter>, v: &Value) {
    let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
    let _ = w.write_all(format!("{v}\r\n").as_bytes());
    let _ = w.flush();
}

fn json_body(body: Body) -> Response {
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}

/// `POST /images/create?fromImage=…&tag=…`: a pull, streamed.
pub(crate) async fn pull(
    st: AppState,
    q: Vec<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let image = first(&q, "fromImage")
        .unwrap_or("")
        .trim_end_matches(':')
        .to_string();
    if image == "scratch" || image == "docker.io/library/scratch" {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "'scratch' is a reserved name",
        ));
    }
    let reference = image_ref::Reference::parse_normalized(&image)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let tag = first(&q, "tag")
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let platform = match first(&q, "platform").filter(|p| !p.is_empty()) {
        Some(p) => Some(engine::parse_platform(p).map_err(ApiError::from)?),
        None => None,
    };
    let env = env_for(&headers, reference.domain())?;
    let target = match &tag {
        Some(t) if t.starts_with("sha256:") => Some(format!("{image}@{t}")),
        Some(t) => Some(format!("{image}:{t}")),
        None => None,
    };
    let body = stream_blocking(&st, move |e, w| {
        let w = Mutex::new(w);
        let show = |p: Progress| write_line(&w, &message(&p));
        let result = match &target {
            Some(t) => e.pull(&env, t, platform.as_ref(), &show).map(|_| ()),
            None => e
                .pull_all_tags(&env, &image, platform.as_ref(), &show)
                .map(|_| ()),
        };
        if let Err(err) = result {
            if !w.lock().unwrap_or_else(|x| x.into_inner()).written() {
                return Err(err);
            }
            write_line(
                &w,
                &json!({ "errorDetail": { "message": err.to_string() }, "error": err.to_string() }),
            );
        }
        Ok(())
    })
    .await?;
    Ok(json_body(body))
}

/// `POST /images/{name}/push?tag=`.
pub(crate) async fn push(
    st: AppState,
    name: String,
    tag: Option<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reference = image_ref::Reference::parse_normalized(&name)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let env = env_for(&headers, reference.domain())?;
    let target = match tag.filter(|t| !t.is_empty()) {
        Some(t) => format!("{name}:{t}"),
        None => name.clone(),
    };
    let body = stream_blocking(&st, move |e, w| {
        let w = Mutex::new(w);
        let show = |p: Progress| write_line(&w, &message(&p));
        match e.push(&env, &target, &show) {
            Ok(out) => {
                write_line(&w, &json!({ "progressDetail": {}, "aux": { "Tag": out.tag, "Digest": out.digest.to_string(), "Size": out.size } }));
                Ok(())
            }
            Err(err) => {
                if !w.lock().unwrap_or_else(|x| x.into_inner()).written() {
                    return Err(err);
                }
                write_line(&w, &json!({ "errorDetail": { "message": err.to_string() }, "error": err.to_string() }));
                Ok(())
            }
        }
    })
    .await?;
    Ok(json_body(body))
}

/// `GET /images/search?term=&limit=&filters=`.
pub(crate) async fn search(
    State(st): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let term = first(&q, "term").unwrap_or("").to_string();
    let limit: usize = match first(&q, "limit").filter(|l| !l.is_empty()) {
        None => 25,
        Some(l) => l
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?,
    };
    let limit = if limit == 0 { 25 } else { limit };
    if limit > 100 {
        return Err(ApiError::bad_request(format!(
            "limit {limit} is outside the range of [1, 100]"
        )));
    }
    let filters = crate::params::parse_filters(first(&q, "filters"))?;
    let filters = engine::SearchFilters::parse(&filters).map_err(ApiError::from)?;
    let env = env_for(&headers, "docker.io")?;
    let results = st
        .run(move |e| e.search(&env, &term, limit, &filters))
        .await?;
    Ok(Json(Value::Array(
        results
            .into_iter()
            .map(|r| {
                docker_api::search_result(&docker_api::SearchFacts {
                    name: &r.name,
                    description: &r.description,
                    stars: r.stars,
                    official: r.official,
                })
            })
            .collect(),
    )))
}

/// `POST /auth`: checks credentials against the registry (the docker CLI stores them itself).
pub(crate) async fn auth(Json(a): Json<AuthConfig>) -> Result<Json<Value>, ApiError> {
    let registry = image_ref::registry_host(&a.serveraddress).to_string();
    let config = Config::load(&config_dir()).map_err(ApiError::from)?;
    tokio::task::spawn_blocking(move || {
        engine::check_login(&config, &registry, &a.username, &a.password)
    })
    .await
    .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(ApiError::from)?;
    Ok(Json(
        json!({ "Status": "Login Succeeded", "IdentityToken": "" }),
    ))
}
