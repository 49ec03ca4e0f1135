//! The firmware's memory map as `/sys/firmware/memmap` shows it: the e820
//! table the running kernel was booted with, before it reserved anything. It
//! is both where segments may go (System RAM) and what the next kernel gets in
//! its zero page.

use crate::number::parse_hex;
use std::fmt;
use std::path::{Path, PathBuf};

/// e820 type codes (the boot protocol's `struct boot_e820_entry`).
pub const E820_RAM: u32 = 1;
pub const E820_RESERVED: u32 = 2;
pub const E820_ACPI: u32 = 3;
pub const E820_NVS: u32 = 4;

/// One range of the map, `start..end` (end exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// The e820 type code.
    pub e820_type: u32,
    /// The name sysfs gave it.
    pub name: String,
}

impl MemoryRange {
    /// Whether segments may be placed here.
    pub fn is_ram(&self) -> bool {
        self.e820_type == E820_RAM
    }
}

/// Why the map cannot be read.
#[derive(Debug)]
pub struct MemmapError {
    /// The file or directory involved.
    pub path: PathBuf,
    /// What is wrong with it.
    pub why: String,
}

impl fmt::Display for MemmapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "memory map {}: {}", self.path.display(), self.why)
    }
}

impl std::error::Error for MemmapError {}

/// The names the kernel gives e820 types in sysfs, and their codes.
const TYPES: &[(&str, u32)] = &[
    ("System RAM", E820_RAM),
    ("Reserved", E820_RESERVED),
    ("reserved", E820_RESERVED),
    ("ACPI Tables", E820_ACPI),
    ("ACPI Non-volatile Storage", E820_NVS),
    ("Unusable memory", 5),
    ("Persistent Memory", 7),
    ("Persistent Memory (legacy)", 12),
    ("Soft Reserved", 0xefff_ffff),
];

/// The sysfs name of an e820 type code.
pub fn type_name(e820_type: u32) -> &'static str {
    TYPES
        .iter()
        .find(|&&(_, code)| code == e820_type)
        .map_or("Unknown", |&(name, _)| name)
}

/// Reads every `<dir>/<n>/{start,end,type}` entry, sorted by address. An
/// unknown type becomes "reserved": the next kernel then leaves it alone, and
/// nothing is placed there.
pub fn read(dir: &Path) -> Result<Vec<MemoryRange>, MemmapError> {
    let error = |path: &Path, why: String| MemmapError {
        path: path.to_owned(),
        why,
    };
    let entries = std::fs::read_dir(dir).map_err(|err| error(dir, err.to_string()))?;
    let mut ranges = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|err| error(dir, err.to_string()))?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let field = |name: &str| {
            let file = path.join(name);
            std::fs::read_to_string(&file)
                .map(|text| text.trim().to_owned())
                .map_err(|err| error(&file, err.to_string()))
        };
        let number = |name: &str| {
            let text = field(name)?;
            parse_hex(&text)
                .ok_or_else(|| error(&path.join(name), format!("not a hex address: {text:?}")))
        };
        let (start, last, name) = (number("start")?, number("end")?, field("type")?);
        // sysfs gives the last byte; a range ending at 2^64 - 1 is clipped.
        let end = last.saturating_add(1);
        if end <= start {
            return Err(error(
                &path,
                format!("empty or inverted range {start:#x}..={last:#x}"),
            ));
        }
        let e820_type = TYPES
            .iter()
            .find(|(known, _)| *known == name)
            .map_or(E820_RESERVED, |&(_, code)| code);
        ranges.push(MemoryRange {
            start,
            end,
            e820_type,
            name,
        });
    }
    if ranges.is_empty() {
        return Err(error(dir, "no entries".into()));
    }
    ranges.sort_by_key(|range| (range.start, range.end));
    if !ranges.iter().any(MemoryRange::is_ram) {
        return Err(error(dir, "no System RAM range".into()));
    }
    Ok(ranges)
}

/// Total System RAM in bytes.
pub fn total_ram(ranges: &[MemoryRange]) -> u64 {
    ranges
        .iter()
        .filter(|range| range.is_ram())
        .map(|range| range.end - range.start)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::{QEMU_6G, scratch_dir, write_map};

    #[test]
    fn reads_sorts_and_types() {
        let dir = scratch_dir("memmap");
        // Directory order is not address order: write them shuffled.
        write_map(
            &dir,
            &[
                QEMU_6G[6],
                QEMU_6G[0],
                QEMU_6G[1],
                (0x1_c000_0000, 0x1_c000_0fff, "Mystery"),
            ],
        );
        let ranges = read(&dir).unwrap();
        assert_eq!(ranges.len(), 4);
        assert_eq!(
            (ranges[0].start, ranges[0].end, ranges[0].e820_type),
            (0, 0x9_fc00, 1)
        );
        assert_eq!(ranges[1].e820_type, 2);
        assert_eq!(
            (ranges[2].start, ranges[2].end),
            (0x1_0000_0000, 0x1_c000_0000)
        );
        assert_eq!(
            (ranges[3].e820_type, ranges[3].name.as_str()),
            (2, "Mystery")
        );
        assert_eq!(total_ram(&ranges), 0x9_fc00 + 0xc000_0000);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_maps_name_the_file() {
        let dir = scratch_dir("memmap-bad");
        write_map(&dir, &[(0x1000, 0x1fff, "System RAM")]);
        std::fs::write(dir.join("0/end"), "zz\n").unwrap();
        let err = read(&dir).unwrap_err().to_string();
        assert!(
            err.contains("0/end") && err.contains("not a hex address"),
            "{err}"
        );
        let err = read(&dir.join("missing")).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
