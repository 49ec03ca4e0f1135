//! Host-side support for the kexec purgatory: the contract checker, and the
//! validated view of an image that loaders place and patch.

pub mod check;
mod image;

pub use image::{Image, ImageError, Symbol};
