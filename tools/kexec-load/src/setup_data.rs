//! The boot protocol's `setup_data` chain: `struct setup_data` nodes
//! (`u64 next`, `u32 type`, `u32 len`, then `len` bytes) linked from the
//! zero page's `hdr.setup_data`. The loader lays the chain out inside the
//! boot-params segment, so the purgatory verifies it with the zero page.

/// `SETUP_E820_EXT`: e820 entries beyond the zero page's 128.
pub const SETUP_E820_EXT: u32 = 1;
/// `SETUP_EFI`: `struct efi_setup_data`.
pub const SETUP_EFI: u32 = 4;
/// `SETUP_RNG_SEED`: bytes for the next kernel's random pool.
pub const SETUP_RNG_SEED: u32 = 9;
/// `next`, `type`, `len`.
pub const HEADER_SIZE: usize = 16;
/// Each node starts 8-byte aligned: `next` is a `u64`.
const NODE_ALIGN: usize = 8;

/// One node to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupData {
    pub kind: u32,
    pub payload: Vec<u8>,
}

impl SetupData {
    /// The type's name in `asm/setup_data.h`, for the plan.
    pub fn type_name(kind: u32) -> &'static str {
        match kind {
            SETUP_E820_EXT => "SETUP_E820_EXT",
            SETUP_EFI => "SETUP_EFI",
            SETUP_RNG_SEED => "SETUP_RNG_SEED",
            _ => "SETUP_(unknown)",
        }
    }

    /// Header and payload, padded to the next node's alignment.
    fn span(&self) -> usize {
        (HEADER_SIZE + self.payload.len()).next_multiple_of(NODE_ALIGN)
    }
}

/// Where a node landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub kind: u32,
    /// Physical address of its header.
    pub addr: u64,
    /// Its `len`: the payload's bytes.
    pub len: u32,
}

/// Bytes the chain of `nodes` takes.
pub fn chain_len(nodes: &[SetupData]) -> usize {
    nodes.iter().map(SetupData::span).sum()
}

/// Appends `nodes` to `bytes`, which is loaded at `base` (8-byte aligned),
/// linked in order, the last one's `next` 0. Returns where each node went;
/// the first one's address goes into `hdr.setup_data`.
pub fn append_chain(bytes: &mut Vec<u8>, base: u64, nodes: &[SetupData]) -> Vec<Placed> {
    if !nodes.is_empty() {
        bytes.resize(bytes.len().next_multiple_of(NODE_ALIGN), 0);
    }
    let mut placed = Vec::with_capacity(nodes.len());
    for (index, node) in nodes.iter().enumerate() {
        let addr = base + bytes.len() as u64;
        let next = if index + 1 < nodes.len() {
            addr + node.span() as u64
        } else {
            0
        };
        let len = u32::try_from(node.payload.len()).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&next.to_le_bytes());
        bytes.extend_from_slice(&node.kind.to_le_bytes());
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&node.payload);
        bytes.resize(bytes.len().next_multiple_of(NODE_ALIGN), 0);
        placed.push(Placed {
            kind: node.kind,
            addr,
            len,
        });
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::walk_setup_data;

    #[test]
    fn nodes_link_in_order_and_end_with_zero() {
        let nodes = [
            SetupData {
                kind: SETUP_E820_EXT,
                payload: vec![0xe8; 20 * 3],
            },
            SetupData {
                kind: SETUP_RNG_SEED,
                payload: vec![0x5e; 32],
            },
        ];
        let base = 0x1_0000;
        let mut bytes = vec![0u8; 0x1010];
        let placed = append_chain(&mut bytes, base, &nodes);
        assert_eq!(bytes.len(), 0x1010 + chain_len(&nodes));
        assert_eq!(placed[0].addr, 0x1_1010);
        // 16 + 60 bytes, padded to 80.
        assert_eq!(placed[1].addr, 0x1_1010 + 80);
        assert_eq!((placed[0].len, placed[1].len), (60, 32));
        let walked = walk_setup_data(&bytes, base, placed[0].addr);
        assert_eq!(
            walked,
            [
                (0x1_1010, SETUP_E820_EXT, vec![0xe8; 60]),
                (0x1_1060, SETUP_RNG_SEED, vec![0x5e; 32])
            ]
        );
        assert_eq!(SetupData::type_name(SETUP_EFI), "SETUP_EFI");
    }

    #[test]
    fn no_nodes_add_nothing() {
        let mut bytes = vec![0u8; 8];
        assert!(append_chain(&mut bytes, 0x1000, &[]).is_empty());
        assert_eq!(bytes.len(), 8);
        assert_eq!(chain_len(&[]), 0);
    }
}
