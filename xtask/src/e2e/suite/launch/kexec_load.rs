//! The runs in which `kexec-load` loads the image: a Debian kernel boots
//! (through SeaBIOS, or OVMF for the UEFI runs) with a stage-1 initramfs
//! whose `/init` runs the tool with the scenario's arguments, and reboots
//! into a second kernel (with the stage-2 `/init`) or the register probe.

use super::high_memory;
use super::kexec_file::stage2_append;
use super::watch::init_verdict;
use crate::e2e::harness::fetch::Kernel;
use crate::e2e::harness::guest;
use crate::e2e::harness::qemu::{self, Machine, Run, Watch};
use crate::e2e::suite::context::{Context, Outcome, RunFiles, Target};
use crate::e2e::suite::judge::common::Expect;
use crate::e2e::suite::judge::{boot, fault, lockdown, probe, refusal, uefi};
use crate::e2e::suite::table::{
    BIG_FILE_LEN, Boot, Load, Placement, Refusal, Scenario, UNMAPPED_REGION,
};
use crate::e2e::suite::vocabulary::guest::{PROBE_FAIL, PROBE_PASS, probe_cr};
use crate::e2e::suite::vocabulary::linux::{RUN_INIT, STARTING_NEW_KERNEL};
use crate::e2e::suite::vocabulary::{evidence, monitor, purgatory};
use anyhow::Result;
use e2e_protocol::protocol::{EFIVARFS_MODULE, PARAM_BIG, PARAM_STAGE, PARAM_UEFI};
use kexec_load::request::failure_policy_name;
use purgatory_abi::FailurePolicy;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The kernel QEMU boots and the one `kexec-load` loads in it.
#[derive(Debug, Clone, Copy)]
pub struct Pair<'a> {
    pub first: &'a Kernel,
    pub second: &'a Kernel,
}

/// Prepares the images, boots, and judges the log.
pub fn run(scenario: &Scenario, load: Load, ctx: &Context, target: &Target) -> Result<Outcome> {
    let kernels = Pair {
        first: &ctx.kernel,
        second: &ctx.kernel,
    };
    Ok(boot(scenario, load, kernels, ctx, target)?.0)
}

/// [`run`] between `kernels`, with the run for what else its caller judges.
pub fn boot(
    scenario: &Scenario,
    load: Load,
    kernels: Pair<'_>,
    ctx: &Context,
    target: &Target,
) -> Result<(Outcome, Run)> {
    let files = ctx.run_files(scenario, target)?;
    let stage1 = files.work.join("stage1.cpio");
    let args = kexec_args(load, ctx, &files)?;
    let boot_files = boot_files(load, ctx, kernels.second, &files.work);
    let boot_files: Vec<_> = boot_files.iter().map(|(n, p)| (*n, p.as_path())).collect();
    let programs = &ctx.programs;
    guest::stage1_initramfs(&stage1, programs, &programs.kexec_load, &args, &boot_files)?;
    let high = matches!(
        load,
        Load::Probe {
            placement: Placement::Above128T,
            ..
        }
    );
    let memory = match load {
        _ if high => high_memory::MEMORY,
        // 6 GiB: RAM both below and above 4 GiB (QEMU's pc machine puts
        // 3 GiB below the PCI hole and the rest above 4 GiB).
        Load::Probe { .. }
        | Load::Handover {
            placement: Placement::Above4G,
            ..
        } => "6G",
        Load::Boot(_)
        | Load::Refusal(_)
        | Load::Fault(_)
        | Load::Handover { .. }
        | Load::LockedDown => "2G",
    };
    let mut append = format!("console=ttyS0 panic=-1 {PARAM_STAGE}=1");
    if load == Load::LockedDown {
        append.push_str(" lockdown=integrity");
    }
    let extra_args = if high {
        append = format!("{append} {}", high_memory::APPEND);
        high_memory::extra_args()
    } else {
        Vec::new()
    };
    let flash = ctx.flash(scenario.firmware, &files.work)?;
    let machine = Machine {
        qemu: &target.qemu,
        accel: target.accel,
        firmware: flash.as_ref().map(|flash| flash.pflash()),
        memory,
        cpus: 1,
        kernel: &kernels.first.vmlinuz,
        initrd: &stage1,
        append: &append,
        extra_args: &extra_args,
    };
    let run = qemu::run(&machine, &watch(load), &files.log)?;
    let software_sha256 = matches!(
        load,
        Load::Probe {
            software_sha256: true,
            ..
        }
    );
    let expect = Expect::new(target.variant, target.accel, software_sha256);
    let verdict = match load {
        Load::Boot(case) => boot::judge(&run, case, &files.token, &expect),
        Load::Refusal(case) => refusal::judge(&run, case, &expect, STARTING_NEW_KERNEL),
        Load::Fault(policy) => fault::judge(&run, policy, &expect),
        Load::Probe { placement, .. } => {
            probe::judge(&run, placement, ctx.programs.probe_entry, &expect)
        }
        Load::Handover { placement, noefi } => {
            uefi::judge(&run, placement, noefi, &files.token, &expect)
        }
        Load::LockedDown => lockdown::judge(&run),
    };
    let text = std::fs::read_to_string(&files.log).unwrap_or_default();
    let outcome = Outcome {
        passed: verdict.is_ok(),
        summary: verdict.unwrap_or_else(|why| why),
        evidence: evidence::kexec_load(&text, matches!(load, Load::Probe { .. })),
        elapsed: run.elapsed,
        log: files.log,
        path: evidence::shown_path(&run.serial),
        handover: evidence::handover(&text),
        probe_cr: probe_cr(&run.serial),
        kdump: None,
    };
    Ok((outcome, run))
}

/// The guest's verdicts end the run; a purgatory that halts ends it on its
/// last line (its report) or, silent, once the CPU sits halted; NMIs follow
/// the last line where the scenario asks; the probe's runs read the first
/// kernel's CR0/CR4 as its `/init` starts.
fn watch(load: Load) -> Watch {
    let timeout = match load {
        Load::Boot(Boot::LargeInitrd) | Load::Handover { .. } => 240,
        Load::Boot(_) | Load::Refusal(_) | Load::Fault(_) | Load::LockedDown => 150,
        Load::Probe { .. } => 120,
    };
    let mut watch = init_verdict(Duration::from_secs(timeout));
    watch
        .verdicts
        .extend([PROBE_PASS.into(), PROBE_FAIL.into()]);
    let halts_saying_so = matches!(
        load,
        Load::Refusal(Refusal::Halt | Refusal::HaltThenNmi) | Load::Fault(FailurePolicy::Halt)
    );
    if halts_saying_so {
        watch.stop_on = vec![purgatory::stopping(FailurePolicy::Halt)];
        watch.halt_after = Some(STARTING_NEW_KERNEL.into());
    }
    if load == Load::Refusal(Refusal::Silent) {
        watch.halt_after = Some(STARTING_NEW_KERNEL.into());
    }
    if load == Load::Refusal(Refusal::HaltThenNmi) {
        watch.at_stop = monitor::nmis_while_halted();
    }
    if matches!(load, Load::Probe { .. }) {
        watch.snapshot_after = Some(RUN_INIT.into());
    }
    watch
}

/// The `/boot` files of the stage-1 image (`second` is the kernel to load).
fn boot_files(
    load: Load,
    ctx: &Context,
    second: &Kernel,
    work: &Path,
) -> Vec<(&'static str, PathBuf)> {
    match load {
        Load::Boot(_)
        | Load::Refusal(_)
        | Load::Fault(_)
        | Load::Handover { .. }
        | Load::LockedDown => vec![
            ("vmlinuz", second.vmlinuz.clone()),
            ("stage2.cpio", work.join("stage2.cpio")),
        ],
        Load::Probe { .. } => vec![("probe.bin", ctx.programs.probe.clone())],
    }
}

/// The `kexec-load` arguments, ending in `--json --exec` as `/init` expects
/// (the plan as one line the suite reads back); a kernel's stage-2 image is
/// written on the way.
fn kexec_args(load: Load, ctx: &Context, files: &RunFiles) -> Result<Vec<String>> {
    let mut args = match load {
        Load::Boot(case) => {
            let big = (case == Boot::LargeInitrd).then_some((BIG_FILE_LEN, ctx.seed));
            let mut args = kernel_args(ctx, files, Stage2 { big, uefi: false })?;
            if case == Boot::NoVerify {
                args.push("--no-verify".into());
            }
            args
        }
        Load::Handover { placement, noefi } => {
            let mut args = kernel_args(
                ctx,
                files,
                Stage2 {
                    big: None,
                    uefi: true,
                },
            )?;
            args.extend(placement_args(placement, ctx));
            if noefi {
                args.push("--noefi".into());
            }
            args
        }
        Load::LockedDown => kernel_args(ctx, files, Stage2::default())?,
        Load::Refusal(case) => {
            let mut args = kernel_args(ctx, files, Stage2::default())?;
            args.extend(["--corrupt-after-digest".into(), "kernel".into()]);
            // The console is left to kexec-load's default (the guest's
            // console is ttyS0) except where the scenario is about it.
            match case {
                Refusal::Reset => args.extend(["--on-failure".into(), "reset".into()]),
                Refusal::Silent => args.push("--no-console".into()),
                Refusal::Halt | Refusal::HaltThenNmi => {}
            }
            args
        }
        Load::Fault(policy) => {
            let mut args = kernel_args(ctx, files, Stage2::default())?;
            let (start, len) = UNMAPPED_REGION;
            args.extend([
                "--test-region".into(),
                format!("{start:#x}:{len:#x}"),
                "--on-failure".into(),
                failure_policy_name(policy).into(),
            ]);
            args
        }
        Load::Probe {
            placement,
            software_sha256,
        } => {
            let mut args = probe_args(placement, ctx);
            if software_sha256 {
                args.push("--software-sha256".into());
            }
            args
        }
    };
    args.extend(["--json".into(), "--exec".into()]);
    Ok(args)
}

/// What the second stage gets besides its `/init`.
#[derive(Debug, Clone, Copy, Default)]
struct Stage2 {
    /// A large file of `len` pattern bytes from `seed`, to check.
    big: Option<(u64, u64)>,
    /// The efivarfs module and `e2e.uefi`: report what the kernel inherited.
    uefi: bool,
}

/// The Debian kernel again, with the stage-2 image and the run's marker on
/// its command line.
fn kernel_args(ctx: &Context, files: &RunFiles, stage2: Stage2) -> Result<Vec<String>> {
    let module = match (stage2.uefi, &ctx.kernel.efivarfs) {
        (false, _) => None,
        (true, Some(module)) => Some((EFIVARFS_MODULE, module.as_path())),
        (true, None) => anyhow::bail!(
            "the UEFI runs read an EFI variable through efivarfs, a module of Debian's kernel; \
             {} comes without it",
            ctx.kernel.package
        ),
    };
    let image = files.work.join("stage2.cpio");
    let extra: Vec<_> = module.into_iter().collect();
    guest::stage2_initramfs(&image, &ctx.programs, stage2.big, &extra)?;
    let mut append = stage2_append(&files.token);
    if let Some((len, seed)) = stage2.big {
        append.push_str(&format!(" {PARAM_BIG}={len}:{seed}"));
    }
    if stage2.uefi {
        append.push_str(&format!(" {PARAM_UEFI}=1"));
    }
    Ok(vec![
        "/boot/vmlinuz".into(),
        "--initrd".into(),
        "/boot/stage2.cpio".into(),
        "--append".into(),
        append,
    ])
}

/// The probe's flat image, entered at its entry offset, with the purgatory
/// where `placement` asks.
fn probe_args(placement: Placement, ctx: &Context) -> Vec<String> {
    let mut args = vec![
        "/boot/probe.bin".into(),
        "--raw".into(),
        "--entry-offset".into(),
        format!("{:#x}", ctx.programs.probe_entry),
    ];
    args.extend(placement_args(placement, ctx));
    args
}

/// `--purgatory-addr` for `placement`, and the run's seed for a random one.
fn placement_args(placement: Placement, ctx: &Context) -> Vec<String> {
    let place = match placement {
        Placement::Low => "low",
        Placement::Below4G => "below-4g",
        Placement::Above4G | Placement::Above128T => "high",
        Placement::Random => "random",
    };
    let mut args = vec!["--purgatory-addr".into(), place.into()];
    if placement == Placement::Random {
        args.extend(["--seed".into(), ctx.seed.to_string()]);
    }
    args
}
