//! One SHA-256 over several memory regions, with the block compression
//! chosen at compile time: portable (`sha2`'s software backend) or the CPU's
//! SHA extensions. Both share this streaming and padding code, so they can
//! only differ in the compression function, which the tests compare.

mod compress;
mod shani;

pub use compress::{Compress, Soft};
pub use shani::ShaNi;

/// The initial hash value (FIPS 180-4, 5.3.3).
const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
const BLOCK: usize = 64;
/// Where the 64-bit message length goes in the last block.
const LENGTH_AT: usize = BLOCK - 8;

/// A SHA-256 computation in progress.
#[derive(Debug)]
pub struct Sha256<C: Compress> {
    state: [u32; 8],
    block: [u8; BLOCK],
    /// Bytes of `block` in use; always below `BLOCK` between calls.
    filled: usize,
    /// Message bytes so far.
    len: u64,
    compress: core::marker::PhantomData<C>,
}

impl<C: Compress> Default for Sha256<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Compress> Sha256<C> {
    pub fn new() -> Self {
        Self {
            state: H0,
            block: [0; BLOCK],
            filled: 0,
            len: 0,
            compress: core::marker::PhantomData,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        let data = self.top_up_block(data);
        // Whole blocks are compressed straight from memory, not copied.
        let (blocks, rest) = data.as_chunks::<BLOCK>();
        C::compress(&mut self.state, blocks);
        self.buffer(rest);
    }

    /// Message bytes so far.
    pub fn bytes_hashed(&self) -> u64 {
        self.len
    }

    pub fn finalize(mut self) -> [u8; 32] {
        let bit_len = self.len.wrapping_mul(8);
        self.buffer(&[0x80]);
        if self.filled > LENGTH_AT {
            self.zero_rest_of_block(BLOCK);
            self.compress_block();
        }
        self.zero_rest_of_block(LENGTH_AT);
        if let Some(length) = self.block.last_chunk_mut::<8>() {
            *length = bit_len.to_be_bytes();
        }
        self.compress_block();
        let mut digest = [0; 32];
        for (bytes, word) in digest.as_chunks_mut::<4>().0.iter_mut().zip(self.state) {
            *bytes = word.to_be_bytes();
        }
        digest
    }

    /// Completes a partly filled block from the front of `data`, compresses it
    /// when full, and returns the rest of `data`.
    fn top_up_block<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        if self.filled == 0 {
            return data;
        }
        let take = (BLOCK - self.filled).min(data.len());
        let (head, tail) = data.split_at_checked(take).unwrap_or((data, &[]));
        self.buffer(head);
        if self.filled == BLOCK {
            self.compress_block();
        }
        tail
    }

    /// Appends to the partial block; `bytes` must fit (callers ensure it).
    fn buffer(&mut self, bytes: &[u8]) {
        let end = self.filled + bytes.len();
        if let Some(space) = self.block.get_mut(self.filled..end) {
            space.copy_from_slice(bytes);
            self.filled = end;
        }
    }

    fn zero_rest_of_block(&mut self, end: usize) {
        if let Some(rest) = self.block.get_mut(self.filled..end) {
            rest.fill(0);
            self.filled = end;
        }
    }

    fn compress_block(&mut self) {
        C::compress(&mut self.state, core::slice::from_ref(&self.block));
        self.filled = 0;
    }
}
