//! The e2e suite's flat test payload (the register probe): entered at
//! `load + entry_offset` with every register distinctive and RSI pointing at
//! an expectation page that says what the payload must find.

use super::assembly::Assembly;
use super::error::PlanError;
use crate::layout::{PAGE_SIZE, Policy};
use e2e_protocol::control::{CR0_KNOWN, CR4_KNOWN, LOADER_CR0, loader_cr4};
use e2e_protocol::{EXPECTATION_MAGIC, Expectation, distinctive_regs};
use purgatory_abi::{SHA256_DIGEST_SYMBOL, STACK_END_SYMBOL};
use purgatory_host::{LoadError, Purgatory};

/// The expectation page goes low, above the first 64 KiB.
const PAGE_MIN: u64 = 0x1_0000;
/// A payload goes where kernels usually do: 16 MiB, 2 MiB-aligned.
const PAYLOAD_MIN: u64 = 0x100_0000;
const PAYLOAD_ALIGN: u64 = 0x20_0000;

/// The payload as `--raw` and its options give it.
#[derive(Debug, Clone, Copy)]
pub struct RawPayload<'a> {
    pub bytes: &'a [u8],
    pub entry_offset: u64,
    /// `--load-addr`; `None`: [`PAYLOAD_MIN`] or the next free 2 MiB boundary.
    pub load_addr: Option<u64>,
    /// The IDT the kexec leaves, which the purgatory must hand on.
    pub kexec_idt: u64,
}

/// Places the payload and its expectation page in `site`, sets the entry
/// registers, and returns the plan's header line.
pub fn assemble(
    site: &mut Assembly<'_>,
    payload: RawPayload<'_>,
    host_5level: bool,
    purgatory_flags: u64,
) -> Result<String, PlanError> {
    let RawPayload {
        bytes,
        entry_offset,
        load_addr,
        kexec_idt,
    } = payload;
    let len = check(bytes, entry_offset)?;
    let (policy, align) = match load_addr {
        Some(addr) => (Policy::Exact(addr), PAGE_SIZE),
        None => (Policy::Lowest { min: PAYLOAD_MIN }, PAYLOAD_ALIGN),
    };
    let payload_addr = site.layout.place("payload", len, align, policy)?;
    let page_addr = site.layout.place(
        "expectation",
        PAGE_SIZE,
        PAGE_SIZE,
        Policy::Lowest { min: PAGE_MIN },
    )?;
    set_entry_regs(site, payload_addr + entry_offset, page_addr)?;
    let handed_over = HandedOver {
        five_level: host_5level,
        purgatory_flags,
        idt: kexec_idt,
    };
    let page = expectation(site, handed_over)?;
    site.push("payload", bytes.to_vec(), payload_addr, len);
    site.push("expectation", page, page_addr, PAGE_SIZE);
    Ok(format!(
        "raw payload, {len:#x} bytes, entered at offset {entry_offset:#x}; RSI = expectation page, other registers distinctive"
    ))
}

/// The payload's length, if it has bytes and the entry point is among them.
fn check(bytes: &[u8], entry_offset: u64) -> Result<u64, PlanError> {
    let len = bytes.len() as u64;
    if bytes.is_empty() {
        return Err(PlanError::EmptyPayload);
    }
    if entry_offset >= len {
        return Err(PlanError::EntryOutsidePayload {
            offset: entry_offset,
            len,
        });
    }
    Ok(len)
}

/// Every register distinctive but RBX (0, as Linux's boot protocol has it),
/// RSI (the page), RSP (the purgatory's stack) and RIP (the entry point).
fn set_entry_regs(site: &mut Assembly<'_>, entry: u64, page_addr: u64) -> Result<(), PlanError> {
    let purgatory_addr = site.purgatory_addr()?;
    let stack_end = symbol_offset(&site.purgatory, STACK_END_SYMBOL)?;
    let mut regs = distinctive_regs();
    regs.rbx = 0;
    regs.rsi = page_addr;
    regs.rsp = purgatory_addr + stack_end;
    regs.rip = entry;
    Ok(site.purgatory.set_entry_regs(&regs)?)
}

/// What the probe's state depends on besides the plan's addresses.
struct HandedOver {
    /// The running kernel uses 5-level paging (CR4.LA57).
    five_level: bool,
    purgatory_flags: u64,
    /// The IDT the kexec leaves.
    idt: u64,
}

/// The expectation page's bytes: what the probe must find on entry.
fn expectation(site: &mut Assembly<'_>, handed_over: HandedOver) -> Result<Vec<u8>, PlanError> {
    let purgatory_start = site.purgatory_addr()?;
    let expectation = Expectation {
        magic: EXPECTATION_MAGIC,
        regs: site.purgatory.entry_regs()?,
        purgatory_start,
        purgatory_end: purgatory_start + site.purgatory.image().mem_size(),
        cr0: LOADER_CR0,
        cr0_mask: CR0_KNOWN,
        cr4: loader_cr4(handed_over.five_level),
        cr4_mask: CR4_KNOWN,
        purgatory_flags: handed_over.purgatory_flags,
        digest_offset: symbol_offset(&site.purgatory, SHA256_DIGEST_SYMBOL)?,
        idt: handed_over.idt,
    };
    Ok(expectation.to_bytes().to_vec())
}

fn symbol_offset(purgatory: &Purgatory<'_>, name: &str) -> Result<u64, LoadError> {
    purgatory
        .image()
        .symbol(name)
        .map(|symbol| symbol.offset)
        .ok_or_else(|| LoadError::UnknownSymbol { name: name.into() })
}
