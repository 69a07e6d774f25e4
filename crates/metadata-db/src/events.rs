//! The store's event log: what every process emitted, the newest [`EVENTS_KEPT`] kept.

use crate::db::{Db, Result};
use rusqlite::{params, TransactionBehavior};

/// How many events [`Db::append_events`] keeps.
pub const EVENTS_KEPT: i64 = 1000;

impl Db {
    /// Appends events (their JSON `bodies`) emitted by process `pid`, in one transaction, and
    /// forgets all but the newest [`EVENTS_KEPT`].
    pub fn append_events(&mut self, pid: u32, bodies: &[String]) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for b in bodies {
            tx.prepare_cached("INSERT INTO events (pid, body) VALUES (?1, ?2)")?
                .execute(params![pid, b])?;
        }
        tx.prepare_cached("DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?1")?
            .execute([EVENTS_KEPT])?;
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
}
