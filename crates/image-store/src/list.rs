//! `docker images`: the listing, its filters and sizes (moby's `Images`).

use crate::errors::StoreError;
use crate::facts::{sort_refs, Facts};
use crate::filters::Filters;
use crate::model::{ImageRecord, StoreView};
use crate::resolve::resolve;
use image_ref::Reference;
use oci_model::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Filter keys `docker images` accepts.
const ACCEPTED_FILTERS: &[&str] = &["dangling", "label", "before", "since", "reference", "until"];

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Include intermediate images (untagged images that are the parent of another image).
    pub all: bool,
    /// `key=value` filters: `dangling`, `label`, `before`, `since`, `reference`, `until`.
    pub filters: Vec<(String, String)>,
}

/// One image as `docker images` sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSummary {
    /// Image ID.
    pub id: Digest,
    /// Parent image, for locally made images.
    pub parent: Option<Digest>,
    /// Familiar `repo:tag` references, in the reference store's order (by full name).
    pub repo_tags: Vec<String>,
    /// Familiar `repo@sha256:…` references: stored digest references and, for images kept
    /// with their manifest, the manifest digest under each repository the image is tagged in.
    pub repo_digests: Vec<String>,
    /// Creation time, unix seconds.
    pub created: i64,
    /// Sum of the sizes of the image's distinct layers.
    pub size: u64,
    /// The part of `size` in layers that other images use too.
    pub shared_size: u64,
    /// `size - shared_size`.
    pub unique_size: u64,
    /// The bytes removing the image alone frees on disk, exactly as its `rmi` plan counts them:
    /// its config and manifest and its unshared layers as stored; 0 while a container uses it.
    #[serde(default)]
    pub removal_frees: u64,
    /// Number of containers created from the image.
    pub containers: u64,
    /// Labels from the config.
    pub labels: BTreeMap<String, String>,
}

/// Lists images as moby does: newest first; without `all`, intermediate images are hidden.
///
/// Filters (different keys AND together): `dangling=true|false` (untagged or not);
/// `before=<image>` / `since=<image>` (created strictly before / after it); `until=<unix
/// seconds>`; `reference=<pattern>` (Go `path.Match` globs against each reference's familiar
/// and full forms, with and without tag: any pattern matching keeps the image, only matching
/// references are shown, untagged images are dropped); `label=<k>` or
/// `label=<k>=<v>` (all must hold).
pub fn list_images(view: &StoreView, opts: &ListOptions) -> Result<Vec<ImageSummary>, StoreError> {
    let filters = Filters::new(opts.filters.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    filters.validate(ACCEPTED_FILTERS)?;
    let sel = Selection::new(view, &filters, opts.all)?;
    let facts = Facts::new(view);
    let mut out = Vec::new();
    for img in &view.images {
        out.extend(sel.summary(&facts, img)?);
    }
    sort_newest_first(&mut out);
    Ok(out)
}

/// The summaries of the images listed by default (intermediates hidden), newest first.
pub(crate) fn default_summaries(view: &StoreView) -> Vec<ImageSummary> {
    // Without filters nothing can fail.
    list_images(view, &ListOptions::default()).unwrap_or_default()
}

fn sort_newest_first(list: &mut [ImageSummary]) {
    list.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
}

/// The filters, with image names and times already resolved.
struct Selection<'f, 'a> {
    filters: &'f Filters<'a>,
    all: bool,
    dangling_only: bool,
    /// Keep only images created strictly before this.
    before: Option<i64>,
    /// Keep only images created strictly after this.
    since: Option<i64>,
}

impl<'f, 'a> Selection<'f, 'a> {
    fn new(view: &StoreView, filters: &'f Filters<'a>, all: bool) -> Result<Self, StoreError> {
        let dangling_only = filters.bool_or("dangling", false)?;
        let mut before: Option<i64> = None;
        for v in filters.values("before") {
            let t = created_of(view, v)?;
            before = Some(before.map_or(t, |b| b.min(t)));
        }
        for v in filters.values("until") {
            let t = parse_unix_seconds(v)?;
            before = Some(before.map_or(t, |b| b.min(t)));
        }
        let mut since: Option<i64> = None;
        for v in filters.values("since") {
            let t = created_of(view, v)?;
            since = Some(since.map_or(t, |s| s.max(t)));
        }
        Ok(Selection {
            filters,
            all,
            dangling_only,
            before,
            since,
        })
    }

    /// The image's summary, or `None` when the options hide it.
    fn summary(
        &self,
        facts: &Facts<'_>,
        img: &ImageRecord,
    ) -> Result<Option<ImageSummary>, StoreError> {
        let has_children = facts.has_children(&img.id);
        if self.dangling_only && has_children {
            return Ok(None);
        }
        if self.before.is_some_and(|b| img.created >= b)
            || self.since.is_some_and(|s| img.created <= s)
        {
            return Ok(None);
        }
        if !self.filters.match_kv("label", &img.labels) {
            return Ok(None);
        }
        let (repo_tags, repo_digests) = self.references(facts, img)?;
        if repo_tags.is_empty() && repo_digests.is_empty() {
            let shown = self.all || !has_children;
            let dangling_false = self.filters.contains("dangling") && !self.dangling_only;
            if !shown || dangling_false || self.filters.contains("reference") {
                return Ok(None);
            }
        } else if self.dangling_only && !repo_tags.is_empty() {
            return Ok(None);
        }
        let size = facts.size(img);
        let shared_size = facts.shared_size(img);
        Ok(Some(ImageSummary {
            id: img.id.clone(),
            parent: img.parent.clone(),
            repo_tags,
            repo_digests,
            created: img.created,
            size,
            shared_size,
            unique_size: size - shared_size,
            removal_frees: facts.removal_frees(img),
            containers: facts.containers(&img.id),
            labels: img.labels.clone(),
        }))
    }

    /// The image's familiar tags and digests that pass the `reference` filter.
    fn references(
        &self,
        facts: &Facts<'_>,
        img: &ImageRecord,
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let refs = facts.refs_of(&img.id);
        let mut tags = Vec::new();
        let mut digests: Vec<Reference> = Vec::new();
        for r in refs.iter().copied() {
            if !self.reference_matches(r)? {
                continue;
            }
            if r.digest().is_some() {
                digests.push(r.clone());
            }
            if r.tag().is_some() {
                tags.push(r.familiar_string());
            }
        }
        if let Some((manifest, _)) = &img.manifest {
            for r in refs.iter().filter(|r| r.digest().is_none()) {
                let r = r.with_digest(manifest.clone());
                if self.reference_matches(&r)? {
                    digests.push(r);
                }
            }
        }
        sort_refs(&mut digests);
        Ok((
            tags,
            digests.iter().map(Reference::familiar_string).collect(),
        ))
    }

    /// The `reference` filter: some pattern matches the familiar string, the familiar name,
    /// the full string (`:latest` added) or the full name.
    fn reference_matches(&self, r: &Reference) -> Result<bool, StoreError> {
        if !self.filters.contains("reference") {
            return Ok(true);
        }
        let targets = [
            r.familiar_string(),
            r.familiar_name(),
            r.clone().with_default_tag().to_string(),
            r.name(),
        ];
        for pattern in self.filters.values("reference") {
            for target in &targets {
                let matched = image_ref::path_match(pattern, target)
                    .map_err(|_| StoreError::InvalidFilter("syntax error in pattern".into()))?;
                if matched {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

/// Creation time of the image `name` resolves to.
fn created_of(view: &StoreView, name: &str) -> Result<i64, StoreError> {
    let id = resolve(view, name)?.id;
    Ok(view
        .images
        .iter()
        .find(|i| i.id == id)
        .map_or(0, |i| i.created))
}

/// `until=` as unix seconds with an optional fraction, rounded up (images carry whole seconds,
/// so `created < 1.5` is `created < 2`). Durations and dates need the caller's clock and time
/// zone, which this pure crate does not have.
fn parse_unix_seconds(v: &str) -> Result<i64, StoreError> {
    let (secs, frac) = v.split_once('.').unwrap_or((v, "0"));
    let frac_ok = !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit());
    let round_up = i64::from(frac.bytes().any(|b| b != b'0'));
    match secs.parse::<i64>() {
        Ok(t) if frac_ok => Ok(t.saturating_add(round_up)),
        _ => Err(StoreError::InvalidFilter(format!(
            "invalid value for 'until' filter: failed to parse value as time or duration: {v:?} (give unix seconds)"
        ))),
    }
}
