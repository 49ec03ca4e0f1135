//! Reading: the fixture's tables come back as they were written.

use super::*;
use crate::{Elf, Error};

fn elf() -> Elf {
    Elf::parse(fixture()).unwrap()
}

#[test]
fn the_header_and_the_program_header_are_read() {
    let elf = elf();
    let header = elf.header().unwrap();
    assert_eq!(
        (header.e_type, header.e_machine, header.e_entry),
        (ET_DYN, EM_X86_64, ENTRY)
    );
    let [load] = elf.program_headers().unwrap()[..] else {
        panic!("one program header expected");
    };
    assert_eq!(
        (load.p_type, load.p_offset, load.p_filesz, load.p_memsz),
        (PT_LOAD, 0, FILESZ, MEMSZ)
    );
}

#[test]
fn sections_are_found_by_name_and_index() {
    let elf = elf();
    for (index, name) in SECTIONS.iter().enumerate().skip(1) {
        let section = elf.section(name).unwrap();
        assert_eq!((section.index, section.name.as_str()), (index, *name));
        assert_eq!(elf.section_at(index).unwrap(), section);
    }
    assert_eq!(elf.section(".data").unwrap().header.sh_addr, DATA);
    assert_eq!(elf.section_bytes(".data").unwrap(), DATA_BYTES);
    assert_eq!(
        elf.section_bytes(".text").unwrap(),
        [0x90; TEXT_SIZE as usize]
    );
}

#[test]
fn symbols_are_found_by_name() {
    let elf = elf();
    let names: Vec<String> = elf.symbols().unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["", "_start", "data", "twin", "twin"]);
    let start = elf.symbol("_start").unwrap();
    assert_eq!(start.index, 1);
    assert_eq!(
        (
            start.sym.st_info,
            start.sym.st_shndx,
            start.sym.st_value,
            start.sym.st_size
        ),
        (STB_GLOBAL << 4 | STT_FUNC, 1, TEXT, 0x10)
    );
    assert_eq!(elf.symbol_bytes("data").unwrap(), DATA_BYTES);
    assert_eq!(elf.symbol_bytes("_start").unwrap(), [0x90; 0x10]);
}

#[test]
fn what_is_missing_or_ambiguous_is_named() {
    let elf = elf();
    assert_eq!(
        elf.symbol("twin"),
        Err(Error::Ambiguous {
            kind: "symbol",
            name: "twin".into(),
            count: 2
        })
    );
    assert_eq!(
        elf.symbol("nothing"),
        Err(Error::NoSuchSymbol {
            name: "nothing".into()
        })
    );
    assert_eq!(
        elf.section(".rodata"),
        Err(Error::NoSuchSection {
            name: ".rodata".into()
        })
    );
    assert_eq!(
        elf.section_at(7),
        Err(Error::NoSuchSectionIndex { index: 7, count: 7 })
    );
    assert_eq!(
        elf.program_header(1),
        Err(Error::NoSuchProgramHeader { index: 1, count: 1 })
    );
    assert_eq!(
        elf.section_bytes(".bss"),
        Err(Error::NoFileBytes {
            section: ".bss".into()
        })
    );
    let message = elf.symbol("twin").unwrap_err().to_string();
    assert_eq!(message, "2 symbols are named `twin`");
}

#[test]
fn a_linkers_output_is_read() {
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let ours = Elf::parse(exe.as_slice()).unwrap();
    let goblins = goblin::elf::Elf::parse(&exe).unwrap();
    assert_eq!(
        ours.program_headers().unwrap().len(),
        goblins.program_headers.len()
    );
    let text = goblins
        .section_headers
        .iter()
        .find(|sh| goblins.shdr_strtab.get_at(sh.sh_name) == Some(".text"))
        .unwrap();
    assert_eq!(
        ours.section(".text").unwrap().header.sh_offset,
        text.sh_offset
    );
    assert_eq!(ours.symbols().unwrap().len(), goblins.syms.len());
}
