//! Image references: the distribution/reference grammar and Docker's normalisation.
//!
//! `busybox` means `docker.io/library/busybox:latest`; `user/app` means `docker.io/user/app`;
//! `localhost:5000/a/b:1` stays as written. A [`Reference`] is always held fully normalised, its
//! `Display` is the full form and [`Reference::familiar_string`] the short form the docker CLI
//! prints. Errors carry the exact texts Docker prints for the same input.
#![deny(missing_docs)]

mod glob;

use oci_model::Digest;
use std::fmt;
use std::str::FromStr;

pub use glob::path_match;

/// The registry Docker assumes when a name has none.
pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The host Docker Hub's registry API answers on.
pub const DOCKER_HUB_REGISTRY: &str = "registry-1.docker.io";

/// Whether `host` names Docker Hub: `docker.io`, `index.docker.io` or `registry-1.docker.io`.
pub fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        DEFAULT_DOMAIN | LEGACY_DEFAULT_DOMAIN | DOCKER_HUB_REGISTRY
    )
}

/// The registry host a `login`/`logout` server argument or an auth request's
/// `serveraddress` names: scheme and path dropped (`https://index.docker.io/v1/` →
/// `index.docker.io`), and Docker Hub, under any of its names or when empty, as `docker.io`.
pub fn registry_host(server: &str) -> &str {
    let s = server
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let s = s.split('/').next().unwrap_or(s);
    if s.is_empty() || is_docker_hub(s) {
        DEFAULT_DOMAIN
    } else {
        s
    }
}
const OFFICIAL_PREFIX: &str = "library/";
/// The longest repository path (name without domain) Docker accepts.
pub const NAME_MAX: usize = 255;
/// The tag added when a name has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";

/// A named reference, always held fully normalised (`docker.io/library/busybox:latest`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// Why a string is not a valid reference; `Display` gives Docker's texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefError {
    /// `invalid reference format`
    InvalidFormat,
    /// `repository name must have at least one component`
    NameEmpty,
    /// `repository name must be lowercase`
    NameContainsUppercase,
    /// `invalid reference format: repository name (library/Foo) must be lowercase`
    RepositoryNotLowercase(String),
    /// `repository name must not be more than 255 characters`
    NameTooLong,
    /// `invalid repository name (<64 hex>), cannot specify 64-byte hexadecimal strings`
    HexName(String),
    /// `invalid tag format`
    InvalidTag,
    /// A digest that does not validate, with the digest library's reason.
    InvalidDigest(String),
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefError::InvalidFormat => f.write_str("invalid reference format"),
            RefError::NameEmpty => f.write_str("repository name must have at least one component"),
            RefError::NameContainsUppercase => f.write_str("repository name must be lowercase"),
            RefError::RepositoryNotLowercase(r) => {
                write!(
                    f,
                    "invalid reference format: repository name ({r}) must be lowercase"
                )
            }
            RefError::NameTooLong => write!(
                f,
                "repository name must not be more than {NAME_MAX} characters"
            ),
            RefError::HexName(s) => {
                write!(
                    f,
                    "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
                )
            }
            RefError::InvalidTag => f.write_str("invalid tag format"),
            RefError::InvalidDigest(why) => f.write_str(why),
        }
    }
}
impl std::error::Error for RefError {}

/// What `ParseAnyReference` yields: an image ID or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyReference {
    /// A 64-hex ID or `sha256:` digest.
    Id(Digest),
    /// A named reference (not given a default tag).
    Named(Reference),
}

fn is_identifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        match b[i] {
            b'.' => i += 1,
            b'_' => i += if b.get(i + 1) == Some(&b'_') { 2 } else { 1 },
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// Whether `name` is a repository name as a registry's API paths carry it (`team/app`,
/// `registry.example.com/team/app`): path components joined by `/`, at most 255 bytes. No
/// port, no tag, no upper case.
pub fn is_repository_path(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.split('/').all(is_path_component)
}

/// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`
fn is_domain_component(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// `host[:port]` where host is dotted domain components or `[ipv6]`.
fn is_domain(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.is_empty() || !v6.bytes().all(|c| c.is_ascii_hexdigit() || c == b':') {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("x", Some(port)),
                None => return false,
            },
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    host.split('.').all(is_domain_component)
}

/// `[\w][\w.-]{0,127}`
fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
fn is_digest_syntax(s: &str) -> bool {
    let Some((alg, hex)) = s.split_once(':') else {
        return false;
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|part| {
        let b = part.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(|c| c.is_ascii_alphanumeric())
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

/// `digest.Parse` + `Validate`: the digest library's texts.
fn parse_digest(s: &str) -> Result<Digest, RefError> {
    let (alg, hex) = s
        .split_once(':')
        .ok_or_else(|| RefError::InvalidDigest("invalid checksum digest format".into()))?;
    if alg != "sha256" {
        return Err(RefError::InvalidDigest(
            "unsupported digest algorithm".into(),
        ));
    }
    if hex.len() != 64 {
        return Err(RefError::InvalidDigest(
            "invalid checksum digest length".into(),
        ));
    }
    Digest::from_hex(hex)
        .ok_or_else(|| RefError::InvalidDigest("invalid checksum digest format".into()))
}

/// `reference.Parse`: the grammar, without normalisation. `s` must name its domain explicitly.
fn parse_full(s: &str) -> Result<Reference, RefError> {
    let invalid = || {
        if s.is_empty() {
            RefError::NameEmpty
        } else if s != s.to_lowercase() && syntax_ok(&s.to_lowercase()) {
            RefError::NameContainsUppercase
        } else {
            RefError::InvalidFormat
        }
    };
    if !syntax_ok(s) {
        return Err(invalid());
    }
    let (name_tag, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (s, None),
    };
    let (name, tag) = split_tag(name_tag);
    let (domain, path) = match name.split_once('/') {
        Some((d, p)) if is_domain(d) && p.split('/').all(is_path_component) => (d, p),
        _ => ("", name),
    };
    if path.len() > NAME_MAX {
        return Err(RefError::NameTooLong);
    }
    let digest = digest.map(parse_digest).transpose()?;
    Ok(Reference {
        domain: domain.into(),
        path: path.into(),
        tag: tag.map(Into::into),
        digest,
    })
}

/// Splits `name[:tag]`: the tag is after the last `:` that follows the last `/`.
fn split_tag(s: &str) -> (&str, Option<&str>) {
    match s.rfind(':') {
        Some(i) if !s[i..].contains('/') => (&s[..i], Some(&s[i + 1..])),
        _ => (s, None),
    }
}

/// Does `s` match the anchored reference regular expression?
fn syntax_ok(s: &str) -> bool {
    let (name_tag, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (s, None),
    };
    if digest.is_some_and(|d| !is_digest_syntax(d)) {
        return false;
    }
    let name_ok = |name: &str| {
        let parts: Vec<&str> = name.split('/').collect();
        parts.iter().all(|p| is_path_component(p))
            || (parts.len() > 1
                && is_domain(parts[0])
                && parts[1..].iter().all(|p| is_path_component(p)))
    };
    // Both readings of a trailing `:x` must be tried: `localhost:5000` is a name (domain with port
    // needs a path after it, so it is name `localhost` + tag `5000`).
    let (name, tag) = split_tag(name_tag);
    match tag {
        Some(t) => is_tag(t) && name_ok(name),
        None => name_ok(name),
    }
}

/// Docker's split of a familiar name into domain and remainder (`splitDockerDomain`).
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut rest) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.into();
    }
    if domain == DEFAULT_DOMAIN && !rest.contains('/') {
        rest = format!("{OFFICIAL_PREFIX}{rest}");
    }
    (domain, rest)
}

impl Reference {
    /// `ParseNormalizedNamed`: parses a familiar or full name into its normalised form.
    pub fn parse_normalized(s: &str) -> Result<Reference, RefError> {
        if is_identifier(s) {
            return Err(RefError::HexName(s.into()));
        }
        let (domain, rest) = split_docker_domain(s);
        let remote = rest.split_once(':').map(|(r, _)| r).unwrap_or(&rest);
        if remote.to_lowercase() != remote {
            return Err(RefError::RepositoryNotLowercase(remote.into()));
        }
        let r = parse_full(&format!("{domain}/{rest}"))?;
        if r.domain.is_empty() {
            return Err(RefError::InvalidFormat);
        }
        Ok(r)
    }

    /// `TagNameOnly`: adds `:latest` when there is neither tag nor digest.
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.into());
        }
        self
    }

    /// Registry host (`docker.io`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Path (`library/busybox`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `domain/path`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// Tag.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// Digest.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// Familiar name (`busybox`, `user/app`, `localhost:5000/a`).
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix(OFFICIAL_PREFIX) {
                Some(rest) if !rest.contains('/') => rest.to_string(),
                _ => self.path.clone(),
            }
        } else {
            self.name()
        }
    }

    /// Familiar string: familiar name plus `:tag` and/or `@digest`.
    pub fn familiar_string(&self) -> String {
        self.with_suffix(self.familiar_name())
    }

    fn with_suffix(&self, mut s: String) -> String {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(&d.to_string());
        }
        s
    }

    /// Same name with this tag (digest dropped).
    pub fn with_tag(&self, tag: &str) -> Result<Reference, RefError> {
        if !is_tag(tag) {
            return Err(RefError::InvalidTag);
        }
        Ok(Reference {
            tag: Some(tag.into()),
            digest: None,
            ..self.clone()
        })
    }

    /// Same name with this digest (tag dropped).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            tag: None,
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// Same name without tag or digest.
    pub fn name_only(&self) -> Reference {
        Reference {
            tag: None,
            digest: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.with_suffix(self.name()))
    }
}

impl FromStr for Reference {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse_normalized(s)
    }
}

/// `ParseAnyReference`: a 64-hex ID, a `sha256:` digest, or a normalised name.
pub fn parse_any(s: &str) -> Result<AnyReference, RefError> {
    if is_identifier(s) {
        return Ok(AnyReference::Id(
            Digest::from_hex(s).ok_or(RefError::InvalidFormat)?,
        ));
    }
    if is_digest_syntax(s) {
        if let Ok(d) = parse_digest(s) {
            return Ok(AnyReference::Id(d));
        }
    }
    Reference::parse_normalized(s).map(AnyReference::Named)
}

/// `FamiliarMatch`: glob `pattern` against the familiar `name:tag`, then the familiar name.
pub fn familiar_match(pattern: &str, r: &Reference) -> bool {
    path_match(pattern, &r.familiar_string()).unwrap_or(false)
        || path_match(pattern, &r.familiar_name()).unwrap_or(false)
}

#[cfg(test)]
mod tests;
