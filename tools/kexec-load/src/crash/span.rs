//! Physical address ranges: the reservation, RAM, the holes cut out of it.

use crate::memmap::{self, MemoryRange};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A physical range `start..end` (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

impl Span {
    pub const fn new(start: u64, end: u64) -> Self {
        Self { start, end }
    }

    /// `start-last` in hex, the last byte inclusive, as `/proc/iomem` and
    /// sysfs print a range.
    pub fn parse_inclusive(text: &str) -> Option<Self> {
        let (start, last) = text.split_once('-')?;
        let start = u64::from_str_radix(start, 16).ok()?;
        let last = u64::from_str_radix(last, 16).ok()?;
        (start <= last).then(|| Self::new(start, last.saturating_add(1)))
    }

    /// The range as an entry of type `e820_type` of a memory map.
    pub fn memory_range(self, e820_type: u32) -> MemoryRange {
        MemoryRange {
            start: self.start,
            end: self.end,
            e820_type,
            name: memmap::type_name(e820_type).into(),
        }
    }

    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    pub const fn contains(&self, other: &Self) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    pub const fn overlaps(&self, other: &Self) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// The part of `self` inside `other`, if any.
    pub fn clip(&self, other: &Self) -> Option<Self> {
        let clipped = Self::new(self.start.max(other.start), self.end.min(other.end));
        (!clipped.is_empty()).then_some(clipped)
    }

    /// `self` without `hole`: nothing, one piece or two.
    pub fn minus(&self, hole: &Self) -> Vec<Self> {
        if !self.overlaps(hole) {
            return vec![*self];
        }
        [
            Self::new(self.start, hole.start),
            Self::new(hole.end, self.end),
        ]
        .into_iter()
        .filter(|piece| !piece.is_empty())
        .collect()
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:#x}..{:#x} ({} MiB)",
            self.start,
            self.end,
            self.len() >> 20
        )
    }
}

/// `ranges` without every one of `holes`, in address order.
pub fn subtract(ranges: &[Span], holes: &[Span]) -> Vec<Span> {
    let mut pieces: Vec<Span> = ranges.to_vec();
    for hole in holes {
        pieces = pieces.iter().flat_map(|piece| piece.minus(hole)).collect();
    }
    pieces.sort();
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_clip_and_subtract() {
        let ram = Span::new(0x1000, 0x10_0000);
        assert_eq!(
            ram.minus(&Span::new(0x2000, 0x3000)),
            [Span::new(0x1000, 0x2000), Span::new(0x3000, 0x10_0000)]
        );
        assert_eq!(ram.minus(&Span::new(0, 0x20_0000)), []);
        assert_eq!(ram.minus(&Span::new(0x20_0000, 0x30_0000)), [ram]);
        assert_eq!(
            ram.clip(&Span::new(0, 0x8000)),
            Some(Span::new(0x1000, 0x8000))
        );
        assert_eq!(ram.clip(&Span::new(0x10_0000, 0x20_0000)), None);
        let left = subtract(
            &[Span::new(0x20_0000, 0x30_0000), ram],
            &[Span::new(0, 0x8000), Span::new(0x28_0000, 0x29_0000)],
        );
        assert_eq!(
            left,
            [
                Span::new(0x8000, 0x10_0000),
                Span::new(0x20_0000, 0x28_0000),
                Span::new(0x29_0000, 0x30_0000)
            ]
        );
        assert_eq!(Span::new(0, 0x20_0000).to_string(), "0x0..0x200000 (2 MiB)");
    }
}
