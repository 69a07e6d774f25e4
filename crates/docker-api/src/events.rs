//! moby's `events.Message`, the line `GET /events` streams.

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One event as the engine records it: a plain fact, no wire names.
#[derive(Debug, Clone, Copy)]
pub struct EventFacts<'a> {
    /// `image`, `container` or `layer`.
    pub kind: &'a str,
    /// `tag`, `untag`, `delete`, `create`, `start`, …
    pub action: &'a str,
    /// The object: an image ID, a reference, a container ID or a layer digest.
    pub id: &'a str,
    /// Extra facts (`name`, `image`, …).
    pub attributes: &'a BTreeMap<String, String>,
    /// Unix nanoseconds.
    pub time_nano: i128,
}

/// Docker's `events.Message` JSON for one event: `Type`, `Action`, `Actor` (`ID`,
/// `Attributes`), the legacy `status`/`id`/`from` fields, `scope` `local`, `time` (seconds)
/// and `timeNano`.
pub fn event_message(e: &EventFacts<'_>) -> Value {
    let secs = e.time_nano.div_euclid(1_000_000_000) as i64;
    let mut m = json!({
        "status": e.action,
        "id": e.id,
        "Type": e.kind,
        "Action": e.action,
        "Actor": { "ID": e.id, "Attributes": e.attributes },
        "scope": "local",
        "time": secs,
        "timeNano": e.time_nano as i64,
    });
    if let Some(from) = e.attributes.get("image") {
        m["from"] = json!(from);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).expect("JSON")
    }

    #[test]
    fn message_shape() {
        let attributes = BTreeMap::from([("name".to_string(), "bb:2".to_string())]);
        let m = event_message(&EventFacts {
            kind: "image",
            action: "tag",
            id: "sha256:ab",
            attributes: &attributes,
            time_nano: 1_700_000_000_123_456_789,
        });
        assert_eq!(
            m,
            parse(
                r#"{"Action":"tag","Actor":{"Attributes":{"name":"bb:2"},"ID":"sha256:ab"},"Type":"image","id":"sha256:ab","scope":"local","status":"tag","time":1700000000,"timeNano":1700000000123456789}"#
            )
        );
    }

    #[test]
    fn a_container_event_names_its_image_in_from() {
        let attributes = BTreeMap::from([("image".to_string(), "busybox".to_string())]);
        let m = event_message(&EventFacts {
            kind: "container",
            action: "start",
            id: "abc",
            attributes: &attributes,
            time_nano: 5,
        });
        assert_eq!(m["from"], "busybox");
        assert_eq!(m["time"], 0);
    }
}
