//! moby's `Volume` (`docker volume inspect`, `GET /volumes`), for a local volume.

use serde_json::{json, Value};

/// A local volume's JSON: its name, the directory mounted, when it was made (RFC 3339).
pub fn volume_json(name: &str, mountpoint: &str, created: &str) -> Value {
    json!({
        "CreatedAt": created,
        "Driver": "local",
        "Labels": null,
        "Mountpoint": mountpoint,
        "Name": name,
        "Options": null,
        "Scope": "local",
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_volume() {
        let v = super::volume_json("data", "/s/volumes/data/_data", "2026-01-01T00:00:00Z");
        assert_eq!(v["Driver"], "local");
        assert_eq!(v["Scope"], "local");
        assert_eq!(v["Mountpoint"], "/s/volumes/data/_data");
    }
}
