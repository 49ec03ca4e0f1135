//! The UEFI hand-over: what a kernel booted through UEFI gives the next one
//! so that it finds the firmware's runtime services (Linux's `efi_init` and
//! `kexec_enter_virtual_mode`): `efi_info` with the system table and a memory
//! map (the runtime map, [`runtime_map`]), and a `SETUP_EFI` entry with the
//! physical addresses of the firmware's tables ([`firmware`]).

pub mod firmware;
pub mod runtime_map;

use crate::boot_params::{EFI32_SIGNATURE, EfiInfo};
use crate::sysfs::SysfsError;
use firmware::{FirmwareTables, Systab};
use runtime_map::{DESCRIPTOR_SIZE, MemoryDescriptor};
use std::fmt;
use std::path::{Path, PathBuf};

/// The only memory-descriptor version there is (UEFI 2.x).
pub const DESCRIPTOR_VERSION: u32 = 1;
/// `struct efi_setup_data`: `fw_vendor`, an unused slot (the runtime
/// services table, for the record), `tables`, `smbios`, eight reserved `u64`.
pub const SETUP_EFI_SIZE: usize = 96;

/// The running system's EFI state, to hand over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EfiState {
    /// The running kernel's `efi_info`: signature, system table, descriptor
    /// size and version (its memory map fields are replaced).
    pub running: EfiInfo,
    /// `secure_boot` as the running kernel got it, passed on as Linux's
    /// `kexec_file_load` does.
    pub secure_boot: u8,
    pub tables: FirmwareTables,
    pub runtime_map: Vec<MemoryDescriptor>,
}

/// Why the EFI state cannot be handed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EfiError {
    Sysfs(SysfsError),
    /// A 32-bit UEFI under a 64-bit kernel: no runtime services after a kexec.
    MixedMode,
    DescriptorVersion {
        version: u32,
    },
    DescriptorSize {
        size: u32,
    },
    NoRuntimeMap {
        dir: PathBuf,
    },
    EmptyRuntimeMap {
        dir: PathBuf,
    },
}

/// How each refusal ends: the way out.
const USE_NOEFI: &str = "--noefi hands the next kernel a BIOS-style zero page without EFI";

impl fmt::Display for EfiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sysfs(error) => write!(f, "EFI state: {error}"),
            Self::MixedMode => write!(
                f,
                "the firmware is a 32-bit UEFI under this 64-bit kernel (efi_loader_signature EL32): \
                 its runtime services cannot be handed over a kexec; {USE_NOEFI}"
            ),
            Self::DescriptorVersion { version } => write!(
                f,
                "the running kernel's EFI memory descriptors are version {version} \
                 (efi_info.efi_memdesc_version in its boot parameters); only version \
                 {DESCRIPTOR_VERSION} is known; {USE_NOEFI}"
            ),
            Self::DescriptorSize { size } => write!(
                f,
                "the running kernel's EFI memory descriptor size is {size} bytes \
                 (efi_info.efi_memdesc_size), not a multiple of 8 of at least {DESCRIPTOR_SIZE}; {USE_NOEFI}"
            ),
            Self::NoRuntimeMap { dir } => write!(
                f,
                "{} does not exist: the running kernel was booted through UEFI but does not export \
                 the EFI runtime map the next kernel needs to reach the runtime services. It needs \
                 CONFIG_EFI_RUNTIME_MAP=y and runtime services on (not booted with noefi or \
                 efi=noruntime); {USE_NOEFI}",
                dir.display()
            ),
            Self::EmptyRuntimeMap { dir } => write!(
                f,
                "{} has no entries: the running kernel maps no EFI runtime region; {USE_NOEFI}",
                dir.display()
            ),
        }
    }
}

impl std::error::Error for EfiError {}

impl From<SysfsError> for EfiError {
    fn from(error: SysfsError) -> Self {
        Self::Sysfs(error)
    }
}

/// Reads the state under `efi_dir` (`/sys/firmware/efi`) of a kernel booted
/// through UEFI, whose boot parameters held `running` and `secure_boot`.
pub fn read(
    efi_dir: &Path,
    running: EfiInfo,
    secure_boot: u8,
    systab: &Systab,
) -> Result<EfiState, EfiError> {
    if running.loader_signature == EFI32_SIGNATURE {
        return Err(EfiError::MixedMode);
    }
    if running.memdesc_version != DESCRIPTOR_VERSION {
        return Err(EfiError::DescriptorVersion {
            version: running.memdesc_version,
        });
    }
    let size = running.memdesc_size;
    if (size as usize) < DESCRIPTOR_SIZE || !size.is_multiple_of(8) {
        return Err(EfiError::DescriptorSize { size });
    }
    let tables = FirmwareTables::read(efi_dir, systab)?;
    let dir = efi_dir.join("runtime-map");
    let runtime_map =
        runtime_map::read(&dir)?.ok_or_else(|| EfiError::NoRuntimeMap { dir: dir.clone() })?;
    if runtime_map.is_empty() {
        return Err(EfiError::EmptyRuntimeMap { dir });
    }
    Ok(EfiState {
        running,
        secure_boot,
        tables,
        runtime_map,
    })
}

impl EfiState {
    /// The next kernel's EFI memory map: the runtime map, each descriptor at
    /// the running firmware's stride.
    pub fn memmap(&self) -> Vec<u8> {
        let stride = self.running.memdesc_size as usize;
        self.runtime_map
            .iter()
            .flat_map(|md| md.to_bytes(stride))
            .collect()
    }

    /// The bytes [`memmap`](Self::memmap) returns.
    pub fn memmap_len(&self) -> usize {
        self.runtime_map.len() * self.running.memdesc_size as usize
    }

    /// The next kernel's `efi_info`, with its memory map at `memmap_addr`.
    pub fn next_efi_info(&self, memmap_addr: u64) -> EfiInfo {
        EfiInfo {
            memmap: memmap_addr,
            memmap_size: u32::try_from(self.memmap_len()).unwrap_or(u32::MAX),
            ..self.running
        }
    }

    /// `struct efi_setup_data`, the payload of `SETUP_EFI`.
    pub fn setup_efi(&self) -> Vec<u8> {
        let t = &self.tables;
        let mut payload = vec![0u8; SETUP_EFI_SIZE];
        for (slot, value) in
            payload
                .chunks_exact_mut(8)
                .zip([t.fw_vendor, t.runtime, t.config_table, t.smbios])
        {
            slot.copy_from_slice(&value.to_le_bytes());
        }
        payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot_params::EFI64_SIGNATURE;
    use crate::support::{OVMF_RUNTIME_MAP, scratch_dir, write_efi_dir};

    fn running(version: u32, size: u32) -> EfiInfo {
        EfiInfo {
            loader_signature: EFI64_SIGNATURE,
            systab: 0x7fbe_e018,
            memdesc_size: size,
            memdesc_version: version,
            memmap: 0x7e5a_1018,
            memmap_size: 0x1b60,
        }
    }

    /// A fixture's efi directory and its systab.
    fn efi_dir(name: &str) -> (PathBuf, Systab) {
        let root = scratch_dir(name);
        let dir = root.join("efi");
        write_efi_dir(&dir, OVMF_RUNTIME_MAP);
        let systab = Systab::read(&dir).unwrap();
        (dir, systab)
    }

    #[test]
    fn the_state_of_a_uefi_boot() {
        let (dir, systab) = efi_dir("efi-state");
        let state = read(&dir, running(1, 48), 0, &systab).unwrap();
        assert_eq!(state.runtime_map.len(), OVMF_RUNTIME_MAP.len());
        let memmap = state.memmap();
        assert_eq!(memmap.len(), OVMF_RUNTIME_MAP.len() * 48);
        assert_eq!(memmap.len(), state.memmap_len());
        // The second descriptor starts at the stride.
        assert_eq!(memmap[48 + 8..48 + 16], OVMF_RUNTIME_MAP[1].1.to_le_bytes());
        let info = state.next_efi_info(0x1_2000);
        assert_eq!(
            (info.memmap, info.memmap_size),
            (0x1_2000, memmap.len() as u32)
        );
        assert_eq!((info.systab, info.memdesc_size), (0x7fbe_e018, 48));
        let payload = state.setup_efi();
        assert_eq!(payload.len(), 96);
        let word = |i: usize| u64::from_le_bytes(payload[8 * i..8 * i + 8].try_into().unwrap());
        assert_eq!(
            [word(0), word(1), word(2), word(3)],
            [
                state.tables.fw_vendor,
                state.tables.runtime,
                state.tables.config_table,
                systab.smbios.unwrap()
            ]
        );
        assert!(payload[32..].iter().all(|&b| b == 0));
        let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    }

    #[test]
    fn a_version_2_descriptor_is_refused() {
        let (dir, systab) = efi_dir("efi-version");
        let err = read(&dir, running(2, 48), 0, &systab).unwrap_err();
        assert_eq!(err, EfiError::DescriptorVersion { version: 2 });
        let text = err.to_string();
        assert!(
            text.contains("version 2") && text.contains("--noefi"),
            "{text}"
        );
        let err = read(&dir, running(1, 36), 0, &systab).unwrap_err();
        assert_eq!(err, EfiError::DescriptorSize { size: 36 });
        let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    }

    #[test]
    fn a_missing_runtime_map_names_the_config_option() {
        let (dir, systab) = efi_dir("efi-no-map");
        std::fs::remove_dir_all(dir.join("runtime-map")).unwrap();
        let err = read(&dir, running(1, 48), 0, &systab).unwrap_err();
        assert!(matches!(err, EfiError::NoRuntimeMap { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("CONFIG_EFI_RUNTIME_MAP=y") && text.contains("runtime-map"),
            "{text}"
        );
        std::fs::create_dir(dir.join("runtime-map")).unwrap();
        let err = read(&dir, running(1, 48), 0, &systab).unwrap_err();
        assert!(matches!(err, EfiError::EmptyRuntimeMap { .. }), "{err}");
        let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    }

    #[test]
    fn mixed_mode_is_refused() {
        let (dir, systab) = efi_dir("efi-mixed");
        let el32 = EfiInfo {
            loader_signature: EFI32_SIGNATURE,
            ..running(1, 48)
        };
        let err = read(&dir, el32, 0, &systab).unwrap_err();
        assert_eq!(err, EfiError::MixedMode);
        let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    }
}
