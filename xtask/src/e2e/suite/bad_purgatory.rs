//! Purgatories that break the contract in exactly one way, made by editing the
//! bytes of the real one, for the scenarios in which the patched kernel must
//! refuse them. Each is judged by the contract checker (`cargo xtask check`)
//! first, so a scenario knows it feeds the kernel the intended fault and only
//! that one.

use anyhow::{Context, Result, bail, ensure};
use purgatory_host::check;

const E_PHOFF: usize = 0x20;
const E_SHOFF: usize = 0x28;
const E_PHENTSIZE: usize = 0x36;
const E_PHNUM: usize = 0x38;
const E_SHENTSIZE: usize = 0x3a;
const E_SHNUM: usize = 0x3c;
const SH_TYPE: usize = 0x04;
const SH_OFFSET: usize = 0x18;
const SH_SIZE: usize = 0x20;
const SH_LINK: usize = 0x28;
const ST_SIZE: usize = 0x10;
const SYM_SIZE: usize = 24;
const SHT_SYMTAB: u32 = 2;
const P_TYPE: usize = 0;
/// What a default `-pie` link adds: the usual way to get a second header.
const PT_GNU_STACK: u32 = 0x6474_e551;

fn u16_at(bytes: &[u8], at: usize) -> Result<u16> {
    let field = bytes.get(at..at + 2).context("ELF truncated")?;
    Ok(u16::from_le_bytes(field.try_into()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32> {
    let field = bytes.get(at..at + 4).context("ELF truncated")?;
    Ok(u32::from_le_bytes(field.try_into()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Result<usize> {
    let field = bytes.get(at..at + 8).context("ELF truncated")?;
    Ok(usize::try_from(u64::from_le_bytes(field.try_into()?))?)
}

fn put(bytes: &mut [u8], at: usize, value: &[u8]) {
    bytes[at..at + value.len()].copy_from_slice(value);
}

/// The purgatory with a second program header, a `PT_GNU_STACK`, after its
/// `PT_LOAD`. The new table goes at the end of the file, outside the segment,
/// so that no byte the purgatory runs changes.
pub fn two_program_headers(elf: &[u8]) -> Result<Vec<u8>> {
    let phoff = u64_at(elf, E_PHOFF)?;
    let size = usize::from(u16_at(elf, E_PHENTSIZE)?);
    ensure!(u16_at(elf, E_PHNUM)? == 1, "expected one program header");
    let load = elf
        .get(phoff..phoff + size)
        .context("program header truncated")?;
    let mut stack = load.to_vec();
    put(&mut stack, P_TYPE, &PT_GNU_STACK.to_le_bytes());
    let mut out = elf.to_vec();
    // Program headers are 8-byte aligned.
    out.resize(out.len().next_multiple_of(8), 0);
    let table = out.len() as u64;
    out.extend_from_slice(load);
    out.extend_from_slice(&stack);
    put(&mut out, E_PHOFF, &table.to_le_bytes());
    put(&mut out, E_PHNUM, &2u16.to_le_bytes());
    Ok(out)
}

/// The purgatory with `st_size` of `symbol` set to `size` in `.symtab`.
pub fn with_symbol_size(elf: &[u8], symbol: &str, size: u64) -> Result<Vec<u8>> {
    let shoff = u64_at(elf, E_SHOFF)?;
    let shentsize = usize::from(u16_at(elf, E_SHENTSIZE)?);
    let header = |index: usize| shoff + index * shentsize;
    let mut out = elf.to_vec();
    for index in 0..usize::from(u16_at(elf, E_SHNUM)?) {
        let section = header(index);
        if u32_at(elf, section + SH_TYPE)? != SHT_SYMTAB {
            continue;
        }
        let strtab = header(usize::try_from(u32_at(elf, section + SH_LINK)?)?);
        let names = u64_at(elf, strtab + SH_OFFSET)?;
        let (start, len) = (
            u64_at(elf, section + SH_OFFSET)?,
            u64_at(elf, section + SH_SIZE)?,
        );
        for entry in (start..start + len).step_by(SYM_SIZE) {
            let name_at = names + usize::try_from(u32_at(elf, entry)?)?;
            let name = elf.get(name_at..).context("symbol name outside the file")?;
            if name.split(|&b| b == 0).next() == Some(symbol.as_bytes()) {
                put(&mut out, entry + ST_SIZE, &size.to_le_bytes());
                return Ok(out);
            }
        }
    }
    bail!("no {symbol} in .symtab")
}

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
