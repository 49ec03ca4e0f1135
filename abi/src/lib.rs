//! The contract between the purgatory and whoever loads it.
//!
//! A loader finds the purgatory's patchable data by symbol name in `.symtab`
//! and writes it with an exact size check, as Linux's `kexec_file.c` does.
//! This crate declares those names, the layouts behind them and the CPU state
//! the purgatory hands to the next kernel, once, for both sides.
#![cfg_attr(not(test), no_std)]
#![warn(missing_docs)]

mod flags;
mod hash_path;

pub use flags::{FLAG_RESET_ON_FAILURE, FLAG_SOFTWARE_SHA256, FailurePolicy};
pub use hash_path::{Cpuid, HashPath};

use core::mem::{offset_of, size_of};

/// The ELF entry point: switches stacks, verifies, hands off or halts.
pub const ENTRY_SYMBOL: &str = "purgatory_start";
/// A SysV-ABI function, no arguments, returning 0 when the digest matches and
/// non-zero otherwise. It runs the same verification as the entry point, so the
/// shipped bytes can be executed and measured in a host process.
pub const VERIFY_SYMBOL: &str = "purgatory_verify";
/// [`VERIFY_SYMBOL`] with the SHA extensions: same signature and result, and
/// it assumes SSE is already enabled, as it is in a host process.
pub const VERIFY_SHANI_SYMBOL: &str = "purgatory_verify_shani";
/// The functions exported so that a host process can run the shipped code.
/// Nothing in the image calls them, so the build keeps them explicitly.
pub const HOSTED_ENTRIES: [&str; 4] = [
    VERIFY_SYMBOL,
    VERIFY_SHANI_SYMBOL,
    FAILING_SEGMENTS_SYMBOL,
    FAILING_SEGMENTS_SHANI_SYMBOL,
];
/// The [`ShaRegions`] table the loader fills.
pub const SHA_REGIONS_SYMBOL: &str = "purgatory_sha_regions";
/// The [`Sha256Digest`] the loader computed over the regions.
pub const SHA256_DIGEST_SYMBOL: &str = "purgatory_sha256_digest";
/// The [`Entry64Regs`] block loaded into the CPU at hand-off.
pub const ENTRY64_REGS_SYMBOL: &str = "entry64_regs";
/// Options for the purgatory, a `u64` of `FLAG_*` bits set by the loader.
/// Zero, as shipped, behaves as Linux's own purgatory does.
pub const FLAGS_SYMBOL: &str = "purgatory_flags";
/// The I/O port of a 16550 UART, a `u16`, for a console the purgatory writes
/// its progress and any failure to; 0, as shipped, keeps it silent. The
/// purgatory programs the UART itself (115200 baud, 8N1, no interrupts).
pub const CONSOLE_PORT_SYMBOL: &str = "purgatory_console_port";
/// No console: the purgatory touches no I/O port.
pub const CONSOLE_OFF: u16 = 0;
/// A 16550's registers occupy eight consecutive ports from its base.
pub const UART_PORT_COUNT: u16 = 8;
/// The highest console port whose eight registers fit below 0x10000; the
/// purgatory treats a higher one as no console.
pub const MAX_CONSOLE_PORT: u16 = u16::MAX - (UART_PORT_COUNT - 1);
/// The expected SHA-256 of each region on its own ([`SegmentDigests`]), so
/// that on a mismatch the purgatory can name the segment(s) that changed.
/// Optional: all zeros, as shipped, means none were given.
pub const SEGMENT_DIGESTS_SYMBOL: &str = "purgatory_segment_digests";
/// [`VERIFY_SYMBOL`]'s per-segment counterpart, for hosted tests: returns a
/// bitmask with bit `i` set when region `i` is non-empty and either cannot be
/// read or does not hash to its entry in [`SEGMENT_DIGESTS_SYMBOL`] (an
/// all-zero entry is not judged). It prints nothing.
pub const FAILING_SEGMENTS_SYMBOL: &str = "purgatory_failing_segments";
/// [`FAILING_SEGMENTS_SYMBOL`] with the SHA extensions; it assumes SSE is
/// enabled, as [`VERIFY_SHANI_SYMBOL`] does.
pub const FAILING_SEGMENTS_SHANI_SYMBOL: &str = "purgatory_failing_segments_shani";
/// Top of a 16-byte-aligned stack inside the image. Linux's bzImage64 loader
/// gives its address to the next kernel as RSP; the purgatory runs on it too.
pub const STACK_END_SYMBOL: &str = "stack_end";

/// One range of physical memory covered by the digest. `len == 0` marks an
/// unused entry, which is skipped without touching memory.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShaRegion {
    /// Physical (identity-mapped) start address.
    pub start: u64, // 0x00
    /// Length in bytes.
    pub len: u64, // 0x08
}

/// Linux's `KEXEC_SEGMENT_MAX`: the number of entries in [`ShaRegions`].
pub const SHA_REGION_COUNT: usize = 16;

/// The table behind [`SHA_REGIONS_SYMBOL`], hashed in index order.
pub type ShaRegions = [ShaRegion; SHA_REGION_COUNT];

/// The value behind [`SHA256_DIGEST_SYMBOL`].
pub type Sha256Digest = [u8; 32];

/// The table behind [`SEGMENT_DIGESTS_SYMBOL`]: entry `i` is the SHA-256 of
/// region `i` of [`ShaRegions`] alone, or [`NO_SEGMENT_DIGEST`].
pub type SegmentDigests = [Sha256Digest; SHA_REGION_COUNT];

/// An entry of [`SegmentDigests`] that the loader did not fill.
pub const NO_SEGMENT_DIGEST: Sha256Digest = [0; 32];

/// The registers loaded at hand-off, in the order of Linux's
/// `struct kexec_entry64_regs` (hardware encoding order, not kexec-tools').
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Entry64Regs {
    pub rax: u64, // 0x00
    pub rcx: u64, // 0x08
    pub rdx: u64, // 0x10
    pub rbx: u64, // 0x18
    pub rsp: u64, // 0x20
    pub rbp: u64, // 0x28
    pub rsi: u64, // 0x30
    pub rdi: u64, // 0x38
    pub r8: u64,  // 0x40
    pub r9: u64,  // 0x48
    pub r10: u64, // 0x50
    pub r11: u64, // 0x58
    pub r12: u64, // 0x60
    pub r13: u64, // 0x68
    pub r14: u64, // 0x70
    pub r15: u64, // 0x78
    /// Where the purgatory jumps once the registers are loaded.
    pub rip: u64, // 0x80
}

/// Number of `u64` fields in [`Entry64Regs`].
pub const ENTRY64_REG_COUNT: usize = 17;

impl Entry64Regs {
    /// The fields in memory order.
    pub const fn to_array(self) -> [u64; ENTRY64_REG_COUNT] {
        [
            self.rax, self.rcx, self.rdx, self.rbx, self.rsp, self.rbp, self.rsi, self.rdi,
            self.r8, self.r9, self.r10, self.r11, self.r12, self.r13, self.r14, self.r15, self.rip,
        ]
    }

    /// The inverse of [`to_array`](Self::to_array).
    pub const fn from_array(r: [u64; ENTRY64_REG_COUNT]) -> Self {
        Self {
            rax: r[0],
            rcx: r[1],
            rdx: r[2],
            rbx: r[3],
            rsp: r[4],
            rbp: r[5],
            rsi: r[6],
            rdi: r[7],
            r8: r[8],
            r9: r[9],
            r10: r[10],
            r11: r[11],
            r12: r[12],
            r13: r[13],
            r14: r[14],
            r15: r[15],
            rip: r[16],
        }
    }

    /// All registers zero, as the image ships.
    pub const ZERO: Self = Self {
        rax: 0,
        rcx: 0,
        rdx: 0,
        rbx: 0,
        rsp: 0,
        rbp: 0,
        rsi: 0,
        rdi: 0,
        r8: 0,
        r9: 0,
        r10: 0,
        r11: 0,
        r12: 0,
        r13: 0,
        r14: 0,
        r15: 0,
        rip: 0,
    };
}

/// Offset of the 64-bit entry point from a bzImage's protected-mode kernel
/// load address (the 64-bit boot protocol).
pub const KERNEL_ENTRY64_OFFSET: u64 = 0x200;

/// The one section whose code may use SIMD instructions: it runs only while
/// the purgatory has SSE switched on.
pub const SIMD_SECTION: &str = ".text.simd";

/// GDT selector of the flat 64-bit code segment at hand-off (`__BOOT_CS`).
pub const BOOT_CS: u16 = 0x10;
/// GDT selector of the flat data segment at hand-off (`__BOOT_DS`), loaded
/// into DS, ES, SS, FS and GS.
pub const BOOT_DS: u16 = 0x18;

/// A symbol a loader reads or writes, and the `st_size` it must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatchedSymbol {
    /// Name in `.symtab`.
    pub name: &'static str,
    /// Exact `st_size`; a loader refuses any other.
    pub size: u64,
}

/// Every symbol a loader patches: Linux's three, then this purgatory's
/// options. Each must be global, in a PROGBITS section and inside the
/// file-backed part of the segment.
pub const PATCHED_SYMBOLS: [PatchedSymbol; 6] = [
    PatchedSymbol {
        name: SHA_REGIONS_SYMBOL,
        size: size_of::<ShaRegions>() as u64,
    },
    PatchedSymbol {
        name: SHA256_DIGEST_SYMBOL,
        size: size_of::<Sha256Digest>() as u64,
    },
    PatchedSymbol {
        name: ENTRY64_REGS_SYMBOL,
        size: size_of::<Entry64Regs>() as u64,
    },
    PatchedSymbol {
        name: FLAGS_SYMBOL,
        size: size_of::<u64>() as u64,
    },
    PatchedSymbol {
        name: CONSOLE_PORT_SYMBOL,
        size: size_of::<u16>() as u64,
    },
    PatchedSymbol {
        name: SEGMENT_DIGESTS_SYMBOL,
        size: size_of::<SegmentDigests>() as u64,
    },
];

// The sizes and offsets Linux's loader and `entry64.S` use.
const _: () = assert!(size_of::<ShaRegion>() == 16);
const _: () = assert!(offset_of!(ShaRegion, len) == 0x08);
const _: () = assert!(size_of::<ShaRegions>() == 256);
const _: () = assert!(size_of::<Sha256Digest>() == 32);
const _: () = assert!(size_of::<Entry64Regs>() == 136);
const _: () = assert!(size_of::<Entry64Regs>() == ENTRY64_REG_COUNT * 8);
const _: () = assert!(offset_of!(Entry64Regs, rbx) == 0x18);
const _: () = assert!(offset_of!(Entry64Regs, rsp) == 0x20);
const _: () = assert!(offset_of!(Entry64Regs, rsi) == 0x30);
const _: () = assert!(offset_of!(Entry64Regs, r8) == 0x40);
const _: () = assert!(offset_of!(Entry64Regs, r15) == 0x78);
const _: () = assert!(offset_of!(Entry64Regs, rip) == 0x80);

// This purgatory's additions.
const _: () = assert!(size_of::<SegmentDigests>() == 512);
const _: () = assert!(MAX_CONSOLE_PORT == 0xfff8);
const _: () = assert!(FLAG_RESET_ON_FAILURE & FLAG_SOFTWARE_SHA256 == 0);
