//! Reading an ELF64 little-endian file's tables (header, program and section
//! headers, symbols) with every offset and count checked against the file
//! before it is used. The structural rules, the instruction rules of
//! `purgatory-check` and [`Image`](crate::image::Image) all read a file
//! through [`read`], so they see the same tables.

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::header::ET_REL;
use goblin::elf::header::{
    EI_CLASS, EI_DATA, ELFCLASS64, ELFDATA2LSB, ELFMAG, Header, SIZEOF_IDENT,
};
use goblin::elf::program_header::{PT_LOAD, ProgramHeader};
use goblin::elf::section_header::{
    SHN_ABS, SHN_COMMON, SHN_UNDEF, SHT_NOBITS, SHT_STRTAB, SHT_SYMTAB, SectionHeader,
};
use goblin::elf::sym::Sym;
use goblin::elf64;

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::unreadable::Unreadable;

/// `SHT_RELR`, a gABI section type goblin does not name.
pub const SHT_RELR: u32 = 19;
/// `DT_RELR`, a gABI dynamic tag goblin does not name.
pub const DT_RELR: u64 = 36;

/// Longest name read from a string table; bounds the work on unterminated garbage.
const MAX_NAME: usize = 1024;

/// A file with the ELF magic.
#[derive(Debug, Clone)]
pub enum ElfFile<'a> {
    /// ELF64 little-endian, with its tables read.
    Tables(Tables<'a>),
    /// Another class or byte order: the identification, and the header as
    /// goblin reads it when it can.
    Foreign {
        /// `EI_CLASS`.
        class: u8,
        /// `EI_DATA`.
        data: u8,
        /// The ELF header, when goblin can read it in that class and order.
        header: Option<Header>,
    },
}

/// The parts of an ELF64 little-endian file the rules look at.
#[derive(Debug, Clone)]
pub struct Tables<'a> {
    /// The whole file.
    pub bytes: &'a [u8],
    /// The ELF header.
    pub header: Header,
    /// Every program header.
    pub segments: Vec<ProgramHeader>,
    /// Every section header, in header order.
    pub sections: Vec<Section<'a>>,
    /// Whether `e_shstrndx` names a string table inside the file.
    pub names_readable: bool,
    /// Every entry of every `SHT_SYMTAB`, in section order, then table order:
    /// the order Linux's symbol lookup walks.
    pub symbols: Vec<SymbolEntry<'a>>,
}

/// A section header with its name and, when they lie inside the file, its bytes.
#[derive(Debug, Clone)]
pub struct Section<'a> {
    /// Its index in the section header table.
    pub index: usize,
    /// Its name, empty when the names cannot be read.
    pub name: &'a [u8],
    /// The header as read.
    pub header: SectionHeader,
    /// Its bytes in the file: `None` for `SHT_NOBITS` or when they are not
    /// all inside the file.
    pub data: Option<&'a [u8]>,
}

/// A symbol table entry with its name.
#[derive(Debug, Clone)]
pub struct SymbolEntry<'a> {
    /// Its name, empty when it cannot be read.
    pub name: &'a [u8],
    /// Its index in its symbol table.
    pub index: usize,
    /// The section index of its symbol table.
    pub table: usize,
    /// The entry as read.
    pub sym: Sym,
}

/// Reads `bytes` as an ELF file; Err when it has no ELF magic or its
/// identification, header or header tables are cut short.
pub fn read(bytes: &[u8]) -> Result<ElfFile<'_>, Unreadable> {
    if bytes.get(..ELFMAG.len()) != Some(ELFMAG.as_slice()) {
        return Err(Unreadable::new(if bytes.len() < ELFMAG.len() {
            format!("not an ELF file: only {} bytes", bytes.len())
        } else {
            "not an ELF file: bad magic".to_owned()
        }));
    }
    let ident = bytes.first_chunk::<SIZEOF_IDENT>().ok_or_else(|| {
        Unreadable::new(format!(
            "truncated: the ELF identification needs {SIZEOF_IDENT} bytes, the file has {}",
            bytes.len()
        ))
    })?;
    // Constant indices into an array: checked at compile time.
    let (class, data) = (ident[EI_CLASS], ident[EI_DATA]);
    if class != ELFCLASS64 || data != ELFDATA2LSB {
        return Ok(ElfFile::Foreign {
            class,
            data,
            header: goblin::elf::Elf::parse_header(bytes).ok(),
        });
    }
    if bytes.len() < elf64::header::SIZEOF_EHDR {
        return Err(Unreadable::new(format!(
            "truncated: the ELF header needs {} bytes, the file has {}",
            elf64::header::SIZEOF_EHDR,
            bytes.len()
        )));
    }
    let header = goblin::elf::Elf::parse_header(bytes)
        .map_err(|err| Unreadable::new(format!("unreadable ELF header: {err}")))?;
    let ctx = Ctx::new(Container::Big, Endian::Little);
    let segments = read_program_headers(bytes, &header, ctx)?;
    let headers = read_section_headers(bytes, &header, ctx)?;
    let names = headers
        .get(usize::from(header.e_shstrndx))
        .filter(|sh| sh.sh_type == SHT_STRTAB)
        .and_then(|sh| file_slice(bytes, sh.sh_offset, sh.sh_size));
    let sections: Vec<Section<'_>> = headers
        .into_iter()
        .enumerate()
        .map(|(index, header)| Section {
            index,
            name: names.map_or(&[][..], |table| c_str(table, header.sh_name)),
            data: if header.sh_type == SHT_NOBITS {
                None
            } else {
                file_slice(bytes, header.sh_offset, header.sh_size)
            },
            header,
        })
        .collect();
    let symbols = read_symbols(&sections, ctx);
    Ok(ElfFile::Tables(Tables {
        bytes,
        header,
        segments,
        names_readable: names.is_some(),
        sections,
        symbols,
    }))
}

impl<'a> Tables<'a> {
    /// The `SHT_SYMTAB` sections, in header order.
    pub fn symtabs(&self) -> impl Iterator<Item = &Section<'a>> {
        symtabs(&self.sections)
    }

    /// The PT_LOAD the rules measure against: the first, if any.
    pub fn load_segment(&self) -> Option<&ProgramHeader> {
        self.segments.iter().find(|ph| ph.p_type == PT_LOAD)
    }

    /// Whether section addresses and symbol values are link-time addresses
    /// (a linked file with a segment), not offsets as in an `ET_REL`.
    pub fn is_linked(&self) -> bool {
        self.load_segment().is_some() && self.header.e_type != ET_REL
    }

    /// The section a symbol's `st_shndx` names, if it is a real index.
    pub fn section_of(&self, symbol: &SymbolEntry<'_>) -> Option<&Section<'a>> {
        symbol
            .is_defined()
            .then(|| self.sections.get(symbol.sym.st_shndx))
            .flatten()
    }
}

impl Section<'_> {
    /// Its name for a message: the name, or `section #i` when it has none.
    pub fn name(&self) -> String {
        if self.name.is_empty() {
            format!("section #{}", self.index)
        } else {
            String::from_utf8_lossy(self.name).into_owned()
        }
    }

    /// Whether `sh_flags` has `flag` (an `SHF_*` bit).
    pub fn has_flag(&self, flag: u32) -> bool {
        self.header.sh_flags & u64::from(flag) != 0
    }

    /// Whether its name is exactly `name`.
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name.as_bytes()
    }

    /// Whether its name starts with `prefix`.
    pub fn name_starts_with(&self, prefix: &str) -> bool {
        self.name.starts_with(prefix.as_bytes())
    }

    /// `[sh_addr, sh_addr + sh_size)`, saturated at the top.
    pub fn address_range(&self) -> core::ops::Range<u64> {
        let start = self.header.sh_addr;
        start..start.saturating_add(self.header.sh_size)
    }
}

impl SymbolEntry<'_> {
    /// Its name for a message (lossy UTF-8).
    pub fn name(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }

    /// Defined in a real section: its value is a link-time address.
    pub fn is_defined(&self) -> bool {
        let shndx = self.sym.st_shndx;
        shndx != SHN_UNDEF as usize && shndx != SHN_ABS as usize && shndx != SHN_COMMON as usize
    }
}

fn symtabs<'s, 'a>(sections: &'s [Section<'a>]) -> impl Iterator<Item = &'s Section<'a>> {
    sections.iter().filter(|s| s.header.sh_type == SHT_SYMTAB)
}

/// Checks that a header table lies inside the file before anything is
/// allocated for it.
fn table_span(
    what: &str,
    file_len: usize,
    offset: u64,
    count: u16,
    entsize: u16,
    expected_entsize: usize,
) -> Result<(), Unreadable> {
    if usize::from(entsize) != expected_entsize {
        return Err(Unreadable::new(format!(
            "{what} entry size is {entsize}, expected {expected_entsize}: cannot read the {what} table"
        )));
    }
    let size = u64::from(count) * u64::from(entsize);
    match offset.checked_add(size) {
        Some(end) if end <= file_len as u64 => Ok(()),
        _ => Err(Unreadable::new(format!(
            "truncated: {what}s at {offset:#x} ({count} x {entsize} bytes) past end of file (size {file_len:#x})"
        ))),
    }
}

fn read_program_headers(
    bytes: &[u8],
    header: &Header,
    ctx: Ctx,
) -> Result<Vec<ProgramHeader>, Unreadable> {
    if header.e_phnum == 0 {
        return Ok(Vec::new());
    }
    table_span(
        "program header",
        bytes.len(),
        header.e_phoff,
        header.e_phnum,
        header.e_phentsize,
        elf64::program_header::SIZEOF_PHDR,
    )?;
    let offset = usize::try_from(header.e_phoff)
        .map_err(|_| Unreadable::new("program header offset does not fit in memory".to_owned()))?;
    ProgramHeader::parse(bytes, offset, usize::from(header.e_phnum), ctx)
        .map_err(|err| Unreadable::new(format!("unreadable program headers: {err}")))
}

fn read_section_headers(
    bytes: &[u8],
    header: &Header,
    ctx: Ctx,
) -> Result<Vec<SectionHeader>, Unreadable> {
    // No table, or extended numbering (the count in section 0), which no
    // kexec loader reads: reported as a violation, not unreadable.
    if header.e_shnum == 0 || header.e_shoff == 0 {
        return Ok(Vec::new());
    }
    table_span(
        "section header",
        bytes.len(),
        header.e_shoff,
        header.e_shnum,
        header.e_shentsize,
        elf64::section_header::SIZEOF_SHDR,
    )?;
    let offset = usize::try_from(header.e_shoff)
        .map_err(|_| Unreadable::new("section header offset does not fit in memory".to_owned()))?;
    SectionHeader::parse(bytes, offset, usize::from(header.e_shnum), ctx)
        .map_err(|err| Unreadable::new(format!("unreadable section headers: {err}")))
}

/// Every entry of every well-formed `SHT_SYMTAB`, named through its
/// `sh_link` as Linux does (which does not check that it is a string table).
fn read_symbols<'a>(sections: &[Section<'a>], ctx: Ctx) -> Vec<SymbolEntry<'a>> {
    const ENTSIZE: usize = elf64::sym::SIZEOF_SYM;
    let mut symbols = Vec::new();
    for table in symtabs(sections) {
        let Some(data) = table.data else { continue };
        if table.header.sh_entsize != ENTSIZE as u64 {
            continue;
        }
        let strings = usize::try_from(table.header.sh_link)
            .ok()
            .and_then(|link| sections.get(link))
            .and_then(|s| s.data)
            .unwrap_or_default();
        let Ok(syms) = Sym::parse(data, 0, data.len() / ENTSIZE, ctx) else {
            continue;
        };
        symbols.extend(
            syms.into_iter()
                .enumerate()
                .map(|(index, sym)| SymbolEntry {
                    name: c_str(strings, sym.st_name),
                    index,
                    table: table.index,
                    sym,
                }),
        );
    }
    symbols
}

/// `[offset, offset + size)` of `bytes`, if it is all there.
pub fn file_slice(bytes: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(size).ok()?)?;
    bytes.get(start..end)
}

/// The NUL-terminated string at `offset`, at most [`MAX_NAME`] bytes; empty
/// when `offset` is out of range.
fn c_str(table: &[u8], offset: usize) -> &[u8] {
    let tail = table.get(offset..).unwrap_or_default();
    let tail = tail.get(..MAX_NAME).unwrap_or(tail);
    tail.split(|&b| b == 0).next().unwrap_or_default()
}
