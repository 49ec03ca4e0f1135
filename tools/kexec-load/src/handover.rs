//! What the running system hands the next kernel besides its memory map:
//! its EFI state when it was booted through UEFI ([`crate::efi`]), where the
//! ACPI RSDP is, and a seed for the random pool. [`read`] gathers it from a
//! sysfs tree; the plan writes it into the boot-params segment.

use crate::boot_params::RunningBootParams;
use crate::efi::firmware::Systab;
use crate::efi::{self, EfiError, EfiState};
use crate::sysfs::{Sysfs, SysfsError};
use std::fmt;

/// Bytes of `SETUP_RNG_SEED`, as Linux's own kexec passes.
pub const RNG_SEED_LEN: usize = 32;

/// Everything the next kernel inherits through its boot parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// How the running kernel was booted.
    pub firmware: Firmware,
    pub efi: EfiHandover,
    /// `acpi_rsdp_addr`; `None` leaves it 0 and the next kernel searches.
    pub acpi_rsdp: Option<Rsdp>,
    /// `SETUP_RNG_SEED`'s bytes; `None` when the random pool was not ready.
    pub rng_seed: Option<[u8; RNG_SEED_LEN]>,
}

impl Default for Handover {
    /// A BIOS boot with nothing to pass on.
    fn default() -> Self {
        Self {
            firmware: Firmware::Bios,
            efi: EfiHandover::Withheld(NOT_UEFI),
            acpi_rsdp: None,
            rng_seed: None,
        }
    }
}

/// The firmware that booted the running kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    Bios,
    Uefi,
}

impl Firmware {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Bios => "bios",
            Self::Uefi => "uefi",
        }
    }
}

/// Whether the EFI state goes to the next kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EfiHandover {
    Pass(Box<EfiState>),
    /// Not passed, and why.
    Withheld(&'static str),
}

const NOT_UEFI: &str = "the running kernel was not booted through UEFI";
const NOEFI: &str = "--noefi";

/// The RSDP's address and where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rsdp {
    pub addr: u64,
    pub source: RsdpSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsdpSource {
    /// The running kernel's `acpi_rsdp_addr`.
    BootParams,
    /// `ACPI20=` or `ACPI=` of `/sys/firmware/efi/systab` (a kernel started
    /// by the EFI stub finds it there and leaves `acpi_rsdp_addr` 0).
    EfiSystab,
}

impl RsdpSource {
    pub const fn name(self) -> &'static str {
        match self {
            Self::BootParams => "the running kernel's boot parameters",
            Self::EfiSystab => "the EFI configuration table (firmware/efi/systab)",
        }
    }
}

/// Why the hand-over cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandoverError {
    Sysfs(SysfsError),
    Efi(EfiError),
}

impl fmt::Display for HandoverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sysfs(error) => write!(f, "the running kernel's boot state: {error}"),
            Self::Efi(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for HandoverError {}

impl From<SysfsError> for HandoverError {
    fn from(error: SysfsError) -> Self {
        Self::Sysfs(error)
    }
}

impl From<EfiError> for HandoverError {
    fn from(error: EfiError) -> Self {
        Self::Efi(error)
    }
}

/// Reads the hand-over from `sysfs`: UEFI when `firmware/efi` exists. With
/// `noefi` the EFI state is neither read nor passed.
pub fn read(
    sysfs: &Sysfs,
    noefi: bool,
    rng_seed: Option<[u8; RNG_SEED_LEN]>,
) -> Result<Handover, HandoverError> {
    let params = RunningBootParams::read(&sysfs.boot_params())?;
    let efi_dir = sysfs.efi();
    let firmware = if efi_dir.is_dir() && params.efi_info.is_uefi() {
        Firmware::Uefi
    } else {
        Firmware::Bios
    };
    let uefi = firmware == Firmware::Uefi;
    // Root-only, so read only when needed.
    let systab = if uefi && (!noefi || params.acpi_rsdp_addr == 0) {
        Some(Systab::read(&efi_dir)?)
    } else {
        None
    };
    let efi = match &systab {
        Some(systab) if !noefi => EfiHandover::Pass(Box::new(efi::read(
            &efi_dir,
            params.efi_info,
            params.secure_boot,
            systab,
        )?)),
        _ if uefi => EfiHandover::Withheld(NOEFI),
        _ => EfiHandover::Withheld(NOT_UEFI),
    };
    let acpi_rsdp = match (params.acpi_rsdp_addr, &systab) {
        (0, Some(systab)) => systab.rsdp().map(|addr| Rsdp {
            addr,
            source: RsdpSource::EfiSystab,
        }),
        (0, None) => None,
        (addr, _) => Some(Rsdp {
            addr,
            source: RsdpSource::BootParams,
        }),
    };
    Ok(Handover {
        firmware,
        efi,
        acpi_rsdp,
        rng_seed,
    })
}

/// 32 bytes from `getrandom(2)`, or `None` if the pool is not initialized
/// yet (the call would block): then no seed is passed, as Linux does.
pub fn rng_seed() -> Option<[u8; RNG_SEED_LEN]> {
    let mut seed = [0u8; RNG_SEED_LEN];
    // SAFETY: the kernel writes at most `seed.len()` bytes into `seed`.
    let got = unsafe { libc::getrandom(seed.as_mut_ptr().cast(), seed.len(), libc::GRND_NONBLOCK) };
    (got == RNG_SEED_LEN as isize).then_some(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::{SysfsFixture, scratch_dir};

    #[test]
    fn a_uefi_boot_hands_over_efi_and_the_systab_rsdp() {
        let dir = scratch_dir("handover-uefi");
        let fixture = SysfsFixture::uefi(&dir);
        let handover = read(&Sysfs::new(&fixture.root), false, Some([7; 32])).unwrap();
        assert_eq!(handover.firmware, Firmware::Uefi);
        let EfiHandover::Pass(state) = &handover.efi else {
            panic!("{:?}", handover.efi)
        };
        assert_eq!(state.running.memdesc_size, 48);
        // The EFI stub left acpi_rsdp_addr 0: the systab's ACPI 2.0 RSDP.
        assert_eq!(
            handover.acpi_rsdp,
            Some(Rsdp {
                addr: fixture.acpi20,
                source: RsdpSource::EfiSystab
            })
        );
        assert_eq!(handover.rng_seed, Some([7; 32]));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn noefi_withholds_efi_but_not_acpi() {
        let dir = scratch_dir("handover-noefi");
        let fixture = SysfsFixture::uefi(&dir);
        // Without the runtime map, only --noefi can plan.
        std::fs::remove_dir_all(dir.join("firmware/efi/runtime-map")).unwrap();
        assert!(read(&Sysfs::new(&fixture.root), false, None).is_err());
        let handover = read(&Sysfs::new(&fixture.root), true, None).unwrap();
        assert_eq!(handover.firmware, Firmware::Uefi);
        assert_eq!(handover.efi, EfiHandover::Withheld("--noefi"));
        assert_eq!(handover.acpi_rsdp.map(|r| r.addr), Some(fixture.acpi20));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_bios_boot_passes_the_rsdp_the_running_kernel_found() {
        let dir = scratch_dir("handover-bios");
        let fixture = SysfsFixture::bios(&dir);
        let handover = read(&Sysfs::new(&fixture.root), false, None).unwrap();
        assert_eq!(handover.firmware, Firmware::Bios);
        assert_eq!(
            handover.efi,
            EfiHandover::Withheld("the running kernel was not booted through UEFI")
        );
        assert_eq!(
            handover.acpi_rsdp,
            Some(Rsdp {
                addr: 0xf_5a40,
                source: RsdpSource::BootParams
            })
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_boot_params_are_named() {
        let dir = scratch_dir("handover-none");
        let err = read(&Sysfs::new(&dir), false, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("kernel/boot_params/data"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_seed_comes_from_getrandom() {
        // The test host's pool is initialized long after boot.
        let (a, b) = (rng_seed().unwrap(), rng_seed().unwrap());
        assert_ne!(a, b);
    }
}
