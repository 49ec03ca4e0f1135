//! What Linux prints: the first kernel's lines the suite waits for, the
//! banner that shows a second kernel booted, the lines after which nothing
//! good follows, and the patched kernels' `kexec_file` lines (with
//! `KEXEC_FILE_DEBUG`: where the purgatory went, the entry, each segment).

use crate::e2e::harness::log::{hex_after, hex_number};

/// Every kernel's first line.
pub const BANNER: &str = "Linux version ";
/// The kernel's command line, printed early at boot.
pub const COMMAND_LINE: &str = "Command line:";
/// Printed by the first kernel as it jumps to the purgatory.
pub const STARTING_NEW_KERNEL: &str = "kexec_core: Starting new kernel";
/// Printed by the first kernel just before its `/init` starts: CR0 and CR4
/// are read then, while it still runs, for the probe's cross-check.
pub const RUN_INIT: &str = "Run /init as init process";
/// A panic: where a kdump run's crash path starts.
pub const PANIC: &str = "Kernel panic - not syncing";
/// After these nothing good can follow: a panic (with `panic=-1` it would
/// exit anyway), the decompressor refusing a corrupt kernel, a reboot request.
pub const FATAL: &[&str] = &[
    PANIC,
    "System halted",
    "reboot: Restarting system",
    "Rebooting in ",
];

/// How many kernels printed their banner.
pub fn banners(serial: &str) -> usize {
    serial.matches(BANNER).count()
}

/// The release each banner names (`Linux version 7.3.4+deb13-amd64 (…`), in
/// boot order.
pub fn banner_releases(serial: &str) -> Vec<&str> {
    serial
        .lines()
        .filter_map(|line| line.split_once(BANNER)?.1.split_whitespace().next())
        .collect()
}

/// Whether a kernel's command line, as it printed it, has `text`.
pub fn command_line_has(serial: &str, text: &str) -> bool {
    serial
        .lines()
        .any(|line| line.contains(COMMAND_LINE) && line.contains(text))
}

/// The patched kernel logs where it put the purgatory.
pub const LOADED_PURGATORY_AT: &str = "Loaded purgatory at";
/// The patched kernel's summary of a load: the entry point it computed.
pub const FILE_LOAD: &str = "kexec_file_load: type";
/// The summary of a crash image's load (`KEXEC_TYPE_CRASH`).
pub const FILE_LOAD_CRASH: &str = "kexec_file_load: type:1,";
const FILE_LOAD_START: &str = "start:";
/// Where Linux's crash loader put the ELF core headers.
pub const LOADED_ELF_HEADERS: &str = "Loaded ELF headers at";
/// Every kernel booted with `crashkernel=` says where it reserved:
/// `crashkernel reserved: 0x… - 0x… (256 MB)` (the end exclusive).
const CRASHKERNEL_RESERVED: &str = "crashkernel reserved:";
/// The patched kernel reads a purgatory from `kexec_file.purgatory=`.
pub const TESTING_FILE: &str = "kexec_file: purgatory: testing ";
/// The patched kernel's refusal of a purgatory with a second program header.
pub const TWO_PROGRAM_HEADERS: &str =
    "kexec_file: purgatory: 2 program headers, a linked purgatory must have exactly one PT_LOAD";
/// Its refusal of an `entry64_regs` of the RFC's 128 bytes.
pub const REGS_SIZE_MISMATCH: &str = "kexec_file: symbol entry64_regs size mismatch: 128 bytes in the purgatory, the loader expects 136";

/// Where bzImage64's `kexec_file_load` put the kernel (with `KEXEC_FILE_DEBUG`).
pub const LOADED_KERNEL_AT: &str = "Loaded 64bit kernel at";
/// Patch 0006's line when `kexec_file.verify=always` kept a check upstream
/// would skip.
pub const KEEPING_VERIFICATION: &str =
    "kexec_file: keeping checksum verification: kexec_file.verify=always";
/// Upstream's `test_kho` in a kernel that was handed its state.
pub const KHO_RESTORED: &str = "test_kho: KHO restore succeeded";
/// KHO in a kernel it handed over to: which kernel did (`exec from: <release>`).
pub const KHO_EXEC_FROM: &str = "KHO: exec from:";

/// Where the patched kernel put the purgatory.
pub fn purgatory_at(serial: &str) -> Option<u64> {
    hex_after(serial, LOADED_PURGATORY_AT)
}

/// The entry point the patched kernel computed, for the image of any type.
pub fn file_load_entry(serial: &str) -> Option<u64> {
    let line = serial.lines().find(|line| line.contains(FILE_LOAD))?;
    hex_after(line, FILE_LOAD_START)
}

/// Where the ELF core headers of a crash image went.
pub fn elf_headers_at(serial: &str) -> Option<u64> {
    hex_after(serial, LOADED_ELF_HEADERS)
}

/// The `crashkernel=` reservation the first kernel made: `start..end`.
pub fn crashkernel_reserved(serial: &str) -> Option<(u64, u64)> {
    let line = serial
        .lines()
        .find(|line| line.contains(CRASHKERNEL_RESERVED))?;
    let (_, range) = line.split_once(CRASHKERNEL_RESERVED)?;
    let (start, end) = range.split_once(" - ")?;
    Some((
        hex_number(start.trim())?,
        hex_number(end.split_whitespace().next()?)?,
    ))
}

/// The segment list's line for the segment at `mem`.
pub fn segment_line(mem: u64) -> String {
    format!("mem={mem:#x} ")
}

/// Where `kexec_file_load` put the kernel.
pub fn kernel_at(serial: &str) -> Option<u64> {
    hex_after(serial, LOADED_KERNEL_AT)
}

/// One entry of the segment list `kexec_file_load` logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSegment {
    pub mem: u64,
    pub memsz: u64,
}

/// The segment list of the load, in its order: the lines before the jump.
pub fn file_segments(serial: &str) -> Vec<FileSegment> {
    let before = serial
        .split_once(STARTING_NEW_KERNEL)
        .map_or(serial, |(before, _)| before);
    before
        .lines()
        .filter(|line| line.contains("kexec_file: segment["))
        .filter_map(|line| {
            Some(FileSegment {
                mem: hex_after(line, "mem=")?,
                memsz: hex_after(line, "memsz=")?,
            })
        })
        .collect()
}

/// The `bufsz` of the segment at `mem` in the segment list.
pub fn segment_bufsz(serial: &str, mem: u64) -> Option<u64> {
    let segment = segment_line(mem);
    serial
        .lines()
        .filter(|line| line.contains(&segment))
        .find_map(|line| hex_after(line, "bufsz="))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRASH_LOG: &str = "[    0.0] crashkernel reserved: 0x000000006f000000 - 0x000000007f000000 (256 MB)\n\
        [    2.3] kexec: Loaded ELF headers at 0x6f000000 bufsz=0x1000 memsz=0x1000\n\
        [    2.8] kexec_file: segment[0]: buf=0x0000000030254f28 bufsz=0x1000 mem=0x6f000000 memsz=0x1000\n\
        [    2.9] kexec_file: segment[1]: buf=0x0000000059ec2356 bufsz=0x4d72 mem=0x7eff7000 memsz=0x9000\n\
        [    3.0] kexec_file: kexec_file_load: type:1, start:0x7eff73c0 head:0x4 flags:0xa\n";

    #[test]
    fn a_crash_load_s_lines_parse() {
        assert_eq!(
            crashkernel_reserved(CRASH_LOG),
            Some((0x6f00_0000, 0x7f00_0000))
        );
        assert_eq!(elf_headers_at(CRASH_LOG), Some(0x6f00_0000));
        assert_eq!(
            file_segments(CRASH_LOG),
            [
                FileSegment {
                    mem: 0x6f00_0000,
                    memsz: 0x1000
                },
                FileSegment {
                    mem: 0x7eff_7000,
                    memsz: 0x9000
                }
            ]
        );
        assert_eq!(file_load_entry(CRASH_LOG), Some(0x7eff_73c0));
        assert!(CRASH_LOG.contains(FILE_LOAD_CRASH));
        assert_eq!(crashkernel_reserved("crashkernel reserved: soon\n"), None);
    }

    const LOG: &str = "[    1.2] kexec_file: kernel: 0000000 kernel_size: 0x12\n\
        [    1.3] kexec-bzImage64: Loaded purgatory at 0x7ffd8000\n\
        [    1.4] kexec_file: segment[3]: buf=0x0000 bufsz=0x44a0 mem=0x7ffd8000 memsz=0x9000\n\
        [    1.5] kexec_file: kexec_file_load: type:0, start:0x7ffd83c0 head:0x1 flags:0x8\n";

    #[test]
    fn banners_name_releases() {
        let serial = "[ 0.0] Linux version 7.3.4+deb13-amd64 (debian-kernel@lists.debian.org) #1\n\
            x\n[ 0.0] Linux version 6.1.0-57-amd64 (d@l) #1 SMP\n";
        assert_eq!(
            banner_releases(serial),
            ["7.3.4+deb13-amd64", "6.1.0-57-amd64"]
        );
    }

    #[test]
    fn the_segment_list_parses() {
        let serial = format!(
            "{LOG}\
             [ 1.6] kexec_file: segment[0]: buf=0x0 bufsz=0x10 mem=0x1000 memsz=0x2000\n\
             [ 1.7] kexec_core: Starting new kernel\n\
             [ 0.1] kexec_file: segment[9]: buf=0x0 bufsz=0x10 mem=0x9000 memsz=0x1000\n"
        );
        assert_eq!(
            file_segments(&serial),
            [
                FileSegment {
                    mem: 0x7ffd_8000,
                    memsz: 0x9000
                },
                FileSegment {
                    mem: 0x1000,
                    memsz: 0x2000
                }
            ]
        );
    }

    #[test]
    fn debug_lines_parse() {
        assert_eq!(purgatory_at(LOG), Some(0x7ffd_8000));
        assert_eq!(file_load_entry(LOG), Some(0x7ffd_83c0));
        assert_eq!(segment_bufsz(LOG, 0x7ffd_8000), Some(0x44a0));
        assert_eq!(segment_bufsz(LOG, 0x1000), None);
    }
}
