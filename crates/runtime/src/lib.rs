//! Containers that run: the OCI runtime side of Strata.
//!
//! - [`spec`] builds a container's OCI runtime `config.json` with Docker's defaults
//!   (capabilities, masked paths, mounts, namespaces, the default seccomp profile, limits,
//!   `--user` resolved through the image's files);
//! - [`driver`] drives an OCI runtime (runc, crun, youki) through its command line and
//!   [`driver::probe`]s which one really works on the host;
//! - [`monitor`] is the per-container process that owns the container's stdio, writes the
//!   `json-file` log, serves attach and records the exit in [`state`].
//!
//! It deliberately knows nothing of images, layers or metadata: the engine mounts the root,
//! chooses the options, and copies [`state::ContainerState`] into its records. [`network`] sets
//! up Docker's default bridge network on the host; [`peer`] tells a server whether a loopback
//! client is a process of a container on the host's network. User-defined networks and exec
//! sessions' own monitors are not here yet.

pub mod cgroup;
pub mod driver;
mod error;
pub mod health;
pub mod logfile;
pub mod monitor;
pub mod network;
pub mod peer;
pub mod pty;
pub mod seccomp;
pub mod spec;
pub mod state;
pub mod user;

pub use error::{ErrorKind, Result, RuntimeError};
