//! `probe_start`, the entry: records the CPU state exactly as the purgatory
//! left it, before any instruction can change it, then calls the checks.

use crate::saved::{SAVED, Saved};
use core::arch::global_asm;
use core::mem::offset_of;
use e2e_protocol::control::{CR0_EM, CR0_TS, CR4_OSFXSR};
use purgatory_abi::Entry64Regs;

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
