//! The crate's one error type and its classes.

use std::io;

/// The class of an [`ApplyError`], for callers that map errors to statuses in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The layer (or a path given to [`resolve_in_root`](crate::resolve_in_root)) is malformed
    /// or hostile: a name leaving the root, a bad hardlink, an unsupported entry type, a
    /// corrupt tar, a symlink loop, a file where a directory is needed.
    InvalidArgument,
    /// The layer exceeds one of the [`Limits`](crate::Limits).
    Limit,
    /// The file system or the reader/writer failed (disk full, permission denied, a missing
    /// path in [`open_in_root`](crate::open_in_root); see [`ApplyError::io_error`]).
    Io,
}

/// Why a layer could not be applied, a directory packed, or a path resolved.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// An entry name whose `..` components climb above the root (Docker's `breakoutError`).
    #[error("refusing {path:?}: path leaves the root")]
    LeavesRoot {
        /// The name as it appears in the tar.
        path: String,
    },
    /// A hardlink whose target is outside the root, missing, or a directory.
    #[error("hardlink {path:?} -> {target:?}: {reason}")]
    Hardlink {
        /// The link's name.
        path: String,
        /// The target as it appears in the tar.
        target: String,
        /// What is wrong with the target.
        reason: &'static str,
    },
    /// An entry that cannot be applied as it stands (a whiteout naming nothing, a symlink
    /// without a target, an id that does not fit in 32 bits).
    #[error("entry {path:?}: {reason}")]
    InvalidEntry {
        /// The entry's name.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A tar entry type a layer cannot hold (GNU volume headers, unknown types).
    #[error("unsupported tar entry type {type_flag} for {path:?}")]
    UnsupportedType {
        /// The entry's name.
        path: String,
        /// The type flag, escaped when it is not printable.
        type_flag: String,
    },
    /// With [`ApplyOptions::no_overwrite_dir_non_dir`](crate::ApplyOptions::no_overwrite_dir_non_dir):
    /// an entry that would replace a directory with a non-directory or the reverse, in
    /// Docker's words (`cannot overwrite directory "/etc/dir" with non-directory "/"`).
    #[error(
        "cannot overwrite {} {path:?} with {} {dest:?}",
        dir_word(*.existing_dir),
        dir_word(!*.existing_dir)
    )]
    Overwrite {
        /// The entry's path from the root (`/` and the directory extracted into, then its name
        /// as written, `.` and `..` folded), as Docker joins the destination and the name.
        path: String,
        /// The directory extracted into, from the root (`/` for the root itself).
        dest: String,
        /// Whether what is there is a directory (then the entry is not one).
        existing_dir: bool,
    },
    /// More entries than [`Limits::max_entries`](crate::Limits::max_entries).
    #[error("layer exceeds the limit of {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: u64,
    },
    /// File contents beyond [`Limits::max_bytes`](crate::Limits::max_bytes); raised before the
    /// entry that would cross the limit is written.
    #[error("layer exceeds the limit of {limit} bytes (entry {path:?} declares {size})")]
    TooManyBytes {
        /// The limit.
        limit: u64,
        /// The entry that would cross it.
        path: String,
        /// Its declared size.
        size: u64,
    },
    /// A name or link target longer than [`Limits::max_path_len`](crate::Limits::max_path_len).
    #[error("{path:?}: path too long ({len} bytes, limit {limit})")]
    PathTooLong {
        /// The path, cut for display.
        path: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A path component longer than [`Limits::max_name_len`](crate::Limits::max_name_len).
    #[error("{path:?}: name too long ({len} bytes, limit {limit})")]
    NameTooLong {
        /// The path, cut for display.
        path: String,
        /// The length of its longest component.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The headers of one entry (GNU long names, PAX records, sparse maps) exceed
    /// [`MAX_ENTRY_METADATA`](crate::MAX_ENTRY_METADATA) bytes.
    #[error("layer entry metadata exceeds {limit} bytes")]
    MetadataTooLarge {
        /// The limit.
        limit: u64,
    },
    /// The tar stream is corrupt or the reader failed.
    #[error("reading layer tar: {source}")]
    Tar {
        /// The cause.
        source: io::Error,
    },
    /// A file-system operation failed.
    #[error("{op} {path:?}: {source}")]
    Io {
        /// What was being done (`creating file`, `resolving`, …).
        op: &'static str,
        /// The path it was done to, relative to the root where there is one.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// Writing the packed tar failed.
    #[error("writing tar: {source}")]
    Write {
        /// The cause.
        source: io::Error,
    },
}

impl ApplyError {
    /// The class of this error.
    ///
    /// File-system errors whose cause is the shape of the data rather than the host (`ELOOP`:
    /// a symlink loop; `ENOTDIR`: a file where a directory is needed) are `InvalidArgument`;
    /// a corrupt tar (`InvalidData`, `UnexpectedEof`, `Other` from the tar reader) is too.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ApplyError::LeavesRoot { .. }
            | ApplyError::Hardlink { .. }
            | ApplyError::InvalidEntry { .. }
            | ApplyError::UnsupportedType { .. }
            | ApplyError::Overwrite { .. } => ErrorKind::InvalidArgument,
            ApplyError::TooManyEntries { .. }
            | ApplyError::TooManyBytes { .. }
            | ApplyError::PathTooLong { .. }
            | ApplyError::NameTooLong { .. }
            | ApplyError::MetadataTooLarge { .. } => ErrorKind::Limit,
            ApplyError::Tar { source } => match source.kind() {
                io::ErrorKind::InvalidData
                | io::ErrorKind::UnexpectedEof
                | io::ErrorKind::Other => ErrorKind::InvalidArgument,
                _ => ErrorKind::Io,
            },
            ApplyError::Io { source, .. } => match source.raw_os_error() {
                Some(libc::ELOOP | libc::ENOTDIR) => ErrorKind::InvalidArgument,
                _ => ErrorKind::Io,
            },
            ApplyError::Write { .. } => ErrorKind::Io,
        }
    }

    /// The underlying I/O error, if any: lets a caller tell "not found" (`NotFound`) from
    /// other failures of [`open_in_root`](crate::open_in_root).
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            ApplyError::Tar { source }
            | ApplyError::Io { source, .. }
            | ApplyError::Write { source } => Some(source),
            _ => None,
        }
    }

    pub(crate) fn io(op: &'static str, path: &[u8], source: io::Error) -> Self {
        ApplyError::Io {
            op,
            path: crate::name::show(path),
            source,
        }
    }
}

/// How [`ApplyError::Overwrite`] names a kind of object.
fn dir_word(dir: bool) -> &'static str {
    if dir {
        "directory"
    } else {
        "non-directory"
    }
}
