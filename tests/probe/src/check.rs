//! The checks: every register against the expectation page, the selectors,
//! RFLAGS.IF and the GDT the purgatory loaded. Each check prints one line.

use crate::entry::Saved;
use crate::port::Serial;
use core::ptr::read_volatile;
use purgatory_abi::{BOOT_CS, BOOT_DS, ENTRY64_REG_COUNT};
use register_probe::{EXPECTATION_MAGIC, Expectation, reg_name};

const PAGE_SIZE: u64 = 4096;
const RFLAGS_IF: u64 = 1 << 9;

/// Descriptor bits (Intel SDM vol. 3, 3.4.5).
const DESC_WRITABLE: u64 = 1 << 41;
const DESC_EXECUTABLE: u64 = 1 << 43;
const DESC_CODE_OR_DATA: u64 = 1 << 44;
const DESC_DPL: u64 = 3 << 45;
const DESC_PRESENT: u64 = 1 << 47;
const DESC_LONG: u64 = 1 << 53;
const DESC_DEFAULT_32: u64 = 1 << 54;
const DESC_GRANULARITY_4K: u64 = 1 << 55;

/// Runs every check and returns whether all passed.
pub fn run(out: &mut Serial, saved: &Saved) -> bool {
    out.str("PROBE: reached the payload at ")
        .hex(saved.regs.rip)
        .str("\n");
    let Some(expected) = expectation(out, saved.regs.rsi) else {
        return false;
    };
    // Not short-circuiting: every line is printed even after a failure.
    let mut ok = registers(out, saved, &expected);
    ok &= selectors(out, saved);
    ok &= rflags(out, saved.rflags);
    ok &= gdt(out, saved, &expected);
    out.str("PROBE: cr0=")
        .hex(saved.cr0)
        .str(" cr3=")
        .hex(saved.cr3)
        .str(" cr4=")
        .hex(saved.cr4)
        .str(" (for the record)\n");
    ok
}

/// The page RSI points at, if it looks like one the loader wrote.
fn expectation(out: &mut Serial, rsi: u64) -> Option<Expectation> {
    if rsi == 0 || !rsi.is_multiple_of(PAGE_SIZE) {
        out.str("PROBE: rsi = ")
            .hex(rsi)
            .str(" is not a page address: no expectation page to compare with\n");
        return None;
    }
    // SAFETY: a page-aligned, non-null RSI is the expectation page the loader
    // placed as a kexec segment, so it is identity-mapped and readable. A wrong
    // value can at worst fault, which ends the run without a PASS line.
    let expected = unsafe { read_volatile(rsi as *const Expectation) };
    if expected.magic != EXPECTATION_MAGIC {
        out.str("PROBE: the page at rsi = ")
            .hex(rsi)
            .str(" starts with ")
            .hex(expected.magic)
            .str(", not the expectation magic ")
            .hex(EXPECTATION_MAGIC)
            .str("\n");
        return None;
    }
    Some(expected)
}

fn registers(out: &mut Serial, saved: &Saved, expected: &Expectation) -> bool {
    let actual = saved.regs.to_array();
    let wanted = expected.regs.to_array();
    let mut ok = true;
    for (index, (&value, &want)) in actual.iter().zip(wanted.iter()).enumerate() {
        out.str("PROBE: ")
            .str(reg_name(index))
            .str(" = ")
            .hex(value);
        if value == want {
            out.str(" ok\n");
        } else {
            out.str(" MISMATCH, entry64_regs had ").hex(want).str("\n");
            ok = false;
        }
    }
    ok && actual.len() == ENTRY64_REG_COUNT
}

fn selectors(out: &mut Serial, saved: &Saved) -> bool {
    let list = [
        ("cs", saved.cs, BOOT_CS),
        ("ds", saved.ds, BOOT_DS),
        ("es", saved.es, BOOT_DS),
        ("ss", saved.ss, BOOT_DS),
        ("fs", saved.fs, BOOT_DS),
        ("gs", saved.gs, BOOT_DS),
    ];
    let mut ok = true;
    for (name, value, want) in list {
        out.str("PROBE: ").str(name).str(" = ").hex(value.into());
        if value == want {
            out.str(" ok\n");
        } else {
            out.str(" MISMATCH, the boot protocol wants ")
                .hex(want.into())
                .str("\n");
            ok = false;
        }
    }
    ok
}

fn rflags(out: &mut Serial, rflags: u64) -> bool {
    out.str("PROBE: rflags = ").hex(rflags);
    if rflags & RFLAGS_IF == 0 {
        out.str(" IF=0 ok\n");
        true
    } else {
        out.str(" IF=1 MISMATCH, interrupts must be off\n");
        false
    }
}

/// The GDT must lie inside the purgatory image (it must survive until the
/// kernel loads its own), cover both boot selectors, and hold flat 64-bit code
/// at `BOOT_CS` and flat writable data at `BOOT_DS`.
fn gdt(out: &mut Serial, saved: &Saved, expected: &Expectation) -> bool {
    let (base, limit) = (saved.gdt_base(), u64::from(saved.gdt_limit()));
    out.str("PROBE: gdtr base = ")
        .hex(base)
        .str(" limit = ")
        .hex(limit);
    let needed = u64::from(BOOT_DS) + 7;
    if limit < needed {
        out.str(" MISMATCH, the limit must cover selector ")
            .hex(BOOT_DS.into())
            .str("\n");
        return false;
    }
    let end = base.wrapping_add(limit).wrapping_add(1);
    if base < expected.purgatory_start || end > expected.purgatory_end || end < base {
        out.str(" MISMATCH, not inside the purgatory image ")
            .hex(expected.purgatory_start)
            .str("..")
            .hex(expected.purgatory_end)
            .str("\n");
        return false;
    }
    out.str(" ok (inside the purgatory image)\n");
    // SAFETY: both descriptors are inside the GDT, which was just shown to be
    // inside the purgatory image, a kexec segment, so identity-mapped.
    let (code, data) = unsafe {
        (
            read_volatile((base + u64::from(BOOT_CS)) as *const u64),
            read_volatile((base + u64::from(BOOT_DS)) as *const u64),
        )
    };
    let code_ok = code & (DESC_PRESENT | DESC_CODE_OR_DATA | DESC_EXECUTABLE | DESC_LONG)
        == (DESC_PRESENT | DESC_CODE_OR_DATA | DESC_EXECUTABLE | DESC_LONG)
        && code & (DESC_DEFAULT_32 | DESC_DPL) == 0;
    let data_ok = data & (DESC_PRESENT | DESC_CODE_OR_DATA | DESC_WRITABLE | DESC_GRANULARITY_4K)
        == (DESC_PRESENT | DESC_CODE_OR_DATA | DESC_WRITABLE | DESC_GRANULARITY_4K)
        && data & (DESC_EXECUTABLE | DESC_DPL) == 0
        && descriptor_base(data) == 0
        && descriptor_limit(data) == 0xf_ffff;
    descriptor_line(out, "code", BOOT_CS, code, code_ok, "64-bit ring-0 code");
    descriptor_line(
        out,
        "data",
        BOOT_DS,
        data,
        data_ok,
        "flat 4 GiB ring-0 writable data",
    );
    code_ok && data_ok
}

fn descriptor_base(desc: u64) -> u64 {
    ((desc >> 16) & 0xff_ffff) | (((desc >> 56) & 0xff) << 24)
}

fn descriptor_limit(desc: u64) -> u64 {
    (desc & 0xffff) | (((desc >> 48) & 0xf) << 16)
}

fn descriptor_line(out: &mut Serial, kind: &str, selector: u16, desc: u64, ok: bool, what: &str) {
    out.str("PROBE: gdt ")
        .str(kind)
        .str(" ")
        .hex(selector.into())
        .str(" = ")
        .hex(desc);
    if ok {
        out.str(" ok (").str(what).str(")\n");
    } else {
        out.str(" MISMATCH, not ").str(what).str("\n");
    }
}
