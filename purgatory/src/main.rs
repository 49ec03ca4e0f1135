//! The kexec purgatory: the code that runs between the old kernel and the new.
//!
//! `purgatory_start` switches to the image's own stack, checks the SHA-256 of
//! the segments the loader listed, and either hands the CPU to the next kernel
//! through the 64-bit boot protocol or halts it for good. The image is one
//! relocation-free segment, so every address here is computed RIP-relatively.
//! SIMD code exists only in `.text.simd` (the SHA-NI compression), entered
//! only with SSE switched on.
#![no_std]
#![no_main]

mod cpu;
mod entry;
mod handoff;
mod patched;
mod verify;

use purgatory_abi::FLAG_SOFTWARE_SHA256;
use x86_64::instructions::{hlt, interrupts};

/// Called by `purgatory_start` on the purgatory's stack.
extern "C" fn purgatory_main() -> ! {
    if verify_at_boot() == 0 {
        handoff::enter_next_kernel()
    }
    halt_forever()
}

/// The SHA-NI path when the CPU has it and the loader did not ask for the
/// software one; both compute the same digest.
fn verify_at_boot() -> u32 {
    let software = patched::purgatory_flags.read() & FLAG_SOFTWARE_SHA256 != 0;
    if software || !cpu::has_sha_extensions() {
        return verify::purgatory_verify();
    }
    // SAFETY: interrupts are off from kexec to hand-off, and the verification
    // relies on no CR0/CR4 bit but the SSE ones.
    unsafe { cpu::with_sse(|| verify::purgatory_verify_shani()) }
}

/// A refused image must never run: stop here. `hlt` sits in a loop because an
/// NMI wakes the CPU.
fn halt_forever() -> ! {
    loop {
        interrupts::disable();
        hlt();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // A reachable panic would pull in `core::fmt` and `Location` statics, each a
    // relocation. Referencing an undefined symbol turns any panic path that
    // survives optimisation into a link error that names the problem.
    unsafe extern "C" {
        fn purgatory_must_not_contain_a_reachable_panic() -> !;
    }
    // SAFETY: never executed: the link fails if this code is reachable.
    unsafe { purgatory_must_not_contain_a_reachable_panic() }
}
