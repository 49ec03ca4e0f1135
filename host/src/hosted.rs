//! Running the purgatory's own verification code in this process (feature
//! `hosted`, x86_64 Linux only): the placed bytes are mapped read-write-execute
//! at their load address and the exported `purgatory_verify` (or
//! `purgatory_failing_segments`) is called. This is how the shipped bytes are
//! tested and measured without a kexec.

use crate::load::{Placed, Purgatory};
use purgatory_abi::{
    Cpuid, FAILING_SEGMENTS_SHANI_SYMBOL, FAILING_SEGMENTS_SYMBOL, HashPath, VERIFY_SHANI_SYMBOL,
    VERIFY_SYMBOL,
};
use std::format;
use std::io;

/// The purgatory mapped at its load address in this process.
#[derive(Debug)]
pub struct HostedPurgatory {
    base: *mut u8,
    mapped_len: usize,
    verify_offset: usize,
    verify_shani_offset: Option<usize>,
    failing_segments_offset: Option<usize>,
    failing_segments_shani_offset: Option<usize>,
}

impl HostedPurgatory {
    /// Places `purgatory` at `load_addr` and maps it there. Fails with
    /// `AlreadyExists` when something else is mapped at that address.
    pub fn load(purgatory: &Purgatory<'_>, load_addr: u64) -> io::Result<Self> {
        let placed = purgatory.place(load_addr).map_err(io::Error::other)?;
        let offset_of = |name: &str| {
            let symbol = purgatory.image().symbol(name)?;
            usize::try_from(symbol.offset).ok()
        };
        let verify_offset = offset_of(VERIFY_SYMBOL)
            .ok_or_else(|| io::Error::other(format!("the image has no `{VERIFY_SYMBOL}`")))?;
        let hosted = Self {
            base: map_rwx_at(load_addr, placed.bytes.len())?,
            mapped_len: placed.bytes.len(),
            verify_offset,
            verify_shani_offset: offset_of(VERIFY_SHANI_SYMBOL),
            failing_segments_offset: offset_of(FAILING_SEGMENTS_SYMBOL),
            failing_segments_shani_offset: offset_of(FAILING_SEGMENTS_SHANI_SYMBOL),
        };
        hosted.copy_in(&placed);
        Ok(hosted)
    }

    /// [`load`](Self::load) at a free page-aligned address drawn from `seed`,
    /// below 4 GiB or above it.
    pub fn load_at_random_address(
        purgatory: &Purgatory<'_>,
        seed: u64,
        above_4g: bool,
    ) -> io::Result<Self> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let (low, high) = if above_4g {
            (1u64 << 32, 0x7000_0000_0000)
        } else {
            (0x1000_0000, 0xf000_0000)
        };
        let align = purgatory.image().align();
        for _ in 0..64 {
            match Self::load(purgatory, rng.u64(low..high) & !(align - 1)) {
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                result => return result,
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("no free address in {low:#x}..{high:#x}"),
        ))
    }

    /// Copies the current state of `purgatory` (re-patched since `load`) into
    /// the mapping, as a loader would copy it again.
    pub fn update(&mut self, purgatory: &Purgatory<'_>) -> io::Result<()> {
        let placed = purgatory.place(self.base()).map_err(io::Error::other)?;
        if placed.bytes.len() != self.mapped_len {
            return Err(io::Error::other(
                "the image changed size since it was loaded",
            ));
        }
        self.copy_in(&placed);
        Ok(())
    }

    /// The load address.
    pub fn base(&self) -> u64 {
        self.base as u64
    }

    /// Calls the image's `purgatory_verify`: 0 when the regions hash to the
    /// digest.
    ///
    /// # Safety
    /// Every non-empty region in the patched table that the purgatory accepts
    /// as an address range must be readable memory of this process.
    pub unsafe fn verify(&self) -> u32 {
        // SAFETY: the caller vouches for the regions; see `call_at`.
        unsafe { self.call_at(self.verify_offset) }
    }

    /// Calls the image's `purgatory_verify_shani`, the same check with the
    /// SHA extensions; `None` when the image or this CPU lacks them.
    ///
    /// # Safety
    /// As for [`verify`](Self::verify).
    pub unsafe fn verify_shani(&self) -> Option<u32> {
        let offset = self.verify_shani_offset.filter(|_| has_sha_extensions())?;
        // SAFETY: the caller vouches for the regions; the CPU has what the
        // routine uses, and SSE is always on in a host process.
        Some(unsafe { self.call_at(offset) })
    }

    /// Calls the image's `purgatory_failing_segments`: bit `i` is set when
    /// region `i` is non-empty and cannot be read or does not hash to its
    /// entry in `purgatory_segment_digests`. What a failed kexec with a
    /// console names, without the console. `None` when the image lacks it.
    ///
    /// # Safety
    /// As for [`verify`](Self::verify).
    pub unsafe fn failing_segments(&self) -> Option<u32> {
        let offset = self.failing_segments_offset?;
        // SAFETY: the caller vouches for the regions; see `call_at`.
        Some(unsafe { self.call_at(offset) })
    }

    /// [`failing_segments`](Self::failing_segments) with the SHA extensions;
    /// `None` when the image or this CPU lacks them.
    ///
    /// # Safety
    /// As for [`verify`](Self::verify).
    pub unsafe fn failing_segments_shani(&self) -> Option<u32> {
        let offset = self
            .failing_segments_shani_offset
            .filter(|_| has_sha_extensions())?;
        // SAFETY: as in `verify_shani`.
        Some(unsafe { self.call_at(offset) })
    }

    /// # Safety
    /// `offset` is a hosted entry of the image (`purgatory_abi::HOSTED_ENTRIES`),
    /// and the regions are readable (see [`verify`](Self::verify)).
    unsafe fn call_at(&self, offset: usize) -> u32 {
        // SAFETY: the image exports its hosted entries as SysV-ABI functions
        // taking nothing and returning a u32; their code is mapped executable
        // at this address and needs no relocation.
        let verify: extern "sysv64" fn() -> u32 =
            unsafe { std::mem::transmute(self.base.add(offset)) };
        verify()
    }

    fn copy_in(&self, placed: &Placed) {
        let len = placed.bytes.len().min(self.mapped_len);
        // SAFETY: the mapping is `mapped_len` bytes, owned by `self`, and no
        // reference into it is alive.
        unsafe { std::ptr::copy_nonoverlapping(placed.bytes.as_ptr(), self.base, len) };
    }
}

impl Drop for HostedPurgatory {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `load`, which nothing
        // borrows any more.
        unsafe { libc::munmap(self.base.cast(), self.mapped_len) };
    }
}

/// Whether this CPU has what the SHA-NI routine uses, by the purgatory's rule.
fn has_sha_extensions() -> bool {
    HashPath::select(0, &Cpuid::read()) == HashPath::ShaNi
}

fn map_rwx_at(addr: u64, len: usize) -> io::Result<*mut u8> {
    let hint = usize::try_from(addr).map_err(io::Error::other)? as *mut libc::c_void;
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
        // Kernels before 4.17 ignore the flag and take the address as a hint.
        // SAFETY: unmaps the mapping just made.
        unsafe { libc::munmap(mapped, len) };
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "address taken",
        ));
    }
    Ok(mapped.cast())
}
