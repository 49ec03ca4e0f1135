//! The next kernel's segments as the purgatory verifies them: each one's
//! region, and the digests over their memory.

use purgatory_abi::{NO_SEGMENT_DIGEST, SHA_REGION_COUNT, SegmentDigests, Sha256Digest, ShaRegion};
use sha2::{Digest, Sha256};

use super::error::LoadError;
use crate::contract::{ADDRESS_LIMIT, MAX_ZERO_TAIL};

/// One segment of the next kernel's image, as `kexec_segment` describes it:
/// `bytes` are copied to physical address `addr`, and the rest of `mem_size`
/// is zero-filled.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// The contents; at most `mem_size` bytes.
    pub bytes: &'a [u8],
    /// Physical load address.
    pub addr: u64,
    /// Bytes of memory the segment occupies (Linux rounds it to pages).
    pub mem_size: u64,
}

/// The region a segment contributes, its whole memory size, once the
/// segment is one the purgatory can verify in reasonable time.
pub(super) fn segment_region(index: usize, segment: &Segment<'_>) -> Result<ShaRegion, LoadError> {
    let len = segment.bytes.len() as u64;
    if len > segment.mem_size {
        return Err(LoadError::SegmentBytesExceedMemSize {
            index,
            len,
            mem_size: segment.mem_size,
        });
    }
    let (addr, mem_size) = (segment.addr, segment.mem_size);
    let Some(end) = addr.checked_add(mem_size) else {
        return Err(LoadError::SegmentWraps {
            index,
            addr,
            mem_size,
        });
    };
    if end > ADDRESS_LIMIT {
        return Err(LoadError::SegmentAboveLimit {
            index,
            addr,
            mem_size,
        });
    }
    if addr == 0 && mem_size != 0 {
        return Err(LoadError::SegmentAtAddressZero { index });
    }
    let tail = mem_size - len;
    if tail > MAX_ZERO_TAIL {
        return Err(LoadError::SegmentZeroTailTooLong { index, tail });
    }
    Ok(ShaRegion {
        start: addr,
        len: mem_size,
    })
}

/// The first pair of regions (in list order) that share an address.
pub(super) fn check_overlaps(regions: &[ShaRegion]) -> Result<(), LoadError> {
    for (first, a) in regions.iter().enumerate() {
        for (second, b) in regions.iter().enumerate().skip(first + 1) {
            let address = a.start.max(b.start);
            // Validated regions end at or below 2^52: no sum overflows.
            if address < (a.start + a.len).min(b.start + b.len) {
                return Err(LoadError::SegmentsOverlap {
                    first,
                    second,
                    address,
                });
            }
        }
    }
    Ok(())
}

/// SHA-256 over each segment's bytes and zero tail, in order, and of each
/// segment alone: one pass over the memory feeds both.
pub(super) fn segments_digests(segments: &[Segment<'_>]) -> (Sha256Digest, SegmentDigests) {
    let mut all = Sha256::new();
    let mut each = [NO_SEGMENT_DIGEST; SHA_REGION_COUNT];
    for (segment, digest) in segments.iter().zip(&mut each) {
        let mut own = Sha256::new();
        for chunk in segment_memory(segment) {
            all.update(chunk);
            own.update(chunk);
        }
        *digest = own.finalize().into();
    }
    (all.finalize().into(), each)
}

/// A segment's memory as the purgatory will read it: its bytes, then zeros up
/// to its memory size (which `segment_region` checked is not smaller).
fn segment_memory<'s>(segment: &Segment<'s>) -> impl Iterator<Item = &'s [u8]> {
    static ZEROS: [u8; 4096] = [0; 4096];
    let tail = segment.mem_size.saturating_sub(segment.bytes.len() as u64);
    let zeros = (0..tail).step_by(ZEROS.len()).map(move |done| {
        let chunk = (tail - done).min(ZEROS.len() as u64);
        &ZEROS[..chunk as usize]
    });
    core::iter::once(segment.bytes).chain(zeros)
}
