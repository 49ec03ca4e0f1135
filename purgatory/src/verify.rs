//! SHA-256 over the loader's region table, compared with its digest.

use crate::patched::{purgatory_sha_regions, purgatory_sha256_digest};
use crate::sha256::{Compress, Sha256, ShaNi, Soft};
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
    match digest_of_regions::<C>() {
        Some(digest) if digest == purgatory_sha256_digest.read() => 0,
        _ => 1,
    }
}

/// One SHA-256 over every region in index order, or `None` when an entry
/// cannot be read as memory (see [`region_bytes`]).
fn digest_of_regions<C: Compress>() -> Option<[u8; 32]> {
    let mut hasher = Sha256::<C>::new();
    for region in purgatory_sha_regions.read() {
        if region.len != 0 {
            hasher.update(region_bytes(region)?);
        }
    }
    Some(hasher.finalize())
}

/// The bytes of a non-empty region. `None` for a region at address 0 or one
/// that wraps or exceeds `isize::MAX` bytes: no loader produces those, and
/// Rust cannot name them as a slice, so they count as a mismatch.
fn region_bytes(region: ShaRegion) -> Option<&'static [u8]> {
    let len = isize::try_from(region.len).ok()?.unsigned_abs();
    region.start.checked_add(region.len)?;
    if region.start == 0 {
        return None;
    }
    // SAFETY: the range is non-null, does not wrap and is at most isize::MAX
    // bytes. Addresses are identity-mapped while the purgatory runs, the loader
    // vouches that each region is memory it loaded, and nothing writes it
    // while it is borrowed.
    Some(unsafe { core::slice::from_raw_parts(region.start as *const u8, len) })
}
