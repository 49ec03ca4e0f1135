//! SIMD only in `.text.simd`, and only where the SSE set-up (the CR4 write)
//! comes first on every path.

use crate::{built_elf, lines, mutated, rules};
use elf_edit::field::{E_ENTRY, ST_SHNDX, ST_VALUE};
use elf_edit::goblin::elf::section_header::SHF_EXECINSTR;
use purgatory_abi::{ENTRY_SYMBOL, SIMD_SECTION};
use purgatory_check::{Violation, check};

// --- SIMD only in .text.simd, and only after the SSE set-up ------------------------

#[test]
fn simd_code_in_its_own_section_is_allowed() {
    let elf = built_elf();
    let flags = elf.section(".text.simd").unwrap().header.sh_flags;
    assert_ne!(
        flags & u64::from(SHF_EXECINSTR),
        0,
        ".text.simd must be executable"
    );
    // The real image has its SHA-NI code there and passes.
    assert_eq!(check(elf.bytes()), Ok(vec![]));
}

/// The real image with the first `limit` CR4 writes in `.text` (in address
/// order) turned into NOPs; `mov cr4, r64` is 0f 22 /r with reg = 4.
fn without_cr4_writes(limit: usize) -> Vec<Violation> {
    mutated(|elf| {
        let code = elf.section_bytes_mut(".text")?;
        let mut removed = 0;
        for at in 0..code.len() - 2 {
            if removed < limit
                && code[at] == 0x0f
                && code[at + 1] == 0x22
                && code[at + 2] & 0xf8 == 0xe0
            {
                code[at..at + 3].fill(0x90);
                removed += 1;
            }
        }
        assert!(removed > 0, "the purgatory has no CR4 write to remove");
        Ok(())
    })
}

fn assert_simd_before_sse(verdict: &[Violation]) {
    assert!(
        !verdict.is_empty(),
        "SIMD reachable without the SSE set-up passed"
    );
    for violation in verdict {
        assert_eq!(violation.rule(), "simd-before-sse", "{violation}");
        let Violation::SimdBeforeSse { target, .. } = violation else {
            unreachable!()
        };
        assert_eq!(target, "purgatory_sha256_shani_blocks");
    }
}

#[test]
fn simd_reached_without_any_cr4_write_is_reported() {
    assert_simd_before_sse(&without_cr4_writes(usize::MAX));
}

#[test]
fn simd_reached_before_sse_is_switched_on_is_reported() {
    // Without the write that enables SSE, the restore opens the window only
    // after the SHA-NI call: that call now runs with SSE off.
    assert_simd_before_sse(&without_cr4_writes(1));
}

#[test]
fn an_entry_point_in_the_simd_section_is_reported() {
    // purgatory_start at the start of .text.simd, e_entry with it: the
    // kernel enters there with SSE off, so no path need reach it.
    let verdict = mutated(|elf| {
        let simd = elf.section(SIMD_SECTION)?;
        let entry = simd.header.sh_addr;
        elf.set_header(E_ENTRY, entry)?;
        elf.set_symbol(ENTRY_SYMBOL, ST_VALUE, entry)?;
        elf.set_symbol(ENTRY_SYMBOL, ST_SHNDX, simd.index as u64)
    });
    assert_eq!(rules(&verdict), ["entry-in-simd"], "{}", lines(&verdict));
    assert!(
        verdict[0].to_string().contains(SIMD_SECTION),
        "{}",
        verdict[0]
    );
}
