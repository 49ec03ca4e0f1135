//! How a refused run stopped: halted on one of the purgatory's own `hlt`s
//! with interrupts off, or reset. Shared by the judges of refusals, faults
//! and NMIs.

use super::common::ending_problem;
use crate::e2e::harness::qemu::{CpuState, Ending, Run};
use crate::e2e::suite::vocabulary::plan::Plan;

const RFLAGS_IF: u64 = 1 << 9;
/// The `hlt` opcode.
const HLT: u8 = 0xf4;

/// The CPU halted inside the purgatory, right after one of its `hlt`s (the
/// embedded copy is what kexec-load loaded: the build refreshed it), with
/// interrupts off.
pub fn halted(run: &Run, plan: &Plan) -> Result<String, String> {
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
    on_a_hlt(rip, rflags, plan)?;
    let purgatory = &plan.purgatory;
    Ok(format!(
        "CPU halted on its hlt at {rip:#x} (purgatory {:#x}..{:#x}, IF=0), no second kernel, no reset",
        purgatory.start, purgatory.end
    ))
}

/// `cpu` sits halted right after a `hlt` of the purgatory, interrupts off.
pub fn halted_in_purgatory(cpu: CpuState, plan: &Plan) -> Result<(), String> {
    if !cpu.halted {
        return Err(format!("the CPU was running at {:#x}, not halted", cpu.rip));
    }
    on_a_hlt(cpu.rip, cpu.rflags, plan)
}

fn on_a_hlt(rip: u64, rflags: u64, plan: &Plan) -> Result<(), String> {
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
    Ok(())
}

/// QEMU (`-no-reboot`) exited with status 0 on the reset.
pub fn reset(run: &Run) -> Result<String, String> {
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
