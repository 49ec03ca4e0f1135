//! `kexec-load` on a locked-down kernel: it must refuse before it calls
//! `kexec_load` (the kernel never logs a refusal of its own), in its own
//! words naming what works, and exit with its own status, which the stage-1
//! `/init` reports. Lockdown denies the `/init` the `isa-debug-exit` port
//! too, so it ends the run by powering off (QEMU status 0).

use super::common::ending_problem;
use crate::e2e::harness::log::require;
use crate::e2e::harness::qemu::{Ending, Run};
use crate::e2e::suite::vocabulary::guest::{INIT_FAIL, QEMU_STATUS_FAIL};
use crate::e2e::suite::vocabulary::linux::STARTING_NEW_KERNEL;
use crate::e2e::suite::vocabulary::uefi::{
    KEXEC_LOCKED_OUT, LOCKED_DOWN_FROM, efi_banner, loader_exited, refusal,
};
use kexec_load::lockdown::EXIT_LOCKED_DOWN;

/// The level the scenario asks for on the first kernel's command line.
const LEVEL: &str = "integrity";

pub fn judge(run: &Run) -> Result<String, String> {
    let serial = &run.serial;
    if !matches!(run.ending, Ending::Exited(Some(0 | QEMU_STATUS_FAIL))) {
        return Err(format!(
            "the stage-1 /init should have ended the run after the loader's refusal: {}",
            ending_problem(run)
        ));
    }
    efi_banner(serial).ok_or("the kernel was not booted through UEFI")?;
    require(serial, LOCKED_DOWN_FROM, "the kernel was not locked down")?;
    let message = refusal(LEVEL);
    require(serial, &message, "kexec-load did not refuse in its words")?;
    let exited = loader_exited(EXIT_LOCKED_DOWN);
    let reported = serial
        .lines()
        .any(|line| line.contains(INIT_FAIL) && line.contains(&exited));
    if !reported {
        return Err(format!(
            "the stage-1 /init did not report that kexec-load {exited}"
        ));
    }
    for (text, why) in [
        (KEXEC_LOCKED_OUT, "the kernel refused a kexec_load call"),
        (STARTING_NEW_KERNEL, "a kexec happened"),
    ] {
        if serial.contains(text) {
            return Err(format!("{why}: {text:?} in the serial log"));
        }
    }
    Ok(format!(
        "kexec-load refused before calling kexec_load (no kernel refusal logged) and {exited}: \"{}…\"",
        message.chars().take(70).collect::<String>()
    ))
}
