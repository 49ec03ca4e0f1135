//! Rule 3: no relocations, no GOT or PLT, nothing for a dynamic linker.

use crate::mutated;
use elf_edit::field::SH_TYPE;
use elf_edit::goblin::elf::section_header::{SHT_DYNAMIC, SHT_PROGBITS, SHT_REL, SHT_RELA};
use purgatory_check::Violation;

/// gABI's `SHT_RELR`, which goblin does not name.
const SHT_RELR: u32 = 19;

// --- Rule 3: relocations and dynamic linking ---------------------------------

#[test]
fn a_relocation_section_is_named_whatever_its_type() {
    for sh_type in [SHT_RELA, SHT_REL, SHT_RELR] {
        let mut size = 0;
        let verdict = mutated(|elf| {
            size = elf.section(".rodata")?.header.sh_size;
            elf.set_section(".rodata", SH_TYPE, sh_type.into())
        });
        assert_eq!(
            verdict,
            [Violation::RelocationSection {
                section: ".rodata".into(),
                sh_type,
                size
            }]
        );
    }
}

#[test]
fn a_section_named_like_relocations_is_reported() {
    let mut size = 0;
    let verdict = mutated(|elf| {
        size = elf.section(".rodata")?.header.sh_size;
        elf.rename_section(".rodata", ".rel.ro")
    });
    assert_eq!(
        verdict,
        [Violation::RelocationSection {
            section: ".rel.ro".into(),
            sh_type: SHT_PROGBITS,
            size
        }]
    );
    assert!(verdict[0].to_string().contains(".rel.ro"));
}

#[test]
fn got_and_plt_content_is_reported() {
    // Renamed in place, so the new name must fit over the old one.
    for (old, new) in [
        (".rodata", ".got"),
        (".rodata", ".plt"),
        (".shstrtab", ".got.plt"),
    ] {
        let mut size = 0;
        let verdict = mutated(|elf| {
            size = elf.section(old)?.header.sh_size;
            elf.rename_section(old, new)
        });
        assert_eq!(
            verdict,
            [Violation::GotPlt {
                section: new.into(),
                size
            }]
        );
    }
}

#[test]
fn interp_and_dynsym_sections_are_reported() {
    for name in [".interp", ".dynsym"] {
        let verdict = mutated(|elf| elf.rename_section(".rodata", name));
        assert_eq!(
            verdict,
            [Violation::DynamicLinking {
                section: name.into(),
                sh_type: SHT_PROGBITS
            }]
        );
    }
}

/// Turns `.rodata` into a dynamic section holding `tag` then DT_NULL.
fn with_dynamic_tag(tag: u64) -> Vec<Violation> {
    mutated(|elf| {
        elf.set_section(".rodata", SH_TYPE, SHT_DYNAMIC.into())?;
        let entries = elf.section_bytes_mut(".rodata")?;
        assert!(
            entries.len() >= 32,
            ".rodata is too small to hold two dynamic entries"
        );
        entries.fill(0);
        // The first entry's d_tag; the second entry, all zeros, is DT_NULL.
        entries[..8].copy_from_slice(&tag.to_le_bytes());
        Ok(())
    })
}

#[test]
fn a_dynamic_section_and_its_relocation_tags_are_named() {
    let tags = [
        (1, "DT_NEEDED"),
        (7, "DT_RELA"),
        (17, "DT_REL"),
        (22, "DT_TEXTREL"),
        (23, "DT_JMPREL"),
        (36, "DT_RELR"),
    ];
    for (tag, name) in tags {
        let verdict = with_dynamic_tag(tag);
        assert_eq!(
            verdict,
            [
                Violation::DynamicLinking {
                    section: ".rodata".into(),
                    sh_type: SHT_DYNAMIC
                },
                Violation::DynamicTag {
                    section: ".rodata".into(),
                    tag
                },
            ]
        );
        assert!(verdict[1].to_string().contains(name), "{}", verdict[1]);
    }
    // A harmless tag (DT_STRTAB) leaves only the section itself.
    assert_eq!(
        with_dynamic_tag(5),
        [Violation::DynamicLinking {
            section: ".rodata".into(),
            sh_type: SHT_DYNAMIC
        }]
    );
}
