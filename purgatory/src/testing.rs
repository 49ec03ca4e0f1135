//! What the host tests share: memory at made-up addresses, region tables,
//! digests written as `sha256sum` prints them, and a buffer as console.

use crate::regions::{Memory, addressable};
use crate::text::Sink;
use purgatory_abi::{SHA_REGION_COUNT, Sha256Digest, ShaRegion, ShaRegions};

/// SHA-256 of "abc" and of nothing (FIPS 180-2's examples).
pub const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

impl Sink for Vec<u8> {
    fn write(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// What `write` sends to a console.
pub fn text(write: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    write(&mut out);
    String::from_utf8(out).unwrap()
}

/// A digest as its 64 hex digits.
pub fn hex(digest: &Sha256Digest) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A digest from its 64 hex digits.
pub fn digest(hex: &str) -> Sha256Digest {
    assert_eq!(hex.len(), 64, "{hex}");
    std::array::from_fn(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
}

/// Buffers at made-up physical addresses; a region must cover one exactly.
pub struct FakeMemory(pub Vec<(u64, Vec<u8>)>);

impl Memory for FakeMemory {
    fn bytes(&self, region: ShaRegion) -> Option<&[u8]> {
        addressable(region)?;
        self.0
            .iter()
            .find(|(start, bytes)| *start == region.start && bytes.len() as u64 == region.len)
            .map(|(_, bytes)| bytes.as_slice())
    }
}

impl FakeMemory {
    /// The region table listing every buffer, in order.
    pub fn table(&self) -> ShaRegions {
        table(
            &self
                .0
                .iter()
                .map(|(start, bytes)| (*start, bytes.len() as u64))
                .collect::<Vec<_>>(),
        )
    }

    /// Flips one bit of buffer `index`.
    pub fn flip(&mut self, index: usize, bit: usize) {
        self.0[index].1[bit / 8] ^= 1 << (bit % 8);
    }
}

/// A table with `regions` (start, len) first and unused entries after.
pub fn table(regions: &[(u64, u64)]) -> ShaRegions {
    let mut table = [ShaRegion::default(); SHA_REGION_COUNT];
    for (entry, &(start, len)) in table.iter_mut().zip(regions) {
        *entry = ShaRegion { start, len };
    }
    table
}

/// SHA-256 by the `sha2` crate's own front end, as a loader computes it.
pub fn sha256(bytes: &[u8]) -> Sha256Digest {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// Page-aligned addresses from 0x3000 to just below 2^52, where a loader may
/// place the image: every power of two, a page on either side of it, and
/// the ends of the range.
pub fn addresses_below_2_52() -> Vec<u64> {
    const PAGE: u64 = 0x1000;
    const LIMIT: u64 = 1 << 52;
    let mut addresses = vec![0x3000, LIMIT - PAGE];
    for bit in 12..52 {
        let power = 1u64 << bit;
        addresses.extend([power - PAGE, power, power + PAGE, power | 0x3000]);
    }
    addresses.retain(|&address| (0x3000..LIMIT).contains(&address));
    addresses.sort_unstable();
    addresses.dedup();
    addresses
}
