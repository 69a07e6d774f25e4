//! `docker image prune`: which images go (moby's `ImagesPrune`).

use crate::errors::StoreError;
use crate::facts::Facts;
use crate::filters::Filters;
use crate::model::{ImageRecord, StoreView};
use crate::rmi::{Planner, RmiPlan};

/// Options of `docker image prune`.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// `-a`: every image no container uses, not only dangling ones.
    pub all: bool,
    /// `until=`: only images created at or before this time (unix seconds).
    pub until: Option<i64>,
    /// `label=` filters: `key`, `key=value`; with a leading `!`, moby's `label!=`.
    pub labels: Vec<String>,
}

/// Plans `docker image prune` as moby does.
///
/// Candidates: without `all`, images no image has as parent and with no tag (digest references
/// only, or none); with `all`, every image except untagged intermediates. `until` and the label
/// filters narrow them; images a container uses are never candidates. Each candidate is
/// removed in ID order, reference by reference like `rmi <reference>` (or like `rmi <id>` when
/// it has none), never forced, with parent pruning; one that hits a conflict is skipped
/// (a tagged parent of a kept image ends up untagged but kept, as in moby).
pub fn plan_prune(view: &StoreView, opts: &PruneOptions) -> Result<RmiPlan, StoreError> {
    let labels = label_filters(&opts.labels);
    let facts = Facts::new(view);
    let mut candidates: Vec<&ImageRecord> = view
        .images
        .iter()
        .filter(|img| is_candidate(&facts, img, opts, &labels))
        .collect();
    candidates.sort_by(|a, b| a.id.cmp(&b.id));
    candidates.dedup_by(|a, b| a.id == b.id);

    let mut planner = Planner::new(view);
    for img in candidates {
        prune_one(&mut planner, img, opts.all);
    }
    Ok(planner.finish())
}

/// Removes one candidate; conflicts leave it as it is (moby's `imageDeleteFailed`).
fn prune_one(planner: &mut Planner<'_>, img: &ImageRecord, all: bool) {
    if !planner.is_alive(&img.id) {
        return;
    }
    let refs = planner.refs(&img.id);
    if refs.is_empty() {
        let _skipped = planner.remove_by_id(&img.id, false, true);
        return;
    }
    if !all && refs.iter().any(|r| r.tag().is_some()) {
        return;
    }
    for r in refs {
        if planner.refs(&img.id).contains(&r) {
            let _skipped = planner.remove_reference(&img.id, &r, &r.to_string(), false, true);
        }
    }
}

fn is_candidate(
    facts: &Facts<'_>,
    img: &ImageRecord,
    opts: &PruneOptions,
    labels: &Filters<'_>,
) -> bool {
    let has_children = facts.has_children(&img.id);
    if !opts.all && has_children {
        return false;
    }
    if facts.refs_of(&img.id).is_empty() && has_children {
        return false;
    }
    if opts.until.is_some_and(|until| img.created > until) {
        return false;
    }
    if facts.containers(&img.id) > 0 {
        return false;
    }
    match_labels(labels, img)
}

/// `label=` and `label!=` filters from the option's `key[=value]` / `!key[=value]` entries.
fn label_filters(labels: &[String]) -> Filters<'_> {
    Filters::new(labels.iter().map(|l| match l.strip_prefix('!') {
        Some(negated) => ("label!", negated),
        None => ("label", l.as_str()),
    }))
}

/// moby's `matchLabels`: every `label` holds, and not every `label!` holds.
fn match_labels(labels: &Filters<'_>, img: &ImageRecord) -> bool {
    labels.match_kv("label", &img.labels)
        && !(labels.contains("label!") && labels.match_kv("label!", &img.labels))
}
