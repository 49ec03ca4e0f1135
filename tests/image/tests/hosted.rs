//! Hosted execution of the shipped purgatory: the built bytes are mapped at
//! random page-aligned addresses (below and above 4 GiB), patched through their
//! symbol table, and `purgatory_verify` (and `purgatory_verify_shani`, on a CPU
//! with SHA extensions) must accept exactly the region tables whose digest
//! host `sha2` computed. `purgatory_failing_segments` (and its SHA-NI twin)
//! must name exactly the segments that changed.

use purgatory_abi::{
    NO_SEGMENT_DIGEST, SHA_REGION_COUNT, SegmentDigests, Sha256Digest, ShaRegion, ShaRegions,
};
use purgatory_host::Purgatory;
use purgatory_host::hosted::HostedPurgatory;
use purgatory_tests::{built_purgatory, segments_in_place};
use sha2::{Digest, Sha256};

/// Addresses per test: half below 4 GiB, half above.
const BASES: usize = 8;
/// Lengths around SHA-256's 64-byte block and its 55/56-byte padding split.
const PADDING_EDGES: [usize; 9] = [0, 1, 55, 56, 63, 64, 65, 119, 120];

const ACCEPTED: u32 = 0;

fn rng() -> fastrand::Rng {
    let seed = std::env::var("PURGATORY_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("PURGATORY_TEST_SEED={seed}");
    fastrand::Rng::with_seed(seed)
}

fn random_bytes(rng: &mut fastrand::Rng, len: usize) -> Vec<u8> {
    std::iter::repeat_with(|| rng.u8(..)).take(len).collect()
}

/// `count` buffers of random lengths in `lens`.
fn random_buffers(
    rng: &mut fastrand::Rng,
    count: usize,
    lens: std::ops::Range<usize>,
) -> Vec<Vec<u8>> {
    (0..count)
        .map(|_| {
            let len = rng.usize(lens.clone());
            random_bytes(rng, len)
        })
        .collect()
}

/// The built image loaded in this process, and its patchable state.
struct Loaded<'a> {
    purgatory: Purgatory<'a>,
    hosted: HostedPurgatory,
}

/// Runs `scenario` on the image loaded at `BASES` random addresses.
fn at_random_addresses(mut scenario: impl FnMut(&mut Loaded<'_>, &mut fastrand::Rng)) {
    let elf = built_purgatory();
    let purgatory = Purgatory::parse(&elf).expect("the built purgatory passes the contract check");
    let mut rng = rng();
    for i in 0..BASES {
        let hosted = HostedPurgatory::load_at_random_address(&purgatory, rng.u64(..), i % 2 == 1)
            .expect("the purgatory can be mapped");
        eprintln!("purgatory loaded at {:#x}", hosted.base());
        scenario(
            &mut Loaded {
                purgatory: purgatory.clone(),
                hosted,
            },
            &mut rng,
        );
    }
}

impl Loaded<'_> {
    /// Patches a raw region table and digest, copies the image again and runs
    /// its verification: the software path, and the SHA-NI path where the CPU
    /// has it, which must give the same verdict.
    fn verify_raw(&mut self, regions: &ShaRegions, digest: &Sha256Digest) -> u32 {
        self.purgatory
            .set_region_table(regions)
            .expect("regions patched");
        self.purgatory.set_digest(digest).expect("digest patched");
        self.hosted.update(&self.purgatory).expect("image copied");
        // SAFETY: the callers' regions borrow live slices, or are ones the
        // purgatory must refuse without reading them (a crash fails the test).
        let software = unsafe { self.hosted.verify() };
        // SAFETY: as above.
        if let Some(shani) = unsafe { self.hosted.verify_shani() } {
            assert_eq!(shani, software, "the SHA-NI and software paths disagree");
        }
        software
    }
}

impl Loaded<'_> {
    /// Prepares the purgatory for `buffers` as a loader would (each buffer a
    /// segment at its own address in this process) and copies it in again.
    fn set_segments(&mut self, buffers: &[Vec<u8>]) {
        self.purgatory
            .set_segments(&segments_in_place(buffers))
            .expect("at most 16 segments");
        self.hosted.update(&self.purgatory).expect("image copied");
    }

    /// Runs the image's per-segment verdict: the software path, and the
    /// SHA-NI path where the CPU has it, which must name the same segments.
    fn failing_segments(&self) -> u32 {
        // SAFETY: every region was set from a live buffer of the caller's, or
        // is one the purgatory must refuse without reading it.
        let software = unsafe { self.hosted.failing_segments() }
            .expect("the image exports purgatory_failing_segments");
        // SAFETY: as above.
        if let Some(shani) = unsafe { self.hosted.failing_segments_shani() } {
            assert_eq!(shani, software, "the SHA-NI and software paths disagree");
        }
        software
    }

    /// `verify_raw` on the region table and digest already patched.
    fn verify_patched(&mut self) -> u32 {
        let regions = self.purgatory.region_table().expect("regions readable");
        let digest: Sha256Digest = self
            .purgatory
            .read_symbol("purgatory_sha256_digest")
            .expect("digest readable")
            .try_into()
            .expect("32 bytes");
        self.verify_raw(&regions, &digest)
    }
}

/// A region table for `slots`: `Some(bytes)` covers those bytes, `None` is an
/// unused `{0, 0}` entry.
fn table(slots: &[Option<&[u8]>]) -> ShaRegions {
    let mut regions = [ShaRegion::default(); SHA_REGION_COUNT];
    for (region, slot) in regions.iter_mut().zip(slots) {
        if let Some(bytes) = slot {
            *region = ShaRegion {
                start: bytes.as_ptr() as u64,
                len: bytes.len() as u64,
            };
        }
    }
    regions
}

/// What a loader computes: one SHA-256 over the used regions in order.
fn host_digest(slots: &[Option<&[u8]>]) -> Sha256Digest {
    let mut hasher = Sha256::new();
    slots
        .iter()
        .flatten()
        .for_each(|bytes| hasher.update(bytes));
    hasher.finalize().into()
}

/// Patches the table and digest and runs the image's verification.
fn verify(loaded: &mut Loaded<'_>, slots: &[Option<&[u8]>], digest: &Sha256Digest) -> u32 {
    loaded.verify_raw(&table(slots), digest)
}

/// Flips a random bit and returns its index, so the caller can flip it back.
fn flip_bit(bytes: &mut [u8], rng: &mut fastrand::Rng) -> usize {
    let bit = rng.usize(..bytes.len() * 8);
    flip_bit_at(bytes, bit);
    bit
}

fn flip_bit_at(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8] ^= 1 << (bit % 8);
}

/// The correct digest is accepted; the same digest with one bit flipped is not.
fn assert_digest_decides(
    loaded: &mut Loaded<'_>,
    slots: &[Option<&[u8]>],
    rng: &mut fastrand::Rng,
) {
    let mut digest = host_digest(slots);
    assert_eq!(
        verify(loaded, slots, &digest),
        ACCEPTED,
        "correct digest refused"
    );
    flip_bit(&mut digest, rng);
    assert_ne!(
        verify(loaded, slots, &digest),
        ACCEPTED,
        "digest with a flipped bit accepted"
    );
}

#[test]
fn this_machine_exercises_the_sha_ni_path() {
    // CI machines have SHA extensions; if this one lacks them, say so loudly
    // rather than letting every SHA-NI comparison pass unexercised.
    assert!(
        std::arch::is_x86_feature_detected!("sha"),
        "this CPU has no SHA extensions: the SHA-NI path is not tested here"
    );
}

#[test]
fn padding_edge_lengths() {
    at_random_addresses(|loaded, rng| {
        for len in PADDING_EDGES {
            // Offset by 3 so that regions start unaligned.
            let mut buffer = random_bytes(rng, len + 3);
            assert_digest_decides(loaded, &[Some(&buffer[3..])], rng);
            if len > 0 {
                let digest = host_digest(&[Some(&buffer[3..])]);
                flip_bit(&mut buffer[3..], rng);
                assert_ne!(
                    verify(loaded, &[Some(&buffer[3..])], &digest),
                    ACCEPTED,
                    "a flipped bit in a {len}-byte region was accepted"
                );
            }
        }
    });
}

#[test]
fn empty_table_is_the_digest_of_nothing() {
    let empty_sha256 = [
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9,
        0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52,
        0xb8, 0x55,
    ];
    at_random_addresses(|loaded, rng| {
        assert_eq!(verify(loaded, &[], &empty_sha256), ACCEPTED);
        assert_digest_decides(loaded, &[], rng);
    });
}

#[test]
fn all_sixteen_regions_in_order() {
    at_random_addresses(|loaded, rng| {
        let buffers = random_buffers(rng, SHA_REGION_COUNT, 1..5000);
        let slots: Vec<Option<&[u8]>> = buffers.iter().map(|b| Some(b.as_slice())).collect();
        assert_digest_decides(loaded, &slots, rng);

        // The same bytes in another order hash differently: order matters.
        let mut swapped = slots.clone();
        swapped.swap(0, SHA_REGION_COUNT - 1);
        assert_ne!(verify(loaded, &swapped, &host_digest(&slots)), ACCEPTED);
    });
}

#[test]
fn a_flipped_bit_in_any_region_is_refused() {
    at_random_addresses(|loaded, rng| {
        let mut buffers = random_buffers(rng, SHA_REGION_COUNT, 1..3000);
        let digest = host_digest(
            &buffers
                .iter()
                .map(|b| Some(b.as_slice()))
                .collect::<Vec<_>>(),
        );
        for victim in 0..SHA_REGION_COUNT {
            let bit = flip_bit(&mut buffers[victim], rng);
            let slots: Vec<Option<&[u8]>> = buffers.iter().map(|b| Some(b.as_slice())).collect();
            assert_ne!(
                verify(loaded, &slots, &digest),
                ACCEPTED,
                "flip in region {victim} accepted"
            );
            flip_bit_at(&mut buffers[victim], bit);
        }
        let slots: Vec<Option<&[u8]>> = buffers.iter().map(|b| Some(b.as_slice())).collect();
        assert_eq!(
            verify(loaded, &slots, &digest),
            ACCEPTED,
            "restored regions refused"
        );
    });
}

#[test]
fn zero_length_entries_in_the_middle_are_skipped() {
    at_random_addresses(|loaded, rng| {
        let a = random_bytes(rng, 1000);
        let b = random_bytes(rng, 64);
        let c = random_bytes(rng, 4097);
        let mut slots: Vec<Option<&[u8]>> = vec![None; SHA_REGION_COUNT];
        slots[0] = Some(&a);
        slots[5] = Some(&b);
        slots[15] = Some(&c);
        assert_digest_decides(loaded, &slots, rng);
        // A zero-length entry with a bogus address is never dereferenced.
        let mut regions = table(&slots);
        regions[7] = ShaRegion {
            start: 0xdead_0000_0000,
            len: 0,
        };
        assert_eq!(loaded.verify_raw(&regions, &host_digest(&slots)), ACCEPTED);
    });
}

#[test]
fn a_few_mebibytes() {
    let mut rng = rng();
    let big = random_bytes(&mut rng, 3 * 1024 * 1024 + 17);
    at_random_addresses(|loaded, rng| {
        assert_digest_decides(loaded, &[Some(&big)], rng);
    });
}

#[test]
fn unreadable_regions_are_refused_without_touching_memory() {
    at_random_addresses(|loaded, _| {
        for bad in [
            ShaRegion { start: 0, len: 16 },
            ShaRegion {
                start: u64::MAX - 8,
                len: 16,
            },
            // Longer than isize::MAX, and above user space so that the
            // loader's overlap check lets it through to the purgatory.
            ShaRegion {
                start: 0x1000_0000_0000_0000,
                len: 0x9000_0000_0000_0000,
            },
        ] {
            let mut regions = [ShaRegion::default(); SHA_REGION_COUNT];
            regions[2] = bad;
            let verdict = loaded.verify_raw(&regions, &host_digest(&[]));
            assert_ne!(verdict, ACCEPTED, "{bad:?} accepted");
        }
    });
}

#[test]
fn a_flip_in_each_of_several_segments_names_exactly_that_segment() {
    at_random_addresses(|loaded, rng| {
        let mut buffers = random_buffers(rng, SHA_REGION_COUNT, 1..3000);
        loaded.set_segments(&buffers);
        assert_eq!(loaded.verify_patched(), ACCEPTED);
        assert_eq!(loaded.failing_segments(), 0, "intact segments named");
        for victim in [0, 1, 6, 11, 15] {
            let bit = flip_bit(&mut buffers[victim], rng);
            assert_ne!(loaded.verify_patched(), ACCEPTED);
            assert_eq!(
                loaded.failing_segments(),
                1 << victim,
                "a flip in segment {victim}"
            );
            flip_bit_at(&mut buffers[victim], bit);
        }
        // Two at once are both named.
        flip_bit(&mut buffers[2], rng);
        flip_bit(&mut buffers[9], rng);
        assert_eq!(loaded.failing_segments(), 1 << 2 | 1 << 9);
    });
}

#[test]
fn without_segment_digests_no_readable_segment_is_named() {
    at_random_addresses(|loaded, rng| {
        let mut buffers = random_buffers(rng, 4, 1..3000);
        loaded.set_segments(&buffers);
        let none: SegmentDigests = [NO_SEGMENT_DIGEST; SHA_REGION_COUNT];
        loaded.purgatory.set_segment_digests(&none).unwrap();
        loaded.hosted.update(&loaded.purgatory).unwrap();
        flip_bit(&mut buffers[1], rng);
        assert_ne!(loaded.verify_patched(), ACCEPTED);
        assert_eq!(loaded.failing_segments(), 0);
    });
}

#[test]
fn unreadable_regions_are_named_without_touching_memory() {
    at_random_addresses(|loaded, rng| {
        let buffers = random_buffers(rng, 2, 1..3000);
        loaded.set_segments(&buffers);
        let mut regions = loaded.purgatory.region_table().unwrap();
        regions[5] = ShaRegion { start: 0, len: 16 };
        regions[9] = ShaRegion {
            start: u64::MAX - 8,
            len: 16,
        };
        loaded.purgatory.set_region_table(&regions).unwrap();
        loaded.hosted.update(&loaded.purgatory).unwrap();
        assert_eq!(loaded.failing_segments(), 1 << 5 | 1 << 9);
    });
}
