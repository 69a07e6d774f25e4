//! The engine's event stream: every change it makes (tag, untag, delete, import, load,
//! commit, container create/destroy, pull progress) as one [`Event`], delivered to every
//! subscriber. The server turns them into Docker's `/events` and the dashboard's SSE stream.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

/// One change, in Docker's `events` vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `image`, `container` or `layer`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// `tag`, `untag`, `delete`, `import`, `load`, `pull`, `push`, `create`, `destroy`,
    /// `commit`, `progress`.
    #[serde(rename = "Action")]
    pub action: String,
    /// The object: an image ID, a reference, a container ID or a layer digest.
    #[serde(rename = "ID")]
    pub id: String,
    /// Extra facts (`name`, progress counters…).
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
    /// Unix nanoseconds.
    #[serde(rename = "timeNano")]
    pub time_nano: i128,
}

impl Event {
    /// An event stamped now.
    pub fn new(kind: &str, action: &str, id: impl Into<String>) -> Event {
        Event {
            kind: kind.into(),
            action: action.into(),
            id: id.into(),
            attributes: BTreeMap::new(),
            time_nano: time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
        }
    }

    /// The same event with one more attribute.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Event {
        self.attributes.insert(key.into(), value.into());
        self
    }
}

/// Subscribers; a subscriber whose receiver is gone is dropped on the next send.
#[derive(Default)]
pub(crate) struct Bus {
    subscribers: Mutex<Vec<Sender<Event>>>,
}

impl Bus {
    pub(crate) fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        rx
    }

    pub(crate) fn emit(&self, e: Event) {
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|s| s.send(e.clone()).is_ok());
    }
}

/// The store's event log (`events` in the metadata database), shared by every process using
/// the store: each appends what it emits; a server reads what the others appended.
#[derive(Default)]
pub(crate) struct Log {
    /// Opened at first use.
    db: Option<metadata_db::Db>,
    /// The newest event read; `None` until the first read.
    cursor: Option<i64>,
}

impl Log {
    fn db(&mut self, root: &Path) -> crate::Result<&mut metadata_db::Db> {
        if self.db.is_none() {
            let mut db = metadata_db::Db::open(&root.join("strata.db"))?;
            // The log is best effort: an event need not cost a second fsync after its change.
            db.relax_durability()?;
            self.db = Some(db);
        }
        Ok(self.db.as_mut().expect("opened above"))
    }

    /// Records `events` as this process's. Best effort: an event that cannot be recorded is
    /// still delivered in this process.
    pub(crate) fn append(&mut self, root: &Path, events: &[&Event]) {
        let bodies: Vec<String> = events
            .iter()
            .filter_map(|e| serde_json::to_string(e).ok())
            .collect();
        if let Ok(db) = self.db(root) {
            let _ = db.append_events(std::process::id(), &bodies);
        }
    }

    /// The events other processes recorded since the last call (none on the first).
    pub(crate) fn others_since_last(&mut self, root: &Path) -> crate::Result<Vec<Event>> {
        let cursor = self.cursor;
        let db = self.db(root)?;
        let Some(cursor) = cursor else {
            self.cursor = Some(db.last_event_seq()?);
            return Ok(Vec::new());
        };
        let rows = db.events_after(cursor)?;
        if let Some((last, _, _)) = rows.last() {
            self.cursor = Some(*last);
        }
        let me = std::process::id();
        Ok(rows
            .into_iter()
            .filter(|(_, pid, _)| *pid != me)
            .filter_map(|(_, _, body)| serde_json::from_str(&body).ok())
            .collect())
    }
}
