//! Reading and patching ELF64 little-endian images, for tests that feed a
//! checker or a kernel a purgatory broken in one exact way.
//!
//! [`Elf::parse`] reads the tables through goblin's record types and finds
//! where everything is: the program headers, the section headers by name,
//! the `.symtab` entries by name. Edits write one field of one record at its
//! offset ([`field`] names them as the gABI does), append a program header,
//! rename in place, or hand out a section's or a symbol's bytes. Every read
//! and edit of a malformed image is an [`Error`] naming what is wrong, never
//! a panic: tests break images on purpose.
//!
//! [`images`] holds the whole-image edits and readings several users share.

mod elf;
mod error;
pub mod field;
pub mod images;
mod layout;

pub use elf::{Elf, Section, Symbol};
pub use error::{Error, Result};
pub use field::Field;
/// The records and constants the API speaks in.
pub use goblin;
pub use images::{ensure_static, flat_image, header_only, two_program_headers, with_symbol_size};

#[cfg(test)]
mod tests;
