//! Differential judging of purgatory files: the checker's verdict, the host
//! library's parse and placement, and the patched kernel's acceptance must
//! agree on every file. `tests/image` runs it on thousands of edits of the
//! real image, `cargo xtask fuzz --target differential` on whatever
//! libFuzzer makes of them.
//!
//! The kernel judge, [`Kernel`], is the patched tree's own C: the purgatory
//! part of `kernel/kexec_file.c`, compiled for user space by `build.rs`
//! when `PURGATORY_KERNEL_SRC` names the tree (see [`kernel`]). Without a
//! tree the other judges are still compared, and [`Kernel::or_skip`] says
//! loudly that the kernel was not (and fails in CI).
//!
//! What agreement means, in [`compare`]:
//! 1. the checker's structural verdict and the library's parse accept the
//!    same files (they run one implementation, so this guards the seam);
//! 2. a file the whole checker accepts (instruction rules included) the
//!    kernel accepts too, and reads the same way: entry, sizes, alignment,
//!    and the offset and size of every symbol the kernel uses;
//! 3. a file the kernel accepts breaks none of the checker's rules that the
//!    kernel enforces ([`KERNEL_ENFORCED_RULES`]): on those the two agree
//!    both ways. The kernel may accept more on the other rules (relocation
//!    sections, a second symbol table, the instruction rules, …): there the
//!    checker is stricter on purpose;
//! 4. on a file it accepts, the library keeps its own word: every patched
//!    symbol reads back what was written, and the placement is the image;
//! 5. no judge faults (reads out of bounds, or panics).

mod checker;
mod compare;
mod edits;
pub mod kernel;
mod library;
mod verdict;

pub use checker::Checker;
pub use compare::{Disagreement, KERNEL_ENFORCED_RULES, compare};
pub use edits::{CONTRACT_SYMBOLS, EDIT_LEN, apply_edits};
pub use kernel::Kernel;
pub use library::Library;
pub use verdict::{Judge, KERNEL_SYMBOLS, Reading, Verdict};
