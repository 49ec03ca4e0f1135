//! What is wrong and where: the findings, their stable rule ids, their
//! locations and their messages.

use std::fmt;

use goblin::elf::header::{self, ELFCLASS64, ELFDATA2LSB, EM_X86_64, ET_DYN};
use goblin::elf::{dynamic, program_header, section_header, sym};
use goblin::elf64;
use purgatory_abi::{ENTRY_SYMBOL, ENTRY64_REGS_SYMBOL};

use super::elf::{DT_RELR, SHT_RELR};
use super::{Location, MAX_FINDINGS_PER_RULE, MAX_SEGMENT_SIZE};

/// An instruction the purgatory must not contain, and where it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstructionSite {
    /// The executable section holding it.
    pub section: String,
    /// Its virtual address.
    pub address: u64,
    /// The function symbol whose `[st_value, st_value + st_size)` contains it.
    pub symbol: Option<String>,
    /// Intel syntax, as iced-x86 formats it.
    pub instruction: String,
}

/// Why a contract symbol's `st_shndx` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionProblem {
    /// `SHN_UNDEF`: the loader's lookup fails.
    Undefined,
    /// `SHN_ABS`: `>= e_shnum`, so the loader's lookup fails.
    Absolute,
    /// `SHN_COMMON`: `>= e_shnum`, so the loader's lookup fails.
    Common,
    /// An index past the section header table.
    OutOfRange {
        /// The symbol's `st_shndx`.
        shndx: usize,
        /// `e_shnum`.
        shnum: usize,
    },
    /// `SHT_NOBITS`: the loader refuses to patch it ("is in a bss section").
    Bss {
        /// The section's name.
        section: String,
    },
    /// Code entered by the kernel or a test harness, outside `SHF_EXECINSTR`.
    NotExecutable {
        /// The section's name.
        section: String,
    },
}

/// One breach of the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// `EI_CLASS` is not `ELFCLASS64`.
    ElfClass {
        /// The actual `EI_CLASS`.
        class: u8,
    },
    /// `EI_DATA` is not `ELFDATA2LSB`.
    ElfEndianness {
        /// The actual `EI_DATA`.
        data: u8,
    },
    /// `e_machine` is not `EM_X86_64`.
    ElfMachine {
        /// The actual `e_machine`.
        machine: u16,
    },
    /// `e_type` is not `ET_DYN`.
    ElfType {
        /// The actual `e_type`.
        e_type: u16,
    },
    /// `e_phnum` is not 1.
    ProgramHeaderCount {
        /// The actual `e_phnum`.
        count: u16,
    },
    /// A program header other than PT_LOAD.
    ProgramHeaderType {
        /// Its index in the program header table.
        index: usize,
        /// Its `p_type`.
        p_type: u32,
    },
    /// The PT_LOAD does not start at file offset 0.
    SegmentOffset {
        /// The actual `p_offset`.
        p_offset: u64,
    },
    /// The PT_LOAD is not linked at address 0.
    SegmentVaddr {
        /// The actual `p_vaddr`.
        p_vaddr: u64,
    },
    /// `p_filesz > p_memsz`.
    SegmentSizes {
        /// `p_filesz`.
        p_filesz: u64,
        /// `p_memsz`.
        p_memsz: u64,
    },
    /// The segment needs more memory than any purgatory does; a loader
    /// would allocate all of it.
    SegmentTooLarge {
        /// `p_memsz`.
        p_memsz: u64,
    },
    /// `p_align` is not a power of two.
    SegmentAlign {
        /// The actual `p_align`.
        p_align: u64,
    },
    /// `[p_offset, p_offset + p_filesz)` is not inside the file.
    SegmentOutsideFile {
        /// `p_offset`.
        p_offset: u64,
        /// `p_filesz`.
        p_filesz: u64,
        /// The file's length.
        file_len: u64,
    },
    /// No section header table (`e_shnum` or `e_shoff` is 0).
    SectionHeaders {
        /// `e_shnum`.
        shnum: u16,
        /// `e_shoff`.
        shoff: u64,
    },
    /// `e_shstrndx` does not name a string table in the file.
    SectionNames {
        /// The actual `e_shstrndx`.
        shstrndx: u16,
    },
    /// A section's file bytes lie past the end of the file.
    SectionOutsideFile {
        /// The section's name.
        section: String,
        /// `sh_offset`.
        offset: u64,
        /// `sh_size`.
        size: u64,
    },
    /// An allocated section whose file offset differs from its address, so
    /// patching at the symbol's file offset would miss.
    SectionAddress {
        /// The section's name.
        section: String,
        /// `sh_offset`.
        offset: u64,
        /// `sh_addr`.
        addr: u64,
    },
    /// A relocation section with content.
    RelocationSection {
        /// The section's name.
        section: String,
        /// Its `sh_type`.
        sh_type: u32,
        /// Its `sh_size`.
        size: u64,
    },
    /// A GOT or PLT section with content.
    GotPlt {
        /// The section's name.
        section: String,
        /// Its `sh_size`.
        size: u64,
    },
    /// A `.dynamic`, `.interp` or `.dynsym` section.
    DynamicLinking {
        /// The section's name.
        section: String,
        /// Its `sh_type`.
        sh_type: u32,
    },
    /// A dynamic tag asking for relocation or a library.
    DynamicTag {
        /// The dynamic section holding it.
        section: String,
        /// `d_tag`.
        tag: u64,
    },
    /// No `SHT_SYMTAB` section.
    MissingSymtab,
    /// A symbol table whose `sh_link` is not a string table.
    SymtabLink {
        /// The symbol table's name.
        section: String,
        /// Its `sh_link`.
        link: u32,
    },
    /// A symbol table whose `sh_entsize` is not 24.
    SymtabEntrySize {
        /// The symbol table's name.
        section: String,
        /// Its `sh_entsize`.
        entsize: u64,
    },
    /// A symbol nothing will resolve.
    UndefinedSymbol {
        /// Its name.
        symbol: String,
    },
    /// A symbol of compiler instrumentation or kernel hardening
    /// (`__stack_chk_fail`, retpoline thunks, `__fentry__`, `mcount`, `__asan_*`).
    InstrumentationSymbol {
        /// Its name.
        symbol: String,
    },
    /// `e_entry` is not the value of the entry symbol.
    EntryPoint {
        /// `e_entry`.
        entry: u64,
        /// `st_value` of the entry symbol.
        symbol_value: u64,
    },
    /// A contract symbol is not in any symbol table.
    MissingSymbol {
        /// Its name.
        symbol: &'static str,
    },
    /// A contract symbol is not `STB_GLOBAL`, so the kernel's lookup skips it.
    SymbolBinding {
        /// Its name.
        symbol: &'static str,
        /// Its actual binding.
        binding: u8,
    },
    /// A contract symbol in a section the loader refuses.
    SymbolSection {
        /// Its name.
        symbol: &'static str,
        /// What is wrong with its section.
        problem: SectionProblem,
    },
    /// A patched symbol with the wrong `st_size`.
    SymbolSize {
        /// Its name.
        symbol: &'static str,
        /// The size the loader insists on.
        expected: u64,
        /// Its `st_size`.
        actual: u64,
    },
    /// A patched symbol not inside `[0, p_filesz)`, so patching would write
    /// past the loaded bytes.
    SymbolOutsideFile {
        /// Its name.
        symbol: &'static str,
        /// `st_value`.
        value: u64,
        /// `st_size`.
        size: u64,
        /// The PT_LOAD's `p_filesz`.
        filesz: u64,
    },
    /// The shipped `entry64_regs` is not all zeros.
    Entry64RegsNotZero {
        /// `st_value` of `entry64_regs`.
        address: u64,
        /// Offset of the first non-zero byte inside it.
        offset: u64,
    },
    /// Not exactly one executable section.
    CodeSections {
        /// The executable sections, in header order.
        sections: Vec<String>,
    },
    /// An instruction touching SSE/AVX/MMX/x87/XSAVE state, which raises #UD
    /// (CR4.OSFXSR = OSXSAVE = 0 at entry).
    SimdInstruction {
        /// Where.
        site: InstructionSite,
        /// The CPUID feature or register that gives it away.
        feature: String,
    },
    /// A branch to (or the address of) SIMD code on a path from the entry
    /// point that does not go through the SSE set-up (a CR4 write).
    SimdBeforeSse {
        /// The branch.
        site: InstructionSite,
        /// What it reaches in the SIMD section.
        target: String,
    },
    /// `rdfsbase`/`wrfsbase`/`rdgsbase`/`wrgsbase`: #UD with CR4.FSGSBASE = 0.
    FsGsBaseInstruction {
        /// Where.
        site: InstructionSite,
    },
    /// `sti`: the purgatory runs and hands off with interrupts off.
    Sti {
        /// Where.
        site: InstructionSite,
    },
    /// A write to CR3: the purgatory must keep the kexec identity map.
    Cr3Write {
        /// Where.
        site: InstructionSite,
    },
    /// An FS- or GS-relative memory operand (no TLS, no per-CPU data).
    SegmentOverride {
        /// Where.
        site: InstructionSite,
        /// `fs` or `gs`.
        segment: &'static str,
    },
    /// `mov r64, imm64` of a link-time address, wrong at any other base.
    AbsoluteAddress {
        /// Where.
        site: InstructionSite,
        /// The immediate.
        value: u64,
        /// The symbol or section at that address.
        target: String,
    },
    /// Findings of `rule` beyond [`MAX_FINDINGS_PER_RULE`], not listed.
    MoreFindings {
        /// The rule id of the omitted findings.
        rule: &'static str,
        /// How many were omitted.
        omitted: usize,
    },
}

impl Violation {
    /// Stable kebab-case id of the rule broken.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::ElfClass { .. } => "elf-class",
            Self::ElfEndianness { .. } => "elf-endianness",
            Self::ElfMachine { .. } => "elf-machine",
            Self::ElfType { .. } => "elf-type",
            Self::ProgramHeaderCount { .. } => "program-headers",
            Self::ProgramHeaderType { .. } => "program-header-type",
            Self::SegmentOffset { .. } => "segment-offset",
            Self::SegmentVaddr { .. } => "segment-vaddr",
            Self::SegmentSizes { .. } => "segment-sizes",
            Self::SegmentTooLarge { .. } => "segment-too-large",
            Self::SegmentAlign { .. } => "segment-align",
            Self::SegmentOutsideFile { .. } => "segment-outside-file",
            Self::SectionHeaders { .. } => "section-headers",
            Self::SectionNames { .. } => "section-names",
            Self::SectionOutsideFile { .. } => "section-outside-file",
            Self::SectionAddress { .. } => "section-address",
            Self::RelocationSection { .. } => "relocation-section",
            Self::GotPlt { .. } => "got-plt",
            Self::DynamicLinking { .. } => "dynamic-linking",
            Self::DynamicTag { .. } => "dynamic-tag",
            Self::MissingSymtab => "missing-symtab",
            Self::SymtabLink { .. } => "symtab-link",
            Self::SymtabEntrySize { .. } => "symtab-entry-size",
            Self::UndefinedSymbol { .. } => "undefined-symbol",
            Self::InstrumentationSymbol { .. } => "instrumentation-symbol",
            Self::EntryPoint { .. } => "entry-point",
            Self::MissingSymbol { .. } => "missing-symbol",
            Self::SymbolBinding { .. } => "symbol-binding",
            Self::SymbolSection { .. } => "symbol-section",
            Self::SymbolSize { .. } => "symbol-size",
            Self::SymbolOutsideFile { .. } => "symbol-outside-file",
            Self::Entry64RegsNotZero { .. } => "entry64-regs-not-zero",
            Self::CodeSections { .. } => "code-sections",
            Self::SimdInstruction { .. } => "simd-instruction",
            Self::SimdBeforeSse { .. } => "simd-before-sse",
            Self::FsGsBaseInstruction { .. } => "fsgsbase-instruction",
            Self::Sti { .. } => "sti",
            Self::Cr3Write { .. } => "cr3-write",
            Self::SegmentOverride { .. } => "segment-override",
            Self::AbsoluteAddress { .. } => "absolute-address",
            Self::MoreFindings { rule, .. } => rule,
        }
    }

    /// Where the finding is.
    pub fn location(&self) -> Location {
        let section = |name: &str| Location {
            section: Some(name.to_owned()),
            ..Location::default()
        };
        let symbol = |name: &str, address: Option<u64>| Location {
            symbol: Some(name.to_owned()),
            address,
            ..Location::default()
        };
        match self {
            Self::SegmentOffset { .. }
            | Self::SegmentVaddr { .. }
            | Self::SegmentSizes { .. }
            | Self::SegmentTooLarge { .. }
            | Self::SegmentAlign { .. }
            | Self::SegmentOutsideFile { .. }
            | Self::ElfClass { .. }
            | Self::ElfEndianness { .. }
            | Self::ElfMachine { .. }
            | Self::ElfType { .. }
            | Self::ProgramHeaderCount { .. }
            | Self::ProgramHeaderType { .. }
            | Self::SectionHeaders { .. }
            | Self::SectionNames { .. }
            | Self::MissingSymtab
            | Self::MoreFindings { .. } => Location::default(),
            Self::SectionOutsideFile { section: s, .. }
            | Self::RelocationSection { section: s, .. }
            | Self::GotPlt { section: s, .. }
            | Self::DynamicLinking { section: s, .. }
            | Self::DynamicTag { section: s, .. }
            | Self::SymtabLink { section: s, .. }
            | Self::SymtabEntrySize { section: s, .. } => section(s),
            Self::SectionAddress {
                section: s, addr, ..
            } => Location {
                address: Some(*addr),
                ..section(s)
            },
            Self::CodeSections { sections } => Location {
                section: sections.get(1).or(sections.first()).cloned(),
                ..Location::default()
            },
            Self::UndefinedSymbol { symbol: s } | Self::InstrumentationSymbol { symbol: s } => {
                symbol(s, None)
            }
            Self::EntryPoint { entry, .. } => symbol(ENTRY_SYMBOL, Some(*entry)),
            Self::MissingSymbol { symbol: s }
            | Self::SymbolBinding { symbol: s, .. }
            | Self::SymbolSize { symbol: s, .. } => symbol(s, None),
            Self::SymbolSection { symbol: s, problem } => match problem {
                SectionProblem::Bss { section: sec }
                | SectionProblem::NotExecutable { section: sec } => Location {
                    section: Some(sec.clone()),
                    ..symbol(s, None)
                },
                _ => symbol(s, None),
            },
            Self::SymbolOutsideFile {
                symbol: s, value, ..
            } => symbol(s, Some(*value)),
            Self::Entry64RegsNotZero { address, offset } => {
                symbol(ENTRY64_REGS_SYMBOL, Some(address.saturating_add(*offset)))
            }
            Self::SimdInstruction { site, .. }
            | Self::SimdBeforeSse { site, .. }
            | Self::FsGsBaseInstruction { site }
            | Self::Sti { site }
            | Self::Cr3Write { site }
            | Self::SegmentOverride { site, .. }
            | Self::AbsoluteAddress { site, .. } => Location {
                section: Some(site.section.clone()),
                symbol: site.symbol.clone(),
                address: Some(site.address),
                instruction: Some(site.instruction.clone()),
            },
        }
    }
}

impl fmt::Display for InstructionSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.address)?;
        match &self.symbol {
            Some(symbol) => write!(f, " in {symbol} ({})", self.section)?,
            None => write!(f, " in {}", self.section)?,
        }
        write!(f, ": `{}`", self.instruction)
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ElfClass { class } => write!(
                f,
                "EI_CLASS is {class}, expected ELFCLASS64 ({ELFCLASS64}): only 64-bit purgatories are loaded"
            ),
            Self::ElfEndianness { data } => write!(
                f,
                "EI_DATA is {data}, expected ELFDATA2LSB ({ELFDATA2LSB}): x86_64 is little-endian"
            ),
            Self::ElfMachine { machine } => write!(
                f,
                "e_machine is {}, expected EM_X86_64 ({EM_X86_64})",
                constant_name("EM_", header::machine_to_str(*machine), *machine)
            ),
            Self::ElfType { e_type } => write!(
                f,
                "e_type is {}, expected ET_DYN ({ET_DYN}): the loader takes a fully linked single-segment PIE",
                constant_name("ET_", header::et_to_str(*e_type), *e_type)
            ),
            Self::ProgramHeaderCount { count } => write!(
                f,
                "{count} program headers, expected exactly one (a PT_LOAD)"
            ),
            Self::ProgramHeaderType { index, p_type } => write!(
                f,
                "program header {index} is {}: only a single PT_LOAD is allowed",
                segment_type_name(*p_type)
            ),
            Self::SegmentOffset { p_offset } => write!(
                f,
                "PT_LOAD p_offset is {p_offset:#x}, expected 0: the ELF and program headers must be in the segment so file offsets equal addresses"
            ),
            Self::SegmentVaddr { p_vaddr } => write!(
                f,
                "PT_LOAD p_vaddr is {p_vaddr:#x}, expected 0: the loader enters at load base + e_entry"
            ),
            Self::SegmentTooLarge { p_memsz } => write!(
                f,
                "p_memsz {p_memsz:#x} exceeds {MAX_SEGMENT_SIZE:#x}: a purgatory is a few pages, \
                 and a loader would have to allocate all of it"
            ),
            Self::SegmentSizes { p_filesz, p_memsz } => write!(
                f,
                "PT_LOAD p_filesz {p_filesz:#x} exceeds p_memsz {p_memsz:#x}"
            ),
            Self::SegmentAlign { p_align } => {
                write!(f, "PT_LOAD p_align {p_align:#x} is not a power of two")
            }
            Self::SegmentOutsideFile {
                p_offset,
                p_filesz,
                file_len,
            } => write!(
                f,
                "PT_LOAD file bytes [{p_offset:#x}, {p_offset:#x} + {p_filesz:#x}) extend past the end of the file ({file_len:#x} bytes)"
            ),
            Self::SectionHeaders { shnum, shoff } => write!(
                f,
                "no section header table (e_shnum {shnum}, e_shoff {shoff:#x}): loaders find the patched symbols through .symtab"
            ),
            Self::SectionNames { shstrndx } => write!(
                f,
                "e_shstrndx {shstrndx} is not a string table inside the file: section names are unknown"
            ),
            Self::SectionOutsideFile {
                section,
                offset,
                size,
            } => write!(
                f,
                "section {section} [{offset:#x}, {offset:#x} + {size:#x}) extends past the end of the file"
            ),
            Self::SectionAddress {
                section,
                offset,
                addr,
            } => write!(
                f,
                "section {section} is at file offset {offset:#x} but address {addr:#x}: patching a symbol at its file offset would miss"
            ),
            Self::RelocationSection {
                section,
                sh_type,
                size,
            } => write!(
                f,
                "relocation section {section} ({}) holds {size:#x} bytes: the purgatory must need no relocations",
                section_type_name(*sh_type)
            ),
            Self::GotPlt { section, size } => write!(
                f,
                "section {section} holds {size:#x} bytes: GOT/PLT entries need dynamic relocations"
            ),
            Self::DynamicLinking { section, sh_type } => write!(
                f,
                "section {section} ({}) present: the purgatory is not dynamically linked",
                section_type_name(*sh_type)
            ),
            Self::DynamicTag { section, tag } => write!(
                f,
                "{section} has {} ({tag:#x}): nothing applies dynamic relocations or loads libraries",
                dynamic_tag_name(*tag)
            ),
            Self::MissingSymtab => {
                f.write_str("missing .symtab: loaders find the patched symbols through it")
            }
            Self::SymtabLink { section, link } => write!(
                f,
                "{section} sh_link {link} is not a string table: symbol names cannot be read"
            ),
            Self::SymtabEntrySize { section, entsize } => write!(
                f,
                "{section} sh_entsize is {entsize}, expected {}",
                elf64::sym::SIZEOF_SYM
            ),
            Self::UndefinedSymbol { symbol } => write!(
                f,
                "undefined symbol `{symbol}`: nothing resolves it when the purgatory is loaded"
            ),
            Self::InstrumentationSymbol { symbol } => write!(
                f,
                "symbol `{symbol}` is compiler instrumentation or kernel hardening, which the purgatory cannot run"
            ),
            Self::EntryPoint {
                entry,
                symbol_value,
            } => write!(
                f,
                "e_entry is {entry:#x} but {ENTRY_SYMBOL} is at {symbol_value:#x}"
            ),
            Self::MissingSymbol { symbol } => {
                write!(f, "symbol `{symbol}` is missing from the symbol table")
            }
            Self::SymbolBinding { symbol, binding } => write!(
                f,
                "symbol `{symbol}` is {}, expected STB_GLOBAL: the kernel's lookup skips it",
                constant_name("STB_", sym::bind_to_str(*binding), u16::from(*binding))
            ),
            Self::SymbolSection { symbol, problem } => match problem {
                SectionProblem::Undefined => write!(
                    f,
                    "symbol `{symbol}` has st_shndx SHN_UNDEF: the loader refuses it"
                ),
                SectionProblem::Absolute => write!(
                    f,
                    "symbol `{symbol}` has st_shndx SHN_ABS: the loader refuses it"
                ),
                SectionProblem::Common => write!(
                    f,
                    "symbol `{symbol}` has st_shndx SHN_COMMON: the loader refuses it"
                ),
                SectionProblem::OutOfRange { shndx, shnum } => write!(
                    f,
                    "symbol `{symbol}` has st_shndx {shndx}, past the {shnum} section headers: the loader refuses it"
                ),
                SectionProblem::Bss { section } => write!(
                    f,
                    "symbol `{symbol}` is in a bss section ({section}, SHT_NOBITS): the loader refuses to patch it"
                ),
                SectionProblem::NotExecutable { section } => write!(
                    f,
                    "symbol `{symbol}` is in {section}, which is not executable (no SHF_EXECINSTR)"
                ),
            },
            Self::SymbolSize {
                symbol,
                expected,
                actual,
            } => write!(
                f,
                "symbol `{symbol}` size mismatch: st_size {actual}, the loader expects {expected}"
            ),
            Self::SymbolOutsideFile {
                symbol,
                value,
                size,
                filesz,
            } => write!(
                f,
                "symbol `{symbol}` [{value:#x}, {value:#x} + {size:#x}) is not inside the file-backed part of the segment [0, {filesz:#x}): patching it would write past the loaded bytes"
            ),
            Self::Entry64RegsNotZero { address, offset } => write!(
                f,
                "{ENTRY64_REGS_SYMBOL} at {address:#x} has a non-zero byte at offset {offset:#x}: the shipped image must hold zeros"
            ),
            Self::CodeSections { sections } if sections.is_empty() => {
                f.write_str("no executable section: all code belongs in exactly one")
            }
            Self::CodeSections { sections } => write!(
                f,
                "{} executable sections ({}): all code must be in one",
                sections.len(),
                sections.join(", ")
            ),
            Self::SimdInstruction { site, feature } => write!(
                f,
                "{site} uses {feature}: #UD, the purgatory runs with CR4.OSFXSR = OSXSAVE = 0"
            ),
            Self::SimdBeforeSse { site, target } => write!(
                f,
                "{site} reaches SIMD code ({target}) from the entry point without passing \
                 through the SSE set-up (a CR4 write): #UD at boot"
            ),
            Self::FsGsBaseInstruction { site } => {
                write!(f, "{site}: #UD, the purgatory runs with CR4.FSGSBASE = 0")
            }
            Self::Sti { site } => write!(
                f,
                "{site} enables interrupts: there is no IDT, an interrupt resets the machine"
            ),
            Self::Cr3Write { site } => write!(
                f,
                "{site} writes CR3: the purgatory must keep the kexec identity map"
            ),
            Self::SegmentOverride { site, segment } => write!(
                f,
                "{site} is {segment}-relative: there is no TLS or per-CPU area, {segment} base is 0"
            ),
            Self::AbsoluteAddress {
                site,
                value,
                target,
            } => write!(
                f,
                "{site} loads the link-time address {value:#x} ({target}): wrong at any other load base"
            ),
            Self::MoreFindings { rule, omitted } => write!(
                f,
                "... and {omitted} more `{rule}` findings (only the first {MAX_FINDINGS_PER_RULE} are listed)"
            ),
        }
    }
}

/// `EM_386 (3)` from goblin's `386`; just the number when goblin does not know it.
fn constant_name(prefix: &str, name: &str, value: u16) -> String {
    if name.contains("UNKNOWN") {
        value.to_string()
    } else {
        format!("{prefix}{name} ({value})")
    }
}

fn segment_type_name(p_type: u32) -> String {
    match program_header::pt_to_str(p_type) {
        "UNKNOWN_PT" => format!("p_type {p_type:#x}"),
        name => format!("{name} ({p_type:#x})"),
    }
}

fn section_type_name(sh_type: u32) -> String {
    match (sh_type, section_header::sht_to_str(sh_type)) {
        (SHT_RELR, _) => "SHT_RELR".to_owned(),
        (_, "UNKNOWN_SHT") => format!("sh_type {sh_type:#x}"),
        (_, name) => name.to_owned(),
    }
}

fn dynamic_tag_name(tag: u64) -> &'static str {
    match tag {
        DT_RELR => "DT_RELR",
        _ => dynamic::tag_to_str(tag),
    }
}
