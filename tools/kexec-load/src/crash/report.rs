//! The crash part of a plan: where the reservation is, what the ELF core
//! headers hold, the capture kernel's memory map and how much room the
//! kernel keeps for itself. The plan carries it; `--json` prints it under
//! `crash` and the table as `  crash ` lines.

use super::elfcore::{Load, LoadKind};
use super::sources::{CpuNote, NoteRange};
use super::span::Span;
use crate::memmap::{E820_RAM, MemoryRange};
use serde::{Deserialize, Serialize};
use std::io::{self, Write};

/// Everything a crash load decided besides the segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrashReport {
    /// `crashk_res`: every segment and the kernel's control pages are in it.
    pub reservation: Span,
    /// With `crashkernel=…,high`: the part below 4 GiB, the capture kernel's
    /// RAM for DMA; no segment goes there.
    pub low_reservations: Vec<Span>,
    /// `crashkernel=…,cma` areas (7.x): RAM for the capture kernel.
    pub cma: Vec<Span>,
    /// The ELF core headers' segment.
    pub elfcorehdr: Span,
    /// Their bytes (the rest of the segment is zero).
    pub elfcorehdr_bytes: u64,
    /// What the capture kernel's command line starts with.
    pub param: String,
    /// A PT_NOTE per CPU.
    pub notes: Vec<CpuNote>,
    /// The VMCOREINFO PT_NOTE.
    pub vmcoreinfo: NoteRange,
    /// The PT_LOADs: the kernel text, then the RAM to dump.
    pub loads: Vec<Load>,
    /// The capture kernel's e820 map.
    pub memmap: Vec<MapEntry>,
    /// What the kernel needs free in the reservation for its control pages.
    pub control_room: u64,
    /// What no segment takes.
    pub free: u64,
}

/// One e820 entry of the capture kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapEntry {
    pub start: u64,
    pub end: u64,
    #[serde(rename = "type")]
    pub e820_type: u32,
    pub name: String,
}

impl From<&MemoryRange> for MapEntry {
    fn from(range: &MemoryRange) -> Self {
        Self {
            start: range.start,
            end: range.end,
            e820_type: range.e820_type,
            name: range.name.clone(),
        }
    }
}

impl CrashReport {
    /// The bytes the dump will hold (the PT_LOADs).
    pub fn dumped_bytes(&self) -> u64 {
        self.loads.iter().map(|load| load.size).sum()
    }

    /// The table's `  crash ` lines.
    pub fn print(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "  crash        reservation {} (crashkernel=), {:#x} bytes free, {:#x} kept for the kernel's control pages",
            self.reservation, self.free, self.control_room
        )?;
        for low in &self.low_reservations {
            writeln!(
                out,
                "  crash        low reservation {low}: the capture kernel's RAM below 4 GiB"
            )?;
        }
        for cma in &self.cma {
            writeln!(
                out,
                "  crash        CMA area {cma}: the capture kernel's RAM, not dumped"
            )?;
        }
        let text = self.loads.iter().find(|l| l.what == LoadKind::KernelText);
        writeln!(
            out,
            "  crash        {}: {} CPU note(s), VMCOREINFO at {:#x}, {} PT_LOAD(s), {} MiB to dump{}",
            self.param,
            self.notes.len(),
            self.vmcoreinfo.addr,
            self.loads.len(),
            self.dumped_bytes() >> 20,
            text.map_or_else(String::new, |t| format!(
                " (kernel text {:#x} at {:#x})",
                t.vaddr, t.paddr
            ))
        )?;
        for note in &self.notes {
            writeln!(
                out,
                "  crash        cpu{} notes at {:#x}, {} bytes",
                note.cpu, note.addr, note.size
            )?;
        }
        let ram: u64 = self
            .memmap
            .iter()
            .filter(|e| e.e820_type == E820_RAM)
            .map(|e| e.end - e.start)
            .sum();
        writeln!(
            out,
            "  crash        the capture kernel's memory map: {} entries, {} MiB of RAM",
            self.memmap.len(),
            ram >> 20
        )?;
        for entry in &self.memmap {
            writeln!(
                out,
                "  crash          {:#018x}..{:#018x} {}",
                entry.start, entry.end, entry.name
            )?;
        }
        Ok(())
    }
}
