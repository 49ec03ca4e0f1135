//! A KHO kexec by 7.3's `kexec_file_load`, by default or with
//! `kexec_file.verify=always`. The run must show:
//!
//! * the load and the boot as any patched-kernel run of our purgatory
//!   ([`kexec_file::boot`]: placed by the kernel, entered at load address +
//!   `e_entry`, the second `/init` ran);
//! * every segment in a KHO scratch area that stage 1 saw;
//! * upstream's `test_kho` subtree handed over and restored in the second
//!   kernel;
//! * the kernel's `kexec_file.verify=always` line exactly when it was given;
//! * with the console copy, the purgatory's own lines: 0 segments by
//!   default, and with `always` every segment of the load but its own (their
//!   count and bytes), then the jump to the kernel's 64-bit entry.

use super::common::console_verified;
use super::kexec_file::{self, Load};
use crate::e2e::harness::log::require;
use crate::e2e::harness::qemu::Run;
use crate::e2e::suite::table::{Kho, Watched};
use crate::e2e::suite::vocabulary::guest::{KHO_TEST_SUBTREE, kho_in, kho_out};
use crate::e2e::suite::vocabulary::linux::{
    FileSegment, KEEPING_VERIFICATION, KHO_RESTORED, STARTING_NEW_KERNEL, file_segments, kernel_at,
    purgatory_at,
};
use purgatory_abi::{HashPath, KERNEL_ENTRY64_OFFSET, SHA_REGION_COUNT, ShaRegion, ShaRegions};
use std::ops::Range;

/// `ours` is the purgatory the embedded kernel carries (the console copy
/// differs from it in the port alone); `path` is the hash path the variant
/// demands, if known.
pub fn judge(
    run: &Run,
    case: Kho,
    ours: &[u8],
    token: &str,
    path: Option<HashPath>,
) -> Result<String, String> {
    let load = Load {
        ours: Some(ours),
        from_file: case.purgatory == Watched::Console,
        above_4g: false,
    };
    let booted = kexec_file::boot(run, load, token)?;
    let serial = &run.serial;
    let segments = file_segments(serial);
    let placed = handed_over(serial, &segments)?;
    if serial.contains(KEEPING_VERIFICATION) != case.always {
        return Err(format!(
            "{KEEPING_VERIFICATION:?} in the log: {}, but kexec_file.verify=always was {}given",
            !case.always,
            if case.always { "" } else { "not " }
        ));
    }
    let verified = match case.purgatory {
        Watched::Embedded => "the embedded purgatory is silent under Linux's loader".to_owned(),
        Watched::Console => console(serial, case.always, &segments, path)?,
    };
    Ok(format!("{placed}; {verified}; {booted}"))
}

/// Every segment in KHO scratch, `test_kho`'s state out, in and restored.
fn handed_over(serial: &str, segments: &[FileSegment]) -> Result<String, String> {
    let out = kho_out(serial).ok_or("stage 1 printed no KHO state")?;
    if !out.subtrees.contains(&KHO_TEST_SUBTREE) {
        return Err(format!(
            "the first kernel hands over no {KHO_TEST_SUBTREE} subtree"
        ));
    }
    in_scratch(segments, &out.scratch)?;
    let second = serial
        .split_once(STARTING_NEW_KERNEL)
        .map_or("", |(_, after)| after);
    let handed = kho_in(second).ok_or("stage 2 printed no KHO state")?;
    if !handed.contains(&KHO_TEST_SUBTREE) {
        return Err(format!(
            "the second kernel was handed {handed:?}, no {KHO_TEST_SUBTREE}"
        ));
    }
    require(
        second,
        KHO_RESTORED,
        "the second kernel did not restore test_kho's state",
    )?;
    Ok(format!(
        "all {} segments in KHO scratch ({}); {KHO_TEST_SUBTREE} handed over, {KHO_RESTORED:?}",
        segments.len(),
        areas(&out.scratch)
    ))
}

/// Fails unless there are segments and each lies in one of the `scratch` areas.
fn in_scratch(segments: &[FileSegment], scratch: &[Range<u64>]) -> Result<(), String> {
    if segments.is_empty() {
        return Err("no segment list: was KEXEC_FILE_DEBUG set?".into());
    }
    for segment in segments {
        let end = segment.mem.saturating_add(segment.memsz);
        if !scratch
            .iter()
            .any(|area| area.start <= segment.mem && end <= area.end)
        {
            return Err(format!(
                "the segment at {:#x}..{end:#x} lies outside KHO's scratch areas ({})",
                segment.mem,
                areas(scratch)
            ));
        }
    }
    Ok(())
}

fn areas(areas: &[Range<u64>]) -> String {
    let shown: Vec<String> = areas
        .iter()
        .map(|area| format!("{:#x}..{:#x}", area.start, area.end))
        .collect();
    shown.join(", ")
}

/// The purgatory's lines: what the kernel gave it to verify (nothing, or
/// every segment but its own) and the jump to the kernel.
fn console(
    serial: &str,
    always: bool,
    segments: &[FileSegment],
    path: Option<HashPath>,
) -> Result<String, String> {
    let purgatory = purgatory_at(serial).ok_or("no \"Loaded purgatory at\" line")?;
    let others: Vec<&FileSegment> = segments.iter().filter(|s| s.mem != purgatory).collect();
    let regions = if always {
        regions(&others)?
    } else {
        ShaRegions::default()
    };
    let kernel = kernel_at(serial).ok_or("no \"Loaded 64bit kernel at\" line")?;
    let target = kernel + KERNEL_ENTRY64_OFFSET;
    // Under KVM the guest CPU, and so the path, is the host's.
    let paths = path.map_or(vec![HashPath::ShaNi, HashPath::Software], |path| vec![path]);
    let mut failure = String::new();
    for path in paths {
        match console_verified(serial, &regions, path, target) {
            Ok(said) => {
                return Ok(format!(
                    "{said} (the load has {} other segments)",
                    others.len()
                ));
            }
            Err(why) => failure = why,
        }
    }
    Err(failure)
}

/// The region table Linux fills from `segments`, in their order.
fn regions(segments: &[&FileSegment]) -> Result<ShaRegions, String> {
    if segments.len() > SHA_REGION_COUNT {
        return Err(format!(
            "{} segments, more than the {SHA_REGION_COUNT} regions the purgatory has",
            segments.len()
        ));
    }
    let mut regions = ShaRegions::default();
    for (region, segment) in regions.iter_mut().zip(segments) {
        *region = ShaRegion {
            start: segment.mem,
            len: segment.memsz,
        };
    }
    Ok(regions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::e2e::harness::qemu::Ending;
    use crate::e2e::suite::vocabulary::guest::QEMU_STATUS_PASS;
    use crate::e2e::suite::vocabulary::template::written;
    use purgatory::report;
    use purgatory_host::{Image, PURGATORY_ELF};
    use std::time::Duration;

    /// Where a real run put the purgatory and the kernel.
    const AT: u64 = 0x7d3f_6000;
    const KERNEL: u64 = 0x7c80_0000;
    /// `(mem, memsz)`: KHO's scratch table, the purgatory, the boot
    /// parameters, the kernel, the initrd, as 7.3 ordered them.
    const SEGMENTS: [(u64, u64); 5] = [
        (0x7d3f_0000, 0x1000),
        (AT, 0xa000),
        (0x7d3f_4000, 0x2000),
        (KERNEL, 0xa1_5000),
        (0x7d25_d000, 0x19_3000),
    ];
    const SCRATCH: &str = "0x76c00000+0x6800000,0x7f800000+0x0";

    /// What a run prints: `case`'s kernel lines, and the console copy's
    /// report of `verified` if it runs; `restored` or not.
    fn serial(case: Kho, scratch: &str, verified: &[(u64, u64)], restored: bool) -> String {
        let image = Image::parse(PURGATORY_ELF).unwrap();
        let mut log = format!(
            "[ 0.0] Linux version 7.3.4 (x)\n\
             E2E-KHO-OUT: scratch={scratch} subtrees=kexec-metadata,kho_test\n"
        );
        if case.purgatory == Watched::Console {
            log += "[ 1.0] kexec_file: purgatory: testing /boot/purgatory.elf (27792 bytes) instead of the built-in one\n";
        }
        log += &format!(
            "[ 1.0] kexec-bzImage64: Loaded purgatory at {AT:#x}\n\
             [ 1.0] kexec-bzImage64: Loaded 64bit kernel at {KERNEL:#x} bufsz=0x1d9400 memsz=0xa15000\n"
        );
        if case.always {
            log += &format!("[ 1.0] {KEEPING_VERIFICATION}\n");
        }
        for (index, (mem, memsz)) in SEGMENTS.iter().enumerate() {
            let bufsz = if *mem == AT {
                image.segment().len()
            } else {
                0x30
            };
            log += &format!(
                "[ 1.1] kexec_file: segment[{index}]: buf=0x0 bufsz={bufsz:#x} mem={mem:#x} memsz={memsz:#x}\n"
            );
        }
        log += &format!(
            "[ 1.2] kexec_file: kexec_file_load: type:0, start:{:#x} head:0x1 flags:0x8\n\
             [ 1.2] {STARTING_NEW_KERNEL}\n",
            AT + image.entry()
        );
        if case.purgatory == Watched::Console {
            let mut regions = ShaRegions::default();
            for (region, (start, len)) in regions.iter_mut().zip(verified) {
                *region = ShaRegion {
                    start: *start,
                    len: *len,
                };
            }
            let bytes = verified.iter().map(|(_, len)| len).sum();
            log += &written(|out| report::started(out, &regions, HashPath::ShaNi));
            log += &written(|out| report::verified(out, true, bytes, 4242));
            log += &written(|out| report::jumping(out, KERNEL + KERNEL_ENTRY64_OFFSET));
        }
        log += "[ 0.0] Linux version 7.3.4 (x)\n";
        if restored {
            log += &format!("[ 0.5] {KHO_RESTORED}\n");
        }
        log + "E2E-KHO-IN: subtrees=kexec-metadata,kho_test\nE2E-STAGE2 marker=t\nE2E-PASS\n"
    }

    fn judged(case: Kho, serial: String) -> Result<String, String> {
        let run = Run {
            ending: Ending::Exited(Some(QEMU_STATUS_PASS)),
            serial,
            elapsed: Duration::from_secs(3),
            triple_fault: false,
            snapshot: None,
            cpu_at_stop: None,
            exchanges: Vec::new(),
            debug_log: String::new(),
        };
        judge(&run, case, PURGATORY_ELF, "t", Some(HashPath::ShaNi))
    }

    const SKIPPED: Kho = Kho {
        always: false,
        purgatory: Watched::Console,
    };
    const ALWAYS: Kho = Kho {
        always: true,
        purgatory: Watched::Console,
    };
    const EMBEDDED: Kho = Kho {
        always: false,
        purgatory: Watched::Embedded,
    };

    fn all_but_the_purgatory() -> Vec<(u64, u64)> {
        SEGMENTS.into_iter().filter(|(mem, _)| *mem != AT).collect()
    }

    #[test]
    fn by_default_nothing_is_verified_and_the_state_restored() {
        let said = judged(SKIPPED, serial(SKIPPED, SCRATCH, &[], true)).unwrap();
        assert!(said.contains("0 segments, 0 bytes"), "{said}");
        assert!(said.contains("4 other segments"), "{said}");
        assert!(said.contains("KHO restore succeeded"), "{said}");
        let why = judged(
            SKIPPED,
            serial(SKIPPED, SCRATCH, &all_but_the_purgatory(), true),
        )
        .unwrap_err();
        assert!(why.contains("line 1"), "{why}");
        let said = judged(EMBEDDED, serial(EMBEDDED, SCRATCH, &[], true)).unwrap();
        assert!(said.contains("silent"), "{said}");
    }

    #[test]
    fn verify_always_checks_every_other_segment() {
        let others = all_but_the_purgatory();
        let said = judged(ALWAYS, serial(ALWAYS, SCRATCH, &others, true)).unwrap();
        assert!(said.contains("4 segments"), "{said}");
        let fewer = &others[1..];
        let why = judged(ALWAYS, serial(ALWAYS, SCRATCH, fewer, true)).unwrap_err();
        assert!(why.contains("4 segments"), "{why}");
        let why = judged(ALWAYS, serial(SKIPPED, SCRATCH, &others, true)).unwrap_err();
        assert!(why.contains("kexec_file.verify=always was given"), "{why}");
        let why = judged(SKIPPED, serial(ALWAYS, SCRATCH, &[], true)).unwrap_err();
        assert!(why.contains("was not given"), "{why}");
    }

    #[test]
    fn the_state_must_be_restored_and_every_segment_in_scratch() {
        let why = judged(SKIPPED, serial(SKIPPED, SCRATCH, &[], false)).unwrap_err();
        assert!(why.contains("did not restore"), "{why}");
        let narrow = "0x7c000000+0x1000000";
        let why = judged(SKIPPED, serial(SKIPPED, narrow, &[], true)).unwrap_err();
        assert!(why.contains("outside KHO's scratch areas"), "{why}");
    }
}
