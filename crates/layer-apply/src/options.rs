//! What [`apply`](crate::apply) is asked to do, within which limits, and what it reports.

/// Bounds on one layer, enforced while streaming: the first entry that would cross one
/// stops the apply with an [`ErrorKind::Limit`](crate::ErrorKind::Limit) error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Tar entries (after GNU long-name and PAX headers are folded into the entry they
    /// describe). Default 1,000,000.
    pub max_entries: u64,
    /// Bytes in an entry name or a link target, as written in the tar. Default 4096 (`PATH_MAX`).
    pub max_path_len: usize,
    /// Bytes in one component of a name. Default 255 (`NAME_MAX`).
    pub max_name_len: usize,
    /// Bytes of file content written, summed over the layer (a sparse file counts its full
    /// size). An entry whose declared size would cross the limit is refused before any of it is
    /// written. Default 64 GiB.
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 1_000_000,
            max_path_len: 4096,
            max_name_len: 255,
            max_bytes: 64 << 30,
        }
    }
}

/// How whiteouts are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Apply the layer on top of an existing tree (a rootfs being assembled): `<dir>/.wh.<name>`
    /// deletes `<dir>/<name>`, and `<dir>/.wh..wh..opq` deletes everything in `<dir>` that this
    /// layer did not write itself, wherever the marker sits in the tar. Other `.wh..wh.*`
    /// metadata is skipped. No `.wh.` file is ever created.
    #[default]
    Merge,
    /// Store one layer alone (an empty directory per layer, AUFS style): whiteouts and opaque
    /// markers are kept as empty regular files under their `.wh.` names, so packing the
    /// directory gives back a layer with the same meaning. Nothing is deleted.
    Unpack,
}

/// How to apply a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Merge onto a tree or unpack a layer alone.
    pub mode: Mode,
    /// Bounds on the layer.
    pub limits: Limits,
    /// Give entries the uid/gid from the tar (needs privilege). Default: true when running as
    /// root (effective uid 0). When false, entries belong to the caller.
    pub same_owner: bool,
    /// Create character and block devices and FIFOs. Default: true when running as root.
    /// When false they are skipped and counted in [`ApplyStats::skipped_devices`].
    pub create_devices: bool,
    /// Docker's `NoOverwriteDirNonDir` (what `docker cp` into a container asks for): an entry
    /// that would replace a directory with a non-directory, or a non-directory (a symlink
    /// included) with a directory, fails the whole apply with [`ApplyError::Overwrite`]
    /// before anything of it is written. What is there is what the entry's name resolves to
    /// (its parent's symlinks followed inside the root, its own name not): in the root, or
    /// with lower layers ([`apply_on`]) in their merged view with this layer on top, so what
    /// earlier entries of the same tar made counts too. Default false: anything but a
    /// directory over a directory replaces what is there.
    ///
    /// [`ApplyError::Overwrite`]: crate::ApplyError::Overwrite
    /// [`apply_on`]: crate::apply_on
    pub no_overwrite_dir_non_dir: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        let root = crate::sys::euid() == 0;
        ApplyOptions {
            mode: Mode::Merge,
            limits: Limits::default(),
            same_owner: root,
            create_devices: root,
            no_overwrite_dir_non_dir: false,
        }
    }
}

/// What one [`apply`](crate::apply) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Tar entries read (the root entry, skipped ones and whiteouts included).
    pub entries: u64,
    /// Bytes of file content written.
    pub bytes: u64,
    /// Devices and FIFOs not created because `create_devices` was off.
    pub skipped_devices: u64,
    /// Whiteouts and opaque markers seen (applied in `Merge`, stored in `Unpack`).
    pub whiteouts: u64,
}
