//! moby's JSON message stream for pull and push.

use serde_json::{json, Value};

/// One message of moby's JSON progress stream (pull, push): `status`, the `id` it is about
/// (a layer's 12 hex digits or a tag), and for a transfer under way `progressDetail` with
/// `current`/`total` and the `progress` bar Docker draws; a layer line without numbers
/// carries an empty `progressDetail`.
pub fn progress_message(
    id: Option<&str>,
    status: &str,
    current: Option<u64>,
    total: Option<u64>,
) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("status".into(), json!(status));
    let layer = id.is_some_and(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()));
    if let (Some(cur), Some(total)) = (current, total) {
        m.insert(
            "progressDetail".into(),
            json!({ "current": cur, "total": total }),
        );
        let width = 50u64;
        let filled = (cur.min(total) * width).checked_div(total).unwrap_or(0);
        let bar = format!(
            "[{}>{}] {}/{}",
            "=".repeat(filled as usize),
            " ".repeat((width - filled.min(width - 1) - 1) as usize),
            docker_format::human_size(cur),
            docker_format::human_size(total)
        );
        m.insert("progress".into(), json!(bar));
    } else if layer {
        m.insert("progressDetail".into(), json!({}));
    }
    if let Some(id) = id {
        m.insert("id".into(), json!(id));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(
            progress_message(Some("0123456789ab"), "Pulling fs layer", None, None),
            json!({"status": "Pulling fs layer", "progressDetail": {}, "id": "0123456789ab"})
        );
        assert_eq!(
            progress_message(Some("1"), "Pulling from library/bb", None, None),
            json!({"status": "Pulling from library/bb", "id": "1"})
        );
        let m = progress_message(Some("0123456789ab"), "Downloading", Some(50), Some(100));
        assert_eq!(m["progressDetail"], json!({"current": 50, "total": 100}));
        assert!(m["progress"]
            .as_str()
            .unwrap()
            .starts_with("[=========================>"));
    }
}
