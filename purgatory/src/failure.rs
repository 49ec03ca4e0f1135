//! After a failed verification: never the next kernel. The CPU halts for
//! good, or the machine resets, as the loader chose.

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

pub fn stop(policy: FailurePolicy) -> ! {
    match policy {
        FailurePolicy::Halt => halt_forever(),
        FailurePolicy::Reset => reset(),
    }
}

/// `hlt` sits in a loop because an NMI wakes the CPU.
fn halt_forever() -> ! {
    loop {
        interrupts::disable();
        hlt();
    }
}

/// The chipset's reset first; where there is none, a triple fault, which
/// resets any PC (and ends a virtual machine run with `-no-reboot`).
fn reset() -> ! {
    // SAFETY: the write resets the machine or, without such a register, is
    // ignored; nothing in memory changes either way.
    unsafe { PortWriteOnly::<u8>::new(RESET_CONTROL_PORT).write(FULL_RESET) };
    let no_vectors = DescriptorTablePointer {
        limit: 0,
        base: VirtAddr::zero(),
    };
    // SAFETY: with no IDT entries, the breakpoint below cannot be delivered,
    // nor the #GP or #DF that follow: the CPU shuts down, which resets it.
    // Interrupts are off, and this is the end of the purgatory either way.
    unsafe { lidt(&no_vectors) };
    interrupts::int3();
    halt_forever()
}
