//! The SQLite schema, migrations and typed reads and writes.

use image_ref::Reference;
use image_store::{ContainerRecord, ImageRecord, LayerRecord, StoreView, TagRecord};
use oci_model::Digest;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// A metadata database error.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite failed.
    #[error("metadata database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value does not parse.
    #[error("metadata database: corrupt value {0:?}")]
    Corrupt(String),
    /// The database was written by a newer Strata.
    #[error("metadata database: schema version {0} is newer than this strata understands ({1})")]
    TooNew(i64, i64),
}

type Result<T> = std::result::Result<T, DbError>;

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

/// An API token: its name, role and the sha256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Unique name (who the audit log names).
    pub name: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    /// Hex sha256 of the secret.
    pub hash: String,
    /// Unix seconds.
    pub created: i64,
}

/// One audit log line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    /// Unix seconds.
    pub time: i64,
    /// The token's name (or `local` for the CLI).
    pub who: String,
    /// What was asked (`DELETE /images/bb:1`).
    pub action: String,
    /// The object.
    pub target: String,
    /// `ok` or the error text.
    pub result: String,
}

/// Numbered migrations; never edit one that has shipped, append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE layers (
    diff_id      TEXT PRIMARY KEY,
    size         INTEGER NOT NULL,
    stored_bytes INTEGER NOT NULL
);
CREATE TABLE layer_sources (
    digest     TEXT PRIMARY KEY,
    diff_id    TEXT NOT NULL REFERENCES layers(diff_id) ON DELETE CASCADE,
    size       INTEGER NOT NULL,
    media_type TEXT NOT NULL
);
CREATE TABLE images (
    id              TEXT PRIMARY KEY,
    config_size     INTEGER NOT NULL,
    manifest_digest TEXT,
    manifest_size   INTEGER,
    parent          TEXT,
    created         INTEGER NOT NULL
);
CREATE TABLE image_layers (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    diff_id  TEXT NOT NULL REFERENCES layers(diff_id),
    PRIMARY KEY (image_id, position)
);
CREATE INDEX image_layers_diff ON image_layers(diff_id);
CREATE TABLE image_labels (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (image_id, key)
);
CREATE TABLE tags (
    reference TEXT PRIMARY KEY,
    image_id  TEXT NOT NULL REFERENCES images(id)
);
CREATE INDEX tags_image ON tags(image_id);
CREATE TABLE containers (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL REFERENCES images(id),
    running  INTEGER NOT NULL DEFAULT 0
);
"#,
    r#"
CREATE TABLE layer_origins (
    digest     TEXT NOT NULL,
    registry   TEXT NOT NULL,
    repository TEXT NOT NULL,
    PRIMARY KEY (digest, registry, repository)
);
"#,
    r#"
CREATE TABLE tokens (
    name    TEXT PRIMARY KEY,
    role    TEXT NOT NULL,
    hash    TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL
);
CREATE TABLE audit (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    time   INTEGER NOT NULL,
    who    TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL
);
"#,
    // The blob holding a layer when it is not its tar under the diff ID: a pulled layer is
    // kept as the registry's compressed blob, under that blob's digest.
    r#"
ALTER TABLE layers ADD COLUMN blob TEXT;
"#,
    // The events every process sharing the store emitted (JSON), for a server to relay the
    // changes another process (the CLI) made.
    r#"
CREATE TABLE events (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    pid  INTEGER NOT NULL,
    body TEXT NOT NULL
);
"#,
    // A layer's size as Docker measures it (NULL: not measured yet, the engine fills it in
    // from the tar), and images removed with `rmi -f` but kept for the containers using them.
    r#"
ALTER TABLE layers ADD COLUMN content_size INTEGER;
ALTER TABLE images ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
"#,
];

/// How many events [`Db::append_events`] keeps.
pub const EVENTS_KEPT: i64 = 1000;

/// The metadata database of one data directory.
pub struct Db {
    conn: Connection,
    /// The last view read and SQLite's `data_version` when it was read: reused until another
    /// connection commits (the version moves) or this one writes (the cache is dropped).
    cache: Option<(i64, StoreView)>,
}

/// A write transaction (`BEGIN IMMEDIATE`): reads see the state the writes apply to.
pub struct WriteTx<'a> {
    tx: rusqlite::Transaction<'a>,
    /// The connection's last view, when no other connection has committed since it was read
    /// (checked under this transaction's write lock), with SQLite's `total_changes()` at the
    /// start: while that count has not moved, this transaction has written nothing and the
    /// view is exactly what it sees.
    snapshot: Option<(StoreView, i64)>,
}

impl Db {
    /// Opens (creating and migrating as needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Db> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Switching a new file to WAL needs it to itself; SQLite answers BUSY at once (without
        // the busy handler) while another connection opens the same new file, so wait here.
        retry_busy(|| conn.pragma_update(None, "journal_mode", "WAL"))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        retry_busy(|| migrate(&mut conn))?;
        Ok(Db { conn, cache: None })
    }

    /// Lets this connection's commits skip their own fsync (`synchronous=NORMAL` in WAL mode):
    /// a commit is atomic and consistent as always, and becomes durable with the next fully
    /// synced commit of any connection (or a checkpoint); a crash may lose only the newest
    /// such commits. For best-effort records (the event log) whose loss is harmless, so that
    /// recording an event does not cost a second fsync after the change it describes.
    pub fn relax_durability(&mut self) -> Result<()> {
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(())
    }

    /// A consistent snapshot of all metadata.
    pub fn view(&mut self) -> Result<StoreView> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        let version: i64 = tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if let Some((v, view)) = &self.cache {
            if *v == version {
                let view = view.clone();
                tx.commit()?;
                return Ok(view);
            }
        }
        let v = read_view(&tx)?;
        tx.commit()?;
        self.cache = Some((version, v.clone()));
        Ok(v)
    }

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
        // With the write lock held, a view read before it is still current if no other
        // connection committed in between (`data_version` unchanged); then the transaction
        // need not read every table again to answer `view()`.
        let snapshot = match cache {
            Some((v, view)) => {
                let (version, changes): (i64, i64) = tx
                    .query_row(
                        "SELECT (SELECT data_version FROM pragma_data_version), total_changes()",
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .map_err(DbError::from)?;
                (version == v).then_some((view, changes))
            }
            None => None,
        };
        let mut w = WriteTx { tx, snapshot };
        let out = f(&mut w)?;
        w.tx.commit().map_err(DbError::from)?;
        Ok(out)
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

    /// Records the measured Docker size of a layer.
    pub fn set_content_size(&mut self, diff_id: &Digest, content_size: u64) -> Result<()> {
        self.cache = None;
        self.conn.execute(
            "UPDATE layers SET content_size = ?2 WHERE diff_id = ?1",
            params![diff_id.to_string(), content_size as i64],
        )?;
        Ok(())
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

    /// Appends events (their JSON `bodies`) emitted by process `pid`, in one transaction, and
    /// forgets all but the newest [`EVENTS_KEPT`].
    pub fn append_events(&mut self, pid: u32, bodies: &[String]) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for b in bodies {
            tx.execute(
                "INSERT INTO events (pid, body) VALUES (?1, ?2)",
                params![pid, b],
            )?;
        }
        tx.execute(
            "DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?1",
            [EVENTS_KEPT],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The events after sequence number `seq`, oldest first: `(seq, pid, body)`.
    pub fn events_after(&mut self, seq: i64) -> Result<Vec<(i64, u32, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT seq, pid, body FROM events WHERE seq > ?1 ORDER BY seq")?;
        let rows = st.query_map([seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// The sequence number of the newest event (0 when there is none).
    pub fn last_event_seq(&mut self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?)
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

    /// Remembers that `digest` exists in `registry`/`repository` (for pushes: skip or mount).
    pub fn record_origin(
        &mut self,
        digest: &Digest,
        registry: &str,
        repository: &str,
    ) -> Result<()> {
        insert_origin(&self.conn, digest, registry, repository)
    }

    /// Stores an API token (only its hash). Fails when the name is taken.
    pub fn insert_token(&mut self, t: &TokenRecord) -> Result<()> {
        self.conn.execute(
            "INSERT INTO tokens (name, role, hash, created) VALUES (?1, ?2, ?3, ?4)",
            params![t.name, t.role, t.hash, t.created],
        )?;
        Ok(())
    }

    /// The token with this hash.
    pub fn token_by_hash(&mut self, hash: &str) -> Result<Option<TokenRecord>> {
        Ok(self
            .conn
            .query_row(
                "SELECT name, role, hash, created FROM tokens WHERE hash = ?1",
                [hash],
                |r| {
                    Ok(TokenRecord {
                        name: r.get(0)?,
                        role: r.get(1)?,
                        hash: r.get(2)?,
                        created: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Every token, by name.
    pub fn tokens(&mut self) -> Result<Vec<TokenRecord>> {
        let mut st = self
            .conn
            .prepare("SELECT name, role, hash, created FROM tokens ORDER BY name")?;
        let rows = st.query_map([], |r| {
            Ok(TokenRecord {
                name: r.get(0)?,
                role: r.get(1)?,
                hash: r.get(2)?,
                created: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// Deletes a token; true when it existed.
    pub fn delete_token(&mut self, name: &str) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM tokens WHERE name = ?1", [name])?
            > 0)
    }

    /// Appends one line to the audit log.
    pub fn append_audit(&mut self, e: &AuditRecord) -> Result<()> {
        self.conn.execute(
            "INSERT INTO audit (time, who, action, target, result) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![e.time, e.who, e.action, e.target, e.result],
        )?;
        Ok(())
    }

    /// The newest `limit` audit lines, oldest first.
    pub fn audit(&mut self, limit: u32) -> Result<Vec<AuditRecord>> {
        let mut st = self.conn.prepare(
            "SELECT time, who, action, target, result FROM (SELECT * FROM audit ORDER BY seq DESC LIMIT ?1) ORDER BY seq",
        )?;
        let rows = st.query_map([limit], |r| {
            Ok(AuditRecord {
                time: r.get(0)?,
                who: r.get(1)?,
                action: r.get(2)?,
                target: r.get(3)?,
                result: r.get(4)?,
            })
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

fn blob_referenced(conn: &Connection, d: &Digest) -> Result<bool> {
    let s = d.to_string();
    let n: i64 = conn.query_row(
        "SELECT (SELECT COUNT(*) FROM images WHERE id = ?1 OR manifest_digest = ?1)
              + (SELECT COUNT(*) FROM layers WHERE COALESCE(blob, diff_id) = ?1)",
        [&s],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

fn insert_origin(
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
    pub fn view(&self) -> Result<StoreView> {
        if let Some((view, changes)) = &self.snapshot {
            let now: i64 = self
                .tx
                .query_row("SELECT total_changes()", [], |r| r.get(0))?;
            if now == *changes {
                return Ok(view.clone());
            }
        }
        read_view(&self.tx)
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
        self.tx.execute(
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
        self.tx.execute(
            "UPDATE layers SET content_size = ?2 WHERE diff_id = ?1 AND content_size IS NULL",
            params![layer.diff_id.to_string(), layer.content_size as i64],
        )?;
        if let Some(s) = source {
            self.tx.execute(
                "INSERT OR REPLACE INTO layer_sources (digest, diff_id, size, media_type) VALUES (?1, ?2, ?3, ?4)",
                params![s.digest.to_string(), layer.diff_id.to_string(), s.size as i64, s.media_type],
            )?;
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
            // An image removed but kept for a container comes back as it was.
            self.tx.execute(
                "UPDATE images SET removed = 0 WHERE id = ?1",
                [img.id.to_string()],
            )?;
            return Ok(false);
        }
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
        let key = reference.to_string();
        let old: Option<String> = self
            .tx
            .query_row(
                "SELECT image_id FROM tags WHERE reference = ?1",
                [&key],
                |r| r.get(0),
            )
            .optional()?;
        self.tx.execute(
            "INSERT OR REPLACE INTO tags (reference, image_id) VALUES (?1, ?2)",
            params![key, image.to_string()],
        )?;
        match old {
            Some(o) if o != image.to_string() => Ok(Some(parse_digest(&o)?)),
            _ => Ok(None),
        }
    }

    /// Removes a tag; returns whether it existed.
    pub fn remove_tag(&mut self, reference: &Reference) -> Result<bool> {
        Ok(self.tx.execute(
            "DELETE FROM tags WHERE reference = ?1",
            [reference.to_string()],
        )? > 0)
    }

    /// Deletes an image row with its layer links and labels (not its layers).
    pub fn delete_image(&mut self, id: &Digest) -> Result<()> {
        self.tx
            .execute("DELETE FROM tags WHERE image_id = ?1", [id.to_string()])?;
        self.tx
            .execute("DELETE FROM images WHERE id = ?1", [id.to_string()])?;
        Ok(())
    }

    /// Removes an image from the user's view (its tags, its listing) but keeps its row, with
    /// its layer links, for the containers that use it
    /// ([`StoreView::retained`](image_store::StoreView::retained)).
    pub fn retain_image(&mut self, id: &Digest) -> Result<()> {
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
        self.tx.execute(
            "DELETE FROM layers WHERE diff_id = ?1",
            [diff_id.to_string()],
        )?;
        Ok(())
    }

    /// Records a container.
    pub fn insert_container(&mut self, c: &ContainerRecord) -> Result<()> {
        self.tx.execute(
            "INSERT INTO containers (id, name, image_id, running) VALUES (?1, ?2, ?3, ?4)",
            params![c.id, c.name, c.image.to_string(), c.running],
        )?;
        Ok(())
    }

    /// Deletes a container row.
    pub fn delete_container(&mut self, id: &str) -> Result<()> {
        self.tx
            .execute("DELETE FROM containers WHERE id = ?1", [id])?;
        Ok(())
    }

    /// True when some row names this blob.
    pub fn blob_referenced(&self, d: &Digest) -> Result<bool> {
        blob_referenced(&self.tx, d)
    }
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `f` again while SQLite reports the database busy, up to [`BUSY_TIMEOUT`].
fn retry_busy<T, E: Into<DbError>>(mut f: impl FnMut() -> std::result::Result<T, E>) -> Result<T> {
    let start = std::time::Instant::now();
    loop {
        match f().map_err(Into::into) {
            Err(DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    let latest = MIGRATIONS.len() as i64;
    if current > latest {
        return Err(DbError::TooNew(current, latest));
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(m)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [i as i64 + 1],
        )?;
    }
    tx.commit()?;
    Ok(())
}

fn parse_digest(s: &str) -> Result<Digest> {
    Digest::parse(s).map_err(|_| DbError::Corrupt(s.to_string()))
}

fn read_view(conn: &Connection) -> Result<StoreView> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Digest {
        Digest::of(s.as_bytes())
    }

    #[test]
    fn round_trip_and_rollback() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("strata.db")).unwrap();
        let layer = LayerRecord {
            diff_id: d("l1"),
            size: 10,
            content_size: 10,
            stored_bytes: 10,
        };
        let img = ImageRecord {
            id: d("img"),
            config_size: 5,
            manifest: None,
            parent: None,
            created: 7,
            diff_ids: vec![d("l1"), d("l1")],
            labels: [("a".to_string(), "b".to_string())].into(),
        };
        db.write(|tx| -> Result<()> {
            tx.insert_layer(&layer, None)?;
            assert!(tx.insert_image(&img)?);
            assert!(!tx.insert_image(&img)?);
            Ok(())
        })
        .unwrap();
        let v = db.view().unwrap();
        assert_eq!(v.images, vec![img.clone()]);
        assert_eq!(v.layers[&d("l1")], layer);
        assert!(db.blob_referenced(&d("img")).unwrap());
        assert!(db.blob_referenced(&d("l1")).unwrap());
        assert!(!db.blob_referenced(&d("zz")).unwrap());

        // a failing write changes nothing
        let r: std::result::Result<(), DbError> = db.write(|tx| {
            tx.delete_image(&d("img"))?;
            Err(DbError::Corrupt("boom".into()))
        });
        assert!(r.is_err());
        assert_eq!(db.view().unwrap().images.len(), 1);

        // reopening keeps data and does not re-run migrations
        drop(db);
        let mut db = Db::open(&dir.path().join("strata.db")).unwrap();
        assert_eq!(db.view().unwrap().images.len(), 1);
    }

    #[test]
    fn a_layer_kept_as_a_compressed_blob_references_that_blob() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("strata.db")).unwrap();
        let layer = |n: &str| LayerRecord {
            diff_id: d(n),
            size: 10,
            content_size: 10,
            stored_bytes: 4,
        };
        let gz = LayerSource {
            digest: d("l1.gz"),
            size: 4,
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
        };
        db.write(|tx| -> Result<()> {
            tx.insert_stored_layer(&layer("l1"), Some(&gz), Some(&gz.digest))?;
            tx.insert_layer(&layer("l2"), None)?;
            // present already: keeps the blob it has
            tx.insert_stored_layer(&layer("l2"), None, Some(&d("other")))?;
            Ok(())
        })
        .unwrap();
        assert_eq!(db.layer_blob(&d("l1")).unwrap(), Some(d("l1.gz")));
        assert_eq!(db.layer_blob(&d("l2")).unwrap(), Some(d("l2")));
        assert_eq!(db.layer_blob(&d("l3")).unwrap(), None);
        assert!(db.blob_referenced(&d("l1.gz")).unwrap());
        assert!(!db.blob_referenced(&d("l1")).unwrap());
        assert!(!db.blob_referenced(&d("other")).unwrap());
        let refs = db.referenced_blobs().unwrap();
        assert_eq!(refs, [d("l1.gz"), d("l2")].into_iter().collect());
    }

    #[test]
    fn events_append_in_order_and_only_the_newest_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("strata.db")).unwrap();
        assert_eq!(db.last_event_seq().unwrap(), 0);
        db.append_events(7, &["a".into(), "b".into()]).unwrap();
        let start = db.last_event_seq().unwrap();
        let bodies: Vec<String> = (0..EVENTS_KEPT + 5).map(|i| i.to_string()).collect();
        db.append_events(8, &bodies).unwrap();
        let all = db.events_after(0).unwrap();
        assert_eq!(all.len() as i64, EVENTS_KEPT);
        assert_eq!(
            all.last().unwrap(),
            &(start + EVENTS_KEPT + 5, 8, (EVENTS_KEPT + 4).to_string())
        );
        assert!(all.windows(2).all(|w| w[0].0 + 1 == w[1].0));
        let last = db.last_event_seq().unwrap();
        db.append_events(9, &["c".into()]).unwrap();
        assert_eq!(
            db.events_after(last).unwrap(),
            vec![(last + 1, 9, "c".to_string())]
        );
    }

    #[test]
    fn a_store_from_before_the_blob_column_keeps_its_layers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("strata.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                .unwrap();
            for (i, m) in MIGRATIONS[..3].iter().enumerate() {
                conn.execute_batch(m).unwrap();
                conn.execute("INSERT INTO schema_version (version) VALUES (?1)", [i + 1])
                    .unwrap();
            }
            conn.execute(
                "INSERT INTO layers (diff_id, size, stored_bytes) VALUES (?1, 10, 10)",
                [d("old").to_string()],
            )
            .unwrap();
        }
        let mut db = Db::open(&path).unwrap();
        assert_eq!(db.layer_blob(&d("old")).unwrap(), Some(d("old")));
        assert!(db.blob_referenced(&d("old")).unwrap());
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn the_cached_view_follows_writes_from_this_and_other_connections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut a = Db::open(&path).unwrap();
        let mut b = Db::open(&path).unwrap();
        let d = Digest::of(b"layer");
        let layer = LayerRecord {
            diff_id: d.clone(),
            size: 1,
            content_size: 1,
            stored_bytes: 1,
        };
        assert!(a.view().unwrap().layers.is_empty());
        b.write(|tx| tx.insert_layer(&layer, None)).unwrap();
        assert_eq!(
            a.view().unwrap().layers.len(),
            1,
            "another connection's commit is seen"
        );
        a.write(|tx| tx.delete_layer(&d)).unwrap();
        assert!(
            a.view().unwrap().layers.is_empty(),
            "this connection's own write is seen"
        );
        assert!(b.view().unwrap().layers.is_empty());
    }

    #[test]
    fn a_write_transaction_sees_other_connections_commits_and_its_own_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut a = Db::open(&path).unwrap();
        let mut b = Db::open(&path).unwrap();
        let layer = |n: &[u8]| LayerRecord {
            diff_id: Digest::of(n),
            size: 1,
            stored_bytes: 1,
            content_size: 1,
        };
        // `a` holds a cached view; `b` commits after it was read.
        assert!(a.view().unwrap().layers.is_empty());
        b.write(|tx| tx.insert_layer(&layer(b"one"), None)).unwrap();
        let seen = a
            .write(|tx| -> Result<(usize, usize)> {
                let before = tx.view()?.layers.len();
                tx.insert_layer(&layer(b"two"), None)?;
                Ok((before, tx.view()?.layers.len()))
            })
            .unwrap();
        assert_eq!(
            seen,
            (1, 2),
            "b's commit, then the transaction's own insert"
        );
        // A current cached view is used, and still followed by the transaction's writes.
        assert_eq!(a.view().unwrap().layers.len(), 2);
        let seen = a
            .write(|tx| -> Result<(usize, usize)> {
                let before = tx.view()?.layers.len();
                tx.delete_layer(&Digest::of(b"one"))?;
                Ok((before, tx.view()?.layers.len()))
            })
            .unwrap();
        assert_eq!(seen, (2, 1));
        assert_eq!(b.view().unwrap().layers.len(), 1);
    }
}

#[cfg(test)]
mod open_tests {
    use super::*;

    #[test]
    fn many_connections_opening_one_new_file_at_once_all_succeed() {
        for _ in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("m.db");
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(24));
            let handles: Vec<_> = (0..24)
                .map(|_| {
                    let (path, barrier) = (path.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        Db::open(&path).map(|mut db| db.view().map(|v| v.images.len()))
                    })
                })
                .collect();
            for h in handles {
                let got = h.join().unwrap();
                assert!(matches!(got, Ok(Ok(0))), "{got:?}");
            }
        }
    }
}
