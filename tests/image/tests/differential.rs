//! One verdict from the checker, the host library and the patched kernel
//! (its own `kexec_file.c`, compiled for user space: see
//! `purgatory_differential::kernel`) on the real image, on one edit per
//! refusal the patch series can make, and on thousands of random edits:
//! `compare` fails on any disagreement. `cargo xtask fuzz --target
//! differential` runs the same comparison on libFuzzer's edits.
//!
//! Without a kernel tree (`PURGATORY_KERNEL_SRC` unset at build time) the
//! checker and the library are still compared, and the kernel's part says
//! `SKIPPED`; in CI that is a failure.

use std::collections::BTreeSet;

use elf_edit::Elf;
use elf_edit::field::{
    E_ENTRY, E_PHENTSIZE, E_PHOFF, E_SHOFF, E_TYPE, P_ALIGN, P_FILESZ, P_MEMSZ, P_OFFSET, P_TYPE,
    SH_ENTSIZE, SH_LINK, SH_OFFSET, SH_SIZE, SH_TYPE, ST_NAME, ST_SHNDX, ST_SIZE, ST_VALUE,
};
use elf_edit::goblin::elf::header::{EI_CLASS, EI_VERSION, ELFCLASS32, ET_EXEC, ET_REL};
use elf_edit::goblin::elf::program_header::PT_NOTE;
use elf_edit::goblin::elf::section_header::{SHN_ABS, SHN_UNDEF, SHT_PROGBITS};
use purgatory_abi::{
    ENTRY_SYMBOL, ENTRY64_REGS_SYMBOL, FLAGS_SYMBOL, SHA256_DIGEST_SYMBOL, STACK_END_SYMBOL,
};
use purgatory_differential::kernel::{KERNEL_MESSAGES, Outcome, Refusal};
use purgatory_differential::{
    Checker, EDIT_LEN, Judge, Kernel, Library, Verdict, apply_edits, compare,
};
use purgatory_tests::built_purgatory;

fn accepted(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Accepted(_))
}

fn checker() -> Checker {
    Checker {
        structural_only: false,
    }
}

fn agree(elf: &[u8], kernel: Option<&Kernel>) {
    compare(elf, kernel.map(|k| k as &dyn Judge)).unwrap_or_else(|d| panic!("{d}"));
}

#[test]
fn the_real_image_is_accepted_by_every_judge_and_read_alike() {
    let elf = built_purgatory();
    let kernel = Kernel::or_skip();
    agree(&elf, kernel.as_ref());
    let checker = checker();
    let mut judges: Vec<&dyn Judge> = vec![&checker, &Library];
    judges.extend(kernel.as_ref().map(|k| k as &dyn Judge));
    for judge in judges {
        assert!(accepted(&judge.judge(&elf)), "{} refuses it", judge.name());
    }
}

/// The line of the one `pr_err` whose format starts with `start`.
fn message_line(start: &str) -> u32 {
    let found: Vec<_> = KERNEL_MESSAGES
        .iter()
        .filter(|(_, _, format)| format.starts_with(start))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "messages starting with {start:?}: {found:?}"
    );
    found[0].0
}

type Edit = fn(&mut Elf) -> elf_edit::Result<()>;

/// One broken file per refusal of the series, with the start of the
/// message the kernel must refuse it with.
const REFUSALS: &[(&str, Edit)] = &[
    ("purgatory: %s is not an ELF file", |e| {
        e.set_ident(EI_CLASS, ELFCLASS32)
    }),
    ("purgatory: %s is not an ELF file", |e| {
        e.set_ident(EI_VERSION, 2)
    }),
    ("purgatory: %s is partially linked", |e| {
        e.set_header(E_TYPE, ET_REL.into())
    }),
    ("purgatory: ELF type", |e| {
        e.set_header(E_TYPE, ET_EXEC.into())
    }),
    ("purgatory: %u program headers", |e| {
        e.duplicate_program_header(0, PT_NOTE)
    }),
    ("purgatory: program header (", |e| {
        e.set_header(E_PHENTSIZE, 32)
    }),
    ("purgatory: program header (", |e| {
        e.set_header(E_PHOFF, 1 << 40)
    }),
    ("purgatory: program header type", |e| {
        e.set_program_header(0, P_TYPE, PT_NOTE.into())
    }),
    ("purgatory: PT_LOAD at file offset", |e| {
        e.set_program_header(0, P_OFFSET, 0x1000)
    }),
    ("purgatory: PT_LOAD p_filesz", |e| {
        e.set_program_header(0, P_MEMSZ, 0x100)
    }),
    ("purgatory: PT_LOAD p_filesz", |e| {
        e.set_program_header(0, P_FILESZ, 1 << 20)
    }),
    ("purgatory: PT_LOAD p_memsz", |e| {
        e.set_program_header(0, P_MEMSZ, 32 << 20)
    }),
    ("purgatory: PT_LOAD p_align", |e| {
        e.set_program_header(0, P_ALIGN, 0)
    }),
    ("purgatory: PT_LOAD p_align", |e| {
        e.set_program_header(0, P_ALIGN, 0x1800)
    }),
    ("purgatory: PT_LOAD p_align", |e| {
        e.set_program_header(0, P_ALIGN, 4 << 20)
    }),
    ("purgatory: entry point %#llx is outside", |e| {
        let filesz = e.program_header(0)?.p_filesz;
        e.set_header(E_ENTRY, filesz)
    }),
    ("purgatory: symbol table %d: entry size", |e| {
        e.set_section(".symtab", SH_ENTSIZE, 16)
    }),
    ("purgatory: symbol table %d: entry size", |e| {
        e.set_section(".symtab", SH_LINK, 99)
    }),
    ("purgatory: symbol table %d is not linked", |e| {
        e.set_section(".symtab", SH_LINK, 6)
    }),
    ("purgatory: symbol table %d is not linked", |e| {
        let size = e.section(".strtab")?.header.sh_size;
        e.set_section(".strtab", SH_SIZE, size - 1)
    }),
    ("purgatory: symbol %zu of table", |e| {
        e.set_symbol(FLAGS_SYMBOL, ST_NAME, 1 << 30)
    }),
    ("purgatory: symbol %zu of table", |e| {
        e.set_symbol(FLAGS_SYMBOL, ST_SHNDX, 0x1234)
    }),
    // Any entry, not only the ones the kernel looks up (found by the fuzzer).
    ("purgatory: symbol %zu of table", |e| {
        let other = e.symbols()?.into_iter().find(|s| s.name.starts_with("_ZN"));
        let other = other.expect("a Rust symbol").name;
        e.set_symbol(&other, ST_SHNDX, 527)
    }),
    ("purgatory: section header table", |e| {
        e.set_header(E_SHOFF, 1 << 40)
    }),
    ("purgatory: section %d (offset", |e| {
        e.set_section(".data", SH_OFFSET, 1 << 40)
    }),
    ("purgatory: no symbol table", |e| {
        e.set_section(".symtab", SH_TYPE, SHT_PROGBITS.into())
    }),
    ("purgatory: entry point %#llx is not purgatory_start", |e| {
        let entry = e.header()?.e_entry;
        e.set_symbol(ENTRY_SYMBOL, ST_VALUE, entry + 1)
    }),
    ("symbol %s at %#llx is outside", |e| {
        let memsz = e.program_header(0)?.p_memsz;
        e.set_symbol(STACK_END_SYMBOL, ST_VALUE, memsz + 1)
    }),
    ("symbol %s size mismatch", |e| {
        e.set_symbol(ENTRY64_REGS_SYMBOL, ST_SIZE, 128)
    }),
    ("symbol %s is in a bss section", |e| {
        let bss = e.symbol(STACK_END_SYMBOL)?.sym.st_shndx;
        e.set_symbol(ENTRY64_REGS_SYMBOL, ST_SHNDX, bss.into())
    }),
    ("symbol %s (%#llx, %u bytes) is outside", |e| {
        let filesz = e.program_header(0)?.p_filesz;
        e.set_symbol(SHA256_DIGEST_SYMBOL, ST_VALUE, filesz - 8)
    }),
];

/// The kernel's refusal of `elf`, which the checker must refuse too, with
/// every judge in agreement.
fn refused_by_both(kernel: &Kernel, elf: &[u8], what: &str) -> Refusal {
    agree(elf, Some(kernel));
    assert!(
        !accepted(&checker().judge(elf)),
        "{what}: the checker passes it"
    );
    match kernel.run(elf) {
        Outcome::Refused(refusal) => refusal,
        other => panic!("{what}: the kernel does not refuse it: {other:?}"),
    }
}

#[test]
fn every_refusal_of_the_series_is_reached_and_the_checker_refuses_it_too() {
    let Some(kernel) = Kernel::or_skip() else {
        return;
    };
    let base = built_purgatory();
    let mut reached = BTreeSet::new();
    for (index, (start, edit)) in REFUSALS.iter().enumerate() {
        let mut elf = Elf::parse(base.clone()).unwrap();
        edit(&mut elf).unwrap_or_else(|e| panic!("edit {index} ({start}): {e}"));
        let refusal = refused_by_both(&kernel, elf.bytes(), start);
        assert_eq!(refusal.line, message_line(start), "edit {index}: {refusal}");
        reached.insert(refusal.line);
    }
    // An empty file cannot be read (kernel_read_file() refuses it).
    let refusal = refused_by_both(&kernel, &[], "an empty file");
    assert_eq!(
        refusal.line,
        message_line("purgatory: cannot read"),
        "{refusal}"
    );
    reached.insert(refusal.line);
    let missed: Vec<_> = KERNEL_MESSAGES
        .iter()
        .filter(|(line, ..)| !reached.contains(line))
        .collect();
    assert!(missed.is_empty(), "refusals no case reaches: {missed:#?}");
}

#[test]
fn a_symbol_the_kernel_cannot_find_is_refused_without_a_message() {
    let Some(kernel) = Kernel::or_skip() else {
        return;
    };
    let base = built_purgatory();
    // Not there, not global, or in no real section (find_symbol's
    // pr_debug): kexec_purgatory_find_symbol() returns NULL.
    let edits: [Edit; 4] = [
        |e| e.rename_symbol(ENTRY64_REGS_SYMBOL, "entry64_regz"),
        |e| e.set_symbol_binding(STACK_END_SYMBOL, 0),
        |e| e.set_symbol(ENTRY64_REGS_SYMBOL, ST_SHNDX, SHN_UNDEF.into()),
        |e| e.set_symbol(SHA256_DIGEST_SYMBOL, ST_SHNDX, SHN_ABS.into()),
    ];
    for (index, edit) in edits.iter().enumerate() {
        let mut elf = Elf::parse(base.clone()).unwrap();
        edit(&mut elf).unwrap();
        let refusal = refused_by_both(&kernel, elf.bytes(), "a symbol not found");
        assert!(
            refusal.function().is_none() && refusal.error == -22,
            "edit {index}: {refusal}"
        );
    }
}

#[test]
fn an_et_exec_is_refused_with_its_type_named() {
    let Some(kernel) = Kernel::or_skip() else {
        return;
    };
    let mut elf = Elf::parse(built_purgatory()).unwrap();
    elf.set_header(E_TYPE, ET_EXEC.into()).unwrap();
    let refusal = refused_by_both(&kernel, elf.bytes(), "ET_EXEC");
    assert!(
        refusal
            .message
            .contains("ELF type 2 (ET_EXEC) is not ET_DYN"),
        "{refusal}"
    );
    assert!(matches!(Library.judge(elf.bytes()), Verdict::Refused(_)));
}

#[test]
fn thousands_of_edited_images_get_one_verdict() {
    let kernel = Kernel::or_skip();
    let base = built_purgatory();
    let mut rng = fastrand::Rng::with_seed(0xd1ff);
    let (mut all_accept, mut both_refuse, mut checker_only) = (0, 0, 0);
    let mut refusals = BTreeSet::new();
    for case in 0..1000 {
        let edits = 1 + case % 3;
        let script: Vec<u8> = (0..edits * EDIT_LEN).map(|_| rng.u8(..)).collect();
        let elf = apply_edits(&base, &script);
        if let Err(disagreement) = compare(&elf, kernel.as_ref().map(|k| k as &dyn Judge)) {
            panic!("case {case}, script {script:02x?}: {disagreement}");
        }
        let Some(kernel) = &kernel else { continue };
        match (accepted(&checker().judge(&elf)), kernel.run(&elf)) {
            (true, _) => all_accept += 1,
            (false, Outcome::Refused(refusal)) => {
                both_refuse += 1;
                refusals.insert(refusal.line);
            }
            (false, _) => checker_only += 1,
        }
    }
    if kernel.is_none() {
        return;
    }
    // Not a vacuous run: each kind of verdict occurs, for many reasons.
    assert!(all_accept > 25, "{all_accept} accepted by every judge");
    assert!(both_refuse > 100, "{both_refuse} refused by the kernel");
    assert!(
        checker_only > 100,
        "{checker_only} refused by the checker alone"
    );
    assert!(
        refusals.len() > 10,
        "the kernel refused at {refusals:?} only"
    );
}

#[test]
fn the_harness_reports_a_read_past_the_file_as_a_fault() {
    let Some(kernel) = Kernel::or_skip() else {
        return;
    };
    assert!(
        kernel.guard_catches_overruns(),
        "a read past the guarded buffer went unnoticed"
    );
}
