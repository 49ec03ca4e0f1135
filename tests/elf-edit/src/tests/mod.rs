//! The toolkit's own tests, on a small image written here from goblin's
//! record types (so that they do not depend on what they test) and on the
//! test binary itself, a real linker's output.

mod images;
mod malformed;
mod reading;
mod writing;

use goblin::elf::header::{EM_X86_64, ET_DYN};
use goblin::elf::program_header::{PF_R, PF_W, PF_X, PT_LOAD};
use goblin::elf::section_header::{
    SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, SHT_PROGBITS, SHT_STRTAB, SHT_SYMTAB,
};
use goblin::elf::sym::{STB_GLOBAL, STB_LOCAL, STT_FUNC, STT_OBJECT};
use goblin::elf64::header::{Header, SIZEOF_EHDR};
use goblin::elf64::program_header::{ProgramHeader, SIZEOF_PHDR};
use goblin::elf64::section_header::{SIZEOF_SHDR, SectionHeader};
use goblin::elf64::sym::{SIZEOF_SYM, Sym};
use scroll::{LE, Pwrite};

/// The fixture's layout: one RWX `PT_LOAD` from 0 holding the header, the
/// program header, `.text` and `.data`; `.bss` after them in memory only.
const TEXT: u64 = 0x80;
const TEXT_SIZE: u64 = 0x20;
const DATA: u64 = 0xa0;
const DATA_BYTES: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const BSS_SIZE: u64 = 0x18;
const FILESZ: u64 = 0xa8;
const MEMSZ: u64 = FILESZ + BSS_SIZE;
const ENTRY: u64 = TEXT;
const SYMTAB: u64 = FILESZ;
/// `(name, binding, type, section, value, size)`; `twin` twice, on purpose.
const SYMBOLS: [(&str, u8, u8, u16, u64, u64); 4] = [
    ("_start", STB_GLOBAL, STT_FUNC, 1, TEXT, 0x10),
    ("data", STB_LOCAL, STT_OBJECT, 2, DATA, 8),
    ("twin", STB_LOCAL, STT_FUNC, 1, TEXT + 0x10, 4),
    ("twin", STB_LOCAL, STT_FUNC, 1, TEXT + 0x14, 4),
];
const SECTIONS: [&str; 7] = [
    "",
    ".text",
    ".data",
    ".bss",
    ".symtab",
    ".strtab",
    ".shstrtab",
];

/// A NUL-separated string table of `names` and the offset of each.
fn string_table<'a>(names: impl IntoIterator<Item = &'a str>) -> (Vec<u8>, Vec<u32>) {
    let mut table = vec![0];
    let offsets = names
        .into_iter()
        .map(|name| {
            if name.is_empty() {
                return 0;
            }
            let at = table.len() as u32;
            table.extend_from_slice(name.as_bytes());
            table.push(0);
            at
        })
        .collect();
    (table, offsets)
}

fn put<T, E>(bytes: &mut Vec<u8>, at: u64, record: T, size: usize)
where
    T: scroll::ctx::TryIntoCtx<scroll::Endian, Error = E>,
    E: From<scroll::Error> + std::fmt::Debug,
{
    let at = at as usize;
    if bytes.len() < at + size {
        bytes.resize(at + size, 0);
    }
    bytes.pwrite_with(record, at, LE).unwrap();
}

/// The fixture image.
fn fixture() -> Vec<u8> {
    let (strtab, sym_names) = string_table(SYMBOLS.iter().map(|s| s.0));
    let (shstrtab, section_names) = string_table(SECTIONS);
    let symtab_size = ((SYMBOLS.len() + 1) * SIZEOF_SYM) as u64;
    let strtab_at = SYMTAB + symtab_size;
    let shstrtab_at = strtab_at + strtab.len() as u64;
    let shoff = (shstrtab_at + shstrtab.len() as u64).next_multiple_of(8);

    let mut bytes = vec![0; SIZEOF_EHDR];
    let mut header: Header = goblin::elf::header::Header::new(goblin::container::Ctx::new(
        goblin::container::Container::Big,
        goblin::container::Endian::Little,
    ))
    .into();
    header.e_type = ET_DYN;
    header.e_machine = EM_X86_64;
    header.e_entry = ENTRY;
    header.e_phoff = SIZEOF_EHDR as u64;
    header.e_phnum = 1;
    header.e_shoff = shoff;
    header.e_shnum = SECTIONS.len() as u16;
    header.e_shstrndx = 6;
    put(&mut bytes, 0, header, SIZEOF_EHDR);
    let load = ProgramHeader {
        p_type: PT_LOAD,
        p_flags: PF_R | PF_W | PF_X,
        p_offset: 0,
        p_vaddr: 0,
        p_paddr: 0,
        p_filesz: FILESZ,
        p_memsz: MEMSZ,
        p_align: 0x1000,
    };
    put(&mut bytes, SIZEOF_EHDR as u64, load, SIZEOF_PHDR);

    bytes.resize(TEXT as usize, 0);
    bytes.resize((TEXT + TEXT_SIZE) as usize, 0x90);
    bytes.extend_from_slice(&DATA_BYTES);
    for (i, (&(_, bind, kind, shndx, value, size), name)) in
        SYMBOLS.iter().zip(sym_names).enumerate()
    {
        let sym = Sym {
            st_name: name,
            st_info: bind << 4 | kind,
            st_other: 0,
            st_shndx: shndx,
            st_value: value,
            st_size: size,
        };
        put(
            &mut bytes,
            SYMTAB + ((i + 1) * SIZEOF_SYM) as u64,
            sym,
            SIZEOF_SYM,
        );
    }
    bytes.resize(strtab_at as usize, 0);
    bytes.extend_from_slice(&strtab);
    bytes.extend_from_slice(&shstrtab);

    let alloc = u64::from(SHF_ALLOC);
    // (type, flags, addr, offset, size, link, entsize)
    let sections = [
        (0, 0, 0, 0, 0, 0, 0),
        (
            SHT_PROGBITS,
            alloc | u64::from(SHF_EXECINSTR),
            TEXT,
            TEXT,
            TEXT_SIZE,
            0,
            0,
        ),
        (
            SHT_PROGBITS,
            alloc | u64::from(SHF_WRITE),
            DATA,
            DATA,
            8,
            0,
            0,
        ),
        (
            SHT_NOBITS,
            alloc | u64::from(SHF_WRITE),
            FILESZ,
            FILESZ,
            BSS_SIZE,
            0,
            0,
        ),
        (SHT_SYMTAB, 0, 0, SYMTAB, symtab_size, 5, SIZEOF_SYM as u64),
        (SHT_STRTAB, 0, 0, strtab_at, strtab.len() as u64, 0, 0),
        (SHT_STRTAB, 0, 0, shstrtab_at, shstrtab.len() as u64, 0, 0),
    ];
    for (i, ((sh_type, flags, addr, offset, size, link, entsize), name)) in
        sections.into_iter().zip(section_names).enumerate()
    {
        let header = SectionHeader {
            sh_name: name,
            sh_type,
            sh_flags: flags,
            sh_addr: addr,
            sh_offset: offset,
            sh_size: size,
            sh_link: link,
            sh_info: 0,
            sh_addralign: 1,
            sh_entsize: entsize,
        };
        put(
            &mut bytes,
            shoff + (i * SIZEOF_SHDR) as u64,
            header,
            SIZEOF_SHDR,
        );
    }
    bytes
}

/// The bytes that differ between two images of the same length, by offset.
fn changed(before: &[u8], after: &[u8]) -> Vec<usize> {
    assert_eq!(before.len(), after.len());
    (0..before.len())
        .filter(|&i| before[i] != after[i])
        .collect()
}
