//! What the purgatory is doing, kept where its exception handlers can read
//! it: plain values in `.bss` (no pointers, so no relocations), written with
//! volatile stores so that each is in memory before the code it describes
//! runs, whatever the compiler would otherwise merge or drop.

use core::cell::UnsafeCell;
use purgatory::trap::Phase;

/// A value written by the purgatory and read by its exception handlers.
#[repr(transparent)]
pub struct Shared<T>(UnsafeCell<T>);

// SAFETY: the purgatory runs on one CPU, and the handlers that interrupt it
// only read these values or write them before they stop for good.
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    pub const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    /// The address of the value, for the CPU to read.
    pub fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
}

impl<T: Copy> Shared<T> {
    pub fn get(&self) -> T {
        // SAFETY: the static is live and aligned for `T`; see `Sync`.
        unsafe { self.0.get().read_volatile() }
    }

    pub fn set(&self, value: T) {
        // SAFETY: as in `get`.
        unsafe { self.0.get().write_volatile(value) }
    }
}

/// Running until the purgatory hands off or starts to stop.
pub static PHASE: Shared<Phase> = Shared::new(Phase::Running);

/// The index of the region being hashed, if one is: what an exception names
/// (with the region from the table).
pub static HASHING: Shared<Option<usize>> = Shared::new(None);
