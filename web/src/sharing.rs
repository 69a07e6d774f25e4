//! The sharing page: which image uses which layer (an images × layers matrix with each
//! layer's refcount), shared and unique bytes per image, and the disk-usage chart.
//!
//! Pure. The disk total is the store's `layers_size` (each layer once); the split into unique
//! and shared bytes comes from the per-image unique sizes, so the segments add up to the total
//! and nothing is counted twice.

use crate::wire::{
    ContainerDto, DiskUsageDto, ImageSummaryDto, LayerDto, LayerMapDto, LayerUsageDto,
};
use docker_format::{human_size, truncate_id};
use std::collections::BTreeMap;

/// One layer column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// `sha256:…`.
    pub diff_id: String,
    /// 12 hex.
    pub short_id: String,
    /// Bytes.
    pub size: u64,
    /// `1.2MB`.
    pub size_text: String,
    /// Images using it (from the server's refcount).
    pub refcount: u64,
}

/// One image row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Image ID.
    pub id: String,
    /// `bb:1, bb:latest` or `<none>:<none>`.
    pub name: String,
    /// Shared bytes.
    pub shared: String,
    /// Unique bytes.
    pub unique: String,
    /// Percent of the image's size that is shared (for its bar).
    pub shared_percent: u8,
    /// Per column: the layer's position in this image's stack (1 = base), if it has it.
    pub cells: Vec<Option<usize>>,
}

/// The matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    /// Layers, most shared first (then biggest).
    pub columns: Vec<Column>,
    /// Images, by name.
    pub rows: Vec<Row>,
}

fn percent(part: u64, whole: u64) -> u8 {
    if whole == 0 {
        0
    } else {
        ((part as f64 / whole as f64) * 100.0)
            .round()
            .clamp(0.0, 100.0) as u8
    }
}

fn name(i: &ImageSummaryDto) -> String {
    if i.repo_tags.is_empty() {
        "<none>:<none>".into()
    } else {
        i.repo_tags.join(", ")
    }
}

/// Each of `images`' layer stacks (base first) from the one-answer layer map; images the map
/// does not know (removed meanwhile) are left out.
pub fn stacks<'a>(
    map: &LayerMapDto,
    images: impl IntoIterator<Item = &'a ImageSummaryDto>,
) -> BTreeMap<String, Vec<LayerDto>> {
    let by_id: BTreeMap<&str, &LayerUsageDto> =
        map.layers.iter().map(|l| (l.diff_id.as_str(), l)).collect();
    images
        .into_iter()
        .filter_map(|i| {
            let stack = map.images.get(&i.id)?;
            let layers = stack
                .iter()
                .map(|d| {
                    let l = by_id.get(d.as_str());
                    LayerDto {
                        diff_id: d.clone(),
                        size: l.map_or(0, |l| l.size),
                        refcount: l.map_or(0, |l| l.refcount),
                    }
                })
                .collect();
            Some((i.id.clone(), layers))
        })
        .collect()
}

/// The matrix of the images in `rows` (after sorting them as the matrix does): those rows,
/// and as columns the layers they use.
pub fn matrix_page(
    images: &[ImageSummaryDto],
    map: &LayerMapDto,
    rows: std::ops::Range<usize>,
) -> Matrix {
    let mut list: Vec<&ImageSummaryDto> = images.iter().collect();
    list.sort_by_key(|a| (a.dangling(), name(a)));
    let shown: Vec<ImageSummaryDto> = list
        .get(rows.start.min(list.len())..rows.end.min(list.len()))
        .unwrap_or_default()
        .iter()
        .map(|i| (*i).clone())
        .collect();
    matrix(&shown, &stacks(map, &shown))
}

/// Builds the matrix from the images and each image's layers (base first).
pub fn matrix(images: &[ImageSummaryDto], layers: &BTreeMap<String, Vec<LayerDto>>) -> Matrix {
    let mut cols: BTreeMap<&str, Column> = BTreeMap::new();
    for list in layers.values() {
        for l in list {
            cols.entry(&l.diff_id).or_insert_with(|| Column {
                diff_id: l.diff_id.clone(),
                short_id: truncate_id(&l.diff_id),
                size: l.size,
                size_text: human_size(l.size),
                refcount: l.refcount,
            });
        }
    }
    let mut columns: Vec<Column> = cols.into_values().collect();
    columns.sort_by(|a, b| {
        b.refcount
            .cmp(&a.refcount)
            .then(b.size.cmp(&a.size))
            .then_with(|| a.diff_id.cmp(&b.diff_id))
    });
    let mut list: Vec<&ImageSummaryDto> = images.iter().collect();
    list.sort_by_key(|a| (a.dangling(), name(a)));
    let rows = list
        .into_iter()
        .map(|i| {
            let mine = layers.get(&i.id);
            Row {
                id: i.id.clone(),
                name: name(i),
                shared: human_size(i.shared_size),
                unique: human_size(i.unique_size),
                shared_percent: percent(i.shared_size, i.size),
                cells: columns
                    .iter()
                    .map(|c| {
                        mine.and_then(|m| m.iter().position(|l| l.diff_id == c.diff_id))
                            .map(|p| p + 1)
                    })
                    .collect(),
            }
        })
        .collect();
    Matrix { columns, rows }
}

/// One segment of the disk bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// CSS class (`unique`, `shared`, `containers`).
    pub class: &'static str,
    /// Legend text.
    pub label: String,
    /// Bytes.
    pub bytes: u64,
    /// Width in percent of the bar.
    pub percent: u8,
}

/// The disk-usage chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    /// Segments of the bar, adding up to `total`.
    pub segments: Vec<Segment>,
    /// Total of the bar: the layers' files, each layer once, plus the writable layers.
    pub total: u64,
    /// `12MB`.
    pub total_text: String,
    /// What `prune -a` could free, as the server computes it.
    pub reclaimable: String,
    /// Reclaimable in percent of the total (drawn over the bar).
    pub reclaimable_percent: u8,
    /// The lines under the bar.
    pub notes: Vec<String>,
}

/// The chart from `/api/disk-usage`, `/api/containers` and, when known, the bytes the
/// `prune -a` plan frees (`/api/prune-plan?all=1`): that exact figure is drawn as reclaimable,
/// rather than the Docker CLI's formula, which counts the shared layers of images in use too.
pub fn disk(du: &DiskUsageDto, containers: &[ContainerDto], prune_all: Option<u64>) -> Disk {
    let unique: u64 = du
        .images
        .iter()
        .map(|i| i.unique_size)
        .sum::<u64>()
        .min(du.layers_size);
    let shared = du.layers_size - unique;
    let rw: u64 = containers.iter().map(|c| c.size_rw).sum();
    let total = du.layers_size + rw;
    let seg = |class, label: String, bytes| Segment {
        class,
        label,
        bytes,
        percent: percent(bytes, total),
    };
    let segments = vec![
        seg(
            "unique",
            format!("layers only one image uses: {}", human_size(unique)),
            unique,
        ),
        seg(
            "shared",
            format!(
                "layers several images share (stored once): {}",
                human_size(shared)
            ),
            shared,
        ),
        seg(
            "containers",
            format!(
                "writable layers of {} container{}: {}",
                containers.len(),
                if containers.len() == 1 { "" } else { "s" },
                human_size(rw)
            ),
            rw,
        ),
    ];
    let reclaimable = prune_all.unwrap_or(du.reclaimable);
    let naive: u64 = du.images.iter().map(|i| i.size).sum();
    // The bar measures files as Docker does (the images' sizes add up from it); the store's
    // own bytes on disk (layers as tars, configs, manifests) are a separate figure.
    let mut notes = vec![format!(
        "{} image{}, {} in use; their layers hold {} of files, each layer counted once; the store takes {} on disk",
        du.images.len(),
        if du.images.len() == 1 { "" } else { "s" },
        du.active,
        human_size(du.layers_size),
        human_size(du.stored_bytes)
    )];
    if let Some(exact) = prune_all.filter(|e| *e != du.reclaimable) {
        notes.push(format!(
            "reclaimable is what pruning all unused images would free, from its plan ({}); the Docker CLI's formula says {}",
            human_size(exact),
            human_size(du.reclaimable)
        ));
    }
    if naive > du.layers_size {
        notes.push(format!(
            "adding up the images' sizes would say {}: shared layers would count once per image",
            human_size(naive)
        ));
    }
    Disk {
        segments,
        total,
        total_text: human_size(total),
        reclaimable: human_size(reclaimable),
        reclaimable_percent: percent(reclaimable, total),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ImageUsageDto;

    fn layer(c: char, size: u64, refcount: u64) -> LayerDto {
        LayerDto {
            diff_id: format!("sha256:{}", c.to_string().repeat(64)),
            size,
            refcount,
        }
    }

    /// `l` as the layer map lists it.
    fn usage(l: &LayerDto) -> LayerUsageDto {
        LayerUsageDto {
            diff_id: l.diff_id.clone(),
            size: l.size,
            stored_bytes: l.size,
            refcount: l.refcount,
        }
    }

    fn image(c: char, tags: &[&str], size: u64, shared: u64) -> ImageSummaryDto {
        ImageSummaryDto {
            id: format!("sha256:{}", c.to_string().repeat(64)),
            repo_tags: tags.iter().map(|s| s.to_string()).collect(),
            size,
            shared_size: shared,
            unique_size: size - shared,
            ..Default::default()
        }
    }

    #[test]
    fn stacks_come_from_the_layer_map() {
        let (a, b) = (layer('a', 10, 2), layer('b', 5, 1));
        let map = LayerMapDto {
            layers: vec![usage(&a), usage(&b)],
            images: [
                (
                    image('x', &[], 0, 0).id,
                    vec![a.diff_id.clone(), b.diff_id.clone()],
                ),
                (image('y', &[], 0, 0).id, vec![a.diff_id.clone()]),
            ]
            .into_iter()
            .collect(),
        };
        let shown = [image('x', &["x:1"], 15, 10), image('z', &["gone:1"], 1, 0)];
        let s = stacks(&map, &shown);
        assert_eq!(s.len(), 1, "only shown images the map knows");
        assert_eq!(s[&shown[0].id], vec![a, b]);
    }

    #[test]
    fn a_matrix_page_has_the_columns_its_rows_use() {
        let (a, b, c) = (layer('a', 10, 2), layer('b', 5, 1), layer('c', 7, 1));
        let x = image('x', &["x:1"], 15, 10);
        let y = image('y', &["y:1"], 17, 10);
        let map = LayerMapDto {
            layers: vec![usage(&a), usage(&b), usage(&c)],
            images: [
                (x.id.clone(), vec![a.diff_id.clone(), b.diff_id.clone()]),
                (y.id.clone(), vec![a.diff_id.clone(), c.diff_id.clone()]),
            ]
            .into_iter()
            .collect(),
        };
        let images = [y.clone(), x.clone()];
        let first = matrix_page(&images, &map, 0..1);
        assert_eq!(first.rows.len(), 1);
        assert_eq!(first.rows[0].name, "x:1", "sorted by name");
        let cols: Vec<&str> = first.columns.iter().map(|c| c.diff_id.as_str()).collect();
        assert_eq!(cols, [a.diff_id.as_str(), b.diff_id.as_str()]);
        assert_eq!(first.columns[0].refcount, 2, "the store-wide refcount");
        let second = matrix_page(&images, &map, 1..2);
        assert_eq!(second.rows[0].name, "y:1");
        assert_eq!(second.rows[0].cells, vec![Some(1), Some(2)]);
        assert!(matrix_page(&images, &map, 5..9).rows.is_empty());
    }

    #[test]
    fn matrix_puts_shared_layers_first() {
        let images = [
            image('a', &["web:1"], 5_000, 4_000),
            image('b', &["api:1"], 4_500, 4_000),
            image('c', &[], 100, 0),
        ];
        let mut layers = BTreeMap::new();
        layers.insert(
            images[0].id.clone(),
            vec![layer('1', 4_000, 2), layer('2', 1_000, 1)],
        );
        layers.insert(
            images[1].id.clone(),
            vec![layer('1', 4_000, 2), layer('3', 500, 1)],
        );
        layers.insert(images[2].id.clone(), vec![layer('4', 100, 1)]);
        let m = matrix(&images, &layers);
        let cols: Vec<(&str, u64)> = m
            .columns
            .iter()
            .map(|c| (&c.short_id[..1], c.refcount))
            .collect();
        assert_eq!(cols, [("1", 2), ("2", 1), ("3", 1), ("4", 1)]);
        let rows: Vec<(String, Vec<Option<usize>>, u8)> = m
            .rows
            .iter()
            .map(|r| (r.name.clone(), r.cells.clone(), r.shared_percent))
            .collect();
        assert_eq!(
            rows,
            [
                ("api:1".into(), vec![Some(1), None, Some(2), None], 89),
                ("web:1".into(), vec![Some(1), Some(2), None, None], 80),
                ("<none>:<none>".into(), vec![None, None, None, Some(1)], 0),
            ]
        );
    }

    #[test]
    fn disk_segments_add_up_to_the_disk() {
        let du = DiskUsageDto {
            layers_size: 5_600,
            stored_bytes: 7_300,
            images: vec![
                ImageUsageDto {
                    size: 5_000,
                    unique_size: 1_000,
                    shared_size: 4_000,
                    ..Default::default()
                },
                ImageUsageDto {
                    size: 4_600,
                    unique_size: 600,
                    shared_size: 4_000,
                    ..Default::default()
                },
            ],
            active: 1,
            reclaimable: 600,
            containers: 1,
        };
        let containers = [ContainerDto {
            size_rw: 400,
            ..Default::default()
        }];
        let d = disk(&du, &containers, None);
        let bytes: Vec<u64> = d.segments.iter().map(|s| s.bytes).collect();
        assert_eq!(bytes, [1_600, 4_000, 400]);
        assert_eq!(d.total, 6_000);
        assert_eq!(d.total_text, "6kB");
        assert_eq!(d.reclaimable_percent, 10);
        assert_eq!(
            d.notes,
            [
                "2 images, 1 in use; their layers hold 5.6kB of files, each layer counted once; the store takes 7.3kB on disk",
                "adding up the images' sizes would say 9.6kB: shared layers would count once per image"
            ]
        );
        assert_eq!(d.segments[2].label, "writable layers of 1 container: 400B");
        let exact = disk(&du, &containers, Some(200));
        assert_eq!(exact.reclaimable, "200B");
        assert_eq!(exact.reclaimable_percent, 3);
        assert!(exact.notes[1].starts_with(
            "reclaimable is what pruning all unused images would free, from its plan (200B)"
        ));
        let empty = disk(&DiskUsageDto::default(), &[], None);
        assert_eq!(empty.total, 0);
        assert!(empty.segments.iter().all(|s| s.percent == 0));
    }
}
