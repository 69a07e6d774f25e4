//! The transport under every call: requests that can be re-sent, authentication (Basic, or
//! Bearer tokens fetched and cached per scope), retries with backoff on transient failures, and
//! registry errors read from bounded bodies.

use crate::auth::{basic_header, parse_challenges, Scheme, TokenResponse};
use crate::client::{Client, MAX_ERROR_BODY, MAX_JSON};
use crate::error::{errors_text, parse_errors, size_mismatch, Error, Result};
use crate::repo::{add_query, credential_key, Endpoint, Repo};
use crate::{Credentials, UPLOAD_ANSWER_TIMEOUT};
use oci_model::Digest;
use std::io::{self, Read};
use std::time::{Duration, Instant};
use ureq::http::{self, Method, Response};
use ureq::{AsSendBody, Body, SendBody};

/// A request body.
pub(crate) enum Payload<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// A body that can be sent only once, with its exact length.
    Stream(&'a mut dyn Read, u64),
}

/// One request, re-sendable unless its body is a stream that was already sent.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) url: String,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Payload<'a>,
    pub(crate) streamed: bool,
}

impl<'a> Call<'a> {
    pub(crate) fn new(method: Method, url: String) -> Call<'a> {
        Call {
            method,
            url,
            headers: Vec::new(),
            body: Payload::Empty,
            streamed: false,
        }
    }
    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    pub(crate) fn body(mut self, body: Payload<'a>) -> Self {
        self.body = body;
        self
    }
}

impl Client {
    /// Runs `f` against each read endpoint (mirrors, then the registry) until one succeeds;
    /// the registry's own error is the one returned.
    pub(crate) fn on_read_endpoints<T>(
        &self,
        repo: &Repo,
        mut f: impl FnMut(&Endpoint) -> Result<T>,
    ) -> Result<T> {
        let endpoints = Endpoint::for_read(repo, &self.inner.config);
        let mut last = None;
        for ep in &endpoints {
            match f(ep) {
                Ok(v) => return Ok(v),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("there is always the registry endpoint"))
    }

    /// Runs `f` again after connection errors, 429 and 5xx, up to `config.retries` times.
    pub(crate) fn retrying<T>(&self, mut f: impl FnMut() -> Result<T>) -> Result<T> {
        let mut attempt = 0;
        loop {
            match f() {
                Err(e) if e.is_retryable() && attempt < self.inner.config.retries => {
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    pub(crate) fn creds(&self, ep: &Endpoint) -> Option<Credentials> {
        self.inner.creds.get(credential_key(&ep.host))
    }

    /// Sends `call` with whatever authorization is already known for `ep`; on a 401 answers
    /// the challenge (Basic credentials or a bearer token for `scopes`) and sends once more.
    /// The response is returned whatever its status.
    pub(crate) fn send(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        call: &mut Call<'_>,
    ) -> Result<Response<Body>> {
        let auth = self.known_auth(ep, scopes)?;
        let resp = self.raw(call, auth.as_deref())?;
        if resp.status() != http::StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let challenges = parse_challenges(
            resp.headers()
                .get_all("www-authenticate")
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        if call.streamed {
            return Ok(resp);
        }
        let key = scopes.join(" ");
        self.inner.auth.forget_token(&ep.host, &key);
        let Some((scheme, challenge_scope)) = Scheme::choose(&challenges) else {
            return Ok(resp);
        };
        self.inner.auth.set_scheme(&ep.host, scheme.clone());
        let fresh = match &scheme {
            Scheme::Basic => match self.creds(ep) {
                Some(c) => basic_header(&c),
                None => return Ok(resp),
            },
            Scheme::Bearer { realm, service } => self.fetch_token(
                ep,
                realm,
                service.as_deref(),
                scopes,
                challenge_scope.as_deref(),
            )?,
        };
        if matches!(scheme, Scheme::Basic) && auth.as_deref() == Some(fresh.as_str()) {
            // These credentials were just refused.
            return Ok(resp);
        }
        drain(resp);
        self.raw(call, Some(&fresh))
    }

    /// The `Authorization` value to send before any challenge, from what `ep` asked last time.
    pub(crate) fn known_auth(&self, ep: &Endpoint, scopes: &[String]) -> Result<Option<String>> {
        match self.inner.auth.scheme(&ep.host) {
            None => Ok(None),
            Some(Scheme::Basic) => Ok(self.creds(ep).map(|c| basic_header(&c))),
            Some(Scheme::Bearer { realm, service }) => {
                let key = scopes.join(" ");
                if let Some(t) = self.inner.auth.token(&ep.host, &key, Instant::now()) {
                    return Ok(Some(format!("Bearer {t}")));
                }
                self.fetch_token(ep, &realm, service.as_deref(), scopes, None)
                    .map(Some)
            }
        }
    }

    /// GETs a bearer token from `realm` for `scopes` (plus the challenge's own scope), with
    /// Basic credentials when there are any, caches it, and returns the header value.
    pub(crate) fn fetch_token(
        &self,
        ep: &Endpoint,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        challenge_scope: Option<&str>,
    ) -> Result<String> {
        let mut url = realm.to_string();
        if let Some(s) = service {
            url = add_query(&url, "service", s);
        }
        let mut all: Vec<&str> = scopes.iter().map(String::as_str).collect();
        for s in challenge_scope.unwrap_or("").split_whitespace() {
            if !all.contains(&s) {
                all.push(s);
            }
        }
        for s in all {
            url = add_query(&url, "scope", s);
        }
        let basic = self.creds(ep).map(|c| basic_header(&c));
        let (token, ttl) = self.retrying(|| {
            let mut call = Call::new(Method::GET, url.clone());
            let resp = self.raw(&mut call, basic.as_deref())?;
            if !resp.status().is_success() {
                return Err(error_from(resp, || format!("token service {realm}")));
            }
            let bytes = self.read_limited(resp, MAX_JSON, realm)?;
            serde_json::from_slice::<TokenResponse>(&bytes)
                .ok()
                .and_then(TokenResponse::into_token)
                .ok_or_else(|| {
                    Error::InvalidResponse(format!("token service {realm}: no token in answer"))
                })
        })?;
        self.inner.auth.put_token(
            &ep.host,
            &scopes.join(" "),
            token.clone(),
            Instant::now() + ttl,
        );
        Ok(format!("Bearer {token}"))
    }

    /// Sends one request as is.
    pub(crate) fn raw(&self, call: &mut Call<'_>, auth: Option<&str>) -> Result<Response<Body>> {
        let mut b = http::Request::builder()
            .method(call.method.clone())
            .uri(&call.url);
        for (k, v) in &call.headers {
            b = b.header(*k, v);
        }
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        let bad = |e: http::Error| Error::InvalidArgument(format!("{}: {e}", call.url));
        let agent = &self.inner.agent;
        // The answer to a request that stores something may come after the registry moved
        // or hashed the blob: more patience than for a silent download.
        let idle = self.answer_timeout(&call.method);
        let patience = (idle != self.inner.config.idle_timeout).then_some(idle);
        let r = match &mut call.body {
            Payload::Empty => run(agent, b.body(()).map_err(bad)?, patience),
            Payload::Bytes(bytes) => {
                let bytes: &[u8] = bytes;
                b = b.header("content-length", bytes.len().to_string());
                run(agent, b.body(bytes).map_err(bad)?, patience)
            }
            Payload::Stream(reader, len) => {
                if call.streamed {
                    return Err(Error::InvalidArgument(format!(
                        "{}: request body already sent",
                        call.url
                    )));
                }
                call.streamed = true;
                b = b.header("content-length", len.to_string());
                let body = SendBody::from_reader(&mut **reader);
                run(agent, b.body(body).map_err(bad)?, patience)
            }
        };
        r.map_err(|e| transport_error(&call.url, e, idle, self.inner.config.idle_timeout))
    }

    /// How long the answer to a `method` request may keep the connection silent.
    pub(crate) fn answer_timeout(&self, method: &Method) -> Duration {
        let idle = self.inner.config.idle_timeout;
        if *method == Method::PUT || *method == Method::PATCH {
            idle.max(UPLOAD_ANSWER_TIMEOUT)
        } else {
            idle
        }
    }

    /// An error reading a response body from `url`.
    pub(crate) fn io_error(&self, url: &str, e: io::Error) -> Error {
        io_transport_error(url, e, self.inner.config.idle_timeout)
    }

    /// Reads a whole (small) body of at most `limit` bytes.
    pub(crate) fn read_limited(
        &self,
        resp: Response<Body>,
        limit: u64,
        url: &str,
    ) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut r = resp.into_body().into_reader().take(limit + 1);
        r.read_to_end(&mut out).map_err(|e| self.io_error(url, e))?;
        if out.len() as u64 > limit {
            return Err(Error::InvalidResponse(format!(
                "{url}: body larger than {limit} bytes"
            )));
        }
        Ok(out)
    }

    /// Reads a body that must be exactly `size` bytes, the size `digest`'s descriptor gives:
    /// refused by its `Content-Length` when that says otherwise, else read up to `size + 1`
    /// bytes ([`Error::SizeMismatch`] when more or fewer come). The buffer grows with the
    /// bytes that arrive, never from `size`.
    pub(crate) fn read_sized(
        &self,
        resp: Response<Body>,
        digest: &Digest,
        size: u64,
        url: &str,
    ) -> Result<Vec<u8>> {
        if let Some(n) = content_length(&resp).filter(|n| *n != size) {
            return Err(size_mismatch(digest, size, n, false));
        }
        let mut out = Vec::new();
        let mut r = resp.into_body().into_reader().take(size.saturating_add(1));
        r.read_to_end(&mut out).map_err(|e| self.io_error(url, e))?;
        let got = out.len() as u64;
        if got != size {
            return Err(size_mismatch(digest, size, got, got > size));
        }
        Ok(out)
    }
}

/// The response's `Content-Length`, when it has a valid one.
pub(crate) fn content_length(resp: &Response<Body>) -> Option<u64> {
    header(resp, "content-length").and_then(|s| s.parse::<u64>().ok())
}

/// Runs `req` on `agent`, with `per_read` instead of the agent's read timeout when given.
fn run(
    agent: &ureq::Agent,
    req: http::Request<impl AsSendBody>,
    per_read: Option<Duration>,
) -> Result<Response<Body>, ureq::Error> {
    match per_read {
        Some(t) => agent.run(
            agent
                .configure_request(req)
                .timeout_per_read(Some(t))
                .build(),
        ),
        None => agent.run(req),
    }
}

pub(crate) fn backoff(attempt: u32) -> Duration {
    // 100 ms, 400 ms, 1.6 s, 6.4 s, … capped at 30 s.
    Duration::from_millis(100u64.saturating_mul(4u64.saturating_pow(attempt)))
        .min(Duration::from_secs(30))
}

/// `e` from a request to `url` whose reads may stay silent for `idle`.
/// A transport failure of a request to `url`; `idle` is how long the answer was waited for,
/// `write_idle` how long a write was (the client's idle timeout).
pub(crate) fn transport_error(
    url: &str,
    e: ureq::Error,
    idle: Duration,
    write_idle: Duration,
) -> Error {
    use ureq::Error as U;
    match e {
        U::Timeout(ureq::Timeout::PerRead) => Error::Transport {
            url: url.to_string(),
            message: format!("connection stalled: the registry sent no data for {idle:?}"),
        },
        U::Timeout(ureq::Timeout::PerWrite) => Error::Transport {
            url: url.to_string(),
            message: format!("connection stalled: the registry took no data for {write_idle:?}"),
        },
        U::BadUri(_) | U::Http(_) | U::RequireHttpsOnly(_) => {
            Error::InvalidArgument(format!("{url}: {e}"))
        }
        U::TooManyRedirects
        | U::RedirectFailed
        | U::BodyExceedsLimit(_)
        | U::LargeResponseHeader(..) => Error::InvalidResponse(format!("{url}: {e}")),
        e => Error::Transport {
            url: url.to_string(),
            message: e.to_string(),
        },
    }
}

pub(crate) fn io_transport_error(url: &str, e: io::Error, idle: Duration) -> Error {
    match e.downcast::<ureq::Error>() {
        Ok(u) => transport_error(url, u, idle, idle),
        Err(e) => Error::Transport {
            url: url.to_string(),
            message: e.to_string(),
        },
    }
}

pub(crate) fn header<'r>(resp: &'r Response<Body>, name: &str) -> Option<&'r str> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Reads what is left of a small body so the connection can be reused.
pub(crate) fn drain(resp: Response<Body>) {
    let _ = io::copy(
        &mut resp.into_body().into_reader().take(MAX_ERROR_BODY),
        &mut io::sink(),
    );
}

/// Turns a non-success response into an error: 401/403 → Unauthorized, 404 → NotFound
/// (`what` names the thing), anything else → Http.
pub(crate) fn error_from(resp: Response<Body>, what: impl FnOnce() -> String) -> Error {
    let status = resp.status();
    let mut body = Vec::new();
    let _ = resp
        .into_body()
        .into_reader()
        .take(MAX_ERROR_BODY)
        .read_to_end(&mut body);
    let errors = parse_errors(&body);
    let first = errors.first().cloned().unwrap_or_default();
    match status.as_u16() {
        401 | 403 => {
            if !first.code.is_empty() || !first.message.is_empty() {
                Error::Unauthorized {
                    code: first.code,
                    message: first.message,
                }
            } else if let Some(m) = other_message(&body) {
                Error::Unauthorized {
                    code: "UNAUTHORIZED".into(),
                    message: m,
                }
            } else if status == http::StatusCode::FORBIDDEN {
                Error::Unauthorized {
                    code: "DENIED".into(),
                    message: "requested access to the resource is denied".into(),
                }
            } else {
                Error::Unauthorized {
                    code: "UNAUTHORIZED".into(),
                    message: "authentication required".into(),
                }
            }
        }
        404 => Error::NotFound {
            what: what(),
            code: first.code,
            message: first.message,
        },
        code => {
            let message = if !errors.is_empty() {
                errors_text(&errors)
            } else {
                let mut m = format!(
                    "received unexpected HTTP status: {} {}",
                    code,
                    status.canonical_reason().unwrap_or("")
                );
                if let Some(o) = other_message(&body) {
                    m = format!("{m}: {o}");
                }
                m.trim_end().to_string()
            };
            Error::Http {
                status: code,
                message,
            }
        }
    }
}

/// `{"details": …}` / `{"message": …}` / `{"error": …}` bodies of token services and proxies.
pub(crate) fn other_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["details", "detail", "message", "error"]
        .iter()
        .find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_string))
        .filter(|m| !m.is_empty())
}
