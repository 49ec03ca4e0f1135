//! The scenarios, as data: what each boots, what it is about, and on which
//! QEMU variants it runs. Each variant a scenario lists is its own run, named
//! `<scenario>@<variant>`, with its own log.
//!
//! QEMU 7.2 runs the core (a real kernel, one probe, the refusal, the page
//! fault, the large initrd) on the software path; QEMU 10 runs everything on
//! the SHA-NI path, plus the forced software path on a CPU that has SHA-NI,
//! the NMIs and the purgatory above 2^47 (QEMU 7.2 passes that one too, by
//! hand; what it proves does not depend on the hash path, so it runs once). (Timing the large
//! initrd both ways on QEMU 10 showed SHA-NI ahead by only ~0.6 s of ~3 s
//! under TCG, less than the run-to-run noise: the probe's XMM check, not the
//! clock, is what shows the path.) The `kexec-file-*` scenarios run on QEMU 10
//! only: the kernels are tiny and the suite's time counts; its `-cpu max` has
//! SHA-NI, so our purgatory, which Linux loads with `purgatory_flags` as
//! shipped, takes its default path with Linux's hand-off state. A crash
//! kernel is read back from its dump on both paths, below and above 4 GiB;
//! its refusals, like the others beyond the core, run on QEMU 10.
//!
//! The `uefi-*` scenarios boot the first kernel through OVMF instead of
//! SeaBIOS. An OVMF boot under TCG takes longer, so they are few: the full
//! hand-over on both paths with the purgatory above 4 GiB, a random and a
//! `--noefi` placement low in OVMF's fragmented map on QEMU 10, Linux's own
//! `kexec_file_load` through our purgatory, the lockdown refusal, and the
//! probe's hand-off state.
//!
//! The kernel matrix runs `kexec-load` between Debian's stock kernels (see
//! [`Series`]): the first kernel's `kexec_load` and page tables, the second's
//! entry. 6.12 to 6.12 is `kernel-to-kernel`; 7.3 as the first kernel loads
//! each series (x86's `relocate_kernel`, which hands over to the purgatory,
//! was reworked in 6.15: its own GDT and IDT, CR4 handled anew), and
//! 6.12 loads the oldest and the newest, so every series is a first or a
//! second kernel with each other one somewhere. They run on QEMU 10, the SHA-NI
//! path a modern CPU takes, and 7.3 to 7.3 on QEMU 7.2 too, for the software
//! path under the newest first kernel; the register probe checks the hand-off
//! under a 7.3 first kernel, above 4 GiB, where the first kernel's identity map
//! must reach. The `kho-*` runs are KHO kexecs by the patched 7.3's own
//! `kexec_file_load`, which upstream leaves unverified ([`Kho`]).

use super::stock::Series::{self, Linux6_1, Linux6_12, Linux7_3};
use crate::e2e::harness::variant::Variant;
use purgatory_abi::FailurePolicy;

/// One scenario; each variant it lists is its own QEMU run with its own log.
#[derive(Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    pub kind: Kind,
    pub variants: &'static [Variant],
    /// What boots the first kernel.
    pub firmware: Firmware,
}

/// The first kernel's firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// QEMU's own SeaBIOS.
    Bios,
    /// OVMF in flash: the first kernel boots through UEFI.
    Uefi,
}

/// What a scenario does, and so how it is booted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `kexec-load`, this workspace's loader, loads the image in the guest.
    KexecLoad(Load),
    /// Linux's own `kexec_file_load` in the patched kernels of `cargo xtask
    /// kernel` loads a purgatory.
    KexecFile(KexecFile),
    /// A crash kernel is loaded, the first kernel crashes, and the capture
    /// kernel reads its dump.
    Kdump(Kdump),
    /// `kexec-load` from one of Debian's stock kernels into another, or into
    /// the register probe.
    Matrix(Matrix),
    /// A KHO kexec by the patched 7.3's `kexec_file_load`.
    Kho(Kho),
}

/// A kdump run: who loads the crash kernel, where the first kernel reserves
/// memory for it (`crashkernel=`), and what the purgatory does on the panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kdump {
    pub loader: CrashLoader,
    /// The Debian kernel that crashes and captures (`kexec-load` runs only).
    pub kernel: Series,
    pub reservation: Reservation,
    /// `None`: it starts the capture kernel, which reads the dump; a
    /// refusal: the kernel segment is flipped after the digest.
    pub refusal: Option<Refusal>,
}

/// Who loads the crash kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashLoader {
    /// `kexec-load -p`, in the Debian kernel.
    KexecLoad,
    /// `kexec_file_load(KEXEC_FILE_ON_CRASH)` in the patched kernel that
    /// embeds our purgatory (`cargo xtask kernel`).
    KexecFile,
}

/// The first kernel's `crashkernel=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// `crashkernel=256M` on 2 GiB: below 4 GiB.
    Below4G,
    /// `crashkernel=256M,high` on 6 GiB: above 4 GiB, with 256 MiB more
    /// below for the capture kernel's DMA.
    Above4G,
}

/// A run of the kernel matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matrix {
    /// The kernel QEMU boots, which runs `kexec-load`.
    pub first: Series,
    pub next: Next,
}

/// What the first kernel of the matrix loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// A second kernel, verified, which must boot and be this series.
    Kernel(Series),
    /// The register probe, with the purgatory placed so.
    Probe(Placement),
}

/// A KHO kexec (`kho=on`, upstream's `test_kho` preserving state in the first
/// kernel and restoring it in the second), which 7.3 leaves unverified unless
/// `kexec_file.verify=always` (patch 0006) keeps the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kho {
    /// `kexec_file.verify=always`; else the default, `auto`.
    pub always: bool,
    pub purgatory: Watched,
}

/// Which of our purgatories runs, and so what it can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watched {
    /// The one the `embedded` kernel carries: silent under Linux's loader,
    /// which never sets its console.
    Embedded,
    /// A copy with its console on COM1, read by the `builtin` kernel from
    /// `kexec_file.purgatory=`: it says how many segments it verifies.
    Console,
}

/// What `kexec-load` loads, and so which judge decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// A second kernel, which must boot.
    Boot(Boot),
    /// A kernel with a byte flipped after the digest: the purgatory must
    /// refuse the image.
    Refusal(Refusal),
    /// The register probe, which checks the hand-off.
    Probe {
        placement: Placement,
        /// `kexec-load --software-sha256`.
        software_sha256: bool,
    },
    /// A kernel with [`UNMAPPED_REGION`] added to the region table after the
    /// digest: the purgatory must report the page fault and apply the policy.
    Fault(FailurePolicy),
    /// Under UEFI, a second kernel that must also show what it inherited:
    /// EFI runtime services (none with `--noefi`), ACPI from the RSDP
    /// passed, the RNG seed taken.
    Handover { placement: Placement, noefi: bool },
    /// `lockdown=integrity` on the first kernel: `kexec-load` refuses before
    /// trying, naming what works, with its own exit status.
    LockedDown,
}

/// Where `--test-region` points the purgatory, and how much: 64 GiB, far
/// above the fault runs' 2 GiB of RAM, so that the kexec's identity map
/// (which covers RAM, in 1 GiB pages at most) does not reach it.
pub const UNMAPPED_REGION: (u64, u64) = (1 << 36, 0x1000);

/// How the second kernel is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boot {
    Verified,
    /// `--no-verify`: an empty region table.
    NoVerify,
    /// An initrd of [`BIG_FILE_LEN`] or more, checked byte for byte.
    LargeInitrd,
}

/// At least this much initrd for [`Boot::LargeInitrd`].
pub const BIG_FILE_LEN: u64 = 64 << 20;

/// How the purgatory refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It names the segment on its console and halts.
    Halt,
    /// `--on-failure reset`: it says so and resets.
    Reset,
    /// `--no-console`: it halts without a word, as Linux's.
    Silent,
    /// As [`Refusal::Halt`], then NMIs through QEMU's monitor: each must
    /// return to the halt loop, and the machine must not reset.
    HaltThenNmi,
}

/// Where `kexec-load` puts the purgatory for the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Low,
    Below4G,
    Above4G,
    /// The top of RAM, in memory plugged in at [`HIGH_MEMORY`] for the run
    /// (see `launch::high_memory`).
    Above128T,
    Random,
}

/// Where [`Placement::Above128T`]'s memory starts: 2^47 (128 TiB), the
/// first address 4-level paging cannot map, where a purgatory whose table
/// pointers lose bit 47 (sign-extended) resets the machine.
pub const HIGH_MEMORY: u64 = 1 << 47;

/// What a patched kernel loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KexecFile {
    /// Our purgatory, embedded; 2 GiB, so it lands below 4 GiB.
    Embedded,
    /// Our purgatory, embedded; 6 GiB, so top-down placement puts it above 4 GiB.
    EmbeddedAbove4G,
    /// The C-purgatory kernel reads ours from a file.
    FromFile,
    /// The C purgatory, through the patched loader's ET_REL path.
    CPurgatory,
    /// A file purgatory with a second program header: refused.
    TwoProgramHeaders,
    /// A file purgatory whose `entry64_regs` is 128 bytes (the RFC layout): refused.
    RegsSize,
}

impl Scenario {
    /// Whether it boots the patched kernels of `cargo xtask kernel`.
    pub fn needs_patched_kernels(&self) -> bool {
        matches!(
            self.kind,
            Kind::KexecFile(_)
                | Kind::Kho(_)
                | Kind::Kdump(Kdump {
                    loader: CrashLoader::KexecFile,
                    ..
                })
        )
    }

    /// The stock kernels it boots besides the default one.
    pub fn stock_kernels(&self) -> Vec<Series> {
        match self.kind {
            Kind::Matrix(Matrix {
                first,
                next: Next::Kernel(second),
            }) => vec![first, second],
            Kind::Matrix(Matrix { first, .. }) => vec![first],
            Kind::Kdump(Kdump {
                loader: CrashLoader::KexecLoad,
                kernel,
                ..
            }) => vec![kernel],
            _ => Vec::new(),
        }
    }

    /// The run's name: `<scenario>@<variant>`.
    pub fn run_name(&self, variant: Variant) -> String {
        format!("{}@{}", self.name, variant.name())
    }
}

const BOTH: &[Variant] = &[Variant::Qemu7, Variant::Qemu10];
const QEMU10: &[Variant] = &[Variant::Qemu10];

/// Every scenario, in the order the suite runs them on each variant.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "kernel-to-kernel",
        about: "a real kernel kexecs a real kernel; the second /init reports the marker from its command line",
        kind: boot(Boot::Verified),
        variants: BOTH,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "probe-low",
        about: "register probe; purgatory in the lowest free RAM",
        kind: probe(Placement::Low),
        variants: BOTH,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "probe-below-4g",
        about: "register probe; purgatory in the highest RAM below 4 GiB",
        kind: probe(Placement::Below4G),
        variants: QEMU10,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "probe-above-4g",
        about: "register probe; purgatory at the top of RAM, above 4 GiB",
        kind: probe(Placement::Above4G),
        variants: QEMU10,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "probe-above-128t",
        about: "register probe; purgatory in memory plugged in at 2^47 (5-level paging), its GDT and IDT pointers whole",
        kind: probe(Placement::Above128T),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "probe-random",
        about: "register probe; purgatory at a random page-aligned address (seeded)",
        kind: probe(Placement::Random),
        variants: QEMU10,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "probe-software-sha256",
        about: "register probe with --software-sha256: the portable path on a CPU with SHA-NI",
        kind: Kind::KexecLoad(Load::Probe {
            placement: Placement::Below4G,
            software_sha256: true,
        }),
        variants: QEMU10,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "corrupt-halts",
        about: "a kernel byte flipped after the digest: the purgatory names the segment and halts, the second kernel never runs",
        kind: refusal(Refusal::Halt),
        variants: BOTH,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "corrupt-resets",
        about: "a kernel byte flipped with --on-failure reset: the purgatory names the segment and resets the machine",
        kind: refusal(Refusal::Reset),
        variants: QEMU10,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "corrupt-silent",
        about: "a kernel byte flipped with --no-console: the purgatory halts without printing a thing",
        kind: refusal(Refusal::Silent),
        variants: QEMU10,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "nmi-while-halted",
        about: "a kernel byte flipped, the purgatory halts; three NMIs through the monitor each return to its hlt loop, no reset",
        kind: refusal(Refusal::HaltThenNmi),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "fault-unmapped-halts",
        about: "a region at an address nothing maps, added after the digest: the purgatory reports the page fault and halts",
        kind: Kind::KexecLoad(Load::Fault(FailurePolicy::Halt)),
        firmware: Firmware::Bios,
        variants: BOTH,
    },
    Scenario {
        name: "fault-unmapped-resets",
        about: "the same with --on-failure reset: the purgatory reports the page fault and resets the machine",
        kind: Kind::KexecLoad(Load::Fault(FailurePolicy::Reset)),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "no-verify",
        about: "--no-verify (empty region table): the second kernel boots",
        kind: boot(Boot::NoVerify),
        variants: QEMU10,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "large-initrd",
        about: "a 64 MiB+ initrd, verified by the purgatory and checked byte for byte by the second /init",
        kind: boot(Boot::LargeInitrd),
        variants: BOTH,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "kdump-low",
        about: "kexec-load -p into crashkernel=256M below 4 GiB, -smp 2; a panic boots the capture kernel through the purgatory, whose /init reads stage 1's marker back from /proc/vmcore",
        kind: kdump(Reservation::Below4G, None),
        firmware: Firmware::Bios,
        variants: BOTH,
    },
    Scenario {
        name: "kdump-high",
        about: "the same with crashkernel=256M,high on 6 GiB: every crash segment above 4 GiB",
        kind: kdump(Reservation::Above4G, None),
        firmware: Firmware::Bios,
        variants: BOTH,
    },
    Scenario {
        name: "kdump-6.1",
        about: "kdump-low on bookworm's 6.1: the oldest kernel kexec-load -p serves, read back from its dump",
        kind: kdump_on(Linux6_1, Reservation::Below4G, None),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "kdump-7.3",
        about: "kdump-low on trixie-backports' 7.3, whose relocate_kernel was reworked in 6.15",
        kind: kdump_on(Linux7_3, Reservation::Below4G, None),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "kdump-corrupt-halts",
        about: "a crash kernel's byte flipped after the digest: on the panic the purgatory names the segment and halts",
        kind: kdump(Reservation::Below4G, Some(Refusal::Halt)),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "kdump-corrupt-resets",
        about: "the same with --on-failure reset: the purgatory names the segment and resets the machine",
        kind: kdump(Reservation::Below4G, Some(Refusal::Reset)),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "kexec-file-embedded",
        about: "patched Linux kexec_file_loads a kernel through our embedded purgatory; the second /init runs",
        kind: Kind::KexecFile(KexecFile::Embedded),
        variants: QEMU10,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "kexec-file-above-4g",
        about: "the same with 6 GiB: the kernel places our purgatory top-down, above 4 GiB",
        kind: Kind::KexecFile(KexecFile::EmbeddedAbove4G),
        variants: QEMU10,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "kexec-file-param",
        about: "a C-purgatory kernel reads our purgatory from kexec_file.purgatory=<file> and boots through it",
        kind: Kind::KexecFile(KexecFile::FromFile),
        variants: QEMU10,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "kexec-file-c-purgatory",
        about: "the patched kernel's own C (ET_REL) purgatory still boots the second kernel",
        kind: Kind::KexecFile(KexecFile::CPurgatory),
        variants: QEMU10,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "kexec-file-two-phdrs",
        about: "the patched kernel refuses a purgatory with two program headers, saying so",
        kind: Kind::KexecFile(KexecFile::TwoProgramHeaders),
        variants: QEMU10,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "kexec-file-regs-size",
        about: "the patched kernel refuses a purgatory whose entry64_regs is 128 bytes, naming the symbol",
        kind: Kind::KexecFile(KexecFile::RegsSize),
        variants: QEMU10,
        firmware: Firmware::Bios,
    },
    Scenario {
        name: "uefi-kernel-to-kernel",
        about: "OVMF: a kernel kexecs a kernel, purgatory above 4 GiB; the second has EFI runtime services (efivarfs), ACPI from the RSDP passed, the RNG seed taken",
        kind: handover(Placement::Above4G, false),
        variants: BOTH,
        firmware: Firmware::Uefi,
    },
    Scenario {
        name: "uefi-random",
        about: "OVMF: the same with the purgatory at a random address of OVMF's fragmented map (seeded)",
        kind: handover(Placement::Random, false),
        variants: QEMU10,
        firmware: Firmware::Uefi,
    },
    Scenario {
        name: "uefi-noefi-low",
        about: "OVMF, --noefi, purgatory in the lowest RAM: the second kernel has no EFI, yet finds ACPI at the RSDP passed",
        kind: handover(Placement::Low, true),
        variants: QEMU10,
        firmware: Firmware::Uefi,
    },
    Scenario {
        name: "uefi-kexec-file",
        about: "OVMF: the patched Linux kexec_file_loads itself through our embedded purgatory and hands EFI, ACPI and a seed on itself",
        kind: Kind::KexecFile(KexecFile::Embedded),
        variants: QEMU10,
        firmware: Firmware::Uefi,
    },
    Scenario {
        name: "uefi-lockdown",
        about: "OVMF, lockdown=integrity: kexec-load refuses before kexec_load, names what works, exits with its own status",
        kind: Kind::KexecLoad(Load::LockedDown),
        variants: QEMU10,
        firmware: Firmware::Uefi,
    },
    Scenario {
        name: "uefi-probe",
        about: "OVMF: register probe, purgatory below 4 GiB; the hand-off state is the one under SeaBIOS",
        kind: probe(Placement::Below4G),
        variants: QEMU10,
        firmware: Firmware::Uefi,
    },
    Scenario {
        name: "kexec-load-6.12-to-6.1",
        about: "Debian's 6.12 kexec_loads bookworm's 6.1 through the purgatory; the second banner is 6.1's",
        kind: kernels(Linux6_12, Linux6_1),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "kexec-load-6.12-to-7.3",
        about: "Debian's 6.12 kexec_loads trixie-backports' 7.3; the second banner is 7.3's",
        kind: kernels(Linux6_12, Linux7_3),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "kexec-load-7.3-to-6.12",
        about: "Debian's 7.3 as the first kernel (x86's relocate_kernel reworked since 6.15) kexec_loads 6.12",
        kind: kernels(Linux7_3, Linux6_12),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "kexec-load-7.3-to-7.3",
        about: "Debian's 7.3 kexec_loads itself, on both hash paths",
        kind: kernels(Linux7_3, Linux7_3),
        firmware: Firmware::Bios,
        variants: BOTH,
    },
    Scenario {
        name: "kexec-load-7.3-to-6.1",
        about: "Debian's 7.3 kexec_loads 6.1: the newest first kernel, the oldest second",
        kind: kernels(Linux7_3, Linux6_1),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "probe-7.3-above-4g",
        about: "register probe under Debian's 7.3 as the first kernel; purgatory above 4 GiB",
        kind: Kind::Matrix(Matrix {
            first: Linux7_3,
            next: Next::Probe(Placement::Above4G),
        }),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "kho-7.3",
        about: "a KHO kexec (kho=on, upstream's test_kho) through the embedded purgatory: placed in KHO scratch, state restored",
        kind: kho(false, Watched::Embedded),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "kho-7.3-verify-skipped",
        about: "the same with our purgatory's console on: by default 7.3 leaves it 0 segments to verify",
        kind: kho(false, Watched::Console),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "kho-7.3-verify-always",
        about: "a KHO kexec with kexec_file.verify=always: every segment verified, the KHO state still restored",
        kind: kho(true, Watched::Console),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
    Scenario {
        name: "kexec-file-kdump",
        about: "patched Linux kexec_file_loads a crash kernel (KEXEC_FILE_ON_CRASH) through our embedded purgatory; after a panic the capture /init reads the marker back from /proc/vmcore",
        kind: Kind::Kdump(Kdump {
            loader: CrashLoader::KexecFile,
            kernel: Linux7_3,
            reservation: Reservation::Below4G,
            refusal: None,
        }),
        firmware: Firmware::Bios,
        variants: QEMU10,
    },
];

const fn boot(boot: Boot) -> Kind {
    Kind::KexecLoad(Load::Boot(boot))
}

/// `kexec-load -p` in Debian's 6.12.
const fn kdump(reservation: Reservation, refusal: Option<Refusal>) -> Kind {
    kdump_on(Linux6_12, reservation, refusal)
}

/// `kexec-load -p` in the stock `kernel`.
const fn kdump_on(kernel: Series, reservation: Reservation, refusal: Option<Refusal>) -> Kind {
    Kind::Kdump(Kdump {
        loader: CrashLoader::KexecLoad,
        kernel,
        reservation,
        refusal,
    })
}

const fn refusal(refusal: Refusal) -> Kind {
    Kind::KexecLoad(Load::Refusal(refusal))
}

const fn handover(placement: Placement, noefi: bool) -> Kind {
    Kind::KexecLoad(Load::Handover { placement, noefi })
}

/// `first` loads `second` with `kexec-load`.
const fn kernels(first: Series, second: Series) -> Kind {
    Kind::Matrix(Matrix {
        first,
        next: Next::Kernel(second),
    })
}

const fn kho(always: bool, purgatory: Watched) -> Kind {
    Kind::Kho(Kho { always, purgatory })
}

/// The probe on the path the variant's CPU decides.
const fn probe(placement: Placement) -> Kind {
    Kind::KexecLoad(Load::Probe {
        placement,
        software_sha256: false,
    })
}

#[cfg(test)]
#[path = "table_matrix_tests.rs"]
mod matrix_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_scenario_runs_somewhere() {
        for (i, a) in SCENARIOS.iter().enumerate() {
            assert!(SCENARIOS[i + 1..].iter().all(|b| b.name != a.name));
            assert!(!a.variants.is_empty(), "{}", a.name);
            assert!(!a.name.contains('@'), "{}", a.name);
        }
    }

    /// A scenario booted through UEFI says so in its name, and what needs
    /// UEFI (the hand-over, lockdown's refusal) is booted through it.
    #[test]
    fn uefi_scenarios_are_named_and_booted_so() {
        for s in SCENARIOS {
            let uefi = s.firmware == Firmware::Uefi;
            assert_eq!(s.name.contains("uefi"), uefi, "{}", s.name);
            if matches!(
                s.kind,
                Kind::KexecLoad(Load::Handover { .. } | Load::LockedDown)
            ) {
                assert!(uefi, "{}", s.name);
            }
        }
    }

    /// Each path takes a real kexec, a probe, a refusal, a page fault (in
    /// its own hashing code) and a large initrd.
    #[test]
    fn both_variants_cover_the_core() {
        for name in [
            "kernel-to-kernel",
            "probe-low",
            "corrupt-halts",
            "fault-unmapped-halts",
            "large-initrd",
        ] {
            let s = SCENARIOS.iter().find(|s| s.name == name).unwrap();
            assert_eq!(s.variants, BOTH, "{name}");
        }
        assert!(SCENARIOS.iter().any(|s| matches!(
            s.kind,
            Kind::KexecLoad(Load::Probe {
                software_sha256: true,
                ..
            })
        ) && s.variants.contains(&Variant::Qemu10)));
    }

    /// A crash kernel is read back on both paths, below and above 4 GiB.
    #[test]
    fn kdump_reads_the_dump_on_both_variants_both_sides_of_4g() {
        for reservation in [Reservation::Below4G, Reservation::Above4G] {
            let s = SCENARIOS
                .iter()
                .find(|s| s.kind == kdump(reservation, None))
                .unwrap();
            assert_eq!(s.variants, BOTH, "{}", s.name);
            assert!(s.name.contains("kdump"), "{}", s.name);
        }
    }
}
