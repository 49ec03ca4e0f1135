//! What counts as SIMD: instructions that touch x87, MMX, SSE, AVX, AMX or
//! XSAVE state, all off (or #UD) where the purgatory runs.

use iced_x86::{CpuidFeature, Instruction, Mnemonic, OpKind};

/// The reason `instruction` touches SIMD, MMX or x87 state, if it does:
/// a CPUID feature of that family, or such a register operand.
pub(crate) fn simd_use(instruction: &Instruction) -> Option<String> {
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
