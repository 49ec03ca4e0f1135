//! The whole-image edits and readings.

use super::*;
use crate::field::{E_ENTRY, P_FILESZ, P_MEMSZ, P_OFFSET};
use crate::images::{
    MAX_FLAT_IMAGE, ensure_static, flat_image, header_only, two_program_headers, with_symbol_size,
};
use crate::{Elf, Error};
use goblin::elf::program_header::{PT_GNU_STACK, PT_INTERP};

fn edited(edit: impl FnOnce(&mut Elf) -> crate::Result<()>) -> Vec<u8> {
    let mut elf = Elf::parse(fixture()).unwrap();
    edit(&mut elf).unwrap();
    elf.into_bytes()
}

#[test]
fn a_bare_header_has_no_tables() {
    let bytes = header_only(ET_DYN, EM_X86_64);
    assert_eq!(bytes.len(), 64);
    let elf = Elf::parse(bytes).unwrap();
    let header = elf.header().unwrap();
    assert_eq!(
        (header.e_type, header.e_machine, header.e_version),
        (3, 62, 1)
    );
    assert_eq!(
        (header.e_phnum, header.e_shnum, header.e_ehsize),
        (0, 0, 64)
    );
    assert_eq!(elf.program_headers().unwrap(), []);
    assert_eq!(elf.symbols().unwrap(), []);
}

#[test]
fn a_second_program_header_is_a_pt_gnu_stack_copy() {
    let original = fixture();
    let bad = two_program_headers(&original).unwrap();
    let headers = Elf::parse(bad.as_slice())
        .unwrap()
        .program_headers()
        .unwrap();
    assert_eq!(headers.len(), 2);
    assert_eq!(headers[1].p_type, PT_GNU_STACK);
    assert_eq!(
        (headers[1].p_offset, headers[1].p_filesz),
        (headers[0].p_offset, headers[0].p_filesz)
    );
    // Everything after the ELF header is where it was.
    assert_eq!(bad[64..original.len()], original[64..]);
    assert_eq!(
        two_program_headers(&bad),
        Err(Error::ProgramHeaderCount {
            expected: 1,
            found: 2
        })
    );
}

#[test]
fn a_symbol_size_is_set_by_name() {
    let original = fixture();
    let bad = with_symbol_size(&original, "data", 2).unwrap();
    assert_eq!(
        changed(&original, &bad),
        [SYMTAB as usize + 2 * SIZEOF_SYM + 16]
    );
    assert_eq!(
        Elf::parse(bad).unwrap().symbol("data").unwrap().sym.st_size,
        2
    );
    assert_eq!(
        with_symbol_size(&original, "nothing", 1),
        Err(Error::NoSuchSymbol {
            name: "nothing".into()
        })
    );
}

#[test]
fn a_pt_interp_is_dynamic_linking() {
    assert_eq!(ensure_static(&fixture()), Ok(()));
    let dynamic = edited(|elf| elf.duplicate_program_header(0, PT_INTERP));
    assert_eq!(
        ensure_static(&dynamic),
        Err(Error::DynamicallyLinked { index: 1 })
    );
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let interpreter = goblin::elf::Elf::parse(&exe).unwrap().interpreter;
    assert_eq!(ensure_static(&exe).is_err(), interpreter.is_some());
}

#[test]
fn a_flat_image_is_the_load_and_its_zero_tail() {
    let elf = fixture();
    let (flat, entry) = flat_image(&elf).unwrap();
    assert_eq!(entry, ENTRY);
    assert_eq!(flat.len() as u64, MEMSZ);
    assert_eq!(flat[..FILESZ as usize], elf[..FILESZ as usize]);
    assert!(flat[FILESZ as usize..].iter().all(|&b| b == 0));
}

#[test]
fn a_flat_image_needs_one_load_at_zero_that_holds_the_entry() {
    let cases = [
        (
            edited(|elf| elf.duplicate_program_header(0, PT_LOAD)),
            Error::LoadCount { found: 2 },
        ),
        (
            edited(|elf| elf.set_program_header(0, P_OFFSET, 0x1000)),
            Error::LoadNotAtZero {
                p_offset: 0x1000,
                p_vaddr: 0,
            },
        ),
        (
            edited(|elf| elf.set_program_header(0, P_MEMSZ, FILESZ - 1)),
            Error::FileLargerThanMemory {
                p_filesz: FILESZ,
                p_memsz: FILESZ - 1,
            },
        ),
        (
            edited(|elf| elf.set_header(E_ENTRY, MEMSZ)),
            Error::EntryOutsideLoad {
                entry: MEMSZ,
                p_memsz: MEMSZ,
            },
        ),
        (
            edited(|elf| elf.set_program_header(0, P_MEMSZ, MAX_FLAT_IMAGE + 1)),
            Error::TooLarge {
                p_memsz: MAX_FLAT_IMAGE + 1,
                limit: 64 << 20,
            },
        ),
    ];
    for (elf, expected) in cases {
        assert_eq!(flat_image(&elf), Err(expected));
    }
    let past_the_end = edited(|elf| {
        elf.set_program_header(0, P_FILESZ, 0x10_0000)?;
        elf.set_program_header(0, P_MEMSZ, 0x10_0000)
    });
    assert!(matches!(
        flat_image(&past_the_end),
        Err(Error::OutsideFile {
            size: 0x10_0000,
            ..
        })
    ));
}
