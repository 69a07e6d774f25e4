//! `WWW-Authenticate` challenges, token responses, and the per-client auth state: which scheme
//! each registry wants and the bearer tokens cached per (registry, scope). No I/O here; the
//! client drives the requests.

use crate::Credentials;
use base64::Engine as _;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One challenge of a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// Lowercase scheme (`bearer`, `basic`).
    pub scheme: String,
    /// Lowercase parameter names to values (unquoted).
    pub params: BTreeMap<String, String>,
}

/// Parses every challenge in `WWW-Authenticate` header values
/// (`Bearer realm="…",service="…",scope="…"`, `Basic realm="x"`).
pub(crate) fn parse_challenges<'a>(headers: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for h in headers {
        let mut p = Parser {
            s: h.as_bytes(),
            i: 0,
        };
        loop {
            p.skip(|b| b == b' ' || b == b'\t' || b == b',');
            let Some(scheme) = p.token() else { break };
            let mut ch = Challenge {
                scheme: scheme.to_ascii_lowercase(),
                params: BTreeMap::new(),
            };
            loop {
                p.skip(|b| b == b' ' || b == b'\t' || b == b',');
                let save = p.i;
                let Some(name) = p.token() else { break };
                p.skip(|b| b == b' ' || b == b'\t');
                if !p.eat(b'=') {
                    // A token not followed by `=` starts the next challenge.
                    p.i = save;
                    break;
                }
                p.skip(|b| b == b' ' || b == b'\t');
                let value = if p.peek() == Some(b'"') {
                    p.quoted()
                } else {
                    p.token().unwrap_or_default()
                };
                ch.params.insert(name.to_ascii_lowercase(), value);
            }
            out.push(ch);
        }
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip(&mut self, f: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
    }
    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.i += 1;
        }
        hit
    }
    /// An RFC 7230 token, plus `/:?@` so unquoted URLs and token68 values survive.
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        self.skip(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:?@".contains(&b));
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    fn quoted(&mut self) -> String {
        self.i += 1;
        let mut v = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        v.push(n);
                        self.i += 1;
                    }
                }
                _ => v.push(b),
            }
        }
        String::from_utf8_lossy(&v).into_owned()
    }
}

/// What a registry asked for last time it challenged us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scheme {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

impl Scheme {
    /// The scheme to use from a set of challenges: Bearer when offered, else Basic.
    pub(crate) fn choose(challenges: &[Challenge]) -> Option<(Scheme, Option<String>)> {
        if let Some(c) = challenges.iter().find(|c| c.scheme == "bearer") {
            let realm = c.params.get("realm")?.clone();
            let service = c.params.get("service").cloned();
            return Some((
                Scheme::Bearer { realm, service },
                c.params.get("scope").cloned(),
            ));
        }
        challenges
            .iter()
            .any(|c| c.scheme == "basic")
            .then_some((Scheme::Basic, None))
    }
}

/// `Authorization: Basic …` value.
pub(crate) fn basic_header(c: &Credentials) -> String {
    let raw = format!("{}:{}", c.username, c.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// The token endpoint's answer.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenResponse {
    /// The token (`token`, else `access_token`) and how long to use it: `expires_in` (default
    /// 60 s, never below 60 s as the spec says), less a small margin.
    pub(crate) fn into_token(self) -> Option<(String, Duration)> {
        let t = if self.token.is_empty() {
            self.access_token
        } else {
            self.token
        };
        if t.is_empty() {
            return None;
        }
        let secs = self.expires_in.unwrap_or(60).max(60);
        Some((t, Duration::from_secs(secs - 5)))
    }
}

/// Scope strings for a token request: `repository:<name>:pull[,push]`, `registry:catalog:*`.
pub(crate) fn repo_scope(name: &str, push: bool) -> String {
    format!(
        "repository:{name}:{}",
        if push { "pull,push" } else { "pull" }
    )
}

/// Locks `m` whether or not a thread panicked while holding it: every critical section here
/// leaves its map or counter whole (one insert, remove or step), so the data is still right,
/// and one panicking call must not make every later pull of a long-running server panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Remembered auth schemes per registry host and cached bearer tokens per (host, scopes).
#[derive(Default)]
pub(crate) struct AuthState {
    schemes: Mutex<HashMap<String, Scheme>>,
    tokens: Mutex<HashMap<(String, String), (String, Instant)>>,
}

impl AuthState {
    /// Leaves both locks poisoned, as a thread panicking while it held them would.
    #[cfg(test)]
    pub(crate) fn poison(&self) {
        std::thread::scope(|scope| {
            let held = scope.spawn(|| {
                let _schemes = self.schemes.lock();
                let _tokens = self.tokens.lock();
                panic!("a panic while the auth state is locked");
            });
            assert!(held.join().is_err());
        });
        assert!(self.schemes.is_poisoned() && self.tokens.is_poisoned());
    }

    pub(crate) fn scheme(&self, host: &str) -> Option<Scheme> {
        lock(&self.schemes).get(host).cloned()
    }
    pub(crate) fn set_scheme(&self, host: &str, s: Scheme) {
        lock(&self.schemes).insert(host.to_string(), s);
    }
    /// A cached token still valid at `now`.
    pub(crate) fn token(&self, host: &str, scopes: &str, now: Instant) -> Option<String> {
        let mut t = lock(&self.tokens);
        let key = (host.to_string(), scopes.to_string());
        match t.get(&key) {
            Some((tok, until)) if *until > now => Some(tok.clone()),
            Some(_) => {
                t.remove(&key);
                None
            }
            None => None,
        }
    }
    pub(crate) fn put_token(&self, host: &str, scopes: &str, token: String, until: Instant) {
        lock(&self.tokens).insert((host.to_string(), scopes.to_string()), (token, until));
    }
    pub(crate) fn forget_token(&self, host: &str, scopes: &str) {
        lock(&self.tokens).remove(&(host.to_string(), scopes.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge() {
        let c = parse_challenges([
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#,
        ]);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].params["realm"], "https://auth.docker.io/token");
        assert_eq!(c[0].params["scope"], "repository:library/busybox:pull");
        let (s, scope) = Scheme::choose(&c).unwrap();
        assert_eq!(
            s,
            Scheme::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            }
        );
        assert_eq!(scope.as_deref(), Some("repository:library/busybox:pull"));
    }

    #[test]
    fn several_challenges_and_quoting() {
        let c = parse_challenges([
            r#"Basic realm="a \"b\", c", Bearer realm=https://t/x , service = s"#,
            "Negotiate",
        ]);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].params["realm"], r#"a "b", c"#);
        assert_eq!(c[1].params["realm"], "https://t/x");
        assert_eq!(c[1].params["service"], "s");
        assert_eq!(c[2].scheme, "negotiate");
        assert!(matches!(
            Scheme::choose(&c[..1]),
            Some((Scheme::Basic, None))
        ));
        assert!(Scheme::choose(&c[2..]).is_none());
    }

    #[test]
    fn tokens() {
        let t: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":300}"#).unwrap();
        assert_eq!(t.into_token(), Some(("a".into(), Duration::from_secs(295))));
        let t: TokenResponse =
            serde_json::from_str(r#"{"token":"t","access_token":"a","expires_in":3}"#).unwrap();
        assert_eq!(t.into_token(), Some(("t".into(), Duration::from_secs(55))));
        let t: TokenResponse = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(t.into_token(), None);
        assert_eq!(
            basic_header(&Credentials::new("aladdin", "opensesame")),
            "Basic YWxhZGRpbjpvcGVuc2VzYW1l"
        );
    }

    #[test]
    fn poisoned_locks_still_work() {
        let s = AuthState::default();
        s.poison();
        let now = Instant::now();
        s.set_scheme("h", Scheme::Basic);
        assert_eq!(s.scheme("h"), Some(Scheme::Basic));
        s.put_token("h", "a", "t".into(), now + Duration::from_secs(10));
        assert_eq!(s.token("h", "a", now).as_deref(), Some("t"));
        s.forget_token("h", "a");
        assert_eq!(s.token("h", "a", now), None);
    }

    #[test]
    fn token_cache_expires() {
        let s = AuthState::default();
        let now = Instant::now();
        s.put_token(
            "h",
            "repository:a:pull",
            "t".into(),
            now + Duration::from_secs(10),
        );
        assert_eq!(s.token("h", "repository:a:pull", now).as_deref(), Some("t"));
        assert_eq!(s.token("h", "repository:b:pull", now), None);
        assert_eq!(
            s.token("h", "repository:a:pull", now + Duration::from_secs(11)),
            None
        );
        assert_eq!(s.token("h", "repository:a:pull", now), None);
    }
}
