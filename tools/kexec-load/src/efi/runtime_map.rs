//! The EFI runtime map (`/sys/firmware/efi/runtime-map`): the memory
//! descriptors of the regions the running kernel mapped for EFI runtime
//! services, at the virtual addresses it gave them. A kexec'd kernel gets
//! them as its EFI memory map and maps them at the same addresses
//! (`kexec_enter_virtual_mode`), since `SetVirtualAddressMap` can be called
//! only once per boot.

use crate::sysfs::{SysfsError, read_hex};
use std::path::Path;

/// `efi_memory_desc_t` of descriptor version 1: `u32 type`, `u32 pad`,
/// then four `u64`.
pub const DESCRIPTOR_SIZE: usize = 40;
const PHYS_ADDR: usize = 8;
const VIRT_ADDR: usize = 16;
const NUM_PAGES: usize = 24;
const ATTRIBUTE: usize = 32;

/// One region of the runtime map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryDescriptor {
    /// `EFI_MEMORY_TYPE` (5: runtime services code, 6: data, 11: MMIO …).
    pub kind: u32,
    pub phys_addr: u64,
    pub virt_addr: u64,
    /// In 4 KiB EFI pages.
    pub num_pages: u64,
    /// `EFI_MEMORY_*` bits (bit 63: `EFI_MEMORY_RUNTIME`).
    pub attribute: u64,
}

impl MemoryDescriptor {
    /// The descriptor's bytes, zero-padded to `stride` (at least
    /// [`DESCRIPTOR_SIZE`]), as a firmware lays out its map.
    pub fn to_bytes(&self, stride: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; stride.max(DESCRIPTOR_SIZE)];
        bytes[..4].copy_from_slice(&self.kind.to_le_bytes());
        for (at, value) in [
            (PHYS_ADDR, self.phys_addr),
            (VIRT_ADDR, self.virt_addr),
            (NUM_PAGES, self.num_pages),
            (ATTRIBUTE, self.attribute),
        ] {
            bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
        }
        bytes
    }
}

/// Reads `dir/<n>/{type,phys_addr,virt_addr,num_pages,attribute}` in the
/// order of `n`, which is the running kernel's map order. `None` if `dir`
/// does not exist.
pub fn read(dir: &Path) -> Result<Option<Vec<MemoryDescriptor>>, SysfsError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(SysfsError::io(dir, &error)),
    };
    let mut numbered = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| SysfsError::io(dir, &error))?;
        let name = entry.file_name();
        let index = name
            .to_str()
            .and_then(|name| name.parse::<usize>().ok())
            .ok_or_else(|| SysfsError::new(&entry.path(), "not a numbered runtime-map entry"))?;
        numbered.push((index, entry.path()));
    }
    numbered.sort_unstable();
    numbered
        .iter()
        .map(|(_, path)| descriptor(path))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn descriptor(dir: &Path) -> Result<MemoryDescriptor, SysfsError> {
    let field = |name: &str| read_hex(&dir.join(name));
    let kind = field("type")?;
    Ok(MemoryDescriptor {
        kind: u32::try_from(kind)
            .map_err(|_| SysfsError::new(&dir.join("type"), format!("{kind:#x} is not a u32")))?,
        phys_addr: field("phys_addr")?,
        virt_addr: field("virt_addr")?,
        num_pages: field("num_pages")?,
        attribute: field("attribute")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::{OVMF_RUNTIME_MAP, scratch_dir, write_runtime_map};

    #[test]
    fn entries_come_in_the_kernel_s_order() {
        let dir = scratch_dir("runtime-map");
        write_runtime_map(&dir, OVMF_RUNTIME_MAP);
        let map = read(&dir).unwrap().unwrap();
        assert_eq!(map.len(), OVMF_RUNTIME_MAP.len());
        // Entry 10 comes after entry 9, not after entry 1.
        for (read, &(kind, phys, virt, pages, attribute)) in map.iter().zip(OVMF_RUNTIME_MAP) {
            assert_eq!(
                (
                    read.kind,
                    read.phys_addr,
                    read.virt_addr,
                    read.num_pages,
                    read.attribute
                ),
                (kind, phys, virt, pages, attribute)
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_map_is_none_and_a_bad_entry_is_named() {
        let dir = scratch_dir("runtime-map-bad");
        assert_eq!(read(&dir.join("runtime-map")), Ok(None));
        write_runtime_map(&dir, &OVMF_RUNTIME_MAP[..2]);
        std::fs::write(dir.join("1/num_pages"), "many\n").unwrap();
        let err = read(&dir).unwrap_err().to_string();
        assert!(err.contains("1/num_pages: not a hex number"), "{err}");
        std::fs::create_dir(dir.join("extra")).unwrap();
        let err = read(&dir).unwrap_err().to_string();
        assert!(err.contains("extra: not a numbered"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bytes_follow_efi_memory_desc_t() {
        let md = MemoryDescriptor {
            kind: 6,
            phys_addr: 0x7f8e_e000,
            virt_addr: 0xffff_fffe_ff20_0000,
            num_pages: 0x20,
            attribute: 0x8000_0000_0000_000f,
        };
        let bytes = md.to_bytes(48);
        assert_eq!(bytes.len(), 48);
        assert_eq!(&bytes[0..8], &[6, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bytes[8..16], 0x7f8e_e000u64.to_le_bytes());
        assert_eq!(bytes[16..24], 0xffff_fffe_ff20_0000u64.to_le_bytes());
        assert_eq!(bytes[24..32], 0x20u64.to_le_bytes());
        assert_eq!(bytes[32..40], 0x8000_0000_0000_000fu64.to_le_bytes());
        assert!(bytes[40..].iter().all(|&b| b == 0));
        assert_eq!(md.to_bytes(0).len(), 40);
    }
}
