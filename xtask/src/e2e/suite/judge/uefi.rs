//! A second kernel booted from a kernel that UEFI started: it must boot as
//! its loader's judge demands and show what it inherited through its boot
//! parameters:
//!
//! * EFI: its log's `efi: EFI v2…` and an EFI variable its `/init` read
//!   through efivarfs (GetVariable: the runtime services work); with
//!   `--noefi`, neither;
//! * ACPI: its `ACPI: RSDP` is the address passed, which lies above 1 MiB
//!   where the kernel's own search never looks (and with `--noefi` there are
//!   no EFI configuration tables either), and its `/init` lists the tables;
//! * `setup_data`: the RNG seed's node has length 0 (the kernel took the
//!   seed and wiped it), and `SETUP_EFI` is there with EFI.
//!
//! [`judge`] holds `kexec-load` to its plan (`--json`), node for node;
//! [`kexec_file`] holds Linux's own loader to the first kernel's state.

use super::common::{Expect, placed};
use super::{boot, kexec_file};
use crate::e2e::harness::qemu::Run;
use crate::e2e::suite::table::{Boot, Placement};
use crate::e2e::suite::vocabulary::plan;
use crate::e2e::suite::vocabulary::uefi::{
    ABOVE_RSDP_SCAN, EFI_ABSENT, EFI_VARIABLE, Node, efi_banner, guest_acpi_tables, guest_efi,
    guest_setup_data, kernel_log, rsdp,
};
use kexec_load::efi::SETUP_EFI_SIZE;
use kexec_load::setup_data::{SETUP_EFI, SETUP_RNG_SEED};

/// The tables every ACPI machine QEMU emulates has.
const ACPI_TABLES: &[&str] = &["APIC", "DSDT", "FACP"];

/// A run of `kexec-load` under UEFI, against its plan.
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
        .ok_or("kexec-load's plan says nothing of the boot parameters")?;
    let (_, second) = kernels(serial)?;
    if passed.firmware != "uefi" {
        return Err(format!("kexec-load saw a {} boot", passed.firmware));
    }
    if noefi != passed.efi.is_none() {
        return Err(format!(
            "--noefi {noefi}, yet the plan passes EFI: {}",
            passed.efi.is_some()
        ));
    }
    let efi = efi(serial, second, !noefi)?;
    let rsdp = passed
        .acpi_rsdp
        .as_ref()
        .ok_or("kexec-load passed no acpi_rsdp_addr")?
        .addr;
    let acpi = acpi(serial, second, rsdp)?;
    let nodes = nodes(serial, !noefi)?;
    let planned: Vec<u32> = passed.setup_data.iter().map(|n| n.type_code).collect();
    let kinds: Vec<u32> = nodes.iter().map(|n| n.kind).collect();
    if kinds != planned {
        return Err(format!(
            "the second kernel got setup_data types {kinds:x?}, the plan linked {planned:x?}"
        ));
    }
    Ok(format!(
        "{booted}; OVMF's map: {} e820 entries{}; purgatory at {:#x}; {efi}; {acpi}; {}",
        passed.e820_entries,
        passed.efi.as_ref().map_or(String::new(), |efi| format!(
            ", {} EFI runtime descriptors passed",
            efi.descriptors
        )),
        plan.purgatory.start,
        nodes_words(&nodes)
    ))
}

/// A patched kernel booted by UEFI `kexec_file_load`s itself: the second
/// kernel must have EFI and the first kernel's RSDP, which Linux's loader
/// passes (`setup_efi_state`). The patched kernels' small configuration
/// leaves ACPI's interpreter, and so its sysfs tables, failing in both
/// kernels alike, so the tables are quoted, not required.
pub fn kexec_file(run: &Run, load: kexec_file::Load<'_>, token: &str) -> Result<String, String> {
    let booted = kexec_file::boot(run, load, token)?;
    let serial = &run.serial;
    let (first, second) = kernels(serial)?;
    let rsdp = rsdp(first).ok_or("the first kernel found no ACPI RSDP")?;
    let efi = efi(serial, second, true)?;
    let acpi = rsdp_passed(second, rsdp)?;
    let nodes = nodes(serial, true)?;
    Ok(format!(
        "{booted}; Linux's kexec_file handed over EFI: {efi}; {acpi}; {}",
        nodes_words(&nodes)
    ))
}

/// The first kernel's log, which UEFI must have started, and the second's.
fn kernels(serial: &str) -> Result<(&str, &str), String> {
    let first = kernel_log(serial, 1).ok_or("no first kernel")?;
    let second = kernel_log(serial, 2).ok_or("no second kernel")?;
    efi_banner(first).ok_or("the first kernel was not booted through UEFI")?;
    Ok((first, second))
}

/// EFI in the second kernel exactly when it was passed.
fn efi(serial: &str, second: &str, passed: bool) -> Result<String, String> {
    let found = guest_efi(serial).ok_or("the second /init reported no EFI finding")?;
    match (passed, efi_banner(second)) {
        (true, Some(banner)) if found.starts_with(EFI_VARIABLE) => {
            Ok(format!("second kernel: `{banner}`, efivarfs read {found}"))
        }
        (false, None) if found.starts_with(EFI_ABSENT) => {
            Ok("the second kernel has no EFI, as --noefi asks".into())
        }
        (_, banner) => Err(format!(
            "EFI in the second kernel does not match what was passed (EFI passed: {passed}): \
             its banner {banner:?}, its /init found {found:?}"
        )),
    }
}

/// The second kernel's RSDP is `passed`, above where its own search looks.
fn rsdp_passed(second: &str, passed: u64) -> Result<String, String> {
    let used = rsdp(second).ok_or("the second kernel found no ACPI RSDP")?;
    if used != passed {
        return Err(format!(
            "the second kernel used the RSDP at {used:#x}, not the {passed:#x} passed"
        ));
    }
    if used < ABOVE_RSDP_SCAN {
        return Err(format!(
            "the RSDP at {used:#x} is where the kernel's own search looks: this shows nothing"
        ));
    }
    Ok(format!(
        "ACPI: RSDP {used:#x} as passed (above the 1 MiB the kernel searches)"
    ))
}

/// ACPI found at `passed`, which only the boot parameters could give, and
/// its tables in sysfs.
fn acpi(serial: &str, second: &str, passed: u64) -> Result<String, String> {
    let found = rsdp_passed(second, passed)?;
    let tables = guest_acpi_tables(serial).ok_or("the second /init listed no ACPI tables")?;
    if let Some(missing) = ACPI_TABLES.iter().find(|t| !tables.contains(t)) {
        return Err(format!(
            "the second kernel's ACPI has no {missing} table: {tables:?}"
        ));
    }
    Ok(format!("{found}, tables {}", tables.join(" ")))
}

/// The nodes the second kernel lists: the seed's wiped, `SETUP_EFI` whole
/// when EFI was passed.
fn nodes(serial: &str, efi: bool) -> Result<Vec<Node>, String> {
    let nodes = guest_setup_data(serial).ok_or("the second /init listed no setup_data")?;
    let seed = nodes
        .iter()
        .find(|n| n.kind == SETUP_RNG_SEED)
        .ok_or("no SETUP_RNG_SEED node reached the second kernel")?;
    if seed.len != 0 {
        return Err(format!(
            "the SETUP_RNG_SEED node still has {} bytes: the kernel did not take the seed",
            seed.len
        ));
    }
    let setup_efi = nodes.iter().find(|n| n.kind == SETUP_EFI);
    match (efi, setup_efi) {
        (true, Some(node)) if node.len == SETUP_EFI_SIZE as u64 => Ok(nodes),
        (false, None) => Ok(nodes),
        (_, node) => Err(format!(
            "EFI passed: {efi}, yet the SETUP_EFI node is {node:?}"
        )),
    }
}

fn nodes_words(nodes: &[Node]) -> String {
    format!(
        "setup_data {}: the RNG seed's node wiped by the kernel (it took the seed)",
        nodes
            .iter()
            .map(|n| format!("{:#x}/{}", n.kind, n.len))
            .collect::<Vec<_>>()
            .join(" ")
    )
}
