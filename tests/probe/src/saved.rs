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
    /// `sidt`'s, likewise.
    pub idtr: [u8; 10],
    pub cr0: u64,
    pub cr3: u64,
    pub cr4: u64,
    /// xmm0-xmm15, read after the control registers were recorded.
    pub xmm: [[u8; 16]; XMM_COUNT],
}

pub const XMM_COUNT: usize = 16;

/// A descriptor-table register as `sgdt` and `sidt` store it.
#[derive(Clone, Copy)]
pub struct TableRegister {
    pub base: u64,
    pub limit: u64,
}

impl TableRegister {
    fn from_bytes(bytes: &[u8; 10]) -> Self {
        let mut base = [0u8; 8];
        base.copy_from_slice(&bytes[2..]);
        Self {
            base: u64::from_le_bytes(base),
            limit: u16::from_le_bytes([bytes[0], bytes[1]]).into(),
        }
    }

    /// One past its last byte; a table that would wrap ends at `u64::MAX`.
    pub fn end(&self) -> u64 {
        self.base.saturating_add(self.limit).saturating_add(1)
    }
}

impl Saved {
    pub fn gdtr(&self) -> TableRegister {
        TableRegister::from_bytes(&self.gdtr)
    }

    pub fn idtr(&self) -> TableRegister {
        TableRegister::from_bytes(&self.idtr)
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
    idtr: [0; 10],
    cr0: 0,
    cr3: 0,
    cr4: 0,
    xmm: [[0; 16]; XMM_COUNT],
};

pub static SAVED: SavedCell = SavedCell(UnsafeCell::new(ZERO_SAVED));
