//! Team mode: API tokens with roles (stored as sha256 hashes) and the audit log.

use crate::{Engine, EngineError, Result};
use metadata_db::{AuditRecord, TokenRecord};
use std::io::Read;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads only.
    Viewer,
    /// Also pull, tag, commit, push, load, import, containers.
    Operator,
    /// Also rmi, prune, gc, tokens.
    Admin,
}

impl Role {
    /// `viewer`, `operator` or `admin`.
    pub fn parse(s: &str) -> Result<Role> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            _ => Err(EngineError::invalid(format!(
                "invalid role {s:?}: expected viewer, operator or admin"
            ))),
        }
    }

    /// The role's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// A verified token holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
}

fn hash(secret: &str) -> String {
    oci_model::Digest::of(secret.as_bytes()).hex().to_string()
}

impl Engine {
    /// Creates a token; returns its secret (shown once, stored only hashed).
    pub fn create_token(&self, name: &str, role: Role) -> Result<String> {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
        {
            return Err(EngineError::invalid(format!("invalid token name {name:?}")));
        }
        let mut raw = [0u8; 24];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut raw))
            .map_err(|e| EngineError::io("read /dev/urandom", e))?;
        let secret = format!("strata_{}", hex::encode(raw));
        let rec = TokenRecord {
            name: name.into(),
            role: role.name().into(),
            hash: hash(&secret),
            created: time::OffsetDateTime::now_utc().unix_timestamp(),
        };
        self.db()
            .insert_token(&rec)
            .map_err(|e| match e.to_string().contains("UNIQUE") {
                true => EngineError::Conflict(format!("a token named {name:?} already exists")),
                false => e.into(),
            })?;
        Ok(secret)
    }

    /// The holder of `secret`, if it is a valid token.
    pub fn verify_token(&self, secret: &str) -> Result<Option<Principal>> {
        let Some(rec) = self.db().token_by_hash(&hash(secret))? else {
            return Ok(None);
        };
        Ok(Some(Principal {
            name: rec.name,
            role: Role::parse(&rec.role)?,
        }))
    }

    /// Every token (names and roles; secrets are not kept).
    pub fn tokens(&self) -> Result<Vec<TokenRecord>> {
        Ok(self.db().tokens()?)
    }

    /// Deletes a token.
    pub fn delete_token(&self, name: &str) -> Result<()> {
        if !self.db().delete_token(name)? {
            return Err(EngineError::NotFound(format!("no token named {name:?}")));
        }
        Ok(())
    }

    /// Appends to the audit log.
    pub fn audit(&self, who: &str, action: &str, target: &str, result: &str) -> Result<()> {
        Ok(self.db().append_audit(&AuditRecord {
            time: time::OffsetDateTime::now_utc().unix_timestamp(),
            who: who.into(),
            action: action.into(),
            target: target.into(),
            result: result.into(),
        })?)
    }

    /// The newest `limit` audit lines, oldest first.
    pub fn audit_log(&self, limit: u32) -> Result<Vec<AuditRecord>> {
        Ok(self.db().audit(limit)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_and_verified() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(dir.path()).unwrap();
        let secret = e.create_token("ci", Role::Operator).unwrap();
        assert!(secret.starts_with("strata_"));
        let p = e.verify_token(&secret).unwrap().unwrap();
        assert_eq!((p.name.as_str(), p.role), ("ci", Role::Operator));
        assert_eq!(e.verify_token("strata_nope").unwrap(), None);
        assert!(e
            .tokens()
            .unwrap()
            .iter()
            .all(|t| t.hash != secret && t.hash.len() == 64));
        assert!(e
            .create_token("ci", Role::Viewer)
            .unwrap_err()
            .to_string()
            .contains("already exists"));
        e.audit("ci", "POST /images/bb/tag", "bb", "ok").unwrap();
        e.audit("ci", "DELETE /images/bb", "bb", "ok").unwrap();
        let log = e.audit_log(1).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].action, "DELETE /images/bb");
        e.delete_token("ci").unwrap();
        assert_eq!(e.verify_token(&secret).unwrap(), None);
    }
}
