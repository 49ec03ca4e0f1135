//! What a kdump run prints: stage 1's mark just before it crashes the first
//! kernel, the kernel's panic, and the capture kernel's `/init` with what it
//! read from `/proc/vmcore` (the protocol's lines); and how long the crash
//! path took, from the host's timestamps.

use super::linux::{BANNER, PANIC};
use crate::e2e::harness::log::hex_number;
use crate::e2e::harness::qemu::transcript::stamped;
pub use e2e_protocol::kdump::{CAPTURE, CRASHING, VMCORE};
use e2e_protocol::kdump::{
    KEY_ADDR, KEY_BYTES, KEY_CPUS, KEY_MARKER, KEY_OFFSET, KEY_PRSTATUS, KEY_RELEASE,
};
use e2e_protocol::protocol::value;

/// What stage 1 wrote, and where, before it crashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub addr: u64,
    pub marker: String,
    pub release: String,
    pub cpus: u32,
}

/// What the capture `/init` read from `/proc/vmcore`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub addr: u64,
    pub marker: String,
    /// Where in `/proc/vmcore` the marker was.
    pub offset: u64,
    /// `/proc/vmcore`'s size.
    pub bytes: u64,
    /// VMCOREINFO's `OSRELEASE`.
    pub release: String,
    /// Saved register sets.
    pub prstatus: u32,
}

/// The words after `marker` on its first line.
fn line_after<'a>(serial: &'a str, marker: &str) -> Option<&'a str> {
    serial
        .lines()
        .find_map(|line| line.split_once(marker).map(|(_, rest)| rest))
}

fn field<'a>(words: &'a str, key: &str, line: &str) -> Result<&'a str, String> {
    value(words, key).ok_or_else(|| format!("no {key}= on the {line:?} line"))
}

fn number<T: std::str::FromStr>(words: &str, key: &str, line: &str) -> Result<T, String> {
    field(words, key, line)?
        .parse()
        .map_err(|_| format!("{key}= on the {line:?} line is not a number"))
}

fn address(words: &str, line: &str) -> Result<u64, String> {
    let text = field(words, KEY_ADDR, line)?;
    hex_number(text).ok_or_else(|| format!("{KEY_ADDR}={text} is not a hex address"))
}

/// Stage 1's [`CRASHING`] line.
pub fn mark(serial: &str) -> Result<Mark, String> {
    let words =
        line_after(serial, CRASHING).ok_or("stage 1 never said it was crashing the kernel")?;
    Ok(Mark {
        addr: address(words, CRASHING)?,
        marker: field(words, KEY_MARKER, CRASHING)?.to_owned(),
        release: field(words, KEY_RELEASE, CRASHING)?.to_owned(),
        cpus: number(words, KEY_CPUS, CRASHING)?,
    })
}

/// The capture `/init`'s [`VMCORE`] line.
pub fn found(serial: &str) -> Result<Found, String> {
    let words = line_after(serial, VMCORE)
        .ok_or("the capture kernel's /init never reported what /proc/vmcore holds")?;
    let addr = address(words, VMCORE)?;
    let offset = field(words, KEY_OFFSET, VMCORE)?;
    Ok(Found {
        addr,
        marker: field(words, KEY_MARKER, VMCORE)?.to_owned(),
        offset: hex_number(offset).ok_or_else(|| format!("{KEY_OFFSET}={offset} is not hex"))?,
        bytes: number(words, KEY_BYTES, VMCORE)?,
        release: field(words, KEY_RELEASE, VMCORE)?.to_owned(),
        prstatus: number(words, KEY_PRSTATUS, VMCORE)?,
    })
}

/// Host seconds from the first kernel's panic to the first line after it
/// that contains `next`.
fn after_panic(log: &str, next: &str) -> Option<f64> {
    let mut lines = log.lines();
    let panic = lines.find(|line| line.contains(PANIC))?;
    let next = lines.find(|line| line.contains(next))?;
    Some(stamped(next)?.0 - stamped(panic)?.0)
}

/// From the panic to the capture kernel's banner: the crash path, the
/// purgatory's hash and the decompression.
pub fn handover(log: &str) -> Option<f64> {
    after_panic(log, BANNER)
}

/// From the panic to the capture kernel's `/init`.
pub fn panic_to_init(log: &str) -> Option<f64> {
    after_panic(log, CAPTURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "   5.000 E2E-KDUMP-CRASH: addr=0x3a2b1120 marker=0123abcd release=6.12.117+deb12-amd64 cpus=2\n\
        \x20  5.100 [    7.5] Kernel panic - not syncing: sysrq triggered crash\n\
        \x20  5.900 purgatory: jumping to 0x6a000200\n\
        \x20  6.250 [    0.0] Linux version 6.12.117+deb12-amd64\n\
        \x20 14.600 E2E-CAPTURE: /init running at uptime 3.10\n\
        \x20 16.100 E2E-VMCORE: addr=0x3a2b1120 marker=0123abcd offset=0x3a2b2120 bytes=1924210688 release=6.12.117+deb12-amd64 prstatus=2\n";

    #[test]
    fn the_lines_read_into_values() {
        assert_eq!(
            mark(LOG).unwrap(),
            Mark {
                addr: 0x3a2b_1120,
                marker: "0123abcd".into(),
                release: "6.12.117+deb12-amd64".into(),
                cpus: 2
            }
        );
        let found = found(LOG).unwrap();
        assert_eq!(
            (found.addr, found.offset, found.bytes, found.prstatus),
            (0x3a2b_1120, 0x3a2b_2120, 1_924_210_688, 2)
        );
        assert!((panic_to_init(LOG).unwrap() - 9.5).abs() < 1e-9);
        assert!((handover(LOG).unwrap() - 1.15).abs() < 1e-9);
    }

    #[test]
    fn missing_or_bad_lines_are_named() {
        assert!(mark("nothing\n").unwrap_err().contains("never said"));
        let err = found("E2E-VMCORE: addr=12 marker=x\n").unwrap_err();
        assert!(err.contains("not a hex address"), "{err}");
        let err = found("E2E-VMCORE: addr=0x12 marker=x offset=0x1 bytes=lots\n").unwrap_err();
        assert!(err.contains("bytes= on the"), "{err}");
        assert_eq!(panic_to_init("   1.0 E2E-CAPTURE: early\n"), None);
    }
}
