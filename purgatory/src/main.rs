//! The kexec purgatory: the code that runs between the old kernel and the new.
//!
//! `purgatory_start` switches to the image's own stack, loads the boot GDT and
//! an IDT of its own (an exception is reported and ends in the failure policy,
//! an NMI is returned from), checks the SHA-256 of the segments the loader
//! listed, and either hands the CPU to the next kernel through the 64-bit boot
//! protocol or stops it for good (halt or reset). With a console port patched
//! in, it says what it does on a 16550 UART. The image
//! is one relocation-free segment, so every address here is computed
//! RIP-relatively. SIMD code exists only in `.text.simd` (the SHA-NI
//! compression), entered only with SSE switched on. The logic that needs no
//! hardware is in the library (`lib.rs`), tested on the host.
#![no_std]
#![no_main]

mod console;
mod cpu;
mod entry;
mod failure;
mod gdt;
mod handoff;
mod patched;
mod state;
mod traps;
mod verify;

use console::Serial;
use purgatory::report;
use purgatory::sha256::{ShaNi, Soft};
use purgatory::text::Sink;
use purgatory_abi::{Cpuid, FailurePolicy, HashPath};

/// Called by `purgatory_start` on the purgatory's stack.
extern "C" fn purgatory_main() -> ! {
    gdt::load();
    traps::install();
    let mut console = Serial::open(patched::purgatory_console_port.read());
    let flags = patched::purgatory_flags.read();
    let path = HashPath::select(flags, &Cpuid::read());
    report::started(&mut console, &patched::purgatory_sha_regions.read(), path);
    let verified = match path {
        HashPath::Software => verify::at_boot::<Soft>(&mut console),
        // SAFETY: interrupts are off from kexec to hand-off, and the
        // verification relies on no CR0/CR4 bit but the SSE ones.
        HashPath::ShaNi => unsafe { cpu::with_sse(|| verify::at_boot::<ShaNi>(&mut console)) },
    };
    if verified {
        report::jumping(&mut console, patched::entry64_regs.read().rip);
        console.drain();
        // SAFETY: the regions hash to the loader's digest: the code at
        // `entry64_regs.rip` is what the loader placed there.
        unsafe { handoff::enter_next_kernel() }
    }
    failure::fail(&mut console, FailurePolicy::from_flags(flags))
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
