//! `images`, `tag`, `rmi`, `image prune` and `system df`.

use crate::inspect::now;
use crate::Exit;
use clap::Args;
use docker_format::{human_duration, human_size, Format, Row, Table};
use engine::Engine;
use image_store::{ImageSummary, ListOptions, PruneOptions, RmiEvent, RmiOptions};
use std::io::{BufRead, IsTerminal, Write};

#[derive(Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Show digests
    #[arg(long = "digests")]
    digests: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'
    #[arg(long = "format")]
    format: Option<String>,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    /// [REPOSITORY[:TAG]]
    reference: Option<String>,
}

const IMAGES_HEADERS: &[(&str, &str)] = &[
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

/// Splits `key=value` filter flags.
fn parse_filters(flags: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    flags
        .iter()
        .map(|f| match f.split_once('=') {
            Some((k, v)) => Ok((k.trim().to_ascii_lowercase(), v.to_string())),
            None => anyhow::bail!("bad format of filter (expected name=value)"),
        })
        .collect()
}

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

/// The rows docker's image formatter makes: one per (repository, tag[, digest]).
fn image_rows(images: &[ImageSummary], digests: bool, no_trunc: bool, now: i64) -> Vec<Row> {
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
            r.insert(
                "CreatedSince".into(),
                format!("{} ago", human_duration(now - img.created)),
            );
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

pub fn images(engine: &Engine, a: ImagesArgs) -> anyhow::Result<()> {
    let mut filters = parse_filters(&a.filter)?;
    if let Some(r) = &a.reference {
        filters.push(("reference".into(), r.clone()));
    }
    let list = engine.images(&ListOptions {
        all: a.all,
        filters,
    })?;
    let rows = image_rows(&list, a.digests, a.no_trunc, now());
    let mut out = std::io::stdout().lock();
    if a.quiet {
        for r in &rows {
            writeln!(out, "{}", r["ID"])?;
        }
        return Ok(());
    }
    let default = if a.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    let fmt = Format::parse(a.format.as_deref().unwrap_or(default), default);
    write!(
        out,
        "{}",
        fmt.render(&rows, IMAGES_HEADERS)
            .map_err(|e| anyhow::anyhow!("{e}"))?
    )?;
    Ok(())
}

#[derive(Args)]
pub struct TagArgs {
    /// SOURCE_IMAGE[:TAG]
    source: String,
    /// TARGET_IMAGE[:TAG]
    target: String,
}

pub fn tag(engine: &Engine, a: TagArgs) -> anyhow::Result<()> {
    engine.tag(&a.source, &a.target)?;
    Ok(())
}

#[derive(Args)]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// Do not delete untagged parents
    #[arg(long = "no-prune")]
    no_prune: bool,
    /// IMAGE...
    #[arg(required = true)]
    images: Vec<String>,
}

fn event_line(e: &RmiEvent, lower: bool) -> String {
    match (e, lower) {
        (RmiEvent::Untagged(r), false) => format!("Untagged: {r}"),
        (RmiEvent::Deleted(d), false) => format!("Deleted: {d}"),
        (RmiEvent::Untagged(r), true) => format!("untagged: {r}"),
        (RmiEvent::Deleted(d), true) => format!("deleted: {d}"),
    }
}

pub fn rmi(engine: &Engine, a: RmiArgs) -> anyhow::Result<()> {
    let opts = RmiOptions {
        force: a.force,
        no_prune: a.no_prune,
    };
    let mut failed = false;
    for name in &a.images {
        match engine.rmi(name, &opts) {
            Ok(events) => {
                let mut out = std::io::stdout().lock();
                for e in &events {
                    writeln!(out, "{}", event_line(e, false))?;
                }
            }
            Err(e) => {
                crate::report(&e);
                failed = true;
            }
        }
    }
    if failed {
        return Err(Exit(1).into());
    }
    Ok(())
}

#[derive(Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter")]
    filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    force: bool,
}

pub fn prune(engine: &Engine, a: PruneArgs) -> anyhow::Result<()> {
    let now = now();
    let mut until = None;
    let mut labels = Vec::new();
    for (k, v) in parse_filters(&a.filter)? {
        match k.as_str() {
            "until" => {
                until =
                    Some(docker_format::parse_timestamp(&v, now).map_err(|e| anyhow::anyhow!(e))?)
            }
            "label" => labels.push(v),
            "label!" => labels.push(format!("!{v}")),
            _ => anyhow::bail!("invalid filter '{k}'"),
        }
    }
    if !a.force {
        let warning = if a.all {
            "WARNING! This will remove all images without at least one container associated to them."
        } else {
            "WARNING! This will remove all dangling images."
        };
        print!("{warning}\nAre you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        if !std::io::stdin().is_terminal()
            || std::io::stdin().lock().read_line(&mut answer).is_err()
        {
            answer.clear();
        }
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            println!();
            return Ok(());
        }
    }
    let plan = engine.prune(&PruneOptions {
        all: a.all,
        until,
        labels,
    })?;
    let mut out = std::io::stdout().lock();
    if !plan.events.is_empty() {
        writeln!(out, "Deleted Images:")?;
        for e in &plan.events {
            writeln!(out, "{}", event_line(e, true))?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Total reclaimed space: {}",
        human_size(plan.bytes_freed)
    )?;
    Ok(())
}

#[derive(Args)]
pub struct DfArgs {
    /// Show detailed information on space usage
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    /// Format output using a custom template
    #[arg(long = "format")]
    format: Option<String>,
}

/// What the store really occupies, apart from the images' (uncompressed, Docker-measured)
/// sizes above it: layers as stored (pulled ones compressed), configs and manifests.
fn on_disk_line(du: &image_store::DiskUsage) -> String {
    format!(
        "Store on disk: {} (layers as stored, compressed when pulled, with image configs and manifests)",
        human_size(du.stored_bytes)
    )
}

fn with_percent(reclaimable: u64, total: u64) -> String {
    match (reclaimable * 100).checked_div(total) {
        Some(percent) => format!("{} ({percent}%)", human_size(reclaimable)),
        None => human_size(reclaimable),
    }
}

pub fn df(engine: &Engine, a: DfArgs) -> anyhow::Result<()> {
    let du = engine.disk_usage()?;
    let view = engine.view()?;
    let mut out = std::io::stdout().lock();
    if !a.verbose {
        let rows = [
            (
                "Images",
                du.images.len(),
                du.active,
                du.layers_size,
                with_percent(du.reclaimable, du.layers_size),
            ),
            (
                "Containers",
                view.containers.len(),
                view.containers.iter().filter(|c| c.running).count(),
                0,
                human_size(0),
            ),
            ("Local Volumes", 0, 0, 0, human_size(0)),
            ("Build Cache", 0, 0, 0, human_size(0)),
        ];
        let rows: Vec<Row> = rows
            .into_iter()
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
            .collect();
        let default = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
        let fmt = Format::parse(a.format.as_deref().unwrap_or(default), default);
        let headers = [
            ("Type", "TYPE"),
            ("TotalCount", "TOTAL"),
            ("Active", "ACTIVE"),
            ("Size", "SIZE"),
            ("Reclaimable", "RECLAIMABLE"),
        ];
        write!(
            out,
            "{}",
            fmt.render(&rows, &headers)
                .map_err(|e| anyhow::anyhow!("{e}"))?
        )?;
        if a.format.is_none() {
            writeln!(out, "\n{}", on_disk_line(&du))?;
        }
        return Ok(());
    }
    let now = now();
    writeln!(out, "Images space usage:\n")?;
    let mut t = Table::new();
    t.row([
        "REPOSITORY",
        "TAG",
        "IMAGE ID",
        "CREATED",
        "SIZE",
        "SHARED SIZE",
        "UNIQUE SIZE",
        "CONTAINERS",
    ]);
    for img in &du.images {
        let since = format!("{} ago", human_duration(now - img.created));
        let mut tags: Vec<(String, String)> = img
            .repo_tags
            .iter()
            .filter_map(|t| {
                t.rsplit_once(':')
                    .map(|(r, t)| (r.to_string(), t.to_string()))
            })
            .collect();
        if tags.is_empty() {
            tags.push(("<none>".into(), "<none>".into()));
        }
        for (repo, tag) in tags {
            t.row([
                repo,
                tag,
                img.id.short().to_string(),
                since.clone(),
                human_size(img.size),
                human_size(img.shared_size),
                human_size(img.unique_size),
                img.containers.to_string(),
            ]);
        }
    }
    write!(out, "{}", t.render())?;
    writeln!(out, "\nContainers space usage:\n")?;
    let mut t = Table::new();
    t.row([
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "LOCAL VOLUMES",
        "SIZE",
        "CREATED",
        "STATUS",
        "NAMES",
    ]);
    write!(out, "{}", t.render())?;
    writeln!(out, "\nLocal Volumes space usage:\n")?;
    let mut t = Table::new();
    t.row(["VOLUME NAME", "LINKS", "SIZE"]);
    write!(out, "{}", t.render())?;
    writeln!(out, "\nBuild cache usage: 0B\n")?;
    let mut t = Table::new();
    t.row([
        "CACHE ID",
        "CACHE TYPE",
        "SIZE",
        "CREATED",
        "LAST USED",
        "USAGE",
        "SHARED",
    ]);
    write!(out, "{}", t.render())?;
    writeln!(out, "\n{}", on_disk_line(&du))?;
    Ok(())
}

#[derive(Args)]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Provide filter values (e.g. "label=<key>=<value>", "until=<timestamp>")
    #[arg(long = "filter")]
    filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    force: bool,
}

/// `system prune`: stopped containers, then dangling (with `-a`: unused) images; networks and
/// build cache have nothing to prune here. Docker's confirmation and report.
pub fn system_prune(engine: &Engine, a: SystemPruneArgs) -> anyhow::Result<()> {
    let now = now();
    let mut until = None;
    let mut labels = Vec::new();
    let filters = parse_filters(&a.filter)?;
    for (k, v) in &filters {
        match k.as_str() {
            "until" => {
                until =
                    Some(docker_format::parse_timestamp(v, now).map_err(|e| anyhow::anyhow!(e))?)
            }
            "label" => labels.push(v.clone()),
            "label!" => labels.push(format!("!{v}")),
            _ => anyhow::bail!("invalid filter '{k}'"),
        }
    }
    if !a.force {
        let mut text = String::from("WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n");
        text.push_str(if a.all {
            "  - all images without at least one container associated to them\n  - all build cache\n"
        } else {
            "  - all dangling images\n  - unused build cache\n"
        });
        if !filters.is_empty() {
            text.push_str("\n  Items to be pruned will be filtered with:\n");
            for (k, v) in &filters {
                text.push_str(&format!("  - {k}={v}\n"));
            }
        }
        print!("{text}\nAre you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer).is_err() {
            answer.clear();
        }
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Ok(());
        }
    }
    let (containers, container_bytes) = engine.prune_containers(until, &labels)?;
    let plan = engine.prune(&PruneOptions {
        all: a.all,
        until,
        labels,
    })?;
    let mut out = std::io::stdout().lock();
    if !containers.is_empty() {
        writeln!(out, "Deleted Containers:")?;
        for id in &containers {
            writeln!(out, "{id}")?;
        }
        writeln!(out)?;
    }
    if !plan.events.is_empty() {
        writeln!(out, "Deleted Images:")?;
        for e in &plan.events {
            writeln!(out, "{}", event_line(e, true))?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Total reclaimed space: {}",
        human_size(container_bytes + plan.bytes_freed)
    )?;
    Ok(())
}
