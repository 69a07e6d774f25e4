//! `search`: a registry's search endpoint, filtered as moby's search service does.

use crate::registry::RegistryEnv;
use crate::{Engine, EngineError, Result};
use registry_client::Repo;

/// One `search` result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResult {
    /// `registry/repository`.
    pub name: String,
    /// Its tags, as a description.
    pub description: String,
    /// Always 0: registries keep no stars.
    pub stars: u64,
    /// Always false.
    pub official: bool,
}

impl Engine {
    /// `search`: repositories whose name contains `term` in the configured registries (or
    /// `search`: repositories whose name contains `term` in the configured registries (or
    /// in the registry `term` names, `host/term`), filtered as moby's search service does.
    /// With no registry to look in, says so (where it looked, and that nothing is there)
    /// rather than answering an empty list.
    pub fn search(
        &self,
        env: &RegistryEnv,
        term: &str,
        limit: usize,
        filters: &SearchFilters,
    ) -> Result<Vec<SearchResult>> {
        let (registries, term) = match term.split_once('/') {
            Some((r, t)) if r.contains(['.', ':']) || r == "localhost" => {
                (vec![r.to_string()], t.to_string())
            }
            _ => (env.search.clone(), term.to_string()),
        };
        if registries.is_empty() {
            return Err(EngineError::invalid(format!(
                "no search registry configured: search looks in the registries listed as `search` under [registry] in {}, and none is set (or name one in the term: HOST[:PORT]/TERM)",
                crate::config::config_dir().join("strata.toml").display()
            )));
        }
        // "is-automated" is deprecated: nothing is automated (moby).
        if filters.automated == Some(true) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for registry in &registries {
            for name in env.client.catalog(registry)? {
                if !name.contains(&term) {
                    continue;
                }
                let tags = env
                    .client
                    .tags(&Repo::new(registry, &name))
                    .unwrap_or_default();
                let r = SearchResult {
                    name: format!("{registry}/{name}"),
                    description: if tags.is_empty() {
                        String::new()
                    } else {
                        format!("tags: {}", tags.join(", "))
                    },
                    stars: 0,
                    official: false,
                };
                if !filters.keeps(&r) {
                    continue;
                }
                out.push(r);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }
}

/// `search --filter`: moby's `is-automated`, `is-official` and `stars`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilters {
    /// `is-official=true|false`.
    pub official: Option<bool>,
    /// `is-automated=true|false` (deprecated: `true` matches nothing).
    pub automated: Option<bool>,
    /// `stars=N`: at least N stars (the largest N given).
    pub stars: Option<u64>,
}

impl SearchFilters {
    /// From `key=value` pairs, with moby's errors for an unknown key or a bad value.
    pub fn parse(pairs: &[(String, String)]) -> Result<SearchFilters> {
        let mut f = SearchFilters::default();
        let values = |key: &str| -> Vec<&str> {
            pairs
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        if let Some((k, _)) = pairs
            .iter()
            .find(|(k, _)| !matches!(k.as_str(), "is-automated" | "is-official" | "stars"))
        {
            return Err(EngineError::invalid(format!("invalid filter '{k}'")));
        }
        let boolean = |key: &str| -> Result<Option<bool>> {
            Ok(image_store::filter_bool(key, &values(key))?)
        };
        f.automated = boolean("is-automated")?;
        f.official = boolean("is-official")?;
        for v in values("stars") {
            let n: i64 = v.parse().map_err(|_| {
                EngineError::invalid(format!(
                    "invalid filter 'stars={v}': strconv.Atoi: parsing {v:?}: invalid syntax"
                ))
            })?;
            let n = n.max(0) as u64;
            f.stars = Some(f.stars.map_or(n, |s| s.max(n)));
        }
        Ok(f)
    }

    /// Whether a result passes.
    pub fn keeps(&self, r: &SearchResult) -> bool {
        self.official.is_none_or(|o| o == r.official) && self.stars.is_none_or(|s| r.stars >= s)
    }
}
