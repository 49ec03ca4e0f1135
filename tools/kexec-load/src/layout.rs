//! Where segments go: page-aligned ranges inside one System RAM range each,
//! never overlapping, never at page 0. The same rules `kexec_load` applies,
//! checked here first so that a refusal can name the segment.

use crate::memmap::MemoryRange;
use serde::{Deserialize, Serialize};
use std::fmt;

pub const PAGE_SIZE: u64 = 4096;
/// The limit of 32-bit addresses, for what must stay below it.
pub const FOUR_GIB: u64 = 1 << 32;
/// Nothing goes at physical page 0: a null address is too easily a bug, and
/// the purgatory treats a region at 0 as a mismatch.
const LOWEST_ADDR: u64 = PAGE_SIZE;

/// How to choose an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// The lowest fit at or above `min`.
    Lowest { min: u64 },
    /// The highest fit ending at or below `max_end`.
    Highest { max_end: u64 },
    /// Exactly this address.
    Exact(u64),
    /// A uniformly random fit (every aligned address equally likely).
    Random { seed: u64 },
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lowest { min } => write!(f, "lowest fit at or above {min:#x}"),
            Self::Highest { max_end: u64::MAX } => write!(f, "highest fit in RAM"),
            Self::Highest { max_end } => write!(f, "highest fit ending at or below {max_end:#x}"),
            Self::Exact(addr) => write!(f, "exactly {addr:#x}"),
            Self::Random { seed } => write!(f, "random fit (seed {seed})"),
        }
    }
}

/// A range already taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub name: &'static str,
    pub start: u64,
    pub end: u64,
}

/// Why a segment cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceError {
    /// No free RAM satisfies the policy.
    NoRoom {
        name: &'static str,
        size: u64,
        align: u64,
        policy: Policy,
    },
    /// An exact address is not aligned.
    Misaligned {
        name: &'static str,
        addr: u64,
        align: u64,
    },
    /// An exact range is not inside one System RAM range.
    NotRam {
        name: &'static str,
        start: u64,
        end: u64,
    },
    /// An exact range overlaps a segment already placed.
    Overlaps {
        name: &'static str,
        start: u64,
        end: u64,
        other: Taken,
    },
}

impl fmt::Display for PlaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRoom {
                name,
                size,
                align,
                policy,
            } => write!(
                f,
                "no room for the {name} segment ({size:#x} bytes, aligned to {align:#x}, {policy}) in System RAM outside the other segments"
            ),
            Self::Misaligned { name, addr, align } => {
                write!(
                    f,
                    "the {name} segment's address {addr:#x} is not aligned to {align:#x}"
                )
            }
            Self::NotRam { name, start, end } => write!(
                f,
                "the {name} segment {start:#x}..{end:#x} is not inside one System RAM range of the memory map"
            ),
            Self::Overlaps {
                name,
                start,
                end,
                other,
            } => write!(
                f,
                "the {name} segment {start:#x}..{end:#x} overlaps the {} segment {:#x}..{:#x}",
                other.name, other.start, other.end
            ),
        }
    }
}

impl std::error::Error for PlaceError {}

/// Free RAM, shrinking as segments are placed.
#[derive(Debug, Clone)]
pub struct Layout {
    ram: Vec<(u64, u64)>,
    taken: Vec<Taken>,
}

impl Layout {
    /// Starts from the System RAM ranges of `map`, trimmed to whole pages.
    pub fn new(map: &[MemoryRange]) -> Self {
        let ram = map
            .iter()
            .filter(|range| range.is_ram())
            .filter_map(|range| {
                let start = align_up(range.start.max(LOWEST_ADDR), PAGE_SIZE)?;
                let end = range.end & !(PAGE_SIZE - 1);
                (start < end).then_some((start, end))
            })
            .collect();
        Self {
            ram,
            taken: Vec::new(),
        }
    }

    /// Places `size` bytes (rounded up to pages) aligned to `align` (at least a
    /// page) as `policy` says, and records it.
    pub fn place(
        &mut self,
        name: &'static str,
        size: u64,
        align: u64,
        policy: Policy,
    ) -> Result<u64, PlaceError> {
        let align = align.max(PAGE_SIZE);
        let size = align_up(size.max(1), PAGE_SIZE).unwrap_or(!(PAGE_SIZE - 1));
        let addr = match policy {
            Policy::Exact(addr) => self.check_exact(name, addr, size, align)?,
            _ => self.choose(size, align, policy).ok_or(PlaceError::NoRoom {
                name,
                size,
                align,
                policy,
            })?,
        };
        self.taken.push(Taken {
            name,
            start: addr,
            end: addr + size,
        });
        Ok(addr)
    }

    fn check_exact(
        &self,
        name: &'static str,
        addr: u64,
        size: u64,
        align: u64,
    ) -> Result<u64, PlaceError> {
        if !addr.is_multiple_of(align) {
            return Err(PlaceError::Misaligned { name, addr, align });
        }
        let end = addr.checked_add(size).ok_or(PlaceError::NotRam {
            name,
            start: addr,
            end: u64::MAX,
        })?;
        if !self
            .ram
            .iter()
            .any(|&(start, ram_end)| start <= addr && end <= ram_end)
        {
            return Err(PlaceError::NotRam {
                name,
                start: addr,
                end,
            });
        }
        if let Some(other) = self.taken.iter().find(|t| t.start < end && addr < t.end) {
            return Err(PlaceError::Overlaps {
                name,
                start: addr,
                end,
                other: other.clone(),
            });
        }
        Ok(addr)
    }

    /// Bytes of RAM no segment takes.
    pub fn free_bytes(&self) -> u64 {
        self.free().iter().map(|&(start, end)| end - start).sum()
    }

    /// Every free interval: RAM minus what is taken, ascending.
    fn free(&self) -> Vec<(u64, u64)> {
        let mut taken: Vec<_> = self.taken.iter().map(|t| (t.start, t.end)).collect();
        taken.sort_unstable();
        let mut free = Vec::new();
        for &(start, end) in &self.ram {
            let mut cursor = start;
            for &(t_start, t_end) in &taken {
                if t_end <= cursor || t_start >= end {
                    continue;
                }
                if t_start > cursor {
                    free.push((cursor, t_start));
                }
                cursor = cursor.max(t_end);
            }
            if cursor < end {
                free.push((cursor, end));
            }
        }
        free
    }

    /// The first and last aligned start in `start..end` for `size` bytes.
    fn span(start: u64, end: u64, size: u64, align: u64) -> Option<(u64, u64)> {
        let first = align_up(start, align)?;
        let last = end.checked_sub(size)? & !(align - 1);
        (first <= last).then_some((first, last))
    }

    fn choose(&self, size: u64, align: u64, policy: Policy) -> Option<u64> {
        let free = self.free();
        match policy {
            Policy::Lowest { min } => free.iter().find_map(|&(start, end)| {
                Self::span(start.max(min), end, size, align).map(|(first, _)| first)
            }),
            Policy::Highest { max_end } => free.iter().rev().find_map(|&(start, end)| {
                Self::span(start, end.min(max_end), size, align).map(|(_, last)| last)
            }),
            Policy::Random { seed } => {
                let spans: Vec<_> = free
                    .iter()
                    .filter_map(|&(start, end)| Self::span(start, end, size, align))
                    .map(|(first, last)| (first, (last - first) / align + 1))
                    .collect();
                let total: u64 = spans.iter().map(|&(_, count)| count).sum();
                let mut pick = splitmix64(seed).checked_rem(total)?;
                spans.iter().find_map(|&(first, count)| {
                    if pick < count {
                        Some(first + pick * align)
                    } else {
                        pick -= count;
                        None
                    }
                })
            }
            Policy::Exact(_) => None,
        }
    }
}

pub fn align_up(value: u64, align: u64) -> Option<u64> {
    Some(value.checked_add(align - 1)? & !(align - 1))
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memmap::E820_RAM;

    fn qemu_6g() -> Layout {
        let map: Vec<_> = crate::support::QEMU_6G
            .iter()
            .map(|&(start, last, name)| MemoryRange {
                start,
                end: last + 1,
                e820_type: if name == "System RAM" { E820_RAM } else { 2 },
                name: name.into(),
            })
            .collect();
        Layout::new(&map)
    }

    #[test]
    fn lowest_skips_page_zero_and_partial_pages() {
        let mut layout = qemu_6g();
        assert_eq!(
            layout.place("a", 0x5000, 0x1000, Policy::Lowest { min: 0 }),
            Ok(0x1000)
        );
        assert_eq!(
            layout.place("b", 0x1, 0x1000, Policy::Lowest { min: 0 }),
            Ok(0x6000)
        );
        // 0x1000..0x9f000 of the first range, less the six pages taken.
        let first = 0x9_e000 - 0x6000;
        let rest = (0xbffe_0000 - 0x10_0000) + 0xc000_0000;
        assert_eq!(layout.free_bytes(), first + rest);
        // 0x9f000..0x9fc00 is a partial page: a page-sized segment skips to 1 MiB.
        let mut layout = qemu_6g();
        assert_eq!(
            layout.place("c", 0x9f000, 0x1000, Policy::Lowest { min: 0x1000 }),
            Ok(0x10_0000)
        );
    }

    #[test]
    fn highest_below_4g_and_above() {
        let mut layout = qemu_6g();
        assert_eq!(
            layout.place("p", 0x9000, 0x1000, Policy::Highest { max_end: 1 << 32 }),
            Ok(0xbffd_7000)
        );
        assert_eq!(
            layout.place("q", 0x9000, 0x1000, Policy::Highest { max_end: u64::MAX }),
            Ok(0x1_bfff_7000)
        );
        assert_eq!(
            layout.place("r", 0x1000, 0x1000, Policy::Highest { max_end: u64::MAX }),
            Ok(0x1_bfff_6000)
        );
    }

    #[test]
    fn alignment_is_honoured() {
        let mut layout = qemu_6g();
        assert_eq!(
            layout.place("k", 0x30_0000, 0x20_0000, Policy::Lowest { min: 0x10_0000 }),
            Ok(0x20_0000)
        );
        assert_eq!(
            layout.place("k2", 0x1000, 0x20_0000, Policy::Lowest { min: 0x10_0000 }),
            Ok(0x60_0000)
        );
    }

    #[test]
    fn exact_addresses_are_checked() {
        let mut layout = qemu_6g();
        layout
            .place("kernel", 0x20_0000, 0x1000, Policy::Exact(0x100_0000))
            .unwrap();
        assert_eq!(
            layout.place("purgatory", 0x9000, 0x1000, Policy::Exact(0x101_0000)),
            Err(PlaceError::Overlaps {
                name: "purgatory",
                start: 0x101_0000,
                end: 0x101_9000,
                other: Taken {
                    name: "kernel",
                    start: 0x100_0000,
                    end: 0x120_0000
                }
            })
        );
        assert!(matches!(
            layout.place("purgatory", 0x9000, 0x1000, Policy::Exact(0xbffd_8000)),
            Err(PlaceError::NotRam { .. })
        ));
        assert!(matches!(
            layout.place("purgatory", 0x9000, 0x1000, Policy::Exact(0x1234)),
            Err(PlaceError::Misaligned { .. })
        ));
        assert!(matches!(
            layout.place("zero", 0x1000, 0x1000, Policy::Exact(0)),
            Err(PlaceError::NotRam { .. })
        ));
        let text = layout
            .place("purgatory", 0x9000, 0x1000, Policy::Exact(0x101_0000))
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("purgatory") && text.contains("kernel"),
            "{text}"
        );
    }

    #[test]
    fn random_is_reproducible_and_valid() {
        for seed in 0..200 {
            let mut a = qemu_6g();
            a.place("kernel", 0x400_0000, 0x20_0000, Policy::Exact(0x100_0000))
                .unwrap();
            let mut b = a.clone();
            let addr = a
                .place("p", 0x9000, 0x1000, Policy::Random { seed })
                .unwrap();
            assert_eq!(
                b.place("p", 0x9000, 0x1000, Policy::Random { seed }),
                Ok(addr)
            );
            let mut c = qemu_6g();
            c.place("kernel", 0x400_0000, 0x20_0000, Policy::Exact(0x100_0000))
                .unwrap();
            c.place("p", 0x9000, 0x1000, Policy::Exact(addr)).unwrap();
        }
    }

    #[test]
    fn no_room_is_an_error() {
        let mut layout = qemu_6g();
        let err = layout
            .place(
                "initrd",
                1 << 40,
                0x1000,
                Policy::Highest { max_end: u64::MAX },
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("no room for the initrd segment"),
            "{err}"
        );
    }
}
