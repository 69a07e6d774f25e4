//! Blob leases and the sweep that deletes blobs no metadata references.
//!
//! Writers (import, load, pull) hold a shared lock on `<root>/leases.lock` from before they write
//! a blob until the metadata referencing it is committed. The sweep takes the lock exclusively
//! (without waiting: if a writer is busy the sweep is left for later), reads the set of referenced
//! blobs and deletes the rest. So a blob that a writer is about to reference is never swept.

use crate::{Engine, EngineError, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

pub(crate) struct Leases {
    path: PathBuf,
}

/// A held lease; released on drop.
pub(crate) struct Lease(#[allow(dead_code)] File);

impl Leases {
    pub(crate) fn new(root: &Path) -> Result<Leases> {
        let path = root.join("leases.lock");
        File::options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| EngineError::io(format!("open {}", path.display()), e))?;
        Ok(Leases { path })
    }

    fn open(&self) -> Result<File> {
        File::open(&self.path)
            .map_err(|e| EngineError::io(format!("open {}", self.path.display()), e))
    }

    pub(crate) fn shared(&self) -> Result<Lease> {
        let f = self.open()?;
        f.lock_shared()
            .map_err(|e| EngineError::io("lock leases", e))?;
        Ok(Lease(f))
    }

    fn try_exclusive(&self) -> Result<Option<Lease>> {
        let f = self.open()?;
        match f.try_lock() {
            Ok(()) => Ok(Some(Lease(f))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(EngineError::io("lock leases", e)),
        }
    }
}

impl Engine {
    /// A count of what this engine has added to the store that [`Engine::sweep`] could have
    /// to take back (blobs made visible, layer directories begun). An operation that finds it
    /// unchanged at its end added nothing, so it has nothing to sweep, however large the
    /// store (a `load` of images already present reads the whole archive and writes nothing).
    pub(crate) fn additions(&self) -> u64 {
        self.blobs.published()
            + self
                .staged_layers
                .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Deletes every blob that no image or layer references, unless a writer holds a lease
    /// (then nothing is deleted now; a later sweep will). Returns the bytes removed.
    pub fn sweep(&self) -> Result<u64> {
        if crate::failpoint_fails("sweep") {
            return Err(EngineError::io(
                "sweep",
                std::io::Error::other("failpoint fail:sweep"),
            ));
        }
        let Some(_guard) = self.leases.try_exclusive()? else {
            return Ok(0);
        };
        let (referenced, images) = {
            let mut db = self.db();
            (db.referenced_blobs()?, db.view()?.images.clone())
        };
        let mut freed = 0;
        for (d, size) in self.blobs.list()? {
            if !referenced.contains(&d) && self.blobs.delete(&d)? {
                freed += size;
            }
        }
        // Unpacked layers are keyed by chain ID: the prefixes of every image's stack.
        let mut chains = std::collections::HashSet::new();
        for i in &images {
            for n in 1..=i.diff_ids.len() {
                chains.extend(oci_model::chain_id(&i.diff_ids[..n]));
            }
        }
        self.sweep_unpacked(&chains);
        Ok(freed)
    }
}

impl Engine {
    /// Removes unpacked layer directories (and their overlay mirrors) whose chain ID is not in
    /// `chains` — among them directories of an older store keyed by diff ID, unpacked without
    /// their parents — and unpack leftovers of dead processes. Best effort: a directory that
    /// cannot be removed now is tried next time.
    fn sweep_unpacked(&self, chains: &std::collections::HashSet<oci_model::Digest>) {
        let Ok(entries) = std::fs::read_dir(self.root.join("layers")) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let stale = match name.strip_prefix(".tmp-") {
                Some(rest) => rest
                    .split('-')
                    .next()
                    .and_then(|pid| pid.parse::<u32>().ok())
                    .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()),
                None => oci_model::Digest::from_hex(name.strip_suffix(".ovl").unwrap_or(&name))
                    .is_none_or(|d| !chains.contains(&d)),
            };
            if stale {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }

    /// Checks every blob against its name and every reference against the blobs present;
    /// returns the problems found (empty when the store is sound).
    pub fn fsck(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let present: std::collections::HashSet<_> =
            self.blobs.list()?.into_iter().map(|(d, _)| d).collect();
        for d in &present {
            if !self.blobs.verify(d)? {
                problems.push(format!("blob {d}: content does not match its digest"));
            }
        }
        let mut missing: Vec<_> = self
            .db()
            .referenced_blobs()?
            .into_iter()
            .filter(|d| !present.contains(d))
            .collect();
        missing.sort();
        for d in missing {
            problems.push(format!("blob {d}: referenced but missing"));
        }
        Ok(problems)
    }
}
