//! Writes: immediate (`BEGIN IMMEDIATE`) transactions that see the state they change, and
//! what they insert, tag, retain and delete.

use crate::db::{Db, DbError, Result};
use crate::views::{blob_referenced, generation, parse_digest, read_view};
use image_ref::Reference;
use image_store::{ContainerRecord, ImageRecord, LayerRecord, StoreView, TagRecord};
use oci_model::Digest;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::cell::RefCell;
use std::sync::Arc;

/// Where a layer came from in its compressed form (a registry blob or an archive file).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSource {
    /// Digest of the compressed (or as-distributed) blob.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
}

/// A write transaction (`BEGIN IMMEDIATE`): reads see the state the writes apply to.
pub struct WriteTx<'a> {
    pub(crate) tx: rusqlite::Transaction<'a>,
    /// Exactly the state this transaction sees, when known: the connection's cached view if
    /// no table it reads changed before the write lock was taken (`view_generation`), or the
    /// first view read inside; the writes that change what a view holds either apply
    /// themselves to it (tags, containers) or drop it. After the commit it becomes the
    /// connection's cached view, so a run of such writes never reads every table again.
    pub(crate) snapshot: RefCell<Option<Arc<StoreView>>>,
    /// The view generation the snapshot is known to match: where it was read, or where the
    /// last write that applied itself to it left the generation. A write that moves the
    /// generation without applying itself (any statement but those few) leaves the two
    /// apart, and then the snapshot is dropped, at the next such write or at the commit: a
    /// kept view is never stale, whichever write method is added later.
    pub(crate) accounted: std::cell::Cell<Option<i64>>,
}

impl Db {
    /// Runs `f` in a write transaction; commits when it returns `Ok`, rolls back otherwise.
    pub fn write<T, E: From<DbError>>(
        &mut self,
        f: impl FnOnce(&mut WriteTx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let cache = self.cache.take();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(DbError::from)?;
        // With the write lock held, a view read before it is still current if no table it
        // reads changed in between; then the transaction need not read every table again.
        let (snapshot, accounted) = match cache {
            Some((v, view)) if generation(&tx)? == v => (Some(view), Some(v)),
            _ => (None, None),
        };
        let mut w = WriteTx {
            tx,
            snapshot: RefCell::new(snapshot),
            accounted: std::cell::Cell::new(accounted),
        };
        let out = f(&mut w)?;
        let now = generation(&w.tx)?;
        let kept = match w.snapshot.into_inner() {
            Some(view) if w.accounted.get() == Some(now) => Some((now, view)),
            _ => None,
        };
        w.tx.commit().map_err(DbError::from)?;
        self.cache = kept;
        Ok(out)
    }

    /// Records the measured Docker size of a layer.
    pub fn set_content_size(&mut self, diff_id: &Digest, content_size: u64) -> Result<()> {
        self.cache = None;
        self.conn.execute(
            "UPDATE layers SET content_size = ?2 WHERE diff_id = ?1",
            params![diff_id.to_string(), content_size as i64],
        )?;
        Ok(())
    }

    /// Remembers that `digest` exists in `registry`/`repository` (for pushes: skip or mount).
    pub fn record_origin(
        &mut self,
        digest: &Digest,
        registry: &str,
        repository: &str,
    ) -> Result<()> {
        insert_origin(&self.conn, digest, registry, repository)
    }
}

pub(crate) fn insert_origin(
    conn: &Connection,
    digest: &Digest,
    registry: &str,
    repository: &str,
) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO layer_origins (digest, registry, repository) VALUES (?1, ?2, ?3)",
        params![digest.to_string(), registry, repository],
    )?;
    Ok(())
}

impl WriteTx<'_> {
    /// The snapshot as seen inside this transaction.
    pub fn view(&self) -> Result<Arc<StoreView>> {
        if let Some(view) = &*self.snapshot.borrow() {
            return Ok(view.clone());
        }
        let view = Arc::new(read_view(&self.tx)?);
        *self.snapshot.borrow_mut() = Some(view.clone());
        self.accounted.set(Some(generation(&self.tx)?));
        Ok(view)
    }

    /// Forgets the snapshot: a write changed what a view holds in a way not applied to it.
    fn changed(&mut self) {
        *self.snapshot.get_mut() = None;
        self.accounted.set(None);
    }

    /// Before a write that applies itself to the snapshot: drops the snapshot if something
    /// not applied to it moved the generation since it was last known to match.
    fn begin_patch(&mut self) -> Result<()> {
        if self.snapshot.get_mut().is_some() && self.accounted.get() != Some(generation(&self.tx)?)
        {
            self.changed();
        }
        Ok(())
    }

    /// After a write applied itself to the snapshot: the generation it now matches.
    fn end_patch(&mut self) -> Result<()> {
        if self.snapshot.get_mut().is_some() {
            self.accounted.set(Some(generation(&self.tx)?));
        }
        Ok(())
    }

    /// [`Db::record_origin`] in this transaction.
    pub fn record_origin(
        &mut self,
        digest: &Digest,
        registry: &str,
        repository: &str,
    ) -> Result<()> {
        insert_origin(&self.tx, digest, registry, repository)
    }

    /// Records a layer (no-op when present), and optionally where it came from.
    pub fn insert_layer(
        &mut self,
        layer: &LayerRecord,
        source: Option<&LayerSource>,
    ) -> Result<()> {
        self.insert_stored_layer(layer, source, None)
    }

    /// [`insert_layer`](Self::insert_layer) of a layer held in `blob` (a compressed form of
    /// its tar) rather than as its tar under the diff ID; `None` is the latter. A layer
    /// already present keeps the blob it has.
    pub fn insert_stored_layer(
        &mut self,
        layer: &LayerRecord,
        source: Option<&LayerSource>,
        blob: Option<&Digest>,
    ) -> Result<()> {
        // Only what changes a row moves the generation (and drops the snapshot): a layer
        // recorded again as it is costs the commit nothing to write.
        let mut n = self.tx.execute(
            "INSERT OR IGNORE INTO layers (diff_id, size, stored_bytes, blob, content_size) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                layer.diff_id.to_string(),
                layer.size as i64,
                layer.stored_bytes as i64,
                blob.map(|b| b.to_string()),
                layer.content_size as i64,
            ],
        )?;
        // A row from before sizes were measured gets the measure now.
        n += self.tx.execute(
            "UPDATE layers SET content_size = ?2 WHERE diff_id = ?1 AND content_size IS NULL",
            params![layer.diff_id.to_string(), layer.content_size as i64],
        )?;
        if let Some(s) = source {
            n += self.tx.execute(
                "INSERT INTO layer_sources (digest, diff_id, size, media_type) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (digest) DO UPDATE SET diff_id = excluded.diff_id, size = excluded.size, media_type = excluded.media_type
                 WHERE (diff_id, size, media_type) IS NOT (excluded.diff_id, excluded.size, excluded.media_type)",
                params![s.digest.to_string(), layer.diff_id.to_string(), s.size as i64, s.media_type],
            )?;
        }
        if n > 0 {
            self.changed();
        }
        Ok(())
    }

    /// Records an image; returns false (and changes nothing) when it already exists.
    /// Every diff ID must have been inserted as a layer first.
    pub fn insert_image(&mut self, img: &ImageRecord) -> Result<bool> {
        let n = self.tx.execute(
            "INSERT OR IGNORE INTO images (id, config_size, manifest_digest, manifest_size, parent, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                img.id.to_string(),
                img.config_size as i64,
                img.manifest.as_ref().map(|m| m.0.to_string()),
                img.manifest.as_ref().map(|m| m.1 as i64),
                img.parent.as_ref().map(|p| p.to_string()),
                img.created,
            ],
        )?;
        if n == 0 {
            // An image removed but kept for a container comes back as it was; one present
            // as it is changes nothing.
            if self.tx.execute(
                "UPDATE images SET removed = 0 WHERE id = ?1 AND removed != 0",
                [img.id.to_string()],
            )? > 0
            {
                self.changed();
            }
            return Ok(false);
        }
        self.changed();
        for (i, d) in img.diff_ids.iter().enumerate() {
            self.tx.execute(
                "INSERT INTO image_layers (image_id, position, diff_id) VALUES (?1, ?2, ?3)",
                params![img.id.to_string(), i as i64, d.to_string()],
            )?;
        }
        for (k, v) in &img.labels {
            self.tx.execute(
                "INSERT INTO image_labels (image_id, key, value) VALUES (?1, ?2, ?3)",
                params![img.id.to_string(), k, v],
            )?;
        }
        Ok(true)
    }

    /// Points `reference` at `image`; returns the image it pointed at before, if another.
    pub fn set_tag(&mut self, reference: &Reference, image: &Digest) -> Result<Option<Digest>> {
        self.begin_patch()?;
        let key = reference.to_string();
        let old = self.tagged_image(&key)?;
        if old.as_deref() == Some(image.to_string().as_str()) {
            return Ok(None); // already so: nothing to write
        }
        self.tx
            .prepare_cached("INSERT OR REPLACE INTO tags (reference, image_id) VALUES (?1, ?2)")?
            .execute(params![key, image.to_string()])?;
        if let Some(view) = self.snapshot.get_mut().as_mut().map(Arc::make_mut) {
            let record = TagRecord {
                reference: Reference::parse_normalized(&key)
                    .map_err(|_| DbError::Corrupt(key.clone()))?,
                image: image.clone(),
            };
            match view
                .tags
                .binary_search_by(|t| t.reference.to_string().cmp(&key))
            {
                Ok(i) => view.tags[i] = record,
                Err(i) => view.tags.insert(i, record),
            }
        }
        self.end_patch()?;
        match old {
            Some(o) if o != image.to_string() => {
                self.record_lost_tag(&o, &key, Some(&image.to_string()))?;
                Ok(Some(parse_digest(&o)?))
            }
            _ => Ok(None),
        }
    }

    /// The image the tag `key` points at, if it exists.
    fn tagged_image(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .prepare_cached("SELECT image_id FROM tags WHERE reference = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    /// Notes that `image` lost `reference`, now, to `taken_by` (`None`: untagged).
    fn record_lost_tag(
        &mut self,
        image: &str,
        reference: &str,
        taken_by: Option<&str>,
    ) -> Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.tx
            .prepare_cached(
                "INSERT INTO tag_history (image_id, reference, until, taken_by) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![image, reference, now, taken_by])?;
        Ok(())
    }

    /// Removes a tag; returns whether it existed.
    pub fn remove_tag(&mut self, reference: &Reference) -> Result<bool> {
        self.begin_patch()?;
        let key = reference.to_string();
        let had = self.tagged_image(&key)?;
        if let Some(image) = &had {
            self.tx
                .execute("DELETE FROM tags WHERE reference = ?1", [&key])?;
            self.record_lost_tag(image, &key, None)?;
        }
        if let Some(view) = self.snapshot.get_mut().as_mut().map(Arc::make_mut) {
            view.tags.retain(|t| t.reference.to_string() != key);
        }
        self.end_patch()?;
        Ok(had.is_some())
    }

    /// Deletes an image row with its layer links and labels (not its layers).
    pub fn delete_image(&mut self, id: &Digest) -> Result<()> {
        self.changed();
        self.tx
            .execute("DELETE FROM tags WHERE image_id = ?1", [id.to_string()])?;
        self.tx.execute(
            "DELETE FROM tag_history WHERE image_id = ?1",
            [id.to_string()],
        )?;
        self.tx
            .execute("DELETE FROM images WHERE id = ?1", [id.to_string()])?;
        Ok(())
    }

    /// Removes an image from the user's view (its tags, its listing) but keeps its row, with
    /// its layer links, for the containers that use it
    /// ([`StoreView::retained`](image_store::StoreView::retained)).
    pub fn retain_image(&mut self, id: &Digest) -> Result<()> {
        self.changed();
        self.tx
            .execute("DELETE FROM tags WHERE image_id = ?1", [id.to_string()])?;
        self.tx.execute(
            "UPDATE images SET removed = 1 WHERE id = ?1",
            [id.to_string()],
        )?;
        Ok(())
    }

    /// Deletes the retained images no container uses any more, and the layers only they
    /// used; returns the layers deleted.
    pub fn drop_unused_retained(&mut self) -> Result<Vec<Digest>> {
        self.changed();
        let mut st = self.tx.prepare(
            "SELECT DISTINCT l.diff_id FROM image_layers l JOIN images i ON i.id = l.image_id
             WHERE i.removed = 1 AND i.id NOT IN (SELECT image_id FROM containers)",
        )?;
        let candidates = st
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        drop(st);
        self.tx.execute(
            "DELETE FROM images WHERE removed = 1 AND id NOT IN (SELECT image_id FROM containers)",
            [],
        )?;
        let mut gone = Vec::new();
        for d in candidates {
            let n = self.tx.execute(
                "DELETE FROM layers WHERE diff_id = ?1
                 AND NOT EXISTS (SELECT 1 FROM image_layers WHERE diff_id = ?1)",
                [&d],
            )?;
            if n > 0 {
                gone.push(parse_digest(&d)?);
            }
        }
        gone.sort();
        Ok(gone)
    }

    /// Deletes a layer row; fails if an image still links to it.
    pub fn delete_layer(&mut self, diff_id: &Digest) -> Result<()> {
        self.changed();
        self.tx.execute(
            "DELETE FROM layers WHERE diff_id = ?1",
            [diff_id.to_string()],
        )?;
        Ok(())
    }

    /// Records a container.
    pub fn insert_container(&mut self, c: &ContainerRecord) -> Result<()> {
        self.begin_patch()?;
        self.tx.execute(
            "INSERT INTO containers (id, name, image_id, running) VALUES (?1, ?2, ?3, ?4)",
            params![c.id, c.name, c.image.to_string(), c.running],
        )?;
        if let Some(view) = self.snapshot.get_mut().as_mut().map(Arc::make_mut) {
            let i = view.containers.partition_point(|x| x.id < c.id);
            view.containers.insert(i, c.clone());
        }
        self.end_patch()
    }

    /// Renames a container.
    pub fn set_container_name(&mut self, id: &str, name: &str) -> Result<()> {
        self.tx.execute(
            "UPDATE containers SET name = ?2 WHERE id = ?1",
            params![id, name],
        )?;
        Ok(())
    }

    /// Records whether a container's process runs (what `rmi` refuses to remove the image of,
    /// even forced).
    pub fn set_container_running(&mut self, id: &str, running: bool) -> Result<()> {
        self.tx.execute(
            "UPDATE containers SET running = ?2 WHERE id = ?1",
            params![id, running],
        )?;
        Ok(())
    }

    /// Deletes a container row; whether there was one (a concurrent removal may have taken
    /// it first).
    pub fn delete_container(&mut self, id: &str) -> Result<bool> {
        self.begin_patch()?;
        let n = self
            .tx
            .execute("DELETE FROM containers WHERE id = ?1", [id])?;
        if let Some(view) = self.snapshot.get_mut().as_mut().map(Arc::make_mut) {
            view.containers.retain(|c| c.id != id);
        }
        self.end_patch()?;
        Ok(n > 0)
    }

    /// True when some row names this blob.
    pub fn blob_referenced(&self, d: &Digest) -> Result<bool> {
        blob_referenced(&self.tx, d)
    }
}
