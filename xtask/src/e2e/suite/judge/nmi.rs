//! NMIs while the purgatory halts after a refusal: each must return to its
//! halt loop. Once the purgatory had halted, the suite turned on QEMU's
//! interrupt log and sent NMIs through the monitor a second apart. Each must
//! have been delivered (the log shows vector 2 at an address inside the
//! purgatory), the CPU must sit on a `hlt` of the purgatory with interrupts
//! off after each, nothing else may have been delivered (a fault in the
//! handler, its #DF), and QEMU must not have reset. Under the null IDT the
//! kexec leaves, the first NMI would triple-fault the machine. (Under KVM
//! QEMU logs no delivery; the rest still holds.)

use super::common::Expect;
use super::stop::{halted, halted_in_purgatory};
use crate::e2e::harness::qemu::{Exchange, Run};
use crate::e2e::suite::vocabulary::monitor::{LOG_INTERRUPTS, NMI, NMI_COUNT, deliveries};
use crate::e2e::suite::vocabulary::plan::Plan;
use purgatory::trap;

/// The CPU halted in the purgatory, then took every NMI and halted again.
pub fn survived(run: &Run, plan: &Plan, expect: &Expect) -> Result<String, String> {
    let halt = halted(run, plan)?;
    if run.triple_fault {
        return Err("QEMU logged a triple fault (see the .qemu-debug.log)".into());
    }
    answered(run, LOG_INTERRUPTS)?;
    let nmis = answered(run, NMI)?;
    if nmis.len() != NMI_COUNT {
        return Err(format!(
            "{} of the {NMI_COUNT} NMIs were sent: {:?}",
            nmis.len(),
            run.exchanges
        ));
    }
    for (at, nmi) in nmis.iter().enumerate() {
        let cpu = nmi
            .cpu_after
            .ok_or(format!("the CPU could not be read after NMI {}", at + 1))?;
        halted_in_purgatory(cpu, plan).map_err(|why| format!("after NMI {}: {why}", at + 1))?;
    }
    let delivered = if expect.interrupt_log {
        delivered(run, plan)?
    } else {
        "deliveries not logged under KVM".to_owned()
    };
    Ok(format!(
        "{halt}; {NMI_COUNT} NMIs a second apart, {delivered}, each time back on the hlt with IF=0, no triple fault"
    ))
}

/// QEMU's interrupt log shows exactly the NMIs, each taken inside the
/// purgatory, and nothing else.
fn delivered(run: &Run, plan: &Plan) -> Result<String, String> {
    let taken = deliveries(&run.debug_log);
    if let Some(other) = taken.iter().find(|d| d.vector != trap::NMI) {
        return Err(format!(
            "after the NMIs the CPU took vector {} at {:#x} (QEMU's interrupt log)",
            other.vector, other.rip
        ));
    }
    let rips: Vec<String> = taken.iter().map(|d| format!("{:#x}", d.rip)).collect();
    if taken.len() != NMI_COUNT || taken.iter().any(|d| !plan.purgatory.contains(&d.rip)) {
        return Err(format!(
            "QEMU's interrupt log shows {} NMI deliveries, at {rips:?}: expected {NMI_COUNT}, each inside the purgatory {:#x}..{:#x}",
            taken.len(),
            plan.purgatory.start,
            plan.purgatory.end
        ));
    }
    Ok(format!(
        "each delivered at {} (QEMU's interrupt log), nothing else taken",
        rips.join(", ")
    ))
}

/// The exchanges of `line`, each of which the monitor answered without a word
/// (an error is a reply).
fn answered<'a>(run: &'a Run, line: &str) -> Result<Vec<&'a Exchange>, String> {
    let sent: Vec<&Exchange> = run.exchanges.iter().filter(|e| e.line == line).collect();
    if sent.is_empty() {
        return Err(format!("the monitor command {line:?} was never sent"));
    }
    match sent.iter().find(|e| e.reply.as_deref() != Some("")) {
        Some(odd) => Err(format!(
            "the monitor answered {line:?} with {:?}",
            odd.reply
        )),
        None => Ok(sent),
    }
}
