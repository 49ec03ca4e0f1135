//! What every judge needs: what the run's QEMU variant demands of the hash
//! path, why a run ended as it did, and the path `kexec-load` announced.

use crate::e2e::harness::qemu::{Accel, Ending, Run};
use crate::e2e::harness::variant::Variant;
use crate::e2e::suite::table::{HIGH_MEMORY, Placement};
use crate::e2e::suite::vocabulary::guest::{QEMU_STATUS_FAIL, QEMU_STATUS_PASS};
use crate::e2e::suite::vocabulary::plan::Plan;
use crate::e2e::suite::vocabulary::purgatory;
use purgatory_abi::{HashPath, ShaRegions};

/// Where placements above and below 4 GiB part.
pub const FOUR_GIB: u64 = 1 << 32;

/// What the run's QEMU variant demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    /// The hash path the purgatory must take (unknown under KVM).
    pub path: Option<HashPath>,
    /// Whether the guest CPU has SHA-NI (unknown under KVM: the guest then
    /// gets the default CPU model, whose features depend on the host).
    pub sha_ni: Option<bool>,
    /// Whether QEMU's `-d int` log shows each interrupt the guest takes: only
    /// under TCG (KVM delivers them without QEMU's emulation seeing them).
    pub interrupt_log: bool,
}

impl Expect {
    /// On `variant` under `accel`; `software_sha256` is the loader's
    /// `--software-sha256`, which forces the portable path.
    pub fn new(variant: Variant, accel: Accel, software_sha256: bool) -> Self {
        let sha_ni = match accel {
            Accel::Kvm => None,
            Accel::Tcg => Some(variant.sha_ni_under_tcg()),
        };
        let path = if software_sha256 {
            Some(HashPath::Software)
        } else {
            sha_ni.map(|sha_ni| {
                if sha_ni {
                    HashPath::ShaNi
                } else {
                    HashPath::Software
                }
            })
        };
        Self {
            path,
            sha_ni,
            interrupt_log: accel == Accel::Tcg,
        }
    }

    /// Why the guest CPU should or should not have had SHA-NI.
    pub fn sha_ni_hint(&self) -> &'static str {
        match self.sha_ni {
            Some(true) => " (its QEMU should emulate SHA-NI under TCG -cpu max)",
            Some(false) => " (its QEMU should not emulate SHA-NI under TCG -cpu max)",
            None => "",
        }
    }
}

/// Why a run that should have passed did not, from how it ended.
pub fn ending_problem(run: &Run) -> String {
    let reset = if run.triple_fault {
        " after a triple fault (see the .qemu-debug.log)"
    } else {
        ""
    };
    match &run.ending {
        Ending::Exited(Some(QEMU_STATUS_PASS)) => "QEMU exited with the pass status".into(),
        Ending::Exited(Some(QEMU_STATUS_FAIL)) => {
            format!("the guest reported a failure (QEMU status {QEMU_STATUS_FAIL})")
        }
        Ending::Exited(Some(0)) => {
            format!(
                "QEMU exited with status 0 without a verdict: the guest reset or powered off{reset}"
            )
        }
        Ending::Exited(status) => format!("QEMU exited with status {status:?}{reset}"),
        Ending::Fatal(pattern) => format!("stopped on the fatal pattern {pattern:?}"),
        Ending::Stopped(pattern) => format!("stopped on {pattern:?}"),
        Ending::VerdictWithoutExit(marker) => format!("{marker:?} appeared but QEMU did not exit"),
        Ending::Halted { rip, .. } => format!("the CPU halted at {rip:#x}"),
        Ending::Timeout => format!(
            "no outcome before the timeout ({:.0} s)",
            run.elapsed.as_secs_f64()
        ),
    }
}

/// Fails unless the guest exited QEMU with the pass status.
pub fn passed_exit(run: &Run) -> Result<(), String> {
    if run.exit_status() == Some(QEMU_STATUS_PASS) {
        Ok(())
    } else {
        Err(ending_problem(run))
    }
}

/// The path `kexec-load` announced, by the purgatory's rule, which must be
/// the one the variant demands.
pub fn loader_path(plan: &Plan, expect: &Expect) -> Result<HashPath, String> {
    match expect.path {
        Some(want) if want != plan.hash => Err(format!(
            "kexec-load announced the {} path, but this variant must take the {} path{}",
            plan.hash.name(),
            want.name(),
            expect.sha_ni_hint()
        )),
        _ => Ok(plan.hash),
    }
}

/// The purgatory's console for a load it passes (see
/// [`console_verified`]), from the plan.
pub fn console_passed(serial: &str, plan: &Plan, target: u64) -> Result<String, String> {
    console_verified(serial, &plan.regions()?, plan.hash, target)
}

/// The purgatory's console for a load of `regions` it passes on `path` (see
/// [`purgatory::passing_regions`]), checked, with the TSC ticks it spent,
/// which must be some; and what it said.
pub fn console_verified(
    serial: &str,
    regions: &ShaRegions,
    path: HashPath,
    target: u64,
) -> Result<String, String> {
    let expected = purgatory::passing_regions(regions, path, target);
    let values = purgatory::check(&purgatory::printed(serial), &expected)?;
    let ticks = values
        .iter()
        .flatten()
        .find_map(|value| value.parse::<u64>().ok())
        .filter(|&ticks| ticks > 0)
        .ok_or("the purgatory's verification took 0 TSC ticks")?;
    Ok(format!(
        "purgatory said: {} segments, {} bytes on the {} path in {ticks} TSC ticks, jumping to {target:#x}",
        regions.iter().filter(|region| region.len != 0).count(),
        purgatory::covered(regions),
        path.name()
    ))
}

/// Fails unless the purgatory lies where `placement` asks.
pub fn placed(placement: Placement, purgatory: &std::ops::Range<u64>) -> Result<(), String> {
    let (start, end) = (purgatory.start, purgatory.end);
    let placed = match placement {
        Placement::Low => start < 0x10_0000,
        Placement::Below4G => end <= FOUR_GIB && start >= FOUR_GIB / 2,
        Placement::Above4G => start >= FOUR_GIB,
        Placement::Above128T => start >= HIGH_MEMORY,
        Placement::Random => start.is_multiple_of(0x1000),
    };
    if placed {
        Ok(())
    } else {
        Err(format!(
            "the purgatory went to {start:#x}..{end:#x}, not where {placement:?} asks"
        ))
    }
}

pub fn path_words(path: HashPath) -> String {
    format!("kexec-load announced the {} path", path.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_covers_one_path_under_tcg() {
        let path = |variant, accel, software| Expect::new(variant, accel, software).path;
        assert_eq!(
            path(Variant::Qemu7, Accel::Tcg, false),
            Some(HashPath::Software)
        );
        assert_eq!(
            path(Variant::Qemu10, Accel::Tcg, false),
            Some(HashPath::ShaNi)
        );
        assert_eq!(
            path(Variant::Qemu10, Accel::Tcg, true),
            Some(HashPath::Software)
        );
        assert_eq!(path(Variant::Qemu10, Accel::Kvm, false), None);
    }

    #[test]
    fn the_announced_path_must_be_the_variants() {
        use crate::e2e::suite::vocabulary::plan::{read, tests::plan_line};
        let purgatory = [("purgatory", 0x1000, 0x1000, 0x800, false)];
        let plan = read(&plan_line(&purgatory, HashPath::ShaNi)).unwrap();
        let qemu7 = Expect::new(Variant::Qemu7, Accel::Tcg, false);
        let why = loader_path(&plan, &qemu7).unwrap_err();
        assert!(why.contains("must take the software path"), "{why}");
        let qemu10 = Expect::new(Variant::Qemu10, Accel::Tcg, false);
        assert_eq!(loader_path(&plan, &qemu10), Ok(HashPath::ShaNi));
    }
}
