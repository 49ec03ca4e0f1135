//! The kernel side: the checks `kexec_load` makes on a segment list (made here
//! first, so that a refusal names the segment), the `kexec_load` and
//! `reboot(LINUX_REBOOT_CMD_KEXEC)` calls, and what each errno means. A crash
//! image's own rules are in `crash`.

mod crash;

use crate::layout::PAGE_SIZE;
use crate::memmap::{MemoryRange, total_ram};
use crate::plan::{Plan, PlannedSegment};
use std::ffi::c_void;
use std::fmt;
use std::io;

/// `KEXEC_SEGMENT_MAX`.
pub const SEGMENT_MAX: usize = 16;
/// `KEXEC_ARCH_X86_64`: the ELF machine number in the upper half of the flags.
const KEXEC_ARCH_X86_64: libc::c_ulong = 62 << 16;

/// `struct kexec_segment`.
#[repr(C)]
struct KexecSegment {
    buf: *const c_void,
    bufsz: usize,
    mem: usize,
    memsz: usize,
}

/// The rules `kexec_load` enforces (kernel/kexec_core.c,
/// `sanity_check_segment_list`), plus "inside System RAM", which this loader
/// adds because nothing else may be overwritten. Each violation names its
/// segment.
pub fn rule_violations(segments: &[PlannedSegment], map: &[MemoryRange]) -> Vec<String> {
    let mut violations = Vec::new();
    if segments.len() > SEGMENT_MAX {
        violations.push(format!(
            "{} segments, the kernel takes at most {SEGMENT_MAX}",
            segments.len()
        ));
    }
    for s in segments {
        if !s.addr.is_multiple_of(PAGE_SIZE) || !s.mem_size.is_multiple_of(PAGE_SIZE) {
            violations.push(format!(
                "segment {} ({:#x}, memsz {:#x}) is not page-aligned in address and size",
                s.name, s.addr, s.mem_size
            ));
        }
        if s.bytes.len() as u64 > s.mem_size {
            violations.push(format!(
                "segment {} has {:#x} bytes but memsz {:#x}",
                s.name,
                s.bytes.len(),
                s.mem_size
            ));
        }
        let in_ram = map
            .iter()
            .any(|r| r.is_ram() && r.start <= s.addr && s.end() <= r.end);
        if !in_ram {
            violations.push(format!(
                "segment {} {:#x}..{:#x} is not inside one System RAM range",
                s.name,
                s.addr,
                s.end()
            ));
        }
    }
    for (i, a) in segments.iter().enumerate() {
        for b in segments.iter().skip(i + 1) {
            if a.addr < b.end() && b.addr < a.end() {
                violations.push(format!(
                    "segment {} {:#x}..{:#x} overlaps segment {} {:#x}..{:#x}",
                    a.name,
                    a.addr,
                    a.end(),
                    b.name,
                    b.addr,
                    b.end()
                ));
            }
        }
    }
    let total: u64 = segments.iter().map(|s| s.mem_size).sum();
    let ram = total_ram(map);
    if total > ram / 2 {
        violations.push(format!(
            "the segments need {} MiB, more than half of the {} MiB of RAM (the kernel's limit); the largest is {}",
            total >> 20,
            ram >> 20,
            largest(segments)
        ));
    }
    violations
}

/// Every rule the plan breaks: [`rule_violations`], and for a crash kernel
/// the reservation's.
pub fn plan_violations(plan: &Plan, map: &[MemoryRange]) -> Vec<String> {
    let mut violations = rule_violations(&plan.segments, map);
    if let Some(report) = &plan.crash {
        violations.extend(crash::violations(plan, report.reservation));
    }
    violations
}

fn largest(segments: &[PlannedSegment]) -> String {
    segments
        .iter()
        .max_by_key(|s| s.mem_size)
        .map_or_else(String::new, |s| {
            format!("{} ({} MiB)", s.name, s.mem_size >> 20)
        })
}

/// A failed system call and what it most likely means here.
#[derive(Debug)]
pub struct KexecError {
    pub call: &'static str,
    pub error: io::Error,
    pub causes: Vec<String>,
}

impl fmt::Display for KexecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.call, self.error)?;
        for cause in &self.causes {
            write!(f, "\n  {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for KexecError {}

/// `kexec_load`'s flags: the crash kernel's slot, or the image a reboot
/// boots.
fn load_flags(on_crash: bool) -> libc::c_ulong {
    if on_crash {
        KEXEC_ARCH_X86_64 | crash::KEXEC_ON_CRASH
    } else {
        KEXEC_ARCH_X86_64
    }
}

/// Hands the plan to the kernel: as the image a panic boots when it is a
/// crash kernel's.
pub fn load(plan: &Plan, map: &[MemoryRange]) -> Result<(), KexecError> {
    let flags = load_flags(plan.crash.is_some());
    let segments: Vec<KexecSegment> = plan
        .segments
        .iter()
        .map(|s| KexecSegment {
            buf: s.bytes.as_ptr().cast(),
            bufsz: s.bytes.len(),
            mem: s.addr as usize,
            memsz: s.mem_size as usize,
        })
        .collect();
    // SAFETY: `segments` is a live array of `struct kexec_segment` whose
    // buffers outlive the call; the kernel only reads them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_kexec_load,
            plan.entry as libc::c_ulong,
            segments.len() as libc::c_ulong,
            segments.as_ptr(),
            flags,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    let causes = explain(&error, Some((plan, map)));
    Err(KexecError {
        call: "kexec_load",
        error,
        causes,
    })
}

/// Unloads the image loaded earlier (`kexec_load` with no segments), or
/// with `on_crash` the crash kernel.
pub fn unload(on_crash: bool) -> Result<(), KexecError> {
    let flags = load_flags(on_crash);
    // SAFETY: no segments: the kernel reads nothing from user memory.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_kexec_load,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            std::ptr::null::<KexecSegment>(),
            flags,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    let causes = explain(&error, None);
    Err(KexecError {
        call: "kexec_load (unload)",
        error,
        causes,
    })
}

/// Reboots into the loaded image; returns only on failure.
pub fn reboot_into_loaded_image() -> KexecError {
    clear_vector_registers();
    // SAFETY: sync(2) has no preconditions; reboot(2) with the KEXEC command
    // either does not return or fails with errno set.
    let error = unsafe {
        libc::sync();
        libc::reboot(libc::LINUX_REBOOT_CMD_KEXEC);
        io::Error::last_os_error()
    };
    let mut causes = explain(&error, None);
    if error.raw_os_error() == Some(libc::EINVAL) {
        causes.insert(0, "no kexec image is loaded".into());
    }
    KexecError {
        call: "reboot(LINUX_REBOOT_CMD_KEXEC)",
        error,
        causes,
    }
}

/// The likely causes of `error`, checked against this machine's state.
/// Zeroes xmm0-xmm15 before the reboot. The kernel does not touch them on its
/// way to the purgatory, so the next stage would find this process's values,
/// among them, with sha2's SHA-NI backend, the state of the digest this tool
/// computed. Zeroed, whatever they hold after the purgatory is the purgatory's:
/// the register probe reads its SHA-NI path's final state there.
fn clear_vector_registers() {
    // SAFETY: only the XMM registers change, and all are declared clobbered.
    unsafe {
        std::arch::asm!(
            "pxor xmm0, xmm0", "pxor xmm1, xmm1", "pxor xmm2, xmm2", "pxor xmm3, xmm3",
            "pxor xmm4, xmm4", "pxor xmm5, xmm5", "pxor xmm6, xmm6", "pxor xmm7, xmm7",
            "pxor xmm8, xmm8", "pxor xmm9, xmm9", "pxor xmm10, xmm10", "pxor xmm11, xmm11",
            "pxor xmm12, xmm12", "pxor xmm13, xmm13", "pxor xmm14, xmm14", "pxor xmm15, xmm15",
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
            out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
            out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
            out("xmm12") _, out("xmm13") _, out("xmm14") _, out("xmm15") _,
            options(nomem, nostack, preserves_flags),
        );
    }
}

fn explain(error: &io::Error, load: Option<(&Plan, &[MemoryRange])>) -> Vec<String> {
    let mut causes = Vec::new();
    match error.raw_os_error() {
        Some(libc::EPERM) => {
            // SAFETY: geteuid(2) cannot fail.
            if unsafe { libc::geteuid() } != 0 {
                causes.push("kexec needs CAP_SYS_BOOT: run it as root".into());
            }
            if read_trimmed("/proc/sys/kernel/kexec_load_disabled").as_deref() == Some("1") {
                causes.push(
                    "kexec_load is disabled (kernel.kexec_load_disabled = 1; only a reboot re-enables it)".into(),
                );
            }
            if let Some(limit) = read_trimmed("/proc/sys/kernel/kexec_load_limit_reboot")
                && limit == "0"
            {
                causes
                    .push("kernel.kexec_load_limit_reboot is 0: no more loads are allowed".into());
            }
            if let Some(lockdown) = read_trimmed("/sys/kernel/security/lockdown")
                && !lockdown.contains("[none]")
            {
                causes.push(format!(
                    "the kernel is locked down ({lockdown}): kexec_load of unsigned images is refused"
                ));
            }
            if causes.is_empty() {
                causes.push(
                    "missing CAP_SYS_BOOT (e.g. in a container), or a security module refused it"
                        .into(),
                );
            }
        }
        Some(libc::EINVAL | libc::EADDRNOTAVAIL) => {
            if let Some((plan, map)) = load {
                let violations = plan_violations(plan, map);
                if violations.is_empty() {
                    causes.push(format!(
                        "the kernel refused the segment list although every segment passes the local checks; \
                         its limit is half of the RAM it manages (less than the firmware map's), and the largest segment is {}",
                        largest(&plan.segments)
                    ));
                } else {
                    causes.extend(violations);
                }
            }
        }
        Some(libc::EBUSY) => {
            causes.push("another kexec load or reboot is in progress".into());
        }
        Some(libc::ENOMEM) => {
            if let Some((plan, _)) = load {
                let total: u64 = plan.segments.iter().map(|s| s.mem_size).sum();
                causes.push(match &plan.crash {
                    Some(report) => format!(
                        "the kernel found no free page in the crashkernel= reservation for its control pages \
                         ({:#x} bytes were left free, {:#x} expected to suffice)",
                        report.free, report.control_room
                    ),
                    None => format!(
                        "the kernel could not allocate {} MiB for the segments; the largest is {}",
                        total >> 20,
                        largest(&plan.segments)
                    ),
                });
            }
        }
        Some(libc::ENOSYS) => {
            causes.push("this kernel has no kexec_load (CONFIG_KEXEC is off)".into());
        }
        _ => {}
    }
    causes
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ram(start: u64, end: u64) -> MemoryRange {
        MemoryRange {
            start,
            end,
            e820_type: 1,
            name: "System RAM".into(),
        }
    }

    /// Verified segments `(name, addr, mem_size, bytes)`.
    fn segments(list: &[(&'static str, u64, u64, usize)]) -> Vec<PlannedSegment> {
        list.iter()
            .map(|&(name, addr, mem_size, len)| PlannedSegment {
                name,
                bytes: vec![0; len],
                addr,
                mem_size,
                digest: Some([0; 32]),
            })
            .collect()
    }

    #[test]
    fn a_sound_list_passes() {
        let map = [ram(0x1000, 0x100_0000)];
        let p = segments(&[
            ("kernel", 0x10_0000, 0x2000, 0x1800),
            ("purgatory", 0x20_0000, 0x1000, 0x1000),
        ]);
        assert_eq!(rule_violations(&p, &map), Vec::<String>::new());
    }

    #[test]
    fn each_violation_names_its_segment() {
        let map = [
            ram(0x1000, 0x100_0000),
            MemoryRange {
                start: 0x100_0000,
                end: 0x200_0000,
                e820_type: 2,
                name: "Reserved".into(),
            },
        ];
        let p = segments(&[
            ("kernel", 0x10_0800, 0x2000, 0x10),
            ("initrd", 0x20_0000, 0x1000, 0x2000),
            ("boot-params", 0x30_0000, 0x2000, 0x10),
            ("purgatory", 0x30_1000, 0x1000, 0x10),
            ("payload", 0x100_0000, 0x1000, 0x10),
        ]);
        let v = rule_violations(&p, &map);
        let has = |needle: &str| v.iter().any(|line| line.contains(needle));
        assert!(
            has("segment kernel (0x100800, memsz 0x2000) is not page-aligned"),
            "{v:#?}"
        );
        assert!(
            has("segment initrd has 0x2000 bytes but memsz 0x1000"),
            "{v:#?}"
        );
        assert!(
            has("segment boot-params 0x300000..0x302000 overlaps segment purgatory"),
            "{v:#?}"
        );
        assert!(
            has("segment payload 0x1000000..0x1001000 is not inside one System RAM range"),
            "{v:#?}"
        );
    }

    #[test]
    fn half_of_ram_is_the_limit() {
        let map = [ram(0x1000, 0x401000)];
        let p = segments(&[("initrd", 0x1000, 0x300000, 0x10)]);
        let v = rule_violations(&p, &map);
        assert!(
            v.iter()
                .any(|line| line.contains("more than half") && line.contains("initrd")),
            "{v:#?}"
        );
    }

    #[test]
    fn too_many_segments() {
        let map = [ram(0x1000, 0x100_0000)];
        let many: Vec<_> = (0..17u64)
            .map(|i| ("payload", 0x1000 + i * 0x1000, 0x1000, 1))
            .collect();
        let v = rule_violations(&segments(&many), &map);
        assert!(v[0].contains("17 segments"), "{v:#?}");
    }

    /// A bzImage's plan in QEMU's 6 GiB map.
    fn sample_plan() -> Plan {
        let bytes = crate::support::synthetic_bzimage(0x3000);
        let image = crate::bzimage::BzImage::parse(&bytes).unwrap();
        let request = crate::testing::bz_request(image, None, crate::request::PurgatoryAddr::High);
        crate::plan::build(request, &crate::testing::qemu_6g()).unwrap()
    }

    #[test]
    fn errno_explanations() {
        let busy = explain(&io::Error::from_raw_os_error(libc::EBUSY), None);
        assert!(busy[0].contains("in progress"));
        let nosys = explain(&io::Error::from_raw_os_error(libc::ENOSYS), None);
        assert!(nosys[0].contains("CONFIG_KEXEC"));
        let map = crate::testing::qemu_6g();
        let mut plan = sample_plan();
        plan.segments[0].addr += 0x800;
        let inval = explain(
            &io::Error::from_raw_os_error(libc::EINVAL),
            Some((&plan, &map)),
        );
        assert!(inval[0].contains("segment kernel"), "{inval:#?}");
        assert!(!explain(&io::Error::from_raw_os_error(libc::EPERM), None).is_empty());
    }
}
