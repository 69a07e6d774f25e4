//! `mount`: a container's merged root as a real directory, for processes and for checking.
//!
//! With root and overlayfs the root is a read-only kernel overlay: each layer's unpacked
//! directory (`layers/<chain id>/`, the layer as applied on top of its parents) is mirrored
//! once into overlay's own format (`layers/<chain id>.ovl/`: files hard-linked,
//! `.wh.<name>` turned into a 0:0 character device, `.wh..wh..opq` into the
//! `trusted.overlay.opaque` attribute), the writable layer likewise at mount time, and all are
//! stacked as lower directories. Otherwise (no root, no overlayfs) the copy driver extracts the
//! same merged view, computed by `layer-union`, into the directory. Both give the same tree,
//! which the tests check against each other.

use crate::{Engine, EngineError, Result};
use layer_diff::{OPAQUE_MARKER, WHITEOUT_PREFIX};
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How a container root was mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountDriver {
    /// A kernel overlay of the layers.
    Overlay,
    /// A copy of the merged view.
    Copy,
}

fn io(ctx: String) -> impl FnOnce(std::io::Error) -> EngineError {
    move |e| EngineError::io(ctx, e)
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("paths have no NUL")
}

/// Marks `dir` opaque for overlayfs: the directories below it are not merged into it.
fn set_opaque(dir: &Path) -> Result<()> {
    let (k, v) = (CString::new("trusted.overlay.opaque").unwrap(), b"y");
    // SAFETY: valid NUL-terminated strings and a live buffer.
    let rc = unsafe {
        libc::lsetxattr(
            cstr(dir).as_ptr(),
            k.as_ptr(),
            v.as_ptr().cast(),
            v.len(),
            0,
        )
    };
    if rc != 0 {
        return Err(EngineError::io(
            "set overlay opaque attribute",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Mirrors an AUFS-style layer directory into overlay's format. A name the layer both whites
/// out and writes (deleted, then created again) is the new entry alone: a new directory there
/// is made opaque, so the lower one's children stay deleted, as `layer-union` shows it.
pub(crate) fn to_overlay(src: &Path, dst: &Path) -> Result<()> {
    fs::create_dir(dst).map_err(io(format!("create {}", dst.display())))?;
    let dir_md = fs::symlink_metadata(src).map_err(io(format!("stat {}", src.display())))?;
    let _ = std::os::unix::fs::lchown(dst, Some(dir_md.uid()), Some(dir_md.gid()));
    let _ = fs::set_permissions(dst, fs::Permissions::from_mode(dir_md.mode() & 0o7777));
    crate::run::copy_xattrs(src, dst);
    let mut recreated = Vec::new();
    for e in fs::read_dir(src).map_err(io(format!("read {}", src.display())))? {
        let e = e.map_err(io(format!("read {}", src.display())))?;
        let name = e.file_name();
        let from = e.path();
        let md = fs::symlink_metadata(&from).map_err(io(format!("stat {}", from.display())))?;
        if name.as_bytes() == OPAQUE_MARKER.as_bytes() {
            set_opaque(dst)?;
            continue;
        }
        if let Some(hidden) = name.as_bytes().strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
            let hidden = std::ffi::OsStr::from_bytes(hidden);
            if let Ok(again) = fs::symlink_metadata(src.join(hidden)) {
                if again.is_dir() {
                    recreated.push(dst.join(hidden));
                }
                continue;
            }
            let target = dst.join(hidden);
            // SAFETY: valid path; a 0:0 character device is overlay's whiteout.
            let rc = unsafe { libc::mknod(cstr(&target).as_ptr(), libc::S_IFCHR, 0) };
            if rc != 0 {
                return Err(EngineError::io(
                    "create overlay whiteout",
                    std::io::Error::last_os_error(),
                ));
            }
            continue;
        }
        let to = dst.join(&name);
        let ft = md.file_type();
        if ft.is_dir() {
            to_overlay(&from, &to)?;
        } else if ft.is_symlink() {
            symlink(
                fs::read_link(&from).map_err(io(format!("readlink {}", from.display())))?,
                &to,
            )
            .map_err(io(format!("symlink {}", to.display())))?;
            let _ = std::os::unix::fs::lchown(&to, Some(md.uid()), Some(md.gid()));
            crate::run::copy_times(&md, &to);
        } else {
            fs::hard_link(&from, &to).map_err(io(format!("link {}", to.display())))?;
        }
    }
    for dir in recreated {
        set_opaque(&dir)?;
    }
    // last: making its entries moved the directory's own times
    crate::run::copy_times(&dir_md, dst);
    Ok(())
}

pub(crate) fn is_mounted(dir: &Path) -> bool {
    let Ok(mounts) = fs::read_to_string("/proc/self/mounts") else {
        return false;
    };
    let want = dir.to_string_lossy();
    mounts.lines().any(|l| l.split(' ').nth(1) == Some(&*want))
}

impl Engine {
    fn merged_dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id).join("merged")
    }

    /// The overlay-format mirror of the unpacked layer directory `src` (`layers/<chain id>/`),
    /// made once.
    pub(crate) fn overlay_layer(&self, src: &Path) -> Result<PathBuf> {
        let key = src
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = self.root.join("layers").join(format!("{key}.ovl"));
        if dir.is_dir() {
            return Ok(dir);
        }
        let tmp = self
            .root
            .join("layers")
            .join(format!(".tmp-{}-ovl-{key}", std::process::id(),));
        let _ = fs::remove_dir_all(&tmp);
        if let Err(e) = to_overlay(src, &tmp) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        if fs::rename(&tmp, &dir).is_err() && !dir.is_dir() {
            let _ = fs::remove_dir_all(&tmp);
            return Err(EngineError::invalid(format!(
                "cannot place {}",
                dir.display()
            )));
        }
        let _ = fs::remove_dir_all(&tmp);
        Ok(dir)
    }

    /// Makes the container's merged root visible at `containers/<id>/merged` (read-only);
    /// `driver` forces one way, else overlay when possible, copy otherwise.
    pub fn mount_container(
        &self,
        input: &str,
        driver: Option<MountDriver>,
    ) -> Result<(PathBuf, MountDriver)> {
        let c = self.container(input)?;
        self.unmount_container(&c.id)?;
        let merged = self.merged_dir(&c.id);
        fs::create_dir_all(&merged).map_err(io(format!("create {}", merged.display())))?;
        let want = driver.unwrap_or(MountDriver::Overlay);
        if want == MountDriver::Overlay {
            match self.mount_overlay(&c, &merged) {
                Ok(()) => return Ok((merged, MountDriver::Overlay)),
                Err(e) if driver == Some(MountDriver::Overlay) => return Err(e),
                Err(_) => {}
            }
        }
        let mut tar = Vec::new();
        self.export_container(&c.id, &mut tar)?;
        let opts = layer_apply::ApplyOptions {
            mode: layer_apply::Mode::Merge,
            ..Default::default()
        };
        layer_apply::apply(&merged, tar.as_slice(), &opts)
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        Ok((merged, MountDriver::Copy))
    }

    fn mount_overlay(&self, c: &crate::ContainerInfo, merged: &Path) -> Result<()> {
        let mut lowers = Vec::new();
        for d in self.image_layer_dirs(&c.image)?.iter().rev() {
            lowers.push(self.overlay_layer(d)?);
        }
        let upper_ovl = self.root.join("containers").join(&c.id).join("upper.ovl");
        let _ = fs::remove_dir_all(&upper_ovl);
        to_overlay(&self.upper_dir(&c.id), &upper_ovl)?;
        lowers.insert(0, upper_ovl);
        let opts = format!(
            "lowerdir={}",
            lowers
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":")
        );
        let (src, fstype, data) = (
            CString::new("overlay").unwrap(),
            CString::new("overlay").unwrap(),
            CString::new(opts).unwrap(),
        );
        // SAFETY: valid NUL-terminated arguments.
        let rc = unsafe {
            libc::mount(
                src.as_ptr(),
                cstr(merged).as_ptr(),
                fstype.as_ptr(),
                libc::MS_RDONLY,
                data.as_ptr().cast(),
            )
        };
        if rc != 0 {
            return Err(EngineError::io(
                "mount overlay",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Undoes [`Engine::mount_container`] (a no-op when nothing is mounted).
    pub fn unmount_container(&self, input: &str) -> Result<()> {
        let c = self.container(input)?;
        let merged = self.merged_dir(&c.id);
        if is_mounted(&merged) {
            // SAFETY: valid NUL-terminated path.
            let rc = unsafe { libc::umount2(cstr(&merged).as_ptr(), libc::MNT_DETACH) };
            if rc != 0 {
                return Err(EngineError::io("unmount", std::io::Error::last_os_error()));
            }
        }
        for d in [
            merged,
            self.root.join("containers").join(&c.id).join("upper.ovl"),
        ] {
            if d.exists() {
                fs::remove_dir_all(&d).map_err(io(format!("remove {}", d.display())))?;
            }
        }
        Ok(())
    }
}
