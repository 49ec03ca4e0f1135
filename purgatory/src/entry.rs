//! `purgatory_start`, the ELF entry, and the stack it switches to.

use core::arch::global_asm;

/// Size of the purgatory's stack; the next kernel gets its top as RSP too.
const STACK_SIZE: usize = 16 * 1024;
/// The SysV ABI wants `rsp + 8` 16-byte aligned at each function entry, so the
/// top is 16-byte aligned and Rust is entered with `call`.
const STACK_ALIGN: usize = 16;

global_asm!(
    include_str!("entry.s"),
    main = sym crate::purgatory_main,
    stack_size = const STACK_SIZE,
    stack_align = const STACK_ALIGN,
);
