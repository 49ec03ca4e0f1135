//! The rules on the symbol tables and on the contract symbols the loader
//! looks up, enters and patches.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::ops::Range;

use goblin::elf::header::ET_REL;
use goblin::elf::program_header::ProgramHeader;
use goblin::elf::section_header::{
    SHF_EXECINSTR, SHN_ABS, SHN_COMMON, SHN_LORESERVE, SHN_UNDEF, SHT_NOBITS, SHT_STRTAB,
};
use goblin::elf::sym::STB_GLOBAL;
use goblin::elf64;
use purgatory_abi::{
    ENTRY_SYMBOL, ENTRY64_REGS_SYMBOL, PATCHED_SYMBOLS, PatchedSymbol, STACK_END_SYMBOL,
    VERIFY_SYMBOL,
};

use super::elf::{Section, SymbolEntry, Tables, file_slice};
use super::findings::Findings;
use super::resolve::global_symbol;
use super::violation::{SectionProblem, Violation};

pub(super) fn check_symtabs(image: &Tables<'_>, out: &mut Findings) {
    match image.symtabs().count() {
        0 => out.push(Violation::MissingSymtab),
        1 => {}
        _ => out.push(Violation::SymtabCount {
            sections: image.symtabs().map(Section::name).collect(),
        }),
    }
    for table in image.symtabs() {
        let link = table.header.sh_link;
        let strings = usize::try_from(link)
            .ok()
            .and_then(|index| image.sections.get(index))
            .filter(|s| s.header.sh_type == SHT_STRTAB)
            .and_then(|s| s.data);
        // Linux's check of a purgatory file: a non-empty string table that
        // ends with a NUL, and every name inside it.
        match strings {
            Some(strings) if strings.last() == Some(&0) => {
                check_entries(image, table, strings.len(), out);
            }
            _ => out.push(Violation::SymtabLink {
                section: table.name(),
                link,
            }),
        }
        if table.header.sh_entsize != elf64::sym::SIZEOF_SYM as u64 {
            out.push(Violation::SymtabEntrySize {
                section: table.name(),
                entsize: table.header.sh_entsize,
            });
        }
    }
}

/// Each entry of `table` whose `st_name` is past its string table, or whose
/// `st_shndx` names no section and is not a reserved index: Linux checks
/// every entry so, not only the ones it looks up.
fn check_entries(image: &Tables<'_>, table: &Section<'_>, strings: usize, out: &mut Findings) {
    let shnum = image.sections.len();
    for symbol in image.symbols.iter().filter(|s| s.table == table.index) {
        if symbol.sym.st_name >= strings {
            out.push_with("symbol-name-outside-strtab", || {
                Violation::SymbolNameOutsideStrtab {
                    section: table.name(),
                    index: symbol.index,
                    st_name: symbol.sym.st_name as u64,
                }
            });
        }
        let shndx = symbol.sym.st_shndx;
        if shndx >= shnum && shndx < SHN_LORESERVE as usize {
            out.push_with("symbol-section-index", || Violation::SymbolSectionIndex {
                section: table.name(),
                index: symbol.index,
                shndx,
                shnum,
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
    // Addresses are only comparable in a linked file.
    let linked = segment.filter(|_| image.is_linked());
    if let Some(start) = check_code_symbol(image, ENTRY_SYMBOL, linked, out)
        && image.header.e_entry != start.sym.st_value
    {
        out.push(Violation::EntryPoint {
            entry: image.header.e_entry,
            symbol_value: start.sym.st_value,
        });
    }
    check_code_symbol(image, VERIFY_SYMBOL, linked, out);
    check_stack_end(image, linked, out);
    let patched: Vec<_> = PATCHED_SYMBOLS
        .iter()
        .filter_map(|patched| check_patched(image, patched, segment, linked, out))
        .collect();
    if linked.is_some() {
        check_overlaps(&patched, out);
    }
}

/// `purgatory_start` or `purgatory_verify`: code, in an executable section.
fn check_code_symbol<'i, 'a>(
    image: &'i Tables<'a>,
    name: &'static str,
    linked: Option<&ProgramHeader>,
    out: &mut Findings,
) -> Option<&'i SymbolEntry<'a>> {
    let symbol = lookup(image, name, out)?;
    if let Some(section) = symbol_section(image, name, symbol, out) {
        require_executable(name, section, out);
        if linked.is_some() {
            require_inside(name, symbol, section, out);
        }
    }
    Some(symbol)
}

/// `stack_end`: inside its section, and not past the segment (the next
/// kernel's RSP).
fn check_stack_end(image: &Tables<'_>, linked: Option<&ProgramHeader>, out: &mut Findings) {
    let Some(stack_end) = lookup(image, STACK_END_SYMBOL, out) else {
        return;
    };
    let section = symbol_section(image, STACK_END_SYMBOL, stack_end, out);
    let Some(load) = linked else { return };
    if let Some(section) = section {
        require_inside(STACK_END_SYMBOL, stack_end, section, out);
    }
    if stack_end.sym.st_value > load.p_memsz {
        out.push(Violation::StackEndOutsideImage {
            value: stack_end.sym.st_value,
            memsz: load.p_memsz,
        });
    }
}

/// A patched symbol where and as large as a loader writes it; returns its
/// name and bytes when it is found.
fn check_patched(
    image: &Tables<'_>,
    patched: &PatchedSymbol,
    segment: Option<&ProgramHeader>,
    linked: Option<&ProgramHeader>,
    out: &mut Findings,
) -> Option<(&'static str, Range<u64>)> {
    let symbol = lookup(image, patched.name, out)?;
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
    let end = value.checked_add(size);
    if let Some(load) = segment
        && end.is_none_or(|end| end > load.p_filesz)
    {
        out.push(Violation::SymbolOutsideFile {
            symbol: patched.name,
            value,
            size,
            filesz: load.p_filesz,
        });
        // Not in the bytes a loader patches: nothing to overlap there.
        return None;
    } else if linked.is_some()
        && let Some(section) = section
    {
        require_inside(patched.name, symbol, section, out);
    }
    if patched.name == ENTRY64_REGS_SYMBOL
        && let Some(section) = section
    {
        check_zeroed(image, section, symbol, out);
    }
    Some((patched.name, value..end?))
}

/// Each pair of patched symbols that share a byte.
fn check_overlaps(patched: &[(&'static str, Range<u64>)], out: &mut Findings) {
    for (at, (first, a)) in patched.iter().enumerate() {
        for (second, b) in patched.iter().skip(at + 1) {
            let address = a.start.max(b.start);
            if address < a.end.min(b.end) {
                out.push(Violation::PatchedSymbolsOverlap {
                    first,
                    second,
                    address,
                });
            }
        }
    }
}

/// `[st_value, st_value + st_size)` inside `[sh_addr, sh_addr + sh_size]`:
/// the checks of the section then hold for the symbol.
fn require_inside(
    name: &'static str,
    symbol: &SymbolEntry<'_>,
    section: &Section<'_>,
    out: &mut Findings,
) {
    let (value, size) = (symbol.sym.st_value, symbol.sym.st_size);
    let range = section.address_range();
    let inside =
        value >= range.start && value.checked_add(size).is_some_and(|end| end <= range.end);
    if !inside {
        out.push(Violation::SymbolOutsideSection {
            symbol: name,
            value,
            size,
            section: section.name(),
        });
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
