//! The purgatory's stack high-water mark, measured on the shipped bytes: each
//! hosted entry runs on a painted stack of this process's own, and the
//! deepest byte it changed gives the depth. The purgatory's stack is 16 KiB
//! (`purgatory/src/entry.rs`); the hash paths must stay within a quarter of
//! it. A host process cannot run the console's lines or an exception handler
//! on top of them: for those, halt a failed boot under QEMU and read the
//! stack with the monitor's `pmemsave`; the loader zero-fills it, so the
//! lowest non-zero byte is the high-water mark.
//!
//! `cargo test -p purgatory-tests --test stack_depth -- --nocapture` prints
//! the figures.

use std::arch::asm;

use purgatory_abi::{
    Cpuid, FAILING_SEGMENTS_SHANI_SYMBOL, FAILING_SEGMENTS_SYMBOL, HashPath, VERIFY_SHANI_SYMBOL,
    VERIFY_SYMBOL,
};
use purgatory_host::Purgatory;
use purgatory_host::hosted::HostedPurgatory;
use purgatory_tests::{built_purgatory, segments_in_place};

/// A quarter of the purgatory's 16 KiB stack: the margin it keeps.
const BUDGET: usize = 4096;
/// The painted stack: far more than any path uses, so that paint is left
/// below the deepest frame, which shows that the depth was all measured.
const AREA: usize = 64 * 1024;
/// Two paints, so that a path that happens to write one of them at its
/// deepest byte is still measured by the other.
const PAINTS: [u8; 2] = [0xa5, 0x5a];
/// The SysV ABI's stack alignment at a call.
const STACK_ALIGN: usize = 16;

/// A hosted entry: `extern "sysv64" fn() -> u32`.
type Entry = extern "sysv64" fn() -> u32;

/// Calls `entry` with RSP at `top` and returns what it returns.
///
/// # Safety
/// `top` is the 16-byte-aligned end of writable memory that `entry` may use
/// as its stack, and `entry` is a hosted entry of a mapped image whose
/// regions are readable.
unsafe fn call_on_stack(entry: Entry, top: usize) -> u32 {
    let result: u32;
    // SAFETY: the caller vouches for the stack and the entry; RSP is kept in
    // r12, which the SysV ABI makes the callee preserve, and put back.
    unsafe {
        asm!(
            "mov r12, rsp",
            "mov rsp, {top}",
            "call {entry}",
            "mov rsp, r12",
            top = in(reg) top,
            entry = in(reg) entry,
            out("r12") _,
            out("eax") result,
            clobber_abi("sysv64"),
        );
    }
    result
}

/// What `entry` returns, and how many bytes of stack it used.
///
/// # Safety
/// As for [`call_on_stack`], but for the stack, which this provides.
unsafe fn measure(entry: Entry) -> (u32, usize) {
    let mut results = Vec::new();
    let mut depth = 0;
    for paint in PAINTS {
        let mut area = vec![paint; AREA];
        let bottom = area.as_mut_ptr() as usize;
        let top = (bottom + AREA) & !(STACK_ALIGN - 1);
        // SAFETY: `top` ends the live, writable `area`, and the caller
        // vouches for the entry.
        results.push(unsafe { call_on_stack(entry, top) });
        let deepest = area.iter().position(|&byte| byte != paint);
        let deepest = deepest.expect("the entry used no stack at all");
        assert!(deepest > 0, "the entry used all {AREA} bytes painted");
        depth = usize::max(depth, top - (bottom + deepest));
    }
    assert!(results.windows(2).all(|pair| pair[0] == pair[1]));
    (results[0], depth)
}

/// The built image mapped in this process, with three segments of its own.
struct Measured {
    purgatory: Purgatory<'static>,
    hosted: HostedPurgatory,
    segments: Vec<Vec<u8>>,
}

impl Measured {
    fn new() -> Self {
        let elf: &'static [u8] = built_purgatory().leak();
        let purgatory = Purgatory::parse(elf).expect("the built purgatory passes the check");
        let hosted = HostedPurgatory::load_at_random_address(&purgatory, 1, true)
            .expect("the purgatory can be mapped");
        // A kernel-sized segment across many blocks, an odd tail, one page.
        let segments = [1 << 20, 4097, 4096]
            .iter()
            .enumerate()
            .map(|(i, &len)| (0..len).map(|j| (i * 7 + j * 13) as u8).collect())
            .collect();
        let mut measured = Self {
            purgatory,
            hosted,
            segments,
        };
        measured.patch();
        measured
    }

    /// Lists the segments and their digests, as a loader would, and copies
    /// the image in again.
    fn patch(&mut self) {
        let segments = segments_in_place(&self.segments);
        self.purgatory.set_segments(&segments).expect("3 segments");
        self.hosted.update(&self.purgatory).expect("image copied");
    }

    /// The image's `name`, run on a painted stack: its result and depth.
    fn run(&self, name: &str) -> (u32, usize) {
        let symbol = self.purgatory.image().symbol(name);
        let offset = symbol.unwrap_or_else(|| panic!("no `{name}`")).offset;
        let address = (self.hosted.base() + offset) as usize;
        // SAFETY: a hosted entry has this signature; the image is mapped
        // executable at `base`, and every region is one of `segments`.
        let entry: Entry = unsafe { std::mem::transmute(address) };
        // SAFETY: as above.
        let (result, depth) = unsafe { measure(entry) };
        eprintln!("{name}: {depth} bytes of stack (returned {result:#x})");
        assert!(depth <= BUDGET, "{name} used {depth} bytes of stack");
        (result, depth)
    }
}

fn has_sha_extensions() -> bool {
    HashPath::select(0, &Cpuid::read()) == HashPath::ShaNi
}

#[test]
fn verification_stays_within_a_quarter_of_the_stack() {
    let mut measured = Measured::new();
    assert_eq!(measured.run(VERIFY_SYMBOL).0, 0, "the digest must match");
    measured.segments[0][0x1234] ^= 1;
    assert_eq!(measured.run(VERIFY_SYMBOL).0, 1, "the flip must be seen");
    if has_sha_extensions() {
        measured.segments[0][0x1234] ^= 1;
        assert_eq!(measured.run(VERIFY_SHANI_SYMBOL).0, 0);
        measured.segments[0][0x1234] ^= 1;
        assert_eq!(measured.run(VERIFY_SHANI_SYMBOL).0, 1);
    }
}

#[test]
fn naming_the_failing_segments_stays_within_a_quarter_of_the_stack() {
    let mut measured = Measured::new();
    measured.segments[1][17] ^= 1;
    assert_eq!(measured.run(FAILING_SEGMENTS_SYMBOL).0, 0b010);
    if has_sha_extensions() {
        assert_eq!(measured.run(FAILING_SEGMENTS_SHANI_SYMBOL).0, 0b010);
    }
}
