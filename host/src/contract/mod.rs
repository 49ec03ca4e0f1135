//! The structural contract: what a loader needs of a purgatory file (one
//! PT_LOAD at offset 0 and address 0, nothing to relocate or link, the
//! contract symbols in `.symtab`, where and as large as the loaders expect).
//! One implementation serves every judge: [`Image::parse`](crate::image::Image::parse)
//! refuses what it refuses and resolves symbols as it does, and
//! `purgatory-check` runs it before its instruction rules.
//!
//! [`elf::read`] reads the tables itself, with goblin's structure
//! definitions, instead of trusting `goblin::elf::Elf::parse`: that way a
//! structural defect becomes a located [`Violation`] rather than an opaque
//! parse error, no allocation is sized by an unchecked count, and goblin's
//! lenient fallbacks (an empty string table for a bad `sh_link`, the last of
//! several symbol tables) cannot hide what a kernel loader would trip over.
//!
//! One module per concern: `elf` reads the tables, `layout` judges the
//! headers, the segment and the sections, `symbols` the symbol tables and
//! the contract symbols, found as the kernel finds them (`resolve`);
//! `violation` says what is wrong and where, `findings` collects it.

pub mod elf;
mod findings;
mod layout;
mod limits;
mod resolve;
mod symbols;
mod unreadable;
mod violation;

use alloc::vec::Vec;

pub use findings::Findings;
pub use limits::{
    ADDRESS_LIMIT, MAX_FINDINGS_PER_RULE, MAX_SEGMENT_ALIGN, MAX_SEGMENT_SIZE, MAX_ZERO_TAIL,
    PAGE_SIZE,
};
pub use resolve::global_symbol;
pub use unreadable::Unreadable;
pub use violation::{InstructionSite, Location, SectionProblem, Violation};

/// Judges `bytes` against the structural rules.
///
/// Err only when the bytes cannot be parsed as an ELF at all (bad magic,
/// truncated headers or header tables). Otherwise every structural
/// violation; empty means a loader can use the file. The instruction rules
/// are `purgatory-check`'s.
///
/// ```
/// use purgatory_host::{PURGATORY_ELF, contract};
///
/// assert_eq!(contract::check_structure(PURGATORY_ELF), Ok(vec![]));
///
/// let mut elf = PURGATORY_ELF.to_vec();
/// elf[16] = 1; // e_type: ET_REL, a partially linked object
/// let verdict = contract::check_structure(&elf).unwrap();
/// assert_eq!(verdict, [contract::Violation::ElfType { e_type: 1 }]);
/// assert!(verdict[0].to_string().starts_with("e_type is ET_REL (1), expected ET_DYN"));
/// ```
pub fn check_structure(bytes: &[u8]) -> Result<Vec<Violation>, Unreadable> {
    Ok(structural_findings(&elf::read(bytes)?).finish())
}

/// The structural rules' findings on a file already read, for a caller that
/// adds rules of its own before [`Findings::finish`].
pub fn structural_findings(file: &elf::ElfFile<'_>) -> Findings {
    let mut out = Findings::default();
    match file {
        // Not ELF64 little-endian: the remaining rules cannot be read.
        elf::ElfFile::Foreign {
            class,
            data,
            header,
        } => {
            layout::check_ident(*class, *data, &mut out);
            if let Some(header) = header {
                layout::check_header(header, &mut out);
            }
        }
        elf::ElfFile::Tables(tables) => {
            layout::check_header(&tables.header, &mut out);
            let segment = layout::check_program_headers(tables, &mut out);
            layout::check_sections(tables, &mut out);
            layout::check_dynamic(tables, &mut out);
            symbols::check_symtabs(tables, &mut out);
            symbols::check_symbol_names(tables, &mut out);
            symbols::check_contract_symbols(tables, segment, &mut out);
        }
    }
    out
}
