//! The 64-bit boot protocol hand-off: GDT, segments, registers, jump.

use core::arch::asm;
use core::mem::{offset_of, size_of_val};
use purgatory_abi::{BOOT_CS, BOOT_DS, Entry64Regs};
use x86_64::instructions::segmentation::{CS, DS, ES, FS, GS, SS, Segment};
use purgatory::descriptors::table_pointer;
use x86_64::PrivilegeLevel;
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

/// Loads the boot GDT and segments, then every register from `entry64_regs`,
/// and jumps to its `rip`.
pub fn enter_next_kernel() -> ! {
    let gdtr = table_pointer(BOOT_GDT.as_ptr() as u64, size_of_val(&BOOT_GDT));
    let code = SegmentSelector::new(BOOT_CS >> 3, PrivilegeLevel::Ring0);
    let data = SegmentSelector::new(BOOT_DS >> 3, PrivilegeLevel::Ring0);
    // SAFETY: the GDT is a static that outlives the purgatory, and its code and
    // data descriptors are flat, so reloading the segments below keeps every
    // address meaning what it meant before.
    unsafe {
        lgdt(&gdtr);
        DS::set_reg(data);
        ES::set_reg(data);
        SS::set_reg(data);
        FS::set_reg(data);
        GS::set_reg(data);
        CS::set_reg(code);
        load_registers_and_jump()
    }
}

/// Loads all sixteen general registers from `entry64_regs` and jumps to its
/// `rip`. Every operand is RIP-relative, so no register is needed as a base and
/// the stack is not touched after RSP is replaced.
///
/// # Safety
/// `entry64_regs.rip` must be code that expects this state.
unsafe fn load_registers_and_jump() -> ! {
    // SAFETY: the caller vouches for the target; the block is a static.
    unsafe {
        asm!(
            "mov rax, [rip + {regs} + {rax}]",
            "mov rcx, [rip + {regs} + {rcx}]",
            "mov rdx, [rip + {regs} + {rdx}]",
            "mov rbx, [rip + {regs} + {rbx}]",
            "mov rbp, [rip + {regs} + {rbp}]",
            "mov rsi, [rip + {regs} + {rsi}]",
            "mov rdi, [rip + {regs} + {rdi}]",
            "mov r8, [rip + {regs} + {r8}]",
            "mov r9, [rip + {regs} + {r9}]",
            "mov r10, [rip + {regs} + {r10}]",
            "mov r11, [rip + {regs} + {r11}]",
            "mov r12, [rip + {regs} + {r12}]",
            "mov r13, [rip + {regs} + {r13}]",
            "mov r14, [rip + {regs} + {r14}]",
            "mov r15, [rip + {regs} + {r15}]",
            "mov rsp, [rip + {regs} + {rsp}]",
            "jmp qword ptr [rip + {regs} + {rip}]",
            regs = sym crate::patched::entry64_regs,
            rax = const offset_of!(Entry64Regs, rax),
            rcx = const offset_of!(Entry64Regs, rcx),
            rdx = const offset_of!(Entry64Regs, rdx),
            rbx = const offset_of!(Entry64Regs, rbx),
            rsp = const offset_of!(Entry64Regs, rsp),
            rbp = const offset_of!(Entry64Regs, rbp),
            rsi = const offset_of!(Entry64Regs, rsi),
            rdi = const offset_of!(Entry64Regs, rdi),
            r8 = const offset_of!(Entry64Regs, r8),
            r9 = const offset_of!(Entry64Regs, r9),
            r10 = const offset_of!(Entry64Regs, r10),
            r11 = const offset_of!(Entry64Regs, r11),
            r12 = const offset_of!(Entry64Regs, r12),
            r13 = const offset_of!(Entry64Regs, r13),
            r14 = const offset_of!(Entry64Regs, r14),
            r15 = const offset_of!(Entry64Regs, r15),
            rip = const offset_of!(Entry64Regs, rip),
            options(noreturn)
        )
    }
}
