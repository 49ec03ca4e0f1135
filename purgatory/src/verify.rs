//! SHA-256 over the loader's region table, compared with its digest.

use crate::patched::{purgatory_sha_regions, purgatory_sha256_digest};
use purgatory::regions::{Memory, addressable, digest_of_regions};
use purgatory::sha256::{Compress, ShaNi, Soft};
use purgatory_abi::ShaRegion;

/// Software path: returns 0 when the regions hash to the expected digest, 1
/// otherwise.
///
/// The entry point runs this same code, so a host process that calls the
/// exported symbol runs exactly what a kexec runs.
#[unsafe(no_mangle)]
pub extern "C" fn purgatory_verify() -> u32 {
    verdict::<Soft>()
}

/// The same check with the SHA extensions; SSE must already be enabled (as in
/// a host process, or inside `cpu::with_sse`).
#[unsafe(no_mangle)]
pub extern "C" fn purgatory_verify_shani() -> u32 {
    verdict::<ShaNi>()
}

fn verdict<C: Compress>() -> u32 {
    match digest_of_regions::<C>(&purgatory_sha_regions.read(), &IdentityMapped) {
        Some(digest) if digest == purgatory_sha256_digest.read() => 0,
        _ => 1,
    }
}

/// Physical memory, which the kexec identity-maps while the purgatory runs.
struct IdentityMapped;

impl Memory for IdentityMapped {
    fn bytes(&self, region: ShaRegion) -> Option<&[u8]> {
        let len = addressable(region)?;
        // SAFETY: `addressable` vouches that the range is non-null, does not
        // wrap and is at most isize::MAX bytes. Addresses are identity-mapped
        // while the purgatory runs, the loader vouches that each region is
        // memory it loaded, and nothing writes it while it is borrowed.
        Some(unsafe { core::slice::from_raw_parts(region.start as *const u8, len) })
    }
}
