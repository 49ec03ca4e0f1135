//! SHA-256 over the loader's region table: once over all regions, as Linux
//! verifies, and region by region to name what changed. Memory is read
//! through [`Memory`], so that the host can test this on buffers of its own.

use crate::sha256::{Compress, Sha256};
use purgatory_abi::{NO_SEGMENT_DIGEST, SegmentDigests, Sha256Digest, ShaRegion, ShaRegions};

/// Where the regions' bytes are: at boot, the identity-mapped physical
/// memory; in a test, buffers at made-up addresses.
pub trait Memory {
    /// The bytes of a non-empty region, or `None` when they cannot be read
    /// (see [`addressable`]).
    fn bytes(&self, region: ShaRegion) -> Option<&[u8]>;

    /// Told the table index of the region about to be read and hashed
    /// (`Some`), and that it is done (`None`), so that a fault in between can
    /// name it. Nothing by default.
    fn hashing(&self, _index: Option<usize>) {}
}

/// A region being read and hashed, as a fault names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hashing {
    /// Index in the region table.
    pub index: usize,
    /// Its start and length.
    pub region: ShaRegion,
}

impl Hashing {
    /// Region `index` of `regions`, if the table has one there.
    pub fn in_table(regions: &ShaRegions, index: usize) -> Option<Self> {
        let region = *regions.get(index)?;
        Some(Self { index, region })
    }
}

/// `hash(memory.bytes(region))`, with `memory` told which region it is
/// before and that it is done after.
fn hashing<M: Memory, R>(
    memory: &M,
    index: usize,
    region: ShaRegion,
    hash: impl FnOnce(Option<&[u8]>) -> R,
) -> R {
    memory.hashing(Some(index));
    let result = hash(memory.bytes(region));
    memory.hashing(None);
    result
}

/// The length of `region` as a slice, or `None` for a region at address 0 or
/// one that wraps or exceeds `isize::MAX` bytes: no loader produces those, and
/// Rust cannot name them as a slice, so they count as a mismatch.
pub fn addressable(region: ShaRegion) -> Option<usize> {
    let len = isize::try_from(region.len).ok()?.unsigned_abs();
    region.start.checked_add(region.len)?;
    (region.start != 0).then_some(len)
}

/// One pass over the whole table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digested {
    /// The SHA-256 of all regions, or `None` when one cannot be read.
    pub digest: Option<Sha256Digest>,
    /// Bytes hashed: all of them, or those before the unreadable region.
    pub bytes: u64,
}

/// One SHA-256 over every non-empty region in index order.
pub fn digest_of_regions<C: Compress>(regions: &ShaRegions, memory: &impl Memory) -> Digested {
    let mut hasher = Sha256::<C>::new();
    for (index, region) in regions.iter().enumerate() {
        if region.len == 0 {
            continue;
        }
        let readable = hashing(memory, index, *region, |bytes| {
            bytes.map(|bytes| hasher.update(bytes)).is_some()
        });
        if !readable {
            return Digested {
                digest: None,
                bytes: hasher.bytes_hashed(),
            };
        }
    }
    Digested {
        bytes: hasher.bytes_hashed(),
        digest: Some(hasher.finalize()),
    }
}

/// Why a segment fails on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Its region cannot be read as memory (see [`addressable`]).
    NotAddressable,
    /// Its bytes hash to `computed`, not to the loader's `expected`.
    Mismatch {
        /// The loader's digest for this segment.
        expected: Sha256Digest,
        /// What its memory hashes to now.
        computed: Sha256Digest,
    },
}

/// A segment named on a failure: region `index` of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentFault {
    /// Index in the region table (and in the segment digests).
    pub index: usize,
    /// The region's start and length.
    pub region: ShaRegion,
    /// What is wrong with it.
    pub fault: Fault,
}

/// Hashes each non-empty region on its own, compares it with the loader's
/// digest for it, passes each failing one to `each` in index order, and
/// returns them as a bitmask (bit `i` for region `i`). A region without a
/// digest ([`NO_SEGMENT_DIGEST`]) is not judged; one that cannot be read
/// always fails.
pub fn failing_segments<C: Compress>(
    regions: &ShaRegions,
    expected: &SegmentDigests,
    memory: &impl Memory,
    mut each: impl FnMut(&SegmentFault),
) -> u32 {
    let mut failing = 0;
    for (index, (region, expected)) in regions.iter().zip(expected).enumerate() {
        if region.len == 0 {
            continue;
        }
        let fault = hashing(memory, index, *region, |bytes| {
            segment_fault::<C>(bytes, expected)
        });
        if let Some(fault) = fault {
            failing |= 1 << index;
            each(&SegmentFault {
                index,
                region: *region,
                fault,
            });
        }
    }
    failing
}

/// Why a region's `bytes` (`None`: unreadable) fail against `expected`.
fn segment_fault<C: Compress>(bytes: Option<&[u8]>, expected: &Sha256Digest) -> Option<Fault> {
    let Some(bytes) = bytes else {
        return Some(Fault::NotAddressable);
    };
    if *expected == NO_SEGMENT_DIGEST {
        return None;
    }
    let mut hasher = Sha256::<C>::new();
    hasher.update(bytes);
    let computed = hasher.finalize();
    (computed != *expected).then_some(Fault::Mismatch {
        expected: *expected,
        computed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256::{ShaNi, Soft};
    use crate::testing::{ABC_SHA256, EMPTY_SHA256, FakeMemory, digest, sha256, table};
    use purgatory_abi::SHA_REGION_COUNT;

    fn region(start: u64, len: u64) -> ShaRegion {
        ShaRegion { start, len }
    }

    /// Sixteen buffers of different lengths, some across a block boundary.
    fn sixteen_segments() -> FakeMemory {
        FakeMemory(
            (0..SHA_REGION_COUNT)
                .map(|i| {
                    let len = 1 + i * 37 % 200;
                    let bytes = (0..len).map(|j| (i * 31 + j * 7) as u8).collect();
                    (0x100_0000 * (i as u64 + 1), bytes)
                })
                .collect(),
        )
    }

    fn digests_of(memory: &FakeMemory) -> SegmentDigests {
        let mut digests = [NO_SEGMENT_DIGEST; SHA_REGION_COUNT];
        for (digest, (_, bytes)) in digests.iter_mut().zip(&memory.0) {
            *digest = sha256(bytes);
        }
        digests
    }

    fn failing<C: Compress>(memory: &FakeMemory, digests: &SegmentDigests) -> Vec<SegmentFault> {
        let mut faults = Vec::new();
        let mask = failing_segments::<C>(&memory.table(), digests, memory, |fault| {
            faults.push(*fault)
        });
        let named: u32 = faults.iter().map(|fault| 1 << fault.index).sum();
        assert_eq!(mask, named, "the bitmask and the faults passed on differ");
        faults
    }

    /// What a [`Recording`] memory was asked, in order.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Event {
        Hashing(Option<usize>),
        Read(ShaRegion),
        Named(usize),
    }

    /// Memory that records every call.
    struct Recording<'a>(&'a FakeMemory, std::cell::RefCell<Vec<Event>>);

    impl Memory for Recording<'_> {
        fn bytes(&self, region: ShaRegion) -> Option<&[u8]> {
            self.1.borrow_mut().push(Event::Read(region));
            self.0.bytes(region)
        }

        fn hashing(&self, index: Option<usize>) {
            self.1.borrow_mut().push(Event::Hashing(index));
        }
    }

    /// The events of reading region `index` of `regions`: announced, read,
    /// withdrawn.
    fn bracketed(regions: &ShaRegions, index: usize) -> [Event; 3] {
        [
            Event::Hashing(Some(index)),
            Event::Read(regions[index]),
            Event::Hashing(None),
        ]
    }

    #[test]
    fn each_region_read_is_announced_before_and_withdrawn_after() {
        let memory = FakeMemory(vec![(0x1000, b"a".to_vec()), (0x5000, b"bc".to_vec())]);
        let regions = table(&[(0x1000, 1), (0xdead_0000, 0), (0x5000, 2), (0x9000, 5)]);
        let recording = Recording(&memory, Default::default());
        digest_of_regions::<Soft>(&regions, &recording);
        let expected: Vec<Event> = [0, 2, 3]
            .iter()
            .flat_map(|&index| bracketed(&regions, index))
            .collect();
        assert_eq!(recording.1.take(), expected);

        // A fault is named after its region is withdrawn: printing it is
        // not hashing.
        failing_segments::<Soft>(&regions, &[[1; 32]; 16], &recording, |fault| {
            recording.1.borrow_mut().push(Event::Named(fault.index))
        });
        let expected: Vec<Event> = [0, 2, 3]
            .iter()
            .flat_map(|&index| {
                let mut events = bracketed(&regions, index).to_vec();
                events.push(Event::Named(index));
                events
            })
            .collect();
        assert_eq!(recording.1.take(), expected);
    }

    #[test]
    fn a_region_being_hashed_is_named_from_the_table() {
        let regions = table(&[(0x1000, 1), (0x5000, 2)]);
        assert_eq!(
            Hashing::in_table(&regions, 1),
            Some(Hashing {
                index: 1,
                region: region(0x5000, 2)
            })
        );
        assert_eq!(Hashing::in_table(&regions, SHA_REGION_COUNT), None);
    }

    #[test]
    fn addressable_regions_are_non_null_and_do_not_wrap() {
        assert_eq!(addressable(region(0x1000, 16)), Some(16));
        assert_eq!(addressable(region(0, 16)), None);
        assert_eq!(addressable(region(u64::MAX - 8, 16)), None);
        assert_eq!(addressable(region(u64::MAX - 16, 16)), Some(16));
        assert_eq!(addressable(region(0x1000, 1 << 63)), None);
    }

    #[test]
    fn the_digest_spans_regions_in_order_and_skips_empty_entries() {
        let memory = FakeMemory(vec![(0x1000, b"a".to_vec()), (0x5000, b"bc".to_vec())]);
        let regions = table(&[(0x1000, 1), (0xdead_0000, 0), (0x5000, 2)]);
        assert_eq!(
            digest_of_regions::<Soft>(&regions, &memory),
            Digested {
                digest: Some(digest(ABC_SHA256)),
                bytes: 3
            }
        );
        let swapped = table(&[(0x5000, 2), (0x1000, 1)]);
        let digested = digest_of_regions::<Soft>(&swapped, &memory);
        assert_ne!(digested.digest, Some(digest(ABC_SHA256)));
        assert_eq!(
            digest_of_regions::<Soft>(&table(&[]), &memory),
            Digested {
                digest: Some(digest(EMPTY_SHA256)),
                bytes: 0
            }
        );
    }

    #[test]
    fn an_unreadable_region_has_no_digest_and_stops_the_count() {
        let memory = FakeMemory(vec![(0x1000, b"abc".to_vec())]);
        for bad in [(0, 3), (0x2000, 3), (u64::MAX - 1, 3)] {
            let regions = table(&[(0x1000, 3), bad, (0x1000, 3)]);
            assert_eq!(
                digest_of_regions::<Soft>(&regions, &memory),
                Digested {
                    digest: None,
                    bytes: 3
                },
                "{bad:x?}"
            );
        }
    }

    #[test]
    fn both_compressions_agree_where_the_cpu_has_sha_extensions() {
        if !std::arch::is_x86_feature_detected!("sha") {
            return;
        }
        let bytes: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let memory = FakeMemory(vec![(0x10_0000, bytes)]);
        let regions = memory.table();
        assert_eq!(
            digest_of_regions::<ShaNi>(&regions, &memory),
            digest_of_regions::<Soft>(&regions, &memory)
        );
    }

    fn a_flip_in_each_segment_names_exactly_that_segment<C: Compress>() {
        let mut memory = sixteen_segments();
        let digests = digests_of(&memory);
        assert_eq!(failing::<C>(&memory, &digests), []);
        for victim in [0, 1, 7, 14, 15] {
            let bit = victim * 13 % (memory.0[victim].1.len() * 8);
            memory.flip(victim, bit);
            let region = memory.table()[victim];
            let computed = sha256(&memory.0[victim].1);
            assert_eq!(
                failing::<C>(&memory, &digests),
                [SegmentFault {
                    index: victim,
                    region,
                    fault: Fault::Mismatch {
                        expected: digests[victim],
                        computed
                    }
                }]
            );
            memory.flip(victim, bit);
        }
    }

    #[test]
    fn a_flip_in_each_segment_names_exactly_that_segment_in_software() {
        a_flip_in_each_segment_names_exactly_that_segment::<Soft>();
    }

    #[test]
    fn a_flip_in_each_segment_names_exactly_that_segment_with_sha_ni() {
        if std::arch::is_x86_feature_detected!("sha") {
            a_flip_in_each_segment_names_exactly_that_segment::<ShaNi>();
        }
    }

    #[test]
    fn flips_in_several_segments_name_each_in_order() {
        let mut memory = sixteen_segments();
        let digests = digests_of(&memory);
        memory.flip(3, 0);
        memory.flip(9, 5);
        let named: Vec<usize> = failing::<Soft>(&memory, &digests)
            .iter()
            .map(|fault| fault.index)
            .collect();
        assert_eq!(named, [3, 9]);
    }

    #[test]
    fn segments_without_a_digest_are_not_judged() {
        let mut memory = sixteen_segments();
        let mut digests = digests_of(&memory);
        memory.flip(4, 0);
        memory.flip(5, 0);
        digests[4] = NO_SEGMENT_DIGEST;
        let named: Vec<usize> = failing::<Soft>(&memory, &digests)
            .iter()
            .map(|fault| fault.index)
            .collect();
        assert_eq!(named, [5]);
        assert_eq!(failing::<Soft>(&memory, &[NO_SEGMENT_DIGEST; 16]), []);
    }

    #[test]
    fn an_unreadable_region_is_named_with_or_without_a_digest() {
        let memory = FakeMemory(vec![(0x1000, b"abc".to_vec())]);
        let regions = table(&[(0x1000, 3), (0, 16), (0x9000, 0), (u64::MAX - 1, 3)]);
        let mut faults = Vec::new();
        let mask = failing_segments::<Soft>(&regions, &[NO_SEGMENT_DIGEST; 16], &memory, |f| {
            faults.push(*f)
        });
        assert_eq!(mask, 0b1010);
        assert_eq!(
            faults,
            [
                SegmentFault {
                    index: 1,
                    region: region(0, 16),
                    fault: Fault::NotAddressable
                },
                SegmentFault {
                    index: 3,
                    region: region(u64::MAX - 1, 3),
                    fault: Fault::NotAddressable
                },
            ]
        );
    }
}
