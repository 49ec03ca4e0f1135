//! A second kernel booted from a kernel that UEFI started: it must boot as
//! [`boot`](super::boot) demands and show what it inherited through its boot
//! parameters, against what the plan (`--json`) says was passed:
//!
//! * EFI: its log's `efi: EFI v2…` and an EFI variable its `/init` read
//!   through efivarfs (GetVariable: the runtime services work); with
//!   `--noefi`, neither;
//! * ACPI: its `ACPI: RSDP` is the address passed, which lies above 1 MiB
//!   where the kernel's own search never looks (and with `--noefi` there are
//!   no EFI configuration tables either), and its `/init` lists the tables;
//! * `setup_data`: the nodes its `/init` lists are the plan's, in order, and
//!   the RNG seed's length is 0: the kernel took the seed and wiped it.

use super::boot;
use super::common::{Expect, placed};
use crate::e2e::harness::qemu::Run;
use crate::e2e::suite::table::{Boot, Placement};
use crate::e2e::suite::vocabulary::plan;
use crate::e2e::suite::vocabulary::uefi::{
    ABOVE_RSDP_SCAN, EFI_ABSENT, EFI_VARIABLE, Node, efi_banner, guest_acpi_tables, guest_efi,
    guest_setup_data, kernel_log, rsdp,
};
use kexec_load::report::boot::BootReport;
use kexec_load::setup_data::{SETUP_EFI, SETUP_RNG_SEED};

/// The tables every ACPI machine QEMU emulates has.
const ACPI_TABLES: &[&str] = &["APIC", "DSDT", "FACP"];

pub fn judge(
    run: &Run,
    placement: Placement,
    noefi: bool,
    token: &str,
    expect: &Expect,
) -> Result<String, String> {
    let booted = boot::judge(run, Boot::Verified, token, expect)?;
    let serial = &run.serial;
    let plan = plan::read(serial)?;
    placed(placement, &plan.purgatory)?;
    let passed = plan
        .boot
        .as_ref()
        .ok_or("kexec-load's plan says nothing of the boot parameters (no --json line)")?;
    let first = kernel_log(serial, 1).ok_or("no first kernel")?;
    let second = kernel_log(serial, 2).ok_or("no second kernel")?;
    if passed.firmware != "uefi" || efi_banner(first).is_none() {
        return Err(format!(
            "the first kernel was not booted through UEFI (plan: {}, EFI banner: {:?})",
            passed.firmware,
            efi_banner(first)
        ));
    }
    let efi = efi(serial, second, passed, noefi)?;
    let acpi = acpi(serial, second, passed)?;
    let seed = setup_data(serial, passed)?;
    Ok(format!(
        "{booted}; OVMF's map: {} e820 entries{}; purgatory at {:#x}; {efi}; {acpi}; {seed}",
        passed.e820_entries,
        passed.efi.as_ref().map_or(String::new(), |efi| format!(
            ", {} EFI runtime descriptors passed",
            efi.descriptors
        )),
        plan.purgatory.start
    ))
}

/// EFI in the second kernel exactly when it was passed.
fn efi(serial: &str, second: &str, passed: &BootReport, noefi: bool) -> Result<String, String> {
    let found = guest_efi(serial).ok_or("the second /init reported no EFI finding")?;
    match (noefi, &passed.efi, efi_banner(second)) {
        (false, Some(_), Some(banner)) if found.starts_with(EFI_VARIABLE) => {
            Ok(format!("second kernel: `{banner}`, efivarfs read {found}"))
        }
        (true, None, None) if found.starts_with(EFI_ABSENT) => Ok(format!(
            "--noefi: the second kernel has no EFI ({}), as asked",
            passed.efi_withheld.as_deref().unwrap_or("withheld")
        )),
        (_, efi, banner) => Err(format!(
            "EFI in the second kernel does not match the plan (--noefi {noefi}, EFI passed {}): \
             its banner {banner:?}, its /init found {found:?}",
            efi.is_some()
        )),
    }
}

/// ACPI found at the RSDP passed, which only the boot parameters could give.
fn acpi(serial: &str, second: &str, passed: &BootReport) -> Result<String, String> {
    let rsdp_passed = passed
        .acpi_rsdp
        .as_ref()
        .ok_or("kexec-load passed no acpi_rsdp_addr")?
        .addr;
    let used = rsdp(second).ok_or("the second kernel found no ACPI RSDP")?;
    if used != rsdp_passed {
        return Err(format!(
            "the second kernel used the RSDP at {used:#x}, not the {rsdp_passed:#x} passed"
        ));
    }
    if used < ABOVE_RSDP_SCAN {
        return Err(format!(
            "the RSDP at {used:#x} is where the kernel's own search looks: this shows nothing"
        ));
    }
    let tables = guest_acpi_tables(serial).ok_or("the second /init listed no ACPI tables")?;
    if let Some(missing) = ACPI_TABLES.iter().find(|t| !tables.contains(t)) {
        return Err(format!(
            "the second kernel's ACPI has no {missing} table: {tables:?}"
        ));
    }
    Ok(format!(
        "ACPI: RSDP {used:#x} as passed (above the 1 MiB the kernel searches), tables {}",
        tables.join(" ")
    ))
}

/// The chain as planned, the seed's node wiped.
fn setup_data(serial: &str, passed: &BootReport) -> Result<String, String> {
    let found = guest_setup_data(serial).ok_or("the second /init listed no setup_data")?;
    let planned: Vec<u32> = passed.setup_data.iter().map(|n| n.type_code).collect();
    let kinds: Vec<u32> = found.iter().map(|n| n.kind).collect();
    if kinds != planned {
        return Err(format!(
            "the second kernel got setup_data types {kinds:x?}, the plan linked {planned:x?}"
        ));
    }
    let seed = found
        .iter()
        .find(|n| n.kind == SETUP_RNG_SEED)
        .ok_or("no SETUP_RNG_SEED node reached the second kernel")?;
    if seed.len != 0 {
        return Err(format!(
            "the SETUP_RNG_SEED node still has {} bytes: the kernel did not take the seed",
            seed.len
        ));
    }
    if let Some(Node { len, .. }) = found.iter().find(|n| n.kind == SETUP_EFI)
        && *len != kexec_load::efi::SETUP_EFI_SIZE as u64
    {
        return Err(format!("the SETUP_EFI node has {len} bytes"));
    }
    Ok(format!(
        "setup_data {}: the RNG seed's node wiped by the kernel (it took the seed)",
        found
            .iter()
            .map(|n| format!("{:#x}/{}", n.kind, n.len))
            .collect::<Vec<_>>()
            .join(" ")
    ))
}
