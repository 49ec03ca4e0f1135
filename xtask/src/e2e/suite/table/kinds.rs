//! What a scenario is: its firmware, its kind of run and the parameters of
//! each kind.

use crate::e2e::harness::variant::Variant;
use crate::e2e::suite::stock::Series;
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
