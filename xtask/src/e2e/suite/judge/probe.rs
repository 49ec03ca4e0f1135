//! The register probe checked the hand-off itself and passed; here the
//! purgatory must also lie where the placement asks, have said what the plan
//! makes it say, have jumped to the probe's entry, have handed over exactly
//! the CR0/CR4 the kexec derived from the first kernel's, and have taken the
//! hash path the variant demands (the probe reads it from the XMM registers).
//! The summary quotes the GDT and IDT the probe found.

use super::common::{Expect, console_passed, passed_exit, placed};
use crate::e2e::harness::log::require;
use crate::e2e::harness::qemu::Run;
use crate::e2e::suite::table::Placement;
use crate::e2e::suite::vocabulary::guest::{
    PROBE_FAIL, PROBE_GDT, PROBE_IDT, PROBE_PASS, probe_cr, probe_path, probe_sha_ni, probe_table,
};
use crate::e2e::suite::vocabulary::plan::{self, Plan};
use e2e_protocol::control::{CR4_KNOWN, CR4_OSFXSR, kexec_cr0, kexec_cr4};
use purgatory_abi::HashPath;

pub fn judge(
    run: &Run,
    placement: Placement,
    entry_offset: u64,
    expect: &Expect,
) -> Result<String, String> {
    let serial = &run.serial;
    if serial.contains(PROBE_FAIL) {
        return Err("the probe found a mismatch (see the PROBE lines)".into());
    }
    passed_exit(run)?;
    require(serial, PROBE_PASS, "the probe gave no verdict")?;
    let plan = plan::read(serial)?;
    let (start, end) = (plan.purgatory.start, plan.purgatory.end);
    placed(placement, &plan.purgatory)?;
    let seed = match (placement, plan.seed) {
        (Placement::Random, Some(seed)) => format!(" (seed {seed})"),
        _ => String::new(),
    };
    let cr = control_registers(run)?;
    let path = path(serial, &plan, expect)?;
    let entry = plan.segment("payload")?.start + entry_offset;
    let console = console_passed(serial, &plan, entry)?;
    let tables = tables(serial)?;
    Ok(format!(
        "purgatory at {start:#x}..{end:#x}{seed}; {console}; all registers, selectors, IF and DF as expected; {tables}; {cr}; the XMM registers show the {} path{}",
        path.name(),
        match path {
            HashPath::ShaNi => " (digest state left by the SHA-NI routine)",
            HashPath::Software => " (no SHA-NI state)",
        }
    ))
}

/// The GDT and IDT the probe found (it checked them: the GDT inside the
/// purgatory, the IDT the kexec's).
fn tables(serial: &str) -> Result<String, String> {
    let gdt = probe_table(serial, PROBE_GDT).ok_or("the probe did not report the GDTR")?;
    let idt = probe_table(serial, PROBE_IDT).ok_or("the probe did not report the IDTR")?;
    Ok(format!(
        "GDT at {:#x} (limit {:#x}) inside the purgatory, IDT base {:#x} limit {:#x} (the kexec's, not the purgatory's)",
        gdt.base, gdt.limit, idt.base, idt.limit
    ))
}

/// The path the probe saw in the XMM registers: it checked it against CPUID
/// and `purgatory_flags` itself; here it must also be the variant's and the
/// one `kexec-load` announced, and the CPU must have SHA-NI exactly where the
/// variant says.
fn path(serial: &str, plan: &Plan, expect: &Expect) -> Result<HashPath, String> {
    let path = probe_path(serial).ok_or("the probe reported no hash path")?;
    let sha_ni = probe_sha_ni(serial).ok_or("the probe did not report CPUID's SHA bit")?;
    if let Some(want) = expect.sha_ni
        && want != sha_ni
    {
        return Err(format!(
            "the guest CPU {} SHA-NI{}",
            if sha_ni { "has" } else { "lacks" },
            expect.sha_ni_hint()
        ));
    }
    if let Some(want) = expect.path
        && want != path
    {
        return Err(format!(
            "the XMM registers show the {} path, this variant must take the {} path",
            path.name(),
            want.name()
        ));
    }
    if plan.hash != path {
        return Err(format!(
            "the XMM registers show the {} path, kexec-load announced the {} path",
            path.name(),
            plan.hash.name()
        ));
    }
    Ok(path)
}

/// The probe checked CR0/CR4 against the loader's model; here they must also
/// be exactly what the kexec derived from the first kernel's, as the monitor
/// read them while it ran (its CR4 has OSFXSR: Linux sets it at boot).
fn control_registers(run: &Run) -> Result<String, String> {
    let seen = probe_cr(&run.serial).ok_or("the probe did not report CR0/CR4")?;
    let Some(first) = run.snapshot.filter(|cr| cr.cr4 & CR4_OSFXSR != 0) else {
        return Ok(format!(
            "CR0={:#x} CR4={:#x} (the first kernel's were not read in time)",
            seen.cr0, seen.cr4
        ));
    };
    let (cr0, cr4) = (kexec_cr0(first.cr0), kexec_cr4(first.cr4));
    if seen.cr0 != cr0 || seen.cr4 & CR4_KNOWN != cr4 & CR4_KNOWN {
        return Err(format!(
            "the purgatory handed over CR0={:#x} CR4={:#x}, the kexec had set CR0={cr0:#x} CR4={cr4:#x} \
             (from the first kernel's CR0={:#x} CR4={:#x})",
            seen.cr0, seen.cr4, first.cr0, first.cr4
        ));
    }
    Ok(format!(
        "CR0={:#x} CR4={:#x}, exactly as the kexec set them from the first kernel's CR0={:#x} CR4={:#x}",
        seen.cr0, seen.cr4, first.cr0, first.cr4
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::e2e::harness::qemu::Accel;
    use crate::e2e::harness::variant::Variant;

    use crate::e2e::suite::vocabulary::plan::tests::plan_line;

    const PROBE_LINES: &str = "PROBE: reached the payload at 0x1000080\r\n\
        PROBE-CPU: sha_ni present (CPUID SHA=1 SSSE3=1 SSE4.1=1)\r\n\
        PROBE-PATH: sha-ni ok\r\n";

    #[test]
    fn the_path_must_be_the_variants_and_the_announced_one() {
        let purgatory = [("purgatory", 0x1000, 0x9000, 0x7770, false)];
        let serial = format!("{}\n{PROBE_LINES}", plan_line(&purgatory, HashPath::ShaNi));
        let plan = plan::read(&serial).unwrap();
        let qemu10 = Expect::new(Variant::Qemu10, Accel::Tcg, false);
        assert_eq!(path(&serial, &plan, &qemu10), Ok(HashPath::ShaNi));
        let qemu7 = Expect::new(Variant::Qemu7, Accel::Tcg, false);
        let why = path(&serial, &plan, &qemu7).unwrap_err();
        assert!(why.contains("has SHA-NI"), "{why}");
        let forced = Expect::new(Variant::Qemu10, Accel::Tcg, true);
        let why = path(&serial, &plan, &forced).unwrap_err();
        assert!(why.contains("must take the software path"), "{why}");
    }
}
