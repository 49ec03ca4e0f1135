//! A purgatory ELF that passed the structural contract: the segment a loader
//! copies, its size in memory and where the symbols sit in it, found as the
//! checker and Linux find them.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::contract::elf::{self, ElfFile, Tables};
use crate::contract::{self, PAGE_SIZE, Unreadable, Violation};

/// A validated purgatory image borrowed from its ELF file.
#[derive(Debug, Clone)]
pub struct Image<'a> {
    /// The file-backed part of the segment, `p_filesz` bytes from offset 0.
    segment: &'a [u8],
    /// `p_memsz`: how much memory the image needs; the tail is zero.
    mem_size: u64,
    /// The segment's alignment, at least a page.
    align: u64,
    /// Offset of `purgatory_start` from the load address.
    entry: u64,
    /// The tables the contract judged, for symbol lookups.
    tables: Tables<'a>,
}

/// A global symbol of the image, as an offset from the load address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Name in `.symtab`.
    pub name: String,
    /// `st_value`: the offset from the load address (and in the file).
    pub offset: u64,
    /// `st_size`.
    pub size: u64,
}

/// Why an ELF cannot be used as the purgatory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageError {
    /// The bytes are not a readable ELF file.
    Unreadable(Unreadable),
    /// The ELF breaks the structural contract; every violation found is listed.
    Contract(Vec<Violation>),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable(why) => write!(f, "unreadable ELF: {why}"),
            Self::Contract(violations) => {
                write!(f, "{} contract violation(s):", violations.len())?;
                violations.iter().try_for_each(|v| write!(f, "\n  {v}"))
            }
        }
    }
}

impl core::error::Error for ImageError {}

impl<'a> Image<'a> {
    /// Checks `elf` against the structural contract
    /// ([`contract::check_structure`]'s rules) and, when it passes, returns
    /// the view a loader needs. The contract is the only gate: a file it
    /// passes is a file this view can describe. The instruction rules
    /// (`purgatory-check`) are not run: the embedded image passed them when
    /// it was built.
    pub fn parse(elf: &'a [u8]) -> Result<Self, ImageError> {
        let file = elf::read(elf).map_err(ImageError::Unreadable)?;
        let findings = contract::structural_findings(&file);
        let ElfFile::Tables(tables) = file else {
            return Err(ImageError::Contract(findings.finish()));
        };
        if !findings.is_empty() {
            return Err(ImageError::Contract(findings.finish()));
        }
        let unexpected = |what: &str| {
            ImageError::Unreadable(Unreadable::new(alloc::format!(
                "{what} after a clean structural check"
            )))
        };
        let load = tables
            .load_segment()
            .ok_or_else(|| unexpected("no PT_LOAD"))?;
        let segment = elf::file_slice(elf, 0, load.p_filesz)
            .ok_or_else(|| unexpected("the segment outside the file"))?;
        Ok(Self {
            segment,
            mem_size: load.p_memsz,
            align: load.p_align.max(PAGE_SIZE),
            entry: tables.header.e_entry,
            tables,
        })
    }

    /// The bytes to copy to the load address; the rest up to
    /// [`mem_size`](Self::mem_size) must be zero.
    pub fn segment(&self) -> &'a [u8] {
        self.segment
    }

    /// Memory the image occupies from its load address.
    pub fn mem_size(&self) -> u64 {
        self.mem_size
    }

    /// Required alignment of the load address (a power of two, at least 4 KiB).
    pub fn align(&self) -> u64 {
        self.align
    }

    /// Offset of the entry point from the load address.
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// A global symbol by name, as Linux's lookup finds it
    /// ([`contract::global_symbol`]): `None` when there is none, or when the
    /// one found is not defined in a section.
    pub fn symbol(&self, name: &str) -> Option<Symbol> {
        let entry = contract::global_symbol(&self.tables, name)?;
        self.tables.section_of(entry)?;
        Some(Symbol {
            name: name.to_owned(),
            offset: entry.sym.st_value,
            size: entry.sym.st_size,
        })
    }
}
