//! Any bytes given to the checker, and to the loader when they pass its
//! structural rules, give a verdict or a typed error: never a panic, a hang
//! or an out-of-bounds read.
#![no_main]

use purgatory_host::{Purgatory, contract};

libfuzzer_sys::fuzz_target!(|elf: &[u8]| {
    let _ = purgatory_check::check(elf);
    let structural = contract::check_structure(elf);
    let Ok(mut purgatory) = Purgatory::parse(elf) else {
        return;
    };
    // The library accepts exactly what the structural rules pass.
    assert!(matches!(structural, Ok(ref violations) if violations.is_empty()));
    let image = purgatory.image().clone();
    let _ = purgatory.set_segments(&[]);
    let _ = purgatory.set_linux_entry(0x10_0000, 0x100_0000, 0x9_0000);
    let _ = purgatory.place(image.align().wrapping_mul(0x123));
});
