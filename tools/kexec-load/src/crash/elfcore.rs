//! The ELF core headers a capture kernel finds at `elfcorehdr=` and turns
//! into `/proc/vmcore` (`fs/proc/vmcore.c`): an `ET_CORE` ELF64 header, a
//! PT_NOTE per CPU (its `crash_notes`, filled on the crash), a PT_NOTE for
//! VMCOREINFO, a PT_LOAD for the kernel text mapping and one per range of RAM
//! to dump. The layout is Linux's own for a crash load
//! (`crash_prepare_elf64_headers`): `p_offset` = `p_paddr`, the text at
//! `_text`, RAM at `PAGE_OFFSET + paddr`. The capture kernel checks the
//! header (`parse_crash_elf64_headers`: magic, `ET_CORE`, the machine,
//! class, versions, both header sizes, `e_phnum` > 0) and reads each PT_LOAD
//! from `p_offset`.

use super::error::CrashError;
use super::iomem::{Iomem, Kind, Reservations};
use super::sources::CrashSources;
use super::span::{Span, subtract};
use goblin::elf::header::{
    EI_CLASS, EI_DATA, EI_VERSION, ELFCLASS64, ELFDATA2LSB, ELFMAG, EM_X86_64, ET_CORE, EV_CURRENT,
    SELFMAG,
};
use goblin::elf::program_header::{PF_R, PF_W, PF_X, PT_LOAD, PT_NOTE};
use goblin::elf64::header::{Header, SIZEOF_EHDR};
use goblin::elf64::program_header::{ProgramHeader, SIZEOF_PHDR};
use scroll::{LE, Pwrite};
use serde::{Deserialize, Serialize};

/// The first MiB is reserved by every x86 kernel since 5.13 (`reserve_real_mode`:
/// `memblock_reserve(0, SZ_1M)`), so nothing of the dead kernel is there:
/// Linux leaves it out of the dump and gives it to the capture kernel, which
/// is why no backup of low memory is needed any more.
pub const LOW_MEMORY: Span = Span::new(0, 1 << 20);
/// `PN_XNUM`: from here on `e_phnum` needs an extension.
const PN_XNUM: usize = 0xffff;

/// One PT_LOAD, for the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Load {
    /// `kernel-text` or `ram`.
    pub what: LoadKind,
    pub paddr: u64,
    pub vaddr: u64,
    pub size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadKind {
    KernelText,
    Ram,
}

/// The RAM the dump holds: System RAM without the first MiB, the
/// reservations and the CMA areas (the capture kernel's own memory).
pub fn dumped_ram(iomem: &Iomem, reservations: &Reservations, cma: &[Span]) -> Vec<Span> {
    let mut holes = vec![LOW_MEMORY];
    holes.extend(reservations.all());
    holes.extend_from_slice(cma);
    subtract(&iomem.spans(Kind::Ram), &holes)
}

/// The PT_LOADs: the kernel text, then each range of `ram`.
pub fn loads(sources: &CrashSources, ram: &[Span]) -> Vec<Load> {
    let kernel = &sources.kernel;
    let text = Load {
        what: LoadKind::KernelText,
        paddr: kernel.text_paddr,
        vaddr: kernel.text_vaddr,
        size: kernel.text_size,
    };
    let ram = ram.iter().map(|span| Load {
        what: LoadKind::Ram,
        paddr: span.start,
        vaddr: kernel.page_offset.wrapping_add(span.start),
        size: span.len(),
    });
    std::iter::once(text).chain(ram).collect()
}

/// The headers' bytes: the ELF header, then the program headers.
pub fn build(sources: &CrashSources, loads: &[Load]) -> Result<Vec<u8>, CrashError> {
    let notes = sources
        .notes
        .iter()
        .map(|note| (note.addr, note.size))
        .chain([(sources.vmcoreinfo.addr, sources.vmcoreinfo.size)])
        .map(|(addr, size)| ProgramHeader {
            p_type: PT_NOTE,
            p_offset: addr,
            p_paddr: addr,
            p_filesz: size,
            p_memsz: size,
            ..ProgramHeader::default()
        });
    let loads = loads.iter().map(|load| ProgramHeader {
        p_type: PT_LOAD,
        p_flags: PF_R | PF_W | PF_X,
        p_offset: load.paddr,
        p_vaddr: load.vaddr,
        p_paddr: load.paddr,
        p_filesz: load.size,
        p_memsz: load.size,
        p_align: 0,
    });
    let phdrs: Vec<ProgramHeader> = notes.chain(loads).collect();
    let count = u16::try_from(phdrs.len())
        .ok()
        .filter(|&n| usize::from(n) < PN_XNUM)
        .ok_or(CrashError::TooManyHeaders { count: phdrs.len() })?;
    let mut bytes = vec![0u8; SIZEOF_EHDR + phdrs.len() * SIZEOF_PHDR];
    let header = header(count);
    write(&mut bytes, header, 0)?;
    for (index, phdr) in phdrs.into_iter().enumerate() {
        write(&mut bytes, phdr, SIZEOF_EHDR + index * SIZEOF_PHDR)?;
    }
    Ok(bytes)
}

fn header(phnum: u16) -> Header {
    let mut e_ident = [0u8; 16];
    e_ident[..SELFMAG].copy_from_slice(ELFMAG);
    e_ident[EI_CLASS] = ELFCLASS64;
    e_ident[EI_DATA] = ELFDATA2LSB;
    e_ident[EI_VERSION] = EV_CURRENT;
    Header {
        e_ident,
        e_type: ET_CORE,
        e_machine: EM_X86_64,
        e_version: EV_CURRENT.into(),
        e_phoff: SIZEOF_EHDR as u64,
        e_ehsize: SIZEOF_EHDR as u16,
        e_phentsize: SIZEOF_PHDR as u16,
        e_phnum: phnum,
        ..Header::default()
    }
}

fn write<T>(bytes: &mut [u8], value: T, at: usize) -> Result<(), CrashError>
where
    T: scroll::ctx::TryIntoCtx<scroll::Endian>,
    T::Error: From<scroll::Error> + std::fmt::Display,
{
    bytes
        .pwrite_with(value, at, LE)
        .map(drop)
        .map_err(|error| CrashError::Malformed {
            path: "the ELF core headers".into(),
            why: format!("cannot write at {at:#x}: {error}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::crash::{NOTE_SIZE, QEMU_HIGH, VMCOREINFO_SIZE};
    use goblin::elf::Elf;

    fn qemu_high() -> CrashSources {
        crate::testing::crash_sources(&QEMU_HIGH)
    }

    #[test]
    fn the_dump_leaves_out_low_memory_the_reservations_and_cma() {
        let sources = qemu_high();
        let reservations = Reservations::find(&sources.iomem).unwrap();
        let cma = [Span::new(0x1_4000_0000, 0x1_4800_0000)];
        assert_eq!(
            dumped_ram(&sources.iomem, &reservations, &cma),
            [
                Span::new(0x10_0000, 0xaf00_0000),
                Span::new(0xbf00_0000, 0xbffe_0000),
                Span::new(0x1_0000_0000, 0x1_4000_0000),
                Span::new(0x1_4800_0000, 0x1_af00_0000),
                Span::new(0x1_bf00_0000, 0x1_c000_0000),
            ]
        );
    }

    /// What goblin reads back is what the capture kernel's checks want.
    #[test]
    fn headers_as_the_capture_kernel_reads_them() {
        let sources = qemu_high();
        let reservations = Reservations::find(&sources.iomem).unwrap();
        let ram = dumped_ram(&sources.iomem, &reservations, &[]);
        let loads = loads(&sources, &ram);
        let bytes = build(&sources, &loads).unwrap();
        assert_eq!(bytes.len(), 64 + 56 * (2 + 1 + 1 + 4));
        let elf = Elf::parse(&bytes).unwrap();
        let h = &elf.header;
        assert_eq!(&h.e_ident[..4], b"\x7fELF");
        assert_eq!((h.e_ident[4], h.e_ident[5], h.e_ident[6]), (2, 1, 1));
        assert_eq!((h.e_type, h.e_machine, h.e_version), (4, 62, 1));
        assert_eq!((h.e_ehsize, h.e_phentsize, h.e_phoff), (64, 56, 64));
        let p = &elf.program_headers;
        assert_eq!(p.len(), 8);
        for (phdr, addr) in p.iter().zip([0x1_bfc3_da00, 0x1_bfd3_da00]) {
            assert_eq!(
                (
                    phdr.p_type,
                    phdr.p_offset,
                    phdr.p_paddr,
                    phdr.p_filesz,
                    phdr.p_memsz
                ),
                (4, addr, addr, NOTE_SIZE, NOTE_SIZE)
            );
        }
        assert_eq!(
            (p[2].p_type, p[2].p_paddr, p[2].p_memsz),
            (4, 0x1_0039_a000, VMCOREINFO_SIZE)
        );
        assert_eq!(
            (
                p[3].p_type,
                p[3].p_flags,
                p[3].p_vaddr,
                p[3].p_paddr,
                p[3].p_memsz
            ),
            (1, 7, 0xffff_ffff_9cc0_0000, 0x1_12a0_0000, 0x2c3_0000)
        );
        let last = &p[7];
        assert_eq!(
            (last.p_offset, last.p_paddr, last.p_vaddr, last.p_filesz),
            (
                0x1_bf00_0000,
                0x1_bf00_0000,
                0xffff_88f6_4000_0000 + 0x1_bf00_0000,
                0x100_0000
            )
        );
        assert!(
            p[3..]
                .iter()
                .all(|phdr| phdr.p_type == 1 && phdr.p_offset == phdr.p_paddr)
        );
    }
}
