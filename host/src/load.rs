//! What a loader does with the purgatory, as Linux's `kexec_file.c` does for
//! its own: list the segments to verify and their digest, set the entry
//! registers, and produce the bytes to copy for a chosen load address.

use crate::image::{Image, ImageError};
use purgatory_abi::{
    CONSOLE_PORT_SYMBOL, ENTRY64_REGS_SYMBOL, Entry64Regs, FLAGS_SYMBOL, FailurePolicy,
    KERNEL_ENTRY64_OFFSET, MAX_CONSOLE_PORT, NO_SEGMENT_DIGEST, SEGMENT_DIGESTS_SYMBOL,
    SHA_REGION_COUNT, SHA_REGIONS_SYMBOL, SHA256_DIGEST_SYMBOL, STACK_END_SYMBOL, SegmentDigests,
    Sha256Digest, ShaRegion, ShaRegions, UART_PORT_COUNT,
};
use sha2::{Digest, Sha256};
use std::fmt;

/// One segment of the next kernel's image, as `kexec_segment` describes it:
/// `bytes` are copied to physical address `addr`, and the rest of `mem_size`
/// is zero-filled.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// The contents; at most `mem_size` bytes.
    pub bytes: &'a [u8],
    /// Physical load address.
    pub addr: u64,
    /// Bytes of memory the segment occupies (Linux rounds it to pages).
    pub mem_size: u64,
}

/// The purgatory being prepared: a validated image and a patched copy of its
/// file-backed bytes.
#[derive(Debug, Clone)]
pub struct Purgatory<'a> {
    image: Image<'a>,
    patched: Vec<u8>,
}

/// The purgatory ready to be copied: `bytes` go to `load_addr`, and the CPU
/// enters at `entry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Where the bytes go.
    pub load_addr: u64,
    /// `load_addr + e_entry`: where the old kernel jumps.
    pub entry: u64,
    /// `p_memsz` bytes: the patched segment followed by zeros.
    pub bytes: Vec<u8>,
}

/// Why the purgatory cannot be prepared as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
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

impl std::error::Error for LoadError {}

impl From<ImageError> for LoadError {
    fn from(err: ImageError) -> Self {
        Self::Image(err)
    }
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
        let (digest, segment_digests) = segments_digests(segments);
        self.set_region_table(&regions)?;
        self.set_digest(&digest)?;
        self.set_segment_digests(&segment_digests)?;
        Ok(digest)
    }

    /// Writes `purgatory_segment_digests`: entry `i` is the SHA-256 of region
    /// `i` alone, or [`NO_SEGMENT_DIGEST`] where there is none to compare.
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
    /// `load_addr`.
    pub fn set_linux_entry(
        &mut self,
        load_addr: u64,
        kernel_addr: u64,
        boot_params: u64,
    ) -> Result<(), LoadError> {
        let mut regs = self.entry_regs()?;
        regs.rip = kernel_addr.wrapping_add(KERNEL_ENTRY64_OFFSET);
        regs.rsi = boot_params;
        regs.rbx = 0;
        regs.rsp = load_addr.wrapping_add(self.symbol_offset(STACK_END_SYMBOL)?);
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

    /// The bytes to copy to `load_addr` (aligned to [`Image::align`]) and the
    /// entry address. Fails if a verified region overlaps the purgatory.
    pub fn place(&self, load_addr: u64) -> Result<Placed, LoadError> {
        let (align, mem_size) = (self.image.align(), self.image.mem_size());
        if !load_addr.is_multiple_of(align) {
            return Err(LoadError::LoadAddressMisaligned { load_addr, align });
        }
        let end = load_addr
            .checked_add(mem_size)
            .ok_or(LoadError::ImageWraps {
                load_addr,
                mem_size,
            })?;
        for (index, region) in self.region_table()?.into_iter().enumerate() {
            if region.len != 0
                && region.start < end
                && load_addr < region.start.saturating_add(region.len)
            {
                return Err(LoadError::RegionOverlapsPurgatory {
                    index,
                    region,
                    load_addr,
                    mem_size,
                });
            }
        }
        let mut bytes = self.patched.clone();
        // The image check guarantees p_filesz <= p_memsz, which fits the host.
        bytes.resize(usize::try_from(mem_size).unwrap_or(bytes.len()), 0);
        Ok(Placed {
            load_addr,
            entry: load_addr.wrapping_add(self.image.entry()),
            bytes,
        })
    }

    fn symbol_offset(&self, name: &str) -> Result<u64, LoadError> {
        self.image
            .symbol(name)
            .map(|symbol| symbol.offset)
            .ok_or_else(|| LoadError::UnknownSymbol { name: name.into() })
    }

    fn file_backed_range(&self, name: &str) -> Result<std::ops::Range<usize>, LoadError> {
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

/// The region a segment contributes: its whole memory size.
fn segment_region(index: usize, segment: &Segment<'_>) -> Result<ShaRegion, LoadError> {
    let len = segment.bytes.len() as u64;
    if len > segment.mem_size {
        return Err(LoadError::SegmentBytesExceedMemSize {
            index,
            len,
            mem_size: segment.mem_size,
        });
    }
    if segment.addr.checked_add(segment.mem_size).is_none() {
        return Err(LoadError::SegmentWraps {
            index,
            addr: segment.addr,
            mem_size: segment.mem_size,
        });
    }
    Ok(ShaRegion {
        start: segment.addr,
        len: segment.mem_size,
    })
}

/// SHA-256 over each segment's bytes and zero tail, in order, and of each
/// segment alone: one pass over the memory feeds both.
fn segments_digests(segments: &[Segment<'_>]) -> (Sha256Digest, SegmentDigests) {
    let mut all = Sha256::new();
    let mut each = [NO_SEGMENT_DIGEST; SHA_REGION_COUNT];
    for (segment, digest) in segments.iter().zip(&mut each) {
        let mut own = Sha256::new();
        for chunk in segment_memory(segment) {
            all.update(chunk);
            own.update(chunk);
        }
        *digest = own.finalize().into();
    }
    (all.finalize().into(), each)
}

/// A segment's memory as the purgatory will read it: its bytes, then zeros up
/// to its memory size (which `segment_region` checked is not smaller).
fn segment_memory<'s>(segment: &Segment<'s>) -> impl Iterator<Item = &'s [u8]> {
    static ZEROS: [u8; 4096] = [0; 4096];
    let tail = segment.mem_size.saturating_sub(segment.bytes.len() as u64);
    let zeros = (0..tail).step_by(ZEROS.len()).map(move |done| {
        let chunk = (tail - done).min(ZEROS.len() as u64);
        &ZEROS[..chunk as usize]
    });
    std::iter::once(segment.bytes).chain(zeros)
}

fn le_words(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|word| u64::from_le_bytes(word.try_into().unwrap_or_default()))
        .collect()
}
