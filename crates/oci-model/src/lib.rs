//! Digests, descriptors, manifests, indexes and image configs as the OCI image-spec and
//! Docker's v2 schema 2 define them.
//!
//! Pure: no I/O, no clock. Image configs keep their exact raw bytes elsewhere (the image ID is
//! the sha256 of those bytes); the typed [`ImageConfig`] here is for reading fields, and unknown
//! fields survive a round trip through [`ImageConfig::extra`].
//!
//! Deliberately absent: schema 1 manifests, signatures, artifact handling.
#![deny(missing_docs)]

mod arch;
mod digest;
mod model;

pub use arch::{go_arch, host_arch, normalize_arch};
pub use digest::{chain_id, Digest, DigestError, Sha256Writer};
pub use model::{
    media_types, Descriptor, ExecConfig, History, ImageConfig, Index, Manifest, Platform, RootFs,
};
