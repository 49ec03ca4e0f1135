//! Purgatories that break the contract in exactly one way, made by editing the
//! bytes of the real one with `elf_edit`, for the scenarios in which the
//! patched kernel must refuse them. Each is judged by the contract checker
//! (`cargo xtask check`) first, so a scenario knows it feeds the kernel the
//! intended fault and only that one.

use anyhow::{Result, ensure};
use purgatory_host::check;

/// Runs the contract checker on `bytes` and requires exactly the rules
/// `expected` (in order); returns the findings as one line.
pub fn confirm(bytes: &[u8], expected: &[&str]) -> Result<String> {
    let violations = check::check(bytes).map_err(|why| anyhow::anyhow!("unreadable: {why}"))?;
    let rules: Vec<_> = violations.iter().map(|v| v.rule()).collect();
    let findings = violations
        .iter()
        .map(|v| format!("[{}] {v}", v.rule()))
        .collect::<Vec<_>>()
        .join("; ");
    ensure!(
        rules == expected,
        "the checker found {rules:?} instead of {expected:?}: {findings}"
    );
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use elf_edit::{two_program_headers, with_symbol_size};
    use purgatory_host::PURGATORY_ELF;

    #[test]
    fn the_second_header_is_all_the_checker_finds() {
        let bad = two_program_headers(PURGATORY_ELF).unwrap();
        let findings = confirm(&bad, &["program-headers", "program-header-type"]).unwrap();
        assert!(findings.contains("PT_GNU_STACK"), "{findings}");
        // Everything after the ELF header (64 bytes) is untouched.
        assert_eq!(bad[64..PURGATORY_ELF.len()], PURGATORY_ELF[64..]);
    }

    #[test]
    fn a_resized_symbol_is_all_the_checker_finds() {
        let bad = with_symbol_size(PURGATORY_ELF, "entry64_regs", 128).unwrap();
        let findings = confirm(&bad, &["symbol-size"]).unwrap();
        assert!(findings.contains("entry64_regs"), "{findings}");
        assert!(with_symbol_size(PURGATORY_ELF, "no_such_symbol", 1).is_err());
    }
}
