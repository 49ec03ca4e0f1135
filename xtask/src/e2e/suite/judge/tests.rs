//! The judges on made-up runs: serial logs built from the kernel's and the
//! tool's lines and the purgatory's as its library renders them.

use super::common::Expect;
use super::{boot, fault, kexec_file, refusal};
use crate::e2e::harness::qemu::{CpuState, Ending, Exchange, Run};
use crate::e2e::suite::table::{Boot, Refusal};
use crate::e2e::suite::vocabulary::guest::{QEMU_STATUS_FAIL, QEMU_STATUS_PASS};
use crate::e2e::suite::vocabulary::linux::{STARTING_NEW_KERNEL, TWO_PROGRAM_HEADERS};
use crate::e2e::suite::vocabulary::monitor::nmis_while_halted;
use crate::e2e::suite::vocabulary::plan;
use crate::e2e::suite::vocabulary::plan::tests::{
    SEGMENTS, corrupted_plan_line, plan_log, test_region_plan_line,
};
use crate::e2e::suite::vocabulary::template::{Text, written};
use purgatory::regions::{Fault, Hashing, SegmentFault};
use purgatory::report;
use purgatory::trap::{PAGE_FAULT, Trap};
use purgatory_abi::{FailurePolicy, HashPath, KERNEL_ENTRY64_OFFSET};
use std::time::Duration;

mod kdump;
mod uefi;

/// Where [`SEGMENTS`] puts the purgatory.
const PURGATORY_START: u64 = 0xbffd_7000;
const JUMP: &str = "[    2.2] kexec_core: Starting new kernel\r\n";
const SHA_NI: Expect = Expect {
    path: Some(HashPath::ShaNi),
    sha_ni: Some(true),
    interrupt_log: true,
};

fn run(serial: String, ending: Ending) -> Run {
    Run {
        ending,
        serial,
        elapsed: Duration::from_secs(10),
        triple_fault: false,
        snapshot: None,
        cpu_at_stop: None,
        exchanges: Vec::new(),
        debug_log: String::new(),
    }
}

fn console_lines(lines: &[&dyn Fn(&mut Text)]) -> String {
    lines.iter().map(|line| written(line)).collect()
}

fn second_kernel(token: &str, target: u64) -> String {
    let log = plan_log();
    let plan = plan::read(&log).unwrap();
    let regions = plan.regions().unwrap();
    let bytes = plan.covered();
    format!(
        "[    0.0] Linux version 6.12\n{log}{JUMP}{}[    0.0] Linux version 6.12\n\
         [    0.0] Command line: console=ttyS0 e2e.marker={token}\nE2E-STAGE2 marker={token}\nE2E-PASS\n",
        console_lines(&[
            &|out| report::started(out, &regions, HashPath::ShaNi),
            &|out| report::verified(out, true, bytes, 777),
            &|out| report::jumping(out, target),
        ])
    )
}

#[test]
fn a_second_kernel_that_boots_through_the_expected_lines_passes() {
    let target = 0x100_0000 + KERNEL_ENTRY64_OFFSET;
    let good = run(
        second_kernel("t-1", target),
        Ending::Exited(Some(QEMU_STATUS_PASS)),
    );
    let said = boot::judge(&good, Boot::Verified, "t-1", &SHA_NI).unwrap();
    assert!(said.contains("777 TSC ticks"), "{said}");
    let why = boot::judge(&good, Boot::Verified, "t-2", &SHA_NI).unwrap_err();
    assert!(why.contains("e2e.marker=t-2"), "{why}");
    let astray = run(
        second_kernel("t-1", target + 1),
        Ending::Exited(Some(QEMU_STATUS_PASS)),
    );
    let why = boot::judge(&astray, Boot::Verified, "t-1", &SHA_NI).unwrap_err();
    assert!(why.contains("hand-off target"), "{why}");
    let failed = run(
        second_kernel("t-1", target),
        Ending::Exited(Some(QEMU_STATUS_FAIL)),
    );
    let why = boot::judge(&failed, Boot::Verified, "t-1", &SHA_NI).unwrap_err();
    assert!(why.contains("reported a failure"), "{why}");
}

fn refused(policy: FailurePolicy) -> String {
    let line = corrupted_plan_line(SEGMENTS);
    let plan = plan::read(&line).unwrap();
    let regions = plan.regions().unwrap();
    let bytes = plan.covered();
    let fault = SegmentFault {
        index: 0,
        region: regions[0],
        fault: Fault::Mismatch {
            expected: [1; 32],
            computed: [2; 32],
        },
    };
    format!(
        "{line}\n{JUMP}{}",
        console_lines(&[
            &|out| report::started(out, &regions, HashPath::ShaNi),
            &|out| report::verified(out, false, bytes, 5),
            &|out| report::segment_fault(out, &fault),
            &|out| report::stopping(out, policy),
        ])
    )
}

/// Just after a `hlt` of the purgatory as loaded at [`PURGATORY_START`].
fn after_a_hlt() -> u64 {
    let at = purgatory_host::PURGATORY_ELF
        .iter()
        .position(|&byte| byte == 0xf4)
        .unwrap();
    PURGATORY_START + at as u64 + 1
}

#[test]
fn a_refusal_must_halt_on_a_purgatory_hlt_with_interrupts_off() {
    let stopped = |rip, rflags| {
        let mut run = run(refused(FailurePolicy::Halt), Ending::Stopped("x".into()));
        run.cpu_at_stop = Some(CpuState {
            rip,
            rflags,
            halted: true,
        });
        run
    };
    let said = refusal::judge(
        &stopped(after_a_hlt(), 0x46),
        Refusal::Halt,
        &SHA_NI,
        STARTING_NEW_KERNEL,
    )
    .unwrap();
    assert!(said.contains("named segment 0 at 0x1000000"), "{said}");
    let why = refusal::judge(
        &stopped(after_a_hlt(), 0x246),
        Refusal::Halt,
        &SHA_NI,
        STARTING_NEW_KERNEL,
    )
    .unwrap_err();
    assert!(why.contains("interrupts enabled"), "{why}");
    let why = refusal::judge(
        &stopped(0x1000, 0x46),
        Refusal::Halt,
        &SHA_NI,
        STARTING_NEW_KERNEL,
    )
    .unwrap_err();
    assert!(why.contains("outside the purgatory"), "{why}");
    let why = refusal::judge(
        &stopped(after_a_hlt(), 0x46),
        Refusal::Silent,
        &SHA_NI,
        STARTING_NEW_KERNEL,
    )
    .unwrap_err();
    assert!(why.contains("--no-console, yet"), "{why}");
}

#[test]
fn a_reset_must_be_announced_and_end_qemu_with_status_0() {
    let reset = run(refused(FailurePolicy::Reset), Ending::Exited(Some(0)));
    let said = refusal::judge(&reset, Refusal::Reset, &SHA_NI, STARTING_NEW_KERNEL).unwrap();
    assert!(said.contains("through port 0xcf9"), "{said}");
    let why = refusal::judge(&reset, Refusal::Halt, &SHA_NI, STARTING_NEW_KERNEL).unwrap_err();
    assert!(why.contains("line 4"), "{why}");
    let passed = run(
        refused(FailurePolicy::Reset),
        Ending::Exited(Some(QEMU_STATUS_PASS)),
    );
    let why = refusal::judge(&passed, Refusal::Reset, &SHA_NI, STARTING_NEW_KERNEL).unwrap_err();
    assert!(why.contains("expected a reset"), "{why}");
}

#[test]
fn a_patched_kernel_refusal_needs_its_reason_and_the_loaders_failure() {
    let serial = format!("[ 1.0] {TWO_PROGRAM_HEADERS}\nKEXEC-FILE-REFUSED: ENOEXEC\n");
    let refused = run(serial.clone(), Ending::Exited(Some(QEMU_STATUS_FAIL)));
    assert_eq!(
        kexec_file::refusal(&refused, TWO_PROGRAM_HEADERS),
        Ok(format!("refused (ENOEXEC): {TWO_PROGRAM_HEADERS:?}"))
    );
    let ran = run(
        format!("{serial}{JUMP}"),
        Ending::Exited(Some(QEMU_STATUS_FAIL)),
    );
    assert!(kexec_file::refusal(&ran, TWO_PROGRAM_HEADERS).is_err());
}

/// Where the test region of the fault runs goes in these logs.
const UNMAPPED: u64 = 1 << 36;

/// A fault on the test region at `rip`, with CR2 `cr2`, then the policy.
fn faulted(policy: FailurePolicy, rip: u64, cr2: u64) -> String {
    let line = test_region_plan_line(SEGMENTS, UNMAPPED, 0x1000);
    let plan = plan::read(&line).unwrap();
    let regions = plan.regions().unwrap();
    let trap = Trap {
        vector: PAGE_FAULT,
        rip,
        error_code: Some(0),
        cr2: Some(cr2),
    };
    format!(
        "{line}\n{JUMP}{}",
        console_lines(&[
            &|out| report::started(out, &regions, HashPath::ShaNi),
            &|out| report::exception(out, &trap, Hashing::in_table(&regions, 2)),
            &|out| report::stopping(out, policy),
        ])
    )
}

/// Stopped on the last line with the CPU halted on a `hlt` of the purgatory.
fn stopped_on_a_hlt(serial: String) -> Run {
    let mut run = run(serial, Ending::Stopped("x".into()));
    run.cpu_at_stop = Some(CpuState {
        rip: after_a_hlt(),
        rflags: 0x46,
        halted: true,
    });
    run
}

#[test]
fn a_fault_must_name_the_test_region_from_inside_the_purgatory() {
    let inside = PURGATORY_START + 0x1c3f;
    let halted = stopped_on_a_hlt(faulted(FailurePolicy::Halt, inside, UNMAPPED));
    let said = fault::judge(&halted, FailurePolicy::Halt, &SHA_NI).unwrap();
    assert!(said.contains("test region 2 at 0x1000000000"), "{said}");
    assert!(said.contains("cr2 0x1000000000"), "{said}");
    assert!(said.contains("CPU halted on its hlt"), "{said}");
    let why = fault::judge(&halted, FailurePolicy::Reset, &SHA_NI).unwrap_err();
    assert!(why.contains("line 3"), "{why}");
    let astray = stopped_on_a_hlt(faulted(FailurePolicy::Halt, 0x1000, UNMAPPED));
    let why = fault::judge(&astray, FailurePolicy::Halt, &SHA_NI).unwrap_err();
    assert!(why.contains("outside the purgatory"), "{why}");
    let elsewhere = stopped_on_a_hlt(faulted(FailurePolicy::Halt, inside, UNMAPPED + 8));
    let why = fault::judge(&elsewhere, FailurePolicy::Halt, &SHA_NI).unwrap_err();
    assert!(
        why.contains("line 2") && why.contains("page fault"),
        "{why}"
    );
    let reset = run(
        faulted(FailurePolicy::Reset, inside, UNMAPPED),
        Ending::Exited(Some(0)),
    );
    let said = fault::judge(&reset, FailurePolicy::Reset, &SHA_NI).unwrap();
    assert!(said.contains("through port 0xcf9"), "{said}");
    let refused = stopped_on_a_hlt(refused(FailurePolicy::Halt));
    let why = fault::judge(&refused, FailurePolicy::Halt, &SHA_NI).unwrap_err();
    assert!(why.contains("no test region"), "{why}");
}

/// A halted refusal after the NMI commands, each answered and followed by
/// the CPU on the purgatory's `hlt`, with QEMU's log showing `nmis` NMIs.
fn after_nmis(nmis: usize) -> Run {
    let mut run = stopped_on_a_hlt(refused(FailurePolicy::Halt));
    run.exchanges = nmis_while_halted()
        .into_iter()
        .map(|command| Exchange {
            line: command.line,
            reply: Some(String::new()),
            sent_at: 10.0,
            cpu_after: run.cpu_at_stop,
        })
        .collect();
    run.debug_log = (0..nmis)
        .map(|n| {
            format!(
                "{n:6}: v=02 e=0000 i=0 cpl=0 IP=0010:{:016x} pc={0:016x} SP=0018:0\nRAX=0\n",
                after_a_hlt()
            )
        })
        .collect();
    run
}

#[test]
fn every_nmi_must_be_taken_and_leave_the_cpu_halted() {
    let said = refusal::judge(
        &after_nmis(3),
        Refusal::HaltThenNmi,
        &SHA_NI,
        STARTING_NEW_KERNEL,
    )
    .unwrap();
    assert!(said.contains("3 NMIs a second apart"), "{said}");
    let why = refusal::judge(
        &after_nmis(2),
        Refusal::HaltThenNmi,
        &SHA_NI,
        STARTING_NEW_KERNEL,
    )
    .unwrap_err();
    assert!(why.contains("2 NMI deliveries"), "{why}");
    let mut faulted = after_nmis(3);
    faulted
        .debug_log
        .push_str("     3: v=0d e=0010 i=0 cpl=0 IP=0010:0000000000001000 pc=0\n");
    let why =
        refusal::judge(&faulted, Refusal::HaltThenNmi, &SHA_NI, STARTING_NEW_KERNEL).unwrap_err();
    assert!(why.contains("took vector 13"), "{why}");
    let mut woken = after_nmis(3);
    woken.exchanges[2].cpu_after = Some(CpuState {
        rip: after_a_hlt() + 4,
        rflags: 0x46,
        halted: false,
    });
    let why =
        refusal::judge(&woken, Refusal::HaltThenNmi, &SHA_NI, STARTING_NEW_KERNEL).unwrap_err();
    assert!(
        why.contains("after NMI 2") && why.contains("not halted"),
        "{why}"
    );
    let mut refused = after_nmis(3);
    refused.exchanges[0].reply = Some("unknown command: 'log'".into());
    let why =
        refusal::judge(&refused, Refusal::HaltThenNmi, &SHA_NI, STARTING_NEW_KERNEL).unwrap_err();
    assert!(why.contains("unknown command"), "{why}");
    let mut reset = after_nmis(1);
    reset.ending = Ending::Exited(Some(0));
    reset.triple_fault = true;
    let why =
        refusal::judge(&reset, Refusal::HaltThenNmi, &SHA_NI, STARTING_NEW_KERNEL).unwrap_err();
    assert!(why.contains("triple fault"), "{why}");
    let kvm = Expect {
        interrupt_log: false,
        ..SHA_NI
    };
    let said = refusal::judge(
        &after_nmis(0),
        Refusal::HaltThenNmi,
        &kvm,
        STARTING_NEW_KERNEL,
    )
    .unwrap();
    assert!(said.contains("deliveries not logged under KVM"), "{said}");
}
