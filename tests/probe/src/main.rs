//! The register probe: a freestanding payload that `kexec-load --raw` loads
//! in place of a kernel. Entered from the purgatory, it records the CPU state,
//! compares every general register with the `entry64_regs` the loader wrote
//! (RSI points at a copy, see `e2e_protocol::Expectation`), checks CS = 0x10, DS/ES/SS/FS/GS =
//! 0x18, RFLAGS.IF = 0 and the GDT, prints one line per check and a verdict on
//! COM1, and exits QEMU through `isa-debug-exit` with a pass or fail code.
//! It also checks that CR0 and CR4 are what the kexec set up (the purgatory's
//! SHA-NI path turns SSE on and must turn it off again) and that the hash path
//! the XMM registers show is the one CPUID and `purgatory_flags` demand.
//!
//! Like the purgatory it is one relocation-free segment (see `probe.ld`) and
//! runs at any page-aligned address. Its compiled code uses no SSE (the target
//! has none); only the entry code switches SSE on, after recording CR0 and CR4,
//! to store the XMM registers.
#![no_std]
#![no_main]

mod check;
mod entry;
mod port;
mod saved;

use e2e_protocol::protocol::{EXIT_FAIL, EXIT_PASS, PROBE_FAIL, PROBE_PASS};
use port::{Serial, exit_qemu};

/// Called by `probe_start` on the probe's own stack.
extern "C" fn probe_main() -> ! {
    let saved = saved::SAVED.read();
    let mut out = Serial;
    out.str("\n");
    if check::run(&mut out, &saved) {
        out.str(PROBE_PASS)
            .str(": all 17 entry registers, 6 selectors, RFLAGS.IF, the GDT, CR0/CR4 and the hash path are as expected\n");
        exit_qemu(EXIT_PASS)
    }
    out.str(PROBE_FAIL)
        .str(": the hand-off state differs from what the loader asked for (see above)\n");
    exit_qemu(EXIT_FAIL)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // As in the purgatory: a reachable panic would bring `core::fmt` and
    // `Location` statics, i.e. relocations; an undefined symbol turns any
    // surviving panic path into a link error instead.
    unsafe extern "C" {
        fn register_probe_must_not_contain_a_reachable_panic() -> !;
    }
    // SAFETY: never executed: the link fails if this code is reachable.
    unsafe { register_probe_must_not_contain_a_reachable_panic() }
}
