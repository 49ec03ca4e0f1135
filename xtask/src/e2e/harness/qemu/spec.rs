//! What to boot and when to stop: the caller's side of a run.

use crate::e2e::harness::fetch::Qemu;
use std::path::Path;
use std::time::Duration;

/// How the guest executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Self::Kvm => "kvm",
            Self::Tcg => "tcg",
        }
    }

    /// `-cpu max` under TCG (SHA-NI, LA57: the most demanding CPU). Under
    /// KVM the default model: `-cpu host`/`max` abort on nested PVM hosts.
    pub(super) fn args(self) -> &'static [&'static str] {
        match self {
            Self::Kvm => &["-accel", "kvm"],
            Self::Tcg => &["-accel", "tcg", "-cpu", "max"],
        }
    }
}

/// UEFI firmware in QEMU's two flash chips.
#[derive(Debug, Clone, Copy)]
pub struct Pflash<'a> {
    /// The firmware, read-only.
    pub code: &'a Path,
    /// The run's own writable variable store.
    pub vars: &'a Path,
}

/// What to boot.
#[derive(Debug)]
pub struct Machine<'a> {
    pub qemu: &'a Qemu,
    pub accel: Accel,
    /// `None`: QEMU's own BIOS (SeaBIOS).
    pub firmware: Option<Pflash<'a>>,
    /// `-m`, e.g. "2G".
    pub memory: &'a str,
    /// `-smp`: how many CPUs.
    pub cpus: u32,
    pub kernel: &'a Path,
    pub initrd: &'a Path,
    pub append: &'a str,
    /// Further arguments, after all the others: memory devices, CPU
    /// properties (`-global max-x86_64-cpu.phys-bits=52`).
    pub extra_args: &'a [String],
}

/// When to stop.
#[derive(Debug, Default)]
pub struct Watch {
    /// Serial text after which the guest exits by itself (its verdict).
    pub verdicts: Vec<String>,
    /// Serial or QEMU stderr text after which nothing good can follow (QEMU's
    /// own [`QEMU_FATAL`] lines are always watched for).
    pub fatal: Vec<String>,
    /// Serial text that ends the run at once; the CPU's state is read
    /// through the monitor first (see [`Run::cpu_at_stop`](super::outcome::Run::cpu_at_stop)).
    pub stop_on: Vec<String>,
    /// Serial text after which a halted CPU ends the run (polled).
    pub halt_after: Option<String>,
    /// Serial text after which CR0 and CR4 are read once (the first kernel's).
    pub snapshot_after: Option<String>,
    /// Monitor commands sent in order once a stop line has appeared and the
    /// CPU's state was read, before the run ends (see
    /// [`Run::exchanges`](super::outcome::Run::exchanges)); QEMU exiting
    /// meanwhile ends it as [`Ending::Exited`](super::outcome::Ending::Exited).
    pub at_stop: Vec<MonitorCommand>,
    pub timeout: Duration,
}

/// A monitor command, and how long the guest runs after it before the CPU's
/// state is read and the next one is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorCommand {
    pub line: String,
    pub then: Duration,
}

/// QEMU reporting that KVM failed: nothing good can follow, whatever runs.
pub const QEMU_FATAL: &[&str] = &["KVM internal error", "failed to initialize kvm"];
