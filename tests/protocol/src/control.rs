//! CR0 and CR4 across a kexec: what Linux hands the purgatory, which the
//! purgatory must pass on to the next image unchanged (its SHA-NI path turns
//! SSE on and must put both registers back exactly).
//!
//! `identity_mapped` in Linux's `arch/x86/kernel/relocate_kernel_64.S` clears
//! CR0.AM, WP, TS and EM, sets PG and PE and keeps the rest of the running
//! kernel's CR0; it sets CR4 to PAE, plus LA57 when the kernel used 5-level
//! paging (plus MCE in TDX guests, which may not clear it).

/// CR0 bits (Intel SDM vol. 3A, 2.5).
pub const CR0_PE: u64 = 1 << 0;
/// Monitor coprocessor.
pub const CR0_MP: u64 = 1 << 1;
/// x87 emulation: SSE instructions raise #UD while set.
pub const CR0_EM: u64 = 1 << 2;
/// Task switched: SSE instructions raise #NM while set.
pub const CR0_TS: u64 = 1 << 3;
/// Extension type (hardwired to 1).
pub const CR0_ET: u64 = 1 << 4;
/// Native x87 error reporting.
pub const CR0_NE: u64 = 1 << 5;
/// Write protect.
pub const CR0_WP: u64 = 1 << 16;
/// Alignment mask.
pub const CR0_AM: u64 = 1 << 18;
/// Not write-through.
pub const CR0_NW: u64 = 1 << 29;
/// Cache disable.
pub const CR0_CD: u64 = 1 << 30;
/// Paging.
pub const CR0_PG: u64 = 1 << 31;

/// CR4 bits (Intel SDM vol. 3A, 2.5).
pub const CR4_PAE: u64 = 1 << 5;
/// Machine-check enable.
pub const CR4_MCE: u64 = 1 << 6;
/// OS supports FXSAVE/FXRSTOR: SSE instructions raise #UD while clear.
pub const CR4_OSFXSR: u64 = 1 << 9;
/// OS handles unmasked SIMD floating-point exceptions.
pub const CR4_OSXMMEXCPT: u64 = 1 << 10;
/// 5-level paging.
pub const CR4_LA57: u64 = 1 << 12;

/// The bits the purgatory's SHA-NI path sets in CR4 and must clear again.
pub const CR4_SSE_BITS: u64 = CR4_OSFXSR | CR4_OSXMMEXCPT;

/// The CR0 Linux's kexec derives from the running kernel's.
pub const fn kexec_cr0(running: u64) -> u64 {
    (running & !(CR0_AM | CR0_WP | CR0_TS | CR0_EM)) | CR0_PG | CR0_PE
}

/// The CR4 Linux's kexec derives from the running kernel's (MCE, kept in TDX
/// guests only, is outside [`CR4_KNOWN`]).
pub const fn kexec_cr4(running: u64) -> u64 {
    running & (CR4_PAE | CR4_LA57)
}

/// The CR0 bits a user-space loader knows without reading CR0: x86_64 Linux
/// always runs with PE, MP and PG set (`CR0_STATE` in `head_64.S`), and the
/// kexec clears EM, TS, WP and AM. ET, NE, CD and NW stay the running kernel's.
pub const CR0_KNOWN: u64 = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_WP | CR0_AM | CR0_PG;

/// Their values.
pub const LOADER_CR0: u64 = CR0_PE | CR0_MP | CR0_PG;

/// Every CR4 bit but MCE: the kexec sets CR4 to a known value.
pub const CR4_KNOWN: u64 = !CR4_MCE;

/// CR4 as the kexec leaves it, for a kernel with or without 5-level paging.
pub const fn loader_cr4(five_level: bool) -> u64 {
    if five_level {
        CR4_PAE | CR4_LA57
    } else {
        CR4_PAE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values seen under QEMU TCG `-cpu max` with Debian's 6.12 kernel.
    #[test]
    fn linux_values_map_to_the_loaders_model() {
        let running_cr0 = 0x8005_0033;
        let running_cr4 = 0x0037_16f0 | CR4_LA57;
        let cr0 = kexec_cr0(running_cr0);
        let cr4 = kexec_cr4(running_cr4);
        assert_eq!(cr0, 0x8000_0033);
        assert_eq!(cr4, CR4_PAE | CR4_LA57);
        assert_eq!(cr0 & CR0_KNOWN, LOADER_CR0);
        assert_eq!(cr4 & CR4_KNOWN, loader_cr4(true));
        assert_eq!(cr4 & CR4_SSE_BITS, 0);
    }

    #[test]
    fn the_kexec_clears_what_would_let_sse_fault() {
        let cr0 = kexec_cr0(CR0_TS | CR0_EM | CR0_MP | CR0_NE | CR0_ET);
        assert_eq!(cr0 & (CR0_TS | CR0_EM), 0);
        assert_eq!(cr0 & CR0_MP, CR0_MP);
        assert_eq!(kexec_cr4(CR4_SSE_BITS | CR4_PAE), CR4_PAE);
    }
}
