//! Binds, volumes and tmpfs mounts: Docker's `-v`/`--mount` requests, checked and turned
//! into the mount points a container runs with.
//!
//! A bind's source is a host path that must exist, be absolute and lie outside the store's
//! data directory (its unpacked layers keep the images' setuid files and devices: nothing may
//! make them reachable from a container). A volume is a directory of the store,
//! `volumes/<name>/_data`; an anonymous one (`-v /path`, an image's `VOLUME`) is named by 64
//! random hex digits, belongs to its container and goes with `rm -v` (and `--rm`). The mount
//! itself is made by the runtime inside the container's root from the spec (`runtime::spec`),
//! never by resolving a container path on the host.

use crate::{Engine, EngineError, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::PathBuf;

/// What a mount request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MountKind {
    /// A host path.
    #[default]
    Bind,
    /// A volume of the store (named, or anonymous when the source is empty).
    Volume,
    /// A tmpfs of its own (`--mount type=tmpfs`): nothing on the host, gone with the run.
    Tmpfs,
}

impl MountKind {
    fn as_str(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
        }
    }
}

/// One `-v`/`--mount` request (or an entry of a create body's `Binds`, `Volumes`, `Mounts`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountRequest {
    /// Bind, volume or tmpfs.
    pub kind: MountKind,
    /// The host path of a bind, the name of a volume (empty: anonymous).
    pub source: String,
    /// The path in the container.
    pub target: String,
    /// Read-only.
    pub read_only: bool,
    /// The mode as given (`ro`, `rw,z`, …), shown by `inspect`; for a tmpfs, its mount
    /// options ([`tmpfs_mount_options`]).
    pub mode: String,
    /// The `-v` text, kept for `HostConfig.Binds` (binds and named volumes).
    pub spec: Option<String>,
}

/// A mount point of a container, as recorded in its run configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MountPoint {
    /// `bind`, `volume` or `tmpfs`.
    pub kind: String,
    /// The volume's name (empty for a bind or a tmpfs).
    pub name: String,
    /// The host path mounted (empty for a tmpfs).
    pub source: String,
    /// The path in the container.
    pub destination: String,
    /// Writable.
    pub rw: bool,
    /// The mode as given.
    pub mode: String,
    /// An anonymous volume, removed with its container by `rm -v`.
    pub anonymous: bool,
    /// A tmpfs's mount options (`size=1m`), as `--tmpfs` takes them.
    pub tmpfs_options: String,
}

/// A `--mount type=tmpfs` request's options as moby turns them into mount options
/// (`ConvertTmpfsOptions`): `ro` when read-only, `mode=` in octal, `size=` in the largest of
/// `g`, `m`, `k` that divides it (bytes otherwise); zero is unset.
pub fn tmpfs_mount_options(size_bytes: i64, mode: u32, read_only: bool) -> String {
    let mut out = Vec::new();
    if read_only {
        out.push("ro".to_string());
    }
    if mode != 0 {
        out.push(format!("mode={mode:o}"));
    }
    if size_bytes != 0 {
        let (n, unit) = [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)]
            .into_iter()
            .find(|(_, d)| size_bytes % d == 0)
            .map_or((size_bytes, ""), |(u, d)| (size_bytes / d, u));
        out.push(format!("size={n}{unit}"));
    }
    out.join(",")
}

/// Docker's rule that no path is both a `--tmpfs` and a bind's, volume's or tmpfs mount's
/// target (`Duplicate mount point`).
pub fn check_tmpfs_targets(
    tmpfs: &std::collections::BTreeMap<String, String>,
    mounts: &[MountRequest],
) -> Result<()> {
    for m in mounts {
        let target = clean_target(&m.target);
        if tmpfs.keys().any(|t| clean_target(t) == target) {
            return Err(EngineError::invalid(format!(
                "Duplicate mount point: {target}"
            )));
        }
    }
    Ok(())
}

const MODES: [&str; 14] = [
    "ro",
    "rw",
    "z",
    "Z",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "nocopy",
    "consistent",
    "cached",
    "delegated",
];

fn valid_mode(mode: &str) -> bool {
    let parts: Vec<&str> = mode.split(',').collect();
    parts.iter().all(|p| MODES.contains(p))
        && parts.iter().filter(|p| **p == "ro" || **p == "rw").count() <= 1
}

/// A local volume's name as Docker allows it: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_volume_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn invalid_name(name: &str) -> EngineError {
    EngineError::invalid(format!(
        "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
    ))
}

/// Docker's `-v [SOURCE:]TARGET[:MODE]` on Linux: an absolute source is a bind, another
/// source a named volume, none an anonymous volume.
pub fn parse_volume_flag(raw: &str) -> Result<MountRequest> {
    let bad = || EngineError::invalid(format!("invalid volume specification: '{raw}'"));
    let parts: Vec<&str> = raw.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => ("", *t, ""),
        [s, t] if !valid_mode(t) => (*s, *t, ""),
        [s, t, m] => (*s, *t, *m),
        _ => return Err(bad()),
    };
    if raw.is_empty() || target.is_empty() {
        return Err(bad());
    }
    if !mode.is_empty() && !valid_mode(mode) {
        return Err(EngineError::invalid(format!("invalid mode: {mode}")));
    }
    let kind = if source.starts_with('/') {
        MountKind::Bind
    } else {
        MountKind::Volume
    };
    if kind == MountKind::Bind && mode.split(',').any(|m| m == "nocopy") {
        return Err(EngineError::invalid(format!("invalid mode: {mode}")));
    }
    if kind == MountKind::Volume && !source.is_empty() && !valid_volume_name(source) {
        return Err(invalid_name(source));
    }
    Ok(MountRequest {
        kind,
        source: source.to_string(),
        target: target.to_string(),
        read_only: mode.split(',').any(|m| m == "ro"),
        mode: mode.to_string(),
        spec: (!source.is_empty()).then(|| raw.to_string()),
    })
}

fn check_target(kind: MountKind, target: &str) -> Result<()> {
    if target.is_empty() {
        return Err(EngineError::invalid(format!(
            "invalid mount config for type \"{}\": field Target must not be empty",
            kind.as_str()
        )));
    }
    if !target.starts_with('/') || target.split('/').any(|p| p == "..") {
        return Err(EngineError::invalid(format!(
            "invalid mount config for type \"{}\": invalid mount path: '{target}' mount path must be absolute",
            kind.as_str()
        )));
    }
    if target.trim_end_matches('/').is_empty() {
        return Err(EngineError::invalid(
            "invalid specification: destination can't be '/'",
        ));
    }
    Ok(())
}

/// A target as Docker compares them: without a trailing slash or `.` parts.
fn clean_target(t: &str) -> String {
    let parts: Vec<&str> = t
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// A volume of the store (`volume ls`, `volume inspect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    /// Its name (64 hex digits for an anonymous one).
    pub name: String,
    /// The directory mounted (`volumes/<name>/_data`).
    pub mountpoint: PathBuf,
    /// When it was made, RFC 3339.
    pub created: String,
    /// Made for one container (`-v /path`, an image's `VOLUME`).
    pub anonymous: bool,
    /// The containers whose mounts name it.
    pub used_by: Vec<String>,
}

/// The marker of a volume whose first mount copies the image's files into it.
const COPY_UP: &str = "copy-up";

fn is_anonymous_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

fn no_such_volume(name: &str) -> EngineError {
    EngineError::NotFound(format!("get {name}: no such volume"))
}

impl Engine {
    fn volumes_dir(&self) -> PathBuf {
        self.root.join("volumes")
    }

    /// A volume's directory (`volumes/<name>/_data`).
    pub fn volume_path(&self, name: &str) -> PathBuf {
        self.volumes_dir().join(name).join("_data")
    }

    /// The data directory with every symlink resolved, as bind sources are compared with it.
    pub(crate) fn canonical_root(&self) -> PathBuf {
        fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone())
    }

    /// Checks a bind's source: absolute, existing, outside the data directory. Its canonical
    /// path is what is mounted. A source that holds the data directory (`-v /:/host`) is
    /// allowed, as Docker allows it; the run hides the data directory inside it
    /// (`SpecOptions::masked`).
    pub(crate) fn check_bind_source(&self, source: &str) -> Result<PathBuf> {
        let bad = |m: String| {
            EngineError::invalid(format!("invalid mount config for type \"bind\": {m}"))
        };
        if source.is_empty() {
            return Err(bad("field Source must not be empty".into()));
        }
        if !source.starts_with('/') {
            return Err(bad(format!(
                "invalid mount path: '{source}' mount path must be absolute"
            )));
        }
        let real = fs::canonicalize(source)
            .map_err(|_| bad(format!("bind source path does not exist: {source}")))?;
        let root = self.canonical_root();
        if real.starts_with(&root) {
            return Err(bad(format!(
                "bind source path {source} is inside the store's data directory {}: containers must not reach the store's files",
                root.display()
            )));
        }
        Ok(real)
    }

    /// Checks every request (nothing is created): Docker's texts for a bad target, a missing
    /// or forbidden bind source, a bad volume name, a duplicate mount point.
    pub(crate) fn check_mounts(&self, reqs: &[MountRequest]) -> Result<()> {
        let mut seen = std::collections::BTreeSet::new();
        for r in reqs {
            check_target(r.kind, &r.target)?;
            match r.kind {
                MountKind::Bind => {
                    self.check_bind_source(&r.source)?;
                }
                MountKind::Volume => {
                    if !r.source.is_empty() && !valid_volume_name(&r.source) {
                        return Err(invalid_name(&r.source));
                    }
                }
                MountKind::Tmpfs => {
                    let bad = |m: &str| {
                        EngineError::invalid(format!(
                            "invalid mount config for type \"tmpfs\": {m}"
                        ))
                    };
                    if !r.source.is_empty() {
                        return Err(bad("field Source must not be specified"));
                    }
                    runtime::spec::tmpfs_options(&r.mode).map_err(|e| bad(&e))?;
                }
            }
            if !seen.insert(clean_target(&r.target)) {
                return Err(EngineError::invalid(format!(
                    "Duplicate mount point: {}",
                    clean_target(&r.target)
                )));
            }
        }
        Ok(())
    }

    /// The mount points of a new container: the requests (checked by
    /// [`Engine::check_mounts`]), then an anonymous volume for each of the image's `VOLUME`s
    /// no request covers. Volume directories are created here.
    pub(crate) fn make_mounts(
        &self,
        reqs: &[MountRequest],
        image_volumes: &[String],
    ) -> Result<Vec<MountPoint>> {
        let mut out = Vec::new();
        let mut made = Vec::new();
        // Every volume made here, anonymous or named: each gets its `create` event, as
        // `volume create` gives one (dockerd emits them for volumes a run makes too).
        let mut created = Vec::new();
        let result = (|| -> Result<()> {
            let mut all: Vec<MountRequest> = reqs.to_vec();
            for v in image_volumes {
                if !all
                    .iter()
                    .any(|r| clean_target(&r.target) == clean_target(v))
                {
                    all.push(MountRequest {
                        kind: MountKind::Volume,
                        target: v.clone(),
                        ..Default::default()
                    });
                }
            }
            for r in all {
                let destination = clean_target(&r.target);
                match r.kind {
                    MountKind::Bind => {
                        let real = self.check_bind_source(&r.source)?;
                        out.push(MountPoint {
                            kind: "bind".into(),
                            name: String::new(),
                            source: real.display().to_string(),
                            destination,
                            rw: !r.read_only,
                            mode: r.mode.clone(),
                            anonymous: false,
                            tmpfs_options: String::new(),
                        });
                    }
                    MountKind::Tmpfs => out.push(MountPoint {
                        kind: "tmpfs".into(),
                        destination,
                        rw: !r.read_only,
                        tmpfs_options: r.mode.clone(),
                        ..Default::default()
                    }),
                    MountKind::Volume => {
                        let anonymous = r.source.is_empty();
                        let name = if anonymous {
                            crate::containers::random_hex(32)?
                        } else {
                            r.source.clone()
                        };
                        let data = self.volume_path(&name);
                        if !data.is_dir() {
                            fs::create_dir_all(&data)
                                .map_err(|e| EngineError::io(format!("create volume {name}"), e))?;
                            if anonymous {
                                made.push(name.clone());
                            }
                            created.push(name.clone());
                            // A new volume gets the image's files at its path on the first
                            // start (Docker's copy-up), unless `nocopy`.
                            if !r.mode.split(',').any(|m| m == "nocopy") {
                                let _ =
                                    fs::write(self.volumes_dir().join(&name).join(COPY_UP), b"");
                            }
                        }
                        out.push(MountPoint {
                            kind: "volume".into(),
                            name,
                            source: data.display().to_string(),
                            destination,
                            rw: !r.read_only,
                            mode: r.mode.clone(),
                            anonymous,
                            tmpfs_options: String::new(),
                        });
                    }
                }
            }
            Ok(())
        })();
        if result.is_err() {
            for n in &made {
                let _ = fs::remove_dir_all(self.volumes_dir().join(n));
            }
        }
        // The anonymous ones of a failed create are gone again; named ones stay, as they do
        // with dockerd.
        for name in created
            .iter()
            .filter(|n| result.is_ok() || !made.contains(n))
        {
            self.volume_event("create", name);
        }
        result.map(|()| out)
    }

    /// A volume's event (`create`, `destroy`), as dockerd words it for the `local` driver.
    fn volume_event(&self, action: &str, name: &str) {
        self.emit(
            crate::Event::new("volume", action, name.to_string())
                .with("driver", "local".to_string()),
        );
    }

    /// Which containers mount each volume.
    fn volume_users(&self) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        let mut users: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for c in self.containers()? {
            for m in self.run_config(&c)?.mounts {
                if m.kind == "volume" {
                    users.entry(m.name).or_default().push(c.id.clone());
                }
            }
        }
        Ok(users)
    }

    fn volume_info(
        &self,
        name: &str,
        users: &std::collections::BTreeMap<String, Vec<String>>,
    ) -> Option<VolumeInfo> {
        let dir = self.volumes_dir().join(name);
        let md = fs::metadata(&dir).ok().filter(|m| m.is_dir())?;
        let created = md
            .modified()
            .ok()
            .map(time::OffsetDateTime::from)
            .and_then(|t| {
                t.replace_nanosecond(0)
                    .ok()?
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        Some(VolumeInfo {
            name: name.to_string(),
            mountpoint: dir.join("_data"),
            created,
            anonymous: is_anonymous_name(name),
            used_by: users.get(name).cloned().unwrap_or_default(),
        })
    }

    /// Every volume of the store, by name.
    pub fn volumes(&self) -> Result<Vec<VolumeInfo>> {
        let users = self.volume_users()?;
        let mut names: Vec<String> = match fs::read_dir(self.volumes_dir()) {
            Ok(rd) => rd
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| valid_volume_name(n))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(EngineError::io("read the volumes", e)),
        };
        names.sort();
        Ok(names
            .iter()
            .filter_map(|n| self.volume_info(n, &users))
            .collect())
    }

    /// The volume `name` (Docker's text when there is none).
    pub fn volume(&self, name: &str) -> Result<VolumeInfo> {
        if !valid_volume_name(name) {
            return Err(no_such_volume(name));
        }
        let users = self.volume_users()?;
        self.volume_info(name, &users)
            .ok_or_else(|| no_such_volume(name))
    }

    /// `volume create [NAME]`: the volume (an existing one is answered as it is; no name makes
    /// an anonymous one).
    pub fn create_volume(&self, name: Option<&str>) -> Result<VolumeInfo> {
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) if !valid_volume_name(n) => return Err(invalid_name(n)),
            Some(n) => n.to_string(),
            None => crate::containers::random_hex(32)?,
        };
        let data = self.volume_path(&name);
        if !data.is_dir() {
            fs::create_dir_all(&data)
                .map_err(|e| EngineError::io(format!("create volume {name}"), e))?;
            let _ = fs::write(self.volumes_dir().join(&name).join(COPY_UP), b"");
        }
        fs::create_dir_all(&data)
            .map_err(|e| EngineError::io(format!("create volume {name}"), e))?;
        self.volume_event("create", &name);
        self.volume(&name)
    }

    /// `volume rm [-f]`: refused while a container mounts it (Docker's text), whatever `force`
    /// says, as dockerd does for a volume in use.
    pub fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        let v = match self.volume(name) {
            Ok(v) => v,
            Err(e) if force && e.kind() == crate::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if !v.used_by.is_empty() {
            return Err(EngineError::Conflict(format!(
                "remove {name}: volume is in use - [{}]",
                v.used_by.join(", ")
            )));
        }
        fs::remove_dir_all(self.volumes_dir().join(name))
            .map_err(|e| EngineError::io(format!("remove volume {name}"), e))?;
        self.volume_event("destroy", name);
        Ok(())
    }

    /// `volume prune`: the unused anonymous volumes (every unused one with `all`); their names
    /// and the bytes freed.
    pub fn prune_volumes(&self, all: bool) -> Result<(Vec<String>, u64)> {
        let mut deleted = Vec::new();
        let mut bytes = 0;
        for v in self.volumes()? {
            if !v.used_by.is_empty() || !(all || v.anonymous) {
                continue;
            }
            bytes += tree_bytes(&v.mountpoint);
            self.remove_volume(&v.name, false)?;
            deleted.push(v.name);
        }
        Ok((deleted, bytes))
    }

    /// Before a start: each new volume among `mounts` gets the files the container's root
    /// (mounted at `rootfs`) has at its destination, once, if it is still empty (Docker's
    /// copy-up). The files are read through the root with `runtime::user::copy_dir_in_root`.
    pub(crate) fn copy_up_volumes(
        &self,
        rootfs: &std::path::Path,
        mounts: &[MountPoint],
    ) -> Result<()> {
        for m in mounts.iter().filter(|m| m.kind == "volume") {
            if !valid_volume_name(&m.name) {
                continue;
            }
            let marker = self.volumes_dir().join(&m.name).join(COPY_UP);
            if !marker.exists() {
                continue;
            }
            let data = self.volume_path(&m.name);
            let empty = fs::read_dir(&data)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
            if empty {
                runtime::user::copy_dir_in_root(rootfs, &m.destination, &data).map_err(|e| {
                    EngineError::invalid(format!(
                        "copy the image's files into volume {}: {e}",
                        m.name
                    ))
                })?;
            }
            let _ = fs::remove_file(&marker);
        }
        Ok(())
    }

    /// Removes the anonymous volumes among `mounts` (`rm -v`, `--rm`).
    /// Each one removed has its `destroy` event, as `volume rm` gives one.
    pub(crate) fn remove_anonymous_volumes(&self, mounts: &[MountPoint]) {
        for m in mounts.iter().filter(|m| m.anonymous && m.kind == "volume") {
            if valid_volume_name(&m.name)
                && fs::remove_dir_all(self.volumes_dir().join(&m.name)).is_ok()
            {
                self.volume_event("destroy", &m.name);
            }
        }
    }
}

/// The bytes of the regular files below `p`.
fn tree_bytes(p: &std::path::Path) -> u64 {
    let Ok(rd) = fs::read_dir(p) else { return 0 };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_flags_as_docker_parses_them() {
        let r = parse_volume_flag("/srv/data:/data:ro").unwrap();
        assert_eq!(
            (r.kind, r.source.as_str(), r.target.as_str(), r.read_only),
            (MountKind::Bind, "/srv/data", "/data", true)
        );
        assert_eq!(r.spec.as_deref(), Some("/srv/data:/data:ro"));
        let r = parse_volume_flag("/data").unwrap();
        assert_eq!((r.kind, r.source.as_str()), (MountKind::Volume, ""));
        assert_eq!(r.spec, None);
        let r = parse_volume_flag("cache:/var/cache").unwrap();
        assert_eq!((r.kind, r.source.as_str()), (MountKind::Volume, "cache"));
        assert_eq!(
            parse_volume_flag("/a:/b:c:d").unwrap_err().to_string(),
            "invalid volume specification: '/a:/b:c:d'"
        );
        assert_eq!(
            parse_volume_flag("/data:ro").unwrap_err().to_string(),
            "invalid volume specification: '/data:ro'"
        );
        assert_eq!(
            parse_volume_flag("/a:/b:xx").unwrap_err().to_string(),
            "invalid mode: xx"
        );
        assert!(parse_volume_flag("./rel:/b")
            .unwrap_err()
            .to_string()
            .contains("includes invalid characters for a local volume name"));
    }

    #[test]
    fn targets() {
        assert!(check_target(MountKind::Bind, "/x").is_ok());
        assert_eq!(
            check_target(MountKind::Bind, "x").unwrap_err().to_string(),
            "invalid mount config for type \"bind\": invalid mount path: 'x' mount path must be absolute"
        );
        assert_eq!(
            check_target(MountKind::Volume, "/")
                .unwrap_err()
                .to_string(),
            "invalid specification: destination can't be '/'"
        );
        assert_eq!(clean_target("/a/./b/"), "/a/b");
        assert_eq!(
            check_target(MountKind::Tmpfs, "x").unwrap_err().to_string(),
            "invalid mount config for type \"tmpfs\": invalid mount path: 'x' mount path must be absolute"
        );
    }

    #[test]
    fn tmpfs_requests_as_moby_converts_them() {
        assert_eq!(tmpfs_mount_options(0, 0, false), "");
        assert_eq!(tmpfs_mount_options(1 << 20, 0, false), "size=1m");
        assert_eq!(
            tmpfs_mount_options(3 << 30, 0o1770, true),
            "ro,mode=1770,size=3g"
        );
        assert_eq!(tmpfs_mount_options(3072, 0o700, false), "mode=700,size=3k");
        assert_eq!(tmpfs_mount_options(1536, 0, false), "size=1536");
        assert_eq!(tmpfs_mount_options(1000, 0, false), "size=1000");
        let tmpfs = [("/run/".to_string(), String::new())].into();
        let req = |target: &str| MountRequest {
            kind: MountKind::Tmpfs,
            target: target.into(),
            ..Default::default()
        };
        assert!(check_tmpfs_targets(&tmpfs, &[req("/data")]).is_ok());
        assert_eq!(
            check_tmpfs_targets(&tmpfs, &[req("/data"), req("/run")])
                .unwrap_err()
                .to_string(),
            "Duplicate mount point: /run"
        );
    }
}
