//! What a loader does with the purgatory, as Linux's `kexec_file.c` does for
//! its own: list the segments to verify and their digest (`segments`), patch
//! the symbols (`purgatory`), and produce the bytes to copy for a chosen load
//! address (`place`), where `bounds` says which addresses are. `error` names
//! every refusal.

mod bounds;
mod error;
mod place;
mod purgatory;
mod segments;

pub use error::LoadError;
pub use place::Placed;
pub use purgatory::Purgatory;
pub use segments::Segment;
