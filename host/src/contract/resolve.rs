//! Finding a symbol by name as Linux's `kexec_purgatory_find_symbol` does:
//! the symbol tables in section header order, each from its first entry,
//! and the first `STB_GLOBAL` entry of that name wins. The checker judges
//! that entry and the loader patches it, so both mean the same symbol.

use goblin::elf::sym::STB_GLOBAL;

use super::elf::{SymbolEntry, Tables};

/// The entry Linux's lookup finds for `name`, defined or not.
pub fn global_symbol<'t, 'a>(tables: &'t Tables<'a>, name: &str) -> Option<&'t SymbolEntry<'a>> {
    tables
        .symbols
        .iter()
        .find(|s| s.sym.st_bind() == STB_GLOBAL && s.name == name.as_bytes())
}
