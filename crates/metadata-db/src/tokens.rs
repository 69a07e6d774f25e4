//! Team mode's rows: API tokens (stored by hash) and the audit log.

use crate::db::{Db, Result};
use rusqlite::{params, OptionalExtension};

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

impl Db {
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
}
