//! The UEFI judges on made-up runs: the plan as `kexec-load --json` prints
//! it, the kernels' EFI and ACPI lines and the second `/init`'s report.

use super::{JUMP, SHA_NI, console_lines, run};
use crate::e2e::harness::qemu::Ending;
use crate::e2e::suite::judge::{lockdown, uefi};
use crate::e2e::suite::table::Placement;
use crate::e2e::suite::vocabulary::guest::{QEMU_STATUS_FAIL, QEMU_STATUS_PASS};
use crate::e2e::suite::vocabulary::plan;
use crate::e2e::suite::vocabulary::uefi::refusal;
use kexec_load::console::Console;
use kexec_load::layout::Policy;
use kexec_load::report::boot::{BootReport, EfiReport, RsdpReport, SetupDataReport};
use kexec_load::report::{DigestReport, HashChoice, PlanReport, PurgatoryReport, SegmentReport};
use purgatory::report;
use purgatory_abi::{Entry64Regs, FailurePolicy, HashPath, KERNEL_ENTRY64_OFFSET};

const RSDP: u64 = 0xbf77_d014;
const PURGATORY: u64 = 0x1_bfe5_b000;
const EFI_LINE: &str = "E2E-EFI: variable PlatformLangCodes-8be4df61-93ca-11d2-aa0d-00e098032b8c: \
                        attributes 0x6, 18 bytes: \"en;fr;en-US;fr-FR\" (26 variables)\n";
const ACPI_LINE: &str = "E2E-ACPI: tables APIC DSDT FACP FACS HPET WAET\n";

fn segment(index: usize, name: &str, start: u64, mem_size: u64, verified: bool) -> SegmentReport {
    SegmentReport {
        index,
        name: name.into(),
        start,
        end: start + mem_size,
        mem_size,
        bytes: mem_size,
        verified,
        sha256: None,
    }
}

fn node(kind: &str, type_code: u32, addr: u64, len: u32) -> SetupDataReport {
    SetupDataReport {
        kind: kind.into(),
        type_code,
        addr,
        len,
    }
}

/// What a UEFI boot hands over; without EFI for `--noefi`.
fn boot_report(noefi: bool) -> BootReport {
    let efi = EfiReport {
        loader_signature: "EL64".into(),
        systab: 0xbf5e_e018,
        memmap: 0x1_1080,
        memmap_size: 288,
        memdesc_size: 48,
        memdesc_version: 1,
        descriptors: 6,
        fw_vendor: 0xbf52_0098,
        runtime: 0xbf5e_eb98,
        config_table: 0xbf5e_ec98,
        smbios: 0xbf52_0000,
        secure_boot: 2,
    };
    let mut setup_data = vec![node("SETUP_RNG_SEED", 9, 0x1_1110, 32)];
    if !noefi {
        setup_data.insert(0, node("SETUP_EFI", 4, 0x1_10a0, 96));
    }
    BootReport {
        firmware: "uefi".into(),
        efi: (!noefi).then_some(efi),
        efi_withheld: noefi.then(|| "--noefi".into()),
        acpi_rsdp: Some(RsdpReport {
            addr: RSDP,
            source: "the EFI configuration table (firmware/efi/systab)".into(),
        }),
        e820_entries: 16,
        e820_in_zero_page: 16,
        setup_data,
    }
}

fn plan_line(boot: BootReport) -> String {
    PlanReport {
        what: "bzImage".into(),
        segments: vec![
            segment(0, "kernel", 0x100_0000, 0x37e_e000, true),
            segment(1, "boot-params", 0x1_0000, 0x2000, true),
            segment(2, "purgatory", PURGATORY, 0xa000, false),
        ],
        digest: DigestReport {
            sha256: "0".repeat(64),
            regions: 2,
            bytes: 0x37f_0000,
        },
        purgatory: PurgatoryReport {
            start: PURGATORY,
            end: PURGATORY + 0x9d90,
            size: 0x9d90,
            entry: PURGATORY + 0x3c0,
            placement: Policy::Highest { max_end: u64::MAX },
        },
        entry_regs: Entry64Regs::default(),
        purgatory_flags: 0,
        hash: HashChoice {
            path: HashPath::ShaNi,
            why: "the CPU has SHA, SSSE3 and SSE4.1".into(),
        },
        console: Console {
            port: Some(0x3f8),
            why: "ttyS0".into(),
        },
        on_failure: FailurePolicy::Halt,
        corruption: None,
        test_region: None,
        crash: None,
        boot: Some(boot),
        notes: Vec::new(),
        warnings: Vec::new(),
    }
    .to_line()
    .unwrap()
}

/// A run booted through UEFI whose second kernel logged `second` and whose
/// `/init` reported `setup_data` and `efi`.
fn uefi_run(
    noefi: bool,
    second: &str,
    efi: &str,
    setup_data: &str,
) -> crate::e2e::harness::qemu::Run {
    let line = plan_line(boot_report(noefi));
    let plan = plan::read(&line).unwrap();
    let regions = plan.regions().unwrap();
    let covered = plan.covered();
    let target = 0x100_0000 + KERNEL_ENTRY64_OFFSET;
    let console = console_lines(&[
        &|out| report::started(out, &regions, HashPath::ShaNi),
        &|out| report::verified(out, true, covered, 777),
        &|out| report::jumping(out, target),
    ]);
    let serial = format!(
        "[    0.0] Linux version 6.12\n[    0.0] efi: EFI v2.7 by EDK II\n{line}\n{JUMP}{console}\
         [    0.0] Linux version 6.12\n[    0.0] Command line: console=ttyS0 e2e.marker=t\n{second}\
         E2E-STAGE2 marker=t\n{efi}{ACPI_LINE}E2E-SETUP-DATA: {setup_data}\nE2E-PASS\n"
    );
    run(serial, Ending::Exited(Some(QEMU_STATUS_PASS)))
}

const SECOND_EFI: &str = "[    0.0] efi: EFI v2.7 by EDK II\n\
    [    0.0] ACPI: RSDP 0x00000000BF77D014 000024 (v02 BOCHS )\n";
const SECOND_NOEFI: &str = "[    0.0] ACPI: RSDP 0x00000000BF77D014 000024 (v02 BOCHS )\n";

#[test]
fn a_second_kernel_with_efi_acpi_and_the_seed_passes() {
    let good = uefi_run(false, SECOND_EFI, EFI_LINE, "0x4/96 0x9/0");
    let said = uefi::judge(&good, Placement::Above4G, false, "t", &SHA_NI).unwrap();
    for needle in [
        "16 e820 entries, 6 EFI runtime descriptors",
        "efivarfs read variable PlatformLangCodes",
        "RSDP 0xbf77d014 as passed",
        "the RNG seed's node wiped",
    ] {
        assert!(said.contains(needle), "{needle:?} missing: {said}");
    }
    let why = uefi::judge(&good, Placement::Low, false, "t", &SHA_NI).unwrap_err();
    assert!(why.contains("not where Low asks"), "{why}");
}

#[test]
fn what_the_second_kernel_did_not_get_is_named() {
    let cases = [
        (
            uefi_run(false, SECOND_EFI, EFI_LINE, "0x4/96 0x9/32"),
            "did not take the seed",
        ),
        (
            uefi_run(false, SECOND_EFI, EFI_LINE, "0x9/0"),
            "SETUP_EFI node is None",
        ),
        (
            uefi_run(false, SECOND_EFI, EFI_LINE, "0x9/0 0x4/96"),
            "the plan linked",
        ),
        (
            uefi_run(false, SECOND_NOEFI, EFI_LINE, "0x4/96 0x9/0"),
            "does not match what was passed",
        ),
        (
            uefi_run(
                false,
                SECOND_EFI,
                "E2E-EFI: broken: cannot mount\n",
                "0x4/96 0x9/0",
            ),
            "does not match what was passed",
        ),
        (
            uefi_run(
                false,
                &SECOND_EFI.replace("BF77D014", "000F5A40"),
                EFI_LINE,
                "0x4/96 0x9/0",
            ),
            "not the 0xbf77d014 passed",
        ),
    ];
    for (run, needle) in cases {
        let why = uefi::judge(&run, Placement::Above4G, false, "t", &SHA_NI).unwrap_err();
        assert!(why.contains(needle), "{needle:?} missing: {why}");
    }
}

#[test]
fn noefi_means_acpi_without_efi() {
    let absent = "E2E-EFI: absent (/sys/firmware/efi does not exist)\n";
    let good = uefi_run(true, SECOND_NOEFI, absent, "0x9/0");
    let said = uefi::judge(&good, Placement::Above4G, true, "t", &SHA_NI).unwrap();
    assert!(said.contains("no EFI, as --noefi asks"), "{said}");
    let efi_anyway = uefi_run(true, SECOND_EFI, absent, "0x9/0");
    assert!(uefi::judge(&efi_anyway, Placement::Above4G, true, "t", &SHA_NI).is_err());
}

#[test]
fn lockdown_must_be_refused_by_the_tool_not_the_kernel() {
    let serial = format!(
        "[    0.0] Kernel is locked down from command line; see man kernel_lockdown.7\n\
         [    0.0] efi: EFI v2.7 by EDK II\n\
         kexec-load: error: {}\n\
         E2E-FAIL: /bin/kexec-load returned (exit status: 3) instead of rebooting into the new image\n",
        refusal("integrity")
    );
    let said = lockdown::judge(&run(serial.clone(), Ending::Exited(Some(0)))).unwrap();
    assert!(said.contains("returned (exit status: 3)"), "{said}");
    let tried = format!(
        "{serial}[    4.4] Lockdown: kexec-load: kexec of unsigned images is restricted; see man kernel_lockdown.7\n"
    );
    let why = lockdown::judge(&run(tried, Ending::Exited(Some(0)))).unwrap_err();
    assert!(
        why.contains("the kernel refused a kexec_load call"),
        "{why}"
    );
    let status_1 = serial.replace("exit status: 3", "exit status: 1");
    let why = lockdown::judge(&run(status_1, Ending::Exited(Some(QEMU_STATUS_FAIL)))).unwrap_err();
    assert!(why.contains("returned (exit status: 3)"), "{why}");
    let why = lockdown::judge(&run(serial, Ending::Timeout)).unwrap_err();
    assert!(why.contains("should have ended the run"), "{why}");
}

#[test]
fn linux_s_own_loader_must_hand_the_first_kernel_s_efi_and_rsdp_on() {
    use crate::e2e::suite::judge::kexec_file::Load;
    use purgatory_host::{Image, PURGATORY_ELF};
    let image = Image::parse(PURGATORY_ELF).unwrap();
    let at = 0x7ffd_6000u64;
    let rsdp = "ACPI: RSDP 0x000000007F77D014 000024 (v02 BOCHS )";
    let serial = |second_rsdp: &str, nodes: &str| {
        format!(
            "[    0.0] Linux version 7.3\n[    0.0] efi: EFI v2.7 by EDK II\n[    0.0] {rsdp}\n\
             [    1.1] kexec-bzImage64: Loaded purgatory at {at:#x}\n\
             [    1.2] kexec_file: segment[3]: buf=0x0 bufsz={:#x} mem={at:#x} memsz=0xa000\n\
             [    1.3] kexec_file: kexec_file_load: type:0, start:{:#x} head:0x1 flags:0x8\n\
             {JUMP}[    0.0] Linux version 7.3\n[    0.0] efi: EFI v2.7 by EDK II\n[    0.0] {second_rsdp}\n\
             E2E-STAGE2 marker=t\n{EFI_LINE}{ACPI_LINE}E2E-SETUP-DATA: {nodes}\nE2E-PASS\n",
            image.segment().len(),
            at + image.entry()
        )
    };
    let load = Load {
        ours: Some(PURGATORY_ELF),
        from_file: false,
        above_4g: false,
    };
    let good = run(
        serial(rsdp, "0x9/0 0x4/96"),
        Ending::Exited(Some(QEMU_STATUS_PASS)),
    );
    let said = uefi::kexec_file(&good, load, "t").unwrap();
    assert!(
        said.contains("Linux's kexec_file handed over EFI"),
        "{said}"
    );
    assert!(said.contains("RSDP 0x7f77d014 as passed"), "{said}");
    let elsewhere = run(
        serial(&rsdp.replace("7F77D014", "000F5A40"), "0x9/0 0x4/96"),
        Ending::Exited(Some(QEMU_STATUS_PASS)),
    );
    let why = uefi::kexec_file(&elsewhere, load, "t").unwrap_err();
    assert!(why.contains("not the 0x7f77d014 passed"), "{why}");
    let no_efi_node = run(
        serial(rsdp, "0x9/0"),
        Ending::Exited(Some(QEMU_STATUS_PASS)),
    );
    let why = uefi::kexec_file(&no_efi_node, load, "t").unwrap_err();
    assert!(why.contains("SETUP_EFI node is None"), "{why}");
}
