//! Where an image's tables and names are: the program header table, the
//! section headers with their names, every `SHT_SYMTAB` entry with its name.
//! Read once, through goblin's record types, with every offset and count
//! checked against the file before it is used.

use core::ops::Range;
use goblin::elf::header::{EI_CLASS, EI_DATA, ELFCLASS64, ELFDATA2LSB, ELFMAG, SIZEOF_IDENT};
use goblin::elf::section_header::SHT_SYMTAB;
use goblin::elf64::header::{Header, SIZEOF_EHDR};
use goblin::elf64::program_header::SIZEOF_PHDR;
use goblin::elf64::section_header::{SIZEOF_SHDR, SectionHeader};
use goblin::elf64::sym::{SIZEOF_SYM, Sym};
use scroll::{LE, Pread};

use crate::error::{Error, Result};

/// Where the tables are.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) program_headers: Table,
    pub(crate) sections: Vec<Named>,
    pub(crate) symbols: Vec<Named>,
}

/// Where a table of fixed-size entries is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    pub(crate) offset: usize,
    pub(crate) count: usize,
    pub(crate) entsize: usize,
}

/// A section header or a symbol: its index, its name, and the file offsets
/// of its record and of its name.
#[derive(Debug, Clone)]
pub(crate) struct Named {
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) at: usize,
    pub(crate) name_at: usize,
}

impl Layout {
    pub(crate) fn read(bytes: &[u8]) -> Result<Self> {
        let header = read_header(bytes)?;
        let program_headers = Table::locate(
            bytes,
            "the program header table",
            header.e_phoff,
            header.e_phnum,
            header.e_phentsize,
            SIZEOF_PHDR,
        )?;
        let section_table = Table::locate(
            bytes,
            "the section header table",
            header.e_shoff,
            header.e_shnum,
            header.e_shentsize,
            SIZEOF_SHDR,
        )?;
        let headers = section_table
            .entries()
            .map(|at| record::<SectionHeader>(bytes, at, "a section header"))
            .collect::<Result<Vec<_>>>()?;
        let sections = name_sections(bytes, &section_table, &headers, header.e_shstrndx)?;
        let symbols = read_symbols(bytes, &sections, &headers)?;
        Ok(Self {
            program_headers,
            sections,
            symbols,
        })
    }
}

impl Table {
    /// The table of `count` entries at `offset`; Err when its entries are not
    /// `expected` bytes or it runs past the end of the file.
    fn locate(
        bytes: &[u8],
        what: &str,
        offset: u64,
        count: u16,
        entsize: u16,
        expected: usize,
    ) -> Result<Self> {
        if count == 0 {
            return Ok(Self {
                offset: 0,
                count: 0,
                entsize: expected,
            });
        }
        if usize::from(entsize) != expected {
            return Err(Error::EntrySize {
                table: what.to_owned(),
                entsize: entsize.into(),
                expected,
            });
        }
        let size = u64::from(count) * expected as u64;
        let range = range(bytes, offset, size, what)?;
        Ok(Self {
            offset: range.start,
            count: count.into(),
            entsize: expected,
        })
    }

    pub(crate) fn entry(&self, index: usize) -> Option<usize> {
        (index < self.count).then(|| self.offset + index * self.entsize)
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = usize> + use<> {
        let Self {
            offset, entsize, ..
        } = *self;
        (0..self.count).map(move |index| offset + index * entsize)
    }
}

/// The ELF header, when the file is ELF64 little-endian and holds one.
pub(crate) fn read_header(bytes: &[u8]) -> Result<Header> {
    if bytes.get(..ELFMAG.len()) != Some(ELFMAG.as_slice()) {
        return Err(Error::BadMagic);
    }
    let ident = bytes
        .first_chunk::<SIZEOF_IDENT>()
        .ok_or_else(|| outside("the ELF identification", 0, SIZEOF_IDENT, bytes))?;
    let (class, data) = (ident[EI_CLASS], ident[EI_DATA]);
    if class != ELFCLASS64 || data != ELFDATA2LSB {
        return Err(Error::NotElf64 { class, data });
    }
    if bytes.len() < SIZEOF_EHDR {
        return Err(outside("the ELF header", 0, SIZEOF_EHDR, bytes));
    }
    bytes
        .pread_with(0, LE)
        .map_err(|_: goblin::error::Error| outside("the ELF header", 0, SIZEOF_EHDR, bytes))
}

/// The ELF64 record `R` at `at`.
pub(crate) fn record<'a, R>(bytes: &'a [u8], at: usize, what: &str) -> Result<R>
where
    R: scroll::ctx::TryFromCtx<'a, scroll::Endian, Error = scroll::Error>,
{
    bytes
        .pread_with(at, LE)
        .map_err(|_| outside(what, at, size_of::<R>(), bytes))
}

fn outside(what: &str, offset: usize, size: usize, bytes: &[u8]) -> Error {
    Error::OutsideFile {
        what: what.to_owned(),
        offset: offset as u64,
        size: size as u64,
        file_len: bytes.len() as u64,
    }
}

/// `size` bytes at `offset`, when they are inside the file.
pub(crate) fn range(bytes: &[u8], offset: u64, size: u64, what: &str) -> Result<Range<usize>> {
    let file_len = bytes.len() as u64;
    match offset.checked_add(size) {
        Some(end) if end <= file_len => Ok(offset as usize..end as usize),
        _ => Err(Error::OutsideFile {
            what: what.to_owned(),
            offset,
            size,
            file_len,
        }),
    }
}

fn name_sections(
    bytes: &[u8],
    table: &Table,
    headers: &[SectionHeader],
    shstrndx: u16,
) -> Result<Vec<Named>> {
    if headers.is_empty() {
        return Ok(Vec::new());
    }
    let names = headers
        .get(usize::from(shstrndx))
        .ok_or(Error::NoSuchSectionIndex {
            index: shstrndx.into(),
            count: headers.len(),
        })?;
    let names = range(
        bytes,
        names.sh_offset,
        names.sh_size,
        "the section name table",
    )?;
    headers
        .iter()
        .zip(table.entries())
        .enumerate()
        .map(|(index, (header, at))| {
            let (name, name_at) = c_str(bytes, &names, header.sh_name, "the section name table")?;
            Ok(Named {
                index,
                name,
                at,
                name_at,
            })
        })
        .collect()
}

/// Every entry of every `SHT_SYMTAB`, with its name from the linked string table.
fn read_symbols(bytes: &[u8], sections: &[Named], headers: &[SectionHeader]) -> Result<Vec<Named>> {
    let mut symbols = Vec::new();
    for (section, header) in sections.iter().zip(headers) {
        if header.sh_type != SHT_SYMTAB {
            continue;
        }
        if header.sh_entsize != SIZEOF_SYM as u64 {
            return Err(Error::EntrySize {
                table: section.name.clone(),
                entsize: header.sh_entsize,
                expected: SIZEOF_SYM,
            });
        }
        let table = range(bytes, header.sh_offset, header.sh_size, &section.name)?;
        let link = header.sh_link as usize;
        let (strtab, names) =
            sections
                .get(link)
                .zip(headers.get(link))
                .ok_or(Error::NoSuchSectionIndex {
                    index: link,
                    count: headers.len(),
                })?;
        let names = range(bytes, names.sh_offset, names.sh_size, &strtab.name)?;
        for index in 0..table.len() / SIZEOF_SYM {
            let at = table.start + index * SIZEOF_SYM;
            let sym: Sym = record(bytes, at, "a symbol")?;
            let (name, name_at) = c_str(bytes, &names, sym.st_name, &strtab.name)?;
            symbols.push(Named {
                index,
                name,
                at,
                name_at,
            });
        }
    }
    Ok(symbols)
}

/// The NUL-terminated UTF-8 name at `offset` in the string table `table`,
/// and its file offset.
fn c_str(bytes: &[u8], table: &Range<usize>, offset: u32, what: &str) -> Result<(String, usize)> {
    let bad = || Error::BadName {
        table: what.to_owned(),
        offset: offset.into(),
    };
    let start = table.start.checked_add(offset as usize).ok_or_else(bad)?;
    let tail = bytes.get(start..table.end).ok_or_else(bad)?;
    let len = tail.iter().position(|&byte| byte == 0).ok_or_else(bad)?;
    let name = core::str::from_utf8(&tail[..len]).map_err(|_| bad())?;
    Ok((name.to_owned(), start))
}

/// Where the one entry named `name` is: `missing` when there is none,
/// ambiguous when there are several.
pub(crate) fn position(
    list: &[Named],
    kind: &'static str,
    name: &str,
    missing: impl FnOnce() -> Error,
) -> Result<usize> {
    let mut found = list
        .iter()
        .enumerate()
        .filter(|(_, named)| named.name == name)
        .map(|(position, _)| position);
    let first = found.next().ok_or_else(missing)?;
    match found.count() {
        0 => Ok(first),
        more => Err(Error::Ambiguous {
            kind,
            name: name.to_owned(),
            count: more + 1,
        }),
    }
}

impl Named {
    /// Overwrites the name in place, NUL-padded: `new` must not be longer.
    pub(crate) fn rename(&mut self, bytes: &mut [u8], new: &str) -> Result<()> {
        let old = self.name.len();
        if new.len() > old || new.contains('\0') {
            return Err(Error::NameDoesNotFit {
                old: self.name.clone(),
                new: new.to_owned(),
            });
        }
        let slot = bytes
            .get_mut(self.name_at..self.name_at + old)
            .ok_or_else(|| Error::BadName {
                table: "its string table".to_owned(),
                offset: self.name_at as u64,
            })?;
        slot.fill(0);
        slot[..new.len()].copy_from_slice(new.as_bytes());
        self.name = new.to_owned();
        Ok(())
    }
}
