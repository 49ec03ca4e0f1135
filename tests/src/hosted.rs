//! Runs the shipped purgatory bytes in this process: the segment is mapped
//! read-write-execute at a chosen page-aligned address, patched through its
//! symbol table exactly as a loader would, and `purgatory_verify` is called.

use purgatory_abi::{
    SHA_REGIONS_SYMBOL, SHA256_DIGEST_SYMBOL, Sha256Digest, ShaRegions, VERIFY_SYMBOL,
};
use purgatory_host::Image;
use std::io;

/// The purgatory loaded at a fixed address of this process.
#[derive(Debug)]
pub struct HostedPurgatory {
    base: *mut u8,
    mapped_len: usize,
    regions_offset: usize,
    digest_offset: usize,
    verify_offset: usize,
}

impl HostedPurgatory {
    /// Maps `image` at `base`, which must be page-aligned and free. Fails with
    /// `AlreadyExists` when something else is mapped there.
    pub fn load(image: &Image<'_>, base: u64) -> io::Result<Self> {
        let mapped_len = usize::try_from(image.mem_size()).map_err(io::Error::other)?;
        let offset_of = |name: &str| -> io::Result<usize> {
            let symbol = image
                .symbol(name)
                .ok_or_else(|| io::Error::other(format!("the image has no `{name}`")))?;
            usize::try_from(symbol.offset).map_err(io::Error::other)
        };
        let base = map_rwx_at(base, mapped_len)?;
        let hosted = Self {
            base,
            mapped_len,
            regions_offset: offset_of(SHA_REGIONS_SYMBOL)?,
            digest_offset: offset_of(SHA256_DIGEST_SYMBOL)?,
            verify_offset: offset_of(VERIFY_SYMBOL)?,
        };
        let segment = image.segment();
        // SAFETY: the mapping is `mapped_len` >= `segment.len()` bytes long and
        // fresh (anonymous, so already zero past the segment).
        unsafe { std::ptr::copy_nonoverlapping(segment.as_ptr(), base, segment.len()) };
        Ok(hosted)
    }

    /// The load address.
    pub fn base(&self) -> u64 {
        self.base as u64
    }

    /// Writes `purgatory_sha_regions`.
    pub fn set_regions(&mut self, regions: &ShaRegions) {
        self.write(self.regions_offset, regions);
    }

    /// Writes `purgatory_sha256_digest`.
    pub fn set_digest(&mut self, digest: &Sha256Digest) {
        self.write(self.digest_offset, digest);
    }

    /// Calls the image's `purgatory_verify`: 0 when the regions hash to the
    /// digest.
    ///
    /// # Safety
    /// Every non-empty region set with [`set_regions`](Self::set_regions) must
    /// be readable memory of this process for the whole call.
    pub unsafe fn verify(&self) -> u32 {
        // SAFETY: the checked image exports `purgatory_verify` as a SysV-ABI
        // function taking nothing and returning a u32, and its code is mapped
        // executable at this address.
        let verify: extern "sysv64" fn() -> u32 =
            unsafe { std::mem::transmute(self.base.add(self.verify_offset)) };
        verify()
    }

    fn write<T: Copy>(&mut self, offset: usize, value: &T) {
        assert!(
            offset + size_of::<T>() <= self.mapped_len,
            "symbol outside the mapping"
        );
        // SAFETY: in bounds (checked above) of a mapping this value owns;
        // unaligned writes are fine for any offset.
        unsafe { self.base.add(offset).cast::<T>().write_unaligned(*value) };
    }
}

impl Drop for HostedPurgatory {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `load`, which nothing
        // borrows any more.
        unsafe { libc::munmap(self.base.cast(), self.mapped_len) };
    }
}

fn map_rwx_at(base: u64, len: usize) -> io::Result<*mut u8> {
    let hint = usize::try_from(base).map_err(io::Error::other)? as *mut libc::c_void;
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping; it fails
    // with EEXIST instead.
    let mapped = unsafe {
        libc::mmap(
            hint,
            len,
            libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    if mapped != hint {
        // Kernels before 4.17 ignore the flag and treat the address as a hint.
        // SAFETY: unmaps the mapping just made.
        unsafe { libc::munmap(mapped, len) };
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "address taken",
        ));
    }
    Ok(mapped.cast())
}

/// Loads `image` at a random free page-aligned address below 4 GiB or above it.
pub fn load_at_random_address(
    image: &Image<'_>,
    rng: &mut fastrand::Rng,
    above_4g: bool,
) -> HostedPurgatory {
    let (low, high) = if above_4g {
        (0x1_0000_0000u64, 0x7000_0000_0000u64)
    } else {
        (0x1000_0000u64, 0xf000_0000u64)
    };
    for _ in 0..64 {
        let base = rng.u64(low..high) & !(image.align() - 1);
        match HostedPurgatory::load(image, base) {
            Ok(hosted) => return hosted,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => panic!("cannot map the purgatory at {base:#x}: {err}"),
        }
    }
    panic!("no free address found for the purgatory in {low:#x}..{high:#x}");
}
