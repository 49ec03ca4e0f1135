//! The whole verdict: the structural rules `purgatory-host` shares with
//! every loader, then the instruction rules of this crate.

use purgatory_host::contract::{self, Unreadable, Violation, elf};

use crate::code;

/// Judges `bytes` against the whole contract: the structural rules, then the
/// instruction rules.
///
/// Err only when the bytes cannot be parsed as an ELF at all (bad magic,
/// truncated headers or header tables). Otherwise the list of all
/// violations, at most [`MAX_FINDINGS_PER_RULE`](contract::MAX_FINDINGS_PER_RULE) per rule and then one that
/// counts the rest; empty means the image is clean.
pub fn check(bytes: &[u8]) -> Result<Vec<Violation>, Unreadable> {
    let file = elf::read(bytes)?;
    let mut findings = contract::structural_findings(&file);
    if let elf::ElfFile::Tables(tables) = &file {
        code::check_code(tables, &mut findings);
    }
    Ok(findings.finish())
}
