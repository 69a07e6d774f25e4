//! Listing: a repository's tags and a registry's catalog, following `Link` pages.

use crate::auth::repo_scope;
use crate::client::{Client, MAX_JSON, MAX_PAGES};
use crate::error::{Error, Result};
use crate::repo::{next_link, resolve, Endpoint, Repo};
use crate::transport::{error_from, header, Call};
use serde::Deserialize;
use ureq::http::Method;

impl Client {
    /// All tags of `repo`, following `Link: <…>; rel="next"` pages.
    pub fn tags(&self, repo: &Repo) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let scopes = [repo_scope(repo.name(), false)];
        self.on_read_endpoints(repo, |ep| {
            let first = ep.url(&format!("{}/tags/list", repo.name()));
            self.paginate(
                ep,
                &scopes,
                first,
                &|| format!("repository {repo}"),
                |bytes, out| {
                    let page: TagList = serde_json::from_slice(bytes)
                        .map_err(|e| Error::InvalidResponse(format!("tags of {repo}: {e}")))?;
                    out.extend(page.tags.unwrap_or_default());
                    Ok(())
                },
            )
        })
    }

    /// All repository names on `registry` (`GET /v2/_catalog`, following pages). Docker Hub
    /// does not offer this.
    pub fn catalog(&self, registry: &str) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Catalog {
            #[serde(default)]
            repositories: Option<Vec<String>>,
        }
        let ep = Endpoint::registry(Repo::new(registry, "").registry(), &self.inner.config);
        let scopes = ["registry:catalog:*".to_string()];
        let first = ep.url("_catalog");
        self.paginate(
            &ep,
            &scopes,
            first,
            &|| format!("catalog of {registry}"),
            |bytes, out| {
                let page: Catalog = serde_json::from_slice(bytes)
                    .map_err(|e| Error::InvalidResponse(format!("catalog of {registry}: {e}")))?;
                out.extend(page.repositories.unwrap_or_default());
                Ok(())
            },
        )
    }

    pub(crate) fn paginate(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        first: String,
        what: &dyn Fn() -> String,
        mut page: impl FnMut(&[u8], &mut Vec<String>) -> Result<()>,
    ) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut url = first;
        for _ in 0..MAX_PAGES {
            let (bytes, next) = self.retrying(|| {
                let mut call =
                    Call::new(Method::GET, url.clone()).header("accept", "application/json");
                let resp = self.send(ep, scopes, &mut call)?;
                if !resp.status().is_success() {
                    return Err(error_from(resp, what));
                }
                let next = header(&resp, "link")
                    .and_then(next_link)
                    .map(|n| resolve(&url, n));
                Ok((self.read_limited(resp, MAX_JSON, &url)?, next))
            })?;
            page(&bytes, &mut out)?;
            match next {
                Some(n) if n != url => url = n,
                _ => return Ok(out),
            }
        }
        Err(Error::InvalidResponse(format!(
            "{}: more than {MAX_PAGES} pages",
            what()
        )))
    }
}
