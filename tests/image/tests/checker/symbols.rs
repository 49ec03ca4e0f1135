//! Rules 5 to 8: no undefined or instrumentation symbols, the entry point,
//! the contract symbols (present, global, where and as large as the kernel
//! expects), and `entry64_regs` shipped as zeros.

use crate::{CONTRACT_SYMBOLS, built_elf, mutated};
use elf_edit::field::{E_ENTRY, SH_TYPE, ST_SHNDX, ST_SIZE, ST_VALUE};
use elf_edit::goblin::elf::section_header::{SHN_ABS, SHN_COMMON, SHN_UNDEF, SHT_NOBITS};
use elf_edit::goblin::elf::sym::{STB_LOCAL, STB_WEAK, STT_FUNC, st_type};
use elf_edit::{Elf, Symbol};
use purgatory_abi::{
    ENTRY_SYMBOL, ENTRY64_REGS_SYMBOL, PATCHED_SYMBOLS, SEGMENT_DIGESTS_SYMBOL,
    SHA256_DIGEST_SYMBOL, STACK_END_SYMBOL, VERIFY_SYMBOL,
};
use purgatory_check::{SectionProblem, Violation};

/// A function symbol that is not part of the contract, with a name of at least `len` bytes.
fn other_function(elf: &Elf, len: usize) -> elf_edit::Result<Symbol> {
    let function = elf.symbols()?.into_iter().find(|s| {
        st_type(s.sym.st_info) == STT_FUNC
            && s.name.len() >= len
            && !CONTRACT_SYMBOLS.contains(&s.name.as_str())
    });
    Ok(function.expect("the built purgatory has a non-contract function"))
}

// --- Rule 5: undefined and instrumentation symbols --------------------------

#[test]
fn an_undefined_symbol_is_named() {
    let mut name = String::new();
    let verdict = mutated(|elf| {
        name = other_function(elf, 1)?.name;
        elf.set_symbol(&name, ST_SHNDX, SHN_UNDEF.into())
    });
    assert_eq!(
        verdict,
        [Violation::UndefinedSymbol {
            symbol: name.clone()
        }]
    );
    assert!(verdict[0].to_string().contains(&format!("`{name}`")));
}

#[test]
fn instrumentation_symbols_are_named() {
    for name in [
        "__stack_chk_fail",
        "__x86_return_thunk",
        "__x86_indirect_thunk_rax",
        "__fentry__",
        "mcount",
        "__asan_load8",
    ] {
        let verdict = mutated(|elf| {
            let function = other_function(elf, name.len())?;
            elf.rename_symbol(&function.name, name)
        });
        assert_eq!(
            verdict,
            [Violation::InstrumentationSymbol {
                symbol: name.into()
            }]
        );
    }
}

// --- Rule 6: the entry point ---------------------------------------------------

#[test]
fn an_entry_point_off_the_entry_symbol_is_reported() {
    let mut start = 0;
    let verdict = mutated(|elf| {
        start = elf.symbol(ENTRY_SYMBOL)?.sym.st_value;
        elf.set_header(E_ENTRY, start + 1)
    });
    assert_eq!(
        verdict,
        [Violation::EntryPoint {
            entry: start + 1,
            symbol_value: start
        }]
    );
}

#[test]
fn entry_and_verify_outside_executable_sections_are_reported() {
    for symbol in [ENTRY_SYMBOL, VERIFY_SYMBOL] {
        let (value, size) = {
            let sym = built_elf().symbol(symbol).unwrap().sym;
            (sym.st_value, sym.st_size)
        };
        let verdict = mutated(|elf| {
            let data = elf.section(".data")?.index as u64;
            elf.set_symbol(symbol, ST_SHNDX, data)
        });
        // The code stayed in .text, so it is not inside .data either.
        assert_eq!(
            verdict,
            [
                Violation::SymbolSection {
                    symbol,
                    problem: SectionProblem::NotExecutable {
                        section: ".data".into()
                    }
                },
                Violation::SymbolOutsideSection {
                    symbol,
                    value,
                    size,
                    section: ".data".into()
                }
            ]
        );
    }
}

// --- Rule 7: the contract symbols ----------------------------------------------

#[test]
fn each_missing_contract_symbol_is_named() {
    for symbol in CONTRACT_SYMBOLS {
        let verdict = mutated(|elf| elf.rename_symbol(symbol, &format!("X{}", &symbol[1..])));
        assert_eq!(verdict, [Violation::MissingSymbol { symbol }]);
    }
}

#[test]
fn each_contract_symbol_must_be_global() {
    for symbol in CONTRACT_SYMBOLS {
        for binding in [STB_LOCAL, STB_WEAK] {
            let verdict = mutated(|elf| elf.set_symbol_binding(symbol, binding));
            assert_eq!(verdict, [Violation::SymbolBinding { symbol, binding }]);
        }
    }
}

#[test]
fn contract_symbols_in_special_sections_are_refused() {
    let shnum = usize::from(built_elf().header().unwrap().e_shnum);
    let cases = [
        (SHN_ABS, SectionProblem::Absolute),
        (SHN_COMMON, SectionProblem::Common),
        (
            shnum as u32,
            SectionProblem::OutOfRange {
                shndx: shnum,
                shnum,
            },
        ),
    ];
    for symbol in [ENTRY64_REGS_SYMBOL, STACK_END_SYMBOL] {
        for (shndx, problem) in cases.clone() {
            let mut verdict = mutated(|elf| elf.set_symbol(symbol, ST_SHNDX, shndx.into()));
            // An index past the table is also refused as an entry of it,
            // whatever the symbol (Linux's check of every entry).
            if matches!(problem, SectionProblem::OutOfRange { .. }) {
                let entry = verdict.remove(0);
                assert!(
                    matches!(entry, Violation::SymbolSectionIndex { shndx: s, shnum: n, .. } if s == shnum && n == shnum),
                    "{entry:?}"
                );
            }
            assert_eq!(verdict, [Violation::SymbolSection { symbol, problem }]);
        }
    }
}

#[test]
fn an_undefined_contract_symbol_is_refused_and_named() {
    let verdict = mutated(|elf| elf.set_symbol(SHA256_DIGEST_SYMBOL, ST_SHNDX, SHN_UNDEF.into()));
    assert_eq!(
        verdict,
        [
            Violation::UndefinedSymbol {
                symbol: "purgatory_sha256_digest".into()
            },
            Violation::SymbolSection {
                symbol: SHA256_DIGEST_SYMBOL,
                problem: SectionProblem::Undefined
            },
        ]
    );
}

#[test]
fn patched_symbols_in_a_bss_section_are_refused() {
    let mut expected = Vec::new();
    let verdict = mutated(|elf| {
        let shndx = elf.symbol(ENTRY64_REGS_SYMBOL)?.sym.st_shndx;
        let section = elf.section_at(usize::from(shndx))?;
        elf.set_section(&section.name, SH_TYPE, SHT_NOBITS.into())?;
        for patched in PATCHED_SYMBOLS {
            if elf.symbol(patched.name)?.sym.st_shndx == shndx {
                expected.push(Violation::SymbolSection {
                    symbol: patched.name,
                    problem: SectionProblem::Bss {
                        section: section.name.clone(),
                    },
                });
            }
        }
        Ok(())
    });
    assert_eq!(verdict, expected);
    assert!(
        verdict[0].to_string().contains("is in a bss section"),
        "{}",
        verdict[0]
    );
}

#[test]
fn each_patched_symbol_size_is_exact() {
    let contract = [
        ("purgatory_sha_regions", 256),
        ("purgatory_sha256_digest", 32),
        ("entry64_regs", 136),
        ("purgatory_flags", 8),
        ("purgatory_console_port", 2),
        ("purgatory_segment_digests", 512),
    ];
    for patched in PATCHED_SYMBOLS {
        let (_, expected) = contract
            .iter()
            .find(|(name, _)| *name == patched.name)
            .unwrap();
        let verdict = mutated(|elf| elf.set_symbol(patched.name, ST_SIZE, expected - 1));
        assert_eq!(
            verdict,
            [Violation::SymbolSize {
                symbol: patched.name,
                expected: *expected,
                actual: expected - 1
            }]
        );
        assert!(verdict[0].to_string().contains("size mismatch"));
    }
}

#[test]
fn a_patched_symbol_outside_the_file_backed_segment_is_reported() {
    for value in [Some(16), Some(0), None] {
        let mut expected = None;
        let verdict = mutated(|elf| {
            let filesz = elf.program_header(0)?.p_filesz;
            // `filesz - 16` straddles the end; `u64::MAX - 8` wraps around.
            let value = value.map_or(u64::MAX - 8, |back| filesz - back);
            expected = Some(Violation::SymbolOutsideFile {
                symbol: SHA256_DIGEST_SYMBOL,
                value,
                size: 32,
                filesz,
            });
            elf.set_symbol(SHA256_DIGEST_SYMBOL, ST_VALUE, value)
        });
        assert_eq!(verdict, [expected.unwrap()]);
    }
}

#[test]
fn a_patched_symbol_ending_at_the_end_of_the_file_backed_segment_is_fine() {
    // The per-segment digests are the last patched symbol: put (or keep)
    // them flush with the end of the file bytes.
    let verdict = mutated(|elf| {
        let filesz = elf.program_header(0)?.p_filesz;
        elf.set_symbol(SEGMENT_DIGESTS_SYMBOL, ST_VALUE, filesz - 512)
    });
    assert_eq!(verdict, []);
}

// --- Rule 8: entry64_regs ships as zeros ----------------------------------------

#[test]
fn non_zero_entry64_regs_are_reported() {
    let mut address = 0;
    let verdict = mutated(|elf| {
        address = elf.symbol(ENTRY64_REGS_SYMBOL)?.sym.st_value;
        elf.symbol_bytes_mut(ENTRY64_REGS_SYMBOL)?[0x80] = 1; // rip
        Ok(())
    });
    assert_eq!(
        verdict,
        [Violation::Entry64RegsNotZero {
            address,
            offset: 0x80
        }]
    );
}
