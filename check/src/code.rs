//! The disassembly pass: instructions that fault or misbehave in the CPU
//! state the purgatory runs in (SIMD and FSGSBASE, `sti`, CR3 writes, FS/GS
//! operands, link-time addresses), and SIMD code reachable before SSE is on.

use goblin::elf::section_header::SHF_EXECINSTR;
use iced_x86::{
    Code, CpuidFeature, Formatter, Instruction, IntelFormatter, Mnemonic, OpKind, Register,
};
use purgatory_abi::SIMD_SECTION;
use purgatory_host::contract::elf::{Section, Tables};
use purgatory_host::contract::{Findings, InstructionSite, Violation};

use crate::context::{CodeContext, near_branch_target};
use crate::decode::each_instruction;
use crate::reachability;
use crate::simd::simd_use;

pub(crate) fn check_code(image: &Tables<'_>, out: &mut Findings) {
    let (simd, code): (Vec<&Section<'_>>, Vec<&Section<'_>>) = image
        .sections
        .iter()
        .filter(|s| s.has_flag(SHF_EXECINSTR))
        .partition(|s| s.is_named(SIMD_SECTION));
    if code.len() != 1 && !image.sections.is_empty() {
        out.push(Violation::CodeSections {
            sections: code.iter().map(|s| s.name()).collect(),
        });
    }
    if simd.len() > 1 {
        out.push(Violation::SimdSections {
            sections: simd.iter().map(|s| s.name()).collect(),
        });
    }
    let context = CodeContext::new(image);
    for section in code.iter().chain(&simd) {
        if let Some(data) = section.data {
            disassemble(section, data, &context, out);
        }
    }
    if !simd.is_empty() {
        reachability::check_simd_reachable_only_with_sse(image, &code, &simd, &context, out);
    }
}

/// A finding about one instruction, before its site is formatted.
#[derive(Clone)]
enum InstructionFinding {
    Simd(String),
    FsGsBase,
    Sti,
    Cr3Write,
    SegmentOverride(&'static str),
    AbsoluteAddress(u64, String),
    BranchOutsideCode(u64),
}

impl InstructionFinding {
    /// The rule id, taken from the violation it becomes so that it is
    /// declared in one place; an empty site costs no formatting.
    fn rule(&self) -> &'static str {
        self.clone()
            .into_violation(InstructionSite::default())
            .rule()
    }

    fn into_violation(self, site: InstructionSite) -> Violation {
        match self {
            Self::Simd(feature) => Violation::SimdInstruction { site, feature },
            Self::FsGsBase => Violation::FsGsBaseInstruction { site },
            Self::Sti => Violation::Sti { site },
            Self::Cr3Write => Violation::Cr3Write { site },
            Self::SegmentOverride(segment) => Violation::SegmentOverride { site, segment },
            Self::AbsoluteAddress(value, target) => Violation::AbsoluteAddress {
                site,
                value,
                target,
            },
            Self::BranchOutsideCode(target) => Violation::BranchOutsideCode { site, target },
        }
    }
}

fn disassemble(section: &Section<'_>, data: &[u8], context: &CodeContext, out: &mut Findings) {
    let mut formatter = IntelFormatter::new();
    let simd_allowed = section.is_named(SIMD_SECTION);
    each_instruction(data, section.header.sh_addr, |instruction| {
        for finding in inspect(instruction, context, simd_allowed) {
            // The site is formatted only for the findings that are listed.
            out.push_with(finding.rule(), || {
                let mut text = String::new();
                formatter.format(instruction, &mut text);
                finding.into_violation(InstructionSite {
                    section: section.name(),
                    address: instruction.ip(),
                    symbol: context.function_at(instruction.ip()),
                    instruction: text,
                })
            });
        }
    });
}

fn inspect(
    instruction: &Instruction,
    context: &CodeContext,
    simd_allowed: bool,
) -> Vec<InstructionFinding> {
    let mut findings = Vec::new();
    if let Some(feature) = simd_use(instruction).filter(|_| !simd_allowed) {
        findings.push(InstructionFinding::Simd(feature));
    }
    if instruction
        .cpuid_features()
        .contains(&CpuidFeature::FSGSBASE)
    {
        findings.push(InstructionFinding::FsGsBase);
    }
    if instruction.mnemonic() == Mnemonic::Sti {
        findings.push(InstructionFinding::Sti);
    }
    if instruction.mnemonic() == Mnemonic::Mov
        && instruction.op0_kind() == OpKind::Register
        && instruction.op0_register() == Register::CR3
    {
        findings.push(InstructionFinding::Cr3Write);
    }
    if has_memory_operand(instruction) {
        match instruction.memory_segment() {
            Register::FS => findings.push(InstructionFinding::SegmentOverride("fs")),
            Register::GS => findings.push(InstructionFinding::SegmentOverride("gs")),
            _ => {}
        }
    }
    if let Some(target) = near_branch_target(instruction).filter(|&t| context.is_outside_code(t)) {
        findings.push(InstructionFinding::BranchOutsideCode(target));
    }
    if instruction.code() == Code::Mov_r64_imm64 {
        let value = instruction.immediate64();
        if let Some(target) = context.addresses.get(&value) {
            findings.push(InstructionFinding::AbsoluteAddress(
                value,
                target.describe(),
            ));
        }
    }
    findings
}

fn has_memory_operand(instruction: &Instruction) -> bool {
    instruction.op_kinds().any(|kind| {
        matches!(
            kind,
            OpKind::Memory
                | OpKind::MemorySegSI
                | OpKind::MemorySegESI
                | OpKind::MemorySegRSI
                | OpKind::MemorySegDI
                | OpKind::MemorySegEDI
                | OpKind::MemorySegRDI
        )
    })
}
