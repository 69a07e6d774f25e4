//! The dashboard API's JSON shapes as the browser reads them: the types are `api-types`'s,
//! the same ones the server writes. Every response field has a default, so a field the
//! server adds later or drops does not break a page; what a page needs and does not get
//! shows as empty, not as a crash. Here: decoding, and the texts the pages make of events.

pub use api_types::*;

use crate::error::ApiError;

/// `image tag bb:2`, for the activity line.
pub fn event_text(e: &EventDto) -> String {
    let what = e
        .attributes
        .get("name")
        .cloned()
        .unwrap_or_else(|| docker_format::truncate_id(&e.id));
    let mut s = format!("{} {} {}", e.kind, e.action, what);
    if let Some(p) = e.attributes.get("path") {
        s.push(' ');
        s.push_str(p);
    }
    s
}

/// Decodes a JSON body, naming what was asked for in the error.
pub fn decode<T: serde::de::DeserializeOwned>(what: &str, body: &str) -> Result<T, ApiError> {
    serde_json::from_str(body)
        .map_err(|e| ApiError::other(None, format!("{what}: invalid response from server: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_decode() {
        let p: PlanDto = decode(
            "plan",
            r#"{"events":[{"untagged":"bb:1"},{"deleted":"sha256:ab"}],"untag":["bb:1"],
                "delete_images":["sha256:ab"],"delete_layers":["sha256:cd"],"bytes_freed":10,"conflict":null}"#,
        )
        .unwrap();
        assert_eq!(
            p.events,
            [
                RmiEventDto::Untagged("bb:1".into()),
                RmiEventDto::Deleted("sha256:ab".into())
            ]
        );
        assert_eq!(p.bytes_freed, 10);
        let p: PlanDto = decode("plan", r#"{"conflict":"conflict: unable to delete"}"#).unwrap();
        assert_eq!(p.conflict.as_deref(), Some("conflict: unable to delete"));
        assert!(decode::<PlanDto>("rmi plan", "[")
            .unwrap_err()
            .to_string()
            .starts_with("rmi plan: invalid response"));
    }

    #[test]
    fn trees_decode() {
        let t: TreeDto = decode(
            "tree",
            r#"{"layers":[{"index":0,"label":"sha256:a","changes":[["/etc/passwd","A"]]}],
                "merged":[{"path":"/etc/passwd","kind":"file","size":5,"mode":420,"uid":0,"gid":0,
                  "mtime":0,"provider":0,"implied":false,"link":null,"target":null}],
                "shadowed":{},"efficiency":{"score":1.0,"wasted_bytes":0,"size_bytes":5,
                  "user_size_bytes":0,"inefficient":[]}}"#,
        )
        .unwrap();
        assert_eq!(t.layers[0].changes[0], ("/etc/passwd".into(), "A".into()));
        assert_eq!(t.merged[0].mode, 0o644);
        assert!(t.markers.is_empty());
    }

    #[test]
    fn events_decode_and_read() {
        let e: EventDto = decode(
            "event",
            r#"{"Type":"image","Action":"tag","ID":"sha256:abcdefabcdef0000","Attributes":{"name":"bb:2"},"timeNano":1}"#,
        )
        .unwrap();
        assert_eq!(event_text(&e), "image tag bb:2");
        let e: EventDto = decode(
            "event",
            r#"{"Type":"container","Action":"change","ID":"0123456789abcdef","Attributes":{"path":"/etc/passwd"}}"#,
        )
        .unwrap();
        assert_eq!(event_text(&e), "container change 0123456789ab /etc/passwd");
    }
}
