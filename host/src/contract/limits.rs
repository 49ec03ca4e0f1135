//! The numbers the contract and the loader bound their inputs with.

/// Findings listed per rule before the rest is summarised, so garbage input
/// cannot produce millions of lines.
pub const MAX_FINDINGS_PER_RULE: usize = 20;

/// The most memory a purgatory image may need (`p_memsz`): ours needs a few
/// pages, and every loader allocates this much for it.
pub const MAX_SEGMENT_SIZE: u64 = 16 << 20;

/// The largest `p_align`: a large page. A loader has to find RAM at that
/// alignment, and no purgatory needs more.
pub const MAX_SEGMENT_ALIGN: u64 = 2 << 20;

/// The smallest alignment a loader may use: a page.
pub const PAGE_SIZE: u64 = 4096;

/// Every address the purgatory is placed at or reads lies below 2^52: x86_64
/// physical addresses have at most 52 bits (MAXPHYADDR), and the kexec
/// identity map covers nothing above.
pub const ADDRESS_LIMIT: u64 = 1 << 52;

/// The longest zero tail (`mem_size` beyond a segment's contents) a loader
/// hashes: 1 GiB. The contents are memory the caller already holds, so only
/// the tail can turn a wrong `mem_size` into hours of hashing; no kexec
/// segment needs more zeros (Linux's largest is the kernel's `init_size`
/// beyond its file, tens of MiB; every other tail is page rounding).
pub const MAX_ZERO_TAIL: u64 = 1 << 30;
