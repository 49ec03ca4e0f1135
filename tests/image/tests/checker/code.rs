//! Rule 10: the disassembly. No SIMD, FPU or XSAVE outside `.text.simd`,
//! no FSGSBASE, `sti`, CR3 write, FS/GS memory operand or absolute address.

use crate::{built_elf, mutated};
use purgatory_abi::{ENTRY64_REGS_SYMBOL, VERIFY_SYMBOL};
use purgatory_check::{InstructionSite, MAX_FINDINGS_PER_RULE, Violation};

// --- Rule 10: the disassembly ----------------------------------------------------

/// The real image with `purgatory_verify`'s body replaced by `code` and int3
/// padding, so decoding stays in step; returns the verdict and the address of `code`.
fn with_code(code: &[u8]) -> (Vec<Violation>, u64) {
    let mut address = 0;
    let verdict = mutated(|elf| {
        address = elf.symbol(VERIFY_SYMBOL)?.sym.st_value;
        let body = elf.symbol_bytes_mut(VERIFY_SYMBOL)?;
        assert!(code.len() <= body.len());
        body.fill(0xcc);
        body[..code.len()].copy_from_slice(code);
        Ok(())
    });
    (verdict, address)
}

fn site(address: u64, instruction: &str) -> InstructionSite {
    InstructionSite {
        section: ".text".into(),
        address,
        symbol: Some(VERIFY_SYMBOL.into()),
        instruction: instruction.into(),
    }
}

#[test]
fn an_sse_instruction_is_reported_with_its_site() {
    let (verdict, address) = with_code(&[0x0f, 0x28, 0xc1]);
    assert_eq!(
        verdict,
        [Violation::SimdInstruction {
            site: site(address, "movaps xmm0,xmm1"),
            feature: "SSE".into()
        }]
    );
    let location = verdict[0].location();
    assert_eq!(location.address, Some(address));
    assert_eq!(location.symbol.as_deref(), Some(VERIFY_SYMBOL));
    assert_eq!(location.section.as_deref(), Some(".text"));
    assert_eq!(location.instruction.as_deref(), Some("movaps xmm0,xmm1"));
    let line = verdict[0].to_string();
    assert!(
        line.contains("movaps xmm0,xmm1") && line.contains(VERIFY_SYMBOL),
        "{line}"
    );
}

#[test]
fn every_family_of_simd_fpu_and_xsave_instructions_is_reported() {
    let cases: [(&[u8], &str, &str); 12] = [
        (&[0x66, 0x0f, 0xef, 0xc0], "pxor xmm0,xmm0", "SSE2"),
        (&[0xc5, 0xf8, 0x77], "vzeroupper", "AVX"),
        (&[0x0f, 0x01, 0xd0], "xgetbv", "XSAVE"),
        (&[0x0f, 0xae, 0x20], "xsave [rax]", "XSAVE"),
        (&[0x0f, 0xae, 0x00], "fxsave [rax]", "FXSR"),
        (&[0xd9, 0xe8], "fld1", "FPU"),
        (&[0x0f, 0x77], "emms", "MMX"),
        (&[0x0f, 0xae, 0x10], "ldmxcsr [rax]", "SSE"),
        (&[0x0f, 0x38, 0xc8, 0xc1], "sha1nexte xmm0,xmm1", "SHA"),
        (&[0x66, 0x0f, 0x38, 0xdc, 0xc1], "aesenc xmm0,xmm1", "AES"),
        (&[0x66, 0x48, 0x0f, 0x6e, 0xc0], "movq xmm0,rax", "SSE2"),
        (
            &[0x62, 0xf1, 0x7c, 0x48, 0x28, 0xc1],
            "vmovaps zmm0,zmm1",
            "AVX512F",
        ),
    ];
    for (code, instruction, feature) in cases {
        let (verdict, address) = with_code(code);
        assert_eq!(
            verdict,
            [Violation::SimdInstruction {
                site: site(address, instruction),
                feature: feature.into()
            }]
        );
    }
}

#[test]
fn fences_and_prefetches_are_not_simd() {
    // lfence, mfence, sfence, prefetchnta [rax], pause, movnti [rax],rax
    let code = [
        0x0f, 0xae, 0xe8, 0x0f, 0xae, 0xf0, 0x0f, 0xae, 0xf8, 0x0f, 0x18, 0x00, 0xf3, 0x90, 0x48,
        0x0f, 0xc3, 0x00,
    ];
    assert_eq!(with_code(&code).0, []);
}

#[test]
fn fsgsbase_instructions_are_reported() {
    let (verdict, address) = with_code(&[0xf3, 0x48, 0x0f, 0xae, 0xc0]);
    assert_eq!(
        verdict,
        [Violation::FsGsBaseInstruction {
            site: site(address, "rdfsbase rax")
        }]
    );
}

#[test]
fn sti_is_reported() {
    let (verdict, address) = with_code(&[0xfb]);
    assert_eq!(
        verdict,
        [Violation::Sti {
            site: site(address, "sti")
        }]
    );
}

#[test]
fn a_cr3_write_is_reported_and_a_read_is_not() {
    let (verdict, address) = with_code(&[0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8]);
    assert_eq!(
        verdict,
        [Violation::Cr3Write {
            site: site(address + 3, "mov cr3,rax")
        }]
    );
}

#[test]
fn fs_and_gs_memory_operands_are_reported_and_segment_loads_are_not() {
    // mov fs,ax; mov rax,fs:[rax]; mov rax,gs:[rax]; lodsb with a gs override
    let code = [
        0x8e, 0xe0, 0x64, 0x48, 0x8b, 0x00, 0x65, 0x48, 0x8b, 0x00, 0x65, 0xac,
    ];
    let (verdict, address) = with_code(&code);
    assert_eq!(
        verdict,
        [
            Violation::SegmentOverride {
                site: site(address + 2, "mov rax,fs:[rax]"),
                segment: "fs"
            },
            Violation::SegmentOverride {
                site: site(address + 6, "mov rax,gs:[rax]"),
                segment: "gs"
            },
            Violation::SegmentOverride {
                site: site(address + 10, "lodsb gs:[rsi]"),
                segment: "gs"
            },
        ]
    );
}

/// iced's Intel hex: upper case, `h` suffix, a leading 0 before a letter.
fn intel_hex(value: u64) -> String {
    let hex = format!("{value:X}");
    if hex.starts_with(|c: char| c.is_ascii_alphabetic()) {
        format!("0{hex}h")
    } else {
        format!("{hex}h")
    }
}

#[test]
fn movabs_of_a_symbol_address_is_reported() {
    let regs = built_elf()
        .symbol(ENTRY64_REGS_SYMBOL)
        .unwrap()
        .sym
        .st_value;
    let mut code = vec![0x48, 0xb8]; // mov rax, imm64
    code.extend_from_slice(&regs.to_le_bytes());
    let (verdict, address) = with_code(&code);
    assert_eq!(
        verdict,
        [Violation::AbsoluteAddress {
            site: site(address, &format!("mov rax,{}", intel_hex(regs))),
            value: regs,
            target: "`entry64_regs`".into()
        }]
    );
}

#[test]
fn movabs_of_a_plain_constant_is_fine() {
    let mut code = vec![0x48, 0xb8];
    code.extend_from_slice(&0x0123_4567_89ab_cdef_u64.to_le_bytes());
    assert_eq!(with_code(&code).0, []);
}

#[test]
fn undecodable_bytes_are_skipped_one_at_a_time() {
    // ff ff and ff fb are invalid (ff /7); decoding resumes at the sti.
    let (verdict, address) = with_code(&[0xff, 0xff, 0xfb]);
    assert_eq!(
        verdict,
        [Violation::Sti {
            site: site(address + 2, "sti")
        }]
    );
}

#[test]
fn instruction_findings_are_capped_per_rule() {
    let size = built_elf().symbol(VERIFY_SYMBOL).unwrap().sym.st_size as usize;
    let (verdict, address) = with_code(&vec![0xfb; size]);
    let mut expected: Vec<Violation> = (0..MAX_FINDINGS_PER_RULE as u64)
        .map(|i| Violation::Sti {
            site: site(address + i, "sti"),
        })
        .collect();
    expected.push(Violation::MoreFindings {
        rule: "sti",
        omitted: size - MAX_FINDINGS_PER_RULE,
    });
    assert_eq!(verdict, expected);
    assert_eq!(MAX_FINDINGS_PER_RULE, 20);
}
