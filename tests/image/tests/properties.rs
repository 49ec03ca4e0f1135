//! Properties of the whole load sequence on random inputs: whatever segments
//! the library is given and wherever it places the image, the shipped bytes
//! accept exactly what it prepared, and refuse any single flipped bit in any
//! segment's memory, naming that segment.

use proptest::prelude::*;
use purgatory_host::hosted::HostedPurgatory;
use purgatory_host::{Purgatory, Segment};
use purgatory_tests::built_purgatory;

/// A segment as it lies in memory: its contents followed by zeros.
#[derive(Debug, Clone)]
struct Memory {
    contents_len: usize,
    bytes: Vec<u8>,
}

fn memory() -> impl Strategy<Value = Memory> {
    (prop::collection::vec(any::<u8>(), 0..3000), 0usize..5000).prop_map(|(contents, tail)| {
        let contents_len = contents.len();
        let mut bytes = contents;
        bytes.resize(contents_len + tail, 0);
        Memory {
            contents_len,
            bytes,
        }
    })
}

/// The segments as a loader hands them to the library; in a hosted run, the
/// "physical address" of each is where its memory is in this process.
fn segments(memories: &[Memory]) -> Vec<Segment<'_>> {
    memories
        .iter()
        .map(|m| Segment {
            bytes: &m.bytes[..m.contents_len],
            addr: m.bytes.as_ptr() as u64,
            mem_size: m.bytes.len() as u64,
        })
        .collect()
}

/// Prepares the purgatory for `memories`, loads it at a random address and
/// runs its verification.
fn prepare_and_verify(
    purgatory: &mut Purgatory<'_>,
    memories: &[Memory],
    seed: u64,
    above_4g: bool,
) -> u32 {
    purgatory
        .set_segments(&segments(memories))
        .expect("at most 16 valid segments");
    let hosted =
        HostedPurgatory::load_at_random_address(purgatory, seed, above_4g).expect("mapped");
    // SAFETY: every region is a live buffer of `memories`.
    unsafe { hosted.verify() }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn what_the_library_prepares_is_accepted(
        memories in prop::collection::vec(memory(), 0..=16),
        seed in any::<u64>(),
        above_4g in any::<bool>(),
    ) {
        let elf = built_purgatory();
        let mut purgatory = Purgatory::parse(&elf).unwrap();
        prop_assert_eq!(prepare_and_verify(&mut purgatory, &memories, seed, above_4g), 0);
    }

    #[test]
    fn any_flipped_bit_in_any_segment_is_refused(
        memories in prop::collection::vec(memory(), 1..=16),
        victim in any::<prop::sample::Index>(),
        bit in any::<prop::sample::Index>(),
        seed in any::<u64>(),
        above_4g in any::<bool>(),
    ) {
        let elf = built_purgatory();
        let mut purgatory = Purgatory::parse(&elf).unwrap();
        let mut memories = memories;
        let victim = victim.index(memories.len());
        prop_assume!(!memories[victim].bytes.is_empty());
        purgatory.set_segments(&segments(&memories)).unwrap();

        // Corrupt the memory after the digest was computed, as a stray DMA
        // write between load and exec would; the tail zeros count too.
        let bit = bit.index(memories[victim].bytes.len() * 8);
        memories[victim].bytes[bit / 8] ^= 1 << (bit % 8);
        let hosted = HostedPurgatory::load_at_random_address(&purgatory, seed, above_4g).expect("mapped");
        // SAFETY: every region is a live buffer of `memories`.
        prop_assert_ne!(unsafe { hosted.verify() }, 0);
        // ...and the per-segment verdict names exactly that segment.
        // SAFETY: as above.
        prop_assert_eq!(unsafe { hosted.failing_segments() }, Some(1 << victim));
    }
}
