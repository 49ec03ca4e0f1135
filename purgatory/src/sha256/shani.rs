//! The compression with the CPU's SHA extensions (`shani.s`).
//!
//! Only for a CPU that has SHA, SSSE3 and SSE4.1 and runs with SSE enabled:
//! at boot the purgatory enables it around the call (`cpu::with_sse`); a host
//! process always runs with it.

use super::compress::Compress;

core::arch::global_asm!(include_str!("shani.s"));

unsafe extern "sysv64" {
    fn purgatory_sha256_shani_blocks(state: *mut [u32; 8], blocks: *const [u8; 64], count: usize);
}

/// Compression with `sha256rnds2`.
#[derive(Debug)]
pub enum ShaNi {}

impl Compress for ShaNi {
    fn compress(state: &mut [u32; 8], blocks: &[[u8; 64]]) {
        // SAFETY: the routine reads exactly `blocks.len()` 64-byte blocks and
        // writes the eight state words, both through valid references. Its
        // instructions need SSE enabled, which every caller of the SHA-NI
        // path ensures (see the module doc).
        unsafe { purgatory_sha256_shani_blocks(state, blocks.as_ptr(), blocks.len()) }
    }
}
