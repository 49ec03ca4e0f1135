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
use purgatory_abi::{
    CONSOLE_OFF, Entry64Regs, NO_SEGMENT_DIGEST, SHA_REGION_COUNT, SegmentDigests, Sha256Digest,
    ShaRegion, ShaRegions,
};

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

    /// The value the loader left. Nothing in the program writes the static,
    /// so the compiler could fold in the zeros the image was built with; the
    /// pointer goes through an empty `asm!` that, as far as the compiler
    /// knows, may write through it or replace it. (A volatile read would do
    /// too, but LLVM splits a volatile copy of a byte array into one load and
    /// store per byte: kilobytes of code for the segment digests.)
    pub fn read(&self) -> T {
        let mut value = self.0.get();
        // SAFETY: the template is empty: it reads and writes nothing, and
        // leaves the pointer as it was.
        unsafe {
            core::arch::asm!(
                "/* {value} */",
                value = inout(reg) value,
                options(nostack, preserves_flags),
            );
        }
        // SAFETY: `value` still points to the live static, aligned for `T`,
        // and nothing writes it while the purgatory runs.
        unsafe { value.read() }
    }
}

/// Defines a loader-patched static in `.data.patched` and exports it under its
/// own name, a global object with its exact size: rustc would reach a
/// `#[no_mangle]` static through a GOT slot, a relocation.
macro_rules! patched {
    ($(#[$doc:meta])* $name:ident: $ty:ty = $init:expr;) => {
        $(#[$doc])*
        #[unsafe(link_section = ".data.patched")]
        pub static $name: Patched<$ty> = Patched::new($init);

        core::arch::global_asm!(
            concat!(".globl ", stringify!($name)),
            concat!(".set ", stringify!($name), ", {value}"),
            concat!(".type ", stringify!($name), ", @object"),
            concat!(".size ", stringify!($name), ", {size}"),
            value = sym $name,
            size = const core::mem::size_of::<$ty>(),
        );
    };
}

patched! {
    /// Linux's region table: what to hash, in order.
    purgatory_sha_regions: ShaRegions = [ShaRegion { start: 0, len: 0 }; SHA_REGION_COUNT];
}

patched! {
    /// Linux's expected SHA-256 of all regions.
    purgatory_sha256_digest: Sha256Digest = [0; 32];
}

patched! {
    /// Linux's registers for the next kernel.
    entry64_regs: Entry64Regs = Entry64Regs::ZERO;
}

patched! {
    /// `purgatory_abi::FLAG_*` options.
    purgatory_flags: u64 = 0;
}

patched! {
    /// The 16550 UART's I/O port, or `CONSOLE_OFF`.
    purgatory_console_port: u16 = CONSOLE_OFF;
}

patched! {
    /// Each region's own expected SHA-256, where the loader gave one.
    purgatory_segment_digests: SegmentDigests = [NO_SEGMENT_DIGEST; SHA_REGION_COUNT];
}
