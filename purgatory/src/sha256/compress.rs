//! The block compression the streaming code is generic over, and its
//! portable implementation.

/// A SHA-256 block compression function.
pub trait Compress {
    /// Folds whole 64-byte blocks into `state`.
    fn compress(state: &mut [u32; 8], blocks: &[[u8; 64]]);
}

/// The portable compression: plain integer code, no SSE.
#[derive(Debug)]
pub enum Soft {}

impl Compress for Soft {
    fn compress(state: &mut [u32; 8], blocks: &[[u8; 64]]) {
        sha2::block_api::compress256(state, blocks);
    }
}
