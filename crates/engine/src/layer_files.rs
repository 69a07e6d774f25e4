//! Reading one file as a given layer of an image or container shows it: the union view says
//! which layer's unpacked directory holds the bytes (following hard links), and the file is
//! opened confined to that directory.

use crate::containers::user_path;
use crate::{Engine, EngineError, Result};
use layer_union::Union;
use std::fs::File;
use std::path::PathBuf;

/// A regular file found in a layer stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerFile {
    /// The normalised path asked for (`etc/passwd`).
    pub path: String,
    /// The layer (0 = bottom) whose view was asked for: the one given, or the layer that
    /// provides the path in the merged view.
    pub layer: usize,
    /// The layer whose directory holds the bytes (lower than `layer` when that layer left the
    /// path unchanged; another path's layer for a hard link).
    pub source_layer: usize,
    /// The path in `source_layer` that holds the bytes (differs from `path` for hard links).
    pub source_path: String,
    /// Size in bytes.
    pub size: u64,
}

impl Engine {
    /// Opens the regular file at `path` as the view of layers `0..=layer` of `target` (an image
    /// reference or ID, or a container) shows it; without `layer`, as the merged view shows
    /// it. A container's writable layer is the topmost layer.
    pub fn open_layer_file(
        &self,
        target: &str,
        path: &str,
        layer: Option<usize>,
    ) -> Result<(LayerFile, File)> {
        let p = user_path(path)?;
        let (union, dirs) = self.union_with_dirs(target)?;
        let top = union.layer_count().saturating_sub(1);
        let at = match layer {
            Some(n) if n > top => {
                return Err(EngineError::invalid(format!(
                    "layer {n} out of range: {target} has {} layers (0 to {top})",
                    union.layer_count()
                )))
            }
            Some(n) => n,
            None => union.get(&p).map_or(top, |m| m.provider),
        };
        let missing =
            || EngineError::NotFound(format!("No such file: /{p} in layer {at} of {target}"));
        let Some(entry) = union.get_at(&p, at) else {
            return Err(missing());
        };
        let Some(found) = union.lookup(&p, at) else {
            return Err(EngineError::invalid(format!(
                "/{p}: not a regular file ({}) in layer {at} of {target}",
                entry.entry.kind.name()
            )));
        };
        let info = LayerFile {
            path: p.clone(),
            layer: at,
            source_layer: found.layer,
            source_path: found.path.to_string(),
            size: found.size,
        };
        let dir = &dirs[found.layer];
        let file = layer_apply::open_in_root(dir, found.path)
            .map_err(|e| EngineError::invalid(format!("/{p} in layer {at}: {e}")))?;
        let meta = file
            .metadata()
            .map_err(|e| EngineError::io(format!("stat /{p}"), e))?;
        if !meta.is_file() {
            return Err(EngineError::invalid(format!(
                "/{p} in layer {at}: the unpacked layer holds no regular file there"
            )));
        }
        Ok((info, file))
    }

    /// The union of `target` (a container, else an image) with each layer's directory.
    fn union_with_dirs(&self, target: &str) -> Result<(Union, Vec<PathBuf>)> {
        if let Ok(c) = self.container(target) {
            return self.container_union(&c);
        }
        let id = image_store::resolve(&*self.view()?, target)?.id;
        let dirs = self.image_layer_dirs(&id)?;
        Ok((Union::build(&self.image_changesets(&id)?), dirs))
    }
}
