//! Team mode (`strata serve --auth`): every request but `/_ping`, `/version` and the dashboard's
//! files carries `Authorization: Bearer <token>` (or, from a registry client, Basic with the
//! token as its password); the token's role decides what it may do:
//! viewers read, operators also pull, tag, commit, push, load, import and manage containers,
//! admins also delete images, prune and read the audit log. [`ROUTE_ROLES`] is the one table of
//! every route's role. Every accepted change is appended to the audit log with the token's name
//! and the outcome.

use crate::{ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use engine::Role;

const V: Option<Role> = Some(Role::Viewer);
const OP: Option<Role> = Some(Role::Operator);
const ADMIN: Option<Role> = Some(Role::Admin);

/// The role each route needs, the only place roles are decided: (method, path pattern, role),
/// `None` for what anyone may fetch. Paths are as routed (version prefix stripped); `{x}` is
/// one path segment, `{x*}` one or more (image names hold `/`); `*` is any method. The first
/// match wins. A request matching no row needs the viewer role to read and the admin role for
/// anything else (they answer 404, but an unlisted route is never open by mistake), except
/// outside the API, where the dashboard's own files are open.
pub const ROUTE_ROLES: &[(&str, &str, Option<Role>)] = &[
    ("GET", "/_ping", None),
    ("HEAD", "/_ping", None),
    ("GET", "/version", None),
    ("GET", "/api/health", None),
    // Docker: system
    ("GET", "/info", V),
    ("GET", "/events", V),
    ("GET", "/system/df", V),
    ("GET", "/images/search", V),
    ("GET", "/networks", V),
    ("GET", "/networks/{id}", V),
    ("POST", "/auth", V),
    // Docker: images
    ("GET", "/images/json", V),
    ("POST", "/images/prune", ADMIN),
    ("POST", "/images/create", OP),
    ("GET", "/images/get", V),
    ("POST", "/images/load", OP),
    ("POST", "/build", OP),
    ("GET", "/images/{name*}/json", V),
    ("GET", "/images/{name*}/history", V),
    ("GET", "/images/{name*}/get", V),
    ("POST", "/images/{name*}/tag", OP),
    ("POST", "/images/{name*}/push", OP),
    ("DELETE", "/images/{name*}", ADMIN),
    // Docker: containers
    ("POST", "/containers/create", OP),
    ("GET", "/containers/json", V),
    ("GET", "/containers/{id}/json", V),
    ("DELETE", "/containers/{id}", OP),
    ("GET", "/containers/{id}/changes", V),
    ("GET", "/containers/{id}/export", V),
    ("GET", "/containers/{id}/archive", V),
    ("HEAD", "/containers/{id}/archive", V),
    ("PUT", "/containers/{id}/archive", OP),
    ("POST", "/commit", OP),
    ("POST", "/containers/prune", ADMIN),
    ("POST", "/networks/prune", ADMIN),
    ("GET", "/volumes", V),
    ("POST", "/volumes/create", OP),
    ("POST", "/volumes/prune", ADMIN),
    ("GET", "/volumes/{name}", V),
    ("DELETE", "/volumes/{name}", ADMIN),
    ("POST", "/build/prune", ADMIN),
    ("POST", "/containers/{id}/start", OP),
    ("POST", "/containers/{id}/stop", OP),
    ("POST", "/containers/{id}/kill", OP),
    ("POST", "/containers/{id}/restart", OP),
    ("POST", "/containers/{id}/pause", OP),
    ("POST", "/containers/{id}/unpause", OP),
    ("POST", "/containers/{id}/wait", V),
    ("GET", "/containers/{id}/logs", V),
    ("GET", "/containers/{id}/top", V),
    ("GET", "/containers/{id}/stats", V),
    ("POST", "/containers/{id}/update", OP),
    ("POST", "/containers/{id}/resize", OP),
    ("POST", "/containers/{id}/attach", OP),
    ("POST", "/containers/{id}/rename", OP),
    ("POST", "/containers/{id}/exec", OP),
    ("POST", "/exec/{id}/start", OP),
    ("POST", "/exec/{id}/resize", OP),
    ("GET", "/exec/{id}/json", V),
    ("*", "/containers/{id}/{action}", OP),
    ("*", "/exec/{id}/{action}", OP),
    // the dashboard API
    ("GET", "/api/audit", ADMIN),
    ("GET", "/api/openapi.json", V),
    ("GET", "/api/events", V),
    ("GET", "/api/images", V),
    ("GET", "/api/rmi-plan", V),
    ("GET", "/api/layers", V),
    ("GET", "/api/prune-plan", V),
    ("POST", "/api/prune", ADMIN),
    ("GET", "/api/disk-usage", V),
    // a build runs its RUN steps in containers and tags: like `POST /build`
    ("POST", "/api/build", OP),
    ("GET", "/api/images/{name*}/rmi-plan", V),
    ("GET", "/api/images/{name*}/tree", V),
    ("GET", "/api/images/{name*}/compare", V),
    ("GET", "/api/images/{name*}/files", V),
    ("POST", "/api/images/{name*}/tag", OP),
    ("GET", "/api/images/{name*}", V),
    ("DELETE", "/api/images/{name*}", ADMIN),
    ("GET", "/api/containers", V),
    ("POST", "/api/containers", OP),
    ("GET", "/api/containers/{id}", V),
    ("DELETE", "/api/containers/{id}", OP),
    ("GET", "/api/containers/{id}/diff", V),
    ("GET", "/api/containers/{id}/tree", V),
    ("GET", "/api/containers/{id}/files", V),
    ("PUT", "/api/containers/{id}/files", OP),
    ("DELETE", "/api/containers/{id}/files", OP),
    ("POST", "/api/containers/{id}/mkdir", OP),
    ("POST", "/api/containers/{id}/commit", OP),
    ("POST", "/api/containers/{id}/start", OP),
    ("POST", "/api/containers/{id}/stop", OP),
    ("POST", "/api/containers/{id}/kill", OP),
    ("POST", "/api/containers/{id}/pause", OP),
    ("POST", "/api/containers/{id}/unpause", OP),
    ("POST", "/api/containers/{id}/restart", OP),
    ("GET", "/api/containers/{id}/logs", V),
    ("GET", "/api/containers/{id}/top", V),
    ("GET", "/api/containers/{id}/mark", V),
    // a WebSocket that runs a shell or joins the container's TTY: like attach and exec
    ("GET", "/api/containers/{id}/terminal", OP),
    // the registry API: pulls only (other methods are refused by it)
    ("GET", "/v2", V),
    ("HEAD", "/v2", V),
    ("GET", "/v2/", V),
    ("HEAD", "/v2/", V),
    ("GET", "/v2/{name*}", V),
    ("HEAD", "/v2/{name*}", V),
];

/// The role a request needs (see [`ROUTE_ROLES`]).
pub(crate) fn required_role(method: &Method, path: &str) -> Option<Role> {
    let path_segments: Vec<&str> = path.split('/').skip(1).collect();
    for (m, pattern, role) in ROUTE_ROLES {
        if (*m == "*" || *m == method.as_str()) && pattern_matches(pattern, &path_segments) {
            return *role;
        }
    }
    let api = path.starts_with("/api/") || path == "/api";
    if !api && !is_docker_path(path) {
        return None; // the dashboard's own files
    }
    if matches!(*method, Method::GET | Method::HEAD) {
        V
    } else {
        ADMIN
    }
}

/// `pattern` (see [`ROUTE_ROLES`]) against a path's segments.
fn pattern_matches(pattern: &str, path: &[&str]) -> bool {
    fn go(p: &[&str], s: &[&str]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((seg, rest)) if seg.starts_with('{') && seg.ends_with("*}") => {
                // one or more segments, leaving enough for the rest of the pattern
                (1..=s.len().saturating_sub(rest.len()))
                    .any(|n| s[..n].iter().all(|x| !x.is_empty()) && go(rest, &s[n..]))
            }
            Some((seg, rest)) => match s.split_first() {
                Some((x, more)) if seg.starts_with('{') => !x.is_empty() && go(rest, more),
                Some((x, more)) => x == seg && go(rest, more),
                None => false,
            },
        }
    }
    let p: Vec<&str> = pattern.split('/').skip(1).collect();
    go(&p, path)
}

fn is_docker_path(path: &str) -> bool {
    [
        "/images",
        "/containers",
        "/commit",
        "/info",
        "/events",
        "/system",
        "/auth",
        "/exec",
        "/build",
        "/networks",
    ]
    .iter()
    .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// The token of an `Authorization` value: `Bearer <token>`, or the password of `Basic` (what
/// a registry client sends after `docker login -u NAME -p TOKEN`; the name is not checked).
fn token_of(value: &str) -> Option<String> {
    use base64::Engine as _;
    if let Some(t) = value.strip_prefix("Bearer ") {
        return Some(t.to_string());
    }
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (_, password) = text.split_once(':')?;
    (!password.is_empty()).then(|| password.to_string())
}

/// Checks the token and role; audits accepted changes.
pub(crate) async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let Some(need) = required_role(&method, &path) else {
        return next.run(req).await;
    };
    let token = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(token_of);
    let registry = crate::distribution::is_registry_path(&path);
    let Some(token) = token else {
        let mut res = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication required: send Authorization: Bearer <token>",
        )
        .into_response();
        // a registry client (dockerd, skopeo, strata pull) logs in when challenged, then
        // sends the token as its password
        if registry {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"strata\""),
            );
        }
        return res;
    };
    let principal = match st.run(move |e| e.verify_token(&token)).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return ApiError::new(StatusCode::UNAUTHORIZED, "invalid token").into_response()
        }
        Err(e) => return e.into_response(),
    };
    if principal.role < need {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} (role {}) may not {method} {path}: it needs the {} role",
                principal.name,
                principal.role.name(),
                need.name()
            ),
        )
        .into_response();
    }
    let res = next.run(req).await;
    if need > Role::Viewer {
        let status = res.status();
        let result = if status.is_success() {
            "ok".to_string()
        } else {
            format!("error {}", status.as_u16())
        };
        let (who, action) = (principal.name.clone(), format!("{method} {path}"));
        let _ = st
            .run(move |e| e.audit(&who, &action, &path, &result))
            .await;
    }
    res
}

/// `GET /api/audit?limit=`: the audit log (admins).
pub(crate) async fn audit_log(
    State(st): State<AppState>,
    crate::params::FirstQuery(q): crate::params::FirstQuery<
        std::collections::HashMap<String, String>,
    >,
) -> Result<axum::Json<Vec<engine::AuditRecord>>, ApiError> {
    let limit = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
    Ok(axum::Json(st.run(move |e| e.audit_log(limit)).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_comes_as_bearer_or_as_a_basic_password() {
        use base64::Engine as _;
        let basic = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert_eq!(token_of("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(token_of(&basic("ann:abc")).as_deref(), Some("abc"));
        assert_eq!(token_of(&basic("ann:a:b")).as_deref(), Some("a:b"));
        assert_eq!(token_of(&basic("ann:")), None);
        assert_eq!(token_of(&basic("no colon")), None);
        assert_eq!(token_of("Basic !!!"), None);
        assert_eq!(token_of("Digest x"), None);
    }

    #[test]
    fn roles_per_route() {
        let r = |m: Method, p: &str| required_role(&m, p);
        assert_eq!(r(Method::HEAD, "/_ping"), None);
        assert_eq!(r(Method::GET, "/index.html"), None);
        assert_eq!(r(Method::GET, "/images/json"), Some(Role::Viewer));
        assert_eq!(r(Method::GET, "/api/images"), Some(Role::Viewer));
        assert_eq!(r(Method::POST, "/images/bb/tag"), Some(Role::Operator));
        assert_eq!(r(Method::POST, "/images/create"), Some(Role::Operator));
        assert_eq!(r(Method::POST, "/commit"), Some(Role::Operator));
        assert_eq!(r(Method::DELETE, "/containers/x"), Some(Role::Operator));
        assert_eq!(r(Method::DELETE, "/images/bb"), Some(Role::Admin));
        assert_eq!(r(Method::DELETE, "/images/my/app:1"), Some(Role::Admin));
        assert_eq!(r(Method::GET, "/images/my/app:1/json"), Some(Role::Viewer));
        assert_eq!(r(Method::POST, "/images/prune"), Some(Role::Admin));
        assert_eq!(r(Method::POST, "/api/prune"), Some(Role::Admin));
        assert_eq!(r(Method::DELETE, "/api/images/bb:1"), Some(Role::Admin));
        assert_eq!(
            r(Method::GET, "/api/images/my/app:1/tree"),
            Some(Role::Viewer)
        );
        assert_eq!(
            r(Method::POST, "/api/images/my/app:1/tag"),
            Some(Role::Operator)
        );
        // the audit log is the admins'
        assert_eq!(r(Method::GET, "/api/audit"), Some(Role::Admin));
        // unlisted: reads need a viewer, anything else an admin; the dashboard's files are open
        assert_eq!(r(Method::GET, "/api/nope"), Some(Role::Viewer));
        assert_eq!(r(Method::POST, "/api/nope"), Some(Role::Admin));
        assert_eq!(r(Method::POST, "/images"), Some(Role::Admin));
        assert_eq!(r(Method::GET, "/assets/app.js"), None);
    }

    #[test]
    fn every_dashboard_route_has_a_row() {
        for (method, path) in crate::API_ROUTES {
            let method = method.to_ascii_uppercase();
            let pattern = path.replace("{name}", "{name*}");
            assert!(
                ROUTE_ROLES
                    .iter()
                    .any(|(m, p, _)| *m == method && *p == pattern),
                "{method} {path} has no row in ROUTE_ROLES"
            );
        }
    }

    #[test]
    fn patterns() {
        let m = |p: &str, path: &str| {
            let segs: Vec<&str> = path.split('/').skip(1).collect();
            pattern_matches(p, &segs)
        };
        assert!(m("/images/{name*}", "/images/bb"));
        assert!(m("/images/{name*}", "/images/a/b/c:1"));
        assert!(!m("/images/{name*}", "/images/"));
        assert!(!m("/images/{name*}", "/images"));
        assert!(m("/images/{name*}/tag", "/images/a/b/tag"));
        assert!(!m("/images/{name*}/tag", "/images/tag"));
        assert!(m("/containers/{id}", "/containers/x"));
        assert!(!m("/containers/{id}", "/containers/x/y"));
    }
}
