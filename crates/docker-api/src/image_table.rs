//! The docker CLI's tables for images (`docker images`, `docker history`, `docker system df`):
//! their rows and columns, the keys that `--format` templates and `--format json` use.

use crate::HistoryFacts;
use docker_format::{created_since, ellipsis, human_size, rfc3339, Row};
use image_store::ImageSummary;

/// The columns of the docker CLI's image table: each row key and its header.
pub const IMAGES_HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
    ("Containers", "CONTAINERS"),
];

/// `time.Unix(t,0).String()` in UTC: `2024-01-02 03:04:05 +0000 UTC`.
fn created_at(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] +0000 UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// The rows the docker CLI's image formatter makes (what `docker images --format` templates
/// and `--format json` read): one per (repository, tag[, digest]), sizes human, the
/// per-image counts `N/A` as the CLI prints them without `--verbose` data.
pub fn image_rows(images: &[ImageSummary], digests: bool, no_trunc: bool, now: i64) -> Vec<Row> {
    let mut rows = Vec::new();
    for img in images {
        let mut repo_tags: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut repo_digests: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for t in &img.repo_tags {
            if let Some((repo, tag)) = t.rsplit_once(':').filter(|(r, _)| !r.is_empty()) {
                repo_tags
                    .entry(repo.to_string())
                    .or_default()
                    .push(tag.to_string());
            }
        }
        for d in &img.repo_digests {
            if let Some((repo, dg)) = d.split_once('@') {
                repo_digests
                    .entry(repo.to_string())
                    .or_default()
                    .push(dg.to_string());
            }
        }
        let base = |repo: &str, tag: &str, digest: &str| {
            let mut r = Row::new();
            r.insert(
                "ID".into(),
                if no_trunc {
                    img.id.to_string()
                } else {
                    img.id.short().to_string()
                },
            );
            r.insert("Repository".into(), repo.into());
            r.insert("Tag".into(), tag.into());
            r.insert("Digest".into(), digest.into());
            r.insert("CreatedSince".into(), created_since(img.created, now));
            r.insert("CreatedAt".into(), created_at(img.created));
            r.insert("Size".into(), human_size(img.size));
            r.insert("VirtualSize".into(), human_size(img.size));
            r.insert("SharedSize".into(), "N/A".into());
            r.insert("UniqueSize".into(), "N/A".into());
            r.insert("Containers".into(), "N/A".into());
            r
        };
        for (repo, tags) in &repo_tags {
            let ds = repo_digests.remove(repo).unwrap_or_default();
            let ds = if digests && !ds.is_empty() {
                ds
            } else {
                vec!["<none>".to_string()]
            };
            for tag in tags {
                for d in &ds {
                    rows.push(base(repo, tag, d));
                }
            }
        }
        for (repo, ds) in &repo_digests {
            let ds = if digests {
                ds.clone()
            } else {
                vec!["<none>".to_string()]
            };
            for d in &ds {
                rows.push(base(repo, "<none>", d));
            }
        }
        if repo_tags.is_empty() && repo_digests.is_empty() {
            rows.push(base("<none>", "<none>", "<none>"));
        }
    }
    rows
}

/// The default `docker history` table.
pub const HISTORY_TABLE: &str =
    "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

/// The columns of the docker CLI's history table: each row key and its header.
pub const HISTORY_HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

/// One row of the docker CLI's history table: times relative (`human`) or RFC 3339, the
/// command's tabs as spaces and cut at 45 characters unless `no_trunc`.
pub fn history_row(r: &HistoryFacts<'_>, human: bool, no_trunc: bool, now: i64) -> Row {
    let id = match r.id {
        None => "<missing>".to_string(),
        Some(d) if no_trunc => d.to_string(),
        Some(d) => d.short().to_string(),
    };
    let by = r.created_by.replace('\t', " ");
    let mut row = Row::new();
    row.insert("ID".into(), id);
    row.insert(
        "CreatedSince".into(),
        if human {
            created_since(r.created, now)
        } else {
            rfc3339(r.created)
        },
    );
    row.insert("CreatedAt".into(), rfc3339(r.created));
    row.insert(
        "CreatedBy".into(),
        if no_trunc { by } else { ellipsis(&by, 45) },
    );
    row.insert(
        "Size".into(),
        if human {
            human_size(r.size)
        } else {
            r.size.to_string()
        },
    );
    row.insert("Comment".into(), r.comment.to_string());
    row
}

/// What `docker system df` counts, for its summary table.
#[derive(Debug, Clone, Copy)]
pub struct DfFacts {
    /// Images listed.
    pub images: usize,
    /// Of those, the ones a container uses.
    pub active_images: usize,
    /// Size of all layers, each once.
    pub layers_size: u64,
    /// What removing the unused images would free.
    pub reclaimable: u64,
    /// Containers.
    pub containers: usize,
    /// Of those, the running ones.
    pub running_containers: usize,
}

/// The rows of the docker CLI's `system df` table (`Type`, `TotalCount`, `Active`, `Size`,
/// `Reclaimable`): images, containers, no volumes, no build cache.
pub fn df_rows(f: &DfFacts) -> Vec<Row> {
    let rows = [
        (
            "Images",
            f.images,
            f.active_images,
            f.layers_size,
            with_percent(f.reclaimable, f.layers_size),
        ),
        (
            "Containers",
            f.containers,
            f.running_containers,
            0,
            human_size(0),
        ),
        ("Local Volumes", 0, 0, 0, human_size(0)),
        ("Build Cache", 0, 0, 0, human_size(0)),
    ];
    rows.into_iter()
        .map(|(t, total, active, size, rec)| {
            [
                ("Type", t.to_string()),
                ("TotalCount", total.to_string()),
                ("Active", active.to_string()),
                ("Size", human_size(size)),
                ("Reclaimable", rec),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
        })
        .collect()
}

/// `2.5MB (40%)`: the reclaimable bytes and their share of the total.
fn with_percent(reclaimable: u64, total: u64) -> String {
    match (reclaimable * 100).checked_div(total) {
        Some(percent) => format!("{} ({percent}%)", human_size(reclaimable)),
        None => human_size(reclaimable),
    }
}
