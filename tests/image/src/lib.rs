//! Shared helpers for the tests of the built purgatory.

use std::path::PathBuf;

use purgatory_host::Segment;

/// Where `cargo xtask build` writes the purgatory, unless `PURGATORY_ELF` says otherwise.
pub fn built_purgatory_path() -> PathBuf {
    match std::env::var_os("PURGATORY_ELF") {
        Some(path) => PathBuf::from(path),
        // This package is two levels below the workspace root.
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/purgatory/purgatory.elf")
        }
    }
}

/// The bytes of the built purgatory. Fails the test with the command to run
/// when it has not been built: these tests judge the shipped artifact, so
/// skipping them silently would hide a missing build.
pub fn built_purgatory() -> Vec<u8> {
    let path = built_purgatory_path();
    std::fs::read(&path).unwrap_or_else(|err| {
        panic!(
            "cannot read the purgatory at {}: {err}; run `cargo xtask build` first (`cargo xtask test` does)",
            path.display()
        )
    })
}

/// Each buffer as a segment where it lies in this process, as a hosted run
/// reads it: the address a loader would have copied it to is its own.
pub fn segments_in_place(buffers: &[Vec<u8>]) -> Vec<Segment<'_>> {
    buffers
        .iter()
        .map(|bytes| Segment {
            bytes,
            addr: bytes.as_ptr() as u64,
            mem_size: bytes.len() as u64,
        })
        .collect()
}
