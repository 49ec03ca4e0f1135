//! The scenarios: what each boots, what `kexec-load` is told in the guest,
//! and what the serial log must show for a pass.

use super::deps::{Kernel, Qemu};
use super::guest::{self, Programs};
use super::qemu::{self, Accel, Ending, Machine, Run, Watch};
use anyhow::Result;
use register_probe::protocol::{
    BIG_OK, INIT_FAIL, INIT_PASS, PARAM_BIG, PARAM_MARKER, PARAM_STAGE, PROBE_FAIL, PROBE_PASS,
    QEMU_STATUS_FAIL, QEMU_STATUS_PASS, STAGE2,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Printed by the first kernel as it jumps to the purgatory.
const STARTING_NEW_KERNEL: &str = "kexec_core: Starting new kernel";
const LINUX_BANNER: &str = "Linux version ";
/// Printed by `kexec-load --corrupt-after-digest`.
const FLIPPED: &str = "TEST: flipped the byte";
/// At least this much initrd for the large-initrd scenario.
const BIG_FILE_LEN: u64 = 64 << 20;
const FOUR_GIB: u64 = 1 << 32;
const RFLAGS_IF: u64 = 1 << 9;
/// The `hlt` opcode.
const HLT: u8 = 0xf4;

/// Everything a scenario needs.
#[derive(Debug)]
pub struct Context {
    pub root: PathBuf,
    pub qemu: Qemu,
    pub accel: Accel,
    pub kernel: Kernel,
    pub programs: Programs,
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KernelCase {
    Boots,
    NoVerify,
    LargeInitrd,
    Corrupt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    Low,
    Below4G,
    Above4G,
    Random,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Kernel(KernelCase),
    Probe(Placement),
    /// Linux's own kexec_file_load with the patched kernels (`patched.rs`).
    Patched(super::patched::Case),
}

/// One scenario: its own QEMU run and its own log.
#[derive(Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    kind: Kind,
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "kernel-to-kernel",
        about: "a real kernel kexecs a real kernel; the second /init reports the marker from its command line",
        kind: Kind::Kernel(KernelCase::Boots),
    },
    Scenario {
        name: "probe-low",
        about: "register probe; purgatory in the lowest free RAM",
        kind: Kind::Probe(Placement::Low),
    },
    Scenario {
        name: "probe-below-4g",
        about: "register probe; purgatory in the highest RAM below 4 GiB",
        kind: Kind::Probe(Placement::Below4G),
    },
    Scenario {
        name: "probe-above-4g",
        about: "register probe; purgatory at the top of RAM, above 4 GiB",
        kind: Kind::Probe(Placement::Above4G),
    },
    Scenario {
        name: "probe-random",
        about: "register probe; purgatory at a random page-aligned address (seeded)",
        kind: Kind::Probe(Placement::Random),
    },
    Scenario {
        name: "corrupt-halts",
        about: "a kernel byte flipped after the digest: the purgatory halts, the second kernel never runs",
        kind: Kind::Kernel(KernelCase::Corrupt),
    },
    Scenario {
        name: "no-verify",
        about: "--no-verify (empty region table): the second kernel boots",
        kind: Kind::Kernel(KernelCase::NoVerify),
    },
    Scenario {
        name: "large-initrd",
        about: "a 64 MiB+ initrd, verified by the purgatory and checked byte for byte by the second /init",
        kind: Kind::Kernel(KernelCase::LargeInitrd),
    },
];

/// A scenario's result.
#[derive(Debug)]
pub struct Outcome {
    pub passed: bool,
    /// One line: what was shown, or why it failed.
    pub summary: String,
    /// Serial lines (with host seconds) worth quoting: the hand-over.
    pub evidence: Vec<String>,
    pub elapsed: Duration,
    pub log: PathBuf,
}

impl Scenario {
    /// A scenario of [`super::patched`], which keeps its own list.
    pub const fn patched(
        name: &'static str,
        about: &'static str,
        case: super::patched::Case,
    ) -> Self {
        Self {
            name,
            about,
            kind: Kind::Patched(case),
        }
    }

    /// Whether it boots the patched kernels of `cargo xtask kernel`.
    pub fn needs_patched_kernels(&self) -> bool {
        matches!(self.kind, Kind::Patched(_))
    }

    /// Prepares the images, boots, and judges the log.
    pub fn run(&self, ctx: &Context) -> Result<Outcome> {
        if let Kind::Patched(case) = self.kind {
            return super::patched::run(self.name, case, ctx);
        }
        let work = ctx.root.join("work").join(self.name);
        std::fs::create_dir_all(&work)?;
        let log = ctx.root.join("logs").join(format!("{}.log", self.name));
        let token = format!("{}-{:08x}", self.name, ctx.seed as u32);
        let stage1 = work.join("stage1.cpio");
        let (memory, timeout) = match self.kind {
            Kind::Kernel(case) => {
                let big = (case == KernelCase::LargeInitrd).then_some((BIG_FILE_LEN, ctx.seed));
                let stage2 = work.join("stage2.cpio");
                guest::stage2_initramfs(&stage2, &ctx.programs, big)?;
                let mut append = format!(
                    "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1 {PARAM_STAGE}=2 {PARAM_MARKER}={token}"
                );
                if let Some((len, seed)) = big {
                    append.push_str(&format!(" {PARAM_BIG}={len}:{seed}"));
                }
                let mut args = vec![
                    "/boot/vmlinuz".into(),
                    "--initrd".into(),
                    "/boot/stage2.cpio".into(),
                    "--append".into(),
                    append,
                ];
                match case {
                    KernelCase::NoVerify => args.push("--no-verify".into()),
                    KernelCase::Corrupt => {
                        args.extend(["--corrupt-after-digest".into(), "kernel".into()])
                    }
                    KernelCase::Boots | KernelCase::LargeInitrd => {}
                }
                args.push("--exec".into());
                let files = [
                    ("vmlinuz", ctx.kernel.vmlinuz.as_path()),
                    ("stage2.cpio", stage2.as_path()),
                ];
                guest::stage1_initramfs(&stage1, &ctx.programs, &args, &files)?;
                let timeout = if case == KernelCase::LargeInitrd {
                    240
                } else {
                    150
                };
                ("2G", Duration::from_secs(timeout))
            }
            Kind::Probe(placement) => {
                let mut args = vec![
                    "/boot/probe.bin".into(),
                    "--raw".into(),
                    "--entry-offset".into(),
                    format!("{:#x}", ctx.programs.probe_entry),
                    "--purgatory-addr".into(),
                ];
                args.push(
                    match placement {
                        Placement::Low => "low",
                        Placement::Below4G => "below-4g",
                        Placement::Above4G => "high",
                        Placement::Random => "random",
                    }
                    .into(),
                );
                if placement == Placement::Random {
                    args.extend(["--seed".into(), ctx.seed.to_string()]);
                }
                args.push("--exec".into());
                guest::stage1_initramfs(
                    &stage1,
                    &ctx.programs,
                    &args,
                    &[("probe.bin", &ctx.programs.probe)],
                )?;
                // 6 GiB: RAM both below and above 4 GiB (QEMU's pc machine puts
                // 3 GiB below the PCI hole and the rest above 4 GiB).
                ("6G", Duration::from_secs(120))
            }
            Kind::Patched(_) => unreachable!("patched scenarios return above"),
        };

        let append = format!("console=ttyS0 panic=-1 {PARAM_STAGE}=1");
        let machine = Machine {
            qemu: &ctx.qemu,
            accel: ctx.accel,
            memory,
            kernel: &ctx.kernel.vmlinuz,
            initrd: &stage1,
            append: &append,
        };
        let watch = Watch {
            verdicts: [INIT_PASS, INIT_FAIL, PROBE_PASS, PROBE_FAIL]
                .map(String::from)
                .to_vec(),
            fatal: qemu::FATAL_PATTERNS.iter().map(|p| p.to_string()).collect(),
            halt_after: (self.kind == Kind::Kernel(KernelCase::Corrupt))
                .then(|| STARTING_NEW_KERNEL.into()),
            timeout,
        };
        let run = qemu::run(&machine, &watch, &log)?;
        let verdict = match self.kind {
            Kind::Kernel(KernelCase::Corrupt) => judge_halt(&run),
            Kind::Kernel(case) => judge_second_kernel(&run, case, &token),
            Kind::Probe(placement) => judge_probe(&run, placement),
            Kind::Patched(_) => unreachable!("patched scenarios return above"),
        };
        let evidence = evidence(&log, self.kind);
        Ok(Outcome {
            passed: verdict.is_ok(),
            summary: verdict.unwrap_or_else(|why| why),
            evidence,
            elapsed: run.elapsed,
            log,
        })
    }
}

/// Why a run that should have passed did not, from how it ended.
fn ending_problem(run: &Run) -> String {
    let reset = if run.triple_fault {
        " after a triple fault (see the .qemu-debug.log)"
    } else {
        ""
    };
    match &run.ending {
        Ending::Exited(Some(QEMU_STATUS_PASS)) => "QEMU exited with the pass status".into(),
        Ending::Exited(Some(QEMU_STATUS_FAIL)) => {
            "the guest reported a failure (QEMU status 35)".into()
        }
        Ending::Exited(Some(0)) => {
            format!(
                "QEMU exited with status 0 without a verdict: the guest reset or powered off{reset}"
            )
        }
        Ending::Exited(status) => format!("QEMU exited with status {status:?}{reset}"),
        Ending::Fatal(pattern) => format!("stopped on the fatal pattern {pattern:?}"),
        Ending::VerdictWithoutExit(marker) => format!("{marker:?} appeared but QEMU did not exit"),
        Ending::Halted { rip, .. } => format!("the CPU halted at {rip:#x}"),
        Ending::Timeout => format!(
            "no outcome before the timeout ({:.0} s)",
            run.elapsed.as_secs_f64()
        ),
    }
}

fn passed_exit(run: &Run) -> Result<(), String> {
    if run.exit_status() == Some(QEMU_STATUS_PASS) {
        Ok(())
    } else {
        Err(ending_problem(run))
    }
}

fn require(serial: &str, text: &str, what: &str) -> Result<(), String> {
    if serial.contains(text) {
        Ok(())
    } else {
        Err(format!("{what}: no {text:?} in the serial log"))
    }
}

fn judge_second_kernel(run: &Run, case: KernelCase, token: &str) -> Result<String, String> {
    passed_exit(run)?;
    let serial = &run.serial;
    require(serial, STARTING_NEW_KERNEL, "the first kernel never jumped")?;
    let banners = serial.matches(LINUX_BANNER).count();
    if banners < 2 {
        return Err(format!(
            "{banners} kernel banner(s): the second kernel did not boot"
        ));
    }
    let cmdline_seen = serial.lines().any(|line| {
        line.contains("Command line:") && line.contains(&format!("{PARAM_MARKER}={token}"))
    });
    if !cmdline_seen {
        return Err(format!(
            "no second kernel banner with {PARAM_MARKER}={token} on its command line"
        ));
    }
    require(
        serial,
        &format!("{STAGE2} marker={token}"),
        "the second /init did not report the marker",
    )?;
    let rows = plan_rows(serial);
    match case {
        KernelCase::NoVerify => {
            if rows.iter().any(|row| row.verified) {
                return Err("--no-verify, yet the plan lists verified segments".into());
            }
            Ok(format!(
                "booted with an empty region table; second /init reported marker={token}"
            ))
        }
        KernelCase::LargeInitrd => {
            require(
                serial,
                BIG_OK,
                "the second /init did not check the large file",
            )?;
            let initrd = rows
                .iter()
                .find(|row| row.name == "initrd")
                .ok_or("no initrd row in the plan")?;
            if initrd.bytes < BIG_FILE_LEN || !initrd.verified {
                return Err(format!(
                    "the initrd segment is {:#x} bytes, verified {}",
                    initrd.bytes, initrd.verified
                ));
            }
            Ok(format!(
                "{} MiB initrd at {:#x} verified by the purgatory, every byte checked by the second /init",
                initrd.bytes >> 20,
                initrd.start
            ))
        }
        KernelCase::Boots | KernelCase::Corrupt => {
            let verified = rows.iter().filter(|row| row.verified).count();
            Ok(format!(
                "second kernel booted after verifying {verified} segments; its /init reported marker={token}"
            ))
        }
    }
}

/// The flipped byte must leave the CPU halted inside the purgatory, with
/// interrupts off, and nothing of a second stage in the log.
fn judge_halt(run: &Run) -> Result<String, String> {
    let serial = &run.serial;
    require(serial, FLIPPED, "kexec-load did not flip the byte")?;
    require(serial, STARTING_NEW_KERNEL, "the first kernel never jumped")?;
    if serial.contains(STAGE2)
        || serial.contains(PROBE_PASS)
        || serial.matches(LINUX_BANNER).count() > 1
    {
        return Err("the second stage ran despite the flipped byte".into());
    }
    let Ending::Halted { rip, rflags } = run.ending else {
        return Err(format!("expected a halt, but {}", ending_problem(run)));
    };
    let purgatory = plan_rows(serial)
        .into_iter()
        .find(|row| row.name == "purgatory")
        .ok_or("no purgatory row in the plan")?;
    if !(purgatory.start..purgatory.end).contains(&rip) {
        return Err(format!(
            "the CPU halted at {rip:#x}, outside the purgatory {:#x}..{:#x}",
            purgatory.start, purgatory.end
        ));
    }
    // The halt must be the purgatory's own: RIP just after one of its `hlt`s
    // (the embedded copy is what kexec-load loaded: the build refreshed it).
    let hlt_at = usize::try_from(rip - purgatory.start)
        .ok()
        .and_then(|offset| offset.checked_sub(1));
    if hlt_at.and_then(|at| purgatory_host::PURGATORY_ELF.get(at)) != Some(&HLT) {
        return Err(format!(
            "the CPU halted at {rip:#x}, which does not follow a hlt of the purgatory"
        ));
    }
    if rflags & RFLAGS_IF != 0 {
        return Err(format!(
            "halted at {rip:#x} with interrupts enabled (RFLAGS {rflags:#x})"
        ));
    }
    Ok(format!(
        "purgatory refused: CPU halted on its hlt at {rip:#x} (purgatory {:#x}..{:#x}, IF=0), no second kernel, no reset",
        purgatory.start, purgatory.end
    ))
}

fn judge_probe(run: &Run, placement: Placement) -> Result<String, String> {
    let serial = &run.serial;
    if serial.contains(PROBE_FAIL) {
        return Err("the probe found a mismatch (see the PROBE lines)".into());
    }
    passed_exit(run)?;
    require(serial, PROBE_PASS, "the probe gave no verdict")?;
    let row = plan_rows(serial)
        .into_iter()
        .find(|row| row.name == "purgatory")
        .ok_or("no purgatory row in the plan")?;
    let (start, end) = (row.start, row.end);
    let placed = match placement {
        Placement::Low => start < 0x10_0000,
        Placement::Below4G => end <= FOUR_GIB && start >= FOUR_GIB / 2,
        Placement::Above4G => start >= FOUR_GIB,
        Placement::Random => start.is_multiple_of(0x1000),
    };
    if !placed {
        return Err(format!(
            "the purgatory went to {start:#x}..{end:#x}, not where {placement:?} asks"
        ));
    }
    let seed = if placement == Placement::Random {
        serial
            .lines()
            .find_map(|line| {
                line.split_once("(seed ")
                    .map(|(_, s)| s.trim_end_matches([')', ' ']))
            })
            .map(|s| format!(" (seed {s})"))
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(format!(
        "purgatory at {start:#x}..{end:#x}{seed}; all registers, selectors, IF and GDT as expected"
    ))
}

/// A segment row of `kexec-load`'s plan, as printed in the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PlanRow {
    name: String,
    start: u64,
    end: u64,
    bytes: u64,
    verified: bool,
}

/// Rows look like `  3  purgatory    0x…  0x…  0x…(memsz)  0x…(bytes)  yes|no…`.
fn plan_rows(serial: &str) -> Vec<PlanRow> {
    let hex = |text: &str| u64::from_str_radix(text.strip_prefix("0x")?, 16).ok();
    serial
        .lines()
        .filter_map(|line| {
            let words: Vec<_> = line.split_whitespace().collect();
            let [index, name, start, end, _memsz, bytes, verified, ..] = words[..] else {
                return None;
            };
            index.parse::<usize>().ok()?;
            Some(PlanRow {
                name: name.to_owned(),
                start: hex(start)?,
                end: hex(end)?,
                bytes: hex(bytes)?,
                verified: verified == "yes",
            })
        })
        .collect()
}

/// The timestamped log lines that show the hand-over.
fn evidence(log: &Path, kind: Kind) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut banners = 0;
    let mut picked = Vec::new();
    for line in text.lines() {
        if line.contains(LINUX_BANNER) {
            banners += 1;
        }
        let wanted = line.contains(STARTING_NEW_KERNEL)
            || line.contains(FLIPPED)
            || (banners >= 2 && (line.contains(LINUX_BANNER) || line.contains("Command line:")))
            || line.contains(STAGE2)
            || line.contains(BIG_OK)
            || line.contains(INIT_PASS)
            || line.contains("PROBE: reached")
            || line.contains(PROBE_PASS)
            || line.contains("monitor: CPU halted");
        if wanted {
            picked.push(line.trim_end().to_owned());
        }
    }
    if matches!(kind, Kind::Probe(_)) {
        picked.retain(|line| !line.contains(LINUX_BANNER));
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_rows_parse() {
        let serial = "kexec-load: bzImage ...\n  #  segment      start  end\n\
            \x20 0  kernel       0x0000000001000000  0x0000000004c00000  0x03c00000  0x00c31000  yes\n\
            \x20 3  purgatory    0x00000000bffd7000  0x00000000bffe0000  0x00009000  0x00007770  no (holds the digest)\n\
            \x20 purgatory    highest fit in RAM\n[    0.0] 1 2 3 4 5 6\n";
        let rows = plan_rows(serial);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1],
            PlanRow {
                name: "purgatory".into(),
                start: 0xbffd_7000,
                end: 0xbffe_0000,
                bytes: 0x7770,
                verified: false
            }
        );
        assert!(rows[0].verified);
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in SCENARIOS.iter().enumerate() {
            assert!(SCENARIOS[i + 1..].iter().all(|b| b.name != a.name));
        }
    }
}
