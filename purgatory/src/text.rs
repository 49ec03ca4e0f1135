//! Numbers as text, without `core::fmt`: its formatting machinery is large and
//! reaches code through tables of pointers, each a relocation in this image.
//! The routines write to any [`Sink`], so the host tests read exactly the
//! bytes a console would receive.

/// Where text goes: the serial console at boot, a buffer in tests.
pub trait Sink {
    /// Sends `bytes` in order.
    fn write(&mut self, bytes: &[u8]);

    /// Returns once everything written has left: before the hand-off or a
    /// reset, which would cut off what is still queued. Nothing to wait for
    /// in a buffer.
    fn drain(&mut self) {}
}

/// No console: the text goes nowhere.
impl<S: Sink> Sink for Option<S> {
    fn write(&mut self, bytes: &[u8]) {
        if let Some(sink) = self {
            sink.write(bytes);
        }
    }

    fn drain(&mut self) {
        if let Some(sink) = self {
            sink.drain();
        }
    }
}

/// The digits of `u64::MAX` in decimal.
const MAX_DECIMAL_DIGITS: usize = 20;
const NIBBLE_BITS: u32 = 4;

/// `value` in decimal, without leading zeros.
pub fn decimal(out: &mut impl Sink, value: u64) {
    let mut digits = [0; MAX_DECIMAL_DIGITS];
    let mut rest = value;
    let mut first = digits.len();
    // Fills from the right; at least one digit, so 0 prints as "0".
    for (at, slot) in digits.iter_mut().enumerate().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
        first = at;
        if rest == 0 {
            break;
        }
    }
    if let Some((_, used)) = digits.split_at_checked(first) {
        out.write(used);
    }
}

/// `value` as `0x` and lowercase hex digits, without leading zeros.
pub fn hex(out: &mut impl Sink, value: u64) {
    out.write(b"0x");
    let significant_bits = u64::BITS - value.leading_zeros();
    let nibbles = significant_bits.div_ceil(NIBBLE_BITS).max(1);
    for nibble in (0..nibbles).rev() {
        let shifted = value.checked_shr(nibble * NIBBLE_BITS).unwrap_or(0);
        out.write(&[hex_digit(shifted as u8)]);
    }
}

/// Two lowercase hex digits per byte, most significant first: a digest as
/// `sha256sum` prints it.
pub fn hex_bytes(out: &mut impl Sink, bytes: &[u8]) {
    for &byte in bytes {
        out.write(&[hex_digit(byte >> NIBBLE_BITS), hex_digit(byte)]);
    }
}

/// The digit for the low four bits of `value`.
fn hex_digit(value: u8) -> u8 {
    match value & 0xf {
        digit @ 0..10 => b'0' + digit,
        digit => b'a' + digit - 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::text;

    #[test]
    fn decimal_has_no_leading_zeros() {
        assert_eq!(text(|out| decimal(out, 0)), "0");
        assert_eq!(text(|out| decimal(out, 7)), "7");
        assert_eq!(text(|out| decimal(out, 10)), "10");
        assert_eq!(text(|out| decimal(out, 20_975_616)), "20975616");
        assert_eq!(text(|out| decimal(out, u64::MAX)), "18446744073709551615");
    }

    #[test]
    fn hex_is_prefixed_lowercase_and_minimal() {
        assert_eq!(text(|out| hex(out, 0)), "0x0");
        assert_eq!(text(|out| hex(out, 0xf)), "0xf");
        assert_eq!(text(|out| hex(out, 0x10)), "0x10");
        assert_eq!(text(|out| hex(out, 0x100_0200)), "0x1000200");
        assert_eq!(
            text(|out| hex(out, 0xabcd_ef01_2345_6789)),
            "0xabcdef0123456789"
        );
        assert_eq!(text(|out| hex(out, u64::MAX)), "0xffffffffffffffff");
    }

    #[test]
    fn bytes_are_two_digits_each() {
        assert_eq!(text(|out| hex_bytes(out, &[])), "");
        assert_eq!(
            text(|out| hex_bytes(out, &[0x00, 0x0f, 0xa0, 0xff, 0x5a])),
            "000fa0ff5a"
        );
    }

    #[test]
    fn no_console_swallows_the_text() {
        let mut off: Option<Vec<u8>> = None;
        decimal(&mut off, 42);
        assert_eq!(off, None);
        let mut on = Some(Vec::new());
        decimal(&mut on, 42);
        assert_eq!(on, Some(b"42".to_vec()));
    }
}
