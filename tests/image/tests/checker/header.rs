//! Rules 1 and 2: the ELF header, and one `PT_LOAD` a loader can place.

use crate::mutated;
use elf_edit::field::{
    E_MACHINE, E_PHNUM, E_TYPE, P_ALIGN, P_FILESZ, P_MEMSZ, P_OFFSET, P_TYPE, P_VADDR,
};
use elf_edit::goblin::elf::header::{
    EI_CLASS, EI_DATA, EI_VERSION, ELFCLASS32, ELFDATA2MSB, EM_386, ET_EXEC,
};
use elf_edit::goblin::elf::program_header::{PT_GNU_STACK, PT_INTERP};
use purgatory_check::Violation;

// --- Rule 1: the ELF header -------------------------------------------------

#[test]
fn a_32_bit_class_is_reported() {
    let verdict = mutated(|elf| elf.set_ident(EI_CLASS, ELFCLASS32));
    assert_eq!(verdict, [Violation::ElfClass { class: 1 }]);
    assert!(verdict[0].to_string().contains("ELFCLASS64"));
}

#[test]
fn big_endian_data_is_reported_with_the_fields_as_a_loader_would_read_them() {
    let verdict = mutated(|elf| elf.set_ident(EI_DATA, ELFDATA2MSB));
    assert_eq!(
        verdict,
        [
            Violation::ElfEndianness { data: 2 },
            Violation::ElfMachine { machine: 0x3e00 },
            Violation::ElfType { e_type: 0x0300 },
        ]
    );
}

#[test]
fn an_elf_version_other_than_current_is_reported() {
    // The patched kernel refuses it; the checker did not (found by the
    // differential test with the kernel's own code).
    let verdict = mutated(|elf| elf.set_ident(EI_VERSION, 2));
    assert_eq!(verdict, [Violation::ElfVersion { version: 2 }]);
    assert!(
        verdict[0].to_string().contains("EV_CURRENT"),
        "{}",
        verdict[0]
    );
}

#[test]
fn another_machine_is_reported() {
    let verdict = mutated(|elf| elf.set_header(E_MACHINE, EM_386.into()));
    assert_eq!(verdict, [Violation::ElfMachine { machine: 3 }]);
    assert!(verdict[0].to_string().contains("EM_386"), "{}", verdict[0]);
}

#[test]
fn an_executable_type_is_reported() {
    let verdict = mutated(|elf| elf.set_header(E_TYPE, ET_EXEC.into()));
    assert_eq!(verdict, [Violation::ElfType { e_type: 2 }]);
    assert!(verdict[0].to_string().contains("ET_EXEC"), "{}", verdict[0]);
}

// --- Rule 2: the program headers ---------------------------------------------

#[test]
fn no_program_header_is_reported() {
    let verdict = mutated(|elf| elf.set_header(E_PHNUM, 0));
    assert_eq!(verdict, [Violation::ProgramHeaderCount { count: 0 }]);
}

#[test]
fn a_second_program_header_is_named() {
    // A new table at the end of the file: the PT_LOAD, then a PT_INTERP.
    let verdict = mutated(|elf| elf.duplicate_program_header(0, PT_INTERP));
    assert_eq!(
        verdict,
        [
            Violation::ProgramHeaderCount { count: 2 },
            Violation::ProgramHeaderType {
                index: 1,
                p_type: 3
            },
        ]
    );
    assert!(
        verdict[1].to_string().contains("PT_INTERP"),
        "{}",
        verdict[1]
    );
}

#[test]
fn a_program_header_other_than_pt_load_is_named() {
    let verdict = mutated(|elf| elf.set_program_header(0, P_TYPE, PT_GNU_STACK.into()));
    assert_eq!(
        verdict,
        [Violation::ProgramHeaderType {
            index: 0,
            p_type: 0x6474_e551
        }]
    );
    assert!(
        verdict[0].to_string().contains("PT_GNU_STACK"),
        "{}",
        verdict[0]
    );
}

#[test]
fn a_segment_not_at_file_offset_0_is_reported() {
    let mut file_len = 0;
    let mut filesz = 0;
    let mut p_offset = 0;
    let verdict = mutated(|elf| {
        file_len = elf.bytes().len() as u64;
        filesz = elf.program_header(0)?.p_filesz;
        // The first page boundary that moves the segment's end past the end
        // of the file, whatever the size of the tables after it.
        p_offset = (file_len - filesz + 1).next_multiple_of(0x1000);
        elf.set_program_header(0, P_OFFSET, p_offset)
    });
    assert_eq!(
        verdict,
        [
            Violation::SegmentOffset { p_offset },
            Violation::SegmentOutsideFile {
                p_offset,
                p_filesz: filesz,
                file_len
            },
        ]
    );
}

#[test]
fn a_segment_not_linked_at_0_is_reported() {
    let verdict = mutated(|elf| elf.set_program_header(0, P_VADDR, 0x20_0000));
    assert_eq!(verdict, [Violation::SegmentVaddr { p_vaddr: 0x20_0000 }]);
}

#[test]
fn filesz_above_memsz_is_reported() {
    let (mut filesz, mut stack_end) = (0, 0);
    let verdict = mutated(|elf| {
        filesz = elf.program_header(0)?.p_filesz;
        stack_end = elf.symbol("stack_end")?.sym.st_value;
        elf.set_program_header(0, P_MEMSZ, filesz - 1)
    });
    // The stack in .bss is now past the segment too.
    assert_eq!(
        verdict,
        [
            Violation::SegmentSizes {
                p_filesz: filesz,
                p_memsz: filesz - 1
            },
            Violation::StackEndOutsideImage {
                value: stack_end,
                memsz: filesz - 1
            }
        ]
    );
}

#[test]
fn a_segment_over_16_mib_in_memory_is_reported() {
    // Found by the fuzzer: a loader allocates p_memsz bytes.
    let verdict = mutated(|elf| elf.set_program_header(0, P_MEMSZ, (16 << 20) + 1));
    assert_eq!(
        verdict,
        [Violation::SegmentTooLarge {
            p_memsz: (16 << 20) + 1
        }]
    );
    let at_limit = mutated(|elf| elf.set_program_header(0, P_MEMSZ, 16 << 20));
    assert_eq!(at_limit, []);
}

#[test]
fn an_alignment_that_is_not_a_power_of_two_is_reported() {
    // Not a power of two, or more than a large page (no placement below 2^52).
    for align in [0, 0x1800, 3, 4 << 20, 1 << 60] {
        let verdict = mutated(|elf| elf.set_program_header(0, P_ALIGN, align));
        assert_eq!(verdict, [Violation::SegmentAlign { p_align: align }]);
    }
}

#[test]
fn a_segment_past_the_end_of_the_file_is_reported() {
    let mut file_len = 0;
    let verdict = mutated(|elf| {
        file_len = elf.bytes().len() as u64;
        assert!(
            elf.program_header(0)?.p_memsz > file_len,
            "the zero tail is longer"
        );
        elf.set_program_header(0, P_FILESZ, file_len + 1)
    });
    assert_eq!(
        verdict,
        [Violation::SegmentOutsideFile {
            p_offset: 0,
            p_filesz: file_len + 1,
            file_len
        }]
    );
}
