//! What a run showed, for the summary: the log lines worth quoting, the
//! hash path, the time from the jump to the next image.

use super::guest::{
    BIG_OK, INIT_PASS, KHO_IN, KHO_OUT, PROBE_CPU, PROBE_CR, PROBE_GDT, PROBE_IDT, PROBE_PASS,
    PROBE_PATH, PROBE_REACHED, PROBE_XMM, REFUSED, STAGE1, STAGE2, probe_path,
};
use super::kdump::{CAPTURE, CRASHING, VMCORE};
use super::linux::{
    BANNER, COMMAND_LINE, FILE_LOAD, KEEPING_VERIFICATION, KHO_EXEC_FROM, KHO_RESTORED,
    LOADED_PURGATORY_AT, PANIC, STARTING_NEW_KERNEL, purgatory_at, segment_line,
};
use super::plan;
use super::purgatory::prefix;
use super::uefi::{ACPI_RSDP, EFI_BANNER, LOADER_ERROR, LOCKED_DOWN_FROM};
use crate::e2e::harness::qemu::READINGS;
use crate::e2e::harness::qemu::transcript::stamped;
use e2e_protocol::protocol::{ACPI_LINE, EFI_LINE, SETUP_DATA_LINE};
use purgatory_abi::HashPath;

/// The log lines (with host seconds) of a `kexec-load` run that show the
/// hand-over and the hash path, and under UEFI what the kernels found and
/// the loader's refusal; a probe run's without the kernel banner.
pub fn kexec_load(log: &str, probe: bool) -> Vec<String> {
    let prefix = prefix();
    let markers = [
        EFI_BANNER,
        ACPI_RSDP,
        EFI_LINE,
        ACPI_LINE,
        SETUP_DATA_LINE,
        LOCKED_DOWN_FROM,
        LOADER_ERROR,
        STARTING_NEW_KERNEL,
        &prefix,
        STAGE2,
        BIG_OK,
        INIT_PASS,
        PROBE_REACHED,
        PROBE_CR,
        PROBE_GDT,
        PROBE_IDT,
        PROBE_CPU,
        PROBE_XMM,
        PROBE_PATH,
        PROBE_PASS,
    ];
    let mut picked = pick(log, |line, banners| {
        markers
            .iter()
            .chain(&READINGS)
            .any(|text| line.contains(text))
            || (banners >= 2 && (line.contains(BANNER) || line.contains(COMMAND_LINE)))
    });
    if probe {
        picked.retain(|line| !line.contains(BANNER));
    }
    picked
}

/// The log lines of a kdump run: the mark, the panic, the purgatory, the
/// capture kernel booting and what its `/init` read from `/proc/vmcore`.
pub fn kdump(log: &str) -> Vec<String> {
    let prefix = prefix();
    let markers = [
        LOADED_PURGATORY_AT,
        FILE_LOAD,
        CRASHING,
        PANIC,
        &prefix,
        CAPTURE,
        VMCORE,
        INIT_PASS,
    ];
    pick(log, |line, banners| {
        markers.iter().any(|text| line.contains(text))
            || (banners >= 2 && (line.contains(BANNER) || line.contains(COMMAND_LINE)))
    })
}

/// The serial lines of a `kexec_file_load` run that show the load and the
/// hand-over.
pub fn kexec_file(serial: &str) -> Vec<String> {
    kexec_file_and(serial, &[])
}

/// Those of a KHO run: also KHO's scratch areas, the state handed over and
/// restored, and `verify=always`.
pub fn kho(serial: &str) -> Vec<String> {
    let markers = [
        KHO_OUT,
        KHO_IN,
        KHO_RESTORED,
        KHO_EXEC_FROM,
        KEEPING_VERIFICATION,
    ];
    kexec_file_and(serial, &markers)
}

/// [`kexec_file`]'s lines and those with any of `more`.
fn kexec_file_and(serial: &str, more: &[&str]) -> Vec<String> {
    let purgatory_segment = purgatory_at(serial).map(segment_line);
    let markers = [
        "purgatory",
        FILE_LOAD,
        STARTING_NEW_KERNEL,
        "symbol ",
        REFUSED,
        STAGE2,
    ];
    let markers: Vec<&str> = markers.iter().chain(more).copied().collect();
    pick(serial, |line, banners| {
        let wanted = markers.iter().any(|text| line.contains(text))
            || purgatory_segment
                .as_ref()
                .is_some_and(|segment| line.contains(segment))
            || (banners >= 2 && line.contains(BANNER));
        wanted && !line.contains(STAGE1)
    })
}

/// The lines of `text` that `wanted` picks; it is told how many kernel
/// banners have appeared, this line's included.
fn pick(text: &str, wanted: impl Fn(&str, usize) -> bool) -> Vec<String> {
    let mut banners = 0;
    let mut picked = Vec::new();
    for line in text.lines() {
        if line.contains(BANNER) {
            banners += 1;
        }
        if wanted(line, banners) {
            picked.push(line.trim_end().to_owned());
        }
    }
    picked
}

/// The hash path a run showed: the probe's finding, else the loader's
/// announcement.
pub fn shown_path(serial: &str) -> Option<HashPath> {
    probe_path(serial).or_else(|| plan::read(serial).ok().map(|plan| plan.hash))
}

/// Host seconds from the first kernel's jump to the purgatory to the next
/// image's first line (a kernel banner or the probe's).
pub fn handover(log: &str) -> Option<f64> {
    let mut lines = log.lines();
    let jump = lines.find(|line| line.contains(STARTING_NEW_KERNEL))?;
    let next = lines.find(|line| line.contains(BANNER) || line.contains(PROBE_REACHED))?;
    Some(stamped(next)?.0 - stamped(jump)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handover_is_timed_from_the_log() {
        let log = "   3.381 [    2.249318] kexec_core: Starting new kernel\n   3.390 \n\
                   \x20  4.890 [    0.000000] Linux version 6.12\n";
        let seconds = handover(log).unwrap();
        assert!((seconds - 1.509).abs() < 1e-9, "{seconds}");
        assert_eq!(handover("   1.000 nothing\n"), None);
    }

    #[test]
    fn quoted_lines_show_the_jump_and_the_path() {
        let log = "# command: qemu\n   1.100 unrelated\n   2.000 [    2.2] kexec_core: Starting new kernel\n\
                   \x20  3.000 [    0.0] Linux version 6.12\n";
        assert_eq!(
            kexec_load(log, false),
            ["   2.000 [    2.2] kexec_core: Starting new kernel"]
        );
        assert_eq!(
            shown_path("PROBE-PATH: software ok\n"),
            Some(HashPath::Software)
        );
    }
}
