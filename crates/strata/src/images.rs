//! `images`, `tag`, `rmi`, `image prune` and `system df`.

use crate::inspect::now;
use crate::Exit;
use clap::Args;
use docker_format::{human_size, Format, Table};
use engine::Engine;
use image_store::{ListOptions, PruneOptions, RmiEvent, RmiOptions};
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

pub fn images(engine: &Engine, a: ImagesArgs) -> anyhow::Result<()> {
    let mut filters = parse_filters(&a.filter)?;
    if let Some(r) = &a.reference {
        filters.push(("reference".into(), r.clone()));
    }
    let list = engine.images(&ListOptions {
        all: a.all,
        filters,
    })?;
    let rows = docker_api::image_rows(&list, a.digests, a.no_trunc, now());
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
        fmt.render(&rows, docker_api::IMAGES_HEADERS)
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

pub fn df(engine: &Engine, a: DfArgs) -> anyhow::Result<()> {
    let du = engine.disk_usage()?;
    let view = engine.view()?;
    let mut out = std::io::stdout().lock();
    if !a.verbose {
        let rows = docker_api::df_rows(&docker_api::DfFacts {
            images: du.images.len(),
            active_images: du.active,
            layers_size: du.layers_size,
            reclaimable: du.reclaimable,
            containers: view.containers.len(),
            running_containers: view.containers.iter().filter(|c| c.running).count(),
        });
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
        let since = docker_format::created_since(img.created, now);
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

#[derive(Args)]
pub struct ImageDiffArgs {
    /// Also say what differs in a changed path (type, content, target, mode, owner, xattrs)
    #[arg(long = "what")]
    what: bool,
    /// Print the comparison as JSON (the dashboard's `CompareDto`: the shared base, counts,
    /// every path)
    #[arg(long = "json")]
    json: bool,
    /// The first image
    first: String,
    /// The second image
    second: String,
}

/// `image diff A B`: the paths the two images' merged views differ in, as `docker diff`
/// marks them: `A` only in the second, `D` only in the first, `C` in both but not the same
/// (modification times aside). The shared base goes to stderr.
pub fn image_diff(engine: &Engine, a: ImageDiffArgs) -> anyhow::Result<()> {
    let c = engine.image_comparison(&a.first, &a.second)?;
    let mut out = std::io::stdout().lock();
    if a.json {
        let dto = union_dto::compare_dto(
            (&c.a.to_string(), &c.a_union),
            (&c.b.to_string(), &c.b_union),
            c.shared_layers,
            usize::MAX,
        );
        writeln!(out, "{}", serde_json::to_string_pretty(&dto)?)?;
        return Ok(());
    }
    eprintln!(
        "{} and {} share their first {} layer{}",
        a.first,
        a.second,
        c.shared_layers,
        if c.shared_layers == 1 { "" } else { "s" }
    );
    for d in layer_union::compare(&c.a_union, &c.b_union) {
        match (&d.difference, a.what) {
            (layer_union::Difference::Changed(aspects), true) => {
                let names: Vec<&str> = aspects.iter().map(|x| x.name()).collect();
                writeln!(out, "C /{}\t{}", d.path, names.join(","))?
            }
            (diff, _) => writeln!(out, "{} /{}", diff.letter(), d.path)?,
        }
    }
    Ok(())
}
