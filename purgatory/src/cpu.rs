//! What the CPU offers, and SSE switched on for as long as the SHA-NI path runs.

use core::arch::x86_64::{__cpuid, __cpuid_count};
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};

/// CPUID.1:ECX and CPUID.7.0:EBX bits the SHA-NI routine needs (SDM vol. 2A).
const SSSE3: u32 = 1 << 9;
const SSE4_1: u32 = 1 << 19;
const SHA: u32 = 1 << 29;
/// CPUID.1:EDX: FXSR is what CR4.OSFXSR enables; SSE and SSE2 for the moves.
const FXSR_SSE_SSE2: u32 = (1 << 24) | (1 << 25) | (1 << 26);

/// Whether the CPU has everything `sha256::ShaNi` uses.
pub fn has_sha_extensions() -> bool {
    let max_leaf = __cpuid(0).eax;
    if max_leaf < 7 {
        return false;
    }
    let leaf1 = __cpuid(1);
    let leaf7 = __cpuid_count(7, 0);
    leaf1.ecx & (SSSE3 | SSE4_1) == SSSE3 | SSE4_1
        && leaf1.edx & FXSR_SSE_SSE2 == FXSR_SSE_SSE2
        && leaf7.ebx & SHA == SHA
}

/// Runs `f` with SSE enabled (CR0.EM and CR0.TS clear, CR0.MP set,
/// CR4.OSFXSR and CR4.OSXMMEXCPT set) and puts CR0 and CR4 back exactly as
/// they were: the next kernel must find the state the kexec left.
///
/// # Safety
/// Interrupts must be off, and nothing in `f` may rely on CR0/CR4 bits other
/// than these.
pub unsafe fn with_sse<R>(f: impl FnOnce() -> R) -> R {
    let (cr0, cr4) = (Cr0::read_raw(), Cr4::read_raw());
    let sse_cr0 = (cr0 & !(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED).bits())
        | Cr0Flags::MONITOR_COPROCESSOR.bits();
    let sse_cr4 = cr4 | (Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE).bits();
    // SAFETY: these bits only make SSE instructions legal; paging, protection
    // and caching bits are unchanged. The writes are `asm!` without `nomem`,
    // so no memory access moves across them.
    unsafe {
        Cr0::write_raw(sse_cr0);
        Cr4::write_raw(sse_cr4);
    }
    let result = f();
    // SAFETY: restores the values read above.
    unsafe {
        Cr4::write_raw(cr4);
        Cr0::write_raw(cr0);
    }
    result
}
