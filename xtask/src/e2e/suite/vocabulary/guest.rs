//! What the guests print: the `/init`s' markers (the protocol crate's), the
//! register probe's findings and `kexec-file-load`'s refusal, read into
//! values.

use crate::e2e::harness::log::hex_number;
use crate::e2e::harness::qemu::ControlRegisters;
pub use e2e_protocol::protocol::{
    BIG_OK, INIT_FAIL, INIT_PASS, PROBE_CPU, PROBE_CR, PROBE_FAIL, PROBE_PASS, PROBE_PATH,
    QEMU_STATUS_FAIL, QEMU_STATUS_PASS, STAGE2,
};
use purgatory_abi::HashPath;

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

#[cfg(test)]
mod tests {
    use super::*;

    const PROBE_SERIAL: &str = "PROBE: reached the payload at 0x1000080\r\n\
        PROBE-CR: cr0=0x0000000080000033 cr4=0x0000000000001020 (cr3=0x00000001715e5000)\r\n\
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
        assert_eq!(probe_path("PROBE-PATH: avx ok"), None);
        assert_eq!(probe_sha_ni("PROBE-CPU: sha_ni maybe"), None);
    }

    #[test]
    fn the_refusal_names_the_errno() {
        let serial = "[ 1.0] x\nKEXEC-FILE-REFUSED: ENOEXEC (os error 8) \n";
        assert_eq!(refused_errno(serial), Some("ENOEXEC (os error 8)"));
        assert_eq!(refused_errno("nothing"), None);
    }
}
