//! One verdict: images that passed the checker although Linux's loader
//! refuses them or the library mishandled them. Each case is refused by the
//! checker and, for a structural fault, by `Purgatory::parse`, which runs the
//! same rules. `differential.rs` then shows agreement beyond these cases.

use crate::{built_elf, lines, rules};
use elf_edit::Elf;
use elf_edit::field::{E_ENTRY, SH_FLAGS, SH_NAME, SH_SIZE, ST_NAME, ST_SHNDX, ST_VALUE};
use elf_edit::goblin::elf::section_header::SHF_EXECINSTR;
use elf_edit::goblin::elf64::sym::SIZEOF_SYM;
use purgatory_abi::{
    CONSOLE_PORT_SYMBOL, ENTRY_SYMBOL, ENTRY64_REGS_SYMBOL, STACK_END_SYMBOL, VERIFY_SYMBOL,
};
use purgatory_check::check;
use purgatory_host::{ImageError, LoadError, Purgatory};

/// Asserts the checker's rules on `elf`, and that the library refuses it when
/// `structural` (an instruction rule is the checker's alone).
fn refused(elf: &Elf, expected: &[&str], structural: bool) {
    let verdict = check(elf.bytes()).expect("still a readable ELF");
    assert_eq!(rules(&verdict), expected, "{}", lines(&verdict));
    let parsed = Purgatory::parse(elf.bytes());
    if structural {
        assert!(
            matches!(parsed, Err(LoadError::Image(ImageError::Contract(_)))),
            "the library accepted what the checker refuses: {parsed:?}"
        );
    }
}

/// A symbol of the image that is none of the contract's: a Rust function.
fn rust_symbol(elf: &Elf) -> String {
    let symbols = elf.symbols().unwrap().into_iter();
    let mut rust = symbols.filter(|s| s.name.starts_with("_ZN"));
    rust.next().expect("a Rust symbol").name
}

/// `code` written over the start of `function`, the rest int3.
fn write_code(elf: &mut Elf, function: &str, code: &[u8]) -> elf_edit::Result<u64> {
    let address = elf.symbol(function)?.sym.st_value;
    let body = elf.symbol_bytes_mut(function)?;
    body.fill(0xcc);
    body[..code.len()].copy_from_slice(code);
    Ok(address)
}

/// `call target` at `at`: e8 and a 32-bit displacement from the next instruction.
fn call(at: u64, target: u64) -> Vec<u8> {
    let displacement = target.wrapping_sub(at + 5) as u32;
    let mut code = vec![0xe8];
    code.extend_from_slice(&displacement.to_le_bytes());
    code
}

#[test]
fn a_second_symbol_table_is_refused() {
    // Linux and the checker take the first `entry64_regs`, goblin took the
    // last: the library then wrote rip, rsp, rsi and rbx over the code of
    // `purgatory_start` while the real registers stayed zero.
    let mut elf = built_elf();
    let symtab = elf.section(".symtab").unwrap();
    let regs_index = elf.symbol(ENTRY64_REGS_SYMBOL).unwrap().index;
    let start = elf.symbol(ENTRY_SYMBOL).unwrap().sym.st_value;
    let mut second = elf.section_bytes(".symtab").unwrap().to_vec();
    let at = regs_index * SIZEOF_SYM + ST_VALUE.offset();
    second[at..at + 8].copy_from_slice(&start.to_le_bytes());
    elf.append_section(symtab.header, &second).unwrap();
    refused(&elf, &["symtab-count"], true);
}

#[test]
fn an_entry_point_past_the_file_bytes_is_refused() {
    for past_memsz in [false, true] {
        let mut elf = built_elf();
        let load = elf.program_header(0).unwrap();
        let entry = if past_memsz {
            load.p_memsz + 0x1000
        } else {
            load.p_filesz + 0x10 // in the zero tail
        };
        elf.set_header(E_ENTRY, entry).unwrap();
        elf.set_symbol(ENTRY_SYMBOL, ST_VALUE, entry).unwrap();
        refused(
            &elf,
            &["entry-outside-file", "symbol-outside-section"],
            true,
        );
    }
}

#[test]
fn a_stack_end_past_the_image_is_refused() {
    let mut elf = built_elf();
    let memsz = elf.program_header(0).unwrap().p_memsz;
    elf.set_symbol(STACK_END_SYMBOL, ST_VALUE, memsz + 0x1000)
        .unwrap();
    refused(
        &elf,
        &["symbol-outside-section", "stack-end-outside-image"],
        true,
    );
}

#[test]
fn a_stack_end_at_the_end_of_the_image_is_fine() {
    let mut elf = built_elf();
    let bss = elf.section(".bss").unwrap().header;
    let memsz = elf.program_header(0).unwrap().p_memsz;
    assert_eq!(bss.sh_addr + bss.sh_size, memsz, ".bss ends the image");
    elf.set_symbol(STACK_END_SYMBOL, ST_VALUE, memsz).unwrap();
    refused(&elf, &[], false);
}

#[test]
fn overlapping_patched_symbols_are_refused() {
    // The console port on entry64_regs.rip: set_linux_entry and then
    // set_console_port left a wrong rip, and since the purgatory's own data
    // are not hashed, verification passed and the CPU jumped there.
    let mut elf = built_elf();
    let regs = elf.symbol(ENTRY64_REGS_SYMBOL).unwrap().sym.st_value;
    elf.set_symbol(CONSOLE_PORT_SYMBOL, ST_VALUE, regs + 0x80)
        .unwrap();
    refused(&elf, &["patched-symbols-overlap"], true);
}

#[test]
fn a_patched_symbol_outside_its_section_is_refused() {
    // entry64_regs claims .data but sits on the code.
    let mut elf = built_elf();
    let start = elf.symbol(ENTRY_SYMBOL).unwrap().sym.st_value;
    elf.set_symbol(ENTRY64_REGS_SYMBOL, ST_VALUE, start)
        .unwrap();
    refused(&elf, &["symbol-outside-section"], true);
}

#[test]
fn a_branch_out_of_the_code_sections_is_refused() {
    // sti written into .rodata and called: the whole segment is executable,
    // so without the rule the instruction rules never saw it.
    let mut elf = built_elf();
    let rodata = elf.section(".rodata").unwrap().header.sh_addr;
    elf.section_bytes_mut(".rodata").unwrap()[..2].copy_from_slice(&[0xfb, 0xc3]);
    let start = elf.symbol(ENTRY_SYMBOL).unwrap().sym.st_value;
    write_code(&mut elf, ENTRY_SYMBOL, &call(start, rodata)).unwrap();
    refused(&elf, &["branch-outside-code"], false);

    // Anywhere in the code, reachable from the entry or not.
    let mut elf = built_elf();
    let verify = elf.symbol(VERIFY_SYMBOL).unwrap().sym.st_value;
    write_code(&mut elf, VERIFY_SYMBOL, &call(verify, rodata + 0x40)).unwrap();
    refused(&elf, &["branch-outside-code"], false);
}

#[test]
fn a_second_simd_section_reached_from_the_entry_is_refused() {
    // .rodata renamed .text.simd and made executable: SIMD is allowed in it,
    // and a call from the entry into it was not followed.
    let mut elf = built_elf();
    let simd_name = elf.section(".text.simd").unwrap().header.sh_name;
    let rodata = elf.section(".rodata").unwrap().header;
    elf.section_bytes_mut(".rodata").unwrap().fill(0x90); // nop: code, and legal
    elf.set_section(".rodata", SH_NAME, simd_name.into())
        .unwrap();
    elf.set_section(
        ".rodata",
        SH_FLAGS,
        rodata.sh_flags | u64::from(SHF_EXECINSTR),
    )
    .unwrap();
    let start = elf.symbol(ENTRY_SYMBOL).unwrap().sym.st_value;
    write_code(&mut elf, ENTRY_SYMBOL, &call(start, rodata.sh_addr)).unwrap();
    refused(&elf, &["simd-sections", "simd-before-sse"], false);
}

#[test]
fn a_string_table_without_its_final_nul_is_refused() {
    // Linux's check of a purgatory file wants a NUL-terminated string table.
    let mut elf = built_elf();
    let strtab = elf.section(".strtab").unwrap().header;
    elf.set_section(".strtab", SH_SIZE, strtab.sh_size - 1)
        .unwrap();
    let verdict = check(elf.bytes()).unwrap();
    assert_eq!(rules(&verdict)[0], "symtab-link", "{}", lines(&verdict));
}

#[test]
fn a_symbol_name_past_the_string_table_is_refused() {
    let mut elf = built_elf();
    let size = elf.section(".strtab").unwrap().header.sh_size;
    elf.set_symbol(&rust_symbol(&elf), ST_NAME, size).unwrap();
    refused(&elf, &["symbol-name-outside-strtab"], true);
}

#[test]
fn a_symbol_in_no_section_is_refused() {
    // Linux refuses any entry whose st_shndx is past e_shnum and below the
    // reserved indices, not only the contract symbols (the fuzzer's find).
    let mut elf = built_elf();
    elf.set_symbol(&rust_symbol(&elf), ST_SHNDX, 527).unwrap();
    refused(&elf, &["symbol-section-index"], true);
}
