//! `build`: an image from a Dockerfile and a context (a directory, or a tar or a Dockerfile on
//! standard input with `-`), printed as Docker's classic builder prints it.

use crate::Exit;
use clap::Args;
use engine::config::{config_dir, AuthFile, Config};
use engine::{BuildContext, BuildMessage, BuildOptions, Engine, EngineError, RegistryEnv};
use std::collections::BTreeMap;
use std::io::Write;

#[derive(Args)]
pub struct BuildArgs {
    /// Name and optionally a tag in the "name:tag" format
    #[arg(short = 't', long = "tag")]
    tags: Vec<String>,
    /// Name of the Dockerfile (default: "PATH/Dockerfile")
    #[arg(short = 'f', long = "file")]
    file: Option<String>,
    /// Suppress the build output and print image ID on success
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    /// Do not use cache when building the image
    #[arg(long = "no-cache")]
    no_cache: bool,
    /// Always attempt to pull a newer version of the image
    #[arg(long = "pull")]
    pull: bool,
    /// Remove intermediate containers after a successful build
    #[arg(long = "rm", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    rm: bool,
    /// Always remove intermediate containers
    #[arg(long = "force-rm")]
    force_rm: bool,
    /// Set build-time variables
    #[arg(long = "build-arg")]
    build_args: Vec<String>,
    /// Set metadata for an image
    #[arg(long = "label")]
    labels: Vec<String>,
    /// Set the target build stage to build
    #[arg(long = "target")]
    target: Option<String>,
    /// Set the networking mode for the RUN instructions during build
    #[arg(long = "network", default_value = "default")]
    network: String,
    /// Write the image ID to the file
    #[arg(long = "iidfile")]
    iidfile: Option<String>,
    /// PATH | -
    context: String,
}

fn registry() -> Option<RegistryEnv> {
    let dir = config_dir();
    Some(RegistryEnv::new(
        &Config::load(&dir).ok()?,
        &AuthFile::load(&dir).ok()?,
    ))
}

pub fn build(engine: &Engine, a: BuildArgs) -> anyhow::Result<()> {
    if let Some(f) = &a.iidfile {
        // Docker removes a stale one first, so a failed build leaves none
        let _ = std::fs::remove_file(f);
    }
    let mut build_args = BTreeMap::new();
    for kv in &a.build_args {
        match kv.split_once('=') {
            Some((k, v)) => build_args.insert(k.to_string(), Some(v.to_string())),
            None => build_args.insert(kv.clone(), std::env::var(kv).ok()),
        };
    }
    let mut labels = BTreeMap::new();
    for kv in &a.labels {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let ctx = if a.context == "-" {
        BuildContext::from_stream(engine, std::io::stdin().lock())?
    } else {
        BuildContext::dir(std::path::Path::new(&a.context))?
    };
    let (dockerfile, dockerfile_text) = match &a.file {
        // `-f -`: the Dockerfile on standard input, the context a directory
        Some(f) if f == "-" => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
            (String::new(), Some(s))
        }
        // in a streamed context, a path inside it
        Some(f) if a.context == "-" => (f.clone(), None),
        // else a file of this host, anywhere
        Some(f) => match std::fs::read_to_string(f) {
            Ok(t) => (String::new(), Some(t)),
            Err(e) => {
                eprintln!("unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {f}: {e}");
                return Err(Exit(1).into());
            }
        },
        None => (String::new(), None),
    };
    let opts = BuildOptions {
        dockerfile,
        dockerfile_text,
        tags: a.tags.clone(),
        no_cache: a.no_cache,
        pull: a.pull,
        remove: a.rm || a.force_rm,
        build_args,
        labels,
        target: a.target.clone(),
        network: Some(a.network.clone()),
        registry: registry(),
    };
    let mut buffered = String::new();
    let mut started = false;
    let quiet = a.quiet;
    let mut out = |m: BuildMessage| {
        if let BuildMessage::Stream(s) = m {
            started = true;
            if quiet {
                buffered.push_str(&s);
            } else {
                let mut o = std::io::stdout().lock();
                let _ = o.write_all(s.as_bytes());
                let _ = o.flush();
            }
        }
    };
    match engine.build(&ctx, &opts, &mut out) {
        Ok(id) => {
            if quiet {
                println!("{id}");
            }
            if let Some(f) = &a.iidfile {
                std::fs::write(f, id.to_string())?;
            }
            Ok(())
        }
        Err(e) => {
            if quiet {
                eprint!("{buffered}");
            }
            match &e {
                EngineError::StepFailed { message, code } => {
                    eprintln!("{message}");
                    Err(Exit((*code).clamp(1, 255) as u8).into())
                }
                e if started => {
                    eprintln!("{e}");
                    Err(Exit(1).into())
                }
                _ => Err(e.into()),
            }
        }
    }
}
