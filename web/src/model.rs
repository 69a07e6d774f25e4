//! The Images table: the `/api/images` JSON, the rows it shows, and the filters, search, sort,
//! selection and totals over them.
//!
//! Pure and native-testable: no DOM, no clock (callers pass `now`), no network. Texts come from
//! `docker-format`, so the table reads exactly like `docker images` and `strata images`.
//! Totals never add image sizes together: shared layers would count once per image. The disk
//! total is the server's `layers_size` (each stored layer once); the total of a subset of images
//! is the union of their layers when the layers are known, else only their unique bytes.

use crate::wire::ImageSummaryDto;
use docker_format::{human_size, truncate_id};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// One line of the Images table: what `docker images` prints, plus the extra columns.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageRow {
    /// What selecting and deleting this row names: the `repo:tag`, or the image ID for a
    /// dangling image.
    pub key: String,
    /// Repository, or `<none>`.
    pub repository: String,
    /// Tag, or `<none>`.
    pub tag: String,
    /// The first 12 hex digits of the ID.
    pub short_id: String,
    /// The full ID.
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// `3 days ago`.
    pub created: String,
    /// Bytes, for sorting.
    pub size_bytes: u64,
    /// `4.27MB`.
    pub size: String,
    /// Shared bytes.
    pub shared_bytes: u64,
    /// `1.2MB`.
    pub shared: String,
    /// Unique bytes.
    pub unique_bytes: u64,
    /// `3MB`.
    pub unique: String,
    /// Containers using the image.
    pub containers: u64,
    /// No tag.
    pub dangling: bool,
}

/// One row per tag, one `<none>` row for an untagged image, in the server's order.
pub fn image_rows(images: &[ImageSummaryDto], now: i64) -> Vec<ImageRow> {
    let mut rows = Vec::new();
    for image in images {
        let row = |key: &str, repository: &str, tag: &str| ImageRow {
            key: key.to_string(),
            repository: repository.to_string(),
            tag: tag.to_string(),
            short_id: truncate_id(&image.id),
            id: image.id.clone(),
            created_at: image.created,
            created: docker_format::created_since(image.created, now),
            size_bytes: image.size,
            size: human_size(image.size),
            shared_bytes: image.shared_size,
            shared: human_size(image.shared_size),
            // UNIQUE: exactly what removing the image frees (its removal's plan agrees)
            unique_bytes: image.removal_frees,
            unique: human_size(image.removal_frees),
            containers: image.containers,
            dangling: image.dangling(),
        };
        if image.repo_tags.is_empty() {
            rows.push(row(&image.id, "<none>", "<none>"));
        }
        for reference in &image.repo_tags {
            let (repository, tag) = split_tag(reference);
            rows.push(row(reference, repository, tag));
        }
    }
    rows
}

/// `localhost:5000/a/b:1` → (`localhost:5000/a/b`, `1`): the tag follows the last `:` after
/// the last `/`, so a registry port is not a tag.
pub fn split_tag(reference: &str) -> (&str, &str) {
    let name = reference.split_once('@').map_or(reference, |(n, _)| n);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], &name[last_slash + i + 1..]),
        None => (name, "<none>"),
    }
}

/// The status filter chips.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Status {
    /// Every image.
    #[default]
    All,
    /// Used by at least one container.
    InUse,
    /// Used by no container (tagged or not).
    Unused,
    /// No tag.
    Dangling,
}

impl Status {
    /// The four, in chip order.
    pub const ALL: [Status; 4] = [Status::All, Status::InUse, Status::Unused, Status::Dangling];

    /// The chip's label.
    pub fn label(self) -> &'static str {
        match self {
            Status::All => "All",
            Status::InUse => "In use",
            Status::Unused => "Unused",
            Status::Dangling => "Dangling",
        }
    }

    fn keeps(self, row: &ImageRow) -> bool {
        match self {
            Status::All => true,
            Status::InUse => row.containers > 0,
            Status::Unused => row.containers == 0,
            Status::Dangling => row.dangling,
        }
    }
}

/// A sortable column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// REPOSITORY.
    Repository,
    /// TAG.
    Tag,
    /// IMAGE ID.
    Id,
    /// CREATED.
    Created,
    /// SIZE.
    Size,
    /// SHARED.
    Shared,
    /// UNIQUE.
    Unique,
    /// CONTAINERS.
    Containers,
}

impl Column {
    /// Every column, in table order.
    pub const ALL: [Column; 8] = [
        Column::Repository,
        Column::Tag,
        Column::Id,
        Column::Created,
        Column::Size,
        Column::Shared,
        Column::Unique,
        Column::Containers,
    ];

    /// The header text.
    pub fn header(self) -> &'static str {
        match self {
            Column::Repository => "REPOSITORY",
            Column::Tag => "TAG",
            Column::Id => "IMAGE ID",
            Column::Created => "CREATED",
            Column::Size => "SIZE",
            Column::Shared => "SHARED",
            Column::Unique => "UNIQUE",
            Column::Containers => "CONTAINERS",
        }
    }

    /// Right-aligned numbers.
    pub fn numeric(self) -> bool {
        matches!(
            self,
            Column::Size | Column::Shared | Column::Unique | Column::Containers
        )
    }

    /// The direction a first click sorts in: biggest and newest first for numbers and dates.
    pub fn first_direction(self) -> Dir {
        if self.numeric() || self == Column::Created {
            Dir::Desc
        } else {
            Dir::Asc
        }
    }

    fn compare(self, a: &ImageRow, b: &ImageRow) -> Ordering {
        match self {
            Column::Repository => a.repository.cmp(&b.repository),
            Column::Tag => a.tag.cmp(&b.tag),
            Column::Id => a.id.cmp(&b.id),
            Column::Created => a.created_at.cmp(&b.created_at),
            Column::Size => a.size_bytes.cmp(&b.size_bytes),
            Column::Shared => a.shared_bytes.cmp(&b.shared_bytes),
            Column::Unique => a.unique_bytes.cmp(&b.unique_bytes),
            Column::Containers => a.containers.cmp(&b.containers),
        }
    }
}

/// Sort direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Smallest first.
    Asc,
    /// Biggest first.
    Desc,
}

/// What the table shows: status chip, search text, sort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The status chip.
    pub status: Status,
    /// Case-insensitive text matched against `repo:tag`, the ID and labels.
    pub search: String,
    /// Column and direction.
    pub sort: (Column, Dir),
}

impl Default for Query {
    fn default() -> Self {
        Query {
            status: Status::All,
            search: String::new(),
            sort: (Column::Created, Dir::Desc),
        }
    }
}

impl Query {
    /// Clicking a header: the same column flips direction, another starts at its first one.
    pub fn click(&mut self, column: Column) {
        self.sort = if self.sort.0 == column {
            let flipped = match self.sort.1 {
                Dir::Asc => Dir::Desc,
                Dir::Desc => Dir::Asc,
            };
            (column, flipped)
        } else {
            (column, column.first_direction())
        };
    }

    /// The `aria-sort` value of a header.
    pub fn aria_sort(&self, column: Column) -> &'static str {
        match self.sort {
            (c, Dir::Asc) if c == column => "ascending",
            (c, Dir::Desc) if c == column => "descending",
            _ => "none",
        }
    }

    fn matches(&self, row: &ImageRow, labels: Option<&BTreeMap<String, String>>) -> bool {
        let needle = self.search.trim().to_lowercase();
        if needle.is_empty() {
            return true;
        }
        let hex = row.id.strip_prefix("sha256:").unwrap_or(&row.id);
        let hay = format!("{}:{}", row.repository, row.tag).to_lowercase();
        hay.contains(&needle)
            || hex.starts_with(needle.strip_prefix("sha256:").unwrap_or(&needle))
            || labels.is_some_and(|l| {
                l.iter()
                    .any(|(k, v)| format!("{k}={v}").to_lowercase().contains(&needle))
            })
    }
}

/// The rows to show, filtered and sorted. Ties keep the server's order (newest first), and
/// dangling rows go after tagged ones when the sort key ties, as lazydocker does.
pub fn table(images: &[ImageSummaryDto], now: i64, query: &Query) -> Vec<ImageRow> {
    let labels: BTreeMap<&str, &BTreeMap<String, String>> =
        images.iter().map(|i| (i.id.as_str(), &i.labels)).collect();
    let mut rows: Vec<ImageRow> = image_rows(images, now)
        .into_iter()
        .filter(|r| query.status.keeps(r))
        .filter(|r| query.matches(r, labels.get(r.id.as_str()).copied()))
        .collect();
    let (column, dir) = query.sort;
    rows.sort_by(|a, b| {
        let primary = match dir {
            Dir::Asc => column.compare(a, b),
            Dir::Desc => column.compare(b, a),
        };
        primary.then(a.dangling.cmp(&b.dangling))
    });
    rows
}

/// Rows per page of the images table: a choice of sizes, or every row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    /// Rows per page; `None` shows every row on one page.
    pub size: Option<usize>,
    /// The page (0-based); clamped to the pages there are.
    pub page: usize,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            size: Some(100),
            page: 0,
        }
    }
}

/// The page sizes offered, `None` being "All".
pub const PAGE_SIZES: [Option<usize>; 4] = [Some(50), Some(100), Some(250), None];

/// One page of a table of `total` rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// First row index shown.
    pub start: usize,
    /// One past the last row shown.
    pub end: usize,
    /// The page shown (0-based, after clamping).
    pub page: usize,
    /// How many pages there are (at least 1).
    pub pages: usize,
}

impl Page {
    /// `101–200 of 1,000 rows`.
    pub fn label(&self, total: usize) -> String {
        if total == 0 {
            return "No rows".into();
        }
        format!(
            "{}–{} of {} {}",
            thousands(self.start + 1),
            thousands(self.end),
            thousands(total),
            if total == 1 { "row" } else { "rows" }
        )
    }
}

/// The rows of `paging` among `total`.
pub fn page(total: usize, paging: Paging) -> Page {
    let size = paging.size.unwrap_or(total).max(1);
    let pages = total.div_ceil(size).max(1);
    let page = paging.page.min(pages - 1);
    let start = (page * size).min(total);
    Page {
        start,
        end: (start + size).min(total),
        page,
        pages,
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How many images each chip would show (for the chip badges).
pub fn status_counts(images: &[ImageSummaryDto]) -> [usize; 4] {
    let mut c = [images.len(), 0, 0, 0];
    for i in images {
        if i.in_use() {
            c[1] += 1;
        } else {
            c[2] += 1;
        }
        if i.dangling() {
            c[3] += 1;
        }
    }
    c
}

/// The footer line under the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Totals {
    /// Distinct images among the shown rows.
    pub images: usize,
    /// Shown rows.
    pub rows: usize,
    /// Bytes the shown images occupy, each layer once (when their layers are known), else
    /// `None`.
    pub shown_bytes: Option<u64>,
    /// Σ of the shown rows' UNIQUE column (each image's `removal_frees`, bytes as stored):
    /// what removing all of them frees at least.
    pub shown_unique: u64,
    /// What the store takes on disk: layers as stored, configs, manifests (`stored_bytes` of
    /// `/api/disk-usage`).
    pub disk_bytes: Option<u64>,
}

impl Totals {
    /// `3 images (4 rows) · 5.7kB in their layers, each counted once · 2.7kB in the UNIQUE
    /// column · store total 6.1kB on disk`.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{} image{} ({} row{})",
            self.images,
            plural(self.images),
            self.rows,
            plural(self.rows)
        );
        if let Some(b) = self.shown_bytes {
            out.push_str(&format!(
                " · {} in their layers, each counted once",
                human_size(b)
            ));
        }
        out.push_str(&format!(
            " · {} in the UNIQUE column",
            human_size(self.shown_unique)
        ));
        if let Some(d) = self.disk_bytes {
            out.push_str(&format!(" · store total {} on disk", human_size(d)));
        }
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Totals of the shown rows. `layers_of` maps image IDs to their layers (diff ID, size) when
/// known; `disk_bytes` is what the store takes on disk (`stored_bytes`). The unique total adds
/// up the UNIQUE column, so the footer and the column agree in measure.
pub fn totals(
    rows: &[ImageRow],
    images: &[ImageSummaryDto],
    layers_of: Option<&BTreeMap<String, Vec<(String, u64)>>>,
    disk_bytes: Option<u64>,
) -> Totals {
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let shown_unique = images
        .iter()
        .filter(|i| ids.contains(i.id.as_str()))
        .map(|i| i.removal_frees)
        .sum();
    let shown_bytes = layers_of.and_then(|map| {
        let mut layers: BTreeMap<&str, u64> = BTreeMap::new();
        for id in &ids {
            for (diff_id, size) in map.get(*id)? {
                layers.insert(diff_id, *size);
            }
        }
        Some(layers.values().sum())
    });
    Totals {
        images: ids.len(),
        rows: rows.len(),
        shown_bytes,
        shown_unique,
        disk_bytes,
    }
}

/// The selection after a refresh: keys whose row is gone are dropped, so a bulk action never
/// names something no longer listed.
pub fn prune_selection(selected: &BTreeSet<String>, rows: &[ImageRow]) -> BTreeSet<String> {
    let keys: BTreeSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    selected
        .iter()
        .filter(|k| keys.contains(k.as_str()))
        .cloned()
        .collect()
}

/// The header checkbox: all shown rows selected, some, or none.
pub fn select_all_state(selected: &BTreeSet<String>, rows: &[ImageRow]) -> (bool, bool) {
    let n = rows.iter().filter(|r| selected.contains(&r.key)).count();
    (n > 0 && n == rows.len(), n > 0 && n < rows.len())
}

/// A pull reference as typed: `busybox` → `busybox:latest` (the form says the tag defaults to
/// `latest`); returns `(fromImage, tag)` for `POST /images/create`.
pub fn pull_params(input: &str) -> Result<(String, String), String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("type an image name, like busybox or localhost:5000/team/app:1.0".into());
    }
    if s.contains(char::is_whitespace) {
        return Err(format!("invalid reference format: {s:?} contains spaces"));
    }
    image_ref::Reference::parse_normalized(s).map_err(|e| e.to_string())?;
    if let Some((name, digest)) = s.split_once('@') {
        return Ok((name.to_string(), digest.to_string()));
    }
    let (name, tag) = split_tag(s);
    let tag = if tag == "<none>" { "latest" } else { tag };
    if name.is_empty() || tag.is_empty() {
        return Err(format!("invalid reference format: {s:?}"));
    }
    Ok((name.to_string(), tag.to_string()))
}

/// Checks a tag typed into the Tag form (`repo[:tag]`) with the store's own reference grammar
/// (`image-ref`, as the server will), so the form says what the server would answer.
pub fn check_tag_target(input: &str) -> Result<String, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("type a new name, like myapp:1.0".into());
    }
    let r = image_ref::Reference::parse_normalized(s).map_err(|e| e.to_string())?;
    if r.digest().is_some() {
        return Err(format!(
            "invalid reference format: {s:?} names a digest, not a tag"
        ));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_splits_and_clamps() {
        let p = |size, page| Paging { size, page };
        assert_eq!(
            page(1000, Paging::default()),
            Page {
                start: 0,
                end: 100,
                page: 0,
                pages: 10
            }
        );
        assert_eq!(
            page(1000, p(Some(250), 3)),
            Page {
                start: 750,
                end: 1000,
                page: 3,
                pages: 4
            }
        );
        // a page past the end (rows went away) shows the last one
        assert_eq!(
            page(120, p(Some(50), 9)),
            Page {
                start: 100,
                end: 120,
                page: 2,
                pages: 3
            }
        );
        assert_eq!(
            page(1000, p(None, 4)),
            Page {
                start: 0,
                end: 1000,
                page: 0,
                pages: 1
            }
        );
        assert_eq!(
            page(0, Paging::default()),
            Page {
                start: 0,
                end: 0,
                page: 0,
                pages: 1
            }
        );
        assert_eq!(
            page(1000, p(Some(100), 1)).label(1000),
            "101–200 of 1,000 rows"
        );
        assert_eq!(page(1, Paging::default()).label(1), "1–1 of 1 row");
        assert_eq!(page(0, Paging::default()).label(0), "No rows");
    }

    const NOW: i64 = 1_700_000_000;

    fn image(id_hex: char, tags: &[&str], age: i64, size: u64) -> ImageSummaryDto {
        ImageSummaryDto {
            id: format!("sha256:{}", id_hex.to_string().repeat(64)),
            repo_tags: tags.iter().map(|s| s.to_string()).collect(),
            created: NOW - age,
            size,
            unique_size: size,
            ..Default::default()
        }
    }

    /// Renders rows as `docker images` columns, one line each, to compare as text.
    fn lines(rows: &[ImageRow]) -> String {
        rows.iter()
            .map(|r| {
                format!(
                    "{} | {} | {} | {} | {}\n",
                    r.repository, r.tag, r.short_id, r.created, r.size
                )
            })
            .collect()
    }

    fn keys(rows: &[ImageRow]) -> Vec<String> {
        rows.iter().map(|r| r.key.clone()).collect()
    }

    fn parse_images(body: &str) -> Result<Vec<ImageSummaryDto>, String> {
        crate::wire::decode("cannot list images", body).map_err(String::from)
    }

    #[test]
    fn parses_the_api_shape() {
        let body = r#"[
            {"id":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
             "parent":null,"repo_tags":["bb:1","localhost:5000/x/bb:latest"],"repo_digests":[],
             "created":1699999000,"size":4270000,"shared_size":1200,"unique_size":4268800,
             "containers":2,"labels":{"a":"b"}},
            {"id":"sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
             "repo_tags":[],"created":1600000000,"size":0,"shared_size":0,"containers":0}
        ]"#;
        let images = parse_images(body).unwrap();
        assert_eq!(images.len(), 2);
        assert_eq!(images[0].shared_size, 1200);
        assert_eq!(images[0].unique_size, 4268800);
        assert_eq!(images[0].containers, 2);
        assert_eq!(images[0].labels["a"], "b");
        assert_eq!(
            lines(&image_rows(&images, NOW)),
            "bb | 1 | 0123456789ab | 16 minutes ago | 4.27MB\n\
             localhost:5000/x/bb | latest | 0123456789ab | 16 minutes ago | 4.27MB\n\
             <none> | <none> | ffffffffffff | 3 years ago | 0B\n"
        );
        let rows = image_rows(&images, NOW);
        assert_eq!(rows[0].key, "bb:1");
        assert_eq!(
            rows[2].key, images[1].id,
            "a dangling row is named by its ID"
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
            lines(&rows),
            "a | 1 | aaaaaaaaaaaa | Less than a second ago | 0B\n\
             b | 1 | bbbbbbbbbbbb | 1 second ago | 1.23kB\n\
             c | 1 | cccccccccccc | 2 hours ago | 1MB\n"
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

    fn store() -> Vec<ImageSummaryDto> {
        let mut used = image('a', &["web:1", "web:latest"], 100, 5_000);
        used.containers = 1;
        used.shared_size = 3_000;
        used.unique_size = 2_000;
        let mut base = image('b', &["base:1"], 5_000, 3_000);
        base.shared_size = 3_000;
        base.unique_size = 0;
        base.labels.insert("team".into(), "infra".into());
        let mut old = image('c', &[], 9_000, 700);
        // what its removal frees: its layer as stored (a tar, larger than the 700 bytes of
        // its files) and its config
        old.removal_frees = 1_200;
        vec![used, base, old]
    }

    #[test]
    fn status_chips_filter() {
        let images = store();
        let q = |status| Query {
            status,
            ..Default::default()
        };
        assert_eq!(
            keys(&table(&images, NOW, &q(Status::All))),
            ["web:1", "web:latest", "base:1", &images[2].id]
        );
        assert_eq!(
            keys(&table(&images, NOW, &q(Status::InUse))),
            ["web:1", "web:latest"]
        );
        assert_eq!(
            keys(&table(&images, NOW, &q(Status::Unused))),
            ["base:1", &images[2].id]
        );
        assert_eq!(
            keys(&table(&images, NOW, &q(Status::Dangling))),
            [images[2].id.as_str()]
        );
        assert_eq!(status_counts(&images), [3, 1, 2, 1]);
    }

    #[test]
    fn search_matches_names_ids_and_labels() {
        let images = store();
        let q = |s: &str| Query {
            search: s.into(),
            ..Default::default()
        };
        assert_eq!(keys(&table(&images, NOW, &q("WEB:L"))), ["web:latest"]);
        assert_eq!(keys(&table(&images, NOW, &q("bbbb"))), ["base:1"]);
        assert_eq!(
            keys(&table(&images, NOW, &q("sha256:cc"))),
            [images[2].id.as_str()]
        );
        assert_eq!(keys(&table(&images, NOW, &q("team=infra"))), ["base:1"]);
        assert_eq!(
            keys(&table(&images, NOW, &q("<none>"))),
            [images[2].id.as_str()]
        );
        assert!(table(&images, NOW, &q("nothing")).is_empty());
    }

    #[test]
    fn sorting_by_any_column() {
        let images = store();
        let mut q = Query::default();
        assert_eq!(q.aria_sort(Column::Created), "descending");
        assert_eq!(q.aria_sort(Column::Size), "none");
        q.click(Column::Size);
        assert_eq!(q.sort, (Column::Size, Dir::Desc));
        assert_eq!(
            keys(&table(&images, NOW, &q)),
            ["web:1", "web:latest", "base:1", &images[2].id]
        );
        q.click(Column::Size);
        assert_eq!(q.aria_sort(Column::Size), "ascending");
        assert_eq!(
            keys(&table(&images, NOW, &q)),
            [images[2].id.as_str(), "base:1", "web:1", "web:latest"]
        );
        q.click(Column::Repository);
        assert_eq!(q.sort, (Column::Repository, Dir::Asc));
        // "<none>" sorts before letters by byte order; ties put dangling last
        assert_eq!(
            keys(&table(&images, NOW, &q)),
            [images[2].id.as_str(), "base:1", "web:1", "web:latest"]
        );
        q.click(Column::Tag);
        assert_eq!(
            keys(&table(&images, NOW, &q)),
            ["web:1", "base:1", &images[2].id, "web:latest"]
        );
        q.click(Column::Unique);
        // by what removal frees: only the unused, unshared image frees anything
        assert_eq!(keys(&table(&images, NOW, &q))[0], images[2].id.as_str());
        q.click(Column::Containers);
        assert_eq!(keys(&table(&images, NOW, &q))[0], "web:1");
        q.click(Column::Shared);
        q.click(Column::Shared);
        assert_eq!(keys(&table(&images, NOW, &q))[0], images[2].id);
        q.click(Column::Id);
        assert_eq!(keys(&table(&images, NOW, &q))[0], "web:1");
    }

    #[test]
    fn totals_never_count_a_shared_layer_twice() {
        let images = store();
        let rows = table(&images, NOW, &Query::default());
        let mut layers = BTreeMap::new();
        layers.insert(
            images[0].id.clone(),
            vec![("L1".to_string(), 3_000), ("L2".to_string(), 2_000)],
        );
        layers.insert(images[1].id.clone(), vec![("L1".to_string(), 3_000)]);
        layers.insert(images[2].id.clone(), vec![("L3".to_string(), 700)]);
        let t = totals(&rows, &images, Some(&layers), Some(6_100));
        assert_eq!(t.images, 3);
        assert_eq!(t.rows, 4);
        assert_eq!(t.shown_bytes, Some(5_700), "L1 once, not 3000 twice");
        // the UNIQUE column's own measure (bytes as stored), not the sizes' unique part
        assert_eq!(t.shown_unique, 1_200);
        assert_eq!(
            t.text(),
            "3 images (4 rows) · 5.7kB in their layers, each counted once · 1.2kB in the UNIQUE column · store total 6.1kB on disk"
        );
        // without layer lists: only the unique bytes, never a sum of sizes
        let t = totals(&rows[..1], &images, None, None);
        assert_eq!(t.shown_bytes, None);
        assert_eq!(t.text(), "1 image (1 row) · 0B in the UNIQUE column");
        // a layer map missing an image gives no subset total rather than a wrong one
        layers.remove(&images[2].id);
        assert_eq!(
            totals(&rows, &images, Some(&layers), None).shown_bytes,
            None
        );
    }

    #[test]
    fn selection_follows_the_rows() {
        let images = store();
        let rows = table(&images, NOW, &Query::default());
        let sel: BTreeSet<String> = ["web:1".to_string(), "gone:1".to_string()].into();
        assert_eq!(
            prune_selection(&sel, &rows),
            BTreeSet::from(["web:1".to_string()])
        );
        assert_eq!(select_all_state(&sel, &rows), (false, true));
        let all: BTreeSet<String> = rows.iter().map(|r| r.key.clone()).collect();
        assert_eq!(select_all_state(&all, &rows), (true, false));
        assert_eq!(select_all_state(&BTreeSet::new(), &rows), (false, false));
    }

    #[test]
    fn pull_references() {
        assert_eq!(
            pull_params("busybox").unwrap(),
            ("busybox".into(), "latest".into())
        );
        assert_eq!(
            pull_params(" localhost:5000/a/b:1.2 ").unwrap(),
            ("localhost:5000/a/b".into(), "1.2".into())
        );
        assert_eq!(
            pull_params(
                "bb@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            )
            .unwrap(),
            (
                "bb".into(),
                "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into()
            )
        );
        assert!(pull_params("")
            .unwrap_err()
            .starts_with("type an image name"));
        assert!(pull_params("a b").is_err());
        assert_eq!(
            pull_params("bb@sha256:abc").unwrap_err(),
            "invalid reference format"
        );
    }

    #[test]
    fn tag_targets() {
        assert_eq!(check_tag_target("bb:2").unwrap(), "bb:2");
        // the grammar and texts of image-ref, which the server answers with
        assert_eq!(
            check_tag_target("localhost:5000/Team/x:1").unwrap_err(),
            image_ref::Reference::parse_normalized("localhost:5000/Team/x:1")
                .unwrap_err()
                .to_string()
        );
        assert_eq!(
            check_tag_target("UPPER").unwrap_err(),
            "invalid reference format: repository name (library/UPPER) must be lowercase"
        );
        assert!(check_tag_target(
            "bb@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        )
        .is_err());
        assert!(check_tag_target("a/../b").is_err());
        assert!(check_tag_target("localhost:5000/team/x:1").is_ok());
        assert!(check_tag_target("bb:-x").is_err());
        assert!(check_tag_target("").is_err());
        assert!(check_tag_target("UPPER").is_err());
    }
}
