//! The boot protocol's GDT, loaded at entry: the kexec leaves a null GDT (or,
//! from Linux 6.15, one in its control page), and both an exception's
//! delivery and the hand-off need code at `BOOT_CS` and data at `BOOT_DS`.

use core::mem::size_of_val;
use purgatory::descriptors::table_pointer;
use purgatory_abi::{BOOT_CS, BOOT_DS};
use x86_64::PrivilegeLevel;
use x86_64::instructions::segmentation::{CS, DS, ES, FS, GS, SS, Segment};
use x86_64::instructions::tables::lgdt;
use x86_64::structures::gdt::{DescriptorFlags, SegmentSelector};

/// Descriptors in slot `selector / 8`; 0x00 and 0x08 stay null.
const GDT_LEN: usize = (BOOT_DS as usize >> 3) + 1;

/// Flat 64-bit code at `BOOT_CS` and flat data at `BOOT_DS`. It holds no
/// address (the GDTR is built at run time), so it needs no relocation, and it
/// lives in the image, which the next kernel leaves alone until it loads its
/// own GDT.
static BOOT_GDT: [u64; GDT_LEN] = {
    let mut gdt = [0; GDT_LEN];
    gdt[(BOOT_CS >> 3) as usize] = DescriptorFlags::KERNEL_CODE64.bits();
    gdt[(BOOT_DS >> 3) as usize] = DescriptorFlags::KERNEL_DATA.bits();
    gdt
};

/// The code segment, for the IDT's gates.
pub const CODE: SegmentSelector = SegmentSelector::new(BOOT_CS >> 3, PrivilegeLevel::Ring0);
const DATA: SegmentSelector = SegmentSelector::new(BOOT_DS >> 3, PrivilegeLevel::Ring0);

/// Loads the boot GDT, DS, ES, SS, FS and GS with `BOOT_DS`, and CS with
/// `BOOT_CS` (a far return): the state the next kernel is handed.
pub fn load() {
    let gdtr = table_pointer(BOOT_GDT.as_ptr() as u64, size_of_val(&BOOT_GDT));
    // SAFETY: the GDT is a static that outlives the purgatory, and its code
    // and data descriptors are flat, so reloading the segments below keeps
    // every address meaning what it meant before.
    unsafe {
        lgdt(&gdtr);
        DS::set_reg(DATA);
        ES::set_reg(DATA);
        SS::set_reg(DATA);
        FS::set_reg(DATA);
        GS::set_reg(DATA);
        CS::set_reg(CODE);
    }
}
