//! One SHA-256 over the loader's region table, read from memory through
//! [`Memory`] so that the host can test it on buffers of its own.

use crate::sha256::{Compress, Sha256};
use purgatory_abi::{Sha256Digest, ShaRegion, ShaRegions};

/// Where the regions' bytes are: at boot, the identity-mapped physical
/// memory; in a test, buffers at made-up addresses.
pub trait Memory {
    /// The bytes of a non-empty region, or `None` when they cannot be read
    /// (see [`addressable`]).
    fn bytes(&self, region: ShaRegion) -> Option<&[u8]>;
}

/// The length of `region` as a slice, or `None` for a region at address 0 or
/// one that wraps or exceeds `isize::MAX` bytes: no loader produces those, and
/// Rust cannot name them as a slice, so they count as a mismatch.
pub fn addressable(region: ShaRegion) -> Option<usize> {
    let len = isize::try_from(region.len).ok()?.unsigned_abs();
    region.start.checked_add(region.len)?;
    (region.start != 0).then_some(len)
}

/// One SHA-256 over every non-empty region in index order, or `None` when a
/// region cannot be read.
pub fn digest_of_regions<C: Compress>(
    regions: &ShaRegions,
    memory: &impl Memory,
) -> Option<Sha256Digest> {
    let mut hasher = Sha256::<C>::new();
    for region in regions {
        if region.len != 0 {
            hasher.update(memory.bytes(*region)?);
        }
    }
    Some(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256::{ShaNi, Soft};
    use purgatory_abi::SHA_REGION_COUNT;

    /// SHA-256("abc") and SHA-256 of nothing (FIPS 180-2 examples).
    const ABC: Sha256Digest =
        hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const EMPTY: Sha256Digest =
        hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    const fn hex(text: &str) -> Sha256Digest {
        let text = text.as_bytes();
        let mut digest = [0; 32];
        let mut i = 0;
        while i < 32 {
            digest[i] = nibble(text[2 * i]) << 4 | nibble(text[2 * i + 1]);
            i += 1;
        }
        digest
    }

    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            _ => c - b'a' + 10,
        }
    }

    /// Buffers at made-up physical addresses; a region must match one exactly.
    struct FakeMemory(Vec<(u64, Vec<u8>)>);

    impl Memory for FakeMemory {
        fn bytes(&self, region: ShaRegion) -> Option<&[u8]> {
            addressable(region)?;
            self.0
                .iter()
                .find(|(start, bytes)| *start == region.start && bytes.len() as u64 == region.len)
                .map(|(_, bytes)| bytes.as_slice())
        }
    }

    /// A table with `regions` first and unused entries after.
    fn table(regions: &[(u64, u64)]) -> ShaRegions {
        let mut table = [ShaRegion::default(); SHA_REGION_COUNT];
        for (entry, &(start, len)) in table.iter_mut().zip(regions) {
            *entry = ShaRegion { start, len };
        }
        table
    }

    #[test]
    fn addressable_regions_are_non_null_and_do_not_wrap() {
        let region = |start, len| ShaRegion { start, len };
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
        assert_eq!(digest_of_regions::<Soft>(&regions, &memory), Some(ABC));
        let swapped = table(&[(0x5000, 2), (0x1000, 1)]);
        assert_ne!(digest_of_regions::<Soft>(&swapped, &memory), Some(ABC));
        assert_eq!(digest_of_regions::<Soft>(&table(&[]), &memory), Some(EMPTY));
    }

    #[test]
    fn an_unreadable_region_has_no_digest() {
        let memory = FakeMemory(vec![(0x1000, b"abc".to_vec())]);
        for bad in [(0, 3), (0x2000, 3), (u64::MAX - 1, 3)] {
            let regions = table(&[(0x1000, 3), bad]);
            assert_eq!(
                digest_of_regions::<Soft>(&regions, &memory),
                None,
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
        let regions = table(&[(0x10_0000, 5000)]);
        assert_eq!(
            digest_of_regions::<ShaNi>(&regions, &memory),
            digest_of_regions::<Soft>(&regions, &memory)
        );
    }
}
