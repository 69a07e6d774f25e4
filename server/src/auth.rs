//! Team mode (`strata serve --auth`): every request but `/_ping`, `/version` and the dashboard's
//! files carries `Authorization: Bearer <token>`; the token's role decides what it may do:
//! viewers read, operators also pull, tag, commit, push, load, import and manage containers,
//! admins also delete images, prune and manage tokens. Every accepted change is appended to the
//! audit log with the token's name and the outcome.

use crate::{ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use engine::Role;

/// The role a request needs; `None` for what anyone may fetch.
pub(crate) fn required_role(method: &Method, path: &str) -> Option<Role> {
    let api = path.starts_with("/api/") || path == "/api";
    let docker_read_post = matches!(path, "/auth");
    if path == "/_ping" || path == "/version" || path == "/api/health" {
        return None;
    }
    if !api && !is_docker_path(path) {
        return None; // the dashboard's own files
    }
    if matches!(*method, Method::GET | Method::HEAD) || docker_read_post {
        return Some(Role::Viewer);
    }
    let admin = (*method == Method::DELETE
        && (path.starts_with("/images/") || path.starts_with("/api/images/")))
        || path == "/images/prune"
        || path == "/api/prune"
        || path.starts_with("/api/tokens");
    Some(if admin { Role::Admin } else { Role::Operator })
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
    ]
    .iter()
    .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// Checks the bearer token and role; audits accepted changes.
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
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let Some(token) = token else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication required: send Authorization: Bearer <token>",
        )
        .into_response();
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
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<axum::Json<Vec<engine::AuditRecord>>, ApiError> {
    let limit = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
    Ok(axum::Json(st.run(move |e| e.audit_log(limit)).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(r(Method::POST, "/images/prune"), Some(Role::Admin));
        assert_eq!(r(Method::POST, "/api/prune"), Some(Role::Admin));
        assert_eq!(r(Method::DELETE, "/api/images/bb:1"), Some(Role::Admin));
    }
}
