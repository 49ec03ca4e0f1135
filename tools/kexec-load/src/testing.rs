//! What the tests of plans share: QEMU's memory map as `memmap::read` gives
//! it, a bzImage request, and what a crash load reads from a QEMU guest.
//! (Plain inputs are in `crate::support`.)

use crate::bzimage::BzImage;
use crate::console::Console;
use crate::crash::CrashSources;
use crate::handover::Handover;
use crate::memmap::MemoryRange;
use crate::request::{Payload, PurgatoryAddr, Request};
use crate::support::crash::{CrashMachine, write_crash_fixture};
use crate::support::{QEMU_6G, scratch_dir};
use purgatory_abi::{Cpuid, FailurePolicy};
use std::sync::atomic::{AtomicUsize, Ordering};

/// [`QEMU_6G`] as `memmap::read` returns it.
pub fn qemu_6g() -> Vec<MemoryRange> {
    QEMU_6G
        .iter()
        .map(|&(start, last, name)| MemoryRange {
            start,
            end: last + 1,
            e820_type: if name == "System RAM" { 1 } else { 2 },
            name: name.into(),
        })
        .collect()
}

/// A request for `payload`, verified, on a CPU without SHA extensions, with
/// no console, from a BIOS boot with nothing to hand over.
pub fn request(payload: Payload<'_>, at: PurgatoryAddr) -> Request<'_> {
    Request {
        payload,
        purgatory_addr: at,
        seed: 7,
        verify: true,
        host_5level: false,
        purgatory_flags: 0,
        cpuid: Cpuid::default(),
        console: Console::off("test"),
        on_failure: FailurePolicy::Halt,
        handover: Handover::default(),
        crash: None,
    }
}

/// A [`request`] for `image` with a short command line.
pub fn bz_request<'a>(
    image: BzImage<'a>,
    initrd: Option<Vec<u8>>,
    at: PurgatoryAddr,
) -> Request<'a> {
    let payload = Payload::BzImage {
        image,
        initrd,
        cmdline: "console=ttyS0 e2e.marker=x".into(),
    };
    request(payload, at)
}

/// What `CrashSources::read` gives on `machine`.
pub fn crash_sources(machine: &CrashMachine) -> CrashSources {
    // Tests run in parallel: each read gets a directory of its own.
    static READS: AtomicUsize = AtomicUsize::new(0);
    let root = scratch_dir(&format!("crash-{}", READS.fetch_add(1, Ordering::Relaxed)));
    let (proc, sys) = (root.join("proc"), root.join("sys"));
    write_crash_fixture(&proc, &sys, machine);
    let sources = CrashSources::read(&proc, &crate::sysfs::Sysfs::new(sys)).unwrap();
    let _ = std::fs::remove_dir_all(&root);
    sources
}
