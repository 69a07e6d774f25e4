//! The texts of the remove and prune dialogs: what a plan (`/api/images/{name}/rmi-plan`,
//! `/api/prune-plan`) will untag, delete and free, what blocks it, and, after it ran, whether
//! what the server did is exactly what the preview listed.
//!
//! Pure. Bytes are the plan's own `bytes_freed` (each deleted layer's stored bytes plus the
//! configs and manifests), never a sum of image sizes.

use crate::wire::{BulkPlanDto, ImageSummaryDto, PlanDto, RmiEventDto};
use docker_format::{human_size, truncate_id};
use std::collections::BTreeSet;

/// What the SHARED column and figure mean (their tooltip and legend).
pub const SHARED_HELP: &str = "SHARED: the image's layers that other images use too. They are stored once, and removing this image leaves them on disk.";

/// What the table's UNIQUE column means.
pub const UNIQUE_HELP: &str = "UNIQUE: exactly the bytes removing this image frees: the layers no other image uses, as stored, plus its config and manifest (0 while a container uses it). The Remove dialog frees the same.";

/// What the image page's UNIQUE figure means: exactly its removal's `bytes_freed`.
pub const UNIQUE_EXACT_HELP: &str = "UNIQUE: exactly the bytes removing this image frees: the layers no other image or container uses, as stored, plus its config and manifest. It is the figure the Remove dialog shows.";

/// Prune scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scope {
    /// Untagged images only (`docker image prune`).
    #[default]
    Dangling,
    /// Every image no container uses (`docker image prune -a`).
    AllUnused,
}

impl Scope {
    /// The radio label, saying the scope in words (users confuse the two).
    pub fn label(self) -> &'static str {
        match self {
            Scope::Dangling => "Dangling only: images with no tag (<none>:<none>)",
            Scope::AllUnused => "All unused: every image no container uses, tagged or not",
        }
    }

    /// The button label.
    pub fn button(self) -> &'static str {
        match self {
            Scope::Dangling => "Prune dangling images",
            Scope::AllUnused => "Prune all unused images",
        }
    }

    /// The `all=` query value.
    pub fn all(self) -> bool {
        self == Scope::AllUnused
    }
}

/// One image the plan deletes, named for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Doomed {
    /// 12 hex.
    pub short_id: String,
    /// Its tags before the plan, or `<none>:<none>`.
    pub names: String,
}

/// What the dialog shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanText {
    /// The sentence at the top.
    pub headline: String,
    /// `Untagged: bb:1` lines.
    pub untag: Vec<String>,
    /// Images deleted.
    pub delete_images: Vec<Doomed>,
    /// Short diff IDs of the layers deleted.
    pub delete_layers: Vec<String>,
    /// `4.27MB`.
    pub freed: String,
    /// The exact bytes freed.
    pub bytes: u64,
    /// What refuses the operation (then nothing happens), in the server's words.
    pub blocked: Option<String>,
    /// True when executing would change nothing.
    pub nothing: bool,
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn names_of(id: &str, images: &[ImageSummaryDto]) -> String {
    match images.iter().find(|i| i.id == id) {
        Some(i) if !i.repo_tags.is_empty() => i.repo_tags.join(", "),
        _ => "<none>:<none>".into(),
    }
}

fn body(plan: &PlanDto, images: &[ImageSummaryDto]) -> (Vec<String>, Vec<Doomed>, Vec<String>) {
    (
        plan.untag.clone(),
        plan.delete_images
            .iter()
            .map(|id| Doomed {
                short_id: truncate_id(id),
                names: names_of(id, images),
            })
            .collect(),
        plan.delete_layers.iter().map(|d| truncate_id(d)).collect(),
    )
}

fn effects(plan: &PlanDto) -> String {
    let mut parts = Vec::new();
    if !plan.untag.is_empty() {
        parts.push(format!(
            "untags {}",
            count(plan.untag.len(), "reference", "references")
        ));
    }
    if !plan.delete_images.is_empty() {
        parts.push(format!(
            "deletes {}",
            count(plan.delete_images.len(), "image", "images")
        ));
    }
    if !plan.delete_layers.is_empty() {
        parts.push(format!(
            "{} {}",
            if plan.delete_images.is_empty() {
                "deletes"
            } else {
                "and"
            },
            count(plan.delete_layers.len(), "layer", "layers")
        ));
    }
    parts.join(", ").replace(", and ", " and ")
}

/// How people call what a plan was asked for: a tag as typed; an image ID as its short ID,
/// `<none>:<none> (1a2b3c4d5e6f)` when the image has no tag.
pub fn shown_name(name: &str, images: &[ImageSummaryDto]) -> String {
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    let is_id = hex.len() >= 12
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let found = images.iter().find(|i| {
        is_id
            && i.id
                .strip_prefix("sha256:")
                .unwrap_or(&i.id)
                .starts_with(hex)
    });
    match found {
        Some(i) if i.repo_tags.is_empty() => format!("<none>:<none> ({})", truncate_id(&i.id)),
        Some(i) => truncate_id(&i.id),
        None => name.to_string(),
    }
}

/// Why an image a plan only untags stays: its other tags, the containers that use it (a
/// running one keeps it even when forced), or the images built on it.
fn kept_reason(plan: &PlanDto, images: &[ImageSummaryDto]) -> String {
    let Some(image) = images
        .iter()
        .find(|i| plan.untag.iter().any(|u| i.repo_tags.contains(u)))
    else {
        return "the image stays".into();
    };
    let left: Vec<&str> = image
        .repo_tags
        .iter()
        .filter(|t| !plan.untag.contains(t))
        .map(String::as_str)
        .collect();
    if !left.is_empty() {
        return format!(
            "the image keeps its other {} ({})",
            if left.len() == 1 { "tag" } else { "tags" },
            left.join(", ")
        );
    }
    let short = truncate_id(&image.id);
    if image.containers > 0 {
        return match image.containers {
            1 => format!("the image stays as <none>:<none> ({short}) because a container uses it"),
            n => {
                format!("the image stays as <none>:<none> ({short}) because {n} containers use it")
            }
        };
    }
    format!("the image stays as <none>:<none> ({short}) because images built on it need it")
}

/// A preview worth carrying out: nothing refuses it and it untags or deletes something.
pub fn runnable(p: &PlanDto) -> bool {
    p.conflict.is_none() && !(p.untag.is_empty() && p.delete_images.is_empty())
}

/// The remove dialog for `name`. `forced` says the plan was asked with `force=1`.
pub fn rmi_text(name: &str, plan: &PlanDto, images: &[ImageSummaryDto], forced: bool) -> PlanText {
    if let Some(c) = &plan.conflict {
        let headline = format!(
            "{name} cannot be removed{}.",
            if forced { " even with force" } else { "" }
        );
        return plan_text(plan, images, headline, Some(c.clone()), true);
    }
    let name = &shown_name(name, images);
    let freed = human_size(plan.bytes_freed);
    let nothing = plan.untag.is_empty() && plan.delete_images.is_empty();
    let headline = if nothing {
        format!("Removing {name} would change nothing.")
    } else if plan.delete_images.is_empty() {
        format!(
            "{} {name} only untags it: {}, so nothing is freed.",
            if forced { "Force-removing" } else { "Removing" },
            kept_reason(plan, images)
        )
    } else if plan.bytes_freed == 0 {
        // forced past a stopped container: the container keeps the image's layers
        let used = images
            .iter()
            .filter(|i| plan.delete_images.contains(&i.id))
            .map(|i| i.containers)
            .sum::<u64>();
        let why = match used {
            0 => "every layer stays because another image uses it".to_string(),
            1 => "its layers stay because a container uses them".to_string(),
            n => format!("its layers stay because {n} containers use them"),
        };
        format!(
            "{} {name} {}; {why}, so nothing is freed.",
            if forced { "Force-removing" } else { "Removing" },
            effects(plan)
        )
    } else {
        format!("Removing {name} {}, freeing {freed}.", effects(plan))
    };
    plan_text(plan, images, headline, None, nothing)
}

/// The prune dialog.
pub fn prune_text(scope: Scope, plan: &PlanDto, images: &[ImageSummaryDto]) -> PlanText {
    let nothing = plan.untag.is_empty() && plan.delete_images.is_empty();
    let what = match scope {
        Scope::Dangling => "dangling images",
        Scope::AllUnused => "unused images",
    };
    let headline = if nothing {
        match scope {
            Scope::Dangling => "Nothing to prune: no image is dangling. \"All unused\" also removes tagged images no container uses.".to_string(),
            Scope::AllUnused => "Nothing to prune: every image is used by a container.".to_string(),
        }
    } else {
        format!(
            "Pruning {what} {}, freeing {}.",
            effects(plan),
            human_size(plan.bytes_freed)
        )
    };
    plan_text(plan, images, headline, None, nothing)
}

/// A dialog's text: `headline` above the plan's lists and bytes.
fn plan_text(
    plan: &PlanDto,
    images: &[ImageSummaryDto],
    headline: String,
    blocked: Option<String>,
    nothing: bool,
) -> PlanText {
    let (untag, delete_images, delete_layers) = body(plan, images);
    PlanText {
        headline,
        untag,
        delete_images,
        delete_layers,
        freed: human_size(plan.bytes_freed),
        bytes: plan.bytes_freed,
        blocked,
        nothing,
    }
}

fn event_set(p: &PlanDto) -> BTreeSet<String> {
    p.events
        .iter()
        .map(|e| match e {
            RmiEventDto::Untagged(r) => format!("untagged {r}"),
            RmiEventDto::Deleted(d) => format!("deleted {}", truncate_id(d)),
        })
        .chain(
            p.delete_layers
                .iter()
                .map(|l| format!("deleted layer {}", truncate_id(l))),
        )
        .collect()
}

/// After executing: `None` when the server did exactly what the preview listed, else what
/// differed (the store changed in between).
pub fn compare(preview: &PlanDto, done: &PlanDto) -> Option<String> {
    let want = event_set(preview);
    let got = event_set(done);
    if want == got && preview.bytes_freed == done.bytes_freed {
        return None;
    }
    let mut parts = vec!["The store changed between the preview and the removal.".to_string()];
    let extra: Vec<&String> = got.difference(&want).collect();
    let missing: Vec<&String> = want.difference(&got).collect();
    if !extra.is_empty() {
        parts.push(format!(
            "Also done: {}.",
            extra
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !missing.is_empty() {
        parts.push(format!(
            "Not done: {}.",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if preview.bytes_freed != done.bytes_freed {
        parts.push(format!(
            "Freed {} (the preview said {}).",
            human_size(done.bytes_freed),
            human_size(preview.bytes_freed)
        ));
    }
    Some(parts.join(" "))
}

/// The toast after a removal or prune that matched its preview.
pub fn done_text(plan: &PlanDto) -> String {
    if plan.delete_images.is_empty() && !plan.untag.is_empty() {
        return format!("Untagged {}.", plan.untag.join(", "));
    }
    if plan.delete_images.is_empty() {
        return "Nothing was removed.".into();
    }
    format!(
        "Removed exactly what the preview listed: {}, freed {}.",
        effects(plan)
            .replacen("untags", "untagged", 1)
            .replacen("deletes", "deleted", 1),
        human_size(plan.bytes_freed)
    )
}

/// The rows of a bulk preview, in order: each name as people call it ([`shown_name`]) and
/// the bytes its part frees.
pub fn bulk_rows(plan: &BulkPlanDto, images: &[ImageSummaryDto]) -> Vec<(String, u64)> {
    plan.items
        .iter()
        .map(|i| (shown_name(&i.name, images), i.plan.bytes_freed))
        .collect()
}

/// Where a bulk removal's names come from: rows the user selected, or a retention rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chosen {
    /// Selected rows of the table.
    Selected,
    /// What a retention rule matched.
    ByRule,
}

impl Chosen {
    /// The bulk dialog's title.
    pub fn title(self) -> &'static str {
        match self {
            Chosen::Selected => "Remove the selected rows",
            Chosen::ByRule => "Remove what the retention rule matched",
        }
    }

    /// `3 selected rows`, `1 matched name`.
    pub fn names_text(self, n: usize) -> String {
        match self {
            Chosen::Selected => count(n, "selected row", "selected rows"),
            Chosen::ByRule => count(n, "matched name", "matched names"),
        }
    }
}

/// A bulk removal, planned as one (`GET /api/rmi-plan`): the names go one after the other,
/// each planned on what the ones before it leave, so the total is exact; refused names are
/// skipped.
pub fn bulk_headline(plan: &BulkPlanDto, chosen: Chosen) -> String {
    let n = plan.items.len();
    let blocked = plan
        .items
        .iter()
        .filter(|i| i.plan.conflict.is_some())
        .count();
    let rows = chosen.names_text(n);
    let total = &plan.total;
    let mut s = if total.untag.is_empty() && total.delete_images.is_empty() {
        format!("Removing {rows} changes nothing")
    } else {
        format!(
            "Removing {rows} {}, freeing {}",
            effects(total),
            human_size(total.bytes_freed)
        )
    };
    if blocked > 0 {
        s.push_str(&format!(
            "; {} cannot be removed and will be skipped",
            count(blocked, "row", "rows")
        ));
    }
    s.push('.');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::BulkItemDto;

    fn img(hex: char, tags: &[&str]) -> ImageSummaryDto {
        ImageSummaryDto {
            id: format!("sha256:{}", hex.to_string().repeat(64)),
            repo_tags: tags.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn plan(untag: &[&str], images: &[char], layers: &[char], bytes: u64) -> PlanDto {
        let id = |c: &char| format!("sha256:{}", c.to_string().repeat(64));
        PlanDto {
            events: untag
                .iter()
                .map(|u| RmiEventDto::Untagged(u.to_string()))
                .chain(images.iter().map(|c| RmiEventDto::Deleted(id(c))))
                .collect(),
            untag: untag.iter().map(|s| s.to_string()).collect(),
            delete_images: images.iter().map(id).collect(),
            delete_layers: layers.iter().map(id).collect(),
            bytes_freed: bytes,
            conflict: None,
        }
    }

    #[test]
    fn rmi_texts() {
        let images = [img('a', &["bb:1"]), img('b', &["bb:2", "bb:latest"])];
        let t = rmi_text(
            "bb:1",
            &plan(&["bb:1"], &['a'], &['c', 'd'], 4_270_000),
            &images,
            false,
        );
        assert_eq!(
            t.headline,
            "Removing bb:1 untags 1 reference, deletes 1 image and 2 layers, freeing 4.27MB."
        );
        assert_eq!(t.untag, ["bb:1"]);
        assert_eq!(
            t.delete_images,
            [Doomed {
                short_id: "aaaaaaaaaaaa".into(),
                names: "bb:1".into()
            }]
        );
        assert_eq!(t.delete_layers, ["cccccccccccc", "dddddddddddd"]);
        let t = rmi_text("bb:2", &plan(&["bb:2"], &[], &[], 0), &images, false);
        assert_eq!(
            t.headline,
            "Removing bb:2 only untags it: the image keeps its other tag (bb:latest), so nothing is freed."
        );
        let t = rmi_text("bb:2", &plan(&["bb:2"], &['b'], &[], 500), &images, false);
        assert_eq!(
            t.headline,
            "Removing bb:2 untags 1 reference, deletes 1 image, freeing 500B."
        );
        let t = rmi_text("bb:2", &plan(&["bb:2"], &['b'], &[], 0), &images, false);
        assert!(t.headline.contains("every layer stays"), "{}", t.headline);
        let blocked = PlanDto {
            conflict: Some("conflict: unable to remove repository reference \"bb:1\" (must force) - container 0123 is using its referenced image aaaa".into()),
            ..Default::default()
        };
        let t = rmi_text("bb:1", &blocked, &images, false);
        assert_eq!(t.headline, "bb:1 cannot be removed.");
        assert!(t.blocked.unwrap().contains("container 0123"));
        assert!(t.nothing);
        assert_eq!(
            rmi_text("bb:1", &blocked, &images, true).headline,
            "bb:1 cannot be removed even with force."
        );
    }

    #[test]
    fn prune_texts() {
        let images = [img('a', &[])];
        let t = prune_text(Scope::Dangling, &plan(&[], &['a'], &['c'], 1_000), &images);
        assert_eq!(
            t.headline,
            "Pruning dangling images deletes 1 image and 1 layer, freeing 1kB."
        );
        assert_eq!(t.delete_images[0].names, "<none>:<none>");
        let t = prune_text(Scope::Dangling, &PlanDto::default(), &images);
        assert!(t.nothing);
        assert!(t
            .headline
            .starts_with("Nothing to prune: no image is dangling."));
        let t = prune_text(Scope::AllUnused, &PlanDto::default(), &images);
        assert_eq!(
            t.headline,
            "Nothing to prune: every image is used by a container."
        );
        assert!(Scope::AllUnused.all());
        assert_eq!(Scope::default(), Scope::Dangling);
    }

    #[test]
    fn executed_plans_are_checked_against_the_preview() {
        let preview = plan(&["bb:1"], &['a'], &['c'], 100);
        assert_eq!(compare(&preview, &preview.clone()), None);
        assert_eq!(
            done_text(&preview),
            "Removed exactly what the preview listed: untagged 1 reference, deleted 1 image and 1 layer, freed 100B."
        );
        let done = plan(&["bb:1"], &['a'], &['c', 'd'], 150);
        assert_eq!(
            compare(&preview, &done).unwrap(),
            "The store changed between the preview and the removal. Also done: deleted layer dddddddddddd. Freed 150B (the preview said 100B)."
        );
        let done = plan(&["bb:1"], &[], &[], 0);
        assert!(compare(&preview, &done)
            .unwrap()
            .contains("Not done: deleted aaaaaaaaaaaa, deleted layer cccccccccccc."));
        assert_eq!(done_text(&plan(&["x:1"], &[], &[], 0)), "Untagged x:1.");
    }

    #[test]
    fn bulk() {
        let item = |name: &str, plan: PlanDto| crate::wire::BulkItemDto {
            name: name.into(),
            plan,
        };
        let items = vec![
            item("a:1", plan(&["a:1"], &['a'], &[], 100)),
            item("b:1", plan(&["b:1"], &['b'], &['c'], 1020)),
            item(
                "c:1",
                PlanDto {
                    conflict: Some("x".into()),
                    ..Default::default()
                },
            ),
        ];
        let total = plan(&["a:1", "b:1"], &['a', 'b'], &['c'], 1120);
        let bulk = BulkPlanDto { items, total };
        assert_eq!(
            bulk_headline(&bulk, Chosen::Selected),
            "Removing 3 selected rows untags 2 references, deletes 2 images and 1 layer, freeing 1.12kB; 1 row cannot be removed and will be skipped."
        );
        assert!(bulk_headline(&bulk, Chosen::ByRule).starts_with("Removing 3 matched names untags"));
    }

    #[test]
    fn a_forced_untag_says_why_the_image_stays() {
        let mut used = img('a', &["app:1"]);
        used.containers = 1;
        let t = rmi_text(
            "app:1",
            &plan(&["app:1"], &[], &[], 0),
            &[used.clone()],
            true,
        );
        assert_eq!(
            t.headline,
            "Force-removing app:1 only untags it: the image stays as <none>:<none> (aaaaaaaaaaaa) because a container uses it, so nothing is freed."
        );
        used.containers = 2;
        let t = rmi_text("app:1", &plan(&["app:1"], &[], &[], 0), &[used], true);
        assert!(
            t.headline.contains("because 2 containers use it"),
            "{}",
            t.headline
        );
        let parent = img('b', &["base:1"]);
        let t = rmi_text("base:1", &plan(&["base:1"], &[], &[], 0), &[parent], false);
        assert_eq!(
            t.headline,
            "Removing base:1 only untags it: the image stays as <none>:<none> (bbbbbbbbbbbb) because images built on it need it, so nothing is freed."
        );
    }

    #[test]
    fn a_forced_removal_past_a_stopped_container_says_it_keeps_the_layers() {
        let mut used = img('a', &["app:1"]);
        used.containers = 1;
        let t = rmi_text("app:1", &plan(&["app:1"], &['a'], &[], 0), &[used], true);
        assert_eq!(
            t.headline,
            "Force-removing app:1 untags 1 reference, deletes 1 image; its layers stay because a container uses them, so nothing is freed."
        );
    }

    #[test]
    fn an_image_id_is_shown_as_none_none_with_its_short_id() {
        let images = [img('a', &[]), img('b', &["bb:2"])];
        let a = format!("sha256:{}", "a".repeat(64));
        assert_eq!(shown_name(&a, &images), "<none>:<none> (aaaaaaaaaaaa)");
        assert_eq!(
            shown_name(&"a".repeat(12), &images),
            "<none>:<none> (aaaaaaaaaaaa)"
        );
        assert_eq!(shown_name(&"b".repeat(64), &images), "bbbbbbbbbbbb");
        assert_eq!(shown_name("bb:2", &images), "bb:2");
        assert_eq!(shown_name("cafe", &images), "cafe", "too short for an ID");
        let t = rmi_text(&a, &plan(&[], &['a'], &['c'], 10), &images, false);
        assert_eq!(
            t.headline,
            "Removing <none>:<none> (aaaaaaaaaaaa) deletes 1 image and 1 layer, freeing 10B."
        );
        // the bulk preview names its rows the same way
        let bulk = BulkPlanDto {
            items: vec![BulkItemDto {
                name: a.clone(),
                plan: plan(&[], &['a'], &['c'], 10),
            }],
            total: plan(&[], &['a'], &['c'], 10),
        };
        assert_eq!(
            bulk_rows(&bulk, &images),
            [("<none>:<none> (aaaaaaaaaaaa)".to_string(), 10)]
        );
    }
}
