//! The purgatory contract checker: judges an ELF file against everything the
//! kexec purgatory must be. First the structural rules a loader relies on
//! (one PT_LOAD at offset 0 and address 0, nothing to relocate, the contract
//! symbols where and as large as the loaders expect), which are
//! `purgatory-host`'s own ([`purgatory_host::contract`]), so a file this
//! checker passes is one every loader built on that crate accepts and reads
//! the same way. Then the instruction rules, which need a disassembler
//! (iced-x86) and so are kept out of the loader: no SIMD outside
//! `.text.simd` and none of it reachable before SSE is on, no `sti`, no CR3
//! write, no FS/GS operand, no link-time address, no branch out of the code.
//!
//! `cargo xtask build` runs it on every image it builds, so the image
//! `purgatory-host` embeds has passed it; a loader only re-runs the
//! structural rules.
//!
//! ```
//! use purgatory_check::{check, Violation};
//!
//! // The purgatory `purgatory-host` embeds meets the whole contract.
//! assert_eq!(check(purgatory_host::PURGATORY_ELF), Ok(vec![]));
//!
//! // An `sti` written over its first instruction does not.
//! let mut elf = purgatory_host::PURGATORY_ELF.to_vec();
//! let image = purgatory_host::Image::parse(purgatory_host::PURGATORY_ELF).unwrap();
//! elf[image.entry() as usize] = 0xfb;
//! let verdict = check(&elf).unwrap();
//! assert!(verdict.iter().any(|v| matches!(v, Violation::Sti { .. })), "{verdict:?}");
//! ```
//!
//! With the `cli` feature (default), [`report`] renders a verdict as the
//! `purgatory-check` binary and `cargo xtask check` print it.
#![warn(missing_docs)]

mod check;
mod code;
mod context;
mod decode;
mod reachability;
#[cfg(feature = "cli")]
pub mod report;
mod scan;
mod simd;

pub use check::check;
pub use purgatory_host::contract::{
    InstructionSite, Location, MAX_FINDINGS_PER_RULE, SectionProblem, Unreadable, Violation,
};
pub use scan::simd_instructions;
