//! Numbers as users and sysfs write them: hex with `0x`, or decimal.

/// A number in hex (`0x…`) or decimal; `_` separators are allowed.
pub fn parse_u64(text: &str) -> Result<u64, String> {
    let text = text.replace('_', "");
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|err| format!("{text:?} is not a number (hex with 0x, or decimal): {err}"))
}

/// A number as sysfs writes addresses: hex, with or without `0x`.
pub fn parse_hex(text: &str) -> Option<u64> {
    u64::from_str_radix(text.strip_prefix("0x").unwrap_or(text), 16).ok()
}

/// Lowercase hex digits of `bytes`, as digests are printed.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("0x1000"), Ok(0x1000));
        assert_eq!(parse_u64("0x1_0000_0000"), Ok(1 << 32));
        assert_eq!(parse_u64("4096"), Ok(4096));
        assert!(parse_u64("4k").is_err());
        assert_eq!(hex(&[0x0a, 0xff]), "0aff");
        assert_eq!(parse_hex("0x7fb7e014"), Some(0x7fb7_e014));
        assert_eq!(parse_hex("fee00000"), Some(0xfee0_0000));
        assert_eq!(parse_hex("0xzz"), None);
    }
}
