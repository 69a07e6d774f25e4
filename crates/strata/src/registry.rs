//! `pull`, `push`, `login`, `logout` and `search`.

use clap::Args;
use docker_format::{ellipsis, human_size, Table};
use engine::config::{config_dir, AuthFile, Config};
use engine::{Engine, Progress, RegistryEnv};
use image_ref::Reference;
use std::collections::HashMap;
use std::io::{IsTerminal, Read, Write};
use std::sync::Mutex;

fn env() -> anyhow::Result<RegistryEnv> {
    let dir = config_dir();
    Ok(RegistryEnv::new(
        &Config::load(&dir)?,
        &AuthFile::load(&dir)?,
    ))
}

/// Prints progress as docker does: live bars per layer on a terminal, plain lines otherwise
/// (byte counters are left out there).
pub struct Printer {
    tty: bool,
    quiet: bool,
    state: Mutex<(Vec<String>, HashMap<String, String>)>,
}

impl Printer {
    pub fn new(quiet: bool) -> Printer {
        Printer {
            tty: std::io::stdout().is_terminal(),
            quiet,
            state: Mutex::new((Vec::new(), HashMap::new())),
        }
    }

    fn text(p: &Progress) -> String {
        let mut s = match &p.id {
            Some(id) => format!("{id}: {}", p.status),
            None => p.status.clone(),
        };
        if let (Some(cur), Some(total)) = (p.current, p.total) {
            let width = 50usize;
            let filled = (cur.min(total) * width as u64)
                .checked_div(total)
                .unwrap_or(0) as usize;
            let bar = if filled >= width {
                "=".repeat(width)
            } else {
                format!("{}>{}", "=".repeat(filled), " ".repeat(width - filled - 1))
            };
            s += &format!(" [{bar}]  {}/{}", human_size(cur), human_size(total));
        }
        s
    }

    pub fn show(&self, p: Progress) {
        if self.quiet {
            return;
        }
        let mut out = std::io::stdout().lock();
        if !self.tty {
            if p.current.is_none() {
                let _ = writeln!(out, "{}", Self::text(&p));
            }
            return;
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (order, _) = &mut *st;
        match &p.id {
            Some(id) if id.len() == 12 => {
                if let Some(i) = order.iter().position(|x| x == id) {
                    let up = order.len() - i;
                    let _ = write!(out, "\x1b[{up}A\x1b[2K\r{}\x1b[{up}B\r", Self::text(&p));
                } else {
                    order.push(id.clone());
                    let _ = writeln!(out, "{}", Self::text(&p));
                }
            }
            _ => {
                let _ = writeln!(out, "{}", Self::text(&p));
            }
        }
        let _ = out.flush();
    }
}

#[derive(Args)]
pub struct PullArgs {
    /// Download all tagged images in the repository
    #[arg(short = 'a', long = "all-tags")]
    all_tags: bool,
    /// Set platform if server is multi-platform capable (os/arch[/variant])
    #[arg(long = "platform")]
    platform: Option<String>,
    /// Suppress verbose output
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    /// NAME[:TAG|@DIGEST]
    name: String,
}

pub fn pull(engine: &Engine, a: PullArgs) -> anyhow::Result<()> {
    let env = env()?;
    let r = Reference::parse_normalized(&a.name)?;
    let platform = a
        .platform
        .as_deref()
        .map(engine::parse_platform)
        .transpose()?;
    let printer = Printer::new(a.quiet);
    let show = |p: Progress| printer.show(p);
    if a.all_tags {
        engine.pull_all_tags(&env, &a.name, platform.as_ref(), &show)?;
        println!("{}", r.name());
        return Ok(());
    }
    if r.tag().is_none() && r.digest().is_none() && !a.quiet {
        println!("Using default tag: latest");
    }
    let out = engine.pull(&env, &a.name, platform.as_ref(), &show)?;
    println!("{}", out.reference);
    Ok(())
}

#[derive(Args)]
pub struct PushArgs {
    /// Suppress verbose output
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    /// NAME[:TAG]
    name: String,
}

pub fn push(engine: &Engine, a: PushArgs) -> anyhow::Result<()> {
    let env = env()?;
    let printer = Printer::new(a.quiet);
    let show = |p: Progress| printer.show(p);
    let out = engine.push(&env, &a.name, &show)?;
    if a.quiet {
        let r = Reference::parse_normalized(&a.name)?.with_default_tag();
        println!("{}", r.familiar_string());
    }
    let _ = out;
    Ok(())
}

#[derive(Args)]
pub struct LoginArgs {
    /// Username
    #[arg(short = 'u', long = "username")]
    username: Option<String>,
    /// Password or Personal Access Token (PAT)
    #[arg(short = 'p', long = "password")]
    password: Option<String>,
    /// Take the Password or Personal Access Token (PAT) from stdin
    #[arg(long = "password-stdin")]
    password_stdin: bool,
    /// SERVER (default docker.io)
    server: Option<String>,
}

pub fn login(a: LoginArgs) -> anyhow::Result<()> {
    let registry = image_ref::registry_host(a.server.as_deref().unwrap_or_default()).to_string();
    let password = match (a.password, a.password_stdin) {
        (Some(_), true) => anyhow::bail!("--password and --password-stdin are mutually exclusive"),
        (Some(p), false) => {
            eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
            p
        }
        (None, true) => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => anyhow::bail!(
            "Must provide --password or --password-stdin (interactive login is not supported)"
        ),
    };
    let Some(user) = a.username.filter(|u| !u.is_empty()) else {
        anyhow::bail!("Username is required: use -u");
    };
    let dir = config_dir();
    let config = Config::load(&dir)?;
    engine::check_login(&config, &registry, &user, &password)?;
    AuthFile::update(&dir, |auth| (true, auth.set(&registry, &user, &password)))?;
    println!("Login Succeeded");
    Ok(())
}

#[derive(Args)]
pub struct LogoutArgs {
    /// SERVER (default docker.io)
    server: Option<String>,
}

pub fn logout(a: LogoutArgs) -> anyhow::Result<()> {
    let registry = image_ref::registry_host(a.server.as_deref().unwrap_or_default()).to_string();
    let dir = config_dir();
    if AuthFile::update(&dir, |auth| {
        let removed = auth.remove(&registry);
        (removed, removed)
    })? {
        println!(
            "Removing login credentials for {}",
            engine::config::auth_key(&registry)
        );
    } else {
        println!("Not logged in to {}", engine::config::auth_key(&registry));
    }
    Ok(())
}

#[derive(Args)]
pub struct SearchArgs {
    /// Max number of search results
    #[arg(long = "limit", default_value_t = 25)]
    limit: usize,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Filter output based on conditions provided (is-official=, is-automated=, stars=)
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// TERM
    term: String,
}

pub fn search(engine: &Engine, a: SearchArgs) -> anyhow::Result<()> {
    if a.limit == 0 || a.limit > 100 {
        anyhow::bail!("limit {} is outside the range of [1, 100]", a.limit);
    }
    // The docker CLI's `key=value` (a filter without `=` is a bad one, as there).
    let mut pairs = Vec::new();
    for f in &a.filter {
        match f.split_once('=') {
            Some((k, v)) => pairs.push((k.trim().to_lowercase(), v.trim().to_string())),
            None => {
                eprintln!("invalid argument \"{f}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)");
                return Err(crate::Exit(125).into());
            }
        }
    }
    let filters = engine::SearchFilters::parse(&pairs)?;
    let results = engine.search(&env()?, &a.term, a.limit, &filters)?;
    let mut t = Table::new();
    t.row(["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]);
    for r in results {
        let d = if a.no_trunc {
            r.description
        } else {
            ellipsis(&r.description, 45)
        };
        t.row([
            r.name,
            d,
            r.stars.to_string(),
            if r.official {
                "[OK]".into()
            } else {
                String::new()
            },
        ]);
    }
    print!("{}", t.render());
    Ok(())
}
