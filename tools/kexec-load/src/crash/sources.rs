//! What the running kernel tells a crash load, read from a procfs and a
//! sysfs tree (`/proc` and `/sys`, or a fixture's): every file here needs
//! root, and the rest of the crash load is plain computation on what
//! [`CrashSources::read`] returns.
//!
//! | file | what | format |
//! | --- | --- | --- |
//! | `/proc/iomem` | reservation, RAM, ACPI, reserved ranges | [`super::iomem`] |
//! | `/sys/devices/system/cpu/cpuN/crash_notes` | where CPU N's registers are saved on a crash | hex address |
//! | `…/crash_notes_size` | its size (`sizeof(note_buf_t)`) | decimal |
//! | `/sys/kernel/vmcoreinfo` | the VMCOREINFO note | `0x<address> <size in hex>` |
//! | `/proc/kcore` | the kernel's mappings | [`super::kcore`] |
//! | `/sys/kernel/kexec_crash_cma_ranges` | `crashkernel=…,cma` areas (7.x; optional) | `start-end` lines, hex |

use super::error::CrashError;
use super::iomem::Iomem;
use super::kcore::KernelMap;
use super::span::Span;
use crate::number::parse_hex;
use crate::sysfs::Sysfs;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The default procfs root.
pub const PROCFS_ROOT: &str = "/proc";
/// Under the procfs root.
pub const IOMEM: &str = "iomem";
pub const KCORE: &str = "kcore";
/// Under the sysfs root.
pub const VMCOREINFO: &str = "kernel/vmcoreinfo";
pub const CPUS: &str = "devices/system/cpu";
pub const CMA_RANGES: &str = "kernel/kexec_crash_cma_ranges";

/// Where one CPU's crash notes are: the PT_NOTE the dump gets for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuNote {
    pub cpu: u32,
    pub addr: u64,
    pub size: u64,
}

/// A note's physical place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteRange {
    pub addr: u64,
    pub size: u64,
}

/// Everything read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashSources {
    pub iomem: Iomem,
    /// By CPU number.
    pub notes: Vec<CpuNote>,
    pub vmcoreinfo: NoteRange,
    pub kernel: KernelMap,
    /// `crashkernel=…,cma` areas: RAM for the capture kernel, left out of the dump.
    pub cma: Vec<Span>,
}

impl CrashSources {
    /// Reads every file under `procfs` and `sysfs`.
    pub fn read(procfs: &Path, sysfs: &Sysfs) -> Result<Self, CrashError> {
        let root = sysfs.root();
        let iomem_path = procfs.join(IOMEM);
        let iomem = Iomem::parse(&read_text(&iomem_path)?, &iomem_path.display().to_string())?;
        let vmcoreinfo_path = root.join(VMCOREINFO);
        let vmcoreinfo = parse_vmcoreinfo(&read_text(&vmcoreinfo_path)?)
            .ok_or_else(|| malformed(&vmcoreinfo_path, "expected \"0x<address> <size in hex>\""))?;
        let cma_path = root.join(CMA_RANGES);
        let cma = match std::fs::read_to_string(&cma_path) {
            Ok(text) => parse_ranges(&text)
                .ok_or_else(|| malformed(&cma_path, "expected \"start-end\" lines in hex"))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(read_error(&cma_path, &e)),
        };
        Ok(Self {
            iomem,
            notes: read_notes(&root.join(CPUS))?,
            vmcoreinfo,
            kernel: KernelMap::read(&procfs.join(KCORE))?,
            cma,
        })
    }
}

/// `crash_notes` and `crash_notes_size` of every `cpuN` directory that has them.
fn read_notes(dir: &Path) -> Result<Vec<CpuNote>, CrashError> {
    let entries = std::fs::read_dir(dir).map_err(|e| read_error(dir, &e))?;
    let mut notes = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| read_error(dir, &e))?;
        let name = entry.file_name();
        let Some(cpu) = name
            .to_str()
            .and_then(|n| n.strip_prefix("cpu"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let notes_path = entry.path().join("crash_notes");
        if !notes_path.exists() {
            continue;
        }
        let size_path = entry.path().join("crash_notes_size");
        let addr = u64::from_str_radix(read_text(&notes_path)?.trim(), 16)
            .map_err(|_| malformed(&notes_path, "expected a hex address"))?;
        let size = read_text(&size_path)?
            .trim()
            .parse()
            .map_err(|_| malformed(&size_path, "expected a decimal size"))?;
        notes.push(CpuNote { cpu, addr, size });
    }
    if notes.is_empty() {
        return Err(CrashError::NoCrashNotes {
            dir: dir.display().to_string(),
        });
    }
    notes.sort_by_key(|note| note.cpu);
    Ok(notes)
}

/// `%pa %x`: `0x000000007fde4000 1024` (the size is hex too).
fn parse_vmcoreinfo(text: &str) -> Option<NoteRange> {
    let mut words = text.split_whitespace();
    let addr = words.next()?;
    let addr = parse_hex(addr)?;
    let size = u64::from_str_radix(words.next()?, 16).ok()?;
    (words.next().is_none() && size > 0).then_some(NoteRange { addr, size })
}

/// `%08llx-%08llx` lines, the end inclusive.
fn parse_ranges(text: &str) -> Option<Vec<Span>> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| Span::parse_inclusive(line.trim()))
        .collect()
}

fn read_text(path: &Path) -> Result<String, CrashError> {
    std::fs::read_to_string(path).map_err(|e| read_error(path, &e))
}

fn read_error(path: &Path, error: &std::io::Error) -> CrashError {
    let hint = if error.kind() == std::io::ErrorKind::PermissionDenied {
        " (a crash load reads it as root)"
    } else {
        ""
    };
    CrashError::Read {
        path: path.display().to_string(),
        why: format!("{error}{hint}"),
    }
}

fn malformed(path: &Path, why: &str) -> CrashError {
    CrashError::Malformed {
        path: PathBuf::from(path).display().to_string(),
        why: why.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::crash::{NOTE_SIZE, QEMU_HIGH, VMCOREINFO_SIZE, write_crash_fixture};
    use crate::support::scratch_dir;

    /// A fixture of QEMU's 6 GiB guest in `root`'s `proc` and `sys`.
    fn written(root: &Path) {
        write_crash_fixture(&root.join("proc"), &root.join("sys"), &QEMU_HIGH);
    }

    /// What `root`'s `proc` and `sys` give.
    fn read_under(root: &Path) -> Result<CrashSources, CrashError> {
        CrashSources::read(&root.join("proc"), &Sysfs::new(root.join("sys")))
    }

    #[test]
    fn everything_is_read_under_the_root() {
        let root = scratch_dir("sources");
        written(&root);
        std::fs::write(root.join("sys").join(CMA_RANGES), "140000000-147ffffff\n").unwrap();
        let sources = read_under(&root).unwrap();
        assert_eq!(
            sources.notes,
            [
                CpuNote {
                    cpu: 0,
                    addr: 0x1_bfc3_da00,
                    size: NOTE_SIZE
                },
                CpuNote {
                    cpu: 1,
                    addr: 0x1_bfd3_da00,
                    size: NOTE_SIZE
                }
            ]
        );
        assert_eq!(
            sources.vmcoreinfo,
            NoteRange {
                addr: 0x1_0039_a000,
                size: VMCOREINFO_SIZE
            }
        );
        assert_eq!(sources.kernel.text_paddr, 0x1_12a0_0000);
        assert_eq!(sources.cma, [Span::new(0x1_4000_0000, 0x1_4800_0000)]);
        assert_eq!(sources.iomem.resources.len(), 23);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn each_missing_or_bad_file_is_named() {
        let root = scratch_dir("sources-bad");
        written(&root);
        let (proc, sys) = (root.join("proc"), root.join("sys"));
        let expect = |needle: &str| {
            let err = read_under(&root).unwrap_err().to_string();
            assert!(err.contains(needle), "{needle:?} missing from {err}");
        };
        std::fs::write(sys.join(CMA_RANGES), "x-y\n").unwrap();
        expect("kexec_crash_cma_ranges: expected \"start-end\"");
        std::fs::remove_file(sys.join(CMA_RANGES)).unwrap();
        std::fs::write(sys.join(CPUS).join("cpu1/crash_notes_size"), "big\n").unwrap();
        expect("cpu1/crash_notes_size: expected a decimal size");
        for cpu in ["cpu0", "cpu1"] {
            std::fs::remove_file(sys.join(CPUS).join(cpu).join("crash_notes")).unwrap();
        }
        expect("CONFIG_CRASH_DUMP");
        std::fs::write(sys.join(VMCOREINFO), "somewhere\n").unwrap();
        expect("vmcoreinfo: expected \"0x<address> <size in hex>\"");
        std::fs::remove_file(proc.join(IOMEM)).unwrap();
        expect("proc/iomem");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn sysfs_formats() {
        assert_eq!(
            parse_vmcoreinfo("0x000000007fde4000 1024\n"),
            Some(NoteRange {
                addr: 0x7fde_4000,
                size: 0x1024
            })
        );
        assert_eq!(parse_vmcoreinfo("0x1000\n"), None);
        assert_eq!(parse_vmcoreinfo("0x1000 0\n"), None);
        assert_eq!(parse_ranges(""), Some(vec![]));
        assert_eq!(parse_ranges("2000-1fff\n"), None);
    }
}
