//! One `kexec_segment` of the plan, and the rounding `kexec_load` wants.

use crate::layout::PAGE_SIZE;
use purgatory_abi::Sha256Digest;
use purgatory_host::Segment;

/// One `kexec_segment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedSegment {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub addr: u64,
    /// Page-aligned, at least `bytes.len()`; the rest is zero-filled.
    pub mem_size: u64,
    /// Its entry in the purgatory's `purgatory_segment_digests` (its bytes,
    /// then zeros to `mem_size`) when it is in the region table; `None` when
    /// the purgatory does not verify it.
    pub digest: Option<Sha256Digest>,
}

impl PlannedSegment {
    /// A segment not (yet) verified; `mem` is rounded up to whole pages and
    /// to at least the bytes.
    pub fn new(name: &'static str, bytes: Vec<u8>, addr: u64, mem: u64) -> Self {
        let mem_size = mem.max(bytes.len() as u64).div_ceil(PAGE_SIZE) * PAGE_SIZE;
        Self {
            name,
            bytes,
            addr,
            mem_size,
            digest: None,
        }
    }

    pub fn end(&self) -> u64 {
        self.addr + self.mem_size
    }

    /// Listed in the purgatory's region table.
    pub fn verified(&self) -> bool {
        self.digest.is_some()
    }

    /// The region the host library hashes and lists.
    pub fn region(&self) -> Segment<'_> {
        Segment {
            bytes: &self.bytes,
            addr: self.addr,
            mem_size: self.mem_size,
        }
    }
}
