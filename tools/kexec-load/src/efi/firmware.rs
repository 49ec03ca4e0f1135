//! The firmware's table addresses as the running kernel exports them under
//! `/sys/firmware/efi`: `systab` (`KEY=0x…` lines: the ACPI RSDPs and the
//! SMBIOS entry points found in the configuration tables), and `fw_vendor`,
//! `runtime` and `config_table`, the physical addresses the kernel saved
//! before `SetVirtualAddressMap` turned the system table's pointers virtual.

use crate::number::parse_hex;
use crate::sysfs::{SysfsError, read_hex, read_text};
use std::path::Path;

/// What `systab` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Systab {
    /// The ACPI 2.0+ RSDP.
    pub acpi20: Option<u64>,
    /// The ACPI 1.0 RSDP.
    pub acpi: Option<u64>,
    /// The SMBIOS 2.x entry point, the one `SETUP_EFI` carries.
    pub smbios: Option<u64>,
}

impl Systab {
    /// Reads `dir/systab`.
    pub fn read(dir: &Path) -> Result<Self, SysfsError> {
        let path = dir.join("systab");
        Self::parse(&read_text(&path)?).map_err(|why| SysfsError::new(&path, why))
    }

    fn parse(text: &str) -> Result<Self, String> {
        let mut systab = Self::default();
        for line in text.lines() {
            let Some((key, value)) = line.trim().split_once('=') else {
                continue;
            };
            let slot = match key {
                "ACPI20" => &mut systab.acpi20,
                "ACPI" => &mut systab.acpi,
                "SMBIOS" => &mut systab.smbios,
                _ => continue,
            };
            *slot = Some(parse_hex(value).ok_or_else(|| format!("{line:?}: not a hex address"))?);
        }
        Ok(systab)
    }

    /// The RSDP a kernel should use: ACPI 2.0's if the firmware has one.
    pub fn rsdp(&self) -> Option<u64> {
        self.acpi20.or(self.acpi)
    }
}

/// The physical addresses `SETUP_EFI` hands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirmwareTables {
    /// The firmware vendor string (UCS-2).
    pub fw_vendor: u64,
    /// The runtime services table.
    pub runtime: u64,
    /// The configuration table array.
    pub config_table: u64,
    /// The SMBIOS 2.x entry point, 0 if none: the next kernel puts it back
    /// into the configuration table, where it may have turned virtual.
    pub smbios: u64,
}

impl FirmwareTables {
    /// Reads `dir/{fw_vendor,runtime,config_table}`; `systab` was read already.
    pub fn read(dir: &Path, systab: &Systab) -> Result<Self, SysfsError> {
        Ok(Self {
            fw_vendor: read_hex(&dir.join("fw_vendor"))?,
            runtime: read_hex(&dir.join("runtime"))?,
            config_table: read_hex(&dir.join("config_table"))?,
            smbios: systab.smbios.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::scratch_dir;

    #[test]
    fn systab_lines_by_key() {
        let systab = Systab::parse(
            "ACPI20=0x7fb7e014\nACPI=0x7fb7e000\nSMBIOS3=0x7f8f0000\nSMBIOS=0x7f8f1000\n",
        )
        .unwrap();
        assert_eq!(systab.acpi20, Some(0x7fb7_e014));
        assert_eq!(systab.smbios, Some(0x7f8f_1000));
        assert_eq!(systab.rsdp(), Some(0x7fb7_e014));
        let acpi1 = Systab::parse("ACPI=0xf5a40\n").unwrap();
        assert_eq!(acpi1.rsdp(), Some(0xf_5a40));
        assert_eq!(Systab::parse("UGA=0x1\n").unwrap(), Systab::default());
        let err = Systab::parse("ACPI20=nowhere\n").unwrap_err();
        assert!(err.contains("ACPI20=nowhere"), "{err}");
    }

    #[test]
    fn tables_name_the_missing_file() {
        let dir = scratch_dir("efi-tables");
        std::fs::write(dir.join("fw_vendor"), "0x7fbee098\n").unwrap();
        std::fs::write(dir.join("runtime"), "0x7fbeeb98\n").unwrap();
        let systab = Systab {
            smbios: Some(0x7f8f_1000),
            ..Systab::default()
        };
        let err = FirmwareTables::read(&dir, &systab).unwrap_err().to_string();
        assert!(err.contains("config_table"), "{err}");
        std::fs::write(dir.join("config_table"), "0x7fbeda18\n").unwrap();
        assert_eq!(
            FirmwareTables::read(&dir, &systab),
            Ok(FirmwareTables {
                fw_vendor: 0x7fbe_e098,
                runtime: 0x7fbe_eb98,
                config_table: 0x7fbe_da18,
                smbios: 0x7f8f_1000,
            })
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
