//! The engine's event stream: every change it makes (tag, untag, delete, import, load,
//! commit, container create/destroy, pull progress) as one [`Event`], delivered to every
//! subscriber. The server turns them into Docker's `/events` and the dashboard's SSE stream.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

/// One change the engine made, as a plain fact; `docker_api::event_message` renders it as
/// Docker's `events.Message`, the server's dashboard stream as its own DTO.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `image`, `container` or `layer`.
    pub kind: String,
    /// `tag`, `untag`, `delete`, `import`, `load`, `pull`, `push`, `create`, `destroy`,
    /// `commit`, `progress`.
    pub action: String,
    /// The object: an image ID, a reference, a container ID or a layer digest.
    pub id: String,
    /// Extra facts (`name`, progress counters…).
    pub attributes: BTreeMap<String, String>,
    /// Unix nanoseconds.
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

/// An event as a row of the store's event log: a JSON object with the keys `type`, `action`,
/// `id`, `attributes` and `time_nano`.
fn to_row(e: &Event) -> String {
    let mut m = Map::new();
    m.insert("type".into(), Value::from(e.kind.as_str()));
    m.insert("action".into(), Value::from(e.action.as_str()));
    m.insert("id".into(), Value::from(e.id.as_str()));
    m.insert(
        "attributes".into(),
        Value::Object(
            e.attributes
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect(),
        ),
    );
    m.insert("time_nano".into(), Value::from(e.time_nano as i64));
    Value::Object(m).to_string()
}

/// Reads a row of the event log back. Keys are compared without case and underscores, so
/// rows written before the log had its own format (capitalised keys, the time in camel case)
/// read the same; a row that is not an event is `None`.
fn from_row(body: &str) -> Option<Event> {
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(body) else {
        return None;
    };
    let m: BTreeMap<String, Value> = m
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase().replace('_', ""), v))
        .collect();
    let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    Some(Event {
        kind: text("type")?,
        action: text("action")?,
        id: text("id")?,
        attributes: match m.get("attributes") {
            Some(Value::Object(a)) => a
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect(),
            _ => BTreeMap::new(),
        },
        time_nano: m.get("timenano")?.as_i64()? as i128,
    })
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
        let bodies: Vec<String> = events.iter().map(|e| to_row(e)).collect();
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
            .filter_map(|(_, _, body)| from_row(&body))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_back_as_the_event() {
        let e = Event::new("container", "start", "abc")
            .with("image", "busybox")
            .with("name", "x");
        let row = to_row(&e);
        assert!(row.contains(r#""time_nano":"#), "{row}");
        assert_eq!(from_row(&row), Some(e));
        assert_eq!(from_row("{}"), None);
        assert_eq!(from_row("not json"), None);
    }
}
