//! Editing: each edit writes its field and nothing else.

use super::*;
use crate::field::{E_PHNUM, E_SHOFF, E_TYPE, P_MEMSZ, SH_TYPE, ST_SHNDX, ST_SIZE, ST_VALUE};
use crate::{Elf, Error};
use goblin::elf::header::{EI_DATA, ELFDATA2MSB, ET_EXEC};
use goblin::elf::program_header::PT_GNU_STACK;
use goblin::elf::section_header::SHN_ABS;
use goblin::elf::sym::{STB_WEAK, st_bind, st_type};

/// The fixture after `edit`, and the offsets of the bytes it changed.
fn edited(edit: impl FnOnce(&mut Elf) -> crate::Result<()>) -> (Elf, Vec<usize>) {
    let before = fixture();
    let mut elf = Elf::parse(before.as_slice()).unwrap();
    edit(&mut elf).unwrap();
    let changed = changed(&before, elf.bytes());
    (elf, changed)
}

#[test]
fn a_header_field_is_written_at_its_offset() {
    let (elf, changed) = edited(|elf| elf.set_header(E_TYPE, ET_EXEC.into()));
    assert_eq!(changed, [16]);
    assert_eq!(elf.header().unwrap().e_type, ET_EXEC);
}

#[test]
fn an_ident_byte_is_written_alone() {
    let (_, changed) = edited(|elf| elf.set_ident(EI_DATA, ELFDATA2MSB));
    assert_eq!(changed, [5]);
    let mut elf = Elf::parse(fixture()).unwrap();
    assert_eq!(
        elf.set_ident(16, 0),
        Err(Error::NoSuchIdentByte { index: 16 })
    );
}

#[test]
fn a_value_wider_than_its_field_is_refused_and_writes_nothing() {
    let mut elf = Elf::parse(fixture()).unwrap();
    assert_eq!(
        elf.set_header(E_PHNUM, 0x1_0000),
        Err(Error::ValueTooWide {
            field: "e_phnum",
            value: 0x1_0000
        })
    );
    assert_eq!(elf.bytes(), fixture());
}

#[test]
fn a_program_header_field_is_written_at_its_offset() {
    let (elf, changed) = edited(|elf| elf.set_program_header(0, P_MEMSZ, 0x1234_5678));
    assert_eq!(changed, [64 + 40, 64 + 41, 64 + 42, 64 + 43]);
    assert_eq!(elf.program_header(0).unwrap().p_memsz, 0x1234_5678);
}

#[test]
fn a_duplicated_program_header_goes_at_the_end_of_the_file() {
    let original = fixture();
    let mut elf = Elf::parse(original.as_slice()).unwrap();
    elf.duplicate_program_header(0, PT_GNU_STACK).unwrap();
    let load = elf.program_header(0).unwrap();
    let mut stack = load;
    stack.p_type = PT_GNU_STACK;
    assert_eq!(elf.program_headers().unwrap(), [load, stack]);
    let header = elf.header().unwrap();
    assert_eq!(header.e_phnum, 2);
    assert!(header.e_phoff >= original.len() as u64 && header.e_phoff.is_multiple_of(8));
    // Only e_phoff and e_phnum changed before the old end of the file.
    let changed = changed(&original, &elf.bytes()[..original.len()]);
    assert!(
        changed
            .iter()
            .all(|&at| (32..40).contains(&at) || (56..58).contains(&at)),
        "{changed:?}"
    );
    let reread = Elf::parse(elf.into_bytes()).unwrap();
    assert_eq!(reread.program_headers().unwrap(), [load, stack]);
}

#[test]
fn a_program_header_is_appended_to_a_bare_header() {
    let mut elf = Elf::parse(crate::header_only(ET_DYN, EM_X86_64)).unwrap();
    assert_eq!(elf.program_headers().unwrap(), []);
    let load = Elf::parse(fixture()).unwrap().program_header(0).unwrap();
    elf.append_program_header(load).unwrap();
    let reread = Elf::parse(elf.into_bytes()).unwrap();
    assert_eq!(reread.program_headers().unwrap(), [load]);
}

#[test]
fn an_appended_section_goes_at_the_end_with_its_bytes() {
    let original = fixture();
    let mut elf = Elf::parse(original.as_slice()).unwrap();
    let symtab = elf.section(".symtab").unwrap();
    let copy = elf.section_bytes(".symtab").unwrap().to_vec();
    let index = elf.append_section(symtab.header, &copy).unwrap();
    let header = elf.header().unwrap();
    assert_eq!(usize::from(header.e_shnum), index + 1);
    assert!(header.e_shoff >= original.len() as u64 && header.e_shoff.is_multiple_of(8));
    let added = elf.section_at(index).unwrap();
    assert_eq!(added.name, ".symtab");
    assert!(added.header.sh_offset >= original.len() as u64);
    assert_eq!(added.header.sh_size, copy.len() as u64);
    // Only e_shoff and e_shnum changed before the old end of the file.
    let changed = changed(&original, &elf.bytes()[..original.len()]);
    assert!(
        changed
            .iter()
            .all(|&at| (40..48).contains(&at) || (60..62).contains(&at)),
        "{changed:?}"
    );
    // Both tables are read: every name is now there twice.
    assert!(matches!(
        elf.symbol("_start"),
        Err(Error::Ambiguous { count: 2, .. })
    ));
}

#[test]
fn a_section_header_field_is_written() {
    let (elf, changed) = edited(|elf| elf.set_section(".data", SH_TYPE, SHT_NOBITS.into()));
    let shoff = elf.header().unwrap().e_shoff as usize;
    assert_eq!(changed, [shoff + 2 * SIZEOF_SHDR + 4]);
    assert_eq!(elf.section(".data").unwrap().header.sh_type, SHT_NOBITS);
}

#[test]
fn a_section_is_renamed_in_place() {
    let (elf, changed) = edited(|elf| elf.rename_section(".data", ".d"));
    assert_eq!(changed.len(), 3, "'at' then NULs over 'ta'");
    assert_eq!(elf.section(".d").unwrap().index, 2);
    assert!(elf.section(".data").is_err());
    assert_eq!(
        Elf::parse(elf.into_bytes())
            .unwrap()
            .section(".d")
            .unwrap()
            .index,
        2
    );

    let mut elf = Elf::parse(fixture()).unwrap();
    assert_eq!(
        elf.rename_section(".bss", ".rodata"),
        Err(Error::NameDoesNotFit {
            old: ".bss".into(),
            new: ".rodata".into()
        })
    );
}

#[test]
fn symbol_fields_are_written_by_index_null_entry_included() {
    let (_, changed) = edited(|elf| elf.set_symbol_at(2, ST_SIZE, 4));
    assert_eq!(changed, [(SYMTAB as usize) + 2 * SIZEOF_SYM + 16]);
    let (_, changed) = edited(|elf| elf.set_symbol_at(0, ST_SHNDX, 0x20f));
    assert_eq!(changed, [(SYMTAB as usize) + 6, (SYMTAB as usize) + 7]);
    let mut elf = Elf::parse(fixture()).unwrap();
    let count = elf.symbols().unwrap().len();
    assert_eq!(
        elf.set_symbol_at(count, ST_SIZE, 0),
        Err(Error::NoSuchSymbolIndex {
            index: count,
            count
        })
    );
}

#[test]
fn symbol_fields_are_written_by_name() {
    let (elf, changed) = edited(|elf| elf.set_symbol("data", ST_SIZE, 4));
    assert_eq!(changed, [(SYMTAB as usize) + 2 * SIZEOF_SYM + 16]);
    assert_eq!(elf.symbol_bytes("data").unwrap(), [1, 2, 3, 4]);

    let (elf, _) = edited(|elf| elf.set_symbol("_start", ST_SHNDX, SHN_ABS.into()));
    assert_eq!(
        elf.symbol_bytes("_start"),
        Err(Error::SymbolNotInSection {
            symbol: "_start".into(),
            shndx: SHN_ABS as u16
        })
    );
    let (elf, _) = edited(|elf| elf.set_symbol("_start", ST_VALUE, TEXT + TEXT_SIZE - 1));
    assert_eq!(
        elf.symbol_bytes("_start"),
        Err(Error::SymbolOutsideSection {
            symbol: "_start".into(),
            section: ".text".into()
        })
    );
}

#[test]
fn a_binding_keeps_the_type() {
    let (elf, changed) = edited(|elf| elf.set_symbol_binding("_start", STB_WEAK));
    assert_eq!(changed, [(SYMTAB as usize) + SIZEOF_SYM + 4]);
    let info = elf.symbol("_start").unwrap().sym.st_info;
    assert_eq!((st_bind(info), st_type(info)), (STB_WEAK, STT_FUNC));
    let mut elf = Elf::parse(fixture()).unwrap();
    assert_eq!(
        elf.set_symbol_binding("_start", 16),
        Err(Error::BadBinding { binding: 16 })
    );
}

#[test]
fn a_symbol_is_renamed_in_place() {
    let (elf, _) = edited(|elf| elf.rename_symbol("_start", "Xstart"));
    assert_eq!(elf.symbol("Xstart").unwrap().index, 1);
    let reread = Elf::parse(elf.into_bytes()).unwrap();
    assert_eq!(reread.symbol("Xstart").unwrap().sym.st_value, TEXT);
    assert!(reread.symbol("_start").is_err());
}

#[test]
fn a_symbols_bytes_are_its_bytes_in_the_file() {
    let (_, changed) = edited(|elf| {
        elf.symbol_bytes_mut("_start")?.fill(0xcc);
        Ok(())
    });
    assert_eq!(
        changed,
        (TEXT as usize..TEXT as usize + 0x10).collect::<Vec<_>>()
    );
    let (_, changed) = edited(|elf| {
        elf.section_bytes_mut(".data")?[7] = 0;
        Ok(())
    });
    assert_eq!(changed, [DATA as usize + 7]);
}

#[test]
fn edits_go_on_after_the_tables_are_broken() {
    let (elf, _) = edited(|elf| {
        elf.set_header(E_SHOFF, 0)?;
        elf.set_symbol("data", ST_SIZE, 1)
    });
    assert_eq!(elf.symbol("data").unwrap().sym.st_size, 1);
}
