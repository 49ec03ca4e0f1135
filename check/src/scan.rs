//! The SIMD rule on any code, not only a purgatory's: what a program built
//! for a CPU with SSE off (a kernel's loader, say) must not contain.

use iced_x86::{Formatter, IntelFormatter};
use purgatory_host::contract::InstructionSite;

use crate::decode::each_instruction;
use crate::simd::simd_use;

/// Every instruction of `code` (linked at `address`, in the section named
/// `section`) that uses x87, MMX, SSE, AVX, AMX or XSAVE state, or the
/// SHA, AES and similar extensions built on it: the instructions
/// `simd-instruction` refuses outside `.text.simd`. Undecodable bytes are
/// skipped one at a time, as the checker does.
///
/// ```
/// // xor eax, eax; movaps xmm0, xmm1; ret
/// let sites = purgatory_check::simd_instructions(".text", &[0x31, 0xc0, 0x0f, 0x28, 0xc1, 0xc3], 0x1000);
/// assert_eq!(sites.len(), 1);
/// assert_eq!((sites[0].address, sites[0].instruction.as_str()), (0x1002, "movaps xmm0,xmm1"));
/// ```
pub fn simd_instructions(section: &str, code: &[u8], address: u64) -> Vec<InstructionSite> {
    let mut formatter = IntelFormatter::new();
    let mut sites = Vec::new();
    each_instruction(code, address, |instruction| {
        if simd_use(instruction).is_some() {
            let mut text = String::new();
            formatter.format(instruction, &mut text);
            sites.push(InstructionSite {
                section: section.to_owned(),
                address: instruction.ip(),
                symbol: None,
                instruction: text,
            });
        }
    });
    sites
}
