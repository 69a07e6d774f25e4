//! The dashboard's data model: the `/api/images` JSON, and the rows the Images table shows.
//!
//! Pure and native-testable: no DOM, no clock (callers pass `now`), no network. Texts come from
//! `docker-format`, so the table reads exactly like `docker images` and `strata images`.

use docker_format::{human_duration, human_size, truncate_id};
use serde::Deserialize;

/// One image as `GET /api/images` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ImageSummary {
    /// `sha256:<64 hex>`, the config digest.
    pub id: String,
    /// Familiar `name:tag` references; empty for a dangling image.
    #[serde(default)]
    pub repo_tags: Vec<String>,
    /// Unix seconds.
    pub created: i64,
    /// Total uncompressed bytes of the image's layers.
    pub size: u64,
    /// Bytes of layers this image shares with other images.
    #[serde(default)]
    pub shared_size: u64,
    /// Containers using the image.
    #[serde(default)]
    pub containers: u64,
}

/// One line of the Images table: what `docker images` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRow {
    /// Repository, or `<none>`.
    pub repository: String,
    /// Tag, or `<none>`.
    pub tag: String,
    /// The first 12 hex digits of the ID.
    pub short_id: String,
    /// The full ID, for a tooltip.
    pub id: String,
    /// `3 days ago`.
    pub created: String,
    /// `4.27MB`.
    pub size: String,
}

/// The body of a successful `GET /api/images`.
pub fn parse_images(body: &str) -> Result<Vec<ImageSummary>, String> {
    serde_json::from_str(body)
        .map_err(|e| format!("cannot list images: invalid response from server: {e}"))
}

/// The line shown for a failed `GET /api/images`: the server's Docker-style `{"message":…}`
/// when it sent one, else the HTTP status.
pub fn http_error(status: u16, status_text: &str, body: &str) -> String {
    #[derive(Deserialize)]
    struct Message {
        message: String,
    }
    match serde_json::from_str::<Message>(body) {
        Ok(m) if !m.message.trim().is_empty() => {
            format!("cannot list images: {}", m.message.trim())
        }
        _ => format!("cannot list images: server answered {status} {status_text}")
            .trim_end()
            .to_string(),
    }
}

/// The line shown when the request did not get an answer at all.
pub fn network_error(err: &str) -> String {
    format!("cannot list images: {err}")
}

/// One row per tag, one `<none>` row for an untagged image, in the server's order.
pub fn image_rows(images: &[ImageSummary], now: i64) -> Vec<ImageRow> {
    let mut rows = Vec::new();
    for image in images {
        let row = |repository: &str, tag: &str| ImageRow {
            repository: repository.to_string(),
            tag: tag.to_string(),
            short_id: truncate_id(&image.id),
            id: image.id.clone(),
            created: format!("{} ago", human_duration(now - image.created)),
            size: human_size(image.size),
        };
        if image.repo_tags.is_empty() {
            rows.push(row("<none>", "<none>"));
        }
        for reference in &image.repo_tags {
            let (repository, tag) = split_tag(reference);
            rows.push(row(repository, tag));
        }
    }
    rows
}

/// `localhost:5000/a/b:1` → (`localhost:5000/a/b`, `1`): the tag follows the last `:` after
/// the last `/`, so a registry port is not a tag.
fn split_tag(reference: &str) -> (&str, &str) {
    let name = reference.split_once('@').map_or(reference, |(n, _)| n);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], &name[last_slash + i + 1..]),
        None => (name, "<none>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn image(id_hex: char, tags: &[&str], age: i64, size: u64) -> ImageSummary {
        ImageSummary {
            id: format!("sha256:{}", id_hex.to_string().repeat(64)),
            repo_tags: tags.iter().map(|s| s.to_string()).collect(),
            created: NOW - age,
            size,
            shared_size: 0,
            containers: 0,
        }
    }

    /// Renders rows as `docker images` columns, one line each, to compare as text.
    fn table(rows: &[ImageRow]) -> String {
        rows.iter()
            .map(|r| {
                format!(
                    "{} | {} | {} | {} | {}\n",
                    r.repository, r.tag, r.short_id, r.created, r.size
                )
            })
            .collect()
    }

    #[test]
    fn parses_the_api_shape() {
        let body = r#"[
            {"id":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
             "repo_tags":["bb:1","localhost:5000/x/bb:latest"],"created":1699999000,
             "size":4270000,"shared_size":1200,"containers":2},
            {"id":"sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
             "repo_tags":[],"created":1600000000,"size":0,"shared_size":0,"containers":0}
        ]"#;
        let images = parse_images(body).unwrap();
        assert_eq!(images.len(), 2);
        assert_eq!(images[0].shared_size, 1200);
        assert_eq!(images[0].containers, 2);
        assert_eq!(
            table(&image_rows(&images, NOW)),
            "bb | 1 | 0123456789ab | 16 minutes ago | 4.27MB\n\
             localhost:5000/x/bb | latest | 0123456789ab | 16 minutes ago | 4.27MB\n\
             <none> | <none> | ffffffffffff | 3 years ago | 0B\n"
        );
    }

    #[test]
    fn rejects_a_body_that_is_not_a_list() {
        let err = parse_images(r#"{"message":"x"}"#).unwrap_err();
        assert!(
            err.starts_with("cannot list images: invalid response from server: "),
            "{err}"
        );
    }

    #[test]
    fn sizes_and_ids_read_like_docker() {
        let rows = image_rows(
            &[
                image('a', &["a:1"], 0, 0),
                image('b', &["b:1"], 1, 1_234),
                image('c', &["c:1"], 7200, 1_000_000),
            ],
            NOW,
        );
        assert_eq!(
            table(&rows),
            "a | 1 | aaaaaaaaaaaa | Less than a second ago | 0B\n\
             b | 1 | bbbbbbbbbbbb | 1 second ago | 1.23kB\n\
             c | 1 | cccccccccccc | 2 hours ago | 1MB\n"
        );
        assert_eq!(
            image_rows(&[image('d', &["d:1"], 0, 1_200)], NOW)[0].size,
            "1.2kB"
        );
        assert_eq!(rows[0].id, format!("sha256:{}", "a".repeat(64)));
    }

    #[test]
    fn tags_and_repositories() {
        assert_eq!(split_tag("bb:1"), ("bb", "1"));
        assert_eq!(
            split_tag("localhost:5000/bb"),
            ("localhost:5000/bb", "<none>")
        );
        assert_eq!(
            split_tag("localhost:5000/a/bb:v2"),
            ("localhost:5000/a/bb", "v2")
        );
        assert_eq!(split_tag("bb@sha256:abc"), ("bb", "<none>"));
    }

    #[test]
    fn error_lines() {
        assert_eq!(
            http_error(404, "Not Found", r#"{"message":"page not found"}"#),
            "cannot list images: page not found"
        );
        assert_eq!(
            http_error(502, "Bad Gateway", "<html>"),
            "cannot list images: server answered 502 Bad Gateway"
        );
        assert_eq!(
            http_error(500, "", ""),
            "cannot list images: server answered 500"
        );
        assert_eq!(
            network_error("TypeError: Failed to fetch"),
            "cannot list images: TypeError: Failed to fetch"
        );
    }
}
