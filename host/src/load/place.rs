//! Where the purgatory goes: the bytes a loader copies to a load address,
//! and where the CPU enters them.

use alloc::vec::Vec;

use super::bounds::placement_end;
use super::error::LoadError;
use super::purgatory::Purgatory;

/// The purgatory ready to be copied: `bytes` go to `load_addr`, and the CPU
/// enters at `entry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Where the bytes go.
    pub load_addr: u64,
    /// `load_addr + e_entry`: where the old kernel jumps.
    pub entry: u64,
    /// `p_memsz` bytes: the patched segment followed by zeros.
    pub bytes: Vec<u8>,
}

impl Purgatory<'_> {
    /// The bytes to copy to `load_addr` and the entry address. `load_addr`
    /// must be aligned to [`Image::align`](crate::image::Image::align) (a page
    /// at least), and the image must end at or below 2^52
    /// ([`ADDRESS_LIMIT`](crate::contract::ADDRESS_LIMIT)). Fails if a
    /// verified region overlaps the purgatory.
    pub fn place(&self, load_addr: u64) -> Result<Placed, LoadError> {
        let mem_size = self.image.mem_size();
        let end = placement_end(&self.image, load_addr)?;
        for (index, region) in self.region_table()?.into_iter().enumerate() {
            if region.len != 0
                && region.start < end
                && load_addr < region.start.saturating_add(region.len)
            {
                return Err(LoadError::RegionOverlapsPurgatory {
                    index,
                    region,
                    load_addr,
                    mem_size,
                });
            }
        }
        let mut bytes = self.patched.clone();
        // The contract bounds p_memsz (16 MiB) and puts e_entry inside the
        // file bytes, so neither the size nor the entry can fail here.
        bytes.resize(usize::try_from(mem_size).unwrap_or(bytes.len()), 0);
        let entry = load_addr
            .checked_add(self.image.entry())
            .ok_or(LoadError::ImageWraps {
                load_addr,
                mem_size,
            })?;
        Ok(Placed {
            load_addr,
            entry,
            bytes,
        })
    }
}
