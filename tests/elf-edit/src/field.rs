//! The fields of the four ELF64 records, under their gABI names. Offsets and
//! widths come from goblin's `#[repr(C)]` definitions of the records, so the
//! layout is declared once, there; the asserts below hold it to the sizes in
//! the file.

use core::marker::PhantomData;
use core::mem::{offset_of, size_of};
use goblin::elf64::header::{Header, SIZEOF_EHDR};
use goblin::elf64::program_header::{ProgramHeader, SIZEOF_PHDR};
use goblin::elf64::section_header::{SIZEOF_SHDR, SectionHeader};
use goblin::elf64::sym::{SIZEOF_SYM, Sym};

// No padding: each record in memory is the record in the file.
const _: () = assert!(size_of::<Header>() == SIZEOF_EHDR);
const _: () = assert!(size_of::<ProgramHeader>() == SIZEOF_PHDR);
const _: () = assert!(size_of::<SectionHeader>() == SIZEOF_SHDR);
const _: () = assert!(size_of::<Sym>() == SIZEOF_SYM);

/// A field of the record `R`: its name, its offset in the record and its width.
pub struct Field<R> {
    name: &'static str,
    offset: usize,
    width: usize,
    record: PhantomData<fn() -> R>,
}

impl<R> Field<R> {
    /// `field` is never called: its type gives the field's width.
    const fn new<T>(name: &'static str, offset: usize, _field: fn(&R) -> &T) -> Self {
        assert!(size_of::<T>() <= size_of::<u64>(), "a field is a number");
        Self {
            name,
            offset,
            width: size_of::<T>(),
            record: PhantomData,
        }
    }

    /// The gABI name, e.g. `p_filesz`.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Offset in its record.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// Width in bytes.
    pub const fn width(&self) -> usize {
        self.width
    }
}

// Not derived: a derive would require `R: Clone` and so on.
impl<R> Clone for Field<R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R> Copy for Field<R> {}

impl<R> core::fmt::Debug for Field<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name)
    }
}

macro_rules! fields {
    ($record:ty: $($constant:ident = $field:ident),+ $(,)?) => {$(
        #[doc = concat!("`", stringify!($field), "`")]
        pub const $constant: Field<$record> = Field::<$record>::new(
            stringify!($field),
            offset_of!($record, $field),
            |record| &record.$field,
        );
    )+};
}

// `e_ident` is bytes, not a number: see `Elf::set_ident`.
fields!(Header:
    E_TYPE = e_type,
    E_MACHINE = e_machine,
    E_VERSION = e_version,
    E_ENTRY = e_entry,
    E_PHOFF = e_phoff,
    E_SHOFF = e_shoff,
    E_FLAGS = e_flags,
    E_EHSIZE = e_ehsize,
    E_PHENTSIZE = e_phentsize,
    E_PHNUM = e_phnum,
    E_SHENTSIZE = e_shentsize,
    E_SHNUM = e_shnum,
    E_SHSTRNDX = e_shstrndx,
);

fields!(ProgramHeader:
    P_TYPE = p_type,
    P_FLAGS = p_flags,
    P_OFFSET = p_offset,
    P_VADDR = p_vaddr,
    P_PADDR = p_paddr,
    P_FILESZ = p_filesz,
    P_MEMSZ = p_memsz,
    P_ALIGN = p_align,
);

fields!(SectionHeader:
    SH_NAME = sh_name,
    SH_TYPE = sh_type,
    SH_FLAGS = sh_flags,
    SH_ADDR = sh_addr,
    SH_OFFSET = sh_offset,
    SH_SIZE = sh_size,
    SH_LINK = sh_link,
    SH_INFO = sh_info,
    SH_ADDRALIGN = sh_addralign,
    SH_ENTSIZE = sh_entsize,
);

fields!(Sym:
    ST_NAME = st_name,
    ST_INFO = st_info,
    ST_OTHER = st_other,
    ST_SHNDX = st_shndx,
    ST_VALUE = st_value,
    ST_SIZE = st_size,
);

#[cfg(test)]
mod tests {
    use super::*;

    fn layout<R>(fields: &[Field<R>]) -> Vec<(&'static str, usize, usize)> {
        fields
            .iter()
            .map(|f| (f.name(), f.offset(), f.width()))
            .collect()
    }

    // The gABI's offsets, as literals: a change in goblin shows up here.
    #[test]
    fn the_header_fields_are_the_gabis() {
        let fields = [
            E_TYPE,
            E_MACHINE,
            E_VERSION,
            E_ENTRY,
            E_PHOFF,
            E_SHOFF,
            E_FLAGS,
            E_EHSIZE,
            E_PHENTSIZE,
            E_PHNUM,
            E_SHENTSIZE,
            E_SHNUM,
            E_SHSTRNDX,
        ];
        assert_eq!(
            layout(&fields),
            [
                ("e_type", 16, 2),
                ("e_machine", 18, 2),
                ("e_version", 20, 4),
                ("e_entry", 24, 8),
                ("e_phoff", 32, 8),
                ("e_shoff", 40, 8),
                ("e_flags", 48, 4),
                ("e_ehsize", 52, 2),
                ("e_phentsize", 54, 2),
                ("e_phnum", 56, 2),
                ("e_shentsize", 58, 2),
                ("e_shnum", 60, 2),
                ("e_shstrndx", 62, 2),
            ]
        );
    }

    #[test]
    fn the_program_header_fields_are_the_gabis() {
        let fields = [
            P_TYPE, P_FLAGS, P_OFFSET, P_VADDR, P_PADDR, P_FILESZ, P_MEMSZ, P_ALIGN,
        ];
        assert_eq!(
            layout(&fields),
            [
                ("p_type", 0, 4),
                ("p_flags", 4, 4),
                ("p_offset", 8, 8),
                ("p_vaddr", 16, 8),
                ("p_paddr", 24, 8),
                ("p_filesz", 32, 8),
                ("p_memsz", 40, 8),
                ("p_align", 48, 8),
            ]
        );
    }

    #[test]
    fn the_section_header_fields_are_the_gabis() {
        let fields = [
            SH_NAME,
            SH_TYPE,
            SH_FLAGS,
            SH_ADDR,
            SH_OFFSET,
            SH_SIZE,
            SH_LINK,
            SH_INFO,
            SH_ADDRALIGN,
            SH_ENTSIZE,
        ];
        assert_eq!(
            layout(&fields),
            [
                ("sh_name", 0, 4),
                ("sh_type", 4, 4),
                ("sh_flags", 8, 8),
                ("sh_addr", 16, 8),
                ("sh_offset", 24, 8),
                ("sh_size", 32, 8),
                ("sh_link", 40, 4),
                ("sh_info", 44, 4),
                ("sh_addralign", 48, 8),
                ("sh_entsize", 56, 8),
            ]
        );
    }

    #[test]
    fn the_symbol_fields_are_the_gabis() {
        let fields = [ST_NAME, ST_INFO, ST_OTHER, ST_SHNDX, ST_VALUE, ST_SIZE];
        assert_eq!(
            layout(&fields),
            [
                ("st_name", 0, 4),
                ("st_info", 4, 1),
                ("st_other", 5, 1),
                ("st_shndx", 6, 2),
                ("st_value", 8, 8),
                ("st_size", 16, 8),
            ]
        );
    }
}
