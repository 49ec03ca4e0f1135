//! The ELF contract checker: judges a purgatory image against what the
//! ET_DYN kexec loader needs (one PT_LOAD at offset 0, no relocations, the
//! patched symbols in `.symtab` with exact sizes) and against the CPU state
//! the purgatory runs in (no SSE/x87 state, interrupts off, the kexec page
//! tables kept).
//!
//! [`check`] reads the tables itself, with goblin's structure definitions,
//! instead of trusting `goblin::elf::Elf::parse`: that way a structural
//! defect becomes a located [`Violation`] rather than an opaque parse
//! error, no allocation is sized by an unchecked count, and goblin's lenient
//! fallbacks (an empty string table for a bad `sh_link`, the last of several
//! symbol tables) cannot hide what a kernel loader would trip over.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::dynamic::{self, DT_JMPREL, DT_NEEDED, DT_NULL, DT_REL, DT_RELA, DT_TEXTREL};
use goblin::elf::header::{
    self, EI_CLASS, EI_DATA, ELFCLASS64, ELFDATA2LSB, ELFMAG, EM_X86_64, ET_DYN, ET_REL, Header,
    SIZEOF_IDENT,
};
use goblin::elf::program_header::{self, PT_LOAD, ProgramHeader};
use goblin::elf::section_header::{
    self, SHF_ALLOC, SHF_EXECINSTR, SHN_ABS, SHN_COMMON, SHN_UNDEF, SHT_DYNAMIC, SHT_DYNSYM,
    SHT_NOBITS, SHT_NULL, SHT_REL, SHT_RELA, SHT_STRTAB, SHT_SYMTAB, SectionHeader,
};
use goblin::elf::sym::{self, STB_GLOBAL, STT_FUNC, Sym};
use goblin::elf64;
use iced_x86::{
    Code, CpuidFeature, Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, Mnemonic,
    OpKind, Register,
};
use purgatory_abi::{
    ENTRY_SYMBOL, ENTRY64_REGS_SYMBOL, PATCHED_SYMBOLS, STACK_END_SYMBOL, VERIFY_SYMBOL,
};

/// Findings listed per rule before the rest is summarised, so garbage input
/// cannot produce millions of lines.
pub const MAX_FINDINGS_PER_RULE: usize = 20;

/// Longest name read from a string table; bounds the work on unterminated garbage.
const MAX_NAME: usize = 1024;

// gABI values goblin does not name.
const SHT_RELR: u32 = 19;
const DT_RELR: u64 = 36;

/// Judge `bytes` against the contract.
///
/// Err only when the bytes cannot be parsed as an ELF at all (bad magic,
/// truncated headers or header tables). Otherwise the list of all
/// violations; empty means the image is clean.
pub fn check(bytes: &[u8]) -> Result<Vec<Violation>, Unreadable> {
    let mut out = Findings::default();
    let image = match Image::parse(bytes, &mut out)? {
        Some(image) => image,
        // Not ELF64 little-endian: the remaining rules cannot be read.
        None => return Ok(out.finish()),
    };
    check_header(&image, &mut out);
    let segment = check_program_headers(&image, &mut out);
    check_sections(&image, segment.as_ref(), &mut out);
    check_dynamic(&image, &mut out);
    check_symtabs(&image, &mut out);
    check_symbol_names(&image, &mut out);
    check_contract_symbols(&image, segment.as_ref(), &mut out);
    check_code(&image, &mut out);
    Ok(out.finish())
}

/// Why a file could not be read as an ELF at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    message: String,
}

impl Unreadable {
    /// An unreadable verdict with the reason, for callers that parse further.
    pub fn new(message: String) -> Self {
        Self { message }
    }

    /// The reason, as a sentence fragment.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Unreadable {}

/// Where a finding is, as far as it can be located.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// Section name.
    pub section: Option<String>,
    /// Symbol name: the symbol at fault, or the function containing the instruction.
    pub symbol: Option<String>,
    /// Virtual address (equal to the file offset in a correct image).
    pub address: Option<u64>,
    /// The instruction, in Intel syntax.
    pub instruction: Option<String>,
}

/// An instruction the purgatory must not contain, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The findings so far, with at most [`MAX_FINDINGS_PER_RULE`] per rule.
#[derive(Default)]
struct Findings {
    list: Vec<Violation>,
    counts: BTreeMap<&'static str, usize>,
}

impl Findings {
    /// Counts a finding of `rule`; true when it is still to be listed.
    fn admit(&mut self, rule: &'static str) -> bool {
        let count = self.counts.entry(rule).or_default();
        *count = count.saturating_add(1);
        *count <= MAX_FINDINGS_PER_RULE
    }

    fn push(&mut self, violation: Violation) {
        if self.admit(violation.rule()) {
            self.list.push(violation);
        }
    }

    fn finish(mut self) -> Vec<Violation> {
        for (rule, count) in self.counts {
            if let Some(omitted) = count.checked_sub(MAX_FINDINGS_PER_RULE).filter(|&n| n > 0) {
                self.list.push(Violation::MoreFindings { rule, omitted });
            }
        }
        self.list
    }
}

/// A section header with its name and, when they lie inside the file, its bytes.
struct Section<'a> {
    index: usize,
    name: &'a [u8],
    header: SectionHeader,
    data: Option<&'a [u8]>,
}

impl Section<'_> {
    fn name(&self) -> String {
        if self.name.is_empty() {
            format!("section #{}", self.index)
        } else {
            String::from_utf8_lossy(self.name).into_owned()
        }
    }

    fn has_flag(&self, flag: u32) -> bool {
        self.header.sh_flags & u64::from(flag) != 0
    }

    fn is_named(&self, name: &str) -> bool {
        self.name == name.as_bytes()
    }

    fn name_starts_with(&self, prefix: &str) -> bool {
        self.name.starts_with(prefix.as_bytes())
    }
}

/// A symbol table entry with its name.
struct Symbol<'a> {
    name: &'a [u8],
    index: usize,
    sym: Sym,
}

impl Symbol<'_> {
    fn name(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }

    /// Defined in a real section: its value is a link-time address.
    fn is_defined(&self) -> bool {
        let shndx = self.sym.st_shndx;
        shndx != SHN_UNDEF as usize && shndx != SHN_ABS as usize && shndx != SHN_COMMON as usize
    }
}

/// The parts of an ELF64 little-endian file the rules look at.
struct Image<'a> {
    bytes: &'a [u8],
    header: Header,
    segments: Vec<ProgramHeader>,
    sections: Vec<Section<'a>>,
    names_readable: bool,
    /// Every entry of every `SHT_SYMTAB`, in file order.
    symbols: Vec<Symbol<'a>>,
}

impl<'a> Image<'a> {
    /// `Ok(None)` when the file is an ELF but not ELF64 little-endian; the
    /// header findings are in `out` then.
    fn parse(bytes: &'a [u8], out: &mut Findings) -> Result<Option<Self>, Unreadable> {
        if bytes.get(..ELFMAG.len()) != Some(ELFMAG.as_slice()) {
            return Err(Unreadable::new(if bytes.len() < ELFMAG.len() {
                format!("not an ELF file: only {} bytes", bytes.len())
            } else {
                "not an ELF file: bad magic".to_owned()
            }));
        }
        let ident = bytes.get(..SIZEOF_IDENT).ok_or_else(|| {
            Unreadable::new(format!(
                "truncated: the ELF identification needs {SIZEOF_IDENT} bytes, the file has {}",
                bytes.len()
            ))
        })?;
        let class = ident.get(EI_CLASS).copied().unwrap_or_default();
        let data = ident.get(EI_DATA).copied().unwrap_or_default();
        if class != ELFCLASS64 || data != ELFDATA2LSB {
            if class != ELFCLASS64 {
                out.push(Violation::ElfClass { class });
            }
            if data != ELFDATA2LSB {
                out.push(Violation::ElfEndianness { data });
            }
            if let Ok(header) = goblin::elf::Elf::parse_header(bytes) {
                check_header_fields(&header, out);
            }
            return Ok(None);
        }
        if bytes.len() < elf64::header::SIZEOF_EHDR {
            return Err(Unreadable::new(format!(
                "truncated: the ELF header needs {} bytes, the file has {}",
                elf64::header::SIZEOF_EHDR,
                bytes.len()
            )));
        }
        let header = goblin::elf::Elf::parse_header(bytes)
            .map_err(|err| Unreadable::new(format!("unreadable ELF header: {err}")))?;
        let ctx = Ctx::new(Container::Big, Endian::Little);
        let segments = parse_program_headers(bytes, &header, ctx)?;
        let headers = parse_section_headers(bytes, &header, ctx)?;
        let shstrtab = usize::from(header.e_shstrndx);
        let names = headers
            .get(shstrtab)
            .filter(|sh| sh.sh_type == SHT_STRTAB)
            .and_then(|sh| file_slice(bytes, sh.sh_offset, sh.sh_size));
        let sections: Vec<Section<'a>> = headers
            .into_iter()
            .enumerate()
            .map(|(index, header)| Section {
                index,
                name: names.map_or(&[][..], |table| c_str(table, header.sh_name)),
                data: if header.sh_type == SHT_NOBITS {
                    None
                } else {
                    file_slice(bytes, header.sh_offset, header.sh_size)
                },
                header,
            })
            .collect();
        let symbols = parse_symbols(&sections, ctx);
        Ok(Some(Self {
            bytes,
            header,
            segments,
            names_readable: names.is_some(),
            sections,
            symbols,
        }))
    }

    fn section(&self, index: usize) -> Option<&Section<'a>> {
        self.sections.get(index)
    }

    fn symtabs(&self) -> impl Iterator<Item = &Section<'a>> {
        self.sections
            .iter()
            .filter(|s| s.header.sh_type == SHT_SYMTAB)
    }
}

/// Checks that a header table lies inside the file before anything is
/// allocated for it.
fn table_span(
    what: &str,
    file_len: usize,
    offset: u64,
    count: u16,
    entsize: u16,
    expected_entsize: usize,
) -> Result<(), Unreadable> {
    if usize::from(entsize) != expected_entsize {
        return Err(Unreadable::new(format!(
            "{what} entry size is {entsize}, expected {expected_entsize}: cannot read the {what} table"
        )));
    }
    let size = u64::from(count) * u64::from(entsize);
    match offset.checked_add(size) {
        Some(end) if end <= file_len as u64 => Ok(()),
        _ => Err(Unreadable::new(format!(
            "truncated: {what}s at {offset:#x} ({count} x {entsize} bytes) past end of file (size {file_len:#x})"
        ))),
    }
}

fn parse_program_headers(
    bytes: &[u8],
    header: &Header,
    ctx: Ctx,
) -> Result<Vec<ProgramHeader>, Unreadable> {
    if header.e_phnum == 0 {
        return Ok(Vec::new());
    }
    table_span(
        "program header",
        bytes.len(),
        header.e_phoff,
        header.e_phnum,
        header.e_phentsize,
        elf64::program_header::SIZEOF_PHDR,
    )?;
    let offset = usize::try_from(header.e_phoff)
        .map_err(|_| Unreadable::new("program header offset does not fit in memory".to_owned()))?;
    ProgramHeader::parse(bytes, offset, usize::from(header.e_phnum), ctx)
        .map_err(|err| Unreadable::new(format!("unreadable program headers: {err}")))
}

fn parse_section_headers(
    bytes: &[u8],
    header: &Header,
    ctx: Ctx,
) -> Result<Vec<SectionHeader>, Unreadable> {
    // No table, or extended numbering (the count in section 0), which no
    // kexec loader reads: reported as a violation, not unreadable.
    if header.e_shnum == 0 || header.e_shoff == 0 {
        return Ok(Vec::new());
    }
    table_span(
        "section header",
        bytes.len(),
        header.e_shoff,
        header.e_shnum,
        header.e_shentsize,
        elf64::section_header::SIZEOF_SHDR,
    )?;
    let offset = usize::try_from(header.e_shoff)
        .map_err(|_| Unreadable::new("section header offset does not fit in memory".to_owned()))?;
    SectionHeader::parse(bytes, offset, usize::from(header.e_shnum), ctx)
        .map_err(|err| Unreadable::new(format!("unreadable section headers: {err}")))
}

/// Every entry of every well-formed `SHT_SYMTAB`, named through its
/// `sh_link` as Linux does (which does not check that it is a string table).
fn parse_symbols<'a>(sections: &[Section<'a>], ctx: Ctx) -> Vec<Symbol<'a>> {
    let mut symbols = Vec::new();
    for table in sections.iter().filter(|s| s.header.sh_type == SHT_SYMTAB) {
        let entsize = elf64::sym::SIZEOF_SYM;
        let Some(data) = table.data else { continue };
        if table.header.sh_entsize != entsize as u64 {
            continue;
        }
        let strings = usize::try_from(table.header.sh_link)
            .ok()
            .and_then(|link| sections.get(link))
            .and_then(|s| s.data)
            .unwrap_or_default();
        let Ok(syms) = Sym::parse(data, 0, data.len() / entsize, ctx) else {
            continue;
        };
        symbols.extend(syms.into_iter().enumerate().map(|(index, sym)| Symbol {
            name: c_str(strings, sym.st_name),
            index,
            sym,
        }));
    }
    symbols
}

/// `[offset, offset + size)` of `bytes`, if it is all there.
fn file_slice(bytes: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(size).ok()?)?;
    bytes.get(start..end)
}

/// The NUL-terminated string at `offset`, at most [`MAX_NAME`] bytes; empty
/// when `offset` is out of range.
fn c_str(table: &[u8], offset: usize) -> &[u8] {
    let tail = table.get(offset..).unwrap_or_default();
    let tail = tail.get(..MAX_NAME).unwrap_or(tail);
    tail.split(|&b| b == 0).next().unwrap_or_default()
}

fn check_header(image: &Image<'_>, out: &mut Findings) {
    check_header_fields(&image.header, out);
}

fn check_header_fields(header: &Header, out: &mut Findings) {
    if header.e_machine != EM_X86_64 {
        out.push(Violation::ElfMachine {
            machine: header.e_machine,
        });
    }
    if header.e_type != ET_DYN {
        out.push(Violation::ElfType {
            e_type: header.e_type,
        });
    }
}

/// Returns the PT_LOAD the other rules measure against, if there is one.
fn check_program_headers(image: &Image<'_>, out: &mut Findings) -> Option<ProgramHeader> {
    if image.segments.len() != 1 {
        out.push(Violation::ProgramHeaderCount {
            count: image.header.e_phnum,
        });
    }
    for (index, ph) in image.segments.iter().enumerate() {
        if ph.p_type != PT_LOAD {
            out.push(Violation::ProgramHeaderType {
                index,
                p_type: ph.p_type,
            });
        }
    }
    let load = image
        .segments
        .iter()
        .find(|ph| ph.p_type == PT_LOAD)
        .cloned()?;
    if load.p_offset != 0 {
        out.push(Violation::SegmentOffset {
            p_offset: load.p_offset,
        });
    }
    if load.p_vaddr != 0 {
        out.push(Violation::SegmentVaddr {
            p_vaddr: load.p_vaddr,
        });
    }
    if load.p_filesz > load.p_memsz {
        out.push(Violation::SegmentSizes {
            p_filesz: load.p_filesz,
            p_memsz: load.p_memsz,
        });
    }
    if !load.p_align.is_power_of_two() {
        out.push(Violation::SegmentAlign {
            p_align: load.p_align,
        });
    }
    let file_len = image.bytes.len() as u64;
    if load
        .p_offset
        .checked_add(load.p_filesz)
        .is_none_or(|end| end > file_len)
    {
        out.push(Violation::SegmentOutsideFile {
            p_offset: load.p_offset,
            p_filesz: load.p_filesz,
            file_len,
        });
    }
    Some(load)
}

fn check_sections(image: &Image<'_>, segment: Option<&ProgramHeader>, out: &mut Findings) {
    if image.sections.is_empty() {
        out.push(Violation::SectionHeaders {
            shnum: image.header.e_shnum,
            shoff: image.header.e_shoff,
        });
        return;
    }
    if !image.names_readable {
        out.push(Violation::SectionNames {
            shstrndx: image.header.e_shstrndx,
        });
    }
    // Only meaningful for a linked image; in an ET_REL every sh_addr is 0.
    let linked = segment.is_some() && image.header.e_type != ET_REL;
    for section in &image.sections {
        let sh = &section.header;
        if sh.sh_type == SHT_NULL || sh.sh_type == SHT_NOBITS {
            continue;
        }
        if section.data.is_none() {
            out.push(Violation::SectionOutsideFile {
                section: section.name(),
                offset: sh.sh_offset,
                size: sh.sh_size,
            });
        }
        if linked && section.has_flag(SHF_ALLOC) && sh.sh_offset != sh.sh_addr {
            out.push(Violation::SectionAddress {
                section: section.name(),
                offset: sh.sh_offset,
                addr: sh.sh_addr,
            });
        }
    }
}

fn is_relocation_section(section: &Section<'_>) -> bool {
    matches!(section.header.sh_type, SHT_RELA | SHT_REL | SHT_RELR)
        || [".rela.", ".rel.", ".relr."]
            .iter()
            .any(|prefix| section.name_starts_with(prefix))
}

fn is_got_or_plt(section: &Section<'_>) -> bool {
    section.is_named(".got") || section.is_named(".got.plt") || section.name_starts_with(".plt")
}

fn is_dynamic_linking(section: &Section<'_>) -> bool {
    matches!(section.header.sh_type, SHT_DYNAMIC | SHT_DYNSYM)
        || [".dynamic", ".interp", ".dynsym"]
            .iter()
            .any(|name| section.is_named(name))
}

fn check_dynamic(image: &Image<'_>, out: &mut Findings) {
    for section in &image.sections {
        let sh = &section.header;
        if is_relocation_section(section) {
            if sh.sh_size != 0 {
                out.push(Violation::RelocationSection {
                    section: section.name(),
                    sh_type: sh.sh_type,
                    size: sh.sh_size,
                });
            }
        } else if is_got_or_plt(section) {
            if sh.sh_size != 0 {
                out.push(Violation::GotPlt {
                    section: section.name(),
                    size: sh.sh_size,
                });
            }
        } else if is_dynamic_linking(section) {
            out.push(Violation::DynamicLinking {
                section: section.name(),
                sh_type: sh.sh_type,
            });
        }
        if sh.sh_type == SHT_DYNAMIC {
            check_dynamic_tags(section, out);
        }
    }
}

fn check_dynamic_tags(section: &Section<'_>, out: &mut Findings) {
    let Some(data) = section.data else { return };
    for entry in data.chunks_exact(elf64::dynamic::SIZEOF_DYN) {
        let tag = read_u64(entry, 0);
        if tag == DT_NULL {
            break;
        }
        if matches!(
            tag,
            DT_RELA | DT_REL | DT_RELR | DT_JMPREL | DT_TEXTREL | DT_NEEDED
        ) {
            out.push(Violation::DynamicTag {
                section: section.name(),
                tag,
            });
        }
    }
}

fn read_u64(bytes: &[u8], offset: usize) -> u64 {
    bytes
        .get(offset..)
        .and_then(|tail| tail.first_chunk::<8>())
        .map_or(0, |chunk| u64::from_le_bytes(*chunk))
}

fn check_symtabs(image: &Image<'_>, out: &mut Findings) {
    if image.symtabs().next().is_none() {
        out.push(Violation::MissingSymtab);
    }
    for table in image.symtabs() {
        let link = table.header.sh_link;
        let linked = usize::try_from(link)
            .ok()
            .and_then(|index| image.section(index));
        if linked.is_none_or(|s| s.header.sh_type != SHT_STRTAB) {
            out.push(Violation::SymtabLink {
                section: table.name(),
                link,
            });
        }
        if table.header.sh_entsize != elf64::sym::SIZEOF_SYM as u64 {
            out.push(Violation::SymtabEntrySize {
                section: table.name(),
                entsize: table.header.sh_entsize,
            });
        }
    }
}

/// Instrumentation a kernel build would add, and that cannot work here.
fn is_instrumentation(name: &[u8]) -> bool {
    let exact: [&[u8]; 4] = [
        b"__stack_chk_fail",
        b"__x86_return_thunk",
        b"__fentry__",
        b"mcount",
    ];
    let prefixes: [&[u8]; 2] = [b"__x86_indirect_thunk_", b"__asan_"];
    exact.contains(&name) || prefixes.iter().any(|p| name.starts_with(p))
}

fn check_symbol_names(image: &Image<'_>, out: &mut Findings) {
    let mut instrumentation = BTreeSet::new();
    for symbol in &image.symbols {
        if symbol.index != 0 && symbol.sym.st_shndx == SHN_UNDEF as usize && !symbol.name.is_empty()
        {
            out.push(Violation::UndefinedSymbol {
                symbol: symbol.name(),
            });
        }
        if is_instrumentation(symbol.name) && instrumentation.insert(symbol.name) {
            out.push(Violation::InstrumentationSymbol {
                symbol: symbol.name(),
            });
        }
    }
}

/// What the kernel's lookup would find for a name: the first STB_GLOBAL
/// entry, or else the entry it would have found but for its binding.
fn lookup<'i, 'a>(
    image: &'i Image<'a>,
    name: &'static str,
    out: &mut Findings,
) -> Option<&'i Symbol<'a>> {
    let mut named = image.symbols.iter().filter(|s| s.name == name.as_bytes());
    let first = named.clone().next();
    match named.find(|s| s.sym.st_bind() == STB_GLOBAL).or(first) {
        None => {
            out.push(Violation::MissingSymbol { symbol: name });
            None
        }
        Some(symbol) => {
            if symbol.sym.st_bind() != STB_GLOBAL {
                out.push(Violation::SymbolBinding {
                    symbol: name,
                    binding: symbol.sym.st_bind(),
                });
            }
            Some(symbol)
        }
    }
}

/// The section a contract symbol is in, as the loader resolves `st_shndx`.
fn symbol_section<'i, 'a>(
    image: &'i Image<'a>,
    name: &'static str,
    symbol: &Symbol<'a>,
    out: &mut Findings,
) -> Option<&'i Section<'a>> {
    let shndx = symbol.sym.st_shndx;
    let problem = match u32::try_from(shndx) {
        Ok(SHN_UNDEF) => SectionProblem::Undefined,
        Ok(SHN_ABS) => SectionProblem::Absolute,
        Ok(SHN_COMMON) => SectionProblem::Common,
        _ => match image.section(shndx) {
            Some(section) => return Some(section),
            None => SectionProblem::OutOfRange {
                shndx,
                shnum: image.sections.len(),
            },
        },
    };
    out.push(Violation::SymbolSection {
        symbol: name,
        problem,
    });
    None
}

fn require_executable(name: &'static str, section: &Section<'_>, out: &mut Findings) {
    if !section.has_flag(SHF_EXECINSTR) {
        out.push(Violation::SymbolSection {
            symbol: name,
            problem: SectionProblem::NotExecutable {
                section: section.name(),
            },
        });
    }
}

fn check_contract_symbols(image: &Image<'_>, segment: Option<&ProgramHeader>, out: &mut Findings) {
    if let Some(start) = lookup(image, ENTRY_SYMBOL, out) {
        if let Some(section) = symbol_section(image, ENTRY_SYMBOL, start, out) {
            require_executable(ENTRY_SYMBOL, section, out);
        }
        if image.header.e_entry != start.sym.st_value {
            out.push(Violation::EntryPoint {
                entry: image.header.e_entry,
                symbol_value: start.sym.st_value,
            });
        }
    }
    if let Some(verify) = lookup(image, VERIFY_SYMBOL, out)
        && let Some(section) = symbol_section(image, VERIFY_SYMBOL, verify, out)
    {
        require_executable(VERIFY_SYMBOL, section, out);
    }
    if let Some(stack_end) = lookup(image, STACK_END_SYMBOL, out) {
        symbol_section(image, STACK_END_SYMBOL, stack_end, out);
    }
    for patched in PATCHED_SYMBOLS {
        let Some(symbol) = lookup(image, patched.name, out) else {
            continue;
        };
        let section = symbol_section(image, patched.name, symbol, out);
        if let Some(section) = section
            && section.header.sh_type == SHT_NOBITS
        {
            out.push(Violation::SymbolSection {
                symbol: patched.name,
                problem: SectionProblem::Bss {
                    section: section.name(),
                },
            });
        }
        let (value, size) = (symbol.sym.st_value, symbol.sym.st_size);
        if size != patched.size {
            out.push(Violation::SymbolSize {
                symbol: patched.name,
                expected: patched.size,
                actual: size,
            });
        }
        if let Some(load) = segment
            && value
                .checked_add(size)
                .is_none_or(|end| end > load.p_filesz)
        {
            out.push(Violation::SymbolOutsideFile {
                symbol: patched.name,
                value,
                size,
                filesz: load.p_filesz,
            });
        }
        if patched.name == ENTRY64_REGS_SYMBOL
            && let Some(section) = section
        {
            check_zeroed(image, section, symbol, out);
        }
    }
}

/// `entry64_regs` ships as zeros: the loader patches only some registers
/// and hands the others to the next kernel as they are in the image.
fn check_zeroed(image: &Image<'_>, section: &Section<'_>, symbol: &Symbol<'_>, out: &mut Findings) {
    let Some(data) = section.data else { return };
    // st_value is an address in a linked file, an offset in an ET_REL.
    let offset = if image.header.e_type == ET_REL {
        Some(symbol.sym.st_value)
    } else {
        symbol.sym.st_value.checked_sub(section.header.sh_addr)
    };
    let Some(bytes) = offset.and_then(|offset| file_slice(data, offset, symbol.sym.st_size)) else {
        return;
    };
    if let Some(first) = bytes.iter().position(|&b| b != 0) {
        out.push(Violation::Entry64RegsNotZero {
            address: symbol.sym.st_value,
            offset: first as u64,
        });
    }
}

/// What the disassembly pass needs to know about the image. Names stay
/// borrowed until a finding needs one, so a huge symbol table costs no copies.
struct CodeContext<'i, 'a> {
    /// Function symbols, globals first, to name the function around an address.
    functions: Vec<&'i Symbol<'a>>,
    /// Link-time addresses of symbols and sections, naming what is there.
    addresses: BTreeMap<u64, Target<'i, 'a>>,
}

/// What lives at a link-time address.
#[derive(Clone, Copy)]
enum Target<'i, 'a> {
    Symbol(&'i Symbol<'a>),
    Section(&'i Section<'a>),
}

impl Target<'_, '_> {
    fn describe(self) -> String {
        match self {
            Self::Symbol(symbol) => format!("`{}`", symbol.name()),
            Self::Section(section) => format!("section {}", section.name()),
        }
    }
}

impl<'i, 'a> CodeContext<'i, 'a> {
    fn new(image: &'i Image<'a>) -> Self {
        let is_global = |s: &Symbol<'_>| s.sym.st_bind() == STB_GLOBAL;
        let mut functions: Vec<_> = image
            .symbols
            .iter()
            .filter(|s| s.sym.st_type() == STT_FUNC && s.sym.st_size != 0 && s.is_defined())
            .collect();
        functions.sort_by_key(|s| !is_global(s));
        let mut addresses = BTreeMap::new();
        // Globals name an address first, then locals, then sections.
        let mut symbols: Vec<_> = image
            .symbols
            .iter()
            .filter(|s| s.is_defined() && s.sym.st_value != 0)
            .collect();
        symbols.sort_by_key(|s| !is_global(s));
        for symbol in symbols {
            addresses
                .entry(symbol.sym.st_value)
                .or_insert(Target::Symbol(symbol));
        }
        for section in &image.sections {
            if section.has_flag(SHF_ALLOC) && section.header.sh_addr != 0 {
                addresses
                    .entry(section.header.sh_addr)
                    .or_insert(Target::Section(section));
            }
        }
        Self {
            functions,
            addresses,
        }
    }

    fn function_at(&self, address: u64) -> Option<String> {
        self.functions
            .iter()
            .find(|s| {
                let end = s.sym.st_value.saturating_add(s.sym.st_size);
                (s.sym.st_value..end).contains(&address)
            })
            .map(|s| s.name())
    }
}

fn check_code(image: &Image<'_>, out: &mut Findings) {
    let code: Vec<&Section<'_>> = image
        .sections
        .iter()
        .filter(|s| s.has_flag(SHF_EXECINSTR))
        .collect();
    if code.len() != 1 && !image.sections.is_empty() {
        out.push(Violation::CodeSections {
            sections: code.iter().map(|s| s.name()).collect(),
        });
    }
    if code.is_empty() {
        return;
    }
    let context = CodeContext::new(image);
    for section in code {
        if let Some(data) = section.data {
            disassemble(section, data, &context, out);
        }
    }
}

/// A finding about one instruction, before its site is formatted.
enum InstructionFinding {
    Simd(String),
    FsGsBase,
    Sti,
    Cr3Write,
    SegmentOverride(&'static str),
    AbsoluteAddress(u64, String),
}

impl InstructionFinding {
    fn rule(&self) -> &'static str {
        match self {
            Self::Simd(_) => "simd-instruction",
            Self::FsGsBase => "fsgsbase-instruction",
            Self::Sti => "sti",
            Self::Cr3Write => "cr3-write",
            Self::SegmentOverride(_) => "segment-override",
            Self::AbsoluteAddress(..) => "absolute-address",
        }
    }

    fn into_violation(self, site: InstructionSite) -> Violation {
        match self {
            Self::Simd(feature) => Violation::SimdInstruction { site, feature },
            Self::FsGsBase => Violation::FsGsBaseInstruction { site },
            Self::Sti => Violation::Sti { site },
            Self::Cr3Write => Violation::Cr3Write { site },
            Self::SegmentOverride(segment) => Violation::SegmentOverride { site, segment },
            Self::AbsoluteAddress(value, target) => Violation::AbsoluteAddress {
                site,
                value,
                target,
            },
        }
    }
}

fn disassemble(section: &Section<'_>, data: &[u8], context: &CodeContext, out: &mut Findings) {
    let base = section.header.sh_addr;
    let mut decoder = Decoder::with_ip(64, data, base, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    let mut instruction = Instruction::default();
    while decoder.can_decode() {
        let position = decoder.position();
        decoder.decode_out(&mut instruction);
        if instruction.is_invalid() {
            // Data or garbage: resynchronise one byte further on.
            let next = position.saturating_add(1);
            if decoder.set_position(next).is_err() {
                break;
            }
            decoder.set_ip(base.wrapping_add(next as u64));
            continue;
        }
        for finding in inspect(&instruction, context) {
            if out.admit(finding.rule()) {
                let mut text = String::new();
                formatter.format(&instruction, &mut text);
                let site = InstructionSite {
                    section: section.name(),
                    address: instruction.ip(),
                    symbol: context.function_at(instruction.ip()),
                    instruction: text,
                };
                out.list.push(finding.into_violation(site));
            }
        }
    }
}

fn inspect(instruction: &Instruction, context: &CodeContext) -> Vec<InstructionFinding> {
    let mut findings = Vec::new();
    if let Some(feature) = simd_use(instruction) {
        findings.push(InstructionFinding::Simd(feature));
    }
    if instruction
        .cpuid_features()
        .contains(&CpuidFeature::FSGSBASE)
    {
        findings.push(InstructionFinding::FsGsBase);
    }
    if instruction.mnemonic() == Mnemonic::Sti {
        findings.push(InstructionFinding::Sti);
    }
    if instruction.mnemonic() == Mnemonic::Mov
        && instruction.op0_kind() == OpKind::Register
        && instruction.op0_register() == Register::CR3
    {
        findings.push(InstructionFinding::Cr3Write);
    }
    if has_memory_operand(instruction) {
        match instruction.memory_segment() {
            Register::FS => findings.push(InstructionFinding::SegmentOverride("fs")),
            Register::GS => findings.push(InstructionFinding::SegmentOverride("gs")),
            _ => {}
        }
    }
    if instruction.code() == Code::Mov_r64_imm64 {
        let value = instruction.immediate64();
        if let Some(target) = context.addresses.get(&value) {
            findings.push(InstructionFinding::AbsoluteAddress(
                value,
                target.describe(),
            ));
        }
    }
    findings
}

fn has_memory_operand(instruction: &Instruction) -> bool {
    instruction.op_kinds().any(|kind| {
        matches!(
            kind,
            OpKind::Memory
                | OpKind::MemorySegSI
                | OpKind::MemorySegESI
                | OpKind::MemorySegRSI
                | OpKind::MemorySegDI
                | OpKind::MemorySegEDI
                | OpKind::MemorySegRDI
        )
    })
}

/// The reason `instruction` touches SIMD, MMX or x87 state, if it does:
/// a CPUID feature of that family, or such a register operand.
fn simd_use(instruction: &Instruction) -> Option<String> {
    // Tagged SSE/SSE2 by CPUID, but ordinary integer instructions that work
    // with CR4.OSFXSR = 0.
    let integer_only = matches!(
        instruction.mnemonic(),
        Mnemonic::Lfence
            | Mnemonic::Mfence
            | Mnemonic::Sfence
            | Mnemonic::Movnti
            | Mnemonic::Prefetchnta
            | Mnemonic::Prefetcht0
            | Mnemonic::Prefetcht1
            | Mnemonic::Prefetcht2
            | Mnemonic::Pause
    );
    if !integer_only
        && let Some(feature) = instruction
            .cpuid_features()
            .iter()
            .find(|&&feature| is_simd_feature(feature))
    {
        return Some(format!("{feature:?}"));
    }
    (0..instruction.op_count())
        .filter(|&operand| instruction.op_kind(operand) == OpKind::Register)
        .map(|operand| instruction.op_register(operand))
        .find(|register| {
            register.is_vector_register()
                || register.is_mm()
                || register.is_st()
                || register.is_k()
                || register.is_tmm()
        })
        .map(|register| format!("register {}", format!("{register:?}").to_lowercase()))
}

/// CPUID features whose instructions use FPU, MMX, SSE, AVX, AMX or XSAVE
/// state, all off (or #UD) in the purgatory.
fn is_simd_feature(feature: CpuidFeature) -> bool {
    use CpuidFeature as F;
    matches!(
        feature,
        F::FPU
            | F::FPU287
            | F::FPU287XL_ONLY
            | F::FPU387
            | F::FPU387SL_ONLY
            | F::CYRIX_FPU
            | F::MMX
            | F::CYRIX_EMMI
            | F::D3NOW
            | F::D3NOWEXT
            | F::CYRIX_D3NOW
            | F::SSE
            | F::SSE2
            | F::SSE3
            | F::SSSE3
            | F::SSE4_1
            | F::SSE4_2
            | F::SSE4A
            | F::AVX
            | F::AVX2
            | F::AVX_VNNI
            | F::AVX_IFMA
            | F::AVX_NE_CONVERT
            | F::AVX_VNNI_INT8
            | F::AVX_VNNI_INT16
            | F::AVX512F
            | F::AVX512VL
            | F::AVX512BW
            | F::AVX512CD
            | F::AVX512DQ
            | F::AVX512ER
            | F::AVX512PF
            | F::AVX512_4FMAPS
            | F::AVX512_4VNNIW
            | F::AVX512_BF16
            | F::AVX512_BITALG
            | F::AVX512_IFMA
            | F::AVX512_VBMI
            | F::AVX512_VBMI2
            | F::AVX512_VNNI
            | F::AVX512_VP2INTERSECT
            | F::AVX512_VPOPCNTDQ
            | F::AVX512_FP16
            | F::KNC
            | F::FMA
            | F::FMA4
            | F::F16C
            | F::XOP
            | F::AES
            | F::VAES
            | F::PCLMULQDQ
            | F::VPCLMULQDQ
            | F::GFNI
            | F::SHA
            | F::SHA512
            | F::SM3
            | F::SM4
            | F::KL
            | F::AESKLE
            | F::WIDE_KL
            | F::AMX_BF16
            | F::AMX_TILE
            | F::AMX_INT8
            | F::AMX_FP16
            | F::AMX_COMPLEX
            | F::FXSR
            | F::XSAVE
            | F::XSAVEC
            | F::XSAVEOPT
            | F::XSAVES
    )
}
