//! `docker rmi`: which references go, which images and layers are deleted, and the bytes that
//! frees (moby's `ImageDelete`, graph-driver store).

use crate::errors::{truncate_id, DeleteConflict, StoreError};
use crate::facts::sort_refs;
use crate::model::{ContainerRecord, ImageRecord, StoreView};
use crate::resolve::{is_id_prefix, resolve};
use image_ref::Reference;
use oci_model::Digest;
use std::collections::{BTreeMap, BTreeSet};

/// Options of `docker rmi`.
#[derive(Debug, Clone, Default)]
pub struct RmiOptions {
    /// `-f`: remove all references of an image given by ID even when they span repositories,
    /// and delete images used by stopped containers.
    pub force: bool,
    /// `--no-prune`: keep untagged parents.
    pub no_prune: bool,
}

/// One line of `rmi` / `image prune` output (`docker_api::image_delete_items` is its JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RmiEvent {
    /// A reference was removed; the familiar string (`bb:2`, `bb@sha256:…`).
    Untagged(String),
    /// An image was deleted.
    Deleted(Digest),
}

/// What an `rmi` or `image prune` removes, in the order to apply it: references, then images,
/// then layers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RmiPlan {
    /// The output lines, in moby's order.
    pub events: Vec<RmiEvent>,
    /// Stored references to remove.
    pub untag: Vec<Reference>,
    /// Images to delete (each has its `Deleted:` line).
    pub delete_images: Vec<Digest>,
    /// Those of `delete_images` a container uses (`rmi -f`): untagged and unlisted, but kept
    /// with their config and layers for the container (moby's container holds its layer
    /// chain), and really deleted when their last container is removed
    /// ([`StoreView::retained`]).
    pub retain_images: Vec<Digest>,
    /// Layers (diff IDs) no remaining image uses, sorted.
    pub delete_layers: Vec<Digest>,
    /// Bytes freed: config and manifest of each deleted image not retained plus each deleted
    /// layer's `stored_bytes`.
    pub bytes_freed: u64,
}

/// Plans `docker rmi <input>` as moby's `ImageDelete` does.
///
/// By reference (`name[:tag]`, `name@digest`): that reference is removed; when it was a tag
/// and only digest references of the same repository remain, those go too. If references
/// remain, that is all. Otherwise the image is deleted unless something is in the way (a
/// child image, a container), in which case it is quietly kept, untagged. Without `force`,
/// removing the last reference (or last repository) of an image a container uses is refused.
///
/// By ID or ID prefix: when all references are in one repository with at most one tag, they
/// are all removed (refused without `force` if a stopped container uses the image); otherwise
/// deleting needs `force`. Child images and running containers refuse it even with `force`.
///
/// Deleting an image then deletes its parent when the parent is left untagged, childless and
/// unused (and so on up), unless `no_prune`.
pub fn plan_rmi(view: &StoreView, input: &str, opts: &RmiOptions) -> Result<RmiPlan, StoreError> {
    let found = resolve(view, input)?;
    let mut planner = Planner::new(view);
    let prune = !opts.no_prune;
    match &found.reference {
        Some(r) if !is_id_prefix(&found.id, input) => {
            planner.remove_reference(&found.id, r, input, opts.force, prune)?
        }
        _ => planner.remove_by_id(&found.id, opts.force, prune)?,
    }
    Ok(planner.finish())
}

/// Plans `docker rmi A B C`: each input in turn, on the store as the inputs before it left it,
/// as the engine applies them (one after the other, a failing input not stopping the rest).
/// A layer that only the selected images share is so freed by the last of them to go, and the
/// plans' bytes add up to exactly what the whole removal frees.
pub fn plan_rmi_many(
    view: &StoreView,
    inputs: &[String],
    opts: &RmiOptions,
) -> Vec<Result<RmiPlan, StoreError>> {
    let mut left = view.clone();
    inputs
        .iter()
        .map(|input| {
            let plan = plan_rmi(&left, input, opts)?;
            left.apply(&plan);
            Ok(plan)
        })
        .collect()
}

impl StoreView {
    /// The store after `plan` is carried out: its references, images and layers gone.
    pub fn apply(&mut self, plan: &RmiPlan) {
        let images: BTreeSet<&Digest> = plan.delete_images.iter().collect();
        self.tags
            .retain(|t| !plan.untag.contains(&t.reference) && !images.contains(&t.image));
        let kept = self
            .images
            .iter()
            .filter(|i| plan.retain_images.contains(&i.id))
            .cloned()
            .collect::<Vec<_>>();
        self.retained.extend(kept);
        self.images.retain(|i| !images.contains(&i.id));
        for l in &plan.delete_layers {
            self.layers.remove(l);
        }
    }
}

/// Conflict classes (moby's `conflictType`).
type Mask = u8;
const CHILD: Mask = 1;
const RUNNING: Mask = 2;
const ACTIVE_REFERENCE: Mask = 4;
const STOPPED: Mask = 8;
/// Cannot be forced.
const HARD: Mask = CHILD | RUNNING;
/// Can be forced.
const SOFT: Mask = ACTIVE_REFERENCE | STOPPED;

/// moby's `isSingleReference`: all references are in one repository, with at most one tag.
fn is_single_reference(refs: &[Reference]) -> bool {
    if refs.len() <= 1 {
        return refs.len() == 1;
    }
    let mut tagged = None;
    let mut digest_names = BTreeSet::new();
    for r in refs {
        if r.digest().is_some() {
            digest_names.insert(r.name());
        } else if tagged.is_none() {
            tagged = Some(r);
        } else {
            return false;
        }
    }
    let single = tagged.unwrap_or(&refs[0]);
    digest_names.len() == 1 && digest_names.contains(&single.name())
}

/// The store as deletions proceed: what is left, and the plan so far.
pub(crate) struct Planner<'a> {
    view: &'a StoreView,
    /// Images not deleted yet.
    images: BTreeMap<&'a Digest, &'a ImageRecord>,
    /// Remaining stored references per image, in moby's order.
    refs: BTreeMap<Digest, Vec<Reference>>,
    /// Images deleted so far (not retained).
    deleted: Vec<&'a ImageRecord>,
    /// Images retained for containers: those of the view and those this plan retains.
    retained: Vec<&'a ImageRecord>,
    plan: RmiPlan,
}

impl<'a> Planner<'a> {
    /// A planner over the untouched `view`.
    pub(crate) fn new(view: &'a StoreView) -> Planner<'a> {
        let mut refs: BTreeMap<Digest, Vec<Reference>> = BTreeMap::new();
        for t in &view.tags {
            refs.entry(t.image.clone())
                .or_default()
                .push(t.reference.clone());
        }
        refs.values_mut().for_each(sort_refs);
        Planner {
            view,
            images: view.images.iter().map(|i| (&i.id, i)).collect(),
            refs,
            deleted: Vec::new(),
            retained: view.retained.iter().collect(),
            plan: RmiPlan::default(),
        }
    }

    /// True while the image is not deleted.
    pub(crate) fn is_alive(&self, id: &Digest) -> bool {
        self.images.contains_key(id)
    }

    /// The remaining references to `id`.
    pub(crate) fn refs(&self, id: &Digest) -> Vec<Reference> {
        self.refs.get(id).cloned().unwrap_or_default()
    }

    fn has_children(&self, id: &Digest) -> bool {
        self.images.values().any(|i| i.parent.as_ref() == Some(id))
    }

    /// moby's `imageIsDangling`: no references and no children.
    fn is_dangling(&self, id: &Digest) -> bool {
        self.refs(id).is_empty() && !self.has_children(id)
    }

    fn first_container(&self, id: &Digest, running: Option<bool>) -> Option<&'a ContainerRecord> {
        self.view
            .containers
            .iter()
            .find(|c| c.image == *id && running.is_none_or(|r| c.running == r))
    }

    /// moby's `checkImageDeleteConflict`, checking only the classes in `mask`.
    fn conflict(&self, id: &Digest, mask: Mask) -> Option<DeleteConflict> {
        let conflict = |hard, used, message: String| DeleteConflict {
            hard,
            used,
            image: truncate_id(id.hex()).to_string(),
            message,
        };
        if mask & CHILD != 0 && self.has_children(id) {
            return Some(conflict(
                true,
                false,
                "image has dependent child images".into(),
            ));
        }
        if mask & RUNNING != 0 {
            if let Some(c) = self.first_container(id, Some(true)) {
                let msg = format!(
                    "image is being used by running container {}",
                    truncate_id(&c.id)
                );
                return Some(conflict(true, true, msg));
            }
        }
        if mask & ACTIVE_REFERENCE != 0 && !self.refs(id).is_empty() {
            let msg = "image is referenced in multiple repositories".to_string();
            return Some(conflict(false, false, msg));
        }
        if mask & STOPPED != 0 {
            if let Some(c) = self.first_container(id, Some(false)) {
                let msg = format!(
                    "image is being used by stopped container {}",
                    truncate_id(&c.id)
                );
                return Some(conflict(false, true, msg));
            }
        }
        None
    }

    /// Removes a stored reference of `id`, with its `Untagged` line.
    fn untag(&mut self, id: &Digest, r: &Reference) {
        if let Some(list) = self.refs.get_mut(id) {
            list.retain(|x| x != r);
        }
        self.plan
            .events
            .push(RmiEvent::Untagged(r.familiar_string()));
        self.plan.untag.push(r.clone());
    }

    /// The by-reference half of moby's `ImageDelete`. `reference` is what `input` resolved to.
    pub(crate) fn remove_reference(
        &mut self,
        id: &Digest,
        reference: &Reference,
        input: &str,
        force: bool,
        prune: bool,
    ) -> Result<(), StoreError> {
        let refs = self.refs(id);
        if !force && is_single_reference(&refs) {
            if let Some(c) = self.first_container(id, None) {
                return Err(StoreError::Conflict(format!(
                    "conflict: unable to remove repository reference {input:?} (must force) - container {} is using its referenced image {}",
                    truncate_id(&c.id),
                    truncate_id(id.hex()),
                )));
            }
        }
        if refs.contains(reference) {
            self.untag(id, reference);
        } else {
            // A manifest digest the image was pulled with: it stands for the image's tags in
            // that repository, so they go with it.
            self.plan
                .events
                .push(RmiEvent::Untagged(reference.familiar_string()));
            let same_repo = refs
                .iter()
                .filter(|r| r.digest().is_none() && r.name() == reference.name());
            for r in same_repo {
                self.untag(id, r);
            }
        }
        if reference.digest().is_none() {
            self.drop_orphan_digest_refs(id, &reference.name());
        }
        if self.refs(id).is_empty() {
            self.delete(id, force, prune, true)?;
        }
        Ok(())
    }

    /// After a tag is removed: when no tag of `name` is left on the image, its digest
    /// references in `name` go too.
    fn drop_orphan_digest_refs(&mut self, id: &Digest, name: &str) {
        let refs = self.refs(id);
        let in_repo = |r: &&Reference| r.name() == name;
        if refs.iter().filter(in_repo).any(|r| r.digest().is_none()) {
            return;
        }
        for r in refs.iter().filter(in_repo) {
            self.untag(id, r);
        }
    }

    /// The by-ID half of moby's `ImageDelete`.
    pub(crate) fn remove_by_id(
        &mut self,
        id: &Digest,
        force: bool,
        prune: bool,
    ) -> Result<(), StoreError> {
        let refs = self.refs(id);
        if is_single_reference(&refs) {
            let mask = if force { HARD } else { HARD | STOPPED };
            if let Some(c) = self.conflict(id, mask) {
                return Err(c.into());
            }
            for r in &refs {
                self.untag(id, r);
            }
        }
        self.delete(id, force, prune, false)
    }

    /// moby's `imageDeleteHelper`: deletes `id` and then, with `prune`, each parent left
    /// dangling and unused. Conflicts are errors unless `quiet`.
    fn delete(
        &mut self,
        id: &Digest,
        force: bool,
        prune: bool,
        quiet: bool,
    ) -> Result<(), StoreError> {
        let mut parent = self.delete_one(id, force, quiet)?;
        if !prune {
            return Ok(());
        }
        while let Some(p) = parent.filter(|p| self.is_alive(p)) {
            parent = self.delete_one(&p, false, true)?;
        }
        Ok(())
    }

    /// Deletes one image with its remaining references; returns its parent when it was deleted.
    fn delete_one(
        &mut self,
        id: &Digest,
        force: bool,
        quiet: bool,
    ) -> Result<Option<Digest>, StoreError> {
        let mask = if force { HARD } else { HARD | SOFT };
        if let Some(c) = self.conflict(id, mask) {
            if quiet && (!self.is_dangling(id) || c.used) {
                return Ok(None);
            }
            return Err(c.into());
        }
        let Some(img) = self.images.remove(id) else {
            return Ok(None);
        };
        for r in self.refs(id) {
            self.untag(id, &r);
        }
        self.plan.events.push(RmiEvent::Deleted(id.clone()));
        self.plan.delete_images.push(id.clone());
        if self.first_container(id, None).is_some() {
            // Forced past a stopped container: the container keeps the image's layer chain,
            // so no layer goes, and the image row stays for it, unlisted.
            self.plan.retain_images.push(id.clone());
            self.retained.push(img);
            return Ok(img.parent.clone());
        }
        self.deleted.push(img);
        // moby's layer store releases the image's layer chain top-down; each chain no remaining
        // image (nor a retained one, held by its container) shares is deleted and printed by its
        // chain ID.
        for k in (0..img.diff_ids.len()).rev() {
            let prefix = &img.diff_ids[..=k];
            if self
                .images
                .values()
                .copied()
                .chain(self.retained.iter().copied())
                .any(|o| o.diff_ids.len() > k && &o.diff_ids[..=k] == prefix)
            {
                break;
            }
            if let Some(chain) = oci_model::chain_id(prefix) {
                self.plan.events.push(RmiEvent::Deleted(chain));
            }
        }
        Ok(img.parent.clone())
    }

    /// The plan, with the layers no remaining image uses and the bytes freed.
    pub(crate) fn finish(mut self) -> RmiPlan {
        let kept: BTreeSet<&Digest> = self
            .images
            .values()
            .copied()
            .chain(self.retained.iter().copied())
            .flat_map(|i| &i.diff_ids)
            .collect();
        let mut layers: BTreeMap<&Digest, u64> = BTreeMap::new();
        let mut bytes = 0u64;
        for img in &self.deleted {
            bytes += img.config_size + img.manifest.as_ref().map_or(0, |(_, size)| *size);
            for d in img.diff_ids.iter().filter(|d| !kept.contains(d)) {
                if let Some((key, layer)) = self.view.layers.get_key_value(d) {
                    layers.insert(key, layer.stored_bytes);
                }
            }
        }
        self.plan.bytes_freed = bytes + layers.values().sum::<u64>();
        self.plan.delete_layers = layers.into_keys().cloned().collect();
        self.plan
    }
}
