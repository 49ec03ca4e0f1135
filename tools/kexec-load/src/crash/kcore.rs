//! Where the running kernel maps itself, from `/proc/kcore`'s program
//! headers (`fs/proc/kcore.c`): the kernel text mapping (`KCORE_TEXT`,
//! `_text` to `_end`, `p_paddr` = `__pa_symbol(_text)`) and the direct map
//! (`KCORE_RAM`, `p_paddr` = `__pa(vaddr)`), whose offset is `PAGE_OFFSET`,
//! randomised by KASLR. The ELF core headers give the dump's text mapping and
//! every RAM range's virtual address from them, as the kernel's own crash
//! loader does (`crash_prepare_elf64_headers`). Only the headers are read.

use super::error::CrashError;
use goblin::elf::header::{EI_CLASS, ELFCLASS64};
use goblin::elf::program_header::PT_LOAD;
use goblin::elf64::header::{Header, SIZEOF_EHDR};
use goblin::elf64::program_header::{ProgramHeader, SIZEOF_PHDR};
use scroll::{LE, Pread};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// x86_64's `__START_KERNEL_map`: the kernel text mapping lies above it, the
/// direct map below.
pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// What `/proc/kcore` puts in `p_paddr` of a mapping that is not RAM.
const NO_PADDR: u64 = u64::MAX;
/// More program headers than any kcore has; a larger count is a broken file.
const MAX_PHDRS: u16 = 4096;

/// The running kernel's mappings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelMap {
    /// `_text`.
    pub text_vaddr: u64,
    /// `__pa_symbol(_text)`.
    pub text_paddr: u64,
    /// `_end - _text`.
    pub text_size: u64,
    /// `PAGE_OFFSET`: the direct map's virtual address of physical 0.
    pub page_offset: u64,
}

impl KernelMap {
    /// Reads the ELF and program headers of `path` (`/proc/kcore`).
    pub fn read(path: &Path) -> Result<Self, CrashError> {
        let name = path.display().to_string();
        let read_error = |why: String| CrashError::Read {
            path: name.clone(),
            why,
        };
        let file = File::open(path).map_err(|e| read_error(e.to_string()))?;
        let read_at = |offset: u64, len: usize| {
            let mut bytes = vec![0u8; len];
            file.read_exact_at(&mut bytes, offset)
                .map(|()| bytes)
                .map_err(|e| read_error(format!("{len} bytes at {offset:#x}: {e}")))
        };
        let header_bytes = read_at(0, SIZEOF_EHDR)?;
        let header = Header::parse(&header_bytes).map_err(|e| malformed(&name, &e))?;
        let class = header.e_ident[EI_CLASS];
        let entry_size = usize::from(header.e_phentsize);
        if class != ELFCLASS64 || entry_size != SIZEOF_PHDR || header.e_phnum > MAX_PHDRS {
            return Err(CrashError::Malformed {
                path: name,
                why: format!(
                    "not an ELF64 core with at most {MAX_PHDRS} program headers (class {class}, \
                     e_phentsize {entry_size}, e_phnum {})",
                    header.e_phnum
                ),
            });
        }
        let table = read_at(header.e_phoff, usize::from(header.e_phnum) * entry_size)?;
        let phdrs = (0..usize::from(header.e_phnum))
            .map(|index| table.pread_with::<ProgramHeader>(index * SIZEOF_PHDR, LE))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| malformed(&name, &e))?;
        Self::from_program_headers(&phdrs, &name)
    }

    /// From kcore's PT_LOADs: the one above [`START_KERNEL_MAP`] with a
    /// physical address is the text; any other with one is the direct map.
    pub fn from_program_headers(phdrs: &[ProgramHeader], path: &str) -> Result<Self, CrashError> {
        let mapped = || {
            phdrs
                .iter()
                .filter(|p| p.p_type == PT_LOAD && p.p_paddr != NO_PADDR)
        };
        let text = mapped()
            .find(|p| p.p_vaddr >= START_KERNEL_MAP)
            .ok_or_else(|| CrashError::NoKernelMap {
                path: path.to_owned(),
                what: "kernel text mapping (a PT_LOAD above __START_KERNEL_map with a physical address)",
            })?;
        let direct = mapped()
            .find(|p| p.p_vaddr < START_KERNEL_MAP && p.p_vaddr >= p.p_paddr)
            .ok_or_else(|| CrashError::NoKernelMap {
                path: path.to_owned(),
                what: "direct map of RAM (a PT_LOAD below __START_KERNEL_map with a physical address)",
            })?;
        Ok(Self {
            text_vaddr: text.p_vaddr,
            text_paddr: text.p_paddr,
            text_size: text.p_memsz,
            page_offset: direct.p_vaddr - direct.p_paddr,
        })
    }
}

fn malformed(path: &str, error: &dyn std::fmt::Display) -> CrashError {
    CrashError::Malformed {
        path: path.to_owned(),
        why: format!("not an ELF core: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::crash::{QEMU_HIGH, QEMU_LOW, kcore_headers};
    use crate::support::scratch_dir;

    #[test]
    fn text_and_page_offset_from_a_real_kcore() {
        let dir = scratch_dir("kcore");
        for (machine, expected) in [
            (
                QEMU_LOW,
                KernelMap {
                    text_vaddr: 0xffff_ffff_8b40_0000,
                    text_paddr: 0x4120_0000,
                    text_size: 0x2c3_0000,
                    page_offset: 0xffff_8c93_4000_0000,
                },
            ),
            (
                QEMU_HIGH,
                KernelMap {
                    text_vaddr: 0xffff_ffff_9cc0_0000,
                    text_paddr: 0x1_12a0_0000,
                    text_size: 0x2c3_0000,
                    page_offset: 0xffff_88f6_4000_0000,
                },
            ),
        ] {
            let path = dir.join("kcore");
            std::fs::write(&path, kcore_headers(machine.kcore)).unwrap();
            assert_eq!(KernelMap::read(&path).unwrap(), expected);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_mappings_and_bad_files_are_named() {
        let dir = scratch_dir("kcore-bad");
        let path = dir.join("kcore");
        let only_text = &QEMU_LOW.kcore[..1];
        std::fs::write(&path, kcore_headers(only_text)).unwrap();
        let err = KernelMap::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("direct map") && err.contains("CONFIG_PROC_KCORE"),
            "{err}"
        );
        std::fs::write(&path, kcore_headers(&QEMU_LOW.kcore[1..])).unwrap();
        let err = KernelMap::read(&path).unwrap_err().to_string();
        assert!(err.contains("kernel text mapping"), "{err}");
        std::fs::write(&path, [b'x'; 128]).unwrap();
        let err = KernelMap::read(&path).unwrap_err().to_string();
        assert!(err.contains("not an ELF core"), "{err}");
        let mut truncated = kcore_headers(QEMU_LOW.kcore);
        truncated.truncate(100);
        std::fs::write(&path, truncated).unwrap();
        let err = KernelMap::read(&path).unwrap_err().to_string();
        assert!(err.contains("bytes at 0x40"), "{err}");
        let err = KernelMap::read(&dir.join("missing"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
