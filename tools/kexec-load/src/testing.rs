//! What the tests of plans share: QEMU's memory map as `memmap::read` gives
//! it, and a bzImage request. (Plain inputs are in `crate::support`.)

use crate::bzimage::BzImage;
use crate::console::Console;
use crate::handover::Handover;
use crate::memmap::MemoryRange;
use crate::request::{Payload, PurgatoryAddr, Request};
use crate::support::QEMU_6G;
use purgatory_abi::{Cpuid, FailurePolicy};

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
