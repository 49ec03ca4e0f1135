//! The purgatory refuses an image with a byte flipped after the digest: the
//! first kernel jumped (a kexec, or a crash's panic), nothing of a second
//! stage ran, the purgatory said exactly what its library says for that segment and policy (or, without a
//! console, nothing at all), and the CPU halted on one of its own `hlt`s with
//! interrupts off (and stayed there through NMIs, see [`super::nmi`]), or the
//! machine reset.

use super::common::{Expect, loader_path, path_words};
use super::nmi;
use super::stop::{halted, reset};
use crate::e2e::harness::log::require;
use crate::e2e::harness::qemu::Run;
use crate::e2e::suite::table::Refusal;
use crate::e2e::suite::vocabulary::guest::{PROBE_PASS, STAGE2};
use crate::e2e::suite::vocabulary::linux::banners;
use crate::e2e::suite::vocabulary::plan::{self, Plan};
use crate::e2e::suite::vocabulary::purgatory;
use kexec_load::report::Corruption;
use purgatory_abi::FailurePolicy;

/// `jumped` is the first kernel's line as it hands over: the kexec's
/// `Starting new kernel`, or a crash kernel's panic.
pub fn judge(run: &Run, refusal: Refusal, expect: &Expect, jumped: &str) -> Result<String, String> {
    let serial = &run.serial;
    let plan = plan::read(serial)?;
    let flipped = plan
        .corruption
        .clone()
        .ok_or("kexec-load's plan flipped no byte")?;
    let path = loader_path(&plan, expect)?;
    jumped_to_the_purgatory_only(serial, jumped)?;
    let (said, stop) = match refusal {
        Refusal::Halt => (
            console(serial, &plan, &flipped, FailurePolicy::Halt)?,
            halted(run, &plan)?,
        ),
        Refusal::Silent => (silence(serial)?, halted(run, &plan)?),
        Refusal::HaltThenNmi => (
            console(serial, &plan, &flipped, FailurePolicy::Halt)?,
            nmi::survived(run, &plan, expect)?,
        ),
        Refusal::Reset => (
            console(serial, &plan, &flipped, FailurePolicy::Reset)?,
            reset(run)?,
        ),
    };
    Ok(format!(
        "purgatory refused: {said}; {stop}; {}",
        path_words(path)
    ))
}

/// The first kernel jumped to the purgatory (`jumped` is its line as it
/// does), and nothing after it ran.
pub(super) fn jumped_to_the_purgatory_only(serial: &str, jumped: &str) -> Result<(), String> {
    require(serial, jumped, "the first kernel never jumped")?;
    if serial.contains(STAGE2) || serial.contains(PROBE_PASS) || banners(serial) > 1 {
        return Err("the second stage ran despite the flipped byte".into());
    }
    Ok(())
}

/// The failure report for the segment `kexec-load` flipped, ending in the
/// line for `policy`.
fn console(
    serial: &str,
    plan: &Plan,
    flipped: &Corruption,
    policy: FailurePolicy,
) -> Result<String, String> {
    purgatory::check(
        &purgatory::printed(serial),
        &purgatory::refusing(plan, flipped, policy)?,
    )?;
    Ok(format!(
        "it named segment {} at {:#x} (the flipped one) and said {:?}",
        flipped.region,
        flipped.segment_start,
        purgatory::stopping(policy)
    ))
}

/// `--no-console`: not one line from the purgatory.
fn silence(serial: &str) -> Result<String, String> {
    match purgatory::printed(serial).first() {
        Some(line) => Err(format!("--no-console, yet the purgatory printed {line:?}")),
        None => Ok("--no-console: not one purgatory line".to_owned()),
    }
}
