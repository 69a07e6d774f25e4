//! The engine's event stream: every change it makes (tag, untag, delete, import, load,
//! commit, container create/destroy, pull progress) as one [`Event`], delivered to every
//! subscriber. The server turns them into Docker's `/events` and the dashboard's SSE stream.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

/// One change, in Docker's `events` vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
