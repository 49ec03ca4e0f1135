//! The contract checker's verdicts: the built purgatory is clean, and each
//! rule catches its breach on a mutated copy of the real image or on a small
//! purpose-built input, naming exactly what is wrong. Garbage never panics.
//!
//! Mutations find what they patch through the image's own tables, with
//! `elf-edit`, so they follow the code when it moves; the contract values
//! they assert (sizes, names) are literals, so a changed constant shows up
//! here. One module per family of rules.

mod agreement;
mod code;
mod dynamic;
mod header;
mod inputs;
mod sections;
mod simd;
mod symbols;

use elf_edit::Elf;
use purgatory_abi::PATCHED_SYMBOLS;
use purgatory_check::{Violation, check};
use purgatory_differential::CONTRACT_SYMBOLS;
use purgatory_tests::built_purgatory;

fn missing_contract_symbols() -> Vec<Violation> {
    CONTRACT_SYMBOLS
        .iter()
        .map(|&symbol| Violation::MissingSymbol { symbol })
        .collect()
}

/// The built purgatory, ready to read and edit.
fn built_elf() -> Elf {
    Elf::parse(built_purgatory()).expect("the built purgatory is a readable ELF64")
}

/// The checker's verdict on the real image after `mutate`.
fn mutated(mutate: impl FnOnce(&mut Elf) -> elf_edit::Result<()>) -> Vec<Violation> {
    let mut elf = built_elf();
    mutate(&mut elf).expect("the mutation applies to the built purgatory");
    check(elf.bytes()).expect("a mutated image is still a readable ELF")
}

fn rules(verdict: &[Violation]) -> Vec<&'static str> {
    verdict.iter().map(Violation::rule).collect()
}

fn lines(verdict: &[Violation]) -> String {
    verdict
        .iter()
        .map(|v| format!("\n  [{}] {v}", v.rule()))
        .collect()
}

#[test]
fn the_built_purgatory_is_clean() {
    let verdict = check(&built_purgatory()).expect("the built purgatory is a readable ELF");
    assert_eq!(verdict, vec![], "{}", lines(&verdict));
}

#[test]
fn the_abi_sizes_are_the_kernels() {
    let sizes: Vec<(&str, u64)> = PATCHED_SYMBOLS.iter().map(|p| (p.name, p.size)).collect();
    assert_eq!(
        sizes,
        [
            ("purgatory_sha_regions", 256),
            ("purgatory_sha256_digest", 32),
            ("entry64_regs", 136),
            ("purgatory_flags", 8),
            ("purgatory_console_port", 2),
            ("purgatory_segment_digests", 512)
        ]
    );
}
