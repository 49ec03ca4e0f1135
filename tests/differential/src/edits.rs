//! Edit scripts: a byte string read as a list of edits of an image, so that
//! a test's random bytes or libFuzzer's mutations make images broken in the
//! ways that matter (identification, header, program header, section
//! headers, the contract symbols, any symbol, a second symbol table, code) rather than
//! mostly unreadable ones.

use elf_edit::Elf;
use elf_edit::field::{
    E_ENTRY, E_MACHINE, E_PHENTSIZE, E_PHNUM, E_PHOFF, E_SHENTSIZE, E_SHNUM, E_SHOFF, E_SHSTRNDX,
    E_TYPE, Field, P_ALIGN, P_FILESZ, P_MEMSZ, P_OFFSET, P_TYPE, P_VADDR, SH_ADDR, SH_ENTSIZE,
    SH_FLAGS, SH_LINK, SH_NAME, SH_OFFSET, SH_SIZE, SH_TYPE, ST_INFO, ST_NAME, ST_SHNDX, ST_SIZE,
    ST_VALUE,
};
use elf_edit::goblin::elf::header::SIZEOF_IDENT;
use elf_edit::goblin::elf64::header::Header;
use elf_edit::goblin::elf64::program_header::ProgramHeader;
use elf_edit::goblin::elf64::section_header::SectionHeader;
use elf_edit::goblin::elf64::sym::{SIZEOF_SYM, Sym};
use purgatory_abi::{ENTRY_SYMBOL, PATCHED_SYMBOLS, STACK_END_SYMBOL, VERIFY_SYMBOL};

/// Bytes per edit: what to edit, which one, and a value.
pub const EDIT_LEN: usize = 10;

const HEADER: [Field<Header>; 12] = [
    E_TYPE,
    E_MACHINE,
    E_ENTRY,
    E_PHOFF,
    E_SHOFF,
    E_PHENTSIZE,
    E_PHNUM,
    E_SHENTSIZE,
    E_SHNUM,
    E_SHSTRNDX,
    E_ENTRY,
    E_TYPE,
];
const PROGRAM: [Field<ProgramHeader>; 6] = [P_TYPE, P_OFFSET, P_VADDR, P_FILESZ, P_MEMSZ, P_ALIGN];
const SECTION: [Field<SectionHeader>; 9] = [
    SH_NAME, SH_TYPE, SH_FLAGS, SH_ADDR, SH_OFFSET, SH_SIZE, SH_LINK, SH_TYPE, SH_ENTSIZE,
];
const SYMBOL: [Field<Sym>; 6] = [ST_VALUE, ST_SIZE, ST_SHNDX, ST_INFO, ST_NAME, ST_VALUE];
/// The symbols the contract requires, in the order the checker looks them up.
pub const CONTRACT_SYMBOLS: [&str; 9] = [
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

/// `base` after each [`EDIT_LEN`]-byte edit of `script` (a shorter tail is
/// ignored). Byte 0 chooses the kind of edit, byte 1 which record and
/// field; bytes 2.. are the value, or, when byte 0's top bit is set, a small
/// signed step from a value of the image itself (its sizes, its entry, a
/// contract symbol, 2^52). An edit that does not apply is skipped.
pub fn apply_edits(base: &[u8], script: &[u8]) -> Vec<u8> {
    let Ok(mut elf) = Elf::parse(base) else {
        return base.to_vec();
    };
    for edit in script.chunks_exact(EDIT_LEN) {
        let value = value(&elf, edit);
        let _ = apply(&mut elf, edit[0] & 0x7f, edit[1], value);
    }
    elf.into_bytes()
}

fn value(elf: &Elf, edit: &[u8]) -> u64 {
    let raw = u64::from_le_bytes(edit[2..].try_into().unwrap_or_default());
    if edit[0] & 0x80 == 0 {
        return raw;
    }
    let load = elf.program_header(0).ok();
    let symbol = |name| elf.symbol(name).map_or(0, |s| s.sym.st_value);
    let bases = [
        0,
        load.map_or(0, |p| p.p_filesz),
        load.map_or(0, |p| p.p_memsz),
        elf.bytes().len() as u64,
        elf.header().map_or(0, |h| h.e_entry),
        symbol(PATCHED_SYMBOLS[2].name),
        symbol(STACK_END_SYMBOL),
        1 << 52,
    ];
    let step = i64::from(i16::from_le_bytes([edit[3], edit[4]]));
    bases[usize::from(edit[2]) % bases.len()].wrapping_add_signed(step)
}

fn apply(elf: &mut Elf, kind: u8, which: u8, value: u64) -> elf_edit::Result<()> {
    let which = usize::from(which);
    match kind % 8 {
        0 => elf.set_header(HEADER[which % HEADER.len()], value),
        1 => elf.set_program_header(0, PROGRAM[which % PROGRAM.len()], value),
        2 => {
            let count = usize::from(elf.header()?.e_shnum).max(1);
            let field = SECTION[(which / 16) % SECTION.len()];
            let name = elf.section_at((which % 16) % count)?.name;
            elf.set_section(&name, field, value)
        }
        3 => {
            let field = SYMBOL[(which / 16) % SYMBOL.len()];
            elf.set_symbol(
                CONTRACT_SYMBOLS[(which % 16) % CONTRACT_SYMBOLS.len()],
                field,
                value,
            )
        }
        // Any entry: Linux checks every one, not only those it looks up.
        4 => {
            let count = elf.symbols()?.len().max(1);
            let field = SYMBOL[which % SYMBOL.len()];
            elf.set_symbol_at((which / SYMBOL.len()) % count, field, value)
        }
        5 => second_symtab(elf, CONTRACT_SYMBOLS[which % CONTRACT_SYMBOLS.len()], value),
        6 => elf.set_ident(which % SIZEOF_IDENT, value as u8),
        _ => {
            let code = elf.section_bytes_mut(".text")?;
            let at = (which * 61) % code.len().saturating_sub(8).max(1);
            if let Some(bytes) = code.get_mut(at..at + 8) {
                bytes.copy_from_slice(&value.to_le_bytes());
            }
            Ok(())
        }
    }
}

/// A copy of `.symtab` appended as a second symbol table, with `symbol`'s
/// value in the copy set to `value`.
fn second_symtab(elf: &mut Elf, symbol: &str, value: u64) -> elf_edit::Result<()> {
    let header = elf.section(".symtab")?.header;
    let index = elf.symbol(symbol)?.index;
    let mut copy = elf.section_bytes(".symtab")?.to_vec();
    let at = index * SIZEOF_SYM + ST_VALUE.offset();
    if let Some(slot) = copy.get_mut(at..at + 8) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
    elf.append_section(header, &copy).map(|_| ())
}
