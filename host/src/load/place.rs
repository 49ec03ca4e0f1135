//! Where the purgatory goes: the bytes a loader copies to a load address,
//! and where the CPU enters them.

use alloc::vec::Vec;

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
    /// The bytes to copy to `load_addr` (aligned to [`Image::align`](crate::image::Image::align)) and the
    /// entry address. Fails if a verified region overlaps the purgatory.
    pub fn place(&self, load_addr: u64) -> Result<Placed, LoadError> {
        let (align, mem_size) = (self.image.align(), self.image.mem_size());
        if !load_addr.is_multiple_of(align) {
            return Err(LoadError::LoadAddressMisaligned { load_addr, align });
        }
        let end = load_addr
            .checked_add(mem_size)
            .ok_or(LoadError::ImageWraps {
                load_addr,
                mem_size,
            })?;
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
        // The image check guarantees p_filesz <= p_memsz, which fits the host.
        bytes.resize(usize::try_from(mem_size).unwrap_or(bytes.len()), 0);
        Ok(Placed {
            load_addr,
            entry: load_addr.wrapping_add(self.image.entry()),
            bytes,
        })
    }
}
