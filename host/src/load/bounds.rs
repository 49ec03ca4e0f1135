//! Where the purgatory may go: a load address aligned as the image asks,
//! whose end neither wraps nor passes [`ADDRESS_LIMIT`].

use super::error::LoadError;
use crate::contract::ADDRESS_LIMIT;
use crate::image::Image;

/// The end of the purgatory placed at `load_addr`, when that is a placement
/// the purgatory can run at.
pub(super) fn placement_end(image: &Image<'_>, load_addr: u64) -> Result<u64, LoadError> {
    let (align, mem_size) = (image.align(), image.mem_size());
    if !load_addr.is_multiple_of(align) {
        return Err(LoadError::LoadAddressMisaligned { load_addr, align });
    }
    let end = load_addr
        .checked_add(mem_size)
        .ok_or(LoadError::ImageWraps {
            load_addr,
            mem_size,
        })?;
    if end > ADDRESS_LIMIT {
        return Err(LoadError::PlacementAboveLimit {
            load_addr,
            mem_size,
        });
    }
    Ok(end)
}
