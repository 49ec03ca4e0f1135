//! Each finding's message: one line that says what is wrong, where, and why
//! a loader or the CPU cannot live with it.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;

use goblin::elf::header::{self, ELFCLASS64, ELFDATA2LSB, EM_X86_64, ET_DYN, EV_CURRENT};
use goblin::elf::{dynamic, program_header, section_header, sym};
use goblin::elf64;
use purgatory_abi::{ENTRY_SYMBOL, ENTRY64_REGS_SYMBOL, SIMD_SECTION, STACK_END_SYMBOL};

use super::super::elf::{DT_RELR, SHT_RELR};
use super::super::limits::{MAX_FINDINGS_PER_RULE, MAX_SEGMENT_ALIGN, MAX_SEGMENT_SIZE};
use super::kinds::{InstructionSite, SectionProblem, Violation};

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
            Self::ElfVersion { version } => write!(
                f,
                "EI_VERSION is {version}, expected EV_CURRENT ({EV_CURRENT}): Linux refuses any other"
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
                write!(
                    f,
                    "PT_LOAD p_align {p_align:#x} is not a power of two up to {MAX_SEGMENT_ALIGN:#x}: \
                     a loader must find RAM at that alignment"
                )
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
            Self::SymtabCount { sections } => write!(
                f,
                "{} symbol tables ({}): loaders disagree on which names a symbol \
                 (Linux takes the first, goblin the last); keep one .symtab",
                sections.len(),
                sections.join(", ")
            ),
            Self::EntryOutsideFile { entry, filesz } => write!(
                f,
                "e_entry {entry:#x} is not inside the file-backed part of the segment \
                 [0, {filesz:#x}): no code is loaded there, and Linux refuses it"
            ),
            Self::SymbolOutsideSection {
                symbol,
                value,
                size,
                section,
            } => write!(
                f,
                "symbol `{symbol}` [{value:#x}, {value:#x} + {size:#x}) is not inside its section \
                 {section}: what is checked of the section is not where the symbol is"
            ),
            Self::StackEndOutsideImage { value, memsz } => write!(
                f,
                "{STACK_END_SYMBOL} {value:#x} is past the end of the segment ({memsz:#x} bytes): \
                 the next kernel's RSP would point outside the purgatory, and Linux refuses it"
            ),
            Self::PatchedSymbolsOverlap {
                first,
                second,
                address,
            } => write!(
                f,
                "patched symbols `{first}` and `{second}` overlap at {address:#x}: \
                 writing one changes the other, and the purgatory's own data are not verified"
            ),
            Self::SymtabLink { section, link } => write!(
                f,
                "{section} sh_link {link} is not a non-empty, NUL-terminated string table in the \
                 file: symbol names cannot be read, and Linux refuses it"
            ),
            Self::SymbolSectionIndex {
                section,
                index,
                shndx,
                shnum,
            } => write!(
                f,
                "symbol {index} of {section} has st_shndx {shndx}, but the file has {shnum} \
                 sections and it is not a reserved index: Linux refuses the file"
            ),
            Self::SymbolNameOutsideStrtab {
                section,
                index,
                st_name,
            } => write!(
                f,
                "symbol {index} of {section} has st_name {st_name:#x}, past its string table: \
                 Linux refuses the file"
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
            Self::EntryInSimd { entry, section } => write!(
                f,
                "the entry point {entry:#x} ({ENTRY_SYMBOL}) is in {section}: the kernel enters \
                 with SSE off, so SIMD code there would #UD before the SSE set-up"
            ),
            Self::SimdSections { sections } => write!(
                f,
                "{} sections named {SIMD_SECTION} ({}): all SIMD code must be in one",
                sections.len(),
                sections.join(", ")
            ),
            Self::BranchOutsideCode { site, target } => write!(
                f,
                "{site} branches to {target:#x}, outside every executable section: \
                 code there is never checked"
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
