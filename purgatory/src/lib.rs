//! The purgatory's logic that needs no hardware: SHA-256 over the loader's
//! region table and the verdict on it.
//!
//! The binary (`main.rs`) owns what only bare metal has: the entry, the
//! loader-patched statics, the CPU set-up and the hand-off. Everything here is
//! plain computation on values it is given, so `cargo test -p purgatory --lib`
//! runs it on the host, while the image links the same code.
#![cfg_attr(not(test), no_std)]

pub mod regions;
pub mod sha256;
