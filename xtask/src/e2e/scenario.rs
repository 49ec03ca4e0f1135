//! The scenarios: what each boots, what `kexec-load` is told in the guest, and
//! on which QEMU variants it runs; [`judge`](super::judge) decides from the
//! serial log.

use super::deps::{Kernel, Qemu};
use super::guest::{self, Programs};
use super::judge::{self, Expect};
use super::qemu::{self, Accel, ControlRegisters, Machine, Watch};
use super::variant::Variant;
use anyhow::Result;
use e2e_protocol::protocol::{
    INIT_FAIL, INIT_PASS, PARAM_BIG, PARAM_MARKER, PARAM_STAGE, PROBE_FAIL, PROBE_PASS,
};
use purgatory_abi::HashPath;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The purgatory's last line before its `cli; hlt` loop, after the failure
/// report: the watcher stops QEMU on it.
pub const PURGATORY_HALTING: &str = "purgatory: halting";
/// Printed by the first kernel as it jumps to the purgatory.
pub const STARTING_NEW_KERNEL: &str = "kexec_core: Starting new kernel";
/// Printed by the first kernel just before its `/init` starts: CR0 and CR4
/// are read then, while it still runs, for the probe's cross-check.
const RUN_INIT: &str = "Run /init as init process";
/// At least this much initrd for the large-initrd scenarios.
pub const BIG_FILE_LEN: u64 = 64 << 20;

/// Everything the scenarios share.
#[derive(Debug)]
pub struct Context {
    pub root: PathBuf,
    pub kernel: Kernel,
    pub programs: Programs,
    pub seed: u64,
}

/// One QEMU variant, ready to run.
#[derive(Debug)]
pub struct Target {
    pub variant: Variant,
    pub qemu: Qemu,
    pub accel: Accel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelCase {
    Boots,
    NoVerify,
    LargeInitrd,
    /// A flipped byte: the purgatory names the segment on its console and halts.
    Corrupt,
    /// A flipped byte with `--on-failure reset`: it says so and resets.
    CorruptReset,
    /// A flipped byte with `--no-console`: it halts without a word, as Linux's.
    CorruptSilent,
}

impl KernelCase {
    /// The cases where the purgatory must refuse the image.
    pub fn corrupt(self) -> bool {
        matches!(
            self,
            Self::Corrupt | Self::CorruptReset | Self::CorruptSilent
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Low,
    Below4G,
    Above4G,
    Random,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Kernel(KernelCase),
    Probe(Placement),
    /// Linux's own kexec_file_load with the patched kernels (`patched.rs`).
    Patched(super::patched::Case),
}

/// One scenario; each variant it lists is its own QEMU run with its own log.
#[derive(Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    kind: Kind,
    /// `kexec-load --software-sha256`.
    software_sha256: bool,
    pub variants: &'static [Variant],
}

/// QEMU 7.2 runs the core (a real kernel, one probe, the refusal, the large
/// initrd) on the software path; QEMU 10 runs everything on the SHA-NI path,
/// plus the forced software path on a CPU that has SHA-NI. (Timing the large
/// initrd both ways on QEMU 10 showed SHA-NI ahead by only ~0.6 s of ~3 s
/// under TCG, less than the run-to-run noise: the probe's XMM check, not the
/// clock, is what shows the path.)
const BOTH: &[Variant] = &[Variant::Qemu7, Variant::Qemu10];
const QEMU10: &[Variant] = &[Variant::Qemu10];

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "kernel-to-kernel",
        about: "a real kernel kexecs a real kernel; the second /init reports the marker from its command line",
        kind: Kind::Kernel(KernelCase::Boots),
        software_sha256: false,
        variants: BOTH,
    },
    Scenario {
        name: "probe-low",
        about: "register probe; purgatory in the lowest free RAM",
        kind: Kind::Probe(Placement::Low),
        software_sha256: false,
        variants: BOTH,
    },
    Scenario {
        name: "probe-below-4g",
        about: "register probe; purgatory in the highest RAM below 4 GiB",
        kind: Kind::Probe(Placement::Below4G),
        software_sha256: false,
        variants: QEMU10,
    },
    Scenario {
        name: "probe-above-4g",
        about: "register probe; purgatory at the top of RAM, above 4 GiB",
        kind: Kind::Probe(Placement::Above4G),
        software_sha256: false,
        variants: QEMU10,
    },
    Scenario {
        name: "probe-random",
        about: "register probe; purgatory at a random page-aligned address (seeded)",
        kind: Kind::Probe(Placement::Random),
        software_sha256: false,
        variants: QEMU10,
    },
    Scenario {
        name: "probe-software-sha256",
        about: "register probe with --software-sha256: the portable path on a CPU with SHA-NI",
        kind: Kind::Probe(Placement::Below4G),
        software_sha256: true,
        variants: QEMU10,
    },
    Scenario {
        name: "corrupt-halts",
        about: "a kernel byte flipped after the digest: the purgatory names the segment and halts, the second kernel never runs",
        kind: Kind::Kernel(KernelCase::Corrupt),
        software_sha256: false,
        variants: BOTH,
    },
    Scenario {
        name: "corrupt-resets",
        about: "a kernel byte flipped with --on-failure reset: the purgatory names the segment and resets the machine",
        kind: Kind::Kernel(KernelCase::CorruptReset),
        software_sha256: false,
        variants: QEMU10,
    },
    Scenario {
        name: "corrupt-silent",
        about: "a kernel byte flipped with --no-console: the purgatory halts without printing a thing",
        kind: Kind::Kernel(KernelCase::CorruptSilent),
        software_sha256: false,
        variants: QEMU10,
    },
    Scenario {
        name: "no-verify",
        about: "--no-verify (empty region table): the second kernel boots",
        kind: Kind::Kernel(KernelCase::NoVerify),
        software_sha256: false,
        variants: QEMU10,
    },
    Scenario {
        name: "large-initrd",
        about: "a 64 MiB+ initrd, verified by the purgatory and checked byte for byte by the second /init",
        kind: Kind::Kernel(KernelCase::LargeInitrd),
        software_sha256: false,
        variants: BOTH,
    },
];

/// A run's result.
#[derive(Debug)]
pub struct Outcome {
    pub passed: bool,
    /// One line: what was shown, or why it failed.
    pub summary: String,
    /// Serial lines (with host seconds) worth quoting: the hand-over.
    pub evidence: Vec<String>,
    pub elapsed: Duration,
    pub log: PathBuf,
    /// The hash path the run showed (the probe's XMM registers, else the
    /// loader's announcement).
    pub path: Option<HashPath>,
    /// Host seconds from the jump to the purgatory to the next image's first
    /// line: the purgatory's hash plus, for a kernel, its decompression.
    pub handover: Option<f64>,
    /// CR0 and CR4 at the probe's entry.
    pub probe_cr: Option<ControlRegisters>,
}

impl Scenario {
    /// A scenario of [`super::patched`], which keeps its own list.
    pub const fn patched(
        name: &'static str,
        about: &'static str,
        case: super::patched::Case,
        variants: &'static [Variant],
    ) -> Self {
        Self {
            name,
            about,
            kind: Kind::Patched(case),
            software_sha256: false,
            variants,
        }
    }

    /// Whether it boots the patched kernels of `cargo xtask kernel`.
    pub fn needs_patched_kernels(&self) -> bool {
        matches!(self.kind, Kind::Patched(_))
    }

    /// The run's name: `<scenario>@<variant>`.
    pub fn run_name(&self, variant: Variant) -> String {
        format!("{}@{}", self.name, variant.name())
    }

    /// Prepares the images, boots, and judges the log.
    pub fn run(&self, ctx: &Context, target: &Target) -> Result<Outcome> {
        if let Kind::Patched(case) = self.kind {
            return super::patched::run(self, case, ctx, target);
        }
        let name = self.run_name(target.variant);
        let work = ctx.root.join("work").join(&name);
        std::fs::create_dir_all(&work)?;
        let log = ctx.root.join("logs").join(format!("{name}.log"));
        let token = format!(
            "{}-{}-{:08x}",
            self.name,
            target.variant.name(),
            ctx.seed as u32
        );
        let stage1 = work.join("stage1.cpio");
        let args = self.kexec_args(ctx, &work, &token)?;
        let files = self.files(ctx, &work);
        let files: Vec<_> = files.iter().map(|(n, p)| (*n, p.as_path())).collect();
        guest::stage1_initramfs(&stage1, &ctx.programs, &args, &files)?;
        let (memory, timeout) = match self.kind {
            Kind::Kernel(KernelCase::LargeInitrd) => ("2G", 240),
            Kind::Kernel(_) => ("2G", 150),
            // 6 GiB: RAM both below and above 4 GiB (QEMU's pc machine puts
            // 3 GiB below the PCI hole and the rest above 4 GiB).
            Kind::Probe(_) => ("6G", 120),
            Kind::Patched(_) => unreachable!("patched scenarios return above"),
        };

        let append = format!("console=ttyS0 panic=-1 {PARAM_STAGE}=1");
        let machine = Machine {
            qemu: &target.qemu,
            accel: target.accel,
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
            // The failure report ends the run at once; a halt without it
            // (a silent purgatory) still ends it, through the monitor.
            stop_on: (self.kind == Kind::Kernel(KernelCase::Corrupt))
                .then(|| PURGATORY_HALTING.into())
                .into_iter()
                .collect(),
            halt_after: matches!(
                self.kind,
                Kind::Kernel(KernelCase::Corrupt | KernelCase::CorruptSilent)
            )
            .then(|| STARTING_NEW_KERNEL.into()),
            snapshot_after: matches!(self.kind, Kind::Probe(_)).then(|| RUN_INIT.into()),
            timeout: Duration::from_secs(timeout),
        };
        let run = qemu::run(&machine, &watch, &log)?;
        let expect = Expect {
            path: target.variant.hash_path(target.accel, self.software_sha256),
            sha_ni: target.variant.sha_ni(target.accel),
        };
        let verdict = match self.kind {
            Kind::Kernel(KernelCase::Corrupt) => judge::halt(&run, &expect, true),
            Kind::Kernel(KernelCase::CorruptSilent) => judge::halt(&run, &expect, false),
            Kind::Kernel(KernelCase::CorruptReset) => judge::reset(&run, &expect),
            Kind::Kernel(case) => judge::second_kernel(&run, case, &token, &expect),
            Kind::Probe(placement) => {
                judge::probe(&run, placement, ctx.programs.probe_entry, &expect)
            }
            Kind::Patched(_) => unreachable!("patched scenarios return above"),
        };
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        Ok(Outcome {
            passed: verdict.is_ok(),
            summary: verdict.unwrap_or_else(|why| why),
            evidence: judge::evidence(&text, self.kind),
            elapsed: run.elapsed,
            log,
            path: judge::shown_path(&run.serial),
            handover: judge::handover(&text),
            probe_cr: judge::probe_cr(&run.serial),
        })
    }

    /// The `/boot` files of the stage-1 image.
    fn files(&self, ctx: &Context, work: &Path) -> Vec<(&'static str, PathBuf)> {
        match self.kind {
            Kind::Kernel(_) => vec![
                ("vmlinuz", ctx.kernel.vmlinuz.clone()),
                ("stage2.cpio", work.join("stage2.cpio")),
            ],
            Kind::Probe(_) => vec![("probe.bin", ctx.programs.probe.clone())],
            Kind::Patched(_) => unreachable!("patched scenarios build their own images"),
        }
    }

    /// The `kexec-load` arguments, ending in `--exec` as `/init` expects; a
    /// kernel scenario's stage-2 image is written on the way.
    fn kexec_args(&self, ctx: &Context, work: &Path, token: &str) -> Result<Vec<String>> {
        let mut args: Vec<String> = match self.kind {
            Kind::Kernel(case) => {
                let big = (case == KernelCase::LargeInitrd).then_some((BIG_FILE_LEN, ctx.seed));
                guest::stage2_initramfs(&work.join("stage2.cpio"), &ctx.programs, big)?;
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
                if case == KernelCase::NoVerify {
                    args.push("--no-verify".into());
                }
                if case.corrupt() {
                    args.extend(["--corrupt-after-digest".into(), "kernel".into()]);
                }
                // The console is left to kexec-load's default (the guest's
                // console is ttyS0) except where the scenario is about it.
                match case {
                    KernelCase::CorruptReset => {
                        args.extend(["--on-failure".into(), "reset".into()])
                    }
                    KernelCase::CorruptSilent => args.push("--no-console".into()),
                    _ => {}
                }
                args
            }
            Kind::Probe(placement) => {
                let mut args = vec![
                    "/boot/probe.bin".into(),
                    "--raw".into(),
                    "--entry-offset".into(),
                    format!("{:#x}", ctx.programs.probe_entry),
                    "--purgatory-addr".into(),
                    match placement {
                        Placement::Low => "low",
                        Placement::Below4G => "below-4g",
                        Placement::Above4G => "high",
                        Placement::Random => "random",
                    }
                    .into(),
                ];
                if placement == Placement::Random {
                    args.extend(["--seed".into(), ctx.seed.to_string()]);
                }
                args
            }
            Kind::Patched(_) => unreachable!("patched scenarios build their own images"),
        };
        if self.software_sha256 {
            args.push("--software-sha256".into());
        }
        args.push("--exec".into());
        Ok(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_scenario_runs_somewhere() {
        for (i, a) in SCENARIOS.iter().enumerate() {
            assert!(SCENARIOS[i + 1..].iter().all(|b| b.name != a.name));
            assert!(!a.variants.is_empty(), "{}", a.name);
            assert!(!a.name.contains('@'), "{}", a.name);
        }
    }

    /// Each path takes a real kexec, a probe, a refusal and a large initrd.
    #[test]
    fn both_variants_cover_the_core() {
        for name in [
            "kernel-to-kernel",
            "probe-low",
            "corrupt-halts",
            "large-initrd",
        ] {
            let s = SCENARIOS.iter().find(|s| s.name == name).unwrap();
            assert_eq!(s.variants, BOTH, "{name}");
        }
        assert!(
            SCENARIOS
                .iter()
                .any(|s| s.software_sha256 && s.variants.contains(&Variant::Qemu10))
        );
    }
}
