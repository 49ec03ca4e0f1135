//! The rules on the file's layout: the ELF header, the single PT_LOAD, the
//! sections' placement, and the absence of anything needing relocation or
//! dynamic linking.

use goblin::elf::dynamic::{DT_JMPREL, DT_NEEDED, DT_NULL, DT_REL, DT_RELA, DT_TEXTREL};
use goblin::elf::header::{
    EI_VERSION, ELFCLASS64, ELFDATA2LSB, EM_X86_64, ET_DYN, ET_REL, EV_CURRENT, Header,
};
use goblin::elf::program_header::{PT_LOAD, ProgramHeader};
use goblin::elf::section_header::{
    SHF_ALLOC, SHT_DYNAMIC, SHT_DYNSYM, SHT_NOBITS, SHT_NULL, SHT_REL, SHT_RELA,
};
use goblin::elf64;

use super::elf::{DT_RELR, SHT_RELR, Section, Tables};
use super::findings::Findings;
use super::limits::{MAX_SEGMENT_ALIGN, MAX_SEGMENT_SIZE};
use super::violation::Violation;

/// The identification of a file that is not ELF64 little-endian.
pub(super) fn check_ident(class: u8, data: u8, out: &mut Findings) {
    if class != ELFCLASS64 {
        out.push(Violation::ElfClass { class });
    }
    if data != ELFDATA2LSB {
        out.push(Violation::ElfEndianness { data });
    }
}

pub(super) fn check_header(header: &Header, out: &mut Findings) {
    // Linux's check of a purgatory file refuses any other ELF version.
    let version = header.e_ident[EI_VERSION];
    if version != EV_CURRENT {
        out.push(Violation::ElfVersion { version });
    }
    if header.e_machine != EM_X86_64 {
        out.push(Violation::ElfMachine {
            machine: header.e_machine,
        });
    }
    if header.e_type != ET_DYN {
        out.push(Violation::ElfType {
            e_type: header.e_type,
        });
    }
}

/// Returns the PT_LOAD the other rules measure against, if there is one.
pub(super) fn check_program_headers<'i>(
    image: &'i Tables<'_>,
    out: &mut Findings,
) -> Option<&'i ProgramHeader> {
    if image.segments.len() != 1 {
        out.push(Violation::ProgramHeaderCount {
            count: image.header.e_phnum,
        });
    }
    for (index, ph) in image.segments.iter().enumerate() {
        if ph.p_type != PT_LOAD {
            out.push(Violation::ProgramHeaderType {
                index,
                p_type: ph.p_type,
            });
        }
    }
    let load = image.load_segment()?;
    if load.p_offset != 0 {
        out.push(Violation::SegmentOffset {
            p_offset: load.p_offset,
        });
    }
    if load.p_vaddr != 0 {
        out.push(Violation::SegmentVaddr {
            p_vaddr: load.p_vaddr,
        });
    }
    if load.p_filesz > load.p_memsz {
        out.push(Violation::SegmentSizes {
            p_filesz: load.p_filesz,
            p_memsz: load.p_memsz,
        });
    }
    if load.p_memsz > MAX_SEGMENT_SIZE {
        out.push(Violation::SegmentTooLarge {
            p_memsz: load.p_memsz,
        });
    }
    if !load.p_align.is_power_of_two() || load.p_align > MAX_SEGMENT_ALIGN {
        out.push(Violation::SegmentAlign {
            p_align: load.p_align,
        });
    }
    let file_len = image.bytes.len() as u64;
    if load
        .p_offset
        .checked_add(load.p_filesz)
        .is_none_or(|end| end > file_len)
    {
        out.push(Violation::SegmentOutsideFile {
            p_offset: load.p_offset,
            p_filesz: load.p_filesz,
            file_len,
        });
    }
    // Linux's condition for a linked purgatory: the entry is loaded code.
    if image.header.e_type != ET_REL && image.header.e_entry >= load.p_filesz {
        out.push(Violation::EntryOutsideFile {
            entry: image.header.e_entry,
            filesz: load.p_filesz,
        });
    }
    Some(load)
}

pub(super) fn check_sections(image: &Tables<'_>, out: &mut Findings) {
    if image.sections.is_empty() {
        out.push(Violation::SectionHeaders {
            shnum: image.header.e_shnum,
            shoff: image.header.e_shoff,
        });
        return;
    }
    if !image.names_readable {
        out.push(Violation::SectionNames {
            shstrndx: image.header.e_shstrndx,
        });
    }
    // Only meaningful for a linked image; in an ET_REL every sh_addr is 0.
    let linked = image.is_linked();
    for section in &image.sections {
        let sh = &section.header;
        if sh.sh_type == SHT_NOBITS {
            continue;
        }
        // Even the null section: Linux's check of a purgatory file refuses
        // any section outside the file but a bss one.
        if section.data.is_none() {
            out.push(Violation::SectionOutsideFile {
                section: section.name(),
                offset: sh.sh_offset,
                size: sh.sh_size,
            });
        }
        if linked
            && sh.sh_type != SHT_NULL
            && section.has_flag(SHF_ALLOC)
            && sh.sh_offset != sh.sh_addr
        {
            out.push(Violation::SectionAddress {
                section: section.name(),
                offset: sh.sh_offset,
                addr: sh.sh_addr,
            });
        }
    }
}

pub(super) fn check_dynamic(image: &Tables<'_>, out: &mut Findings) {
    for section in &image.sections {
        let sh = &section.header;
        if is_relocation_section(section) {
            if sh.sh_size != 0 {
                out.push(Violation::RelocationSection {
                    section: section.name(),
                    sh_type: sh.sh_type,
                    size: sh.sh_size,
                });
            }
        } else if is_got_or_plt(section) {
            if sh.sh_size != 0 {
                out.push(Violation::GotPlt {
                    section: section.name(),
                    size: sh.sh_size,
                });
            }
        } else if is_dynamic_linking(section) {
            out.push(Violation::DynamicLinking {
                section: section.name(),
                sh_type: sh.sh_type,
            });
        }
        if sh.sh_type == SHT_DYNAMIC {
            check_dynamic_tags(section, out);
        }
    }
}

fn is_relocation_section(section: &Section<'_>) -> bool {
    matches!(section.header.sh_type, SHT_RELA | SHT_REL | SHT_RELR)
        || [".rela.", ".rel.", ".relr."]
            .iter()
            .any(|prefix| section.name_starts_with(prefix))
}

fn is_got_or_plt(section: &Section<'_>) -> bool {
    section.is_named(".got") || section.is_named(".got.plt") || section.name_starts_with(".plt")
}

fn is_dynamic_linking(section: &Section<'_>) -> bool {
    matches!(section.header.sh_type, SHT_DYNAMIC | SHT_DYNSYM)
        || [".dynamic", ".interp", ".dynsym"]
            .iter()
            .any(|name| section.is_named(name))
}

fn check_dynamic_tags(section: &Section<'_>, out: &mut Findings) {
    let Some(data) = section.data else { return };
    for entry in data.chunks_exact(elf64::dynamic::SIZEOF_DYN) {
        // d_tag: the first of the entry's two little-endian u64s.
        let tag = entry
            .first_chunk()
            .map_or(DT_NULL, |&d_tag| u64::from_le_bytes(d_tag));
        if tag == DT_NULL {
            break;
        }
        if matches!(
            tag,
            DT_RELA | DT_REL | DT_RELR | DT_JMPREL | DT_TEXTREL | DT_NEEDED
        ) {
            out.push(Violation::DynamicTag {
                section: section.name(),
                tag,
            });
        }
    }
}
