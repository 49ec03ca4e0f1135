//! Differential judging of purgatory files: the checker's verdict, the host
//! library's parse and placement, and the patched kernel's acceptance must
//! agree on every file. `tests/image` runs it on thousands of edits of the
//! real image, `cargo xtask fuzz --target differential` on whatever
//! libFuzzer makes of them.
//!
//! The kernel is a seam: anything that implements [`Judge`] can stand in
//! for it. Today that is [`KernelModel`], a Rust model of the checks in
//! `kernel/patches/` (each citing the patch's condition); a harness that
//! compiles the patched kernel's own C acceptance code in userspace is meant
//! to replace it behind the same trait.
//!
//! What agreement means, in [`compare`]:
//! 1. the checker's structural verdict and the library's parse accept the
//!    same files (they run one implementation, so this guards the seam);
//! 2. a file the whole checker accepts (instruction rules included) the
//!    kernel accepts too, and reads the same way: entry, sizes, alignment,
//!    and the offset and size of every symbol the kernel uses;
//! 3. on a file it accepts, the library keeps its own word: every patched
//!    symbol reads back what was written, and the placement is the image;
//! 4. no judge faults (reads out of bounds, or panics).
//!
//! The kernel may accept more than the checker (`ET_EXEC`, a zero
//! `p_align`, relocations, no `.text` at all, …): the checker is stricter on
//! purpose, and the instruction rules are its alone.

mod checker;
mod compare;
mod edits;
mod kernel;
mod library;
mod verdict;

pub use checker::Checker;
pub use compare::{Disagreement, compare};
pub use edits::{CONTRACT_SYMBOLS, EDIT_LEN, apply_edits};
pub use kernel::KernelModel;
pub use library::Library;
pub use verdict::{Judge, KERNEL_SYMBOLS, Reading, Verdict};
