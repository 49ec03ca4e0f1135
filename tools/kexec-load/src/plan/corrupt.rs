//! `--corrupt-after-digest` (the `e2e` feature): flips one byte of a verified
//! segment after the digest was computed, so that the purgatory must refuse
//! to start the image.

use super::segment::PlannedSegment;
use crate::report::Corruption;
use std::fmt;

/// Why no byte can be flipped as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorruptError {
    NoSuchSegment {
        name: String,
        known: Vec<&'static str>,
    },
    NotVerified {
        name: &'static str,
    },
    Outside {
        name: &'static str,
        offset: u64,
        len: u64,
    },
}

impl fmt::Display for CorruptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--corrupt-after-digest: ")?;
        match self {
            Self::NoSuchSegment { name, known } => write!(
                f,
                "no segment named {name:?} (segments: {})",
                known.join(", ")
            ),
            Self::NotVerified { name } => write!(
                f,
                "the {name} segment is not verified by the purgatory, so flipping a byte in it tests nothing"
            ),
            Self::Outside { name, offset, len } => write!(
                f,
                "offset {offset:#x} is outside the {len:#x} bytes of the {name} segment"
            ),
        }
    }
}

impl std::error::Error for CorruptError {}

/// Flips the byte at `offset` (default: the middle of its bytes) of the
/// verified segment `name`.
pub fn flip(
    segments: &mut [PlannedSegment],
    name: &str,
    offset: Option<u64>,
) -> Result<Corruption, CorruptError> {
    // The verified segments are the region table in order: this index is
    // the one the purgatory names on a mismatch.
    let region = segments
        .iter()
        .filter(|s| s.verified())
        .position(|s| s.name == name);
    let known = segments.iter().map(|s| s.name).collect();
    let segment = segments
        .iter_mut()
        .find(|s| s.name == name)
        .ok_or_else(|| CorruptError::NoSuchSegment {
            name: name.to_owned(),
            known,
        })?;
    let region = region.ok_or(CorruptError::NotVerified { name: segment.name })?;
    let len = segment.bytes.len() as u64;
    let offset = offset.unwrap_or(len / 2);
    let byte = usize::try_from(offset)
        .ok()
        .and_then(|at| segment.bytes.get_mut(at))
        .ok_or(CorruptError::Outside {
            name: segment.name,
            offset,
            len,
        })?;
    let before = *byte;
    *byte = !before;
    Ok(Corruption {
        segment: segment.name.to_owned(),
        region,
        segment_start: segment.addr,
        offset,
        address: segment.addr + offset,
        before,
        after: !before,
    })
}
