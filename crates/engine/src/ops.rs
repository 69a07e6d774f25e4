//! Tag, rmi, prune, listing and disk usage: plans from `image-store`, applied in one transaction.

use crate::import::parse_tag_target;
use crate::{Engine, Event, Result};
use image_store::{
    DiskUsage, ImageSummary, ListOptions, PruneOptions, RmiEvent, RmiOptions, RmiPlan,
};
use metadata_db::WriteTx;
use oci_model::Digest;

/// What a `tag` did.
#[derive(Debug, Clone, PartialEq)]
pub struct TagOutcome {
    /// The image tagged.
    pub image: Digest,
    /// The image the tag pointed at before, when it moved.
    pub previous: Option<Digest>,
}

fn apply(tx: &mut WriteTx<'_>, plan: &RmiPlan) -> Result<()> {
    for r in &plan.untag {
        tx.remove_tag(r)?;
    }
    for id in &plan.delete_images {
        if plan.retain_images.contains(id) {
            tx.retain_image(id)?;
        } else {
            tx.delete_image(id)?;
        }
    }
    for l in &plan.delete_layers {
        tx.delete_layer(l)?;
    }
    Ok(())
}

impl Engine {
    /// Lists images as `docker images` does.
    ///
    /// The last answer is kept with the snapshot it was computed from: while the store is
    /// unchanged (the metadata database hands out the very same cached view) the same
    /// question is answered from it, without recomputing references, sizes and order.
    pub fn images(&self, opts: &ListOptions) -> Result<Vec<ImageSummary>> {
        let view = self.view()?;
        let mut memo = self.list_memo.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = memo.as_ref() {
            if std::sync::Arc::ptr_eq(&m.view, &view)
                && m.all == opts.all
                && m.filters == opts.filters
            {
                return Ok(m.list.clone());
            }
        }
        let list = image_store::list_images(&view, opts)?;
        *memo = Some(crate::ListMemo {
            view,
            all: opts.all,
            filters: opts.filters.clone(),
            list: list.clone(),
        });
        Ok(list)
    }

    /// Points `target` (`REPO[:TAG]`) at the image `source` names.
    pub fn tag(&self, source: &str, target: &str) -> Result<TagOutcome> {
        let target = parse_tag_target(target)?;
        self.db()
            .write(|tx| {
                let view = tx.view()?;
                let image = image_store::resolve(&view, source)?.id;
                let previous = tx.set_tag(&target, &image)?;
                Ok(TagOutcome { image, previous })
            })
            .inspect(|o| {
                self.emit(
                    Event::new("image", "tag", o.image.to_string())
                        .with("name", target.familiar_string()),
                );
            })
    }

    /// Emits the `untag` / `delete` events of an applied plan.
    fn emit_plan(&self, plan: &RmiPlan) {
        let mut events = Vec::new();
        for e in &plan.events {
            match e {
                RmiEvent::Untagged(r) => {
                    events.push(Event::new("image", "untag", r.clone()).with("name", r.clone()))
                }
                RmiEvent::Deleted(d) if plan.delete_images.contains(d) => {
                    events.push(Event::new("image", "delete", d.to_string()))
                }
                RmiEvent::Deleted(_) => {}
            }
        }
        for l in &plan.delete_layers {
            events.push(Event::new("layer", "delete", l.to_string()));
        }
        self.emit_all(events);
    }

    /// `rmi` of one name or ID: untags and deletes as Docker does; returns the events
    /// (`Untagged:` / `Deleted:` lines).
    pub fn rmi(&self, input: &str, opts: &RmiOptions) -> Result<Vec<RmiEvent>> {
        Ok(self.rmi_applied(input, opts)?.events)
    }

    /// [`rmi`](Engine::rmi), returning the whole plan its transaction applied (computed
    /// inside that transaction: exactly what was done).
    pub fn rmi_applied(&self, input: &str, opts: &RmiOptions) -> Result<RmiPlan> {
        let plan = self.db().write(|tx| -> Result<RmiPlan> {
            let plan = image_store::plan_rmi(&*tx.view()?, input, opts)?;
            apply(tx, &plan)?;
            Ok(plan)
        })?;
        self.emit_plan(&plan);
        if !plan.delete_images.is_empty() {
            self.sweep_after_commit();
        }
        Ok(plan)
    }

    /// What `rmi` would do, without doing it.
    pub fn plan_rmi(&self, input: &str, opts: &RmiOptions) -> Result<RmiPlan> {
        Ok(image_store::plan_rmi(&*self.view()?, input, opts)?)
    }

    /// `rmi A B C` as a plan: each name's plan on the store the names before it leave
    /// ([`image_store::plan_rmi_many`]); a name that cannot go has its error instead.
    pub fn plan_rmi_many(
        &self,
        inputs: &[String],
        opts: &RmiOptions,
    ) -> Result<Vec<Result<RmiPlan>>> {
        Ok(image_store::plan_rmi_many(&*self.view()?, inputs, opts)
            .into_iter()
            .map(|r| r.map_err(crate::EngineError::from))
            .collect())
    }

    /// `image prune`: removes what the plan lists; returns the plan that was applied.
    pub fn prune(&self, opts: &PruneOptions) -> Result<RmiPlan> {
        let plan = self.db().write(|tx| -> Result<RmiPlan> {
            let plan = image_store::plan_prune(&*tx.view()?, opts)?;
            apply(tx, &plan)?;
            Ok(plan)
        })?;
        self.emit_plan(&plan);
        self.sweep_after_commit();
        Ok(plan)
    }

    /// The sweep after a committed removal: the removal is done whatever happens here, so a
    /// failure is logged, not returned; what is left behind goes with a later sweep.
    pub(crate) fn sweep_after_commit(&self) {
        if let Err(e) = self.sweep() {
            eprintln!("sweep after removal failed (left for the next one): {e}");
        }
    }

    /// What `image prune` would do, without doing it.
    pub fn plan_prune(&self, opts: &PruneOptions) -> Result<RmiPlan> {
        Ok(image_store::plan_prune(&*self.view()?, opts)?)
    }

    /// `system df`.
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        Ok(image_store::disk_usage(&*self.view()?))
    }
}
