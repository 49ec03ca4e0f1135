//! What the instruction rules know about the image: the functions, to name
//! the one around an address, and what lives at each link-time address.

use std::collections::BTreeMap;

use std::ops::Range;

use goblin::elf::section_header::{SHF_ALLOC, SHF_EXECINSTR};
use goblin::elf::sym::{STB_GLOBAL, STT_FUNC};
use iced_x86::{Instruction, OpKind};
use purgatory_host::contract::elf::{Section, SymbolEntry, Tables};

/// What the disassembly pass needs to know about the image. Names stay
/// borrowed until a finding needs one, so a huge symbol table costs no copies.
pub(crate) struct CodeContext<'i, 'a> {
    /// Function symbols, globals first, to name the function around an address.
    pub(crate) functions: Vec<&'i SymbolEntry<'a>>,
    /// Link-time addresses of symbols and sections, naming what is there.
    pub(crate) addresses: BTreeMap<u64, Target<'i, 'a>>,
    /// The executable sections' addresses, in a linked file (in an `ET_REL`
    /// every section starts at 0 and branches wait for relocation).
    code: Option<Vec<Range<u64>>>,
}

/// What lives at a link-time address.
#[derive(Clone, Copy)]
pub(crate) enum Target<'i, 'a> {
    Symbol(&'i SymbolEntry<'a>),
    Section(&'i Section<'a>),
}

impl Target<'_, '_> {
    pub(crate) fn describe(self) -> String {
        match self {
            Self::Symbol(symbol) => format!("`{}`", symbol.name()),
            Self::Section(section) => format!("section {}", section.name()),
        }
    }
}

impl<'i, 'a> CodeContext<'i, 'a> {
    pub(crate) fn new(image: &'i Tables<'a>) -> Self {
        let is_global = |s: &SymbolEntry<'_>| s.sym.st_bind() == STB_GLOBAL;
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
        let code = image.is_linked().then(|| {
            image
                .sections
                .iter()
                .filter(|s| s.has_flag(SHF_EXECINSTR))
                .map(Section::address_range)
                .collect()
        });
        Self {
            functions,
            addresses,
            code,
        }
    }

    /// Whether `address` is known to lie outside every executable section.
    pub(crate) fn is_outside_code(&self, address: u64) -> bool {
        self.code
            .as_ref()
            .is_some_and(|code| !code.iter().any(|range| range.contains(&address)))
    }

    pub(crate) fn function_at(&self, address: u64) -> Option<String> {
        self.function_containing(address).map(|s| s.name())
    }

    pub(crate) fn function_containing(&self, address: u64) -> Option<&'i SymbolEntry<'a>> {
        self.functions.iter().copied().find(|s| {
            let end = s.sym.st_value.saturating_add(s.sym.st_size);
            (s.sym.st_value..end).contains(&address)
        })
    }
}

/// Where a direct jump, call or conditional branch goes.
pub(crate) fn near_branch_target(instruction: &Instruction) -> Option<u64> {
    (0..instruction.op_count())
        .any(|op| {
            matches!(
                instruction.op_kind(op),
                OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
            )
        })
        .then(|| instruction.near_branch_target())
}
