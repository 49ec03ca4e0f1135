//! The e2e protocol: what the suite (`cargo xtask e2e`), its guests (the
//! `/init` programs and the register probe) and the loader's test payloads
//! (`kexec-load` built with its `e2e` feature) agree on, declared once.
//!
//! * The **expectation page**: the loader points RSI at a page holding
//!   [`Expectation`] (a magic, the `entry64_regs` it wrote into the purgatory,
//!   where the purgatory lies, the CR0/CR4 the kexec hands over, the
//!   `purgatory_flags` it set and where the digest is), so the probe can compare
//!   every register with what was asked rather than with values baked into it.
//! * What the hand-off must show ([`control`], [`tables`], [`trace`]): which
//!   CR0/CR4 and IDT Linux's kexec leaves for the purgatory, and the trace the SHA-NI path
//!   leaves in the XMM registers (which path must run is
//!   `purgatory_abi::HashPath`'s rule).
//! * The **guest protocol**: the markers the guests print on the serial port
//!   and the `isa-debug-exit` values they exit QEMU with.
//! * The **filler pattern** of the large-initrd scenario, so that the second
//!   kernel's `/init` can check every byte the suite wrote.
//! * What the `/init`s of a KHO run report ([`kho`]).
//! * The **kdump** scenarios' parameters and report lines ([`kdump`]).
#![no_std]
#![warn(missing_docs)]

pub mod control;
pub mod kdump;
pub mod kho;
pub mod tables;
pub mod trace;

use core::mem::{offset_of, size_of};
use purgatory_abi::{ENTRY64_REG_COUNT, Entry64Regs};

/// First word of the expectation page: "KXPROBE3" in memory order (2: the
/// page grew the control-register and hash-path fields; 3: the IDT).
pub const EXPECTATION_MAGIC: u64 = u64::from_le_bytes(*b"KXPROBE3");

/// The page RSI points at when the probe is entered.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// [`EXPECTATION_MAGIC`].
    pub magic: u64, // 0x00
    /// Exactly what the loader wrote to `entry64_regs`.
    pub regs: Entry64Regs, // 0x08
    /// Physical address of the purgatory image: the GDT it loads must be
    /// inside `purgatory_start..purgatory_end`.
    pub purgatory_start: u64, // 0x90
    /// End of the purgatory image (`start + p_memsz`).
    pub purgatory_end: u64, // 0x98
    /// CR0 as the kexec hands it to the purgatory, in the bits of `cr0_mask`:
    /// the purgatory must pass it on unchanged (see [`control`]).
    pub cr0: u64, // 0xa0
    /// The CR0 bits the loader knows.
    pub cr0_mask: u64, // 0xa8
    /// CR4 likewise.
    pub cr4: u64, // 0xb0
    /// The CR4 bits the loader knows.
    pub cr4_mask: u64, // 0xb8
    /// The `purgatory_flags` the loader wrote: with the CPU's CPUID they
    /// decide which hash path the purgatory must take.
    pub purgatory_flags: u64, // 0xc0
    /// Offset of `purgatory_sha256_digest` in the purgatory image. The digest
    /// covers this page, so the page cannot hold it; the probe reads it there.
    pub digest_offset: u64, // 0xc8
    /// The IDT the kexec left, which the purgatory must load again before
    /// the hand-off: [`tables::IDT_NULL`] or [`tables::IDT_KEXEC_OWN`]
    /// (see [`tables::kexec_idt`]).
    pub idt: u64, // 0xd0
}

/// Bytes of the expectation block at the start of the page.
pub const EXPECTATION_SIZE: usize = size_of::<Expectation>();

const _: () = assert!(offset_of!(Expectation, regs) == 0x08);
const _: () = assert!(offset_of!(Expectation, purgatory_start) == 0x90);
const _: () = assert!(offset_of!(Expectation, cr0) == 0xa0);
const _: () = assert!(offset_of!(Expectation, digest_offset) == 0xc8);
const _: () = assert!(offset_of!(Expectation, idt) == 0xd0);
const _: () = assert!(EXPECTATION_SIZE == 0xd8);

impl Expectation {
    /// The little-endian bytes the loader puts at the start of the page.
    pub fn to_bytes(&self) -> [u8; EXPECTATION_SIZE] {
        let mut out = [0u8; EXPECTATION_SIZE];
        let words = [self.magic].into_iter().chain(self.regs.to_array()).chain([
            self.purgatory_start,
            self.purgatory_end,
            self.cr0,
            self.cr0_mask,
            self.cr4,
            self.cr4_mask,
            self.purgatory_flags,
            self.digest_offset,
            self.idt,
        ]);
        for (chunk, word) in out.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }
}

/// Register values no code path produces by accident, one per register, so
/// that a register loaded from the wrong slot, or left alone, is caught. RBX,
/// RSI, RSP and RIP are overwritten by the loader (the boot protocol's values).
pub const fn distinctive_regs() -> Entry64Regs {
    let mut regs = [0u64; ENTRY64_REG_COUNT];
    let mut i = 0;
    while i < ENTRY64_REG_COUNT {
        // 0xE64E_<index>_<index repeated>: distinct per register, never a
        // plausible address or small integer, and readable in a log.
        let n = i as u64 + 1;
        regs[i] = 0xE64E_0000_0000_0000 | (n << 40) | (n * 0x0101_0101);
        i += 1;
    }
    Entry64Regs::from_array(regs)
}

/// Three-letter names of the [`Entry64Regs`] fields, in memory order, packed
/// into one string: a table of `&str` would need load-time relocations in the
/// position-independent probe.
pub const REG_NAMES: &str = "raxrcxrdxrbxrsprbprsirdir8 r9 r10r11r12r13r14r15rip";

/// The name of field `index` of [`Entry64Regs`], or `"???"`.
pub fn reg_name(index: usize) -> &'static str {
    let start = index.saturating_mul(3);
    let Some(name) = REG_NAMES.get(start..start.saturating_add(3)) else {
        return "???";
    };
    // Not `str::trim_end`: it reaches core's Unicode tables through a GOT
    // slot, a relocation the probe cannot have.
    match name.strip_suffix(' ') {
        Some(short) => short,
        None => name,
    }
}

/// Markers and exit codes the guests report with.
pub mod protocol {
    /// `isa-debug-exit` value for success; QEMU exits with `(v << 1) | 1` = 33.
    pub const EXIT_PASS: u8 = 0x10;
    /// `isa-debug-exit` value for failure; QEMU exits with 35.
    pub const EXIT_FAIL: u8 = 0x11;
    /// The QEMU exit status that [`EXIT_PASS`] gives.
    pub const QEMU_STATUS_PASS: i32 = ((EXIT_PASS as i32) << 1) | 1;
    /// The QEMU exit status that [`EXIT_FAIL`] gives.
    pub const QEMU_STATUS_FAIL: i32 = ((EXIT_FAIL as i32) << 1) | 1;
    /// The I/O port of `-device isa-debug-exit,iobase=0xf4`.
    pub const DEBUG_EXIT_PORT: u16 = 0xf4;

    /// The probe's verdict lines start with these.
    pub const PROBE_PASS: &str = "PROBE-PASS";
    /// See [`PROBE_PASS`].
    pub const PROBE_FAIL: &str = "PROBE-FAIL";
    /// `PROBE-CR: cr0=0x… cr4=0x…`: the control registers at the probe's entry.
    pub const PROBE_CR: &str = "PROBE-CR:";
    /// `PROBE-CPU: sha_ni present|absent`: CPUID.7.0:EBX.SHA as the probe saw it.
    pub const PROBE_CPU: &str = "PROBE-CPU:";
    /// `PROBE-PATH: sha-ni|software`: the hash path the XMM registers show.
    pub const PROBE_PATH: &str = "PROBE-PATH:";
    /// `PROBE-GDT: base=0x… limit=0x…`: the GDTR at the probe's entry.
    pub const PROBE_GDT: &str = "PROBE-GDT:";
    /// `PROBE-IDT: base=0x… limit=0x…`: the IDTR at the probe's entry.
    pub const PROBE_IDT: &str = "PROBE-IDT:";
    /// The e2e `/init`'s verdict lines start with these.
    pub const INIT_PASS: &str = "E2E-PASS";
    /// See [`INIT_PASS`].
    pub const INIT_FAIL: &str = "E2E-FAIL";
    /// Printed by the second kernel's `/init`, followed by ` marker=<token>`.
    pub const STAGE2: &str = "E2E-STAGE2";
    /// Printed by the second `/init` after checking the large initrd's file.
    pub const BIG_OK: &str = "E2E-BIG-OK";

    /// Kernel command-line parameter: `1` or `2`.
    pub const PARAM_STAGE: &str = "e2e.stage";
    /// Kernel command-line parameter: a token the second `/init` echoes.
    pub const PARAM_MARKER: &str = "e2e.marker";
    /// Kernel command-line parameter: `<bytes>:<seed>` of `/big.bin`.
    pub const PARAM_BIG: &str = "e2e.big";
    /// Path of the large file in the large-initrd scenario's initramfs.
    pub const BIG_FILE: &str = "big.bin";
    /// File in the stage-1 initramfs: the kexec-load arguments, one per line.
    pub const ARGS_FILE: &str = "e2e/kexec-args";

    /// Kernel command-line parameter (`1`): the second `/init` reports what
    /// the kernel inherited through its boot parameters (a UEFI run), in the
    /// lines below; the suite judges them.
    pub const PARAM_UEFI: &str = "e2e.uefi";
    /// Where a UEFI run's stage-2 image has efivarfs, a module in Debian's
    /// kernel (loaded compressed, as `finit_module` can).
    pub const EFIVARFS_MODULE: &str = "lib/efivarfs.ko.xz";
    /// `E2E-EFI: variable <name>: attributes 0x…, N bytes: <text> (M variables)`
    /// (read through efivarfs: the runtime services work), `E2E-EFI: absent`
    /// (no `/sys/firmware/efi`), or `E2E-EFI: broken: <why>`.
    pub const EFI_LINE: &str = "E2E-EFI:";
    /// `E2E-ACPI: tables APIC DSDT FACP …` (`/sys/firmware/acpi/tables`), or
    /// `E2E-ACPI: none: <why>`.
    pub const ACPI_LINE: &str = "E2E-ACPI:";
    /// `E2E-SETUP-DATA: 0x4/96 0x9/0`: each `setup_data` node the kernel was
    /// given, as type/length (it zeroes the length of the RNG seed it took).
    pub const SETUP_DATA_LINE: &str = "E2E-SETUP-DATA:";

    /// The value of `key` among the `key=value` words of `text`: a kernel
    /// command line, or a guest's report line.
    pub fn value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
        text.split_whitespace()
            .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
    }
}

/// The filler of the large-initrd scenario: a splitmix64 stream from `seed`,
/// eight little-endian bytes per step. Cheap enough to regenerate under TCG.
#[derive(Clone, Debug)]
pub struct Pattern {
    state: u64,
}

impl Pattern {
    /// The stream for `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next eight bytes.
    pub fn next_word(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fills `buf` (a multiple of 8 bytes continues the stream exactly).
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_word().to_le_bytes();
            chunk.copy_from_slice(word.get(..chunk.len()).unwrap_or(&word));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinctive_values_are_pairwise_distinct_and_nonzero() {
        let regs = distinctive_regs().to_array();
        for (i, a) in regs.iter().enumerate() {
            assert_ne!(*a, 0);
            for b in regs.get(i + 1..).unwrap_or_default() {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn names_follow_the_field_order() {
        assert_eq!(reg_name(0), "rax");
        assert_eq!(reg_name(3), "rbx");
        assert_eq!(reg_name(8), "r8");
        assert_eq!(reg_name(15), "r15");
        assert_eq!(reg_name(16), "rip");
        assert_eq!(reg_name(17), "???");
    }

    #[test]
    fn bytes_are_little_endian_in_field_order() {
        let e = Expectation {
            magic: EXPECTATION_MAGIC,
            regs: distinctive_regs(),
            purgatory_start: 0x1000,
            purgatory_end: 0x9000,
            cr0: control::LOADER_CR0,
            cr0_mask: control::CR0_KNOWN,
            cr4: control::loader_cr4(true),
            cr4_mask: control::CR4_KNOWN,
            purgatory_flags: 1,
            digest_offset: 0x4a0,
            idt: tables::IDT_KEXEC_OWN,
        };
        let bytes = e.to_bytes();
        assert_eq!(&bytes[..8], b"KXPROBE3");
        assert_eq!(bytes[0x08..0x10], distinctive_regs().rax.to_le_bytes());
        assert_eq!(bytes[0x88..0x90], distinctive_regs().rip.to_le_bytes());
        assert_eq!(bytes[0x90..0x98], 0x1000u64.to_le_bytes());
        assert_eq!(bytes[0x98..0xa0], 0x9000u64.to_le_bytes());
        assert_eq!(bytes[0xa0..0xa8], control::LOADER_CR0.to_le_bytes());
        assert_eq!(bytes[0xb8..0xc0], control::CR4_KNOWN.to_le_bytes());
        assert_eq!(bytes[0xc0..0xc8], 1u64.to_le_bytes());
        assert_eq!(bytes[0xc8..0xd0], 0x4a0u64.to_le_bytes());
        assert_eq!(bytes[0xd0..0xd8], tables::IDT_KEXEC_OWN.to_le_bytes());
    }

    #[test]
    fn pattern_fill_continues_the_stream() {
        let mut whole = [0u8; 32];
        Pattern::new(7).fill(&mut whole);
        let mut p = Pattern::new(7);
        let mut a = [0u8; 16];
        let mut b = [0u8; 16];
        p.fill(&mut a);
        p.fill(&mut b);
        assert_eq!(&whole[..16], &a);
        assert_eq!(&whole[16..], &b);
    }

    #[test]
    fn values_match_whole_keys() {
        use protocol::value;
        let cmdline = "console=ttyS0 e2e.stage=2 e2e.marker=a-b e2e.big=64:7 e2e.stagex=9\n";
        assert_eq!(value(cmdline, "e2e.stage"), Some("2"));
        assert_eq!(value(cmdline, "e2e.marker"), Some("a-b"));
        assert_eq!(value(cmdline, "e2e.big"), Some("64:7"));
        assert_eq!(value(cmdline, "e2e.missing"), None);
        assert_eq!(value("e2e.stagex=9", "e2e.stage"), None);
        let line = "E2E-VMCORE: addr=0x1000 marker=ab prstatus=2";
        assert_eq!(value(line, kdump::KEY_PRSTATUS), Some("2"));
        assert_eq!(value(line, "mark"), None);
    }

    #[test]
    fn exit_statuses() {
        assert_eq!(protocol::QEMU_STATUS_PASS, 33);
        assert_eq!(protocol::QEMU_STATUS_FAIL, 35);
    }
}
