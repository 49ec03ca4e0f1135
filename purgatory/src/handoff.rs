//! The 64-bit boot protocol hand-off: IDT as found, registers, jump.

use core::arch::asm;
use core::mem::offset_of;
use purgatory_abi::Entry64Regs;

/// Puts back the IDT the kexec left, then loads every register from
/// `entry64_regs` and jumps to its `rip`. The boot GDT and segments were
/// loaded at entry (`gdt::load`) and have not changed since.
///
/// # Safety
/// The segments must have been verified: `entry64_regs.rip` is then the
/// entry of code the loader placed and hashed, which expects the boot
/// protocol's state. (`entry64_regs` itself is the purgatory's own data,
/// which no digest covers, as with Linux's purgatory: the loader vouches
/// for it.)
pub unsafe fn enter_next_kernel() -> ! {
    crate::traps::restore_entry_idt();
    // SAFETY: the caller verified the segments (see `# Safety`), and the CPU
    // is in the state the boot protocol asks for: boot GDT and segments,
    // interrupts off.
    unsafe { load_registers_and_jump() }
}

/// Loads all sixteen general registers from `entry64_regs` and jumps to its
/// `rip`. Every operand is RIP-relative, so no register is needed as a base and
/// the stack is not touched after RSP is replaced.
///
/// # Safety
/// `entry64_regs.rip` must be code that expects this state.
unsafe fn load_registers_and_jump() -> ! {
    // SAFETY: `rip` is a verified entry (this function's `# Safety`); the
    // register block is a static in the image, read RIP-relatively.
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
