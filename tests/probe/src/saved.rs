//! The CPU state `probe_start` records at entry, before any instruction can
//! change it; the checks read it afterwards.

use core::cell::UnsafeCell;
use purgatory_abi::Entry64Regs;

/// The CPU state at entry, written once by `probe_start`.
#[repr(C)]
// No Debug: `core::fmt` would bring tables of pointers, i.e. relocations.
#[derive(Clone, Copy)]
#[allow(missing_docs)]
pub struct Saved {
    /// The sixteen general registers as found; `rip` is where the CPU entered.
    pub regs: Entry64Regs,
    pub rflags: u64,
    pub cs: u16,
    pub ds: u16,
    pub es: u16,
    pub ss: u16,
    pub fs: u16,
    pub gs: u16,
    /// `sgdt`'s 10 bytes: limit (u16), then base (u64), unaligned.
    pub gdtr: [u8; 10],
    pub cr0: u64,
    pub cr3: u64,
    pub cr4: u64,
    /// xmm0-xmm15, read after the control registers were recorded.
    pub xmm: [[u8; 16]; XMM_COUNT],
}

pub const XMM_COUNT: usize = 16;

impl Saved {
    pub fn gdt_limit(&self) -> u16 {
        u16::from_le_bytes([self.gdtr[0], self.gdtr[1]])
    }

    pub fn gdt_base(&self) -> u64 {
        let mut base = [0u8; 8];
        base.copy_from_slice(&self.gdtr[2..]);
        u64::from_le_bytes(base)
    }
}

/// Written by the entry code only, read once afterwards.
#[repr(transparent)]
pub struct SavedCell(UnsafeCell<Saved>);

// SAFETY: the probe runs on one CPU with interrupts off; the entry code writes
// the cell before any Rust code runs, and Rust only reads it afterwards.
unsafe impl Sync for SavedCell {}

impl SavedCell {
    /// The state `probe_start` recorded.
    pub fn read(&self) -> Saved {
        // SAFETY: the pointer comes from a live static, aligned for `Saved`;
        // the entry code finished writing it before calling into Rust.
        unsafe { self.0.get().read_volatile() }
    }
}

const ZERO_SAVED: Saved = Saved {
    regs: Entry64Regs::ZERO,
    rflags: 0,
    cs: 0,
    ds: 0,
    es: 0,
    ss: 0,
    fs: 0,
    gs: 0,
    gdtr: [0; 10],
    cr0: 0,
    cr3: 0,
    cr4: 0,
    xmm: [[0; 16]; XMM_COUNT],
};

pub static SAVED: SavedCell = SavedCell(UnsafeCell::new(ZERO_SAVED));
