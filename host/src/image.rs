//! A purgatory ELF that passed the contract check: the segment a loader
//! copies, its size in memory and where the patched symbols sit in it.

use crate::check::{self, Unreadable, Violation};
use goblin::elf::Elf;
use std::fmt;

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
    symbols: Vec<Symbol>,
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
pub enum ImageError {
    /// The bytes are not a readable ELF file.
    Unreadable(Unreadable),
    /// The ELF breaks the contract; every violation found is listed.
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

impl std::error::Error for ImageError {}

/// The smallest alignment a loader may use: a page.
const PAGE_SIZE: u64 = 4096;

impl<'a> Image<'a> {
    /// Checks `elf` against the contract and, when it passes, returns the view
    /// a loader needs. The contract check is the only gate: a file it passes
    /// is a file this view can describe.
    pub fn parse(elf: &'a [u8]) -> Result<Self, ImageError> {
        let violations = check::check(elf).map_err(ImageError::Unreadable)?;
        if !violations.is_empty() {
            return Err(ImageError::Contract(violations));
        }
        let parsed = Elf::parse(elf)
            .map_err(|err| ImageError::Unreadable(Unreadable::new(err.to_string())))?;
        let load = parsed.program_headers.first().ok_or_else(|| {
            ImageError::Unreadable(Unreadable::new(
                "no program header after a clean check".into(),
            ))
        })?;
        let segment = usize::try_from(load.p_filesz)
            .ok()
            .and_then(|len| elf.get(..len))
            .ok_or_else(|| {
                ImageError::Unreadable(Unreadable::new("segment past the end of the file".into()))
            })?;
        let symbols = parsed
            .syms
            .iter()
            .filter(|sym| sym.st_bind() == goblin::elf::sym::STB_GLOBAL && sym.st_shndx != 0)
            .filter_map(|sym| {
                let name = parsed.strtab.get_at(sym.st_name)?;
                Some(Symbol {
                    name: name.to_owned(),
                    offset: sym.st_value,
                    size: sym.st_size,
                })
            })
            .collect();
        Ok(Self {
            segment,
            mem_size: load.p_memsz,
            align: load.p_align.max(PAGE_SIZE),
            entry: parsed.entry,
            symbols,
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

    /// A global symbol by name.
    pub fn symbol(&self, name: &str) -> Option<&Symbol> {
        self.symbols.iter().find(|sym| sym.name == name)
    }
}
