//! The zero-page fields a kexec inherits from the running kernel: read from
//! its `struct boot_params` (`/sys/kernel/boot_params/data`) and written into
//! the next kernel's: `efi_info`, `acpi_rsdp_addr` and `secure_boot`.
//! Offsets are Documentation/arch/x86/zero-page.rst's.

use crate::sysfs::{SysfsError, read_bytes};
use crate::zeropage::ZERO_PAGE_SIZE;
use std::path::Path;

/// `acpi_rsdp_addr`: where the ACPI RSDP is (0: find it yourself).
const ACPI_RSDP_ADDR: usize = 0x070;
/// `struct efi_info`: eight `u32`.
const EFI_INFO: usize = 0x1c0;
const EFI_INFO_SIZE: usize = 32;
/// `secure_boot`: the firmware's Secure Boot mode as the EFI stub found it.
const SECURE_BOOT: usize = 0x1ec;

/// `efi_loader_signature` of a 64-bit UEFI boot.
pub const EFI64_SIGNATURE: [u8; 4] = *b"EL64";
/// `efi_loader_signature` of a 32-bit UEFI under a 64-bit kernel (mixed mode).
pub const EFI32_SIGNATURE: [u8; 4] = *b"EL32";

/// `struct efi_info`, with the split 64-bit addresses joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EfiInfo {
    pub loader_signature: [u8; 4],
    /// Physical address of the EFI system table.
    pub systab: u64,
    /// Bytes from one memory descriptor to the next.
    pub memdesc_size: u32,
    pub memdesc_version: u32,
    /// Physical address of the EFI memory map.
    pub memmap: u64,
    pub memmap_size: u32,
}

impl EfiInfo {
    /// From the eight little-endian `u32` of the structure, in its order.
    fn from_words(w: [u32; 8]) -> Self {
        Self {
            loader_signature: w[0].to_le_bytes(),
            systab: u64::from(w[1]) | u64::from(w[6]) << 32,
            memdesc_size: w[2],
            memdesc_version: w[3],
            memmap: u64::from(w[4]) | u64::from(w[7]) << 32,
            memmap_size: w[5],
        }
    }

    fn to_words(self) -> [u32; 8] {
        [
            u32::from_le_bytes(self.loader_signature),
            self.systab as u32,
            self.memdesc_size,
            self.memdesc_version,
            self.memmap as u32,
            self.memmap_size,
            (self.systab >> 32) as u32,
            (self.memmap >> 32) as u32,
        ]
    }

    /// Whether a UEFI boot loader filled it in.
    pub fn is_uefi(&self) -> bool {
        [EFI64_SIGNATURE, EFI32_SIGNATURE].contains(&self.loader_signature)
    }

    /// The signature as text (`EL64`), for messages and the plan.
    pub fn signature_text(&self) -> String {
        String::from_utf8_lossy(&self.loader_signature).into_owned()
    }
}

/// What the running kernel's boot parameters say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunningBootParams {
    pub efi_info: EfiInfo,
    /// 0 when nobody filled it in (the EFI stub leaves it to the config tables).
    pub acpi_rsdp_addr: u64,
    pub secure_boot: u8,
}

impl RunningBootParams {
    /// Reads `path` (`/sys/kernel/boot_params/data`): one `struct boot_params`.
    pub fn read(path: &Path) -> Result<Self, SysfsError> {
        let page = read_bytes(path)?;
        Self::parse(&page).ok_or_else(|| {
            SysfsError::new(
                path,
                format!(
                    "{} bytes, not a {ZERO_PAGE_SIZE}-byte struct boot_params",
                    page.len()
                ),
            )
        })
    }

    /// The fields of a whole `struct boot_params`; `None` if `page` is shorter.
    pub fn parse(page: &[u8]) -> Option<Self> {
        if page.len() < ZERO_PAGE_SIZE {
            return None;
        }
        let mut words = [0u32; 8];
        for (word, bytes) in words.iter_mut().zip(page.get(EFI_INFO..)?.chunks_exact(4)) {
            *word = u32::from_le_bytes(bytes.try_into().ok()?);
        }
        Some(Self {
            efi_info: EfiInfo::from_words(words),
            acpi_rsdp_addr: u64::from_le_bytes(
                page.get(ACPI_RSDP_ADDR..ACPI_RSDP_ADDR + 8)?
                    .try_into()
                    .ok()?,
            ),
            secure_boot: *page.get(SECURE_BOOT)?,
        })
    }
}

/// Writes `efi_info` into a zero page.
pub fn write_efi_info(page: &mut [u8], info: EfiInfo) {
    let field = &mut page[EFI_INFO..EFI_INFO + EFI_INFO_SIZE];
    for (bytes, word) in field.chunks_exact_mut(4).zip(info.to_words()) {
        bytes.copy_from_slice(&word.to_le_bytes());
    }
}

/// Writes `acpi_rsdp_addr` into a zero page.
pub fn write_acpi_rsdp_addr(page: &mut [u8], addr: u64) {
    page[ACPI_RSDP_ADDR..ACPI_RSDP_ADDR + 8].copy_from_slice(&addr.to_le_bytes());
}

/// Writes `secure_boot` into a zero page.
pub fn write_secure_boot(page: &mut [u8], mode: u8) {
    page[SECURE_BOOT] = mode;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout of `struct efi_info` written from bootparam.h's field
    /// order, independently of the constants above.
    fn page_with(words: [u32; 8], rsdp: u64, secure_boot: u8) -> Vec<u8> {
        let mut page = vec![0u8; 4096];
        for (i, word) in words.iter().enumerate() {
            page[0x1c0 + 4 * i..0x1c4 + 4 * i].copy_from_slice(&word.to_le_bytes());
        }
        page[0x70..0x78].copy_from_slice(&rsdp.to_le_bytes());
        page[0x1ec] = secure_boot;
        page
    }

    #[test]
    fn a_uefi_page_is_read_with_its_high_halves() {
        let signature = u32::from_le_bytes(*b"EL64");
        let page = page_with(
            [signature, 0xbee018, 48, 1, 0x3000, 0x1200, 1, 2],
            0x7fb7_e014,
            3,
        );
        let params = RunningBootParams::parse(&page).unwrap();
        let info = params.efi_info;
        assert!(info.is_uefi());
        assert_eq!(info.signature_text(), "EL64");
        assert_eq!(info.systab, 0x1_00be_e018);
        assert_eq!((info.memdesc_size, info.memdesc_version), (48, 1));
        assert_eq!((info.memmap, info.memmap_size), (0x2_0000_3000, 0x1200));
        assert_eq!(params.acpi_rsdp_addr, 0x7fb7_e014);
        assert_eq!(params.secure_boot, 3);
    }

    #[test]
    fn writing_puts_the_fields_where_reading_finds_them() {
        let info = EfiInfo {
            loader_signature: EFI64_SIGNATURE,
            systab: 0x1_7fbe_e018,
            memdesc_size: 48,
            memdesc_version: 1,
            memmap: 0x1_1000,
            memmap_size: 480,
        };
        let mut page = vec![0u8; 4096];
        write_efi_info(&mut page, info);
        write_acpi_rsdp_addr(&mut page, 0xf_5a40);
        write_secure_boot(&mut page, 1);
        let signature = u32::from_le_bytes(*b"EL64");
        assert_eq!(
            page,
            page_with(
                [signature, 0x7fbe_e018, 48, 1, 0x1_1000, 480, 1, 0],
                0xf_5a40,
                1
            )
        );
        let back = RunningBootParams::parse(&page).unwrap();
        assert_eq!(back.efi_info, info);
    }

    #[test]
    fn a_bios_page_has_no_uefi_signature() {
        let params = RunningBootParams::parse(&[0u8; 4096]).unwrap();
        assert!(!params.efi_info.is_uefi());
        assert_eq!(RunningBootParams::parse(&[0u8; 4095]), None);
    }
}
