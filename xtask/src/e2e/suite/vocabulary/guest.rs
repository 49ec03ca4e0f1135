//! What the guests print: the `/init`s' markers (the protocol crate's), the
//! register probe's findings, `kexec-file-load`'s refusal and what a KHO
//! run's `/init`s saw of KHO, read into values.

use crate::e2e::harness::log::hex_number;
use crate::e2e::harness::qemu::ControlRegisters;
pub use e2e_protocol::kho::{IN as KHO_IN, OUT as KHO_OUT, TEST_SUBTREE as KHO_TEST_SUBTREE};
use e2e_protocol::kho::{SCRATCH, SUBTREES};
pub use e2e_protocol::protocol::{
    BIG_OK, INIT_FAIL, INIT_PASS, PROBE_CPU, PROBE_CR, PROBE_FAIL, PROBE_GDT, PROBE_IDT,
    PROBE_PASS, PROBE_PATH, QEMU_STATUS_FAIL, QEMU_STATUS_PASS, STAGE2,
};
use purgatory_abi::HashPath;
use std::ops::Range;

/// The stage-1 `/init`'s line before it runs the loader.
pub const STAGE1: &str = "E2E-STAGE1";
/// The probe's first line.
pub const PROBE_REACHED: &str = "PROBE: reached";
/// The probe's lines with the XMM registers.
pub const PROBE_XMM: &str = "PROBE: xmm";
/// `kexec-file-load`'s line when the syscall fails: `KEXEC-FILE-REFUSED: <errno>`.
pub const REFUSED: &str = "KEXEC-FILE-REFUSED";

/// What the second `/init` prints for the marker `token`.
pub fn stage2_marker(token: &str) -> String {
    format!("{STAGE2} marker={token}")
}

/// The errno `kexec-file-load` reported.
pub fn refused_errno(serial: &str) -> Option<&str> {
    serial.lines().find_map(|line| {
        line.split_once(&format!("{REFUSED}: "))
            .map(|(_, errno)| errno.trim())
    })
}

/// The value after `key` on the first line starting with `marker`.
fn probe_field<'a>(serial: &'a str, marker: &str, key: &str) -> Option<&'a str> {
    serial.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(marker)?;
        let at = rest.find(key)? + key.len();
        rest[at..].split_whitespace().next()
    })
}

/// The hash path the probe found in the XMM registers (`PROBE-PATH: sha-ni ok`).
pub fn probe_path(serial: &str) -> Option<HashPath> {
    serial.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(PROBE_PATH)?;
        HashPath::from_name(rest.split_whitespace().next()?)
    })
}

/// Whether the probe's CPUID showed SHA-NI (`PROBE-CPU: sha_ni present|absent`).
pub fn probe_sha_ni(serial: &str) -> Option<bool> {
    match probe_field(serial, PROBE_CPU, "sha_ni ") {
        Some("present") => Some(true),
        Some("absent") => Some(false),
        _ => None,
    }
}

/// CR0 and CR4 at the probe's entry (`PROBE-CR: cr0=0x… cr4=0x…`).
pub fn probe_cr(serial: &str) -> Option<ControlRegisters> {
    Some(ControlRegisters {
        cr0: hex_number(probe_field(serial, PROBE_CR, "cr0=")?)?,
        cr4: hex_number(probe_field(serial, PROBE_CR, "cr4=")?)?,
    })
}

/// A descriptor-table register as the probe found it at its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableRegister {
    pub base: u64,
    pub limit: u64,
}

/// The GDTR (`marker` [`PROBE_GDT`]) or IDTR ([`PROBE_IDT`]) the probe
/// reported: `PROBE-GDT: base=0x… limit=0x… ok (…)`.
pub fn probe_table(serial: &str, marker: &str) -> Option<TableRegister> {
    Some(TableRegister {
        base: hex_number(probe_field(serial, marker, "base=")?)?,
        limit: hex_number(probe_field(serial, marker, "limit=")?)?,
    })
}

/// What a KHO run's stage-1 `/init` saw before the kexec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KhoOut<'a> {
    /// KHO's scratch areas.
    pub scratch: Vec<Range<u64>>,
    /// The subtrees the first kernel hands over.
    pub subtrees: Vec<&'a str>,
}

/// The value after `key` on the first line with `marker`.
fn field<'a>(serial: &'a str, marker: &str, key: &str) -> Option<&'a str> {
    serial.lines().find_map(|line| {
        let rest = line.split_once(marker)?.1;
        let at = rest.find(key)? + key.len();
        Some(rest[at..].split_whitespace().next().unwrap_or_default())
    })
}

/// Stage 1's `E2E-KHO-OUT` line.
pub fn kho_out(serial: &str) -> Option<KhoOut<'_>> {
    let scratch = field(serial, KHO_OUT, SCRATCH)?
        .split(',')
        .map(|area| {
            let (start, len) = area.split_once('+')?;
            let start = hex_number(start)?;
            Some(start..start.checked_add(hex_number(len)?)?)
        })
        .collect::<Option<Vec<_>>>()?;
    let subtrees = list(field(serial, KHO_OUT, SUBTREES)?);
    Some(KhoOut { scratch, subtrees })
}

/// The subtrees stage 2's `E2E-KHO-IN` line names.
pub fn kho_in(serial: &str) -> Option<Vec<&str>> {
    field(serial, KHO_IN, SUBTREES).map(list)
}

fn list(names: &str) -> Vec<&str> {
    names.split(',').filter(|name| !name.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBE_SERIAL: &str = "PROBE: reached the payload at 0x1000080\r\n\
        PROBE-CR: cr0=0x0000000080000033 cr4=0x0000000000001020 (cr3=0x00000001715e5000)\r\n\
        PROBE-GDT: base=0x0000800000001000 limit=0x000000000000001f ok (inside the purgatory image)\r\n\
        PROBE-IDT: base=0x0000000000000000 limit=0x0000000000000000 ok (null, as the kexec left it)\r\n\
        PROBE-CPU: sha_ni present (CPUID SHA=1 SSSE3=1 SSE4.1=1)\r\n\
        PROBE-PATH: sha-ni ok\r\n";

    #[test]
    fn the_probes_findings_are_read() {
        assert_eq!(probe_path(PROBE_SERIAL), Some(HashPath::ShaNi));
        assert_eq!(probe_sha_ni(PROBE_SERIAL), Some(true));
        assert_eq!(
            probe_cr(PROBE_SERIAL),
            Some(ControlRegisters {
                cr0: 0x8000_0033,
                cr4: 0x1020
            })
        );
        assert_eq!(
            probe_table(PROBE_SERIAL, PROBE_GDT),
            Some(TableRegister {
                base: 0x8000_0000_1000,
                limit: 0x1f
            })
        );
        assert_eq!(
            probe_table(PROBE_SERIAL, PROBE_IDT),
            Some(TableRegister { base: 0, limit: 0 })
        );
        assert_eq!(probe_table("PROBE-IDT: base=0x1", PROBE_IDT), None);
        assert_eq!(probe_path("PROBE-PATH: avx ok"), None);
        assert_eq!(probe_sha_ni("PROBE-CPU: sha_ni maybe"), None);
    }

    #[test]
    fn the_kho_lines_are_read() {
        let serial = "E2E-KHO-OUT: scratch=0x1000000+0x2000000,0x40000000+0x8000000 subtrees=kho_test\r\n\
            E2E-KHO-IN: subtrees=kexec-metadata,kho_test\r\n";
        let out = kho_out(serial).unwrap();
        assert_eq!(
            out.scratch,
            [0x100_0000..0x300_0000, 0x4000_0000..0x4800_0000]
        );
        assert_eq!(out.subtrees, ["kho_test"]);
        assert_eq!(kho_in(serial), Some(vec!["kexec-metadata", "kho_test"]));
        assert_eq!(kho_in("E2E-KHO-IN: subtrees=\n"), Some(vec![]));
        assert_eq!(kho_out("E2E-KHO-OUT: scratch=0x1+zz subtrees=a"), None);
        assert_eq!(kho_out("nothing"), None);
    }

    #[test]
    fn the_refusal_names_the_errno() {
        let serial = "[ 1.0] x\nKEXEC-FILE-REFUSED: ENOEXEC (os error 8) \n";
        assert_eq!(refused_errno(serial), Some("ENOEXEC (os error 8)"));
        assert_eq!(refused_errno("nothing"), None);
    }
}
