//! Embeds the built dashboard (`web/dist`, made by `just web`) into the server, so that an
//! installed or copied `strata` binary serves it from any working directory. When the dashboard
//! is not built, nothing is embedded and the server falls back to `--web-dir`. A file's
//! compressed copies (`<file>.br`, `<file>.gz`) are embedded with it, for `Content-Encoding`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("../web");
    let dist = web.join("dist");
    // Watch the dist directory when it exists (cargo scans a directory recursively), else
    // the web directory, so that a first `just web` is noticed.
    let watched = if dist.is_dir() { &dist } else { &web };
    println!("cargo:rerun-if-changed={}", watched.display());
    println!("cargo:rerun-if-env-changed=STRATA_EMBED_WEB");

    let mut files = Vec::new();
    let embed = std::env::var("STRATA_EMBED_WEB").map_or(true, |v| v != "0");
    if embed && dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    // a file's compressed copies (`<file>.br`, `<file>.gz`, made by `crates/precompress`
    // after trunk's build) travel with it, not as files of their own
    let copies: std::collections::BTreeMap<String, String> = files
        .iter()
        .filter(|(rel, _)| rel.ends_with(".br") || rel.ends_with(".gz"))
        .cloned()
        .collect();
    let mut out = String::from(
        "/// The built dashboard's files, by path relative to `web/dist`.\n\
         pub(crate) static EMBEDDED: &[Asset] = &[\n",
    );
    let copy = |rel: &str, ext: &str| match copies.get(&format!("{rel}.{ext}")) {
        Some(abs) => format!("Some(include_bytes!({abs:?}))"),
        None => "None".to_string(),
    };
    for (rel, abs) in &files {
        if copies.contains_key(rel) || rel.ends_with(".tmp") {
            continue;
        }
        writeln!(
            out,
            "    Asset {{ name: {rel:?}, raw: include_bytes!({abs:?}), br: {}, gz: {} }},",
            copy(rel, "br"),
            copy(rel, "gz")
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("web_assets.rs");
    std::fs::write(dest, out).expect("write web_assets.rs");
}

fn collect(base: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            collect(base, &path, files);
        } else if ft.is_file() {
            let (Ok(rel), Ok(abs)) = (path.strip_prefix(base), path.canonicalize()) else {
                continue;
            };
            if let (Some(rel), Some(abs)) = (rel.to_str(), abs.to_str()) {
                files.push((rel.to_string(), abs.to_string()));
            }
        }
    }
}
