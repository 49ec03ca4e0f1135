//! The kdump judge on made-up runs: a crash kernel's plan and the capture
//! kernel's report, or Linux's own crash load as its debug lines show it.

use super::super::kdump;
use super::{SHA_NI, console_lines, run};
use crate::e2e::harness::qemu::{Ending, Run};
use crate::e2e::suite::table::Reservation;
use crate::e2e::suite::vocabulary::guest::QEMU_STATUS_PASS;
use crate::e2e::suite::vocabulary::plan;
use crate::e2e::suite::vocabulary::plan::tests::crash_plan_line;
use kexec_load::crash::sources::NoteRange;
use kexec_load::crash::{CrashReport, Span};
use purgatory::report;
use purgatory_abi::{HashPath, KERNEL_ENTRY64_OFFSET};

/// A crash kernel in `crashkernel=256M` below 4 GiB, as `kexec-load -p`
/// plans it: the headers at the top, the kernel at the bottom.
const CRASH_SEGMENTS: &[(&str, u64, u64, u64, bool)] = &[
    ("elfcorehdr", 0x7eff_f000, 0x1000, 0x190, true),
    ("kernel", 0x6f00_0000, 0x37e_e000, 0xb8_17c0, true),
    ("boot-params", 0x727e_e000, 0x2000, 0x1100, true),
    ("purgatory", 0x7eff_6000, 0x9000, 0x8d90, false),
];
const RESERVATION: Span = Span::new(0x6f00_0000, 0x7f00_0000);
const MARK: &str = "E2E-KDUMP-CRASH: addr=0x3a2b1120 marker=0123abcd release=6.12.117 cpus=2\n";

fn crash_report() -> CrashReport {
    CrashReport {
        reservation: RESERVATION,
        low_reservations: Vec::new(),
        cma: Vec::new(),
        elfcorehdr: Span::new(0x7eff_f000, 0x7f00_0000),
        elfcorehdr_bytes: 0x190,
        param: "elfcorehdr=0x7efff000".into(),
        notes: Vec::new(),
        vmcoreinfo: NoteRange {
            addr: 0x121_a000,
            size: 0x1024,
        },
        loads: Vec::new(),
        memmap: Vec::new(),
        control_room: 0x11000,
        free: 0xc74_9000,
    }
}

/// A kdump run that read `found` back with `prstatus` CPUs' registers.
fn captured(segments: &[(&str, u64, u64, u64, bool)], found: &str, prstatus: u32) -> Run {
    let line = crash_plan_line(segments, &crash_report());
    let plan = plan::read(&line).unwrap();
    let regions = plan.regions().unwrap();
    let bytes = plan.covered();
    let target = 0x6f00_0000 + KERNEL_ENTRY64_OFFSET;
    let serial = format!(
        "[    0.0] Linux version 6.12\n{line}\n{MARK}[    7.5] Kernel panic - not syncing: sysrq triggered crash\n{}\
         [    0.0] Linux version 6.12\n[    0.0] Command line: elfcorehdr=0x7efff000 console=ttyS0\n\
         E2E-CAPTURE: /init running at uptime 3.1\n\
         E2E-VMCORE: addr=0x3a2b1120 marker={found} offset=0x3a2b2120 bytes=1924210688 release=6.12.117 prstatus={prstatus}\nE2E-PASS\n",
        console_lines(&[
            &|out| report::started(out, &regions, HashPath::ShaNi),
            &|out| report::verified(out, true, bytes, 999),
            &|out| report::jumping(out, target),
        ])
    );
    run(serial, Ending::Exited(Some(QEMU_STATUS_PASS)))
}

#[test]
fn a_capture_kernel_must_read_back_what_stage_1_wrote() {
    let low = Reservation::Below4G;
    let said = kdump::capture(&captured(CRASH_SEGMENTS, "0123abcd", 2), low, 2, &SHA_NI).unwrap();
    assert!(
        said.contains("read marker 0123abcd at 0x3a2b1120"),
        "{said}"
    );
    assert!(said.contains("999 TSC ticks"), "{said}");
    let why = kdump::capture(&captured(CRASH_SEGMENTS, "ffff", 2), low, 2, &SHA_NI).unwrap_err();
    assert!(why.contains("stage 1 wrote \"0123abcd\""), "{why}");
    let why =
        kdump::capture(&captured(CRASH_SEGMENTS, "0123abcd", 1), low, 2, &SHA_NI).unwrap_err();
    assert!(why.contains("1 register sets"), "{why}");
    let why = kdump::capture(
        &captured(CRASH_SEGMENTS, "0123abcd", 2),
        Reservation::Above4G,
        2,
        &SHA_NI,
    )
    .unwrap_err();
    assert!(why.contains("wrong side of 4 GiB"), "{why}");
    let mut astray = CRASH_SEGMENTS.to_vec();
    astray[2].1 = 0x1_0000;
    let why = kdump::capture(&captured(&astray, "0123abcd", 2), low, 2, &SHA_NI).unwrap_err();
    assert!(
        why.contains("segment boot-params 0x10000..0x12000 is outside"),
        "{why}"
    );
}

/// Linux's own crash load of a kernel embedding our purgatory, as its
/// `KEXEC_FILE_DEBUG` lines show it, then the same crash and capture.
fn file_captured(purgatory_bytes: u64) -> Run {
    let image = purgatory_host::Image::parse(purgatory_host::PURGATORY_ELF).unwrap();
    let at = 0x7eff_7000;
    let serial = format!(
        "[    0.0] Linux version 7.3.4\n\
         [    0.0] crashkernel reserved: 0x000000006f000000 - 0x000000007f000000 (256 MB)\n\
         [    2.3] kexec: Loaded ELF headers at 0x6f000000 bufsz=0x1000 memsz=0x1000\n\
         [    2.3] kexec-bzImage64: Loaded purgatory at {at:#x}\n\
         [    2.8] kexec_file: segment[0]: buf=0x0 bufsz=0x1000 mem=0x6f000000 memsz=0x1000\n\
         [    2.8] kexec_file: segment[1]: buf=0x0 bufsz={purgatory_bytes:#x} mem={at:#x} memsz=0x9000\n\
         [    2.9] kexec_file: kexec_file_load: type:1, start:{:#x} head:0x4 flags:0xa\n\
         {MARK}[    3.0] Kernel panic - not syncing: sysrq triggered crash\n\
         [    0.0] Linux version 7.3.4\n[    0.0] Command line: elfcorehdr=0x6f000000 console=ttyS0\n\
         E2E-VMCORE: addr=0x3a2b1120 marker=0123abcd offset=0x5ee2a8 bytes=1886089216 release=6.12.117 prstatus=2\nE2E-PASS\n",
        at + image.entry()
    );
    run(serial, Ending::Exited(Some(QEMU_STATUS_PASS)))
}

#[test]
fn linux_s_own_crash_load_must_place_our_purgatory_in_the_reservation() {
    let ours = purgatory_host::PURGATORY_ELF;
    let filesz = purgatory_host::Image::parse(ours).unwrap().segment().len() as u64;
    let low = Reservation::Below4G;
    let said = kdump::file_capture(&file_captured(filesz), low, 2, ours).unwrap();
    assert!(said.contains("our purgatory at 0x7eff7000"), "{said}");
    assert!(said.contains("read marker 0123abcd"), "{said}");
    let why = kdump::file_capture(&file_captured(filesz + 1), low, 2, ours).unwrap_err();
    assert!(why.contains("(p_filesz)"), "{why}");
    let why =
        kdump::file_capture(&file_captured(filesz), Reservation::Above4G, 2, ours).unwrap_err();
    assert!(why.contains("wrong side"), "{why}");
}
