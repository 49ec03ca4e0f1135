//! The verification `purgatory_start` runs: one SHA-256 over all regions, a
//! console line with what it cost, and on a mismatch the lines that say what
//! differs. The second pass, segment by segment, runs only after a failure
//! and only when there is a console to tell.

use crate::regions::{Memory, digest_of_regions, failing_segments};
use crate::report;
use crate::sha256::Compress;
use crate::text::Sink;
use purgatory_abi::{SegmentDigests, Sha256Digest, ShaRegions};

/// What the loader patched in: the regions and their expected digests.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// `purgatory_sha_regions`.
    pub regions: &'a ShaRegions,
    /// `purgatory_sha256_digest`: all regions in order.
    pub digest: &'a Sha256Digest,
    /// `purgatory_segment_digests`: each region alone, where given.
    pub segment_digests: &'a SegmentDigests,
}

/// Whether the regions hash to the expected digest, reporting to `console`
/// when there is one. `ticks` reads the time-stamp counter.
pub fn verify<C: Compress>(
    console: &mut Option<impl Sink>,
    expected: &Expected<'_>,
    memory: &impl Memory,
    ticks: impl Fn() -> u64,
) -> bool {
    let start = ticks();
    let digested = digest_of_regions::<C>(expected.regions, memory);
    let spent = ticks().wrapping_sub(start);
    let matched = digested.digest.as_ref() == Some(expected.digest);
    if let Some(out) = console {
        report::verified(out, matched, digested.bytes, spent);
        if !matched {
            explain_failure::<C>(out, expected, digested.digest, memory);
        }
    }
    matched
}

/// Names each segment that fails on its own; when none does (no per-segment
/// digests were given, or only the overall digest is wrong), prints both
/// overall digests instead.
fn explain_failure<C: Compress>(
    out: &mut impl Sink,
    expected: &Expected<'_>,
    computed: Option<Sha256Digest>,
    memory: &impl Memory,
) {
    let named = failing_segments::<C>(
        expected.regions,
        expected.segment_digests,
        memory,
        |segment| report::segment_fault(out, segment),
    );
    // An unreadable region is always named: with none named, every region
    // was read and `computed` is there.
    if let (0, Some(computed)) = (named, computed) {
        report::overall_mismatch(out, expected.digest, &computed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{jumping, started, stopping};
    use crate::sha256::Soft;
    use crate::testing::{FakeMemory, hex, sha256};
    use purgatory_abi::{FailurePolicy, HashPath, NO_SEGMENT_DIGEST, SHA_REGION_COUNT, ShaRegion};
    use std::cell::Cell;

    /// A kernel, an initrd and boot parameters at made-up addresses.
    fn loaded_memory() -> FakeMemory {
        let pattern = |len: usize, seed: u8| (0..len).map(|i| (i as u8) ^ seed).collect();
        FakeMemory(vec![
            (0x100_0000, pattern(0x3000, 0x11)),
            (0x200_0000, pattern(0x1000, 0x22)),
            (0x9_0000, pattern(0x1000, 0x33)),
        ])
    }

    /// The digests a loader computes for `memory`: overall and per segment.
    fn digests(memory: &FakeMemory) -> (Sha256Digest, SegmentDigests) {
        let all: Vec<u8> = memory.0.iter().flat_map(|(_, b)| b.clone()).collect();
        let mut each = [NO_SEGMENT_DIGEST; SHA_REGION_COUNT];
        for (digest, (_, bytes)) in each.iter_mut().zip(&memory.0) {
            *digest = sha256(bytes);
        }
        (sha256(&all), each)
    }

    /// A time-stamp counter that advances by 1000 ticks per read.
    fn ticking() -> impl Fn() -> u64 {
        let now = Cell::new(5_000_000);
        move || now.replace(now.get() + 1000)
    }

    /// Everything the purgatory prints, as `purgatory_main` sequences it.
    fn transcript(
        memory: &FakeMemory,
        digest: &Sha256Digest,
        segment_digests: &SegmentDigests,
        policy: FailurePolicy,
    ) -> (bool, String) {
        let regions = memory.table();
        let expected = Expected {
            regions: &regions,
            digest,
            segment_digests,
        };
        let mut console = Some(Vec::new());
        started(&mut console, &regions, HashPath::Software);
        let verified = verify::<Soft>(&mut console, &expected, memory, ticking());
        if verified {
            jumping(&mut console, 0x100_0200);
        } else {
            stopping(&mut console, policy);
        }
        (verified, String::from_utf8(console.unwrap()).unwrap())
    }

    #[test]
    fn a_successful_kexec_prints_three_lines() {
        let memory = loaded_memory();
        let (digest, each) = digests(&memory);
        let (verified, text) = transcript(&memory, &digest, &each, FailurePolicy::Halt);
        assert!(verified);
        assert_eq!(
            text,
            "purgatory: verifying 3 segments (20480 bytes) with software sha-256\r\n\
             purgatory: verified 20480 bytes in 1000 tsc ticks\r\n\
             purgatory: jumping to 0x1000200\r\n"
        );
    }

    #[test]
    fn a_flipped_byte_names_its_segment() {
        let mut memory = loaded_memory();
        let (digest, each) = digests(&memory);
        memory.flip(1, 8 * 0x123);
        let computed = sha256(&memory.0[1].1);
        let (verified, text) = transcript(&memory, &digest, &each, FailurePolicy::Halt);
        assert!(!verified);
        let [expected, computed] = [each[1], computed].map(|digest| hex(&digest));
        assert_eq!(
            text,
            format!(
                "purgatory: verifying 3 segments (20480 bytes) with software sha-256\r\n\
                 purgatory: verification FAILED after 20480 bytes in 1000 tsc ticks\r\n\
                 purgatory: segment 1 at 0x2000000, 0x1000 bytes: expected {expected}, computed {computed}\r\n\
                 purgatory: halting\r\n"
            )
        );
    }

    #[test]
    fn without_segment_digests_the_overall_digests_are_printed() {
        let mut memory = loaded_memory();
        let (digest, _) = digests(&memory);
        memory.flip(2, 0);
        let (computed_digest, _) = digests(&memory);
        let none = [NO_SEGMENT_DIGEST; SHA_REGION_COUNT];
        let (verified, text) = transcript(&memory, &digest, &none, FailurePolicy::Reset);
        assert!(!verified);
        let [expected, computed] = [digest, computed_digest].map(|digest| hex(&digest));
        assert_eq!(
            text,
            format!(
                "purgatory: verifying 3 segments (20480 bytes) with software sha-256\r\n\
                 purgatory: verification FAILED after 20480 bytes in 1000 tsc ticks\r\n\
                 purgatory: all segments: expected {expected}, computed {computed}\r\n\
                 purgatory: resetting\r\n"
            )
        );
    }

    #[test]
    fn a_wrong_overall_digest_with_intact_segments_prints_both_digests() {
        let memory = loaded_memory();
        let (digest, each) = digests(&memory);
        let wrong = [0x5a; 32];
        let (verified, text) = transcript(&memory, &wrong, &each, FailurePolicy::Halt);
        assert!(!verified);
        let [expected, computed] = [wrong, digest].map(|digest| hex(&digest));
        assert!(
            text.contains(&format!(
                "purgatory: all segments: expected {expected}, computed {computed}\r\n"
            )),
            "{text}"
        );
    }

    #[test]
    fn an_unreadable_region_stops_the_count_and_is_named() {
        let mut memory = loaded_memory();
        let (digest, each) = digests(&memory);
        // The boot parameters' buffer moves away from where the table says.
        memory.0[2].0 = 0x7_0000;
        let regions = {
            let mut regions = memory.table();
            regions[2].start = 0x9_0000;
            regions
        };
        let expected = Expected {
            regions: &regions,
            digest: &digest,
            segment_digests: &each,
        };
        let mut console = Some(Vec::new());
        assert!(!verify::<Soft>(&mut console, &expected, &memory, ticking()));
        assert_eq!(
            String::from_utf8(console.unwrap()).unwrap(),
            "purgatory: verification FAILED after 16384 bytes in 1000 tsc ticks\r\n\
             purgatory: segment 2 at 0x90000, 0x1000 bytes: not addressable\r\n"
        );
    }

    /// How many region reads `verify` makes, with and without a console.
    fn reads(memory: &FakeMemory, expected: &Expected<'_>, console: bool) -> usize {
        let counting = CountingMemory(memory, Cell::new(0));
        let mut out = console.then(Vec::new);
        verify::<Soft>(&mut out, expected, &counting, ticking());
        if !console {
            assert_eq!(out, None);
        }
        counting.1.get()
    }

    #[test]
    fn the_second_pass_runs_only_after_a_failure_with_a_console() {
        let mut memory = loaded_memory();
        let (digest, each) = digests(&memory);
        let regions = memory.table();
        let expected = Expected {
            regions: &regions,
            digest: &digest,
            segment_digests: &each,
        };
        assert_eq!(reads(&memory, &expected, true), 3);
        assert_eq!(reads(&memory, &expected, false), 3);
        memory.flip(0, 0);
        assert_eq!(reads(&memory, &expected, true), 6);
        assert_eq!(reads(&memory, &expected, false), 3);
    }

    /// Counts the regions read.
    struct CountingMemory<'a>(&'a FakeMemory, Cell<usize>);

    impl Memory for CountingMemory<'_> {
        fn bytes(&self, region: ShaRegion) -> Option<&[u8]> {
            self.1.set(self.1.get() + 1);
            self.0.bytes(region)
        }
    }
}
