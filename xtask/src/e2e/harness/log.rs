//! Looking things up in serial text, for any judge: whether a line is there,
//! and the number after a key.

/// Whether `needle` occurs in `haystack` (byte streams, as they arrive).
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Fails with `what` unless `text` occurs in `serial`.
pub fn require(serial: &str, text: &str, what: &str) -> Result<(), String> {
    if serial.contains(text) {
        Ok(())
    } else {
        Err(format!("{what}: no {text:?} in the serial log"))
    }
}

/// `0x` and hex digits, as a number.
pub fn hex_number(text: &str) -> Option<u64> {
    u64::from_str_radix(text.strip_prefix("0x")?, 16).ok()
}

/// The first `0x` number right after `key` (spaces allowed) on a line of
/// `text` that contains it.
pub fn hex_after(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.split_once(key)?.1.trim_start().strip_prefix("0x")?;
        let digits: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
        u64::from_str_radix(&digits, 16).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_after_keys() {
        let text = "a: Loaded purgatory at 0x7ffd8000\nb: start:0x7ffd83c0 head:0x1\n";
        assert_eq!(hex_after(text, "Loaded purgatory at"), Some(0x7ffd_8000));
        assert_eq!(hex_after(text, "start:"), Some(0x7ffd_83c0));
        assert_eq!(hex_after(text, "head:"), Some(1));
        assert_eq!(hex_after(text, "nothing"), None);
        assert_eq!(hex_after("k: 12", "k:"), None);
        assert_eq!(hex_number("0x10"), Some(16));
        assert_eq!(hex_number("10"), None);
        assert!(require(text, "start:", "x").is_ok());
        assert_eq!(
            require(text, "gone", "it left"),
            Err("it left: no \"gone\" in the serial log".into())
        );
        assert!(contains(b"abc", b"bc") && !contains(b"abc", b""));
    }
}
