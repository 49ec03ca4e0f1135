//! The descriptor-table pointers (GDTR, IDTR) and interrupt gates the
//! purgatory loads. The image runs wherever it was copied, so every address
//! in them is the run-time address of a table or handler, taken whole: the
//! kexec identity map puts the image at its physical address, anywhere below
//! 2^52, and under 5-level paging such an address is canonical up to 2^56.
//! Narrowing it to 48 bits (as `VirtAddr::new_truncate` does) would load a
//! wrong base as soon as the image sits at or above 128 TiB.

use x86_64::VirtAddr;
use x86_64::structures::DescriptorTablePointer;
use x86_64::structures::gdt::SegmentSelector;
use x86_64::structures::idt::{Entry, HandlerFunc};

/// The pointer `lgdt`/`lidt` take for a table of `size` bytes (1 to 65536)
/// at `base`.
pub fn table_pointer(base: u64, size: usize) -> DescriptorTablePointer {
    DescriptorTablePointer {
        limit: size.saturating_sub(1) as u16,
        base: whole(base),
    }
}

/// An interrupt gate to `handler` through the code segment `code`: present,
/// DPL 0, no IST (the handler runs on the stack it interrupts), and IF stays
/// clear in the handler.
pub fn interrupt_gate(handler: u64, code: SegmentSelector) -> Entry<HandlerFunc> {
    let mut gate = Entry::missing();
    // SAFETY: this builds a value; whoever loads it into a live IDT vouches
    // that `handler` is a handler (see `traps::install` in the image).
    unsafe {
        gate.set_handler_addr(whole(handler))
            .set_code_selector(code)
    };
    gate
}

/// `address` unchanged. `VirtAddr` assumes 48-bit canonical addresses, but
/// only its `u64` reaches the CPU here.
fn whole(address: u64) -> VirtAddr {
    // SAFETY: the value goes into a descriptor-table register or a gate, both
    // of which take all 64 bits; nothing here treats it as a 48-bit address.
    unsafe { VirtAddr::new_unsafe(address) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::addresses_below_2_52;
    use x86_64::PrivilegeLevel;

    /// The 10 bytes the CPU reads: limit (16 bits), then base (64 bits).
    fn pointer_bytes(pointer: &DescriptorTablePointer) -> [u8; 10] {
        const _: () = assert!(size_of::<DescriptorTablePointer>() == 10);
        // SAFETY: the pointer is 10 bytes of plain integers, no padding.
        unsafe { core::mem::transmute_copy(pointer) }
    }

    /// The 16 bytes of a gate.
    fn gate_bytes(gate: &Entry<HandlerFunc>) -> [u8; 16] {
        const _: () = assert!(size_of::<Entry<HandlerFunc>>() == 16);
        // SAFETY: a gate is 16 bytes of plain integers, no padding.
        unsafe { core::mem::transmute_copy(gate) }
    }

    #[test]
    fn a_table_pointer_holds_the_whole_base_anywhere_below_2_52() {
        for base in addresses_below_2_52() {
            let encoded = pointer_bytes(&table_pointer(base, 32));
            assert_eq!(encoded[..2], 31u16.to_le_bytes(), "limit at {base:#x}");
            assert_eq!(encoded[2..], base.to_le_bytes(), "base {base:#x}");
        }
        assert_eq!(pointer_bytes(&table_pointer(0x3000, 512))[..2], [0xff, 1]);
    }

    /// SDM vol. 3A, 6.14.1 "64-Bit Mode IDT", figure 6-8: offset 15:0,
    /// selector, IST (bits 2:0) and zeros, type and attributes, offset
    /// 31:16, offset 63:32, reserved.
    #[test]
    fn a_gate_holds_the_whole_handler_address_anywhere_below_2_52() {
        let code = SegmentSelector::new(2, PrivilegeLevel::Ring0);
        let handlers = addresses_below_2_52().into_iter().map(|base| base + 0x1e5);
        for handler in handlers.chain([u64::MAX - 0x10, 0xffff_ff80_0000_0123]) {
            let bytes = gate_bytes(&interrupt_gate(handler, code));
            let offset = handler.to_le_bytes();
            assert_eq!(bytes[0..2], offset[0..2], "offset 15:0 of {handler:#x}");
            assert_eq!(bytes[2..4], 0x10u16.to_le_bytes(), "selector");
            assert_eq!(bytes[4], 0, "IST 0");
            // P = 1, DPL = 0, 0, type 0xE (64-bit interrupt gate).
            assert_eq!(bytes[5], 0x8e, "type and attributes");
            assert_eq!(bytes[6..8], offset[2..4], "offset 31:16 of {handler:#x}");
            assert_eq!(bytes[8..12], offset[4..8], "offset 63:32 of {handler:#x}");
            assert_eq!(bytes[12..16], [0; 4], "reserved");
        }
    }
}
