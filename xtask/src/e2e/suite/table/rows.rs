//! The rows of the table: every scenario, and the shorthands that build
//! their kinds.

use super::kinds::{
    Boot, CrashLoader, Firmware, Kdump, KexecFile, Kho, Kind, Load, Matrix, Next, Placement,
    Refusal, Reservation, Scenario, Watched,
};
use crate::e2e::harness::variant::Variant;
use crate::e2e::suite::stock::Series::{self, Linux6_1, Linux6_12, Linux7_3};
use purgatory_abi::FailurePolicy;

pub(super) const BOTH: &[Variant] = &[Variant::Qemu7, Variant::Qemu10];
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
pub(super) const fn kdump(reservation: Reservation, refusal: Option<Refusal>) -> Kind {
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
