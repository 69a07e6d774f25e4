//! Content-addressed blob store.
//!
//! # On-disk layout
//!
//! Under the store's root:
//!
//! ```text
//! blobs/sha256/<64 hex>   one file per blob, named by the sha256 of its bytes
//! ingest/<pid>-<n>-<random>.tmp
//!                         blobs being written, by process <pid>
//! ```
//!
//! # Visibility invariant
//!
//! A file at `blobs/sha256/<hex>` always holds exactly the bytes whose sha256 is `<hex>`,
//! complete and durable. Writers never write there: a [`BlobWriter`] streams into a temp file
//! in `ingest/` (same file system), hashing as it goes; [`BlobWriter::commit`] checks the
//! digest and size, fsyncs the file, `rename`s it into place (atomic), and fsyncs the
//! directory. A [`BlobStore::writer_prehashed`] writer is for bytes the caller hashes as it
//! writes them (a registry client checking a download); it commits only under the digest the
//! caller checked. Two writers of the same blob may race freely: both hold the same bytes, so
//! whichever rename lands last replaces identical content, and a writer that finds the blob
//! already present simply drops its temp file.
//!
//! A writer that is dropped uncommitted removes its temp file; one whose process died (a
//! SIGKILL, a crash) leaves it behind, and [`BlobStore::open`] removes temp files whose pid is
//! no longer a live process.
//!
//! # Layers
//!
//! [`ingest_layer`] takes a layer as a plain, gzip or zstd tar, validates the tar while
//! streaming it, and stores the *uncompressed* tar under its sha256 (the layer's diff ID).
//! [`ingest_layer_with`] can hand the same uncompressed stream to a [`Tee`] on another thread
//! (an unpacker), so that a layer is decompressed once for both; with
//! [`IngestOptions::hash_only`] it stores nothing, and the caller keeps the layer as given
//! (a registry's compressed blob, written with a [`BlobStore::writer_prehashed`] writer under
//! the digest it checked). [`open_layer`] reads a layer blob back as its tar, decompressing it
//! when it is kept compressed.
//!
//! The validation includes every entry's name, by the rule every reader of a layer shares
//! (`layer_diff::check_name`): a NUL byte, an over-long component or name, a `..` above the
//! root, a whiteout naming nothing or used as a directory refuse the layer before anything is
//! stored; an entry naming the root that is not a directory is reported in
//! [`LayerIngest::warnings`] (readers skip it). Names are otherwise bytes, UTF-8 or not.
//! Sparse entries, old-GNU (`S`) and PAX (GNU tar's formats 0.0, 0.1 and 1.0, which every
//! reader expands as Go's `archive/tar` does: `layer_diff::EntryContent`), may claim at most
//! 64 MiB of holes per layer, and a sparse map every reader would not read the same way, or
//! that Go refuses, refuses the layer; a sparse file counts at its real size in
//! [`LayerIngest::content_size`], as Docker measures it.

#![deny(missing_docs)]

mod content_size;
mod error;
mod layer;
mod store;
mod tarcheck;
#[cfg(test)]
mod tests;

pub use error::{BlobError, ErrorKind, Result};
pub use layer::{
    blob_compression, ingest_layer, ingest_layer_expect, ingest_layer_verified, ingest_layer_with,
    layer_content_size, open_layer, Compression, IngestOptions, LayerIngest, Tee, TeeResult,
};
pub use store::{BlobStore, BlobWriter, VerifiedBlob};
