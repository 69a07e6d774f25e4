//! Applying a layer tar to a directory: names checked and limits enforced while streaming,
//! every parent directory resolved inside the root, every entry created with `*at` calls
//! relative to that verified parent.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use layer_diff::{EntryHeaders, HeaderTap, NameClass, NameError};
use tar::EntryType;

use crate::name::{classify, components, join, show, Base};
use crate::root::{remove_tree, Root};
use crate::stack::{self, CopyUp, Found, Resolved, Stack};
use crate::sys::{self, cstr, errno};
use crate::{ApplyError, ApplyOptions, ApplyStats, Mode};

/// The most header bytes one entry may carry: its 512-byte header plus any GNU long name, GNU
/// long link, PAX records and GNU sparse maps in front of it. They are held in memory while
/// the entry is read, so they are bounded separately from [`Limits`](crate::Limits); Go's
/// `archive/tar` allows 1 MiB per such record.
pub const MAX_ENTRY_METADATA: u64 = 8 << 20;

/// Applies the layer tar `r` (uncompressed) to the directory `root`.
///
/// Every name and every path an entry touches is resolved as if `root` were `/`: a symlink
/// in the layer, or already in `root`, can point anywhere (that is data), but an entry
/// beneath it lands inside `root`, never on the host. A name whose `..` climbs above the root,
/// a hardlink to something outside, missing or a directory, an unsupported entry type, or a
/// layer beyond `opts.limits` fails the whole apply. See the crate documentation for the
/// treatment of each entry type, existing files, whiteouts and metadata.
///
/// On error `root` is left partly written. Apply into a fresh directory next to the final
/// location and rename it into place on success; discard it on failure.
pub fn apply(root: &Path, r: impl Read, opts: &ApplyOptions) -> Result<ApplyStats, ApplyError> {
    run(root, None, Vec::new(), r, opts, None)
}

/// What [`apply_observed`] reports to its observer while it applies a tar.
#[derive(Debug)]
pub enum Observed<'a> {
    /// An entry is being applied at `path`: its name's components joined with `/`, relative
    /// to the root, `.` and `..` folded lexically (not resolved through symlinks).
    Entry {
        /// The entry's lexical path.
        path: &'a [u8],
        /// What it is.
        kind: ObservedKind,
    },
    /// The next bytes of the content of the [`ObservedKind::File`] entry last reported, in
    /// order, exactly as they are written to the file.
    Data(&'a [u8]),
}

/// The kind of an [`Observed::Entry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObservedKind {
    /// A regular file: its content follows as [`Observed::Data`].
    File,
    /// A symbolic or hard link, or (in [`Mode::Merge`]) a whiteout or opaque marker: an entry
    /// that changes what other paths name or hold.
    Indirect,
    /// Anything else (a directory, a device, a whiteout kept as a file in [`Mode::Unpack`]).
    Other,
}

/// [`apply`], reporting every entry it applies and the content of every regular file to
/// `observer` as it goes (so a caller can hash the files in the same pass that writes them).
/// Entries skipped by the name rules are not reported.
pub fn apply_observed(
    root: &Path,
    r: impl Read,
    opts: &ApplyOptions,
    observer: &mut dyn FnMut(Observed<'_>),
) -> Result<ApplyStats, ApplyError> {
    run(root, None, Vec::new(), r, opts, Some(observer))
}

/// Unpacks the layer tar `r` into the empty directory `upper` *on top of* the layers below
/// it, whose unpacked directories (as this function or [`apply`] in [`Mode::Unpack`] left
/// them) are `lowers`, top first — what containerd does when it applies a layer onto an
/// overlay mount of its parents' snapshots, without the mount. `upper` ends up holding the
/// layer in the same form as [`Mode::Unpack`] (whiteouts and opaque markers as `.wh.` files;
/// `opts.mode` is not consulted), but with every name meaning what it means in the merged view
/// of `upper` over `lowers`:
///
/// - the parent directory of each entry, whiteout and opaque marker, and of each hard link's
///   target, is resolved in that merged view with the image root as `/`: a symlink of a
///   lower layer is followed like one of this layer (`var/run -> /run` below puts
///   `var/run/x` at `run/x`; `etc/.wh.x` under a symlinked `etc` whites out what `etc`
///   resolves to). Parent directories a lower layer provides are copied up (created in
///   `upper` with their mode, owner and times); missing ones are created 0755;
/// - a hard link to an object a lower layer provides copies it up into `upper` at its own
///   (resolved) path first — bytes, mode, owner and times, a symlink as a symlink — and
///   links to the copy (`linkat` without `AT_SYMLINK_FOLLOW`);
/// - an entry's own name is never followed: it replaces what `upper` holds there, and hides
///   whatever a lower layer has there, as overlayfs shows an upper entry over a lower one.
///
/// Nothing in `lowers` is ever written; every write is relative to a descriptor of `upper`
/// reached without following symlinks. The same names in the pure model are computed by
/// `layer_union::Union::build`, so the kernel overlay of such directories and the union view
/// agree. On error `upper` is left partly written: discard it.
pub fn apply_on(
    upper: &Path,
    lowers: &[&Path],
    r: impl Read,
    opts: &ApplyOptions,
) -> Result<ApplyStats, ApplyError> {
    apply_on_at(upper, lowers, b"", r, opts)
}

/// [`apply_on`] for an archive extracted into the directory `dir` of the merged view (a
/// path below the image root, `/`-separated; empty for the root), as Docker extracts one
/// into a container's directory (`docker cp`, `PUT /containers/{id}/archive`): each entry's
/// name, and each hard link's target, is taken relative to `dir`, a `..` climbing above
/// `dir` fails the whole archive ([`ApplyError::LeavesRoot`], a hard link
/// [`ApplyError::Hardlink`]), as Docker refuses a breakout. Everything else is
/// [`apply_on`]'s rule: `dir` and every parent path are resolved in the merged view with
/// the image root as `/` (symlinks of the lower layers and of the archive followed inside
/// the root, absolute ones from the root), an entry's own name is never followed, and the
/// parents it needs are copied up or created in `upper`.
pub fn apply_on_at(
    upper: &Path,
    lowers: &[&Path],
    dir: &[u8],
    r: impl Read,
    opts: &ApplyOptions,
) -> Result<ApplyStats, ApplyError> {
    let at = components(dir)
        .map_err(|_| ApplyError::LeavesRoot { path: show(dir) })?
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    let mut fds = Vec::with_capacity(lowers.len());
    for l in lowers {
        let c = cstr(l.as_os_str().as_bytes())
            .map_err(|e| ApplyError::io("opening lower", l.as_os_str().as_bytes(), e))?;
        fds.push(
            sys::open(&c, libc::O_PATH | libc::O_DIRECTORY)
                .map_err(|e| ApplyError::io("opening lower", l.as_os_str().as_bytes(), e))?,
        );
    }
    run(upper, Some(fds), at, r, opts, None)
}

fn run<'o>(
    root: &Path,
    lowers: Option<Vec<OwnedFd>>,
    at: Vec<Vec<u8>>,
    r: impl Read,
    opts: &ApplyOptions,
    observer: Option<&'o mut (dyn FnMut(Observed<'_>) + 'o)>,
) -> Result<ApplyStats, ApplyError> {
    let root = Root::open(root)
        .map_err(|e| ApplyError::io("opening root", root.as_os_str().as_bytes(), e))?;
    let stack = match lowers {
        None => None,
        Some(fds) => {
            Some(Stack::new(root.fd(), fds).map_err(|e| ApplyError::io("opening root", b"", e))?)
        }
    };
    let budget = Budget {
        remaining: Cell::new(None),
        tripped: Cell::new(false),
    };
    // PAX records and names are read by length, as ingest's checker reads them
    // (`layer_diff::HeaderTap`), never by the tar crate's own PAX parser.
    let tap = HeaderTap::new();
    let mut archive = tar::Archive::new(tap.reader(Guarded {
        inner: r,
        budget: &budget,
    }));
    let mut entries = archive
        .entries()
        .map_err(|source| ApplyError::Tar { source })?;
    let mut applier = Applier {
        root: &root,
        stack: stack.as_ref(),
        at,
        mode: if stack.is_some() {
            Mode::Unpack
        } else {
            opts.mode
        },
        opts,
        stats: ApplyStats::default(),
        written: HashSet::new(),
        dirs: Vec::new(),
        dir_index: HashMap::new(),
        observer,
        copy_buf: Vec::new(),
    };
    loop {
        budget.remaining.set(Some(MAX_ENTRY_METADATA));
        let next = tap.next(&mut entries);
        budget.remaining.set(None);
        let (mut entry, heads) = match next {
            None => break,
            Some(Ok(next)) => next,
            Some(Err(_)) if budget.tripped.get() => {
                return Err(ApplyError::MetadataTooLarge {
                    limit: MAX_ENTRY_METADATA,
                })
            }
            Some(Err(source)) => return Err(ApplyError::Tar { source }),
        };
        applier.entry(&mut entry, &heads)?;
        // Whatever the entry declared and was not used (data on a directory, say) is skipped
        // here, outside the metadata budget.
        io::copy(&mut entry, &mut io::sink()).map_err(|source| ApplyError::Tar { source })?;
    }
    applier.finish()?;
    Ok(applier.stats)
}

/// How many more bytes the tar reader may consume, while it is between entries.
struct Budget {
    remaining: Cell<Option<u64>>,
    tripped: Cell<bool>,
}

/// The input, failing reads beyond the budget while one is set.
struct Guarded<'b, R> {
    inner: R,
    budget: &'b Budget,
}

impl<R: Read> Read for Guarded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.budget.remaining.get() {
            None => self.inner.read(buf),
            Some(0) if !buf.is_empty() => {
                self.budget.tripped.set(true);
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "entry metadata exceeds the limit",
                ))
            }
            Some(left) => {
                let len = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let n = self.inner.read(&mut buf[..len])?;
                self.budget.remaining.set(Some(left - n as u64));
                Ok(n)
            }
        }
    }
}

/// Metadata of one entry, from its header and PAX records.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    /// `[atime, mtime]`, both the entry's mtime.
    times: [libc::timespec; 2],
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A directory whose mode and times are set once its children are written.
struct DirFix {
    path: Vec<u8>,
    mode: u32,
    times: [libc::timespec; 2],
}

struct Applier<'a, 'o> {
    root: &'a Root,
    /// With lower layers: names resolve in the merged view ([`apply_on`]).
    stack: Option<&'a Stack>,
    /// The components of the directory names are relative to ([`apply_on_at`]; empty: the
    /// root).
    at: Vec<Vec<u8>>,
    mode: Mode,
    opts: &'a ApplyOptions,
    stats: ApplyStats,
    /// Paths (lexical, relative) this layer created, for opaque markers.
    written: HashSet<Vec<u8>>,
    /// Directory entries, in tar order.
    dirs: Vec<DirFix>,
    dir_index: HashMap<Vec<u8>, usize>,
    /// Told of every entry and file content ([`apply_observed`]).
    observer: Option<&'o mut (dyn FnMut(Observed<'_>) + 'o)>,
    /// The buffer file contents pass through ([`copy_exact`]), kept from file to file.
    copy_buf: Vec<u8>,
}

/// An entry's content, shown to the observer as it is read.
struct Observing<'o, 'f, R> {
    inner: R,
    observer: &'o mut (dyn FnMut(Observed<'_>) + 'f),
}

impl<R: Read> Read for Observing<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.observer)(Observed::Data(&buf[..n]));
        Ok(n)
    }
}

fn tar_err(source: io::Error) -> ApplyError {
    ApplyError::Tar { source }
}

fn type_flag(ty: EntryType) -> String {
    (ty.as_byte() as char).escape_default().to_string()
}

impl Applier<'_, '_> {
    fn entry<R: Read>(
        &mut self,
        e: &mut tar::Entry<'_, R>,
        h: &EntryHeaders,
    ) -> Result<(), ApplyError> {
        let limits = &self.opts.limits;
        self.stats.entries += 1;
        if self.stats.entries > limits.max_entries {
            return Err(ApplyError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let raw = h.path.clone();
        if raw.is_empty() {
            return Ok(());
        }
        if raw.len() > limits.max_path_len {
            return Err(ApplyError::PathTooLong {
                path: show(&raw),
                len: raw.len(),
                limit: limits.max_path_len,
            });
        }
        if raw.contains(&0) {
            return Err(invalid(&raw, "name contains a NUL byte"));
        }
        let parts = components(&raw).map_err(|_| ApplyError::LeavesRoot { path: show(&raw) })?;
        let longest = parts.iter().map(|p| p.len()).max().unwrap_or(0);
        if longest > limits.max_name_len {
            return Err(ApplyError::NameTooLong {
                path: show(&raw),
                len: longest,
                limit: limits.max_name_len,
            });
        }
        let ty = h.header.entry_type();
        if ty.is_pax_global_extensions() {
            return Ok(());
        }
        // The rule every reader of a layer shares (`layer_diff::check_name`, applied at
        // ingest): AUFS metadata is dropped, a non-directory naming the root is skipped, a
        // whiteout used as a directory is refused.
        let is_dir = ty == EntryType::Directory
            || (matches!(
                ty,
                EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse
            ) && raw.ends_with(b"/"));
        match layer_diff::check_name(&raw, is_dir) {
            Ok(NameClass::AufsMeta | NameClass::SkippedRoot) => return Ok(()),
            Err(e @ NameError::WhiteoutAsDir) => return Err(invalid(&raw, e.reason())),
            _ => {}
        }
        if parts.is_empty() {
            return Ok(()); // the root itself (or the directory extracted into): the caller's
        }
        let at = self.at.clone();
        let mut parts: Vec<&[u8]> = at.iter().map(Vec::as_slice).chain(parts).collect();
        // A 0:0 character device is overlayfs's whiteout, and every reader of a layer takes
        // it so (`layer_diff::EntryKind::char_device`): it applies as the `.wh.` whiteout of
        // its name, so the unpacked layer, the kernel's mount and the merged view agree.
        let whiteout_name;
        let zero = |n: std::io::Result<Option<u32>>| matches!(n, Ok(Some(0)));
        if ty == EntryType::Char && zero(h.header.device_major()) && zero(h.header.device_minor()) {
            let last = parts.last_mut().expect("not empty");
            whiteout_name = [layer_diff::WHITEOUT_PREFIX.as_bytes(), *last].concat();
            *last = &whiteout_name;
        }
        let (&base, parent) = parts.split_last().expect("not empty");
        if let Some(obs) = self.observer.as_mut() {
            let kind = match (self.mode, classify(base)) {
                (Mode::Merge, Base::Whiteout(_) | Base::Opaque) => ObservedKind::Indirect,
                (Mode::Unpack, Base::Whiteout(_) | Base::Opaque) => ObservedKind::Other,
                _ if ty == EntryType::Symlink || ty == EntryType::Link => ObservedKind::Indirect,
                _ if matches!(
                    ty,
                    EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse
                ) =>
                {
                    ObservedKind::File
                }
                _ => ObservedKind::Other,
            };
            obs(Observed::Entry {
                path: &join(&parts),
                kind,
            });
        }
        match (self.mode, classify(base)) {
            (_, Base::Invalid) => Err(invalid(&raw, "whiteout names nothing")),
            (Mode::Merge, Base::Meta) => Ok(()),
            (Mode::Merge, Base::Whiteout(hidden)) => {
                self.stats.whiteouts += 1;
                self.whiteout(parent, hidden, &raw)
            }
            (Mode::Merge, Base::Opaque) => {
                self.stats.whiteouts += 1;
                self.opaque(parent, &raw)
            }
            (Mode::Unpack, Base::Whiteout(_) | Base::Opaque) => {
                self.stats.whiteouts += 1;
                let meta = read_meta(h, &raw)?;
                let (dir, _) = self.parent(parent, &raw)?;
                self.file(dir.as_fd(), base, &raw, None::<&mut io::Empty>, 0, &meta)?;
                self.written.insert(join(&parts));
                Ok(())
            }
            (_, Base::Plain | Base::Meta) => {
                if self.node(e, h, ty, &parts, &raw)? {
                    self.written.insert(join(&parts));
                }
                Ok(())
            }
        }
    }

    /// Creates the entry; false when it was skipped.
    fn node<R: Read>(
        &mut self,
        e: &mut tar::Entry<'_, R>,
        h: &EntryHeaders,
        ty: EntryType,
        parts: &[&[u8]],
        raw: &[u8],
    ) -> Result<bool, ApplyError> {
        let (&base, parent) = parts.split_last().expect("not the root");
        if self.opts.no_overwrite_dir_non_dir {
            let want_dir = ty == EntryType::Directory;
            if let Some(existing_dir) = self.existing_is_dir(parent, base, raw)? {
                if existing_dir != want_dir {
                    let from_root = |p: &[u8]| format!("/{}", show(p));
                    return Err(ApplyError::Overwrite {
                        path: from_root(&join(parts)),
                        dest: from_root(&join(
                            &self.at.iter().map(Vec::as_slice).collect::<Vec<_>>(),
                        )),
                        existing_dir,
                    });
                }
            }
        }
        let limits = &self.opts.limits;
        match ty {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                // The content every reader of a layer reads: a PAX sparse file expanded, its
                // holes zeros that `copy_exact` seeks over, as the `tar` crate expands an
                // old-GNU one.
                let stored = e.size();
                let mut content =
                    layer_diff::EntryContent::new(&mut *e, stored, h).map_err(|err| {
                        // A malformed sparse entry (not a failing reader) is named.
                        match err.get_ref() {
                            Some(s) if s.is::<layer_diff::SparseError>() => {
                                invalid(raw, &err.to_string())
                            }
                            _ => tar_err(err),
                        }
                    })?;
                let e = &mut content;
                let size = e.size();
                let left = limits.max_bytes.saturating_sub(self.stats.bytes);
                if size > left {
                    return Err(ApplyError::TooManyBytes {
                        limit: limits.max_bytes,
                        path: show(raw),
                        size,
                    });
                }
                let meta = read_meta(h, raw)?;
                let (dir, _) = self.parent(parent, raw)?;
                match self.observer.take() {
                    None => self.file(dir.as_fd(), base, raw, Some(e), size, &meta)?,
                    Some(observer) => {
                        let mut seen = Observing { inner: e, observer };
                        let written =
                            self.file(dir.as_fd(), base, raw, Some(&mut seen), size, &meta);
                        self.observer = Some(seen.observer);
                        written?;
                    }
                }
            }
            EntryType::Directory => {
                let meta = read_meta(h, raw)?;
                let (dir, mut path) = self.parent(parent, raw)?;
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(base);
                self.dir(dir.as_fd(), base, path, raw, meta)?;
            }
            EntryType::Symlink => {
                let target = self.link_target(h, raw, "symlink without a target")?;
                let meta = read_meta(h, raw)?;
                let (dir, _) = self.parent(parent, raw)?;
                self.symlink(dir.as_fd(), base, &target, raw, &meta)?;
            }
            EntryType::Link => {
                let target = self.link_target(h, raw, "hardlink without a target")?;
                self.hardlink(parent, base, &target, raw)?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                if !self.opts.create_devices {
                    self.stats.skipped_devices += 1;
                    return Ok(false);
                }
                let (kind, dev) = match ty {
                    EntryType::Fifo => (libc::S_IFIFO, 0),
                    _ => {
                        let h = &h.header;
                        let major = h.device_major().map_err(tar_err)?.unwrap_or(0);
                        let minor = h.device_minor().map_err(tar_err)?.unwrap_or(0);
                        let kind = if ty == EntryType::Char {
                            libc::S_IFCHR
                        } else {
                            libc::S_IFBLK
                        };
                        (kind, libc::makedev(major, minor))
                    }
                };
                let meta = read_meta(h, raw)?;
                let (dir, _) = self.parent(parent, raw)?;
                self.device(dir.as_fd(), base, kind, dev, raw, &meta)?;
            }
            _ => {
                return Err(ApplyError::UnsupportedType {
                    path: show(raw),
                    type_flag: type_flag(ty),
                })
            }
        }
        Ok(true)
    }

    fn link_target(
        &self,
        h: &EntryHeaders,
        raw: &[u8],
        missing: &str,
    ) -> Result<Vec<u8>, ApplyError> {
        let target = h.link.clone();
        if target.is_empty() {
            return Err(invalid(raw, missing));
        }
        if target.len() > self.opts.limits.max_path_len {
            return Err(ApplyError::PathTooLong {
                path: show(&target),
                len: target.len(),
                limit: self.opts.limits.max_path_len,
            });
        }
        if target.contains(&0) {
            return Err(invalid(raw, "link target contains a NUL byte"));
        }
        Ok(target)
    }

    /// What is at the name `base` of the directory `parent` (resolved inside the root, in
    /// the merged view with lower layers, this layer on top; `base` itself not followed):
    /// `Some(true)` a directory, `Some(false)` anything else, `None` nothing. A parent that
    /// does not resolve holds nothing; [`Applier::parent`] then reports why.
    fn existing_is_dir(
        &self,
        parent: &[&[u8]],
        base: &[u8],
        raw: &[u8],
    ) -> Result<Option<bool>, ApplyError> {
        let fail = |e| ApplyError::io("looking up", raw, e);
        if let Some(stack) = self.stack {
            let Ok(r) = stack.resolve_dir(parent) else {
                return Ok(None);
            };
            let Some(dir) = stack.last_dir(&r).map_err(fail)? else {
                return Ok(None);
            };
            return Ok(match stack.lookup(&dir, base).map_err(fail)? {
                Found::Missing => None,
                Found::Dir(_) => Some(true),
                Found::NonDir { .. } => Some(false),
            });
        }
        let Ok(dir) = self.root.open_dir(parent) else {
            return Ok(None);
        };
        let c = cstr(base).map_err(fail)?;
        Ok(sys::lstat_at(dir.as_fd(), &c)
            .map_err(fail)?
            .map(|st| sys::file_type(&st) == libc::S_IFDIR))
    }

    /// The entry's parent directory, resolved inside the root (in the merged view, with lower
    /// layers) and created (0755, or copied up) if missing, and its path below the root as
    /// resolved (as written without lower layers).
    fn parent(&mut self, parts: &[&[u8]], raw: &[u8]) -> Result<(OwnedFd, Vec<u8>), ApplyError> {
        let fail = |e| ApplyError::io("creating parent directory of", raw, e);
        if let Some(stack) = self.stack {
            let r = stack.resolve_dir(parts).map_err(fail)?;
            let fd = self.upper_dirs(&r).map_err(fail)?;
            return Ok((fd, r.names.join(&b'/')));
        }
        let written = &mut self.written;
        let fd = self
            .root
            .mkdir_all(parts, |n| {
                written.insert(join(&parts[..n]));
            })
            .map_err(fail)?;
        Ok((fd, join(parts)))
    }

    /// Opens the directory `r` resolved to in the upper directory, creating what is missing
    /// there: a directory a lower layer provides is copied up (its mode, owner and times, the
    /// mode and times set at the end like a directory entry's), one no layer has is made 0755.
    /// Never follows a symlink: the path is already resolved.
    fn upper_dirs(&mut self, r: &Resolved) -> io::Result<OwnedFd> {
        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        let mut cur = self.root.fd().try_clone_to_owned()?;
        let mut path: Vec<u8> = Vec::new();
        for (i, name) in r.names.iter().enumerate() {
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);
            let c = cstr(name)?;
            match sys::openat(cur.as_fd(), &c, flags, 0) {
                Ok(fd) => {
                    cur = fd;
                    continue;
                }
                Err(e) if errno(&e) == libc::ENOENT => {}
                Err(e) => return Err(e),
            }
            let lower = r
                .dirs
                .get(i)
                .and_then(|d| d.first())
                .filter(|(layer, _)| *layer != 0);
            match lower {
                Some((_, lfd)) => {
                    let st = sys::fstat(lfd.as_fd())?;
                    sys::mkdirat(cur.as_fd(), &c, 0o700)?;
                    if self.opts.same_owner {
                        sys::lchown_at(cur.as_fd(), &c, st.st_uid, st.st_gid)?;
                    }
                    if !self.dir_index.contains_key(&path) {
                        self.dir_index.insert(path.clone(), self.dirs.len());
                        self.dirs.push(DirFix {
                            path: path.clone(),
                            mode: st.st_mode & 0o7777,
                            times: stack::times(&st),
                        });
                    }
                }
                None => {
                    sys::mkdirat(cur.as_fd(), &c, 0o755)?;
                    sys::chmod_at(cur.as_fd(), &c, 0o755)?;
                    self.written.insert(path.clone());
                }
            }
            cur = sys::openat(cur.as_fd(), &c, flags, 0)?;
        }
        Ok(cur)
    }

    /// Clears the way for a new entry `name` in `dir`: an existing non-directory is unlinked,
    /// an existing directory removed recursively unless the new entry is a directory too, in
    /// which case it is kept (true).
    fn replace(
        &self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        want_dir: bool,
        raw: &[u8],
    ) -> Result<bool, ApplyError> {
        let c = cstr(name).map_err(|e| ApplyError::io("replacing", raw, e))?;
        let fail = |e| ApplyError::io("replacing", raw, e);
        match sys::lstat_at(dir, &c).map_err(fail)? {
            None => Ok(false),
            Some(st) if sys::file_type(&st) == libc::S_IFDIR => {
                if want_dir {
                    Ok(true)
                } else {
                    remove_tree(dir, name).map_err(fail)?;
                    Ok(false)
                }
            }
            Some(_) => {
                sys::unlinkat(dir, &c, 0).map_err(fail)?;
                Ok(false)
            }
        }
    }

    fn file(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        raw: &[u8],
        data: Option<&mut impl Read>,
        size: u64,
        meta: &Meta,
    ) -> Result<(), ApplyError> {
        self.replace(dir, name, false, raw)?;
        let c = cstr(name).map_err(|e| ApplyError::io("creating file", raw, e))?;
        let fd = sys::openat(
            dir,
            &c,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
            0o600,
        )
        .map_err(|e| ApplyError::io("creating file", raw, e))?;
        let mut file = File::from(fd);
        if let Some(r) = data {
            copy_exact(r, &mut file, size, raw, &mut self.copy_buf)?;
            self.stats.bytes += size;
        }
        self.owner_fd(file.as_fd(), raw, meta)?;
        sys::fchmod(file.as_fd(), meta.mode)
            .map_err(|e| ApplyError::io("setting mode of", raw, e))?;
        for (k, v) in &meta.xattrs {
            xattr_result(
                cstr(k).and_then(|k| sys::fsetxattr(file.as_fd(), &k, v)),
                raw,
            )?;
        }
        sys::futimens(file.as_fd(), &meta.times)
            .map_err(|e| ApplyError::io("setting times of", raw, e))
    }

    fn dir(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        path: Vec<u8>,
        raw: &[u8],
        meta: Meta,
    ) -> Result<(), ApplyError> {
        let c = cstr(name).map_err(|e| ApplyError::io("creating directory", raw, e))?;
        if !self.replace(dir, name, true, raw)? {
            sys::mkdirat(dir, &c, 0o700)
                .map_err(|e| ApplyError::io("creating directory", raw, e))?;
        }
        self.owner_at(dir, &c, raw, &meta)?;
        if !meta.xattrs.is_empty() {
            // Best effort, as for every xattr: a directory we cannot open gets none.
            if let Ok(fd) = sys::openat(
                dir,
                &c,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                0,
            ) {
                for (k, v) in &meta.xattrs {
                    xattr_result(cstr(k).and_then(|k| sys::fsetxattr(fd.as_fd(), &k, v)), raw)?;
                }
            }
        }
        // Mode and times wait for the children: writing them changes the mtime, and a
        // read-only mode would stop an unprivileged caller from writing them at all.
        let fix = DirFix {
            path: path.clone(),
            mode: meta.mode,
            times: meta.times,
        };
        match self.dir_index.get(&path) {
            Some(&i) => self.dirs[i] = fix,
            None => {
                self.dir_index.insert(path, self.dirs.len());
                self.dirs.push(fix);
            }
        }
        Ok(())
    }

    fn symlink(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        target: &[u8],
        raw: &[u8],
        meta: &Meta,
    ) -> Result<(), ApplyError> {
        self.replace(dir, name, false, raw)?;
        let fail = |e| ApplyError::io("creating symlink", raw, e);
        let c = cstr(name).map_err(fail)?;
        sys::symlinkat(&cstr(target).map_err(fail)?, dir, &c).map_err(fail)?;
        self.owner_at(dir, &c, raw, meta)?;
        self.xattrs_at(dir, name, raw, meta)?;
        sys::lutimes_at(dir, &c, &meta.times)
            .map_err(|e| ApplyError::io("setting times of", raw, e))
    }

    fn hardlink(
        &mut self,
        parent: &[&[u8]],
        name: &[u8],
        target: &[u8],
        raw: &[u8],
    ) -> Result<(), ApplyError> {
        let refuse = |reason| ApplyError::Hardlink {
            path: show(raw),
            target: show(target),
            reason,
        };
        let tparts = components(target).map_err(|_| refuse("target outside the root"))?;
        let at = self.at.clone();
        let tparts: Vec<&[u8]> = at.iter().map(Vec::as_slice).chain(tparts).collect();
        let Some((&tbase, tparent)) = tparts.split_last() else {
            return Err(refuse("target is a directory"));
        };
        if let Some(stack) = self.stack {
            return self.hardlink_on(stack, parent, name, target, tparent, tbase, raw);
        }
        let tdir = match self.root.open_dir(tparent) {
            Ok(fd) => fd,
            Err(e) if matches!(errno(&e), libc::ENOENT | libc::ENOTDIR) => {
                return Err(refuse("target does not exist"))
            }
            Err(e) => return Err(ApplyError::io("resolving hardlink target", target, e)),
        };
        let tname =
            cstr(tbase).map_err(|e| ApplyError::io("resolving hardlink target", target, e))?;
        let tst = match sys::lstat_at(tdir.as_fd(), &tname) {
            Ok(Some(st)) => st,
            Ok(None) => return Err(refuse("target does not exist")),
            Err(e) => return Err(ApplyError::io("resolving hardlink target", target, e)),
        };
        if sys::file_type(&tst) == libc::S_IFDIR {
            return Err(refuse("target is a directory"));
        }
        self.link(tdir.as_fd(), &tname, &tst, parent, name, target, raw)
    }

    /// [`Applier::hardlink`] on top of lower layers: the target is looked up in the merged
    /// view and, when a lower layer provides it, copied up into this layer first.
    #[allow(clippy::too_many_arguments)]
    fn hardlink_on(
        &mut self,
        stack: &Stack,
        parent: &[&[u8]],
        name: &[u8],
        target: &[u8],
        tparent: &[&[u8]],
        tbase: &[u8],
        raw: &[u8],
    ) -> Result<(), ApplyError> {
        let refuse = |reason| ApplyError::Hardlink {
            path: show(raw),
            target: show(target),
            reason,
        };
        let fail = |e| ApplyError::io("resolving hardlink target", target, e);
        if classify(tbase) != Base::Plain {
            return Err(refuse("target is a whiteout"));
        }
        let r = match stack.resolve_dir(tparent) {
            Ok(r) => r,
            Err(e) if stack::is_missing(&e) => return Err(refuse("target does not exist")),
            Err(e) => return Err(fail(e)),
        };
        let Some(tdir) = stack.last_dir(&r).map_err(fail)? else {
            return Err(refuse("target does not exist"));
        };
        let (layer, from, st) = match stack.lookup(&tdir, tbase).map_err(fail)? {
            Found::Missing => return Err(refuse("target does not exist")),
            Found::Dir(_) => return Err(refuse("target is a directory")),
            Found::NonDir { layer, parent, st } => (layer, parent, st),
        };
        let tname = cstr(tbase).map_err(fail)?;
        let upper_tdir = if layer == 0 {
            from
        } else {
            let up = self
                .upper_dirs(&r)
                .map_err(|e| ApplyError::io("copying up hardlink target", target, e))?;
            CopyUp {
                same_owner: self.opts.same_owner,
            }
            .object(from.as_fd(), up.as_fd(), tbase, &st)
            .map_err(|e| ApplyError::io("copying up hardlink target", target, e))?;
            up
        };
        let tst = sys::lstat_at(upper_tdir.as_fd(), &tname)
            .map_err(fail)?
            .ok_or_else(|| refuse("target does not exist"))?;
        self.link(upper_tdir.as_fd(), &tname, &tst, parent, name, target, raw)
    }

    /// Links `name` in the directory `parent` to `tname` in `tdir` (whose `lstat` is `tst`).
    #[allow(clippy::too_many_arguments)]
    fn link(
        &mut self,
        tdir: BorrowedFd<'_>,
        tname: &std::ffi::CStr,
        tst: &libc::stat,
        parent: &[&[u8]],
        name: &[u8],
        target: &[u8],
        raw: &[u8],
    ) -> Result<(), ApplyError> {
        let refuse = |reason| ApplyError::Hardlink {
            path: show(raw),
            target: show(target),
            reason,
        };
        let (dir, _) = self.parent(parent, raw)?;
        let c = cstr(name).map_err(|e| ApplyError::io("creating hardlink", raw, e))?;
        if let Ok(Some(st)) = sys::lstat_at(dir.as_fd(), &c) {
            if st.st_dev == tst.st_dev && st.st_ino == tst.st_ino {
                return Ok(()); // already that file (a link to itself, or a repeated link)
            }
        }
        self.replace(dir.as_fd(), name, false, raw)?;
        match sys::linkat(tdir, tname, dir.as_fd(), &c) {
            Ok(()) => Ok(()),
            // Replacing the destination removed the target (a link onto its own parent).
            Err(e) if errno(&e) == libc::ENOENT => Err(refuse("target does not exist")),
            Err(e) => Err(ApplyError::io("creating hardlink", raw, e)),
        }
    }

    fn device(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        kind: libc::mode_t,
        dev: libc::dev_t,
        raw: &[u8],
        meta: &Meta,
    ) -> Result<(), ApplyError> {
        self.replace(dir, name, false, raw)?;
        let fail = |e| ApplyError::io("creating device", raw, e);
        let c = cstr(name).map_err(fail)?;
        sys::mknodat(dir, &c, kind | 0o600, dev).map_err(fail)?;
        self.owner_at(dir, &c, raw, meta)?;
        sys::chmod_at(dir, &c, meta.mode).map_err(|e| ApplyError::io("setting mode of", raw, e))?;
        self.xattrs_at(dir, name, raw, meta)?;
        sys::lutimes_at(dir, &c, &meta.times)
            .map_err(|e| ApplyError::io("setting times of", raw, e))
    }

    fn owner_fd(&self, fd: BorrowedFd<'_>, raw: &[u8], meta: &Meta) -> Result<(), ApplyError> {
        if !self.opts.same_owner {
            return Ok(());
        }
        sys::fchown(fd, meta.uid, meta.gid).map_err(|e| ApplyError::io("setting owner of", raw, e))
    }

    fn owner_at(
        &self,
        dir: BorrowedFd<'_>,
        name: &std::ffi::CStr,
        raw: &[u8],
        meta: &Meta,
    ) -> Result<(), ApplyError> {
        if !self.opts.same_owner {
            return Ok(());
        }
        sys::lchown_at(dir, name, meta.uid, meta.gid)
            .map_err(|e| ApplyError::io("setting owner of", raw, e))
    }

    /// Extended attributes on something that cannot be opened for them (a symlink, a device):
    /// through `/proc/self/fd/<dir>/<name>`, which names the verified parent descriptor.
    /// Skipped when `/proc` is not mounted.
    fn xattrs_at(
        &self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        raw: &[u8],
        meta: &Meta,
    ) -> Result<(), ApplyError> {
        if meta.xattrs.is_empty() {
            return Ok(());
        }
        use std::os::fd::AsRawFd;
        let mut path = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
        path.extend_from_slice(name);
        let path = cstr(&path).map_err(|e| ApplyError::io("setting xattrs of", raw, e))?;
        for (k, v) in &meta.xattrs {
            match cstr(k).and_then(|k| sys::lsetxattr(&path, &k, v)) {
                Err(e) if errno(&e) == libc::ENOENT => return Ok(()),
                r => xattr_result(r, raw)?,
            }
        }
        Ok(())
    }

    fn whiteout(&mut self, parent: &[&[u8]], hidden: &[u8], raw: &[u8]) -> Result<(), ApplyError> {
        let dir = match self.root.open_dir(parent) {
            Ok(fd) => fd,
            // Nothing there to delete.
            Err(e) if matches!(errno(&e), libc::ENOENT | libc::ENOTDIR) => return Ok(()),
            Err(e) => return Err(ApplyError::io("resolving parent of whiteout", raw, e)),
        };
        remove_tree(dir.as_fd(), hidden).map_err(|e| ApplyError::io("applying whiteout", raw, e))
    }

    /// Removes everything under the directory `parts` that this layer did not write, at any
    /// depth; the directory itself stays. A symlink or missing directory is left alone.
    fn opaque(&mut self, parts: &[&[u8]], raw: &[u8]) -> Result<(), ApplyError> {
        let fail = |e| ApplyError::io("applying opaque marker", raw, e);
        let dir = match parts.split_last() {
            None => self.root.fd().try_clone_to_owned().map_err(fail)?,
            Some((&base, parent)) => {
                let pfd = match self.root.open_dir(parent) {
                    Ok(fd) => fd,
                    Err(e) if matches!(errno(&e), libc::ENOENT | libc::ENOTDIR) => return Ok(()),
                    Err(e) => return Err(fail(e)),
                };
                let c = cstr(base).map_err(fail)?;
                match sys::openat(
                    pfd.as_fd(),
                    &c,
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                    0,
                ) {
                    Ok(fd) => fd,
                    Err(e) if matches!(errno(&e), libc::ENOENT | libc::ENOTDIR | libc::ELOOP) => {
                        return Ok(())
                    }
                    Err(e) => return Err(fail(e)),
                }
            }
        };
        self.clear_unwritten(dir.as_fd(), &join(parts))
            .map_err(fail)
    }

    fn clear_unwritten(&self, dir: BorrowedFd<'_>, path: &[u8]) -> io::Result<()> {
        for child in sys::list_dir(dir)? {
            let mut p = path.to_vec();
            if !p.is_empty() {
                p.push(b'/');
            }
            p.extend_from_slice(&child);
            if !self.written.contains(&p) {
                remove_tree(dir, &child)?;
            } else if let Ok(sub) = sys::openat(
                dir,
                &cstr(&child)?,
                libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                0,
            ) {
                self.clear_unwritten(sub.as_fd(), &p)?;
            }
        }
        Ok(())
    }

    /// Sets directory modes and times, deepest last-written first.
    fn finish(&mut self) -> Result<(), ApplyError> {
        for fix in self.dirs.iter().rev() {
            let parts = components(&fix.path).expect("stored paths are normalised");
            let (&base, parent) = parts.split_last().expect("not the root");
            let Ok(dir) = self.root.open_dir(parent) else {
                continue; // removed by a later entry
            };
            let c = cstr(base).map_err(|e| ApplyError::io("setting mode of", &fix.path, e))?;
            match sys::lstat_at(dir.as_fd(), &c) {
                Ok(Some(st)) if sys::file_type(&st) == libc::S_IFDIR => {}
                _ => continue, // replaced by a later entry
            }
            sys::chmod_at(dir.as_fd(), &c, fix.mode)
                .map_err(|e| ApplyError::io("setting mode of", &fix.path, e))?;
            sys::lutimes_at(dir.as_fd(), &c, &fix.times)
                .map_err(|e| ApplyError::io("setting times of", &fix.path, e))?;
        }
        Ok(())
    }
}

fn invalid(raw: &[u8], reason: &str) -> ApplyError {
    ApplyError::InvalidEntry {
        path: show(raw),
        reason: reason.to_string(),
    }
}

/// Extended attributes are best effort where the file system or privilege says no
/// (`ENOTSUP`, `EPERM`), as in Docker; other failures are errors.
fn xattr_result(r: io::Result<()>, raw: &[u8]) -> Result<(), ApplyError> {
    match r {
        Err(e) if matches!(errno(&e), libc::ENOTSUP | libc::EPERM) => Ok(()),
        r => r.map_err(|e| ApplyError::io("setting xattrs of", raw, e)),
    }
}

/// Copies exactly `size` bytes of entry data into `file`. Runs of zeros are skipped with a
/// seek, so sparse files (and zero-filled ones) stay sparse.
///
/// The data is gathered into blocks of up to [`COPY_BLOCK`] before it is written (a request
/// body arrives in pieces of a few KiB, split by the tar headers between them): a file is
/// written in a few large writes, which the page cache takes far more cheaply than many
/// small unaligned ones. Zeros are looked for in [`HOLE_GRAIN`] pieces of each block.
fn copy_exact(
    r: &mut impl Read,
    file: &mut File,
    size: u64,
    raw: &[u8],
    buf: &mut Vec<u8>,
) -> Result<(), ApplyError> {
    let write_err = |e| ApplyError::io("writing", raw, e);
    let want = usize::try_from(size.min(COPY_BLOCK as u64)).unwrap_or(COPY_BLOCK);
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let mut done = 0u64;
    let mut hole = false;
    while done < size {
        let want = buf
            .len()
            .min(usize::try_from(size - done).unwrap_or(usize::MAX));
        r.read_exact(&mut buf[..want]).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => tar_err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("entry {:?} is truncated", show(raw)),
            )),
            _ => tar_err(e),
        })?;
        let n = want;
        // Each run of data pieces one write, each run of zero pieces one seek.
        let mut at = 0;
        while at < n {
            let zero = is_zero(&buf[at..(at + HOLE_GRAIN).min(n)]);
            let mut end = (at + HOLE_GRAIN).min(n);
            while end < n && is_zero(&buf[end..(end + HOLE_GRAIN).min(n)]) == zero {
                end = (end + HOLE_GRAIN).min(n);
            }
            if zero {
                file.seek(SeekFrom::Current((end - at) as i64))
                    .map_err(write_err)?;
            } else {
                file.write_all(&buf[at..end]).map_err(write_err)?;
            }
            hole = zero;
            at = end;
        }
        done += n as u64;
    }
    if hole {
        file.set_len(size).map_err(write_err)?;
    }
    Ok(())
}

/// The most entry data [`copy_exact`] gathers before writing.
const COPY_BLOCK: usize = 1 << 20;
/// The size of the pieces [`copy_exact`] looks for zeros in: runs of zeros shorter than this
/// are written, longer ones become holes.
const HOLE_GRAIN: usize = 64 << 10;

fn is_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

/// Mode, owner, times and xattrs of an entry.
fn read_meta(heads: &EntryHeaders, raw: &[u8]) -> Result<Meta, ApplyError> {
    let h = &heads.header;
    let old = h.as_old();
    let mode = numeric_as_go(h.mode().map(u64::from), &old.mode)? as u32 & 0o7777;
    let uid = u32::try_from(heads.uid().map_err(tar_err)?)
        .map_err(|_| invalid(raw, "uid does not fit in 32 bits"))?;
    let gid = u32::try_from(heads.gid().map_err(tar_err)?)
        .map_err(|_| invalid(raw, "gid does not fit in 32 bits"))?;
    let mtime = numeric_as_go(h.mtime(), &old.mtime)?;
    let mut mtime = (i64::try_from(mtime).unwrap_or(i64::MAX), 0i64);
    let mut xattrs = Vec::new();
    // PAX records as read by length (`layer_diff::pax_records`), in order.
    for (key, value) in &heads.ext.records {
        if key == b"mtime" {
            if let Some(t) = parse_pax_time(value) {
                mtime = t;
            }
        } else if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
            if xattr_allowed(name) {
                xattrs.push((name.to_vec(), value.clone()));
            }
        }
    }
    let ts = libc::timespec {
        tv_sec: mtime.0 as libc::time_t,
        tv_nsec: mtime.1 as _,
    };
    Ok(Meta {
        mode,
        uid,
        gid,
        times: [ts, ts],
        xattrs,
    })
}

/// Whether an extended attribute from layer content may be applied. Never those that would
/// change the meaning of the store's overlay mount or whose meaning belongs to the host:
/// `trusted.overlay.*` (overlayfs's own `opaque`, `redirect`, `metacopy`, `origin`…),
/// `user.overlay.*` (the same for an overlay mounted with `userxattr`), and `security.*`
/// (SELinux labels, IMA/EVM signatures: the host's policy) except `security.capability`, file
/// capabilities, which images legitimately carry (`ping`) and Docker keeps.
pub(crate) fn xattr_allowed(name: &[u8]) -> bool {
    if crate::pack::is_overlay_xattr(name) {
        return false;
    }
    !name.starts_with(b"security.") || name == b"security.capability"
}

/// A numeric header field as Go's `archive/tar` reads it (`layer_diff::numeric_as_go`), where
/// the `tar` crate would refuse it.
fn numeric_as_go(parsed: io::Result<u64>, field: &[u8]) -> Result<u64, ApplyError> {
    layer_diff::numeric_as_go(parsed, field).map_err(tar_err)
}

/// A PAX time (`1700000000.5`, `-1.25`) as seconds and nanoseconds (nanoseconds in 0..1e9).
fn parse_pax_time(v: &[u8]) -> Option<(i64, i64)> {
    let s = std::str::from_utf8(v).ok()?;
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty()
        || !secs.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let mut nanos: i64 = 0;
    for (i, d) in frac.bytes().take(9).enumerate() {
        nanos += i64::from(d - b'0') * 10i64.pow(8 - i as u32);
    }
    if neg {
        if nanos > 0 {
            Some((-secs - 1, 1_000_000_000 - nanos))
        } else {
            Some((-secs, 0))
        }
    } else {
        Some((secs, nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::{copy_exact, parse_pax_time, COPY_BLOCK, HOLE_GRAIN};
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;

    /// Hands out its bytes a few at a time, as a request body arrives.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(1000);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// Data gathered across reads of any size lands byte-exact; zeros at least a grain long
    /// become holes wherever they fall in a block, a trailing one included; a shorter run of
    /// zeros is data.
    #[test]
    fn copied_data_is_exact_and_long_zero_runs_are_holes() {
        let mut content = vec![7u8; 100 << 10];
        content.extend(vec![0u8; 3 * COPY_BLOCK]); // spans blocks: a hole
        content.extend(b"tail of data");
        content.extend(vec![0u8; HOLE_GRAIN / 2]); // short: written
        content.extend(b"x");
        content.extend(vec![0u8; 2 * HOLE_GRAIN]); // at the end: a hole, then the size
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut file = std::fs::File::create(&path).unwrap();
        let mut buf = Vec::new();
        let size = content.len() as u64;
        copy_exact(&mut Trickle(&content), &mut file, size, b"f", &mut buf).unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), content);
        let allocated = std::fs::metadata(&path).unwrap().blocks() * 512;
        assert!(allocated < (1 << 20), "{allocated} bytes allocated");
        // A short input is refused as truncated.
        let mut file = std::fs::File::create(&path).unwrap();
        let err = copy_exact(&mut Trickle(&content[..10]), &mut file, 11, b"f", &mut buf)
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn pax_times() {
        assert_eq!(parse_pax_time(b"1700000000"), Some((1_700_000_000, 0)));
        assert_eq!(parse_pax_time(b"1.5"), Some((1, 500_000_000)));
        assert_eq!(parse_pax_time(b"1.1234567891"), Some((1, 123_456_789)));
        assert_eq!(parse_pax_time(b"-1.25"), Some((-2, 750_000_000)));
        assert_eq!(parse_pax_time(b"x"), None);
        assert_eq!(parse_pax_time(b""), None);
    }
}
