//! A crash kernel: `kexec-load -p` put every segment in the `crashkernel=`
//! reservation (below or above 4 GiB, as the scenario reserved), stage 1
//! marked a page and crashed the first kernel, which panicked; the purgatory
//! verified what the plan says and jumped to the capture kernel, which booted
//! with `elfcorehdr=` and read the marker back from `/proc/vmcore` at the
//! address stage 1 gave, with the first kernel's release in VMCOREINFO and
//! the registers of every CPU. Or, for a byte flipped after the digest, the
//! purgatory refused on the panic ([`refusal`](super::refusal)). When Linux's
//! own `kexec_file_load` loads the crash kernel, its debug lines stand for the
//! plan: the reservation, the segments, our purgatory on the linked path.

use super::common::{Expect, FOUR_GIB, console_passed, loader_path, passed_exit, path_words};
use super::{kexec_file, refusal};
use crate::e2e::harness::log::require;
use crate::e2e::harness::qemu::Run;
use crate::e2e::suite::table::{Refusal, Reservation};
use crate::e2e::suite::vocabulary::kdump::{self, Found, Mark};
use crate::e2e::suite::vocabulary::linux::{
    FILE_LOAD_CRASH, PANIC, banners, command_line_has, crashkernel_reserved, elf_headers_at,
    file_segments, purgatory_at,
};
use crate::e2e::suite::vocabulary::plan::{self, Plan};
use kexec_load::crash::{CrashReport, Span};
use purgatory_abi::KERNEL_ENTRY64_OFFSET;

/// The capture kernel booted and read the dump; `cpus` were booted.
pub fn capture(
    run: &Run,
    reservation: Reservation,
    cpus: u32,
    expect: &Expect,
) -> Result<String, String> {
    passed_exit(run)?;
    let serial = &run.serial;
    let plan = plan::read(serial)?;
    let crash = crash_plan(&plan, reservation)?;
    let path = loader_path(&plan, expect)?;
    let entry = plan.segment("kernel")?.start + KERNEL_ENTRY64_OFFSET;
    let console = console_passed(serial, &plan, entry)?;
    let found = read_back(serial, &crash.param, cpus)?;
    Ok(format!(
        "the capture kernel read marker {} at {:#x} back from /proc/vmcore (offset {:#x} of {} MiB), \
         OSRELEASE {}, {} CPUs' registers; every segment in the reservation {}; {console}; {}",
        found.marker,
        found.addr,
        found.offset,
        found.bytes >> 20,
        found.release,
        found.prstatus,
        crash.reservation,
        path_words(path)
    ))
}

/// Linux's `kexec_file_load` loaded a crash kernel with `ours` embedded, and
/// the capture kernel read the dump. Linux leaves the purgatory's console
/// off: what shows our purgatory ran is where the kernel put it.
pub fn file_capture(
    run: &Run,
    reservation: Reservation,
    cpus: u32,
    ours: &[u8],
) -> Result<String, String> {
    passed_exit(run)?;
    let serial = &run.serial;
    require(serial, FILE_LOAD_CRASH, "the kernel loaded no crash image")?;
    let (start, end) =
        crashkernel_reserved(serial).ok_or("the first kernel reserved no crash kernel memory")?;
    let reserved = Span::new(start, end);
    on_its_side(reserved, reservation)?;
    let segments: Vec<_> = file_segments(serial)
        .into_iter()
        .map(|s| Span::new(s.mem, s.mem + s.memsz))
        .collect();
    if let Some(outside) = segments.iter().find(|s| !reserved.contains(s)) {
        return Err(format!(
            "segment {outside} is outside the reservation {reserved}"
        ));
    }
    let at = purgatory_at(serial).ok_or("no \"Loaded purgatory at\" line")?;
    let (entry, filesz) = kexec_file::linked(serial, at, ours)?;
    let headers = elf_headers_at(serial).ok_or("no \"Loaded ELF headers at\" line")?;
    let found = read_back(serial, &format!("elfcorehdr={headers:#x}"), cpus)?;
    Ok(format!(
        "the capture kernel read marker {} at {:#x} back from /proc/vmcore ({} MiB), OSRELEASE {}, {} CPUs' registers; \
         Linux placed {} segments in the reservation {reserved}, our purgatory at {at:#x} ({filesz:#x} bytes, entry {entry:#x})",
        found.marker,
        found.addr,
        found.bytes >> 20,
        found.release,
        found.prstatus,
        segments.len()
    ))
}

/// Stage 1 marked and crashed, the first kernel panicked, a capture kernel
/// booted with `elfcorehdr` and read back what stage 1 wrote, on `cpus` CPUs.
fn read_back(serial: &str, elfcorehdr: &str, cpus: u32) -> Result<Found, String> {
    let mark = kdump::mark(serial)?;
    require(serial, PANIC, "the first kernel never panicked")?;
    if banners(serial) < 2 {
        return Err("no second kernel banner: the capture kernel did not boot".into());
    }
    if !command_line_has(serial, elfcorehdr) {
        return Err(format!(
            "no kernel booted with {elfcorehdr} on its command line"
        ));
    }
    let found = kdump::found(serial)?;
    same_as_marked(&found, &mark, cpus)?;
    Ok(found)
}

/// The purgatory refused the crash kernel on the panic.
pub fn refused(
    run: &Run,
    reservation: Reservation,
    case: Refusal,
    expect: &Expect,
) -> Result<String, String> {
    let plan = plan::read(&run.serial)?;
    crash_plan(&plan, reservation)?;
    kdump::mark(&run.serial)?;
    refusal::judge(run, case, expect, PANIC)
}

/// The plan's crash part, with every segment inside the reservation, on the
/// side of 4 GiB the scenario reserved.
fn crash_plan(plan: &Plan, reservation: Reservation) -> Result<&CrashReport, String> {
    let crash = plan
        .crash
        .as_ref()
        .ok_or("kexec-load's plan has no crash part: it did not load a crash kernel")?;
    let reserved = crash.reservation;
    on_its_side(reserved, reservation)?;
    match plan
        .segments
        .iter()
        .find(|s| !reserved.contains(&Span::new(s.start, s.end)))
    {
        Some(s) => Err(format!(
            "segment {} {:#x}..{:#x} is outside the reservation {reserved}",
            s.name, s.start, s.end
        )),
        None => Ok(crash),
    }
}

/// The reservation lies on the side of 4 GiB the scenario reserved.
fn on_its_side(reserved: Span, reservation: Reservation) -> Result<(), String> {
    let side_ok = match reservation {
        Reservation::Below4G => reserved.end <= FOUR_GIB,
        Reservation::Above4G => reserved.start >= FOUR_GIB,
    };
    if side_ok {
        Ok(())
    } else {
        Err(format!(
            "the reservation {reserved} is on the wrong side of 4 GiB for {reservation:?}"
        ))
    }
}

/// What the capture kernel found is what stage 1 wrote, on `cpus` CPUs.
fn same_as_marked(found: &Found, mark: &Mark, cpus: u32) -> Result<(), String> {
    if (found.addr, found.marker.as_str()) != (mark.addr, mark.marker.as_str()) {
        return Err(format!(
            "/proc/vmcore holds {:?} at {:#x}; stage 1 wrote {:?} at {:#x}",
            found.marker, found.addr, mark.marker, mark.addr
        ));
    }
    if found.release != mark.release {
        return Err(format!(
            "VMCOREINFO says OSRELEASE={}, the first kernel was {}",
            found.release, mark.release
        ));
    }
    if (mark.cpus, found.prstatus) != (cpus, cpus) {
        return Err(format!(
            "{cpus} CPUs booted, {} online at the crash, {} register sets in the dump",
            mark.cpus, found.prstatus
        ));
    }
    Ok(())
}
