//! An exception in the purgatory: `kexec-load --test-region` added a region
//! at an address the kexec does not map, after the digest. The first kernel
//! jumped, nothing of a second stage ran, the purgatory said what it
//! verifies, then exactly the page-fault line its library renders for that
//! region (CR2 its first byte, the faulting instruction inside the
//! purgatory), then its stop; the CPU halted on one of its `hlt`s with
//! interrupts off, or the machine reset.

use super::common::{Expect, loader_path, path_words};
use super::refusal::jumped_to_the_purgatory_only;
use super::stop::{halted, reset};
use crate::e2e::harness::log::hex_number;
use crate::e2e::harness::qemu::Run;
use crate::e2e::suite::vocabulary::linux::STARTING_NEW_KERNEL;
use crate::e2e::suite::vocabulary::plan;
use crate::e2e::suite::vocabulary::purgatory;
use purgatory_abi::FailurePolicy;

pub fn judge(run: &Run, policy: FailurePolicy, expect: &Expect) -> Result<String, String> {
    let serial = &run.serial;
    let plan = plan::read(serial)?;
    let test = plan
        .test_region
        .clone()
        .ok_or("kexec-load's plan added no test region")?;
    let path = loader_path(&plan, expect)?;
    jumped_to_the_purgatory_only(serial, STARTING_NEW_KERNEL)?;
    let printed = purgatory::printed(serial);
    let values = purgatory::check(&printed, &purgatory::faulting(&plan, policy)?)?;
    let rip = values
        .iter()
        .flatten()
        .find_map(|value| hex_number(value))
        .ok_or("no faulting RIP in the exception line")?;
    if !plan.purgatory.contains(&rip) {
        return Err(format!(
            "the page fault was at rip {rip:#x}, outside the purgatory {:#x}..{:#x}",
            plan.purgatory.start, plan.purgatory.end
        ));
    }
    let stop = match policy {
        FailurePolicy::Halt => halted(run, &plan)?,
        FailurePolicy::Reset => reset(run)?,
    };
    let line = printed.get(1).copied().unwrap_or_default();
    Ok(format!(
        "purgatory faulted on the test region {} at {:#x} in its code at {rip:#x} and said {line:?}; {stop}; {}",
        test.region,
        test.start,
        path_words(path)
    ))
}
