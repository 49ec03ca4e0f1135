//! The purgatory's logic that needs no hardware: SHA-256 over the loader's
//! region table, the verdict on it, per segment when something differs, the
//! console's text, what an exception handler does, and the descriptors the
//! CPU is given.
//!
//! The binary (`main.rs`) owns what only bare metal has: the entry, the
//! loader-patched statics, the UART, the CPU set-up, the hand-off and the
//! failure policy. Everything here is plain computation on values it is given,
//! so `cargo test -p purgatory --lib` runs it on the host, while the image links
//! the same code.
#![cfg_attr(not(test), no_std)]

pub mod boot;
pub mod descriptors;
pub mod regions;
pub mod report;
pub mod sha256;
pub mod text;
pub mod trap;

#[cfg(test)]
mod testing;
