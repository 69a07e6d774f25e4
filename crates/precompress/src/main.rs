//! `precompress [DIR]`: writes `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip, level 9)
//! beside every compressible file of the built dashboard, so that `strata serve` sends them
//! with `Content-Encoding` (from `--web-dir` and from the copy `server/build.rs` embeds).
//!
//! Trunk runs it after each build (`[[hooks]]` in `Trunk.toml`) on its staging directory
//! (`TRUNK_STAGING_DIR`), so every `trunk build` leaves `web/dist` with its compressed copies.
//! A copy is written only when it is smaller than the file; stale copies of files that are
//! gone are removed, and a copy is always rewritten from the current file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The extensions worth compressing: text and WebAssembly (images and fonts already are).
const COMPRESSIBLE: &[&str] = &[
    "html", "js", "mjs", "css", "wasm", "svg", "json", "map", "txt",
];

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .or_else(|| std::env::var_os("TRUNK_STAGING_DIR"))
        .map(PathBuf::from);
    let Some(dir) = dir else {
        eprintln!("usage: precompress DIR (or TRUNK_STAGING_DIR set, as in a Trunk hook)");
        return ExitCode::from(2);
    };
    match run(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("precompress: {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

fn run(dir: &Path) -> std::io::Result<()> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    let (mut raw_total, mut br_total, mut gz_total) = (0u64, 0u64, 0u64);
    for file in &files {
        let name = file.to_string_lossy();
        if name.ends_with(".br") || name.ends_with(".gz") {
            // a copy whose file is gone (a previous build's hashed name)
            let original = file.with_extension("");
            if !original.is_file() {
                std::fs::remove_file(file)?;
            }
            continue;
        }
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !COMPRESSIBLE.contains(&ext) {
            continue;
        }
        let data = std::fs::read(file)?;
        let br = brotli(&data)?;
        let gz = gzip(&data)?;
        raw_total += data.len() as u64;
        br_total += keep(file, "br", &data, &br)?;
        gz_total += keep(file, "gz", &data, &gz)?;
    }
    eprintln!(
        "precompress: {} files, {raw_total} bytes: brotli {br_total}, gzip {gz_total}",
        files.len()
    );
    Ok(())
}

/// Writes `file.<ext>` when `packed` is smaller than `data` (else removes an old one); the
/// bytes a client asking for that encoding receives.
fn keep(file: &Path, ext: &str, data: &[u8], packed: &[u8]) -> std::io::Result<u64> {
    let mut name = file.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    let copy = PathBuf::from(name);
    if packed.len() >= data.len() {
        match std::fs::remove_file(&copy) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => return Ok(data.len() as u64),
        }
    }
    // written beside and renamed, so a server reading the directory never sees half a copy
    let tmp = copy.with_extension(format!("{ext}.tmp"));
    std::fs::write(&tmp, packed)?;
    std::fs::rename(&tmp, &copy)?;
    Ok(packed.len() as u64)
}

fn brotli(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 24,
        size_hint: data.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &data[..], &mut out, &params)?;
    Ok(out)
}

fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data)?;
    enc.finish()
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(&entry.path(), files)?;
        } else if ft.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(())
}
