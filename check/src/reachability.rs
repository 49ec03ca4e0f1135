//! SIMD code only after SSE is on: the entry point is not in `.text.simd`
//! (the kernel enters with SSE off), and no path of direct branches from it
//! reaches `.text.simd` without passing through a function that writes CR4
//! (the SSE set-up, which the purgatory undoes before the hand-off).
//!
//! The walk follows direct calls and jumps function by function. Inside a
//! function, a CR4 write switches SSE on and the next one switches it back
//! (the purgatory enables it around the hash and restores it), in address
//! order: what is branched to between the two is reached with SSE on and is
//! not followed. Indirect branches cannot be followed, so any RIP-relative
//! address of SIMD code taken on the way (a function pointer in the making)
//! counts as reaching it.

use std::collections::BTreeSet;

use iced_x86::{
    Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, Mnemonic, OpKind, Register,
};

use purgatory_host::contract::elf::{Section, SymbolEntry, Tables};
use purgatory_host::contract::{Findings, InstructionSite, Violation};

use crate::context::{CodeContext, near_branch_target};

pub(crate) fn check_simd_reachable_only_with_sse(
    image: &Tables<'_>,
    code: &[&Section<'_>],
    simd: &[&Section<'_>],
    context: &CodeContext<'_, '_>,
    out: &mut Findings,
) {
    let entry = image.header.e_entry;
    if let Some(section) = simd.iter().find(|s| s.address_range().contains(&entry)) {
        out.push(Violation::EntryInSimd {
            entry,
            section: section.name(),
        });
    }
    let mut pending = vec![entry];
    let mut visited = BTreeSet::new();
    while let Some(address) = pending.pop() {
        let Some(function) = context.function_containing(address) else {
            continue;
        };
        if !visited.insert(function.sym.st_value) {
            continue;
        }
        let Some((section, instructions)) = decode_function(function, code) else {
            continue;
        };
        let mut sse_on = false;
        for instruction in &instructions {
            if writes_cr4(instruction) {
                sse_on = !sse_on;
            }
            if sse_on {
                continue;
            }
            for target in targets(instruction) {
                if let Some(simd) = simd.iter().find(|s| s.address_range().contains(&target)) {
                    report(instruction, function, section, simd, target, context, out);
                } else {
                    pending.push(target);
                }
            }
        }
    }
}

/// The code section that holds `function`, and its instructions.
fn decode_function<'s, 'a>(
    function: &SymbolEntry<'_>,
    code: &[&'s Section<'a>],
) -> Option<(&'s Section<'a>, Vec<Instruction>)> {
    let start = function.sym.st_value;
    let section = code.iter().find(|s| s.address_range().contains(&start))?;
    let offset = usize::try_from(start - section.header.sh_addr).ok()?;
    let len = usize::try_from(function.sym.st_size).ok()?;
    let bytes = section.data?.get(offset..offset.checked_add(len)?)?;
    let instructions = Decoder::with_ip(64, bytes, start, DecoderOptions::NONE)
        .into_iter()
        .collect();
    Some((section, instructions))
}

fn writes_cr4(instruction: &Instruction) -> bool {
    instruction.mnemonic() == Mnemonic::Mov
        && instruction.op0_kind() == OpKind::Register
        && instruction.op0_register() == Register::CR4
}

/// Addresses `instruction` may transfer control to or take: a direct branch
/// target, or a RIP-relative operand.
fn targets(instruction: &Instruction) -> Vec<u64> {
    let mut targets: Vec<u64> = near_branch_target(instruction).into_iter().collect();
    if instruction.is_ip_rel_memory_operand() {
        targets.push(instruction.ip_rel_memory_address());
    }
    targets
}

fn report(
    instruction: &Instruction,
    function: &SymbolEntry<'_>,
    section: &Section<'_>,
    simd: &Section<'_>,
    target: u64,
    context: &CodeContext<'_, '_>,
    out: &mut Findings,
) {
    out.push_with("simd-before-sse", || {
        let mut text = String::new();
        IntelFormatter::new().format(instruction, &mut text);
        Violation::SimdBeforeSse {
            site: InstructionSite {
                section: section.name(),
                address: instruction.ip(),
                symbol: Some(function.name()),
                instruction: text,
            },
            target: context
                .function_at(target)
                .unwrap_or_else(|| format!("{} at {target:#x}", simd.name())),
        }
    });
}
