//! Rules 4 and 9: readable section headers and symbol table, and one
//! executable section.

use crate::{missing_contract_symbols, mutated};
use elf_edit::field::{
    E_SHNUM, E_SHSTRNDX, SH_ADDR, SH_ENTSIZE, SH_FLAGS, SH_LINK, SH_SIZE, SH_TYPE,
};
use elf_edit::goblin::elf::section_header::{SHF_EXECINSTR, SHT_PROGBITS};
use purgatory_abi::{ENTRY_SYMBOL, VERIFY_SYMBOL};
use purgatory_check::{SectionProblem, Violation};

// --- Rule 4: section headers and the symbol table ---------------------------

#[test]
fn no_section_headers_is_reported() {
    let mut shoff = 0;
    let verdict = mutated(|elf| {
        shoff = elf.header()?.e_shoff;
        elf.set_header(E_SHNUM, 0)
    });
    let mut expected = vec![
        Violation::SectionHeaders { shnum: 0, shoff },
        Violation::MissingSymtab,
    ];
    expected.extend(missing_contract_symbols());
    assert_eq!(verdict, expected);
}

#[test]
fn section_names_that_cannot_be_read_are_reported() {
    let mut shstrndx = 0;
    let verdict = mutated(|elf| {
        shstrndx = elf.section(".symtab")?.index as u16;
        elf.set_header(E_SHSTRNDX, shstrndx.into())
    });
    assert_eq!(verdict[0], Violation::SectionNames { shstrndx });
    // Without names `.text.simd` cannot be told apart: its SIMD code counts
    // as ordinary code, which is the safe reading.
    for violation in &verdict[1..] {
        let rule = violation.rule();
        assert!(
            ["code-sections", "simd-instruction"].contains(&rule),
            "{violation}"
        );
    }
}

#[test]
fn a_section_past_the_end_of_the_file_is_reported() {
    let mut offset = 0;
    let verdict = mutated(|elf| {
        offset = elf.section(".rodata")?.header.sh_offset;
        elf.set_section(".rodata", SH_SIZE, 1 << 40)
    });
    assert_eq!(
        verdict,
        [Violation::SectionOutsideFile {
            section: ".rodata".into(),
            offset,
            size: 1 << 40
        }]
    );
}

#[test]
fn a_section_whose_offset_is_not_its_address_is_reported() {
    let mut offset = 0;
    let verdict = mutated(|elf| {
        offset = elf.section(".rodata")?.header.sh_offset;
        elf.set_section(".rodata", SH_ADDR, offset + 0x10)
    });
    assert_eq!(
        verdict,
        [Violation::SectionAddress {
            section: ".rodata".into(),
            offset,
            addr: offset + 0x10
        }]
    );
}

#[test]
fn a_missing_symtab_is_reported() {
    let verdict = mutated(|elf| elf.set_section(".symtab", SH_TYPE, SHT_PROGBITS.into()));
    let mut expected = vec![Violation::MissingSymtab];
    expected.extend(missing_contract_symbols());
    assert_eq!(verdict, expected);
    assert_eq!(
        verdict[0].to_string(),
        "missing .symtab: loaders find the patched symbols through it"
    );
}

#[test]
fn a_symtab_not_linked_to_a_string_table_is_reported() {
    for link in [0, 99] {
        let verdict = mutated(|elf| elf.set_section(".symtab", SH_LINK, link.into()));
        let mut expected = vec![Violation::SymtabLink {
            section: ".symtab".into(),
            link,
        }];
        // Without names, no contract symbol can be found either.
        expected.extend(missing_contract_symbols());
        assert_eq!(verdict, expected);
    }
}

#[test]
fn a_symtab_with_a_wrong_entry_size_is_reported() {
    let verdict = mutated(|elf| elf.set_section(".symtab", SH_ENTSIZE, 16));
    let mut expected = vec![Violation::SymtabEntrySize {
        section: ".symtab".into(),
        entsize: 16,
    }];
    expected.extend(missing_contract_symbols());
    assert_eq!(verdict, expected);
}

// --- Rule 9: one executable section --------------------------------------------

#[test]
fn a_second_executable_section_is_named() {
    let verdict = mutated(|elf| {
        // .bss has no file bytes, so nothing else gets disassembled.
        let flags = elf.section(".bss")?.header.sh_flags;
        elf.set_section(".bss", SH_FLAGS, flags | u64::from(SHF_EXECINSTR))
    });
    assert_eq!(
        verdict,
        [Violation::CodeSections {
            sections: vec![".text".into(), ".bss".into()]
        }]
    );
    assert!(verdict[0].to_string().contains(".text, .bss"));
}

#[test]
fn no_executable_section_is_reported() {
    let verdict = mutated(|elf| {
        let flags = elf.section(".text")?.header.sh_flags;
        elf.set_section(".text", SH_FLAGS, flags & !u64::from(SHF_EXECINSTR))
    });
    let not_executable = |symbol| Violation::SymbolSection {
        symbol,
        problem: SectionProblem::NotExecutable {
            section: ".text".into(),
        },
    };
    assert_eq!(
        verdict,
        [
            not_executable(ENTRY_SYMBOL),
            not_executable(VERIFY_SYMBOL),
            Violation::CodeSections { sections: vec![] },
        ]
    );
}
