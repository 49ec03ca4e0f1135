//! The purgatory being prepared: a validated image and a patched copy of
//! its file-backed bytes, written through the contract's symbols.

use alloc::vec::Vec;
use core::ops::Range;

use purgatory_abi::{
    CONSOLE_PORT_SYMBOL, ENTRY64_REGS_SYMBOL, Entry64Regs, FLAGS_SYMBOL, FailurePolicy,
    KERNEL_ENTRY64_OFFSET, MAX_CONSOLE_PORT, SEGMENT_DIGESTS_SYMBOL, SHA_REGION_COUNT,
    SHA_REGIONS_SYMBOL, SHA256_DIGEST_SYMBOL, STACK_END_SYMBOL, SegmentDigests, Sha256Digest,
    ShaRegion, ShaRegions,
};

use super::bounds::placement_end;
use super::error::LoadError;
use super::segments::{Segment, check_overlaps, segment_region, segments_digests};
use crate::image::Image;

/// The purgatory being prepared: a validated image and a patched copy of its
/// file-backed bytes.
#[derive(Debug, Clone)]
pub struct Purgatory<'a> {
    pub(super) image: Image<'a>,
    pub(super) patched: Vec<u8>,
}

impl<'a> Purgatory<'a> {
    /// Validates `elf` against the contract and starts from its bytes.
    pub fn parse(elf: &'a [u8]) -> Result<Self, LoadError> {
        Ok(Self::new(Image::parse(elf)?))
    }

    /// Starts from a validated image.
    pub fn new(image: Image<'a>) -> Self {
        let patched = image.segment().to_vec();
        Self { image, patched }
    }

    /// The validated image: sizes, alignment, symbol offsets.
    pub fn image(&self) -> &Image<'a> {
        &self.image
    }

    /// Lists `segments` in `purgatory_sha_regions` (unused entries zero) and
    /// stores their digest, computed as Linux does: each segment's bytes
    /// followed by zeros up to its memory size, in order. Also stores each
    /// segment's own digest in `purgatory_segment_digests` (unused entries
    /// zero), so that a mismatch names the segment. The purgatory's own
    /// segment must not be among them. An empty list verifies nothing.
    ///
    /// Refuses, naming the segment, what the purgatory could not verify or
    /// not in reasonable time: contents longer than the memory size, memory
    /// at address 0, an end that wraps or passes 2^52, a zero tail over
    /// [`MAX_ZERO_TAIL`](crate::contract::MAX_ZERO_TAIL) (1 GiB), and two
    /// segments that overlap.
    pub fn set_segments(&mut self, segments: &[Segment<'_>]) -> Result<Sha256Digest, LoadError> {
        if segments.len() > SHA_REGION_COUNT {
            return Err(LoadError::TooManySegments {
                count: segments.len(),
            });
        }
        let mut regions = [ShaRegion::default(); SHA_REGION_COUNT];
        for (index, (segment, region)) in segments.iter().zip(&mut regions).enumerate() {
            *region = segment_region(index, segment)?;
        }
        check_overlaps(&regions[..segments.len()])?;
        let (digest, segment_digests) = segments_digests(segments);
        self.set_region_table(&regions)?;
        self.set_digest(&digest)?;
        self.set_segment_digests(&segment_digests)?;
        Ok(digest)
    }

    /// Writes `purgatory_segment_digests`: entry `i` is the SHA-256 of region
    /// `i` alone, or [`NO_SEGMENT_DIGEST`](purgatory_abi::NO_SEGMENT_DIGEST) where there is none to compare.
    /// Only read after a failed verification with a console, to name the
    /// segments that changed.
    pub fn set_segment_digests(&mut self, digests: &SegmentDigests) -> Result<(), LoadError> {
        self.write_symbol(SEGMENT_DIGESTS_SYMBOL, digests.as_flattened())
    }

    /// Writes `purgatory_sha_regions` as given. `purgatory_segment_digests`
    /// stays as it is: clear it with [`set_segment_digests`] if its entries no
    /// longer describe these regions.
    ///
    /// [`set_segment_digests`]: Self::set_segment_digests
    pub fn set_region_table(&mut self, regions: &ShaRegions) -> Result<(), LoadError> {
        let bytes: Vec<u8> = regions
            .iter()
            .flat_map(|r| r.start.to_le_bytes().into_iter().chain(r.len.to_le_bytes()))
            .collect();
        self.write_symbol(SHA_REGIONS_SYMBOL, &bytes)
    }

    /// The region table as currently patched.
    pub fn region_table(&self) -> Result<ShaRegions, LoadError> {
        let words = le_words(self.read_symbol(SHA_REGIONS_SYMBOL)?);
        let mut regions = [ShaRegion::default(); SHA_REGION_COUNT];
        for (region, pair) in regions.iter_mut().zip(words.chunks_exact(2)) {
            *region = ShaRegion {
                start: pair[0],
                len: pair[1],
            };
        }
        Ok(regions)
    }

    /// Writes `purgatory_sha256_digest`.
    pub fn set_digest(&mut self, digest: &Sha256Digest) -> Result<(), LoadError> {
        self.write_symbol(SHA256_DIGEST_SYMBOL, digest)
    }

    /// Writes `purgatory_flags` (`purgatory_abi::FLAG_*` bits; 0 as shipped).
    pub fn set_flags(&mut self, flags: u64) -> Result<(), LoadError> {
        self.write_symbol(FLAGS_SYMBOL, &flags.to_le_bytes())
    }

    /// `purgatory_flags` as currently patched.
    pub fn flags(&self) -> Result<u64, LoadError> {
        let bytes = self.read_symbol(FLAGS_SYMBOL)?;
        let word = bytes.try_into().map_err(|_| LoadError::SymbolSize {
            name: FLAGS_SYMBOL.into(),
            expected: size_of::<u64>() as u64,
            actual: bytes.len() as u64,
        })?;
        Ok(u64::from_le_bytes(word))
    }

    /// Chooses what the purgatory does when verification fails (halt, as
    /// shipped, or reset), keeping the other flags.
    pub fn set_failure_policy(&mut self, policy: FailurePolicy) -> Result<(), LoadError> {
        let flags = self.flags()?;
        self.set_flags(policy.apply_to(flags))
    }

    /// Writes `purgatory_console_port`: the purgatory programs the 16550 UART
    /// at this I/O port (115200 baud, 8N1) and reports its progress and any
    /// failure there. `purgatory_abi::CONSOLE_OFF` (0, as shipped) keeps it
    /// silent.
    pub fn set_console_port(&mut self, port: u16) -> Result<(), LoadError> {
        if port > MAX_CONSOLE_PORT {
            return Err(LoadError::ConsolePortOutOfRange { port });
        }
        self.write_symbol(CONSOLE_PORT_SYMBOL, &port.to_le_bytes())
    }

    /// Writes all seventeen fields of `entry64_regs`.
    pub fn set_entry_regs(&mut self, regs: &Entry64Regs) -> Result<(), LoadError> {
        let bytes: Vec<u8> = regs
            .to_array()
            .iter()
            .flat_map(|r| r.to_le_bytes())
            .collect();
        self.write_symbol(ENTRY64_REGS_SYMBOL, &bytes)
    }

    /// `entry64_regs` as currently patched.
    pub fn entry_regs(&self) -> Result<Entry64Regs, LoadError> {
        let words = le_words(self.read_symbol(ENTRY64_REGS_SYMBOL)?);
        let array = words
            .try_into()
            .map_err(|words: Vec<u64>| LoadError::SymbolSize {
                name: ENTRY64_REGS_SYMBOL.into(),
                expected: size_of::<Entry64Regs>() as u64,
                actual: words.len() as u64 * 8,
            })?;
        Ok(Entry64Regs::from_array(array))
    }

    /// Sets what Linux's bzImage64 loader sets for the 64-bit boot protocol,
    /// keeping every other register as it is: `rip` = the protected-mode kernel
    /// at `kernel_addr` + 0x200, `rsi` = the boot parameters (zero page),
    /// `rbx` = 0, and `rsp` = the purgatory's `stack_end` once it is loaded at
    /// `load_addr`. `load_addr` must be one [`place`](Self::place) accepts;
    /// nothing is written when an address is refused.
    pub fn set_linux_entry(
        &mut self,
        load_addr: u64,
        kernel_addr: u64,
        boot_params: u64,
    ) -> Result<(), LoadError> {
        placement_end(&self.image, load_addr)?;
        let mut regs = self.entry_regs()?;
        regs.rip = kernel_addr
            .checked_add(KERNEL_ENTRY64_OFFSET)
            .ok_or(LoadError::KernelEntryOverflow { kernel_addr })?;
        regs.rsi = boot_params;
        regs.rbx = 0;
        regs.rsp = load_addr
            .checked_add(self.symbol_offset(STACK_END_SYMBOL)?)
            .ok_or(LoadError::ImageWraps {
                load_addr,
                mem_size: self.image.mem_size(),
            })?;
        self.set_entry_regs(&regs)
    }

    /// The current bytes of a global symbol inside the file-backed part.
    pub fn read_symbol(&self, name: &str) -> Result<&[u8], LoadError> {
        let range = self.file_backed_range(name)?;
        Ok(&self.patched[range])
    }

    /// Overwrites a global symbol; `value` must have its exact `st_size`.
    pub fn write_symbol(&mut self, name: &str, value: &[u8]) -> Result<(), LoadError> {
        let range = self.file_backed_range(name)?;
        if value.len() != range.len() {
            return Err(LoadError::SymbolSize {
                name: name.into(),
                expected: range.len() as u64,
                actual: value.len() as u64,
            });
        }
        self.patched[range].copy_from_slice(value);
        Ok(())
    }

    fn symbol_offset(&self, name: &str) -> Result<u64, LoadError> {
        self.image
            .symbol(name)
            .map(|symbol| symbol.offset)
            .ok_or_else(|| LoadError::UnknownSymbol { name: name.into() })
    }

    fn file_backed_range(&self, name: &str) -> Result<Range<usize>, LoadError> {
        let symbol = self
            .image
            .symbol(name)
            .ok_or_else(|| LoadError::UnknownSymbol { name: name.into() })?;
        let outside = || LoadError::SymbolNotFileBacked {
            name: name.into(),
            offset: symbol.offset,
            size: symbol.size,
            file_size: self.patched.len() as u64,
        };
        let start = usize::try_from(symbol.offset).map_err(|_| outside())?;
        let end = usize::try_from(symbol.size)
            .ok()
            .and_then(|size| start.checked_add(size))
            .filter(|&end| end <= self.patched.len())
            .ok_or_else(outside)?;
        Ok(start..end)
    }
}

fn le_words(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|word| u64::from_le_bytes(word.try_into().unwrap_or_default()))
        .collect()
}
