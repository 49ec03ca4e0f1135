//! Why the purgatory cannot be prepared as asked: each refusal names the
//! symbol, segment or address at fault.

use alloc::string::String;
use core::fmt;

use purgatory_abi::{
    KERNEL_ENTRY64_OFFSET, MAX_CONSOLE_PORT, SHA_REGION_COUNT, ShaRegion, UART_PORT_COUNT,
};

use crate::contract::{ADDRESS_LIMIT, MAX_ZERO_TAIL};
use crate::image::ImageError;

/// Why the purgatory cannot be prepared as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// The ELF is unreadable or breaks the contract.
    Image(ImageError),
    /// No global symbol has this name.
    UnknownSymbol {
        /// The name looked up.
        name: String,
    },
    /// A value does not have the symbol's exact size.
    SymbolSize {
        /// The symbol.
        name: String,
        /// Its `st_size`.
        expected: u64,
        /// The size of the value given.
        actual: u64,
    },
    /// The symbol is not inside the file-backed part of the segment.
    SymbolNotFileBacked {
        /// The symbol.
        name: String,
        /// Its offset.
        offset: u64,
        /// Its size.
        size: u64,
        /// `p_filesz`.
        file_size: u64,
    },
    /// More segments than `purgatory_sha_regions` has entries.
    TooManySegments {
        /// Segments given.
        count: usize,
    },
    /// A segment's contents are longer than its memory size.
    SegmentBytesExceedMemSize {
        /// Index in the list given.
        index: usize,
        /// `bytes.len()`.
        len: u64,
        /// `mem_size`.
        mem_size: u64,
    },
    /// `addr + mem_size` overflows.
    SegmentWraps {
        /// Index in the list given.
        index: usize,
        /// `addr`.
        addr: u64,
        /// `mem_size`.
        mem_size: u64,
    },
    /// A segment with memory at physical address 0: the purgatory cannot
    /// name it as memory and always refuses it.
    SegmentAtAddressZero {
        /// Index in the list given.
        index: usize,
    },
    /// A segment that ends above [`ADDRESS_LIMIT`] (2^52), past every
    /// physical address.
    SegmentAboveLimit {
        /// Index in the list given.
        index: usize,
        /// `addr`.
        addr: u64,
        /// `mem_size`.
        mem_size: u64,
    },
    /// A segment whose zero tail (`mem_size` beyond its contents) is longer
    /// than [`MAX_ZERO_TAIL`]: hashing it would take hours.
    SegmentZeroTailTooLong {
        /// Index in the list given.
        index: usize,
        /// `mem_size - bytes.len()`.
        tail: u64,
    },
    /// Two segments share memory: one would overwrite the other, and the
    /// digest would describe neither.
    SegmentsOverlap {
        /// The index of the first, in the list given.
        first: usize,
        /// The index of the second.
        second: usize,
        /// The first address both cover.
        address: u64,
    },
    /// The load address is not aligned as the image requires.
    LoadAddressMisaligned {
        /// The address asked for.
        load_addr: u64,
        /// The alignment required.
        align: u64,
    },
    /// `load_addr + p_memsz` overflows.
    ImageWraps {
        /// The address asked for.
        load_addr: u64,
        /// `p_memsz`.
        mem_size: u64,
    },
    /// The purgatory would end above [`ADDRESS_LIMIT`] (2^52).
    PlacementAboveLimit {
        /// The address asked for.
        load_addr: u64,
        /// `p_memsz`.
        mem_size: u64,
    },
    /// The kernel's 64-bit entry (its address + 0x200) overflows.
    KernelEntryOverflow {
        /// The kernel's address given.
        kernel_addr: u64,
    },
    /// The console port leaves no room for the UART's registers below 0x10000.
    ConsolePortOutOfRange {
        /// The port given.
        port: u16,
    },
    /// A verified region overlaps where the purgatory would be copied; the
    /// purgatory's own segment must not be in the digest.
    RegionOverlapsPurgatory {
        /// Index in `purgatory_sha_regions`.
        index: usize,
        /// The region.
        region: ShaRegion,
        /// Where the purgatory would be loaded.
        load_addr: u64,
        /// `p_memsz`.
        mem_size: u64,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Image(err) => write!(f, "{err}"),
            Self::UnknownSymbol { name } => {
                write!(f, "the purgatory has no global symbol `{name}`")
            }
            Self::SymbolSize {
                name,
                expected,
                actual,
            } => {
                write!(
                    f,
                    "symbol `{name}` size mismatch: it is {expected} bytes, the value given is {actual}"
                )
            }
            Self::SymbolNotFileBacked {
                name,
                offset,
                size,
                file_size,
            } => write!(
                f,
                "symbol `{name}` ({size} bytes at {offset:#x}) is not inside the file-backed part of the \
                 segment (p_filesz {file_size:#x}): it cannot be patched"
            ),
            Self::TooManySegments { count } => {
                write!(
                    f,
                    "{count} segments to verify, but purgatory_sha_regions holds {SHA_REGION_COUNT}"
                )
            }
            Self::SegmentBytesExceedMemSize {
                index,
                len,
                mem_size,
            } => {
                write!(
                    f,
                    "segment {index} has {len} bytes of contents but a memory size of only {mem_size}"
                )
            }
            Self::SegmentWraps {
                index,
                addr,
                mem_size,
            } => write!(
                f,
                "segment {index} at {addr:#x} with memory size {mem_size:#x} wraps around the address space"
            ),
            Self::SegmentAtAddressZero { index } => write!(
                f,
                "segment {index} starts at address 0, which the purgatory cannot read: \
                 it would always refuse to boot"
            ),
            Self::SegmentAboveLimit {
                index,
                addr,
                mem_size,
            } => write!(
                f,
                "segment {index} at {addr:#x} with memory size {mem_size:#x} ends above \
                 {ADDRESS_LIMIT:#x}, past every physical address"
            ),
            Self::SegmentZeroTailTooLong { index, tail } => write!(
                f,
                "segment {index} has {tail:#x} bytes of zeros past its contents, more than \
                 {MAX_ZERO_TAIL:#x}: no kexec segment needs that, and hashing it would take hours"
            ),
            Self::SegmentsOverlap {
                first,
                second,
                address,
            } => write!(
                f,
                "segments {first} and {second} overlap at {address:#x}: one would overwrite the other"
            ),
            Self::PlacementAboveLimit {
                load_addr,
                mem_size,
            } => write!(
                f,
                "the purgatory ({mem_size:#x} bytes) at {load_addr:#x} would end above \
                 {ADDRESS_LIMIT:#x}, past every physical address"
            ),
            Self::KernelEntryOverflow { kernel_addr } => write!(
                f,
                "the kernel at {kernel_addr:#x} has no 64-bit entry: its address + \
                 {KERNEL_ENTRY64_OFFSET:#x} overflows"
            ),
            Self::LoadAddressMisaligned { load_addr, align } => {
                write!(
                    f,
                    "load address {load_addr:#x} is not aligned to {align:#x}"
                )
            }
            Self::ImageWraps {
                load_addr,
                mem_size,
            } => write!(
                f,
                "the purgatory ({mem_size:#x} bytes) does not fit below the top of the address space at {load_addr:#x}"
            ),
            Self::ConsolePortOutOfRange { port } => write!(
                f,
                "console port {port:#x} leaves no room for a 16550's {UART_PORT_COUNT} registers \
                 below 0x10000 (the highest base is {MAX_CONSOLE_PORT:#x})"
            ),
            Self::RegionOverlapsPurgatory {
                index,
                region,
                load_addr,
                mem_size,
            } => write!(
                f,
                "region {index} ({:#x}..{:#x}) overlaps the purgatory at {load_addr:#x}..{:#x}: \
                 its own segment must not be verified",
                region.start,
                region.start.wrapping_add(region.len),
                load_addr.wrapping_add(*mem_size)
            ),
        }
    }
}

impl core::error::Error for LoadError {}

impl From<ImageError> for LoadError {
    fn from(err: ImageError) -> Self {
        Self::Image(err)
    }
}
