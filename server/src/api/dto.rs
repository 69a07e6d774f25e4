//! The dashboard API's JSON types come from `api-types` (shared with the web app, with
//! `ToSchema` for the OpenAPI document); here are the conversions from the store's types,
//! written by hand so that no store type needs a wire derive.

pub(crate) use api_types::*;

/// An image of the list as the dashboard reads it.
pub(crate) fn image_summary_dto(s: &image_store::ImageSummary) -> ImageSummaryDto {
    ImageSummaryDto {
        id: s.id.to_string(),
        parent: s.parent.as_ref().map(|p| p.to_string()),
        repo_tags: s.repo_tags.clone(),
        repo_digests: s.repo_digests.clone(),
        created: s.created,
        size: s.size,
        shared_size: s.shared_size,
        unique_size: s.unique_size,
        removal_frees: s.removal_frees,
        containers: s.containers,
        labels: s.labels.clone(),
    }
}

/// An `rmi` or `prune` plan (or what it did); `conflict` is left for the caller.
pub(crate) fn plan_dto(p: &image_store::RmiPlan) -> PlanDto {
    PlanDto {
        events: p
            .events
            .iter()
            .map(|e| match e {
                image_store::RmiEvent::Untagged(r) => RmiEventDto::Untagged(r.clone()),
                image_store::RmiEvent::Deleted(d) => RmiEventDto::Deleted(d.to_string()),
            })
            .collect(),
        untag: p.untag.iter().map(|r| r.familiar_string()).collect(),
        delete_images: p.delete_images.iter().map(|d| d.to_string()).collect(),
        delete_layers: p.delete_layers.iter().map(|d| d.to_string()).collect(),
        bytes_freed: p.bytes_freed,
        conflict: None,
    }
}
