//! The checker, the host library and the model of the patched kernel give
//! one verdict on every file (see `purgatory-differential`). The bytes are an
//! edit script of the embedded purgatory, or, when they start with the ELF
//! magic, a whole file. A disagreement panics with all the verdicts.
#![no_main]

use purgatory_differential::{KernelModel, apply_edits, compare};
use purgatory_host::PURGATORY_ELF;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let elf = if data.starts_with(b"\x7fELF") {
        data.to_vec()
    } else {
        apply_edits(PURGATORY_ELF, data)
    };
    if let Err(disagreement) = compare(&elf, &KernelModel) {
        panic!("disagreement: {disagreement}");
    }
});
