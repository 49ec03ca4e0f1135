//! `--test-region ADDR:LEN` (the `e2e` feature): one more entry in the
//! purgatory's region table, written after the digest was computed, for
//! memory the plan does not load. The suite gives an address the kexec's
//! identity map does not cover, so that the purgatory takes a page fault
//! while hashing it and must report it and apply its failure policy. Were
//! the region readable, the digest would not match: either way the image
//! never starts.

use super::segment::PlannedSegment;
use crate::report::TestRegion;
use purgatory_abi::{SHA_REGIONS_SYMBOL, ShaRegion};
use purgatory_host::{LoadError, Purgatory};
use std::fmt;

/// Why the region cannot be added as asked.
#[derive(Debug)]
pub enum TestRegionError {
    /// A region of length 0 is skipped: it would test nothing.
    Empty,
    /// `start + len` passes 2^64.
    Wraps { start: u64, len: u64 },
    /// Every entry after the last used one is taken.
    TableFull,
    /// The plan has no purgatory segment (no plan is built without one).
    NoPurgatory,
    /// Reading or writing the table in the purgatory's bytes.
    Purgatory(LoadError),
}

impl fmt::Display for TestRegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--test-region: ")?;
        match self {
            Self::Empty => write!(f, "a region of 0 bytes is skipped by the purgatory"),
            Self::Wraps { start, len } => {
                write!(
                    f,
                    "{start:#x} + {len:#x} passes the end of the address space"
                )
            }
            Self::TableFull => write!(f, "the purgatory's region table has no free entry left"),
            Self::NoPurgatory => write!(f, "the plan has no purgatory segment"),
            Self::Purgatory(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for TestRegionError {}

impl From<LoadError> for TestRegionError {
    fn from(err: LoadError) -> Self {
        Self::Purgatory(err)
    }
}

/// Appends `{start, len}` to the region table in the purgatory segment's
/// bytes, after its last used entry; the digest stays as computed.
pub fn append(
    segments: &mut [PlannedSegment],
    start: u64,
    len: u64,
) -> Result<TestRegion, TestRegionError> {
    if len == 0 {
        return Err(TestRegionError::Empty);
    }
    if start.checked_add(len).is_none() {
        return Err(TestRegionError::Wraps { start, len });
    }
    let purgatory = segments
        .iter_mut()
        .find(|segment| segment.name == "purgatory")
        .ok_or(TestRegionError::NoPurgatory)?;
    // The plan's purgatory is the embedded image: its symbol says where the
    // table is, and the host library reads and writes it.
    let mut scratch = Purgatory::embedded()?;
    let symbol =
        scratch
            .image()
            .symbol(SHA_REGIONS_SYMBOL)
            .ok_or_else(|| LoadError::UnknownSymbol {
                name: SHA_REGIONS_SYMBOL.into(),
            })?;
    let at = usize::try_from(symbol.offset).unwrap_or(usize::MAX);
    let bytes = at
        .checked_add(usize::try_from(symbol.size).unwrap_or(usize::MAX))
        .and_then(|end| purgatory.bytes.get_mut(at..end))
        .ok_or(TestRegionError::NoPurgatory)?;
    scratch.write_symbol(SHA_REGIONS_SYMBOL, bytes)?;
    let mut table = scratch.region_table()?;
    let region = table
        .iter()
        .rposition(|entry| entry.len != 0)
        .map_or(0, |last| last + 1);
    let entry = table.get_mut(region).ok_or(TestRegionError::TableFull)?;
    *entry = ShaRegion { start, len };
    scratch.set_region_table(&table)?;
    bytes.copy_from_slice(scratch.read_symbol(SHA_REGIONS_SYMBOL)?);
    Ok(TestRegion { region, start, len })
}
