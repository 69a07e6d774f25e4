//! Container verbs: `create`, `ps`, `cp`, `fs rm|mkdir`, `diff`, `commit`, `export`, `rm`,
//! `container inspect` and `tree`.

use crate::inspect::{now, print_json};
use crate::Exit;
use clap::{Args, Subcommand};
use docker_format::{ellipsis, human_duration, human_size, Format, Row};
use engine::{CommitOptions, ContainerInfo, Engine};
use layer_diff::EntryKind;
use serde_json::{json, Value};
use std::io::{ErrorKind, IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    flags: crate::run::ContainerFlags,
}

pub fn create(engine: &Engine, a: CreateArgs) -> anyhow::Result<()> {
    let opts = a
        .flags
        .options()
        .map_err(|e| crate::run::flag_error("create", e))?;
    let c = engine.create_container_with(&a.flags.image, &opts)?;
    println!("{}", c.id);
    Ok(())
}

#[derive(Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Only display container IDs
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Format output using a custom template
    #[arg(long = "format")]
    format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", default_value_t = -1, allow_negative_numbers = true)]
    last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long = "latest")]
    latest: bool,
    /// Filter output based on conditions provided (status=, exited=, name=, id=, label=, ancestor=)
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
}

/// `ps --filter`: each key's values are alternatives, the keys all apply (moby's rules);
/// `status=` and `exited=` look at every container, as `-a` does.
struct PsFilter {
    status: Vec<String>,
    exited: Vec<i32>,
    name: Vec<String>,
    id: Vec<String>,
    label: Vec<String>,
    /// `ancestor=` values, and the images they resolve to.
    ancestor: Vec<(String, Option<image_store::Resolved>)>,
    /// `health=`: `starting`, `healthy`, `unhealthy`, `none` (no check).
    health: Vec<String>,
    /// `publish=` (host ports) and `expose=` (container ports).
    publish: Vec<docker_api::PortFilter>,
    expose: Vec<docker_api::PortFilter>,
}

impl PsFilter {
    fn parse(args: &[String], view: &image_store::StoreView) -> anyhow::Result<PsFilter> {
        // Docker's daemon judges filters: its texts come as daemon errors.
        let bad = |m: String| anyhow::Error::from(engine::EngineError::Invalid(m));
        let mut f = PsFilter {
            status: Vec::new(),
            exited: Vec::new(),
            name: Vec::new(),
            id: Vec::new(),
            label: Vec::new(),
            ancestor: Vec::new(),
            health: Vec::new(),
            publish: Vec::new(),
            expose: Vec::new(),
        };
        for a in args {
            let (k, v) = a
                .split_once('=')
                .ok_or_else(|| bad("bad format of filter (expected name=value)".into()))?;
            match k {
                "status" => {
                    const STATES: [&str; 7] = [
                        "created",
                        "restarting",
                        "running",
                        "removing",
                        "paused",
                        "exited",
                        "dead",
                    ];
                    if !STATES.contains(&v) {
                        return Err(bad(format!("invalid filter 'status={v}'")));
                    }
                    f.status.push(v.to_string());
                }
                "exited" => f.exited.push(
                    v.parse()
                        .map_err(|_| bad(format!("invalid filter 'exited={v}'")))?,
                ),
                "name" => f.name.push(v.to_string()),
                "id" => f.id.push(v.to_string()),
                "label" => f.label.push(v.to_string()),
                "ancestor" => f
                    .ancestor
                    .push((v.to_string(), image_store::resolve(view, v).ok())),
                "health" => {
                    if !matches!(v, "starting" | "healthy" | "unhealthy" | "none") {
                        return Err(bad(format!("Unrecognised filter value for health: {v}")));
                    }
                    f.health.push(v.to_string());
                }
                "publish" => f
                    .publish
                    .push(docker_api::PortFilter::parse(k, v).map_err(bad)?),
                "expose" => f
                    .expose
                    .push(docker_api::PortFilter::parse(k, v).map_err(bad)?),
                other => return Err(bad(format!("invalid filter '{other}'"))),
            }
        }
        Ok(f)
    }

    fn widens(&self) -> bool {
        !self.status.is_empty() || !self.exited.is_empty()
    }

    fn keeps(
        &self,
        engine: &Engine,
        c: &ContainerInfo,
        p: &engine::ProcessState,
        view: &image_store::StoreView,
    ) -> bool {
        let ports =
            || docker_api::ports_match(&self.publish, &self.expose, &engine.container_ports(c));
        let labels = c.config.labels.clone().unwrap_or_default();
        (self.label.iter().all(|l| match l.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
            None => labels.contains_key(l),
        })) && (self.ancestor.is_empty()
            || self.ancestor.iter().any(|(name, id)| {
                id.as_ref()
                    .is_some_and(|a| view.descends_from(&c.image, &a.id))
                    || c.image_name == *name
            }))
            && (self.status.is_empty() || self.status.contains(&p.status))
            && (self.exited.is_empty()
                || (p.status == "exited" && self.exited.contains(&p.exit_code)))
            && (self.name.is_empty()
                || self
                    .name
                    .iter()
                    .any(|n| docker_api::container_name_matches(n, &c.name)))
            && (self.id.is_empty() || self.id.iter().any(|i| c.id.starts_with(i.as_str())))
            && (self.health.is_empty()
                || self.health.iter().any(|h| match &p.health {
                    Some(s) => s.status == *h,
                    None => h == "none",
                }))
            && ((self.publish.is_empty() && self.expose.is_empty()) || ports())
    }
}

fn command_of(engine: &Engine, c: &ContainerInfo) -> String {
    match engine.run_config(c) {
        Ok(rc) => rc.args().join(" "),
        Err(_) => {
            let mut parts = c.config.entrypoint.clone().unwrap_or_default();
            parts.extend(c.config.cmd.clone().unwrap_or_default());
            parts.join(" ")
        }
    }
}

fn unix_time(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// `ps`'s PORTS: the published ports of a container running on the bridge, and its exposed
/// ports without one.
fn ports_text(engine: &Engine, c: &ContainerInfo) -> String {
    docker_format::ports_column(&engine.container_ports(c))
}

pub fn ps(engine: &Engine, a: PsArgs) -> anyhow::Result<()> {
    // Without `-a`, running (and paused) containers only; the newest N (`-n N`, `-l`) are of
    // any state, as with `-a` (moby).
    let last = if a.latest { 1 } else { a.last };
    let view = engine.view()?;
    let filter = PsFilter::parse(&a.filter, &view)?;
    let mut list: Vec<(ContainerInfo, engine::ProcessState)> = Vec::new();
    for c in engine.containers()? {
        let p = engine.process_state(&c)?;
        if (a.all || last > 0 || filter.widens() || p.is_running())
            && filter.keeps(engine, &c, &p, &view)
        {
            list.push((c, p));
        }
    }
    if last > 0 {
        list.truncate(last as usize);
    }
    let now = now();
    let rows: Vec<Row> = list
        .iter()
        .map(|(c, p)| {
            let created = unix_time(&c.created).unwrap_or(now);
            let status = docker_format::container_status(
                &p.status,
                p.exit_code,
                unix_time(&p.started_at).unwrap_or(now),
                unix_time(&p.finished_at).unwrap_or(now),
                now,
            );
            let cmd = command_of(engine, c);
            let cmd = if a.no_trunc {
                format!("\"{cmd}\"")
            } else {
                format!("\"{}\"", ellipsis(&cmd, 20))
            };
            let id = if a.no_trunc {
                c.id.clone()
            } else {
                c.id[..12].to_string()
            };
            [
                ("ID", id),
                ("Image", {
                    let shown = c.shown_image(&view);
                    match shown.strip_prefix("sha256:") {
                        Some(hex) if !a.no_trunc => hex[..12.min(hex.len())].to_string(),
                        _ => shown,
                    }
                }),
                ("Command", cmd),
                (
                    "RunningFor",
                    format!("{} ago", human_duration(now - created)),
                ),
                ("CreatedAt", c.created.clone()),
                ("Status", status),
                ("State", p.status.clone()),
                ("Ports", ports_text(engine, c)),
                ("Names", c.name.clone()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
        })
        .collect();
    if a.quiet {
        for r in &rows {
            println!("{}", r["ID"]);
        }
        return Ok(());
    }
    let default = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
    let fmt = Format::parse(a.format.as_deref().unwrap_or(default), default);
    let headers = [
        ("ID", "CONTAINER ID"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("RunningFor", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("Status", "STATUS"),
        ("State", "STATE"),
        ("Ports", "PORTS"),
        ("Names", "NAMES"),
    ];
    print!(
        "{}",
        fmt.render(&rows, &headers)
            .map_err(|e| anyhow::anyhow!("{e}"))?
    );
    Ok(())
}

#[derive(Args)]
pub struct CpArgs {
    /// SRC: a local path, `-` (a tar on stdin), or CONTAINER:PATH
    src: String,
    /// DEST: a local path, `-` (a tar on stdout), or CONTAINER:PATH
    dest: String,
}

/// `CONTAINER:PATH` → (container, path); local paths (also `./a:b`, `/a:b`) → None.
fn split_container_path(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    arg.split_once(':')
        .filter(|(c, _)| !c.is_empty() && !c.contains('/'))
}

pub fn cp(engine: &Engine, a: CpArgs) -> anyhow::Result<()> {
    match (split_container_path(&a.src), split_container_path(&a.dest)) {
        (Some(_), Some(_)) => anyhow::bail!("copying between containers is not supported"),
        (None, None) => anyhow::bail!("must specify at least one container source"),
        (None, Some((c, path))) => cp_in(engine, &a.src, c, path),
        (Some((c, path)), None) => cp_out(engine, c, path, &a.dest),
    }
}

/// `cp SRC CONTAINER:DEST`, as the docker CLI copies in: it always asks the daemon for
/// `noOverwriteDirNonDir`, so an entry never replaces a directory with a non-directory nor
/// the reverse (the image's `var/run -> /run` stays a symlink).
fn cp_in(engine: &Engine, src: &str, container: &str, dest: &str) -> anyhow::Result<()> {
    let opts = engine::PutArchiveOptions {
        no_overwrite_dir_non_dir: true,
    };
    if src == "-" {
        engine.container_put_archive_with(container, dest, std::io::stdin().lock(), opts)?;
        return Ok(());
    }
    let src_path = Path::new(src);
    let meta =
        std::fs::symlink_metadata(src_path).map_err(|e| anyhow::anyhow!("stat {src}: {e}"))?;
    let contents_only = src.ends_with("/.");
    // A destination that is a symlink is followed, as the docker CLI follows it: its target,
    // resolved inside the container's root, is the destination.
    let mut dest = dest.to_string();
    let mut stat = engine.container_path_stat(container, &dest)?;
    if let Some(link) = stat.as_ref().filter(|s| s.kind == "symlink") {
        dest = link.link_target.clone();
        stat = engine.container_path_stat(container, &dest)?;
    }
    let dest = dest.as_str();
    let dest_trimmed = dest.trim_end_matches('/');
    let dest_state = stat.map(|s| s.is_dir());
    // Where the archive goes and what its top entry is called, as `docker cp` decides.
    let (extract_dir, top_name): (String, Option<Vec<u8>>) = match dest_state {
        Some(true) if contents_only => (dest.to_string(), None),
        Some(true) => (dest.to_string(), Some(file_name(src_path)?)),
        Some(false) if meta.is_dir() => {
            anyhow::bail!("cannot copy a directory to a file: {container}:{dest}")
        }
        Some(false) | None => {
            if dest.ends_with('/') && dest_state.is_none() {
                anyhow::bail!("no such directory: {container}:{dest}");
            }
            let (parent, name) = match dest_trimmed.rsplit_once('/') {
                Some((p, n)) => (
                    if p.is_empty() {
                        "/".to_string()
                    } else {
                        p.to_string()
                    },
                    n.to_string(),
                ),
                None => ("/".to_string(), dest_trimmed.to_string()),
            };
            (parent, Some(name.into_bytes()))
        }
    };
    // The tree streams through a pipe as it is packed (never whole in memory), every name
    // written as its bytes by the one tar writer. The engine may stop reading early (it
    // refuses the archive): the packer then gets `EPIPE`, never SIGPIPE, and the engine's
    // refusal is the error; a packer's own failure (an unreadable file) comes first.
    let top = top_name.unwrap_or_else(|| b".".to_vec());
    let (r, mut w) = std::io::pipe()?;
    std::thread::scope(|s| {
        let packer = s.spawn(move || {
            crate::feed_without_sigpipe();
            layer_apply::pack_path(src_path, &top, &mut w)
        });
        let put = engine.container_put_archive_with(container, &extract_dir, r, opts);
        let packed = packer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        match packed {
            Err(e) if !is_broken_pipe(&e) => Err(anyhow::anyhow!("{e}")),
            _ => Ok(put?),
        }
    })
}

/// Whether packing failed only because the reader went away.
fn is_broken_pipe(e: &layer_apply::ApplyError) -> bool {
    e.io_error()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Whether an engine error is only a write into a pipe whose reader went away.
fn is_engine_broken_pipe(e: &engine::EngineError) -> bool {
    io_causes(e).any(|io| io.kind() == ErrorKind::BrokenPipe)
}

/// The I/O errors in the chain of `e`'s causes.
fn io_causes<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a std::io::Error> {
    std::iter::successors(Some(e), |e| e.source()).filter_map(|e| e.downcast_ref())
}

/// The base name of a local path, as bytes (a name is any bytes but `/` and NUL).
fn file_name(p: &Path) -> anyhow::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    p.file_name()
        .map(|n| n.as_bytes().to_vec())
        .ok_or_else(|| anyhow::anyhow!("cannot copy {}: no file name", p.display()))
}

/// `cp CONTAINER:SRC DEST`, by Docker's rules (moby's `CopyInfo`, `PrepareArchiveCopy`): the
/// archive's top entry goes into DEST when it is an existing directory, else becomes DEST;
/// `SRC/.` and the root `/` give what the directory holds instead, into DEST (created when
/// missing). What arrives merges with what is there as Docker's extraction does: a
/// directory into a directory, anything else replacing a non-directory; a directory never
/// replaces a non-directory nor the reverse.
fn cp_out(engine: &Engine, container: &str, path: &str, dest: &str) -> anyhow::Result<()> {
    if dest == "-" {
        let out = std::io::stdout();
        if out.is_terminal() {
            anyhow::bail!("cowardly refusing to write a tar to a terminal");
        }
        engine.container_get_archive(container, path, out.lock())?;
        return Ok(());
    }
    // The root's archive holds its entries; any other path's, one entry named after it.
    let is_root = layer_diff::normalize_path(path).is_ok_and(|p| p.is_empty());
    let contents_only = is_root || path == "." || path.ends_with("/.");
    let dest_path = PathBuf::from(dest);
    let dest_is_dir = dest_path.is_dir();
    let dir = if dest_is_dir {
        dest_path.clone()
    } else {
        let parent = dest_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            // What is wrong on the container's side is told first (no such container or
            // path): the archive's checks run, and its first byte fails to fit in a writer
            // with no room (`WriteZero`).
            match engine.container_get_archive(container, path, &mut [][..]) {
                Err(e) if !io_causes(&e).any(|io| io.kind() == ErrorKind::WriteZero) => {
                    return Err(e.into())
                }
                _ => anyhow::bail!("no such directory: {}", parent.display()),
            }
        }
        parent.to_path_buf()
    };
    let staging = tempfile::Builder::new()
        .prefix(".strata-cp-")
        .tempdir_in(&dir)?;
    let opts = layer_apply::ApplyOptions {
        mode: layer_apply::Mode::Merge,
        ..Default::default()
    };
    // The archive streams through a pipe into the staging directory as it is produced, never
    // whole in memory. The extraction may stop reading early (a refused entry): the producer
    // then gets `EPIPE`, never SIGPIPE, and the extraction's error is the one reported; a
    // producer's own failure (the container's path, an unreadable layer file) comes first,
    // as the extraction then fails only because the stream ended.
    let (mut r, w) = std::io::pipe()?;
    let (produced, applied) = std::thread::scope(|s| {
        let producer = s.spawn(move || {
            crate::feed_without_sigpipe();
            engine.container_get_archive(container, path, w)
        });
        let applied = layer_apply::apply(staging.path(), &mut r, &opts)
            .map_err(|e| anyhow::anyhow!("{e}"))
            // what follows the archive's end (padding) is read too, so the producer's
            // last writes never meet a closed pipe
            .and_then(|_| Ok(std::io::copy(&mut r, &mut std::io::sink())?));
        drop(r);
        let produced = producer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (produced, applied)
    });
    match (produced, applied) {
        (Err(e), _) if !is_engine_broken_pipe(&e) => return Err(e.into()),
        (_, Err(e)) => return Err(e),
        (Err(e), Ok(_)) => return Err(e.into()),
        (Ok(()), Ok(_)) => {}
    }
    let top = if is_root {
        // the root itself is no entry of its archive: a directory made of it is 0755
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(0o755))?;
        staging.path().to_path_buf()
    } else {
        std::fs::read_dir(staging.path())?
            .next()
            .ok_or_else(|| anyhow::anyhow!("empty archive"))??
            .path()
    };
    let top_is_dir = std::fs::symlink_metadata(&top)?.is_dir();
    // (what arrives, where it goes) pairs
    let moves: Vec<(PathBuf, PathBuf)> = if contents_only && dest_is_dir {
        std::fs::read_dir(&top)?
            .map(|e| e.map(|e| (e.path(), dest_path.join(e.file_name()))))
            .collect::<std::io::Result<_>>()?
    } else if dest_is_dir {
        let name = top.file_name().expect("entry has a name");
        vec![(top.clone(), dest_path.join(name))]
    } else {
        if !top_is_dir && dest.ends_with('/') {
            anyhow::bail!("no such directory: {dest}");
        }
        vec![(top.clone(), dest_path.clone())]
    };
    // Check everything, then move: a refusal leaves the destination as it was.
    for (from, to) in &moves {
        place(from, to, true)?;
    }
    for (from, to) in &moves {
        place(from, to, false)?;
    }
    Ok(())
}

/// Puts the staged `from` at `to`: moved when `to` is absent or a non-directory that a
/// non-directory replaces; merged entry by entry when both are directories (`to` takes the
/// mode of `from`, as an extracted directory entry sets it); refused when one is a directory
/// and the other not (Docker's `NoOverwriteDirNonDir`). With `check`, nothing moves.
fn place(from: &Path, to: &Path, check: bool) -> anyhow::Result<()> {
    let f = std::fs::symlink_metadata(from)?;
    let t = match std::fs::symlink_metadata(to) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(anyhow::anyhow!("stat {}: {e}", to.display())),
    };
    match t {
        Some(t) if t.is_dir() && f.is_dir() => {
            for e in std::fs::read_dir(from)? {
                let e = e?;
                place(&e.path(), &to.join(e.file_name()), check)?;
            }
            if !check {
                std::fs::set_permissions(to, f.permissions())?;
            }
        }
        Some(t) if t.is_dir() => anyhow::bail!(
            "cannot overwrite directory {:?} with non-directory",
            to.display().to_string()
        ),
        Some(_) if f.is_dir() => anyhow::bail!(
            "cannot overwrite non-directory {:?} with directory",
            to.display().to_string()
        ),
        _ if check => {}
        _ => std::fs::rename(from, to)
            .map_err(|e| anyhow::anyhow!("{} -> {}: {e}", from.display(), to.display()))?,
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum FsCommand {
    /// Remove a path from a container's root (a whiteout when a lower layer provides it)
    Rm {
        /// CONTAINER
        container: String,
        /// PATH
        path: String,
    },
    /// Create a directory (and missing parents) in a container's root
    Mkdir {
        /// CONTAINER
        container: String,
        /// PATH
        path: String,
    },
}

pub fn fs(engine: &Engine, c: FsCommand) -> anyhow::Result<()> {
    match c {
        FsCommand::Rm { container, path } => engine.container_remove_path(&container, &path)?,
        FsCommand::Mkdir { container, path } => engine.container_mkdir(&container, &path)?,
    }
    Ok(())
}

#[derive(Args)]
pub struct DiffArgs {
    /// CONTAINER
    container: String,
}

pub fn diff(engine: &Engine, a: DiffArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for c in engine.container_diff(&a.container)? {
        writeln!(out, "{} {}", c.kind, c.path)?;
    }
    Ok(())
}

#[derive(Args)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short = 'a', long = "author")]
    author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change")]
    change: Vec<String>,
    /// Commit message
    #[arg(short = 'm', long = "message")]
    message: Option<String>,
    /// Pause container during commit (containers run no process yet, so there is nothing to pause)
    #[arg(short = 'p', long = "pause", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pause: bool,
    /// CONTAINER
    container: String,
    /// [REPOSITORY[:TAG]]
    reference: Option<String>,
}

pub fn commit(engine: &Engine, a: CommitArgs) -> anyhow::Result<()> {
    let _ = a.pause;
    let id = engine.commit(
        &a.container,
        &CommitOptions {
            reference: a.reference,
            message: a.message,
            author: a.author,
            changes: a.change,
        },
    )?;
    println!("{id}");
    Ok(())
}

#[derive(Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// CONTAINER
    container: String,
}

pub fn export(engine: &Engine, a: ExportArgs) -> anyhow::Result<()> {
    match a.output {
        None => {
            let out = std::io::stdout();
            if out.is_terminal() {
                anyhow::bail!(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                );
            }
            engine.export_container(&a.container, std::io::BufWriter::new(out.lock()))?;
        }
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
            engine.export_container(&a.container, std::io::BufWriter::new(tmp.as_file_mut()))?;
            tmp.as_file().sync_all()?;
            tmp.persist(&path).map_err(|e| e.error)?;
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct RmArgs {
    /// Force the removal of a running container
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long = "volumes")]
    volumes: bool,
    /// CONTAINER...
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn rm(engine: &Engine, a: RmArgs) -> anyhow::Result<()> {
    let mut failed = false;
    for c in &a.containers {
        match engine.remove_container_with(c, a.force, a.volumes) {
            Ok(()) => println!("{c}"),
            Err(e) if a.force && e.kind() == engine::ErrorKind::NotFound => {}
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

/// Docker's container inspect JSON: the server's own builder (`docker-api` with the
/// process's state and what `create` asked), so both print the same.
pub fn container_json(engine: &Engine, c: &ContainerInfo) -> Value {
    strata_server::container_inspect_json(engine, c)
}

#[derive(Args)]
pub struct ContainerInspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long = "format")]
    format: Option<String>,
    /// CONTAINER...
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn inspect(engine: &Engine, a: ContainerInspectArgs) -> anyhow::Result<()> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &a.containers {
        match engine.container(name) {
            Ok(c) => found.push(container_json(engine, &c)),
            Err(e) => errors.push(e),
        }
    }
    crate::inspect::print_values(&found, a.format.as_deref())?;
    for e in &errors {
        crate::report(e);
    }
    if !errors.is_empty() {
        return Err(Exit(1).into());
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum ContainerCommand {
    /// Create a new container
    Create(Box<CreateArgs>),
    /// List containers
    #[command(visible_alias = "list", visible_alias = "ps")]
    Ls(PsArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(CpArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(DiffArgs),
    /// Create a new image from a container's changes
    Commit(CommitArgs),
    /// Export a container's filesystem as a tar archive
    Export(ExportArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Display detailed information on one or more containers
    Inspect(ContainerInspectArgs),
    /// Remove all stopped containers
    Prune(crate::run::PruneArgs),
    /// Start one or more stopped containers
    Start(crate::run::StartArgs),
    /// Stop one or more running containers
    Stop(crate::run::StopArgs),
    /// Display the running processes of a container
    Top(crate::run::TopArgs),
}

pub fn container(engine: &Engine, c: ContainerCommand) -> anyhow::Result<()> {
    match c {
        ContainerCommand::Create(a) => create(engine, *a),
        ContainerCommand::Ls(a) => ps(engine, a),
        ContainerCommand::Cp(a) => cp(engine, a),
        ContainerCommand::Diff(a) => diff(engine, a),
        ContainerCommand::Commit(a) => commit(engine, a),
        ContainerCommand::Export(a) => export(engine, a),
        ContainerCommand::Rm(a) => rm(engine, a),
        ContainerCommand::Inspect(a) => inspect(engine, a),
        ContainerCommand::Prune(a) => crate::run::prune(engine, a),
        ContainerCommand::Start(a) => crate::run::start(engine, a),
        ContainerCommand::Stop(a) => crate::run::stop(engine, a),
        ContainerCommand::Top(a) => crate::run::top(engine, a),
    }
}

#[derive(Args)]
pub struct TreeArgs {
    /// List the lower versions each path hides
    #[arg(long = "shadowed")]
    shadowed: bool,
    /// Show only what layer N (1 = bottom) added (A), modified (M) and removed (R)
    #[arg(long = "layer", value_name = "N")]
    layer: Option<usize>,
    /// Print JSON
    #[arg(long = "json")]
    json: bool,
    /// IMAGE or CONTAINER
    target: String,
    /// Only this path and what is under it
    path: Option<String>,
}

fn what(kind: &EntryKind) -> (String, u64) {
    match kind {
        EntryKind::File { size, .. } => ("file".into(), *size),
        EntryKind::Dir => ("dir".into(), 0),
        EntryKind::Symlink { target } => (format!("symlink -> {target}"), 0),
        EntryKind::Hardlink { target } => (format!("hardlink => /{target}"), 0),
        other => (other.name().to_string(), 0),
    }
}

pub fn tree(engine: &Engine, a: TreeArgs) -> anyhow::Result<()> {
    let (union, labels) = engine.union_of(&a.target)?;
    let prefix = match &a.path {
        Some(p) => layer_diff::normalize_path(p).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => String::new(),
    };
    let within = |p: &str| {
        prefix.is_empty()
            || p == prefix
            || p.strip_prefix(&prefix).is_some_and(|r| r.starts_with('/'))
    };
    let layer_name = |n: usize| format!("L{}", n + 1);
    let mut out = std::io::stdout().lock();
    if let Some(n) = a.layer {
        if n == 0 || n > labels.len() {
            anyhow::bail!(
                "layer {n} does not exist: {} has {} layers",
                a.target,
                labels.len()
            );
        }
        let changes: Vec<_> = union
            .layer_changes(n - 1)
            .iter()
            .filter(|(p, _)| within(p))
            .collect();
        if a.json {
            let v: Vec<Value> = changes
                .iter()
                .map(|(p, c)| json!({"path": format!("/{p}"), "change": c.letter().to_string()}))
                .collect();
            print_json(&json!({"layer": n, "diff_id": labels[n - 1], "changes": v}))?;
        } else {
            for (p, c) in changes {
                writeln!(out, "{} /{p}", c.letter())?;
            }
        }
        return Ok(());
    }
    if !prefix.is_empty() && union.get(&prefix).is_none() && union.shadowed(&prefix).is_empty() {
        anyhow::bail!("no such path in {}: /{prefix}", a.target);
    }
    let mut rows = Vec::new();
    let mut paths: Vec<&str> = union
        .merged()
        .map(|m| m.path())
        .filter(|p| !p.is_empty() && within(p))
        .collect();
    if !prefix.is_empty() && union.get(&prefix).is_none() {
        paths.insert(0, prefix.as_str());
    }
    for p in paths {
        let visible = union.get(p);
        let shadowed: Vec<(usize, String, u64)> = if a.shadowed || p == prefix {
            union
                .shadowed(p)
                .iter()
                .map(|(l, e)| {
                    let (w, s) = what(&e.kind);
                    (*l, w, s)
                })
                .collect()
        } else {
            Vec::new()
        };
        rows.push((
            p.to_string(),
            visible.map(|m| (m.provider, what(&m.entry.kind))),
            shadowed,
        ));
    }
    if a.json {
        let v: Vec<Value> = rows
            .iter()
            .map(|(p, vis, sh)| {
                json!({
                    "path": format!("/{p}"),
                    "layer": vis.as_ref().map(|(l, _)| l + 1),
                    "kind": vis.as_ref().map(|(_, (w, _))| w.clone()),
                    "size": vis.as_ref().map(|(_, (_, s))| *s),
                    "shadowed": sh.iter().map(|(l, w, s)| json!({"layer": l + 1, "kind": w, "size": s})).collect::<Vec<_>>(),
                })
            })
            .collect();
        print_json(&json!({"target": a.target, "layers": labels, "paths": v}))?;
        return Ok(());
    }
    let mut t = docker_format::Table::new();
    t.row(["LAYER", "PATH", "TYPE", "SIZE"]);
    for (p, vis, sh) in &rows {
        match vis {
            Some((l, (w, s))) => {
                t.row([layer_name(*l), format!("/{p}"), w.clone(), human_size(*s)])
            }
            None => t.row([
                "-".to_string(),
                format!("/{p}"),
                "(removed)".into(),
                String::new(),
            ]),
        };
        for (l, w, s) in sh {
            t.row([
                String::new(),
                format!("  hides {}", layer_name(*l)),
                w.clone(),
                human_size(*s),
            ]);
        }
    }
    write!(out, "{}", t.render())?;
    Ok(())
}

#[derive(Args)]
pub struct MountArgs {
    /// overlay (kernel overlayfs, needs root) or copy; default: overlay when possible
    #[arg(long = "driver")]
    driver: Option<String>,
    /// CONTAINER
    container: String,
}

/// `mount`: prints the directory holding the container's merged root (read-only).
pub fn mount(engine: &Engine, a: MountArgs) -> anyhow::Result<()> {
    let driver = match a.driver.as_deref() {
        None => None,
        Some("overlay") => Some(engine::MountDriver::Overlay),
        Some("copy") => Some(engine::MountDriver::Copy),
        Some(d) => anyhow::bail!("unknown driver {d:?}: use overlay or copy"),
    };
    let (dir, _) = engine.mount_container(&a.container, driver)?;
    println!("{}", dir.display());
    Ok(())
}

#[derive(Args)]
pub struct UmountArgs {
    /// CONTAINER
    container: String,
}

pub fn umount(engine: &Engine, a: UmountArgs) -> anyhow::Result<()> {
    engine.unmount_container(&a.container)?;
    println!("{}", a.container);
    Ok(())
}
