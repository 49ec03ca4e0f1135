//! Each finding's stable rule id and its location.

use alloc::borrow::ToOwned;

use purgatory_abi::{ENTRY_SYMBOL, ENTRY64_REGS_SYMBOL, STACK_END_SYMBOL};

use super::kinds::{Location, SectionProblem, Violation};

impl Violation {
    /// Stable kebab-case id of the rule broken.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::ElfClass { .. } => "elf-class",
            Self::ElfEndianness { .. } => "elf-endianness",
            Self::ElfVersion { .. } => "elf-version",
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
            Self::SymtabCount { .. } => "symtab-count",
            Self::SymbolNameOutsideStrtab { .. } => "symbol-name-outside-strtab",
            Self::SymbolSectionIndex { .. } => "symbol-section-index",
            Self::EntryOutsideFile { .. } => "entry-outside-file",
            Self::SymbolOutsideSection { .. } => "symbol-outside-section",
            Self::StackEndOutsideImage { .. } => "stack-end-outside-image",
            Self::PatchedSymbolsOverlap { .. } => "patched-symbols-overlap",
            Self::SimdSections { .. } => "simd-sections",
            Self::BranchOutsideCode { .. } => "branch-outside-code",
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
            Self::EntryInSimd { .. } => "entry-in-simd",
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
            | Self::ElfVersion { .. }
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
            | Self::SymbolNameOutsideStrtab { section: s, .. }
            | Self::SymbolSectionIndex { section: s, .. }
            | Self::SymtabEntrySize { section: s, .. } => section(s),
            Self::SectionAddress {
                section: s, addr, ..
            } => Location {
                address: Some(*addr),
                ..section(s)
            },
            Self::SymtabCount { sections } | Self::SimdSections { sections } => Location {
                section: sections.get(1).cloned(),
                ..Location::default()
            },
            Self::EntryOutsideFile { entry, .. } => symbol(ENTRY_SYMBOL, Some(*entry)),
            Self::EntryInSimd { entry, section: s } => Location {
                section: Some(s.clone()),
                ..symbol(ENTRY_SYMBOL, Some(*entry))
            },
            Self::SymbolOutsideSection {
                symbol: s,
                value,
                section: sec,
                ..
            } => Location {
                section: Some(sec.clone()),
                ..symbol(s, Some(*value))
            },
            Self::StackEndOutsideImage { value, .. } => symbol(STACK_END_SYMBOL, Some(*value)),
            Self::PatchedSymbolsOverlap {
                second, address, ..
            } => symbol(second, Some(*address)),
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
            | Self::AbsoluteAddress { site, .. }
            | Self::BranchOutsideCode { site, .. } => Location {
                section: Some(site.section.clone()),
                symbol: site.symbol.clone(),
                address: Some(site.address),
                instruction: Some(site.instruction.clone()),
            },
        }
    }
}
