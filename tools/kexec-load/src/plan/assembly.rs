//! The segments of a payload as they are placed: free RAM, the purgatory
//! being patched (placed first when its address is exact, else after the
//! payload's segments), the segment list and the notes.

use super::error::PlanError;
use super::segment::PlannedSegment;
use crate::layout::{Layout, Policy};
use crate::memmap::MemoryRange;
use crate::report::boot::BootReport;
use purgatory_host::Purgatory;

/// A plan under construction.
#[derive(Debug)]
pub struct Assembly<'m> {
    /// The memory map the next kernel gets (the firmware's, or a crash
    /// kernel's own).
    pub map: &'m [MemoryRange],
    pub purgatory: Purgatory<'static>,
    pub segments: Vec<PlannedSegment>,
    pub notes: Vec<String>,
    /// What a kernel inherits through its boot parameters.
    pub boot: Option<BootReport>,
    /// The free RAM left.
    pub layout: Layout,
    purgatory_policy: Policy,
    purgatory_addr: Option<u64>,
}

impl<'m> Assembly<'m> {
    /// Starts in the free room of `layout` (the RAM of `map`, or a crash
    /// kernel's reservation), with `map` for the next kernel's zero page; an
    /// exact purgatory address is the user's, so it is taken first and
    /// everything else goes around it.
    pub fn new(
        map: &'m [MemoryRange],
        layout: Layout,
        purgatory: Purgatory<'static>,
        purgatory_policy: Policy,
        notes: Vec<String>,
    ) -> Result<Self, PlanError> {
        let mut assembly = Self {
            map,
            purgatory,
            segments: Vec::new(),
            notes,
            boot: None,
            layout,
            purgatory_policy,
            purgatory_addr: None,
        };
        if matches!(purgatory_policy, Policy::Exact(_)) {
            assembly.purgatory_addr()?;
        }
        Ok(assembly)
    }

    /// Where the purgatory goes, placing it on the first call.
    pub fn purgatory_addr(&mut self) -> Result<u64, PlanError> {
        if let Some(addr) = self.purgatory_addr {
            return Ok(addr);
        }
        let image = self.purgatory.image();
        let (size, align) = (image.mem_size(), image.align());
        let addr = self
            .layout
            .place("purgatory", size, align, self.purgatory_policy)?;
        self.purgatory_addr = Some(addr);
        Ok(addr)
    }

    /// How the purgatory's address is chosen.
    pub fn purgatory_policy(&self) -> Policy {
        self.purgatory_policy
    }

    /// Appends a segment; the order is the region table's.
    pub fn push(&mut self, name: &'static str, bytes: Vec<u8>, addr: u64, mem: u64) {
        self.segments
            .push(PlannedSegment::new(name, bytes, addr, mem));
    }
}
