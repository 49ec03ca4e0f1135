//! The purgatory built from this workspace, embedded in the library.
//!
//! `host/purgatory.elf` is the output of `cargo xtask build`, committed, and
//! `cargo xtask test` fails when it differs from what the sources build (the
//! build is bit-reproducible). So a loader gets a working purgatory from a plain
//! `cargo build`, as a path or a registry dependency, without the
//! `x86_64-unknown-none` target or a nested cargo run in a build script.

use crate::load::{LoadError, Purgatory};

/// The ELF file of the purgatory built from this workspace's sources.
pub const PURGATORY_ELF: &[u8] = include_bytes!("../purgatory.elf");

impl Purgatory<'static> {
    /// The embedded purgatory, validated.
    pub fn embedded() -> Result<Self, LoadError> {
        Self::parse(PURGATORY_ELF)
    }
}
