//! `load`: images from a `docker save` archive (Docker 25+ layout, the older layout, what
//! `skopeo copy … docker-archive:` writes) or a bare OCI image layout tar.
//!
//! The tar is read once, in any entry order: large regular files stream straight into the blob
//! store under their own digest (an uncompressed layer is then already in place, named by its
//! diff ID), small ones stay in memory; links are recorded, never created. Then `manifest.json`
//! (or `index.json`) is checked in full, every layer verified against the config's diff IDs, and
//! only then is the metadata committed in one transaction. Paths are resolved inside the archive:
//! nothing a manifest names can reach outside it. On any error nothing is committed and the blobs
//! written on the way are swept.
//!
//! An OCI layout's descriptors are checked for digest *and* size before the bytes they name are
//! used, and no allocation is sized from a descriptor; its `oci-layout` must be version 1.0.0
//! and its layers of a known media type. JSON documents are read whole, so each is bounded
//! ([`MAX_JSON_SIZE`]); the top-level ones are refused by the size in their tar header, before
//! a byte of them is read. Every layer, however it arrived, passes the ingest's tar and name
//! checks; entries it skips (names of the root) are printed as warnings once the load commits.

use crate::import::{source_of, unix_of};
use crate::{Engine, EngineError, Result};
use docker_api::ArchiveItem;
use image_ref::Reference;
use image_store::{ImageRecord, LayerRecord};
use layer_diff::Changeset;
use metadata_db::LayerSource;
use oci_model::{media_types, Descriptor, Digest, ImageConfig, Index, Manifest};
use std::collections::HashMap;
use std::io::{Cursor, Read, Write};

/// What `load` reports, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadEvent {
    /// `Loaded image: <familiar ref>`.
    Loaded(String),
    /// `Loaded image ID: sha256:…` (an image without tags).
    LoadedId(Digest),
    /// A tag moved away from another image:
    /// `The image <ref> already exists, renaming the old one with ID <id> to empty string`.
    Renamed {
        /// The familiar reference.
        reference: String,
        /// The image it pointed at.
        old: Digest,
    },
}

impl std::fmt::Display for LoadEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadEvent::Loaded(r) => write!(f, "Loaded image: {r}"),
            LoadEvent::LoadedId(id) => write!(f, "Loaded image ID: {id}"),
            LoadEvent::Renamed { reference, old } => {
                write!(f, "The image {reference} already exists, renaming the old one with ID {old} to empty string")
            }
        }
    }
}

const IN_MEMORY_LIMIT: u64 = 1 << 20;
const MAX_LINK_HOPS: usize = 40;
/// Largest JSON document read from an archive (`manifest.json`, `index.json`, `oci-layout`,
/// `repositories`, manifests, configs): each is read whole and parsed in memory, so a larger
/// one is refused by its size before a byte of it is read.
pub(crate) const MAX_JSON_SIZE: u64 = 16 << 20;
/// The top-level metadata files of an archive, bounded by [`MAX_JSON_SIZE`] as their headers
/// are read.
const METADATA_FILES: &[&str] = &["manifest.json", "index.json", "oci-layout", "repositories"];
/// The OCI image layout version this reader knows (`oci-layout`'s `imageLayoutVersion`).
const OCI_LAYOUT_VERSION: &str = "1.0.0";

/// Layer media types a manifest of an OCI layout may use: OCI's and Docker's tar, gzip and
/// zstd layers, non-distributable and foreign ones included.
fn known_layer_media_type(mt: &str) -> bool {
    matches!(
        mt,
        media_types::OCI_LAYER_TAR
            | media_types::OCI_LAYER_GZIP
            | media_types::OCI_LAYER_ZSTD
            | "application/vnd.oci.image.layer.nondistributable.v1.tar"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
            | media_types::DOCKER_LAYER_TAR
            | media_types::DOCKER_LAYER_GZIP
            | media_types::DOCKER_FOREIGN_LAYER_GZIP
            | "application/vnd.docker.image.rootfs.foreign.diff.tar"
    )
}

enum File {
    Mem(Vec<u8>),
    Blob { digest: Digest, compressed: bool },
}

/// The bytes of small files held in memory for one `load`, all together: past it, small files
/// are streamed into the store as large ones are, so memory stays bounded for any archive.
const IN_MEMORY_TOTAL: u64 = 32 << 20;

#[derive(Default)]
struct Archive {
    files: HashMap<String, File>,
    /// Bytes of the files held in memory ([`IN_MEMORY_TOTAL`]).
    in_memory: u64,
    /// path → target path (already made archive-relative); `None` when the target escapes.
    links: HashMap<String, Option<String>>,
}

/// Normalises an archive path: `./a//b/` → `a/b`; `None` for absolute paths or `..` escapes.
fn clean(path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

impl Archive {
    /// The file at `path`, following links inside the archive.
    fn get(&self, path: &str) -> Result<&File> {
        let bad =
            || EngineError::invalid(format!("invalid archive: path {path:?} leaves the archive"));
        let missing =
            || EngineError::invalid(format!("invalid archive: {path} not found in archive"));
        let mut cur = clean(path).ok_or_else(bad)?;
        for _ in 0..MAX_LINK_HOPS {
            if let Some(f) = self.files.get(&cur) {
                return Ok(f);
            }
            match self.links.get(&cur) {
                Some(Some(t)) => cur = t.clone(),
                Some(None) => return Err(bad()),
                None => return Err(missing()),
            }
        }
        Err(EngineError::invalid(format!(
            "invalid archive: too many links resolving {path}"
        )))
    }

    /// A JSON document's bytes, refused by its size when over [`MAX_JSON_SIZE`].
    fn bytes(&self, engine: &Engine, path: &str) -> Result<Vec<u8>> {
        match self.get(path)? {
            File::Mem(b) => Ok(b.clone()),
            File::Blob { digest, .. } => {
                let size = engine.blobs.size(digest)?.unwrap_or(0);
                if size > MAX_JSON_SIZE {
                    return Err(too_large(path, size));
                }
                Ok(engine.blobs.read(digest)?)
            }
        }
    }

    /// The digest and size of the file at `path`.
    fn digest_and_size(&self, engine: &Engine, path: &str) -> Result<(Digest, u64)> {
        Ok(match self.get(path)? {
            File::Mem(b) => (Digest::of(b), b.len() as u64),
            File::Blob { digest, .. } => (digest.clone(), engine.blobs.size(digest)?.unwrap_or(0)),
        })
    }

    /// Checks the blob a descriptor names against the descriptor's digest and size.
    fn verify(&self, engine: &Engine, desc: &Descriptor, what: &str) -> Result<String> {
        let path = format!("blobs/sha256/{}", desc.digest.hex());
        let (digest, size) = self.digest_and_size(engine, &path)?;
        if digest != desc.digest {
            return Err(EngineError::invalid(format!(
                "invalid archive: {what} {} does not match its digest (got {digest})",
                desc.digest
            )));
        }
        if size != desc.size {
            return Err(EngineError::invalid(format!(
                "invalid archive: {what} {} is {size} bytes, its descriptor says {}",
                desc.digest, desc.size
            )));
        }
        Ok(path)
    }
}

fn too_large(path: &str, size: u64) -> EngineError {
    EngineError::invalid(format!(
        "invalid archive: {path} is {size} bytes, over the size limit of {MAX_JSON_SIZE} bytes for metadata"
    ))
}

/// What `oci-layout` holds.
#[derive(serde::Deserialize)]
struct OciLayout {
    #[serde(rename = "imageLayoutVersion")]
    version: Option<String>,
}

struct Prepared {
    record: ImageRecord,
    tags: Vec<Reference>,
    layers: Vec<(LayerRecord, Option<LayerSource>)>,
    /// Entries of the layers skipped with a warning, to show once the load is committed.
    warnings: Vec<String>,
}

/// What [`Engine::prepare_layer`] gives.
type PreparedLayer = (
    LayerRecord,
    Option<LayerSource>,
    Vec<String>,
    Option<Changeset>,
);

impl Engine {
    /// Loads every image of the archive read from `r`; all or nothing.
    pub fn load(&self, r: impl Read) -> Result<Vec<LoadEvent>> {
        let lease = self.leases.shared()?;
        let before = self.additions();
        let result = self.load_locked(r);
        drop(lease);
        // Remove blobs this load wrote but nothing references (compressed originals, metadata
        // files, everything after a failure); a load that added nothing left nothing.
        if self.additions() != before {
            let _ = self.sweep();
        }
        result
    }

    fn load_locked(&self, r: impl Read) -> Result<Vec<LoadEvent>> {
        let archive = self.read_archive(r)?;
        // Docker 25+ archives carry an `oci-layout` beside `manifest.json`: whichever is read,
        // a layout of a version this reader does not know is refused.
        if archive.files.contains_key("oci-layout") || archive.links.contains_key("oci-layout") {
            let raw = archive.bytes(self, "oci-layout")?;
            let layout: OciLayout = serde_json::from_slice(&raw)
                .map_err(|e| EngineError::invalid(format!("invalid archive: oci-layout: {e}")))?;
            match layout.version.as_deref() {
                Some(OCI_LAYOUT_VERSION) => {}
                Some(v) => {
                    return Err(EngineError::invalid(format!(
                        "invalid archive: unsupported OCI image layout version {v:?} in oci-layout (supported: {OCI_LAYOUT_VERSION})"
                    )))
                }
                None => {
                    return Err(EngineError::invalid(
                        "invalid archive: oci-layout has no imageLayoutVersion",
                    ))
                }
            }
        }
        let prepared = if archive.files.contains_key("manifest.json")
            || archive.links.contains_key("manifest.json")
        {
            self.prepare_docker(&archive)?
        } else if archive.files.contains_key("index.json") {
            self.prepare_oci(&archive)?
        } else {
            return Err(EngineError::invalid(
                "invalid archive: no manifest.json or index.json found (the pre-1.10 layout is not supported)",
            ));
        };
        crate::failpoint("load:blobs-stored");
        let events = self.db().write(|tx| -> Result<Vec<LoadEvent>> {
            let mut events = Vec::new();
            for p in &prepared {
                for (l, src) in &p.layers {
                    tx.insert_layer(l, src.as_ref())?;
                }
                tx.insert_image(&p.record)?;
                for t in &p.tags {
                    if let Some(old) = tx.set_tag(t, &p.record.id)? {
                        events.push(LoadEvent::Renamed {
                            reference: t.familiar_string(),
                            old,
                        });
                    }
                    events.push(LoadEvent::Loaded(t.familiar_string()));
                }
                if p.tags.is_empty() {
                    events.push(LoadEvent::LoadedId(p.record.id.clone()));
                }
            }
            Ok(events)
        })?;
        crate::failpoint("load:committed");
        for p in &prepared {
            for w in &p.warnings {
                crate::warn(w);
            }
            self.emit(crate::Event::new("image", "load", p.record.id.to_string()));
        }
        Ok(events)
    }

    fn read_archive(&self, r: impl Read) -> Result<Archive> {
        let io = |e: std::io::Error| EngineError::invalid(format!("invalid archive: {e}"));
        // Names as every layer reader takes them: PAX records read by length.
        let tap = layer_diff::HeaderTap::new();
        let mut ar = tar::Archive::new(tap.reader(r));
        let mut out = Archive::default();
        let mut buf = vec![0u8; 1 << 20];
        let mut entries = ar.entries().map_err(io)?;
        while let Some(next) = tap.next(&mut entries) {
            let (mut entry, heads) = next.map_err(io)?;
            self.read_archive_entry(&mut entry, &heads, &mut out, &mut buf)?;
            // The tap needs each entry's data read to its end before the next header.
            std::io::copy(&mut entry, &mut std::io::sink()).map_err(io)?;
        }
        Ok(out)
    }

    /// One entry of a `docker save` archive into `out`.
    fn read_archive_entry(
        &self,
        entry: &mut tar::Entry<'_, impl Read>,
        heads: &layer_diff::EntryHeaders,
        out: &mut Archive,
        buf: &mut [u8],
    ) -> Result<()> {
        let io = |e: std::io::Error| EngineError::invalid(format!("invalid archive: {e}"));
        let raw = String::from_utf8_lossy(&heads.path).into_owned();
        let Some(path) = clean(&raw) else {
            return Ok(());
        };
        if path.is_empty() {
            return Ok(());
        }
        match heads.header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.size();
                if size > MAX_JSON_SIZE && METADATA_FILES.contains(&path.as_str()) {
                    // Refused by its declared size, before any of it is read.
                    return Err(too_large(&path, size));
                }
                if size <= IN_MEMORY_LIMIT && out.in_memory + size <= IN_MEMORY_TOTAL {
                    let mut v = Vec::with_capacity(size as usize);
                    entry.read_to_end(&mut v).map_err(io)?;
                    out.in_memory += v.len() as u64;
                    if let Some(File::Mem(old)) = out.files.insert(path, File::Mem(v)) {
                        out.in_memory -= old.len() as u64;
                    }
                } else {
                    let file = self.store_large(&path, entry, size, buf)?;
                    out.files.insert(path, file);
                }
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                if heads.link.is_empty() {
                    return Ok(());
                }
                let target = String::from_utf8_lossy(&heads.link).into_owned();
                let resolved = if heads.header.entry_type() == tar::EntryType::Link
                    || target.starts_with('/')
                {
                    // hard links name archive paths; absolute symlinks are not followed
                    if target.starts_with('/') {
                        None
                    } else {
                        clean(&target)
                    }
                } else {
                    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                    clean(&format!("{dir}/{target}"))
                };
                out.links.insert(path, resolved);
            }
            _ => {}
        }
        Ok(())
    }

    /// Streams a large archive file into the blob store. A file whose archive path names its
    /// digest (`blobs/sha256/<hex>`, the OCI layout Docker 25+ and strata save) and whose blob
    /// is already stored with that size is compared with the stored bytes instead of written
    /// again: equal, it is that blob (byte-equal to verified content, so it has its digest) and
    /// nothing is written; at the first difference, the part that matched is copied from the
    /// stored blob into a new one and the rest streams after it, as for any other file.
    fn store_large(
        &self,
        path: &str,
        entry: &mut impl Read,
        size: u64,
        buf: &mut [u8],
    ) -> Result<File> {
        let invalid = |e: std::io::Error| EngineError::invalid(format!("invalid archive: {e}"));
        let named = path
            .strip_prefix("blobs/sha256/")
            .and_then(Digest::from_hex)
            .filter(|d| matches!(self.blobs.size(d), Ok(Some(n)) if n == size));
        let mut stored = match named {
            Some(d) => match self.blobs.open_blob(&d) {
                Ok(f) => Some((d, f)),
                Err(_) => None,
            },
            None => None,
        };
        let mut writer = match stored {
            Some(_) => None,
            None => Some(self.blobs.writer()?),
        };
        // The stored blob mapped, compared in place; read through a buffer where it cannot be.
        let mut mapped = stored.as_ref().and_then(|(_, f)| MappedBlob::new(f, size));
        let mut theirs = vec![
            0u8;
            if stored.is_some() && mapped.is_none() {
                buf.len()
            } else {
                0
            }
        ];
        let (mut read, mut compressed) = (0u64, false);
        loop {
            let n = read_full(entry, buf).map_err(invalid)?;
            if n == 0 {
                break;
            }
            if read == 0 {
                compressed = buf[..n].starts_with(&[0x1f, 0x8b])
                    || buf[..n].starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
            }
            if let Some((d, f)) = &mut stored {
                let same = match &mut mapped {
                    Some(m) => {
                        let same =
                            m.bytes().get(read as usize..read as usize + n) == Some(&buf[..n]);
                        m.release_before(read as usize + n);
                        same
                    }
                    None => f.read_exact(&mut theirs[..n]).is_ok() && theirs[..n] == buf[..n],
                };
                if same {
                    read += n as u64;
                    continue;
                }
                let mut w = self.blobs.writer()?;
                let mut prefix = self.blobs.open_blob(d)?.take(read);
                std::io::copy(&mut prefix, &mut w)
                    .map_err(|e| EngineError::io(format!("copy blob {d}"), e))?;
                writer = Some(w);
                stored = None;
            }
            let w = writer
                .as_mut()
                .expect("a writer once the stored blob differs");
            w.write_all(&buf[..n])
                .map_err(|e| EngineError::io("write blob", e))?;
            read += n as u64;
        }
        match (stored, writer) {
            (Some((digest, _)), _) if read == size => Ok(File::Blob { digest, compressed }),
            (Some(_), _) => Err(EngineError::invalid(format!(
                "invalid archive: {path}: truncated: {read} of {size} bytes"
            ))),
            (None, Some(w)) => {
                let (digest, _) = w.commit(None, Some(size))?;
                Ok(File::Blob { digest, compressed })
            }
            (None, None) => unreachable!("either the stored blob or a writer"),
        }
    }

    /// Verifies (and if needed decompresses) the layer at `path` against `diff_id`: its
    /// record, where it came from, the warnings of its ingest, and its shape when it was
    /// read now (a layer the store has as its tar is not read again).
    fn prepare_layer(
        &self,
        ar: &Archive,
        path: &str,
        diff_id: &Digest,
        n: usize,
    ) -> Result<PreparedLayer> {
        let mismatch = |got: &Digest| {
            EngineError::invalid(format!(
                "invalid diffID for layer {n}: expected {diff_id}, got {got}"
            ))
        };
        let ingest = match ar.get(path)? {
            File::Blob {
                digest,
                compressed: false,
            } => {
                if digest != diff_id {
                    return Err(mismatch(digest));
                }
                let size = self.blobs.size(digest)?.unwrap_or(0);
                // A layer the store has, held as its tar under its diff ID: these bytes are
                // that tar (their digest is the diff ID), checked when it was first stored,
                // with its measure recorded then; nothing to check or measure again.
                let known = self.view()?.layers.get(diff_id).cloned();
                if let Some(known) = known {
                    if self.db().layer_blob(diff_id)?.as_ref() == Some(diff_id) {
                        return Ok((
                            LayerRecord {
                                size,
                                stored_bytes: size,
                                ..known
                            },
                            None,
                            Vec::new(),
                            None,
                        ));
                    }
                }
                // Already stored under its digest (the diff ID) as it streamed by: its tar and
                // names are checked and measured as any ingest checks them; nothing is written
                // or hashed a second time.
                let opts = blob_store::IngestOptions {
                    diff_id: Some(diff_id),
                    hash_only: true,
                    stored_as_diff_id: true,
                    ..Default::default()
                };
                let r = std::io::BufReader::with_capacity(256 << 10, self.blobs.open_blob(digest)?);
                let checked = blob_store::ingest_layer_with(&self.blobs, r, opts, None).map_err(
                    |e| match e.mismatch() {
                        Some(got) => mismatch(&got),
                        None => EngineError::invalid(format!(
                            "invalid archive: layer {n} ({path}): {e}"
                        )),
                    },
                )?;
                return Ok((
                    LayerRecord {
                        diff_id: diff_id.clone(),
                        size,
                        content_size: checked.content_size,
                        stored_bytes: size,
                    },
                    None,
                    checked.warnings,
                    Some(checked.shape),
                ));
            }
            File::Blob {
                digest,
                compressed: true,
            } => blob_store::ingest_layer_expect(
                &self.blobs,
                self.blobs.open_blob(digest)?,
                Some(diff_id),
            ),
            File::Mem(bytes) => {
                blob_store::ingest_layer_expect(&self.blobs, Cursor::new(bytes), Some(diff_id))
            }
        };
        let mut ingest = ingest.map_err(|e| match e.mismatch() {
            Some(got) => mismatch(&got),
            None => EngineError::invalid(format!("invalid archive: layer {n} ({path}): {e}")),
        })?;
        let shape = std::mem::take(&mut ingest.shape);
        Ok((
            LayerRecord {
                diff_id: ingest.diff_id.clone(),
                size: ingest.size,
                content_size: ingest.content_size,
                stored_bytes: ingest.size,
            },
            source_of(&ingest),
            ingest.warnings,
            Some(shape),
        ))
    }

    fn prepare_image(
        &self,
        ar: &Archive,
        config_path: &str,
        layer_paths: &[String],
        tags: Vec<Reference>,
        parent: Option<Digest>,
    ) -> Result<Prepared> {
        let raw = ar.bytes(self, config_path)?;
        let config: ImageConfig = serde_json::from_slice(&raw).map_err(|e| {
            EngineError::invalid(format!("invalid archive: config {config_path}: {e}"))
        })?;
        crate::import::check_image_config(&config, crate::import::ConfigUse::Load)?;
        let diff_ids = &config.rootfs.diff_ids;
        if diff_ids.len() != layer_paths.len() {
            return Err(EngineError::invalid(format!(
                "invalid manifest, layers length mismatch: expected {}, got {}",
                diff_ids.len(),
                layer_paths.len()
            )));
        }
        let mut layers = Vec::new();
        let mut warnings = Vec::new();
        let mut shapes = std::collections::BTreeMap::new();
        for (n, (path, d)) in layer_paths.iter().zip(diff_ids).enumerate() {
            let (record, source, warned, shape) = self.prepare_layer(ar, path, d, n)?;
            warnings.extend(
                warned
                    .into_iter()
                    .map(|w| format!("layer {n} ({path}): {w}")),
            );
            layers.push((record, source));
            if let Some(shape) = shape {
                shapes.insert(d.clone(), shape);
            }
        }
        // Each layer applies on the ones below it, as Docker's load applies them.
        self.check_stack(diff_ids, &shapes)
            .map_err(|e| EngineError::invalid(format!("invalid archive: {e}")))?;
        let id = self.blobs.put(&raw, None)?;
        Ok(Prepared {
            record: ImageRecord {
                id,
                config_size: raw.len() as u64,
                manifest: None,
                parent,
                created: unix_of(config.created.as_deref()),
                diff_ids: diff_ids.clone(),
                labels: config.labels(),
            },
            tags,
            layers,
            warnings,
        })
    }

    fn prepare_docker(&self, ar: &Archive) -> Result<Vec<Prepared>> {
        let raw = ar.bytes(self, "manifest.json")?;
        let items: Option<Vec<ArchiveItem>> = serde_json::from_slice(&raw)
            .map_err(|e| EngineError::invalid(format!("invalid archive: manifest.json: {e}")))?;
        let items =
            items.ok_or_else(|| EngineError::invalid("invalid archive: manifest.json is null"))?;
        // The IDs of this archive's images: the only parents an image of it may name.
        let ids: Vec<Digest> = items
            .iter()
            .filter_map(|i| ar.digest_and_size(self, &i.config).ok().map(|(d, _)| d))
            .collect();
        let mut out = Vec::new();
        for item in &items {
            let mut tags = Vec::new();
            for t in item.repo_tags.iter().flatten() {
                let r = Reference::parse_normalized(t)?;
                if r.tag().is_none() || r.digest().is_some() {
                    return Err(EngineError::invalid(format!(
                        "invalid tag {t:?}: must be name:tag"
                    )));
                }
                tags.push(r);
            }
            // Only an image of this archive can be the parent, as Docker has it: a parent
            // already in the store would tie it to this image (kept while this one is).
            let parent = item.parent.as_deref().and_then(|p| Digest::parse(p).ok());
            let parent = parent.filter(|p| ids.contains(p));
            out.push(self.prepare_image(ar, &item.config, &item.layers, tags, parent)?);
        }
        Ok(out)
    }

    fn prepare_oci(&self, ar: &Archive) -> Result<Vec<Prepared>> {
        let raw = ar.bytes(self, "index.json")?;
        let index: Index = serde_json::from_slice(&raw)
            .map_err(|e| EngineError::invalid(format!("invalid archive: index.json: {e}")))?;
        let mut out: Vec<Prepared> = Vec::new();
        for desc in &index.manifests {
            // Digest and size are checked before the manifest is read. An entry that is an
            // image index itself (a multi-platform image, as containerd and skopeo save one)
            // stands for its manifest for this platform, as Docker loads it.
            let mut entry = desc.clone();
            let mut nested = 0;
            let mraw = loop {
                let path = ar.verify(self, &entry, "manifest")?;
                let raw = ar.bytes(self, &path)?;
                if !is_index(&entry.media_type, &raw) {
                    break raw;
                }
                nested += 1;
                if nested > MAX_NESTED_INDEXES {
                    return Err(EngineError::invalid(format!(
                        "invalid archive: image index {} nests indexes more than {MAX_NESTED_INDEXES} deep",
                        desc.digest
                    )));
                }
                let inner: Index = serde_json::from_slice(&raw).map_err(|e| {
                    EngineError::invalid(format!("invalid archive: index {}: {e}", entry.digest))
                })?;
                let p = crate::registry::host_platform();
                entry = registry_client::select_platform(&inner, &p)
                    .ok_or_else(|| {
                        EngineError::NotFound(format!(
                            "no matching manifest for {}/{} in the manifest list entries of {}",
                            p.os, p.architecture, entry.digest
                        ))
                    })?
                    .clone();
            };
            let m: Manifest = serde_json::from_slice(&mraw).map_err(|e| {
                EngineError::invalid(format!("invalid archive: manifest {}: {e}", entry.digest))
            })?;
            let name = desc
                .annotations
                .get("io.containerd.image.name")
                .cloned()
                .or_else(|| {
                    desc.annotations
                        .get("org.opencontainers.image.ref.name")
                        .filter(|n| n.contains(':'))
                        .cloned()
                });
            let tags = match name {
                Some(n) => {
                    let r = Reference::parse_normalized(&n)?.with_default_tag();
                    match r.digest() {
                        None => vec![r],
                        // A digest names content: only the manifest's own, which was just
                        // verified, may be recorded for it (`name@digest`, and `name:tag`
                        // when both are given).
                        Some(d) if *d == desc.digest => {
                            let mut refs = vec![r.with_digest(d.clone())];
                            if let Some(tag) = r.tag() {
                                refs.push(r.name_only().with_tag(tag)?);
                            }
                            refs
                        }
                        Some(d) => {
                            return Err(EngineError::invalid(format!(
                                "invalid archive: the image name {n:?} names the digest {d}, but its manifest is {}",
                                desc.digest
                            )))
                        }
                    }
                }
                None => Vec::new(),
            };
            let config = ar.verify(self, &m.config, "config")?;
            let mut layers: Vec<String> = Vec::new();
            for (n, l) in m.layers.iter().enumerate() {
                if !known_layer_media_type(&l.media_type) {
                    return Err(EngineError::invalid(format!(
                        "invalid archive: layer {n} ({}) of manifest {} has an unknown media type {:?}",
                        l.digest, entry.digest, l.media_type
                    )));
                }
                layers.push(ar.verify(self, l, "layer")?);
            }
            let p = self.prepare_image(ar, &config, &layers, tags, None)?;
            match out.iter_mut().find(|o| o.record.id == p.record.id) {
                Some(o) => o.tags.extend(p.tags),
                None => out.push(p),
            }
        }
        Ok(out)
    }
}

/// How deep image indexes may nest in a loaded OCI layout (index.json → a multi-platform
/// index → its manifest is one level).
const MAX_NESTED_INDEXES: usize = 4;

/// Whether a manifest entry is an image index (an OCI index or Docker's manifest list): by its
/// descriptor's media type, or, when the descriptor gives none, by the document's own.
fn is_index(media_type: &str, raw: &[u8]) -> bool {
    use oci_model::media_types::{DOCKER_MANIFEST_LIST, OCI_INDEX};
    if !media_type.is_empty() {
        return media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST;
    }
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(rename = "mediaType", default)]
        media_type: String,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    serde_json::from_slice::<Kind>(raw).is_ok_and(|k| {
        k.media_type == OCI_INDEX || k.media_type == DOCKER_MANIFEST_LIST || k.manifests.is_some()
    })
}

/// A stored blob mapped read-only, so an archive's copy of it is compared with it in place
/// rather than read into a buffer first (the copy was a fifth of a load's CPU). A blob file is
/// never written in place: it is made whole under a temporary name, renamed, and only ever
/// unlinked after, so the mapping keeps its pages for as long as it lives.
///
/// The pages compared are given back as the comparison moves on ([`MappedBlob::release_before`]),
/// so the process never holds more than [`MappedBlob::HELD`] of the blob however large it is
/// (they stay in the page cache; they only leave this process's resident set).
struct MappedBlob {
    ptr: *mut libc::c_void,
    len: usize,
    /// Bytes from the start already given back.
    released: usize,
}

impl MappedBlob {
    /// `f` (of `len` bytes) mapped; `None` when it cannot be (an empty file, say).
    fn new(f: &std::fs::File, len: u64) -> Option<MappedBlob> {
        use std::os::fd::AsRawFd;
        let len = usize::try_from(len).ok().filter(|l| *l > 0)?;
        // SAFETY: a private read-only mapping of a live descriptor, at offset 0, of the
        // file's length; checked for failure before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                f.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: advice on the mapping just made; a failure only loses the read-ahead hint.
        unsafe { libc::madvise(ptr, len, libc::MADV_SEQUENTIAL) };
        Some(MappedBlob {
            ptr,
            len,
            released: 0,
        })
    }

    /// At most this much of the mapping is resident in the process at once.
    const HELD: usize = 16 << 20;

    /// Gives back the pages before `offset` once more than [`MappedBlob::HELD`] of them are held.
    fn release_before(&mut self, offset: usize) {
        // SAFETY: sysconf reads a constant of the system.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .ok()
            .filter(|p| *p > 0)
            .unwrap_or(4096);
        let end = offset.min(self.len) / page * page;
        if end.saturating_sub(self.released) < Self::HELD {
            return;
        }
        // SAFETY: a page-aligned range inside the mapping made in `new`; for a private
        // read-only file mapping MADV_DONTNEED only drops the pages from this process (a
        // later access reads them from the file again), and nothing here reads them again.
        unsafe {
            libc::madvise(
                self.ptr.cast::<u8>().add(self.released).cast(),
                end - self.released,
                libc::MADV_DONTNEED,
            )
        };
        self.released = end;
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until `drop`, and nothing writes them.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for MappedBlob {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`, once.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// Reads until `buf` is full or the stream ends; the number of bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::{clean, MappedBlob};
    use std::io::Write;

    /// The resident bytes of the mapping at `addr`, from /proc/self/smaps.
    fn resident(addr: usize) -> usize {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut lines = smaps.lines();
        while let Some(l) = lines.next() {
            let Some((start, _)) = l.split_once('-') else {
                continue;
            };
            if usize::from_str_radix(start, 16) != Ok(addr) {
                continue;
            }
            for l in lines.by_ref() {
                if let Some(kb) = l.strip_prefix("Rss:") {
                    return kb.trim().trim_end_matches(" kB").parse::<usize>().unwrap() << 10;
                }
            }
        }
        panic!("no mapping at {addr:#x}");
    }

    #[test]
    fn a_mapped_blob_holds_only_a_window_of_its_pages() {
        let len = 6 * MappedBlob::HELD;
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![7u8; len]).unwrap();
        let mut m = MappedBlob::new(&f, len as u64).unwrap();
        let mut at = 0;
        while at < len {
            let n = (1 << 20).min(len - at);
            assert!(m.bytes()[at..at + n].iter().all(|b| *b == 7));
            m.release_before(at + n);
            at += n;
        }
        let held = resident(m.ptr as usize);
        assert!(
            held <= MappedBlob::HELD + (2 << 20),
            "{held} bytes of a {len}-byte blob resident after comparing it"
        );
    }

    #[test]
    fn clean_paths() {
        assert_eq!(clean("./a//b/").as_deref(), Some("a/b"));
        assert_eq!(clean("a/../b").as_deref(), Some("b"));
        assert_eq!(clean("../x"), None);
        assert_eq!(clean("/etc/passwd"), None);
        assert_eq!(clean("a/../../x"), None);
    }
}
