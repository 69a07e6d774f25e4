//! Retention: which tags and untagged images a rule lets go, for the Images page's
//! Retention dialog. What removing them frees, and what blocks it, is the bulk removal's own
//! plan (`/api/rmi-plan`), read when the choice is reviewed.

use crate::model::split_tag;
use crate::wire::ImageSummaryDto;
use docker_format::human_duration;
use std::collections::{BTreeMap, BTreeSet};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// A retention rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Per repository, the newest images kept whatever their age.
    pub keep: usize,
    /// Only images created at least this many days ago go.
    pub older_than_days: u64,
    /// Untagged images (old enough) go too.
    pub untagged: bool,
}

impl Default for Rule {
    /// Keep the 3 newest of each repository, let go of what is 30 days old or more,
    /// untagged images included.
    fn default() -> Rule {
        Rule {
            keep: 3,
            older_than_days: 30,
            untagged: true,
        }
    }
}

/// A tag (`app:1`) or an untagged image (its ID) the rule lets go, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// What the removal names: the tag, or the image ID.
    pub name: String,
    /// `not among the 3 newest of app; created 45 days ago`.
    pub why: String,
}

/// What the rule lets go, by repository (oldest first within one), untagged images last.
/// An image a container uses is never chosen (it still counts among its repository's
/// newest). Removing a tag whose image has other tags only untags it; the image goes with
/// its last tag.
pub fn choose(images: &[ImageSummaryDto], rule: &Rule, now: i64) -> Vec<Chosen> {
    let old_enough = |i: &ImageSummaryDto| now - i.created >= rule.older_than_days as i64 * DAY;
    let age = |i: &ImageSummaryDto| format!("created {} ago", human_duration(now - i.created));
    let mut repos: BTreeMap<&str, Vec<(&str, &ImageSummaryDto)>> = BTreeMap::new();
    for image in images {
        for reference in &image.repo_tags {
            let (repo, _) = split_tag(reference);
            repos.entry(repo).or_default().push((reference, image));
        }
    }
    let mut out = Vec::new();
    for (repo, mut tags) in repos {
        // newest first; the same second by name, so the choice does not depend on order
        tags.sort_by(|(ra, a), (rb, b)| b.created.cmp(&a.created).then(ra.cmp(rb)));
        let mut kept = BTreeSet::new();
        let mut gone = Vec::new();
        for (reference, image) in tags {
            if kept.contains(image.id.as_str()) || kept.len() < rule.keep {
                kept.insert(image.id.as_str());
                continue;
            }
            if image.containers == 0 && old_enough(image) {
                let newest = match rule.keep {
                    0 => format!("{repo} keeps none by age"),
                    1 => format!("not the newest of {repo}"),
                    n => format!("not among the {n} newest of {repo}"),
                };
                gone.push(Chosen {
                    name: reference.to_string(),
                    why: format!("{newest}; {}", age(image)),
                });
            }
        }
        gone.reverse();
        out.extend(gone);
    }
    if rule.untagged {
        let mut untagged: Vec<&ImageSummaryDto> = images
            .iter()
            .filter(|i| i.repo_tags.is_empty() && i.containers == 0 && old_enough(i))
            .collect();
        untagged.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        out.extend(untagged.into_iter().map(|i| Chosen {
            name: i.id.clone(),
            why: format!("untagged; {}", age(i)),
        }));
    }
    out
}

/// `5 tags and 1 untagged image match`, or that nothing does.
pub fn headline(chosen: &[Chosen]) -> String {
    let untagged = chosen
        .iter()
        .filter(|c| c.name.starts_with("sha256:"))
        .count();
    let tags = chosen.len() - untagged;
    let n = |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
    match (tags, untagged) {
        (0, 0) => "Nothing matches: every image is kept.".into(),
        (t, 0) => format!("{} match.", n(t, "tag", "tags")),
        (0, u) => format!("{} match.", n(u, "untagged image", "untagged images")),
        (t, u) => format!(
            "{} and {} match.",
            n(t, "tag", "tags"),
            n(u, "untagged image", "untagged images")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn image(id: char, tags: &[&str], days_old: i64, containers: u64) -> ImageSummaryDto {
        ImageSummaryDto {
            id: format!("sha256:{}", id.to_string().repeat(64)),
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            created: NOW - days_old * DAY,
            containers,
            ..Default::default()
        }
    }

    fn names(c: &[Chosen]) -> Vec<&str> {
        c.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn the_newest_of_each_repository_stay_and_old_ones_go() {
        let images = [
            image('a', &["app:1"], 90, 0),
            image('b', &["app:2"], 60, 0),
            image('c', &["app:3", "app:stable"], 40, 0),
            image('d', &["app:4"], 10, 0),
            image('e', &["app:5"], 5, 0),
            image('f', &["db:1"], 400, 0),
            image('g', &[], 50, 0),
            image('h', &[], 2, 0),
        ];
        let rule = Rule {
            keep: 2,
            older_than_days: 30,
            untagged: true,
        };
        let chosen = choose(&images, &rule, NOW);
        // app: 5 and 4 kept (newest two); 3 with both its tags, 2 and 1 go, oldest first;
        // db:1 is its repository's only image; the 2-day-old untagged image is too young
        assert_eq!(
            names(&chosen),
            ["app:1", "app:2", "app:stable", "app:3", &images[6].id]
        );
        assert_eq!(
            chosen[0].why,
            "not among the 2 newest of app; created 3 months ago"
        );
        assert_eq!(chosen[4].why, "untagged; created 7 weeks ago");
        assert_eq!(headline(&chosen), "4 tags and 1 untagged image match.");
    }

    #[test]
    fn a_used_image_and_a_young_one_stay_and_untagged_ones_only_when_asked() {
        let images = [
            image('a', &["app:1"], 90, 1),
            image('b', &["app:2"], 20, 0),
            image('c', &["app:3"], 5, 0),
            image('g', &[], 50, 0),
            image('h', &[], 50, 2),
        ];
        let rule = Rule {
            keep: 1,
            older_than_days: 30,
            untagged: false,
        };
        // app:1 is used, app:2 is 20 days old: neither goes; untagged not asked for
        let chosen = choose(&images, &rule, NOW);
        assert_eq!(names(&chosen), Vec::<&str>::new());
        assert_eq!(headline(&chosen), "Nothing matches: every image is kept.");
        let all = Rule {
            keep: 1,
            older_than_days: 0,
            untagged: true,
        };
        let chosen = choose(&images, &all, NOW);
        assert_eq!(names(&chosen), ["app:2", &images[3].id]);
        assert_eq!(chosen[0].why, "not the newest of app; created 2 weeks ago");
        // an image tagged in two repositories: one keeps it, the other lets its tag go
        let shared = [
            image('a', &["app:1", "old/app:1"], 40, 0),
            image('b', &["old/app:2"], 10, 0),
        ];
        let one = Rule {
            keep: 1,
            older_than_days: 30,
            untagged: true,
        };
        assert_eq!(names(&choose(&shared, &one, NOW)), ["old/app:1"]);
    }
}
