//! The lines the purgatory prints on its console, one function per line.
//!
//! Each starts with `purgatory: ` and ends with CR LF, as a serial terminal
//! expects; numbers of bytes and ticks are decimal, addresses and lengths hex,
//! digests as `sha256sum` prints them. A watcher can stop at `FAILED`.

use crate::regions::{Fault, SegmentFault};
use crate::text::{Sink, decimal, hex, hex_bytes};
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
