//! SSE switched on for as long as the SHA-NI path runs.

use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};

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
