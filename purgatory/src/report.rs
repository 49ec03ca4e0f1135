//! The lines the purgatory prints on its console, one function per line.
//!
//! Each starts with `purgatory: ` and ends with CR LF, as a serial terminal
//! expects; numbers of bytes and ticks are decimal, addresses and lengths hex,
//! digests as `sha256sum` prints them. A watcher can stop at `FAILED`.

use crate::regions::{Fault, Hashing, SegmentFault};
use crate::text::{Sink, decimal, hex, hex_bytes};
use crate::trap::{Trap, mnemonic};
use purgatory_abi::{FailurePolicy, HashPath, Sha256Digest, ShaRegions};

const PREFIX: &[u8] = b"purgatory: ";
const END: &[u8] = b"\r\n";

/// At entry: what is about to be verified, and how.
/// `purgatory: verifying 2 segments (20975616 bytes) with sha-ni`
pub fn started(out: &mut impl Sink, regions: &ShaRegions, path: HashPath) {
    let used = regions.iter().filter(|region| region.len != 0);
    let count = used.clone().count() as u64;
    let bytes = used.fold(0, |sum: u64, region| sum.saturating_add(region.len));
    out.write(PREFIX);
    out.write(b"verifying ");
    decimal(out, count);
    out.write(if count == 1 {
        b" segment (".as_slice()
    } else {
        b" segments ("
    });
    decimal(out, bytes);
    out.write(b" bytes) with ");
    out.write(match path {
        HashPath::Software => b"software sha-256".as_slice(),
        HashPath::ShaNi => b"sha-ni",
    });
    out.write(END);
}

/// After the one pass over all regions.
/// `purgatory: verified 20975616 bytes in 10485760 tsc ticks`, or
/// `purgatory: verification FAILED after 20975616 bytes in 10485760 tsc ticks`
pub fn verified(out: &mut impl Sink, matched: bool, bytes: u64, ticks: u64) {
    out.write(PREFIX);
    out.write(if matched {
        b"verified ".as_slice()
    } else {
        b"verification FAILED after "
    });
    decimal(out, bytes);
    out.write(b" bytes in ");
    decimal(out, ticks);
    out.write(b" tsc ticks");
    out.write(END);
}

/// A segment that fails on its own.
/// `purgatory: segment 1 at 0x2000000, 0x1000 bytes: expected <digest>, computed <digest>`
/// or `purgatory: segment 2 at 0x0, 0x10 bytes: not addressable`
pub fn segment_fault(out: &mut impl Sink, segment: &SegmentFault) {
    out.write(PREFIX);
    out.write(b"segment ");
    decimal(out, segment.index as u64);
    out.write(b" at ");
    hex(out, segment.region.start);
    out.write(b", ");
    hex(out, segment.region.len);
    out.write(b" bytes: ");
    match segment.fault {
        Fault::NotAddressable => out.write(b"not addressable"),
        Fault::Mismatch { expected, computed } => digests(out, &expected, &computed),
    }
    out.write(END);
}

/// A mismatch no segment explains (the loader gave no per-segment digests).
/// `purgatory: all segments: expected <digest>, computed <digest>`
pub fn overall_mismatch(out: &mut impl Sink, expected: &Sha256Digest, computed: &Sha256Digest) {
    out.write(PREFIX);
    out.write(b"all segments: ");
    digests(out, expected, computed);
    out.write(END);
}

/// An exception that ends the purgatory, and the region being hashed when
/// it struck, if one was.
/// `purgatory: exception 14 (#PF) at rip 0x1c3f, error code 0x0, cr2 0x7f0000000000, while hashing segment 2 at 0x7f0000000000, 0x1000 bytes`
/// or `purgatory: exception 6 (#UD) at rip 0x1c3f`
pub fn exception(out: &mut impl Sink, trap: &Trap, hashing: Option<Hashing>) {
    out.write(PREFIX);
    out.write(b"exception ");
    decimal(out, trap.vector.into());
    if let Some(name) = mnemonic(trap.vector) {
        out.write(b" (");
        out.write(&name);
        out.write(b")");
    }
    out.write(b" at rip ");
    hex(out, trap.rip);
    if let Some(code) = trap.error_code {
        out.write(b", error code ");
        hex(out, code);
    }
    if let Some(cr2) = trap.cr2 {
        out.write(b", cr2 ");
        hex(out, cr2);
    }
    if let Some(Hashing { index, region }) = hashing {
        out.write(b", while hashing segment ");
        decimal(out, index as u64);
        out.write(b" at ");
        hex(out, region.start);
        out.write(b", ");
        hex(out, region.len);
        out.write(b" bytes");
    }
    out.write(END);
}

/// Just before the hand-off. `purgatory: jumping to 0x1000200`
pub fn jumping(out: &mut impl Sink, rip: u64) {
    out.write(PREFIX);
    out.write(b"jumping to ");
    hex(out, rip);
    out.write(END);
}

/// The last line after a failure. `purgatory: halting` or `purgatory: resetting`
pub fn stopping(out: &mut impl Sink, policy: FailurePolicy) {
    out.write(PREFIX);
    out.write(match policy {
        FailurePolicy::Halt => b"halting".as_slice(),
        FailurePolicy::Reset => b"resetting",
    });
    out.write(END);
}

fn digests(out: &mut impl Sink, expected: &Sha256Digest, computed: &Sha256Digest) {
    out.write(b"expected ");
    hex_bytes(out, expected);
    out.write(b", computed ");
    hex_bytes(out, computed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ABC_SHA256, EMPTY_SHA256, digest, table, text};
    use purgatory_abi::ShaRegion;

    #[test]
    fn the_entry_line_counts_segments_and_bytes() {
        let regions = table(&[(0x100_0000, 0x140_0000), (0xdead, 0), (0x9_0000, 0x1000)]);
        assert_eq!(
            text(|out| started(out, &regions, HashPath::ShaNi)),
            "purgatory: verifying 2 segments (20975616 bytes) with sha-ni\r\n"
        );
        assert_eq!(
            text(|out| started(out, &table(&[(0x1000, 64)]), HashPath::Software)),
            "purgatory: verifying 1 segment (64 bytes) with software sha-256\r\n"
        );
        assert_eq!(
            text(|out| started(out, &table(&[]), HashPath::Software)),
            "purgatory: verifying 0 segments (0 bytes) with software sha-256\r\n"
        );
    }

    #[test]
    fn the_verification_line_gives_bytes_and_ticks() {
        assert_eq!(
            text(|out| verified(out, true, 20_975_616, 10_485_760)),
            "purgatory: verified 20975616 bytes in 10485760 tsc ticks\r\n"
        );
        assert_eq!(
            text(|out| verified(out, false, 4096, 99)),
            "purgatory: verification FAILED after 4096 bytes in 99 tsc ticks\r\n"
        );
    }

    #[test]
    fn a_failing_segment_is_named_with_both_digests() {
        let fault = SegmentFault {
            index: 1,
            region: ShaRegion {
                start: 0x200_0000,
                len: 0x1000,
            },
            fault: Fault::Mismatch {
                expected: digest(ABC_SHA256),
                computed: digest(EMPTY_SHA256),
            },
        };
        assert_eq!(
            text(|out| segment_fault(out, &fault)),
            format!(
                "purgatory: segment 1 at 0x2000000, 0x1000 bytes: expected {ABC_SHA256}, \
                 computed {EMPTY_SHA256}\r\n"
            )
        );
    }

    #[test]
    fn an_unreadable_segment_is_named() {
        let fault = SegmentFault {
            index: 2,
            region: ShaRegion { start: 0, len: 16 },
            fault: Fault::NotAddressable,
        };
        assert_eq!(
            text(|out| segment_fault(out, &fault)),
            "purgatory: segment 2 at 0x0, 0x10 bytes: not addressable\r\n"
        );
    }

    #[test]
    fn an_unexplained_mismatch_gives_the_overall_digests() {
        assert_eq!(
            text(|out| overall_mismatch(out, &digest(ABC_SHA256), &digest(EMPTY_SHA256))),
            format!("purgatory: all segments: expected {ABC_SHA256}, computed {EMPTY_SHA256}\r\n")
        );
    }

    #[test]
    fn a_page_fault_while_hashing_names_the_fault_and_the_segment() {
        let trap = Trap::new(14, 0, 0x1c3f, || 0x7f00_0000_0800);
        let hashing = Hashing {
            index: 2,
            region: ShaRegion {
                start: 0x7f00_0000_0000,
                len: 0x1000,
            },
        };
        assert_eq!(
            text(|out| exception(out, &trap, Some(hashing))),
            "purgatory: exception 14 (#PF) at rip 0x1c3f, error code 0x0, cr2 0x7f0000000800, \
             while hashing segment 2 at 0x7f0000000000, 0x1000 bytes\r\n"
        );
    }

    #[test]
    fn an_exception_outside_hashing_gives_what_the_cpu_gave() {
        let invalid_opcode = Trap::new(6, 0, 0xabc0, || 0);
        assert_eq!(
            text(|out| exception(out, &invalid_opcode, None)),
            "purgatory: exception 6 (#UD) at rip 0xabc0\r\n"
        );
        let vmm_communication = Trap::new(29, 0x72, 0x2000, || 0);
        assert_eq!(
            text(|out| exception(out, &vmm_communication, None)),
            "purgatory: exception 29 (#VC) at rip 0x2000, error code 0x72\r\n"
        );
        let reserved = Trap::new(22, 0, 0x3000, || 0);
        assert_eq!(
            text(|out| exception(out, &reserved, None)),
            "purgatory: exception 22 at rip 0x3000\r\n"
        );
    }

    #[test]
    fn the_last_lines_name_the_jump_or_the_policy() {
        assert_eq!(
            text(|out| jumping(out, 0x100_0200)),
            "purgatory: jumping to 0x1000200\r\n"
        );
        assert_eq!(
            text(|out| stopping(out, FailurePolicy::Halt)),
            "purgatory: halting\r\n"
        );
        assert_eq!(
            text(|out| stopping(out, FailurePolicy::Reset)),
            "purgatory: resetting\r\n"
        );
    }
}
