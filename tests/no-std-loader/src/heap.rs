//! A bump allocator over a static arena: all a kernel's early heap needs to
//! be for this, and small enough not to blur the loader's size.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Enough for the purgatory's copies (its file bytes and its memory image).
const ARENA: usize = 256 * 1024;

struct Bump {
    arena: UnsafeCell<[u8; ARENA]>,
    used: AtomicUsize,
}

// SAFETY: `used` hands out each byte of the arena once, atomically.
unsafe impl Sync for Bump {}

#[global_allocator]
static HEAP: Bump = Bump {
    arena: UnsafeCell::new([0; ARENA]),
    used: AtomicUsize::new(0),
};

// SAFETY: every block returned lies inside the arena, is aligned as asked,
// and is never handed out twice; freeing does nothing.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = self.arena.get().cast::<u8>();
        let mut start = 0;
        let claimed = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                let addr = (base as usize).checked_add(used)?;
                start = addr.next_multiple_of(layout.align()) - base as usize;
                let end = start.checked_add(layout.size())?;
                (end <= ARENA).then_some(end)
            });
        match claimed {
            // SAFETY: `start + size <= ARENA`, so the block is in the arena.
            Ok(_) => unsafe { base.add(start) },
            Err(_) => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}
