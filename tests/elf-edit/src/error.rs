//! What can go wrong reading or editing an image, each naming the part at fault.

use core::fmt;

/// Why an image cannot be read or an edit cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The file does not start with `\x7fELF`.
    BadMagic,
    /// Not ELF64 little-endian: the identification's `EI_CLASS` and `EI_DATA`.
    NotElf64 { class: u8, data: u8 },
    /// A header, table, string or range of bytes runs past the end of the file.
    OutsideFile {
        what: String,
        offset: u64,
        size: u64,
        file_len: u64,
    },
    /// A table whose entries are not the ELF64 size.
    EntrySize {
        table: String,
        entsize: u64,
        expected: usize,
    },
    /// A name that is not a NUL-terminated UTF-8 string inside its string table.
    BadName { table: String, offset: u64 },
    /// No section has this name.
    NoSuchSection { name: String },
    /// No section has this index.
    NoSuchSectionIndex { index: usize, count: usize },
    /// No `.symtab` entry has this name.
    NoSuchSymbol { name: String },
    /// No `.symtab` entry has this index.
    NoSuchSymbolIndex { index: usize, count: usize },
    /// Several sections or symbols have this name: which one is meant is unclear.
    Ambiguous {
        kind: &'static str,
        name: String,
        count: usize,
    },
    /// No program header has this index.
    NoSuchProgramHeader { index: usize, count: usize },
    /// A `SHT_NOBITS` section: it has no bytes in the file.
    NoFileBytes { section: String },
    /// A symbol whose `st_shndx` names no section (undefined, absolute, common, out of range).
    SymbolNotInSection { symbol: String, shndx: u16 },
    /// A symbol whose bytes are not inside its section.
    SymbolOutsideSection { symbol: String, section: String },
    /// A value wider than the field it is written to.
    ValueTooWide { field: &'static str, value: u64 },
    /// An `e_ident` index past the identification.
    NoSuchIdentByte { index: usize },
    /// A binding that does not fit the 4 bits of `st_info`.
    BadBinding { binding: u8 },
    /// A new name that does not fit over the old one, or holds a NUL.
    NameDoesNotFit { old: String, new: String },
    /// A table that cannot take one more entry.
    TableFull { table: &'static str },
    /// An edit that expects a number of program headers the image does not have.
    ProgramHeaderCount { expected: usize, found: usize },
    /// A flat image needs exactly one `PT_LOAD`.
    LoadCount { found: usize },
    /// The program asks for a dynamic loader (`PT_INTERP`).
    DynamicallyLinked { index: usize },
    /// A flat image's `PT_LOAD` must start at file offset 0 and address 0.
    LoadNotAtZero { p_offset: u64, p_vaddr: u64 },
    /// `p_filesz` above `p_memsz`.
    FileLargerThanMemory { p_filesz: u64, p_memsz: u64 },
    /// The entry point is not inside the `PT_LOAD`.
    EntryOutsideLoad { entry: u64, p_memsz: u64 },
    /// A `PT_LOAD` larger in memory than a flat image may be.
    TooLarge { p_memsz: u64, limit: u64 },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => write!(f, "not an ELF file: bad magic"),
            Self::NotElf64 { class, data } => write!(
                f,
                "not ELF64 little-endian: EI_CLASS {class}, EI_DATA {data}"
            ),
            Self::OutsideFile {
                what,
                offset,
                size,
                file_len,
            } => write!(
                f,
                "{what} ({size:#x} bytes at {offset:#x}) runs past the end of the file ({file_len:#x} bytes)"
            ),
            Self::EntrySize {
                table,
                entsize,
                expected,
            } => write!(f, "{table}: entry size {entsize}, expected {expected}"),
            Self::BadName { table, offset } => write!(
                f,
                "the name at {offset:#x} in {table} is not a NUL-terminated UTF-8 string inside it"
            ),
            Self::NoSuchSection { name } => write!(f, "no section {name}"),
            Self::NoSuchSectionIndex { index, count } => {
                write!(f, "no section #{index} (the image has {count})")
            }
            Self::NoSuchSymbol { name } => write!(f, "no symbol `{name}` in .symtab"),
            Self::NoSuchSymbolIndex { index, count } => {
                write!(f, "no .symtab entry #{index} (the table has {count})")
            }
            Self::Ambiguous { kind, name, count } => {
                write!(f, "{count} {kind}s are named `{name}`")
            }
            Self::NoSuchProgramHeader { index, count } => {
                write!(f, "no program header #{index} (the image has {count})")
            }
            Self::NoFileBytes { section } => {
                write!(
                    f,
                    "section {section} is SHT_NOBITS: it has no bytes in the file"
                )
            }
            Self::SymbolNotInSection { symbol, shndx } => {
                write!(
                    f,
                    "symbol `{symbol}` is in no section (st_shndx {shndx:#x})"
                )
            }
            Self::SymbolOutsideSection { symbol, section } => {
                write!(f, "symbol `{symbol}` is not inside its section {section}")
            }
            Self::ValueTooWide { field, value } => {
                write!(f, "{value:#x} does not fit in {field}")
            }
            Self::NoSuchIdentByte { index } => {
                write!(f, "e_ident has no byte {index}")
            }
            Self::BadBinding { binding } => {
                write!(f, "binding {binding} does not fit in the 4 bits of st_info")
            }
            Self::NameDoesNotFit { old, new } => {
                write!(f, "the name {new:?} does not fit over {old:?}")
            }
            Self::TableFull { table } => write!(f, "the {table} cannot take another entry"),
            Self::ProgramHeaderCount { expected, found } => write!(
                f,
                "expected {expected} program header(s), the image has {found}"
            ),
            Self::LoadCount { found } => {
                write!(f, "expected exactly one PT_LOAD, found {found}")
            }
            Self::DynamicallyLinked { index } => write!(
                f,
                "dynamically linked: program header #{index} is a PT_INTERP"
            ),
            Self::LoadNotAtZero { p_offset, p_vaddr } => write!(
                f,
                "the PT_LOAD is at file offset {p_offset:#x} and address {p_vaddr:#x}, not 0 and 0"
            ),
            Self::FileLargerThanMemory { p_filesz, p_memsz } => write!(
                f,
                "the PT_LOAD's p_filesz {p_filesz:#x} is above its p_memsz {p_memsz:#x}"
            ),
            Self::EntryOutsideLoad { entry, p_memsz } => write!(
                f,
                "the entry point {entry:#x} is outside the PT_LOAD ({p_memsz:#x} bytes)"
            ),
            Self::TooLarge { p_memsz, limit } => write!(
                f,
                "the PT_LOAD's p_memsz {p_memsz:#x} is above the {limit:#x} bytes a flat image may take"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// The result of every read and edit.
pub type Result<T> = core::result::Result<T, Error>;
