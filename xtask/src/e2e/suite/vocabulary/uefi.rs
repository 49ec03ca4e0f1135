//! What a UEFI run shows: the kernels' EFI and ACPI lines, the second
//! `/init`'s report of what its kernel inherited (`e2e.uefi`), and how the
//! stage-1 `/init` reports `kexec-load`'s refusal under lockdown.

use super::linux::BANNER;
use crate::e2e::harness::log::{hex_after, hex_number};
use e2e_protocol::protocol::{ACPI_LINE, EFI_LINE, SETUP_DATA_LINE};
use kexec_load::lockdown::LockedDown;

/// Every kernel started through UEFI, or handed EFI by a kexec, says this
/// early (`efi: EFI v2.7 by EDK II`).
pub const EFI_BANNER: &str = "efi: EFI v";
/// The RSDP ACPI used (`ACPI: RSDP 0x000000007FB7E014 000024 (v02 BOCHS )`).
pub const ACPI_RSDP: &str = "ACPI: RSDP";
/// Printed by a locked-down kernel when something calls `kexec_load`.
pub const KEXEC_LOCKED_OUT: &str = "kexec of unsigned images is restricted";
/// Printed by a kernel locked down from its command line.
pub const LOCKED_DOWN_FROM: &str = "Kernel is locked down from";
/// How `kexec-load` starts an error on stderr (the lockdown refusal).
pub const LOADER_ERROR: &str = "kexec-load: error:";
/// The guest's efivarfs finding when it read a variable.
pub const EFI_VARIABLE: &str = "variable ";
/// The efivarfs finding when the kernel has no EFI.
pub const EFI_ABSENT: &str = "absent";
/// The lowest address the kernel's RSDP search never reaches: it scans
/// the EBDA and 0xE0000..0xFFFFF, all below 1 MiB.
pub const ABOVE_RSDP_SCAN: u64 = 0x10_0000;

/// The log of the `n`th kernel (1: the first), from its banner to the next.
pub fn kernel_log(serial: &str, n: usize) -> Option<&str> {
    let mut starts = serial.match_indices(BANNER).map(|(at, _)| at);
    let start = starts.nth(n.checked_sub(1)?)?;
    let end = starts.next().unwrap_or(serial.len());
    serial.get(start..end)
}

/// The EFI banner's line in `log`.
pub fn efi_banner(log: &str) -> Option<&str> {
    line_from(log, EFI_BANNER)
}

/// The RSDP `log`'s kernel used.
pub fn rsdp(log: &str) -> Option<u64> {
    hex_after(log, ACPI_RSDP)
}

/// The text from `key` to the end of its line.
fn line_from<'a>(log: &'a str, key: &str) -> Option<&'a str> {
    log.lines()
        .find_map(|line| line.find(key).map(|at| line[at..].trim_end()))
}

/// What the guest wrote after `marker`.
fn guest_line<'a>(serial: &'a str, marker: &str) -> Option<&'a str> {
    serial.lines().find_map(|line| {
        let (_, rest) = line.split_once(marker)?;
        Some(rest.trim())
    })
}

/// The second `/init`'s efivarfs finding.
pub fn guest_efi(serial: &str) -> Option<&str> {
    guest_line(serial, EFI_LINE)
}

/// The ACPI tables the second `/init` found.
pub fn guest_acpi_tables(serial: &str) -> Option<Vec<&str>> {
    let tables = guest_line(serial, ACPI_LINE)?.strip_prefix("tables")?;
    Some(tables.split_whitespace().collect())
}

/// One `setup_data` node as the second kernel shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub kind: u32,
    /// Its `len` now: the kernel zeroes an RNG seed's once it took it.
    pub len: u64,
}

/// The nodes the second `/init` listed (`0x4/96 0x9/0`).
pub fn guest_setup_data(serial: &str) -> Option<Vec<Node>> {
    guest_line(serial, SETUP_DATA_LINE)?
        .split_whitespace()
        .map(|node| {
            let (kind, len) = node.split_once('/')?;
            Some(Node {
                kind: u32::try_from(hex_number(kind)?).ok()?,
                len: len.parse().ok()?,
            })
        })
        .collect()
}

/// `kexec-load`'s refusal on a kernel locked down at `level`, as it words it.
pub fn refusal(level: &str) -> String {
    LockedDown {
        level: level.to_owned(),
    }
    .to_string()
}

/// How the stage-1 `/init` reports a loader that exited with `status`.
pub fn loader_exited(status: u8) -> String {
    format!("returned (exit status: {status})")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL: &str = "[    0.0] Linux version 6.12 (first)\r\n\
        [    0.0] efi: EFI v2.7 by EDK II\r\n\
        [    0.0] ACPI: RSDP 0x000000007FB7E014 000024 (v02 BOCHS )\r\n\
        [    0.0] Linux version 6.12 (second)\r\n\
        [    0.0] ACPI: RSDP 0x000000007FB7E014 000024 (v02 BOCHS )\r\n\
        E2E-EFI: variable PlatformLangCodes-8be4df61-93ca-11d2-aa0d-00e098032b8c: attributes 0x6, 6 bytes: \"en-US\" (31 variables)\r\n\
        E2E-ACPI: tables APIC DSDT FACP FACS WAET\r\n\
        E2E-SETUP-DATA: 0x4/96 0x9/0\r\n";

    #[test]
    fn the_second_kernel_and_its_report() {
        let first = kernel_log(SERIAL, 1).unwrap();
        let second = kernel_log(SERIAL, 2).unwrap();
        assert_eq!(efi_banner(first), Some("efi: EFI v2.7 by EDK II"));
        assert_eq!(efi_banner(second), None);
        assert_eq!(rsdp(second), Some(0x7fb7_e014));
        assert!(kernel_log(SERIAL, 3).is_none() && kernel_log(SERIAL, 0).is_none());
        assert!(guest_efi(SERIAL).unwrap().starts_with(EFI_VARIABLE));
        assert_eq!(
            guest_acpi_tables(SERIAL).unwrap(),
            ["APIC", "DSDT", "FACP", "FACS", "WAET"]
        );
        assert_eq!(
            guest_setup_data(SERIAL).unwrap(),
            [Node { kind: 4, len: 96 }, Node { kind: 9, len: 0 }]
        );
        assert_eq!(guest_setup_data("E2E-SETUP-DATA: 0x9/?\n"), None);
    }

    #[test]
    fn the_refusal_is_the_tool_s_own_text() {
        let text = refusal("integrity");
        assert!(text.contains("locked down (integrity)"), "{text}");
        assert_eq!(loader_exited(3), "returned (exit status: 3)");
    }
}
