//! The boot that shows whether KVM works: the real kernel with the stage-2
//! `/init`, which must report the trial's marker and exit QEMU.

use super::watch::init_verdict;
use crate::e2e::harness::accel::Trial;
use crate::e2e::harness::guest::{self, Programs};
use crate::e2e::harness::qemu::Run;
use crate::e2e::suite::vocabulary::guest::{QEMU_STATUS_PASS, stage2_marker};
use anyhow::Result;
use e2e_protocol::protocol::{PARAM_MARKER, PARAM_STAGE};
use std::path::Path;
use std::time::Duration;

/// A working KVM boots this kernel to `/init` in a second or two.
const TIMEOUT: Duration = Duration::from_secs(15);
const MARKER: &str = "kvm-trial";

/// The trial, its image written to `work`.
pub fn kvm(programs: &Programs, work: &Path) -> Result<Trial> {
    let initrd = work.join("initramfs.cpio");
    guest::stage2_initramfs(&initrd, programs, None, &[])?;
    Ok(Trial {
        initrd,
        append: format!("console=ttyS0 panic=-1 {PARAM_STAGE}=2 {PARAM_MARKER}={MARKER}"),
        watch: init_verdict(TIMEOUT),
        works,
    })
}

fn works(run: &Run) -> bool {
    run.exit_status() == Some(QEMU_STATUS_PASS) && run.serial.contains(&stage2_marker(MARKER))
}
