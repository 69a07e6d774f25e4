//! `ADD` of a local archive: recognised by its bytes (a tar, plain or gzip) and extracted
//! through `layer-apply`'s confined apply, so no entry lands outside the destination.

use crate::{EngineError, Result};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// True when the file's first bytes are a tar header, or gzip around one.
pub(crate) fn is_archive(f: std::fs::File) -> bool {
    let mut r = BufReader::new(f);
    let gzip = r
        .fill_buf()
        .map(|b| b.starts_with(&[0x1f, 0x8b]))
        .unwrap_or(false);
    let mut head = Vec::with_capacity(512);
    let read = if gzip {
        flate2::read::MultiGzDecoder::new(r)
            .take(512)
            .read_to_end(&mut head)
    } else {
        r.take(512).read_to_end(&mut head)
    };
    read.is_ok() && super::context::is_tar_header(&head)
}

/// Extracts the archive `f` (plain or gzip tar) into `dir`.
pub(crate) fn extract(f: std::fs::File, dir: &Path) -> Result<()> {
    let mut r = BufReader::new(f);
    let gzip = r
        .fill_buf()
        .map_err(|e| EngineError::io("read the archive", e))?
        .starts_with(&[0x1f, 0x8b]);
    let opts = layer_apply::ApplyOptions::default();
    let applied = if gzip {
        layer_apply::apply(dir, flate2::read::MultiGzDecoder::new(r), &opts)
    } else {
        layer_apply::apply(dir, r, &opts)
    };
    applied
        .map(drop)
        .map_err(|e| EngineError::invalid(format!("ADD: extract the archive: {e}")))
}
