//! Reads: the whole store as one `image_store::StoreView` (cached until a table it reads
//! changes), and the queries the engine asks outside a view: blobs
//! referenced, layer blobs and sources, origins.

use crate::db::{Db, DbError, Result};
use crate::writes::LayerSource;
use image_ref::Reference;
use image_store::{ContainerRecord, ImageRecord, LayerRecord, StoreView, TagRecord};
use oci_model::Digest;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use std::sync::Arc;

impl Db {
    /// A consistent snapshot of all metadata, shared: the cached view itself while no table it
    /// reads has changed, so a read of an unchanged store copies nothing.
    pub fn view(&mut self) -> Result<Arc<StoreView>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        let version = generation(&tx)?;
        if let Some((v, view)) = &self.cache {
            if *v == version {
                let view = view.clone();
                tx.commit()?;
                return Ok(view);
            }
        }
        let v = Arc::new(read_view(&tx)?);
        tx.commit()?;
        self.cache = Some((version, v.clone()));
        Ok(v)
    }

    /// True when some image or layer row names this blob (config, manifest or layer).
    pub fn blob_referenced(&mut self, d: &Digest) -> Result<bool> {
        blob_referenced(&self.conn, d)
    }

    /// Every blob some row names: image configs, manifests and the blobs holding layers.
    pub fn referenced_blobs(&mut self) -> Result<std::collections::HashSet<Digest>> {
        let mut st = self.conn.prepare(
            "SELECT id FROM images UNION SELECT manifest_digest FROM images WHERE manifest_digest IS NOT NULL
             UNION SELECT COALESCE(blob, diff_id) FROM layers",
        )?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = std::collections::HashSet::new();
        for r in rows {
            out.insert(parse_digest(&r?)?);
        }
        Ok(out)
    }

    /// Layers whose Docker size ([`LayerRecord::content_size`]) was never measured: rows
    /// from before it was.
    pub fn unmeasured_layers(&mut self) -> Result<Vec<Digest>> {
        let mut st = self
            .conn
            .prepare("SELECT diff_id FROM layers WHERE content_size IS NULL")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(parse_digest(&r?)?);
        }
        Ok(out)
    }

    /// The tags `image` lost, newest first: (reference, unix seconds, the image the tag
    /// moved to; `None` when it was removed).
    pub fn lost_tags(&mut self, image: &Digest) -> Result<Vec<(String, i64, Option<String>)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT reference, until, taken_by FROM tag_history WHERE image_id = ?1 ORDER BY seq DESC",
        )?;
        let rows = st.query_map([image.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// The blob holding layer `diff_id`: its tar under the diff ID itself, or a compressed
    /// blob ([`WriteTx::insert_stored_layer`]). `None` when there is no such layer.
    pub fn layer_blob(&mut self, diff_id: &Digest) -> Result<Option<Digest>> {
        let blob: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT blob FROM layers WHERE diff_id = ?1",
                [diff_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        match blob {
            None => Ok(None),
            Some(None) => Ok(Some(diff_id.clone())),
            Some(Some(b)) => Ok(Some(parse_digest(&b)?)),
        }
    }

    /// Every compressed form recorded for a layer.
    pub fn sources_of(&mut self, diff_id: &Digest) -> Result<Vec<LayerSource>> {
        let mut st = self.conn.prepare(
            "SELECT digest, size, media_type FROM layer_sources WHERE diff_id = ?1 ORDER BY digest",
        )?;
        let rows = st.query_map([diff_id.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (d, size, media_type) = r?;
            out.push(LayerSource {
                digest: parse_digest(&d)?,
                size: size as u64,
                media_type,
            });
        }
        Ok(out)
    }

    /// The registry repositories a compressed layer digest is known to exist in.
    pub fn origins(&mut self, digest: &Digest) -> Result<Vec<(String, String)>> {
        let mut st = self.conn.prepare(
            "SELECT registry, repository FROM layer_origins WHERE digest = ?1 ORDER BY registry, repository",
        )?;
        let rows = st.query_map([digest.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// The compressed source recorded for a layer digest, if any.
    pub fn layer_source(&mut self, digest: &Digest) -> Result<Option<(Digest, LayerSource)>> {
        let row = self
            .conn
            .query_row(
                "SELECT diff_id, size, media_type FROM layer_sources WHERE digest = ?1",
                [digest.to_string()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(d, size, media_type)| {
            Ok((
                parse_digest(&d)?,
                LayerSource {
                    digest: digest.clone(),
                    size: size as u64,
                    media_type,
                },
            ))
        })
        .transpose()
    }
}

/// The [`view`](Db::view) generation: moves with every change to a table a view reads, by
/// any connection (schema triggers), and with nothing else.
pub(crate) fn generation(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT n FROM view_generation")?
        .query_row([], |r| r.get(0))?)
}

pub(crate) fn blob_referenced(conn: &Connection, d: &Digest) -> Result<bool> {
    let s = d.to_string();
    let n: i64 = conn.query_row(
        "SELECT (SELECT COUNT(*) FROM images WHERE id = ?1 OR manifest_digest = ?1)
              + (SELECT COUNT(*) FROM layers WHERE COALESCE(blob, diff_id) = ?1)",
        [&s],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

pub(crate) fn parse_digest(s: &str) -> Result<Digest> {
    Digest::parse(s).map_err(|_| DbError::Corrupt(s.to_string()))
}

pub(crate) fn read_view(conn: &Connection) -> Result<StoreView> {
    let mut view = StoreView::default();
    // Until a layer is measured ([`Db::unmeasured_layers`]) its tar's length stands in.
    let mut st = conn
        .prepare("SELECT diff_id, size, stored_bytes, COALESCE(content_size, size) FROM layers")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    for row in rows {
        let (d, size, stored, content) = row?;
        let diff_id = parse_digest(&d)?;
        view.layers.insert(
            diff_id.clone(),
            LayerRecord {
                diff_id,
                size: size as u64,
                content_size: content as u64,
                stored_bytes: stored as u64,
            },
        );
    }

    let mut st = conn.prepare(
        "SELECT id, config_size, manifest_digest, manifest_size, parent, created, removed FROM images ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<i64>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, bool>(6)?,
        ))
    })?;
    // Images and retained images, by ID: (retained, position).
    let mut index = std::collections::HashMap::new();
    for row in rows {
        let (id, config_size, md, ms, parent, created, removed) = row?;
        let manifest = match (md, ms) {
            (Some(d), Some(s)) => Some((parse_digest(&d)?, s as u64)),
            _ => None,
        };
        let list = if removed {
            &mut view.retained
        } else {
            &mut view.images
        };
        index.insert(id.clone(), (removed, list.len()));
        list.push(ImageRecord {
            id: parse_digest(&id)?,
            config_size: config_size as u64,
            manifest,
            parent: parent.as_deref().map(parse_digest).transpose()?,
            created,
            diff_ids: Vec::new(),
            labels: Default::default(),
        });
    }
    let mut st =
        conn.prepare("SELECT image_id, diff_id FROM image_layers ORDER BY image_id, position")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (img, d) = row?;
        let (removed, i) = *index
            .get(&img)
            .ok_or_else(|| DbError::Corrupt(img.clone()))?;
        let list = if removed {
            &mut view.retained
        } else {
            &mut view.images
        };
        list[i].diff_ids.push(parse_digest(&d)?);
    }
    let mut st = conn.prepare("SELECT image_id, key, value FROM image_labels")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (img, k, v) = row?;
        let (removed, i) = *index
            .get(&img)
            .ok_or_else(|| DbError::Corrupt(img.clone()))?;
        let list = if removed {
            &mut view.retained
        } else {
            &mut view.images
        };
        list[i].labels.insert(k, v);
    }
    let mut st = conn.prepare("SELECT reference, image_id FROM tags ORDER BY reference")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (reference, img) = row?;
        let reference = Reference::parse_normalized(&reference)
            .map_err(|_| DbError::Corrupt(reference.clone()))?;
        view.tags.push(TagRecord {
            reference,
            image: parse_digest(&img)?,
        });
    }
    let mut st = conn.prepare("SELECT id, name, image_id, running FROM containers ORDER BY id")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
        ))
    })?;
    for row in rows {
        let (id, name, img, running) = row?;
        view.containers.push(ContainerRecord {
            id,
            name,
            image: parse_digest(&img)?,
            running,
        });
    }
    Ok(view)
}
