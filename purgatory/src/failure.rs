//! After a failed verification or an exception: never the next kernel. The
//! CPU halts for good, or the machine resets, as the loader chose.

use crate::console::Serial;
use crate::state::PHASE;
use purgatory::report;
use purgatory::text::Sink;
use purgatory::trap::Phase;
use purgatory_abi::FailurePolicy;
use x86_64::VirtAddr;
use x86_64::instructions::port::PortWriteOnly;
use x86_64::instructions::tables::lidt;
use x86_64::instructions::{hlt, interrupts};
use x86_64::structures::DescriptorTablePointer;

/// The reset control register of PC chipsets (PIIX, ICH and successors).
const RESET_CONTROL_PORT: u16 = 0xcf9;
/// Bit 1 asks for a full (platform) reset rather than a CPU-only one; bit 2
/// going from 0 to 1 starts it.
const FULL_RESET: u8 = (1 << 1) | (1 << 2);

/// Says on the console what happens next, then does it. From here on an
/// exception stops at once (`purgatory::trap::action`).
pub fn fail(console: &mut Option<Serial>, policy: FailurePolicy) -> ! {
    PHASE.set(Phase::Stopping);
    report::stopping(console, policy);
    console.drain();
    match policy {
        FailurePolicy::Halt => halt_forever(),
        FailurePolicy::Reset => reset(),
    }
}

/// The policy when stopping itself faulted: nothing that can fault again
/// (no port I/O, no `hlt`), so the handlers cannot recurse.
pub fn last_resort(policy: FailurePolicy) -> ! {
    match policy {
        FailurePolicy::Halt => spin_forever(),
        FailurePolicy::Reset => triple_fault(),
    }
}

/// An NMI wakes the CPU from `hlt`; its handler returns into this loop, which
/// halts again.
fn halt_forever() -> ! {
    loop {
        interrupts::disable();
        hlt();
    }
}

/// Where `hlt` faults (a TDX guest's raises #VE): the CPU stays here, as if
/// halted, with interrupts off. An NMI's handler returns here too.
fn spin_forever() -> ! {
    interrupts::disable();
    loop {
        core::hint::spin_loop();
    }
}

/// The chipset's reset first; where there is none, a triple fault.
fn reset() -> ! {
    // SAFETY: the write resets the machine or, without such a register, is
    // ignored; nothing in memory changes either way.
    unsafe { PortWriteOnly::<u8>::new(RESET_CONTROL_PORT).write(FULL_RESET) };
    triple_fault()
}

/// Resets any PC (and ends a virtual machine run with `-no-reboot`): with no
/// IDT entries, the breakpoint cannot be delivered, nor the #GP or #DF that
/// follow, so the CPU shuts down.
fn triple_fault() -> ! {
    let no_vectors = DescriptorTablePointer {
        limit: 0,
        base: VirtAddr::zero(),
    };
    // SAFETY: interrupts are off, and this is the end of the purgatory: the
    // next instruction shuts the CPU down.
    unsafe { lidt(&no_vectors) };
    interrupts::int3();
    spin_forever()
}
