//! Linux's own `kexec_file_load` in a patched kernel: it loads our purgatory
//! as the one segment of its file-backed bytes, entered at load address +
//! `e_entry` (the linked path, not the ET_REL one), and the second kernel
//! boots; or it refuses a broken purgatory with the reason expected.

use super::common::{FOUR_GIB, ending_problem, passed_exit};
use crate::e2e::harness::log::require;
use crate::e2e::harness::qemu::Run;
use crate::e2e::suite::vocabulary::guest::{
    QEMU_STATUS_FAIL, REFUSED, STAGE2, refused_errno, stage2_marker,
};
use crate::e2e::suite::vocabulary::linux::{
    STARTING_NEW_KERNEL, TESTING_FILE, banners, file_load_entry, purgatory_at, segment_bufsz,
};
use purgatory_host::Image;

/// What the patched kernel loads for a boot.
#[derive(Debug, Clone, Copy)]
pub struct Load<'a> {
    /// Our purgatory's bytes, when it is ours that runs (else the C one).
    pub ours: Option<&'a [u8]>,
    /// Read from the `kexec_file.purgatory=` file rather than embedded.
    pub from_file: bool,
    /// Placed top-down above 4 GiB.
    pub above_4g: bool,
}

pub fn boot(run: &Run, load: Load<'_>, token: &str) -> Result<String, String> {
    let serial = &run.serial;
    passed_exit(run)?;
    let at =
        purgatory_at(serial).ok_or("no \"Loaded purgatory at\" line: was KEXEC_FILE_DEBUG set?")?;
    require(serial, STARTING_NEW_KERNEL, "the first kernel never jumped")?;
    if banners(serial) < 2 {
        return Err("only one kernel banner: the second kernel did not boot".into());
    }
    require(
        serial,
        &stage2_marker(token),
        "the second /init did not report the marker",
    )?;
    let from_file = serial.contains(TESTING_FILE);
    if from_file != load.from_file {
        return Err(format!(
            "{TESTING_FILE:?} in the log: {from_file}, expected the opposite"
        ));
    }
    let place = if load.above_4g {
        if at < FOUR_GIB {
            return Err(format!("the purgatory went to {at:#x}, below 4 GiB"));
        }
        "above 4 GiB"
    } else {
        "below 4 GiB"
    };
    let Some(ours) = load.ours else {
        return Ok(format!(
            "C purgatory loaded at {at:#x} through the ET_REL path; second /init reported marker={token}"
        ));
    };
    let image = Image::parse(ours).map_err(|err| format!("our purgatory: {err}"))?;
    let start = file_load_entry(serial).ok_or("no entry in the kernel's kexec_file_load line")?;
    if start != at + image.entry() {
        return Err(format!(
            "entry {start:#x}, expected load address {at:#x} + e_entry {:#x}",
            image.entry()
        ));
    }
    let filesz = image.segment().len() as u64;
    if segment_bufsz(serial, at) != Some(filesz) {
        return Err(format!(
            "the segment at {at:#x} is not {filesz:#x} bytes (p_filesz) in the segment list"
        ));
    }
    Ok(format!(
        "our purgatory ({}) at {at:#x} ({place}), one {filesz:#x}-byte segment, entry {start:#x} = load + e_entry; second /init reported marker={token}",
        if from_file {
            "from the file"
        } else {
            "embedded"
        }
    ))
}

/// The kernel refused with `message`, the loader failed, nothing ran, and
/// the stage-1 `/init` reported the failure.
pub fn refusal(run: &Run, message: &str) -> Result<String, String> {
    let serial = &run.serial;
    require(
        serial,
        message,
        "the kernel did not give the expected reason",
    )?;
    require(serial, REFUSED, "kexec_file_load did not fail")?;
    if serial.contains(STARTING_NEW_KERNEL) || serial.contains(STAGE2) {
        return Err("the refused purgatory was executed anyway".into());
    }
    if run.exit_status() != Some(QEMU_STATUS_FAIL) {
        return Err(format!(
            "expected the stage-1 /init to report the refusal, but {}",
            ending_problem(run)
        ));
    }
    let errno = refused_errno(serial).unwrap_or("?");
    Ok(format!("refused ({errno}): {message:?}"))
}
