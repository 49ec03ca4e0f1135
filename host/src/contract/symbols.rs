//! The rules on the symbol tables and on the contract symbols the loader
//! looks up, enters and patches.

use alloc::collections::BTreeSet;

use goblin::elf::header::ET_REL;
use goblin::elf::program_header::ProgramHeader;
use goblin::elf::section_header::{
    SHF_EXECINSTR, SHN_ABS, SHN_COMMON, SHN_UNDEF, SHT_NOBITS, SHT_STRTAB,
};
use goblin::elf::sym::STB_GLOBAL;
use goblin::elf64;
use purgatory_abi::{
    ENTRY_SYMBOL, ENTRY64_REGS_SYMBOL, PATCHED_SYMBOLS, STACK_END_SYMBOL, VERIFY_SYMBOL,
};

use super::elf::{Section, SymbolEntry, Tables, file_slice};
use super::findings::Findings;
use super::resolve::global_symbol;
use super::violation::{SectionProblem, Violation};

pub(super) fn check_symtabs(image: &Tables<'_>, out: &mut Findings) {
    if image.symtabs().next().is_none() {
        out.push(Violation::MissingSymtab);
    }
    for table in image.symtabs() {
        let link = table.header.sh_link;
        let linked = usize::try_from(link)
            .ok()
            .and_then(|index| image.sections.get(index));
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

pub(super) fn check_symbol_names(image: &Tables<'_>, out: &mut Findings) {
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
    image: &'i Tables<'a>,
    name: &'static str,
    out: &mut Findings,
) -> Option<&'i SymbolEntry<'a>> {
    let first = || image.symbols.iter().find(|s| s.name == name.as_bytes());
    match global_symbol(image, name).or_else(first) {
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
    image: &'i Tables<'a>,
    name: &'static str,
    symbol: &SymbolEntry<'a>,
    out: &mut Findings,
) -> Option<&'i Section<'a>> {
    let shndx = symbol.sym.st_shndx;
    let problem = match u32::try_from(shndx) {
        Ok(SHN_UNDEF) => SectionProblem::Undefined,
        Ok(SHN_ABS) => SectionProblem::Absolute,
        Ok(SHN_COMMON) => SectionProblem::Common,
        _ => match image.sections.get(shndx) {
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

pub(super) fn check_contract_symbols(
    image: &Tables<'_>,
    segment: Option<&ProgramHeader>,
    out: &mut Findings,
) {
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
fn check_zeroed(
    image: &Tables<'_>,
    section: &Section<'_>,
    symbol: &SymbolEntry<'_>,
    out: &mut Findings,
) {
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
