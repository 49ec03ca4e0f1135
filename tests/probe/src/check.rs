//! The checks: every register against the expectation page, the selectors,
//! RFLAGS.IF, the GDT the purgatory loaded, CR0/CR4 against what the kexec set
//! up, and the hash path the purgatory took against the one CPUID and
//! `purgatory_flags` demand. Each check prints one line.

use crate::port::Serial;
use crate::saved::Saved;
use core::ptr::read_volatile;
use e2e_protocol::control::{
    CR0_EM, CR0_MP, CR0_TS, CR4_LA57, CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_PAE, CR4_SSE_BITS,
};
use e2e_protocol::protocol::{PROBE_CPU, PROBE_CR, PROBE_PATH};
use e2e_protocol::trace::{self, BSWAP_MASK};
use e2e_protocol::{EXPECTATION_MAGIC, Expectation, reg_name};
use purgatory_abi::{BOOT_CS, BOOT_DS, Cpuid, ENTRY64_REG_COUNT, HashPath};

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
    ok &= control_registers(out, saved, &expected);
    ok &= hash_path(out, saved, &expected);
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

fn bit(value: u64, mask: u64) -> &'static str {
    if value & mask != 0 { "1" } else { "0" }
}

/// CR0 and CR4 must be what the kexec handed the purgatory: the loader's
/// values in the bits it knows, and whatever the page says, SSE off again
/// (CR0.EM/TS clear as the kexec leaves them, CR4.OSFXSR/OSXMMEXCPT clear).
fn control_registers(out: &mut Serial, saved: &Saved, expected: &Expectation) -> bool {
    let (cr0, cr4) = (saved.cr0, saved.cr4);
    out.str(PROBE_CR)
        .str(" cr0=")
        .hex(cr0)
        .str(" cr4=")
        .hex(cr4)
        .str(" (cr3=")
        .hex(saved.cr3)
        .str(")\n");
    let cr0_ok =
        cr0 & expected.cr0_mask == expected.cr0 & expected.cr0_mask && cr0 & (CR0_EM | CR0_TS) == 0;
    out.str("PROBE: cr0 = ")
        .hex(cr0)
        .str(" EM=")
        .str(bit(cr0, CR0_EM))
        .str(" TS=")
        .str(bit(cr0, CR0_TS))
        .str(" MP=")
        .str(bit(cr0, CR0_MP));
    if cr0_ok {
        out.str(" ok (as the kexec set it in the bits ")
            .hex(expected.cr0_mask)
            .str(")\n");
    } else {
        out.str(" MISMATCH, the kexec set ")
            .hex(expected.cr0 & expected.cr0_mask)
            .str(" in the bits ")
            .hex(expected.cr0_mask)
            .str(", EM=0 TS=0\n");
    }
    let cr4_ok =
        cr4 & expected.cr4_mask == expected.cr4 & expected.cr4_mask && cr4 & CR4_SSE_BITS == 0;
    out.str("PROBE: cr4 = ")
        .hex(cr4)
        .str(" OSFXSR=")
        .str(bit(cr4, CR4_OSFXSR))
        .str(" OSXMMEXCPT=")
        .str(bit(cr4, CR4_OSXMMEXCPT))
        .str(" PAE=")
        .str(bit(cr4, CR4_PAE))
        .str(" LA57=")
        .str(bit(cr4, CR4_LA57));
    if cr4_ok {
        out.str(" ok (as the kexec set it in the bits ")
            .hex(expected.cr4_mask)
            .str(")\n");
    } else {
        out.str(" MISMATCH, the kexec set ")
            .hex(expected.cr4 & expected.cr4_mask)
            .str(" in the bits ")
            .hex(expected.cr4_mask)
            .str(", OSFXSR=0 OSXMMEXCPT=0\n");
    }
    cr0_ok && cr4_ok
}

/// The path the XMM registers show must be the one the purgatory's rule
/// picks on this CPU with the loader's `purgatory_flags`.
fn hash_path(out: &mut Serial, saved: &Saved, expected: &Expectation) -> bool {
    let cpuid = Cpuid::read();
    out.str(PROBE_CPU)
        .str(if cpuid.sha() {
            " sha_ni present"
        } else {
            " sha_ni absent"
        })
        .str(" (CPUID SHA=")
        .str(bit(cpuid.sha().into(), 1))
        .str(" SSSE3=")
        .str(bit(cpuid.ssse3().into(), 1))
        .str(" SSE4.1=")
        .str(bit(cpuid.sse4_1().into(), 1))
        .str(")\n");
    let want = HashPath::select(expected.purgatory_flags, &cpuid);
    out.str("PROBE: purgatory_flags = ")
        .hex(expected.purgatory_flags)
        .str(": the purgatory must take the ")
        .str(want.name())
        .str(" path\n");
    let Some(digest) = digest(out, expected) else {
        return false;
    };
    let [abcd, efgh] = trace::final_state(&digest);
    let find = |value: &[u8; 16]| saved.xmm.iter().position(|xmm| xmm == value);
    let seen = match (find(&abcd), find(&efgh)) {
        (Some(a), Some(e)) => {
            out.str("PROBE: xmm")
                .dec(a as u64)
                .str(" and xmm")
                .dec(e as u64)
                .str(" hold the digest's words a..d and e..h: the SHA-NI routine's final state\n");
            HashPath::ShaNi
        }
        _ => {
            out.str("PROBE: no XMM register holds the digest's state words: the SHA-NI routine did not run\n");
            HashPath::Software
        }
    };
    if let Some(at) = find(&BSWAP_MASK) {
        out.str("PROBE: xmm")
            .dec(at as u64)
            .str(" holds the SHA-NI routine's byte-swap mask\n");
    }
    out.str(PROBE_PATH).str(" ").str(seen.name());
    if seen == want {
        out.str(" ok\n");
        return true;
    }
    out.str(" MISMATCH, expected ").str(want.name()).str("\n");
    for (index, xmm) in saved.xmm.iter().enumerate() {
        let mut halves = [0u8; 8];
        halves.copy_from_slice(&xmm[8..]);
        let high = u64::from_le_bytes(halves);
        halves.copy_from_slice(&xmm[..8]);
        out.str("PROBE: xmm")
            .dec(index as u64)
            .str(" = ")
            .hex(high)
            .str(":")
            .hex(u64::from_le_bytes(halves))
            .str("\n");
    }
    false
}

/// The digest the loader patched into the purgatory image.
fn digest(out: &mut Serial, expected: &Expectation) -> Option<[u8; 32]> {
    let at = expected
        .purgatory_start
        .checked_add(expected.digest_offset)?;
    if at
        .checked_add(32)
        .is_none_or(|end| end > expected.purgatory_end)
    {
        out.str("PROBE: the digest offset ")
            .hex(expected.digest_offset)
            .str(" is outside the purgatory image MISMATCH\n");
        return None;
    }
    // SAFETY: inside the purgatory image (checked above), a kexec segment and
    // so identity-mapped; nothing writes it any more.
    Some(unsafe { read_volatile(at as *const [u8; 32]) })
}
