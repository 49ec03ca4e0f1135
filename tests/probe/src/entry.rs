//! `probe_start`, the entry: records the CPU state exactly as the purgatory
//! left it, before any instruction can change it, then calls the checks.

use core::arch::global_asm;
use core::cell::UnsafeCell;
use core::mem::offset_of;
use e2e_protocol::control::{CR0_EM, CR0_TS, CR4_OSFXSR};
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

/// The probe's own stack, so a wrong incoming RSP is reported, not used.
const STACK_SIZE: usize = 16 * 1024;

global_asm!(
    include_str!("entry.s"),
    saved = sym SAVED,
    main = sym crate::probe_main,
    stack_size = const STACK_SIZE,
    rax = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, rax),
    rcx = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, rcx),
    rdx = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, rdx),
    rbx = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, rbx),
    rsp = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, rsp),
    rbp = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, rbp),
    rsi = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, rsi),
    rdi = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, rdi),
    r8 = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, r8),
    r9 = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, r9),
    r10 = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, r10),
    r11 = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, r11),
    r12 = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, r12),
    r13 = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, r13),
    r14 = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, r14),
    r15 = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, r15),
    rip = const offset_of!(Saved, regs) + offset_of!(Entry64Regs, rip),
    rflags = const offset_of!(Saved, rflags),
    cs = const offset_of!(Saved, cs),
    ds = const offset_of!(Saved, ds),
    es = const offset_of!(Saved, es),
    ss = const offset_of!(Saved, ss),
    fs = const offset_of!(Saved, fs),
    gs = const offset_of!(Saved, gs),
    gdtr = const offset_of!(Saved, gdtr),
    cr0 = const offset_of!(Saved, cr0),
    cr3 = const offset_of!(Saved, cr3),
    cr4 = const offset_of!(Saved, cr4),
    xmm = const offset_of!(Saved, xmm),
    cr0_em_ts = const CR0_EM | CR0_TS,
    cr4_osfxsr = const CR4_OSFXSR,
);
