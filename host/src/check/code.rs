//! The disassembly pass: instructions that fault or misbehave in the CPU
//! state the purgatory runs in (SIMD and FSGSBASE, `sti`, CR3 writes, FS/GS
//! operands, link-time addresses), and SIMD code reachable before SSE is on.

mod reachability;

use std::collections::BTreeMap;

use goblin::elf::section_header::{SHF_ALLOC, SHF_EXECINSTR};
use goblin::elf::sym::{STB_GLOBAL, STT_FUNC};
use iced_x86::{
    Code, CpuidFeature, Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, Mnemonic,
    OpKind, Register,
};

use purgatory_abi::SIMD_SECTION;

use super::elf::{Image, Section, Symbol};
use super::{Findings, InstructionSite, Violation};

/// What the disassembly pass needs to know about the image. Names stay
/// borrowed until a finding needs one, so a huge symbol table costs no copies.
struct CodeContext<'i, 'a> {
    /// Function symbols, globals first, to name the function around an address.
    functions: Vec<&'i Symbol<'a>>,
    /// Link-time addresses of symbols and sections, naming what is there.
    addresses: BTreeMap<u64, Target<'i, 'a>>,
}

/// What lives at a link-time address.
#[derive(Clone, Copy)]
enum Target<'i, 'a> {
    Symbol(&'i Symbol<'a>),
    Section(&'i Section<'a>),
}

impl Target<'_, '_> {
    fn describe(self) -> String {
        match self {
            Self::Symbol(symbol) => format!("`{}`", symbol.name()),
            Self::Section(section) => format!("section {}", section.name()),
        }
    }
}

impl<'i, 'a> CodeContext<'i, 'a> {
    fn new(image: &'i Image<'a>) -> Self {
        let is_global = |s: &Symbol<'_>| s.sym.st_bind() == STB_GLOBAL;
        let mut functions: Vec<_> = image
            .symbols
            .iter()
            .filter(|s| s.sym.st_type() == STT_FUNC && s.sym.st_size != 0 && s.is_defined())
            .collect();
        functions.sort_by_key(|s| !is_global(s));
        let mut addresses = BTreeMap::new();
        // Globals name an address first, then locals, then sections.
        let mut symbols: Vec<_> = image
            .symbols
            .iter()
            .filter(|s| s.is_defined() && s.sym.st_value != 0)
            .collect();
        symbols.sort_by_key(|s| !is_global(s));
        for symbol in symbols {
            addresses
                .entry(symbol.sym.st_value)
                .or_insert(Target::Symbol(symbol));
        }
        for section in &image.sections {
            if section.has_flag(SHF_ALLOC) && section.header.sh_addr != 0 {
                addresses
                    .entry(section.header.sh_addr)
                    .or_insert(Target::Section(section));
            }
        }
        Self {
            functions,
            addresses,
        }
    }

    fn function_at(&self, address: u64) -> Option<String> {
        self.function_containing(address).map(|s| s.name())
    }

    fn function_containing(&self, address: u64) -> Option<&'i Symbol<'a>> {
        self.functions.iter().copied().find(|s| {
            let end = s.sym.st_value.saturating_add(s.sym.st_size);
            (s.sym.st_value..end).contains(&address)
        })
    }
}

pub(super) fn check_code(image: &Image<'_>, out: &mut Findings) {
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
    let context = CodeContext::new(image);
    for section in code.iter().chain(&simd) {
        if let Some(data) = section.data {
            disassemble(section, data, &context, out);
        }
    }
    if let Some(simd) = simd.first() {
        reachability::check_simd_reachable_only_with_sse(image, &code, simd, &context, out);
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
        }
    }
}

fn disassemble(section: &Section<'_>, data: &[u8], context: &CodeContext, out: &mut Findings) {
    let base = section.header.sh_addr;
    let mut decoder = Decoder::with_ip(64, data, base, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    let mut instruction = Instruction::default();
    while decoder.can_decode() {
        let position = decoder.position();
        decoder.decode_out(&mut instruction);
        if instruction.is_invalid() {
            // Data or garbage: resynchronise one byte further on.
            let next = position.saturating_add(1);
            if decoder.set_position(next).is_err() {
                break;
            }
            decoder.set_ip(base.wrapping_add(next as u64));
            continue;
        }
        let simd_allowed = section.is_named(SIMD_SECTION);
        for finding in inspect(&instruction, context, simd_allowed) {
            // The site is formatted only for the findings that are listed.
            out.push_with(finding.rule(), || {
                let mut text = String::new();
                formatter.format(&instruction, &mut text);
                finding.into_violation(InstructionSite {
                    section: section.name(),
                    address: instruction.ip(),
                    symbol: context.function_at(instruction.ip()),
                    instruction: text,
                })
            });
        }
    }
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

/// The reason `instruction` touches SIMD, MMX or x87 state, if it does:
/// a CPUID feature of that family, or such a register operand.
fn simd_use(instruction: &Instruction) -> Option<String> {
    // Tagged SSE/SSE2 by CPUID, but ordinary integer instructions that work
    // with CR4.OSFXSR = 0.
    let integer_only = matches!(
        instruction.mnemonic(),
        Mnemonic::Lfence
            | Mnemonic::Mfence
            | Mnemonic::Sfence
            | Mnemonic::Movnti
            | Mnemonic::Prefetchnta
            | Mnemonic::Prefetcht0
            | Mnemonic::Prefetcht1
            | Mnemonic::Prefetcht2
            | Mnemonic::Pause
    );
    if !integer_only
        && let Some(feature) = instruction
            .cpuid_features()
            .iter()
            .find(|&&feature| is_simd_feature(feature))
    {
        return Some(format!("{feature:?}"));
    }
    (0..instruction.op_count())
        .filter(|&operand| instruction.op_kind(operand) == OpKind::Register)
        .map(|operand| instruction.op_register(operand))
        .find(|register| {
            register.is_vector_register()
                || register.is_mm()
                || register.is_st()
                || register.is_k()
                || register.is_tmm()
        })
        .map(|register| format!("register {}", format!("{register:?}").to_lowercase()))
}

/// CPUID features whose instructions use FPU, MMX, SSE, AVX, AMX or XSAVE
/// state, all off (or #UD) in the purgatory.
fn is_simd_feature(feature: CpuidFeature) -> bool {
    use CpuidFeature as F;
    matches!(
        feature,
        F::FPU
            | F::FPU287
            | F::FPU287XL_ONLY
            | F::FPU387
            | F::FPU387SL_ONLY
            | F::CYRIX_FPU
            | F::MMX
            | F::CYRIX_EMMI
            | F::D3NOW
            | F::D3NOWEXT
            | F::CYRIX_D3NOW
            | F::SSE
            | F::SSE2
            | F::SSE3
            | F::SSSE3
            | F::SSE4_1
            | F::SSE4_2
            | F::SSE4A
            | F::AVX
            | F::AVX2
            | F::AVX_VNNI
            | F::AVX_IFMA
            | F::AVX_NE_CONVERT
            | F::AVX_VNNI_INT8
            | F::AVX_VNNI_INT16
            | F::AVX512F
            | F::AVX512VL
            | F::AVX512BW
            | F::AVX512CD
            | F::AVX512DQ
            | F::AVX512ER
            | F::AVX512PF
            | F::AVX512_4FMAPS
            | F::AVX512_4VNNIW
            | F::AVX512_BF16
            | F::AVX512_BITALG
            | F::AVX512_IFMA
            | F::AVX512_VBMI
            | F::AVX512_VBMI2
            | F::AVX512_VNNI
            | F::AVX512_VP2INTERSECT
            | F::AVX512_VPOPCNTDQ
            | F::AVX512_FP16
            | F::KNC
            | F::FMA
            | F::FMA4
            | F::F16C
            | F::XOP
            | F::AES
            | F::VAES
            | F::PCLMULQDQ
            | F::VPCLMULQDQ
            | F::GFNI
            | F::SHA
            | F::SHA512
            | F::SM3
            | F::SM4
            | F::KL
            | F::AESKLE
            | F::WIDE_KL
            | F::AMX_BF16
            | F::AMX_TILE
            | F::AMX_INT8
            | F::AMX_FP16
            | F::AMX_COMPLEX
            | F::FXSR
            | F::XSAVE
            | F::XSAVEC
            | F::XSAVEOPT
            | F::XSAVES
    )
}
