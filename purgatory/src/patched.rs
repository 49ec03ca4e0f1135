//! The data a loader writes into the image before the purgatory runs.
//!
//! Each static is exported under the name in `purgatory_abi` and placed in a
//! `.data.` section: left to itself the compiler would put an all-zero static in
//! `.bss`, which has no bytes in the file and which loaders refuse to patch.
#![allow(
    non_upper_case_globals,
    reason = "the names are Linux's symbol contract"
)]

use core::cell::UnsafeCell;
use purgatory_abi::{Entry64Regs, SHA_REGION_COUNT, Sha256Digest, ShaRegion, ShaRegions};

/// A value written from outside the program, after linking.
#[repr(transparent)]
pub struct Patched<T>(UnsafeCell<T>);

// SAFETY: the purgatory runs on one CPU with interrupts off, so nothing ever
// accesses a patched value concurrently.
unsafe impl<T> Sync for Patched<T> {}

impl<T: Copy> Patched<T> {
    const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    /// The value the loader left. The read is volatile so that the compiler
    /// cannot fold in the zeros the image was built with.
    pub fn read(&self) -> T {
        // SAFETY: the pointer comes from a live static, is aligned for `T`,
        // and nothing writes it while the purgatory runs.
        unsafe { self.0.get().read_volatile() }
    }
}

#[unsafe(link_section = ".data.patched")]
pub static purgatory_sha_regions: Patched<ShaRegions> =
    Patched::new([ShaRegion { start: 0, len: 0 }; SHA_REGION_COUNT]);

#[unsafe(link_section = ".data.patched")]
pub static purgatory_sha256_digest: Patched<Sha256Digest> = Patched::new([0; 32]);

#[unsafe(link_section = ".data.patched")]
pub static entry64_regs: Patched<Entry64Regs> = Patched::new(Entry64Regs::ZERO);

#[unsafe(link_section = ".data.patched")]
pub static purgatory_flags: Patched<u64> = Patched::new(0);

core::arch::global_asm!(
    ".globl purgatory_sha_regions",
    ".set purgatory_sha_regions, {regions}",
    ".type purgatory_sha_regions, @object",
    ".size purgatory_sha_regions, {regions_size}",
    ".globl purgatory_sha256_digest",
    ".set purgatory_sha256_digest, {digest}",
    ".type purgatory_sha256_digest, @object",
    ".size purgatory_sha256_digest, {digest_size}",
    ".globl entry64_regs",
    ".set entry64_regs, {regs}",
    ".type entry64_regs, @object",
    ".size entry64_regs, {regs_size}",
    ".globl purgatory_flags",
    ".set purgatory_flags, {flags}",
    ".type purgatory_flags, @object",
    ".size purgatory_flags, {flags_size}",
    regions = sym purgatory_sha_regions,
    regions_size = const core::mem::size_of::<ShaRegions>(),
    digest = sym purgatory_sha256_digest,
    digest_size = const core::mem::size_of::<Sha256Digest>(),
    regs = sym entry64_regs,
    regs_size = const core::mem::size_of::<Entry64Regs>(),
    flags = sym purgatory_flags,
    flags_size = const core::mem::size_of::<u64>(),
);
