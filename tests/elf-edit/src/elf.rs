//! An ELF64 little-endian image being edited. Where its tables are is found
//! once, by [`Elf::parse`]: edits change bytes, never where this editor
//! looks, so a test can break `e_shoff` and still patch a symbol. Reads give
//! the records as they are after the edits so far.

use core::ops::Range;
use goblin::elf::header::SIZEOF_IDENT;
use goblin::elf::section_header::{SHN_LORESERVE, SHN_UNDEF, SHT_NOBITS};
use goblin::elf::sym::st_type;
use goblin::elf64::header::Header;
use goblin::elf64::program_header::{ProgramHeader, SIZEOF_PHDR};
use goblin::elf64::section_header::{SIZEOF_SHDR, SectionHeader};
use goblin::elf64::sym::Sym;
use scroll::{LE, Pwrite};

use crate::error::{Error, Result};
use crate::field::{E_PHENTSIZE, E_PHNUM, E_PHOFF, E_SHNUM, E_SHOFF, Field, ST_INFO};
use crate::layout::{Layout, Named, Table, position, range, read_header, record};

/// An image and where its tables were when it was read.
#[derive(Debug, Clone)]
pub struct Elf {
    bytes: Vec<u8>,
    program_headers: Table,
    sections: Vec<Named>,
    symbols: Vec<Named>,
}

/// A section header as it is now, with its index and name.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub index: usize,
    pub name: String,
    pub header: SectionHeader,
}

/// A `.symtab` entry as it is now, with its index in its table and its name.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    pub index: usize,
    pub name: String,
    pub sym: Sym,
}

impl Elf {
    /// Reads the header and locates the program headers, the section headers
    /// with their names, and every `SHT_SYMTAB` entry with its name.
    pub fn parse(bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let bytes = bytes.into();
        let Layout {
            program_headers,
            sections,
            symbols,
        } = Layout::read(&bytes)?;
        Ok(Self {
            bytes,
            program_headers,
            sections,
            symbols,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    // --- The ELF header ------------------------------------------------------

    /// The ELF header, read as its `EI_DATA` says (a loader's reading).
    pub fn header(&self) -> Result<Header> {
        read_header(&self.bytes)
    }

    /// Sets byte `index` of `e_ident` (`EI_CLASS`, `EI_DATA`, …).
    pub fn set_ident(&mut self, index: usize, value: u8) -> Result<()> {
        let byte = (index < SIZEOF_IDENT)
            .then(|| self.bytes.get_mut(index))
            .flatten()
            .ok_or(Error::NoSuchIdentByte { index })?;
        *byte = value;
        Ok(())
    }

    pub fn set_header(&mut self, field: Field<Header>, value: u64) -> Result<()> {
        self.write(0, field, value)
    }

    // --- Program headers -----------------------------------------------------

    /// Every entry of the program header table.
    pub fn program_headers(&self) -> Result<Vec<ProgramHeader>> {
        (0..self.program_headers.count)
            .map(|index| self.program_header(index))
            .collect()
    }

    pub fn program_header(&self, index: usize) -> Result<ProgramHeader> {
        record(
            &self.bytes,
            self.program_header_at(index)?,
            "a program header",
        )
    }

    pub fn set_program_header(
        &mut self,
        index: usize,
        field: Field<ProgramHeader>,
        value: u64,
    ) -> Result<()> {
        self.write(self.program_header_at(index)?, field, value)
    }

    /// Moves the program header table to the end of the file (8-byte
    /// aligned) with `header` after its entries, so that no byte before the
    /// old end of the file changes but `e_phoff`, `e_phnum` and `e_phentsize`.
    pub fn append_program_header(&mut self, header: ProgramHeader) -> Result<()> {
        let old = self.program_headers;
        let full = Error::TableFull {
            table: "program header table",
        };
        let count = old.count + 1;
        let phnum = u16::try_from(count).map_err(|_| full.clone())?;
        let table = range(
            &self.bytes,
            old.offset as u64,
            (old.count * SIZEOF_PHDR) as u64,
            "the program header table",
        )?;
        let mut entries = self.bytes[table].to_vec();
        entries.resize(count * SIZEOF_PHDR, 0);
        entries
            .pwrite_with(header, old.count * SIZEOF_PHDR, LE)
            .map_err(|_| full)?;
        let offset = self
            .bytes
            .len()
            .next_multiple_of(align_of::<ProgramHeader>());
        self.bytes.resize(offset, 0);
        self.bytes.extend_from_slice(&entries);
        self.program_headers = Table {
            offset,
            count,
            entsize: SIZEOF_PHDR,
        };
        self.set_header(E_PHOFF, offset as u64)?;
        self.set_header(E_PHNUM, phnum.into())?;
        self.set_header(E_PHENTSIZE, SIZEOF_PHDR as u64)
    }

    /// Appends a copy of program header `index` with `p_type` changed.
    pub fn duplicate_program_header(&mut self, index: usize, p_type: u32) -> Result<()> {
        let mut copy = self.program_header(index)?;
        copy.p_type = p_type;
        self.append_program_header(copy)
    }

    fn program_header_at(&self, index: usize) -> Result<usize> {
        self.program_headers
            .entry(index)
            .ok_or(Error::NoSuchProgramHeader {
                index,
                count: self.program_headers.count,
            })
    }

    // --- Sections ------------------------------------------------------------

    /// The one section named `name`.
    pub fn section(&self, name: &str) -> Result<Section> {
        self.current_section(self.named_section(name)?)
    }

    pub fn section_at(&self, index: usize) -> Result<Section> {
        let named = self.sections.get(index).ok_or(Error::NoSuchSectionIndex {
            index,
            count: self.sections.len(),
        })?;
        self.current_section(named)
    }

    /// The section's bytes in the file.
    pub fn section_bytes(&self, name: &str) -> Result<&[u8]> {
        let range = self.file_range(&self.section(name)?)?;
        Ok(&self.bytes[range])
    }

    pub fn section_bytes_mut(&mut self, name: &str) -> Result<&mut [u8]> {
        let range = self.file_range(&self.section(name)?)?;
        Ok(&mut self.bytes[range])
    }

    pub fn set_section(
        &mut self,
        name: &str,
        field: Field<SectionHeader>,
        value: u64,
    ) -> Result<()> {
        self.write(self.named_section(name)?.at, field, value)
    }

    /// Appends a section: `data` at the end of the file, then a copy of the
    /// section header table with `header` after its entries (`sh_offset` and
    /// `sh_size` set to where `data` went), both 8-byte aligned. Before the
    /// old end of the file only `e_shoff` and `e_shnum` change. The image is
    /// read again, so a name the new section shares with another is then
    /// ambiguous. Returns the new section's index.
    pub fn append_section(&mut self, mut header: SectionHeader, data: &[u8]) -> Result<usize> {
        let old = self.header()?;
        let index = usize::from(old.e_shnum);
        let full = Error::TableFull {
            table: "section header table",
        };
        let shnum = u16::try_from(index + 1).map_err(|_| full.clone())?;
        let table = range(
            &self.bytes,
            old.e_shoff,
            (index * SIZEOF_SHDR) as u64,
            "the section header table",
        )?;
        let mut entries = self.bytes[table].to_vec();
        self.pad_to(align_of::<u64>());
        header.sh_offset = self.bytes.len() as u64;
        header.sh_size = data.len() as u64;
        self.bytes.extend_from_slice(data);
        entries.resize((index + 1) * SIZEOF_SHDR, 0);
        entries
            .pwrite_with(header, index * SIZEOF_SHDR, LE)
            .map_err(|_| full)?;
        self.pad_to(align_of::<SectionHeader>());
        let shoff = self.bytes.len() as u64;
        self.bytes.extend_from_slice(&entries);
        self.set_header(E_SHOFF, shoff)?;
        self.set_header(E_SHNUM, shnum.into())?;
        *self = Self::parse(core::mem::take(&mut self.bytes))?;
        Ok(index)
    }

    fn pad_to(&mut self, align: usize) {
        let len = self.bytes.len().next_multiple_of(align);
        self.bytes.resize(len, 0);
    }

    /// Overwrites the name in place, NUL-padded: `new` must not be longer.
    /// A name the linker shares with another section renames both.
    pub fn rename_section(&mut self, name: &str, new: &str) -> Result<()> {
        let position = self.section_position(name)?;
        self.sections[position].rename(&mut self.bytes, new)
    }

    fn named_section(&self, name: &str) -> Result<&Named> {
        Ok(&self.sections[self.section_position(name)?])
    }

    fn section_position(&self, name: &str) -> Result<usize> {
        position(&self.sections, "section", name, || Error::NoSuchSection {
            name: name.to_owned(),
        })
    }

    fn current_section(&self, named: &Named) -> Result<Section> {
        Ok(Section {
            index: named.index,
            name: named.name.clone(),
            header: record(&self.bytes, named.at, "a section header")?,
        })
    }

    fn file_range(&self, section: &Section) -> Result<Range<usize>> {
        if section.header.sh_type == SHT_NOBITS {
            return Err(Error::NoFileBytes {
                section: section.name.clone(),
            });
        }
        range(
            &self.bytes,
            section.header.sh_offset,
            section.header.sh_size,
            &format!("section {}", section.name),
        )
    }

    // --- Symbols -------------------------------------------------------------

    /// Every `.symtab` entry, in file order.
    pub fn symbols(&self) -> Result<Vec<Symbol>> {
        self.symbols
            .iter()
            .map(|named| self.current_symbol(named))
            .collect()
    }

    /// The one `.symtab` entry named `name`.
    pub fn symbol(&self, name: &str) -> Result<Symbol> {
        self.current_symbol(self.named_symbol(name)?)
    }

    /// The symbol's `st_size` bytes in the file, through its section.
    pub fn symbol_bytes(&self, name: &str) -> Result<&[u8]> {
        let range = self.symbol_range(name)?;
        Ok(&self.bytes[range])
    }

    pub fn symbol_bytes_mut(&mut self, name: &str) -> Result<&mut [u8]> {
        let range = self.symbol_range(name)?;
        Ok(&mut self.bytes[range])
    }

    pub fn set_symbol(&mut self, name: &str, field: Field<Sym>, value: u64) -> Result<()> {
        self.write(self.named_symbol(name)?.at, field, value)
    }

    /// Sets a field of the `.symtab` entry at `index`, whatever its name
    /// (the null entry, an unnamed or a duplicated one included).
    pub fn set_symbol_at(&mut self, index: usize, field: Field<Sym>, value: u64) -> Result<()> {
        let count = self.symbols.len();
        let named = self
            .symbols
            .get(index)
            .ok_or(Error::NoSuchSymbolIndex { index, count })?;
        self.write(named.at, field, value)
    }

    /// Sets the binding (`STB_*`, the high 4 bits of `st_info`) and keeps the type.
    pub fn set_symbol_binding(&mut self, name: &str, binding: u8) -> Result<()> {
        if binding > 0xf {
            return Err(Error::BadBinding { binding });
        }
        let info = binding << 4 | st_type(self.symbol(name)?.sym.st_info);
        self.set_symbol(name, ST_INFO, info.into())
    }

    /// Overwrites the name in place, NUL-padded: `new` must not be longer.
    pub fn rename_symbol(&mut self, name: &str, new: &str) -> Result<()> {
        let position = self.symbol_position(name)?;
        self.symbols[position].rename(&mut self.bytes, new)
    }

    fn named_symbol(&self, name: &str) -> Result<&Named> {
        Ok(&self.symbols[self.symbol_position(name)?])
    }

    fn symbol_position(&self, name: &str) -> Result<usize> {
        position(&self.symbols, "symbol", name, || Error::NoSuchSymbol {
            name: name.to_owned(),
        })
    }

    fn current_symbol(&self, named: &Named) -> Result<Symbol> {
        Ok(Symbol {
            index: named.index,
            name: named.name.clone(),
            sym: record(&self.bytes, named.at, "a symbol")?,
        })
    }

    fn symbol_range(&self, name: &str) -> Result<Range<usize>> {
        let Symbol { sym, .. } = self.symbol(name)?;
        let not_in_section = || Error::SymbolNotInSection {
            symbol: name.to_owned(),
            shndx: sym.st_shndx,
        };
        if sym.st_shndx == SHN_UNDEF as u16 || u32::from(sym.st_shndx) >= SHN_LORESERVE {
            return Err(not_in_section());
        }
        let section = self
            .section_at(usize::from(sym.st_shndx))
            .map_err(|_| not_in_section())?;
        let bytes = self.file_range(&section)?;
        let start = sym.st_value.checked_sub(section.header.sh_addr);
        let end = start.and_then(|start| start.checked_add(sym.st_size));
        match (start, end) {
            (Some(start), Some(end)) if end <= bytes.len() as u64 => {
                Ok(bytes.start + start as usize..bytes.start + end as usize)
            }
            _ => Err(Error::SymbolOutsideSection {
                symbol: name.to_owned(),
                section: section.name,
            }),
        }
    }

    // --- Field writes ----------------------------------------------------------

    /// Writes `value` into `field` of the record at `record_at`, little-endian.
    fn write<R>(&mut self, record_at: usize, field: Field<R>, value: u64) -> Result<()> {
        let le = value.to_le_bytes();
        let (kept, dropped) = le.split_at(field.width());
        if dropped.iter().any(|&byte| byte != 0) {
            return Err(Error::ValueTooWide {
                field: field.name(),
                value,
            });
        }
        let at = record_at + field.offset();
        let file_len = self.bytes.len() as u64;
        let slot =
            self.bytes
                .get_mut(at..at + field.width())
                .ok_or_else(|| Error::OutsideFile {
                    what: field.name().to_owned(),
                    offset: at as u64,
                    size: field.width() as u64,
                    file_len,
                })?;
        slot.copy_from_slice(kept);
        Ok(())
    }
}
