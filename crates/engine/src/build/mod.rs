//! `build`: Docker's classic builder. A Dockerfile (parsed by the pure `dockerfile` crate)
//! runs step by step over a [`BuildContext`]: each `RUN` in a container of the current image
//! (committed as a layer, the container removed), each `COPY`/`ADD` as a layer staged from the
//! context, every other instruction as an image with an `empty_layer` history row. Every step
//! is an ordinary untagged image whose parent is the previous one, with the classic builder's
//! `container_config` as its cache key: a later build whose step has the same parent and key
//! reuses it (` ---> Using cache`), so `images -a` shows the cache and `image prune` reclaims
//! it. Output goes to a callback as Docker's stream texts; nothing is tagged unless every step
//! succeeded.

mod archive;
mod context;
/// moby's `filepath.Clean` of a path in an image (the working directory's too).
pub(crate) use context::clean_in_image;
mod step;

pub use context::BuildContext;

use crate::{Engine, EngineError, RegistryEnv, Result};
use context::{clean_rel, glob_match, has_wildcard, SourceEntry};
use dockerfile::{Command, CopySpec, Healthcheck, Instruction, Kind};
use oci_model::{Digest, ExecConfig, ImageConfig};
use std::collections::{BTreeMap, BTreeSet};
use step::{CopyItem, CopyPlan, StageImage};

/// What `build` asks for besides the context.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The Dockerfile's path inside the context (`-f`, `dockerfile=`); empty: `Dockerfile`.
    pub dockerfile: String,
    /// The Dockerfile's text, when the client read it itself (`-f` outside the context).
    pub dockerfile_text: Option<String>,
    /// `-t`, each `REPO[:TAG]`.
    pub tags: Vec<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--pull`: pull every base image even when present.
    pub pull: bool,
    /// `--rm` (default true): remove intermediate containers after a successful step.
    pub remove: bool,
    /// `--build-arg`: a value, or `None` for one taken from nowhere (unset).
    pub build_args: BTreeMap<String, Option<String>>,
    /// `--label`, added to the final image as a last `LABEL` step.
    pub labels: BTreeMap<String, String>,
    /// `--target`: the stage to stop after.
    pub target: Option<String>,
    /// `--network` for `RUN`: `none`, `host`, or empty/`default`.
    pub network: Option<String>,
    /// Registries, to pull base images that are missing (or all of them with `pull`).
    pub registry: Option<RegistryEnv>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            dockerfile: String::new(),
            dockerfile_text: None,
            tags: Vec::new(),
            no_cache: false,
            pull: false,
            remove: true,
            build_args: BTreeMap::new(),
            labels: BTreeMap::new(),
            target: None,
            network: None,
            registry: None,
        }
    }
}

impl std::fmt::Debug for RegistryEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegistryEnv")
    }
}

/// One message of a build's output, as dockerd streams them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildMessage {
    /// Text (`Step 1/5 : FROM busybox`, a `RUN`'s output).
    Stream(String),
    /// The built image's ID (`{"aux":{"ID":…}}`).
    Aux(Digest),
}

/// Args Docker knows without an `ARG` (proxies): never reported as unused.
const BUILTIN_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn short(d: &Digest) -> String {
    d.hex()[..12].to_string()
}

/// Go's `%q` of a string list as the classic builder writes it in history (`["a" "b"]`).
fn go_list(v: &[String]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    format!("[{}]", items.join(" "))
}

/// A stage's state between steps.
struct Stage {
    image: StageImage,
    shell: Vec<String>,
    /// ARGs in scope: name → value (`None`: declared, no value).
    args: Vec<(String, Option<String>)>,
    /// `CMD` set in this stage (an `ENTRYPOINT` then keeps it).
    cmd_set: bool,
}

impl Stage {
    fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |k: &str| {
            let env = self
                .image
                .config
                .config
                .as_ref()
                .and_then(|c| c.env.as_ref());
            if let Some(v) = env.and_then(|e| {
                e.iter()
                    .rev()
                    .find_map(|kv| kv.split_once('=').filter(|(n, _)| *n == k).map(|(_, v)| v))
            }) {
                return Some(v.to_string());
            }
            self.args
                .iter()
                .rev()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.clone())
        }
    }

    /// The ARGs with values, as `RUN` sees them and its cache key records them (`K=V`,
    /// sorted, those an `ENV` of the same name overrides left out).
    fn run_args(&self) -> Vec<String> {
        let env = self.image.exec().env.unwrap_or_default();
        let mut m: BTreeMap<&str, &str> = BTreeMap::new();
        for (k, v) in &self.args {
            if let Some(v) = v {
                if !env.iter().any(|e| e.split('=').next() == Some(k.as_str())) {
                    m.insert(k, v);
                }
            }
        }
        m.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

/// The run of one build: options, output, progress.
struct Run<'a> {
    engine: &'a Engine,
    ctx: &'a BuildContext,
    opts: &'a BuildOptions,
    out: &'a mut dyn FnMut(BuildMessage),
    escape: char,
    ignore: dockerfile::ignore::Patterns,
    step: usize,
    total: usize,
    used_args: BTreeSet<String>,
    /// Results of finished stages, by index, with their names.
    stages: Vec<(Option<String>, StageImage)>,
    /// Files `ADD` downloaded, removed when the build ends.
    downloads: Vec<tempfile::TempDir>,
}

/// A `#!` heredoc's body as an executable file outside the store (a bind source inside the
/// data directory is refused), closed (a file open for writing cannot be executed) and
/// removed when dropped.
fn script_file(h: &dockerfile::Heredoc) -> Result<tempfile::TempPath> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let io = |e: std::io::Error| EngineError::io("write the heredoc script", e);
    let mut f = tempfile::Builder::new()
        .prefix(".strata-heredoc-")
        .tempfile()
        .map_err(io)?;
    f.write_all(h.content.as_bytes()).map_err(io)?;
    f.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o755))
        .map_err(io)?;
    Ok(f.into_temp_path())
}

fn err_line(i: &Instruction, e: impl std::fmt::Display) -> EngineError {
    EngineError::invalid(format!("Dockerfile line {}: {e}", i.line))
}

impl Engine {
    /// Builds an image from `ctx` as Docker's classic builder does; its ID. Messages go to
    /// `out` as they come; on failure nothing is tagged and no container is left.
    pub fn build(
        &self,
        ctx: &BuildContext,
        opts: &BuildOptions,
        out: &mut dyn FnMut(BuildMessage),
    ) -> Result<Digest> {
        let tags = opts
            .tags
            .iter()
            .map(|t| crate::import::parse_tag_target(t))
            .collect::<Result<Vec<_>>>()?;
        let text = match (&opts.dockerfile_text, &ctx.bare_dockerfile) {
            (Some(t), _) | (None, Some(t)) => t.clone(),
            _ => {
                let name = if opts.dockerfile.is_empty() {
                    "Dockerfile"
                } else {
                    opts.dockerfile.as_str()
                };
                let found = ctx.read_text(name)?;
                let found = match found {
                    None if opts.dockerfile.is_empty() => ctx.read_text("dockerfile")?,
                    f => f,
                };
                found.ok_or_else(|| {
                    EngineError::invalid(format!("Cannot locate specified Dockerfile: {name}"))
                })?
            }
        };
        let mut df = dockerfile::parse(&text).map_err(|e| EngineError::invalid(e.to_string()))?;
        if let Some(t) = &opts.target {
            let Some(i) = df
                .stages
                .iter()
                .position(|s| s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(t)))
            else {
                return Err(EngineError::invalid(format!(
                    "failed to reach build target {t} in Dockerfile"
                )));
            };
            df.stages.truncate(i + 1);
        }
        if !opts.labels.is_empty() {
            let pairs: Vec<(String, String)> = opts
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let original = format!(
                "LABEL {}",
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let last = df.stages.last_mut().expect("parse gives a stage");
            let line = last.instructions.last().map_or(last.line, |i| i.end_line);
            // quoted so the values pass through substitution unchanged
            let quoted = pairs
                .into_iter()
                .map(|(k, v)| (quote(&k), quote(&v)))
                .collect();
            last.instructions.push(Instruction {
                line,
                end_line: line,
                original,
                kind: Kind::Label(quoted),
            });
        }
        let ignore = ctx
            .read_text(".dockerignore")?
            .map(|t| dockerfile::ignore::Patterns::try_parse(&t))
            .transpose()
            .map_err(|e| EngineError::invalid(format!(".dockerignore line {}: {e}", e.line)))?
            .unwrap_or_else(|| dockerfile::ignore::Patterns::parse(""));
        let total = df.stages.iter().map(|s| 1 + s.instructions.len()).sum();
        let mut run = Run {
            engine: self,
            ctx,
            opts,
            out,
            escape: df.escape,
            ignore,
            step: 0,
            total,
            used_args: BTreeSet::new(),
            stages: Vec::new(),
            downloads: Vec::new(),
        };
        // meta ARGs: the values FROM lines see
        let mut meta: Vec<(String, Option<String>)> = Vec::new();
        for a in &df.meta_args {
            let value = match opts.build_args.get(&a.name) {
                Some(v) => {
                    run.used_args.insert(a.name.clone());
                    v.clone()
                }
                None => match &a.default {
                    Some(d) => {
                        let look = |k: &str| {
                            meta.iter()
                                .rev()
                                .find(|(n, _)| n == k)
                                .and_then(|(_, v)| v.clone())
                        };
                        Some(
                            dockerfile::expand(d, &look, df.escape)
                                .map_err(|e| EngineError::invalid(e.to_string()))?,
                        )
                    }
                    None => None,
                },
            };
            meta.push((a.name.clone(), value));
        }
        let mut last = None;
        for s in &df.stages {
            let image = run.stage(s, &meta)?;
            run.stages.push((s.name.clone(), image.clone()));
            last = Some(image);
        }
        let image = last.expect("a stage");
        let Some(id) = image.id else {
            return Err(EngineError::invalid(
                "No image was generated. Is your Dockerfile empty?",
            ));
        };
        (run.out)(BuildMessage::Aux(id.clone()));
        let unused: Vec<&String> = opts
            .build_args
            .keys()
            .filter(|k| !run.used_args.contains(*k) && !BUILTIN_ARGS.contains(&k.as_str()))
            .collect();
        if !unused.is_empty() {
            (run.out)(BuildMessage::Stream(format!(
                "[Warning] One or more build-args [{}] were not consumed\n",
                unused
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
        (run.out)(BuildMessage::Stream(format!(
            "Successfully built {}\n",
            short(&id)
        )));
        for t in &tags {
            self.tag(&id.to_string(), &t.to_string())?;
            (run.out)(BuildMessage::Stream(format!(
                "Successfully tagged {}\n",
                t.familiar_string()
            )));
        }
        Ok(id)
    }

    /// The base image of a stage: pulled when missing (or always with `pull`), when a
    /// registry is configured.
    fn base_image(
        &self,
        name: &str,
        pull: bool,
        registry: Option<&RegistryEnv>,
        out: &mut dyn FnMut(BuildMessage),
    ) -> Result<Digest> {
        let present = image_store::resolve(&*self.view()?, name).map(|r| r.id);
        if let (Ok(id), false) = (&present, pull) {
            return Ok(id.clone());
        }
        let Some(env) = registry else {
            return present.map_err(Into::into);
        };
        let progress = std::sync::Mutex::new(Vec::new());
        let collect = |p: crate::Progress| {
            if p.current.is_none() {
                let line = match &p.id {
                    Some(id) => format!("{id}: {}\n", p.status),
                    None => format!("{}\n", p.status),
                };
                progress
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(line);
            }
        };
        let pulled = self.pull(env, name, None, &collect);
        for l in progress.into_inner().unwrap_or_default() {
            out(BuildMessage::Stream(l));
        }
        match pulled {
            Ok(o) => Ok(o.id),
            Err(e) => match present {
                Ok(id) if pull => Ok(id),
                _ => Err(e),
            },
        }
    }
}

/// `"…"` around a value, escaping what substitution would read.
fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '$') {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

fn host_config() -> ImageConfig {
    ImageConfig {
        architecture: oci_model::host_arch().to_string(),
        os: "linux".into(),
        ..Default::default()
    }
}

impl Run<'_> {
    fn say(&mut self, s: impl Into<String>) {
        (self.out)(BuildMessage::Stream(s.into()));
    }

    fn step_line(&mut self, original: &str) {
        self.step += 1;
        let line = format!("Step {}/{} : {original}", self.step, self.total);
        self.say(line);
        self.say("\n");
    }

    fn stage(
        &mut self,
        s: &dockerfile::Stage,
        meta: &[(String, Option<String>)],
    ) -> Result<StageImage> {
        let mut original = String::from("FROM ");
        if let Some(p) = &s.platform {
            original.push_str(&format!("--platform={p} "));
        }
        original.push_str(&s.base);
        if let Some(n) = &s.name {
            original.push_str(&format!(" AS {n}"));
        }
        self.step_line(&original);
        let look = |k: &str| {
            meta.iter()
                .rev()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.clone())
        };
        let base = dockerfile::expand(&s.base, &look, self.escape)
            .map_err(|e| EngineError::invalid(format!("Dockerfile line {}: {e}", s.line)))?;
        if base.is_empty() {
            return Err(EngineError::invalid(format!(
                "Dockerfile line {}: base name ({}) should not be blank",
                s.line, s.base
            )));
        }
        let image = if base.eq_ignore_ascii_case("scratch") {
            StageImage {
                id: None,
                config: host_config(),
            }
        } else if let Some((_, img)) = self
            .stages
            .iter()
            .find(|(n, _)| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&base)))
        {
            img.clone()
        } else {
            let id = self.engine.base_image(
                &base,
                self.opts.pull,
                self.opts.registry.as_ref(),
                &mut *self.out,
            )?;
            let (config, _) = self.engine.config_of(&id)?;
            StageImage {
                id: Some(id),
                config,
            }
        };
        self.say(format!(
            " ---> {}\n",
            image.id.as_ref().map(short).unwrap_or_default()
        ));
        let mut st = Stage {
            image,
            shell: vec!["/bin/sh".into(), "-c".into()],
            args: Vec::new(),
            cmd_set: false,
        };
        let mut exec = st.image.exec();
        if let Some(sh) = exec
            .extra
            .get("Shell")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
        {
            st.shell = sh;
        }
        let env = exec.env.get_or_insert_with(Vec::new);
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.insert(0, DEFAULT_PATH.into());
        }
        // ONBUILD triggers of the base run now, and are not inherited
        let triggers: Vec<String> = exec
            .extra
            .remove("OnBuild")
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        st.image.config.config = Some(exec);
        if !triggers.is_empty() {
            self.say(format!(
                "# Executing {} build trigger{}\n",
                triggers.len(),
                if triggers.len() == 1 { "" } else { "s" }
            ));
            for t in &triggers {
                let parsed = dockerfile::parse(&format!("FROM scratch\n{t}\n"))
                    .map_err(|e| EngineError::invalid(format!("ONBUILD trigger {t:?}: {e}")))?;
                let Some(i) = parsed
                    .stages
                    .into_iter()
                    .next()
                    .and_then(|s| s.instructions.into_iter().next())
                else {
                    continue;
                };
                self.instruction(&mut st, &i)?;
            }
        }
        for i in &s.instructions {
            self.step_line(&i.original);
            self.instruction(&mut st, i)?;
        }
        Ok(st.image)
    }

    fn expand(&self, st: &Stage, i: &Instruction, w: &str) -> Result<String> {
        let look = st.lookup();
        dockerfile::expand(w, &look, self.escape).map_err(|e| err_line(i, e))
    }

    fn instruction(&mut self, st: &mut Stage, i: &Instruction) -> Result<()> {
        let mut exec = st.image.exec();
        // the `#(nop)` comment of a metadata step (two spaces after `#(nop)`, as Docker writes
        // it for all but WORKDIR)
        let comment: String = match &i.kind {
            Kind::Run(r) => return self.run(st, i, r),
            Kind::Copy(c) => return self.copy(st, i, c, false),
            Kind::Add(c) => return self.copy(st, i, c, true),
            Kind::Workdir(w) => return self.workdir(st, i, w),
            Kind::Env(pairs) => {
                let mut shown = Vec::new();
                for (k, v) in pairs {
                    let k = self.expand(st, i, k)?;
                    let v = self.expand(st, i, v)?;
                    let env = exec.env.get_or_insert_with(Vec::new);
                    match env
                        .iter_mut()
                        .find(|e| e.split('=').next() == Some(k.as_str()))
                    {
                        Some(slot) => *slot = format!("{k}={v}"),
                        None => env.push(format!("{k}={v}")),
                    }
                    // later pairs of the same ENV see earlier ones
                    st.image.config.config = Some(exec.clone());
                    shown.push(format!("{k}={v}"));
                }
                format!("ENV {}", shown.join(" "))
            }
            Kind::Label(pairs) => {
                let mut shown = Vec::new();
                for (k, v) in pairs {
                    let k = self.expand(st, i, k)?;
                    let v = self.expand(st, i, v)?;
                    exec.labels
                        .get_or_insert_with(BTreeMap::new)
                        .insert(k.clone(), v.clone());
                    shown.push(format!("{k}={v}"));
                }
                format!("LABEL {}", shown.join(" "))
            }
            Kind::Arg(decls) => {
                let mut shown = Vec::new();
                for a in decls {
                    let value = match self.opts.build_args.get(&a.name) {
                        Some(v) => {
                            self.used_args.insert(a.name.clone());
                            v.clone()
                        }
                        None => match &a.default {
                            Some(d) => Some(self.expand(st, i, d)?),
                            None => None,
                        },
                    };
                    shown.push(match &a.default {
                        Some(d) => format!("{}={d}", a.name),
                        None => a.name.clone(),
                    });
                    st.args.push((a.name.clone(), value));
                }
                format!("ARG {}", shown.join(" "))
            }
            Kind::User(u) => {
                let u = self.expand(st, i, u)?;
                exec.user = Some(u.clone());
                format!("USER {u}")
            }
            Kind::Expose(ports) => {
                let look = st.lookup();
                let mut words = Vec::new();
                for p in ports {
                    words.extend(
                        dockerfile::expand_words(p, &look, self.escape)
                            .map_err(|e| err_line(i, e))?,
                    );
                }
                let map = exec.exposed_ports.get_or_insert_with(BTreeMap::new);
                for w in &words {
                    let (num, proto) = w.split_once('/').unwrap_or((w, "tcp"));
                    let (lo, hi) = num.split_once('-').unwrap_or((num, num));
                    let (Ok(lo), Ok(hi)) = (lo.parse::<u16>(), hi.parse::<u16>()) else {
                        return Err(err_line(i, format!("invalid containerPort: {num}")));
                    };
                    for p in lo..=hi.max(lo) {
                        map.insert(
                            format!("{p}/{}", proto.to_ascii_lowercase()),
                            serde_json::json!({}),
                        );
                    }
                }
                format!("EXPOSE {}", words.join(" "))
            }
            Kind::Volume(vols) => {
                let mut shown = Vec::new();
                for v in vols {
                    let v = self.expand(st, i, v)?;
                    if v.trim().is_empty() {
                        return Err(err_line(i, "VOLUME specified can not be an empty string"));
                    }
                    exec.volumes
                        .get_or_insert_with(BTreeMap::new)
                        .insert(v.clone(), serde_json::json!({}));
                    shown.push(v);
                }
                format!("VOLUME [{}]", shown.join(" "))
            }
            Kind::StopSignal(s) => {
                let s = self.expand(st, i, s)?;
                exec.stop_signal = Some(s.clone());
                format!("STOPSIGNAL {s}")
            }
            Kind::Cmd(c) => {
                let v = self.command(st, c);
                exec.cmd = Some(v.clone());
                st.cmd_set = true;
                format!("CMD {}", go_list(&v))
            }
            Kind::Entrypoint(c) => {
                let v = self.command(st, c);
                exec.entrypoint = Some(v.clone());
                if !st.cmd_set {
                    exec.cmd = None;
                }
                format!("ENTRYPOINT {}", go_list(&v))
            }
            Kind::Shell(sh) => {
                st.shell = sh.clone();
                exec.extra
                    .insert("Shell".into(), serde_json::json!(sh.clone()));
                format!("SHELL {}", go_list(sh))
            }
            Kind::Healthcheck(h) => {
                let v = healthcheck(st, h).map_err(|e| err_line(i, e))?;
                let shown = format!("HEALTHCHECK {v}");
                exec.extra.insert("Healthcheck".into(), v);
                shown
            }
            Kind::Onbuild(t) => {
                let trigger = t.original.trim().to_string();
                let list = exec
                    .extra
                    .entry("OnBuild".to_string())
                    .or_insert_with(|| serde_json::json!([]));
                if let Some(a) = list.as_array_mut() {
                    a.push(serde_json::json!(trigger.clone()));
                }
                format!("ONBUILD {trigger}")
            }
            Kind::Maintainer(m) => {
                st.image.config.author = Some(m.clone());
                format!("MAINTAINER {m}")
            }
        };
        let mut cache_cmd = st.shell.clone();
        cache_cmd.push("#(nop) ".into());
        cache_cmd.push(comment);
        self.metadata_step(st, exec, cache_cmd)
    }

    fn command(&self, st: &Stage, c: &Command) -> Vec<String> {
        match c {
            Command::Exec(v) => v.clone(),
            Command::Shell(s) => {
                let mut v = st.shell.clone();
                v.push(s.clone());
                v
            }
        }
    }

    /// A step that changes only the config: a cache hit, or a new image with an
    /// `empty_layer` row (made through a container of the current image, as the classic
    /// builder does, so its output names one).
    fn metadata_step(
        &mut self,
        st: &mut Stage,
        exec: ExecConfig,
        cache_cmd: Vec<String>,
    ) -> Result<()> {
        if self.try_cache(st, &exec, &cache_cmd)? {
            return Ok(());
        }
        self.commit_in_container(st, &exec, &cache_cmd, None)
    }

    /// Commits a step that runs nothing through a container of the current image, as the
    /// classic builder does (its output names it; its events show), removed right after. A
    /// stage that has no image yet (`FROM scratch`) commits without one.
    fn commit_in_container(
        &mut self,
        st: &mut Stage,
        exec: &ExecConfig,
        cache_cmd: &[String],
        layer: Option<step::NewLayer>,
    ) -> Result<()> {
        let container = match &st.image.id {
            Some(id) => Some(self.engine.create_container(&id.to_string(), None)?.id),
            None => None,
        };
        if let Some(c) = &container {
            self.say(format!(" ---> Running in {}\n", &c[..12]));
        }
        let made = self.engine.commit_step(
            &st.image,
            exec,
            cache_cmd,
            cache_cmd.join(" "),
            layer,
            container.as_deref(),
        );
        if let Some(c) = &container {
            let _ = self.engine.remove_container(c, true);
            self.say(format!("Removing intermediate container {}\n", &c[..12]));
        }
        st.image = made?;
        self.done(st);
        Ok(())
    }

    fn done(&mut self, st: &Stage) {
        let id = st.image.id.as_ref().map(short).unwrap_or_default();
        self.say(format!(" ---> {id}\n"));
    }

    fn try_cache(
        &mut self,
        st: &mut Stage,
        exec: &ExecConfig,
        cache_cmd: &[String],
    ) -> Result<bool> {
        if self.opts.no_cache {
            return Ok(false);
        }
        match self.engine.cached_step(&st.image, exec, cache_cmd)? {
            Some(hit) => {
                st.image = hit;
                self.say(" ---> Using cache\n");
                self.done(st);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn run(&mut self, st: &mut Stage, i: &Instruction, r: &dockerfile::Run) -> Result<()> {
        if !r.mounts.is_empty() {
            return Err(err_line(i, "the --mount option requires BuildKit"));
        }
        // A lone heredoc that starts with `#!` runs as a file, as BuildKit runs it: mounted
        // read-only at `/dev/pipes/<name>` (on the container's /dev, not in its layer) and
        // executed. The cache key and the history row keep the shell and the script's text.
        let mut script = None;
        let mut args = match (&r.command, r.shell_text()) {
            (Command::Exec(v), _) => v.clone(),
            (Command::Shell(_), Some(text)) => {
                let mut v = st.shell.clone();
                v.push(text);
                v
            }
            (Command::Shell(s), None) => {
                script = r.heredocs.first();
                let mut v = st.shell.clone();
                v.push(script.map_or_else(|| s.clone(), |h| h.content.clone()));
                v
            }
        };
        if args.is_empty() {
            return Err(err_line(i, "RUN requires at least one argument"));
        }
        let run_args = st.run_args();
        let mut cache_cmd = Vec::new();
        if !run_args.is_empty() {
            cache_cmd.push(format!("|{}", run_args.len()));
            cache_cmd.extend(run_args.iter().cloned());
        }
        cache_cmd.append(&mut args.clone());
        let exec = st.image.exec();
        if self.try_cache(st, &exec, &cache_cmd)? {
            return Ok(());
        }
        let Some(image) = st.image.id.clone() else {
            return Err(EngineError::invalid(format!(
                "Dockerfile line {}: RUN on an empty image: exec: {:?}: stat {}: no such file or directory",
                i.line, args[0], args[0]
            )));
        };
        let network = self.opts.network.clone();
        let script_file = script.map(script_file).transpose()?;
        let (run, mounts) = match (&script_file, script) {
            (Some(f), Some(h)) => {
                // a name is one path component there, whatever the delimiter word holds
                let name = match h.name.replace('/', "_") {
                    n if n.is_empty() || n == "." || n == ".." => "script".to_string(),
                    n => n,
                };
                let target = format!("/dev/pipes/{name}");
                let mount = crate::MountRequest {
                    kind: crate::MountKind::Bind,
                    source: f.to_string_lossy().into_owned(),
                    target: target.clone(),
                    read_only: true,
                    mode: "ro".into(),
                    spec: None,
                };
                (vec![target], vec![mount])
            }
            _ => (args.clone(), Vec::new()),
        };
        let (cid, ran) = self.engine.run_step(
            &image,
            &exec,
            step::StepProcess {
                args: run,
                env: run_args,
                network,
                mounts,
            },
            &mut *self.out,
        )?;
        drop(script_file);
        let code = match ran {
            Ok(c) => c,
            Err(e) => {
                let _ = self.engine.remove_container(&cid, true);
                return Err(e);
            }
        };
        if code != 0 {
            let _ = self.engine.remove_container(&cid, true);
            return Err(EngineError::StepFailed {
                message: format!(
                    "The command '{}' returned a non-zero code: {code}",
                    std::mem::take(&mut args).join(" ")
                ),
                code,
            });
        }
        let made = (|| {
            let upper = self.engine.readable_upper(&cid)?;
            let layer = self.engine.layer_from_dir(&upper)?;
            self.engine.commit_step(
                &st.image,
                &exec,
                &cache_cmd,
                cache_cmd.join(" "),
                Some(layer),
                Some(&cid),
            )
        })();
        if self.opts.remove || made.is_err() {
            let _ = self.engine.remove_container(&cid, true);
        }
        let made = made?;
        if self.opts.remove {
            self.say(format!("Removing intermediate container {}\n", &cid[..12]));
        }
        st.image = made;
        self.done(st);
        Ok(())
    }

    fn workdir(&mut self, st: &mut Stage, i: &Instruction, w: &str) -> Result<()> {
        let w = self.expand(st, i, w)?;
        let mut exec = st.image.exec();
        let dir = if w.starts_with('/') {
            w.clone()
        } else {
            let cur = exec.working_dir.clone().unwrap_or_else(|| "/".into());
            format!("{}/{w}", cur.trim_end_matches('/'))
        };
        // a path in the image: `..` stops at its root
        let dir = format!("/{}", clean_in_image(&dir));
        exec.working_dir = Some(dir.clone());
        let mut cache_cmd = st.shell.clone();
        cache_cmd.push(format!("#(nop) WORKDIR {dir}"));
        if self.try_cache(st, &exec, &cache_cmd)? {
            return Ok(());
        }
        let (union, _) = self.engine.image_files(st.image.id.as_ref())?;
        let rel = step::resolve_in_image(&union, &dir, true)?;
        if rel.is_empty() || union.get(&rel).is_some_and(|m| m.entry.is_dir()) {
            return self.commit_in_container(st, &exec, &cache_cmd, None);
        }
        // a missing working directory is created, in a layer of its own
        let plan = CopyPlan {
            dest: rel,
            dest_is_dir: true,
            items: &[],
            owner: (0, 0),
            chmod: None,
        };
        let layer = self.engine.copy_layer(&union, &plan)?;
        self.commit_in_container(st, &exec, &cache_cmd, Some(layer))
    }

    fn copy(&mut self, st: &mut Stage, i: &Instruction, c: &CopySpec, add: bool) -> Result<()> {
        let word = if add { "ADD" } else { "COPY" };
        let fail = |m: String| EngineError::invalid(format!("{word} failed: {m}"));
        if !c.heredocs.is_empty() {
            return Err(err_line(
                i,
                format!("{word} from a heredoc requires BuildKit"),
            ));
        }
        if c.link {
            // `--link` only changes how BuildKit stacks the layer; the result is the same
        }
        let mut sources = Vec::new();
        for s in &c.sources {
            sources.push(self.expand(st, i, s)?);
        }
        let dest_raw = self.expand(st, i, &c.dest)?;
        let exec = st.image.exec();
        let dest_abs = if dest_raw.starts_with('/') {
            dest_raw.clone()
        } else {
            let cur = exec.working_dir.clone().unwrap_or_else(|| "/".into());
            format!("{}/{dest_raw}", cur.trim_end_matches('/'))
        };
        // the image's files are read only when needed (names to `--chown` to, a cache miss):
        // a cached step reads nothing but its sources
        let mut files: Option<(layer_union::Union, Vec<std::path::PathBuf>)> = None;
        let owner = match &c.chown {
            None => (0, 0),
            Some(spec) => {
                let spec = self.expand(st, i, spec)?;
                match numeric_owner(&spec) {
                    Some(ids) => ids,
                    None => {
                        let (union, dirs) = self.engine.image_files(st.image.id.as_ref())?;
                        let ids = chown_ids(&spec, &union, &dirs).map_err(|e| err_line(i, e))?;
                        files = Some((union, dirs));
                        ids
                    }
                }
            }
        };
        let chmod = match &c.chmod {
            None => None,
            Some(m) => {
                let m = self.expand(st, i, m)?;
                Some(
                    u32::from_str_radix(&m, 8)
                        .ok()
                        .filter(|m| *m <= 0o7777)
                        .ok_or_else(|| err_line(i, format!("invalid chmod parameter: {m}")))?,
                )
            }
        };
        // the sources
        let mut items: Vec<CopyItem> = Vec::new();
        let from = match &c.from {
            Some(f) => Some(self.expand(st, i, f)?),
            None => None,
        };
        if let Some(from) = from {
            let img = self.copy_from_image(&from)?;
            let (fu, fd) = self.engine.image_files(img.id.as_ref())?;
            for s in &sources {
                // a path in the image: `..` stops at its root, as Go's filepath.Clean has it
                let rel = clean_in_image(s);
                let mut found = Vec::new();
                if has_wildcard(&rel) {
                    for m in fu.merged() {
                        if !m.path().is_empty() && glob_match(&rel, m.path()) {
                            found.push(m.path().to_string());
                        }
                    }
                } else {
                    found.push(rel.clone());
                }
                for p in found {
                    let entries = step::image_source(&fu, &fd, &p)?.ok_or_else(|| {
                        fail(format!(
                            "stat {}: file does not exist",
                            if p.is_empty() {
                                "/".into()
                            } else {
                                format!("/{p}")
                            }
                        ))
                    })?;
                    items.push(CopyItem {
                        entries,
                        name: base_name(&p),
                        extract: false,
                    });
                }
            }
        } else {
            let ignore = &self.ignore;
            let ignored = |p: &str| ignore.matches(p);
            for s in &sources {
                if add && (s.starts_with("http://") || s.starts_with("https://")) {
                    items.push(fetch_url(self.engine, s, &mut self.downloads)?);
                    continue;
                }
                if s.starts_with("git@") || s.ends_with(".git") && s.contains("://") {
                    return Err(fail(format!("{s}: git sources require BuildKit")));
                }
                let rel = clean_rel(s).map_err(|e| fail(e.to_string()))?;
                let found: Vec<String> = if has_wildcard(&rel) {
                    self.ctx
                        .walk_all(&ignored)?
                        .into_iter()
                        .filter(|p| glob_match(&rel, p))
                        .collect()
                } else {
                    vec![rel.clone()]
                };
                for p in found {
                    let entries: Vec<SourceEntry> = self.ctx.source(&p, &ignored)?.ok_or_else(|| {
                        fail(format!(
                            "file not found in build context or excluded by .dockerignore: stat {s}: file does not exist"
                        ))
                    })?;
                    let mut extract = false;
                    if add {
                        if let Some(context::SourceKind::File { host, .. }) =
                            entries.first().map(|e| &e.kind)
                        {
                            if let Ok(f) = std::fs::File::open(host) {
                                extract = archive::is_archive(f);
                            }
                        }
                    }
                    items.push(CopyItem {
                        entries,
                        name: base_name(&p),
                        extract,
                    });
                }
            }
        }
        // a pattern that matches nothing is no error while another source gives something
        if items.is_empty() {
            return Err(fail("no source files were specified".into()));
        }
        // Docker's text, without the `COPY failed:` of the errors about sources
        if items.len() > 1 && !dest_raw.ends_with('/') {
            return Err(EngineError::invalid(format!(
                "When using {word} with more than one source file, the destination must be a directory and end with a /"
            )));
        }
        let hash = step::sources_hash(&items, owner, chmod)?;
        let mut cache_cmd = st.shell.clone();
        cache_cmd.push(format!("#(nop) {word} {hash} in {dest_raw} "));
        if self.try_cache(st, &exec, &cache_cmd)? {
            return Ok(());
        }
        let (union, _) = match files {
            Some(f) => f,
            None => self.engine.image_files(st.image.id.as_ref())?,
        };
        // a path in the image (`..` stops at its root), its symlinks followed, the last one too,
        // as Docker resolves it in the container's root
        let dest_rel = step::resolve_in_image(&union, &clean_in_image(&dest_abs), true)?;
        // where a file goes: into the destination when it ends with `/` or is a directory
        // (the root always is), else to its path; a directory's contents and an archive's
        // always go into the destination (see `CopyPlan`)
        let dest_is_dir = dest_raw.ends_with('/')
            || dest_rel.is_empty()
            || union.get(&dest_rel).is_some_and(|m| m.entry.is_dir());
        let plan = CopyPlan {
            dest: dest_rel,
            dest_is_dir,
            items: &items,
            owner,
            chmod,
        };
        let layer = self.engine.copy_layer(&union, &plan)?;
        st.image = self.engine.commit_step(
            &st.image,
            &exec,
            &cache_cmd,
            cache_cmd.join(" "),
            Some(layer),
            None,
        )?;
        self.done(st);
        Ok(())
    }

    /// `--from=`: an earlier stage (by name or index), else an image (pulled when missing).
    fn copy_from_image(&mut self, from: &str) -> Result<StageImage> {
        if let Some((_, img)) = self
            .stages
            .iter()
            .find(|(n, _)| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(from)))
        {
            return Ok(img.clone());
        }
        if let Ok(n) = from.parse::<usize>() {
            return self.stages.get(n).map(|(_, i)| i.clone()).ok_or_else(|| {
                EngineError::invalid(format!(
                    "invalid from flag value {from}: refers to current or future build stage"
                ))
            });
        }
        let id =
            self.engine
                .base_image(from, false, self.opts.registry.as_ref(), &mut *self.out)?;
        let (config, _) = self.engine.config_of(&id)?;
        Ok(StageImage {
            id: Some(id),
            config,
        })
    }
}

/// `ADD <url>`: the body downloaded into a temporary directory under `build/` (kept in
/// `keep` until the build ends), as one file named after the URL's last path segment, mode
/// `0600` and the `Last-Modified` time, as Docker's classic builder stores it.
fn fetch_url(engine: &Engine, url: &str, keep: &mut Vec<tempfile::TempDir>) -> Result<CopyItem> {
    let fail = |m: String| EngineError::invalid(format!("ADD failed: {m}"));
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .splitn(4, '/')
        .nth(3)
        .unwrap_or("");
    let name = path.rsplit('/').next().unwrap_or("").to_string();
    if name.is_empty() {
        return Err(fail(format!("cannot determine filename from url: {url}")));
    }
    let build_dir = engine.root().join("build");
    std::fs::create_dir_all(&build_dir).map_err(|e| EngineError::io("create build/", e))?;
    let dir = tempfile::Builder::new()
        .prefix("download-")
        .tempdir_in(&build_dir)
        .map_err(|e| EngineError::io("create a download directory", e))?;
    let mut resp = ureq::get(url)
        .call()
        .map_err(|e| fail(format!("failed to GET {url}: {e}")))?;
    let mtime = resp
        .headers()
        .get("last-modified")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()
        })
        .map(|t| t.unix_timestamp())
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp());
    let host = dir.path().join("file");
    let mut f =
        std::fs::File::create(&host).map_err(|e| EngineError::io("create the download", e))?;
    let size = std::io::copy(&mut resp.body_mut().as_reader(), &mut f)
        .map_err(|e| fail(format!("failed to read {url}: {e}")))?;
    keep.push(dir);
    Ok(CopyItem {
        entries: vec![SourceEntry {
            rel: String::new(),
            kind: context::SourceKind::File {
                host,
                size,
                sha256: None,
            },
            mode: 0o600,
            mtime,
        }],
        name,
        extract: false,
    })
}

fn base_name(p: &str) -> String {
    p.rsplit('/').next().unwrap_or(p).to_string()
}

/// `--chown=uid[:gid]` in numbers, which need no lookup.
fn numeric_owner(spec: &str) -> Option<(u32, u32)> {
    let (u, g) = spec.split_once(':').unwrap_or((spec, spec));
    Some((u.parse().ok()?, g.parse().ok()?))
}

/// `--chown=user[:group]`: names looked up in the image's `/etc/passwd` and `/etc/group`;
/// a user alone gives its UID as the group too, as Docker's classic builder does.
fn chown_ids(
    spec: &str,
    union: &layer_union::Union,
    dirs: &[std::path::PathBuf],
) -> std::result::Result<(u32, u32), String> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = step::read_image_text(union, dirs, "etc/passwd");
    let groups = step::read_image_text(union, dirs, "etc/group");
    let uid = match user.parse::<u32>() {
        Ok(n) => n,
        Err(_) => {
            runtime::user::resolve_user(user, passwd.as_deref(), groups.as_deref())
                .map_err(|_| format!("unable to convert uid/gid chown string to host mapping: can't find uid for user {user}: no such user: {user}"))?
                .uid
        }
    };
    let gid = match group {
        None => uid,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                runtime::user::resolve_user(&format!("0:{g}"), passwd.as_deref(), groups.as_deref())
                    .map_err(|_| format!("unable to convert uid/gid chown string to host mapping: can't find gid for group {g}: no such group: {g}"))?
                    .gid
            }
        },
    };
    Ok((uid, gid))
}

/// `HEALTHCHECK` as the config's `Healthcheck` object (durations in nanoseconds).
fn healthcheck(st: &Stage, h: &Healthcheck) -> std::result::Result<serde_json::Value, String> {
    match h {
        Healthcheck::None => Ok(serde_json::json!({"Test": ["NONE"]})),
        Healthcheck::Check {
            test,
            interval,
            timeout,
            start_period,
            start_interval,
            retries,
        } => {
            let test: Vec<String> = match test {
                Command::Exec(v) => {
                    let mut t = vec!["CMD".to_string()];
                    t.extend(v.iter().cloned());
                    t
                }
                Command::Shell(s) => vec!["CMD-SHELL".into(), s.clone()],
            };
            let _ = st;
            let mut o = serde_json::Map::new();
            o.insert("Test".into(), serde_json::json!(test));
            for (k, v) in [
                ("Interval", interval),
                ("Timeout", timeout),
                ("StartPeriod", start_period),
                ("StartInterval", start_interval),
            ] {
                if let Some(v) = v {
                    let d = dockerfile::parse_duration(v).map_err(|e| e.to_string())?;
                    o.insert(k.into(), serde_json::json!(d));
                }
            }
            if let Some(r) = retries {
                o.insert("Retries".into(), serde_json::json!(r));
            }
            Ok(serde_json::Value::Object(o))
        }
    }
}
