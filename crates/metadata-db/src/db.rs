//! The metadata database: its error type, opening a connection (WAL, a busy timeout, the
//! schema migrated), and the retry of busy statements. Reads are in `views.rs`, writes in
//! `writes.rs`, the schema in `schema.rs`, the event log in `events.rs`, tokens and the
//! audit log in `tokens.rs`.

use crate::schema::migrate;
use image_store::StoreView;
use rusqlite::Connection;
use std::path::Path;
use std::sync::Arc;
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

pub(crate) type Result<T> = std::result::Result<T, DbError>;

/// The metadata database of one data directory.
pub struct Db {
    pub(crate) conn: Connection,
    /// The last view read (or kept up to date by a write) and the view generation it is of
    /// (`view_generation`, moved by triggers on every table a view reads): reused while the
    /// generation has not moved, so records in other tables (the event log) keep it.
    pub(crate) cache: Option<(i64, Arc<StoreView>)>,
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
        // Every CLI verb is a short-lived process: left to itself, SQLite checkpoints and
        // removes the WAL when the last connection closes, and the next writer restarts it,
        // each with fsyncs of its own. Commits are durable in the WAL already (synchronous
        // FULL); checkpoints happen as the WAL grows (every 1,000 pages), not per process.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )?;
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
}

pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `f` again while SQLite reports the database busy, up to [`BUSY_TIMEOUT`].
pub(crate) fn retry_busy<T, E: Into<DbError>>(
    mut f: impl FnMut() -> std::result::Result<T, E>,
) -> Result<T> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EVENTS_KEPT;
    use crate::schema::MIGRATIONS;
    use crate::writes::LayerSource;
    use image_store::{ImageRecord, LayerRecord};
    use oci_model::Digest;

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
    fn closing_the_last_connection_leaves_the_wal_for_the_next_process() {
        // A CLI verb opens, commits and closes: the commit is in the WAL (and durable there),
        // and closing does not checkpoint, truncate or remove it (each would cost fsyncs).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("strata.db");
        let mut db = Db::open(&path).unwrap();
        let layer = LayerRecord {
            diff_id: d("l1"),
            size: 10,
            content_size: 10,
            stored_bytes: 10,
        };
        db.write(|tx| tx.insert_layer(&layer, None)).unwrap();
        drop(db);
        let wal = std::fs::metadata(dir.path().join("strata.db-wal")).unwrap();
        assert!(wal.len() > 0, "the WAL was checkpointed away on close");
        let mut db = Db::open(&path).unwrap();
        assert_eq!(db.view().unwrap().layers[&d("l1")], layer);
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
    use image_store::LayerRecord;
    use oci_model::Digest;

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
mod generation_tests {
    use super::*;
    use crate::views::read_view;
    use image_ref::Reference;
    use image_store::{ContainerRecord, ImageRecord};
    use oci_model::Digest;
    use std::sync::Arc;

    fn image(db: &mut Db, name: &[u8]) -> Digest {
        let id = Digest::of(name);
        let img = ImageRecord {
            id: id.clone(),
            config_size: 1,
            manifest: None,
            parent: None,
            created: 1,
            diff_ids: vec![],
            labels: Default::default(),
        };
        db.write(|tx| tx.insert_image(&img)).unwrap();
        id
    }

    fn reference(s: &str) -> Reference {
        Reference::parse_normalized(s).unwrap()
    }

    /// Rows changed on `db`'s connection so far (triggers' included).
    fn changes(db: &Db) -> i64 {
        db.conn
            .query_row("SELECT total_changes()", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn recording_again_what_is_recorded_writes_nothing_and_keeps_the_view() {
        use crate::views;
        use crate::writes::LayerSource;
        use image_store::LayerRecord;
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("m.db")).unwrap();
        let layer = LayerRecord {
            diff_id: Digest::of(b"l1"),
            size: 10,
            content_size: 10,
            stored_bytes: 10,
        };
        let source = LayerSource {
            digest: Digest::of(b"l1.gz"),
            size: 4,
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
        };
        let img = ImageRecord {
            id: Digest::of(b"img"),
            config_size: 1,
            manifest: None,
            parent: None,
            created: 1,
            diff_ids: vec![layer.diff_id.clone()],
            labels: Default::default(),
        };
        let record = |db: &mut Db| {
            db.write(|tx| -> Result<()> {
                tx.insert_layer(&layer, Some(&source))?;
                tx.insert_image(&img)?;
                assert_eq!(tx.set_tag(&reference("x:1"), &img.id)?, None);
                Ok(())
            })
            .unwrap()
        };
        record(&mut db);
        let view = db.view().unwrap();
        let (rows, generation) = (changes(&db), views::generation(&db.conn).unwrap());
        // What a `load` of images already present records: nothing to write, nothing for the
        // commit to make durable, and the view read before stays current.
        record(&mut db);
        assert_eq!(changes(&db), rows, "no row written");
        assert_eq!(views::generation(&db.conn).unwrap(), generation);
        assert!(Arc::ptr_eq(&view, &db.view().unwrap()), "the view is kept");
        // What differs is still written: a source's new size, a removed image coming back.
        let source = LayerSource { size: 5, ..source };
        db.write(|tx| tx.insert_layer(&layer, Some(&source)))
            .unwrap();
        let sized: i64 = db
            .conn
            .query_row("SELECT size FROM layer_sources", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sized, 5);
        db.conn
            .execute("UPDATE images SET removed = 1", [])
            .unwrap();
        assert!(!db.write(|tx| tx.insert_image(&img)).unwrap());
        let removed: i64 = db
            .conn
            .query_row("SELECT removed FROM images", [], |r| r.get(0))
            .unwrap();
        assert_eq!(removed, 0);
    }

    #[test]
    fn records_outside_the_view_keep_the_cached_view_and_changes_inside_it_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut a = Db::open(&path).unwrap();
        let mut b = Db::open(&path).unwrap();
        let id = image(&mut a, b"img");
        let first = a.view().unwrap();
        // Another connection's event record, origin and token leave the view's tables alone.
        b.append_events(1, &["{}".into()]).unwrap();
        b.record_origin(&id, "r.example", "x/y").unwrap();
        assert!(
            Arc::ptr_eq(&first, &a.view().unwrap()),
            "the cached view is reused"
        );
        // A tag another connection sets is seen.
        b.write(|tx| tx.set_tag(&reference("x:1"), &id)).unwrap();
        let seen = a.view().unwrap();
        assert_eq!(seen.tags.len(), 1);
        // A statement outside `write` moves the generation too.
        b.set_content_size(&Digest::of(b"none"), 1).unwrap();
        b.conn.execute("UPDATE images SET created = 5", []).unwrap();
        assert_eq!(a.view().unwrap().images[0].created, 5);
    }

    #[test]
    fn a_write_that_does_not_apply_itself_never_leaves_a_stale_cached_view() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("m.db")).unwrap();
        let id = image(&mut db, b"img");
        db.write(|tx| {
            tx.insert_container(&ContainerRecord {
                id: "c1".into(),
                name: "old".into(),
                image: id.clone(),
                running: false,
            })
        })
        .unwrap();
        db.view().unwrap();
        // Writes the snapshot does not follow, alone and between ones it does.
        db.write(|tx| tx.set_container_name("c1", "new")).unwrap();
        assert_eq!(*db.view().unwrap(), read_view(&db.conn).unwrap());
        db.write(|tx| {
            tx.set_tag(&reference("a:1"), &id)?;
            tx.set_container_running("c1", true)?;
            tx.set_tag(&reference("b:1"), &id)
        })
        .unwrap();
        let v = db.view().unwrap();
        assert_eq!(*v, read_view(&db.conn).unwrap());
        assert!(v.containers[0].running && v.containers[0].name == "new");
    }

    #[test]
    fn tags_and_containers_written_here_are_applied_to_the_cached_view() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("m.db")).unwrap();
        let id = image(&mut db, b"img");
        let other = image(&mut db, b"other");
        db.view().unwrap();
        for name in ["b:1", "a:1", "c:1", "a:1"] {
            db.write(|tx| tx.set_tag(&reference(name), &id)).unwrap();
        }
        db.write(|tx| tx.set_tag(&reference("c:1"), &other))
            .unwrap();
        db.write(|tx| tx.remove_tag(&reference("b:1"))).unwrap();
        for (cid, name) in [("c2", "two"), ("c1", "one"), ("c3", "three")] {
            db.write(|tx| {
                tx.insert_container(&ContainerRecord {
                    id: cid.into(),
                    name: name.into(),
                    image: id.clone(),
                    running: false,
                })
            })
            .unwrap();
        }
        assert!(db.write(|tx| tx.delete_container("c3")).unwrap());
        assert!(
            !db.write(|tx| tx.delete_container("c3")).unwrap(),
            "gone already"
        );
        let kept = db.view().unwrap();
        assert!(db.cache.is_some());
        assert_eq!(*kept, read_view(&db.conn).unwrap(), "same as read afresh");
        assert_eq!(kept.tags.len(), 2);
        assert_eq!(kept.containers.len(), 2);
        // A failed write leaves the cache as it was before.
        let r: Result<()> = db.write(|tx| {
            tx.set_tag(&reference("z:1"), &id)?;
            Err(DbError::Corrupt("boom".into()))
        });
        assert!(r.is_err());
        assert_eq!(*db.view().unwrap(), read_view(&db.conn).unwrap());
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
