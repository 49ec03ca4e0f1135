//! What a judge says about a file, and the seam every judge implements.

use std::collections::BTreeMap;

use purgatory_abi::{
    ENTRY64_REGS_SYMBOL, SHA_REGIONS_SYMBOL, SHA256_DIGEST_SYMBOL, STACK_END_SYMBOL,
};

/// The symbols Linux's `kexec_file_load` reads or writes: the digest's two,
/// the registers, and the stack for the next kernel.
pub const KERNEL_SYMBOLS: [&str; 4] = [
    SHA_REGIONS_SYMBOL,
    SHA256_DIGEST_SYMBOL,
    ENTRY64_REGS_SYMBOL,
    STACK_END_SYMBOL,
];

/// One judge's verdict on one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Usable, and read this way.
    Accepted(Reading),
    /// Refused, and why.
    Refused(String),
    /// The judge itself went wrong: it would read out of bounds, or it
    /// contradicts itself. Always a finding.
    Fault(String),
}

/// How a loader reads an accepted file: what it copies and patches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// `e_entry`: the entry's offset from the load address.
    pub entry: u64,
    /// The bytes copied from the file (`p_filesz`).
    pub file_size: u64,
    /// The memory the segment takes (`p_memsz`).
    pub mem_size: u64,
    /// The load address's alignment (`max(p_align, 4096)`).
    pub align: u64,
    /// Each of [`KERNEL_SYMBOLS`]: its offset from the load address and size.
    pub symbols: BTreeMap<&'static str, (u64, u64)>,
}

/// A judge of purgatory files.
pub trait Judge {
    /// Its name in a disagreement.
    fn name(&self) -> &'static str;
    /// Its verdict on `elf`.
    fn judge(&self, elf: &[u8]) -> Verdict;
}
