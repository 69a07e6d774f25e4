//! `import`, `save`, `load` and `fsck`.

use crate::Exit;
use clap::Args;
use engine::{Engine, ImportOptions};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change")]
    change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short = 'm', long = "message")]
    message: Option<String>,
    /// file|- (a tar, plain, gzip or zstd)
    file: String,
    /// REPOSITORY[:TAG]
    reference: Option<String>,
}

pub fn import(engine: &Engine, a: ImportArgs) -> anyhow::Result<()> {
    let opts = ImportOptions {
        reference: a.reference,
        message: a.message,
        changes: a.change,
        source: "-".into(),
    };
    let id = if a.file == "-" {
        engine.import(std::io::stdin().lock(), &opts)?
    } else {
        let f =
            std::fs::File::open(&a.file).map_err(|e| anyhow::anyhow!("open {}: {e}", a.file))?;
        engine.import(f, &opts)?
    };
    println!("{id}");
    Ok(())
}

#[derive(Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// IMAGE...
    #[arg(required = true)]
    images: Vec<String>,
}

pub fn save(engine: &Engine, a: SaveArgs) -> anyhow::Result<()> {
    match a.output {
        None => {
            let out = std::io::stdout();
            if out.is_terminal() {
                anyhow::bail!(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                );
            }
            engine.save(&a.images, out.lock())?;
        }
        Some(path) => {
            // Write beside the target and rename, so a failed save leaves no half-written file.
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let name = path
                .file_name()
                .ok_or_else(|| anyhow::anyhow!("invalid output path {}", path.display()))?;
            let tmp = dir.join(format!(
                ".{}.strata-tmp-{}",
                name.to_string_lossy(),
                std::process::id()
            ));
            let f = std::fs::File::create(&tmp).map_err(|e| {
                anyhow::anyhow!("failed to save image: open {}: {e}", path.display())
            })?;
            let res = engine
                .save(&a.images, &f)
                .map_err(anyhow::Error::from)
                .and_then(|()| {
                    f.sync_all()?;
                    std::fs::rename(&tmp, &path)?;
                    Ok(())
                });
            if res.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            res?;
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short = 'i', long = "input")]
    input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
}

pub fn load(engine: &Engine, a: LoadArgs) -> anyhow::Result<()> {
    let events = match &a.input {
        Some(p) => {
            let f =
                std::fs::File::open(p).map_err(|e| anyhow::anyhow!("open {}: {e}", p.display()))?;
            engine.load(std::io::BufReader::with_capacity(1 << 20, f))?
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                anyhow::bail!("requested load from stdin, but stdin is empty");
            }
            engine.load(stdin.lock())?
        }
    };
    let mut out = std::io::stdout().lock();
    for e in events {
        if !a.quiet || !matches!(e, engine::LoadEvent::Renamed { .. }) {
            writeln!(out, "{e}")?;
        }
    }
    Ok(())
}

pub fn fsck(engine: &Engine) -> anyhow::Result<()> {
    let problems = engine.fsck()?;
    for p in &problems {
        println!("{p}");
    }
    if problems.is_empty() {
        println!("no problems found");
        Ok(())
    } else {
        Err(Exit(1).into())
    }
}
