//! The contract checker's verdicts: the built purgatory is clean, and each
//! rule catches its breach on a mutated copy of the real image or on a small
//! purpose-built input, naming exactly what is wrong. Garbage never panics.
//!
//! Mutations locate what they patch through the image's own tables (see
//! [`Elf`]), so they follow the code when it moves; the contract values they
//! assert (sizes, names) are literals, so a changed constant shows up here.

use purgatory_abi::{
    ENTRY_SYMBOL, ENTRY64_REGS_SYMBOL, PATCHED_SYMBOLS, SHA256_DIGEST_SYMBOL, STACK_END_SYMBOL,
    VERIFY_SYMBOL,
};
use purgatory_host::check::{
    InstructionSite, MAX_FINDINGS_PER_RULE, SectionProblem, Violation, check,
};
use purgatory_tests::built_purgatory;

// ELF64 layout (gABI), used to patch the image.
const E_TYPE: usize = 16;
const E_MACHINE: usize = 18;
const E_ENTRY: usize = 24;
const E_PHOFF: usize = 32;
const E_SHOFF: usize = 40;
const E_PHNUM: usize = 56;
const E_SHNUM: usize = 60;
const E_SHSTRNDX: usize = 62;
const PHDR_SIZE: usize = 56;
const SHDR_SIZE: usize = 64;
const SYM_SIZE: usize = 24;
const P_TYPE: usize = 0;
const P_OFFSET: usize = 8;
const P_VADDR: usize = 16;
const P_FILESZ: usize = 32;
const P_MEMSZ: usize = 40;
const P_ALIGN: usize = 48;
const SH_TYPE: usize = 4;
const SH_FLAGS: usize = 8;
const SH_ADDR: usize = 16;
const SH_SIZE: usize = 32;
const SH_LINK: usize = 40;
const SH_ENTSIZE: usize = 56;
const ST_INFO: usize = 4;
const ST_SHNDX: usize = 6;
const ST_VALUE: usize = 8;
const ST_SIZE: usize = 16;

const PT_INTERP: u32 = 3;
const PT_GNU_STACK: u32 = 0x6474_e551;
const SHT_PROGBITS: u32 = 1;
const SHT_RELA: u32 = 4;
const SHT_DYNAMIC: u32 = 6;
const SHT_NOBITS: u32 = 8;
const SHT_REL: u32 = 9;
const SHT_RELR: u32 = 19;
const SHF_EXECINSTR: u64 = 4;
const STB_LOCAL: u8 = 0;
const STB_GLOBAL: u8 = 1;
const STB_WEAK: u8 = 2;
const STT_FUNC: u8 = 2;
const SHN_ABS: u16 = 0xfff1;
const SHN_COMMON: u16 = 0xfff2;

/// The symbols the contract requires, in the order the checker looks them up.
const CONTRACT_SYMBOLS: [&str; 9] = [
    ENTRY_SYMBOL,
    VERIFY_SYMBOL,
    STACK_END_SYMBOL,
    PATCHED_SYMBOLS[0].name,
    PATCHED_SYMBOLS[1].name,
    PATCHED_SYMBOLS[2].name,
    PATCHED_SYMBOLS[3].name,
    PATCHED_SYMBOLS[4].name,
    PATCHED_SYMBOLS[5].name,
];

fn missing_contract_symbols() -> Vec<Violation> {
    CONTRACT_SYMBOLS
        .iter()
        .map(|&symbol| Violation::MissingSymbol { symbol })
        .collect()
}

// ---------------------------------------------------------------------------
// A minimal independent reader of the real image, to find what to patch.

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap())
}
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}
fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}
fn put_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}
fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}
fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn c_str(bytes: &[u8], at: usize) -> String {
    let len = bytes[at..].iter().position(|&b| b == 0).unwrap();
    String::from_utf8(bytes[at..at + len].to_vec()).unwrap()
}

#[derive(Debug, Clone)]
struct Sec {
    index: usize,
    name: String,
    /// File offset of the name in `.shstrtab`.
    name_at: usize,
    /// File offset of the section header.
    header: usize,
    addr: u64,
    offset: u64,
    size: u64,
}

#[derive(Debug, Clone)]
struct Sym {
    name: String,
    /// File offset of the name in `.strtab`.
    name_at: usize,
    /// File offset of the symbol table entry.
    entry: usize,
    info: u8,
    shndx: u16,
    value: u64,
    size: u64,
}

struct Elf {
    sections: Vec<Sec>,
    symbols: Vec<Sym>,
    /// File offset of the program header table.
    phdr: usize,
}

impl Elf {
    fn read(bytes: &[u8]) -> Self {
        let shoff = u64_at(bytes, E_SHOFF) as usize;
        let shnum = usize::from(u16_at(bytes, E_SHNUM));
        let header = |i: usize| shoff + i * SHDR_SIZE;
        let shstrtab = u64_at(bytes, header(usize::from(u16_at(bytes, E_SHSTRNDX))) + 24) as usize;
        let sections: Vec<Sec> = (0..shnum)
            .map(|index| {
                let at = header(index);
                let name_at = shstrtab + u32_at(bytes, at) as usize;
                Sec {
                    index,
                    name: c_str(bytes, name_at),
                    name_at,
                    header: at,
                    addr: u64_at(bytes, at + SH_ADDR),
                    offset: u64_at(bytes, at + 24),
                    size: u64_at(bytes, at + SH_SIZE),
                }
            })
            .collect();
        let symtab = sections.iter().find(|s| s.name == ".symtab").unwrap();
        let strtab = &sections[u32_at(bytes, symtab.header + SH_LINK) as usize];
        let symbols = (0..symtab.size as usize / SYM_SIZE)
            .map(|i| {
                let entry = symtab.offset as usize + i * SYM_SIZE;
                let name_at = strtab.offset as usize + u32_at(bytes, entry) as usize;
                Sym {
                    name: c_str(bytes, name_at),
                    name_at,
                    entry,
                    info: bytes[entry + ST_INFO],
                    shndx: u16_at(bytes, entry + ST_SHNDX),
                    value: u64_at(bytes, entry + ST_VALUE),
                    size: u64_at(bytes, entry + ST_SIZE),
                }
            })
            .collect();
        Self {
            sections,
            symbols,
            phdr: u64_at(bytes, E_PHOFF) as usize,
        }
    }

    fn section(&self, name: &str) -> &Sec {
        self.sections
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("the built purgatory has no {name} section"))
    }

    /// The STB_GLOBAL symbol the kernel's lookup finds.
    fn global(&self, name: &str) -> &Sym {
        self.symbols
            .iter()
            .find(|s| s.name == name && s.info >> 4 == STB_GLOBAL)
            .unwrap_or_else(|| panic!("the built purgatory has no global {name}"))
    }

    /// A function symbol that is not part of the contract, with a name of at least `len` bytes.
    fn other_function(&self, len: usize) -> &Sym {
        self.symbols
            .iter()
            .find(|s| {
                s.info & 0xf == STT_FUNC
                    && s.name.len() >= len
                    && !CONTRACT_SYMBOLS.contains(&s.name.as_str())
            })
            .expect("the built purgatory has a non-contract function")
    }

    /// File offset of a symbol's bytes.
    fn file_offset(&self, symbol: &Sym) -> usize {
        let section = &self.sections[usize::from(symbol.shndx)];
        (section.offset + (symbol.value - section.addr)) as usize
    }
}

/// The real image, its tables, and the checker's verdict after `mutate`.
fn mutated(mutate: impl FnOnce(&mut Vec<u8>, &Elf)) -> Vec<Violation> {
    let mut bytes = built_purgatory();
    let elf = Elf::read(&bytes);
    mutate(&mut bytes, &elf);
    check(&bytes).expect("a mutated image is still a readable ELF")
}

/// Overwrites a NUL-terminated name in place; the new one must not be longer.
fn rename(bytes: &mut [u8], at: usize, old: &str, new: &str) {
    assert!(new.len() <= old.len(), "{new} does not fit over {old}");
    bytes[at..at + old.len()].fill(0);
    bytes[at..at + new.len()].copy_from_slice(new.as_bytes());
}

fn rules(verdict: &[Violation]) -> Vec<&'static str> {
    verdict.iter().map(Violation::rule).collect()
}

// ---------------------------------------------------------------------------

#[test]
fn the_built_purgatory_is_clean() {
    let verdict = check(&built_purgatory()).expect("the built purgatory is a readable ELF");
    assert_eq!(verdict, vec![], "{}", lines(&verdict));
}

fn lines(verdict: &[Violation]) -> String {
    verdict
        .iter()
        .map(|v| format!("\n  [{}] {v}", v.rule()))
        .collect()
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

// --- Rule 1: the ELF header -------------------------------------------------

#[test]
fn a_32_bit_class_is_reported() {
    let verdict = mutated(|b, _| b[4] = 1);
    assert_eq!(verdict, [Violation::ElfClass { class: 1 }]);
    assert!(verdict[0].to_string().contains("ELFCLASS64"));
}

#[test]
fn big_endian_data_is_reported_with_the_fields_as_a_loader_would_read_them() {
    let verdict = mutated(|b, _| b[5] = 2);
    assert_eq!(
        verdict,
        [
            Violation::ElfEndianness { data: 2 },
            Violation::ElfMachine { machine: 0x3e00 },
            Violation::ElfType { e_type: 0x0300 },
        ]
    );
}

#[test]
fn another_machine_is_reported() {
    let verdict = mutated(|b, _| put_u16(b, E_MACHINE, 3));
    assert_eq!(verdict, [Violation::ElfMachine { machine: 3 }]);
    assert!(verdict[0].to_string().contains("EM_386"), "{}", verdict[0]);
}

#[test]
fn an_executable_type_is_reported() {
    let verdict = mutated(|b, _| put_u16(b, E_TYPE, 2));
    assert_eq!(verdict, [Violation::ElfType { e_type: 2 }]);
    assert!(verdict[0].to_string().contains("ET_EXEC"), "{}", verdict[0]);
}

// --- Rule 2: the program headers ---------------------------------------------

#[test]
fn no_program_header_is_reported() {
    let verdict = mutated(|b, _| put_u16(b, E_PHNUM, 0));
    assert_eq!(verdict, [Violation::ProgramHeaderCount { count: 0 }]);
}

#[test]
fn a_second_program_header_is_named() {
    let verdict = mutated(|b, elf| {
        // A new table at the end of the file: the PT_LOAD, then a PT_INTERP.
        let load = b[elf.phdr..elf.phdr + PHDR_SIZE].to_vec();
        let mut interp = load.clone();
        put_u32(&mut interp, P_TYPE, PT_INTERP);
        let table = b.len() as u64;
        b.extend_from_slice(&load);
        b.extend_from_slice(&interp);
        put_u64(b, E_PHOFF, table);
        put_u16(b, E_PHNUM, 2);
    });
    assert_eq!(
        verdict,
        [
            Violation::ProgramHeaderCount { count: 2 },
            Violation::ProgramHeaderType {
                index: 1,
                p_type: 3
            },
        ]
    );
    assert!(
        verdict[1].to_string().contains("PT_INTERP"),
        "{}",
        verdict[1]
    );
}

#[test]
fn a_program_header_other_than_pt_load_is_named() {
    let verdict = mutated(|b, elf| put_u32(b, elf.phdr + P_TYPE, PT_GNU_STACK));
    assert_eq!(
        verdict,
        [Violation::ProgramHeaderType {
            index: 0,
            p_type: 0x6474_e551
        }]
    );
    assert!(
        verdict[0].to_string().contains("PT_GNU_STACK"),
        "{}",
        verdict[0]
    );
}

#[test]
fn a_segment_not_at_file_offset_0_is_reported() {
    let mut file_len = 0;
    let mut filesz = 0;
    let mut p_offset = 0;
    let verdict = mutated(|b, elf| {
        file_len = b.len() as u64;
        filesz = u64_at(b, elf.phdr + P_FILESZ);
        // The first page boundary that moves the segment's end past the end
        // of the file, whatever the size of the tables after it.
        p_offset = (file_len - filesz + 1).next_multiple_of(0x1000);
        put_u64(b, elf.phdr + P_OFFSET, p_offset);
    });
    assert_eq!(
        verdict,
        [
            Violation::SegmentOffset { p_offset },
            Violation::SegmentOutsideFile {
                p_offset,
                p_filesz: filesz,
                file_len
            },
        ]
    );
}

#[test]
fn a_segment_not_linked_at_0_is_reported() {
    let verdict = mutated(|b, elf| put_u64(b, elf.phdr + P_VADDR, 0x20_0000));
    assert_eq!(verdict, [Violation::SegmentVaddr { p_vaddr: 0x20_0000 }]);
}

#[test]
fn filesz_above_memsz_is_reported() {
    let mut filesz = 0;
    let verdict = mutated(|b, elf| {
        filesz = u64_at(b, elf.phdr + P_FILESZ);
        put_u64(b, elf.phdr + P_MEMSZ, filesz - 1);
    });
    assert_eq!(
        verdict,
        [Violation::SegmentSizes {
            p_filesz: filesz,
            p_memsz: filesz - 1
        }]
    );
}

#[test]
fn a_segment_over_16_mib_in_memory_is_reported() {
    // Found by the fuzzer: a loader allocates p_memsz bytes.
    let verdict = mutated(|b, elf| put_u64(b, elf.phdr + P_MEMSZ, (16 << 20) + 1));
    assert_eq!(
        verdict,
        [Violation::SegmentTooLarge {
            p_memsz: (16 << 20) + 1
        }]
    );
    let at_limit = mutated(|b, elf| put_u64(b, elf.phdr + P_MEMSZ, 16 << 20));
    assert_eq!(at_limit, []);
}

#[test]
fn an_alignment_that_is_not_a_power_of_two_is_reported() {
    for align in [0, 0x1800, 3] {
        let verdict = mutated(|b, elf| put_u64(b, elf.phdr + P_ALIGN, align));
        assert_eq!(verdict, [Violation::SegmentAlign { p_align: align }]);
    }
}

#[test]
fn a_segment_past_the_end_of_the_file_is_reported() {
    let mut file_len = 0;
    let verdict = mutated(|b, elf| {
        file_len = b.len() as u64;
        put_u64(b, elf.phdr + P_FILESZ, file_len + 1);
        put_u64(b, elf.phdr + P_MEMSZ, file_len + 1);
    });
    assert_eq!(
        verdict,
        [Violation::SegmentOutsideFile {
            p_offset: 0,
            p_filesz: file_len + 1,
            file_len
        }]
    );
}

// --- Rule 3: relocations and dynamic linking ---------------------------------

#[test]
fn a_relocation_section_is_named_whatever_its_type() {
    for sh_type in [SHT_RELA, SHT_REL, SHT_RELR] {
        let mut size = 0;
        let verdict = mutated(|b, elf| {
            let rodata = elf.section(".rodata");
            size = rodata.size;
            put_u32(b, rodata.header + SH_TYPE, sh_type);
        });
        assert_eq!(
            verdict,
            [Violation::RelocationSection {
                section: ".rodata".into(),
                sh_type,
                size
            }]
        );
    }
}

#[test]
fn a_section_named_like_relocations_is_reported() {
    let mut size = 0;
    let verdict = mutated(|b, elf| {
        let rodata = elf.section(".rodata");
        size = rodata.size;
        rename(b, rodata.name_at, ".rodata", ".rel.ro");
    });
    assert_eq!(
        verdict,
        [Violation::RelocationSection {
            section: ".rel.ro".into(),
            sh_type: SHT_PROGBITS,
            size
        }]
    );
    assert!(verdict[0].to_string().contains(".rel.ro"));
}

#[test]
fn got_and_plt_content_is_reported() {
    // Renamed in place, so the new name must fit over the old one.
    for (old, new) in [
        (".rodata", ".got"),
        (".rodata", ".plt"),
        (".shstrtab", ".got.plt"),
    ] {
        let mut size = 0;
        let verdict = mutated(|b, elf| {
            let section = elf.section(old);
            size = section.size;
            rename(b, section.name_at, old, new);
        });
        assert_eq!(
            verdict,
            [Violation::GotPlt {
                section: new.into(),
                size
            }]
        );
    }
}

#[test]
fn interp_and_dynsym_sections_are_reported() {
    for name in [".interp", ".dynsym"] {
        let verdict = mutated(|b, elf| {
            rename(b, elf.section(".rodata").name_at, ".rodata", name);
        });
        assert_eq!(
            verdict,
            [Violation::DynamicLinking {
                section: name.into(),
                sh_type: SHT_PROGBITS
            }]
        );
    }
}

/// Turns `.rodata` into a dynamic section holding `tag` then DT_NULL.
fn with_dynamic_tag(tag: u64) -> Vec<Violation> {
    mutated(|b, elf| {
        let rodata = elf.section(".rodata");
        assert!(
            rodata.size >= 32,
            ".rodata is too small to hold two dynamic entries"
        );
        put_u32(b, rodata.header + SH_TYPE, SHT_DYNAMIC);
        let at = rodata.offset as usize;
        b[at..at + rodata.size as usize].fill(0);
        put_u64(b, at, tag);
    })
}

#[test]
fn a_dynamic_section_and_its_relocation_tags_are_named() {
    let tags = [
        (1, "DT_NEEDED"),
        (7, "DT_RELA"),
        (17, "DT_REL"),
        (22, "DT_TEXTREL"),
        (23, "DT_JMPREL"),
        (36, "DT_RELR"),
    ];
    for (tag, name) in tags {
        let verdict = with_dynamic_tag(tag);
        assert_eq!(
            verdict,
            [
                Violation::DynamicLinking {
                    section: ".rodata".into(),
                    sh_type: SHT_DYNAMIC
                },
                Violation::DynamicTag {
                    section: ".rodata".into(),
                    tag
                },
            ]
        );
        assert!(verdict[1].to_string().contains(name), "{}", verdict[1]);
    }
    // A harmless tag (DT_STRTAB) leaves only the section itself.
    assert_eq!(
        with_dynamic_tag(5),
        [Violation::DynamicLinking {
            section: ".rodata".into(),
            sh_type: SHT_DYNAMIC
        }]
    );
}

// --- Rule 4: section headers and the symbol table ---------------------------

#[test]
fn no_section_headers_is_reported() {
    let mut shoff = 0;
    let verdict = mutated(|b, _| {
        shoff = u64_at(b, E_SHOFF);
        put_u16(b, E_SHNUM, 0);
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
    let verdict = mutated(|b, elf| {
        shstrndx = elf.section(".symtab").index as u16;
        put_u16(b, E_SHSTRNDX, shstrndx);
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
    let verdict = mutated(|b, elf| {
        let rodata = elf.section(".rodata");
        offset = rodata.offset;
        put_u64(b, rodata.header + SH_SIZE, 1 << 40);
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
    let verdict = mutated(|b, elf| {
        let rodata = elf.section(".rodata");
        offset = rodata.offset;
        put_u64(b, rodata.header + SH_ADDR, offset + 0x10);
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
    let verdict = mutated(|b, elf| {
        put_u32(b, elf.section(".symtab").header + SH_TYPE, SHT_PROGBITS);
    });
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
        let verdict = mutated(|b, elf| put_u32(b, elf.section(".symtab").header + SH_LINK, link));
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
    let verdict = mutated(|b, elf| put_u64(b, elf.section(".symtab").header + SH_ENTSIZE, 16));
    let mut expected = vec![Violation::SymtabEntrySize {
        section: ".symtab".into(),
        entsize: 16,
    }];
    expected.extend(missing_contract_symbols());
    assert_eq!(verdict, expected);
}

// --- Rule 5: undefined and instrumentation symbols --------------------------

#[test]
fn an_undefined_symbol_is_named() {
    let mut name = String::new();
    let verdict = mutated(|b, elf| {
        let function = elf.other_function(1);
        name = function.name.clone();
        put_u16(b, function.entry + ST_SHNDX, 0);
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
        let verdict = mutated(|b, elf| {
            let function = elf.other_function(name.len());
            rename(b, function.name_at, &function.name, name);
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
    let verdict = mutated(|b, elf| {
        start = elf.global(ENTRY_SYMBOL).value;
        put_u64(b, E_ENTRY, start + 1);
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
        let verdict = mutated(|b, elf| {
            let data = elf.section(".data").index as u16;
            put_u16(b, elf.global(symbol).entry + ST_SHNDX, data);
        });
        assert_eq!(
            verdict,
            [Violation::SymbolSection {
                symbol,
                problem: SectionProblem::NotExecutable {
                    section: ".data".into()
                }
            }]
        );
    }
}

// --- Rule 7: the contract symbols ----------------------------------------------

#[test]
fn each_missing_contract_symbol_is_named() {
    for symbol in CONTRACT_SYMBOLS {
        let verdict = mutated(|b, elf| {
            let found = elf.global(symbol);
            b[found.name_at] = b'X';
        });
        assert_eq!(verdict, [Violation::MissingSymbol { symbol }]);
    }
}

#[test]
fn each_contract_symbol_must_be_global() {
    for symbol in CONTRACT_SYMBOLS {
        for binding in [STB_LOCAL, STB_WEAK] {
            let verdict = mutated(|b, elf| {
                let found = elf.global(symbol);
                b[found.entry + ST_INFO] = binding << 4 | found.info & 0xf;
            });
            assert_eq!(verdict, [Violation::SymbolBinding { symbol, binding }]);
        }
    }
}

#[test]
fn contract_symbols_in_special_sections_are_refused() {
    let shnum = Elf::read(&built_purgatory()).sections.len();
    let cases = [
        (SHN_ABS, SectionProblem::Absolute),
        (SHN_COMMON, SectionProblem::Common),
        (
            shnum as u16,
            SectionProblem::OutOfRange {
                shndx: shnum,
                shnum,
            },
        ),
    ];
    for symbol in [ENTRY64_REGS_SYMBOL, STACK_END_SYMBOL] {
        for (shndx, problem) in cases.clone() {
            let verdict = mutated(|b, elf| put_u16(b, elf.global(symbol).entry + ST_SHNDX, shndx));
            assert_eq!(verdict, [Violation::SymbolSection { symbol, problem }]);
        }
    }
}

#[test]
fn an_undefined_contract_symbol_is_refused_and_named() {
    let verdict =
        mutated(|b, elf| put_u16(b, elf.global(SHA256_DIGEST_SYMBOL).entry + ST_SHNDX, 0));
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
    let verdict = mutated(|b, elf| {
        let shndx = elf.global(ENTRY64_REGS_SYMBOL).shndx;
        let section = &elf.sections[usize::from(shndx)];
        put_u32(b, section.header + SH_TYPE, SHT_NOBITS);
        for patched in PATCHED_SYMBOLS {
            if elf.global(patched.name).shndx == shndx {
                expected.push(Violation::SymbolSection {
                    symbol: patched.name,
                    problem: SectionProblem::Bss {
                        section: section.name.clone(),
                    },
                });
            }
        }
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
        let verdict = mutated(|b, elf| {
            put_u64(b, elf.global(patched.name).entry + ST_SIZE, expected - 1);
        });
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
        let verdict = mutated(|b, elf| {
            let filesz = u64_at(b, elf.phdr + P_FILESZ);
            // `filesz - 16` straddles the end; `u64::MAX - 8` wraps around.
            let value = value.map_or(u64::MAX - 8, |back| filesz - back);
            put_u64(b, elf.global(SHA256_DIGEST_SYMBOL).entry + ST_VALUE, value);
            expected = Some(Violation::SymbolOutsideFile {
                symbol: SHA256_DIGEST_SYMBOL,
                value,
                size: 32,
                filesz,
            });
        });
        assert_eq!(verdict, [expected.unwrap()]);
    }
}

#[test]
fn a_patched_symbol_ending_at_the_end_of_the_file_backed_segment_is_fine() {
    let verdict = mutated(|b, elf| {
        let filesz = u64_at(b, elf.phdr + P_FILESZ);
        put_u64(
            b,
            elf.global(SHA256_DIGEST_SYMBOL).entry + ST_VALUE,
            filesz - 32,
        );
    });
    assert_eq!(verdict, []);
}

// --- Rule 8: entry64_regs ships as zeros ----------------------------------------

#[test]
fn non_zero_entry64_regs_are_reported() {
    let mut address = 0;
    let verdict = mutated(|b, elf| {
        let regs = elf.global(ENTRY64_REGS_SYMBOL);
        address = regs.value;
        b[elf.file_offset(regs) + 0x80] = 1; // rip
    });
    assert_eq!(
        verdict,
        [Violation::Entry64RegsNotZero {
            address,
            offset: 0x80
        }]
    );
}

// --- Rule 9: one executable section --------------------------------------------

#[test]
fn a_second_executable_section_is_named() {
    let verdict = mutated(|b, elf| {
        // .bss has no file bytes, so nothing else gets disassembled.
        let bss = elf.section(".bss");
        let flags = u64_at(b, bss.header + SH_FLAGS);
        put_u64(b, bss.header + SH_FLAGS, flags | SHF_EXECINSTR);
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
    let verdict = mutated(|b, elf| {
        let text = elf.section(".text");
        let flags = u64_at(b, text.header + SH_FLAGS);
        put_u64(b, text.header + SH_FLAGS, flags & !SHF_EXECINSTR);
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

// --- Rule 10: the disassembly ----------------------------------------------------

/// The real image with `purgatory_verify`'s body replaced by `code` and int3
/// padding, so decoding stays in step; returns the verdict and the address of `code`.
fn with_code(code: &[u8]) -> (Vec<Violation>, u64) {
    let mut address = 0;
    let verdict = mutated(|b, elf| {
        let verify = elf.global(VERIFY_SYMBOL);
        address = verify.value;
        let at = elf.file_offset(verify);
        assert!(code.len() <= verify.size as usize);
        b[at..at + verify.size as usize].fill(0xcc);
        b[at..at + code.len()].copy_from_slice(code);
    });
    (verdict, address)
}

fn site(address: u64, instruction: &str) -> InstructionSite {
    InstructionSite {
        section: ".text".into(),
        address,
        symbol: Some(VERIFY_SYMBOL.into()),
        instruction: instruction.into(),
    }
}

#[test]
fn an_sse_instruction_is_reported_with_its_site() {
    let (verdict, address) = with_code(&[0x0f, 0x28, 0xc1]);
    assert_eq!(
        verdict,
        [Violation::SimdInstruction {
            site: site(address, "movaps xmm0,xmm1"),
            feature: "SSE".into()
        }]
    );
    let location = verdict[0].location();
    assert_eq!(location.address, Some(address));
    assert_eq!(location.symbol.as_deref(), Some(VERIFY_SYMBOL));
    assert_eq!(location.section.as_deref(), Some(".text"));
    assert_eq!(location.instruction.as_deref(), Some("movaps xmm0,xmm1"));
    let line = verdict[0].to_string();
    assert!(
        line.contains("movaps xmm0,xmm1") && line.contains(VERIFY_SYMBOL),
        "{line}"
    );
}

#[test]
fn every_family_of_simd_fpu_and_xsave_instructions_is_reported() {
    let cases: [(&[u8], &str, &str); 12] = [
        (&[0x66, 0x0f, 0xef, 0xc0], "pxor xmm0,xmm0", "SSE2"),
        (&[0xc5, 0xf8, 0x77], "vzeroupper", "AVX"),
        (&[0x0f, 0x01, 0xd0], "xgetbv", "XSAVE"),
        (&[0x0f, 0xae, 0x20], "xsave [rax]", "XSAVE"),
        (&[0x0f, 0xae, 0x00], "fxsave [rax]", "FXSR"),
        (&[0xd9, 0xe8], "fld1", "FPU"),
        (&[0x0f, 0x77], "emms", "MMX"),
        (&[0x0f, 0xae, 0x10], "ldmxcsr [rax]", "SSE"),
        (&[0x0f, 0x38, 0xc8, 0xc1], "sha1nexte xmm0,xmm1", "SHA"),
        (&[0x66, 0x0f, 0x38, 0xdc, 0xc1], "aesenc xmm0,xmm1", "AES"),
        (&[0x66, 0x48, 0x0f, 0x6e, 0xc0], "movq xmm0,rax", "SSE2"),
        (
            &[0x62, 0xf1, 0x7c, 0x48, 0x28, 0xc1],
            "vmovaps zmm0,zmm1",
            "AVX512F",
        ),
    ];
    for (code, instruction, feature) in cases {
        let (verdict, address) = with_code(code);
        assert_eq!(
            verdict,
            [Violation::SimdInstruction {
                site: site(address, instruction),
                feature: feature.into()
            }]
        );
    }
}

#[test]
fn fences_and_prefetches_are_not_simd() {
    // lfence, mfence, sfence, prefetchnta [rax], pause, movnti [rax],rax
    let code = [
        0x0f, 0xae, 0xe8, 0x0f, 0xae, 0xf0, 0x0f, 0xae, 0xf8, 0x0f, 0x18, 0x00, 0xf3, 0x90, 0x48,
        0x0f, 0xc3, 0x00,
    ];
    assert_eq!(with_code(&code).0, []);
}

#[test]
fn fsgsbase_instructions_are_reported() {
    let (verdict, address) = with_code(&[0xf3, 0x48, 0x0f, 0xae, 0xc0]);
    assert_eq!(
        verdict,
        [Violation::FsGsBaseInstruction {
            site: site(address, "rdfsbase rax")
        }]
    );
}

#[test]
fn sti_is_reported() {
    let (verdict, address) = with_code(&[0xfb]);
    assert_eq!(
        verdict,
        [Violation::Sti {
            site: site(address, "sti")
        }]
    );
}

#[test]
fn a_cr3_write_is_reported_and_a_read_is_not() {
    let (verdict, address) = with_code(&[0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8]);
    assert_eq!(
        verdict,
        [Violation::Cr3Write {
            site: site(address + 3, "mov cr3,rax")
        }]
    );
}

#[test]
fn fs_and_gs_memory_operands_are_reported_and_segment_loads_are_not() {
    // mov fs,ax; mov rax,fs:[rax]; mov rax,gs:[rax]; lodsb with a gs override
    let code = [
        0x8e, 0xe0, 0x64, 0x48, 0x8b, 0x00, 0x65, 0x48, 0x8b, 0x00, 0x65, 0xac,
    ];
    let (verdict, address) = with_code(&code);
    assert_eq!(
        verdict,
        [
            Violation::SegmentOverride {
                site: site(address + 2, "mov rax,fs:[rax]"),
                segment: "fs"
            },
            Violation::SegmentOverride {
                site: site(address + 6, "mov rax,gs:[rax]"),
                segment: "gs"
            },
            Violation::SegmentOverride {
                site: site(address + 10, "lodsb gs:[rsi]"),
                segment: "gs"
            },
        ]
    );
}

/// iced's Intel hex: upper case, `h` suffix, a leading 0 before a letter.
fn intel_hex(value: u64) -> String {
    let hex = format!("{value:X}");
    if hex.starts_with(|c: char| c.is_ascii_alphabetic()) {
        format!("0{hex}h")
    } else {
        format!("{hex}h")
    }
}

#[test]
fn movabs_of_a_symbol_address_is_reported() {
    let regs = Elf::read(&built_purgatory())
        .global(ENTRY64_REGS_SYMBOL)
        .value;
    let mut code = vec![0x48, 0xb8]; // mov rax, imm64
    code.extend_from_slice(&regs.to_le_bytes());
    let (verdict, address) = with_code(&code);
    assert_eq!(
        verdict,
        [Violation::AbsoluteAddress {
            site: site(address, &format!("mov rax,{}", intel_hex(regs))),
            value: regs,
            target: "`entry64_regs`".into()
        }]
    );
}

#[test]
fn movabs_of_a_plain_constant_is_fine() {
    let mut code = vec![0x48, 0xb8];
    code.extend_from_slice(&0x0123_4567_89ab_cdef_u64.to_le_bytes());
    assert_eq!(with_code(&code).0, []);
}

#[test]
fn undecodable_bytes_are_skipped_one_at_a_time() {
    // ff ff and ff fb are invalid (ff /7); decoding resumes at the sti.
    let (verdict, address) = with_code(&[0xff, 0xff, 0xfb]);
    assert_eq!(
        verdict,
        [Violation::Sti {
            site: site(address + 2, "sti")
        }]
    );
}

#[test]
fn instruction_findings_are_capped_per_rule() {
    let size = Elf::read(&built_purgatory()).global(VERIFY_SYMBOL).size as usize;
    let (verdict, address) = with_code(&vec![0xfb; size]);
    let mut expected: Vec<Violation> = (0..MAX_FINDINGS_PER_RULE as u64)
        .map(|i| Violation::Sti {
            site: site(address + i, "sti"),
        })
        .collect();
    expected.push(Violation::MoreFindings {
        rule: "sti",
        omitted: size - MAX_FINDINGS_PER_RULE,
    });
    assert_eq!(verdict, expected);
    assert_eq!(MAX_FINDINGS_PER_RULE, 20);
}

// --- Purpose-built and foreign inputs ------------------------------------------

/// An ELF64 x86_64 ET_DYN header and nothing else.
fn bare_header() -> Vec<u8> {
    let mut b = vec![0; 64];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 2; // ELFCLASS64
    b[5] = 1; // ELFDATA2LSB
    b[6] = 1; // EV_CURRENT
    put_u16(&mut b, E_TYPE, 3);
    put_u16(&mut b, E_MACHINE, 62);
    put_u32(&mut b, 20, 1);
    put_u16(&mut b, 52, 64); // e_ehsize
    b
}

#[test]
fn a_bare_header_lists_everything_missing() {
    let mut expected = vec![
        Violation::ProgramHeaderCount { count: 0 },
        Violation::SectionHeaders { shnum: 0, shoff: 0 },
        Violation::MissingSymtab,
    ];
    expected.extend(missing_contract_symbols());
    assert_eq!(check(&bare_header()), Ok(expected));
}

#[test]
fn unreadable_files_say_why() {
    let message = |bytes: &[u8]| check(bytes).unwrap_err().to_string();
    assert_eq!(message(b""), "not an ELF file: only 0 bytes");
    assert_eq!(
        message(b"MZ\x90\x00 not an ELF"),
        "not an ELF file: bad magic"
    );
    assert!(message(b"\x7fELF\x02\x01\x01").starts_with("truncated"));
    assert!(message(&bare_header()[..40]).starts_with("truncated: the ELF header"));

    let real = built_purgatory();
    let shoff = u64_at(&real, E_SHOFF) as usize;
    let cut = message(&real[..shoff + 10]);
    assert_eq!(
        cut,
        format!(
            "truncated: section headers at {shoff:#x} ({} x 64 bytes) past end of file (size {:#x})",
            u16_at(&real, E_SHNUM),
            shoff + 10
        )
    );

    let mut wide = bare_header();
    put_u16(&mut wide, E_PHNUM, 1);
    put_u16(&mut wide, 54, 64); // e_phentsize
    assert!(message(&wide).contains("entry size is 64, expected 56"));
}

#[test]
fn garbage_never_panics() {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let real = built_purgatory();
    let mut inputs: Vec<Vec<u8>> = vec![vec![], b"\x7fELF".to_vec()];
    for len in [1, 15, 16, 63, 64, 65, 200, 4096, 65536] {
        inputs.push(std::iter::repeat_with(|| rng.u8(..)).take(len).collect());
        let mut elf_junk = b"\x7fELF\x02\x01\x01".to_vec();
        elf_junk.extend(std::iter::repeat_with(|| rng.u8(..)).take(len));
        inputs.push(elf_junk);
    }
    for input in &inputs {
        let _ = check(input);
    }
    for len in (0..200).chain((200..real.len()).step_by(97)) {
        let _ = check(&real[..len]);
    }
    // Random corruption of the real image: headers, tables, code.
    for _ in 0..300 {
        let mut bytes = real.clone();
        for _ in 0..rng.usize(1..8) {
            let at = rng.usize(..bytes.len());
            bytes[at] = rng.u8(..);
        }
        let _ = check(&bytes);
    }
    // Every header field set to extremes.
    for at in 0..64 {
        for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            let mut bytes = real.clone();
            bytes[at] = value;
            let _ = check(&bytes);
        }
    }
}

#[test]
fn a_linux_executable_is_refused_for_the_right_reasons() {
    let exe = std::env::current_exe().expect("the test binary's path");
    let bytes = std::fs::read(&exe).expect("the test binary is readable");
    let verdict = check(&bytes).expect("the test binary is a readable ELF");
    let rules = rules(&verdict);
    for rule in ["program-headers", "program-header-type", "dynamic-linking"] {
        assert!(
            rules.contains(&rule),
            "{rule} missing from{}",
            lines(&verdict)
        );
    }
    // A stripped binary has no .symtab at all; otherwise each symbol is missing.
    if !rules.contains(&"missing-symtab") {
        for symbol in CONTRACT_SYMBOLS {
            assert!(
                verdict.contains(&Violation::MissingSymbol { symbol }),
                "{symbol} not reported missing:{}",
                lines(&verdict)
            );
        }
    }
    for violation in &verdict {
        let line = violation.to_string();
        assert!(!line.contains('\n'), "not one line: {line}");
    }
}

/// A Linux-style purgatory: a partially linked object full of relocations.
const LINUX_STYLE_PURGATORY: &str = r#"
struct region { unsigned long start, len; };
struct region purgatory_sha_regions[16] = { { 1, 0 } };
unsigned char purgatory_sha256_digest[32] = { 1 };
unsigned long entry64_regs[17] = { 1 };
extern void purgatory(void);
extern char gdt[];
char *gdt_pointer = gdt;
void purgatory_start(void) { purgatory(); }
"#;

#[test]
fn a_linux_style_relocatable_purgatory_is_refused_with_its_relocations_named() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("checker-et-rel");
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("purgatory.c");
    let object = dir.join("purgatory.ro");
    std::fs::write(&source, LINUX_STYLE_PURGATORY).unwrap();
    let status = std::process::Command::new("cc")
        .args(["-c", "-O2", "-fno-pic", "-mcmodel=large", "-o"])
        .arg(&object)
        .arg(&source)
        .status()
        .unwrap_or_else(|err| {
            panic!("cannot run `cc` ({err}): this test needs a C compiler (CI installs gcc)")
        });
    assert!(status.success(), "cc failed on {}", source.display());

    let verdict =
        check(&std::fs::read(&object).unwrap()).expect("an object file is a readable ELF");
    eprintln!("verdict on {}:{}", object.display(), lines(&verdict));
    let relocations: Vec<&str> = verdict
        .iter()
        .filter_map(|v| match v {
            Violation::RelocationSection { section, .. } => Some(section.as_str()),
            _ => None,
        })
        .collect();
    for expected in [
        Violation::ElfType { e_type: 1 },
        Violation::ProgramHeaderCount { count: 0 },
        Violation::UndefinedSymbol {
            symbol: "purgatory".into(),
        },
        Violation::UndefinedSymbol {
            symbol: "gdt".into(),
        },
        Violation::MissingSymbol {
            symbol: STACK_END_SYMBOL,
        },
        Violation::MissingSymbol {
            symbol: VERIFY_SYMBOL,
        },
    ] {
        assert!(
            verdict.contains(&expected),
            "{expected:?} missing from{}",
            lines(&verdict)
        );
    }
    assert!(
        relocations.contains(&".rela.text") && relocations.contains(&".rela.data"),
        "relocation sections not named:{}",
        lines(&verdict)
    );
    assert!(verdict[0].to_string().contains("ET_REL"), "{}", verdict[0]);
}

// --- SIMD only in .text.simd, and only after the SSE set-up ------------------------

#[test]
fn simd_code_in_its_own_section_is_allowed() {
    let bytes = built_purgatory();
    let simd = Elf::read(&bytes).section(".text.simd").header;
    let flags = u64_at(&bytes, simd + SH_FLAGS);
    assert_ne!(flags & SHF_EXECINSTR, 0, ".text.simd must be executable");
    // The real image has its SHA-NI code there and passes.
    assert_eq!(check(&bytes), Ok(vec![]));
}

/// The real image with the first `limit` CR4 writes in `.text` (in address
/// order) turned into NOPs; `mov cr4, r64` is 0f 22 /r with reg = 4.
fn without_cr4_writes(limit: usize) -> Vec<Violation> {
    mutated(|b, elf| {
        let text = elf.section(".text");
        let code = &mut b[text.offset as usize..(text.offset + text.size) as usize];
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
