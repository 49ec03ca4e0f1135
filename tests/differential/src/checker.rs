//! The checker as a judge: `purgatory-check`'s whole verdict, and the reading
//! of the tables it judged (the structural contract's own symbol lookup).

use std::collections::BTreeMap;

use purgatory_host::contract::elf::{ElfFile, read};
use purgatory_host::contract::{self, PAGE_SIZE};

use crate::verdict::{Judge, KERNEL_SYMBOLS, Reading, Verdict};

/// The checker. `structural_only` leaves out the instruction rules: what the
/// library must agree with exactly.
#[derive(Debug, Clone, Copy)]
pub struct Checker {
    /// Only the structural rules (`purgatory-host`'s), not the instruction rules.
    pub structural_only: bool,
}

impl Judge for Checker {
    fn name(&self) -> &'static str {
        if self.structural_only {
            "checker (structural rules)"
        } else {
            "checker"
        }
    }

    fn judge(&self, elf: &[u8]) -> Verdict {
        match self.findings(elf) {
            Err(why) => Verdict::Refused(format!("unreadable: {why}")),
            Ok(rules) if !rules.is_empty() => Verdict::Refused(rules.join(", ")),
            Ok(_) => reading(elf),
        }
    }
}

impl Checker {
    /// The rule of each finding on `elf`, `unreadable` for a file that is not
    /// ELF at all; empty when it passes.
    pub fn rules(&self, elf: &[u8]) -> Vec<&'static str> {
        self.findings(elf).unwrap_or_else(|_| vec!["unreadable"])
    }

    fn findings(&self, elf: &[u8]) -> Result<Vec<&'static str>, String> {
        let verdict = if self.structural_only {
            contract::check_structure(elf)
        } else {
            purgatory_check::check(elf)
        };
        verdict
            .map(|violations| violations.iter().map(|v| v.rule()).collect())
            .map_err(|why| why.to_string())
    }
}

/// What the checker judged: the PT_LOAD and the first global entry of each
/// kernel symbol.
fn reading(elf: &[u8]) -> Verdict {
    let Ok(ElfFile::Tables(tables)) = read(elf) else {
        return Verdict::Fault("a clean file no longer reads".into());
    };
    let Some(load) = tables.load_segment() else {
        return Verdict::Fault("a clean file has no PT_LOAD".into());
    };
    let mut symbols = BTreeMap::new();
    for name in KERNEL_SYMBOLS {
        let Some(symbol) = contract::global_symbol(&tables, name) else {
            return Verdict::Fault(format!("a clean file lacks `{name}`"));
        };
        symbols.insert(name, (symbol.sym.st_value, symbol.sym.st_size));
    }
    Verdict::Accepted(Reading {
        entry: tables.header.e_entry,
        file_size: load.p_filesz,
        mem_size: load.p_memsz,
        align: load.p_align.max(PAGE_SIZE),
        symbols,
    })
}
