//! The loader API on the embedded purgatory, one test per call and per error.
//!
//! Layouts are asserted with literal offsets and sizes (Linux's), not with the
//! crate's own constants, so that a constant that moved is caught.

use elf_edit::Elf;
use elf_edit::field::E_TYPE;
use elf_edit::goblin::elf::header::ET_REL;
use purgatory_abi::{Entry64Regs, FailurePolicy, ShaRegion};
use purgatory_host::contract::Violation;
use purgatory_host::{ImageError, LoadError, PURGATORY_ELF, Purgatory, Segment};
use sha2::{Digest, Sha256};

/// SHA-256 of no bytes at all.
const EMPTY_SHA256: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

fn embedded() -> Purgatory<'static> {
    Purgatory::embedded().expect("the embedded purgatory passes the contract check")
}

fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap())
}

fn segment(bytes: &[u8], addr: u64, mem_size: u64) -> Segment<'_> {
    Segment {
        bytes,
        addr,
        mem_size,
    }
}

#[test]
fn the_embedded_image_describes_one_page_aligned_segment() {
    let purgatory = embedded();
    let image = purgatory.image();
    assert_eq!(image.align(), 0x1000);
    assert!(image.segment().len() as u64 <= image.mem_size());
    assert_eq!(image.segment(), &PURGATORY_ELF[..image.segment().len()]);
    assert_eq!(
        image.entry(),
        image.symbol("purgatory_start").unwrap().offset
    );
    assert_eq!(image.symbol("purgatory_sha_regions").unwrap().size, 256);
    assert_eq!(image.symbol("purgatory_sha256_digest").unwrap().size, 32);
    assert_eq!(image.symbol("entry64_regs").unwrap().size, 136);
    assert_eq!(image.symbol("purgatory_flags").unwrap().size, 8);
    assert_eq!(image.symbol("purgatory_console_port").unwrap().size, 2);
    assert_eq!(image.symbol("purgatory_segment_digests").unwrap().size, 512);
}

#[test]
fn garbage_is_unreadable() {
    let err = Purgatory::parse(b"not an ELF at all").unwrap_err();
    assert!(
        matches!(err, LoadError::Image(ImageError::Unreadable(_))),
        "{err:?}"
    );
}

#[test]
fn a_contract_violation_is_reported_with_the_rule() {
    let mut elf = Elf::parse(PURGATORY_ELF).unwrap();
    elf.set_header(E_TYPE, ET_REL.into()).unwrap();
    let Err(LoadError::Image(ImageError::Contract(violations))) = Purgatory::parse(elf.bytes())
    else {
        panic!("an ET_REL must be refused");
    };
    assert_eq!(violations, [Violation::ElfType { e_type: 1 }]);
}

#[test]
fn segments_fill_the_region_table_in_order_and_clear_the_rest() {
    let mut purgatory = embedded();
    let (a, b) = ([1u8; 10], [2u8; 4096]);
    purgatory
        .set_segments(&[
            segment(&a, 0x10_0000, 0x1000),
            segment(&b, 0x20_0000, 0x3000),
        ])
        .unwrap();
    let table = purgatory.read_symbol("purgatory_sha_regions").unwrap();
    assert_eq!(table.len(), 256);
    assert_eq!(
        (u64_at(table, 0x00), u64_at(table, 0x08)),
        (0x10_0000, 0x1000)
    );
    assert_eq!(
        (u64_at(table, 0x10), u64_at(table, 0x18)),
        (0x20_0000, 0x3000)
    );
    assert!(table[0x20..].iter().all(|&b| b == 0));

    // Patching again with fewer segments leaves no stale entry behind.
    purgatory
        .set_segments(&[segment(&b, 0x30_0000, 0x1000)])
        .unwrap();
    let table = purgatory.read_symbol("purgatory_sha_regions").unwrap();
    assert_eq!(
        (u64_at(table, 0x00), u64_at(table, 0x08)),
        (0x30_0000, 0x1000)
    );
    assert!(table[0x10..].iter().all(|&b| b == 0));
    let regions = purgatory.region_table().unwrap();
    assert_eq!(
        regions[0],
        ShaRegion {
            start: 0x30_0000,
            len: 0x1000
        }
    );
}

#[test]
fn the_digest_covers_each_segment_and_its_zero_tail_in_order() {
    let mut purgatory = embedded();
    let digest = purgatory
        .set_segments(&[segment(&[1, 2, 3], 0x5000, 8), segment(&[9], 0x9000, 2)])
        .unwrap();
    let expected: [u8; 32] = Sha256::digest([1, 2, 3, 0, 0, 0, 0, 0, 9, 0]).into();
    assert_eq!(digest, expected);
    assert_eq!(
        purgatory.read_symbol("purgatory_sha256_digest").unwrap(),
        expected
    );
}

#[test]
fn each_segment_gets_its_own_digest_of_its_bytes_and_zero_tail() {
    let mut purgatory = embedded();
    // A tail longer than one 4 KiB chunk of zeros, and one of a byte.
    let big_tail = [7u8; 5];
    purgatory
        .set_segments(&[
            segment(&[1, 2, 3], 0x5000, 8),
            segment(&big_tail, 0x10_0000, 0x2801),
            segment(&[9], 0x9000, 2),
        ])
        .unwrap();
    let digests = purgatory.read_symbol("purgatory_segment_digests").unwrap();
    assert_eq!(digests.len(), 512);
    let mut second = big_tail.to_vec();
    second.resize(0x2801, 0);
    assert_eq!(
        digests[0x00..0x20],
        Sha256::digest([1, 2, 3, 0, 0, 0, 0, 0])[..]
    );
    assert_eq!(digests[0x20..0x40], Sha256::digest(&second)[..]);
    assert_eq!(digests[0x40..0x60], Sha256::digest([9, 0])[..]);
    assert!(digests[0x60..].iter().all(|&b| b == 0));

    // Patching again with fewer segments leaves no stale digest behind.
    purgatory.set_segments(&[segment(&[9], 0x9000, 2)]).unwrap();
    let digests = purgatory.read_symbol("purgatory_segment_digests").unwrap();
    assert_eq!(digests[0x00..0x20], Sha256::digest([9, 0])[..]);
    assert!(digests[0x20..].iter().all(|&b| b == 0));
}

#[test]
fn segment_digests_can_be_written_as_given() {
    let mut purgatory = embedded();
    let mut digests = [[0u8; 32]; 16];
    digests[3] = [0x33; 32];
    digests[15] = [0xff; 32];
    purgatory.set_segment_digests(&digests).unwrap();
    let bytes = purgatory.read_symbol("purgatory_segment_digests").unwrap();
    assert!(bytes[..0x60].iter().all(|&b| b == 0));
    assert_eq!(bytes[0x60..0x80], [0x33; 32]);
    assert!(bytes[0x80..0x1e0].iter().all(|&b| b == 0));
    assert_eq!(bytes[0x1e0..0x200], [0xff; 32]);
}

#[test]
fn no_segments_verify_nothing() {
    let mut purgatory = embedded();
    purgatory
        .set_segments(&[segment(&[7; 16], 0x5000, 16)])
        .unwrap();
    assert_eq!(purgatory.set_segments(&[]).unwrap(), EMPTY_SHA256);
    assert!(
        purgatory
            .read_symbol("purgatory_sha_regions")
            .unwrap()
            .iter()
            .all(|&b| b == 0)
    );
}

#[test]
fn seventeen_segments_are_too_many() {
    let mut purgatory = embedded();
    let segments: Vec<_> = (0..17)
        .map(|i| segment(&[], 0x1000 * (i + 1), 0x1000))
        .collect();
    assert_eq!(
        purgatory.set_segments(&segments),
        Err(LoadError::TooManySegments { count: 17 })
    );
    assert!(purgatory.set_segments(&segments[..16]).is_ok());
}

#[test]
fn contents_longer_than_memory_are_refused() {
    let err = embedded().set_segments(&[segment(&[0; 4], 0x1000, 4), segment(&[0; 9], 0x2000, 8)]);
    assert_eq!(
        err,
        Err(LoadError::SegmentBytesExceedMemSize {
            index: 1,
            len: 9,
            mem_size: 8
        })
    );
}

#[test]
fn a_segment_that_wraps_is_refused() {
    let err = embedded().set_segments(&[segment(&[], u64::MAX - 0xfff, 0x2000)]);
    assert_eq!(
        err,
        Err(LoadError::SegmentWraps {
            index: 0,
            addr: u64::MAX - 0xfff,
            mem_size: 0x2000
        })
    );
}

#[test]
fn entry_registers_use_linux_offsets() {
    let mut purgatory = embedded();
    assert_eq!(purgatory.entry_regs().unwrap(), Entry64Regs::ZERO);
    let regs = Entry64Regs::from_array(std::array::from_fn(|i| 0x1111 * (i as u64 + 1)));
    purgatory.set_entry_regs(&regs).unwrap();
    let bytes = purgatory.read_symbol("entry64_regs").unwrap();
    assert_eq!(u64_at(bytes, 0x00), 0x1111); // rax
    assert_eq!(u64_at(bytes, 0x18), 0x4444); // rbx
    assert_eq!(u64_at(bytes, 0x20), 0x5555); // rsp
    assert_eq!(u64_at(bytes, 0x30), 0x7777); // rsi
    assert_eq!(u64_at(bytes, 0x80), 0x1111 * 17); // rip
    assert_eq!(purgatory.entry_regs().unwrap(), regs);
}

#[test]
fn linux_entry_sets_rip_rsi_rbx_rsp_and_keeps_the_rest() {
    let mut purgatory = embedded();
    let mut regs = Entry64Regs::from_array([0xaa; 17]);
    regs.rbx = 0xbb;
    purgatory.set_entry_regs(&regs).unwrap();
    let load_addr = 0x1_2345_6000;
    purgatory
        .set_linux_entry(load_addr, 0x100_0000, 0x9_0000)
        .unwrap();
    let stack_end = purgatory.image().symbol("stack_end").unwrap().offset;
    let got = purgatory.entry_regs().unwrap();
    assert_eq!(got.rip, 0x100_0200);
    assert_eq!(got.rsi, 0x9_0000);
    assert_eq!(got.rbx, 0);
    assert_eq!(got.rsp, load_addr + stack_end);
    assert_eq!((got.rax, got.rdi, got.r15), (0xaa, 0xaa, 0xaa));
}

#[test]
fn symbols_are_read_and_written_with_their_exact_size() {
    let mut purgatory = embedded();
    purgatory
        .write_symbol("purgatory_sha256_digest", &[0x5a; 32])
        .unwrap();
    assert_eq!(
        purgatory.read_symbol("purgatory_sha256_digest").unwrap(),
        [0x5a; 32]
    );
    assert_eq!(
        purgatory.write_symbol("purgatory_sha256_digest", &[0; 31]),
        Err(LoadError::SymbolSize {
            name: "purgatory_sha256_digest".into(),
            expected: 32,
            actual: 31
        })
    );
}

#[test]
fn flags_are_a_little_endian_u64() {
    let mut purgatory = embedded();
    assert_eq!(purgatory.read_symbol("purgatory_flags").unwrap(), [0; 8]);
    purgatory.set_flags(1).unwrap();
    assert_eq!(
        purgatory.read_symbol("purgatory_flags").unwrap(),
        [1, 0, 0, 0, 0, 0, 0, 0]
    );
}

#[test]
fn the_failure_policy_is_bit_1_of_the_flags_and_keeps_the_others() {
    let mut purgatory = embedded();
    assert_eq!(purgatory.flags().unwrap(), 0);
    purgatory.set_flags(1).unwrap();
    purgatory.set_failure_policy(FailurePolicy::Reset).unwrap();
    assert_eq!(
        purgatory.read_symbol("purgatory_flags").unwrap(),
        [3, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(purgatory.flags().unwrap(), 3);
    purgatory.set_failure_policy(FailurePolicy::Halt).unwrap();
    assert_eq!(
        purgatory.read_symbol("purgatory_flags").unwrap(),
        [1, 0, 0, 0, 0, 0, 0, 0]
    );
}

#[test]
fn the_console_port_is_a_little_endian_u16() {
    let mut purgatory = embedded();
    assert_eq!(
        purgatory.read_symbol("purgatory_console_port").unwrap(),
        [0, 0]
    );
    purgatory.set_console_port(0x3f8).unwrap();
    assert_eq!(
        purgatory.read_symbol("purgatory_console_port").unwrap(),
        [0xf8, 0x03]
    );
    purgatory.set_console_port(0).unwrap();
    assert_eq!(
        purgatory.read_symbol("purgatory_console_port").unwrap(),
        [0, 0]
    );
}

#[test]
fn a_console_port_needs_room_for_eight_registers() {
    let mut purgatory = embedded();
    assert!(purgatory.set_console_port(0xfff8).is_ok());
    assert_eq!(
        purgatory.set_console_port(0xfff9),
        Err(LoadError::ConsolePortOutOfRange { port: 0xfff9 })
    );
    assert_eq!(
        purgatory.read_symbol("purgatory_console_port").unwrap(),
        [0xf8, 0xff],
        "a refused port leaves the previous one"
    );
}

#[test]
fn unknown_symbols_are_named() {
    assert_eq!(
        embedded().read_symbol("kexec_purgatory").unwrap_err(),
        LoadError::UnknownSymbol {
            name: "kexec_purgatory".into()
        }
    );
}

#[test]
fn a_symbol_in_the_zero_tail_cannot_be_patched() {
    let purgatory = embedded();
    let stack_end = purgatory.image().symbol("stack_end").unwrap().clone();
    assert_eq!(
        purgatory.read_symbol("stack_end").unwrap_err(),
        LoadError::SymbolNotFileBacked {
            name: "stack_end".into(),
            offset: stack_end.offset,
            size: 0,
            file_size: purgatory.image().segment().len() as u64,
        }
    );
}

#[test]
fn placing_gives_the_whole_memory_image_and_the_entry() {
    let mut purgatory = embedded();
    purgatory.set_digest(&[0x77; 32]).unwrap();
    // The highest page-aligned address the image fits below 2^52 at.
    let load_addr = ((1 << 52) - purgatory.image().mem_size()) & !0xfff;
    let placed = purgatory.place(load_addr).unwrap();
    let image = purgatory.image();
    assert_eq!(placed.load_addr, load_addr);
    assert_eq!(placed.entry, load_addr + image.entry());
    assert_eq!(placed.bytes.len() as u64, image.mem_size());
    assert!(
        placed.bytes[image.segment().len()..]
            .iter()
            .all(|&b| b == 0)
    );
    let digest_at = image.symbol("purgatory_sha256_digest").unwrap().offset as usize;
    assert_eq!(placed.bytes[digest_at..digest_at + 32], [0x77; 32]);
}

#[test]
fn a_misaligned_load_address_is_refused() {
    assert_eq!(
        embedded().place(0x10_0800),
        Err(LoadError::LoadAddressMisaligned {
            load_addr: 0x10_0800,
            align: 0x1000
        })
    );
}

#[test]
fn an_image_that_would_wrap_is_refused() {
    let purgatory = embedded();
    let mem_size = purgatory.image().mem_size();
    assert_eq!(
        purgatory.place(0xffff_ffff_ffff_f000),
        Err(LoadError::ImageWraps {
            load_addr: 0xffff_ffff_ffff_f000,
            mem_size
        })
    );
}

#[test]
fn a_placement_ending_above_2_52_is_refused() {
    let purgatory = embedded();
    let mem_size = purgatory.image().mem_size();
    let load_addr = (1 << 52) - 0x1000;
    assert_eq!(
        purgatory.place(load_addr),
        Err(LoadError::PlacementAboveLimit {
            load_addr,
            mem_size
        })
    );
    // Page alignment holds whatever p_align asks for.
    assert_eq!(purgatory.image().align() % 0x1000, 0);
}

#[test]
fn a_segment_at_address_zero_is_refused() {
    let mut purgatory = embedded();
    assert_eq!(
        purgatory.set_segments(&[segment(&[1], 0x10_0000, 0x1000), segment(&[1], 0, 0x1000)]),
        Err(LoadError::SegmentAtAddressZero { index: 1 })
    );
    // An empty one reads nothing: the purgatory skips it.
    assert!(purgatory.set_segments(&[segment(&[], 0, 0)]).is_ok());
}

#[test]
fn overlapping_segments_are_refused_by_index() {
    let mut purgatory = embedded();
    assert_eq!(
        purgatory.set_segments(&[
            segment(&[], 0x10_0000, 0x2000),
            segment(&[], 0x30_0000, 0x1000),
            segment(&[], 0x10_1000, 0x1000),
        ]),
        Err(LoadError::SegmentsOverlap {
            first: 0,
            second: 2,
            address: 0x10_1000
        })
    );
    // Touching is not overlapping; empty segments overlap nothing.
    assert!(
        purgatory
            .set_segments(&[
                segment(&[], 0x10_0000, 0x1000),
                segment(&[], 0x10_1000, 0x1000),
                segment(&[], 0x10_0800, 0),
            ])
            .is_ok()
    );
}

#[test]
fn a_segment_ending_above_2_52_is_refused() {
    let addr = (1 << 52) - 0x1000;
    assert_eq!(
        embedded().set_segments(&[segment(&[], addr, 0x2000)]),
        Err(LoadError::SegmentAboveLimit {
            index: 0,
            addr,
            mem_size: 0x2000
        })
    );
}

#[test]
fn a_zero_tail_over_1_gib_is_refused_before_any_hashing() {
    // A 2^63-byte tail used to be hashed, for ever.
    let contents = [7u8; 16];
    for mem_size in [(1 << 30) + 17, 1 << 51] {
        assert_eq!(
            embedded().set_segments(&[segment(&contents, 0x1000, mem_size)]),
            Err(LoadError::SegmentZeroTailTooLong {
                index: 0,
                tail: mem_size - 16
            })
        );
    }
}

#[test]
fn linux_entry_arithmetic_is_checked_and_refusals_write_nothing() {
    let mut purgatory = embedded();
    assert_eq!(
        purgatory.set_linux_entry(0x7fe0_0000, u64::MAX - 0x100, 0x9_0000),
        Err(LoadError::KernelEntryOverflow {
            kernel_addr: u64::MAX - 0x100
        })
    );
    let mem_size = purgatory.image().mem_size();
    assert_eq!(
        purgatory.set_linux_entry(u64::MAX - 0xfff, 0x100_0000, 0x9_0000),
        Err(LoadError::ImageWraps {
            load_addr: u64::MAX - 0xfff,
            mem_size
        })
    );
    assert_eq!(
        purgatory.set_linux_entry(0x7fe0_0800, 0x100_0000, 0x9_0000),
        Err(LoadError::LoadAddressMisaligned {
            load_addr: 0x7fe0_0800,
            align: 0x1000
        })
    );
    assert_eq!(purgatory.entry_regs().unwrap(), Entry64Regs::ZERO);
}

#[test]
fn a_region_over_the_purgatory_is_refused() {
    let mut purgatory = embedded();
    purgatory
        .set_segments(&[
            segment(&[], 0x10_0000, 0x1000),
            segment(&[], 0x20_1000, 0x1000),
        ])
        .unwrap();
    let mem_size = purgatory.image().mem_size();
    assert_eq!(
        purgatory.place(0x20_0000),
        Err(LoadError::RegionOverlapsPurgatory {
            index: 1,
            region: ShaRegion {
                start: 0x20_1000,
                len: 0x1000
            },
            load_addr: 0x20_0000,
            mem_size,
        })
    );
    // Right after the region is fine.
    assert!(purgatory.place(0x20_2000).is_ok());
}

#[test]
fn every_error_names_what_is_wrong() {
    let cases = [
        (LoadError::UnknownSymbol { name: "x".into() }, "`x`"),
        (
            LoadError::SymbolSize {
                name: "d".into(),
                expected: 32,
                actual: 31,
            },
            "size mismatch",
        ),
        (
            LoadError::SymbolNotFileBacked {
                name: "s".into(),
                offset: 0x10,
                size: 8,
                file_size: 0x8,
            },
            "not inside the file-backed part",
        ),
        (LoadError::TooManySegments { count: 17 }, "17 segments"),
        (
            LoadError::SegmentBytesExceedMemSize {
                index: 2,
                len: 9,
                mem_size: 8,
            },
            "segment 2",
        ),
        (
            LoadError::SegmentWraps {
                index: 3,
                addr: 0x1000,
                mem_size: 0x10,
            },
            "wraps",
        ),
        (
            LoadError::LoadAddressMisaligned {
                load_addr: 0x800,
                align: 0x1000,
            },
            "0x800",
        ),
        (
            LoadError::ImageWraps {
                load_addr: 0xf000,
                mem_size: 0x10,
            },
            "does not fit",
        ),
        (
            LoadError::ConsolePortOutOfRange { port: 0xfffc },
            "console port 0xfffc",
        ),
        (
            LoadError::SegmentAtAddressZero { index: 5 },
            "segment 5 starts at address 0",
        ),
        (
            LoadError::SegmentAboveLimit {
                index: 6,
                addr: 0x1000,
                mem_size: 0x10,
            },
            "segment 6 at 0x1000",
        ),
        (
            LoadError::SegmentZeroTailTooLong {
                index: 7,
                tail: 1 << 40,
            },
            "segment 7 has 0x10000000000 bytes of zeros",
        ),
        (
            LoadError::SegmentsOverlap {
                first: 1,
                second: 8,
                address: 0x2000,
            },
            "segments 1 and 8 overlap at 0x2000",
        ),
        (
            LoadError::PlacementAboveLimit {
                load_addr: 0xf000,
                mem_size: 0x10,
            },
            "above 0x10000000000000",
        ),
        (
            LoadError::KernelEntryOverflow { kernel_addr: 0x10 },
            "kernel at 0x10",
        ),
        (
            LoadError::RegionOverlapsPurgatory {
                index: 4,
                region: ShaRegion {
                    start: 0x1000,
                    len: 0x1000,
                },
                load_addr: 0x1000,
                mem_size: 0x1000,
            },
            "region 4",
        ),
    ];
    for (err, needle) in cases {
        let text = err.to_string();
        assert!(text.contains(needle), "{text:?} should mention {needle:?}");
    }
}
