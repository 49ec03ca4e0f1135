//! What every run is given and what it gives back.

use super::stock::StockKernels;
use super::table::{Firmware, Scenario};
use crate::e2e::harness::fetch::{Kernel, Ovmf, Qemu};
use crate::e2e::harness::guest::Programs;
use crate::e2e::harness::qemu::{Accel, ControlRegisters, Pflash};
use crate::e2e::harness::variant::Variant;
use anyhow::{Context as _, Result};
use kexec_load::crash::Span;
use purgatory_abi::HashPath;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the scenarios share.
#[derive(Debug)]
pub struct Context {
    pub root: PathBuf,
    pub kernel: Kernel,
    /// Debian's stock kernels the selected kernel-matrix runs boot.
    pub stock: StockKernels,
    pub programs: Programs,
    pub seed: u64,
    /// The UEFI firmware, fetched when a selected run boots through it.
    pub ovmf: Option<Ovmf>,
}

/// The two flash images of a run booted through UEFI.
#[derive(Debug)]
pub struct Flash {
    pub code: PathBuf,
    /// The run's own copy of the variable store.
    pub vars: PathBuf,
}

impl Flash {
    /// The images as QEMU's machine takes them.
    pub fn pflash(&self) -> Pflash<'_> {
        Pflash {
            code: &self.code,
            vars: &self.vars,
        }
    }
}

/// One QEMU variant, ready to run.
#[derive(Debug)]
pub struct Target {
    pub variant: Variant,
    pub qemu: Qemu,
    pub accel: Accel,
}

/// Where one run keeps its files, and the marker its second stage reports.
#[derive(Debug)]
pub struct RunFiles {
    /// For its images.
    pub work: PathBuf,
    /// The serial log.
    pub log: PathBuf,
    /// Unique to the run and the seed: `<scenario>-<variant>-<seed>`.
    pub token: String,
}

impl Context {
    /// The work directory (created), log path and marker of `scenario` on `target`.
    pub fn run_files(&self, scenario: &Scenario, target: &Target) -> Result<RunFiles> {
        let name = scenario.run_name(target.variant);
        let work = self.root.join("work").join(&name);
        std::fs::create_dir_all(&work)?;
        Ok(RunFiles {
            work,
            log: self.root.join("logs").join(format!("{name}.log")),
            token: format!(
                "{}-{}-{:08x}",
                scenario.name,
                target.variant.name(),
                self.seed as u32
            ),
        })
    }
}

impl Context {
    /// What a run booted by `firmware` needs in flash: nothing for SeaBIOS,
    /// OVMF with a fresh variable store in `work` for UEFI.
    pub fn flash(&self, firmware: Firmware, work: &std::path::Path) -> Result<Option<Flash>> {
        match firmware {
            Firmware::Bios => Ok(None),
            Firmware::Uefi => {
                let ovmf = self
                    .ovmf
                    .as_ref()
                    .context("a UEFI run, but OVMF was not fetched")?;
                Ok(Some(Flash {
                    code: ovmf.code.clone(),
                    vars: ovmf.fresh_vars(work)?,
                }))
            }
        }
    }
}

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
    /// A kdump run's figures.
    pub kdump: Option<KdumpFigures>,
}

/// What a kdump run measured, for the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct KdumpFigures {
    /// The `crashkernel=` reservation every segment went in.
    pub reservation: Span,
    /// Where the purgatory ran.
    pub purgatory: u64,
    /// The marker the capture kernel read back from `/proc/vmcore`.
    pub marker: Option<String>,
    /// `/proc/vmcore`'s size.
    pub vmcore_bytes: Option<u64>,
    /// Host seconds from the panic to the capture kernel's `/init`.
    pub panic_to_init: Option<f64>,
}

impl fmt::Display for KdumpFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reservation {:#x}..{:#x}, purgatory {:#x}, marker {}, vmcore {}, panic -> capture /init {}",
            self.reservation.start,
            self.reservation.end,
            self.purgatory,
            self.marker.as_deref().unwrap_or("-"),
            self.vmcore_bytes.map_or_else(
                || "-".into(),
                |bytes| format!("{bytes} bytes ({} MiB)", bytes >> 20)
            ),
            self.panic_to_init
                .map_or_else(|| "-".into(), |secs| format!("{secs:.1} s"))
        )
    }
}
