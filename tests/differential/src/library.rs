//! The host library as a judge: `Purgatory::parse`, then a whole load
//! (segments, options, Linux's registers, `place`), then a check that the
//! library kept its word: every patched symbol reads back what was written.

use std::collections::BTreeMap;

use purgatory_abi::{Entry64Regs, FailurePolicy, PATCHED_SYMBOLS, ShaRegion};
use purgatory_host::{Purgatory, Segment};

use crate::verdict::{Judge, KERNEL_SYMBOLS, Reading, Verdict};

/// `purgatory-host`'s loader.
#[derive(Debug, Clone, Copy)]
pub struct Library;

/// Where the test segments go, far below any placement.
const SEGMENTS: [(u64, u64); 2] = [(0x10_0000, 0x2000), (0x9_0000, 0x1000)];
const KERNEL: u64 = SEGMENTS[0].0;
const BOOT_PARAMS: u64 = SEGMENTS[1].0;
const CONSOLE: u16 = 0x3f8;
const FLAGS: u64 = 1;

impl Judge for Library {
    fn name(&self) -> &'static str {
        "library"
    }

    fn judge(&self, elf: &[u8]) -> Verdict {
        match Purgatory::parse(elf) {
            Err(err) => Verdict::Refused(first_line(&err.to_string())),
            Ok(purgatory) => load(purgatory).unwrap_or_else(|why| why),
        }
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// A whole load at the lowest placement above 16 MiB the image allows.
fn load(mut purgatory: Purgatory<'_>) -> Result<Verdict, Verdict> {
    let fault = |what: &str| Verdict::Fault(format!("library: {what}"));
    let refused = |err: purgatory_host::LoadError| Verdict::Refused(err.to_string());
    let image = purgatory.image().clone();
    let load_addr = image.align().max(1 << 24);
    let contents = [0x5au8; 64];
    let segments = SEGMENTS.map(|(addr, mem_size)| Segment {
        bytes: &contents,
        addr,
        mem_size,
    });
    let digest = purgatory.set_segments(&segments).map_err(refused)?;
    purgatory.set_flags(FLAGS).map_err(refused)?;
    purgatory
        .set_failure_policy(FailurePolicy::Reset)
        .map_err(refused)?;
    purgatory.set_console_port(CONSOLE).map_err(refused)?;
    purgatory
        .set_linux_entry(load_addr, KERNEL, BOOT_PARAMS)
        .map_err(refused)?;
    let placed = purgatory.place(load_addr).map_err(refused)?;

    // Each value as written: a patched symbol that shares bytes with another
    // reads back something else.
    let regions = purgatory.region_table().map_err(refused)?;
    let expected = SEGMENTS.map(|(start, len)| ShaRegion { start, len });
    if regions[..2] != expected || regions[2..].iter().any(|r| *r != ShaRegion::default()) {
        return Err(fault("the region table reads back wrong"));
    }
    if purgatory
        .read_symbol(purgatory_abi::SHA256_DIGEST_SYMBOL)
        .ok()
        != Some(&digest[..])
    {
        return Err(fault("the digest reads back wrong"));
    }
    if purgatory.flags().ok() != Some(FailurePolicy::Reset.apply_to(FLAGS)) {
        return Err(fault("the flags read back wrong"));
    }
    let port = purgatory
        .read_symbol(purgatory_abi::CONSOLE_PORT_SYMBOL)
        .ok();
    if port != Some(&CONSOLE.to_le_bytes()[..]) {
        return Err(fault("the console port reads back wrong"));
    }
    let stack_end = image
        .symbol(purgatory_abi::STACK_END_SYMBOL)
        .ok_or_else(|| fault("no stack_end after a clean parse"))?;
    let expected_regs = Entry64Regs {
        rip: KERNEL + purgatory_abi::KERNEL_ENTRY64_OFFSET,
        rsi: BOOT_PARAMS,
        rsp: load_addr + stack_end.offset,
        ..Entry64Regs::ZERO
    };
    if purgatory.entry_regs().ok() != Some(expected_regs) {
        return Err(fault("entry64_regs read back wrong"));
    }
    if !placed_as_patched(&purgatory, &placed.bytes) {
        return Err(fault("the placed bytes are not the patched image"));
    }
    let mut symbols = BTreeMap::new();
    for name in KERNEL_SYMBOLS {
        let symbol = image
            .symbol(name)
            .ok_or_else(|| fault(&format!("no `{name}` after a clean parse")))?;
        symbols.insert(name, (symbol.offset, symbol.size));
    }
    Ok(Verdict::Accepted(Reading {
        entry: placed.entry - load_addr,
        file_size: image.segment().len() as u64,
        mem_size: image.mem_size(),
        align: image.align(),
        symbols,
    }))
}

/// `placed` is the file bytes with the patched symbols as they read now,
/// then zeros up to the memory size.
fn placed_as_patched(purgatory: &Purgatory<'_>, placed: &[u8]) -> bool {
    let image = purgatory.image();
    let file = image.segment();
    if placed.len() as u64 != image.mem_size() || placed.len() < file.len() {
        return false;
    }
    let (head, tail) = placed.split_at(file.len());
    let mut expected = file.to_vec();
    for patched in PATCHED_SYMBOLS {
        let (Some(symbol), Ok(now)) = (
            image.symbol(patched.name),
            purgatory.read_symbol(patched.name),
        ) else {
            return false;
        };
        let start = symbol.offset as usize;
        expected[start..start + now.len()].copy_from_slice(now);
    }
    head == expected && tail.iter().all(|&b| b == 0)
}
