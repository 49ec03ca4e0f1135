//! The purgatory refuses an image with a byte flipped after the digest: the
//! first kernel jumped, nothing of a second stage ran, the purgatory said
//! exactly what its library says for that segment and policy (or, without a
//! console, nothing at all), and the CPU halted on one of its own `hlt`s with
//! interrupts off, or the machine reset.

use super::common::{Expect, ending_problem, loader_path, path_words};
use crate::e2e::harness::log::require;
use crate::e2e::harness::qemu::{Ending, Run};
use crate::e2e::suite::table::Refusal;
use crate::e2e::suite::vocabulary::guest::{PROBE_PASS, STAGE2};
use crate::e2e::suite::vocabulary::linux::{STARTING_NEW_KERNEL, banners};
use crate::e2e::suite::vocabulary::plan::{self, Plan};
use crate::e2e::suite::vocabulary::purgatory;
use kexec_load::report::Corruption;
use purgatory_abi::FailurePolicy;

const RFLAGS_IF: u64 = 1 << 9;
/// The `hlt` opcode.
const HLT: u8 = 0xf4;

pub fn judge(run: &Run, refusal: Refusal, expect: &Expect) -> Result<String, String> {
    let serial = &run.serial;
    let plan = plan::read(serial)?;
    let flipped = plan
        .corruption
        .clone()
        .ok_or("kexec-load's plan flipped no byte")?;
    let path = loader_path(&plan, expect)?;
    require(serial, STARTING_NEW_KERNEL, "the first kernel never jumped")?;
    no_second_stage(serial)?;
    let (said, stop) = match refusal {
        Refusal::Halt => (
            console(serial, &plan, &flipped, FailurePolicy::Halt)?,
            halted(run, &plan)?,
        ),
        Refusal::Silent => (silence(serial)?, halted(run, &plan)?),
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

fn no_second_stage(serial: &str) -> Result<(), String> {
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

/// The CPU halted inside the purgatory, right after one of its `hlt`s (the
/// embedded copy is what kexec-load loaded: the build refreshed it), with
/// interrupts off.
fn halted(run: &Run, plan: &Plan) -> Result<String, String> {
    let (rip, rflags) = match (&run.ending, run.cpu_at_stop) {
        (Ending::Halted { rip, rflags }, _) => (*rip, *rflags),
        (Ending::Stopped(_), Some(cpu)) if cpu.halted => (cpu.rip, cpu.rflags),
        (Ending::Stopped(pattern), cpu) => {
            return Err(format!(
                "stopped on {pattern:?}, but the CPU was not halted within a second ({cpu:?})"
            ));
        }
        _ => return Err(format!("expected a halt, but {}", ending_problem(run))),
    };
    let purgatory = &plan.purgatory;
    if !purgatory.contains(&rip) {
        return Err(format!(
            "the CPU halted at {rip:#x}, outside the purgatory {:#x}..{:#x}",
            purgatory.start, purgatory.end
        ));
    }
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
        "CPU halted on its hlt at {rip:#x} (purgatory {:#x}..{:#x}, IF=0), no second kernel, no reset",
        purgatory.start, purgatory.end
    ))
}

/// QEMU (`-no-reboot`) exited with status 0 on the reset.
fn reset(run: &Run) -> Result<String, String> {
    if run.exit_status() != Some(0) {
        return Err(format!("expected a reset, but {}", ending_problem(run)));
    }
    // -d cpu_reset logs a triple fault with its cause: the purgatory's
    // fallback, used only if the write to port 0xcf9 did not reset.
    let how = if run.triple_fault {
        "through the triple-fault fallback (port 0xcf9 did not reset)"
    } else {
        "through port 0xcf9 (no triple fault)"
    };
    Ok(format!(
        "QEMU exited with status 0 on the reset {how}, no second kernel"
    ))
}
