//! `import`: a rootfs tar (plain, gzip or zstd) becomes a one-layer image.

use crate::{Engine, EngineError, Result};
use blob_store::{Compression, LayerIngest};
use image_ref::Reference;
use image_store::{ImageRecord, LayerRecord};
use metadata_db::LayerSource;
use oci_model::{media_types, Digest, ExecConfig, History, ImageConfig, RootFs};
use std::io::Read;
use time::OffsetDateTime;

/// Options of [`Engine::import`].
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `REPO[:TAG]` to tag the new image with.
    pub reference: Option<String>,
    /// Commit message (`-m`); default `Imported from <source>`.
    pub message: Option<String>,
    /// `-c` change lines.
    pub changes: Vec<String>,
    /// Where the tar came from, for the default message (`-` for stdin or a file).
    pub source: String,
}

/// Parses a user-given tag target: normalised, `:latest` added, digests refused.
pub(crate) fn parse_tag_target(s: &str) -> Result<Reference> {
    let r = Reference::parse_normalized(s)?;
    if r.digest().is_some() {
        return Err(EngineError::invalid(format!(
            "refusing to create a tag with a digest reference: {s}"
        )));
    }
    if r.familiar_name() == "sha256" {
        return Err(EngineError::invalid(
            "refusing to create an ambiguous tag using digest algorithm as name",
        ));
    }
    Ok(r.with_default_tag())
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// What Docker refuses in an image config it loads or pulls, before anything is stored: an
/// image for another operating system (`os` neither empty nor `linux`; `doing` words the
/// refusal: load says `cannot load windows image on linux`, pull that the operating system
/// cannot be used here), and a creation time, the image's or a history step's, that is not
/// an RFC 3339 time (moby reads both as Go's `time.Time`, and fails on anything else).
pub(crate) fn check_image_config(c: &ImageConfig, doing: ConfigUse) -> Result<()> {
    if !(c.os.is_empty() || c.os.eq_ignore_ascii_case("linux")) {
        return Err(EngineError::invalid(match doing {
            ConfigUse::Load => format!("cannot load {} image on linux", c.os),
            ConfigUse::Pull => format!(
                "image operating system \"{}\" cannot be used on this platform",
                c.os
            ),
        }));
    }
    let times = std::iter::once(("created", c.created.as_deref())).chain(
        c.history
            .iter()
            .map(|h| ("history created", h.created.as_deref())),
    );
    for (what, t) in times {
        if let Some(t) = t {
            if OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_err() {
                return Err(EngineError::invalid(format!(
                    "invalid image config: {what} {t:?} is not an RFC 3339 time"
                )));
            }
        }
    }
    Ok(())
}

/// Which verb [`check_image_config`] words its refusal for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ConfigUse {
    Load,
    Pull,
}

/// Unix seconds of an RFC 3339 timestamp; Go's zero time ([`docker_api::GO_ZERO_TIME`],
/// what moby answers) when absent or unparsable.
pub(crate) fn unix_of(created: Option<&str>) -> i64 {
    created
        .and_then(|c| OffsetDateTime::parse(c, &time::format_description::well_known::Rfc3339).ok())
        .map(|t| t.unix_timestamp())
        .unwrap_or(docker_api::GO_ZERO_TIME)
}

/// The compressed form a layer came in (`None` for a plain tar, or one whose caller kept its
/// digest: `source_verified`).
pub(crate) fn source_of(ing: &LayerIngest) -> Option<LayerSource> {
    let media_type = match ing.compression {
        Compression::None => return None,
        Compression::Gzip => media_types::OCI_LAYER_GZIP,
        Compression::Zstd => media_types::OCI_LAYER_ZSTD,
    };
    Some(LayerSource {
        digest: ing.source_digest.clone()?,
        size: ing.source_size,
        media_type: media_type.into(),
    })
}

impl Engine {
    /// Imports a rootfs tar as a one-layer image; returns the image ID.
    pub fn import(&self, input: impl Read, opts: &ImportOptions) -> Result<Digest> {
        // Validate everything cheap before touching the store.
        let target = opts
            .reference
            .as_deref()
            .map(parse_tag_target)
            .transpose()?;
        let mut exec = ExecConfig::default();
        crate::apply_changes(&mut exec, &opts.changes)?;

        let lease = self.leases.shared()?;
        let mut layer = blob_store::ingest_layer(&self.blobs, input)?;
        crate::failpoint("import:layer-stored");
        let shape = std::mem::take(&mut layer.shape);
        let diff_id = layer.diff_id.clone();
        let fresh = [(diff_id.clone(), shape)].into();
        if let Err(e) = self.check_stack(std::slice::from_ref(&diff_id), &fresh) {
            // The layer is stored but nothing refers to it: the sweep removes it.
            drop(lease);
            let _ = self.sweep();
            return Err(e);
        }

        let now = OffsetDateTime::now_utc();
        let created = rfc3339(now);
        let message = opts
            .message
            .clone()
            .unwrap_or_else(|| format!("Imported from {}", opts.source));
        let has_config = exec != ExecConfig::default();
        let config = ImageConfig {
            created: Some(created.clone()),
            architecture: oci_model::host_arch().into(),
            os: "linux".into(),
            config: has_config.then_some(exec),
            rootfs: RootFs {
                kind: "layers".into(),
                diff_ids: vec![layer.diff_id.clone()],
            },
            history: vec![History {
                created: Some(created),
                comment: Some(message.clone()),
                ..Default::default()
            }],
            comment: Some(message),
            ..Default::default()
        };
        let bytes = serde_json::to_vec(&config).map_err(|e| EngineError::invalid(e.to_string()))?;
        let id = self.blobs.put(&bytes, None)?;
        crate::failpoint("import:config-stored");
        let record = ImageRecord {
            id: id.clone(),
            config_size: bytes.len() as u64,
            manifest: None,
            parent: None,
            created: now.unix_timestamp(),
            diff_ids: vec![layer.diff_id.clone()],
            labels: config.labels(),
        };
        self.db().write(|tx| -> Result<()> {
            tx.insert_layer(
                &LayerRecord {
                    diff_id: layer.diff_id.clone(),
                    size: layer.size,
                    content_size: layer.content_size,
                    stored_bytes: layer.size,
                },
                source_of(&layer).as_ref(),
            )?;
            tx.insert_image(&record)?;
            if let Some(t) = &target {
                tx.set_tag(t, &id)?;
            }
            Ok(())
        })?;
        for w in &layer.warnings {
            crate::warn(w);
        }
        let mut ev = crate::Event::new("image", "import", id.to_string());
        if let Some(t) = &target {
            ev = ev.with("name", t.familiar_string());
        }
        self.emit(ev);
        Ok(id)
    }
}
