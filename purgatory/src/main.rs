//! The kexec purgatory: the code that runs between the old kernel and the new.
//!
//! `purgatory_start` switches to the image's own stack, checks the SHA-256 of
//! the segments the loader listed, and either hands the CPU to the next kernel
//! through the 64-bit boot protocol or halts it for good. The image is one
//! relocation-free segment, so every address here is computed RIP-relatively.
#![no_std]
#![no_main]

mod entry;
mod handoff;
mod patched;
mod verify;

use x86_64::instructions::{hlt, interrupts};

/// Called by `purgatory_start` on the purgatory's stack.
extern "C" fn purgatory_main() -> ! {
    if verify::purgatory_verify() == 0 {
        handoff::enter_next_kernel()
    }
    halt_forever()
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
