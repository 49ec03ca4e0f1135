//! A KHO kexec by the patched 7.3's own `kexec_file_load`, booted like the
//! other patched-kernel runs ([`kexec_file::stage1`]) and modelled on
//! upstream's `tools/testing/selftests/kho/`: both kernels get `kho=on`; the
//! first kernel's `test_kho` preserves its state at boot, its `/init` mounts
//! debugfs and reports the scratch areas and the outgoing subtrees before it
//! loads (7.x hands the state over with the image: there is nothing to
//! finalize); the second kernel's `test_kho` restores the state and says so,
//! and its `/init` reports what it was handed. Upstream leaves the purgatory
//! nothing to verify in a KHO load; `kexec_file.verify=always` (patch 0006)
//! keeps the check.
//!
//! The embedded kernel's purgatory is silent under Linux's loader, which never
//! sets its console; so where the run must show what the purgatory verified,
//! the `builtin` kernel reads a copy of ours with its console on the guests'
//! ttyS0 from `kexec_file.purgatory=` ([`console_copy`]).

use super::kexec_file::{self, purgatory_param, stage2_append};
use crate::build::EMBEDDED_PATH;
use crate::cmd::project_root;
use crate::e2e::suite::context::{Context, Outcome, Target};
use crate::e2e::suite::judge::common::Expect;
use crate::e2e::suite::judge::kho;
use crate::e2e::suite::table::{Kho, Scenario, Watched};
use crate::e2e::suite::vocabulary::evidence;
use anyhow::{Result, ensure};
use e2e_protocol::kho::PARAM_KHO;
use e2e_protocol::protocol::PARAM_STAGE;
use kexec_load::console::STANDARD_PORTS;
use purgatory_abi::CONSOLE_PORT_SYMBOL;
use purgatory_host::Purgatory;

/// Prepares the images, boots, and judges the log.
pub fn run(scenario: &Scenario, case: Kho, ctx: &Context, target: &Target) -> Result<Outcome> {
    let kernels = kexec_file::kernels()?;
    let files = ctx.run_files(scenario, target)?;
    let ours = std::fs::read(project_root().join(EMBEDDED_PATH))?;
    let (kernel, file) = match case.purgatory {
        Watched::Embedded => (&kernels.embedded.bzimage, None),
        Watched::Console => (&kernels.builtin.bzimage, Some(console_copy(&ours)?)),
    };
    // The second kernel needs kho=on too: test_kho restores only then.
    let kho_on = format!("kho=on {PARAM_KHO}=1");
    let append2 = format!("{} {kho_on}", stage2_append(&files.token));
    let mut append = format!("console=ttyS0 panic=-1 {PARAM_STAGE}=1 {kho_on}");
    if case.always {
        append.push_str(" kexec_file.verify=always");
    }
    if file.is_some() {
        append.push(' ');
        append.push_str(&purgatory_param());
    }
    let stage1 = kexec_file::stage1(ctx, &files, kernel, &append2, file.as_deref())?;
    let run = kexec_file::boot(target, kernel, &stage1, &append, "2G", None, &files.log)?;
    let path = Expect::new(target.variant, target.accel, false).path;
    let verdict = kho::judge(&run, case, &ours, &files.token, path);
    let evidence = evidence::kho(&run.serial);
    Ok(kexec_file::outcome(verdict, evidence, &run, files.log))
}

/// Our purgatory with its console on ttyS0 (the port set and checked by the
/// host library), as a file: the shipped one with that symbol's bytes
/// replaced, read back to be sure.
fn console_copy(ours: &[u8]) -> Result<Vec<u8>> {
    let port = STANDARD_PORTS[0];
    let mut purgatory = Purgatory::parse(ours)?;
    purgatory.set_console_port(port)?;
    let value = purgatory.read_symbol(CONSOLE_PORT_SYMBOL)?;
    let mut elf = elf_edit::Elf::parse(ours)?;
    let slot = elf.symbol_bytes_mut(CONSOLE_PORT_SYMBOL)?;
    ensure!(
        slot.len() == value.len(),
        "{CONSOLE_PORT_SYMBOL} is {} bytes in the file, {} in the image",
        slot.len(),
        value.len()
    );
    slot.copy_from_slice(value);
    let copy = elf.into_bytes();
    let read_back = Purgatory::parse(&copy)?;
    ensure!(
        read_back.read_symbol(CONSOLE_PORT_SYMBOL)? == value,
        "the copy's {CONSOLE_PORT_SYMBOL} is not {port:#x}"
    );
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_copy_differs_in_the_port_alone() {
        let ours = purgatory_host::PURGATORY_ELF;
        let copy = console_copy(ours).unwrap();
        assert_eq!(copy.len(), ours.len());
        let changed: Vec<usize> = (0..ours.len()).filter(|&i| ours[i] != copy[i]).collect();
        let image = Purgatory::parse(ours).unwrap();
        let slot = image.image().symbol(CONSOLE_PORT_SYMBOL).unwrap();
        let slot = slot.offset as usize..(slot.offset + slot.size) as usize;
        assert!(!changed.is_empty());
        assert!(changed.iter().all(|i| slot.contains(i)), "{changed:?}");
        let port = Purgatory::parse(&copy)
            .unwrap()
            .read_symbol(CONSOLE_PORT_SYMBOL)
            .unwrap()
            .to_vec();
        assert_eq!(port, STANDARD_PORTS[0].to_le_bytes());
    }
}
