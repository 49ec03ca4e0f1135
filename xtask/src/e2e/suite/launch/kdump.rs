//! The kdump runs: a kernel boots with `crashkernel=` and two CPUs; its
//! stage-1 `/init` marks a page, has the crash kernel loaded (the same
//! kernel, with an initramfs that holds only the `/init`) and crashes; on the
//! panic the purgatory verifies the crash kernel's segments and starts it
//! (or, for a flipped byte, refuses), and the capture kernel's `/init` reads
//! the mark back from `/proc/vmcore`. The loader is `kexec-load -p` in the
//! Debian kernel, or `kexec-file-load -p` (Linux's own `kexec_file_load`) in
//! the patched kernel that embeds our purgatory.

use super::kexec_file::kernels;
use super::watch::init_verdict;
use crate::build::EMBEDDED_PATH;
use crate::cmd::project_root;
use crate::e2e::harness::guest;
use crate::e2e::harness::qemu::{self, Machine, Watch};
use crate::e2e::suite::context::{Context, KdumpFigures, Outcome, Target};
use crate::e2e::suite::judge::common::Expect;
use crate::e2e::suite::judge::kdump as judge;
use crate::e2e::suite::table::{CrashLoader, Kdump, Refusal, Reservation, Scenario};
use crate::e2e::suite::vocabulary::linux::{PANIC, crashkernel_reserved, purgatory_at};
use crate::e2e::suite::vocabulary::{evidence, kdump, plan, purgatory};
use anyhow::Result;
use e2e_protocol::kdump::{PARAM_KDUMP, STAGE_CAPTURE};
use e2e_protocol::protocol::PARAM_STAGE;
use kexec_load::crash::Span;
use purgatory_abi::FailurePolicy;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `-smp 2`: the crash path must stop the other CPU, whose registers the
/// dump then holds too.
const CPUS: u32 = 2;
/// What kdump tools give a capture kernel: one CPU, devices reset rather
/// than trusted.
const CAPTURE_CMDLINE: &str =
    "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1 nr_cpus=1 irqpoll reset_devices";
/// A crash, a hash of some 60 MiB and two kernel boots under TCG, on a
/// machine shared with others.
const TIMEOUT: Duration = Duration::from_secs(300);

/// Prepares the images, boots, and judges the log.
pub fn run(scenario: &Scenario, case: Kdump, ctx: &Context, target: &Target) -> Result<Outcome> {
    let files = ctx.run_files(scenario, target)?;
    let capture = files.work.join("capture.cpio");
    guest::stage2_initramfs(&capture, &ctx.programs, None, &[])?;
    let (kernel, loader) = kernel_and_loader(case, ctx)?;
    let boot_files = [
        (KERNEL, kernel.as_path()),
        ("capture.cpio", capture.as_path()),
    ];
    let stage1 = files.work.join("stage1.cpio");
    let args = loader_args(case);
    guest::stage1_initramfs(&stage1, &ctx.programs, loader, &args, &boot_files)?;
    let (memory, crashkernel) = match case.reservation {
        Reservation::Below4G => ("2G", "crashkernel=256M"),
        // QEMU's pc machine puts 3 GiB below the PCI hole, the rest above
        // 4 GiB, where ,high reserves.
        Reservation::Above4G => ("6G", "crashkernel=256M,high"),
    };
    let append = format!("console=ttyS0 panic=-1 {PARAM_STAGE}=1 {PARAM_KDUMP}=1 {crashkernel}");
    let flash = ctx.flash(scenario.firmware, &files.work)?;
    let machine = Machine {
        qemu: &target.qemu,
        accel: target.accel,
        firmware: flash.as_ref().map(|flash| flash.pflash()),
        memory,
        cpus: CPUS,
        extra_args: &[],
        kernel: &kernel,
        initrd: &stage1,
        append: &append,
    };
    let run = qemu::run(&machine, &watch(case), &files.log)?;
    let expect = Expect::new(target.variant, target.accel, false);
    let verdict = match (case.loader, case.refusal) {
        (CrashLoader::KexecLoad, None) => judge::capture(&run, case.reservation, CPUS, &expect),
        (CrashLoader::KexecLoad, Some(refusal)) => {
            judge::refused(&run, case.reservation, refusal, &expect)
        }
        (CrashLoader::KexecFile, _) => {
            let ours = std::fs::read(project_root().join(EMBEDDED_PATH))?;
            judge::file_capture(&run, case.reservation, CPUS, &ours)
        }
    };
    let text = std::fs::read_to_string(&files.log).unwrap_or_default();
    Ok(Outcome {
        passed: verdict.is_ok(),
        summary: verdict.unwrap_or_else(|why| why),
        evidence: evidence::kdump(&text),
        elapsed: run.elapsed,
        log: files.log,
        path: evidence::shown_path(&run.serial),
        handover: kdump::handover(&text),
        probe_cr: None,
        kdump: figures(&run.serial, &text),
    })
}

/// The kernel's name under `/boot` in the stage-1 image.
const KERNEL: &str = "vmlinuz";

/// The kernel both stages boot, and the guest program that loads it: one of
/// Debian's stock kernels and `kexec-load`, or the patched kernel that embeds
/// our purgatory and `kexec-file-load`.
fn kernel_and_loader(case: Kdump, ctx: &Context) -> Result<(PathBuf, &Path)> {
    Ok(match case.loader {
        CrashLoader::KexecLoad => (
            ctx.stock.get(case.kernel)?.vmlinuz.clone(),
            &ctx.programs.kexec_load,
        ),
        CrashLoader::KexecFile => (
            kernels()?.embedded.bzimage.clone(),
            &ctx.programs.kexec_file_load,
        ),
    })
}

/// The loader's `-p` with the capture kernel, its `/init` and command line
/// (stage 1 adds where the marker is), and what it says about the load:
/// `kexec-load`'s plan as JSON, or the kernel's `KEXEC_FILE_DEBUG` lines. No
/// reboot: the crash starts it.
fn loader_args(case: Kdump) -> Vec<String> {
    let report = match case.loader {
        CrashLoader::KexecLoad => "--json",
        CrashLoader::KexecFile => "--debug",
    };
    let mut args: Vec<String> = [
        "-p",
        &format!("/boot/{KERNEL}"),
        "--initrd",
        "/boot/capture.cpio",
        "--append",
        &format!("{CAPTURE_CMDLINE} {PARAM_STAGE}={STAGE_CAPTURE}"),
        report,
    ]
    .map(String::from)
    .to_vec();
    if let Some(refusal) = case.refusal {
        args.extend(["--corrupt-after-digest".into(), "kernel".into()]);
        if refusal == Refusal::Reset {
            args.extend(["--on-failure".into(), "reset".into()]);
        }
    }
    args
}

/// The guest's verdict ends the run, but the first kernel's panic is the
/// point of it, not a fatal line; a purgatory that halts ends it on its
/// report, once the CPU sits halted.
fn watch(case: Kdump) -> Watch {
    let mut watch = init_verdict(TIMEOUT);
    watch.fatal.retain(|line| line != PANIC);
    if case.refusal == Some(Refusal::Halt) {
        watch.stop_on = vec![purgatory::stopping(FailurePolicy::Halt)];
        watch.halt_after = Some(PANIC.into());
    }
    watch
}

/// What the run measured: from `kexec-load`'s plan or the kernel's lines,
/// the capture `/init`'s report and the log's timestamps.
fn figures(serial: &str, log: &str) -> Option<KdumpFigures> {
    let (reservation, purgatory) = match plan::read(serial) {
        Ok(plan) => (plan.crash?.reservation, plan.purgatory.start),
        Err(_) => {
            let (start, end) = crashkernel_reserved(serial)?;
            (Span::new(start, end), purgatory_at(serial)?)
        }
    };
    let found = kdump::found(serial).ok();
    Some(KdumpFigures {
        reservation,
        purgatory,
        marker: found.as_ref().map(|f| f.marker.clone()),
        vmcore_bytes: found.map(|f| f.bytes),
        panic_to_init: kdump::panic_to_init(log),
    })
}
