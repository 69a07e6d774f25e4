//! The schema: SQL migrations applied in order, each once, recorded in `user_version`.

use crate::db::{DbError, Result};
use rusqlite::{Connection, TransactionBehavior};

/// Numbered migrations; never edit one that has shipped, append a new one.
pub(crate) const MIGRATIONS: &[&str] = &[
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
    // A counter every change to a table `view()` reads moves (triggers, so every process and
    // every statement counts), while the event log, tokens and origins leave it alone: a
    // cached view stays valid across the event records written after each change.
    r#"
CREATE TABLE view_generation (n INTEGER NOT NULL);
INSERT INTO view_generation (n) VALUES (0);
CREATE TRIGGER layers_insert_generation AFTER INSERT ON layers BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER layers_update_generation AFTER UPDATE ON layers BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER layers_delete_generation AFTER DELETE ON layers BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER images_insert_generation AFTER INSERT ON images BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER images_update_generation AFTER UPDATE ON images BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER images_delete_generation AFTER DELETE ON images BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER image_layers_insert_generation AFTER INSERT ON image_layers BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER image_layers_update_generation AFTER UPDATE ON image_layers BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER image_layers_delete_generation AFTER DELETE ON image_layers BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER image_labels_insert_generation AFTER INSERT ON image_labels BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER image_labels_update_generation AFTER UPDATE ON image_labels BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER image_labels_delete_generation AFTER DELETE ON image_labels BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER tags_insert_generation AFTER INSERT ON tags BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER tags_update_generation AFTER UPDATE ON tags BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER tags_delete_generation AFTER DELETE ON tags BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER containers_insert_generation AFTER INSERT ON containers BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER containers_update_generation AFTER UPDATE ON containers BEGIN UPDATE view_generation SET n = n + 1; END;
CREATE TRIGGER containers_delete_generation AFTER DELETE ON containers BEGIN UPDATE view_generation SET n = n + 1; END;
"#,
    // The tags an image lost: when, and to which image the tag moved (NULL: untagged), so a
    // dangling image can say how it became one. Outside the view (no generation trigger).
    r#"
CREATE TABLE tag_history (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    image_id  TEXT NOT NULL,
    reference TEXT NOT NULL,
    until     INTEGER NOT NULL,
    taken_by  TEXT
);
CREATE INDEX tag_history_image ON tag_history (image_id);
"#,
];

pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
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
