//! Request parameters as both APIs read them: query pairs (`url_pairs`, `first`, `all`),
//! Docker's boolean flags (`truthy`) and `filters`, percent-decoding, and JSON body rejections
//! as Docker-style errors.

use crate::ApiError;
use axum::extract::rejection::JsonRejection;
use serde_json::Value;
use std::collections::HashMap;

/// A boolean query flag (`?force=`, `?all=`, …), moby's `BoolValue`: absent, and (ignoring
/// case and surrounding spaces) `""`, `0`, `no`, `false` and `none` are false, anything else is
/// true. Every flag of every route is read with this one function.
pub(crate) fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|v| {
        !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "no" | "false" | "none"
        )
    })
}

/// A query string read as moby reads one (Go's `Form.Get`): a parameter given more than once
/// is its first value, on every route (axum's `Query` takes the last into a map, and refuses a
/// struct with a repeated field). A query that does not read is a 400.
pub(crate) struct FirstQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S>
    for FirstQuery<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        let bad = |e: &dyn std::fmt::Display| ApiError::bad_request(format!("invalid query: {e}"));
        let mut seen = std::collections::HashSet::new();
        let firsts: Vec<(String, String)> = url_pairs(parts.uri.query().unwrap_or(""))
            .into_iter()
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect();
        let again = serde_urlencoded::to_string(&firsts).map_err(|e| bad(&e))?;
        serde_urlencoded::from_str(&again)
            .map(FirstQuery)
            .map_err(|e| bad(&e))
    }
}

/// The first value of `key` in a query given as pairs.
pub(crate) fn first<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Every value of `key` (for repeated parameters: `names`, `changes`).
pub(crate) fn all(q: &[(String, String)], key: &str) -> Vec<String> {
    q.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

/// Percent-decodes a path segment (`bb%3A1` → `bb:1`).
pub(crate) fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// `a=1&b=%2F` → pairs, percent- and `+`-decoded.
pub(crate) fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
        })
        .collect()
}

/// Docker's `filters` query value: `{"key":{"value":true}}` or the legacy `{"key":["value"]}`.
pub(crate) fn parse_filters(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(Vec::new());
    };
    let v: HashMap<String, Value> = serde_json::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid filter: {e}")))?;
    let mut out = Vec::new();
    for (k, vals) in v {
        match vals {
            Value::Object(m) => out.extend(
                m.into_iter()
                    .filter(|(_, on)| on == &Value::Bool(true))
                    .map(|(v, _)| (k.clone(), v)),
            ),
            Value::Array(a) => out.extend(
                a.into_iter()
                    .filter_map(|v| v.as_str().map(|s| (k.clone(), s.to_string()))),
            ),
            _ => return Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
        }
    }
    out.sort();
    Ok(out)
}

/// A JSON body rejection as a Docker error (`{"message"}`), keeping axum's status (`413`
/// for a body over the limit, `400`/`415`/`422` for bad JSON).
pub(crate) fn json_error(r: JsonRejection) -> ApiError {
    ApiError::new(r.status(), r.body_text())
}
