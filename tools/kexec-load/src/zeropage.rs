//! The zero page (`struct boot_params`) the next kernel finds at RSI: the
//! setup header copied from its bzImage, the loader's answers in it, the
//! first 128 entries of the e820 map, and the high halves of the initrd and
//! command-line pointers. What comes from the running system (EFI, ACPI, the
//! rest of a longer map, `setup_data`) is the plan's `boot_data`.
//! Offsets are Documentation/arch/x86/zero-page.rst's.

use crate::bzimage::{BzImage, SETUP_HEADER_OFFSET};
use crate::memmap::MemoryRange;

pub const ZERO_PAGE_SIZE: usize = 4096;

const EXT_RAMDISK_IMAGE: usize = 0x0c0;
const EXT_RAMDISK_SIZE: usize = 0x0c4;
const EXT_CMD_LINE_PTR: usize = 0x0c8;
const E820_ENTRIES: usize = 0x1e8;
/// Must stay 0: a loader that copies the header without clearing the rest of
/// the page leaves it non-zero, and the kernel then wipes fields it cannot trust.
const SENTINEL: usize = 0x1ef;
const TYPE_OF_LOADER: usize = 0x210;
const CODE32_START: usize = 0x214;
const RAMDISK_IMAGE: usize = 0x218;
const RAMDISK_SIZE: usize = 0x21c;
const CMD_LINE_PTR: usize = 0x228;
const SETUP_DATA: usize = 0x250;
const E820_TABLE: usize = 0x2d0;
pub const E820_ENTRY_SIZE: usize = 20;
/// `E820_MAX_ENTRIES_ZEROPAGE`.
pub const E820_MAX_ENTRIES: usize = 128;
/// No boot loader ID is assigned to this tool: 0xFF is "undefined" (boot.rst).
pub const LOADER_ID: u8 = 0xff;

/// What the zero page says about where things are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    /// Physical address of the protected-mode kernel.
    pub kernel: u64,
    /// Physical address and length of the initrd, if any.
    pub initrd: Option<(u64, u64)>,
    /// Physical address of the NUL-terminated command line.
    pub cmdline: u64,
}

/// Builds the page, with the first [`E820_MAX_ENTRIES`] ranges of `map`
/// (the caller hands on the rest in `SETUP_E820_EXT`).
pub fn build(image: &BzImage<'_>, map: &[MemoryRange], at: Addresses) -> Vec<u8> {
    let mut page = vec![0u8; ZERO_PAGE_SIZE];
    let header = image.setup_header();
    page[SETUP_HEADER_OFFSET..SETUP_HEADER_OFFSET + header.len()].copy_from_slice(header);
    page[SENTINEL] = 0;
    page[TYPE_OF_LOADER] = LOADER_ID;
    // Only meaningful to the 32-bit entry, but kept truthful.
    put_u32(&mut page, CODE32_START, low(at.kernel));
    let (initrd_addr, initrd_len) = at.initrd.unwrap_or((0, 0));
    put_u32(&mut page, RAMDISK_IMAGE, low(initrd_addr));
    put_u32(&mut page, EXT_RAMDISK_IMAGE, high(initrd_addr));
    put_u32(&mut page, RAMDISK_SIZE, low(initrd_len));
    put_u32(&mut page, EXT_RAMDISK_SIZE, high(initrd_len));
    put_u32(&mut page, CMD_LINE_PTR, low(at.cmdline));
    put_u32(&mut page, EXT_CMD_LINE_PTR, high(at.cmdline));
    // No setup_data chain until one is linked: the header's copy may carry
    // the build's value.
    link_setup_data(&mut page, 0);
    let in_page = &map[..map.len().min(E820_MAX_ENTRIES)];
    page[E820_ENTRIES] = in_page.len() as u8;
    for (index, range) in in_page.iter().enumerate() {
        let at = E820_TABLE + index * E820_ENTRY_SIZE;
        page[at..at + E820_ENTRY_SIZE].copy_from_slice(&e820_entry(range));
    }
    page
}

/// `struct boot_e820_entry`: address, size, type.
pub fn e820_entry(range: &MemoryRange) -> [u8; E820_ENTRY_SIZE] {
    let mut entry = [0u8; E820_ENTRY_SIZE];
    entry[..8].copy_from_slice(&range.start.to_le_bytes());
    entry[8..16].copy_from_slice(&(range.end - range.start).to_le_bytes());
    entry[16..].copy_from_slice(&range.e820_type.to_le_bytes());
    entry
}

/// Points `hdr.setup_data` at the first node of a chain (0: none).
pub fn link_setup_data(page: &mut [u8], first: u64) {
    page[SETUP_DATA..SETUP_DATA + 8].copy_from_slice(&first.to_le_bytes());
}

fn low(value: u64) -> u32 {
    value as u32
}

fn high(value: u64) -> u32 {
    (value >> 32) as u32
}

fn put_u32(page: &mut [u8], at: usize, value: u32) {
    page[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::synthetic_bzimage;

    fn u32_at(page: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(page[at..at + 4].try_into().unwrap())
    }

    fn map(count: usize) -> Vec<MemoryRange> {
        (0..count as u64)
            .map(|i| MemoryRange {
                start: i << 20,
                end: (i << 20) + 0x1000,
                e820_type: 1 + (i as u32 % 2),
                name: String::new(),
            })
            .collect()
    }

    #[test]
    fn fields_and_high_halves() {
        let bytes = synthetic_bzimage(0x1000);
        let image = BzImage::parse(&bytes).unwrap();
        let at = Addresses {
            kernel: 0x100_0000,
            initrd: Some((0x1_2345_6000, 0x1_0000_0010)),
            cmdline: 0x2_0000_1000,
        };
        let page = build(&image, &map(3), at);
        // Copied up to the loader's fields, which the loader fills in.
        assert_eq!(
            &page[0x1f1..TYPE_OF_LOADER],
            &image.setup_header()[..TYPE_OF_LOADER - 0x1f1]
        );
        assert_eq!(&page[0x202..0x206], b"HdrS");
        assert_eq!(page[TYPE_OF_LOADER], 0xff);
        assert_eq!(page[SENTINEL], 0);
        assert_eq!(u32_at(&page, CODE32_START), 0x100_0000);
        assert_eq!(u32_at(&page, RAMDISK_IMAGE), 0x2345_6000);
        assert_eq!(u32_at(&page, EXT_RAMDISK_IMAGE), 1);
        assert_eq!(u32_at(&page, RAMDISK_SIZE), 0x10);
        assert_eq!(u32_at(&page, EXT_RAMDISK_SIZE), 1);
        assert_eq!(u32_at(&page, CMD_LINE_PTR), 0x1000);
        assert_eq!(u32_at(&page, EXT_CMD_LINE_PTR), 2);
        assert_eq!(page[E820_ENTRIES], 3);
        let second = E820_TABLE + E820_ENTRY_SIZE;
        assert_eq!(
            u64::from_le_bytes(page[second..second + 8].try_into().unwrap()),
            1 << 20
        );
        assert_eq!(
            u64::from_le_bytes(page[second + 8..second + 16].try_into().unwrap()),
            0x1000
        );
        assert_eq!(u32_at(&page, second + 16), 2);
        // Nothing past the header but the e820 table.
        assert!(page[0x26c..E820_TABLE].iter().all(|&b| b == 0));
        assert!(
            page[E820_TABLE + 3 * E820_ENTRY_SIZE..]
                .iter()
                .all(|&b| b == 0)
        );
    }

    #[test]
    fn no_initrd_means_zero() {
        let bytes = synthetic_bzimage(0x1000);
        let image = BzImage::parse(&bytes).unwrap();
        let page = build(
            &image,
            &map(1),
            Addresses {
                kernel: 0x100_0000,
                initrd: None,
                cmdline: 0x9_1000,
            },
        );
        assert_eq!(u32_at(&page, RAMDISK_IMAGE), 0);
        assert_eq!(u32_at(&page, RAMDISK_SIZE), 0);
    }

    #[test]
    fn the_page_holds_the_first_128_ranges() {
        let bytes = synthetic_bzimage(0x1000);
        let image = BzImage::parse(&bytes).unwrap();
        let ranges = map(130);
        let at = Addresses {
            kernel: 0,
            initrd: None,
            cmdline: 0,
        };
        let page = build(&image, &ranges, at);
        assert_eq!(page[E820_ENTRIES], 128);
        let last = E820_TABLE + 127 * E820_ENTRY_SIZE;
        assert_eq!(page[last..last + E820_ENTRY_SIZE], e820_entry(&ranges[127]));
        assert_eq!(page.len(), ZERO_PAGE_SIZE);
    }
}
