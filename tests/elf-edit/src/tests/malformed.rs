//! Broken images: each is an error naming what is wrong, and nothing panics.

use super::*;
use crate::field::{E_PHENTSIZE, E_PHOFF, E_SHSTRNDX, SH_ENTSIZE, SH_LINK, SH_NAME};
use crate::{Elf, Error, images};
use goblin::elf::header::{EI_CLASS, EI_DATA, ELFCLASS32, ELFDATA2MSB};

/// The fixture after `edit`, read again.
fn reparsed(edit: impl FnOnce(&mut Elf) -> crate::Result<()>) -> crate::Result<Elf> {
    let mut elf = Elf::parse(fixture()).unwrap();
    edit(&mut elf).unwrap();
    Elf::parse(elf.into_bytes())
}

#[test]
fn what_is_not_elf64_little_endian_is_refused() {
    assert_eq!(
        Elf::parse(b"MZ\x90\x00".as_slice()).unwrap_err(),
        Error::BadMagic
    );
    assert_eq!(
        Elf::parse(b"\x7fEL".as_slice()).unwrap_err(),
        Error::BadMagic
    );
    assert!(matches!(
        Elf::parse(b"\x7fELF\x02\x01".as_slice()),
        Err(Error::OutsideFile { .. })
    ));
    assert_eq!(
        reparsed(|elf| elf.set_ident(EI_CLASS, ELFCLASS32)).unwrap_err(),
        Error::NotElf64 { class: 1, data: 1 }
    );
    assert_eq!(
        reparsed(|elf| elf.set_ident(EI_DATA, ELFDATA2MSB)).unwrap_err(),
        Error::NotElf64 { class: 2, data: 2 }
    );
    let header = fixture()[..40].to_vec();
    assert_eq!(
        Elf::parse(header).unwrap_err().to_string(),
        "the ELF header (0x40 bytes at 0x0) runs past the end of the file (0x28 bytes)"
    );
}

#[test]
fn broken_tables_are_named() {
    assert_eq!(
        reparsed(|elf| elf.set_header(E_PHENTSIZE, 64)).unwrap_err(),
        Error::EntrySize {
            table: "the program header table".into(),
            entsize: 64,
            expected: 56
        }
    );
    let len = fixture().len() as u64;
    assert_eq!(
        reparsed(|elf| elf.set_header(E_PHOFF, len)).unwrap_err(),
        Error::OutsideFile {
            what: "the program header table".into(),
            offset: len,
            size: 56,
            file_len: len
        }
    );
    assert_eq!(
        reparsed(|elf| elf.set_header(E_SHSTRNDX, 7)).unwrap_err(),
        Error::NoSuchSectionIndex { index: 7, count: 7 }
    );
    assert_eq!(
        reparsed(|elf| elf.set_section(".symtab", SH_ENTSIZE, 16)).unwrap_err(),
        Error::EntrySize {
            table: ".symtab".into(),
            entsize: 16,
            expected: 24
        }
    );
    assert_eq!(
        reparsed(|elf| elf.set_section(".symtab", SH_LINK, 99)).unwrap_err(),
        Error::NoSuchSectionIndex {
            index: 99,
            count: 7
        }
    );
    assert_eq!(
        reparsed(|elf| elf.set_section(".text", SH_NAME, 0x1000)).unwrap_err(),
        Error::BadName {
            table: "the section name table".into(),
            offset: 0x1000
        }
    );
}

#[test]
fn no_cut_of_an_image_panics() {
    let image = fixture();
    for len in 0..image.len() {
        assert!(Elf::parse(&image[..len]).is_err(), "{len} bytes read");
        exercise(&image[..len]);
    }
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    for len in (0..exe.len()).step_by(exe.len() / 500 + 1) {
        exercise(&exe[..len]);
    }
}

#[test]
fn no_corruption_of_an_image_panics() {
    let mut rng = fastrand::Rng::with_seed(0xe1f);
    let image = fixture();
    for _ in 0..5000 {
        let mut bytes = image.clone();
        for _ in 0..rng.usize(1..6) {
            let at = rng.usize(..bytes.len());
            bytes[at] = rng.u8(..);
        }
        exercise(&bytes);
    }
    // Every header and program header byte at its extremes.
    for at in 0..SIZEOF_EHDR + SIZEOF_PHDR {
        for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            let mut bytes = image.clone();
            bytes[at] = value;
            exercise(&bytes);
        }
    }
}

/// Every read and edit, and every whole-image function, on `bytes`.
fn exercise(bytes: &[u8]) {
    let _ = images::ensure_static(bytes);
    let _ = images::flat_image(bytes);
    let _ = images::two_program_headers(bytes);
    let _ = images::with_symbol_size(bytes, "data", 1);
    let Ok(mut elf) = Elf::parse(bytes) else {
        return;
    };
    let _ = elf.header();
    let _ = elf.program_headers();
    let _ = elf.symbols();
    for name in SECTIONS {
        let _ = elf.section(name);
        let _ = elf.section_bytes(name);
        let _ = elf.section_bytes_mut(name);
    }
    for (name, ..) in SYMBOLS {
        let _ = elf.symbol(name);
        let _ = elf.symbol_bytes(name);
        let _ = elf.symbol_bytes_mut(name);
        let _ = elf.set_symbol_binding(name, 2);
    }
    let _ = elf.duplicate_program_header(0, 0);
    let _ = elf.rename_section(".data", ".d");
    let _ = elf.rename_symbol("data", "d");
}
