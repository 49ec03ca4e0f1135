//! The runs in which Linux's own `kexec_file_load` loads the purgatory. The
//! kernels are the patched ones of `cargo xtask kernel` (`embedded` carries
//! this purgatory, `builtin` the C one and reads a purgatory under test from
//! the file `kexec_file.purgatory=` names). In the guest, `kexec-file-load` (a
//! binary of `tests/e2e-init`) calls the syscall with `KEXEC_FILE_DEBUG`, so
//! the kernel logs where it put the purgatory and the entry point it
//! computed, and reboots into the loaded image: the same kernel, with the
//! stage-2 `/init`. Broken purgatories come from
//! [`bad_purgatory`](crate::e2e::suite::bad_purgatory).

use super::watch::init_verdict;
use crate::build::EMBEDDED_PATH;
use crate::cmd::project_root;
use crate::e2e::harness::guest;
use crate::e2e::harness::qemu::{self, Machine, Pflash, Run};
use crate::e2e::suite::bad_purgatory;
use crate::e2e::suite::context::{Context, Outcome, RunFiles, Target};
use crate::e2e::suite::judge::kexec_file::{self, Load};
use crate::e2e::suite::judge::uefi;
use crate::e2e::suite::table::{Firmware, KexecFile, Scenario};
use crate::e2e::suite::vocabulary::evidence;
use crate::e2e::suite::vocabulary::linux::{REGS_SIZE_MISMATCH, TWO_PROGRAM_HEADERS};
use crate::kernel::Kernels;
use anyhow::{Result, anyhow};
use e2e_protocol::protocol::{PARAM_MARKER, PARAM_STAGE, PARAM_UEFI};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// Where the guest finds a purgatory under test.
const GUEST_PURGATORY: &str = "purgatory.elf";

/// The two kernels, built once per run.
static KERNELS: OnceLock<Result<Kernels, String>> = OnceLock::new();

/// The patched kernels, built on first use.
pub fn kernels() -> Result<&'static Kernels> {
    KERNELS
        .get_or_init(|| crate::kernel::build().map_err(|err| format!("{err:#}")))
        .as_ref()
        .map_err(|err| anyhow!("the patched kernels: {err}"))
}

/// Builds the patched kernels now, so that preparation (and its time) is
/// not charged to the first scenario.
pub fn prepare() -> Result<()> {
    let kernels = kernels()?;
    eprintln!("e2e: patched kernels ready: {}", kernels.description);
    Ok(())
}

/// The second kernel's command line: stage 2, with the run's marker.
pub fn stage2_append(token: &str) -> String {
    format!(
        "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1 {PARAM_STAGE}=2 {PARAM_MARKER}={token}"
    )
}

/// The first kernel's parameter that makes it read `purgatory` of [`stage1`].
/// A module-style name: init/main.c drops unknown `kexec*` parameters.
pub fn purgatory_param() -> String {
    format!("kexec_file.purgatory=/boot/{GUEST_PURGATORY}")
}

/// The stage-1 image of a patched-kernel run, written in the run's work
/// directory: `kexec-file-load` loads `kernel` with the stage-2 image and
/// the command line `append2`; `purgatory` is the file [`purgatory_param`]
/// names.
pub fn stage1(
    ctx: &Context,
    files: &RunFiles,
    kernel: &Path,
    append2: &str,
    purgatory: Option<&[u8]>,
) -> Result<PathBuf> {
    let stage2 = files.work.join("stage2.cpio");
    guest::stage2_initramfs(&stage2, &ctx.programs, None, &[])?;
    let args = [
        "/boot/bzImage",
        "--initrd",
        "/boot/stage2.cpio",
        "--append",
        append2,
        "--debug",
    ]
    .map(String::from);
    let guest_file = files.work.join(GUEST_PURGATORY);
    let mut boot_files: Vec<(&str, &Path)> = vec![("bzImage", kernel), ("stage2.cpio", &stage2)];
    if let Some(bytes) = purgatory {
        std::fs::write(&guest_file, bytes)?;
        boot_files.push((GUEST_PURGATORY, &guest_file));
    }
    let stage1 = files.work.join("stage1.cpio");
    let loader = &ctx.programs.kexec_file_load;
    guest::stage1_initramfs(&stage1, &ctx.programs, loader, &args, &boot_files)?;
    Ok(stage1)
}

/// Boots `kernel` with `memory` of RAM, the `stage1` image and the command
/// line `append`, until the `/init`s' verdict.
pub fn boot(
    target: &Target,
    kernel: &Path,
    stage1: &Path,
    append: &str,
    memory: &str,
    firmware: Option<Pflash<'_>>,
    log: &Path,
) -> Result<Run> {
    let machine = Machine {
        qemu: &target.qemu,
        accel: target.accel,
        firmware,
        memory,
        cpus: 1,
        kernel,
        initrd: stage1,
        append,
        extra_args: &[],
    };
    qemu::run(&machine, &init_verdict(Duration::from_secs(120)), log)
}

/// The refusal a case expects: the checker's rules and the kernel's line.
fn refusal(case: KexecFile) -> Option<(&'static [&'static str], &'static str)> {
    match case {
        KexecFile::TwoProgramHeaders => Some((
            &["program-headers", "program-header-type"],
            TWO_PROGRAM_HEADERS,
        )),
        KexecFile::RegsSize => Some((&["symbol-size"], REGS_SIZE_MISMATCH)),
        _ => None,
    }
}

/// The purgatory file the guest gets, if any, and what the checker said.
fn purgatory_file(case: KexecFile, ours: &[u8]) -> Result<Option<(Vec<u8>, String)>> {
    let bad = match case {
        KexecFile::Embedded | KexecFile::EmbeddedAbove4G | KexecFile::CPurgatory => {
            return Ok(None);
        }
        KexecFile::FromFile => return Ok(Some((ours.to_vec(), String::new()))),
        KexecFile::TwoProgramHeaders => elf_edit::two_program_headers(ours)?,
        KexecFile::RegsSize => elf_edit::with_symbol_size(ours, "entry64_regs", 128)?,
    };
    let (rules, _) = refusal(case).ok_or(anyhow!("{case:?} expects no refusal"))?;
    let findings = bad_purgatory::confirm(&bad, rules)?;
    Ok(Some((bad, findings)))
}

/// Prepares the images, boots, and judges the log.
pub fn run(
    scenario: &Scenario,
    case: KexecFile,
    ctx: &Context,
    target: &Target,
) -> Result<Outcome> {
    let kernels = kernels()?;
    let files = ctx.run_files(scenario, target)?;
    let ours = std::fs::read(project_root().join(EMBEDDED_PATH))?;
    let kernel = match case {
        KexecFile::Embedded | KexecFile::EmbeddedAbove4G => &kernels.embedded.bzimage,
        _ => &kernels.builtin.bzimage,
    };
    let file = purgatory_file(case, &ours)?;
    let purgatory = file.as_ref().map(|(bytes, _)| bytes.as_slice());
    let uefi = scenario.firmware == Firmware::Uefi;
    let mut append2 = stage2_append(&files.token);
    if uefi {
        append2.push_str(&format!(" {PARAM_UEFI}=1"));
    }
    let stage1 = stage1(ctx, &files, kernel, &append2, purgatory)?;
    let mut append = format!("console=ttyS0 panic=-1 {PARAM_STAGE}=1");
    if file.is_some() {
        append.push(' ');
        append.push_str(&purgatory_param());
    }
    // QEMU's pc machine puts 3 GiB below the PCI hole, the rest above 4 GiB.
    let memory = if case == KexecFile::EmbeddedAbove4G {
        "6G"
    } else {
        "2G"
    };
    let flash = ctx.flash(scenario.firmware, &files.work)?;
    let firmware = flash.as_ref().map(|flash| flash.pflash());
    let run = boot(
        target, kernel, &stage1, &append, memory, firmware, &files.log,
    )?;
    let verdict = match refusal(case) {
        Some((_, message)) => kexec_file::refusal(&run, message),
        None => {
            let runs_ours = matches!(
                case,
                KexecFile::Embedded | KexecFile::EmbeddedAbove4G | KexecFile::FromFile
            );
            let load = Load {
                ours: runs_ours.then_some(ours.as_slice()),
                from_file: case == KexecFile::FromFile,
                above_4g: case == KexecFile::EmbeddedAbove4G,
            };
            if uefi {
                uefi::kexec_file(&run, load, &files.token)
            } else {
                kexec_file::boot(&run, load, &files.token)
            }
        }
    };
    let mut evidence = evidence::kexec_file(&run.serial);
    if let Some((_, findings)) = file.filter(|(_, findings)| !findings.is_empty()) {
        evidence.insert(0, format!("cargo xtask check on the file: {findings}"));
    }
    Ok(outcome(verdict, evidence, &run, files.log))
}

/// A run of Linux's own loader: it announces no hash path and runs no probe.
pub fn outcome(
    verdict: Result<String, String>,
    evidence: Vec<String>,
    run: &Run,
    log: PathBuf,
) -> Outcome {
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    Outcome {
        passed: verdict.is_ok(),
        summary: verdict.unwrap_or_else(|why| why),
        evidence,
        elapsed: run.elapsed,
        log,
        path: None,
        handover: evidence::handover(&text),
        probe_cr: None,
        kdump: None,
    }
}
