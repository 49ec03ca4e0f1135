//! What `kexec-load` prints besides its plan ([`plan`](super::plan)): its
//! errors, the note of the byte it flipped on purpose, and the seed of a
//! random placement.

use crate::e2e::harness::log::hex_number;

/// How `kexec-load` starts an error on stderr.
pub const ERROR: &str = "kexec-load: error:";

/// Printed by `kexec-load --corrupt-after-digest`.
pub const FLIPPED: &str = "TEST: flipped the byte";

/// The segment `kexec-load` flipped a byte of: its index in the purgatory's
/// region table and its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flipped {
    pub region: usize,
    pub start: u64,
}

/// Reads `… (segment 0 at 0x1000000, kernel + …)` from the note.
pub fn flipped(serial: &str) -> Option<Flipped> {
    let line = serial.lines().find(|line| line.contains(FLIPPED))?;
    let rest = &line[line.find("segment ")? + "segment ".len()..];
    let (index, rest) = rest.split_once(" at ")?;
    Some(Flipped {
        region: index.parse().ok()?,
        start: hex_number(rest.split(',').next()?)?,
    })
}

/// The seed of a random placement, as `kexec-load` printed it (`(seed N)`).
pub fn seed(serial: &str) -> Option<&str> {
    serial.lines().find_map(|line| {
        line.split_once("(seed ")
            .map(|(_, seed)| seed.trim_end_matches([')', ' ']))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flipped_segment_and_the_seed_are_read() {
        let serial = "  TEST: flipped the byte at 0x1618000 (segment 0 at 0x1000000, kernel + 0x618000) \
                      from 0x1 to 0xfe\n  purgatory    random (seed 42) \n";
        assert_eq!(
            flipped(serial),
            Some(Flipped {
                region: 0,
                start: 0x100_0000
            })
        );
        assert_eq!(flipped("no note"), None);
        assert_eq!(seed(serial), Some("42"));
    }
}
