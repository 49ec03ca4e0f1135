//! The verification against what the loader patched in, at boot and from the
//! exported entries that let a host process run the shipped bytes.

use crate::console::Serial;
use crate::patched::{purgatory_segment_digests, purgatory_sha_regions, purgatory_sha256_digest};
use crate::state::HASHING;
use core::arch::x86_64::_rdtsc;
use purgatory::boot::{self, Expected};
use purgatory::regions::{Memory, addressable, failing_segments};
use purgatory::sha256::{Compress, ShaNi, Soft};
use purgatory_abi::ShaRegion;

/// Whether the regions hash to the expected digest, with the console lines
/// when there is a console (see `purgatory::boot::verify`).
pub fn at_boot<C: Compress>(console: &mut Option<Serial>) -> bool {
    let (regions, digest) = (purgatory_sha_regions.read(), purgatory_sha256_digest.read());
    let segment_digests = purgatory_segment_digests.read();
    let expected = Expected {
        regions: &regions,
        digest: &digest,
        segment_digests: &segment_digests,
    };
    boot::verify::<C>(console, &expected, &IdentityMapped, tsc)
}

/// Software path: returns 0 when the regions hash to the expected digest, 1
/// otherwise.
///
/// The entry point runs this same code (with a console when it has one), so
/// a host process that calls the exported symbol runs what a kexec runs.
#[unsafe(no_mangle)]
pub extern "C" fn purgatory_verify() -> u32 {
    u32::from(!at_boot::<Soft>(&mut None))
}

/// The same check with the SHA extensions; SSE must already be enabled (as in
/// a host process, or inside `cpu::with_sse`).
#[unsafe(no_mangle)]
pub extern "C" fn purgatory_verify_shani() -> u32 {
    u32::from(!at_boot::<ShaNi>(&mut None))
}

/// The segments a failure names, as a bitmask (bit `i` for region `i`); the
/// second pass of a failed boot with a console, without the console.
#[unsafe(no_mangle)]
pub extern "C" fn purgatory_failing_segments() -> u32 {
    failing::<Soft>()
}

/// The same with the SHA extensions; SSE must already be enabled.
#[unsafe(no_mangle)]
pub extern "C" fn purgatory_failing_segments_shani() -> u32 {
    failing::<ShaNi>()
}

fn failing<C: Compress>() -> u32 {
    let regions = purgatory_sha_regions.read();
    let digests = purgatory_segment_digests.read();
    failing_segments::<C>(&regions, &digests, &IdentityMapped, |_| {})
}

fn tsc() -> u64 {
    // SAFETY: RDTSC only reads the time-stamp counter, which every x86_64
    // CPU has and CPL 0 (or a host process) may read.
    unsafe { _rdtsc() }
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

    fn hashing(&self, index: Option<usize>) {
        HASHING.set(index);
    }
}
