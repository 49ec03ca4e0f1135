//! The ELF contract checker: judges a purgatory image against what the
//! ET_DYN kexec loader needs (one PT_LOAD at offset 0, no relocations, the
//! patched symbols in `.symtab` with exact sizes) and against the CPU state
//! the purgatory runs in (no SSE/x87 state, interrupts off, the kexec page
//! tables kept).
//!
//! [`check`] reads the tables itself, with goblin's structure definitions,
//! instead of trusting `goblin::elf::Elf::parse`: that way a structural
//! defect becomes a located [`Violation`] rather than an opaque parse
//! error, no allocation is sized by an unchecked count, and goblin's lenient
//! fallbacks (an empty string table for a bad `sh_link`, the last of several
//! symbol tables) cannot hide what a kernel loader would trip over.
//!
//! One module per concern: `elf` reads the tables, `layout` judges the
//! headers, the segment and the sections, `symbols` the symbol tables and
//! the contract symbols, `code` the instructions; `violation` says what is
//! wrong and where.

mod code;
mod elf;
mod layout;
mod symbols;
mod violation;

use std::collections::BTreeMap;
use std::fmt;

pub use violation::{InstructionSite, SectionProblem, Violation};

/// Findings listed per rule before the rest is summarised, so garbage input
/// cannot produce millions of lines.
pub const MAX_FINDINGS_PER_RULE: usize = 20;

/// The most memory a purgatory image may need (`p_memsz`): ours needs a few
/// pages, and every loader allocates this much for it.
pub const MAX_SEGMENT_SIZE: u64 = 16 << 20;

/// Judge `bytes` against the contract.
///
/// Err only when the bytes cannot be parsed as an ELF at all (bad magic,
/// truncated headers or header tables). Otherwise the list of all
/// violations; empty means the image is clean.
pub fn check(bytes: &[u8]) -> Result<Vec<Violation>, Unreadable> {
    let mut out = Findings::default();
    match elf::read(bytes)? {
        // Not ELF64 little-endian: the remaining rules cannot be read.
        elf::Elf::Foreign {
            class,
            data,
            header,
        } => {
            layout::check_ident(class, data, &mut out);
            if let Some(header) = &header {
                layout::check_header(header, &mut out);
            }
        }
        elf::Elf::Image(image) => {
            layout::check_header(&image.header, &mut out);
            let segment = layout::check_program_headers(&image, &mut out);
            layout::check_sections(&image, segment, &mut out);
            layout::check_dynamic(&image, &mut out);
            symbols::check_symtabs(&image, &mut out);
            symbols::check_symbol_names(&image, &mut out);
            symbols::check_contract_symbols(&image, segment, &mut out);
            code::check_code(&image, &mut out);
        }
    }
    Ok(out.finish())
}

/// Why a file could not be read as an ELF at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    message: String,
}

impl Unreadable {
    /// An unreadable verdict with the reason, for callers that parse further.
    pub fn new(message: String) -> Self {
        Self { message }
    }

    /// The reason, as a sentence fragment.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Unreadable {}

/// Where a finding is, as far as it can be located.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// Section name.
    pub section: Option<String>,
    /// Symbol name: the symbol at fault, or the function containing the instruction.
    pub symbol: Option<String>,
    /// Virtual address (equal to the file offset in a correct image).
    pub address: Option<u64>,
    /// The instruction, in Intel syntax.
    pub instruction: Option<String>,
}

/// The findings so far, with at most [`MAX_FINDINGS_PER_RULE`] per rule.
#[derive(Default)]
struct Findings {
    list: Vec<Violation>,
    counts: BTreeMap<&'static str, usize>,
}

impl Findings {
    fn push(&mut self, violation: Violation) {
        self.push_with(violation.rule(), || violation);
    }

    /// Counts a finding of `rule` and lists the one `make` builds while the
    /// rule is under its limit; past it, the finding is not even built.
    fn push_with(&mut self, rule: &'static str, make: impl FnOnce() -> Violation) {
        let count = self.counts.entry(rule).or_default();
        *count = count.saturating_add(1);
        if *count <= MAX_FINDINGS_PER_RULE {
            self.list.push(make());
        }
    }

    fn finish(mut self) -> Vec<Violation> {
        for (rule, count) in self.counts {
            if let Some(omitted) = count.checked_sub(MAX_FINDINGS_PER_RULE).filter(|&n| n > 0) {
                self.list.push(Violation::MoreFindings { rule, omitted });
            }
        }
        self.list
    }
}
