//! The checker, the host library and the patched kernel's own
//! `kexec_file.c` (compiled for user space, see `purgatory-differential`)
//! give one verdict on every file. The bytes are an edit script of the
//! embedded purgatory, or, when they start with the ELF magic, a whole file.
//! A disagreement panics with all the verdicts. Built without a kernel tree
//! (`cargo xtask fuzz` names one), it refuses to run.
#![no_main]

use std::sync::LazyLock;

use purgatory_differential::{Kernel, apply_edits, compare};
use purgatory_host::PURGATORY_ELF;

static KERNEL: LazyLock<Kernel> =
    LazyLock::new(|| Kernel::built().unwrap_or_else(|why| panic!("{why}")));

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let elf = if data.starts_with(b"\x7fELF") {
        data.to_vec()
    } else {
        apply_edits(PURGATORY_ELF, data)
    };
    if let Err(disagreement) = compare(&elf, Some(&*KERNEL)) {
        panic!("disagreement: {disagreement}");
    }
});
