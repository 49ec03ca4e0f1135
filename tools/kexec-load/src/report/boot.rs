//! What the next kernel inherits through its boot parameters, as the plan
//! reports it: the firmware, the EFI state, the ACPI RSDP, how the e820
//! map is split, and every `setup_data` node with its address.

use serde::{Deserialize, Serialize};

/// The hand-over inside the boot-params segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootReport {
    /// How the running kernel was booted: `uefi` or `bios`.
    pub firmware: String,
    /// The EFI state handed over; null when withheld.
    pub efi: Option<EfiReport>,
    /// Why no EFI state is handed over; null when it is.
    pub efi_withheld: Option<String>,
    /// `acpi_rsdp_addr`; null: left 0, and the next kernel searches.
    pub acpi_rsdp: Option<RsdpReport>,
    /// Entries of the memory map handed over.
    pub e820_entries: usize,
    /// Of those, how many the zero page holds (the rest are in `SETUP_E820_EXT`).
    pub e820_in_zero_page: usize,
    /// The `setup_data` chain, in link order from `hdr.setup_data`.
    pub setup_data: Vec<SetupDataReport>,
}

/// `efi_info` and `SETUP_EFI` as handed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfiReport {
    /// `EL64`.
    pub loader_signature: String,
    pub systab: u64,
    /// Where the EFI memory map (the runtime map) is, inside boot-params.
    pub memmap: u64,
    pub memmap_size: u32,
    pub memdesc_size: u32,
    pub memdesc_version: u32,
    /// Descriptors in the memory map.
    pub descriptors: usize,
    pub fw_vendor: u64,
    pub runtime: u64,
    pub config_table: u64,
    /// 0: none.
    pub smbios: u64,
    pub secure_boot: u8,
}

/// `acpi_rsdp_addr` and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RsdpReport {
    pub addr: u64,
    pub source: String,
}

/// One `struct setup_data` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupDataReport {
    /// `SETUP_EFI`, as `asm/setup_data.h` names it.
    pub kind: String,
    /// Its `type` value.
    pub type_code: u32,
    /// Physical address of the node's header.
    pub addr: u64,
    /// Its `len`: payload bytes.
    pub len: u32,
}

impl BootReport {
    /// The plan table's lines for it.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![match (&self.efi, &self.efi_withheld) {
            (Some(efi), _) => format!(
                "firmware     {}: EFI handed over ({}, system table {:#x}, secure_boot {})",
                self.firmware, efi.loader_signature, efi.systab, efi.secure_boot
            ),
            (None, why) => format!(
                "firmware     {}: no EFI ({})",
                self.firmware,
                why.as_deref().unwrap_or("withheld")
            ),
        }];
        if let Some(efi) = &self.efi {
            lines.push(format!(
                "efi memmap   {:#x}: {} runtime descriptor(s) of {} bytes (version {}), {:#x} bytes",
                efi.memmap, efi.descriptors, efi.memdesc_size, efi.memdesc_version, efi.memmap_size
            ));
        }
        lines.push(match &self.acpi_rsdp {
            Some(rsdp) => format!("acpi rsdp    {:#x} (from {})", rsdp.addr, rsdp.source),
            None => "acpi rsdp    none known: the next kernel searches for it".into(),
        });
        let extended = self.e820_entries.saturating_sub(self.e820_in_zero_page);
        lines.push(if extended == 0 {
            format!(
                "e820         {} entries, all in the zero page",
                self.e820_entries
            )
        } else {
            format!(
                "e820         {} entries: {} in the zero page, {extended} in SETUP_E820_EXT",
                self.e820_entries, self.e820_in_zero_page
            )
        });
        lines.extend(self.setup_data.iter().map(|node| {
            format!(
                "setup_data   {:#x}  {:<15} {} bytes",
                node.addr, node.kind, node.len
            )
        }));
        lines
    }
}
