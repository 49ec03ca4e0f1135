//! Purpose-built and foreign inputs: a bare header, unreadable files,
//! garbage, a Linux executable, a Linux-style relocatable purgatory.

use crate::{CONTRACT_SYMBOLS, built_elf, built_purgatory, lines, missing_contract_symbols, rules};
use elf_edit::Elf;
use elf_edit::field::{E_PHENTSIZE, E_PHNUM};
use elf_edit::goblin::elf::header::{EM_X86_64, ET_DYN};
use purgatory_abi::{STACK_END_SYMBOL, VERIFY_SYMBOL};
use purgatory_check::{Violation, check};

// --- Purpose-built and foreign inputs ------------------------------------------

/// An ELF64 x86_64 ET_DYN header and nothing else.
fn bare_header() -> Vec<u8> {
    elf_edit::header_only(ET_DYN, EM_X86_64)
}

#[test]
fn a_bare_header_lists_everything_missing() {
    let mut expected = vec![
        Violation::ProgramHeaderCount { count: 0 },
        Violation::SectionHeaders { shnum: 0, shoff: 0 },
        Violation::MissingSymtab,
    ];
    expected.extend(missing_contract_symbols());
    assert_eq!(check(&bare_header()), Ok(expected));
}

#[test]
fn unreadable_files_say_why() {
    let message = |bytes: &[u8]| check(bytes).unwrap_err().to_string();
    assert_eq!(message(b""), "not an ELF file: only 0 bytes");
    assert_eq!(
        message(b"MZ\x90\x00 not an ELF"),
        "not an ELF file: bad magic"
    );
    assert!(message(b"\x7fELF\x02\x01\x01").starts_with("truncated"));
    assert!(message(&bare_header()[..40]).starts_with("truncated: the ELF header"));

    let real = built_elf();
    let header = real.header().unwrap();
    let shoff = header.e_shoff as usize;
    let cut = message(&real.bytes()[..shoff + 10]);
    assert_eq!(
        cut,
        format!(
            "truncated: section headers at {shoff:#x} ({} x 64 bytes) past end of file (size {:#x})",
            header.e_shnum,
            shoff + 10
        )
    );

    let mut wide = Elf::parse(bare_header()).unwrap();
    wide.set_header(E_PHNUM, 1).unwrap();
    wide.set_header(E_PHENTSIZE, 64).unwrap();
    assert!(message(wide.bytes()).contains("entry size is 64, expected 56"));
}

#[test]
fn garbage_never_panics() {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let real = built_purgatory();
    let mut inputs: Vec<Vec<u8>> = vec![vec![], b"\x7fELF".to_vec()];
    for len in [1, 15, 16, 63, 64, 65, 200, 4096, 65536] {
        inputs.push(std::iter::repeat_with(|| rng.u8(..)).take(len).collect());
        let mut elf_junk = b"\x7fELF\x02\x01\x01".to_vec();
        elf_junk.extend(std::iter::repeat_with(|| rng.u8(..)).take(len));
        inputs.push(elf_junk);
    }
    for input in &inputs {
        let _ = check(input);
    }
    for len in (0..200).chain((200..real.len()).step_by(97)) {
        let _ = check(&real[..len]);
    }
    // Random corruption of the real image: headers, tables, code.
    for _ in 0..300 {
        let mut bytes = real.clone();
        for _ in 0..rng.usize(1..8) {
            let at = rng.usize(..bytes.len());
            bytes[at] = rng.u8(..);
        }
        let _ = check(&bytes);
    }
    // Every header field set to extremes.
    for at in 0..64 {
        for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            let mut bytes = real.clone();
            bytes[at] = value;
            let _ = check(&bytes);
        }
    }
}

#[test]
fn a_linux_executable_is_refused_for_the_right_reasons() {
    let exe = std::env::current_exe().expect("the test binary's path");
    let bytes = std::fs::read(&exe).expect("the test binary is readable");
    let verdict = check(&bytes).expect("the test binary is a readable ELF");
    let rules = rules(&verdict);
    for rule in ["program-headers", "program-header-type", "dynamic-linking"] {
        assert!(
            rules.contains(&rule),
            "{rule} missing from{}",
            lines(&verdict)
        );
    }
    // A stripped binary has no .symtab at all; otherwise each symbol is missing.
    if !rules.contains(&"missing-symtab") {
        for symbol in CONTRACT_SYMBOLS {
            assert!(
                verdict.contains(&Violation::MissingSymbol { symbol }),
                "{symbol} not reported missing:{}",
                lines(&verdict)
            );
        }
    }
    for violation in &verdict {
        let line = violation.to_string();
        assert!(!line.contains('\n'), "not one line: {line}");
    }
}

/// A Linux-style purgatory: a partially linked object full of relocations.
const LINUX_STYLE_PURGATORY: &str = r#"
struct region { unsigned long start, len; };
struct region purgatory_sha_regions[16] = { { 1, 0 } };
unsigned char purgatory_sha256_digest[32] = { 1 };
unsigned long entry64_regs[17] = { 1 };
extern void purgatory(void);
extern char gdt[];
char *gdt_pointer = gdt;
void purgatory_start(void) { purgatory(); }
"#;

#[test]
fn a_linux_style_relocatable_purgatory_is_refused_with_its_relocations_named() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("checker-et-rel");
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("purgatory.c");
    let object = dir.join("purgatory.ro");
    std::fs::write(&source, LINUX_STYLE_PURGATORY).unwrap();
    let status = std::process::Command::new("cc")
        .args(["-c", "-O2", "-fno-pic", "-mcmodel=large", "-o"])
        .arg(&object)
        .arg(&source)
        .status()
        .unwrap_or_else(|err| {
            panic!("cannot run `cc` ({err}): this test needs a C compiler (CI installs gcc)")
        });
    assert!(status.success(), "cc failed on {}", source.display());

    let verdict =
        check(&std::fs::read(&object).unwrap()).expect("an object file is a readable ELF");
    eprintln!("verdict on {}:{}", object.display(), lines(&verdict));
    let relocations: Vec<&str> = verdict
        .iter()
        .filter_map(|v| match v {
            Violation::RelocationSection { section, .. } => Some(section.as_str()),
            _ => None,
        })
        .collect();
    for expected in [
        Violation::ElfType { e_type: 1 },
        Violation::ProgramHeaderCount { count: 0 },
        Violation::UndefinedSymbol {
            symbol: "purgatory".into(),
        },
        Violation::UndefinedSymbol {
            symbol: "gdt".into(),
        },
        Violation::MissingSymbol {
            symbol: STACK_END_SYMBOL,
        },
        Violation::MissingSymbol {
            symbol: VERIFY_SYMBOL,
        },
    ] {
        assert!(
            verdict.contains(&expected),
            "{expected:?} missing from{}",
            lines(&verdict)
        );
    }
    assert!(
        relocations.contains(&".rela.text") && relocations.contains(&".rela.data"),
        "relocation sections not named:{}",
        lines(&verdict)
    );
    assert!(verdict[0].to_string().contains("ET_REL"), "{}", verdict[0]);
}
