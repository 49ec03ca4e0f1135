//! Linear disassembly of a block of code: every instruction in address
//! order, undecodable bytes (data, garbage) skipped one at a time.

use iced_x86::{Decoder, DecoderOptions, Instruction};

/// Calls `visit` on each instruction of `code`, linked at `address`.
pub(crate) fn each_instruction(code: &[u8], address: u64, mut visit: impl FnMut(&Instruction)) {
    let mut decoder = Decoder::with_ip(64, code, address, DecoderOptions::NONE);
    let mut instruction = Instruction::default();
    while decoder.can_decode() {
        let position = decoder.position();
        decoder.decode_out(&mut instruction);
        if instruction.is_invalid() {
            // Resynchronise one byte further on.
            let next = position.saturating_add(1);
            if decoder.set_position(next).is_err() {
                break;
            }
            decoder.set_ip(address.wrapping_add(next as u64));
            continue;
        }
        visit(&instruction);
    }
}
